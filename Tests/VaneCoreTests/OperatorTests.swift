import Testing
@testable import VaneCore

/// One operator check: `user_field "x" <op> <target>` for a user whose custom `x` is `value`
/// (nil: the user has no `x`). The tables live in OperatorCases.swift, generated from the SDK.
struct OperatorCase: Sendable, CustomStringConvertible {
    let op: String
    let target: JSONValue
    let value: JSONValue?
    let expected: Bool
    let note: String

    init(_ op: String, _ target: JSONValue, _ value: JSONValue?, _ expected: Bool, _ note: String) {
        self.op = op
        self.target = target
        self.value = value
        self.expected = expected
        self.note = note
    }

    var description: String {
        "\(op) \(target.serialized()) for \(value?.serialized() ?? "<missing>"): \(note)"
    }

    var user: StatsigUser {
        var custom: [String: JSONValue] = [:]
        if let value { custom["x"] = value }
        return StatsigUser(userID: "u1", custom: custom)
    }

    func evaluate() -> Bool {
        Build.passes(Build.field("x", op, target), user)
    }
}

@Suite("Operators, against the Python SDK")
struct OperatorTests {
    @Test("Each operator case gives the SDK's answer", arguments: OperatorCase.sdkCases)
    func matchesPythonSDK(_ c: OperatorCase) {
        #expect(c.evaluate() == c.expected, "\(c)")
    }

    /// Where the SDK raises (and reports rule_id "error"), Vane answers false (docs/evaluation.md).
    @Test("False where the SDK raises", arguments: OperatorCase.sdkRaisingCases)
    func falseWhereSDKRaises(_ c: OperatorCase) {
        #expect(c.evaluate() == false, "\(c)")
    }

    @Test func everyOperatorHasCases() {
        let covered = Set(OperatorCase.sdkCases.map(\.op))
        for op in ConditionOperator.allCases {
            #expect(covered.contains(op.rawValue), "no SDK case for \(op.rawValue)")
        }
        #expect(OperatorCase.sdkCases.count > 150)
    }
}

/// The two places Vane deliberately differs from the SDK: instead of raising (rule_id "error"),
/// the condition is simply false, so evaluation goes on to the next rule.
@Suite("Deliberate differences from the Python SDK")
struct DeliberateDifferenceTests {
    @Test(arguments: ["gt", "gte", "lt", "lte"])
    func nonNumericStringIsFalseNotAnError(op: String) {
        // float("abc") raises in Python; in Vane the rule does not match and the next one decides.
        let ev = Build.evaluator(gates: [
            Build.gate("g", [
                Build.rule("numeric", [Build.field("age", op, .int(18))]),
                Build.rule("fallback", [Condition.public], pct: 100),
            ])
        ])
        let r = ev.checkGate(StatsigUser(userID: "u1", custom: ["age": .string("abc")]), "g")
        #expect(r.value == true)
        #expect(r.ruleID == "fallback")
        // And with no later rule: the default, not "error".
        let single = Build.evaluator(gates: [Build.gate("g", [Build.rule("numeric", [Build.field("age", op, .int(18))])])])
        let s = single.checkGate(StatsigUser(userID: "u1", custom: ["age": .string("abc")]), "g")
        #expect(s.value == false)
        #expect(s.ruleID == "default")
    }

    @Test func nonNumericTargetIsFalse() {
        // float("abc") on the target raises in Python too.
        #expect(!Build.passes(Build.field("age", "gt", .string("abc")), StatsigUser(userID: "u1", custom: ["age": 19])))
    }

    @Test(arguments: ["before", "after", "on"])
    func isoDateStringIsFalseNotAnError(op: String) {
        // int("2023-11-14T00:00:00Z") raises in Python, on either side.
        let iso: JSONValue = .string("2023-11-14T00:00:00Z")
        #expect(!Build.passes(Build.field("ts", op, .int(1_700_000_000)), StatsigUser(userID: "u1", custom: ["ts": iso])))
        #expect(!Build.passes(Build.field("ts", op, iso), StatsigUser(userID: "u1", custom: ["ts": .int(1_700_000_000)])))
        // The negation is not true either: the condition itself is false, whatever the operator.
        let ev = Build.evaluator(gates: [Build.gate("g", [Build.rule("dates", [Build.field("ts", op, iso)])])])
        #expect(ev.checkGate(StatsigUser(userID: "u1", custom: ["ts": 1]), "g").ruleID == "default")
    }
}
