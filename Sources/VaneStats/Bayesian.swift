import Foundation

/// A Gaussian prior on the effect (gbstats `GaussianPrior`). `proper == false` is the flat prior:
/// the posterior is then the data's own normal approximation.
public struct GaussianPrior: Sendable, Hashable, Codable {
    public var mean: Double
    public var variance: Double
    public var proper: Bool

    /// gbstats' default: flat.
    public static let flat = GaussianPrior(mean: 0, variance: 1, proper: false)
    /// GrowthBook's informative default: relative effects around 0 with a standard deviation of 0.3.
    public static let informative = GaussianPrior(mean: 0, variance: 0.09, proper: true)

    public init(mean: Double, variance: Double, proper: Bool) {
        self.mean = mean
        self.variance = variance
        self.proper = proper
    }
}

/// The Bayesian view of one effect (gbstats `EffectBayesianABTest`): a normal posterior on the
/// absolute or relative difference, its chance to beat control, credible interval and risk.
public struct BayesianEstimate: Sendable, Hashable, Codable {
    /// Posterior mean of the difference.
    public var expected: Double
    /// Posterior standard deviation.
    public var standardDeviation: Double
    /// Equal-tailed credible interval at 1 − alpha.
    public var lower: Double
    public var upper: Double
    /// P(treatment beats control), higher being better.
    public var chanceToWin: Double
    /// Expected loss of shipping control: E[max(difference, 0)].
    public var riskControl: Double
    /// Expected loss of shipping the treatment: E[max(−difference, 0)].
    public var riskTreatment: Double

    var isFinite: Bool {
        [expected, standardDeviation, lower, upper, chanceToWin, riskControl, riskTreatment].allSatisfy(\.isFinite)
    }
}

public enum BayesianEngine {
    /// The posterior for a difference whose data estimate is `dataMean` with variance
    /// `dataVariance`, under a prior stated on the relative scale (gbstats' `prior_type` default).
    /// For an absolute difference the prior is rescaled by the control's unadjusted mean, as gbstats does.
    public static func estimate(
        dataMean: Double, dataVariance: Double, relative: Bool, controlUnadjustedMean: Double,
        prior relativePrior: GaussianPrior, alpha: Double
    ) -> BayesianEstimate {
        var prior = relativePrior
        if !relative {
            prior.mean = relativePrior.mean * abs(controlUnadjustedMean)
            prior.variance = relativePrior.variance * controlUnadjustedMean * controlUnadjustedMean
        }
        let precision = 1 / dataVariance + (prior.proper ? 1 / prior.variance : 0)
        let mean = prior.proper ? (dataMean / dataVariance + prior.mean / prior.variance) / precision : dataMean
        let sd = (1 / precision).squareRoot()
        // β = (0 − μ)/σ; P(difference < 0) = Φ(β). The truncated-normal means of gbstats' risk
        // reduce to these closed forms, which need no division by a tail probability.
        let beta = -mean / sd
        let below = Normal.cdf(beta)
        let above = Normal.sf(beta)
        let density = Normal.pdf(beta)
        return BayesianEstimate(
            expected: mean, standardDeviation: sd,
            lower: mean + sd * Normal.quantile(alpha / 2), upper: mean + sd * Normal.quantile(1 - alpha / 2),
            chanceToWin: above,
            riskControl: max(0, mean * above + sd * density),
            riskTreatment: max(0, sd * density - mean * below))
    }
}
