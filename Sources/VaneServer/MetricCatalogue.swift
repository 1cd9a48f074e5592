import VaneCore
import VanePulse

/// What `GET /console/v1/metrics` lists and the metrics page shows: the automatic metrics of every
/// event name the rollups have seen, then the defined metrics.
struct MetricListing: Sendable, Encodable {
    struct Automatic: Sendable {
        var type: String
        var event: String
        var events: Int
        var firstSeen: String
        var lastSeen: String
    }

    var name: String
    var automatic: Automatic?
    var definition: MetricDefinition?

    var type: String { automatic?.type ?? definition?.type.rawValue ?? "" }
    var event: String? { automatic?.event ?? definition?.event }

    enum Keys: String, CodingKey { case name, type, event, automatic, events, firstSeen, lastSeen }

    func encode(to encoder: any Encoder) throws {
        if let definition {
            // A defined metric as it is saved, marked as not automatic.
            try definition.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(false, forKey: .automatic)
            return
        }
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(name, forKey: .name)
        try c.encode(type, forKey: .type)
        try c.encodeIfPresent(automatic?.event, forKey: .event)
        try c.encode(true, forKey: .automatic)
        try c.encodeIfPresent(automatic?.events, forKey: .events)
        try c.encodeIfPresent(automatic?.firstSeen, forKey: .firstSeen)
        try c.encodeIfPresent(automatic?.lastSeen, forKey: .lastSeen)
    }
}

/// A metric's events, distinct units and value sum per UTC day (`GET …/metrics/{name}/series`).
struct MetricSeries: Sendable, Encodable {
    struct Day: Sendable, Encodable {
        var day: String
        var events: Int
        var units: Int
        var sum: Double
    }

    var metric: String
    var type: String
    /// The metric's own source's days (a ratio: its numerator's).
    var days: [Day]
    var numerator: [Day]?
    var denominator: [Day]?
}
