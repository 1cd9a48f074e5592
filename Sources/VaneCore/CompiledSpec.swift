/// Specs prepared for evaluation: condition types and operators resolved to enums and target
/// lists turned into sets once, so evaluating costs little more than the hash it needs.
struct CompiledSpec: Sendable {
    let spec: Spec
    let rules: [CompiledRule]
}

struct CompiledRule: Sendable {
    let rule: Rule
    let salt: String
    let conditions: [CompiledCondition]
}

enum ConditionType: String, Sendable, CaseIterable {
    case `public`, pass_gate, fail_gate, multi_pass_gate, multi_fail_gate, user_field, environment_field
    case current_time, user_bucket, unit_id, ip_based, ua_based, target_app
}

enum ConditionOperator: String, Sendable, CaseIterable {
    case gt, gte, lt, lte
    case version_gt, version_gte, version_lt, version_lte, version_eq, version_neq
    case any, none, any_case_sensitive, none_case_sensitive
    case str_starts_with_any, str_ends_with_any, str_contains_any, str_contains_none, str_matches
    case eq, neq, before, after, on
    case in_segment_list, not_in_segment_list
    case array_contains_any, array_contains_none, array_contains_all, not_array_contains_all
}

struct CompiledCondition: Sendable {
    let type: ConditionType
    let op: ConditionOperator?
    let raw: Condition
    let field: String
    let idType: String
    /// `user_bucket` salt.
    let salt: String
    /// Target names for gate conditions.
    let gateNames: [String]
    /// `any`/`none`: casefolded str() of each target; `*_case_sensitive` and array ops: str() of each target.
    let targetSet: Set<String>?
    /// The same targets in list order, for the array operators.
    let targetList: [String]
    /// `user_bucket` with `any`/`none`: the buckets as integers.
    let bucketSet: Set<Int64>?
    /// str() of each target for the string-matching operators (nil when the target is not a list).
    let targetStrings: [String]?
    let targetCasefolded: [String]?
}

/// Why a spec was not loaded: a condition type or operator Vane (like the SDK) does not know.
public struct UnsupportedSpec: Error, Sendable, Hashable, CustomStringConvertible {
    public let name: String
    public let reason: String
    public var description: String { "\(name): \(reason)" }
}

extension CompiledSpec {
    static func compile(_ spec: Spec) -> Result<CompiledSpec, UnsupportedSpec> {
        var rules: [CompiledRule] = []
        rules.reserveCapacity(spec.rules.count)
        for rule in spec.rules {
            var conditions: [CompiledCondition] = []
            for c in rule.conditions {
                guard let type = ConditionType(rawValue: c.type.lowercased()) else {
                    return .failure(UnsupportedSpec(name: spec.name, reason: "unsupported condition type '\(c.type)'"))
                }
                var op: ConditionOperator? = nil
                if let o = c.operator {
                    guard let parsed = ConditionOperator(rawValue: o.lowercased()) else {
                        return .failure(UnsupportedSpec(name: spec.name, reason: "unsupported operator '\(o)'"))
                    }
                    op = parsed
                }
                conditions.append(CompiledCondition(type: type, op: op, condition: c))
            }
            rules.append(CompiledRule(rule: rule, salt: rule.salt ?? rule.id, conditions: conditions))
        }
        return .success(CompiledSpec(spec: spec, rules: rules))
    }
}

extension CompiledCondition {
    init(type: ConditionType, op: ConditionOperator?, condition c: Condition) {
        self.type = type
        self.op = op
        self.raw = c
        self.field = c.field ?? ""
        self.idType = c.idType
        self.salt = c.additionalValues["salt"].flatMap { PythonValue.str($0) } ?? ""
        switch c.targetValue {
        case .string(let s): gateNames = [s]
        case .array(let a): gateNames = a.compactMap(\.stringValue)
        default: gateNames = []
        }
        let list = c.targetValue.arrayValue
        let strings = list?.compactMap { PythonValue.str($0) }
        targetStrings = strings
        targetCasefolded = strings?.map(PythonValue.casefold)
        targetList = list?.map { PythonValue.str($0) ?? "None" } ?? []
        switch op {
        case .any?, .none?:
            if type == .user_bucket {
                bucketSet = Set((list ?? []).compactMap { PythonValue.parseInt($0) })
                targetSet = nil
            } else {
                bucketSet = nil
                targetSet = list.map { Set($0.map { PythonValue.casefold(PythonValue.str($0) ?? "None") }) }
            }
        case .any_case_sensitive?, .none_case_sensitive?, .array_contains_any?, .array_contains_none?,
            .array_contains_all?, .not_array_contains_all?:
            bucketSet = nil
            targetSet = list.map { Set($0.map { PythonValue.str($0) ?? "None" }) }
        default:
            bucketSet = nil
            targetSet = nil
        }
    }
}
