import FuzzSupport
import VaneCore

/// JSONValue.parse on arbitrary bytes: it must return or throw, never trap or read out of bounds,
/// and what it parses must survive serialisation: parse → serializedBytes → parse gives an equal
/// value (numbers beyond ±1.8e308 parse as infinities, which serialise as null: compared as such).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let value: JSONValue
    do {
        value = try JSONValue.parse(input)
    } catch let e as JSONParseError {
        fuzzCheck(e.offset >= 0 && e.offset <= size, "error offset \(e.offset) outside the input (\(size) bytes)")
        return 0
    } catch {
        fuzzCheck(false, "parse threw something other than JSONParseError: \(error)")
        return 0
    }
    let expected = value.finiteOrNull
    for sorted in [false, true] {
        let bytes = value.serializedBytes(sortedKeys: sorted)
        fuzzCheck(String(validating: bytes, as: UTF8.self) != nil, "serialised JSON is not valid UTF-8")
        let again: JSONValue
        do { again = try JSONValue.parse(bytes) } catch {
            fuzzCheck(false, "serialised JSON does not parse: \(error)\n\(String(decoding: bytes, as: UTF8.self))")
            return 0
        }
        fuzzCheck(again == expected, "round trip changed the value:\n\(String(decoding: bytes, as: UTF8.self))")
        // Serialising is then a fixed point.
        if sorted { fuzzCheck(again.serializedBytes(sortedKeys: true) == bytes, "sorted serialisation is not stable") }
    }
    // The accessors and the helpers the server applies to every body must be total.
    walk(value)
    _ = value.pathOfNonFiniteNumber()
    _ = value.pathsOfNonIntegerNumbers()
    _ = PythonValue.str(value)
    return 0
}

private func walk(_ v: JSONValue) {
    _ = v.doubleValue
    _ = v.int64Value
    _ = v.stringValue
    _ = v.boolValue
    _ = v.isNull
    switch v {
    case .double(let d): _ = PythonValue.repr(d)
    case .string(let s):
        _ = PythonValue.parseFloat(s)
        _ = PythonValue.parseInt(v)
        _ = PythonValue.casefold(s)
    case .array(let a): a.forEach(walk)
    case .object(let o): o.values.forEach(walk)
    default: break
    }
}

@main
enum FuzzJSONMain {
    static func main() {
        runFuzzer { data, size in fuzz(data ?? emptyInput, size) }
    }
}
