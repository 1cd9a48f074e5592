import Crypto

/// The hashes Statsig's protocol is built on.
public enum StatsigHash {
    /// First 8 bytes of SHA-256(utf8(s)) as an unsigned big-endian integer: the bucketing hash.
    @inline(__always)
    public static func unitHash(_ s: String) -> UInt64 {
        var copy = s
        return copy.withUTF8 { buffer in
            let digest = SHA256.hash(data: UnsafeRawBufferPointer(buffer))
            return digest.withUnsafeBytes { raw in raw.loadUnaligned(as: UInt64.self).bigEndian }
        }
    }

    /// `unitHash(prefix + unit)` without building the string: the evaluator's hot path.
    @inline(__always)
    static func unitHash(prefix: [UInt8], unit: String) -> UInt64 {
        var unit = unit
        return unit.withUTF8 { u in
            prefix.withUnsafeBufferPointer { p in
                withUnsafeTemporaryAllocation(of: UInt8.self, capacity: p.count + u.count) { buffer in
                    _ = buffer.initialize(fromContentsOf: p)
                    UnsafeMutableBufferPointer(rebasing: buffer[p.count...]).initialize(fromContentsOf: u)
                    let digest = SHA256.hash(data: UnsafeRawBufferPointer(buffer))
                    return digest.withUnsafeBytes { raw in raw.loadUnaligned(as: UInt64.self).bigEndian }
                }
            }
        }
    }

    /// An ID-list entry: the first 8 characters of base64(SHA-256(utf8(id))).
    public static func idListEntry(_ id: String) -> String {
        let digest = Array(SHA256.hash(data: Array(id.utf8)))
        return String(base64(digest).prefix(8))
    }

    /// Standard base64 of SHA-256(utf8(s)): the "sha256" name hashing of client initialize responses.
    public static func sha256Base64(_ s: String) -> String {
        base64(Array(SHA256.hash(data: Array(s.utf8))))
    }

    /// djb2 over UTF-16 code units as the JS client computes it, as an unsigned decimal string.
    public static func djb2(_ s: String) -> String {
        var h: UInt32 = 0
        for unit in s.utf16 { h = h &* 31 &+ UInt32(unit) }
        return String(h)
    }

    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func base64(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i + 2 < bytes.count {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], alphabet[Int(n & 63)]]
            i += 3
        }
        let rest = bytes.count - i
        if rest == 1 {
            let n = UInt32(bytes[i]) << 16
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], UInt8(ascii: "="), UInt8(ascii: "=")]
        } else if rest == 2 {
            let n = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            out += [alphabet[Int(n >> 18)], alphabet[Int(n >> 12 & 63)], alphabet[Int(n >> 6 & 63)], UInt8(ascii: "=")]
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func base64Decode(_ s: String) -> [UInt8]? {
        var lookup = [Int16](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { lookup[Int(c)] = Int16(i) }
        lookup[Int(UInt8(ascii: "-"))] = 62  // accept the URL-safe alphabet too
        lookup[Int(UInt8(ascii: "_"))] = 63
        var out: [UInt8] = []
        var acc: UInt32 = 0
        var bits = 0
        for c in s.utf8 {
            if c == UInt8(ascii: "=") { break }
            if c == 0x0A || c == 0x0D || c == 0x20 { continue }
            let v = lookup[Int(c)]
            if v < 0 { return nil }
            acc = (acc << 6) | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}

extension StatsigHash {
    /// Hex SHA-256, used to store API keys without storing the keys.
    public static func sha256Hex(_ s: String) -> String {
        SHA256.hash(data: Array(s.utf8)).map { b in
            let h = String(b, radix: 16)
            return b < 16 ? "0" + h : h
        }.joined()
    }

    /// A random token from the URL-safe alphabet, for keys and file IDs.
    public static func randomToken(length: Int = 32) -> String {
        let chars = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var rng = SystemRandomNumberGenerator()
        return String((0..<length).map { _ in chars[Int(rng.next(upperBound: UInt32(chars.count)))] })
    }
}
