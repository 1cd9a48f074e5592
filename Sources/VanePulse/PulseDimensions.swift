import VaneCore

/// What a drill-down splits results by: fields of the exposure that first assigned a unit,
/// recorded with the assignment, so a drill-down reads the rollups instead of the event log.
///
/// Recorded: `environment` (the event's environment, else the user's `statsigEnvironment.tier`), the
/// user's `country`, `locale` and `appVersion`, and every scalar `custom.<field>`. At most
/// `maxFields` per unit, each value cut to `maxValueLength` characters. (Exposures come from the
/// SDKs and Vane's own evaluation endpoints; Segment messages become `segment::` events, never
/// exposures, so a Segment message's context is not among them.)
public enum PulseDimensions {
    public static let maxFields = 32
    public static let maxValueLength = 64
    static let userFields = ["country", "locale", "appVersion"]

    /// A name a drill-down may ask for: 1 to 64 letters, digits, `_ . : -`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.:-".unicodeScalars.contains($0)) }
    }

    /// The fields recorded for a unit first assigned by `e`.
    public static func of(_ e: EventRecord) -> [String: String] {
        var fields: [(String, String)] = []
        let user = e.user.objectValue ?? [:]
        if let tier = e.environment ?? user["statsigEnvironment"]?.objectValue?["tier"]?.stringValue { fields.append(("environment", tier)) }
        for f in userFields { if let v = scalar(user[f]) { fields.append((f, v)) } }
        for (k, v) in (user["custom"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let v = scalar(v) { fields.append(("custom." + k, v)) }
        }
        var out: [String: String] = [:]
        for (k, v) in fields where out.count < maxFields && out[k] == nil && isValidName(k) {
            out[k] = String(v.prefix(maxValueLength))
        }
        return out
    }

    static func scalar(_ v: JSONValue?) -> String? {
        switch v {
        case .string(let s)?: return s.isEmpty ? nil : s
        case .bool(let b)?: return b ? "true" : "false"
        case .int(let i)?: return String(i)
        case .double(let d)?: return d.isFinite ? (d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)) : nil
        default: return nil
        }
    }
}
