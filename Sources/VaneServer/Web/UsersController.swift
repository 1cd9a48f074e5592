import Hummingbird
import VaneCore
import VaneStore

/// Console users over the API: admins list, change roles, disable and reset passwords; every
/// signed-in user changes their own password. At least one enabled admin always remains.
struct UsersController: Sendable {
    let store: any VaneStore
    let body: BodyReader
    let resolver: KeyResolver

    func register(on router: Router<VaneRequestContext>) {
        let admin = router.consoleAPI(resolver, .admins)
        admin.get("users") { _, _ in envelope("Users listed successfully.", .array(try await store.users().map(Self.json))) }
        admin.patch("users/{id}") { r, c in try await update(r, c) }
        router.consoleAPI(resolver, .everyone).post("account/password") { r, c in try await changeOwnPassword(r, c) }
    }

    static func json(_ u: ConsoleUser) -> JSONValue {
        ["id": .string(u.id), "email": .string(u.email), "name": .string(u.name), "role": .string(u.role.rawValue),
         "createdTime": .int(u.createdAt), "disabled": .bool(u.disabledAt != nil)]
    }

    func update(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let id = try pathParameter(c, "id")
        let users = try await store.users()
        guard var user = users.first(where: { $0.id == id || $0.email.lowercased() == id.lowercased() }) else {
            throw APIError.notFound("no user '\(id)'")
        }
        let before = user
        let b = try await body.object(r)
        if let v = b["role"] {
            guard let name = v.stringValue, let role = ConsoleRole(rawValue: name) else {
                throw APIError.badRequest("role must be admin, editor or viewer")
            }
            user.role = role
        }
        if let v = b["disabled"] {
            guard let disabled = v.boolValue else { throw APIError.badRequest("disabled must be true or false") }
            user.disabledAt = disabled ? (user.disabledAt ?? Clock.nowMs()) : nil
        }
        if let v = b["password"] {
            guard let password = v.stringValue else { throw APIError.badRequest("password must be a string") }
            if let p = WebAuth.passwordProblem(password) { throw APIError.badRequest("password \(p)") }
            user.passwordHash = WebAuth.hashPassword(password)
        }
        let adminsLeft = users.filter { $0.id != user.id && $0.role == .admin && $0.disabledAt == nil }.count
            + (user.role == .admin && user.disabledAt == nil ? 1 : 0)
        guard adminsLeft > 0 else { throw APIError(.conflict, "this would leave no enabled admin") }
        var changes: [String] = []
        if before.role != user.role { changes.append("role \(before.role.rawValue) → \(user.role.rawValue)") }
        if (before.disabledAt == nil) != (user.disabledAt == nil) { changes.append(user.disabledAt == nil ? "enabled" : "disabled") }
        if before.passwordHash != user.passwordHash { changes.append("password reset") }
        try await store.updateUser(user, audit: AuditEntry(
            time: Clock.nowMs(), actor: actor(c), action: "updated", kind: "user", name: user.email,
            before: Self.json(before), after: Self.json(user),
            description: "User \(user.email): \(changes.isEmpty ? "no change" : changes.joined(separator: ", "))"))
        if before.passwordHash != user.passwordHash { try await store.deleteSessions(userID: user.id) }
        return envelope("User updated.", Self.json(user))
    }

    func changeOwnPassword(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        guard let s = c.session else { throw APIError.badRequest("sign in to the console to change your password") }
        let b = try await body.object(r)
        guard let current = b["currentPassword"]?.stringValue, WebAuth.verify(current, hash: s.user.passwordHash) else {
            throw APIError.badRequest("currentPassword is wrong")
        }
        guard let new = b["newPassword"]?.stringValue else { throw APIError.badRequest("newPassword is required") }
        if let p = WebAuth.passwordProblem(new) { throw APIError.badRequest("newPassword \(p)") }
        var user = s.user
        user.passwordHash = WebAuth.hashPassword(new)
        try await store.updateUser(user, audit: AuditEntry(
            time: Clock.nowMs(), actor: user.email, action: "updated", kind: "user", name: user.email,
            description: "User \(user.email) changed their password"))
        return envelope("Password changed.", .null)
    }
}
