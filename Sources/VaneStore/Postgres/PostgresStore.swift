import Foundation
import Logging
import PostgresNIO
import VaneCore

/// The store for many nodes: one PostgreSQL database that any number of `vane serve` processes
/// share. The repositories are implemented in the `Postgres*.swift` files beside this one, with the
/// same SQL shape as the SQLite store (`?` placeholders; see `PGConnection`).
public final class PostgresStore: VaneStore {
    let db: PostgresDatabase
    static let defaultEnvironments = ["development", "staging", "production"]

    /// Transaction-scoped advisory locks that make log ids commit-ordered (docs/event-log.md):
    /// every transaction that appends to the events table or the audit log takes its lock first.
    static let eventLogLock: Int64 = 0x7661_6e65_0010
    static let auditLogLock: Int64 = 0x7661_6e65_0011

    /// Connects, checks the database answers (a clear error naming the URL without its password
    /// when not), and applies migrations once, whatever the number of nodes starting together.
    public static func open(url: DatabaseURL, logger: Logger = Logger(label: "vane.postgres")) async throws -> PostgresStore {
        let db = try PostgresDatabase(url: url, logger: logger)
        do {
            try await db.ping()
            try await PostgresMigrations.migrate(db)
        } catch {
            db.close()
            if error is PostgresUnreachable || error is PostgresMigrations.NewerSchema { throw error }
            throw PostgresUnreachable(url: url, reason: PostgresDatabase.describe(error))
        }
        return PostgresStore(db: db)
    }

    init(db: PostgresDatabase) {
        self.db = db
    }

    public func close() {
        db.close()
    }

    public var isShared: Bool { true }

    public func releaseMemory() {}

    // MARK: - Shared by the repositories

    static func appendAudit(_ c: PGConnection, project: String, _ a: AuditEntry) async throws {
        try await c.execute("SELECT pg_advisory_xact_lock(?)", [auditLogLock])
        try await c.execute(
            """
            INSERT INTO audit_log (project_id, at, actor, action, kind, name, environment, before_json, after_json, description)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [project, a.time, a.actor, a.action, a.kind, a.name, a.environment, a.before?.serialized(),
             a.after?.serialized(), a.description])
    }

    static func bumpConfigTime(_ c: PGConnection, project: String, now: Int64) async throws {
        try await c.execute("UPDATE projects SET config_time = GREATEST(?, config_time + 1) WHERE id = ?", [now, project])
    }

    static func json(_ text: String?) -> JSONValue? {
        text.flatMap { try? JSONValue.parse($0) }
    }

    /// A method not written yet for PostgreSQL.
    static func notYet(_ function: String) -> StoreError {
        .invalid("\(function) is not available on PostgreSQL yet")
    }
}
