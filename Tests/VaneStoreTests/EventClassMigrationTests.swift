import Foundation
import GRDB
import Testing
import VaneCore
@testable import VaneStore

/// Migration 012 classifies the events stored before it (`is_exposure`, `is_reserved`) the way
/// inserts classify new ones, and the per-source counts read the columns.
@Suite struct EventClassMigrationTests {
    static let names = [
        "purchase", "statsig::gate_exposure", "statsig::config_exposure", "statsig::layer_exposure",
        "statsig::experiment_exposure", "statsig::diagnostics", "statsig::some_other_exposure", "STATSIG::gate_exposure",
    ]

    static func expected(_ name: String) -> (exposure: Int, reserved: Int) {
        (ExposureKind(eventName: name) == nil ? 0 : 1, ExposureKind.isReserved(name) ? 1 : 0)
    }

    @Test func oldRowsAreClassifiedAndNewRowsToo() async throws {
        let queue = try DatabaseQueue()
        // A store as version 011 left it, with events written then.
        try SQLiteMigrations.migrator.migrate(queue, upTo: "011_parameter_stores")
        try await queue.write { db in
            for (i, name) in Self.names.enumerated() {
                try db.execute(sql: """
                    INSERT INTO events (project_id, event_name, user_json, time, received_at, source)
                    VALUES ('default', ?, '{}', ?, ?, ?)
                    """, arguments: [name, 1000 + i, 1000 + i, i % 2 == 0 ? "sdk" : "http_api"])
            }
        }
        let store = try SQLiteStore(writer: queue)
        let old = try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT event_name, is_exposure, is_reserved FROM events ORDER BY id")
        }
        #expect(old.count == Self.names.count)
        for row in old {
            let name: String = row["event_name"]
            let want = Self.expected(name)
            #expect((row["is_exposure"] as Int, row["is_reserved"] as Int) == want, "\(name)")
        }

        // Events inserted now get the same values.
        try await store.insertEvents(Self.names.enumerated().map { i, name in
            EventRecord(
                user: StatsigUser(userID: "u\(i)"), project: "default", eventName: name, time: 2000 + Int64(i),
                receivedAt: 2000, source: .segment, sdkType: "test", keyEnvironment: nil)
        })
        let new = try await queue.read { db in
            try Row.fetchAll(db, sql: "SELECT event_name, is_exposure, is_reserved FROM events WHERE source = 'segment' ORDER BY id")
        }
        #expect(new.count == Self.names.count)
        for row in new {
            let name: String = row["event_name"]
            #expect((row["is_exposure"] as Int, row["is_reserved"] as Int) == Self.expected(name), "\(name)")
        }

        // Customer events (not in the statsig:: namespace) and exposures, per source.
        let counts = try await store.eventCountsBySource(project: "default", since: 0)
        #expect(counts["sdk"]?.events == 1 && counts["sdk"]?.exposures == 2)  // purchase; config, experiment
        #expect(counts["http_api"]?.events == 1 && counts["http_api"]?.exposures == 2)  // STATSIG::…; gate, layer
        #expect(counts["segment"]?.events == 2 && counts["segment"]?.exposures == 4)
        let read = try await store.events(project: "default", afterID: 0, limit: 100)
        #expect(read.map(\.source).filter { $0 == .segment }.count == Self.names.count)
    }
}
