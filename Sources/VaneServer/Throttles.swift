import Synchronization

/// The server's defences against guessing and flooding, shared by every route.
final class AbuseControls: Sendable {
    /// Wrong passwords for one account.
    let signInByAccount = FailureThrottle(.init(freeFailures: 5))
    /// Wrong passwords from one address, whatever the account.
    let signInByAddress = FailureThrottle(.init(freeFailures: 20))
    /// Unknown API keys from one address.
    let wrongKeysByAddress = FailureThrottle(.init(freeFailures: 100))
    /// Requests per key on SDK and ingest endpoints, when configured.
    let perKey: KeyRateLimiter?

    init(requestsPerSecondPerKey: Double? = nil) {
        perKey = requestsPerSecondPerKey.map { KeyRateLimiter(rate: $0) }
    }
}

/// Counts failures (wrong passwords, wrong keys) per subject, an account or an address. After
/// `freeFailures` within `windowMs`, the subject is locked out for a time that doubles with each
/// further failure, up to `maxLockMs`. A success clears the subject.
final class FailureThrottle: Sendable {
    struct Policy: Sendable {
        var freeFailures: Int
        var windowMs: Int64 = 15 * 60_000
        /// The first lockout; each further failure doubles it.
        var firstLockMs: Int64 = 30_000
        var maxLockMs: Int64 = 15 * 60_000
    }

    private struct Entry {
        var failures = 0
        var since: Int64
        var lockedUntil: Int64 = 0
    }

    let policy: Policy
    private let entries = Mutex<[String: Entry]>([:])
    /// Subjects remembered at most; past it, expired entries go first, then everything.
    private let capacity = 100_000

    init(_ policy: Policy) { self.policy = policy }

    /// Milliseconds the subject must still wait, or nil when it may try now.
    func wait(_ subject: String, now: Int64) -> Int64? {
        entries.withLock { e in
            guard let entry = e[subject], entry.lockedUntil > now else { return nil }
            return entry.lockedUntil - now
        }
    }

    func recordFailure(_ subject: String, now: Int64) {
        let policy = self.policy
        entries.withLock { e in
            if e.count >= capacity { Self.prune(&e, now: now, window: policy.windowMs) }
            var entry = e[subject] ?? Entry(since: now)
            if now - entry.since > policy.windowMs, entry.lockedUntil <= now { entry = Entry(since: now) }
            entry.failures += 1
            let over = entry.failures - policy.freeFailures
            if over > 0 {
                let lock = over >= 16 ? policy.maxLockMs : min(policy.maxLockMs, policy.firstLockMs << Int64(over - 1))
                entry.lockedUntil = now + lock
            }
            e[subject] = entry
        }
    }

    func recordSuccess(_ subject: String) {
        _ = entries.withLock { $0.removeValue(forKey: subject) }
    }

    private static func prune(_ e: inout [String: Entry], now: Int64, window: Int64) {
        e = e.filter { $0.value.lockedUntil > now || now - $0.value.since <= window }
        if e.count >= 100_000 { e.removeAll() }
    }
}

/// Seconds for a `Retry-After` header: whole seconds, at least one.
func retryAfterSeconds(_ waitMs: Int64) -> Int { Int(min(waitMs, 86_400_000) / 1000) + 1 }

/// A token bucket per key: `rate` requests a second on average, bursts up to `burst`.
final class KeyRateLimiter: Sendable {
    let rate: Double
    let burst: Double
    private struct Bucket {
        var tokens: Double
        var at: Int64
    }
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Double, burst: Double? = nil) {
        self.rate = max(rate, 0.001)
        self.burst = max(1, burst ?? rate * 2)
    }

    /// Takes one token; nil when the request may go on, or the milliseconds until a token is there.
    func take(_ key: String, now: Int64) -> Int64? {
        let (rate, burst) = (self.rate, self.burst)
        return buckets.withLock { b in
            if b.count > 100_000 { b.removeAll() }
            var bucket = b[key] ?? Bucket(tokens: burst, at: now)
            let elapsed = Double(max(0, now - bucket.at)) / 1000
            bucket.tokens = min(burst, bucket.tokens + elapsed * rate)
            bucket.at = now
            defer { b[key] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return Int64(((1 - bucket.tokens) / rate * 1000).rounded(.up))
        }
    }
}
