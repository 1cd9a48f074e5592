import Foundation

/// One group's numbers in a comparison.
public struct GroupResult: Sendable, Hashable, Codable {
    /// Units (N).
    public var units: Int
    /// Unadjusted group value: mean per unit, conversion rate, or Σ numerator / Σ denominator.
    public var mean: Double
    /// Unit-level variance, unadjusted: sample variance (N − 1) for mean metrics, p(1 − p) for
    /// conversion, the delta-method unit variance for ratio metrics. The variance of the group
    /// mean is `variance / units`.
    public var variance: Double
    /// √variance (0 when the variance is not positive).
    public var standardDeviation: Double
    /// CUPED-adjusted mean, x̄ − θ·x̄_pre (nil without CUPED).
    public var adjustedMean: Double?
    /// CUPED-adjusted unit variance, var(x) + θ²var(x_pre) − 2θ·cov(x, x_pre) (nil without CUPED).
    public var adjustedVariance: Double?
    /// Units with pre-exposure data.
    public var unitsWithPreData: Int

    public init(
        units: Int, mean: Double, variance: Double, standardDeviation: Double, adjustedMean: Double?,
        adjustedVariance: Double?, unitsWithPreData: Int
    ) {
        self.units = units
        self.mean = mean
        self.variance = variance
        self.standardDeviation = standardDeviation
        self.adjustedMean = adjustedMean
        self.adjustedVariance = adjustedVariance
        self.unitsWithPreData = unitsWithPreData
    }
}

/// An effect estimate with its two-sided interval and p-value.
public struct Estimate: Sendable, Hashable, Codable {
    /// Absolute: treatment − control. Relative: (treatment − control) / control.
    public var estimate: Double
    /// √ of the variance of the estimate.
    public var standardError: Double
    /// Interval at level 1 − adjustedAlpha.
    public var lower: Double
    public var upper: Double
    /// Two-sided p-value of this estimate, before multiple-comparison correction.
    public var pValue: Double
    /// Bonferroni-adjusted (min(1, comparisons · pValue)), or Benjamini–Hochberg-adjusted across
    /// the results when they ask for it. Equals `pValue` without a correction.
    public var adjustedPValue: Double
    /// Welch–Satterthwaite degrees of freedom (nil for the sequential test, which uses none).
    public var degreesOfFreedom: Double?

    public init(
        estimate: Double, standardError: Double, lower: Double, upper: Double, pValue: Double,
        adjustedPValue: Double, degreesOfFreedom: Double?
    ) {
        self.estimate = estimate
        self.standardError = standardError
        self.lower = lower
        self.upper = upper
        self.pValue = pValue
        self.adjustedPValue = adjustedPValue
        self.degreesOfFreedom = degreesOfFreedom
    }
}

/// Which test produced the intervals and p-values.
public enum TestMethod: String, Sendable, Codable {
    /// Fixed-horizon two-sided Welch t-test (gbstats `TwoSidedTTest`).
    case welchT = "welch_t"
    /// Always-valid asymptotic confidence sequence of Waudby-Smith et al. (gbstats `SequentialTwoSidedTTest`).
    case sequential
}

/// Whether intervals could be shown.
public enum ResultStatus: String, Sendable, Codable {
    case ok
    /// The minimum-sample rule is not met; `reason` says which group lacks what.
    case insufficientSample = "insufficient_sample"
    /// The data cannot be compared (zero variance, zero denominator); `reason` says why.
    case notComputable = "not_computable"
}

/// What CUPED did.
public struct CUPEDInfo: Sendable, Hashable, Codable {
    /// True when the estimates use the regression-adjusted statistics.
    public var applied: Bool
    /// Pooled θ (when applied).
    public var theta: Double?
    /// Why CUPED was not applied, when pre-exposure data was supplied but not used.
    public var note: String?

    public init(applied: Bool = false, theta: Double? = nil, note: String? = nil) {
        self.applied = applied
        self.theta = theta
        self.note = note
    }
}

/// Control versus one treatment for one metric.
public struct EffectResult: Sendable, Hashable, Codable {
    public var kind: MetricKind
    public var control: GroupResult
    public var treatment: GroupResult
    /// treatment − control; nil unless `status == .ok`.
    public var absolute: Estimate?
    /// (treatment − control) / control with the delta-method variance; nil unless `status == .ok`
    /// and the control mean is non-zero.
    public var relative: Estimate?
    public var method: TestMethod
    /// N* of the sequential test (nil for the fixed-horizon test).
    public var sequentialTuningParameter: Double?
    /// Nominal two-sided alpha.
    public var alpha: Double
    /// alpha / comparisons (Bonferroni); the intervals are at 1 − adjustedAlpha.
    public var adjustedAlpha: Double
    public var comparisons: Int
    public var cuped: CUPEDInfo
    public var status: ResultStatus
    /// Why there are no intervals (status not `.ok`).
    public var reason: String?
    /// Everything else worth showing next to the numbers (CUPED skipped, relative lift undefined, …).
    public var notes: [String]
    /// The Bayesian view of the same data, when the options ask for it (`bayesianPrior`).
    public var bayesian: BayesianResult?

    /// The decision statistic is the p-value of the absolute difference (as in Statsig's Pulse):
    /// significant when its adjusted p-value is below alpha. Without a correction or with
    /// Bonferroni, that is when the absolute interval excludes 0.
    public var isSignificant: Bool {
        guard let a = absolute else { return false }
        return a.adjustedPValue < alpha
    }
}

/// Chance to win, risk and credible intervals (gbstats' `EffectBayesianABTest`), absolute and relative.
public struct BayesianResult: Sendable, Hashable, Codable {
    public var prior: GaussianPrior
    public var absolute: BayesianEstimate?
    public var relative: BayesianEstimate?
}

/// The statistics engine: compares a treatment group with the control group for one metric.
public enum StatsEngine {
    /// Compares `treatment` with `control`. With several treatment groups, call once per
    /// treatment (each against the same control), as gbstats does.
    public static func compare(
        control: GroupSummary, treatment: GroupSummary, kind: MetricKind,
        options: AnalysisOptions = AnalysisOptions()
    ) -> EffectResult {
        let comparisons = max(1, options.comparisons)
        let adjustedAlpha = Bonferroni.adjustedAlpha(options.alpha, comparisons: comparisons)
        var notes: [String] = []

        // CUPED: only when pre-exposure data was supplied, the metric is not a ratio, and the data is not thin.
        var cuped = CUPEDInfo()
        var useCovariate = false
        if options.cuped.enabled && (control.hasCovariate || treatment.hasCovariate) {
            if kind == .ratio {
                cuped.note = "CUPED not applied: ratio metrics are analysed without regression adjustment (as gbstats 0.8.0 does)"
            } else if let thin = options.cuped.thinDataReason(control: control, treatment: treatment) {
                cuped.note = thin
            } else {
                useCovariate = true
            }
        }
        var a = GroupStatistic.make(control, kind: kind, withCovariate: useCovariate)
        var b = GroupStatistic.make(treatment, kind: kind, withCovariate: useCovariate)
        if useCovariate {
            let theta = pooledTheta(a, b)
            if theta == 0 || !theta.isFinite {
                a = a.withoutAdjustment
                b = b.withoutAdjustment
                cuped.note = "CUPED skipped: the pre-exposure values or the metric do not vary across units (θ = 0)"
            } else {
                a = a.with(theta: theta)
                b = b.with(theta: theta)
                cuped.applied = true
                cuped.theta = theta
            }
        }
        if let note = cuped.note { notes.append(note) }

        var result = EffectResult(
            kind: kind,
            control: groupResult(control, a, adjusted: cuped.applied),
            treatment: groupResult(treatment, b, adjusted: cuped.applied),
            absolute: nil, relative: nil,
            method: options.sequential ? .sequential : .welchT,
            sequentialTuningParameter: options.sequential ? options.sequentialTuningParameter : nil,
            alpha: options.alpha, adjustedAlpha: adjustedAlpha, comparisons: comparisons,
            cuped: cuped, status: .ok, reason: nil, notes: notes)

        // Minimum-sample rule.
        let shortfalls = options.minimumSample.shortfalls(control, group: "control", kind: kind)
            + options.minimumSample.shortfalls(treatment, group: "treatment", kind: kind)
        if !shortfalls.isEmpty {
            result.status = .insufficientSample
            result.reason = shortfalls.joined(separator: "; ")
            return result
        }

        // Things that make any comparison meaningless.
        var problems: [String] = []
        if kind == .ratio {
            if control.denominatorSum == 0 { problems.append("the denominator sum is 0 in control") }
            if treatment.denominatorSum == 0 { problems.append("the denominator sum is 0 in treatment") }
        }
        if problems.isEmpty {
            if !(a.variance > 0) { problems.append("the variance is 0 in control (every unit has the same value)") }
            if !(b.variance > 0) { problems.append("the variance is 0 in treatment (every unit has the same value)") }
        }
        if !problems.isEmpty {
            result.status = .notComputable
            result.reason = problems.joined(separator: "; ")
            return result
        }

        let tuning: Double? = options.sequential ? options.sequentialTuningParameter : nil
        result.absolute = estimate(
            a, b, relative: false, alpha: adjustedAlpha, comparisons: comparisons, sequentialTuning: tuning)
        if a.unadjustedMean == 0 || a.mean == 0 {
            result.notes.append("relative lift undefined: the control mean is 0")
        } else {
            result.relative = estimate(
                a, b, relative: true, alpha: adjustedAlpha, comparisons: comparisons, sequentialTuning: tuning)
        }
        if let prior = options.bayesianPrior {
            // A proper prior is stated relative to the control mean; with that mean 0 it has no
            // absolute scale (gbstats divides by zero there), so the absolute posterior is left out.
            if prior.proper, a.unadjustedMean == 0, result.absolute != nil {
                result.notes.append("Bayesian absolute effect not computed: the prior is relative to the control mean, which is 0")
            }
            func bayes(_ e: Estimate?, relative: Bool) -> BayesianEstimate? {
                guard let e, relative || !prior.proper || a.unadjustedMean != 0 else { return nil }
                let posterior = BayesianEngine.estimate(
                    dataMean: e.estimate, dataVariance: e.standardError * e.standardError, relative: relative,
                    controlUnadjustedMean: a.unadjustedMean, prior: prior, alpha: options.alpha)
                // Never a non-finite number: it would not encode, and the whole comparison with it.
                return posterior.isFinite ? posterior : nil
            }
            result.bayesian = BayesianResult(
                prior: prior, absolute: bayes(result.absolute, relative: false), relative: bayes(result.relative, relative: true))
        }
        return result
    }

    static func groupResult(_ s: GroupSummary, _ stat: GroupStatistic, adjusted: Bool) -> GroupResult {
        let v = stat.unadjustedVariance
        return GroupResult(
            units: s.count, mean: stat.unadjustedMean, variance: v, standardDeviation: v > 0 ? v.squareRoot() : 0,
            adjustedMean: adjusted ? stat.mean : nil, adjustedVariance: adjusted ? stat.variance : nil,
            unitsWithPreData: s.covariateCount)
    }

    /// gbstats `TTest` / `TwoSidedTTest` / `SequentialTwoSidedTTest`, relative or absolute.
    /// `alpha` is the (already Bonferroni-adjusted) two-sided level.
    static func estimate(
        _ a: GroupStatistic, _ b: GroupStatistic, relative: Bool, alpha: Double, comparisons: Int,
        sequentialTuning: Double?
    ) -> Estimate {
        let na = a.n
        let nb = b.n
        let va = a.variance
        let vb = b.variance
        let ua = a.unadjustedMean
        let ub = b.unadjustedMean

        let point: Double
        let variance: Double
        if relative {
            point = (b.mean - a.mean) / ua
            let ua2 = ua * ua
            let treatmentTerm: Double = vb / (ua2 * nb)
            let controlTerm: Double = va * (ub * ub) / (ua2 * ua2 * na)
            variance = treatmentTerm + controlTerm
        } else {
            point = b.mean - a.mean
            variance = vb / nb + va / na
        }
        let standardError = variance.squareRoot()

        if let tuning = sequentialTuning {
            // Waudby-Smith et al. (2023), eqs. 9, 155 and 161, as gbstats 0.8.0 writes them.
            let n = na + nb
            let minusTwoLogAlpha: Double = -2 * log(alpha)
            let rho2 = (minusTwoLogAlpha + log(minusTwoLogAlpha + 1)) / tuning
            let nRho2Plus1 = n * rho2 + 1
            let logTerm: Double = log(nRho2Plus1.squareRoot() / alpha)
            let widthFactor: Double = 2 * nRho2Plus1 * logTerm / (n * n * rho2)
            let halfWidth = (variance * n).squareRoot() * widthFactor.squareRoot()
            let st2: Double = point * point * n / variance
            let logEValue: Double = rho2 * st2 / (2 * nRho2Plus1) - 0.5 * log(nRho2Plus1)
            let p = min(1, exp(-logEValue))
            return Estimate(
                estimate: point, standardError: standardError, lower: point - halfWidth, upper: point + halfWidth,
                pValue: p, adjustedPValue: Bonferroni.adjustedPValue(p, comparisons: comparisons),
                degreesOfFreedom: nil)
        }

        // Welch–Satterthwaite on the unit variances, for both the absolute and the relative test.
        let sa = va / na
        let sb = vb / nb
        let pooled = sb + sa
        let dofDenominator: Double = sb * sb / (nb - 1) + sa * sa / (na - 1)
        let dof = pooled * pooled / dofDenominator
        let critical = StudentT.inverseSF(alpha / 2, dof: dof)
        let halfWidth = critical * standardError
        let p = StudentT.twoSidedPValue(point / standardError, dof: dof)
        return Estimate(
            estimate: point, standardError: standardError, lower: point - halfWidth, upper: point + halfWidth,
            pValue: p, adjustedPValue: Bonferroni.adjustedPValue(p, comparisons: comparisons),
            degreesOfFreedom: dof)
    }
}
