import ArgumentParser
import Foundation
import VaneCore
import VaneSegment
import VaneServer
import VaneStore

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks you can rerun. Build with -c release for meaningful figures.",
        subcommands: [BenchEval.self, BenchSeed.self, BenchRawInsert.self, BenchPulse.self])
}

/// Evaluations per second of a realistic rule set against SHA-256 hashes per second of comparable
/// inputs, in the same process and run, so the ratio holds on a noisy machine.
struct BenchEval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval")

    @Option(help: "Number of users.") var users: Int = 100_000
    @Option(help: "Repetitions; the best of each is reported.") var rounds: Int = 3

    func run() async throws {
        let rules = BenchRules.make()
        let evaluator = Evaluator(rules: rules)
        let population = (0..<users).map { i in
            StatsigUser(
                userID: "user-\(i)", email: i % 7 == 0 ? "u\(i)@company.com" : "u\(i)@example.org",
                country: ["US", "CA", "DE", "FR", "BR", "IN"][i % 6], appVersion: "2.\(i % 10).\(i % 3)",
                custom: ["plan": i % 3 == 0 ? "pro" : "free"])
        }
        let gateNames = rules.gateSpecs.map(\.name).filter { !$0.hasPrefix("segment:") }.sorted()
        let experimentNames = rules.configSpecs.map(\.name).sorted()
        let evaluationsPerRound = users * (gateNames.count + experimentNames.count)
        let inputs = population.map { "gate_salt_17.rule_salt_2.\($0.userID!)" }

        var bestEval = Double.infinity
        var bestHash = Double.infinity
        var checksum = 0
        let clock = ContinuousClock()
        for _ in 0..<rounds {
            let evalTime = clock.measure {
                for user in population {
                    for g in gateNames where evaluator.checkGate(user, g).value { checksum &+= 1 }
                    for e in experimentNames where evaluator.getConfig(user, e).isExperimentGroup { checksum &+= 1 }
                }
            }
            bestEval = min(bestEval, evalTime.seconds)
            // The same number of hashes as evaluations, over inputs of the same shape.
            let hashTime = clock.measure {
                var acc: UInt64 = 0
                for _ in 0..<(gateNames.count + experimentNames.count) {
                    for s in inputs { acc &+= StatsigHash.unitHash(s) }
                }
                checksum &+= Int(acc & 1)
            }
            bestHash = min(bestHash, hashTime.seconds)
        }
        let evalRate = Double(evaluationsPerRound) / bestEval
        let hashRate = Double(evaluationsPerRound) / bestHash
        print("rule set: \(gateNames.count) gates (3 rules each), \(experimentNames.count) experiments; \(users) users")
        print(String(format: "evaluations/s: %.0f", evalRate))
        print(String(format: "sha256 hashes/s: %.0f", hashRate))
        print(String(format: "evaluations per hash: %.3f (goal >= 0.5)", evalRate / hashRate))
        print("checksum \(checksum)")
    }
}

/// 50 gates with 3 rules each (an email allow-list, a country rule at 50%, a 10% rollout) and
/// 10 two-group experiments, the shape of a real product's rule set.
enum BenchRules {
    static func make() -> RuleSet {
        var gates: [Spec] = []
        for g in 0..<50 {
            gates.append(Spec(
                name: "gate_\(g)", type: "feature_gate", entity: "feature_gate", salt: "gate_salt_\(g)", defaultValue: false,
                rules: [
                    Rule(id: "employees_\(g)", passPercentage: 100,
                         conditions: [Condition(type: "user_field", operator: "str_ends_with_any",
                                                targetValue: ["@company.com"], field: "email")], returnValue: true),
                    Rule(id: "north_america_\(g)", passPercentage: 50,
                         conditions: [Condition(type: "user_field", operator: "any", targetValue: ["US", "CA"], field: "country"),
                                      Condition(type: "user_field", operator: "version_gte", targetValue: "2.3.0", field: "appVersion")],
                         returnValue: true),
                    Rule(id: "rollout_\(g)", passPercentage: 10, conditions: [.public], returnValue: true),
                ]))
        }
        var experiments: [Spec] = []
        for e in 0..<10 {
            let salt = "exp_salt_\(e)"
            experiments.append(Spec(
                name: "experiment_\(e)", type: "dynamic_config", entity: "experiment", salt: salt, defaultValue: [:],
                rules: [
                    Rule(id: "control_\(e)", passPercentage: 100,
                         conditions: [Condition(type: "user_bucket", operator: "lt", targetValue: 500, additionalValues: ["salt": .string(salt)])],
                         returnValue: ["variant": "control"], groupName: "Control", isExperimentGroup: true),
                    Rule(id: "test_\(e)", passPercentage: 100,
                         conditions: [Condition(type: "user_bucket", operator: "lt", targetValue: 1000, additionalValues: ["salt": .string(salt)])],
                         returnValue: ["variant": "test"], groupName: "Test", isExperimentGroup: true),
                ], isActive: true))
        }
        return RuleSet(time: 1, gates: gates, configs: experiments, layers: [])
    }
}

/// Loads the benchmark rule set into a data directory, for HTTP benchmarks.
struct BenchSeed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "seed")

    @OptionGroup var data: DataDirOption

    func run() async throws {
        let rules = BenchRules.make()
        let document: JSONValue = [
            "has_updates": true, "time": 1,
            "feature_gates": .array(rules.gateSpecs.map { $0.toJSON() }),
            "dynamic_configs": .array(rules.configSpecs.map { $0.toJSON() }),
            "layer_configs": [],
        ]
        let store = try SQLiteStore(directory: data.dataDir)
        let env = ProcessInfo.processInfo.environment
        _ = try await store.bootstrap(
            preset: PresetKeys(server: env["VANE_SERVER_SECRET"], client: env["VANE_CLIENT_KEY"], console: env["VANE_CONSOLE_KEY"]),
            now: Int64(Date().timeIntervalSince1970 * 1000))
        let result = try await VaneServices(store: store).importStatsig(document: document)
        print("seeded \(result.imported.values.map(\.count).reduce(0, +)) specs into \(data.dataDir)")
    }
}

/// Inserts Segment events straight into a SQLite store in one process, 100 a transaction:
/// the baseline that HTTP ingest through `/v1/batch` is compared with (scripts/bench-segment-ingest).
struct BenchRawInsert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "raw-insert")

    @Option(help: "Events to insert.") var events: Int = 200_000
    @Option(help: "Events per transaction.") var batch: Int = 100

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vane-raw-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        _ = try await store.bootstrap(preset: PresetKeys(), now: 0)
        let settings = InboundSettings()
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let clock = ContinuousClock()
        var n = 0
        let elapsed = try await clock.measure {
            while n < events {
                var records: [EventRecord] = []
                for i in n..<min(n + batch, events) {
                    let raw = BenchSegment.message(i)
                    let m = try SegmentMessage(json: raw)
                    let e = SegmentMapper.map(m, settings: settings, receivedAt: now, fromSegment: false)!
                    var r = EventRecord(
                        project: "default", eventName: e.eventName, user: e.user.toJSON(), userID: e.user.userID, stableID: nil,
                        customIDs: e.user.customIDs, environment: "production", value: e.value, metadata: .object(e.metadata),
                        secondaryExposures: nil, time: e.time, receivedAt: now, source: .segment, sdkType: "segment")
                    r.raw = raw
                    r.dedupe = DedupeKey(scope: "segment", messageID: e.messageId!, notBefore: now - 7 * 86_400_000)
                    records.append(r)
                }
                try await store.insertEvents(records)
                n += records.count
            }
        }
        print(String(format: "raw SQLite insert events/s: %.0f", Double(events) / elapsed.seconds))
    }
}

enum BenchSegment {
    /// A realistic track call, the same shape wrk posts in scripts/bench-segment-ingest.
    static func message(_ i: Int) -> JSONValue {
        [
            "type": "track", "event": "Order Completed", "userId": .string("user-\(i % 10_000)"),
            "anonymousId": .string("anon-\(i % 20_000)"), "messageId": .string("raw-\(i)"),
            "timestamp": "2026-11-23T10:00:00.000Z",
            "properties": ["revenue": 19.99, "currency": "USD", "sku": "SKU-123", "plan": "pro"],
            "context": ["library": ["name": "analytics-python", "version": "2.4.0"], "ip": "203.0.113.7"],
        ]
    }
}
