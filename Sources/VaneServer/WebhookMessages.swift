import Crypto
import VaneCore
import VaneStore

/// How a webhook request is signed, as Stripe signs: header
/// `Vane-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, with one `v1`
/// per secret in force (two for a day after a rotation). A receiver recomputes the HMAC over the
/// raw body with its secret, compares it with each `v1` in constant time, and refuses timestamps
/// more than a few minutes old, so a captured request cannot be replayed later.
enum WebhookSignature {
    static let header = "Vane-Signature"

    static func hex(_ secret: String, timestamp: Int64, body: [UInt8]) -> String {
        var signed = Array("\(timestamp).".utf8)
        signed.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { b in (b < 16 ? "0" : "") + String(b, radix: 16) }.joined()
    }

    static func headerValue(secrets: [String], timestamp: Int64, body: [UInt8]) -> String {
        (["t=\(timestamp)"] + secrets.map { "v1=" + hex($0, timestamp: timestamp, body: body) }).joined(separator: ",")
    }

    /// A new signing secret, shown to the admin once.
    static func newSecret() -> String { "whsec_" + StatsigHash.randomToken(length: 32) }
}

/// The bodies webhooks carry. Built from the audit entry alone, so every attempt at an entry
/// sends the same bytes under the same `id` (receivers deduplicate on it: delivery is at least once).
enum WebhookPayload {
    /// Audit kinds that are account administration, not configuration: never sent.
    static let administration: Set<String> = ["key", "user", "secrets", "webhook"]
    /// The kinds a webhook can ask for.
    static let configurationKinds: [String] = EntityKind.allCases.map(\.rawValue)
        + ["id_list", "custom_id_type", "parameter_store", "metric", "integration", "import"]

    static func receives(_ hook: Webhook, _ entry: AuditEntry) -> Bool {
        guard !administration.contains(entry.kind) else { return false }
        return hook.kinds.isEmpty || hook.kinds.contains(entry.kind)
    }

    static func of(_ e: AuditEntry, project: String) -> JSONValue {
        [
            "id": .string("audit_\(e.id ?? 0)"),
            "type": .string("\(e.kind).\(e.action)"),
            "time": .string(ISOTime.format(e.time)),
            "project": .string(project),
            "data": [
                "kind": .string(e.kind), "name": .string(e.name), "action": .string(e.action), "actor": .string(e.actor),
                "environment": e.environment.map { .string($0) } ?? .null, "description": .string(e.description),
                "before": e.before ?? .null, "after": e.after ?? .null,
            ],
        ]
    }

    static func ping(webhookID: String, project: String, now: Int64) -> JSONValue {
        [
            "id": .string("ping_" + StatsigHash.randomToken(length: 16)), "type": "ping", "time": .string(ISOTime.format(now)),
            "project": .string(project), "data": ["webhook": .string(webhookID)],
        ]
    }
}
