import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import VaneCore
import VaneSegment
import VaneStore

/// Vane → Segment: drains each project's event table and audit log, from durable cursors, to
/// Segment's `/v1/batch` in batches of at most 100 messages and 475 KB. A cursor moves only when
/// Segment has taken the batch (or refused it for good, which dead-letters it), so nothing
/// committed is lost and a crash resends at most one batch, under the same messageIds.
final class SegmentExporter: Service, Sendable {
    static let settingName = "segment_outbound"
    static let maxMessages = 100
    static let maxBatchBytes = 475_000
    static let maxMessageBytes = 32 * 1024

    struct Progress: Sendable {
        var inFlight = 0
        var attempt = 0
        var nextAttemptAt: Int64 = 0
    }

    private let store: any VaneStore
    private let logger: Logger
    private let client: HTTPClient
    private let idleSleep: Duration
    private let progress = Mutex<[String: Progress]>([:])

    init(store: any VaneStore, logger: Logger, idleSleep: Duration = .milliseconds(200)) {
        self.store = store
        self.logger = logger
        self.idleSleep = idleSleep
        var config = HTTPClient.Configuration()
        config.timeout = .init(connect: .seconds(5), read: .seconds(30))
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    func progress(_ project: String) -> Progress { progress.withLock { $0[project] ?? Progress() } }

    /// Forgets any backoff, so a fixed key or a retry request is acted on at once.
    func wake(_ project: String) { progress.withLock { $0[project]?.nextAttemptAt = 0; $0[project]?.attempt = 0 } }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var worked = false
                do {
                    for project in try await self.store.projects() {
                        if try await self.exportOnce(project: project) { worked = true }
                    }
                } catch {
                    self.logger.error("segment export failed", metadata: ["error": "\(error)"])
                }
                if !worked { try? await Task.sleep(for: self.idleSleep) }
            }
        }
        try? await client.shutdown()
    }

    static func settings(_ store: any VaneStore, _ project: String) async throws -> OutboundSettings {
        guard let v = try await store.setting(project: project, name: settingName) else { return OutboundSettings() }
        return (try? decodeValue(OutboundSettings.self, v)) ?? OutboundSettings()
    }

    /// Sends at most one batch for the project. Returns whether there was anything to do.
    func exportOnce(project: String) async throws -> Bool {
        let settings = try await Self.settings(store, project)
        guard settings.enabled, let writeKey = settings.writeKey, !writeKey.isEmpty else { return false }
        let now = Clock.nowMs()
        if progress(project).nextAttemptAt > now { return false }
        var state = try await store.outboundState(project: project)

        // Dead letters someone asked to retry go first, as their own batch.
        let retries = try await store.deadLetters(project: project, retryRequestedOnly: true, limit: Self.maxMessages)
        if !retries.isEmpty {
            let verdict = await send(retries.map(\.message), settings: settings, writeKey: writeKey, project: project)
            let ids = retries.compactMap(\.id)
            switch verdict {
            case .delivered:
                state.delivered += retries.count
                state.requests += 1
                state.lastSuccess = Clock.nowMs()
                try await store.saveOutbound(project: project, state: state, newDeadLetters: [], resolvedDeadLetters: ids)
            case .retry(let after):
                try await backoff(project, &state, seconds: after, error: "retrying dead letters")
            case .deadLetter(let reason):
                state.lastError = reason
                state.lastErrorTime = Clock.nowMs()
                let again = retries.map { DeadLetter(message: $0.message, reason: reason, createdAt: Clock.nowMs()) }
                try await store.saveOutbound(project: project, state: state, newDeadLetters: again, resolvedDeadLetters: ids)
            }
            return true
        }

        // The next batch: events after the cursor, then console changes.
        let experiments = Set(try await store.entities(project: project, kind: .experiment).map(\.name))
        let encoder = OutboundEncoder(settings: settings, experiments: experiments)
        var messages: [JSONValue] = []
        var bytes = 0
        var oversize: [DeadLetter] = []
        var eventCursor = state.eventCursor
        var auditCursor = state.auditCursor
        func take(_ message: JSONValue) -> Bool {
            let size = message.serializedBytes().count
            if size > Self.maxMessageBytes {
                oversize.append(DeadLetter(message: message, reason: "message larger than 32 KB: not sent", createdAt: now))
                return true
            }
            guard messages.count < Self.maxMessages, bytes + size + 1 <= Self.maxBatchBytes else { return false }
            messages.append(message)
            bytes += size + 1
            return true
        }
        let events = try await store.events(project: project, afterID: state.eventCursor, limit: 1000)
        for e in events {
            let id = e.id ?? eventCursor
            let out = OutboundEvent(
                id: id, project: project, eventName: e.eventName, user: e.user, userID: e.userID, customIDs: e.customIDs,
                environment: e.environment, value: e.value, metadata: e.metadata, time: e.time, source: e.source)
            if let message = encoder.encode(out) {
                guard take(message) else { break }
            }
            eventCursor = id
        }
        if messages.count < Self.maxMessages {
            for a in try await store.auditEntries(project: project, afterID: state.auditCursor, limit: 100) {
                let change = OutboundConfigChange(
                    id: a.id ?? auditCursor, project: project, author: a.actor, configName: a.name, description: a.description,
                    environment: a.environment, time: a.time)
                if let message = encoder.encode(change) {
                    guard take(message) else { break }
                }
                auditCursor = a.id ?? auditCursor
            }
        }
        guard eventCursor != state.eventCursor || auditCursor != state.auditCursor || !oversize.isEmpty else { return false }

        if messages.isEmpty {
            state.eventCursor = eventCursor
            state.auditCursor = auditCursor
            try await store.saveOutbound(project: project, state: state, newDeadLetters: oversize, resolvedDeadLetters: [])
            return true
        }
        progress.withLock { $0[project, default: Progress()].inFlight = messages.count }
        defer { progress.withLock { $0[project]?.inFlight = 0 } }
        let verdict = await send(messages, settings: settings, writeKey: writeKey, project: project)
        switch verdict {
        case .delivered:
            state.delivered += messages.count
            state.requests += 1
            state.lastSuccess = Clock.nowMs()
            state.eventCursor = eventCursor
            state.auditCursor = auditCursor
            progress.withLock { $0[project]?.attempt = 0 }
            try await store.saveOutbound(project: project, state: state, newDeadLetters: oversize, resolvedDeadLetters: [])
        case .retry(let after):
            try await backoff(project, &state, seconds: after, error: "temporary failure; retrying in \(String(format: "%.1f", after)) s")
        case .deadLetter(let reason):
            state.eventCursor = eventCursor
            state.auditCursor = auditCursor
            state.requests += 1
            state.lastError = reason
            state.lastErrorTime = Clock.nowMs()
            logger.warning("segment refused a batch; dead-lettered", metadata: ["project": "\(project)", "reason": "\(reason)"])
            let dead = oversize + messages.map { DeadLetter(message: $0, reason: reason, createdAt: Clock.nowMs()) }
            try await store.saveOutbound(project: project, state: state, newDeadLetters: dead, resolvedDeadLetters: [])
        }
        return true
    }

    private func backoff(_ project: String, _ state: inout OutboundState, seconds: Double, error: String?) async throws {
        let until = Clock.nowMs() + Int64(seconds * 1000)
        progress.withLock { p in
            p[project, default: Progress()].attempt += 1
            p[project, default: Progress()].nextAttemptAt = until
        }
        state.lastErrorTime = Clock.nowMs()
        if let error { state.lastError = error }
        try await store.saveOutbound(project: project, state: state, newDeadLetters: [], resolvedDeadLetters: [])
    }

    /// One POST to `{endpoint}/v1/batch`, Basic-authenticated with the write key, with a fresh `sentAt`.
    private func send(_ messages: [JSONValue], settings: OutboundSettings, writeKey: String, project: String) async -> DeliveryVerdict {
        let attempt = progress(project).attempt
        let body: JSONValue = ["batch": .array(messages), "sentAt": .string(ISOTime.format(Clock.nowMs())), "writeKey": .string(writeKey)]
        var endpoint = settings.endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        var request = HTTPClientRequest(url: endpoint + "/v1/batch")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Authorization", value: "Basic " + StatsigHash.base64(Array((writeKey + ":").utf8)))
        request.headers.add(name: "User-Agent", value: "vane/1.0")
        if attempt > 0 { request.headers.add(name: "X-Retry-Count", value: String(attempt)) }
        request.body = .bytes(ByteBuffer(bytes: body.serializedBytes()))
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
