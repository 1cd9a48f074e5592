import VaneCore
import VanePulse

/// Everything Vane persists: the repositories below, each a small protocol with a SQLite
/// (embedded) and a PostgreSQL (many nodes) implementation that pass the same contract suite.
/// Callers depend on the repository they use; every method that changes configuration writes its
/// audit entry in the same transaction.
public protocol VaneStore: ConfigRepository, EventLog, UsageRepository, OutboundRepository, PulseRepository,
    AccountRepository, SettingsRepository, MetricRepository, ParameterStoreRepository, JobLeases, ChangeFeed,
    WebhookRepository {
    /// Gives cached pages back (after a burst of traffic); the store stays usable.
    func releaseMemory()
    /// Whether other nodes may share this store (PostgreSQL): each node then watches it for their
    /// changes (`ChangeFeed`) and feeds its live stream from the event log.
    var isShared: Bool { get }
}

/// Projects, API keys, configuration entities, custom ID types, ID lists, and the audit log.
public protocol ConfigRepository: Sendable {
    /// Creates project `default` with its environments and keys when the store is empty.
    /// Returns the keys it created (to print once), or [] when the project already existed.
    func bootstrap(preset: PresetKeys, now: Int64) async throws -> [IssuedKey]
    func key(matching secret: String) async throws -> APIKey?
    func keys(project: String) async throws -> [APIKey]
    /// Issues a key; with an `actor`, the audit log records who did (in the same transaction).
    func createKey(
        project: String, kind: KeyKind, environment: String?, description: String, allowedOrigins: [String]?, now: Int64, actor: String?
    ) async throws -> IssuedKey
    func revokeKey(project: String, id: String, now: Int64, actor: String?) async throws -> Bool
    func environments(project: String) async throws -> [String]

    // Configuration entities
    func entities(project: String, kind: EntityKind?) async throws -> [Entity]
    func entity(project: String, kind: EntityKind, name: String) async throws -> Entity?
    /// Inserts or replaces; `mustBeNew` makes an existing name a conflict.
    func save(project: String, entity: Entity, mustBeNew: Bool, audit: AuditEntry) async throws
    func delete(project: String, kind: EntityKind, name: String, audit: AuditEntry) async throws -> Bool
    /// Saves several entities in one transaction (imports).
    func saveAll(project: String, entities: [Entity], audit: AuditEntry) async throws
    /// Epoch ms of the last configuration change; strictly increasing.
    func configTime(project: String) async throws -> Int64

    func customIDTypes(project: String) async throws -> [String]
    func addCustomIDType(project: String, name: String, audit: AuditEntry) async throws
    func removeCustomIDType(project: String, name: String, audit: AuditEntry) async throws -> Bool

    // ID lists
    func createIDList(project: String, name: String, now: Int64, audit: AuditEntry) async throws -> IDListInfo
    func deleteIDList(project: String, name: String, audit: AuditEntry) async throws -> Bool
    func idLists(project: String) async throws -> [IDListInfo]
    func idList(project: String, name: String) async throws -> IDListInfo?
    /// Adds and removes IDs; IDs already in (or not in) the list are no-ops. Returns the counts applied.
    func changeIDList(
        project: String, name: String, add: [String], remove: [String], source: String, now: Int64, audit: AuditEntry?
    ) async throws -> (added: Int, removed: Int)
    func recentIDListChanges(project: String, name: String, limit: Int) async throws -> [IDListChange]
    /// The list file SDKs download (`+id8\n` / `-id8\n` lines), from a byte offset.
    func idListFile(project: String, name: String, fileID: String, from offset: Int) async throws -> [UInt8]?
    /// The project and list a file ID belongs to (file URLs carry only the unguessable file ID).
    func idListFileOwner(fileID: String) async throws -> (project: String, name: String)?
    /// Hashed entries of every list, for server-side evaluation.
    func idListEntries(project: String) async throws -> [String: Set<String>]

    /// Applies Engage membership changes, last writer wins by event time, to the named ID lists.
    func applyMembership(project: String, _ changes: [MembershipChange], source: String, now: Int64) async throws -> [MembershipOutcome]

    func auditLog(project: String, query: AuditQuery) async throws -> [AuditEntry]

}

/// Per-project settings: JSON documents by name.
public protocol SettingsRepository: Sendable {
    func setting(project: String, name: String) async throws -> JSONValue?
    func putSetting(project: String, name: String, value: JSONValue, audit: AuditEntry) async throws
    func projects() async throws -> [String]

}

/// User-defined Pulse metrics, one row each (definitions as JSON), so that two nodes editing two
/// metrics at the same moment both keep their change.
public protocol MetricRepository: Sendable {
    /// Every metric definition of the project, by name.
    func metricDefinitions(project: String) async throws -> [String: JSONValue]
    /// Writes one definition and its audit entry. With `create`, a metric of that name must not
    /// exist yet (`StoreError.conflict` otherwise); without, it is created or replaced.
    func putMetric(project: String, name: String, definition: JSONValue, create: Bool, audit: AuditEntry) async throws
    /// Deletes one definition, auditing it; false (and no audit entry) when there was none.
    func deleteMetric(project: String, name: String, audit: AuditEntry) async throws -> Bool
}

/// Daily counters of what ingest accepted and dropped, by source, category and reason.
public protocol UsageRepository: Sendable {
    func addUsage(project: String, _ counts: [UsageCount]) async throws
    func usage(project: String, source: String, sinceDay: String) async throws -> [UsageCount]

}

/// The event log: every ingested event, read by the explorer, the live stream, and (by position,
/// through durable cursors) the Segment exporter and the Pulse rollup.
public protocol EventLog: Sendable {
    /// One transaction for the whole batch: the unit of group commit. Returns, per event, its id,
    /// or nil when it was not stored because its dedupe key was already seen.
    @discardableResult
    func insertEvents(_ events: [EventRecord]) async throws -> [Int64?]
    func events(project: String, query: EventQuery) async throws -> EventPage
    func eventCount(project: String) async throws -> Int
    func event(project: String, id: Int64) async throws -> EventRecord?
    /// Events since `since` (event time) per source: (events, exposures).
    func eventCountsBySource(project: String, since: Int64) async throws -> [String: (events: Int, exposures: Int)]
    /// Events after position `afterID`, in log order (see docs/event-log.md).
    func events(project: String, afterID: Int64, limit: Int) async throws -> [EventRecord]
    func countEvents(project: String, afterID: Int64) async throws -> Int
    /// Deletes, in one transaction, up to `limit` events of `project` whose event time is before
    /// `cutoff` and which every durable cursor has passed: the Pulse rollup's (none yet: nothing has
    /// passed) and, when `holdForSegmentExport`, the Segment exporter's. Returns how many it deleted.
    func pruneEvents(project: String, before cutoff: Int64, holdForSegmentExport: Bool, limit: Int) async throws -> Int

}

/// The Segment exporter's durable state: cursors into the event and audit logs, counters, dead letters.
public protocol OutboundRepository: Sendable {
    // Segment export: the event table and the audit log are the durable queue; the exporter
    // keeps cursors into them and advances them only once Segment has taken a batch.
    func auditEntries(project: String, afterID: Int64, limit: Int) async throws -> [AuditEntry]
    func lastIDs(project: String) async throws -> (event: Int64, audit: Int64)
    func outboundState(project: String) async throws -> OutboundState
    /// Saves progress and any new dead letters in one transaction.
    func saveOutbound(project: String, state: OutboundState, newDeadLetters: [DeadLetter], resolvedDeadLetters: [Int64]) async throws
    func deadLetters(project: String, retryRequestedOnly: Bool, limit: Int) async throws -> [DeadLetter]
    func deadLetterCounts(project: String) async throws -> [String: Int]
    /// Marks dead letters (all when `ids` is nil) to be sent again; returns how many.
    func requestDeadLetterRetry(project: String, ids: [Int64]?) async throws -> Int

}

/// Pulse rollup state (see PulseRollup.swift).
public protocol PulseRepository: Sendable {
    /// Processes up to `maxEvents` events after the rollup cursor in one transaction, only events up
    /// to the log's last position when the run began. `catalog` is read after that position: an
    /// exposure is logged after its experiment is saved, so the catalogue knows every experiment
    /// the run's exposures name. (Read earlier, it could miss an experiment created and exposed
    /// while the job ran, and those exposures would never be assigned.) When the catalogue's
    /// version differs from the one the rollups were built with, they are rebuilt from the first event.
    func pulseRollup(project: String, maxEvents: Int, catalog: @Sendable () async throws -> PulseCatalog) async throws -> PulseProgress
    /// Events a rollup run should take at most for the store's sake; callers pass at most this as `maxEvents`.
    var pulseEventsPerRun: Int { get }
    func pulseReset(project: String) async throws
    /// Events the rollup set aside: counts by reason and the most recent `limit` of them.
    func pulseSetAside(project: String, limit: Int) async throws -> (counts: [String: Int], recent: [PulseSetAside])
    func pulseArms(project: String, subject: String, unitType: String) async throws -> PulseArmData
    func pulseUnitValues(project: String, subject: String, unitType: String, sources: [String]) async throws -> [PulseUnitRow]
    /// Every non-excluded unit's arm and its value of one drill-down field (nil: not recorded).
    /// `dimension` must pass `PulseDimensions.isValidName`.
    func pulseUnitDimension(project: String, subject: String, unitType: String, dimension: String) async throws -> [PulseUnitSlice]
    /// Every non-excluded unit's arm and first exposure, and its day aggregates of `sources` on
    /// the days after its first exposure's day: what `PulseTimeline` is built from.
    func pulseTimelineRows(project: String, subject: String, unitType: String, sources: [String]) async throws
        -> (units: [PulseTimeline.Unit], days: [PulseTimeline.UnitDay])
    func pulseSources(project: String) async throws -> [PulseSourceTotals]
    func pulseSeries(project: String, source: String) async throws -> [PulseSeriesDay]

}

extension PulseRepository {
    public var pulseEventsPerRun: Int { 25_000 }

    /// A run with a catalogue known to be current (tests, and callers that just read it).
    public func pulseRollup(project: String, catalog: PulseCatalog, maxEvents: Int) async throws -> PulseProgress {
        try await pulseRollup(project: project, maxEvents: maxEvents) { catalog }
    }
}

/// Console users and their sessions (sessions are found by the SHA-256 of their token).
public protocol AccountRepository: Sendable {
    func userCount() async throws -> Int
    func users() async throws -> [ConsoleUser]
    func user(email: String) async throws -> ConsoleUser?
    /// Fails with a conflict when the email is taken.
    func createUser(_ user: ConsoleUser, audit: AuditEntry?) async throws
    func updateUser(_ user: ConsoleUser, audit: AuditEntry?) async throws
    func createSession(tokenHash: String, userID: String, csrfToken: String, now: Int64, expiresAt: Int64) async throws
    func session(tokenHash: String, now: Int64) async throws -> ConsoleSession?
    func deleteSession(tokenHash: String) async throws
    func deleteSessions(userID: String) async throws

}

/// Runs each background job (the Segment exporter, the Pulse rollup) on one node at a time. A
/// holder renews its lease well within `ttl`; when it dies, the lease expires and another node
/// takes the job over, carrying on from the job's durable cursor.
public protocol JobLeases: Sendable {
    /// Takes the lease on `job` for `holder` until `now + ttl` when it is free, expired, or already
    /// `holder`'s; returns whether `holder` holds it now.
    func acquireLease(job: String, holder: String, now: Int64, ttl: Int64) async throws -> Bool
    /// Gives the lease up (a node shutting down), so another node need not wait for it to expire.
    func releaseLease(job: String, holder: String) async throws
}

/// Tells every node that something SDK answers depend on has changed (entities, keys, ID lists,
/// parameter stores, settings): database triggers bump one counter in the same transaction as the
/// change, and each node watches it (`ChangeWatcher`).
public protocol ChangeFeed: Sendable {
    func changeVersion() async throws -> Int64
    /// Calls `onChange` as soon as another transaction commits a change (PostgreSQL: LISTEN on the
    /// channel the triggers notify), until cancelled or the connection fails (then it throws and
    /// the caller listens again). Returns at once where the store cannot notify (SQLite: one process).
    func listenForChanges(_ onChange: @escaping @Sendable () -> Void) async throws
}

extension ChangeFeed {
    public func listenForChanges(_ onChange: @escaping @Sendable () -> Void) async throws {}
}

/// Statsig parameter stores; each change is audited and bumps the project's config time.
public protocol ParameterStoreRepository: Sendable {
    func parameterStores(project: String) async throws -> [ParameterStore]
    /// Creates or replaces a store (its version goes up by one); `mustBeNew` refuses an existing name.
    func saveParameterStore(project: String, _ store: ParameterStore, mustBeNew: Bool, audit: AuditEntry) async throws -> ParameterStore
    func deleteParameterStore(project: String, name: String, audit: AuditEntry) async throws -> Bool
}
