import Foundation
import GRDB
import Synchronization
import VaneCore

/// `vane store copy`: moves an embedded installation (its SQLite data directory) into a PostgreSQL
/// database, table by table with every row's ids kept, so cursors, audit history and Pulse rollups
/// carry over as they are. Rows already in the target (same primary key) are left alone, so running
/// it twice copies nothing twice. The source must not be served meanwhile (it is locked).
public enum StoreCopy {
    public struct TableReport: Sendable {
        public var table: String
        public var read: Int
        public var inserted: Int
    }

    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// Tables in copy order (referenced before referencing); each one's columns are read from the
    /// target, so the copy follows the schema. Coordination tables are not copied: the leases and
    /// the change counter belong to the target's own nodes.
    static let tables = [
        "projects", "environments", "api_keys", "entities", "custom_id_types", "audit_log", "id_lists", "id_list_members",
        "id_list_log", "events", "dedupe_keys", "usage_counts", "settings", "metrics", "audience_membership", "outbound_state",
        "dead_letters", "pulse_state", "pulse_assignments", "pulse_unit_values", "pulse_unit_days", "pulse_arm_units",
        "pulse_arm_sums", "pulse_exposure_days", "pulse_metric_days", "pulse_set_aside", "console_users", "console_sessions",
        "parameter_stores",
    ]
    static let serialTables = ["audit_log", "events", "dead_letters"]
    static let markerSetting = "store_copied_from"

    public static func copy(
        from directory: String, to url: DatabaseURL, progress: @Sendable (String) -> Void = { _ in }
    ) async throws -> [TableReport] {
        let dir = DataDirectory(directory)
        guard FileManager.default.fileExists(atPath: dir.database) else {
            throw Refused(description: "no Vane store in \(directory) (\(dir.database) does not exist)")
        }
        // Bring the file to this build's schema, then hold it exclusively: nothing may write while we read.
        do { _ = try SQLiteStore(directory: directory) }
        let lock = try DataDirectoryLock(dir, mode: .exclusive)
        defer { withExtendedLifetime(lock) {} }
        let source = try StoreFile(path: dir.database)

        let target = try await PostgresStore.open(url: url)
        defer { target.close() }
        let pg = target.db
        try await refuseATargetInUse(pg, url: url)

        var reports: [TableReport] = []
        for table in tables {
            let columns = try await pg.read { c in
                try await c.fetchAll(
                    "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
                    [table]
                ).map { (try $0.get("column_name", as: String.self), try $0.get("data_type", as: String.self)) }
            }
            let report = try await copyTable(table, columns: columns, from: source, to: pg)
            progress("\(table): \(report.read) rows read, \(report.inserted) inserted")
            reports.append(report)
        }
        try await pg.write { c in
            for table in serialTables {
                try await c.execute("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), GREATEST((SELECT MAX(id) FROM \(table)), 1))")
            }
            let marker = JSONValue.object(["from": .string(dir.database), "at": .int(Int64(Date().timeIntervalSince1970 * 1000))])
            try await c.execute(
                """
                INSERT INTO settings (project_id, name, value, updated_at) VALUES ('default', ?, ?, ?)
                ON CONFLICT (project_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, [markerSetting, marker.serialized(), Int64(Date().timeIntervalSince1970 * 1000)])
        }
        return reports
    }

    /// A database that nodes already used (a project that no copy created) would mix two histories.
    static func refuseATargetInUse(_ pg: PostgresDatabase, url: DatabaseURL) async throws {
        let (projects, copied) = try await pg.read { c in
            (try await c.fetchValue("SELECT COUNT(*) FROM projects", as: Int.self) ?? 0,
             try await c.fetchValue("SELECT COUNT(*) FROM settings WHERE name = ?", [markerSetting], as: Int.self) ?? 0)
        }
        if projects > 0 && copied == 0 {
            throw Refused(description: "\(url) already holds a Vane project that no copy made: copy into an empty database (or one an earlier copy filled)")
        }
    }

    /// Streams the table from SQLite (one read, on a thread of its own, a chunk at a time) into
    /// multi-row inserts that skip rows the target already has.
    static func copyTable(_ table: String, columns: [(name: String, type: String)], from source: StoreFile, to pg: PostgresDatabase) async throws
        -> TableReport
    {
        let names = columns.map(\.name)
        let perInsert = max(1, min(1000, 30_000 / max(1, names.count)))
        let (chunks, feed) = AsyncThrowingStream.makeStream(of: [[DatabaseValue]].self, bufferingPolicy: .bufferingNewest(2))
        let credit = DispatchSemaphore(value: 2)
        let stopped = Atomic<Bool>(false)
        let reader = Thread {
            do {
                try source.read { db in
                    let select = "SELECT \(names.map { "\"\($0)\"" }.joined(separator: ", ")) FROM \(table)"
                    let cursor = try Row.fetchCursor(db, sql: select)
                    var chunk: [[DatabaseValue]] = []
                    while let row = try cursor.next() {
                        chunk.append(names.map { row[$0] as DatabaseValue? ?? .null })
                        if chunk.count == perInsert {
                            credit.wait()
                            if stopped.load(ordering: .relaxed) { return }
                            feed.yield(chunk)
                            chunk = []
                        }
                    }
                    if !chunk.isEmpty { credit.wait(); feed.yield(chunk) }
                }
                feed.finish()
            } catch {
                feed.finish(throwing: error)
            }
        }
        reader.start()
        var read = 0
        var inserted = 0
        do {
            for try await chunk in chunks {
                read += chunk.count
                inserted += try await insert(chunk, into: table, columns: columns, pg)
                credit.signal()
            }
        } catch {
            stopped.store(true, ordering: .relaxed)
            credit.signal()
            throw error
        }
        return TableReport(table: table, read: read, inserted: inserted)
    }

    static func insert(_ rows: [[DatabaseValue]], into table: String, columns: [(name: String, type: String)], _ pg: PostgresDatabase) async throws -> Int {
        var arguments: [any PGBindable] = []
        arguments.reserveCapacity(rows.count * columns.count)
        for row in rows {
            for (value, column) in zip(row, columns) { arguments.append(try convert(value, to: column.type, table: table, column: column.name)) }
        }
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let sql = "INSERT INTO \(table) (\(columns.map { "\"\($0.name)\"" }.joined(separator: ", "))) VALUES "
            + Array(repeating: tuple, count: rows.count).joined(separator: ", ") + " ON CONFLICT DO NOTHING RETURNING 1"
        return try await pg.write { c in try await c.execute(sql, arguments) }
    }

    /// SQLite's dynamic types to the target column's type (booleans were 0/1 integers).
    static func convert(_ value: DatabaseValue, to type: String, table: String, column: String) throws -> any PGBindable {
        func bad() -> Refused {
            Refused(description: "\(table).\(column): \(value) cannot be stored as \(type)")
        }
        switch (value.storage, type) {
        case (.null, _): return String?.none
        case (.int64(let i), "boolean"): return i != 0
        case (.int64(let i), "bigint"), (.int64(let i), "integer"): return i
        case (.double(let d), "bigint"), (.double(let d), "integer"):
            guard let i = Int64(exactly: d) else { throw bad() }
            return i
        case (.int64(let i), "double precision"): return Double(i)
        case (.double(let d), "double precision"): return d
        case (.string(let s), "text"): return s
        case (.int64(let i), "text"): return String(i)
        case (.double(let d), "text"): return String(d)
        case (.blob(let b), "text"): return String(decoding: b, as: UTF8.self)
        case (.string(let s), "bigint"), (.string(let s), "integer"):
            guard let i = Int64(s) else { throw bad() }
            return i
        case (.string(let s), "double precision"):
            guard let d = Double(s) else { throw bad() }
            return d
        default: throw bad()
        }
    }
}
