import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VaneCore
import VaneServer
import VaneStore

/// Every console route the router knows, called by a viewer, an editor and an admin session, in
/// several spellings of its path: a role below the route's need never reaches the handler,
/// whichever spelling it uses; a role at or above it is never refused.
@Suite("Console role matrix")
struct RoleMatrixTests {
    /// The policy, written out independently of the code that enforces it.
    static func needed(_ method: HTTPRequest.Method, _ path: String) -> ConsoleRole {
        if method == .get || method == .head { return .viewer }
        if ["/console/login", "/console/setup", "/console/logout"].contains(path) { return .viewer }
        let rest = path.hasPrefix("/console/v1/") ? String(path.dropFirst("/console/v1/".count)) : path
        if method == .post, rest.hasPrefix("gates/"), rest.hasSuffix("/evaluate") { return .viewer }
        if rest == "account/password" { return .viewer }
        let adminAreas = ["keys", "integrations", "users", "pulse", "webhooks"]
        if adminAreas.contains(where: { rest == $0 || rest.hasPrefix($0 + "/") }) { return .admin }
        if path == "/console/settings/users" { return .admin }
        return .editor
    }

    /// Ways of writing the same path that a lenient router may still match.
    static func spellings(_ path: String) -> [String] {
        let parts = path.split(separator: "/").map(String.init)
        var out = [path, "/" + path, path + "/", path.replacingOccurrences(of: "/", with: "//")]
        for i in 1..<parts.count {
            out.append("/" + parts[..<i].joined(separator: "/") + "//" + parts[i...].joined(separator: "/"))
        }
        out.append(path.replacingOccurrences(of: "/console/", with: "/Console/"))
        if let last = parts.last, let first = last.first {
            let encoded = String(format: "%%%02X", first.asciiValue ?? 0x61) + last.dropFirst()
            out.append("/" + (parts.dropLast() + [encoded]).joined(separator: "/"))
        }
        return out
    }

    struct Session {
        let role: ConsoleRole
        let headers: [String: String]
    }

    static func session(_ store: SQLiteStore, _ role: ConsoleRole) async throws -> Session {
        let id = "user_\(role.rawValue)"
        try await store.createUser(ConsoleUser(
            id: id, email: "\(role.rawValue)@example.com", name: role.rawValue, role: role,
            passwordHash: "unused", createdAt: 1), audit: nil)
        let token = "token-for-\(role.rawValue)-0123456789"
        let csrf = "csrf-for-\(role.rawValue)-0123456789"
        try await store.createSession(
            tokenHash: StatsigHash.sha256Hex(token), userID: id, csrfToken: csrf, now: Int64(Date().timeIntervalSince1970 * 1000), expiresAt: Int64.max / 2)
        return Session(role: role, headers: ["Cookie": "vane_session=\(token)", "X-CSRF-Token": csrf])
    }

    @Test func everyConsoleRouteEnforcesItsRoleWhateverTheSpelling() async throws {
        let store = try SQLiteStore()
        _ = try await store.bootstrap(preset: PresetKeys(server: Keys.server, client: Keys.client, console: Keys.console), now: 1)
        let sessions = [
            try await Self.session(store, .viewer), try await Self.session(store, .editor), try await Self.session(store, .admin),
        ]
        var config = AppConfig()
        config.maxBodyBytes = 1024 * 1024
        var logger = Logger(label: "vane-test")
        logger.logLevel = .critical
        let router = buildRouter(VaneServices(store: store), config: config)
        let routes = router.routes
            .map { (method: $0.method, path: "/" + $0.path.description.split(separator: "/").joined(separator: "/")) }
            .filter { $0.path.hasPrefix("/console/v1/") || ($0.path.hasPrefix("/console/") && $0.method != .get) }
            // The live stream never ends; its role is a read, which every session has.
            .filter { !$0.path.hasSuffix("/events/stream") }
        #expect(routes.count > 60, "the router should list every console route, found \(routes.count)")
        let app = Application(router: router, logger: logger)

        try await app.test(.router) { client in
            var checked = 0
            for route in routes {
                let concrete = route.path.replacingOccurrences(of: "{name}", with: "no_such_thing")
                    .replacingOccurrences(of: "{id}", with: "no_such_id")
                let needed = Self.needed(route.method, route.path)
                for s in sessions {
                    if s.role < needed {
                        for spelling in Self.spellings(concrete) {
                            let reply = try await client.call(route.method, spelling, json: [:], headers: s.headers)
                            #expect([.forbidden, .notFound, .methodNotAllowed, .seeOther].contains(reply.status),
                                    "\(s.role) reached \(route.method) \(spelling) (route \(route.path)): \(reply.status) \(reply.text)")
                            if spelling == concrete {
                                #expect(reply.status == .forbidden || route.path.hasPrefix("/console/settings"),
                                        "\(s.role) on \(route.method) \(spelling): \(reply.status) \(reply.text)")
                            }
                            checked += 1
                        }
                    } else if route.method != .get {
                        // Allowed roles pass the role check (the handler may still refuse the empty body).
                        let reply = try await client.call(route.method, concrete, json: [:], headers: s.headers)
                        #expect(reply.status != .forbidden || !reply.text.contains("your role"),
                                "\(s.role) refused on \(route.method) \(concrete): \(reply.text)")
                    }
                }
            }
            #expect(checked > 500)
            // The lenient spellings are live: they reach the handler for a role that may use it.
            let admin = sessions[2]
            for spelling in ["/console//v1/keys", "//console/v1/keys", "/console/v1//keys", "/console/v1/keys/"] {
                let reply = try await client.call(.post, spelling, json: [:], headers: admin.headers)
                #expect(reply.status == .badRequest && reply.text.contains("kind is required"), "\(spelling): \(reply.text)")
            }
        }
    }

    @Test func policySpotChecks() {
        #expect(Self.needed(.post, "/console/v1/keys") == .admin)
        #expect(Self.needed(.put, "/console/v1/integrations/segment/outbound") == .admin)
        #expect(Self.needed(.post, "/console/v1/gates/{name}/evaluate") == .viewer)
        #expect(Self.needed(.post, "/console/v1/gates") == .editor)
        #expect(Self.spellings("/console/v1/keys").contains("/console//v1/keys"))
        #expect(Self.spellings("/console/v1/keys").contains("/console/v1/%6Beys"))
    }
}
