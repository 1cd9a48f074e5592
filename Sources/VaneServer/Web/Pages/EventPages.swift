import Foundation
import Hummingbird
import VaneCore
import VaneStore

// Events: the live stream, the explorer (filters, pages of matching events) and one event.

struct EventsView: Sendable {
    struct Row: Sendable {
        let href: String
        let time: String
        let name: String
        let source: String
        let user: String
        let value: String
    }
    struct MatchOption: Sendable {
        let value: String
        let label: String
        let selected: Bool
    }

    /// The explorer tab, not the live stream.
    let explore: Bool
    /// The explorer's filters as sent.
    var q: [String: String] = [:]
    var error: String? = nil
    var rows: [Row] = []
    /// The link to the next (older) page.
    var next: String? = nil
    var sourcesOptions: [WebOption] = []
    var matchOptions: [MatchOption] = []
}

struct EventView: Sendable {
    let name: String
    let time: String
    let received: String
    let source: String
    let userID: String
    let customIDs: String
    let environment: String
    let value: String
    let userJSON: String
    let metadataJSON: String
    /// The Segment message as it arrived, for Segment events.
    let rawJSON: String?
}

extension WebController {
    func eventsPage(_ r: Request, _ s: ConsoleSession) async throws -> Response {
        guard r.query("tab") == "explore" else {
            return try render("events", EventsView(explore: false), s, title: "Events", nav: "events")
        }
        let q = r.queryItems()
        var view = EventsView(explore: true, q: q)
        var query = EventQuery(limit: 100)
        query.eventName = q["eventName"].flatMap(WebFormat.nonEmpty)
        // Names are found as the live stream finds them: by how they start, unless asked otherwise.
        query.eventNameMatch = q["match"].flatMap(EventNameMatch.init(rawValue:)) ?? .prefix
        query.userID = q["userID"].flatMap(WebFormat.nonEmpty)
        query.source = q["source"].flatMap(WebFormat.nonEmpty)
        if let since = q["since"], !since.isEmpty {
            if let t = ISOTime.parse(since.count == 10 ? since + "T00:00:00Z" : since) { query.since = t }
            else { view.error = "Since must be a date like 2026-11-01 or a time like 2026-11-01T12:00:00Z." }
        }
        query.cursor = q["cursor"].flatMap(EventCursor.init(token:))
        let page = try await store.events(project: project, query: query)
        view.rows = page.events.map { e in
            .init(href: WebLink.console("events", String(e.id ?? 0)), time: WebFormat.time(e.time), name: e.eventName, source: e.source.rawValue,
                  user: e.userID ?? e.customIDs.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", "),
                  value: e.value.map { $0.stringValue ?? $0.serialized() } ?? "")
        }
        if let next = page.nextCursor {
            var items = q
            items["cursor"] = next.token
            view.next = WebLink.query("/console/events", items)
        }
        view.sourcesOptions = WebOption.list(EventSource.allCases.map(\.rawValue), selected: q["source"])
        view.matchOptions = [("prefix", "starts with"), ("contains", "contains"), ("exact", "is exactly")].map {
            .init(value: $0.0, label: $0.1, selected: query.eventNameMatch.rawValue == $0.0)
        }
        return try render("events", view, s, title: "Events", nav: "events")
    }

    func eventPage(_ id: String, _ s: ConsoleSession) async throws -> Response {
        guard let n = Int64(id), let e = try await store.event(project: project, id: n) else {
            throw StoreError.notFound("There is no event with id ‘\(id)’.")
        }
        let view = EventView(
            name: e.eventName, time: WebFormat.time(e.time), received: WebFormat.time(e.receivedAt), source: e.source.rawValue,
            userID: e.userID ?? "—",
            customIDs: e.customIDs.isEmpty ? "—" : e.customIDs.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", "),
            environment: e.environment ?? "—", value: e.value.map { $0.stringValue ?? $0.serialized() } ?? "—",
            userJSON: WebFormat.pretty(e.user), metadataJSON: WebFormat.pretty(e.metadata ?? .object([:])),
            rawJSON: e.raw.flatMap { WebFormat.nonEmpty(WebFormat.pretty($0)) })
        return try render("event", view, s, title: e.eventName, nav: "events")
    }
}
