import VaneCore

public enum KeyKind: String, Sendable, Codable, CaseIterable {
    case server, client, console
    /// The write key Segment's libraries (or Segment itself) use to send to Vane's Tracking API.
    case segmentWriteKey = "segment_write_key"

    public var prefix: String {
        switch self {
        case .server: return "secret-"
        case .client: return "client-"
        case .console: return "console-"
        case .segmentWriteKey: return "wk_"
        }
    }

    public static func of(_ key: String) -> KeyKind? {
        allCases.first { key.hasPrefix($0.prefix) }
    }
}

public struct APIKey: Sendable, Hashable, Codable {
    public var id: String
    public var project: String
    public var kind: KeyKind
    /// Enough of the key to recognise it in a list; the key itself is stored only as a hash.
    public var displayPrefix: String
    /// nil: every environment.
    public var environment: String?
    public var description: String
    public var createdAt: Int64
    public var revokedAt: Int64?
    /// Browser origins (`https://app.example.com`) a client key may be used from; nil: any.
    public var allowedOrigins: [String]?

    public init(
        id: String, project: String, kind: KeyKind, displayPrefix: String, environment: String?, description: String,
        createdAt: Int64, revokedAt: Int64? = nil, allowedOrigins: [String]? = nil
    ) {
        self.allowedOrigins = allowedOrigins
        self.id = id
        self.project = project
        self.kind = kind
        self.displayPrefix = displayPrefix
        self.environment = environment
        self.description = description
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// A key as it is handed out once, in full.
public struct IssuedKey: Sendable {
    public var key: APIKey
    public var secret: String
}

public struct AuditEntry: Sendable, Codable, Hashable {
    public var id: Int64?
    public var time: Int64
    public var actor: String
    /// created | updated | deleted | started | decision_made | abandoned | ids_changed | imported
    public var action: String
    public var kind: String
    public var name: String
    public var environment: String?
    public var before: JSONValue?
    public var after: JSONValue?
    public var description: String

    public init(
        time: Int64, actor: String, action: String, kind: String, name: String, environment: String? = nil,
        before: JSONValue? = nil, after: JSONValue? = nil, description: String
    ) {
        self.time = time
        self.actor = actor
        self.action = action
        self.kind = kind
        self.name = name
        self.environment = environment
        self.before = before
        self.after = after
        self.description = description
    }
}

public struct AuditQuery: Sendable {
    public var kind: String?
    public var name: String?
    public var actor: String?
    public var action: String?
    /// Entries at or after this time (epoch ms).
    public var since: Int64?
    /// Entries before this time (epoch ms).
    public var until: Int64?
    public var limit: Int = 100
    public var beforeID: Int64?
    public init(
        kind: String? = nil, name: String? = nil, actor: String? = nil, action: String? = nil, since: Int64? = nil, until: Int64? = nil,
        limit: Int = 100, beforeID: Int64? = nil
    ) {
        self.kind = kind
        self.name = name
        self.actor = actor
        self.action = action
        self.since = since
        self.until = until
        self.limit = limit
        self.beforeID = beforeID
    }
}

public struct IDListInfo: Sendable, Codable, Hashable {
    public var name: String
    /// Number of IDs in the list.
    public var count: Int
    /// Bytes in the list file that SDKs download.
    public var fileSize: Int
    public var fileID: String
    public var creationTime: Int64
    public var updatedAt: Int64
}

public struct IDListChange: Sendable, Codable, Hashable {
    public var id: String
    public var op: String  // "+" or "-"
    public var time: Int64
    public var source: String
}

// `EventRecord`, `DedupeKey`, `EventSource` and `ExposureKind` live in VaneCore (EventRecord.swift).

/// One day's count of what happened to inbound messages.
public struct UsageCount: Sendable, Hashable {
    public var day: String
    public var source: String
    /// ingested | filtered | invalid | duplicate | ignored
    public var category: String
    public var reason: String
    public var count: Int

    public init(day: String, source: String, category: String, reason: String, count: Int) {
        self.day = day
        self.source = source
        self.category = category
        self.reason = reason
        self.count = count
    }
}

/// An Engage audience change to apply with last-writer-wins by event time.
public struct MembershipChange: Sendable, Hashable {
    public var list: String
    public var unitID: String
    public var member: Bool
    public var time: Int64

    public init(list: String, unitID: String, member: Bool, time: Int64) {
        self.list = list
        self.unitID = unitID
        self.member = member
        self.time = time
    }
}

public enum MembershipOutcome: String, Sendable {
    case added, removed, unchanged, stale
}

/// How `EventQuery.eventName` matches event names (always case-sensitive, as names are).
public enum EventNameMatch: String, Sendable, CaseIterable {
    case exact, prefix, contains
}

public struct EventQuery: Sendable {
    public var eventName: String?
    public var eventNameMatch: EventNameMatch = .exact
    public var userID: String?
    public var since: Int64?
    public var until: Int64?
    public var source: String?
    public var limit: Int
    /// Continue after this (time, id) position, newest first.
    public var cursor: EventCursor?

    public init(
        eventName: String? = nil, userID: String? = nil, since: Int64? = nil, until: Int64? = nil,
        source: String? = nil, limit: Int = 100, cursor: EventCursor? = nil
    ) {
        self.eventName = eventName
        self.userID = userID
        self.since = since
        self.until = until
        self.source = source
        self.limit = limit
        self.cursor = cursor
    }
}

public struct EventCursor: Sendable, Hashable {
    public var time: Int64
    public var id: Int64

    public init(time: Int64, id: Int64) {
        self.time = time
        self.id = id
    }

    public var token: String { "\(time)_\(id)" }

    public init?(token: String) {
        let parts = token.split(separator: "_")
        guard parts.count == 2, let t = Int64(parts[0]), let i = Int64(parts[1]) else { return nil }
        self.init(time: t, id: i)
    }
}

public struct EventPage: Sendable {
    public var events: [EventRecord]
    public var nextCursor: EventCursor?
}

public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: Sendable { case notFound, conflict, invalid }
    public let code: Code
    public let description: String

    public static func notFound(_ m: String) -> StoreError { StoreError(code: .notFound, description: m) }
    public static func conflict(_ m: String) -> StoreError { StoreError(code: .conflict, description: m) }
    public static func invalid(_ m: String) -> StoreError { StoreError(code: .invalid, description: m) }
}

/// Keys to create on first start instead of random ones (for scripted setups and tests).
public struct PresetKeys: Sendable {
    public var server: String?
    public var client: String?
    public var console: String?
    /// Created only when given: the write key Segment libraries send to the Tracking-API endpoints with.
    public var segmentWriteKey: String?
    public init(server: String? = nil, client: String? = nil, console: String? = nil, segmentWriteKey: String? = nil) {
        self.server = server
        self.client = client
        self.console = console
        self.segmentWriteKey = segmentWriteKey
    }
}

/// Where the Segment exporter is in the event and audit logs, and how it has fared.
public struct OutboundState: Sendable, Hashable {
    public var eventCursor: Int64 = 0
    public var auditCursor: Int64 = 0
    public var delivered: Int = 0
    public var requests: Int = 0
    public var lastSuccess: Int64?
    public var lastError: String?
    public var lastErrorTime: Int64?
    public init() {}
}

/// Whether a delivery is failing now: an error stays on record, but delivery is failing only while
/// no success came after it. (The Segment exporter's state and each webhook's.)
public func deliveryIsFailing(lastError: String?, lastErrorTime: Int64?, lastSuccess: Int64?) -> Bool {
    lastError != nil && (lastSuccess ?? .min) < (lastErrorTime ?? .max)
}

/// A message Segment refused for good (or that could never be sent), kept with the reason.
public struct DeadLetter: Sendable, Hashable {
    public var id: Int64?
    public var message: JSONValue
    public var reason: String
    public var createdAt: Int64
    public var retryRequested: Bool

    public init(id: Int64? = nil, message: JSONValue, reason: String, createdAt: Int64, retryRequested: Bool = false) {
        self.id = id
        self.message = message
        self.reason = reason
        self.createdAt = createdAt
        self.retryRequested = retryRequested
    }
}

/// What a console user may do: viewers read, editors change configuration, admins also manage
/// users, keys and integrations.
public enum ConsoleRole: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer, editor, admin

    var rank: Int {
        switch self {
        case .viewer: return 0
        case .editor: return 1
        case .admin: return 2
        }
    }

    public static func < (a: ConsoleRole, b: ConsoleRole) -> Bool { a.rank < b.rank }
}

public struct ConsoleUser: Sendable, Hashable, Codable {
    public var id: String
    public var email: String
    public var name: String
    public var role: ConsoleRole
    /// bcrypt hash; never leaves the server.
    public var passwordHash: String
    public var createdAt: Int64
    public var disabledAt: Int64?

    public init(id: String, email: String, name: String, role: ConsoleRole, passwordHash: String, createdAt: Int64, disabledAt: Int64? = nil) {
        self.id = id
        self.email = email
        self.name = name
        self.role = role
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }
}

public struct ConsoleSession: Sendable, Hashable {
    public var user: ConsoleUser
    public var csrfToken: String
    public var expiresAt: Int64

    public init(user: ConsoleUser, csrfToken: String, expiresAt: Int64) {
        self.user = user
        self.csrfToken = csrfToken
        self.expiresAt = expiresAt
    }
}
