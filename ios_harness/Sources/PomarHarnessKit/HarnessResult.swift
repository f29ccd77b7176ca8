// result.json: what the app measured for one run.
//
// Mirrors orchestrator/wire/harness.py (HarnessResult and its parts) field for field; checked
// on Linux by tests/ios_harness/test_conformance.py. Optional Swift properties are exactly the
// fields pydantic allows to be null; the synthesized encoder leaves a nil out, and pydantic then
// fills in its default (None).

import Foundation

/// How the run ended, as far as the app knows (a crash or a jetsam kill writes nothing).
public enum HarnessStatus: String, Codable, Sendable {
    case ok
    case error
}

/// The phase a failed run stopped in.
public enum HarnessPhase: String, Codable, CaseIterable, Sendable {
    case readJob = "read_job"
    case compile
    case load
    case inputs
    case predict
    case outputs
}

/// ProcessInfo.ThermalState as text.
public enum ThermalState: String, Codable, CaseIterable, Sendable {
    case nominal
    case fair
    case serious
    case critical
}

/// UIDevice.BatteryState as text.
public enum BatteryState: String, Codable, CaseIterable, Sendable {
    case unknown
    case unplugged
    case charging
    case full
}

/// Where MLComputePlan prefers to run an op; `unknown` when Core ML does not say.
public enum PreferredDevice: String, Codable, Sendable {
    case cpu
    case gpu
    case ane
    case unknown
}

/// A compute device that can run an op.
public enum ComputeDevice: String, Codable, Sendable {
    case cpu
    case gpu
    case ane
}

/// phys_footprint around the phases, and what the OS says is still available.
public struct HarnessPhaseMemory: Codable, Equatable, Sendable {
    public let beforeLoadBytes: Int64
    public let afterLoadBytes: Int64
    public let afterPredictionsBytes: Int64
    public let peakBytes: Int64
    /// os_proc_available_memory() before loading.
    public let availableBeforeBytes: Int64?
    public let availableMinBytes: Int64?

    enum CodingKeys: String, CodingKey {
        case beforeLoadBytes = "before_load_bytes"
        case afterLoadBytes = "after_load_bytes"
        case afterPredictionsBytes = "after_predictions_bytes"
        case peakBytes = "peak_bytes"
        case availableBeforeBytes = "available_before_bytes"
        case availableMinBytes = "available_min_bytes"
    }

    public init(
        beforeLoadBytes: Int64, afterLoadBytes: Int64, afterPredictionsBytes: Int64,
        peakBytes: Int64, availableBeforeBytes: Int64?, availableMinBytes: Int64?
    ) {
        self.beforeLoadBytes = beforeLoadBytes
        self.afterLoadBytes = afterLoadBytes
        self.afterPredictionsBytes = afterPredictionsBytes
        self.peakBytes = peakBytes
        self.availableBeforeBytes = availableBeforeBytes
        self.availableMinBytes = availableMinBytes
    }
}

/// Integer nanoseconds from clock_gettime_nsec_np(CLOCK_UPTIME_RAW).
public struct HarnessTimings: Codable, Equatable, Sendable {
    /// Only when the app compiled an .mlpackage on device.
    public let compileNs: Int64?
    public let coldLoadNs: Int64
    public let warmLoadNs: Int64
    public let firstPredictionNs: Int64
    public let warmupNs: [Int64]
    public let predictionNs: [Int64]
    /// Loading MLComputePlan after the timing loop; nil when no plan was loaded.
    public let computePlanNs: Int64?

    enum CodingKeys: String, CodingKey {
        case compileNs = "compile_ns"
        case coldLoadNs = "cold_load_ns"
        case warmLoadNs = "warm_load_ns"
        case firstPredictionNs = "first_prediction_ns"
        case warmupNs = "warmup_ns"
        case predictionNs = "prediction_ns"
        case computePlanNs = "compute_plan_ns"
    }

    public init(
        compileNs: Int64?, coldLoadNs: Int64, warmLoadNs: Int64, firstPredictionNs: Int64,
        warmupNs: [Int64], predictionNs: [Int64], computePlanNs: Int64? = nil
    ) {
        self.compileNs = compileNs
        self.coldLoadNs = coldLoadNs
        self.warmLoadNs = warmLoadNs
        self.firstPredictionNs = firstPredictionNs
        self.warmupNs = warmupNs
        self.predictionNs = predictionNs
        self.computePlanNs = computePlanNs
    }
}

/// Where MLComputePlan placed one op (iOS 17.4+).
public struct HarnessComputePlanOp: Codable, Equatable, Sendable {
    public let op: String
    public let opType: String
    public let preferred: PreferredDevice
    public let supported: [ComputeDevice]
    public let costWeight: Double?

    enum CodingKeys: String, CodingKey {
        case op
        case opType = "op_type"
        case preferred
        case supported
        case costWeight = "cost_weight"
    }

    public init(
        op: String, opType: String, preferred: PreferredDevice, supported: [ComputeDevice],
        costWeight: Double?
    ) {
        self.op = op
        self.opType = opType
        self.preferred = preferred
        self.supported = supported
        self.costWeight = costWeight
    }
}

/// Device state the app observed; the agent refuses to time a hot or low-power device.
public struct HarnessEnvironment: Codable, Equatable, Sendable {
    /// Phase name (`start`, `load`, `warmup`, `predictions`, `end`) to thermal state.
    public let thermalStateByPhase: [String: ThermalState]
    public let lowPowerMode: Bool
    /// 0...1, or nil when the OS does not say (monitoring off, simulator).
    public let batteryLevel: Double?
    /// nil when the app cannot tell (read before this field existed, or on a Mac).
    public let batteryState: BatteryState?
    public let osVersion: String
    public let deviceModel: String
    public let appVersion: String

    enum CodingKeys: String, CodingKey {
        case thermalStateByPhase = "thermal_state_by_phase"
        case lowPowerMode = "low_power_mode"
        case batteryLevel = "battery_level"
        case batteryState = "battery_state"
        case osVersion = "os_version"
        case deviceModel = "device_model"
        case appVersion = "app_version"
    }

    public init(
        thermalStateByPhase: [String: ThermalState], lowPowerMode: Bool, batteryLevel: Double?,
        batteryState: BatteryState? = nil, osVersion: String, deviceModel: String,
        appVersion: String
    ) {
        self.thermalStateByPhase = thermalStateByPhase
        self.lowPowerMode = lowPowerMode
        self.batteryLevel = batteryLevel
        self.batteryState = batteryState
        self.osVersion = osVersion
        self.deviceModel = deviceModel
        self.appVersion = appVersion
    }
}

/// result.json: what the app measured. Written atomically before the sentinel.
public struct HarnessResult: Codable, Equatable, Sendable {
    public let protocolVersion: Int
    public let runId: String
    public let status: HarnessStatus
    public let error: String?
    public let errorPhase: HarnessPhase?
    public let timings: HarnessTimings?
    public let memory: HarnessPhaseMemory?
    public let outputs: [HarnessTensor]
    public let computePlan: [HarnessComputePlanOp]
    public let environment: HarnessEnvironment
    /// Sentences about a run that still counts, e.g. why computePlan is empty.
    public let warnings: [String]

    enum CodingKeys: String, CodingKey {
        case protocolVersion = "protocol"
        case runId = "run_id"
        case status
        case error
        case errorPhase = "error_phase"
        case timings
        case memory
        case outputs
        case computePlan = "compute_plan"
        case environment
        case warnings
    }

    public init(
        runId: String, status: HarnessStatus, error: String? = nil,
        errorPhase: HarnessPhase? = nil, timings: HarnessTimings? = nil,
        memory: HarnessPhaseMemory? = nil, outputs: [HarnessTensor] = [],
        computePlan: [HarnessComputePlanOp] = [], environment: HarnessEnvironment,
        warnings: [String] = []
    ) {
        self.protocolVersion = harnessProtocolVersion
        self.runId = runId
        self.status = status
        self.error = error
        self.errorPhase = errorPhase
        self.timings = timings
        self.memory = memory
        self.outputs = outputs
        self.computePlan = computePlan
        self.environment = environment
        self.warnings = warnings
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        protocolVersion = try container.decodeIfPresent(Int.self, forKey: .protocolVersion) ?? 1
        runId = try container.decode(String.self, forKey: .runId)
        status = try container.decode(HarnessStatus.self, forKey: .status)
        error = try container.decodeIfPresent(String.self, forKey: .error)
        errorPhase = try container.decodeIfPresent(HarnessPhase.self, forKey: .errorPhase)
        timings = try container.decodeIfPresent(HarnessTimings.self, forKey: .timings)
        memory = try container.decodeIfPresent(HarnessPhaseMemory.self, forKey: .memory)
        outputs = try container.decodeIfPresent([HarnessTensor].self, forKey: .outputs) ?? []
        computePlan =
            try container.decodeIfPresent([HarnessComputePlanOp].self, forKey: .computePlan) ?? []
        environment = try container.decode(HarnessEnvironment.self, forKey: .environment)
        warnings = try container.decodeIfPresent([String].self, forKey: .warnings) ?? []
    }
}
