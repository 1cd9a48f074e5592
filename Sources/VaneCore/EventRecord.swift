/// The event vocabulary every module shares: where an event came from, which exposure it is, and
/// the event record itself, built from a Statsig user in one place.

/// Where an event entered Vane. Stored as its raw value in the events table's `source` column.
public enum EventSource: String, Sendable, Hashable, CaseIterable, Codable {
    /// `log_event` / `rgstr` from a Statsig SDK (legacy or client).
    case sdk
    /// An exposure Vane logs for its own evaluation endpoints (`check_gate`, `get_config`, OFREP, …).
    case httpAPI = "http_api"
    /// Segment inbound (the HTTP tracking API or the Segment destination).
    case segment

    /// The stored (wire) name.
    public var wireName: String { rawValue }

    public init?(wireName: String) { self.init(rawValue: wireName) }
}

/// The exposure events, by their Statsig names. Stored and exported under these names unchanged.
public enum ExposureKind: String, Sendable, Hashable, CaseIterable, Codable {
    case gate = "statsig::gate_exposure"
    case config = "statsig::config_exposure"
    case layer = "statsig::layer_exposure"
    /// Not logged by the SDKs: the name the Segment exporter gives a config exposure of an
    /// experiment (Statsig's Segment schema), accepted back on ingest like a config exposure.
    case experiment = "statsig::experiment_exposure"

    /// Statsig reserves this namespace for the SDKs' own events (exposures, diagnostics, …);
    /// no event in it is a metric.
    public static let reservedPrefix = "statsig::"

    /// The event name as stored and sent.
    public var wireName: String { rawValue }

    /// The exposure an event name is, or nil for any other event.
    public init?(eventName: String) { self.init(rawValue: eventName) }

    /// Whether an event name is in the SDKs' reserved namespace (an exposure or an internal event
    /// such as `statsig::diagnostics`), as opposed to an event a customer logs.
    public static func isReserved(_ eventName: String) -> Bool { eventName.hasPrefix(reservedPrefix) }
}

public struct EventRecord: Sendable, Hashable {
    public var id: Int64?
    public var project: String
    public var eventName: String
    public var user: JSONValue
    public var userID: String?
    public var stableID: String?
    public var customIDs: [String: String]
    public var environment: String?
    /// A number or a string, as the SDKs allow.
    public var value: JSONValue?
    public var metadata: JSONValue?
    public var secondaryExposures: JSONValue?
    public var time: Int64
    public var receivedAt: Int64
    public var source: EventSource
    public var sdkType: String?
    /// The message as received, for inspection (Segment events keep their raw message).
    public var raw: JSONValue?
    /// When set, the event is stored only if no event with this key was stored since `notBefore`.
    public var dedupe: DedupeKey?

    public init(
        id: Int64? = nil, project: String, eventName: String, user: JSONValue, userID: String?, stableID: String?,
        customIDs: [String: String], environment: String?, value: JSONValue?, metadata: JSONValue?,
        secondaryExposures: JSONValue?, time: Int64, receivedAt: Int64, source: EventSource, sdkType: String?
    ) {
        self.id = id
        self.project = project
        self.eventName = eventName
        self.user = user
        self.userID = userID
        self.stableID = stableID
        self.customIDs = customIDs
        self.environment = environment
        self.value = value
        self.metadata = metadata
        self.secondaryExposures = secondaryExposures
        self.time = time
        self.receivedAt = receivedAt
        self.source = source
        self.sdkType = sdkType
    }

    /// An event of a Statsig user, the one way every ingest path builds one. The user's IDs fill
    /// the unit columns (the stableID from its custom IDs) and the environment is
    /// `EventRecord.environment(user:keyEnvironment:)`.
    public init(
        user: StatsigUser, project: String, eventName: String, value: JSONValue? = nil, metadata: JSONValue? = nil,
        secondaryExposures: JSONValue? = nil, time: Int64, receivedAt: Int64, source: EventSource, sdkType: String?,
        keyEnvironment: String?
    ) {
        self.init(
            project: project, eventName: eventName, user: user.toJSON(), userID: user.userID,
            stableID: user.customIDs["stableID"], customIDs: user.customIDs,
            environment: Self.environment(user: user, keyEnvironment: keyEnvironment), value: value, metadata: metadata,
            secondaryExposures: secondaryExposures, time: time, receivedAt: receivedAt, source: source, sdkType: sdkType)
    }

    /// The environment an event is stored under: the user's `statsigEnvironment.tier`, else the
    /// environment of what authenticated it (the API key's; for Segment, the integration's default
    /// environment), else "production".
    public static func environment(user: StatsigUser, keyEnvironment: String?) -> String {
        user.tier ?? keyEnvironment ?? "production"
    }

    /// The exposure this event is, or nil.
    public var exposureKind: ExposureKind? { ExposureKind(eventName: eventName) }

    /// In the SDKs' reserved `statsig::` namespace: an exposure or an SDK-internal event, never a metric.
    public var isReserved: Bool { ExposureKind.isReserved(eventName) }
}

public struct DedupeKey: Sendable, Hashable {
    /// Scope of the key, e.g. "segment".
    public var scope: String
    public var messageID: String
    /// Keys first seen before this time (epoch ms) no longer count: the dedupe window.
    public var notBefore: Int64

    public init(scope: String, messageID: String, notBefore: Int64) {
        self.scope = scope
        self.messageID = messageID
        self.notBefore = notBefore
    }
}
