import HTTPTypes
import Hummingbird
import Synchronization
import VaneStore

/// Resolves API keys, with a short-lived cache so a hot SDK endpoint does not hit the store per request.
final class KeyResolver: Sendable {
    /// Keys and console sessions: the two credentials a request can carry.
    let store: any ConfigRepository & AccountRepository
    let controls: AbuseControls
    private let cache = Mutex<[String: (key: APIKey?, until: Int64)]>([:])
    private let ttlMs: Int64 = 5_000

    init(store: any ConfigRepository & AccountRepository, controls: AbuseControls = AbuseControls()) {
        self.store = store
        self.controls = controls
    }

    /// The key a secret names, refusing addresses that have sent too many unknown keys lately.
    func authenticate(_ secret: String, from address: String) async throws -> APIKey? {
        let now = Clock.nowMs()
        if let wait = controls.wrongKeysByAddress.wait(address, now: now) {
            throw APIError.tooManyRequests("too many requests with unknown API keys from this address: try again later",
                                           retryAfter: retryAfterSeconds(wait))
        }
        guard let key = try await resolve(secret) else {
            controls.wrongKeysByAddress.recordFailure(address, now: now)
            return nil
        }
        return key
    }

    /// Applies the per-key request rate, when one is configured.
    func admit(_ key: APIKey) throws {
        guard let limiter = controls.perKey, let wait = limiter.take(key.id, now: Clock.nowMs()) else { return }
        throw APIError.tooManyRequests(
            "this key is over its rate limit of \(limiter.rate.formatted()) requests a second: retry later", retryAfter: retryAfterSeconds(wait))
    }

    func resolve(_ secret: String) async throws -> APIKey? {
        let now = Clock.nowMs()
        if let hit = cache.withLock({ $0[secret] }), hit.until > now { return hit.key }
        let key = try await store.key(matching: secret)
        cache.withLock { c in
            if c.count > 10_000 { c.removeAll() }
            c[secret] = (key, now + ttlMs)
        }
        return key
    }

    func forget() { cache.withLock { $0.removeAll() } }
}

/// Which keys an endpoint takes.
enum KeyRequirement: Sendable, Equatable {
    /// Server SDK endpoints: server secrets only.
    case server
    /// Client SDK endpoints (initialize, event logging): client keys or server secrets.
    case clientOrServer
    /// Console API: console keys (admin credentials), or a signed-in console session whose role
    /// the route's access allows.
    case console(ConsoleAccess)
}

/// The least role a signed-in user needs on a console route: one for reads, one for changes.
/// It is attached to the route group, so it is checked after the router has matched the route,
/// whatever spelling of the path reached it.
struct ConsoleAccess: Sendable, Equatable {
    var read: ConsoleRole = .viewer
    var write: ConsoleRole

    /// Configuration: viewers read, editors change.
    static let editors = ConsoleAccess(write: .editor)
    /// Keys, users, integrations and maintenance: viewers read, admins change.
    static let admins = ConsoleAccess(write: .admin)
    /// Actions that change nothing shared (testing a user against a gate, one's own password).
    static let everyone = ConsoleAccess(write: .viewer)

    func needed(for method: HTTPRequest.Method) -> ConsoleRole {
        method == .get || method == .head ? read : write
    }

    func check(_ session: ConsoleSession, method: HTTPRequest.Method) throws {
        let needed = needed(for: method)
        guard session.user.role >= needed else {
            throw APIError(.forbidden, "your role (\(session.user.role.rawValue)) cannot do this; it needs \(needed.rawValue)")
        }
    }
}

extension Router where Context == VaneRequestContext {
    /// A group of console API routes that all need `access`.
    func consoleAPI(_ resolver: KeyResolver, _ access: ConsoleAccess, _ path: RouterPath = "console/v1") -> RouterGroup<Context> {
        group(path).add(middleware: KeyAuthMiddleware(resolver: resolver, requirement: .console(access)))
    }
}

struct KeyAuthMiddleware: RouterMiddleware {
    typealias Context = VaneRequestContext
    let resolver: KeyResolver
    let requirement: KeyRequirement

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        // The web console calls the same API with its session cookie and CSRF token instead of a key.
        if case .console(let access) = requirement, request.header("statsig-api-key") == nil, request.query("k") == nil,
           let session = try await WebAuth(store: resolver.store).session(request) {
            if request.method != .get && request.method != .head
                && !WebAuth.csrfMatches(request.header("x-csrf-token"), session) {
                throw APIError(.forbidden, "missing or wrong CSRF token: send the page's token in the X-CSRF-Token header")
            }
            try access.check(session, method: request.method)
            context.session = session
            return try await next(request, context)
        }
        context.key = try await authenticate(request, context: context, pathKey: nil)
        return try await next(request, context)
    }

    /// Keys come from the `STATSIG-API-KEY` header, the `k` query parameter (new JS client) or the path.
    func authenticate(_ request: Request, context: VaneRequestContext, pathKey: String?) async throws -> APIKey {
        guard let secret = pathKey ?? request.header("statsig-api-key") ?? request.query("k"), !secret.isEmpty else {
            throw APIError.unauthorized("missing API key: send it in the STATSIG-API-KEY header")
        }
        guard let key = try await resolver.authenticate(secret, from: context.remoteAddress) else {
            throw APIError.unauthorized("invalid API key")
        }
        if key.kind != .console { try resolver.admit(key) }
        switch (requirement, key.kind) {
        case (.server, .server), (.clientOrServer, .server), (.clientOrServer, .client), (.console, .console):
            return key
        case (.server, _):
            throw APIError.unauthorized("this endpoint needs a server secret key (secret-…); a \(key.kind.rawValue) key was sent")
        case (.clientOrServer, _):
            throw APIError.unauthorized("this endpoint needs a client or server key; a console key was sent")
        case (.console, _):
            throw APIError.unauthorized("the console API needs a console key (console-…); a \(key.kind.rawValue) key was sent")
        }
    }
}
