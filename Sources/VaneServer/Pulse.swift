import VaneCore
import VaneStats
import VaneStore

/// Experiment results (Pulse): assigns units by first exposure, computes each event's count and
/// conversion per unit after exposure, and compares every group with the control.
///
/// This first version scans the event table on each request; per-unit rollups kept at ingest are
/// the next step (see the issue note), and the statistics already work on mergeable summaries.
struct PulseService: Sendable {
    let store: any VaneStore
    static let pageSize = 5_000

    struct Assignment {
        var group: String
        var firstTime: Int64
    }

    func results(project: String, experiment name: String, now: Int64) async throws -> JSONValue {
        guard let e = try await store.entity(project: project, kind: .experiment, name: name) else {
            throw StoreError.notFound("no experiment named '\(name)'")
        }
        let idType = e.effectiveIdType
        let unitRef = idType.lowercased() == "userid" ? nil : idType
        var groupByRule: [String: String] = [:]
        for g in e.groups ?? [] { if let id = g.id { groupByRule[id] = g.name } }
        for r in e.rules ?? [] where r.isExperimentGroup == true { if let id = r.id { groupByRule[id] = r.groupName ?? id } }
        let groupNames = (e.groups?.map(\.name)) ?? Array(Set(groupByRule.values)).sorted()
        guard groupNames.count >= 2 else { throw ValidationError("experiment '\(name)' needs at least two groups for results") }

        func unit(_ ev: EventRecord) -> String? {
            guard let t = unitRef else { return ev.userID }
            return ev.customIDs[t] ?? ev.customIDs[t.lowercased()]
        }

        // Pass 1: first exposure per unit; units seen in more than one group are excluded.
        var assignment: [String: Assignment] = [:]
        var crossovers = Set<String>()
        var exposuresPerDay: [String: [String: Int]] = [:]
        var cursor: Int64 = 0
        while true {
            let page = try await store.events(project: project, afterID: cursor, limit: Self.pageSize)
            guard let last = page.last?.id else { break }
            cursor = last
            for ev in page {
                let md = ev.metadata
                let isExposure = (ev.eventName == "statsig::config_exposure" && md?["config"]?.stringValue == name)
                    || (ev.eventName == "statsig::layer_exposure" && md?["allocatedExperiment"]?.stringValue == name)
                guard isExposure, let rule = md?["ruleID"]?.stringValue, let group = groupByRule[rule], let u = unit(ev) else { continue }
                if let a = assignment[u] {
                    if a.group != group { crossovers.insert(u) }
                    if ev.time < a.firstTime { assignment[u] = Assignment(group: a.group, firstTime: ev.time) }
                } else {
                    assignment[u] = Assignment(group: group, firstTime: ev.time)
                    exposuresPerDay[String(ISOTime.format(ev.time).prefix(10)), default: [:]][group, default: 0] += 1
                }
            }
            if page.count < Self.pageSize { break }
        }
        for u in crossovers { assignment[u] = nil }

        // Pass 2: per unit and event name, how many events (and their value) at or after the first exposure.
        var perMetric: [String: [String: (count: Double, sum: Double)]] = [:]
        cursor = 0
        while true {
            let page = try await store.events(project: project, afterID: cursor, limit: Self.pageSize)
            guard let last = page.last?.id else { break }
            cursor = last
            for ev in page where !ev.eventName.hasPrefix("statsig::") {
                guard let u = unit(ev), let a = assignment[u], ev.time >= a.firstTime else { continue }
                var entry = perMetric[ev.eventName, default: [:]][u] ?? (0, 0)
                entry.count += 1
                entry.sum += ev.value?.doubleValue ?? 0
                perMetric[ev.eventName, default: [:]][u] = entry
            }
            if page.count < Self.pageSize { break }
        }

        let unitsByGroup = Dictionary(grouping: assignment, by: { $0.value.group }).mapValues { $0.map(\.key) }
        let counts = groupNames.map { unitsByGroup[$0]?.count ?? 0 }
        let weights = (e.groups?.map(\.size)) ?? groupNames.map { _ in 1.0 }
        let srm = counts.reduce(0, +) > 0 ? SampleRatioMismatch.test(observed: counts, weights: weights) : nil

        var metrics: [JSONValue] = []
        for (metricName, byUnit) in perMetric.sorted(by: { $0.key < $1.key }) {
            for kind in [MetricKind.mean, .conversion] {
                var summaries: [String: GroupSummary] = [:]
                for g in groupNames {
                    var s = GroupSummary()
                    for u in unitsByGroup[g] ?? [] {
                        let c = byUnit[u]?.count ?? 0
                        s.add(kind == .conversion ? (c > 0 ? 1 : 0) : c)
                    }
                    summaries[g] = s
                }
                let control = summaries[groupNames[0]]!
                let comparisons: [JSONValue] = groupNames.dropFirst().map { g in
                    let effect = StatsEngine.compare(control: control, treatment: summaries[g]!, kind: kind)
                    guard case .object(var o) = encodeToJSON(effect) else { return .null }
                    o["group"] = .string(g)
                    o["isSignificant"] = .bool(effect.isSignificant)
                    return .object(o)
                }
                metrics.append([
                    "metric": .string(kind == .conversion ? "\(metricName) (conversion)" : "\(metricName) (count per unit)"),
                    "event": .string(metricName), "kind": .string(kind.rawValue),
                    "comparisons": .array(comparisons),
                ])
            }
        }
        return [
            "experiment": .string(name), "idType": .string(idType), "computedAt": .int(now),
            "controlGroup": .string(groupNames[0]),
            "groups": .array(zip(groupNames, counts).map { ["name": .string($0), "units": .int(Int64($1))] }),
            "crossovers": .int(Int64(crossovers.count)),
            "srm": srm.map(encodeToJSON) ?? .null,
            "exposuresPerDay": .object(exposuresPerDay.mapValues { .object($0.mapValues { .int(Int64($0)) }) }),
            "metrics": .array(metrics),
        ]
    }
}
