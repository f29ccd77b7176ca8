// Outputs: every requested output becomes a dense little-endian C-order .npy, copied by the
// array's own strides (Core ML outputs may be padded), after the clock has stopped.

#if canImport(CoreML)
import CoreML
import CoreVideo
import Foundation

public enum OutputError: Error, CustomStringConvertible {
    case missingOutput(String, known: [String])
    case unsupported(String, String)

    public var description: String {
        switch self {
        case let .missingOutput(name, known):
            return "output '\(name)' is not in the prediction (it has \(known.sorted()))"
        case let .unsupported(name, why):
            return "output '\(name)': \(why)"
        }
    }
}

public enum FeatureOutputs {
    /// A dense copy of a multi-array, honoring its strides.
    public static func npy(_ array: MLMultiArray, name: String) throws -> NpyArray {
        guard let dtype = DType(array.dataType) else {
            throw OutputError.unsupported(name, "multi-array type \(array.dataType.rawValue)")
        }
        let shape = array.shape.map { $0.intValue }
        let strides = array.strides.map { $0.intValue }
        let data = array.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Data in
            guard let base = buffer.baseAddress else { return Data() }
            return StridedCopy.contiguousCopy(
                from: base, itemSize: dtype.itemSize, shape: shape, strides: strides)
        }
        return try NpyArray(dtype: dtype, shape: shape, data: data)
    }

    /// An image output as uint8 [H, W, 4] in BGRA order, or [H, W, 1] for grayscale.
    public static func npy(_ pixels: CVPixelBuffer, name: String) throws -> NpyArray {
        let format = CVPixelBufferGetPixelFormatType(pixels)
        let channels: Int
        switch format {
        case kCVPixelFormatType_32BGRA: channels = 4
        case kCVPixelFormatType_OneComponent8: channels = 1
        default: throw OutputError.unsupported(name, "pixel format \(format)")
        }
        CVPixelBufferLockBaseAddress(pixels, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(pixels, .readOnly) }
        let width = CVPixelBufferGetWidth(pixels)
        let height = CVPixelBufferGetHeight(pixels)
        guard let base = CVPixelBufferGetBaseAddress(pixels) else {
            throw OutputError.unsupported(name, "no pixel memory")
        }
        let data = StridedCopy.contiguousCopy(
            from: UnsafeRawPointer(base), itemSize: 1, shape: [height, width * channels],
            strides: [CVPixelBufferGetBytesPerRow(pixels), 1])
        return try NpyArray(dtype: .uint8, shape: [height, width, channels], data: data)
    }

    /// Write each requested output to `outputs/<name>.npy`; returns what was written.
    public static func write(
        _ prediction: MLFeatureProvider, names: [String], to directory: URL
    ) throws -> [HarnessTensor] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var written: [HarnessTensor] = []
        for name in names {
            guard let value = prediction.featureValue(for: name) else {
                throw OutputError.missingOutput(name, known: Array(prediction.featureNames))
            }
            let array: NpyArray
            if let multiArray = value.multiArrayValue {
                array = try npy(multiArray, name: name)
            } else if let pixels = value.imageBufferValue {
                array = try npy(pixels, name: name)
            } else if value.type == .double {
                var scalar = value.doubleValue
                array = try NpyArray(dtype: .float64, shape: [], data: Data(bytes: &scalar, count: 8))
            } else {
                throw OutputError.unsupported(name, "feature type \(value.type.rawValue) has no .npy form")
            }
            let file = "outputs/\(name).npy"
            try Npy.write(array, to: directory.appendingPathComponent("\(name).npy"))
            written.append(HarnessTensor(name: name, file: file, dtype: array.dtype, shape: array.shape,
                                         isImage: value.imageBufferValue != nil))
        }
        return written
    }
}
#endif
