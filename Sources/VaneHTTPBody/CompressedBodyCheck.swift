import NIOCore

/// Checks the trailer of a compressed body against what it inflated to. zlib stops quietly when a
/// stream is cut short, so a truncated body would otherwise be taken as whole.
public enum CompressedBodyCheck {
    /// Why the body is not whole, or nil when its checksum and length match.
    public static func problem(compressed: ByteBuffer, inflated: ByteBuffer, gzip: Bool) -> String? {
        let tail = compressed.readableBytesView.suffix(gzip ? 8 : 4)
        guard tail.count == (gzip ? 8 : 4) else { return "it is cut short" }
        let t = Array(tail)
        if gzip {
            // RFC 1952: CRC-32 then the length modulo 2^32, both little-endian.
            let crc = UInt32(t[0]) | UInt32(t[1]) << 8 | UInt32(t[2]) << 16 | UInt32(t[3]) << 24
            let size = UInt32(t[4]) | UInt32(t[5]) << 8 | UInt32(t[6]) << 16 | UInt32(t[7]) << 24
            guard size == UInt32(truncatingIfNeeded: inflated.readableBytes) else {
                return "it is cut short or its length trailer is wrong"
            }
            guard crc == crc32(inflated.readableBytesView) else { return "its CRC-32 does not match the content" }
        } else {
            // RFC 1950: Adler-32, big-endian.
            let adler = UInt32(t[0]) << 24 | UInt32(t[1]) << 16 | UInt32(t[2]) << 8 | UInt32(t[3])
            guard adler == adler32(inflated.readableBytesView) else { return "it is cut short or its Adler-32 does not match" }
        }
        return nil
    }

    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        crcTable.withUnsafeBufferPointer { table in
            for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }

    public static func adler32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var a: UInt32 = 1, b: UInt32 = 0
        var n = 0
        for byte in bytes {
            a &+= UInt32(byte)
            b &+= a
            n += 1
            // Reduce before the sums can overflow (zlib's NMAX).
            if n == 5552 {
                a %= 65521
                b %= 65521
                n = 0
            }
        }
        return (b % 65521) << 16 | (a % 65521)
    }
}
