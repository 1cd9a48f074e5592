import Foundation
import Hummingbird
import VaneCore
import VanePulse
import VaneStore

// The configuration pages: a list per kind, and a page per gate, experiment, or other entity
// (dynamic config, segment, layer, holdout), with the rules table, the rule builder's options and
// the guardrails card they share.

struct EntityListView: Sendable {
    struct Item: Sendable {
        let name: String
        let href: String
        let status: String
        let statusClass: String
        let description: String
        let updated: String
        /// Rules, or for an experiment its groups (its rules are compiled from them).
        let rules: Int
        let updatedSort: Int64
    }

    let heading: String
    let singular: String
    let blurb: String
    let emptyHint: String
    let items: [Item]
    let collection: String
    let base: String
    let isExperiment: Bool
    let isSegmentList: Bool
    let countHeading: String
    let idTypes: [String]
}

/// A rule as the rules table shows it, with a switch per environment.
struct RuleRow: Sendable {
    struct Step: Sendable {
        let time: String
        let pass: String
        let status: String
    }
    struct EnvironmentSwitch: Sendable {
        let env: String
        /// The rule's position (from 0), which the switch's script edits.
        let rule: Int
        let on: Bool
    }

    let index: Int
    let name: String
    let pass: String
    let conditions: [String]
    let schedule: [Step]
    let envSwitches: [EnvironmentSwitch]
    /// The experiment group a rule assigns.
    let group: String?
}

/// The guardrails card on gate and experiment pages.
struct GuardrailsCard: Sendable {
    struct Guardrail: Sendable {
        let metric: String
        let direction: String
        let tolerance: String
    }
    struct Fired: Sendable {
        let time: String
        let description: String
    }

    let guardrails: [Guardrail]
    let guardrailsJSON: String
    let metricOptions: [String]
    let guardrailAction: String
    let guardrailFired: Fired?
}

struct GateView: Sendable {
    let name: String
    let description: String
    let enabled: Bool
    let rules: [RuleRow]
    let rulesJSON: String
    let environments: [String]
    let collection: String
    let apiPath: String
    let resultsHref: String
    let builderOptions: String
    let guardrailsCard: GuardrailsCard
    /// A rule passes some but not all: the rollout has results.
    let hasPartial: Bool
    let results: ResultsSection?
}

struct ExperimentView: Sendable {
    struct Group: Sendable {
        let name: String
        let size: String
        let parameters: String
    }

    let name: String
    let description: String
    let hypothesis: String?
    let idType: String
    let status: String
    let statusClass: String
    let canStart: Bool
    let canStop: Bool
    let launchedGroup: String?
    let allocation: String
    let targetingGate: String?
    let targetingGateHref: String?
    let layer: String?
    let primaryMetricsText: String?
    let window: String
    let windowDays: String
    let started: String?
    let groups: [Group]
    let groupsJSON: String
    let idTypes: [WebOption]
    let gateOptions: [WebOption]
    let layerOptions: [WebOption]
    let collection: String
    let apiPath: String
    let resultsHref: String
    let guardrailsCard: GuardrailsCard
    /// What the power card's metric picker offers.
    let metricOptions: [String]
}

/// A dynamic config, segment, layer or holdout.
struct EntityView: Sendable {
    let name: String
    let description: String
    let kindName: String
    let collection: String
    let apiPath: String
    let rules: [RuleRow]
    let rulesJSON: String
    let defaultJSON: String?
    let hasDefault: Bool
    let isHoldout: Bool
    let resultsHref: String
    /// The ID list an ID-list segment reads, with its page.
    let idList: String?
    let idListHref: String?
    let builderOptions: String
}

extension WebController {
    static let blurbs: [EntityKind: (String, String)] = [
        .gate: ("Turn features on for some users and measure the rollout.", "Create a gate below, then add rules to target users."),
        .dynamicConfig: ("JSON values served to SDKs, with targeting rules.", "Create a config below and give it a default value."),
        .segment: ("Reusable groups of users, by rules or by an ID list.", "Create a segment below and target it from a gate's rule."),
        .layer: ("Mutually exclusive experiments share a layer's traffic.", "Create a layer, then put experiments in it."),
        .experiment: ("A/B tests with groups, parameters and Pulse results.", "Create an experiment below, then start it."),
        .holdout: ("A share of users held out of the gates and experiments attached to it, to measure their combined effect.",
                   "Create a holdout below, give it a rule with the share to hold out, then attach gates and experiments to it (their holdouts field)."),
    ]

    func list(_ kind: EntityKind, _ s: ConsoleSession) async throws -> Response {
        let items = try await store.entities(project: project, kind: kind).sorted { $0.name < $1.name }.map { e in
            let (status, cls) = Self.listStatus(e)
            return EntityListView.Item(
                name: e.name, href: WebLink.console(kind.collection, e.name), status: status, statusClass: cls,
                description: e.description ?? "", updated: WebFormat.time(e.lastModifiedTime),
                rules: kind == .experiment ? (e.groups ?? []).count : (e.rules ?? []).count, updatedSort: e.lastModifiedTime ?? 0)
        }
        let (blurb, hint) = Self.blurbs[kind] ?? ("", "")
        let view = EntityListView(
            heading: kind.displayName + "s", singular: kind.displayName.lowercased(), blurb: blurb, emptyHint: hint,
            items: items, collection: kind.collection, base: "/console/\(kind.collection)",
            isExperiment: kind == .experiment, isSegmentList: kind == .segment,
            countHeading: kind == .experiment ? "Groups" : "Rules", idTypes: try await idTypes())
        return try render("list", view, s, title: kind.displayName + "s", nav: kind.collection)
    }

    /// The list's status badge: its text and class.
    static func listStatus(_ e: Entity) -> (String, String) {
        switch e.kind {
        case .experiment:
            let st = e.status?.rawValue ?? "setup"
            return (st, st == "active" ? "badge-ok" : st == "decision_made" ? "badge-info" : "")
        case .gate, .dynamicConfig: return (e.isEnabled == false ? "disabled" : "enabled", e.isEnabled == false ? "" : "badge-ok")
        case .segment: return (e.segmentType == "id_list" ? "ID list" : "rule based", "badge-info")
        case .layer: return ("layer", "badge-info")
        case .holdout:
            let share = (e.rules ?? []).first.map { WebFormat.number($0.passPercentage) + "% held out" } ?? "no rule"
            return (share, "badge-info")
        }
    }

    func idTypes() async throws -> [String] {
        ["userID", "stableID"] + (try await store.customIDTypes(project: project))
    }

    static func describe(_ c: EntityCondition) -> String {
        var parts = [c.type]
        if let f = c.field { parts.append(f) }
        if let op = c.operator { parts.append(op) }
        if let t = c.targetValue { parts.append(t.serialized()) }
        return parts.joined(separator: " ")
    }

    /// Rules as shown, with a switch per environment (a rule without `environments` is on in all).
    static func ruleRows(_ e: Entity, environments: [String]) -> [RuleRow] {
        (e.rules ?? []).enumerated().map { i, r in
            RuleRow(
                index: i + 1, name: r.name, pass: WebFormat.number(r.passPercentage), conditions: r.conditions.map(describe),
                schedule: (r.schedule ?? []).map { step in
                    .init(time: WebFormat.time(step.time) + " UTC", pass: WebFormat.number(step.passPercentage),
                          status: step.appliedAt.map { "applied " + WebFormat.time($0) } ?? "pending")
                },
                envSwitches: environments.map { env in .init(env: env, rule: i, on: r.environments.map { $0.contains(env) } ?? true) },
                group: WebFormat.nonEmpty(r.groupName))
        }
    }

    /// The editable rules: what the API accepts back (ids and salts kept, so buckets do not move).
    static func rulesJSON(_ e: Entity) -> String {
        WebFormat.pretty(encodeToJSON(e.rules ?? []))
    }

    /// The entities of a kind as picker options, `selected` marked.
    func options(_ kind: EntityKind, selected: String?) async throws -> [WebOption] {
        WebOption.list(try await store.entities(project: project, kind: kind).map(\.name).sorted(), selected: selected)
    }

    /// The metric catalogue's IDs (automatic and defined), for the metric pickers.
    func metricNames() async throws -> [String] {
        try await PulseService(store: store).metricList(project).map(\.name)
    }

    /// What the rule builder (Resources/rule-builder.js) offers in its pickers, as JSON for a data attribute.
    func builderOptions(_ e: Entity, environments: [String]) async throws -> String {
        func names(_ kind: EntityKind) async throws -> JSONValue {
            .array(try await store.entities(project: project, kind: kind).map(\.name).filter { $0 != e.name }.sorted().map { .string($0) })
        }
        let options: JSONValue = [
            "kind": .string(e.kind.rawValue), "idType": .string(e.effectiveIdType),
            "environments": .array(environments.map { .string($0) }),
            "gates": try await names(.gate), "segments": try await names(.segment),
            "idListSegments": .array(try await store.entities(project: project, kind: .segment)
                .filter { $0.segmentType == "id_list" }.map(\.name).sorted().map { .string($0) }),
            "idLists": .array(try await store.idLists(project: project).map { .string($0.name) }),
            "customIDTypes": .array(try await store.customIDTypes(project: project).map { .string($0) }),
        ]
        return options.serialized()
    }

    func detail(_ kind: EntityKind, _ name: String, _ r: Request, _ s: ConsoleSession) async throws -> Response {
        guard let e = try await store.entity(project: project, kind: kind, name: name) else {
            throw StoreError.notFound("There is no \(kind.displayName.lowercased()) named ‘\(name)’.")
        }
        let environments = try await store.environments(project: project)
        switch kind {
        case .gate: return try render("gate", try await gateView(e, environments: environments), s, title: e.name, nav: "gates")
        case .experiment: return try render("experiment", try await experimentView(e), s, title: e.name, nav: "experiments")
        default: return try render("entity", try await entityView(e, environments: environments), s, title: e.name, nav: kind.collection)
        }
    }

    func gateView(_ e: Entity, environments: [String]) async throws -> GateView {
        let partial = (e.rules ?? []).contains { $0.passPercentage > 0 && $0.passPercentage < 100 }
        return GateView(
            name: e.name, description: e.description ?? "", enabled: e.isEnabled != false,
            rules: Self.ruleRows(e, environments: environments), rulesJSON: Self.rulesJSON(e), environments: environments,
            collection: e.kind.collection, apiPath: WebLink.api(e.kind.collection, e.name),
            resultsHref: WebLink.console(e.kind.collection, e.name, "results"),
            builderOptions: try await builderOptions(e, environments: environments),
            guardrailsCard: try await guardrailsCard(e), hasPartial: partial,
            results: partial ? try? await resultsSection(.gate, e.name, [:]) : nil)
    }

    func experimentView(_ e: Entity) async throws -> ExperimentView {
        let status = e.status?.rawValue ?? "setup"
        let groupsJSON = (e.groups ?? []).map { g -> JSONValue in
            ["id": .string(g.id ?? ""), "name": .string(g.name), "size": .double(g.size), "parameterValues": .object(g.parameterValues)]
        }
        return ExperimentView(
            name: e.name, description: e.description ?? "", hypothesis: WebFormat.nonEmpty(e.hypothesis), idType: e.effectiveIdType,
            status: status, statusClass: status == "active" ? "badge-ok" : "",
            canStart: e.status == nil || e.status == .setup, canStop: e.status == .active,
            launchedGroup: e.status == .decisionMade ? WebFormat.nonEmpty(e.launchedGroup) : nil,
            allocation: WebFormat.number(e.allocation ?? 100),
            targetingGate: WebFormat.nonEmpty(e.targetingGate), targetingGateHref: e.targetingGate.map { WebLink.console("gates", $0) },
            layer: WebFormat.nonEmpty(e.layer),
            primaryMetricsText: e.primaryMetrics.flatMap { $0.isEmpty ? nil : $0.joined(separator: ", ") },
            window: e.analysisWindowDays.map { "\($0) days after first exposure" } ?? "all events after first exposure",
            windowDays: e.analysisWindowDays.map(String.init) ?? "",
            started: e.startTime.map { WebFormat.time($0) },
            groups: (e.groups ?? []).map {
                .init(name: $0.name, size: WebFormat.number($0.size), parameters: JSONValue.object($0.parameterValues).serialized())
            },
            groupsJSON: WebFormat.pretty(encodeToJSON(groupsJSON)),
            idTypes: WebOption.list(try await idTypes(), selected: e.effectiveIdType),
            gateOptions: try await options(.gate, selected: e.targetingGate),
            layerOptions: try await options(.layer, selected: e.layer),
            collection: e.kind.collection, apiPath: WebLink.api(e.kind.collection, e.name),
            resultsHref: WebLink.console(e.kind.collection, e.name, "results"),
            guardrailsCard: try await guardrailsCard(e), metricOptions: try await metricNames())
    }

    func entityView(_ e: Entity, environments: [String]) async throws -> EntityView {
        let idList = e.segmentType == "id_list" ? WebFormat.nonEmpty(e.idList) : nil
        return EntityView(
            name: e.name, description: e.description ?? "", kindName: e.kind.displayName, collection: e.kind.collection,
            apiPath: WebLink.api(e.kind.collection, e.name),
            rules: Self.ruleRows(e, environments: environments), rulesJSON: Self.rulesJSON(e),
            defaultJSON: e.defaultValue.flatMap { WebFormat.nonEmpty(WebFormat.pretty($0)) },
            hasDefault: e.kind == .dynamicConfig || e.kind == .layer, isHoldout: e.kind == .holdout,
            resultsHref: WebLink.console(e.kind.collection, e.name, "results"),
            idList: idList, idListHref: idList.map { WebLink.console("id_lists", $0) },
            builderOptions: try await builderOptions(e, environments: environments))
    }

    /// The guardrails card: the metrics, what acting means for this kind, and the last time the watch acted.
    func guardrailsCard(_ e: Entity) async throws -> GuardrailsCard {
        let fired = try await store.auditLog(project: project, query: AuditQuery(kind: e.kind.rawValue, name: e.name, actor: GuardrailWatch.actor, limit: 50))
            .first { $0.action == GuardrailWatch.action }
        return GuardrailsCard(
            guardrails: (e.guardrails ?? []).map {
                .init(metric: $0.metric, direction: $0.harmfulDirection == .decrease ? "a decrease" : "an increase",
                      tolerance: GuardrailWatch.percent($0.tolerance))
            },
            guardrailsJSON: WebFormat.pretty(encodeToJSON(e.guardrails ?? [])),
            metricOptions: try await metricNames(),
            guardrailAction: e.kind == .gate
                ? "rolls the partial rollout rules back to 0 % and drops their pending scheduled steps."
                : "stops the experiment and ships its control group.",
            guardrailFired: fired.map { .init(time: WebFormat.time($0.time), description: $0.description) })
    }

    /// "Test a user": how a gate evaluates for a user in an environment, and which rule decided.
    func evaluate(_ r: Request, _ c: Context) async throws -> Response {
        let name = try pathParameter(c, "name")
        let b = try await body.object(r)
        guard let userJSON = b["user"], userJSON.objectValue != nil else {
            throw APIError.badRequest("user is required: an object like {\"userID\": \"user-1\"}")
        }
        let user: StatsigUser
        do { user = try StatsigUser(json: userJSON) } catch { throw APIError.badRequest("user is invalid: \(error)") }
        let environments = try await store.environments(project: c.project)
        let environment = b["environment"]?.stringValue ?? "production"
        guard environments.contains(environment) else {
            throw APIError.badRequest("environment: unknown environment '\(environment)' (known: \(environments.joined(separator: ", ")))")
        }
        guard let gate = try await store.entity(project: c.project, kind: .gate, name: name) else {
            throw APIError.notFound("no gate named '\(name)'")
        }
        var u = user
        if u.tier == nil { u.statsigEnvironment["tier"] = .string(environment) }
        let result = try await cache.compiled(project: c.project, environment: nil).evaluator.checkGate(u, name)
        let ruleName = (gate.rules ?? []).first { $0.id == result.ruleID }?.name
            ?? (result.ruleID == "default" ? "default (no rule matched)" : result.ruleID == "disabled" ? "gate disabled" : result.ruleID)
        return envelope("Gate evaluated.", [
            "value": .bool(result.value), "ruleID": .string(result.ruleID), "ruleName": .string(ruleName),
            "reason": .string(result.reason.rawValue), "environment": .string(environment),
            "secondaryExposures": .array(result.secondaryExposures.map { ["gate": .string($0.gate), "gateValue": .string($0.gateValue), "ruleID": .string($0.ruleID)] }),
        ])
    }
}
