import Foundation
import Testing
import VaneCore
import VanePulse
import VaneStats

/// The results API's JSON is `PulseResults`' encoding: these are the keys clients and the conformance
/// suites read.
@Suite("Pulse results (encoding)")
struct PulseResultsTests {
    func encoded(_ r: PulseResults) throws -> [String: Any] {
        let data = try JSONEncoder().encode(r)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func gateResults(srm: SRMResult?) throws -> PulseResults {
        let gate = try JSONDecoder().decode(Entity.self, from: Data(#"""
            {"kind": "gate", "name": "g", "rules": [
              {"id": "a", "name": "a", "passPercentage": 20, "conditions": []},
              {"id": "b", "name": "b", "passPercentage": 40, "conditions": []}]}
            """#.utf8))
        let subject = try PulseSubject(gate: gate)
        var data = PulseArmData()
        data.units = ["fail": 40, "pass": 60]
        data.sums = ["fail": ["buy": ArmSums(unit: UnitValues(postCount: 1, postSum: 0, preCount: 0, preSum: 0))],
                     "pass": ["buy": ArmSums(unit: UnitValues(postCount: 2, postSum: 0, preCount: 0, preSum: 0))]]
        let metric = MetricDefinition.automatic("conversion:buy")!
        let (kind, summaries, _) = try MetricSummaries.summaries(subject: subject, data: data, metric: metric, userMetrics: [:], winsorize: false)
        let effect = StatsEngine.compare(control: summaries[0], treatment: summaries[1], kind: kind)
        return PulseResults(
            subject: subject, computedAt: 42,
            groups: zip(subject.arms, [40, 60]).map { PulseResults.Group(name: $0.name, units: $1, weight: $0.weight) },
            crossovers: 3, srm: srm, exposuresPerDay: ["2026-12-01": ["pass": 60, "fail": 40]], options: try PulseAnalysisOptions(),
            rollup: PulseResults.Rollup(eventsBehind: 0, cursor: 99, setAsideReasons: ["time": 2, "value": 1]),
            metrics: [PulseResults.Metric(metric, kind: kind, comparisons: [PulseResults.Comparison(group: "pass", effect: effect)])])
    }

    @Test func aGateRolloutEncodesItsNameSidesAndComparisons() throws {
        let json = try encoded(try gateResults(srm: nil))
        #expect(json["gate"] as? String == "g")
        #expect(json["experiment"] == nil)
        #expect(json["subjectKind"] as? String == "gate")
        #expect(json["controlGroup"] as? String == "fail")
        #expect((json["scope"] as? String)?.contains("‘a’ (20 %), ‘b’ (40 %)") == true)
        #expect(json["srm"] is NSNull)  // present, null: no SRM test without known weights
        let groups = try #require(json["groups"] as? [[String: Any]])
        #expect(groups.map { $0["name"] as? String } == ["fail", "pass"])
        #expect(groups.allSatisfy { $0["weight"] is NSNull })  // two partial rules: the split is unknown
        let rollup = try #require(json["rollup"] as? [String: Any])
        #expect(rollup["eventsSetAside"] as? Int == 3 && rollup["cursor"] as? Int == 99)
        let options = try #require(json["options"] as? [String: Any])
        #expect(options["engine"] as? String == "frequentist" && options["correction"] as? String == "none")
        #expect(options["prior"] is NSNull)
        let metric = try #require((json["metrics"] as? [[String: Any]])?.first)
        #expect(metric["metric"] as? String == "conversion:buy" && metric["kind"] as? String == "conversion")
        #expect(metric["event"] as? String == "buy" && metric["description"] == nil)
        let comparison = try #require((metric["comparisons"] as? [[String: Any]])?.first)
        #expect(comparison["group"] as? String == "pass")
        #expect(comparison["isSignificant"] is Bool)
        #expect((comparison["control"] as? [String: Any])?["units"] as? Int == 40)
        #expect(comparison["status"] != nil && comparison["method"] != nil)
    }

    @Test func aTestedSplitEncodesTheSRM() throws {
        let srm = SampleRatioMismatch.test(observed: [40, 60], weights: [50, 50])
        let json = try encoded(try gateResults(srm: srm))
        let encodedSRM = try #require(json["srm"] as? [String: Any])
        #expect(encodedSRM["observed"] as? [Int] == [40, 60])
        #expect(encodedSRM["isMismatch"] as? Bool == srm.isMismatch)
    }
}
