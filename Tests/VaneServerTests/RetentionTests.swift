import Foundation
import Logging
import Prometheus
import Testing
import VaneCore
import VanePulse
import VaneSegment
@testable import VaneServer
import VaneStore

/// Event retention as `vane serve --retain-events-days` runs it: which cursors hold events back,
/// and the counter and log of what was pruned.
@Suite("Event retention")
struct RetentionTests {
    static let day: Int64 = 86_400_000
    static let now: Int64 = 1_790_000_000_000

    static func events(_ n: Int, daysAgo: Int64, before now: Int64 = now) -> [EventRecord] {
        (0..<n).map { i in
            EventRecord(project: "default", eventName: "old", user: ["userID": .string("u\(i)")], userID: "u\(i)", stableID: nil,
                        customIDs: [:], environment: nil, value: nil, metadata: nil, secondaryExposures: nil,
                        time: now - daysAgo * day + Int64(i), receivedAt: now, source: .sdk, sdkType: "test")
        }
    }

    static func store() async throws -> SQLiteStore {
        let store = try SQLiteStore()
        _ = try await store.bootstrap(preset: PresetKeys(), now: 1)
        return store
    }

    static func caughtUp(_ store: SQLiteStore) async throws {
        while try await store.pulseRollup(project: "default", catalog: PulseCatalog(), maxEvents: 1000).behind > 0 {}
    }

    @Test func anEnabledSegmentExportHoldsEventsBackUntilItHasSentThem() async throws {
        let store = try await Self.store()
        try await store.insertEvents(Self.events(30, daysAgo: 10))
        try await Self.caughtUp(store)
        var state = OutboundState()
        state.eventCursor = 12
        try await store.saveOutbound(project: "default", state: state, newDeadLetters: [], resolvedDeadLetters: [])
        var settings = OutboundSettings()
        settings.enabled = true
        try await store.putSetting(
            project: "default", name: SegmentExporter.settingName, value: encodeToJSON(settings),
            audit: AuditEntry(time: 1, actor: "test", action: "updated", kind: "integration", name: "segment_outbound", description: "on"))

        let retention = try EventRetention(store: store, days: 7)
        #expect(try await retention.pruneOnce(now: Self.now) == ["default": 12])
        #expect(try await retention.pruneOnce(now: Self.now) == [:])

        settings.enabled = false
        try await store.putSetting(
            project: "default", name: SegmentExporter.settingName, value: encodeToJSON(settings),
            audit: AuditEntry(time: 2, actor: "test", action: "updated", kind: "integration", name: "segment_outbound", description: "off"))
        #expect(try await retention.pruneOnce(now: Self.now) == ["default": 18])
        #expect(try await store.eventCount(project: "default") == 0)
    }

    @Test func batchesDeleteEverythingOldAndNothingRecent() async throws {
        let store = try await Self.store()
        try await store.insertEvents(Self.events(1_234, daysAgo: 30))
        try await store.insertEvents(Self.events(40, daysAgo: 1))
        try await Self.caughtUp(store)
        var retention = try EventRetention(store: store, days: 7)
        retention.batchSize = 100
        retention.pauseBetweenBatches = .zero
        #expect(try await retention.pruneOnce(now: Self.now) == ["default": 1_234])
        #expect(try await store.eventCount(project: "default") == 40)
    }

    @Test func rejectsDaysOutOfRange() async throws {
        let store = try await Self.store()
        for days in [0, -1, EventRetention.maxDays + 1, Int.max] {
            #expect(throws: VaneCore.ValidationError.self) { _ = try EventRetention(store: store, days: days) }
        }
    }

    @Test func theServiceCountsAndLogsWhatItPruned() async throws {
        let store = try await Self.store()
        // The service prunes by the real clock.
        try await store.insertEvents(Self.events(25, daysAgo: 30, before: Int64(Date().timeIntervalSince1970 * 1000)))
        try await Self.caughtUp(store)
        let registry = PrometheusCollectorRegistry()
        let service = EventRetentionService(
            retention: try EventRetention(store: store, days: 1), metrics: registry, logger: Logger(label: "retention-test"),
            interval: .milliseconds(20))
        let running = Task { try await service.run() }
        let deadline = ContinuousClock.now + .seconds(10)
        while try await store.eventCount(project: "default") > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(100))
        running.cancel()
        try await running.value
        let text = String(decoding: registry.emitToBuffer(), as: UTF8.self)
        #expect(text.contains(#"vane_events_pruned_total{project="default"} 25"#), "\(text)")
    }
}
