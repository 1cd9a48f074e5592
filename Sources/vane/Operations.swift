import ArgumentParser
import Foundation
import VaneServer
import VaneStore

/// `vane backup`: a consistent copy of the store, safe to take while `vane serve` is ingesting.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the store to a file while it may be serving (a consistent snapshot; ingest is not blocked).")

    @OptionGroup var data: DataDirOption
    @Option(help: "The backup file to write.") var to: String
    @Flag(help: "Replace the file if it exists.") var force = false

    func run() async throws {
        try data.requireSQLite("backup")
        let summary = try SQLiteBackup.backup(directory: data.dataDir, to: to, force: force)
        print("wrote \(summary.file): \(formatBytes(summary.bytes)), \(summary.events) events, schema \(summary.schema ?? "empty")")
    }
}

/// `vane restore`: puts a backup in place of the store, keeping the replaced database aside.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the store with a backup (the server must be stopped; the current database is kept, renamed).")

    @OptionGroup var data: DataDirOption
    @Option(help: "The backup file to restore.") var from: String

    func run() async throws {
        try data.requireSQLite("restore")
        let outcome = try SQLiteRestore.restore(from: from, into: data.dataDir)
        print("restored \(from) into \(DataDirectory(data.dataDir).database): \(outcome.events) events, schema \(outcome.schema ?? "empty")")
        if let previous = outcome.previousKeptAt { print("the previous database is kept as \(previous)") }
    }
}

/// `vane prune`: one retention pass, the same the server runs with `--retain-events-days`.
struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete events older than N days (by event time) that the Pulse rollup and Segment export have passed.")

    @OptionGroup var data: DataDirOption
    @Option(help: "Days of events to keep.") var retainEventsDays: Int

    func validate() throws {
        guard (1...EventRetention.maxDays).contains(retainEventsDays) else {
            throw ValidationError("--retain-events-days must be between 1 and \(EventRetention.maxDays)")
        }
    }

    func run() async throws {
        let store = try await data.openStore()
        let retention = try EventRetention(store: store, days: retainEventsDays)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let pruned = try await retention.pruneOnce(now: now)
        let cutoff = Date(timeIntervalSince1970: Double(retention.cutoff(now: now)) / 1000)
        print("pruned \(pruned.values.reduce(0, +)) events with an event time before \(cutoff.formatted(.iso8601))"
              + pruned.sorted { $0.key < $1.key }.map { " (\($0.key): \($0.value))" }.joined())
    }
}

/// `vane check`: integrity and invariants of the store; exit status 0 when healthy, 1 otherwise.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify the store (SQLite integrity, foreign keys, schema version, cursors, finite numbers); exit 1 when unhealthy.")

    @OptionGroup var data: DataDirOption
    @Option(help: "Check this database file (e.g. a backup) instead of the data directory's.") var file: String?

    func run() async throws {
        if file == nil { try data.requireSQLite("check") }
        let path = file ?? DataDirectory(data.dataDir).database
        // Shared with a running server; only a restore in progress keeps the check out.
        let lock = file == nil && FileManager.default.fileExists(atPath: path)
            ? try DataDirectoryLock(DataDirectory(data.dataDir), mode: .shared) : nil
        let report = withExtendedLifetime(lock) { SQLiteHealthCheck.run(database: path) }
        print("checking \(path)")
        for item in report.items { print("\(item.ok ? "ok  " : "FAIL") \(item.check): \(item.detail)") }
        print(report.healthy ? "healthy" : "UNHEALTHY")
        if !report.healthy { throw ExitCode(1) }
    }
}

func formatBytes(_ n: Int64) -> String {
    let units = ["bytes", "KB", "MB", "GB", "TB"]
    var value = Double(n)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(n) bytes" : "\(String(format: "%.1f", value)) \(units[unit]) (\(n) bytes)"
}
