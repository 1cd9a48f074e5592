import Synchronization

/// Waits for whichever of several racers reports first; later reports are ignored. For waits that
/// must end even when the work they wait on never does (a driver that loses a response with its
/// connection): the caller stops waiting, and the abandoned work is left to finish or not.
public final class FirstResult<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var done = false
    }

    private let state = Mutex(State())

    public init() {}

    /// Suspends until a racer reports.
    public func value() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let early = state.withLock { s -> Result<T, any Error>? in
                if let early = s.early { return early }
                s.continuation = continuation
                return nil
            }
            if let early { continuation.resume(with: early) }
        }
    }

    /// Reports a result, unless another racer already did.
    public func report(_ result: Result<T, any Error>) {
        let waiting = state.withLock { s -> CheckedContinuation<T, any Error>?? in
            guard !s.done else { return .none }
            s.done = true
            guard let c = s.continuation else {
                s.early = result
                return .some(nil)
            }
            s.continuation = nil
            return .some(c)
        }
        waiting??.resume(with: result)
    }

    /// Runs `work` in its own task, racing whatever else reports, and returns the first result.
    /// Cancelling the caller cancels the work (it still waits for it, or for another report);
    /// work that loses the race is cancelled.
    public func run(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task {
            do { self.report(.success(try await work())) } catch { self.report(.failure(error)) }
        }
        defer { task.cancel() }
        return try await withTaskCancellationHandler {
            try await value()
        } onCancel: {
            task.cancel()
        }
    }
}
