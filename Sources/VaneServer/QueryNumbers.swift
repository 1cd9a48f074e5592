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
}

/// `?limit=` of the console's list endpoints: 1 to 1000.
func limitQuery(_ r: Request, default fallback: Int) throws -> Int {
    try r.wholeNumberQuery("limit", in: 1...1000, default: fallback)
}
