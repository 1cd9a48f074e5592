import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization
import VaneCore
import VaneStore

/// The OpenFeature Remote Evaluation Protocol: `POST /ofrep/v1/evaluate/flags/{key}` (one flag,
/// for server providers; logs the exposure the Statsig SDK would) and `POST /ofrep/v1/evaluate/flags`
/// (every flag, for client providers that cache them; no exposures, as `/v1/initialize` logs none;
/// `ETag`/`If-None-Match` → 304). The key is `Authorization: Bearer <key>` or `X-API-Key`, a client
/// key or a server secret. Flags, reasons and the context mapping: `OFREPEvaluator`, `OFREPContext`.
struct OFREPController: Sendable {
    let store: any VaneStore
    let cache: ConfigCache
    let ingest: EventIngest
    let body: BodyReader
    let resolver: KeyResolver
    let idTypes: OFREPIDTypes

    init(store: any VaneStore, cache: ConfigCache, ingest: EventIngest, body: BodyReader, resolver: KeyResolver) {
        self.store = store
        self.cache = cache
        self.ingest = ingest
        self.body = body
        self.resolver = resolver
        self.idTypes = OFREPIDTypes(store: store)
    }

    func register(on router: Router<VaneRequestContext>) {
        // Browser providers call OFREP cross-origin with a client key, as the JS client calls initialize.
        let ofrep = router.group("ofrep/v1").add(middleware: CORSMiddleware(resolver: resolver))
            .add(middleware: OFREPMiddleware(resolver: resolver))
        for path: RouterPath in ["evaluate/flags/{key}", "evaluate/flags"] {
            ofrep.on(path, method: .options) { _, _ in Response(status: .noContent) }
        }
        ofrep
            .post("evaluate/flags/{key}") { request, context in try await self.evaluateFlag(request, context) }
            .post("evaluate/flags") { request, context in try await self.evaluateFlags(request, context) }
    }

    /// The flag key from the path, percent-decoded (names may hold spaces).
    static func flagKey(_ context: VaneRequestContext) -> String? {
        guard let raw = context.parameters.get("key") else { return nil }
        return raw.contains("%") ? (raw.removingPercentEncoding ?? raw) : raw
    }

    func evaluateFlag(_ request: Request, _ context: VaneRequestContext) async throws -> Response {
        let flagKey = Self.flagKey(context) ?? ""
        let key = context.key!
        let evaluationContext = try await readContext(request)
        let compiled = try await cache.compiled(project: key.project, environment: key.environment)
        let user = try await user(evaluationContext, key: key, compiled: compiled)
        switch OFREPEvaluator(compiled.evaluator).evaluate(flagKey, user: user) {
        case .failure(let failure):
            throw OFREPError(failure)
        case .success(let flag):
            try await ingest.store(exposures(flag, user: user, key: key, now: Clock.nowMs()))
            return jsonResponse(flag.toJSON())
        }
    }

    func evaluateFlags(_ request: Request, _ context: VaneRequestContext) async throws -> Response {
        let key = context.key!
        let evaluationContext = try await readContext(request)
        let compiled = try await cache.compiled(project: key.project, environment: key.environment)
        let user = try await user(evaluationContext, key: key, compiled: compiled)
        let flags = OFREPEvaluator(compiled.evaluator).evaluateAll(user: user).map { result -> JSONValue in
            switch result {
            case .success(let flag): return flag.toJSON()
            case .failure(let failure): return failure.toJSON()
            }
        }
        let bytes = JSONValue.object(["flags": .array(flags)]).serializedBytes(sortedKeys: true)
        let tag = etag(time: compiled.time, key: key, user: user, body: bytes)
        if let match = request.headers[.ifNoneMatch], Self.matches(match, tag) {
            var headers = HTTPFields()
            headers[.eTag] = tag
            return Response(status: .notModified, headers: headers)
        }
        var response = jsonResponse(bytes: bytes)
        response.headers[.eTag] = tag
        return response
    }

    // MARK: - Context

    /// The request's `context`: a missing body or context is an empty one.
    private func readContext(_ request: Request) async throws -> JSONValue? {
        let buffer = try await body.bytes(request)
        guard buffer.readableBytes > 0 else { return nil }
        let parsed: JSONValue
        do {
            parsed = try buffer.withUnsafeReadableBytes { try JSONValue.parse(UnsafeRawBufferPointer($0).bindMemory(to: UInt8.self)) }
        } catch let e as JSONParseError {
            throw OFREPError(.badRequest, .parseError, "malformed JSON: \(e.description)")
        }
        guard case .object(let o) = parsed else {
            throw OFREPError(.badRequest, .parseError, "the request body must be a JSON object: {\"context\": {\"targetingKey\": …}}")
        }
        return o["context"]
    }

    private func user(_ context: JSONValue?, key: APIKey, compiled: ConfigCache.Compiled) async throws -> StatsigUser {
        let types = try await idTypes.types(project: key.project, environment: key.environment, compiled: compiled)
        do {
            return try OFREPContext.user(context, customIDTypes: types, environment: key.environment)
        } catch {
            throw OFREPError(.badRequest, .invalidContext, error.description)
        }
    }

    // MARK: - Exposures and ETags

    /// What the SDK logs for the same check: a gate or config exposure, or a layer exposure per
    /// parameter read (every parameter for the whole layer; none for a parameter it lacks).
    private func exposures(_ flag: OFREPFlag, user: StatsigUser, key: APIKey, now: Int64) -> [EventRecord] {
        var records: [EventRecord]
        switch flag.kind {
        case .gate: records = [Exposures.gate(user, flag.name, flag.result, key: key, now: now)]
        case .config: records = [Exposures.config(user, flag.name, flag.result, key: key, now: now)]
        case .layer:
            let parameters: [String]
            if let p = flag.parameter {
                parameters = flag.value == nil ? [] : [p]
            } else {
                parameters = (flag.result.jsonValue.objectValue ?? [:]).keys.sorted()
            }
            records = parameters.map { Exposures.layer(user, flag.name, parameter: $0, flag.result, key: key, now: now) }
        }
        for i in records.indices { records[i].sdkType = "ofrep" }
        return records
    }

    /// Changes with the rules (their time), the key's scope, the context as mapped to a user, and
    /// the answer itself (so a `current_time` rule that flips also changes it).
    private func etag(time: Int64, key: APIKey, user: StatsigUser, body: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(data: Array("\(time)\u{0}\(key.project)\u{0}\(key.environment ?? "*")\u{0}".utf8))
        hasher.update(data: user.toJSON(includePrivate: true).serializedBytes(sortedKeys: true))
        hasher.update(data: [0])
        hasher.update(data: body)
        let hex = hasher.finalize().prefix(16).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        return "\"\(hex)\""
    }

    /// `If-None-Match`: `*` or a list of tags, weak ones compared by their opaque part.
    static func matches(_ header: String, _ tag: String) -> Bool {
        func opaque(_ t: Substring) -> Substring {
            let t = t.trimmingCharacters(in: .whitespaces)
            return Substring(t.hasPrefix("W/") ? String(t.dropFirst(2)) : t)
        }
        return header.split(separator: ",").contains { candidate in
            let c = opaque(candidate)
            return c == "*" || c == opaque(Substring(tag))
        }
    }
}

/// An OFREP error answer: `{key, errorCode, errorDetails}` (no `key` on the bulk endpoint).
struct OFREPError: Error, Sendable {
    let status: HTTPResponse.Status
    let code: OFREPErrorCode
    let details: String
    var retryAfter: Int?

    init(_ status: HTTPResponse.Status, _ code: OFREPErrorCode, _ details: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.details = details
        self.retryAfter = retryAfter
    }

    init(_ failure: OFREPFailure) {
        self.init(failure.code == .flagNotFound ? .notFound : .badRequest, failure.code, failure.details)
    }

    func response(flagKey: String?) -> Response {
        var o: [String: JSONValue] = ["errorCode": .string(code.rawValue), "errorDetails": .string(details)]
        if let flagKey { o["key"] = .string(flagKey) }
        var r = jsonResponse(.object(o), status: status)
        if let retryAfter { r.headers[.retryAfter] = String(retryAfter) }
        if status == .unauthorized { r.headers[.wwwAuthenticate] = "Bearer" }
        return r
    }
}

/// Authenticates OFREP requests (client keys and server secrets, with the same throttles and
/// per-key rate limits as the SDK endpoints) and answers every failure in OFREP's shape.
struct OFREPMiddleware: RouterMiddleware {
    typealias Context = VaneRequestContext
    let resolver: KeyResolver

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let flagKey = OFREPController.flagKey(context)
        do {
            var context = context
            context.key = try await authenticate(request, context)
            return try await next(request, context)
        } catch let e as OFREPError {
            return e.response(flagKey: flagKey)
        } catch let e as APIError {
            return OFREPError(e.status, .general, e.message, retryAfter: e.retryAfter).response(flagKey: flagKey)
        } catch {
            if let failure = StoreFailure(error) {
                context.logger.error("store failure", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                return OFREPError(failure == .diskFull ? .insufficientStorage507 : .serviceUnavailable, .general, failure.message,
                                  retryAfter: 30).response(flagKey: flagKey)
            }
            context.logger.error("OFREP request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return OFREPError(.internalServerError, .general, "internal error: the flag could not be evaluated")
                .response(flagKey: flagKey)
        }
    }

    /// `Authorization: Bearer <key>`, else `X-API-Key` (or Statsig's `STATSIG-API-KEY`).
    static func secret(_ request: Request) -> String? {
        if let authorization = request.headers[.authorization] {
            let value = authorization.trimmingCharacters(in: .whitespaces)
            if value.lowercased().hasPrefix("bearer ") {
                let token = value.dropFirst(7).trimmingCharacters(in: .whitespaces)
                if !token.isEmpty { return token }
            }
        }
        for name in ["x-api-key", "statsig-api-key"] {
            if let v = request.header(name)?.trimmingCharacters(in: .whitespaces), !v.isEmpty { return v }
        }
        return nil
    }

    private func authenticate(_ request: Request, _ context: Context) async throws -> APIKey {
        guard let secret = Self.secret(request) else {
            throw OFREPError(.unauthorized, .general, "missing API key: send a client key or server secret as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'")
        }
        guard let key = try await resolver.authenticate(secret, from: context.remoteAddress) else {
            throw OFREPError(.unauthorized, .general, "invalid API key")
        }
        guard key.kind == .client || key.kind == .server else {
            throw OFREPError(.unauthorized, .general, "OFREP needs a client key (client-…) or a server secret (secret-…); a \(key.kind.rawValue) key was sent")
        }
        try resolver.admit(key)
        return key
    }
}

/// The custom ID types an OFREP context's attributes are matched against: those the project
/// declares (re-read at most every second) and those its rules read (per rule set).
final class OFREPIDTypes: Sendable {
    private struct Entry {
        var declared: [String] = []
        var declaredAt: Int64?
        var ruleTime: Int64?
        var referenced: Set<String> = []
        var all: Set<String> = []
    }

    private let store: any ConfigRepository
    private let entries = Mutex<[String: Entry]>([:])
    private let ttlMs: Int64 = 1_000

    init(store: any ConfigRepository) { self.store = store }

    func types(project: String, environment: String?, compiled: ConfigCache.Compiled) async throws -> Set<String> {
        let slot = project + "\u{0}" + (environment ?? "*")
        let now = Clock.nowMs()
        var entry = entries.withLock { $0[slot] } ?? Entry()
        var changed = false
        let fresh = entry.declaredAt.map { $0 <= now && now - $0 < ttlMs } ?? false
        if !fresh {
            entry.declared = try await store.customIDTypes(project: project)
            entry.declaredAt = now
            changed = true
        }
        if entry.ruleTime != compiled.time {
            entry.referenced = OFREPEvaluator.referencedIDTypes(compiled.ruleSet)
            entry.ruleTime = compiled.time
            changed = true
        }
        if changed {
            entry.all = entry.referenced.union(entry.declared)
            let updated = entry
            entries.withLock { e in
                if e.count > 1_000 { e.removeAll() }
                e[slot] = updated
            }
        }
        return entry.all
    }
}
