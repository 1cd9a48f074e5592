import Foundation
import Hummingbird
import VaneCore
import VaneStore

/// Console API for webhooks: endpoints that receive configuration changes, signed. Viewers read
/// them; admins change them (a webhook sends configuration out of Vane). The signing secret is
/// returned only when it is made: at creation and at rotation.
struct WebhookController: Sendable {
    let store: any VaneStore
    let deliverer: WebhookDeliverer
    let secrets: SecretBox
    let resolver: KeyResolver
    let body: BodyReader

    /// How long the previous secret still signs after a rotation.
    static let rotationOverlapMs: Int64 = 24 * 3600 * 1000

    func register(on router: Router<VaneRequestContext>) {
        let api = router.consoleAPI(resolver, .admins, "console/v1/webhooks")
        api.get("") { _, c in
            var list: [JSONValue] = []
            for hook in try await store.webhooks(project: c.project) { list.append(try await json(hook, c.project)) }
            return envelope("Webhooks.", .array(list))
        }
        api.post("") { r, c in try await create(r, c) }
        api.get("{id}") { _, c in envelope("Webhook.", try await json(try await existing(c), c.project)) }
        api.patch("{id}") { r, c in try await update(r, c) }
        api.delete("{id}") { _, c in
            let hook = try await existing(c)
            _ = try await store.deleteWebhook(project: c.project, id: hook.id, audit: audit(c, "deleted", hook, before: definition(hook), after: nil))
            return envelope("Webhook \(hook.id) deleted.", .null)
        }
        api.post("{id}/rotate_secret") { _, c in try await rotate(c) }
        api.post("{id}/test") { _, c in try await ping(c) }
        api.get("{id}/dead_letters") { r, c in
            let hook = try await existing(c)
            let limit = try limitQuery(r, default: 100)
            let letters = try await store.webhookDeadLetters(project: c.project, webhookID: hook.id, retryRequestedOnly: false, limit: limit)
            return envelope("Dead letters.", .array(letters.map {
                ["id": .int($0.id ?? 0), "auditID": .int($0.auditID), "reason": .string($0.reason), "createdTime": .int($0.createdAt),
                 "retryRequested": .bool($0.retryRequested), "payload": $0.payload]
            }))
        }
        api.post("{id}/dead_letters/retry") { r, c in
            let hook = try await existing(c)
            let b = try await body.object(r, allowEmpty: true)
            let ids = try deadLetterIDs(b)
            let n = try await store.requestWebhookRetry(project: c.project, webhookID: hook.id, ids: ids)
            return envelope("\(n) dead letters will be sent again.", ["retrying": .int(Int64(n))])
        }
    }

    private func existing(_ c: VaneRequestContext) async throws -> Webhook {
        let id = c.parameters.get("id") ?? ""
        guard let hook = try await store.webhook(project: c.project, id: id) else {
            throw APIError.notFound("no webhook '\(id.prefix(80))'")
        }
        return hook
    }

    private func create(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let b = try await body.object(r)
        guard b["url"] != nil else { throw APIError.badRequest("url is required: where Vane posts configuration changes") }
        let secret = WebhookSignature.newSecret()
        var hook = Webhook(
            id: "wh_" + StatsigHash.randomToken(length: 12), url: "", sealedSecret: secrets.seal(secret), createdAt: Clock.nowMs())
        try WebhookFields.apply(b, to: &hook)
        hook = try await store.createWebhook(project: c.project, hook, audit: audit(c, "created", hook, before: nil, after: definition(hook)))
        guard case .object(var o) = try await json(hook, c.project) else { return envelope("", .null) }
        o["secret"] = .string(secret)
        return envelope("Webhook created. Its signing secret is shown only this once.", .object(o), status: .created)
    }

    private func update(_ r: Request, _ c: VaneRequestContext) async throws -> Response {
        let b = try await body.object(r)
        let current = try await existing(c)
        var hook = current
        try WebhookFields.apply(b, to: &hook)
        guard try await store.updateWebhook(
            project: c.project, hook, audit: audit(c, "updated", hook, before: definition(current), after: definition(hook)))
        else { throw APIError.notFound("no webhook '\(current.id)'") }
        if hook.enabled && !current.enabled, var latest = try await store.webhook(project: c.project, id: hook.id) {
            // Turned on again: it receives changes from now on, not those made while it was off.
            latest.delivery.auditCursor = try await store.lastIDs(project: c.project).audit
            latest.delivery.attempts = 0
            latest.delivery.nextAttemptAt = 0
            try await store.saveWebhookDelivery(project: c.project, id: hook.id, latest.delivery, newDeadLetters: [], resolvedDeadLetters: [])
        }
        return envelope("Webhook \(hook.id) updated.", try await json(try await existing(c), c.project))
    }

    private func rotate(_ c: VaneRequestContext) async throws -> Response {
        var hook = try await existing(c)
        let secret = WebhookSignature.newSecret()
        hook.sealedPreviousSecret = hook.sealedSecret
        hook.previousSecretExpiresAt = Clock.nowMs() + Self.rotationOverlapMs
        hook.sealedSecret = secrets.seal(secret)
        _ = try await store.updateWebhook(project: c.project, hook, audit: audit(c, "secret_rotated", hook, before: nil, after: nil))
        guard case .object(var o) = try await json(hook, c.project) else { return envelope("", .null) }
        o["secret"] = .string(secret)
        return envelope(
            "New signing secret, shown only this once. For 24 hours requests carry a signature with the previous secret too.",
            .object(o))
    }

    /// Sends a `ping` event now and reports how the receiver answered; delivery state is untouched.
    private func ping(_ c: VaneRequestContext) async throws -> Response {
        let hook = try await existing(c)
        let payload = WebhookPayload.ping(webhookID: hook.id, project: c.project, now: Clock.nowMs())
        switch await deliverer.send(payload, to: hook, secrets: try deliverer.signingSecrets(hook), attempt: 1) {
        case .delivered(let status):
            return envelope("The receiver accepted the ping (HTTP \(status)).", ["delivered": true, "status": .int(Int64(status))])
        case .failed(let reason, _):
            return envelope("The receiver did not accept the ping: \(reason)", ["delivered": false, "error": .string(reason)])
        }
    }

    /// What the audit log records of a webhook: never its secrets.
    private func definition(_ h: Webhook) -> JSONValue {
        ["url": .string(h.url), "description": .string(h.description), "kinds": .array(h.kinds.map { .string($0) }),
         "enabled": .bool(h.enabled), "maxAttempts": .int(Int64(h.maxAttempts))]
    }

    private func audit(_ c: VaneRequestContext, _ action: String, _ h: Webhook, before: JSONValue?, after: JSONValue?) -> AuditEntry {
        let what = action == "secret_rotated" ? "signing secret rotated" : action
        return AuditEntry(time: Clock.nowMs(), actor: actor(c), action: action, kind: "webhook", name: h.id, before: before, after: after,
                          description: "Webhook \(h.id) (\(h.url)) \(what)")
    }

    func json(_ h: Webhook, _ project: String) async throws -> JSONValue {
        try await WebhookView.load(h, project: project, store: store).json
    }
}

/// The fields a webhook's create and update bodies may set, each checked with a message that names it.
enum WebhookFields {
    static let known: Set<String> = ["url", "description", "kinds", "enabled", "maxAttempts"]

    static func apply(_ b: [String: JSONValue], to hook: inout Webhook) throws {
        for key in b.keys where !known.contains(key) {
            throw APIError.badRequest("unknown field '\(key.prefix(40))' (known: \(known.sorted().joined(separator: ", ")))")
        }
        if let v = b["url"] { hook.url = try url(v) }
        if let v = b["description"] {
            guard let s = v.stringValue, s.count <= 500 else { throw APIError.badRequest("description must be text of at most 500 characters") }
            hook.description = s
        }
        if let v = b["kinds"] {
            let kinds = v.arrayValue?.compactMap(\.stringValue)
            guard let kinds, kinds.count == v.arrayValue?.count else {
                throw APIError.badRequest("kinds must be a list of audit kinds (empty: every configuration change)")
            }
            for k in kinds where !WebhookPayload.configurationKinds.contains(k) {
                throw APIError.badRequest(
                    "kinds: '\(k.prefix(40))' is not a configuration kind (known: \(WebhookPayload.configurationKinds.joined(separator: ", ")))")
            }
            hook.kinds = Array(Set(kinds)).sorted()
        }
        if let v = b["enabled"] {
            guard let e = v.boolValue else { throw APIError.badRequest("enabled must be true or false") }
            hook.enabled = e
        }
        if let v = b["maxAttempts"] {
            guard let n = v.int64Value, (1...30).contains(n) else { throw APIError.badRequest("maxAttempts must be a whole number from 1 to 30") }
            hook.maxAttempts = Int(n)
        }
    }

    static func url(_ v: JSONValue) throws -> String {
        guard let s = v.stringValue, !s.isEmpty, s.utf8.count <= 2048 else {
            throw APIError.badRequest("url must be an http or https URL of at most 2048 bytes")
        }
        guard let u = URLComponents(string: s), let scheme = u.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = u.host, !host.isEmpty
        else { throw APIError.badRequest("url must be an absolute http or https URL, e.g. https://example.com/hooks/vane") }
        guard u.user == nil, u.password == nil else {
            throw APIError.badRequest("url must not carry a user name or password: the signature authenticates Vane")
        }
        return s
    }
}
