import Testing
@testable import VaneCore

@Suite("OFREP context")
struct OFREPContextTests {
    @Test func attributesMapToUserFieldsCustomIDsAndCustom() throws {
        let user = try OFREPContext.user([
            "targetingKey": "u1", "email": "e@x.io", "ip": "10.0.0.1", "userAgent": "ua", "country": "DE", "locale": "de_DE",
            "appVersion": 7, "stableID": "s1", "CompanyId": "acme", "customIDs": ["orgID": 42, "companyID": "winner"],
            "privateAttributes": ["secret": true], "custom": ["team": "red", "plan": "hidden"], "plan": "pro", "tags": ["a", "b"],
            "nothing": .null,
        ], customIDTypes: ["companyID"], environment: "staging")
        #expect(user.userID == "u1")
        #expect(user.email == "e@x.io")
        #expect(user.ip == "10.0.0.1")
        #expect(user.userAgent == "ua")
        #expect(user.country == "DE")
        #expect(user.locale == "de_DE")
        #expect(user.appVersion == "7")
        // The customIDs object wins over an attribute named like the type.
        #expect(user.customIDs == ["stableID": "s1", "companyID": "winner", "orgID": "42"])
        #expect(user.privateAttributes == ["secret": true])
        #expect(user.custom == ["team": "red", "plan": "pro", "tags": ["a", "b"], "nothing": .null])
        #expect(user.statsigEnvironment == ["tier": "staging"])
    }

    @Test func attributeIDsUseTheTypesSpelling() throws {
        let user = try OFREPContext.user(["companyid": "acme"], customIDTypes: ["companyID"], environment: nil)
        #expect(user.customIDs == ["companyID": "acme"])
        #expect(user.userID == nil)
        #expect(user.statsigEnvironment.isEmpty)
    }

    @Test func userIDStandsInForAMissingTargetingKey() throws {
        #expect(try OFREPContext.user(["userID": "a"], customIDTypes: [], environment: nil).userID == "a")
        #expect(try OFREPContext.user(["targetingKey": "t", "userID": "a"], customIDTypes: [], environment: nil).userID == "t")
        #expect(try OFREPContext.user(["targetingKey": "", "userId": "b"], customIDTypes: [], environment: nil).userID == "b")
        let env = try OFREPContext.user(["statsigEnvironment": ["tier": "development"]], customIDTypes: [], environment: "production")
        #expect(env.statsigEnvironment == ["tier": "development"])
        #expect(try OFREPContext.user(nil, customIDTypes: [], environment: nil) == StatsigUser())
        #expect(try OFREPContext.user(.null, customIDTypes: [], environment: nil) == StatsigUser())
    }

    @Test func wrongShapesAreInvalid() {
        for context: JSONValue in ["x", 1, [1], false, ["targetingKey": [1]], ["email": ["a": 1]], ["customIDs": [1]],
                                   ["privateAttributes": "p"], ["statsigEnvironment": 1], ["stableID": ["x"]], ["n": .double(.infinity)]] {
            #expect(throws: OFREPContext.Invalid.self, "\(context)") {
                try OFREPContext.user(context, customIDTypes: [], environment: nil)
            }
        }
    }

    @Test func dottedKeysPreferWholeNamesThenTheLongestPrefix() {
        let gate = Spec(name: "g", type: "feature_gate", entity: "feature_gate", salt: "g", defaultValue: false, rules: [])
        let config = { (name: String, value: JSONValue) in
            Spec(name: name, type: "dynamic_config", entity: "dynamic_config", salt: name, defaultValue: value, rules: [])
        }
        let rules = RuleSet(time: 1, gates: [gate], configs: [config("a", ["b.c": 1, "x": 2]), config("a.b", ["c": 3]), config("d.e", [:])], layers: [])
        let ofrep = OFREPEvaluator(Evaluator(rules: rules))
        #expect(ofrep.target("a.b") == .whole(.config, "a.b"))
        #expect(ofrep.target("a.b.c") == .parameter(.config, "a.b", "c"))
        #expect(ofrep.target("a.x") == .parameter(.config, "a", "x"))
        #expect(ofrep.target("g.x") == .gateParameter("g"))
        #expect(ofrep.target("d.e") == .whole(.config, "d.e"))
        #expect(ofrep.target("zz.top") == .notFound)
        #expect(ofrep.target("a.") == .notFound)
        let all = ofrep.evaluateAll(user: StatsigUser(userID: "u")).compactMap { try? $0.get().key }
        // "a.b.c" is a.b's parameter, so a's "b.c" is not listed under that key.
        #expect(all == ["a", "a.b", "a.b.c", "a.x", "d.e", "g"])
        let abc = try? ofrep.evaluate("a.b.c", user: StatsigUser()).get()
        #expect(abc?.value == 3)
        #expect(abc?.reason == .default)
        #expect(abc?.variant == "default")
    }
}
