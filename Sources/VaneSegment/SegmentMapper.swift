import VaneCore

/// A Segment message as a Vane event: name, user, value, metadata and times.
public struct MappedSegmentEvent: Sendable {
    public var eventName: String
    public var user: StatsigUser
    public var value: JSONValue?
    public var metadata: [String: JSONValue]
    public var time: Int64
    public var messageId: String?
}

/// A change of Engage audience membership carried by an identify or an Audience Entered/Exited track.
public struct AudienceChange: Sendable, Equatable {
    public var list: String
    /// The mapped user; the list's unit (userID or a custom ID) is picked from it by the caller,
    /// who knows which ID type the list's segment targets.
    public var user: StatsigUser
    public var member: Bool
    public var time: Int64
}

public enum SegmentMapper {
    public static let eventPrefix = "segment::"

    /// track → `segment::<event>`; page and screen → `segment::page` / `segment::screen`, with
    /// `name` and `category` in metadata. Identify, group and alias are not events.
    public static func map(
        _ m: SegmentMessage, settings: InboundSettings, receivedAt: Int64, fromSegment: Bool
    ) -> MappedSegmentEvent? {
        let eventName: String
        var metadata = m.properties
        switch m.type {
        case .track: eventName = eventPrefix + (m.event ?? "")
        case .page, .screen:
            eventName = eventPrefix + m.type.rawValue
            if let name = m.name { metadata["name"] = .string(name) }
            if let category = m.category { metadata["category"] = .string(category) }
        case .identify, .group, .alias: return nil
        }
        // The Statsig destination's control properties shape the user, not the event.
        for key in ["statsigCustomIDs", "statsigCustom", "statsigEnvironment"] { metadata[key] = nil }
        let value = m.properties["value"].flatMap(usableValue) ?? m.properties["revenue"].flatMap(usableValue)
        return MappedSegmentEvent(
            eventName: eventName, user: user(m, settings: settings), value: value, metadata: metadata,
            time: m.eventTime(receivedAt: receivedAt, fromSegment: fromSegment), messageId: m.messageId)
    }

    private static func usableValue(_ v: JSONValue) -> JSONValue? {
        switch v {
        case .int, .double: return v
        case .string(let s) where !s.isEmpty: return v
        default: return nil
        }
    }

    /// userId → userID; mapped identifiers (default anonymousId → segmentAnonymousId);
    /// `properties.statsigCustomIDs` pairs override mapped ones; `statsigCustom` pairs → custom;
    /// `statsigEnvironment.tier` → environment; context ip, userAgent, locale and traits email → user fields.
    public static func user(_ m: SegmentMessage, settings: InboundSettings) -> StatsigUser {
        var user = StatsigUser(userID: m.userId)
        for mapping in settings.identifierMappings {
            if let v = lookup(mapping.field, in: m.raw), let s = idString(v) { user.customIDs[mapping.idType] = s }
        }
        for (k, v) in pairs(m.properties["statsigCustomIDs"]) {
            if let s = idString(v) { user.customIDs[k] = s }
        }
        for (k, v) in pairs(m.properties["statsigCustom"]) { user.custom[k] = v }
        let tier = m.properties["statsigEnvironment"]?["tier"]?.stringValue ?? settings.defaultEnvironment
        user.statsigEnvironment["tier"] = .string(tier)
        user.ip = m.context["ip"]?.stringValue
        user.userAgent = m.context["userAgent"]?.stringValue
        user.locale = m.context["locale"]?.stringValue
        user.email = m.traits["email"]?.stringValue ?? m.context["traits"]?["email"]?.stringValue
            ?? m.properties["email"]?.stringValue
        return user
    }

    /// A flat `[key, value, key, value, …]` list; an odd trailing element is ignored.
    static func pairs(_ v: JSONValue?) -> [(String, JSONValue)] {
        guard let list = v?.arrayValue else { return [] }
        var out: [(String, JSONValue)] = []
        var i = 0
        while i + 1 < list.count {
            if let key = list[i].stringValue, !key.isEmpty { out.append((key, list[i + 1])) }
            i += 2
        }
        return out
    }

    private static func idString(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s.isEmpty ? nil : s
        case .int, .double: return PythonValue.str(v)
        default: return nil
        }
    }

    /// A top-level field or a dotted path such as `context.device.id`.
    static func lookup(_ path: String, in raw: [String: JSONValue]) -> JSONValue? {
        let parts = path.split(separator: ".").map(String.init)
        guard let first = parts.first, var current = raw[first] else { return nil }
        for p in parts.dropFirst() {
            guard let next = current[p] else { return nil }
            current = next
        }
        return current.isNull ? nil : current
    }

    /// Engage membership: `context.personas.computation_key` names the list, and the boolean
    /// `traits[key]` (identify) or `properties[key]` (track) says in or out. Anything else is
    /// not a membership event.
    public static func audienceChange(
        _ m: SegmentMessage, settings: InboundSettings, receivedAt: Int64, fromSegment: Bool
    ) -> AudienceChange? {
        guard let personas = m.context["personas"]?.objectValue,
            let key = personas["computation_key"]?.stringValue, !key.isEmpty
        else { return nil }
        if let cls = personas["computation_class"]?.stringValue, cls != "audience", cls != "journey_step" { return nil }
        let flag: JSONValue?
        switch m.type {
        case .identify: flag = m.traits[key]
        case .track:
            guard m.event == "Audience Entered" || m.event == "Audience Exited" else { return nil }
            flag = m.properties[key]
        default: return nil
        }
        guard case .bool(let member)? = flag else { return nil }
        return AudienceChange(
            list: key, user: user(m, settings: settings), member: member,
            time: m.eventTime(receivedAt: receivedAt, fromSegment: fromSegment))
    }
}
