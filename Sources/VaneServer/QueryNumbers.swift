import Hummingbird
import VaneCore

/// Numbers in query strings, checked where they arrive: a value out of range is a 400 that names
/// the parameter, never a number that traps or turns a query into a scan of everything.
extension Request {
    /// A whole number from `range` in query parameter `name`, or `fallback` when it is absent.
    func wholeNumberQuery(_ name: String, in range: ClosedRange<Int>, default fallback: Int) throws -> Int {
        guard let text = query(name) else { return fallback }
        // Int(String) is total: nil for anything that is not a whole number that fits.
        guard let n = Int(text), range.contains(n) else {
            throw APIError.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound) (got '\(text.prefix(40))')")
        }
        return n
    }

    /// A time in query parameter `name`: epoch milliseconds or ISO-8601; nil when absent or empty.
    func timeQuery(_ name: String) throws -> Int64? {
        guard let s = query(name), !s.isEmpty else { return nil }
        if let v = Int64(s) { return v }
        if let v = ISOTime.parse(s) { return v }
        throw APIError.badRequest("\(name) must be epoch milliseconds or an ISO-8601 time (got '\(s.prefix(40))')")
    }

    /// Query parameter `name`, nil when absent or empty.
    func nonEmptyQuery(_ name: String) -> String? {
        query(name).flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// `?limit=` of the console's list endpoints: 1 to 1000.
func limitQuery(_ r: Request, default fallback: Int) throws -> Int {
    try r.wholeNumberQuery("limit", in: 1...1000, default: fallback)
}
