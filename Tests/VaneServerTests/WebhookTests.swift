import Testing
import VaneCore
@testable import VaneServer
import VaneStore

@Suite("Webhooks")
struct WebhookTests {
    /// Expected values from Python's `hmac.new(secret, b"1700000000." + body, hashlib.sha256).hexdigest()`.
    @Test func signsTimestampAndBodyAsStripeDoes() {
        let body = Array(#"{"a":1}"#.utf8)
        #expect(WebhookSignature.headerValue(secrets: ["whsec_test", "whsec_old"], timestamp: 1_700_000_000, body: body)
            == "t=1700000000,v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789"
            + ",v1=b9d801502bb535e960ee9aeee7a294b082bda5089d79c7db610b85116ce6faa6")
        #expect(WebhookSignature.newSecret().hasPrefix("whsec_") && WebhookSignature.newSecret() != WebhookSignature.newSecret())
    }

    @Test func backoffDoublesWithJitterAndHonoursRetryAfterWithinAnHour() {
        #expect(WebhookDeliverer.backoff(attempts: 1, retryAfter: nil, jitter: 1) == 1)
        #expect(WebhookDeliverer.backoff(attempts: 1, retryAfter: nil, jitter: 0) == 0.5)
        #expect(WebhookDeliverer.backoff(attempts: 4, retryAfter: nil, jitter: 1) == 8)
        #expect(WebhookDeliverer.backoff(attempts: 30, retryAfter: nil, jitter: 1) == 3600)
        #expect(WebhookDeliverer.backoff(attempts: Int.max, retryAfter: nil, jitter: 1) == 3600)
        #expect(WebhookDeliverer.backoff(attempts: 2, retryAfter: 30, jitter: 1) == 30)
        #expect(WebhookDeliverer.backoff(attempts: 2, retryAfter: 1e12, jitter: 1) == 3600)
        #expect(WebhookDeliverer.backoff(attempts: 2, retryAfter: -1, jitter: 1) == 2, "a negative Retry-After is ignored")
    }

    @Test func administrationIsNeverSentAndKindsFilter() {
        var hook = Webhook(id: "wh", url: "http://127.0.0.1:9/", sealedSecret: "s", createdAt: 1)
        func entry(_ kind: String) -> AuditEntry {
            AuditEntry(time: 1, actor: "a", action: "updated", kind: kind, name: "n", description: "d")
        }
        for kind in ["key", "user", "secrets", "webhook"] { #expect(!WebhookPayload.receives(hook, entry(kind))) }
        for kind in WebhookPayload.configurationKinds { #expect(WebhookPayload.receives(hook, entry(kind))) }
        hook.kinds = ["experiment"]
        #expect(WebhookPayload.receives(hook, entry("experiment")) && !WebhookPayload.receives(hook, entry("gate")))
    }
}
