import Foundation

/// Small inline SVG charts, drawn on the server so results read without JavaScript.
enum WebCharts {
    /// A relative-lift interval as a bar around zero: the axis spans ±max(|lower|, |upper|, 5%).
    static func interval(lower: Double, estimate: Double, upper: Double, cls: String, width: Double = 220, height: Double = 22) -> String {
        let span = max(abs(lower), abs(upper), 0.05) * 1.1
        func x(_ v: Double) -> Double { (v + span) / (2 * span) * width }
        let left = x(max(-span, lower)), right = x(min(span, upper))
        let label = String(format: "relative lift %+.2f%%, interval %+.2f%% to %+.2f%%", estimate * 100, lower * 100, upper * 100)
        return """
        <svg class="ci-chart" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(label)">\
        <line class="axis" x1="0" y1="\(height / 2)" x2="\(width)" y2="\(height / 2)"/>\
        <rect class="bar \(cls)" x="\(f(left))" y="\(f(height / 2 - 5))" width="\(f(max(1, right - left)))" height="10" rx="2"/>\
        <line class="zero" x1="\(f(x(0)))" y1="2" x2="\(f(x(0)))" y2="\(f(height - 2))"/>\
        <circle class="point" cx="\(f(x(estimate)))" cy="\(f(height / 2))" r="3"/>\
        <title>\(label)</title></svg>
        """
    }

    /// Grouped bars per label (day), one series per name, with the labels' first and last day shown.
    static func bars(labels: [String], series: [[Double]], names: [String], width: Double = 640, height: Double = 140) -> String {
        let maxValue = max(1, series.flatMap { $0 }.max() ?? 1)
        let n = max(1, labels.count)
        let slot = width / Double(n)
        let barWidth = max(1, (slot - 2) / Double(max(1, series.count)))
        var out = "<svg class=\"spark\" width=\"100%\" viewBox=\"0 0 \(Int(width)) \(Int(height + 16))\" role=\"img\" aria-label=\"\(escape(names.joined(separator: ", "))) per day\">"
        for (s, values) in series.enumerated() {
            for (i, v) in values.enumerated() {
                let h = v / maxValue * height
                let label = "\(labels[i]): \(names.indices.contains(s) ? names[s] : "") \(v.isFinite ? String(format: "%.0f", v) : "—")"
                out += "<rect class=\"\(s % 2 == 1 ? "alt" : "")\" x=\"\(f(Double(i) * slot + Double(s) * barWidth))\" y=\"\(f(height - h))\" width=\"\(f(barWidth))\" height=\"\(f(max(h, 0.5)))\"><title>\(escape(label))</title></rect>"
            }
        }
        if let first = labels.first { out += "<text x=\"0\" y=\"\(Int(height + 13))\">\(escape(first))</text>" }
        if labels.count > 1, let last = labels.last { out += "<text x=\"\(Int(width))\" y=\"\(Int(height + 13))\" text-anchor=\"end\">\(escape(last))</text>" }
        out += "</svg>"
        let legend = names.enumerated().map { i, name in
            "<span><i style=\"background:\(i % 2 == 1 ? "#f0a35e" : "var(--accent)")\"></i>\(escape(name))</span>"
        }.joined()
        return out + "<div class=\"legend\">\(legend)</div>"
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
