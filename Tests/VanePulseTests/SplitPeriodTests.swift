import Testing
import VaneCore
import VanePulse

@Suite("Split periods")
struct SplitPeriodTests {
    let arms: [(arm: String, name: String, weight: Double?)] = [("r1", "Control", 60), ("r2", "Test", 40)]

    @Test func eachPeriodIsCheckedAgainstItsOwnSplitAndTheChangeDayIsLeftOut() {
        let day: Int64 = 20_000
        let history = [
            SplitPeriod(since: PulseDay.start(day), sizes: ["Control": 50, "Test": 50]),
            SplitPeriod(since: PulseDay.start(day + 3) + 3_600_000, sizes: ["Control": 60, "Test": 40]),
        ]
        let exposures: [Int64: [String: Int]] = [
            day: ["r1": 500, "r2": 500], day + 1: ["r1": 500, "r2": 500],
            day + 3: ["r1": 999, "r2": 1],  // the change day: either split; counted in neither period
            day + 4: ["r1": 600, "r2": 400], day + 5: ["r1": 600, "r2": 400],
        ]
        let periods = SRMPeriod.periods(history: history, arms: arms, exposureDays: exposures)
        #expect(periods.count == 2)
        #expect(periods[0].units == ["Control": 1000, "Test": 1000] && periods[0].until == history[1].since)
        #expect(periods[1].units == ["Control": 1200, "Test": 800] && periods[1].until == nil)
        #expect(periods[0].srm?.isMismatch == false && periods[1].srm?.isMismatch == false)

        // The same units judged against one split would be a mismatch: what the periods prevent.
        var skewed = exposures
        skewed[day + 5] = ["r1": 200, "r2": 800]
        #expect(SRMPeriod.periods(history: history, arms: arms, exposureDays: skewed)[1].srm?.isMismatch == true)
        // A period without units has no check.
        #expect(SRMPeriod.periods(history: history, arms: arms, exposureDays: [day: ["r1": 5, "r2": 5]])[1].srm == nil)
    }
}
