import Foundation
import GRDB
import Testing
import VaneCore
import VanePulse
@testable import VaneStore

/// The Pulse rollup never traps on a stored event's time or value, never stores a non-finite sum,
/// and sets aside (with a reason) any event it cannot use instead of failing on it forever.
@Suite("Hostile numbers: Pulse rollup")
struct HostileRollupTests {
    static let day: Int64 = 86_400_000
    static let subject = "experiment:exp"

    static func event(
        _ name: String, user: String, time: Int64, value: JSONValue? = nil, metadata: JSONValue? = nil
    ) -> EventRecord {
        EventRecord(project: "default", eventName: name, user: ["userID": .string(user)], userID: user, stableID: nil,
                    customIDs: [:], environment: nil, value: value, metadata: metadata, secondaryExposures: nil,
                    time: time, receivedAt: time, source: .sdk, sdkType: "test")
    }

    static func exposure(_ user: String, _ arm: String, _ time: Int64) -> EventRecord {
        event("statsig::config_exposure", user: user, time: time, metadata: ["config": "exp", "ruleID": .string(arm)])
    }

    static func catalog(window: Int?) -> PulseCatalog {
        PulseCatalog(experiments: ["exp": ["a", "b"]], windows: window.map { [subject: $0] } ?? [:])
    }

    /// Runs the job until it has caught up; it must never throw.
    static func catchUp(_ store: SQLiteStore, _ catalog: PulseCatalog, batch: Int = 7) async throws -> PulseProgress {
        var last = PulseProgress(processed: 0, cursor: 0, behind: 0, rebuilt: false)
        for _ in 0..<1000 {
            last = try await store.pulseRollup(project: "default", catalog: catalog, maxEvents: batch)
            if last.behind == 0 { return last }
        }
        Issue.record("the rollup did not catch up")
        return last
    }

    static func expectFinite(_ store: SQLiteStore, _ label: String) async throws {
        for unitType in ["userID"] {
            let data = try await store.pulseArms(project: "default", subject: subject, unitType: unitType)
            for (arm, sources) in data.sums {
                for (source, sums) in sources {
                    #expect(sums.values.allSatisfy { $0.isFinite }, "\(label): \(arm) \(source) \(sums.values)")
                }
            }
        }
        for totals in try await store.pulseSources(project: "default") {
            #expect(totals.valueSum.isFinite, "\(label): \(totals.source) sum \(totals.valueSum)")
            for d in try await store.pulseSeries(project: "default", source: totals.source) {
                #expect(d.valueSum.isFinite, "\(label): \(totals.source) day \(d.day) sum \(d.valueSum)")
            }
        }
    }

    // MARK: - Extremes of the accepted range

    @Test("Exposures and events at both ends of the accepted range, with any window",
          arguments: [nil, 1, 6, 3650, Int(Int32.max), Int.max, Int.min, 0, -1])
    func extremesOfTheAcceptedRange(window: Int?) async throws {
        let store = try SQLiteStore()
        let lo = EventTime.earliest, hi = EventTime.latest
        try await store.insertEvents([
            Self.event("purchase", user: "early", time: lo, value: 1),
            Self.exposure("early", "a", lo),
            Self.event("purchase", user: "early", time: lo + 1, value: 2),
            Self.event("purchase", user: "late", time: hi - 2 * Self.day, value: 3),
            Self.event("purchase", user: "late", time: hi - 1, value: 4),
            Self.exposure("late", "b", hi - 1000),
            Self.event("purchase", user: "late", time: hi, value: 5),
            Self.exposure("last", "b", hi),
            Self.event("purchase", user: "last", time: hi, value: 6),
            Self.exposure("last", "b", hi - 5),  // an earlier exposure arriving later: backfills to the day's end
        ])
        let progress = try await Self.catchUp(store, Self.catalog(window: window))
        #expect(progress.behind == 0)
        let setAside = try await store.pulseSetAside(project: "default", limit: 100)
        #expect(setAside.recent.isEmpty, "\(setAside.recent)")
        let data = try await store.pulseArms(project: "default", subject: Self.subject, unitType: "userID")
        #expect(data.units == ["a": 1, "b": 2])
        try await Self.expectFinite(store, "window \(String(describing: window))")
        #expect(Set(data.exposureDays.keys) == [PulseDay.of(lo), PulseDay.of(hi)])
        #expect(PulseDay.label(PulseDay.of(hi)) == "9999-12-31")
    }

    @Test(arguments: [Int64.max, .min, .max - 1, .min + 1, -1, 0, 1, -86_400_000, 9_200_000_000_000_000_000])
    func dayArithmeticIsTotal(time: Int64) {
        let day = PulseDay.of(time)
        #expect(PulseDay.start(day) <= time)
        #expect(PulseDay.start(day).saturatingAdd(PulseDay.millis) >= time)
        _ = PulseDay.label(day)
        _ = PulseDay.label(Int64.max)
        _ = PulseDay.label(Int64.min)
    }

    // MARK: - Set aside, not summed

    static let unusable: [(String, EventRecord, PulseSetAside.Reason)] = [
        ("time Int64.max", event("purchase", user: "u", time: .max, value: 1), .timeOutOfRange),
        ("time Int64.min", event("purchase", user: "u", time: .min, value: 1), .timeOutOfRange),
        ("time -1", event("purchase", user: "u", time: -1), .timeOutOfRange),
        ("time 0", event("purchase", user: "u", time: 0), .timeOutOfRange),
        ("time after 9999", event("purchase", user: "u", time: EventTime.latest + 1), .timeOutOfRange),
        ("time before 2000", event("purchase", user: "u", time: EventTime.earliest - 1), .timeOutOfRange),
        ("exposure at Int64.max", exposure("u", "a", .max), .timeOutOfRange),
        ("exposure at Int64.min", exposure("u", "a", .min), .timeOutOfRange),
        ("value +inf", event("purchase", user: "u", time: 1_790_000_000_000, value: .double(.infinity)), .valueOutOfRange),
        ("value -inf", event("purchase", user: "u", time: 1_790_000_000_000, value: .double(-.infinity)), .valueOutOfRange),
        ("value NaN", event("purchase", user: "u", time: 1_790_000_000_000, value: .double(.nan)), .valueOutOfRange),
        ("value 1e308", event("purchase", user: "u", time: 1_790_000_000_000, value: .double(1e308)), .valueOutOfRange),
        ("value -1e16", event("purchase", user: "u", time: 1_790_000_000_000, value: .double(-1e16)), .valueOutOfRange),
        ("value Int64.max", event("purchase", user: "u", time: 1_790_000_000_000, value: .int(.max)), .valueOutOfRange),
        ("value '1e400'", event("purchase", user: "u", time: 1_790_000_000_000, value: "1e400"), .valueOutOfRange),
        ("value ' -1e308 '", event("purchase", user: "u", time: 1_790_000_000_000, value: " -1e308 "), .valueOutOfRange),
        ("value 'nan'", event("purchase", user: "u", time: 1_790_000_000_000, value: "nan"), .valueOutOfRange),
    ]

    @Test("An unusable event is refused before anything changes", arguments: unusable)
    func applyRefusesBeforeChangingAnything(label: String, e: EventRecord, reason: PulseSetAside.Reason) {
        var p = PulseRollupProcessor(catalog: Self.catalog(window: 6), state: PulseBatchState(), exactEvents: { _, _, _, _ in [] })
        #expect(p.setAsideReason(e)?.reason == reason, "\(label)")
        #expect(throws: PulseSetAside.self, "\(label)") { try p.apply(e) }
        #expect(p.state.metricDayDeltas.isEmpty && p.state.unitDayDeltas.isEmpty && p.state.assignments.isEmpty, "\(label)")
    }

    @Test func usableValuesAreSummed() throws {
        let t: Int64 = 1_790_000_000_000
        var p = PulseRollupProcessor(catalog: Self.catalog(window: nil), state: PulseBatchState(), exactEvents: { _, _, _, _ in [] })
        for v: JSONValue in [.double(1e15), .double(-1e15), .int(7), "3.5", "sku-12", .bool(true), .null] {
            try p.apply(Self.event("purchase", user: "u", time: t, value: v))
        }
        // Non-numeric values count as events with value 0; statsig:: events that are not exposures are ignored.
        try p.apply(Self.event("statsig::diagnostics", user: "u", time: .max, value: .double(.infinity)))
        let d = try #require(p.state.metricDayDeltas["purchase"]?[PulseDay.of(t)])
        #expect(d.events == 7)
        #expect(d.sum == 10.5)
    }

    @Test func poisonedRecordsAreSetAsideAndTheJobCarriesOn() async throws {
        let store = try SQLiteStore()
        let t: Int64 = 1_790_000_000_000
        var events: [EventRecord] = []
        for i in 0..<20 {
            events.append(Self.exposure("g\(i)", i % 2 == 0 ? "a" : "b", t + Int64(i)))
            events.append(Self.event("purchase", user: "g\(i)", time: t + 60_000, value: .double(Double(i))))
        }
        for (_, e, _) in Self.unusable { events.append(e) }
        // Huge finite values whose sum and squares overflow: summed, they would make inf and then NaN.
        events.append(Self.event("purchase", user: "g0", time: t + 70_000, value: .double(1e308)))
        events.append(Self.event("purchase", user: "g0", time: t + 70_001, value: .double(1e308)))
        events.append(Self.event("purchase", user: "g1", time: t + 70_002, value: .double(-1e308)))
        events.append(Self.event("purchase", user: "g3", time: t + 70_003, value: .double(1e200)))
        events.shuffle()
        try await store.insertEvents(events)

        let progress = try await Self.catchUp(store, Self.catalog(window: 6), batch: 9)
        #expect(progress.behind == 0)
        let (counts, recent) = try await store.pulseSetAside(project: "default", limit: 1000)
        // NaN is stored as NULL (SQLite has no NaN): that event has no value and counts normally.
        let unusableStored = Self.unusable.filter { $0.0 != "value NaN" }
        #expect(counts["time_out_of_range"] == unusableStored.filter { $0.2 == .timeOutOfRange }.count)
        #expect(counts["value_out_of_range"] == unusableStored.filter { $0.2 == .valueOutOfRange }.count + 4)
        #expect(recent.allSatisfy { !$0.detail.isEmpty })
        try await Self.expectFinite(store, "poisoned")
        let data = try await store.pulseArms(project: "default", subject: Self.subject, unitType: "userID")
        #expect(data.units == ["a": 10, "b": 10])
        #expect(data.sums["a"]?["purchase"]?.sum == Double((0..<20).filter { $0 % 2 == 0 }.reduce(0, +)))

        // Later events are still processed: the job was not stopped by any of them.
        try await store.insertEvents([Self.event("purchase", user: "g2", time: t + 80_000, value: 100)])
        _ = try await Self.catchUp(store, Self.catalog(window: 6))
        let after = try await store.pulseArms(project: "default", subject: Self.subject, unitType: "userID")
        #expect(after.sums["a"]?["purchase"]?.sum == (data.sums["a"]?["purchase"]?.sum ?? 0) + 100)
    }

    @Test func valuesAtTheBoundKeepEverySumFinite() async throws {
        let store = try SQLiteStore()
        let t: Int64 = 1_790_000_000_000
        var events = [Self.exposure("big", "a", t), Self.exposure("small", "b", t)]
        for i in 0..<500 {
            events.append(Self.event("purchase", user: "big", time: t + Int64(i), value: .double(EventValue.maxMagnitude)))
            events.append(Self.event("purchase", user: "small", time: t + Int64(i), value: .double(-EventValue.maxMagnitude)))
            // Pre-period events for the covariate sums.
            events.append(Self.event("purchase", user: "big", time: t - 2 * Self.day, value: .double(EventValue.maxMagnitude)))
        }
        try await store.insertEvents(events)
        _ = try await Self.catchUp(store, Self.catalog(window: 3650), batch: 333)
        try await Self.expectFinite(store, "bound")
        let data = try await store.pulseArms(project: "default", subject: Self.subject, unitType: "userID")
        #expect(data.sums["a"]?["purchase"]?.sum == 500 * EventValue.maxMagnitude)
        // Kept by adding and subtracting contributions: equal up to rounding.
        let squares = try #require(data.sums["a"]?["purchase"]?.sumSquares)
        let want = (500 * EventValue.maxMagnitude) * (500 * EventValue.maxMagnitude)
        #expect(abs(squares - want) <= 1e-9 * want, "\(squares) vs \(want)")
        #expect(data.sums["a"]?["purchase"]?.preSum == 500 * EventValue.maxMagnitude)
        #expect(try await store.pulseSetAside(project: "default", limit: 10).recent.isEmpty)
    }

    /// An event whose processing throws (here: reading the exact events of a straddled day fails)
    /// is set aside; the events before it are kept, and the cursor moves past it.
    @Test func aFailingRecordIsSetAsideInsteadOfStoppingTheJob() async throws {
        let store = try SQLiteStore()
        let t: Int64 = 1_790_000_000_000 - 1_790_000_000_000 % Self.day + 3_600_000
        try await store.insertEvents([
            Self.event("purchase", user: "ok", time: t, value: 1),
            Self.event("purchase", user: "bad", time: t + 1000, value: 1),
            Self.event("purchase", user: "bad", time: t + 5000, value: 2),
            Self.exposure("bad", "a", t + 3000),  // same day, between the two: the day straddles the exposure
            Self.exposure("ok", "b", t - 1000),
        ])
        struct ReadFailure: Error, CustomStringConvertible { var description: String { "disk read failed" } }
        let catalog = Self.catalog(window: nil)
        let failing: PulseExactEvents = { key, _, _, _ in
            if key.unit == "bad" { throw ReadFailure() }
            return []
        }
        let (state, setAside, through) = try await store.db.write { db in
            let events = try Row.fetchAll(db, sql: "SELECT * FROM events ORDER BY id").map(SQLiteStore.eventRecord)
            return try SQLiteStore.processBatch(db, project: "default", catalog: catalog, events: events, exactEvents: failing)
        }
        #expect(setAside.map(\.reason) == [.failed])
        #expect(setAside.first?.eventID == 4)
        #expect(setAside.first?.detail == "disk read failed")
        #expect(through == 4, "the cursor stops at the failed event; the one after it is read on the next run")
        #expect(state.assignments[UnitKey(unitType: "userID", unit: "bad")] == nil)
        #expect(state.metricDayDeltas["purchase"]?[PulseDay.of(t)]?.events == 3)
    }

    /// Rollups written before these checks may hold infinite sums; a changed rules version
    /// rebuilds them, so results never read them.
    @Test func rollupsFromBeforeTheChecksAreRebuilt() async throws {
        let store = try SQLiteStore()
        let t: Int64 = 1_790_000_000_000
        try await store.insertEvents([Self.event("purchase", user: "u", time: t, value: 2)])
        try await store.db.write { db in
            try db.execute(sql: "INSERT INTO pulse_state (project_id, cursor, version) VALUES ('default', 1, 'an-old-version')")
            try db.execute(sql: """
                INSERT INTO pulse_metric_days (project_id, source, day, events, value_sum) VALUES
                ('default', 'purchase', 1, 1, 1e308 * 10), ('default', 'purchase', 2, 1, -1e308 * 10)
                """)
        }
        let first = try await store.pulseRollup(project: "default", catalog: Self.catalog(window: nil), maxEvents: 10)
        #expect(first.rebuilt)
        let totals = try await store.pulseSources(project: "default")
        #expect(totals.map(\.valueSum) == [2])
        #expect(PulseCatalog().version != PulseCatalog(unitTypes: ["stableID"]).version)
    }
}
