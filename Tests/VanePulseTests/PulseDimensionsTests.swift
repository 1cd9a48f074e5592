import Testing
import VaneCore
@testable import VanePulse

@Suite("Drill-down fields recorded with an assignment")
struct PulseDimensionsTests {
    static func exposure(user: JSONValue, environment: String? = nil, source: EventSource = .sdk, raw: JSONValue? = nil) -> EventRecord {
        var e = EventRecord(
            project: "default", eventName: "statsig::config_exposure", user: user, userID: "u1", stableID: nil, customIDs: [:],
            environment: environment, value: nil, metadata: nil, secondaryExposures: nil, time: 0, receivedAt: 0, source: source, sdkType: nil)
        e.raw = raw
        return e
    }

    @Test func userFieldsCustomFieldsAndTheEnvironment() {
        let d = PulseDimensions.of(Self.exposure(user: [
            "userID": "u1", "email": "a@b.c", "ip": "1.2.3.4", "country": "DE", "locale": "de_DE", "appVersion": "2.1",
            "statsigEnvironment": ["tier": "staging"],
            "custom": ["plan": "pro", "seats": .int(12), "beta": .bool(true), "score": .double(0.5), "tags": ["a"], "empty": ""],
        ]))
        #expect(d == [
            "environment": "staging", "country": "DE", "locale": "de_DE", "appVersion": "2.1",
            "custom.plan": "pro", "custom.seats": "12", "custom.beta": "true", "custom.score": "0.5",
        ])
    }

    @Test func theEventsEnvironmentWinsOverTheUsers() {
        #expect(PulseDimensions.of(Self.exposure(user: ["statsigEnvironment": ["tier": "staging"]], environment: "production"))["environment"] == "production")
    }

    @Test func segmentContextFieldsButNothingThatIdentifiesAPerson() {
        let raw: JSONValue = ["context": [
            "ip": "1.2.3.4", "userAgent": "Mozilla", "locale": "en-US", "traits": ["email": "a@b.c"],
            "device": ["type": "ios", "id": "d1"], "campaign": ["source": "newsletter"], "os": ["name": "iOS", "version": "17"],
        ]]
        let d = PulseDimensions.of(Self.exposure(user: [:], source: .segment, raw: raw))
        #expect(d["context.locale"] == "en-US" && d["context.device.type"] == "ios" && d["context.campaign.source"] == "newsletter")
        #expect(d["context.ip"] == nil && d["context.userAgent"] == nil && d.keys.allSatisfy { !$0.contains("traits") })
        // Context is read only from messages that came through Segment.
        #expect(PulseDimensions.of(Self.exposure(user: [:], source: .sdk, raw: raw)).isEmpty)
    }

    @Test func boundedInCountAndLength() {
        var custom: [String: JSONValue] = [:]
        for i in 0..<100 { custom["f\(i)"] = .string(String(repeating: "x", count: 500)) }
        custom["bad\"name"] = "v"
        let d = PulseDimensions.of(Self.exposure(user: ["custom": .object(custom)]))
        #expect(d.count == PulseDimensions.maxFields)
        #expect(d.values.allSatisfy { $0.count == PulseDimensions.maxValueLength })
        #expect(d.keys.allSatisfy(PulseDimensions.isValidName))
    }

    @Test func names() {
        #expect(PulseDimensions.isValidName("custom.plan") && PulseDimensions.isValidName("context.device.type"))
        #expect(!PulseDimensions.isValidName("") && !PulseDimensions.isValidName("a\"b") && !PulseDimensions.isValidName(String(repeating: "a", count: 65)))
        #expect(!PulseDimensions.isValidName("é") && !PulseDimensions.isValidName("a b") && !PulseDimensions.isValidName("$.x"))
    }
}
