// Copying tensors into dense C order. Core ML output arrays are not guaranteed to be dense
// (ANE and GPU outputs can be padded), so every output is copied element by element following
// its own strides; a dense source takes one memcpy.

import Foundation

public enum StridedCopy {
    /// C-order (row-major) strides, in elements, for a shape.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = step
            step *= shape[axis]
        }
        return strides
    }

    /// Dense C-order bytes of a strided tensor at `base` (strides in elements, not bytes).
    public static func contiguousCopy(
        from base: UnsafeRawPointer, itemSize: Int, shape: [Int], strides: [Int]
    ) -> Data {
        precondition(shape.count == strides.count, "one stride per axis")
        let count = shape.reduce(1, *)
        if count == 0 { return Data() }
        // Axes of length 1 may carry any stride; they do not make a tensor sparse.
        let expected = contiguousStrides(shape)
        let dense = (0..<shape.count).allSatisfy { shape[$0] == 1 || strides[$0] == expected[$0] }
        if dense {
            return Data(bytes: base, count: count * itemSize)
        }
        var out = Data(count: count * itemSize)
        out.withUnsafeMutableBytes { (target: UnsafeMutableRawBufferPointer) in
            guard let destination = target.baseAddress else { return }
            var index = [Int](repeating: 0, count: shape.count)
            for element in 0..<count {
                var offset = 0
                for axis in 0..<shape.count { offset += index[axis] * strides[axis] }
                (destination + element * itemSize).copyMemory(
                    from: base + offset * itemSize, byteCount: itemSize)
                // Odometer increment, last axis fastest: C order.
                var axis = shape.count - 1
                while axis >= 0 {
                    index[axis] += 1
                    if index[axis] < shape[axis] { break }
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
        return out
    }

    /// Reorder a Fortran-order (column-major) buffer into C order.
    public static func fortranToC(_ data: Data, itemSize: Int, shape: [Int]) -> Data {
        // A Fortran array is the C array of the reversed shape, seen through reversed strides.
        var fortranStrides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in 0..<shape.count {
            fortranStrides[axis] = step
            step *= shape[axis]
        }
        return data.withUnsafeBytes { (source: UnsafeRawBufferPointer) -> Data in
            guard let base = source.baseAddress else { return Data() }
            return contiguousCopy(from: base, itemSize: itemSize, shape: shape, strides: fortranStrides)
        }
    }
}
