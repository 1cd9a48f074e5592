import FuzzSupport
import VaneCore
import VaneSegment

/// Arrival times around the edges of the accepted event-time range and of Int64.
let arrivals: [Int64] = [
    1_700_000_000_000, EventTime.earliest, EventTime.latest, EventTime.latest - 1, 0, -1, Int64.min, Int64.max,
]

let settingsVariants: [InboundSettings] = {
    var plain = InboundSettings()
    var mapped = InboundSettings()
    mapped.identifierMappings = [
        IdentifierMapping(field: "anonymousId", idType: "segmentAnonymousId"),
        IdentifierMapping(field: "context.device.id", idType: "deviceID"),
        IdentifierMapping(field: "properties.a.b.c", idType: "nested"),
        IdentifierMapping(field: "..", idType: "dots"),
        IdentifierMapping(field: "userId", idType: "stableID"),
    ]
    mapped.filters = EventFilters(allowEvents: ["Order*", "*", "page"], denyEvents: ["Secret*", ""], allowTypes: [], denyTypes: ["alias"])
    mapped.defaultEnvironment = "staging"
    plain.filters = EventFilters(allowEvents: [], denyEvents: [], allowTypes: ["track", "page"], denyTypes: [])
    return [plain, mapped]
}()

/// Segment bodies as the Tracking API and the destination endpoint receive them: a batch object
/// (`batch`, `sentAt`, `context`), an array of messages or one message. Each message is validated,
/// its event time worked out against arrival times at the Int64 edges, then mapped to an event,
/// an Engage audience change and a filter verdict, as ingest does. Nothing may trap; a mapped
/// event's time is the one `eventTime` gives; ISO-8601 times format and parse back to themselves.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // Signatures are computed over the raw body, whatever it holds.
    if size < 2048 {
        let body = Array(bytes)
        let signature = SegmentSignature.sign(body, secret: "s3cret")
        _ = SegmentSignature.verify(body: body, signature: signature, secret: "s3cret")
    }
    guard let document = try? JSONValue.parse(bytes) else { return 0 }
    var messages: [JSONValue]
    var batchSentAt: Int64? = nil
    var batchContext: JSONValue? = nil
    switch document {
    case .array(let a): messages = a
    case .object(let o):
        if let batch = o["batch"]?.arrayValue {
            messages = batch
            batchSentAt = o["sentAt"]?.stringValue.flatMap(ISOTime.parse)
            batchContext = o["context"]
        } else {
            messages = [document]
        }
    default: messages = [document]
    }
    if messages.count > 64 { messages = Array(messages.prefix(64)) }
    let implied: [SegmentMessageType?] = [nil, SegmentMessageType.allCases[size % SegmentMessageType.allCases.count]]
    for (i, item) in messages.enumerated() {
        var item = item
        if case .object(var o) = item, case .object(let ctx)? = batchContext {
            // As ingest merges a batch's context into each message (message fields win).
            var merged = ctx
            for (k, v) in o["context"]?.objectValue ?? [:] { merged[k] = v }
            o["context"] = .object(merged)
            item = .object(o)
        }
        if item.serializedBytes().count > SegmentMessage.maxMessageBytes { continue }
        checkTimes(item)
        let message: SegmentMessage
        do {
            message = try SegmentMessage(json: item, impliedType: implied[i % 2], batchSentAt: batchSentAt)
        } catch let r as SegmentRejection {
            _ = r.description
            continue
        } catch {
            fuzzCheck(false, "SegmentMessage threw something other than SegmentRejection: \(error)")
            continue
        }
        for (j, receivedAt) in arrivals.enumerated() {
            let settings = settingsVariants[j % settingsVariants.count]
            for fromSegment in [false, true] {
                let time = message.eventTime(receivedAt: receivedAt, fromSegment: fromSegment)
                _ = EventTime.accepted(receivedAt: receivedAt).contains(time)
                _ = EventTime.describeAccepted(receivedAt: receivedAt)
                if let change = SegmentMapper.audienceChange(message, settings: settings, receivedAt: receivedAt, fromSegment: fromSegment) {
                    fuzzCheck(change.time == time, "audience change time \(change.time) is not the event time \(time)")
                    _ = change.user.toJSON().serializedBytes()
                }
                let name = message.type == .track ? message.event : message.name
                _ = settings.filters.reject(type: message.type, eventName: name)
                if let mapped = SegmentMapper.map(message, settings: settings, receivedAt: receivedAt, fromSegment: fromSegment) {
                    fuzzCheck(mapped.time == time, "mapped time \(mapped.time) is not the event time \(time)")
                    fuzzCheck(mapped.eventName.hasPrefix(SegmentMapper.eventPrefix), "event name without the segment prefix")
                    if case .double(let d)? = mapped.value { fuzzCheck(d.isFinite, "a mapped value is not finite") }
                    let record: JSONValue = [
                        "eventName": .string(mapped.eventName), "user": mapped.user.toJSON(), "value": mapped.value ?? .null,
                        "metadata": .object(mapped.metadata), "time": .int(mapped.time),
                    ]
                    let encoded = record.serializedBytes()
                    fuzzCheck((try? JSONValue.parse(encoded)) != nil, "a mapped event does not serialise to JSON")
                }
            }
        }
    }
    return 0
}

/// Every time string in a message: parse, then format and parse back (years 0000–9999).
func checkTimes(_ item: JSONValue) {
    for key in ["timestamp", "originalTimestamp", "sentAt", "receivedAt"] {
        guard let s = item[key]?.stringValue, let t = ISOTime.parse(s) else { continue }
        let formatted = ISOTime.format(t)
        guard formatted.utf8.count == 24, formatted.first != "-" else { continue }
        fuzzCheck(ISOTime.parse(formatted) == t, "ISOTime: '\(s)' → \(t) → '\(formatted)' does not parse back")
    }
}

@main
enum FuzzSegmentMain {
    static func main() {
        runFuzzer { data, size in fuzz(data ?? emptyInput, size) }
    }
}
