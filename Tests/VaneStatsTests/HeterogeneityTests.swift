import Testing
@testable import VaneStats

@Suite("Heterogeneity (drill-down interaction)")
struct HeterogeneityTests {
    /// statsmodels 0.15: combine_effects([0.1, 0.5, 0.2], [0.01, 0.02, 0.015]).test_homogeneity()
    @Test func cochransQMatchesStatsmodels() throws {
        let r = try #require(Heterogeneity.cochranQ([(0.1, 0.1), (0.5, 0.02.squareRoot()), (0.2, 0.015.squareRoot())]))
        #expect(abs(r.q - 5.384615384615385) < 1e-12)
        #expect(abs(r.pValue - 0.06772447165924089) < 1e-12)
        #expect(r.degreesOfFreedom == 2 && r.slices == 3)
    }

    @Test func equalEffectsAreNotHeterogeneous() throws {
        let r = try #require(Heterogeneity.cochranQ([(0.3, 0.1), (0.3, 0.2), (0.3, 0.05)]))
        #expect(r.q == 0 && r.pValue == 1 && abs(r.pooledEstimate - 0.3) < 1e-12)
    }

    @Test func slicesWithoutAUsableStandardErrorAreLeftOut() {
        #expect(Heterogeneity.cochranQ([(0.1, 0.1)]) == nil)
        #expect(Heterogeneity.cochranQ([(0.1, 0.1), (0.4, 0), (.nan, 0.1), (0.2, .infinity)]) == nil)
        #expect(Heterogeneity.cochranQ([(0.1, 0.1), (0.4, 0.1), (0.2, 0)])?.slices == 2)
        // Weights so large that Q overflows: no result rather than a NaN p-value.
        #expect(Heterogeneity.cochranQ([(1e300, 1e-300), (-1e300, 1e-300)]) == nil)
    }
}
