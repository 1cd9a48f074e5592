import GRDB
import VaneCore

extension SQLiteStore {
    public func userCount() async throws -> Int {
        try await db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM console_users") ?? 0 }
    }

    public func users() async throws -> [ConsoleUser] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM console_users ORDER BY email").map(Self.consoleUser)
        }
    }

    public func user(email: String) async throws -> ConsoleUser? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM console_users WHERE email = ?", arguments: [email]).map(Self.consoleUser)
        }
    }

    public func createUser(_ user: ConsoleUser, audit: AuditEntry?) async throws {
        try await db.write { db in
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM console_users WHERE email = ?", arguments: [user.email]) ?? 0 > 0 {
                throw StoreError.conflict("a user with email '\(user.email)' already exists")
            }
            try db.execute(sql: """
                INSERT INTO console_users (id, email, name, role, password_hash, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [user.id, user.email, user.name, user.role.rawValue, user.passwordHash, user.createdAt, user.disabledAt])
            if let audit { try Self.appendAudit(db, project: "default", audit) }
        }
    }

    public func updateUser(_ user: ConsoleUser, audit: AuditEntry?) async throws {
        try await db.write { db in
            try db.execute(sql: """
                UPDATE console_users SET email = ?, name = ?, role = ?, password_hash = ?, disabled_at = ? WHERE id = ?
                """, arguments: [user.email, user.name, user.role.rawValue, user.passwordHash, user.disabledAt, user.id])
            guard db.changesCount > 0 else { throw StoreError.notFound("no user with id '\(user.id)'") }
            if user.disabledAt != nil {
                try db.execute(sql: "DELETE FROM console_sessions WHERE user_id = ?", arguments: [user.id])
            }
            if let audit { try Self.appendAudit(db, project: "default", audit) }
        }
    }

    public func createSession(tokenHash: String, userID: String, csrfToken: String, now: Int64, expiresAt: Int64) async throws {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM console_sessions WHERE expires_at <= ?", arguments: [now])
            try db.execute(sql: """
                INSERT INTO console_sessions (token_hash, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
                """, arguments: [tokenHash, userID, csrfToken, now, expiresAt])
        }
    }

    public func session(tokenHash: String, now: Int64) async throws -> ConsoleSession? {
        try await db.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT s.csrf_token, s.expires_at, u.* FROM console_sessions s JOIN console_users u ON u.id = s.user_id
                WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL
                """, arguments: [tokenHash, now]) else { return nil }
            return ConsoleSession(user: Self.consoleUser(row), csrfToken: row["csrf_token"], expiresAt: row["expires_at"])
        }
    }

    public func deleteSession(tokenHash: String) async throws {
        try await db.write { db in try db.execute(sql: "DELETE FROM console_sessions WHERE token_hash = ?", arguments: [tokenHash]) }
    }

    public func deleteSessions(userID: String) async throws {
        try await db.write { db in try db.execute(sql: "DELETE FROM console_sessions WHERE user_id = ?", arguments: [userID]) }
    }

    static func consoleUser(_ row: Row) -> ConsoleUser {
        ConsoleUser(
            id: row["id"], email: row["email"], name: row["name"], role: ConsoleRole(rawValue: row["role"]) ?? .viewer,
            passwordHash: row["password_hash"], createdAt: row["created_at"], disabledAt: row["disabled_at"])
    }
}
