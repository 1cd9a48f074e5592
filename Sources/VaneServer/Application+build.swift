import Hummingbird
import Logging
import ServiceLifecycle
import Mustache
import Prometheus
import VaneCore
import VanePulse
import VaneStore

public struct AppConfig: Sendable {
    public var host: String = "127.0.0.1"
    public var port: Int = 8787
    /// Largest request body accepted, before and after decompression.
    public var maxBodyBytes: Int = 10 * 1024 * 1024
    /// Base URL SDKs use to reach this server (for ID-list file URLs); the Host header when nil.
    public var publicURL: String?
    public var logLevel: Logger.Level = .info
    /// Days of events to keep (by event time); nil keeps them forever. See `EventRetention`.
    public var retainEventsDays: Int?
    /// Bearer token that may read `/metrics` (console keys always may); nil: console keys only.
    public var metricsToken: String?
    /// A connection must deliver a request's headers within this time (also the keep-alive idle limit).
    public var headerTimeout: Duration = .seconds(30)
    /// Request bodies held at once, all requests together (see `BodyBudget`).
    public var bodyBudgetBytes: Int = 64 * 1024 * 1024
    /// A request's body must arrive within this time after its headers.
    public var bodyTimeout: Duration = .seconds(120)
    /// How often due scheduled-rollout steps are looked for.
    public var scheduleInterval: Duration = .seconds(5)
    /// How often the guardrail metrics of running rollouts and experiments are checked.
    public var guardrailInterval: Duration = .seconds(60)
    /// How often the background Pulse rollup runs; nil: never (results catch up when asked for).
    public var rollupInterval: Duration? = .seconds(1)

    public init() {}
}

/// Everything a running Vane needs, built once: the store, caches, ingest and the HTTP router.
public struct VaneServices: Sendable {
    public let store: any VaneStore
    public let metrics: PrometheusCollectorRegistry
    /// Seals the integration secrets kept in the store.
    public let secrets: SecretBox
    let cache: ConfigCache
    let writer: GroupCommitWriter
    let resolver: KeyResolver
    let broadcaster: EventBroadcaster
    let exporter: SegmentExporter
    let templates: MustacheLibrary
    /// One node at a time runs each background job (`JobLease`).
    let node: NodeIdentity
    let exportLease: JobLease
    let rollupLease: JobLease
    let scheduleLease: JobLease
    let webhookLease: JobLease
    let guardrailLease: JobLease
    let webhooks: WebhookDeliverer
    let memoryReclaimer: MemoryReclaimer
    /// On a shared store, how far this node's caches have followed changes made anywhere.
    let appliedChanges = AppliedChanges()

    public init(
        store: any VaneStore, metrics: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        logger: Logger = Logger(label: "vane"), exportIdleSleep: Duration = .milliseconds(200),
        requestsPerSecondPerKey: Double? = nil, liveStreamLimits: LiveStreamLimits = LiveStreamLimits(),
        secrets: SecretBox = .ephemeral()
    ) {
        self.secrets = secrets
        let node = NodeIdentity()
        self.node = node
        self.exportLease = JobLease(job: "segment_export", store: store, node: node, logger: logger)
        self.rollupLease = JobLease(job: "pulse_rollup", store: store, node: node, logger: logger)
        self.scheduleLease = JobLease(job: "scheduled_rollouts", store: store, node: node, logger: logger)
        self.webhookLease = JobLease(job: "webhooks", store: store, node: node, logger: logger)
        self.guardrailLease = JobLease(job: "guardrails", store: store, node: node, logger: logger)
        self.webhooks = WebhookDeliverer(
            store: store, secrets: secrets, logger: logger, lease: webhookLease, idleSleep: max(exportIdleSleep, .milliseconds(250)))
        self.exporter = SegmentExporter(
            store: store, secrets: secrets, logger: logger, idleSleep: exportIdleSleep, lease: exportLease)
        // The templates are compiled into the binary; a parse error is a programming error caught by the tests.
        self.templates = try! WebTemplates.library()
        self.store = store
        self.memoryReclaimer = MemoryReclaimer { store.releaseMemory() }
        self.metrics = metrics
        self.cache = ConfigCache(store: store)
        self.resolver = KeyResolver(store: store, controls: AbuseControls(requestsPerSecondPerKey: requestsPerSecondPerKey))
        let counters = IngestCounters(registry: metrics)
        let broadcaster = EventBroadcaster(limits: liveStreamLimits)
        self.broadcaster = broadcaster
        self.writer = GroupCommitWriter(store: store) { events, ids in
            counters.record(events, ids)
            // On a shared store the live stream follows the event log instead (EventLogTail).
            if !store.isShared { broadcaster.publish(events, ids) }
        }
    }
}

struct IngestCounters: Sendable {
    let registry: PrometheusCollectorRegistry

    func record(_ events: [EventRecord], _ ids: [Int64?]) {
        var bySource: [String: Int] = [:]
        for (e, id) in zip(events, ids) where id != nil { bySource[e.source.rawValue, default: 0] += 1 }
        for (source, n) in bySource {
            registry.makeCounter(name: "vane_events_ingested_total", labels: [("source", source)]).increment(by: Int64(n))
        }
    }
}

public func buildRouter(_ services: VaneServices, config: AppConfig) -> Router<VaneRequestContext> {
    let router = Router(context: VaneRequestContext.self)
    router.add(middleware: ConnectionCloseMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: JSONErrorMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    // A request waits for room at most half its body deadline, so waiting never cuts it off.
    router.add(middleware: BodyBudgetMiddleware(
        budget: BodyBudget(capacity: config.bodyBudgetBytes, bodyLimit: config.maxBodyBytes, reclaimer: services.memoryReclaimer),
        maxWait: min(.seconds(5), config.bodyTimeout / 2)))

    // Liveness: the process answers. Readiness: it can reach its database (a load balancer sends
    // no traffic to a node that cannot, e.g. while PostgreSQL is unreachable).
    router.get("health") { _, _ in jsonResponse(["status": "ok"]) }
    router.get("ready") { _, _ in
        do {
            let version = try await withTimeout(.seconds(2)) { try await services.store.changeVersion() }
            // One process on its own store drops its caches as it changes it: always caught up.
            let applied = services.store.isShared ? services.appliedChanges.current : version
            return jsonResponse([
                "status": "ready", "changeVersion": .int(version), "appliedChangeVersion": applied.map { .int($0) } ?? .null,
            ])
        } catch {
            return jsonResponse(["status": "unavailable", "error": .string("the database cannot be reached")], status: .serviceUnavailable)
        }
    }
    router.get("metrics") { request, context in
        try await authorizeMetrics(request, context, token: config.metricsToken, resolver: services.resolver)
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: services.metrics.emitToBuffer())))
    }

    let body = BodyReader(limit: config.maxBodyBytes)
    let ingest = EventIngest(writer: services.writer)
    SDKController(
        store: services.store, cache: services.cache, ingest: ingest, body: body, resolver: services.resolver,
        publicURL: config.publicURL
    ).register(on: router)
    OFREPController(store: services.store, cache: services.cache, ingest: ingest, body: body, resolver: services.resolver)
        .register(on: router)
    ConsoleController(
        service: ConsoleService(store: services.store, cache: services.cache), store: services.store,
        cache: services.cache, body: body, resolver: services.resolver
    ).register(on: router)
    let inbound = SegmentInbound(store: services.store, writer: services.writer, cache: services.cache, secrets: services.secrets)
    SegmentController(inbound: inbound, store: services.store, resolver: services.resolver, body: body).register(on: router)
    SegmentConsoleController(
        inbound: inbound, store: services.store, resolver: services.resolver, body: body, broadcaster: services.broadcaster
    ).register(on: router)
    SegmentOutboundController(store: services.store, exporter: services.exporter, resolver: services.resolver, body: body)
        .register(on: router)
    WebhookController(
        store: services.store, deliverer: services.webhooks, secrets: services.secrets, resolver: services.resolver, body: body
    ).register(on: router)
    UsersController(store: services.store, body: body, resolver: services.resolver).register(on: router)
    ParameterStoreController(store: services.store, cache: services.cache, body: body, resolver: services.resolver)
        .register(on: router)
    WebController(
        store: services.store, auth: WebAuth(store: services.store, secureCookies: config.publicURL?.hasPrefix("https://") == true),
        library: services.templates, cache: services.cache, inbound: inbound, exporter: services.exporter, body: body,
        resolver: services.resolver, publicURL: config.publicURL
    ).register(on: router)
    return router
}

/// `/metrics` answers Prometheus with the metrics token as a bearer token, or anyone with a console key.
func authorizeMetrics(_ request: Request, _ context: VaneRequestContext, token: String?, resolver: KeyResolver) async throws {
    let bearer = request.headers[.authorization].flatMap { h -> String? in
        h.lowercased().hasPrefix("bearer ") ? String(h.dropFirst(7)).trimmingCharacters(in: .whitespaces) : nil
    }
    if let token, !token.isEmpty, let bearer, StatsigHash.sha256Hex(bearer) == StatsigHash.sha256Hex(token) { return }
    guard let secret = bearer ?? request.header("statsig-api-key"), !secret.isEmpty else {
        throw APIError.unauthorized("/metrics needs the metrics token (Authorization: Bearer …, see --metrics-token) or a console key")
    }
    guard let key = try await resolver.authenticate(secret, from: context.remoteAddress), key.kind == .console else {
        throw APIError.unauthorized("/metrics needs the metrics token or a console key; that is neither")
    }
}

public func buildApplication(_ services: VaneServices, config: AppConfig, logger: Logger) -> some ApplicationProtocol {
    MemoryReclaimer.tuneAllocator()
    let deadlines = ConnectionDeadlines(header: config.headerTimeout, body: config.bodyTimeout)
    return Application(
        router: buildRouter(services, config: config),
        server: .http1(configuration: .init(additionalChannelHandlers: [deadlines.handler()])),
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "vane"),
        services: [
            services.exportLease, services.rollupLease, services.scheduleLease, services.exporter,
            services.webhookLease, services.webhooks, services.guardrailLease,
            GuardrailWatch(service: ConsoleService(store: services.store, cache: services.cache), pulse: PulseService(store: services.store))
                .service(store: services.store, lease: services.guardrailLease, logger: logger, interval: config.guardrailInterval),
            ScheduledRollouts(service: ConsoleService(store: services.store, cache: services.cache))
                .service(store: services.store, lease: services.scheduleLease, logger: logger, interval: config.scheduleInterval),
        ] + PulseRollupService.configured(config, services, logger: logger)
            + EventRetentionService.configured(config, services, logger: logger) + clusterServices(services, config: config, logger: logger),
        logger: logger)
}

/// On a shared store: this node's caches follow changes made on other nodes, and its live stream
/// shows events ingested anywhere.
func clusterServices(_ services: VaneServices, config: AppConfig, logger: Logger) -> [any Service] {
    guard services.store.isShared else { return [] }
    return [
        ChangeWatcher(
            store: services.store, cache: services.cache, resolver: services.resolver, applied: services.appliedChanges,
            logger: logger),
        EventLogTail(store: services.store, broadcaster: services.broadcaster, logger: logger),
    ]
}

extension VaneServices {
    /// `vane import statsig FILE`: the same import the console API runs, with the audit entry
    /// credited to the command line.
    public func importStatsig(project: String = "default", document: JSONValue) async throws
        -> (imported: [String: [String]], skipped: [(name: String, reason: String)])
    {
        let result = try await ConsoleService(store: store, cache: cache)
            .importStatsig(project, document: document, actor: "vane import (command line)")
        var imported: [String: [String]] = [:]
        for e in result.entities { imported[e.kind.collection, default: []].append(e.name) }
        return (imported, result.skipped.map { ($0.name, $0.reason) })
    }
}

extension VaneServices {
    /// `vane users create`: adds a console user (the first one is usually an admin).
    public func createUser(email: String, name: String, password: String, role: ConsoleRole) async throws {
        do {
            _ = try await WebAuth(store: store).createUser(email: email, name: name, password: password, role: role, actor: "vane users (command line)")
        } catch let e as FieldError {
            throw ValidationError(e.message)
        }
    }

    /// Brings the Pulse rollups up to date with every stored event.
    public func pulseCatchUp(project: String = "default") async throws {
        while try await PulseService(store: store).catchUp(project, budget: .seconds(3600)).behind > 0 {}
    }

    /// `vane pulse NAME`: the results the console API serves, of an experiment, a gate rollout or a holdout.
    public func pulse(project: String = "default", name: String, kind: PulseSubject.Kind = .experiment, query: [String: String] = [:]) async throws -> JSONValue {
        encodeToJSON(try await PulseService(store: store).results(project: project, kind: kind, name: name, query: query, now: Clock.nowMs()))
    }
}

extension VaneServices {
    /// Seals the integration secrets that are stored in plain text (from before sealing existed)
    /// or under a previous key, with the current key: integration settings and webhook signing
    /// secrets. Returns how many settings documents and webhooks changed.
    public func resealSecrets(project: String = "default", actor: String) async throws -> Int {
        var changed = 0
        for (name, fields) in [(SegmentExporter.settingName, SegmentExporter.sealedFields),
                               (SegmentInbound.settingName, SegmentInbound.sealedFields)] {
            guard let stored = try await store.setting(project: project, name: name) else { continue }
            let sealed = secrets.sealFields(stored, fields)
            guard sealed != stored else { continue }
            try await store.putSetting(project: project, name: name, value: sealed, audit: AuditEntry(
                time: Clock.nowMs(), actor: actor, action: "resealed", kind: "secrets", name: name,
                description: "Secrets in \(name) sealed with key \(secrets.currentKeyID)"))
            changed += 1
        }
        for hook in try await store.webhooks(project: project) {
            var resealed = hook
            resealed.sealedSecret = secrets.seal(try secrets.open(hook.sealedSecret))
            resealed.sealedPreviousSecret = try hook.sealedPreviousSecret.map { secrets.seal(try secrets.open($0)) }
            guard secrets.needsResealing(hook.sealedSecret) || hook.sealedPreviousSecret.map(secrets.needsResealing) == true else { continue }
            _ = try await store.updateWebhook(project: project, resealed, audit: AuditEntry(
                time: Clock.nowMs(), actor: actor, action: "resealed", kind: "secrets", name: hook.id,
                description: "Signing secret of webhook \(hook.id) sealed with key \(secrets.currentKeyID)"))
            changed += 1
        }
        return changed
    }

    /// Opens every sealed integration secret once, so a node started with a key that cannot open
    /// them (another node's `VANE_SECRETS_KEY`, a lost key file) refuses to start rather than
    /// running as if the integrations were not configured.
    public func checkSecretsOpen(project: String = "default") async throws {
        _ = try await SegmentExporter.settings(store, project, secrets)
        _ = try await SegmentInbound.settings(store, project, secrets)
        for hook in try await store.webhooks(project: project) {
            _ = try SecretBox.opening("webhook \(hook.id)") { try secrets.open(hook.sealedSecret) }
        }
    }
}
