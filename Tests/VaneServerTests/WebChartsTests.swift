import Testing
@testable import VaneServer

@Suite("Web charts")
struct WebChartsTests {
    @Test func axisEndsAreReadableRoundNumbers() {
        #expect(WebCharts.niceCeiling(0.063) == 0.1)
        #expect(WebCharts.niceCeiling(0.2) == 0.2)
        #expect(WebCharts.niceCeiling(0.21) == 0.25)
        #expect(WebCharts.niceCeiling(3.2) == 5)
        #expect(WebCharts.niceCeiling(320) == 500)
        #expect(WebCharts.niceCeiling(1000) == 1000)
        #expect(WebCharts.niceCeiling(0) == 1 && WebCharts.niceCeiling(.nan) == 1)
    }

    @Test func tickLabels() {
        #expect(WebCharts.percent(0.25) == "+25%")
        #expect(WebCharts.percent(-0.025) == "−2.5%")
        #expect(WebCharts.percent(0) == "0%")
        #expect(WebCharts.count(250) == "250" && WebCharts.count(25_000) == "25k" && WebCharts.count(2_500_000) == "2.5M")
    }

    /// The interval is labelled at both ends of its axis and at zero, symmetric around zero.
    @Test func intervalAxisIsLabelled() {
        let svg = WebCharts.interval(lower: 0.12, estimate: 0.44, upper: 0.77, cls: "sig-pos")
        #expect(svg.contains(">−100%</text>") && svg.contains(">0%</text>") && svg.contains(">+100%</text>"), "\(svg)")
        #expect(svg.contains("aria-label=\"relative lift +44.00%, interval +12.00% to +77.00%\""))
    }

    /// One day of two groups: two bars of a readable width (not two halves of the chart), a value
    /// axis with its top at a round number above the tallest bar, and the day labelled.
    @Test func barsHaveAValueAxisAndKeepTheirWidth() throws {
        let svg = WebCharts.bars(labels: ["2026-12-03"], series: [[210], [180]], names: ["Control", "Test"])
        let widths = svg.matches(of: /<rect[^>]* width="([0-9.]+)"/).map { Double($0.1)! }
        #expect(widths.count == 2 && widths.allSatisfy { $0 <= 28 }, "\(widths)")
        #expect(svg.contains(">250</text>") && svg.contains(">125</text>") && svg.contains(">0</text>"), "\(svg)")
        #expect(svg.contains(">2026-12-03</text>"))
        let many = WebCharts.bars(labels: (1...30).map { "d\($0)" }, series: [Array(repeating: 5, count: 30)], names: ["A"])
        #expect(many.matches(of: /text-anchor="middle">d\d+</).count <= 8, "at most about 8 day labels")
    }
}
