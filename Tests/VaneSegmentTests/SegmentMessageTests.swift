import Testing
import VaneCore
@testable import VaneSegment

@Suite("Segment messages")
struct SegmentMessageTests {
    static let invalid: [(String, JSONValue, SegmentDropReason)] = [
        ("no type", ["userId": "u"], .invalidType),
        ("unknown type", ["type": "delete", "userId": "u"], .invalidType),
        ("no ids", ["type": "track", "event": "e"], .noUserAnonID),
        ("empty ids", ["type": "track", "event": "e", "userId": "", "anonymousId": ""], .noUserAnonID),
        ("object id", ["type": "track", "event": "e", "userId": ["a": 1]], .idNotString),
        ("no event", ["type": "track", "userId": "u"], .eventNotDefined),
        ("blank event", ["type": "track", "userId": "u", "event": "  "], .eventNotString),
        ("number event", ["type": "track", "userId": "u", "event": 5], .eventNotString),
        ("properties list", ["type": "track", "userId": "u", "event": "e", "properties": [1]], .propertiesNotObject),
        ("traits string", ["type": "identify", "userId": "u", "traits": "x"], .traitsNotObject),
        ("name number", ["type": "page", "userId": "u", "name": 3], .nameNotString),
        ("category bool", ["type": "page", "userId": "u", "category": true], .categoryNotString),
        ("long messageId", ["type": "page", "userId": "u", "messageId": .string(String(repeating: "m", count: 101))], .messageIDInvalid),
        ("alias without previousId", ["type": "alias", "userId": "u"], .aliasMissingIDs),
        ("group without groupId", ["type": "group", "userId": "u"], .groupMissingGroupID),
        ("not an object", "track", .notAnObject),
    ]

    @Test(arguments: 0..<invalid.count)
    func rejectsWithAReason(_ i: Int) {
        let (name, json, reason) = Self.invalid[i]
        #expect(throws: SegmentRejection(reason), "\(name)") { try SegmentMessage(json: json) }
    }

    @Test func acceptsNullsNumbersAndNonASCII() throws {
        let m = try SegmentMessage(json: [
            "type": "track", "event": "Bestellung aufgegeben ✓", "userId": 42, "anonymousId": .null, "name": .null,
            "properties": ["city": "Zürich"], "version": "1.1", "channel": "server",
        ])
        #expect(m.userId == "42")
        #expect(m.anonymousId == nil)
        #expect(m.event == "Bestellung aufgegeben ✓")
    }

    @Test func pathSetsTheType() throws {
        let m = try SegmentMessage(json: ["userId": "u", "event": "e"], impliedType: .track)
        #expect(m.type == .track)
    }

    /// The reference's test: sentAt = T+1h, client time = T+1h−5s, receivedAt = T gives T−5s.
    @Test func correctsClientClockSkew() throws {
        let t: Int64 = 1_700_000_000_000
        let m = try SegmentMessage(json: [
            "type": "track", "event": "e", "userId": "u",
            "timestamp": .string(ISOTime.format(t + 3_600_000 - 5_000)), "sentAt": .string(ISOTime.format(t + 3_600_000)),
        ])
        #expect(m.eventTime(receivedAt: t, fromSegment: false) == t - 5_000)
        // Segment's own deliveries (and replays) already carry the corrected time.
        #expect(m.eventTime(receivedAt: t, fromSegment: true) == t + 3_600_000 - 5_000)
        let noSentAt = try SegmentMessage(json: ["type": "track", "event": "e", "userId": "u", "timestamp": "2024-01-02T03:04:05.678+00:00"])
        #expect(noSentAt.eventTime(receivedAt: t, fromSegment: false) == ISOTime.parse("2024-01-02T03:04:05.678Z"))
        let bad = try SegmentMessage(json: ["type": "track", "event": "e", "userId": "u", "timestamp": "yesterday"])
        #expect(bad.eventTime(receivedAt: t, fromSegment: false) == t)
        let replayed = try SegmentMessage(json: [
            "type": "track", "event": "e", "userId": "u", "timestamp": "2024-01-02T03:04:05.678Z",
            "sentAt": "2024-01-02T03:04:06.000Z", "receivedAt": "2024-01-02T03:04:06.100Z",
        ])
        #expect(replayed.eventTime(receivedAt: t, fromSegment: false) == ISOTime.parse("2024-01-02T03:04:05.678Z"))
    }
}

@Suite("Segment mapping")
struct SegmentMappingTests {
    @Test func trackBecomesAPrefixedEventWithUserAndValue() throws {
        let m = try SegmentMessage(json: [
            "type": "track", "event": "Order Completed", "userId": "u1", "anonymousId": "anon-9", "messageId": "m1",
            "properties": [
                "revenue": 12.5, "sku": "A1",
                "statsigCustomIDs": ["companyID", "acme", "segmentAnonymousId", "override", "dangling"],
                "statsigCustom": ["plan", "pro", "seats", 5], "statsigEnvironment": ["tier": "staging"],
            ],
            "context": ["ip": "203.0.113.7", "userAgent": "UA", "locale": "de-CH", "traits": ["email": "a@b.c"]],
        ])
        let e = try #require(SegmentMapper.map(m, settings: InboundSettings(), receivedAt: 0, fromSegment: false))
        #expect(e.eventName == "segment::Order Completed")
        #expect(e.value == .double(12.5))
        #expect(e.metadata == ["revenue": 12.5, "sku": "A1"])
        #expect(e.user.userID == "u1")
        // statsigCustomIDs wins over the mapped anonymousId; a dangling odd element is ignored.
        #expect(e.user.customIDs == ["companyID": "acme", "segmentAnonymousId": "override"])
        #expect(e.user.custom == ["plan": "pro", "seats": 5])
        #expect(e.user.tier == "staging")
        #expect(e.user.ip == "203.0.113.7")
        #expect(e.user.email == "a@b.c")
        #expect(e.messageId == "m1")
    }

    @Test func valueWinsOverRevenueAndPagesKeepNameAndCategory() throws {
        let page = try SegmentMessage(json: [
            "type": "page", "anonymousId": "anon", "name": "Pricing", "category": "Docs", "properties": ["value": 3, "revenue": 9],
        ])
        let e = try #require(SegmentMapper.map(page, settings: InboundSettings(), receivedAt: 0, fromSegment: false))
        #expect(e.eventName == "segment::page")
        #expect(e.value == 3)
        #expect(e.metadata["name"] == "Pricing")
        #expect(e.metadata["category"] == "Docs")
        #expect(e.user.customIDs["segmentAnonymousId"] == "anon")
        #expect(e.user.tier == "production")
    }

    @Test func identifierMappingsReadContextPaths() throws {
        var settings = InboundSettings()
        settings.identifierMappings = [IdentifierMapping(field: "context.device.id", idType: "deviceID")]
        let m = try SegmentMessage(json: ["type": "screen", "userId": "u", "name": "Home", "context": ["device": ["id": "d-1"]]])
        let e = try #require(SegmentMapper.map(m, settings: settings, receivedAt: 0, fromSegment: false))
        #expect(e.eventName == "segment::screen")
        #expect(e.user.customIDs == ["deviceID": "d-1"])
    }

    @Test func engageAudiencesFromIdentifyAndTrack() throws {
        let identify = try SegmentMessage(json: [
            "type": "identify", "userId": "u123", "traits": ["first_time_shopper": true],
            "context": ["personas": ["computation_class": "audience", "computation_key": "first_time_shopper"]],
            "timestamp": "2024-05-01T00:00:00Z",
        ])
        let change = try #require(SegmentMapper.audienceChange(identify, settings: InboundSettings(), receivedAt: 0, fromSegment: true))
        #expect(change.list == "first_time_shopper")
        #expect(change.member)
        #expect(change.user.userID == "u123")
        #expect(change.time == ISOTime.parse("2024-05-01T00:00:00Z"))
        let exit = try SegmentMessage(json: [
            "type": "track", "userId": "u123", "event": "Audience Exited",
            "properties": ["audience_key": "first_time_shopper", "first_time_shopper": false],
            "context": ["personas": ["computation_class": "audience", "computation_key": "first_time_shopper"]],
        ])
        #expect(SegmentMapper.audienceChange(exit, settings: InboundSettings(), receivedAt: 0, fromSegment: true)?.member == false)
        let computedTrait = try SegmentMessage(json: [
            "type": "identify", "userId": "u", "traits": ["ltv": true],
            "context": ["personas": ["computation_class": "trait", "computation_key": "ltv"]],
        ])
        #expect(SegmentMapper.audienceChange(computedTrait, settings: InboundSettings(), receivedAt: 0, fromSegment: true) == nil)
        let notBoolean = try SegmentMessage(json: [
            "type": "identify", "userId": "u", "traits": ["vip": "yes"],
            "context": ["personas": ["computation_key": "vip"]],
        ])
        #expect(SegmentMapper.audienceChange(notBoolean, settings: InboundSettings(), receivedAt: 0, fromSegment: true) == nil)
    }

    @Test func filtersByNameAndType() {
        let f = EventFilters(allowEvents: ["Order*", "Signed Up"], denyEvents: ["Order Test"], denyTypes: ["screen"])
        #expect(f.reject(type: .track, eventName: "Order Completed") == nil)
        #expect(f.reject(type: .track, eventName: "Signed Up") == nil)
        #expect(f.reject(type: .track, eventName: "Order Test") == "event_denied")
        #expect(f.reject(type: .track, eventName: "Clicked") == "event_not_allowed")
        #expect(f.reject(type: .screen, eventName: nil) == "type_denied")
        #expect(EventFilters(allowTypes: ["track"]).reject(type: .page, eventName: "x") == "type_not_allowed")
    }
}

@Suite("Segment signatures")
struct SegmentSignatureTests {
    static let body = #"{"type":"track","event":"Signed Up","userId":"u1","properties":{"plan":"pro","url":"https://x.io/a"}}"#

    /// The vector from the reference (checked there with node and python).
    @Test func matchesSegmentsVector() {
        #expect(SegmentSignature.sign(Array(Self.body.utf8), secret: "whsec_test") == "b745265bf29cc08df448b230603f2dd45a144c2d")
        #expect(SegmentSignature.verify(body: Array(Self.body.utf8), signature: "b745265bf29cc08df448b230603f2dd45a144c2d", secret: "whsec_test"))
        #expect(!SegmentSignature.verify(body: Array(Self.body.utf8), signature: "b745265bf29cc08df448b230603f2dd45a144c2e", secret: "whsec_test"))
        #expect(!SegmentSignature.verify(body: Array(Self.body.utf8), signature: "b745265bf29cc08df448b230603f2dd45a144c2d", secret: "other"))
    }

    /// Actions batches sign only the first element's raw bytes.
    @Test func batchesSignTheirFirstElement() {
        let batch = "[" + Self.body + #",{"type":"track","event":"x","userId":"u2"}]"#
        #expect(SegmentSignature.verify(body: Array(batch.utf8), signature: "b745265bf29cc08df448b230603f2dd45a144c2d", secret: "whsec_test"))
    }
}
