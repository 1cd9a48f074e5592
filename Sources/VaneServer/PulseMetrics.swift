import Hummingbird
import VaneCore
import VaneStats
import VanePulse
import VaneStore

/// User-defined metrics, one row each in the store (every change audited with it).
struct MetricStore: Sendable {
    let store: any MetricRepository

    func all(_ project: String) async throws -> [String: MetricDefinition] {
        try await store.metricDefinitions(project: project).mapValues { try decodeValue(MetricDefinition.self, $0) }
    }

    /// The definition of a metric id: a user metric or an automatic one.
    func resolve(_ project: String, _ id: String) async throws -> MetricDefinition? {
        MetricDefinition.named(id, in: try await all(project))
    }
}

extension ConsoleController {
    /// POST creates (`name` == nil), PUT/PATCH replace or update the named metric.
    func saveMetric(_ r: Request, _ c: VaneRequestContext, name: String?) async throws -> Response {
        var b = try await body.object(r)
        if let name {
            guard !name.contains(":") else { throw APIError.badRequest("automatic metrics (\(name)) cannot be edited") }
            b["name"] = .string(name)
        }
        if let t = b["type"]?.stringValue, MetricDefinition.MetricType(rawValue: t) == nil {
            throw APIError.badRequest("type must be one of \(MetricDefinition.MetricType.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(t)')")
        }
        for (i, f) in (b["filters"]?.arrayValue ?? []).enumerated() {
            if let op = f["op"]?.stringValue, MetadataFilter.Op(rawValue: op) == nil {
                throw APIError.badRequest("filters[\(i)].op must be one of \(MetadataFilter.Op.allCases.map(\.rawValue).joined(separator: ", ")) (got '\(op)')")
            }
        }
        let all = try await MetricStore(store: store).all(c.project)
        let before = name.flatMap { all[$0] }
        if name != nil && before == nil && r.method == .patch { throw APIError.notFound("no metric named '\(name!)'") }
        if r.method == .patch, let before, case .object(var merged) = encodeToJSON(before) {
            for (k, v) in b { merged[k] = v }
            b = merged
        }
        var m = try decodeValue(MetricDefinition.self, .object(b))
        if name == nil, all[m.name] != nil { throw APIError(.conflict, "a metric named '\(m.name)' already exists") }
        try m.validate(existing: all)
        let now = Clock.nowMs()
        m.createdTime = before?.createdTime ?? now
        m.lastModifiedTime = now
        try await store.putMetric(project: c.project, name: m.name, definition: encodeToJSON(m), create: name == nil, audit: AuditEntry(
            time: now, actor: actor(c), action: before == nil ? "created" : "updated", kind: "metric", name: m.name,
            before: before.map { encodeToJSON($0) }, after: encodeToJSON(m),
            description: "Metric \(m.name) \(before == nil ? "created" : "updated")"))
        return envelope(before == nil ? "Metric created successfully." : "Metric updated successfully.", encodeToJSON(m),
                        status: before == nil ? .created : .ok)
    }

    func deleteMetric(_ c: VaneRequestContext) async throws -> Response {
        let name = try pathParameter(c, "name")
        let all = try await MetricStore(store: store).all(c.project)
        guard let before = all[name] else { throw APIError.notFound("no metric named '\(name)'") }
        if let user = all.values.first(where: { $0.numerator == name || $0.denominator == name }) {
            throw APIError(.conflict, "metric '\(name)' is used by ratio metric '\(user.name)'")
        }
        let deleted = try await store.deleteMetric(project: c.project, name: name, audit: AuditEntry(
            time: Clock.nowMs(), actor: actor(c), action: "deleted", kind: "metric", name: name,
            before: encodeToJSON(before), description: "Metric \(name) deleted"))
        guard deleted else { throw APIError.notFound("no metric named '\(name)'") }
        return envelope("Metric deleted successfully.", .null)
    }
}
