import Foundation
import Testing
@testable import VaneStats

/// Behaviour that does not need an oracle: merging, options, the rules around the numbers.
@Suite struct StatsBehaviourTests {
    static let values: [Double] = [0, 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8]
    static let denominators: [Double] = [1, 2, 1, 3, 1, 2, 4, 1, 3, 2, 2, 2, 3, 4, 3, 4, 2, 1, 2, 3]
    static let pre: [Double?] = [1, nil, 0, 3, 1, 4, nil, 2, 5, 4, 2, nil, 7, 8, 6, 7, 2, 1, nil, 6]

    @Test func summariesMergeExactly() {
        let whole = GroupSummary(values: Self.values, denominators: Self.denominators, preValues: Self.pre)
        #expect(whole.count == 20)
        #expect(whole.covariateCount == 16)
        var sum = 0.0
        var sumSquares = 0.0
        var sumProducts = 0.0
        for i in Self.values.indices {
            sum += Self.values[i]
            sumSquares += Self.values[i] * Self.values[i]
            sumProducts += Self.values[i] * Self.denominators[i]
        }
        #expect(whole.sum == sum)
        #expect(whole.sumSquares == sumSquares)
        #expect(whole.mainDenominatorSumProduct == sumProducts)

        var parts: [GroupSummary] = []
        for range in [0..<7, 7..<8, 8..<20] {
            parts.append(
                GroupSummary(
                    values: Array(Self.values[range]), denominators: Array(Self.denominators[range]),
                    preValues: Array(Self.pre[range])))
        }
        #expect(GroupSummary.merged(parts) == whole)
        #expect(parts[0] + parts[1] + parts[2] == whole)
        #expect(parts[2].merging(parts[0]).merging(parts[1]) == whole)
        #expect(GroupSummary.merged([GroupSummary]()) == GroupSummary())

        var incremental = GroupSummary()
        for i in Self.values.indices {
            incremental.add(Self.values[i], denominator: Self.denominators[i], preValue: Self.pre[i])
        }
        #expect(incremental == whole)
    }

    @Test func unitVariances() {
        let none = AnalysisOptions(minimumSample: .disabled)
        let a = GroupSummary(values: [1, 2, 3, 4])
        let b = GroupSummary(values: [2, 3, 4, 5, 6])
        let r = StatsEngine.compare(control: a, treatment: b, kind: .mean, options: none)
        #expect(r.status == .ok)
        #expect(r.control.mean == 2.5)
        #expect(isClose(r.control.variance, 5.0 / 3.0, relative: 1e-15))  // N − 1
        #expect(isClose(r.treatment.variance, 2.5, relative: 1e-15))
        #expect(isClose(r.absolute?.estimate ?? .nan, 1.5, relative: 1e-15))
        #expect(isClose(r.relative?.estimate ?? .nan, 0.6, relative: 1e-15))

        let c = GroupSummary(values: [1, 0, 0, 0])
        let d = GroupSummary(values: [1, 1, 0, 0])
        let p = StatsEngine.compare(control: c, treatment: d, kind: .conversion, options: none)
        #expect(p.control.variance == 0.25 * 0.75)  // p(1 − p), not N − 1
        #expect(p.treatment.variance == 0.25)

        let ratio = StatsEngine.compare(
            control: GroupSummary(values: [1, 2, 3], denominators: [1, 1, 2]),
            treatment: GroupSummary(values: [2, 2, 5], denominators: [1, 2, 2]), kind: .ratio, options: none)
        #expect(ratio.control.mean == 1.5)
        #expect(ratio.treatment.mean == 9.0 / 5.0)
    }

    @Test func defaults() {
        let o = AnalysisOptions()
        #expect(o.alpha == 0.05)
        #expect(!o.sequential)
        #expect(o.sequentialTuningParameter == 5000)
        #expect(o.comparisons == 1)
        #expect(o.cuped.enabled && o.cuped.minUnitsWithPreData == 100 && o.cuped.minFractionWithPreData == 0.05)
        #expect(o.minimumSample == MinimumSampleRule(minUnitsPerGroup: 100, minConversionsPerGroup: 30, minNonConversionsPerGroup: 30))
        #expect(SampleRatioMismatch.defaultThreshold == 0.001)
        #expect(Winsorization.defaultQuantile == 0.999)
    }

    @Test func bonferroni() {
        #expect(Bonferroni.adjustedAlpha(0.05, comparisons: 5) == 0.01)
        #expect(Bonferroni.adjustedAlpha(0.05, comparisons: 0) == 0.05)
        #expect(Bonferroni.adjustedPValue(0.01, comparisons: 3) == 0.03)
        #expect(Bonferroni.adjustedPValue(0.3, comparisons: 5) == 1)
        #expect(AnalysisOptions(comparisons: 4).adjustedAlpha == 0.0125)
    }

    @Test func benjaminiHochberg() {
        func close(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-12 } }
        // Ranks 1…4 of 0.005, 0.01, 0.03, 0.04: 0.02, 0.02, 0.04, 0.04, each the minimum of those above it.
        #expect(close(BenjaminiHochberg.adjustedPValues([0.01, 0.04, 0.03, 0.005]), [0.02, 0.04, 0.04, 0.02]))
        // Step-up: a large p-value lowers nothing, a small late one pulls earlier ones down.
        #expect(close(BenjaminiHochberg.adjustedPValues([0.02, 0.021, 0.9]), [0.0315, 0.0315, 0.9]))
        #expect(close(BenjaminiHochberg.adjustedPValues([0.7, 0.8]), [0.8, 0.8]))
        #expect(BenjaminiHochberg.adjustedPValues([0.6, 0.9, 1]).allSatisfy { $0 <= 1 })
        #expect(BenjaminiHochberg.adjustedPValues([0.03]) == [0.03])
        #expect(BenjaminiHochberg.adjustedPValues([]) == [])
        // Never stricter than Bonferroni, never looser than the raw p-value.
        let p = [0.001, 0.2, 0.013, 0.04, 0.5, 0.0004]
        for (raw, adjusted) in zip(p, BenjaminiHochberg.adjustedPValues(p)) {
            #expect(adjusted >= raw && adjusted <= Bonferroni.adjustedPValue(raw, comparisons: p.count))
        }
    }

    @Test func bayesianPosteriorRiskAndChanceToWin() {
        // Flat prior: the posterior is the data's normal approximation.
        let flat = BayesianEngine.estimate(dataMean: 0.1, dataVariance: 0.0025, relative: true, controlUnadjustedMean: 2,
                                           prior: .flat, alpha: 0.05)
        #expect(abs(flat.expected - 0.1) < 1e-15 && abs(flat.standardDeviation - 0.05) < 1e-15)
        #expect(abs(flat.lower - (0.1 - 1.959963984540054 * 0.05)) < 1e-12)
        #expect(abs(flat.chanceToWin - Normal.cdf(2)) < 1e-15)
        // Risk is E[max(±difference, 0)]: checked against a numerical integral of the posterior.
        func integral(_ f: (Double) -> Double, _ mu: Double, _ sd: Double) -> Double {
            let n = 200_000
            let lo = mu - 12 * sd, h = 24 * sd / Double(n)
            var sum = 0.0
            for i in 0..<n {
                let x = lo + (Double(i) + 0.5) * h
                sum += f(x) * Normal.pdf((x - mu) / sd) / sd * h
            }
            return sum
        }
        for (mu, sd) in [(0.1, 0.05), (-0.02, 0.05), (0.0, 1.0), (3.0, 0.5)] {
            let e = BayesianEngine.estimate(dataMean: mu, dataVariance: sd * sd, relative: true, controlUnadjustedMean: 1,
                                            prior: .flat, alpha: 0.05)
            #expect(abs(e.riskControl - integral({ max($0, 0) }, mu, sd)) < 1e-9, "risk of control at \(mu), \(sd)")
            #expect(abs(e.riskTreatment - integral({ max(-$0, 0) }, mu, sd)) < 1e-9, "risk of treatment at \(mu), \(sd)")
        }
        // A proper prior pulls the estimate toward its mean by the precision weights; on the
        // absolute scale the relative prior is rescaled by the control mean.
        let informative = BayesianEngine.estimate(dataMean: 0.1, dataVariance: 0.0025, relative: true, controlUnadjustedMean: 2,
                                                  prior: .informative, alpha: 0.05)
        let w = (1 / 0.0025) / (1 / 0.0025 + 1 / 0.09)
        #expect(abs(informative.expected - w * 0.1) < 1e-15)
        let absolute = BayesianEngine.estimate(dataMean: 0.2, dataVariance: 0.01, relative: false, controlUnadjustedMean: 2,
                                               prior: .informative, alpha: 0.05)
        #expect(abs(absolute.expected - 0.2 * (1 / 0.01) / (1 / 0.01 + 1 / (0.09 * 4))) < 1e-15)
    }

    @Test func aProperPriorOnAZeroControlMeanLeavesOutOnlyTheAbsolutePosterior() {
        // Values of both signs: the control mean is 0 while its variance is not.
        var control = GroupSummary(), treatment = GroupSummary()
        for x in [-2.0, -1, 1, 2, -3, 3] { control.add(x) }
        for x in [1.0, 2, 3, 0.5, 1.5, 2.5] { treatment.add(x) }
        var options = AnalysisOptions(minimumSample: .disabled)
        options.bayesianPrior = .informative
        let r = StatsEngine.compare(control: control, treatment: treatment, kind: .mean, options: options)
        #expect(r.status == .ok && r.absolute != nil && r.relative == nil)
        #expect(r.bayesian != nil && r.bayesian?.absolute == nil && r.bayesian?.relative == nil)
        #expect(r.notes.contains { $0.contains("Bayesian absolute effect not computed") })
        options.bayesianPrior = .flat
        let flat = StatsEngine.compare(control: control, treatment: treatment, kind: .mean, options: options)
        #expect(flat.bayesian?.absolute?.expected == flat.absolute?.estimate, "a flat prior needs no scale")
    }

    /// Wider intervals with more comparisons and with the sequential test; significance agrees with the interval.
    @Test func intervalsAndSignificance() throws {
        let c = try #require(StatsFixture.cases.first { $0.id == "mean_count_basic" })
        func run(_ options: AnalysisOptions) throws -> EffectResult {
            let r = StatsEngine.compare(
                control: c.control.summary, treatment: c.treatment.summary, kind: .mean, options: options)
            #expect(r.status == .ok)
            return r
        }
        let plain = try run(AnalysisOptions())
        let bonferroni = try run(AnalysisOptions(comparisons: 10))
        let sequential = try run(AnalysisOptions(sequential: true))
        let a = try #require(plain.absolute)
        let b = try #require(bonferroni.absolute)
        let s = try #require(sequential.absolute)
        #expect(b.upper - b.lower > a.upper - a.lower)
        #expect(s.upper - s.lower > a.upper - a.lower)
        #expect(b.pValue == a.pValue)
        #expect(b.adjustedPValue == min(1, 10 * a.pValue))
        #expect(s.degreesOfFreedom == nil)
        #expect(sequential.method == .sequential && sequential.sequentialTuningParameter == 5000)
        for r in [plain, bonferroni, sequential] {
            let x = try #require(r.absolute)
            #expect(r.isSignificant == (x.lower > 0 || x.upper < 0))
            #expect(x.pValue >= 0 && x.pValue <= 1)
        }
    }

    @Test func cupedReducesVariance() throws {
        let c = try #require(StatsFixture.cases.first { $0.id == "mean_cuped" })
        let r = StatsEngine.compare(control: c.control.summary, treatment: c.treatment.summary, kind: .mean)
        #expect(r.cuped.applied)
        let adjusted = try #require(r.control.adjustedVariance)
        #expect(adjusted < r.control.variance)
        let off = StatsEngine.compare(
            control: c.control.summary, treatment: c.treatment.summary, kind: .mean,
            options: AnalysisOptions(cuped: CUPEDPolicy(enabled: false)))
        #expect(!off.cuped.applied && off.cuped.note == nil)
        let cupedWidth = try #require(r.absolute.map { $0.upper - $0.lower })
        let plainWidth = try #require(off.absolute.map { $0.upper - $0.lower })
        #expect(cupedWidth < plainWidth)
    }

    @Test func minimumSampleReasons() {
        let small = GroupSummary(values: [Double](repeating: 1, count: 50) + [Double](repeating: 0, count: 49))
        let big = GroupSummary(values: [Double](repeating: 1, count: 40) + [Double](repeating: 0, count: 160))
        let r = StatsEngine.compare(control: small, treatment: big, kind: .conversion)
        #expect(r.status == .insufficientSample)
        #expect(r.reason == "control has 99 units; at least 100 per group are needed before intervals are shown")
        #expect(r.absolute == nil && r.relative == nil)
        #expect(r.control.mean == 50.0 / 99.0)  // group values are still reported

        let fine = StatsEngine.compare(control: big, treatment: big, kind: .conversion)
        #expect(fine.status == .ok)
        let custom = StatsEngine.compare(
            control: big, treatment: big, kind: .conversion,
            options: AnalysisOptions(minimumSample: MinimumSampleRule(minConversionsPerGroup: 41)))
        #expect(custom.reason?.contains("control has 40 conversions; at least 41") == true)
        #expect(custom.reason?.contains("treatment has 40 conversions") == true)
    }

    @Test func sampleRatioMismatchFlags() {
        #expect(SampleRatioMismatch.test(observed: [5000, 4500], weights: [1, 1]).isMismatch)
        #expect(!SampleRatioMismatch.test(observed: [1000, 1000], weights: [0.5, 0.5]).isMismatch)
        let lenient = SampleRatioMismatch.test(observed: [1000, 1100], weights: [0.5, 0.5], threshold: 0.05)
        #expect(lenient.isMismatch && lenient.threshold == 0.05)
        let single = SampleRatioMismatch.test(observed: [42], weights: [1])
        #expect(single.pValue == 1 && !single.isMismatch)
        let empty = SampleRatioMismatch.test(observed: [0, 0, 0], weights: [1, 1, 1])
        #expect(empty.pValue == 1 && empty.chiSquare == 0)
    }

    @Test func winsorizationCapsOnlyAboveTheQuantile() {
        let (groups, cap) = Winsorization.winsorize([[0, 1, 2, 3], [0, 4, 100]], quantile: 0.5)
        // Non-zero pooled values 1, 2, 3, 4, 100: the median is 3.
        #expect(cap == 3)
        #expect(groups == [[0, 1, 2, 3], [0, 3, 3]])
        #expect(Winsorization.cap(pooling: [[0, 0]]) == nil)
        #expect(Winsorization.quantile([5], 0.999) == 5)
        #expect(Winsorization.quantile([], 0.5) == nil)
    }

    @Test func ratioWithoutDenominatorIsNotComputable() {
        let a = GroupSummary(
            values: [Double](repeating: 0, count: 150), denominators: [Double](repeating: 0, count: 150))
        let b = GroupSummary(
            values: [Double](repeating: 1, count: 150), denominators: [Double](repeating: 2, count: 150))
        let r = StatsEngine.compare(control: a, treatment: b, kind: .ratio)
        #expect(r.status == .notComputable)
        #expect(r.reason == "the denominator sum is 0 in control")
    }

    @Test func resultsEncodeAsJSON() throws {
        let c = try #require(StatsFixture.cases.first { $0.id == "conversion_basic" })
        let r = StatsEngine.compare(control: c.control.summary, treatment: c.treatment.summary, kind: .conversion)
        let data = try JSONEncoder().encode(r)
        let back = try JSONDecoder().decode(EffectResult.self, from: data)
        #expect(back.status == r.status)
        #expect(back.kind == .conversion)
        #expect(back.absolute != nil && back.relative != nil)
        let summaryData = try JSONEncoder().encode(c.control.summary)
        #expect(try JSONDecoder().decode(GroupSummary.self, from: summaryData).count == c.control.summary.count)
    }
}
