import Foundation
import Synchronization
import VaneStore

/// A real PostgreSQL for tests: one throwaway server per test process (scripts/pg-temp, stopped
/// when the process exits), and a new empty database for each caller. `VANE_TEST_DATABASE_URL`
/// points the tests at a server of your own instead (its user must be allowed to create databases).
public enum TestPostgres {
    private static let server = Mutex<Result<DatabaseURL, TestPostgresUnavailable>?>(nil)

    /// The URL of a database created for the caller alone.
    public static func freshDatabase() async throws -> DatabaseURL {
        let admin = try serverURL()
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

    public static func serverURL() throws -> DatabaseURL {
        try server.withLock { state in
            if state == nil { state = startServer() }
            return try state!.get()
        }
    }

    private static func startServer() -> Result<DatabaseURL, TestPostgresUnavailable> {
        if let given = ProcessInfo.processInfo.environment["VANE_TEST_DATABASE_URL"], !given.isEmpty {
            return Result { try DatabaseURL(given) }.mapError { TestPostgresUnavailable(reason: "\($0)") }
        }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/pg-temp").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = ["start", "--owner", String(ProcessInfo.processInfo.processIdentifier)]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            return .failure(TestPostgresUnavailable(reason: "cannot run \(script): \(error)"))
        }
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(TestPostgresUnavailable(reason: "scripts/pg-temp failed: \(errors)"))
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
