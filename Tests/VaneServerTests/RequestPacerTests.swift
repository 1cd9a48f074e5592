import Testing
@testable import VaneServer

@Suite("Request pacing")
struct RequestPacerTests {
    @Test func reservationsAreSpacedWhateverTheConcurrency() async {
        let pacer = RequestPacer()
        let now = ContinuousClock.now
        // 8 senders asking at the same instant, 5 requests each, at 10 per second.
        let waits = await withTaskGroup(of: [Duration].self) { group in
            for _ in 0..<8 {
                group.addTask { (0..<5).map { _ in pacer.reserve("wk", perSecond: 10, now: now) } }
            }
            var all: [Duration] = []
            for await w in group { all += w }
            return all.sorted()
        }
        #expect(waits.count == 40)
        #expect(waits == (0..<40).map { Duration.milliseconds(100 * $0) }, "one start every 100 ms, none shared")
        // So no window of one second holds more than 10 starts.
        for (i, w) in waits.enumerated() where i + 10 < waits.count {
            #expect(waits[i + 10] - w >= .seconds(1))
        }
    }

    @Test func keysArePacedApartAndIdleTimeIsNotBanked() {
        let pacer = RequestPacer()
        let t0 = ContinuousClock.now
        #expect(pacer.reserve("a", perSecond: 2, now: t0) == .zero)
        #expect(pacer.reserve("b", perSecond: 2, now: t0) == .zero, "another write key has its own budget")
        #expect(pacer.reserve("a", perSecond: 2, now: t0) == .milliseconds(500))
        // After a quiet spell the next request goes at once, but no burst is allowed from it.
        let later = t0 + .seconds(10)
        #expect(pacer.reserve("a", perSecond: 2, now: later) == .zero)
        #expect(pacer.reserve("a", perSecond: 2, now: later) == .milliseconds(500))
    }
}
