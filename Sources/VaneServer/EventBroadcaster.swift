import Synchronization
import VaneCore
import VaneStore

/// How many live streams the server serves, and how far behind one may fall.
public struct LiveStreamLimits: Sendable {
    /// Streams open at once across the server.
    public var total = 64
    /// Streams open at once for one session or key.
    public var perOwner = 4
    /// Batches a subscriber may have waiting; past that it is disconnected.
    public var bufferedBatches = 256

    public init() {}
}

/// Fans committed events out to live-stream subscribers. Each committed batch is turned into
/// Server-Sent-Event frames once, whatever the number of subscribers; each subscriber has a
/// bounded buffer, and one that falls behind is disconnected instead of slowing ingest or the
/// other subscribers down.
final class EventBroadcaster: Sendable {
    /// One event as the stream sends it, with what the subscribers filter on.
    struct Frame: Sendable {
        let project: String
        let eventName: String
        let source: String
        let bytes: [UInt8]
    }

    enum Item: Sendable {
        case frames([Frame])
        case heartbeat
    }

    enum SubscribeError: Error, Equatable {
        case tooManyStreams(limit: Int)
        case tooManyStreamsForOwner(limit: Int)
    }

    struct Subscription: Sendable {
        let id: Int
        let stream: AsyncStream<Item>
        /// Whether the stream ended because the subscriber fell behind.
        let fellBehind: @Sendable () -> Bool
    }

    private struct Subscriber {
        let owner: String
        let continuation: AsyncStream<Item>.Continuation
    }

    private struct State {
        var subscribers: [Int: Subscriber] = [:]
        var fellBehind: Set<Int> = []
        var nextID = 0
        /// Where the event log tail (on a shared store) must start following a project.
        var tailStarts: [String: Int64] = [:]
    }

    let limits: LiveStreamLimits
    private let state = Mutex(State())

    init(limits: LiveStreamLimits = LiveStreamLimits()) { self.limits = limits }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Hands the stored events (those with an id) to every subscriber; with none, it costs a lock.
    func publish(_ events: [EventRecord], _ ids: [Int64?]) {
        let targets = state.withLock { s in s.subscribers.map { ($0.key, $0.value.continuation) } }
        guard !targets.isEmpty else { return }
        let frames = zip(events, ids).compactMap { e, id -> Frame? in
            guard let id else { return nil }
            var e = e
            e.id = id
            return Self.frame(e)
        }
        guard !frames.isEmpty else { return }
        for (id, continuation) in targets {
            if case .dropped = continuation.yield(.frames(frames)) { disconnectLagging(id) }
        }
    }

    static func frame(_ e: EventRecord) -> Frame {
        var out = Array("id: \(e.id ?? 0)\nevent: event\ndata: ".utf8)
        eventJSON(e, includeRaw: true).write(into: &out)
        out += Array("\n\n".utf8)
        return Frame(project: e.project, eventName: e.eventName, source: e.source.rawValue, bytes: out)
    }

    /// A stream of committed events for `owner` (a session or key), with a heartbeat every
    /// `heartbeat` so a closed connection is noticed even when nothing is happening.
    func subscribe(owner: String, heartbeat: Duration = .seconds(10)) throws(SubscribeError) -> Subscription {
        let (stream, continuation) = AsyncStream<Item>.makeStream(bufferingPolicy: .bufferingOldest(limits.bufferedBatches))
        let limits = self.limits
        let id = try state.withLock { s throws(SubscribeError) -> Int in
            guard s.subscribers.count < limits.total else { throw .tooManyStreams(limit: limits.total) }
            guard s.subscribers.values.count(where: { $0.owner == owner }) < limits.perOwner else {
                throw .tooManyStreamsForOwner(limit: limits.perOwner)
            }
            s.nextID += 1
            s.subscribers[s.nextID] = Subscriber(owner: owner, continuation: continuation)
            return s.nextID
        }
        let beat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: heartbeat)
                if case .dropped = continuation.yield(.heartbeat) { self.disconnectLagging(id) }
            }
        }
        continuation.onTermination = { [weak self] _ in
            beat.cancel()
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return Subscription(id: id, stream: stream, fellBehind: { [weak self] in
            self?.state.withLock { $0.fellBehind.contains(id) } ?? false
        })
    }

    /// On a shared store the stream is fed by `EventLogTail`: a new subscriber, once subscribed, asks it
    /// to follow its project from the log position it read then, so nothing committed after is missed.
    func followLog(project: String, from position: Int64) {
        state.withLock { s in s.tailStarts[project] = min(s.tailStarts[project] ?? position, position) }
    }

    /// The positions asked for since the last call.
    func takeLogStarts() -> [String: Int64] {
        state.withLock { s in
            defer { s.tailStarts = [:] }
            return s.tailStarts
        }
    }

    /// Ends one subscriber's stream.
    func end(_ id: Int) {
        state.withLock { s in
            s.fellBehind.remove(id)
            return s.subscribers.removeValue(forKey: id)
        }?.continuation.finish()
    }

    private func disconnectLagging(_ id: Int) {
        state.withLock { s in
            guard let sub = s.subscribers.removeValue(forKey: id) else { return nil as Subscriber? }
            // Remember the reason only while few are kept, so a churn of slow readers cannot grow the set.
            if s.fellBehind.count < 10_000 { s.fellBehind.insert(id) }
            return sub
        }?.continuation.finish()
    }

    /// Forgets why a finished stream ended.
    func forget(_ id: Int) { _ = state.withLock { $0.fellBehind.remove(id) } }
}
