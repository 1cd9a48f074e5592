import Testing
@testable import VaneCore

/// The evaluation algorithm around the conditions: rule order, rollouts, results, exposures and
/// layers. Bucket numbers in comments were computed with the SDK's hash (statsig.utils.sha256_hash).
@Suite("Evaluator")
struct EvaluatorTests {
    let u1 = StatsigUser(userID: "u1")
    let u2 = StatsigUser(userID: "u2")

    // MARK: Unknown, unsupported, disabled, default

    @Test func unknownNamesAreUnrecognized() {
        let ev = Build.evaluator(gates: [Build.gate("a_gate", [Build.rule("r")])])
        let g = ev.checkGate(u1, "nope")
        #expect(g.value == false)
        #expect(g.ruleID == "")
        #expect(g.reason == .unrecognized)
        #expect(g.secondaryExposures.isEmpty)
        let c = ev.getConfig(u1, "nope")
        #expect(c.jsonValue == .object([:]))
        #expect(c.ruleID == "")
        #expect(c.reason == .unrecognized)
        let l = ev.getLayer(u1, "nope")
        #expect(l.jsonValue == .object([:]))
        #expect(l.reason == .unrecognized)
        // Gates, configs and layers are separate tables.
        #expect(ev.getConfig(u1, "a_gate").reason == .unrecognized)
        #expect(ev.checkGate(u1, "a_gate").reason == .network)
    }

    @Test func namesAreFoundByteForByteAmongManySpecs() {
        // 600 gates and configs fill the evaluator's index well past its first size; every name
        // is found in its own table only, and a name is matched byte for byte, as the SDK's
        // dictionaries match it: the decomposed spelling of "café" is another name. Names around
        // the index hash's 8-byte words, and one that differs from another only by a trailing NUL.
        let words = ["abcdefg", "abcdefg\u{0}", "abcdefgh", "abcdefghi", "abcdefghijklmno", "abcdefghijklmnop", "abcdefghijklmnopq"]
        let names = (0..<300).map { "spec_\($0)" } + ["café", "", "x.y/z ü"] + words
        let ev = Build.evaluator(
            gates: names.map { Build.gate($0, [Build.rule("gate_rule")]) },
            configs: names.map { Build.config($0, defaultValue: [:], [Build.rule("config_rule")]) })
        for name in names {
            #expect(ev.checkGate(u1, name).ruleID == "gate_rule", "gate \(name)")
            #expect(ev.getConfig(u1, name).ruleID == "config_rule", "config \(name)")
            #expect(ev.getLayer(u1, name).reason == .unrecognized, "layer \(name)")
        }
        #expect(ev.checkGate(u1, "cafe\u{301}").reason == .unrecognized)
        #expect(ev.checkGate(u1, "spec_300").reason == .unrecognized)
        #expect(ev.checkGate(u1, "spec_1 ").reason == .unrecognized)
        #expect(ev.checkGate(u1, "abcdefgh\u{0}").reason == .unrecognized)
        #expect(ev.checkGate(u1, "abcdefghijklmnopq\u{0}").reason == .unrecognized)
    }

    @Test func knownUserFieldsMatchAsCustomFieldsDo() {
        // A known field (email) is matched on its string directly; the same text in a custom
        // field goes through the general JSON path. Every operator must agree between the two.
        let ops = ["any", "none", "any_case_sensitive", "none_case_sensitive", "str_starts_with_any", "str_ends_with_any",
                   "str_contains_any", "str_contains_none", "version_gt", "version_gte", "version_lt", "version_lte",
                   "version_eq", "version_neq", "eq", "neq", "str_matches", "gt", "lte", "in_segment_list", "ANY"]
        let targets: [JSONValue] = [["Ab", "é", "1.2", "strasse"], "1.2.3", ["ß"], "x", [1, 2.5], "^a.*", .null, "list"]
        var gates: [Spec] = []
        for op in ops {
            for (t, target) in targets.enumerated() {
                gates.append(Build.gate("known \(op) \(t)", [Build.rule("r", [Build.field("email", op, target)])]))
                gates.append(Build.gate("custom \(op) \(t)", [Build.rule("r", [Build.field("mail", op, target)])]))
            }
        }
        let ev = Build.evaluator(gates: gates, idLists: ["list": [StatsigHash.idListEntry("ab"), StatsigHash.idListEntry("x")]])
        let values = ["ab", "AB", "Ab", "1.2.3", "1.10", "1.2.3-beta", "Straße", "STRASSE", "é", "e\u{301}", "x", "2.5", "aX", "ß"]
        var passed = 0
        for value in values {
            let user = StatsigUser(userID: "u", email: value, custom: ["mail": .string(value)])
            for op in ops {
                for t in targets.indices {
                    let known = ev.checkGate(user, "known \(op) \(t)").value
                    #expect(known == ev.checkGate(user, "custom \(op) \(t)").value, "\(op) target \(t) value \(value)")
                    if known { passed += 1 }
                }
            }
        }
        // Both outcomes occur, so the comparison is not between two constant answers.
        #expect(passed > 100 && passed < values.count * ops.count * targets.count - 100)
    }

    @Test func unsupportedOperatorOrTypeDropsTheWholeSpec() {
        let ev = Build.evaluator(gates: [
            Build.gate("bad_op", [Build.rule("ok_rule"), Build.rule("r", [Build.field("plan", "between", [1, 2])])]),
            Build.gate("bad_type", [Build.rule("r", [Build.condition("no_such_type", "any", ["x"])])]),
            Build.gate("ok", [Build.rule("r")]),
        ])
        #expect(Set(ev.rules.unsupported.map(\.name)) == ["bad_op", "bad_type"])
        #expect(ev.rules.spec("bad_op", kind: .gate) == nil)
        // Even though its first rule is fine, the spec is not evaluated at all.
        let bad = ev.checkGate(u1, "bad_op")
        #expect(bad.value == false)
        #expect(bad.ruleID == "")
        #expect(bad.reason == .unsupported)
        #expect(ev.checkGate(u1, "bad_type").reason == .unsupported)
        let ok = ev.checkGate(u1, "ok")
        #expect(ok.value == true)
        #expect(ok.reason == .network)
    }

    @Test func operatorsAndTypesAreRecognisedCaseInsensitively() {
        // The SDK lower-cases the operator for its support check and upper-cases the type.
        let ev = Build.evaluator(gates: [Build.gate("g", [Build.rule("r", [Build.condition("USER_FIELD", "any", ["a"], field: "x")])])])
        #expect(ev.rules.unsupported.isEmpty)
        #expect(ev.checkGate(StatsigUser(userID: "u1", custom: ["x": "a"]), "g").value)
    }

    @Test func disabledSpecsServeTheirDefault() {
        let ev = Build.evaluator(
            gates: [Build.gate("off", [Build.rule("r")], enabled: false)],
            configs: [Build.config("c", defaultValue: ["x": 1], [Build.rule("r", returnValue: ["x": 2])], enabled: false)])
        let g = ev.checkGate(u1, "off")
        #expect(g.value == false)
        #expect(g.ruleID == "disabled")
        #expect(g.reason == .network)
        let c = ev.getConfig(u1, "c")
        #expect(c.value == false)
        #expect(c.jsonValue == ["x": 1])
        #expect(c.ruleID == "disabled")
        #expect(c.groupName == nil)
    }

    @Test func noMatchingRuleIsDefault() {
        let ev = Build.evaluator(
            gates: [Build.gate("g", [Build.rule("pro", [Build.field("plan", "any", ["pro"])])]), Build.gate("empty", [])],
            configs: [Build.config("c", defaultValue: ["v": 0], [
                Build.rule("pro", [Build.field("plan", "any", ["pro"])], returnValue: ["v": 1], groupName: "G"),
            ])])
        let g = ev.checkGate(u1, "g")
        #expect(g.value == false)
        #expect(g.ruleID == "default")
        #expect(ev.checkGate(u1, "empty").ruleID == "default")
        let c = ev.getConfig(u1, "c")
        #expect(c.jsonValue == ["v": 0])
        #expect(c.ruleID == "default")
        #expect(c.groupName == nil)
        #expect(c.isExperimentGroup == false)
        let pro = ev.getConfig(StatsigUser(userID: "u1", custom: ["plan": "pro"]), "c")
        #expect(pro.value == true)
        #expect(pro.jsonValue == ["v": 1])
        #expect(pro.ruleID == "pro")
        #expect(pro.groupName == "G")
    }

    @Test func gateValueIsThePassNotTheReturnValue() {
        // For gates the SDK reports did_pass; the rule's returnValue is not looked at.
        let ev = Build.evaluator(gates: [Build.gate("g", [Build.rule("r", returnValue: .bool(false))])])
        #expect(ev.checkGate(u1, "g").value == true)
    }

    @Test func resultCarriesIdTypeAndVersion() {
        var spec = Build.gate("g", [Build.rule("r")], version: 7)
        spec.idType = "stableID"
        let ev = Build.evaluator(gates: [spec])
        let r = ev.checkGate(u1, "g")
        #expect(r.idType == "stableID")
        #expect(r.version == 7)
    }

    @Test func nestedGateVersionShowsThroughWhenTheOuterHasNone() {
        // The SDK sets version only from specs that have one, on the shared result: a nested gate's
        // version stays when the outer spec has none.
        let ev = Build.evaluator(gates: [
            Build.gate("inner", [Build.rule("ir")], version: 3),
            Build.gate("outer", [Build.rule("or", [Build.passGate("inner")])]),
        ])
        #expect(ev.checkGate(u1, "outer").version == 3)
    }

    // MARK: Rule order and rollouts

    @Test func rolloutMatchesTheReferenceHash() {
        // From the oracle's offline run (statsig 0.72.1): rollout_50 with salts gate-salt-1 / rule_half
        // is false for user-1 and user-2, true for user-3.
        let ev = Build.evaluator(gates: [
            Build.gate("rollout_50", [Build.rule("rule_half", pct: 50, salt: "rule_half")], salt: "gate-salt-1")
        ])
        #expect(ev.checkGate(StatsigUser(userID: "user-1"), "rollout_50").value == false)
        #expect(ev.checkGate(StatsigUser(userID: "user-2"), "rollout_50").value == false)
        #expect(ev.checkGate(StatsigUser(userID: "user-3"), "rollout_50").value == true)
        #expect(ev.checkGate(StatsigUser(userID: "user-1"), "rollout_50").ruleID == "rule_half")
    }

    @Test func missingUnitIDHashesAsEmptyString() {
        // hash("rs.half-salt.") % 10000 == 3424: passes below 34.245 %, fails at 34.235 %.
        func ev(_ pct: Double, idType: String = "userID") -> Evaluator {
            Build.evaluator(gates: [Build.gate("g", [Build.rule("half", pct: pct, salt: "half-salt", idType: idType)], salt: "rs")])
        }
        let noUserID = StatsigUser(customIDs: ["stableID": "s1"])
        #expect(ev(34.245).checkGate(noUserID, "g").value == true)
        #expect(ev(34.235).checkGate(noUserID, "g").value == false)
        #expect(ev(34.245).checkGate(StatsigUser(userID: ""), "g").value == true)
        // The rule's idType picks the unit: u1 has no stableID, so it hashes as "" too.
        #expect(ev(34.245, idType: "stableID").checkGate(u1, "g").value == true)
        #expect(ev(34.235, idType: "stableID").checkGate(u1, "g").value == false)
    }

    @Test func passPercentageZeroAndHundred() {
        let ev = Build.evaluator(gates: [
            Build.gate("all", [Build.rule("r", pct: 100)]), Build.gate("none", [Build.rule("r", pct: 0)]),
        ])
        for i in 0..<200 {
            let user = StatsigUser(userID: "user-\(i)")
            #expect(ev.checkGate(user, "all").value == true)
            #expect(ev.checkGate(user, "none").value == false)
            #expect(ev.checkGate(user, "none").ruleID == "r")
        }
    }

    @Test func firstMatchingRuleDecidesEvenWhenItsRolloutFails() {
        // hash("nf-salt.first.u1") % 10000 == 2850 (< 3000: passes); for u3 it is 3016 (fails).
        let ev = Build.evaluator(gates: [
            Build.gate("nf", [Build.rule("first", pct: 30), Build.rule("second", pct: 100)], salt: "nf-salt")
        ])
        let pass = ev.checkGate(u1, "nf")
        #expect(pass.value == true)
        #expect(pass.ruleID == "first")
        let fail = ev.checkGate(StatsigUser(userID: "u3"), "nf")
        #expect(fail.value == false)
        #expect(fail.ruleID == "first")  // no fall-through to "second"
    }

    @Test func failedRolloutKeepsTheRuleButServesTheDefault() {
        let ev = Build.evaluator(configs: [
            Build.config("c", defaultValue: ["v": 0], [
                Build.rule("grp", pct: 0, returnValue: ["v": 1], groupName: "G", isExperimentGroup: true)
            ])
        ])
        let r = ev.getConfig(u1, "c")
        #expect(r.value == false)
        #expect(r.jsonValue == ["v": 0])
        #expect(r.ruleID == "grp")
        #expect(r.groupName == "G")
        #expect(r.isExperimentGroup == true)
    }

    @Test func allConditionsOfARuleMustHold() {
        let ev = Build.evaluator(gates: [
            Build.gate("g", [Build.rule("both", [Build.field("a", "eq", 1), Build.field("b", "eq", 2)])])
        ])
        #expect(ev.checkGate(StatsigUser(userID: "u1", custom: ["a": 1, "b": 2]), "g").value)
        #expect(!ev.checkGate(StatsigUser(userID: "u1", custom: ["a": 1, "b": 3]), "g").value)
        #expect(!ev.checkGate(StatsigUser(userID: "u1", custom: ["a": 0, "b": 2]), "g").value)
    }

    // MARK: Gate dependencies and secondary exposures

    /// inner: passes. off: never matches. segment:beta: u1 only. middle: inner and segment:beta.
    /// outer: middle, not off, and inner again.
    var dependencyRules: Evaluator {
        Build.evaluator(gates: [
            Build.gate("inner", [Build.rule("inner_rule")]),
            Build.gate("off", [Build.rule("off_rule", [Build.field("plan", "any", ["never"])])]),
            Build.gate("segment:beta", [Build.rule("beta_ids", [Build.condition("unit_id", "any", ["u1"])])], entity: "segment"),
            Build.gate("middle", [Build.rule("m1", [Build.passGate("inner"), Build.passGate("segment:beta")])]),
            Build.gate("outer", [Build.rule("o1", [Build.passGate("middle"), Build.failGate("off"), Build.passGate("inner")])]),
            Build.gate("on", [Build.rule("on_rule", [Build.passGate("inner")])]),
            Build.gate("multi", [Build.rule("mr", [Build.condition("multi_pass_gate", nil, ["off", "on", "inner"])])]),
            Build.gate("multi_fail", [Build.rule("mf", [Build.condition("multi_fail_gate", nil, ["inner", "off", "on"])])]),
            Build.gate("multi_empty", [Build.rule("me", [Build.condition("multi_pass_gate", nil, [])])]),
            Build.gate("multi_none_pass", [Build.rule("mn", [Build.condition("multi_pass_gate", nil, ["off"])])]),
            Build.gate("ghost_dep", [Build.rule("gd", [Build.passGate("ghost")])]),
            Build.gate("disabled", [Build.rule("dr")], enabled: false),
            Build.gate("not_disabled", [Build.rule("nd", [Build.failGate("disabled")])]),
        ])
    }

    @Test func exposuresAreNestedFirstDedupedAndWithoutSegments() {
        // Recorded in order: inner, segment:beta (inside middle), middle, off, inner (again);
        // segment:beta is dropped and the second inner is a duplicate.
        let r = dependencyRules.checkGate(u1, "outer")
        #expect(r.value == true)
        #expect(r.ruleID == "o1")
        #expect(r.secondaryExposures == [
            Build.exposure("inner", true, "inner_rule"), Build.exposure("middle", true, "m1"),
            Build.exposure("off", false, "default"),
        ])
    }

    @Test func failingDependencyRecordsItsDefaultRule() {
        // u2 is not in segment:beta, so middle fails on its default rule; every condition still runs.
        let r = dependencyRules.checkGate(u2, "outer")
        #expect(r.value == false)
        #expect(r.ruleID == "default")
        #expect(r.secondaryExposures == [
            Build.exposure("inner", true, "inner_rule"), Build.exposure("middle", false, "default"),
            Build.exposure("off", false, "default"),
        ])
    }

    @Test func segmentGateItselfHasNoSegmentExposures() {
        let r = dependencyRules.checkGate(u1, "middle")
        #expect(r.secondaryExposures == [Build.exposure("inner", true, "inner_rule")])
        #expect(dependencyRules.checkGate(u1, "segment:beta").value == true)
    }

    @Test func multiPassGateStopsAtTheFirstPassAndKeepsTopLevelEntriesOnly() {
        // off fails, on passes (its own exposure of inner is not copied), inner is never evaluated.
        let r = dependencyRules.checkGate(u1, "multi")
        #expect(r.value == true)
        #expect(r.secondaryExposures == [Build.exposure("off", false, "default"), Build.exposure("on", true, "on_rule")])
    }

    @Test func multiFailGateStopsAtTheFirstFailure() {
        let r = dependencyRules.checkGate(u1, "multi_fail")
        #expect(r.value == true)
        #expect(r.secondaryExposures == [Build.exposure("inner", true, "inner_rule"), Build.exposure("off", false, "default")])
    }

    @Test func multiGateEdgeCases() {
        let empty = dependencyRules.checkGate(u1, "multi_empty")
        #expect(empty.value == false)
        #expect(empty.secondaryExposures.isEmpty)
        let nonePass = dependencyRules.checkGate(u1, "multi_none_pass")
        #expect(nonePass.value == false)
        #expect(nonePass.secondaryExposures == [Build.exposure("off", false, "default")])
    }

    @Test func unknownAndDisabledDependencies() {
        // An unknown gate evaluates to false with rule id "".
        let ghost = dependencyRules.checkGate(u1, "ghost_dep")
        #expect(ghost.value == false)
        #expect(ghost.secondaryExposures == [Build.exposure("ghost", false, "")])
        let disabled = dependencyRules.checkGate(u1, "not_disabled")
        #expect(disabled.value == true)
        #expect(disabled.secondaryExposures == [Build.exposure("disabled", false, "disabled")])
    }

    @Test func gateCyclesTerminate() {
        // The SDK hits Python's recursion limit and its error boundary answers false; Vane stops at a depth limit.
        let ev = Build.evaluator(gates: [
            Build.gate("a", [Build.rule("ra", [Build.passGate("b")])]),
            Build.gate("b", [Build.rule("rb", [Build.passGate("a")])]),
        ])
        #expect(ev.checkGate(u1, "a").value == false)
    }

    /// Found by Fuzz/ (statsig target): gates that name a gate more than once branch at every
    /// level, so the depth limit alone allowed 2^64 nested evaluations: one check_gate or
    /// initialize never returned. The evaluation budget bounds the work whatever the rules.
    @Test(.timeLimit(.minutes(1))) func branchingGateReferencesStayBounded() {
        let multi = Build.condition("multi_pass_gate", nil, ["self_ref", "diamond0", "multi"])
        var gates = [
            Build.gate("self_ref", [Build.rule("twice", [Build.passGate("self_ref"), Build.failGate("self_ref")]),
                                    Build.rule("again", [Build.passGate("self_ref")])]),
            Build.gate("multi", [Build.rule("m", [multi, multi])]),
        ]
        // A diamond chain without cycles: every gate names the next one twice (2^40 paths).
        for i in 0..<40 {
            gates.append(Build.gate("diamond\(i)", [Build.rule("d\(i)", [Build.passGate("diamond\(i + 1)"), Build.passGate("diamond\(i + 1)")])]))
        }
        gates.append(Build.gate("diamond40", [Build.rule("end")]))
        let ev = Build.evaluator(gates: gates)
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            // Past the budget nested gates count as unrecognized (false), as past the depth limit,
            // so even the cycle-free diamond answers false.
            for name in ["self_ref", "multi", "diamond0"] {
                let r = ev.checkGate(u1, name)
                #expect(r.value == false, "\(name)")
                #expect(r.secondaryExposures.count <= Evaluator.maxEvaluations)
            }
            _ = ClientInitializeFormatter(evaluator: ev, hashing: .djb2).responseBytes(for: u1)
        }
        #expect(elapsed < .seconds(20))
        // Within the budget, nesting works as before: a chain of 30 gates passes end to end.
        var chain = (0..<30).map { Build.gate("c\($0)", [Build.rule("c\($0)", [Build.passGate("c\($0 + 1)")])]) }
        chain.append(Build.gate("c30", [Build.rule("last")]))
        #expect(Build.evaluator(gates: chain).checkGate(u1, "c0").value == true)
    }

    // MARK: Layers

    var layerRules: Evaluator {
        Build.evaluator(
            gates: [
                Build.gate("inner", [Build.rule("inner_rule")]),
                Build.gate("g2", [Build.rule("g2_rule", [Build.field("plan", "any", ["pro"])])]),
            ],
            configs: [
                Build.config("exp", defaultValue: ["p": "exp-default"], [
                    Build.rule("grp", [Build.passGate("g2")], returnValue: ["p": "exp"], groupName: "Test", isExperimentGroup: true)
                ], entity: "experiment", isActive: true, explicitParameters: ["p"])
            ],
            layers: [
                Build.config("L", defaultValue: ["p": "layer", "q": 1], [
                    Build.rule("toExp", [Build.passGate("inner")], returnValue: [:], configDelegate: "exp")
                ], entity: "layer", explicitParameters: []),
                Build.config("L2", defaultValue: ["p": "d"], [
                    Build.rule("toMissing", returnValue: ["p": "l2"], configDelegate: "ghost")
                ], entity: "layer", explicitParameters: []),
                Build.config("L3", defaultValue: ["p": "d3"], [], entity: "layer"),
            ],
            layerExperiments: ["L": ["exp"]])
    }

    @Test func layerDelegatesToItsExperiment() {
        let pro = StatsigUser(userID: "u1", custom: ["plan": "pro"])
        let r = layerRules.getLayer(pro, "L")
        #expect(r.value == true)
        // The experiment's value, not merged with the layer's defaults (the SDK does not merge).
        #expect(r.jsonValue == ["p": "exp"])
        #expect(r.ruleID == "grp")
        #expect(r.groupName == "Test")
        #expect(r.isExperimentGroup == true)
        #expect(r.allocatedExperiment == "exp")
        #expect(r.explicitParameters == ["p"])
        #expect(r.secondaryExposures == [Build.exposure("inner", true, "inner_rule"), Build.exposure("g2", true, "g2_rule")])
        // Before delegation only the layer's own condition had been recorded.
        #expect(r.undelegatedSecondaryExposures == [Build.exposure("inner", true, "inner_rule")])
    }

    @Test func layerDelegateThatFailsServesTheExperimentDefault() {
        let r = layerRules.getLayer(u1, "L")
        #expect(r.value == false)
        #expect(r.jsonValue == ["p": "exp-default"])
        #expect(r.ruleID == "default")
        #expect(r.groupName == nil)
        #expect(r.allocatedExperiment == "exp")
        #expect(r.secondaryExposures == [Build.exposure("inner", true, "inner_rule"), Build.exposure("g2", false, "default")])
        #expect(r.undelegatedSecondaryExposures == [Build.exposure("inner", true, "inner_rule")])
    }

    @Test func experimentAloneHasOnlyItsOwnExposures() {
        let r = layerRules.getConfig(StatsigUser(userID: "u1", custom: ["plan": "pro"]), "exp")
        #expect(r.jsonValue == ["p": "exp"])
        #expect(r.secondaryExposures == [Build.exposure("g2", true, "g2_rule")])
        #expect(r.allocatedExperiment == nil)
    }

    @Test func missingDelegateFallsBackToTheLayerRule() {
        let r = layerRules.getLayer(u1, "L2")
        #expect(r.value == true)
        #expect(r.jsonValue == ["p": "l2"])
        #expect(r.ruleID == "toMissing")
        #expect(r.allocatedExperiment == nil)
        #expect(r.explicitParameters == [])
        #expect(r.undelegatedSecondaryExposures == r.secondaryExposures)
    }

    @Test func layerWithoutRulesServesItsDefault() {
        let r = layerRules.getLayer(u1, "L3")
        #expect(r.jsonValue == ["p": "d3"])
        #expect(r.ruleID == "default")
        #expect(r.allocatedExperiment == nil)
    }

    // MARK: Environment

    @Test func defaultEnvironmentAppliesOnlyWithoutAUserTier() {
        let cond = Build.condition("environment_field", "any", ["production"], field: "tier")
        let ev = Build.evaluator(gates: [Build.gate("prod", [Build.rule("r", [cond])])], defaultEnvironment: "production")
        #expect(ev.checkGate(u1, "prod").value == true)
        #expect(ev.checkGate(StatsigUser(userID: "u1", statsigEnvironment: ["tier": "staging"]), "prod").value == false)
        let noDefault = Build.evaluator(gates: [Build.gate("prod", [Build.rule("r", [cond])])])
        #expect(noDefault.checkGate(u1, "prod").value == false)
    }
}
