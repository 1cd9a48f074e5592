import Hummingbird
import VaneCore
import VaneStore

/// Statsig parameter stores over the console API: list, create, read, replace, patch, delete.
/// Changes are audited and reach SDKs through DCS v2 `param_stores` and `/v1/initialize`.
struct ParameterStoreController: Sendable {
    let store: any VaneStore
    let cache: ConfigCache
    let body: BodyReader
    let resolver: KeyResolver

    func register(on router: Router<VaneRequestContext>) {
        let api = router.consoleAPI(resolver, .editors)
        api.get("parameter_stores") { _, c in
            envelope("Parameter stores listed successfully.", .array(try await store.parameterStores(project: c.project).map { $0.toJSON() }))
        }
        api.post("parameter_stores") { r, c in try await save(r, c, name: nil, merge: false) }
        api.get("parameter_stores/{name}") { _, c in
            envelope("Parameter store read successfully.", try await existing(c.project, try pathParameter(c, "name")).toJSON())
        }
        api.put("parameter_stores/{name}") { r, c in try await save(r, c, name: try pathParameter(c, "name"), merge: false) }
        api.patch("parameter_stores/{name}") { r, c in try await save(r, c, name: try pathParameter(c, "name"), merge: true) }
        api.delete("parameter_stores/{name}") { _, c in
            let name = try pathParameter(c, "name")
            guard try await store.deleteParameterStore(project: c.project, name: name, audit: AuditEntry(
                time: Clock.nowMs(), actor: actor(c), action: "deleted", kind: "parameter_store", name: name,
                description: "Parameter store \(name) deleted"))
            else { throw APIError.notFound("no parameter store named '\(name)'") }
            cache.invalidate(project: c.project)
            return envelope("Parameter store deleted successfully.", .null)
        }
    }

    private func existing(_ project: String, _ name: String) async throws -> ParameterStore {
        guard let s = try await store.parameterStores(project: project).first(where: { $0.name == name }) else {
            throw APIError.notFound("no parameter store named '\(name)'")
        }
        return s
    }

    /// POST creates (name in the body); PUT replaces; PATCH replaces the fields given and merges
    /// `parameters` by name (a parameter set to null is removed).
    private func save(_ r: Request, _ c: VaneRequestContext, name: String?, merge: Bool) async throws -> Response {
        let b = try await body.object(r)
        let storeName = name ?? b["name"]?.stringValue ?? ""
        try Validation.checkName(storeName)
        var parameters = b["parameters"]
        var description = b["description"]?.stringValue
        var before: ParameterStore?
        if name != nil { before = try? await existing(c.project, storeName) }
        if merge {
            guard let current = before else { throw APIError.notFound("no parameter store named '\(storeName)'") }
            var merged = current.parameters
            for (k, v) in b["parameters"]?.objectValue ?? [:] {
                if v.isNull { merged.removeValue(forKey: k) } else { merged[k] = v }
            }
            parameters = .object(merged)
            description = description ?? current.description
        }
        let definition = ParameterStore(
            name: storeName, description: description ?? "", parameters: try ParameterStore.validatedParameters(parameters))
        let saved = try await store.saveParameterStore(
            project: c.project, definition, mustBeNew: name == nil,
            audit: AuditEntry(
                time: Clock.nowMs(), actor: actor(c), action: before == nil ? "created" : "updated", kind: "parameter_store",
                name: storeName, before: before?.toJSON(), after: definition.toJSON(),
                description: "Parameter store \(storeName) \(before == nil ? "created" : "updated")"))
        cache.invalidate(project: c.project)
        return envelope("Parameter store saved successfully.", saved.toJSON(), status: name == nil ? .created : .ok)
    }
}
