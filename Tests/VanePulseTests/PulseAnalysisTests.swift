import Foundation
import Testing
import VaneCore
import VanePulse
import VaneStats

@Suite("Pulse analysis (pure)")
struct PulseAnalysisTests {
    func entity(_ json: String) throws -> Entity {
        try JSONDecoder().decode(Entity.self, from: Data(json.utf8))
    }

    @Test func optionsParseEverySpellingAndNameTheBadParameter() throws {
        #expect(try PulseAnalysisOptions(query: ["correction": "BH"]).correction == .benjaminiHochberg)
        #expect(try PulseAnalysisOptions(query: ["bonferroni": "true"]).correction == .bonferroni)
        #expect(try PulseAnalysisOptions(query: ["engine": "bayesian"]).analysis.bayesianPrior == .flat)
        #expect(try PulseAnalysisOptions(query: ["minUnits": "25"]).analysis.minimumSample.minUnitsPerGroup == 25)
        #expect(try PulseAnalysisOptions(query: ["metrics": "a,,b"]).metricFilter == ["a", "b"])
        let bad: [([String: String], String)] = [
            (["alpha": "1"], "alpha"), (["alpha": "x"], "alpha"), (["minUnits": "1e12"], "minUnits"),
            (["minUnits": "2.5"], "minUnits"), (["sequentialTuning": "0"], "sequentialTuning"),
            (["correction": "holm"], "correction"), (["bonferroni": "true", "correction": "none"], "bonferroni"),
            (["prior": "flat"], "prior"), (["engine": "bayesian", "priorStddev": "0"], "priorStddev"),
            (["engine": "bayesian", "priorMean": "1e9"], "priorMean"), (["cuped": "maybe"], "cuped"),
        ]
        for (query, parameter) in bad {
            do {
                _ = try PulseAnalysisOptions(query: query)
                Issue.record("\(query) was accepted")
            } catch let e as ValidationError {
                #expect(e.description.contains(parameter), "\(query): \(e)")
            }
        }
    }

    @Test func aGateComparesItsSidesOfTheOnePartialRule() throws {
        let gate = try entity(#"""
            {"kind": "gate", "name": "g", "idType": "stableID", "rules": [
              {"id": "r1", "name": "all", "passPercentage": 100, "conditions": []},
              {"id": "r2", "name": "some", "passPercentage": 30, "conditions": []}]}
            """#)
        let subject = try PulseSubject(gate: gate)
        #expect(subject.idType == "stableID")
        #expect(subject.arms.map(\.arm) == ["fail", "pass"])
        #expect(subject.arms.map(\.weight) == [70, 30])
        #expect(subject.scope?.contains("‘some’ (30 %)") == true, "\(subject.scope ?? "no scope")")
        let full = try entity(#"{"kind": "gate", "name": "f", "rules": [{"id": "r", "name": "all", "passPercentage": 100, "conditions": []}]}"#)
        #expect(throws: ValidationError.self) { try PulseSubject(gate: full) }

        let catalog = PulseCatalog(experiments: [], gates: [gate, full], metrics: [])
        #expect(catalog.partialGateRules == ["g": ["r2"]])
        #expect(Set(catalog.unitTypes) == ["userID", "stableID"])
    }

    @Test func anExperimentComparesItsGroupsControlFirst() throws {
        let e = try entity(#"""
            {"kind": "experiment", "name": "e", "analysisWindowDays": 14, "groups": [
              {"id": "g0", "name": "Control", "size": 50}, {"id": "g1", "name": "Test", "size": 50}]}
            """#)
        let subject = try PulseSubject(experiment: e)
        #expect(subject.arms.map(\.name) == ["Control", "Test"])
        #expect(subject.key == PulseCatalog.experimentSubject("e"))
        #expect(subject.scope == nil)
        let catalog = PulseCatalog(experiments: [e], gates: [], metrics: [
            MetricDefinition(name: "big", type: .count, event: "buy", filters: [MetadataFilter(key: "size", op: .eq, values: ["L"])]),
            MetricDefinition(name: "plain", type: .count, event: "buy"),
        ])
        #expect(catalog.windows[PulseCatalog.experimentSubject("e")] == 14)
        #expect(catalog.filteredSources.map(\.key) == ["filtered:big"])
        let one = try entity(#"{"kind": "experiment", "name": "one", "groups": [{"id": "g0", "name": "Control", "size": 100}]}"#)
        #expect(throws: ValidationError.self) { try PulseSubject(experiment: one) }
    }

    @Test func ratioMetricsNeedTheirPartsUnitRows() throws {
        let metrics = [
            "rev": MetricDefinition(name: "rev", type: .sum, event: "buy"),
            "perVisit": MetricDefinition(name: "perVisit", type: .ratio, numerator: "rev", denominator: "count:visit"),
            "orphan": MetricDefinition(name: "orphan", type: .ratio, numerator: "gone", denominator: "count:visit"),
        ]
        #expect(try MetricSummaries.unitRowSources(for: metrics["perVisit"]!, userMetrics: metrics, winsorize: false) == ["buy", "visit"])
        #expect(try MetricSummaries.unitRowSources(for: metrics["rev"]!, userMetrics: metrics, winsorize: false) == nil)
        #expect(try MetricSummaries.unitRowSources(for: metrics["rev"]!, userMetrics: metrics, winsorize: true) == ["buy"])
        #expect(throws: ValidationError.self) {
            try MetricSummaries.unitRowSources(for: metrics["orphan"]!, userMetrics: metrics, winsorize: false)
        }
    }
}
