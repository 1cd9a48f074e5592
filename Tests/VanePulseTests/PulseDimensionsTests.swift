import Testing
import VaneCore
@testable import VanePulse

@Suite("Drill-down fields recorded with an assignment")
struct PulseDimensionsTests {
    static func exposure(user: JSONValue, environment: String? = nil) -> EventRecord {
        EventRecord(
            project: "default", eventName: "statsig::config_exposure", user: user, userID: "u1", stableID: nil, customIDs: [:],
            environment: environment, value: nil, metadata: nil, secondaryExposures: nil, time: 0, receivedAt: 0, source: .sdk, sdkType: nil)
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
