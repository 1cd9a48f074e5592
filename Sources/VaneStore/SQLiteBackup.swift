import Foundation
import GRDB

/// A consistent copy of a SQLite database into a new file, with `VACUUM INTO`.
///
/// Why `VACUUM INTO` rather than the online-backup API (`DatabaseReader.backup(to:)`): both read
/// one snapshot, but `VACUUM INTO` does it inside a single read transaction on the source, and in
/// WAL mode a reader never blocks the writer, so ingest carries on at full speed while the copy is
/// taken; the only cost is that the WAL cannot be checkpointed past that snapshot until the copy
/// ends. The backup API gives the same snapshot only when run in one step; run in increments (the
/// way to keep it from monopolising anything), it restarts whenever another connection commits, so
/// under steady ingest it may never finish. `VACUUM INTO` also writes a compact, self-contained
/// file in rollback-journal mode (no `-wal` beside it) and refuses a destination that exists.
enum SQLiteSnapshot {
    static func write(from source: String, to destination: String) throws {
        let file = try StoreFile(path: source)
        try file.read { db in try db.execute(sql: "VACUUM INTO ?", arguments: [destination]) }
        try FileSync.sync(destination)
    }
}

/// What `vane backup` wrote.
public struct BackupSummary: Sendable {
    public let file: String
    public let bytes: Int64
    public let events: Int
    public let schema: String?
}

/// `vane backup`: copies the store of a data directory, which may be serving, to a file.
public enum SQLiteBackup {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case noStore(String)
        case destinationExists(String)

        public var description: String {
            switch self {
            case .noStore(let path): return "no Vane store at \(path)"
            case .destinationExists(let path): return "\(path) already exists; choose another file or pass --force to replace it"
            }
        }
    }

    /// Writes the copy next to `file` first and renames it into place once complete and synced, so
    /// `file` is never a partial backup, and `force` replaces an older backup only at that moment.
    public static func backup(directory: String, to file: String, force: Bool) throws -> BackupSummary {
        let dir = DataDirectory(directory)
        guard FileManager.default.fileExists(atPath: dir.database) else { throw Failure.noStore(dir.database) }
        if !force, FileManager.default.fileExists(atPath: file) { throw Failure.destinationExists(file) }
        // Shared, like a server: it only keeps a restore from swapping the database mid-copy.
        let lock = try DataDirectoryLock(dir, mode: .shared)
        defer { withExtendedLifetime(lock) {} }

        let partial = file + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.removeItem(atPath: partial)
        do {
            try SQLiteSnapshot.write(from: dir.database, to: partial)
            let (events, schema) = try StoreFile(path: partial).read { db in
                (try StoreFile.eventCount(db), try StoreFile.schema(db).latest)
            }
            if force {
                guard rename(partial, file) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file]) }
            } else {
                // Fails rather than replaces when the file appeared meanwhile.
                do { try FileManager.default.moveItem(atPath: partial, toPath: file) } catch { throw Failure.destinationExists(file) }
            }
            FileSync.syncDirectory(of: file)
            let bytes = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0
            return BackupSummary(file: file, bytes: bytes, events: events, schema: schema)
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw error
        }
    }
}
