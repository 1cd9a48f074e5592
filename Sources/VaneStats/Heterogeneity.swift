/// Whether an effect differs across slices of the units (a drill-down): Cochran's Q over the
/// slices' effect estimates, the test of heterogeneity in a fixed-effect meta-analysis
/// (statsmodels' `combine_effects`). Statsig calls a flagged result a differential impact.
public enum Heterogeneity {
    public struct Result: Sendable, Hashable, Codable {
        /// Σ wᵢ (θᵢ − θ̄)², wᵢ = 1 / seᵢ², θ̄ the inverse-variance weighted mean.
        public var q: Double
        public var degreesOfFreedom: Int
        /// P(χ²(k − 1) ≥ Q).
        public var pValue: Double
        /// The inverse-variance weighted mean effect across the slices.
        public var pooledEstimate: Double
        public var slices: Int
    }

    /// Needs at least two slices with a positive, finite standard error; nil otherwise.
    public static func cochranQ(_ slices: [(estimate: Double, standardError: Double)]) -> Result? {
        let usable = slices.filter { $0.estimate.isFinite && $0.standardError.isFinite && $0.standardError > 0 }
        guard usable.count >= 2 else { return nil }
        let weights = usable.map { 1 / ($0.standardError * $0.standardError) }
        let totalWeight = weights.reduce(0, +)
        let pooled = zip(weights, usable).map { $0 * $1.estimate }.reduce(0, +) / totalWeight
        let q = zip(weights, usable).map { w, s in w * (s.estimate - pooled) * (s.estimate - pooled) }.reduce(0, +)
        guard q.isFinite, pooled.isFinite else { return nil }
        let dof = usable.count - 1
        return Result(q: q, degreesOfFreedom: dof, pValue: ChiSquared.sf(q, dof: Double(dof)), pooledEstimate: pooled, slices: usable.count)
    }
}
