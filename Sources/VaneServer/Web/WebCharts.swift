import Foundation

/// Small inline SVG charts, drawn on the server so results read without JavaScript.
enum WebCharts {
    /// A relative-lift interval as a bar around zero, on an axis labelled at its ends and at zero:
    /// the axis spans ±max(|lower|, |upper|, 5%) rounded up to a readable percentage.
    static func interval(lower: Double, estimate: Double, upper: Double, cls: String, width: Double = 220, height: Double = 34) -> String {
        let span = niceCeiling(max(abs(lower), abs(upper), 0.05) * 1.05)
        let pad = 16.0  // room for the end labels
        func x(_ v: Double) -> Double { pad + (v + span) / (2 * span) * (width - 2 * pad) }
        let left = x(max(-span, lower)), right = x(min(span, upper))
        let mid = 11.0
        let label = String(format: "relative lift %+.2f%%, interval %+.2f%% to %+.2f%%", estimate * 100, lower * 100, upper * 100)
        let ticks = [(-span, "start"), (0, "middle"), (span, "end")].map { v, anchor in
            "<text x=\"\(f(anchor == "start" ? x(v) - pad + 1 : anchor == "end" ? x(v) + pad - 1 : x(v)))\" y=\"\(f(height - 2))\" text-anchor=\"\(anchor)\">\(percent(v))</text>"
        }.joined()
        return """
        <svg class="ci-chart" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(label)">\
        <line class="axis" x1="\(f(x(-span)))" y1="\(mid)" x2="\(f(x(span)))" y2="\(mid)"/>\
        <rect class="bar \(cls)" x="\(f(left))" y="\(f(mid - 5))" width="\(f(max(1, right - left)))" height="10" rx="2"/>\
        <line class="zero" x1="\(f(x(0)))" y1="2" x2="\(f(x(0)))" y2="\(f(mid + 9))"/>\
        <circle class="point" cx="\(f(x(estimate)))" cy="\(mid)" r="3"/>\
        \(ticks)<title>\(label)</title></svg>
        """
    }

    /// Grouped bars per label (day), one series per name, on a labelled value axis with grid lines;
    /// bars keep a readable width however few days there are, and at most about 8 days are labelled.
    static func bars(labels: [String], series: [[Double]], names: [String], width: Double = 640, height: Double = 140) -> String {
        let axisWidth = 44.0, labelHeight = 16.0, top = 6.0
        let plotWidth = width - axisWidth
        let maxValue = niceCeiling(max(1, series.flatMap { $0 }.filter(\.isFinite).max() ?? 1))
        let n = max(1, labels.count)
        let slot = plotWidth / Double(n)
        let groupWidth = min(slot * 0.8, 28 * Double(max(1, series.count)))
        let barWidth = groupWidth / Double(max(1, series.count))
        func y(_ v: Double) -> Double { top + height - v / maxValue * height }
        var out = "<svg class=\"spark\" width=\"100%\" viewBox=\"0 0 \(Int(width)) \(Int(top + height + labelHeight))\" role=\"img\" aria-label=\"\(escape(names.joined(separator: ", "))) per day\">"
        for tick in [0, maxValue / 2, maxValue] {
            out += "<line class=\"grid\" x1=\"\(f(axisWidth))\" y1=\"\(f(y(tick)))\" x2=\"\(f(width))\" y2=\"\(f(y(tick)))\"/>"
            out += "<text class=\"tick\" x=\"\(f(axisWidth - 6))\" y=\"\(f(y(tick) + 3))\" text-anchor=\"end\">\(count(tick))</text>"
        }
        for (s, values) in series.enumerated() {
            for (i, v) in values.enumerated() where i < n {
                let h = v.isFinite ? max(0, v) / maxValue * height : 0
                let label = "\(labels[i]): \(names.indices.contains(s) ? names[s] : "") \(v.isFinite ? String(format: "%.0f", v) : "—")"
                let x = axisWidth + Double(i) * slot + (slot - groupWidth) / 2 + Double(s) * barWidth
                out += "<rect class=\"\(s % 2 == 1 ? "alt" : "")\" x=\"\(f(x))\" y=\"\(f(top + height - h))\" width=\"\(f(max(1, barWidth - 1)))\" height=\"\(f(max(h, 0.5)))\"><title>\(escape(label))</title></rect>"
            }
        }
        let step = max(1, Int((Double(labels.count) / 8).rounded(.up)))
        for i in stride(from: 0, to: labels.count, by: step) {
            out += "<text x=\"\(f(axisWidth + (Double(i) + 0.5) * slot))\" y=\"\(f(top + height + 13))\" text-anchor=\"middle\">\(escape(labels[i]))</text>"
        }
        out += "</svg>"
        let legend = names.enumerated().map { i, name in
            "<span><i style=\"background:\(i % 2 == 1 ? "#f0a35e" : "var(--accent)")\"></i>\(escape(name))</span>"
        }.joined()
        return out + "<div class=\"legend\">\(legend)</div>"
    }

    /// A relative effect day by day: the estimate as a line inside its interval as a band, on a
    /// percentage axis symmetric about zero, with up to about 8 day labels. Days without an
    /// interval yet (too few units) are left out of the line and the band.
    static func lift(days: [String], points: [(estimate: Double, lower: Double, upper: Double)?], label: String,
                     width: Double = 640, height: Double = 150) -> String {
        let axisWidth = 48.0, labelHeight = 16.0, top = 8.0
        let known = points.compactMap { $0 }
        let span = niceCeiling(max(0.01, known.map { max(abs($0.lower), abs($0.upper)) }.max() ?? 0.01))
        let slot = (width - axisWidth) / Double(max(1, days.count))
        func x(_ i: Int) -> Double { axisWidth + (Double(i) + 0.5) * slot }
        func y(_ v: Double) -> Double { top + (span - min(span, max(-span, v))) / (2 * span) * height }
        var out = "<svg class=\"lift-chart\" width=\"100%\" viewBox=\"0 0 \(Int(width)) \(Int(top + height + labelHeight))\" role=\"img\" aria-label=\"\(escape(label))\">"
        for tick in [span, 0, -span] {
            out += "<line class=\"\(tick == 0 ? "zero" : "grid")\" x1=\"\(f(axisWidth))\" y1=\"\(f(y(tick)))\" x2=\"\(f(width))\" y2=\"\(f(y(tick)))\"/>"
            out += "<text class=\"tick\" x=\"\(f(axisWidth - 6))\" y=\"\(f(y(tick) + 3))\" text-anchor=\"end\">\(percent(tick))</text>"
        }
        let drawn = points.enumerated().compactMap { i, p in p.map { (i, $0) } }
        if !drawn.isEmpty {
            let upper = drawn.map { "\(f(x($0.0))),\(f(y($0.1.upper)))" }
            let lower = drawn.reversed().map { "\(f(x($0.0))),\(f(y($0.1.lower)))" }
            out += "<polygon class=\"band\" points=\"\((upper + lower).joined(separator: " "))\"/>"
            out += "<polyline class=\"line\" points=\"\(drawn.map { "\(f(x($0.0))),\(f(y($0.1.estimate)))" }.joined(separator: " "))\"/>"
            for (i, p) in drawn {
                let text = String(format: "%@: %+.2f%% (%+.2f%% to %+.2f%%)", days[i], p.estimate * 100, p.lower * 100, p.upper * 100)
                out += "<circle class=\"point\" cx=\"\(f(x(i)))\" cy=\"\(f(y(p.estimate)))\" r=\"2.5\"><title>\(escape(text))</title></circle>"
            }
        }
        let step = max(1, Int((Double(days.count) / 8).rounded(.up)))
        for i in stride(from: 0, to: days.count, by: step) {
            out += "<text x=\"\(f(x(i)))\" y=\"\(f(top + height + 13))\" text-anchor=\"middle\">\(escape(days[i]))</text>"
        }
        return out + "</svg>"
    }

    /// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `x` (x > 0): axis ends that read easily.
    static func niceCeiling(_ x: Double) -> Double {
        guard x.isFinite, x > 0 else { return 1 }
        let power = pow(10, (log10(x)).rounded(.down))
        for m in [1, 2, 2.5, 5, 10] where m * power >= x * (1 - 1e-12) { return m * power }
        return 10 * power
    }

    static func percent(_ v: Double) -> String {
        let p = v * 100
        let text = p == p.rounded() ? String(format: "%.0f", p) : String(format: "%.1f", p)
        return (p > 0 ? "+" : p < 0 ? "−" : "") + text.replacingOccurrences(of: "-", with: "") + "%"
    }

    static func count(_ v: Double) -> String {
        if v >= 1_000_000 { return String(format: "%gM", v / 1_000_000) }
        if v >= 10_000 { return String(format: "%gk", v / 1_000) }
        return String(format: "%g", v)
    }

    static func f(_ x: Double) -> String { String(format: "%.1f", x) }

    /// Text inside SVG markup Vane builds: group and metric names come from users.
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
