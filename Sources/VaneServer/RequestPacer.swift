import Synchronization

/// Spaces the requests made with one key so that at most `perSecond` start in any second,
/// however many tasks send at once: each request reserves the next free start time, one
/// `1/perSecond` after the previous reservation, and waits for it.
final class RequestPacer: Sendable {
    private let next = Mutex<[String: ContinuousClock.Instant]>([:])

    /// Reserves the next start time for `key` and returns how long to wait for it.
    func reserve(_ key: String, perSecond: Int, now: ContinuousClock.Instant = .now) -> Duration {
        let interval = Duration.seconds(1) / max(1, perSecond)
        return next.withLock { reserved in
            let start = max(now, reserved[key] ?? now)
            reserved[key] = start + interval
            return start - now
        }
    }

    /// Waits for this request's turn.
    func pace(_ key: String, perSecond: Int) async throws {
        let wait = reserve(key, perSecond: perSecond)
        if wait > .zero { try await Task.sleep(for: wait) }
    }
}
