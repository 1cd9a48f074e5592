import ArgumentParser
import Foundation
import VaneCore
import VanePulse
import VaneServer
import VaneStore

/// Builds an experiment with `units` exposed units and `events` metric events, times keeping the
/// rollups (the ingest cost) and a results refresh, and exports the raw events as CSV for the
/// DuckDB baseline in `scripts/bench-pulse`.
struct BenchPulse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pulse")

    @Option(help: "Exposed units.") var units: Int = 1_000_000
    @Option(help: "Metric events (purchase and visit).") var events: Int = 10_000_000
    @Option(help: "Directory for the store (created; should be empty).") var dataDir: String
    @Option(help: "Directory for exposures.csv and events.csv (no export when omitted).") var export: String?
    @Option(help: "Results refreshes to time; the best is reported.") var rounds: Int = 3

    func run() async throws {
        MemoryReclaimer.tuneAllocator()  // as `vane serve` does
        let store = try SQLiteStore(directory: dataDir)
        _ = try await store.bootstrap(preset: PresetKeys(), now: 0)
        var experiment = Entity(kind: .experiment, name: "bench_exp")
        experiment.groups = [ExperimentGroup(id: "ctl", name: "Control", size: 50), ExperimentGroup(id: "trt", name: "Test", size: 50)]
        experiment.status = .active
        try await store.save(project: "default", entity: experiment, mustBeNew: true, audit: AuditEntry(
            time: 0, actor: "bench", action: "created", kind: "experiment", name: "bench_exp", description: "bench"))

        let day: Int64 = 86_400_000
        let t0: Int64 = 1_790_000_000_000
        var rng = SplitMix(seed: 42)
        // Every unit is exposed once (one in a thousand a second time, to the other arm: a crossover).
        var exposureTime = [Int64](repeating: 0, count: units)
        var arm = [UInt8](repeating: 0, count: units)
        var exposures: [(unit: Int, arm: UInt8, time: Int64)] = []
        exposures.reserveCapacity(units + units / 1000)
        for u in 0..<units {
            exposureTime[u] = t0 + Int64(rng.next() % UInt64(7 * day))
            arm[u] = UInt8(rng.next() & 1)
            exposures.append((u, arm[u], exposureTime[u]))
            if u % 1000 == 999 { exposures.append((u, 1 - arm[u], exposureTime[u] + 60_000)) }
        }
        // Events from 3 days before to 7 days after each unit's exposure; the test arm buys a little more.
        var metricEvents: [(unit: Int32, purchase: Bool, time: Int64, value: Double)] = []
        metricEvents.reserveCapacity(events)
        for _ in 0..<events {
            let u = Int(rng.next() % UInt64(units))
            let offset = Int64(rng.next() % UInt64(10 * day)) - 3 * day
            let purchase = rng.next() % 100 < (arm[u] == 1 ? 52 : 50)
            let value = purchase ? Double(rng.next() % 10_000) / 100 : 0
            metricEvents.append((Int32(u), purchase, exposureTime[u] + offset, value))
        }

        func record(_ name: String, unit: Int, time: Int64, value: JSONValue?, metadata: JSONValue?) -> EventRecord {
            let id = "u\(unit)"
            return EventRecord(
                project: "default", eventName: name, user: ["userID": .string(id)], userID: id, stableID: nil, customIDs: [:],
                environment: "production", value: value, metadata: metadata, secondaryExposures: nil, time: time,
                receivedAt: time, source: .sdk, sdkType: "bench")
        }
        let clock = ContinuousClock()
        let insert = try await clock.measure {
            for chunk in stride(from: 0, to: exposures.count, by: 10_000) {
                try await store.insertEvents(exposures[chunk..<min(chunk + 10_000, exposures.count)].map {
                    record(ExposureKind.config.wireName, unit: $0.unit, time: $0.time, value: nil,
                           metadata: ["config": "bench_exp", "ruleID": .string($0.arm == 0 ? "ctl" : "trt")])
                })
            }
            for chunk in stride(from: 0, to: metricEvents.count, by: 10_000) {
                try await store.insertEvents(metricEvents[chunk..<min(chunk + 10_000, metricEvents.count)].map {
                    record($0.purchase ? "purchase" : "visit", unit: Int($0.unit), time: $0.time,
                           value: $0.purchase ? .double($0.value) : nil, metadata: nil)
                })
            }
        }
        let heapAfterInsert = ProcessStats.anonymousMB()
        let writtenByInsert = ProcessStats.writtenGB()
        let services = VaneServices(store: store)
        let rollup = try await clock.measure { try await services.pulseCatchUp() }
        let heapAfterRollup = ProcessStats.anonymousMB()
        let writtenByRollup = ProcessStats.writtenGB() - writtenByInsert
        // What a server does once the rollup has caught up (MemoryReclaimer): empty the page
        // caches and give free heap back.
        store.releaseMemory()
        try await Task.sleep(for: .seconds(1))
        MemoryReclaimer.trimHeap()
        let heapReclaimed = ProcessStats.anonymousMB()
        var refresh = Double.infinity
        var result: JSONValue = .null
        for _ in 0..<max(1, rounds) {
            let t = try await clock.measure { result = try await services.pulse(name: "bench_exp") }
            refresh = min(refresh, t.seconds)
        }
        let total = exposures.count + metricEvents.count
        print("units=\(units) events=\(metricEvents.count) exposures=\(exposures.count)")
        print(String(format: "insert_seconds=%.3f", insert.seconds))
        print(String(format: "rollup_seconds=%.3f", rollup.seconds))
        print(String(format: "rollup_us_per_event=%.3f", rollup.seconds * 1e6 / Double(total)))
        print(String(format: "refresh_seconds=%.6f", refresh))
        // The process also holds the generated events (about 24 bytes each) for the whole run.
        print(String(format: "heap_mb_after_insert=%.1f heap_mb_after_rollup=%.1f heap_mb_reclaimed=%.1f",
                     heapAfterInsert, heapAfterRollup, heapReclaimed))
        print(String(format: "written_gb_by_insert=%.2f written_gb_by_rollup=%.2f", writtenByInsert, writtenByRollup))
        let data = try await store.pulseArms(project: "default", subject: PulseCatalog.experimentSubject("bench_exp"), unitType: "userID")
        for (armID, name) in [("ctl", "Control"), ("trt", "Test")] {
            let s = data.sums[armID]?["purchase"] ?? ArmSums()
            print("group=\(name) units=\(data.units[armID] ?? 0) count_sum=\(Int(s.count)) count_sumsq=\(Int(s.countSquares)) "
                  + "conv_sum=\(Int(s.converted)) value_sum=\(s.sum) value_sumsq=\(s.sumSquares)")
        }
        print("crossovers=\(data.crossovers) metrics=\(result["metrics"]?.arrayValue?.count ?? 0)")

        if let export {
            try FileManager.default.createDirectory(atPath: export, withIntermediateDirectories: true)
            try writeCSV(export + "/exposures.csv", header: "unit,arm,time", exposures.map { "u\($0.unit),\($0.arm == 0 ? "ctl" : "trt"),\($0.time)" })
            try writeCSV(export + "/events.csv", header: "unit,event,time,value", metricEvents.map {
                "u\($0.unit),\($0.purchase ? "purchase" : "visit"),\($0.time),\($0.purchase ? String($0.value) : "0")"
            })
        }
    }

    func writeCSV(_ path: String, header: String, _ lines: [String]) throws {
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var buffer = header + "\n"
        for line in lines {
            buffer += line
            buffer += "\n"
            if buffer.utf8.count > 1 << 20 {
                try handle.write(contentsOf: Data(buffer.utf8))
                buffer = ""
            }
        }
        try handle.write(contentsOf: Data(buffer.utf8))
    }
}

/// A small deterministic generator, so runs are comparable.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
