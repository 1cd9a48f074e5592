import Foundation

/// Statsig's condition operators, with Python's comparison semantics.
/// Where the Python SDK raises (a non-numeric `gt`, an ISO date for `before`), these return false.
enum Operators {
    static func apply(
        _ op: ConditionOperator, _ value: JSONValue, _ c: CompiledCondition, idLists: [String: Set<String>]
    ) -> Bool {
        switch op {
        case .gt: return numeric(value, c.targetNumber, >)
        case .gte: return numeric(value, c.targetNumber, >=)
        case .lt: return numeric(value, c.targetNumber, <)
        case .lte: return numeric(value, c.targetNumber, <=)
        case .version_gt: return version(value, c.targetVersion) { $0 > 0 }
        case .version_gte: return version(value, c.targetVersion) { $0 >= 0 }
        case .version_lt: return version(value, c.targetVersion) { $0 < 0 }
        case .version_lte: return version(value, c.targetVersion) { $0 <= 0 }
        case .version_eq: return version(value, c.targetVersion) { $0 == 0 }
        case .version_neq: return version(value, c.targetVersion) { $0 != 0 }
        case .any: return inTargets(value, c, casefold: true)
        case .none: return !inTargets(value, c, casefold: true)
        case .any_case_sensitive: return inTargets(value, c, casefold: false)
        case .none_case_sensitive: return !inTargets(value, c, casefold: false)
        case .str_starts_with_any: return matchAny(value, c, .prefix)
        case .str_ends_with_any: return matchAny(value, c, .suffix)
        case .str_contains_any: return matchAny(value, c, .contains)
        case .str_contains_none: return !matchAny(value, c, .contains)
        case .str_matches:
            guard let s = PythonValue.str(value), let regex = c.targetRegex else { return false }
            return regex.firstMatch(in: s) != nil
        case .eq: return pyEqual(value, c.raw.targetValue)
        case .neq: return !pyEqual(value, c.raw.targetValue)
        case .before: return dates(value, c.raw.targetValue) { $0 < $1 }
        case .after: return dates(value, c.raw.targetValue) { $0 > $1 }
        case .on: return dates(value, c.raw.targetValue) { floorDiv($0, 86_400) == floorDiv($1, 86_400) }
        case .in_segment_list, .not_in_segment_list:
            var found = false
            if let list = c.raw.targetValue.stringValue.flatMap({ idLists[$0] }) {
                // The SDK hashes str(value), so a missing value is looked up as "None".
                found = list.contains(StatsigHash.idListEntry(PythonValue.str(value) ?? "None"))
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

    /// `apply` for a value that is a string (a user's own field), without wrapping it in a
    /// JSONValue: the user field conditions of a rule set take this path on most evaluations.
    static func apply(
        _ op: ConditionOperator, string s: String, _ c: CompiledCondition, idLists: [String: Set<String>]
    ) -> Bool {
        switch op {
        case .version_gt: return version(string: s, c.targetVersion) { $0 > 0 }
        case .version_gte: return version(string: s, c.targetVersion) { $0 >= 0 }
        case .version_lt: return version(string: s, c.targetVersion) { $0 < 0 }
        case .version_lte: return version(string: s, c.targetVersion) { $0 <= 0 }
        case .version_eq: return version(string: s, c.targetVersion) { $0 == 0 }
        case .version_neq: return version(string: s, c.targetVersion) { $0 != 0 }
        case .any: return inTargets(string: s, c, casefold: true)
        case .none: return !inTargets(string: s, c, casefold: true)
        case .any_case_sensitive: return inTargets(string: s, c, casefold: false)
        case .none_case_sensitive: return !inTargets(string: s, c, casefold: false)
        case .str_starts_with_any: return matchAny(string: s, c, .prefix)
        case .str_ends_with_any: return matchAny(string: s, c, .suffix)
        case .str_contains_any: return matchAny(string: s, c, .contains)
        case .str_contains_none: return !matchAny(string: s, c, .contains)
        default: return apply(op, .string(s), c, idLists: idLists)
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

    private static func numeric(_ v: JSONValue, _ target: Double?, _ cmp: (Double, Double) -> Bool) -> Bool {
        guard let a = float(v), let b = target else { return false }
        return cmp(a, b)
    }

    /// Python's version parse: cut at the first `-` (when not leading), split on `.`, each part
    /// `int(float(part))`, nil for a part that is not numeric. The SDK parses parts lazily while
    /// comparing, so a bad part only matters once the comparison reaches it. Python's integers
    /// have no bound; a part beyond ±9e18 is held at that bound here, so it still orders above
    /// (or below) every ordinary part, and parts that float() rounds to the same value stay equal.
    static func versionParts(_ text: String) -> [Int64?] {
        var s = Substring(text)
        if let i = s.firstIndex(of: "-"), i != s.startIndex { s = s[..<i] }
        return s.split(separator: ".", omittingEmptySubsequences: false).map { p in
            if !p.isEmpty, p.utf8.count < 18, p.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return Int64(p) }
            guard let f = PythonValue.parseFloat(String(p)), f.isFinite else { return nil }
            return Int64(SafeNumber.clamp(f.rounded(.towardZero), to: -9e18...9e18))
        }
    }

    private static func version(_ v: JSONValue, _ target: [Int64?]?, _ cmp: (Int) -> Bool) -> Bool {
        guard let s = PythonValue.str(v) else { return false }
        return version(string: s, target, cmp)
    }

    private static func version(string s: String, _ target: [Int64?]?, _ cmp: (Int) -> Bool) -> Bool {
        guard let b = target else { return false }
        if let order = plainVersionOrder(s, b) { return cmp(order) }
        let a = versionParts(s)
        for i in 0..<max(a.count, b.count) {
            guard let x = i < a.count ? a[i] : 0, let y = i < b.count ? b[i] : 0 else { return false }
            if x < y { return cmp(-1) }
            if x > y { return cmp(1) }
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
        if case .string(let s) = value { return inTargets(string: s, c, casefold: casefold) }
        guard let s = PythonValue.str(value) else { return false }
        return inTargetSets(s, c, casefold: casefold)
    }

    private static func inTargets(string s: String, _ c: CompiledCondition, casefold: Bool) -> Bool {
        if c.bucketSet != nil { return false }
        if casefold, let targets = c.foldedTargets {
            var text = s
            let found: Bool? = text.withUTF8 { bytes in
                guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
                return targets.contains { t in
                    t.count == bytes.count && zip(t, bytes).allSatisfy { $0 == FoldedKey.lower($1) }
                }
            }
            if let found { return found }
        }
        return inTargetSets(s, c, casefold: casefold)
    }

    private static func inTargetSets(_ s: String, _ c: CompiledCondition, casefold: Bool) -> Bool {
        if casefold {
            guard let set = c.foldedSet else { return false }
            return set.contains(FoldedKey(s))
        }
        guard let set = c.exactSet else { return false }
        return set.contains(ByteKey(s))
    }

    enum Placement { case prefix, suffix, contains }

    /// The string operators compare casefolded text with casefolded targets. ASCII text is
    /// lower-cased byte by byte while comparing; other text is casefolded first (it can change length).
    private static func matchAny(_ value: JSONValue, _ c: CompiledCondition, _ placement: Placement) -> Bool {
        if case .string(let s) = value { return matchAny(string: s, c, placement) }
        guard let targets = c.targetFoldedBytes, let s = PythonValue.str(value) else { return false }
        return matchFolded(s, targets, placement)
    }

    private static func matchAny(string s: String, _ c: CompiledCondition, _ placement: Placement) -> Bool {
        guard let targets = c.targetFoldedBytes else { return false }
        var text = s
        let matched: Bool? = text.withUTF8 { bytes in
            guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
            return targets.contains { occurs($0, in: bytes, placement, lowering: true) }
        }
        return matched ?? matchFolded(s, targets, placement)
    }

    private static func matchFolded(_ s: String, _ targets: [[UInt8]], _ placement: Placement) -> Bool {
        PythonValue.foldedBytes(s).withUnsafeBufferPointer { folded in
            targets.contains { occurs($0, in: folded, placement, lowering: false) }
        }
    }

    private static func occurs(
        _ needle: [UInt8], in text: UnsafeBufferPointer<UInt8>, _ placement: Placement, lowering: Bool
    ) -> Bool {
        let n = needle.count
        guard text.count >= n else { return false }
        func matches(at start: Int) -> Bool {
            for i in 0..<n where (lowering ? FoldedKey.lower(text[start + i]) : text[start + i]) != needle[i] {
                return false
            }
            return true
        }
        switch placement {
        case .prefix: return matches(at: 0)
        case .suffix: return matches(at: text.count - n)
        case .contains:
            for start in 0...(text.count - n) where matches(at: start) { return true }
            return false
        }
    }

    /// Fast path for the common `1.2.3` form (digits and dots only): compares without allocating.
    /// nil when the version has any other character, for the general path to handle.
    private static func plainVersionOrder(_ s: String, _ target: [Int64?]) -> Int? {
        var s = s
        return s.withUTF8 { bytes -> Int? in
            var i = 0
            var part = 0
            var current: Int64 = 0
            var digits = 0
            var order = 0
            func settle() -> Bool {
                guard digits > 0, digits < 18, part < target.count || true else { return false }
                let t: Int64
                if part < target.count {
                    guard let tv = target[part] else { return false }
                    t = tv
                } else {
                    t = 0
                }
                if order == 0 { order = current < t ? -1 : (current > t ? 1 : 0) }
                return true
            }
            while i < bytes.count {
                let c = bytes[i]
                if c >= 48 && c <= 57 {
                    // Parts of 18 digits or more go to the general path (settle() refuses them):
                    // stop accumulating before the multiplication could overflow.
                    if digits < 18 { current = current * 10 + Int64(c - 48) }
                    digits += 1
                } else if c == 46 {
                    guard settle() else { return nil }
                    part += 1
                    current = 0
                    digits = 0
                } else {
                    return nil
                }
                i += 1
            }
            guard settle() else { return nil }
            part += 1
            // Remaining target parts compare against 0; a bad target part met first decides nothing.
            while order == 0 && part < target.count {
                guard let t = target[part] else { return nil }
                order = 0 < t ? -1 : (0 > t ? 1 : 0)
                part += 1
            }
            return order
        }
    }

    /// Python's `==` on JSON values: numbers and bools compare by value, everything else by type and content.
    static func pyEqual(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.string(let x), .string(let y)): return x.utf8.elementsEqual(y.utf8)
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
        if s.count >= 11 { return Int64((Double(i) / 1000).rounded(.down)) }
        return i
    }

    /// Dates compare in UTC (the SDK uses the host's local zone for `on`; Vane servers run in UTC).
    private static func dates(_ v: JSONValue, _ t: JSONValue, _ cmp: (Int64, Int64) -> Bool) -> Bool {
        if v.isNull && t.isNull { return false }
        guard let a = epochSeconds(v), let b = epochSeconds(t) else { return false }
        return cmp(a, b)
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func arrayContains(_ a: [JSONValue], int: Int64?, string: String) -> Bool {
        for e in a {
            if let int, let n = numberValue(e), n == Double(int) { return true }
            if case .string(let s) = e, s.utf8.elementsEqual(string.utf8) { return true }
        }
        return false
    }

    private static func arrayHasAny(_ a: [JSONValue], _ c: CompiledCondition) -> Bool {
        for t in c.targetList {
            let i = PythonValue.parseInt(.string(t))
            if let i, i != 0, arrayContains(a, int: i, string: "\u{0}") { return true }
            if arrayContains(a, int: nil, string: t) { return true }
        }
        return false
    }

    private static func arrayHasAll(_ a: [JSONValue], _ c: CompiledCondition) -> Bool {
        for t in c.targetList {
            let i = PythonValue.parseInt(.string(t))
            let hasInt = i.map { arrayContains(a, int: $0, string: "\u{0}") } ?? a.contains(.null)
            if !hasInt && !arrayContains(a, int: nil, string: t) { return false }
        }
        return true
    }
}
