import VaneCore
import VanePulse

/// The database-independent steps of one run of the Pulse rollup job, shared by the SQLite and
/// PostgreSQL stores so that both apply a batch of events the same way: which events are set
/// aside, which units' rollups a batch must load, how the events are applied, and what happens
/// when one of them fails.
enum PulseBatch {
    /// An event as the rollup reads it from the events table's columns; metadata is parsed only
    /// when `parseMetadata` (exposures and events that filtered metrics look at), the user only for
    /// exposures (their drill-down fields, `PulseDimensions`).
    static func event(
        id: Int64, project: String, eventName: String, userID: String?, stableID: String?, customIDs: String?,
        valueNum: Double?, valueText: String?, metadata: String?, time: Int64, parseMetadata: Bool,
        userJSON: String? = nil, environment: String? = nil
    ) -> EventRecord {
        var value: JSONValue? = nil
        if let n = valueNum { value = .double(n) } else if let t = valueText { value = .string(t) }
        let customIDs = customIDs.flatMap { try? JSONValue.parse($0).objectValue }?.compactMapValues(\.stringValue) ?? [:]
        let metadata = parseMetadata ? metadata.flatMap { try? JSONValue.parse($0) } : nil
        let isExposure = ExposureKind.isReserved(eventName)
        return EventRecord(
            id: id, project: project, eventName: eventName,
            user: isExposure ? userJSON.flatMap { try? JSONValue.parse($0) } ?? .null : .null, userID: userID, stableID: stableID,
            customIDs: customIDs, environment: environment, value: value, metadata: metadata, secondaryExposures: nil,
            time: time, receivedAt: 0, source: .sdk /* not read by the rollup */, sdkType: nil)
    }

    /// The events columns the rollup selects: the user only for exposures.
    static let rollupColumns = """
        id, event_name, user_id, stable_id, custom_ids, value_num, value_text, metadata, time, environment,
        CASE WHEN substr(event_name, 1, 9) = 'statsig::' THEN user_json END AS user_json
        """

    /// An assignment's drill-down fields as stored (a JSON object; NULL when none).
    static func dimensionsText(_ d: [String: String]) -> String? {
        d.isEmpty ? nil : JSONValue.object(d.mapValues { .string($0) }).serialized()
    }

    static func dimensions(_ text: String?) -> [String: String] {
        text.flatMap { try? JSONValue.parse($0).objectValue }?.compactMapValues(\.stringValue) ?? [:]
    }

    /// Whether the rollup reads an event's metadata.
    static func needsMetadata(_ eventName: String, metadataEvents: Set<String>) -> Bool {
        ExposureKind.isReserved(eventName) || metadataEvents.contains(eventName)
    }

    /// Splits a batch into the events the rollup cannot use (set aside, with their reason) and the rest.
    static func partition(_ events: [EventRecord], catalog: PulseCatalog) -> (setAside: [PulseSetAside], usable: [EventRecord]) {
        let probe = PulseRollupProcessor(catalog: catalog, state: PulseBatchState(), exactEvents: { _, _, _, _ in [] })
        var setAside: [PulseSetAside] = []
        var usable: [EventRecord] = []
        for e in events {
            if let problem = probe.setAsideReason(e) { setAside.append(problem) } else { usable.append(e) }
        }
        return (setAside, usable)
    }

    /// What a batch must load: every unit it carries, and for the units it exposes, the earliest
    /// exposure time in the batch (their unit days from 7 days before it are needed for backfills).
    static func unitsToLoad(_ events: [EventRecord], catalog: PulseCatalog) -> (keys: Set<UnitKey>, exposed: [UnitKey: Int64]) {
        let probe = PulseRollupProcessor(catalog: catalog, state: PulseBatchState(), exactEvents: { _, _, _, _ in [] })
        var keys = Set<UnitKey>()
        var exposed: [UnitKey: Int64] = [:]
        for e in events {
            let units = PulseRollupProcessor.units(of: e, types: catalog.unitTypes)
            keys.formUnion(units)
            if !probe.exposures(e).isEmpty {
                for k in units { exposed[k] = min(exposed[k] ?? .max, e.time) }
            }
        }
        return (keys, exposed)
    }

    /// The first day of unit days to load for exposed units whose earliest exposure in the batch is at `times`.
    static func firstDayToLoad<S: Sequence>(exposureTimes times: S) -> Int64 where S.Element == Int64 {
        (times.map { PulseDay.of($0) }.min() ?? 0).saturatingSubtract(PulseRollupProcessor.prePeriodDays)
    }

    /// Applies events in order to the loaded state; stops at the first event that throws.
    static func apply(
        _ events: [EventRecord], catalog: PulseCatalog, state: PulseBatchState, exactEvents: @escaping PulseExactEvents
    ) -> (state: PulseBatchState, failed: (index: Int, error: any Error)?) {
        var processor = PulseRollupProcessor(catalog: catalog, state: state, exactEvents: exactEvents)
        for (i, e) in events.enumerated() {
            do { try processor.apply(e) } catch {
                return (processor.state, (i, error))
            }
        }
        return (processor.state, nil)
    }

    /// Sets aside the event that failed (the state holds part of it): the batch is applied again
    /// from the stored state up to that event, and the run accounts for events up to it.
    static func setAsideFailed(
        index: Int, error: any Error, usable: inout [EventRecord], setAside: inout [PulseSetAside], through: inout Int64
    ) {
        let bad = usable[index]
        setAside.append(PulseSetAside(
            eventID: bad.id ?? 0, eventName: bad.eventName, time: bad.time, reason: .failed, detail: "\(error)"))
        setAside.removeAll { ($0.eventID) > (bad.id ?? 0) }
        usable = Array(usable[..<index])
        through = bad.id ?? through
    }

    /// The events of one unit in [from, to) with ids below `before`: one call of `PulseExactEvents`.
    struct ExactRequest: Hashable, Sendable {
        var key: UnitKey
        var from: Int64
        var to: Int64
        var before: Int64
    }

    /// The column that holds a unit type's units in the events table, or nil for custom ID types
    /// (kept in the custom_ids JSON).
    static func eventsColumn(unitType: String) -> String? {
        switch unitType.lowercased() {
        case "userid": return "user_id"
        case "stableid": return "stable_id"
        default: return nil
        }
    }
}
