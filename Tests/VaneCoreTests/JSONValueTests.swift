import Foundation
import Testing
@testable import VaneCore

@Suite("JSONValue parsing and serialisation")
struct JSONValueTests {
    private func parse(_ s: String) throws -> JSONValue { try JSONValue.parse(s) }

    private func fails(_ s: String, _ comment: Comment? = nil) {
        #expect(throws: JSONParseError.self, comment) { try JSONValue.parse(s) }
    }

    // MARK: Values

    @Test func parsesADocument() throws {
        let v = try parse(#"{"a": 1, "b": [true, false, null], "c": "x", "d": {"e": -2.5}}"#)
        #expect(v == .object([
            "a": .int(1), "b": .array([.bool(true), .bool(false), .null]), "c": .string("x"),
            "d": .object(["e": .double(-2.5)]),
        ]))
        #expect(v["a"] == .int(1))
        #expect(v["zz"] == nil)
        #expect(try parse(" \n\t{ } \r\n") == .object([:]))
        #expect(try parse("[]") == .array([]))
        #expect(try parse(#""""#) == .string(""))
    }

    @Test func integersAndDoublesStayDistinct() throws {
        // str(1) is "1" and str(1.0) is "1.0" in Python, so the parser keeps the difference.
        #expect(try parse("1") == .int(1))
        #expect(try parse("-0") == .int(0))
        #expect(try parse("1.0") == .double(1.0))
        #expect(try parse("1e2") == .double(100))
        #expect(try parse("1E+2") == .double(100))
        #expect(try parse("2.5e-3") == .double(0.0025))
        #expect(try parse("-0.0") == .double(-0.0))
        #expect(try parse("9223372036854775807") == .int(Int64.max))
        #expect(try parse("-9223372036854775808") == .int(Int64.min))
        // Beyond Int64 the number becomes a double.
        #expect(try parse("9223372036854775808") == .double(9_223_372_036_854_775_808.0))
    }

    @Test func stringEscapes() throws {
        #expect(try parse(#""a\"b\\c\/d\be\ff\ng\rh\ti""#) == .string("a\"b\\c/d\u{8}e\u{C}f\ng\rh\ti"))
        #expect(try parse(#""caf\u00e9 \u00E9""#) == .string("café é"))
        #expect(try parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try parse("\"raw é 😀\"") == .string("raw é 😀"))
        #expect(try parse(#""\u0000""#) == .string("\u{0}"))
    }

    @Test func badStrings() {
        fails(#""\x""#, "unknown escape")
        fails(#""\u12""#, "short unicode escape")
        fails(#""\u12G4""#, "non-hex digit")
        fails(#""\ud83d""#, "unpaired high surrogate")
        fails(#""\ud83dx""#, "high surrogate not followed by \\u")
        fails(#""\ud83d\u0041""#, "high surrogate followed by a non-surrogate")
        fails(#""\ude00""#, "lone low surrogate")
        fails("\"a\nb\"", "raw control character")
        fails(#""abc"#, "unterminated")
        fails(#""abc\"#, "unterminated after a backslash")
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0x22] as [UInt8]) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0x5C, 0x6E, 0xC3, 0x22] as [UInt8]) }
    }

    @Test func badNumbersAndLiterals() {
        for s in ["-", "1.", ".5", "1e", "1e+", "+1", "01", "0x10", "tru", "nul", "falsy", "NaN", "Infinity", "1.2.3"] {
            fails(s, "\(s)")
        }
    }

    @Test func badStructure() {
        for s in ["", "   ", "{", "[", "[1,]", "[1 2]", "{\"a\" 1}", "{a: 1}", "{\"a\": 1,}", "{\"a\": 1 \"b\": 2}", "]", "}"] {
            fails(s, "\(s)")
        }
    }

    @Test func trailingGarbageIsAnError() {
        for s in ["1 2", "{} x", "[]]", "truex", "\"a\"\"b\"", "null,"] {
            fails(s, "\(s)")
        }
    }

    @Test func errorsCarryTheByteOffset() {
        // "[1,]": the parser expects a value at byte 3 and finds ']'.
        do {
            _ = try JSONValue.parse("[1,]")
            Issue.record("no error")
        } catch let e as JSONParseError {
            #expect(e.offset == 3)
            #expect(e.description.hasPrefix("invalid JSON at byte 3"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func nestingIsLimitedTo128Levels() throws {
        // The top-level value is depth 0 and the limit refuses depth 128: 128 nested arrays parse, 129 do not.
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(throws: Never.self) { try JSONValue.parse(ok) }
        let tooDeep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        fails(tooDeep, "129 levels")
        let objects = String(repeating: #"{"a":"#, count: 200) + "1" + String(repeating: "}", count: 200)
        fails(objects, "200 levels of objects")
        // Hostile depth fails cleanly rather than exhausting the stack.
        fails(String(repeating: "[", count: 100_000), "100 000 levels")
    }

    @Test func parsesFromDataAndByteSlices() throws {
        let data = Data(#"{"k": [1, 2.5]}"#.utf8)
        #expect(try JSONValue.parse(data) == ["k": [.int(1), .double(2.5)]])
        let bytes = Array("xx[true]yy".utf8)
        #expect(try JSONValue.parse(bytes[2..<8]) == .array([.bool(true)]))
    }

    @Test func duplicateKeysKeepTheLastValue() throws {
        #expect(try parse(#"{"a": 1, "a": 2}"#) == ["a": 2])
    }

    // MARK: Serialisation

    @Test func serializesCompactlyWithSortedKeysOnRequest() {
        let v: JSONValue = ["b": 1, "a": [.bool(true), .null, "x"], "c": ["z": 1.5, "y": -2]]
        #expect(v.serialized(sortedKeys: true) == #"{"a":[true,null,"x"],"b":1,"c":{"y":-2,"z":1.5}}"#)
        #expect(Array(v.serialized(sortedKeys: true).utf8) == v.serializedBytes(sortedKeys: true))
        #expect(Array(v.serialized().utf8) == v.serializedBytes())
    }

    @Test func unsortedOutputIsTheSameDocument() throws {
        // Without sortedKeys, keys come in dictionary order: the text may differ, the value may not.
        let v: JSONValue = ["b": 1, "a": [.bool(true), .null, "x"], "c": ["z": 1.5, "y": -2], "d": [:]]
        let text = v.serialized()
        #expect(try JSONValue.parse(text) == v)
        #expect(text.count == v.serialized(sortedKeys: true).count)
        #expect(!text.contains(" "))
    }

    @Test func serializesNumbers() {
        #expect(JSONValue.int(-7).serialized() == "-7")
        #expect(JSONValue.double(1).serialized() == "1.0")
        #expect(JSONValue.double(-0.5).serialized() == "-0.5")
        #expect(JSONValue.double(0.1).serialized() == "0.1")
        #expect(JSONValue.double(1e300).serialized() == "1e+300")
        // JSON has no NaN or infinities.
        #expect(JSONValue.double(.nan).serialized() == "null")
        #expect(JSONValue.double(.infinity).serialized() == "null")
    }

    @Test func serializesStringEscapes() {
        #expect(JSONValue.string("a\"b\\c\nd\re\tf").serialized() == #""a\"b\\c\nd\re\tf""#)
        #expect(JSONValue.string("\u{1}\u{1F}").serialized() == #""\u0001\u001f""#)
        // < and > are escaped so the output can sit inside HTML; U+2028/2029 so it can sit inside JS.
        #expect(JSONValue.string("<script>").serialized() == #""\u003cscript\u003e""#)
        #expect(JSONValue.string("\u{2028}\u{2029}").serialized() == #""\u2028\u2029""#)
        #expect(JSONValue.string("é😀/").serialized() == "\"é😀/\"")
    }

    static let roundTripValues: [JSONValue] = [
        .null, .bool(true), .bool(false), .int(0), .int(-1), .int(Int64.max), .int(Int64.min), .double(0.1),
        .double(-2.5e-8), .double(1e21), .double(1e15), .double(123_456_789_012_345.0), .double(1.0), .double(-0.0),
        .string(""), .string("quote \" backslash \\ newline \n tab \t nul \u{0} é 😀 <>&"),
        .array([]), .object([:]),
        .array([.int(1), .double(1.0), .string("1"), .bool(true), .null, .array([.object(["k": .array([])])])]),
        .object(["": .null, "ключ": .int(2), "a b": .object(["x": .double(3.25)])]),
    ]

    @Test(arguments: JSONValueTests.roundTripValues)
    func roundTrips(_ v: JSONValue) throws {
        let text = v.serialized(sortedKeys: true)
        let back = try JSONValue.parse(text)
        #expect(back == v, "\(text)")
        // -0.0 == 0.0 for Double, so compare the text too: a second trip is stable.
        #expect(back.serialized(sortedKeys: true) == text)
        #expect(try JSONValue.parse(v.serialized()) == v)
    }

    @Test func codableRoundTrip() throws {
        let v: JSONValue = ["s": "x", "i": 3, "b": false, "n": nil, "a": [1, "2"]]
        let data = try JSONEncoder().encode(v)
        #expect(try JSONDecoder().decode(JSONValue.self, from: data) == v)
        #expect(try JSONValue.parse(data) == v)
    }

    // MARK: Accessors

    @Test func accessors() {
        #expect(JSONValue.string("x").stringValue == "x")
        #expect(JSONValue.int(1).stringValue == nil)
        #expect(JSONValue.array([1]).arrayValue == [1])
        #expect(JSONValue.object(["a": 1]).objectValue == ["a": 1])
        #expect(JSONValue.bool(true).boolValue == true)
        #expect(JSONValue.int(1).boolValue == nil)
        #expect(JSONValue.string("1_000").doubleValue == 1000)
        #expect(JSONValue.bool(true).doubleValue == 1)
        #expect(JSONValue.null.doubleValue == nil)
        #expect(JSONValue.double(2.0).int64Value == 2)
        #expect(JSONValue.double(2.5).int64Value == nil)
        #expect(JSONValue.string("2").int64Value == nil)
        #expect(JSONValue.null.isNull)
        #expect(!JSONValue.int(0).isNull)
    }

    @Test func numberKeepsWholeNumbersAsInts() {
        #expect(JSONValue.number(100) == .int(100))
        #expect(JSONValue.number(-3) == .int(-3))
        #expect(JSONValue.number(1.5) == .double(1.5))
        #expect(JSONValue.number(1e15) == .double(1e15))
    }
}
