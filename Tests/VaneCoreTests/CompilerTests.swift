import Testing
@testable import VaneCore

private func bucket(_ salt: String, _ unit: String) -> Int {
    // The user_bucket value (hash checked against Python in HashingTests).
    Int(StatsigHash.unitHash(salt + "." + unit) % 1000)
}

private func ruleSet(_ out: SpecCompiler.Output, idLists: [String: Set<String>] = [:], defaultEnvironment: String? = nil) -> RuleSet {
    RuleSet(
        time: 1, gates: out.gates, configs: out.configs, layers: out.layers, layerExperiments: out.layerExperiments,
        idLists: idLists, defaultEnvironment: defaultEnvironment)
}

@Suite("SpecCompiler")
struct SpecCompilerTests {
    func experiment(
        _ name: String, groups: [ExperimentGroup], status: ExperimentStatus = .active, allocation: Double? = nil
    ) -> Entity {
        var e = Entity(kind: .experiment, name: name)
        e.salt = name + "-salt"
        e.status = status
        e.groups = groups
        e.allocation = allocation
        e.defaultValue = ["v": -1, "other": "x"]
        return e
    }

    let threeGroups = [
        ExperimentGroup(id: "g0", name: "Control", size: 33.3, parameterValues: ["v": 0]),
        ExperimentGroup(id: "g1", name: "A", size: 33.3, parameterValues: ["v": 1]),
        ExperimentGroup(id: "g2", name: "B", size: 33.4, parameterValues: ["v": 2]),
    ]

    @Test func groupsBecomeUserBucketThresholds() throws {
        let spec = try #require(SpecCompiler(environment: nil).compile([experiment("exp", groups: threeGroups)]).configs.first)
        #expect(spec.entity == "experiment")
        #expect(spec.isActive == true)
        #expect(spec.rules.map(\.id) == ["g0", "g1", "g2"])
        // Cumulative sizes 33.3 %, 66.6 %, 100 % of 1000 buckets: floor(333.0), floor(666.0), and exactly 1000 for the last.
        let thresholds: [JSONValue?] = spec.rules.map { $0.conditions.first?.targetValue }
        let wantThresholds: [JSONValue?] = [.int(333), .int(666), .int(1000)]
        #expect(thresholds == wantThresholds)
        for r in spec.rules {
            let c = try #require(r.conditions.first)
            #expect(r.conditions.count == 1)
            #expect(c.type == "user_bucket")
            #expect(c.operator == "lt")
            #expect(c.additionalValues["salt"] == "exp-salt")
            #expect(r.passPercentage == 100)
            #expect(r.isExperimentGroup == true)
            #expect(r.salt == r.id)
        }
        #expect(spec.rules.map(\.groupName) == ["Control", "A", "B"])
        // Each group's value is the defaults overlaid with its parameters.
        #expect(spec.rules[1].returnValue == ["v": 1, "other": "x"])
        #expect(spec.defaultValue == ["v": -1, "other": "x"])
    }

    @Test func groupAssignmentFollowsTheBucket() throws {
        let ev = Evaluator(rules: ruleSet(SpecCompiler(environment: nil).compile([experiment("exp", groups: threeGroups)])))
        var seen = Set<String>()
        for i in 0..<300 {
            let id = "user-\(i)"
            let b = bucket("exp-salt", id)
            let want = b < 333 ? "g0" : b < 666 ? "g1" : "g2"
            let r = ev.getConfig(StatsigUser(userID: id), "exp")
            #expect(r.ruleID == want, "\(id) bucket \(b)")
            #expect(r.isExperimentGroup)
            seen.insert(r.ruleID)
        }
        #expect(seen == ["g0", "g1", "g2"])
    }

    @Test func allocationScalesTheThresholds() throws {
        // 50 % allocation: 500 buckets, split 50/50 -> thresholds 250 and 500; buckets >= 500 match no rule.
        let groups = [ExperimentGroup(name: "Control", size: 50), ExperimentGroup(name: "Test", size: 50)]
        let out = SpecCompiler(environment: nil).compile([experiment("half", groups: groups, allocation: 50)])
        let spec = try #require(out.configs.first)
        let thresholds: [JSONValue?] = spec.rules.map { $0.conditions.first?.targetValue }
        let wantThresholds: [JSONValue?] = [.int(250), .int(500)]
        #expect(thresholds == wantThresholds)
        // Groups without ids get "<experiment>:group:<index>".
        #expect(spec.rules.map(\.id) == ["half:group:0", "half:group:1"])
        let ev = Evaluator(rules: ruleSet(out))
        for i in 0..<200 {
            let id = "user-\(i)"
            let b = bucket("half-salt", id)
            let r = ev.getConfig(StatsigUser(userID: id), "half")
            #expect(r.ruleID == (b < 250 ? "half:group:0" : b < 500 ? "half:group:1" : "default"))
            if b >= 500 { #expect(r.jsonValue == ["v": -1, "other": "x"]) }
        }
    }

    @Test func unevenSplitAndRoundedAllocation() throws {
        // 60 % allocation (600 buckets) split 20/30/50: floor(120), floor(300), and 600 for the last.
        let groups = [
            ExperimentGroup(name: "a", size: 20), ExperimentGroup(name: "b", size: 30), ExperimentGroup(name: "c", size: 50),
        ]
        let spec = try #require(SpecCompiler(environment: nil).compile([experiment("e", groups: groups, allocation: 60)]).configs.first)
        let thresholds: [JSONValue?] = spec.rules.map { $0.conditions.first?.targetValue }
        let wantThresholds: [JSONValue?] = [.int(120), .int(300), .int(600)]
        #expect(thresholds == wantThresholds)
    }

    @Test func targetingGateComesFirstAndNeverPasses() throws {
        var e = experiment("exp", groups: threeGroups)
        e.targetingGate = "beta"
        var gate = Entity(kind: .gate, name: "beta")
        gate.rules = [EntityRule(name: "u1 only", conditions: [EntityCondition(type: "user_id", operator: "any", targetValue: ["u1"])])]
        let out = SpecCompiler(environment: nil).compile([e, gate])
        let spec = try #require(out.configs.first)
        #expect(spec.rules.first?.id == "targetingGate")
        #expect(spec.rules.first?.passPercentage == 0)
        #expect(spec.rules.first?.conditions.first?.type == "fail_gate")
        let ev = Evaluator(rules: ruleSet(out))
        // u2 fails the targeting gate: the rule matches, its 0 % rollout fails, the default is served.
        let out2 = ev.getConfig(StatsigUser(userID: "u2"), "exp")
        #expect(out2.ruleID == "targetingGate")
        #expect(out2.value == false)
        #expect(out2.jsonValue == ["v": -1, "other": "x"])
        #expect(out2.secondaryExposures == [Build.exposure("beta", false, "default")])
        let in1 = ev.getConfig(StatsigUser(userID: "u1"), "exp")
        let groupIDs: Set<String> = ["g0", "g1", "g2"]
        #expect(groupIDs.contains(in1.ruleID))
        #expect(in1.secondaryExposures == [Build.exposure("beta", true, "beta:rule:0")])
    }

    @Test func statusesOtherThanActive() throws {
        let compile = { (e: Entity) -> Spec in SpecCompiler(environment: nil).compile([e]).configs[0] }
        let setup = compile(experiment("e", groups: threeGroups, status: .setup))
        #expect(setup.rules.map(\.id) == ["prestart"])
        #expect(setup.rules[0].returnValue == ["v": -1, "other": "x"])
        #expect(setup.isActive == false)
        let abandoned = compile(experiment("e", groups: threeGroups, status: .abandoned))
        #expect(abandoned.rules.map(\.id) == ["abandoned"])
        var decided = experiment("e", groups: threeGroups, status: .decisionMade)
        decided.launchedGroup = "A"
        let launched = compile(decided)
        #expect(launched.rules.map(\.id) == ["launchedGroup"])
        #expect(launched.rules[0].returnValue == ["v": 1, "other": "x"])
        #expect(launched.rules[0].groupName == "A")
        #expect(launched.rules[0].isExperimentGroup == false)
        let ev = Evaluator(rules: RuleSet(time: 1, gates: [], configs: [launched], layers: []))
        let r = ev.getConfig(StatsigUser(userID: "anyone"), "e")
        #expect(r.jsonValue == ["v": 1, "other": "x"])
        #expect(r.groupName == "A")
        #expect(r.isExperimentGroup == false)
    }

    @Test func layerDelegatesByLayerBuckets() throws {
        var layer = Entity(kind: .layer, name: "lay")
        layer.salt = "lay-salt"
        layer.defaultValue = ["v": -1, "w": "layer"]
        var e = experiment("exp", groups: [
            ExperimentGroup(id: "c", name: "Control", size: 50, parameterValues: ["v": 0]),
            ExperimentGroup(id: "t", name: "Test", size: 50, parameterValues: ["v": 1, "z": true]),
        ])
        e.layer = "lay"
        e.layerBuckets = Array(0..<500)
        let out = SpecCompiler(environment: nil).compile([layer, e])
        #expect(out.layerExperiments == ["lay": ["exp"]])
        let layerSpec = try #require(out.layers.first)
        #expect(layerSpec.rules.map(\.id) == ["layerAssignment:exp"])
        #expect(layerSpec.rules[0].configDelegate == "exp")
        #expect(layerSpec.rules[0].conditions[0].operator == "any")
        #expect(layerSpec.rules[0].conditions[0].additionalValues["salt"] == "lay-salt")
        let expSpec = try #require(out.configs.first)
        // Units outside the layer's buckets stop at layerAssignment; inside, the groups split all 1000 buckets.
        #expect(expSpec.rules.map(\.id) == ["layerAssignment", "c", "t"])
        let thresholds: [JSONValue?] = expSpec.rules.dropFirst().map { $0.conditions.first?.targetValue }
        let wantThresholds: [JSONValue?] = [.int(500), .int(1000)]
        #expect(thresholds == wantThresholds)
        #expect(expSpec.explicitParameters == ["v", "z"])
        #expect(expSpec.hasSharedParams == true)
        // The layer's defaults are the experiment's defaults.
        #expect(expSpec.rules[2].returnValue == ["v": 1, "w": "layer", "z": true])

        let ev = Evaluator(rules: ruleSet(out))
        var delegated = 0
        for i in 0..<300 {
            let id = "user-\(i)"
            let user = StatsigUser(userID: id)
            let r = ev.getLayer(user, "lay")
            if bucket("lay-salt", id) < 500 {
                delegated += 1
                #expect(r.allocatedExperiment == "exp")
                #expect(r.ruleID == (bucket("exp-salt", id) < 500 ? "c" : "t"))
                #expect(r.explicitParameters == ["v", "z"])
                #expect(r.isExperimentGroup)
            } else {
                #expect(r.allocatedExperiment == nil)
                #expect(r.ruleID == "default")
                #expect(r.jsonValue == ["v": -1, "w": "layer"])
                let direct = ev.getConfig(user, "exp")
                #expect(direct.ruleID == "layerAssignment")
                #expect(direct.isExperimentGroup == false)
            }
        }
        #expect(delegated > 100 && delegated < 200)
    }

    @Test func layerSkipsExperimentsThatAreNotRunning() throws {
        var layer = Entity(kind: .layer, name: "lay")
        layer.defaultValue = ["v": 0]
        var running = experiment("a", groups: threeGroups)
        running.layer = "lay"
        running.layerBuckets = [1, 2]
        var stopped = experiment("b", groups: threeGroups, status: .abandoned)
        stopped.layer = "lay"
        stopped.layerBuckets = [3]
        let out = SpecCompiler(environment: nil).compile([stopped, layer, running])
        #expect(out.layers[0].rules.map(\.configDelegate) == ["a"])
        #expect(out.layerExperiments == ["lay": ["a", "b"]])
        // Output order is by name.
        #expect(out.configs.map(\.name) == ["a", "b"])
    }

    @Test func allocateLayerBuckets() {
        #expect(SpecCompiler.allocateLayerBuckets(count: 3, taken: [0, 2]) == [1, 3, 4])
        #expect(SpecCompiler.allocateLayerBuckets(count: 0, taken: []) == [])
        #expect(SpecCompiler.allocateLayerBuckets(count: 999, taken: [5])?.contains(5) == false)
        #expect(SpecCompiler.allocateLayerBuckets(count: 999, taken: [5])?.count == 999)
        #expect(SpecCompiler.allocateLayerBuckets(count: 1000, taken: [5]) == nil)
        #expect(SpecCompiler.allocateLayerBuckets(count: 1000, taken: [])?.last == 999)
    }

    // MARK: Environments

    var envGate: Entity {
        var g = Entity(kind: .gate, name: "g")
        g.rules = [
            EntityRule(name: "staging only", conditions: [], environments: ["staging"]),
            EntityRule(name: "nobody", passPercentage: 0, conditions: []),
        ]
        return g
    }

    @Test func environmentLimitedRulesForAnAllEnvironmentsKey() throws {
        let spec = try #require(SpecCompiler(environment: nil).compile([envGate]).gates.first)
        #expect(spec.rules.map(\.id) == ["g:rule:0", "g:rule:1"])
        let added = try #require(spec.rules[0].conditions.first)
        #expect(spec.rules[0].conditions.count == 1)
        #expect(added.type == "environment_field")
        #expect(added.operator == "any")
        #expect(added.field == "tier")
        #expect(added.targetValue == ["staging"])
        #expect(spec.rules[1].conditions.isEmpty)
        let ev = Evaluator(rules: RuleSet(time: 1, gates: [spec], configs: [], layers: []))
        let staging = ev.checkGate(StatsigUser(userID: "u1", statsigEnvironment: ["tier": "staging"]), "g")
        #expect(staging.value == true)
        #expect(staging.ruleID == "g:rule:0")
        let production = ev.checkGate(StatsigUser(userID: "u1", statsigEnvironment: ["tier": "production"]), "g")
        #expect(production.value == false)
        #expect(production.ruleID == "g:rule:1")
    }

    @Test func environmentLimitedRulesForAScopedKey() throws {
        let staging = try #require(SpecCompiler(environment: "staging").compile([envGate]).gates.first)
        // In the staging key the rule applies to everyone, with no tier condition.
        #expect(staging.rules.map(\.id) == ["g:rule:0", "g:rule:1"])
        #expect(staging.rules[0].conditions.isEmpty)
        let production = try #require(SpecCompiler(environment: "production").compile([envGate]).gates.first)
        // In the production key it is left out; the remaining rule keeps its id.
        #expect(production.rules.map(\.id) == ["g:rule:1"])
        let ev = Evaluator(rules: RuleSet(time: 1, gates: [staging], configs: [], layers: []))
        #expect(ev.checkGate(StatsigUser(userID: "u1"), "g").value == true)
    }

    // MARK: Conditions, gates, segments, configs

    @Test func consoleConditionTypesMapToSDKTypes() throws {
        func compiled(_ c: EntityCondition) -> Condition {
            SpecCompiler(environment: nil).condition(c, defaultIdType: "userID")
        }
        let pass = compiled(EntityCondition(type: "passes_gate", targetValue: "x"))
        #expect(pass.type == "pass_gate")
        #expect(pass.targetValue == "x")
        #expect(compiled(EntityCondition(type: "fails_gate", targetValue: "x")).type == "fail_gate")
        let seg = compiled(EntityCondition(type: "fails_segment", targetValue: "seg"))
        #expect(seg.type == "fail_gate")
        #expect(seg.targetValue == "segment:seg")
        #expect(compiled(EntityCondition(type: "passes_segment", targetValue: "segment:seg")).targetValue == "segment:seg")
        for (console, field) in [("user_id", "userID"), ("email", "email"), ("ip_address", "ip"), ("app_version", "appVersion"), ("locale", "locale")] {
            let c = compiled(EntityCondition(type: console, operator: "any", targetValue: ["x"]))
            #expect(c.type == "user_field", "\(console)")
            #expect(c.field == field, "\(console)")
        }
        let custom = compiled(EntityCondition(type: "custom_field", operator: "eq", targetValue: 1, field: "plan"))
        #expect(custom.type == "user_field")
        #expect(custom.field == "plan")
        let country = compiled(EntityCondition(type: "country", operator: "any", targetValue: ["US"]))
        #expect(country.type == "ip_based")
        #expect(country.field == "country")
        for ua in ["browser_name", "browser_version", "os_name", "os_version"] {
            let c = compiled(EntityCondition(type: ua, operator: "any", targetValue: ["x"]))
            #expect(c.type == "ua_based")
            #expect(c.field == ua)
        }
        let tier = compiled(EntityCondition(type: "environment_tier", operator: "any", targetValue: ["staging"]))
        #expect(tier.type == "environment_field")
        #expect(tier.field == "tier")
        #expect(compiled(EntityCondition(type: "time", operator: "after", targetValue: 1)).type == "current_time")
        // SDK types pass through, type names are lower-cased, idType defaults to the entity's.
        let unit = compiled(EntityCondition(type: "UNIT_ID", operator: "any", targetValue: ["a"]))
        #expect(unit.type == "unit_id")
        #expect(unit.idType == "userID")
        let stable = SpecCompiler(environment: nil).condition(
            EntityCondition(type: "user_bucket", operator: "lt", targetValue: 5, additionalValues: ["salt": "s"]),
            defaultIdType: "stableID")
        #expect(stable.idType == "stableID")
        #expect(stable.additionalValues == ["salt": "s"])
        let explicit = compiled(EntityCondition(type: "unit_id", operator: "any", targetValue: ["a"], idType: "companyID"))
        #expect(explicit.idType == "companyID")
    }

    /// A refused condition says what is allowed, so the console and API users need no other reference.
    @Test func unknownTypesAndOperatorsListTheKnownOnes() {
        func message(_ c: EntityCondition) -> String {
            do { try Validation.check(condition: c, at: "rules[0].conditions[1]"); return "" } catch { return "\(error)" }
        }
        let op = message(EntityCondition(type: "email", operator: "ends_with", targetValue: ["@x.com"]))
        #expect(op.hasPrefix("rules[0].conditions[1].operator 'ends_with' is not a known operator (known: "))
        #expect(op.contains("str_ends_with_any") && op.contains("version_gte") && op.contains("in_segment_list"))
        let type = message(EntityCondition(type: "e-mail", operator: "any", targetValue: ["a"]))
        #expect(type.hasPrefix("rules[0].conditions[1].type 'e-mail' is not a known condition type (known: "))
        #expect(type.contains("email") && type.contains("custom_field") && type.contains("public") && type.contains("user_bucket"))
        #expect(message(EntityCondition(type: "passes_gate", targetValue: "")) == "rules[0].conditions[1].targetValue must name the gate or segment")
    }

    @Test func gateDefaults() throws {
        var g = Entity(kind: .gate, name: "g")
        g.rules = [
            EntityRule(name: "a", conditions: []), EntityRule(id: "custom-id", name: "b", passPercentage: 25, conditions: []),
        ]
        g.idType = "stableID"
        let spec = try #require(SpecCompiler(environment: nil).compile([g]).gates.first)
        #expect(spec.salt == "g")
        #expect(spec.enabled)
        #expect(spec.defaultValue == false)
        #expect(spec.idType == "stableID")
        #expect(spec.rules.map(\.id) == ["g:rule:0", "custom-id"])
        #expect(spec.rules.map(\.salt) == ["g:rule:0", "custom-id"])
        #expect(spec.rules.map(\.idType) == ["stableID", "stableID"])
        #expect(spec.rules[1].passPercentage == 25)
        let allReturnTrue = spec.rules.allSatisfy { $0.returnValue == true }
        #expect(allReturnTrue)
    }

    @Test func segments() throws {
        var ruleBased = Entity(kind: .segment, name: "beta")
        ruleBased.rules = [EntityRule(name: "ids", conditions: [EntityCondition(type: "unit_id", operator: "any", targetValue: ["u1"])])]
        var idList = Entity(kind: .segment, name: "vips")
        idList.segmentType = "id_list"
        idList.idList = "vip_list"
        var prefixed = Entity(kind: .segment, name: "segment:already")
        prefixed.rules = []
        var gate = Entity(kind: .gate, name: "uses_segments")
        gate.rules = [EntityRule(name: "r", conditions: [
            EntityCondition(type: "passes_segment", targetValue: "beta"), EntityCondition(type: "passes_segment", targetValue: "vips"),
        ])]
        let out = SpecCompiler(environment: nil).compile([ruleBased, idList, prefixed, gate])
        #expect(Set(out.gates.map(\.name)) == ["segment:beta", "segment:vips", "segment:already", "uses_segments"])
        let vipsSpec = out.gates.first(where: { $0.name == "segment:vips" })
        let vips = try #require(vipsSpec)
        #expect(vips.entity == "segment")
        #expect(vips.rules.map(\.id) == ["id_list"])
        #expect(vips.rules[0].conditions[0].operator == "in_segment_list")
        #expect(vips.rules[0].conditions[0].targetValue == "vip_list")
        let ev = Evaluator(rules: ruleSet(out, idLists: ["vip_list": [StatsigHash.idListEntry("u1"), StatsigHash.idListEntry("u2")]]))
        let u1 = ev.checkGate(StatsigUser(userID: "u1"), "uses_segments")
        #expect(u1.value == true)
        // Segment exposures are dropped.
        #expect(u1.secondaryExposures.isEmpty)
        #expect(ev.checkGate(StatsigUser(userID: "u2"), "uses_segments").value == false)
    }

    @Test func dynamicConfigValues() throws {
        var c = Entity(kind: .dynamicConfig, name: "cfg")
        c.defaultValue = ["color": "blue"]
        c.rules = [
            EntityRule(name: "red", conditions: [EntityCondition(type: "email", operator: "str_ends_with_any", targetValue: ["@x.com"])],
                       returnValue: ["color": "red"]),
            EntityRule(name: "no value", conditions: [EntityCondition(type: "custom_field", operator: "eq", targetValue: 1, field: "n")]),
        ]
        var bare = Entity(kind: .dynamicConfig, name: "bare")
        bare.rules = []
        let out = SpecCompiler(environment: nil).compile([c, bare])
        let ev = Evaluator(rules: ruleSet(out))
        #expect(ev.getConfig(StatsigUser(userID: "u1", email: "a@x.com"), "cfg").jsonValue == ["color": "red"])
        // A rule without returnValue serves the default value.
        #expect(ev.getConfig(StatsigUser(userID: "u1", custom: ["n": 1]), "cfg").jsonValue == ["color": "blue"])
        #expect(ev.getConfig(StatsigUser(userID: "u1", custom: ["n": 1]), "cfg").ruleID == "cfg:rule:1")
        #expect(ev.getConfig(StatsigUser(userID: "u1"), "cfg").ruleID == "default")
        // No default value: {}.
        #expect(ev.getConfig(StatsigUser(userID: "u1"), "bare").jsonValue == .object([:]))
    }

    @Test func disabledEntitiesCompileDisabled() throws {
        var g = Entity(kind: .gate, name: "g")
        g.isEnabled = false
        g.rules = [EntityRule(name: "all", conditions: [])]
        let out = SpecCompiler(environment: nil).compile([g])
        let r = Evaluator(rules: ruleSet(out)).checkGate(StatsigUser(userID: "u1"), "g")
        #expect(r.value == false)
        #expect(r.ruleID == "disabled")
    }
}

@Suite("StatsigImport")
struct StatsigImportTests {
    /// Import the conformance fixture's document, compile it back for an all-environments key and
    /// require every user to get the same result from both rule sets.
    @Test func importThenCompileEvaluatesIdentically() throws {
        let f = try ConformanceFixture.loaded.get()
        let imported = try StatsigImport(document: f.dcs)
        // The deliberately unsupported specs are skipped, with the reason.
        #expect(Set(imported.skipped.map(\.name)) == ["unsupported_op", "unsupported_type", "unsupported_config"])
        let reasonsSayUnsupported = imported.skipped.allSatisfy { $0.reason.contains("unsupported") }
        #expect(reasonsSayUnsupported)
        let out = SpecCompiler(environment: nil).compile(imported.entities)
        let recompiled = RuleSet(
            time: f.rules.time, gates: out.gates, configs: out.configs, layers: out.layers,
            layerExperiments: out.layerExperiments, defaultEnvironment: f.rules.defaultEnvironment)
        #expect(recompiled.unsupported.isEmpty)
        let layerMembers = out.layerExperiments["layer_one"].map { Set($0) }
        #expect(layerMembers == ["exp_in_layer", "exp_in_layer_2"])
        let original = Evaluator(rules: f.rules)
        let again = Evaluator(rules: recompiled)
        let skipped = Set(imported.skipped.map(\.name))
        var compared = 0
        var mismatches: [String] = []
        for check in f.checks where !skipped.contains(check.name) {
            for (u, user) in f.users.enumerated() {
                let a = ConformanceFixture.compact(ConformanceFixture.evaluate(original, check.kind, check.name, user), kind: check.kind)
                let b = ConformanceFixture.compact(ConformanceFixture.evaluate(again, check.kind, check.name, user), kind: check.kind)
                compared += 1
                if a != b { mismatches.append("\(check) user \(u): \(a.serialized()) vs \(b.serialized())") }
            }
        }
        #expect(compared > 20_000)
        #expect(mismatches.isEmpty, "\(mismatches.count) differ, e.g.\n\(mismatches.prefix(5).joined(separator: "\n"))")
    }

    @Test func entitiesKeepKindsNamesAndSalts() throws {
        let f = try ConformanceFixture.loaded.get()
        let imported = try StatsigImport(document: f.dcs)
        func entity(_ name: String) -> Entity? { imported.entities.first { $0.name == name } }
        #expect(entity("beta")?.kind == .segment)
        #expect(entity("segment:beta") == nil)
        #expect(entity("rollout_50")?.kind == .gate)
        #expect(entity("rollout_50")?.salt == "rollout-salt-50")
        #expect(entity("simple_config")?.kind == .dynamicConfig)
        #expect(entity("targeted_experiment")?.kind == .experiment)
        #expect(entity("targeted_experiment")?.status == .active)
        #expect(entity("inactive_experiment")?.status == .setup)
        #expect(entity("exp_in_layer")?.layer == "layer_one")
        #expect(entity("layer_one")?.kind == .layer)
        #expect(entity("disabled_gate")?.isEnabled == false)
        let allImported = imported.entities.allSatisfy { $0.imported == true }
        #expect(allImported)
        #expect(entity("rollout_50")?.rules?.first?.salt == "half-salt")
    }

    @Test func rejectsDocumentsThatAreNotRuleSets() {
        #expect(throws: SpecFormatError.self) { try StatsigImport(document: .array([])) }
        #expect(throws: SpecFormatError.self) { try StatsigImport(document: ["has_updates": true]) }
        #expect(throws: SpecFormatError.self) { try StatsigImport(document: ["feature_gates": ["name": "x"]]) }
    }

    @Test func skipsSpecsItCannotRead() throws {
        let doc: JSONValue = [
            "feature_gates": [
                ["type": "feature_gate", "salt": "s", "rules": []],
                ["name": "bad_pct", "rules": [["id": "r", "passPercentage": 150, "conditions": []]]],
                ["name": "ok", "salt": "s", "enabled": true, "rules": []],
            ],
        ]
        let imported = try StatsigImport(document: doc)
        #expect(imported.entities.map(\.name) == ["ok"])
        #expect(imported.skipped.map(\.name) == ["?", "bad_pct"])
    }
}

@Suite("Validation")
struct ValidationTests {
    @Test(arguments: ["ab", "my_gate", "Gate-1.0 beta", String(repeating: "x", count: 100), "A_b-c.d e"])
    func acceptsNames(_ name: String) throws {
        try Validation.checkName(name)
    }

    @Test(arguments: ["", "a", String(repeating: "x", count: 101), "a/b", "café", "tab\there", "emoji😀", "semi;colon"])
    func rejectsNames(_ name: String) {
        #expect(throws: ValidationError.self) { try Validation.checkName(name) }
    }

    @Test func nameErrorsSayWhatIsWrong() {
        do {
            try Validation.checkName("a", what: "layer name")
            Issue.record("no error")
        } catch let e as ValidationError {
            #expect(e.description == "layer name must be 2 to 100 characters long (got 1)")
        } catch {
            Issue.record("unexpected \(error)")
        }
        do {
            try Validation.checkName("a/b")
            Issue.record("no error")
        } catch let e as ValidationError {
            #expect(e.description.contains("contains '/'"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func conditions() throws {
        func check(_ c: EntityCondition) throws { try Validation.check(condition: c, at: "c") }
        try check(EntityCondition(type: "public"))
        try check(EntityCondition(type: "passes_gate", targetValue: "g"))
        try check(EntityCondition(type: "multi_pass_gate", targetValue: ["a", "b"]))
        try check(EntityCondition(type: "user_field", operator: "any", targetValue: ["a"], field: "plan"))
        try check(EntityCondition(type: "email", operator: "str_ends_with_any", targetValue: ["@x.com"]))
        try check(EntityCondition(type: "user_bucket", operator: "lt", targetValue: 500, additionalValues: ["salt": "s"]))
        try check(EntityCondition(type: "unit_id", operator: "in_segment_list", targetValue: "vips"))
        #expect(throws: ValidationError.self) { try check(EntityCondition(type: "nope", operator: "any", targetValue: ["a"])) }
        #expect(throws: ValidationError.self) { try check(EntityCondition(type: "pass_gate")) }
        #expect(throws: ValidationError.self) { try check(EntityCondition(type: "pass_gate", targetValue: ["a"])) }
        #expect(throws: ValidationError.self) { try check(EntityCondition(type: "user_field", targetValue: ["a"], field: "f")) }
        #expect(throws: ValidationError.self) { try check(EntityCondition(type: "user_field", operator: "between", targetValue: ["a"], field: "f")) }
        #expect(throws: ValidationError.self) { try check(EntityCondition(type: "user_field", operator: "any", targetValue: "a", field: "f")) }
        #expect(throws: ValidationError.self) { try check(EntityCondition(type: "user_field", operator: "any", targetValue: ["a"])) }
        #expect(throws: ValidationError.self) { try check(EntityCondition(type: "unit_id", operator: "in_segment_list", targetValue: ["vips"])) }
    }

    /// Found by Fuzz/ (validation target): a gate or segment condition, which needs no operator,
    /// was accepted with an unknown one; compiled, the operator made the whole spec unsupported,
    /// so SDKs silently stopped receiving the entity.
    @Test(arguments: ["public", "passes_gate", "fails_segment", "pass_gate", "multi_fail_gate"])
    func unknownOperatorsAreRefusedOnEveryConditionType(_ type: String) throws {
        let target: JSONValue = type.hasPrefix("multi") ? ["g1"] : "g1"
        for junk in ["an9", "between", ""] {
            #expect(throws: ValidationError.self, "\(type) \(junk)") {
                try Validation.check(condition: EntityCondition(type: type, operator: junk, targetValue: target), at: "c")
            }
        }
        // Known operators stay accepted (the SDK ignores them on these types), and every entity the
        // validation accepts compiles without unsupported specs.
        for op in [nil, "any", "EQ"] as [String?] {
            let condition = EntityCondition(type: type, operator: op, targetValue: target)
            try Validation.check(condition: condition, at: "c")
            var config = Entity(kind: .dynamicConfig, name: "cfg_theme")
            config.rules = [EntityRule(id: "r", name: "r", conditions: [condition])]
            try Validation.check(entity: config, environments: [])
            let out = SpecCompiler(environment: nil).compile([config])
            let rules = RuleSet(time: 0, gates: out.gates, configs: out.configs, layers: out.layers)
            #expect(rules.unsupported.isEmpty, "\(type) \(op ?? "nil")")
        }
    }

    @Test func entities() throws {
        var gate = Entity(kind: .gate, name: "g1")
        gate.rules = [EntityRule(name: "r", conditions: [], environments: ["staging"])]
        try Validation.check(entity: gate, environments: ["production", "staging"])
        #expect(throws: ValidationError.self) { try Validation.check(entity: gate, environments: ["production"]) }
        gate.rules = [EntityRule(name: "r", passPercentage: 101, conditions: [])]
        #expect(throws: ValidationError.self) { try Validation.check(entity: gate, environments: []) }

        var exp = Entity(kind: .experiment, name: "e1")
        exp.groups = [ExperimentGroup(name: "a", size: 50), ExperimentGroup(name: "b", size: 50)]
        try Validation.check(entity: exp, environments: [])
        exp.groups = [ExperimentGroup(name: "a", size: 50), ExperimentGroup(name: "b", size: 40)]
        #expect(throws: ValidationError.self) { try Validation.check(entity: exp, environments: []) }
        exp.groups = [ExperimentGroup(name: "a", size: 50), ExperimentGroup(name: "a", size: 50)]
        #expect(throws: ValidationError.self) { try Validation.check(entity: exp, environments: []) }
        exp.groups = [ExperimentGroup(name: "a", size: 100)]
        exp.allocation = 120
        #expect(throws: ValidationError.self) { try Validation.check(entity: exp, environments: []) }

        var config = Entity(kind: .dynamicConfig, name: "c1")
        config.defaultValue = .array([])
        #expect(throws: ValidationError.self) { try Validation.check(entity: config, environments: []) }

        var segment = Entity(kind: .segment, name: "s1")
        segment.segmentType = "magic"
        #expect(throws: ValidationError.self) { try Validation.check(entity: segment, environments: []) }
    }
}
