import PostgresNIO
import Synchronization
import VaneCore
import VanePulse

/// The Pulse rollups on PostgreSQL: the SQLite store's job (SQLitePulse.swift) with the same shared
/// steps (`PulseBatch`, `PulseRollupProcessor`), so both stores give the same rollups. The state a
/// batch changes is written with multi-row statements rather than a statement per row, and the
/// exact events the processor may ask for (a synchronous closure) are read before it runs.
extension PostgresStore /* PulseRepository */ {
    /// Transaction-scoped advisory lock (with the project's hash) that serialises runs of the job on
    /// one project across nodes: two runs must not apply the same events twice.
    static func pulseLockKey(_ project: String) -> String { "vane.pulse:" + project }

    public func pulseRollup(
        project: String, maxEvents: Int, catalog loadCatalog: @Sendable () async throws -> PulseCatalog
    ) async throws -> PulseProgress {
        let (head, built) = try await db.read { c -> (Int64, (cursor: Int64, version: String)?) in
            // Positions are taken in commit order (docs/event-log.md): every event up to the highest visible one has committed.
            let head = try await c.fetchValue("SELECT MAX(id) FROM events", as: Int64.self) ?? 0
            let row = try await c.fetchOne("SELECT cursor, version FROM pulse_state WHERE project_id = ?", [project])
            return (head, try row.map { (try $0.get("cursor", as: Int64.self), try $0.get("version", as: String.self)) })
        }
        let catalog = try await loadCatalog()
        let version = catalog.version
        // Most runs find nothing new: answer those from the read, without a write transaction.
        if let built, built.version == version, head <= built.cursor {
            return PulseProgress(processed: 0, cursor: built.cursor, behind: 0, rebuilt: false)
        }
        return try await db.write { c in
            try await c.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [Self.pulseLockKey(project)])
            var rebuilt = false
            var cursor: Int64 = 0
            if let row = try await c.fetchOne("SELECT cursor, version FROM pulse_state WHERE project_id = ?", [project]) {
                cursor = try row.get("cursor", as: Int64.self)
                if try row.get("version", as: String.self) != version {
                    try await Self.clearPulse(c, project: project)
                    cursor = 0
                    rebuilt = true
                }
            }
            let metadataEvents = Set(catalog.filteredSources.map(\.event))
            let events = try await c.fetchAll(
                """
                SELECT \(PulseBatch.rollupColumns) FROM events
                WHERE project_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?
                """, [project, cursor, head, maxEvents < 0 ? nil : maxEvents as Int?]  // SQLite reads a negative limit as none
            ).map { try Self.rollupEvent($0, project: project, parseMetadata: { PulseBatch.needsMetadata($0, metadataEvents: metadataEvents) }) }
            if !events.isEmpty {
                let (state, setAside, processedThrough) = try await Self.processBatch(c, project: project, catalog: catalog, events: events)
                try await Self.savePulseState(c, project: project, state: state)
                try await Self.saveSetAside(c, project: project, setAside)
                cursor = processedThrough
            }
            try await c.execute(
                """
                INSERT INTO pulse_state (project_id, cursor, version, rebuilt_at) VALUES (?, ?, ?, NULL)
                ON CONFLICT (project_id) DO UPDATE SET cursor = excluded.cursor, version = excluded.version
                """, [project, cursor, version])
            var behind = PulseProgress.behindEstimate(processed: events.count, maxEvents: maxEvents, head: head, cursor: cursor)
            if behind == nil {
                behind = try await c.fetchValue(
                    "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE project_id = ? AND id > ? LIMIT ?) AS t",
                    [project, cursor, SQLiteStore.behindCountLimit], as: Int.self) ?? 0
            }
            return PulseProgress(processed: events.count, cursor: cursor, behind: behind ?? 0, rebuilt: rebuilt)
        }
    }

    /// Applies a batch of events to the rollups' state, as `SQLiteStore.processBatch` does (events
    /// the rollup cannot use are set aside; an event whose processing throws is set aside and the
    /// batch applied again up to it). The processor reads exact events synchronously: it runs first
    /// against what has been read, noting what it asked for that was not; those are read and it runs
    /// again. What it asks for depends only on assignments and unit days, never on the exact events
    /// it was given, so the second run asks for nothing new.
    static func processBatch(
        _ c: PGConnection, project: String, catalog: PulseCatalog, events: [EventRecord]
    ) async throws -> (PulseBatchState, [PulseSetAside], Int64) {
        var (setAside, usable) = PulseBatch.partition(events, catalog: catalog)
        var through = events.last?.id ?? 0
        let exact = PGExactEvents(project: project)
        while true {
            let loaded = try await loadPulseState(c, project: project, catalog: catalog, events: usable)
            var outcome = PulseBatch.apply(usable, catalog: catalog, state: loaded, exactEvents: exact.reader)
            var reads = 0
            while true {
                let missing = exact.takeMissing()
                if missing.isEmpty { break }
                reads += 1
                guard reads <= 3 else { throw StoreError.invalid("pulse rollup: exact events kept missing after \(reads) reads") }
                try await exact.read(c, missing)
                outcome = PulseBatch.apply(usable, catalog: catalog, state: loaded, exactEvents: exact.reader)
            }
            guard let failed = outcome.failed else { return (outcome.state, setAside, through) }
            // The state holds part of the failed event: start again from the stored state, without it.
            PulseBatch.setAsideFailed(index: failed.index, error: failed.error, usable: &usable, setAside: &setAside, through: &through)
        }
    }

    static func rollupEvent(_ row: PGRow, project: String, parseMetadata: (String) -> Bool) throws -> EventRecord {
        let name = try row.get("event_name", as: String.self)
        return PulseBatch.event(
            id: try row.get("id", as: Int64.self), project: project, eventName: name,
            userID: try row.get("user_id", as: String?.self), stableID: try row.get("stable_id", as: String?.self),
            customIDs: try row.get("custom_ids", as: String?.self), valueNum: try row.get("value_num", as: Double?.self),
            valueText: try row.get("value_text", as: String?.self), metadata: try row.get("metadata", as: String?.self),
            time: try row.get("time", as: Int64.self), parseMetadata: parseMetadata(name),
            // Backfills read events without these (they are not exposures).
            userJSON: try row.textIfSelected("user_json"), environment: try row.textIfSelected("environment"))
    }

    static func saveSetAside(_ c: PGConnection, project: String, _ records: [PulseSetAside]) async throws {
        // One row per event (the last record wins, as one upsert after another would).
        var byID: [Int64: PulseSetAside] = [:]
        for r in records { byID[r.eventID] = r }
        let rows: [[any PGBindable]] = byID.values.sorted { $0.eventID < $1.eventID }.map {
            [project, $0.eventID, $0.eventName, $0.time, $0.reason.rawValue, String($0.detail.prefix(500))]
        }
        try await insertRows(
            c, "INSERT INTO pulse_set_aside (project_id, event_id, event_name, time, reason, detail)", rows,
            "ON CONFLICT (project_id, event_id) DO UPDATE SET reason = excluded.reason, detail = excluded.detail")
    }

    /// Clears every rollup so the next run rebuilds them from the first event.
    public func pulseReset(project: String) async throws {
        try await db.write { c in
            try await c.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [Self.pulseLockKey(project)])
            try await Self.clearPulse(c, project: project)
            try await c.execute("DELETE FROM pulse_state WHERE project_id = ?", [project])
        }
    }

    static func clearPulse(_ c: PGConnection, project: String) async throws {
        for table in ["pulse_assignments", "pulse_unit_values", "pulse_unit_days", "pulse_arm_units", "pulse_arm_sums",
                      "pulse_exposure_days", "pulse_metric_days", "pulse_set_aside"] {
            try await c.execute("DELETE FROM \(table) WHERE project_id = ?", [project])
        }
    }

    /// Loads what a batch needs: assignments and values of every unit it carries, and the unit
    /// days of units that receive a first (or earlier) exposure in it.
    static func loadPulseState(_ c: PGConnection, project: String, catalog: PulseCatalog, events: [EventRecord]) async throws -> PulseBatchState {
        let (keys, exposed) = PulseBatch.unitsToLoad(events, catalog: catalog)
        var state = PulseBatchState(expectedUnits: keys.count)
        let byType = Dictionary(grouping: keys, by: \.unitType)
        for (unitType, group) in byType.sorted(by: { $0.key < $1.key }) {
            for chunk in group.map(\.unit).sorted().chunked(5000) {
                let units = Array(chunk)
                for row in try await c.fetchAll(
                    """
                    SELECT unit, subject, arm, first_time, excluded, dimensions FROM pulse_assignments
                    WHERE project_id = ? AND unit_type = ? AND unit = ANY(?)
                    """, [project, unitType, units]) {
                    let key = UnitKey(unitType: unitType, unit: try row.get("unit", as: String.self))
                    state.assignments[key, default: [:]][try row.get("subject", as: String.self)] = PulseAssignment(
                        arm: try row.get("arm", as: String.self), firstTime: try row.get("first_time", as: Int64.self),
                        excluded: try row.get("excluded", as: Bool.self),
                        dimensions: PulseBatch.dimensions(try row.get("dimensions", as: String?.self)))
                }
                for row in try await c.fetchAll(
                    """
                    SELECT unit, subject, source, post_count, post_sum, pre_count, pre_sum FROM pulse_unit_values
                    WHERE project_id = ? AND unit_type = ? AND unit = ANY(?)
                    """, [project, unitType, units]) {
                    let key = UnitKey(unitType: unitType, unit: try row.get("unit", as: String.self))
                    let subject = try row.get("subject", as: String.self)
                    let source = try row.get("source", as: String.self)
                    state.unitValues[.init(subject: subject, key: key, source: source)] = UnitValues(
                        postCount: try row.get("post_count", as: Double.self), postSum: try row.get("post_sum", as: Double.self),
                        preCount: try row.get("pre_count", as: Double.self), preSum: try row.get("pre_sum", as: Double.self))
                    state.sourcesByUnit[.init(subject: subject, key: key), default: []].insert(source)
                }
            }
        }
        // Units exposed in this batch need their earlier days to backfill pre-period and post values.
        let exposedByType = Dictionary(grouping: exposed, by: \.key.unitType)
        for (unitType, group) in exposedByType.sorted(by: { $0.key < $1.key }) {
            for chunk in group.sorted(by: { $0.key.unit < $1.key.unit }).chunked(5000) {
                let fromDay = PulseBatch.firstDayToLoad(exposureTimes: chunk.map(\.value))
                for (key, _) in chunk { state.unitDays[key] = [:] }
                for row in try await c.fetchAll(
                    """
                    SELECT unit, day, source, count, sum, min_time, max_time FROM pulse_unit_days
                    WHERE project_id = ? AND unit_type = ? AND day >= ? AND unit = ANY(?)
                    """, [project, unitType, fromDay, chunk.map(\.key.unit)]) {
                    let key = UnitKey(unitType: unitType, unit: try row.get("unit", as: String.self))
                    state.unitDays[key]![.init(day: try row.get("day", as: Int64.self), source: try row.get("source", as: String.self))] = DayAggregate(
                        count: try row.get("count", as: Double.self), sum: try row.get("sum", as: Double.self),
                        minTime: try row.get("min_time", as: Int64.self), maxTime: try row.get("max_time", as: Int64.self))
                }
            }
        }
        return state
    }

    /// Writes what a batch changed, many rows per statement (see `insertRows`).
    static func savePulseState(_ c: PGConnection, project: String, state: PulseBatchState) async throws {
        let assignments: [[any PGBindable]] = state.dirtyAssignments
            .sorted()
            .compactMap { su in
                guard let a = state.assignments[su.key]?[su.subject] else { return nil }
                return [project, su.key.unitType, su.key.unit, su.subject, a.arm, a.firstTime, a.excluded, PulseBatch.dimensionsText(a.dimensions)]
            }
        try await insertRows(
            c, "INSERT INTO pulse_assignments (project_id, unit_type, unit, subject, arm, first_time, excluded, dimensions)", assignments,
            """
            ON CONFLICT (project_id, unit_type, unit, subject) DO UPDATE SET
                arm = excluded.arm, first_time = excluded.first_time, excluded = excluded.excluded, dimensions = excluded.dimensions
            """)

        var values: [[any PGBindable]] = []
        var deleted: (unitTypes: [String], units: [String], subjects: [String], sources: [String]) = ([], [], [], [])
        for vk in state.dirtyValues.sorted() {
            let v = state.unitValues[vk] ?? UnitValues()
            if v.isZero {
                deleted.unitTypes.append(vk.key.unitType)
                deleted.units.append(vk.key.unit)
                deleted.subjects.append(vk.subject)
                deleted.sources.append(vk.source)
            } else {
                values.append([project, vk.key.unitType, vk.key.unit, vk.subject, vk.source, v.postCount, v.postSum, v.preCount, v.preSum])
            }
        }
        for start in stride(from: 0, to: deleted.units.count, by: 10_000) {
            let r = start..<min(start + 10_000, deleted.units.count)
            try await c.execute(
                """
                DELETE FROM pulse_unit_values WHERE project_id = ? AND (unit_type, unit, subject, source) IN (
                    SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]))
                """,
                [project, Array(deleted.unitTypes[r]), Array(deleted.units[r]), Array(deleted.subjects[r]), Array(deleted.sources[r])])
        }
        try await insertRows(
            c, "INSERT INTO pulse_unit_values (project_id, unit_type, unit, subject, source, post_count, post_sum, pre_count, pre_sum)",
            values,
            """
            ON CONFLICT (project_id, unit_type, unit, subject, source) DO UPDATE SET
                post_count = excluded.post_count, post_sum = excluded.post_sum,
                pre_count = excluded.pre_count, pre_sum = excluded.pre_sum
            """)

        var days: [[any PGBindable]] = []
        for (key, byDay) in state.unitDayDeltas.sorted(by: { $0.key < $1.key }) {
            for (dk, agg) in byDay.sorted(by: { ($0.key.day, $0.key.source) < ($1.key.day, $1.key.source) }) {
                days.append([project, key.unitType, key.unit, dk.day, dk.source, agg.count, agg.sum, agg.minTime, agg.maxTime])
            }
        }
        try await insertRows(
            c, "INSERT INTO pulse_unit_days (project_id, unit_type, unit, day, source, count, sum, min_time, max_time)", days,
            """
            ON CONFLICT (project_id, unit_type, unit, day, source) DO UPDATE SET
                count = pulse_unit_days.count + excluded.count, sum = pulse_unit_days.sum + excluded.sum,
                min_time = LEAST(pulse_unit_days.min_time, excluded.min_time),
                max_time = GREATEST(pulse_unit_days.max_time, excluded.max_time)
            """)

        let columns = ArmSums.columns
        let sums: [[any PGBindable]] = state.armSumDeltas.filter { $0.value != ArmSums() }
            .sorted(by: { ($0.key.arm.subject, $0.key.arm.unitType, $0.key.arm.arm, $0.key.source) < ($1.key.arm.subject, $1.key.arm.unitType, $1.key.arm.arm, $1.key.source) })
            .map { k, delta in [project, k.arm.subject, k.arm.unitType, k.arm.arm, k.source] + delta.values.map { $0 as any PGBindable } }
        try await insertRows(
            c, "INSERT INTO pulse_arm_sums (project_id, subject, unit_type, arm, source, \(columns.joined(separator: ", ")))", sums,
            """
            ON CONFLICT (project_id, subject, unit_type, arm, source) DO UPDATE SET
                \(columns.map { "\($0) = pulse_arm_sums.\($0) + excluded.\($0)" }.joined(separator: ", "))
            """)

        let units: [[any PGBindable]] = state.armUnitDeltas.filter { $0.value != 0 }
            .sorted(by: { ($0.key.subject, $0.key.unitType, $0.key.arm) < ($1.key.subject, $1.key.unitType, $1.key.arm) })
            .map { k, n in [project, k.subject, k.unitType, k.arm, n] }
        try await insertRows(
            c, "INSERT INTO pulse_arm_units (project_id, subject, unit_type, arm, units)", units,
            "ON CONFLICT (project_id, subject, unit_type, arm) DO UPDATE SET units = pulse_arm_units.units + excluded.units")

        var exposures: [[any PGBindable]] = []
        for (k, byDay) in state.exposureDayDeltas.sorted(by: { ($0.key.subject, $0.key.unitType, $0.key.arm) < ($1.key.subject, $1.key.unitType, $1.key.arm) }) {
            for (d, n) in byDay.sorted(by: { $0.key < $1.key }) where n != 0 {
                exposures.append([project, k.subject, k.unitType, k.arm, d, n])
            }
        }
        try await insertRows(
            c, "INSERT INTO pulse_exposure_days (project_id, subject, unit_type, arm, day, units)", exposures,
            "ON CONFLICT (project_id, subject, unit_type, arm, day) DO UPDATE SET units = pulse_exposure_days.units + excluded.units")

        var metricDays: [[any PGBindable]] = []
        for (source, byDay) in state.metricDayDeltas.sorted(by: { $0.key < $1.key }) {
            for (d, agg) in byDay.sorted(by: { $0.key < $1.key }) {
                metricDays.append([project, source, d, agg.events, agg.sum])
            }
        }
        try await insertRows(
            c, "INSERT INTO pulse_metric_days (project_id, source, day, events, value_sum)", metricDays,
            """
            ON CONFLICT (project_id, source, day) DO UPDATE SET
                events = pulse_metric_days.events + excluded.events, value_sum = pulse_metric_days.value_sum + excluded.value_sum
            """)
    }

    /// `insert VALUES (…), (…), … conflict` for all rows, as few statements as the bind limit
    /// allows (at most 1,000 rows or 30,000 values each). Rows must have distinct conflict keys.
    static func insertRows(_ c: PGConnection, _ insert: String, _ rows: [[any PGBindable]], _ conflict: String) async throws {
        guard let width = rows.first?.count, width > 0 else { return }
        let perStatement = max(1, min(1000, 30_000 / width))
        let tuple = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        for start in stride(from: 0, to: rows.count, by: perStatement) {
            let chunk = rows[start..<min(start + perStatement, rows.count)]
            let sql = insert + " VALUES " + Array(repeating: tuple, count: chunk.count).joined(separator: ", ") + "\n" + conflict
            try await c.execute(sql, chunk.flatMap { $0 })
        }
    }

    // MARK: - Reading rollups

    public func pulseSetAside(project: String, limit: Int) async throws -> (counts: [String: Int], recent: [PulseSetAside]) {
        try await db.read { c in
            var counts: [String: Int] = [:]
            for row in try await c.fetchAll(
                "SELECT reason, COUNT(*) AS n FROM pulse_set_aside WHERE project_id = ? GROUP BY reason", [project]) {
                counts[try row.get("reason", as: String.self)] = try row.get("n", as: Int.self)
            }
            let recent = try await c.fetchAll(
                """
                SELECT event_id, event_name, time, reason, detail FROM pulse_set_aside WHERE project_id = ?
                ORDER BY event_id DESC LIMIT ?
                """, [project, max(0, min(limit, 1000))]).map {
                PulseSetAside(
                    eventID: try $0.get("event_id", as: Int64.self), eventName: try $0.get("event_name", as: String.self),
                    time: try $0.get("time", as: Int64.self),
                    reason: PulseSetAside.Reason(rawValue: try $0.get("reason", as: String.self)) ?? .failed,
                    detail: try $0.get("detail", as: String.self))
            }
            return (counts, recent)
        }
    }

    public func pulseArms(project: String, subject: String, unitType: String) async throws -> PulseArmData {
        try await db.read { c in
            var data = PulseArmData()
            for row in try await c.fetchAll(
                "SELECT arm, units FROM pulse_arm_units WHERE project_id = ? AND subject = ? AND unit_type = ?",
                [project, subject, unitType]) {
                data.units[try row.get("arm", as: String.self)] = try row.get("units", as: Int.self)
            }
            data.crossovers = try await c.fetchValue(
                "SELECT COUNT(*) FROM pulse_assignments WHERE project_id = ? AND subject = ? AND unit_type = ? AND excluded",
                [project, subject, unitType], as: Int.self) ?? 0
            for row in try await c.fetchAll(
                """
                SELECT arm, source, \(ArmSums.columns.joined(separator: ", ")) FROM pulse_arm_sums
                WHERE project_id = ? AND subject = ? AND unit_type = ?
                """, [project, subject, unitType]) {
                let values: [Double] = try ArmSums.columns.map { try row.get($0, as: Double.self) }
                data.sums[try row.get("arm", as: String.self), default: [:]][try row.get("source", as: String.self)] = ArmSums(values: values)
            }
            for row in try await c.fetchAll(
                """
                SELECT arm, day, units FROM pulse_exposure_days WHERE project_id = ? AND subject = ? AND unit_type = ? AND units != 0
                """, [project, subject, unitType]) {
                data.exposureDays[try row.get("day", as: Int64.self), default: [:]][try row.get("arm", as: String.self)] = try row.get("units", as: Int.self)
            }
            return data
        }
    }

    /// Every non-excluded unit's values of the given sources (units without events are absent).
    public func pulseUnitValues(project: String, subject: String, unitType: String, sources: [String]) async throws -> [PulseUnitRow] {
        try await db.read { c in
            var out: [PulseUnitRow] = []
            for source in sources {
                for row in try await c.fetchAll(
                    """
                    SELECT v.unit, a.arm, v.post_count, v.post_sum, v.pre_count, v.pre_sum FROM pulse_unit_values v
                    JOIN pulse_assignments a ON a.project_id = v.project_id AND a.unit_type = v.unit_type AND a.unit = v.unit
                        AND a.subject = v.subject
                    WHERE v.project_id = ? AND v.subject = ? AND v.unit_type = ? AND v.source = ? AND NOT a.excluded
                    """, [project, subject, unitType, source]) {
                    out.append(PulseUnitRow(
                        unit: try row.get("unit", as: String.self), arm: try row.get("arm", as: String.self), source: source,
                        values: UnitValues(
                            postCount: try row.get("post_count", as: Double.self), postSum: try row.get("post_sum", as: Double.self),
                            preCount: try row.get("pre_count", as: Double.self), preSum: try row.get("pre_sum", as: Double.self))))
                }
            }
            return out
        }
    }

    public func pulseTimelineRows(project: String, subject: String, unitType: String, sources: [String]) async throws
        -> (units: [PulseTimeline.Unit], days: [PulseTimeline.UnitDay])
    {
        try await db.read { c in
            let units = try await c.fetchAll(
                """
                SELECT unit, arm, first_time FROM pulse_assignments
                WHERE project_id = ? AND subject = ? AND unit_type = ? AND NOT excluded
                """, [project, subject, unitType]
            ).map {
                PulseTimeline.Unit(unit: try $0.get("unit", as: String.self), arm: try $0.get("arm", as: String.self),
                                   firstTime: try $0.get("first_time", as: Int64.self))
            }
            var days: [PulseTimeline.UnitDay] = []
            for source in sources {
                for row in try await c.fetchAll(
                    """
                    SELECT d.unit, d.day, d.count, d.sum, d.min_time, d.max_time FROM pulse_unit_days d
                    JOIN pulse_assignments a ON a.project_id = d.project_id AND a.unit_type = d.unit_type AND a.unit = d.unit
                    WHERE a.project_id = ? AND a.subject = ? AND a.unit_type = ? AND NOT a.excluded AND d.source = ?
                        AND d.day > floor(a.first_time::float8 / \(PulseDay.millis))
                    """, [project, subject, unitType, source]) {
                    days.append(PulseTimeline.UnitDay(
                        unit: try row.get("unit", as: String.self), source: source, day: try row.get("day", as: Int64.self),
                        aggregate: DayAggregate(
                            count: try row.get("count", as: Double.self), sum: try row.get("sum", as: Double.self),
                            minTime: try row.get("min_time", as: Int64.self), maxTime: try row.get("max_time", as: Int64.self))))
                }
            }
            return (units, days)
        }
    }

    public func pulseUnitDimension(project: String, subject: String, unitType: String, dimension: String) async throws -> [PulseUnitSlice] {
        guard PulseDimensions.isValidName(dimension) else { throw StoreError.invalid("not a drill-down field name: \(dimension)") }
        return try await db.read { c in
            try await c.fetchAll(
                """
                SELECT unit, arm, dimensions::jsonb ->> ? AS value FROM pulse_assignments
                WHERE project_id = ? AND subject = ? AND unit_type = ? AND NOT excluded
                """, [dimension, project, subject, unitType]
            ).map {
                PulseUnitSlice(unit: try $0.get("unit"), arm: try $0.get("arm"), value: try $0.get("value", as: String?.self))
            }
        }
    }

    public func pulseSources(project: String) async throws -> [PulseSourceTotals] {
        try await db.read { c in
            try await c.fetchAll(
                """
                SELECT source, SUM(events)::bigint AS events, SUM(value_sum) AS value_sum, MIN(day) AS first_day, MAX(day) AS last_day
                FROM pulse_metric_days WHERE project_id = ? GROUP BY source ORDER BY source
                """, [project]).map {
                PulseSourceTotals(
                    source: try $0.get("source", as: String.self), events: try $0.get("events", as: Int.self),
                    valueSum: try $0.get("value_sum", as: Double?.self) ?? 0,
                    firstDay: try $0.get("first_day", as: Int64.self), lastDay: try $0.get("last_day", as: Int64.self))
            }
        }
    }

    /// Daily totals of one source; unique units are distinct userIDs.
    public func pulseSeries(project: String, source: String) async throws -> [PulseSeriesDay] {
        try await db.read { c in
            var units: [Int64: Int] = [:]
            for row in try await c.fetchAll(
                """
                SELECT day, COUNT(*) AS units FROM pulse_unit_days
                WHERE project_id = ? AND unit_type = 'userID' AND source = ? GROUP BY day
                """, [project, source]) {
                units[try row.get("day", as: Int64.self)] = try row.get("units", as: Int.self)
            }
            return try await c.fetchAll(
                "SELECT day, events, value_sum FROM pulse_metric_days WHERE project_id = ? AND source = ? ORDER BY day",
                [project, source]).map {
                let day = try $0.get("day", as: Int64.self)
                return PulseSeriesDay(
                    day: day, events: try $0.get("events", as: Int.self), units: units[day] ?? 0,
                    valueSum: try $0.get("value_sum", as: Double.self))
            }
        }
    }
}

/// The exact events a batch's processor asks for (`PulseExactEvents`, a synchronous closure), read
/// from PostgreSQL ahead of it: `reader` answers from what has been read and notes what was not
/// (answering none); `read` then reads those, many units per statement.
final class PGExactEvents: Sendable {
    private struct State {
        var read: [PulseBatch.ExactRequest: [EventRecord]] = [:]
        var missing: Set<PulseBatch.ExactRequest> = []
    }

    let project: String
    private let state = Mutex(State())

    init(project: String) {
        self.project = project
    }

    var reader: PulseExactEvents {
        { [self] key, from, to, before in
            let request = PulseBatch.ExactRequest(key: key, from: from, to: to, before: before)
            return state.withLock { s in
                if let events = s.read[request] { return events }
                s.missing.insert(request)
                return []
            }
        }
    }

    func takeMissing() -> [PulseBatch.ExactRequest] {
        state.withLock { s in
            defer { s.missing.removeAll() }
            return s.missing.sorted { ($0.key.unitType, $0.key.unit, $0.from, $0.to, $0.before) < ($1.key.unitType, $1.key.unit, $1.from, $1.to, $1.before) }
        }
    }

    static let columns = "e.id, e.event_name, e.user_id, e.stable_id, e.custom_ids, e.value_num, e.value_text, e.metadata, e.time"

    /// Reads the events of each request, as `SQLiteStore.exactEventsReader` selects them (in time
    /// and id order, the order SQLite's indexes give them).
    func read(_ c: PGConnection, _ requests: [PulseBatch.ExactRequest]) async throws {
        var found: [PulseBatch.ExactRequest: [EventRecord]] = [:]
        for r in requests { found[r] = [] }
        let byColumn = Dictionary(grouping: requests) { PulseBatch.eventsColumn(unitType: $0.key.unitType) }
        for (column, group) in byColumn {
            if let column {
                // user_id and stable_id: many units per statement.
                try await readMany(c, group, unitCondition: "e.\(column) = r.unit", into: &found)
            } else {
                // Custom IDs are in the custom_ids JSON: read the time range, keep the unit's. A unit
                // of characters JSON writes as themselves appears verbatim in the JSON text, which
                // narrows the read in the database; any other unit reads the whole range.
                let verbatim = group.filter { Self.isVerbatimInJSON($0.key.unit) }
                try await readMany(c, verbatim, unitCondition: "e.custom_ids IS NOT NULL AND strpos(e.custom_ids, r.unit) > 0", into: &found)
                for request in group where !Self.isVerbatimInJSON(request.key.unit) {
                    let rows = try await c.fetchAll(
                        """
                        SELECT \(Self.columns) FROM events e
                        WHERE e.project_id = ? AND e.time >= ? AND e.time < ? AND e.id < ? AND e.custom_ids IS NOT NULL
                        ORDER BY e.time, e.id
                        """, [project, request.from, request.to, request.before])
                    for row in rows {
                        append(try PostgresStore.rollupEvent(row, project: project, parseMetadata: { _ in true }), to: request, in: &found)
                    }
                }
            }
        }
        state.withLock { s in s.read.merge(found) { _, new in new } }
    }

    /// Printable ASCII other than the characters a JSON writer may escape.
    static func isVerbatimInJSON(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value < 0x7F && $0 != "\"" && $0 != "\\" && $0 != "/" }
    }

    /// The events of many requests, one statement per 2,000: the requests' units, ranges and id
    /// bounds are joined to the events that `unitCondition` matches to a request's unit.
    private func readMany(
        _ c: PGConnection, _ requests: [PulseBatch.ExactRequest], unitCondition: String,
        into found: inout [PulseBatch.ExactRequest: [EventRecord]]
    ) async throws {
        for chunk in requests.chunked(2000) {
            let rows = try await c.fetchAll(
                """
                SELECT r.n, \(Self.columns) FROM (
                    SELECT unit, f::bigint AS f, t::bigint AS t, b::bigint AS b, n
                    FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS u(unit, f, t, b, n)) r
                JOIN events e ON e.project_id = ? AND e.time >= r.f AND e.time < r.t AND e.id < r.b AND \(unitCondition)
                ORDER BY r.n, e.time, e.id
                """,
                [chunk.map(\.key.unit), chunk.map { String($0.from) }, chunk.map { String($0.to) }, chunk.map { String($0.before) },
                 project])
            for row in rows {
                let request = chunk[chunk.startIndex + Int(try row.get("n", as: Int64.self)) - 1]
                append(try PostgresStore.rollupEvent(row, project: project, parseMetadata: { _ in true }), to: request, in: &found)
            }
        }
    }

    private func append(_ e: EventRecord, to request: PulseBatch.ExactRequest, in found: inout [PulseBatch.ExactRequest: [EventRecord]]) {
        guard PulseRollupProcessor.unit(of: e, type: request.key.unitType) == request.key.unit else { return }
        found[request, default: []].append(e)
    }
}
