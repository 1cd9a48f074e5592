import PostgresNIO
import VaneCore

extension PostgresStore {
    /// Whether `error` is a unique violation (SQLSTATE 23505), of `constraint` when given.
    static func isUniqueViolation(_ error: any Error, constraint: String? = nil) -> Bool {
        guard let e = error as? PSQLError, e.serverInfo?[.sqlState] == "23505" else { return false }
        return constraint == nil || e.serverInfo?[.constraintName] == constraint
    }
}

extension PostgresStore /* AccountRepository */ {
    static let userEmailIndex = "console_users_by_email"

    /// A console_users row (or a row with its columns) as a user, as `SQLiteStore.consoleUser` reads one.
    static func userFromRow(_ row: PGRow) throws -> ConsoleUser {
        ConsoleUser(
            id: try row.get("id", as: String.self), email: try row.get("email", as: String.self),
            name: try row.get("name", as: String.self),
            role: ConsoleRole(rawValue: try row.get("role", as: String.self)) ?? .viewer,
            passwordHash: try row.get("password_hash", as: String.self), createdAt: try row.get("created_at", as: Int64.self),
            disabledAt: try row.get("disabled_at", as: Int64?.self))
    }

    public func userCount() async throws -> Int {
        try await db.read { c in try await c.fetchValue("SELECT COUNT(*) FROM console_users", as: Int.self) ?? 0 }
    }

    /// Ordered by email ignoring case, as SQLite's `COLLATE NOCASE` column orders them.
    public func users() async throws -> [ConsoleUser] {
        try await db.read { c in
            try await c.fetchAll("SELECT * FROM console_users ORDER BY lower(email) COLLATE \"C\", email COLLATE \"C\"")
                .map(Self.userFromRow)
        }
    }

    /// Emails match ignoring case (the unique index is on `lower(email)`).
    public func user(email: String) async throws -> ConsoleUser? {
        try await db.read { c in
            try await c.fetchOne("SELECT * FROM console_users WHERE lower(email) = lower(?)", [email]).map(Self.userFromRow)
        }
    }

    public func createUser(_ user: ConsoleUser, audit: AuditEntry?) async throws {
        let taken = StoreError.conflict("a user with email '\(user.email)' already exists")
        do {
            try await db.write { c in
                if try await c.fetchValue("SELECT COUNT(*) FROM console_users WHERE lower(email) = lower(?)", [user.email], as: Int.self)
                    ?? 0 > 0
                {
                    throw taken
                }
                try await c.execute(
                    """
                    INSERT INTO console_users (id, email, name, role, password_hash, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, [user.id, user.email, user.name, user.role.rawValue, user.passwordHash, user.createdAt, user.disabledAt])
                if let audit { try await Self.appendAudit(c, project: "default", audit) }
            }
        } catch where Self.isUniqueViolation(error, constraint: Self.userEmailIndex) {
            // Created by a concurrent transaction since the check.
            throw taken
        }
    }

    public func updateUser(_ user: ConsoleUser, audit: AuditEntry?) async throws {
        do {
            try await db.write { c in
                let updated = try await c.execute(
                    """
                    UPDATE console_users SET email = ?, name = ?, role = ?, password_hash = ?, disabled_at = ? WHERE id = ? RETURNING 1
                    """, [user.email, user.name, user.role.rawValue, user.passwordHash, user.disabledAt, user.id])
                guard updated > 0 else { throw StoreError.notFound("no user with id '\(user.id)'") }
                if user.disabledAt != nil {
                    try await c.execute("DELETE FROM console_sessions WHERE user_id = ?", [user.id])
                }
                if let audit { try await Self.appendAudit(c, project: "default", audit) }
            }
        } catch where Self.isUniqueViolation(error, constraint: Self.userEmailIndex) {
            // SQLite fails here too (its UNIQUE constraint), with a database error rather than a conflict.
            throw StoreError.conflict("a user with email '\(user.email)' already exists")
        }
    }

    public func createSession(tokenHash: String, userID: String, csrfToken: String, now: Int64, expiresAt: Int64) async throws {
        try await db.write { c in
            try await c.execute("DELETE FROM console_sessions WHERE expires_at <= ?", [now])
            try await c.execute(
                """
                INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
                """, [tokenHash, userID, csrfToken, now, expiresAt])
        }
    }

    public func session(tokenHash: String, now: Int64) async throws -> ConsoleSession? {
        try await db.read { c in
            guard let row = try await c.fetchOne(
                """
                SELECT s.csrf_token, s.expires_at, u.* FROM console_sessions s JOIN console_users u ON u.id = s.user_id
                WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL
                """, [tokenHash, now])
            else { return nil }
            return ConsoleSession(
                user: try Self.userFromRow(row), csrfToken: try row.get("csrf_token", as: String.self),
                expiresAt: try row.get("expires_at", as: Int64.self))
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await db.write { c in try await c.execute("DELETE FROM console_sessions WHERE token_hash = ?", [tokenHash]) }
    }

    public func deleteSessions(userID: String) async throws {
        try await db.write { c in try await c.execute("DELETE FROM console_sessions WHERE user_id = ?", [userID]) }
    }

}
