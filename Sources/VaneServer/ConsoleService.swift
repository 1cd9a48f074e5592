import Foundation
import VaneCore
import VaneStore

/// Configuration changes: validation, server-managed fields, the audit entry and cache
/// invalidation, in one place shared by the JSON API and (later) the HTML console.
struct ConsoleService: Sendable {
    let store: any VaneStore
    let cache: ConfigCache

    func environments(_ project: String) async throws -> [String] {
        try await store.environments(project: project)
    }

    func list(_ project: String, _ kind: EntityKind) async throws -> [Entity] {
        try await store.entities(project: project, kind: kind)
    }

    func get(_ project: String, _ kind: EntityKind, _ name: String) async throws -> Entity {
        guard let e = try await store.entity(project: project, kind: kind, name: name) else {
            throw StoreError.notFound("no \(kind.displayName.lowercased()) named '\(name)'")
        }
        return e
    }

    func create(_ project: String, _ input: Entity, actor: String) async throws -> Entity {
        let now = Clock.nowMs()
        var e = input
        e.salt = e.salt ?? StatsigHash.randomToken(length: 22)
        e.createdTime = now
        e.lastModifiedTime = now
        e.lastModifierName = actor
        e.version = 1
        if e.kind == .experiment {
            e.status = .setup
            e.layerBuckets = nil
            e.startTime = nil
            e.endTime = nil
        }
        if e.kind == .segment, e.segmentType == nil { e.segmentType = e.idList != nil ? "id_list" : "rule_based" }
        assignIDs(&e, previous: nil)
        try await check(project, e)
        try await ensureIDList(project, for: e, actor: actor, now: now)
        try await store.save(
            project: project, entity: e, mustBeNew: true,
            audit: audit(actor, "created", e, before: nil, after: e, now: now))
        cache.invalidate(project: project)
        return e
    }

    /// Replaces an entity's definition, keeping what the server manages (salt, ids that still
    /// match, creation time, experiment state).
    /// `expectedVersion`: refuse (409) when the entity changed since the caller read it.
    func update(
        _ project: String, _ input: Entity, actor: String, action: String = "updated", expectedVersion: Int64? = nil,
        description: String? = nil, confirmSplitChange: Bool = false
    ) async throws -> Entity {
        let previous = try await get(project, input.kind, input.name)
        if let expectedVersion, (previous.version ?? 1) != expectedVersion {
            throw StoreError.conflict("\(input.kind.displayName) \(input.name) changed since it was read (version \(previous.version ?? 1), expected \(expectedVersion))")
        }
        let now = Clock.nowMs()
        var e = input
        e.salt = previous.salt
        e.createdTime = previous.createdTime
        e.lastModifiedTime = now
        e.lastModifierName = actor
        e.version = (previous.version ?? 1).saturatingAdd(1)
        e.imported = previous.imported
        if e.kind == .experiment, action == "updated" {
            e.status = previous.status
            e.layerBuckets = previous.layerBuckets
            e.startTime = previous.startTime
            e.endTime = previous.endTime
            e.launchedGroup = previous.launchedGroup
        }
        assignIDs(&e, previous: previous)
        Self.keepAppliedSteps(&e, previous: previous)
        try await check(project, e)
        // After the checks: the refusal message prints the new sizes, which must be valid numbers by then.
        if e.kind == .experiment {
            e.splitHistory = try Self.splitHistory(previous: previous, next: e, now: now, confirmed: confirmSplitChange)
        }
        try await ensureIDList(project, for: e, actor: actor, now: now)
        try await store.save(
            project: project, entity: e, mustBeNew: false,
            audit: audit(actor, action, e, before: previous, after: e, now: now, description: description))
        cache.invalidate(project: project)
        return e
    }

    /// The server keeps an experiment's split history. Changing the group sizes of a running
    /// experiment must be confirmed: it starts a new analysis period, since units exposed under the
    /// old split and the new one no longer share one expected ratio.
    static func splitHistory(previous: Entity, next: Entity, now: Int64, confirmed: Bool) throws -> [SplitPeriod]? {
        func sizes(_ e: Entity) -> [String: Double] {
            Dictionary((e.groups ?? []).map { ($0.name, $0.size) }, uniquingKeysWith: { a, _ in a })
        }
        let before = sizes(previous), after = sizes(next)
        guard previous.status == .active, next.groups != nil, before != after else { return previous.splitHistory }
        func split(_ s: [String: Double]) -> String {
            (next.groups ?? []).map { g in s[g.name].map { ScheduledRollouts.percent($0) } ?? "–" }.joined(separator: " / ")
        }
        guard confirmed else {
            throw StoreError.conflict(
                "experiment '\(next.name)' is running: changing its split from \(split(before)) to \(split(after)) starts a new "
                    + "analysis period (the sample-ratio check restarts with the new sizes). Send confirmSplitChange: true to do it.")
        }
        var history = previous.splitHistory ?? [SplitPeriod(since: previous.startTime ?? 0, sizes: before)]
        history.append(SplitPeriod(since: now, sizes: after))
        return history
    }

    func delete(_ project: String, _ kind: EntityKind, _ name: String, actor: String) async throws {
        let previous = try await get(project, kind, name)
        if kind == .holdout {
            let attached = try await (store.entities(project: project, kind: .gate) + store.entities(project: project, kind: .experiment))
                .filter { $0.holdouts?.contains(name) == true }
            if !attached.isEmpty {
                throw StoreError.conflict("holdout '\(name)' is attached to \(attached.map(\.name).sorted().joined(separator: ", ")); detach them first")
            }
        }
        if kind == .layer {
            let users = try await store.entities(project: project, kind: .experiment).filter { $0.layer == name }
            if !users.isEmpty {
                throw StoreError.conflict(
                    "layer '\(name)' still holds experiments: \(users.map(\.name).joined(separator: ", "))")
            }
        }
        _ = try await store.delete(
            project: project, kind: kind, name: name,
            audit: audit(actor, "deleted", previous, before: previous, after: nil, now: Clock.nowMs()))
        cache.invalidate(project: project)
    }

    // MARK: - Experiment lifecycle

    func start(_ project: String, _ name: String, actor: String) async throws -> Entity {
        var e = try await get(project, .experiment, name)
        guard e.groups != nil else { throw ValidationError("experiment '\(name)' was imported with raw rules and has no groups to start") }
        guard e.status != .active else { throw StoreError.conflict("experiment '\(name)' is already running") }
        if let layer = e.layer {
            let others = try await store.entities(project: project, kind: .experiment)
                .filter { $0.layer == layer && $0.status == .active && $0.name != name }
            let taken = Set(others.flatMap { $0.layerBuckets ?? [] })
            let count = SafeNumber.roundedInt((e.allocation ?? 100) * 10, clampedTo: 0...1000)
            guard let buckets = SpecCompiler.allocateLayerBuckets(count: count, taken: taken) else {
                throw StoreError.conflict(
                    "layer '\(layer)' has only \(Double(1000 - taken.count) / 10)% of its traffic free; '\(name)' needs \(e.allocation ?? 100)%")
            }
            e.layerBuckets = buckets
        }
        e.status = .active
        e.startTime = Clock.nowMs()
        e.endTime = nil
        return try await update(project, e, actor: actor, action: "started")
    }

    func makeDecision(
        _ project: String, _ name: String, group: String, actor: String, action: String = "decision_made", description: String? = nil,
        expectedVersion: Int64? = nil
    ) async throws -> Entity {
        var e = try await get(project, .experiment, name)
        guard let groups = e.groups, groups.contains(where: { $0.name == group || $0.id == group }) else {
            throw ValidationError("experiment '\(name)' has no group '\(group)'")
        }
        e.status = .decisionMade
        e.launchedGroup = groups.first { $0.name == group || $0.id == group }!.name
        e.endTime = Clock.nowMs()
        e.layerBuckets = nil
        return try await update(project, e, actor: actor, action: action, expectedVersion: expectedVersion, description: description)
    }

    func abandon(_ project: String, _ name: String, actor: String) async throws -> Entity {
        var e = try await get(project, .experiment, name)
        e.status = .abandoned
        e.endTime = Clock.nowMs()
        e.layerBuckets = nil
        return try await update(project, e, actor: actor, action: "abandoned")
    }

    // MARK: - Import

    func importStatsig(_ project: String, document: JSONValue, actor: String) async throws -> StatsigImport {
        let result: StatsigImport
        do { result = try StatsigImport(document: document) } catch let e as SpecFormatError {
            throw ValidationError(e.description)
        }
        let now = Clock.nowMs()
        let entities = result.entities.map { e -> Entity in
            var e = e
            e.createdTime = now
            e.lastModifiedTime = now
            e.lastModifierName = actor
            return e
        }
        let summary = Dictionary(grouping: entities, by: \.kind).map { "\($0.value.count) \($0.key.collection)" }.sorted()
        try await store.saveAll(
            project: project, entities: entities,
            audit: AuditEntry(
                time: now, actor: actor, action: "imported", kind: "import", name: "statsig",
                after: .array(entities.map { .string("\($0.kind.rawValue):\($0.name)") }),
                description: "Imported from Statsig: " + (summary.isEmpty ? "nothing" : summary.joined(separator: ", "))))
        for s in result.parameterStores {
            _ = try await store.saveParameterStore(project: project, s, mustBeNew: false, audit: AuditEntry(
                time: now, actor: actor, action: "imported", kind: "parameter_store", name: s.name, after: s.toJSON(),
                description: "Parameter store \(s.name) imported from Statsig"))
        }
        cache.invalidate(project: project)
        return result
    }

    // MARK: - Helpers

    /// Rules and groups get stable ids (and with them salts), so editing a rule's conditions
    /// does not reshuffle who is in it. A rule keeps the id of the previous rule with its name.
    /// A schedule sent back without `appliedAt` (an editor that does not know the field) keeps
    /// the marks of the steps already carried out, so none of them runs a second time.
    static func keepAppliedSteps(_ e: inout Entity, previous: Entity) {
        guard var rules = e.rules else { return }
        for i in rules.indices {
            guard var steps = rules[i].schedule,
                  let old = previous.rules?.first(where: { $0.id == rules[i].id })?.schedule else { continue }
            for j in steps.indices where steps[j].appliedAt == nil {
                steps[j].appliedAt = old.first { $0.time == steps[j].time && $0.passPercentage == steps[j].passPercentage }?.appliedAt
            }
            rules[i].schedule = steps
        }
        e.rules = rules
    }

    private func assignIDs(_ e: inout Entity, previous: Entity?) {
        if var rules = e.rules {
            for i in rules.indices where rules[i].id == nil {
                if let old = previous?.rules?.first(where: { $0.name == rules[i].name }), let id = old.id {
                    rules[i].id = id
                    rules[i].salt = rules[i].salt ?? old.salt
                } else {
                    rules[i].id = StatsigHash.randomToken(length: 22)
                }
            }
            e.rules = rules
        }
        if var groups = e.groups {
            for i in groups.indices where groups[i].id == nil {
                groups[i].id = previous?.groups?.first(where: { $0.name == groups[i].name })?.id
                    ?? StatsigHash.randomToken(length: 22)
            }
            e.groups = groups
        }
    }

    /// Checks the entity and its references to other entities and ID types.
    private func check(_ project: String, _ e: Entity) async throws {
        try Validation.check(entity: e, environments: try await store.environments(project: project))
        let idTypes = Set(["userID", "stableID"] + (try await store.customIDTypes(project: project)))
        func knownIDType(_ t: String?, _ path: String) throws {
            guard let t else { return }
            if !idTypes.contains(t) && !idTypes.contains(where: { $0.lowercased() == t.lowercased() }) {
                throw ValidationError(
                    "\(path) '\(t)' is not a known ID type (known: \(idTypes.sorted().joined(separator: ", "))); add it with POST /console/v1/custom_id_types")
            }
        }
        if e.imported != true {
            try knownIDType(e.idType, "idType")
            for (i, r) in (e.rules ?? []).enumerated() {
                try knownIDType(r.idType, "rules[\(i)].idType")
                for (j, c) in r.conditions.enumerated() { try knownIDType(c.idType, "rules[\(i)].conditions[\(j)].idType") }
            }
        }
        if e.kind == .experiment {
            if let layer = e.layer, try await store.entity(project: project, kind: .layer, name: layer) == nil {
                throw ValidationError("layer '\(layer)' does not exist")
            }
            if let gate = e.targetingGate, try await store.entity(project: project, kind: .gate, name: gate) == nil {
                throw ValidationError("targetingGate '\(gate)' does not exist")
            }
        }
        for name in e.holdouts ?? [] where try await store.entity(project: project, kind: .holdout, name: name) == nil {
            throw ValidationError("holdouts: '\(name)' is not a holdout (create it with POST /console/v1/holdouts)")
        }
        // Gates and holdouts share the SDKs' list of gates, so they share names.
        if e.kind == .gate || e.kind == .holdout, e.imported != true {
            let other: EntityKind = e.kind == .gate ? .holdout : .gate
            if try await store.entity(project: project, kind: other, name: e.name) != nil {
                throw StoreError.conflict("a \(other.displayName.lowercased()) is named '\(e.name)'; gates and holdouts need different names")
            }
        }
    }

    private func ensureIDList(_ project: String, for e: Entity, actor: String, now: Int64) async throws {
        guard e.kind == .segment, e.segmentType == "id_list" else { return }
        let list = e.idList ?? e.name
        if try await store.idList(project: project, name: list) == nil {
            try Validation.checkName(list, what: "idList")
            _ = try await store.createIDList(
                project: project, name: list, now: now,
                audit: AuditEntry(time: now, actor: actor, action: "created", kind: "id_list", name: list,
                                  description: "Created ID list \(list) for segment \(e.name)"))
        }
    }

    func audit(
        _ actor: String, _ action: String, _ e: Entity, before: Entity?, after: Entity?, now: Int64, description: String? = nil
    ) -> AuditEntry {
        AuditEntry(
            time: now, actor: actor, action: action, kind: e.kind.rawValue, name: e.name,
            before: before.map(encodeToJSON), after: after.map(encodeToJSON),
            description: description ?? "\(e.kind.displayName) \(e.name) \(action.replacingOccurrences(of: "_", with: " "))")
    }
}
