import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import VaneCore
import VaneStore

/// This process among the nodes sharing a store: a name that is unique per process, for leases.
public struct NodeIdentity: Sendable, CustomStringConvertible {
    public let id: String

    public init() {
        let host = ProcessInfo.processInfo.hostName
        id = "\(host)/\(ProcessInfo.processInfo.processIdentifier)/\(StatsigHash.randomToken(length: 6))"
    }

    public var description: String { id }
}

/// Holds one background job's lease for this node, renewing it every `renewEvery`; the job runs only
/// while `isHeld`. A lease lasts `ttl`, so when its holder dies another node takes it over within
/// `ttl + renewEvery` (6 s + 1 s by default; the issue asks for 10 s).
final class JobLease: Service, Sendable {
    let job: String
    private let store: any JobLeases
    private let node: NodeIdentity
    private let logger: Logger
    let ttl: Duration
    let renewEvery: Duration
    /// Until when (this process's monotonic clock) the lease is ours: a little before it expires in
    /// the database, so two nodes never both believe they hold it.
    private let heldUntil = Mutex<ContinuousClock.Instant?>(nil)

    init(job: String, store: any JobLeases, node: NodeIdentity, logger: Logger,
         ttl: Duration = .seconds(6), renewEvery: Duration = .seconds(1)) {
        self.job = job
        self.store = store
        self.node = node
        self.logger = logger
        self.ttl = ttl
        self.renewEvery = renewEvery
    }

    var isHeld: Bool { heldUntil.withLock { $0.map { $0 > .now } ?? false } }

    /// Tries once to take or renew the lease; returns whether this node holds it.
    @discardableResult
    func renew() async -> Bool {
        let asked = ContinuousClock.now
        let wasHeld = isHeld
        do {
            let ms = Int64(ttl.components.seconds * 1000 + ttl.components.attoseconds / 1_000_000_000_000_000)
            let held = try await store.acquireLease(job: job, holder: node.id, now: Clock.nowMs(), ttl: ms)
            // Counted from before the request, minus a margin for clock drift between nodes.
            heldUntil.withLock { $0 = held ? asked + ttl - renewEvery : nil }
            if held != wasHeld {
                logger.info(held ? "took the job's lease" : "another node holds the job's lease",
                            metadata: ["job": "\(job)", "node": "\(node)"])
            }
            return held
        } catch where Task.isCancelled {
            return isHeld  // shutting down: not a failure
        } catch {
            logger.warning("cannot renew the job's lease", metadata: ["job": "\(job)", "error": "\(error)"])
            return isHeld
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.renew()
                try? await Task.sleep(for: self.renewEvery)
            }
        }
        if isHeld {
            heldUntil.withLock { $0 = nil }
            try? await store.releaseLease(job: job, holder: node.id)
        }
    }
}

/// Brings this node's caches up to date with changes made on any node: polls the store's change
/// version (one small read) and, when it moved, drops the compiled rules and the key cache.
struct ChangeWatcher: Service {
    let store: any ChangeFeed
    let cache: ConfigCache
    let resolver: KeyResolver
    let logger: Logger
    /// The fallback: how often the change counter is read, whether or not notifications arrive
    /// (a pooler in transaction mode, for one, does not pass LISTEN through).
    var interval: Duration = .milliseconds(250)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen() }
                group.addTask { await poll() }
                await group.waitForAll()
            }
        }
    }

    private func forget() {
        cache.invalidateAll()
        resolver.forget()
    }

    /// Notifications make a change visible within milliseconds; polling (below) is the fallback.
    private func listen() async {
        while !Task.isCancelled {
            do {
                try await store.listenForChanges { forget() }
                return  // the store cannot notify: polling alone
            } catch where Task.isCancelled {
                return
            } catch {
                logger.debug("change notifications interrupted; listening again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private func poll() async {
        var seen: Int64? = nil
        while !Task.isCancelled {
            do {
                let version = try await store.changeVersion()
                if let s = seen, s != version { forget() }
                seen = version
            } catch {
                logger.debug("change watch failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}

/// Feeds the live stream from the event log, so a node's subscribers see events ingested on every
/// node. It reads only while someone is watching, from the log's end when the first one arrives.
struct EventLogTail: Service {
    let store: any VaneStore
    let broadcaster: EventBroadcaster
    let logger: Logger
    var interval: Duration = .milliseconds(250)

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var positions: [String: Int64] = [:]
            while !Task.isCancelled {
                if broadcaster.subscriberCount == 0 {
                    positions = [:]
                } else {
                    do {
                        for project in try await store.projects() {
                            guard let from = positions[project] else {
                                positions[project] = try await store.lastIDs(project: project).event
                                continue
                            }
                            let events = try await store.events(project: project, afterID: from, limit: 1000)
                            if let last = events.last?.id { positions[project] = last }
                            broadcaster.publish(events, events.map(\.id))
                        }
                    } catch {
                        logger.debug("live tail failed", metadata: ["error": "\(error)"])
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
