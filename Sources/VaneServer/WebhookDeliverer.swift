import AsyncHTTPClient
import Logging
import NIOCore
import ServiceLifecycle
import VaneCore
import VaneStore

/// Delivers configuration changes to each enabled webhook, in audit-log order, from the webhook's
/// durable cursor: one signed POST per change. A change is retried with exponential backoff
/// (honouring Retry-After) until it is accepted with a 2xx or has failed `maxAttempts` times;
/// then it becomes a dead letter and delivery moves on. The cursor and the backoff are saved
/// after every attempt, so a restart resends at most the one change in flight, under the same id.
/// One node at a time delivers (the lease); webhooks are drained side by side, so one slow
/// receiver does not hold back the others.
final class WebhookDeliverer: Service, Sendable {
    typealias Store = WebhookRepository & OutboundRepository & SettingsRepository
    /// Audit entries read per webhook and cycle.
    static let readLimit = 100
    static let requestTimeout: TimeAmount = .seconds(10)

    private let store: any Store
    private let secrets: SecretBox
    private let logger: Logger
    private let lease: JobLease?
    private let idleSleep: Duration
    private let client = HTTPClient.shared

    init(store: any Store, secrets: SecretBox, logger: Logger, lease: JobLease?, idleSleep: Duration = .milliseconds(500)) {
        self.store = store
        self.secrets = secrets
        self.logger = logger
        self.lease = lease
        self.idleSleep = idleSleep
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if self.lease?.isHeld ?? true {
                    do {
                        for project in try await self.store.projects() { try await self.deliverOnce(project: project) }
                    } catch where Task.isCancelled {
                        break
                    } catch {
                        self.logger.error("webhook delivery failed", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: self.idleSleep)
            }
        }
    }

    /// One pass over the project's enabled webhooks whose backoff has passed.
    func deliverOnce(project: String) async throws {
        let now = Clock.nowMs()
        let due = try await store.webhooks(project: project).filter { $0.enabled && $0.delivery.nextAttemptAt <= now }
        await withTaskGroup(of: Void.self) { group in
            for hook in due {
                group.addTask {
                    do {
                        try await self.drain(hook, project: project)
                    } catch where !Task.isCancelled {
                        self.logger.warning("webhook delivery failed", metadata: ["webhook": "\(hook.id)", "error": "\(error)"])
                    } catch {}
                }
            }
        }
    }

    private func drain(_ hook: Webhook, project: String) async throws {
        let signing = try signingSecrets(hook)
        var d = hook.delivery
        for letter in try await store.webhookDeadLetters(project: project, webhookID: hook.id, retryRequestedOnly: true, limit: 50) {
            let outcome = await send(letter.payload, to: hook, secrets: signing, attempt: 1)
            var again: [WebhookDeadLetter] = []
            if case .failed(let reason, _) = outcome {
                again.append(WebhookDeadLetter(webhookID: hook.id, auditID: letter.auditID, payload: letter.payload, reason: reason,
                                               createdAt: Clock.nowMs()))
                d.lastError = reason
                d.lastErrorTime = Clock.nowMs()
            } else {
                d.delivered += 1
                d.lastSuccess = Clock.nowMs()
            }
            try await store.saveWebhookDelivery(
                project: project, id: hook.id, d, newDeadLetters: again, resolvedDeadLetters: letter.id.map { [$0] } ?? [])
        }

        let entries = try await store.auditEntries(project: project, afterID: d.auditCursor, limit: Self.readLimit)
        var unsaved = false
        for entry in entries {
            guard let id = entry.id else { continue }
            guard WebhookPayload.receives(hook, entry) else {
                d.auditCursor = id
                unsaved = true
                continue
            }
            let payload = WebhookPayload.of(entry, project: project)
            switch await send(payload, to: hook, secrets: signing, attempt: d.attempts + 1) {
            case .delivered:
                d.auditCursor = id
                d.delivered += 1
                d.attempts = 0
                d.nextAttemptAt = 0
                d.lastSuccess = Clock.nowMs()
                try await store.saveWebhookDelivery(project: project, id: hook.id, d, newDeadLetters: [], resolvedDeadLetters: [])
                unsaved = false
            case .failed(let reason, let retryAfter):
                let now = Clock.nowMs()
                d.attempts += 1
                d.lastError = reason
                d.lastErrorTime = now
                var dead: [WebhookDeadLetter] = []
                if d.attempts >= hook.maxAttempts {
                    dead.append(WebhookDeadLetter(webhookID: hook.id, auditID: id, payload: payload,
                                                  reason: "\(reason) (after \(d.attempts) attempts)", createdAt: now))
                    d.auditCursor = id
                    d.attempts = 0
                    d.nextAttemptAt = 0
                    logger.warning("webhook gave up on a change; dead-lettered", metadata: ["webhook": "\(hook.id)", "reason": "\(reason)"])
                } else {
                    d.nextAttemptAt = now.saturatingAdd(Int64(Self.backoff(attempts: d.attempts, retryAfter: retryAfter) * 1000))
                }
                try await store.saveWebhookDelivery(project: project, id: hook.id, d, newDeadLetters: dead, resolvedDeadLetters: [])
                if dead.isEmpty { return }
                unsaved = false
            }
        }
        if unsaved {
            try await store.saveWebhookDelivery(project: project, id: hook.id, d, newDeadLetters: [], resolvedDeadLetters: [])
        }
    }

    /// Seconds before the next attempt after `attempts` failures: 1, 2, 4, … capped at an hour, with
    /// jitter, or what the receiver's Retry-After asks (also capped at an hour).
    static func backoff(attempts: Int, retryAfter: Double?, jitter: Double = Double.random(in: 0..<1)) -> Double {
        if let retryAfter, retryAfter >= 0 { return min(3600, retryAfter) }
        var delay = 1.0
        for _ in 1..<max(1, min(attempts, 13)) { delay *= 2 }
        return min(3600, delay) * (0.5 + jitter / 2)
    }

    /// The current secret, and the previous one while it is still in force.
    func signingSecrets(_ hook: Webhook) throws -> [String] {
        var out = [try secrets.open(hook.sealedSecret)]
        if let previous = hook.sealedPreviousSecret, (hook.previousSecretExpiresAt ?? 0) > Clock.nowMs() {
            out.append(try secrets.open(previous))
        }
        return out
    }

    enum Outcome: Equatable {
        case delivered(status: Int)
        case failed(reason: String, retryAfter: Double?)
    }

    /// One signed POST of `payload` to the webhook's URL. Redirects are not followed: a receiver
    /// that moved must be edited, not chased.
    func send(_ payload: JSONValue, to hook: Webhook, secrets: [String], attempt: Int) async -> Outcome {
        // Sorted keys: every attempt at a change sends the same bytes.
        let body = payload.serializedBytes(sortedKeys: true)
        var request = HTTPClientRequest(url: hook.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "vane-webhooks/1.0")
        request.headers.add(name: "Vane-Webhook-Id", value: hook.id)
        request.headers.add(name: "Vane-Event-Id", value: payload["id"]?.stringValue ?? "")
        request.headers.add(name: "Vane-Delivery-Attempt", value: String(attempt))
        request.headers.add(
            name: WebhookSignature.header,
            value: WebhookSignature.headerValue(secrets: secrets, timestamp: Clock.nowMs() / 1000, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: Self.requestTimeout)
            let text = String(buffer: try await response.body.collect(upTo: 64 * 1024))
            let status = Int(response.status.code)
            if (200..<300).contains(status) { return .delivered(status: status) }
            let snippet = String(text.prefix(200))
            return .failed(
                reason: "HTTP \(status)" + (snippet.isEmpty ? "" : ": \(snippet)"),
                retryAfter: response.headers.first(name: "Retry-After").flatMap(Double.init))
        } catch {
            return .failed(reason: "unreachable: \(error)", retryAfter: nil)
        }
    }
}
