import Hummingbird
import VaneCore
import VaneSegment
import VaneStore

/// Console API for the Segment integration's outbound side: settings, delivery status, dead letters.
struct SegmentOutboundController: Sendable {
    let store: any VaneStore
    let exporter: SegmentExporter
    let resolver: KeyResolver
    let body: BodyReader

    func register(on router: Router<VaneRequestContext>) {
        let api = router.consoleAPI(resolver, .admins, "console/v1/integrations/segment/outbound")
        api.get("") { _, c in envelope("Segment outbound settings.", try await self.settingsJSON(c.project)) }
        api.put("") { r, c in try await self.putSettings(r, c) }
        api.get("status") { _, c in try await self.status(c) }
        api.get("dead_letters") { r, c in
            let limit = Int(r.query("limit") ?? "") ?? 100
            let letters = try await store.deadLetters(project: c.project, retryRequestedOnly: false, limit: max(1, min(limit, 1000)))
            return envelope("Dead letters.", .array(letters.map {
                ["id": .int($0.id ?? 0), "reason": .string($0.reason), "createdTime": .int($0.createdAt),
                 "retryRequested": .bool($0.retryRequested), "message": $0.message]
            }))
        }
        api.post("dead_letters/retry") { r, c in
            let b = try await body.object(r, allowEmpty: true)
            let ids = try deadLetterIDs(b)
            let n = try await store.requestDeadLetterRetry(project: c.project, ids: ids)
            exporter.wake(c.project)
            return envelope("\(n) dead letters will be sent again.", ["retrying": .int(Int64(n))])
        }
    }

    private func settingsJSON(_ project: String) async throws -> JSONValue {
        let s = try await exporter.settings(project)
        guard case .object(var o) = encodeToJSON(s) else { return .null }
        // The write key is never returned in full.
        o["writeKey"] = s.writeKey.map { key in .string(key.count > 6 ? String(key.prefix(4)) + "…" + String(key.suffix(2)) : "…") } ?? .null
        o["writeKeySet"] = .bool(!(s.writeKey ?? "").isEmpty)
        return .object(o)
    }

    private func putSettings(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let patch = try await body.object(r)
        let current = try await exporter.settings(c.project)
        guard case .object(var merged) = encodeToJSON(current) else { throw APIError.badRequest("cannot update settings") }
        for (k, v) in patch where k != "writeKeySet" { merged[k] = v }
        let updated = try decodeValue(OutboundSettings.self, .object(merged))
        try updated.validate()
        let environments = try await store.environments(project: c.project)
        for env in updated.environments where !environments.contains(env) {
            throw APIError.badRequest("environments: unknown environment '\(env)'")
        }
        let idTypes = ["stableID", "userID"] + (try await store.customIDTypes(project: c.project))
        guard idTypes.contains(updated.anonymousIdFrom) else {
            throw APIError.badRequest("anonymousIdFrom must be stableID or a custom ID type (known: \(idTypes.joined(separator: ", ")))")
        }
        func masked(_ s: OutboundSettings) -> JSONValue {
            guard case .object(var o) = encodeToJSON(s) else { return .null }
            o["writeKey"] = s.writeKey == nil ? .null : "(set)"
            return .object(o)
        }
        let enabling = updated.enabled && !current.enabled
        // Turning export on starts from now: history is not replayed into Segment. The cursors move
        // before the setting is saved (so no export cycle sees "enabled" with old cursors) and again
        // after (so the enabling change itself is not sent).
        if enabling { try await moveCursorsToNow(c.project) }
        try await store.putSetting(
            project: c.project, name: SegmentExporter.settingName,
            value: exporter.secrets.sealFields(encodeToJSON(updated), SegmentExporter.sealedFields),
            audit: AuditEntry(time: Clock.nowMs(), actor: actor(c), action: "updated", kind: "integration", name: "segment_outbound",
                              before: masked(current), after: masked(updated), description: "Segment outbound settings updated"))
        if enabling { try await moveCursorsToNow(c.project) }
        exporter.wake(c.project)
        return envelope("Segment outbound settings updated.", try await settingsJSON(c.project))
    }

    private func moveCursorsToNow(_ project: String) async throws {
        var state = try await store.outboundState(project: project)
        let last = try await store.lastIDs(project: project)
        state.eventCursor = max(state.eventCursor, last.event)
        state.auditCursor = max(state.auditCursor, last.audit)
        try await store.saveOutbound(project: project, state: state, newDeadLetters: [], resolvedDeadLetters: [])
    }

    /// Events and console changes after the cursors (some may still be filtered out when sent).
    private func queued(_ project: String, _ state: OutboundState) async throws -> Int {
        let events = try await store.countEvents(project: project, afterID: state.eventCursor)
        let changes = try await store.auditEntries(project: project, afterID: state.auditCursor, limit: 10_000).count
        return events + changes
    }

    private func status(_ c: VaneRequestContext) async throws -> Response {
        envelope("Segment outbound delivery status.", encodeToJSON(try await status(c.project)))
    }

    /// Delivery status, as the API and the console show it.
    func status(_ project: String) async throws -> OutboundStatus {
        let state = try await store.outboundState(project: project)
        let progress = exporter.progress(project)
        let dead = try await store.deadLetterCounts(project: project)
        let settings = try await exporter.settings(project)
        return OutboundStatus(
            enabled: settings.enabled, queued: settings.enabled ? try await queued(project, state) : 0,
            inFlight: progress.inFlight, delivered: state.delivered, requests: state.requests,
            deadLettered: dead.values.reduce(0, +), deadLetterReasons: dead,
            lastSuccess: state.lastSuccess, lastError: state.lastError, lastErrorTime: state.lastErrorTime,
            failing: deliveryIsFailing(lastError: state.lastError, lastErrorTime: state.lastErrorTime, lastSuccess: state.lastSuccess),
            nextAttempt: progress.nextAttemptAt > Clock.nowMs() ? progress.nextAttemptAt : nil)
    }
}

/// Outbound delivery's state, as `GET …/integrations/segment/outbound/status` answers it and the
/// overview and integration pages show it.
struct OutboundStatus: Sendable, Encodable {
    var enabled: Bool
    var queued: Int
    var inFlight: Int
    var delivered: Int
    var requests: Int
    var deadLettered: Int
    var deadLetterReasons: [String: Int]
    var lastSuccess: Int64?
    var lastError: String?
    var lastErrorTime: Int64?
    /// The last attempt failed and nothing was delivered since.
    var failing: Bool
    var nextAttempt: Int64?

    enum Keys: String, CodingKey {
        case enabled, queued, inFlight, delivered, requests, deadLettered, deadLetterReasons, lastSuccess, lastError, lastErrorTime
        case failing, nextAttempt
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(enabled, forKey: .enabled)
        try c.encode(queued, forKey: .queued)
        try c.encode(inFlight, forKey: .inFlight)
        try c.encode(delivered, forKey: .delivered)
        try c.encode(requests, forKey: .requests)
        try c.encode(deadLettered, forKey: .deadLettered)
        try c.encode(deadLetterReasons, forKey: .deadLetterReasons)
        // Absent values are null, not left out: clients read every key.
        try c.encode(lastSuccess, forKey: .lastSuccess)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(lastErrorTime, forKey: .lastErrorTime)
        try c.encode(failing, forKey: .failing)
        try c.encode(nextAttempt, forKey: .nextAttempt)
    }
}
