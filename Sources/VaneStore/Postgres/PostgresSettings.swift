import PostgresNIO
import VaneCore

// Text is ordered `COLLATE "C"` (by bytes), as SQLite's default BINARY collation orders it,
// whatever the database's own collation.

extension PostgresStore /* SettingsRepository */ {
    public func setting(project: String, name: String) async throws -> JSONValue? {
        try await db.read { c in
            try await c.fetchValue("SELECT value FROM settings WHERE project_id = ? AND name = ?", [project, name], as: String.self)
                .flatMap { try? JSONValue.parse($0) }
        }
    }

    public func putSetting(project: String, name: String, value: JSONValue, audit: AuditEntry) async throws {
        try await db.write { c in
            try await c.execute(
                """
                INSERT INTO settings (project_id, name, value, updated_at) VALUES (?, ?, ?, ?)
                ON CONFLICT (project_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """,
                [project, name, value.serialized(sortedKeys: true), audit.time])
            try await Self.appendAudit(c, project: project, audit)
        }
    }

    public func projects() async throws -> [String] {
        try await db.read { c in
            try await c.fetchAll("SELECT id FROM projects ORDER BY id COLLATE \"C\"").map { try $0.get("id", as: String.self) }
        }
    }

}

extension PostgresStore /* UsageRepository */ {
    /// Counters of the same key are added up first, and rows are written in key order, so two
    /// batches touching the same counters never deadlock on each other's row locks.
    public func addUsage(project: String, _ counts: [UsageCount]) async throws {
        guard !counts.isEmpty else { return }
        struct Key: Hashable, Comparable {
            var day, source, category, reason: String
            static func < (a: Key, b: Key) -> Bool {
                (a.day, a.source, a.category, a.reason) < (b.day, b.source, b.category, b.reason)
            }
        }
        var totals: [Key: Int64] = [:]
        for c in counts {
            totals[Key(day: c.day, source: c.source, category: c.category, reason: c.reason), default: 0] &+= Int64(c.count)
        }
        let ordered = totals.sorted { $0.key < $1.key }
        try await db.write { c in
            for (k, n) in ordered {
                try await c.execute(
                    """
                    INSERT INTO usage_counts (project_id, day, source, category, reason, count) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (project_id, day, source, category, reason) DO UPDATE SET count = usage_counts.count + excluded.count
                    """,
                    [project, k.day, k.source, k.category, k.reason, n])
            }
        }
    }

    public func usage(project: String, source: String, sinceDay: String) async throws -> [UsageCount] {
        try await db.read { c in
            try await c.fetchAll(
                """
                SELECT * FROM usage_counts WHERE project_id = ? AND source = ? AND day >= (? COLLATE "C")
                ORDER BY day COLLATE "C", category COLLATE "C", reason COLLATE "C"
                """,
                [project, source, sinceDay]
            ).map {
                UsageCount(
                    day: try $0.get("day", as: String.self), source: try $0.get("source", as: String.self),
                    category: try $0.get("category", as: String.self), reason: try $0.get("reason", as: String.self),
                    count: try $0.get("count", as: Int.self))
            }
        }
    }

}

extension PostgresStore /* ParameterStoreRepository */ {
    public func parameterStores(project: String) async throws -> [ParameterStore] {
        try await db.read { c in
            try await c.fetchAll(
                "SELECT name, description, parameters, version FROM parameter_stores WHERE project_id = ? ORDER BY name COLLATE \"C\"",
                [project]
            ).map { row in
                ParameterStore(
                    name: try row.get("name", as: String.self), description: try row.get("description", as: String.self),
                    parameters: (try? JSONValue.parse(try row.get("parameters", as: String.self)))?.objectValue ?? [:],
                    version: try row.get("version", as: Int64.self))
            }
        }
    }

    /// The current version is read `FOR UPDATE` and a new store is inserted with `ON CONFLICT DO
    /// NOTHING`, so concurrent saves of one store get successive versions and a concurrent create
    /// is seen (a conflict under `mustBeNew`), as SQLite's single writer gives.
    public func saveParameterStore(project: String, _ store: ParameterStore, mustBeNew: Bool, audit: AuditEntry) async throws
        -> ParameterStore
    {
        try await db.write { c in
            let select = "SELECT version FROM parameter_stores WHERE project_id = ? AND name = ? FOR UPDATE"
            var current = try await c.fetchValue(select, [project, store.name], as: Int64.self)
            if mustBeNew, current != nil { throw StoreError.conflict("a parameter store named '\(store.name)' already exists") }
            var saved = store
            let parameters = String(decoding: JSONValue.object(store.parameters).serializedBytes(sortedKeys: true), as: UTF8.self)
            var written = false
            if current == nil {
                saved.version = 1
                written = try await c.execute(
                    """
                    INSERT INTO parameter_stores (project_id, name, description, parameters, version, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (project_id, name) DO NOTHING RETURNING 1
                    """,
                    [project, store.name, store.description, parameters, saved.version, audit.time]) > 0
                if !written {
                    // Created by a concurrent transaction since the first read.
                    current = try await c.fetchValue(select, [project, store.name], as: Int64.self)
                    if mustBeNew { throw StoreError.conflict("a parameter store named '\(store.name)' already exists") }
                }
            }
            if !written {
                let now = current ?? 0
                saved.version = now.addingReportingOverflow(1).overflow ? Int64.max : now + 1
                try await c.execute(
                    """
                    UPDATE parameter_stores SET description = ?, parameters = ?, version = ?, updated_at = ?
                    WHERE project_id = ? AND name = ?
                    """,
                    [store.description, parameters, saved.version, audit.time, project, store.name])
            }
            try await Self.appendAudit(c, project: project, audit)
            try await Self.bumpConfigTime(c, project: project, now: audit.time)
            return saved
        }
    }

    public func deleteParameterStore(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        try await db.write { c in
            let deleted = try await c.execute(
                "DELETE FROM parameter_stores WHERE project_id = ? AND name = ? RETURNING 1", [project, name])
            guard deleted > 0 else { return false }
            try await Self.appendAudit(c, project: project, audit)
            try await Self.bumpConfigTime(c, project: project, now: audit.time)
            return true
        }
    }
}
