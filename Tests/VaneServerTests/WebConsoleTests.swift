import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VaneCore

/// The web console's accounts, sessions, CSRF and escaping, over HTTP (the browser suite in
/// tests/browser drives the same pages in Chromium).
@Suite("Web console")
struct WebConsoleTests {
    struct Browser {
        var cookies: [String: String] = [:]

        var cookieHeader: [String: String] {
            cookies.isEmpty ? [:] : ["Cookie": cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
        }

        mutating func remember(_ reply: Reply) {
            for field in reply.headers where field.name == .setCookie {
                let pair = field.value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                if pair[1].isEmpty { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = String(pair[1]) }
            }
        }

        mutating func get(_ client: any TestClientProtocol, _ path: String) async throws -> Reply {
            let r = try await client.call(.get, path, headers: cookieHeader)
            remember(r)
            return r
        }

        mutating func post(_ client: any TestClientProtocol, _ path: String, form: [String: String]) async throws -> Reply {
            let body = form.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }.joined(separator: "&")
            var headers = cookieHeader
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            let r = try await client.call(.post, path, raw: Array(body.utf8), headers: headers)
            remember(r)
            return r
        }

        mutating func api(_ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, _ json: JSONValue, csrf: String?) async throws -> Reply {
            var headers = cookieHeader
            if let csrf { headers["X-CSRF-Token"] = csrf }
            return try await client.call(method, "/console/v1/" + path, json: json, headers: headers)
        }
    }

    static func token(_ html: String, _ pattern: String) -> String? {
        guard let range = html.range(of: pattern + "\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Runs first-run setup and returns the signed-in admin browser and its CSRF token.
    static func setUpAdmin(_ client: any TestClientProtocol) async throws -> (Browser, String) {
        var b = Browser()
        let root = try await b.get(client, "/")
        #expect(root.status == .seeOther && root.headers[.location] == "/console", "the root leads to the console")
        let first = try await b.get(client, "/console")
        #expect(first.status == .seeOther)
        #expect(first.headers[.location] == "/console/setup")
        let page = try await b.get(client, "/console/setup")
        let formToken = try #require(token(page.text, "name=\"_csrf\" value="))
        let weak = try await b.post(client, "/console/setup", form: ["_csrf": formToken, "email": "ada@example.com", "password": "short"])
        #expect(weak.status == .badRequest)
        #expect(weak.text.contains("Password must be at least 10 characters"))
        let done = try await b.post(client, "/console/setup", form: [
            "_csrf": formToken, "email": "ada@example.com", "name": "Ada", "password": "correct horse battery",
        ])
        #expect(done.status == .seeOther)
        #expect(b.cookies["vane_session"] != nil)
        let home = try await b.get(client, "/console")
        #expect(home.status == .ok)
        return (b, try #require(token(home.text, "name=\"csrf-token\" content=")))
    }

    @Test func everyResponseHasTheSecurityHeadersAndPagesTheirPolicy() async throws {
        try await withVane { (client) async throws in
            var (admin, _) = try await Self.setUpAdmin(client)
            let csp = HTTPField.Name("Content-Security-Policy")!, frames = HTTPField.Name("X-Frame-Options")!
            let nosniff = HTTPField.Name("X-Content-Type-Options")!
            for path in ["/console", "/console/gates", "/console/gates/no_such_gate", "/console/metrics"] {
                let page = try await admin.get(client, path)
                #expect(page.headers[.contentType]?.hasPrefix("text/html") == true, "\(path)")
                #expect(page.headers[csp]?.contains("script-src 'self'") == true && page.headers[csp]?.contains("frame-ancestors 'none'") == true, "\(path)")
                #expect(page.headers[frames] == "DENY" && page.headers[nosniff] == "nosniff", "\(path)")
            }
            let missing = try await admin.get(client, "/console/no/such/page")
            #expect(missing.status == .notFound && missing.text.contains("There is no console page at /console/no/such/page."))
            #expect(missing.headers[csp] != nil && missing.text.contains("<nav"), "a page in the console's layout")
            for path in ["/console/v1/gates", "/console/v1/no_such_endpoint", "/console/assets/nothing.js", "/health", "/console/assets/vane.js"] {
                let reply = try await admin.get(client, path)
                #expect(reply.headers[nosniff] == "nosniff", "\(path)")
                #expect(reply.headers[csp] == nil, "only HTML gets a page policy: \(path)")
            }
        }
    }

    @Test func setupSignInAndSignOut() async throws {
        try await withVane { (client) async throws in
            var (admin, csrf) = try await Self.setUpAdmin(client)
            // Setup runs once.
            #expect(try await admin.get(client, "/console/setup").headers[.location] == "/console/login")

            var other = Browser()
            let login = try await other.get(client, "/console/login")
            let formToken = try #require(Self.token(login.text, "name=\"_csrf\" value="))
            let wrong = try await other.post(client, "/console/login", form: ["_csrf": formToken, "email": "ada@example.com", "password": "nope nope nope"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.text.contains("Wrong email or password."))
            let noToken = try await other.post(client, "/console/login", form: ["email": "ada@example.com", "password": "correct horse battery"])
            #expect(noToken.status == .forbidden)
            let ok = try await other.post(client, "/console/login", form: [
                "_csrf": formToken, "email": "ada@example.com", "password": "correct horse battery", "next": "https://evil.example/",
            ])
            #expect(ok.status == .seeOther)
            #expect(ok.headers[.location] == "/console")  // never off-site

            #expect(try await admin.post(client, "/console/logout", form: [:]).status == .forbidden)
            let out = try await admin.post(client, "/console/logout", form: ["_csrf": csrf])
            #expect(out.status == .seeOther)
            let after = try await admin.get(client, "/console/gates")
            #expect(after.status == .seeOther)
            #expect(after.headers[.location]?.hasPrefix("/console/login") == true)
            csrf = ""
        }
    }

    @Test func apiChangesNeedTheCSRFTokenAndAreAuditedAsTheUser() async throws {
        try await withVane { (client) async throws in
            var (admin, csrf) = try await Self.setUpAdmin(client)
            let gate: JSONValue = ["name": "web_gate", "description": "<script>alert(1)</script>"]
            #expect(try await admin.api(client, .post, "gates", gate, csrf: nil).status == .forbidden)
            #expect(try await admin.api(client, .post, "gates", gate, csrf: "wrong").status == .forbidden)
            #expect(try await admin.api(client, .post, "gates", gate, csrf: csrf).status == .created)
            let audit = try await client.console(.get, "audit_logs?name=web_gate")
            #expect(audit.json["data"]?.arrayValue?.first?["actor"] == "ada@example.com")

            // User-supplied text is escaped wherever it is shown.
            for path in ["/console/gates", "/console/gates/web_gate"] {
                let page = try await admin.get(client, path)
                #expect(page.status == .ok)
                #expect(!page.text.contains("<script>alert(1)</script>"))
                #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            }
        }
    }

    @Test func viewersReadButCannotChange() async throws {
        try await withVane { (client) async throws in
            var (admin, csrf) = try await Self.setUpAdmin(client)
            let bad = try await admin.post(client, "/console/settings/users", form: [
                "_csrf": csrf, "email": "not-an-email", "password": "long enough password", "role": "viewer",
            ])
            #expect(bad.status == .badRequest)
            #expect(bad.text.contains("Email must be an email address"))
            let created = try await admin.post(client, "/console/settings/users", form: [
                "_csrf": csrf, "email": "vic@example.com", "password": "long enough password", "role": "viewer",
            ])
            #expect(created.status == .seeOther)

            var viewer = Browser()
            let login = try await viewer.get(client, "/console/login")
            let formToken = try #require(Self.token(login.text, "name=\"_csrf\" value="))
            _ = try await viewer.post(client, "/console/login", form: ["_csrf": formToken, "email": "vic@example.com", "password": "long enough password"])
            let page = try await viewer.get(client, "/console/gates")
            #expect(page.status == .ok)
            #expect(!page.text.contains("id=\"create-form\""))
            let viewerCSRF = try #require(Self.token(page.text, "name=\"csrf-token\" content="))
            let attempt = try await viewer.api(client, .post, "gates", ["name": "viewer_gate"], csrf: viewerCSRF)
            #expect(attempt.status == .forbidden)
            #expect(attempt.text.contains("viewer"))
            #expect(try await viewer.api(client, .get, "gates", .null, csrf: nil).status == .ok)
            // Editors cannot manage keys.
            _ = try await admin.post(client, "/console/settings/users", form: [
                "_csrf": csrf, "email": "eve@example.com", "password": "long enough password", "role": "editor",
            ])
            var editor = Browser()
            let login2 = try await editor.get(client, "/console/login")
            _ = try await editor.post(client, "/console/login", form: [
                "_csrf": try #require(Self.token(login2.text, "name=\"_csrf\" value=")), "email": "eve@example.com", "password": "long enough password",
            ])
            let editorPage = try await editor.get(client, "/console/gates")
            let editorCSRF = try #require(Self.token(editorPage.text, "name=\"csrf-token\" content="))
            #expect(try await editor.api(client, .post, "gates", ["name": "editor_gate"], csrf: editorCSRF).status == .created)
            #expect(try await editor.api(client, .post, "keys", ["kind": "server"], csrf: editorCSRF).status == .forbidden)
        }
    }

    @Test func adminsManageUsersAndEveryoneChangesTheirOwnPassword() async throws {
        try await withVane { (client) async throws in
            var (admin, csrf) = try await Self.setUpAdmin(client)
            _ = try await admin.post(client, "/console/settings/users", form: [
                "_csrf": csrf, "email": "vic@example.com", "password": "long enough password", "role": "viewer",
            ])
            let users = try await admin.api(client, .get, "users", .null, csrf: nil)
            let vic = try #require(users.json["data"]?.arrayValue?.first { $0["email"] == "vic@example.com" })
            let adaID = try #require(users.json["data"]?.arrayValue?.first { $0["email"] == "ada@example.com" }?["id"]?.stringValue)
            let vicID = try #require(vic["id"]?.stringValue)
            // The last enabled admin stays.
            #expect(try await admin.api(client, .patch, "users/\(adaID)", ["role": "editor"], csrf: csrf).status == .conflict)
            #expect(try await admin.api(client, .patch, "users/\(adaID)", ["disabled": true], csrf: csrf).status == .conflict)
            #expect(try await admin.api(client, .patch, "users/\(vicID)", ["role": "owner"], csrf: csrf).status == .badRequest)
            let promoted = try await admin.api(client, .patch, "users/\(vicID)", ["role": "editor"], csrf: csrf)
            #expect(promoted.json["data"]?["role"] == "editor")

            var vicBrowser = Browser()
            let login = try await vicBrowser.get(client, "/console/login")
            _ = try await vicBrowser.post(client, "/console/login", form: [
                "_csrf": try #require(Self.token(login.text, "name=\"_csrf\" value=")), "email": "vic@example.com", "password": "long enough password",
            ])
            let page = try await vicBrowser.get(client, "/console/settings?tab=users")
            let vicCSRF = try #require(Self.token(page.text, "name=\"csrf-token\" content="))
            #expect(try await vicBrowser.api(client, .patch, "users/\(adaID)", ["role": "viewer"], csrf: vicCSRF).status == .forbidden)
            let wrong = try await vicBrowser.api(client, .post, "account/password", ["currentPassword": "nope", "newPassword": "another long password"], csrf: vicCSRF)
            #expect(wrong.status == .badRequest)
            #expect(wrong.text.contains("currentPassword"))
            let changed = try await vicBrowser.api(client, .post, "account/password",
                                                   ["currentPassword": "long enough password", "newPassword": "another long password"], csrf: vicCSRF)
            #expect(changed.status == .ok)

            // Disabled users' sessions end at once.
            #expect(try await admin.api(client, .patch, "users/\(vicID)", ["disabled": true], csrf: csrf).status == .ok)
            #expect(try await vicBrowser.get(client, "/console/gates").status == .seeOther)
            let audit = try await client.console(.get, "audit_logs?name=vic@example.com")
            #expect(audit.json["data"]?.arrayValue?.contains { $0["description"]?.stringValue?.contains("disabled") == true } == true)
        }
    }

    @Test func everyPageRendersForAnAdmin() async throws {
        try await withVane { (client) async throws in
            var (admin, csrf) = try await Self.setUpAdmin(client)
            _ = try await admin.api(client, .post, "gates", ["name": "g1", "rules": [["name": "half", "passPercentage": 50, "conditions": [["type": "public"]],
                                                                                   "schedule": [["time": 4_102_444_800_000, "passPercentage": 80]]]]], csrf: csrf)
            _ = try await admin.api(client, .post, "experiments", ["name": "e1", "groups": [["name": "Control", "size": 50], ["name": "Test", "size": 50]]], csrf: csrf)
            _ = try await admin.api(client, .post, "dynamic_configs", ["name": "c1", "defaultValue": ["a": 1]], csrf: csrf)
            _ = try await admin.api(client, .post, "id_lists", ["name": "l1"], csrf: csrf)
            for path in ["/console", "/console/gates", "/console/gates/g1", "/console/gates/g1/results", "/console/dynamic_configs",
                         "/console/dynamic_configs/c1", "/console/segments", "/console/layers", "/console/experiments",
                         "/console/experiments/e1", "/console/experiments/e1/results", "/console/metrics", "/console/events",
                         "/console/events?tab=explore", "/console/id_lists", "/console/id_lists/l1", "/console/integrations/segment",
                         "/console/integrations/segment?tab=outbound", "/console/settings", "/console/settings?tab=users",
                         "/console/settings?tab=project", "/console/settings?tab=audit"] {
                let r = try await admin.get(client, path)
                #expect(r.status == .ok, "\(path): \(r.status)")
                #expect(r.text.contains("<nav aria-label=\"Main\">"), "\(path) lacks the layout")
            }
            #expect(try await admin.get(client, "/console/gates/nope").status == .notFound)
            let overview = try await admin.get(client, "/console").text
            #expect(overview.contains("Connect an SDK") && overview.contains("/v2/download_config_specs"), "the overview has the SDK snippets")
            let gatePage = try await admin.get(client, "/console/gates/g1").text
            #expect(gatePage.contains("<h1>g1</h1>"))
            #expect(gatePage.contains("2100-01-01 00:00:00 UTC → 80%") && gatePage.contains("pending"), "the schedule shows on the gate page")
        }
    }

    /// Names with spaces (gates) and event names with slashes and `?` (metrics) stay one path segment
    /// in every link a page builds, and the link leads back to the page.
    @Test func linksFromNamesArePercentEncoded() async throws {
        try await withVane { (client) async throws in
            var (admin, csrf) = try await Self.setUpAdmin(client)
            _ = try await admin.api(client, .post, "gates", ["name": "new checkout", "rules": [["name": "half", "passPercentage": 50, "conditions": [["type": "public"]]]]], csrf: csrf)
            let event: JSONValue = ["events": [["eventName": "checkout/step 2?", "user": ["userID": "u1"], "time": .int(Int64(Date().timeIntervalSince1970 * 1000))]]]
            #expect(try await client.call(.post, "/v1/log_event", key: Keys.server, json: event).status.code < 300)

            let gates = try await admin.get(client, "/console/gates").text
            #expect(gates.contains("href=\"/console/gates/new%20checkout\""))
            let gate = try await admin.get(client, "/console/gates/new%20checkout")
            #expect(gate.status == .ok)
            #expect(gate.text.contains("data-api=\"/console/v1/gates/new%20checkout\" data-method=\"PATCH\""))
            #expect(gate.text.contains("href=\"/console/gates/new%20checkout/results\""))
            #expect(try await admin.get(client, "/console/gates/new%20checkout/results").status == .ok)

            var metricLink: String?
            for _ in 0..<50 {
                let metrics = try await admin.get(client, "/console/metrics").text
                if let r = metrics.range(of: "href=\"/console/metrics/count%3Acheckout%2Fstep%202%3F\"") { metricLink = String(metrics[r]); break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(metricLink != nil, "the metrics list links the event's count metric with its name encoded")
            let metric = try await admin.get(client, "/console/metrics/count%3Acheckout%2Fstep%202%3F")
            #expect(metric.status == .ok)
            #expect(metric.text.contains("<h1>count:checkout/step 2?</h1>"))
        }
    }
}
