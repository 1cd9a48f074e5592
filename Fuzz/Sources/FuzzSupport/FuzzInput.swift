#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CLibFuzzer
import VaneCore

/// Reads structured choices out of the fuzzer's bytes, front to back. Once the bytes run out every
/// read returns its smallest choice, so any input is a valid (if short) program.
public struct FuzzInput {
    public let bytes: [UInt8]
    public private(set) var index = 0

    public init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var isEmpty: Bool { index >= bytes.count }
    public var remaining: Int { max(0, bytes.count - index) }

    public mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// A number in `range` (byte-sized ranges take one byte, larger ones up to eight).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(bitPattern: Int64(range.upperBound) &- Int64(range.lowerBound))
        var value: UInt64 = 0
        var needed = span
        repeat {
            value = value << 8 | UInt64(byte())
            needed >>= 8
        } while needed > 0
        let offset = span == UInt64.max ? value : value % (span + 1)
        return Int(Int64(range.lowerBound) &+ Int64(bitPattern: offset))
    }

    public mutating func uint64() -> UInt64 {
        var v: UInt64 = 0
        for _ in 0..<8 { v = v << 8 | UInt64(byte()) }
        return v
    }

    public mutating func int64() -> Int64 { Int64(bitPattern: uint64()) }

    public mutating func pick<T>(_ options: [T]) -> T {
        options[int(in: 0...(options.count - 1))]
    }

    /// Up to `max` raw bytes, length first.
    public mutating func data(max: Int) -> [UInt8] {
        let n = min(int(in: 0...max), remaining)
        defer { index += n }
        return Array(bytes[index..<(index + n)])
    }

    /// A short string: one of `table`, or (when the byte says so) raw bytes decoded as UTF-8.
    public mutating func string(_ table: [String], rawMax: Int = 24) -> String {
        let b = byte()
        if b >= 0xF0 { return String(decoding: data(max: rawMax), as: UTF8.self) }
        return table[Int(b) % table.count]
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        defer { index = bytes.count }
        return index < bytes.count ? Array(bytes[index...]) : []
    }
}

/// Runs libFuzzer (with the command line's options) on `callback`, the program's whole job.
/// Each target's `@main` calls it: SwiftPM links a Swift executable's own entry point as `main`,
/// so libFuzzer's `main` cannot be the program's; its driver is called instead.
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}

/// A pointer for empty inputs, should the driver pass none.
nonisolated(unsafe) public let emptyInput: UnsafePointer<UInt8> = {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
}()

/// Stops the fuzzer with a message when an invariant does not hold (libFuzzer saves the input).
public func fuzzCheck(
    _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) {
    if !condition() {
        let text = "FUZZ INVARIANT FAILED at \(file):\(line): \(message())\n"
        _ = text.withCString { write(2, $0, strlen($0)) }
        abort()
    }
}

/// Values that stress number handling, in the shapes JSON can carry them.
public enum FuzzValues {
    public static let int64s: [Int64] = [
        0, 1, -1, 2, 7, 18, 99, 100, 101, 999, 1000, 10_000, 86_400_000, 946_684_800_000, 1_700_000_000_000,
        253_402_300_799_999, 253_402_300_800_000, 9_007_199_254_740_993, Int64(Int32.max), Int64(Int32.min),
        Int64.max, Int64.min, Int64.max - 1, Int64.min + 1, -86_400_000, -946_684_800_000,
    ]
    public static let doubles: [Double] = [
        0, -0.0, 0.5, 1.0, -1.5, 18.5, 37.5, 99.999, 100.0, 100.0001, 1e15, -1e15, 1e15 + 2, 9.2e18, -9.2e18,
        9.223372036854775807e18, 1e19, -1e19, 1e308, -1e308, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        .leastNonzeroMagnitude, .infinity, -.infinity, 1e-7, 123456789.123,
    ]
    public static let strings: [String] = [
        "", " ", "0", "1", "-1", "1.0", "18", "18.5", " 12 ", "1_000", "1__0", "0x1p3", "1e400", "-1e400", "nan",
        "inf", "-inf", "Infinity", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        "99999999999999999999999999", "1.2.3", "1.2.3-beta", "-1.2", "1..2", ".", "1.2.3.4.5.6.7.8.9",
        "12345678901234567890.1", "1.99999999999999999999", "١٢", "１２", "true", "True", "null", "None",
        "2024-01-01", "2024-01-01T00:00:00Z", "1700000000", "1700000000000", "abc", "ABC", "ß", "ﬁ", "İ",
        "a@example.com", "@vane.dev", "US", "en_US", "production", "staging", "user-1", "segment:seg",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "\u{0}", "\u{2028}", "<script>", "\u{1F600}", String(repeating: "9", count: 40),
    ]

    /// A JSON value drawn from the tables above (nesting at most `depth`).
    public static func value(_ input: inout FuzzInput, depth: Int = 2) -> JSONValue {
        switch input.byte() % (depth > 0 ? 9 : 7) {
        case 0: return .null
        case 1: return .bool(input.bool())
        case 2: return .int(input.pick(int64s))
        case 3: return .double(input.pick(doubles))
        case 4, 5: return .string(input.string(strings))
        case 6: return .int(Int64(input.int(in: -3...1100)))
        case 7: return .array((0..<input.int(in: 0...4)).map { _ in value(&input, depth: depth - 1) })
        default:
            var o: [String: JSONValue] = [:]
            for _ in 0..<input.int(in: 0...3) { o[input.string(["a", "age", "tier", "x", "plan", "value"])] = value(&input, depth: depth - 1) }
            return .object(o)
        }
    }
}

extension JSONValue {
    /// The value with every non-finite number as null: what serialising it writes.
    public var finiteOrNull: JSONValue {
        switch self {
        case .double(let d) where !d.isFinite: return .null
        case .array(let a): return .array(a.map(\.finiteOrNull))
        case .object(let o): return .object(o.mapValues(\.finiteOrNull))
        default: return self
        }
    }
}

extension Spec {
    /// The spec as the SDK format reads it back: a rule without a salt has its id as salt
    /// (`Rule(json:)`), which is also the salt the evaluator uses for it.
    public var withRuleSalts: Spec {
        var s = self
        s.rules = s.rules.map { r in
            var r = r
            r.salt = r.salt ?? r.id
            return r
        }
        return s
    }
}
