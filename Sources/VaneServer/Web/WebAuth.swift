import Foundation
import Hummingbird
import HummingbirdBcrypt
import VaneCore
import VaneStore

/// Console accounts: bcrypt password hashes, server-side sessions found by the SHA-256 of a
/// random cookie token, and a per-session CSRF token every state-changing request must carry.
struct WebAuth: Sendable {
    let store: any AccountRepository
    /// Set when the console is served over HTTPS (from `--public-url`), so cookies are `Secure`.
    var secureCookies = false
    static let cookieName = "vane_session"
    static let sessionLifetimeMs: Int64 = 14 * 86_400_000
    static let minimumPasswordLength = 10
    /// bcrypt cost; each step doubles the work (about 60 ms at 10 on this class of machine).
    static let bcryptCost: UInt8 = 10

    static func hashPassword(_ password: String) -> String { Bcrypt.hash(password, cost: bcryptCost) }

    /// A hash of no one's password, checked when an email is unknown so that sign-in takes as long.
    static let decoyHash = Bcrypt.hash(StatsigHash.randomToken(length: 24), cost: bcryptCost)

    static func verify(_ password: String, hash: String) -> Bool { Bcrypt.verify(password, hash: hash) }

    /// Why a password is refused, or nil.
    static func passwordProblem(_ password: String) -> String? {
        if password.count < minimumPasswordLength { return "must be at least \(minimumPasswordLength) characters" }
        if password.utf8.count > 72 { return "must be at most 72 bytes (bcrypt ignores the rest)" }
        return nil
    }

    static func emailProblem(_ email: String) -> String? {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !email.contains(" "), email.count <= 254 else {
            return "must be an email address like ada@example.com"
        }
        return nil
    }

    /// Creates a user after validating the fields; the error names the field.
    func createUser(email: String, name: String, password: String, role: ConsoleRole, actor: String) async throws -> ConsoleUser {
        let email = email.trimmingCharacters(in: .whitespaces)
        if let p = Self.emailProblem(email) { throw FieldError(field: "email", message: "Email \(p)") }
        if let p = Self.passwordProblem(password) { throw FieldError(field: "password", message: "Password \(p)") }
        let user = ConsoleUser(
            id: "user_" + StatsigHash.randomToken(length: 16), email: email,
            name: name.trimmingCharacters(in: .whitespaces).isEmpty ? String(email.split(separator: "@")[0]) : name,
            role: role, passwordHash: Self.hashPassword(password), createdAt: Clock.nowMs())
        do {
            try await store.createUser(user, audit: AuditEntry(
                time: user.createdAt, actor: actor, action: "created", kind: "user", name: user.email,
                after: ["email": .string(user.email), "role": .string(role.rawValue)],
                description: "User \(user.email) created with role \(role.rawValue)"))
        } catch let e as StoreError where e.code == .conflict {
            throw FieldError(field: "email", message: "A user with this email already exists")
        }
        return user
    }

    /// Starts a session; returns the cookie to set.
    func signIn(_ user: ConsoleUser) async throws -> Cookie {
        let token = StatsigHash.randomToken(length: 40)
        let now = Clock.nowMs()
        try await store.createSession(
            tokenHash: StatsigHash.sha256Hex(token), userID: user.id, csrfToken: StatsigHash.randomToken(length: 32),
            now: now, expiresAt: now + Self.sessionLifetimeMs)
        return Cookie(name: Self.cookieName, value: token, maxAge: Int(Self.sessionLifetimeMs / 1000), path: "/",
                      secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    func signOut(_ request: Request) async throws -> Cookie {
        if let token = request.cookies[Self.cookieName]?.value {
            try await store.deleteSession(tokenHash: StatsigHash.sha256Hex(token))
        }
        return Cookie(name: Self.cookieName, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    func session(_ request: Request) async throws -> ConsoleSession? {
        guard let token = request.cookies[Self.cookieName]?.value, !token.isEmpty else { return nil }
        return try await store.session(tokenHash: StatsigHash.sha256Hex(token), now: Clock.nowMs())
    }

    /// Constant-time comparison of the CSRF token a request carries with the session's.
    static func csrfMatches(_ sent: String?, _ session: ConsoleSession) -> Bool {
        guard let sent else { return false }
        let a = Array(sent.utf8), b = Array(session.csrfToken.utf8)
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

/// A validation problem tied to one form field, shown beside it.
struct FieldError: Error, CustomStringConvertible {
    var field: String
    var message: String
    var description: String { message }
}
