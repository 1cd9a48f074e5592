import Foundation
import Testing
@testable import VaneStats

/// Every number VaneStats reports for the fixture experiments against gbstats 0.8.0 and scipy:
/// relative 1e-6, absolute 1e-9 near zero.
@Suite struct EffectFixtureTests {
    @Test func fixtureLoads() throws {
        let fixture = try StatsFixture.loaded.get()
        #expect(fixture.cases.count >= 30)
        #expect(!fixture.srm.isEmpty)
        #expect(!fixture.winsorization.isEmpty)
    }

    /// The per-unit values give the same sums gbstats was fed (after winsorizing, where the case says so).
    @Test(arguments: StatsFixture.casesWithUnitValues)
    func summariesFromUnitValues(_ c: StatsFixture.Case) throws {
        var controlValues = try #require(c.control.values)
        var treatmentValues = try #require(c.treatment.values)
        if let w = c.winsorize {
            let (capped, cap) = Winsorization.winsorize(
                [controlValues, treatmentValues], quantile: w.quantile, ignoringZeros: true)
            expectClose(cap, w.cap, "\(c.id) winsorization cap", relative: 1e-12, absolute: 0)
            controlValues = capped[0]
            treatmentValues = capped[1]
        }
        let control = GroupSummary(values: controlValues, denominators: c.control.denominators, preValues: c.control.pre)
        let treatment = GroupSummary(
            values: treatmentValues, denominators: c.treatment.denominators, preValues: c.treatment.pre)
        for (name, got, want) in [("control", control, c.control.summary), ("treatment", treatment, c.treatment.summary)] {
            #expect(got.count == want.count, "\(c.id) \(name).count")
            #expect(got.covariateCount == want.covariateCount, "\(c.id) \(name).covariateCount")
            let pairs: [(String, Double, Double)] = [
                ("sum", got.sum, want.sum),
                ("sumSquares", got.sumSquares, want.sumSquares),
                ("denominatorSum", got.denominatorSum, want.denominatorSum),
                ("denominatorSumSquares", got.denominatorSumSquares, want.denominatorSumSquares),
                ("mainDenominatorSumProduct", got.mainDenominatorSumProduct, want.mainDenominatorSumProduct),
                ("covariateSum", got.covariateSum, want.covariateSum),
                ("covariateSumSquares", got.covariateSumSquares, want.covariateSumSquares),
                ("mainCovariateSumProduct", got.mainCovariateSumProduct, want.mainCovariateSumProduct),
            ]
            for (field, g, w) in pairs {
                expectClose(g, w, "\(c.id) \(name).\(field)", relative: 1e-9, absolute: 1e-9)
            }
        }

        // Built from units or from the oracle's sums, the comparison is the same.
        let fromUnits = StatsEngine.compare(
            control: control, treatment: treatment, kind: c.metricKind, options: c.options.analysisOptions)
        let fromSums = StatsEngine.compare(
            control: c.control.summary, treatment: c.treatment.summary, kind: c.metricKind,
            options: c.options.analysisOptions)
        #expect(fromUnits.status == fromSums.status, "\(c.id) status")
        expectClose(fromUnits.absolute?.estimate, fromSums.absolute?.estimate, "\(c.id) absolute from units")
        expectClose(fromUnits.absolute?.pValue, fromSums.absolute?.pValue, "\(c.id) absolute p from units")
        expectClose(fromUnits.relative?.lower, fromSums.relative?.lower, "\(c.id) relative lower from units")
    }

    @Test(arguments: StatsFixture.cases)
    func matchesOracle(_ c: StatsFixture.Case) {
        let e = c.expected
        let r = StatsEngine.compare(
            control: c.control.summary, treatment: c.treatment.summary, kind: c.metricKind,
            options: c.options.analysisOptions)

        #expect(r.status.rawValue == e.status, "\(c.id): status \(r.status) (\(r.reason ?? "no reason"))")
        for part in e.reasonContains {
            #expect(r.reason?.contains(part) == true, "\(c.id): reason \(r.reason ?? "nil") lacks \"\(part)\"")
        }
        let notes = r.notes.joined(separator: " | ")
        for part in e.notesContain {
            #expect(notes.contains(part), "\(c.id): notes \"\(notes)\" lack \"\(part)\"")
        }
        #expect(r.cuped.applied == e.cupedApplied, "\(c.id): CUPED applied")
        if e.cupedApplied {
            expectClose(r.cuped.theta, e.theta, "\(c.id) theta")
        }
        #expect(r.alpha == c.options.alpha)
        #expect(r.method == (c.options.sequential ? TestMethod.sequential : TestMethod.welchT))

        for (name, got, want) in [("control", r.control, e.control), ("treatment", r.treatment, e.treatment)] {
            expectClose(got.mean, want.mean, "\(c.id) \(name).mean")
            expectClose(got.variance, want.variance, "\(c.id) \(name).variance")
            expectClose(got.adjustedMean, want.adjustedMean, "\(c.id) \(name).adjustedMean")
            expectClose(got.adjustedVariance, want.adjustedVariance, "\(c.id) \(name).adjustedVariance")
        }
        #expect(r.control.units == c.control.summary.count)
        #expect(r.treatment.units == c.treatment.summary.count)

        check(r.absolute, e.absolute, "\(c.id) absolute")
        check(r.relative, e.relative, "\(c.id) relative")

        // scipy.stats.ttest_ind(equal_var=False) on the same units (for CUPED: on y − θ·x).
        if let w = e.scipyWelch, e.status == "ok", !c.options.sequential, let a = r.absolute {
            expectClose(a.estimate, w.estimate, "\(c.id) scipy Welch estimate")
            expectClose(a.lower, w.lower, "\(c.id) scipy Welch lower")
            expectClose(a.upper, w.upper, "\(c.id) scipy Welch upper")
            expectClose(a.pValue, w.pValue, "\(c.id) scipy Welch p")
            expectClose(a.degreesOfFreedom, w.dof, "\(c.id) scipy Welch dof")
        }
        if r.status != .ok {
            #expect(r.absolute == nil && r.relative == nil, "\(c.id): no intervals unless ok")
            #expect(r.reason != nil, "\(c.id): a reason is given")
        }
    }

    func check(_ got: Estimate?, _ want: StatsFixture.EstimateExpectation?, _ what: String) {
        guard let want else {
            #expect(got == nil, "\(what): expected no estimate")
            return
        }
        guard let got else {
            Issue.record("\(what): missing")
            return
        }
        expectClose(got.estimate, want.estimate, "\(what).estimate")
        expectClose(got.lower, want.lower, "\(what).lower")
        expectClose(got.upper, want.upper, "\(what).upper")
        expectClose(got.pValue, want.pValue, "\(what).pValue")
        if let adjusted = want.adjustedPValue {
            expectClose(got.adjustedPValue, adjusted, "\(what).adjustedPValue")
        }
        if let se = want.standardError {
            expectClose(got.standardError, se, "\(what).standardError")
        }
        expectClose(got.degreesOfFreedom, want.dof, "\(what).degreesOfFreedom")
    }

    @Test(arguments: StatsFixture.srmCases)
    func sampleRatioMismatch(_ c: StatsFixture.SRMCase) {
        let r = SampleRatioMismatch.test(observed: c.observed, weights: c.weights)
        expectClose(r.pValue, c.pValue, "SRM p", relative: 1e-9, absolute: 1e-300)
        expectClose(r.chiSquare, c.chiSquare, "SRM chi-square", relative: 1e-9, absolute: 1e-12)
        #expect(r.isMismatch == c.mismatch)
        #expect(r.degreesOfFreedom == c.observed.count - 1)
        #expect(r.expected.count == c.expected.count)
        for (g, w) in zip(r.expected, c.expected) {
            expectClose(g, w, "SRM expected", relative: 1e-12, absolute: 1e-12)
        }
    }

    @Test func winsorization() throws {
        let fixture = try StatsFixture.loaded.get()
        for set in fixture.winsorization {
            for check in set.checks {
                let cap = Winsorization.cap(pooling: [set.values], quantile: check.quantile, ignoringZeros: check.ignoringZeros)
                expectClose(cap, check.cap, "cap at \(check.quantile)", relative: 1e-12, absolute: 0)
                if let cap {
                    let cappedSum = Winsorization.capped(set.values, at: cap).reduce(0, +)
                    expectClose(cappedSum, check.cappedSum, "capped sum at \(check.quantile)", relative: 1e-9, absolute: 0)
                }
            }
        }
    }
}
