import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which of this build's migrations a database file has: the schema version, in GRDB's terms.
public struct SchemaStatus: Sendable, Equatable {
    /// Migrations recorded in the file, in the order this build knows them (unknown ones last).
    public let applied: [String]
    /// Recorded in the file but unknown to this build: the file comes from a newer Vane.
    public let unknown: [String]
    /// Known to this build but not yet applied: an older file, which `vane serve` migrates.
    public let pending: [String]

    public var isNewer: Bool { !unknown.isEmpty }
    public var latest: String? { applied.last }
}

/// A store's database file opened read-only, for the commands that inspect or copy one without
/// serving it (backup, restore, check). Nothing here writes to the file.
struct StoreFile {
    let queue: DatabaseQueue

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreFileError.missing(path) }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        queue = try DatabaseQueue(path: path, configuration: config)
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.inDatabase(body)
    }

    static func schema(_ db: Database) throws -> SchemaStatus {
        let migrator = SQLiteMigrations.migrator
        let known = migrator.migrations
        let applied = try migrator.appliedIdentifiers(db)
        let unknown = applied.subtracting(known).sorted()
        return SchemaStatus(
            applied: known.filter(applied.contains) + unknown, unknown: unknown,
            pending: known.filter { !applied.contains($0) })
    }

    /// `PRAGMA integrity_check`: [] when the file is sound, else SQLite's messages (at most `limit`).
    static func integrityProblems(_ db: Database, limit: Int = 20) throws -> [String] {
        let rows = try String.fetchAll(db, sql: "PRAGMA integrity_check(\(limit))")
        return rows == ["ok"] ? [] : rows
    }

    /// Whether the file holds a Vane store at all (a migration record and an event table).
    static func isVaneStore(_ db: Database) throws -> Bool {
        try db.tableExists("grdb_migrations") && db.tableExists("events")
    }

    static func eventCount(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") ?? 0
    }

    /// The highest id ever given to a row of an AUTOINCREMENT table, deleted or not: a cursor
    /// into that table is valid up to here (retention may have deleted the rows it passed).
    static func highestID(_ db: Database, table: String) throws -> Int64 {
        let live = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM \(table)") ?? 0
        let issued = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [table]) ?? 0
        return max(live, issued)
    }
}

enum StoreFileError: Error, CustomStringConvertible {
    case missing(String)

    var description: String {
        switch self {
        case .missing(let path): return "no database at \(path)"
        }
    }
}

/// Durably settles a file the process wrote, and the directory entry that names it.
enum FileSync {
    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }

    static func syncDirectory(of path: String) {
        // Best effort: some filesystems refuse fsync on a directory; the file itself is synced.
        let parent = (path as NSString).deletingLastPathComponent
        try? sync(parent.isEmpty ? "." : parent)
    }
}
