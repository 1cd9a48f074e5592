import Metrics
import VaneCore
import VaneStore

/// The one ingest path: decode → map to event records → group commit → acknowledge.
struct EventIngest: Sendable {
    let writer: GroupCommitWriter
    static let maxEventsPerRequest = 10_000
    static let maxEventNameLength = 256

    /// Reads a `log_event`/`rgstr` body. Any invalid event rejects the whole request (nothing is
    /// half-stored) with a message naming the event and the field.
    static func records(
        from body: [String: JSONValue], key: APIKey, source: EventSource, sdkType: String?, now: Int64
    ) throws -> [EventRecord] {
        guard let eventsValue = body["events"] else { throw APIError.badRequest("events is required: a list of events") }
        guard case .array(let events) = eventsValue else { throw APIError.badRequest("events must be a list") }
        guard events.count <= maxEventsPerRequest else {
            throw APIError(.contentTooLarge, "too many events in one request (\(events.count)); the limit is \(maxEventsPerRequest)")
        }
        let metadata = body["statsigMetadata"]?.objectValue ?? [:]
        let requestUser = body["user"]
        let sdk = sdkType ?? metadata["sdkType"]?.stringValue
        return try events.enumerated().map { i, e in
            try record(e, index: i, requestUser: requestUser, statsigMetadata: metadata, key: key, source: source, sdkType: sdk, now: now)
        }
    }

    static func record(
        _ e: JSONValue, index i: Int, requestUser: JSONValue?, statsigMetadata: [String: JSONValue], key: APIKey,
        source: EventSource, sdkType: String?, now: Int64
    ) throws -> EventRecord {
        guard case .object(let o) = e else { throw APIError.badRequest("events[\(i)] must be an object") }
        guard let nameValue = o["eventName"] else { throw APIError.badRequest("events[\(i)].eventName is required") }
        guard case .string(let name) = nameValue, !name.isEmpty else {
            throw APIError.badRequest("events[\(i)].eventName must be a non-empty string")
        }
        guard name.count <= maxEventNameLength else {
            throw APIError.badRequest("events[\(i)].eventName is longer than \(maxEventNameLength) characters")
        }
        var user: StatsigUser
        do {
            let u = o["user"].flatMap { $0.isNull ? nil : $0 } ?? requestUser ?? .object([:])
            user = try StatsigUser(json: u)
        } catch let err as UserDecodingError {
            throw APIError.badRequest("events[\(i)].\(err.description)")
        }
        // The new JS client carries the stableID in statsigMetadata rather than in the user.
        if user.customIDs["stableID"] == nil, let stable = statsigMetadata["stableID"]?.stringValue {
            user.customIDs["stableID"] = stable
        }
        let value = o["value"]
        try checkValue(value, index: i)
        if let m = o["metadata"], !m.isNull, m.objectValue == nil {
            throw APIError.badRequest("events[\(i)].metadata must be an object")
        }
        if let s = o["secondaryExposures"], !s.isNull, s.arrayValue == nil {
            throw APIError.badRequest("events[\(i)].secondaryExposures must be a list")
        }
        let time = try eventTime(o["time"], index: i, now: now) ?? now
        return EventRecord(
            user: user, project: key.project, eventName: name,
            value: value.flatMap { $0.isNull ? nil : $0 }, metadata: o["metadata"].flatMap { $0.isNull ? nil : $0 },
            secondaryExposures: o["secondaryExposures"].flatMap { $0.isNull ? nil : $0 }, time: time, receivedAt: now,
            source: source, sdkType: sdkType, keyEnvironment: key.environment)
    }

    /// Epoch ms, epoch seconds (below 1e11, promoted to ms), a numeric string, or ISO-8601,
    /// within `EventTime.accepted(receivedAt: now)`.
    static func eventTime(_ v: JSONValue?, index i: Int, now: Int64) throws -> Int64? {
        let field = "events[\(i)].time"
        let millis: Double
        switch v {
        case nil, .null?: return nil
        case .int(let t)?: millis = promotedToMillis(Double(t))
        case .double(let d)?:
            guard d.isFinite else { throw APIError.badRequest("\(field) must be a finite number") }
            millis = promotedToMillis(d)
        case .string(let s)?:
            if let t = Int64(s) {
                millis = promotedToMillis(Double(t))
            } else if let t = ISOTime.parse(s) {
                millis = Double(t)
            } else {
                throw APIError.badRequest("\(field) '\(s.prefix(64))' is neither epoch milliseconds nor an ISO-8601 time")
            }
        default:
            throw APIError.badRequest("\(field) must be epoch milliseconds or an ISO-8601 string")
        }
        let accepted = EventTime.accepted(receivedAt: now)
        // Compared as a Double first: converting an out-of-range Double to Int64 would trap.
        guard millis >= Double(accepted.lowerBound), millis <= Double(accepted.upperBound) else {
            throw APIError.badRequest("\(field) is out of range: an event time must be \(EventTime.describeAccepted(receivedAt: now))")
        }
        return Int64(millis.rounded(.down))
    }

    /// SDKs send epoch milliseconds; a number below 1e11 (before 1973 in ms) is taken as seconds.
    private static func promotedToMillis(_ t: Double) -> Double { t < 1e11 ? t * 1000 : t }

    /// An event value: a finite number, a string, or a bool.
    static func checkValue(_ value: JSONValue?, index i: Int) throws {
        switch value {
        case nil, .null?, .int?, .string?, .bool?: return
        case .double(let d)?:
            guard d.isFinite else {
                throw APIError.badRequest("events[\(i)].value must be a finite number (NaN, Infinity and numbers beyond ±1.8e308 are refused)")
            }
        default: throw APIError.badRequest("events[\(i)].value must be a number or a string")
        }
    }

    func store(_ records: [EventRecord]) async throws {
        try await writer.write(records)
    }
}

/// Exposure events Vane logs for its own evaluation endpoints, shaped like the SDKs' exposures.
enum Exposures {
    static func gate(_ user: StatsigUser, _ name: String, _ r: EvaluationResult, key: APIKey, now: Int64) -> EventRecord {
        make(user, .gate, [
            "gate": .string(name), "gateValue": .string(r.value ? "true" : "false"), "ruleID": .string(r.ruleID),
            "reason": .string(r.reason.rawValue),
        ], r.secondaryExposures, key: key, now: now)
    }

    static func config(_ user: StatsigUser, _ name: String, _ r: EvaluationResult, key: APIKey, now: Int64) -> EventRecord {
        make(user, .config, [
            "config": .string(name), "ruleID": .string(r.ruleID), "rulePassed": .string(r.value ? "true" : "false"),
            "reason": .string(r.reason.rawValue),
        ], r.secondaryExposures, key: key, now: now)
    }

    static func layer(
        _ user: StatsigUser, _ name: String, parameter: String, _ r: EvaluationResult, key: APIKey, now: Int64
    ) -> EventRecord {
        let explicit = r.explicitParameters.contains(parameter)
        return make(user, .layer, [
            "config": .string(name), "ruleID": .string(r.ruleID),
            "allocatedExperiment": .string(explicit ? (r.allocatedExperiment ?? "") : ""),
            "parameterName": .string(parameter), "isExplicitParameter": .string(explicit ? "true" : "false"),
            "reason": .string(r.reason.rawValue),
        ], explicit ? r.secondaryExposures : r.undelegatedSecondaryExposures, key: key, now: now)
    }

    private static func make(
        _ user: StatsigUser, _ kind: ExposureKind, _ metadata: [String: JSONValue], _ secondary: [SecondaryExposure],
        key: APIKey, now: Int64
    ) -> EventRecord {
        EventRecord(
            user: user, project: key.project, eventName: kind.wireName, metadata: .object(metadata),
            secondaryExposures: .array(secondary.map { $0.toJSON() }), time: now, receivedAt: now, source: .httpAPI,
            sdkType: "vane-http", keyEnvironment: key.environment)
    }
}
