import Foundation
import Synchronization

/// A regular expression compiled once and shared by every evaluation (building an
/// `NSRegularExpression` costs far more than matching it). The expression is immutable, and
/// Foundation documents it as safe to use from many threads at once.
final class CompiledRegex: @unchecked Sendable {
    private let regex: NSRegularExpression

    /// nil when the pattern does not compile.
    init?(_ pattern: String) {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        self.regex = regex
    }

    func firstMatch(in s: String) -> NSTextCheckingResult? {
        regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s))
    }

    /// Compiled expressions for a fixed set of patterns (the user-agent parser's), built on first use.
    static func cached(_ pattern: String) -> CompiledRegex? {
        if let hit = cache.withLock({ $0[pattern] }) { return hit }
        let compiled = CompiledRegex(pattern)
        cache.withLock { $0[pattern] = compiled }
        return compiled
    }

    private static let cache = Mutex<[String: CompiledRegex?]>([:])
}
