import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `vane restore` did.
public struct RestoreOutcome: Sendable {
    public let events: Int
    public let schema: String?
    /// Where the database that was replaced now lives (nil when the directory had none).
    public let previousKeptAt: String?
}

/// `vane restore`: replaces a data directory's database with a backup, after checking the backup,
/// and only while nothing has the store open. The replaced database is renamed, never deleted.
public enum SQLiteRestore {
    public enum Failure: Error, CustomStringConvertible, Equatable {
        case notAStore(String)
        case damaged(String, problems: [String])
        case newerSchema(String, unknown: [String])

        public var description: String {
            switch self {
            case .notAStore(let path): return "\(path) is not a Vane backup (no migration record or event table)"
            case .damaged(let path, let problems):
                return "\(path) failed its integrity check: " + problems.prefix(5).joined(separator: "; ")
            case .newerSchema(let path, let unknown):
                return "\(path) was written by a newer Vane (migrations unknown to this build: "
                    + unknown.joined(separator: ", ") + "); restore it with that version"
            }
        }
    }

    public static func restore(from backup: String, into directory: String, now: Date = Date()) throws -> RestoreOutcome {
        let (events, schema) = try verify(backup)

        let dir = DataDirectory(directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lock = try DataDirectoryLock(dir, mode: .exclusive)
        defer { withExtendedLifetime(lock) {} }

        // Stage a fresh copy beside the database, so the swap below is two renames on one filesystem.
        let staging = dir.database + ".restoring"
        try? FileManager.default.removeItem(atPath: staging)
        do {
            try SQLiteSnapshot.write(from: backup, to: staging)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
        let previous = try setAside(dir, now: now)
        try moveFile(staging, to: dir.database)
        FileSync.syncDirectory(of: dir.database)
        return RestoreOutcome(events: events, schema: schema, previousKeptAt: previous)
    }

    /// Integrity and schema of a backup, before anything in the data directory is touched.
    static func verify(_ backup: String) throws -> (events: Int, schema: String?) {
        try StoreFile(path: backup).read { db in
            let problems: [String]
            do {
                problems = try StoreFile.integrityProblems(db)
            } catch let error as DatabaseError {
                // Not a database at all, or damaged beyond what integrity_check can walk.
                throw Failure.damaged(backup, problems: [error.message ?? "\(error.resultCode)"])
            }
            guard problems.isEmpty else { throw Failure.damaged(backup, problems: problems) }
            guard try StoreFile.isVaneStore(db) else { throw Failure.notAStore(backup) }
            let schema = try StoreFile.schema(db)
            guard !schema.isNewer else { throw Failure.newerSchema(backup, unknown: schema.unknown) }
            return (try StoreFile.eventCount(db), schema.latest)
        }
    }

    /// Renames the current database, with its WAL (which may hold committed transactions when the
    /// server was killed), to `vane-before-restore-<UTC time>.sqlite`; SQLite finds a WAL by name,
    /// so the renamed set opens as it was.
    static func setAside(_ dir: DataDirectory, now: Date) throws -> String? {
        let fm = FileManager.default
        guard fm.fileExists(atPath: dir.database) else {
            for suffix in DataDirectory.companionSuffixes { try? fm.removeItem(atPath: dir.database + suffix) }
            return nil
        }
        let stamp = ISO8601DateFormatter.string(from: now, timeZone: TimeZone(identifier: "UTC")!,
                                                formatOptions: [.withYear, .withMonth, .withDay, .withTime, .withTimeZone])
        var aside = dir.path + "/vane-before-restore-\(stamp).sqlite"
        var n = 1
        while fm.fileExists(atPath: aside) {
            n += 1
            aside = dir.path + "/vane-before-restore-\(stamp)-\(n).sqlite"
        }
        for suffix in DataDirectory.companionSuffixes where fm.fileExists(atPath: dir.database + suffix) {
            try moveFile(dir.database + suffix, to: aside + suffix)
        }
        try moveFile(dir.database, to: aside)
        return aside
    }

    static func moveFile(_ from: String, to: String) throws {
        guard rename(from, to) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: to, NSLocalizedDescriptionKey:
                "cannot rename \(from) to \(to): \(String(cString: strerror(errno)))"])
        }
    }
}
