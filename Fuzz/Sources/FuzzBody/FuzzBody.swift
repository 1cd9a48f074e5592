import CompressNIO
import Foundation
import FuzzSupport
import NIOCore
import VaneHTTPBody

let encodings: [String?] = [nil, "gzip", "x-gzip", "deflate", "identity", "", " GZIP ", "Deflate\t", "br", "gzip, deflate", "compress"]
let limits = [0, 1, 7, 8, 9, 64, 1000, 4096, 65_536, 1 << 20, 10 << 20]

/// The request-body decoder: a body as received (raw bytes, or a payload compressed here and then
/// damaged: cut short, a flipped byte, junk or a second member appended) with a Content-Encoding
/// and a limit. It must answer or refuse, never trap; what it returns is within the limit; an
/// undamaged body comes back exactly; a body inflating beyond the limit is refused as too large.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let encoding = input.pick(encodings)
    let forceGzip = input.bool()
    let limit = input.pick(limits)
    let mode = input.byte() % 4
    let algorithm: CompressionAlgorithm? = {
        switch encoding?.lowercased().trimmingCharacters(in: .whitespaces) {
        case "gzip"?, "x-gzip"?: return .gzip()
        case "deflate"?: return .zlib()
        case nil, "identity"?, ""?: return forceGzip ? .gzip() : nil
        default: return nil
        }
    }()
    let isGzip = encoding.map { $0.lowercased().trimmingCharacters(in: .whitespaces) != "deflate" } ?? true

    var body: [UInt8]
    var payload: [UInt8]? = nil
    var damaged = false
    if mode == 0 || algorithm == nil {
        body = input.rest()
    } else {
        // Compress a payload (a repeated pattern when mode is 2, so it can inflate well past the limit).
        var p = input.data(max: 512)
        if mode == 2, !p.isEmpty {
            let total = min(p.count * input.int(in: 1...4000), 1 << 18)
            let unit = p
            p.reserveCapacity(total)
            while p.count + unit.count <= total { p.append(contentsOf: unit) }
        }
        payload = p
        var source = ByteBuffer(bytes: p)
        guard let algorithm, let packed = try? source.compress(with: algorithm) else { return 0 }
        body = Array(packed.readableBytesView)
        switch input.byte() % 6 {
        case 0: break
        case 1:
            let cut = input.int(in: 1...16)
            body.removeLast(min(cut, body.count))
            damaged = true
        case 2:
            if !body.isEmpty {
                let at = input.int(in: 0...(body.count - 1))
                let flip = input.byte() | 1
                body[at] ^= flip
                damaged = true
            }
        case 3:
            body += input.data(max: 16)
            damaged = true
        case 4:
            // A second gzip member (RFC 1952 allows it; Vane reads one).
            body += body
            damaged = true
        default:
            body += input.rest()
            damaged = true
        }
    }

    let buffer = ByteBuffer(bytes: body)
    do {
        let out = try RequestBodyDecoding.decode(buffer, contentEncoding: encoding, forceGzip: forceGzip, limit: limit)
        let bytes = Array(out.readableBytesView)
        if algorithm == nil {
            fuzzCheck(bytes == body, "an identity body came back changed")
        } else {
            fuzzCheck(bytes.count <= limit, "inflated \(bytes.count) bytes past the \(limit)-byte limit")
            // What it accepted, its trailer vouches for.
            fuzzCheck(CompressedBodyCheck.problem(compressed: buffer, inflated: out, gzip: isGzip) == nil, "accepted a body whose trailer does not match")
            if let payload, !damaged { fuzzCheck(bytes == payload, "an undamaged body inflated to something else") }
        }
    } catch {
        switch error {
        case .unsupportedEncoding:
            fuzzCheck(algorithm == nil && encoding != nil, "refused a supported encoding: \(error)")
        case .tooLarge:
            fuzzCheck(algorithm != nil, "an uncompressed body was refused as too large after inflating")
            if let payload, !damaged { fuzzCheck(payload.count > limit, "a \(payload.count)-byte payload was refused under a \(limit)-byte limit") }
        case .invalid:
            fuzzCheck(algorithm != nil, "an uncompressed body was refused as invalid: \(error)")
            if let payload, !damaged { fuzzCheck(false, "an undamaged \(payload.count)-byte body was refused: \(error)") }
        }
    }
    return 0
}

@main
enum FuzzBodyMain {
    static func main() {
        runFuzzer { data, size in fuzz(data ?? emptyInput, size) }
    }
}
