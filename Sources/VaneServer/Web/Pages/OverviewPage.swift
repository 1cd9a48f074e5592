import Foundation
import HTTPTypes
import Hummingbird
import VaneCore
import VaneStore

/// The overview: today's events and exposures by source, integration health, how to connect an SDK
/// and the running experiments.
struct OverviewView: Sendable {
    struct Source: Sendable {
        let name: String
        let events: Int
        let exposures: Int
    }
    struct RunningExperiment: Sendable {
        let name: String
        let href: String
        let resultsHref: String
        let idType: String
        let started: String
    }

    let today: String
    let eventsToday: Int
    let exposuresToday: Int
    let sources: [Source]
    /// The address SDKs should use, for the snippets.
    let serverURL: String
    let running: [RunningExperiment]
    let runningCount: Int
    let gateCount: Int
    let inboundEnabled: Bool
    let inboundToday: Int
    let outboundEnabled: Bool
    let outboundDelivered: Int
    /// The last delivery error with its time, only while delivery is failing.
    let outboundError: String?
    let deadLetters: Int?
}

extension WebController {
    /// The address SDKs should use: `--public-url`, or the scheme and host this page was asked for.
    static func serverURL(_ r: Request, publicURL: String?) -> String {
        if let publicURL { return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        let scheme = r.headers[values: HTTPField.Name("X-Forwarded-Proto")!].first == "https" ? "https" : "http"
        return scheme + "://" + (r.head.authority ?? "127.0.0.1:8787")
    }

    func overview(_ r: Request, _ s: ConsoleSession) async throws -> Response {
        let now = Clock.nowMs()
        let startOfDay = now - now % 86_400_000
        let counts = try await store.eventCountsBySource(project: project, since: startOfDay)
        let running = try await store.entities(project: project, kind: .experiment).filter { $0.status == .active }.map { e in
            OverviewView.RunningExperiment(
                name: e.name, href: WebLink.console("experiments", e.name), resultsHref: WebLink.console("experiments", e.name, "results"),
                idType: e.effectiveIdType, started: WebFormat.time(e.startTime))
        }
        let outbound = try await outboundStatus(project)
        let view = OverviewView(
            today: String(ISOTime.format(now).prefix(10)),
            eventsToday: counts.values.reduce(0) { $0 + $1.events },
            exposuresToday: counts.values.reduce(0) { $0 + $1.exposures },
            sources: counts.sorted { $0.key < $1.key }.map { .init(name: $0.key, events: $0.value.events, exposures: $0.value.exposures) },
            serverURL: Self.serverURL(r, publicURL: publicURL),
            running: running, runningCount: running.count,
            gateCount: try await store.entities(project: project, kind: .gate).count,
            inboundEnabled: try await inbound.settings(project).enabled, inboundToday: counts["segment"]?.events ?? 0,
            outboundEnabled: outbound.enabled, outboundDelivered: outbound.delivered,
            outboundError: outbound.enabled && outbound.failing
                ? outbound.lastError.map { "\($0) (\(WebFormat.time(outbound.lastErrorTime)))" } : nil,
            deadLetters: outbound.deadLettered > 0 ? outbound.deadLettered : nil)
        return try render("overview", view, s, title: "Overview", nav: "overview")
    }
}
