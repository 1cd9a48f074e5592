import PostgresNIO
import VaneCore

/// The ConfigRepository on PostgreSQL: a port of the SQLite store's (SQLiteStore.swift), statement
/// for statement where it can be. Where several nodes could race (two creates of one name, two
/// changes to one ID list, two Engage batches), the SQL closes the race: inserts that must be new
/// use `ON CONFLICT DO NOTHING` and report a conflict when nothing was inserted, an ID list's row is
/// locked (`FOR UPDATE`) before its file grows, and a revoke only revokes a key still live.
/// Text is ordered with `COLLATE "C"`, SQLite's byte order, whatever the database's collation.
extension PostgresStore /* ConfigRepository */ {
    /// Serialises `bootstrap` across nodes starting together on an empty database.
    private static let cfgBootstrapLock: Int64 = 0x7661_6e65_0020
    /// Adds and removes at most this many IDs per statement.
    private static let cfgIDListChunk = 5000

    // MARK: - Transactions

    /// `db.write`, with a unique violation (SQLSTATE 23505) reported as `conflict` when one is given.
    private func cfgWrite<T: Sendable>(conflict: StoreError? = nil, _ body: (PGConnection) async throws -> T) async throws -> T {
        do {
            return try await db.write(body)
        } catch let e as PSQLError where conflict != nil && e.serverInfo?[.sqlState] == "23505" {
            throw conflict!
        }
    }

    // MARK: - Projects and keys

    public func bootstrap(preset: PresetKeys, now: Int64) async throws -> [IssuedKey] {
        try await cfgWrite { c in
            try await c.execute("SELECT pg_advisory_xact_lock(?)", [Self.cfgBootstrapLock])
            if try await c.fetchValue("SELECT COUNT(*) FROM projects", as: Int64.self) ?? 0 > 0 { return [] }
            try await c.execute("INSERT INTO projects (id, name, created_at, config_time) VALUES ('default', 'default', ?, ?)", [now, now])
            for (i, env) in Self.defaultEnvironments.enumerated() {
                try await c.execute("INSERT INTO environments (project_id, name, position) VALUES ('default', ?, ?)", [env, i])
            }
            var issued: [IssuedKey] = []
            for (kind, secret) in [(KeyKind.server, preset.server), (.client, preset.client), (.console, preset.console)] {
                issued.append(try await Self.cfgInsertKey(
                    c, project: "default", kind: kind, secret: secret, environment: nil, description: "Created on first start",
                    allowedOrigins: nil, now: now))
            }
            if let writeKey = preset.segmentWriteKey {
                issued.append(try await Self.cfgInsertKey(
                    c, project: "default", kind: .segmentWriteKey, secret: writeKey, environment: nil,
                    description: "Segment inbound write key", allowedOrigins: nil, now: now))
            }
            // Segment's anonymousId maps to this custom ID type by default, as Statsig recommends.
            try await c.execute("INSERT INTO custom_id_types (project_id, name, created_at) VALUES ('default', 'segmentAnonymousId', ?)",
                                [now])
            return issued
        }
    }

    private static func cfgInsertKey(
        _ c: PGConnection, project: String, kind: KeyKind, secret: String?, environment: String?, description: String,
        allowedOrigins: [String]?, now: Int64
    ) async throws -> IssuedKey {
        let secret = secret ?? kind.prefix + StatsigHash.randomToken(length: 40)
        let key = APIKey(
            id: StatsigHash.randomToken(length: 12), project: project, kind: kind,
            displayPrefix: String(secret.prefix(kind.prefix.count + 4)), environment: environment,
            description: description, createdAt: now, allowedOrigins: allowedOrigins)
        let origins = allowedOrigins.map {
            String(decoding: JSONValue.array($0.map { .string($0) }).serializedBytes(), as: UTF8.self)
        }
        try await c.execute(
            """
            INSERT INTO api_keys (id, project_id, kind, key_hash, display_prefix, environment, description, created_at, allowed_origins)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [key.id, project, kind.rawValue, StatsigHash.sha256Hex(secret), key.displayPrefix, environment, description, now, origins])
        return IssuedKey(key: key, secret: secret)
    }

    private static func cfgAPIKey(_ row: PGRow) throws -> APIKey {
        APIKey(
            id: try row.get("id", as: String.self), project: try row.get("project_id", as: String.self),
            kind: KeyKind(rawValue: try row.get("kind", as: String.self)) ?? .server,
            displayPrefix: try row.get("display_prefix", as: String.self), environment: try row.get("environment", as: String?.self),
            description: try row.get("description", as: String.self), createdAt: try row.get("created_at", as: Int64.self),
            revokedAt: try row.get("revoked_at", as: Int64?.self),
            allowedOrigins: json(try row.get("allowed_origins", as: String?.self))?.arrayValue?.compactMap(\.stringValue))
    }

    public func key(matching secret: String) async throws -> APIKey? {
        let hash = StatsigHash.sha256Hex(secret)
        return try await db.read { c in
            try await c.fetchOne("SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", [hash]).map(Self.cfgAPIKey)
        }
    }

    public func keys(project: String) async throws -> [APIKey] {
        try await db.read { c in
            try await c.fetchAll("SELECT * FROM api_keys WHERE project_id = ? ORDER BY created_at, id COLLATE \"C\"", [project])
                .map(Self.cfgAPIKey)
        }
    }

    public func createKey( project: String, kind: KeyKind, environment: String?, description: String, allowedOrigins: [String]?, now: Int64, actor: String? ) async throws -> IssuedKey {
        try await cfgWrite { c in
            let issued = try await Self.cfgInsertKey(
                c, project: project, kind: kind, secret: nil, environment: environment, description: description,
                allowedOrigins: allowedOrigins, now: now)
            if let actor {
                try await Self.appendAudit(c, project: project, SQLiteStore.keyAudit(issued.key, action: "created", actor: actor, now: now))
            }
            return issued
        }
    }

    public func revokeKey(project: String, id: String, now: Int64, actor: String?) async throws -> Bool {
        try await cfgWrite { c in
            // One statement: of two revokes racing, only one finds the key live (and audits it).
            guard let row = try await c.fetchOne(
                "UPDATE api_keys SET revoked_at = ? WHERE project_id = ? AND id = ? AND revoked_at IS NULL RETURNING *", [now, project, id])
            else { return false }
            if let actor {
                try await Self.appendAudit(
                    c, project: project, SQLiteStore.keyAudit(try Self.cfgAPIKey(row), action: "revoked", actor: actor, now: now))
            }
            return true
        }
    }

    public func environments(project: String) async throws -> [String] {
        try await db.read { c in
            try await c.fetchAll("SELECT name FROM environments WHERE project_id = ? ORDER BY position", [project])
                .map { try $0.get("name", as: String.self) }
        }
    }

    // MARK: - Entities (stored as the same sorted-key JSON as on SQLite)

    public func entities(project: String, kind: EntityKind?) async throws -> [Entity] {
        try await db.read { c in
            let rows: [PGRow]
            if let kind {
                rows = try await c.fetchAll(
                    "SELECT definition FROM entities WHERE project_id = ? AND kind = ? ORDER BY name COLLATE \"C\"", [project, kind.rawValue])
            } else {
                rows = try await c.fetchAll(
                    "SELECT definition FROM entities WHERE project_id = ? ORDER BY kind COLLATE \"C\", name COLLATE \"C\"", [project])
            }
            return try rows.map { try SQLiteStore.decode(try $0.get("definition", as: String.self)) }
        }
    }

    public func entity(project: String, kind: EntityKind, name: String) async throws -> Entity? {
        try await db.read { c in
            try await c.fetchValue("SELECT definition FROM entities WHERE project_id = ? AND kind = ? AND name = ?",
                                   [project, kind.rawValue, name], as: String.self).map(SQLiteStore.decode)
        }
    }

    public func save(project: String, entity: Entity, mustBeNew: Bool, audit: AuditEntry) async throws {
        let conflict = StoreError.conflict("a \(entity.kind.displayName.lowercased()) named '\(entity.name)' already exists")
        let definition = try SQLiteStore.encode(entity)
        try await cfgWrite(conflict: mustBeNew ? conflict : nil) { c in
            if mustBeNew {
                // Of two creates racing, the second waits for the first to commit and inserts nothing.
                let inserted = try await c.execute(
                    """
                    INSERT INTO entities (project_id, kind, name, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (project_id, kind, name) DO NOTHING RETURNING 1
                    """,
                    [project, entity.kind.rawValue, entity.name, definition, audit.time, audit.time])
                guard inserted > 0 else { throw conflict }
            } else {
                try await Self.cfgUpsert(c, project: project, kind: entity.kind, name: entity.name, definition: definition, now: audit.time)
            }
            try await Self.appendAudit(c, project: project, audit)
            try await Self.bumpConfigTime(c, project: project, now: audit.time)
        }
    }

    private static func cfgUpsert(_ c: PGConnection, project: String, kind: EntityKind, name: String, definition: String, now: Int64) async throws {
        try await c.execute(
            """
            INSERT INTO entities (project_id, kind, name, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, kind, name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
            """,
            [project, kind.rawValue, name, definition, now, now])
    }

    public func delete(project: String, kind: EntityKind, name: String, audit: AuditEntry) async throws -> Bool {
        try await cfgWrite { c in
            let deleted = try await c.execute("DELETE FROM entities WHERE project_id = ? AND kind = ? AND name = ? RETURNING 1",
                                              [project, kind.rawValue, name])
            guard deleted > 0 else { return false }
            try await Self.appendAudit(c, project: project, audit)
            try await Self.bumpConfigTime(c, project: project, now: audit.time)
            return true
        }
    }

    public func saveAll(project: String, entities: [Entity], audit: AuditEntry) async throws {
        let encoded = try entities.map { ($0.kind, $0.name, try SQLiteStore.encode($0)) }
        try await cfgWrite { c in
            for (kind, name, definition) in encoded {
                try await Self.cfgUpsert(c, project: project, kind: kind, name: name, definition: definition, now: audit.time)
            }
            try await Self.appendAudit(c, project: project, audit)
            try await Self.bumpConfigTime(c, project: project, now: audit.time)
        }
    }

    public func configTime(project: String) async throws -> Int64 {
        try await db.read { c in
            try await c.fetchValue("SELECT config_time FROM projects WHERE id = ?", [project], as: Int64.self) ?? 0
        }
    }

    public func customIDTypes(project: String) async throws -> [String] {
        try await db.read { c in
            try await c.fetchAll("SELECT name FROM custom_id_types WHERE project_id = ? ORDER BY name COLLATE \"C\"", [project])
                .map { try $0.get("name", as: String.self) }
        }
    }

    public func addCustomIDType(project: String, name: String, audit: AuditEntry) async throws {
        let conflict = StoreError.conflict("custom ID type '\(name)' already exists")
        try await cfgWrite(conflict: conflict) { c in
            let inserted = try await c.execute(
                "INSERT INTO custom_id_types (project_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING 1",
                [project, name, audit.time])
            guard inserted > 0 else { throw conflict }
            try await Self.appendAudit(c, project: project, audit)
        }
    }

    public func removeCustomIDType(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        try await cfgWrite { c in
            let deleted = try await c.execute("DELETE FROM custom_id_types WHERE project_id = ? AND name = ? RETURNING 1", [project, name])
            guard deleted > 0 else { return false }
            try await Self.appendAudit(c, project: project, audit)
            return true
        }
    }

    // MARK: - ID lists

    private static func cfgIDListInfo(_ row: PGRow) throws -> IDListInfo {
        IDListInfo(
            name: try row.get("name", as: String.self), count: Int(try row.get("member_count", as: Int64.self)),
            fileSize: Int(try row.get("line_count", as: Int64.self)) * 10, fileID: try row.get("file_id", as: String.self),
            creationTime: try row.get("creation_time", as: Int64.self), updatedAt: try row.get("updated_at", as: Int64.self))
    }

    public func createIDList(project: String, name: String, now: Int64, audit: AuditEntry) async throws -> IDListInfo {
        let conflict = StoreError.conflict("an ID list named '\(name)' already exists")
        return try await cfgWrite(conflict: conflict) { c in
            let fileID = StatsigHash.randomToken(length: 24)
            let inserted = try await c.execute(
                """
                INSERT INTO id_lists (project_id, name, file_id, creation_time, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (project_id, name) DO NOTHING RETURNING 1
                """,
                [project, name, fileID, now, now])
            guard inserted > 0 else { throw conflict }
            try await Self.appendAudit(c, project: project, audit)
            return IDListInfo(name: name, count: 0, fileSize: 0, fileID: fileID, creationTime: now, updatedAt: now)
        }
    }

    public func deleteIDList(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        try await cfgWrite { c in
            let deleted = try await c.execute("DELETE FROM id_lists WHERE project_id = ? AND name = ? RETURNING 1", [project, name])
            guard deleted > 0 else { return false }
            try await c.execute("DELETE FROM id_list_members WHERE project_id = ? AND list = ?", [project, name])
            try await c.execute("DELETE FROM id_list_log WHERE project_id = ? AND list = ?", [project, name])
            try await Self.appendAudit(c, project: project, audit)
            return true
        }
    }

    public func idLists(project: String) async throws -> [IDListInfo] {
        try await db.read { c in
            try await c.fetchAll("SELECT * FROM id_lists WHERE project_id = ? ORDER BY name COLLATE \"C\"", [project]).map(Self.cfgIDListInfo)
        }
    }

    public func idList(project: String, name: String) async throws -> IDListInfo? {
        try await db.read { c in
            try await c.fetchOne("SELECT * FROM id_lists WHERE project_id = ? AND name = ?", [project, name]).map(Self.cfgIDListInfo)
        }
    }

    public func changeIDList( project: String, name: String, add: [String], remove: [String], source: String, now: Int64, audit: AuditEntry? ) async throws -> (added: Int, removed: Int) {
        try await cfgWrite { c in
            let result = try await Self.cfgChangeIDList(c, project: project, name: name, add: add, remove: remove, source: source, now: now)
            if let audit, result.added + result.removed > 0 { try await Self.appendAudit(c, project: project, audit) }
            return result
        }
    }

    /// SQLite's `changeIDList`, a chunk of IDs per statement instead of one: the adds in order (an ID
    /// already in the list, or repeated, is a no-op), then the removes in order, each applied change
    /// appended to the list file as the next line. The list's row stays locked until the
    /// transaction ends, so concurrent changes to one list append their lines one after the other.
    private static func cfgChangeIDList(
        _ c: PGConnection, project: String, name: String, add: [String], remove: [String], source: String, now: Int64
    ) async throws -> (added: Int, removed: Int) {
        guard let row = try await c.fetchOne(
            "SELECT file_id, line_count FROM id_lists WHERE project_id = ? AND name = ? FOR UPDATE", [project, name])
        else { throw StoreError.notFound("no ID list named '\(name)'") }
        let fileID = try row.get("file_id", as: String.self)
        var line = try row.get("line_count", as: Int64.self)
        var added = 0
        var removed = 0

        for (op, ids) in [("+", add), ("-", remove)] {
            var start = 0
            while start < ids.count {
                let end = min(start + cfgIDListChunk, ids.count)
                // Unit IDs are stored as bound (U+0000 as U+FFFD), so they are compared that way; the
                // hash SDKs match is still the given ID's.
                var seen = Set<String>()
                let chunk = ids[start..<end].filter { seen.insert(EventColumns.text($0)).inserted }
                start = end
                let present = Set(try await c.fetchAll(
                    "SELECT unit_id FROM id_list_members WHERE project_id = ? AND list = ? AND unit_id = ANY(?)", [project, name, chunk]
                ).map { try $0.get("unit_id", as: String.self) })
                let changed = chunk.filter { present.contains(EventColumns.text($0)) == (op == "-") }
                if changed.isEmpty { continue }
                let hashes = changed.map { StatsigHash.idListEntry($0) }
                if op == "+" {
                    try await c.execute(
                        """
                        INSERT INTO id_list_members (project_id, list, unit_id, hashed, updated_at)
                        SELECT ?, ?, t.u, t.h, ? FROM unnest(?::text[], ?::text[]) AS t(u, h)
                        ON CONFLICT DO NOTHING
                        """,
                        [project, name, now, changed, hashes])
                    added += changed.count
                } else {
                    try await c.execute("DELETE FROM id_list_members WHERE project_id = ? AND list = ? AND unit_id = ANY(?)",
                                        [project, name, changed])
                    removed += changed.count
                }
                try await c.execute(
                    """
                    INSERT INTO id_list_log (project_id, list, file_id, line, op, hashed, unit_id, source, at)
                    SELECT ?, ?, ?, ? + t.n - 1, ?, t.h, t.u, ?, ? FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS t(u, h, n)
                    """,
                    [project, name, fileID, line, op, source, now, changed, hashes])
                line += Int64(changed.count)
            }
        }
        try await c.execute(
            "UPDATE id_lists SET line_count = ?, updated_at = ?, member_count = member_count + ? - ? WHERE project_id = ? AND name = ?",
            [line, now, Int64(added), Int64(removed), project, name])
        return (added, removed)
    }

    public func recentIDListChanges(project: String, name: String, limit: Int) async throws -> [IDListChange] {
        try await db.read { c in
            try await c.fetchAll(
                "SELECT unit_id, op, at, source FROM id_list_log WHERE project_id = ? AND list = ? ORDER BY at DESC, line DESC LIMIT ?",
                [project, name, limit]
            ).map {
                IDListChange(id: try $0.get("unit_id", as: String.self), op: try $0.get("op", as: String.self),
                             time: try $0.get("at", as: Int64.self), source: try $0.get("source", as: String.self))
            }
        }
    }

    public func idListFile(project: String, name: String, fileID: String, from offset: Int) async throws -> [UInt8]? {
        let firstLine = max(0, offset) / 10
        return try await db.read { c in
            // One statement, so the list and its lines come from one snapshot: no row at all when
            // there is no such list file, one row of NULLs when the file is empty.
            let rows = try await c.fetchAll(
                """
                SELECT l.op, l.hashed FROM id_lists i
                LEFT JOIN id_list_log l ON l.project_id = i.project_id AND l.list = i.name AND l.file_id = i.file_id AND l.line >= ?
                WHERE i.project_id = ? AND i.name = ? AND i.file_id = ? ORDER BY l.line
                """,
                [firstLine, project, name, fileID])
            guard !rows.isEmpty else { return nil }
            var bytes: [UInt8] = []
            for row in rows {
                guard let op = try row.get("op", as: String?.self), let hashed = try row.get("hashed", as: String?.self) else { continue }
                bytes.append(contentsOf: op.utf8)
                bytes.append(contentsOf: hashed.utf8)
                bytes.append(0x0A)
            }
            let skip = max(0, offset) - firstLine * 10
            return skip > 0 ? Array(bytes.dropFirst(skip)) : bytes
        }
    }

    public func idListFileOwner(fileID: String) async throws -> (project: String, name: String)? {
        try await db.read { c in
            guard let row = try await c.fetchOne("SELECT project_id, name FROM id_lists WHERE file_id = ?", [fileID]) else { return nil }
            return (try row.get("project_id", as: String.self), try row.get("name", as: String.self))
        }
    }

    public func idListEntries(project: String) async throws -> [String: Set<String>] {
        try await db.read { c in
            var out: [String: Set<String>] = [:]
            let rows = try await c.fetchAll(
                """
                SELECT i.name, m.hashed FROM id_lists i
                LEFT JOIN id_list_members m ON m.project_id = i.project_id AND m.list = i.name
                WHERE i.project_id = ?
                """,
                [project])
            for row in rows {
                let list = try row.get("name", as: String.self)
                if let hashed = try row.get("hashed", as: String?.self) {
                    out[list, default: []].insert(hashed)
                } else if out[list] == nil {
                    out[list] = []
                }
            }
            return out
        }
    }

    public func applyMembership(project: String, _ changes: [MembershipChange], source: String, now: Int64) async throws -> [MembershipOutcome] {
        try await cfgWrite { c in
            // Lock every list the batch touches up front, in one order, so batches racing on shared
            // lists queue up instead of deadlocking.
            let lists = Array(Set(changes.map(\.list)))
            if !lists.isEmpty {
                try await c.execute(
                    "SELECT 1 FROM id_lists WHERE project_id = ? AND name = ANY(?) ORDER BY name COLLATE \"C\" FOR UPDATE", [project, lists])
            }
            var outcomes: [MembershipOutcome] = []
            outcomes.reserveCapacity(changes.count)
            for change in changes {
                // Last writer wins by event time: a change older than the one recorded is stale.
                let applied = try await c.execute(
                    """
                    INSERT INTO audience_membership (project_id, list, unit_id, member, event_time) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (project_id, list, unit_id) DO UPDATE SET member = excluded.member, event_time = excluded.event_time
                    WHERE audience_membership.event_time <= excluded.event_time
                    RETURNING 1
                    """,
                    [project, change.list, change.unitID, change.member, change.time])
                guard applied > 0 else {
                    outcomes.append(.stale)
                    continue
                }
                let r = try await Self.cfgChangeIDList(
                    c, project: project, name: change.list, add: change.member ? [change.unitID] : [],
                    remove: change.member ? [] : [change.unitID], source: source, now: now)
                outcomes.append(r.added > 0 ? .added : r.removed > 0 ? .removed : .unchanged)
            }
            return outcomes
        }
    }

    // MARK: - Audit log

    public func auditLog(project: String, query: AuditQuery) async throws -> [AuditEntry] {
        try await db.read { c in
            var sql = "SELECT * FROM audit_log WHERE project_id = ?"
            var args: [any PGBindable] = [project]
            if let k = query.kind { sql += " AND kind = ?"; args.append(k) }
            if let n = query.name { sql += " AND name = ?"; args.append(n) }
            if let a = query.actor { sql += " AND actor = ?"; args.append(a) }
            if let a = query.action { sql += " AND action = ?"; args.append(a) }
            if let t = query.since { sql += " AND at >= ?"; args.append(t) }
            if let t = query.until { sql += " AND at < ?"; args.append(t) }
            if let b = query.beforeID { sql += " AND id < ?"; args.append(b) }
            sql += " ORDER BY id DESC LIMIT ?"
            args.append(max(1, min(query.limit, 1000)))
            return try await c.fetchAll(sql, args).map(Self.auditFromRow)
        }
    }
}
