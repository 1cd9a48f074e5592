import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import VaneStore

/// A real PostgreSQL for tests: one throwaway server per test process (scripts/pg-temp, stopped
/// when the process exits), and a new empty database for each caller. `VANE_TEST_DATABASE_URL`
/// points the tests at a server of your own instead (its user must be allowed to create databases).
public enum TestPostgres {
    private static let server = Mutex<Task<Result<DatabaseURL, TestPostgresUnavailable>, Never>?>(nil)

    /// The URL of a database created for the caller alone.
    public static func freshDatabase() async throws -> DatabaseURL {
        let admin = try await serverURL()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let db = try PostgresDatabase(url: admin, maximumConnections: 1)
        defer { db.close() }
        try await db.read { c in try await c.execute("CREATE DATABASE \(name)") }
        var url = admin
        url.database = String(name)
        return url
    }

    /// A new store on a fresh database.
    public static func freshStore() async throws -> PostgresStore {
        try await PostgresStore.open(url: try await freshDatabase())
    }

    /// Started once; every caller awaits the same start. The start blocks on a child process, so
    /// it runs on a thread of its own, never on the concurrency pool (2 cores: that would starve it).
    public static func serverURL() async throws -> DatabaseURL {
        let task = server.withLock { state in
            if let state { return state }
            let task = Task<Result<DatabaseURL, TestPostgresUnavailable>, Never> {
                await withCheckedContinuation { continuation in
                    Thread { continuation.resume(returning: startServer()) }.start()
                }
            }
            state = task
            return task
        }
        return try await task.value.get()
    }

    private static func startServer() -> Result<DatabaseURL, TestPostgresUnavailable> {
        if let given = ProcessInfo.processInfo.environment["VANE_TEST_DATABASE_URL"], !given.isEmpty {
            return Result { try DatabaseURL(given) }.mapError { TestPostgresUnavailable(reason: "\($0)") }
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/pg-temp").path
        // popen, not Foundation's Process: its exit detection hung under the test runner here.
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("pg-temp-\(UUID().uuidString).err").path
        defer { try? FileManager.default.removeItem(atPath: errors) }
        let command = "'\(script)' start --owner \(ProcessInfo.processInfo.processIdentifier) 2>'\(errors)'"
        guard let pipe = popen(command, "r") else {
            return .failure(TestPostgresUnavailable(reason: "cannot run \(script)"))
        }
        var text = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, Int32(buffer.count), pipe) != nil {
            text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        let status = pclose(pipe)
        guard status == 0 else {
            let why = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? "exit status \(status)"
            return .failure(TestPostgresUnavailable(reason: "scripts/pg-temp failed: \(why)"))
        }
        return Result { try DatabaseURL(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .mapError { TestPostgresUnavailable(reason: "\($0)") }
    }
}

public struct TestPostgresUnavailable: Error, CustomStringConvertible {
    public var reason: String
    public var description: String {
        "the tests need PostgreSQL (Debian's postgresql package; .ci/run installs it): \(reason)"
    }
}
