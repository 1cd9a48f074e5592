/// Specs prepared for evaluation: condition types and operators resolved to enums and target
/// lists turned into sets once, so evaluating costs little more than the hash it needs.
/// `@unchecked`: every property is immutable once built; `ruleRefs` points into memory that
/// only `deinit` frees.
final class CompiledSpec: @unchecked Sendable {
    let spec: Spec
    let rules: [CompiledRule]
    /// The same rules, unretained, for the evaluator's loop (see `unretained`).
    let ruleRefs: UnsafeMutableBufferPointer<Unmanaged<CompiledRule>>
    // Copied out of `spec` so the hot path reads them without copying the struct.
    let name: String
    let enabled: Bool
    let idType: String
    let defaultValue: JSONValue
    let version: Int64?

    init(spec: Spec, rules: [CompiledRule]) {
        self.spec = spec
        self.rules = rules
        self.ruleRefs = unretained(rules)
        self.name = spec.name
        self.enabled = spec.enabled
        self.idType = spec.idType
        self.defaultValue = spec.defaultValue
        self.version = spec.version
    }

    deinit { ruleRefs.deallocate() }
}

/// Unretained references to objects that the caller also holds strongly in an array for as long
/// as it keeps the buffer (and deallocates it then). Walking an array of class references retains
/// and releases each element and the array, and reaches the elements through the array's own
/// buffer: in the evaluator that cost as much as the SHA-256 it exists to run, so its loops walk
/// these buffers, held by the objects themselves, instead.
private func unretained<Element: AnyObject>(_ elements: [Element]) -> UnsafeMutableBufferPointer<Unmanaged<Element>> {
    let buffer = UnsafeMutableBufferPointer<Unmanaged<Element>>.allocate(capacity: elements.count)
    _ = buffer.initialize(from: elements.map { Unmanaged.passUnretained($0) })
    return buffer
}

/// `@unchecked`: every property is immutable once built; `conditionRefs` points into memory that
/// only `deinit` frees.
final class CompiledRule: @unchecked Sendable {
    // What the evaluator reads comes first (stored properties are laid out in this order), so
    // one cache line holds it.
    let conditionRefs: UnsafeMutableBufferPointer<Unmanaged<CompiledCondition>>
    let passPercentage: Double
    let configDelegate: String?
    let unit: UnitRef
    /// `specSalt + "." + ruleSalt + "."`: the rollout hash input before the unit ID.
    let rolloutPrefix: [UInt8]

    let id: String
    let returnValue: JSONValue
    let groupName: String?
    let isExperimentGroup: Bool
    let salt: String
    let conditions: [CompiledCondition]
    let rule: Rule

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
        self.conditionRefs = unretained(conditions)
        self.rolloutPrefix = rolloutPrefix
        self.unit = unit
    }

    deinit { conditionRefs.deallocate() }
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
    // What every evaluation reads comes first (stored properties are laid out in this order);
    // the condition as given (`raw`, a large struct) last.
    let type: ConditionType
    let op: ConditionOperator?
    /// The SDK matches operators exactly after checking support case-insensitively, so "GT" is supported but never true.
    let operatorMatches: Bool
    let fieldKind: UserFieldKind
    let unit: UnitRef
    let field: String
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
    let idType: String
    let raw: Condition

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
