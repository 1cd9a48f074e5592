/// An OpenFeature evaluation context (as OFREP sends it) read as a Statsig user.
///
/// - `targetingKey` is the userID (a `userID`/`userId` attribute stands in when there is none);
/// - `email`, `ip`, `userAgent`, `country`, `locale`, `appVersion` are the user's fields;
/// - a `customIDs` object, and attributes named like a custom ID type (`stableID` or one of
///   `customIDTypes`, compared case-insensitively, stored under the type's own spelling), are the
///   user's custom IDs; the object wins over an attribute of the same type;
/// - `privateAttributes` and `statsigEnvironment` objects are taken as they are, and a `custom`
///   object is merged into the custom fields;
/// - every other attribute, whatever its JSON type, is a custom field.
///
/// The user's environment tier is `environment` (the key's) unless the context names one.
public enum OFREPContext {
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    public static let userFields: Set<String> = ["email", "ip", "userAgent", "country", "locale", "appVersion"]

    public static func user(_ context: JSONValue?, customIDTypes: some Sequence<String>, environment: String?) throws(Invalid)
        -> StatsigUser
    {
        var user = StatsigUser()
        let attributes: [String: JSONValue]
        switch context {
        case nil, .null?: attributes = [:]
        case .object(let o)?: attributes = o
        case let other?:
            throw Invalid("context must be a JSON object, not \(kind(other))")
        }
        if let path = JSONValue.object(attributes).pathOfNonFiniteNumber("context") {
            throw Invalid("\(path) must be a finite number")
        }
        var idTypes: [String: String] = ["stableid": "stableID"]
        for t in customIDTypes { idTypes[t.lowercased()] = t }

        var attributeIDs: [String: String] = [:]
        for (name, value) in attributes {
            switch name {
            case "targetingKey":
                user.userID = try text(value, "targetingKey")
            case "email": user.email = try text(value, name)
            case "ip": user.ip = try text(value, name)
            case "userAgent": user.userAgent = try text(value, name)
            case "country": user.country = try text(value, name)
            case "locale": user.locale = try text(value, name)
            case "appVersion": user.appVersion = try text(value, name)
            case "userID", "userId": continue
            case "customIDs":
                for (k, v) in try object(value, name) {
                    if let id = try text(v, "customIDs.\(k)") { user.customIDs[k] = id }
                }
            case "privateAttributes": user.privateAttributes = try object(value, name)
            case "statsigEnvironment": user.statsigEnvironment = try object(value, name)
            case "custom" where value.objectValue != nil:
                for (k, v) in value.objectValue! where user.custom[k] == nil { user.custom[k] = v }
            default:
                if let idType = idTypes[name.lowercased()] {
                    if let id = try text(value, name) { attributeIDs[idType] = id }
                } else {
                    // Flat attributes win over the same name inside a `custom` object.
                    user.custom[name] = value
                }
            }
        }
        if user.userID == nil {
            for name in ["userID", "userId"] where user.userID == nil {
                if let v = attributes[name] { user.userID = try text(v, name) }
            }
        }
        for (k, v) in attributeIDs where user.customIDs[k] == nil { user.customIDs[k] = v }
        if user.statsigEnvironment["tier"] == nil, let environment {
            user.statsigEnvironment["tier"] = .string(environment)
        }
        return user
    }

    /// A string field: strings as they are, numbers and booleans as Python's `str()` writes them
    /// (as the Statsig SDKs do); null or "" is no value.
    private static func text(_ v: JSONValue, _ field: String) throws(Invalid) -> String? {
        switch v {
        case .null: return nil
        case .string(let s): return s.isEmpty ? nil : s
        case .int, .double, .bool: return PythonValue.str(v)
        case .array, .object: throw Invalid("context.\(field) must be a string, not \(kind(v))")
        }
    }

    private static func object(_ v: JSONValue, _ field: String) throws(Invalid) -> [String: JSONValue] {
        switch v {
        case .null: return [:]
        case .object(let o): return o
        default: throw Invalid("context.\(field) must be an object, not \(kind(v))")
        }
    }

    static func kind(_ v: JSONValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }
}
