import GRDB
import VaneCore

extension SQLiteStore {
    public func parameterStores(project: String) async throws -> [ParameterStore] {
        try await db.read { db in
            try Row.fetchAll(
                db, sql: "SELECT name, description, parameters, version FROM parameter_stores WHERE project_id = ? ORDER BY name",
                arguments: [project]
            ).map { row in
                ParameterStore(
                    name: row["name"], description: row["description"],
                    parameters: (try? JSONValue.parse(row["parameters"] as String))?.objectValue ?? [:], version: row["version"])
            }
        }
    }

    public func saveParameterStore(project: String, _ store: ParameterStore, mustBeNew: Bool, audit: AuditEntry) async throws
        -> ParameterStore
    {
        try await db.write { db in
            let current = try Int64.fetchOne(
                db, sql: "SELECT version FROM parameter_stores WHERE project_id = ? AND name = ?", arguments: [project, store.name])
            if mustBeNew, current != nil { throw StoreError.conflict("a parameter store named '\(store.name)' already exists") }
            var saved = store
            saved.version = (current ?? 0).addingReportingOverflow(1).overflow ? Int64.max : (current ?? 0) + 1
            let parameters = String(decoding: JSONValue.object(store.parameters).serializedBytes(sortedKeys: true), as: UTF8.self)
            try db.execute(
                sql: """
                    INSERT INTO parameter_stores (project_id, name, description, parameters, version, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (project_id, name) DO UPDATE SET description = excluded.description,
                        parameters = excluded.parameters, version = excluded.version, updated_at = excluded.updated_at
                    """,
                arguments: [project, store.name, store.description, parameters, saved.version, audit.time])
            try Self.appendAudit(db, project: project, audit)
            try Self.bumpConfigTime(db, project: project, now: audit.time)
            return saved
        }
    }

    public func deleteParameterStore(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM parameter_stores WHERE project_id = ? AND name = ?", arguments: [project, name])
            guard db.changesCount > 0 else { return false }
            try Self.appendAudit(db, project: project, audit)
            try Self.bumpConfigTime(db, project: project, now: audit.time)
            return true
        }
    }
}
