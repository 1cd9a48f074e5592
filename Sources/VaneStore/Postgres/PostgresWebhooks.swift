import PostgresNIO
import VaneCore

extension PostgresStore /* WebhookRepository */ {
    static func webhook(_ row: PGRow) throws -> Webhook {
        var w = Webhook(
            id: try row.get("id", as: String.self), url: try row.get("url", as: String.self),
            description: try row.get("description", as: String.self),
            kinds: WebhookColumns.kinds(try row.get("kinds", as: String.self)), enabled: try row.get("enabled", as: Bool.self),
            sealedSecret: try row.get("secret", as: String.self), maxAttempts: try row.get("max_attempts", as: Int.self),
            createdAt: try row.get("created_at", as: Int64.self))
        w.sealedPreviousSecret = try row.get("previous_secret", as: String?.self)
        w.previousSecretExpiresAt = try row.get("previous_secret_expires_at", as: Int64?.self)
        w.delivery.auditCursor = try row.get("audit_cursor", as: Int64.self)
        w.delivery.delivered = try row.get("delivered", as: Int.self)
        w.delivery.attempts = try row.get("attempts", as: Int.self)
        w.delivery.nextAttemptAt = try row.get("next_attempt_at", as: Int64.self)
        w.delivery.lastSuccess = try row.get("last_success", as: Int64?.self)
        w.delivery.lastError = try row.get("last_error", as: String?.self)
        w.delivery.lastErrorTime = try row.get("last_error_time", as: Int64?.self)
        return w
    }

    public func webhooks(project: String) async throws -> [Webhook] {
        try await db.read { c in
            try await c.fetchAll("SELECT * FROM webhooks WHERE project_id = ? ORDER BY created_at, id", [project]).map(Self.webhook)
        }
    }

    public func webhook(project: String, id: String) async throws -> Webhook? {
        try await db.read { c in
            try await c.fetchOne("SELECT * FROM webhooks WHERE project_id = ? AND id = ?", [project, id]).map(Self.webhook)
        }
    }

    public func createWebhook(project: String, _ webhook: Webhook, audit: AuditEntry) async throws -> Webhook {
        try await db.write { c in
            try await Self.appendAudit(c, project: project, audit)
            // The audit log's lock is held until commit: the largest id is the entry just written.
            var created = webhook
            created.delivery = WebhookDelivery()
            created.delivery.auditCursor = try await c.fetchValue(
                "SELECT MAX(id) FROM audit_log WHERE project_id = ?", [project], as: Int64.self) ?? 0
            let inserted = try await c.execute(
                """
                INSERT INTO webhooks (project_id, id, url, description, kinds, enabled, secret, previous_secret,
                    previous_secret_expires_at, max_attempts, created_at, audit_cursor)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (project_id, id) DO NOTHING RETURNING 1
                """,
                [project, created.id, created.url, created.description, WebhookColumns.kinds(created.kinds), created.enabled,
                 created.sealedSecret, created.sealedPreviousSecret, created.previousSecretExpiresAt, created.maxAttempts,
                 created.createdAt, created.delivery.auditCursor])
            guard inserted > 0 else { throw StoreError.conflict("a webhook with id '\(webhook.id)' already exists") }
            return created
        }
    }

    public func updateWebhook(project: String, _ webhook: Webhook, audit: AuditEntry) async throws -> Bool {
        try await db.write { c in
            let n = try await c.execute(
                """
                UPDATE webhooks SET url = ?, description = ?, kinds = ?, enabled = ?, secret = ?, previous_secret = ?,
                    previous_secret_expires_at = ?, max_attempts = ?
                WHERE project_id = ? AND id = ? RETURNING 1
                """,
                [webhook.url, webhook.description, WebhookColumns.kinds(webhook.kinds), webhook.enabled, webhook.sealedSecret,
                 webhook.sealedPreviousSecret, webhook.previousSecretExpiresAt, webhook.maxAttempts, project, webhook.id])
            guard n > 0 else { return false }
            try await Self.appendAudit(c, project: project, audit)
            return true
        }
    }

    public func deleteWebhook(project: String, id: String, audit: AuditEntry) async throws -> Bool {
        try await db.write { c in
            let n = try await c.execute("DELETE FROM webhooks WHERE project_id = ? AND id = ? RETURNING 1", [project, id])
            guard n > 0 else { return false }
            try await c.execute("DELETE FROM webhook_dead_letters WHERE project_id = ? AND webhook_id = ?", [project, id])
            try await Self.appendAudit(c, project: project, audit)
            return true
        }
    }

    public func saveWebhookDelivery(
        project: String, id: String, _ d: WebhookDelivery, newDeadLetters: [WebhookDeadLetter], resolvedDeadLetters: [Int64]
    ) async throws {
        try await db.write { c in
            let n = try await c.execute(
                """
                UPDATE webhooks SET audit_cursor = ?, delivered = ?, attempts = ?, next_attempt_at = ?, last_success = ?,
                    last_error = ?, last_error_time = ?
                WHERE project_id = ? AND id = ? RETURNING 1
                """,
                [d.auditCursor, d.delivered, d.attempts, d.nextAttemptAt, d.lastSuccess, d.lastError, d.lastErrorTime, project, id])
            guard n > 0 else { return }  // deleted meanwhile
            for l in newDeadLetters {
                try await c.execute(
                    """
                    INSERT INTO webhook_dead_letters (project_id, webhook_id, audit_id, payload, reason, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                    [project, id, l.auditID, l.payload.serialized(), l.reason, l.createdAt])
            }
            for letter in resolvedDeadLetters {
                try await c.execute(
                    "DELETE FROM webhook_dead_letters WHERE project_id = ? AND webhook_id = ? AND id = ?", [project, id, letter])
            }
        }
    }

    public func webhookDeadLetters(project: String, webhookID: String, retryRequestedOnly: Bool, limit: Int) async throws -> [WebhookDeadLetter] {
        try await db.read { c in
            try await c.fetchAll(
                "SELECT * FROM webhook_dead_letters WHERE project_id = ? AND webhook_id = ?"
                    + (retryRequestedOnly ? " AND retry_requested" : "") + " ORDER BY id LIMIT ?",
                [project, webhookID, limit]
            ).map {
                WebhookDeadLetter(
                    id: try $0.get("id", as: Int64.self), webhookID: try $0.get("webhook_id", as: String.self),
                    auditID: try $0.get("audit_id", as: Int64.self),
                    payload: (try? JSONValue.parse(try $0.get("payload", as: String.self))) ?? .null,
                    reason: try $0.get("reason", as: String.self), createdAt: try $0.get("created_at", as: Int64.self),
                    retryRequested: try $0.get("retry_requested", as: Bool.self))
            }
        }
    }

    public func webhookDeadLetterCount(project: String, webhookID: String) async throws -> Int {
        try await db.read { c in
            try await c.fetchValue(
                "SELECT COUNT(*)::bigint FROM webhook_dead_letters WHERE project_id = ? AND webhook_id = ?", [project, webhookID],
                as: Int.self) ?? 0
        }
    }

    public func requestWebhookRetry(project: String, webhookID: String, ids: [Int64]?) async throws -> Int {
        try await db.write { c in
            let base = "UPDATE webhook_dead_letters SET retry_requested = true WHERE project_id = ? AND webhook_id = ?"
            guard let ids else { return try await c.execute(base + " RETURNING 1", [project, webhookID]) }
            var n = 0
            for id in ids { n += try await c.execute(base + " AND id = ? RETURNING 1", [project, webhookID, id]) }
            return n
        }
    }
}
