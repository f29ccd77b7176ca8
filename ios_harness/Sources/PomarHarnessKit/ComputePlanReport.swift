// MLComputePlan (iOS 17.4+): per op, the device Core ML prefers, the devices that could run it,
// and its estimated share of the work. Loaded after the timing loop because loading a plan
// specializes the model again. It is Core ML's anticipated plan, not a trace.

#if canImport(CoreML)
import CoreML
import Foundation

@available(iOS 17.4, macOS 14.4, *)
public enum ComputePlanReport {
    /// Load the plan for the compiled model with the run's configuration and list every op.
    public static func ops(modelURL: URL, configuration: MLModelConfiguration) throws -> [HarnessComputePlanOp] {
        let plan = try blocking { try await MLComputePlan.load(contentsOf: modelURL, configuration: configuration) }
        var ops: [HarnessComputePlanOp] = []
        collect(plan.modelStructure, plan: plan, prefix: "", into: &ops)
        return ops
    }

    static func collect(
        _ structure: MLModelStructure, plan: MLComputePlan, prefix: String,
        into ops: inout [HarnessComputePlanOp]
    ) {
        switch structure {
        case let .program(program):
            for name in program.functions.keys.sorted() {
                guard let function = program.functions[name] else { continue }
                collect(function.block, plan: plan, path: "\(prefix)\(name)/0", into: &ops)
            }
        case let .neuralNetwork(network):
            for layer in network.layers {
                let usage = plan.deviceUsage(for: layer)
                ops.append(HarnessComputePlanOp(
                    op: "\(prefix)\(layer.name)", opType: layer.type,
                    preferred: usage.map { preferred($0.preferred) } ?? .unknown,
                    supported: usage.map { $0.supported.compactMap(device) } ?? [],
                    costWeight: nil))
            }
        case let .pipeline(pipeline):
            for (index, model) in pipeline.subModels.enumerated() {
                let name = index < pipeline.subModelNames.count ? pipeline.subModelNames[index] : "\(index)"
                collect(model, plan: plan, prefix: "\(prefix)\(name)/", into: &ops)
            }
        case .unsupported:
            break
        @unknown default:
            break
        }
    }

    static func collect(
        _ block: MLModelStructure.Program.Block, plan: MLComputePlan, path: String,
        into ops: inout [HarnessComputePlanOp]
    ) {
        for (index, operation) in block.operations.enumerated() {
            // The first output names an op uniquely within its block; a bare index is the fallback.
            let label = operation.outputs.first?.name ?? "op\(index)"
            let usage = plan.deviceUsage(for: operation)
            ops.append(HarnessComputePlanOp(
                op: "\(path)/\(label)", opType: operation.operatorName,
                preferred: usage.map { preferred($0.preferred) } ?? .unknown,
                supported: usage.map { $0.supported.compactMap(device) } ?? [],
                costWeight: plan.estimatedCost(of: operation)?.weight))
            for (nested, inner) in operation.blocks.enumerated() {
                collect(inner, plan: plan, path: "\(path)/\(label)/\(nested)", into: &ops)
            }
        }
    }

    static func device(_ device: MLComputeDevice) -> ComputeDevice? {
        switch device {
        case .cpu: return .cpu
        case .gpu: return .gpu
        case .neuralEngine: return .ane
        @unknown default: return nil
        }
    }

    static func preferred(_ device: MLComputeDevice) -> PreferredDevice {
        switch self.device(device) {
        case .cpu?: return .cpu
        case .gpu?: return .gpu
        case .ane?: return .ane
        case nil: return .unknown
        }
    }
}

/// Carries an async result back to the waiting thread.
final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// Run an async call to completion from a synchronous context. The runner lives on its own
/// background thread, so blocking it here is what we want.
func blocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task.detached(priority: .userInitiated) {
        do {
            box.result = .success(try await body())
        } catch {
            box.result = .failure(error)
        }
        done.signal()
    }
    done.wait()
    guard let result = box.result else { throw CancellationError() }
    return try result.get()
}
#endif
