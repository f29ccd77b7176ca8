import XCTest

@testable import PomarHarnessKit

final class JobFolderTests: XCTestCase {
    var documents: URL!

    override func setUpWithError() throws {
        documents = FileManager.default.temporaryDirectory
            .appendingPathComponent("pomar-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: documents, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: documents)
    }

    func testRunIdsThatAreNotPlainFolderNamesAreRefused() {
        for bad in ["", ".", "..", "a/b"] {
            XCTAssertThrowsError(try JobFolder(documents: documents, runId: bad), bad)
        }
    }

    func testPathsFromTheJobCannotLeaveTheHarnessFolder() throws {
        let root = documents.appendingPathComponent("pomar")
        XCTAssertThrowsError(try JobFolder.resolve("../secrets", under: root))
        XCTAssertThrowsError(try JobFolder.resolve("/etc/passwd", under: root))
        XCTAssertEqual(
            try JobFolder.resolve("models/ab/model.mlmodelc", under: root).lastPathComponent, "model.mlmodelc")
    }

    func testPublishWritesResultThenTheMatchingSentinel() throws {
        let folder = try JobFolder(documents: documents, runId: "run-0002")
        let failed = try JSONDecoder().decode(HarnessResult.self, from: Fixtures.data("result_failed.json"))
        try folder.publish(failed)
        let written = try JSONDecoder().decode(HarnessResult.self, from: Data(contentsOf: folder.resultFile))
        XCTAssertEqual(written, failed)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.directory.path)
        XCTAssertEqual(Set(names), ["result.json", "FAILED"])
    }
}
