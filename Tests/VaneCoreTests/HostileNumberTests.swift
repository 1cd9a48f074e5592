import Testing
@testable import VaneCore

/// Numbers from requests or stored records never trap: the helpers saturate or refuse, times
/// format whatever their value, and version comparison copes with parts of any length.
@Suite("Hostile numbers: core")
struct HostileNumberCoreTests {
    static let extremeTimes: [Int64] = [
        .max, .min, .max - 1, .min + 1, -1, 0, 1, 9_200_000_000_000_000_000, -86_400_000, 253_402_300_800_000,
        -62_167_219_200_000, 100_000_000_000_000_000,
    ]

    @Test(arguments: extremeTimes)
    func formatIsTotal(ms: Int64) {
        let text = ISOTime.format(ms)
        #expect(text.hasSuffix("Z"))
        #expect(text.contains("T"))
    }

    @Test func percentTextNeverTraps() {
        #expect(SafeNumber.percentText(50) == "50%")
        #expect(SafeNumber.percentText(12.5) == "12.5%")
        #expect(SafeNumber.percentText(-0.0) == "0%")
        #expect(SafeNumber.percentText(1e300) == "1e+300%")
        #expect(SafeNumber.percentText(-9.3e18) == "-9.3e+18%")
        #expect(SafeNumber.percentText(.infinity, unit: " %") == "inf %")
        #expect(SafeNumber.percentText(.nan) == "nan%")
    }

    @Test func formatKeepsTheAcceptedRangeExact() {
        #expect(ISOTime.format(EventTime.earliest) == "2000-01-01T00:00:00.000Z")
        #expect(ISOTime.format(EventTime.latest) == "9999-12-31T23:59:59.999Z")
        #expect(ISOTime.format(-1) == "1969-12-31T23:59:59.999Z")
        #expect(ISOTime.parse(ISOTime.format(EventTime.latest)) == EventTime.latest)
    }

    @Test func isoYearsOutsideFourDigits() {
        // Year 0 parses (it is a valid ISO date) and lies far before the accepted range.
        let yearZero = ISOTime.parse("0000-01-01T00:00:00Z")
        #expect(yearZero == -62_167_219_200_000)
        #expect(!EventTime.accepted(receivedAt: 1_790_000_000_000).contains(yearZero!))
        for text in ["10000-01-01T00:00:00Z", "99999-12-31", "+10000-01-01", "-0001-01-01"] {
            #expect(ISOTime.parse(text) == nil, "\(text)")
        }
        // Offsets at their largest do not leave the arithmetic's range.
        #expect(ISOTime.parse("9999-12-31T23:59:59.999-99:99") != nil)
        #expect(ISOTime.parse("0000-01-01T00:00:00.000+99:99") != nil)
    }

    @Test func saturatingArithmetic() {
        #expect(Int64.max.saturatingAdd(1) == .max)
        #expect(Int64.min.saturatingAdd(-1) == .min)
        #expect(Int64.max.saturatingAdd(-1) == .max - 1)
        #expect(Int64.min.saturatingSubtract(1) == .min)
        #expect(Int64.max.saturatingSubtract(-1) == .max)
        #expect(Int64(5).saturatingSubtract(7) == -2)
        #expect(Int64.max.saturatingMultiply(86_400_000) == .max)
        #expect(Int64.min.saturatingMultiply(86_400_000) == .min)
        #expect(Int64.min.saturatingMultiply(-1) == .max)
        #expect(Int64(-3).saturatingMultiply(Int64.max) == .min)
        #expect(Int64(3650).saturatingMultiply(86_400_000) == 315_360_000_000)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity, 1e300, -1e300, 9.3e18, -1, 2.5, 1e10 + 0.5, Double(Int64.max)])
    func wholeNumberRefusesWhatItCannotHold(d: Double) {
        #expect(SafeNumber.wholeNumber(d, in: 0...1_000_000_000) == nil)
    }

    @Test func wholeNumberAcceptsTheRange() {
        #expect(SafeNumber.wholeNumber(0, in: 0...10) == 0)
        #expect(SafeNumber.wholeNumber(10, in: 0...10) == 10)
        #expect(SafeNumber.wholeNumber(-0.0, in: 0...10) == 0)
    }

    @Test func clampedConversions() {
        #expect(SafeNumber.roundedInt(.nan, clampedTo: 0...1000) == 0)
        #expect(SafeNumber.roundedInt(.infinity, clampedTo: 0...1000) == 1000)
        #expect(SafeNumber.roundedInt(-.infinity, clampedTo: 0...1000) == 0)
        #expect(SafeNumber.roundedInt(1e300, clampedTo: 0...1000) == 1000)
        #expect(SafeNumber.roundedInt(499.6, clampedTo: 0...1000) == 500)
        #expect(SafeNumber.clamp(.nan, to: -1...1) == -1)
        #expect(SafeNumber.roundedInt(.infinity, clampedTo: 0...Int.max) == Int.max)
        #expect(SafeNumber.roundedInt(-.infinity, clampedTo: Int.min...0) == Int.min)
        #expect(SafeNumber.roundedInt(1e300, clampedTo: Int.min...Int.max) == Int.max)
    }

    @Test func acceptedRange() {
        let now: Int64 = 1_790_000_000_000
        let range = EventTime.accepted(receivedAt: now)
        #expect(range.lowerBound == 946_684_800_000)
        #expect(range.upperBound == now + 86_400_000)
        // A clock beyond year 9999 (or at Int64.max) still gives a valid range.
        #expect(EventTime.accepted(receivedAt: .max).upperBound == EventTime.latest)
        #expect(EventTime.accepted(receivedAt: .min).upperBound == EventTime.earliest)
        #expect(EventTime.storable.contains(EventTime.latest))
        #expect(!EventTime.storable.contains(EventTime.latest + 1))
    }

    // MARK: - Versions

    static let longVersions: [String] = [
        "99999999999999999999.1", "1.99999999999999999999", "12345678901234567890123.4.5",
        "999999999999999999", "9223372036854775807", "9223372036854775808", "18446744073709551616.0",
        String(repeating: "9", count: 400), "1." + String(repeating: "9", count: 40) + ".3",
        "99999999999999999999-beta", "1e400", "-99999999999999999999", "0.00000000000000000000000001",
    ]

    @Test("Version comparison never traps", arguments: longVersions)
    func versionCompareIsTotal(version: String) {
        for op in ["version_gt", "version_gte", "version_lt", "version_lte", "version_eq", "version_neq"] {
            for target in ["1.2.3", version, "99999999999999999999"] {
                let condition = Condition(type: "user_field", operator: op, targetValue: .string(target), field: "appVersion")
                _ = Build.passes(condition, StatsigUser(userID: "u", appVersion: version))
            }
        }
    }

    @Test func hugeVersionPartsOrderAsPythonDoes() {
        // Python's int(float(part)) has no bound: a 20-digit part is larger than any ordinary part.
        func passes(_ op: String, _ target: String, _ version: String) -> Bool {
            Build.passes(Condition(type: "user_field", operator: op, targetValue: .string(target), field: "appVersion"),
                         StatsigUser(userID: "u", appVersion: version))
        }
        #expect(passes("version_gt", "1.2.3", "99999999999999999999.1"))
        #expect(passes("version_lt", "99999999999999999999", "1.2.3"))
        #expect(passes("version_gt", "1.2", "1.99999999999999999999"))
        #expect(passes("version_eq", "99999999999999999999", "99999999999999999999"))
        #expect(!passes("version_gt", "99999999999999999999", "99999999999999999999"))
        #expect(passes("version_gte", "1.2.3", "1.2.3"))
        #expect(!passes("version_gt", "1.2.4", "1.2.3"))
    }

    @Test func versionPartsHoldHugePartsAtTheBound() {
        #expect(Operators.versionParts("99999999999999999999.1") == [9_000_000_000_000_000_000, 1])
        #expect(Operators.versionParts("-99999999999999999999") == [-9_000_000_000_000_000_000])
        #expect(Operators.versionParts("1.x.3") == [1, nil, 3])
        #expect(Operators.versionParts("1e400") == [nil])
    }
}
