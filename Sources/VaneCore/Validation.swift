/// Input checks for console entities. Each failure names the field and what is wrong.
public struct ValidationError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum Validation {
    /// Statsig's rule for names: letters, digits, `_-. ` and 2 to 100 characters.
    public static func checkName(_ name: String, what: String = "name") throws {
        let count = name.count
        guard count >= 2, count <= 100 else {
            throw ValidationError("\(what) must be 2 to 100 characters long (got \(count))")
        }
        for ch in name.unicodeScalars {
            let ok = (ch >= "a" && ch <= "z") || (ch >= "A" && ch <= "Z") || (ch >= "0" && ch <= "9")
                || ch == "_" || ch == "-" || ch == "." || ch == " "
            if !ok {
                throw ValidationError(
                    "\(what) '\(name)' contains '\(ch.escaped(asASCII: true))': only letters, digits, '_', '-', '.' and spaces are allowed")
            }
        }
    }

    static let consoleTypes: Set<String> = [
        "passes_gate", "fails_gate", "passes_segment", "fails_segment", "user_id", "email", "ip_address",
        "app_version", "locale", "custom_field", "country", "browser_name", "browser_version", "os_name",
        "os_version", "environment_tier", "time",
    ]
    static let listOperators: Set<ConditionOperator> = [
        .any, .none, .any_case_sensitive, .none_case_sensitive, .str_starts_with_any, .str_ends_with_any,
        .str_contains_any, .str_contains_none, .array_contains_any, .array_contains_none, .array_contains_all,
        .not_array_contains_all,
    ]

    static let knownTypes = (consoleTypes.union(ConditionType.allCases.map(\.rawValue))).sorted().joined(separator: ", ")
    static let knownOperators = ConditionOperator.allCases.map(\.rawValue).joined(separator: ", ")

    public static func check(condition c: EntityCondition, at path: String) throws {
        let type = c.type.lowercased()
        let sdkType = ConditionType(rawValue: type)
        guard sdkType != nil || consoleTypes.contains(type) else {
            throw ValidationError("\(path).type '\(c.type)' is not a known condition type (known: \(knownTypes))")
        }
        let needsNoOperator: Set<String> = [
            "public", "pass_gate", "fail_gate", "multi_pass_gate", "multi_fail_gate", "passes_gate", "fails_gate",
            "passes_segment", "fails_segment",
        ]
        // An operator the SDK format does not know makes the whole spec unsupported when compiled
        // (SDKs then skip it), so one is refused here even on types that need none.
        if needsNoOperator.contains(type), let opName = c.operator, ConditionOperator(rawValue: opName.lowercased()) == nil {
            throw ValidationError("\(path).operator '\(opName)' is not a known operator (type '\(c.type)' needs none)")
        }
        if needsNoOperator.contains(type) {
            if type != "public" {
                guard let t = c.targetValue, t.stringValue?.isEmpty == false || (type.hasPrefix("multi") && t.arrayValue != nil) else {
                    throw ValidationError("\(path).targetValue must name the gate or segment")
                }
            }
            return
        }
        guard let opName = c.operator else { throw ValidationError("\(path).operator is required for type '\(c.type)'") }
        guard let op = ConditionOperator(rawValue: opName.lowercased()) else {
            throw ValidationError("\(path).operator '\(opName)' is not a known operator (known: \(knownOperators))")
        }
        if listOperators.contains(op), type != "user_bucket" || op == .any || op == .none {
            guard c.targetValue?.arrayValue != nil else {
                throw ValidationError("\(path).targetValue must be a list for operator '\(opName)'")
            }
        }
        if (type == "user_field" || type == "custom_field" || type == "ua_based" || type == "ip_based"
            || type == "environment_field"),
            (c.field ?? "").isEmpty
        {
            throw ValidationError("\(path).field is required for type '\(c.type)'")
        }
        if [.in_segment_list, .not_in_segment_list].contains(op), c.targetValue?.stringValue == nil {
            throw ValidationError("\(path).targetValue must be the name of an ID list")
        }
    }

    public static func check(rule r: EntityRule, at path: String) throws {
        guard (0...100).contains(r.passPercentage) else {
            throw ValidationError("\(path).passPercentage must be between 0 and 100 (got \(r.passPercentage))")
        }
        for (i, c) in r.conditions.enumerated() { try check(condition: c, at: "\(path).conditions[\(i)]") }
        try check(schedule: r.schedule ?? [], at: "\(path).schedule")
    }

    /// The most steps one rule's schedule may have.
    public static let maxScheduleSteps = 50

    static func check(schedule steps: [RolloutStep], at path: String) throws {
        guard steps.count <= maxScheduleSteps else {
            throw ValidationError("\(path) has \(steps.count) steps; at most \(maxScheduleSteps) are allowed")
        }
        for (i, step) in steps.enumerated() {
            guard EventTime.storable.contains(step.time) else {
                throw ValidationError("\(path)[\(i)].time must be a time in ms since 1970 between \(ISOTime.format(EventTime.earliest)) and \(ISOTime.format(EventTime.latest)) (got \(step.time))")
            }
            guard (0...100).contains(step.passPercentage) else {
                throw ValidationError("\(path)[\(i)].passPercentage must be between 0 and 100 (got \(step.passPercentage))")
            }
            if i > 0, step.time <= steps[i - 1].time {
                throw ValidationError("\(path)[\(i)].time must be later than the step before it: steps go in time order")
            }
        }
    }

    /// The most primary metrics one experiment may have.
    public static let maxPrimaryMetrics = 10
    /// The most guardrails one gate or experiment may have.
    public static let maxGuardrails = 20

    /// A list of metric ids (`field` names it, `path(i)` names its i-th id in errors): at most
    /// `max`, each usable as an id, none twice.
    static func checkMetricIDs(_ ids: [String], field: String, max: Int, path: (Int) -> String) throws {
        guard ids.count <= max else {
            throw ValidationError("\(field) has \(ids.count) metrics; at most \(max) are allowed")
        }
        var seen = Set<String>()
        for (i, id) in ids.enumerated() {
            guard !id.isEmpty, id.count <= 200, !id.contains(",") else {
                throw ValidationError("\(path(i)) must be a metric id such as conversion:purchase or a defined metric's name (1 to 200 characters, no commas)")
            }
            guard seen.insert(id).inserted else { throw ValidationError("\(path(i)) '\(id)' is listed twice") }
        }
    }

    static func check(primaryMetrics: [String]) throws {
        try checkMetricIDs(primaryMetrics, field: "primaryMetrics", max: maxPrimaryMetrics) { "primaryMetrics[\($0)]" }
    }

    static func check(guardrails: [Guardrail]) throws {
        try checkMetricIDs(guardrails.map(\.metric), field: "guardrails", max: maxGuardrails) { "guardrails[\($0)].metric" }
        for (i, g) in guardrails.enumerated() {
            guard g.tolerance.isFinite, (0..<1).contains(g.tolerance) else {
                throw ValidationError("guardrails[\(i)].tolerance must be a relative change from 0 to below 1 (0.02 is 2 %; got \(g.tolerance))")
            }
        }
    }

    /// Checks an entity's own fields. References to other entities are checked by the caller, which can see them.
    public static func check(entity e: Entity, environments: [String]) throws {
        try checkName(e.name)
        for (i, r) in (e.rules ?? []).enumerated() {
            try check(rule: r, at: "rules[\(i)]")
            if r.schedule?.isEmpty == false, e.kind != .gate, e.kind != .dynamicConfig {
                throw ValidationError("rules[\(i)].schedule: only gate and dynamic config rules can have a scheduled rollout")
            }
            for env in r.environments ?? [] where !environments.contains(env) {
                throw ValidationError("rules[\(i)].environments: unknown environment '\(env)' (known: \(environments.joined(separator: ", ")))")
            }
        }
        if let primary = e.primaryMetrics, !primary.isEmpty {
            guard e.kind == .experiment else { throw ValidationError("primaryMetrics: only experiments have primary metrics") }
            try check(primaryMetrics: primary)
        }
        if let guardrails = e.guardrails, !guardrails.isEmpty {
            guard e.kind == .gate || e.kind == .experiment else {
                throw ValidationError("guardrails: only gates and experiments can have guardrails")
            }
            try check(guardrails: guardrails)
        }
        switch e.kind {
        case .dynamicConfig:
            if let d = e.defaultValue, d.objectValue == nil { throw ValidationError("defaultValue must be a JSON object") }
            for (i, r) in (e.rules ?? []).enumerated() {
                if let v = r.returnValue, v.objectValue == nil {
                    throw ValidationError("rules[\(i)].returnValue must be a JSON object")
                }
            }
        case .layer:
            if let d = e.defaultValue, d.objectValue == nil { throw ValidationError("defaultValue must be a JSON object") }
        case .experiment:
            if let groups = e.groups {
                guard groups.count >= 1 else { throw ValidationError("groups must have at least one group") }
                var names = Set<String>()
                for (i, g) in groups.enumerated() {
                    guard !g.name.isEmpty else { throw ValidationError("groups[\(i)].name must not be empty") }
                    guard names.insert(g.name).inserted else { throw ValidationError("groups[\(i)].name '\(g.name)' is used twice") }
                    guard g.size >= 0, g.size <= 100 else { throw ValidationError("groups[\(i)].size must be between 0 and 100") }
                }
                let total = groups.reduce(0) { $0 + $1.size }
                guard abs(total - 100) < 1e-6 else {
                    throw ValidationError("groups: sizes must add up to 100 (they add up to \(total))")
                }
            }
            if let a = e.allocation, !(0...100).contains(a) { throw ValidationError("allocation must be between 0 and 100") }
            if let w = e.analysisWindowDays, !(1...3650).contains(w) {
                throw ValidationError("analysisWindowDays must be between 1 and 3650")
            }
        case .segment:
            if let t = e.segmentType, t != "rule_based", t != "id_list" {
                throw ValidationError("segmentType must be 'rule_based' or 'id_list'")
            }
        case .gate, .holdout:
            break
        }
        if let holdouts = e.holdouts, !holdouts.isEmpty {
            guard e.kind == .gate || e.kind == .experiment else {
                throw ValidationError("holdouts: only gates and experiments can be attached to holdouts")
            }
            guard Set(holdouts).count == holdouts.count else { throw ValidationError("holdouts: a holdout is listed twice") }
        }
    }
}
