/// What changed between two JSON documents, field by field: the audit log's readable diff.
public enum JSONDiff {
    public struct Change: Sendable, Hashable {
        /// `rules[0].passPercentage`, `groups[1].size`, `description`.
        public var path: String
        /// nil: the field did not exist on that side.
        public var before: JSONValue?
        public var after: JSONValue?
    }

    /// Bookkeeping fields every save rewrites: not changes anyone made.
    public static let bookkeeping: Set<String> = ["version", "lastModifiedTime", "lastModifierName", "createdTime"]

    /// Changes from `before` to `after`, in path order; objects compared by key, arrays by
    /// position. At most `limit` changes (the rest are summarised by the caller).
    public static func changes(_ before: JSONValue?, _ after: JSONValue?, limit: Int = 200) -> [Change] {
        var out: [Change] = []
        walk(before, after, path: "", into: &out, limit: limit)
        return out
    }

    private static func walk(_ a: JSONValue?, _ b: JSONValue?, path: String, into out: inout [Change], limit: Int) {
        guard out.count < limit, !same(a, b) else { return }
        switch (a, b) {
        case (.object(let x)?, .object(let y)?):
            for key in Set(x.keys).union(y.keys).sorted() where !(path.isEmpty && bookkeeping.contains(key)) {
                walk(x[key], y[key], path: path.isEmpty ? key : path + "." + key, into: &out, limit: limit)
            }
        case (.array(let x)?, .array(let y)?):
            for i in 0..<max(x.count, y.count) {
                // `.none`, not `nil`: JSONValue is ExpressibleByNilLiteral, and a missing element is not a JSON null.
                let a: JSONValue? = i < x.count ? x[i] : .none, b: JSONValue? = i < y.count ? y[i] : .none
                walk(a, b, path: "\(path)[\(i)]", into: &out, limit: limit)
            }
        default:
            out.append(Change(path: path.isEmpty ? "(whole value)" : path, before: a, after: b))
        }
    }

    /// Equal as JSON: 1 and 1.0 are the same number.
    static func same(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        switch (a, b) {
        case (.int(let x)?, .double(let y)?), (.double(let y)?, .int(let x)?): return Double(x) == y
        default: return a == b
        }
    }
}
