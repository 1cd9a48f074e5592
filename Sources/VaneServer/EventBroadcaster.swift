import Synchronization
import VaneStore

/// Fans committed events out to live-stream subscribers. Slow subscribers lose the oldest
/// buffered batches rather than slowing ingest down.
final class EventBroadcaster: Sendable {
    enum Item: Sendable {
        case events([EventRecord])
        case heartbeat
    }

    private struct State {
        var subscribers: [Int: AsyncStream<Item>.Continuation] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// Hands the stored events (those with an id) to every subscriber; with none, it costs a lock.
    func publish(_ events: [EventRecord], _ ids: [Int64?]) {
        let targets = state.withLock { Array($0.subscribers.values) }
        guard !targets.isEmpty else { return }
        let stored = zip(events, ids).compactMap { e, id -> EventRecord? in
            guard let id else { return nil }
            var e = e
            e.id = id
            return e
        }
        guard !stored.isEmpty else { return }
        for c in targets { c.yield(.events(stored)) }
    }

    /// A stream of committed events, with a heartbeat every `heartbeatSeconds` so a closed
    /// connection is noticed even when nothing is happening.
    func subscribe(heartbeatSeconds: Int = 10) -> (id: Int, stream: AsyncStream<Item>) {
        let (stream, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        let id = state.withLock { s in
            s.nextID += 1
            s.subscribers[s.nextID] = continuation
            return s.nextID
        }
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(heartbeatSeconds))
                continuation.yield(.heartbeat)
            }
        }
        continuation.onTermination = { [weak self] _ in
            beat.cancel()
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return (id, stream)
    }

    /// Ends one subscriber's stream.
    func end(_ id: Int) {
        state.withLock { $0.subscribers.removeValue(forKey: id) }?.finish()
    }
}
