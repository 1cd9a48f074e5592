import Foundation
import Synchronization
import Testing
import VaneCore
import VaneTestSupport
@testable import VaneStore

/// The ChangeFeed contract: what SDK answers depend on bumps the counter, ingest does not; on
/// PostgreSQL another node hears of a change by notification.
@Suite("Change feed contract")
struct ChangeFeedContractTests {
    static func audit(_ name: String) -> AuditEntry {
        AuditEntry(time: 1, actor: "tester", action: "created", kind: "gate", name: name, description: "test")
    }

    static func gate(_ name: String) -> Entity {
        var e = Entity(kind: .gate, name: name)
        e.rules = [EntityRule(id: "r_" + name, name: "all", conditions: [EntityCondition(type: "public")], salt: "s_" + name)]
        e.salt = "salt_" + name
        return e
    }

    @Test(arguments: StoreUnderTest.allCases)
    func configurationChangesBumpTheCounterAndEventsDoNot(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let start = try await store.changeVersion()
        try await store.insertEvents([EventRecord(
            project: "default", eventName: "e", user: ["userID": "u"], userID: "u", stableID: nil, customIDs: [:],
            environment: nil, value: nil, metadata: nil, secondaryExposures: nil, time: 5, receivedAt: 5, source: .sdk, sdkType: nil)])
        #expect(try await store.changeVersion() == start, "ingest is not a configuration change")
        try await store.save(project: "default", entity: Self.gate("g"), mustBeNew: true, audit: Self.audit("g"))
        let afterGate = try await store.changeVersion()
        #expect(afterGate > start)
        try await store.putSetting(project: "default", name: "s", value: ["a": 1], audit: Self.audit("s"))
        #expect(try await store.changeVersion() > afterGate)
    }

    @Test func anotherNodeIsNotifiedOfAChange() async throws {
        let url = try await TestPostgres.freshDatabase()
        let listener = try await PostgresStore.open(url: url)
        let writer = try await PostgresStore.open(url: url)
        defer { listener.close(); writer.close() }
        _ = try await writer.bootstrap(preset: PresetKeys(), now: 1)
        let heard = Mutex(0)
        let listening = Task { try await listener.listenForChanges { heard.withLock { $0 += 1 } } }
        defer { listening.cancel() }
        // LISTEN takes effect once the connection has sent it: keep changing until one is heard.
        let deadline = ContinuousClock.now + .seconds(10)
        var n = 0
        while heard.withLock({ $0 }) == 0, ContinuousClock.now < deadline {
            n += 1
            try await writer.save(project: "default", entity: Self.gate("g\(n)"), mustBeNew: true, audit: Self.audit("g\(n)"))
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(heard.withLock { $0 } > 0, "no notification after \(n) changes")
    }

    @Test func sqliteHasNothingToListenTo() async throws {
        let store = try SQLiteStore()
        try await store.listenForChanges { Issue.record("SQLite cannot notify") }
    }
}
