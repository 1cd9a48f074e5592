import Foundation
import GRDB
import Synchronization
import Testing
import VaneCore
import VanePulse
@testable import VaneStore

/// Backup, restore, retention and check on real files in temporary data directories.
@Suite("Operations")
struct OperationsTests {
    static let day: Int64 = 86_400_000
    static let now: Int64 = 1_790_000_000_000

    static func tempDir(_ label: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("vane-ops-\(label)-\(UUID().uuidString)").path
    }

    /// Event `seq` carries its number in every column, so a copy can be checked field by field.
    static func event(_ seq: Int, time: Int64? = nil) -> EventRecord {
        EventRecord(project: "default", eventName: "op_event", user: ["userID": .string("u\(seq)")], userID: "u\(seq)",
                    stableID: "s\(seq)", customIDs: [:], environment: "production", value: .double(Double(seq)),
                    metadata: ["seq": .string("\(seq)")], secondaryExposures: nil, time: time ?? now + Int64(seq),
                    receivedAt: now, source: .sdk, sdkType: "test")
    }

    static func events(_ range: Range<Int>, time: ((Int) -> Int64)? = nil) -> [EventRecord] {
        range.map { event($0, time: time?($0)) }
    }

    static func newStore(_ dir: String) async throws -> SQLiteStore {
        let store = try SQLiteStore(directory: dir)
        _ = try await store.bootstrap(preset: PresetKeys(server: "secret-ops", client: nil, console: nil), now: now)
        return store
    }

    /// Every event in the file, checked against what `event(seq)` wrote; returns the count.
    static func verifiedEventCount(file: String) throws -> Int {
        try DatabaseQueue(path: file).read { db in
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM events ORDER BY id")
            for (i, row) in rows.enumerated() {
                let e = SQLiteStore.eventRecord(row)
                #expect(e.id == Int64(i + 1), "ids are gapless: whole transactions only")
                #expect(e.userID == "u\(i)" && e.stableID == "s\(i)" && e.eventName == "op_event")
                #expect(e.value?.doubleValue == Double(i) && e.metadata == ["seq": .string("\(i)")])
                #expect(e.user == ["userID": .string("u\(i)")] && e.time == now + Int64(i))
            }
            return rows.count
        }
    }

    // MARK: - Backup

    @Test func backupTakenDuringIngestHoldsWholeTransactionsOnly() async throws {
        let dir = Self.tempDir("backup")
        let store = try await Self.newStore(dir)
        try await store.insertEvents(Self.events(0..<1000))
        let stop = Mutex(false)
        // Batches of 100 in one transaction each, until told to stop.
        let writer = Task {
            var next = 1000
            while !stop.withLock({ $0 }) {
                try await store.insertEvents(Self.events(next..<next + 100))
                next += 100
            }
            return next
        }
        while try await store.eventCount(project: "default") < 3000 { try await Task.sleep(for: .milliseconds(2)) }

        let file = Self.tempDir("backup-file") + ".sqlite"
        let before = try await store.eventCount(project: "default")
        let summary = try SQLiteBackup.backup(directory: dir, to: file, force: false)
        let after = try await store.eventCount(project: "default")
        try await Task.sleep(for: .milliseconds(50))
        stop.withLock { $0 = true }
        let written = try await writer.value

        #expect(before <= summary.events && summary.events <= after)
        #expect(summary.events % 100 == 0, "a transaction was cut in half")
        #expect(written > summary.events, "ingest went on after the backup")
        #expect(summary.bytes > 0 && summary.schema == SQLiteMigrations.migrator.migrations.last)
        #expect(try Self.verifiedEventCount(file: file) == summary.events)
        #expect(!FileManager.default.fileExists(atPath: file + "-wal"), "the backup is one self-contained file")
    }

    @Test func backupRefusesToOverwriteUnlessForced() async throws {
        let dir = Self.tempDir("overwrite")
        let store = try await Self.newStore(dir)
        try await store.insertEvents(Self.events(0..<10))
        let file = Self.tempDir("overwrite-file") + ".sqlite"
        try Data("precious".utf8).write(to: URL(fileURLWithPath: file))

        #expect(throws: SQLiteBackup.Failure.destinationExists(file)) { try SQLiteBackup.backup(directory: dir, to: file, force: false) }
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data("precious".utf8))
        let summary = try SQLiteBackup.backup(directory: dir, to: file, force: true)
        #expect(summary.events == 10)
        #expect(try Self.verifiedEventCount(file: file) == 10)
        let missing = Self.tempDir("missing")
        #expect(throws: SQLiteBackup.Failure.noStore(missing + "/vane.sqlite")) {
            _ = try SQLiteBackup.backup(directory: missing, to: file + "2", force: false)
        }
    }

    // MARK: - Restore

    @Test func restoreRoundTripKeepsThePreviousDatabaseAside() async throws {
        let source = Self.tempDir("source")
        let original = try await Self.newStore(source)
        try await original.insertEvents(Self.events(0..<250))
        let file = Self.tempDir("roundtrip") + ".sqlite"
        _ = try SQLiteBackup.backup(directory: source, to: file, force: false)

        // The target already has a store of its own, with other events, which must survive aside.
        let target = Self.tempDir("target")
        do {
            let other = try SQLiteStore(directory: target)
            _ = try await other.bootstrap(preset: PresetKeys(server: "secret-other", client: nil, console: nil), now: 1)
            try await other.insertEvents(Self.events(0..<7))
        }
        let outcome = try SQLiteRestore.restore(from: file, into: target)
        #expect(outcome.events == 250)
        let aside = try #require(outcome.previousKeptAt)
        #expect(FileManager.default.fileExists(atPath: aside))

        let restored = try SQLiteStore(directory: target)
        #expect(try await restored.eventCount(project: "default") == 250)
        #expect(try await restored.key(matching: "secret-ops") != nil)
        #expect(try await restored.key(matching: "secret-other") == nil)
        let previous = try SQLiteStore(writer: try DatabaseQueue(path: aside))
        #expect(try await previous.eventCount(project: "default") == 7)
        #expect(try await previous.key(matching: "secret-other") != nil)
    }

    @Test func restoreRefusesWhileTheStoreIsOpen() async throws {
        let source = Self.tempDir("busy-source")
        let original = try await Self.newStore(source)
        try await original.insertEvents(Self.events(0..<5))
        let file = Self.tempDir("busy") + ".sqlite"
        _ = try SQLiteBackup.backup(directory: source, to: file, force: false)

        let target = Self.tempDir("busy-target")
        var serving: SQLiteStore? = try await Self.newStore(target)
        #expect(throws: DataDirectoryLock.Failure.busy(directory: target, wanted: .exclusive)) {
            _ = try SQLiteRestore.restore(from: file, into: target)
        }
        #expect(try await serving?.eventCount(project: "default") == 0)
        serving = nil  // the "server" stops: the lock goes with it
        #expect(try SQLiteRestore.restore(from: file, into: target).events == 5)
        // And a store cannot open while a restore holds the directory.
        let restoring = try DataDirectoryLock(DataDirectory(target), mode: .exclusive)
        #expect(throws: DataDirectoryLock.Failure.busy(directory: target, wanted: .shared)) { _ = try SQLiteStore(directory: target) }
        withExtendedLifetime(restoring) {}
    }

    @Test func restoreRefusesANewerSchemaAndADamagedFile() async throws {
        let source = Self.tempDir("newer-source")
        _ = try await Self.newStore(source)
        let file = Self.tempDir("newer") + ".sqlite"
        _ = try SQLiteBackup.backup(directory: source, to: file, force: false)
        try await DatabaseQueue(path: file).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('999_from_the_future')")
        }
        let target = Self.tempDir("newer-target")
        let existing = try await Self.newStore(target)
        try await existing.insertEvents(Self.events(0..<3))
        #expect(throws: SQLiteRestore.Failure.newerSchema(file, unknown: ["999_from_the_future"])) {
            _ = try SQLiteRestore.restore(from: file, into: target)
        }

        let damaged = Self.tempDir("damaged") + ".sqlite"
        _ = try SQLiteBackup.backup(directory: source, to: damaged, force: false)
        try Self.scribble(on: damaged)
        #expect(throws: (any Error).self) { _ = try SQLiteRestore.restore(from: damaged, into: target) }
        let notAStore = Self.tempDir("plain") + ".sqlite"
        try await DatabaseQueue(path: notAStore).write { db in try db.execute(sql: "CREATE TABLE t (x)") }
        #expect(throws: SQLiteRestore.Failure.notAStore(notAStore)) { _ = try SQLiteRestore.restore(from: notAStore, into: target) }

        // Nothing was touched: the same store, nothing set aside.
        #expect(try await existing.eventCount(project: "default") == 3)
        let files = try FileManager.default.contentsOfDirectory(atPath: target)
        #expect(!files.contains { $0.hasPrefix("vane-before-restore") || $0.hasSuffix(".restoring") })
    }

    /// Overwrites the middle of every page after the first with garbage.
    static func scribble(on file: String) throws {
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let pageSize = Int(bytes[16]) << 8 | Int(bytes[17])
        for page in stride(from: pageSize, to: bytes.count, by: pageSize) {
            for i in page + 8..<min(page + pageSize / 2, bytes.count) { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: file))
    }

    // MARK: - Retention

    /// Forty days before `now`.
    static func oldTime(_ seq: Int) -> Int64 { now - 40 * day + Int64(seq) }

    @Test func retentionDeletesOnlyOldEventsBothCursorsHavePassed() async throws {
        let store = try await Self.newStore(Self.tempDir("retention"))
        // 100 old events, then 20 recent ones, then 30 more old ones (late arrivals).
        try await store.insertEvents(Self.events(0..<100, time: Self.oldTime))
        try await store.insertEvents(Self.events(100..<120))
        try await store.insertEvents(Self.events(120..<150, time: Self.oldTime))
        let cutoff = Self.now - 30 * Self.day

        // No rollup has run: it still needs everything.
        #expect(try await store.pruneEvents(project: "default", before: cutoff, holdForSegmentExport: false, limit: 5000) == 0)

        _ = try await store.pulseRollup(project: "default", catalog: PulseCatalog(), maxEvents: 80)  // rollup at event 80
        var outbound = OutboundState()
        outbound.eventCursor = 60
        try await store.saveOutbound(project: "default", state: outbound, newDeadLetters: [], resolvedDeadLetters: [])

        // Export enabled: the export's cursor (60) is the lower one.
        #expect(try await store.pruneEvents(project: "default", before: cutoff, holdForSegmentExport: true, limit: 5000) == 60)
        #expect(try await store.event(project: "default", id: 60) == nil)
        #expect(try await store.event(project: "default", id: 61) != nil)
        // Export disabled: only the rollup holds back, in batches of the limit.
        #expect(try await store.pruneEvents(project: "default", before: cutoff, holdForSegmentExport: false, limit: 15) == 15)
        #expect(try await store.pruneEvents(project: "default", before: cutoff, holdForSegmentExport: false, limit: 15) == 5)
        #expect(try await store.pruneEvents(project: "default", before: cutoff, holdForSegmentExport: false, limit: 15) == 0)
        #expect(try await store.event(project: "default", id: 80) == nil)
        #expect(try await store.event(project: "default", id: 81) != nil)

        // The rollup passes everything: old events go, recent ones stay.
        while try await store.pulseRollup(project: "default", catalog: PulseCatalog(), maxEvents: 1000).behind > 0 {}
        #expect(try await store.pruneEvents(project: "default", before: cutoff, holdForSegmentExport: false, limit: 5000) == 50)
        let left = try await store.events(project: "default", afterID: 0, limit: 1000)
        #expect(left.map(\.id) == (101...120).map { Int64($0) })
        #expect(left.allSatisfy { $0.time >= cutoff })

        // The cursors still point into the log and new events arrive after them.
        let ids = try await store.insertEvents(Self.events(150..<151))
        #expect(ids == [151])
        #expect(try await store.pulseRollup(project: "default", catalog: PulseCatalog(), maxEvents: 1000).processed == 1)
        #expect(SQLiteHealthCheck.run(database: try await Self.databasePath(of: store)).healthy)
    }

    @Test func retentionLeavesOtherProjectsToTheirOwnCursors() async throws {
        let store = try await Self.newStore(Self.tempDir("projects"))
        try await store.insertEvents(Self.events(0..<10, time: Self.oldTime))
        var other = Self.events(10..<20, time: Self.oldTime)
        for i in other.indices { other[i].project = "other" }
        try await store.insertEvents(other)
        while try await store.pulseRollup(project: "default", catalog: PulseCatalog(), maxEvents: 1000).behind > 0 {}
        let cutoff = Self.now - 30 * Self.day
        #expect(try await store.pruneEvents(project: "default", before: cutoff, holdForSegmentExport: false, limit: 5000) == 10)
        #expect(try await store.pruneEvents(project: "other", before: cutoff, holdForSegmentExport: false, limit: 5000) == 0)
        #expect(try await store.eventCount(project: "other") == 10)
    }

    static func databasePath(of store: SQLiteStore) async throws -> String {
        store.db.path
    }

    // MARK: - Check

    @Test func checkFindsAHealthyStoreHealthy() async throws {
        let dir = Self.tempDir("check")
        let store = try await Self.newStore(dir)
        try await store.insertEvents(Self.events(0..<50))
        _ = try await store.pulseRollup(project: "default", catalog: PulseCatalog(), maxEvents: 1000)
        let report = SQLiteHealthCheck.run(database: DataDirectory(dir).database)
        #expect(report.healthy, "\(report.items)")
        #expect(report.items.map(\.check) == ["integrity", "foreign keys", "schema", "cursors", "finite numbers", "events"])
    }

    @Test func checkReportsEachBrokenInvariant() async throws {
        let dir = Self.tempDir("check-broken")
        let store = try await Self.newStore(dir)
        try await store.insertEvents(Self.events(0..<5))
        _ = try await store.pulseRollup(project: "default", catalog: PulseCatalog(), maxEvents: 1000)
        try await store.db.write { db in
            try db.execute(sql: "UPDATE pulse_state SET cursor = 999")
            try db.execute(sql: "INSERT INTO pulse_metric_days (project_id, source, day, events, value_sum) VALUES ('default', 'x', 1, 1, 9e999)")
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('999_from_the_future')")
        }
        let report = SQLiteHealthCheck.run(database: DataDirectory(dir).database)
        let failed = Dictionary(uniqueKeysWithValues: report.items.map { ($0.check, $0) }).filter { !$0.value.ok }
        #expect(!report.healthy)
        #expect(Set(failed.keys) == ["cursors", "finite numbers", "schema"])
        #expect(failed["cursors"]?.detail.contains("Pulse rollup of default at event 999") == true)
        #expect(failed["finite numbers"]?.detail.contains("pulse_metric_days.value_sum: 1") == true)
        #expect(failed["schema"]?.detail.contains("999_from_the_future") == true)
    }

    @Test func checkReportsADamagedFileWithoutCrashing() async throws {
        let dir = Self.tempDir("check-damaged")
        let store = try await Self.newStore(dir)
        try await store.insertEvents(Self.events(0..<500))
        let file = Self.tempDir("check-damaged-copy") + ".sqlite"
        _ = try SQLiteBackup.backup(directory: dir, to: file, force: false)
        try Self.scribble(on: file)
        let report = SQLiteHealthCheck.run(database: file)
        #expect(!report.healthy)
        #expect(report.items.first { $0.check == "integrity" }?.ok == false)
        #expect(!SQLiteHealthCheck.run(database: file + ".missing").healthy)
    }
}
