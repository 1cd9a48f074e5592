/// Result of a sample-ratio-mismatch check.
public struct SRMResult: Sendable, Hashable, Codable {
    /// Units per group, as given.
    public var observed: [Int]
    /// Units expected from the configured weights (0 for a group with weight <= 0).
    public var expected: [Double]
    /// Pearson's χ² statistic.
    public var chiSquare: Double
    /// Groups − 1.
    public var degreesOfFreedom: Int
    /// P(χ²(dof) > chiSquare); 1 when there are no units or fewer than two groups.
    public var pValue: Double
    /// Flag threshold (0.001 by default).
    public var threshold: Double
    /// pValue < threshold.
    public var isMismatch: Bool

    public init(
        observed: [Int], expected: [Double], chiSquare: Double, degreesOfFreedom: Int, pValue: Double,
        threshold: Double, isMismatch: Bool
    ) {
        self.observed = observed
        self.expected = expected
        self.chiSquare = chiSquare
        self.degreesOfFreedom = degreesOfFreedom
        self.pValue = pValue
        self.threshold = threshold
        self.isMismatch = isMismatch
    }
}

/// Sample-ratio-mismatch check: Pearson's χ² goodness of fit of the units per group against the
/// configured weights, as gbstats `check_srm` (groups with weight <= 0 are left out of the sum but
/// still count towards the degrees of freedom, which are groups − 1).
public enum SampleRatioMismatch {
    /// p-value below which a mismatch is flagged (GrowthBook, Eppo and Statsig's red alert use 0.001).
    public static let defaultThreshold = 0.001

    /// Checks `observed[i]` units against `weights[i]` (any positive scale; they need not sum to 1).
    public static func test(observed: [Int], weights: [Double], threshold: Double = defaultThreshold) -> SRMResult {
        precondition(observed.count == weights.count, "SampleRatioMismatch: one weight per group")
        let total = Double(observed.reduce(0, +))
        let totalWeight = weights.reduce(0, +)
        var expected = [Double](repeating: 0, count: observed.count)
        var chiSquare = 0.0
        if total > 0 && totalWeight > 0 {
            for i in observed.indices where weights[i] > 0 {
                let e = weights[i] / totalWeight * total
                expected[i] = e
                let d = Double(observed[i]) - e
                chiSquare += d * d / e
            }
        }
        let dof = observed.count - 1
        let p: Double
        if total > 0 && totalWeight > 0 && dof >= 1 {
            p = ChiSquared.sf(chiSquare, dof: Double(dof))
        } else {
            p = 1
        }
        return SRMResult(
            observed: observed, expected: expected, chiSquare: chiSquare, degreesOfFreedom: dof, pValue: p,
            threshold: threshold, isMismatch: p < threshold)
    }
}

/// Winsorization: cap each unit's value at a quantile of the pooled per-unit values of all groups
/// (99.9th percentile by default), computed over the non-zero values unless told otherwise
/// (Statsig computes its cap over non-zero, non-null unit values). Only the upper tail is capped.
/// Apply it to the per-unit values before building `GroupSummary`s; for ratio metrics cap the
/// numerator and the denominator values separately.
public enum Winsorization {
    public static let defaultQuantile = 0.999

    /// The q-quantile with linear interpolation between order statistics (numpy's default
    /// `method="linear"`, SQL `PERCENTILE_CONT`); nil for no values.
    public static func quantile(_ values: [Double], _ q: Double) -> Double? {
        guard !values.isEmpty, q >= 0, q <= 1 else { return nil }
        let sorted = values.sorted()
        let n = sorted.count
        let position = q * Double(n - 1)
        let lowerIndex = min(Int(position.rounded(.down)), n - 1)
        let upperIndex = min(lowerIndex + 1, n - 1)
        let t = position - Double(lowerIndex)
        let lo = sorted[lowerIndex]
        let hi = sorted[upperIndex]
        let diff = hi - lo
        // numpy's _lerp: interpolate from the nearer end.
        return t >= 0.5 ? hi - diff * (1 - t) : lo + diff * t
    }

    /// The cap for these groups' per-unit values; nil when there is nothing to compute it from.
    public static func cap(
        pooling groups: [[Double]], quantile q: Double = defaultQuantile, ignoringZeros: Bool = true
    ) -> Double? {
        var pooled: [Double] = []
        pooled.reserveCapacity(groups.reduce(0) { $0 + $1.count })
        for g in groups {
            for v in g where !v.isNaN && (!ignoringZeros || v != 0) {
                pooled.append(v)
            }
        }
        return quantile(pooled, q)
    }

    /// The values with everything above `cap` replaced by `cap`.
    public static func capped(_ values: [Double], at cap: Double) -> [Double] {
        values.map { $0 > cap ? cap : $0 }
    }

    /// Computes the cap over all groups and applies it to each.
    public static func winsorize(
        _ groups: [[Double]], quantile q: Double = defaultQuantile, ignoringZeros: Bool = true
    ) -> (groups: [[Double]], cap: Double?) {
        guard let c = cap(pooling: groups, quantile: q, ignoringZeros: ignoringZeros) else { return (groups, nil) }
        return (groups.map { capped($0, at: c) }, c)
    }
}
