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

    func testSampleCeilingStopsAnEndlessMinimumDuration() {
        let timings = TimingLoop.run(
            policy: TimingPolicy(warmup: 0, iterations: 3, minDurationS: 1e9, maxSamples: 10),
            clock: SteppingClock(step: 1), predict: {})
        XCTAssertEqual(timings.predictionNs.count, 10)
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
