import Foundation
import Testing
@testable import VaneStats

/// Figures computed with scipy.stats.norm (the conformance suite also checks the API against
/// statsmodels' NormalIndPower).
@Suite struct PowerAnalysisTests {
    @Test func minimumDetectableEffectOfAnEvenSplit() throws {
        let p = PowerAnalysis(mean: 10, standardDeviation: 4, weights: [50, 50])
        try p.validate()
        #expect(abs(p.minimumDetectableEffect(units: 1000) - 0.07087512278637277) < 1e-12)
    }

    @Test func unitsNeededFollowTheSmallestTreatment() throws {
        let p = PowerAnalysis(mean: 2.5, standardDeviation: 1.5, weights: [50, 25, 25], alpha: 0.1, power: 0.9)
        try p.validate()
        #expect(abs(p.unitsNeeded(relativeEffect: 0.03) / 20553.233641603136 - 1) < 1e-12)
    }

    @Test func theTwoDirectionsAgree() {
        let p = PowerAnalysis(mean: -3, standardDeviation: 7, weights: [1, 3])
        let units = p.unitsNeeded(relativeEffect: 0.02)
        #expect(abs(p.minimumDetectableEffect(units: units) - 0.02) < 1e-12)
        #expect(p.minimumDetectableEffect(units: 0) == .infinity)
    }

    @Test func badInputsNameTheField() {
        let cases: [(PowerAnalysis, String)] = [
            (PowerAnalysis(mean: 0, standardDeviation: 1, weights: [1, 1]), "mean"),
            (PowerAnalysis(mean: 1, standardDeviation: 0, weights: [1, 1]), "standardDeviation"),
            (PowerAnalysis(mean: 1, standardDeviation: .nan, weights: [1, 1]), "standardDeviation"),
            (PowerAnalysis(mean: 1, standardDeviation: 1, weights: [1]), "weights"),
            (PowerAnalysis(mean: 1, standardDeviation: 1, weights: [1, 0]), "weights"),
            (PowerAnalysis(mean: 1, standardDeviation: 1, weights: [1, 1], alpha: 1), "alpha"),
            (PowerAnalysis(mean: 1, standardDeviation: 1, weights: [1, 1], power: 0), "power"),
        ]
        for (p, field) in cases {
            #expect(throws: PowerAnalysis.InputError.self) { try p.validate() }
            do { try p.validate() } catch { #expect("\(error)".hasPrefix(field + ":")) }
        }
    }
}
