/// OpenFeature Remote Evaluation Protocol (OFREP) flags over Statsig rules.
///
/// Flag keys: a feature gate is a boolean flag; a dynamic config, an experiment or a layer is an
/// object flag (its value object); `name.param` is one parameter of a config, experiment or layer
/// (string, number, boolean or object flag). A name that is itself a gate, config or layer wins
/// over the dotted reading; otherwise the longest name before a dot does.
///
/// Reasons: `DISABLED` (the gate or config is disabled), `DEFAULT` (no rule matched, or the
/// experiment has not started or was abandoned), `SPLIT` (the user was allocated by a hash: an
/// experiment group, a layer allocation or a partial rollout, passed or not), `TARGETING_MATCH`
/// (any other rule matched). The variant is the experiment group's name, else the rule's name,
/// "default" when no rule matched and "disabled" when the flag is disabled.
public enum OFREPReason: String, Sendable {
    case targetingMatch = "TARGETING_MATCH"
    case split = "SPLIT"
    case `default` = "DEFAULT"
    case disabled = "DISABLED"
}

public enum OFREPErrorCode: String, Sendable {
    case flagNotFound = "FLAG_NOT_FOUND"
    case typeMismatch = "TYPE_MISMATCH"
    case invalidContext = "INVALID_CONTEXT"
    case parseError = "PARSE_ERROR"
    case general = "GENERAL"
}

/// One flag's evaluation failure: `{key, errorCode, errorDetails}`.
public struct OFREPFailure: Error, Sendable {
    public let key: String
    public let code: OFREPErrorCode
    public let details: String

    public init(key: String, code: OFREPErrorCode, details: String) {
        self.key = key
        self.code = code
        self.details = details
    }

    public func toJSON() -> JSONValue {
        ["key": .string(key), "errorCode": .string(code.rawValue), "errorDetails": .string(details)]
    }
}

/// One flag's successful evaluation: `{key, value, reason, variant, metadata}`, plus what the
/// evaluator said, so the caller can log the exposure the SDK would.
public struct OFREPFlag: Sendable {
    public enum Kind: Sendable, Equatable { case gate, config, layer }

    public let key: String
    public let kind: Kind
    /// The gate, config, experiment or layer evaluated.
    public let name: String
    /// The parameter the key names (`name.param`), if any.
    public let parameter: String?
    public let result: EvaluationResult
    /// nil: the parameter has no value for this user, so the caller's (code) default applies.
    public let value: JSONValue?
    public let reason: OFREPReason
    public let variant: String
    public let metadata: [String: JSONValue]

    public func toJSON() -> JSONValue {
        var o: [String: JSONValue] = [
            "key": .string(key), "reason": .string(reason.rawValue), "variant": .string(variant),
            "metadata": .object(metadata),
        ]
        if let value { o["value"] = value }
        return .object(o)
    }
}

public struct OFREPEvaluator: Sendable {
    public let evaluator: Evaluator
    private var rules: RuleSet { evaluator.rules }

    public init(_ evaluator: Evaluator) { self.evaluator = evaluator }

    /// What a flag key names.
    enum Target: Equatable {
        case whole(OFREPFlag.Kind, String)
        case parameter(OFREPFlag.Kind, String, String)
        /// `gate.something`: a gate has no parameters.
        case gateParameter(String)
        case unsupported(String, String)
        case notFound
    }

    private func kind(of name: String) -> OFREPFlag.Kind? {
        // Segments and holdouts are parts of other rules, not flags (as in client initialize).
        if let g = rules.compiled(name, .gate), g.spec.entity != "segment", g.spec.entity != "holdout" { return .gate }
        if rules.compiled(name, .config) != nil { return .config }
        if rules.compiled(name, .layer) != nil { return .layer }
        return nil
    }

    private func unsupportedReason(_ name: String) -> String? {
        rules.unsupported.first { $0.name == name }?.reason
    }

    func target(_ key: String) -> Target {
        if let k = kind(of: key) { return .whole(k, key) }
        if let reason = unsupportedReason(key) { return .unsupported(key, reason) }
        var end = key.endIndex
        while let dot = key[..<end].lastIndex(of: ".") {
            let name = String(key[..<dot])
            let parameter = String(key[key.index(after: dot)...])
            end = dot
            guard !name.isEmpty, !parameter.isEmpty else { continue }
            switch kind(of: name) {
            case .gate?: return .gateParameter(name)
            case let k?: return .parameter(k, name, parameter)
            case nil:
                if let reason = unsupportedReason(name) { return .unsupported(name, reason) }
            }
        }
        return .notFound
    }

    /// Evaluates one flag key for a user.
    public func evaluate(_ key: String, user: StatsigUser) -> Result<OFREPFlag, OFREPFailure> {
        switch target(key) {
        case .notFound:
            return .failure(OFREPFailure(
                key: key, code: .flagNotFound, details: "no feature gate, dynamic config, experiment or layer named '\(key)'"))
        case .unsupported(let name, let reason):
            return .failure(OFREPFailure(key: key, code: .general, details: "'\(name)' cannot be evaluated: \(reason)"))
        case .gateParameter(let name):
            return .failure(OFREPFailure(
                key: key, code: .typeMismatch,
                details: "'\(name)' is a feature gate: a boolean flag without parameters; ask for '\(name)' itself"))
        case .whole(let kind, let name):
            return .success(flag(key, kind, name, parameter: nil, result: run(kind, name, user)))
        case .parameter(let kind, let name, let parameter):
            let r = run(kind, name, user)
            if r.jsonValue[parameter].map({ !$0.isNull }) != true, !knownParameters(kind, name).contains(parameter) {
                return .failure(OFREPFailure(
                    key: key, code: .flagNotFound,
                    details: "'\(name)' has no parameter '\(parameter)'"))
            }
            return .success(flag(key, kind, name, parameter: parameter, result: r))
        }
    }

    /// Every gate, dynamic config, experiment and layer, and each parameter of the configs,
    /// experiments and layers as `name.param` (where that key names it), sorted by key.
    /// Specs that cannot be evaluated are listed as failures.
    public func evaluateAll(user: StatsigUser) -> [Result<OFREPFlag, OFREPFailure>] {
        var out: [String: Result<OFREPFlag, OFREPFailure>] = [:]
        func add(_ kind: OFREPFlag.Kind, _ names: some Sequence<String>) {
            for name in names where out[name] == nil && self.kind(of: name) == kind {
                let whole = flag(name, kind, name, parameter: nil, result: run(kind, name, user))
                out[name] = .success(whole)
                guard kind != .gate, case .object(let values) = whole.result.jsonValue else { continue }
                for (parameter, value) in values where !value.isNull {
                    let key = name + "." + parameter
                    guard out[key] == nil, target(key) == .parameter(kind, name, parameter) else { continue }
                    out[key] = .success(flag(key, kind, name, parameter: parameter, result: whole.result))
                }
            }
        }
        add(.gate, rules.gates.keys)
        add(.config, rules.configs.keys)
        add(.layer, rules.layers.keys)
        for u in rules.unsupported where out[u.name] == nil && !u.name.hasPrefix("segment:") {
            out[u.name] = .failure(OFREPFailure(key: u.name, code: .general, details: "'\(u.name)' cannot be evaluated: \(u.reason)"))
        }
        return out.keys.sorted().map { out[$0]! }
    }

    /// Every unit ID type the rules read (specs, rules, conditions), userID left out: attributes
    /// of these names are custom IDs even where the project has not declared the type.
    public static func referencedIDTypes(_ rules: RuleSet) -> Set<String> {
        var out = Set<String>()
        for table in [rules.gates, rules.configs, rules.layers] {
            for spec in table.values {
                out.insert(spec.idType)
                for rule in spec.rules {
                    out.insert(rule.rule.idType)
                    for c in rule.conditions { out.insert(c.idType) }
                }
            }
        }
        return out.filter { !$0.isEmpty && $0.lowercased() != "userid" }
    }

    private func run(_ kind: OFREPFlag.Kind, _ name: String, _ user: StatsigUser) -> EvaluationResult {
        switch kind {
        case .gate: return evaluator.checkGate(user, name)
        case .config: return evaluator.getConfig(user, name)
        case .layer: return evaluator.getLayer(user, name)
        }
    }

    private func compiled(_ kind: OFREPFlag.Kind, _ name: String) -> CompiledSpec? {
        switch kind {
        case .gate: return rules.compiled(name, .gate)
        case .config: return rules.compiled(name, .config)
        case .layer: return rules.compiled(name, .layer)
        }
    }

    /// Parameters any of the spec's values has (and, for a layer, its experiments' values).
    func knownParameters(_ kind: OFREPFlag.Kind, _ name: String) -> Set<String> {
        guard let spec = compiled(kind, name) else { return [] }
        var out = Set<String>()
        func collect(_ spec: CompiledSpec, delegates: Bool) {
            if let o = spec.defaultValue.objectValue { out.formUnion(o.keys) }
            for rule in spec.rules {
                if let o = rule.returnValue.objectValue { out.formUnion(o.keys) }
                if delegates, let d = rule.configDelegate, let experiment = rules.compiled(d, .config) { collect(experiment, delegates: false) }
            }
        }
        collect(spec, delegates: kind == .layer)
        return out
    }

    private func flag(
        _ key: String, _ kind: OFREPFlag.Kind, _ name: String, parameter: String?, result r: EvaluationResult
    ) -> OFREPFlag {
        let spec = compiled(kind, name)!
        var metadata: [String: JSONValue] = ["flagType": .string(spec.spec.entity), "ruleID": .string(r.ruleID)]
        if !r.idType.isEmpty { metadata["idType"] = .string(r.idType) }
        if let v = r.version { metadata["configVersion"] = .int(v) }
        if let g = r.groupName { metadata["groupName"] = .string(g) }
        if let e = r.allocatedExperiment { metadata["allocatedExperiment"] = .string(e) }

        var reason: OFREPReason
        var variant: String
        // The rule that decided: the delegated experiment's, for a layer that allocated one.
        let owner = r.allocatedExperiment.flatMap { rules.compiled($0, .config) } ?? spec
        if !spec.enabled || !owner.enabled {
            (reason, variant) = (.disabled, "disabled")
        } else if let rule = owner.rules.first(where: { $0.id == r.ruleID }) {
            variant = r.groupName ?? (rule.rule.name.isEmpty ? rule.id : rule.rule.name)
            if owner.spec.entity == "experiment", rule.id == "prestart" || rule.id == "abandoned" {
                reason = .default
            } else if rule.isExperimentGroup || (rule.passPercentage > 0 && rule.passPercentage < 100)
                || rule.conditions.contains(where: { $0.type == .user_bucket })
            {
                reason = .split
            } else {
                reason = .targetingMatch
            }
        } else {
            (reason, variant) = (.default, "default")
        }

        let value: JSONValue?
        switch (kind, parameter) {
        case (.gate, _): value = .bool(r.value)
        case (_, nil): value = r.jsonValue
        case (_, let p?):
            let v = r.jsonValue[p]
            value = v?.isNull == false ? v : nil
            if value == nil { reason = .default }
        }
        return OFREPFlag(
            key: key, kind: kind, name: name, parameter: parameter, result: r, value: value, reason: reason, variant: variant,
            metadata: metadata)
    }
}
