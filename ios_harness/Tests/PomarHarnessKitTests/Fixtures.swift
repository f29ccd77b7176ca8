// The golden files in ios_harness/fixtures/, shared with the Python tests.

import Foundation

enum Fixtures {
    /// ios_harness/fixtures, found from this file's path so `swift test` needs no resources.
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // PomarHarnessKitTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // ios_harness
        .appendingPathComponent("fixtures", isDirectory: true)

    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: directory.appendingPathComponent(name))
    }
}
