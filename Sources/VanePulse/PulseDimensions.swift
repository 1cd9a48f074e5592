import VaneCore

/// What a drill-down splits results by: fields of the exposure that first assigned a unit,
/// recorded with the assignment, so a drill-down reads the rollups instead of the event log.
///
/// Recorded: `environment` (the user's `statsigEnvironment.tier`), the user's `country`, `locale`
/// and `appVersion`, every scalar `custom.<field>`, and for exposures that arrived through Segment
/// the scalar `context.<path>` fields of the message (two levels: `context.device.type`,
/// `context.campaign.source`, …) except those that identify a person (`ip`, `userAgent`, traits).
/// At most `maxFields` per unit, each value cut to `maxValueLength` characters.
public enum PulseDimensions {
    public static let maxFields = 32
    public static let maxValueLength = 64
    static let userFields = ["country", "locale", "appVersion"]
    /// Segment context fields never recorded: they identify a person, or carry no category.
    static let privateContext: Set<String> = ["ip", "userAgent", "userAgentData", "traits", "externalIds", "personas", "groupId", "instanceId"]

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
        if e.source == .segment, let context = e.raw?.objectValue?["context"]?.objectValue {
            for (k, v) in context.sorted(by: { $0.key < $1.key }) where !privateContext.contains(k) {
                if let s = scalar(v) {
                    fields.append(("context." + k, s))
                } else if let inner = v.objectValue {
                    for (k2, v2) in inner.sorted(by: { $0.key < $1.key }) where !privateContext.contains(k2) {
                        if let s = scalar(v2) { fields.append(("context.\(k).\(k2)", s)) }
                    }
                }
            }
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
