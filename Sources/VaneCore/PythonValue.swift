import Foundation

/// Python's conversions as Statsig's reference SDK applies them to user values and targets.
/// Matching them is what keeps string operators bit-exact with the SDK.
public enum PythonValue {
    /// `str(value)` for a JSON value; nil for null.
    public static func str(_ value: JSONValue) -> String? {
        switch value {
        case .null: return nil
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return repr(d)
        case .bool(let b): return b ? "True" : "False"
        case .array, .object: return reprContainer(value)
        }
    }

    /// Python's float repr: shortest round-trip digits, always with a decimal point or exponent.
    public static func repr(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        if d == d.rounded(), abs(d) < 1e16 { return String(Int64(d)) + ".0" }
        var s = "\(d)"
        // Swift writes 1e+16 as Python does, but 5e-324 style exponents need two digits.
        if let e = s.firstIndex(of: "e") {
            let mantissa = s[..<e]
            var exp = s[s.index(after: e)...]
            var sign = "+"
            if exp.first == "-" || exp.first == "+" { sign = String(exp.first!); exp = exp.dropFirst() }
            let digits = exp.count < 2 ? "0" + exp : String(exp)
            s = mantissa + "e" + sign + digits
        }
        return s
    }

    private static func reprContainer(_ value: JSONValue) -> String {
        switch value {
        case .null: return "None"
        case .string(let s):
            // repr() picks double quotes when the string holds a single quote and no double quote.
            if s.contains("'") && !s.contains("\"") { return "\"" + s.replacingOccurrences(of: "\\", with: "\\\\") + "\"" }
            return "'" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'") + "'"
        case .array(let a): return "[" + a.map(reprContainer).joined(separator: ", ") + "]"
        case .object(let o):
            return "{" + o.keys.sorted().map { "'\($0)': " + reprContainer(o[$0]!) }.joined(separator: ", ") + "}"
        default: return str(value) ?? "None"
        }
    }

    /// Python's `float(x)` for strings: surrounding whitespace, underscores between digits, inf and nan.
    /// Returns nil where Python would raise (the SDK then reports an error; Vane treats it as false).
    public static func parseFloat(_ s: String) -> Double? {
        let trimmed = asciiDigits(s.trimmingWhitespace())
        if trimmed.isEmpty { return nil }
        if let d = Double(trimmed) {
            // Swift accepts hex floats ("0x1p3"), Python does not.
            if trimmed.lowercased().contains("x") { return nil }
            return d
        }
        if trimmed.contains("_") {
            let chars = Array(trimmed)
            for (i, c) in chars.enumerated() where c == "_" {
                guard i > 0, i + 1 < chars.count, chars[i - 1].isASCII, chars[i - 1].isNumber,
                    chars[i + 1].isASCII, chars[i + 1].isNumber
                else { return nil }
            }
            return Double(trimmed.replacingOccurrences(of: "_", with: ""))
        }
        return nil
    }

    /// Python's `int(x)`: ints, integral floats truncated, and integer strings.
    public static func parseInt(_ value: JSONValue) -> Int64? {
        switch value {
        case .int(let i): return i
        case .double(let d): return d.isFinite && abs(d) < 9.2e18 ? Int64(d.rounded(.towardZero)) : nil
        case .bool(let b): return b ? 1 : 0
        case .string(let s):
            let t = asciiDigits(s.trimmingWhitespace())
            if let i = Int64(t) { return i }
            // Python allows underscores between digits: int("1_000").
            guard t.contains("_"), let d = parseFloat(t), d == d.rounded(), !t.contains("."), !t.lowercased().contains("e")
            else { return nil }
            return Int64(exactly: d)
        default: return nil
        }
    }

    /// Python's int() and float() accept any Unicode decimal digit ("١٢", "１２"): map them to ASCII.
    static func asciiDigits(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s }
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if scalar.value >= 0x80, scalar.properties.numericType == .decimal, let v = scalar.properties.numericValue,
                let digit = Unicode.Scalar(UInt32(48 + Int(v)))
            {
                out.append(digit)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// The UTF-8 bytes of `casefold(s)`; ASCII strings are folded byte by byte without a new String.
    @inline(__always)
    public static func foldedBytes(_ s: String) -> [UInt8] {
        var bytes = Array(s.utf8)
        var ascii = true
        for i in bytes.indices {
            let b = bytes[i]
            if b >= 0x80 { ascii = false; break }
            if b >= 0x41 && b <= 0x5A { bytes[i] = b | 0x20 }
        }
        return ascii ? bytes : Array(casefold(s).utf8)
    }

    /// `str.casefold()`, which for the characters seen in IDs and attributes is lower-casing.
    @inline(__always)
    public static func casefold(_ s: String) -> String {
        if s.utf8.allSatisfy({ $0 < 0x80 && !(0x41...0x5A).contains($0) }) { return s }
        if s.utf8.allSatisfy({ $0 < 0x80 }) { return s.lowercased() }
        // Full Unicode case folding, as Python's casefold() ("ﬁ" → "fi", "ß" → "ss").
        return s.folding(options: [.caseInsensitive], locale: nil)
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let f = scalars.first, f.isWhitespace { scalars = scalars.dropFirst() }
        while let l = scalars.last, l.isWhitespace { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
