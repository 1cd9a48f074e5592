import Foundation
import Synchronization
import Testing
import VaneCore

@Suite("Timeouts")
struct TimeoutTests {
    /// Work that ignores cancellation, as a database driver waiting for a connection can.
    private func uncancellableSleep(_ seconds: Double) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { c.resume() }
        }
    }

    @Test func givesUpAtTheLimitEvenWhenTheWorkIgnoresCancellation() async throws {
        let start = ContinuousClock.now
        await #expect(throws: TimedOut.self) {
            try await withTimeout(.milliseconds(200)) { await self.uncancellableSleep(120); return 1 }
        }
        // Far below the work's 120 s, with room for a loaded machine running the other suites.
        #expect(ContinuousClock.now - start < .seconds(60))
    }

    @Test func returnsTheResultOrErrorOfWorkThatFinishesInTime() async throws {
        #expect(try await withTimeout(.seconds(5)) { 42 } == 42)
        struct Refused: Error {}
        await #expect(throws: Refused.self) { try await withTimeout(.seconds(5)) { () async throws -> Int in throw Refused() } }
    }

    @Test func cancelsTheWorkItGivesUpOn() async throws {
        let cancelled = Mutex(false)
        await #expect(throws: TimedOut.self) {
            try await withTimeout(.milliseconds(100)) { () async throws -> Int in
                do { try await Task.sleep(for: .seconds(10)) } catch { cancelled.withLock { $0 = true } }
                return 0
            }
        }
        // The work sees its cancellation soon after the timeout; a loaded machine (the other
        // suites running) can take seconds to schedule it. Left alone it would sleep 10 s and end
        // without noticing, so waiting up to 30 s still tells the two apart.
        let deadline = ContinuousClock.now + .seconds(30)
        while !cancelled.withLock({ $0 }), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(cancelled.withLock { $0 })
    }
}
