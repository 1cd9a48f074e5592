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
