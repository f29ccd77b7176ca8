// Inputs: .npy files become MLMultiArrays (or CVPixelBuffers for image inputs), wrapped once in
// a feature provider that every prediction reuses. Each array owns a 64-byte-aligned copy of its
// bytes and frees it in its deallocator, so nothing dangles and nothing is copied per prediction.

#if canImport(CoreML)
import CoreML
import CoreVideo
import Foundation

public enum InputError: Error, CustomStringConvertible {
    case unknownInput(String, known: [String])
    case missingInput(String)
    case dtypeMismatch(String, model: String, file: DType)
    case unsupportedDtype(String, DType)
    case badImage(String, String)

    public var description: String {
        switch self {
        case let .unknownInput(name, known):
            return "input '\(name)' is not a model input (model has \(known.sorted()))"
        case let .missingInput(name):
            return "the model needs input '\(name)' and job.json does not give it"
        case let .dtypeMismatch(name, model, file):
            return "input '\(name)' is \(file.rawValue) but the model takes \(model); convert on the host"
        case let .unsupportedDtype(name, dtype):
            return "input '\(name)': Core ML multi-arrays do not take \(dtype.rawValue)"
        case let .badImage(name, why):
            return "image input '\(name)': \(why)"
        }
    }
}

extension DType {
    /// The multi-array type, for the four types Core ML takes on iOS 16.
    public var multiArrayDataType: MLMultiArrayDataType? {
        switch self {
        case .float16: return .float16
        case .float32: return .float32
        case .float64: return .double
        case .int32: return .int32
        case .int8, .uint8, .bool: return nil
        }
    }

    public init?(_ dataType: MLMultiArrayDataType) {
        switch dataType {
        case .float16: self = .float16
        case .float32: self = .float32
        case .double: self = .float64
        case .int32: self = .int32
        default: return nil
        }
    }
}

public enum FeatureInputs {
    /// Build the provider for `model` from the job's input files.
    public static func provider(
        model: MLModel, job: HarnessJob, folder: JobFolder
    ) throws -> MLFeatureProvider {
        let descriptions = model.modelDescription.inputDescriptionsByName
        var features: [String: MLFeatureValue] = [:]
        for tensor in job.inputs {
            guard let description = descriptions[tensor.name] else {
                throw InputError.unknownInput(tensor.name, known: Array(descriptions.keys))
            }
            let array = try Npy.read(try folder.fileURL(tensor))
            if description.type == .image {
                features[tensor.name] = MLFeatureValue(
                    pixelBuffer: try pixelBuffer(array, name: tensor.name, description: description))
            } else {
                features[tensor.name] = MLFeatureValue(
                    multiArray: try multiArray(array, name: tensor.name, description: description))
            }
        }
        for (name, description) in descriptions where features[name] == nil && !description.isOptional {
            throw InputError.missingInput(name)
        }
        return try MLDictionaryFeatureProvider(dictionary: features)
    }

    public static func multiArray(
        _ array: NpyArray, name: String, description: MLFeatureDescription?
    ) throws -> MLMultiArray {
        guard let dataType = array.dtype.multiArrayDataType else {
            throw InputError.unsupportedDtype(name, array.dtype)
        }
        if let wanted = description?.multiArrayConstraint?.dataType, wanted != dataType {
            // Core ML would convert on every prediction, inside the timed region.
            let modelType = DType(wanted)?.rawValue ?? "multi-array type \(wanted.rawValue)"
            throw InputError.dtypeMismatch(name, model: modelType, file: array.dtype)
        }
        let byteCount = max(array.data.count, 1)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64)
        array.data.withUnsafeBytes { (source: UnsafeRawBufferPointer) in
            if let base = source.baseAddress { storage.copyMemory(from: base, byteCount: array.data.count) }
        }
        let strides = StridedCopy.contiguousStrides(array.shape)
        return try MLMultiArray(
            dataPointer: storage,
            shape: array.shape.map { NSNumber(value: $0) },
            dataType: dataType,
            strides: strides.map { NSNumber(value: $0) },
            deallocator: { pointer in pointer.deallocate() })
    }

    /// uint8 [H, W], [H, W, C] or [1, H, W, C] (C = 1, 3 or 4, RGB(A) order) into the pixel
    /// format the model declares (32BGRA or OneComponent8), row by row honoring bytesPerRow.
    public static func pixelBuffer(
        _ array: NpyArray, name: String, description: MLFeatureDescription
    ) throws -> CVPixelBuffer {
        guard array.dtype == .uint8 else { throw InputError.badImage(name, "needs uint8 pixels") }
        var shape = array.shape
        if shape.count == 4 && shape[0] == 1 { shape.removeFirst() }
        if shape.count == 2 { shape.append(1) }
        guard shape.count == 3, [1, 3, 4].contains(shape[2]) else {
            throw InputError.badImage(name, "shape \(array.shape) is not HxW, HxWxC or 1xHxWxC")
        }
        let (height, width, channels) = (shape[0], shape[1], shape[2])
        guard let constraint = description.imageConstraint else {
            throw InputError.badImage(name, "the model gives no image constraint")
        }
        guard constraint.pixelsHigh == height, constraint.pixelsWide == width else {
            throw InputError.badImage(
                name, "\(width)x\(height) but the model takes \(constraint.pixelsWide)x\(constraint.pixelsHigh)")
        }
        let format = constraint.pixelFormatType
        let grayscale = format == kCVPixelFormatType_OneComponent8
        guard grayscale || format == kCVPixelFormatType_32BGRA else {
            throw InputError.badImage(name, "pixel format \(format) is not 32BGRA or OneComponent8")
        }
        guard grayscale == (channels == 1) else {
            throw InputError.badImage(name, "\(channels) channels for a \(grayscale ? "grayscale" : "color") input")
        }
        var buffer: CVPixelBuffer?
        // IOSurface-backed, so the GPU and the Neural Engine can read it without a copy.
        let attributes: [String: Any] = [kCVPixelBufferIOSurfacePropertiesKey as String: [String: Any]()]
        let status = CVPixelBufferCreate(
            kCFAllocatorDefault, width, height, format, attributes as CFDictionary, &buffer)
        guard status == kCVReturnSuccess, let pixels = buffer else {
            throw InputError.badImage(name, "CVPixelBufferCreate failed (\(status))")
        }
        CVPixelBufferLockBaseAddress(pixels, [])
        defer { CVPixelBufferUnlockBaseAddress(pixels, []) }
        guard let base = CVPixelBufferGetBaseAddress(pixels) else {
            throw InputError.badImage(name, "no pixel memory")
        }
        let bytesPerRow = CVPixelBufferGetBytesPerRow(pixels)
        let source = [UInt8](array.data)
        for row in 0..<height {
            let line = base.advanced(by: row * bytesPerRow).assumingMemoryBound(to: UInt8.self)
            for column in 0..<width {
                let pixel = (row * width + column) * channels
                if grayscale {
                    line[column] = source[pixel]
                } else {
                    line[column * 4 + 0] = source[pixel + 2]  // B
                    line[column * 4 + 1] = source[pixel + 1]  // G
                    line[column * 4 + 2] = source[pixel + 0]  // R
                    line[column * 4 + 3] = channels == 4 ? source[pixel + 3] : 255
                }
            }
        }
        return pixels
    }
}
#endif
