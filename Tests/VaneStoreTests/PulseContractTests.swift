import Foundation
import Testing
import VaneCore
import VanePulse
import VaneTestSupport
@testable import VaneStore

/// The Pulse rollups give the same answers on every store: each scenario runs on the store under
/// test and on a reference SQLite store (fed the same events, caught up in one big run), and every
/// read of the rollups must match exactly. Event values are multiples of 1/8 so that every sum is
/// exact in a double, whatever order a store adds them in.
@Suite("Pulse contract")
struct PulseContractTests {
    static let day: Int64 = 86_400_000
    static let t0: Int64 = 1_790_000_000_000 - 1_790_000_000_000 % day + 3_600_000
    static let subject = "experiment:exp"
    static let unitTypes = ["userID", "stableID", "companyID"]

    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
    }

    static func event(_ name: String, user: String, time: Int64, value: JSONValue? = nil, metadata: JSONValue? = nil) -> EventRecord {
        // Every third user also has a custom unit (read from the custom_ids JSON, not a column).
        let custom: [String: String] = Int(user.dropFirst()).map({ $0 % 3 == 0 }) == true ? ["companyID": "c-" + user] : [:]
        return EventRecord(
            project: "default", eventName: name, user: ["userID": .string(user)], userID: user, stableID: "s-" + user,
            customIDs: custom, environment: nil, value: value, metadata: metadata,
            secondaryExposures: nil, time: time, receivedAt: time, source: .sdk, sdkType: "test")
    }

    /// Exposures carry drill-down fields that depend on their time, so a unit's recorded fields
    /// depend on which of its exposures counts as the first.
    static func exposure(_ user: String, _ rule: String, _ time: Int64) -> EventRecord {
        var e = event("statsig::config_exposure", user: user, time: time, metadata: ["config": "exp", "ruleID": .string(rule)])
        e.user = ["userID": .string(user), "country": .string(["US", "DE", "FR"][Int((time % 3 + 3) % 3)]), "custom": ["plan": .int(time & 1)]]
        return e
    }

    static func gateExposure(_ user: String, pass: Bool, _ time: Int64) -> EventRecord {
        event("statsig::gate_exposure", user: user, time: time,
              metadata: ["gate": "beta", "ruleID": "partial", "gateValue": .string(pass ? "true" : "false")])
    }

    /// Random units with exposures (some twice, some earlier exposures arriving later, some to
    /// both arms), events before and after (often the same UTC day, so the backfill reads exact
    /// events), a filtered source, gate exposures, and events the rollup sets aside, in shuffled
    /// arrival order.
    static func stream(seed: UInt64, users: Int = 60) -> [EventRecord] {
        var g = Generator(state: seed)
        var out: [EventRecord] = []
        for u in 0..<users {
            let user = "u\(u)"
            let first = t0 + Int64(g.next(5)) * day + Int64(g.next(Int(day)))
            let arm = g.next(2) == 0 ? "a" : "b"
            out.append(exposure(user, arm, first + Int64(g.next(3)) * 60_000))
            if g.next(4) == 0 { out.append(exposure(user, arm, first)) }
            if g.next(15) == 0 || u % 20 == 7 { out.append(exposure(user, arm == "a" ? "b" : "a", first + 1000)) }  // crossover
            if g.next(3) == 0 { out.append(gateExposure(user, pass: g.next(2) == 0, first + 5000)) }
            out.append(event("purchase", user: user, time: first - 1_800_000, value: .double(1)))
            out.append(event("purchase", user: user, time: first + 1_800_000, value: .double(2)))
            for _ in 0..<g.next(8) {
                let offset = Int64(g.next(21 * 24) - 9 * 24) * 3_600_000 + Int64(g.next(3_600_000))
                let name = ["purchase", "visit", "page"][g.next(3)]
                let md: JSONValue = ["name": .string(g.next(2) == 0 ? "Checkout" : "Home")]
                let value: JSONValue = g.next(5) == 0 ? .string("\(Double(g.next(800)) / 8)") : .double(Double(g.next(1000)) / 8)
                out.append(event(name, user: user, time: first + offset, value: value, metadata: md))
            }
            if u % 17 == 3 { out.append(event("purchase", user: user, time: .max, value: .double(1))) }  // time out of range
            if u % 17 == 5 { out.append(event("purchase", user: user, time: first, value: .double(1e300))) }  // value out of range
        }
        for i in stride(from: out.count - 1, to: 0, by: -1) { out.swapAt(i, g.next(i + 1)) }
        return out
    }

    static let filtered = PulseSource(
        key: "filtered:checkout", event: "page", filters: [MetadataFilter(key: "name", op: .eq, values: ["Checkout"])])

    static let catalog = PulseCatalog(
        unitTypes: unitTypes, experiments: ["exp": ["a", "b"]], partialGateRules: ["beta": ["partial"]],
        windows: [subject: 6], filteredSources: [filtered])

    static let catalogWithoutFilters = PulseCatalog(
        unitTypes: unitTypes, experiments: ["exp": ["a", "b"]], partialGateRules: ["beta": ["partial"]], windows: [subject: 6])

    /// Everything the rollups answer, in a form that compares exactly.
    struct Snapshot: Equatable, CustomStringConvertible {
        struct Arms: Equatable {
            var units: [String: Int]
            var crossovers: Int
            var sums: [String: [String: [Double]]]
            var exposureDays: [Int64: [String: Int]]
        }

        var arms: [String: Arms] = [:]
        var unitValues: [String: [PulseUnitRow]] = [:]
        var sources: [PulseSourceTotals] = []
        var series: [String: [PulseSeriesDay]] = [:]
        var setAsideCounts: [String: Int] = [:]
        var setAside: [PulseSetAside] = []
        var dimensions: [String: [PulseUnitSlice]] = [:]

        var description: String {
            "\(arms.count) arm sets, \(unitValues.values.map(\.count).reduce(0, +)) unit rows, \(sources.count) sources, "
                + "\(setAside.count) set aside"
        }

        /// The first difference, for a readable failure.
        func difference(from other: Snapshot) -> String? {
            for k in Set(arms.keys).union(other.arms.keys).sorted() where arms[k] != other.arms[k] {
                return "arms \(k): \(String(describing: arms[k])) vs \(String(describing: other.arms[k]))"
            }
            for k in Set(unitValues.keys).union(other.unitValues.keys).sorted() where unitValues[k] != other.unitValues[k] {
                let a = Set(unitValues[k] ?? []), b = Set(other.unitValues[k] ?? [])
                return "unit values \(k): only here \(a.subtracting(b).prefix(5)), only there \(b.subtracting(a).prefix(5))"
            }
            if sources != other.sources { return "sources: \(sources) vs \(other.sources)" }
            for k in Set(series.keys).union(other.series.keys).sorted() where series[k] != other.series[k] {
                return "series \(k): \(String(describing: series[k])) vs \(String(describing: other.series[k]))"
            }
            if setAsideCounts != other.setAsideCounts { return "set-aside counts: \(setAsideCounts) vs \(other.setAsideCounts)" }
            if setAside != other.setAside { return "set aside: \(setAside) vs \(other.setAside)" }
            for k in Set(dimensions.keys).union(other.dimensions.keys).sorted() where dimensions[k] != other.dimensions[k] {
                let a = Set(dimensions[k] ?? []), b = Set(other.dimensions[k] ?? [])
                return "dimension \(k): only here \(a.subtracting(b).prefix(5)), only there \(b.subtracting(a).prefix(5))"
            }
            return nil
        }
    }

    static func snapshot(_ store: any VaneStore) async throws -> Snapshot {
        var s = Snapshot()
        let sourceNames = ["purchase", "visit", "page", "filtered:checkout"]
        for subject in [subject, PulseCatalog.gateSubject("beta")] {
            for unitType in unitTypes {
                let data = try await store.pulseArms(project: "default", subject: subject, unitType: unitType)
                s.arms["\(subject) \(unitType)"] = Snapshot.Arms(
                    units: data.units, crossovers: data.crossovers, sums: data.sums.mapValues { $0.mapValues(\.values) },
                    exposureDays: data.exposureDays)
                s.unitValues["\(subject) \(unitType)"] = try await store.pulseUnitValues(
                    project: "default", subject: subject, unitType: unitType, sources: sourceNames
                ).sorted { ($0.source, $0.unit) < ($1.source, $1.unit) }
                for field in ["country", "custom.plan", "custom.none"] {
                    s.dimensions["\(subject) \(unitType) \(field)"] = try await store.pulseUnitDimension(
                        project: "default", subject: subject, unitType: unitType, dimension: field
                    ).sorted { $0.unit < $1.unit }
                }
            }
        }
        s.sources = try await store.pulseSources(project: "default")
        for source in s.sources.map(\.source) {
            s.series[source] = try await store.pulseSeries(project: "default", source: source)
        }
        let (counts, recent) = try await store.pulseSetAside(project: "default", limit: 1000)
        s.setAsideCounts = counts
        s.setAside = recent
        return s
    }

    /// Runs the job until it has caught up; returns every run's progress.
    @discardableResult
    static func catchUp(_ store: any VaneStore, _ catalog: PulseCatalog, batch: Int) async throws -> [PulseProgress] {
        var runs: [PulseProgress] = []
        for _ in 0..<10_000 {
            let p = try await store.pulseRollup(project: "default", catalog: catalog, maxEvents: batch)
            runs.append(p)
            if p.behind == 0 && p.processed == 0 { return runs }
            #expect(p.processed <= batch)
        }
        Issue.record("the rollup did not catch up")
        return runs
    }

    /// The reference: a SQLite store fed `events` in one insert, caught up in one run.
    static func reference(_ events: [EventRecord], catalog: PulseCatalog = catalog) async throws -> Snapshot {
        let store = try SQLiteStore()
        try await store.insertEvents(events)
        let run = try await store.pulseRollup(project: "default", catalog: catalog, maxEvents: 1_000_000)
        #expect(run.processed == events.count && run.behind == 0)
        return try await snapshot(store)
    }

    static func expectSame(_ got: Snapshot, _ want: Snapshot, _ label: String) {
        #expect(got == want, "\(label): \(got.difference(from: want) ?? "?")")
    }

    /// The scenario's rollups are not trivial: both arms, sums of every source, crossovers,
    /// set-aside events, and custom units (so a wrong or empty rollup cannot pass for a right one).
    static func expectSubstantial(_ s: Snapshot) {
        let exp = s.arms["\(subject) userID"]
        #expect((exp?.units["a"] ?? 0) > 5 && (exp?.units["b"] ?? 0) > 5, "\(String(describing: exp?.units))")
        #expect((exp?.crossovers ?? 0) > 0)
        #expect(exp?.sums["a"]?["filtered:checkout"] != nil)
        #expect((s.arms["\(subject) companyID"]?.units.values.reduce(0, +) ?? 0) > 0)
        #expect((s.arms["gate:beta userID"]?.units.values.reduce(0, +) ?? 0) > 0)
        #expect(s.unitValues["\(subject) userID"]?.contains { $0.values.preCount > 0 } == true)
        #expect(s.setAsideCounts["time_out_of_range"] ?? 0 > 0)
        #expect(s.setAsideCounts["value_out_of_range"] ?? 0 > 0)
        #expect(s.sources.map(\.source) == ["filtered:checkout", "page", "purchase", "visit"])
        let countries = s.dimensions["\(subject) userID country"] ?? []
        #expect(countries.count == exp.map { $0.units.values.reduce(0, +) }, "one row per assigned unit")
        #expect(Set(countries.compactMap(\.value)) == ["US", "DE", "FR"])
        #expect(Set((s.dimensions["\(subject) userID custom.plan"] ?? []).compactMap(\.value)) == ["0", "1"])
        #expect((s.dimensions["\(subject) userID custom.none"] ?? []).allSatisfy { $0.value == nil })
        #expect((s.dimensions["gate:beta userID country"] ?? []).allSatisfy { $0.value == nil }, "gate exposures carry no fields here")
    }

    // MARK: - Scenarios

    /// Events arriving in two halves with the job running in between, in small or large batches.
    @Test(arguments: StoreUnderTest.allCases, [1, 7, 1000])
    func incrementalRunsMatchOneBigRun(_ factory: StoreUnderTest, batch: Int) async throws {
        let events = Self.stream(seed: UInt64(batch) &+ 11)
        let want = try await Self.reference(events)
        Self.expectSubstantial(want)

        let store = try await factory.make()
        defer { (store as? PostgresStore)?.close() }
        let half = events.count / 2
        try await store.insertEvents(Array(events[..<half]))
        let firstRuns = try await Self.catchUp(store, Self.catalog, batch: batch)
        #expect(firstRuns.map(\.processed).reduce(0, +) == half)
        #expect(firstRuns.last?.cursor == Int64(half))
        try await store.insertEvents(Array(events[half...]))
        let runs = try await Self.catchUp(store, Self.catalog, batch: batch)
        #expect(runs.map(\.processed).reduce(0, +) == events.count - half)
        #expect(runs.last?.cursor == Int64(events.count))
        #expect(runs.allSatisfy { !$0.rebuilt })
        Self.expectSame(try await Self.snapshot(store), want, "\(factory) batch \(batch)")
    }

    /// The progress each run reports is the same on every store.
    @Test(arguments: StoreUnderTest.allCases)
    func progressMatches(_ factory: StoreUnderTest) async throws {
        let events = Self.stream(seed: 5, users: 20)
        let reference = try SQLiteStore()
        try await reference.insertEvents(events)
        let want = try await Self.catchUp(reference, Self.catalog, batch: 9)

        let store = try await factory.make()
        defer { (store as? PostgresStore)?.close() }
        try await store.insertEvents(events)
        let got = try await Self.catchUp(store, Self.catalog, batch: 9)
        #expect(got == want)
        #expect(got.first?.behind == events.count - 9)
        // Caught up: a run with nothing new changes nothing.
        let idle = try await store.pulseRollup(project: "default", catalog: Self.catalog, maxEvents: 9)
        #expect(idle == PulseProgress(processed: 0, cursor: Int64(events.count), behind: 0, rebuilt: false))
    }

    /// The timeline at the end of each day equals the rollups of only the events up to that day
    /// (a reference store fed just those), for the experiment without a window. Units exposed to
    /// both arms are left out of the stream: the timeline excludes them on every day, while a log
    /// cut before the second exposure would not.
    @Test(arguments: StoreUnderTest.allCases)
    func theTimelineAtEachDayEqualsTheRollupOfThatDaysEvents(_ factory: StoreUnderTest) async throws {
        let windowless = PulseCatalog(
            unitTypes: Self.unitTypes, experiments: ["exp": ["a", "b"]], partialGateRules: ["beta": ["partial"]],
            filteredSources: [Self.filtered])
        var events = Self.stream(seed: 11, users: 40)
        var arms: [String: Set<String>] = [:]
        for e in events where e.eventName == "statsig::config_exposure" {
            arms[e.userID!, default: []].insert(e.metadata?["ruleID"]?.stringValue ?? "")
        }
        events.removeAll { $0.eventName == "statsig::config_exposure" && (arms[$0.userID!]?.count ?? 0) > 1 }

        let store = try await factory.make()
        defer { (store as? PostgresStore)?.close() }
        try await store.insertEvents(events)
        try await Self.catchUp(store, windowless, batch: 100)
        let sources = ["purchase", "visit", "page", "filtered:checkout"]
        func nonZero(_ sums: [String: [String: ArmSums]]) -> [String: [String: [Double]]] {
            sums.mapValues { $0.filter { $0.value.values.contains { $0 != 0 } }.mapValues(\.values) }.filter { !$0.value.isEmpty }
        }
        var compared = 0
        for unitType in ["userID", "companyID"] {
            let rows = try await store.pulseTimelineRows(project: "default", subject: Self.subject, unitType: unitType, sources: sources)
            let values = try await store.pulseUnitValues(project: "default", subject: Self.subject, unitType: unitType, sources: sources)
            let timeline = PulseTimeline(units: rows.units, values: values, days: rows.days, windowDays: nil)
            #expect(!timeline.interpolated)
            let first = try #require(timeline.firstDay)
            for day in first...(first + 16) {
                let reference = try SQLiteStore()
                try await reference.insertEvents(events.filter { $0.time < PulseDay.start(day + 1) })
                _ = try await reference.pulseRollup(project: "default", catalog: windowless, maxEvents: 1_000_000)
                let want = try await reference.pulseArms(project: "default", subject: Self.subject, unitType: unitType)
                let got = timeline.asOf(day: day).data
                #expect(got.units == want.units, "\(unitType), day \(day - first)")
                #expect(nonZero(got.sums) == nonZero(want.sums), "\(unitType), day \(day - first)")
                #expect(got.exposureDays == want.exposureDays, "\(unitType), day \(day - first)")
                if !nonZero(want.sums).isEmpty { compared += 1 }
            }
            // The units exposed from a day on: the same units as the day's exposures say.
            let later = timeline.asOf(day: first + 16, from: first + 2).data
            let all = timeline.asOf(day: first + 16).data
            #expect(later.units.values.reduce(0, +) == all.exposureDays.filter { $0.key >= first + 2 }.flatMap(\.value.values).reduce(0, +))
        }
        #expect(compared > 20, "days with data compared: \(compared)")
    }

    /// With a window, a day that holds its end and events on both sides is split by interpolation.
    @Test func aWindowEndDayOnBothSidesIsInterpolated() {
        let first = Self.t0
        let unit = PulseTimeline.Unit(unit: "u1", arm: "a", firstTime: first)
        let end = first + 2 * Self.day  // a 2-day window ends on the day after next, an hour into it
        let straddling = DayAggregate(count: 4, sum: 8, minTime: end - 1_800_000, maxTime: end + 1_800_000)
        let inside = DayAggregate(count: 1, sum: 1, minTime: first + Self.day, maxTime: first + Self.day)
        let current = UnitValues(postCount: 3 + 2, postSum: 5 + 4)  // exposure day 2 events + half the straddling day
        let timeline = PulseTimeline(
            units: [unit], values: [PulseUnitRow(unit: "u1", arm: "a", source: "s", values: current)],
            days: [.init(unit: "u1", source: "s", day: PulseDay.of(first) + 1, aggregate: inside),
                   .init(unit: "u1", source: "s", day: PulseDay.of(first) + 2, aggregate: straddling)],
            windowDays: 2)
        #expect(timeline.interpolated)
        let day0 = PulseDay.of(first)
        #expect(timeline.asOf(day: day0).rows.first?.values == UnitValues(postCount: 2, postSum: 4))
        #expect(timeline.asOf(day: day0 + 1).rows.first?.values == UnitValues(postCount: 3, postSum: 5))
        #expect(timeline.asOf(day: day0 + 2).rows.first?.values == current)
        #expect(timeline.asOf(day: day0 - 1).data.units.isEmpty)
    }

    /// An experiment created, and exposed, while a run reads its catalogue: that run leaves the new
    /// exposure to the next, whose catalogue knows the experiment. (A run that read its catalogue
    /// first and the log after it took the exposure as no assignment, and never looked at it again.)
    @Test(arguments: StoreUnderTest.allCases)
    func anExperimentCreatedDuringARunKeepsItsExposures(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        defer { (store as? PostgresStore)?.close() }
        try await store.insertEvents([Self.exposure("u1", "a", Self.t0)])
        let late = {
            var e = Self.exposure("u2", "treatment", Self.t0 + 1)
            e.metadata = ["config": "late", "ruleID": "treatment"]
            return e
        }()

        let first = try await store.pulseRollup(project: "default", maxEvents: 100) {
            try await store.insertEvents([late])  // another node saves the experiment, an SDK exposes u2
            return Self.catalog
        }
        #expect(first.processed == 1 && first.behind == 1)
        var withLate = Self.catalog
        withLate.experiments["late"] = ["control", "treatment"]
        let second = try await store.pulseRollup(project: "default", catalog: withLate, maxEvents: 100)
        #expect(second.processed == 1 && second.behind == 0)
        #expect(try await store.pulseArms(project: "default", subject: "experiment:late", unitType: "userID").units == ["treatment": 1])
        #expect(try await store.pulseArms(project: "default", subject: Self.subject, unitType: "userID").units == ["a": 1])
    }

    /// A changed catalogue clears the rollups and rebuilds them from the first event.
    @Test(arguments: StoreUnderTest.allCases)
    func aChangedCatalogueRebuilds(_ factory: StoreUnderTest) async throws {
        let events = Self.stream(seed: 9)
        let store = try await factory.make()
        defer { (store as? PostgresStore)?.close() }
        try await store.insertEvents(events)
        try await Self.catchUp(store, Self.catalogWithoutFilters, batch: 50)
        let before = try await Self.snapshot(store)
        Self.expectSame(before, try await Self.reference(events, catalog: Self.catalogWithoutFilters), "\(factory) without filters")
        #expect(before.sources.allSatisfy { $0.source != "filtered:checkout" })

        let runs = try await Self.catchUp(store, Self.catalog, batch: 50)
        #expect(runs.first?.rebuilt == true)
        #expect(runs.dropFirst().allSatisfy { !$0.rebuilt })
        let after = try await Self.snapshot(store)
        Self.expectSame(after, try await Self.reference(events), "\(factory) rebuilt")
        Self.expectSubstantial(after)
    }

    /// A reset clears everything; the next runs rebuild the same rollups.
    @Test(arguments: StoreUnderTest.allCases)
    func resetRebuildsTheSameRollups(_ factory: StoreUnderTest) async throws {
        let events = Self.stream(seed: 21, users: 30)
        let store = try await factory.make()
        defer { (store as? PostgresStore)?.close() }
        try await store.insertEvents(events)
        try await Self.catchUp(store, Self.catalog, batch: 40)
        let built = try await Self.snapshot(store)

        try await store.pulseReset(project: "default")
        let cleared = try await Self.snapshot(store)
        #expect(cleared.sources.isEmpty && cleared.setAside.isEmpty && cleared.unitValues.values.allSatisfy(\.isEmpty))
        #expect(cleared.arms.values.allSatisfy { $0.units.isEmpty && $0.sums.isEmpty && $0.crossovers == 0 })

        let runs = try await Self.catchUp(store, Self.catalog, batch: 1000)
        #expect(runs.first?.processed == events.count)
        Self.expectSame(try await Self.snapshot(store), built, "\(factory) after reset")
        Self.expectSame(built, try await Self.reference(events), "\(factory) reference")
    }

    /// An exposure processed after same-day events on both sides of it (in an earlier batch, and
    /// in the same batch) must read those events exactly: the day's totals cannot split them.
    @Test(arguments: StoreUnderTest.allCases, [1, 100])
    func backfillReadsTheStraddledDayExactly(_ factory: StoreUnderTest, batch: Int) async throws {
        let t = Self.t0 + 6 * 3_600_000
        var events: [EventRecord] = []
        for (i, user) in ["u0", "u1", "u3", "u6"].enumerated() {  // u0, u3, u6 also have a companyID
            events += [
                Self.event("purchase", user: user, time: t - 7_200_000, value: .double(1)),  // before the exposure
                Self.event("purchase", user: user, time: t + 7_200_000, value: .double(4)),  // after it, the same day
                Self.event("page", user: user, time: t + 3_600_000, value: .double(0.5), metadata: ["name": "Checkout"]),
                Self.event("purchase", user: user, time: t - 3 * Self.day, value: .double(8)),  // pre-period
                Self.exposure(user, i % 2 == 0 ? "a" : "b", t),
                Self.event("purchase", user: user, time: t + 10 * Self.day, value: .double(16)),  // after the window
                Self.exposure(user, i % 2 == 0 ? "a" : "b", t - 1000),  // earlier: backfills again
            ]
        }
        let want = try await Self.reference(events)
        let store = try await factory.make()
        defer { (store as? PostgresStore)?.close() }
        try await store.insertEvents(events)
        try await Self.catchUp(store, Self.catalog, batch: batch)
        let got = try await Self.snapshot(store)
        Self.expectSame(got, want, "\(factory) batch \(batch)")
        // The exact answer: post = the after event and the page event; pre = the pre-period one
        // (the one before the exposure the same day is neither; the one after the window neither).
        for unitType in ["userID", "stableID", "companyID"] {
            let rows = try #require(got.unitValues["\(Self.subject) \(unitType)"])
            let purchase = rows.filter { $0.source == "purchase" }
            let units = unitType == "companyID" ? 3 : 4
            #expect(purchase.count == units, "\(unitType)")
            #expect(purchase.allSatisfy { $0.values == UnitValues(postCount: 1, postSum: 4, preCount: 1, preSum: 8) }, "\(unitType): \(purchase)")
            #expect(rows.filter { $0.source == "filtered:checkout" }.allSatisfy { $0.values == UnitValues(postCount: 1, postSum: 0.5) })
        }
    }

    /// Events the rollup cannot use are set aside with their reason on every store, and later
    /// events are still processed.
    @Test(arguments: StoreUnderTest.allCases)
    func setAsideEventsMatch(_ factory: StoreUnderTest) async throws {
        let t = Self.t0
        let events = [
            Self.exposure("g1", "a", t),
            Self.event("purchase", user: "g1", time: t + 1, value: .double(3)),
            Self.event("purchase", user: "g1", time: .max, value: .double(1)),
            Self.event("purchase", user: "g1", time: EventTime.earliest - 1, value: .double(1)),
            Self.event("purchase", user: "g1", time: t + 2, value: .double(1e300)),
            Self.event("purchase", user: "g1", time: t + 3, value: "1e400"),
            Self.exposure("g2", "b", .min),
            Self.event("purchase", user: "g2", time: t + 4, value: .double(-.infinity)),
            Self.event("purchase", user: "g1", time: t + 5, value: "sku-1"),  // text: counted with value 0
        ]
        let want = try await Self.reference(events)
        let store = try await factory.make()
        defer { (store as? PostgresStore)?.close() }
        try await store.insertEvents(events)
        try await Self.catchUp(store, Self.catalog, batch: 2)
        let got = try await Self.snapshot(store)
        Self.expectSame(got, want, "\(factory)")
        #expect(got.setAsideCounts == ["time_out_of_range": 3, "value_out_of_range": 3])
        #expect(got.setAside.map(\.eventID) == [8, 7, 6, 5, 4, 3])
        #expect(got.setAside.allSatisfy { !$0.detail.isEmpty })
        #expect(got.arms["\(Self.subject) userID"]?.units == ["a": 1])
        #expect(got.sources.first { $0.source == "purchase" }?.events == 2)

        try await store.insertEvents([Self.event("purchase", user: "g1", time: t + 6, value: .double(2))])
        try await Self.catchUp(store, Self.catalog, batch: 2)
        let later = try await store.pulseUnitValues(project: "default", subject: Self.subject, unitType: "userID", sources: ["purchase"])
        #expect(later.map(\.values) == [UnitValues(postCount: 3, postSum: 5)])
    }
}
