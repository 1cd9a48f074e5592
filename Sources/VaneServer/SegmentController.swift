import Foundation
import Hummingbird
import NIOCore
import VaneCore
import VaneSegment
import VaneStore

/// Segment's two ways in: the destination endpoint Segment delivers to, and Tracking-API
/// compatible endpoints that Segment's libraries (and Replay exports) can send to directly.
struct SegmentController: Sendable {
    let inbound: SegmentInbound
    let store: any VaneStore
    let resolver: KeyResolver
    let body: BodyReader

    func register(on router: Router<VaneRequestContext>) {
        for path in ["v1/webhooks/segment", "v1/webhooks/segment_webhook"] {
            let route = RouterPath(stringLiteral: path)
            router.post(route) { r, c in try await self.destination(r, c) }
            router.put(route) { r, c in try await self.destination(r, c) }
            router.patch(route) { r, c in try await self.destination(r, c) }
        }
        router.post("v1/batch") { r, c in try await self.tracking(r, c, single: nil) }
        router.post("v1/import") { r, c in try await self.tracking(r, c, single: nil) }
        for type in SegmentMessageType.allCases {
            router.post(RouterPath(stringLiteral: "v1/\(type.rawValue)")) { r, c in try await self.tracking(r, c, single: type) }
        }
    }

    // MARK: - Destination (Segment → Vane)

    /// One message or an array of them (Actions batches). Authenticated by the server secret (in
    /// `STATSIG-API-KEY` or as the Basic user name) or by `X-Signature` with the shared secret.
    func destination(_ request: Request, _ context: VaneRequestContext) async throws -> Response {
        let buffer = try await body.bytes(request)
        let raw = Array(buffer: buffer)
        let project = try await authenticateDestination(request, context, raw: raw)
        let document: JSONValue
        do { document = try JSONValue.parse(raw) } catch let e as JSONParseError {
            throw APIError.badRequest("malformed JSON: \(e.description)")
        }
        let messages: [JSONValue]
        let single: Bool
        switch document {
        case .array(let a):
            guard !a.isEmpty else { throw APIError.badRequest("empty_batch: the array holds no messages") }
            messages = a
            single = false
        case .object: messages = [document]; single = true
        default: throw APIError.badRequest("body must be a Segment message or an array of them")
        }
        let outcome = try await inbound.ingest(
            project: project, messages: messages, single: single, origin: .destination, now: Clock.nowMs())
        return jsonResponse(outcome.json)
    }

    private func authenticateDestination(_ request: Request, _ context: VaneRequestContext, raw: [UInt8]) async throws -> String {
        if let secret = request.header("statsig-api-key") ?? basicUser(request) {
            guard let key = try await resolver.authenticate(secret, from: context.remoteAddress) else {
                throw APIError.unauthorized("invalid API key")
            }
            guard key.kind == .server else {
                throw APIError.unauthorized("the Segment destination needs the server secret (secret-…); a \(key.kind.rawValue) key was sent")
            }
            try resolver.admit(key)
            return key.project
        }
        if let signature = request.header("x-signature") {
            for project in try await store.projects() {
                if let secret = try await inbound.settings(project).sharedSecret, !secret.isEmpty,
                    SegmentSignature.verify(body: raw, signature: signature, secret: secret)
                {
                    return project
                }
            }
            throw APIError.unauthorized("X-Signature does not match: check the shared secret in Segment and in Vane")
        }
        throw APIError.unauthorized("missing credentials: send the server secret in STATSIG-API-KEY, as the Basic user name, or sign with X-Signature")
    }

    private func basicUser(_ request: Request) -> String? {
        guard let auth = request.header("authorization"), auth.lowercased().hasPrefix("basic ") else { return nil }
        guard let decoded = StatsigHash.base64Decode(String(auth.dropFirst(6)).trimmingCharacters(in: .whitespaces)) else { return nil }
        let text = String(decoding: decoded, as: UTF8.self)
        let user = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? text
        return user.isEmpty ? nil : user
    }

    // MARK: - Tracking API (Segment libraries → Vane)

    func tracking(_ request: Request, _ context: VaneRequestContext, single type: SegmentMessageType?) async throws -> Response {
        let limit = type == nil ? SegmentInbound.maxBatchBytes : SegmentMessage.maxMessageBytes
        let buffer: ByteBuffer
        do {
            buffer = try await BodyReader(limit: limit).bytes(request)
        } catch let e as APIError where e.status == .contentTooLarge {
            throw APIError.badRequest(type == nil
                ? "payload_too_large: a batch may be at most 500 KB (512000 bytes) after decompression"
                : "payload_too_large: a single message may be at most 32 KB after decompression")
        }
        let document: JSONValue
        do {
            document = try buffer.withUnsafeReadableBytes { try JSONValue.parse(UnsafeRawBufferPointer($0).bindMemory(to: UInt8.self)) }
        } catch let e as JSONParseError {
            throw APIError.badRequest("bad_request: malformed JSON: \(e.description)")
        }
        guard case .object(let o) = document else { throw APIError.badRequest("bad_request: body must be a JSON object") }
        let project = try await authenticateWriteKey(request, context, body: o)
        let outcome: SegmentInbound.Outcome
        if let type {
            outcome = try await inbound.ingest(
                project: project, messages: [document], single: true, impliedType: type, origin: .trackingAPI, now: Clock.nowMs())
        } else {
            guard let batch = o["batch"]?.arrayValue else { throw APIError.badRequest("bad_request: batch must be a list of messages") }
            guard !batch.isEmpty else { throw APIError.badRequest("empty_batch: the batch holds no messages") }
            guard batch.count <= SegmentInbound.maxBatchMessages else {
                throw APIError.badRequest("batch_too_large: a batch may hold at most \(SegmentInbound.maxBatchMessages) messages (got \(batch.count))")
            }
            outcome = try await inbound.ingest(
                project: project, messages: batch, single: false,
                batchSentAt: o["sentAt"]?.stringValue.flatMap(ISOTime.parse), batchContext: o["context"],
                batchIntegrations: o["integrations"], origin: .trackingAPI, now: Clock.nowMs())
        }
        return jsonResponse(outcome.json)
    }

    /// The inbound write key, as the Basic user name (with or without the colon) or `writeKey` in the body.
    private func authenticateWriteKey(_ request: Request, _ context: VaneRequestContext, body: [String: JSONValue]) async throws -> String {
        guard let secret = basicUser(request) ?? body["writeKey"]?.stringValue, !secret.isEmpty else {
            throw APIError.unauthorized("invalid_write_key: send the Segment inbound write key as the Basic user name or as writeKey")
        }
        guard let key = try await resolver.authenticate(secret, from: context.remoteAddress), key.kind == .segmentWriteKey else {
            throw APIError.unauthorized("invalid_write_key: that is not this server's Segment inbound write key")
        }
        try resolver.admit(key)
        return key.project
    }
}
