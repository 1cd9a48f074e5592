import VaneCore

/// Why a Segment message was not stored. The raw values are the reason codes shown in usage counts.
public enum SegmentDropReason: String, Sendable, CaseIterable, Codable {
    case invalidType = "invalid_type"
    case unsupportedType = "unsupported_type"
    case noUserAnonID = "no_user_anon_id"
    case idNotString = "id_not_string"
    case eventNotDefined = "event_not_defined"
    case eventNotString = "event_not_string"
    case propertiesNotObject = "properties_not_object"
    case traitsNotObject = "traits_not_object"
    case contextNotObject = "context_not_object"
    case nameNotString = "name_not_string"
    case categoryNotString = "category_not_string"
    case messageIDInvalid = "message_id_invalid"
    case messageTooLarge = "message_too_large"
    case notAnObject = "not_an_object"
    case aliasMissingIDs = "alias_missing_ids"
    case groupMissingGroupID = "group_missing_group_id"
    case valueNotFinite = "value_not_finite"
    case timeOutOfRange = "time_out_of_range"

    public var explanation: String {
        switch self {
        case .invalidType: return "type must be one of track, page, screen, identify, group, alias"
        case .unsupportedType: return "this message type is not supported"
        case .noUserAnonID: return "userId or anonymousId is required (a non-empty string)"
        case .idNotString: return "userId and anonymousId must be strings"
        case .eventNotDefined: return "track messages need an event name"
        case .eventNotString: return "event must be a non-empty string"
        case .propertiesNotObject: return "properties must be an object"
        case .traitsNotObject: return "traits must be an object"
        case .contextNotObject: return "context must be an object"
        case .nameNotString: return "name must be a string"
        case .categoryNotString: return "category must be a string"
        case .messageIDInvalid: return "messageId must be a string of at most 100 characters"
        case .messageTooLarge: return "message is larger than 32 KB"
        case .notAnObject: return "each message must be a JSON object"
        case .aliasMissingIDs: return "alias needs previousId and userId"
        case .groupMissingGroupID: return "group needs a groupId"
        case .valueNotFinite: return "properties.value and properties.revenue must be finite numbers (not NaN, Infinity or beyond ±1.8e308)"
        case .timeOutOfRange:
            return "the event time (timestamp, or originalTimestamp corrected by sentAt) must be between 2000-01-01T00:00:00Z and one day after the message arrived"
        }
    }
}

public struct SegmentRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: SegmentDropReason
    public var description: String { "\(reason.rawValue): \(reason.explanation)" }
    public init(_ reason: SegmentDropReason) { self.reason = reason }
}

public enum SegmentMessageType: String, Sendable, CaseIterable, Codable {
    case track, page, screen, identify, group, alias
}

/// One validated Segment message (Spec fields plus everything else kept in `raw`).
public struct SegmentMessage: Sendable {
    public var type: SegmentMessageType
    public var messageId: String?
    public var userId: String?
    public var anonymousId: String?
    public var event: String?
    public var name: String?
    public var category: String?
    public var properties: [String: JSONValue]
    public var traits: [String: JSONValue]
    public var context: [String: JSONValue]
    /// Client clocks, epoch ms: the event time the client claims, and when it sent the batch.
    public var clientTime: Int64?
    public var sentAt: Int64?
    /// `timestamp` as sent. Messages Segment itself delivers already carry its corrected time here.
    public var timestamp: Int64?
    /// Segment's own `receivedAt`: present on messages that went through Segment (destinations, Replay).
    public var segmentReceivedAt: Int64?
    public var raw: [String: JSONValue]

    public static let maxMessageBytes = 32 * 1024

    /// Validates one message. `impliedType` is the type a single-message path sets (`/v1/track`).
    public init(json: JSONValue, impliedType: SegmentMessageType? = nil, batchSentAt: Int64? = nil) throws {
        guard case .object(var o) = json else { throw SegmentRejection(.notAnObject) }
        if let impliedType, o["type"] == nil { o["type"] = .string(impliedType.rawValue) }
        guard let typeName = o["type"]?.stringValue, let type = SegmentMessageType(rawValue: typeName.lowercased()) else {
            throw SegmentRejection(.invalidType)
        }
        self.type = type
        self.raw = o

        func id(_ key: String) throws -> String? {
            switch o[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s.isEmpty ? nil : s
            case .int(let i)?: return String(i)  // libraries coerce numeric IDs; so do we
            case .double(let d)?: return PythonValue.str(.double(d))
            default: throw SegmentRejection(.idNotString)
            }
        }
        userId = try id("userId")
        anonymousId = try id("anonymousId")

        switch o["messageId"] {
        case nil, .null?: messageId = nil
        case .string(let s)? where !s.isEmpty && s.count <= 100: messageId = s
        case .int(let i)?: messageId = String(i)
        default: throw SegmentRejection(.messageIDInvalid)
        }

        func object(_ key: String, _ reason: SegmentDropReason) throws -> [String: JSONValue] {
            switch o[key] {
            case nil, .null?: return [:]
            case .object(let m)?: return m
            default: throw SegmentRejection(reason)
            }
        }
        properties = try object("properties", .propertiesNotObject)
        // These become the event's value (see SegmentMapper): a sum of an infinite value poisons every total.
        for key in ["value", "revenue"] {
            if case .double(let d)? = properties[key], !d.isFinite { throw SegmentRejection(.valueNotFinite) }
        }
        traits = try object("traits", .traitsNotObject)
        context = try object("context", .contextNotObject)

        func optionalString(_ key: String, _ reason: SegmentDropReason) throws -> String? {
            switch o[key] {
            case nil, .null?: return nil
            case .string(let s)?: return s.isEmpty ? nil : s
            default: throw SegmentRejection(reason)
            }
        }
        name = try optionalString("name", .nameNotString)
        category = try optionalString("category", .categoryNotString)

        switch type {
        case .track:
            switch o["event"] {
            case nil, .null?: throw SegmentRejection(.eventNotDefined)
            case .string(let s)? where !s.allSatisfy(\.isWhitespace): event = s
            default: throw SegmentRejection(.eventNotString)
            }
        default:
            event = nil
        }
        switch type {
        case .alias:
            guard userId != nil, (o["previousId"]?.stringValue ?? "").isEmpty == false else {
                throw SegmentRejection(.aliasMissingIDs)
            }
        case .group:
            guard o["groupId"]?.stringValue?.isEmpty == false || o["groupId"]?.int64Value != nil else {
                throw SegmentRejection(.groupMissingGroupID)
            }
            if userId == nil && anonymousId == nil { throw SegmentRejection(.noUserAnonID) }
        default:
            if userId == nil && anonymousId == nil { throw SegmentRejection(.noUserAnonID) }
        }

        // Timestamps that cannot be parsed count as absent (Segment's behaviour).
        clientTime = (o["originalTimestamp"]?.stringValue).flatMap(ISOTime.parse)
            ?? (o["timestamp"]?.stringValue).flatMap(ISOTime.parse)
        sentAt = (o["sentAt"]?.stringValue).flatMap(ISOTime.parse) ?? batchSentAt
        timestamp = (o["timestamp"]?.stringValue).flatMap(ISOTime.parse)
        segmentReceivedAt = (o["receivedAt"]?.stringValue).flatMap(ISOTime.parse)
    }

    /// The event time. A message that already went through Segment (delivered to a destination,
    /// or replayed, so it carries Segment's `receivedAt`) has its corrected time in `timestamp`.
    /// Straight from a library, the client's clock skew is removed as Segment does:
    /// `receivedAt − (sentAt − originalTimestamp)`; without `sentAt` the client time stands;
    /// without any client time, the arrival time.
    public func eventTime(receivedAt: Int64, fromSegment: Bool) -> Int64 {
        if fromSegment || segmentReceivedAt != nil, let timestamp { return timestamp }
        guard let clientTime else { return receivedAt }
        guard let sentAt else { return clientTime }
        return receivedAt.saturatingSubtract(sentAt.saturatingSubtract(clientTime))
    }
}
