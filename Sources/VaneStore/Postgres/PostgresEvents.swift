import PostgresNIO
import VaneCore

extension PostgresStore /* EventLog */ {
    /// Rows per multi-row INSERT: 19 parameters each, far below PostgreSQL's 65,535.
    static let eventInsertChunk = 500

    static let eventColumns = """
        project_id, event_name, user_id, stable_id, custom_ids, user_json, environment, value_num, value_text, metadata,
        secondary_exposures, time, received_at, source, sdk_type, raw, message_id, is_exposure, is_reserved
        """

    /// One transaction per batch. It takes the event-log append lock before anything else (before
    /// the dedupe keys too, so two batches never wait on each other's keys while holding it), and
    /// holds it until commit: ids are handed out in commit order, so a reader's `id > cursor` never
    /// passes an id whose event is not committed yet (docs/event-log.md).
    @discardableResult
    public func insertEvents(_ events: [EventRecord]) async throws -> [Int64?] {
        guard !events.isEmpty else { return [] }
        return try await db.write { c in
            try await c.execute("SELECT pg_advisory_xact_lock(?)", [Self.eventLogLock])
            let keep = try await Self.passDedupe(events, c)
            var stored = [Int64?](repeating: nil, count: events.count)
            var start = 0
            while start < keep.count {
                let chunk = keep[start..<min(start + Self.eventInsertChunk, keep.count)]
                start += chunk.count
                let ids = try await c.fetchAll(Self.insertEventRows, Self.eventColumnArrays(chunk.map { events[$0] }))
                    .map { try $0.get("id", as: Int64.self) }.sorted()
                guard ids.count == chunk.count else {
                    throw StoreError.invalid("inserted \(chunk.count) events but got \(ids.count) ids back")
                }
                // Rows are inserted in array order (ORDER BY the ordinality), so the ascending ids are the rows'.
                for (i, id) in zip(chunk, ids) { stored[i] = id }
            }
            return stored
        }
    }

    struct DedupeIdentity: Hashable {
        let project: String, scope: String, messageID: String
    }

    /// The events to store: a key seen inside its window blocks the event; one seen before the window
    /// is refreshed. Two statements for the whole batch (one read, one upsert), not one per event:
    /// only appends write `dedupe_keys`, and they hold the event-log lock, so nothing changes the
    /// keys between the read and the write. A key repeated within the batch keeps its first event.
    static func passDedupe(_ events: [EventRecord], _ c: PGConnection) async throws -> [Int] {
        var candidates: [DedupeIdentity: (index: Int, notBefore: Int64)] = [:]
        var keep: [Int] = []
        keep.reserveCapacity(events.count)
        var blockedInBatch = Set<Int>()
        for (i, e) in events.enumerated() {
            guard let key = e.dedupe else { continue }
            let id = DedupeIdentity(
                project: EventColumns.text(e.project), scope: EventColumns.text(key.scope), messageID: EventColumns.text(key.messageID))
            if candidates[id] != nil { blockedInBatch.insert(i) } else { candidates[id] = (i, key.notBefore) }
        }
        var seen: [DedupeIdentity: Int64] = [:]
        if !candidates.isEmpty {
            let ids = Array(candidates.keys)
            for row in try await c.fetchAll(
                """
                SELECT d.project_id, d.scope, d.message_id, d.first_seen FROM dedupe_keys d
                JOIN unnest(?::text[], ?::text[], ?::text[]) AS k(project_id, scope, message_id)
                  ON d.project_id = k.project_id AND d.scope = k.scope AND d.message_id = k.message_id
                """, [ids.map(\.project), ids.map(\.scope), ids.map(\.messageID)])
            {
                let id = DedupeIdentity(
                    project: try row.get("project_id"), scope: try row.get("scope"), messageID: try row.get("message_id"))
                seen[id] = try row.get("first_seen", as: Int64.self)
            }
        }
        var fresh: [(DedupeIdentity, Int64)] = []
        for (i, e) in events.enumerated() {
            guard let key = e.dedupe else { keep.append(i); continue }
            if blockedInBatch.contains(i) { continue }
            let id = DedupeIdentity(
                project: EventColumns.text(e.project), scope: EventColumns.text(key.scope), messageID: EventColumns.text(key.messageID))
            if let first = seen[id], first >= key.notBefore { continue }
            fresh.append((id, e.receivedAt))
            keep.append(i)
        }
        if !fresh.isEmpty {
            try await c.execute(
                """
                INSERT INTO dedupe_keys (project_id, scope, message_id, first_seen)
                SELECT p, s, m, f::bigint FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) AS k(p, s, m, f)
                ON CONFLICT (project_id, scope, message_id) DO UPDATE SET first_seen = excluded.first_seen
                """, [fresh.map(\.0.project), fresh.map(\.0.scope), fresh.map(\.0.messageID), fresh.map { String($0.1) }])
        }
        return keep
    }

    /// One parameter per column (`PGColumn`), rows in order.
    static let insertEventRows = """
        INSERT INTO events (\(eventColumns))
        SELECT \(eventColumns) FROM unnest(
            ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::float8[], ?::text[], ?::text[],
            ?::text[], ?::int8[], ?::int8[], ?::text[], ?::text[], ?::text[], ?::text[], ?::bool[], ?::bool[]
        ) WITH ORDINALITY AS r(\(eventColumns), n)
        ORDER BY n
        RETURNING id
        """

    /// Text columns need no mapping here: `PGColumn` writes U+0000 as U+FFFD, like every text bind.
    static func eventColumnArrays(_ events: [EventRecord]) -> [any PGBindable] {
        let values = events.map(EventColumns.value)
        return [
            PGColumn(events.map(\.project)), PGColumn(events.map(\.eventName)),
            PGColumn(events.map(\.userID)), PGColumn(events.map(\.stableID)),
            PGColumn(events.map(EventColumns.customIDs)), PGColumn(events.map { $0.user.serialized() }),
            PGColumn(events.map(\.environment)), PGColumn(values.map(\.0)), PGColumn(values.map(\.1)),
            PGColumn(events.map { $0.metadata?.serialized() }), PGColumn(events.map { $0.secondaryExposures?.serialized() }),
            PGColumn(events.map(\.time)), PGColumn(events.map(\.receivedAt)), PGColumn(events.map(\.source.rawValue)),
            PGColumn(events.map(\.sdkType)), PGColumn(events.map { $0.raw?.serialized() }),
            PGColumn(events.map { $0.dedupe?.messageID }), PGColumn(events.map { $0.exposureKind != nil }),
            PGColumn(events.map(\.isReserved)),
        ]
    }

    /// An events row (`SELECT *`) as a record, as `SQLiteStore.eventRecord` reads one.
    static func eventFromRow(_ row: PGRow) throws -> EventRecord {
        var value: JSONValue? = nil
        if let n = try row.get("value_num", as: Double?.self) {
            value = JSONValue.number(n)
        } else if let t = try row.get("value_text", as: String?.self) {
            value = .string(t)
        }
        let customIDs = try row.get("custom_ids", as: String?.self).flatMap { try? JSONValue.parse($0).objectValue }?
            .compactMapValues(\.stringValue) ?? [:]
        var e = EventRecord(
            id: try row.get("id", as: Int64.self), project: try row.get("project_id", as: String.self),
            eventName: try row.get("event_name", as: String.self),
            user: (try? JSONValue.parse(try row.get("user_json", as: String.self))) ?? .object([:]),
            userID: try row.get("user_id", as: String?.self), stableID: try row.get("stable_id", as: String?.self),
            customIDs: customIDs, environment: try row.get("environment", as: String?.self), value: value,
            metadata: Self.json(try row.get("metadata", as: String?.self)),
            secondaryExposures: Self.json(try row.get("secondary_exposures", as: String?.self)),
            time: try row.get("time", as: Int64.self), receivedAt: try row.get("received_at", as: Int64.self),
            source: EventSource(rawValue: try row.get("source", as: String.self)) ?? .sdk,
            sdkType: try row.get("sdk_type", as: String?.self))
        e.raw = Self.json(try row.get("raw", as: String?.self))
        return e
    }

    public func events(project: String, query: EventQuery) async throws -> EventPage {
        try await db.read { c in
            var sql = "SELECT * FROM events WHERE project_id = ?"
            var args: [any PGBindable] = [project]
            if let n = query.eventName {
                switch query.eventNameMatch {
                case .exact: sql += " AND event_name = ?"; args.append(n)
                case .prefix: sql += " AND left(event_name, char_length(?)) = ?"; args += [n, n]
                case .contains: sql += " AND strpos(event_name, ?) > 0"; args.append(n)
                }
            }
            if let u = query.userID { sql += " AND user_id = ?"; args.append(u) }
            if let s = query.source { sql += " AND source = ?"; args.append(s) }
            if let s = query.since { sql += " AND time >= ?"; args.append(s) }
            if let u = query.until { sql += " AND time < ?"; args.append(u) }
            if let cur = query.cursor { sql += " AND (time < ? OR (time = ? AND id < ?))"; args += [cur.time, cur.time, cur.id] }
            let limit = max(1, min(query.limit, 1000))
            sql += " ORDER BY time DESC, id DESC LIMIT ?"
            args.append(limit + 1)
            var records = try await c.fetchAll(sql, args).map(Self.eventFromRow)
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
        try await db.read { c in
            try await c.fetchValue("SELECT COUNT(*) FROM events WHERE project_id = ?", [project], as: Int.self) ?? 0
        }
    }

    public func event(project: String, id: Int64) async throws -> EventRecord? {
        try await db.read { c in
            try await c.fetchOne("SELECT * FROM events WHERE id = ? AND project_id = ?", [id, project]).map(Self.eventFromRow)
        }
    }

    public func eventCountsBySource(project: String, since: Int64) async throws -> [String: (events: Int, exposures: Int)] {
        try await db.read { c in
            var out: [String: (events: Int, exposures: Int)] = [:]
            for row in try await c.fetchAll(
                """
                SELECT source, SUM((NOT is_reserved)::int)::bigint AS events, SUM(is_exposure::int)::bigint AS exposures
                FROM events WHERE project_id = ? AND time >= ? GROUP BY source
                """, [project, since])
            {
                out[try row.get("source", as: String.self)] =
                    (try row.get("events", as: Int?.self) ?? 0, try row.get("exposures", as: Int?.self) ?? 0)
            }
            return out
        }
    }

    public func events(project: String, afterID: Int64, limit: Int) async throws -> [EventRecord] {
        try await db.read { c in
            try await c.fetchAll("SELECT * FROM events WHERE project_id = ? AND id > ? ORDER BY id LIMIT ?", [project, afterID, limit])
                .map(Self.eventFromRow)
        }
    }

    public func countEvents(project: String, afterID: Int64) async throws -> Int {
        try await db.read { c in
            try await c.fetchValue("SELECT COUNT(*) FROM events WHERE project_id = ? AND id > ?", [project, afterID], as: Int.self) ?? 0
        }
    }

    /// One retention batch. The cursors are read with `FOR SHARE` in the delete's transaction: a
    /// cursor cannot move back (a Pulse rebuild resets its cursor to 0) between reading it and
    /// deleting below it, as SQLite's single writer guarantees there. Ids come from a sequence:
    /// never reused, so a cursor stays meaningful after the rows it passed are gone.
    public func pruneEvents(project: String, before cutoff: Int64, holdForSegmentExport: Bool, limit: Int) async throws -> Int {
        try await db.write { c in
            // No rollup state yet means the rollup has read nothing: every event is still needed.
            var floor = try await c.fetchValue(
                "SELECT cursor FROM pulse_state WHERE project_id = ? FOR SHARE", [project], as: Int64.self) ?? 0
            if holdForSegmentExport {
                let exported = try await c.fetchValue(
                    "SELECT event_cursor FROM outbound_state WHERE project_id = ? FOR SHARE", [project], as: Int64.self) ?? 0
                floor = min(floor, exported)
            }
            guard floor > 0, limit > 0 else { return 0 }
            return try await c.fetchValue(
                """
                WITH gone AS (
                    DELETE FROM events WHERE id IN (
                        SELECT id FROM events WHERE project_id = ? AND time < ? AND id <= ? LIMIT ?)
                    RETURNING 1)
                SELECT COUNT(*) FROM gone
                """,
                [project, cutoff, floor, limit], as: Int.self) ?? 0
        }
    }

}
