import Testing
import VaneCore

@Suite("Pulse results")
struct PulseTests {
    /// 400 units split by first exposure; purchases before a unit's exposure do not count, and a
    /// unit exposed to both groups is excluded. Control: half the units buy once (mean 0.5);
    /// test: every unit buys, half of them twice (mean 1.5).
    @Test func assignsByFirstExposureAndComparesGroups() async throws {
        try await withVane { (client) async throws in
            let created = try await client.console(.post, "experiments", [
                "name": "checkout_exp", "groups": [["name": "Control", "size": 50], ["name": "Test", "size": 50]],
            ])
            let groups = try #require(created.json["data"]?["groups"]?.arrayValue)
            let control = try #require(groups[0]["id"]?.stringValue)
            let test = try #require(groups[1]["id"]?.stringValue)
            let t0: Int64 = 1_790_000_000_000
            var events: [JSONValue] = []
            func exposure(_ user: String, _ rule: String, _ time: Int64) -> JSONValue {
                ["eventName": "statsig::config_exposure", "user": ["userID": .string(user)], "time": .int(time),
                 "metadata": ["config": "checkout_exp", "ruleID": .string(rule)]]
            }
            func purchase(_ user: String, _ time: Int64) -> JSONValue {
                ["eventName": "purchase", "user": ["userID": .string(user)], "time": .int(time), "value": 10]
            }
            for i in 0..<400 {
                let user = "u\(i)"
                events.append(purchase(user, t0 - 1000))  // before exposure: never counts
                events.append(exposure(user, i % 2 == 0 ? control : test, t0 + Int64(i)))
                let buys = i % 2 == 0 ? (i % 4 == 0 ? 1 : 0) : (i % 4 == 1 ? 2 : 1)
                for b in 0..<buys { events.append(purchase(user, t0 + 10_000 + Int64(b))) }
            }
            events.append(exposure("crossover", control, t0))
            events.append(exposure("crossover", test, t0 + 5))
            events.append(purchase("crossover", t0 + 10_000))
            let logged = try await client.call(.post, "/v1/log_event", key: Keys.server, json: ["events": .array(events)])
            #expect(logged.status == .accepted)

            let r = try await client.console(.get, "experiments/checkout_exp/results")
            #expect(r.status == .ok, "\(r.text.prefix(300))")
            let data = try #require(r.json["data"])
            #expect(data["groups"]?.arrayValue?.map { $0["units"] } == [200, 200])
            #expect(data["crossovers"] == 1)
            #expect(data["srm"]?["isMismatch"] == false)
            let metrics = try #require(data["metrics"]?.arrayValue)
            let count = try #require(metrics.first { $0["metric"] == "count:purchase" }?["comparisons"]?.arrayValue?.first)
            #expect(count["control"]?["mean"]?.doubleValue == 0.5)
            #expect(count["treatment"]?["mean"]?.doubleValue == 1.5)
            #expect(count["absolute"]?["estimate"]?.doubleValue.map { abs($0 - 1.0) < 1e-12 } == true)
            #expect(count["relative"]?["estimate"]?.doubleValue.map { abs($0 - 2.0) < 1e-12 } == true)
            #expect(count["isSignificant"] == true)
            let conversion = try #require(metrics.first { $0["metric"] == "conversion:purchase" }?["comparisons"]?.arrayValue?.first)
            #expect(conversion["control"]?["mean"]?.doubleValue == 0.5)
            #expect(conversion["treatment"]?["mean"]?.doubleValue == 1.0)

            let missing = try await client.console(.get, "experiments/nope/results")
            #expect(missing.status == .notFound)
        }
    }

    @Test func flagsASampleRatioMismatch() async throws {
        try await withVane { (client) async throws in
            let created = try await client.console(.post, "experiments", [
                "name": "srm_exp", "groups": [["name": "Control", "size": 50], ["name": "Test", "size": 50]],
            ])
            let groups = try #require(created.json["data"]?["groups"]?.arrayValue)
            var events: [JSONValue] = []
            for i in 0..<1000 {
                // 60/40 where 50/50 was configured.
                let rule = (i % 10 < 6 ? groups[0] : groups[1])["id"] ?? .null
                events.append(["eventName": "statsig::config_exposure", "user": ["userID": .string("s\(i)")],
                               "metadata": ["config": "srm_exp", "ruleID": rule]])
            }
            _ = try await client.call(.post, "/v1/log_event", key: Keys.server, json: ["events": .array(events)])
            let r = try await client.console(.get, "experiments/srm_exp/results")
            #expect(r.json["data"]?["srm"]?["isMismatch"] == true)
            #expect((r.json["data"]?["srm"]?["pValue"]?.doubleValue ?? 1) < 0.001)
        }
    }
}
