import GRDB
import GRDBSQLite

/// A write statement whose values are bound through SQLite's C API, for writes repeated once per
/// row by the thousand (event inserts, the rollup's upserts). GRDB boxes each argument in an
/// existential and binds them in nested closures: a third of a rollup run's time went there. The statement is
/// prepared for its caller alone (not GRDB's statement cache, whose bookkeeping of bound
/// arguments this bypasses) and runs inside the caller's transaction.
struct SQLiteDirectWrite {
    enum Value {
        case text(String)
        case int(Int64)
        case real(Double)
        case null

        static func text(_ s: String?) -> Value { s.map(Value.text) ?? .null }
    }

    private let statement: Statement

    init(_ db: Database, sql: String) throws {
        self.statement = try db.makeStatement(sql: sql)
    }

    func execute(_ values: Value...) throws {
        try execute(values)
    }

    func execute(_ values: [Value]) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        guard values.count == Int(sqlite3_bind_parameter_count(handle)) else { throw error(SQLITE_RANGE) }
        for (i, value) in values.enumerated() {
            let index = Int32(i + 1)
            let code: Int32
            switch value {
            case .int(let n): code = sqlite3_bind_int64(handle, index, n)
            case .real(let d): code = sqlite3_bind_double(handle, index, d)
            case .null: code = sqlite3_bind_null(handle, index)
            case .text(var s):
                code = s.withUTF8 { bytes in
                    // SQLite reads a null pointer as NULL, so an empty text is bound from a literal.
                    guard let base = bytes.baseAddress, !bytes.isEmpty else {
                        return sqlite3_bind_text(handle, index, "", 0, Self.transient)
                    }
                    guard let length = Int32(exactly: bytes.count) else { return SQLITE_TOOBIG }
                    return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                        sqlite3_bind_text(handle, index, $0, length, Self.transient)
                    }
                }
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw error(code) }
    }

    private func error(_ code: Int32) -> DatabaseError {
        DatabaseError(
            resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(sqlite3_db_handle(statement.sqliteStatement))),
            sql: statement.sql)
    }

    /// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
