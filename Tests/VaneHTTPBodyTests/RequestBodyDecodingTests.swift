import CompressNIO
import NIOCore
import Testing
import VaneHTTPBody

/// The request-body decoder on its own (the HTTP tests drive it through the server).
@Suite("Request body decoding")
struct RequestBodyDecodingTests {
    static func packed(_ payload: [UInt8], _ algorithm: CompressionAlgorithm) throws -> [UInt8] {
        var source = ByteBuffer(bytes: payload)
        return Array(try source.compress(with: algorithm).readableBytesView)
    }

    static func decode(_ body: [UInt8], _ encoding: String?, forceGzip: Bool = false, limit: Int = 1 << 20)
        -> Result<[UInt8], RequestBodyDecoding.Failure>
    {
        do {
            let out = try RequestBodyDecoding.decode(ByteBuffer(bytes: body), contentEncoding: encoding, forceGzip: forceGzip, limit: limit)
            return .success(Array(out.readableBytesView))
        } catch {
            return .failure(error)
        }
    }

    @Test func inflatesGzipAndDeflateAndPassesIdentityThrough() throws {
        let payload = Array(#"{"events":[{"eventName":"a"}]}"#.utf8)
        for encoding in ["gzip", "x-gzip", " GZIP "] {
            #expect(try Self.decode(Self.packed(payload, .gzip()), encoding).get() == payload)
        }
        #expect(try Self.decode(Self.packed(payload, .zlib()), "deflate").get() == payload)
        #expect(try Self.decode(Self.packed(payload, .gzip()), nil, forceGzip: true).get() == payload)
        for encoding in [nil, "identity", ""] as [String?] {
            #expect(try Self.decode(payload, encoding).get() == payload)
        }
    }

    @Test func refusesUnknownEncodingsOversizedAndDamagedBodies() throws {
        let payload = [UInt8](repeating: 0x61, count: 5000)
        guard case .failure(.unsupportedEncoding(let m)) = Self.decode(payload, "br") else { Issue.record("br accepted"); return }
        #expect(m.contains("'br'"))
        guard case .failure(.tooLarge) = Self.decode(try Self.packed(payload, .gzip()), "gzip", limit: 4999) else {
            Issue.record("a body inflating past the limit was accepted")
            return
        }
        #expect(try Self.decode(Self.packed(payload, .gzip()), "gzip", limit: 5000).get() == payload)
        var cut = try Self.packed(payload, .gzip())
        cut.removeLast(4)
        guard case .failure(.invalid) = Self.decode(cut, "gzip") else { Issue.record("a body without its length was accepted"); return }
        var wrongAdler = try Self.packed(payload, .zlib())
        wrongAdler[wrongAdler.count - 1] ^= 1
        guard case .failure(.invalid) = Self.decode(wrongAdler, "deflate") else { Issue.record("a wrong Adler-32 was accepted"); return }
    }
}
