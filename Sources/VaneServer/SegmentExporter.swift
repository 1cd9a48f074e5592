import AsyncHTTPClient
import CompressNIO
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VaneCore
import VaneSegment
import VaneStore

/// Vane → Segment: drains each project's event table and audit log, from durable cursors, to
/// Segment's `/v1/batch` in request bodies filled to Segment's limits (500 KB, 32 KB a message,
/// 2,500 messages), at most `maxRequestsPerSecond` per write key. A cursor moves only when
/// Segment has taken the batch (or refused it for good, which dead-letters it), so nothing
/// committed is lost and a crash resends at most one batch, under the same messageIds.
final class SegmentExporter: Service, Sendable {
    static let settingName = "segment_outbound"
    static let limits = SegmentBatchLimits.segment
    /// Audit entries and dead letters read per cycle.
    static let readLimit = 500
    /// Audit kinds that are account administration, not configuration: never sent as config changes.
    static let accountAdministration: Set<String> = ["key", "user", "secrets", "webhook"]

    struct Progress: Sendable {
        var inFlight = 0
        var attempt = 0
        var nextAttemptAt: Int64 = 0
        /// Batch bytes per event read (messages' bytes over events, filtered ones included), from
        /// the last batches: how many events to read to fill the next ones without reading far past them.
        var bytesPerEvent: Double?
    }

    typealias Store = EventLog & OutboundRepository & SettingsRepository & ConfigRepository
    private let store: any Store
    let secrets: SecretBox
    private let logger: Logger
    private let client: HTTPClient
    private let idleSleep: Duration
    /// Exports only while this node holds the lease; nil (tests driving `exportOnce`): always.
    private let lease: JobLease?
    private let progress = Mutex<[String: Progress]>([:])
    private let pacer = RequestPacer()

    init(store: any Store, secrets: SecretBox, logger: Logger, idleSleep: Duration = .milliseconds(200), lease: JobLease? = nil) {
        self.lease = lease
        self.store = store
        self.secrets = secrets
        self.logger = logger
        self.idleSleep = idleSleep
        // The process-wide client needs no shutdown, so commands that build the services without
        // running the exporter (import, pulse, bench) do not have to manage it.
        self.client = HTTPClient.shared
    }

    func progress(_ project: String) -> Progress { progress.withLock { $0[project] ?? Progress() } }

    /// Forgets any backoff, so a fixed key or a retry request is acted on at once.
    func wake(_ project: String) { progress.withLock { $0[project]?.nextAttemptAt = 0; $0[project]?.attempt = 0 } }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var worked = false
                if let lease = self.lease, !lease.isHeld {
                    try? await Task.sleep(for: max(self.idleSleep, .milliseconds(500)))
                    continue
                }
                do {
                    for project in try await self.store.projects() {
                        if try await self.exportOnce(project: project) { worked = true }
                    }
                } catch where Task.isCancelled {
                    break  // shutting down: not a failure
                } catch {
                    self.logger.error("segment export failed", metadata: ["error": "\(error)"])
                }
                if !worked { try? await Task.sleep(for: self.idleSleep) }
            }
        }
    }

    /// Secret fields of the stored settings document, sealed at rest.
    static let sealedFields = ["writeKey"]

    static func settings(_ store: any SettingsRepository, _ project: String, _ secrets: SecretBox) async throws -> OutboundSettings {
        guard let v = try await store.setting(project: project, name: settingName) else { return OutboundSettings() }
        return try decodeValue(OutboundSettings.self, try SecretBox.opening(settingName) { try secrets.openFields(v, sealedFields) })
    }

    func settings(_ project: String) async throws -> OutboundSettings { try await Self.settings(store, project, secrets) }

    /// Whether export is on, read without opening the sealed fields.
    static func isEnabled(_ store: any SettingsRepository, _ project: String) async throws -> Bool {
        try await store.setting(project: project, name: settingName)?["enabled"]?.boolValue ?? false
    }

    /// The salt in this project's messageIds, created once and kept in the store.
    func messageIDSalt(_ project: String) async throws -> String {
        if let salt = try await store.setting(project: project, name: Self.saltSettingName)?.stringValue { return salt }
        let salt = StatsigHash.randomToken(length: 16)
        try await store.putSetting(
            project: project, name: Self.saltSettingName, value: .string(salt),
            audit: AuditEntry(time: Clock.nowMs(), actor: "system", action: "created", kind: "integration",
                              name: "segment_outbound_salt", description: "Segment messageId salt created"))
        return salt
    }

    static let saltSettingName = "segment_outbound_message_salt"

    struct Batch: Sendable {
        var body: SegmentBatchBody
        /// The messages in `body`, kept to dead-letter them if Segment refuses the batch.
        var messages: [JSONValue] = []
        var eventCursor: Int64
        var auditCursor: Int64
    }

    /// The next batches cut from the logs, encoded and ready to send.
    struct Prepared: Sendable {
        let settings: OutboundSettings
        let writeKey: String
        /// Batches with messages, in log order.
        let batches: [Batch]
        /// Where the logs were read from, and how far these batches (and any skipped records after them) reach.
        let start: (event: Int64, audit: Int64)
        let end: (event: Int64, audit: Int64)
        /// Messages that cannot be sent (too large, or a record out of range), with where they sit in
        /// the logs: dead-lettered only once the cursor has passed them.
        let setAside: [(letter: DeadLetter, eventID: Int64?, auditID: Int64?)]
        /// The batches stopped at the in-flight limit, or the read got all it asked for: more may be waiting.
        let full: Bool

        var hasWork: Bool { end.event != start.event || end.audit != start.audit || !setAside.isEmpty }
    }

    /// Rounds one `exportOnce` may chain before giving the loop back (dead-letter retries, other
    /// projects and the lease are looked at between calls).
    static let maxRoundsPerCall = 16

    /// Sends up to `maxInFlight` batches for the project at once, and as long as they come back
    /// delivered and more is waiting, the next ones, which are read and encoded while the previous
    /// ones are in flight. Returns whether there was anything to do.
    func exportOnce(project: String) async throws -> Bool {
        if progress(project).nextAttemptAt > Clock.nowMs() { return false }
        var state = try await store.outboundState(project: project)

        // Dead letters someone asked to retry go first.
        let retries = try await store.deadLetters(project: project, retryRequestedOnly: true, limit: Self.readLimit)
        if !retries.isEmpty {
            let settings = try await self.settings(project)
            guard settings.enabled, let writeKey = settings.writeKey, !writeKey.isEmpty else { return false }
            try await resend(retries, project: project, settings: settings, writeKey: writeKey, state: &state)
            return true
        }

        guard var prepared = try await prepare(project: project, from: (state.eventCursor, state.auditCursor)), prepared.hasWork else {
            return false
        }
        for _ in 0..<Self.maxRoundsPerCall {
            // Another node may have taken the export over since the last round.
            if let lease, !lease.isHeld { return true }
            // Read ahead only when these batches were cut at the in-flight limit: otherwise the
            // logs held nothing more when they were read.
            let current = prepared
            async let next = current.full ? try prepare(project: project, from: current.end) : nil
            let settled = try await deliver(current, project: project, state: &state)
            // A failed read-ahead is only a lost head start: the next call reads again from the cursor.
            guard settled, let following = try? await next, following.hasWork,
                  (following.start.event, following.start.audit) == (state.eventCursor, state.auditCursor)
            else { return true }
            prepared = following
        }
        return true
    }

    /// Reads the logs after `from` and cuts them into at most `maxConcurrentRequests` batches; nil
    /// when export is off or has no write key.
    func prepare(project: String, from start: (event: Int64, audit: Int64)) async throws -> Prepared? {
        var settings = try await self.settings(project)
        guard settings.enabled, let key = settings.writeKey, !key.isEmpty else { return nil }
        let now = Clock.nowMs()
        // Events are read before the settings that encode them, so an event logged after a
        // settings change is always sent under the new settings.
        let maxInFlight = settings.maxConcurrentRequests
        let readLimit = Self.eventsToRead(maxInFlight: maxInFlight, bytesPerEvent: progress(project).bytesPerEvent)
        let events = try await store.events(project: project, afterID: start.event, limit: readLimit)
        let audit = try await store.auditEntries(project: project, afterID: start.audit, limit: Self.readLimit)
        settings = try await self.settings(project)
        guard settings.enabled, let writeKey = settings.writeKey, !writeKey.isEmpty else { return nil }
        let experimentEntities = try await store.entities(project: project, kind: .experiment)
        var groupNames: [String: [String: String]] = [:]
        for e in experimentEntities {
            var byRule: [String: String] = [:]
            for g in e.groups ?? [] { if let id = g.id { byRule[id] = g.name } }
            for r in e.rules ?? [] { if let id = r.id, let name = r.groupName { byRule[id] = name } }
            groupNames[e.name] = byRule
        }
        let encoder = OutboundEncoder(
            settings: settings, experiments: Set(experimentEntities.map(\.name)), groupNames: groupNames,
            messageIDSalt: try await messageIDSalt(project))

        // Cut the next batches from the event table, then the audit log.
        var batches: [Batch] = [Batch(body: SegmentBatchBody(writeKey: writeKey), eventCursor: start.event, auditCursor: start.audit)]
        var setAside: [(letter: DeadLetter, eventID: Int64?, auditID: Int64?)] = []
        var full = false
        func add(_ message: Encoded?, eventID: Int64?, auditID: Int64?, unsendable: String? = nil) -> Bool {
            if let (message, bytes) = message {
                if let reason = unsendable ?? (batches[0].body.isSendable(bytes.count) ? nil : Self.tooLarge) {
                    setAside.append((DeadLetter(message: message, reason: reason, createdAt: now), eventID, auditID))
                } else {
                    if !batches[batches.count - 1].body.fits(bytes.count) {
                        guard batches.count < maxInFlight else { full = true; return false }
                        batches.append(Batch(body: SegmentBatchBody(writeKey: writeKey),
                                             eventCursor: batches[batches.count - 1].eventCursor,
                                             auditCursor: batches[batches.count - 1].auditCursor))
                    }
                    batches[batches.count - 1].body.append(bytes)
                    batches[batches.count - 1].messages.append(message)
                }
            }
            if let eventID { batches[batches.count - 1].eventCursor = eventID }
            if let auditID { batches[batches.count - 1].auditCursor = auditID }
            return true
        }
        var eventsTaken = 0
        for (e, message) in zip(events, await Self.encode(events, project: project, with: encoder)) {
            guard let id = e.id else { continue }
            guard add(message, eventID: id, auditID: nil, unsendable: Self.unsendable(e)) else { break }
            eventsTaken += 1
        }
        if eventsTaken > 0 {
            let bytes = batches.reduce(0) { $0 + $1.body.bytes }
            progress.withLock { $0[project, default: Progress()].bytesPerEvent = Double(bytes) / Double(eventsTaken) }
        }
        if !full {
            for a in audit where !Self.accountAdministration.contains(a.kind) {
                guard let id = a.id else { continue }
                let change = OutboundConfigChange(
                    id: id, project: project, author: a.actor, configName: a.name, description: a.description,
                    environment: a.environment, time: a.time)
                guard add(encoder.encode(change).map { ($0, $0.serializedBytes()) }, eventID: nil, auditID: id) else { break }
            }
        }
        // A full read (as many events as asked for) may have more behind it even if the batches had room.
        let readAll = events.count >= readLimit || audit.count >= Self.readLimit
        let last = batches[batches.count - 1]
        return Prepared(
            settings: settings, writeKey: writeKey, batches: batches.filter { !$0.messages.isEmpty }, start: start,
            end: (last.eventCursor, last.auditCursor), setAside: setAside, full: full || readAll)
    }

    /// How many events to read for `maxInFlight` full batches: Segment's message cap, or fewer when
    /// the bytes per event seen so far say the 500 KB bodies fill first (with 15 % to spare).
    static func eventsToRead(maxInFlight: Int, bytesPerEvent: Double?) -> Int {
        let cap = min(limits.maxMessages * maxInFlight, 20_000)
        guard let perEvent = bytesPerEvent, perEvent > 0 else { return min(cap, 1_000) }
        let estimate = Double(limits.maxBodyBytes * maxInFlight) / perEvent * 1.15 + 16
        return estimate >= Double(cap) ? cap : max(16, Int(estimate))
    }

    /// A message and its JSON text.
    typealias Encoded = (message: JSONValue, bytes: [UInt8])

    /// Each event's message (nil: not exported), encoded and serialized in parallel chunks, in order.
    static func encode(_ events: [EventRecord], project: String, with encoder: OutboundEncoder) async -> [Encoded?] {
        let chunk = max(256, (events.count + encodeTasks - 1) / encodeTasks)
        return await withTaskGroup(of: (Int, [Encoded?]).self) { group in
            for start in stride(from: 0, to: events.count, by: chunk) {
                let slice = events[start..<min(start + chunk, events.count)]
                group.addTask {
                    (start, slice.map { e -> Encoded? in
                        guard let id = e.id else { return nil }
                        let out = OutboundEvent(
                            id: id, project: project, eventName: e.eventName, user: e.user, userID: e.userID, customIDs: e.customIDs,
                            environment: e.environment, value: e.value, metadata: e.metadata, time: e.time, source: e.source)
                        return encoder.encode(out).map { ($0, $0.serializedBytes()) }
                    })
                }
            }
            var out = [Encoded?](repeating: nil, count: events.count)
            for await (start, encoded) in group { out.replaceSubrange(start..<start + encoded.count, with: encoded) }
            return out
        }
    }

    static let encodeTasks = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Sends the prepared batches at once and moves the cursors over the longest run of them
    /// Segment has taken (or refused for good). Returns whether every batch was settled.
    func deliver(_ p: Prepared, project: String, state: inout OutboundState) async throws -> Bool {
        var dead: [DeadLetter] = []
        var settled = true
        if p.batches.isEmpty {
            state.eventCursor = p.end.event
            state.auditCursor = p.end.audit
        } else {
            progress.withLock { $0[project, default: Progress()].inFlight = p.batches.reduce(0) { $0 + $1.messages.count } }
            defer { progress.withLock { $0[project]?.inFlight = 0 } }
            let (settings, writeKey) = (p.settings, p.writeKey)
            let verdicts = await withTaskGroup(of: (Int, DeliveryVerdict).self) { group in
                for (i, b) in p.batches.enumerated() {
                    group.addTask { (i, await self.send(b.body, settings: settings, writeKey: writeKey, project: project)) }
                }
                var out = [DeliveryVerdict](repeating: .delivered, count: p.batches.count)
                for await (i, v) in group { out[i] = v }
                return out
            }
            // Batches after one that must be retried are sent again later, under the same messageIds.
            for (b, verdict) in zip(p.batches, verdicts) {
                if case .retry(let after) = verdict {
                    try await backoff(project, &state, seconds: after, error: "temporary failure; retrying in \(String(format: "%.1f", after)) s")
                    settled = false
                    break
                }
                state.requests += 1
                state.eventCursor = b.eventCursor
                state.auditCursor = b.auditCursor
                if case .deadLetter(let reason) = verdict {
                    state.lastError = reason
                    state.lastErrorTime = Clock.nowMs()
                    logger.warning("segment refused a batch; dead-lettered", metadata: ["project": "\(project)", "reason": "\(reason)"])
                    dead += b.messages.map { DeadLetter(message: $0, reason: reason, createdAt: Clock.nowMs()) }
                } else {
                    state.delivered += b.messages.count
                    state.lastSuccess = Clock.nowMs()
                }
                progress.withLock { $0[project]?.attempt = 0 }
            }
            if settled {
                // Every batch was settled: the skipped records after the last message are settled too.
                state.eventCursor = p.end.event
                state.auditCursor = p.end.audit
            }
        }
        for o in p.setAside where (o.eventID.map { $0 <= state.eventCursor } ?? false) || (o.auditID.map { $0 <= state.auditCursor } ?? false) {
            dead.append(o.letter)
        }
        try await store.saveOutbound(project: project, state: state, newDeadLetters: dead, resolvedDeadLetters: [])
        return settled
    }

    /// Why an event cannot go to Segment, or nil. Such events (stored before the ingest checks
    /// existed) become dead letters instead of holding up the export.
    static func unsendable(_ e: EventRecord) -> String? {
        EventTime.storable.contains(e.time) ? nil : "event time out of range (before 2000 or after 9999): not sent"
    }

    /// Sends dead letters again, within the same size limits as any batch.
    private func resend(
        _ letters: [DeadLetter], project: String, settings: OutboundSettings, writeKey: String, state: inout OutboundState
    ) async throws {
        var batch: [DeadLetter] = []
        var body = SegmentBatchBody(writeKey: writeKey)
        var stillTooLarge: [DeadLetter] = []
        for l in letters {
            let bytes = l.message.serializedBytes()
            if !body.isSendable(bytes.count) {
                stillTooLarge.append(l)
                continue
            }
            guard body.fits(bytes.count) else { break }
            batch.append(l)
            body.append(bytes)
        }
        // Oversize messages can never be sent: they stay dead letters, no longer marked for retry.
        let kept = stillTooLarge.map { DeadLetter(message: $0.message, reason: Self.tooLarge, createdAt: $0.createdAt) }
        let tooLargeIDs = stillTooLarge.compactMap(\.id)
        guard !batch.isEmpty else {
            try await store.saveOutbound(project: project, state: state, newDeadLetters: kept, resolvedDeadLetters: tooLargeIDs)
            return
        }
        let ids = batch.compactMap(\.id)
        switch await send(body, settings: settings, writeKey: writeKey, project: project) {
        case .delivered:
            state.delivered += batch.count
            state.requests += 1
            state.lastSuccess = Clock.nowMs()
            progress.withLock { $0[project]?.attempt = 0 }
            try await store.saveOutbound(project: project, state: state, newDeadLetters: kept, resolvedDeadLetters: ids + tooLargeIDs)
        case .retry(let after):
            try await backoff(project, &state, seconds: after, error: "retrying dead letters")
        case .deadLetter(let reason):
            state.requests += 1
            state.lastError = reason
            state.lastErrorTime = Clock.nowMs()
            progress.withLock { $0[project]?.attempt = 0 }
            let again = batch.map { DeadLetter(message: $0.message, reason: reason, createdAt: Clock.nowMs()) }
            try await store.saveOutbound(project: project, state: state, newDeadLetters: kept + again, resolvedDeadLetters: ids + tooLargeIDs)
        }
    }

    private func backoff(_ project: String, _ state: inout OutboundState, seconds: Double, error: String?) async throws {
        let until = Clock.nowMs().saturatingAdd(Int64(SafeNumber.clamp(seconds, to: 0...3600) * 1000))
        progress.withLock { p in
            p[project, default: Progress()].attempt += 1
            p[project, default: Progress()].nextAttemptAt = until
        }
        state.lastErrorTime = Clock.nowMs()
        if let error { state.lastError = error }
        try await store.saveOutbound(project: project, state: state, newDeadLetters: [], resolvedDeadLetters: [])
    }

    static let tooLarge = "message larger than 32 KB: not sent"

    /// One POST to `{endpoint}/v1/batch`, Basic-authenticated with the write key, with a fresh
    /// `sentAt`, when the write key's request rate allows.
    private func send(_ body: SegmentBatchBody, settings: OutboundSettings, writeKey: String, project: String) async -> DeliveryVerdict {
        let attempt = progress(project).attempt
        do {
            try await pacer.pace(writeKey, perSecond: settings.maxRequestsPerSecond)
        } catch {
            return .retry(after: 0)
        }
        var bytes = ByteBuffer(bytes: body.encoded(sentAt: Clock.nowMs()))
        var endpoint = settings.endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        var request = HTTPClientRequest(url: endpoint + "/v1/batch")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Basic " + StatsigHash.base64(Array((writeKey + ":").utf8)))
        request.headers.add(name: "User-Agent", value: "vane/1.0")
        if attempt > 0 { request.headers.add(name: "X-Retry-Count", value: String(attempt)) }
        if settings.gzip, let compressed = try? bytes.compress(with: .gzip()) {
            bytes = compressed
            request.headers.add(name: "Content-Encoding", value: "gzip")
        }
        request.body = .bytes(bytes)
        let jitter = Double.random(in: 0..<1)
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 64 * 1024))
            let verdict = DeliveryVerdict.of(
                status: Int(response.status.code), retryAfter: response.headers.first(name: "Retry-After"), attempt: attempt,
                body: text, jitter: jitter)
            if case .retry = verdict {
                logger.notice("segment asked to retry", metadata: ["status": "\(response.status.code)", "project": "\(project)"])
            }
            return verdict
        } catch {
            logger.notice("segment unreachable; will retry", metadata: ["error": "\(error)", "project": "\(project)"])
            return DeliveryVerdict.of(status: nil, retryAfter: nil, attempt: attempt, body: "", jitter: jitter)
        }
    }
}
