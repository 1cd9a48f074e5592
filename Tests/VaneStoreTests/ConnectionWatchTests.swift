import Foundation
import Testing
import VaneTestSupport
@testable import VaneStore

/// PostgresNIO can lose a statement that is in flight when its connection closes; the store must
/// not wait on it forever (a database restart under load wedged ingest behind one such write).
@Suite("Connections that close under a statement")
struct ConnectionWatchTests {
    /// Stands in for a statement whose answer the driver lost: it never finishes on its own.
    private static func neverAnswers() async -> Int {
        await withCheckedContinuation { (_: CheckedContinuation<Int, Never>) in }
    }

    @Test func aStatementWaitingOnAClosedConnectionEndsAsConnectionLost() async throws {
        let store = try await PostgresStore.open(url: try await TestPostgres.freshDatabase())
        defer { store.close() }
        let start = ContinuousClock.now
        await #expect(throws: PostgresConnectionLost.self) {
            try await store.db.read { c in
                async let lost = c.watch.guarded(c.connection) { await Self.neverAnswers() }
                try await Task.sleep(for: .milliseconds(200))
                try await c.connection.close()
                return try await lost
            }
        }
        #expect(ContinuousClock.now - start < .seconds(25))
        #expect(store.db.watch.watchedConnections == 0, "a closed connection is forgotten")
        // The pool replaces the closed connection.
        #expect(try await store.changeVersion() >= 0)
    }

    @Test func aStatementOnAnAlreadyClosedConnectionEndsAtOnce() async throws {
        let store = try await PostgresStore.open(url: try await TestPostgres.freshDatabase())
        defer { store.close() }
        await #expect(throws: PostgresConnectionLost.self) {
            try await store.db.read { c in
                try await c.connection.close()
                return try await c.watch.guarded(c.connection) { await Self.neverAnswers() }
            }
        }
    }

    @Test func aWriteWhoseBackendIsTerminatedFailsAsUnavailableAndTheNextOneSucceeds() async throws {
        let url = try await TestPostgres.freshDatabase()
        let store = try await PostgresStore.open(url: url)
        let admin = try await PostgresStore.open(url: url)
        defer {
            store.close()
            admin.close()
        }
        let start = ContinuousClock.now
        do {
            try await store.db.write { c in
                let pid = try await c.fetchValue("SELECT pg_backend_pid()", as: Int32.self) ?? 0
                async let sleeping = c.execute("SELECT pg_sleep(30)")
                try await Task.sleep(for: .milliseconds(300))
                try await admin.db.read { a in _ = try await a.execute("SELECT pg_terminate_backend(?::int)", [Int(pid)]) }
                _ = try await sleeping
            }
            Issue.record("the write succeeded although its backend was terminated")
        } catch {
            #expect(StoreFailure(error) == .unavailable, "\(String(reflecting: error))")
        }
        #expect(ContinuousClock.now - start < .seconds(25), "ended before the 30 s statement would have")
        #expect(try await store.db.write { c in try await c.fetchValue("SELECT 1", as: Int.self) } == 1)
    }
}
