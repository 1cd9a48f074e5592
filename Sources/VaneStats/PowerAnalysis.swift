import Foundation

/// Sample size and minimum detectable effect for a two-sided z-test of each treatment's mean
/// against control's, as an experiment's setup page estimates them before it starts.
///
/// With a unit-level standard deviation σ, group shares w_c (control) and w_t, and n units in
/// all, the difference of means has standard error σ·√(1/(n·w_c) + 1/(n·w_t)); an effect δ is
/// detected with probability 1 − β at level α when δ ≥ (z₁₋α/₂ + z₁₋β)·SE. The treatment with the
/// smallest share decides, since it gets the widest interval.
public struct PowerAnalysis: Sendable, Equatable {
    public var mean: Double
    public var standardDeviation: Double
    /// Group shares, control first (any positive scale: they are normalised).
    public var weights: [Double]
    public var alpha: Double
    public var power: Double

    public init(mean: Double, standardDeviation: Double, weights: [Double], alpha: Double = 0.05, power: Double = 0.8) {
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.weights = weights
        self.alpha = alpha
        self.power = power
    }

    public struct InputError: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    public func validate() throws {
        guard mean.isFinite, mean != 0 else { throw InputError(description: "mean: the baseline mean must be a finite number other than 0 (the effect is relative to it)") }
        guard standardDeviation.isFinite, standardDeviation > 0 else {
            throw InputError(description: "standardDeviation: must be a finite number above 0")
        }
        guard weights.count >= 2, weights.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw InputError(description: "weights: need a control and at least one treatment, each with a size above 0")
        }
        guard alpha > 0, alpha < 1 else { throw InputError(description: "alpha: must be between 0 and 1") }
        guard power > 0, power < 1 else { throw InputError(description: "power: must be between 0 and 1") }
    }

    /// (z₁₋α/₂ + z₁₋β)² · (1/w_c + 1/w_t) for the worst treatment: the units needed are this times (σ/δ)².
    var factor: Double {
        let total = weights.reduce(0, +)
        let shares = weights.map { $0 / total }
        let z = Normal.quantile(1 - alpha / 2) + Normal.quantile(power)
        let worst = shares.dropFirst().min()!
        return z * z * (1 / shares[0] + 1 / worst)
    }

    /// The smallest relative effect (0.05 is 5 % of the mean) detectable with `units` units in all.
    public func minimumDetectableEffect(units: Double) -> Double {
        guard units > 0 else { return .infinity }
        return (factor / units).squareRoot() * standardDeviation / abs(mean)
    }

    /// The units needed in all to detect a relative effect of `relativeEffect`.
    public func unitsNeeded(relativeEffect: Double) -> Double {
        let delta = relativeEffect * abs(mean)
        return factor * standardDeviation * standardDeviation / (delta * delta)
    }
}
