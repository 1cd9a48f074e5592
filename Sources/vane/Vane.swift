import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Metrics
import Prometheus
import VaneCore
import VaneServer
import VaneStore

@main
struct Vane: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vane",
        abstract: "Vane: a self-hosted, Statsig-compatible experimentation server.",
        subcommands: [Serve.self, Import.self, Pulse.self, Users.self, Store.self, Backup.self, Restore.self, Prune.self, Check.self, Secrets.self, Bench.self])
}

struct DataDirOption: ParsableArguments {
    @Option(name: .long, help: "Directory of the embedded SQLite store.")
    var dataDir: String = "./vane-data"
    @Option(name: .long, help: ArgumentHelp(
        "PostgreSQL to run on instead of SQLite: postgres://user[:password]@host[:port]/database[?sslmode=…] (also VANE_DATABASE_URL).",
        valueName: "url"))
    var databaseURL: String?

    /// Which store the command works on: the flag, else VANE_DATABASE_URL, else SQLite in --data-dir.
    func location() throws -> StoreLocation {
        do {
            return try StoreLocation(dataDir: dataDir, databaseURL: databaseURL ?? ProcessInfo.processInfo.environment["VANE_DATABASE_URL"])
        } catch let e as DatabaseURL.Invalid {
            throw ArgumentParser.ValidationError(e.description)
        }
    }

    func openStore() async throws -> any VaneStore {
        try await StoreFactory.open(try location())
    }

    /// For the commands that work on the SQLite file itself (backup, restore, check).
    func requireSQLite(_ command: String) throws {
        if case .postgres = try location() {
            throw ArgumentParser.ValidationError("vane \(command) works on the embedded SQLite store; on PostgreSQL use pg_dump and pg_restore (docs/deploy.md)")
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: on the embedded SQLite store in --data-dir, or with --database-url as one of several nodes on PostgreSQL.")

    @OptionGroup var data: DataDirOption
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on.") var port: Int = 8787
    @Option(help: "Base URL SDKs reach this server at (used in ID-list file URLs); defaults to the request's Host.")
    var publicURL: String?
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: String = "info"
    @Option(help: "Delete events older than this many days (by event time), in the background; kept forever when absent.")
    var retainEventsDays: Int?
    @Option(help: "Bearer token that may read /metrics (also VANE_METRICS_TOKEN); console keys always may.")
    var metricsToken: String?
    @Option(help: "Requests a second each key may make to the SDK and ingest endpoints (429 with Retry-After past it); unlimited when absent.")
    var rateLimit: Double?
    @Option(help: "Seconds a connection has to send a request's headers (and the keep-alive idle limit).")
    var headerTimeout: Int = 30
    @Option(help: "Seconds a request has to send its body after its headers.")
    var bodyTimeout: Int = 120
    @Option(help: "Seconds between looks for scheduled rollout steps that are due.")
    var scheduleInterval: Double = 5
    @Option(help: "Seconds between checks of the guardrail metrics of running gate rollouts and experiments.")
    var guardrailInterval: Double = 60
    @Option(help: "Seconds between runs of the background Pulse rollup; 0 turns it off (results then catch up when asked for).")
    var rollupInterval: Double = 1

    func validate() throws {
        if let retainEventsDays, !(1...EventRetention.maxDays).contains(retainEventsDays) {
            throw ArgumentParser.ValidationError("--retain-events-days must be between 1 and \(EventRetention.maxDays)")
        }
        if let rateLimit, !(rateLimit >= 0.01 && rateLimit <= 1_000_000) {
            throw ArgumentParser.ValidationError("--rate-limit must be between 0.01 and 1000000 requests a second")
        }
        guard (1...3600).contains(headerTimeout) else { throw ArgumentParser.ValidationError("--header-timeout must be 1 to 3600 seconds") }
        guard (1...3600).contains(bodyTimeout) else { throw ArgumentParser.ValidationError("--body-timeout must be 1 to 3600 seconds") }
        guard scheduleInterval >= 0.1, scheduleInterval <= 3600 else {
            throw ArgumentParser.ValidationError("--schedule-interval must be 0.1 to 3600 seconds")
        }
        guard guardrailInterval >= 0.1, guardrailInterval <= 86_400 else {
            throw ArgumentParser.ValidationError("--guardrail-interval must be 0.1 to 86400 seconds")
        }
        guard rollupInterval == 0 || (rollupInterval >= 0.1 && rollupInterval <= 3600) else {
            throw ArgumentParser.ValidationError("--rollup-interval must be 0 (off) or 0.1 to 3600 seconds")
        }
        guard (1...65535).contains(port) else { throw ArgumentParser.ValidationError("--port must be 1 to 65535") }
    }

    func run() async throws {
        var logger = Logger(label: "vane")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        let location = try data.location()
        let store: any VaneStore
        do {
            store = try await StoreFactory.open(location, logger: logger)
        } catch {
            // Unreachable database, newer schema: say so plainly and exit non-zero.
            throw StartupFailure(message: "\(error)")
        }
        let env = ProcessInfo.processInfo.environment
        let issued = try await store.bootstrap(
            preset: PresetKeys(
                server: env["VANE_SERVER_SECRET"], client: env["VANE_CLIENT_KEY"], console: env["VANE_CONSOLE_KEY"],
                segmentWriteKey: env["VANE_SEGMENT_WRITE_KEY"]),
            now: Int64(Date().timeIntervalSince1970 * 1000))
        if !issued.isEmpty {
            print("Created project 'default' with environments development, staging, production.")
            print("Its keys are shown only this once; keep them somewhere safe:")
            for k in issued { print("  \(k.key.kind.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(k.secret)") }
            // stdout is block-buffered when redirected to a file; the keys must reach it now.
            fflush(nil)
        }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        if location.isShared, (env["VANE_SECRETS_KEY"] ?? "").isEmpty {
            throw StartupFailure(message: "on PostgreSQL every node must seal integration secrets with the same key: set VANE_SECRETS_KEY (32 random bytes, base64: openssl rand -base64 32) on every node")
        }
        let secrets = try SecretBox.load(environment: env, dataDir: location.isShared ? nil : data.dataDir)
        let services = VaneServices(
            store: store, metrics: registry, logger: logger, requestsPerSecondPerKey: rateLimit, secrets: secrets)
        do {
            try await services.checkSecretsOpen()
        } catch let e as SecretBox.OpenError {
            throw StartupFailure(message: "\(e)")
        }
        let resealed = try await services.resealSecrets(actor: "vane serve (startup)")
        if resealed > 0 { logger.notice("sealed stored integration secrets with the current key", metadata: ["settings": "\(resealed)"]) }
        var config = AppConfig()
        config.host = host
        config.port = port
        config.publicURL = publicURL
        config.retainEventsDays = retainEventsDays
        config.metricsToken = metricsToken ?? env["VANE_METRICS_TOKEN"]
        config.headerTimeout = .seconds(headerTimeout)
        config.bodyTimeout = .seconds(bodyTimeout)
        config.scheduleInterval = .milliseconds(Int64(scheduleInterval * 1000))
        config.guardrailInterval = .milliseconds(Int64(guardrailInterval * 1000))
        config.rollupInterval = rollupInterval == 0 ? nil : .milliseconds(Int64(rollupInterval * 1000))
        logger.info("starting", metadata: ["store": "\(location)", "address": "\(host):\(port)"])
        try await buildApplication(services, config: config, logger: logger).runService()
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import rules into the store.", subcommands: [ImportStatsig.self])
}

struct ImportStatsig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "statsig", abstract: "Import a Statsig download_config_specs (v1) document.")

    @OptionGroup var data: DataDirOption
    @Argument(help: "Path to the JSON document.") var file: String

    func run() async throws {
        guard let bytes = FileManager.default.contents(atPath: file) else { throw ArgumentParser.ValidationError("cannot read \(file)") }
        let document = try JSONValue.parse(Array(bytes))
        let store = try await data.openStore()
        _ = try await store.bootstrap(preset: PresetKeys(), now: Int64(Date().timeIntervalSince1970 * 1000))
        let result = try await VaneServices(store: store).importStatsig(document: document)
        for (kind, names) in result.imported.sorted(by: { $0.key < $1.key }) {
            print("imported \(names.count) \(kind): \(names.sorted().joined(separator: ", "))")
        }
        for s in result.skipped { print("skipped \(s.name): \(s.reason)") }
    }
}

/// A failure to start that the operator must fix: printed as it is, exit status 1.
struct StartupFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { "vane: \(message)" }
}
