import Testing
@testable import VaneCore

/// Epoch values were checked with Python: datetime.fromisoformat(s).timestamp() * 1000.
@Suite("ISOTime")
struct ISOTimeTests {
    @Test func parsesUTC() {
        #expect(ISOTime.parse("1970-01-01T00:00:00Z") == 0)
        #expect(ISOTime.parse("1970-01-01") == 0)
        #expect(ISOTime.parse("2023-11-14T22:13:20Z") == 1_700_000_000_000)
        #expect(ISOTime.parse("2023-11-14t22:13:20z") == 1_700_000_000_000)
        #expect(ISOTime.parse("2023-11-14 22:13:20") == 1_700_000_000_000)
        // No zone means UTC.
        #expect(ISOTime.parse("2023-11-14T22:13:20") == 1_700_000_000_000)
        // Seconds are optional.
        #expect(ISOTime.parse("2023-11-14T22:13Z") == 1_699_999_980_000)
        #expect(ISOTime.parse("1969-12-31T23:59:59Z") == -1000)
        #expect(ISOTime.parse("2024-02-29T00:00:00Z") == 1_709_164_800_000)
        #expect(ISOTime.parse("2000-02-29T12:00:00Z") == 951_825_600_000)
    }

    @Test func parsesOffsets() {
        #expect(ISOTime.parse("2023-11-14T23:13:20+01:00") == 1_700_000_000_000)
        #expect(ISOTime.parse("2023-11-14T21:13:20-01:00") == 1_700_000_000_000)
        #expect(ISOTime.parse("2023-11-14T21:13:20-0100") == 1_700_000_000_000)
        #expect(ISOTime.parse("2023-11-15T03:43:20+05:30") == 1_700_000_000_000)
        // An offset of hours only: +05 is +05:00.
        #expect(ISOTime.parse("2023-11-15T03:13:20+05") == 1_700_000_000_000)
    }

    @Test func parsesFractions() {
        #expect(ISOTime.parse("2023-11-14T22:13:20.123Z") == 1_700_000_000_123)
        #expect(ISOTime.parse("2023-11-14T22:13:20.1Z") == 1_700_000_000_100)
        #expect(ISOTime.parse("2023-11-14T22:13:20.12Z") == 1_700_000_000_120)
        // Digits beyond milliseconds are dropped (truncated, not rounded).
        #expect(ISOTime.parse("2023-11-14T22:13:20.123999Z") == 1_700_000_000_123)
        // A comma is a valid decimal sign in ISO 8601.
        #expect(ISOTime.parse("2023-11-14T22:13:20,5Z") == 1_700_000_000_500)
        #expect(ISOTime.parse("2023-11-14T23:13:20.250+01:00") == 1_700_000_000_250)
    }

    @Test func leapSecondIsTheNextSecond() {
        // second 60 is accepted and counts as 00:00:00 of the next day.
        #expect(ISOTime.parse("2016-12-31T23:59:60Z") == ISOTime.parse("2017-01-01T00:00:00Z"))
    }

    @Test(arguments: [
        "", "2023", "2023-11", "2023-1-01", "23-11-14", "2023/11/14", "2023-13-01", "2023-00-10", "2023-11-00",
        "2023-11-31", "2023-02-29", "1900-02-29", "2023-04-31", "2023-11-14T", "2023-11-14T22", "2023-11-14T22:1",
        "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z", "2023-11-14T22:13:61Z", "2023-11-14T22:13:20.Z",
        "2023-11-14T22:13:20Q", "2023-11-14T22:13:20Zx", "2023-11-14X22:13:20Z", "2023-11-14T22:13:20+1",
        "2023-11-14T22:13:20 Z", " 2023-11-14", "2023-11-14 ", "１９７０-01-01",
    ])
    func rejects(_ s: String) {
        #expect(ISOTime.parse(s) == nil)
    }

    @Test func formats() {
        #expect(ISOTime.format(0) == "1970-01-01T00:00:00.000Z")
        #expect(ISOTime.format(1_700_000_000_123) == "2023-11-14T22:13:20.123Z")
        #expect(ISOTime.format(-1) == "1969-12-31T23:59:59.999Z")
        #expect(ISOTime.format(951_782_400_000) == "2000-02-29T00:00:00.000Z")
        #expect(ISOTime.format(253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
        #expect(ISOTime.format(-62_135_596_800_000) == "0001-01-01T00:00:00.000Z")
    }

    @Test func roundTrips() {
        var ms: Int64 = -62_135_596_800_000
        // Steps of a prime number of ms walk through every field, leap days and negative epochs included.
        while ms < 253_402_300_799_999 {
            let text = ISOTime.format(ms)
            #expect(ISOTime.parse(text) == ms, "\(ms) -> \(text)")
            ms += 7_777_777_777_777
        }
        for ms: Int64 in [-1, 0, 1, 999, 1000, 86_399_999, 86_400_000, 1_709_164_800_000, 1_709_251_199_999] {
            #expect(ISOTime.parse(ISOTime.format(ms)) == ms)
        }
    }
}
