// The harness protocol's files in the app's Documents folder (DESIGN, "The harness protocol"):
//
//   Documents/pomar/models/<sha256>/model.mlmodelc | model.mlpackage
//   Documents/pomar/jobs/<run_id>/job.json, inputs/*.npy     written by the agent
//   Documents/pomar/jobs/<run_id>/outputs/*.npy, result.json written here
//   Documents/pomar/jobs/<run_id>/DONE | FAILED              written last

import Foundation

public enum JobFolderError: Error, CustomStringConvertible {
    case badRunId(String)
    case pathEscapesRoot(String)

    public var description: String {
        switch self {
        case let .badRunId(id): return "run id '\(id)' is not a plain folder name"
        case let .pathEscapesRoot(path): return "path '\(path)' leaves the harness folder"
        }
    }
}

public struct JobFolder {
    public static let rootName = "pomar"
    public static let doneSentinel = "DONE"
    public static let failedSentinel = "FAILED"

    /// Documents/pomar
    public let root: URL
    public let runId: String

    public init(documents: URL, runId: String) throws {
        guard !runId.isEmpty, runId != ".", runId != "..", !runId.contains("/") else {
            throw JobFolderError.badRunId(runId)
        }
        self.root = documents.appendingPathComponent(JobFolder.rootName, isDirectory: true)
        self.runId = runId
    }

    public var directory: URL { root.appendingPathComponent("jobs/\(runId)", isDirectory: true) }
    public var jobFile: URL { directory.appendingPathComponent("job.json") }
    public var resultFile: URL { directory.appendingPathComponent("result.json") }
    public var outputsDirectory: URL { directory.appendingPathComponent("outputs", isDirectory: true) }

    /// A path from job.json, relative to `base`, refused if it tries to leave it.
    public static func resolve(_ relative: String, under base: URL) throws -> URL {
        let parts = relative.split(separator: "/")
        guard !relative.hasPrefix("/"), !parts.contains(".."), !parts.isEmpty else {
            throw JobFolderError.pathEscapesRoot(relative)
        }
        return base.appendingPathComponent(relative)
    }

    public func modelURL(_ job: HarnessJob) throws -> URL {
        try JobFolder.resolve(job.modelPath, under: root)
    }

    public func fileURL(_ tensor: HarnessTensor) throws -> URL {
        try JobFolder.resolve(tensor.file, under: directory)
    }

    public func readJob() throws -> HarnessJob {
        try JSONDecoder().decode(HarnessJob.self, from: Data(contentsOf: jobFile))
    }

    /// result.json through a temporary file and rename(2), so the agent never reads half a
    /// file; then the sentinel, whose presence means result.json is complete.
    public func publish(_ result: HarnessResult) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(result)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in [JobFolder.doneSentinel, JobFolder.failedSentinel] {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
        let temporary = directory.appendingPathComponent(".result.json.\(getpid()).tmp")
        try data.write(to: temporary)
        guard rename(temporary.path, resultFile.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: resultFile.path])
        }
        let sentinel = result.status == .ok ? JobFolder.doneSentinel : JobFolder.failedSentinel
        try Data(runId.utf8).write(to: directory.appendingPathComponent(sentinel), options: .atomic)
    }
}
