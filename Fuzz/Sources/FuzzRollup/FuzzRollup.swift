import FuzzSupport
import VaneCore
import VanePulse


// The Pulse rollup processor over random event streams: exposures and metric events with times
// at the Int64 edges and around the stored range, values up to ±1e308 and beyond (±inf as a
// parsed `1e400` gives), numeric strings, units shared across events, analysis windows from
// negative to Int.max days, and metadata filters. The processor must set aside what it cannot
// use and apply the rest without trapping, and no sum, square or product it keeps may be
// anything but finite (a NaN there would poison every later result).

let subjects = ["exp1", "exp2"]
let experimentRules: [String: Set<String>] = ["exp1": ["r1", "r2"], "exp2": ["g"]]
let gateRules: [String: Set<String>] = ["gate1": ["rule1"]]
let windowDays = [Int.min, -1, 0, 1, 7, 3650, Int(Int32.max), Int.max]
let unitTypeChoices = ["userID", "stableID", "companyID", "CompanyID", "deviceId"]
let eventNames = [
    "purchase", "page", "statsig::config_exposure", "statsig::experiment_exposure", "statsig::layer_exposure",
    "statsig::gate_exposure", "statsig::other", "segment::Order Completed",
]
let unitIDs = ["u1", "u2", "u3", "", "U1"]

/// Times: the edges of Int64 and of the stored range, or a base plus a small offset (so events
/// share days and straddle exposures).
func time(_ input: inout FuzzInput) -> Int64 {
    let edges: [Int64] = [
        Int64.min, Int64.min + 1, -1, 0, 1, EventTime.earliest - 1, EventTime.earliest, EventTime.latest,
        EventTime.latest + 1, Int64.max - 1, Int64.max, EventTime.latest - 86_400_000,
    ]
    if input.byte() % 4 == 0 { return input.pick(edges) }
    let base = input.pick([1_700_000_000_000, EventTime.earliest, EventTime.latest - 8 * 86_400_000] as [Int64])
    let unit = input.pick([1, 1000, 3_600_000, 86_400_000] as [Int64])
    return base + Int64(input.int(in: -40...40)) * unit
}

func value(_ input: inout FuzzInput) -> JSONValue? {
    switch input.byte() % 12 {
    case 0: return nil
    case 1: return .int(input.pick([Int64.min, Int64.max, 0, -1, 1_000_000_000_000_000, 1_000_000_000_000_001]))
    case 2: return .double(input.pick([1e308, -1e308, .infinity, -.infinity, 1e15, -1e15, 1e15.nextUp, -0.0, 0.5, .leastNonzeroMagnitude]))
    case 3: return .string(input.pick(["1e308", " 12 ", "nan", "inf", "-1e15", "abc", "", "1e16", "0x10"]))
    case 4: return .bool(input.bool())
    case 5: return ["a": 1]
    case 6: return [1, 2]
    default: return .int(Int64(input.int(in: -100...1000)))
    }
}

func event(_ input: inout FuzzInput, id: Int64) -> EventRecord {
    let name = input.pick(eventNames)
    var customIDs: [String: String] = [:]
    if input.bool() { customIDs[input.pick(["companyID", "companyid", "deviceId", "DEVICEID"])] = input.pick(unitIDs) }
    var metadata: [String: JSONValue] = [:]
    if name.hasPrefix("statsig::") {
        metadata["config"] = .string(input.pick(["exp1", "exp2", "other"]))
        metadata["allocatedExperiment"] = .string(input.pick(["exp1", "exp2", ""]))
        metadata["ruleID"] = .string(input.pick(["r1", "r2", "g", "rule1", "x"]))
        metadata["gate"] = .string(input.pick(["gate1", "gate2"]))
        metadata["gateValue"] = input.pick([.string("true"), .string("false"), .bool(true), .null] as [JSONValue])
    } else if input.bool() {
        metadata["plan"] = input.pick([.string("pro"), .int(1), .double(1.0), .bool(true), ["x": 1], .null] as [JSONValue])
    }
    let t = time(&input)
    return EventRecord(
        id: id, project: "p", eventName: name, user: .object([:]), userID: input.byte() % 5 == 0 ? nil : input.pick(unitIDs),
        stableID: input.bool() ? input.pick(unitIDs) : nil, customIDs: customIDs, environment: "production",
        value: value(&input), metadata: input.byte() % 8 == 0 ? nil : .object(metadata), secondaryExposures: nil,
        time: t, receivedAt: t, source: .sdk, sdkType: "fuzz")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    var windows: [String: Int] = [:]
    for s in subjects where input.bool() { windows[PulseCatalog.experimentSubject(s)] = input.pick(windowDays) }
    if input.bool() { windows[PulseCatalog.gateSubject("gate1")] = input.pick(windowDays) }
    var sources: [PulseSource] = []
    if input.bool() {
        sources.append(PulseSource(key: "filtered:pro", event: "purchase", filters: [
            MetadataFilter(key: "plan", op: input.pick(MetadataFilter.Op.allCases), values: ["pro", "1", "1.0", "true"]),
        ]))
    }
    var unitTypes: [String] = []
    for t in unitTypeChoices where input.bool() { unitTypes.append(t) }
    let catalog = PulseCatalog(unitTypes: unitTypes, experiments: experimentRules, partialGateRules: gateRules,
                               windows: windows, filteredSources: sources)
    _ = catalog.version

    var events: [EventRecord] = []
    var id: Int64 = input.pick([1, 1000, Int64.max - 100])
    while !input.isEmpty && events.count < 96 {
        events.append(event(&input, id: id))
        id = id.saturatingAdd(Int64(input.int(in: 0...2)))
    }
    let stream = events
    var state = PulseBatchState()
    // The job loads the unit days of units that may need a backfill; some units start with theirs.
    for e in stream.prefix(4) {
        for key in PulseRollupProcessor.units(of: e, types: catalog.unitTypes) { state.unitDays[key] = [:] }
    }
    var processor = PulseRollupProcessor(catalog: catalog, state: state) { key, from, to, before in
        stream.filter { e in
            (e.id ?? 0) < before && e.time >= from && e.time < to
                && PulseRollupProcessor.units(of: e, types: [key.unitType]).first == key
        }
    }
    for e in stream {
        _ = PulseDay.label(PulseDay.of(e.time))
        do {
            try processor.apply(e)
        } catch let aside as PulseSetAside {
            fuzzCheck(processor.setAsideReason(e) != nil, "apply set aside an event that setAsideReason accepts: \(aside)")
            _ = aside.description
        } catch {
            fuzzCheck(false, "apply threw \(error)")
        }
    }
    let s = processor.state
    for (k, sums) in s.armSumDeltas {
        fuzzCheck(sums.values.allSatisfy(\.isFinite), "arm sums of \(k) are not finite: \(sums.values)")
    }
    for (k, v) in s.unitValues {
        fuzzCheck([v.postCount, v.postSum, v.preCount, v.preSum].allSatisfy(\.isFinite), "unit values of \(k) are not finite: \(v)")
        fuzzCheck(v.postCount >= 0 && v.preCount >= 0, "negative counts for \(k): \(v)")
    }
    for (source, days) in s.metricDayDeltas {
        for (day, d) in days { fuzzCheck(d.sum.isFinite && d.events > 0, "metric day \(source) \(day) is \(d)") }
    }
    for (_, days) in s.unitDayDeltas {
        for (dk, agg) in days {
            fuzzCheck(agg.sum.isFinite && agg.count > 0 && agg.minTime <= agg.maxTime, "unit day \(dk) is \(agg)")
            fuzzCheck(EventTime.storable.contains(agg.minTime) && EventTime.storable.contains(agg.maxTime),
                      "unit day \(dk) holds a time outside the stored range: \(agg)")
        }
    }
    for (key, subjects) in s.assignments {
        for (subject, a) in subjects {
            fuzzCheck(EventTime.storable.contains(a.firstTime), "assignment \(key) \(subject) has first time \(a.firstTime)")
        }
    }
    return 0
}

@main
enum FuzzRollupMain {
    static func main() {
        runFuzzer { data, size in fuzz(data ?? emptyInput, size) }
    }
}
