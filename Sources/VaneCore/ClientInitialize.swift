/// How names are hashed in a client initialize response.
public enum NameHashing: String, Sendable {
    case djb2, sha256, none

    public func hash(_ name: String) -> String {
        switch self {
        case .djb2: return StatsigHash.djb2(name)
        case .sha256: return StatsigHash.sha256Base64(name)
        case .none: return name
        }
    }
}

/// Builds the `/v1/initialize` response for client SDKs: every gate, config, experiment and layer
/// evaluated for one user, in the shape the Statsig SDKs' `get_client_initialize_response` produce.
public struct ClientInitializeFormatter: Sendable {
    public let evaluator: Evaluator
    public let hashing: NameHashing

    public init(evaluator: Evaluator, hashing: NameHashing) {
        self.evaluator = evaluator
        self.hashing = hashing
    }

    /// The response serialised directly, without building a tree first: `/v1/initialize` is hot.
    public func responseBytes(for user: StatsigUser, sdkType: String = "vane", sdkVersion: String = "1.0") -> [UInt8] {
        response(for: user, sdkType: sdkType, sdkVersion: sdkVersion).bytes
    }

    /// The response and its `full_checksum`: a digest of the evaluations alone (not of the time),
    /// the same whatever the order of the entries, so a client that holds these values already is
    /// told there is nothing new.
    public func response(
        for user: StatsigUser, sdkType: String = "vane", sdkVersion: String = "1.0", derivedFields: [String: JSONValue] = [:],
        paramStores: [ParameterStore] = []
    ) -> (bytes: [UInt8], checksum: String) {
        let rules = evaluator.rules
        var digest: UInt64 = 0
        var out: [UInt8] = []
        out.reserveCapacity(16 * 1024)
        func section(_ name: StaticString, _ table: [String: CompiledSpec], first: Bool) {
            out.append(contentsOf: first ? Array("{\"".utf8) : Array(",\"".utf8))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: Array("\":{".utf8))
            var firstEntry = true
            for compiled in table.values {
                guard let (key, fields) = entry(compiled.spec, user) else { continue }
                if !firstEntry { out.append(UInt8(ascii: ",")) }
                firstEntry = false
                let start = out.count
                defer { digest &+= Self.fnv1a(out[start...], seed: name.utf8CodeUnitCount) }
                JSONValue.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                out.append(UInt8(ascii: "{"))
                for (i, (k, v)) in fields.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    JSONValue.writeString(k, into: &out)
                    out.append(UInt8(ascii: ":"))
                    v.write(into: &out)
                }
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "}"))
        }
        section("feature_gates", rules.gates, first: true)
        section("dynamic_configs", rules.configs, first: false)
        section("layer_configs", rules.layers, first: false)
        // Parameter store definitions are part of what the client holds.
        for s in paramStores { digest &+= Self.fnv1a(ArraySlice(s.dcsJSON().serializedBytes(sortedKeys: true)), seed: s.name.utf8.count) }
        var evaluatedKeys: [String: JSONValue] = [:]
        if let id = user.userID { evaluatedKeys["userID"] = .string(id) }
        if !user.customIDs.isEmpty { evaluatedKeys["customIDs"] = .object(user.customIDs.mapValues { .string($0) }) }
        let rest: JSONValue = [
            "sdkParams": [:], "has_updates": true, "generator": "vane", "evaluated_keys": .object(evaluatedKeys),
            "time": .int(rules.time), "user": user.toJSON(), "hash_used": .string(hashing.rawValue),
            "sdkInfo": ["sdkType": .string(sdkType), "sdkVersion": .string(sdkVersion)],
            "full_checksum": .string(Self.checksumText(digest, hashing)), "derived_fields": .object(derivedFields),
            "sdk_flags": [:],
            "param_stores": .object(Dictionary(uniqueKeysWithValues: paramStores.map { (hashing.hash($0.name), $0.clientJSON(hashing)) })),
        ]
        var tail = rest.serializedBytes()
        tail[0] = UInt8(ascii: ",")  // splice the remaining fields into the open object
        out.append(contentsOf: tail)
        return (out, Self.checksumText(digest, hashing))
    }

    static func checksumText(_ digest: UInt64, _ hashing: NameHashing) -> String {
        hashing.rawValue + "-" + String(digest, radix: 16)
    }

    /// FNV-1a over one entry; entries' digests are added, so their order does not matter.
    static func fnv1a(_ bytes: ArraySlice<UInt8>, seed: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(truncatingIfNeeded: seed)
        for b in bytes {
            h ^= UInt64(b)
            h &*= 0x0000_0100_0000_01B3
        }
        return h
    }

    private func exposures(_ list: [SecondaryExposure]) -> JSONValue {
        .array(list.map { e in
            ["gate": .string(hashing.hash(e.gate)), "gateValue": .string(e.gateValue), "ruleID": .string(e.ruleID)]
        })
    }

    private func entry(_ spec: Spec, _ user: StatsigUser) -> (String, [(String, JSONValue)])? {
        let name = hashing.hash(spec.name)
        if spec.type == "feature_gate" {
            if spec.entity == "segment" || spec.entity == "holdout" { return nil }
            let r = evaluator.checkGate(user, spec.name)
            return (name, [
                ("name", .string(name)), ("rule_id", .string(r.ruleID)), ("secondary_exposures", exposures(r.secondaryExposures)),
                ("value", .bool(r.value)), ("id_type", .string(spec.idType)),
            ])
        }
        guard spec.type == "dynamic_config" else { return nil }
        let r = spec.entity == "layer" ? evaluator.getLayer(user, spec.name) : evaluator.getConfig(user, spec.name)
        var o = OrderedFields([
            ("name", .string(name)), ("rule_id", .string(r.ruleID)), ("secondary_exposures", exposures(r.secondaryExposures)),
            ("value", r.jsonValue), ("group", .string(r.ruleID)), ("passed", .bool(r.value)),
            ("is_device_based", .bool(spec.idType.lowercased() == "stableid")),
        ])
        if spec.entity != "layer" { o["id_type"] = .string(spec.idType) }
        switch spec.entity {
        case "experiment":
            o["is_user_in_experiment"] = .bool(r.isExperimentGroup)
            o["is_experiment_active"] = .bool(spec.isActive == true)
            if let g = r.groupName { o["group_name"] = .string(g) }
            if spec.hasSharedParams == true {
                o["is_in_layer"] = true
                o["explicit_parameters"] = .array((spec.explicitParameters ?? []).map { .string($0) })
                if let layer = evaluator.rules.layerExperiments.first(where: { $0.value.contains(spec.name) })?.key,
                    let layerSpec = evaluator.rules.spec(layer, kind: .layer)
                {
                    var merged = layerSpec.defaultValue.objectValue ?? [:]
                    for (k, v) in r.jsonValue.objectValue ?? [:] { merged[k] = v }
                    o["value"] = .object(merged)
                }
            }
        case "layer":
            o["explicit_parameters"] = .array((spec.explicitParameters ?? []).map { .string($0) })
            if let delegate = r.allocatedExperiment, !delegate.isEmpty,
                let delegateSpec = evaluator.rules.spec(delegate, kind: .config)
            {
                let d = evaluator.getConfig(user, delegate)
                o["allocated_experiment_name"] = .string(hashing.hash(delegate))
                o["is_user_in_experiment"] = .bool(d.isExperimentGroup)
                o["is_experiment_active"] = .bool(delegateSpec.isActive == true)
                o["explicit_parameters"] = .array((delegateSpec.explicitParameters ?? []).map { .string($0) })
                if let g = d.groupName { o["group_name"] = .string(g) }
            }
            o["undelegated_secondary_exposures"] = exposures(r.undelegatedSecondaryExposures)
        case "autotune":
            if let g = r.groupName { o["group_name"] = .string(g) }
        default:
            break
        }
        return (name, o.fields)
    }
}

/// A few fields in insertion order, set like a dictionary.
struct OrderedFields {
    var fields: [(String, JSONValue)]
    init(_ fields: [(String, JSONValue)]) { self.fields = fields }
    subscript(key: String) -> JSONValue? {
        get { fields.first { $0.0 == key }?.1 }
        set {
            if let i = fields.firstIndex(where: { $0.0 == key }) {
                if let newValue { fields[i].1 = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                fields.append((key, newValue))
            }
        }
    }
}
