import GRDB

extension SQLiteStore {
    public func acquireLease(job: String, holder: String, now: Int64, ttl: Int64) async throws -> Bool {
        try await db.write { db in
            let (expires, overflow) = now.addingReportingOverflow(ttl)
            let winner = try String.fetchOne(
                db, sql: JobLeaseSQL.acquire, arguments: [job, holder, overflow ? Int64.max : expires, now])
            return winner == holder
        }
    }

    public func releaseLease(job: String, holder: String) async throws {
        try await db.write { db in try db.execute(sql: JobLeaseSQL.release, arguments: [job, holder]) }
    }
}

extension SQLiteStore {
    public func changeVersion() async throws -> Int64 {
        try await db.read { db in try Int64.fetchOne(db, sql: "SELECT version FROM change_version WHERE id = 1") ?? 0 }
    }
}
