import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VaneCore
import VaneServer
import VaneStore

/// Requests with extreme numbers get a 400 that names the field (a batch item is skipped with its
/// reason), never a crash; a trap here would end the test process.
@Suite("Hostile numbers: HTTP")
struct HostileNumberHTTPTests {
    static let writeKey = "wk_hostile_numbers_key"

    /// The application on `store` (a fresh one by default), with a Segment write key as well.
    static func withApp<T: Sendable>(
        store: SQLiteStore? = nil, _ body: @Sendable (any TestClientProtocol) async throws -> T
    ) async throws -> T {
        let store = try store ?? SQLiteStore()
        _ = try await store.bootstrap(
            preset: PresetKeys(server: Keys.server, client: Keys.client, console: Keys.console, segmentWriteKey: writeKey), now: 1)
        var config = AppConfig()
        config.maxBodyBytes = 1024 * 1024
        var logger = Logger(label: "vane-test")
        logger.logLevel = .critical
        return try await buildApplication(VaneServices(store: store), config: config, logger: logger).test(.router, body)
    }

    static func raw(_ text: String) -> [UInt8] { Array(text.utf8) }
    static var nowMs: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func expectAlive(_ client: any TestClientProtocol) async throws {
        #expect(try await client.call(.get, "/health").status == .ok)
    }

    // MARK: - Event times

    /// `time` spellings that must be refused: beyond Int64, at its ends, negative, numeric strings,
    /// ISO dates outside 2000 … now + 1 day, and numbers the parser turns into infinity.
    static let badTimes: [String] = [
        "9223372036854775807", "-9223372036854775808", "9223372036854775806", "-1", "0", "1",
        "1e19", "-1e19", "9.3e18", "-9.3e18", "1.7976931348623157e308", "1e400", "-1e400", "18446744073709551616",
        "99999999999", "946684799999", "253402300800000", "1e15",
        #""9223372036854775807""#, #""-9223372036854775808""#, #""-1""#, #""99999999999999999999""#,
        #""0000-01-01T00:00:00Z""#, #""10000-01-01T00:00:00Z""#, #""1999-12-31T23:59:59.999Z""#,
        #""9999-12-31T23:59:59.999Z""#, #""9999-12-31T23:59:59.999-99:99""#, #""nan""#, #""inf""#,
    ]

    @Test("log_event and rgstr refuse an out-of-range time, naming it", arguments: badTimes)
    func badEventTime(time: String) async throws {
        try await Self.withApp { client in
            for (path, key) in [("/v1/log_event", Keys.server), ("/v1/rgstr", Keys.client)] {
                let body = #"{"events": [{"eventName": "ok", "user": {"userID": "u"}}, {"eventName": "e", "user": {"userID": "u"}, "time": \#(time)}]}"#
                let r = try await client.call(.post, path, key: key, raw: Self.raw(body))
                #expect(r.status == .badRequest, "\(path) time \(time): \(r.status) \(r.text)")
                #expect(r.text.contains("events[1].time"), "\(path) time \(time): \(r.text)")
            }
            // Nothing of the refused request was stored.
            let events = try await client.console(.get, "events")
            #expect(events.json["data"]?.arrayValue?.isEmpty == true)
            try await Self.expectAlive(client)
        }
    }

    @Test func farFutureTimesAreRefusedAndTheEdgesAccepted() async throws {
        try await Self.withApp { client in
            let now = Self.nowMs
            for t in [now + 2 * 86_400_000, now + 86_400_000 + 60_000] {
                let r = try await client.call(.post, "/v1/log_event", key: Keys.server, json: ["events": [["eventName": "e", "time": .int(t)]]])
                #expect(r.status == .badRequest, "\(t): \(r.text)")
                #expect(r.text.contains("events[0].time") && r.text.contains("out of range"), "\(r.text)")
            }
            let accepted: [JSONValue] = [
                .int(EventTime.earliest), "2000-01-01T00:00:00Z", .int(now), .int(now + 86_400_000 - 60_000), .int(1_790_000_000),
                .double(1_790_000_000.5), .string(String(now)), .double(Double(now) + 0.75),
            ]
            for t in accepted {
                let r = try await client.call(.post, "/v1/log_event", key: Keys.server, json: ["events": [["eventName": "edge", "time": t]]])
                #expect(r.status == .accepted, "\(t.serialized()): \(r.text)")
            }
            let stored = try #require(try await client.console(.get, "events?eventName=edge").json["data"]?.arrayValue)
            #expect(stored.count == accepted.count)
            #expect(stored.contains { $0["time"] == .int(EventTime.earliest) })
            #expect(stored.contains { $0["time"] == .int(1_790_000_000_500) })
        }
    }

    // MARK: - Event values

    @Test(arguments: ["1e400", "-1e400", "1E999", "-2e308"])
    func nonFiniteValuesAreRefused(value: String) async throws {
        try await Self.withApp { client in
            let body = #"{"events": [{"eventName": "e", "user": {"userID": "u"}, "value": \#(value)}]}"#
            for (path, key) in [("/v1/log_event", Keys.server), ("/v1/rgstr", Keys.client)] {
                let r = try await client.call(.post, path, key: key, raw: Self.raw(body))
                #expect(r.status == .badRequest, "\(path) \(value): \(r.text)")
                #expect(r.text.contains("events[0].value") && r.text.contains("finite"), "\(r.text)")
            }
            // NaN and Infinity are not JSON at all.
            for literal in ["NaN", "Infinity", "-Infinity"] {
                let r = try await client.call(.post, "/v1/log_event", key: Keys.server,
                                              raw: Self.raw(#"{"events": [{"eventName": "e", "value": \#(literal)}]}"#))
                #expect(r.status == .badRequest, "\(literal): \(r.text)")
            }
            try await Self.expectAlive(client)
        }
    }

    @Test func hugeFiniteValuesAreStoredAndLeaveTheResultsWorking() async throws {
        try await Self.withApp { client in
            let created = try await client.console(.post, "experiments", [
                "name": "big_values", "groups": [["name": "Control", "size": 50], ["name": "Test", "size": 50]],
            ])
            let groups = try #require(created.json["data"]?["groups"]?.arrayValue)
            let control = try #require(groups[0]["id"]?.stringValue), test = try #require(groups[1]["id"]?.stringValue)
            let t = Self.nowMs - 3_600_000
            var events: [JSONValue] = []
            for i in 0..<10 {
                events.append(["eventName": "statsig::config_exposure", "user": ["userID": .string("u\(i)")], "time": .int(t),
                               "metadata": ["config": "big_values", "ruleID": .string(i % 2 == 0 ? control : test)]])
                events.append(["eventName": "buy", "user": ["userID": .string("u\(i)")], "time": .int(t + 1000), "value": 5])
            }
            let body = String(decoding: JSONValue.array(events).serializedBytes(), as: UTF8.self)
            // 1e308 twice and -1e308: finite, acknowledged, and set aside by the rollup (their sums are not).
            let extra = #", {"eventName": "buy", "user": {"userID": "u0"}, "value": 1e308}, {"eventName": "buy", "user": {"userID": "u0"}, "value": 1e308}, {"eventName": "buy", "user": {"userID": "u1"}, "value": -1e308}, {"eventName": "buy", "user": {"userID": "u2"}, "value": "1e400"}"#
            let r = try await client.call(.post, "/v1/log_event", key: Keys.server,
                                          raw: Self.raw(#"{"events": "# + body.dropLast() + extra + "]}"))
            #expect(r.status == .accepted, "\(r.text)")
            let results = try await client.console(.get, "experiments/big_values/results")
            #expect(results.status == .ok, "\(results.text.prefix(500))")
            #expect(results.json["data"]?["rollup"]?["eventsSetAside"] == 4)
            #expect(results.json["data"]?["rollup"]?["setAsideReasons"]?["value_out_of_range"] == 4)
            let metrics = try await client.console(.get, "metrics")
            #expect(metrics.status == .ok)
            let series = try await client.console(.get, "metrics/count:buy/series")
            #expect(series.status == .ok)
            #expect(series.json["data"]?["days"]?.arrayValue?.first?["sum"]?.doubleValue == 50)  // a JSON number: 50 or 50.0
            let skipped = try await client.console(.get, "pulse/skipped")
            #expect(skipped.status == .ok)
            #expect(skipped.json["data"]?["total"] == 4)
            #expect(skipped.json["data"]?["events"]?.arrayValue?.allSatisfy { $0["reason"] == "value_out_of_range" } == true)
        }
    }

    // MARK: - Segment

    static func segmentItem(_ fields: String) -> String {
        #"{"type": "track", "event": "Bought", "userId": "s1", "messageId": "\#(UUID().uuidString)"\#(fields)}"#
    }

    @Test func segmentBatchSkipsItemsWithOutOfRangeTimesAndValues() async throws {
        try await Self.withApp { client in
            let now = Self.nowMs
            let future = ISOTime.format(now + 3 * 86_400_000)
            let items = [
                Self.segmentItem(""),                                                                         // 0 stored
                Self.segmentItem(#", "timestamp": "0000-01-01T00:00:00Z""#),                                   // 1
                Self.segmentItem(#", "timestamp": "\#(future)""#),                                             // 2
                Self.segmentItem(#", "originalTimestamp": "0000-01-01T00:00:00.000Z", "sentAt": "\#(ISOTime.format(now))""#),  // 3
                Self.segmentItem(#", "originalTimestamp": "9999-12-31T23:59:59.999Z", "sentAt": "2000-01-01T00:00:00Z""#),    // 4
                Self.segmentItem(#", "originalTimestamp": "1999-12-31T00:00:00Z""#),                           // 5 (a day early: arrival lags the test clock)
                Self.segmentItem(#", "properties": {"value": 1e400}"#),                                        // 6
                Self.segmentItem(#", "properties": {"revenue": -1e400}"#),                                     // 7
                Self.segmentItem(#", "properties": {"value": 1e308, "revenue": 9223372036854775807}"#),        // 8 stored
                // Unparseable timestamps count as absent (Segment's behaviour): the arrival time is used.
                Self.segmentItem(#", "timestamp": "10000-01-01T00:00:00Z""#),                                  // 9 stored
            ]
            let batch = #"{"batch": [\#(items.joined(separator: ","))], "sentAt": "\#(ISOTime.format(now))"}"#
            let r = try await client.call(.post, "/v1/batch", raw: Self.raw(batch),
                                          headers: ["Authorization": "Basic " + StatsigHash.base64(Array((Self.writeKey + ":").utf8))])
            #expect(r.status == .ok, "\(r.text)")
            #expect(r.json["stored"] == 3, "\(r.text)")
            let skipped = try #require(r.json["skipped"]?.arrayValue)
            let reasons = Dictionary(uniqueKeysWithValues: skipped.compactMap { s in s["index"]?.int64Value.map { ($0, s["reason"]?.stringValue ?? "") } })
            #expect(reasons == [1: "time_out_of_range", 2: "time_out_of_range", 3: "time_out_of_range", 4: "time_out_of_range",
                                5: "time_out_of_range", 6: "value_not_finite", 7: "value_not_finite"], "\(r.text)")
            let usage = try await client.console(.get, "integrations/segment/inbound/usage")
            #expect(usage.text.contains("time_out_of_range") && usage.text.contains("value_not_finite"), "\(usage.text.prefix(400))")

            // The destination (Segment delivering) skips them the same way (fresh messageIds: no dedupe).
            let fresh = [Self.segmentItem(""), Self.segmentItem(#", "timestamp": "0000-01-01T00:00:00Z""#),
                         Self.segmentItem(#", "properties": {"value": 1e400}"#)]
            let dest = try await client.call(.post, "/v1/webhooks/segment", key: Keys.server,
                                             raw: Self.raw("[" + fresh.joined(separator: ",") + "]"))
            #expect(dest.json["stored"] == 1, "\(dest.text)")
            #expect(dest.json["skipped"]?.arrayValue?.count == 2, "\(dest.text)")
            try await Self.expectAlive(client)
        }
    }

    @Test(arguments: [
        (#", "timestamp": "0000-01-01T00:00:00Z""#, "time_out_of_range"),
        (#", "timestamp": "2999-01-01T00:00:00Z""#, "time_out_of_range"),
        (#", "originalTimestamp": "0001-01-01T00:00:00Z""#, "time_out_of_range"),
        (#", "properties": {"value": 1e400}"#, "value_not_finite"),
        (#", "properties": {"revenue": -1e999}"#, "value_not_finite"),
    ])
    func segmentSingleMessageIsA400NamingTheField(fields: String, reason: String) async throws {
        try await Self.withApp { client in
            let r = try await client.call(.post, "/v1/track", raw: Self.raw(Self.segmentItem(fields)),
                                          headers: ["Authorization": "Basic " + StatsigHash.base64(Array((Self.writeKey + ":").utf8))])
            #expect(r.status == .badRequest, "\(r.text)")
            #expect(r.text.contains(reason), "\(r.text)")
            #expect(r.text.contains(reason == "value_not_finite" ? "properties.value" : "timestamp"), "\(r.text)")
        }
    }

    // MARK: - Versions

    @Test func initializeWithHugeAppVersions() async throws {
        try await Self.withApp { client in
            let created = try await client.console(.post, "gates", ["name": "new_app", "rules": [["name": "v", "conditions": [
                ["type": "user_field", "field": "appVersion", "operator": "version_gt", "targetValue": "1.2.3"],
            ]]]])
            #expect(created.status == .created, "\(created.text)")
            let cases: [(String, Bool)] = [
                ("99999999999999999999.1", true), ("1.99999999999999999999", true), ("12345678901234567890123.4", true),
                ("9223372036854775807.9223372036854775807", true), (String(repeating: "9", count: 300), true),
                ("1.2.3", false), ("0.99999999999999999999", false), ("1e400", false), ("-99999999999999999999", false),
            ]
            for (version, expected) in cases {
                let r = try await client.call(.post, "/v1/initialize", key: Keys.client,
                                              json: ["user": ["userID": "u1", "appVersion": .string(version)], "hash": "none"])
                #expect(r.status == .ok, "\(version): \(r.text.prefix(200))")
                #expect(r.json["feature_gates"]?["new_app"]?["value"] == .bool(expected), "\(version)")
                let check = try await client.call(.post, "/v1/check_gate", key: Keys.server,
                                                  json: ["user": ["userID": "u1", "appVersion": .string(version)], "gateName": "new_app"])
                #expect(check.json["value"] == .bool(expected), "\(version)")
            }
        }
    }

    // MARK: - Results query parameters

    static let badNumbers = ["1e300", "-1e300", "-1", "NaN", "nan", "inf", "-inf", "Infinity", "1e400", "abc", "",
                             "9223372036854775808", "-9223372036854775809", "0x7fffffffffffffff", "1,5"]

    @Test("Every numeric results parameter refuses hostile values, naming itself",
          arguments: ["alpha", "sequentialTuning", "minUnits", "minConversions"])
    func badNumericResultsParameter(name: String) async throws {
        try await Self.withApp { client in
            try await Self.makeSubjects(client)
            var bad = Self.badNumbers
            if name == "minUnits" || name == "minConversions" { bad += ["2.5", "1000000001"] }
            if name == "alpha" { bad += ["0", "1", "1.5"] }
            if name == "sequentialTuning" { bad += ["0.5", "1000000001"] }
            for path in ["experiments/hostile_exp/results", "gates/hostile_gate/results"] {
                for value in bad {
                    let q = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? value
                    let r = try await client.console(.get, "\(path)?\(name)=\(q)")
                    #expect(r.status == .badRequest, "\(path) \(name)=\(value): \(r.status) \(r.text.prefix(200))")
                    #expect(r.text.contains(name), "\(name)=\(value): \(r.text.prefix(200))")
                }
            }
            try await Self.expectAlive(client)
        }
    }

    @Test("Flags refuse anything but true/false", arguments: ["sequential", "cuped", "bonferroni", "winsorize"])
    func badFlagResultsParameter(name: String) async throws {
        try await Self.withApp { client in
            try await Self.makeSubjects(client)
            for value in ["2", "-1", "nan", "inf", "1e400", "9223372036854775808", "truee", ""] {
                let r = try await client.console(.get, "experiments/hostile_exp/results?\(name)=\(value)")
                #expect(r.status == .badRequest, "\(name)=\(value): \(r.text.prefix(200))")
                #expect(r.text.contains(name), "\(name)=\(value): \(r.text.prefix(200))")
            }
        }
    }

    @Test func resultsParametersAtTheirLimitsAnswer() async throws {
        try await Self.withApp { client in
            try await Self.makeSubjects(client)
            for query in ["alpha=0.1", "alpha=1e-300", "minUnits=0", "minUnits=1000000000", "minConversions=1000000000",
                          "sequential=true&sequentialTuning=1", "sequential=true&sequentialTuning=1e9", "winsorize=true&bonferroni=yes"] {
                for path in ["experiments/hostile_exp/results", "gates/hostile_gate/results"] {
                    let r = try await client.console(.get, "\(path)?\(query)")
                    #expect(r.status == .ok, "\(path)?\(query): \(r.text.prefix(300))")
                }
            }
        }
    }

    static func makeSubjects(_ client: any TestClientProtocol) async throws {
        let e = try await client.console(.post, "experiments", [
            "name": "hostile_exp", "groups": [["name": "Control", "size": 50], ["name": "Test", "size": 50]],
        ])
        #expect(e.status == .created, "\(e.text)")
        let g = try await client.console(.post, "gates", [
            "name": "hostile_gate", "rules": [["name": "half", "passPercentage": 50, "conditions": [["type": "public"]]]],
        ])
        #expect(g.status == .created, "\(g.text)")
    }

    // MARK: - Console lists and SDK parameters

    @Test func listParametersAreCheckedOrHarmless() async throws {
        try await Self.withApp { client in
            for value in ["-1", "0", "1001", "1e400", "abc", "9223372036854775808", "-9223372036854775809"] {
                for path in ["audit_logs", "events", "pulse/skipped"] {
                    let r = try await client.console(.get, "\(path)?limit=\(value)")
                    #expect(r.status == .badRequest, "\(path)?limit=\(value): \(r.text.prefix(200))")
                    #expect(r.text.contains("limit"), "\(r.text.prefix(200))")
                }
            }
            for value in ["abc", "1e400", "99999999999999999999"] {
                let r = try await client.console(.get, "audit_logs?before=\(value)")
                #expect(r.status == .badRequest && r.text.contains("before"), "before=\(value): \(r.text.prefix(200))")
                let e = try await client.console(.get, "events?since=\(value)")
                #expect(e.status == .badRequest && e.text.contains("since"), "since=\(value): \(e.text.prefix(200))")
            }
            for value in ["9223372036854775807", "-9223372036854775808", "-1", "0"] {
                #expect(try await client.console(.get, "audit_logs?before=\(value)").status == .ok)
                #expect(try await client.console(.get, "events?since=\(value)&until=\(value)").status == .ok)
                #expect(try await client.console(.get, "events?cursor=\(value)_\(value)").status == .ok)
                let dcs = try await client.call(.get, "/v1/download_config_specs/\(Keys.server).json?sinceTime=\(value)")
                #expect(dcs.status == .ok)
                let post = try await client.call(.post, "/v1/download_config_specs", key: Keys.server,
                                                 raw: Self.raw(#"{"sinceTime": \#(value)}"#))
                #expect(post.status == .ok)
            }
            for value in ["1e400", "9.3e18", "99999999999999999999", "-1e400"] {
                let post = try await client.call(.post, "/v1/initialize", key: Keys.client,
                                                 raw: Self.raw(#"{"user": {"userID": "u"}, "sinceTime": \#(value)}"#))
                #expect(post.status == .ok, "sinceTime \(value)")
            }
            try await Self.expectAlive(client)
        }
    }

    @Test func idListRangeHeaders() async throws {
        try await Self.withApp { client in
            try await client.console(.post, "id_lists", ["name": "vips"])
            try await client.console(.post, "id_lists/vips/ids", ["add": ["u1", "u2"]])
            let manifest = try await client.call(.post, "/v1/get_id_lists", key: Keys.server, json: [:])
            let url = try #require(manifest.json["vips"]?["url"]?.stringValue)
            let path = String(url[url.range(of: "/v1/")!.lowerBound...])
            for range in ["bytes=9223372036854775807-", "bytes=9223372036854775800-", "bytes=20-", "bytes=19-"] {
                let r = try await client.call(.get, path, headers: ["Range": range])
                #expect(r.status == .ok || r.status == .partialContent, "\(range): \(r.status)")
            }
            for range in ["bytes=99999999999999999999-", "bytes=-9223372036854775808-", "bytes=1e400-", "bytes=x-"] {
                let r = try await client.call(.get, path, headers: ["Range": range])
                #expect(r.status == .rangeNotSatisfiable, "\(range): \(r.status)")
            }
        }
    }

    // MARK: - Console entities and imports

    static let badEntities: [(String, String, String)] = [
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 50}, {"name": "b", "size": 50}], "analysisWindowDays": 9223372036854775807}"#, "analysisWindowDays"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 50}, {"name": "b", "size": 50}], "analysisWindowDays": 1e19}"#, "analysisWindowDays"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 50}, {"name": "b", "size": 50}], "analysisWindowDays": 1e400}"#, "analysisWindowDays"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 50}, {"name": "b", "size": 50}], "analysisWindowDays": 3651}"#, "analysisWindowDays"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 50}, {"name": "b", "size": 50}], "analysisWindowDays": 2.5}"#, "analysisWindowDays"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 50}, {"name": "b", "size": 50}], "analysisWindowDays": -9.3e18}"#, "analysisWindowDays"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 50}, {"name": "b", "size": 50}], "analysisWindowDays": -1}"#, "analysisWindowDays"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 1e400}, {"name": "b", "size": 50}]}"#, "groups[0].size"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 1e300}, {"name": "b", "size": -1e300}]}"#, "groups[0].size"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 50}, {"name": "b", "size": 50}], "allocation": 1e300}"#, "allocation"),
        ("experiments", #"{"name": "e1", "groups": [{"name": "a", "size": 50}, {"name": "b", "size": 50}], "allocation": -1e400}"#, "allocation"),
        ("gates", #"{"name": "g1", "rules": [{"name": "r", "passPercentage": 1e300, "conditions": []}]}"#, "passPercentage"),
        ("gates", #"{"name": "g1", "rules": [{"name": "r", "passPercentage": 1e400, "conditions": []}]}"#, "passPercentage"),
        ("gates", #"{"name": "g1", "rules": [{"name": "r", "passPercentage": -1e-300, "conditions": []}]}"#, "passPercentage"),
    ]

    @Test("Console entity numbers out of range are refused, naming the field", arguments: badEntities)
    func badEntityNumbers(collection: String, body: String, field: String) async throws {
        try await Self.withApp { client in
            let r = try await client.call(.post, "/console/v1/\(collection)", key: Keys.console, raw: Self.raw(body))
            #expect(r.status == .badRequest, "\(body): \(r.status) \(r.text)")
            #expect(r.text.contains(field), "\(body): \(r.text)")
        }
    }

    @Test func importedVersionAtInt64MaxCanStillBeEdited() async throws {
        try await Self.withApp { client in
            let doc: JSONValue = ["feature_gates": [[
                "name": "imported_gate", "type": "feature_gate", "entity": "feature_gate", "salt": "s", "enabled": true,
                "defaultValue": false, "idType": "userID", "version": .int(.max),
                "rules": [["id": "r1", "name": "r1", "passPercentage": 100, "conditions": [["type": "public"]], "returnValue": true]],
            ]]]
            let imported = try await client.console(.post, "import/statsig", doc)
            #expect(imported.status == .ok || imported.status == .created, "\(imported.text)")
            let gate = try #require(try await client.console(.get, "gates/imported_gate").json["data"])
            let updated = try await client.console(.put, "gates/imported_gate", gate)
            #expect(updated.status == .ok, "\(updated.text)")
            #expect(updated.json["data"]?["version"] == .int(.max))
        }
    }

    // MARK: - Records stored before the checks

    /// Events with times and values the boundary now refuses, written straight to the store (as an
    /// older version would have): the rollup sets them aside and every reader answers 200.
    @Test func storedPoisonIsSetAsideAndReadersAnswer() async throws {
        let store = try SQLiteStore()
        let t = Self.nowMs - 3_600_000
        @Sendable func event(_ name: String, _ user: String, _ time: Int64, _ value: JSONValue?, _ metadata: JSONValue? = nil) -> EventRecord {
            EventRecord(project: "default", eventName: name, user: ["userID": .string(user)], userID: user, stableID: nil,
                        customIDs: [:], environment: nil, value: value, metadata: metadata, secondaryExposures: nil,
                        time: time, receivedAt: t, source: .sdk, sdkType: "test")
        }
        try await Self.withApp(store: store) { client in
            let created = try await client.console(.post, "experiments", [
                "name": "poisoned", "analysisWindowDays": 3650,
                "groups": [["name": "Control", "size": 50], ["name": "Test", "size": 50]],
            ])
            let rule = try #require(created.json["data"]?["groups"]?.arrayValue?.first?["id"]?.stringValue)
            let md: JSONValue = ["config": "poisoned", "ruleID": .string(rule)]
            try await store.insertEvents([
                event("statsig::config_exposure", "a", t, nil, md),
                event("statsig::config_exposure", "b", .max, nil, md),
                event("statsig::config_exposure", "c", .min, nil, md),
                event("buy", "a", t + 1, .double(.infinity)),
                event("buy", "a", t + 2, .double(-.infinity)),
                event("buy", "a", t + 3, .double(1e308)),
                event("buy", "a", t + 4, .double(1e308)),
                event("buy", "a", .max, .int(1)),
                event("buy", "a", -1, .int(1)),
                event("buy", "a", t + 5, .int(7)),
            ])
            for path in ["experiments/poisoned/results", "metrics", "metrics/count:buy/series", "metrics/sum:buy/series", "pulse/skipped"] {
                let r = try await client.console(.get, path)
                #expect(r.status == .ok || (path.hasPrefix("metrics/sum") && r.status == .notFound), "\(path): \(r.status) \(r.text.prefix(300))")
            }
            let skipped = try await client.console(.get, "pulse/skipped")
            #expect(skipped.json["data"]?["reasons"] == ["time_out_of_range": 4, "value_out_of_range": 4], "\(skipped.text)")
            let results = try await client.console(.get, "experiments/poisoned/results?winsorize=true")
            #expect(results.json["data"]?["groups"]?.arrayValue?.first?["units"] == 1, "\(results.text.prefix(300))")
            let events = try await client.console(.get, "events?limit=1000")
            #expect(events.status == .ok, "\(events.text.prefix(200))")

            // The web console shows them too, and its pages format the extreme times without trapping.
            var (browser, _) = try await WebConsoleTests.setUpAdmin(client)
            let page = try await browser.get(client, "/console/experiments/poisoned/results")
            #expect(page.status == .ok, "\(page.text.prefix(300))")
            #expect(page.text.contains("id=\"set-aside\"") && page.text.contains("8 events"), "\(page.text.prefix(300))")
            let explorer = try await browser.get(client, "/console/events?tab=explore")
            #expect(explorer.status == .ok)
            let fromSession = try await browser.get(client, "/console/v1/pulse/skipped")
            #expect(fromSession.status == .ok, "\(fromSession.text.prefix(200))")
            let badParam = try await browser.get(client, "/console/experiments/poisoned/results?minUnits=1e300")
            #expect(badParam.status == .badRequest, "\(badParam.status)")
        }
    }
}
