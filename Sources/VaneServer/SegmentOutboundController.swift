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
        envelope("Segment outbound delivery status.", try await statusJSON(c.project))
    }

    /// Delivery status, as the API and the console show it.
    func statusJSON(_ project: String) async throws -> JSONValue {
        let state = try await store.outboundState(project: project)
        let progress = exporter.progress(project)
        let dead = try await store.deadLetterCounts(project: project)
        let settings = try await exporter.settings(project)
        return [
            "enabled": .bool(settings.enabled),
            "queued": .int(Int64(settings.enabled ? try await queued(project, state) : 0)),
            "inFlight": .int(Int64(progress.inFlight)),
            "delivered": .int(Int64(state.delivered)),
            "requests": .int(Int64(state.requests)),
            "deadLettered": .int(Int64(dead.values.reduce(0, +))),
            "deadLetterReasons": .object(dead.mapValues { .int(Int64($0)) }),
            "lastSuccess": state.lastSuccess.map { .int($0) } ?? .null,
            "lastError": state.lastError.map { .string($0) } ?? .null,
            "lastErrorTime": state.lastErrorTime.map { .int($0) } ?? .null,
            "failing": .bool(deliveryIsFailing(lastError: state.lastError, lastErrorTime: state.lastErrorTime, lastSuccess: state.lastSuccess)),
            "nextAttempt": progress.nextAttemptAt > Clock.nowMs() ? .int(progress.nextAttemptAt) : .null,
        ]
    }
}
