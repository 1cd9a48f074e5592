import Foundation
import Hummingbird
import VaneCore
import VanePulse
import VaneStore

// The metric catalogue and a metric's page (its days charted and listed; a defined metric's edit form).

struct MetricsView: Sendable {
    struct Item: Sendable {
        let name: String
        let href: String
        let type: String
        let event: String
        let events: String
        let lastSeen: String
        let automatic: Bool
    }

    let items: [Item]
    /// The event names seen, for the new metric's event field.
    let events: [String]
}

struct MetricView: Sendable {
    struct Day: Sendable {
        let day: String
        let events: Int
        let units: Int
        let sum: String
    }

    let name: String
    let apiPath: String
    let type: String
    let event: String?
    let filters: String?
    let ratio: String?
    let metricDescription: String?
    let from: String?
    let to: String?
    /// A defined metric (not an automatic one): it can be edited and deleted.
    let custom: Bool
    let days: [Day]
    let chart: String?
    let valueChart: String?
    let typeOptions: [WebOption]
    let filtersJSON: String
    let numerator: String
    let denominator: String
    let eventValue: String
}

extension WebController {
    func metricsPage(_ s: ConsoleSession) async throws -> Response {
        let list = try await PulseService(store: store).metricList(project)
        let view = MetricsView(
            items: list.map { m in
                .init(name: m.name, href: WebLink.console("metrics", m.name), type: m.type, event: m.event ?? "",
                      events: m.automatic.map { String($0.events) } ?? "", lastSeen: m.automatic?.lastSeen ?? "",
                      automatic: m.automatic != nil)
            },
            events: Set(list.compactMap { $0.automatic?.event }).sorted())
        return try render("metrics", view, s, title: "Metrics", nav: "metrics")
    }

    /// A metric's days (within `from`…`to`, UTC dates, when given): events, users and value sum
    /// charted and listed, and for a defined metric a form that edits it.
    func metricPage(_ name: String, _ query: [String: String], _ s: ConsoleSession) async throws -> Response {
        let pulse = PulseService(store: store)
        guard let m = try await pulse.metrics.resolve(project, name) else {
            throw StoreError.notFound("There is no metric named ‘\(name)’.")
        }
        // The dates as the series labels its days (UTC, YYYY-MM-DD), so they compare as text.
        let range = try PulseTimeRange(query: query)
        let from = range?.from, to = range?.to
        let days = try await pulse.series(project, metric: name).days
            .filter { d in (from.map { d.day >= $0 } ?? true) && (to.map { d.day <= $0 } ?? true) }
        let filters = (m.filters ?? []).map(\.description).joined(separator: " and ")
        let labels = days.map(\.day)
        let view = MetricView(
            name: name, apiPath: WebLink.api("metrics", name), type: m.type.rawValue,
            event: WebFormat.nonEmpty(m.event), filters: WebFormat.nonEmpty(filters),
            ratio: m.type == .ratio ? "\(m.numerator ?? "") / \(m.denominator ?? "")" : nil,
            metricDescription: WebFormat.nonEmpty(m.description), from: from, to: to, custom: !m.isAutomatic,
            days: days.reversed().map { .init(day: $0.day, events: $0.events, units: $0.units, sum: WebFormat.number($0.sum)) },
            chart: days.isEmpty ? nil : WebCharts.bars(
                labels: labels, series: [days.map { Double($0.events) }, days.map { Double($0.units) }], names: ["events", "unique users"]),
            valueChart: days.contains { $0.sum != 0 } ? WebCharts.bars(labels: labels, series: [days.map(\.sum)], names: ["value sum"]) : nil,
            typeOptions: WebOption.list(MetricDefinition.MetricType.allCases.map(\.rawValue), selected: m.type.rawValue),
            filtersJSON: WebFormat.pretty(encodeToJSON(m.filters ?? [])),  // "[]" rather than empty, which a PATCH would leave as it was
            numerator: m.numerator ?? "", denominator: m.denominator ?? "", eventValue: m.event ?? "")
        return try render("metric", view, s, title: name, nav: "metrics")
    }
}
