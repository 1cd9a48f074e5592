import GRDB
import VaneCore

/// How an event's value and custom IDs are stored, the same in both databases: a number in
/// `value_num` (NaN as NULL, as SQLite stores it; infinities as they are, for the rollup to set
/// aside), anything else as text.
enum EventColumns {
    static func value(_ e: EventRecord) -> (number: Double?, text: String?) {
        switch e.value {
        case .int(let i)?: return (Double(i), nil)
        case .double(let d)?: return (d.isNaN ? nil : d, nil)
        case .string(let s)?: return (nil, s)
        case .bool(let b)?: return (nil, b ? "true" : "false")
        default: return (nil, nil)
        }
    }

    /// Plain-text columns store U+0000 as U+FFFD: PostgreSQL text cannot hold it (one would fail the
    /// whole group commit) and SQLite cut the text short at it. JSON columns escape it as \u0000.
    static func text(_ s: String) -> String {
        guard s.utf8.contains(0) else { return s }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 })
        return String(out)
    }

    static func customIDs(_ e: EventRecord) -> String? {
        e.customIDs.isEmpty ? nil : JSONValue.object(e.customIDs.mapValues { .string($0) }).serialized()
    }
}

/// Where each events column sits in a query's rows, found once per query. GRDB finds a column by
/// name case-insensitively on every lookup, which was a tenth of the CPU of the exporter and the
/// rollup reading events (17 lookups a row).
struct EventRowColumns {
    let id, project, eventName, userJSON, userID, stableID, customIDs, environment, valueNum, valueText: Int
    let metadata, secondaryExposures, time, receivedAt, source, sdkType, raw: Int

    init(_ row: Row) {
        var at: [String: Int] = [:]
        for (i, name) in row.columnNames.enumerated() where at[name.lowercased()] == nil { at[name.lowercased()] = i }
        // A column the query did not select is -1: each reader reads only what its query selects
        // (`SELECT *` for `eventRecord`, the rollup's column list for `rollupEvent`).
        func i(_ name: String) -> Int { at[name] ?? -1 }
        (id, project, eventName, userJSON, userID, stableID, customIDs, environment, valueNum, valueText) = (
            i("id"), i("project_id"), i("event_name"), i("user_json"), i("user_id"), i("stable_id"), i("custom_ids"),
            i("environment"), i("value_num"), i("value_text"))
        (metadata, secondaryExposures, time, receivedAt, source, sdkType, raw) = (
            i("metadata"), i("secondary_exposures"), i("time"), i("received_at"), i("source"), i("sdk_type"), i("raw"))
    }
}
