import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import VaneCore
import VaneServer
import VaneStore

enum Keys {
    static let server = "secret-server-test"
    static let client = "client-client-test"
    static let console = "console-console-test"
}

/// A Vane application on an in-memory store with known keys, driven without a socket.
func withVane<T: Sendable>(
    metricsToken: String? = nil, requestsPerSecondPerKey: Double? = nil, liveStreams: LiveStreamLimits = LiveStreamLimits(),
    _ body: @Sendable (any TestClientProtocol) async throws -> T
) async throws -> T {
    let store = try SQLiteStore()
    _ = try await store.bootstrap(preset: PresetKeys(server: Keys.server, client: Keys.client, console: Keys.console), now: 1)
    var config = AppConfig()
    config.maxBodyBytes = 1024 * 1024
    config.metricsToken = metricsToken
    var logger = Logger(label: "vane-test")
    logger.logLevel = .warning
    let services = VaneServices(store: store, requestsPerSecondPerKey: requestsPerSecondPerKey, liveStreamLimits: liveStreams)
    let app = buildApplication(services, config: config, logger: logger)
    return try await app.test(.router, body)
}

struct Reply: Sendable {
    let status: HTTPResponse.Status
    let json: JSONValue
    let text: String
    let headers: HTTPFields
}

extension TestClientProtocol {
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ uri: String, key: String? = nil, json: JSONValue? = nil, raw: [UInt8]? = nil,
        headers extra: [String: String] = [:]
    ) async throws -> Reply {
        var headers = HTTPFields()
        if let key { headers[HTTPField.Name("STATSIG-API-KEY")!] = key }
        headers[.contentType] = "application/json"
        for (k, v) in extra { headers[HTTPField.Name(k)!] = v }
        let bytes = raw ?? json.map { $0.serializedBytes() }
        let response = try await executeRequest(
            uri: uri, method: method, headers: headers, body: bytes.map { ByteBuffer(bytes: $0) })
        let text = String(buffer: response.body)
        return Reply(status: response.status, json: (try? JSONValue.parse(text)) ?? .null, text: text, headers: response.headers)
    }

    func console(_ method: HTTPRequest.Method, _ path: String, _ json: JSONValue? = nil) async throws -> Reply {
        try await call(method, "/console/v1/" + path, key: Keys.console, json: json)
    }
}

func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
    var buffer = ByteBuffer(bytes: bytes)
    let compressed = try buffer.compress(with: .gzip())
    return Array(buffer: compressed)
}
