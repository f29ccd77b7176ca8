// .npy files: inputs pushed by the agent, outputs pulled back by it.
//
// The writer produces exactly the bytes numpy's np.save writes for a little-endian C-order array
// (version 1.0, keys sorted, 21 spare characters after the leading axis, spaces and a newline up
// to a multiple of 64 bytes), pinned by the golden files in ios_harness/fixtures/. The reader
// accepts versions 1.0-3.0, either byte order and Fortran order, and always hands back
// little-endian C-order bytes, which is what MLMultiArray wants on every Apple device.

import Foundation

public enum NpyError: Error, Equatable, CustomStringConvertible {
    case notNpy
    case unsupportedVersion(UInt8, UInt8)
    case badHeader(String)
    case unsupportedDescr(String)
    case sizeMismatch(expected: Int, actual: Int)

    public var description: String {
        switch self {
        case .notNpy: return "not an .npy file (bad magic)"
        case let .unsupportedVersion(major, minor): return "unsupported .npy version \(major).\(minor)"
        case let .badHeader(detail): return "bad .npy header: \(detail)"
        case let .unsupportedDescr(descr): return "unsupported .npy dtype '\(descr)'"
        case let .sizeMismatch(expected, actual):
            return ".npy data is \(actual) bytes, the header says \(expected)"
        }
    }
}

extension DType {
    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .float64: return 8
        case .float32, .int32: return 4
        case .float16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }

    /// numpy's type string for the little-endian form (`<f4`, `|u1`).
    public var npyDescr: String {
        switch self {
        case .float16: return "<f2"
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .int32: return "<i4"
        case .int8: return "|i1"
        case .uint8: return "|u1"
        case .bool: return "|b1"
        }
    }

    /// The dtype for a numpy type string and whether its bytes must be swapped to little-endian.
    static func fromNpyDescr(_ descr: String) throws -> (DType, swap: Bool) {
        guard let order = descr.first, descr.count >= 3 else { throw NpyError.unsupportedDescr(descr) }
        let code = String(descr.dropFirst())
        let table: [String: DType] = [
            "f2": .float16, "f4": .float32, "f8": .float64, "i4": .int32,
            "i1": .int8, "u1": .uint8, "b1": .bool,
        ]
        guard let dtype = table[code] else { throw NpyError.unsupportedDescr(descr) }
        switch order {
        case "<", "|": return (dtype, false)
        case "=": return (dtype, false)  // native: every Apple device is little-endian
        case ">": return (dtype, dtype.itemSize > 1)
        default: throw NpyError.unsupportedDescr(descr)
        }
    }
}

/// A dense tensor: little-endian elements in C (row-major) order.
public struct NpyArray: Equatable {
    public let dtype: DType
    public let shape: [Int]
    public let data: Data

    public init(dtype: DType, shape: [Int], data: Data) throws {
        let expected = shape.reduce(1, *) * dtype.itemSize
        guard data.count == expected else {
            throw NpyError.sizeMismatch(expected: expected, actual: data.count)
        }
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    public var count: Int { shape.reduce(1, *) }
}

public enum Npy {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
    static let alignment = 64
    static let growthAxisMaxDigits = 21

    /// The header dict exactly as numpy writes it.
    public static func headerText(dtype: DType, shape: [Int]) -> String {
        let dims: String
        if shape.count == 1 {
            dims = "(\(shape[0]),)"
        } else {
            dims = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var text = "{'descr': '\(dtype.npyDescr)', 'fortran_order': False, 'shape': \(dims), }"
        if let leading = shape.first {
            // numpy leaves room to grow the leading axis in place; we match its bytes.
            text += String(repeating: " ", count: growthAxisMaxDigits - String(leading).count)
        }
        return text
    }

    /// The whole file: magic, version 1.0, header length, padded header, data.
    public static func encode(_ array: NpyArray) -> Data {
        let text = headerText(dtype: array.dtype, shape: array.shape)
        let bodyLength = text.utf8.count + 1  // the closing newline
        // Same arithmetic as numpy: a header that is already aligned still gets 64 spaces.
        let padding = alignment - ((magic.count + 2 + 2 + bodyLength) % alignment)
        let headerLength = UInt16(bodyLength + padding)
        var out = Data(magic)
        out.append(contentsOf: [1, 0, UInt8(headerLength & 0xFF), UInt8(headerLength >> 8)])
        out.append(contentsOf: Array(text.utf8))
        out.append(contentsOf: [UInt8](repeating: 0x20, count: padding))
        out.append(0x0A)
        out.append(array.data)
        return out
    }

    /// Parse a file into little-endian C-order bytes.
    public static func decode(_ file: Data) throws -> NpyArray {
        let bytes = [UInt8](file)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw NpyError.notNpy }
        let major = bytes[6]
        let minor = bytes[7]
        let headerStart: Int
        let headerLength: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NpyError.badHeader("truncated") }
            headerLength =
                Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default:
            throw NpyError.unsupportedVersion(major, minor)
        }
        guard bytes.count >= headerStart + headerLength else { throw NpyError.badHeader("truncated") }
        guard let header = String(bytes: bytes[headerStart..<(headerStart + headerLength)], encoding: .utf8)
        else { throw NpyError.badHeader("not text") }
        let fields = try parseHeader(header)
        let (dtype, swap) = try DType.fromNpyDescr(fields.descr)
        let payload = Data(bytes[(headerStart + headerLength)...])
        let expected = fields.shape.reduce(1, *) * dtype.itemSize
        guard payload.count == expected else {
            throw NpyError.sizeMismatch(expected: expected, actual: payload.count)
        }
        var data = swap ? byteSwapped(payload, itemSize: dtype.itemSize) : payload
        if fields.fortranOrder && fields.shape.count > 1 {
            data = StridedCopy.fortranToC(data, itemSize: dtype.itemSize, shape: fields.shape)
        }
        return try NpyArray(dtype: dtype, shape: fields.shape, data: data)
    }

    struct HeaderFields {
        let descr: String
        let fortranOrder: Bool
        let shape: [Int]
    }

    /// A small parser for the one dict literal numpy writes; not a Python evaluator.
    static func parseHeader(_ header: String) throws -> HeaderFields {
        func value(after key: String) throws -> Substring {
            guard let keyRange = header.range(of: "'\(key)':") else {
                throw NpyError.badHeader("no '\(key)'")
            }
            return header[keyRange.upperBound...].drop(while: { $0 == " " })
        }
        let descrText = try value(after: "descr")
        guard descrText.first == "'", let close = descrText.dropFirst().firstIndex(of: "'") else {
            throw NpyError.badHeader("descr is not a simple type string")
        }
        let descr = String(descrText[descrText.index(after: descrText.startIndex)..<close])
        let fortranText = try value(after: "fortran_order")
        let fortranOrder: Bool
        if fortranText.hasPrefix("True") {
            fortranOrder = true
        } else if fortranText.hasPrefix("False") {
            fortranOrder = false
        } else {
            throw NpyError.badHeader("fortran_order is neither True nor False")
        }
        let shapeText = try value(after: "shape")
        guard shapeText.first == "(", let end = shapeText.firstIndex(of: ")") else {
            throw NpyError.badHeader("shape is not a tuple")
        }
        let inner = shapeText[shapeText.index(after: shapeText.startIndex)..<end]
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let dim = Int(trimmed), dim >= 0 else {
                throw NpyError.badHeader("shape entry '\(trimmed)'")
            }
            shape.append(dim)
        }
        return HeaderFields(descr: descr, fortranOrder: fortranOrder, shape: shape)
    }

    static func byteSwapped(_ data: Data, itemSize: Int) -> Data {
        var bytes = [UInt8](data)
        var start = 0
        while start + itemSize <= bytes.count {
            bytes[start..<(start + itemSize)].reverse()
            start += itemSize
        }
        return Data(bytes)
    }

    public static func read(_ url: URL) throws -> NpyArray {
        try decode(Data(contentsOf: url, options: .mappedIfSafe))
    }

    public static func write(_ array: NpyArray, to url: URL) throws {
        try encode(array).write(to: url, options: .atomic)
    }
}
