import Foundation
import Hummingbird
import VaneCore
import VaneSegment
import VaneStore

// The Segment integration page: inbound (destination URL, write key, filters, mappings, daily
// usage, live stream) and outbound (settings, delivery status, dead letters).

struct SegmentPageView: Sendable {
    struct Inbound: Sendable {
        let enabled: Bool
        let destinationURL: String
        let trackingURL: String
        let writeKeyPrefix: String?
        let secretSet: Bool
        let allow: String
        let deny: String
        let allowTypes: String
        let denyTypes: String
        let mappingsJSON: String
    }
    struct UsageDay: Sendable {
        let day: String
        let ingested: Int
        let duplicates: Int
        let dropped: String
    }
    struct Outbound: Sendable {
        struct Categories: Sendable {
            let gateExposures: Bool
            let configExposures: Bool
            let experimentExposures: Bool
            let customEvents: Bool
            let configChanges: Bool
        }
        struct DeadLetter: Sendable {
            let time: String
            let reason: String
            let event: String
        }
        let enabled: Bool
        let writeKeySet: Bool
        let endpoint: String
        let cat: Categories
        let allow: String
        let deny: String
        let anonymousIdFrom: String
        let delivered: Int
        let requests: Int
        let pending: Int
        let lastSuccess: String
        let lastError: String
        let deadLetters: Int
        let deadLetterRows: [DeadLetter]
    }

    /// The outbound tab, not the inbound one.
    let outbound: Bool
    /// The live stream shows Segment's events only.
    let streamSource = "segment"
    var `in`: Inbound? = nil
    var usage: [UsageDay] = []
    var out: Outbound? = nil
}

extension WebController {
    func segmentPage(_ r: Request, _ s: ConsoleSession) async throws -> Response {
        var view = SegmentPageView(outbound: r.query("tab") == "outbound")
        if view.outbound {
            view.out = try await outboundView()
        } else {
            let base = "http://" + (r.head.authority ?? "127.0.0.1:8787")
            let i = try await inbound.settings(project)
            let key = try await store.keys(project: project).filter { $0.kind == .segmentWriteKey && $0.revokedAt == nil }.last
            view.in = .init(
                enabled: i.enabled, destinationURL: base + "/v1/webhooks/segment", trackingURL: base + "/v1",
                writeKeyPrefix: key?.displayPrefix, secretSet: !(i.sharedSecret ?? "").isEmpty,
                allow: i.filters.allowEvents.joined(separator: "\n"), deny: i.filters.denyEvents.joined(separator: "\n"),
                allowTypes: i.filters.allowTypes.joined(separator: ","), denyTypes: i.filters.denyTypes.joined(separator: ","),
                mappingsJSON: WebFormat.pretty(encodeToJSON(i.identifierMappings)))
            view.usage = try await SegmentConsoleController.usageDays(store, project, days: 30).map { day in
                let dropped = InboundUsageDay.dropCategories.flatMap { category in
                    (day.dropped[category] ?? [:]).sorted { $0.key < $1.key }.map { "\(category): \($0.key): \($0.value)" }
                }
                return .init(day: day.day, ingested: day.ingested, duplicates: day.duplicates,
                             dropped: dropped.isEmpty ? "—" : dropped.joined(separator: ", "))
            }
        }
        return try render("segment", view, s, title: "Segment", nav: "segment")
    }

    func outboundView() async throws -> SegmentPageView.Outbound {
        let o = try await exporter.settings(project)
        let status = try await outboundStatus(project)
        let dead = try await store.deadLetters(project: project, retryRequestedOnly: false, limit: 20)
        return .init(
            enabled: o.enabled, writeKeySet: !(o.writeKey ?? "").isEmpty, endpoint: o.endpoint,
            cat: .init(gateExposures: o.categories.gateExposures, configExposures: o.categories.configExposures,
                       experimentExposures: o.categories.experimentExposures, customEvents: o.categories.customEvents,
                       configChanges: o.categories.configChanges),
            allow: o.allowEvents.joined(separator: "\n"), deny: o.denyEvents.joined(separator: "\n"),
            anonymousIdFrom: o.anonymousIdFrom, delivered: status.delivered, requests: status.requests, pending: status.queued,
            lastSuccess: WebFormat.time(status.lastSuccess),
            lastError: status.lastError.map {
                "\($0) (\(WebFormat.time(status.lastErrorTime)))" + (status.failing ? "" : "; delivered successfully since")
            } ?? "—",
            deadLetters: status.deadLettered,
            deadLetterRows: dead.map { d in
                .init(time: WebFormat.time(d.createdAt), reason: d.reason,
                      event: d.message["event"]?.stringValue ?? d.message["type"]?.stringValue ?? "")
            })
    }

    func outboundStatus(_ project: String) async throws -> OutboundStatus {
        try await SegmentOutboundController(store: store, exporter: exporter, resolver: resolver, body: body).status(project)
    }

    /// Sends one Segment track call through the inbound pipeline, as Segment would.
    func sendTestEvent(_ c: Context) async throws -> Response {
        let now = Clock.nowMs()
        let message: JSONValue = [
            "type": "track", "event": "Vane Test Event", "messageId": .string("vane-test-" + StatsigHash.randomToken(length: 12)),
            "userId": .string(c.session?.user.email ?? "vane-test-user"), "anonymousId": "vane-test-anonymous",
            "properties": ["sentFrom": "Vane console"], "timestamp": .string(ISOTime.format(now)),
        ]
        let outcome = try await inbound.ingest(project: c.project, messages: [message], single: true, origin: .destination, now: now)
        return envelope("Test event sent.", ["eventName": "segment::Vane Test Event", "stored": .int(Int64(outcome.stored))])
    }
}
