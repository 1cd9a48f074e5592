import Foundation
import GRDB
import Testing
import VaneCore
import VaneTestSupport
@testable import VaneStore

/// More of the store contract: the event log (dedupe window, positions, retention), the Segment
/// exporter's state and dead letters, usage counters, settings, parameter stores, console users and
/// sessions. Each test runs against every store.

private func audit(_ name: String, kind: String = "setting", _ t: Int64 = 1000) -> AuditEntry {
    AuditEntry(time: t, actor: "tester", action: "updated", kind: kind, name: name, description: "test \(name)")
}

private func event(
    _ name: String, user: String = "u1", time: Int64, receivedAt: Int64? = nil, project: String = "default",
    source: EventSource = .sdk, dedupe: DedupeKey? = nil
) -> EventRecord {
    var e = EventRecord(
        project: project, eventName: name, user: ["userID": .string(user)], userID: user, stableID: nil, customIDs: [:],
        environment: "production", value: nil, metadata: nil, secondaryExposures: nil, time: time,
        receivedAt: receivedAt ?? time, source: source, sdkType: "test")
    e.dedupe = dedupe
    return e
}

private func user(_ id: String, _ email: String, disabledAt: Int64? = nil) -> ConsoleUser {
    ConsoleUser(id: id, email: email, name: "User \(id)", role: .editor, passwordHash: "hash-\(id)", createdAt: 10, disabledAt: disabledAt)
}

/// Sets the Pulse rollup's cursor directly (the rollup itself is tested elsewhere).
private func setPulseCursor(_ store: any VaneStore, project: String, _ cursor: Int64) async throws {
    if let s = store as? SQLiteStore {
        try await s.db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO pulse_state (project_id, cursor, version) VALUES (?, ?, 'test')
                    ON CONFLICT (project_id) DO UPDATE SET cursor = excluded.cursor
                    """,
                arguments: [project, cursor])
        }
    } else if let s = store as? PostgresStore {
        try await s.db.write { c in
            try await c.execute(
                """
                INSERT INTO pulse_state (project_id, cursor, version) VALUES (?, ?, 'test')
                ON CONFLICT (project_id) DO UPDATE SET cursor = excluded.cursor
                """,
                [project, cursor])
        }
    } else {
        Issue.record("unknown store \(type(of: store))")
    }
}

@Suite("Store contract: events and delivery")
struct EventAndDeliveryContractTests {
    /// Text SQLite keeps but PostgreSQL cannot (U+0000) and a non-finite value must not fail the
    /// batch they arrive in: the other events of a group commit belong to other clients.
    @Test(arguments: StoreUnderTest.allCases)
    func awkwardTextAndNonFiniteValuesDoNotFailTheBatch(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        var odd = event("nul\u{0}name", user: "u\u{0}1", time: 1_000)
        odd.value = .double(.nan)
        var fine = event("fine", user: "u2", time: 1_001)
        fine.value = .double(2.5)
        let ids = try await store.insertEvents([odd, fine])
        #expect(ids.compactMap { $0 }.count == 2)
        let stored = try await store.event(project: "default", id: ids[0]!)
        #expect(stored?.value == nil)
        #expect(stored?.eventName == "nul\u{FFFD}name")
        #expect(try await store.event(project: "default", id: ids[1]!)?.value?.doubleValue == 2.5)
    }

    // MARK: Event log

    @Test(arguments: StoreUnderTest.allCases)
    func dedupeKeysBlockRepeatsOnlyInsideTheWindow(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        func key(_ id: String, notBefore: Int64, scope: String = "segment") -> DedupeKey {
            DedupeKey(scope: scope, messageID: id, notBefore: notBefore)
        }
        // First sighting at 1000: stored. Within one batch, the second copy is already a repeat.
        let first = try await store.insertEvents([
            event("a", time: 1, receivedAt: 1000, dedupe: key("m1", notBefore: 0)),
            event("a", time: 1, receivedAt: 1000, dedupe: key("m1", notBefore: 0)),
            event("plain", time: 1, receivedAt: 1000),
        ])
        #expect(first.count == 3)
        #expect(first[0] != nil)
        #expect(first[1] == nil)
        #expect(first[2] != nil)
        // Inside the window (the key was first seen at 1000, the window starts at 1000): a repeat.
        #expect(try await store.insertEvents([event("a", time: 2, receivedAt: 2000, dedupe: key("m1", notBefore: 1000))]) == [nil])
        // The same message id in another scope or another project is another key.
        let other = try await store.insertEvents([
            event("a", time: 3, receivedAt: 2000, dedupe: key("m1", notBefore: 1000, scope: "other")),
            event("a", time: 3, receivedAt: 2000, project: "elsewhere", dedupe: key("m1", notBefore: 1000)),
        ])
        #expect(other.allSatisfy { $0 != nil })
        // After the window (first seen at 1000, the window now starts at 1001): stored again, and
        // the key is refreshed to this sighting.
        let again = try await store.insertEvents([event("b", time: 4, receivedAt: 5000, dedupe: key("m1", notBefore: 1001))])
        let againID = try #require(again.first ?? nil)
        #expect(againID > first[2]!)
        #expect(try await store.insertEvents([event("b", time: 5, receivedAt: 6000, dedupe: key("m1", notBefore: 4500))]) == [nil])
        #expect(try await store.insertEvents([event("b", time: 6, receivedAt: 7000, dedupe: key("m1", notBefore: 5001))]).first! != nil)
        #expect(try await store.eventCount(project: "default") == 5)
        #expect(try await store.eventCount(project: "elsewhere") == 1)
        #expect(try await store.event(project: "default", id: againID)?.eventName == "b")
        #expect(try await store.event(project: "elsewhere", id: againID) == nil)
        #expect(try await store.insertEvents([]) == [])
    }

    @Test(arguments: StoreUnderTest.allCases)
    func eventsRoundTripEveryField(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        var full = EventRecord(
            project: "default", eventName: "purchase", user: ["userID": "u9", "custom": ["plan": "pro"]], userID: "u9",
            stableID: "s9", customIDs: ["stableID": "s9", "companyID": "c1"], environment: "staging", value: .int(3),
            metadata: ["sku": "A-1", "qty": 2], secondaryExposures: [["gate": "g", "gateValue": "true", "ruleID": "r"]],
            time: 1234, receivedAt: 1240, source: .segment, sdkType: "segment")
        full.raw = ["type": "track", "messageId": "m-raw"]
        var text = event("label", time: 1300)
        text.value = .string("gold")
        var flag = event("flag", time: 1301)
        flag.value = .bool(true)
        var real = event("real", time: 1302)
        real.value = .double(2.25)
        let ids = try await store.insertEvents([full, text, flag, real]).map { try #require($0) }
        #expect(ids == ids.sorted() && Set(ids).count == 4)
        let got = try #require(try await store.event(project: "default", id: ids[0]))
        #expect(got.id == ids[0])
        #expect(got.project == "default")
        #expect(got.eventName == "purchase")
        #expect(got.user == full.user)
        #expect(got.userID == "u9")
        #expect(got.stableID == "s9")
        #expect(got.customIDs == ["stableID": "s9", "companyID": "c1"])
        #expect(got.environment == "staging")
        #expect(got.value == .int(3))
        #expect(got.metadata == full.metadata)
        #expect(got.secondaryExposures == full.secondaryExposures)
        #expect(got.time == 1234)
        #expect(got.receivedAt == 1240)
        #expect(got.source == .segment)
        #expect(got.sdkType == "segment")
        #expect(got.raw == full.raw)
        #expect(try await store.event(project: "default", id: ids[1])?.value == .string("gold"))
        #expect(try await store.event(project: "default", id: ids[2])?.value == .string("true"))
        #expect(try await store.event(project: "default", id: ids[3])?.value == .double(2.25))
        let plain = try #require(try await store.event(project: "default", id: ids[1]))
        #expect(plain.customIDs.isEmpty && plain.stableID == nil && plain.metadata == nil && plain.raw == nil)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func eventsAfterAPositionComeInLogOrder(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        #expect(try await store.lastIDs(project: "default").event == 0)
        // Event times out of order: the log order is the id order, not the time order.
        var ids: [Int64] = []
        for batch in 0..<3 {
            let records = (0..<4).map { i in event("e\(batch)-\(i)", time: Int64(100 - batch * 10 - i)) }
                + [event("x", time: 1, project: "elsewhere")]
            ids += try await store.insertEvents(records).enumerated().filter { $0.offset < 4 }.map { try #require($0.element) }
        }
        #expect(ids == ids.sorted())
        let page1 = try await store.events(project: "default", afterID: 0, limit: 5)
        #expect(page1.map(\.id) == ids.prefix(5).map { Optional($0) })
        #expect(page1.map(\.eventName) == ["e0-0", "e0-1", "e0-2", "e0-3", "e1-0"])
        let page2 = try await store.events(project: "default", afterID: page1.last!.id!, limit: 100)
        #expect(page2.map { $0.id! } == Array(ids.dropFirst(5)))
        #expect(try await store.events(project: "default", afterID: ids.last!, limit: 10).isEmpty)
        #expect(try await store.countEvents(project: "default", afterID: 0) == 12)
        #expect(try await store.countEvents(project: "default", afterID: ids[9]) == 2)
        #expect(try await store.countEvents(project: "elsewhere", afterID: 0) == 3)
        #expect(try await store.lastIDs(project: "default").event == ids.last!)
        let elsewhere = try await store.events(project: "elsewhere", afterID: 0, limit: 10)
        #expect(elsewhere.count == 3 && elsewhere.allSatisfy { $0.project == "elsewhere" })
        #expect(try await store.lastIDs(project: "elsewhere").event == elsewhere.last!.id!)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func eventQueriesFilterBySourceAndCountBySource(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        try await store.insertEvents([
            event("purchase", time: 100, source: .sdk),
            event("statsig::gate_exposure", time: 101, source: .sdk),
            event("statsig::diagnostics", time: 102, source: .sdk),
            event("statsig::config_exposure", time: 103, source: .httpAPI),
            event("track", time: 104, source: .segment),
            event("track", time: 105, source: .segment),
            event("old", time: 50, source: .segment),
            event("STATSIG::gate_exposure", time: 106, source: .sdk),
            event("elsewhere", time: 107, project: "other", source: .sdk),
        ])
        let counts = try await store.eventCountsBySource(project: "default", since: 100)
        #expect(Set(counts.keys) == ["sdk", "http_api", "segment"])
        // Events: not in the reserved namespace (case-sensitive); exposures: the exposure names.
        #expect(counts["sdk"]?.events == 2)
        #expect(counts["sdk"]?.exposures == 1)
        #expect(counts["http_api"]?.events == 0)
        #expect(counts["http_api"]?.exposures == 1)
        #expect(counts["segment"]?.events == 2)
        #expect(counts["segment"]?.exposures == 0)
        #expect(try await store.eventCountsBySource(project: "default", since: 1000).isEmpty)
        let segment = try await store.events(project: "default", query: EventQuery(source: "segment"))
        #expect(segment.events.map(\.time) == [105, 104, 50])
        #expect(segment.nextCursor == nil)
        #expect(try await store.events(project: "default", query: EventQuery(source: "SDK")).events.isEmpty)
        let limited = try await store.events(project: "default", query: EventQuery(limit: 0))
        #expect(limited.events.count == 1 && limited.nextCursor != nil)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func eventNamesMatchExactlyByPrefixOrBySubstringCaseSensitively(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        try await store.insertEvents([
            event("checkout_started", time: 1), event("checkout_done", time: 2), event("Checkout_legacy", time: 3),
            event("page_checkout", time: 4), event("checkout", time: 5), event("ünïcode_checkout_é", time: 6),
            event("100%_done", time: 7), event("1000_done", time: 8),
        ])
        func names(_ name: String, _ match: EventNameMatch) async throws -> [String] {
            var q = EventQuery(eventName: name)
            q.eventNameMatch = match
            return try await store.events(project: "default", query: q).events.map(\.eventName).sorted()
        }
        #expect(try await names("checkout", .exact) == ["checkout"])
        #expect(try await names("checkout", .prefix) == ["checkout", "checkout_done", "checkout_started"])
        #expect(try await names("checkout", .contains) == ["checkout", "checkout_done", "checkout_started", "page_checkout", "ünïcode_checkout_é"])
        #expect(try await names("ünïcode_", .prefix) == ["ünïcode_checkout_é"], "characters, not bytes")
        // LIKE's wildcards mean nothing here.
        #expect(try await names("100%", .prefix) == ["100%_done"])
        #expect(try await names("_done", .contains) == ["100%_done", "1000_done", "checkout_done"])
        #expect(try await names("%", .contains) == ["100%_done"])
    }

    @Test(arguments: StoreUnderTest.allCases)
    func pruneRespectsBothCursorsTheCutoffAndTheLimit(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        let ids = try await store.insertEvents((0..<10).map { event("e", time: 100 + Int64($0)) }).map { try #require($0) }
        try await store.insertEvents((0..<3).map { event("o", time: 10 + Int64($0), project: "other") })
        func remaining() async throws -> [Int64] {
            try await store.events(project: "default", afterID: 0, limit: 100).map { $0.id! }
        }
        // No rollup state: the rollup has read nothing, so nothing may go.
        #expect(try await store.pruneEvents(project: "default", before: 10_000, holdForSegmentExport: false, limit: 100) == 0)
        try await setPulseCursor(store, project: "default", ids[5])
        // Holding for the exporter, which has no state yet: nothing may go.
        #expect(try await store.pruneEvents(project: "default", before: 10_000, holdForSegmentExport: true, limit: 100) == 0)
        var out = OutboundState()
        out.eventCursor = ids[2]
        try await store.saveOutbound(project: "default", state: out, newDeadLetters: [], resolvedDeadLetters: [])
        // The exporter's cursor is the lower one.
        #expect(try await store.pruneEvents(project: "default", before: 10_000, holdForSegmentExport: true, limit: 100) == 3)
        #expect(try await remaining() == Array(ids.dropFirst(3)))
        // Not holding for the exporter: the rollup's cursor; the cutoff is on event time (before, not at).
        #expect(try await store.pruneEvents(project: "default", before: 104, holdForSegmentExport: false, limit: 100) == 1)
        #expect(try await store.pruneEvents(project: "default", before: 104, holdForSegmentExport: false, limit: 100) == 0)
        #expect(try await store.pruneEvents(project: "default", before: 10_000, holdForSegmentExport: false, limit: 0) == 0)
        #expect(try await store.pruneEvents(project: "default", before: 10_000, holdForSegmentExport: false, limit: 1) == 1)
        #expect(try await store.pruneEvents(project: "default", before: 10_000, holdForSegmentExport: false, limit: 100) == 1)
        #expect(try await store.pruneEvents(project: "default", before: 10_000, holdForSegmentExport: false, limit: 100) == 0)
        #expect(try await remaining() == Array(ids.dropFirst(6)))
        // A cursor moved back (a rebuild) protects everything again.
        try await setPulseCursor(store, project: "default", 0)
        #expect(try await store.pruneEvents(project: "default", before: 10_000, holdForSegmentExport: false, limit: 100) == 0)
        #expect(try await store.eventCount(project: "other") == 3)
        // Ids are never reused after a prune.
        let next = try #require(try await store.insertEvents([event("new", time: 1)]).first ?? nil)
        #expect(next > ids.last!)
    }

    // MARK: Segment exporter

    @Test(arguments: StoreUnderTest.allCases)
    func outboundStateSavesAndLoads(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        #expect(try await store.outboundState(project: "default") == OutboundState())
        var s = OutboundState()
        s.eventCursor = 42
        s.auditCursor = 7
        s.delivered = 1000
        s.requests = 12
        s.lastSuccess = 5000
        s.lastError = "HTTP 500"
        s.lastErrorTime = 4000
        try await store.saveOutbound(project: "default", state: s, newDeadLetters: [], resolvedDeadLetters: [])
        #expect(try await store.outboundState(project: "default") == s)
        #expect(try await store.outboundState(project: "other") == OutboundState())
        // A later save replaces every field, clearing the error.
        var t = s
        t.eventCursor = 50
        t.delivered = 1010
        t.requests = 13
        t.lastSuccess = 6000
        t.lastError = nil
        t.lastErrorTime = nil
        try await store.saveOutbound(project: "default", state: t, newDeadLetters: [], resolvedDeadLetters: [])
        #expect(try await store.outboundState(project: "default") == t)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func deadLettersAreKeptRetriedAndResolved(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        let messages: [JSONValue] = [["type": "track", "event": "a"], ["type": "track", "event": "b"], ["type": "identify"]]
        let letters = [
            DeadLetter(message: messages[0], reason: "rejected", createdAt: 100),
            DeadLetter(message: messages[1], reason: "rejected", createdAt: 101, retryRequested: true),
            DeadLetter(message: messages[2], reason: "too_large", createdAt: 102),
        ]
        var state = OutboundState()
        state.eventCursor = 3
        try await store.saveOutbound(project: "default", state: state, newDeadLetters: letters, resolvedDeadLetters: [])
        try await store.saveOutbound(
            project: "other", state: OutboundState(), newDeadLetters: [DeadLetter(message: "x", reason: "rejected", createdAt: 1)],
            resolvedDeadLetters: [])
        let all = try await store.deadLetters(project: "default", retryRequestedOnly: false, limit: 100)
        #expect(all.map(\.message) == messages)
        #expect(all.map(\.reason) == ["rejected", "rejected", "too_large"])
        #expect(all.map(\.createdAt) == [100, 101, 102])
        // New dead letters start without a retry request, whatever the value passed.
        #expect(all.allSatisfy { !$0.retryRequested })
        let ids = all.map { $0.id! }
        #expect(ids == ids.sorted() && Set(ids).count == 3)
        #expect(try await store.deadLetters(project: "default", retryRequestedOnly: false, limit: 2).map(\.id) == Array(all.prefix(2).map(\.id)))
        #expect(try await store.deadLetterCounts(project: "default") == ["rejected": 2, "too_large": 1])
        #expect(try await store.deadLetterCounts(project: "other") == ["rejected": 1])
        #expect(try await store.deadLetters(project: "default", retryRequestedOnly: true, limit: 100).isEmpty)

        // Retry one (an unknown id and another project's id count for nothing).
        let otherID = try #require(try await store.deadLetters(project: "other", retryRequestedOnly: false, limit: 10).first?.id)
        #expect(try await store.requestDeadLetterRetry(project: "default", ids: [ids[1], 999_999, otherID]) == 1)
        let retried = try await store.deadLetters(project: "default", retryRequestedOnly: true, limit: 100)
        #expect(retried.map(\.id) == [ids[1]])
        #expect(retried.first?.retryRequested == true)
        #expect(try await store.deadLetters(project: "other", retryRequestedOnly: true, limit: 100).isEmpty)
        // Retry all of a project: every row counts.
        #expect(try await store.requestDeadLetterRetry(project: "default", ids: nil) == 3)
        #expect(try await store.deadLetters(project: "default", retryRequestedOnly: true, limit: 100).count == 3)
        #expect(try await store.deadLetters(project: "other", retryRequestedOnly: true, limit: 100).isEmpty)

        // Resolving deletes them, with the state, in one save; another project's ids are untouched.
        state.eventCursor = 9
        try await store.saveOutbound(project: "default", state: state, newDeadLetters: [], resolvedDeadLetters: [ids[0], ids[1], otherID])
        #expect(try await store.deadLetters(project: "default", retryRequestedOnly: false, limit: 100).map(\.id) == [ids[2]])
        #expect(try await store.deadLetterCounts(project: "default") == ["too_large": 1])
        #expect(try await store.deadLetterCounts(project: "other") == ["rejected": 1])
        #expect(try await store.outboundState(project: "default").eventCursor == 9)
        #expect(try await store.requestDeadLetterRetry(project: "nobody", ids: nil) == 0)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func auditEntriesAfterAPositionAndLastIDs(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        #expect(try await store.lastIDs(project: "default").audit == 0)
        for i in 0..<5 {
            try await store.putSetting(project: i == 2 ? "other" : "default", name: "s\(i)", value: .int(Int64(i)), audit: audit("s\(i)", Int64(i)))
        }
        let all = try await store.auditEntries(project: "default", afterID: 0, limit: 100)
        #expect(all.map(\.name) == ["s0", "s1", "s3", "s4"])
        #expect(all.map(\.time) == [0, 1, 3, 4])
        #expect(all.allSatisfy { $0.actor == "tester" && $0.kind == "setting" && $0.action == "updated" })
        #expect(all.first?.description == "test s0")
        let ids = all.map { $0.id! }
        #expect(ids == ids.sorted())
        #expect(try await store.auditEntries(project: "default", afterID: ids[1], limit: 1).map(\.name) == ["s3"])
        #expect(try await store.lastIDs(project: "default").audit == ids.last!)
        #expect(try await store.auditEntries(project: "other", afterID: 0, limit: 10).map(\.name) == ["s2"])
    }

    // MARK: Usage, settings, parameter stores

    @Test(arguments: StoreUnderTest.allCases)
    func usageCountersAddUp(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        try await store.addUsage(project: "default", [
            UsageCount(day: "2026-01-02", source: "segment", category: "ingested", reason: "", count: 5),
            UsageCount(day: "2026-01-02", source: "segment", category: "ingested", reason: "", count: 2),
            UsageCount(day: "2026-01-02", source: "segment", category: "invalid", reason: "no_user", count: 1),
            UsageCount(day: "2026-01-01", source: "segment", category: "duplicate", reason: "message_id", count: 4),
            UsageCount(day: "2026-01-02", source: "sdk", category: "ingested", reason: "", count: 9),
        ])
        try await store.addUsage(project: "default", [
            UsageCount(day: "2026-01-02", source: "segment", category: "ingested", reason: "", count: 3),
            UsageCount(day: "2026-01-02", source: "segment", category: "invalid", reason: "bad_time", count: 6),
            UsageCount(day: "2026-01-03", source: "segment", category: "filtered", reason: "event", count: 1),
        ])
        try await store.addUsage(project: "other", [UsageCount(day: "2026-01-02", source: "segment", category: "ingested", reason: "", count: 100)])
        try await store.addUsage(project: "default", [])
        let rows = try await store.usage(project: "default", source: "segment", sinceDay: "2026-01-01")
        #expect(rows == [
            UsageCount(day: "2026-01-01", source: "segment", category: "duplicate", reason: "message_id", count: 4),
            UsageCount(day: "2026-01-02", source: "segment", category: "ingested", reason: "", count: 10),
            UsageCount(day: "2026-01-02", source: "segment", category: "invalid", reason: "bad_time", count: 6),
            UsageCount(day: "2026-01-02", source: "segment", category: "invalid", reason: "no_user", count: 1),
            UsageCount(day: "2026-01-03", source: "segment", category: "filtered", reason: "event", count: 1),
        ])
        #expect(try await store.usage(project: "default", source: "segment", sinceDay: "2026-01-02").count == 4)
        #expect(try await store.usage(project: "default", source: "sdk", sinceDay: "2026-01-01").map(\.count) == [9])
        #expect(try await store.usage(project: "other", source: "segment", sinceDay: "2026-01-01").map(\.count) == [100])
        #expect(try await store.usage(project: "default", source: "segment", sinceDay: "2026-01-04").isEmpty)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func settingsPutAndGet(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        #expect(try await store.setting(project: "default", name: "segment") == nil)
        let value: JSONValue = ["enabled": true, "writeKey": "wk_1", "nested": ["b": 2, "a": [1, 2.5, "x", .null]]]
        try await store.putSetting(project: "default", name: "segment", value: value, audit: audit("segment"))
        #expect(try await store.setting(project: "default", name: "segment") == value)
        #expect(try await store.setting(project: "default", name: "Segment") == nil)
        #expect(try await store.setting(project: "other", name: "segment") == nil)
        try await store.putSetting(project: "default", name: "segment", value: ["enabled": false], audit: audit("segment", 2000))
        #expect(try await store.setting(project: "default", name: "segment") == ["enabled": false])
        let log = try await store.auditEntries(project: "default", afterID: 0, limit: 10)
        #expect(log.map(\.time) == [1000, 2000])
        #expect(try await store.projects() == [])
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        #expect(try await store.projects() == ["default"])
    }

    @Test(arguments: StoreUnderTest.allCases)
    func parameterStoresCountVersions(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        let t0 = try await store.configTime(project: "default")
        let params: [String: JSONValue] = ["color": ["ref_type": "static", "param_type": "string", "value": "blue"]]
        let created = try await store.saveParameterStore(
            project: "default", ParameterStore(name: "web", description: "Web", parameters: params, version: 77), mustBeNew: true,
            audit: audit("web", kind: "param_store"))
        #expect(created.version == 1)
        let t1 = try await store.configTime(project: "default")
        #expect(t1 > t0)
        await #expect(throws: StoreError.conflict("a parameter store named 'web' already exists")) {
            _ = try await store.saveParameterStore(
                project: "default", ParameterStore(name: "web", parameters: [:]), mustBeNew: true, audit: audit("web", kind: "param_store"))
        }
        var changed = created
        changed.description = "Web v2"
        changed.parameters["size"] = ["ref_type": "static", "param_type": "number", "value": 3]
        #expect(try await store.saveParameterStore(project: "default", changed, mustBeNew: false, audit: audit("web", kind: "param_store")).version == 2)
        #expect(try await store.saveParameterStore(project: "default", changed, mustBeNew: false, audit: audit("web", kind: "param_store")).version == 3)
        #expect(try await store.configTime(project: "default") > t1)
        _ = try await store.saveParameterStore(
            project: "default", ParameterStore(name: "app", parameters: [:]), mustBeNew: false, audit: audit("app", kind: "param_store"))
        let listed = try await store.parameterStores(project: "default")
        #expect(listed.map(\.name) == ["app", "web"])
        #expect(listed.map(\.version) == [1, 3])
        #expect(listed.last?.description == "Web v2")
        #expect(listed.last?.parameters == changed.parameters)
        #expect(try await store.parameterStores(project: "other").isEmpty)
        #expect(try await store.deleteParameterStore(project: "default", name: "web", audit: audit("web", kind: "param_store")))
        #expect(try await !store.deleteParameterStore(project: "default", name: "web", audit: audit("web", kind: "param_store")))
        // Recreated, it starts again at version 1.
        #expect(try await store.saveParameterStore(
            project: "default", ParameterStore(name: "web", parameters: [:]), mustBeNew: true, audit: audit("web", kind: "param_store")).version == 1)
        let log = try await store.auditLog(project: "default", query: AuditQuery(kind: "param_store"))
        #expect(log.count == 6)  // the refused create and the second delete wrote nothing
    }

    // MARK: Console users and sessions

    @Test(arguments: StoreUnderTest.allCases)
    func usersAreUniqueByEmailIgnoringCase(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        #expect(try await store.userCount() == 0)
        try await store.createUser(user("u1", "Ada@Example.com"), audit: audit("Ada@Example.com", kind: "user"))
        await #expect(throws: StoreError.conflict("a user with email 'ada@example.COM' already exists")) {
            try await store.createUser(user("u2", "ada@example.COM"), audit: audit("dup", kind: "user"))
        }
        #expect(try await store.userCount() == 1)
        #expect(try await store.user(email: "ADA@example.com")?.id == "u1")
        #expect(try await store.user(email: "Ada@Example.com") == user("u1", "Ada@Example.com"))
        #expect(try await store.user(email: "ada@example.org") == nil)
        try await store.createUser(user("u3", "bob@example.com"), audit: nil)
        try await store.createUser(user("u4", "Carol@example.com"), audit: nil)
        #expect(try await store.users().map(\.id) == ["u1", "u3", "u4"])
        // Only the audited create wrote an entry (under project default).
        #expect(try await store.auditEntries(project: "default", afterID: 0, limit: 10).map(\.name) == ["Ada@Example.com"])

        var bob = user("u3", "Bob@Example.com")
        bob.role = .admin
        bob.name = "Robert"
        try await store.updateUser(bob, audit: audit("bob", kind: "user"))
        #expect(try await store.user(email: "bob@example.com") == bob)
        await #expect(throws: StoreError.notFound("no user with id 'nobody'")) {
            try await store.updateUser(user("nobody", "nobody@example.com"), audit: nil)
        }
        // Taking another user's email (in any case) fails and changes nothing.
        var clash = bob
        clash.email = "CAROL@example.com"
        await #expect(throws: (any Error).self) { try await store.updateUser(clash, audit: nil) }
        #expect(try await store.user(email: "bob@example.com") == bob)
        #expect(try await store.auditEntries(project: "default", afterID: 0, limit: 10).count == 2)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func sessionsExpireAndAreDeleted(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        let ada = user("u1", "ada@example.com")
        let bob = user("u2", "bob@example.com")
        try await store.createUser(ada, audit: nil)
        try await store.createUser(bob, audit: nil)
        try await store.createSession(tokenHash: "t1", userID: "u1", csrfToken: "c1", now: 1000, expiresAt: 2000)
        try await store.createSession(tokenHash: "t2", userID: "u1", csrfToken: "c2", now: 1000, expiresAt: 9000)
        try await store.createSession(tokenHash: "t3", userID: "u2", csrfToken: "c3", now: 1000, expiresAt: 9000)
        let s1 = try #require(try await store.session(tokenHash: "t1", now: 1999))
        #expect(s1.user == ada)
        #expect(s1.csrfToken == "c1")
        #expect(s1.expiresAt == 2000)
        #expect(try await store.session(tokenHash: "t1", now: 2000) == nil)  // expired at expiresAt
        #expect(try await store.session(tokenHash: "unknown", now: 1000) == nil)
        // Creating a session removes the ones expired by then: t1 is gone even for an earlier `now`.
        try await store.createSession(tokenHash: "t4", userID: "u2", csrfToken: "c4", now: 2000, expiresAt: 9000)
        #expect(try await store.session(tokenHash: "t1", now: 1500) == nil)
        #expect(try await store.session(tokenHash: "t2", now: 1500)?.user.id == "u1")
        // A session of a user that does not exist is refused.
        await #expect(throws: (any Error).self) {
            try await store.createSession(tokenHash: "t5", userID: "ghost", csrfToken: "c5", now: 2000, expiresAt: 9000)
        }
        try await store.deleteSession(tokenHash: "t2")
        #expect(try await store.session(tokenHash: "t2", now: 2500) == nil)
        #expect(try await store.session(tokenHash: "t3", now: 2500)?.user.id == "u2")
        try await store.deleteSessions(userID: "u2")
        #expect(try await store.session(tokenHash: "t3", now: 2500) == nil)
        #expect(try await store.session(tokenHash: "t4", now: 2500) == nil)
    }

    @Test(arguments: StoreUnderTest.allCases)
    func disablingAUserEndsTheirSessions(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        try await store.createUser(user("u1", "ada@example.com"), audit: nil)
        try await store.createUser(user("u2", "bob@example.com"), audit: nil)
        try await store.createSession(tokenHash: "a1", userID: "u1", csrfToken: "c", now: 1000, expiresAt: 9000)
        try await store.createSession(tokenHash: "a2", userID: "u1", csrfToken: "c", now: 1000, expiresAt: 9000)
        try await store.createSession(tokenHash: "b1", userID: "u2", csrfToken: "c", now: 1000, expiresAt: 9000)
        // An update that keeps the user enabled keeps the sessions.
        var ada = user("u1", "ada@example.com")
        ada.name = "Ada L."
        try await store.updateUser(ada, audit: nil)
        #expect(try await store.session(tokenHash: "a1", now: 1500)?.user.name == "Ada L.")
        ada.disabledAt = 1600
        try await store.updateUser(ada, audit: nil)
        #expect(try await store.session(tokenHash: "a1", now: 1700) == nil)
        // Enabled again, the old sessions stay gone: they were deleted, not hidden.
        ada.disabledAt = nil
        try await store.updateUser(ada, audit: nil)
        #expect(try await store.session(tokenHash: "a1", now: 1700) == nil)
        #expect(try await store.session(tokenHash: "a2", now: 1700) == nil)
        #expect(try await store.session(tokenHash: "b1", now: 1700)?.user.id == "u2")
    }
}
