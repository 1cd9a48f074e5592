import VaneCore

/// What Segment's HTTP Tracking API takes in one `/v1/batch` request.
public struct SegmentBatchLimits: Sendable, Equatable {
    /// The whole request body, before any gzip (Segment applies its limits after inflating).
    public var maxBodyBytes: Int
    public var maxMessageBytes: Int
    public var maxMessages: Int

    public static let segment = SegmentBatchLimits(maxBodyBytes: 500_000, maxMessageBytes: 32 * 1024, maxMessages: 2_500)

    public init(maxBodyBytes: Int, maxMessageBytes: Int, maxMessages: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxMessageBytes = maxMessageBytes
        self.maxMessages = maxMessages
    }
}

/// The body of one `/v1/batch` request, `{"batch":[…],"sentAt":"…","writeKey":"…"}`, filled with
/// messages serialised once, up to the limits. `sentAt` is written when the body is sent (each
/// attempt gets a fresh one) and always takes 24 bytes, so the size is known while filling.
public struct SegmentBatchBody: Sendable {
    public let limits: SegmentBatchLimits
    private let writeKeyJSON: [UInt8]
    public private(set) var messages: [[UInt8]] = []
    /// The size of the body as it stands.
    public private(set) var bytes: Int

    private static let head = Array(#"{"batch":["#.utf8)
    private static let sentAtField = Array(#"],"sentAt":""#.utf8)
    private static let writeKeyField = Array(#"","writeKey":"#.utf8)
    private static let sentAtBytes = 24

    public init(writeKey: String, limits: SegmentBatchLimits = .segment) {
        self.limits = limits
        writeKeyJSON = JSONValue.string(writeKey).serializedBytes()
        bytes = Self.head.count + Self.sentAtField.count + Self.sentAtBytes + Self.writeKeyField.count + writeKeyJSON.count + 1
    }

    /// Whether a message of `size` serialised bytes can be sent at all.
    public func isSendable(_ size: Int) -> Bool { size <= limits.maxMessageBytes }

    /// Whether a message of `size` bytes still fits in this body.
    public func fits(_ size: Int) -> Bool {
        messages.count < limits.maxMessages && bytes + size + (messages.isEmpty ? 0 : 1) <= limits.maxBodyBytes
    }

    public mutating func append(_ message: [UInt8]) {
        bytes += message.count + (messages.isEmpty ? 0 : 1)
        messages.append(message)
    }

    public var isEmpty: Bool { messages.isEmpty }

    /// The body, with `sentAt` the given time (ms since the epoch).
    public func encoded(sentAt: Int64) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bytes)
        out += Self.head
        for (i, m) in messages.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += m
        }
        out += Self.sentAtField
        // Clamped to four-digit years, so the stamp has the 24 bytes `bytes` counted.
        out += Array(ISOTime.format(Swift.min(Swift.max(sentAt, EventTime.earliest), EventTime.latest)).utf8)
        out += Self.writeKeyField
        out += writeKeyJSON
        out.append(UInt8(ascii: "}"))
        return out
    }
}
