import Foundation
import VaneCore

/// How the console prints times, numbers and JSON.
enum WebFormat {
    /// A time as `YYYY-MM-DD hh:mm:ss` (UTC), or `—` when there is none.
    static func time(_ ms: Int64?) -> String {
        guard let ms, ms > 0 else { return "—" }
        let iso = ISOTime.format(ms)
        return String(iso.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    /// Indented JSON with sorted keys, or "" for none.
    static func pretty(_ v: JSONValue?) -> String {
        guard let v, !v.isNull else { return "" }
        return String(decoding: (try? JSONSerialization.data(
            withJSONObject: JSONSerialization.jsonObject(with: Data(v.serializedBytes()), options: [.fragmentsAllowed]),
            options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])) ?? Data(v.serializedBytes()), as: UTF8.self)
    }

    /// A whole number without decimals, anything else with `digits` significant digits, `—` if not finite.
    static func number(_ x: Double, digits: Int = 4) -> String {
        guard x.isFinite else { return "—" }
        if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
        return String(format: "%.\(digits)g", x)
    }

    /// nil for "": Mustache sections treat an empty string as true, so optional text is left out instead.
    static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }
}

/// A choice in a `<select>`.
struct WebOption: Sendable {
    let name: String
    let selected: Bool

    /// One option per name, the one equal to `selected` marked.
    static func list(_ names: [String], selected: String?) -> [WebOption] {
        names.map { WebOption(name: $0, selected: $0 == selected) }
    }
}
