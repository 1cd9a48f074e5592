import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The files of an embedded store's data directory.
public struct DataDirectory: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public var database: String { path + "/vane.sqlite" }
    /// Held (with `flock`) by every process that has the store open; see `DataDirectoryLock`.
    public var lockFile: String { path + "/vane.lock" }
    /// SQLite's companions of `database`, which belong to it and move with it.
    public static let companionSuffixes = ["-wal", "-shm"]
}

/// An advisory `flock` on the data directory's lock file. Every process that opens the store
/// holds it shared, for as long as the store is open; `vane restore` takes it exclusively, so it
/// cannot swap the database under a running server, and a server cannot start mid-restore.
/// The kernel drops the lock when its process exits, even on SIGKILL, so no stale lock survives a
/// crash. `flock` locks belong to the open file, so two opens in one process exclude each other too.
public final class DataDirectoryLock: Sendable {
    public enum Mode: Sendable { case shared, exclusive }

    public enum Failure: Error, CustomStringConvertible, Equatable {
        /// Someone holds the lock in a mode that excludes ours.
        case busy(directory: String, wanted: Mode)
        case cannotOpen(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .busy(let dir, .exclusive):
                return "the store in \(dir) is in use (a running `vane serve` or another vane command has it open); stop it first"
            case .busy(let dir, .shared):
                return "the store in \(dir) is being restored (`vane restore` holds it); try again when it has finished"
            case .cannotOpen(let path, let code):
                return "cannot open lock file \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    private let descriptor: Int32

    /// Takes the lock without waiting; throws `Failure.busy` when it is held in a conflicting mode.
    public init(_ directory: DataDirectory, mode: Mode) throws {
        let fd = open(directory.lockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure.cannotOpen(path: directory.lockFile, errno: errno) }
        guard flock(fd, (mode == .shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            close(fd)
            throw Failure.busy(directory: directory.path, wanted: mode)
        }
        descriptor = fd
    }

    deinit { close(descriptor) }
}
