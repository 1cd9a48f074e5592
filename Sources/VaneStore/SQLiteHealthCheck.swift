import Foundation
import GRDB

/// What `vane check` found: one line per check, healthy when every check passed.
public struct HealthReport: Sendable {
    public struct Item: Sendable {
        public let check: String
        public let ok: Bool
        public let detail: String
    }

    public var items: [Item] = []
    public var healthy: Bool { !items.isEmpty && items.allSatisfy(\.ok) }

    mutating func add(_ check: String, ok: Bool, _ detail: String) { items.append(Item(check: check, ok: ok, detail: detail)) }
}

/// `vane check`: reads a store's database file (never writes it) and verifies that SQLite finds it
/// sound and that Vane's own invariants hold. A check that cannot run (a damaged file throws)
/// counts as failed, with SQLite's message, and the others still run.
public enum SQLiteHealthCheck {
    public static func run(database path: String) -> HealthReport {
        var report = HealthReport()
        let file: StoreFile
        do {
            file = try StoreFile(path: path)
        } catch let error as StoreFileError {
            report.add("open", ok: false, "\(error)")
            return report
        } catch {
            // Opening reads the schema: a file damaged there cannot be checked any further.
            report.add("integrity", ok: false, "SQLite cannot open it: \(error)")
            return report
        }
        let checks: [(String, (Database) throws -> (ok: Bool, detail: String))] = [
            ("integrity", integrity),
            ("foreign keys", foreignKeys),
            ("schema", schema),
            ("cursors", cursors),
            ("finite numbers", finiteNumbers),
            ("events", events),
        ]
        for (name, check) in checks {
            do {
                let result = try file.read(check)
                report.add(name, ok: result.ok, result.detail)
            } catch {
                report.add(name, ok: false, "could not run: \(error)")
            }
        }
        return report
    }

    static func integrity(_ db: Database) throws -> (ok: Bool, detail: String) {
        let problems = try StoreFile.integrityProblems(db)
        return problems.isEmpty ? (true, "PRAGMA integrity_check: ok") : (false, problems.joined(separator: "; "))
    }

    static func foreignKeys(_ db: Database) throws -> (ok: Bool, detail: String) {
        let rows = try Row.fetchAll(db, sql: "PRAGMA foreign_key_check")
        guard !rows.isEmpty else { return (true, "PRAGMA foreign_key_check: no violations") }
        var byTable: [String: Int] = [:]
        for row in rows { byTable[row[0] as String? ?? "?", default: 0] += 1 }
        return (false, "\(rows.count) rows refer to missing parents: "
            + byTable.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    static func schema(_ db: Database) throws -> (ok: Bool, detail: String) {
        guard try StoreFile.isVaneStore(db) else { return (false, "not a Vane store (no migration record or event table)") }
        let s = try StoreFile.schema(db)
        if s.isNewer { return (false, "written by a newer Vane: unknown migrations \(s.unknown.joined(separator: ", "))") }
        if !s.pending.isEmpty {
            return (true, "at \(s.latest ?? "none"); `vane serve` will apply \(s.pending.joined(separator: ", "))")
        }
        return (true, "current (\(s.latest ?? "none"))")
    }

    /// A background job's cursor past the newest id ever issued would skip every event committed
    /// until the log caught up with it.
    static func cursors(_ db: Database) throws -> (ok: Bool, detail: String) {
        guard try db.tableExists("events") else { return (true, "no event table") }
        let newestEvent = try StoreFile.highestID(db, table: "events")
        let newestAudit = try db.tableExists("audit_log") ? try StoreFile.highestID(db, table: "audit_log") : 0
        var problems: [String] = []
        var seen = 0
        if try db.tableExists("pulse_state") {
            for row in try Row.fetchAll(db, sql: "SELECT project_id, cursor FROM pulse_state") {
                seen += 1
                let cursor: Int64 = row["cursor"]
                if cursor > newestEvent { problems.append("Pulse rollup of \(row["project_id"] as String) at event \(cursor)") }
            }
        }
        if try db.tableExists("outbound_state") {
            for row in try Row.fetchAll(db, sql: "SELECT project_id, event_cursor, audit_cursor FROM outbound_state") {
                seen += 1
                let project: String = row["project_id"]
                if (row["event_cursor"] as Int64) > newestEvent {
                    problems.append("Segment export of \(project) at event \(row["event_cursor"] as Int64)")
                }
                if (row["audit_cursor"] as Int64) > newestAudit {
                    problems.append("Segment export of \(project) at audit entry \(row["audit_cursor"] as Int64)")
                }
            }
        }
        if !problems.isEmpty {
            return (false, "beyond the newest event \(newestEvent) / audit entry \(newestAudit): " + problems.joined(separator: "; "))
        }
        return (true, "none of the \(seen) job cursors is beyond the newest event (\(newestEvent)) or audit entry (\(newestAudit))")
    }

    /// SQLite stores NaN as NULL, but ±Infinity as itself; no column Vane writes may hold one.
    static func finiteNumbers(_ db: Database) throws -> (ok: Bool, detail: String) {
        var found: [String] = []
        var columns = 0
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        for table in tables {
            for column in try db.columns(in: table) where hasRealAffinity(column.type) {
                columns += 1
                let name = column.name.quotedDatabaseIdentifier
                let n = try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM \(table.quotedDatabaseIdentifier) WHERE \(name) IN (9e999, -9e999)") ?? 0
                if n > 0 { found.append("\(table).\(column.name): \(n)") }
            }
        }
        if !found.isEmpty { return (false, "infinite values in " + found.joined(separator: ", ")) }
        return (true, "\(columns) REAL columns in \(tables.count) tables, all finite")
    }

    /// SQLite's affinity rules (section 3.1 of "Datatypes In SQLite"), in their order of precedence.
    static func hasRealAffinity(_ declaredType: String) -> Bool {
        let t = declaredType.uppercased()
        if t.contains("INT") || t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") || t.contains("BLOB") { return false }
        return t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB")
    }

    static func events(_ db: Database) throws -> (ok: Bool, detail: String) {
        guard try db.tableExists("events") else { return (true, "no event table") }
        let row = try Row.fetchOne(db, sql: "SELECT COUNT(*) AS n, MIN(time) AS oldest, MAX(time) AS newest FROM events")
        let n: Int = row?["n"] ?? 0
        guard n > 0, let oldest = row?["oldest"] as Int64?, let newest = row?["newest"] as Int64? else { return (true, "no events") }
        return (true, "\(n) events, event times \(isoDay(oldest)) to \(isoDay(newest))")
    }

    static func isoDay(_ ms: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(ms) / 1000)
        return ISO8601DateFormatter.string(from: date, timeZone: TimeZone(identifier: "UTC")!, formatOptions: [.withFullDate])
    }
}
