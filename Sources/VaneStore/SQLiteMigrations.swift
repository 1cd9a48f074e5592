import GRDB
import VanePulse

/// Ordered schema migrations for the SQLite store. Never edit a shipped migration: add one.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("001_projects_keys") { db in
            try db.execute(sql: """
                CREATE TABLE projects (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL, config_time INTEGER NOT NULL);
                CREATE TABLE environments (
                    project_id TEXT NOT NULL, name TEXT NOT NULL, position INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name));
                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY, project_id TEXT NOT NULL, kind TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
                    display_prefix TEXT NOT NULL, environment TEXT, description TEXT NOT NULL,
                    created_at INTEGER NOT NULL, revoked_at INTEGER);
                """)
        }
        m.registerMigration("002_entities_audit") { db in
            try db.execute(sql: """
                CREATE TABLE entities (
                    project_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL,
                    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, kind, name));
                CREATE TABLE custom_id_types (
                    project_id TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name));
                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, project_id TEXT NOT NULL, at INTEGER NOT NULL,
                    actor TEXT NOT NULL, action TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
                    environment TEXT, before_json TEXT, after_json TEXT, description TEXT NOT NULL);
                CREATE INDEX audit_log_by_entity ON audit_log (project_id, kind, name, id);
                """)
        }
        m.registerMigration("003_id_lists") { db in
            try db.execute(sql: """
                CREATE TABLE id_lists (
                    project_id TEXT NOT NULL, name TEXT NOT NULL, file_id TEXT NOT NULL,
                    creation_time INTEGER NOT NULL, member_count INTEGER NOT NULL DEFAULT 0,
                    line_count INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name));
                CREATE TABLE id_list_members (
                    project_id TEXT NOT NULL, list TEXT NOT NULL, unit_id TEXT NOT NULL, hashed TEXT NOT NULL,
                    updated_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, list, unit_id));
                -- The append-only log SDKs download: one fixed-width line ("+" or "-", 8 chars, "\\n") per change.
                CREATE TABLE id_list_log (
                    project_id TEXT NOT NULL, list TEXT NOT NULL, file_id TEXT NOT NULL, line INTEGER NOT NULL,
                    op TEXT NOT NULL, hashed TEXT NOT NULL, unit_id TEXT NOT NULL, source TEXT NOT NULL, at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, list, file_id, line));
                """)
        }
        m.registerMigration("004_events") { db in
            try db.execute(sql: """
                CREATE TABLE events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, project_id TEXT NOT NULL, event_name TEXT NOT NULL,
                    user_id TEXT, stable_id TEXT, custom_ids TEXT, user_json TEXT NOT NULL, environment TEXT,
                    value_num REAL, value_text TEXT, metadata TEXT, secondary_exposures TEXT,
                    time INTEGER NOT NULL, received_at INTEGER NOT NULL, source TEXT NOT NULL, sdk_type TEXT);
                CREATE INDEX events_by_time ON events (project_id, time, id);
                CREATE INDEX events_by_name ON events (project_id, event_name, time);
                CREATE INDEX events_by_user ON events (project_id, user_id, time);
                """)
        }
        m.registerMigration("005_segment_inbound") { db in
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN raw TEXT;
                ALTER TABLE events ADD COLUMN message_id TEXT;
                CREATE TABLE dedupe_keys (
                    project_id TEXT NOT NULL, scope TEXT NOT NULL, message_id TEXT NOT NULL, first_seen INTEGER NOT NULL,
                    PRIMARY KEY (project_id, scope, message_id));
                CREATE TABLE usage_counts (
                    project_id TEXT NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL, category TEXT NOT NULL,
                    reason TEXT NOT NULL, count INTEGER NOT NULL,
                    PRIMARY KEY (project_id, day, source, category, reason));
                CREATE TABLE settings (
                    project_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name));
                CREATE TABLE audience_membership (
                    project_id TEXT NOT NULL, list TEXT NOT NULL, unit_id TEXT NOT NULL, member INTEGER NOT NULL,
                    event_time INTEGER NOT NULL,
                    PRIMARY KEY (project_id, list, unit_id));
                """)
        }
        m.registerMigration("006_segment_outbound") { db in
            try db.execute(sql: """
                CREATE TABLE outbound_state (
                    project_id TEXT PRIMARY KEY, event_cursor INTEGER NOT NULL, audit_cursor INTEGER NOT NULL,
                    delivered INTEGER NOT NULL, requests INTEGER NOT NULL, last_success INTEGER, last_error TEXT,
                    last_error_time INTEGER);
                CREATE TABLE dead_letters (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, project_id TEXT NOT NULL, message TEXT NOT NULL,
                    reason TEXT NOT NULL, created_at INTEGER NOT NULL, retry_requested INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX dead_letters_by_project ON dead_letters (project_id, retry_requested, id);
                """)
        }
        m.registerMigration("007_pulse_rollups") { db in
            // Incremental Pulse rollups (see PulseRollup.swift). Days are integers: days since 1970-01-01 UTC.
            let sums = ArmSums.columns.map { "\($0) REAL NOT NULL DEFAULT 0" }.joined(separator: ", ")
            try db.execute(sql: """
                CREATE TABLE pulse_state (
                    project_id TEXT PRIMARY KEY, cursor INTEGER NOT NULL, version TEXT NOT NULL, rebuilt_at INTEGER);
                CREATE TABLE pulse_assignments (
                    project_id TEXT NOT NULL, unit_type TEXT NOT NULL, unit TEXT NOT NULL, subject TEXT NOT NULL,
                    arm TEXT NOT NULL, first_time INTEGER NOT NULL, excluded INTEGER NOT NULL,
                    PRIMARY KEY (project_id, unit_type, unit, subject)) WITHOUT ROWID;
                CREATE INDEX pulse_assignments_by_subject ON pulse_assignments (project_id, subject, unit_type, excluded);
                CREATE TABLE pulse_unit_values (
                    project_id TEXT NOT NULL, unit_type TEXT NOT NULL, unit TEXT NOT NULL, subject TEXT NOT NULL,
                    source TEXT NOT NULL, post_count REAL NOT NULL, post_sum REAL NOT NULL, pre_count REAL NOT NULL,
                    pre_sum REAL NOT NULL,
                    PRIMARY KEY (project_id, unit_type, unit, subject, source)) WITHOUT ROWID;
                CREATE INDEX pulse_unit_values_by_subject ON pulse_unit_values (project_id, subject, unit_type, source);
                CREATE TABLE pulse_unit_days (
                    project_id TEXT NOT NULL, unit_type TEXT NOT NULL, unit TEXT NOT NULL, day INTEGER NOT NULL,
                    source TEXT NOT NULL, count REAL NOT NULL, sum REAL NOT NULL, min_time INTEGER NOT NULL,
                    max_time INTEGER NOT NULL,
                    PRIMARY KEY (project_id, unit_type, unit, day, source)) WITHOUT ROWID;
                CREATE INDEX pulse_unit_days_by_source ON pulse_unit_days (project_id, unit_type, source, day);
                CREATE TABLE pulse_arm_units (
                    project_id TEXT NOT NULL, subject TEXT NOT NULL, unit_type TEXT NOT NULL, arm TEXT NOT NULL,
                    units INTEGER NOT NULL,
                    PRIMARY KEY (project_id, subject, unit_type, arm));
                CREATE TABLE pulse_arm_sums (
                    project_id TEXT NOT NULL, subject TEXT NOT NULL, unit_type TEXT NOT NULL, arm TEXT NOT NULL,
                    source TEXT NOT NULL, \(sums),
                    PRIMARY KEY (project_id, subject, unit_type, arm, source));
                CREATE TABLE pulse_exposure_days (
                    project_id TEXT NOT NULL, subject TEXT NOT NULL, unit_type TEXT NOT NULL, arm TEXT NOT NULL,
                    day INTEGER NOT NULL, units INTEGER NOT NULL,
                    PRIMARY KEY (project_id, subject, unit_type, arm, day));
                CREATE TABLE pulse_metric_days (
                    project_id TEXT NOT NULL, source TEXT NOT NULL, day INTEGER NOT NULL, events INTEGER NOT NULL,
                    value_sum REAL NOT NULL,
                    PRIMARY KEY (project_id, source, day));
                """)
        }
        m.registerMigration("008_console_users") { db in
            try db.execute(sql: """
                CREATE TABLE console_users (
                    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, name TEXT NOT NULL,
                    role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL, disabled_at INTEGER);
                CREATE TABLE console_sessions (
                    token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
                    csrf_token TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
                CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
                """)
        }
        m.registerMigration("009_pulse_set_aside") { db in
            // Events the Pulse rollup could not use (time or value out of range, or failing), with the reason.
            try db.execute(sql: """
                CREATE TABLE pulse_set_aside (
                    project_id TEXT NOT NULL, event_id INTEGER NOT NULL, event_name TEXT NOT NULL, time INTEGER NOT NULL,
                    reason TEXT NOT NULL, detail TEXT NOT NULL,
                    PRIMARY KEY (project_id, event_id));
                """)
        }
        m.registerMigration("010_key_allowed_origins") { db in
            // Browser origins a client key may be used from (JSON list); NULL: any origin.
            try db.execute(sql: "ALTER TABLE api_keys ADD COLUMN allowed_origins TEXT")
        }
        m.registerMigration("011_parameter_stores") { db in
            try db.execute(sql: """
                CREATE TABLE parameter_stores (
                    project_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, parameters TEXT NOT NULL,
                    version INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name));
                """)
        }
        m.registerMigration("012_event_classes") { db in
            // What the code used to find with `event_name LIKE 'statsig::%'`: is_exposure for the
            // exposure events (ExposureKind), is_reserved for any name in the SDKs' `statsig::`
            // namespace (exposures and internal events such as diagnostics). Matched case-sensitively,
            // as the code compares names. The names below are frozen: this migration never changes.
            try db.execute(sql: """
                ALTER TABLE events ADD COLUMN is_exposure INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE events ADD COLUMN is_reserved INTEGER NOT NULL DEFAULT 0;
                UPDATE events SET is_reserved = 1 WHERE substr(event_name, 1, 9) = 'statsig::';
                UPDATE events SET is_exposure = 1 WHERE event_name IN (
                    'statsig::gate_exposure', 'statsig::config_exposure', 'statsig::layer_exposure',
                    'statsig::experiment_exposure');
                """)
        }
        m.registerMigration("013_job_leases") { db in
            // One runner per background job (JobLeases); with SQLite's one process it is always this one.
            try db.execute(sql: """
                CREATE TABLE job_leases (
                    job TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at INTEGER NOT NULL, acquired_at INTEGER NOT NULL);
                """)
        }
        m.registerMigration("014_change_version") { db in
            // The ChangeFeed counter: every change to what SDK answers depend on bumps it.
            try db.execute(sql: "CREATE TABLE change_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL); INSERT INTO change_version VALUES (1, 0)")
            for table in ChangeFeedSchema.watchedTables {
                for op in ["INSERT", "UPDATE", "DELETE"] {
                    try db.execute(sql: """
                        CREATE TRIGGER \(table)_\(op.lowercased())_changes AFTER \(op) ON \(table)
                        BEGIN UPDATE change_version SET version = version + 1 WHERE id = 1; END
                        """)
                }
            }
        }
        m.registerMigration("015_metrics") { db in
            // Metrics move out of the one `pulse_metrics` settings document, which every edit rewrote whole.
            try db.execute(sql: """
                CREATE TABLE metrics (
                    project_id TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL, updated_at INTEGER NOT NULL,
                    PRIMARY KEY (project_id, name));
                INSERT OR IGNORE INTO metrics (project_id, name, definition, updated_at)
                    SELECT s.project_id, json_extract(m.value, '$.name'), m.value, s.updated_at
                    FROM settings s, json_each(s.value, '$.metrics') m
                    WHERE s.name = 'pulse_metrics' AND json_type(m.value, '$.name') = 'text';
                DELETE FROM settings WHERE name = 'pulse_metrics';
                """)
        }
        m.registerMigration("016_webhooks") { db in
            // Signed configuration-change webhooks (WebhookRepository): definition and delivery state in
            // one row, written by different statements so neither overwrites the other.
            try db.execute(sql: """
                CREATE TABLE webhooks (
                    project_id TEXT NOT NULL, id TEXT NOT NULL, url TEXT NOT NULL, description TEXT NOT NULL,
                    kinds TEXT NOT NULL, enabled INTEGER NOT NULL, secret TEXT NOT NULL, previous_secret TEXT,
                    previous_secret_expires_at INTEGER, max_attempts INTEGER NOT NULL, created_at INTEGER NOT NULL,
                    audit_cursor INTEGER NOT NULL, delivered INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL DEFAULT 0, last_success INTEGER, last_error TEXT, last_error_time INTEGER,
                    PRIMARY KEY (project_id, id));
                CREATE TABLE webhook_dead_letters (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, project_id TEXT NOT NULL, webhook_id TEXT NOT NULL,
                    audit_id INTEGER NOT NULL, payload TEXT NOT NULL, reason TEXT NOT NULL, created_at INTEGER NOT NULL,
                    retry_requested INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX webhook_dead_letters_by_webhook ON webhook_dead_letters (project_id, webhook_id, retry_requested, id);
                """)
        }
        m.registerMigration("017_assignment_dimensions") { db in
            // The drill-down fields of each unit's first exposure (PulseDimensions), as a JSON object.
            // The rollup's rules version moved with it, so existing rollups are rebuilt to fill it.
            try db.execute(sql: "ALTER TABLE pulse_assignments ADD COLUMN dimensions TEXT")
        }
        return m
    }
}

/// The tables whose changes SDK answers depend on; both databases' triggers watch these.
enum ChangeFeedSchema {
    static let watchedTables = ["projects", "environments", "api_keys", "entities", "custom_id_types", "id_lists", "parameter_stores", "settings"]
}
