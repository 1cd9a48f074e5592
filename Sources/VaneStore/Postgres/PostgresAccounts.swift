import PostgresNIO
import VaneCore

extension PostgresStore /* AccountRepository */ {
    public func userCount() async throws -> Int {
        throw Self.notYet(#function)
    }

    public func users() async throws -> [ConsoleUser] {
        throw Self.notYet(#function)
    }

    public func user(email: String) async throws -> ConsoleUser? {
        throw Self.notYet(#function)
    }

    public func createUser(_ user: ConsoleUser, audit: AuditEntry?) async throws {
        throw Self.notYet(#function)
    }

    public func updateUser(_ user: ConsoleUser, audit: AuditEntry?) async throws {
        throw Self.notYet(#function)
    }

    public func createSession(tokenHash: String, userID: String, csrfToken: String, now: Int64, expiresAt: Int64) async throws {
        throw Self.notYet(#function)
    }

    public func session(tokenHash: String, now: Int64) async throws -> ConsoleSession? {
        throw Self.notYet(#function)
    }

    public func deleteSession(tokenHash: String) async throws {
        throw Self.notYet(#function)
    }

    public func deleteSessions(userID: String) async throws {
        throw Self.notYet(#function)
    }

}
