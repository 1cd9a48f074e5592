import VaneCore
import VaneStats

// Experiment and gate-rollout results from the rollups: what is compared (`PulseSubject`), how
// (`PulseAnalysisOptions`), and each metric's per-group summaries (`MetricSummaries`). Pure: the
// server loads the rollups and hands them in.

extension Entity {
    /// Experiment group rule IDs → group names.
    public var groupsByRule: [String: String] {
        var out: [String: String] = [:]
        for g in groups ?? [] { if let id = g.id { out[id] = g.name } }
        for r in rules ?? [] where r.isExperimentGroup == true { if let id = r.id { out[id] = r.groupName ?? id } }
        return out
    }

    /// A gate's partial-rollout rules (0 < pass percentage < 100): what a gate's results compare.
    public var partialRolloutRules: [EntityRule] {
        (rules ?? []).filter { $0.passPercentage > 0 && $0.passPercentage < 100 }
    }
}

extension PulseCatalog {
    /// What the rollup job tracks, from the project's experiments, gates and user metrics.
    public init(experiments: [Entity], gates: [Entity], metrics: [MetricDefinition], holdouts: [Entity] = []) {
        var unitTypes: Set<String> = ["userID"]
        var subjects: [String: Set<String>] = [:]
        var partial: [String: Set<String>] = [:]
        var windows: [String: Int] = [:]
        for e in experiments {
            unitTypes.insert(e.effectiveIdType)
            subjects[e.name] = Set(e.groupsByRule.keys)
            if let w = e.analysisWindowDays { windows[PulseCatalog.experimentSubject(e.name)] = w }
        }
        for g in gates {
            let rules = Set(g.partialRolloutRules.compactMap(\.id))
            if !rules.isEmpty {
                partial[g.name] = rules
                unitTypes.insert(g.effectiveIdType)
            }
        }
        for h in holdouts { unitTypes.insert(h.effectiveIdType) }
        self.init(unitTypes: Array(unitTypes), experiments: subjects, partialGateRules: partial, windows: windows,
                  filteredSources: metrics.compactMap(\.pulseSource), holdouts: Set(holdouts.map(\.name)))
    }
}

/// What a results request compares: an experiment's groups, or a gate's fail and pass sides.
public struct PulseSubject: Sendable {
    public enum Kind: String, Sendable { case experiment, gate, holdout }

    public var kind: Kind
    public var name: String
    public var idType: String
    /// (arm id in the rollups, display name, configured weight), control first.
    public var arms: [(arm: String, name: String, weight: Double?)]
    /// Who is compared, when that is not everyone exposed (a gate's partial rollout rules).
    public var scope: String?
    public var key: String {
        switch kind {
        case .experiment: return PulseCatalog.experimentSubject(name)
        case .gate: return PulseCatalog.gateSubject(name)
        case .holdout: return PulseCatalog.holdoutSubject(name)
        }
    }

    /// A holdout's held-out units (control) against the units exposed to the features attached to it.
    public init(holdout h: Entity) {
        let rules = h.rules ?? []
        // One rule gives the expected split among the units that reach the holdout; with several, it is unknown.
        let held: Double? = rules.count == 1 ? rules[0].passPercentage : nil
        (kind, name, idType) = (.holdout, h.name, h.effectiveIdType)
        arms = [(PulseCatalog.heldOutArm, "held out", held), (PulseCatalog.exposedArm, "exposed", held.map { 100 - $0 })]
        scope = "Compares the units \(h.name) holds out with the units it does not, among those that reached a gate or "
            + "experiment attached to it: the combined effect of the attached features."
    }

    public init(experiment e: Entity) throws {
        var arms: [(String, String, Double?)] = []
        for g in e.groups ?? [] { if let id = g.id { arms.append((id, g.name, g.size)) } }
        if arms.isEmpty {
            for (rule, group) in e.groupsByRule.sorted(by: { $0.key < $1.key }) { arms.append((rule, group, nil)) }
        }
        guard arms.count >= 2 else { throw ValidationError("experiment '\(e.name)' needs at least two groups for results") }
        (kind, name, idType, self.arms) = (.experiment, e.name, e.effectiveIdType, arms)
    }

    public init(gate g: Entity) throws {
        let partial = g.partialRolloutRules
        guard let rule = partial.first else {
            throw ValidationError("gate '\(g.name)' has no partial rollout rule (0 < passPercentage < 100), so there is nothing to compare")
        }
        // One partial rule gives the expected split; with several, the split is unknown.
        let pass: Double? = partial.count == 1 ? rule.passPercentage : nil
        (kind, name, idType) = (.gate, g.name, g.effectiveIdType)
        let names = partial.map { "‘\($0.name)’ (\(Self.percent($0.passPercentage)))" }.joined(separator: ", ")
        scope = "Compares the users who reached the partial rollout rule\(partial.count == 1 ? "" : "s") \(names): "
            + "users matched by an earlier rule of the gate, or by a 0 % or 100 % rule, are not in these results."
        arms = [("fail", "fail", pass.map { 100 - $0 }), ("pass", "pass", pass)]
    }

    static func percent(_ p: Double) -> String { SafeNumber.percentText(p, unit: " %") }
}

/// How results are computed, from a results request's query (`alpha`, `sequential`, `cuped`,
/// `correction`, `engine`, `prior`, `minUnits`, `metrics`, ...): every value range-checked, each
/// error naming the parameter.
public struct PulseAnalysisOptions: Sendable {
    public var analysis = AnalysisOptions()
    public var correction = MultipleComparisonCorrection.none
    public var winsorize = false
    public var metricFilter: [String]?

    /// The largest minUnits / minConversions accepted (more units than any experiment has).
    public static let maxMinimum: Int64 = 1_000_000_000
    /// The largest |priorMean| and priorStddev accepted (relative effects: 1e3 is a 100,000 % lift).
    public static let maxPriorMagnitude = 1e3
    /// The largest sequentialTuning accepted (N*, a number of units per group).
    public static let maxSequentialTuning = 1e9

    /// A yes/no query parameter (`true`/`1`/`yes`, `false`/`0`/`no`); nil when absent.
    public static func flag(_ k: String, _ query: [String: String]) throws -> Bool? {
        guard let s = query[k]?.lowercased() else { return nil }
        switch s {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw ValidationError("\(k) must be true or false (got '\(s.prefix(40))')")
        }
    }

    public init(query: [String: String] = [:]) throws {
        func number(_ k: String) throws -> Double? {
            guard let s = query[k] else { return nil }
            guard let d = Double(s), d.isFinite else { throw ValidationError("\(k) must be a number (got '\(s.prefix(40))')") }
            return d
        }
        func flag(_ k: String) throws -> Bool? { try Self.flag(k, query) }
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
}

/// One `GroupSummary` per arm (control first) for a metric, from the arm sums; winsorized and
/// ratio metrics need the per-unit rows (`unitRowSources`), which the caller loads.
public enum MetricSummaries {
    /// The rollup sources whose per-unit rows `summaries` needs for this metric, or nil for none.
    public static func unitRowSources(
        for m: MetricDefinition, userMetrics: [String: MetricDefinition], winsorize: Bool
    ) throws -> [String]? {
        switch m.type {
        case .count, .sum: return winsorize ? [m.source!] : nil
        case .conversion, .mean: return nil
        case .ratio:
            let (num, den) = try ratioParts(m, userMetrics)
            return Array(Set([num.source!, den.source!])).sorted()
        }
    }

    static func ratioParts(_ m: MetricDefinition, _ userMetrics: [String: MetricDefinition]) throws -> (MetricDefinition, MetricDefinition) {
        guard let num = MetricDefinition.named(m.numerator, in: userMetrics),
              let den = MetricDefinition.named(m.denominator, in: userMetrics),
              num.source != nil, den.source != nil
        else { throw ValidationError("ratio metric '\(m.name)' refers to a metric that no longer exists") }
        return (num, den)
    }

    /// Which per-unit number a count or sum metric uses.
    enum Field { case count, sum }

    /// One GroupSummary per arm (control first) for a metric.
    /// `unitRows`: the rows of `unitRowSources` (ignored when that is nil).
    public static func summaries(
        subject: PulseSubject, data: PulseArmData, metric m: MetricDefinition,
        userMetrics: [String: MetricDefinition], winsorize: Bool, unitRows rows: [PulseUnitRow] = []
    ) throws -> (MetricKind, [GroupSummary], [String]) {
        func units(_ arm: String) -> Int { data.units[arm] ?? 0 }
        func sums(_ arm: String, _ source: String) -> ArmSums { data.sums[arm]?[source] ?? ArmSums() }

        switch m.type {
        case .count, .sum:
            let source = m.source!
            let field: Field = m.type == .count ? .count : .sum
            if winsorize {
                return (.mean, winsorized(subject: subject, data: data, rows: rows, field: field),
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
            let (num, den) = try ratioParts(m, userMetrics)
            let (numSource, denSource) = (num.source!, den.source!)
            let numField: Field = num.type == .sum ? .sum : .count
            let denField: Field = den.type == .sum ? .sum : .count
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
    static func winsorized(subject: PulseSubject, data: PulseArmData, rows: [PulseUnitRow], field: Field) -> [GroupSummary] {
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
}

public enum MultipleComparisons {
    /// Benjamini–Hochberg over every comparison that has a p-value (metrics × treatment groups):
    /// the absolute p-values (which decide significance) as one family, the relative ones as another.
    public static func adjustFalseDiscoveryRate(_ effects: inout [(metric: MetricDefinition, kind: MetricKind, comparisons: [EffectResult])]) {
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
}

extension MetricDefinition {
    /// The automatic metric types of an event: value metrics only for events that have carried a value.
    public static func automaticTypes(valued: Bool) -> [String] {
        valued ? ["count", "conversion", "sum", "mean"] : ["count", "conversion"]
    }
}
