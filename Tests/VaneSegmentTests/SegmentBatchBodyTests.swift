import Foundation
import Testing
import VaneCore
import VaneSegment

@Suite("Segment batch bodies")
struct SegmentBatchBodyTests {
    /// A message of exactly `size` serialised bytes.
    static func message(_ size: Int, _ n: Int = 0) -> [UInt8] {
        let shell = JSONValue.object(["type": "track", "n": .int(Int64(n)), "pad": ""]).serializedBytes().count
        return JSONValue.object(["type": "track", "n": .int(Int64(n)), "pad": .string(String(repeating: "x", count: size - shell))])
            .serializedBytes()
    }

    @Test func theCountedSizeIsTheEncodedSizeAndTheBodyParses() throws {
        var body = SegmentBatchBody(writeKey: "wk_\"quoted\"")
        for i in 0..<37 { body.append(Self.message(200 + i, i)) }
        let encoded = body.encoded(sentAt: 1_764_000_000_123)
        #expect(encoded.count == body.bytes)
        let parsed = try JSONSerialization.jsonObject(with: Data(encoded)) as? [String: Any]
        #expect((parsed?["batch"] as? [Any])?.count == 37)
        #expect(parsed?["sentAt"] as? String == "2025-11-24T16:00:00.123Z")
        #expect(parsed?["writeKey"] as? String == "wk_\"quoted\"")
        // A clock outside four-digit years still gives a 24-byte stamp.
        #expect(body.encoded(sentAt: .max).count == body.bytes)
        #expect(body.encoded(sentAt: .min).count == body.bytes)
    }

    @Test func aBodyFillsToJustUnderTheLimitAndNoFurther() {
        let limits = SegmentBatchLimits.segment
        var body = SegmentBatchBody(writeKey: "wk_live")
        // 30 KB messages until the next one would not fit, then one that fills to the byte.
        while body.fits(30_000 + 1) { body.append(Self.message(30_000)) }
        let room = limits.maxBodyBytes - body.bytes - 1
        #expect(room < 30_000 && room > 100)
        #expect(body.fits(room))
        #expect(!body.fits(room + 1), "one byte over 500,000 must start another request")
        body.append(Self.message(room))
        #expect(body.bytes == limits.maxBodyBytes)
        #expect(body.encoded(sentAt: 0).count == 500_000)
        #expect(!body.fits(1))
    }

    @Test func messagesAreCappedAt32KBAndTheCountAt2500() {
        let body = SegmentBatchBody(writeKey: "k")
        #expect(body.isSendable(32 * 1024))
        #expect(!body.isSendable(32 * 1024 + 1))
        var small = SegmentBatchBody(writeKey: "k")
        var n = 0
        while small.fits(60) { small.append(Self.message(60, n)); n += 1 }
        #expect(n == 2_500, "2,500 small messages (not 100) go in one request")
        #expect(small.bytes < 200_000)
    }
}
