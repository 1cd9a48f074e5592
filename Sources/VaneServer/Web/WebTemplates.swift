import Mustache

// The console's Mustache templates, one file per page or part of a page under
// Resources/templates (compiled into the binary: Package.swift). `{{x}}` escapes HTML; `{{{x}}}`
// is used only for markup Vane builds itself (SVG charts, escaped JSON for scripts). Parts shared
// by pages (the rules table, the guardrails card, …) are partials: `{{> rulesTable}}`.

enum WebTemplates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, bytes) in files { try library.register(String(decoding: bytes, as: UTF8.self), named: name) }
        return library
    }

    static let files: [(String, [UInt8])] = [
        ("drawer", PackageResources.drawer_mustache),
        ("entity", PackageResources.entity_mustache),
        ("error", PackageResources.error_mustache),
        ("event", PackageResources.event_mustache),
        ("events", PackageResources.events_mustache),
        ("experiment", PackageResources.experiment_mustache),
        ("gate", PackageResources.gate_mustache),
        ("guardrailsCard", PackageResources.guardrailsCard_mustache),
        ("idlist", PackageResources.idlist_mustache),
        ("idlists", PackageResources.idlists_mustache),
        ("layout", PackageResources.layout_mustache),
        ("list", PackageResources.list_mustache),
        ("metric", PackageResources.metric_mustache),
        ("metricRow", PackageResources.metricRow_mustache),
        ("metrics", PackageResources.metrics_mustache),
        ("overview", PackageResources.overview_mustache),
        ("powerCard", PackageResources.powerCard_mustache),
        ("results", PackageResources.results_mustache),
        ("resultsSection", PackageResources.resultsSection_mustache),
        ("rulesTable", PackageResources.rulesTable_mustache),
        ("segment", PackageResources.segment_mustache),
        ("settings", PackageResources.settings_mustache),
        ("setup", PackageResources.setup_mustache),
        ("signin", PackageResources.signin_mustache),
        ("streamBox", PackageResources.streamBox_mustache),
    ]
}
