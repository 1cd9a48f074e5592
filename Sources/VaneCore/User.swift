/// A Statsig user as SDKs send it (`userID`, `customIDs`, `custom`, `statsigEnvironment`, …).
public struct StatsigUser: Sendable, Hashable {
    public var userID: String?
    public var email: String?
    public var ip: String?
    public var userAgent: String?
    public var country: String?
    public var locale: String?
    public var appVersion: String?
    public var custom: [String: JSONValue]
    public var privateAttributes: [String: JSONValue]
    public var customIDs: [String: String]
    public var statsigEnvironment: [String: JSONValue]
    /// The user was sent with a `custom` object, possibly empty; SDKs echo `"custom": {}` back.
    public var sentCustom = false

    public init(
        userID: String? = nil, email: String? = nil, ip: String? = nil, userAgent: String? = nil,
        country: String? = nil, locale: String? = nil, appVersion: String? = nil,
        custom: [String: JSONValue] = [:], privateAttributes: [String: JSONValue] = [:],
        customIDs: [String: String] = [:], statsigEnvironment: [String: JSONValue] = [:]
    ) {
        self.userID = userID
        self.email = email
        self.ip = ip
        self.userAgent = userAgent
        self.country = country
        self.locale = locale
        self.appVersion = appVersion
        self.custom = custom
        self.privateAttributes = privateAttributes
        self.customIDs = customIDs
        self.statsigEnvironment = statsigEnvironment
    }

    public var tier: String? { statsigEnvironment["tier"]?.stringValue }

    /// The unit ID for an idType, as the SDK resolves it: userID for "userID", else the custom ID
    /// under the exact name, then under its lower-cased name.
    public func unitID(for idType: String) -> String? {
        UnitRef(idType).value(self)
    }
}

public struct UserDecodingError: Error, CustomStringConvertible, Sendable {
    public let description: String
}

extension StatsigUser {
    /// Reads a user object leniently: IDs given as numbers become strings (as the SDKs do),
    /// but a user that is not an object, or fields of the wrong shape, are errors that say which field.
    public init(json: JSONValue) throws {
        guard case .object(let o) = json else { throw UserDecodingError(description: "user must be an object") }
        func text(_ key: String, _ alt: String? = nil) throws -> String? {
            guard let v = o[key] ?? alt.flatMap({ o[$0] }) else { return nil }
            switch v {
            case .null: return nil
            case .string(let s): return s
            case .int, .double, .bool: return PythonValue.str(v)
            default: throw UserDecodingError(description: "user.\(key) must be a string")
            }
        }
        func map(_ key: String) throws -> [String: JSONValue] {
            guard let v = o[key] else { return [:] }
            switch v {
            case .null: return [:]
            case .object(let m): return m
            default: throw UserDecodingError(description: "user.\(key) must be an object")
            }
        }
        self.init(
            userID: try text("userID", "userId"), email: try text("email"), ip: try text("ip"),
            userAgent: try text("userAgent"), country: try text("country"), locale: try text("locale"),
            appVersion: try text("appVersion"), custom: try map("custom"),
            privateAttributes: try map("privateAttributes"))
        var ids: [String: String] = [:]
        for (k, v) in try map("customIDs") {
            switch v {
            case .null: continue
            case .string(let s): ids[k] = s
            case .int, .double, .bool: ids[k] = PythonValue.str(v)
            default: throw UserDecodingError(description: "user.customIDs.\(k) must be a string")
            }
        }
        customIDs = ids
        statsigEnvironment = try map("statsigEnvironment")
        sentCustom = o["custom"]?.objectValue != nil
    }

    /// The user as SDKs log it: null fields and privateAttributes left out.
    public func toJSON(includePrivate: Bool = false) -> JSONValue {
        var o: [String: JSONValue] = [:]
        func put(_ k: String, _ v: String?) { if let v { o[k] = .string(v) } }
        put("userID", userID)
        put("email", email)
        put("ip", ip)
        put("userAgent", userAgent)
        put("country", country)
        put("locale", locale)
        put("appVersion", appVersion)
        if !custom.isEmpty || sentCustom { o["custom"] = .object(custom) }
        if !customIDs.isEmpty { o["customIDs"] = .object(customIDs.mapValues { .string($0) }) }
        if !statsigEnvironment.isEmpty { o["statsigEnvironment"] = .object(statsigEnvironment) }
        if includePrivate, !privateAttributes.isEmpty { o["privateAttributes"] = .object(privateAttributes) }
        return .object(o)
    }
}
