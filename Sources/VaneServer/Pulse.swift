import Foundation
import Logging
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
    static let batchSize = 25_000

    // MARK: - Rollups

    /// What the rollup job tracks, from the current experiments, gates and metrics.
    func catalog(_ project: String) async throws -> PulseCatalog {
        PulseCatalog(
            experiments: try await store.entities(project: project, kind: .experiment),
            gates: try await store.entities(project: project, kind: .gate),
            metrics: Array(try await metrics.all(project).values))
    }

    /// Processes the event log until the rollups are current or `budget` runs out.
    @discardableResult
    func catchUp(_ project: String, budget: Duration = .seconds(20)) async throws -> PulseProgress {
        let catalog = try await catalog(project)
        let deadline = ContinuousClock.now + budget
        while true {
            let p = try await store.pulseRollup(project: project, catalog: catalog, maxEvents: Self.batchSize)
            if p.behind == 0 || ContinuousClock.now >= deadline { return p }
        }
    }

    // MARK: - Results

    func subject(_ project: String, kind: PulseSubject.Kind, name: String) async throws -> PulseSubject {
        guard let e = try await store.entity(project: project, kind: kind == .experiment ? .experiment : .gate, name: name) else {
            throw StoreError.notFound("no \(kind.rawValue) named '\(name)'")
        }
        return kind == .experiment ? try PulseSubject(experiment: e) : try PulseSubject(gate: e)
    }

    func results(project: String, kind: PulseSubject.Kind, name: String, query: [String: String] = [:], now: Int64) async throws -> JSONValue {
        var options = try PulseAnalysisOptions(query: query)
        let subject = try await subject(project, kind: kind, name: name)
        // Bounded: a large backlog (a rebuild) is left to the background job and reported as `rollup.eventsBehind`.
        let progress = try await catchUp(project, budget: .seconds(5))
        let data = try await store.pulseArms(project: project, subject: subject.key, unitType: subject.idType)
        let userMetrics = try await metrics.all(project)

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

        let counts = subject.arms.map { data.units[$0.arm] ?? 0 }
        var srm: JSONValue = .null
        let weights = subject.arms.compactMap(\.weight)
        if counts.reduce(0, +) > 0, weights.count == counts.count, weights.allSatisfy({ $0 > 0 }) {
            srm = encodeToJSON(SampleRatioMismatch.test(observed: counts, weights: weights))
        }

        var effects: [(metric: MetricDefinition, kind: MetricKind, comparisons: [EffectResult])] = []
        for m in definitions {
            var rows: [PulseUnitRow] = []
            if let sources = try MetricSummaries.unitRowSources(for: m, userMetrics: userMetrics, winsorize: options.winsorize) {
                rows = try await store.pulseUnitValues(project: project, subject: subject.key, unitType: subject.idType, sources: sources)
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

        var metricsJSON: [JSONValue] = []
        for (m, kind, comparisons) in effects {
            let comparisonsJSON: [JSONValue] = zip(subject.arms.dropFirst(), comparisons).map { arm, effect in
                guard case .object(var o) = encodeToJSON(effect) else { return .null }
                o["group"] = .string(arm.name)
                o["isSignificant"] = .bool(effect.isSignificant)
                return .object(o)
            }
            var entry: [String: JSONValue] = [
                "metric": .string(m.name), "type": .string(m.type.rawValue), "kind": .string(kind.rawValue),
                "comparisons": .array(comparisonsJSON),
            ]
            if let e = m.event { entry["event"] = .string(e) }
            if let d = m.description { entry["description"] = .string(d) }
            metricsJSON.append(.object(entry))
        }

        var exposuresPerDay: [String: JSONValue] = [:]
        for (day, arms) in data.exposureDays {
            var row: [String: JSONValue] = [:]
            for a in subject.arms { if let n = arms[a.arm] { row[a.name] = .int(Int64(n)) } }
            exposuresPerDay[PulseDay.label(day)] = .object(row)
        }
        return [
            kind == .experiment ? "experiment" : "gate": .string(name), "subjectKind": .string(kind.rawValue),
            "idType": .string(subject.idType), "computedAt": .int(now), "controlGroup": .string(subject.arms[0].name),
            "groups": .array(zip(subject.arms, counts).map { arm, n in
                ["name": .string(arm.name), "units": .int(Int64(n)), "weight": arm.weight.map(JSONValue.double) ?? .null]
            }),
            "crossovers": .int(Int64(data.crossovers)),
            "srm": srm,
            "exposuresPerDay": .object(exposuresPerDay),
            "options": options.json,
            "rollup": try await rollupJSON(project, progress),
            "metrics": .array(metricsJSON),
        ]
    }

    /// The rollup's progress, and how many events it set aside (see `setAside`).
    func rollupJSON(_ project: String, _ progress: PulseProgress) async throws -> JSONValue {
        let setAside = try await store.pulseSetAside(project: project, limit: 0)
        return [
            "eventsBehind": .int(Int64(progress.behind)), "cursor": .int(progress.cursor),
            "eventsSetAside": .int(Int64(setAside.counts.values.reduce(0, +))),
            "setAsideReasons": .object(setAside.counts.mapValues { .int(Int64($0)) }),
        ]
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

    func metricList(_ project: String) async throws -> JSONValue {
        _ = try await catchUp(project, budget: .seconds(5))
        let totals = try await store.pulseSources(project: project)
        var out: [JSONValue] = []
        for t in totals where !t.source.hasPrefix("filtered:") {
            for type in MetricDefinition.automaticTypes(valued: t.valueSum != 0) {
                out.append([
                    "name": .string("\(type):\(t.source)"), "type": .string(type), "event": .string(t.source),
                    "automatic": .bool(true), "events": .int(Int64(t.events)),
                    "firstSeen": .string(PulseDay.label(t.firstDay)), "lastSeen": .string(PulseDay.label(t.lastDay)),
                ])
            }
        }
        for m in try await metrics.all(project).values.sorted(by: { $0.name < $1.name }) {
            guard case .object(var o) = encodeToJSON(m) else { continue }
            o["automatic"] = .bool(false)
            out.append(.object(o))
        }
        return .array(out)
    }

    func series(_ project: String, metric id: String) async throws -> JSONValue {
        guard let m = try await metrics.resolve(project, id) else { throw StoreError.notFound("no metric named '\(id)'") }
        _ = try await catchUp(project, budget: .seconds(5))
        func days(_ source: String) async throws -> JSONValue {
            .array(try await store.pulseSeries(project: project, source: source).map {
                ["day": .string(PulseDay.label($0.day)), "events": .int(Int64($0.events)), "units": .int(Int64($0.units)),
                 "sum": .double($0.valueSum)]
            })
        }
        if m.type == .ratio {
            guard let num = try await metrics.resolve(project, m.numerator ?? ""), let ns = num.source,
                  let den = try await metrics.resolve(project, m.denominator ?? ""), let ds = den.source
            else { throw ValidationError("ratio metric '\(id)' refers to a metric that no longer exists") }
            return ["metric": .string(id), "type": .string("ratio"), "numerator": try await days(ns),
                    "denominator": try await days(ds), "days": try await days(ns)]
        }
        return ["metric": .string(id), "type": .string(m.type.rawValue), "days": try await days(m.source!)]
    }
}

/// Keeps the rollups current in the background so results requests find little left to do.
struct PulseRollupService: Service {
    let store: any PulseService.Store & SettingsRepository
    let logger: Logger
    /// Runs only while this node holds the lease (results requests on any node still catch up the
    /// rollup first; the store serialises the runs).
    let lease: JobLease
    var interval: Duration = .seconds(1)

    func run() async throws {
        let pulse = PulseService(store: store)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    for project in try await store.projects() where lease.isHeld {
                        try await pulse.catchUp(project, budget: .seconds(2))
                    }
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

extension PulseAnalysisOptions {
    /// The options as results show them.
    var json: JSONValue {
        [
            "alpha": .double(analysis.alpha), "sequential": .bool(analysis.sequential),
            "sequentialTuning": .double(analysis.sequentialTuningParameter), "cuped": .bool(analysis.cuped.enabled),
            "correction": .string(correction.rawValue), "bonferroni": .bool(correction == .bonferroni),
            "engine": .string(analysis.bayesianPrior == nil ? "frequentist" : "bayesian"),
            "prior": analysis.bayesianPrior.map { encodeToJSON($0) } ?? .null,
            "winsorize": .bool(winsorize),
            "winsorizeQuantile": .double(Winsorization.defaultQuantile),
            "minUnits": .int(Int64(analysis.minimumSample.minUnitsPerGroup)),
            "minConversions": .int(Int64(analysis.minimumSample.minConversionsPerGroup)),
        ]
    }
}
