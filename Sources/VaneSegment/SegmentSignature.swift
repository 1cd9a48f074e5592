import Crypto

/// Segment's webhook signature: `X-Signature` = lowercase hex HMAC-SHA1(sharedSecret, body).
/// For an Actions batch (a JSON array) Segment signs only the first element's raw bytes.
public enum SegmentSignature {
    public static func sign(_ bytes: [UInt8], secret: String) -> String {
        let mac = HMAC<Insecure.SHA1>.authenticationCode(for: bytes, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
    }

    public static func verify(body: [UInt8], signature: String, secret: String) -> Bool {
        let expected = sign(signedBytes(body), secret: secret)
        return constantTimeEqual(Array(expected.utf8), Array(signature.lowercased().utf8))
    }

    /// The bytes Segment signs: the whole body, or for an array its first element as sent.
    static func signedBytes(_ body: [UInt8]) -> [UInt8] {
        var i = 0
        while i < body.count, [0x20, 0x0A, 0x0D, 0x09].contains(body[i]) { i += 1 }
        guard i < body.count, body[i] == UInt8(ascii: "[") else { return body }
        i += 1
        while i < body.count, [0x20, 0x0A, 0x0D, 0x09].contains(body[i]) { i += 1 }
        let start = i
        var depth = 0
        var inString = false
        var escaped = false
        while i < body.count {
            let c = body[i]
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                if depth == 0 { break }
                depth -= 1
                if depth == 0 { return Array(body[start...i]) }
            } else if c == UInt8(ascii: ","), depth == 0 {
                break
            }
            i += 1
        }
        return Array(body[start..<i])
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
