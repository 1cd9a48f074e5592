import Foundation
import Testing
@testable import VaneCore

/// Fixtures/evaluations.json, written by Fixtures/make_fixtures.py with the Statsig Python SDK
/// 0.72.1: a rule set, a few hundred users, and the SDK's result for every (user, spec) pair.
struct ConformanceFixture: Sendable {
    struct Check: Sendable, CustomStringConvertible {
        let index: Int
        let kind: SpecKind
        let name: String
        var description: String { "\(kind) \(name)" }
    }

    struct EdgeCase: Sendable, CustomStringConvertible {
        let id: String
        let note: String
        let dcs: JSONValue
        let userJSON: JSONValue
        let kind: SpecKind
        let name: String
        let expected: JSONValue
        var description: String { id }
    }

    let dcs: JSONValue
    let rules: RuleSet
    let userJSON: [JSONValue]
    let users: [StatsigUser]
    let checks: [Check]
    /// expected[user][check], in the compact form `ConformanceFixture.compact` produces.
    let expected: [[JSONValue]]
    let edge: [EdgeCase]

    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/evaluations.json")

    static let loaded: Result<ConformanceFixture, any Error> = Result { try load() }

    static var checks: [Check] { (try? loaded.get())?.checks ?? [] }
    static var edgeCases: [EdgeCase] { (try? loaded.get())?.edge ?? [] }

    static func kind(_ s: String?) throws -> SpecKind {
        switch s {
        case "gate": return .gate
        case "config": return .config
        case "layer": return .layer
        default: throw SpecFormatError("unknown check kind \(s ?? "nil")")
        }
    }

    static func load() throws -> ConformanceFixture {
        let doc = try JSONValue.parse(try Data(contentsOf: url))
        guard let dcs = doc["dcs"], let users = doc["users"]?.arrayValue, let checks = doc["checks"]?.arrayValue,
            let expected = doc["expected"]?.arrayValue, let edge = doc["edge"]?.arrayValue
        else { throw SpecFormatError("evaluations.json lacks dcs, users, checks, expected or edge") }
        let parsedChecks = try checks.enumerated().map { i, c in
            Check(index: i, kind: try kind(c.arrayValue?.first?.stringValue), name: c.arrayValue?.last?.stringValue ?? "")
        }
        let rows = expected.map { $0.arrayValue ?? [] }
        guard rows.count == users.count, rows.allSatisfy({ $0.count == checks.count }) else {
            throw SpecFormatError("evaluations.json: expected is not users x checks")
        }
        let edgeCases = try edge.map { e in
            EdgeCase(
                id: e["id"]?.stringValue ?? "?", note: e["note"]?.stringValue ?? "", dcs: e["dcs"] ?? .null,
                userJSON: e["user"] ?? .null, kind: try kind(e["kind"]?.stringValue), name: e["name"]?.stringValue ?? "",
                expected: e["expected"] ?? .null)
        }
        return ConformanceFixture(
            dcs: dcs, rules: try ruleSet(dcs), userJSON: users, users: try users.map(StatsigUser.init(json:)),
            checks: parsedChecks, expected: rows, edge: edgeCases)
    }

    /// A RuleSet from a download_config_specs document.
    static func ruleSet(_ dcs: JSONValue) throws -> RuleSet {
        func specs(_ key: String) throws -> [Spec] { try (dcs[key]?.arrayValue ?? []).map(Spec.init(json:)) }
        var layerExperiments: [String: [String]] = [:]
        for (layer, experiments) in dcs["layers"]?.objectValue ?? [:] {
            layerExperiments[layer] = experiments.arrayValue?.compactMap(\.stringValue) ?? []
        }
        return RuleSet(
            time: dcs["time"]?.int64Value ?? 0, gates: try specs("feature_gates"), configs: try specs("dynamic_configs"),
            layers: try specs("layer_configs"), layerExperiments: layerExperiments,
            defaultEnvironment: dcs["default_environment"]?.stringValue)
    }

    static func evaluate(_ ev: Evaluator, _ kind: SpecKind, _ name: String, _ user: StatsigUser) -> EvaluationResult {
        switch kind {
        case .gate: return ev.checkGate(user, name)
        case .config: return ev.getConfig(user, name)
        case .layer: return ev.getLayer(user, name)
        }
    }

    /// The result in the fixture's compact form: fields at their default value are left out.
    static func compact(_ r: EvaluationResult, kind: SpecKind) -> JSONValue {
        func exposures(_ list: [SecondaryExposure]) -> JSONValue {
            .array(list.map { .array([.string($0.gate), .string($0.gateValue), .string($0.ruleID)]) })
        }
        var o: [String: JSONValue] = [:]
        if r.value { o["value"] = .bool(true) }
        if kind != .gate, r.jsonValue != .object([:]) { o["json_value"] = r.jsonValue }
        if !r.ruleID.isEmpty { o["rule_id"] = .string(r.ruleID) }
        if let group = r.groupName { o["group_name"] = .string(group) }
        if r.isExperimentGroup { o["is_experiment_group"] = .bool(true) }
        if !r.idType.isEmpty { o["id_type"] = .string(r.idType) }
        let secondary = exposures(r.secondaryExposures)
        if !r.secondaryExposures.isEmpty { o["secondary_exposures"] = secondary }
        if kind == .layer {
            let undelegated = exposures(r.undelegatedSecondaryExposures)
            if undelegated != secondary { o["undelegated_secondary_exposures"] = undelegated }
            if !r.explicitParameters.isEmpty { o["explicit_parameters"] = .array(r.explicitParameters.map { .string($0) }) }
            if let experiment = r.allocatedExperiment { o["allocated_experiment"] = .string(experiment) }
        }
        switch r.reason {
        case .unrecognized, .unsupported: o["reason"] = .string(r.reason.rawValue)
        case .network: break
        }
        return .object(o)
    }
}

@Suite("Conformance with the Python SDK (Fixtures/evaluations.json)")
struct ConformanceFixtureTests {
    @Test func fixtureLoadsAndCoversTheAlgorithm() throws {
        let f = try ConformanceFixture.loaded.get()
        #expect(f.users.count >= 200)
        #expect(f.checks.count >= 100)
        // Every condition type but current_time (the SDK reads the wall clock) and every operator appear.
        var types = Set<String>()
        var ops = Set<String>()
        for key in ["feature_gates", "dynamic_configs", "layer_configs"] {
            for spec in f.dcs[key]?.arrayValue ?? [] {
                for rule in spec["rules"]?.arrayValue ?? [] {
                    for c in rule["conditions"]?.arrayValue ?? [] {
                        if let t = c["type"]?.stringValue { types.insert(t.lowercased()) }
                        if let o = c["operator"]?.stringValue { ops.insert(o.lowercased()) }
                    }
                }
            }
        }
        for t in ConditionType.allCases where t != .current_time {
            #expect(types.contains(t.rawValue), "no fixture condition of type \(t.rawValue)")
        }
        for o in ConditionOperator.allCases {
            #expect(ops.contains(o.rawValue), "no fixture condition with operator \(o.rawValue)")
        }
        // The fixture's deliberately unsupported specs are the only ones dropped.
        #expect(Set(f.rules.unsupported.map(\.name)) == ["unsupported_op", "unsupported_type", "unsupported_config"])
    }

    @Test("Every user gets the SDK's result", arguments: ConformanceFixture.checks)
    func matchesTheSDK(_ check: ConformanceFixture.Check) throws {
        let f = try ConformanceFixture.loaded.get()
        let ev = Evaluator(rules: f.rules)
        var mismatches: [String] = []
        for (u, user) in f.users.enumerated() {
            let want = f.expected[u][check.index]
            let got = ConformanceFixture.compact(ConformanceFixture.evaluate(ev, check.kind, check.name, user), kind: check.kind)
            if got != want {
                mismatches.append("user \(u) \(f.userJSON[u].serialized())\n  want \(want.serialized())\n  got  \(got.serialized())")
            }
        }
        #expect(
            mismatches.isEmpty,
            "\(mismatches.count) of \(f.users.count) users differ from the SDK, e.g.\n\(mismatches.prefix(5).joined(separator: "\n"))")
    }

    /// Corners of the algorithm, one rule set each. Where the SDK raised (rule_id "error"), Vane must
    /// answer false; everywhere else it must give the SDK's result.
    @Test("Corner cases", arguments: ConformanceFixture.edgeCases)
    func edgeCase(_ e: ConformanceFixture.EdgeCase) throws {
        let ev = Evaluator(rules: try ConformanceFixture.ruleSet(e.dcs))
        let user = try StatsigUser(json: e.userJSON)
        let got = ConformanceFixture.compact(ConformanceFixture.evaluate(ev, e.kind, e.name, user), kind: e.kind)
        if let why = Self.documentedDifferences[e.id] {
            // Listed in docs/evaluation.md; kept here so a fix shows up as an unexpected pass.
            withKnownIssue(Comment(rawValue: why)) { #expect(got == e.expected) }
        } else if e.expected["rule_id"]?.stringValue == "error" {
            #expect(got["value"] == nil, "\(e.note): the SDK raises here and Vane must answer false; got \(got.serialized())")
        } else {
            #expect(got == e.expected, "\(e.note)\n  want \(e.expected.serialized())\n  got  \(got.serialized())")
        }
    }

    static let documentedDifferences: [String: String] = [
        "big_int": "integers beyond 64 bits are read as floats, so str() differs",
        "dict_repr_order": "JSON objects do not keep key order, so str() of an object lists keys sorted",
    ]

    @Test func edgeCasesArePresent() throws {
        #expect(try ConformanceFixture.loaded.get().edge.count >= 20)
    }
}
