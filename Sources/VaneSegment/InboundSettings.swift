import VaneCore

/// Per-project settings of the Segment destination ("Configuring Inbound Events").
public struct InboundSettings: Codable, Sendable, Equatable {
    public var enabled: Bool = true
    /// Segment field (`anonymousId`, any top-level field, or a dotted `context.` path) → custom ID type.
    public var identifierMappings: [IdentifierMapping] = [IdentifierMapping(field: "anonymousId", idType: "segmentAnonymousId")]
    public var filters: EventFilters = EventFilters()
    /// A repeated messageId within this many days is stored once.
    public var dedupeWindowDays: Int = 7
    /// HMAC-SHA1 secret for `X-Signature` on the destination endpoint; nil disables signature auth.
    public var sharedSecret: String?
    /// Environment for events that do not name one in `properties.statsigEnvironment.tier`.
    public var defaultEnvironment: String = "production"

    public init() {}

    enum CodingKeys: String, CodingKey {
        case enabled, identifierMappings, filters, dedupeWindowDays, sharedSecret, defaultEnvironment
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = InboundSettings()
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled
        identifierMappings = try c.decodeIfPresent([IdentifierMapping].self, forKey: .identifierMappings) ?? d.identifierMappings
        filters = try c.decodeIfPresent(EventFilters.self, forKey: .filters) ?? d.filters
        dedupeWindowDays = try c.decodeIfPresent(Int.self, forKey: .dedupeWindowDays) ?? d.dedupeWindowDays
        sharedSecret = try c.decodeIfPresent(String.self, forKey: .sharedSecret)
        defaultEnvironment = try c.decodeIfPresent(String.self, forKey: .defaultEnvironment) ?? d.defaultEnvironment
    }

    public func validate(knownIDTypes: Set<String>) throws {
        guard (1...365).contains(dedupeWindowDays) else {
            throw ValidationError("dedupeWindowDays must be between 1 and 365")
        }
        for (i, m) in identifierMappings.enumerated() {
            guard !m.field.isEmpty else { throw ValidationError("identifierMappings[\(i)].field must not be empty") }
            guard knownIDTypes.contains(m.idType) else {
                throw ValidationError(
                    "identifierMappings[\(i)].idType '\(m.idType)' is not a custom ID type of this project; create it first")
            }
        }
        try filters.validate()
    }
}

public struct IdentifierMapping: Codable, Sendable, Equatable {
    public var field: String
    public var idType: String
    public init(field: String, idType: String) {
        self.field = field
        self.idType = idType
    }
}

/// Allow and deny lists by event name (exact, or a prefix ending in `*`) and by message type.
/// A deny match always wins; a non-empty allow list admits only what it matches.
public struct EventFilters: Codable, Sendable, Equatable {
    public var allowEvents: [String] = []
    public var denyEvents: [String] = []
    public var allowTypes: [String] = []
    public var denyTypes: [String] = []

    public init(allowEvents: [String] = [], denyEvents: [String] = [], allowTypes: [String] = [], denyTypes: [String] = []) {
        self.allowEvents = allowEvents
        self.denyEvents = denyEvents
        self.allowTypes = allowTypes
        self.denyTypes = denyTypes
    }

    enum CodingKeys: String, CodingKey { case allowEvents, denyEvents, allowTypes, denyTypes }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        allowEvents = try c.decodeIfPresent([String].self, forKey: .allowEvents) ?? []
        denyEvents = try c.decodeIfPresent([String].self, forKey: .denyEvents) ?? []
        allowTypes = try c.decodeIfPresent([String].self, forKey: .allowTypes) ?? []
        denyTypes = try c.decodeIfPresent([String].self, forKey: .denyTypes) ?? []
    }

    func validate() throws {
        for t in allowTypes + denyTypes where SegmentMessageType(rawValue: t) == nil {
            throw ValidationError("filters: unknown message type '\(t)' (use track, page, screen, identify, group, alias)")
        }
    }

    /// The filter's verdict: nil admits, otherwise the reason it was filtered.
    public func reject(type: SegmentMessageType, eventName: String?) -> String? {
        if denyTypes.contains(type.rawValue) { return "type_denied" }
        if !allowTypes.isEmpty, !allowTypes.contains(type.rawValue) { return "type_not_allowed" }
        // A nameless page or screen matches no allowed name.
        guard let eventName else { return allowEvents.isEmpty ? nil : "event_not_allowed" }
        if denyEvents.contains(where: { Self.matches($0, eventName) }) { return "event_denied" }
        if !allowEvents.isEmpty, !allowEvents.contains(where: { Self.matches($0, eventName) }) { return "event_not_allowed" }
        return nil
    }

    static func matches(_ pattern: String, _ name: String) -> Bool {
        if pattern.hasSuffix("*") { return name.hasPrefix(pattern.dropLast()) }
        return pattern == name
    }
}
