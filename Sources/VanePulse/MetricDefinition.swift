import VaneCore

/// A metric: automatic (`count:<event>`, `conversion:<event>` for every event name seen) or
/// defined by a user through `/console/v1/metrics`.
public struct MetricDefinition: Codable, Sendable, Hashable {
    public enum MetricType: String, Codable, Sendable, CaseIterable {
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

    public var name: String
    public var type: MetricType
    public var event: String?
    public var filters: [MetadataFilter]?
    public var numerator: String?
    public var denominator: String?
    public var description: String?
    public var createdTime: Int64?
    public var lastModifiedTime: Int64?

    public init(
        name: String, type: MetricType, event: String? = nil, filters: [MetadataFilter]? = nil, numerator: String? = nil,
        denominator: String? = nil, description: String? = nil, createdTime: Int64? = nil, lastModifiedTime: Int64? = nil
    ) {
        self.name = name
        self.type = type
        self.event = event
        self.filters = filters
        self.numerator = numerator
        self.denominator = denominator
        self.description = description
        self.createdTime = createdTime
        self.lastModifiedTime = lastModifiedTime
    }

    public var isAutomatic: Bool { name.contains(":") }

    /// The rollup source this metric reads (user metrics with filters have their own).
    public var source: String? {
        guard let event else { return nil }
        return (filters ?? []).isEmpty ? event : "filtered:" + name
    }

    public var pulseSource: PulseSource? {
        guard let event, let filters, !filters.isEmpty else { return nil }
        return PulseSource(key: "filtered:" + name, event: event, filters: filters)
    }

    /// The automatic metric with this id, if it is one (`count:E`, `conversion:E`).
    /// `count:E` and `conversion:E` for every event; `sum:E` (value per unit) and `mean:E` (value
    /// per event) for events that carry a value (SDK `value`, Segment `value` or `revenue`).
    public static func automatic(_ id: String) -> MetricDefinition? {
        for type in [MetricType.count, .conversion, .sum, .mean] where id.hasPrefix(type.rawValue + ":") {
            let event = String(id.dropFirst(type.rawValue.count + 1))
            guard !event.isEmpty else { return nil }
            return MetricDefinition(name: id, type: type, event: event)
        }
        return nil
    }

    /// A metric id among the user metrics, or an automatic one.
    public static func named(_ id: String?, in userMetrics: [String: MetricDefinition]) -> MetricDefinition? {
        guard let id else { return nil }
        return userMetrics[id] ?? automatic(id)
    }

    public func validate(existing: [String: MetricDefinition]) throws {
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
