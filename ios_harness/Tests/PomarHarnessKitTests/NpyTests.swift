import XCTest

@testable import PomarHarnessKit

final class NpyTests: XCTestCase {
    func testWriterProducesTheGoldenBytesForEachAppDtype() throws {
        for name in ["float32_2x3.npy", "float16_1x4.npy", "int32_5.npy"] {
            let golden = try Fixtures.data(name)
            let array = try Npy.decode(golden)
            XCTAssertEqual(Npy.encode(array), golden, name)
        }
    }

    func testHeaderIsPaddedToSixtyFourBytesAndEndsInANewline() throws {
        for shape in [[], [5], [2, 3], [1, 3, 8, 8]] {
            let count = shape.reduce(1, *)
            let encoded = Npy.encode(try NpyArray(dtype: .uint8, shape: shape, data: Data(count: count)))
            let headerEnd = encoded.count - count
            XCTAssertEqual(headerEnd % 64, 0, "\(shape)")
            XCTAssertEqual(encoded[headerEnd - 1], 0x0A, "\(shape)")
            XCTAssertEqual(try Npy.decode(encoded).shape, shape)
        }
    }

    func testReadsGoldenValues() throws {
        let int32 = try Npy.decode(Fixtures.data("int32_5.npy"))
        XCTAssertEqual(int32.dtype, .int32)
        XCTAssertEqual(int32.shape, [5])
        let values = int32.data.withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        XCTAssertEqual(values.map { Int32(littleEndian: $0) }, [0, 1, -2, Int32.max, Int32.min])
    }

    func testBigEndianFileIsSwappedToLittleEndian() throws {
        let array = try Npy.decode(Fixtures.data("float32_be_2x2.npy"))
        XCTAssertEqual(array.dtype, .float32)
        let values = array.data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(values, [1.5, -2.0, 3.25, 4.0])
    }

    func testFortranOrderFileIsReorderedToCOrder() throws {
        let array = try Npy.decode(Fixtures.data("float64_fortran_2x3.npy"))
        XCTAssertEqual(array.shape, [2, 3])
        let values = array.data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        XCTAssertEqual(values, [0, 1, 2, 3, 4, 5])
    }

    func testRejectsFilesThatAreNotNpy() {
        XCTAssertThrowsError(try Npy.decode(Data("not a numpy file".utf8)))
    }

    func testRejectsDataOfTheWrongSize() throws {
        var golden = try Fixtures.data("int32_5.npy")
        golden.removeLast()
        XCTAssertThrowsError(try Npy.decode(golden))
    }
}
