import Logging
import VaneCore
import VanePulse
import VaneStats
import VaneStore

/// Watches the guardrail metrics of running gate rollouts and experiments (`Entity.guardrails`)
/// with the sequential test, and acts when one is harmed beyond its tolerance with confidence:
/// a gate's partial rollout rules go to 0 % (and their pending scheduled steps are dropped); an
/// experiment is stopped with its control group shipped. The change is audited as the `vane`
/// system actor, so it reaches Segment (`statsig::config_change`) and the webhooks like any other.
/// One node runs it at a time (the lease).
struct GuardrailWatch: Sendable {
    static let actor = "vane"
    static let action = "guardrail_rollback"
    let service: ConsoleService
    let pulse: PulseService
    var alpha = 0.05

    struct Action: Sendable, Equatable {
        var kind: EntityKind
        var name: String
        var description: String
    }

    /// Checks every watched gate and experiment of the project once; returns what it acted on.
    @discardableResult
    func runOnce(project: String, now: Int64) async throws -> [Action] {
        var actions: [Action] = []
        for gate in try await service.list(project, .gate)
        where !(gate.guardrails ?? []).isEmpty && gate.isEnabled != false && !gate.partialRolloutRules.isEmpty {
            if let a = try await check(project, gate, kind: .gate, now: now) { actions.append(a) }
        }
        for e in try await service.list(project, .experiment) where !(e.guardrails ?? []).isEmpty && e.status == .active {
            if let a = try await check(project, e, kind: .experiment, now: now) { actions.append(a) }
        }
        return actions
    }

    private func check(_ project: String, _ e: Entity, kind: PulseSubject.Kind, now: Int64) async throws -> Action? {
        let guardrails = e.guardrails ?? []
        var options = try PulseAnalysisOptions()
        let treatments = kind == .gate ? 1 : max(1, (e.groups?.count ?? 2) - 1)
        options.analysis = GuardrailCheck.options(comparisons: guardrails.count * treatments, alpha: alpha)
        options.metricFilter = guardrails.map(\.metric)
        let results: PulseResults
        do {
            results = try await pulse.results(project: project, kind: kind, name: e.name, options: options, now: now)
        } catch is ValidationError {
            return nil  // e.g. a guardrail names a metric that is not defined: nothing to judge by
        }
        for metric in results.metrics {
            guard let g = guardrails.first(where: { $0.metric == metric.metric }) else { continue }
            for comparison in metric.comparisons {
                guard case .harmed(let lift, let lower, let upper) = GuardrailCheck.verdict(comparison.effect, g) else { continue }
                let why = "guardrail \(g.metric) harmed in \(comparison.group): relative lift \(Self.percent(lift)) "
                    + "[\(Self.percent(lower)), \(Self.percent(upper))], beyond the \(Self.percent(g.tolerance)) tolerated "
                    + "(sequential test, alpha \(alpha) over \(options.analysis.comparisons) comparisons)"
                return try await act(project, e, kind: kind, control: results.groups.first?.name, why: why)
            }
        }
        return nil
    }

    private func act(_ project: String, _ e: Entity, kind: PulseSubject.Kind, control: String?, why: String) async throws -> Action? {
        do {
            switch kind {
            case .gate:
                var rolled = e
                var notes: [String] = []
                rolled.rules = (e.rules ?? []).map { rule in
                    guard rule.passPercentage > 0, rule.passPercentage < 100 else { return rule }
                    var r = rule
                    notes.append("rule '\(r.name)' \(ScheduledRollouts.percent(r.passPercentage)) → 0%")
                    r.passPercentage = 0
                    // A guardrail stops the ramp: steps not yet applied are dropped.
                    if let steps = r.schedule {
                        r.schedule = steps.filter { $0.appliedAt != nil }
                        if r.schedule!.count < steps.count { notes.append("rule '\(r.name)': pending scheduled steps dropped") }
                    }
                    return r
                }
                let description = "Gate \(e.name) rolled back: \(why); " + notes.joined(separator: "; ")
                _ = try await service.update(
                    project, rolled, actor: Self.actor, action: Self.action, expectedVersion: e.version ?? 1, description: description)
                return Action(kind: .gate, name: e.name, description: description)
            case .holdout:
                return nil  // holdouts are not watched
            case .experiment:
                guard let control else { return nil }
                let description = "Experiment \(e.name) stopped, \(control) shipped: \(why)"
                _ = try await service.makeDecision(
                    project, e.name, group: control, actor: Self.actor, action: Self.action, description: description,
                    expectedVersion: e.version ?? 1)
                return Action(kind: .experiment, name: e.name, description: description)
            }
        } catch let error as StoreError where error.code == .conflict {
            return nil  // edited meanwhile: the next run judges the new version
        }
    }

    /// A fraction (0.123) as a percentage to one decimal ("12.3%").
    static func percent(_ x: Double) -> String { SafeNumber.percentText((x * 1000).rounded() / 10) }
}

extension GuardrailWatch {
    /// The job: every `interval` while this node holds the lease.
    func service(store: any SettingsRepository, lease: JobLease, logger: Logger, interval: Duration) -> LeasedProjectLoop {
        LeasedProjectLoop(job: "guardrail watch", store: store, lease: lease, logger: logger, interval: interval) { project, now in
            for a in try await runOnce(project: project, now: now) {
                logger.notice("guardrail acted", metadata: ["project": "\(project)", "entity": "\(a.name)", "what": "\(a.description)"])
            }
        }
    }
}
