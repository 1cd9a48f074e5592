/// What the console edits: gates, dynamic configs, experiments, layers and segments, in shapes
/// that follow Statsig's Console API. `SpecCompiler` turns them into the SDK rules format.
public enum EntityKind: String, Codable, Sendable, CaseIterable {
    case gate
    case dynamicConfig = "dynamic_config"
    case experiment
    case layer
    case segment
    /// A share of units held out of the gates and experiments attached to it (`Entity.holdouts`):
    /// they get the defaults there. Served to SDKs as a gate with `entity: "holdout"`.
    case holdout

    /// The path segment under /console/v1/.
    public var collection: String {
        switch self {
        case .gate: return "gates"
        case .dynamicConfig: return "dynamic_configs"
        case .experiment: return "experiments"
        case .layer: return "layers"
        case .segment: return "segments"
        case .holdout: return "holdouts"
        }
    }

    public var displayName: String {
        switch self {
        case .gate: return "Gate"
        case .dynamicConfig: return "Dynamic Config"
        case .experiment: return "Experiment"
        case .layer: return "Layer"
        case .segment: return "Segment"
        case .holdout: return "Holdout"
        }
    }
}

public struct EntityCondition: Codable, Sendable, Hashable {
    public var type: String
    public var `operator`: String?
    public var targetValue: JSONValue?
    public var field: String?
    /// The unit the condition reads (Statsig's console calls it customID); defaults to the entity's idType.
    public var idType: String?
    public var additionalValues: [String: JSONValue]?

    public init(
        type: String, operator: String? = nil, targetValue: JSONValue? = nil, field: String? = nil,
        idType: String? = nil, additionalValues: [String: JSONValue]? = nil
    ) {
        self.type = type
        self.operator = `operator`
        self.targetValue = targetValue
        self.field = field
        self.idType = idType
        self.additionalValues = additionalValues
    }

    enum CodingKeys: String, CodingKey { case type, `operator`, targetValue, field, idType, customID, additionalValues }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        `operator` = try c.decodeIfPresent(String.self, forKey: .operator)
        targetValue = try c.decodeIfPresent(JSONValue.self, forKey: .targetValue)
        field = try c.decodeIfPresent(String.self, forKey: .field)
        idType = try c.decodeIfPresent(String.self, forKey: .idType) ?? c.decodeIfPresent(String.self, forKey: .customID)
        additionalValues = try c.decodeIfPresent([String: JSONValue].self, forKey: .additionalValues)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encodeIfPresent(`operator`, forKey: .operator)
        try c.encodeIfPresent(targetValue, forKey: .targetValue)
        try c.encodeIfPresent(field, forKey: .field)
        try c.encodeIfPresent(idType, forKey: .idType)
        try c.encodeIfPresent(additionalValues, forKey: .additionalValues)
    }
}

public struct EntityRule: Codable, Sendable, Hashable {
    public var id: String?
    public var name: String
    public var passPercentage: Double
    public var conditions: [EntityCondition]
    /// Environments the rule applies in; nil means all of them.
    public var environments: [String]?
    /// Dynamic configs: the value served when the rule passes.
    public var returnValue: JSONValue?
    public var salt: String?
    public var idType: String?
    // Kept for rule sets imported from Statsig, where experiments and layers arrive as raw rules.
    public var groupName: String?
    public var isExperimentGroup: Bool?
    public var configDelegate: String?
    /// Scheduled changes of `passPercentage` (gates and dynamic configs), oldest first.
    public var schedule: [RolloutStep]?

    public init(
        id: String? = nil, name: String, passPercentage: Double = 100, conditions: [EntityCondition],
        environments: [String]? = nil, returnValue: JSONValue? = nil, salt: String? = nil, idType: String? = nil,
        groupName: String? = nil, isExperimentGroup: Bool? = nil, configDelegate: String? = nil
    ) {
        self.id = id
        self.name = name
        self.passPercentage = passPercentage
        self.conditions = conditions
        self.environments = environments
        self.returnValue = returnValue
        self.salt = salt
        self.idType = idType
        self.groupName = groupName
        self.isExperimentGroup = isExperimentGroup
        self.configDelegate = configDelegate
    }

    enum CodingKeys: String, CodingKey {
        case id, name, passPercentage, conditions, environments, returnValue, salt, idType, groupName, isExperimentGroup
        case configDelegate, schedule
    }

    /// passPercentage defaults to 100 and conditions to none, as in Statsig's console.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? id ?? "rule"
        passPercentage = try c.decodeIfPresent(Double.self, forKey: .passPercentage) ?? 100
        conditions = try c.decodeIfPresent([EntityCondition].self, forKey: .conditions) ?? []
        environments = try c.decodeIfPresent([String].self, forKey: .environments)
        returnValue = try c.decodeIfPresent(JSONValue.self, forKey: .returnValue)
        salt = try c.decodeIfPresent(String.self, forKey: .salt)
        idType = try c.decodeIfPresent(String.self, forKey: .idType)
        groupName = try c.decodeIfPresent(String.self, forKey: .groupName)
        isExperimentGroup = try c.decodeIfPresent(Bool.self, forKey: .isExperimentGroup)
        configDelegate = try c.decodeIfPresent(String.self, forKey: .configDelegate)
        schedule = try c.decodeIfPresent([RolloutStep].self, forKey: .schedule)
    }
}

/// One step of a scheduled rollout: at `time` (ms since the epoch) the rule's pass percentage
/// becomes `passPercentage`. `appliedAt` is set by the server when it made the change.
public struct RolloutStep: Codable, Sendable, Hashable {
    public var time: Int64
    public var passPercentage: Double
    public var appliedAt: Int64?

    public init(time: Int64, passPercentage: Double, appliedAt: Int64? = nil) {
        self.time = time
        self.passPercentage = passPercentage
        self.appliedAt = appliedAt
    }
}

/// Group sizes (by group name, in percent) in force from `since` (epoch ms) until the next period.
public struct SplitPeriod: Codable, Sendable, Hashable {
    public var since: Int64
    public var sizes: [String: Double]

    public init(since: Int64, sizes: [String: Double]) {
        self.since = since
        self.sizes = sizes
    }
}

/// A metric that must not get worse: which direction is harm, and how much relative change is tolerated.
public struct Guardrail: Codable, Sendable, Hashable {
    public enum Direction: String, Codable, Sendable, CaseIterable {
        /// A drop is harm (purchases, retention).
        case decrease
        /// A rise is harm (errors, latency, cancellations).
        case increase
    }
    /// A metric id as the results name it: `count:checkout_error`, `conversion:purchase`, or a defined metric's name.
    public var metric: String
    public var harmfulDirection: Direction
    /// Relative change tolerated before acting: 0.02 is 2 % (0 to 1).
    public var tolerance: Double

    public init(metric: String, harmfulDirection: Direction, tolerance: Double = 0) {
        self.metric = metric
        self.harmfulDirection = harmfulDirection
        self.tolerance = tolerance
    }

    enum CodingKeys: String, CodingKey { case metric, harmfulDirection, tolerance }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        metric = try c.decode(String.self, forKey: .metric)
        harmfulDirection = try c.decode(Direction.self, forKey: .harmfulDirection)
        tolerance = try c.decodeIfPresent(Double.self, forKey: .tolerance) ?? 0
    }
}

public struct ExperimentGroup: Codable, Sendable, Hashable {
    public var id: String?
    public var name: String
    /// Share of the experiment's traffic, in percent.
    public var size: Double
    public var parameterValues: [String: JSONValue]

    public init(id: String? = nil, name: String, size: Double, parameterValues: [String: JSONValue] = [:]) {
        self.id = id
        self.name = name
        self.size = size
        self.parameterValues = parameterValues
    }

    enum CodingKeys: String, CodingKey { case id, name, size, parameterValues }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decodeIfPresent(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        size = try c.decode(Double.self, forKey: .size)
        parameterValues = try c.decodeIfPresent([String: JSONValue].self, forKey: .parameterValues) ?? [:]
    }
}

public enum ExperimentStatus: String, Codable, Sendable {
    case setup, active
    case decisionMade = "decision_made"
    case abandoned
}

public struct Entity: Codable, Sendable, Hashable {
    public var kind: EntityKind
    public var name: String
    public var description: String?
    public var isEnabled: Bool?
    public var idType: String?
    public var salt: String?
    public var rules: [EntityRule]?
    public var defaultValue: JSONValue?
    public var tags: [String]?

    // Experiments
    public var groups: [ExperimentGroup]?
    /// Percent of eligible units in the experiment (of the layer's units when in a layer).
    public var allocation: Double?
    public var targetingGate: String?
    public var layer: String?
    public var status: ExperimentStatus?
    public var launchedGroup: String?
    public var layerBuckets: [Int]?
    public var hypothesis: String?
    public var startTime: Int64?
    public var endTime: Int64?
    /// Results count a unit's events only within this many days of its first exposure (nil: no limit).
    public var analysisWindowDays: Int?

    /// Gates and experiments: the holdouts they are attached to. Units a holdout holds out fail the
    /// gate and get the experiment's default values, by a `pass_gate` rule on the holdout ahead of
    /// the entity's own rules.
    public var holdouts: [String]?

    /// A running experiment's splits over time, kept by the server: each change of group sizes
    /// while it runs starts a new analysis period (its sample-ratio check uses that period's sizes).
    public var splitHistory: [SplitPeriod]?

    /// Gates and experiments: metrics watched while the rollout or experiment runs. When one is
    /// harmed beyond its tolerance with confidence, Vane rolls the gate back or stops the
    /// experiment on its control (`GuardrailWatch`).
    public var guardrails: [Guardrail]?

    /// Experiments: the metrics the experiment is run to move, in the order they matter. Results
    /// list them first, then guardrails, then every other metric.
    public var primaryMetrics: [String]?

    // Segments
    /// "rule_based" or "id_list".
    public var segmentType: String?
    public var idList: String?

    // Preserved from imports
    public var isActive: Bool?
    public var hasSharedParams: Bool?
    public var explicitParameters: [String]?
    public var imported: Bool?

    public var createdTime: Int64?
    public var lastModifiedTime: Int64?
    public var lastModifierName: String?
    public var version: Int64?

    public init(kind: EntityKind, name: String) {
        self.kind = kind
        self.name = name
    }

    public var effectiveIdType: String { idType ?? "userID" }
}
