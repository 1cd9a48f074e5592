import GRDB
import VaneCore

extension SQLiteStore /* WebhookRepository */ {
    static func webhook(_ row: Row) -> Webhook {
        var w = Webhook(
            id: row["id"], url: row["url"], description: row["description"], kinds: WebhookColumns.kinds(row["kinds"]),
            enabled: row["enabled"], sealedSecret: row["secret"], maxAttempts: row["max_attempts"], createdAt: row["created_at"])
        w.sealedPreviousSecret = row["previous_secret"]
        w.previousSecretExpiresAt = row["previous_secret_expires_at"]
        w.delivery.auditCursor = row["audit_cursor"]
        w.delivery.delivered = row["delivered"]
        w.delivery.attempts = row["attempts"]
        w.delivery.nextAttemptAt = row["next_attempt_at"]
        w.delivery.lastSuccess = row["last_success"]
        w.delivery.lastError = row["last_error"]
        w.delivery.lastErrorTime = row["last_error_time"]
        return w
    }

    public func webhooks(project: String) async throws -> [Webhook] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhooks WHERE project_id = ? ORDER BY created_at, id", arguments: [project])
                .map(Self.webhook)
        }
    }

    public func webhook(project: String, id: String) async throws -> Webhook? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM webhooks WHERE project_id = ? AND id = ?", arguments: [project, id]).map(Self.webhook)
        }
    }

    public func createWebhook(project: String, _ webhook: Webhook, audit: AuditEntry) async throws -> Webhook {
        try await db.write { db in
            try Self.appendAudit(db, project: project, audit)
            var created = webhook
            created.delivery = WebhookDelivery()
            created.delivery.auditCursor = db.lastInsertedRowID
            do {
                try db.execute(
                    sql: """
                        INSERT INTO webhooks (project_id, id, url, description, kinds, enabled, secret, previous_secret,
                            previous_secret_expires_at, max_attempts, created_at, audit_cursor)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [project, created.id, created.url, created.description, WebhookColumns.kinds(created.kinds),
                                created.enabled, created.sealedSecret, created.sealedPreviousSecret, created.previousSecretExpiresAt,
                                created.maxAttempts, created.createdAt, created.delivery.auditCursor])
            } catch let e as DatabaseError where e.resultCode == .SQLITE_CONSTRAINT {
                throw StoreError.conflict("a webhook with id '\(webhook.id)' already exists")
            }
            return created
        }
    }

    public func updateWebhook(project: String, _ webhook: Webhook, audit: AuditEntry) async throws -> Bool {
        try await db.write { db in
            try db.execute(
                sql: """
                    UPDATE webhooks SET url = ?, description = ?, kinds = ?, enabled = ?, secret = ?, previous_secret = ?,
                        previous_secret_expires_at = ?, max_attempts = ?
                    WHERE project_id = ? AND id = ?
                    """,
                arguments: [webhook.url, webhook.description, WebhookColumns.kinds(webhook.kinds), webhook.enabled, webhook.sealedSecret,
                            webhook.sealedPreviousSecret, webhook.previousSecretExpiresAt, webhook.maxAttempts, project, webhook.id])
            guard db.changesCount > 0 else { return false }
            try Self.appendAudit(db, project: project, audit)
            return true
        }
    }

    public func deleteWebhook(project: String, id: String, audit: AuditEntry) async throws -> Bool {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM webhooks WHERE project_id = ? AND id = ?", arguments: [project, id])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "DELETE FROM webhook_dead_letters WHERE project_id = ? AND webhook_id = ?", arguments: [project, id])
            try Self.appendAudit(db, project: project, audit)
            return true
        }
    }

    public func saveWebhookDelivery(
        project: String, id: String, _ d: WebhookDelivery, newDeadLetters: [WebhookDeadLetter], resolvedDeadLetters: [Int64]
    ) async throws {
        try await db.write { db in
            try db.execute(
                sql: """
                    UPDATE webhooks SET audit_cursor = ?, delivered = ?, attempts = ?, next_attempt_at = ?, last_success = ?,
                        last_error = ?, last_error_time = ?
                    WHERE project_id = ? AND id = ?
                    """,
                arguments: [d.auditCursor, d.delivered, d.attempts, d.nextAttemptAt, d.lastSuccess, d.lastError, d.lastErrorTime,
                            project, id])
            guard db.changesCount > 0 else { return }  // deleted meanwhile
            for l in newDeadLetters {
                try db.execute(
                    sql: """
                        INSERT INTO webhook_dead_letters (project_id, webhook_id, audit_id, payload, reason, created_at)
                        VALUES (?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [project, id, l.auditID, l.payload.serialized(), l.reason, l.createdAt])
            }
            for letter in resolvedDeadLetters {
                try db.execute(
                    sql: "DELETE FROM webhook_dead_letters WHERE project_id = ? AND webhook_id = ? AND id = ?",
                    arguments: [project, id, letter])
            }
        }
    }

    public func webhookDeadLetters(project: String, webhookID: String, retryRequestedOnly: Bool, limit: Int) async throws -> [WebhookDeadLetter] {
        try await db.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM webhook_dead_letters WHERE project_id = ? AND webhook_id = ?"
                    + (retryRequestedOnly ? " AND retry_requested = 1" : "") + " ORDER BY id LIMIT ?",
                arguments: [project, webhookID, limit]
            ).map {
                WebhookDeadLetter(
                    id: $0["id"], webhookID: $0["webhook_id"], auditID: $0["audit_id"],
                    payload: (try? JSONValue.parse($0["payload"] as String)) ?? .null, reason: $0["reason"],
                    createdAt: $0["created_at"], retryRequested: $0["retry_requested"])
            }
        }
    }

    public func webhookDeadLetterCount(project: String, webhookID: String) async throws -> Int {
        try await db.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM webhook_dead_letters WHERE project_id = ? AND webhook_id = ?",
                arguments: [project, webhookID]) ?? 0
        }
    }

    public func requestWebhookRetry(project: String, webhookID: String, ids: [Int64]?) async throws -> Int {
        try await db.write { db in
            let base = "UPDATE webhook_dead_letters SET retry_requested = 1 WHERE project_id = ? AND webhook_id = ?"
            guard let ids else {
                try db.execute(sql: base, arguments: [project, webhookID])
                return db.changesCount
            }
            var n = 0
            for id in ids {
                try db.execute(sql: base + " AND id = ?", arguments: [project, webhookID, id])
                n += db.changesCount
            }
            return n
        }
    }
}

/// The `kinds` column: the list joined by commas (kinds are identifiers, never contain one).
enum WebhookColumns {
    static func kinds(_ list: [String]) -> String { list.joined(separator: ",") }
    static func kinds(_ text: String) -> [String] { text.split(separator: ",").map(String.init) }
}
