import VaneCore
import VaneStats

/// An experiment's or gate rollout's results: what `GET …/results` returns (its JSON shape is this
/// type's encoding) and what the results page shows.
public struct PulseResults: Sendable, Encodable {
    public struct Group: Sendable, Encodable {
        public var name: String
        public var units: Int
        /// The configured share, when known (a gate with several partial rules has none).
        public var weight: Double?

        public init(name: String, units: Int, weight: Double?) {
            (self.name, self.units, self.weight) = (name, units, weight)
        }

        enum Keys: String, CodingKey { case name, units, weight }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(name, forKey: .name)
            try c.encode(units, forKey: .units)
            try c.encode(weight, forKey: .weight)  // null when unknown
        }
    }

    /// One treatment group against control: the effect's fields, with the group's name.
    public struct Comparison: Sendable, Encodable {
        public var group: String
        public var effect: EffectResult

        public init(group: String, effect: EffectResult) { (self.group, self.effect) = (group, effect) }

        enum Keys: String, CodingKey { case group, isSignificant }

        public func encode(to encoder: any Encoder) throws {
            try effect.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(group, forKey: .group)
            try c.encode(effect.isSignificant, forKey: .isSignificant)
        }
    }

    public struct Metric: Sendable, Encodable {
        public var metric: String
        public var type: MetricDefinition.MetricType
        public var kind: MetricKind
        public var event: String?
        public var description: String?
        /// Set when the metric is one of the subject's guardrails (listed after the primary metrics).
        public var guardrail: Guardrail?
        /// One of the experiment's primary metrics (listed first, in their chosen order).
        public var primary = false
        public var comparisons: [Comparison]

        public init(_ definition: MetricDefinition, kind: MetricKind, comparisons: [Comparison]) {
            metric = definition.name
            type = definition.type
            self.kind = kind
            event = definition.event
            description = definition.description
            self.comparisons = comparisons
        }
    }

    /// How far the rollups are, and how many events they could not use.
    public struct Rollup: Sendable, Encodable {
        public var eventsBehind: Int
        public var cursor: Int64
        public var eventsSetAside: Int
        public var setAsideReasons: [String: Int]

        public init(eventsBehind: Int, cursor: Int64, setAsideReasons: [String: Int]) {
            self.eventsBehind = eventsBehind
            self.cursor = cursor
            self.setAsideReasons = setAsideReasons
            eventsSetAside = setAsideReasons.values.reduce(0, +)
        }
    }

    /// Results split by one drill-down field (`?dimension=`): each slice analysed on its own, and
    /// per metric and treatment a test of whether the effect differs across slices.
    public struct DrillDown: Sendable, Encodable {
        public struct Slice: Sendable, Encodable {
            public var value: String
            public var groups: [Group]
            public var srm: SRMResult?
            public var metrics: [Metric]

            public init(value: String, groups: [Group], srm: SRMResult?, metrics: [Metric]) {
                (self.value, self.groups, self.srm, self.metrics) = (value, groups, srm, metrics)
            }
        }

        public struct Interaction: Sendable, Encodable {
            public var metric: String
            public var group: String
            /// Cochran's Q over the slices' absolute effects; nil with fewer than two estimable slices.
            public var test: Heterogeneity.Result?
            /// p < alpha: the effect differs across the slices.
            public var heterogeneous: Bool

            public init(metric: String, group: String, test: Heterogeneity.Result?, heterogeneous: Bool) {
                (self.metric, self.group, self.test, self.heterogeneous) = (metric, group, test, heterogeneous)
            }

            enum Keys: String, CodingKey { case metric, group, test, heterogeneous }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(metric, forKey: .metric)
                try c.encode(group, forKey: .group)
                try c.encode(test, forKey: .test)  // null when there is no test
                try c.encode(heterogeneous, forKey: .heterogeneous)
            }
        }

        public var dimension: String
        /// Values beyond the `sliceLimit` largest (by units) are pooled as `other`; units without the
        /// field are the slice `(none)`.
        public var sliceLimit: Int
        public var slices: [Slice]
        public var interactions: [Interaction]
        public var notes: [String]

        public static let other = "other"
        public static let missing = "(none)"

        public init(dimension: String, sliceLimit: Int, slices: [Slice], interactions: [Interaction], notes: [String]) {
            (self.dimension, self.sliceLimit, self.slices, self.interactions, self.notes) = (dimension, sliceLimit, slices, interactions, notes)
        }
    }

    public var subject: PulseSubject
    public var computedAt: Int64
    public var groups: [Group]
    /// Units exposed to more than one group, left out.
    public var crossovers: Int
    /// Sample ratio mismatch, when every group has a configured weight and there are units.
    public var srm: SRMResult?
    /// When the split changed while the experiment ran: the check of each analysis period (`srm`
    /// is then the current period's).
    public var srmPeriods: [SRMPeriod]?
    /// Day label → group name → first exposures that day.
    public var exposuresPerDay: [String: [String: Int]]
    public var options: PulseAnalysisOptions
    public var rollup: Rollup
    public var metrics: [Metric]
    /// The experiment's primary metrics as chosen, including any without data yet.
    public var primaryMetrics: [String] = []
    public var drillDown: DrillDown?
    /// The time range asked for: the units first exposed from `from` on, their data through `to`.
    public var range: PulseTimeRange?
    /// Each asked-for metric's relative effect as it stood at the end of each day (`PulseTimeline`).
    public var cumulative: [Cumulative]?

    /// One metric's effect for one treatment group, day by day.
    public struct Cumulative: Sendable, Encodable {
        public struct Point: Sendable, Encodable {
            /// UTC date: the data through the end of it.
            public var day: String
            /// Units per group (control first) exposed by then.
            public var units: [Int]
            /// nil while there are too few units for an interval.
            public var relative: Estimate?

            public init(day: String, units: [Int], relative: Estimate?) {
                (self.day, self.units, self.relative) = (day, units, relative)
            }

            enum Keys: String, CodingKey { case day, units, relative }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Keys.self)
                try c.encode(day, forKey: .day)
                try c.encode(units, forKey: .units)
                try c.encode(relative, forKey: .relative)  // null until there is an interval
            }
        }

        public var metric: String
        public var group: String
        public var points: [Point]

        public init(metric: String, group: String, points: [Point]) {
            (self.metric, self.group, self.points) = (metric, group, points)
        }
    }

    public init(
        subject: PulseSubject, computedAt: Int64, groups: [Group], crossovers: Int, srm: SRMResult?,
        exposuresPerDay: [String: [String: Int]], options: PulseAnalysisOptions, rollup: Rollup, metrics: [Metric]
    ) {
        self.subject = subject
        self.computedAt = computedAt
        self.groups = groups
        self.crossovers = crossovers
        self.srm = srm
        self.exposuresPerDay = exposuresPerDay
        self.options = options
        self.rollup = rollup
        self.metrics = metrics
    }

    enum Keys: String, CodingKey {
        case experiment, gate, holdout, subjectKind, idType, scope, computedAt, controlGroup, groups, crossovers, srm, srmPeriods, exposuresPerDay
        case options, rollup, metrics, primaryMetrics, drillDown, range, cumulative
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(subject.name, forKey: subject.kind == .experiment ? .experiment : subject.kind == .gate ? .gate : .holdout)
        try c.encode(subject.kind.rawValue, forKey: .subjectKind)
        try c.encode(subject.idType, forKey: .idType)
        try c.encodeIfPresent(subject.scope, forKey: .scope)
        try c.encode(computedAt, forKey: .computedAt)
        try c.encode(subject.arms[0].name, forKey: .controlGroup)
        try c.encode(groups, forKey: .groups)
        try c.encode(crossovers, forKey: .crossovers)
        try c.encode(srm, forKey: .srm)  // null when not tested
        try c.encodeIfPresent(srmPeriods, forKey: .srmPeriods)
        try c.encode(exposuresPerDay, forKey: .exposuresPerDay)
        try c.encode(options, forKey: .options)
        try c.encode(rollup, forKey: .rollup)
        try c.encode(metrics, forKey: .metrics)
        if !primaryMetrics.isEmpty { try c.encode(primaryMetrics, forKey: .primaryMetrics) }
        try c.encodeIfPresent(drillDown, forKey: .drillDown)
        try c.encodeIfPresent(range, forKey: .range)
        try c.encodeIfPresent(cumulative, forKey: .cumulative)
    }
}

extension PulseAnalysisOptions: Encodable {
    enum Keys: String, CodingKey {
        case alpha, sequential, sequentialTuning, cuped, correction, bonferroni, engine, prior, winsorize, winsorizeQuantile
        case minUnits, minConversions
    }

    var engine: String { analysis.bayesianPrior == nil ? "frequentist" : "bayesian" }

    /// The options as results show them.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(analysis.alpha, forKey: .alpha)
        try c.encode(analysis.sequential, forKey: .sequential)
        try c.encode(analysis.sequentialTuningParameter, forKey: .sequentialTuning)
        try c.encode(analysis.cuped.enabled, forKey: .cuped)
        try c.encode(correction.rawValue, forKey: .correction)
        try c.encode(correction == .bonferroni, forKey: .bonferroni)
        try c.encode(engine, forKey: .engine)
        try c.encode(analysis.bayesianPrior, forKey: .prior)
        try c.encode(winsorize, forKey: .winsorize)
        try c.encode(Winsorization.defaultQuantile, forKey: .winsorizeQuantile)
        try c.encode(analysis.minimumSample.minUnitsPerGroup, forKey: .minUnits)
        try c.encode(analysis.minimumSample.minConversionsPerGroup, forKey: .minConversions)
    }
}
