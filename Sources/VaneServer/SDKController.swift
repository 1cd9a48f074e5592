import Hummingbird
import NIOCore
import VaneCore
import VaneStore

/// Statsig's SDK wire protocol: rules download, ID lists, client initialize, the HTTP evaluation
/// API and event logging.
struct SDKController: Sendable {
    let store: any VaneStore
    let cache: ConfigCache
    let ingest: EventIngest
    let body: BodyReader
    let resolver: KeyResolver
    let publicURL: String?

    func register(on router: Router<VaneRequestContext>) {
        let server = KeyAuthMiddleware(resolver: resolver, requirement: .server)
        let client = KeyAuthMiddleware(resolver: resolver, requirement: .clientOrServer)
        let v1 = router.group("v1")

        v1.get("download_config_specs/{keyFile}") { request, context in
            try await self.downloadConfigSpecs(request, context, pathKey: context.parameters.get("keyFile"), auth: server)
        }
        v1.post("download_config_specs/{keyFile}") { request, context in
            try await self.downloadConfigSpecs(request, context, pathKey: context.parameters.get("keyFile"), auth: server)
        }
        v1.post("download_config_specs") { request, context in
            try await self.downloadConfigSpecs(request, context, pathKey: nil, auth: server)
        }
        let v2 = router.group("v2")
        v2.get("download_config_specs/{keyFile}") { request, context in
            try await self.downloadConfigSpecsV2(request, context, pathKey: context.parameters.get("keyFile"), auth: server)
        }
        v2.get("download_config_specs") { request, context in
            try await self.downloadConfigSpecsV2(request, context, pathKey: nil, auth: server)
        }
        v1.get("id_list_file/{fileID}") { request, context in
            try await self.idListFile(request, fileID: context.parameters.require("fileID"))
        }
        v1.group().add(middleware: server)
            .post("get_id_lists") { request, context in try await self.getIDLists(request, context) }
            .post("check_gate") { request, context in try await self.checkGate(request, context) }
            .post("get_config") { request, context in try await self.getConfig(request, context) }
            .post("get_layer") { request, context in try await self.getLayer(request, context) }
        // Browsers call these cross-origin with a client key (CORS, preflights included).
        let cors = CORSMiddleware(resolver: resolver)
        let browser = v1.group().add(middleware: cors).add(middleware: client)
        for path: RouterPath in ["initialize", "log_event", "rgstr"] {
            browser.on(path, method: .options) { _, _ in Response(status: .noContent) }
        }
        browser
            .post("initialize") { request, context in try await self.initialize(request, context) }
            .post("log_event") { request, context in try await self.logEvent(request, context) }
            .post("rgstr") { request, context in try await self.logEvent(request, context) }
        // SDKs report their own exceptions here; they are not Vane's data, so they are accepted and dropped.
        let exceptions = v1.group().add(middleware: cors)
        exceptions.on("sdk_exception", method: .options) { _, _ in Response(status: .noContent) }
        exceptions.post("sdk_exception") { request, _ in
            _ = try? await request.body.collect(upTo: 1 << 20)
            return jsonResponse(["success": true], status: .accepted)
        }
    }

    // MARK: - Rules

    func downloadConfigSpecs(
        _ request: Request, _ context: VaneRequestContext, pathKey: String?, auth: KeyAuthMiddleware
    ) async throws -> Response {
        var secret = pathKey
        if let p = secret, p.hasSuffix(".json") { secret = String(p.dropLast(5)) }
        let key = try await auth.authenticate(request, context: context, pathKey: secret)
        var sinceTime = request.query("sinceTime").flatMap { Int64($0) }
        if request.method == .post, sinceTime == nil,
            let b = try? await body.object(request, allowEmpty: true)
        {
            sinceTime = b["sinceTime"]?.int64Value
        }
        let compiled = try await cache.compiled(project: key.project, environment: key.environment)
        if let since = sinceTime, since >= compiled.time {
            return jsonResponse(["has_updates": false, "time": .int(compiled.time)])
        }
        return jsonResponse(bytes: compiled.dcs)
    }

    /// Rules for server-core SDKs (DCS v2, JSON). Unchanged rules (by `sinceTime` or `checksum`)
    /// answer `{"has_updates": false}` with 200: those SDKs treat 204 as an error.
    func downloadConfigSpecsV2(
        _ request: Request, _ context: VaneRequestContext, pathKey: String?, auth: KeyAuthMiddleware
    ) async throws -> Response {
        var secret = pathKey
        if let p = secret, p.hasSuffix(".json") { secret = String(p.dropLast(5)) }
        let key = try await auth.authenticate(request, context: context, pathKey: secret)
        let compiled = try await cache.compiled(project: key.project, environment: key.environment)
        let since = request.query("sinceTime").flatMap { Int64($0) }
        if let since, since >= compiled.time { return jsonResponse(["has_updates": false]) }
        if let checksum = request.query("checksum"), checksum == compiled.dcsV2.checksum {
            return jsonResponse(["has_updates": false])
        }
        var response = jsonResponse(bytes: compiled.dcsV2.bytes)
        if let gzip = compiled.dcsV2Gzip, request.acceptsGzip {
            response = jsonResponse(bytes: gzip)
            response.headers[.contentEncoding] = "gzip"
        }
        response.headers[.vary] = "Accept-Encoding"
        return response
    }

    func getIDLists(_ request: Request, _ context: VaneRequestContext) async throws -> Response {
        _ = try await body.json(request, allowEmpty: true)
        let base = publicURL ?? "http://" + (request.head.authority ?? request.header("host") ?? "127.0.0.1")
        var out: [String: JSONValue] = [:]
        for list in try await store.idLists(project: context.project) {
            out[list.name] = [
                "name": .string(list.name), "size": .int(Int64(list.fileSize)),
                "url": .string("\(base)/v1/id_list_file/\(list.fileID)"),
                "creationTime": .int(list.creationTime), "fileID": .string(list.fileID),
            ]
        }
        return jsonResponse(.object(out))
    }

    /// The list file, honouring `Range: bytes=N-` so SDKs fetch only what they have not read.
    func idListFile(_ request: Request, fileID: String) async throws -> Response {
        guard let owner = try await store.idListFileOwner(fileID: fileID) else {
            throw APIError.notFound("no ID list file '\(fileID)'")
        }
        var offset = 0
        if let range = request.header("range") {
            guard range.hasPrefix("bytes="), let start = Int(range.dropFirst(6).split(separator: "-").first ?? ""), start >= 0
            else { throw APIError(.rangeNotSatisfiable, "Range must look like 'bytes=N-'") }
            offset = start
        }
        guard let bytes = try await store.idListFile(project: owner.project, name: owner.name, fileID: fileID, from: offset) else {
            throw APIError.notFound("no ID list file '\(fileID)'")
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        if offset > 0, !bytes.isEmpty {
            headers[.contentRange] = "bytes \(offset)-\(offset + bytes.count - 1)/\(offset + bytes.count)"
        }
        return Response(status: offset > 0 && !bytes.isEmpty ? .partialContent : .ok, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    // MARK: - Evaluation API

    private func user(_ body: [String: JSONValue], key: APIKey) throws -> StatsigUser {
        guard let u = body["user"] else { throw APIError.badRequest("user is required") }
        do {
            var user = try StatsigUser(json: u)
            if user.statsigEnvironment["tier"] == nil, let env = key.environment { user.statsigEnvironment["tier"] = .string(env) }
            return user
        } catch let e as UserDecodingError {
            throw APIError.badRequest(e.description)
        }
    }

    /// `name` or a list under `plural` (at most 100), as Statsig's HTTP API takes them.
    private func names(_ body: [String: JSONValue], single: String, plural: String) throws -> (names: [String], batch: Bool) {
        if let v = body[plural] {
            guard let list = v.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw APIError.badRequest("\(plural) must be a list of strings")
            }
            guard list.count <= 100 else { throw APIError.badRequest("\(plural) may hold at most 100 names") }
            return (list.compactMap(\.stringValue), true)
        }
        guard let v = body[single] else { throw APIError.badRequest("\(single) is required") }
        guard let name = v.stringValue else { throw APIError.badRequest("\(single) must be a string") }
        return ([name], false)
    }

    private func logsExposures(_ body: [String: JSONValue]) -> Bool {
        body["statsigMetadata"]?["exposureLoggingDisabled"]?.boolValue != true
    }

    func checkGate(_ request: Request, _ context: VaneRequestContext) async throws -> Response {
        try await evaluate(request, context, single: "gateName", plural: "gateNames") { compiled, user, name, key, now in
            let r = compiled.evaluator.checkGate(user, name)
            return ([
                "name": .string(name), "value": .bool(r.value), "rule_id": .string(r.ruleID),
                "group_name": r.groupName.map { .string($0) } ?? .null,
            ], [Exposures.gate(user, name, r, key: key, now: now)])
        }
    }

    func getConfig(_ request: Request, _ context: VaneRequestContext) async throws -> Response {
        try await evaluate(request, context, single: "configName", plural: "configNames") { compiled, user, name, key, now in
            let r = compiled.evaluator.getConfig(user, name)
            return ([
                "name": .string(name), "value": r.jsonValue, "group": .string(r.ruleID), "rule_id": .string(r.ruleID),
                "group_name": r.groupName.map { .string($0) } ?? .null,
            ], [Exposures.config(user, name, r, key: key, now: now)])
        }
    }

    func getLayer(_ request: Request, _ context: VaneRequestContext) async throws -> Response {
        try await evaluate(request, context, single: "layerName", plural: "layerNames") { compiled, user, name, key, now in
            guard compiled.ruleSet.spec(name, kind: .layer) != nil else { return nil }
            let r = compiled.evaluator.getLayer(user, name)
            let exposures = (r.jsonValue.objectValue ?? [:]).keys.sorted().map {
                Exposures.layer(user, name, parameter: $0, r, key: key, now: now)
            }
            return ([
                "name": .string(name), "value": r.jsonValue, "ruleID": .string(r.ruleID),
                "allocatedExperimentName": .string(r.allocatedExperiment ?? ""),
            ], exposures)
        }
    }

    /// The shape every evaluation endpoint shares: one name or a list of them, an answer per name,
    /// exposures logged unless the caller turned them off. `each` returns nil for an unknown name
    /// that is an error on its own (a layer) and skipped in a list.
    private func evaluate(
        _ request: Request, _ context: VaneRequestContext, single: String, plural: String,
        each: (ConfigCache.Compiled, StatsigUser, String, APIKey, Int64) -> (JSONValue, [EventRecord])?
    ) async throws -> Response {
        let b = try await body.object(request)
        let key = context.key!
        let user = try user(b, key: key)
        let (names, batch) = try names(b, single: single, plural: plural)
        let compiled = try await cache.compiled(project: key.project, environment: key.environment)
        var out: [String: JSONValue] = [:]
        var exposures: [EventRecord] = []
        let now = Clock.nowMs()
        for name in names {
            guard let (answer, logged) = each(compiled, user, name, key, now) else {
                if batch { continue }
                throw APIError.notFound("no layer named '\(name)'")
            }
            out[name] = answer
            exposures += logged
        }
        if logsExposures(b) { try await ingest.store(exposures) }
        return jsonResponse(batch ? .object(out) : out[names[0]]!)
    }

    // MARK: - Client initialize

    func initialize(_ request: Request, _ context: VaneRequestContext) async throws -> Response {
        let key = context.key!
        var b: [String: JSONValue]
        if request.query("se") == "1" {
            b = try await encodedInitializeBody(request)
        } else {
            b = try await body.object(request, forceGzip: request.query("gz") == "1", allowEmpty: true)
        }
        var user: StatsigUser
        do { user = try StatsigUser(json: b["user"] ?? .object([:])) } catch let e as UserDecodingError {
            throw APIError.badRequest(e.description)
        }
        if user.customIDs["stableID"] == nil, let stable = b["statsigMetadata"]?["stableID"]?.stringValue {
            user.customIDs["stableID"] = stable
        }
        // Server SDKs give a user without an environment the rule set's default one, and echo it back.
        if user.statsigEnvironment.isEmpty { user.statsigEnvironment["tier"] = .string(key.environment ?? "production") }
        let hashName = b["hash"]?.stringValue ?? "djb2"
        guard let hashing = NameHashing(rawValue: hashName) else {
            throw APIError.badRequest("hash must be djb2, sha256 or none (got '\(hashName)')")
        }
        let compiled = try await cache.compiled(project: key.project, environment: key.environment)
        if let since = b["sinceTime"]?.int64Value, since >= compiled.time, b["deltasResponseRequested"] == nil {
            return jsonResponse(["has_updates": false, "time": .int(compiled.time)])
        }
        let sdkType = b["statsigMetadata"]?["sdkType"]?.stringValue ?? request.query("st") ?? "unknown"
        let sdkVersion = b["statsigMetadata"]?["sdkVersion"]?.stringValue ?? request.query("sv") ?? ""
        var derived: [String: JSONValue] = ["ip": .string(user.ip ?? context.remoteAddress)]
        if let ua = user.userAgent ?? request.header("user-agent") { derived["userAgent"] = .string(ua) }
        let response = ClientInitializeFormatter(evaluator: compiled.evaluator, hashing: hashing)
            .response(for: user, sdkType: sdkType, sdkVersion: sdkVersion, derivedFields: derived, paramStores: compiled.paramStores)
        // The client already holds exactly these values (the JS client sends the checksum it has).
        if b["full_checksum"]?.stringValue == response.checksum {
            return jsonResponse(["has_updates": false, "time": .int(compiled.time)])
        }
        return jsonResponse(bytes: response.bytes)
    }

    /// Browsers send `se=1` bodies: base64 of the JSON, with the characters reversed.
    private func encodedInitializeBody(_ request: Request) async throws -> [String: JSONValue] {
        let buffer = try await body.bytes(request)
        let text = String(buffer: buffer)
        for candidate in [String(text.reversed()), text] {
            if let decoded = StatsigHash.base64Decode(candidate), case .object(let o)? = try? JSONValue.parse(decoded) {
                return o
            }
        }
        throw APIError.badRequest("se=1 body is not reversed base64 of a JSON object")
    }

    // MARK: - Events

    func logEvent(_ request: Request, _ context: VaneRequestContext) async throws -> Response {
        let b = try await body.object(request, forceGzip: request.query("gz") == "1")
        let sdkType = request.header("statsig-sdk-type") ?? request.query("st")
        let records = try EventIngest.records(from: b, key: context.key!, source: .sdk, sdkType: sdkType, now: Clock.nowMs())
        if let declared = request.header("statsig-event-count").flatMap(Int.init), declared != records.count {
            context.logger.debug("STATSIG-EVENT-COUNT differs from the events sent", metadata: [
                "declared": "\(declared)", "received": "\(records.count)",
            ])
        }
        try await ingest.store(records)
        return jsonResponse(["success": true], status: .accepted)
    }
}
