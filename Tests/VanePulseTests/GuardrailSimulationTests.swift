import Testing
import VaneCore
import VanePulse
import VaneStats

/// The guardrail rule (`GuardrailCheck`) on simulated rollouts, watched continuously: the verdict
/// is taken after every batch of units, as the watch job does on every run. Under no effect the
/// share of runs that ever roll back must stay within alpha (the sequential test's promise);
/// under harm nearly every run must roll back, and how soon is reported. A fixed-horizon test
/// watched the same way is simulated too, to show what the sequential test prevents.
@Suite("Guardrail simulation")
struct GuardrailSimulationTests {
    /// SplitMix64: reproducible runs.
    struct Random {
        var state: UInt64
        mutating func next() -> Double {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return Double(z >> 11) / Double(1 << 53)
        }
    }

    struct Outcome {
        var rolledBack = 0
        var unitsAtRollback: [Int] = []
    }

    /// `runs` rollouts of `looks` batches of `batch` units per arm, conversion rates `control` and
    /// `treatment`; a run rolls back at the first look whose verdict is harm.
    static func simulate(
        runs: Int, looks: Int, batch: Int, control: Double, treatment: Double, guardrail: Guardrail, sequential: Bool, seed: UInt64
    ) -> Outcome {
        var rng = Random(state: seed)
        var out = Outcome()
        var options = GuardrailCheck.options(comparisons: 1)
        options.sequential = sequential
        for _ in 0..<runs {
            var a = GroupSummary(values: []), b = GroupSummary(values: [])
            for look in 1...looks {
                for _ in 0..<batch {
                    a.add(rng.next() < control ? 1 : 0)
                    b.add(rng.next() < treatment ? 1 : 0)
                }
                let effect = StatsEngine.compare(control: a, treatment: b, kind: .conversion, options: options)
                if case .harmed = GuardrailCheck.verdict(effect, guardrail) {
                    out.rolledBack += 1
                    out.unitsAtRollback.append(look * batch)
                    break
                }
            }
        }
        return out
    }

    static let purchases = Guardrail(metric: "conversion:purchase", harmfulDirection: .decrease, tolerance: 0)

    @Test func aNullEffectWatchedContinuouslyRarelyRollsBack() {
        let runs = 400
        let sequential = Self.simulate(
            runs: runs, looks: 40, batch: 250, control: 0.1, treatment: 0.1, guardrail: Self.purchases, sequential: true, seed: 1)
        let naive = Self.simulate(
            runs: runs, looks: 40, batch: 250, control: 0.1, treatment: 0.1, guardrail: Self.purchases, sequential: false, seed: 1)
        let rate = Double(sequential.rolledBack) / Double(runs)
        let naiveRate = Double(naive.rolledBack) / Double(runs)
        print("null effect, 40 looks up to 10,000 units per arm: false rollbacks \(sequential.rolledBack)/\(runs) = \(rate) "
              + "(sequential); \(naive.rolledBack)/\(runs) = \(naiveRate) with a fixed-horizon test watched the same way")
        #expect(rate <= 0.05, "the sequential watch rolled back \(rate) of null rollouts; alpha is 0.05")
        #expect(naiveRate > rate, "peeking with a fixed-horizon test should raise false alarms; the simulation cannot tell them apart")
    }

    @Test func aHarmfulRolloutIsRolledBackSoon() {
        let runs = 200
        // Purchases drop from 10 % to 8 % (a 20 % relative harm); 2 % is tolerated.
        let guardrail = Guardrail(metric: "conversion:purchase", harmfulDirection: .decrease, tolerance: 0.02)
        let harmed = Self.simulate(
            runs: runs, looks: 40, batch: 250, control: 0.10, treatment: 0.08, guardrail: guardrail, sequential: true, seed: 2)
        let units = harmed.unitsAtRollback.sorted()
        let median = units.isEmpty ? 0 : units[units.count / 2]
        print("20 % harm, 2 % tolerated: rolled back in \(harmed.rolledBack)/\(runs) runs; median units per arm at rollback \(median)"
              + " (first \(units.first ?? 0), last \(units.last ?? 0))")
        #expect(Double(harmed.rolledBack) / Double(runs) >= 0.9)
        #expect(median > 0 && median <= 6_000)

        // An increase of a metric whose harm is a decrease never triggers it.
        let helped = Self.simulate(
            runs: 50, looks: 20, batch: 250, control: 0.08, treatment: 0.10, guardrail: guardrail, sequential: true, seed: 3)
        #expect(helped.rolledBack == 0)
        // Nor a harm smaller than the tolerance, however long it is watched (-1 % against 5 % tolerated).
        let small = Self.simulate(
            runs: 50, looks: 40, batch: 250, control: 0.10, treatment: 0.099,
            guardrail: Guardrail(metric: "conversion:purchase", harmfulDirection: .decrease, tolerance: 0.05), sequential: true, seed: 4)
        #expect(small.rolledBack <= 2)
    }

    @Test func verdictsReadTheIntervalOnTheHarmfulSide() {
        func effect(_ lower: Double, _ upper: Double) -> EffectResult {
            var a = GroupSummary(values: []), b = GroupSummary(values: [])
            for i in 0..<1000 { a.add(i % 10 == 0 ? 1 : 0); b.add(i % 10 == 0 ? 1 : 0) }
            var e = StatsEngine.compare(control: a, treatment: b, kind: .conversion, options: GuardrailCheck.options(comparisons: 1))
            e.relative?.lower = lower
            e.relative?.upper = upper
            e.relative?.estimate = (lower + upper) / 2
            return e
        }
        let errors = Guardrail(metric: "count:error", harmfulDirection: .increase, tolerance: 0.05)
        #expect(GuardrailCheck.verdict(effect(0.06, 0.2), errors) == .harmed(lift: 0.13, lower: 0.06, upper: 0.2))
        #expect(GuardrailCheck.verdict(effect(0.04, 0.2), errors) == .clear, "the interval reaches into the tolerance")
        #expect(GuardrailCheck.verdict(effect(-0.2, -0.06), errors) == .clear, "fewer errors is no harm")
        #expect(GuardrailCheck.verdict(effect(-0.2, -0.06), Self.purchases) == .harmed(lift: -0.13, lower: -0.2, upper: -0.06))
        var thin = effect(-0.2, -0.1)
        thin.status = .insufficientSample
        thin.reason = "control has 10 units; at least 100 are needed"
        #expect(GuardrailCheck.verdict(thin, Self.purchases) == .undecided("control has 10 units; at least 100 are needed"))
    }
}
