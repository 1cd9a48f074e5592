import HTTPTypes
import HummingbirdTesting
import Testing
import VaneCore

extension TestClientProtocol {
    /// An OFREP call: the key as `Authorization: Bearer` (or `X-API-Key` with `apiKeyHeader`).
    @discardableResult
    func ofrep(
        _ flag: String?, key: String? = Keys.client, apiKeyHeader: Bool = false, context: JSONValue? = [:], raw: [UInt8]? = nil,
        headers extra: [String: String] = [:]
    ) async throws -> Reply {
        var headers = extra
        if let key { headers[apiKeyHeader ? "X-API-Key" : "Authorization"] = apiKeyHeader ? key : "Bearer \(key)" }
        let body: JSONValue? = raw == nil ? ["context": context ?? .null] : nil
        return try await call(.post, "/ofrep/v1/evaluate/flags" + (flag.map { "/" + $0 } ?? ""), json: body, raw: raw, headers: headers)
    }

    /// A console change that must succeed.
    @discardableResult
    func setUp(_ method: HTTPRequest.Method, _ path: String, _ json: JSONValue? = nil,
               sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reply {
        let r = try await console(method, path, json)
        #expect(r.status.code < 300, "\(path): \(r.text)", sourceLocation: sourceLocation)
        return r
    }

    func exposures(_ name: String) async throws -> [JSONValue] {
        try await console(.get, "events?eventName=\(name)").json["data"]?.arrayValue ?? []
    }
}

private func flags(_ r: Reply) -> [String: JSONValue] {
    var out: [String: JSONValue] = [:]
    for f in r.json["flags"]?.arrayValue ?? [] { out[f["key"]?.stringValue ?? "?"] = f }
    return out
}

@Suite("OFREP")
struct OFREPTests {
    @Test func keysComeAsBearerOrXAPIKeyAndFailuresAreOFREPShaped() async throws {
        try await withVane { (client) async throws in
            try await client.setUp(.post, "gates", ["name": "on", "rules": [["name": "all", "conditions": [["type": "public"]]]]])
            for (key, header) in [(Keys.client, false), (Keys.server, false), (Keys.client, true), (Keys.server, true)] {
                let r = try await client.ofrep("on", key: key, apiKeyHeader: header, context: ["targetingKey": "u1"])
                #expect(r.status == .ok, "\(r.text)")
                #expect(r.json["value"] == true)
            }
            // Statsig's own header works too.
            #expect(try await client.ofrep("on", key: nil, headers: ["STATSIG-API-KEY": Keys.client]).status == .ok)
            for (key, header): (String?, Bool) in [(nil, false), ("client-unknown", false), ("secret-unknown", true), (Keys.console, false)] {
                let r = try await client.ofrep("on", key: key, apiKeyHeader: header)
                #expect(r.status == .unauthorized)
                #expect(r.json["key"] == "on")
                #expect(r.json["errorCode"] == "GENERAL")
                #expect(r.json["errorDetails"]?.stringValue?.isEmpty == false)
                #expect(r.headers[.wwwAuthenticate] == "Bearer")
            }
            let basic = try await client.ofrep("on", key: nil, headers: ["Authorization": "Basic \(Keys.client)"])
            #expect(basic.status == .unauthorized)
            let bulk = try await client.ofrep(nil, key: nil)
            #expect(bulk.status == .unauthorized)
            #expect(bulk.json["key"] == nil)
            #expect(bulk.json["errorCode"] == "GENERAL")
        }
    }

    @Test func perKeyRateLimitsApply() async throws {
        // One token every 20 s: however slow the machine, none comes back during the test.
        try await withVane(requestsPerSecondPerKey: 0.05) { (client) async throws in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<5 { statuses.append(try await client.ofrep(nil).status) }
            #expect(statuses.contains(.tooManyRequests))
            let limited = try await client.ofrep("x")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] != nil)
            #expect(limited.json["errorCode"] == "GENERAL")
        }
    }

    @Test func gatesAreBooleanFlagsWithEachReason() async throws {
        try await withVane { (client) async throws in
            try await client.setUp(.post, "gates", [
                "name": "staff", "rules": [["name": "Employees", "conditions": [["type": "email", "operator": "str_ends_with_any", "targetValue": ["@co.com"]]]]],
            ])
            try await client.setUp(.post, "gates", ["name": "off", "isEnabled": false, "rules": [["name": "all", "conditions": [["type": "public"]]]]])
            try await client.setUp(.post, "gates", ["name": "half", "rules": [["name": "Half rollout", "passPercentage": 50, "conditions": [["type": "public"]]]]])

            let staff = try await client.ofrep("staff", context: ["targetingKey": "a", "email": "a@co.com"])
            #expect(staff.json["key"] == "staff")
            #expect(staff.json["value"] == true)
            #expect(staff.json["reason"] == "TARGETING_MATCH")
            #expect(staff.json["variant"] == "Employees")
            #expect(staff.json["metadata"]?["flagType"] == "feature_gate")
            #expect(staff.json["metadata"]?["idType"] == "userID")
            #expect(staff.json["metadata"]?["ruleID"]?.stringValue?.isEmpty == false)

            let other = try await client.ofrep("staff", context: ["targetingKey": "b", "email": "b@else.com"])
            #expect(other.json["value"] == false)
            #expect(other.json["reason"] == "DEFAULT")
            #expect(other.json["variant"] == "default")
            #expect(other.json["metadata"]?["ruleID"] == "default")

            let off = try await client.ofrep("off", context: ["targetingKey": "a"])
            #expect(off.json["value"] == false)
            #expect(off.json["reason"] == "DISABLED")
            #expect(off.json["variant"] == "disabled")

            var values: Set<Bool> = []
            for i in 0..<40 {
                let r = try await client.ofrep("half", context: ["targetingKey": .string("user-\(i)")])
                #expect(r.json["reason"] == "SPLIT")
                #expect(r.json["variant"] == "Half rollout")
                if let v = r.json["value"]?.boolValue { values.insert(v) }
            }
            #expect(values == [true, false])
        }
    }

    @Test func configsAreObjectFlagsAndTheirParametersScalarFlags() async throws {
        try await withVane { (client) async throws in
            try await client.setUp(.post, "dynamic_configs", [
                "name": "pricing", "defaultValue": ["currency": "EUR", "discount": 0, "banner": false],
                "rules": [["name": "Pro plan", "conditions": [["type": "custom_field", "field": "plan", "operator": "any", "targetValue": ["pro"]]],
                           "returnValue": ["currency": "USD", "discount": 12.5, "banner": true, "extra": ["a": 1]]]],
            ])
            try await client.setUp(.post, "dynamic_configs", ["name": "paused", "isEnabled": false, "defaultValue": ["x": 1]])
            try await client.setUp(.post, "gates", ["name": "plain_gate"])

            let pro: JSONValue = ["targetingKey": "p", "plan": "pro"]
            let whole = try await client.ofrep("pricing", context: pro)
            #expect(whole.json["value"] == ["currency": "USD", "discount": 12.5, "banner": true, "extra": ["a": 1]])
            #expect(whole.json["reason"] == "TARGETING_MATCH")
            #expect(whole.json["variant"] == "Pro plan")
            #expect(whole.json["metadata"]?["flagType"] == "dynamic_config")
            #expect(try await client.ofrep("pricing.currency", context: pro).json["value"] == "USD")
            #expect(try await client.ofrep("pricing.discount", context: pro).json["value"] == 12.5)
            #expect(try await client.ofrep("pricing.banner", context: pro).json["value"] == true)
            #expect(try await client.ofrep("pricing.extra", context: pro).json["value"] == ["a": 1])

            let free = try await client.ofrep("pricing.discount", context: ["targetingKey": "f"])
            #expect(free.json["value"] == 0)
            #expect(free.json["reason"] == "DEFAULT")
            #expect(free.json["variant"] == "default")
            // A parameter some value has, but not this user's: the caller's default (no value).
            let absent = try await client.ofrep("pricing.extra", context: ["targetingKey": "f"])
            #expect(absent.status == .ok)
            #expect(absent.json["value"] == nil)
            #expect(absent.json["reason"] == "DEFAULT")

            let missing = try await client.ofrep("pricing.nope", context: pro)
            #expect(missing.status == .notFound)
            #expect(missing.json["errorCode"] == "FLAG_NOT_FOUND")
            #expect(missing.json["key"] == "pricing.nope")

            let gateParameter = try await client.ofrep("plain_gate.value", context: pro)
            #expect(gateParameter.status == .badRequest)
            #expect(gateParameter.json["errorCode"] == "TYPE_MISMATCH")
            #expect(gateParameter.json["key"] == "plain_gate.value")

            let paused = try await client.ofrep("paused", context: pro)
            #expect(paused.json["reason"] == "DISABLED")
            #expect(paused.json["value"] == ["x": 1])
        }
    }

    @Test func experimentsSplitIntoGroupsAndLayersByParameter() async throws {
        try await withVane { (client) async throws in
            try await client.setUp(.post, "experiments", [
                "name": "checkout_exp", "groups": [["name": "Control", "size": 50, "parameterValues": ["color": "blue", "size": 1]],
                                                   ["name": "Test", "size": 50, "parameterValues": ["color": "green", "size": 2]]],
            ])
            let prestart = try await client.ofrep("checkout_exp", context: ["targetingKey": "u"])
            #expect(prestart.json["reason"] == "DEFAULT")
            #expect(prestart.json["variant"] == "Prestart")
            try await client.setUp(.put, "experiments/checkout_exp/start")
            var groups: [String: Int] = [:]
            for i in 0..<40 {
                let r = try await client.ofrep("checkout_exp.color", context: ["targetingKey": .string("user-\(i)")])
                #expect(r.json["reason"] == "SPLIT")
                let variant = r.json["variant"]?.stringValue ?? "?"
                groups[variant, default: 0] += 1
                #expect(r.json["metadata"]?["groupName"]?.stringValue == variant)
                #expect(r.json["metadata"]?["flagType"] == "experiment")
                #expect(r.json["value"] == (variant == "Control" ? "blue" : "green"))
            }
            #expect(Set(groups.keys) == ["Control", "Test"])
            let exposures = try await client.exposures("statsig::config_exposure")
            #expect(exposures.count == 41)  // the 40 above and the one before the start
            #expect(exposures.allSatisfy { $0["metadata"]?["config"] == "checkout_exp" && $0["sdkType"] == "ofrep" })

            try await client.setUp(.post, "layers", ["name": "homepage", "defaultValue": ["title": "Welcome", "hero": "plain"]])
            try await client.setUp(.post, "experiments", [
                "name": "hero_exp", "layer": "homepage", "allocation": 100,
                "groups": [["name": "Old", "size": 50, "parameterValues": ["hero": "plain"]], ["name": "New", "size": 50, "parameterValues": ["hero": "video"]]],
            ])
            try await client.setUp(.put, "experiments/hero_exp/start")
            let hero = try await client.ofrep("homepage.hero", context: ["targetingKey": "u1"])
            #expect(hero.json["reason"] == "SPLIT")
            #expect(["Old", "New"].contains(hero.json["variant"]?.stringValue ?? ""))
            #expect(hero.json["metadata"]?["allocatedExperiment"] == "hero_exp")
            #expect(hero.json["metadata"]?["flagType"] == "layer")
            let title = try await client.ofrep("homepage.title", context: ["targetingKey": "u1"])
            #expect(title.json["value"] == "Welcome")
            let layer = try await client.ofrep("homepage", context: ["targetingKey": "u1"])
            #expect(layer.json["value"]?["title"] == "Welcome")
            #expect(try await client.ofrep("homepage.nothing", context: ["targetingKey": "u1"]).status == .notFound)

            // One layer exposure per parameter read, as the SDK logs them; the whole layer logs each parameter.
            let layerExposures = try await client.exposures("statsig::layer_exposure")
            let parameters = layerExposures.compactMap { $0["metadata"]?["parameterName"]?.stringValue }.sorted()
            #expect(parameters == ["hero", "hero", "title", "title"])
            let heroExposure = try #require(layerExposures.first { $0["metadata"]?["parameterName"] == "hero" })
            #expect(heroExposure["metadata"]?["allocatedExperiment"] == "hero_exp")
            #expect(heroExposure["metadata"]?["isExplicitParameter"] == "true")
        }
    }

    @Test func badRequestsAnswerOFREPErrorCodes() async throws {
        try await withVane { (client) async throws in
            try await client.setUp(.post, "gates", ["name": "on", "rules": [["name": "all", "conditions": [["type": "public"]]]]])
            let malformed = try await client.ofrep("on", raw: Array(#"{"context": {"targetingKey": "#.utf8))
            #expect(malformed.status == .badRequest)
            #expect(malformed.json["errorCode"] == "PARSE_ERROR")
            #expect(malformed.json["key"] == "on")
            #expect(try await client.ofrep("on", raw: Array("[1, 2]".utf8)).json["errorCode"] == "PARSE_ERROR")
            let bulkMalformed = try await client.ofrep(nil, raw: Array("{".utf8))
            #expect(bulkMalformed.status == .badRequest)
            #expect(bulkMalformed.json["errorCode"] == "PARSE_ERROR")

            for context: JSONValue in ["user-1", 5, ["a", "b"], true, ["targetingKey": ["nested": 1]], ["email": ["x"]],
                                       ["customIDs": "abc"], ["privateAttributes": 3], ["customIDs": ["companyID": ["x": 1]]]] {
                let r = try await client.ofrep("on", context: context)
                #expect(r.status == .badRequest, "\(context)")
                #expect(r.json["errorCode"] == "INVALID_CONTEXT", "\(context)")
                #expect(r.json["key"] == "on")
                let bulk = try await client.ofrep(nil, context: context)
                #expect(bulk.json["errorCode"] == "INVALID_CONTEXT")
            }
            let unknown = try await client.ofrep("no_such_flag", context: ["targetingKey": "u"])
            #expect(unknown.status == .notFound)
            #expect(unknown.json == ["key": "no_such_flag", "errorCode": "FLAG_NOT_FOUND",
                                     "errorDetails": "no feature gate, dynamic config, experiment or layer named 'no_such_flag'"])
            // No body, or no context: an empty context.
            #expect(try await client.ofrep("on", raw: []).json["value"] == true)
            #expect(try await client.ofrep("on", raw: Array("{}".utf8)).json["value"] == true)
            // Keys are percent-decoded (names may hold spaces).
            try await client.setUp(.post, "gates", ["name": "with space", "rules": [["name": "all", "conditions": [["type": "public"]]]]])
            #expect(try await client.ofrep("with%20space").json["key"] == "with space")
        }
    }

    @Test func contextMapsToTheStatsigUser() async throws {
        try await withVane { (client) async throws in
            try await client.setUp(.post, "custom_id_types", ["name": "companyID"])
            try await client.setUp(.post, "gates", ["name": "everyone", "rules": [["name": "all", "conditions": [["type": "public"]]]]])
            try await client.setUp(.post, "gates", [
                "name": "acme", "idType": "companyID",
                "rules": [["name": "Acme", "conditions": [["type": "unit_id", "operator": "any", "targetValue": ["acme"]]]]],
            ])
            try await client.setUp(.post, "gates", [
                "name": "secret_plan", "rules": [["name": "VIP", "conditions": [["type": "custom_field", "field": "tier", "operator": "any", "targetValue": ["vip"]]]]],
            ])
            let context: JSONValue = [
                "targetingKey": "user-1", "email": "a@b.co", "ip": "1.2.3.4", "userAgent": "curl/8", "country": "NZ", "locale": "en_NZ",
                "appVersion": "1.2.3", "companyID": "acme", "stableID": "device-9", "customIDs": ["orgID": "o-1"], "plan": "pro",
                "seats": 12, "privateAttributes": ["tier": "vip"], "custom": ["team": "red"],
            ]
            #expect(try await client.ofrep("acme", context: context).json["value"] == true)
            #expect(try await client.ofrep("acme", context: ["targetingKey": "user-1", "customIDs": ["companyID": "acme"]]).json["value"] == true)
            #expect(try await client.ofrep("acme", context: ["targetingKey": "user-1", "companyID": "globex"]).json["value"] == false)
            // Private attributes target but are not logged.
            #expect(try await client.ofrep("secret_plan", context: context).json["value"] == true)
            #expect(try await client.ofrep("everyone", context: context).json["value"] == true)
            let exposure = try #require(try await client.exposures("statsig::gate_exposure").first { $0["metadata"]?["gate"] == "everyone" })
            #expect(exposure["userID"] == "user-1")
            #expect(exposure["sdkType"] == "ofrep")
            #expect(exposure["source"] == "http_api")
            let user = try #require(exposure["user"])
            #expect(user["userID"] == "user-1")
            #expect(user["email"] == "a@b.co")
            #expect(user["ip"] == "1.2.3.4")
            #expect(user["userAgent"] == "curl/8")
            #expect(user["country"] == "NZ")
            #expect(user["locale"] == "en_NZ")
            #expect(user["appVersion"] == "1.2.3")
            #expect(user["customIDs"] == ["companyID": "acme", "stableID": "device-9", "orgID": "o-1"])
            #expect(user["custom"] == ["plan": "pro", "seats": 12, "team": "red"])
            #expect(user["privateAttributes"] == nil)
            // The test keys see every environment, so no tier is added.
            #expect(user["statsigEnvironment"] == nil)
        }
    }

    @Test func environmentScopedKeysEvaluateInTheirEnvironment() async throws {
        try await withVane { (client) async throws in
            try await client.setUp(.post, "gates", ["name": "staging_only", "rules": [["name": "s", "environments": ["staging"], "conditions": [["type": "public"]]]]])
            let created = try await client.setUp(.post, "keys", ["kind": "client", "environment": "staging"])
            let staging = try #require(created.json["data"]?["key"]?.stringValue)
            let r = try await client.ofrep("staging_only", key: staging, context: ["targetingKey": "u"])
            #expect(r.json["value"] == true)
            #expect(r.json["reason"] == "TARGETING_MATCH")
            #expect(try await client.ofrep("staging_only", context: ["targetingKey": "u"]).json["value"] == false)
            let exposure = try #require(try await client.exposures("statsig::gate_exposure").first)
            #expect(exposure["environment"] == "production")
            let tiered = try #require(try await client.exposures("statsig::gate_exposure").last)
            #expect(tiered["user"]?["statsigEnvironment"] == ["tier": "staging"])
            #expect(tiered["environment"] == "staging")
            let bulk = try await client.ofrep(nil, key: staging, context: ["targetingKey": "u"])
            let everywhere = try await client.ofrep(nil, context: ["targetingKey": "u"])
            #expect(bulk.headers[.eTag] != everywhere.headers[.eTag])
        }
    }

    @Test func bulkListsEveryFlagWithAnETagAndNoExposures() async throws {
        try await withVane { (client) async throws in
            try await client.setUp(.post, "gates", ["name": "on", "rules": [["name": "all", "conditions": [["type": "public"]]]]])
            try await client.setUp(.post, "dynamic_configs", ["name": "theme", "defaultValue": ["color": "blue", "dark": false]])
            try await client.setUp(.post, "experiments", [
                "name": "exp", "groups": [["name": "A", "size": 50, "parameterValues": ["n": 1]], ["name": "B", "size": 50, "parameterValues": ["n": 2]]],
            ])
            try await client.setUp(.put, "experiments/exp/start")
            try await client.setUp(.post, "layers", ["name": "lay", "defaultValue": ["title": "Hi"]])
            try await client.setUp(.post, "segments", ["name": "seg", "rules": [["name": "all", "conditions": [["type": "public"]]]]])

            let context: JSONValue = ["targetingKey": "u1"]
            let r = try await client.ofrep(nil, context: context)
            #expect(r.status == .ok)
            let all = flags(r)
            #expect(Set(all.keys) == ["on", "theme", "theme.color", "theme.dark", "exp", "exp.n", "lay", "lay.title"])
            #expect(all["on"]?["value"] == true)
            #expect(all["theme.color"]?["value"] == "blue")
            #expect(all["exp"]?["reason"] == "SPLIT")
            #expect(all["exp.n"]?["variant"] == all["exp"]?["variant"])
            #expect(all.values.allSatisfy { $0["variant"]?.stringValue != nil && $0["reason"]?.stringValue != nil })
            let etag = try #require(r.headers[.eTag])
            #expect(etag.hasPrefix("\"") && etag.hasSuffix("\""))
            #expect(try await client.exposures("statsig::gate_exposure").isEmpty)
            #expect(try await client.exposures("statsig::config_exposure").isEmpty)

            let same = try await client.ofrep(nil, context: context, headers: ["If-None-Match": etag])
            #expect(same.status == .notModified)
            #expect(same.text.isEmpty)
            #expect(same.headers[.eTag] == etag)
            #expect(try await client.ofrep(nil, context: context, headers: ["If-None-Match": "\"other\", W/\(etag)"]).status == .notModified)
            #expect(try await client.ofrep(nil, context: context, headers: ["If-None-Match": "*"]).status == .notModified)
            #expect(try await client.ofrep(nil, key: Keys.server, context: context, headers: ["If-None-Match": etag]).status == .notModified)

            // Another context, or changed rules: a new ETag and a full answer.
            let other = try await client.ofrep(nil, context: ["targetingKey": "u2"], headers: ["If-None-Match": etag])
            #expect(other.status == .ok)
            #expect(other.headers[.eTag] != etag)
            let attribute = try await client.ofrep(nil, context: ["targetingKey": "u1", "plan": "pro"], headers: ["If-None-Match": etag])
            #expect(attribute.status == .ok)
            try await client.setUp(.patch, "dynamic_configs/theme", ["description": "no change to values"])
            let changed = try await client.ofrep(nil, context: context, headers: ["If-None-Match": etag])
            #expect(changed.status == .ok)
            let newTag = try #require(changed.headers[.eTag])
            #expect(newTag != etag)
            #expect(try await client.ofrep(nil, context: context, headers: ["If-None-Match": newTag]).status == .notModified)
        }
    }
}
