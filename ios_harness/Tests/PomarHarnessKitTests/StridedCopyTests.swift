import XCTest

@testable import PomarHarnessKit

final class StridedCopyTests: XCTestCase {
    func testContiguousStridesAreRowMajor() {
        XCTAssertEqual(StridedCopy.contiguousStrides([2, 3, 4]), [12, 4, 1])
        XCTAssertEqual(StridedCopy.contiguousStrides([]), [])
    }

    func testPaddedRowsAreDroppedInTheCopy() {
        // A 2x3 tensor stored with rows padded to 4 elements, as an ANE output can be.
        let padded: [Int32] = [1, 2, 3, -1, 4, 5, 6, -1]
        let data = padded.withUnsafeBytes { raw in
            StridedCopy.contiguousCopy(from: raw.baseAddress!, itemSize: 4, shape: [2, 3], strides: [4, 1])
        }
        XCTAssertEqual(data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }, [1, 2, 3, 4, 5, 6])
    }

    func testTransposedStridesAreFollowed() {
        let source: [Int32] = [1, 2, 3, 4, 5, 6]  // 3x2 in memory, read as its 2x3 transpose
        let data = source.withUnsafeBytes { raw in
            StridedCopy.contiguousCopy(from: raw.baseAddress!, itemSize: 4, shape: [2, 3], strides: [1, 2])
        }
        XCTAssertEqual(data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }, [1, 3, 5, 2, 4, 6])
    }

    func testUnitAxesWithOddStridesStillTakeTheFastPath() {
        let source: [Int32] = [7, 8, 9]
        let data = source.withUnsafeBytes { raw in
            StridedCopy.contiguousCopy(from: raw.baseAddress!, itemSize: 4, shape: [1, 3], strides: [99, 1])
        }
        XCTAssertEqual(data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }, [7, 8, 9])
    }
}
