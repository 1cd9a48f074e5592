import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import VaneCore
import VaneHTTPBody
import VaneStore

/// Every request error Vane reports: a status and a message, sent as `{"error": "..."}`.
public struct APIError: Error, HTTPResponseError, CustomStringConvertible, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    /// Seconds a client should wait before trying again (429 and 503 answers).
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response
    }

    var response: Response {
        var r = jsonResponse(["error": .string(message)], status: status)
        if let retryAfter { r.headers[.retryAfter] = String(retryAfter) }
        return r
    }

    static func badRequest(_ m: String) -> APIError { APIError(.badRequest, m) }
    static func notFound(_ m: String) -> APIError { APIError(.notFound, m) }
    static func unauthorized(_ m: String) -> APIError { APIError(.unauthorized, m) }
    static func tooManyRequests(_ m: String, retryAfter: Int) -> APIError { APIError(.tooManyRequests, m, retryAfter: retryAfter) }
}

public struct VaneRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The API key the request authenticated with, once an auth middleware has run.
    public var key: APIKey?
    /// The signed-in console user, when the request came from the web console.
    public var session: ConsoleSession?
    /// The peer's IP address, for throttling ("local" when there is no socket, as in tests).
    public let remoteAddress: String

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress ?? "local"
    }

    /// The key's project; a console session manages the console's project.
    public var project: String { key?.project ?? Self.consoleProject }

    /// The project the web console shows and edits: the one `vane serve` creates on first start.
    public static let consoleProject = "default"
}

func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    jsonResponse(bytes: value.serializedBytes(), status: status)
}

func jsonResponse(bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}

/// Reads request bodies with a size limit applied before and after inflating, so a small
/// gzip bomb is refused like a large body.
struct BodyReader: Sendable {
    let limit: Int

    func bytes(_ request: Request, forceGzip: Bool = false) async throws -> ByteBuffer {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let e as HTTPError where e.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "request body is larger than the \(limit / 1_048_576) MB limit")
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, "request body is larger than the \(limit / 1_048_576) MB limit")
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError.badRequest("request body could not be read: it is not valid HTTP (\(error))")
        }
        do {
            return try RequestBodyDecoding.decode(
                buffer, contentEncoding: request.headers[.contentEncoding], forceGzip: forceGzip, limit: limit)
        } catch {
            throw APIError(error.status, error.message)
        }
    }

    func json(_ request: Request, forceGzip: Bool = false, allowEmpty: Bool = false) async throws -> JSONValue {
        let buffer = try await bytes(request, forceGzip: forceGzip)
        if buffer.readableBytes == 0 {
            if allowEmpty { return .object([:]) }
            throw APIError.badRequest("request body is empty: expected a JSON object")
        }
        do {
            return try buffer.withUnsafeReadableBytes { try JSONValue.parse(UnsafeRawBufferPointer($0).bindMemory(to: UInt8.self)) }
        } catch let e as JSONParseError {
            throw APIError.badRequest("malformed JSON: \(e.description)")
        }
    }

    /// An `application/x-www-form-urlencoded` body (first value of each name).
    func form(_ request: Request) async throws -> [String: String] {
        let buffer = try await bytes(request)
        let text = String(buffer: buffer)
        var out: [String: String] = [:]
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Request.formDecode(parts[0])
            if out[name] == nil { out[name] = parts.count > 1 ? Request.formDecode(parts[1]) : "" }
        }
        return out
    }

    func object(_ request: Request, forceGzip: Bool = false, allowEmpty: Bool = false) async throws -> [String: JSONValue] {
        guard case .object(let o) = try await json(request, forceGzip: forceGzip, allowEmpty: allowEmpty) else {
            throw APIError.badRequest("request body must be a JSON object")
        }
        return o
    }

    /// Decodes a Codable body, turning decoding errors into messages that name the field.
    func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let value = try await json(request)
        return try decodeValue(type, value)
    }
}

func decodeValue<T: Decodable>(_ type: T.Type, _ value: JSONValue) throws -> T {
    if let path = value.pathOfNonFiniteNumber() { throw APIError.badRequest("\(path) must be a finite number") }
    do {
        return try JSONDecoder().decode(T.self, from: Data(value.serializedBytes()))
    } catch let DecodingError.typeMismatch(expected, ctx) {
        throw APIError.badRequest("\(fieldPath(ctx.codingPath)) has the wrong type: expected \(typeName(expected))")
    } catch let DecodingError.keyNotFound(key, ctx) {
        throw APIError.badRequest("\(fieldPath(ctx.codingPath + [key])) is required")
    } catch let DecodingError.valueNotFound(expected, ctx) {
        throw APIError.badRequest("\(fieldPath(ctx.codingPath)) must not be null: expected \(typeName(expected))")
    } catch let DecodingError.dataCorrupted(ctx) {
        // Foundation reports a number an integer field cannot hold (2.5, 1e19) without its path.
        let candidates = value.pathsOfNonIntegerNumbers()
        if ctx.codingPath.isEmpty, !candidates.isEmpty {
            throw APIError.badRequest("\(candidates.joined(separator: " or ")) must be a whole number within ±9.2e18")
        }
        throw APIError.badRequest("\(fieldPath(ctx.codingPath)) is invalid: \(ctx.debugDescription)")
    }
}

private func fieldPath(_ path: [any CodingKey]) -> String {
    var s = ""
    for k in path {
        if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : "." + k.stringValue }
    }
    return s.isEmpty ? "body" : s
}

private func typeName(_ t: Any.Type) -> String {
    switch t {
    case is String.Type: return "a string"
    case is Double.Type, is Int.Type, is Int64.Type: return "a number"
    case is Bool.Type: return "true or false"
    default:
        let n = String(describing: t)
        if n.hasPrefix("Array") { return "a list" }
        if n.hasPrefix("Dictionary") { return "an object" }
        return n
    }
}

func encodeToJSON<T: Encodable>(_ value: T) -> JSONValue {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .sortedKeys
    guard let data = try? encoder.encode(value), let v = try? JSONValue.parse(Array(data)) else { return .null }
    return v
}

extension RequestBodyDecoding.Failure {
    var status: HTTPResponse.Status {
        switch self {
        case .unsupportedEncoding: return .unsupportedMediaType
        case .tooLarge: return .contentTooLarge
        case .invalid: return .badRequest
        }
    }
}

/// Turns every error into a JSON body; unexpected ones become 500s that are logged, not crashes.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            return e.response
        } catch let e as StoreError {
            let status: HTTPResponse.Status = e.code == .notFound ? .notFound : e.code == .conflict ? .conflict : .badRequest
            return jsonResponse(["error": .string(e.description)], status: status)
        } catch let e as ValidationError {
            return jsonResponse(["error": .string(e.description)], status: .badRequest)
        } catch let e as HTTPError {
            let message: String
            switch e.status {
            case .notFound: message = "no such endpoint: \(request.method) \(request.uri.path)"
            case .methodNotAllowed: message = "\(request.method) is not allowed on \(request.uri.path)"
            case .contentTooLarge: message = "request body is too large"
            default: message = e.body ?? e.status.reasonPhrase
            }
            return jsonResponse(["error": .string(message)], status: e.status)
        } catch {
            if let failure = StoreFailure(error) {
                context.logger.error("store failure", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
                return APIError(failure == .diskFull ? .insufficientStorage507 : .serviceUnavailable, failure.message, retryAfter: 30).response
            }
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return jsonResponse(["error": "internal error: the request could not be completed"], status: .internalServerError)
        }
    }
}

/// Says `Connection: close` on the response when the request asked for it. Hummingbird closes
/// such connections but does not announce it, and pooled clients (the Statsig Python SDK sends
/// `Connection: close` from a requests.Session) then reuse a dead socket and fail.
struct ConnectionCloseMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let connection = request.headers[.connection], connection.lowercased().contains("close") {
            response.headers[.connection] = "close"
        }
        return response
    }
}

extension Request {
    /// A header by name, case-insensitively.
    func header(_ name: String) -> String? {
        HTTPField.Name(name).flatMap { headers[$0] }
    }

    /// A query parameter, decoded as forms encode them (`+` is a space, then percent-escapes).
    func query(_ name: String) -> String? {
        guard let raw = uri.query else { return nil }
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard Self.formDecode(parts[0]) == name else { continue }
            return parts.count > 1 ? Self.formDecode(parts[1]) : ""
        }
        return nil
    }

    /// Every query parameter (the first of repeated names), form-decoded.
    func queryItems() -> [String: String] {
        guard let raw = uri.query else { return [:] }
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.formDecode(parts[0])
            if out[name] == nil { out[name] = parts.count > 1 ? Self.formDecode(parts[1]) : "" }
        }
        return out
    }

    /// Whether `Accept-Encoding` lists gzip (without `q=0`).
    var acceptsGzip: Bool {
        guard let value = headers[.acceptEncoding]?.lowercased() else { return false }
        return value.split(separator: ",").contains { part in
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            return fields.first == "gzip" && !fields.dropFirst().contains { $0.replacingOccurrences(of: " ", with: "") == "q=0" }
        }
    }

    static func formDecode(_ s: Substring) -> String {
        let spaced = s.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

enum Clock {
    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}

extension HTTPResponse.Status {
    static let insufficientStorage507 = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
}

/// The `ids` of a dead-letter retry request: nil (absent) means every dead letter.
func deadLetterIDs(_ body: [String: JSONValue]) throws -> [Int64]? {
    guard let v = body["ids"] else { return nil }
    guard let list = v.arrayValue, list.allSatisfy({ $0.int64Value != nil }) else {
        throw APIError.badRequest("ids must be a list of dead-letter ids")
    }
    return list.compactMap(\.int64Value)
}
