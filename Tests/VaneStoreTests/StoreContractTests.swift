import Foundation
import Testing
import VaneCore
import VaneTestSupport
@testable import VaneStore

/// The contract every store implementation meets. Each test runs against every store here: SQLite
/// in memory and in a file, and PostgreSQL (a real server the tests start, a fresh database each).
enum StoreUnderTest: String, CaseIterable, CustomTestStringConvertible {
    case sqliteMemory, sqliteFile, postgres

    var testDescription: String { rawValue }

    func make() async throws -> any VaneStore {
        switch self {
        case .sqliteMemory: return try SQLiteStore()
        case .sqliteFile:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vane-store-\(UUID().uuidString)").path
            return try SQLiteStore(directory: dir)
        case .postgres: return try await TestPostgres.freshStore()
        }
    }
}

private func audit(_ name: String, _ t: Int64 = 1000) -> AuditEntry {
    AuditEntry(time: t, actor: "tester", action: "created", kind: "gate", name: name, description: "test")
}

private func event(_ name: String, user: String, time: Int64, project: String = "default") -> EventRecord {
    EventRecord(project: project, eventName: name, user: ["userID": .string(user)], userID: user, stableID: nil,
                customIDs: [:], environment: "production", value: .double(1.5), metadata: ["k": "v"],
                secondaryExposures: nil, time: time, receivedAt: time, source: .sdk, sdkType: "test")
}

@Suite("Store contract")
struct StoreContractTests {
    @Test(arguments: StoreUnderTest.allCases)
    func bootstrapCreatesProjectAndKeysOnce(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        let keys = try await store.bootstrap(preset: PresetKeys(server: "secret-abc", client: nil, console: nil), now: 1)
        #expect(keys.count == 3)
        #expect(keys.first { $0.key.kind == .server }?.secret == "secret-abc")
        #expect(keys.first { $0.key.kind == .client }!.secret.hasPrefix("client-"))
        #expect(keys.first { $0.key.kind == .console }!.secret.hasPrefix("console-"))
        #expect(try await store.bootstrap(preset: PresetKeys(), now: 2).isEmpty)
        #expect(try await store.environments(project: "default") == ["development", "staging", "production"])
        let found = try await store.key(matching: "secret-abc")
        #expect(found?.kind == .server)
        #expect(try await store.key(matching: "secret-abd") == nil)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func revokedKeysStopMatching(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let issued = try await store.createKey(
            project: "default", kind: .client, environment: "staging", description: "web",
            allowedOrigins: ["https://app.example.com"], now: 5, actor: "tester")
        #expect(try await store.key(matching: issued.secret)?.environment == "staging")
        #expect(try await store.key(matching: issued.secret)?.allowedOrigins == ["https://app.example.com"])
        #expect(try await store.revokeKey(project: "default", id: issued.key.id, now: 6, actor: "tester"))
        #expect(try await store.key(matching: issued.secret) == nil)
        #expect(try await !store.revokeKey(project: "default", id: issued.key.id, now: 7, actor: "tester"))
        let audit = try await store.auditLog(project: "default", query: AuditQuery())
            .filter { $0.kind == "key" && $0.name == issued.key.id }
        #expect(audit.map(\.action).sorted() == ["created", "revoked"])
        #expect(audit.allSatisfy { $0.actor == "tester" && !$0.description.contains(issued.secret) })
    }

    @Test(arguments: StoreUnderTest.allCases)
    func entitiesSaveWithAuditAndBumpConfigTime(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let t0 = try await store.configTime(project: "default")
        var gate = Entity(kind: .gate, name: "beta")
        gate.rules = [EntityRule(id: "r1", name: "all", conditions: [EntityCondition(type: "public")])]
        try await store.save(project: "default", entity: gate, mustBeNew: true, audit: audit("beta", t0))
        let t1 = try await store.configTime(project: "default")
        #expect(t1 > t0)
        await #expect(throws: StoreError.self) {
            try await store.save(project: "default", entity: gate, mustBeNew: true, audit: audit("beta"))
        }
        gate.description = "changed"
        try await store.save(project: "default", entity: gate, mustBeNew: false, audit: audit("beta", t0))
        #expect(try await store.configTime(project: "default") > t1)
        #expect(try await store.entity(project: "default", kind: .gate, name: "beta")?.description == "changed")
        #expect(try await store.entity(project: "default", kind: .dynamicConfig, name: "beta") == nil)
        #expect(try await store.entities(project: "default", kind: .gate).map(\.name) == ["beta"])
        #expect(try await store.delete(project: "default", kind: .gate, name: "beta", audit: audit("beta")))
        #expect(try await !store.delete(project: "default", kind: .gate, name: "beta", audit: audit("beta")))
        let log = try await store.auditLog(project: "default", query: AuditQuery(kind: "gate"))
        #expect(log.count == 3)  // the failed duplicate create wrote nothing
        #expect(log.allSatisfy { $0.name == "beta" && $0.actor == "tester" })
    }

    @Test(arguments: StoreUnderTest.allCases)
    func idListsKeepAnAppendOnlyFile(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let info = try await store.createIDList(project: "default", name: "vips", now: 10, audit: audit("vips"))
        let r1 = try await store.changeIDList(project: "default", name: "vips", add: ["a", "b", "a"], remove: [], source: "test", now: 11, audit: nil)
        #expect(r1.added == 2)
        let r2 = try await store.changeIDList(project: "default", name: "vips", add: [], remove: ["a", "zzz"], source: "test", now: 12, audit: nil)
        #expect(r2.removed == 1)
        let listed = try await store.idList(project: "default", name: "vips")
        #expect(listed?.count == 1)
        #expect(listed?.fileSize == 30)
        let file = try #require(try await store.idListFile(project: "default", name: "vips", fileID: info.fileID, from: 0))
        let expected = "+\(StatsigHash.idListEntry("a"))\n+\(StatsigHash.idListEntry("b"))\n-\(StatsigHash.idListEntry("a"))\n"
        #expect(String(decoding: file, as: UTF8.self) == expected)
        let tail = try #require(try await store.idListFile(project: "default", name: "vips", fileID: info.fileID, from: 15))
        #expect(String(decoding: tail, as: UTF8.self) == String(expected.dropFirst(15)))
        #expect(try await store.idListFile(project: "default", name: "vips", fileID: "wrong", from: 0) == nil)
        #expect(try await store.idListEntries(project: "default")["vips"] == [StatsigHash.idListEntry("b")])
        let owner = try await store.idListFileOwner(fileID: info.fileID)
        #expect(owner?.name == "vips")
        await #expect(throws: StoreError.self) {
            _ = try await store.changeIDList(project: "default", name: "nope", add: ["x"], remove: [], source: "t", now: 1, audit: nil)
        }
    }

    @Test(arguments: StoreUnderTest.allCases)
    func eventsPageNewestFirstWithFilters(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        var batch: [EventRecord] = []
        for i in 0..<25 { batch.append(event(i % 2 == 0 ? "purchase" : "view", user: "u\(i % 5)", time: 1000 + Int64(i))) }
        batch.append(event("other_project", user: "u0", time: 5000, project: "elsewhere"))
        try await store.insertEvents(batch)
        #expect(try await store.eventCount(project: "default") == 25)
        var seen: [Int64] = []
        var cursor: EventCursor? = nil
        repeat {
            let page = try await store.events(project: "default", query: EventQuery(limit: 10, cursor: cursor))
            seen += page.events.map(\.time)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen == (0..<25).reversed().map { 1000 + Int64($0) })
        let purchases = try await store.events(project: "default", query: EventQuery(eventName: "purchase", userID: "u0"))
        #expect(purchases.events.map(\.time) == [1020, 1010, 1000])
        let window = try await store.events(project: "default", query: EventQuery(since: 1005, until: 1008))
        #expect(window.events.map(\.time) == [1007, 1006, 1005])
        let e = try #require(purchases.events.first)
        #expect(e.value == .double(1.5))
        #expect(e.metadata == ["k": "v"])
    }

    @Test(arguments: StoreUnderTest.allCases)
    func groupCommitAcknowledgesEveryConcurrentWriter(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        let writer = GroupCommitWriter(store: store)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<50 {
                group.addTask {
                    try await writer.write((0..<20).map { event("e", user: "w\(w)", time: Int64($0)) })
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.eventCount(project: "default") == 1000)
    }
}
