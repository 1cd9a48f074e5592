import Foundation
import Testing
@testable import VaneStats

/// Fixtures/stats_cases.json, written by Fixtures/make_fixtures.py with gbstats 0.8.0, scipy 1.17.1
/// and numpy 1.26.4: synthetic experiments (per-group sufficient statistics, and mostly the raw
/// per-unit values too) with the oracle's numbers, SRM and winsorization checks, and tables of
/// distribution values. Read through #filePath, so the test target needs no resources.
struct StatsFixture: Decodable, Sendable {
    struct Options: Decodable, Sendable {
        let alpha: Double
        let sequential: Bool
        let tuning: Double
        let comparisons: Int
        let cupedEnabled: Bool
        let minimum: String

        var analysisOptions: AnalysisOptions {
            AnalysisOptions(
                alpha: alpha, sequential: sequential, sequentialTuningParameter: tuning, comparisons: comparisons,
                cuped: CUPEDPolicy(enabled: cupedEnabled),
                minimumSample: minimum == "none" ? MinimumSampleRule.disabled : MinimumSampleRule.standard)
        }
    }

    struct Side: Decodable, Sendable {
        /// The sums gbstats was given (decoded straight into GroupSummary: same field names in snake case).
        let summary: GroupSummary
        let values: [Double]?
        let denominators: [Double]?
        let pre: [Double?]?
    }

    struct Winsorize: Decodable, Sendable {
        let quantile: Double
        let cap: Double
    }

    struct GroupExpectation: Decodable, Sendable {
        let mean: Double
        let variance: Double
        let adjustedMean: Double?
        let adjustedVariance: Double?
    }

    struct EstimateExpectation: Decodable, Sendable {
        let estimate: Double
        let lower: Double
        let upper: Double
        let pValue: Double
        let adjustedPValue: Double?
        let standardError: Double?
        let dof: Double?
    }

    struct Expectation: Decodable, Sendable {
        let status: String
        let reasonContains: [String]
        let notesContain: [String]
        let cupedApplied: Bool
        let theta: Double?
        let control: GroupExpectation
        let treatment: GroupExpectation
        let absolute: EstimateExpectation?
        let relative: EstimateExpectation?
        let scipyWelch: EstimateExpectation?
    }

    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        let id: String
        let note: String
        let kind: String
        let options: Options
        let control: Side
        let treatment: Side
        let expected: Expectation
        let winsorize: Winsorize?

        var testDescription: String { id }
        var metricKind: MetricKind { MetricKind(rawValue: kind) ?? .mean }
    }

    struct SRMCase: Decodable, Sendable, CustomTestStringConvertible {
        let observed: [Int]
        let weights: [Double]
        let pValue: Double
        let chiSquare: Double
        let expected: [Double]
        let mismatch: Bool

        var testDescription: String { "\(observed) vs \(weights)" }
    }

    struct WinsorizationSet: Decodable, Sendable {
        struct Check: Decodable, Sendable {
            let quantile: Double
            let ignoringZeros: Bool
            let cap: Double
            let cappedSum: Double
        }

        let values: [Double]
        let checks: [Check]
    }

    struct Distributions: Decodable, Sendable {
        /// [dof, t, sf, cdf, pdf]
        let t: [[Double]]
        /// [dof, q, isf(q), ppf(q)]
        let tQuantile: [[Double]]
        /// [z, sf, cdf, pdf]
        let normal: [[Double]]
        /// [p, ppf(p)]
        let normalQuantile: [[Double]]
        /// [dof, x, sf, cdf]
        let chi2: [[Double]]
        /// [x, erf, erfc]
        let erf: [[Double]]
        /// [x, lgamma]
        let lgamma: [[Double]]
        /// [a, b, x, I_x(a,b), 1 − I_x(a,b)]
        let beta: [[Double]]
    }

    let cases: [Case]
    let srm: [SRMCase]
    let winsorization: [WinsorizationSet]
    let distributions: Distributions

    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/stats_cases.json")

    static let loaded: Result<StatsFixture, any Error> = Result { try load() }

    static func load() throws -> StatsFixture {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(StatsFixture.self, from: Data(contentsOf: url))
    }

    static var cases: [Case] { (try? loaded.get())?.cases ?? [] }
    static var srmCases: [SRMCase] { (try? loaded.get())?.srm ?? [] }
    static var casesWithUnitValues: [Case] { cases.filter { $0.control.values != nil } }
}

/// |got − want| <= max(absolute, relative·|want|).
func isClose(_ got: Double, _ want: Double, relative: Double = 1e-6, absolute: Double = 1e-9) -> Bool {
    if got == want { return true }
    return abs(got - want) <= max(absolute, relative * abs(want))
}

/// Records a failure naming the quantity when `got` is not close to `want`.
func expectClose(
    _ got: Double?, _ want: Double?, _ what: String, relative: Double = 1e-6, absolute: Double = 1e-9,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    switch (got, want) {
    case (nil, nil):
        return
    case (let g?, let w?):
        #expect(
            isClose(g, w, relative: relative, absolute: absolute), "\(what): got \(g), want \(w)",
            sourceLocation: sourceLocation)
    default:
        Issue.record("\(what): got \(String(describing: got)), want \(String(describing: want))", sourceLocation: sourceLocation)
    }
}
