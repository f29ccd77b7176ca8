import XCTest

@testable import PomarHarnessKit

/// A clock that advances by a fixed step at every read: each timed call sees exactly one step.
final class SteppingClock: MonotonicClock {
    private(set) var now: UInt64 = 0
    let step: UInt64

    init(step: UInt64) { self.step = step }

    func nowNanoseconds() -> UInt64 {
        now += step
        return now
    }
}

final class TimingTests: XCTestCase {
    func testFirstWarmupAndTimedPredictionsAreSeparate() throws {
        var calls = 0
        let timings = TimingLoop.run(
            policy: TimingPolicy(warmup: 2, iterations: 5, minDurationS: 0),
            clock: SteppingClock(step: 1_000), predict: { calls += 1 })
        XCTAssertEqual(calls, 1 + 2 + 5)
        XCTAssertEqual(timings.firstPredictionNs, 1_000)
        XCTAssertEqual(timings.warmupNs, [1_000, 1_000])
        XCTAssertEqual(timings.predictionNs.count, 5)
    }

    func testMinimumDurationExtendsTheTimedPhase() {
        // Each iteration costs two reads for the sample plus one for the elapsed check.
        let timings = TimingLoop.run(
            policy: TimingPolicy(warmup: 0, iterations: 1, minDurationS: 0.000_03),
            clock: SteppingClock(step: 1_000), predict: {})
        XCTAssertGreaterThan(timings.predictionNs.count, 1)
    }

    func testMaxDurationStopsALongMinimumDurationOnceTheIterationsAreMet() {
        // Three reads per iteration at 1 µs a read: a 30 µs cap ends the loop after ~10 samples.
        let timings = TimingLoop.run(
            policy: TimingPolicy(warmup: 0, iterations: 3, minDurationS: 1e9, maxDurationS: 0.000_03),
            clock: SteppingClock(step: 1_000), predict: {})
        XCTAssertGreaterThanOrEqual(timings.predictionNs.count, 3)
        XCTAssertLessThanOrEqual(timings.predictionNs.count, 11)
        XCTAssertTrue(timings.stoppedAtMaxDuration)
    }

    func testMaxDurationNeverCutsTheIterationCount() {
        let timings = TimingLoop.run(
            policy: TimingPolicy(warmup: 0, iterations: 50, minDurationS: 0, maxDurationS: 0.000_001),
            clock: SteppingClock(step: 1_000), predict: {})
        XCTAssertEqual(timings.predictionNs.count, 50)
        XCTAssertFalse(timings.stoppedAtMaxDuration)
    }

    func testJobWithoutMaxDurationHasNoCap() throws {
        let job = try JSONDecoder().decode(HarnessJob.self, from: Fixtures.data("job.json"))
        XCTAssertEqual(TimingPolicy(job: job).maxDurationNs, 30_000_000_000)
        let policy = TimingPolicy(warmup: 0, iterations: 1, minDurationS: 1)
        XCTAssertNil(policy.maxDurationNs)
    }

    func testAPredictionErrorStopsTheLoop() {
        struct Boom: Error {}
        var calls = 0
        XCTAssertThrowsError(
            try TimingLoop.run(
                policy: TimingPolicy(warmup: 5, iterations: 5, minDurationS: 0),
                clock: SteppingClock(step: 1),
                predict: {
                    calls += 1
                    if calls == 3 { throw Boom() }
                }))
        XCTAssertEqual(calls, 3)
    }

    func testSummaryUsesLinearInterpolatedPercentiles() throws {
        let summary = try XCTUnwrap(LatencySummary(samples: [4, 1, 3, 2, 5]))
        XCTAssertEqual(summary.minNs, 1)
        XCTAssertEqual(summary.maxNs, 5)
        XCTAssertEqual(summary.medianNs, 3)
        XCTAssertEqual(summary.p90Ns, 4.6, accuracy: 1e-9)
        XCTAssertEqual(summary.meanNs, 3)
        XCTAssertEqual(summary.stdNs, 2.0.squareRoot(), accuracy: 1e-12)
        XCTAssertNil(LatencySummary(samples: []))
    }

    func testThermalLogKeepsTheWorstStatePerPhase() {
        var log = ThermalLog()
        log.record("predictions", .nominal)
        log.record("predictions", .serious)
        log.record("predictions", .fair)
        XCTAssertEqual(log.byPhase, ["predictions": .serious])
    }

    func testMemoryTrackerKeepsPeakAndLowestHeadroom() {
        final class FakeProbe: MemoryProbe {
            var values: [(Int64, Int64)] = [(10, 100), (30, 80), (20, 90)]
            func footprint() -> Int64? { values.first?.0 }
            func available() -> Int64? { values.removeFirst().1 }
        }
        let tracker = MemoryTracker(probe: FakeProbe())
        for _ in 0..<3 { tracker.sample() }
        XCTAssertEqual(tracker.peakBytes, 30)
        XCTAssertEqual(tracker.minAvailableBytes, 80)
    }
}
