import Foundation
import GRDB
import Synchronization
import VaneCore

/// The embedded store: one SQLite file in WAL mode. Commits are fully synchronous, so an
/// acknowledged write survives a crash or power loss; group commit keeps that affordable.
public final class SQLiteStore: VaneStore {
    let db: any DatabaseWriter
    /// Held shared while the store is open, so `vane restore` can tell the store is in use.
    private let directoryLock: DataDirectoryLock?
    /// How many events the next rollup transaction takes (`SQLitePulse.swift`).
    let rollupSizing = Mutex(RollupTransactionSizing())
    static let defaultEnvironments = ["development", "staging", "production"]

    /// Opens (creating if needed) `vane.sqlite` in `directory` and migrates it.
    public convenience init(directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let lock = try DataDirectoryLock(DataDirectory(directory), mode: .shared)
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // Rollups touch units at random across large tables: SQLite's default 2 MB page cache
            // thrashes on the writer, and memory-mapped reads save a system call per page. Readers
            // read through the map, so a large cache only held copies: 16 MB each instead of 128
            // (bench pulse, 2.2M events: heap growth during the rollup 88 -> 41 MB, same speed).
            try db.execute(sql: db.configuration.readonly ? "PRAGMA cache_size = -16384" : "PRAGMA cache_size = -131072")
            try db.execute(sql: "PRAGMA mmap_size = 4294967296")
        }
        config.busyMode = .timeout(10)
        let pool = try DatabasePool(path: DataDirectory(directory).database, configuration: config)
        try self.init(writer: pool, directoryLock: lock)
    }

    public var isShared: Bool { false }

    public func releaseMemory() {
        (db as? DatabasePool)?.releaseMemoryEventually()
    }

    /// An in-memory store, for tests.
    public convenience init() throws {
        try self.init(writer: try DatabaseQueue())
    }

    init(writer: any DatabaseWriter, directoryLock: DataDirectoryLock? = nil) throws {
        self.db = writer
        self.directoryLock = directoryLock
        try SQLiteMigrations.migrator.migrate(writer)
    }

    // MARK: - Projects and keys

    public func bootstrap(preset: PresetKeys, now: Int64) async throws -> [IssuedKey] {
        try await db.write { db in
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM projects") ?? 0 > 0 { return [] }
            try db.execute(sql: "INSERT INTO projects (id, name, created_at, config_time) VALUES ('default', 'default', ?, ?)",
                           arguments: [now, now])
            for (i, env) in Self.defaultEnvironments.enumerated() {
                try db.execute(sql: "INSERT INTO environments (project_id, name, position) VALUES ('default', ?, ?)",
                               arguments: [env, i])
            }
            var issued: [IssuedKey] = []
            for (kind, secret) in [(KeyKind.server, preset.server), (.client, preset.client), (.console, preset.console)] {
                issued.append(try Self.insertKey(db, project: "default", kind: kind, secret: secret, environment: nil,
                                                 description: "Created on first start", now: now))
            }
            if let writeKey = preset.segmentWriteKey {
                issued.append(try Self.insertKey(db, project: "default", kind: .segmentWriteKey, secret: writeKey, environment: nil,
                                                 description: "Segment inbound write key", now: now))
            }
            // Segment's anonymousId maps to this custom ID type by default, as Statsig recommends.
            try db.execute(sql: "INSERT INTO custom_id_types (project_id, name, created_at) VALUES ('default', 'segmentAnonymousId', ?)",
                           arguments: [now])
            return issued
        }
    }

    static func insertKey(
        _ db: Database, project: String, kind: KeyKind, secret: String?, environment: String?, description: String,
        now: Int64
    ) throws -> IssuedKey {
        let secret = secret ?? kind.prefix + StatsigHash.randomToken(length: 40)
        let key = APIKey(
            id: StatsigHash.randomToken(length: 12), project: project, kind: kind,
            displayPrefix: String(secret.prefix(kind.prefix.count + 4)), environment: environment,
            description: description, createdAt: now)
        try db.execute(
            sql: """
                INSERT INTO api_keys (id, project_id, kind, key_hash, display_prefix, environment, description, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [key.id, project, kind.rawValue, StatsigHash.sha256Hex(secret), key.displayPrefix, environment,
                        description, now])
        return IssuedKey(key: key, secret: secret)
    }

    static func apiKey(_ row: Row) -> APIKey {
        APIKey(
            id: row["id"], project: row["project_id"], kind: KeyKind(rawValue: row["kind"]) ?? .server,
            displayPrefix: row["display_prefix"], environment: row["environment"], description: row["description"],
            createdAt: row["created_at"], revokedAt: row["revoked_at"],
            allowedOrigins: (row["allowed_origins"] as String?).flatMap { try? JSONValue.parse($0) }?.arrayValue?.compactMap(\.stringValue))
    }

    public func key(matching secret: String) async throws -> APIKey? {
        let hash = StatsigHash.sha256Hex(secret)
        return try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", arguments: [hash])
                .map(Self.apiKey)
        }
    }

    public func keys(project: String) async throws -> [APIKey] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys WHERE project_id = ? ORDER BY created_at, id", arguments: [project])
                .map(Self.apiKey)
        }
    }

    public func createKey(
        project: String, kind: KeyKind, environment: String?, description: String, allowedOrigins: [String]?, now: Int64,
        actor: String?
    ) async throws -> IssuedKey {
        try await db.write { db in
            var issued = try Self.insertKey(db, project: project, kind: kind, secret: nil, environment: environment,
                                            description: description, now: now)
            if let allowedOrigins {
                let list = String(decoding: JSONValue.array(allowedOrigins.map { .string($0) }).serializedBytes(), as: UTF8.self)
                try db.execute(sql: "UPDATE api_keys SET allowed_origins = ? WHERE id = ?", arguments: [list, issued.key.id])
                issued.key.allowedOrigins = allowedOrigins
            }
            if let actor { try Self.appendAudit(db, project: project, Self.keyAudit(issued.key, action: "created", actor: actor, now: now)) }
            return issued
        }
    }

    public func revokeKey(project: String, id: String, now: Int64, actor: String?) async throws -> Bool {
        try await db.write { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT * FROM api_keys WHERE project_id = ? AND id = ? AND revoked_at IS NULL", arguments: [project, id])
            else { return false }
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE project_id = ? AND id = ?", arguments: [now, project, id])
            if let actor { try Self.appendAudit(db, project: project, Self.keyAudit(Self.apiKey(row), action: "revoked", actor: actor, now: now)) }
            return true
        }
    }

    /// Key changes in the audit log name the key by id and prefix, never by its secret.
    static func keyAudit(_ key: APIKey, action: String, actor: String, now: Int64) -> AuditEntry {
        let scope = key.environment.map { " for \($0)" } ?? ""
        return AuditEntry(
            time: now, actor: actor, action: action, kind: "key", name: key.id,
            after: ["kind": .string(key.kind.rawValue), "prefix": .string(key.displayPrefix),
                    "environment": key.environment.map { .string($0) } ?? .null, "description": .string(key.description)],
            description: "\(key.kind.rawValue.capitalized) key \(key.displayPrefix)… \(action)\(scope)")
    }

    public func environments(project: String) async throws -> [String] {
        try await db.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM environments WHERE project_id = ? ORDER BY position", arguments: [project])
        }
    }

    // MARK: - Entities

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    static func encode(_ entity: Entity) throws -> String {
        String(decoding: try encoder.encode(entity), as: UTF8.self)
    }

    static func decode(_ text: String) throws -> Entity {
        try JSONDecoder().decode(Entity.self, from: Data(text.utf8))
    }

    public func entities(project: String, kind: EntityKind?) async throws -> [Entity] {
        try await db.read { db in
            let rows: [String]
            if let kind {
                rows = try String.fetchAll(db, sql: "SELECT definition FROM entities WHERE project_id = ? AND kind = ? ORDER BY name",
                                           arguments: [project, kind.rawValue])
            } else {
                rows = try String.fetchAll(db, sql: "SELECT definition FROM entities WHERE project_id = ? ORDER BY kind, name",
                                           arguments: [project])
            }
            return try rows.map(Self.decode)
        }
    }

    public func entity(project: String, kind: EntityKind, name: String) async throws -> Entity? {
        try await db.read { db in
            try String.fetchOne(db, sql: "SELECT definition FROM entities WHERE project_id = ? AND kind = ? AND name = ?",
                                arguments: [project, kind.rawValue, name]).map(Self.decode)
        }
    }

    public func save(project: String, entity: Entity, mustBeNew: Bool, audit: AuditEntry) async throws {
        try await db.write { db in
            if mustBeNew,
                try Bool.fetchOne(db, sql: "SELECT 1 FROM entities WHERE project_id = ? AND kind = ? AND name = ?",
                                  arguments: [project, entity.kind.rawValue, entity.name]) == true
            {
                throw StoreError.conflict("a \(entity.kind.displayName.lowercased()) named '\(entity.name)' already exists")
            }
            try Self.upsert(db, project: project, entity: entity, now: audit.time)
            try Self.appendAudit(db, project: project, audit)
            try Self.bumpConfigTime(db, project: project, now: audit.time)
        }
    }

    public func saveAll(project: String, entities: [Entity], audit: AuditEntry) async throws {
        try await db.write { db in
            for e in entities { try Self.upsert(db, project: project, entity: e, now: audit.time) }
            try Self.appendAudit(db, project: project, audit)
            try Self.bumpConfigTime(db, project: project, now: audit.time)
        }
    }

    static func upsert(_ db: Database, project: String, entity: Entity, now: Int64) throws {
        try db.execute(
            sql: """
                INSERT INTO entities (project_id, kind, name, definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (project_id, kind, name) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at
                """,
            arguments: [project, entity.kind.rawValue, entity.name, try encode(entity), now, now])
    }

    public func delete(project: String, kind: EntityKind, name: String, audit: AuditEntry) async throws -> Bool {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM entities WHERE project_id = ? AND kind = ? AND name = ?",
                           arguments: [project, kind.rawValue, name])
            guard db.changesCount > 0 else { return false }
            try Self.appendAudit(db, project: project, audit)
            try Self.bumpConfigTime(db, project: project, now: audit.time)
            return true
        }
    }

    static func bumpConfigTime(_ db: Database, project: String, now: Int64) throws {
        try db.execute(sql: "UPDATE projects SET config_time = MAX(?, config_time + 1) WHERE id = ?", arguments: [now, project])
    }

    public func configTime(project: String) async throws -> Int64 {
        try await db.read { db in
            try Int64.fetchOne(db, sql: "SELECT config_time FROM projects WHERE id = ?", arguments: [project]) ?? 0
        }
    }

    public func customIDTypes(project: String) async throws -> [String] {
        try await db.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM custom_id_types WHERE project_id = ? ORDER BY name", arguments: [project])
        }
    }

    public func addCustomIDType(project: String, name: String, audit: AuditEntry) async throws {
        try await db.write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO custom_id_types (project_id, name, created_at) VALUES (?, ?, ?)",
                           arguments: [project, name, audit.time])
            guard db.changesCount > 0 else { throw StoreError.conflict("custom ID type '\(name)' already exists") }
            try Self.appendAudit(db, project: project, audit)
        }
    }

    public func removeCustomIDType(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM custom_id_types WHERE project_id = ? AND name = ?", arguments: [project, name])
            guard db.changesCount > 0 else { return false }
            try Self.appendAudit(db, project: project, audit)
            return true
        }
    }

    // MARK: - ID lists

    static func idListInfo(_ row: Row) -> IDListInfo {
        IDListInfo(
            name: row["name"], count: row["member_count"], fileSize: (row["line_count"] as Int) * 10,
            fileID: row["file_id"], creationTime: row["creation_time"], updatedAt: row["updated_at"])
    }

    public func createIDList(project: String, name: String, now: Int64, audit: AuditEntry) async throws -> IDListInfo {
        try await db.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM id_lists WHERE project_id = ? AND name = ?", arguments: [project, name]) == true {
                throw StoreError.conflict("an ID list named '\(name)' already exists")
            }
            let fileID = StatsigHash.randomToken(length: 24)
            try db.execute(
                sql: "INSERT INTO id_lists (project_id, name, file_id, creation_time, updated_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [project, name, fileID, now, now])
            try Self.appendAudit(db, project: project, audit)
            return IDListInfo(name: name, count: 0, fileSize: 0, fileID: fileID, creationTime: now, updatedAt: now)
        }
    }

    public func deleteIDList(project: String, name: String, audit: AuditEntry) async throws -> Bool {
        try await db.write { db in
            try db.execute(sql: "DELETE FROM id_lists WHERE project_id = ? AND name = ?", arguments: [project, name])
            guard db.changesCount > 0 else { return false }
            try db.execute(sql: "DELETE FROM id_list_members WHERE project_id = ? AND list = ?", arguments: [project, name])
            try db.execute(sql: "DELETE FROM id_list_log WHERE project_id = ? AND list = ?", arguments: [project, name])
            try Self.appendAudit(db, project: project, audit)
            return true
        }
    }

    public func idLists(project: String) async throws -> [IDListInfo] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM id_lists WHERE project_id = ? ORDER BY name", arguments: [project])
                .map(Self.idListInfo)
        }
    }

    public func idList(project: String, name: String) async throws -> IDListInfo? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM id_lists WHERE project_id = ? AND name = ?", arguments: [project, name])
                .map(Self.idListInfo)
        }
    }

    public func changeIDList(
        project: String, name: String, add: [String], remove: [String], source: String, now: Int64, audit: AuditEntry?
    ) async throws -> (added: Int, removed: Int) {
        try await db.write { db in
            let result = try Self.changeIDList(db, project: project, name: name, add: add, remove: remove, source: source, now: now)
            if let audit, result.added + result.removed > 0 { try Self.appendAudit(db, project: project, audit) }
            return result
        }
    }

    static func changeIDList(
        _ db: Database, project: String, name: String, add: [String], remove: [String], source: String, now: Int64
    ) throws -> (added: Int, removed: Int) {
        guard let row = try Row.fetchOne(db, sql: "SELECT file_id, line_count FROM id_lists WHERE project_id = ? AND name = ?",
                                         arguments: [project, name])
        else { throw StoreError.notFound("no ID list named '\(name)'") }
        let fileID: String = row["file_id"]
        var line: Int = row["line_count"]
        var added = 0
        var removed = 0
        func log(_ op: String, _ id: String, _ hashed: String) throws {
            try db.execute(
                sql: """
                    INSERT INTO id_list_log (project_id, list, file_id, line, op, hashed, unit_id, source, at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [project, name, fileID, line, op, hashed, id, source, now])
            line += 1
        }
        for id in add {
            let hashed = StatsigHash.idListEntry(id)
            try db.execute(
                sql: "INSERT OR IGNORE INTO id_list_members (project_id, list, unit_id, hashed, updated_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [project, name, id, hashed, now])
            if db.changesCount > 0 {
                added += 1
                try log("+", id, hashed)
            }
        }
        for id in remove {
            try db.execute(sql: "DELETE FROM id_list_members WHERE project_id = ? AND list = ? AND unit_id = ?",
                           arguments: [project, name, id])
            if db.changesCount > 0 {
                removed += 1
                try log("-", id, StatsigHash.idListEntry(id))
            }
        }
        try db.execute(
            sql: """
                UPDATE id_lists SET line_count = ?, updated_at = ?,
                    member_count = (SELECT COUNT(*) FROM id_list_members WHERE project_id = ? AND list = ?)
                WHERE project_id = ? AND name = ?
                """,
            arguments: [line, now, project, name, project, name])
        return (added, removed)
    }

    public func applyMembership(project: String, _ changes: [MembershipChange], source: String, now: Int64) async throws
        -> [MembershipOutcome]
    {
        try await db.write { db in
            try changes.map { c in
                if let time = try Int64.fetchOne(
                    db, sql: "SELECT event_time FROM audience_membership WHERE project_id = ? AND list = ? AND unit_id = ?",
                    arguments: [project, c.list, c.unitID]), time > c.time
                {
                    return .stale
                }
                try db.execute(
                    sql: """
                        INSERT INTO audience_membership (project_id, list, unit_id, member, event_time) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (project_id, list, unit_id) DO UPDATE SET member = excluded.member, event_time = excluded.event_time
                        """,
                    arguments: [project, c.list, c.unitID, c.member, c.time])
                let r = try Self.changeIDList(
                    db, project: project, name: c.list, add: c.member ? [c.unitID] : [], remove: c.member ? [] : [c.unitID],
                    source: source, now: now)
                return r.added > 0 ? .added : r.removed > 0 ? .removed : .unchanged
            }
        }
    }

    // MARK: - Settings and usage

    public func setting(project: String, name: String) async throws -> JSONValue? {
        try await db.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM settings WHERE project_id = ? AND name = ?", arguments: [project, name])
                .flatMap { try? JSONValue.parse($0) }
        }
    }

    public func putSetting(project: String, name: String, value: JSONValue, audit: AuditEntry) async throws {
        try await db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO settings (project_id, name, value, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (project_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """,
                arguments: [project, name, value.serialized(sortedKeys: true), audit.time])
            try Self.appendAudit(db, project: project, audit)
        }
    }

    public func projects() async throws -> [String] {
        try await db.read { db in try String.fetchAll(db, sql: "SELECT id FROM projects ORDER BY id") }
    }

    public func addUsage(project: String, _ counts: [UsageCount]) async throws {
        guard !counts.isEmpty else { return }
        try await db.write { db in
            for c in counts {
                try db.execute(
                    sql: """
                        INSERT INTO usage_counts (project_id, day, source, category, reason, count) VALUES (?, ?, ?, ?, ?, ?)
                        ON CONFLICT (project_id, day, source, category, reason) DO UPDATE SET count = count + excluded.count
                        """,
                    arguments: [project, c.day, c.source, c.category, c.reason, c.count])
            }
        }
    }

    public func usage(project: String, source: String, sinceDay: String) async throws -> [UsageCount] {
        try await db.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM usage_counts WHERE project_id = ? AND source = ? AND day >= ? ORDER BY day, category, reason",
                arguments: [project, source, sinceDay]
            ).map { UsageCount(day: $0["day"], source: $0["source"], category: $0["category"], reason: $0["reason"], count: $0["count"]) }
        }
    }

    public func recentIDListChanges(project: String, name: String, limit: Int) async throws -> [IDListChange] {
        try await db.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT unit_id, op, at, source FROM id_list_log WHERE project_id = ? AND list = ? ORDER BY at DESC, line DESC LIMIT ?",
                arguments: [project, name, limit]
            ).map { IDListChange(id: $0["unit_id"], op: $0["op"], time: $0["at"], source: $0["source"]) }
        }
    }

    public func idListFile(project: String, name: String, fileID: String, from offset: Int) async throws -> [UInt8]? {
        try await db.read { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM id_lists WHERE project_id = ? AND name = ? AND file_id = ?",
                                    arguments: [project, name, fileID]) == true
            else { return nil }
            let firstLine = max(0, offset) / 10
            var bytes: [UInt8] = []
            let rows = try Row.fetchCursor(
                db, sql: "SELECT op, hashed FROM id_list_log WHERE project_id = ? AND list = ? AND file_id = ? AND line >= ? ORDER BY line",
                arguments: [project, name, fileID, firstLine])
            while let row = try rows.next() {
                bytes.append(contentsOf: (row["op"] as String).utf8)
                bytes.append(contentsOf: (row["hashed"] as String).utf8)
                bytes.append(0x0A)
            }
            let skip = max(0, offset) - firstLine * 10
            return skip > 0 ? Array(bytes.dropFirst(skip)) : bytes
        }
    }

    public func idListFileOwner(fileID: String) async throws -> (project: String, name: String)? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT project_id, name FROM id_lists WHERE file_id = ?", arguments: [fileID])
                .map { ($0["project_id"], $0["name"]) }
        }
    }

    public func idListEntries(project: String) async throws -> [String: Set<String>] {
        try await db.read { db in
            var out: [String: Set<String>] = [:]
            for name in try String.fetchAll(db, sql: "SELECT name FROM id_lists WHERE project_id = ?", arguments: [project]) {
                out[name] = []
            }
            let rows = try Row.fetchCursor(db, sql: "SELECT list, hashed FROM id_list_members WHERE project_id = ?", arguments: [project])
            while let row = try rows.next() {
                out[row["list"], default: []].insert(row["hashed"])
            }
            return out
        }
    }

    // MARK: - Segment export

    public func events(project: String, afterID: Int64, limit: Int) async throws -> [EventRecord] {
        try await db.read { db in
            // `+project_id` keeps SQLite on the rowid range instead of an index scan and sort.
            Self.eventRecords(try Row.fetchAll(
                db, sql: "SELECT * FROM events WHERE +project_id = ? AND id > ? ORDER BY id LIMIT ?", arguments: [project, afterID, limit]))
        }
    }

    public func auditEntries(project: String, afterID: Int64, limit: Int) async throws -> [AuditEntry] {
        try await db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM audit_log WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?",
                             arguments: [project, afterID, limit]).map(Self.auditEntry)
        }
    }

    public func lastIDs(project: String) async throws -> (event: Int64, audit: Int64) {
        try await db.read { db in
            (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM events WHERE project_id = ?", arguments: [project]) ?? 0,
             try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM audit_log WHERE project_id = ?", arguments: [project]) ?? 0)
        }
    }

    public func countEvents(project: String, afterID: Int64) async throws -> Int {
        try await db.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE +project_id = ? AND id > ?", arguments: [project, afterID]) ?? 0
        }
    }

    public func outboundState(project: String) async throws -> OutboundState {
        try await db.read { db in
            var s = OutboundState()
            if let row = try Row.fetchOne(db, sql: "SELECT * FROM outbound_state WHERE project_id = ?", arguments: [project]) {
                s.eventCursor = row["event_cursor"]
                s.auditCursor = row["audit_cursor"]
                s.delivered = row["delivered"]
                s.requests = row["requests"]
                s.lastSuccess = row["last_success"]
                s.lastError = row["last_error"]
                s.lastErrorTime = row["last_error_time"]
            }
            return s
        }
    }

    public func saveOutbound(project: String, state: OutboundState, newDeadLetters: [DeadLetter], resolvedDeadLetters: [Int64]) async throws {
        try await db.write { db in
            try db.execute(
                sql: """
                    INSERT INTO outbound_state (project_id, event_cursor, audit_cursor, delivered, requests, last_success, last_error, last_error_time)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (project_id) DO UPDATE SET event_cursor = excluded.event_cursor, audit_cursor = excluded.audit_cursor,
                        delivered = excluded.delivered, requests = excluded.requests, last_success = excluded.last_success,
                        last_error = excluded.last_error, last_error_time = excluded.last_error_time
                    """,
                arguments: [project, state.eventCursor, state.auditCursor, state.delivered, state.requests, state.lastSuccess,
                            state.lastError, state.lastErrorTime])
            for d in newDeadLetters {
                try db.execute(
                    sql: "INSERT INTO dead_letters (project_id, message, reason, created_at, retry_requested) VALUES (?, ?, ?, ?, 0)",
                    arguments: [project, d.message.serialized(), d.reason, d.createdAt])
            }
            for id in resolvedDeadLetters {
                try db.execute(sql: "DELETE FROM dead_letters WHERE project_id = ? AND id = ?", arguments: [project, id])
            }
        }
    }

    public func deadLetters(project: String, retryRequestedOnly: Bool, limit: Int) async throws -> [DeadLetter] {
        try await db.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM dead_letters WHERE project_id = ?" + (retryRequestedOnly ? " AND retry_requested = 1" : "")
                    + " ORDER BY id LIMIT ?",
                arguments: [project, limit]
            ).map {
                DeadLetter(id: $0["id"], message: (try? JSONValue.parse($0["message"] as String)) ?? .null, reason: $0["reason"],
                           createdAt: $0["created_at"], retryRequested: $0["retry_requested"])
            }
        }
    }

    public func deadLetterCounts(project: String) async throws -> [String: Int] {
        try await db.read { db in
            var out: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT reason, COUNT(*) AS n FROM dead_letters WHERE project_id = ? GROUP BY reason",
                                        arguments: [project]) {
                out[row["reason"]] = row["n"]
            }
            return out
        }
    }

    public func requestDeadLetterRetry(project: String, ids: [Int64]?) async throws -> Int {
        try await db.write { db in
            if let ids {
                var n = 0
                for id in ids {
                    try db.execute(sql: "UPDATE dead_letters SET retry_requested = 1 WHERE project_id = ? AND id = ?", arguments: [project, id])
                    n += db.changesCount
                }
                return n
            }
            try db.execute(sql: "UPDATE dead_letters SET retry_requested = 1 WHERE project_id = ?", arguments: [project])
            return db.changesCount
        }
    }

    // MARK: - Audit log

    static func appendAudit(_ db: Database, project: String, _ a: AuditEntry) throws {
        try db.execute(
            sql: """
                INSERT INTO audit_log (project_id, at, actor, action, kind, name, environment, before_json, after_json, description)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [project, a.time, a.actor, a.action, a.kind, a.name, a.environment, a.before?.serialized(),
                        a.after?.serialized(), a.description])
    }

    public func auditLog(project: String, query: AuditQuery) async throws -> [AuditEntry] {
        try await db.read { db in
            var sql = "SELECT * FROM audit_log WHERE project_id = ?"
            var args: StatementArguments = [project]
            if let k = query.kind { sql += " AND kind = ?"; args += [k] }
            if let n = query.name { sql += " AND name = ?"; args += [n] }
            if let a = query.actor { sql += " AND actor = ?"; args += [a] }
            if let a = query.action { sql += " AND action = ?"; args += [a] }
            if let t = query.since { sql += " AND at >= ?"; args += [t] }
            if let t = query.until { sql += " AND at < ?"; args += [t] }
            if let b = query.beforeID { sql += " AND id < ?"; args += [b] }
            sql += " ORDER BY id DESC LIMIT ?"
            args += [max(1, min(query.limit, 1000))]
            return try Row.fetchAll(db, sql: sql, arguments: args).map(Self.auditEntry)
        }
    }

    static func auditEntry(_ row: Row) -> AuditEntry {
        var e = AuditEntry(
            time: row["at"], actor: row["actor"], action: row["action"], kind: row["kind"], name: row["name"],
            environment: row["environment"],
            before: (row["before_json"] as String?).flatMap { try? JSONValue.parse($0) },
            after: (row["after_json"] as String?).flatMap { try? JSONValue.parse($0) },
            description: row["description"])
        e.id = row["id"]
        return e
    }

    // MARK: - Events

    @discardableResult
    public func insertEvents(_ events: [EventRecord]) async throws -> [Int64?] {
        guard !events.isEmpty else { return [] }
        return try await db.write { db in
            // Values bound directly (SQLiteDirectWrite): GRDB's binding of these 19 arguments was
            // most of an insert's time on the writer, which every other request waits for.
            let statement = try SQLiteDirectWrite(db, sql: """
                INSERT INTO events (project_id, event_name, user_id, stable_id, custom_ids, user_json, environment,
                    value_num, value_text, metadata, secondary_exposures, time, received_at, source, sdk_type, raw, message_id,
                    is_exposure, is_reserved)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            // A key seen inside the window blocks the event; one seen before the window is refreshed.
            let dedupe = try SQLiteDirectWrite(db, sql: """
                INSERT INTO dedupe_keys (project_id, scope, message_id, first_seen) VALUES (?, ?, ?, ?)
                ON CONFLICT (project_id, scope, message_id) DO UPDATE SET first_seen = excluded.first_seen
                WHERE dedupe_keys.first_seen < ?
                """)
            var stored: [Int64?] = []
            stored.reserveCapacity(events.count)
            for e in events {
                if let key = e.dedupe {
                    try dedupe.execute(.text(e.project), .text(key.scope), .text(key.messageID), .int(e.receivedAt), .int(key.notBefore))
                    if db.changesCount == 0 {
                        stored.append(nil)
                        continue
                    }
                }
                let (num, text) = EventColumns.value(e)
                try statement.execute(
                    .text(EventColumns.text(e.project)), .text(EventColumns.text(e.eventName)), .text(e.userID.map(EventColumns.text)),
                    .text(e.stableID.map(EventColumns.text)), .text(EventColumns.customIDs(e)), .text(e.user.serialized()),
                    .text(e.environment.map(EventColumns.text)), num.map(SQLiteDirectWrite.Value.real) ?? .null,
                    .text(text.map(EventColumns.text)), .text(e.metadata?.serialized()), .text(e.secondaryExposures?.serialized()),
                    .int(e.time), .int(e.receivedAt), .text(e.source.rawValue), .text(e.sdkType.map(EventColumns.text)),
                    .text(e.raw?.serialized()), .text((e.dedupe?.messageID).map(EventColumns.text)),
                    .int(e.exposureKind != nil ? 1 : 0), .int(e.isReserved ? 1 : 0))
                stored.append(db.lastInsertedRowID)
            }
            return stored
        }
    }

    public func event(project: String, id: Int64) async throws -> EventRecord? {
        try await db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM events WHERE id = ? AND project_id = ?", arguments: [id, project]).map(Self.eventRecord)
        }
    }

    public func eventCountsBySource(project: String, since: Int64) async throws -> [String: (events: Int, exposures: Int)] {
        try await db.read { db in
            var out: [String: (events: Int, exposures: Int)] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT source, SUM(is_reserved = 0) AS events, SUM(is_exposure) AS exposures
                FROM events WHERE project_id = ? AND time >= ? GROUP BY source
                """, arguments: [project, since]) {
                out[row["source"]] = (row["events"] ?? 0, row["exposures"] ?? 0)
            }
            return out
        }
    }

    static func eventRecord(_ row: Row) -> EventRecord { eventRecord(row, EventRowColumns(row)) }

    /// Many rows of one query: the column positions are found once.
    static func eventRecords(_ rows: [Row]) -> [EventRecord] {
        guard let first = rows.first else { return [] }
        let c = EventRowColumns(first)
        return rows.map { eventRecord($0, c) }
    }

    static func eventRecord(_ row: Row, _ c: EventRowColumns) -> EventRecord {
        var value: JSONValue? = nil
        if let n = row[c.valueNum] as Double? { value = JSONValue.number(n) } else if let t = row[c.valueText] as String? { value = .string(t) }
        let customIDs = (row[c.customIDs] as String?).flatMap { try? JSONValue.parse($0).objectValue }?
            .compactMapValues(\.stringValue) ?? [:]
        var e = EventRecord(
            id: row[c.id], project: row[c.project], eventName: row[c.eventName],
            user: (try? JSONValue.parse(row[c.userJSON] as String)) ?? .object([:]), userID: row[c.userID],
            stableID: row[c.stableID], customIDs: customIDs, environment: row[c.environment], value: value,
            metadata: (row[c.metadata] as String?).flatMap { try? JSONValue.parse($0) },
            secondaryExposures: (row[c.secondaryExposures] as String?).flatMap { try? JSONValue.parse($0) },
            time: row[c.time], receivedAt: row[c.receivedAt], source: storedSource(row[c.source]), sdkType: row[c.sdkType])
        e.raw = (row[c.raw] as String?).flatMap { try? JSONValue.parse($0) }
        return e
    }

    /// Only Vane writes the column, with `EventSource` names; anything else (a hand-edited file) reads as an SDK event.
    static func storedSource(_ name: String) -> EventSource { EventSource(rawValue: name) ?? .sdk }

    public func events(project: String, query: EventQuery) async throws -> EventPage {
        try await db.read { db in
            var sql = "SELECT * FROM events WHERE project_id = ?"
            var args: StatementArguments = [project]
            if let n = query.eventName {
                switch query.eventNameMatch {
                case .exact: sql += " AND event_name = ?"; args += [n]
                case .prefix: sql += " AND substr(event_name, 1, length(?)) = ?"; args += [n, n]
                case .contains: sql += " AND instr(event_name, ?) > 0"; args += [n]
                }
            }
            if let u = query.userID { sql += " AND user_id = ?"; args += [u] }
            if let s = query.source { sql += " AND source = ?"; args += [s] }
            if let s = query.since { sql += " AND time >= ?"; args += [s] }
            if let u = query.until { sql += " AND time < ?"; args += [u] }
            if let c = query.cursor { sql += " AND (time < ? OR (time = ? AND id < ?))"; args += [c.time, c.time, c.id] }
            let limit = max(1, min(query.limit, 1000))
            sql += " ORDER BY time DESC, id DESC LIMIT ?"
            args += [limit + 1]
            var records = Self.eventRecords(try Row.fetchAll(db, sql: sql, arguments: args))
            var next: EventCursor? = nil
            if records.count > limit {
                records.removeLast()
                let last = records[records.count - 1]
                next = EventCursor(time: last.time, id: last.id ?? 0)
            }
            return EventPage(events: records, nextCursor: next)
        }
    }

    public func eventCount(project: String) async throws -> Int {
        try await db.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events WHERE project_id = ?", arguments: [project]) ?? 0
        }
    }
}
