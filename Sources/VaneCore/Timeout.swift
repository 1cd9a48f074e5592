public struct TimedOut: Error {}

/// Runs `body`, giving up after `limit`.
public func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    // Not a task group: a group waits for all its children, so a body that ignores cancellation
    // (a database driver waiting on a connection) would hold the caller past the limit.
    let outcome = FirstResult<T>()
    let timer = Task {
        try await Task.sleep(for: limit)
        outcome.report(.failure(TimedOut()))
    }
    defer { timer.cancel() }
    return try await outcome.run(body)
}

extension Duration {
    /// The duration in seconds, as a Double.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
