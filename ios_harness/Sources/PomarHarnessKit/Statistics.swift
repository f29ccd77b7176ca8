// Summary statistics of latency samples, for the progress line and the tests. The agent
// recomputes everything from the raw samples in result.json; percentiles here use the same
// method as the host (linear interpolation between order statistics, numpy's default).

import Foundation

public struct LatencySummary: Equatable {
    public let count: Int
    public let minNs: Int64
    public let maxNs: Int64
    public let meanNs: Double
    /// Population standard deviation, as numpy's default std.
    public let stdNs: Double
    public let medianNs: Double
    public let p90Ns: Double
    public let p99Ns: Double

    /// nil for no samples: there is no honest summary of nothing.
    public init?(samples: [Int64]) {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let n = Double(sorted.count)
        let mean = sorted.reduce(0.0) { $0 + Double($1) } / n
        let variance = sorted.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        count = sorted.count
        minNs = sorted[0]
        maxNs = sorted[sorted.count - 1]
        meanNs = mean
        stdNs = variance.squareRoot()
        medianNs = LatencySummary.percentile(sorted, 0.5)
        p90Ns = LatencySummary.percentile(sorted, 0.9)
        p99Ns = LatencySummary.percentile(sorted, 0.99)
    }

    /// Linear interpolation between the order statistics around `q * (n - 1)`.
    public static func percentile(_ sorted: [Int64], _ q: Double) -> Double {
        precondition(!sorted.isEmpty && q >= 0 && q <= 1)
        let position = Double(sorted.count - 1) * q
        let lower = Int(position.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        let fraction = position - Double(lower)
        return Double(sorted[lower]) + (Double(sorted[upper]) - Double(sorted[lower])) * fraction
    }

    /// "n=100 median=1.802 ms p90=1.830 ms min=1.790 ms" for stdout.
    public var line: String {
        func ms(_ ns: Double) -> String { String(format: "%.3f ms", ns / 1e6) }
        return "n=\(count) median=\(ms(medianNs)) p90=\(ms(p90Ns)) min=\(ms(Double(minNs)))"
            + " max=\(ms(Double(maxNs)))"
    }
}
