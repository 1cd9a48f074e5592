import Logging
import VaneCore
import VaneStore

/// Carries out the scheduled steps of gate and dynamic config rules (`EntityRule.schedule`): when
/// a step's time has come, the rule's pass percentage becomes the step's, the step is marked
/// applied in the same save, and the change is audited as the `vane` system actor (and so goes
/// to Segment as a config change like any other). One node runs it at a time (the lease).
///
/// A step is marked in the save that applies it, so a crash before the save applies it at the
/// next run, and one after never applies it again. Steps whose time passed while no node ran
/// (an outage) are applied together at the next run: the latest one's percentage wins.
struct ScheduledRollouts: Sendable {
    static let actor = "vane"
    static let action = "scheduled_rollout"
    let service: ConsoleService

    struct Run {
        var changed: [String] = []
        /// Entities whose due steps could not be saved (they no longer pass validation, say), with why.
        /// The others are still carried out: one broken entity must not hold every schedule back.
        var failed: [(name: String, error: any Error)] = []
    }

    /// Applies every due step of the project.
    @discardableResult
    func runOnce(project: String, now: Int64) async throws -> Run {
        var run = Run()
        for kind in [EntityKind.gate, .dynamicConfig] {
            for e in try await service.list(project, kind) {
                guard let (updated, notes) = Self.applyDue(e, now: now) else { continue }
                do {
                    _ = try await service.update(
                        project, updated, actor: Self.actor, action: Self.action, expectedVersion: e.version ?? 1,
                        description: "\(kind.displayName) \(e.name): scheduled rollout, " + notes.joined(separator: "; "))
                    run.changed.append(e.name)
                } catch let error as StoreError where error.code == .conflict {
                    continue  // edited meanwhile: the next run reads the new version
                } catch where !Task.isCancelled {
                    run.failed.append((e.name, error))
                }
            }
        }
        return run
    }

    /// The entity with its due steps carried out, and what changed per rule; nil when nothing is due.
    static func applyDue(_ e: Entity, now: Int64) -> (Entity, [String])? {
        guard var rules = e.rules else { return nil }
        var notes: [String] = []
        for i in rules.indices {
            guard var steps = rules[i].schedule else { continue }
            let due = steps.indices.filter { steps[$0].appliedAt == nil && steps[$0].time <= now }
            guard let last = due.last else { continue }
            let before = rules[i].passPercentage
            rules[i].passPercentage = steps[last].passPercentage
            for j in due { steps[j].appliedAt = now }
            rules[i].schedule = steps
            notes.append("rule '\(rules[i].name)' \(percent(before)) → \(percent(steps[last].passPercentage))")
        }
        guard !notes.isEmpty else { return nil }
        var out = e
        out.rules = rules
        return (out, notes)
    }

    static func percent(_ p: Double) -> String { SafeNumber.percentText(p) }
}

extension ScheduledRollouts {
    /// The job: every `interval` while this node holds the lease.
    func service(store: any SettingsRepository, lease: JobLease, logger: Logger, interval: Duration) -> LeasedProjectLoop {
        LeasedProjectLoop(job: "scheduled rollouts", store: store, lease: lease, logger: logger, interval: interval) { project, now in
            let run = try await runOnce(project: project, now: now)
            for name in run.changed {
                logger.notice("scheduled rollout step applied", metadata: ["project": "\(project)", "entity": "\(name)"])
            }
            for (name, error) in run.failed {
                logger.warning("a scheduled rollout step cannot be applied", metadata: [
                    "project": "\(project)", "entity": "\(name)", "error": "\(error)"])
            }
        }
    }
}
