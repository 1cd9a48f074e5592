import Testing
import VaneCore

@Suite("JSON diff")
struct JSONDiffTests {
    @Test func namesEachChangedFieldByPath() throws {
        let before = try JSONValue.parse(#"{"name":"g","version":3,"isEnabled":true,"rules":[{"passPercentage":50,"conditions":[{"type":"public"}]}],"tags":["a"]}"#)
        let after = try JSONValue.parse(#"{"name":"g","version":4,"isEnabled":true,"rules":[{"passPercentage":0,"conditions":[{"type":"public"}]},{"passPercentage":100}],"description":"d"}"#)
        let changes = JSONDiff.changes(before, after)
        #expect(changes.map(\.path) == ["description", "rules[0].passPercentage", "rules[1]", "tags"])
        #expect(changes[0].before == nil && changes[0].after == "d")
        #expect(changes[1].before == 50 && changes[1].after == 0)
        #expect(changes[2].before == nil && changes[2].after?["passPercentage"] == 100)
        #expect(changes[3].before == ["a"] && changes[3].after == nil)
    }

    @Test func sameNumbersAndBookkeepingAreNotChanges() throws {
        let a = try JSONValue.parse(#"{"size":50,"lastModifiedTime":1,"nested":{"version":1}}"#)
        let b = try JSONValue.parse(#"{"size":50.0,"lastModifiedTime":2,"nested":{"version":2}}"#)
        // Bookkeeping is skipped at the top level only: a field of that name inside a value is data.
        #expect(JSONDiff.changes(a, b).map(\.path) == ["nested.version"])
        #expect(JSONDiff.changes(nil, nil).isEmpty)
        #expect(JSONDiff.changes(nil, "x").map(\.path) == ["(whole value)"])
        let many = JSONValue.array((0..<500).map { .int(Int64($0)) })
        #expect(JSONDiff.changes(.array([]), many, limit: 10).count == 10)
    }
}
