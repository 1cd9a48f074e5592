/// The rules format Statsig SDKs download (`download_config_specs` v1): the unit of evaluation.
public struct Spec: Sendable, Hashable {
    public var name: String
    public var type: String  // "feature_gate" | "dynamic_config"
    public var entity: String  // feature_gate | segment | holdout | dynamic_config | experiment | layer | autotune
    public var salt: String
    public var enabled: Bool
    public var defaultValue: JSONValue
    public var idType: String
    public var rules: [Rule]
    public var isActive: Bool?
    public var hasSharedParams: Bool?
    public var explicitParameters: [String]?
    public var version: Int64?
    public var targetAppIDs: [String]?

    public init(
        name: String, type: String, entity: String, salt: String, enabled: Bool = true,
        defaultValue: JSONValue, idType: String = "userID", rules: [Rule], isActive: Bool? = nil,
        hasSharedParams: Bool? = nil, explicitParameters: [String]? = nil, version: Int64? = nil,
        targetAppIDs: [String]? = nil
    ) {
        self.name = name
        self.type = type
        self.entity = entity
        self.salt = salt
        self.enabled = enabled
        self.defaultValue = defaultValue
        self.idType = idType
        self.rules = rules
        self.isActive = isActive
        self.hasSharedParams = hasSharedParams
        self.explicitParameters = explicitParameters
        self.version = version
        self.targetAppIDs = targetAppIDs
    }
}

public struct Rule: Sendable, Hashable {
    public var id: String
    public var name: String
    public var salt: String?
    public var passPercentage: Double
    public var conditions: [Condition]
    public var returnValue: JSONValue
    public var idType: String
    public var groupName: String?
    public var isExperimentGroup: Bool?
    public var configDelegate: String?

    public init(
        id: String, name: String? = nil, salt: String? = nil, passPercentage: Double, conditions: [Condition],
        returnValue: JSONValue, idType: String = "userID", groupName: String? = nil,
        isExperimentGroup: Bool? = nil, configDelegate: String? = nil
    ) {
        self.id = id
        self.name = name ?? id
        self.salt = salt
        self.passPercentage = passPercentage
        self.conditions = conditions
        self.returnValue = returnValue
        self.idType = idType
        self.groupName = groupName
        self.isExperimentGroup = isExperimentGroup
        self.configDelegate = configDelegate
    }
}

public struct Condition: Sendable, Hashable {
    public var type: String
    public var `operator`: String?
    public var targetValue: JSONValue
    public var field: String?
    public var additionalValues: [String: JSONValue]
    public var idType: String

    public init(
        type: String, operator: String? = nil, targetValue: JSONValue = .null, field: String? = nil,
        additionalValues: [String: JSONValue] = [:], idType: String = "userID"
    ) {
        self.type = type
        self.operator = `operator`
        self.targetValue = targetValue
        self.field = field
        self.additionalValues = additionalValues
        self.idType = idType
    }

    public static let `public` = Condition(type: "public")
}

public struct SpecFormatError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - JSON

extension Spec {
    public init(json: JSONValue) throws {
        guard case .object(let o) = json else { throw SpecFormatError("spec must be an object") }
        guard let name = o["name"]?.stringValue, !name.isEmpty else { throw SpecFormatError("spec has no name") }
        let rules = try (o["rules"]?.arrayValue ?? []).enumerated().map { i, r in
            do { return try Rule(json: r) } catch let e as SpecFormatError {
                throw SpecFormatError("\(name): rule \(i): \(e.description)")
            }
        }
        self.init(
            name: name, type: o["type"]?.stringValue ?? "feature_gate",
            entity: o["entity"]?.stringValue ?? (o["type"]?.stringValue ?? "feature_gate"),
            salt: o["salt"]?.stringValue ?? "", enabled: o["enabled"]?.boolValue ?? false,
            defaultValue: o["defaultValue"] ?? .object([:]), idType: o["idType"]?.stringValue ?? "userID", rules: rules,
            isActive: o["isActive"]?.boolValue, hasSharedParams: o["hasSharedParams"]?.boolValue,
            explicitParameters: o["explicitParameters"]?.arrayValue?.compactMap(\.stringValue),
            version: o["version"]?.int64Value,
            targetAppIDs: o["targetAppIDs"]?.arrayValue?.compactMap(\.stringValue))
    }

    public func toJSON() -> JSONValue {
        var o: [String: JSONValue] = [
            "name": .string(name), "type": .string(type), "entity": .string(entity), "salt": .string(salt),
            "enabled": .bool(enabled), "defaultValue": defaultValue, "idType": .string(idType),
            "rules": .array(rules.map { $0.toJSON() }),
        ]
        if let isActive { o["isActive"] = .bool(isActive) }
        if let hasSharedParams { o["hasSharedParams"] = .bool(hasSharedParams) }
        if let explicitParameters { o["explicitParameters"] = .array(explicitParameters.map { .string($0) }) }
        if let version { o["version"] = .int(version) }
        if let targetAppIDs { o["targetAppIDs"] = .array(targetAppIDs.map { .string($0) }) }
        return .object(o)
    }
}

extension Rule {
    public init(json: JSONValue) throws {
        guard case .object(let o) = json else { throw SpecFormatError("rule must be an object") }
        // As the SDK reads them: a missing id is "", a missing passPercentage is 0.
        let id = o["id"]?.stringValue ?? ""
        guard let pct = o["passPercentage"]?.doubleValue ?? (o["passPercentage"] == nil ? 0 : nil),
            (0...100).contains(pct)
        else { throw SpecFormatError("passPercentage must be a number from 0 to 100") }
        let conditions = try (o["conditions"]?.arrayValue ?? []).map(Condition.init(json:))
        self.init(
            id: id, name: o["name"]?.stringValue ?? id, salt: o["salt"]?.stringValue ?? id, passPercentage: pct,
            conditions: conditions, returnValue: o["returnValue"] ?? .null,
            idType: o["idType"]?.stringValue ?? "userID", groupName: o["groupName"]?.stringValue,
            isExperimentGroup: o["isExperimentGroup"]?.boolValue, configDelegate: o["configDelegate"]?.stringValue)
    }

    public func toJSON() -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id), "name": .string(name), "passPercentage": JSONValue.number(passPercentage),
            "conditions": .array(conditions.map { $0.toJSON() }), "returnValue": returnValue,
            "idType": .string(idType),
        ]
        if let salt { o["salt"] = .string(salt) }
        if let groupName { o["groupName"] = .string(groupName) }
        if let isExperimentGroup { o["isExperimentGroup"] = .bool(isExperimentGroup) }
        if let configDelegate { o["configDelegate"] = .string(configDelegate) }
        return .object(o)
    }
}

extension Condition {
    public init(json: JSONValue) throws {
        guard case .object(let o) = json else { throw SpecFormatError("condition must be an object") }
        guard let type = o["type"]?.stringValue else { throw SpecFormatError("condition has no type") }
        self.init(
            type: type, operator: o["operator"]?.stringValue, targetValue: o["targetValue"] ?? .null,
            field: o["field"]?.stringValue, additionalValues: o["additionalValues"]?.objectValue ?? [:],
            idType: o["idType"]?.stringValue ?? "userID")
    }

    public func toJSON() -> JSONValue {
        [
            "type": .string(type), "operator": `operator`.map { .string($0) } ?? .null, "targetValue": targetValue,
            "field": field.map { .string($0) } ?? .null, "additionalValues": .object(additionalValues),
            "idType": .string(idType),
        ]
    }
}

extension JSONValue {
    /// Whole numbers as ints, so `100` round-trips as `100` rather than `100.0`.
    public static func number(_ d: Double) -> JSONValue {
        if d == d.rounded(), abs(d) < 1e15 { return .int(Int64(d)) }
        return .double(d)
    }
}
