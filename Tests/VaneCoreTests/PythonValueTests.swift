import Testing
@testable import VaneCore

/// Python's str(), float(), int() and casefold() as the SDK applies them. Expected strings are
/// what CPython 3.11 prints for the same values.
@Suite("PythonValue")
struct PythonValueTests {
    struct StrCase: Sendable, CustomStringConvertible {
        let value: JSONValue
        let python: String
        var description: String { "\(value.serialized()) -> \(python)" }
    }

    static let strCases: [StrCase] = [
        StrCase(value: .string("a b"), python: "a b"),
        StrCase(value: .string(""), python: ""),
        StrCase(value: .int(-5), python: "-5"),
        StrCase(value: .int(Int64.max), python: "9223372036854775807"),
        StrCase(value: .bool(true), python: "True"),
        StrCase(value: .bool(false), python: "False"),
        StrCase(value: .double(1.0), python: "1.0"),
        StrCase(value: .double(1.5), python: "1.5"),
        StrCase(value: .double(-2.5), python: "-2.5"),
        StrCase(value: .double(0.1), python: "0.1"),
        StrCase(value: .double(0.0001), python: "0.0001"),
        StrCase(value: .double(1e-5), python: "1e-05"),
        StrCase(value: .double(1.5e-7), python: "1.5e-07"),
        StrCase(value: .double(5e-324), python: "5e-324"),
        StrCase(value: .double(123_456_789.123), python: "123456789.123"),
        StrCase(value: .double(1e15), python: "1000000000000000.0"),
        StrCase(value: .double(9_007_199_254_740_992.0), python: "9007199254740992.0"),
        StrCase(value: .double(123_456_789_012_345.6), python: "123456789012345.6"),
        StrCase(value: .double(1e16), python: "1e+16"),
        StrCase(value: .double(2.5e20), python: "2.5e+20"),
        StrCase(value: .double(1e22), python: "1e+22"),
        StrCase(value: .double(1e100), python: "1e+100"),
        StrCase(value: .double(.infinity), python: "inf"),
        StrCase(value: .double(-Double.infinity), python: "-inf"),
        StrCase(value: .double(.nan), python: "nan"),
        StrCase(value: .double(-0.0), python: "-0.0"),
        StrCase(value: .array([.int(1), .string("a"), .null, .bool(true), .double(1.0), .array([.int(2), .string("b")])]),
                python: "[1, 'a', None, True, 1.0, [2, 'b']]"),
        StrCase(value: .array([]), python: "[]"),
        // Python prints dicts in insertion order; these keys are in sorted order either way.
        StrCase(value: .object(["a": .array([]), "b": .int(1)]), python: "{'a': [], 'b': 1}"),
    ]

    @Test(arguments: PythonValueTests.strCases)
    func strMatchesPython(_ c: StrCase) {
        #expect(PythonValue.str(c.value) == c.python)
    }

    @Test func strOfNullIsNil() {
        // The SDK's __get_value_as_string returns None for None (and operators then answer false).
        #expect(PythonValue.str(.null) == nil)
    }

    @Test func reprOfDoubles() {
        #expect(PythonValue.repr(2.0) == "2.0")
        #expect(PythonValue.repr(0.5) == "0.5")
        #expect(PythonValue.repr(1e16) == "1e+16")
        #expect(PythonValue.repr(1e-7) == "1e-07")
    }

    @Test func parseFloatFollowsPythonFloat() {
        // Python: float(" 1.5 ") == 1.5, float("1_000") == 1000.0, float("1_0.5") == 10.5, float("1e1_0") == 1e10,
        // float(".5") == 0.5, float("5.") == 5.0, float("+3") == 3.0, float("\t7\n") == 7.0, float("1e3") == 1000.0.
        #expect(PythonValue.parseFloat(" 1.5 ") == 1.5)
        #expect(PythonValue.parseFloat("1_000") == 1000)
        #expect(PythonValue.parseFloat("1_0.5") == 10.5)
        #expect(PythonValue.parseFloat("1e1_0") == 1e10)
        #expect(PythonValue.parseFloat(".5") == 0.5)
        #expect(PythonValue.parseFloat("5.") == 5)
        #expect(PythonValue.parseFloat("+3") == 3)
        #expect(PythonValue.parseFloat("\t7\n") == 7)
        #expect(PythonValue.parseFloat("1e3") == 1000)
        #expect(PythonValue.parseFloat("inf") == .infinity)
        #expect(PythonValue.parseFloat("-Infinity") == -Double.infinity)
        #expect(PythonValue.parseFloat("nan")?.isNaN == true)
        // Python raises for these.
        for s in ["", "  ", "abc", "1__0", "_1", "1_", "0x10", "1.2.3", "1e"] {
            #expect(PythonValue.parseFloat(s) == nil, "\(s)")
        }
    }

    @Test func parseIntFollowsPythonInt() {
        // int(2.9) == 2, int(-2.9) == -2, int(" 42 ") == 42, int("+5") == 5, int(True) == 1; int("4.2") raises.
        #expect(PythonValue.parseInt(.double(2.9)) == 2)
        #expect(PythonValue.parseInt(.double(-2.9)) == -2)
        #expect(PythonValue.parseInt(.string(" 42 ")) == 42)
        #expect(PythonValue.parseInt(.string("+5")) == 5)
        #expect(PythonValue.parseInt(.string("-7")) == -7)
        #expect(PythonValue.parseInt(.bool(true)) == 1)
        #expect(PythonValue.parseInt(.int(12)) == 12)
        #expect(PythonValue.parseInt(.string("4.2")) == nil)
        #expect(PythonValue.parseInt(.double(.infinity)) == nil)
        #expect(PythonValue.parseInt(.null) == nil)
        #expect(PythonValue.parseInt(.array([1])) == nil)
    }

    @Test func casefold() {
        // Python: "ABC".casefold() == "abc", "Straße".casefold() == "strasse", "ÀÉ".casefold() == "àé".
        #expect(PythonValue.casefold("ABC") == "abc")
        #expect(PythonValue.casefold("abc") == "abc")
        #expect(PythonValue.casefold("Straße") == "strasse")
        #expect(PythonValue.casefold("STRASSE") == "strasse")
        #expect(PythonValue.casefold("ÀÉ") == "àé")
        #expect(PythonValue.casefold("MiXeD-123_x") == "mixed-123_x")
    }
}
