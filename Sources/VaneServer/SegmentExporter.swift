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

    struct Batch {
        var body: SegmentBatchBody
        /// The messages in `body`, kept to dead-letter them if Segment refuses the batch.
        var messages: [JSONValue] = []
        var eventCursor: Int64
        var auditCursor: Int64
    }

    /// Sends up to `maxInFlight` batches for the project at once. Returns whether there was anything to do.
    func exportOnce(project: String) async throws -> Bool {
        var settings = try await self.settings(project)
        guard settings.enabled, var writeKey = settings.writeKey, !writeKey.isEmpty else { return false }
        let now = Clock.nowMs()
        if progress(project).nextAttemptAt > now { return false }
        var state = try await store.outboundState(project: project)

        // Dead letters someone asked to retry go first.
        let retries = try await store.deadLetters(project: project, retryRequestedOnly: true, limit: Self.readLimit)
        if !retries.isEmpty {
            try await resend(retries, project: project, settings: settings, writeKey: writeKey, state: &state)
            return true
        }

        // Events are read before the settings that encode them, so an event logged after a
        // settings change is always sent under the new settings.
        let maxInFlight = settings.maxConcurrentRequests
        let events = try await store.events(
            project: project, afterID: state.eventCursor, limit: min(Self.limits.maxMessages * maxInFlight, 20_000))
        let audit = try await store.auditEntries(project: project, afterID: state.auditCursor, limit: Self.readLimit)
        settings = try await self.settings(project)
        guard settings.enabled, let latestKey = settings.writeKey, !latestKey.isEmpty else { return false }
        writeKey = latestKey
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
        var batches: [Batch] = [Batch(body: SegmentBatchBody(writeKey: writeKey), eventCursor: state.eventCursor, auditCursor: state.auditCursor)]
        // Messages that cannot be sent (too large, or a record out of range), with where they sit in
        // the logs: dead-lettered only once the cursor has passed them.
        var setAside: [(letter: DeadLetter, eventID: Int64?, auditID: Int64?)] = []
        var full = false
        func add(_ message: JSONValue?, eventID: Int64?, auditID: Int64?, unsendable: String? = nil) -> Bool {
            if let message {
                let bytes = message.serializedBytes()
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
        for e in events {
            guard let id = e.id else { continue }
            let out = OutboundEvent(
                id: id, project: project, eventName: e.eventName, user: e.user, userID: e.userID, customIDs: e.customIDs,
                environment: e.environment, value: e.value, metadata: e.metadata, time: e.time, source: e.source)
            guard add(encoder.encode(out), eventID: id, auditID: nil, unsendable: Self.unsendable(e)) else { break }
        }
        if !full {
            for a in audit where !Self.accountAdministration.contains(a.kind) {
                guard let id = a.id else { continue }
                let change = OutboundConfigChange(
                    id: id, project: project, author: a.actor, configName: a.name, description: a.description,
                    environment: a.environment, time: a.time)
                guard add(encoder.encode(change), eventID: nil, auditID: id) else { break }
            }
        }
        let last = batches[batches.count - 1]
        guard last.eventCursor != state.eventCursor || last.auditCursor != state.auditCursor || !setAside.isEmpty else { return false }

        let toSend = batches.filter { !$0.messages.isEmpty }
        var dead: [DeadLetter] = []
        if toSend.isEmpty {
            state.eventCursor = last.eventCursor
            state.auditCursor = last.auditCursor
        } else {
            progress.withLock { $0[project, default: Progress()].inFlight = toSend.reduce(0) { $0 + $1.messages.count } }
            defer { progress.withLock { $0[project]?.inFlight = 0 } }
            let (sendSettings, sendKey) = (settings, writeKey)
            let verdicts = await withTaskGroup(of: (Int, DeliveryVerdict).self) { group in
                for (i, b) in toSend.enumerated() {
                    group.addTask { (i, await self.send(b.body, settings: sendSettings, writeKey: sendKey, project: project)) }
                }
                var out = [DeliveryVerdict](repeating: .delivered, count: toSend.count)
                for await (i, v) in group { out[i] = v }
                return out
            }
            // The cursor moves over the longest run of batches Segment has taken (or refused for good);
            // batches after one that must be retried are sent again later, under the same messageIds.
            for (b, verdict) in zip(toSend, verdicts) {
                if case .retry(let after) = verdict {
                    try await backoff(project, &state, seconds: after, error: "temporary failure; retrying in \(String(format: "%.1f", after)) s")
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
            if verdicts.allSatisfy({ if case .retry = $0 { return false } else { return true } }) {
                // Every batch was settled: the skipped events after the last message are settled too.
                state.eventCursor = last.eventCursor
                state.auditCursor = last.auditCursor
            }
        }
        for o in setAside where (o.eventID.map { $0 <= state.eventCursor } ?? false) || (o.auditID.map { $0 <= state.auditCursor } ?? false) {
            dead.append(o.letter)
        }
        try await store.saveOutbound(project: project, state: state, newDeadLetters: dead, resolvedDeadLetters: [])
        return true
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
