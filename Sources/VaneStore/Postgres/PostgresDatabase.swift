import Logging
import PostgresNIO
import VaneCore

/// A value bound to a `?` placeholder. The PostgreSQL store writes its SQL with `?` like the SQLite
/// store (so the two read alike); `PGConnection` numbers them `$1, $2, …` before sending.
public protocol PGBindable: Sendable {
    func bind(into bindings: inout PostgresBindings)
}

/// Text is bound with U+0000 as U+FFFD (`EventColumns.text`): PostgreSQL text cannot hold it, and a
/// user ID or list name carrying one would otherwise fail its whole transaction.
extension String: PGBindable { public func bind(into b: inout PostgresBindings) { b.append(EventColumns.text(self)) } }
extension Int64: PGBindable { public func bind(into b: inout PostgresBindings) { b.append(self) } }
extension Int: PGBindable { public func bind(into b: inout PostgresBindings) { b.append(Int64(self)) } }
extension Double: PGBindable { public func bind(into b: inout PostgresBindings) { b.append(self) } }
extension Bool: PGBindable { public func bind(into b: inout PostgresBindings) { b.append(self) } }
/// Binds as `text[]`, for `= ANY(?)`.
extension Array: PGBindable where Element == String {
    public func bind(into b: inout PostgresBindings) { b.append(map(EventColumns.text)) }
}
extension Optional: PGBindable where Wrapped: PGBindable {
    public func bind(into b: inout PostgresBindings) {
        if let self { self.bind(into: &b) } else { b.appendNull() }
    }
}

/// One column of a multi-row write, bound as a single array for `unnest(?::text[], …)`: one
/// parameter per column instead of one per value, so PostgreSQL parses and binds a handful of
/// parameters whatever the number of rows. Elements may be NULL, which PostgresNIO's arrays cannot carry.
public struct PGColumn<Element: PGColumnElement>: PGBindable, PostgresNonThrowingEncodable {
    public var values: [Element?]

    public init(_ values: [Element?]) { self.values = values }

    public static var psqlType: PostgresDataType { Element.arrayType }
    public static var psqlFormat: PostgresFormat { .binary }

    /// PostgreSQL's binary array: dimensions, has-nulls flag, element type, (size, lower bound),
    /// then each element as its length (-1 for NULL) and bytes.
    public func encode<E: PostgresJSONEncoder>(into b: inout ByteBuffer, context: PostgresEncodingContext<E>) {
        b.writeInteger(Int32(values.isEmpty ? 0 : 1))
        b.writeInteger(Int32(values.contains { $0 == nil } ? 1 : 0))
        b.writeInteger(Element.elementType.rawValue)
        guard !values.isEmpty else { return }
        b.writeInteger(Int32(values.count))
        b.writeInteger(Int32(1))
        for v in values {
            guard let v else {
                b.writeInteger(Int32(-1))
                continue
            }
            let lengthAt = b.writerIndex
            b.writeInteger(Int32(0))
            let written = v.write(into: &b)
            b.setInteger(Int32(written), at: lengthAt)
        }
    }

    public func bind(into b: inout PostgresBindings) { b.append(self) }
}

/// A value that `PGColumn` writes in PostgreSQL's binary format.
public protocol PGColumnElement: Sendable {
    static var elementType: PostgresDataType { get }
    static var arrayType: PostgresDataType { get }
    /// Writes the value's bytes; returns how many.
    func write(into b: inout ByteBuffer) -> Int
}

extension String: PGColumnElement {
    public static var elementType: PostgresDataType { .text }
    public static var arrayType: PostgresDataType { .textArray }
    public func write(into b: inout ByteBuffer) -> Int { b.writeString(EventColumns.text(self)) }
}

extension Int64: PGColumnElement {
    public static var elementType: PostgresDataType { .int8 }
    public static var arrayType: PostgresDataType { .int8Array }
    public func write(into b: inout ByteBuffer) -> Int { b.writeInteger(self) }
}

extension Double: PGColumnElement {
    public static var elementType: PostgresDataType { .float8 }
    public static var arrayType: PostgresDataType { .float8Array }
    public func write(into b: inout ByteBuffer) -> Int { b.writeInteger(bitPattern) }
}

extension Bool: PGColumnElement {
    public static var elementType: PostgresDataType { .bool }
    public static var arrayType: PostgresDataType { .boolArray }
    public func write(into b: inout ByteBuffer) -> Int { b.writeInteger(UInt8(self ? 1 : 0)) }
}

/// A result row, read by column name.
public struct PGRow: Sendable {
    let row: PostgresRandomAccessRow

    /// The column decoded as `T`; an optional `T` reads NULL as nil. PostgreSQL's `SUM` of a
    /// bigint is `numeric`: cast it (`SUM(x)::bigint`) before reading it as an integer.
    public func get<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try row[column].decode(T.self)
    }

    /// The column as `T?`; nil also when the query did not select it.
    public func textIfSelected(_ column: String) throws -> String? {
        row.contains(column) ? try row[column].decode(String?.self) : nil
    }
}

/// One connection, inside a transaction (`PostgresDatabase.write`) or not (`read`). Every statement
/// ends when its connection closes, whether or not the driver answers (`ConnectionWatch`).
public struct PGConnection: Sendable {
    let connection: PostgresConnection
    let logger: Logger
    let watch: ConnectionWatch

    public func fetchAll(_ sql: String, _ arguments: [any PGBindable] = []) async throws -> [PGRow] {
        let query = Self.query(sql, arguments)
        return try await watch.guarded(connection) { [connection, logger] in
            let rows = try await connection.query(query, logger: logger)
            var out: [PGRow] = []
            for try await row in rows { out.append(PGRow(row: PostgresRandomAccessRow(row))) }
            return out
        }
    }

    public func fetchOne(_ sql: String, _ arguments: [any PGBindable] = []) async throws -> PGRow? {
        try await fetchAll(sql, arguments).first
    }

    /// The first column of the first row; nil when there is no row or the value is NULL.
    public func fetchValue<T: PostgresDecodable & Sendable>(
        _ sql: String, _ arguments: [any PGBindable] = [], as type: T.Type = T.self
    ) async throws -> T? {
        let query = Self.query(sql, arguments)
        return try await watch.guarded(connection) { [connection, logger] in
            let rows = try await connection.query(query, logger: logger)
            var first: T?
            for try await row in rows where first == nil {
                let cell = PostgresRandomAccessRow(row)[0]
                first = cell.bytes == nil ? nil : try cell.decode(T.self)
            }
            return first
        }
    }

    /// Runs a statement; returns the number of rows it returned (add `RETURNING 1` to count the rows
    /// an UPDATE or DELETE changed).
    @discardableResult
    public func execute(_ sql: String, _ arguments: [any PGBindable] = []) async throws -> Int {
        let query = Self.query(sql, arguments)
        return try await watch.guarded(connection) { [connection, logger] in
            let rows = try await connection.query(query, logger: logger)
            var count = 0
            for try await _ in rows { count += 1 }
            return count
        }
    }

    /// Replaces each `?` outside quoted text with `$1`, `$2`, … and binds the arguments in order.
    static func query(_ sql: String, _ arguments: [any PGBindable]) -> PostgresQuery {
        var text = ""
        text.reserveCapacity(sql.utf8.count + arguments.count * 2)
        var n = 0
        var quoted = false
        for ch in sql {
            if ch == "'" { quoted.toggle() }
            if ch == "?" && !quoted {
                n += 1
                text += "$\(n)"
            } else {
                text.append(ch)
            }
        }
        precondition(n == arguments.count, "SQL has \(n) placeholders for \(arguments.count) arguments: \(sql)")
        var bindings = PostgresBindings(capacity: arguments.count)
        for a in arguments { a.bind(into: &bindings) }
        return PostgresQuery(unsafeSQL: text, binds: bindings)
    }
}

/// The connection pool to one PostgreSQL database. `open` connects and fails with a message that
/// names the URL (without its password) when the database cannot be reached.
public final class PostgresDatabase: Sendable {
    public let url: DatabaseURL
    let client: PostgresClient
    let logger: Logger
    let watch = ConnectionWatch()
    private let runner: Task<Void, Never>

    public init(url: DatabaseURL, logger: Logger = Logger(label: "vane.postgres"), maximumConnections: Int = 20) throws {
        let tls: PostgresClient.Configuration.TLS
        switch url.sslMode {
        case .disable: tls = .disable
        case .allow, .prefer:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .none
            tls = .prefer(c)
        case .require:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .none
            tls = .require(c)
        case .verifyCA:
            var c = TLSConfiguration.makeClientConfiguration()
            c.certificateVerification = .noHostnameVerification
            tls = .require(c)
        case .verifyFull: tls = .require(.makeClientConfiguration())
        }
        var config = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: tls)
        config.options.maximumConnections = maximumConnections
        config.options.connectTimeout = .seconds(5)
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        self.url = url
        self.logger = logger
        self.runner = Task { await client.run() }
    }

    /// Checks that the database answers; throws `PostgresUnreachable` naming the URL.
    public func ping(timeout: Duration = .seconds(10)) async throws {
        do {
            _ = try await withTimeout(timeout) { try await self.read { try await $0.fetchValue("SELECT 1", as: Int.self) } }
        } catch is TimedOut {
            throw PostgresUnreachable(url: url, reason: "no answer within \(timeout)")
        } catch {
            throw PostgresUnreachable(url: url, reason: Self.describe(error))
        }
    }

    @discardableResult
    public func read<T: Sendable>(_ body: (PGConnection) async throws -> T) async throws -> T {
        try await client.withConnection { try await body(connection($0)) }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws, and
    /// given up (`PostgresConnectionLost`) when the connection closes under it. Not PostgresNIO's
    /// `withTransaction`, whose COMMIT and ROLLBACK could wait forever on a closed connection.
    @discardableResult
    public func write<T: Sendable>(_ body: (PGConnection) async throws -> T) async throws -> T {
        try await client.withConnection { raw in
            let c = connection(raw)
            try await c.execute("BEGIN")
            let value: T
            do {
                value = try await body(c)
            } catch {
                if !(error is PostgresConnectionLost) { _ = try? await c.execute("ROLLBACK") }
                throw error
            }
            try await c.execute("COMMIT")
            return value
        }
    }

    func connection(_ raw: PostgresConnection) -> PGConnection {
        PGConnection(connection: raw, logger: logger, watch: watch)
    }

    public func close() {
        runner.cancel()
    }

    /// PSQLError's description hides the server's message; this shows it.
    static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] {
                return message + (e.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = e.underlying { return "\(underlying)" }
            return "\(e.code)"
        }
        return "\(error)"
    }
}

public struct PostgresUnreachable: Error, CustomStringConvertible {
    public var url: DatabaseURL
    public var reason: String
    public var description: String { "cannot reach the database at \(url): \(reason)" }
}
