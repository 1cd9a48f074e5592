import PostgresNIO
import VaneCore

extension PostgresStore /* MetricRepository */ {
    public func metricDefinitions(project: String) async throws -> [String: JSONValue] {
        try await db.read { c in
            var out: [String: JSONValue] = [:]
            for row in try await c.fetchAll("SELECT name, definition FROM metrics WHERE project_id = ?", [project]) {
                out[try row.get("name", as: String.self)] = try JSONValue.parse(try row.get("definition", as: String.self))
            }
            return out
        }
    }

    public func putMetric(project: String, name: String, definition: JSONValue, create: Bool, audit: AuditEntry) async throws {
        try await db.write { c in
            let text = definition.serialized(sortedKeys: true)
            if create {
                // The insert decides, so two nodes creating the same name at once cannot both succeed.
                let inserted = try await c.fetchValue(
                    """
                    INSERT INTO metrics (project_id, name, definition, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (project_id, name) DO NOTHING RETURNING name
                    """,
                    [project, name, text, audit.time], as: String.self)
                guard inserted != nil else { throw StoreError.conflict("a metric named '\(name)' already exists") }
            } else {
                try await c.execute(
                    """
                    INSERT INTO metrics (project_id, name, definition, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (project_id, name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
                    """,
                    [project, name, text, audit.time])
            }
            try await Self.appendAudit(c, project: project, audit)
        }
    }

    public func deleteMetric(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        try await db.write { c in
            let deleted = try await c.fetchValue(
                "DELETE FROM metrics WHERE project_id = ? AND name = ? RETURNING name", [project, name], as: String.self)
            guard deleted != nil else { return false }
            try await Self.appendAudit(c, project: project, audit)
            return true
        }
    }
}
