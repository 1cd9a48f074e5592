/// The lease statement both databases share: take the row when it is free, expired, or ours.
/// `acquired_at` changes only when the holder changes, so it tells when this holder took over.
enum JobLeaseSQL {
    static let acquire = """
        INSERT INTO job_leases (job, holder, expires_at, acquired_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (job) DO UPDATE SET
            acquired_at = CASE WHEN job_leases.holder = excluded.holder THEN job_leases.acquired_at ELSE excluded.acquired_at END,
            holder = excluded.holder, expires_at = excluded.expires_at
        WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= excluded.acquired_at
        RETURNING holder
        """
    static let release = "UPDATE job_leases SET expires_at = 0 WHERE job = ? AND holder = ?"
}
