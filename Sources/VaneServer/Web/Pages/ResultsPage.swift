import Foundation
import Hummingbird
import VaneCore
import VanePulse
import VaneStats
import VaneStore

// Pulse results as a page of their own, and as the section a gate page shows for its rollout.

struct ResultsView: Sendable {
    let name: String
    let results: ResultsSection
    let back: String
    let backLabel: String
}

/// The results section (template `resultsSection`): groups, sample-ratio checks, the metrics table,
/// the drill-down, the effect over time and exposures per day.
struct ResultsSection: Sendable {
    struct Group: Sendable {
        let name: String
        let units: Int
        let weight: String
    }
    struct SRMPeriod: Sendable {
        let from: String
        let to: String
        let split: String
        let units: String
        let check: String
        let mismatch: Bool
    }
    struct DrillDown: Sendable {
        struct Flagged: Sendable {
            let metric: String
            let group: String
            let p: String
        }
        let dimension: String
        let notes: [String]
        let rows: [ComparisonRow]
        let flagged: [Flagged]
    }
    struct Cumulative: Sendable {
        let title: String
        let chart: String
        let last: String
    }

    let heading: String
    let idType: String
    let computedAt: String
    let groups: [Group]
    let metrics: [ComparisonRow]
    let primaryRows: [ComparisonRow]
    let guardrailRows: [ComparisonRow]
    let otherRows: [ComparisonRow]
    let otherCount: Int
    /// Other metrics are folded away only when primary metrics or guardrails come first.
    let collapseOthers: Bool
    let primaryMissing: [String]
    /// The interval's level, e.g. "95%".
    let level: String
    let cuped: Bool
    let sequential: Bool
    let bayesian: Bool
    let correctionNone: Bool
    let correctionBonferroni: Bool
    let correctionBH: Bool
    let winsorize: Bool
    let crossovers: Int?
    let scope: String?
    let eventsSetAside: Int?
    let srmMismatch: Bool
    let srmP: String?
    let observed: String?
    let expected: String?
    let hasSrmPeriods: Bool
    let srmPeriods: [SRMPeriod]
    let dimension: String?
    let drill: DrillDown?
    let rangeFrom: String?
    let rangeTo: String?
    /// What a time range shows, in words.
    let range: String?
    let cumulative: [Cumulative]
    let exposureChart: String?
}

/// One metric of one treatment against control: lift, interval and its chart, p-value or chance to win.
struct ComparisonRow: Sendable {
    let metric: String
    let metricHref: String
    let type: String
    let group: String
    let controlMean: String
    let treatmentMean: String
    let cuped: Bool
    let primary: Bool
    /// The guardrail's rule in words, for a guardrail metric.
    let guardrail: String?
    /// Why there is no interval (long, on hover) and as a badge.
    let reason: String
    let reasonShort: String
    let lift: String
    let liftValue: Double
    let sigClass: String
    let pValue: String
    let interval: String?
    let chart: String?
    let chance: String?
    /// In a drill-down: the dimension's value and the units per group.
    var slice: String? = nil
    var units: String? = nil
}

extension WebController {
    func resultsPage(_ kind: PulseSubject.Kind, _ name: String, _ r: Request, _ s: ConsoleSession) async throws -> Response {
        var query = r.queryItems()
        if query["cumulative"] == nil { query["cumulative"] = "true" }  // the page charts the effect over time
        let (collection, label) = switch kind {
        case .experiment: ("experiments", "Experiment setup")
        case .gate: ("gates", "Gate rules")
        case .holdout: ("holdouts", "Holdout")
        }
        let view = ResultsView(
            name: name, results: try await resultsSection(kind, name, query), back: WebLink.console(collection, name), backLabel: label)
        return try render("results", view, s, title: "\(name) results", nav: collection)
    }

    func resultsSection(_ kind: PulseSubject.Kind, _ name: String, _ query: [String: String]) async throws -> ResultsSection {
        let r = try await PulseService(store: store).results(project: project, kind: kind, name: name, query: query, now: Clock.nowMs())
        let options = r.options
        let rows = Self.comparisonRows(r.metrics, options: options)
        // The service lists primary metrics first, then guardrails: the page only folds away the rest.
        let primaryRows = rows.filter(\.primary)
        let guardrailRows = rows.filter { !$0.primary && $0.guardrail != nil }
        let otherRows = rows.filter { !$0.primary && $0.guardrail == nil }
        let srm = r.srm.flatMap { $0.isMismatch ? $0 : nil }
        let names = r.groups.map(\.name)
        let days = r.exposuresPerDay.keys.sorted()
        return ResultsSection(
            heading: kind == .experiment ? "Results" : "Rollout results (pass vs fail)",
            idType: r.subject.idType, computedAt: WebFormat.time(r.computedAt),
            groups: r.groups.map { .init(name: $0.name, units: $0.units, weight: $0.weight.map { WebFormat.number($0) + "%" } ?? "—") },
            metrics: rows, primaryRows: primaryRows, guardrailRows: guardrailRows, otherRows: otherRows,
            otherCount: otherRows.count, collapseOthers: !(primaryRows.isEmpty && guardrailRows.isEmpty),
            primaryMissing: r.primaryMetrics.filter { p in !r.metrics.contains { $0.metric == p } },
            level: String(format: "%g%%", (1 - options.analysis.alpha) * 100),
            cuped: options.analysis.cuped.enabled, sequential: options.analysis.sequential,
            bayesian: options.analysis.bayesianPrior != nil,
            correctionNone: options.correction == .none, correctionBonferroni: options.correction == .bonferroni,
            correctionBH: options.correction == .benjaminiHochberg, winsorize: options.winsorize,
            crossovers: r.crossovers > 0 ? r.crossovers : nil, scope: r.subject.scope,
            eventsSetAside: r.rollup.eventsSetAside > 0 ? r.rollup.eventsSetAside : nil,
            srmMismatch: srm != nil, srmP: srm.map { String(format: "%.2g", $0.pValue) },
            observed: srm.map { $0.observed.map { WebFormat.number(Double($0)) }.joined(separator: " / ") },
            expected: srm.map { srm in
                let total = srm.expected.reduce(0, +)
                return srm.expected.map { String(format: "%.1f%%", 100 * $0 / max(total, 1)) }.joined(separator: " / ")
            },
            hasSrmPeriods: r.srmPeriods != nil,
            srmPeriods: (r.srmPeriods ?? []).map { p in
                .init(from: WebFormat.time(p.since), to: p.until.map { WebFormat.time($0) } ?? "now",
                      split: names.map { WebFormat.number(p.weights[$0] ?? 0) }.joined(separator: " / "),
                      units: names.map { String(p.units[$0] ?? 0) }.joined(separator: " / "),
                      check: p.srm.map { $0.isMismatch ? "mismatch (p = \(String(format: "%.2g", $0.pValue)))" : "ok" } ?? "not enough units",
                      mismatch: p.srm?.isMismatch == true)
            },
            dimension: r.drillDown?.dimension, drill: r.drillDown.map { Self.drillDown($0, options: options) },
            rangeFrom: r.range?.from, rangeTo: r.range?.to,
            range: r.range.map { range in
                "Units first exposed " + (range.from.map { "from \($0)" } ?? "at any time")
                    + (range.to.map { ", with their events through \($0) (UTC)." } ?? ", with their events until now.")
            },
            cumulative: (r.cumulative ?? []).map { c in Self.cumulative(c, control: r.groups.first?.name ?? "control") },
            exposureChart: days.isEmpty ? nil : WebCharts.bars(
                labels: days, series: names.map { arm in days.map { Double(r.exposuresPerDay[$0]?[arm] ?? 0) } }, names: names))
    }

    static func drillDown(_ drill: PulseResults.DrillDown, options: PulseAnalysisOptions) -> ResultsSection.DrillDown {
        .init(
            dimension: drill.dimension, notes: drill.notes,
            rows: drill.slices.flatMap { slice in
                comparisonRows(slice.metrics, options: options).map { row in
                    var row = row
                    row.slice = slice.value
                    row.units = slice.groups.map { String($0.units) }.joined(separator: " / ")
                    return row
                }
            },
            flagged: drill.interactions.filter(\.heterogeneous).map {
                .init(metric: $0.metric, group: $0.group, p: String(format: "%.2g", $0.test?.pValue ?? 1))
            })
    }

    static func cumulative(_ c: PulseResults.Cumulative, control: String) -> ResultsSection.Cumulative {
        let title = "\(c.metric), \(c.group) against \(control)"
        return .init(
            title: title,
            chart: WebCharts.lift(
                days: c.points.map(\.day), points: c.points.map { p in p.relative.map { ($0.estimate, $0.lower, $0.upper) } },
                label: "Relative effect over time: " + title),
            last: c.points.last.map { p in
                "\(p.day): " + (p.relative.map { String(format: "%+.2f%% (%+.2f%% to %+.2f%%)", $0.estimate * 100, $0.lower * 100, $0.upper * 100) }
                    ?? "no interval yet") + " · units " + p.units.map(String.init).joined(separator: " / ")
            } ?? "")
    }

    /// Why a comparison has no interval, as its badge says it.
    static func shortReason(_ status: ResultStatus) -> String {
        switch status {
        case .insufficientSample: "needs more data"
        case .notComputable: "not computable"
        case .ok: "no interval"
        }
    }

    static func comparisonRows(_ metrics: [PulseResults.Metric], options: PulseAnalysisOptions) -> [ComparisonRow] {
        let corrected = options.correction != .none
        return metrics.flatMap { m in
            m.comparisons.map { c in
                let effect = c.effect
                // The Bayesian view shows the posterior (mean, credible interval, chance to beat
                // control, called at 95 % either way, as GrowthBook does); the frequentist one the
                // estimate, confidence interval and p-value.
                let interval: (estimate: Double, lower: Double, upper: Double)?
                let chance = effect.bayesian?.relative?.chanceToWin
                if let bayesian = effect.bayesian {
                    interval = bayesian.relative.map { ($0.expected, $0.lower, $0.upper) }
                } else if let f = effect.relative {
                    interval = (f.estimate, f.lower, f.upper)
                } else {
                    interval = nil
                }
                let significant = chance.map { $0 > 0.95 || $0 < 0.05 } ?? effect.isSignificant
                let sigClass = interval.map { significant ? ($0.estimate > 0 ? "sig-pos" : "sig-neg") : "" } ?? ""
                return ComparisonRow(
                    metric: m.metric, metricHref: WebLink.console("metrics", m.metric), type: m.type.rawValue, group: c.group,
                    controlMean: WebFormat.number(effect.control.mean), treatmentMean: WebFormat.number(effect.treatment.mean),
                    cuped: effect.cuped.applied, primary: m.primary,
                    guardrail: m.guardrail.map { g in
                        "guardrail: " + (g.harmfulDirection == .decrease ? "a drop" : "a rise") + " beyond "
                            + GuardrailWatch.percent(g.tolerance) + " rolls back"
                    },
                    reason: effect.reason ?? effect.notes.first ?? "no interval",
                    reasonShort: Self.shortReason(effect.status),
                    lift: interval.map { String(format: "%+.2f%%", $0.estimate * 100) } ?? "—",
                    liftValue: interval?.estimate ?? 0, sigClass: sigClass,
                    pValue: interval == nil ? "—" : String(format: "%.4g", effect.absolute?.pValue ?? 1)
                        + (corrected ? String(format: ", adjusted %.4g", effect.absolute?.adjustedPValue ?? 1) : ""),
                    interval: interval.map { String(format: "[%+.2f%%, %+.2f%%]", $0.lower * 100, $0.upper * 100) },
                    chart: interval.map { WebCharts.interval(lower: $0.lower, estimate: $0.estimate, upper: $0.upper, cls: sigClass) },
                    chance: interval == nil ? nil : chance.map { String(format: "%.1f%%", $0 * 100) })
            }
        }
    }
}
