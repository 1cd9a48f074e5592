import Hummingbird
import ServiceLifecycle
import NIOCore
import VaneCore
import VaneSegment
import VaneStore

/// Console API for the Segment integration's inbound side, and the live event stream.
struct SegmentConsoleController: Sendable {
    let inbound: SegmentInbound
    let store: any VaneStore
    let resolver: KeyResolver
    let body: BodyReader
    let broadcaster: EventBroadcaster

    func register(on router: Router<VaneRequestContext>) {
        let admin = router.consoleAPI(resolver, .admins)
        admin.get("integrations/segment/inbound") { r, c in try await self.getSettings(r, c) }
        admin.put("integrations/segment/inbound") { r, c in try await self.putSettings(r, c) }
        admin.post("integrations/segment/inbound/write_key") { _, c in try await self.rotateWriteKey(c) }
        admin.get("integrations/segment/inbound/usage") { r, c in try await self.usage(r, c) }
        router.consoleAPI(resolver, .editors).get("events/stream") { r, c in try await self.stream(r, c) }
    }

    private func settingsJSON(_ s: InboundSettings, project: String, request: Request) async throws -> JSONValue {
        guard case .object(var o) = encodeToJSON(s) else { return .null }
        // The shared secret is write-only: show whether one is set, never its value.
        o["sharedSecret"] = nil
        o["sharedSecretSet"] = .bool(!(s.sharedSecret ?? "").isEmpty)
        let keys = try await store.keys(project: project).filter { $0.kind == .segmentWriteKey && $0.revokedAt == nil }
        o["writeKey"] = keys.last.map { ["prefix": .string($0.displayPrefix), "createdTime": .int($0.createdAt)] } ?? .null
        let base = "http://" + (request.head.authority ?? "127.0.0.1:8787")
        o["endpoints"] = [
            "destination": .string(base + "/v1/webhooks/segment"),
            "trackingAPI": .string(base + "/v1"),
        ]
        return .object(o)
    }

    func getSettings(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        envelope("Segment inbound settings.", try await settingsJSON(try await inbound.settings(c.project), project: c.project, request: r))
    }

    /// Replaces the fields given; the rest keep their values.
    func putSettings(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let patch = try await body.object(r)
        let current = try await inbound.settings(c.project)
        guard case .object(var merged) = encodeToJSON(current) else { throw APIError.badRequest("cannot update settings") }
        for (k, v) in patch where !["writeKey", "endpoints", "sharedSecretSet"].contains(k) { merged[k] = v }
        let updated = try decodeValue(InboundSettings.self, .object(merged))
        let idTypes = Set(["userID", "stableID"] + (try await store.customIDTypes(project: c.project)))
        try updated.validate(knownIDTypes: idTypes)
        var before = encodeToJSON(current)
        var after = encodeToJSON(updated)
        if case .object(var b) = before { b["sharedSecret"] = nil; before = .object(b) }
        if case .object(var a) = after { a["sharedSecret"] = nil; after = .object(a) }
        try await store.putSetting(
            project: c.project, name: SegmentInbound.settingName,
            value: inbound.secrets.sealFields(encodeToJSON(updated), SegmentInbound.sealedFields),
            audit: AuditEntry(time: Clock.nowMs(), actor: actor(c), action: "updated", kind: "integration", name: "segment_inbound",
                              before: before, after: after, description: "Segment inbound settings updated"))
        return envelope("Segment inbound settings updated.", try await settingsJSON(updated, project: c.project, request: r))
    }

    /// Creates the inbound write key, revoking any earlier one. The key is shown only in this response.
    func rotateWriteKey(_ c: VaneRequestContext) async throws -> Response {
        let now = Clock.nowMs()
        for old in try await store.keys(project: c.project) where old.kind == .segmentWriteKey && old.revokedAt == nil {
            _ = try await store.revokeKey(project: c.project, id: old.id, now: now, actor: actor(c))
        }
        let issued = try await store.createKey(
            project: c.project, kind: .segmentWriteKey, environment: nil, description: "Segment inbound write key", allowedOrigins: nil, now: now, actor: actor(c))
        resolver.forget()
        return envelope("Write key created; it is shown only this once.", [
            "writeKey": .string(issued.secret), "prefix": .string(issued.key.displayPrefix), "createdTime": .int(now),
        ], status: .created)
    }

    func usage(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let days = Int(r.query("days") ?? "") ?? 30
        guard (1...366).contains(days) else { throw APIError.badRequest("days must be between 1 and 366") }
        return envelope("Segment inbound usage by day.", encodeToJSON(try await Self.usageDays(store, c.project, days: days)))
    }

    /// Per day, newest first: ingested, duplicates, and per category (filtered, invalid, ignored,
    /// audience) the counts by reason.
    static func usageDays(_ store: any VaneStore, _ project: String, days: Int) async throws -> [InboundUsageDay] {
        let since = String(ISOTime.format(Clock.nowMs() - Int64(days - 1) * 86_400_000).prefix(10))
        let counts = try await store.usage(project: project, source: SegmentInbound.usageSource, sinceDay: since)
        var byDay: [String: InboundUsageDay] = [:]
        for u in counts {
            var day = byDay[u.day] ?? InboundUsageDay(day: u.day)
            switch u.category {
            case "ingested": day.ingested += u.count
            case "duplicate": day.duplicates += u.count
            default: day.dropped[u.category, default: [:]][u.reason, default: 0] += u.count
            }
            byDay[u.day] = day
        }
        return byDay.keys.sorted(by: >).map { byDay[$0]! }
    }

    /// Server-Sent Events: each stored event as it commits, filtered by name prefix and source.
    func stream(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let prefix = r.query("eventName") ?? ""
        let source = r.query("source").flatMap { $0.isEmpty ? nil : $0 }
        let project = c.project
        let owner = c.session.map { "session:" + $0.user.id } ?? c.key.map { "key:" + $0.id } ?? "anonymous"
        let subscription: EventBroadcaster.Subscription
        do {
            subscription = try broadcaster.subscribe(owner: owner)
        } catch .tooManyStreams(let limit) {
            throw APIError.tooManyRequests("the server already serves \(limit) live streams: try again later", retryAfter: 30)
        } catch .tooManyStreamsForOwner(let limit) {
            throw APIError.tooManyRequests("you already have \(limit) live streams open: close one first", retryAfter: 30)
        }
        let broadcaster = self.broadcaster
        if store.isShared {
            do {
                broadcaster.followLog(project: project, from: try await store.lastIDs(project: project).event)
            } catch {
                broadcaster.end(subscription.id)
                throw error
            }
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { broadcaster.end(subscription.id) }
            try await writer.write(ByteBuffer(string: ": connected\n\n"))
            // A stream never ends by itself; on shutdown it must, or it would hold the server up.
            try await withGracefulShutdownHandler {
                for await item in subscription.stream {
                    switch item {
                    case .heartbeat:
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    case .frames(let frames):
                        var out: [UInt8] = []
                        for f in frames where f.project == project && f.eventName.hasPrefix(prefix) && (source == nil || f.source == source) {
                            out += f.bytes
                        }
                        if !out.isEmpty { try await writer.write(ByteBuffer(bytes: out)) }
                    }
                }
            } onGracefulShutdown: {
                broadcaster.end(subscription.id)
            }
            if subscription.fellBehind() {
                broadcaster.forget(subscription.id)
                try await writer.write(ByteBuffer(string: "event: overflow\ndata: {\"error\":\"this stream fell behind and was closed; reconnect to resume\"}\n\n"))
            }
            try await writer.finish(nil)
        })
    }
}

/// One day of inbound Segment messages: stored, repeated, and dropped by category and reason.
struct InboundUsageDay: Sendable, Encodable {
    static let dropCategories = ["filtered", "invalid", "ignored", "audience"]

    var day: String
    var ingested = 0
    var duplicates = 0
    /// category → reason → messages.
    var dropped: [String: [String: Int]] = [:]

    init(day: String) { self.day = day }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// `{"day", "ingested", "duplicates", "filtered": {reason: n}, "invalid": …, "ignored": …, "audience": …}`.
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(day, forKey: Key(stringValue: "day"))
        try c.encode(ingested, forKey: Key(stringValue: "ingested"))
        try c.encode(duplicates, forKey: Key(stringValue: "duplicates"))
        for category in Self.dropCategories { try c.encode(dropped[category] ?? [:], forKey: Key(stringValue: category)) }
    }
}
