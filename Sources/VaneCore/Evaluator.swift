import Foundation

public struct SecondaryExposure: Sendable, Hashable {
    public var gate: String
    public var gateValue: String
    public var ruleID: String

    public init(gate: String, gateValue: String, ruleID: String) {
        self.gate = gate
        self.gateValue = gateValue
        self.ruleID = ruleID
    }

    public func toJSON() -> JSONValue {
        ["gate": .string(gate), "gateValue": .string(gateValue), "ruleID": .string(ruleID)]
    }
}

public enum EvaluationReason: String, Sendable {
    case network = "Network"
    case unrecognized = "Unrecognized"
    case unsupported = "Unsupported"
}

/// The outcome of evaluating a gate, config, experiment or layer, with the fields the SDKs report.
///
/// Every evaluation builds and destroys one, so it holds few reference-counted fields: what
/// only delegation (layers) adds travels in one box that other results leave nil, and the ID type
/// is read from the spec that decided.
public struct EvaluationResult: Sendable {
    public var value: Bool = false
    public var reason: EvaluationReason = .network
    public var version: Int64?
    public var secondaryExposures: [SecondaryExposure] = []
    /// The spec that decided (nil: not found) and its rule that matched (nil: none did). The
    /// value, rule ID and group are read from them when asked for, so evaluating a rule costs two
    /// references instead of copying its strings and JSON into every result on the way.
    var spec: CompiledSpec?
    var rule: CompiledRule?
    var delegation: Delegation?

    public var idType: String { spec?.idType ?? "" }
    public var explicitParameters: [String] { delegation?.explicitParameters ?? [] }
    public var allocatedExperiment: String? { delegation?.experiment }

    public var jsonValue: JSONValue {
        guard let spec else { return .object([:]) }
        guard let rule, value else { return spec.defaultValue }
        return rule.returnValue
    }

    public var ruleID: String {
        guard let spec else { return "" }
        return rule?.id ?? (spec.enabled ? "default" : "disabled")
    }

    public var groupName: String? { rule?.groupName }
    public var isExperimentGroup: Bool { rule?.isExperimentGroup ?? false }

    public var undelegatedSecondaryExposures: [SecondaryExposure] { delegation?.undelegated ?? secondaryExposures }
}

/// What delegating to an experiment adds to a result.
final class Delegation: Sendable {
    /// nil while it is the same list as the result's `secondaryExposures`.
    let undelegated: [SecondaryExposure]?
    let explicitParameters: [String]
    let experiment: String?

    init(undelegated: [SecondaryExposure]?, explicitParameters: [String] = [], experiment: String? = nil) {
        self.undelegated = undelegated
        self.explicitParameters = explicitParameters
        self.experiment = experiment
    }

    /// After a spec is not found: the SDK resets its whole result, undelegated exposures included.
    static let reset = Delegation(undelegated: [])
}

/// What one evaluation carries besides its result, kept out of the result it returns.
struct EvaluationScratch {
    /// Specs left to evaluate (see `Evaluator.maxEvaluations`).
    var budget = Evaluator.maxEvaluations
    /// The last user_bucket computed: experiments test the same bucket in rule after rule.
    var bucketMemo: (prefix: [UInt8], unit: String, bucket: Int64)?
}

public enum SpecKind: Sendable {
    case gate, config, layer
}

/// An immutable, evaluable set of rules: what one `download_config_specs` payload describes,
/// plus the ID lists it references.
public struct RuleSet: Sendable {
    public let time: Int64
    public let defaultEnvironment: String?
    let gates: [String: CompiledSpec]
    let configs: [String: CompiledSpec]
    let layers: [String: CompiledSpec]
    public let layerExperiments: [String: [String]]
    /// ID list name → set of 8-character hashed entries.
    public let idLists: [String: Set<String>]
    public let unsupported: [UnsupportedSpec]
    let index: SpecIndex

    public init(
        time: Int64, gates: [Spec], configs: [Spec], layers: [Spec], layerExperiments: [String: [String]] = [:],
        idLists: [String: Set<String>] = [:], defaultEnvironment: String? = nil
    ) {
        var unsupported: [UnsupportedSpec] = []
        func compile(_ specs: [Spec]) -> [String: CompiledSpec] {
            var out: [String: CompiledSpec] = [:]
            for s in specs {
                switch CompiledSpec.compile(s) {
                case .success(let c): out[s.name] = c
                case .failure(let u): unsupported.append(u)
                }
            }
            return out
        }
        self.time = time
        self.gates = compile(gates)
        self.configs = compile(configs)
        self.layers = compile(layers)
        self.index = SpecIndex(gates: self.gates, configs: self.configs, layers: self.layers)
        self.layerExperiments = layerExperiments
        self.idLists = idLists
        self.unsupported = unsupported
        self.defaultEnvironment = defaultEnvironment
    }

    public var gateSpecs: [Spec] { gates.values.map(\.spec) }
    public var configSpecs: [Spec] { configs.values.map(\.spec) }
    public var layerSpecs: [Spec] { layers.values.map(\.spec) }

    public func spec(_ name: String, kind: SpecKind) -> Spec? {
        compiled(name, kind)?.spec
    }

    /// The compiled spec of a kind by name, matched byte for byte as the evaluator matches it.
    func compiled(_ name: String, _ kind: SpecKind) -> CompiledSpec? {
        index.find(name, kind)?.takeUnretainedValue()
    }

    func isUnsupported(_ name: String) -> Bool { unsupported.contains { $0.name == name } }
}

/// Statsig's evaluation algorithm, bit-exact with the reference server SDK (see
/// docs/evaluation.md for the few places where Vane returns a clean false instead of an error).
public struct Evaluator: Sendable {
    public let rules: RuleSet
    /// Stands in for `now` in `current_time` conditions; tests pin it.
    public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    public init(rules: RuleSet) { self.rules = rules }

    public func checkGate(_ user: StatsigUser, _ name: String) -> EvaluationResult {
        evaluateTop(user, name, .gate)
    }

    public func getConfig(_ user: StatsigUser, _ name: String) -> EvaluationResult {
        evaluateTop(user, name, .config)
    }

    public func getLayer(_ user: StatsigUser, _ name: String) -> EvaluationResult {
        evaluateTop(user, name, .layer)
    }

    /// Nesting deeper than this many specs (gate conditions, delegations) evaluates as unrecognized.
    static let maxDepth = 64
    /// The most specs one evaluation may evaluate, nested ones included. Depth alone does not bound
    /// the work: a gate whose conditions name gates more than once (itself, or gates that name
    /// each other) branches at every level, 2^64 evaluations for two self-references. Past the
    /// budget, nested specs evaluate as unrecognized, as past the depth limit.
    static let maxEvaluations = 1_000

    private func evaluateTop(_ user: StatsigUser, _ name: String, _ kind: SpecKind) -> EvaluationResult {
        var result = EvaluationResult()
        var scratch = EvaluationScratch()
        evaluate(user, name, kind, &result, nested: false, depth: 0, scratch: &scratch)
        return result
    }

    private func evaluate(
        _ user: StatsigUser, _ name: String, _ kind: SpecKind, _ result: inout EvaluationResult, nested: Bool,
        depth: Int, scratch: inout EvaluationScratch
    ) {
        scratch.budget -= 1
        guard depth < Self.maxDepth, scratch.budget >= 0, let found = rules.index.find(name, kind) else {
            // The SDK resets its whole result here, exposures gathered so far included.
            result.value = false
            result.spec = nil
            result.rule = nil
            result.secondaryExposures = []
            result.delegation = .reset
            result.reason = rules.isUnsupported(name) ? .unsupported : .unrecognized
            return
        }
        // The rule set owns its specs, rules and conditions for the whole evaluation, so they are
        // used without reference counting.
        found._withUnsafeGuaranteedRef { spec in
            guard spec.enabled else {
                finalize(spec, &result, passed: false, rule: nil, nested: nested)
                return
            }
            for ref in spec.ruleRefs {
                let decided = ref._withUnsafeGuaranteedRef { rule -> Bool in
                    guard evaluateRule(user, rule, &result, depth: depth, scratch: &scratch) else { return false }
                    if let delegate = rule.configDelegate, let experiment = rules.index.find(delegate, .config) {
                        result.delegation = Delegation(undelegated: result.secondaryExposures)
                        evaluate(user, delegate, .config, &result, nested: true, depth: depth + 1, scratch: &scratch)
                        result.delegation = Delegation(
                            undelegated: result.delegation?.undelegated,
                            explicitParameters: experiment.takeUnretainedValue().spec.explicitParameters ?? [], experiment: delegate)
                        finalizeExposures(&result)
                        return true
                    }
                    finalize(spec, &result, passed: passesRollout(user, rule), rule: rule, nested: nested)
                    return true
                }
                if decided { return }
            }
            finalize(spec, &result, passed: false, rule: nil, nested: nested)
        }
    }

    private func finalize(
        _ spec: CompiledSpec, _ result: inout EvaluationResult, passed: Bool, rule: CompiledRule?, nested: Bool
    ) {
        result.value = passed
        if let v = spec.version { result.version = v }
        result.reason = .network
        result.spec = spec
        result.rule = rule
        if !nested { finalizeExposures(&result) }
    }

    private func finalizeExposures(_ result: inout EvaluationResult) {
        let delegation = result.delegation
        if result.secondaryExposures.isEmpty && delegation?.undelegated == nil { return }
        result.secondaryExposures = Self.clean(result.secondaryExposures)
        if let delegation, let undelegated = delegation.undelegated {
            result.delegation = Delegation(
                undelegated: Self.clean(undelegated), explicitParameters: delegation.explicitParameters,
                experiment: delegation.experiment)
        }
    }

    /// De-duplicated on gate|value|rule, with segment exposures dropped, as the SDK does.
    static func clean(_ exposures: [SecondaryExposure]) -> [SecondaryExposure] {
        if exposures.isEmpty { return exposures }
        var seen = Set<SecondaryExposure>()
        var out: [SecondaryExposure] = []
        for e in exposures where !e.gate.hasPrefix("segment:") {
            if seen.insert(e).inserted { out.append(e) }
        }
        return out
    }

    private func passesRollout(_ user: StatsigUser, _ rule: CompiledRule) -> Bool {
        let pct = rule.passPercentage
        if pct == 100 { return true }
        if pct == 0 { return false }
        let hash = StatsigHash.unitHash(prefix: rule.rolloutPrefix, unit: rule.unit.value(user) ?? "")
        return Double(hash % 10000) < pct * 100
    }

    /// All conditions are evaluated (no short-circuit), so every gate condition records its exposure.
    private func evaluateRule(
        _ user: StatsigUser, _ rule: CompiledRule, _ result: inout EvaluationResult, depth: Int, scratch: inout EvaluationScratch
    ) -> Bool {
        var all = true
        for ref in rule.conditionRefs
        where !ref._withUnsafeGuaranteedRef({ evaluateCondition(user, $0, &result, depth: depth, scratch: &scratch) }) {
            all = false
        }
        result.value = all
        return all
    }

    private func evaluateCondition(
        _ user: StatsigUser, _ c: CompiledCondition, _ result: inout EvaluationResult, depth: Int, scratch: inout EvaluationScratch
    ) -> Bool {
        let value: JSONValue?
        switch c.type {
        case .public:
            return true
        case .pass_gate, .fail_gate:
            let gate = c.raw.targetValue.stringValue ?? PythonValue.str(c.raw.targetValue) ?? ""
            evaluate(user, gate, .gate, &result, nested: true, depth: depth + 1, scratch: &scratch)
            let passed = result.value
            result.secondaryExposures.append(
                SecondaryExposure(gate: gate, gateValue: passed ? "true" : "false", ruleID: result.ruleID))
            return c.type == .pass_gate ? passed : !passed
        case .multi_pass_gate, .multi_fail_gate:
            if c.gateNames.isEmpty { return false }
            for gate in c.gateNames {
                // Each gate is evaluated on its own, and only its top-level exposure is kept.
                var own = EvaluationResult()
                evaluate(user, gate, .gate, &own, nested: false, depth: depth + 1, scratch: &scratch)
                result.secondaryExposures.append(
                    SecondaryExposure(gate: gate, gateValue: own.value ? "true" : "false", ruleID: own.ruleID))
                if c.type == .multi_pass_gate ? own.value : !own.value { return true }
            }
            return false
        case .ip_based:
            // No IP-to-country table is shipped, so only the user's own field counts (docs/evaluation.md).
            guard let v = userField(user, c) else { return false }
            value = v
        case .ua_based:
            value = userField(user, c) ?? UserAgent.field(c.field, of: user.userAgent)
        case .user_field:
            if let s = knownField(user, c.fieldKind), !s.isEmpty {
                guard let op = c.op, c.operatorMatches else { return false }
                return Operators.apply(op, string: s, c, idLists: rules.idLists)
            }
            value = userField(user, c)
        case .current_time:
            value = .int(clock())
        case .environment_field:
            // As the SDK does, a user with no environment gets the rule set's default one.
            if user.statsigEnvironment.isEmpty {
                value = c.field == "tier" || c.field.lowercased() == "tier" ? rules.defaultEnvironment.map { .string($0) } : nil
            } else {
                value = user.statsigEnvironment[c.field] ?? user.statsigEnvironment[c.field.lowercased()]
            }
        case .user_bucket:
            let unit = c.unit.value(user) ?? ""
            if let memo = scratch.bucketMemo, memo.unit == unit, memo.prefix == c.bucketPrefix {
                value = .int(memo.bucket)
            } else {
                let bucket = Int64(StatsigHash.unitHash(prefix: c.bucketPrefix, unit: unit) % 1000)
                scratch.bucketMemo = (c.bucketPrefix, unit, bucket)
                value = .int(bucket)
            }
        case .unit_id:
            value = c.unit.value(user).map { .string($0) }
        case .target_app:
            value = nil
        }
        guard let op = c.op, c.operatorMatches else { return false }
        return Operators.apply(op, value ?? .null, c, idLists: rules.idLists)
    }

    @inline(__always)
    private func knownField(_ user: StatsigUser, _ kind: UserFieldKind) -> String? {
        switch kind {
        case .userID: return user.userID
        case .email: return user.email
        case .ip: return user.ip
        case .userAgent: return user.userAgent
        case .country: return user.country
        case .locale: return user.locale
        case .appVersion: return user.appVersion
        case .other: return nil
        }
    }

    /// user_field lookup: the known fields, then custom (exact, casefolded), then privateAttributes.
    private func userField(_ user: StatsigUser, _ c: CompiledCondition) -> JSONValue? {
        let field = c.field
        let value = knownField(user, c.fieldKind)
        if let value, !value.isEmpty { return .string(value) }
        // Python's fallbacks, step by step: the last value assigned wins, even an empty one.
        var result: JSONValue? = value.map { .string($0) }
        func unusable(_ v: JSONValue?) -> Bool { v == nil || v == .null || v == .string("") }
        if !user.custom.isEmpty {
            if let v = user.custom[field] {
                result = v
            } else if let v = user.custom[PythonValue.casefold(field)] {
                result = v
            }
        }
        if unusable(result), !user.privateAttributes.isEmpty {
            if let v = user.privateAttributes[field] {
                result = v
            } else if let v = user.privateAttributes[field.lowercased()] {
                result = v
            }
        }
        return result == .null ? nil : result
    }
}
