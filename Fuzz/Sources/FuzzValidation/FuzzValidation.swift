import Foundation
import FuzzSupport
import VaneCore

// Console entity bodies (JSON, as POST /console/v1/<kind> receives them) through the console's
// path: server-managed fields dropped, non-finite numbers refused, decoded (Foundation's
// JSONDecoder, as the API does), validated, and when valid, given ids and salts, taken through the
// experiment lifecycle (setup, active with layer buckets, decision made, abandoned), compiled for
// every key scope and evaluated. Nothing may trap; an entity that passes validation compiles
// without unsupported specs, serialises to JSON, and still passes validation when read back.

let kinds = EntityKind.allCases
let environments = ["development", "staging", "production"]
let users: [StatsigUser] = [
    StatsigUser(userID: "user-1", email: "a@vane.dev", appVersion: "1.2.3", custom: ["age": 21], statsigEnvironment: ["tier": "staging"]),
    StatsigUser(userID: "99999999999999999999", ip: "1.2.3.4", country: "US", appVersion: "99999999999999999999.1",
                customIDs: ["companyID": "c-1", "stableID": "s"]),
    StatsigUser(),
]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard case .object(var o)? = try? JSONValue.parse(UnsafeBufferPointer(start: data, count: size)) else { return 0 }
    let kind = o["kind"]?.stringValue.flatMap(EntityKind.init(rawValue:)) ?? kinds[size % kinds.count]
    o["kind"] = .string(kind.rawValue)
    if kind == .segment, o["segmentType"] == nil, let t = o["type"] { o["segmentType"] = t }
    // Server-managed; the lifecycle below sets status and buckets itself.
    for key in ["createdTime", "lastModifiedTime", "lastModifierName", "version", "imported", "layerBuckets", "status",
                "startTime", "endTime", "launchedGroup"] {
        o[key] = nil
    }
    let body = JSONValue.object(o)
    if let name = o["name"]?.stringValue { _ = try? Validation.checkName(name) }
    guard body.pathOfNonFiniteNumber() == nil else { return 0 }
    guard var entity = try? JSONDecoder().decode(Entity.self, from: Data(body.serializedBytes())) else { return 0 }
    do {
        try Validation.check(entity: entity, environments: environments)
    } catch {
        return 0
    }
    entity.salt = entity.salt ?? "salt"
    if var rules = entity.rules {
        for i in rules.indices where rules[i].id == nil { rules[i].id = "rule\(i)" }
        entity.rules = rules
    }
    if var groups = entity.groups {
        for i in groups.indices where groups[i].id == nil { groups[i].id = "group\(i)" }
        entity.groups = groups
    }

    // It is stored and answered as JSON, and read back when edited.
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    guard let stored = try? encoder.encode(entity) else {
        fuzzCheck(false, "a valid entity does not encode")
        return 0
    }
    fuzzCheck((try? JSONValue.parse(Array(stored))) != nil, "an encoded entity is not JSON the parser reads")
    if let back = try? JSONDecoder().decode(Entity.self, from: stored) {
        fuzzCheck((try? Validation.check(entity: back, environments: environments)) != nil, "a valid entity read back is invalid")
    } else {
        fuzzCheck(false, "an encoded entity does not decode")
    }

    // Entities it references, as the console requires them to exist.
    var others: [Entity] = []
    if let layer = entity.layer {
        var l = Entity(kind: .layer, name: layer)
        l.defaultValue = ["p": 1, "q": "layer"]
        others.append(l)
    }
    if let gate = entity.targetingGate {
        var g = Entity(kind: .gate, name: gate)
        g.rules = [EntityRule(id: "all", name: "all", conditions: [EntityCondition(type: "public")])]
        others.append(g)
    }
    let statuses: [ExperimentStatus?] = entity.kind == .experiment ? [.setup, .active, .decisionMade, .abandoned] : [nil]
    for status in statuses {
        var e = entity
        if let status {
            e.status = status
            if status == .active, e.layer != nil {
                let count = SafeNumber.roundedInt((e.allocation ?? 100) * 10, clampedTo: 0...1000)
                e.layerBuckets = SpecCompiler.allocateLayerBuckets(count: count, taken: [1, 2, 999])
            }
            if status == .decisionMade { e.launchedGroup = e.groups?.last?.name }
        }
        for environment in [nil, "staging"] as [String?] {
            let out = SpecCompiler(environment: environment).compile([e] + others)
            let rules = RuleSet(time: 1_700_000_000_000, gates: out.gates, configs: out.configs, layers: out.layers,
                                layerExperiments: out.layerExperiments, idLists: [:], defaultEnvironment: "production")
            fuzzCheck(rules.unsupported.isEmpty, "a valid \(e.kind.rawValue) compiles to unsupported specs: \(rules.unsupported)")
            var evaluator = Evaluator(rules: rules)
            evaluator.clock = { 1_700_000_000_000 }
            for user in users {
                for s in rules.gateSpecs { _ = evaluator.checkGate(user, s.name) }
                for s in rules.configSpecs { _ = evaluator.getConfig(user, s.name) }
                for s in rules.layerSpecs { _ = evaluator.getLayer(user, s.name) }
                let bytes = ClientInitializeFormatter(evaluator: evaluator, hashing: .none).responseBytes(for: user)
                fuzzCheck((try? JSONValue.parse(bytes)) != nil, "the initialize response is not JSON")
            }
            for spec in out.gates + out.configs + out.layers {
                fuzzCheck((try? Spec(json: spec.toJSON())) == spec.withRuleSalts, "a compiled spec does not survive its JSON: \(spec.name)")
            }
        }
    }
    return 0
}

@main
enum FuzzValidationMain {
    static func main() {
        runFuzzer { data, size in fuzz(data ?? emptyInput, size) }
    }
}
