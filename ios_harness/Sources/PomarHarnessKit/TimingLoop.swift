// The measurement loop: first prediction, warm-up, then timed predictions until both the
// iteration count and the minimum duration from job.json are met, or, once the iteration count
// is met, the job's maximum duration has passed.
//
// Only the predict call sits between the two clock reads; each call runs in its own
// autorelease pool so Core ML's Objective-C temporaries do not pile up across iterations.

import Foundation

#if canImport(Darwin)
import Darwin
#endif

/// A monotonic clock in integer nanoseconds.
public protocol MonotonicClock {
    func nowNanoseconds() -> UInt64
}

#if canImport(Darwin)
/// clock_gettime_nsec_np(CLOCK_UPTIME_RAW): mach_absolute_time in nanoseconds; does not tick
/// while the device sleeps and is never adjusted by NTP.
public struct UptimeRawClock: MonotonicClock {
    public init() {}

    public func nowNanoseconds() -> UInt64 {
        clock_gettime_nsec_np(CLOCK_UPTIME_RAW)
    }
}
#endif

/// Run `body` inside an autorelease pool where the platform has one.
@inline(__always)
public func withAutoreleasePool<T>(_ body: () throws -> T) rethrows -> T {
    #if canImport(ObjectiveC)
    return try autoreleasepool(invoking: body)
    #else
    return try body()
    #endif
}

public struct TimingPolicy: Equatable {
    public let warmup: Int
    public let iterations: Int
    public let minDurationNs: UInt64
    /// From job.json's max_duration_s: the agent's cap on the timed phase, chosen to keep the
    /// run inside its timeout. It never cuts below `iterations`; nil means no cap.
    public let maxDurationNs: UInt64?

    public init(warmup: Int, iterations: Int, minDurationS: Double, maxDurationS: Double? = nil) {
        self.warmup = max(0, warmup)
        self.iterations = max(1, iterations)
        self.minDurationNs = UInt64(max(0, minDurationS) * 1e9)
        self.maxDurationNs = maxDurationS.map { UInt64(max(0, $0) * 1e9) }
    }

    public init(job: HarnessJob) {
        self.init(
            warmup: job.warmup, iterations: job.iterations, minDurationS: job.minDurationS,
            maxDurationS: job.maxDurationS)
    }

    /// Whether the timed phase is over after `count` samples and `elapsedNs` nanoseconds.
    func done(count: Int, elapsedNs: UInt64) -> Bool {
        guard count >= iterations else { return false }
        if elapsedNs >= minDurationNs { return true }
        if let cap = maxDurationNs, elapsedNs >= cap { return true }
        return false
    }
}

public struct LoopTimings: Equatable {
    public let firstPredictionNs: Int64
    public let warmupNs: [Int64]
    public let predictionNs: [Int64]
    /// True when max_duration_s ended the timed phase before min_duration_s was reached.
    public let stoppedAtMaxDuration: Bool

    public init(
        firstPredictionNs: Int64, warmupNs: [Int64], predictionNs: [Int64],
        stoppedAtMaxDuration: Bool = false
    ) {
        self.firstPredictionNs = firstPredictionNs
        self.warmupNs = warmupNs
        self.predictionNs = predictionNs
        self.stoppedAtMaxDuration = stoppedAtMaxDuration
    }
}

public enum TimingLoop {
    /// Time one call of `body`, in nanoseconds.
    @inline(__always)
    public static func time(_ clock: MonotonicClock, _ body: () throws -> Void) rethrows -> Int64 {
        try withAutoreleasePool {
            let start = clock.nowNanoseconds()
            try body()
            let end = clock.nowNanoseconds()
            return Int64(end &- start)
        }
    }

    /// First prediction, `policy.warmup` warm-up predictions, then timed predictions until at
    /// least `policy.iterations` have run and `policy.minDurationNs` has passed since the timed
    /// phase began, or the iterations have run and `policy.maxDurationNs` has passed (the cap
    /// never shortens the iteration count). `afterEach` runs outside the clock
    /// (memory sampling, thermal checks) with the phase name and the iteration index.
    public static func run(
        policy: TimingPolicy,
        clock: MonotonicClock,
        predict: () throws -> Void,
        afterEach: (String, Int) -> Void = { _, _ in }
    ) rethrows -> LoopTimings {
        let first = try time(clock, predict)
        afterEach("first_prediction", 0)
        var warmup: [Int64] = []
        warmup.reserveCapacity(policy.warmup)
        for index in 0..<policy.warmup {
            warmup.append(try time(clock, predict))
            afterEach("warmup", index)
        }
        var samples: [Int64] = []
        samples.reserveCapacity(policy.iterations)
        let phaseStart = clock.nowNanoseconds()
        var elapsed: UInt64 = 0
        while true {
            elapsed = clock.nowNanoseconds() &- phaseStart
            if policy.done(count: samples.count, elapsedNs: elapsed) { break }
            samples.append(try time(clock, predict))
            afterEach("predictions", samples.count - 1)
        }
        return LoopTimings(
            firstPredictionNs: first, warmupNs: warmup, predictionNs: samples,
            stoppedAtMaxDuration: elapsed < policy.minDurationNs)
    }
}
