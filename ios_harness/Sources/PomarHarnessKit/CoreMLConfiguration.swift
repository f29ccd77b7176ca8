// Compute units and MLModelConfiguration from job.json. The switch is exhaustive with no
// default: a compute unit the app does not know fails to decode (ComputeUnit is a String enum),
// it is never quietly run as .all.

#if canImport(CoreML)
import CoreML

extension ComputeUnit {
    public var mlComputeUnits: MLComputeUnits {
        switch self {
        case .cpu: return .cpuOnly
        case .gpu: return .cpuAndGPU
        case .ane: return .cpuAndNeuralEngine
        case .all: return .all
        }
    }
}

extension HarnessJob {
    /// The configuration every load and the compute plan of this run use.
    public func modelConfiguration() -> MLModelConfiguration {
        let configuration = MLModelConfiguration()
        configuration.computeUnits = computeUnit.mlComputeUnits
        configuration.allowLowPrecisionAccumulationOnGPU = lowPrecisionAccumulationOnGpu
        return configuration
    }
}
#endif
