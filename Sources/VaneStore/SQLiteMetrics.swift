import GRDB
import VaneCore

extension SQLiteStore /* MetricRepository */ {
    public func metricDefinitions(project: String) async throws -> [String: JSONValue] {
        try await db.read { db in
            var out: [String: JSONValue] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, definition FROM metrics WHERE project_id = ?", arguments: [project]) {
                out[row["name"]] = try JSONValue.parse(row["definition"] as String)
            }
            return out
        }
    }

    public func putMetric(project: String, name: String, definition: JSONValue, create: Bool, audit: AuditEntry) async throws {
        try await db.write { db in
            if create, try Bool.fetchOne(db, sql: "SELECT 1 FROM metrics WHERE project_id = ? AND name = ?", arguments: [project, name]) != nil {
                throw StoreError.conflict("a metric named '\(name)' already exists")
            }
            try db.execute(
                sql: """
                    INSERT INTO metrics (project_id, name, definition, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (project_id, name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
                    """,
                arguments: [project, name, definition.serialized(sortedKeys: true), audit.time])
            try Self.appendAudit(db, project: project, audit)
        }
    }

    public func deleteMetric(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM metrics WHERE project_id = ? AND name = ?", arguments: [project, name])
            guard db.changesCount > 0 else { return false }
            try Self.appendAudit(db, project: project, audit)
            return true
        }
    }
}
