import Foundation
import FuzzSupport
import VaneCore

// Random rule sets × random users. An input that starts with `{` is a JSON document: a Statsig
// `download_config_specs` v1 document, optionally with `"__users": [...]` (users as SDKs send
// them) and `"__now": <ms>`. Any other input is read as choices from the tables below, which build
// specs with every condition type and operator, targets of every JSON shape (versions, dates,
// extreme numbers, lists), rules that reference each other (gates, delegates, layers) and users
// with extreme field values; that way coverage grows without needing valid JSON.
//
// Each document is imported as console entities (StatsigImport), compiled back (SpecCompiler), and
// loaded as SDK specs directly; then every spec is evaluated for every user, and the client
// initialize response, the v2 document and the specs' JSON are written. Nothing may trap; what
// is written must parse; a spec read from its own JSON is the same spec.

let names = ["g1", "g2", "exp", "cfg", "layer", "segment:seg", "holdout", "missing", "G1", ""]
let entities = ["feature_gate", "segment", "holdout", "dynamic_config", "experiment", "layer", "autotune", "weird"]
let types = ConditionTypes.all
let operators = ConditionTypes.operators
let fields = ["age", "userID", "email", "ip", "userAgent", "country", "locale", "appVersion", "tier", "Tier", "os_name",
              "os_version", "browser_name", "browser_version", "AGE", "level", "missing", ""]
let idTypes = ["userID", "stableID", "companyID", "CompanyID", "userid", ""]
let clocks: [Int64] = [1_700_000_000_000, 0, -1, Int64.max, Int64.min, 253_402_300_799_999]

enum ConditionTypes {
    static let all = [
        "public", "pass_gate", "fail_gate", "multi_pass_gate", "multi_fail_gate", "user_field", "environment_field",
        "current_time", "user_bucket", "unit_id", "ip_based", "ua_based", "target_app", "PUBLIC", "unknown_type",
    ]
    static let operators: [String?] = [
        nil, "gt", "gte", "lt", "lte", "version_gt", "version_gte", "version_lt", "version_lte", "version_eq",
        "version_neq", "any", "none", "any_case_sensitive", "none_case_sensitive", "str_starts_with_any",
        "str_ends_with_any", "str_contains_any", "str_contains_none", "str_matches", "eq", "neq", "before", "after",
        "on", "in_segment_list", "not_in_segment_list", "array_contains_any", "array_contains_none",
        "array_contains_all", "not_array_contains_all", "GT", "Any", "bogus",
    ]
}

let patterns = ["^a", "b$", "[0-9]+", "a|b", "(", "\\", ".*", "^\\d{1,3}$", "[[:alpha:]]", "(?i)ABC", "\u{0}"]

func target(_ input: inout FuzzInput, type: String, op: String?) -> JSONValue {
    switch input.byte() % 8 {
    case 0: return .string(input.string(names))
    case 1: return .array((0..<input.int(in: 0...3)).map { _ in .string(input.string(names)) })
    case 2 where op == "str_matches": return .string(input.pick(patterns))
    case 3: return .array((0..<input.int(in: 0...5)).map { _ in FuzzValues.value(&input, depth: 1) })
    default: return FuzzValues.value(&input)
    }
}

func condition(_ input: inout FuzzInput) -> JSONValue {
    let type = input.pick(types)
    let op = input.pick(operators)
    var o: [String: JSONValue] = [
        "type": .string(type), "targetValue": target(&input, type: type, op: op),
        "idType": .string(input.pick(idTypes)),
    ]
    if let op { o["operator"] = .string(op) }
    if input.bool() { o["field"] = .string(input.string(fields)) }
    if input.bool() { o["additionalValues"] = ["salt": FuzzValues.value(&input, depth: 0)] }
    return .object(o)
}

func rule(_ input: inout FuzzInput, index: Int) -> JSONValue {
    var o: [String: JSONValue] = [
        "id": .string(input.bool() ? "rule\(index)" : input.string(names)),
        "passPercentage": input.bool() ? .double(input.pick([0, 0.001, 37.5, 50, 99.999, 100, -1, 100.0001, .infinity, 1e308]))
            : FuzzValues.value(&input, depth: 0),
        "conditions": .array((0..<input.int(in: 0...3)).map { _ in condition(&input) }),
        "returnValue": input.bool() ? ["p": FuzzValues.value(&input, depth: 1)] : FuzzValues.value(&input, depth: 1),
        "idType": .string(input.pick(idTypes)),
    ]
    if input.bool() { o["salt"] = .string(input.string(["s", "rule-salt", ""])) }
    if input.bool() { o["groupName"] = .string(input.string(["Control", "Test"])) }
    if input.bool() { o["isExperimentGroup"] = .bool(input.bool()) }
    if input.byte() % 4 == 0 { o["configDelegate"] = .string(input.string(names)) }
    return .object(o)
}

func spec(_ input: inout FuzzInput, section: Int) -> JSONValue {
    var o: [String: JSONValue] = [
        "name": .string(input.string(names)),
        "type": .string(section == 0 ? "feature_gate" : "dynamic_config"),
        "entity": .string(input.pick(entities)),
        "salt": .string(input.string(["salt", "", "a.b"])),
        "enabled": .bool(input.byte() % 8 != 0),
        "idType": .string(input.pick(idTypes)),
        "defaultValue": section == 0 ? .bool(false) : (input.bool() ? ["p": .int(1), "q": .string("d")] : FuzzValues.value(&input, depth: 1)),
        "rules": .array((0..<input.int(in: 0...4)).map { rule(&input, index: $0) }),
    ]
    if input.bool() { o["isActive"] = .bool(input.bool()) }
    if input.bool() { o["hasSharedParams"] = .bool(input.bool()) }
    if input.bool() { o["explicitParameters"] = .array([.string("p"), .string(input.string(names))]) }
    if input.bool() { o["version"] = FuzzValues.value(&input, depth: 0) }
    return .object(o)
}

func user(_ input: inout FuzzInput) -> JSONValue {
    var o: [String: JSONValue] = [:]
    for key in ["userID", "email", "ip", "userAgent", "country", "locale", "appVersion"] where input.bool() {
        o[key] = FuzzValues.value(&input, depth: 0)
    }
    if input.bool() {
        var custom: [String: JSONValue] = [:]
        for _ in 0..<input.int(in: 0...3) { custom[input.string(fields)] = FuzzValues.value(&input) }
        o["custom"] = .object(custom)
    }
    if input.bool() { o["privateAttributes"] = [input.string(fields): FuzzValues.value(&input)] }
    if input.bool() { o["customIDs"] = [input.pick(idTypes): FuzzValues.value(&input, depth: 0)] }
    if input.bool() { o["statsigEnvironment"] = ["tier": FuzzValues.value(&input, depth: 0)] }
    return .object(o)
}

func generatedDocument(_ input: inout FuzzInput) -> JSONValue {
    var doc: [String: JSONValue] = [
        "feature_gates": .array((0..<input.int(in: 0...3)).map { _ in spec(&input, section: 0) }),
        "dynamic_configs": .array((0..<input.int(in: 0...3)).map { _ in spec(&input, section: 1) }),
        "layer_configs": .array((0..<input.int(in: 0...1)).map { _ in spec(&input, section: 2) }),
        "time": .int(input.pick(FuzzValues.int64s)),
        "__now": .int(input.pick(clocks)),
    ]
    if input.bool() { doc["layers"] = [input.string(names): .array([.string(input.string(names))])] }
    doc["__users"] = .array((0..<input.int(in: 1...3)).map { _ in user(&input) })
    return .object(doc)
}

let defaultUsers: [JSONValue] = [
    ["userID": "user-1", "email": "a@vane.dev", "custom": ["age": 21], "statsigEnvironment": ["tier": "production"]],
    ["customIDs": ["companyID": "c-9", "stableID": "s-1"], "appVersion": "1.2.3", "country": "US"],
    [:],
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let document: JSONValue
    if size > 0, data[0] == UInt8(ascii: "{") {
        guard let parsed = try? JSONValue.parse(UnsafeBufferPointer(start: data, count: size)) else { return 0 }
        document = parsed
    } else {
        var input = FuzzInput(data, size)
        document = generatedDocument(&input)
    }
    run(document)
    return 0
}

func run(_ document: JSONValue) {
    var users: [StatsigUser] = []
    for u in (document["__users"]?.arrayValue ?? defaultUsers).prefix(4) {
        if let user = try? StatsigUser(json: u) {
            _ = user.toJSON(includePrivate: true).serializedBytes()
            users.append(user)
        }
        _ = try? OFREPContext.user(u, customIDTypes: ["companyID"], environment: "production")
    }
    let now = document["__now"]?.int64Value ?? 1_700_000_000_000
    let time = document["time"]?.int64Value ?? 0

    // The SDK's view: the document's specs as they are.
    var raw: [[Spec]] = [[], [], []]
    for (i, key) in ["feature_gates", "dynamic_configs", "layer_configs"].enumerated() {
        for item in (document[key]?.arrayValue ?? []).prefix(16) {
            guard let spec = try? Spec(json: item) else { continue }
            let again = try? Spec(json: spec.toJSON())
            fuzzCheck(again == spec.withRuleSalts, "Spec(json: spec.toJSON()) differs for \(spec.name)")
            raw[i].append(spec)
        }
    }
    var layerExperiments: [String: [String]] = [:]
    for (layer, list) in document["layers"]?.objectValue ?? [:] {
        layerExperiments[layer] = (list.arrayValue ?? []).compactMap(\.stringValue)
    }
    evaluate(RuleSet(time: time, gates: raw[0], configs: raw[1], layers: raw[2], layerExperiments: layerExperiments,
                     idLists: ["seg": ["abcdefgh"]], defaultEnvironment: "production"),
             users: users, now: now)

    // The console's view: imported as entities, compiled back, for a key that sees every
    // environment (the initialize response and the v2 document too) and for one scoped to production.
    guard let imported = try? StatsigImport(document: document) else { return }
    for environment in [nil, "production"] as [String?] {
        let out = SpecCompiler(environment: environment).compile(imported.entities)
        let rules = RuleSet(time: time, gates: out.gates, configs: out.configs, layers: out.layers,
                            layerExperiments: out.layerExperiments, defaultEnvironment: "production")
        fuzzCheck(rules.unsupported.isEmpty, "an imported spec no longer compiles: \(rules.unsupported)")
        evaluate(rules, users: users, now: now, initialize: environment == nil)
        if environment == nil {
            let v2 = DCSv2.document(gates: out.gates, configs: out.configs, layers: out.layers,
                                    layerExperiments: out.layerExperiments, time: time, defaultEnvironment: "production")
            fuzzCheck((try? JSONValue.parse(v2.bytes)) != nil, "the v2 document is not JSON")
        }
    }
}

func evaluate(_ rules: RuleSet, users: [StatsigUser], now: Int64, initialize: Bool = true) {
    var evaluator = Evaluator(rules: rules)
    evaluator.clock = { now }
    for user in users {
        for s in rules.gateSpecs { check(evaluator.checkGate(user, s.name)) }
        for s in rules.configSpecs { check(evaluator.getConfig(user, s.name)) }
        for s in rules.layerSpecs { check(evaluator.getLayer(user, s.name)) }
        check(evaluator.checkGate(user, "missing"))
        if initialize {
            let bytes = ClientInitializeFormatter(evaluator: evaluator, hashing: .djb2).responseBytes(for: user)
            fuzzCheck((try? JSONValue.parse(bytes)) != nil, "the initialize response is not JSON:\n\(String(decoding: bytes, as: UTF8.self))")
        }
    }
}

func check(_ r: EvaluationResult) {
    _ = r.jsonValue.serializedBytes()
    _ = r.secondaryExposures.map { $0.toJSON() }
    _ = r.undelegatedSecondaryExposures
}

@main
enum FuzzStatsigMain {
    static func main() {
        runFuzzer { data, size in fuzz(data ?? emptyInput, size) }
    }
}
