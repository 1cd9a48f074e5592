import Foundation

/// A small user-agent parser for `ua_based` conditions. It names the common browsers and
/// operating systems the way uap-core (the SDK's parser) does; it is not the full uap-core
/// pattern set, so rare agents can resolve differently (see docs/evaluation.md).
enum UserAgent {
    struct Parsed {
        var browser: String?
        var browserVersion: [String] = []
        var os: String?
        var osVersion: [String] = []
    }

    static func field(_ field: String, of ua: String?) -> JSONValue? {
        guard let ua, !ua.isEmpty else { return nil }
        let p = parse(ua)
        switch field.lowercased() {
        case "os_name", "osname": return p.os.map { .string($0) }
        case "os_version", "osversion": return p.os == nil ? nil : .string(versionString(p.osVersion))
        case "browser_name", "browsername": return p.browser.map { .string($0) }
        case "browser_version", "browserversion": return p.browser == nil ? nil : .string(versionString(p.browserVersion))
        default: return nil
        }
    }

    static func versionString(_ parts: [String]) -> String {
        let nums = (0..<3).map { i in i < parts.count ? (Int(parts[i]) ?? 0) : 0 }
        return nums.map(String.init).joined(separator: ".")
    }

    private static func capture(_ pattern: String, in s: String) -> [String]? {
        guard let m = CompiledRegex.cached(pattern)?.firstMatch(in: s) else { return nil }
        return (1..<m.numberOfRanges).compactMap { i in
            Range(m.range(at: i), in: s).map { String(s[$0]) }
        }
    }

    static func parse(_ ua: String) -> Parsed {
        var p = Parsed()
        let browsers: [(String, String)] = [
            ("Edge", #"Edg(?:e|A|iOS)?/(\d+)\.(\d+)(?:\.(\d+))?"#),
            ("Opera", #"OPR/(\d+)\.(\d+)(?:\.(\d+))?"#),
            ("Firefox Mobile", #"Mobile.*Firefox/(\d+)\.(\d+)"#),
            ("Firefox", #"Firefox/(\d+)\.(\d+)(?:\.(\d+))?"#),
            ("Chrome Mobile iOS", #"CriOS/(\d+)\.(\d+)(?:\.(\d+))?"#),
            ("Chrome Mobile", #"Chrome/(\d+)\.(\d+)(?:\.(\d+))?.*Mobile"#),
            ("HeadlessChrome", #"HeadlessChrome/(\d+)\.(\d+)(?:\.(\d+))?"#),
            ("Chrome", #"Chrome/(\d+)\.(\d+)(?:\.(\d+))?"#),
            ("Mobile Safari", #"Version/(\d+)\.(\d+)(?:\.(\d+))?.*Mobile.*Safari/"#),
            ("Safari", #"Version/(\d+)\.(\d+)(?:\.(\d+))?.*Safari/"#),
        ]
        for (name, pattern) in browsers {
            if let v = capture(pattern, in: ua) {
                p.browser = name
                p.browserVersion = v.filter { !$0.isEmpty }
                break
            }
        }
        if let v = capture(#"(?:iPhone|CPU) OS (\d+)_(\d+)(?:_(\d+))?"#, in: ua) {
            p.os = "iOS"
            p.osVersion = v
        } else if let v = capture(#"Android (\d+)(?:\.(\d+))?(?:\.(\d+))?"#, in: ua) {
            p.os = "Android"
            p.osVersion = v
        } else if let v = capture(#"Mac OS X (\d+)[_.](\d+)(?:[_.](\d+))?"#, in: ua) {
            p.os = "Mac OS X"
            p.osVersion = v
        } else if let v = capture(#"Windows NT (\d+)\.(\d+)"#, in: ua) {
            p.os = "Windows"
            switch v.joined(separator: ".") {
            case "10.0": p.osVersion = ["10"]
            case "6.3": p.osVersion = ["8", "1"]
            case "6.2": p.osVersion = ["8"]
            case "6.1": p.osVersion = ["7"]
            default: p.osVersion = []
            }
        } else if ua.contains("CrOS") {
            p.os = "Chrome OS"
        } else if ua.contains("Linux") {
            p.os = "Linux"
        } else {
            p.os = "Other"
            if p.browser == nil { p.browser = "Other" }
        }
        return p
    }
}
