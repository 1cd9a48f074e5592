import PostgresNIO

extension PostgresStore {
    public func acquireLease(job: String, holder: String, now: Int64, ttl: Int64) async throws -> Bool {
        try await db.write { c in
            let (expires, overflow) = now.addingReportingOverflow(ttl)
            let winner = try await c.fetchValue(JobLeaseSQL.acquire, [job, holder, overflow ? Int64.max : expires, now], as: String.self)
            return winner == holder
        }
    }

    public func releaseLease(job: String, holder: String) async throws {
        try await db.write { c in try await c.execute(JobLeaseSQL.release, [job, holder]) }
    }
}

extension PostgresStore {
    public func changeVersion() async throws -> Int64 {
        try await db.read { c in try await c.fetchValue("SELECT version FROM change_version WHERE id = 1", as: Int64.self) ?? 0 }
    }

    /// Holds one pooled connection for as long as it listens; ends when that connection closes.
    public func listenForChanges(_ onChange: @escaping @Sendable () -> Void) async throws {
        try await db.client.withConnection { connection in
            try await db.watch.guarded(connection) {
                try await connection.listen(on: PostgresMigrations.changeChannel) { notifications in
                    for try await _ in notifications { onChange() }
                }
            }
        }
    }
}
