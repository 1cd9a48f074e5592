import Logging
import PostgresNIO
import VanePulse

/// Ordered schema migrations for the PostgreSQL store. Never edit a shipped migration: add one.
/// The first one is the SQLite schema of migrations 001–012 as it stood when PostgreSQL arrived.
///
/// Several nodes may start at once on an empty database: `migrate` runs under a session advisory
/// lock, so one applies the migrations and the others wait and then find them applied. A node that
/// finds a migration it does not know (a newer Vane wrote it) refuses to run.
enum PostgresMigrations {
    static let advisoryLock: Int64 = 0x7661_6e65_0001  // "vane" 1
    /// The channel the change triggers notify (named in migration 003).
    static let changeChannel = "vane_changes"

    static let all: [(name: String, sql: String)] = [
        ("001_initial", initial),
        ("002_job_leases", """
            -- One runner per background job across nodes (see JobLeases).
            CREATE TABLE job_leases (
                job TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL, acquired_at BIGINT NOT NULL);
            """),
        ("003_change_version", changeVersion),
        ("004_metrics", """
            -- Metrics move out of the one `pulse_metrics` settings document, which every edit rewrote whole.
            CREATE TABLE metrics (
                project_id TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL, updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, name));
            INSERT INTO metrics (project_id, name, definition, updated_at)
                SELECT s.project_id, m.value->>'name', m.value::text, s.updated_at
                FROM settings s, jsonb_array_elements(s.value::jsonb->'metrics') m
                WHERE s.name = 'pulse_metrics' AND jsonb_typeof(m.value->'name') = 'string'
                ON CONFLICT DO NOTHING;
            DELETE FROM settings WHERE name = 'pulse_metrics';
            """),
        ("005_webhooks", """
            -- Signed configuration-change webhooks (WebhookRepository): definition and delivery state in
            -- one row, written by different statements so neither overwrites the other.
            CREATE TABLE webhooks (
                project_id TEXT NOT NULL, id TEXT NOT NULL, url TEXT NOT NULL, description TEXT NOT NULL,
                kinds TEXT NOT NULL, enabled BOOLEAN NOT NULL, secret TEXT NOT NULL, previous_secret TEXT,
                previous_secret_expires_at BIGINT, max_attempts BIGINT NOT NULL, created_at BIGINT NOT NULL,
                audit_cursor BIGINT NOT NULL, delivered BIGINT NOT NULL DEFAULT 0, attempts BIGINT NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL DEFAULT 0, last_success BIGINT, last_error TEXT, last_error_time BIGINT,
                PRIMARY KEY (project_id, id));
            CREATE TABLE webhook_dead_letters (
                id BIGSERIAL PRIMARY KEY, project_id TEXT NOT NULL, webhook_id TEXT NOT NULL,
                audit_id BIGINT NOT NULL, payload TEXT NOT NULL, reason TEXT NOT NULL, created_at BIGINT NOT NULL,
                retry_requested BOOLEAN NOT NULL DEFAULT false);
            CREATE INDEX webhook_dead_letters_by_webhook ON webhook_dead_letters (project_id, webhook_id, retry_requested, id);
            """),
        ("006_assignment_dimensions", """
            -- The drill-down fields of each unit's first exposure (PulseDimensions), as a JSON object.
            -- The rollup's rules version moved with it, so existing rollups are rebuilt to fill it.
            ALTER TABLE pulse_assignments ADD COLUMN dimensions TEXT;
            """),
    ]

    /// The ChangeFeed counter, bumped by statement triggers in the changing transaction, which also
    /// notify channel `vane_changes` (delivered at commit) for nodes that listen.
    static var changeVersion: String {
        var sql = """
            CREATE TABLE change_version (id INT PRIMARY KEY CHECK (id = 1), version BIGINT NOT NULL);
            INSERT INTO change_version VALUES (1, 0);
            CREATE FUNCTION vane_note_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE change_version SET version = version + 1 WHERE id = 1; PERFORM pg_notify('vane_changes', TG_TABLE_NAME); RETURN NULL; END $$;

            """
        for table in ChangeFeedSchema.watchedTables {
            sql += "CREATE TRIGGER \(table)_changes AFTER INSERT OR UPDATE OR DELETE ON \(table) FOR EACH STATEMENT EXECUTE FUNCTION vane_note_change();\n"
        }
        return sql
    }

    /// Migrations this binary knows, in order; `latest` is the schema it writes.
    static var latest: String { all.last!.name }

    struct NewerSchema: Error, CustomStringConvertible {
        var unknown: [String]
        var description: String {
            "the database schema is newer than this Vane (it has \(unknown.joined(separator: ", ")); this Vane knows up to \(PostgresMigrations.latest)): upgrade this node"
        }
    }

    static func migrate(_ db: PostgresDatabase) async throws {
        try await db.client.withConnection { connection in
            let c = db.connection(connection)
            try await c.execute("SELECT pg_advisory_lock(?)", [advisoryLock])
            do {
                try await apply(c)
                try await c.execute("SELECT pg_advisory_unlock(?)", [advisoryLock])
            } catch {
                _ = try? await c.execute("SELECT pg_advisory_unlock(?)", [advisoryLock])
                throw error
            }
        }
    }

    private static func apply(_ c: PGConnection) async throws {
        try await c.execute("CREATE TABLE IF NOT EXISTS vane_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        let applied = Set(try await c.fetchAll("SELECT name FROM vane_migrations").map { try $0.get("name", as: String.self) })
        let known = Set(all.map(\.name))
        let unknown = applied.subtracting(known).sorted()
        if !unknown.isEmpty { throw NewerSchema(unknown: unknown) }
        for m in all where !applied.contains(m.name) {
            try await c.execute("BEGIN")
            do {
                for statement in statements(m.sql) { try await c.execute(statement) }
                try await c.execute("INSERT INTO vane_migrations (name) VALUES (?)", [m.name])
                try await c.execute("COMMIT")
            } catch {
                _ = try? await c.execute("ROLLBACK")
                throw error
            }
        }
    }

    /// The extended protocol takes one statement at a time: split on `;` at line ends.
    static func statements(_ sql: String) -> [String] {
        sql.components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .map { $0.hasSuffix(";") ? String($0.dropLast()) : $0 }
            .filter { !$0.isEmpty && !$0.split(separator: "\n").allSatisfy { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--") } }
    }

    static var initial: String {
        let sums = ArmSums.columns.map { "\($0) DOUBLE PRECISION NOT NULL DEFAULT 0" }.joined(separator: ", ")
        return """
            CREATE TABLE projects (
                id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at BIGINT NOT NULL, config_time BIGINT NOT NULL);
            CREATE TABLE environments (
                project_id TEXT NOT NULL, name TEXT NOT NULL, position BIGINT NOT NULL,
                PRIMARY KEY (project_id, name));
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY, project_id TEXT NOT NULL, kind TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
                display_prefix TEXT NOT NULL, environment TEXT, description TEXT NOT NULL,
                created_at BIGINT NOT NULL, revoked_at BIGINT, allowed_origins TEXT);
            CREATE TABLE entities (
                project_id TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, definition TEXT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, kind, name));
            CREATE TABLE custom_id_types (
                project_id TEXT NOT NULL, name TEXT NOT NULL, created_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, name));
            -- Appended only under the audit-log append lock (see docs/event-log.md): ids are in commit order.
            CREATE TABLE audit_log (
                id BIGSERIAL PRIMARY KEY, project_id TEXT NOT NULL, at BIGINT NOT NULL,
                actor TEXT NOT NULL, action TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
                environment TEXT, before_json TEXT, after_json TEXT, description TEXT NOT NULL);
            CREATE INDEX audit_log_by_entity ON audit_log (project_id, kind, name, id);
            CREATE INDEX audit_log_by_project ON audit_log (project_id, id);
            CREATE TABLE id_lists (
                project_id TEXT NOT NULL, name TEXT NOT NULL, file_id TEXT NOT NULL,
                creation_time BIGINT NOT NULL, member_count BIGINT NOT NULL DEFAULT 0,
                line_count BIGINT NOT NULL DEFAULT 0, updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, name));
            CREATE INDEX id_lists_by_file ON id_lists (file_id);
            CREATE TABLE id_list_members (
                project_id TEXT NOT NULL, list TEXT NOT NULL, unit_id TEXT NOT NULL, hashed TEXT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, list, unit_id));
            CREATE TABLE id_list_log (
                project_id TEXT NOT NULL, list TEXT NOT NULL, file_id TEXT NOT NULL, line BIGINT NOT NULL,
                op TEXT NOT NULL, hashed TEXT NOT NULL, unit_id TEXT NOT NULL, source TEXT NOT NULL, at BIGINT NOT NULL,
                PRIMARY KEY (project_id, list, file_id, line));
            -- Appended only under the event-log append lock (see docs/event-log.md): ids are in commit order.
            CREATE TABLE events (
                id BIGSERIAL PRIMARY KEY, project_id TEXT NOT NULL, event_name TEXT NOT NULL,
                user_id TEXT, stable_id TEXT, custom_ids TEXT, user_json TEXT NOT NULL, environment TEXT,
                value_num DOUBLE PRECISION, value_text TEXT, metadata TEXT, secondary_exposures TEXT,
                time BIGINT NOT NULL, received_at BIGINT NOT NULL, source TEXT NOT NULL, sdk_type TEXT,
                raw TEXT, message_id TEXT, is_exposure BOOLEAN NOT NULL DEFAULT false, is_reserved BOOLEAN NOT NULL DEFAULT false);
            CREATE INDEX events_by_time ON events (project_id, time, id);
            CREATE INDEX events_by_name ON events (project_id, event_name, time);
            CREATE INDEX events_by_user ON events (project_id, user_id, time);
            CREATE INDEX events_by_stable_id ON events (project_id, stable_id, time);
            CREATE INDEX events_by_project_id ON events (project_id, id);
            CREATE TABLE dedupe_keys (
                project_id TEXT NOT NULL, scope TEXT NOT NULL, message_id TEXT NOT NULL, first_seen BIGINT NOT NULL,
                PRIMARY KEY (project_id, scope, message_id));
            CREATE TABLE usage_counts (
                project_id TEXT NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL, category TEXT NOT NULL,
                reason TEXT NOT NULL, count BIGINT NOT NULL,
                PRIMARY KEY (project_id, day, source, category, reason));
            CREATE TABLE settings (
                project_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, name));
            CREATE TABLE audience_membership (
                project_id TEXT NOT NULL, list TEXT NOT NULL, unit_id TEXT NOT NULL, member BOOLEAN NOT NULL,
                event_time BIGINT NOT NULL,
                PRIMARY KEY (project_id, list, unit_id));
            CREATE TABLE outbound_state (
                project_id TEXT PRIMARY KEY, event_cursor BIGINT NOT NULL, audit_cursor BIGINT NOT NULL,
                delivered BIGINT NOT NULL, requests BIGINT NOT NULL, last_success BIGINT, last_error TEXT,
                last_error_time BIGINT);
            CREATE TABLE dead_letters (
                id BIGSERIAL PRIMARY KEY, project_id TEXT NOT NULL, message TEXT NOT NULL,
                reason TEXT NOT NULL, created_at BIGINT NOT NULL, retry_requested BOOLEAN NOT NULL DEFAULT false);
            CREATE INDEX dead_letters_by_project ON dead_letters (project_id, retry_requested, id);
            CREATE TABLE pulse_state (
                project_id TEXT PRIMARY KEY, cursor BIGINT NOT NULL, version TEXT NOT NULL, rebuilt_at BIGINT);
            CREATE TABLE pulse_assignments (
                project_id TEXT NOT NULL, unit_type TEXT NOT NULL, unit TEXT NOT NULL, subject TEXT NOT NULL,
                arm TEXT NOT NULL, first_time BIGINT NOT NULL, excluded BOOLEAN NOT NULL,
                PRIMARY KEY (project_id, unit_type, unit, subject));
            CREATE INDEX pulse_assignments_by_subject ON pulse_assignments (project_id, subject, unit_type, excluded);
            CREATE TABLE pulse_unit_values (
                project_id TEXT NOT NULL, unit_type TEXT NOT NULL, unit TEXT NOT NULL, subject TEXT NOT NULL,
                source TEXT NOT NULL, post_count DOUBLE PRECISION NOT NULL, post_sum DOUBLE PRECISION NOT NULL,
                pre_count DOUBLE PRECISION NOT NULL, pre_sum DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (project_id, unit_type, unit, subject, source));
            CREATE INDEX pulse_unit_values_by_subject ON pulse_unit_values (project_id, subject, unit_type, source);
            CREATE TABLE pulse_unit_days (
                project_id TEXT NOT NULL, unit_type TEXT NOT NULL, unit TEXT NOT NULL, day BIGINT NOT NULL,
                source TEXT NOT NULL, count DOUBLE PRECISION NOT NULL, sum DOUBLE PRECISION NOT NULL,
                min_time BIGINT NOT NULL, max_time BIGINT NOT NULL,
                PRIMARY KEY (project_id, unit_type, unit, day, source));
            CREATE INDEX pulse_unit_days_by_source ON pulse_unit_days (project_id, unit_type, source, day);
            CREATE TABLE pulse_arm_units (
                project_id TEXT NOT NULL, subject TEXT NOT NULL, unit_type TEXT NOT NULL, arm TEXT NOT NULL,
                units BIGINT NOT NULL,
                PRIMARY KEY (project_id, subject, unit_type, arm));
            CREATE TABLE pulse_arm_sums (
                project_id TEXT NOT NULL, subject TEXT NOT NULL, unit_type TEXT NOT NULL, arm TEXT NOT NULL,
                source TEXT NOT NULL, \(sums),
                PRIMARY KEY (project_id, subject, unit_type, arm, source));
            CREATE TABLE pulse_exposure_days (
                project_id TEXT NOT NULL, subject TEXT NOT NULL, unit_type TEXT NOT NULL, arm TEXT NOT NULL,
                day BIGINT NOT NULL, units BIGINT NOT NULL,
                PRIMARY KEY (project_id, subject, unit_type, arm, day));
            CREATE TABLE pulse_metric_days (
                project_id TEXT NOT NULL, source TEXT NOT NULL, day BIGINT NOT NULL, events BIGINT NOT NULL,
                value_sum DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (project_id, source, day));
            CREATE TABLE pulse_set_aside (
                project_id TEXT NOT NULL, event_id BIGINT NOT NULL, event_name TEXT NOT NULL, time BIGINT NOT NULL,
                reason TEXT NOT NULL, detail TEXT NOT NULL,
                PRIMARY KEY (project_id, event_id));
            CREATE TABLE console_users (
                id TEXT PRIMARY KEY, email TEXT NOT NULL, name TEXT NOT NULL,
                role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at BIGINT NOT NULL, disabled_at BIGINT);
            CREATE UNIQUE INDEX console_users_by_email ON console_users (lower(email));
            CREATE TABLE console_sessions (
                token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES console_users(id) ON DELETE CASCADE,
                csrf_token TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
            CREATE INDEX console_sessions_by_user ON console_sessions (user_id);
            CREATE TABLE parameter_stores (
                project_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL, parameters TEXT NOT NULL,
                version BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                PRIMARY KEY (project_id, name));
            """
    }
}
