import Testing
import VaneCore

@Suite("SDK API")
struct SDKAPITests {
    @Test func healthAndMetrics() async throws {
        try await withVane { (client) async throws in
            #expect(try await client.call(.get, "/health").status == .ok)
            #expect(try await client.call(.get, "/metrics").status == .unauthorized)
            #expect(try await client.call(.get, "/metrics", key: Keys.client).status == .unauthorized)
            #expect(try await client.call(.get, "/metrics", headers: ["Authorization": "Bearer \(Keys.server)"]).status == .unauthorized)
            #expect(try await client.call(.get, "/metrics", key: Keys.console).status == .ok)
            #expect(try await client.call(.get, "/metrics", headers: ["Authorization": "Bearer \(Keys.console)"]).status == .ok)
        }
        try await withVane(metricsToken: "scrape-token-123") { (client) async throws in
            #expect(try await client.call(.get, "/metrics", headers: ["Authorization": "Bearer scrape-token-123"]).status == .ok)
            #expect(try await client.call(.get, "/metrics", headers: ["Authorization": "Bearer scrape-token-124"]).status == .unauthorized)
        }
    }

    @Test func downloadConfigSpecsServesRulesAndNoUpdates() async throws {
        try await withVane { (client) async throws in
            try await client.console(.post, "gates", [
                "name": "beta", "rules": [["name": "half", "passPercentage": 50, "conditions": [["type": "public"]]]],
            ])
            let dcs = try await client.call(.get, "/v1/download_config_specs/\(Keys.server).json", key: Keys.server)
            #expect(dcs.status == .ok)
            let gates = try #require(dcs.json["feature_gates"]?.arrayValue)
            #expect(gates.map { $0["name"] } == [.string("beta")])
            #expect(gates[0]["rules"]?.arrayValue?.first?["passPercentage"] == 50)
            let time = try #require(dcs.json["time"]?.int64Value)
            let again = try await client.call(.get, "/v1/download_config_specs/\(Keys.server).json?sinceTime=\(time)")
            #expect(again.json["has_updates"] == false)
            let post = try await client.call(.post, "/v1/download_config_specs", key: Keys.server, json: [:])
            #expect(post.json["feature_gates"]?.arrayValue?.count == 1)
        }
    }

    @Test func keysAreCheckedPerEndpoint() async throws {
        try await withVane { (client) async throws in
            #expect(try await client.call(.get, "/v1/download_config_specs/\(Keys.client).json").status == .unauthorized)
            #expect(try await client.call(.get, "/v1/download_config_specs/secret-unknown.json").status == .unauthorized)
            let user: JSONValue = ["user": ["userID": "u1"], "gateName": "x"]
            #expect(try await client.call(.post, "/v1/check_gate", key: Keys.client, json: user).status == .unauthorized)
            #expect(try await client.call(.post, "/v1/check_gate", json: user).status == .unauthorized)
            #expect(try await client.call(.post, "/v1/initialize", key: Keys.client, json: ["user": ["userID": "u1"]]).status == .ok)
            #expect(try await client.call(.post, "/v1/initialize?k=\(Keys.client)", json: ["user": ["userID": "u1"]]).status == .ok)
            #expect(try await client.call(.get, "/console/v1/gates", key: Keys.server).status == .unauthorized)
        }
    }

    @Test func checkGateMatchesTheEvaluatorAndLogsExposures() async throws {
        try await withVane { (client) async throws in
            try await client.console(.post, "gates", [
                "name": "pro_only", "rules": [["name": "pro", "conditions": [["type": "custom_field", "field": "plan", "operator": "any", "targetValue": ["pro"]]]]],
            ])
            let pro = try await client.call(.post, "/v1/check_gate", key: Keys.server, json: ["user": ["userID": "a", "custom": ["plan": "pro"]], "gateName": "pro_only"])
            #expect(pro.json["value"] == true)
            let free = try await client.call(.post, "/v1/check_gate", key: Keys.server, json: ["user": ["userID": "b"], "gateName": "pro_only"])
            #expect(free.json["value"] == false)
            #expect(free.json["rule_id"] == "default")
            _ = try await client.call(.post, "/v1/check_gate", key: Keys.server, json: [
                "user": ["userID": "c"], "gateName": "pro_only", "statsigMetadata": ["exposureLoggingDisabled": true],
            ])
            let events = try await client.console(.get, "events?eventName=statsig::gate_exposure")
            let users = events.json["data"]?.arrayValue?.compactMap { $0["userID"]?.stringValue }
            #expect(users == ["b", "a"])
        }
    }

    @Test func logEventAcceptsGzipAndAnswers202AfterCommit() async throws {
        try await withVane { (client) async throws in
            let body: JSONValue = ["events": [
                ["eventName": "purchase", "user": ["userID": "u1"], "value": 9.99, "metadata": ["sku": "abc"], "time": 1_700_000_000_000],
                ["eventName": "view", "user": ["userID": "u2"], "time": "2023-11-14T22:13:20.000Z"],
            ]]
            let r = try await client.call(.post, "/v1/log_event", key: Keys.server, raw: try gzip(body.serializedBytes()),
                                          headers: ["Content-Encoding": "gzip", "STATSIG-EVENT-COUNT": "2"])
            #expect(r.status == .accepted)
            let events = try await client.console(.get, "events")
            let list = try #require(events.json["data"]?.arrayValue)
            #expect(list.count == 2)
            #expect(list.allSatisfy { $0["time"] == .int(1_700_000_000_000) })
            #expect(list.contains { $0["eventName"] == "purchase" && $0["value"] == .double(9.99) && $0["metadata"]?["sku"] == "abc" })
        }
    }

    @Test func idListsReachTheManifestAndFile() async throws {
        try await withVane { (client) async throws in
            try await client.console(.post, "id_lists", ["name": "vips"])
            let change = try await client.console(.post, "id_lists/vips/ids", ["add": ["u1", "u2"]])
            #expect(change.json["data"]?["added"] == 2)
            let manifest = try await client.call(.post, "/v1/get_id_lists", key: Keys.server, json: [:])
            let entry = try #require(manifest.json["vips"])
            #expect(entry["size"] == 20)
            let url = try #require(entry["url"]?.stringValue)
            let path = String(url[url.range(of: "/v1/")!.lowerBound...])
            let file = try await client.call(.get, path)
            #expect(file.text == "+\(StatsigHash.idListEntry("u1"))\n+\(StatsigHash.idListEntry("u2"))\n")
            let tail = try await client.call(.get, path, headers: ["Range": "bytes=10-"])
            #expect(tail.status == .partialContent)
            #expect(tail.text == "+\(StatsigHash.idListEntry("u2"))\n")
            try await client.console(.post, "segments", ["name": "vip_segment", "segmentType": "id_list", "idList": "vips"])
            try await client.console(.post, "gates", ["name": "vip_gate", "rules": [["name": "vips", "conditions": [["type": "passes_segment", "targetValue": "vip_segment"]]]]])
            let pass = try await client.call(.post, "/v1/check_gate", key: Keys.server, json: ["user": ["userID": "u2"], "gateName": "vip_gate"])
            #expect(pass.json["value"] == true)
            let fail = try await client.call(.post, "/v1/check_gate", key: Keys.server, json: ["user": ["userID": "u3"], "gateName": "vip_gate"])
            #expect(fail.json["value"] == false)
        }
    }

    @Test func initializeHashesNamesWithDjb2() async throws {
        try await withVane { (client) async throws in
            try await client.console(.post, "gates", ["name": "rollout_50", "rules": [["name": "all", "conditions": [["type": "public"]]]]])
            let r = try await client.call(.post, "/v1/initialize", key: Keys.client, json: ["user": ["userID": "u1"]])
            #expect(r.json["hash_used"] == "djb2")
            #expect(r.json["feature_gates"]?["4203823081"]?["value"] == true)
            let plain = try await client.call(.post, "/v1/initialize", key: Keys.client, json: ["user": ["userID": "u1"], "hash": "none"])
            #expect(plain.json["feature_gates"]?["rollout_50"]?["value"] == true)
            // Browsers send se=1 bodies: base64 of the JSON with the characters reversed.
            let encoded = String(StatsigHash.base64((["user": ["userID": "u1"]] as JSONValue).serializedBytes()).reversed())
            let se = try await client.call(.post, "/v1/initialize?k=\(Keys.client)&se=1", raw: Array(encoded.utf8))
            #expect(se.json["feature_gates"]?["4203823081"]?["value"] == true)
        }
    }
}
