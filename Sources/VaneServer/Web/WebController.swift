import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import VaneCore
import VanePulse
import VaneSegment
import VaneStats
import VaneStore

/// The web console under /console: server-rendered pages over the same store and services as the
/// JSON API. Pages read; edits go through the JSON API (`/console/v1`) with the session cookie and
/// the page's CSRF token, so every change is validated and audited in one place. The few classic
/// form posts (setup, sign-in, sign-out, adding a user) carry a CSRF token too.
struct WebController: Sendable {
    /// The project every page shows (the console manages one).
    let project = VaneRequestContext.consoleProject
    let store: any VaneStore
    let auth: WebAuth
    let library: MustacheLibrary
    let cache: ConfigCache
    let inbound: SegmentInbound
    let exporter: SegmentExporter
    let body: BodyReader
    let resolver: KeyResolver
    let publicURL: String?
    static let formCookie = "vane_form"

    typealias Context = VaneRequestContext
    typealias PageHandler = @Sendable (Request, Context, ConsoleSession) async throws -> Response

    func register(on router: Router<Context>) {
        // The server's root leads a person who opens it in a browser to the console.
        router.get("/") { _, _ in Self.redirect("/console") }
        // The stylesheet and scripts are files under Resources/, compiled into the binary.
        let css = String(decoding: PackageResources.vane_css, as: UTF8.self)
        router.get("console/assets/vane.css") { _, _ in Self.asset(css, type: "text/css; charset=utf-8") }
        for (path, bytes) in [
            ("vane.js", PackageResources.vane_js), ("dom.js", PackageResources.dom_js), ("rule-builder.js", PackageResources.rule_builder_js),
            ("groups-editor.js", PackageResources.groups_editor_js),
            ("experiment-setup.js", PackageResources.experiment_setup_js),
        ] {
            let script = String(decoding: bytes, as: UTF8.self)
            router.get(RouterPath("console/assets/" + path)) { _, _ in Self.asset(script, type: "text/javascript; charset=utf-8") }
        }
        router.get("console/setup") { r, _ in try await setupPage(r, fields: [:], errors: [:], error: nil) }
        router.post("console/setup") { r, _ in try await setup(r) }
        router.get("console/login") { r, _ in try await signinPage(r, error: nil, email: "", status: .ok) }
        router.post("console/login") { r, c in try await signin(r, c) }
        router.post("console/logout") { r, _ in try await signout(r) }

        @Sendable func respond(_ r: Request, _ c: Context, _ handler: PageHandler) async throws -> Response {
            guard let s = try await auth.session(r) else {
                if try await store.userCount() == 0 { return Self.redirect("/console/setup") }
                let next = r.uri.path + (r.uri.query.map { "?" + $0 } ?? "")
                return Self.redirect(WebLink.query("/console/login", ["next": next]))
            }
            do {
                return try await handler(r, c, s)
            } catch let e as StoreError where e.code == .notFound {
                return try render("error", ["heading": "Not found", "message": e.description], s, status: .notFound, title: "Not found")
            } catch let e as APIError where e.status == .notFound {
                return try render("error", ["heading": "Not found", "message": e.message], s, status: .notFound, title: "Not found")
            } catch let e as ValidationError {
                return try render("error", ["heading": "This page cannot be shown", "message": e.description], s,
                                  status: .badRequest, title: "Cannot show")
            }
        }
        func page(_ path: RouterPath, _ handler: @escaping PageHandler) {
            router.get(path) { r, c in try await respond(r, c, handler) }
        }

        page("console") { r, _, s in try await overview(r, s) }
        for kind in [EntityKind.gate, .dynamicConfig, .segment, .layer, .experiment, .holdout] {
            page(RouterPath("console/\(kind.collection)")) { r, _, s in try await list(kind, s) }
            page(RouterPath("console/\(kind.collection)/{name}")) { r, c, s in try await detail(kind, try pathParameter(c, "name"), r, s) }
        }
        page("console/experiments/{name}/results") { r, c, s in
            try await resultsPage(.experiment, try pathParameter(c, "name"), r, s)
        }
        page("console/gates/{name}/results") { r, c, s in try await resultsPage(.gate, try pathParameter(c, "name"), r, s) }
        page("console/holdouts/{name}/results") { r, c, s in try await resultsPage(.holdout, try pathParameter(c, "name"), r, s) }
        page("console/metrics") { _, _, s in try await metricsPage(s) }
        page("console/metrics/{name}") { r, c, s in try await metricPage(try pathParameter(c, "name"), r.queryItems(), s) }
        page("console/events") { r, _, s in try await eventsPage(r, s) }
        page("console/events/{id}") { _, c, s in try await eventPage(try pathParameter(c, "id"), s) }
        page("console/id_lists") { _, _, s in try await idListsPage(s) }
        page("console/id_lists/{name}") { _, c, s in try await idListPage(try pathParameter(c, "name"), s) }
        page("console/integrations/segment") { r, _, s in try await segmentPage(r, s) }
        page("console/settings") { r, _, s in try await settingsPage(r, s, form: [:], errors: [:], error: nil) }
        // Any other console address is a page that does not exist (the API's keep their JSON 404).
        router.get("console/**") { r, c in
            let path = r.uri.path
            if path.hasPrefix("/console/v1/") || path.hasPrefix("/console/assets/") { throw HTTPError(.notFound) }
            return try await respond(r, c) { _, _, _ in throw StoreError.notFound("There is no console page at \(path).") }
        }
        router.post("console/settings/users") { r, _ in
            guard let s = try await auth.session(r) else { return Self.redirect("/console/login") }
            return try await createUser(r, s)
        }

        // JSON API additions the pages use, with the API's authentication.
        router.consoleAPI(resolver, .everyone).post("gates/{name}/evaluate") { r, c in try await evaluate(r, c) }
        router.consoleAPI(resolver, .admins).post("integrations/segment/inbound/test_event") { _, c in try await sendTestEvent(c) }
    }

    // MARK: - Responses

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, cookies: [Cookie] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        var response = Response(status: .seeOther, headers: headers)
        for c in cookies { response.setCookie(c) }
        return response
    }

    static func html(_ text: String, status: HTTPResponse.Status = .ok, cookies: [Cookie] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"  // security headers: SecurityHeadersMiddleware
        var response = Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        for c in cookies { response.setCookie(c) }
        return response
    }

    /// Renders a page inside the layout, with the signed-in user and CSRF token.
    func render(
        _ template: String, _ data: [String: Any], _ s: ConsoleSession?, status: HTTPResponse.Status = .ok,
        title: String, nav: String? = nil, cookies: [Cookie] = []
    ) throws -> Response {
        var context = data
        context["title"] = title
        if let s {
            // Flat names: a `user` section would shadow the page's own `name`, `email`, … fields.
            context["signedIn"] = true
            context["userEmail"] = s.user.email
            context["userRole"] = s.user.role.rawValue
            context["csrf"] = s.csrfToken
            context["canEdit"] = s.user.role >= .editor
            context["isAdmin"] = s.user.role == .admin
        }
        if let nav { context["nav"] = [nav: true] }
        guard let text = library.render(context, withTemplate: template) else {
            throw APIError(.internalServerError, "missing template \(template)")
        }
        return Self.html(text, status: status, cookies: cookies)
    }

    static func time(_ ms: Int64?) -> String {
        guard let ms, ms > 0 else { return "—" }
        let iso = ISOTime.format(ms)
        return String(iso.prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    static func pretty(_ v: JSONValue?) -> String {
        guard let v, !v.isNull else { return "" }
        return String(decoding: (try? JSONSerialization.data(
            withJSONObject: JSONSerialization.jsonObject(with: Data(v.serializedBytes()), options: [.fragmentsAllowed]),
            options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])) ?? Data(v.serializedBytes()), as: UTF8.self)
    }

    /// Only the values that are there: Mustache sections treat "" and 0 as true, so optional
    /// content is left out of the context instead.
    static func present(_ values: [String: Any?]) -> [String: Any] {
        values.compactMapValues { v -> Any? in
            switch v {
            case .none: return nil
            case let s as String: return s.isEmpty ? nil : s
            case let .some(x): return x
            }
        }
    }

    static func number(_ x: Double, digits: Int = 4) -> String {
        guard x.isFinite else { return "—" }
        if x == x.rounded() && abs(x) < 1e15 { return String(Int64(x)) }
        return String(format: "%.\(digits)g", x)
    }

    // MARK: - Sign-in and setup

    /// A token for forms shown before sign-in, checked against a cookie (double submit).
    func formToken(_ r: Request) -> (String, Cookie?) {
        if let t = r.cookies[Self.formCookie]?.value, t.count >= 20 { return (t, nil) }
        let t = StatsigHash.randomToken(length: 32)
        return (t, Cookie(name: Self.formCookie, value: t, path: "/console", secure: auth.secureCookies, httpOnly: true, sameSite: .strict))
    }

    func checkFormToken(_ r: Request, _ form: [String: String]) throws {
        guard let cookie = r.cookies[Self.formCookie]?.value, let sent = form["_csrf"], cookie == sent else {
            throw APIError(.forbidden, "this form has expired or was not sent from Vane's console: reload the page and try again")
        }
    }

    func setupPage(_ r: Request, fields: [String: String], errors: [String: String], error: String?, status: HTTPResponse.Status = .ok) async throws -> Response {
        if try await store.userCount() > 0 { return Self.redirect("/console/login") }
        let (token, cookie) = formToken(r)
        return try render("setup", ["formToken": token, "email": fields["email"] ?? "", "name": fields["name"] ?? "",
                                    "errors": errors, "error": error ?? ""],
                          nil, status: status, title: "Set up", cookies: cookie.map { [$0] } ?? [])
    }

    func setup(_ r: Request) async throws -> Response {
        let form = try await body.form(r)
        try checkFormToken(r, form)
        guard try await store.userCount() == 0 else {
            throw APIError(.conflict, "Vane already has an administrator: sign in instead")
        }
        do {
            let user = try await auth.createUser(
                email: form["email"] ?? "", name: form["name"] ?? "", password: form["password"] ?? "", role: .admin,
                actor: "first-run setup")
            return Self.redirect("/console", cookies: [try await auth.signIn(user)])
        } catch let e as FieldError {
            return try await setupPage(r, fields: form, errors: [e.field: e.message], error: nil, status: .badRequest)
        }
    }

    func signinPage(_ r: Request, error: String?, email: String, status: HTTPResponse.Status, next: String? = nil) async throws -> Response {
        if try await store.userCount() == 0 { return Self.redirect("/console/setup") }
        let (token, cookie) = formToken(r)
        let next = next ?? r.query("next") ?? ""
        return try render("signin", ["formToken": token, "error": error ?? "", "email": email, "next": next],
                          nil, status: status, title: "Sign in", cookies: cookie.map { [$0] } ?? [])
    }

    func signin(_ r: Request, _ c: Context) async throws -> Response {
        let form = try await body.form(r)
        try checkFormToken(r, form)
        let email = (form["email"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = form["password"] ?? ""
        let controls = resolver.controls
        let (account, address) = ("account:" + email.lowercased(), c.remoteAddress)
        let now = Clock.nowMs()
        if let wait = [controls.signInByAccount.wait(account, now: now), controls.signInByAddress.wait(address, now: now)]
            .compactMap({ $0 }).max() {
            var page = try await signinPage(
                r, error: "Too many failed sign-ins. Try again in \(retryAfterSeconds(wait)) seconds.", email: email,
                status: .tooManyRequests, next: form["next"])
            page.headers[.retryAfter] = String(retryAfterSeconds(wait))
            return page
        }
        // The password is checked against a decoy hash when the account does not exist, so an
        // unknown email takes as long to refuse as a wrong password.
        let user = try await store.user(email: email)
        let matches = WebAuth.verify(password, hash: user?.passwordHash ?? WebAuth.decoyHash)
        guard let user, user.disabledAt == nil, matches else {
            controls.signInByAccount.recordFailure(account, now: now)
            controls.signInByAddress.recordFailure(address, now: now)
            return try await signinPage(r, error: "Wrong email or password.", email: email, status: .unauthorized, next: form["next"])
        }
        controls.signInByAccount.recordSuccess(account)
        // Only local paths: never redirect off-site after sign-in.
        var next = form["next"] ?? ""
        if !next.hasPrefix("/console") || next.hasPrefix("//") { next = "/console" }
        return Self.redirect(next, cookies: [try await auth.signIn(user)])
    }

    func signout(_ r: Request) async throws -> Response {
        let form = try await body.form(r)
        guard let s = try await auth.session(r) else { return Self.redirect("/console/login") }
        guard WebAuth.csrfMatches(form["_csrf"], s) else {
            throw APIError(.forbidden, "missing or wrong CSRF token")
        }
        return Self.redirect("/console/login", cookies: [try await auth.signOut(r)])
    }

    // MARK: - Overview

    /// The address SDKs should use: `--public-url`, or the scheme and host this page was asked for.
    static func serverURL(_ r: Request, publicURL: String?) -> String {
        if let publicURL { return publicURL.hasSuffix("/") ? String(publicURL.dropLast()) : publicURL }
        let scheme = r.headers[values: HTTPField.Name("X-Forwarded-Proto")!].first == "https" ? "https" : "http"
        return scheme + "://" + (r.head.authority ?? "127.0.0.1:8787")
    }

    func overview(_ r: Request, _ s: ConsoleSession) async throws -> Response {
        let now = Clock.nowMs()
        let startOfDay = now - now % 86_400_000
        let counts = try await store.eventCountsBySource(project: project, since: startOfDay)
        let experiments = try await store.entities(project: project, kind: .experiment)
        let running = experiments.filter { $0.status == .active }.map { e -> [String: Any] in
            ["name": e.name, "idType": e.effectiveIdType, "started": Self.time(e.startTime)]
        }
        let inboundSettings = try await inbound.settings(project)
        let outbound = try await outboundStatus(project)
        let dead = outbound.deadLettered
        return try render("overview", [
            "today": String(ISOTime.format(now).prefix(10)),
            "eventsToday": counts.values.reduce(0) { $0 + $1.events },
            "exposuresToday": counts.values.reduce(0) { $0 + $1.exposures },
            "sources": counts.sorted { $0.key < $1.key }.map { ["name": $0.key, "events": $0.value.events, "exposures": $0.value.exposures] },
            "serverURL": Self.serverURL(r, publicURL: publicURL),
            "running": running, "runningCount": running.count,
            "gateCount": try await store.entities(project: project, kind: .gate).count,
            "inboundEnabled": inboundSettings.enabled, "inboundToday": counts["segment"]?.events ?? 0,
            "outboundEnabled": outbound.enabled, "outboundDelivered": outbound.delivered,
        ].merging(Self.present([
            "outboundError": outbound.enabled && outbound.failing
                ? outbound.lastError.map { "\($0) (\(Self.time(outbound.lastErrorTime)))" } : nil,
            "deadLetters": dead > 0 ? dead : nil,
        ]), uniquingKeysWith: { a, _ in a }), s, title: "Overview", nav: "overview")
    }

    // MARK: - Configuration entities

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
        let items = try await store.entities(project: project, kind: kind).sorted { $0.name < $1.name }.map { e -> [String: Any] in
            let (status, cls): (String, String) = {
                switch kind {
                case .experiment:
                    let st = e.status?.rawValue ?? "setup"
                    return (st, st == "active" ? "badge-ok" : st == "decision_made" ? "badge-info" : "")
                case .gate, .dynamicConfig: return (e.isEnabled == false ? "disabled" : "enabled", e.isEnabled == false ? "" : "badge-ok")
                case .segment: return (e.segmentType == "id_list" ? "ID list" : "rule based", "badge-info")
                case .layer: return ("layer", "badge-info")
                case .holdout:
                    let share = (e.rules ?? []).first.map { Self.number($0.passPercentage) + "% held out" } ?? "no rule"
                    return (share, "badge-info")
                }
            }()
            return ["name": e.name, "href": WebLink.console(kind.collection, e.name), "status": status, "statusClass": cls,
                    "description": e.description ?? "", "updated": Self.time(e.lastModifiedTime),
                    // An experiment's rules are its groups (compiled): the count that means something is the groups'.
                    "rules": kind == .experiment ? (e.groups ?? []).count : (e.rules ?? []).count,
                    "updatedSort": e.lastModifiedTime ?? 0]
        }
        let (blurb, hint) = Self.blurbs[kind] ?? ("", "")
        return try render("list", [
            "heading": kind.displayName + "s", "singular": kind.displayName.lowercased(), "blurb": blurb, "emptyHint": hint,
            "items": items, "collection": kind.collection, "base": "/console/\(kind.collection)",
            "isExperiment": kind == .experiment, "isSegmentList": kind == .segment,
            "countHeading": kind == .experiment ? "Groups" : "Rules",
            "idTypes": ["userID", "stableID"] + (try await store.customIDTypes(project: project)),
        ], s, title: kind.displayName + "s", nav: kind.collection)
    }

    static func describe(_ c: EntityCondition) -> String {
        var parts = [c.type]
        if let f = c.field { parts.append(f) }
        if let op = c.operator { parts.append(op) }
        if let t = c.targetValue { parts.append(t.serialized()) }
        return parts.joined(separator: " ")
    }

    /// Rules as shown, with a switch per environment (a rule without `environments` is on in all).
    static func rulesContext(_ e: Entity, environments: [String]) -> [[String: Any]] {
        (e.rules ?? []).enumerated().map { i, r in
            [
                "index": i + 1, "name": r.name, "pass": Self.number(r.passPercentage),
                "conditions": r.conditions.map(describe),
                "schedule": (r.schedule ?? []).map { step -> [String: Any] in
                    ["time": Self.time(step.time) + " UTC", "pass": Self.number(step.passPercentage),
                     "status": step.appliedAt.map { "applied " + Self.time($0) } ?? "pending"]
                },
                "envSwitches": environments.map { env -> [String: Any] in
                    ["env": env, "rule": i, "on": r.environments.map { $0.contains(env) } ?? true]
                },
            ].merging(present(["group": r.groupName]), uniquingKeysWith: { a, _ in a })
        }
    }

    /// The editable rules: what the API accepts back (ids and salts kept, so buckets do not move).
    static func rulesJSON(_ e: Entity) -> String {
        pretty(encodeToJSON(e.rules ?? []))
    }

    /// The entities of a kind as picker options, `selected` marked.
    func options(_ kind: EntityKind, selected: String?) async throws -> [[String: Any]] {
        try await store.entities(project: project, kind: kind).map(\.name).sorted().map { ["name": $0, "selected": $0 == selected] }
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
        case .gate:
            var data: [String: Any] = [
                "name": e.name, "description": e.description ?? "", "enabled": e.isEnabled != false,
                "rules": Self.rulesContext(e, environments: environments), "rulesJSON": Self.rulesJSON(e),
                "environments": environments, "collection": kind.collection,
                "builderOptions": try await builderOptions(e, environments: environments),
            ]
            let partial = (e.rules ?? []).contains { $0.passPercentage > 0 && $0.passPercentage < 100 }
            data.merge(try await guardrailsContext(e), uniquingKeysWith: { a, _ in a })
            data["hasPartial"] = partial
            if partial, let results = try? await resultsContext(.gate, name, [:]) { data["results"] = results }
            return try render("gate", data, s, title: e.name, nav: "gates")
        case .experiment:
            let groups = (e.groups ?? []).map { g -> [String: Any] in
                ["name": g.name, "size": Self.number(g.size), "parameters": JSONValue.object(g.parameterValues).serialized()]
            }
            let idTypes = ["userID", "stableID"] + (try await store.customIDTypes(project: project))
            let status = e.status?.rawValue ?? "setup"
            return try render("experiment", Self.present([
                "hypothesis": e.hypothesis, "targetingGate": e.targetingGate, "layer": e.layer, "started": e.startTime.map { Self.time($0) },
                "launchedGroup": e.status == .decisionMade ? e.launchedGroup : nil,
                "primaryMetricsText": e.primaryMetrics.flatMap { $0.isEmpty ? nil : $0.joined(separator: ", ") },
            ]).merging([
                "name": e.name, "description": e.description ?? "", "idType": e.effectiveIdType,
                "status": status, "statusClass": status == "active" ? "badge-ok" : "",
                "canStart": e.status == nil || e.status == .setup, "canStop": e.status == .active,
                "allocation": Self.number(e.allocation ?? 100),
                "window": e.analysisWindowDays.map { "\($0) days after first exposure" } ?? "all events after first exposure",
                "windowDays": e.analysisWindowDays.map(String.init) ?? "",
                "groups": groups,
                "groupsJSON": Self.pretty(encodeToJSON((e.groups ?? []).map { g in
                    ["id": .string(g.id ?? ""), "name": .string(g.name), "size": .double(g.size), "parameterValues": .object(g.parameterValues)] as JSONValue
                })),
                "idTypes": idTypes.map { ["name": $0, "selected": $0 == e.effectiveIdType] }, "collection": kind.collection,
                "gateOptions": try await options(.gate, selected: e.targetingGate),
                "layerOptions": try await options(.layer, selected: e.layer),
            ], uniquingKeysWith: { a, _ in a }).merging(try await guardrailsContext(e), uniquingKeysWith: { a, _ in a }),
            s, title: e.name, nav: "experiments")
        default:
            return try render("entity", Self.present([
                "defaultJSON": e.defaultValue.map { Self.pretty($0) }, "idList": e.segmentType == "id_list" ? e.idList : nil,
            ]).merging([
                "name": e.name, "description": e.description ?? "", "kindName": kind.displayName, "collection": kind.collection,
                "rules": Self.rulesContext(e, environments: environments), "rulesJSON": Self.rulesJSON(e),
                "hasDefault": kind == .dynamicConfig || kind == .layer, "isHoldout": kind == .holdout,
                "builderOptions": try await builderOptions(e, environments: environments),
            ], uniquingKeysWith: { a, _ in a }), s, title: e.name, nav: kind.collection)
        }
    }

    /// The guardrails card: the metrics, what acting means for this kind, and the last time the watch acted.
    func guardrailsContext(_ e: Entity) async throws -> [String: Any] {
        var out: [String: Any] = [
            "guardrails": (e.guardrails ?? []).map { g -> [String: Any] in
                ["metric": g.metric, "direction": g.harmfulDirection == .decrease ? "a decrease" : "an increase",
                 "tolerance": GuardrailWatch.percent(g.tolerance)]
            },
            "guardrailsJSON": Self.pretty(encodeToJSON(e.guardrails ?? [])),
            "metricOptions": try await metricNames(),
            "guardrailAction": e.kind == .gate
                ? "rolls the partial rollout rules back to 0 % and drops their pending scheduled steps."
                : "stops the experiment and ships its control group.",
        ]
        let fired = try await store.auditLog(project: project, query: AuditQuery(kind: e.kind.rawValue, name: e.name, actor: GuardrailWatch.actor, limit: 50))
            .first { $0.action == GuardrailWatch.action }
        if let fired { out["guardrailFired"] = ["time": Self.time(fired.time), "description": fired.description] }
        return out
    }

    // MARK: - Results

    func resultsPage(_ kind: PulseSubject.Kind, _ name: String, _ r: Request, _ s: ConsoleSession) async throws -> Response {
        var query = r.queryItems()
        if query["cumulative"] == nil { query["cumulative"] = "true" }  // the page charts the effect over time
        let results = try await resultsContext(kind, name, query)
        let (collection, label) = switch kind {
        case .experiment: ("experiments", "Experiment setup")
        case .gate: ("gates", "Gate rules")
        case .holdout: ("holdouts", "Holdout")
        }
        return try render("results", [
            "name": name, "results": results, "back": "/console/\(collection)/\(name)", "backLabel": label,
        ], s, title: "\(name) results", nav: collection)
    }

    func resultsContext(_ kind: PulseSubject.Kind, _ name: String, _ query: [String: String]) async throws -> [String: Any] {
        let r = try await PulseService(store: store).results(project: project, kind: kind, name: name, query: query, now: Clock.nowMs())
        let options = r.options
        let rows = Self.comparisonRows(r.metrics, options: options)
        // The service lists primary metrics first, then guardrails: the page only folds away the rest.
        let primaryRows = rows.filter { $0["primary"] as? Bool == true }
        let guardrailRows = rows.filter { $0["primary"] as? Bool != true && $0["guardrail"] != nil }
        let otherRows = rows.filter { $0["primary"] as? Bool != true && $0["guardrail"] == nil }
        let groups = r.groups.map { g -> [String: Any] in
            ["name": g.name, "units": g.units, "weight": g.weight.map { Self.number($0) + "%" } ?? "—"]
        }
        var context: [String: Any] = [
            "heading": kind == .experiment ? "Results" : "Rollout results (pass vs fail)",
            "idType": r.subject.idType, "computedAt": Self.time(r.computedAt),
            "groups": groups, "metrics": rows,
            "primaryRows": primaryRows, "guardrailRows": guardrailRows, "otherRows": otherRows,
            "otherCount": otherRows.count, "collapseOthers": !(primaryRows.isEmpty && guardrailRows.isEmpty),
            "primaryMissing": r.primaryMetrics.filter { p in !r.metrics.contains { $0.metric == p } },
            "level": String(format: "%g%%", (1 - options.analysis.alpha) * 100),
            "cuped": options.analysis.cuped.enabled, "sequential": options.analysis.sequential,
            "bayesian": options.analysis.bayesianPrior != nil,
            "correctionNone": options.correction == .none,
            "correctionBonferroni": options.correction == .bonferroni,
            "correctionBH": options.correction == .benjaminiHochberg,
            "winsorize": options.winsorize,
        ]
        if r.crossovers > 0 { context["crossovers"] = r.crossovers }
        if let scope = r.subject.scope { context["scope"] = scope }
        if r.rollup.eventsSetAside > 0 { context["eventsSetAside"] = r.rollup.eventsSetAside }
        if let srm = r.srm, srm.isMismatch {
            context["srmMismatch"] = true
            context["srmP"] = String(format: "%.2g", srm.pValue)
            context["observed"] = srm.observed.map { Self.number(Double($0)) }.joined(separator: " / ")
            let total = srm.expected.reduce(0, +)
            context["expected"] = srm.expected.map { String(format: "%.1f%%", 100 * $0 / max(total, 1)) }.joined(separator: " / ")
        }
        if let periods = r.srmPeriods {
            let names = r.groups.map(\.name)
            context["hasSrmPeriods"] = true
            context["srmPeriods"] = periods.map { p -> [String: Any] in
                [
                    "from": Self.time(p.since), "to": p.until.map { Self.time($0) } ?? "now",
                    "split": names.map { Self.number(p.weights[$0] ?? 0) }.joined(separator: " / "),
                    "units": names.map { String(p.units[$0] ?? 0) }.joined(separator: " / "),
                    "check": p.srm.map { $0.isMismatch ? "mismatch (p = \(String(format: "%.2g", $0.pValue)))" : "ok" } ?? "not enough units",
                    "mismatch": p.srm?.isMismatch == true,
                ]
            }
        }
        if let drill = r.drillDown {
            context["dimension"] = drill.dimension
            context["drill"] = [
                "dimension": drill.dimension, "notes": drill.notes,
                "rows": drill.slices.flatMap { slice in
                    Self.comparisonRows(slice.metrics, options: options).map { row -> [String: Any] in
                        var row = row
                        row["slice"] = slice.value
                        row["units"] = slice.groups.map { String($0.units) }.joined(separator: " / ")
                        return row
                    }
                },
                "flagged": drill.interactions.filter(\.heterogeneous).map { i -> [String: Any] in
                    ["metric": i.metric, "group": i.group, "p": String(format: "%.2g", i.test?.pValue ?? 1)]
                },
            ] as [String: Any]
        }
        if let range = r.range {
            context["rangeFrom"] = range.from
            context["rangeTo"] = range.to
            context["range"] = "Units first exposed " + (range.from.map { "from \($0)" } ?? "at any time")
                + (range.to.map { ", with their events through \($0) (UTC)." } ?? ", with their events until now.")
        }
        if let series = r.cumulative, !series.isEmpty {
            context["cumulative"] = series.map { c -> [String: Any] in
                let title = "\(c.metric), \(c.group) against \(r.groups.first?.name ?? "control")"
                return [
                    "title": title,
                    "chart": WebCharts.lift(
                        days: c.points.map(\.day), points: c.points.map { p in p.relative.map { ($0.estimate, $0.lower, $0.upper) } },
                        label: "Relative effect over time: " + title),
                    "last": c.points.last.map { p in
                        "\(p.day): " + (p.relative.map { String(format: "%+.2f%% (%+.2f%% to %+.2f%%)", $0.estimate * 100, $0.lower * 100, $0.upper * 100) }
                            ?? "no interval yet") + " · units " + p.units.map(String.init).joined(separator: " / ")
                    } ?? "",
                ]
            }
        }
        let armNames = r.groups.map(\.name)
        let days = r.exposuresPerDay.keys.sorted()
        if !days.isEmpty {
            context["exposureChart"] = WebCharts.bars(
                labels: days, series: armNames.map { arm in days.map { Double(r.exposuresPerDay[$0]?[arm] ?? 0) } }, names: armNames)
        }
        return context
    }

    /// One table row per metric and treatment: lift, interval and its chart, p-value or chance to win.
    static func comparisonRows(_ metrics: [PulseResults.Metric], options: PulseAnalysisOptions) -> [[String: Any]] {
        let corrected = options.correction != .none
        var rows: [[String: Any]] = []
        for m in metrics {
            for c in m.comparisons {
                let effect = c.effect
                var row: [String: Any] = [
                    "metric": m.metric, "metricPath": WebLink.encoded(m.metric),
                    "type": m.type.rawValue, "group": c.group,
                    "controlMean": Self.number(effect.control.mean), "treatmentMean": Self.number(effect.treatment.mean),
                    "cuped": effect.cuped.applied,

                    "reason": effect.reason ?? effect.notes.first ?? "no interval",
                ]
                row["primary"] = m.primary
                row["reasonShort"] = switch effect.status {
                case .insufficientSample: "needs more data"
                case .notComputable: "not computable"
                case .ok: "no interval"
                }
                if let g = m.guardrail {
                    row["guardrail"] = "guardrail: " + (g.harmfulDirection == .decrease ? "a drop" : "a rise") + " beyond "
                        + GuardrailWatch.percent(g.tolerance) + " rolls back"
                }
                // The Bayesian view shows the posterior (mean, credible interval, chance to beat
                // control, called at 95 % either way, as GrowthBook does); the frequentist one the
                // estimate, confidence interval and p-value.
                let interval: (estimate: Double, lower: Double, upper: Double)?
                let chance = effect.bayesian?.relative?.chanceToWin
                if let bayesian = effect.bayesian {
                    interval = bayesian.relative.map { ($0.expected, $0.lower, $0.upper) }
                } else if let f = effect.relative {
                    interval = (f.estimate, f.lower, f.upper)
                } else {
                    interval = nil
                }
                if let (est, lo, hi) = interval {
                    let significant = chance.map { $0 > 0.95 || $0 < 0.05 } ?? effect.isSignificant
                    let cls = significant ? (est > 0 ? "sig-pos" : "sig-neg") : ""
                    row["lift"] = String(format: "%+.2f%%", est * 100)
                    row["liftValue"] = est
                    row["sigClass"] = cls
                    row["pValue"] = String(format: "%.4g", effect.absolute?.pValue ?? 1)
                        + (corrected ? String(format: ", adjusted %.4g", effect.absolute?.adjustedPValue ?? 1) : "")
                    row["interval"] = String(format: "[%+.2f%%, %+.2f%%]", lo * 100, hi * 100)
                    row["chart"] = WebCharts.interval(lower: lo, estimate: est, upper: hi, cls: cls)
                    if let chance { row["chance"] = String(format: "%.1f%%", chance * 100) }
                } else {
                    row["lift"] = "—"
                    row["liftValue"] = 0
                    row["pValue"] = "—"
                }
                rows.append(row)
            }
        }
        return rows
    }

    // MARK: - Metrics

    func metricsPage(_ s: ConsoleSession) async throws -> Response {
        let list = try await PulseService(store: store).metricList(project)
        let items = list.map { m -> [String: Any] in
            ["name": m.name, "path": WebLink.encoded(m.name), "type": m.type, "event": m.event ?? "",
             "events": m.automatic.map { String($0.events) } ?? "", "lastSeen": m.automatic?.lastSeen ?? "",
             "automatic": m.automatic != nil]
        }
        let events = Set(list.compactMap { $0.automatic?.event }).sorted()
        return try render("metrics", ["items": items, "events": events], s, title: "Metrics", nav: "metrics")
    }

    /// A metric's days (within `from`…`to`, UTC dates, when given): events, users and value sum
    /// charted and listed, and for a defined metric a form that edits it.
    func metricPage(_ name: String, _ query: [String: String], _ s: ConsoleSession) async throws -> Response {
        let pulse = PulseService(store: store)
        guard let m = try await pulse.metrics.resolve(project, name) else {
            throw StoreError.notFound("There is no metric named ‘\(name)’.")
        }
        // The dates as the series labels its days (UTC, YYYY-MM-DD), so they compare as text.
        let range = try PulseTimeRange(query: query)
        let from = range?.from, to = range?.to
        let series = try await pulse.series(project, metric: name)
        let days = series.days.filter { d in (from.map { d.day >= $0 } ?? true) && (to.map { d.day <= $0 } ?? true) }
        let filters = (m.filters ?? []).map(\.description).joined(separator: " and ")
        var data: [String: Any] = Self.present([
            "event": m.event, "filters": filters.isEmpty ? nil : filters,
            "ratio": m.type == .ratio ? "\(m.numerator ?? "") / \(m.denominator ?? "")" : nil,
            "metricDescription": m.description, "from": from, "to": to,
        ]).merging([
            "name": name, "type": m.type.rawValue, "custom": !m.isAutomatic,
            "days": days.reversed().map { ["day": $0.day, "events": $0.events, "units": $0.units, "sum": Self.number($0.sum)] as [String: Any] },
            "typeOptions": MetricDefinition.MetricType.allCases.map { ["name": $0.rawValue, "selected": $0 == m.type] },
            "filtersJSON": Self.pretty(encodeToJSON(m.filters ?? [])),  // "[]" rather than empty, which a PATCH would leave as it was
            "numerator": m.numerator ?? "", "denominator": m.denominator ?? "", "eventValue": m.event ?? "",
        ], uniquingKeysWith: { a, _ in a })
        if !days.isEmpty {
            let labels = days.map(\.day)
            data["chart"] = WebCharts.bars(
                labels: labels, series: [days.map { Double($0.events) }, days.map { Double($0.units) }], names: ["events", "unique users"])
            if days.contains(where: { $0.sum != 0 }) {
                data["valueChart"] = WebCharts.bars(labels: labels, series: [days.map(\.sum)], names: ["value sum"])
            }
        }
        return try render("metric", data, s, title: name, nav: "metrics")
    }

    // MARK: - Events

    func eventsPage(_ r: Request, _ s: ConsoleSession) async throws -> Response {
        var data: [String: Any] = ["explore": r.query("tab") == "explore"]
        if r.query("tab") == "explore" {
            let q = r.queryItems()
            var query = EventQuery(limit: 100)
            query.eventName = q["eventName"].flatMap { $0.isEmpty ? nil : $0 }
            // Names are found as the live stream finds them: by how they start, unless asked otherwise.
            query.eventNameMatch = q["match"].flatMap(EventNameMatch.init(rawValue:)) ?? .prefix
            query.userID = q["userID"].flatMap { $0.isEmpty ? nil : $0 }
            query.source = q["source"].flatMap { $0.isEmpty ? nil : $0 }
            if let since = q["since"], !since.isEmpty {
                if let t = ISOTime.parse(since.count == 10 ? since + "T00:00:00Z" : since) { query.since = t }
                else { data["error"] = "Since must be a date like 2026-11-01 or a time like 2026-11-01T12:00:00Z." }
            }
            query.cursor = q["cursor"].flatMap(EventCursor.init(token:))
            let page = try await store.events(project: project, query: query)
            data["rows"] = page.events.map { e -> [String: Any] in
                ["id": e.id ?? 0, "time": Self.time(e.time), "name": e.eventName, "source": e.source,
                 "user": e.userID ?? e.customIDs.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", "),
                 "value": e.value.map { $0.stringValue ?? $0.serialized() } ?? ""]
            }
            if let next = page.nextCursor {
                var items = q
                items["cursor"] = next.token
                data["next"] = WebLink.query("/console/events", items)
            }
            data["q"] = q
            data["sourcesOptions"] = ["sdk", "http_api", "segment"].map { ["name": $0, "selected": q["source"] == $0] }
            data["matchOptions"] = [("prefix", "starts with"), ("contains", "contains"), ("exact", "is exactly")].map {
                ["value": $0.0, "label": $0.1, "selected": query.eventNameMatch.rawValue == $0.0]
            }
        }
        return try render("events", data, s, title: "Events", nav: "events")
    }

    func eventPage(_ id: String, _ s: ConsoleSession) async throws -> Response {
        guard let n = Int64(id), let e = try await store.event(project: project, id: n) else {
            throw StoreError.notFound("There is no event with id ‘\(id)’.")
        }
        return try render("event", Self.present(["rawJSON": e.raw.map { Self.pretty($0) }]).merging([
            "name": e.eventName, "time": Self.time(e.time), "received": Self.time(e.receivedAt), "source": e.source,
            "userID": e.userID ?? "—", "customIDs": e.customIDs.isEmpty ? "—" : e.customIDs.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: ", "),
            "environment": e.environment ?? "—", "value": e.value.map { $0.stringValue ?? $0.serialized() } ?? "—",
            "userJSON": Self.pretty(e.user), "metadataJSON": Self.pretty(e.metadata ?? .object([:])),
        ], uniquingKeysWith: { a, _ in a }), s, title: e.eventName, nav: "events")
    }

    // MARK: - ID lists

    func idListsPage(_ s: ConsoleSession) async throws -> Response {
        var items: [[String: Any]] = []
        for l in try await store.idLists(project: project).sorted(by: { $0.name < $1.name }) {
            let last = try await store.recentIDListChanges(project: project, name: l.name, limit: 1).first
            items.append(["name": l.name, "size": l.count, "updated": Self.time(l.updatedAt), "lastSource": last?.source ?? "—"])
        }
        return try render("idlists", ["items": items], s, title: "ID lists", nav: "id_lists")
    }

    func idListPage(_ name: String, _ s: ConsoleSession) async throws -> Response {
        guard let l = try await store.idList(project: project, name: name) else {
            throw StoreError.notFound("There is no ID list named ‘\(name)’.")
        }
        let changes = try await store.recentIDListChanges(project: project, name: name, limit: 50).map { c -> [String: Any] in
            ["time": Self.time(c.time), "op": c.op == "+" ? "added" : "removed", "id": c.id, "source": c.source]
        }
        return try render("idlist", ["name": l.name, "size": l.count, "changes": changes], s, title: l.name, nav: "id_lists")
    }

    // MARK: - Segment

    func segmentPage(_ r: Request, _ s: ConsoleSession) async throws -> Response {
        let base = "http://" + (r.head.authority ?? "127.0.0.1:8787")
        var data: [String: Any] = ["outbound": r.query("tab") == "outbound", "streamSource": "segment"]
        if r.query("tab") == "outbound" {
            let o = try await exporter.settings(project)
            let status = try await outboundStatus(project)
            let dead = try await store.deadLetters(project: project, retryRequestedOnly: false, limit: 20)
            data["out"] = [
                "enabled": o.enabled, "writeKeySet": !(o.writeKey ?? "").isEmpty, "endpoint": o.endpoint,
                "cat": ["gateExposures": o.categories.gateExposures, "configExposures": o.categories.configExposures,
                        "experimentExposures": o.categories.experimentExposures, "customEvents": o.categories.customEvents,
                        "configChanges": o.categories.configChanges],
                "allow": o.allowEvents.joined(separator: "\n"), "deny": o.denyEvents.joined(separator: "\n"),
                "anonymousIdFrom": o.anonymousIdFrom, "delivered": status.delivered,
                "requests": status.requests, "pending": status.queued,
                "lastSuccess": Self.time(status.lastSuccess), "lastError": status.lastError.map {
                    "\($0) (\(Self.time(status.lastErrorTime)))" + (status.failing ? "" : "; delivered successfully since")
                } ?? "—",
                "deadLetters": status.deadLettered,
                "deadLetterRows": dead.map { d -> [String: Any] in
                    ["time": Self.time(d.createdAt), "reason": d.reason, "event": d.message["event"]?.stringValue ?? d.message["type"]?.stringValue ?? ""]
                },
            ] as [String: Any]
        } else {
            let i = try await inbound.settings(project)
            let key = try await store.keys(project: project).filter { $0.kind == .segmentWriteKey && $0.revokedAt == nil }.last
            data["in"] = [
                "enabled": i.enabled, "destinationURL": base + "/v1/webhooks/segment", "trackingURL": base + "/v1",
                "writeKeyPrefix": key?.displayPrefix as Any, "secretSet": !(i.sharedSecret ?? "").isEmpty,
                "allow": i.filters.allowEvents.joined(separator: "\n"), "deny": i.filters.denyEvents.joined(separator: "\n"),
                "allowTypes": i.filters.allowTypes.joined(separator: ","), "denyTypes": i.filters.denyTypes.joined(separator: ","),
                "mappingsJSON": Self.pretty(encodeToJSON(i.identifierMappings)),
            ] as [String: Any]
            data["usage"] = try await SegmentConsoleController.usageDays(store, project, days: 30).map { day -> [String: Any] in
                let dropped = InboundUsageDay.dropCategories.flatMap { category in
                    (day.dropped[category] ?? [:]).sorted { $0.key < $1.key }.map { "\(category): \($0.key): \($0.value)" }
                }
                return ["day": day.day, "ingested": day.ingested, "duplicates": day.duplicates,
                        "dropped": dropped.isEmpty ? "—" : dropped.joined(separator: ", ")]
            }
        }
        return try render("segment", data, s, title: "Segment", nav: "segment")
    }

    func outboundStatus(_ project: String) async throws -> OutboundStatus {
        try await SegmentOutboundController(store: store, exporter: exporter, resolver: resolver, body: body).status(project)
    }

    /// Sends one Segment track call through the inbound pipeline, as Segment would.
    func sendTestEvent(_ c: Context) async throws -> Response {
        let now = Clock.nowMs()
        let message: JSONValue = [
            "type": "track", "event": "Vane Test Event", "messageId": .string("vane-test-" + StatsigHash.randomToken(length: 12)),
            "userId": .string(c.session?.user.email ?? "vane-test-user"), "anonymousId": "vane-test-anonymous",
            "properties": ["sentFrom": "Vane console"], "timestamp": .string(ISOTime.format(now)),
        ]
        let outcome = try await inbound.ingest(project: c.project, messages: [message], single: true, origin: .destination, now: now)
        return envelope("Test event sent.", ["eventName": "segment::Vane Test Event", "stored": .int(Int64(outcome.stored))])
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

    // MARK: - Settings

    func settingsPage(_ r: Request, _ s: ConsoleSession, form: [String: String], errors: [String: String], error: String?,
                      status: HTTPResponse.Status = .ok, tabOverride: String? = nil) async throws -> Response {
        let tab = tabOverride ?? r.query("tab") ?? "keys"
        var data: [String: Any] = ["tab": [tab: true], "form": form, "errors": errors, "userError": error ?? ""]
        data["environments"] = try await store.environments(project: project)
        switch tab {
        case "users":
            data["users"] = try await store.users().map { u -> [String: Any] in
                ["id": u.id, "email": u.email, "name": u.name, "role": u.role.rawValue, "created": Self.time(u.createdAt),
                 "disabled": u.disabledAt != nil,
                 "roles": ConsoleRole.allCases.reversed().map { ["name": $0.rawValue, "selected": $0 == u.role] }]
            }
        case "webhooks":
            data["kinds"] = WebhookPayload.configurationKinds.joined(separator: ", ")
            var hooks: [[String: Any]] = []
            for hook in try await store.webhooks(project: project) {
                let v = try await WebhookView.load(hook, project: project, store: store)
                let d = hook.delivery
                hooks.append([
                    "id": hook.id, "url": hook.url, "description": hook.description, "enabled": hook.enabled,
                    "kinds": hook.kinds.isEmpty ? "every configuration change" : hook.kinds.joined(separator: ", "),
                    "delivered": d.delivered, "queued": v.queued, "deadLettered": v.deadLettered, "hasDeadLetters": v.deadLettered > 0,
                    "failing": v.failing, "lastError": d.lastError ?? "", "lastErrorTime": Self.time(d.lastErrorTime),
                    "lastSuccess": d.lastSuccess.map { Self.time($0) } ?? "never", "created": Self.time(hook.createdAt),
                ])
            }
            data["webhooks"] = hooks
        case "project":
            data["idTypes"] = ["userID", "stableID"] + (try await store.customIDTypes(project: project))
        case "audit":
            data.merge(try await auditContext(r), uniquingKeysWith: { a, _ in a })
        default:
            data["keys"] = try await store.keys(project: project).map { k -> [String: Any] in
                ["id": k.id, "prefix": k.displayPrefix, "kind": k.kind.rawValue, "environment": k.environment ?? "all",
                 "description": k.description, "created": Self.time(k.createdAt), "revoked": k.revokedAt != nil]
            }
        }
        return try render("settings", data, s, status: status, title: "Settings", nav: "settings")
    }

    /// The audit tab: filters as pickers (kind, action, who, date range) and each entry with its changes field by field.
    func auditContext(_ r: Request) async throws -> [String: Any] {
        let q = r.queryItems()
        func day(_ name: String, plusOne: Bool) -> Int64? {
            guard let s = q[name], !s.isEmpty, let t = ISOTime.parse(s + "T00:00:00Z") else { return nil }
            return plusOne ? t.saturatingAdd(86_400_000) : t
        }
        let entries = try await store.auditLog(project: project, query: AuditQuery(
            kind: r.nonEmptyQuery("kind"), name: r.nonEmptyQuery("name"), actor: r.nonEmptyQuery("actor"), action: r.nonEmptyQuery("action"),
            since: day("since", plusOne: false), until: day("until", plusOne: true), limit: 200))
        let recentActors = Set(try await store.auditLog(project: project, query: AuditQuery(limit: 500)).map(\.actor)).sorted()
        func options(_ values: [String], selected: String?) -> [[String: Any]] {
            values.map { ["value": $0, "selected": $0 == selected] }
        }
        func shown(_ v: JSONValue?) -> String {
            guard let v else { return "(none)" }
            let text = v.serialized(sortedKeys: true)
            return text.count > 160 ? String(text.prefix(160)) + "…" : text
        }
        return [
            "q": q,
            "kindOptions": options(Self.auditKinds, selected: q["kind"]),
            "actionOptions": options(Self.auditActions, selected: q["action"]),
            "actors": recentActors,
            "audit": entries.map { a -> [String: Any] in
                let changes = JSONDiff.changes(a.before, a.after, limit: 50)
                return [
                    "time": Self.time(a.time), "actor": a.actor, "action": a.action.replacingOccurrences(of: "_", with: " "),
                    "kind": a.kind, "name": a.name, "description": a.description,
                    "changeCount": changes.count, "hasChanges": !changes.isEmpty,
                    "changes": changes.map { ["path": $0.path, "before": shown($0.before), "after": shown($0.after)] },
                ]
            },
        ]
    }

    static let auditKinds = WebhookPayload.configurationKinds + ["key", "user", "secrets", "webhook"]
    static let auditActions = [
        "created", "updated", "deleted", "enabled", "disabled", "started", "decision_made", "abandoned", "ids_changed", "imported",
        "scheduled_rollout", "guardrail_rollback", "revoked", "secret_rotated", "resealed",
    ]

    func createUser(_ r: Request, _ s: ConsoleSession) async throws -> Response {
        let form = try await body.form(r)
        guard WebAuth.csrfMatches(form["_csrf"], s) else { throw APIError(.forbidden, "missing or wrong CSRF token") }
        guard s.user.role == .admin else { throw APIError(.forbidden, "only admins can add users") }
        guard let role = ConsoleRole(rawValue: form["role"] ?? "") else {
            return try await settingsPage(r, s, form: form, errors: [:], error: "Role must be viewer, editor or admin.",
                                          status: .badRequest, tabOverride: "users")
        }
        do {
            _ = try await auth.createUser(email: form["email"] ?? "", name: form["name"] ?? "", password: form["password"] ?? "",
                                          role: role, actor: s.user.email)
        } catch let e as FieldError {
            return try await settingsPage(r, s, form: form, errors: [e.field: e.message], error: nil, status: .badRequest, tabOverride: "users")
        }
        return Self.redirect("/console/settings?tab=users")
    }
}
