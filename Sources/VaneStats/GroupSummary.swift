/// How a metric's per-unit values are summarised and compared.
public enum MetricKind: String, Sendable, Codable, CaseIterable {
    /// Mean of a per-unit value: event count, sum (revenue…), or any per-unit number.
    /// Unit variance: sample variance with N − 1 (gbstats `SampleMeanStatistic`).
    case mean
    /// Per-unit 0/1 outcome; the group value is a proportion. Unit variance: p(1 − p), the
    /// population (N) form, exactly as gbstats `ProportionStatistic`.
    case conversion
    /// Σ numerator / Σ denominator over units (events per session, revenue per order…), with the
    /// delta-method unit variance of gbstats `RatioStatistic` (N − 1 variances and covariance).
    case ratio
}

/// Sufficient statistics of one group (variant) for one metric, built from per-unit values.
///
/// Every field is a plain sum, so two summaries of disjoint sets of units merge by adding
/// (`merge(_:)`, `+`), and a store can keep these columns per (experiment, metric, group) and
/// update them incrementally. Field names follow GrowthBook's query columns
/// (`count`, `main_sum`, `main_sum_squares`, `denominator_sum`, …).
///
/// - Mean and conversion metrics use `count`, `sum`, `sumSquares` (for 0/1 values Σx² = Σx).
/// - Ratio metrics also use the `denominator*` fields and `mainDenominatorSumProduct` (Σ x·d).
/// - CUPED uses the `covariate*` fields: the unit's value of the same metric over the 7 days
///   before its own exposure. A unit without pre-period data contributes 0 to the covariate sums
///   (as GrowthBook's SQL does) and is not counted in `covariateCount`.
public struct GroupSummary: Sendable, Hashable, Codable {
    /// Units (N).
    public var count: Int
    /// Σ x.
    public var sum: Double
    /// Σ x².
    public var sumSquares: Double
    /// Σ d (ratio metrics).
    public var denominatorSum: Double
    /// Σ d² (ratio metrics).
    public var denominatorSumSquares: Double
    /// Σ x·d (ratio metrics).
    public var mainDenominatorSumProduct: Double
    /// Units that have pre-exposure (covariate) data.
    public var covariateCount: Int
    /// Σ x_pre.
    public var covariateSum: Double
    /// Σ x_pre².
    public var covariateSumSquares: Double
    /// Σ x·x_pre.
    public var mainCovariateSumProduct: Double

    public init(
        count: Int = 0, sum: Double = 0, sumSquares: Double = 0,
        denominatorSum: Double = 0, denominatorSumSquares: Double = 0, mainDenominatorSumProduct: Double = 0,
        covariateCount: Int = 0, covariateSum: Double = 0, covariateSumSquares: Double = 0,
        mainCovariateSumProduct: Double = 0
    ) {
        self.count = count
        self.sum = sum
        self.sumSquares = sumSquares
        self.denominatorSum = denominatorSum
        self.denominatorSumSquares = denominatorSumSquares
        self.mainDenominatorSumProduct = mainDenominatorSumProduct
        self.covariateCount = covariateCount
        self.covariateSum = covariateSum
        self.covariateSumSquares = covariateSumSquares
        self.mainCovariateSumProduct = mainCovariateSumProduct
    }

    /// A summary of per-unit values. `denominators` (ratio metrics) and `preValues` (CUPED; `nil`
    /// for a unit without pre-exposure data) must have the same length as `values` when given.
    public init(values: [Double], denominators: [Double]? = nil, preValues: [Double?]? = nil) {
        precondition(denominators == nil || denominators!.count == values.count,
                     "GroupSummary: denominators must have one entry per unit")
        precondition(preValues == nil || preValues!.count == values.count,
                     "GroupSummary: preValues must have one entry per unit")
        self.init()
        for i in values.indices {
            let pre: Double? = preValues.flatMap { $0[i] }
            add(values[i], denominator: denominators?[i], preValue: pre)
        }
    }

    /// Adds one unit.
    public mutating func add(_ value: Double, denominator: Double? = nil, preValue: Double? = nil) {
        count += 1
        sum += value
        sumSquares += value * value
        if let d = denominator {
            denominatorSum += d
            denominatorSumSquares += d * d
            mainDenominatorSumProduct += value * d
        }
        if let pre = preValue {
            covariateCount += 1
            covariateSum += pre
            covariateSumSquares += pre * pre
            mainCovariateSumProduct += value * pre
        }
    }

    /// Adds the units of another summary (disjoint units of the same group and metric).
    public mutating func merge(_ other: GroupSummary) {
        count += other.count
        sum += other.sum
        sumSquares += other.sumSquares
        denominatorSum += other.denominatorSum
        denominatorSumSquares += other.denominatorSumSquares
        mainDenominatorSumProduct += other.mainDenominatorSumProduct
        covariateCount += other.covariateCount
        covariateSum += other.covariateSum
        covariateSumSquares += other.covariateSumSquares
        mainCovariateSumProduct += other.mainCovariateSumProduct
    }

    /// This summary plus another.
    public func merging(_ other: GroupSummary) -> GroupSummary {
        var copy = self
        copy.merge(other)
        return copy
    }

    public static func + (lhs: GroupSummary, rhs: GroupSummary) -> GroupSummary {
        lhs.merging(rhs)
    }

    /// A summary of all units of several summaries.
    public static func merged<S: Sequence>(_ summaries: S) -> GroupSummary where S.Element == GroupSummary {
        var total = GroupSummary()
        for s in summaries { total.merge(s) }
        return total
    }

    /// True when any unit had pre-exposure data.
    public var hasCovariate: Bool { covariateCount > 0 }
}

// MARK: - gbstats' statistics, from the sums

/// gbstats `SampleMeanStatistic` / `ProportionStatistic`.
struct BaseStatistic: Sendable, Equatable {
    var n: Double
    var sum: Double
    var sumSquares: Double
    var isProportion: Bool

    var mean: Double { n == 0 ? 0 : sum / n }

    var variance: Double {
        if isProportion {
            let p = mean
            return p * (1 - p)
        }
        if n <= 1 { return 0 }
        return (sumSquares - sum * sum / n) / (n - 1)
    }

    /// Both groups' units together (gbstats `create_joint_statistic`).
    static func joint(_ a: BaseStatistic, _ b: BaseStatistic) -> BaseStatistic {
        BaseStatistic(
            n: a.n + b.n, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares,
            isProportion: a.isProportion)
    }
}

/// The statistic of one group as the tests see it: gbstats `SampleMeanStatistic`,
/// `ProportionStatistic`, `RatioStatistic` or `RegressionAdjustedStatistic`.
enum GroupStatistic: Sendable, Equatable {
    case base(BaseStatistic)
    case ratio(n: Double, numerator: BaseStatistic, denominator: BaseStatistic, sumProduct: Double)
    case regressionAdjusted(n: Double, post: BaseStatistic, pre: BaseStatistic, sumProduct: Double, theta: Double)

    var n: Double {
        switch self {
        case .base(let s): return s.n
        case .ratio(let n, _, _, _): return n
        case .regressionAdjusted(let n, _, _, _, _): return n
        }
    }

    /// The (adjusted) mean.
    var mean: Double {
        switch self {
        case .base(let s):
            return s.mean
        case .ratio(_, let m, let d, _):
            return d.sum == 0 ? 0 : m.sum / d.sum
        case .regressionAdjusted(_, let post, let pre, _, let theta):
            return post.mean - theta * pre.mean
        }
    }

    /// The mean without regression adjustment.
    var unadjustedMean: Double {
        switch self {
        case .regressionAdjusted(_, let post, _, _, _): return post.mean
        default: return mean
        }
    }

    /// Covariance of the two parts (numerator/denominator or post/pre), N − 1.
    var covariance: Double {
        switch self {
        case .base:
            return 0
        case .ratio(let n, let m, let d, let sp):
            if n <= 1 { return 0 }
            return (sp - m.sum * d.sum / n) / (n - 1)
        case .regressionAdjusted(let n, let post, let pre, let sp, _):
            if n <= 1 { return 0 }
            return (sp - post.sum * pre.sum / n) / (n - 1)
        }
    }

    /// Unit-level variance (adjusted for CUPED).
    var variance: Double {
        switch self {
        case .base(let s):
            return s.variance
        case .ratio(let n, let m, let d, _):
            let dm = d.mean
            if dm == 0 || n <= 1 { return 0 }
            let mm = m.mean
            let dm2 = dm * dm
            let numeratorTerm: Double = m.variance / dm2
            let covarianceTerm: Double = 2 * covariance * mm / (dm2 * dm)
            let denominatorTerm: Double = mm * mm * d.variance / (dm2 * dm2)
            return numeratorTerm - covarianceTerm + denominatorTerm
        case .regressionAdjusted(let n, let post, let pre, _, let theta):
            if n <= 1 { return 0 }
            let preTerm: Double = theta * theta * pre.variance
            let covarianceTerm: Double = 2 * theta * covariance
            return post.variance + preTerm - covarianceTerm
        }
    }

    /// Unit-level variance without the CUPED adjustment.
    var unadjustedVariance: Double {
        switch self {
        case .regressionAdjusted(_, let post, _, _, _): return post.variance
        default: return variance
        }
    }

    static func make(_ s: GroupSummary, kind: MetricKind, withCovariate: Bool) -> GroupStatistic {
        let n = Double(s.count)
        let main = BaseStatistic(n: n, sum: s.sum, sumSquares: s.sumSquares, isProportion: kind == .conversion)
        switch kind {
        case .ratio:
            let den = BaseStatistic(
                n: n, sum: s.denominatorSum, sumSquares: s.denominatorSumSquares, isProportion: false)
            return .ratio(n: n, numerator: main, denominator: den, sumProduct: s.mainDenominatorSumProduct)
        case .mean, .conversion:
            guard withCovariate else { return .base(main) }
            let pre = BaseStatistic(
                n: n, sum: s.covariateSum, sumSquares: s.covariateSumSquares, isProportion: kind == .conversion)
            return .regressionAdjusted(n: n, post: main, pre: pre, sumProduct: s.mainCovariateSumProduct, theta: 0)
        }
    }

    /// The same statistic with θ set (regression-adjusted only).
    func with(theta: Double) -> GroupStatistic {
        if case .regressionAdjusted(let n, let post, let pre, let sp, _) = self {
            return .regressionAdjusted(n: n, post: post, pre: pre, sumProduct: sp, theta: theta)
        }
        return self
    }

    /// The unadjusted statistic (CUPED dropped).
    var withoutAdjustment: GroupStatistic {
        if case .regressionAdjusted(_, let post, _, _, _) = self { return .base(post) }
        return self
    }
}

/// gbstats `compute_theta`: θ = cov(post, pre) / var(pre) over both groups' units pooled
/// (total, not within-group, moments); 0 when either pooled variance is 0.
func pooledTheta(_ a: GroupStatistic, _ b: GroupStatistic) -> Double {
    guard case .regressionAdjusted(let na, let postA, let preA, let spA, _) = a,
        case .regressionAdjusted(let nb, let postB, let preB, let spB, _) = b
    else { return 0 }
    let n = na + nb
    let post = BaseStatistic.joint(postA, postB)
    let pre = BaseStatistic.joint(preA, preB)
    if pre.variance <= 0 || post.variance <= 0 { return 0 }
    let joint = GroupStatistic.regressionAdjusted(n: n, post: post, pre: pre, sumProduct: spA + spB, theta: 0)
    return joint.covariance / pre.variance
}
