import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import VaneCore
import VaneStore

/// Event retention: deletes events whose event time is more than `days` days old, in batches of
/// `batchSize` rows (one write transaction each, about 0.1 s for 5,000 rows, then a pause at least
/// as long, so ingest's group commits get the writer), and never an event a durable cursor has not
/// passed yet: the Pulse rollup's always, the Segment exporter's while the export is enabled. (A
/// disabled export holds nothing back: enabling it moves its cursors to the end of the log, so it
/// never replays history.)
public struct EventRetention: Sendable {
    public static let maxDays = 36_500
    static let dayMs: Int64 = 86_400_000

    let store: any EventLog & SettingsRepository
    public let days: Int
    var batchSize = 5_000
    var pauseBetweenBatches: Duration = .milliseconds(20)

    public init(store: any EventLog & SettingsRepository, days: Int) throws {
        guard (1...Self.maxDays).contains(days) else {
            throw ValidationError("retain-events-days must be between 1 and \(Self.maxDays), not \(days)")
        }
        self.store = store
        self.days = days
    }

    public func cutoff(now: Int64) -> Int64 { now - Int64(days) * Self.dayMs }

    /// One pass over every project; returns the events deleted per project (only those with any).
    public func pruneOnce(now: Int64) async throws -> [String: Int] {
        let cutoff = cutoff(now: now)
        var pruned: [String: Int] = [:]
        for project in try await store.projects() {
            let holdForExport = try await SegmentExporter.isEnabled(store, project)
            var total = 0
            while !Task.isCancelled {
                let started = ContinuousClock.now
                let n = try await store.pruneEvents(project: project, before: cutoff, holdForSegmentExport: holdForExport, limit: batchSize)
                total += n
                if n < batchSize { break }
                // Rest at least as long as the batch held the writer: retention takes at most half of it.
                try? await Task.sleep(for: max(pauseBetweenBatches, ContinuousClock.now - started))
            }
            if total > 0 { pruned[project] = total }
        }
        return pruned
    }
}

/// Runs `EventRetention` in `vane serve --retain-events-days N`: at start, then every `interval`.
struct EventRetentionService: Service {
    let retention: EventRetention
    let metrics: PrometheusCollectorRegistry
    let logger: Logger
    var interval: Duration = .seconds(600)

    /// The service for `config`, or none when events are kept forever.
    static func configured(_ config: AppConfig, _ services: VaneServices, logger: Logger) -> [any Service] {
        guard let days = config.retainEventsDays, let retention = try? EventRetention(store: services.store, days: days) else { return [] }
        return [EventRetentionService(retention: retention, metrics: services.metrics, logger: logger)]
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let now = Clock.nowMs()
                    for (project, n) in try await retention.pruneOnce(now: now).sorted(by: { $0.key < $1.key }) {
                        metrics.makeCounter(name: "vane_events_pruned_total", labels: [("project", project)]).increment(by: Int64(n))
                        logger.info("pruned events", metadata: [
                            "project": "\(project)", "events": "\(n)", "retainDays": "\(retention.days)",
                            "before": "\(Date(timeIntervalSince1970: Double(retention.cutoff(now: now)) / 1000).formatted(.iso8601))",
                        ])
                    }
                } catch where Task.isCancelled {
                    break  // shutting down: not a failure
                } catch {
                    logger.warning("event retention failed: \(error)")
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
