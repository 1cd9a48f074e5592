import Foundation
import GRDB
import Testing
import VaneCore
import VaneTestSupport
@testable import VaneStore

/// The MetricRepository contract on both databases: one row per metric, so concurrent edits of
/// different metrics all survive, and a create of a name that exists is refused atomically.
@Suite("Metric contract")
struct MetricContractTests {
    static func audit(_ name: String, _ action: String = "created") -> AuditEntry {
        AuditEntry(time: 1_000, actor: "tester", action: action, kind: "metric", name: name, description: "metric \(name) \(action)")
    }

    static func definition(_ name: String, _ event: String = "purchase") -> JSONValue {
        ["name": .string(name), "type": "sum", "event": .string(event)]
    }

    @Test(arguments: StoreUnderTest.allCases)
    func createReplaceDeleteWithTheirAudit(_ factory: StoreUnderTest) async throws {
        let store = try await factory.make()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        try await store.putMetric(project: "default", name: "revenue", definition: Self.definition("revenue"), create: true, audit: Self.audit("revenue"))
        await #expect(throws: StoreError.conflict("a metric named 'revenue' already exists")) {
            try await store.putMetric(project: "default", name: "revenue", definition: Self.definition("revenue", "other"),
                                      create: true, audit: Self.audit("revenue"))
        }
        try await store.putMetric(project: "default", name: "revenue", definition: Self.definition("revenue", "order"),
                                  create: false, audit: Self.audit("revenue", "updated"))
        #expect(try await store.metricDefinitions(project: "default") == ["revenue": Self.definition("revenue", "order")])
        #expect(try await store.deleteMetric(project: "default", name: "revenue", audit: Self.audit("revenue", "deleted")))
        #expect(try await !store.deleteMetric(project: "default", name: "revenue", audit: Self.audit("revenue", "deleted")))
        #expect(try await store.metricDefinitions(project: "default").isEmpty)
        // Three entries: the refused create and the second delete wrote none.
        let entries = try await store.auditLog(project: "default", query: AuditQuery(kind: "metric"))
        #expect(entries.map(\.action).sorted() == ["created", "deleted", "updated"])
    }

    /// Many writers at once, each adding its own metric, as nodes behind a load balancer would:
    /// none is lost. On PostgreSQL the writers are two stores (two nodes) on one database.
    @Test(arguments: StoreUnderTest.allCases)
    func concurrentEditsOfDifferentMetricsAllSurvive(_ factory: StoreUnderTest) async throws {
        let first = try await factory.make()
        _ = try await first.bootstrap(preset: PresetKeys(), now: 1)
        var nodes: [any VaneStore] = [first]
        if factory == .postgres, let pg = first as? PostgresStore { nodes.append(try await PostgresStore.open(url: pg.db.url)) }
        let writers = nodes
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<24 {
                group.addTask {
                    let name = "metric_\(i)"
                    try await writers[i % writers.count].putMetric(
                        project: "default", name: name, definition: Self.definition(name), create: true, audit: Self.audit(name))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await first.metricDefinitions(project: "default").keys.sorted() == (0..<24).map { "metric_\($0)" }.sorted())

        // The same new name from every writer at once: exactly one create wins.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask {
                    do {
                        try await writers[i % writers.count].putMetric(
                            project: "default", name: "contested", definition: Self.definition("contested", "e\(i)"),
                            create: true, audit: Self.audit("contested"))
                        return true
                    } catch { return false }
                }
            }
            var out: [Bool] = []
            for await o in group { out.append(o) }
            return out
        }
        #expect(outcomes.filter { $0 }.count == 1)
    }

    /// Metrics stored in the old `pulse_metrics` settings document move into the table on upgrade.
    @Test func theOldSettingsDocumentMovesIntoTheTable() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vane-metrics-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let store = try SQLiteStore(directory: dir)
            _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        }
        // Put the database back to the schema before 015, holding an old document.
        let queue = try DatabaseQueue(path: DataDirectory(dir).database)
        try await queue.write { db in
            try db.execute(sql: "DROP TABLE metrics; DELETE FROM grdb_migrations WHERE identifier = '015_metrics'")
            try db.execute(
                sql: "INSERT INTO settings (project_id, name, value, updated_at) VALUES ('default', 'pulse_metrics', ?, 5)",
                arguments: [#"{"metrics":[{"name":"aov","type":"mean","event":"buy"},{"name":"rev","type":"sum","event":"buy"},{"type":"sum"}]}"#])
        }
        try queue.close()
        let store = try SQLiteStore(directory: dir)
        let metrics = try await store.metricDefinitions(project: "default")
        #expect(metrics.keys.sorted() == ["aov", "rev"])
        #expect(metrics["aov"] == ["name": "aov", "type": "mean", "event": "buy"])
        #expect(try await store.setting(project: "default", name: "pulse_metrics") == nil)
    }
}
