import CompressNIO
import Foundation
import NIOCore

/// The pure part of reading a request body, once it has been collected (up to the limit):
/// the `Content-Encoding`, inflating with the same limit, and the compressed stream's trailer
/// check. Kept apart from the HTTP server so it can be tested and fuzzed on its own.
public enum RequestBodyDecoding {
    /// Why a body was refused; the server answers with the status each case names.
    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        /// 415: a `Content-Encoding` other than gzip, x-gzip, deflate or identity.
        case unsupportedEncoding(String)
        /// 413: the inflated body is larger than the limit.
        case tooLarge(String)
        /// 400: not valid compressed data, cut short, or a trailer that does not match.
        case invalid(String)

        public var message: String {
            switch self {
            case .unsupportedEncoding(let m), .tooLarge(let m), .invalid(let m): return m
            }
        }

        public var description: String { message }
    }

    /// The body as the handler reads it. `contentEncoding` is the header as sent; `forceGzip`
    /// inflates a body without one as gzip (`se=1` initialize bodies); `limit` applies to the
    /// inflated size (the caller has already applied it to the bytes received).
    public static func decode(
        _ buffer: ByteBuffer, contentEncoding: String?, forceGzip: Bool = false, limit: Int
    ) throws(Failure) -> ByteBuffer {
        let limit = max(limit, 0)
        let megabytes = limit / 1_048_576
        let encoding = contentEncoding?.lowercased().trimmingCharacters(in: .whitespaces)
        let algorithm: CompressionAlgorithm?
        switch encoding {
        case "gzip"?, "x-gzip"?: algorithm = .gzip()
        case "deflate"?: algorithm = .zlib()
        case nil, "identity"?, ""?: algorithm = forceGzip ? .gzip() : nil
        case let other?: throw .unsupportedEncoding("unsupported Content-Encoding '\(other)': use gzip, deflate or none")
        }
        guard let algorithm else { return buffer }
        var compressed = buffer
        let inflated: ByteBuffer
        do {
            inflated = try compressed.decompress(with: algorithm, maxSize: limit == Int.max ? limit : limit + 1)
        } catch let e as CompressNIOError where e == .bufferOverflow {
            throw .tooLarge("decompressed body is larger than the \(megabytes) MB limit")
        } catch {
            throw .invalid("body could not be decompressed (\(encoding ?? "gzip")): it is not valid compressed data")
        }
        if inflated.readableBytes > limit {
            throw .tooLarge("decompressed body is larger than the \(megabytes) MB limit")
        }
        if let problem = CompressedBodyCheck.problem(compressed: buffer, inflated: inflated, gzip: encoding != "deflate") {
            throw .invalid("body could not be decompressed (\(encoding ?? "gzip")): \(problem)")
        }
        return inflated
    }
}
