import GRDB
import Testing
@testable import VaneStore

/// The rollup's direct-binding writes store what GRDB's binding stores, and fail as it fails.
@Suite("SQLite direct writes")
struct SQLiteDirectWriteTests {
    let db: DatabaseQueue

    init() throws {
        db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER, r REAL, o TEXT, required TEXT NOT NULL)")
        }
    }

    @Test func valuesRoundTripIncludingEmptyTextAndNull() throws {
        let wide = "h\u{E9}llo \u{2713} \u{1F600}"
        try db.write { db in
            let insert = try SQLiteDirectWrite(db, sql: "INSERT INTO t (k, n, r, o, required) VALUES (?, ?, ?, ?, ?)")
            try insert.execute(.text("empty"), .int(Int64.min), .real(-0.5), .text(""), .text(""))
            try insert.execute(.text(wide), .int(Int64.max), .real(1e300), .null, .text(wide))
            try insert.execute(.text("absent"), .null, .null, .text(nil as String?), .text("x"))
        }
        try db.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT k, n, r, o, typeof(o) AS ot, required FROM t ORDER BY rowid")
            #expect(rows.count == 3)
            #expect(rows[0]["n"] == Int64.min)
            #expect(rows[0]["r"] == -0.5)
            // An empty text stays text: SQLite reads a null pointer as NULL.
            #expect(rows[0]["ot"] == "text")
            #expect(rows[0]["o"] == "")
            #expect(rows[1]["k"] == wide)
            #expect(rows[1]["required"] == wide)
            #expect(rows[1]["n"] == Int64.max)
            #expect(rows[1]["r"] == 1e300)
            #expect(rows[1]["ot"] == "null")
            #expect(rows[2]["ot"] == "null")
            #expect((rows[2]["n"] as Int64?) == nil)
        }
    }

    @Test func aStatementIsReusedRowAfterRowAndUpserts() throws {
        try db.write { db in
            let upsert = try SQLiteDirectWrite(db, sql: """
                INSERT INTO t (k, n, required) VALUES (?, ?, 'x') ON CONFLICT (k) DO UPDATE SET n = n + excluded.n
                """)
            for i in 0..<1_000 { try upsert.execute(.text("k\(i % 10)"), .int(1)) }
        }
        let sums = try db.read { db in try Int64.fetchAll(db, sql: "SELECT n FROM t ORDER BY k") }
        #expect(sums == Array(repeating: 100, count: 10))
    }

    @Test func failuresThrowWithSQLitesCodeAndLeaveTheStatementUsable() throws {
        try db.write { db in
            let insert = try SQLiteDirectWrite(db, sql: "INSERT INTO t (k, required) VALUES (?, ?)")
            let missing = #expect(throws: DatabaseError.self) { try insert.execute(.text("a"), .null) }
            #expect(missing?.resultCode == .SQLITE_CONSTRAINT)
            let count = #expect(throws: DatabaseError.self) { try insert.execute(.text("a")) }
            #expect(count?.resultCode == .SQLITE_RANGE)
            try insert.execute(.text("a"), .text("fine"))
            let duplicate = #expect(throws: DatabaseError.self) { try insert.execute(.text("a"), .text("again")) }
            #expect(duplicate?.resultCode == .SQLITE_CONSTRAINT)
        }
        #expect(try db.read { db in try String.fetchAll(db, sql: "SELECT required FROM t") } == ["fine"])
    }
}
