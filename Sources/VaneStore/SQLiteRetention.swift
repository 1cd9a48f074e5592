import GRDB

extension SQLiteStore {
    /// One retention batch. The cursors are read in the same write transaction as the delete, and
    /// SQLite has one writer, so no cursor can move back (a Pulse rebuild resets its cursor to 0)
    /// between reading it and deleting below it. Ids are AUTOINCREMENT: never reused, so a cursor
    /// stays meaningful after the rows it passed are gone.
    public func pruneEvents(project: String, before cutoff: Int64, holdForSegmentExport: Bool, limit: Int) async throws -> Int {
        try await db.write { db in
            // No rollup state yet means the rollup has read nothing: every event is still needed.
            var floor = try Int64.fetchOne(db, sql: "SELECT cursor FROM pulse_state WHERE project_id = ?", arguments: [project]) ?? 0
            if holdForSegmentExport {
                let exported = try Int64.fetchOne(
                    db, sql: "SELECT event_cursor FROM outbound_state WHERE project_id = ?", arguments: [project]) ?? 0
                floor = min(floor, exported)
            }
            guard floor > 0, limit > 0 else { return 0 }
            // The subquery walks the (project_id, time, id) index only.
            try db.execute(
                sql: """
                    DELETE FROM events WHERE id IN (
                        SELECT id FROM events WHERE project_id = ? AND time < ? AND id <= ? LIMIT ?)
                    """,
                arguments: [project, cutoff, floor, limit])
            return db.changesCount
        }
    }
}
