import VaneCore

/// An endpoint that receives configuration changes (audit entries) as signed HTTP POSTs.
public struct Webhook: Sendable, Hashable {
    public var id: String
    public var url: String
    public var description: String
    /// Audit kinds it receives; empty: every configuration kind.
    public var kinds: [String]
    public var enabled: Bool
    /// The signing secret, sealed at rest (the server's `SecretBox`).
    public var sealedSecret: String
    /// After a rotation the previous secret still signs until `previousSecretExpiresAt`, so that a
    /// receiver can switch over without dropping deliveries.
    public var sealedPreviousSecret: String?
    public var previousSecretExpiresAt: Int64?
    /// Attempts per entry before it becomes a dead letter and delivery moves on.
    public var maxAttempts: Int
    public var createdAt: Int64
    public var delivery: WebhookDelivery

    public init(
        id: String, url: String, description: String = "", kinds: [String] = [], enabled: Bool = true, sealedSecret: String,
        maxAttempts: Int = 15, createdAt: Int64, delivery: WebhookDelivery = WebhookDelivery()
    ) {
        self.id = id
        self.url = url
        self.description = description
        self.kinds = kinds
        self.enabled = enabled
        self.sealedSecret = sealedSecret
        self.maxAttempts = maxAttempts
        self.createdAt = createdAt
        self.delivery = delivery
    }
}

/// Where a webhook is in the audit log and how delivery has fared. Kept in the store, so a
/// restart neither replays what was delivered nor forgets a backoff.
public struct WebhookDelivery: Sendable, Hashable {
    /// The last audit entry delivered (or dead-lettered, or filtered out).
    public var auditCursor: Int64 = 0
    public var delivered: Int = 0
    /// Failed attempts at the entry after the cursor.
    public var attempts: Int = 0
    public var nextAttemptAt: Int64 = 0
    public var lastSuccess: Int64?
    public var lastError: String?
    public var lastErrorTime: Int64?
    public init() {}
}

/// A delivery that failed `maxAttempts` times, kept with the exact body that was sent.
public struct WebhookDeadLetter: Sendable, Hashable {
    public var id: Int64?
    public var webhookID: String
    public var auditID: Int64
    public var payload: JSONValue
    public var reason: String
    public var createdAt: Int64
    public var retryRequested: Bool

    public init(
        id: Int64? = nil, webhookID: String, auditID: Int64, payload: JSONValue, reason: String, createdAt: Int64,
        retryRequested: Bool = false
    ) {
        self.id = id
        self.webhookID = webhookID
        self.auditID = auditID
        self.payload = payload
        self.reason = reason
        self.createdAt = createdAt
        self.retryRequested = retryRequested
    }
}

/// Webhook endpoints and their delivery state. Their own tables, not `settings`: settings are
/// watched by every node's caches (`ChangeFeed`), and delivery progress changes on every request.
public protocol WebhookRepository: Sendable {
    func webhooks(project: String) async throws -> [Webhook]
    func webhook(project: String, id: String) async throws -> Webhook?
    /// Creates the webhook with its audit entry; its cursor starts after that entry, so it receives
    /// changes from now on, not the history.
    func createWebhook(project: String, _ webhook: Webhook, audit: AuditEntry) async throws -> Webhook
    /// Replaces the definition (URL, description, kinds, enabled, secrets, attempts), never the
    /// delivery state. False when there is no such webhook.
    func updateWebhook(project: String, _ webhook: Webhook, audit: AuditEntry) async throws -> Bool
    /// Deletes the webhook and its dead letters.
    func deleteWebhook(project: String, id: String, audit: AuditEntry) async throws -> Bool
    /// Saves delivery progress and dead-letter changes in one transaction; nothing when the
    /// webhook was deleted meanwhile.
    func saveWebhookDelivery(
        project: String, id: String, _ delivery: WebhookDelivery, newDeadLetters: [WebhookDeadLetter], resolvedDeadLetters: [Int64]
    ) async throws
    func webhookDeadLetters(project: String, webhookID: String, retryRequestedOnly: Bool, limit: Int) async throws -> [WebhookDeadLetter]
    func webhookDeadLetterCount(project: String, webhookID: String) async throws -> Int
    /// Marks dead letters (all of the webhook's when `ids` is nil) to be sent again; returns how many.
    func requestWebhookRetry(project: String, webhookID: String, ids: [Int64]?) async throws -> Int
}
