import Foundation

/// Statsig's condition operators, with Python's comparison semantics.
/// Where the Python SDK raises (a non-numeric `gt`, an ISO date for `before`), these return false.
enum Operators {
    static func apply(
        _ op: ConditionOperator, _ value: JSONValue, _ c: CompiledCondition, idLists: [String: Set<String>]
    ) -> Bool {
        let target = c.raw.targetValue
        switch op {
        case .gt: return numeric(value, target, >)
        case .gte: return numeric(value, target, >=)
        case .lt: return numeric(value, target, <)
        case .lte: return numeric(value, target, <=)
        case .version_gt: return version(value, target) { $0 > 0 }
        case .version_gte: return version(value, target) { $0 >= 0 }
        case .version_lt: return version(value, target) { $0 < 0 }
        case .version_lte: return version(value, target) { $0 <= 0 }
        case .version_eq: return version(value, target) { $0 == 0 }
        case .version_neq: return version(value, target) { $0 != 0 }
        case .any: return inTargets(value, c, casefold: true)
        case .none: return !inTargets(value, c, casefold: true)
        case .any_case_sensitive: return inTargets(value, c, casefold: false)
        case .none_case_sensitive: return !inTargets(value, c, casefold: false)
        case .str_starts_with_any: return matchAny(value, c) { $0.hasPrefix($1) }
        case .str_ends_with_any: return matchAny(value, c) { $0.hasSuffix($1) }
        case .str_contains_any: return matchAny(value, c) { $0.contains($1) }
        case .str_contains_none: return !matchAny(value, c) { $0.contains($1) }
        case .str_matches:
            guard let s = PythonValue.str(value), let pattern = PythonValue.str(target) else { return false }
            guard let regex = try? NSRegularExpression(pattern: pattern) else { return false }
            return regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
        case .eq: return pyEqual(value, target)
        case .neq: return !pyEqual(value, target)
        case .before: return dates(value, target) { $0 < $1 }
        case .after: return dates(value, target) { $0 > $1 }
        case .on: return dates(value, target) { $0 / 86_400 == $1 / 86_400 }
        case .in_segment_list, .not_in_segment_list:
            var found = false
            if let list = target.stringValue.flatMap({ idLists[$0] }), let s = PythonValue.str(value) ?? Optional("None") {
                found = list.contains(StatsigHash.idListEntry(s))
            }
            return op == .in_segment_list ? found : !found
        case .array_contains_any:
            guard case .array(let a) = value else { return false }
            return arrayHasAny(a, c)
        case .array_contains_none:
            guard case .array(let a) = value else { return false }
            return !arrayHasAny(a, c)
        case .array_contains_all:
            guard case .array(let a) = value else { return false }
            return arrayHasAll(a, c)
        case .not_array_contains_all:
            guard case .array(let a) = value else { return false }
            return !arrayHasAll(a, c)
        }
    }

    private static func float(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        case .string(let s): return PythonValue.parseFloat(s)
        default: return nil
        }
    }

    private static func numeric(_ v: JSONValue, _ t: JSONValue, _ cmp: (Double, Double) -> Bool) -> Bool {
        guard let a = float(v), let b = float(t) else { return false }
        return cmp(a, b)
    }

    private static func version(_ v: JSONValue, _ t: JSONValue, _ cmp: (Int) -> Bool) -> Bool {
        guard var a = PythonValue.str(v), var b = PythonValue.str(t) else { return false }
        if let i = a.firstIndex(of: "-"), i != a.startIndex { a = String(a[..<i]) }
        if let i = b.firstIndex(of: "-"), i != b.startIndex { b = String(b[..<i]) }
        let pa = a.split(separator: ".", omittingEmptySubsequences: false)
        let pb = b.split(separator: ".", omittingEmptySubsequences: false)
        for i in 0..<max(pa.count, pb.count) {
            var ca: Int64 = 0
            var cb: Int64 = 0
            if i < pa.count {
                guard let f = PythonValue.parseFloat(String(pa[i])), f.isFinite, abs(f) < 9e18 else { return false }
                ca = Int64(f.rounded(.towardZero))
            }
            if i < pb.count {
                guard let f = PythonValue.parseFloat(String(pb[i])), f.isFinite, abs(f) < 9e18 else { return false }
                cb = Int64(f.rounded(.towardZero))
            }
            if ca < cb { return cmp(-1) }
            if ca > cb { return cmp(1) }
        }
        return cmp(0)
    }

    private static func inTargets(_ value: JSONValue, _ c: CompiledCondition, casefold: Bool) -> Bool {
        if let buckets = c.bucketSet {
            // user_bucket: integer membership (a bool counts as 0/1 as in Python).
            switch value {
            case .int(let i): return buckets.contains(i)
            case .bool(let b): return buckets.contains(b ? 1 : 0)
            default: return false
            }
        }
        guard let set = c.targetSet, let s = PythonValue.str(value) else { return false }
        return set.contains(casefold ? PythonValue.casefold(s) : s)
    }

    private static func matchAny(_ value: JSONValue, _ c: CompiledCondition, _ test: (String, String) -> Bool) -> Bool {
        guard let s = PythonValue.str(value), let targets = c.targetCasefolded else { return false }
        let folded = PythonValue.casefold(s)
        return targets.contains { test(folded, $0) }
    }

    /// Python's `==` on JSON values: numbers and bools compare by value, everything else by type and content.
    static func pyEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.string(let x), .string(let y)): return x == y
        case (.int, _), (.double, _), (.bool, _):
            guard let x = numberValue(a), let y = numberValue(b) else { return false }
            return x == y
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { pyEqual($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { k, v in y[k].map { pyEqual(v, $0) } ?? false }
        default: return false
        }
    }

    private static func numberValue(_ v: JSONValue) -> Double? {
        switch v {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// Epoch seconds from an epoch in s or ms (ms when `str()` has 11 or more characters).
    private static func epochSeconds(_ v: JSONValue) -> Int64? {
        guard let s = PythonValue.str(v), let i = PythonValue.parseInt(v) else { return nil }
        if case .string = v, Int64(s) == nil { return nil }
        if s.count >= 11 { return Int64((Double(i) / 1000).rounded(.down)) }
        return i
    }

    /// Dates compare in UTC (the SDK uses the host's local zone for `on`; Vane servers run in UTC).
    private static func dates(_ v: JSONValue, _ t: JSONValue, _ cmp: (Int64, Int64) -> Bool) -> Bool {
        if v.isNull && t.isNull { return false }
        guard let a = epochSeconds(v), let b = epochSeconds(t) else { return false }
        if a < 0 || b < 0 { return cmp(a, b) }
        return cmp(a, b)
    }

    private static func arrayContains(_ a: [JSONValue], int: Int64?, string: String) -> Bool {
        for e in a {
            if let int, let n = numberValue(e), n == Double(int) { return true }
            if case .string(let s) = e, s == string { return true }
        }
        return false
    }

    private static func arrayHasAny(_ a: [JSONValue], _ c: CompiledCondition) -> Bool {
        for t in c.targetList {
            let i = Int64(t)
            if let i, i != 0, arrayContains(a, int: i, string: "\u{0}") { return true }
            if arrayContains(a, int: nil, string: t) { return true }
        }
        return false
    }

    private static func arrayHasAll(_ a: [JSONValue], _ c: CompiledCondition) -> Bool {
        for t in c.targetList {
            let i = Int64(t)
            let hasInt = i.map { arrayContains(a, int: $0, string: "\u{0}") } ?? a.contains(.null)
            if !hasInt && !arrayContains(a, int: nil, string: t) { return false }
        }
        return true
    }
}
