// One run, start to finish: read job.json, compile if needed, cold and warm load, build the
// inputs once, time the predictions, write the outputs, collect the compute plan, then publish
// result.json and the sentinel. A failure anywhere becomes a result with its phase; only a
// crash or a jetsam kill leaves no sentinel, and the agent reads that from crash reports.

#if canImport(CoreML)
import CoreML
import Foundation

/// A failure in a named phase; becomes `status: error` in result.json.
public struct HarnessFailure: Error, CustomStringConvertible {
    public let phase: HarnessPhase
    public let message: String

    public var description: String { "\(phase.rawValue): \(message)" }

    /// Run `body`, turning any error it throws into a failure of `phase`.
    static func during<T>(_ phase: HarnessPhase, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let failure as HarnessFailure {
            throw failure
        } catch {
            throw HarnessFailure(phase: phase, message: String(describing: error))
        }
    }
}

public final class HarnessRunner {
    private let documents: URL
    private let clock: MonotonicClock
    private let environment: EnvironmentProbe
    private let memory: MemoryTracker
    private let progress: (String) -> Void
    private var thermal = ThermalLog()
    /// Sentences for result.json's `warnings`: the run counts, but a reader should know.
    private var warnings: [String] = []

    public init(
        documents: URL,
        clock: MonotonicClock = UptimeRawClock(),
        environment: EnvironmentProbe = SystemEnvironmentProbe(),
        memory: MemoryTracker = MemoryTracker(),
        progress: @escaping (String) -> Void = HarnessRunner.printProgress
    ) {
        self.documents = documents
        self.clock = clock
        self.environment = environment
        self.memory = memory
        self.progress = progress
    }

    /// One line on stdout, flushed: the agent streams it over DVT while the app runs.
    public static func printProgress(_ line: String) {
        print("pomar: \(line)")
        fflush(stdout)
    }

    /// Run `runId` and publish its result; returns the process exit status (0 ok, 1 error).
    public func runAndPublish(runId: String) -> Int32 {
        let folder: JobFolder
        do {
            folder = try JobFolder(documents: documents, runId: runId)
        } catch {
            progress("\(runId) refused: \(error)")
            return 2
        }
        let result = run(folder)
        do {
            try folder.publish(result)
        } catch {
            progress("\(runId) could not write result.json: \(error)")
            return 3
        }
        progress("\(runId) \(result.status == .ok ? "DONE" : "FAILED")")
        return result.status == .ok ? 0 : 1
    }

    func observe(_ phase: String) {
        thermal.record(phase, environment.thermalState())
    }

    func environmentSnapshot() -> HarnessEnvironment {
        HarnessEnvironment(
            thermalStateByPhase: thermal.byPhase, lowPowerMode: environment.lowPowerMode(),
            batteryLevel: environment.batteryLevel(), batteryState: environment.batteryState(),
            osVersion: environment.osVersion, deviceModel: environment.deviceModel,
            appVersion: environment.appVersion)
    }

    /// Say it on stdout now and in result.json later.
    func warn(_ runId: String, _ sentence: String) {
        warnings.append(sentence)
        progress("\(runId) warning: \(sentence)")
    }

    /// Measure one run; never throws: failures are results.
    public func run(_ folder: JobFolder) -> HarnessResult {
        warnings = []
        observe("start")
        memory.startPolling()
        defer { memory.stopPolling() }
        do {
            return try measure(folder)
        } catch {
            let failure = error as? HarnessFailure ?? HarnessFailure(phase: .predict, message: "\(error)")
            progress("\(folder.runId) failed in \(failure.phase.rawValue): \(failure.message)")
            observe("end")
            return HarnessResult(
                runId: folder.runId, status: .error, error: failure.description,
                errorPhase: failure.phase, environment: environmentSnapshot(), warnings: warnings)
        }
    }

    private func measure(_ folder: JobFolder) throws -> HarnessResult {
        let job = try HarnessFailure.during(.readJob) { try folder.readJob() }
        guard job.runId == folder.runId else {
            throw HarnessFailure(
                phase: .readJob, message: "job.json is for run \(job.runId), not \(folder.runId)")
        }
        progress("\(job.runId) job: \(job.computeUnit.rawValue), warmup \(job.warmup), iterations \(job.iterations)")
        let configuration = job.modelConfiguration()
        let availableBefore = ProcessMemory.availableMemory()
        let beforeLoad = memory.sample()

        let compiled = try HarnessFailure.during(.compile) {
            try ModelLoader.compiled(try folder.modelURL(job), clock: clock)
        }
        defer { compiled.discard() }
        if let compileNs = compiled.compileNs { progress("\(job.runId) compiled in \(compileNs) ns") }
        observe("compile")

        // Cold: the first load in this process (Core ML may still reuse its on-disk
        // specialization cache from an earlier launch). Warm: release it and load again.
        let coldLoadNs = try HarnessFailure.during(.load) { () -> Int64 in
            try withAutoreleasePool {
                let (_, elapsed) = try ModelLoader.load(compiled, configuration: configuration, clock: clock)
                return elapsed
            }
        }
        let (model, warmLoadNs) = try HarnessFailure.during(.load) {
            try ModelLoader.load(compiled, configuration: configuration, clock: clock)
        }
        let afterLoad = memory.sample()
        observe("load")
        progress("\(job.runId) loaded: cold \(coldLoadNs) ns, warm \(warmLoadNs) ns")

        let inputs = try HarnessFailure.during(.inputs) {
            try FeatureInputs.provider(model: model, job: job, folder: folder)
        }
        let options = MLPredictionOptions()
        var last: MLFeatureProvider?
        let timings = try HarnessFailure.during(.predict) {
            try TimingLoop.run(
                policy: TimingPolicy(job: job), clock: clock,
                predict: { last = try model.prediction(from: inputs, options: options) },
                afterEach: { phase, _ in
                    self.memory.sample()
                    self.observe(phase)
                })
        }
        let afterPredictions = memory.sample()
        if let summary = LatencySummary(samples: timings.predictionNs) {
            progress("\(job.runId) predictions: \(summary.line)")
        }
        if timings.stoppedAtMaxDuration, let cap = job.maxDurationS {
            warn(job.runId, "timed predictions stopped at max_duration_s (\(cap) s) before"
                + " min_duration_s (\(job.minDurationS) s): \(timings.predictionNs.count) samples")
        }

        let outputs = try HarnessFailure.during(.outputs) { () -> [HarnessTensor] in
            guard let prediction = last else { return [] }
            return try FeatureOutputs.write(prediction, names: job.outputNames, to: folder.outputsDirectory)
        }
        let planStart = clock.nowNanoseconds()
        let plan = computePlan(job: job, model: compiled, configuration: configuration)
        let planEnd = clock.nowNanoseconds()
        let computePlanNs: Int64? = plan == nil ? nil : Int64(planEnd &- planStart)
        observe("end")

        return HarnessResult(
            runId: job.runId, status: .ok,
            timings: HarnessTimings(
                compileNs: compiled.compileNs, coldLoadNs: coldLoadNs, warmLoadNs: warmLoadNs,
                firstPredictionNs: timings.firstPredictionNs, warmupNs: timings.warmupNs,
                predictionNs: timings.predictionNs, computePlanNs: computePlanNs),
            memory: HarnessPhaseMemory(
                beforeLoadBytes: beforeLoad, afterLoadBytes: afterLoad,
                afterPredictionsBytes: afterPredictions, peakBytes: memory.peakBytes,
                availableBeforeBytes: availableBefore, availableMinBytes: memory.minAvailableBytes),
            outputs: outputs, computePlan: plan ?? [], environment: environmentSnapshot(),
            warnings: warnings)
    }

    /// The compute plan where the OS has one, nil when none was loaded. Its absence never
    /// fails a run; a warning in result.json says why it is missing.
    private func computePlan(
        job: HarnessJob, model: CompiledModel, configuration: MLModelConfiguration
    ) -> [HarnessComputePlanOp]? {
        guard job.collectComputePlan else { return nil }
        guard #available(iOS 17.4, macOS 14.4, *) else {
            warn(job.runId, "compute plan: needs iOS 17.4, this is \(environment.osVersion)")
            return nil
        }
        do {
            let ops = try ComputePlanReport.ops(modelURL: model.url, configuration: configuration)
            progress("\(job.runId) compute plan: \(ops.count) ops")
            if ops.isEmpty {
                warn(job.runId, "compute plan: Core ML listed no ops for this model type")
            }
            return ops
        } catch {
            warn(job.runId, "compute plan unavailable: \(error)")
            return nil
        }
    }
}
#endif
