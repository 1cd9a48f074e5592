import Foundation
import Testing
import VaneCore
import VanePulse
@testable import VaneStore

/// The incremental rollups must end where a from-scratch computation over all events ends,
/// whatever order the events arrive in and however the job splits them into batches.
@Suite("Pulse rollups")
struct PulseRollupTests {
    static let day: Int64 = 86_400_000
    static let t0: Int64 = 1_790_000_000_000 - 1_790_000_000_000 % day + 3_600_000

    struct Generator {
        var state: UInt64
        mutating func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
    }

    static func event(_ name: String, user: String, time: Int64, value: Double? = nil, metadata: JSONValue? = nil) -> EventRecord {
        EventRecord(project: "default", eventName: name, user: ["userID": .string(user)], userID: user, stableID: "s-" + user,
                    customIDs: [:], environment: nil, value: value.map(JSONValue.double), metadata: metadata,
                    secondaryExposures: nil, time: time, receivedAt: time, source: .sdk, sdkType: "test")
    }

    static func exposure(_ user: String, _ rule: String, _ time: Int64) -> EventRecord {
        event("statsig::config_exposure", user: user, time: time, metadata: ["config": "exp", "ruleID": .string(rule)])
    }

    /// Random units with exposures (some twice, some to both arms), events before and after,
    /// a filtered source, all in shuffled arrival order.
    static func stream(seed: UInt64) -> [EventRecord] {
        var g = Generator(state: seed)
        var out: [EventRecord] = []
        for u in 0..<60 {
            let user = "u\(u)"
            let first = t0 + Int64(g.next(5)) * day + Int64(g.next(Int(day)))
            let arm = g.next(2) == 0 ? "a" : "b"
            out.append(exposure(user, arm, first + Int64(g.next(3)) * 60_000))
            if g.next(4) == 0 { out.append(exposure(user, arm, first)) }  // an earlier exposure, maybe arriving later
            if g.next(15) == 0 { out.append(exposure(user, arm == "a" ? "b" : "a", first + 1000)) }  // crossover
            // Either side of the exposure, usually the same UTC day.
            out.append(event("purchase", user: user, time: first - 1_800_000, value: 1))
            out.append(event("purchase", user: user, time: first + 1_800_000, value: 2))
            for _ in 0..<g.next(8) {
                // From 9 days before to 12 days after the exposure, some the same day either side of it.
                let offset = Int64(g.next(21 * 24) - 9 * 24) * 3_600_000 + Int64(g.next(3_600_000))
                let name = ["purchase", "visit", "page"][g.next(3)]
                let md: JSONValue = ["name": .string(g.next(2) == 0 ? "Checkout" : "Home")]
                out.append(event(name, user: user, time: first + offset, value: Double(g.next(1000)) / 10, metadata: md))
            }
        }
        for i in stride(from: out.count - 1, to: 0, by: -1) { out.swapAt(i, g.next(i + 1)) }
        return out
    }

    static let catalog = PulseCatalog(
        unitTypes: ["userID", "stableID"], experiments: ["exp": ["a", "b"]], windows: ["experiment:exp": 6],
        filteredSources: [PulseSource(key: "filtered:checkout", event: "page", filters: [MetadataFilter(key: "name", op: .eq, values: ["Checkout"])])])

    /// The from-scratch answer: arm → source → sums, and units per arm.
    static func expected(_ events: [EventRecord], unitType: String) -> (units: [String: Int], sums: [String: [String: ArmSums]], crossovers: Int) {
        func unit(_ e: EventRecord) -> String? { unitType == "userID" ? e.userID : e.stableID }
        var arms: [String: Set<String>] = [:]
        var first: [String: Int64] = [:]
        for e in events where e.eventName == "statsig::config_exposure" {
            guard let u = unit(e), let rule = e.metadata?["ruleID"]?.stringValue else { continue }
            arms[u, default: []].insert(rule)
            first[u] = min(first[u] ?? .max, e.time)
        }
        var values: [String: [String: UnitValues]] = [:]
        for e in events where !e.eventName.hasPrefix("statsig::") {
            guard let u = unit(e), let f = first[u], arms[u]?.count == 1 else { continue }
            var sources = [e.eventName]
            if catalog.filteredSources[0].matches(e) { sources.append("filtered:checkout") }
            let d = PulseDay.of(e.time), fd = PulseDay.of(f)
            let post = e.time >= f && e.time < f + 6 * day
            let pre = !post && d < fd && d >= fd - 7
            for s in sources {
                var v = values[u, default: [:]][s] ?? UnitValues()
                if post { v.postCount += 1; v.postSum += e.value?.doubleValue ?? 0 }
                if pre { v.preCount += 1; v.preSum += e.value?.doubleValue ?? 0 }
                values[u, default: [:]][s] = v
            }
        }
        var units: [String: Int] = [:]
        var sums: [String: [String: ArmSums]] = [:]
        var crossovers = 0
        for (u, set) in arms {
            guard set.count == 1, let arm = set.first else { crossovers += 1; continue }
            units[arm, default: 0] += 1
            for (s, v) in values[u] ?? [:] where !v.isZero { sums[arm, default: [:]][s, default: ArmSums()].add(ArmSums(unit: v)) }
        }
        return (units, sums, crossovers)
    }

    static func assertClose(_ a: ArmSums, _ b: ArmSums, _ label: String) {
        for (i, (x, y)) in zip(a.values, b.values).enumerated() {
            #expect(abs(x - y) <= 1e-9 * max(1, abs(y)), "\(label) \(ArmSums.columns[i]): \(x) vs \(y)")
        }
    }

    @Test(arguments: [(UInt64(1), 1), (2, 5), (3, 17), (4, 1000), (5, 3)])
    func incrementalEqualsFromScratch(seed: UInt64, batch: Int) async throws {
        let store = try SQLiteStore()
        let events = Self.stream(seed: seed)
        // Arrival in two halves with the job running in between, as in a live server.
        let half = events.count / 2
        try await store.insertEvents(Array(events[..<half]))
        while try await store.pulseRollup(project: "default", catalog: Self.catalog, maxEvents: batch).processed > 0 {}
        try await store.insertEvents(Array(events[half...]))
        while try await store.pulseRollup(project: "default", catalog: Self.catalog, maxEvents: batch).processed > 0 {}

        for unitType in ["userID", "stableID"] {
            let want = Self.expected(events, unitType: unitType)
            let got = try await store.pulseArms(project: "default", subject: "experiment:exp", unitType: unitType)
            #expect(got.units.filter { $0.value != 0 } == want.units)
            #expect(got.crossovers == want.crossovers)
            for arm in ["a", "b"] {
                for source in Set((got.sums[arm] ?? [:]).keys).union((want.sums[arm] ?? [:]).keys) {
                    Self.assertClose(got.sums[arm]?[source] ?? ArmSums(), want.sums[arm]?[source] ?? ArmSums(), "\(unitType) \(arm) \(source)")
                }
            }
        }
    }

    /// A run reads on a snapshot and stores its result only if the cursor it started from is still
    /// the stored one: a reset that lands during the run discards it, and the rollups still come
    /// out as a computation from scratch.
    @Test func aResetDuringARunDiscardsTheRun() async throws {
        let store = try SQLiteStore()
        let events = Self.stream(seed: 11)
        let half = events.count / 2
        try await store.insertEvents(Array(events[..<half]))
        while try await store.pulseRollup(project: "default", catalog: Self.catalog, maxEvents: 50).processed > 0 {}
        try await store.insertEvents(Array(events[half...]))
        // The catalogue is loaded after the run has read the stored cursor: reset there.
        let interrupted = try await store.pulseRollup(project: "default", maxEvents: 50) {
            try await store.pulseReset(project: "default")
            return Self.catalog
        }
        #expect(interrupted.processed == 0)
        #expect(interrupted.cursor < Int64(events.count))
        while try await store.pulseRollup(project: "default", catalog: Self.catalog, maxEvents: 50).processed > 0 {}
        let want = Self.expected(events, unitType: "userID")
        let got = try await store.pulseArms(project: "default", subject: "experiment:exp", unitType: "userID")
        #expect(got.units == want.units)
        #expect(got.crossovers == want.crossovers)
        for arm in ["a", "b"] {
            for source in Set((got.sums[arm] ?? [:]).keys).union((want.sums[arm] ?? [:]).keys) {
                Self.assertClose(got.sums[arm]?[source] ?? ArmSums(), want.sums[arm]?[source] ?? ArmSums(), "\(arm) \(source)")
            }
        }
    }

    @Test func aChangedCatalogueRebuildsFromTheFirstEvent() async throws {
        let store = try SQLiteStore()
        let events = Self.stream(seed: 9)
        try await store.insertEvents(events)
        let noFilters = PulseCatalog(unitTypes: ["userID", "stableID"], experiments: ["exp": ["a", "b"]], windows: ["experiment:exp": 6])
        while try await store.pulseRollup(project: "default", catalog: noFilters, maxEvents: 50).processed > 0 {}
        let before = try await store.pulseArms(project: "default", subject: "experiment:exp", unitType: "userID")
        #expect(before.sums.values.allSatisfy { $0["filtered:checkout"] == nil })

        let first = try await store.pulseRollup(project: "default", catalog: Self.catalog, maxEvents: 50)
        #expect(first.rebuilt)
        while try await store.pulseRollup(project: "default", catalog: Self.catalog, maxEvents: 50).processed > 0 {}
        let want = Self.expected(events, unitType: "userID")
        let got = try await store.pulseArms(project: "default", subject: "experiment:exp", unitType: "userID")
        for arm in ["a", "b"] {
            Self.assertClose(got.sums[arm]?["filtered:checkout"] ?? ArmSums(), want.sums[arm]?["filtered:checkout"] ?? ArmSums(), arm)
        }
    }

    @Test func seriesCountsEventsAndDistinctUsersPerDay() async throws {
        let store = try SQLiteStore()
        try await store.insertEvents([
            Self.event("purchase", user: "a", time: Self.t0, value: 2),
            Self.event("purchase", user: "a", time: Self.t0 + 1000, value: 3),
            Self.event("purchase", user: "b", time: Self.t0 + 2000, value: 5),
            Self.event("purchase", user: "b", time: Self.t0 + Self.day, value: 1),
        ])
        _ = try await store.pulseRollup(project: "default", catalog: PulseCatalog(), maxEvents: 100)
        let series = try await store.pulseSeries(project: "default", source: "purchase")
        #expect(series.map(\.events) == [3, 1])
        #expect(series.map(\.units) == [2, 1])
        #expect(series.map(\.valueSum) == [10, 1])
    }
}
