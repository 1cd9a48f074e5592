import Testing
@testable import VaneStore

/// How the SQLite rollup sizes its transactions: short while anything else logs events, long only
/// while the log is quiet.
@Suite("Rollup transaction sizing")
struct RollupTransactionSizingTests {
    /// 10 µs an event: 40 ms fits 4,000 events, 250 ms fits 25,000.
    static func run(_ sizing: inout RollupTransactionSizing, head: Int64, waited: Duration = .zero) {
        let taken = sizing.events
        sizing.record(events: taken, took: .microseconds(10 * taken), waited: waited, head: head)
    }

    @Test func aQuietLogGrowsTransactionsAfterThreeRuns() {
        var sizing = RollupTransactionSizing()
        for _ in 0..<12 { Self.run(&sizing, head: 1_000_000) }
        #expect(sizing.events > 20_000)
    }

    @Test func steadyIngestKeepsThemShortEvenWhenTheWriterIsFreeWhenAsked() {
        var sizing = RollupTransactionSizing()
        for run in 0..<12 { Self.run(&sizing, head: 1_000_000 + Int64(run) * 500) }
        #expect(sizing.events <= 4_000)
        #expect(sizing.events > 2_000)
    }

    @Test func ingestComingBackDropsThemAtOnce() {
        var sizing = RollupTransactionSizing()
        for _ in 0..<12 { Self.run(&sizing, head: 1_000_000) }
        #expect(sizing.events > 20_000)
        Self.run(&sizing, head: 1_000_100)
        #expect(sizing.events <= 4_000)
        // So does a run that had to wait for the writer, even with the log quiet.
        for _ in 0..<12 { Self.run(&sizing, head: 1_000_100) }
        #expect(sizing.events > 20_000)
        Self.run(&sizing, head: 1_000_100, waited: .milliseconds(30))
        #expect(sizing.events <= 4_000)
    }
}
