import Testing
import VaneCore

@Suite("Console API")
struct ConsoleAPITests {
    @Test func gateLifecycleWritesTheAuditLog() async throws {
        try await withVane { (client) async throws in
            let created = try await client.console(.post, "gates", [
                "name": "new_checkout", "description": "first",
                "rules": [["name": "staff", "conditions": [["type": "email", "operator": "str_ends_with_any", "targetValue": ["@co.com"]]]]],
            ])
            #expect(created.status == .created)
            let ruleID = try #require(created.json["data"]?["rules"]?.arrayValue?.first?["id"]?.stringValue)
            let duplicate = try await client.console(.post, "gates", ["name": "new_checkout"])
            #expect(duplicate.status == .conflict)
            let patched = try await client.console(.patch, "gates/new_checkout", ["description": "second"])
            #expect(patched.json["data"]?["description"] == "second")
            // The rule keeps its id (and so its salt and buckets) across edits.
            #expect(patched.json["data"]?["rules"]?.arrayValue?[0]["id"]?.stringValue == ruleID)
            let listed = try await client.console(.get, "gates")
            #expect(listed.json["data"]?.arrayValue?.count == 1)
            // The kill switch has its own action names.
            #expect(try await client.console(.put, "gates/new_checkout/disable").status == .ok)
            #expect(try await client.console(.put, "gates/new_checkout/enable").status == .ok)
            let deleted = try await client.console(.delete, "gates/new_checkout")
            #expect(deleted.status == .ok)
            let gone = try await client.console(.get, "gates/new_checkout")
            #expect(gone.status == .notFound)
            let log = try await client.console(.get, "audit_logs?kind=gate")
            let actions = log.json["data"]?.arrayValue?.compactMap { $0["action"]?.stringValue }
            #expect(actions == ["deleted", "enabled", "disabled", "updated", "created"])
            let disabled = try #require(log.json["data"]?.arrayValue?[2])
            #expect(disabled["description"] == "Gate new_checkout disabled")
            #expect(disabled["before"]?["isEnabled"] != false && disabled["after"]?["isEnabled"] == false)
            let update = try #require(log.json["data"]?.arrayValue?[3])
            #expect(update["before"]?["description"] == "first")
            #expect(update["after"]?["description"] == "second")
            // The readable diff names the field, leaving out the bookkeeping every save rewrites.
            #expect(update["changes"] == [["path": "description", "before": "first", "after": "second"]])
            #expect(disabled["changes"]?.arrayValue?.map { $0["path"] } == ["isEnabled"])
            let onlyDisabled = try await client.console(.get, "audit_logs?kind=gate&action=disabled")
            #expect(onlyDisabled.json["data"]?.arrayValue?.map { $0["action"] } == ["disabled"])
            let future = try await client.console(.get, "audit_logs?since=2999-01-01T00:00:00Z")
            #expect(future.json["data"]?.arrayValue?.isEmpty == true)
            let badTime = try await client.console(.get, "audit_logs?until=yesterday")
            #expect(badTime.status == .badRequest && badTime.json["error"]?.stringValue?.contains("until must be") == true)
        }
    }

    /// A split change of a running experiment is checked before anything prints its sizes: a size
    /// of 1e300 is a 400 that names the field, not a trap while writing the refusal.
    @Test func aHostileSplitChangeOfARunningExperimentIsRefused() async throws {
        try await withVane { (client) async throws in
            try await client.console(.post, "experiments", ["name": "running", "groups": [["name": "A", "size": 50], ["name": "B", "size": 50]]])
            #expect(try await client.console(.put, "experiments/running/start").status == .ok)
            let huge = try await client.console(.patch, "experiments/running", ["groups": [["name": "A", "size": 1e300], ["name": "B", "size": 50]]])
            #expect(huge.status == .badRequest && huge.json["error"]?.stringValue?.contains("size must be between 0 and 100") == true, "\(huge.text)")
            let unconfirmed = try await client.console(.patch, "experiments/running", ["groups": [["name": "A", "size": 60], ["name": "B", "size": 40]]])
            #expect(unconfirmed.status == .conflict && unconfirmed.json["error"]?.stringValue?.contains("from 50% / 50% to 60% / 40%") == true, "\(unconfirmed.text)")
            #expect(try await client.console(.get, "experiments/running").status == .ok)
        }
    }

    @Test func experimentsInALayerSplitItsTraffic() async throws {
        try await withVane { (client) async throws in
            try await client.console(.post, "layers", ["name": "checkout_layer", "defaultValue": ["button": "Buy", "color": "blue"]])
            for (name, allocation) in [("exp_a", 40.0), ("exp_b", 60.0)] {
                let r = try await client.console(.post, "experiments", [
                    "name": .string(name), "layer": "checkout_layer", "allocation": .double(allocation),
                    "groups": [["name": "Control", "size": 50, "parameterValues": ["button": "Buy"]],
                               ["name": "Test", "size": 50, "parameterValues": ["button": .string("Buy \(name)")]]],
                ])
                #expect(r.status == .created, "\(r.text)")
                let started = try await client.console(.put, "experiments/\(name)/start")
                #expect(started.status == .ok)
            }
            try await client.console(.post, "experiments", ["name": "exp_c", "layer": "checkout_layer", "allocation": 10, "groups": [["name": "A", "size": 100]]])
            let full = try await client.console(.put, "experiments/exp_c/start")
            #expect(full.status == .conflict)
            var allocated: [String: Int] = [:]
            for i in 0..<400 {
                let r = try await client.call(.post, "/v1/get_layer", key: Keys.server, json: [
                    "user": ["userID": .string("user-\(i)")], "layerName": "checkout_layer", "statsigMetadata": ["exposureLoggingDisabled": true],
                ])
                allocated[r.json["allocatedExperimentName"]?.stringValue ?? "?", default: 0] += 1
                #expect(r.json["value"]?["color"] == "blue")
            }
            #expect(allocated["exp_a", default: 0] > 120 && allocated["exp_a", default: 0] < 200)
            #expect(allocated["exp_b", default: 0] > 200 && allocated["exp_b", default: 0] < 280)
            let decided = try await client.console(.put, "experiments/exp_a/make_decision", ["group": "Test"])
            #expect(decided.json["data"]?["status"] == "decision_made")
            let after = try await client.call(.post, "/v1/get_config", key: Keys.server, json: ["user": ["userID": "anyone"], "configName": "exp_a"])
            #expect(after.json["value"]?["button"] == "Buy exp_a")
            #expect(after.json["rule_id"] == "launchedGroup")
        }
    }

    @Test func importKeepsBucketsAndReportsUnsupportedSpecs() async throws {
        try await withVane { (client) async throws in
            let doc: JSONValue = [
                "has_updates": true, "time": 1,
                "feature_gates": [
                    ["name": "half", "type": "feature_gate", "entity": "feature_gate", "salt": "s1", "enabled": true, "defaultValue": false, "idType": "userID",
                     "rules": [["id": "r1", "name": "r1", "salt": "r1", "passPercentage": 50, "returnValue": true, "idType": "userID",
                                "conditions": [["type": "public", "operator": .null, "targetValue": .null, "field": .null, "additionalValues": [:], "idType": "userID"]]]]],
                    ["name": "odd", "type": "feature_gate", "entity": "feature_gate", "salt": "s2", "enabled": true, "defaultValue": false, "idType": "userID",
                     "rules": [["id": "r2", "passPercentage": 100, "returnValue": true, "conditions": [["type": "moon_phase", "operator": "eq", "targetValue": 1]]]]],
                ],
                "dynamic_configs": [], "layer_configs": [],
            ]
            let r = try await client.console(.post, "import/statsig", doc)
            #expect(r.json["data"]?["imported"]?["gates"] == ["half"])
            #expect(r.json["data"]?["skipped"]?.arrayValue?.first?["name"] == "odd")
            let specs = try Spec(json: doc["feature_gates"]!.arrayValue![0])
            let evaluator = Evaluator(rules: RuleSet(time: 1, gates: [specs], configs: [], layers: []))
            for i in 0..<50 {
                let user = "user-\(i)"
                let served = try await client.call(.post, "/v1/check_gate", key: Keys.server, json: [
                    "user": ["userID": .string(user)], "gateName": "half", "statsigMetadata": ["exposureLoggingDisabled": true],
                ])
                #expect(served.json["value"] == .bool(evaluator.checkGate(StatsigUser(userID: user), "half").value))
            }
        }
    }

    @Test func environmentLimitedRulesFollowTheTier() async throws {
        try await withVane { (client) async throws in
            try await client.console(.post, "gates", ["name": "staging_only", "rules": [["name": "s", "environments": ["staging"], "conditions": [["type": "public"]]]]])
            let prod = try await client.call(.post, "/v1/check_gate", key: Keys.server, json: ["user": ["userID": "u"], "gateName": "staging_only"])
            #expect(prod.json["value"] == false)
            let staging = try await client.call(.post, "/v1/check_gate", key: Keys.server, json: ["user": ["userID": "u", "statsigEnvironment": ["tier": "staging"]], "gateName": "staging_only"])
            #expect(staging.json["value"] == true)
            let bad = try await client.console(.post, "gates", ["name": "typo", "rules": [["name": "s", "environments": ["prod"]]]])
            #expect(bad.status == .badRequest)
        }
    }
}
