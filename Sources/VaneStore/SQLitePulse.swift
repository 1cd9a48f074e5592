import GRDB
import VaneCore
import VanePulse

extension SQLiteStore {
    public func pulseRollup(
        project: String, maxEvents: Int, catalog loadCatalog: @Sendable () async throws -> PulseCatalog
    ) async throws -> PulseProgress {
        let (head, found) = try await db.read { db -> (Int64, RollupCursor?) in
            (try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM events") ?? 0, try Self.storedCursor(db, project: project))
        }
        let catalog = try await loadCatalog()
        let version = catalog.version
        // Most runs find nothing new: answer those from the read, without a (synced) write transaction.
        if let found, found.version == version, head <= found.cursor {
            return PulseProgress(processed: 0, cursor: found.cursor, behind: 0, rebuilt: false)
        }
        let rebuilt = found != nil && found?.version != version
        if rebuilt {
            // A changed catalogue rebuilds from the first event: cleared in a write of its own,
            // then this run and the ones after it (the caller goes on while behind) rebuild.
            try await db.write { db in
                try Self.clearPulse(db, project: project)
                try Self.saveCursor(db, project: project, cursor: 0, version: version)
            }
        }
        let built = rebuilt ? RollupCursor(cursor: 0, version: version) : found
        let from = built?.cursor ?? 0
        // The batch is read and applied on a reader, on one snapshot of the events and the rollups;
        // the writer, which every ingest request waits for, is held only to store the result. Only
        // this job writes the rollups, and the write checks that the cursor it started from is
        // still the stored one (a reset or a rebuild in between discards the run).
        let computed = try await db.read { db -> (events: Int, state: PulseBatchState, setAside: [PulseSetAside], through: Int64)? in
            guard try Self.storedCursor(db, project: project) == built else { return nil }
            let metadataEvents = Set(catalog.filteredSources.map(\.event))
            let rows = try Row.fetchCursor(
                db, sql: """
                    SELECT \(PulseBatch.rollupColumns) FROM events
                    WHERE +project_id = ? AND id > ? AND id <= ? ORDER BY id LIMIT ?
                    """,
                arguments: [project, from, head, maxEvents])
            var events: [EventRecord] = []
            var columns: EventRowColumns?
            while let row = try rows.next() {
                let c = columns ?? EventRowColumns(row)
                columns = c
                events.append(Self.rollupEvent(row, c, project: project, metadataEvents: metadataEvents))
            }
            if events.isEmpty { return (0, PulseBatchState(), [], from) }
            let (state, setAside, through) = try Self.processBatch(db, project: project, catalog: catalog, events: events)
            return (events.count, state, setAside, through)
        }
        guard let computed else {
            return try await pulseProgress(project: project, processed: 0, cursor: from, head: head, maxEvents: maxEvents, rebuilt: rebuilt)
        }
        let requested = ContinuousClock.now
        let stored = try await db.write { db -> Bool in
            let waited = ContinuousClock.now - requested
            let started = ContinuousClock.now
            guard try Self.storedCursor(db, project: project) == built else { return false }
            try Self.savePulseState(db, project: project, state: computed.state)
            try Self.saveSetAside(db, project: project, computed.setAside)
            try Self.saveCursor(db, project: project, cursor: computed.through, version: version)
            rollupSizing.withLock {
                $0.record(events: computed.events, took: ContinuousClock.now - started, waited: waited, head: head)
            }
            return true
        }
        return try await pulseProgress(
            project: project, processed: stored ? computed.events : 0, cursor: stored ? computed.through : from, head: head,
            maxEvents: maxEvents, rebuilt: rebuilt)
    }

    /// Where a project's rollups stand, and under which catalogue version they were built.
    struct RollupCursor: Equatable {
        var cursor: Int64
        var version: String
    }

    static func storedCursor(_ db: Database, project: String) throws -> RollupCursor? {
        try Row.fetchOne(db, sql: "SELECT cursor, version FROM pulse_state WHERE project_id = ?", arguments: [project])
            .map { RollupCursor(cursor: $0["cursor"], version: $0["version"]) }
    }

    static func saveCursor(_ db: Database, project: String, cursor: Int64, version: String) throws {
        try db.execute(
            sql: """
                INSERT INTO pulse_state (project_id, cursor, version, rebuilt_at) VALUES (?, ?, ?, NULL)
                ON CONFLICT (project_id) DO UPDATE SET cursor = excluded.cursor, version = excluded.version
                """, arguments: [project, cursor, version])
    }

    /// A run's progress, with how far it is behind: estimated from log positions when it stopped
    /// at its limit, else counted (on a reader: the writer is ingest's).
    private func pulseProgress(
        project: String, processed: Int, cursor: Int64, head: Int64, maxEvents: Int, rebuilt: Bool
    ) async throws -> PulseProgress {
        var progress = PulseProgress(processed: processed, cursor: cursor, behind: 0, rebuilt: rebuilt)
        if let estimate = PulseProgress.behindEstimate(processed: processed, maxEvents: maxEvents, head: head, cursor: cursor) {
            progress.behind = estimate
        } else {
            progress.behind = try await db.read { db in
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM events WHERE +project_id = ? AND id > ? LIMIT ?)",
                    arguments: [project, cursor, Self.behindCountLimit]) ?? 0
            }
        }
        return progress
    }

    public var pulseEventsPerRun: Int { rollupSizing.withLock { $0.events } }

    /// The most events a rollup run counts as still to do.
    public static let behindCountLimit = 1_000_000

    /// Applies a batch of events to the rollups' state. Events the rollup cannot use are set aside
    /// with their reason. When an event fails in another way (it throws), the batch is applied
    /// again up to that event, which is set aside: the job moves on rather than failing on the
    /// same event forever. Returns the state to save, what was set aside, and the last event id
    /// the run accounts for.
    static func processBatch(
        _ db: Database, project: String, catalog: PulseCatalog, events: [EventRecord], exactEvents: PulseExactEvents? = nil
    ) throws -> (PulseBatchState, [PulseSetAside], Int64) {
        var (setAside, usable) = PulseBatch.partition(events, catalog: catalog)
        var through = events.last?.id ?? 0
        while true {
            let (state, failed) = PulseBatch.apply(
                usable, catalog: catalog, state: try loadPulseState(db, project: project, catalog: catalog, events: usable),
                exactEvents: try exactEvents ?? exactEventsReader(db, project: project))
            guard let failed else { return (state, setAside, through) }
            // The state holds part of the failed event: start again from the stored state, without it.
            PulseBatch.setAsideFailed(index: failed.index, error: failed.error, usable: &usable, setAside: &setAside, through: &through)
        }
    }

    static func saveSetAside(_ db: Database, project: String, _ records: [PulseSetAside]) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO pulse_set_aside (project_id, event_id, event_name, time, reason, detail) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, event_id) DO UPDATE SET reason = excluded.reason, detail = excluded.detail
            """)
        for r in records {
            try insert.execute(arguments: [project, r.eventID, r.eventName, r.time, r.reason.rawValue, String(r.detail.prefix(500))])
        }
    }

    /// The columns the rollup reads; metadata is parsed only where it is used (exposures and
    /// events that filtered metrics look at).
    static func rollupEvent(_ row: Row, _ c: EventRowColumns, project: String, metadataEvents: Set<String>) -> EventRecord {
        let name: String = row[c.eventName]
        return PulseBatch.event(
            id: row[c.id], project: project, eventName: name, userID: row[c.userID], stableID: row[c.stableID],
            customIDs: row[c.customIDs], valueNum: row[c.valueNum], valueText: row[c.valueText], metadata: row[c.metadata],
            time: row[c.time], parseMetadata: PulseBatch.needsMetadata(name, metadataEvents: metadataEvents),
            userJSON: row[c.userJSON], environment: row[c.environment])
    }

    /// Clears every rollup so the next run rebuilds them from the first event.
    public func pulseReset(project: String) async throws {
        try await db.write { db in
            try Self.clearPulse(db, project: project)
            try db.execute(sql: "DELETE FROM pulse_state WHERE project_id = ?", arguments: [project])
        }
    }

    static func clearPulse(_ db: Database, project: String) throws {
        for table in ["pulse_assignments", "pulse_unit_values", "pulse_unit_days", "pulse_arm_units", "pulse_arm_sums",
                      "pulse_exposure_days", "pulse_metric_days", "pulse_set_aside"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE project_id = ?", arguments: [project])
        }
    }

    /// Events of one unit in [from, to) with ids below `beforeEventID`.
    static func exactEventsReader(_ db: Database, project: String) throws -> PulseExactEvents {
        nonisolated(unsafe) let db = db
        return { key, from, to, before in
            let lower = key.unitType.lowercased()
            let sql: String
            let args: StatementArguments
            if lower == "userid" {
                sql = "SELECT * FROM events WHERE project_id = ? AND user_id = ? AND time >= ? AND time < ? AND id < ?"
                args = [project, key.unit, from, to, before]
            } else if lower == "stableid" {
                sql = "SELECT * FROM events WHERE project_id = ? AND time >= ? AND time < ? AND id < ? AND stable_id = ?"
                args = [project, from, to, before, key.unit]
            } else {
                sql = "SELECT * FROM events WHERE project_id = ? AND time >= ? AND time < ? AND id < ? AND custom_ids IS NOT NULL"
                args = [project, from, to, before]
            }
            return eventRecords(try Row.fetchAll(db, sql: sql, arguments: args)).filter {
                PulseRollupProcessor.unit(of: $0, type: key.unitType) == key.unit
            }
        }
    }

    /// Loads what a batch needs: assignments and values of every unit it carries, and the unit
    /// days of units that receive a first (or earlier) exposure in it.
    static func loadPulseState(_ db: Database, project: String, catalog: PulseCatalog, events: [EventRecord]) throws -> PulseBatchState {
        let (keys, exposed) = PulseBatch.unitsToLoad(events, catalog: catalog)
        var state = PulseBatchState(expectedUnits: keys.count)
        let byType = Dictionary(grouping: keys, by: \.unitType)
        for (unitType, group) in byType {
            for chunk in group.map(\.unit).chunked(500) {
                let marks = databaseQuestionMarks(count: chunk.count)
                var args: StatementArguments = [project, unitType]
                args += StatementArguments(chunk)
                // Cursors read columns by position straight from SQLite: copying rows and finding
                // columns by name cost a quarter of a rollup.
                let assignments = try Row.fetchCursor(db, sql: """
                    SELECT unit, subject, arm, first_time, excluded, dimensions FROM pulse_assignments
                    WHERE project_id = ? AND unit_type = ? AND unit IN (\(marks))
                    """, arguments: args)
                while let row = try assignments.next() {
                    let key = UnitKey(unitType: unitType, unit: row[0])
                    state.assignments[key, default: [:]][row[1] as String] = PulseAssignment(
                        arm: row[2], firstTime: row[3], excluded: (row[4] as Int64) != 0,
                        dimensions: PulseBatch.dimensions(row[5]))
                }
                let values = try Row.fetchCursor(db, sql: """
                    SELECT unit, subject, source, post_count, post_sum, pre_count, pre_sum FROM pulse_unit_values
                    WHERE project_id = ? AND unit_type = ? AND unit IN (\(marks))
                    """, arguments: args)
                while let row = try values.next() {
                    let key = UnitKey(unitType: unitType, unit: row[0])
                    let subject: String = row[1]
                    let source: String = row[2]
                    state.unitValues[.init(subject: subject, key: key, source: source)] = UnitValues(
                        postCount: row[3], postSum: row[4], preCount: row[5], preSum: row[6])
                    state.sourcesByUnit[.init(subject: subject, key: key), default: []].insert(source)
                }
            }
        }
        // Units exposed in this batch need their earlier days to backfill pre-period and post values.
        let exposedByType = Dictionary(grouping: exposed, by: \.key.unitType)
        for (unitType, group) in exposedByType {
            for chunk in group.chunked(500) {
                let fromDay = PulseBatch.firstDayToLoad(exposureTimes: chunk.map(\.value))
                var args: StatementArguments = [project, unitType, fromDay]
                args += StatementArguments(chunk.map(\.key.unit))
                for (key, _) in chunk { state.unitDays[key] = [:] }
                let days = try Row.fetchCursor(db, sql: """
                    SELECT unit, day, source, count, sum, min_time, max_time FROM pulse_unit_days
                    WHERE project_id = ? AND unit_type = ? AND day >= ? AND unit IN (\(databaseQuestionMarks(count: chunk.count)))
                    """, arguments: args)
                while let row = try days.next() {
                    let key = UnitKey(unitType: unitType, unit: row[0])
                    state.unitDays[key]![.init(day: row[1], source: row[2])] = DayAggregate(
                        count: row[3], sum: row[4], minTime: row[5], maxTime: row[6])
                }
            }
        }
        return state
    }

    static func savePulseState(_ db: Database, project: String, state: PulseBatchState) throws {
        // The per-unit tables take a row per unit and event: their writes bind values directly.
        let assignment = try SQLiteDirectWrite(db, sql: """
            INSERT INTO pulse_assignments (project_id, unit_type, unit, subject, arm, first_time, excluded, dimensions)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, unit_type, unit, subject) DO UPDATE SET
                arm = excluded.arm, first_time = excluded.first_time, excluded = excluded.excluded, dimensions = excluded.dimensions
            """)
        for su in state.dirtyAssignments.sorted() {
            guard let a = state.assignments[su.key]?[su.subject] else { continue }
            try assignment.execute(
                .text(project), .text(su.key.unitType), .text(su.key.unit), .text(su.subject), .text(a.arm), .int(a.firstTime),
                .int(a.excluded ? 1 : 0), .text(PulseBatch.dimensionsText(a.dimensions)))
        }
        let value = try SQLiteDirectWrite(db, sql: """
            INSERT INTO pulse_unit_values (project_id, unit_type, unit, subject, source, post_count, post_sum, pre_count, pre_sum)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, unit_type, unit, subject, source) DO UPDATE SET
                post_count = excluded.post_count, post_sum = excluded.post_sum,
                pre_count = excluded.pre_count, pre_sum = excluded.pre_sum
            """)
        let deleteValue = try SQLiteDirectWrite(db, sql: """
            DELETE FROM pulse_unit_values WHERE project_id = ? AND unit_type = ? AND unit = ? AND subject = ? AND source = ?
            """)
        for vk in state.dirtyValues.sorted() {
            let v = state.unitValues[vk] ?? UnitValues()
            if v.isZero {
                try deleteValue.execute(.text(project), .text(vk.key.unitType), .text(vk.key.unit), .text(vk.subject), .text(vk.source))
            } else {
                try value.execute(
                    .text(project), .text(vk.key.unitType), .text(vk.key.unit), .text(vk.subject), .text(vk.source),
                    .real(v.postCount), .real(v.postSum), .real(v.preCount), .real(v.preSum))
            }
        }
        let day = try SQLiteDirectWrite(db, sql: """
            INSERT INTO pulse_unit_days (project_id, unit_type, unit, day, source, count, sum, min_time, max_time)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, unit_type, unit, day, source) DO UPDATE SET
                count = count + excluded.count, sum = sum + excluded.sum,
                min_time = MIN(min_time, excluded.min_time), max_time = MAX(max_time, excluded.max_time)
            """)
        // Sorted, so the B-tree is walked in key order rather than at random.
        for (key, days) in state.unitDayDeltas.sorted(by: { $0.key < $1.key }) {
            for (dk, agg) in days {
                try day.execute(
                    .text(project), .text(key.unitType), .text(key.unit), .int(dk.day), .text(dk.source), .real(agg.count),
                    .real(agg.sum), .int(agg.minTime), .int(agg.maxTime))
            }
        }
        let columns = ArmSums.columns
        let sums = try db.cachedStatement(sql: """
            INSERT INTO pulse_arm_sums (project_id, subject, unit_type, arm, source, \(columns.joined(separator: ", ")))
            VALUES (?, ?, ?, ?, ?, \(databaseQuestionMarks(count: columns.count)))
            ON CONFLICT (project_id, subject, unit_type, arm, source) DO UPDATE SET
                \(columns.map { "\($0) = \($0) + excluded.\($0)" }.joined(separator: ", "))
            """)
        for (k, delta) in state.armSumDeltas where delta != ArmSums() {
            var args: StatementArguments = [project, k.arm.subject, k.arm.unitType, k.arm.arm, k.source]
            args += StatementArguments(delta.values)
            try sums.execute(arguments: args)
        }
        let units = try db.cachedStatement(sql: """
            INSERT INTO pulse_arm_units (project_id, subject, unit_type, arm, units) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (project_id, subject, unit_type, arm) DO UPDATE SET units = units + excluded.units
            """)
        for (k, n) in state.armUnitDeltas where n != 0 {
            try units.execute(arguments: [project, k.subject, k.unitType, k.arm, n])
        }
        let exposures = try db.cachedStatement(sql: """
            INSERT INTO pulse_exposure_days (project_id, subject, unit_type, arm, day, units) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (project_id, subject, unit_type, arm, day) DO UPDATE SET units = units + excluded.units
            """)
        for (k, days) in state.exposureDayDeltas {
            for (d, n) in days where n != 0 {
                try exposures.execute(arguments: [project, k.subject, k.unitType, k.arm, d, n])
            }
        }
        let metricDay = try db.cachedStatement(sql: """
            INSERT INTO pulse_metric_days (project_id, source, day, events, value_sum) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (project_id, source, day) DO UPDATE SET
                events = events + excluded.events, value_sum = value_sum + excluded.value_sum
            """)
        for (source, days) in state.metricDayDeltas {
            for (d, agg) in days {
                try metricDay.execute(arguments: [project, source, d, agg.events, agg.sum])
            }
        }
    }

    // MARK: - Reading rollups

    public func pulseSetAside(project: String, limit: Int) async throws -> (counts: [String: Int], recent: [PulseSetAside]) {
        try await db.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT reason, COUNT(*) AS n FROM pulse_set_aside WHERE project_id = ? GROUP BY reason
                """, arguments: [project]) {
                counts[row["reason"]] = row["n"]
            }
            let recent = try Row.fetchAll(db, sql: """
                SELECT event_id, event_name, time, reason, detail FROM pulse_set_aside WHERE project_id = ?
                ORDER BY event_id DESC LIMIT ?
                """, arguments: [project, max(0, min(limit, 1000))]).map {
                PulseSetAside(eventID: $0["event_id"], eventName: $0["event_name"], time: $0["time"],
                              reason: PulseSetAside.Reason(rawValue: $0["reason"]) ?? .failed, detail: $0["detail"])
            }
            return (counts, recent)
        }
    }

    public func pulseArms(project: String, subject: String, unitType: String) async throws -> PulseArmData {
        try await db.read { db in
            var data = PulseArmData()
            for row in try Row.fetchAll(db, sql: """
                SELECT arm, units FROM pulse_arm_units WHERE project_id = ? AND subject = ? AND unit_type = ?
                """, arguments: [project, subject, unitType]) {
                data.units[row["arm"]] = row["units"]
            }
            data.crossovers = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM pulse_assignments WHERE project_id = ? AND subject = ? AND unit_type = ? AND excluded = 1
                """, arguments: [project, subject, unitType]) ?? 0
            for row in try Row.fetchAll(db, sql: """
                SELECT arm, source, \(ArmSums.columns.joined(separator: ", ")) FROM pulse_arm_sums
                WHERE project_id = ? AND subject = ? AND unit_type = ?
                """, arguments: [project, subject, unitType]) {
                let values: [Double] = ArmSums.columns.map { row[$0] }
                data.sums[row["arm"], default: [:]][row["source"]] = ArmSums(values: values)
            }
            for row in try Row.fetchAll(db, sql: """
                SELECT arm, day, units FROM pulse_exposure_days WHERE project_id = ? AND subject = ? AND unit_type = ? AND units != 0
                """, arguments: [project, subject, unitType]) {
                data.exposureDays[row["day"], default: [:]][row["arm"]] = row["units"]
            }
            return data
        }
    }

    /// Every non-excluded unit's values of the given sources (units without events are absent).
    public func pulseUnitValues(project: String, subject: String, unitType: String, sources: [String]) async throws -> [PulseUnitRow] {
        try await db.read { db in
            var out: [PulseUnitRow] = []
            for source in sources {
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT v.unit, a.arm, v.post_count, v.post_sum, v.pre_count, v.pre_sum FROM pulse_unit_values v
                    JOIN pulse_assignments a ON a.project_id = v.project_id AND a.unit_type = v.unit_type AND a.unit = v.unit
                        AND a.subject = v.subject
                    WHERE v.project_id = ? AND v.subject = ? AND v.unit_type = ? AND v.source = ? AND a.excluded = 0
                    """, arguments: [project, subject, unitType, source])
                while let row = try rows.next() {
                    out.append(PulseUnitRow(
                        unit: row["unit"], arm: row["arm"], source: source,
                        values: UnitValues(postCount: row["post_count"], postSum: row["post_sum"],
                                           preCount: row["pre_count"], preSum: row["pre_sum"])))
                }
            }
            return out
        }
    }

    public func pulseTimelineRows(project: String, subject: String, unitType: String, sources: [String]) async throws
        -> (units: [PulseTimeline.Unit], days: [PulseTimeline.UnitDay])
    {
        try await db.read { db in
            let units = try Row.fetchAll(db, sql: """
                SELECT unit, arm, first_time FROM pulse_assignments
                WHERE project_id = ? AND subject = ? AND unit_type = ? AND excluded = 0
                """, arguments: [project, subject, unitType]
            ).map { PulseTimeline.Unit(unit: $0["unit"], arm: $0["arm"], firstTime: $0["first_time"]) }
            var days: [PulseTimeline.UnitDay] = []
            for source in sources {
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT d.unit, d.day, d.count, d.sum, d.min_time, d.max_time FROM pulse_unit_days d
                    JOIN pulse_assignments a ON a.project_id = d.project_id AND a.unit_type = d.unit_type AND a.unit = d.unit
                    WHERE a.project_id = ? AND a.subject = ? AND a.unit_type = ? AND a.excluded = 0 AND d.source = ?
                        AND d.day > a.first_time / \(PulseDay.millis) - 1
                    """, arguments: [project, subject, unitType, source])  // the division truncates: at worst a day early, which PulseTimeline skips
                while let row = try rows.next() {
                    days.append(PulseTimeline.UnitDay(
                        unit: row["unit"], source: source, day: row["day"],
                        aggregate: DayAggregate(count: row["count"], sum: row["sum"], minTime: row["min_time"], maxTime: row["max_time"])))
                }
            }
            return (units, days)
        }
    }

    public func pulseUnitDimension(project: String, subject: String, unitType: String, dimension: String) async throws -> [PulseUnitSlice] {
        guard PulseDimensions.isValidName(dimension) else { throw StoreError.invalid("not a drill-down field name: \(dimension)") }
        return try await db.read { db in
            var out: [PulseUnitSlice] = []
            // The name is quoted as a JSON path key; isValidName leaves no quote to escape.
            let rows = try Row.fetchCursor(db, sql: """
                SELECT unit, arm, json_extract(dimensions, ?) AS value FROM pulse_assignments
                WHERE project_id = ? AND subject = ? AND unit_type = ? AND excluded = 0
                """, arguments: ["$.\"" + dimension + "\"", project, subject, unitType])
            while let row = try rows.next() {
                out.append(PulseUnitSlice(unit: row["unit"], arm: row["arm"], value: row["value"]))  // values are stored as text
            }
            return out
        }
    }

    public func pulseSources(project: String) async throws -> [PulseSourceTotals] {
        try await db.read { db in
            try Row.fetchAll(db, sql: """
                SELECT source, SUM(events) AS events, SUM(value_sum) AS value_sum, MIN(day) AS first_day, MAX(day) AS last_day
                FROM pulse_metric_days WHERE project_id = ? GROUP BY source ORDER BY source
                """, arguments: [project]).map {
                PulseSourceTotals(source: $0["source"], events: $0["events"], valueSum: ($0["value_sum"] as Double?) ?? 0,
                                  firstDay: $0["first_day"], lastDay: $0["last_day"])
            }
        }
    }

    /// Daily totals of one source; unique units are distinct userIDs.
    public func pulseSeries(project: String, source: String) async throws -> [PulseSeriesDay] {
        try await db.read { db in
            var units: [Int64: Int] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT day, COUNT(*) AS units FROM pulse_unit_days
                WHERE project_id = ? AND unit_type = 'userID' AND source = ? GROUP BY day
                """, arguments: [project, source]) {
                units[row["day"]] = row["units"]
            }
            return try Row.fetchAll(db, sql: """
                SELECT day, events, value_sum FROM pulse_metric_days WHERE project_id = ? AND source = ? ORDER BY day
                """, arguments: [project, source]).map {
                let day: Int64 = $0["day"]
                return PulseSeriesDay(day: day, events: $0["events"], units: units[day] ?? 0, valueSum: $0["value_sum"])
            }
        }
    }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

/// How many events a rollup run takes. A run holds SQLite's one writer only to store its result,
/// so it is sized by that time: about 40 ms while anything else writes, and up to about 250 ms once
/// three runs in a row found the log quiet (nothing logged since the previous run looked, and the
/// writer free at once), as in a rebuild, where longer runs cost less per event. The wait for the
/// writer is not counted (a busy writer would otherwise shrink runs until the rollup starves). A
/// free writer alone is not enough: under steady ingest it is often free at the moment the rollup
/// asks, and a 250 ms write then holds every request that arrives during it.
struct RollupTransactionSizing {
    var events = 1_000
    var quietStreak = 0
    /// The log's head when the previous run looked.
    var lastHead: Int64?
    static let quietStreakForLongTransactions = 3
    static let target = (contended: 0.04, quiet: 0.25)
    static let range = 200...25_000

    mutating func record(events taken: Int, took: Duration, waited: Duration, head: Int64) {
        let logQuiet = lastHead == head
        lastHead = head
        guard taken >= 50 else { return }
        let perEvent = max(took.seconds / Double(taken), 1e-7)
        quietStreak = logQuiet && waited < .milliseconds(2) ? quietStreak + 1 : 0
        let target = quietStreak >= Self.quietStreakForLongTransactions ? Self.target.quiet : Self.target.contended
        // Down to what fits at once (a long transaction must not outlast the moment ingest came
        // back), up halfway.
        let fits = target / perEvent
        let next = fits < Double(events) ? fits : (Double(events) + fits) / 2
        events = Int(min(Double(Self.range.upperBound), max(Double(Self.range.lowerBound), next)))
    }
}
