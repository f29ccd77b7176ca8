// The model from the content-addressed cache: a compiled .mlmodelc is loaded as is; an
// .mlpackage (or .mlmodel) is compiled on the device first, timed, into a temporary folder that
// the run removes afterwards, so every run of a package pays, and reports, the same compile.

#if canImport(CoreML)
import CoreML
import Foundation

public enum ModelError: Error, CustomStringConvertible {
    case missing(String)
    case unsupportedFormat(String)

    public var description: String {
        switch self {
        case let .missing(path): return "no model at \(path); the agent must push it first"
        case let .unsupportedFormat(path): return "\(path) is not .mlmodelc, .mlpackage or .mlmodel"
        }
    }
}

public struct CompiledModel {
    public let url: URL
    /// Time of MLModel.compileModel(at:), when the app compiled.
    public let compileNs: Int64?
    let temporary: Bool

    /// Remove a compiled copy this run made.
    public func discard() {
        if temporary { try? FileManager.default.removeItem(at: url) }
    }
}

public enum ModelLoader {
    public static func compiled(_ url: URL, clock: MonotonicClock) throws -> CompiledModel {
        guard FileManager.default.fileExists(atPath: url.path) else { throw ModelError.missing(url.path) }
        switch url.pathExtension {
        case "mlmodelc":
            return CompiledModel(url: url, compileNs: nil, temporary: false)
        case "mlpackage", "mlmodel":
            var compiledURL: URL?
            // The async API (iOS 16+); the synchronous one is deprecated. The hop onto a task
            // costs microseconds against a compile of tens of milliseconds or more.
            let elapsed = try TimingLoop.time(clock) {
                compiledURL = try blocking { try await MLModel.compileModel(at: url) }
            }
            return CompiledModel(url: compiledURL!, compileNs: elapsed, temporary: true)
        default:
            throw ModelError.unsupportedFormat(url.path)
        }
    }

    /// MLModel(contentsOf:configuration:) timed; returns the model and nanoseconds.
    public static func load(
        _ model: CompiledModel, configuration: MLModelConfiguration, clock: MonotonicClock
    ) throws -> (MLModel, Int64) {
        var loaded: MLModel?
        let elapsed = try TimingLoop.time(clock) {
            loaded = try MLModel(contentsOf: model.url, configuration: configuration)
        }
        return (loaded!, elapsed)
    }
}
#endif
