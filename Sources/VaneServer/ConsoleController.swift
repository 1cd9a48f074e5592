import Hummingbird
import VaneCore
import VaneStore

/// The console JSON API under /console/v1, authenticated with a console key. Responses follow
/// Statsig's Console API envelope: `{"message": ..., "data": ...}`.
struct ConsoleController: Sendable {
    let service: ConsoleService
    let store: any VaneStore
    let cache: ConfigCache
    let body: BodyReader
    let resolver: KeyResolver

    func register(on router: Router<VaneRequestContext>) {
        let api = router.consoleAPI(resolver, .editors)
        let admin = router.consoleAPI(resolver, .admins)
        for kind in EntityKind.allCases { registerEntity(kind, on: api) }

        api.put("experiments/{name}/start") { _, c in try await self.experimentAction(c) { try await service.start(c.project, $0, actor: actor(c)) } }
        api.post("experiments/{name}/start") { _, c in try await self.experimentAction(c) { try await service.start(c.project, $0, actor: actor(c)) } }
        api.put("experiments/{name}/abandon") { _, c in try await self.experimentAction(c) { try await service.abandon(c.project, $0, actor: actor(c)) } }
        api.post("experiments/{name}/abandon") { _, c in try await self.experimentAction(c) { try await service.abandon(c.project, $0, actor: actor(c)) } }
        api.put("experiments/{name}/make_decision") { r, c in try await self.makeDecision(r, c) }
        api.post("experiments/{name}/make_decision") { r, c in try await self.makeDecision(r, c) }
        let pulse = PulseService(store: store)
        api.get("experiments/{name}/results") { r, c in
            envelope("Experiment results.", encodeToJSON(try await pulse.results(
                project: c.project, kind: .experiment, name: try c.parameters.require("name"), query: r.queryItems(), now: Clock.nowMs())))
        }
        api.get("experiments/{name}/power") { r, c in
            envelope("Power estimate.", encodeToJSON(try await PowerCalculator(pulse: pulse).estimate(
                project: c.project, experiment: try c.parameters.require("name"), query: r.queryItems(), now: Clock.nowMs())))
        }
        api.get("holdouts/{name}/results") { r, c in
            envelope("Holdout results.", encodeToJSON(try await pulse.results(
                project: c.project, kind: .holdout, name: try c.parameters.require("name"), query: r.queryItems(), now: Clock.nowMs())))
        }
        api.get("gates/{name}/results") { r, c in
            envelope("Gate rollout results.", encodeToJSON(try await pulse.results(
                project: c.project, kind: .gate, name: try c.parameters.require("name"), query: r.queryItems(), now: Clock.nowMs())))
        }
        api.get("metrics") { _, c in envelope("Metrics listed successfully.", encodeToJSON(try await pulse.metricList(c.project))) }
        api.post("metrics") { r, c in try await self.saveMetric(r, c, name: nil) }
        api.get("metrics/{name}") { _, c in
            let name = try pathParameter(c, "name")
            guard let m = try await pulse.metrics.resolve(c.project, name) else { throw APIError.notFound("no metric named '\(name)'") }
            return envelope("Metric read successfully.", encodeToJSON(m))
        }
        api.put("metrics/{name}") { r, c in try await self.saveMetric(r, c, name: try pathParameter(c, "name")) }
        api.patch("metrics/{name}") { r, c in try await self.saveMetric(r, c, name: try pathParameter(c, "name")) }
        api.delete("metrics/{name}") { _, c in try await self.deleteMetric(c) }
        api.get("metrics/{name}/series") { _, c in
            envelope("Metric series.", encodeToJSON(try await pulse.series(c.project, metric: try pathParameter(c, "name"))))
        }
        api.get("pulse/skipped") { r, c in
            envelope("Events the Pulse rollup set aside.", try await pulse.setAside(c.project, limit: try limitQuery(r, default: 100)))
        }
        admin.post("pulse/rebuild") { _, c in
            try await store.pulseReset(project: c.project)
            return envelope("Pulse rollups cleared; they are rebuilt from the first event in the background.", .null)
        }
        api.put("gates/{name}/enable") { _, c in try await self.setEnabled(c, true) }
        api.put("gates/{name}/disable") { _, c in try await self.setEnabled(c, false) }

        api.get("custom_id_types") { _, c in
            envelope("Custom ID types listed successfully.", .array(try await store.customIDTypes(project: c.project).map { .string($0) }))
        }
        api.post("custom_id_types") { r, c in try await self.addCustomIDType(r, c) }
        api.delete("custom_id_types/{name}") { _, c in
            let name = try c.parameters.require("name")
            let now = Clock.nowMs()
            guard try await store.removeCustomIDType(project: c.project, name: name, audit: AuditEntry(
                time: now, actor: actor(c), action: "deleted", kind: "custom_id_type", name: name,
                description: "Custom ID type \(name) deleted"))
            else { throw APIError.notFound("no custom ID type named '\(name)'") }
            return envelope("Custom ID type deleted successfully.", .null)
        }

        api.get("id_lists") { _, c in
            envelope("ID lists listed successfully.", .array(try await store.idLists(project: c.project).map(idListJSON)))
        }
        api.post("id_lists") { r, c in try await self.createIDList(r, c) }
        api.get("id_lists/{name}") { _, c in try await self.getIDList(c) }
        api.delete("id_lists/{name}") { _, c in
            let name = try c.parameters.require("name")
            guard try await store.deleteIDList(project: c.project, name: name, audit: AuditEntry(
                time: Clock.nowMs(), actor: actor(c), action: "deleted", kind: "id_list", name: name,
                description: "ID list \(name) deleted"))
            else { throw APIError.notFound("no ID list named '\(name)'") }
            cache.invalidate(project: c.project)
            return envelope("ID list deleted successfully.", .null)
        }
        api.post("id_lists/{name}/ids") { r, c in try await self.changeIDs(r, c) }
        api.patch("id_lists/{name}/ids") { r, c in try await self.changeIDs(r, c) }

        api.post("import/statsig") { r, c in
            let document = try await body.json(r)
            let result = try await service.importStatsig(c.project, document: document, actor: actor(c))
            var imported: [String: JSONValue] = [:]
            for (kind, list) in Dictionary(grouping: result.entities, by: \.kind) {
                imported[kind.collection] = .array(list.map { .string($0.name) }.sorted { $0.stringValue! < $1.stringValue! })
            }
            if !result.parameterStores.isEmpty {
                imported["parameter_stores"] = .array(result.parameterStores.map { .string($0.name) })
            }
            return envelope("Statsig rules imported.", [
                "imported": .object(imported),
                "skipped": .array(result.skipped.map { ["name": .string($0.name), "reason": .string($0.reason)] }),
            ])
        }

        api.get("events") { r, c in try await self.events(r, c) }
        api.get("audit_logs") { r, c in try await self.auditLogs(r, c) }
        api.get("environments") { _, c in
            envelope("Environments listed successfully.", .array(try await store.environments(project: c.project).map { .string($0) }))
        }
        admin.get("keys") { _, c in
            envelope("Keys listed successfully.", .array(try await store.keys(project: c.project).map(keyJSON)))
        }
        admin.post("keys") { r, c in try await self.createKey(r, c) }
        admin.delete("keys/{id}") { _, c in
            guard try await store.revokeKey(project: c.project, id: try c.parameters.require("id"), now: Clock.nowMs(), actor: actor(c)) else {
                throw APIError.notFound("no active key with that id")
            }
            resolver.forget()
            return envelope("Key revoked.", .null)
        }
    }

    // MARK: - Entities

    private func registerEntity(_ kind: EntityKind, on api: RouterGroup<VaneRequestContext>) {
        let path = RouterPath(stringLiteral: kind.collection)
        let item = RouterPath(stringLiteral: kind.collection + "/{name}")
        api.get(path) { _, c in
            envelope("\(kind.displayName)s listed successfully.", .array(try await service.list(c.project, kind).map(encodeToJSON)))
        }
        api.post(path) { r, c in
            let (input, _) = try await self.decodeEntity(kind, r, name: nil)
            let e = try await service.create(c.project, input, actor: actor(c))
            return envelope("\(kind.displayName) created successfully.", encodeToJSON(e), status: .created)
        }
        api.get(item) { _, c in
            envelope("\(kind.displayName) read successfully.", encodeToJSON(try await service.get(c.project, kind, try c.parameters.require("name"))))
        }
        let replace: @Sendable (Request, VaneRequestContext) async throws -> Response = { r, c in
            let name = try c.parameters.require("name")
            let (input, confirm) = try await self.decodeEntity(kind, r, name: name)
            let e = try await service.update(c.project, input, actor: actor(c), confirmSplitChange: confirm)
            return envelope("\(kind.displayName) updated successfully.", encodeToJSON(e))
        }
        api.put(item, use: replace)
        api.post(item, use: replace)
        api.patch(item) { r, c in
            let name = try c.parameters.require("name")
            let current = encodeToJSON(try await service.get(c.project, kind, name))
            guard case .object(var merged) = current else { throw APIError.badRequest("cannot patch") }
            guard case .object(var patch) = try await body.json(r) else { throw APIError.badRequest("request body must be a JSON object") }
            let confirm = try Self.confirmSplitChange(&patch)
            for (k, v) in patch where !Self.serverManaged.contains(k) { merged[k] = v }
            merged["name"] = .string(name)
            merged["kind"] = .string(kind.rawValue)
            let input = try decodeValue(Entity.self, .object(merged))
            let e = try await service.update(c.project, input, actor: actor(c), confirmSplitChange: confirm)
            return envelope("\(kind.displayName) updated successfully.", encodeToJSON(e))
        }
        api.delete(item) { _, c in
            try await service.delete(c.project, kind, try c.parameters.require("name"), actor: actor(c))
            return envelope("\(kind.displayName) deleted successfully.", .null)
        }
    }

    /// Reads an entity body; `kind` comes from the path, and a name in the path wins over the body's.
    /// An entity from a create or replace body, without the fields the server keeps; and whether
    /// the body confirms a change of a running experiment's split.
    private func decodeEntity(_ kind: EntityKind, _ request: Request, name: String?) async throws -> (Entity, confirmSplitChange: Bool) {
        guard case .object(var o) = try await body.json(request) else {
            throw APIError.badRequest("request body must be a JSON object")
        }
        let confirm = try Self.confirmSplitChange(&o)
        o["kind"] = .string(kind.rawValue)
        if let name { o["name"] = .string(name) }
        guard let n = o["name"] else { throw APIError.badRequest("name is required") }
        guard n.stringValue != nil else { throw APIError.badRequest("name must be a string") }
        // Statsig's Console API spells segment types "type".
        if kind == .segment, o["segmentType"] == nil, let t = o["type"] { o["segmentType"] = t }
        for serverManaged in Self.serverManaged { o[serverManaged] = nil }
        return (try decodeValue(Entity.self, .object(o)), confirm)
    }

    static let serverManaged = [
        "createdTime", "lastModifiedTime", "lastModifierName", "version", "imported", "layerBuckets", "status", "startTime", "endTime",
        "launchedGroup", "splitHistory",
    ]

    /// Takes `confirmSplitChange` out of a body: not a field of the entity.
    static func confirmSplitChange(_ o: inout [String: JSONValue]) throws -> Bool {
        guard let v = o.removeValue(forKey: "confirmSplitChange") else { return false }
        guard let b = v.boolValue else { throw APIError.badRequest("confirmSplitChange must be true or false") }
        return b
    }

    private func experimentAction(
        _ c: VaneRequestContext, _ action: (String) async throws -> Entity
    ) async throws -> Response {
        let e = try await action(try c.parameters.require("name"))
        return envelope("Experiment \(e.status?.rawValue ?? "updated").", encodeToJSON(e))
    }

    private func makeDecision(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let b = try await body.object(r)
        guard let group = (b["group"] ?? b["id"] ?? b["groupName"])?.stringValue else {
            throw APIError.badRequest("group is required: the name of the group to ship")
        }
        return try await experimentAction(c) { try await service.makeDecision(c.project, $0, group: group, actor: actor(c)) }
    }

    private func setEnabled(_ c: VaneRequestContext, _ enabled: Bool) async throws -> Response {
        var gate = try await service.get(c.project, .gate, try c.parameters.require("name"))
        gate.isEnabled = enabled
        // A kill switch is audited as what it is, not as an ordinary update.
        let e = try await service.update(c.project, gate, actor: actor(c), action: enabled ? "enabled" : "disabled")
        return envelope(enabled ? "Gate enabled." : "Gate disabled.", encodeToJSON(e))
    }

    // MARK: - Custom ID types, ID lists, keys

    private func addCustomIDType(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let b = try await body.object(r)
        guard let name = b["name"]?.stringValue else { throw APIError.badRequest("name is required: a string") }
        try Validation.checkName(name)
        guard !["userid", "stableid"].contains(name.lowercased()) else {
            throw APIError(.conflict, "'\(name)' is built in")
        }
        try await store.addCustomIDType(project: c.project, name: name, audit: AuditEntry(
            time: Clock.nowMs(), actor: actor(c), action: "created", kind: "custom_id_type", name: name,
            description: "Custom ID type \(name) created"))
        return envelope("Custom ID type created successfully.", ["name": .string(name)], status: .created)
    }

    private func createIDList(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let b = try await body.object(r)
        guard let name = b["name"]?.stringValue else { throw APIError.badRequest("name is required: a string") }
        try Validation.checkName(name)
        let now = Clock.nowMs()
        let info = try await store.createIDList(project: c.project, name: name, now: now, audit: AuditEntry(
            time: now, actor: actor(c), action: "created", kind: "id_list", name: name, description: "ID list \(name) created"))
        cache.invalidate(project: c.project)
        return envelope("ID list created successfully.", idListJSON(info), status: .created)
    }

    private func getIDList(_ c: VaneRequestContext) async throws -> Response {
        let name = try c.parameters.require("name")
        guard let info = try await store.idList(project: c.project, name: name) else {
            throw APIError.notFound("no ID list named '\(name)'")
        }
        let changes = try await store.recentIDListChanges(project: c.project, name: name, limit: 50)
        guard case .object(var o) = idListJSON(info) else { return envelope("", .null) }
        o["recentChanges"] = .array(changes.map {
            ["id": .string($0.id), "op": .string($0.op == "+" ? "add" : "remove"), "time": .int($0.time), "source": .string($0.source)]
        })
        return envelope("ID list read successfully.", .object(o))
    }

    static let maxIDsPerChange = 100_000

    private func changeIDs(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let name = try c.parameters.require("name")
        let b = try await body.object(r)
        func ids(_ key: String) throws -> [String] {
            guard let v = b[key], !v.isNull else { return [] }
            guard let list = v.arrayValue else { throw APIError.badRequest("\(key) must be a list of IDs") }
            return try list.enumerated().map { i, id in
                switch id {
                case .string(let s) where !s.isEmpty && s.count <= 256: return s
                case .int(let n): return String(n)
                default: throw APIError.badRequest("\(key)[\(i)] must be a non-empty string of at most 256 characters")
                }
            }
        }
        let add = try ids("add")
        let remove = try ids("remove")
        guard add.count + remove.count <= Self.maxIDsPerChange else {
            throw APIError(.contentTooLarge, "at most \(Self.maxIDsPerChange) IDs per request")
        }
        let now = Clock.nowMs()
        let (added, removed) = try await store.changeIDList(
            project: c.project, name: name, add: add, remove: remove, source: "console", now: now,
            audit: AuditEntry(time: now, actor: actor(c), action: "ids_changed", kind: "id_list", name: name,
                              after: ["added": .int(Int64(add.count)), "removed": .int(Int64(remove.count))],
                              description: "ID list \(name): \(add.count) added, \(remove.count) removed"))
        cache.invalidate(project: c.project)
        let info = try await store.idList(project: c.project, name: name)
        return envelope("ID list updated.", [
            "added": .int(Int64(added)), "removed": .int(Int64(removed)), "count": .int(Int64(info?.count ?? 0)),
        ])
    }

    private func createKey(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let b = try await body.object(r)
        guard let kindName = b["kind"]?.stringValue ?? b["type"]?.stringValue, let kind = KeyKind(rawValue: kindName) else {
            throw APIError.badRequest("kind is required: server, client or console")
        }
        let environment = b["environment"]?.stringValue
        if let environment, !(try await store.environments(project: c.project)).contains(environment) {
            throw APIError.badRequest("unknown environment '\(environment)'")
        }
        let allowedOrigins = try CORSPolicy.origins(b["allowedOrigins"], kind: kind)
        let issued = try await store.createKey(
            project: c.project, kind: kind, environment: environment,
            description: b["description"]?.stringValue ?? "", allowedOrigins: allowedOrigins, now: Clock.nowMs(), actor: actor(c))
        guard case .object(var o) = keyJSON(issued.key) else { return envelope("", .null) }
        o["key"] = .string(issued.secret)
        return envelope("Key created. It is shown only this once.", .object(o), status: .created)
    }

    // MARK: - Explorer and audit log

    private func events(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        var q = EventQuery()
        q.eventName = r.query("eventName").flatMap { $0.isEmpty ? nil : $0 }
        if let m = r.query("match") {
            guard let match = EventNameMatch(rawValue: m) else {
                throw APIError.badRequest("match must be one of \(EventNameMatch.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(m.prefix(40))')")
            }
            q.eventNameMatch = match
        }
        q.userID = r.query("userID").flatMap { $0.isEmpty ? nil : $0 }
        q.source = r.query("source").flatMap { $0.isEmpty ? nil : $0 }
        q.since = try r.timeQuery("since")
        q.until = try r.timeQuery("until")
        if r.query("limit") != nil { q.limit = try limitQuery(r, default: 100) }
        if let cur = r.query("cursor"), !cur.isEmpty {
            guard let cursor = EventCursor(token: cur) else { throw APIError.badRequest("cursor is not one this API returned") }
            q.cursor = cursor
        }
        let page = try await store.events(project: c.project, query: q)
        return jsonResponse([
            "message": "Events listed successfully.",
            "data": .array(page.events.map(eventJSON)),
            "nextCursor": page.nextCursor.map { .string($0.token) } ?? .null,
        ])
    }

    private func auditLogs(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        var q = AuditQuery()
        q.kind = r.nonEmptyQuery("kind")
        q.name = r.nonEmptyQuery("name")
        q.actor = r.nonEmptyQuery("actor")
        q.action = r.nonEmptyQuery("action")
        q.since = try r.timeQuery("since")
        q.until = try r.timeQuery("until")
        q.limit = try limitQuery(r, default: 100)
        if let b = r.query("before") {
            guard let id = Int64(b) else { throw APIError.badRequest("before must be an audit log id (a whole number)") }
            q.beforeID = id
        }
        let entries = try await store.auditLog(project: c.project, query: q)
        return envelope("Audit logs listed successfully.", .array(entries.map(auditJSON)))
    }
}

// MARK: - JSON shapes

func envelope(_ message: String, _ data: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    jsonResponse(["message": .string(message), "data": data], status: status)
}

/// A path parameter, percent-decoded (metric names carry spaces and colons).
func pathParameter(_ c: VaneRequestContext, _ name: String) throws -> String {
    let raw = try c.parameters.require(name)
    return raw.removingPercentEncoding ?? raw
}

func actor(_ c: VaneRequestContext) -> String {
    if let user = c.session?.user { return user.email }
    guard let key = c.key else { return "system" }
    return "console key \(key.displayPrefix)…"
}

func idListJSON(_ i: IDListInfo) -> JSONValue {
    [
        "name": .string(i.name), "count": .int(Int64(i.count)), "fileSize": .int(Int64(i.fileSize)),
        "fileID": .string(i.fileID), "creationTime": .int(i.creationTime), "lastModifiedTime": .int(i.updatedAt),
    ]
}

func keyJSON(_ k: APIKey) -> JSONValue {
    [
        "id": .string(k.id), "kind": .string(k.kind.rawValue), "prefix": .string(k.displayPrefix),
        "environment": k.environment.map { .string($0) } ?? .null, "description": .string(k.description),
        "createdTime": .int(k.createdAt), "revokedTime": k.revokedAt.map { .int($0) } ?? .null,
        "allowedOrigins": k.allowedOrigins.map { .array($0.map { .string($0) }) } ?? .null,
    ]
}

func eventJSON(_ e: EventRecord) -> JSONValue { eventJSON(e, includeRaw: true) }

func eventJSON(_ e: EventRecord, includeRaw: Bool) -> JSONValue {
    var o: [String: JSONValue] = [
        "id": e.id.map { .int($0) } ?? .null, "eventName": .string(e.eventName), "user": e.user,
        "userID": e.userID.map { .string($0) } ?? .null, "environment": e.environment.map { .string($0) } ?? .null,
        "value": e.value ?? .null, "metadata": e.metadata ?? .null, "secondaryExposures": e.secondaryExposures ?? .null,
        "time": .int(e.time), "receivedAt": .int(e.receivedAt), "source": .string(e.source.rawValue),
        "sdkType": e.sdkType.map { .string($0) } ?? .null,
    ]
    if includeRaw, let raw = e.raw { o["raw"] = raw }
    return .object(o)
}

func auditJSON(_ a: AuditEntry) -> JSONValue {
    [
        "id": a.id.map { .int($0) } ?? .null, "time": .int(a.time), "actor": .string(a.actor), "action": .string(a.action),
        "kind": .string(a.kind), "name": .string(a.name), "environment": a.environment.map { .string($0) } ?? .null,
        "before": a.before ?? .null, "after": a.after ?? .null, "description": .string(a.description),
        "changes": .array(JSONDiff.changes(a.before, a.after).map {
            ["path": .string($0.path), "before": $0.before ?? .null, "after": $0.after ?? .null]
        }),
    ]
}
