import ArgumentParser
import Foundation
import VaneCore
import VanePulse
import VaneServer
import VaneStore

/// `vane pulse NAME`: an experiment's results as a table in the terminal.
struct Pulse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print an experiment's results (Pulse).")

    @OptionGroup var data: DataDirOption
    @Argument(help: "Experiment name (or gate name with --gate, holdout name with --holdout).") var experiment: String
    @Flag(help: "Results of a gate's partial rollout (pass vs fail) instead of an experiment.") var gate = false
    @Flag(help: "Results of a holdout (held out vs exposed to the attached gates and experiments).") var holdout = false
    @Flag(help: "Sequential testing (always-valid intervals).") var sequential = false
    @Flag(help: "Bonferroni correction across metrics and groups (the same as --correction bonferroni).") var bonferroni = false
    @Option(help: "Multiple-comparison correction across metrics and groups: none, bonferroni or benjamini-hochberg.")
    var correction: String?
    @Option(help: "Statistics engine: frequentist or bayesian (chance to beat control and risk).") var engine: String?
    @Option(help: "Prior for --engine bayesian: flat or informative.") var prior: String?
    @Flag(help: "Cap unit values at the 99.9th percentile.") var winsorize = false
    @Flag(help: "Do not use CUPED.") var noCuped = false
    @Option(help: "Drill down: split the results by a field of each unit's first exposure (environment, country, locale, appVersion, custom.plan, …).")
    var dimension: String?
    @Option(help: "With --dimension: values beyond this many largest pool as 'other' (1 to 50, default 10).") var sliceLimit: Int?

    func validate() throws {
        guard !(gate && holdout) else { throw ArgumentParser.ValidationError("--gate and --holdout exclude each other") }
    }

    func run() async throws {
        let store = try await data.openStore()
        var query = ["sequential": "\(sequential)", "winsorize": "\(winsorize)", "cuped": "\(!noCuped)"]
        if bonferroni { query["bonferroni"] = "true" }
        if let correction { query["correction"] = correction }
        if let engine { query["engine"] = engine }
        if let prior { query["prior"] = prior }
        if let dimension { query["dimension"] = dimension }
        if let sliceLimit { query["sliceLimit"] = String(sliceLimit) }
        let r = try await VaneServices(store: store).pulse(name: experiment, kind: gate ? .gate : holdout ? .holdout : .experiment, query: query)
        let groups = r["groups"]?.arrayValue ?? []
        print("\(experiment)  (unit: \(r["idType"]?.stringValue ?? "?"), control: \(r["controlGroup"]?.stringValue ?? "?"))")
        print("units: " + groups.map { "\($0["name"]?.stringValue ?? "?") \($0["units"]?.int64Value ?? 0)" }.joined(separator: ", ")
              + "; excluded crossovers: \(r["crossovers"]?.int64Value ?? 0)")
        if let srm = r["srm"], !srm.isNull {
            let p = srm["pValue"]?.doubleValue ?? 1
            print(String(format: "sample ratio: p = %.4g%@", p, srm["isMismatch"]?.boolValue == true ? "  MISMATCH: do not trust these results" : ""))
        }
        let corrected = (r["options"]?["correction"]?.stringValue ?? "none") != "none"
        printMetrics(r["metrics"]?.arrayValue ?? [], corrected: corrected)
        if let drill = r["drillDown"], !drill.isNull {
            let field = drill["dimension"]?.stringValue ?? "?"
            for slice in drill["slices"]?.arrayValue ?? [] {
                let units = (slice["groups"]?.arrayValue ?? []).map { "\($0["name"]?.stringValue ?? "?") \($0["units"]?.int64Value ?? 0)" }
                print("\n\(field) = \(slice["value"]?.stringValue ?? "?")  (units: \(units.joined(separator: ", ")))")
                printMetrics(slice["metrics"]?.arrayValue ?? [], corrected: corrected)
            }
            print("")
            for i in drill["interactions"]?.arrayValue ?? [] where i["heterogeneous"]?.boolValue == true {
                print(String(format: "the effect on %@ (%@) differs across values of %@: interaction p = %.3g",
                             i["metric"]?.stringValue ?? "?", i["group"]?.stringValue ?? "?", field, i["test"]?["pValue"]?.doubleValue ?? 1))
            }
            for note in drill["notes"]?.arrayValue ?? [] { print(note.stringValue ?? "") }
        }
    }

    private func printMetrics(_ metrics: [JSONValue], corrected: Bool) {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        print(pad("metric", 42) + pad("group", 14) + pad("control", 12) + pad("treatment", 12) + pad("lift", 10) + pad("interval", 24)
              + (corrected ? "p (adjusted)" : "p"))
        for m in metrics {
            for c in m["comparisons"]?.arrayValue ?? [] {
                let name = m["metric"]?.stringValue ?? ""
                let group = c["group"]?.stringValue ?? ""
                let cm = c["control"]?["mean"]?.doubleValue ?? 0
                let tm = c["treatment"]?["mean"]?.doubleValue ?? 0
                if let rel = c["relative"], !rel.isNull {
                    let lift = String(format: "%+.2f%%", (rel["estimate"]?.doubleValue ?? 0) * 100)
                    let ci = String(format: "[%+.2f%%, %+.2f%%]", (rel["lower"]?.doubleValue ?? 0) * 100, (rel["upper"]?.doubleValue ?? 0) * 100)
                    var p = String(format: "%.4g", c["absolute"]?["pValue"]?.doubleValue ?? 1)
                    if corrected { p += String(format: " (%.4g)", c["absolute"]?["adjustedPValue"]?.doubleValue ?? 1) }
                    if let b = c["bayesian"]?["relative"], let chance = b["chanceToWin"]?.doubleValue {
                        p = String(format: "chance to win %.1f%%, risk %.3g%%", chance * 100, (b["riskTreatment"]?.doubleValue ?? 0) * 100)
                    }
                    print(pad(name, 42) + pad(group, 14) + pad(String(format: "%.4g", cm), 12) + pad(String(format: "%.4g", tm), 12)
                          + pad(lift, 10) + pad(ci, 24) + p + (c["isSignificant"]?.boolValue == true ? " *" : ""))
                } else {
                    print(pad(name, 42) + pad(group, 14) + pad(String(format: "%.4g", cm), 12) + pad(String(format: "%.4g", tm), 12)
                          + (c["reason"]?.stringValue ?? "no interval"))
                }
            }
        }
    }
}
