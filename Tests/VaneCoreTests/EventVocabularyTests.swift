import Testing
import VaneCore

/// The event vocabulary: one environment rule for every ingest path, and enums whose wire names
/// are the strings stored in the events table and sent to Segment.
@Suite struct EventVocabularyTests {
    static func user(tier: String?) -> StatsigUser {
        var u = StatsigUser(userID: "u1", customIDs: ["stableID": "s1", "companyID": "c1"])
        if let tier { u.statsigEnvironment["tier"] = .string(tier) }
        return u
    }

    @Test(arguments: [
        // (user's tier, key's environment, stored environment)
        ("staging", "development", "staging"),
        ("staging", nil, "staging"),
        (nil, "development", "development"),
        (nil, nil, "production"),
    ] as [(String?, String?, String)])
    func environmentIsTheTierThenTheKeyThenProduction(tier: String?, keyEnvironment: String?, expected: String) {
        let e = EventRecord(
            user: Self.user(tier: tier), project: "p", eventName: "purchase", value: .int(3), time: 10, receivedAt: 11,
            source: .sdk, sdkType: "js", keyEnvironment: keyEnvironment)
        #expect(e.environment == expected)
        #expect(EventRecord.environment(user: Self.user(tier: tier), keyEnvironment: keyEnvironment) == expected)
    }

    @Test func theFactoryFillsTheUnitColumnsFromTheUser() {
        let u = Self.user(tier: nil)
        let e = EventRecord(
            user: u, project: "p", eventName: ExposureKind.gate.wireName, metadata: ["gate": "g"], time: 10, receivedAt: 11,
            source: .httpAPI, sdkType: "vane-http", keyEnvironment: nil)
        #expect(e.project == "p" && e.userID == "u1" && e.stableID == "s1")
        #expect(e.customIDs == ["stableID": "s1", "companyID": "c1"])
        #expect(e.user == u.toJSON())
        #expect(e.value == nil && e.secondaryExposures == nil && e.id == nil && e.dedupe == nil && e.raw == nil)
        #expect(e.time == 10 && e.receivedAt == 11 && e.source == .httpAPI && e.sdkType == "vane-http")
        #expect(e.exposureKind == .gate && e.isReserved)
    }

    @Test func sourcesKeepTheirStoredNames() {
        #expect(EventSource.allCases.map(\.wireName) == ["sdk", "http_api", "segment"])
        for s in EventSource.allCases { #expect(EventSource(wireName: s.wireName) == s) }
        #expect(EventSource(wireName: "SDK") == nil)
        #expect(EventSource(wireName: "segment_engage") == nil)
    }

    @Test func exposuresKeepTheirStatsigNames() {
        #expect(ExposureKind.gate.wireName == "statsig::gate_exposure")
        #expect(ExposureKind.config.wireName == "statsig::config_exposure")
        #expect(ExposureKind.layer.wireName == "statsig::layer_exposure")
        #expect(ExposureKind.experiment.wireName == "statsig::experiment_exposure")
        for k in ExposureKind.allCases {
            #expect(ExposureKind(eventName: k.wireName) == k)
            #expect(ExposureKind.isReserved(k.wireName))
        }
    }

    @Test(arguments: [
        ("purchase", false), ("statsig::diagnostics", true), ("statsig::non_exposed_checks", true),
        ("statsig::some_other_exposure", true), ("STATSIG::gate_exposure", false), ("my statsig::gate_exposure", false),
    ])
    func otherNamesAreNotExposures(name: String, reserved: Bool) {
        #expect(ExposureKind(eventName: name) == nil)
        #expect(ExposureKind.isReserved(name) == reserved)
    }
}
