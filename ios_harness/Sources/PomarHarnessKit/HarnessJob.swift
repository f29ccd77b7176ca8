// job.json: what the agent asks the app to do for one run.
//
// Mirrors orchestrator/wire/harness.py (HarnessJob, HarnessTensor) field for field; the
// conformance test in tests/ios_harness/ checks these declarations against the JSON Schema of
// the pydantic models. Keys are spelled out in CodingKeys because the JSON is snake_case.
// Fields that have a non-null default in pydantic are decoded with decodeIfPresent and the
// same default, so the app accepts every job.json that pydantic accepts.

import Foundation

/// The only protocol version this app speaks (`protocol` in job.json and result.json).
public let harnessProtocolVersion = 1

/// Core ML compute units as Pomar names them; mapped to MLComputeUnits in ComputeUnits.swift.
public enum ComputeUnit: String, Codable, CaseIterable, Sendable {
    case cpu
    case gpu
    case ane
    case all
}

/// Tensor element types on the wire. The .npy layer handles all of them; MLMultiArray only
/// float16, float32, float64 and int32 (uint8 tensors can feed image inputs).
public enum DType: String, Codable, CaseIterable, Sendable {
    case float16
    case float32
    case float64
    case int32
    case int8
    case uint8
    case bool
}

/// A tensor file in the job folder (`inputs/<name>.npy` or `outputs/<name>.npy`).
public struct HarnessTensor: Codable, Equatable, Sendable {
    public let name: String
    /// Path relative to the job folder.
    public let file: String
    public let dtype: DType
    public let shape: [Int]
    public let isImage: Bool

    enum CodingKeys: String, CodingKey {
        case name
        case file
        case dtype
        case shape
        case isImage = "is_image"
    }

    public init(name: String, file: String, dtype: DType, shape: [Int], isImage: Bool = false) {
        self.name = name
        self.file = file
        self.dtype = dtype
        self.shape = shape
        self.isImage = isImage
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        file = try container.decode(String.self, forKey: .file)
        dtype = try container.decode(DType.self, forKey: .dtype)
        shape = try container.decode([Int].self, forKey: .shape)
        isImage = try container.decodeIfPresent(Bool.self, forKey: .isImage) ?? false
    }
}

/// job.json: what the app must do for one run.
public struct HarnessJob: Codable, Equatable, Sendable {
    public let protocolVersion: Int
    public let runId: String
    public let modelSha256: String
    /// Relative to Documents/pomar: `models/<sha256>/model.mlmodelc` or `.mlpackage`.
    public let modelPath: String
    public let computeUnit: ComputeUnit
    public let lowPrecisionAccumulationOnGpu: Bool
    public let warmup: Int
    public let iterations: Int
    public let minDurationS: Double
    /// Stop the timed loop after this long once `iterations` are met, even before
    /// `minDurationS`; nil means no cap (protocol 1 files written before this field).
    public let maxDurationS: Double?
    public let inputs: [HarnessTensor]
    public let outputNames: [String]
    public let collectComputePlan: Bool

    enum CodingKeys: String, CodingKey {
        case protocolVersion = "protocol"
        case runId = "run_id"
        case modelSha256 = "model_sha256"
        case modelPath = "model_path"
        case computeUnit = "compute_unit"
        case lowPrecisionAccumulationOnGpu = "low_precision_accumulation_on_gpu"
        case warmup
        case iterations
        case minDurationS = "min_duration_s"
        case maxDurationS = "max_duration_s"
        case inputs
        case outputNames = "output_names"
        case collectComputePlan = "collect_compute_plan"
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        protocolVersion = try container.decodeIfPresent(Int.self, forKey: .protocolVersion) ?? 1
        guard protocolVersion == harnessProtocolVersion else {
            throw DecodingError.dataCorruptedError(
                forKey: .protocolVersion, in: container,
                debugDescription: "protocol \(protocolVersion) is not \(harnessProtocolVersion)")
        }
        runId = try container.decode(String.self, forKey: .runId)
        modelSha256 = try container.decode(String.self, forKey: .modelSha256)
        modelPath = try container.decode(String.self, forKey: .modelPath)
        computeUnit = try container.decode(ComputeUnit.self, forKey: .computeUnit)
        lowPrecisionAccumulationOnGpu =
            try container.decodeIfPresent(Bool.self, forKey: .lowPrecisionAccumulationOnGpu) ?? false
        warmup = try container.decode(Int.self, forKey: .warmup)
        iterations = try container.decode(Int.self, forKey: .iterations)
        minDurationS = try container.decode(Double.self, forKey: .minDurationS)
        maxDurationS = try container.decodeIfPresent(Double.self, forKey: .maxDurationS)
        inputs = try container.decode([HarnessTensor].self, forKey: .inputs)
        outputNames = try container.decode([String].self, forKey: .outputNames)
        collectComputePlan =
            try container.decodeIfPresent(Bool.self, forKey: .collectComputePlan) ?? true
        // The same bounds pydantic enforces (ge=0, ge=1, ge=0): a job the agent could not have
        // written is refused rather than run with surprising numbers.
        guard warmup >= 0, iterations >= 1, minDurationS >= 0, minDurationS.isFinite else {
            throw DecodingError.dataCorruptedError(
                forKey: .iterations, in: container,
                debugDescription: "warmup must be >= 0, iterations >= 1, min_duration_s >= 0")
        }
        if let cap = maxDurationS, !(cap > 0 && cap.isFinite) {  // pydantic: gt=0
            throw DecodingError.dataCorruptedError(
                forKey: .maxDurationS, in: container,
                debugDescription: "max_duration_s must be > 0 when given")
        }
    }
}
