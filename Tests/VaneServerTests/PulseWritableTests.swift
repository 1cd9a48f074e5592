import Foundation
import Testing
import VaneStats
@testable import VaneServer

/// A comparison whose statistics are not finite (JSON has no NaN) loses its estimates, with a note,
/// instead of turning the whole results response into null.
@Suite("Pulse results: non-finite statistics")
struct PulseWritableTests {
    @Test func anEffectWithNaNIsWrittenWithoutItsEstimates() throws {
        let control = GroupSummary(count: 10, sum: .nan, sumSquares: .nan)
        let treatment = GroupSummary(count: 10, sum: 5, sumSquares: 5)
        let effect = StatsEngine.compare(control: control, treatment: treatment, kind: .mean)
        #expect((try? JSONEncoder().encode(effect)) == nil, "the case needs an effect JSON cannot hold")
        let written = PulseService.writable(effect)
        #expect((try? JSONEncoder().encode(written)) != nil)
        #expect(written.absolute == nil && written.relative == nil)
        #expect(written.control.units == 10 && written.treatment.units == 10)
        #expect(written.notes.contains { $0.contains("not a finite number") })
    }

    @Test func aFiniteEffectIsWrittenAsItIs() {
        let effect = StatsEngine.compare(
            control: GroupSummary(count: 100, sum: 50, sumSquares: 50), treatment: GroupSummary(count: 100, sum: 60, sumSquares: 60),
            kind: .conversion)
        #expect(PulseService.writable(effect) == effect)
    }
}
