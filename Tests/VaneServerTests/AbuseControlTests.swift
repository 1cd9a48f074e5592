import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import VaneCore
import VaneHTTPBody
@testable import VaneServer
import VaneStore

/// Guessing and flooding: sign-in and key throttles, per-key rate limits, key audit, truncated
/// compressed bodies and the live stream's limits.
@Suite("Abuse controls")
struct AbuseControlTests {
    typealias Browser = WebConsoleTests.Browser

    static func signIn(_ client: any TestClientProtocol, _ email: String, _ password: String) async throws -> Reply {
        var b = Browser()
        let page = try await b.get(client, "/console/login")
        let token = try #require(WebConsoleTests.token(page.text, "name=\"_csrf\" value="))
        return try await b.post(client, "/console/login", form: ["_csrf": token, "email": email, "password": password])
    }

    @Test func failedSignInsAreThrottledPerAccount() async throws {
        try await withVane { (client) async throws in
            _ = try await WebConsoleTests.setUpAdmin(client)
            for _ in 0..<6 {
                #expect(try await Self.signIn(client, "ada@example.com", "wrong password!").status == .unauthorized)
            }
            // Locked now, even with the right password; the answer says for how long.
            let locked = try await Self.signIn(client, "ada@example.com", "correct horse battery")
            #expect(locked.status == .tooManyRequests)
            #expect(Int(locked.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(locked.text.contains("Too many failed sign-ins"))
            // Another account from the same address is not locked by these few failures.
            #expect(try await Self.signIn(client, "bob@example.com", "wrong password!").status == .unauthorized)
        }
    }

    @Test func failedSignInsAreThrottledPerAddress() async throws {
        try await withVane { (client) async throws in
            _ = try await WebConsoleTests.setUpAdmin(client)
            // Spread over many accounts so no account reaches its own limit.
            for i in 0..<21 {
                _ = try await Self.signIn(client, "user\(i)@example.com", "wrong password!")
            }
            #expect(try await Self.signIn(client, "ada@example.com", "correct horse battery").status == .tooManyRequests)
        }
    }

    @Test func unknownEmailsTakeAsLongAsWrongPasswords() async throws {
        try await withVane { (client) async throws in
            _ = try await WebConsoleTests.setUpAdmin(client)
            _ = WebAuth.decoyHash
            func elapsed(_ email: String) async throws -> Double {
                let start = ContinuousClock.now
                #expect(try await Self.signIn(client, email, "wrong password!").status == .unauthorized)
                let d = ContinuousClock.now - start
                return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            }
            var known: [Double] = [], unknown: [Double] = []
            for i in 0..<3 {
                known.append(try await elapsed("ada@example.com"))
                unknown.append(try await elapsed("nobody\(i)@example.com"))
            }
            // A bcrypt check dominates both; without the decoy an unknown email is ~50× faster.
            #expect(unknown.sorted()[1] > 0.5 * known.sorted()[1], "known \(known), unknown \(unknown)")
        }
    }

    @Test func unknownKeysAreThrottledPerAddress() async throws {
        try await withVane { (client) async throws in
            let body: JSONValue = ["events": [["eventName": "e"]]]
            for i in 0..<100 {
                #expect(try await client.call(.post, "/v1/log_event", key: "client-guess-\(i)", json: body).status == .unauthorized)
            }
            _ = try await client.call(.post, "/v1/log_event", key: "client-guess-last", json: body)
            let refused = try await client.call(.post, "/v1/log_event", key: Keys.client, json: body)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] != nil)
        }
    }

    @Test func perKeyRateLimitAnswers429WithRetryAfter() async throws {
        // One token every 20 s: however slow the machine, no token comes back during the test.
        try await withVane(requestsPerSecondPerKey: 0.05) { (client) async throws in
            let body: JSONValue = ["events": [["eventName": "e"]]]
            var statuses: [HTTPResponse.Status] = []
            var retryAfter: String?
            let start = ContinuousClock.now
            var elapsed = Duration.zero
            for _ in 0..<4 {
                let r = try await client.call(.post, "/v1/log_event", key: Keys.client, json: body)
                statuses.append(r.status)
                if r.status == .tooManyRequests {
                    retryAfter = r.headers[.retryAfter]
                    elapsed = ContinuousClock.now - start
                }
            }
            // A burst of one, then refusals until a token is back: the wait is what is left of the
            // token's 20 s (less on a loaded machine, where the requests themselves take seconds).
            #expect(statuses == [.accepted, .tooManyRequests, .tooManyRequests, .tooManyRequests])
            let earliest = 20 - Int(elapsed.components.seconds) - 1
            #expect((earliest...21).contains(Int(retryAfter ?? "") ?? 0), "Retry-After \(retryAfter ?? "none") after \(elapsed)")
            // Another key has its own bucket, and the console is not limited.
            #expect(try await client.call(.post, "/v1/log_event", key: Keys.server, json: body).status == .accepted)
            for _ in 0..<5 { #expect(try await client.console(.get, "gates").status == .ok) }
        }
    }

    @Test func creatingAndRevokingKeysIsAudited() async throws {
        try await withVane { (client) async throws in
            let created = try await client.console(.post, "keys", ["kind": "client", "description": "web"])
            #expect(created.status == .created)
            let id = try #require(created.json["data"]?["id"]?.stringValue)
            let secret = try #require(created.json["data"]?["key"]?.stringValue)
            #expect(try await client.console(.delete, "keys/\(id)").status == .ok)
            let audit = try await client.console(.get, "audit_logs")
            let entries = (audit.json["data"]?.arrayValue ?? []).filter { $0["name"]?.stringValue == id }
            #expect(Set(entries.compactMap { $0["action"]?.stringValue }) == ["created", "revoked"])
            #expect(!audit.text.contains(secret))
        }
    }

    @Test func compressedBodiesMustBeWhole() async throws {
        try await withVane { (client) async throws in
            let body = Array(#"{"events":[{"eventName":"whole"}]}"#.utf8)
            let packed = try gzip(body)
            let gz = ["Content-Encoding": "gzip"]
            #expect(try await client.call(.post, "/v1/log_event", key: Keys.client, raw: packed, headers: gz).status == .accepted)
            for cut in [1, 4, 8] {
                let r = try await client.call(.post, "/v1/log_event", key: Keys.client, raw: Array(packed.dropLast(cut)), headers: gz)
                #expect(r.status == .badRequest, "cut \(cut): \(r.text)")
                #expect(r.text.contains("decompressed"))
            }
            var wrongCRC = packed
            wrongCRC[wrongCRC.count - 8] ^= 0xFF
            let r = try await client.call(.post, "/v1/log_event", key: Keys.client, raw: wrongCRC, headers: gz)
            #expect(r.status == .badRequest)
            #expect(r.text.contains("decompressed"))
        }
    }

    @Test func checksumsMatchZlibs() {
        // Reference values from zlib.crc32 / zlib.adler32.
        #expect(CompressedBodyCheck.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CompressedBodyCheck.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
        let long = [UInt8](repeating: 0xFF, count: 100_000)
        #expect(CompressedBodyCheck.adler32(long) == 0x149A_302C)
        #expect(CompressedBodyCheck.crc32(long) == 0x68C6_CEC4)
    }

    @Test func liveStreamsAreCappedAndSlowSubscribersDropped() async throws {
        var limits = LiveStreamLimits()
        limits.total = 3
        limits.perOwner = 2
        limits.bufferedBatches = 4
        let b = EventBroadcaster(limits: limits)
        // A subscription ends when its stream is released, so the test holds on to each.
        let s1 = try b.subscribe(owner: "a")
        let s2 = try b.subscribe(owner: "a")
        #expect(throws: EventBroadcaster.SubscribeError.tooManyStreamsForOwner(limit: 2)) { try b.subscribe(owner: "a") }
        let s3 = try b.subscribe(owner: "b")
        #expect(throws: EventBroadcaster.SubscribeError.tooManyStreams(limit: 3)) { try b.subscribe(owner: "c") }
        // Nobody reads: after the buffer fills, every subscriber is disconnected and says why.
        let event = EventRecord(
            project: "default", eventName: "e", user: .object([:]), userID: "u", stableID: nil, customIDs: [:], environment: nil,
            value: nil, metadata: nil, secondaryExposures: nil, time: 1, receivedAt: 1, source: .sdk, sdkType: nil)
        for _ in 0..<5 { b.publish([event], [1]) }
        #expect(b.subscriberCount == 0)
        #expect(s1.fellBehind() && s2.fellBehind() && s3.fellBehind())
        var received = 0
        for await item in s1.stream { if case .frames = item { received += 1 } }
        #expect(received == 4)
        // Their places are free again.
        let again = try b.subscribe(owner: "a")
        #expect(b.subscriberCount == 1 && !again.fellBehind())
    }
}
