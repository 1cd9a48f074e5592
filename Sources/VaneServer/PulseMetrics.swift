import Hummingbird
import VaneCore
import VaneStats
import VaneStore

/// A metric: automatic (`count:<event>`, `conversion:<event>` for every event name seen) or
/// defined by a user through `/console/v1/metrics`.
struct MetricDefinition: Codable, Sendable, Hashable {
    enum MetricType: String, Codable, Sendable, CaseIterable {
        /// Events per unit.
        case count
        /// Whether the unit logged the event at least once.
        case conversion
        /// Sum of the events' values per unit.
        case sum
        /// Value per event: Σ value / Σ events over the group's units (a ratio, delta method).
        case mean
        /// Σ numerator / Σ denominator over the group's units (delta method); both count or sum metrics.
        case ratio
    }

    var name: String
    var type: MetricType
    var event: String?
    var filters: [MetadataFilter]?
    var numerator: String?
    var denominator: String?
    var description: String?
    var createdTime: Int64?
    var lastModifiedTime: Int64?

    var isAutomatic: Bool { name.contains(":") }

    /// The rollup source this metric reads (user metrics with filters have their own).
    var source: String? {
        guard let event else { return nil }
        return (filters ?? []).isEmpty ? event : "filtered:" + name
    }

    var pulseSource: PulseSource? {
        guard let event, let filters, !filters.isEmpty else { return nil }
        return PulseSource(key: "filtered:" + name, event: event, filters: filters)
    }

    /// The automatic metric with this id, if it is one (`count:E`, `conversion:E`).
    /// `count:E` and `conversion:E` for every event; `sum:E` (value per unit) and `mean:E` (value
    /// per event) for events that carry a value (SDK `value`, Segment `value` or `revenue`).
    static func automatic(_ id: String) -> MetricDefinition? {
        for type in [MetricType.count, .conversion, .sum, .mean] where id.hasPrefix(type.rawValue + ":") {
            let event = String(id.dropFirst(type.rawValue.count + 1))
            guard !event.isEmpty else { return nil }
            return MetricDefinition(name: id, type: type, event: event)
        }
        return nil
    }

    /// A metric id among the user metrics, or an automatic one.
    static func named(_ id: String?, in userMetrics: [String: MetricDefinition]) -> MetricDefinition? {
        guard let id else { return nil }
        return userMetrics[id] ?? automatic(id)
    }

    func validate(existing: [String: MetricDefinition]) throws {
        guard !name.isEmpty, name.count <= 100 else { throw ValidationError("name must be 1 to 100 characters") }
        guard !name.contains(":"), !name.contains("/") else {
            throw ValidationError("name must not contain ':' or '/' (names with ':' are the automatic metrics, like count:purchase or sum:purchase)")
        }
        switch type {
        case .count, .conversion, .sum, .mean:
            guard let event, !event.isEmpty else { throw ValidationError("event is required for a \(type.rawValue) metric") }
            guard numerator == nil, denominator == nil else {
                throw ValidationError("numerator and denominator are only for ratio metrics")
            }
        case .ratio:
            guard event == nil, (filters ?? []).isEmpty else {
                throw ValidationError("a ratio metric takes numerator and denominator metrics, not an event or filters")
            }
            for (field, ref) in [("numerator", numerator), ("denominator", denominator)] {
                guard let ref, !ref.isEmpty else { throw ValidationError("\(field) is required for a ratio metric") }
                guard let m = Self.named(ref, in: existing) else {
                    throw ValidationError("\(field): no metric named '\(ref)'")
                }
                guard m.type == .count || m.type == .sum else {
                    throw ValidationError("\(field): '\(ref)' is a \(m.type.rawValue) metric; ratios take count or sum metrics")
                }
            }
        }
        for (i, f) in (filters ?? []).enumerated() {
            guard !f.key.isEmpty else { throw ValidationError("filters[\(i)].key must not be empty") }
            guard !f.values.isEmpty else { throw ValidationError("filters[\(i)].values must not be empty") }
            if (f.op == .eq || f.op == .neq) && f.values.count != 1 {
                throw ValidationError("filters[\(i)]: \(f.op.rawValue) takes exactly one value (use in / not_in for several)")
            }
        }
    }
}

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
