import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing
import VaneCore

/// CORS for browsers on the client-key endpoints, the initialize checksum, and DCS v2 for
/// server-core SDKs (the real clients are exercised in tests/conformance and tests/browser).
@Suite("Browsers and server-core SDKs")
struct BrowserAndCoreSDKTests {
    static let origin = "https://shop.example.com"

    @Test func preflightAndAnswersCarryTheRequestOrigin() async throws {
        try await withVane { (client) async throws in
            let pre = try await client.call(.options, "/v1/initialize?k=\(Keys.client)&st=javascript-client", headers: [
                "Origin": Self.origin, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,statsig-api-key,statsig-sdk-type",
            ])
            #expect(pre.status == .noContent)
            #expect(pre.headers[.accessControlAllowOrigin] == Self.origin)
            #expect(pre.headers[.accessControlAllowMethods]?.contains("POST") == true)
            #expect(pre.headers[.accessControlAllowHeaders] == "content-type,statsig-api-key,statsig-sdk-type")
            #expect(pre.headers[.vary]?.contains("Origin") == true)
            for path in ["/v1/rgstr", "/v1/log_event", "/v1/sdk_exception"] {
                let p = try await client.call(.options, path + "?k=\(Keys.client)", headers: ["Origin": Self.origin])
                #expect(p.status == .noContent && p.headers[.accessControlAllowOrigin] == Self.origin, "\(path)")
            }
            let initialize = try await client.call(.post, "/v1/initialize?k=\(Keys.client)", json: ["user": ["userID": "u"]],
                                                   headers: ["Origin": Self.origin])
            #expect(initialize.status == .ok)
            #expect(initialize.headers[.accessControlAllowOrigin] == Self.origin)
            // Errors are readable by the page too.
            let wrong = try await client.call(.post, "/v1/rgstr?k=client-nope", json: ["events": []], headers: ["Origin": Self.origin])
            #expect(wrong.status == .unauthorized && wrong.headers[.accessControlAllowOrigin] == Self.origin)
        }
    }

    @Test func neverForServerSecretsOrTheConsole() async throws {
        try await withVane { (client) async throws in
            let pre = try await client.call(.options, "/v1/initialize?k=\(Keys.server)", headers: ["Origin": Self.origin])
            #expect(pre.status == .forbidden && pre.headers[.accessControlAllowOrigin] == nil)
            let withSecret = try await client.call(.post, "/v1/initialize", key: Keys.server, json: ["user": ["userID": "u"]],
                                                   headers: ["Origin": Self.origin])
            #expect(withSecret.status == .ok && withSecret.headers[.accessControlAllowOrigin] == nil)
            let console = try await client.call(.get, "/console/v1/gates", key: Keys.console, headers: ["Origin": Self.origin])
            #expect(console.status == .ok && console.headers[.accessControlAllowOrigin] == nil)
            let consolePre = try await client.call(.options, "/console/v1/gates", headers: ["Origin": Self.origin])
            #expect(consolePre.headers[.accessControlAllowOrigin] == nil)
            let dcs = try await client.call(.get, "/v2/download_config_specs/\(Keys.server).json", headers: ["Origin": Self.origin])
            #expect(dcs.status == .ok && dcs.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func aKeyMayListTheOriginsItAllows() async throws {
        try await withVane { (client) async throws in
            #expect(try await client.console(.post, "keys", ["kind": "client", "allowedOrigins": ["https://a.example.com/path"]])
                .status == .badRequest)
            #expect(try await client.console(.post, "keys", ["kind": "server", "allowedOrigins": [.string(Self.origin)]]).status == .badRequest)
            let created = try await client.console(.post, "keys", ["kind": "client", "allowedOrigins": ["https://Shop.example.com"]])
            #expect(created.status == .created)
            #expect(created.json["data"]?["allowedOrigins"] == [.string(Self.origin)])
            let key = try #require(created.json["data"]?["key"]?.stringValue)
            let ok = try await client.call(.options, "/v1/rgstr?k=\(key)", headers: ["Origin": Self.origin])
            #expect(ok.status == .noContent && ok.headers[.accessControlAllowOrigin] == Self.origin)
            let other = try await client.call(.options, "/v1/rgstr?k=\(key)", headers: ["Origin": "https://evil.example.com"])
            #expect(other.status == .forbidden && other.headers[.accessControlAllowOrigin] == nil)
            let post = try await client.call(.post, "/v1/rgstr?k=\(key)", json: ["events": [["eventName": "from_evil"]]],
                                             headers: ["Origin": "https://evil.example.com"])
            #expect(post.status == .forbidden)
            let stored = try await client.console(.get, "events?eventName=from_evil")
            #expect(stored.json["data"]?.arrayValue?.isEmpty == true, "a refused origin stores nothing")
            // Without an Origin (servers, curl) the key works as before.
            #expect(try await client.call(.post, "/v1/rgstr?k=\(key)", json: ["events": [["eventName": "e"]]]).status == .accepted)
        }
    }

    @Test func initializeSaysNothingChangedForTheSameChecksum() async throws {
        try await withVane { (client) async throws in
            let created = try await client.console(.post, "gates", ["name": "by_email", "rules": [
                ["name": "yz", "passPercentage": 100, "conditions": [
                    ["type": "user_field", "field": "email", "operator": "str_contains_any", "targetValue": ["@y.z"]]]]]])
            #expect(created.status == .created)
            let first = try await client.call(.post, "/v1/initialize", key: Keys.client, json: ["user": ["userID": "u1"]])
            let checksum = try #require(first.json["full_checksum"]?.stringValue)
            #expect(first.json["hash_used"] == "djb2")
            #expect(first.json["derived_fields"]?["ip"] != nil)
            #expect(first.json["sdk_flags"] == .object([:]))
            let same = try await client.call(.post, "/v1/initialize", key: Keys.client,
                                             json: ["user": ["userID": "u1"], "full_checksum": .string(checksum)])
            #expect(same.json == ["has_updates": false, "time": first.json["time"]!])
            // Another user's values differ: a full answer.
            let other = try await client.call(.post, "/v1/initialize", key: Keys.client,
                                              json: ["user": ["userID": "u2", "email": "x@y.z"], "full_checksum": .string(checksum)])
            #expect(other.json["has_updates"] == true)
            // A rule change changes the checksum.
            let patched = try await client.console(.patch, "gates/by_email", ["rules": [["name": "everyone", "passPercentage": 100, "conditions": [["type": "public"]]]]])
            #expect(patched.status == .ok, "\(patched.text)")
            let changed = try await client.call(.post, "/v1/initialize", key: Keys.client,
                                                json: ["user": ["userID": "u1"], "full_checksum": .string(checksum)])
            #expect(changed.json["has_updates"] == true && changed.json["full_checksum"]?.stringValue != checksum)
        }
    }

    @Test func dcsV2ServesTheSameRulesInTheV2Shape() async throws {
        try await withVane { (client) async throws in
            #expect(try await client.console(.post, "gates", ["name": "multi", "rules": [
                ["name": "either", "passPercentage": 100, "conditions": [
                    ["type": "multi_pass_gate", "targetValue": ["gate_a", "gate_b"]], ["type": "public"]]],
            ]]).status == .created)
            #expect(try await client.console(.post, "gates", ["name": "off", "isEnabled": false, "rules": [
                ["name": "all", "passPercentage": 100, "conditions": [["type": "public"]]]]]).status == .created)
            let r = try await client.call(.get, "/v2/download_config_specs/\(Keys.server).json?supports_proto=true")
            #expect(r.status == .ok)
            let doc = r.json
            #expect(doc["response_format"] == "dcs-v2")
            let multi = try #require(doc["feature_gates"]?["multi"])
            #expect(multi["name"] == nil)
            let rules = try #require(multi["rules"]?.arrayValue)
            // One rule per gate, same id and salt; the shared "public" condition is stored once.
            #expect(rules.count == 2 && rules[0]["id"] == rules[1]["id"] && rules[0]["salt"] == rules[1]["salt"])
            let keys = rules.flatMap { $0["conditions"]?.arrayValue ?? [] }.compactMap(\.stringValue)
            #expect(Set(keys).count == 3)
            #expect(keys.allSatisfy { doc["condition_map"]?[$0] != nil })
            #expect(doc["condition_map"]?[keys[0]]?["type"] == "pass_gate")
            #expect(doc["feature_gates"]?["off"]?["rules"] == .array([]))
            let checksum = try #require(doc["checksum"]?.stringValue)
            let time = try #require(doc["time"]?.int64Value)
            for query in ["sinceTime=\(time)", "checksum=\(checksum)"] {
                let none = try await client.call(.get, "/v2/download_config_specs/\(Keys.server).json?\(query)")
                #expect(none.status == .ok && none.json == ["has_updates": false])
            }
            let gz = try await client.call(.get, "/v2/download_config_specs", key: Keys.server, headers: ["Accept-Encoding": "gzip, br"])
            #expect(gz.headers[.contentEncoding] == "gzip")
            for key in [Keys.client, Keys.console, "secret-unknown"] {
                #expect(try await client.call(.get, "/v2/download_config_specs/\(key).json").status == .unauthorized)
            }
        }
    }

    @Test func parameterStoresAreEditedAuditedAndServed() async throws {
        try await withVane { (client) async throws in
            let store: JSONValue = ["name": "app_params", "parameters": [
                "title": ["ref_type": "static", "param_type": "string", "value": "Hi"],
                "on": ["ref_type": "gate", "param_type": "boolean", "gate_name": "some_gate", "pass_value": true, "fail_value": false,
                       "stray": "dropped"],
            ]]
            #expect(try await client.console(.post, "parameter_stores", store).status == .created)
            #expect(try await client.console(.post, "parameter_stores", store).status == .conflict)
            for (bad, mentions) in [
                (["ref_type": "static", "param_type": "string", "value": 3] as JSONValue, "value must be of type string"),
                (["ref_type": "magic", "param_type": "string"], "ref_type"),
                (["ref_type": "layer", "param_type": "number", "layer_name": "l1"], "param_name is required"),
                (["ref_type": "static", "param_type": "number", "value": 1e400], "value"),
            ] {
                let r = try await client.console(.put, "parameter_stores/app_params", ["parameters": ["p1": bad]])
                #expect(r.status == .badRequest && r.text.contains(mentions), "\(r.text)")
            }
            let patched = try await client.console(.patch, "parameter_stores/app_params", ["parameters": ["title": .null,
                "count": ["ref_type": "static", "param_type": "number", "value": 3]]])
            #expect(patched.status == .ok, "\(patched.text)")
            #expect(patched.json["data"]?["version"] == 2)
            #expect(patched.json["data"]?["parameters"]?["title"] == nil)
            #expect(patched.json["data"]?["parameters"]?["on"]?["stray"] == nil)
            let dcs = try await client.call(.get, "/v2/download_config_specs/\(Keys.server).json")
            #expect(dcs.json["param_stores"]?["app_params"]?["parameters"]?["count"]?["value"] == 3)
            let initialize = try await client.call(.post, "/v1/initialize", key: Keys.client, json: ["user": ["userID": "u"]])
            let hashed = StatsigHash.djb2("app_params")
            #expect(initialize.json["param_stores"]?[hashed]?["on"]?["gate_name"] == .string(StatsigHash.djb2("some_gate")))
            let audit = try await client.console(.get, "audit_logs?kind=parameter_store")
            #expect(audit.json["data"]?.arrayValue?.count == 2)
            #expect(try await client.console(.delete, "parameter_stores/app_params").status == .ok)
            #expect(try await client.console(.get, "parameter_stores/app_params").status == .notFound)
        }
    }

    @Test func ofrepAnswersBrowsersWithClientKeysOnly() async throws {
        try await withVane { (client) async throws in
            let pre = try await client.call(.options, "/ofrep/v1/evaluate/flags", headers: [
                "Origin": Self.origin, "Access-Control-Request-Headers": "authorization,content-type,if-none-match"])
            #expect(pre.status == .noContent && pre.headers[.accessControlAllowOrigin] == Self.origin)
            let body: JSONValue = ["context": ["targetingKey": "u1"]]
            let withClient = try await client.call(.post, "/ofrep/v1/evaluate/flags", json: body,
                                                   headers: ["Origin": Self.origin, "Authorization": "Bearer \(Keys.client)"])
            #expect(withClient.status == .ok && withClient.headers[.accessControlAllowOrigin] == Self.origin)
            #expect(withClient.headers[.accessControlExposeHeaders] == "ETag")
            let withSecret = try await client.call(.post, "/ofrep/v1/evaluate/flags", json: body,
                                                   headers: ["Origin": Self.origin, "X-API-Key": Keys.server])
            #expect(withSecret.status == .ok && withSecret.headers[.accessControlAllowOrigin] == nil)
        }
    }
}
