import Crypto
import VaneCore

/// Per-project settings of Vane as a Segment source ("Configuring Outbound Events to Segment").
public struct OutboundSettings: Codable, Sendable, Equatable {
    public var enabled: Bool = false
    /// The Segment source's write key. Never returned by the API in full.
    public var writeKey: String?
    /// Segment's HTTP Tracking API, or the EU region, or any Segment-compatible collector.
    public var endpoint: String = "https://api.segment.io"
    public var categories: Categories = Categories()
    public var allowEvents: [String] = []
    public var denyEvents: [String] = []
    /// Which Vane ID becomes Segment's `anonymousId`: `stableID` or a custom ID type.
    public var anonymousIdFrom: String = "stableID"
    public var environments: [String] = ["production"]
    /// Batches in flight at once. 1 keeps delivery in order and within the 50 requests/s Segment asks
    /// of partner sources; raise it (up to 16) for a collector that takes more.
    public var maxConcurrentRequests: Int = 1
    /// Requests started per second for this write key, whatever the concurrency: Segment asks
    /// partner sources for at most 50.
    public var maxRequestsPerSecond: Int = 50
    /// Sends request bodies gzipped (`Content-Encoding: gzip`), which Segment's API accepts.
    public var gzip: Bool = false

    public struct Categories: Codable, Sendable, Equatable {
        public var gateExposures = true
        public var configExposures = true
        public var experimentExposures = true
        public var customEvents = true
        public var configChanges = true

        public init() {}

        enum CodingKeys: String, CodingKey {
            case gateExposures, configExposures, experimentExposures, customEvents, configChanges
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            gateExposures = try c.decodeIfPresent(Bool.self, forKey: .gateExposures) ?? true
            configExposures = try c.decodeIfPresent(Bool.self, forKey: .configExposures) ?? true
            experimentExposures = try c.decodeIfPresent(Bool.self, forKey: .experimentExposures) ?? true
            customEvents = try c.decodeIfPresent(Bool.self, forKey: .customEvents) ?? true
            configChanges = try c.decodeIfPresent(Bool.self, forKey: .configChanges) ?? true
        }
    }

    public init() {}

    enum CodingKeys: String, CodingKey {
        case enabled, writeKey, endpoint, categories, allowEvents, denyEvents, anonymousIdFrom, environments
        case maxConcurrentRequests, maxRequestsPerSecond, gzip
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = OutboundSettings()
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled
        writeKey = try c.decodeIfPresent(String.self, forKey: .writeKey)
        endpoint = try c.decodeIfPresent(String.self, forKey: .endpoint) ?? d.endpoint
        categories = try c.decodeIfPresent(Categories.self, forKey: .categories) ?? d.categories
        allowEvents = try c.decodeIfPresent([String].self, forKey: .allowEvents) ?? []
        denyEvents = try c.decodeIfPresent([String].self, forKey: .denyEvents) ?? []
        anonymousIdFrom = try c.decodeIfPresent(String.self, forKey: .anonymousIdFrom) ?? d.anonymousIdFrom
        environments = try c.decodeIfPresent([String].self, forKey: .environments) ?? d.environments
        maxConcurrentRequests = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentRequests) ?? d.maxConcurrentRequests
        maxRequestsPerSecond = try c.decodeIfPresent(Int.self, forKey: .maxRequestsPerSecond) ?? d.maxRequestsPerSecond
        gzip = try c.decodeIfPresent(Bool.self, forKey: .gzip) ?? d.gzip
    }

    public func validate() throws {
        guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
            throw ValidationError("endpoint must be an http:// or https:// URL")
        }
        if enabled, (writeKey ?? "").isEmpty { throw ValidationError("writeKey is required to enable the outbound integration") }
        guard !environments.isEmpty else { throw ValidationError("environments must name at least one environment") }
        guard (1...16).contains(maxConcurrentRequests) else { throw ValidationError("maxConcurrentRequests must be between 1 and 16") }
        guard (1...1000).contains(maxRequestsPerSecond) else { throw ValidationError("maxRequestsPerSecond must be between 1 and 1000") }
    }
}

/// An event as the exporter sees it.
public struct OutboundEvent: Sendable {
    public var id: Int64
    public var project: String
    public var eventName: String
    public var user: JSONValue
    public var userID: String?
    public var customIDs: [String: String]
    public var environment: String?
    public var value: JSONValue?
    public var metadata: JSONValue?
    public var time: Int64
    public var source: EventSource

    public init(
        id: Int64, project: String, eventName: String, user: JSONValue, userID: String?, customIDs: [String: String],
        environment: String?, value: JSONValue?, metadata: JSONValue?, time: Int64, source: EventSource
    ) {
        self.id = id
        self.project = project
        self.eventName = eventName
        self.user = user
        self.userID = userID
        self.customIDs = customIDs
        self.environment = environment
        self.value = value
        self.metadata = metadata
        self.time = time
        self.source = source
    }
}

/// A console change, from the audit log.
public struct OutboundConfigChange: Sendable {
    public var id: Int64
    public var project: String
    public var author: String
    public var configName: String
    public var description: String
    public var environment: String?
    public var time: Int64

    public init(id: Int64, project: String, author: String, configName: String, description: String, environment: String?, time: Int64) {
        self.id = id
        self.project = project
        self.author = author
        self.configName = configName
        self.description = description
        self.environment = environment
        self.time = time
    }
}

/// Turns Vane events and console changes into Segment `track` messages, following the Statsig
/// source's schema, with deterministic messageIds so a resend is deduplicated by Segment.
public struct OutboundEncoder: Sendable {
    public let settings: OutboundSettings
    /// Names of the project's experiments: their config exposures go out as experiment exposures.
    public let experiments: Set<String>
    /// Experiment → rule id → group name, to name the group of an experiment exposure.
    public let groupNames: [String: [String: String]]
    /// A random per-installation salt in every messageId, so two installations (or a reset data
    /// directory) feeding one Segment source never collide on Segment's dedupe.
    public let messageIDSalt: String

    public static let library: JSONValue = ["name": "statsig", "version": "1.0"]
    public static let integration: JSONValue = ["name": "vane", "version": "1.0.0"]

    public init(settings: OutboundSettings, experiments: Set<String>, groupNames: [String: [String: String]] = [:], messageIDSalt: String) {
        self.settings = settings
        self.experiments = experiments
        self.groupNames = groupNames
        self.messageIDSalt = messageIDSalt
    }

    public enum Category: String, Sendable {
        case gateExposure, configExposure, experimentExposure, customEvent
    }

    /// nil: not exported (Segment's own events are never echoed back; SDK diagnostics stay home).
    public func category(of e: OutboundEvent) -> Category? {
        guard e.source != .segment else { return nil }
        switch ExposureKind(eventName: e.eventName) {
        case .gate?: return .gateExposure
        case .config?:
            let config = e.metadata?["config"]?.stringValue ?? ""
            return experiments.contains(config) ? .experimentExposure : .configExposure
        case .layer?:
            let allocated = e.metadata?["allocatedExperiment"]?.stringValue ?? ""
            return allocated.isEmpty ? .configExposure : .experimentExposure
        case .experiment?: return .experimentExposure
        case nil:
            return ExposureKind.isReserved(e.eventName) ? nil : .customEvent
        }
    }

    public func exportable(_ e: OutboundEvent) -> Bool {
        guard let category = category(of: e) else { return false }
        let c = settings.categories
        switch category {
        case .gateExposure: guard c.gateExposures else { return false }
        case .configExposure: guard c.configExposures else { return false }
        case .experimentExposure: guard c.experimentExposures else { return false }
        case .customEvent: guard c.customEvents else { return false }
        }
        guard settings.environments.contains(e.environment ?? "production") else { return false }
        let name = exportedName(e, category)
        if settings.denyEvents.contains(where: { EventFilters.matches($0, name) || EventFilters.matches($0, e.eventName) }) { return false }
        if !settings.allowEvents.isEmpty,
            !settings.allowEvents.contains(where: { EventFilters.matches($0, name) || EventFilters.matches($0, e.eventName) })
        {
            return false
        }
        return true
    }

    func exportedName(_ e: OutboundEvent, _ category: Category) -> String {
        category == .experimentExposure && e.eventName == ExposureKind.config.wireName ? ExposureKind.experiment.wireName : e.eventName
    }

    public func encode(_ e: OutboundEvent) -> JSONValue? {
        guard exportable(e), let category = category(of: e) else { return nil }
        var metadata = e.metadata ?? .object([:])
        if exportedName(e, category) == ExposureKind.experiment.wireName, case .object(var m) = metadata, m["experimentGroupName"] == nil {
            let experiment = m["allocatedExperiment"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? m["config"]?.stringValue ?? ""
            let group = m["groupName"]?.stringValue
                ?? m["ruleID"]?.stringValue.flatMap { groupNames[experiment]?[$0] }
            if let group {
                m["experimentGroupName"] = .string(group)
                metadata = .object(m)
            }
        }
        let stableID = e.customIDs["stableID"]
        let anonymousID: String?
        switch settings.anonymousIdFrom {
        case "stableID": anonymousID = stableID
        case "userID": anonymousID = e.userID
        default: anonymousID = e.customIDs[settings.anonymousIdFrom]
        }
        var message: [String: JSONValue] = [
            "type": "track",
            "event": .string(exportedName(e, category)),
            "messageId": .string(Self.messageID("\(messageIDSalt):\(e.project):event:\(e.id)")),
            "timestamp": .string(ISOTime.format(e.time)),
            "properties": ["value": e.value ?? .null, "metadata": metadata],
            "context": [
                "user": e.user, "value": e.value ?? .null, "metadata": metadata,
                "stableID": stableID.map { .string($0) } ?? .null,
                "library": Self.library, "integration": Self.integration,
            ],
        ]
        if let u = e.userID, !u.isEmpty { message["userId"] = .string(u) }
        if let a = anonymousID, !a.isEmpty { message["anonymousId"] = .string(a) }
        if message["userId"] == nil && message["anonymousId"] == nil {
            // Segment requires one of them; fall back to any unit ID the event has.
            if let any = e.customIDs.sorted(by: { $0.key < $1.key }).first?.value { message["anonymousId"] = .string(any) }
        }
        if let email = e.user["email"]?.stringValue { message["email"] = .string(email) }
        return .object(message)
    }

    public func encode(_ c: OutboundConfigChange) -> JSONValue? {
        guard settings.categories.configChanges else { return nil }
        let name = "statsig::config_change"
        if settings.denyEvents.contains(where: { EventFilters.matches($0, name) }) { return nil }
        if !settings.allowEvents.isEmpty, !settings.allowEvents.contains(where: { EventFilters.matches($0, name) }) { return nil }
        return [
            "type": "track", "event": .string(name), "userId": .string(c.author),
            "messageId": .string(Self.messageID("\(messageIDSalt):\(c.project):config_change:\(c.id)")),
            "timestamp": .string(ISOTime.format(c.time)),
            "properties": [
                "author": .string(c.author), "configName": .string(c.configName), "description": .string(c.description),
                "environment": c.environment.map { .string($0) } ?? "all",
            ],
            "context": ["library": Self.library, "integration": Self.integration],
        ]
    }

    /// A name-based UUID (version 5, SHA-1) in Vane's own namespace: the same event always gets the same id.
    public static func messageID(_ name: String) -> String {
        var sha = Insecure.SHA1()
        sha.update(data: namespace)
        sha.update(data: Array(name.utf8))
        var bytes = [UInt8](repeating: 0, count: 16)
        sha.finalize().withUnsafeBytes { digest in
            for i in 0..<16 { bytes[i] = digest[i] }
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        // xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, lower-case hex, written straight into the string.
        return String(unsafeUninitializedCapacity: 36) { out in
            var o = 0
            for (i, b) in bytes.enumerated() {
                if i == 4 || i == 6 || i == 8 || i == 10 {
                    out[o] = UInt8(ascii: "-")
                    o += 1
                }
                out[o] = hexDigits[Int(b >> 4)]
                out[o + 1] = hexDigits[Int(b & 0x0F)]
                o += 2
            }
            return o
        }
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    static let namespace: [UInt8] = Array(Insecure.SHA1.hash(data: Array("vane.segment.outbound".utf8)).prefix(16))
}

/// How the exporter treats an HTTP answer from Segment.
public enum DeliveryVerdict: Equatable, Sendable {
    case delivered
    /// Try again after this many seconds.
    case retry(after: Double)
    /// Never retried: the messages go to the dead-letter list with this reason.
    case deadLetter(reason: String)

    /// Retries network errors (status nil), 408, 429 and 5xx except 501/505, honouring Retry-After
    /// (capped at 300 s); otherwise exponential backoff with jitter capped at 60 s.
    public static func of(status: Int?, retryAfter: String?, attempt: Int, body: String, jitter: Double) -> DeliveryVerdict {
        func backoff() -> Double { min(60, 0.5 * pow2(attempt)) * (0.5 + jitter / 2) }
        guard let status else { return .retry(after: backoff()) }
        switch status {
        case 200..<300: return .delivered
        case 408, 429, 500..<600 where status != 501 && status != 505:
            if let s = retryAfter.flatMap(Double.init), s >= 0 { return .retry(after: min(300, s)) }
            return .retry(after: backoff())
        default:
            let snippet = String(body.prefix(300))
            return .deadLetter(reason: "HTTP \(status)" + (snippet.isEmpty ? "" : ": \(snippet)"))
        }
    }

    static func pow2(_ n: Int) -> Double {
        var v = 1.0
        for _ in 0..<min(n, 20) { v *= 2 }
        return v
    }
}
