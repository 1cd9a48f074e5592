import Foundation

/// This process's memory and disk writes as Linux reports them, for the benchmarks' reports.
enum ProcessStats {
    /// `RssAnon` in MB: heap and stacks, without the mapped database file that `VmRSS` also
    /// counts. 0 where /proc is not available.
    static func anonymousMB() -> Double {
        (field("/proc/self/status", "RssAnon:") ?? 0) / 1024
    }

    /// Bytes this process has caused to be written to storage (`write_bytes` in /proc/self/io), in GB.
    static func writtenGB() -> Double {
        (field("/proc/self/io", "write_bytes:") ?? 0) / 1e9
    }

    private static func field(_ path: String, _ name: String) -> Double? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Double($0) }
        }
        return nil
    }
}
