import Hummingbird
import Synchronization

/// Bounds the memory that request bodies can hold at once. Each request reserves its declared
/// size (the body limit when the size is not declared; a multiple of it when compressed, since it
/// inflates) for as long as it is handled; a request that does not fit waits a little, then gets
/// 503 with Retry-After, which Statsig's and Segment's clients honour. Without it, a burst of large
/// concurrent batches grows the heap by hundreds of megabytes.
final class BodyBudget: Sendable {
    let capacity: Int
    let bodyLimit: Int
    /// Gives memory back once a burst has passed.
    let reclaimer: MemoryReclaimer
    private let state = Mutex((inUse: 0, peakSinceTrim: 0))

    init(capacity: Int, bodyLimit: Int, reclaimer: MemoryReclaimer = MemoryReclaimer(releaseCaches: {})) {
        self.capacity = capacity
        self.bodyLimit = bodyLimit
        self.reclaimer = reclaimer
    }

    /// Bytes a request is expected to hold while it is handled.
    func cost(_ request: Request) -> Int {
        guard request.method != .get, request.method != .head, request.method != .options else { return 0 }
        let declared = request.headers[.contentLength].flatMap { Int($0) }.map { min(max($0, 0), bodyLimit) }
        let compressed = request.headers[.contentEncoding].map { !$0.isEmpty && $0.lowercased() != "identity" } ?? false
        if declared == 0 { return 0 }
        let size = declared ?? bodyLimit
        return compressed ? min(bodyLimit, size.multipliedReportingOverflow(by: 8).overflow ? bodyLimit : size * 8) : size
    }

    func tryReserve(_ bytes: Int) -> Bool {
        state.withLock { s in
            // One request always fits when nothing else is held, whatever its size.
            guard s.inUse == 0 || s.inUse + bytes <= capacity else { return false }
            s.inUse += bytes
            s.peakSinceTrim = max(s.peakSinceTrim, s.inUse)
            return true
        }
    }

    /// Gives a reservation back; the last one out after a burst schedules a heap trim.
    func release(_ bytes: Int) {
        let idleAfterBurst = state.withLock { s in
            s.inUse -= bytes
            return s.inUse == 0 && s.peakSinceTrim >= Self.trimThreshold
        }
        if idleAfterBurst {
            Task.detached { [self] in
                try? await Task.sleep(for: .seconds(1))
                if self.isIdleAfterBurst(threshold: Self.trimThreshold) { await reclaimer.reclaim() }
            }
        }
    }

    static let trimThreshold = 8 << 20

    /// True once, when nothing is held after a burst of at least `threshold` bytes.
    func isIdleAfterBurst(threshold: Int) -> Bool {
        state.withLock { s -> Bool in
            guard s.inUse == 0, s.peakSinceTrim >= threshold else { return false }
            s.peakSinceTrim = 0
            return true
        }
    }
}

struct BodyBudgetMiddleware<Context: RequestContext>: RouterMiddleware {
    let budget: BodyBudget
    var maxWait: Duration = .seconds(5)

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let cost = budget.cost(request)
        guard cost > 0 else { return try await next(request, context) }
        let deadline = ContinuousClock.now + maxWait
        while !budget.tryReserve(cost) {
            guard ContinuousClock.now < deadline else {
                throw APIError(.serviceUnavailable, "the server is busy with other large requests: nothing was stored; retry shortly", retryAfter: 2)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        defer { budget.release(cost) }
        return try await next(request, context)
    }
}
