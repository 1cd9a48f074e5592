import Crypto
import Foundation

/// The `download_config_specs` v2 document that Statsig's current server SDKs (server-core) read:
/// the spec collections keyed by name, each rule's conditions as keys into one `condition_map`,
/// and `experiment_to_layer` instead of v1's `layers`. Built from the same compiled specs as v1.
public enum DCSv2 {
    public struct Document: Sendable {
        /// The JSON body.
        public let bytes: [UInt8]
        /// A digest of the rules (not of `time`): equal on every node for the same rules.
        public let checksum: String
    }

    public static func document(
        gates: [Spec], configs: [Spec], layers: [Spec], layerExperiments: [String: [String]],
        paramStores: [ParameterStore] = [], time: Int64, defaultEnvironment: String
    ) -> Document {
        var conditions: [String: JSONValue] = [:]
        func collection(_ specs: [Spec]) -> JSONValue {
            var out: [String: JSONValue] = [:]
            for spec in specs { out[spec.name] = encode(spec, into: &conditions) }
            return .object(out)
        }
        var experimentToLayer: [String: JSONValue] = [:]
        for (layer, experiments) in layerExperiments {
            for e in experiments { experimentToLayer[e] = .string(layer) }
        }
        var body: [String: JSONValue] = [
            "feature_gates": collection(gates),
            "dynamic_configs": collection(configs),
            "layer_configs": collection(layers),
            "experiment_to_layer": .object(experimentToLayer),
            "condition_map": .object(conditions),
            "default_environment": .string(defaultEnvironment),
            "param_stores": .object(Dictionary(uniqueKeysWithValues: paramStores.map { ($0.name, $0.dcsJSON()) })),
            "sdk_flags": [:],
            "sdk_configs": [:],
            // Zero rates: SDKs send none of their own diagnostics events to Vane.
            "diagnostics": ["initialize": 0, "dcs": 0, "idlist": 0, "logevent": 0, "api_call": 0],
        ]
        let checksum = digest(.object(body))
        body["checksum"] = .string(checksum)
        body["response_format"] = "dcs-v2"
        body["has_updates"] = true
        body["time"] = .int(time)
        return Document(bytes: JSONValue.object(body).serializedBytes(), checksum: checksum)
    }

    /// One spec without its name, its rules' conditions replaced by condition keys. Server-core
    /// does not look at `enabled` (a disabled spec has no rules there) and has no `multi_pass_gate`
    /// or `multi_fail_gate`: such a rule becomes one rule per gate, with the same id and salt, which
    /// first-match evaluation makes equivalent.
    static func encode(_ spec: Spec, into conditions: inout [String: JSONValue]) -> JSONValue {
        guard case .object(var o) = spec.toJSON() else { return .null }
        o["name"] = nil
        let rules = spec.enabled ? spec.rules.flatMap(expandingMultiGates) : []
        o["rules"] = .array(rules.map { rule in
            guard case .object(var r) = rule.toJSON() else { return .null }
            r["conditions"] = .array(rule.conditions.map { c in
                let json = c.toJSON()
                let key = digest(json, length: 16)
                conditions[key] = json
                return .string(key)
            })
            return .object(r)
        })
        return .object(o)
    }

    /// Rules without multi-gate conditions: the cartesian product of each one's gates (at most
    /// `maxExpansion` rules; past that the rule is kept as it is, and server-core reports it unsupported).
    static func expandingMultiGates(_ rule: Rule) -> [Rule] {
        var combinations: [[Condition]] = [[]]
        for c in rule.conditions {
            let single: String
            switch c.type {
            case "multi_pass_gate": single = "pass_gate"
            case "multi_fail_gate": single = "fail_gate"
            default:
                combinations = combinations.map { $0 + [c] }
                continue
            }
            let gates = (c.targetValue.arrayValue ?? [c.targetValue]).compactMap(\.stringValue)
            let alternatives = gates.map {
                Condition(type: single, operator: nil, targetValue: .string($0), field: nil, additionalValues: [:], idType: c.idType)
            }
            guard combinations.count * max(alternatives.count, 1) <= maxExpansion else { return [rule] }
            combinations = combinations.flatMap { prefix in alternatives.map { prefix + [$0] } }
        }
        return combinations.map { conditions in
            var r = rule
            r.conditions = conditions
            return r
        }
    }

    static let maxExpansion = 256

    /// Hex SHA-256 of the canonical (sorted-key) serialisation: the same value gives the same key
    /// in every process, so condition keys and checksums are stable across restarts and nodes.
    static func digest(_ value: JSONValue, length: Int = 32) -> String {
        let hash = SHA256.hash(data: Data(value.serializedBytes(sortedKeys: true)))
        return String(hash.map { String(format: "%02x", $0) }.joined().prefix(length))
    }
}
