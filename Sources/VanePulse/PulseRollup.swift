import VaneCore

// Pulse rollups: per-unit and per-group sums kept up to date from the event log by an
// incremental job, so experiment results never rescan raw events.
//
// The job reads events after its cursor and keeps, per project:
// - assignments: each unit's arm (rule) in each subject (experiment or gate rollout), its first
//   exposure time, and whether it was excluded for being exposed to more than one arm;
// - unit values: per (subject, unit, source) the count and value sum of events at or after the
//   first exposure (within the optional window) and over the 7 UTC days before the day of the
//   first exposure (the CUPED covariate);
// - arm sums: per (subject, arm, source) the sums of those per-unit values, their squares and
//   products (`ArmSums`), maintained by adding the change of each unit's contribution;
// - unit days: per (unit, day, source) count, sum and first/last time, so a unit exposed after
//   its events were processed gets its pre-period and post-exposure values without a rescan;
// - daily totals per source (metric series) and first exposures per arm and day.
//
// A source is an event name (every event name is a source: the automatic metrics) or a
// user-defined metric's event plus metadata filters.

/// What the rollup job tracks. Changing the unit types, windows or filtered sources changes
/// `version`, and a changed version makes the job rebuild its rollups from the first event.
public struct PulseCatalog: Sendable, Hashable {
    /// ID types whose units are tracked (the experiments' and gates' ID types, and userID).
    public var unitTypes: [String]
    /// Experiment name → the rule IDs of its groups (exposures with other rule IDs are not assignments).
    public var experiments: [String: Set<String>]
    /// Gate name → the IDs of its partial-rollout rules (0 < pass percentage < 100).
    public var partialGateRules: [String: Set<String>]
    /// Subject → analysis window in days after the first exposure (absent: unbounded).
    public var windows: [String: Int]
    /// Sources of user-defined metrics that filter on metadata.
    public var filteredSources: [PulseSource]
    /// Holdout names: a unit is assigned to a holdout's `held_out` or `exposed` arm by the holdout
    /// gate's exposure (usually a secondary exposure of a gate or experiment attached to it).
    public var holdouts: Set<String>

    public init(
        unitTypes: [String] = ["userID"], experiments: [String: Set<String>] = [:],
        partialGateRules: [String: Set<String>] = [:], windows: [String: Int] = [:], filteredSources: [PulseSource] = [],
        holdouts: Set<String> = []
    ) {
        self.unitTypes = Array(Set(unitTypes + ["userID"])).sorted()
        self.experiments = experiments
        self.partialGateRules = partialGateRules
        self.holdouts = holdouts
        self.windows = windows
        self.filteredSources = filteredSources.sorted { $0.key < $1.key }
    }

    /// Bumped when the rollup's rules change, so rollups built under the old rules are rebuilt
    /// (2: events with unusable times or values are set aside instead of summed; 3: assignments
    /// record their drill-down fields).
    static let rulesVersion = 3

    public var version: String {
        let windows = windows.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let sources = filteredSources.map { "\($0.key)|\($0.event)|\($0.filters.map(\.description).joined(separator: "&"))" }
        return StatsigHash.sha256Base64("rules:\(Self.rulesVersion)\nunits:\(unitTypes.joined(separator: ","))\nwindows:\(windows.joined(separator: ","))\nsources:\(sources.joined(separator: "\n"))")
    }

    public static func experimentSubject(_ name: String) -> String { "experiment:" + name }
    public static func gateSubject(_ name: String) -> String { "gate:" + name }
    public static func holdoutSubject(_ name: String) -> String { "holdout:" + name }
    public static let heldOutArm = "held_out"
    public static let exposedArm = "exposed"
}

/// Events a metric counts: one event name, optionally only those whose metadata passes filters.
public struct PulseSource: Sendable, Hashable, Codable {
    /// The event name for an unfiltered source; `filtered:<metric>` for a user metric's filters.
    public var key: String
    public var event: String
    public var filters: [MetadataFilter]

    public init(key: String, event: String, filters: [MetadataFilter]) {
        self.key = key
        self.event = event
        self.filters = filters
    }

    public func matches(_ e: EventRecord) -> Bool {
        e.eventName == event && filters.allSatisfy { $0.matches(e.metadata) }
    }
}

/// A condition on one metadata key. Values compare as strings (numbers as written in JSON).
public struct MetadataFilter: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Op: String, Sendable, Codable, CaseIterable {
        case eq, neq, `in`, notIn = "not_in"
    }

    public var key: String
    public var op: Op
    public var values: [String]

    public init(key: String, op: Op, values: [String]) {
        self.key = key
        self.op = op
        self.values = values
    }

    public func matches(_ metadata: JSONValue?) -> Bool {
        let actual = metadata?[key].flatMap(Self.text)
        switch op {
        case .eq, .in: return actual.map(values.contains) ?? false
        case .neq, .notIn: return actual.map { !values.contains($0) } ?? true
        }
    }

    static func text(_ v: JSONValue) -> String? {
        switch v {
        case .string(let s): return s
        case .null: return nil
        case .object, .array: return v.serialized()
        default: return v.serialized()
        }
    }

    public var description: String { "\(key) \(op.rawValue) \(values.joined(separator: ","))" }
}

/// One unit's values for one source in one subject.
public struct UnitValues: Sendable, Hashable {
    public var postCount: Double = 0
    public var postSum: Double = 0
    public var preCount: Double = 0
    public var preSum: Double = 0

    public init(postCount: Double = 0, postSum: Double = 0, preCount: Double = 0, preSum: Double = 0) {
        self.postCount = postCount
        self.postSum = postSum
        self.preCount = preCount
        self.preSum = preSum
    }

    public var isZero: Bool { postCount == 0 && postSum == 0 && preCount == 0 && preSum == 0 }
}

/// Sums over an arm's units of one source's per-unit values: c = post count, s = post sum,
/// pc/ps = pre-period count/sum, and [c > 0] / [pc > 0] the conversion indicators. Units with no
/// events contribute zeros, so the arm's unit count comes from the assignments.
public struct ArmSums: Sendable, Hashable {
    /// The 14 sums in `columns` order (lanes 14 and 15 unused), so adding contributions is one vector add.
    var lanes = SIMD16<Double>()

    public init() {}

    public static let columns = [
        "count", "count_sq", "converted", "sum", "sum_sq", "count_sum", "pre_count", "pre_count_sq", "count_pre_count",
        "pre_converted", "converted_pre_converted", "pre_sum", "pre_sum_sq", "sum_pre_sum",
    ]

    public var values: [Double] { (0..<Self.columns.count).map { lanes[$0] } }

    public init(values v: [Double]) {
        for (i, x) in v.prefix(Self.columns.count).enumerated() { lanes[i] = x }
    }

    public var count: Double { lanes[0] }
    public var countSquares: Double { lanes[1] }
    public var converted: Double { lanes[2] }
    public var sum: Double { lanes[3] }
    public var sumSquares: Double { lanes[4] }
    public var countSumProduct: Double { lanes[5] }
    public var preCount: Double { lanes[6] }
    public var preCountSquares: Double { lanes[7] }
    public var countPreCountProduct: Double { lanes[8] }
    public var preConverted: Double { lanes[9] }
    public var convertedPreConvertedProduct: Double { lanes[10] }
    public var preSum: Double { lanes[11] }
    public var preSumSquares: Double { lanes[12] }
    public var sumPreSumProduct: Double { lanes[13] }

    /// One unit's contribution.
    public init(unit u: UnitValues) {
        let c = u.postCount, s = u.postSum, pc = u.preCount, ps = u.preSum
        let cv: Double = c > 0 ? 1 : 0
        let pcv: Double = pc > 0 ? 1 : 0
        lanes = SIMD16(c, c * c, cv, s, s * s, c * s, pc, pc * pc, c * pc, pcv, cv * pcv, ps, ps * ps, s * ps, 0, 0)
    }

    public mutating func add(_ other: ArmSums, sign: Double = 1) {
        lanes += sign * other.lanes
    }
}

/// A unit's assignment in one subject.
public struct PulseAssignment: Sendable, Hashable {
    public var arm: String
    public var firstTime: Int64
    public var excluded: Bool
    /// The drill-down fields of the first exposure (`PulseDimensions`).
    public var dimensions: [String: String]

    public init(arm: String, firstTime: Int64, excluded: Bool, dimensions: [String: String] = [:]) {
        self.arm = arm
        self.firstTime = firstTime
        self.excluded = excluded
        self.dimensions = dimensions
    }
}

public struct UnitKey: Sendable, Hashable, Comparable {
    public var unitType: String
    public var unit: String
    public init(unitType: String, unit: String) {
        self.unitType = unitType
        self.unit = unit
    }

    /// The order of the rollup tables' primary keys, so that writes walk their B-trees in order.
    /// (Field by field: comparing tuples of strings went through generic code, 14 % of a rollup.)
    public static func < (a: UnitKey, b: UnitKey) -> Bool {
        a.unitType != b.unitType ? a.unitType < b.unitType : a.unit < b.unit
    }
}

/// A unit's events of one source on one UTC day.
public struct DayAggregate: Sendable, Hashable {
    public var count: Double
    public var sum: Double
    public var minTime: Int64
    public var maxTime: Int64

    public init(count: Double, sum: Double, minTime: Int64, maxTime: Int64) {
        self.count = count
        self.sum = sum
        self.minTime = minTime
        self.maxTime = maxTime
    }

    mutating func merge(_ o: DayAggregate) {
        count += o.count
        sum += o.sum
        minTime = min(minTime, o.minTime)
        maxTime = max(maxTime, o.maxTime)
    }
}

public enum PulseDay {
    public static let millis: Int64 = 86_400_000
    /// Days since 1970-01-01 (UTC), rounded down (written so that no Int64 overflows).
    public static func of(_ time: Int64) -> Int64 { time >= 0 ? time / millis : (time + 1) / millis - 1 }
    /// The first millisecond of a day (held at the Int64 bounds).
    public static func start(_ day: Int64) -> Int64 { day.saturatingMultiply(millis) }
    public static func label(_ day: Int64) -> String { String(ISOTime.format(start(day)).prefix(10)) }
}

/// The number an event contributes to sums: its numeric value (a number, or a string that reads
/// as one), or 0 for no value or text. nil when that number is not one the rollup can sum
/// (not finite, or beyond ±`EventValue.maxMagnitude`).
func numericValue(_ e: EventRecord) -> Double? {
    let d: Double
    switch e.value {
    case .int(let i)?: d = Double(i)
    case .double(let x)?: d = x
    case .string(let s)?:
        guard let x = Double(s.trimmingCharacters(in: .whitespaces)) else { return 0 }
        d = x
    default: return 0
    }
    return d.isFinite && abs(d) <= EventValue.maxMagnitude ? d : nil
}

/// An event the rollup cannot use, set aside with its reason so the job carries on.
public struct PulseSetAside: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// The event time is outside `EventTime.storable`.
        case timeOutOfRange = "time_out_of_range"
        /// The value is not finite or beyond ±`EventValue.maxMagnitude`.
        case valueOutOfRange = "value_out_of_range"
        /// Processing the event failed.
        case failed
    }

    public var eventID: Int64
    public var eventName: String
    public var time: Int64
    public var reason: Reason
    public var detail: String

    public init(eventID: Int64, eventName: String, time: Int64, reason: Reason, detail: String) {
        self.eventID = eventID
        self.eventName = eventName
        self.time = time
        self.reason = reason
        self.detail = detail
    }

    init(_ e: EventRecord, _ reason: Reason, _ detail: String) {
        self.init(eventID: e.id ?? 0, eventName: e.eventName, time: e.time, reason: reason, detail: detail)
    }

    public var description: String { "event \(eventID) (\(eventName)): \(reason.rawValue): \(detail)" }
}

/// What a batch of the rollup job loaded before processing, and what it changes.
public struct PulseBatchState: Sendable {
    /// Ordered as the assignments table's key: unit, then subject.
    public struct SubjectUnit: Hashable, Sendable, Comparable {
        public var subject: String
        public var key: UnitKey
        public init(subject: String, key: UnitKey) { (self.subject, self.key) = (subject, key) }

        public static func < (a: SubjectUnit, b: SubjectUnit) -> Bool {
            a.key != b.key ? a.key < b.key : a.subject < b.subject
        }
    }

    /// Ordered as the unit values table's key: unit, subject, then source.
    public struct ValueKey: Hashable, Sendable, Comparable {
        public var subject: String
        public var key: UnitKey
        public var source: String
        public init(subject: String, key: UnitKey, source: String) { (self.subject, self.key, self.source) = (subject, key, source) }

        public static func < (a: ValueKey, b: ValueKey) -> Bool {
            if a.key != b.key { return a.key < b.key }
            return a.subject != b.subject ? a.subject < b.subject : a.source < b.source
        }
    }

    public struct ArmKey: Hashable, Sendable {
        public var subject: String
        public var unitType: String
        public var arm: String
        public init(subject: String, unitType: String, arm: String) { (self.subject, self.unitType, self.arm) = (subject, unitType, arm) }
    }

    public struct ArmSourceKey: Hashable, Sendable {
        public var arm: ArmKey
        public var source: String
        public init(arm: ArmKey, source: String) { (self.arm, self.source) = (arm, source) }
    }

    public struct DayKey: Hashable, Sendable {
        public var day: Int64
        public var source: String
        public init(day: Int64, source: String) { (self.day, self.source) = (day, source) }
    }

    // Loaded, then changed in place.
    public var assignments: [UnitKey: [String: PulseAssignment]] = [:]
    public var unitValues: [ValueKey: UnitValues] = [:]
    /// The sources with values for each (subject, unit): filled by whoever loads `unitValues`.
    public var sourcesByUnit: [SubjectUnit: Set<String>] = [:]
    /// Unit days of the units that may need a backfill (loaded rows plus this batch's events).
    public var unitDays: [UnitKey: [DayKey: DayAggregate]] = [:]

    // Written back.
    public var dirtyAssignments: Set<SubjectUnit> = []
    public var dirtyValues: Set<ValueKey> = []
    public var unitDayDeltas: [UnitKey: [DayKey: DayAggregate]] = [:]
    public var armSumDeltas: [ArmSourceKey: ArmSums] = [:]
    public var armUnitDeltas: [ArmKey: Int] = [:]
    public var exposureDayDeltas: [ArmKey: [Int64: Int]] = [:]
    /// source → day → (events, value sum).
    public var metricDayDeltas: [String: [Int64: (events: Int, sum: Double)]] = [:]

    public init() {}

    /// Sized for a batch that loads this many units, so loading does not regrow the tables
    /// (a tenth of a rollup run on a large backlog).
    public init(expectedUnits: Int) {
        assignments.reserveCapacity(expectedUnits)
        unitValues.reserveCapacity(expectedUnits)
        sourcesByUnit.reserveCapacity(expectedUnits)
        dirtyValues.reserveCapacity(expectedUnits)
        dirtyAssignments.reserveCapacity(expectedUnits / 4)
        unitDayDeltas.reserveCapacity(expectedUnits)
    }
}

/// Reads the exact events of one unit in a time range (only needed when a unit's exposure is
/// processed after events of the same day that straddle the exposure time).
public typealias PulseExactEvents = @Sendable (_ key: UnitKey, _ from: Int64, _ to: Int64, _ beforeEventID: Int64) throws -> [EventRecord]

/// Applies a batch of events to the rollup state.
public struct PulseRollupProcessor {
    public let catalog: PulseCatalog
    public let exactEvents: PulseExactEvents
    public var state: PulseBatchState
    public static let prePeriodDays: Int64 = 7

    public init(catalog: PulseCatalog, state: PulseBatchState, exactEvents: @escaping PulseExactEvents) {
        self.catalog = catalog
        self.state = state
        self.exactEvents = exactEvents
    }

    /// The units an event carries, for the tracked ID types.
    public static func units(of e: EventRecord, types: [String]) -> [UnitKey] {
        var out: [UnitKey] = []
        for t in types {
            if let u = unit(of: e, type: t) { out.append(UnitKey(unitType: t, unit: u)) }
        }
        return out
    }

    public static func unit(of e: EventRecord, type t: String) -> String? {
        let v: String?
        // The common spellings first: lowercasing on every event shows up in profiles.
        if t == "userID" { v = e.userID }
        else if t == "stableID" { v = e.stableID }
        else if let exact = e.customIDs[t] { v = exact }
        else {
            let lower = t.lowercased()
            if lower == "userid" { v = e.userID }
            else if lower == "stableid" { v = e.stableID }
            else { v = e.customIDs.first { $0.key.lowercased() == lower }?.value }
        }
        guard let v, !v.isEmpty else { return nil }
        return v
    }

    /// The subjects and arms an exposure event assigns: its own (an experiment group, a gate's
    /// partial rule) and those of the holdouts it passed through (secondary exposures).
    public func exposures(_ e: EventRecord) -> [(subject: String, arm: String)] {
        guard e.exposureKind != nil else { return [] }
        var out: [(subject: String, arm: String)] = []
        if let own = exposure(e) { out.append(own) }
        guard !catalog.holdouts.isEmpty else { return out }
        func passed(_ v: JSONValue?) -> Bool { v?.stringValue == "true" || v?.boolValue == true }
        if e.exposureKind == .gate, let md = e.metadata, let gate = md["gate"]?.stringValue, catalog.holdouts.contains(gate) {
            out.append((PulseCatalog.holdoutSubject(gate), passed(md["gateValue"]) ? PulseCatalog.heldOutArm : PulseCatalog.exposedArm))
        }
        for s in e.secondaryExposures?.arrayValue ?? [] {
            guard let gate = s["gate"]?.stringValue, catalog.holdouts.contains(gate) else { continue }
            let subject = PulseCatalog.holdoutSubject(gate)
            guard !out.contains(where: { $0.subject == subject }) else { continue }
            out.append((subject, passed(s["gateValue"]) ? PulseCatalog.heldOutArm : PulseCatalog.exposedArm))
        }
        return out
    }

    /// The subject and arm an exposure event assigns by itself, or nil when it is not an assignment.
    public func exposure(_ e: EventRecord) -> (subject: String, arm: String)? {
        guard let kind = e.exposureKind, let md = e.metadata else { return nil }
        switch kind {
        case .config, .experiment:
            guard let name = md["config"]?.stringValue, let rules = catalog.experiments[name],
                  let rule = md["ruleID"]?.stringValue, rules.contains(rule) else { return nil }
            return (PulseCatalog.experimentSubject(name), rule)
        case .layer:
            guard let name = md["allocatedExperiment"]?.stringValue, let rules = catalog.experiments[name],
                  let rule = md["ruleID"]?.stringValue, rules.contains(rule) else { return nil }
            return (PulseCatalog.experimentSubject(name), rule)
        case .gate:
            guard let name = md["gate"]?.stringValue, let rules = catalog.partialGateRules[name],
                  let rule = md["ruleID"]?.stringValue, rules.contains(rule) else { return nil }
            let pass = md["gateValue"]?.stringValue == "true" || md["gateValue"]?.boolValue == true
            return (PulseCatalog.gateSubject(name), pass ? "pass" : "fail")
        }
    }

    /// The sources an event counts for.
    public func sources(of e: EventRecord) -> [String] {
        var out = [e.eventName]
        for s in catalog.filteredSources where s.matches(e) { out.append(s.key) }
        return out
    }

    /// Why the rollup cannot use an event it would otherwise count, or nil when it can.
    public func setAsideReason(_ e: EventRecord) -> PulseSetAside? {
        setAsideReason(e, isExposure: !exposures(e).isEmpty)
    }

    func setAsideReason(_ e: EventRecord, isExposure: Bool) -> PulseSetAside? {
        guard isExposure || !e.isReserved else { return nil }
        guard EventTime.storable.contains(e.time) else {
            return PulseSetAside(e, .timeOutOfRange, "time \(e.time) is outside \(ISOTime.format(EventTime.earliest)) … \(ISOTime.format(EventTime.latest))")
        }
        if !isExposure, numericValue(e) == nil {
            let shown = e.value.map { String($0.serialized().prefix(64)) } ?? "?"
            return PulseSetAside(e, .valueOutOfRange, "value \(shown) is not a finite number within ±1e15")
        }
        return nil
    }

    /// Applies one event. An event the rollup cannot use throws `PulseSetAside` before anything changes.
    public mutating func apply(_ e: EventRecord) throws {
        // The assignments are read once: the check and the application both need them.
        let assigned = exposures(e)
        if let problem = setAsideReason(e, isExposure: !assigned.isEmpty) { throw problem }
        let id = e.id ?? 0
        if !assigned.isEmpty {
            for (subject, arm) in assigned {
                for key in Self.units(of: e, types: catalog.unitTypes) {
                    try expose(subject: subject, key: key, arm: arm, time: e.time, eventID: id, dimensions: PulseDimensions.of(e))
                }
            }
            return
        }
        guard !e.isReserved else { return }
        let value = numericValue(e) ?? 0
        let day = PulseDay.of(e.time)
        let sources = sources(of: e)
        for s in sources {
            var d = state.metricDayDeltas[s, default: [:]][day] ?? (0, 0)
            d.events += 1
            d.sum += value
            state.metricDayDeltas[s, default: [:]][day] = d
        }
        for key in Self.units(of: e, types: catalog.unitTypes) {
            let agg = DayAggregate(count: 1, sum: value, minTime: e.time, maxTime: e.time)
            for s in sources {
                let dk = PulseBatchState.DayKey(day: day, source: s)
                state.unitDayDeltas[key, default: [:]][dk, default: DayAggregate(count: 0, sum: 0, minTime: e.time, maxTime: e.time)].merge(agg)
                if state.unitDays[key] != nil {
                    state.unitDays[key]![dk, default: DayAggregate(count: 0, sum: 0, minTime: e.time, maxTime: e.time)].merge(agg)
                }
            }
            for (subject, a) in state.assignments[key] ?? [:] where !a.excluded {
                let window = windowEnd(subject: subject, a.firstTime)
                let isPost = e.time >= a.firstTime && e.time < window
                let firstDay = PulseDay.of(a.firstTime)
                let isPre = !isPost && day < firstDay && day >= firstDay.saturatingSubtract(Self.prePeriodDays)
                guard isPost || isPre else { continue }
                for s in sources {
                    var v = values(subject, key, s)
                    if isPost { v.postCount += 1; v.postSum += value } else { v.preCount += 1; v.preSum += value }
                    setValues(subject, key, s, arm: a.arm, v)
                }
            }
        }
    }

    func windowEnd(subject: String, _ first: Int64) -> Int64 {
        guard let days = catalog.windows[subject] else { return Int64.max }
        return first.saturatingAdd(Int64(days).saturatingMultiply(PulseDay.millis))
    }

    func values(_ subject: String, _ key: UnitKey, _ source: String) -> UnitValues {
        state.unitValues[PulseBatchState.ValueKey(subject: subject, key: key, source: source)] ?? UnitValues()
    }

    /// Sets a unit's values and moves its arm's sums by the change of its contribution.
    mutating func setValues(_ subject: String, _ key: UnitKey, _ source: String, arm: String, _ new: UnitValues) {
        let vk = PulseBatchState.ValueKey(subject: subject, key: key, source: source)
        let old = state.unitValues[vk] ?? UnitValues()
        guard old != new else { return }
        state.unitValues[vk] = new
        state.dirtyValues.insert(vk)
        state.sourcesByUnit[PulseBatchState.SubjectUnit(subject: subject, key: key), default: []].insert(source)
        let ak = PulseBatchState.ArmSourceKey(arm: .init(subject: subject, unitType: key.unitType, arm: arm), source: source)
        state.armSumDeltas[ak, default: ArmSums()].add(ArmSums(unit: new))
        state.armSumDeltas[ak, default: ArmSums()].add(ArmSums(unit: old), sign: -1)
    }

    /// Assigns a unit on its first exposure; `dimensions` is read only when the exposure is its first.
    mutating func expose(
        subject: String, key: UnitKey, arm: String, time: Int64, eventID: Int64, dimensions: @autoclosure () -> [String: String]
    ) throws {
        let armKey = PulseBatchState.ArmKey(subject: subject, unitType: key.unitType, arm: arm)
        let su = PulseBatchState.SubjectUnit(subject: subject, key: key)
        if var a = state.assignments[key]?[subject] {
            if a.excluded { return }
            if a.arm != arm {
                // Exposed to a second arm: the unit leaves the analysis.
                for source in state.sourcesByUnit[su] ?? [] {
                    setValues(subject, key, source, arm: a.arm, UnitValues())
                }
                state.armUnitDeltas[.init(subject: subject, unitType: key.unitType, arm: a.arm), default: 0] -= 1
                a.excluded = true
                state.assignments[key]![subject] = a
                state.dirtyAssignments.insert(su)
                return
            }
            guard time < a.firstTime else { return }
            let oldDay = PulseDay.of(a.firstTime)
            state.exposureDayDeltas[armKey, default: [:]][oldDay, default: 0] -= 1
            state.exposureDayDeltas[armKey, default: [:]][PulseDay.of(time), default: 0] += 1
            a.firstTime = time
            a.dimensions = dimensions()
            state.assignments[key]![subject] = a
            state.dirtyAssignments.insert(su)
            try backfill(subject: subject, key: key, assignment: a, beforeEventID: eventID)
            return
        }
        let a = PulseAssignment(arm: arm, firstTime: time, excluded: false, dimensions: dimensions())
        state.assignments[key, default: [:]][subject] = a
        state.dirtyAssignments.insert(su)
        state.armUnitDeltas[armKey, default: 0] += 1
        state.exposureDayDeltas[armKey, default: [:]][PulseDay.of(time), default: 0] += 1
        try backfill(subject: subject, key: key, assignment: a, beforeEventID: eventID)
    }

    /// Recomputes a unit's values in a subject from its unit days (events already processed).
    mutating func backfill(subject: String, key: UnitKey, assignment a: PulseAssignment, beforeEventID: Int64) throws {
        let days = state.unitDays[key] ?? [:]
        let firstDay = PulseDay.of(a.firstTime)
        let end = windowEnd(subject: subject, a.firstTime)
        var new: [String: UnitValues] = [:]
        // Days whose events fall on both sides of the exposure (or of the window's end): read
        // those events exactly, for the sources whose day straddles.
        var straddling: [Int64: (from: Int64, to: Int64, sources: Set<String>)] = [:]
        for (dk, agg) in days {
            if dk.day < firstDay {
                if dk.day >= firstDay.saturatingSubtract(Self.prePeriodDays) {
                    new[dk.source, default: UnitValues()].preCount += agg.count
                    new[dk.source, default: UnitValues()].preSum += agg.sum
                }
            } else if agg.minTime >= a.firstTime && agg.maxTime < end {
                new[dk.source, default: UnitValues()].postCount += agg.count
                new[dk.source, default: UnitValues()].postSum += agg.sum
            } else if agg.maxTime >= a.firstTime && agg.minTime < end {
                let dayStart = PulseDay.start(dk.day)
                let dayEnd = dayStart.saturatingAdd(PulseDay.millis)
                straddling[dk.day, default: (max(dayStart, a.firstTime), min(dayEnd, end), [])].sources.insert(dk.source)
            }
        }
        for (_, range) in straddling {
            for e in try exactEvents(key, range.from, range.to, beforeEventID) where !e.isReserved {
                // Events the rollup set aside were never in the unit days either.
                guard setAsideReason(e) == nil, let v = numericValue(e) else { continue }
                for s in sources(of: e) where range.sources.contains(s) {
                    new[s, default: UnitValues()].postCount += 1
                    new[s, default: UnitValues()].postSum += v
                }
            }
        }
        let touched = Set(new.keys).union(state.sourcesByUnit[.init(subject: subject, key: key)] ?? [])
        for s in touched {
            setValues(subject, key, s, arm: a.arm, new[s] ?? UnitValues())
        }
    }
}

/// What one run of the rollup job did.
public struct PulseProgress: Sendable, Hashable {
    public var processed: Int
    public var cursor: Int64
    /// Events still to process: counted (up to a million) when the run read all it was allowed to
    /// up to the head of the log; estimated from log positions when it stopped at its limit.
    public var behind: Int
    /// True when the catalogue changed and the rollups were cleared to be rebuilt.
    public var rebuilt: Bool

    public init(processed: Int, cursor: Int64, behind: Int, rebuilt: Bool) {
        self.processed = processed
        self.cursor = cursor
        self.behind = behind
        self.rebuilt = rebuilt
    }
}

/// One subject's rollups for one unit type.
public struct PulseArmData: Sendable {
    /// Units per arm (excluded units not counted).
    public var units: [String: Int] = [:]
    public var crossovers = 0
    /// arm → source → sums.
    public var sums: [String: [String: ArmSums]] = [:]
    /// day → arm → first exposures.
    public var exposureDays: [Int64: [String: Int]] = [:]

    public init() {}
}

/// A unit's arm and its value of one drill-down field.
public struct PulseUnitSlice: Sendable, Hashable {
    public var unit: String
    public var arm: String
    public var value: String?

    public init(unit: String, arm: String, value: String?) {
        self.unit = unit
        self.arm = arm
        self.value = value
    }
}

public struct PulseUnitRow: Sendable, Hashable {
    public var unit: String
    public var arm: String
    public var source: String
    public var values: UnitValues

    public init(unit: String, arm: String, source: String, values: UnitValues) {
        self.unit = unit
        self.arm = arm
        self.source = source
        self.values = values
    }
}

public struct PulseSourceTotals: Sendable, Hashable {
    public var source: String
    public var events: Int
    public var valueSum: Double
    public var firstDay: Int64
    public var lastDay: Int64

    public init(source: String, events: Int, valueSum: Double, firstDay: Int64, lastDay: Int64) {
        self.source = source
        self.events = events
        self.valueSum = valueSum
        self.firstDay = firstDay
        self.lastDay = lastDay
    }
}

public struct PulseSeriesDay: Sendable, Hashable {
    public var day: Int64
    public var events: Int
    public var units: Int
    public var valueSum: Double

    public init(day: Int64, events: Int, units: Int, valueSum: Double) {
        self.day = day
        self.events = events
        self.units = units
        self.valueSum = valueSum
    }
}

extension PulseProgress {
    /// When a run stopped at `maxEvents`, what is left is estimated from positions, `head - cursor`
    /// (exact for one project whose events have consecutive positions, more with other projects):
    /// counting a long backlog after every short run would cost more than the run. nil: the run
    /// read everything up to `head`, so the few events logged since are counted instead.
    public static func behindEstimate(processed: Int, maxEvents: Int, head: Int64, cursor: Int64) -> Int? {
        guard maxEvents >= 0, processed >= maxEvents else { return nil }
        return Int(clamping: max(0, head.subtractingReportingOverflow(cursor).partialValue))
    }
}
