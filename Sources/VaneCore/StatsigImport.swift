/// Reads a Statsig `download_config_specs` (v1) document into console entities, so a team can move
/// from Statsig without retyping and tests can load any rule set. Rules keep their ids and salts,
/// so every unit keeps its bucket.
public struct StatsigImport: Sendable {
    public struct Skipped: Sendable, Hashable {
        public let name: String
        public let reason: String
    }

    public var entities: [Entity] = []
    public var skipped: [Skipped] = []
    /// Parameter stores (`param_stores`, as DCS v2 carries them).
    public var parameterStores: [ParameterStore] = []

    public init(document: JSONValue) throws {
        guard case .object(let o) = document else { throw SpecFormatError("the document must be a JSON object") }
        guard o["feature_gates"] != nil || o["dynamic_configs"] != nil || o["layer_configs"] != nil else {
            throw SpecFormatError("not a download_config_specs document: no feature_gates, dynamic_configs or layer_configs")
        }
        for (name, store) in (o["param_stores"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            do {
                try Validation.checkName(name)
                parameterStores.append(ParameterStore(
                    name: name, parameters: try ParameterStore.validatedParameters(store["parameters"])))
            } catch let e as ValidationError {
                skipped.append(Skipped(name: name, reason: e.description))
            }
        }
        var layerOf: [String: String] = [:]
        for (layer, exps) in o["layers"]?.objectValue ?? [:] {
            for e in exps.arrayValue ?? [] { if let n = e.stringValue { layerOf[n] = layer } }
        }
        for (key, section) in [("feature_gates", 0), ("dynamic_configs", 1), ("layer_configs", 2)] {
            guard let list = o[key] else { continue }
            guard let items = list.arrayValue else { throw SpecFormatError("\(key) must be a list") }
            for item in items {
                let spec: Spec
                do { spec = try Spec(json: item) } catch {
                    skipped.append(Skipped(name: item["name"]?.stringValue ?? "?", reason: "\(error)"))
                    continue
                }
                if case .failure(let u) = CompiledSpec.compile(spec) {
                    skipped.append(Skipped(name: spec.name, reason: u.reason))
                    continue
                }
                entities.append(Self.entity(from: spec, section: section, layer: layerOf[spec.name]))
            }
        }
    }

    static func entity(from s: Spec, section: Int, layer: String?) -> Entity {
        let kind: EntityKind
        var name = s.name
        switch (section, s.entity) {
        case (0, "segment"):
            kind = .segment
            if name.hasPrefix("segment:") { name = String(name.dropFirst("segment:".count)) }
        // A holdout keeps its name: the gates and experiments it holds units out of name it in `pass_gate` conditions.
        case (0, "holdout"): kind = .holdout
        case (0, _): kind = .gate
        case (2, _): kind = .layer
        case (_, "experiment"): kind = .experiment
        default: kind = .dynamicConfig
        }
        var e = Entity(kind: kind, name: name)
        e.isEnabled = s.enabled
        e.idType = s.idType
        e.salt = s.salt
        e.imported = true
        e.version = s.version
        if kind == .segment { e.segmentType = "rule_based" }
        let isGate = kind == .gate || kind == .segment || kind == .holdout
        if !isGate { e.defaultValue = s.defaultValue }
        if kind == .experiment {
            e.isActive = s.isActive
            e.hasSharedParams = s.hasSharedParams
            e.explicitParameters = s.explicitParameters
            e.layer = layer
            e.status = s.isActive == true ? .active : .setup
        }
        if kind == .layer { e.explicitParameters = s.explicitParameters }
        e.rules = s.rules.map { r in
            EntityRule(
                id: r.id, name: r.name, passPercentage: r.passPercentage,
                conditions: r.conditions.map {
                    EntityCondition(type: $0.type, operator: $0.operator, targetValue: $0.targetValue, field: $0.field,
                                    idType: $0.idType, additionalValues: $0.additionalValues)
                },
                returnValue: isGate ? nil : r.returnValue, salt: r.salt ?? r.id,
                idType: r.idType, groupName: r.groupName, isExperimentGroup: r.isExperimentGroup,
                configDelegate: r.configDelegate)
        }
        return e
    }
}
