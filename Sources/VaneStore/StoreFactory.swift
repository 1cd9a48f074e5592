import Logging

/// Where the store lives: the embedded SQLite file in a data directory (the default), or a
/// PostgreSQL database that several nodes share.
public enum StoreLocation: Sendable, CustomStringConvertible {
    case sqlite(directory: String)
    case postgres(DatabaseURL)

    /// `databaseURL` (the `--database-url` flag, else `VANE_DATABASE_URL`) wins over the data directory.
    public init(dataDir: String, databaseURL: String?) throws {
        if let text = databaseURL?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            self = .postgres(try DatabaseURL(text))
        } else {
            self = .sqlite(directory: dataDir)
        }
    }

    public var description: String {
        switch self {
        case .sqlite(let directory): return "SQLite in \(directory)"
        case .postgres(let url): return "PostgreSQL at \(url)"
        }
    }

    public var isShared: Bool {
        if case .postgres = self { return true }
        return false
    }
}

/// Opens the store every command works on, whichever database it is.
public enum StoreFactory {
    public static func open(_ location: StoreLocation, logger: Logger = Logger(label: "vane.store")) async throws -> any VaneStore {
        switch location {
        case .sqlite(let directory): return try SQLiteStore(directory: directory)
        case .postgres(let url): return try await PostgresStore.open(url: url, logger: logger)
        }
    }
}
