/// Turns console entities into the SDK rules format (`download_config_specs` v1).
///
/// Environments: a rule limited to some environments becomes, for a key that sees every
/// environment, an extra `environment_field tier any [...]` condition (as Statsig does); for a key
/// scoped to one environment, rules for other environments are left out.
public struct SpecCompiler: Sendable {
    public let environment: String?

    public init(environment: String?) { self.environment = environment }

    public struct Output: Sendable {
        public var gates: [Spec] = []
        public var configs: [Spec] = []
        public var layers: [Spec] = []
        public var layerExperiments: [String: [String]] = [:]
    }

    public func compile(_ entities: [Entity]) -> Output {
        var out = Output()
        let byLayer = Dictionary(grouping: entities.filter { $0.kind == .experiment && $0.layer != nil }, by: { $0.layer! })
        let layersByName = Dictionary(
            entities.filter { $0.kind == .layer }.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let holdouts = Set(entities.filter { $0.kind == .holdout }.map(\.name))
        for e in entities.sorted(by: { $0.name < $1.name }) {
            switch e.kind {
            case .gate: out.gates.append(heldOut(gate(e), e, holdouts: holdouts))
            case .segment: out.gates.append(segment(e))
            case .holdout: out.gates.append(holdout(e))
            case .dynamicConfig: out.configs.append(dynamicConfig(e))
            case .experiment: out.configs.append(heldOut(experiment(e, layer: e.layer.flatMap { layersByName[$0] }), e, holdouts: holdouts))
            case .layer:
                let members = (byLayer[e.name] ?? []).sorted { $0.name < $1.name }
                out.layers.append(layer(e, experiments: members))
                out.layerExperiments[e.name] = members.map(\.name)
            }
        }
        return out
    }

    // MARK: - Rules shared by gates, configs and segments

    private func rules(_ e: Entity, returnValue: (EntityRule) -> JSONValue) -> [Rule] {
        (e.rules ?? []).enumerated().compactMap { i, r in
            var conditions = r.conditions.map { condition($0, defaultIdType: e.effectiveIdType) }
            if let envs = r.environments {
                if let environment {
                    guard envs.contains(environment) else { return nil }
                } else {
                    conditions.append(
                        Condition(type: "environment_field", operator: "any", targetValue: .array(envs.map { .string($0) }),
                                  field: "tier", idType: e.effectiveIdType))
                }
            }
            let id = r.id ?? "\(e.name):rule:\(i)"
            return Rule(
                id: id, name: r.name, salt: r.salt ?? id, passPercentage: r.passPercentage, conditions: conditions,
                returnValue: returnValue(r), idType: r.idType ?? e.effectiveIdType, groupName: r.groupName,
                isExperimentGroup: r.isExperimentGroup, configDelegate: r.configDelegate)
        }
    }

    /// Console condition types (Statsig's Console API names) map onto SDK condition types;
    /// SDK condition types pass through unchanged.
    func condition(_ c: EntityCondition, defaultIdType: String) -> Condition {
        let idType = c.idType ?? defaultIdType
        var type = c.type.lowercased()
        var field = c.field
        var target = c.targetValue ?? .null
        switch type {
        case "passes_gate": type = "pass_gate"
        case "fails_gate": type = "fail_gate"
        case "passes_segment", "fails_segment":
            type = type == "passes_segment" ? "pass_gate" : "fail_gate"
            if case .string(let s) = target, !s.hasPrefix("segment:") { target = .string("segment:" + s) }
        case "user_id": type = "user_field"; field = "userID"
        case "email": type = "user_field"; field = "email"
        case "ip_address": type = "user_field"; field = "ip"
        case "app_version": type = "user_field"; field = "appVersion"
        case "locale": type = "user_field"; field = "locale"
        case "custom_field": type = "user_field"
        case "country": type = "ip_based"; field = "country"
        case "browser_name", "browser_version", "os_name", "os_version": field = type; type = "ua_based"
        case "environment_tier": type = "environment_field"; field = "tier"
        case "time": type = "current_time"
        default: break
        }
        return Condition(
            type: type, operator: c.operator, targetValue: target, field: field,
            additionalValues: c.additionalValues ?? [:], idType: idType)
    }

    // MARK: - Entities

    func gate(_ e: Entity) -> Spec {
        Spec(
            name: e.name, type: "feature_gate", entity: "feature_gate", salt: e.salt ?? e.name,
            enabled: e.isEnabled ?? true, defaultValue: false, idType: e.effectiveIdType,
            rules: rules(e) { _ in true }, version: e.version)
    }

    /// A holdout is a gate that passes for the units it holds out (Statsig's `entity: "holdout"`).
    func holdout(_ e: Entity) -> Spec {
        Spec(
            name: e.name, type: "feature_gate", entity: "holdout", salt: e.salt ?? e.name, enabled: e.isEnabled ?? true,
            defaultValue: false, idType: e.effectiveIdType, rules: rules(e) { _ in true }, version: e.version)
    }

    /// `spec` with a rule per attached holdout ahead of its own: units the holdout holds out match
    /// it and get the default (a gate fails; a config returns its default value), as Statsig serves it.
    func heldOut(_ spec: Spec, _ e: Entity, holdouts: Set<String>) -> Spec {
        let attached = (e.holdouts ?? []).filter(holdouts.contains)
        guard !attached.isEmpty else { return spec }
        var out = spec
        out.rules = attached.map { name in
            Rule(id: "holdout:" + name, name: "Holdout " + name, salt: "holdout:" + name, passPercentage: 0,
                 conditions: [Condition(type: "pass_gate", targetValue: .string(name), idType: spec.idType)],
                 returnValue: spec.type == "feature_gate" ? false : spec.defaultValue, idType: spec.idType)
        } + spec.rules
        return out
    }

    func segment(_ e: Entity) -> Spec {
        var specRules: [Rule]
        if e.segmentType == "id_list" {
            let list = e.idList ?? e.name
            specRules = [
                Rule(
                    id: "id_list", name: "ID list", salt: "id_list", passPercentage: 100,
                    conditions: [Condition(type: "unit_id", operator: "in_segment_list", targetValue: .string(list),
                                           idType: e.effectiveIdType)],
                    returnValue: true, idType: e.effectiveIdType)
            ]
        } else {
            specRules = rules(e) { _ in true }
        }
        let name = e.name.hasPrefix("segment:") ? e.name : "segment:" + e.name
        return Spec(
            name: name, type: "feature_gate", entity: "segment", salt: e.salt ?? e.name, enabled: e.isEnabled ?? true,
            defaultValue: false, idType: e.effectiveIdType, rules: specRules)
    }

    func dynamicConfig(_ e: Entity) -> Spec {
        let defaultValue = e.defaultValue ?? .object([:])
        return Spec(
            name: e.name, type: "dynamic_config", entity: "dynamic_config", salt: e.salt ?? e.name,
            enabled: e.isEnabled ?? true, defaultValue: defaultValue, idType: e.effectiveIdType,
            rules: rules(e) { $0.returnValue ?? defaultValue }, version: e.version)
    }

    func experiment(_ e: Entity, layer: Entity?) -> Spec {
        let idType = e.effectiveIdType
        let salt = e.salt ?? e.name
        let defaults = layer?.defaultValue?.objectValue ?? e.defaultValue?.objectValue ?? [:]
        func value(_ params: [String: JSONValue]) -> JSONValue {
            .object(defaults.merging(params) { _, new in new })
        }
        let specRules: [Rule]
        if let groups = e.groups {
            switch e.status ?? .setup {
            case .setup:
                specRules = [Rule(id: "prestart", name: "Prestart", passPercentage: 100, conditions: [.public],
                                  returnValue: .object(defaults), idType: idType)]
            case .abandoned:
                specRules = [Rule(id: "abandoned", name: "Abandoned", passPercentage: 100, conditions: [.public],
                                  returnValue: .object(defaults), idType: idType)]
            case .decisionMade:
                let launched = groups.first { $0.name == e.launchedGroup || $0.id == e.launchedGroup }
                specRules = [Rule(id: "launchedGroup", name: "Launched Group", passPercentage: 100, conditions: [.public],
                                  returnValue: value(launched?.parameterValues ?? [:]), idType: idType,
                                  groupName: launched?.name, isExperimentGroup: false)]
            case .active:
                var r: [Rule] = []
                if let layer {
                    r.append(Rule(
                        id: "layerAssignment", name: "Layer Assignment", passPercentage: 100,
                        conditions: [Condition(type: "user_bucket", operator: "none",
                                               targetValue: .array((e.layerBuckets ?? []).map { .int(Int64($0)) }),
                                               additionalValues: ["salt": .string(layer.salt ?? layer.name)], idType: idType)],
                        returnValue: .object(defaults), idType: idType))
                }
                if let gate = e.targetingGate {
                    r.append(Rule(id: "targetingGate", name: "Targeting Gate", passPercentage: 0,
                                  conditions: [Condition(type: "fail_gate", targetValue: .string(gate), idType: idType)],
                                  returnValue: .object(defaults), idType: idType))
                }
                // Inside a layer the layer's buckets do the allocation; otherwise the experiment's own buckets do.
                let allocated = layer == nil ? SafeNumber.roundedInt((e.allocation ?? 100) * 10, clampedTo: 0...1000) : 1000
                var cumulative = 0.0
                for (i, g) in groups.enumerated() {
                    cumulative += g.size
                    let threshold = i == groups.count - 1 && abs(cumulative - 100) < 1e-6
                        ? allocated : SafeNumber.roundedInt((Double(allocated) * cumulative / 100 + 1e-9).rounded(.down), clampedTo: 0...1000)
                    let gid = g.id ?? "\(e.name):group:\(i)"
                    r.append(Rule(
                        id: gid, name: g.name, salt: gid, passPercentage: 100,
                        conditions: [Condition(type: "user_bucket", operator: "lt", targetValue: .int(Int64(threshold)),
                                               additionalValues: ["salt": .string(salt)], idType: idType)],
                        returnValue: value(g.parameterValues), idType: idType, groupName: g.name, isExperimentGroup: true))
                }
                specRules = r
            }
        } else {
            specRules = rules(e) { $0.returnValue ?? .object(defaults) }
        }
        var explicit = e.explicitParameters
        if explicit == nil, layer != nil {
            explicit = Array(Set((e.groups ?? []).flatMap { $0.parameterValues.keys })).sorted()
        }
        let isActive = e.isActive ?? (e.status == .active)
        return Spec(
            name: e.name, type: "dynamic_config", entity: "experiment", salt: salt, enabled: e.isEnabled ?? true,
            defaultValue: e.groups == nil ? (e.defaultValue ?? .object(defaults)) : .object(defaults), idType: idType,
            rules: specRules, isActive: isActive, hasSharedParams: e.hasSharedParams ?? (layer != nil),
            explicitParameters: explicit, version: e.version)
    }

    func layer(_ e: Entity, experiments: [Entity]) -> Spec {
        let idType = e.effectiveIdType
        let defaults = e.defaultValue ?? .object([:])
        var specRules: [Rule]
        if e.imported == true, e.rules != nil {
            specRules = rules(e) { $0.returnValue ?? defaults }
        } else {
            specRules = experiments.filter { $0.status == .active && $0.groups != nil }.map { exp in
                Rule(
                    id: "layerAssignment:\(exp.name)", name: "Experiment Assignment", passPercentage: 100,
                    conditions: [Condition(type: "user_bucket", operator: "any",
                                           targetValue: .array((exp.layerBuckets ?? []).map { .int(Int64($0)) }),
                                           additionalValues: ["salt": .string(e.salt ?? e.name)], idType: idType)],
                    returnValue: defaults, idType: idType, configDelegate: exp.name)
            }
        }
        return Spec(
            name: e.name, type: "dynamic_config", entity: "layer", salt: e.salt ?? e.name, enabled: e.isEnabled ?? true,
            defaultValue: defaults, idType: idType, rules: specRules, explicitParameters: e.explicitParameters ?? [],
            version: e.version)
    }
}

extension SpecCompiler {
    /// Picks `count` of the 1000 layer buckets not held by other running experiments.
    public static func allocateLayerBuckets(count: Int, taken: Set<Int>) -> [Int]? {
        let free = (0..<1000).filter { !taken.contains($0) }
        guard count >= 0, free.count >= count else { return nil }
        return Array(free.prefix(count))
    }
}
