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

/// The change counter (`ChangeFeed`) this node's caches have caught up with: every change up to it is
/// in what this node answers. `/ready` shows it next to the database's, so an operator (or a test
/// that writes on one node and reads on another) can see how far behind a node is.
final class AppliedChanges: Sendable {
    private let version = Mutex<Int64?>(nil)

    var current: Int64? { version.withLock { $0 } }

    func caughtUp(to v: Int64) {
        version.withLock { $0 = max($0 ?? v, v) }
    }
}

/// Brings this node's caches up to date with changes made on any node: a notification (PostgreSQL
/// LISTEN) or, as the fallback, a tick every `interval` makes it read the store's change counter
/// (one small read); when it moved, the compiled rules and the key cache are dropped.
struct ChangeWatcher: Service {
    let store: any ChangeFeed
    let cache: ConfigCache
    let resolver: KeyResolver
    let applied: AppliedChanges
    let logger: Logger
    /// The fallback: how often the change counter is read, whether or not notifications arrive
    /// (a pooler in transaction mode, for one, does not pass LISTEN through).
    var interval: Duration = .milliseconds(250)

    func run() async throws {
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen(wake) }
                group.addTask {
                    while !Task.isCancelled {
                        wake.yield()
                        try? await Task.sleep(for: interval)
                    }
                    wake.finish()
                }
                group.addTask { await follow(wakeups) }
                await group.waitForAll()
            }
        }
    }

    private func forget() {
        cache.invalidateAll()
        resolver.forget()
    }

    /// Notifications wake `follow` within milliseconds of a change; the ticks in `run` are the fallback.
    private func listen(_ wake: AsyncStream<Void>.Continuation) async {
        while !Task.isCancelled {
            do {
                try await store.listenForChanges { wake.yield() }
                return  // the store cannot notify: the ticks alone
            } catch where Task.isCancelled {
                return
            } catch {
                logger.debug("change notifications interrupted; listening again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// The counter is read before the caches are dropped, so whatever is compiled afterwards includes
    /// every change up to it. The first read drops them too: a request may have filled them before it.
    private func follow(_ wakeups: AsyncStream<Void>) async {
        var seen: Int64? = nil
        for await _ in wakeups {
            do {
                let version = try await store.changeVersion()
                if seen != version { forget() }
                seen = version
                applied.caughtUp(to: version)
            } catch {
                logger.debug("change watch failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Feeds the live stream from the event log, so a node's subscribers see events ingested on every
/// node. It follows a project only while someone is watching, from the position its first
/// subscriber read after subscribing (`EventBroadcaster.followLog`): every event committed after a
/// subscriber arrived reaches it.
struct EventLogTail: Service {
    let store: any EventLog
    let broadcaster: EventBroadcaster
    let logger: Logger
    var interval: Duration = .milliseconds(250)
    static let page = 1000

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var positions: [String: Int64] = [:]
            while !Task.isCancelled {
                if broadcaster.subscriberCount == 0 { positions = [:] }
                for (project, start) in broadcaster.takeLogStarts() where positions[project] == nil {
                    positions[project] = start
                }
                var behind = false
                for (project, from) in positions {
                    do {
                        let events = try await store.events(project: project, afterID: from, limit: Self.page)
                        if let last = events.last?.id { positions[project] = last }
                        behind = behind || events.count == Self.page
                        broadcaster.publish(events, events.map(\.id))
                    } catch {
                        logger.debug("live tail failed", metadata: ["project": "\(project)", "error": "\(error)"])
                    }
                }
                // A full page means more is waiting: read on at once.
                if !behind { try? await Task.sleep(for: interval) }
            }
        }
    }
}

/// Runs `work` for each project every `interval` while this node holds `lease`: the loop of the
/// periodic background jobs (scheduled rollouts, the guardrail watch). A failed pass is logged and
/// the next one runs at the next interval.
struct LeasedProjectLoop: Service {
    let job: String
    let store: any SettingsRepository
    let lease: JobLease
    let logger: Logger
    let interval: Duration
    let work: @Sendable (_ project: String, _ now: Int64) async throws -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if lease.isHeld {
                    do {
                        for project in try await store.projects() { try await work(project, Clock.nowMs()) }
                    } catch where Task.isCancelled {
                        break
                    } catch {
                        logger.warning("\(job) failed: \(error)")
                    }
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
