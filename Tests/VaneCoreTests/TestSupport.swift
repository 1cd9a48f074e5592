import Foundation
import Testing
@testable import VaneCore

/// Builders for small rule sets, so each test states only what it is about.
enum Build {
    static func condition(
        _ type: String, _ op: String? = nil, _ target: JSONValue = .null, field: String? = nil,
        idType: String = "userID", salt: String? = nil
    ) -> Condition {
        var additional: [String: JSONValue] = [:]
        if let salt { additional["salt"] = .string(salt) }
        return Condition(
            type: type, operator: op, targetValue: target, field: field, additionalValues: additional, idType: idType)
    }

    /// `user_field <name> <op> <target>`.
    static func field(_ name: String, _ op: String, _ target: JSONValue) -> Condition {
        condition("user_field", op, target, field: name)
    }

    static func passGate(_ gate: String) -> Condition { condition("pass_gate", nil, .string(gate)) }
    static func failGate(_ gate: String) -> Condition { condition("fail_gate", nil, .string(gate)) }

    static func rule(
        _ id: String, _ conditions: [Condition] = [Condition.public], pct: Double = 100,
        returnValue: JSONValue = .bool(true), salt: String? = nil, idType: String = "userID",
        groupName: String? = nil, isExperimentGroup: Bool? = nil, configDelegate: String? = nil
    ) -> Rule {
        Rule(
            id: id, salt: salt ?? id, passPercentage: pct, conditions: conditions, returnValue: returnValue,
            idType: idType, groupName: groupName, isExperimentGroup: isExperimentGroup, configDelegate: configDelegate)
    }

    static func gate(
        _ name: String, _ rules: [Rule], salt: String? = nil, enabled: Bool = true, entity: String = "feature_gate",
        version: Int64? = nil
    ) -> Spec {
        Spec(
            name: name, type: "feature_gate", entity: entity, salt: salt ?? name + "-salt", enabled: enabled,
            defaultValue: .bool(false), rules: rules, version: version)
    }

    static func config(
        _ name: String, defaultValue: JSONValue, _ rules: [Rule], salt: String? = nil,
        entity: String = "dynamic_config", enabled: Bool = true, isActive: Bool? = nil,
        explicitParameters: [String]? = nil, version: Int64? = nil
    ) -> Spec {
        Spec(
            name: name, type: "dynamic_config", entity: entity, salt: salt ?? name + "-salt", enabled: enabled,
            defaultValue: defaultValue, rules: rules, isActive: isActive, explicitParameters: explicitParameters,
            version: version)
    }

    static func evaluator(
        gates: [Spec] = [], configs: [Spec] = [], layers: [Spec] = [], layerExperiments: [String: [String]] = [:],
        idLists: [String: Set<String>] = [:], defaultEnvironment: String? = nil
    ) -> Evaluator {
        Evaluator(
            rules: RuleSet(
                time: 1_700_000_000_000, gates: gates, configs: configs, layers: layers,
                layerExperiments: layerExperiments, idLists: idLists, defaultEnvironment: defaultEnvironment))
    }

    /// Evaluates one condition alone: gate "g" with a single 100% rule "r" holding it.
    static func passes(
        _ condition: Condition, _ user: StatsigUser, idLists: [String: Set<String>] = [:],
        defaultEnvironment: String? = nil, clock: (@Sendable () -> Int64)? = nil
    ) -> Bool {
        var ev = evaluator(
            gates: [gate("g", [rule("r", [condition])])], idLists: idLists, defaultEnvironment: defaultEnvironment)
        if let clock { ev.clock = clock }
        let r = ev.checkGate(user, "g")
        // A single 100% rule: the rule id says whether the condition held.
        #expect(r.ruleID == (r.value ? "r" : "default"))
        return r.value
    }

    static func exposure(_ gate: String, _ value: Bool, _ ruleID: String) -> SecondaryExposure {
        SecondaryExposure(gate: gate, gateValue: value ? "true" : "false", ruleID: ruleID)
    }
}
