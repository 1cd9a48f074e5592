// Numbers that come from requests or from stored records must never make the process trap:
// Swift stops on integer overflow and on converting a NaN, infinite or out-of-range Double to an
// integer. These helpers are the total versions of those operations.

extension Int64 {
    /// `self + other`, held at `Int64.min`/`Int64.max` instead of overflowing.
    public func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    public func saturatingSubtract(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other > 0 ? .min : .max
    }

    public func saturatingMultiply(_ other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }
}

public enum SafeNumber {
    /// A whole number in `range`, or nil when `d` is NaN, infinite, fractional or outside it.
    public static func wholeNumber(_ d: Double, in range: ClosedRange<Int64>) -> Int64? {
        guard d.isFinite, d == d.rounded(.towardZero), d >= Double(range.lowerBound), d <= Double(range.upperBound) else {
            return nil
        }
        // In range, so the conversion is exact for the ranges Vane uses (|bounds| < 2^53).
        return Int64(exactly: d)
    }

    /// `d` held inside `range`; NaN becomes the lower bound.
    public static func clamp(_ d: Double, to range: ClosedRange<Double>) -> Double {
        guard !d.isNaN else { return range.lowerBound }
        return Swift.min(Swift.max(d, range.lowerBound), range.upperBound)
    }

    /// `d` rounded to the nearest integer and held inside `range`; NaN becomes the lower bound.
    public static func roundedInt(_ d: Double, clampedTo range: ClosedRange<Int>) -> Int {
        let held = clamp(d.rounded(), to: Double(range.lowerBound)...Double(range.upperBound))
        // Double(Int.max) rounds up to 2^63, which Int cannot hold: fall back to the bound.
        return Int(exactly: held) ?? (held < 0 ? range.lowerBound : range.upperBound)
    }

    /// `p` percent as text for messages: "50%", "12.5%"; never traps, whatever `p` is (a lift of
    /// 1e20 % from a near-zero control mean, an unvalidated size in a refusal message).
    public static func percentText(_ p: Double, unit: String = "%") -> String {
        // Int64(exactly:) is nil for fractions, NaN, infinities and whatever Int64 cannot hold.
        if let whole = Int64(exactly: p) { return "\(whole)" + unit }
        return "\(p)" + unit
    }
}

/// The event times Vane accepts, in epoch milliseconds (UTC).
///
/// The ingest boundary (SDK `log_event`/`rgstr`, Segment) accepts times from 2000-01-01T00:00:00Z
/// to one day after the event arrives: earlier times are broken device clocks or seconds taken
/// for milliseconds, and a time far ahead would sit in every later window (retention never prunes
/// it, it reads as an exposure's "after" forever, it stretches metric series into the future). A
/// day of slack covers clock skew and time-zone mistakes.
///
/// Background jobs check stored events against `storable`, which does not depend on the clock
/// (so a rebuild reads the same data the same way): events outside it — only possible in data
/// written before these checks existed — are set aside with a reason.
public enum EventTime {
    /// 2000-01-01T00:00:00.000Z.
    public static let earliest: Int64 = 946_684_800_000
    /// 9999-12-31T23:59:59.999Z: the last instant with a four-digit year.
    public static let latest: Int64 = 253_402_300_799_999
    /// How far past its arrival an event's time may be.
    public static let maxAhead: Int64 = 86_400_000
    /// Times stored events may have for the background jobs.
    public static let storable: ClosedRange<Int64> = earliest...latest

    /// The times the ingest boundary accepts for an event that arrives at `now`.
    public static func accepted(receivedAt now: Int64) -> ClosedRange<Int64> {
        earliest...Swift.max(earliest, Swift.min(latest, now.saturatingAdd(maxAhead)))
    }

    /// "between … and …", for error messages.
    public static func describeAccepted(receivedAt now: Int64) -> String {
        let range = accepted(receivedAt: now)
        return "between \(ISOTime.format(range.lowerBound)) and \(ISOTime.format(range.upperBound)) (one day after it arrived)"
    }
}

/// The event values the Pulse rollup sums.
///
/// A value beyond ±1e15 (or not finite) is set aside by the rollup rather than summed: within that
/// bound every sum, square and product the rollup keeps stays finite whatever the number of events
/// (1e15 × 2^63 events < 1e34, and its square < 1e68), and whole numbers stay exact (below 2^53).
public enum EventValue {
    public static let maxMagnitude = 1e15
}

extension JSONValue {
    /// The path (`rules[0].passPercentage`) of the first number that is not finite, or nil.
    /// The parser turns literals beyond ±1.8e308 (`1e400`) into infinities; serialised, they
    /// become `null`, which would make a field silently absent rather than refused.
    public func pathOfNonFiniteNumber(_ path: String = "") -> String? {
        switch self {
        case .double(let d): return d.isFinite ? nil : (path.isEmpty ? "body" : path)
        case .array(let a):
            for (i, v) in a.enumerated() {
                if let p = v.pathOfNonFiniteNumber("\(path)[\(i)]") { return p }
            }
            return nil
        case .object(let o):
            for k in o.keys.sorted() {
                if let p = o[k]!.pathOfNonFiniteNumber(path.isEmpty ? k : "\(path).\(k)") { return p }
            }
            return nil
        default: return nil
        }
    }
}

extension JSONValue {
    /// Paths of the numbers an integer field could not hold: fractions and numbers beyond Int64.
    public func pathsOfNonIntegerNumbers(_ path: String = "") -> [String] {
        switch self {
        case .double(let d): return Int64(exactly: d) == nil ? [path.isEmpty ? "body" : path] : []
        case .array(let a): return a.enumerated().flatMap { i, v in v.pathsOfNonIntegerNumbers("\(path)[\(i)]") }
        case .object(let o):
            return o.keys.sorted().flatMap { k in o[k]!.pathsOfNonIntegerNumbers(path.isEmpty ? k : "\(path).\(k)") }
        default: return []
        }
    }
}
