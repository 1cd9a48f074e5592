import ServiceLifecycle
import Synchronization
import VaneStore

/// Fans committed events out to live-stream subscribers. Slow subscribers lose the oldest
/// buffered batches rather than slowing ingest down.
final class EventBroadcaster: Service, Sendable {
    enum Item: Sendable {
        case events([EventRecord])
        case heartbeat
    }

    private let subscribers = Mutex<[Int: AsyncStream<Item>.Continuation]>([:])
    private let nextID = Mutex(0)

    func publish(_ events: [EventRecord]) {
        guard !events.isEmpty else { return }
        let targets = subscribers.withLock { Array($0.values) }
        for c in targets { c.yield(.events(events)) }
    }

    /// A stream of committed events, with a heartbeat every `heartbeatSeconds` so a closed
    /// connection is noticed even when nothing is happening.
    func subscribe(heartbeatSeconds: Int = 10) -> (id: Int, stream: AsyncStream<Item>) {
        let id = nextID.withLock { n in
            n += 1
            return n
        }
        let (stream, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingNewest(1000))
        subscribers.withLock { $0[id] = continuation }
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(heartbeatSeconds))
                continuation.yield(.heartbeat)
            }
        }
        continuation.onTermination = { [weak self] _ in
            beat.cancel()
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return (id, stream)
    }

    /// Ends one subscriber's stream.
    func end(_ id: Int) {
        subscribers.withLock { $0.removeValue(forKey: id) }?.finish()
    }

    var subscriberCount: Int { subscribers.withLock { $0.count } }

    /// Ends every live stream when the server shuts down, so open connections do not hold it up.
    func run() async throws {
        try? await gracefulShutdown()
        let all = subscribers.withLock { s in
            let list = Array(s.values)
            s.removeAll()
            return list
        }
        for c in all { c.finish() }
    }
}
