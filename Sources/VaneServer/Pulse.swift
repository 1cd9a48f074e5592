import Foundation
import Logging
import Prometheus
import ServiceLifecycle
import VaneCore
import VanePulse
import VaneStats
import VaneStore

/// Experiment and gate-rollout results (Pulse), from the incremental rollups in the store.
///
/// A unit's group is its first exposure; units exposed to two groups are excluded and counted;
/// events count from the first exposure on (within the experiment's analysis window when set);
/// CUPED uses the same metric over the 7 UTC days before the day of the first exposure.
struct PulseService: Sendable {
    typealias Store = PulseRepository & ConfigRepository & MetricRepository
    let store: any Store
    var metrics: MetricStore { MetricStore(store: store) }
    /// Events per rollup run at most; the store may advise fewer (SQLite: as many as fit a short hold of its writer).
    static let batchSize = 25_000

    // MARK: - Rollups

    /// What the rollup job tracks, from the current experiments, gates and metrics.
    func catalog(_ project: String) async throws -> PulseCatalog {
        PulseCatalog(
            experiments: try await store.entities(project: project, kind: .experiment),
            gates: try await store.entities(project: project, kind: .gate),
            metrics: Array(try await metrics.all(project).values),
            holdouts: try await store.entities(project: project, kind: .holdout))
    }

    /// Processes the event log until the rollups are current or `budget` runs out.
    @discardableResult
    /// The returned progress counts every event processed in this call, its other fields are the last batch's.
    func catchUp(_ project: String, budget: Duration = .seconds(20)) async throws -> PulseProgress {
        let deadline = ContinuousClock.now + budget
        var processed = 0
        while true {
            // Read again for every batch: an experiment created meanwhile may already have exposures.
            let size = min(Self.batchSize, store.pulseEventsPerRun)
            var p = try await store.pulseRollup(project: project, maxEvents: size) { try await catalog(project) }
            processed += p.processed
            p.processed = processed
            if p.behind == 0 || ContinuousClock.now >= deadline { return p }
        }
    }

    // MARK: - Results

    /// What the results compare, and the entity it comes from (its split history and guardrails).
    func subject(_ project: String, kind: PulseSubject.Kind, name: String) async throws -> (PulseSubject, Entity) {
        let entityKind: EntityKind = switch kind {
        case .experiment: .experiment
        case .gate: .gate
        case .holdout: .holdout
        }
        guard let e = try await store.entity(project: project, kind: entityKind, name: name) else {
            throw StoreError.notFound("no \(kind.rawValue) named '\(name)'")
        }
        switch kind {
        case .experiment: return (try PulseSubject(experiment: e), e)
        case .gate: return (try PulseSubject(gate: e), e)
        case .holdout: return (PulseSubject(holdout: e), e)
        }
    }

    /// Results as a results request's `query` asks, or with `options` given outright (the guardrail watch).
    func results(
        project: String, kind: PulseSubject.Kind, name: String, query: [String: String] = [:], options given: PulseAnalysisOptions? = nil,
        now: Int64
    ) async throws -> PulseResults {
        var options = try given ?? PulseAnalysisOptions(query: query)
        let (subject, entity) = try await subject(project, kind: kind, name: name)
        // Bounded: a large backlog (a rebuild) is left to the background job and reported as `rollup.eventsBehind`.
        let progress = try await catchUp(project, budget: .seconds(5))
        var data = try await store.pulseArms(project: project, subject: subject.key, unitType: subject.idType)
        let userMetrics = try await metrics.all(project)
        var unitRows: @Sendable ([String]) async throws -> [PulseUnitRow] = { [store] in
            try await store.pulseUnitValues(project: project, subject: subject.key, unitType: subject.idType, sources: $0)
        }
        let range = try PulseTimeRange(query: query)
        let wantsCumulative = try PulseAnalysisOptions.flag("cumulative", query) ?? false
        // A range analyses every metric, so its timeline reads every source; the cumulative series
        // alone reads only its metrics' sources (below).
        var timeline: PulseTimeline?
        if range != nil {
            timeline = try await self.timeline(project, subject, entity, sources: Set(data.sums.values.flatMap(\.keys)).sorted())
        }
        if let range, let timeline {
            let (ranged, rows) = timeline.asOf(day: range.toDay ?? PulseDay.of(now), from: range.fromDay)
            let crossovers = data.crossovers
            data = ranged
            data.crossovers = crossovers
            unitRows = { wanted in let wanted = Set(wanted); return rows.filter { wanted.contains($0.source) } }
        }

        // Every event its units logged gives automatic metrics (value metrics for events that have
        // ever carried a value in the project); user metrics come after.
        let seenSources = Set(data.sums.values.flatMap(\.keys)).filter { !$0.hasPrefix("filtered:") }
        let valued = try await valuedSources(project)
        var definitions: [MetricDefinition] = seenSources.sorted().flatMap { event in
            MetricDefinition.automaticTypes(valued: valued.contains(event)).map { MetricDefinition.automatic($0 + ":" + event)! }
        }
        definitions += userMetrics.values.sorted { $0.name < $1.name }
        if let wanted = options.metricFilter {
            var picked: [MetricDefinition] = []
            for id in wanted {
                guard let m = MetricDefinition.named(id, in: userMetrics) else {
                    throw ValidationError("metrics: no metric named '\(id)'")
                }
                picked.append(m)
            }
            definitions = picked
        }
        let treatments = subject.arms.count - 1
        if options.correction == .bonferroni { options.analysis.comparisons = max(1, definitions.count * treatments) }

        let (groups, split) = Self.groups(subject, data)
        var srm = split
        var srmPeriods: [SRMPeriod]? = nil
        if let history = entity.splitHistory, history.count > 1 {
            srmPeriods = SRMPeriod.periods(history: history, arms: subject.arms, exposureDays: data.exposureDays)
            srm = srmPeriods?.last?.srm
        }

        let effects = try await metricEffects(
            subject: subject, data: data, definitions: definitions, userMetrics: userMetrics, options: options, unitRows: unitRows)

        var exposuresPerDay: [String: [String: Int]] = [:]
        for (day, arms) in data.exposureDays {
            var row: [String: Int] = [:]
            for a in subject.arms { if let n = arms[a.arm] { row[a.name] = n } }
            exposuresPerDay[PulseDay.label(day)] = row
        }
        let setAside = try await store.pulseSetAside(project: project, limit: 0)
        var results = PulseResults(
            subject: subject, computedAt: now,
            groups: groups,
            crossovers: data.crossovers, srm: srm, exposuresPerDay: exposuresPerDay, options: options,
            rollup: PulseResults.Rollup(eventsBehind: progress.behind, cursor: progress.cursor, setAsideReasons: setAside.counts),
            metrics: Self.metricResults(effects, subject: subject))
        results.srmPeriods = srmPeriods
        if let dimension = query["dimension"], !dimension.isEmpty {  // the console's form sends an empty field
            results.drillDown = try await drillDown(
                project: project, subject: subject, dimension: dimension, sliceLimit: try Self.sliceLimit(query), data: data,
                definitions: definitions, userMetrics: userMetrics, options: options)
        }
        let guardrails = entity.guardrails ?? []
        results.primaryMetrics = entity.primaryMetrics ?? []
        for i in results.metrics.indices {
            results.metrics[i].guardrail = guardrails.first { $0.metric == results.metrics[i].metric }
            results.metrics[i].primary = results.primaryMetrics.contains(results.metrics[i].metric)
        }
        results.metrics = Self.ordered(results.metrics, first: results.primaryMetrics + guardrails.map(\.metric))
        results.range = range
        if wantsCumulative {
            // The metrics asked for, else the primary ones that have data, else the first metric.
            let analysed = Set(results.metrics.map(\.metric))
            let primary = results.primaryMetrics.filter(analysed.contains)
            let wanted = options.metricFilter ?? (primary.isEmpty ? results.metrics.prefix(1).map(\.metric) : primary)
            let definitions = try wanted.prefix(Self.maxCumulativeMetrics).map { id -> MetricDefinition in
                guard let m = MetricDefinition.named(id, in: userMetrics) else { throw ValidationError("metrics: no metric named '\(id)'") }
                return m
            }
            let series: PulseTimeline
            if let timeline { series = timeline } else {
                series = try await self.timeline(project, subject, entity, sources: Self.sources(of: definitions, userMetrics: userMetrics))
            }
            results.cumulative = try await cumulative(
                subject: subject, timeline: series, definitions: definitions, userMetrics: userMetrics, options: options, range: range, now: now)
        }
        if range != nil, timeline?.interpolated == true {
            for i in results.metrics.indices {
                for j in results.metrics[i].comparisons.indices {
                    results.metrics[i].comparisons[j].effect.notes.append(Self.interpolationNote)
                }
            }
        }
        return results
    }

    static let maxCumulativeMetrics = 5
    /// The most days a cumulative series has; a longer run is sampled evenly (its last day kept).
    static let maxCumulativePoints = 60
    static let interpolationNote = "A time range splits a day that holds a unit's window end by interpolating over that day's events; other days are exact."

    /// The subject's units and their days, for results as they stood on earlier days.
    func timeline(_ project: String, _ subject: PulseSubject, _ entity: Entity, sources: [String]) async throws -> PulseTimeline {
        let rows = try await store.pulseTimelineRows(project: project, subject: subject.key, unitType: subject.idType, sources: sources)
        let values = try await store.pulseUnitValues(project: project, subject: subject.key, unitType: subject.idType, sources: sources)
        let window = subject.kind == .experiment ? entity.analysisWindowDays : nil
        return PulseTimeline(units: rows.units, values: values, days: rows.days, windowDays: window)
    }

    /// The rollup sources the metrics read: their own, or a ratio's numerator's and denominator's.
    static func sources(of definitions: [MetricDefinition], userMetrics: [String: MetricDefinition]) -> [String] {
        var out = Set<String>()
        for m in definitions {
            if let s = m.source { out.insert(s) }
            for part in [m.numerator, m.denominator] {
                if let s = MetricDefinition.named(part, in: userMetrics)?.source { out.insert(s) }
            }
        }
        return out.sorted()
    }

    /// Each metric's relative effect per treatment at the end of each day from the first exposure
    /// to the range's end (or today), CUPED and the other options as the results use them.
    private func cumulative(
        subject: PulseSubject, timeline: PulseTimeline, definitions: [MetricDefinition], userMetrics: [String: MetricDefinition],
        options: PulseAnalysisOptions, range: PulseTimeRange?, now: Int64
    ) async throws -> [PulseResults.Cumulative] {
        guard let exposed = timeline.firstDay else { return [] }
        let first = max(exposed, range?.fromDay ?? exposed)
        let last = range?.toDay ?? PulseDay.of(now)
        guard first <= last else { return [] }
        let step = max(1, Int((last - first) / Int64(Self.maxCumulativePoints)) + 1)
        var days = Array(stride(from: last, through: first, by: -step).reversed())
        if days.first != first && days.count < Self.maxCumulativePoints { days.insert(first, at: 0) }
        var series: [String: [PulseResults.Cumulative.Point]] = [:]
        for day in days {
            let (data, rows) = timeline.asOf(day: day, from: range?.fromDay)
            let effects = try await metricEffects(subject: subject, data: data, definitions: definitions, userMetrics: userMetrics, options: options) { wanted in
                let wanted = Set(wanted)
                return rows.filter { wanted.contains($0.source) }
            }
            for (m, _, comparisons) in effects {
                for (arm, effect) in zip(subject.arms.dropFirst(), comparisons) {
                    let units = [subject.arms[0], arm].map { data.units[$0.arm] ?? 0 }
                    let relative = effect.relative.flatMap { $0.estimate.isFinite && $0.lower.isFinite && $0.upper.isFinite ? $0 : nil }
                    series[m.name + "\u{0}" + arm.name, default: []].append(.init(day: PulseDay.label(day), units: units, relative: relative))
                }
            }
        }
        return definitions.flatMap { m in
            subject.arms.dropFirst().map { arm in
                PulseResults.Cumulative(metric: m.name, group: arm.name, points: series[m.name + "\u{0}" + arm.name] ?? [])
            }
        }
    }

    /// The metrics named in `first` (primary metrics, then guardrails) in that order, then the
    /// others in the order they had.
    static func ordered(_ metrics: [PulseResults.Metric], first: [String]) -> [PulseResults.Metric] {
        var rank: [String: Int] = [:]
        for (i, m) in first.enumerated() where rank[m] == nil { rank[m] = i }
        return metrics.enumerated().sorted { a, b in
            (rank[a.element.metric] ?? Int.max, a.offset) < (rank[b.element.metric] ?? Int.max, b.offset)
        }.map(\.element)
    }

    typealias MetricEffects = [(metric: MetricDefinition, kind: MetricKind, comparisons: [EffectResult])]

    /// Each metric's effects, treatment by treatment against control, from an arm's rollups and
    /// (for metrics that need them: winsorized, ratio) its units' values.
    private func metricEffects(
        subject: PulseSubject, data: PulseArmData, definitions: [MetricDefinition], userMetrics: [String: MetricDefinition],
        options: PulseAnalysisOptions, unitRows: (_ sources: [String]) async throws -> [PulseUnitRow]
    ) async throws -> MetricEffects {
        var effects: MetricEffects = []
        for m in definitions {
            var rows: [PulseUnitRow] = []
            if let sources = try MetricSummaries.unitRowSources(for: m, userMetrics: userMetrics, winsorize: options.winsorize) {
                rows = try await unitRows(sources)
            }
            let (kind, summaries, notes) = try MetricSummaries.summaries(
                subject: subject, data: data, metric: m, userMetrics: userMetrics, winsorize: options.winsorize, unitRows: rows)
            let control = summaries[0]
            effects.append((m, kind, summaries.dropFirst().map { treatment in
                var effect = StatsEngine.compare(control: control, treatment: treatment, kind: kind, options: options.analysis)
                if options.analysis.cuped.enabled, kind != .ratio, !control.hasCovariate, !treatment.hasCovariate {
                    effect.cuped.note = "CUPED skipped: no unit has events in the 7 days before its first exposure"
                    effect.notes.append(effect.cuped.note!)
                }
                effect.notes += notes
                return effect
            }))
        }
        if options.correction == .benjaminiHochberg { MultipleComparisons.adjustFalseDiscoveryRate(&effects) }
        return effects
    }

    static func metricResults(_ effects: MetricEffects, subject: PulseSubject) -> [PulseResults.Metric] {
        effects.map { m, kind, comparisons in
            PulseResults.Metric(m, kind: kind, comparisons: zip(subject.arms.dropFirst(), comparisons).map { arm, effect in
                PulseResults.Comparison(group: arm.name, effect: Self.writable(effect))
            })
        }
    }

    /// Each arm's units, and the sample-ratio check of that split when every arm has a weight and
    /// there are units.
    static func groups(_ subject: PulseSubject, _ data: PulseArmData) -> ([PulseResults.Group], SRMResult?) {
        let counts = subject.arms.map { data.units[$0.arm] ?? 0 }
        let weights = subject.arms.compactMap(\.weight)
        var srm: SRMResult? = nil
        if counts.reduce(0, +) > 0, weights.count == counts.count, weights.allSatisfy({ $0 > 0 }) {
            srm = SampleRatioMismatch.test(observed: counts, weights: weights)
        }
        return (zip(subject.arms, counts).map { PulseResults.Group(name: $0.name, units: $1, weight: $0.weight) }, srm)
    }

    static let defaultSliceLimit = 10

    static func sliceLimit(_ query: [String: String]) throws -> Int {
        guard let text = query["sliceLimit"], !text.isEmpty else { return defaultSliceLimit }
        guard let n = Int(text), (1...50).contains(n) else { throw ValidationError("sliceLimit: a whole number from 1 to 50, not '\(text)'") }
        return n
    }

    /// The results split by one drill-down field. Reads the subject's assignments (with the field)
    /// and its units' values once: O(units + unit values) of this subject, never the event log.
    private func drillDown(
        project: String, subject: PulseSubject, dimension: String, sliceLimit: Int, data: PulseArmData,
        definitions: [MetricDefinition], userMetrics: [String: MetricDefinition], options: PulseAnalysisOptions
    ) async throws -> PulseResults.DrillDown {
        typealias DrillDown = PulseResults.DrillDown
        guard PulseDimensions.isValidName(dimension) else {
            throw ValidationError("dimension: a field name of letters, digits and _ . : - (up to 64), such as country, environment or custom.plan; not '\(dimension)'")
        }
        let units = try await store.pulseUnitDimension(project: project, subject: subject.key, unitType: subject.idType, dimension: dimension)
        var sizes: [String: Int] = [:]
        for u in units { if let v = u.value { sizes[v, default: 0] += 1 } }
        let kept = Set(sizes.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(sliceLimit).map(\.key))
        var sliceOf: [String: String] = [:]
        var sliceData: [String: PulseArmData] = [:]
        for u in units {
            let slice = u.value.map { kept.contains($0) ? $0 : DrillDown.other } ?? DrillDown.missing
            sliceOf[u.unit] = slice
            sliceData[slice, default: PulseArmData()].units[u.arm, default: 0] += 1
        }
        let sources = Array(Set(data.sums.values.flatMap(\.keys))).sorted()
        let rows = try await store.pulseUnitValues(project: project, subject: subject.key, unitType: subject.idType, sources: sources)
        var rowsBySlice: [String: [PulseUnitRow]] = [:]
        for r in rows {
            guard let slice = sliceOf[r.unit] else { continue }
            sliceData[slice]!.sums[r.arm, default: [:]][r.source, default: ArmSums()].add(ArmSums(unit: r.values))
            rowsBySlice[slice, default: []].append(r)
        }

        // Largest slices first; the pooled rest and the units without the field last.
        let order = sliceData.keys.sorted { a, b in
            let rank = { (s: String) in s == DrillDown.missing ? 2 : s == DrillDown.other ? 1 : 0 }
            let ua = sliceData[a]!.units.values.reduce(0, +), ub = sliceData[b]!.units.values.reduce(0, +)
            return (rank(a), -ua, a) < (rank(b), -ub, b)
        }
        var slices: [DrillDown.Slice] = []
        var sliceEffects: [MetricEffects] = []
        for value in order {
            let d = sliceData[value]!
            let (groups, srm) = Self.groups(subject, d)
            let sliceRows = rowsBySlice[value] ?? []
            let effects = try await metricEffects(subject: subject, data: d, definitions: definitions, userMetrics: userMetrics, options: options) { wanted in
                let wanted = Set(wanted)
                return sliceRows.filter { wanted.contains($0.source) }
            }
            sliceEffects.append(effects)
            slices.append(DrillDown.Slice(value: value, groups: groups, srm: srm, metrics: Self.metricResults(effects, subject: subject)))
        }

        var interactions: [DrillDown.Interaction] = []
        for (m, definition) in definitions.enumerated() {
            for (t, arm) in subject.arms.dropFirst().enumerated() {
                let estimates = sliceEffects.compactMap { effects -> (estimate: Double, standardError: Double)? in
                    guard let a = effects[m].comparisons[t].absolute else { return nil }
                    return (a.estimate, a.standardError)
                }
                let test = Heterogeneity.cochranQ(estimates)
                interactions.append(DrillDown.Interaction(
                    metric: definition.name, group: arm.name, test: test, heterogeneous: (test?.pValue ?? 1) < options.analysis.alpha))
            }
        }
        let comparisons = slices.count * definitions.count * max(1, subject.arms.count - 1)
        var notes = [
            "Each slice is analysed on its own, with the same options as the whole results. Across \(comparisons) slice comparisons "
                + "a share α = \(options.analysis.alpha) of them will look significant by chance: read a slice's result as a lead to check, not as a finding.",
            "Interaction: Cochran's Q over the slices' absolute effects (slices without an estimate are left out), flagged when p < \(options.analysis.alpha).",
        ]
        if sliceData[DrillDown.other] != nil { notes.append("'\(DrillDown.other)' pools the values beyond the \(sliceLimit) largest.") }
        if sliceData[DrillDown.missing] != nil { notes.append("'\(DrillDown.missing)': units whose first exposure did not carry \(dimension).") }
        return DrillDown(dimension: dimension, sliceLimit: sliceLimit, slices: slices, interactions: interactions, notes: notes)
    }

    /// An effect as it can be written: one whose numbers are not all finite (JSON has no NaN) keeps
    /// its group figures and loses its estimates, with a note, instead of failing the whole response.
    static func writable(_ effect: EffectResult) -> EffectResult {
        if (try? JSONEncoder().encode(effect)) != nil { return effect }
        var e = effect
        e.absolute = nil
        e.relative = nil
        e.bayesian = nil
        e.notes.append("no estimate: a statistic is not a finite number")
        if (try? JSONEncoder().encode(e)) != nil { return e }
        func bare(_ g: GroupResult) -> GroupResult {
            GroupResult(units: g.units, mean: 0, variance: 0, standardDeviation: 0, adjustedMean: nil, adjustedVariance: nil, unitsWithPreData: 0)
        }
        e.control = bare(effect.control)
        e.treatment = bare(effect.treatment)
        e.cuped = CUPEDInfo()
        return e
    }

    /// Events the rollup could not use and left out of every metric, with the reason, newest first.
    func setAside(_ project: String, limit: Int) async throws -> JSONValue {
        let (counts, recent) = try await store.pulseSetAside(project: project, limit: limit)
        return [
            "total": .int(Int64(counts.values.reduce(0, +))),
            "reasons": .object(counts.mapValues { .int(Int64($0)) }),
            "events": .array(recent.map {
                ["eventID": .int($0.eventID), "eventName": .string($0.eventName), "time": .int($0.time),
                 "reason": .string($0.reason.rawValue), "detail": .string($0.detail)]
            }),
        ]
    }

    /// Events that have carried a value (their value sum is not 0).
    func valuedSources(_ project: String) async throws -> Set<String> {
        Set(try await store.pulseSources(project: project).filter { $0.valueSum != 0 }.map(\.source))
    }

    func metricList(_ project: String) async throws -> [MetricListing] {
        _ = try await catchUp(project, budget: .seconds(5))
        var out: [MetricListing] = []
        for t in try await store.pulseSources(project: project) where !t.source.hasPrefix("filtered:") {
            for type in MetricDefinition.automaticTypes(valued: t.valueSum != 0) {
                out.append(MetricListing(name: "\(type):\(t.source)", automatic: .init(
                    type: type, event: t.source, events: t.events,
                    firstSeen: PulseDay.label(t.firstDay), lastSeen: PulseDay.label(t.lastDay))))
            }
        }
        for m in try await metrics.all(project).values.sorted(by: { $0.name < $1.name }) {
            out.append(MetricListing(name: m.name, definition: m))
        }
        return out
    }

    func series(_ project: String, metric id: String) async throws -> MetricSeries {
        guard let m = try await metrics.resolve(project, id) else { throw StoreError.notFound("no metric named '\(id)'") }
        _ = try await catchUp(project, budget: .seconds(5))
        func days(_ source: String) async throws -> [MetricSeries.Day] {
            try await store.pulseSeries(project: project, source: source).map {
                .init(day: PulseDay.label($0.day), events: $0.events, units: $0.units, sum: $0.valueSum)
            }
        }
        if m.type == .ratio {
            guard let num = try await metrics.resolve(project, m.numerator ?? ""), let ns = num.source,
                  let den = try await metrics.resolve(project, m.denominator ?? ""), let ds = den.source
            else { throw ValidationError("ratio metric '\(id)' refers to a metric that no longer exists") }
            let numerator = try await days(ns)
            return MetricSeries(metric: id, type: "ratio", days: numerator, numerator: numerator, denominator: try await days(ds))
        }
        return MetricSeries(metric: id, type: m.type.rawValue, days: try await days(m.source!))
    }
}

/// Keeps the rollups current in the background so results requests find little left to do.
struct PulseRollupService: Service {
    let store: any PulseService.Store & SettingsRepository
    let logger: Logger
    /// Runs only while this node holds the lease (results requests on any node still catch up the
    /// rollup first; the store serialises the runs).
    let lease: JobLease
    /// Run once the rollup has caught up with a burst: its page cache and heap grow with one.
    let reclaimer: MemoryReclaimer
    /// `vane_pulse_rollup_events_behind{project}`: events logged that the rollup has not read yet.
    let metrics: PrometheusCollectorRegistry
    var interval: Duration = .seconds(1)
    static let burstEvents = 20_000

    static func configured(_ config: AppConfig, _ services: VaneServices, logger: Logger) -> [any Service] {
        guard let interval = config.rollupInterval else { return [] }
        return [PulseRollupService(
            store: services.store, logger: logger, lease: services.rollupLease, reclaimer: services.memoryReclaimer,
            metrics: services.metrics, interval: interval)]
    }

    func run() async throws {
        let pulse = PulseService(store: store)
        await cancelWhenGracefulShutdown {
            var processedSinceReclaim = 0
            while !Task.isCancelled {
                do {
                    var caughtUp = true
                    for project in try await store.projects() where lease.isHeld {
                        let progress = try await pulse.catchUp(project, budget: .seconds(2))
                        metrics.makeGauge(name: "vane_pulse_rollup_events_behind", labels: [("project", project)]).set(Int64(progress.behind))
                        processedSinceReclaim += progress.processed
                        caughtUp = caughtUp && progress.behind == 0
                    }
                    if caughtUp, processedSinceReclaim >= Self.burstEvents {
                        processedSinceReclaim = 0
                        await reclaimer.reclaim()
                    }
                    // Behind: straight on. The run ended on its time budget, and ingest gets the
                    // writer between its transactions.
                    if !caughtUp { continue }
                } catch where Task.isCancelled {
                    break  // shutting down: not a failure
                } catch {
                    logger.warning("pulse rollup failed: \(error)")
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
