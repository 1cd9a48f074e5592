import VaneCore
import VaneStats

/// Whether a guardrail metric is harmed, from one treatment-versus-control comparison computed
/// with the sequential test (always-valid intervals: looking again and again does not raise the
/// false-alarm rate above alpha). Harm is declared only when the whole interval of the relative
/// lift lies beyond the tolerance on the harmful side, so a one-sided false alarm under no effect
/// happens with probability at most alpha / 2 per comparison over the whole life of the watch.
public enum GuardrailCheck {
    public enum Verdict: Equatable, Sendable {
        /// Harmed beyond tolerance: the relative lift and its interval.
        case harmed(lift: Double, lower: Double, upper: Double)
        /// No harm shown (yet).
        case clear
        /// No interval to judge by: too few units, no variance, control mean 0; why.
        case undecided(String)
    }

    public static func verdict(_ effect: EffectResult, _ guardrail: Guardrail) -> Verdict {
        guard effect.status == .ok else { return .undecided(effect.reason ?? effect.status.rawValue) }
        guard let r = effect.relative else { return .undecided("relative lift undefined (control mean 0)") }
        switch guardrail.harmfulDirection {
        case .decrease where r.upper < -guardrail.tolerance,
             .increase where r.lower > guardrail.tolerance:
            return .harmed(lift: r.estimate, lower: r.lower, upper: r.upper)
        default:
            return .clear
        }
    }

    /// The analysis options a watch uses: the sequential test, with Bonferroni over every
    /// guardrail and treatment (`comparisons`), so the family of them keeps the false-alarm rate.
    public static func options(comparisons: Int, alpha: Double = 0.05) -> AnalysisOptions {
        var o = AnalysisOptions()
        o.alpha = alpha
        o.sequential = true
        o.comparisons = max(1, comparisons)
        return o
    }
}
