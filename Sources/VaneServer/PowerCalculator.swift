import Foundation
import VaneCore
import VanePulse
import VaneStats
import VaneStore

/// The experiment setup page's power calculator: how small an effect on a metric the experiment
/// can detect in a given time, and how long it needs for a given effect.
///
/// Its inputs come from the data when the caller does not give them: the metric's baseline mean
/// and standard deviation from the control group of this experiment (once it has units) or else
/// of the other experiment or gate rollout with the most units that measured the metric; units per
/// day from this experiment's exposures, else that experiment's, else from how many units log the
/// metric's event each day (scaled by the allocation). Each figure says where it came from.
struct PowerCalculator: Sendable {
    let pulse: PulseService

    struct Estimate: Encodable, Sendable {
        struct Baseline: Encodable, Sendable {
            var mean: Double
            var standardDeviation: Double
            var units: Int?
            var source: String
        }
        /// Figures that overflow a double (a baseline mean near 0 makes any change huge, or
        /// unreachable) are null: JSON has no infinity.
        struct Row: Encodable, Sendable {
            var days: Int
            var units: Double
            var minimumDetectableEffect: Double?

            enum Keys: CodingKey { case days, units, minimumDetectableEffect }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(days, forKey: .days)
                try c.encode(units, forKey: .units)
                try c.encode(minimumDetectableEffect, forKey: .minimumDetectableEffect)
            }
        }
        struct Target: Encodable, Sendable {
            var minimumDetectableEffect: Double
            var units: Double?
            var days: Double?

            enum Keys: CodingKey { case minimumDetectableEffect, units, days }

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(minimumDetectableEffect, forKey: .minimumDetectableEffect)
                try c.encode(units, forKey: .units)
                try c.encode(days, forKey: .days)  // null without units per day, or when too large
            }
        }
        var metric: String
        var alpha: Double
        var power: Double
        var groups: [String]
        var weights: [Double]
        var baseline: Baseline
        var unitsPerDay: Double?
        var unitsPerDaySource: String
        var durations: [Row]
        var target: Target?
    }

    static let durations = [7, 14, 21, 28, 42, 56]
    /// How many other experiments and rollouts are read for a baseline, newest first.
    static let maxReferences = 20

    func estimate(project: String, experiment name: String, query: [String: String], now: Int64) async throws -> Estimate {
        func number(_ key: String, _ range: ClosedRange<Double>, open: Bool = false) throws -> Double? {
            guard let text = query[key], !text.isEmpty else { return nil }
            guard let d = Double(text), d.isFinite, range.contains(d), !open || (d != range.lowerBound && d != range.upperBound) else {
                let (low, high) = (Self.plain(range.lowerBound), Self.plain(range.upperBound))
                throw ValidationError("\(key) must be a number \(open ? "between \(low) and \(high)" : "from \(low) to \(high)") (got '\(text.prefix(40))')")
            }
            return d
        }
        guard let metric = query["metric"], !metric.isEmpty else { throw ValidationError("metric: name the metric to size the experiment for") }
        let alpha = try number("alpha", 0...1, open: true) ?? 0.05
        let power = try number("power", 0...1, open: true) ?? 0.8
        let mde = try number("mde", 0...100, open: true)
        let givenMean = try number("mean", -1e15...1e15)
        let givenSD = try number("sd", 0...1e15, open: true)
        let givenUnitsPerDay = try number("unitsPerDay", 0...1e12, open: true)
        guard (givenMean == nil) == (givenSD == nil) else { throw ValidationError("mean and sd: give both or neither") }

        let (_, experiment) = try await pulse.subject(project, kind: .experiment, name: name)
        let groups = experiment.groups ?? []
        guard groups.count >= 2 else { throw ValidationError("groups: the experiment needs a control and at least one treatment") }
        let options = ["metrics": metric, "alpha": String(alpha)]

        // This experiment's own results first, then the others' (most units first).
        var own: PulseResults?
        var reference: (name: String, results: PulseResults, control: GroupResult)?
        if experiment.startTime != nil {
            own = try await pulse.results(project: project, kind: .experiment, name: name, query: options, now: now)
            if let control = Self.control(own!), control.units >= 2, control.mean != 0, control.standardDeviation > 0 {
                reference = (name, own!, control)
            }
        }
        if reference == nil && givenMean == nil {
            reference = try await bestReference(project: project, excluding: name, options: options, now: now)
        }

        let baseline: Estimate.Baseline
        if let givenMean, let givenSD {
            baseline = .init(mean: givenMean, standardDeviation: givenSD, units: nil, source: "entered")
        } else if let reference {
            let whose = reference.name == name ? "this experiment's" : "‘\(reference.name)’'s"
            baseline = .init(mean: reference.control.mean, standardDeviation: reference.control.standardDeviation,
                             units: reference.control.units,
                             source: "\(whose) \(reference.results.subject.arms[0].name) group (\(reference.control.units) units)")
        } else {
            throw ValidationError("mean and sd: no experiment or rollout has measured \(metric) yet; enter the baseline mean and standard deviation")
        }

        var unitsPerDay = givenUnitsPerDay
        var unitsPerDaySource = "entered"
        if unitsPerDay == nil {
            for (results, whose) in [(own, "this experiment's"), (reference?.results, "‘\(reference?.name ?? "")’'s")] {
                guard let results, let rate = Self.dailyExposures(results, now: now) else { continue }
                unitsPerDay = rate
                unitsPerDaySource = "\(whose) exposures, average of recent days"
                break
            }
        }
        if unitsPerDay == nil, let rate = try await dailyUnits(project: project, metric: metric, now: now) {
            let allocation = (experiment.allocation ?? 100) / 100
            unitsPerDay = rate * allocation
            unitsPerDaySource = "units logging the metric's event per day × the allocation (a lower bound of traffic)"
        }
        if unitsPerDay == nil { unitsPerDaySource = "unknown: enter units per day" }

        let analysis = PowerAnalysis(mean: baseline.mean, standardDeviation: baseline.standardDeviation,
                                     weights: groups.map(\.size), alpha: alpha, power: power)
        do { try analysis.validate() } catch let e as PowerAnalysis.InputError { throw ValidationError(e.description) }

        let rows: [Estimate.Row] = unitsPerDay.map { rate in
            Self.durations.map { days in
                let units = rate * Double(days)
                return .init(days: days, units: units, minimumDetectableEffect: Self.finite(analysis.minimumDetectableEffect(units: units)))
            }
        } ?? []
        let target = mde.map { mde in
            let units = Self.finite(analysis.unitsNeeded(relativeEffect: mde))
            return Estimate.Target(minimumDetectableEffect: mde, units: units, days: units.flatMap { u in unitsPerDay.flatMap { Self.finite(u / $0) } })
        }
        return Estimate(metric: metric, alpha: alpha, power: power, groups: groups.map(\.name), weights: groups.map(\.size),
                        baseline: baseline, unitsPerDay: unitsPerDay, unitsPerDaySource: unitsPerDaySource,
                        durations: rows, target: target)
    }

    static func finite(_ x: Double) -> Double? { x.isFinite ? x : nil }

    /// 1 for 1.0, 1e+15 for 1e15: the bounds as a reader would write them.
    static func plain(_ d: Double) -> String { String(format: "%g", d) }

    static func control(_ results: PulseResults) -> GroupResult? {
        results.metrics.first?.comparisons.first?.effect.control
    }

    /// The other experiment or gate rollout whose control group has the most units with the metric.
    func bestReference(project: String, excluding name: String, options: [String: String], now: Int64) async throws
        -> (name: String, results: PulseResults, control: GroupResult)?
    {
        var candidates: [(PulseSubject.Kind, Entity)] = []
        for e in try await pulse.store.entities(project: project, kind: .experiment) where e.name != name && e.startTime != nil {
            candidates.append((.experiment, e))
        }
        for g in try await pulse.store.entities(project: project, kind: .gate)
        where (g.rules ?? []).contains(where: { $0.passPercentage > 0 && $0.passPercentage < 100 }) {
            candidates.append((.gate, g))
        }
        candidates.sort { ($0.1.startTime ?? 0) > ($1.1.startTime ?? 0) }
        var best: (name: String, results: PulseResults, control: GroupResult)?
        for (kind, e) in candidates.prefix(Self.maxReferences) {
            // A subject the metric does not apply to, or that cannot be analysed, is skipped.
            guard let results = try? await pulse.results(project: project, kind: kind, name: e.name, query: options, now: now),
                  let control = Self.control(results), control.units >= 2,
                  control.mean != 0, control.standardDeviation > 0  // its units logged the metric's event
            else { continue }
            if control.units > best?.control.units ?? 0 { best = (e.name, results, control) }
        }
        return best
    }

    /// New units exposed per day, averaged over the last 7 days with exposures before today.
    static func dailyExposures(_ results: PulseResults, now: Int64) -> Double? {
        let today = PulseDay.label(PulseDay.of(now))
        let days = results.exposuresPerDay.filter { $0.key != today }.sorted { $0.key > $1.key }.prefix(7)
        let totals = days.map { $0.value.values.reduce(0, +) }
        guard !totals.isEmpty else {
            // Exposures only today so far: today's count is a floor for a day's.
            let todays = results.exposuresPerDay[today]?.values.reduce(0, +) ?? 0
            return todays > 0 ? Double(todays) : nil
        }
        return Double(totals.reduce(0, +)) / Double(totals.count)
    }

    /// Units that logged the metric's event per day, over the last 7 days with any before today.
    func dailyUnits(project: String, metric: String, now: Int64) async throws -> Double? {
        guard let m = try await pulse.metrics.resolve(project, metric) else { return nil }
        var source = m.source
        if source == nil, let denominator = m.denominator { source = try await pulse.metrics.resolve(project, denominator)?.source }
        guard let source else { return nil }
        let today = PulseDay.of(now)
        let days = try await pulse.store.pulseSeries(project: project, source: source)
            .filter { $0.day != today && $0.units > 0 }.sorted { $0.day > $1.day }.prefix(7)
        guard !days.isEmpty else { return nil }
        return Double(days.map(\.units).reduce(0, +)) / Double(days.count)
    }
}
