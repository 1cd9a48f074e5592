import Synchronization
import VaneCore

/// Coalesces concurrent event writes into shared transactions. A caller's `write` returns only
/// after the transaction holding its events has committed, so acknowledging then is safe; while one
/// transaction is being written, everything that arrives queues for the next one.
public final class GroupCommitWriter: Sendable {
    private struct Pending {
        var events: [EventRecord]
        var continuation: CheckedContinuation<[Bool], any Error>
    }

    private struct State {
        var queue: [Pending] = []
        var writing = false
    }

    private let store: any VaneStore
    private let state = Mutex(State())
    /// Caps one transaction so a flood cannot build an unbounded one.
    private let maxEventsPerCommit: Int
    /// Called after each commit with its events and their ids (nil: a duplicate, not stored), for
    /// the live stream and metrics. It runs on the ingest path, so it should do little.
    private let onCommit: @Sendable ([EventRecord], [Int64?]) -> Void

    public init(
        store: any VaneStore, maxEventsPerCommit: Int = 20_000,
        onCommit: @escaping @Sendable ([EventRecord], [Int64?]) -> Void = { _, _ in }
    ) {
        self.store = store
        self.maxEventsPerCommit = maxEventsPerCommit
        self.onCommit = onCommit
    }

    /// Returns, per event, whether it was stored (false: a duplicate under its dedupe key).
    @discardableResult
    public func write(_ events: [EventRecord]) async throws -> [Bool] {
        guard !events.isEmpty else { return [] }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Bool], any Error>) in
            let startWriter = state.withLock { s -> Bool in
                s.queue.append(Pending(events: events, continuation: continuation))
                if s.writing { return false }
                s.writing = true
                return true
            }
            if startWriter {
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while true {
            let batch: [Pending] = state.withLock { s in
                guard !s.queue.isEmpty else {
                    s.writing = false
                    return []
                }
                var taken: [Pending] = []
                var count = 0
                while let first = s.queue.first, taken.isEmpty || count + first.events.count <= maxEventsPerCommit {
                    taken.append(s.queue.removeFirst())
                    count += first.events.count
                }
                return taken
            }
            if batch.isEmpty { return }
            let events = batch.flatMap(\.events)
            do {
                let ids = try await store.insertEvents(events)
                onCommit(events, ids)
                var offset = 0
                for p in batch {
                    p.continuation.resume(returning: ids[offset..<(offset + p.events.count)].map { $0 != nil })
                    offset += p.events.count
                }
            } catch {
                for p in batch { p.continuation.resume(throwing: error) }
            }
        }
    }
}
