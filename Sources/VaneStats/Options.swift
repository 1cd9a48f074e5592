/// When a comparison has too little data for an interval. Intervals and p-values are withheld
/// (status `.insufficientSample`, with the reason) until every group passes; group means are
/// still reported.
public struct MinimumSampleRule: Sendable, Hashable, Codable {
    /// Units per group, every metric kind.
    public var minUnitsPerGroup: Int
    /// Conversion metrics: units with a conversion, per group.
    public var minConversionsPerGroup: Int
    /// Conversion metrics: units without a conversion, per group (the normal approximation needs
    /// both counts, so a rate near 100 % is held back as well as one near 0 %).
    public var minNonConversionsPerGroup: Int

    public init(minUnitsPerGroup: Int = 100, minConversionsPerGroup: Int = 30, minNonConversionsPerGroup: Int = 30) {
        self.minUnitsPerGroup = minUnitsPerGroup
        self.minConversionsPerGroup = minConversionsPerGroup
        self.minNonConversionsPerGroup = minNonConversionsPerGroup
    }

    /// 100 units per group; conversion metrics also 30 conversions and 30 non-conversions.
    public static let standard = MinimumSampleRule()

    /// No minimum (a group still needs two units and some variance to be compared).
    public static let disabled = MinimumSampleRule(minUnitsPerGroup: 0, minConversionsPerGroup: 0, minNonConversionsPerGroup: 0)

    /// Why `summary` (named `group`) is too small, one sentence per unmet threshold; empty when it passes.
    public func shortfalls(_ summary: GroupSummary, group: String, kind: MetricKind) -> [String] {
        var out: [String] = []
        if summary.count < minUnitsPerGroup {
            out.append(
                "\(group) has \(summary.count) units; at least \(minUnitsPerGroup) per group are needed before intervals are shown"
            )
        }
        if kind == .conversion {
            let conversions = summary.sum
            let nonConversions = Double(summary.count) - summary.sum
            if conversions < Double(minConversionsPerGroup) {
                out.append(
                    "\(group) has \(formatCount(conversions)) conversions; at least \(minConversionsPerGroup) per group are needed before intervals are shown"
                )
            }
            if nonConversions < Double(minNonConversionsPerGroup) {
                out.append(
                    "\(group) has \(formatCount(nonConversions)) units without a conversion; at least \(minNonConversionsPerGroup) per group are needed before intervals are shown"
                )
            }
        }
        return out
    }
}

/// When CUPED (regression adjustment on each unit's pre-exposure value) is used.
public struct CUPEDPolicy: Sendable, Hashable, Codable {
    /// Use CUPED when the summaries carry pre-exposure data.
    public var enabled: Bool
    /// Units with pre-exposure data, both groups together.
    public var minUnitsWithPreData: Int
    /// Share of each group's units that have pre-exposure data.
    public var minFractionWithPreData: Double

    public init(enabled: Bool = true, minUnitsWithPreData: Int = 100, minFractionWithPreData: Double = 0.05) {
        self.enabled = enabled
        self.minUnitsWithPreData = minUnitsWithPreData
        self.minFractionWithPreData = minFractionWithPreData
    }

    /// Why CUPED is skipped for these two groups, or nil when the pre-period data is sufficient.
    public func thinDataReason(control: GroupSummary, treatment: GroupSummary) -> String? {
        let pooled = control.covariateCount + treatment.covariateCount
        if pooled < minUnitsWithPreData {
            return "CUPED skipped: \(pooled) units have pre-exposure data; at least \(minUnitsWithPreData) are needed"
        }
        for (name, s) in [("control", control), ("treatment", treatment)] {
            let fraction = s.count > 0 ? Double(s.covariateCount) / Double(s.count) : 0
            if fraction < minFractionWithPreData {
                return "CUPED skipped: \(formatPercent(fraction)) of \(name) units have pre-exposure data; at least \(formatPercent(minFractionWithPreData)) are needed"
            }
        }
        return nil
    }
}

/// Settings of one comparison.
public struct AnalysisOptions: Sendable, Hashable, Codable {
    /// Two-sided significance level before correction (interval level 1 − alpha).
    public var alpha: Double
    /// Use gbstats' sequential test (always-valid intervals and p-values) instead of the fixed-horizon Welch t-test.
    public var sequential: Bool
    /// gbstats' `sequential_tuning_parameter` N* (the sample size the sequence is tuned for).
    public var sequentialTuningParameter: Double
    /// Bonferroni: number of comparisons the family-wise alpha is split over (e.g. metrics in the
    /// scorecard, times treatment groups if wanted). 1 = no correction.
    public var comparisons: Int
    public var cuped: CUPEDPolicy
    public var minimumSample: MinimumSampleRule
    /// When set, each effect also gets the Bayesian view under this prior (stated on the relative scale).
    public var bayesianPrior: GaussianPrior?

    public init(
        alpha: Double = 0.05, sequential: Bool = false, sequentialTuningParameter: Double = 5000,
        comparisons: Int = 1, cuped: CUPEDPolicy = CUPEDPolicy(), minimumSample: MinimumSampleRule = .standard
    ) {
        self.alpha = alpha
        self.sequential = sequential
        self.sequentialTuningParameter = sequentialTuningParameter
        self.comparisons = comparisons
        self.cuped = cuped
        self.minimumSample = minimumSample
    }

    /// alpha / comparisons: the level intervals are drawn at and raw p-values are judged against.
    public var adjustedAlpha: Double { Bonferroni.adjustedAlpha(alpha, comparisons: comparisons) }
}

/// How p-values are corrected when many metrics and groups are tested at once.
public enum MultipleComparisonCorrection: String, Sendable, Codable, CaseIterable {
    case none
    /// Controls the chance of any false positive: alpha is split over the comparisons, and the
    /// intervals are widened to match.
    case bonferroni
    /// Controls the expected share of false positives among the significant results (the
    /// Benjamini–Hochberg step-up procedure). Intervals are not adjusted, as in GrowthBook.
    case benjaminiHochberg = "benjamini-hochberg"
}

/// Benjamini–Hochberg false-discovery-rate adjustment.
public enum BenjaminiHochberg {
    /// Adjusted p-values, in the order given: the i-th smallest of m becomes
    /// min over j ≥ i of (m / j) · p₍ⱼ₎, capped at 1 (`scipy.stats.false_discovery_control`, "bh").
    /// A p-value is significant at false discovery rate q when its adjusted value is below q.
    public static func adjustedPValues(_ p: [Double]) -> [Double] {
        let m = p.count
        guard m > 1 else { return p.map { min(1, $0) } }
        let order = p.indices.sorted { p[$0] < p[$1] }
        var adjusted = [Double](repeating: 1, count: m)
        var running = 1.0
        for rank in stride(from: m, through: 1, by: -1) {
            let i = order[rank - 1]
            running = min(running, p[i] * Double(m) / Double(rank))
            adjusted[i] = min(1, running)
        }
        return adjusted
    }
}

/// Bonferroni correction over k comparisons.
public enum Bonferroni {
    /// alpha / k (k < 1 is treated as 1).
    public static func adjustedAlpha(_ alpha: Double, comparisons: Int) -> Double {
        alpha / Double(max(1, comparisons))
    }

    /// min(1, k·p).
    public static func adjustedPValue(_ p: Double, comparisons: Int) -> Double {
        min(1, p * Double(max(1, comparisons)))
    }
}

func formatCount(_ x: Double) -> String {
    if x.isFinite && x == x.rounded() && abs(x) < 1e15 { return String(Int(x)) }
    return String(x)
}

func formatPercent(_ fraction: Double) -> String {
    guard fraction.isFinite, abs(fraction) < 1e12 else { return String(fraction) }
    let tenths = (fraction * 1000).rounded()
    if tenths == (tenths / 10).rounded() * 10 { return "\(Int(tenths / 10))%" }
    return "\(tenths / 10)%"
}
