import PostgresNIO
import VaneCore

extension PostgresStore /* OutboundRepository */ {
    /// An audit_log row as an entry, as `SQLiteStore.auditEntry` reads one.
    static func auditFromRow(_ row: PGRow) throws -> AuditEntry {
        var e = AuditEntry(
            time: try row.get("at", as: Int64.self), actor: try row.get("actor", as: String.self),
            action: try row.get("action", as: String.self), kind: try row.get("kind", as: String.self),
            name: try row.get("name", as: String.self), environment: try row.get("environment", as: String?.self),
            before: Self.json(try row.get("before_json", as: String?.self)),
            after: Self.json(try row.get("after_json", as: String?.self)),
            description: try row.get("description", as: String.self))
        e.id = try row.get("id", as: Int64.self)
        return e
    }

    public func auditEntries(project: String, afterID: Int64, limit: Int) async throws -> [AuditEntry] {
        try await db.read { c in
            try await c.fetchAll("SELECT * FROM audit_log WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?", [project, afterID, limit])
                .map(Self.auditFromRow)
        }
    }

    public func lastIDs(project: String) async throws -> (event: Int64, audit: Int64) {
        let ids = try await db.read { c in
            (try await c.fetchValue("SELECT MAX(id) FROM events WHERE project_id = ?", [project], as: Int64.self) ?? 0,
             try await c.fetchValue("SELECT MAX(id) FROM audit_log WHERE project_id = ?", [project], as: Int64.self) ?? 0)
        }
        return (event: ids.0, audit: ids.1)
    }

    public func outboundState(project: String) async throws -> OutboundState {
        try await db.read { c in
            var s = OutboundState()
            if let row = try await c.fetchOne("SELECT * FROM outbound_state WHERE project_id = ?", [project]) {
                s.eventCursor = try row.get("event_cursor", as: Int64.self)
                s.auditCursor = try row.get("audit_cursor", as: Int64.self)
                s.delivered = try row.get("delivered", as: Int.self)
                s.requests = try row.get("requests", as: Int.self)
                s.lastSuccess = try row.get("last_success", as: Int64?.self)
                s.lastError = try row.get("last_error", as: String?.self)
                s.lastErrorTime = try row.get("last_error_time", as: Int64?.self)
            }
            return s
        }
    }

    public func saveOutbound(project: String, state: OutboundState, newDeadLetters: [DeadLetter], resolvedDeadLetters: [Int64]) async throws {
        try await db.write { c in
            try await c.execute(
                """
                INSERT INTO outbound_state (project_id, event_cursor, audit_cursor, delivered, requests, last_success, last_error, last_error_time)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (project_id) DO UPDATE SET event_cursor = excluded.event_cursor, audit_cursor = excluded.audit_cursor,
                    delivered = excluded.delivered, requests = excluded.requests, last_success = excluded.last_success,
                    last_error = excluded.last_error, last_error_time = excluded.last_error_time
                """,
                [project, state.eventCursor, state.auditCursor, state.delivered, state.requests, state.lastSuccess,
                 state.lastError, state.lastErrorTime])
            for d in newDeadLetters {
                try await c.execute(
                    "INSERT INTO dead_letters (project_id, message, reason, created_at, retry_requested) VALUES (?, ?, ?, ?, false)",
                    [project, d.message.serialized(), d.reason, d.createdAt])
            }
            for id in resolvedDeadLetters {
                try await c.execute("DELETE FROM dead_letters WHERE project_id = ? AND id = ?", [project, id])
            }
        }
    }

    public func deadLetters(project: String, retryRequestedOnly: Bool, limit: Int) async throws -> [DeadLetter] {
        try await db.read { c in
            try await c.fetchAll(
                "SELECT * FROM dead_letters WHERE project_id = ?" + (retryRequestedOnly ? " AND retry_requested" : "")
                    + " ORDER BY id LIMIT ?",
                [project, limit]
            ).map {
                DeadLetter(
                    id: try $0.get("id", as: Int64.self),
                    message: (try? JSONValue.parse(try $0.get("message", as: String.self))) ?? .null,
                    reason: try $0.get("reason", as: String.self), createdAt: try $0.get("created_at", as: Int64.self),
                    retryRequested: try $0.get("retry_requested", as: Bool.self))
            }
        }
    }

    public func deadLetterCounts(project: String) async throws -> [String: Int] {
        try await db.read { c in
            var out: [String: Int] = [:]
            for row in try await c.fetchAll(
                "SELECT reason, COUNT(*) AS n FROM dead_letters WHERE project_id = ? GROUP BY reason", [project])
            {
                out[try row.get("reason", as: String.self)] = try row.get("n", as: Int.self)
            }
            return out
        }
    }

    /// Counts every row it marks, already marked or not (as SQLite's change count does).
    public func requestDeadLetterRetry(project: String, ids: [Int64]?) async throws -> Int {
        try await db.write { c in
            if let ids {
                var n = 0
                for id in ids {
                    n += try await c.execute(
                        "UPDATE dead_letters SET retry_requested = true WHERE project_id = ? AND id = ? RETURNING 1", [project, id])
                }
                return n
            }
            return try await c.execute("UPDATE dead_letters SET retry_requested = true WHERE project_id = ? RETURNING 1", [project])
        }
    }

}
