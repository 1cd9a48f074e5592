import VaneCore

/// A subject's rollups as they stood at the end of an earlier UTC day, optionally for the units
/// first exposed from a given day on: what the results page's cumulative lift and time range read.
///
/// Built from the subject's units (first exposure), their current values, and their day
/// aggregates after the day of first exposure, never from the event log. A unit's post-exposure
/// value at the end of day D is its current value less what its days after D added. That is exact
/// without an analysis window. With one, a day that holds the window's end and events on both
/// sides of it counts the in-window part by interpolating over the day's first and last event
/// (`interpolated` says whether that happened); every other day is exact. Units excluded for
/// crossing over are left out on every day, as in the current results.
public struct PulseTimeline: Sendable {
    public struct Unit: Sendable, Hashable {
        public var unit: String
        public var arm: String
        public var firstTime: Int64

        public init(unit: String, arm: String, firstTime: Int64) {
            self.unit = unit
            self.arm = arm
            self.firstTime = firstTime
        }
    }

    /// One unit's events of one source on one day after its first exposure's day.
    public struct UnitDay: Sendable, Hashable {
        public var unit: String
        public var source: String
        public var day: Int64
        public var aggregate: DayAggregate

        public init(unit: String, source: String, day: Int64, aggregate: DayAggregate) {
            self.unit = unit
            self.source = source
            self.day = day
            self.aggregate = aggregate
        }
    }

    struct Later {
        var day: Int64
        var count: Double
        var sum: Double
    }

    let units: [Unit]
    let current: [String: [String: UnitValues]]
    let later: [String: [String: [Later]]]
    public let interpolated: Bool

    /// `values`: the units' current values (`pulseUnitValues`); `days`: their day aggregates
    /// after the first exposure's day; `windowDays`: the subject's analysis window.
    public init(units: [Unit], values: [PulseUnitRow], days: [UnitDay], windowDays: Int?) {
        self.units = units
        var current: [String: [String: UnitValues]] = [:]
        for row in values { current[row.unit, default: [:]][row.source] = row.values }
        self.current = current
        let firstTimes = Dictionary(units.map { ($0.unit, $0.firstTime) }, uniquingKeysWith: min)
        var later: [String: [String: [Later]]] = [:]
        var interpolated = false
        for d in days {
            guard let first = firstTimes[d.unit], d.day > PulseDay.of(first) else { continue }
            let end = windowDays.map { first.saturatingAdd(Int64($0).saturatingMultiply(PulseDay.millis)) } ?? Int64.max
            let a = d.aggregate
            var share: Double
            if a.maxTime < end { share = 1 } else if a.minTime >= end { share = 0 } else {
                share = Double(end - a.minTime) / Double(max(1, a.maxTime - a.minTime))
                interpolated = true
            }
            share = min(1, max(0, share))
            guard share > 0 else { continue }
            later[d.unit, default: [:]][d.source, default: []].append(Later(day: d.day, count: a.count * share, sum: a.sum * share))
        }
        self.later = later
        self.interpolated = interpolated
    }

    /// The first exposure's day of the earliest unit.
    public var firstDay: Int64? { units.map { PulseDay.of($0.firstTime) }.min() }

    /// The arm data and unit rows at the end of `day`, of the units first exposed on `from` or later.
    public func asOf(day: Int64, from: Int64? = nil) -> (data: PulseArmData, rows: [PulseUnitRow]) {
        var data = PulseArmData()
        var rows: [PulseUnitRow] = []
        for u in units {
            let first = PulseDay.of(u.firstTime)
            guard first <= day, from.map({ first >= $0 }) ?? true else { continue }
            data.units[u.arm, default: 0] += 1
            data.exposureDays[first, default: [:]][u.arm, default: 0] += 1
            for (source, now) in current[u.unit] ?? [:] {
                var v = now
                for d in later[u.unit]?[source] ?? [] where d.day > day {
                    v.postCount -= d.count
                    v.postSum -= d.sum
                }
                if abs(v.postCount) < 1e-9 { v.postCount = 0 }  // interpolated shares leave dust
                guard v != UnitValues() else { continue }
                rows.append(PulseUnitRow(unit: u.unit, arm: u.arm, source: source, values: v))
                data.sums[u.arm, default: [:]][source, default: ArmSums()].add(ArmSums(unit: v))
            }
        }
        return (data, rows)
    }
}

/// A results request's time range: the units first exposed from `from` on, with their data
/// through the end of `to` (UTC dates, `YYYY-MM-DD`; either may be left out).
public struct PulseTimeRange: Sendable, Equatable, Encodable {
    public var from: String?
    public var to: String?

    /// The range a query asks for, or nil when it names neither end.
    public init?(query: [String: String]) throws {
        let from = try Self.day("from", query), to = try Self.day("to", query)
        guard from != nil || to != nil else { return nil }
        if let from, let to, from > to { throw ValidationError("from (\(PulseDay.label(from))) must not be after to (\(PulseDay.label(to)))") }
        self.from = from.map(PulseDay.label)
        self.to = to.map(PulseDay.label)
    }

    public var fromDay: Int64? { from.flatMap { ISOTime.parse($0 + "T00:00:00Z") }.map(PulseDay.of) }
    public var toDay: Int64? { to.flatMap { ISOTime.parse($0 + "T00:00:00Z") }.map(PulseDay.of) }

    /// A date field of a query as a day number; nil when absent or empty.
    public static func day(_ field: String, _ query: [String: String]) throws -> Int64? {
        guard let text = query[field], !text.isEmpty else { return nil }
        guard text.utf8.count == 10, let t = ISOTime.parse(text + "T00:00:00Z") else {
            throw ValidationError("\(field) must be a date such as 2026-12-01 (got '\(text.prefix(40))')")
        }
        return PulseDay.of(t)
    }
}
