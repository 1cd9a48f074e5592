import Foundation
import Logging
import ServiceLifecycle
import VaneCore
import VaneStats
import VaneStore

/// Experiment and gate-rollout results (Pulse), from the incremental rollups in the store.
///
/// A unit's group is its first exposure; units exposed to two groups are excluded and counted;
/// events count from the first exposure on (within the experiment's analysis window when set);
/// CUPED uses the same metric over the 7 UTC days before the day of the first exposure.
struct PulseService: Sendable {
    let store: any VaneStore
    var metrics: MetricStore { MetricStore(store: store) }
    static let batchSize = 25_000

    // MARK: - Rollups

    /// What the rollup job tracks, from the current experiments, gates and metrics.
    func catalog(_ project: String) async throws -> PulseCatalog {
        var unitTypes: Set<String> = ["userID"]
        var experiments: [String: Set<String>] = [:]
        var gates: [String: Set<String>] = [:]
        var windows: [String: Int] = [:]
        for e in try await store.entities(project: project, kind: .experiment) {
            unitTypes.insert(e.effectiveIdType)
            experiments[e.name] = Set(Self.groupsByRule(e).keys)
            if let w = e.analysisWindowDays { windows[PulseCatalog.experimentSubject(e.name)] = w }
        }
        for g in try await store.entities(project: project, kind: .gate) {
            let partial = Set((g.rules ?? []).filter { $0.passPercentage > 0 && $0.passPercentage < 100 }.compactMap(\.id))
            if !partial.isEmpty {
                gates[g.name] = partial
                unitTypes.insert(g.effectiveIdType)
            }
        }
        let sources = try await metrics.all(project).values.compactMap(\.pulseSource)
        return PulseCatalog(unitTypes: Array(unitTypes), experiments: experiments, partialGateRules: gates,
                            windows: windows, filteredSources: sources)
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

    /// Experiment group rule IDs → group names.
    static func groupsByRule(_ e: Entity) -> [String: String] {
        var out: [String: String] = [:]
        for g in e.groups ?? [] { if let id = g.id { out[id] = g.name } }
        for r in e.rules ?? [] where r.isExperimentGroup == true { if let id = r.id { out[id] = r.groupName ?? id } }
        return out
    }

    // MARK: - Results

    struct Options {
        var analysis = AnalysisOptions()
        var correction = MultipleComparisonCorrection.none
        var winsorize = false
        var metricFilter: [String]?

        /// The largest minUnits / minConversions accepted (more units than any experiment has).
        static let maxMinimum: Int64 = 1_000_000_000
        /// The largest |priorMean| and priorStddev accepted (relative effects: 1e3 is a 100,000 % lift).
        static let maxPriorMagnitude = 1e3
        /// The largest sequentialTuning accepted (N*, a number of units per group).
        static let maxSequentialTuning = 1e9

        init(query: [String: String]) throws {
            func number(_ k: String) throws -> Double? {
                guard let s = query[k] else { return nil }
                guard let d = Double(s), d.isFinite else { throw ValidationError("\(k) must be a number (got '\(s.prefix(40))')") }
                return d
            }
            func flag(_ k: String) throws -> Bool? {
                guard let s = query[k]?.lowercased() else { return nil }
                switch s {
                case "true", "1", "yes": return true
                case "false", "0", "no": return false
                default: throw ValidationError("\(k) must be true or false (got '\(s.prefix(40))')")
                }
            }
            func minimum(_ k: String) throws -> Int? {
                guard let d = try number(k) else { return nil }
                guard let n = SafeNumber.wholeNumber(d, in: 0...Self.maxMinimum) else {
                    throw ValidationError("\(k) must be a whole number from 0 to \(Self.maxMinimum) (got \(query[k]!.prefix(40)))")
                }
                return Int(n)
            }
            if let a = try number("alpha") {
                guard a > 0, a < 1 else { throw ValidationError("alpha must be between 0 and 1") }
                analysis.alpha = a
            }
            analysis.sequential = try flag("sequential") ?? false
            if let t = try number("sequentialTuning") {
                guard t >= 1, t <= Self.maxSequentialTuning else {
                    throw ValidationError("sequentialTuning must be from 1 to \(Int64(Self.maxSequentialTuning))")
                }
                analysis.sequentialTuningParameter = t
            }
            analysis.cuped.enabled = try flag("cuped") ?? true
            if let name = query["correction"] {
                let spelled = name.lowercased()
                guard let c = MultipleComparisonCorrection(rawValue: spelled == "bh" ? "benjamini-hochberg" : spelled) else {
                    throw ValidationError("correction must be one of none, bonferroni, benjamini-hochberg (got '\(name.prefix(40))')")
                }
                correction = c
            }
            // `bonferroni=true` is the older spelling of `correction=bonferroni`.
            if let bonferroni = try flag("bonferroni") {
                if query["correction"] != nil, bonferroni != (correction == .bonferroni) {
                    throw ValidationError("bonferroni=\(bonferroni) contradicts correction=\(correction.rawValue): give one of them")
                }
                if bonferroni { correction = .bonferroni }
            }
            winsorize = try flag("winsorize") ?? false
            switch query["engine"]?.lowercased() ?? "frequentist" {
            case "frequentist": break
            case "bayesian":
                switch query["prior"]?.lowercased() ?? "flat" {
                case "flat": analysis.bayesianPrior = .flat
                case "informative": analysis.bayesianPrior = .informative
                case let other: throw ValidationError("prior must be flat or informative (got '\(other.prefix(40))')")
                }
                if query["priorMean"] != nil || query["priorStddev"] != nil {
                    let mean = try number("priorMean") ?? 0
                    let sd = try number("priorStddev") ?? GaussianPrior.informative.variance.squareRoot()
                    guard abs(mean) <= Self.maxPriorMagnitude else { throw ValidationError("priorMean must be between -\(Int(Self.maxPriorMagnitude)) and \(Int(Self.maxPriorMagnitude)) (a relative effect)") }
                    guard sd > 0, sd <= Self.maxPriorMagnitude else { throw ValidationError("priorStddev must be above 0 and at most \(Int(Self.maxPriorMagnitude)) (a relative effect)") }
                    analysis.bayesianPrior = GaussianPrior(mean: mean, variance: sd * sd, proper: true)
                }
            case let other: throw ValidationError("engine must be frequentist or bayesian (got '\(other.prefix(40))')")
            }
            if analysis.bayesianPrior == nil, query["prior"] != nil || query["priorMean"] != nil || query["priorStddev"] != nil {
                throw ValidationError("prior, priorMean and priorStddev apply to engine=bayesian only")
            }
            if let m = try minimum("minUnits") { analysis.minimumSample.minUnitsPerGroup = m }
            if let m = try minimum("minConversions") {
                analysis.minimumSample.minConversionsPerGroup = m
                analysis.minimumSample.minNonConversionsPerGroup = m
            }
            metricFilter = query["metrics"].map { $0.split(separator: ",").map { String($0) }.filter { !$0.isEmpty } }
        }

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

    enum SubjectKind: String { case experiment, gate }

    struct Subject {
        var kind: SubjectKind
        var name: String
        var idType: String
        /// (arm id in the rollups, display name, configured weight), control first.
        var arms: [(arm: String, name: String, weight: Double?)]
        var key: String { kind == .experiment ? PulseCatalog.experimentSubject(name) : PulseCatalog.gateSubject(name) }
    }

    func subject(_ project: String, kind: SubjectKind, name: String) async throws -> Subject {
        switch kind {
        case .experiment:
            guard let e = try await store.entity(project: project, kind: .experiment, name: name) else {
                throw StoreError.notFound("no experiment named '\(name)'")
            }
            var arms: [(String, String, Double?)] = []
            for g in e.groups ?? [] { if let id = g.id { arms.append((id, g.name, g.size)) } }
            if arms.isEmpty {
                for (rule, group) in Self.groupsByRule(e).sorted(by: { $0.key < $1.key }) { arms.append((rule, group, nil)) }
            }
            guard arms.count >= 2 else { throw ValidationError("experiment '\(name)' needs at least two groups for results") }
            return Subject(kind: .experiment, name: name, idType: e.effectiveIdType, arms: arms)
        case .gate:
            guard let g = try await store.entity(project: project, kind: .gate, name: name) else {
                throw StoreError.notFound("no gate named '\(name)'")
            }
            let partial = (g.rules ?? []).filter { $0.passPercentage > 0 && $0.passPercentage < 100 }
            guard let rule = partial.first else {
                throw ValidationError("gate '\(name)' has no partial rollout rule (0 < passPercentage < 100), so there is nothing to compare")
            }
            // One partial rule gives the expected split; with several, the split is unknown.
            let pass: Double? = partial.count == 1 ? rule.passPercentage : nil
            return Subject(kind: .gate, name: name, idType: g.effectiveIdType,
                           arms: [("fail", "fail", pass.map { 100 - $0 }), ("pass", "pass", pass)])
        }
    }

    func results(project: String, kind: SubjectKind, name: String, query: [String: String] = [:], now: Int64) async throws -> JSONValue {
        var options = try Options(query: query)
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
            Self.automaticTypes(valued: valued.contains(event)).map { MetricDefinition.automatic($0 + ":" + event)! }
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
            let (kind, summaries, notes) = try await summaries(project: project, subject: subject, data: data, metric: m,
                                                                 userMetrics: userMetrics, winsorize: options.winsorize)
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
        if options.correction == .benjaminiHochberg { Self.adjustFalseDiscoveryRate(&effects) }

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

    /// Benjamini–Hochberg over every comparison that has a p-value (metrics × treatment groups):
    /// the absolute p-values (which decide significance) as one family, the relative ones as another.
    static func adjustFalseDiscoveryRate(_ effects: inout [(metric: MetricDefinition, kind: MetricKind, comparisons: [EffectResult])]) {
        for path in [\EffectResult.absolute, \EffectResult.relative] {
            var at: [(Int, Int)] = []
            var p: [Double] = []
            for (i, e) in effects.enumerated() {
                for (j, c) in e.comparisons.enumerated() {
                    if let estimate = c[keyPath: path] { at.append((i, j)); p.append(estimate.pValue) }
                }
            }
            for ((i, j), adjusted) in zip(at, BenjaminiHochberg.adjustedPValues(p)) {
                effects[i].comparisons[j][keyPath: path]?.adjustedPValue = adjusted
            }
        }
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

    /// Which per-unit number a count or sum metric uses.
    enum Field { case count, sum }

    /// One GroupSummary per arm (control first) for a metric.
    func summaries(
        project: String, subject: Subject, data: PulseArmData, metric m: MetricDefinition,
        userMetrics: [String: MetricDefinition], winsorize: Bool
    ) async throws -> (MetricKind, [GroupSummary], [String]) {
        func units(_ arm: String) -> Int { data.units[arm] ?? 0 }
        func sums(_ arm: String, _ source: String) -> ArmSums { data.sums[arm]?[source] ?? ArmSums() }

        switch m.type {
        case .count, .sum:
            let source = m.source!
            let field: Field = m.type == .count ? .count : .sum
            if winsorize {
                return (.mean, try await winsorized(project: project, subject: subject, data: data, source: source, field: field),
                        ["values capped at the pooled \(Winsorization.defaultQuantile * 100)th percentile of non-zero unit values"])
            }
            return (.mean, subject.arms.map { a in
                let s = sums(a.arm, source)
                return field == .count
                    ? GroupSummary(count: units(a.arm), sum: s.count, sumSquares: s.countSquares,
                                   covariateCount: Self.unitCount(s.preConverted), covariateSum: s.preCount,
                                   covariateSumSquares: s.preCountSquares, mainCovariateSumProduct: s.countPreCountProduct)
                    : GroupSummary(count: units(a.arm), sum: s.sum, sumSquares: s.sumSquares,
                                   covariateCount: Self.unitCount(s.preConverted), covariateSum: s.preSum,
                                   covariateSumSquares: s.preSumSquares, mainCovariateSumProduct: s.sumPreSumProduct)
            }, [])
        case .conversion:
            let source = m.source!
            return (.conversion, subject.arms.map { a in
                let s = sums(a.arm, source)
                return GroupSummary(count: units(a.arm), sum: s.converted, sumSquares: s.converted,
                                    covariateCount: Self.unitCount(s.preConverted), covariateSum: s.preConverted,
                                    covariateSumSquares: s.preConverted, mainCovariateSumProduct: s.convertedPreConvertedProduct)
            }, [])
        case .mean:
            let source = m.source!
            return (.ratio, subject.arms.map { a in
                let s = sums(a.arm, source)
                return GroupSummary(count: units(a.arm), sum: s.sum, sumSquares: s.sumSquares, denominatorSum: s.count,
                                    denominatorSumSquares: s.countSquares, mainDenominatorSumProduct: s.countSumProduct)
            }, [])
        case .ratio:
            guard let num = MetricDefinition.named(m.numerator, in: userMetrics),
                  let den = MetricDefinition.named(m.denominator, in: userMetrics),
                  let numSource = num.source, let denSource = den.source
            else { throw ValidationError("ratio metric '\(m.name)' refers to a metric that no longer exists") }
            let numField: Field = num.type == .sum ? .sum : .count
            let denField: Field = den.type == .sum ? .sum : .count
            let rows = try await store.pulseUnitValues(
                project: project, subject: subject.key, unitType: subject.idType, sources: Array(Set([numSource, denSource])))
            var perUnit: [String: (arm: String, x: Double, d: Double)] = [:]
            for r in rows {
                var entry = perUnit[r.unit] ?? (r.arm, 0, 0)
                if r.source == numSource { entry.x = Self.value(r.values, numField) }
                if r.source == denSource { entry.d = Self.value(r.values, denField) }
                perUnit[r.unit] = entry
            }
            var xs: [String: [Double]] = [:]
            var ds: [String: [Double]] = [:]
            for (_, u) in perUnit {
                xs[u.arm, default: []].append(u.x)
                ds[u.arm, default: []].append(u.d)
            }
            var notes: [String] = []
            if winsorize {
                let armsOrder = subject.arms.map(\.arm)
                let (cx, capX) = Winsorization.winsorize(armsOrder.map { xs[$0] ?? [] })
                let (cd, capD) = Winsorization.winsorize(armsOrder.map { ds[$0] ?? [] })
                for (i, a) in armsOrder.enumerated() { xs[a] = cx[i]; ds[a] = cd[i] }
                notes.append("numerator capped at \(capX.map { String($0) } ?? "-"), denominator at \(capD.map { String($0) } ?? "-")")
            }
            return (.ratio, subject.arms.map { a in
                var s = GroupSummary(count: units(a.arm))
                for (x, d) in zip(xs[a.arm] ?? [], ds[a.arm] ?? []) {
                    s.sum += x
                    s.sumSquares += x * x
                    s.denominatorSum += d
                    s.denominatorSumSquares += d * d
                    s.mainDenominatorSumProduct += x * d
                }
                return s
            }, notes)
        }
    }

    /// A number of units kept as a Double sum, as an Int (never trapping on a damaged value).
    static func unitCount(_ d: Double) -> Int { SafeNumber.roundedInt(d, clampedTo: 0...Int.max) }

    static func value(_ v: UnitValues, _ field: Field) -> Double {
        switch field {
        case .count: return v.postCount
        case .sum: return v.postSum
        }
    }

    static func preValue(_ v: UnitValues, _ field: Field) -> Double {
        switch field {
        case .count: return v.preCount
        case .sum: return v.preSum
        }
    }

    /// Per-unit values capped at the pooled 99.9th percentile of non-zero values (post and
    /// pre-period values capped separately); units without events are zeros.
    func winsorized(project: String, subject: Subject, data: PulseArmData, source: String, field: Field) async throws -> [GroupSummary] {
        let rows = try await store.pulseUnitValues(project: project, subject: subject.key, unitType: subject.idType, sources: [source])
        let arms = subject.arms.map(\.arm)
        var post: [String: [Double]] = [:]
        var pre: [String: [Double]] = [:]
        for r in rows {
            post[r.arm, default: []].append(Self.value(r.values, field))
            pre[r.arm, default: []].append(Self.preValue(r.values, field))
        }
        let (cappedPost, _) = Winsorization.winsorize(arms.map { post[$0] ?? [] })
        let (cappedPre, _) = Winsorization.winsorize(arms.map { pre[$0] ?? [] })
        return arms.enumerated().map { i, arm in
            var s = GroupSummary()
            for (x, p) in zip(cappedPost[i], cappedPre[i]) { s.add(x, preValue: p != 0 ? p : nil) }
            // Units without events: value 0 and no pre-period data.
            let missing = (data.units[arm] ?? 0) - s.count
            if missing > 0 { s.count += missing }
            return s
        }
    }

    // MARK: - Metric catalogue

    static func automaticTypes(valued: Bool) -> [String] {
        valued ? ["count", "conversion", "sum", "mean"] : ["count", "conversion"]
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
            for type in Self.automaticTypes(valued: t.valueSum != 0) {
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
    let store: any VaneStore
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
