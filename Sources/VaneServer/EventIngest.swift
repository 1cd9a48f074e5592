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
        from body: [String: JSONValue], key: APIKey, source: String, sdkType: String?, now: Int64
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
        source: String, sdkType: String?, now: Int64
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
        switch value {
        case nil, .null?, .int?, .double?, .string?, .bool?: break
        default: throw APIError.badRequest("events[\(i)].value must be a number or a string")
        }
        if let m = o["metadata"], !m.isNull, m.objectValue == nil {
            throw APIError.badRequest("events[\(i)].metadata must be an object")
        }
        if let s = o["secondaryExposures"], !s.isNull, s.arrayValue == nil {
            throw APIError.badRequest("events[\(i)].secondaryExposures must be a list")
        }
        let time = try eventTime(o["time"], index: i) ?? now
        return EventRecord(
            project: key.project, eventName: name, user: user.toJSON(), userID: user.userID,
            stableID: user.customIDs["stableID"], customIDs: user.customIDs,
            environment: user.tier ?? key.environment ?? "production",
            value: value.flatMap { $0.isNull ? nil : $0 }, metadata: o["metadata"].flatMap { $0.isNull ? nil : $0 },
            secondaryExposures: o["secondaryExposures"].flatMap { $0.isNull ? nil : $0 }, time: time, receivedAt: now,
            source: source, sdkType: sdkType)
    }

    /// Epoch ms, epoch seconds (promoted), a numeric string, or ISO-8601.
    static func eventTime(_ v: JSONValue?, index i: Int) throws -> Int64? {
        switch v {
        case nil, .null?: return nil
        case .int(let t)?: return t < 100_000_000_000 ? t * 1000 : t
        case .double(let d)?:
            guard d.isFinite, d >= 0, d < 1e15 else { throw APIError.badRequest("events[\(i)].time is out of range") }
            return d < 1e11 ? Int64(d * 1000) : Int64(d)
        case .string(let s)?:
            if let t = Int64(s) { return t < 100_000_000_000 ? t * 1000 : t }
            if let t = ISOTime.parse(s) { return t }
            throw APIError.badRequest("events[\(i)].time '\(s)' is neither epoch milliseconds nor an ISO-8601 time")
        default:
            throw APIError.badRequest("events[\(i)].time must be epoch milliseconds or an ISO-8601 string")
        }
    }

    func store(_ records: [EventRecord]) async throws {
        try await writer.write(records)
    }
}

/// Exposure events Vane logs for its own evaluation endpoints, shaped like the SDKs' exposures.
enum Exposures {
    static func gate(_ user: StatsigUser, _ name: String, _ r: EvaluationResult, key: APIKey, now: Int64) -> EventRecord {
        make(user, "statsig::gate_exposure", [
            "gate": .string(name), "gateValue": .string(r.value ? "true" : "false"), "ruleID": .string(r.ruleID),
            "reason": .string(r.reason.rawValue),
        ], r.secondaryExposures, key: key, now: now)
    }

    static func config(_ user: StatsigUser, _ name: String, _ r: EvaluationResult, key: APIKey, now: Int64) -> EventRecord {
        make(user, "statsig::config_exposure", [
            "config": .string(name), "ruleID": .string(r.ruleID), "rulePassed": .string(r.value ? "true" : "false"),
            "reason": .string(r.reason.rawValue),
        ], r.secondaryExposures, key: key, now: now)
    }

    static func layer(
        _ user: StatsigUser, _ name: String, parameter: String, _ r: EvaluationResult, key: APIKey, now: Int64
    ) -> EventRecord {
        let explicit = r.explicitParameters.contains(parameter)
        return make(user, "statsig::layer_exposure", [
            "config": .string(name), "ruleID": .string(r.ruleID),
            "allocatedExperiment": .string(explicit ? (r.allocatedExperiment ?? "") : ""),
            "parameterName": .string(parameter), "isExplicitParameter": .string(explicit ? "true" : "false"),
            "reason": .string(r.reason.rawValue),
        ], explicit ? r.secondaryExposures : r.undelegatedSecondaryExposures, key: key, now: now)
    }

    private static func make(
        _ user: StatsigUser, _ name: String, _ metadata: [String: JSONValue], _ secondary: [SecondaryExposure], key: APIKey,
        now: Int64
    ) -> EventRecord {
        EventRecord(
            project: key.project, eventName: name, user: user.toJSON(), userID: user.userID,
            stableID: user.customIDs["stableID"], customIDs: user.customIDs,
            environment: user.tier ?? key.environment ?? "production", value: nil, metadata: .object(metadata),
            secondaryExposures: .array(secondary.map { $0.toJSON() }), time: now, receivedAt: now, source: "http_api",
            sdkType: "vane-http")
    }
}
