import Hummingbird
import Synchronization
import VaneStore

/// Resolves API keys, with a short-lived cache so a hot SDK endpoint does not hit the store per request.
final class KeyResolver: Sendable {
    let store: any VaneStore
    private let cache = Mutex<[String: (key: APIKey?, until: Int64)]>([:])
    private let ttlMs: Int64 = 5_000

    init(store: any VaneStore) { self.store = store }

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
enum KeyRequirement {
    /// Server SDK endpoints: server secrets only.
    case server
    /// Client SDK endpoints (initialize, event logging): client keys or server secrets.
    case clientOrServer
    /// Console API: console keys only.
    case console
}

struct KeyAuthMiddleware: RouterMiddleware {
    typealias Context = VaneRequestContext
    let resolver: KeyResolver
    let requirement: KeyRequirement

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        // The web console calls the same API with its session cookie and CSRF token instead of a key.
        if requirement == .console, request.header("statsig-api-key") == nil, request.query("k") == nil,
           let session = try await WebAuth(store: resolver.store).session(request) {
            if request.method != .get && request.method != .head
                && !WebAuth.csrfMatches(request.header("x-csrf-token"), session) {
                throw APIError(.forbidden, "missing or wrong CSRF token: send the page's token in the X-CSRF-Token header")
            }
            try WebAuth.check(session, method: request.method, path: request.uri.path)
            context.session = session
            return try await next(request, context)
        }
        context.key = try await authenticate(request, pathKey: nil)
        return try await next(request, context)
    }

    /// Keys come from the `STATSIG-API-KEY` header, the `k` query parameter (new JS client) or the path.
    func authenticate(_ request: Request, pathKey: String?) async throws -> APIKey {
        guard let secret = pathKey ?? request.header("statsig-api-key") ?? request.query("k"), !secret.isEmpty else {
            throw APIError.unauthorized("missing API key: send it in the STATSIG-API-KEY header")
        }
        guard let key = try await resolver.resolve(secret) else {
            throw APIError.unauthorized("invalid API key")
        }
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
