/// Specs prepared for evaluation: condition types and operators resolved to enums and target
/// lists turned into sets once, so evaluating costs little more than the hash it needs.
final class CompiledSpec: Sendable {
    let spec: Spec
    let rules: [CompiledRule]
    // Copied out of `spec` so the hot path reads them without copying the struct.
    let enabled: Bool
    let idType: String
    let defaultValue: JSONValue
    let version: Int64?

    init(spec: Spec, rules: [CompiledRule]) {
        self.spec = spec
        self.rules = rules
        self.enabled = spec.enabled
        self.idType = spec.idType
        self.defaultValue = spec.defaultValue
        self.version = spec.version
    }
}

final class CompiledRule: Sendable {
    let rule: Rule
    let salt: String
    let conditions: [CompiledCondition]
    /// `specSalt + "." + ruleSalt + "."`: the rollout hash input before the unit ID.
    let rolloutPrefix: [UInt8]
    let unit: UnitRef

    let id: String
    let passPercentage: Double
    let returnValue: JSONValue
    let groupName: String?
    let isExperimentGroup: Bool
    let configDelegate: String?

    init(rule: Rule, salt: String, conditions: [CompiledCondition], rolloutPrefix: [UInt8], unit: UnitRef) {
        self.rule = rule
        self.id = rule.id
        self.passPercentage = rule.passPercentage
        self.returnValue = rule.returnValue
        self.groupName = rule.groupName
        self.isExperimentGroup = rule.isExperimentGroup ?? false
        self.configDelegate = rule.configDelegate
        self.salt = salt
        self.conditions = conditions
        self.rolloutPrefix = rolloutPrefix
        self.unit = unit
    }
}

/// Which ID a rule or condition reads, resolved once instead of per evaluation.
enum UnitRef: Sendable {
    case userID
    case custom(exact: String, lower: String)

    init(_ idType: String) {
        let lower = idType.lowercased()
        self = lower == "userid" ? .userID : .custom(exact: idType, lower: lower)
    }

    @inline(__always)
    func value(_ user: StatsigUser) -> String? {
        switch self {
        case .userID: return user.userID
        case .custom(let exact, let lower): return user.customIDs[exact] ?? user.customIDs[lower]
        }
    }
}

/// The user fields `user_field` knows by name (compared case-insensitively).
enum UserFieldKind: Sendable {
    case userID, email, ip, userAgent, country, locale, appVersion, other

    init(_ field: String) {
        switch field.lowercased() {
        case "userid", "user_id": self = .userID
        case "email": self = .email
        case "ip", "ipaddress", "ip_address": self = .ip
        case "useragent", "user_agent": self = .userAgent
        case "country": self = .country
        case "locale": self = .locale
        case "appversion", "app_version": self = .appVersion
        default: self = .other
        }
    }
}

/// A string compared byte for byte, as Python compares strings.
struct ByteKey: Hashable, Sendable {
    let text: String
    init(_ s: String) { text = s }
    func hash(into hasher: inout Hasher) {
        for b in text.utf8 { hasher.combine(b) }
        hasher.combine(0xFF as UInt8)
    }
    static func == (a: ByteKey, b: ByteKey) -> Bool { a.text.utf8.elementsEqual(b.text.utf8) }
}

/// A string compared the way Python's `casefold()` compares, without allocating for ASCII.
struct FoldedKey: Hashable, Sendable {
    let text: String

    init(_ s: String) {
        text = s.utf8.allSatisfy { $0 < 0x80 } ? s : PythonValue.casefold(s)
    }

    @inline(__always)
    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    func hash(into hasher: inout Hasher) {
        for b in text.utf8 { hasher.combine(Self.lower(b)) }
        hasher.combine(0xFF as UInt8)
    }

    static func == (a: FoldedKey, b: FoldedKey) -> Bool {
        a.text.utf8.elementsEqual(b.text.utf8) { lower($0) == lower($1) }
    }
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

final class CompiledCondition: Sendable {
    let type: ConditionType
    let op: ConditionOperator?
    let raw: Condition
    let field: String
    let fieldKind: UserFieldKind
    let idType: String
    let unit: UnitRef
    /// `user_bucket` salt.
    let salt: String
    /// `salt + "."`: the user_bucket hash input before the unit ID.
    let bucketPrefix: [UInt8]
    /// Targets for case-insensitive `any`/`none`.
    let foldedSet: Set<FoldedKey>?
    /// The same targets lower-cased, when there are few: a scan of a handful of short strings
    /// costs less than hashing the value.
    let foldedTargets: [[UInt8]]?
    /// Targets compared byte for byte (case-sensitive and array operators): Python does not
    /// treat canonically equivalent Unicode strings as equal, Swift's String does.
    let exactSet: Set<ByteKey>?
    /// The SDK matches operators exactly after checking support case-insensitively, so "GT" is supported but never true.
    let operatorMatches: Bool
    /// Numeric target for gt/gte/lt/lte.
    let targetNumber: Double?
    /// The target version's parts, when it parses.
    let targetVersion: [Int64?]?
    /// Target names for gate conditions.
    let gateNames: [String]
    /// str() of each target in list order, for the array operators.
    let targetList: [String]
    /// `user_bucket` with `any`/`none`: the buckets as integers.
    let bucketSet: Set<Int64>?
    /// Casefolded UTF-8 of each target for the string-matching operators (nil when the target is
    /// neither a list nor a string).
    let targetFoldedBytes: [[UInt8]]?
    /// The `str_matches` target, compiled once (nil when it is not a valid pattern: never matches).
    let targetRegex: CompiledRegex?

    init(type: ConditionType, op: ConditionOperator?, condition c: Condition) {
        self.type = type
        self.op = op
        self.raw = c
        self.operatorMatches = c.operator.map { $0 == $0.lowercased() } ?? true
        self.field = c.field ?? ""
        self.fieldKind = UserFieldKind(c.field ?? "")
        self.idType = c.idType
        self.unit = UnitRef(c.idType)
        self.salt = c.additionalValues["salt"].flatMap { PythonValue.str($0) } ?? ""
        self.bucketPrefix = Array((self.salt + ".").utf8)
        switch c.targetValue {
        case .int(let i): targetNumber = Double(i)
        case .double(let d): targetNumber = d
        case .bool(let b): targetNumber = b ? 1 : 0
        case .string(let s): targetNumber = PythonValue.parseFloat(s)
        default: targetNumber = nil
        }
        targetVersion = PythonValue.str(c.targetValue).map { Operators.versionParts($0) }
        targetRegex = op == .str_matches ? PythonValue.str(c.targetValue).flatMap(CompiledRegex.init) : nil
        // Python iterates a string target character by character, so a string stands for its characters.
        let list: [JSONValue]?
        switch c.targetValue {
        case .string(let s):
            gateNames = s.unicodeScalars.map { String($0) }
            list = nil
        case .array(let a):
            gateNames = a.compactMap(\.stringValue)
            list = a
        default:
            gateNames = []
            list = nil
        }
        var strings = list?.compactMap { PythonValue.str($0) }
        if case .string(let s) = c.targetValue { strings = s.unicodeScalars.map { String($0) } }
        targetFoldedBytes = strings?.map(PythonValue.foldedBytes)
        targetList = list?.map { PythonValue.str($0) ?? "None" } ?? []
        switch op {
        case .any?, .none?:
            if type == .user_bucket {
                bucketSet = Set((list ?? []).compactMap { PythonValue.parseInt($0) })
            } else {
                bucketSet = nil
            }
            exactSet = nil
            foldedSet = type == .user_bucket ? nil : list.map { Set($0.map { FoldedKey(PythonValue.str($0) ?? "None") }) }
        case .any_case_sensitive?, .none_case_sensitive?, .array_contains_any?, .array_contains_none?,
            .array_contains_all?, .not_array_contains_all?:
            bucketSet = nil
            exactSet = list.map { Set($0.map { ByteKey(PythonValue.str($0) ?? "None") }) }
            foldedSet = nil
        default:
            exactSet = nil
            bucketSet = nil
            foldedSet = nil
        }
        foldedTargets = foldedSet.flatMap { set in
            set.count <= 8 ? set.map { $0.text.utf8.map(FoldedKey.lower) } : nil
        }
    }

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
            let salt = rule.salt ?? rule.id
            rules.append(CompiledRule(
                rule: rule, salt: salt, conditions: conditions, rolloutPrefix: Array((spec.salt + "." + salt + ".").utf8),
                unit: UnitRef(rule.idType)))
        }
        return .success(CompiledSpec(spec: spec, rules: rules))
    }
}
