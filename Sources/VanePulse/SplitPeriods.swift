import VaneCore
import VaneStats

/// The sample-ratio check of an experiment whose split changed while it ran: one check per
/// analysis period, each against the sizes in force then. Units are counted by the day of their
/// first exposure; the day of each change is left out, because units first exposed that day may
/// have seen either split.
public struct SRMPeriod: Sendable, Encodable {
    public var since: Int64
    /// nil: the current period.
    public var until: Int64?
    /// Group name → configured size in this period.
    public var weights: [String: Double]
    /// Group name → units first exposed in this period.
    public var units: [String: Int]
    public var srm: SRMResult?

    enum Keys: String, CodingKey { case since, until, weights, units, srm }

    /// `until` and `srm` are written as null, not left out, so a reader finds every field.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(since, forKey: .since)
        try c.encode(until, forKey: .until)
        try c.encode(weights, forKey: .weights)
        try c.encode(units, forKey: .units)
        try c.encode(srm, forKey: .srm)
    }

    public static func periods(
        history: [SplitPeriod], arms: [(arm: String, name: String, weight: Double?)], exposureDays: [Int64: [String: Int]]
    ) -> [SRMPeriod] {
        history.indices.map { i in
            let first = i == 0 ? Int64.min : PulseDay.of(history[i].since).saturatingAdd(1)
            let last = i + 1 < history.count ? PulseDay.of(history[i + 1].since).saturatingSubtract(1) : Int64.max
            var units: [String: Int] = [:]
            for (day, byArm) in exposureDays where day >= first && day <= last {
                for a in arms { units[a.name, default: 0] += byArm[a.arm] ?? 0 }
            }
            let observed = arms.map { units[$0.name] ?? 0 }
            let weights = arms.map { history[i].sizes[$0.name] ?? 0 }
            let testable = observed.reduce(0, +) > 0 && weights.allSatisfy { $0 > 0 }
            return SRMPeriod(
                since: history[i].since, until: i + 1 < history.count ? history[i + 1].since : nil,
                weights: history[i].sizes, units: Dictionary(uniqueKeysWithValues: arms.map { ($0.name, units[$0.name] ?? 0) }),
                srm: testable ? SampleRatioMismatch.test(observed: observed, weights: weights) : nil)
        }
    }
}
