import Testing
@testable import VaneSegment

@Suite("Outbound messageIds")
struct OutboundMessageIDTests {
    /// Name-based UUIDs (version 5) in Vane's namespace, the first 16 bytes of SHA-1("vane.segment.outbound").
    /// Expected values from Python: `uuid.uuid5(uuid.UUID(bytes=hashlib.sha1(b"vane.segment.outbound").digest()[:16]), name)`.
    @Test(arguments: [
        ("salt:default:event:1", "f08e6065-8d7f-560d-8ad4-67b964b4e686"),
        ("abc:p:config_change:42", "6989e8cf-01d3-5e1e-9244-27bf579123ea"),
    ])
    func messageIDsAreVersion5UUIDs(name: String, expected: String) {
        #expect(OutboundEncoder.messageID(name) == expected)
    }
}
