import HTTPTypes
import Hummingbird
import VaneCore
import VaneStore

/// Cross-origin access for the endpoints browsers call with a client key (`/v1/initialize`,
/// `/v1/rgstr`, `/v1/log_event`, `/v1/sdk_exception`). Client keys are public, so any origin may
/// use them unless the key lists the origins it allows. Console and server-secret endpoints never
/// answer cross-origin: a page must not be able to read what a server secret returns.
enum CORSPolicy {
    /// Headers Statsig's JS client sends (they make its requests preflighted).
    static let allowedHeaders = [
        "authorization", "x-api-key", "if-none-match", "content-type", "content-encoding", "statsig-api-key", "statsig-client-time", "statsig-encoded",
        "statsig-event-count", "statsig-retry-count", "statsig-sdk-type", "statsig-sdk-version",
    ]
    static let maxOrigins = 50

    /// The `allowedOrigins` of a key being created: a list of `scheme://host[:port]`, only for client keys.
    static func origins(_ value: JSONValue?, kind: KeyKind) throws -> [String]? {
        guard let value, !value.isNull else { return nil }
        guard kind == .client else { throw APIError.badRequest("allowedOrigins applies to client keys only") }
        guard let list = value.arrayValue, list.count <= maxOrigins else {
            throw APIError.badRequest("allowedOrigins must be a list of at most \(maxOrigins) origins")
        }
        return try list.enumerated().map { i, v in
            guard let s = v.stringValue, let origin = normalized(s) else {
                throw APIError.badRequest("allowedOrigins[\(i)] must be an origin like https://app.example.com (scheme, host, optional port; no path)")
            }
            return origin
        }
    }

    static func normalized(_ s: String) -> String? {
        let lower = s.lowercased()
        guard lower.hasPrefix("https://") || lower.hasPrefix("http://"), s.count <= 253 + 16 else { return nil }
        let rest = lower.split(separator: "://", maxSplits: 1)[1]
        guard !rest.isEmpty, !rest.contains("/"), !rest.contains("?"), !rest.contains("#"), !rest.contains("@"),
              !rest.contains(" ")
        else { return nil }
        return lower
    }

    static func allows(_ key: APIKey?, origin: String) -> Bool {
        guard let list = key?.allowedOrigins else { return true }
        return list.contains(origin.lowercased())
    }
}

/// Answers preflights and adds `Access-Control-Allow-Origin` to the answers of one route group.
/// Placed before the key middleware, so errors (a wrong key, a bad body) are readable by the page too.
struct CORSMiddleware: RouterMiddleware {
    typealias Context = VaneRequestContext
    let resolver: KeyResolver

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], !origin.isEmpty else { return try await next(request, context) }
        if request.method == .options { return try await preflight(request, origin: origin, context: context) }
        let key = try? await keyOf(request, context)
        if let key, key.kind == .client, !CORSPolicy.allows(key, origin: origin) {
            return APIError(.forbidden, "origin \(origin) is not allowed for this client key").response
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let e as APIError {
            response = e.response
        }
        // A page may read what a client key returns, never what a server secret does.
        if let key, key.kind != .client { return response }
        Self.allow(&response.headers, origin: origin)
        return response
    }

    /// The key as any of Vane's browser-facing endpoints take it: Statsig's header or `?k=`, or
    /// OFREP's `Authorization: Bearer` / `X-API-Key`.
    private func keyOf(_ request: Request, _ context: Context) async throws -> APIKey? {
        let bearer = request.headers[.authorization].flatMap { h -> String? in
            h.lowercased().hasPrefix("bearer ") ? String(h.dropFirst(7)).trimmingCharacters(in: .whitespaces) : nil
        }
        guard let secret = request.header("statsig-api-key") ?? request.query("k") ?? bearer ?? request.header("x-api-key"),
              !secret.isEmpty
        else { return nil }
        return try await resolver.resolve(secret)
    }

    private func preflight(_ request: Request, origin: String, context: Context) async throws -> Response {
        // The JS client puts its key in the query string, so a preflight can be checked against it.
        let key = try await keyOf(request, context)
        guard key?.kind != .server, key?.kind != .console, CORSPolicy.allows(key, origin: origin) else {
            return APIError(.forbidden, "cross-origin requests from \(origin) are not allowed with this key").response
        }
        var headers = HTTPFields()
        Self.allow(&headers, origin: origin)
        headers[.accessControlAllowMethods] = "POST, OPTIONS"
        headers[.accessControlExposeHeaders] = "ETag"
        headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? CORSPolicy.allowedHeaders.joined(separator: ", ")
        headers[.accessControlMaxAge] = "86400"
        headers[.vary] = "Origin, Access-Control-Request-Headers"
        return Response(status: .noContent, headers: headers)
    }

    static func allow(_ headers: inout HTTPFields, origin: String) {
        headers[.accessControlAllowOrigin] = origin
        headers[.accessControlExposeHeaders] = "ETag"
        headers[.vary] = headers[.vary].map { $0.contains("Origin") ? $0 : $0 + ", Origin" } ?? "Origin"
    }
}
