import VaneCore
import VaneStore

/// A webhook as the API and the settings page show it: its definition (never its secrets) and how
/// delivery is going.
struct WebhookView: Sendable {
    let hook: Webhook
    /// Changes after the cursor that this webhook receives (0 while it is disabled).
    let queued: Int
    let deadLettered: Int

    static func load(_ hook: Webhook, project: String, store: any WebhookRepository & OutboundRepository) async throws -> WebhookView {
        let queued = hook.enabled
            ? try await store.auditEntries(project: project, afterID: hook.delivery.auditCursor, limit: 10_000)
                .filter { WebhookPayload.receives(hook, $0) }.count
            : 0
        return WebhookView(hook: hook, queued: queued, deadLettered: try await store.webhookDeadLetterCount(project: project, webhookID: hook.id))
    }

    var failing: Bool {
        let d = hook.delivery
        return deliveryIsFailing(lastError: d.lastError, lastErrorTime: d.lastErrorTime, lastSuccess: d.lastSuccess)
    }

    var nextAttempt: Int64? { hook.delivery.nextAttemptAt > Clock.nowMs() ? hook.delivery.nextAttemptAt : nil }

    var previousSecretExpires: Int64? { hook.previousSecretExpiresAt.flatMap { $0 > Clock.nowMs() ? $0 : nil } }

    var json: JSONValue {
        let h = hook, d = hook.delivery
        func int(_ v: Int64?) -> JSONValue { v.map { .int($0) } ?? .null }
        return [
            "id": .string(h.id), "url": .string(h.url), "description": .string(h.description),
            "kinds": .array(h.kinds.map { .string($0) }), "enabled": .bool(h.enabled), "maxAttempts": .int(Int64(h.maxAttempts)),
            "createdTime": .int(h.createdAt), "previousSecretExpires": int(previousSecretExpires),
            "status": [
                "queued": .int(Int64(queued)), "delivered": .int(Int64(d.delivered)), "deadLettered": .int(Int64(deadLettered)),
                "attempts": .int(Int64(d.attempts)), "nextAttempt": int(nextAttempt), "lastSuccess": int(d.lastSuccess),
                "lastError": d.lastError.map { .string($0) } ?? .null, "lastErrorTime": int(d.lastErrorTime), "failing": .bool(failing),
            ],
        ]
    }
}
