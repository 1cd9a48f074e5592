import Testing
import VaneCore

/// Every bad request gets a 4xx with a JSON `error` that says what is wrong, and the server keeps serving.
struct BadInput: Sendable, CustomTestStringConvertible {
    let name: String
    let method: String
    let path: String
    let key: String?
    let body: [UInt8]?
    let headers: [String: String]
    let status: Int
    let mentions: String

    init(_ name: String, _ method: String, _ path: String, key: String? = Keys.server, body: String? = nil, bytes: [UInt8]? = nil,
         headers: [String: String] = [:], status: Int, mentions: String) {
        self.name = name
        self.method = method
        self.path = path
        self.key = key
        self.body = bytes ?? body.map { Array($0.utf8) }
        self.headers = headers
        self.status = status
        self.mentions = mentions
    }

    var testDescription: String { name }

    static let table: [BadInput] = [
        BadInput("malformed JSON", "POST", "/v1/check_gate", body: "{\"user\": ", status: 400, mentions: "malformed JSON"),
        BadInput("body not an object", "POST", "/v1/log_event", body: "[1,2]", status: 400, mentions: "JSON object"),
        BadInput("empty body", "POST", "/v1/check_gate", body: "", status: 400, mentions: "empty"),
        BadInput("user not an object", "POST", "/v1/check_gate", body: #"{"user": "u1", "gateName": "g"}"#, status: 400, mentions: "user must be an object"),
        BadInput("gateName a number", "POST", "/v1/check_gate", body: #"{"user": {"userID": "u"}, "gateName": 5}"#, status: 400, mentions: "gateName must be a string"),
        BadInput("missing user", "POST", "/v1/get_config", body: #"{"configName": "c"}"#, status: 400, mentions: "user is required"),
        BadInput("unknown layer", "POST", "/v1/get_layer", body: #"{"user": {"userID": "u"}, "layerName": "nope"}"#, status: 404, mentions: "nope"),
        BadInput("events not a list", "POST", "/v1/log_event", body: #"{"events": {}}"#, status: 400, mentions: "events must be a list"),
        BadInput("event without name", "POST", "/v1/log_event", body: #"{"events": [{"eventName": "ok"}, {"value": 1}]}"#, status: 400, mentions: "events[1].eventName"),
        BadInput("event bad time", "POST", "/v1/log_event", body: #"{"events": [{"eventName": "e", "time": "yesterday"}]}"#, status: 400, mentions: "events[0].time"),
        BadInput("event metadata a string", "POST", "/v1/log_event", body: #"{"events": [{"eventName": "e", "metadata": "x"}]}"#, status: 400, mentions: "metadata must be an object"),
        BadInput("customIDs of lists", "POST", "/v1/log_event", body: #"{"events": [{"eventName": "e", "user": {"customIDs": {"a": [1]}}}]}"#, status: 400, mentions: "customIDs.a"),
        BadInput("invalid gzip", "POST", "/v1/log_event", bytes: [1, 2, 3, 4, 5], headers: ["Content-Encoding": "gzip"], status: 400, mentions: "decompressed"),
        BadInput("unknown encoding", "POST", "/v1/log_event", body: "{}", headers: ["Content-Encoding": "zstd"], status: 415, mentions: "Content-Encoding"),
        BadInput("oversize body", "POST", "/v1/log_event", bytes: Array(repeating: 0x20, count: 1024 * 1024 + 10), status: 413, mentions: "limit"),
        BadInput("missing key", "POST", "/v1/check_gate", key: nil, body: "{}", status: 401, mentions: "missing API key"),
        BadInput("wrong key", "POST", "/v1/check_gate", key: "secret-wrong", body: "{}", status: 401, mentions: "invalid API key"),
        BadInput("client key on server endpoint", "GET", "/v1/download_config_specs/\(Keys.client).json", key: nil, status: 401, mentions: "server secret"),
        BadInput("unknown endpoint", "POST", "/v1/nope", status: 404, mentions: "no such endpoint"),
        BadInput("unknown console API endpoint", "GET", "/console/v1/nope", key: Keys.console, status: 404, mentions: "no such endpoint"),
        BadInput("unknown nested console API endpoint", "GET", "/console/v1/gates/g1/nope", key: Keys.console, status: 404, mentions: "no such endpoint"),
        BadInput("bad gate name", "POST", "/console/v1/gates", key: Keys.console, body: #"{"name": "a/b"}"#, status: 400, mentions: "only letters"),
        BadInput("short gate name", "POST", "/console/v1/gates", key: Keys.console, body: #"{"name": "a"}"#, status: 400, mentions: "2 to 100"),
        BadInput("pass percentage 150", "POST", "/console/v1/gates", key: Keys.console, body: #"{"name": "g1", "rules": [{"name": "r", "passPercentage": 150}]}"#, status: 400, mentions: "passPercentage"),
        BadInput("unknown condition type", "POST", "/console/v1/gates", key: Keys.console, body: #"{"name": "g1", "rules": [{"name": "r", "conditions": [{"type": "moon_phase"}]}]}"#, status: 400, mentions: "moon_phase"),
        BadInput("unknown operator", "POST", "/console/v1/gates", key: Keys.console, body: #"{"name": "g1", "rules": [{"name": "r", "conditions": [{"type": "email", "operator": "sounds_like", "targetValue": ["x"]}]}]}"#, status: 400, mentions: "sounds_like"),
        BadInput("rules not a list", "POST", "/console/v1/gates", key: Keys.console, body: #"{"name": "g1", "rules": 3}"#, status: 400, mentions: "rules"),
        BadInput("group sizes", "POST", "/console/v1/experiments", key: Keys.console, body: #"{"name": "e1", "groups": [{"name": "a", "size": 60}, {"name": "b", "size": 60}]}"#, status: 400, mentions: "add up to 100"),
        BadInput("unknown gate", "GET", "/console/v1/gates/nope", key: Keys.console, status: 404, mentions: "nope"),
        BadInput("unknown id type", "POST", "/console/v1/gates", key: Keys.console, body: #"{"name": "g1", "idType": "deviceID"}"#, status: 400, mentions: "deviceID"),
        BadInput("unknown id list", "POST", "/console/v1/id_lists/nope/ids", key: Keys.console, body: #"{"add": ["a"]}"#, status: 404, mentions: "nope"),
        BadInput("import not DCS", "POST", "/console/v1/import/statsig", key: Keys.console, body: #"{"hello": 1}"#, status: 400, mentions: "download_config_specs"),
        BadInput("bad cursor", "GET", "/console/v1/events?cursor=zzz", key: Keys.console, status: 400, mentions: "cursor"),
    ]
}

@Suite("Bad input")
struct BadInputTests {
    @Test(arguments: BadInput.table)
    func answersWithAClearError(_ input: BadInput) async throws {
        try await withVane { (client) async throws in
            let reply = try await client.call(
                .init(input.method)!, input.path, key: input.key, raw: input.body, headers: input.headers)
            #expect(Int(reply.status.code) == input.status, "\(reply.text)")
            let message = reply.json["error"]?.stringValue ?? ""
            #expect(message.contains(input.mentions), "error was: \(reply.text)")
            #expect(try await client.call(.get, "/health").status == .ok)
        }
    }

    @Test func acknowledgedEventsSurviveABurstOfBadRequests() async throws {
        try await withVane { (client) async throws in
            let good: JSONValue = ["events": [["eventName": "kept", "user": ["userID": "u1"]]]]
            #expect(try await client.call(.post, "/v1/log_event", key: Keys.server, json: good).status == .accepted)
            for input in BadInput.table {
                _ = try await client.call(.init(input.method)!, input.path, key: input.key, raw: input.body, headers: input.headers)
            }
            let kept = try await client.console(.get, "events?eventName=kept")
            #expect(kept.json["data"]?.arrayValue?.count == 1)
        }
    }
}
