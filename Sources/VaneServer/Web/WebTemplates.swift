import Mustache

// Mustache templates of the console, compiled into the binary. `{{x}}` escapes HTML; `{{{x}}}`
// is used only for markup Vane builds itself (SVG charts, escaped JSON for scripts).

enum WebTemplates {
    static func library() throws -> MustacheLibrary {
        var library = MustacheLibrary()
        for (name, text) in all { try library.register(text, named: name) }
        return library
    }

    static let all: [String: String] = [
        "layout": layout, "signin": signin, "setup": setup, "overview": overview, "list": list, "gate": gate,
        "entity": entity, "experiment": experiment, "results": results, "metrics": metrics, "metric": metric,
        "events": events, "event": event, "segment": segment, "idlists": idlists, "idlist": idlist,
        "settings": settings, "error": error, "metricRow": metricRow,
    ]

    static let layout = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{{csrf}}">
<title>{{title}} · Vane</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/vane.css">
<script src="/console/assets/vane.js" defer></script>
<script src="/console/assets/dom.js" defer></script>
<script src="/console/assets/rule-builder.js" defer></script>
<script src="/console/assets/groups-editor.js" defer></script>
<script src="/console/assets/experiment-setup.js" defer></script>
</head>
<body>
<a class="skip" href="#content">Skip to content</a>
{{#signedIn}}
<div class="app">
  <aside class="sidebar">
    <a class="brand" href="/console">Vane</a>
    <nav aria-label="Main">
      <a href="/console" {{#nav.overview}}aria-current="page"{{/nav.overview}}>Overview</a>
      <div class="section">Release</div>
      <a href="/console/gates" {{#nav.gates}}aria-current="page"{{/nav.gates}}>Feature gates</a>
      <a href="/console/dynamic_configs" {{#nav.dynamic_configs}}aria-current="page"{{/nav.dynamic_configs}}>Dynamic configs</a>
      <a href="/console/segments" {{#nav.segments}}aria-current="page"{{/nav.segments}}>Segments</a>
      <a href="/console/id_lists" {{#nav.id_lists}}aria-current="page"{{/nav.id_lists}}>ID lists</a>
      <div class="section">Experiment</div>
      <a href="/console/experiments" {{#nav.experiments}}aria-current="page"{{/nav.experiments}}>Experiments</a>
      <a href="/console/layers" {{#nav.layers}}aria-current="page"{{/nav.layers}}>Layers</a>
      <a href="/console/holdouts" {{#nav.holdouts}}aria-current="page"{{/nav.holdouts}}>Holdouts</a>
      <a href="/console/metrics" {{#nav.metrics}}aria-current="page"{{/nav.metrics}}>Metrics</a>
      <div class="section">Data</div>
      <a href="/console/events" {{#nav.events}}aria-current="page"{{/nav.events}}>Events</a>
      <a href="/console/integrations/segment" {{#nav.segment}}aria-current="page"{{/nav.segment}}>Integrations</a>
      <a href="/console/settings" {{#nav.settings}}aria-current="page"{{/nav.settings}}>Settings</a>
    </nav>
  </aside>
  <div class="main">
    <header class="topbar">
      <span class="muted">{{userEmail}} · <span class="badge">{{userRole}}</span></span>
      <form method="post" action="/console/logout" id="logout-form">
        <input type="hidden" name="_csrf" value="{{csrf}}">
        <button class="btn btn-small" type="submit">Sign out</button>
      </form>
    </header>
    <main class="content" id="content">
{{$body}}{{/body}}
    </main>
  </div>
</div>
{{/signedIn}}
{{^signedIn}}
<main class="content" id="content" style="max-width: 440px; margin: 8vh auto;">
{{$body}}{{/body}}
</main>
{{/signedIn}}
</body>
</html>
"""#

    static let signin = #"""
{{<layout}}{{$body}}
<div class="card">
  <h1 style="margin-top:0">Sign in to Vane</h1>
  <form method="post" action="/console/login" class="stack" id="signin-form">
    <input type="hidden" name="_csrf" value="{{formToken}}">
    <input type="hidden" name="next" value="{{next}}">
    <div class="form-error" role="alert">{{error}}</div>
    <div class="field"><label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required value="{{email}}" autofocus></div>
    <div class="field"><label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required></div>
    <button class="btn btn-primary" type="submit" id="signin-submit">Sign in</button>
  </form>
</div>
{{/body}}{{/layout}}
"""#

    static let setup = #"""
{{<layout}}{{$body}}
<div class="card">
  <h1 style="margin-top:0">Welcome to Vane</h1>
  <p class="muted">Create the first administrator. You can invite editors and viewers afterwards.</p>
  <form method="post" action="/console/setup" class="stack" id="setup-form">
    <input type="hidden" name="_csrf" value="{{formToken}}">
    <div class="form-error" role="alert">{{error}}</div>
    <div class="field"><label for="name">Name</label>
      <input id="name" name="name" type="text" autocomplete="name" value="{{name}}"></div>
    <div class="field"><label for="email">Email</label>
      <input id="email" name="email" type="email" autocomplete="username" required value="{{email}}" {{#errors.email}}aria-invalid="true"{{/errors.email}}>
      <div class="field-error">{{errors.email}}</div></div>
    <div class="field"><label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="new-password" required {{#errors.password}}aria-invalid="true"{{/errors.password}}>
      <div class="hint">At least 10 characters.</div>
      <div class="field-error">{{errors.password}}</div></div>
    <button class="btn btn-primary" type="submit" id="setup-submit">Create administrator</button>
  </form>
</div>
{{/body}}{{/layout}}
"""#

    static let overview = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1>Overview</h1><p class="sub">Today, {{today}} (UTC)</p></div></div>
<div class="grid-4" id="overview">
  <div class="stat"><div class="stat-value">{{eventsToday}}</div><div class="stat-label">events today (custom and Segment, not exposures)</div></div>
  <div class="stat"><div class="stat-value">{{exposuresToday}}</div><div class="stat-label">exposures today (gate, config and experiment checks)</div></div>
  <div class="stat"><div class="stat-value">{{runningCount}}</div><div class="stat-label">running experiments</div></div>
  <div class="stat"><div class="stat-value">{{gateCount}}</div><div class="stat-label">feature gates</div></div>
</div>
<div class="grid-2">
  <section class="card"><h2>Events today by source</h2>
    {{^empty(sources)}}<div class="table-wrap"><table class="data" id="sources-table"><thead><tr><th>Source</th><th class="num">Events</th><th class="num">Exposures</th></tr></thead><tbody>
    {{#sources}}<tr><td>{{name}}</td><td class="num">{{events}}</td><td class="num">{{exposures}}</td></tr>{{/sources}}
    <tr class="total"><td>All sources</td><td class="num">{{eventsToday}}</td><td class="num">{{exposuresToday}}</td></tr>
    </tbody></table></div>{{/empty(sources)}}
    {{^sources}}<div class="empty"><strong>No events yet today</strong>Point an SDK at this server or enable the <a href="/console/integrations/segment">Segment integration</a>.</div>{{/sources}}
  </section>
  <section class="card"><h2>Integration health</h2>
    <dl class="kv">
      <dt>Segment inbound</dt><dd>{{#inboundEnabled}}<span class="badge badge-ok">enabled</span>{{/inboundEnabled}}{{^inboundEnabled}}<span class="badge">off</span>{{/inboundEnabled}} {{inboundToday}} events today</dd>
      <dt>Segment outbound</dt><dd>{{#outboundEnabled}}<span class="badge badge-ok">enabled</span>{{/outboundEnabled}}{{^outboundEnabled}}<span class="badge">off</span>{{/outboundEnabled}} {{outboundDelivered}} delivered{{#outboundError}} · <span class="badge badge-bad">last error</span> {{outboundError}}{{/outboundError}}{{#deadLetters}} · {{deadLetters}} dead letters{{/deadLetters}}</dd>
    </dl>
  </section>
</div>
<section class="card" id="connect"><h2>Connect an SDK</h2>
  <p class="muted">This server's address is <code>{{serverURL}}</code>. Keys are in <a href="/console/settings">Settings → Keys</a> (each is shown once, when created); more in <code>docs/clients/</code>.</p>
  <details open><summary>Python, Statsig's server-core SDK (<code>statsig-python-core</code>)</summary>
<pre class="snippet" id="snippet-core"><code>from statsig_python_core import Statsig, StatsigOptions, StatsigUser

statsig = Statsig("secret-…", StatsigOptions(
    specs_url="{{serverURL}}/v2/download_config_specs",
    log_event_url="{{serverURL}}/v1/log_event",
    id_lists_url="{{serverURL}}/v1/get_id_lists",
))
statsig.initialize().wait()
statsig.check_gate(StatsigUser("user-1"), "new_checkout")</code></pre><button class="btn btn-small" type="button" data-copy="snippet-core">Copy</button></details>
  <details><summary>Python, Statsig's legacy server SDK (<code>statsig</code>)</summary>
<pre class="snippet" id="snippet-legacy"><code>from statsig import statsig, StatsigOptions, StatsigUser

statsig.initialize("secret-…", StatsigOptions(api="{{serverURL}}/v1/"))
statsig.check_gate(StatsigUser("user-1"), "new_checkout")</code></pre><button class="btn btn-small" type="button" data-copy="snippet-legacy">Copy</button></details>
  <details><summary>Browser, Statsig's JS client (<code>@statsig/js-client</code>, a client key)</summary>
<pre class="snippet" id="snippet-js"><code>import { StatsigClient } from "@statsig/js-client";

const client = new StatsigClient("client-…", { userID: "user-1" }, {
  networkConfig: { api: "{{serverURL}}/v1" },
});
await client.initializeAsync();
client.checkGate("new_checkout");</code></pre><button class="btn btn-small" type="button" data-copy="snippet-js">Copy</button></details>
  <details><summary>Segment: libraries sending here, or a Segment destination</summary>
<pre class="snippet" id="snippet-segment"><code>import segment.analytics as analytics

analytics.write_key = "&lt;the inbound write key: Integrations → Segment&gt;"
analytics.host = "{{serverURL}}"
analytics.track("user-1", "Order Completed", {"revenue": 42})

# Segment Webhooks destination URL: {{serverURL}}/v1/webhooks/segment</code></pre><button class="btn btn-small" type="button" data-copy="snippet-segment">Copy</button></details>
</section>
<section class="card"><h2>Running experiments</h2>
  {{^empty(running)}}<div class="table-wrap"><table class="data"><thead><tr><th>Experiment</th><th>Unit</th><th>Started</th><th></th></tr></thead><tbody>
  {{#running}}<tr><td><a href="/console/experiments/{{name}}">{{name}}</a></td><td>{{idType}}</td><td>{{started}}</td><td><a href="/console/experiments/{{name}}/results">Results</a></td></tr>{{/running}}
  </tbody></table></div>{{/empty(running)}}
  {{^running}}<div class="empty"><strong>No experiment is running</strong><a href="/console/experiments">Create an experiment</a> and start it to see results here.</div>{{/running}}
</section>
{{/body}}{{/layout}}
"""#

    /// Lists of gates, configs, experiments, segments and layers.
    static let list = #"""
{{<layout}}{{$body}}
<div class="page-header">
  <div><h1>{{heading}}</h1><p class="sub">{{blurb}}</p></div>
  <div class="actions"><input type="search" id="list-search" placeholder="Search {{heading}}" aria-label="Search {{heading}}" data-filter-table="entity-table"></div>
</div>
{{^empty(items)}}
<div class="table-wrap"><table class="data" id="entity-table"><thead><tr>
  <th data-sort="text">Name</th><th data-sort="text">Status</th><th data-sort="text">Description</th><th data-sort="number">{{countHeading}}</th><th data-sort="text">Updated</th>
</tr></thead><tbody>
{{#items}}<tr><td><a href="{{href}}">{{name}}</a></td><td><span class="badge {{statusClass}}">{{status}}</span></td><td class="muted">{{description}}</td><td class="num">{{rules}}</td><td data-value="{{updatedSort}}">{{updated}}</td></tr>{{/items}}
</tbody></table></div>
{{/empty(items)}}
{{^items}}<div class="empty"><strong>No {{heading}} yet</strong>{{emptyHint}}</div>{{/items}}
{{#canEdit}}
<section class="card"><h2>New {{singular}}</h2>
  <form data-api="/console/v1/{{collection}}" data-method="POST" data-redirect="{{base}}/{name}" class="stack" id="create-form">
    <div class="form-error" role="alert"></div>
    <div class="field"><label for="new-name">Name</label><input id="new-name" name="name" type="text" required pattern="[A-Za-z0-9_.\-]+" placeholder="new_checkout">
      <div class="hint">Letters, digits, _ . and -</div><div class="field-error" data-error-for="name"></div></div>
    <div class="field"><label for="new-description">Description</label><input id="new-description" name="description" type="text" data-type="optional"></div>
    {{#isExperiment}}
    <div class="field"><label for="new-idType">Unit type</label><select id="new-idType" name="idType">{{#idTypes}}<option>{{.}}</option>{{/idTypes}}</select></div>
    <div class="field"><strong>Groups and parameters</strong>
      <div id="new-groups-editor" data-groups-editor data-json="new-groups"></div>
      <div class="field-error" data-error-for="groups"></div></div>
    <details id="new-groups-advanced"><summary>Advanced: the groups as JSON</summary>
    <div class="field"><label for="new-groups">Groups (JSON)</label>
      <textarea id="new-groups" name="groups" data-type="json" rows="6">[{"name": "Control", "size": 50, "parameterValues": {}}, {"name": "Test", "size": 50, "parameterValues": {}}]</textarea>
      <div class="hint">Names, sizes (adding up to 100) and parameter values.</div></div>
    </details>
    {{/isExperiment}}
    {{#isSegmentList}}
    <div class="field"><label for="new-segmentType">Type</label><select id="new-segmentType" name="segmentType"><option value="rule_based">Rule based</option><option value="id_list">ID list</option></select></div>
    {{/isSegmentList}}
    <div><button class="btn btn-primary" type="submit" id="create-submit">Create {{singular}}</button></div>
  </form>
</section>
{{/canEdit}}
{{/body}}{{/layout}}
"""#

    static let rulesTable = #"""
{{^empty(rules)}}<div class="table-wrap"><table class="data" id="rules-table" data-rules-path="/console/v1/{{collection}}/{{name}}"><thead><tr><th>#</th><th>Rule</th><th>Conditions</th><th class="num">Pass %</th><th>On in</th></tr></thead><tbody>
{{#rules}}<tr><td>{{index}}</td><td>{{name}}{{#group}} → <strong>{{group}}</strong>{{/group}}</td><td>{{#conditions}}<div><code>{{.}}</code></div>{{/conditions}}</td><td class="num">{{pass}}{{^empty(schedule)}}<div class="muted small schedule" title="Scheduled rollout">{{#schedule}}<div>{{time}} → {{pass}}% <span class="badge">{{status}}</span></div>{{/schedule}}</div>{{/empty(schedule)}}</td>
<td>{{#envSwitches}}<label class="switch" style="font-weight:400"><input type="checkbox" data-env-switch data-rule="{{rule}}" value="{{env}}" {{#on}}checked{{/on}} {{^canEdit}}disabled{{/canEdit}}> {{env}}</label> {{/envSwitches}}</td></tr>{{/rules}}
</tbody></table></div><p class="muted" id="env-switch-status" role="status"></p>{{/empty(rules)}}
{{^rules}}<div class="empty"><strong>No rules</strong>Everyone gets the default value. Add a rule below.</div>{{/rules}}
"""#

    /// Guardrail metrics of a gate or an experiment, what the watch last did, and (for editors) the form.
    static let guardrailsCard = #"""
<section class="card" id="guardrails"><h2>Guardrails</h2>
{{^empty(guardrails)}}<div class="table-wrap"><table class="data" id="guardrails-table"><thead><tr><th>Metric</th><th>Harm is</th><th class="num">Tolerated</th></tr></thead><tbody>
{{#guardrails}}<tr><td class="mono">{{metric}}</td><td>{{direction}}</td><td class="num">{{tolerance}}</td></tr>{{/guardrails}}
</tbody></table></div>
<p class="muted">Checked every run of the guardrail job with the sequential test; when one is harmed beyond its tolerance with confidence, {{guardrailAction}}</p>{{/empty(guardrails)}}
{{^guardrails}}<p class="muted">No guardrails. Name metrics that must not get worse, and Vane {{guardrailAction}}</p>{{/guardrails}}
{{#guardrailFired}}<div class="banner banner-warn" id="guardrail-fired"><strong>A guardrail acted</strong> {{time}}: {{description}}</div>{{/guardrailFired}}
{{#canEdit}}
  <details><summary>Edit guardrails</summary>
  <form data-api="/console/v1/{{collection}}/{{name}}" data-method="PATCH" class="stack" id="guardrails-form" style="max-width:none" data-reload-after-save>
    <div class="form-error" role="alert"></div>
    <div class="inline" data-guardrail-picker="guardrails-json">
      <div class="field"><label for="guardrail-metric">Metric</label><select id="guardrail-metric">{{#metricOptions}}<option>{{.}}</option>{{/metricOptions}}</select></div>
      <div class="field"><label for="guardrail-direction">Harm is</label><select id="guardrail-direction"><option value="decrease">a decrease</option><option value="increase">an increase</option></select></div>
      <div class="field"><label for="guardrail-tolerance">Tolerated %</label><input id="guardrail-tolerance" type="number" min="0" max="99" step="any" value="2"></div>
      <div class="field"><span class="label">&nbsp;</span><button class="btn btn-small" type="button" id="add-guardrail">Add guardrail</button></div>
    </div>
    <div class="field"><label for="guardrails-json">Guardrails (JSON)</label>
      <textarea id="guardrails-json" name="guardrails" data-type="json" rows="6">{{guardrailsJSON}}</textarea>
      <div class="hint">A list of <code>{"metric": "conversion:purchase", "harmfulDirection": "decrease", "tolerance": 0.02}</code>: a metric id as the results name it (<code>count:</code>, <code>conversion:</code>, <code>sum:</code>, <code>mean:</code> and an event, or a defined metric), whether a <code>decrease</code> or an <code>increase</code> is harm, and the relative change tolerated (0.02 is 2 %).</div>
      <div class="field-error" data-error-for="guardrails"></div></div>
    <div><button class="btn btn-primary" type="submit" id="save-guardrails">Save guardrails</button> <span class="form-ok" role="status"></span></div>
  </form></details>
{{/canEdit}}
</section>
"""#

    /// The experiment page's power calculator (Resources/experiment-setup.js draws its answer).
    static let powerCard = #"""
<section class="card" id="power"><h2>Power and duration</h2>
  <form data-power-api="/console/v1/experiments/{{name}}/power" data-output="power-result" class="stack" id="power-form" style="max-width:none">
    <div class="form-error" role="alert"></div>
    <div class="inline">
      <div class="field"><label for="power-metric">Metric</label><select id="power-metric" name="metric">{{#metricOptions}}<option>{{.}}</option>{{/metricOptions}}</select></div>
      <div class="field"><label for="power-mde">Change to detect %</label><input id="power-mde" name="mde" type="number" min="0" step="any" data-percent value="5"></div>
      <div class="field"><label for="power-power">Power %</label><input id="power-power" name="power" type="number" min="1" max="99" step="any" data-percent value="80"></div>
      <div class="field"><label for="power-alpha">Significance level</label><input id="power-alpha" name="alpha" type="number" min="0" max="1" step="any" value="0.05"></div>
    </div>
    <details><summary>Enter the baseline or traffic yourself</summary>
    <div class="inline">
      <div class="field"><label for="power-mean">Baseline mean</label><input id="power-mean" name="mean" type="number" step="any"></div>
      <div class="field"><label for="power-sd">Standard deviation</label><input id="power-sd" name="sd" type="number" min="0" step="any"></div>
      <div class="field"><label for="power-units">Units per day</label><input id="power-units" name="unitsPerDay" type="number" min="0" step="any"></div>
    </div>
    <div class="hint">Left empty, the baseline comes from this experiment's control group once it has units (else from the other experiment or rollout with the most units on the metric), and the traffic from recent exposures (else from the units logging the metric's event).</div>
    </details>
    <div><button class="btn" type="submit" id="power-estimate">Estimate</button></div>
  </form>
  <div id="power-result" aria-live="polite"></div>
</section>
"""#

    static let gate = #"""
{{<layout}}{{$body}}
<div class="page-header">
  <div><h1>{{name}}</h1><p class="sub">{{description}}</p></div>
  <div class="actions">
    <span class="badge {{#enabled}}badge-ok{{/enabled}}">{{#enabled}}enabled{{/enabled}}{{^enabled}}disabled{{/enabled}}</span>
    {{#canEdit}}
    <form data-api="/console/v1/gates/{{name}}/{{#enabled}}disable{{/enabled}}{{^enabled}}enable{{/enabled}}" data-method="PUT" data-nobody="1" id="toggle-form"{{#enabled}} data-confirm="Disable {{name}} in every environment ({{#environments}}{{.}} {{/environments}})? Everyone gets false until it is enabled again."{{/enabled}}>
      <button class="btn" type="submit" id="toggle-gate">{{#enabled}}Disable{{/enabled}}{{^enabled}}Enable{{/enabled}}</button></form>
    {{/canEdit}}
    {{#hasPartial}}<a class="btn" href="/console/gates/{{name}}/results" id="rollout-results">Rollout results</a>{{/hasPartial}}
  </div>
</div>
<section class="card"><h2>Rules</h2>
"""# + rulesTable + #"""

{{#canEdit}}
  <details {{^rules}}open{{/rules}}><summary>Edit rules</summary>
  <form data-api="/console/v1/gates/{{name}}" data-method="PATCH" class="stack" id="rules-form" style="max-width:none" data-reload-after-save>
    <div class="form-error" role="alert"></div>
    <div id="rule-builder" data-rule-builder data-json="rules" data-options="{{builderOptions}}"></div>
    <div class="field-error" data-error-for="rules"></div>
    <details id="rules-advanced"><summary>Advanced: the rules as JSON</summary>
    <div class="field"><label for="rules">Rules (JSON)</label>
      <textarea id="rules" name="rules" data-type="json" rows="14">{{rulesJSON}}</textarea>
      <div class="hint">Each rule: <code>name</code>, <code>passPercentage</code>, <code>conditions</code> (e.g. <code>{"type": "email", "operator": "str_contains_any", "targetValue": ["@example.com"]}</code>), optional <code>environments</code>, optional <code>schedule</code> (steps of <code>{"time": ms since 1970, "passPercentage": 50}</code>, in time order; Vane applies each when due). The builder above and this editor show the same rules.</div></div>
    </details>
    <div><button class="btn btn-primary" type="submit" id="save-rules">Save rules</button> <span class="form-ok" role="status"></span></div>
  </form></details>
{{/canEdit}}
</section>
"""# + guardrailsCard + #"""
<section class="card"><h2>Test a user</h2>
  <form data-api="/console/v1/gates/{{name}}/evaluate" data-method="POST" data-result="evaluation" data-output="test-result" class="stack" id="test-form" style="max-width:none">
    <div class="form-error" role="alert"></div>
    <div class="inline">
      <div class="field"><label for="test-environment">Environment</label><select id="test-environment" name="environment">{{#environments}}<option>{{.}}</option>{{/environments}}</select></div>
    </div>
    <div class="field"><label for="test-user">User (JSON)</label>
      <textarea id="test-user" name="user" data-type="json" rows="5">{"userID": "user-1", "email": "ada@example.com", "country": "US", "custom": {}}</textarea>
      <div class="field-error" data-error-for="user"></div></div>
    <div><button class="btn btn-primary" type="submit" id="test-run">Evaluate</button></div>
  </form>
  <div id="test-result" hidden class="banner banner-info" role="status" aria-live="polite">
    Value <span data-slot="value" class="badge"></span> decided by rule <strong data-slot="rule"></strong> <span class="muted" data-slot="reason"></span>
    <details><summary>Full evaluation</summary><pre class="json" data-slot="json"></pre></details>
  </div>
</section>
{{#results}}
"""# + resultsSection + #"""
{{/results}}
{{/body}}{{/layout}}
"""#

    /// Dynamic configs, segments and layers: details and a JSON editor of the whole definition.
    static let entity = #"""
{{<layout}}{{$body}}
<div class="page-header">
  <div><h1>{{name}}</h1><p class="sub">{{kindName}} · {{description}}</p></div>
  <div class="actions">{{#idList}}<a class="btn" href="/console/id_lists/{{idList}}">ID list {{idList}}</a>{{/idList}}{{#isHoldout}}<a class="btn" href="/console/holdouts/{{name}}/results" id="holdout-results">Holdout results</a>{{/isHoldout}}</div>
</div>
<section class="card"><h2>Rules</h2>
"""# + rulesTable + #"""
</section>
{{#defaultJSON}}<section class="card"><h2>Default value</h2><pre class="json">{{defaultJSON}}</pre></section>{{/defaultJSON}}
{{#canEdit}}
<section class="card"><h2>Edit</h2>
  <form data-api="/console/v1/{{collection}}/{{name}}" data-method="PATCH" class="stack" id="entity-form" style="max-width:none" data-reload-after-save>
    <div class="form-error" role="alert"></div>
    <div class="field"><label for="description">Description</label><input id="description" name="description" type="text" value="{{description}}"></div>
    {{#hasDefault}}<div class="field"><label for="defaultValue">Default value (JSON object)</label>
      <textarea id="defaultValue" name="defaultValue" data-type="json" rows="6">{{defaultJSON}}</textarea><div class="field-error" data-error-for="defaultValue"></div></div>{{/hasDefault}}
    <div class="field"><strong>Rules</strong>
      <div id="rule-builder" data-rule-builder data-json="rules" data-options="{{builderOptions}}"></div>
      <div class="field-error" data-error-for="rules"></div></div>
    <details id="rules-advanced"><summary>Advanced: the rules as JSON</summary>
    <div class="field"><label for="rules">Rules (JSON)</label>
      <textarea id="rules" name="rules" data-type="json" rows="12">{{rulesJSON}}</textarea>
      {{#hasDefault}}<div class="hint">Rules of a dynamic config carry a <code>returnValue</code> object.</div>{{/hasDefault}}</div>
    </details>
    <div><button class="btn btn-primary" type="submit" id="save-entity">Save</button> <span class="form-ok" role="status"></span></div>
  </form>
</section>
{{/canEdit}}
{{/body}}{{/layout}}
"""#

    static let experiment = #"""
{{<layout}}{{$body}}
<div class="page-header">
  <div><h1>{{name}}</h1><p class="sub">{{hypothesis}}{{^hypothesis}}{{description}}{{/hypothesis}}</p></div>
  <div class="actions">
    <span class="badge {{statusClass}}">{{status}}</span>
    <a class="btn btn-primary" href="/console/experiments/{{name}}/results" id="view-results">Results</a>
    {{#canEdit}}
    {{#canStart}}<form data-api="/console/v1/experiments/{{name}}/start" data-method="PUT" data-nobody="1"><button class="btn" type="submit" id="start-experiment">Start</button></form>{{/canStart}}
    {{#canStop}}<form data-api="/console/v1/experiments/{{name}}/abandon" data-method="PUT" data-nobody="1" data-confirm="Stop this experiment and ship nothing? Everyone gets the default values again."><button class="btn btn-danger" type="submit" id="stop-experiment">Stop, ship nothing</button></form>{{/canStop}}
    {{/canEdit}}
  </div>
</div>
{{#launchedGroup}}<div class="banner banner-info" id="decision-banner"><strong>Shipped {{launchedGroup}}.</strong> Everyone gets the values of {{launchedGroup}}; the experiment no longer assigns groups.</div>{{/launchedGroup}}
{{#canEdit}}{{#canStop}}
<section class="card" id="decision-card"><h2>Decide</h2>
  <form data-api="/console/v1/experiments/{{name}}/make_decision" data-method="PUT" class="inline" id="decision-form" data-confirm="Ship the chosen group? Everyone gets its values and the experiment stops assigning groups." data-reload-after-save data-ok-text="Shipped.">
    <div class="field"><label for="ship-group">Ship group</label><select id="ship-group" name="group">{{#groups}}<option>{{name}}</option>{{/groups}}</select></div>
    <button class="btn btn-primary" type="submit" id="ship-group-submit">Ship</button> <span class="form-ok" role="status"></span><span class="form-error" role="alert"></span>
  </form>
  <p class="muted small">Shipping makes the group's parameter values what everyone gets. "Stop, ship nothing" above returns everyone to the default values.</p>
</section>
{{/canStop}}{{/canEdit}}
<div class="grid-2">
<section class="card"><h2>Setup</h2>
  <dl class="kv">
    <dt>Unit type</dt><dd>{{idType}}</dd>
    <dt>Allocation</dt><dd>{{allocation}}%</dd>
    <dt>Targeting gate</dt><dd>{{#targetingGate}}<a href="/console/gates/{{targetingGate}}">{{targetingGate}}</a>{{/targetingGate}}{{^targetingGate}}everyone{{/targetingGate}}</dd>
    <dt>Layer</dt><dd>{{layer}}{{^layer}}none{{/layer}}</dd>
    <dt>Primary metrics</dt><dd id="primary-metrics">{{primaryMetricsText}}{{^primaryMetricsText}}none chosen{{/primaryMetricsText}}</dd>
    <dt>Analysis window</dt><dd>{{window}}</dd>
    <dt>Started</dt><dd>{{started}}{{^started}}not yet{{/started}}</dd>
  </dl>
</section>
<section class="card"><h2>Groups</h2>
  <div class="table-wrap"><table class="data"><thead><tr><th>Group</th><th class="num">Size</th><th>Parameters</th></tr></thead><tbody>
  {{#groups}}<tr><td>{{name}}</td><td class="num">{{size}}%</td><td><code>{{parameters}}</code></td></tr>{{/groups}}
  </tbody></table></div>
</section>
</div>
"""# + guardrailsCard + powerCard + #"""
{{#canEdit}}
<section class="card"><h2>Edit setup</h2>
  <form data-api="/console/v1/experiments/{{name}}" data-method="PATCH" class="stack" id="experiment-form" style="max-width:none" data-reload-after-save>
    <div class="form-error" role="alert"></div>
    <div class="inline">
      <div class="field"><label for="idType">Unit type</label><select id="idType" name="idType">{{#idTypes}}<option {{#selected}}selected{{/selected}}>{{name}}</option>{{/idTypes}}</select></div>
      <div class="field"><label for="allocation">Allocation %</label><input id="allocation" name="allocation" type="number" min="0" max="100" step="any" data-type="number" value="{{allocation}}"><div class="field-error" data-error-for="allocation"></div></div>
      <div class="field"><label for="targetingGate">Targeting gate</label><select id="targetingGate" name="targetingGate" data-type="nullable"><option value="">everyone</option>{{#gateOptions}}<option value="{{name}}" {{#selected}}selected{{/selected}}>{{name}}</option>{{/gateOptions}}</select><div class="field-error" data-error-for="targetingGate"></div></div>
      <div class="field"><label for="layer">Layer</label><select id="layer" name="layer" data-type="nullable"><option value="">none</option>{{#layerOptions}}<option value="{{name}}" {{#selected}}selected{{/selected}}>{{name}}</option>{{/layerOptions}}</select><div class="field-error" data-error-for="layer"></div></div>
      <div class="field"><label for="analysisWindowDays">Window (days)</label><input id="analysisWindowDays" name="analysisWindowDays" type="number" min="1" data-type="number" value="{{windowDays}}"><div class="field-error" data-error-for="analysisWindowDays"></div></div>
    </div>
    <div class="field"><label for="hypothesis">Hypothesis</label><input id="hypothesis" name="hypothesis" type="text" value="{{hypothesis}}"></div>
    <div class="field"><label for="primaryMetrics">Primary metrics</label><input id="primaryMetrics" name="primaryMetrics" type="text" data-type="list" value="{{primaryMetricsText}}" placeholder="conversion:purchase, revenue">
      <div class="inline" data-metric-picker="primaryMetrics"><select aria-label="A metric from the catalogue" id="primary-metric-choice">{{#metricOptions}}<option>{{.}}</option>{{/metricOptions}}</select><button class="btn btn-small" type="button" id="add-primary-metric">Add</button></div>
      <div class="hint">The metrics this experiment is run to move, comma-separated, most important first: automatic ones such as <code>conversion:purchase</code> or a defined metric's name. Results show them first.</div><div class="field-error" data-error-for="primaryMetrics"></div></div>
    <div class="field"><strong>Groups and parameters</strong>
      <div id="groups-editor" data-groups-editor data-json="groups"></div>
      <div class="field-error" data-error-for="groups"></div></div>
    <details id="groups-advanced"><summary>Advanced: the groups as JSON</summary>
    <div class="field"><label for="groups">Groups (JSON)</label><textarea id="groups" name="groups" data-type="json" rows="8">{{groupsJSON}}</textarea></div>
    </details>
    {{#canStop}}<label class="switch" style="font-weight:400"><input type="checkbox" name="confirmSplitChange" id="confirm-split"> The experiment is running: if I change group sizes, start a new analysis period (the sample-ratio check restarts with the new sizes)</label>{{/canStop}}
    <div><button class="btn btn-primary" type="submit" id="save-experiment">Save</button> <span class="form-ok" role="status"></span></div>
  </form>
</section>
{{/canEdit}}
{{/body}}{{/layout}}
"""#

    /// One metric's comparison in the results table (primary, guardrail and other rows alike).
    static let metricRow = #"""
<tr>
    <td><a href="/console/metrics/{{metricPath}}">{{metric}}</a>{{#guardrail}} <span class="badge badge-warn guardrail-badge" title="{{guardrail}}">guardrail</span>{{/guardrail}}<div class="muted">{{type}}{{#cuped}} · CUPED{{/cuped}}</div></td>
    <td>{{group}}</td><td class="num">{{controlMean}}</td><td class="num">{{treatmentMean}}</td>
    <td class="num lift {{sigClass}}" data-value="{{liftValue}}" title="p = {{pValue}}">{{lift}}</td>
    <td>{{#chart}}<span title="p = {{pValue}}; {{interval}}">{{{chart}}}</span><div class="muted small interval-text">{{interval}} · {{#chance}}chance to beat control {{chance}}{{/chance}}{{^chance}}p = {{pValue}}{{/chance}}</div>{{/chart}}{{^chart}}<span class="badge reason-badge" tabindex="0" title="{{reason}}" aria-label="No interval: {{reason}}">{{reasonShort}}</span>{{/chart}}</td>
  </tr>
"""#

    static let resultsSection = #"""
<section class="card" id="results">
  <div class="page-header" style="margin-bottom:8px"><h2 style="margin:0">{{heading}}</h2>
    <div class="actions muted">Unit: {{idType}} · computed {{computedAt}}</div></div>
  {{#hasSrmPeriods}}<details class="card" id="srm-periods" open><summary>The split changed while the experiment ran: sample-ratio check per analysis period (the day of each change is left out)</summary>
  <div class="table-wrap"><table class="data"><thead><tr><th>From</th><th>To</th><th>Split</th><th>Units</th><th>Check</th></tr></thead><tbody>
  {{#srmPeriods}}<tr><td>{{from}}</td><td>{{to}}</td><td>{{split}}</td><td>{{units}}</td><td>{{#mismatch}}<span class="badge badge-bad">{{check}}</span>{{/mismatch}}{{^mismatch}}{{check}}{{/mismatch}}</td></tr>{{/srmPeriods}}
  </tbody></table></div></details>{{/hasSrmPeriods}}
  {{#srmMismatch}}<div class="banner banner-bad" id="srm-banner" role="alert"><strong>Sample ratio mismatch.</strong> Units split {{observed}} against the configured {{expected}} (p = {{srmP}}). Something in assignment or logging is off: do not trust these results until it is explained.</div>{{/srmMismatch}}
  {{#scope}}<p class="muted" id="results-scope">{{scope}}</p>{{/scope}}
  {{#crossovers}}<p class="muted">{{crossovers}} units saw more than one group and are excluded.</p>{{/crossovers}}
  {{#eventsSetAside}}<p class="muted" id="set-aside">{{eventsSetAside}} events of this project could not be used (time or value out of range) and are in no metric: <a href="/console/v1/pulse/skipped">which and why</a>.</p>{{/eventsSetAside}}
  <div class="inline" style="align-items:center;justify-content:space-between;margin-bottom:10px">
    <div class="legend"><span><i style="background:var(--ok)"></i>significant gain</span><span><i style="background:var(--bad)"></i>significant loss</span><span><i style="background:#b7bfcc"></i>not significant</span></div>
    <form method="get" class="inline" id="results-options">
      <label class="switch"><input type="checkbox" name="cuped" value="false" {{^cuped}}checked{{/cuped}}> no CUPED</label>
      <label class="switch"><input type="checkbox" name="sequential" value="true" {{#sequential}}checked{{/sequential}}> sequential</label>
      <label class="switch">Engine <select name="engine" aria-label="Statistics engine">
        <option value="frequentist" {{^bayesian}}selected{{/bayesian}}>frequentist</option>
        <option value="bayesian" {{#bayesian}}selected{{/bayesian}}>Bayesian</option></select></label>
      <label class="switch">Correction <select name="correction" aria-label="Multiple-comparison correction">
        <option value="none" {{#correctionNone}}selected{{/correctionNone}}>none</option>
        <option value="bonferroni" {{#correctionBonferroni}}selected{{/correctionBonferroni}}>Bonferroni</option>
        <option value="benjamini-hochberg" {{#correctionBH}}selected{{/correctionBH}}>Benjamini–Hochberg</option></select></label>
      <label class="switch"><input type="checkbox" name="winsorize" value="true" {{#winsorize}}checked{{/winsorize}}> winsorize</label>
      <label class="switch">Drill down by <input type="text" name="dimension" value="{{dimension}}" list="dimension-names" size="14" placeholder="none" aria-label="Drill down by a field"></label>
      <datalist id="dimension-names"><option value="environment"><option value="country"><option value="locale"><option value="appVersion"><option value="custom."></datalist>
      <button class="btn btn-small" type="submit">Apply</button>
    </form>
  </div>
  <div class="table-wrap"><table class="data" id="groups-table"><thead><tr><th>Group</th><th class="num">Units</th><th class="num">Configured</th></tr></thead><tbody>
  {{#groups}}<tr><td>{{name}}</td><td class="num">{{units}}</td><td class="num">{{weight}}</td></tr>{{/groups}}</tbody></table></div>
  {{^empty(metrics)}}
  <div class="table-wrap"><table class="data" id="metrics-table"><thead><tr>
    <th data-sort="text">Metric</th><th>Group</th><th class="num">Control</th><th class="num">Group mean</th><th class="num" data-sort="number">Lift</th><th>Interval (relative, {{level}})</th>
  </tr></thead><tbody>
  {{^empty(primaryRows)}}<tr class="section-row"><th colspan="6">Primary metrics</th></tr>{{/empty(primaryRows)}}
  {{#primaryRows}}{{>metricRow}}{{/primaryRows}}
  {{#primaryMissing}}<tr class="section-row"><td colspan="6" class="muted">{{.}}: no data yet</td></tr>{{/primaryMissing}}
  {{^empty(guardrailRows)}}<tr class="section-row"><th colspan="6">Guardrails</th></tr>{{/empty(guardrailRows)}}
  {{#guardrailRows}}{{>metricRow}}{{/guardrailRows}}
  {{#collapseOthers}}<tr class="section-row"><th colspan="6"><button type="button" class="btn btn-small" id="show-other-metrics" data-toggle-rows="other-metrics" data-show-text="Show {{otherCount}} other metric rows" aria-expanded="false">Show {{otherCount}} other metric rows</button></th></tr>{{/collapseOthers}}
  </tbody><tbody id="other-metrics" {{#collapseOthers}}hidden{{/collapseOthers}}>
  {{#otherRows}}{{>metricRow}}{{/otherRows}}
  </tbody></table></div>
  {{/empty(metrics)}}
  {{^metrics}}<div class="empty"><strong>No metric data yet</strong>Results appear once exposed units log events (through an SDK's logEvent or Segment).</div>{{/metrics}}
  {{#drill}}<section id="drilldown"><h2>By {{dimension}}</h2>
  {{#flagged}}<div class="banner banner-warn differential-impact" role="status"><strong>The effect differs across values of {{dimension}}</strong> for {{metric}} ({{group}}; interaction p = {{p}}).</div>{{/flagged}}
  <div class="table-wrap"><table class="data" id="drilldown-table"><thead><tr>
    <th data-sort="text">{{dimension}}</th><th data-sort="text">Metric</th><th>Group</th><th class="num">Units</th><th class="num" data-sort="number">Lift</th><th>Interval (relative, {{level}})</th>
  </tr></thead><tbody>
  {{#rows}}<tr><td>{{slice}}</td><td>{{metric}}</td><td>{{group}}</td><td class="num">{{units}}</td>
    <td class="num lift {{sigClass}}" data-value="{{liftValue}}" title="p = {{pValue}}">{{lift}}</td>
    <td>{{#chart}}<span title="p = {{pValue}}; {{interval}}">{{{chart}}}</span><div class="muted small interval-text">{{interval}}</div>{{/chart}}{{^chart}}<span class="muted">{{reason}}</span>{{/chart}}</td></tr>{{/rows}}
  </tbody></table></div>
  {{#notes}}<p class="muted small">{{.}}</p>{{/notes}}
  </section>{{/drill}}
  <h2>Exposures per day</h2>
  {{#exposureChart}}<div id="exposures-chart">{{{exposureChart}}}</div>{{/exposureChart}}
  {{^exposureChart}}<div class="empty"><strong>No exposures yet</strong>Units are exposed when an SDK evaluates this for them.</div>{{/exposureChart}}
</section>
"""#

    static let results = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1>{{name}}</h1><p class="sub"><a href="{{back}}">← {{backLabel}}</a></p></div></div>
{{#results}}
"""# + resultsSection + #"""
{{/results}}
{{/body}}{{/layout}}
"""#

    static let metrics = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1>Metrics</h1><p class="sub">Every event name gives a count and a conversion metric; define sums, means and ratios below.</p></div>
  <div class="actions"><input type="search" placeholder="Search metrics" aria-label="Search metrics" data-filter-table="metrics-list"></div></div>
{{^empty(items)}}
<div class="table-wrap"><table class="data" id="metrics-list"><thead><tr><th data-sort="text">Metric</th><th data-sort="text">Type</th><th data-sort="text">Event</th><th class="num" data-sort="number">Events</th><th data-sort="text">Last seen</th></tr></thead><tbody>
{{#items}}<tr><td><a href="/console/metrics/{{path}}">{{name}}</a>{{^automatic}} <span class="badge badge-info">custom</span>{{/automatic}}</td><td>{{type}}</td><td><code>{{event}}</code></td><td class="num">{{events}}</td><td>{{lastSeen}}</td></tr>{{/items}}
</tbody></table></div>
{{/empty(items)}}
{{^items}}<div class="empty"><strong>No metrics yet</strong>Log events with an SDK or send them from Segment; each event name becomes a metric.</div>{{/items}}
{{#canEdit}}
<section class="card"><h2>New metric</h2>
  <form data-api="/console/v1/metrics" data-method="POST" data-redirect="/console/metrics/{name}" class="stack" id="metric-form">
    <div class="form-error" role="alert"></div>
    <div class="inline">
      <div class="field"><label for="metric-name">Name</label><input id="metric-name" name="name" type="text" required placeholder="revenue"><div class="field-error" data-error-for="name"></div></div>
      <div class="field"><label for="metric-type">Type</label><select id="metric-type" name="type"><option>sum</option><option>mean</option><option>count</option><option>conversion</option><option>ratio</option></select></div>
    </div>
    <div class="field"><label for="metric-event">Event</label><input id="metric-event" name="event" type="text" data-type="optional" placeholder="purchase or segment::Order Completed" list="event-names"><div class="field-error" data-error-for="event"></div>
      <datalist id="event-names">{{#events}}<option value="{{.}}">{{/events}}</datalist></div>
    <div class="field"><label for="metric-filters">Metadata filters (JSON, optional)</label><textarea id="metric-filters" name="filters" data-type="json" rows="3" placeholder='[{"key": "name", "op": "eq", "values": ["Checkout"]}]'></textarea><div class="field-error" data-error-for="filters"></div></div>
    <div class="inline">
      <div class="field"><label for="metric-numerator">Numerator (ratio)</label><input id="metric-numerator" name="numerator" type="text" data-type="optional" placeholder="revenue"><div class="field-error" data-error-for="numerator"></div></div>
      <div class="field"><label for="metric-denominator">Denominator (ratio)</label><input id="metric-denominator" name="denominator" type="text" data-type="optional" placeholder="count:session_start"><div class="field-error" data-error-for="denominator"></div></div>
    </div>
    <div class="field"><label for="metric-description">Description</label><input id="metric-description" name="description" type="text" data-type="optional"></div>
    <div><button class="btn btn-primary" type="submit" id="create-metric">Create metric</button></div>
  </form>
</section>
{{/canEdit}}
{{/body}}{{/layout}}
"""#

    static let metric = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1>{{name}}</h1><p class="sub">{{type}}{{#event}} of <code>{{event}}</code>{{/event}}{{#filters}} where {{filters}}{{/filters}}{{#ratio}} {{ratio}}{{/ratio}}{{#metricDescription}} · {{metricDescription}}{{/metricDescription}}</p></div>
{{#custom}}{{#canEdit}}<form data-api="/console/v1/metrics/{{name}}" data-method="DELETE" data-nobody="1" data-redirect="/console/metrics" data-confirm="Delete this metric?"><button class="btn btn-danger" type="submit">Delete</button></form>{{/canEdit}}{{/custom}}</div>
<form method="get" class="inline card" id="metric-range">
  <div class="field"><label for="range-from">From</label><input id="range-from" name="from" type="date" value="{{from}}"></div>
  <div class="field"><label for="range-to">To</label><input id="range-to" name="to" type="date" value="{{to}}"></div>
  <button class="btn" type="submit" id="range-apply">Show</button>{{#from}}<a class="btn" href="?">All days</a>{{/from}}{{^from}}{{#to}}<a class="btn" href="?">All days</a>{{/to}}{{/from}}
</form>
<section class="card"><h2>Events per day</h2>
{{#chart}}<div id="metric-chart">{{{chart}}}</div>{{/chart}}
{{^chart}}<div class="empty"><strong>No events</strong>This metric has had no events{{#from}} in this range{{/from}}{{^from}}{{#to}} in this range{{/to}}{{/from}}.</div>{{/chart}}
</section>
{{#valueChart}}<section class="card"><h2>Value sum per day</h2><div id="metric-value-chart">{{{valueChart}}}</div></section>{{/valueChart}}
{{^empty(days)}}<div class="table-wrap"><table class="data" id="series-table"><thead><tr><th data-sort="text">Day</th><th class="num" data-sort="number">Events</th><th class="num" data-sort="number">Unique users</th><th class="num" data-sort="number">Value sum</th></tr></thead><tbody>
{{#days}}<tr><td>{{day}}</td><td class="num">{{events}}</td><td class="num">{{units}}</td><td class="num">{{sum}}</td></tr>{{/days}}
</tbody></table></div>{{/empty(days)}}
{{#custom}}{{#canEdit}}
<section class="card"><details><summary>Edit metric</summary>
  <form data-api="/console/v1/metrics/{{name}}" data-method="PATCH" class="stack" id="metric-edit-form" data-reload-after-save>
    <div class="form-error" role="alert"></div>
    <div class="inline">
      <div class="field"><label for="edit-type">Type</label><select id="edit-type" name="type">{{#typeOptions}}<option {{#selected}}selected{{/selected}}>{{name}}</option>{{/typeOptions}}</select></div>
      <div class="field"><label for="edit-event">Event</label><input id="edit-event" name="event" type="text" data-type="nullable" value="{{eventValue}}"><div class="field-error" data-error-for="event"></div></div>
    </div>
    <div class="field"><label for="edit-filters">Metadata filters (JSON)</label><textarea id="edit-filters" name="filters" data-type="json" rows="3">{{filtersJSON}}</textarea><div class="field-error" data-error-for="filters"></div></div>
    <div class="inline">
      <div class="field"><label for="edit-numerator">Numerator (ratio)</label><input id="edit-numerator" name="numerator" type="text" data-type="nullable" value="{{numerator}}"><div class="field-error" data-error-for="numerator"></div></div>
      <div class="field"><label for="edit-denominator">Denominator (ratio)</label><input id="edit-denominator" name="denominator" type="text" data-type="nullable" value="{{denominator}}"><div class="field-error" data-error-for="denominator"></div></div>
    </div>
    <div class="field"><label for="edit-description">Description</label><input id="edit-description" name="description" type="text" data-type="nullable" value="{{metricDescription}}"></div>
    <div><button class="btn btn-primary" type="submit" id="save-metric">Save</button> <span class="form-ok" role="status"></span></div>
    <p class="muted small">Changes are audited. Results recompute from the rollups; a changed filter rebuilds them once.</p>
  </form></details></section>
{{/canEdit}}{{/custom}}
{{/body}}{{/layout}}
"""#

    static let drawer = #"""
<aside class="drawer" id="event-drawer" hidden aria-label="Event details">
  <div class="page-header"><h2 data-slot="title" class="mono"></h2><button class="btn btn-small" type="button" data-close>Close</button></div>
  <dl class="kv" data-slot="fields"></dl>
  <section><h2 style="margin-top:14px">User</h2><pre class="json" data-slot="user"></pre></section>
  <section><h2 style="margin-top:14px">Metadata</h2><pre class="json" data-slot="metadata"></pre></section>
  <section><h2 style="margin-top:14px">Raw Segment message</h2><pre class="json" data-slot="raw"></pre></section>
  <p><a data-slot="link" href="#">Open as a page</a></p>
</aside>
"""#

    static let streamBox = #"""
<div data-stream {{#streamSource}}data-source="{{streamSource}}"{{/streamSource}} id="live-stream">
  <div class="stream-toolbar">
    <div class="field"><label for="stream-name">Event name starts with</label><input id="stream-name" type="search" data-stream-name placeholder="segment::"></div>
    {{^streamSource}}<div class="field"><label for="stream-source">Source</label><select id="stream-source" data-stream-source><option value="">all</option><option>sdk</option><option>http_api</option><option>segment</option></select></div>{{/streamSource}}
    <button class="btn" type="button" data-stream-pause aria-pressed="false" id="stream-pause">Pause</button>
    <span class="muted" aria-live="polite"><span class="live-dot"></span><span data-stream-state>Live</span> · <span data-stream-rate id="stream-rate">0.0</span> events/s · <span data-stream-count id="stream-count">0</span> received</span>
  </div>
  <div class="stream" id="stream-list"><div class="stream-empty">Waiting for events… they appear here the moment they are stored.</div></div>
</div>
"""#

    static let events = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1>Events</h1><p class="sub">The live log of every stored event, and a search over history.</p></div></div>
<div class="tabs" role="tablist"><a href="/console/events" {{^explore}}aria-current="page"{{/explore}}>Live stream</a><a href="/console/events?tab=explore" {{#explore}}aria-current="page"{{/explore}}>Explorer</a></div>
{{^explore}}
"""# + streamBox + #"""
{{/explore}}
{{#explore}}
<form method="get" class="inline card" id="explorer-form">
  <input type="hidden" name="tab" value="explore">
  <div class="field"><label for="q-match">Event name</label><div class="inline"><select id="q-match" name="match" aria-label="How the name matches">{{#matchOptions}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{label}}</option>{{/matchOptions}}</select><input id="q-event" name="eventName" type="text" value="{{q.eventName}}" aria-label="Event name"></div></div>
  <div class="field"><label for="q-user">User ID</label><input id="q-user" name="userID" type="text" value="{{q.userID}}"></div>
  <div class="field"><label for="q-source">Source</label><select id="q-source" name="source"><option value="">all</option>{{#sourcesOptions}}<option {{#selected}}selected{{/selected}}>{{name}}</option>{{/sourcesOptions}}</select></div>
  <div class="field"><label for="q-since">Since (UTC day)</label><input id="q-since" name="since" type="date" value="{{q.since}}"></div>
  <button class="btn btn-primary" type="submit" id="explorer-search">Search</button>
</form>
{{#error}}<div class="banner banner-bad">{{error}}</div>{{/error}}
{{^empty(rows)}}<div class="table-wrap"><table class="data" id="explorer-table"><thead><tr><th data-sort="text">Time (UTC)</th><th data-sort="text">Event</th><th data-sort="text">Source</th><th data-sort="text">User</th><th class="num">Value</th></tr></thead><tbody>
{{#rows}}<tr><td class="mono">{{time}}</td><td><a href="/console/events/{{id}}" class="mono">{{name}}</a></td><td>{{source}}</td><td>{{user}}</td><td class="num">{{value}}</td></tr>{{/rows}}
</tbody></table></div>
{{#next}}<a class="btn" href="{{next}}">Older events</a>{{/next}}{{/empty(rows)}}
{{^rows}}<div class="empty"><strong>No events match</strong>Try a wider time range or clear a filter.</div>{{/rows}}
{{/explore}}

"""# + drawer + #"""

{{/body}}{{/layout}}
"""#

    static let event = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1 class="mono">{{name}}</h1><p class="sub"><a href="/console/events?tab=explore">← Events</a></p></div></div>
<div class="grid-2">
<section class="card"><h2>Event</h2><dl class="kv" id="event-fields">
  <dt>Time (UTC)</dt><dd>{{time}}</dd><dt>Received</dt><dd>{{received}}</dd><dt>Source</dt><dd>{{source}}</dd>
  <dt>User ID</dt><dd>{{userID}}</dd><dt>Custom IDs</dt><dd>{{customIDs}}</dd><dt>Environment</dt><dd>{{environment}}</dd><dt>Value</dt><dd>{{value}}</dd>
</dl></section>
<section class="card"><h2>User</h2><pre class="json">{{userJSON}}</pre></section>
</div>
<section class="card"><h2>Metadata</h2><pre class="json" id="event-metadata">{{metadataJSON}}</pre></section>
{{#rawJSON}}<section class="card"><h2>Raw Segment message</h2><pre class="json" id="event-raw">{{rawJSON}}</pre></section>{{/rawJSON}}
{{/body}}{{/layout}}
"""#

    static let segment = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1>Segment</h1><p class="sub">Receive events from Segment, and send exposures and config changes back to it.</p></div></div>
<div class="tabs"><a href="/console/integrations/segment" {{^outbound}}aria-current="page"{{/outbound}} id="tab-inbound">Inbound</a><a href="/console/integrations/segment?tab=outbound" {{#outbound}}aria-current="page"{{/outbound}} id="tab-outbound">Outbound</a></div>
{{^outbound}}
<div class="grid-2">
<section class="card"><h2>Connection</h2>
  <form data-api="/console/v1/integrations/segment/inbound" data-method="PUT" class="stack" id="inbound-enable-form" data-ok-text="Saved.">
    <label class="switch"><input type="checkbox" name="enabled" id="inbound-enabled" {{#in.enabled}}checked{{/in.enabled}} {{^isAdmin}}disabled{{/isAdmin}}> Receive events from Segment</label>
    {{#isAdmin}}<div><button class="btn btn-primary" type="submit" id="inbound-save">Save</button> <span class="form-ok" role="status"></span></div>{{/isAdmin}}
  </form>
  <div class="field" style="margin-top:12px"><label for="dest-url">Destination webhook URL (Segment → Vane destination)</label>
    <div class="inline"><input id="dest-url" type="text" readonly value="{{in.destinationURL}}"><button class="btn btn-small" type="button" data-copy="dest-url">Copy</button></div></div>
  <div class="field" style="margin-top:8px"><label for="tracking-url">Tracking API base (Segment libraries, Replay)</label>
    <div class="inline"><input id="tracking-url" type="text" readonly value="{{in.trackingURL}}"><button class="btn btn-small" type="button" data-copy="tracking-url">Copy</button></div></div>
  <p class="muted">Write key: {{#in.writeKeyPrefix}}<code>{{in.writeKeyPrefix}}…</code> (shown once when created){{/in.writeKeyPrefix}}{{^in.writeKeyPrefix}}none yet{{/in.writeKeyPrefix}} · Server secret works as the destination's API key.</p>
  {{#isAdmin}}
  <form data-api="/console/v1/integrations/segment/inbound/write_key" data-method="POST" data-nobody="1" data-result="revealKey" data-output="write-key-out" data-confirm="Create a new write key? Sources using the old one keep working until you revoke it in Settings.">
    <button class="btn" type="submit" id="write-key-rotate">{{#in.writeKeyPrefix}}Rotate write key{{/in.writeKeyPrefix}}{{^in.writeKeyPrefix}}Create write key{{/in.writeKeyPrefix}}</button></form>
  <div id="write-key-out" hidden class="banner banner-warn" style="margin-top:10px"><div class="field"><label for="write-key-value">New write key: copy it now, it is not shown again</label>
    <div class="inline"><input id="write-key-value" type="text" readonly><button class="btn btn-small" type="button" data-copy="write-key-value">Copy</button></div></div></div>
  {{/isAdmin}}
</section>
<section class="card"><h2>Event filtering and identifiers</h2>
  <form data-api="/console/v1/integrations/segment/inbound" data-method="PUT" class="stack" id="inbound-settings-form" data-ok-text="Saved.">
    <div class="form-error" role="alert"></div>
    <div class="field"><label for="in-allow">Only these events (one per line, <code>prefix*</code> allowed; empty: all)</label><textarea id="in-allow" name="filters.allowEvents" data-type="list" rows="3" style="min-height:0">{{in.allow}}</textarea><div class="field-error" data-error-for="filters.allowEvents"></div></div>
    <div class="field"><label for="in-deny">Never these events</label><textarea id="in-deny" name="filters.denyEvents" data-type="list" rows="3" style="min-height:0">{{in.deny}}</textarea><div class="field-error" data-error-for="filters.denyEvents"></div></div>
    <input type="hidden" name="filters.allowTypes" data-type="list" value="{{in.allowTypes}}">
    <input type="hidden" name="filters.denyTypes" data-type="list" value="{{in.denyTypes}}">
    <div class="field"><label for="in-mappings">Map identifiers (JSON)</label><textarea id="in-mappings" name="identifierMappings" data-type="json" rows="4" style="min-height:0">{{in.mappingsJSON}}</textarea>
      <div class="hint">Suggested: <code>{"field": "anonymousId", "idType": "segmentAnonymousId"}</code> so anonymous traffic can be analysed.</div><div class="field-error" data-error-for="identifierMappings"></div></div>
    <div class="field"><label for="in-secret">Shared secret for signed deliveries (X-Signature)</label><input id="in-secret" name="sharedSecret" type="password" autocomplete="off" data-type="optional" placeholder="{{#in.secretSet}}set (leave empty to keep){{/in.secretSet}}{{^in.secretSet}}not set{{/in.secretSet}}"><div class="field-error" data-error-for="sharedSecret"></div></div>
    {{#isAdmin}}<div><button class="btn btn-primary" type="submit" id="inbound-settings-save">Save</button> <span class="form-ok" role="status"></span></div>{{/isAdmin}}
  </form>
</section>
</div>
<section class="card"><h2>Usage by day</h2>
{{^empty(usage)}}<div class="table-wrap"><table class="data" id="usage-table"><thead><tr><th>Day</th><th class="num">Ingested</th><th class="num">Duplicates</th><th>Dropped (reason: count)</th></tr></thead><tbody>
{{#usage}}<tr><td>{{day}}</td><td class="num">{{ingested}}</td><td class="num">{{duplicates}}</td><td>{{dropped}}</td></tr>{{/usage}}</tbody></table></div>{{/empty(usage)}}
{{^usage}}<div class="empty"><strong>Nothing received yet</strong>Paste the URL and key above into Segment, or send a test event.</div>{{/usage}}
</section>
<section class="card"><h2>Live Segment events</h2>
  {{#isAdmin}}<form data-api="/console/v1/integrations/segment/inbound/test_event" data-method="POST" data-nobody="1" data-result="testEvent" data-output="test-event-out" class="inline" style="margin-bottom:10px">
    <button class="btn" type="submit" id="send-test-event">Send a test event</button><span id="test-event-out" hidden class="form-ok" role="status"></span></form>{{/isAdmin}}
  
"""# + streamBox + #"""

</section>

"""# + drawer + #"""

{{/outbound}}
{{#outbound}}
<div class="grid-2">
<section class="card"><h2>Delivery</h2>
  <form data-api="/console/v1/integrations/segment/outbound" data-method="PUT" class="stack" id="outbound-form" data-ok-text="Saved.">
    <div class="form-error" role="alert"></div>
    <label class="switch"><input type="checkbox" name="enabled" id="outbound-enabled" {{#out.enabled}}checked{{/out.enabled}}> Send events to Segment</label>
    <div class="field"><label for="outbound-write-key">Segment write key</label><input id="outbound-write-key" name="writeKey" type="password" autocomplete="off" placeholder="{{#out.writeKeySet}}set (leave empty to keep){{/out.writeKeySet}}" data-type="optional"><div class="field-error" data-error-for="writeKey"></div></div>
    <div class="field"><label for="outbound-endpoint">Endpoint</label><input id="outbound-endpoint" name="endpoint" type="url" value="{{out.endpoint}}"><div class="hint">https://api.segment.io (US region) or https://events.eu1.segmentapis.com (EU).</div><div class="field-error" data-error-for="endpoint"></div></div>
    <fieldset class="field"><legend>Send</legend>
      <label class="switch"><input type="checkbox" name="categories.gateExposures" {{#out.cat.gateExposures}}checked{{/out.cat.gateExposures}}> gate exposures</label>
      <label class="switch"><input type="checkbox" name="categories.configExposures" {{#out.cat.configExposures}}checked{{/out.cat.configExposures}}> config exposures</label>
      <label class="switch"><input type="checkbox" name="categories.experimentExposures" {{#out.cat.experimentExposures}}checked{{/out.cat.experimentExposures}}> experiment exposures</label>
      <label class="switch"><input type="checkbox" name="categories.customEvents" {{#out.cat.customEvents}}checked{{/out.cat.customEvents}}> custom events</label>
      <label class="switch"><input type="checkbox" name="categories.configChanges" {{#out.cat.configChanges}}checked{{/out.cat.configChanges}}> config changes</label>
    </fieldset>
    <div class="field"><label for="outbound-allow">Only these event names (one per line, <code>prefix*</code> allowed; empty: all)</label><textarea id="outbound-allow" name="allowEvents" data-type="list" rows="2" style="min-height:0">{{out.allow}}</textarea><div class="field-error" data-error-for="allowEvents"></div></div>
    <div class="field"><label for="outbound-deny">Never these event names</label><textarea id="outbound-deny" name="denyEvents" data-type="list" rows="2" style="min-height:0">{{out.deny}}</textarea><div class="field-error" data-error-for="denyEvents"></div></div>
    <div class="field"><label for="outbound-anon">Custom ID to send as anonymousId</label><input id="outbound-anon" name="anonymousIdFrom" type="text" value="{{out.anonymousIdFrom}}" data-type="optional"><div class="field-error" data-error-for="anonymousIdFrom"></div></div>
    {{#isAdmin}}<div><button class="btn btn-primary" type="submit" id="outbound-save">Save</button> <span class="form-ok" role="status"></span></div>{{/isAdmin}}
  </form>
</section>
<section class="card"><h2>Status</h2>
  <dl class="kv" id="outbound-status">
    <dt>Delivered</dt><dd id="outbound-delivered">{{out.delivered}}</dd>
    <dt>Requests</dt><dd>{{out.requests}}</dd>
    <dt>Waiting</dt><dd>{{out.pending}}</dd>
    <dt>Last success</dt><dd>{{out.lastSuccess}}</dd>
    <dt>Last error</dt><dd>{{out.lastError}}</dd>
    <dt>Dead letters</dt><dd id="dead-letter-count">{{out.deadLetters}}</dd>
  </dl>
  {{^empty(out.deadLetterRows)}}
  <h2 style="margin-top:14px">Dead letters</h2>
  <div class="table-wrap"><table class="data" id="dead-letters"><thead><tr><th>When</th><th>Reason</th><th>Event</th></tr></thead><tbody>
  {{#out.deadLetterRows}}<tr><td>{{time}}</td><td>{{reason}}</td><td class="mono">{{event}}</td></tr>{{/out.deadLetterRows}}</tbody></table></div>
  {{#isAdmin}}<form data-api="/console/v1/integrations/segment/outbound/dead_letters/retry" data-method="POST" data-nobody="1"><button class="btn" type="submit" id="retry-dead-letters">Retry all</button></form>{{/isAdmin}}
  {{/empty(out.deadLetterRows)}}
</section>
</div>
{{/outbound}}
{{/body}}{{/layout}}
"""#

    static let idlists = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1>ID lists</h1><p class="sub">Lists of IDs that segments target; Segment Engage audiences update them.</p></div></div>
{{^empty(items)}}<div class="table-wrap"><table class="data" id="idlists-table"><thead><tr><th data-sort="text">Name</th><th class="num" data-sort="number">Size</th><th data-sort="text">Last change</th><th>By</th></tr></thead><tbody>
{{#items}}<tr><td><a href="/console/id_lists/{{name}}">{{name}}</a></td><td class="num">{{size}}</td><td>{{updated}}</td><td>{{lastSource}}</td></tr>{{/items}}
</tbody></table></div>{{/empty(items)}}
{{^items}}<div class="empty"><strong>No ID lists</strong>Create one here, or let a Segment Engage audience create entries in a list with the audience's key.</div>{{/items}}
{{#canEdit}}<section class="card"><h2>New ID list</h2>
<form data-api="/console/v1/id_lists" data-method="POST" data-redirect="/console/id_lists/{name}" class="stack" id="idlist-form">
  <div class="form-error" role="alert"></div>
  <div class="field"><label for="idlist-name">Name</label><input id="idlist-name" name="name" type="text" required><div class="field-error" data-error-for="name"></div></div>
  <div><button class="btn btn-primary" type="submit">Create ID list</button></div>
</form></section>{{/canEdit}}
{{/body}}{{/layout}}
"""#

    static let idlist = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1>{{name}}</h1><p class="sub">{{size}} IDs · <a href="/console/id_lists">← ID lists</a></p></div></div>
{{#canEdit}}<section class="card"><h2>Add or remove IDs</h2>
<form data-api="/console/v1/id_lists/{{name}}/ids" data-method="POST" class="stack" id="idlist-ids-form">
  <div class="form-error" role="alert"></div>
  <div class="field"><label for="add-ids">Add (one per line)</label><textarea id="add-ids" name="add" data-type="list" rows="3" style="min-height:0"></textarea></div>
  <div class="field"><label for="remove-ids">Remove (one per line)</label><textarea id="remove-ids" name="remove" data-type="list" rows="3" style="min-height:0"></textarea></div>
  <div><button class="btn btn-primary" type="submit">Apply</button></div>
</form></section>{{/canEdit}}
<section class="card"><h2>Recent changes</h2>
{{^empty(changes)}}<div class="table-wrap"><table class="data"><thead><tr><th>When</th><th>Change</th><th>ID</th><th>Source</th></tr></thead><tbody>
{{#changes}}<tr><td>{{time}}</td><td>{{op}}</td><td class="mono">{{id}}</td><td>{{source}}</td></tr>{{/changes}}</tbody></table></div>{{/empty(changes)}}
{{^changes}}<div class="empty"><strong>No changes yet</strong></div>{{/changes}}
</section>
{{/body}}{{/layout}}
"""#

    static let settings = #"""
{{<layout}}{{$body}}
<div class="page-header"><div><h1>Settings</h1></div></div>
<div class="tabs"><a href="/console/settings" {{#tab.keys}}aria-current="page"{{/tab.keys}}>Keys</a><a href="/console/settings?tab=users" {{#tab.users}}aria-current="page"{{/tab.users}}>Users</a><a href="/console/settings?tab=project" {{#tab.project}}aria-current="page"{{/tab.project}}>Environments &amp; ID types</a><a href="/console/settings?tab=webhooks" {{#tab.webhooks}}aria-current="page"{{/tab.webhooks}}>Webhooks</a><a href="/console/settings?tab=audit" {{#tab.audit}}aria-current="page"{{/tab.audit}}>Audit log</a></div>
{{#tab.keys}}
<div class="table-wrap"><table class="data" id="keys-table"><thead><tr><th>Key</th><th>Kind</th><th>Environment</th><th>Description</th><th>Created</th><th></th></tr></thead><tbody>
{{#keys}}<tr><td class="mono">{{prefix}}…</td><td>{{kind}}</td><td>{{environment}}</td><td>{{description}}</td><td>{{created}}</td><td>{{#revoked}}<span class="badge">revoked</span>{{/revoked}}{{^revoked}}{{#isAdmin}}<form data-api="/console/v1/keys/{{id}}" data-method="DELETE" data-nobody="1" data-confirm="Revoke this key? Anything using it stops working."><button class="btn btn-small btn-danger" type="submit">Revoke</button></form>{{/isAdmin}}{{/revoked}}</td></tr>{{/keys}}
</tbody></table></div>
{{#isAdmin}}<section class="card"><h2>New key</h2>
<form data-api="/console/v1/keys" data-method="POST" data-result="revealKey" data-output="new-key-out" class="stack" id="key-form">
  <div class="form-error" role="alert"></div>
  <div class="inline"><div class="field"><label for="key-kind">Kind</label><select id="key-kind" name="kind"><option>server</option><option>client</option><option>console</option></select></div>
  <div class="field"><label for="key-env">Environment</label><select id="key-env" name="environment" data-type="optional"><option value="">all</option>{{#environments}}<option>{{.}}</option>{{/environments}}</select></div></div>
  <div class="field"><label for="key-description">Description</label><input id="key-description" name="description" type="text"></div>
  <div><button class="btn btn-primary" type="submit" id="create-key">Create key</button></div>
</form>
<div id="new-key-out" hidden class="banner banner-warn" style="margin-top:10px"><div class="field"><label for="new-key-value">Copy the key now: it is shown only once</label>
  <div class="inline"><input id="new-key-value" type="text" readonly><button class="btn btn-small" type="button" data-copy="new-key-value">Copy</button></div></div></div>
</section>{{/isAdmin}}
{{/tab.keys}}
{{#tab.users}}
<div class="table-wrap"><table class="data" id="users-table"><thead><tr><th>Email</th><th>Name</th><th>Role</th><th>Created</th>{{#isAdmin}}<th>Change</th>{{/isAdmin}}</tr></thead><tbody>
{{#users}}<tr><td>{{email}}</td><td>{{name}}</td><td><span class="badge">{{role}}</span>{{#disabled}} <span class="badge badge-bad">disabled</span>{{/disabled}}</td><td>{{created}}</td>
{{#isAdmin}}<td><form data-api="/console/v1/users/{{id}}" data-method="PATCH" class="inline" style="align-items:center">
  <select name="role" aria-label="Role of {{email}}" style="width:auto">{{#roles}}<option {{#selected}}selected{{/selected}}>{{name}}</option>{{/roles}}</select>
  <label class="switch" style="font-weight:400"><input type="checkbox" name="disabled" {{#disabled}}checked{{/disabled}}> disabled</label>
  <button class="btn btn-small" type="submit">Save</button><span class="form-error" role="alert"></span></form></td>{{/isAdmin}}</tr>{{/users}}
</tbody></table></div>
<section class="card"><h2>Your password</h2>
<form data-api="/console/v1/account/password" data-method="POST" class="stack" id="password-form" data-ok-text="Password changed.">
  <div class="form-error" role="alert"></div>
  <div class="field"><label for="current-password">Current password</label><input id="current-password" name="currentPassword" type="password" autocomplete="current-password" required><div class="field-error" data-error-for="currentPassword"></div></div>
  <div class="field"><label for="new-password">New password</label><input id="new-password" name="newPassword" type="password" autocomplete="new-password" required><div class="hint">At least 10 characters.</div><div class="field-error" data-error-for="newPassword"></div></div>
  <div><button class="btn btn-primary" type="submit" id="change-password">Change password</button> <span class="form-ok" role="status"></span></div>
</form></section>
{{#isAdmin}}<section class="card"><h2>Add a user</h2>
<form method="post" action="/console/settings/users" class="stack" id="user-form">
  <input type="hidden" name="_csrf" value="{{csrf}}">
  <div class="form-error" role="alert">{{userError}}</div>
  <div class="field"><label for="new-user-email">Email</label><input id="new-user-email" name="email" type="email" required value="{{form.email}}" {{#errors.email}}aria-invalid="true"{{/errors.email}}><div class="field-error">{{errors.email}}</div></div>
  <div class="field"><label for="new-user-name">Name</label><input id="new-user-name" name="name" type="text" value="{{form.name}}"></div>
  <div class="field"><label for="new-user-password">Initial password</label><input id="new-user-password" name="password" type="password" autocomplete="new-password" required {{#errors.password}}aria-invalid="true"{{/errors.password}}><div class="field-error">{{errors.password}}</div></div>
  <div class="field"><label for="new-user-role">Role</label><select id="new-user-role" name="role"><option>viewer</option><option>editor</option><option>admin</option></select></div>
  <div><button class="btn btn-primary" type="submit" id="create-user">Add user</button></div>
</form></section>{{/isAdmin}}
{{/tab.users}}
{{#tab.project}}
<div class="grid-2">
<section class="card"><h2>Environments</h2><ul>{{#environments}}<li>{{.}}</li>{{/environments}}</ul></section>
<section class="card"><h2>Custom ID types</h2><ul id="id-types">{{#idTypes}}<li>{{.}}</li>{{/idTypes}}</ul>
{{#canEdit}}<form data-api="/console/v1/custom_id_types" data-method="POST" class="inline" id="idtype-form">
  <div class="field"><label for="idtype-name">New ID type</label><input id="idtype-name" name="name" type="text" required><div class="field-error" data-error-for="name"></div></div>
  <button class="btn" type="submit">Add</button><div class="form-error" role="alert"></div></form>{{/canEdit}}
</section></div>
{{/tab.project}}
{{#tab.webhooks}}
<p class="muted">Each configuration change is posted to every webhook as JSON, signed with the webhook's secret (header <code>Vane-Signature: t=…,v1=…</code>: HMAC-SHA256 of <code>timestamp.body</code>; see <code>docs/webhooks.md</code>). Failed deliveries are retried with backoff, then kept as dead letters.</p>
{{^empty(webhooks)}}<div class="table-wrap"><table class="data" id="webhooks-table"><thead><tr><th>Endpoint</th><th>Receives</th><th>Delivery</th><th></th></tr></thead><tbody>
{{#webhooks}}<tr data-webhook="{{id}}"><td><span class="mono">{{url}}</span><div class="muted">{{description}} · {{id}} · created {{created}}</div></td><td>{{kinds}}</td>
<td>{{#enabled}}<span class="badge badge-ok">enabled</span>{{/enabled}}{{^enabled}}<span class="badge">disabled</span>{{/enabled}}
{{#failing}}<span class="badge badge-bad" title="{{lastError}}">failing since {{lastErrorTime}}</span>{{/failing}}
<div class="muted">{{delivered}} delivered · {{queued}} queued · {{deadLettered}} dead letters · last success {{lastSuccess}}</div>{{#failing}}<div class="muted">{{lastError}}</div>{{/failing}}</td>
<td>{{#isAdmin}}<div class="stack">
<form data-api="/console/v1/webhooks/{{id}}/test" data-method="POST" data-nobody="1" data-result="webhookPing" data-output="ping-{{id}}"><button class="btn btn-small" type="submit">Send a test ping</button> <span id="ping-{{id}}" class="muted" role="status"></span></form>
<form data-api="/console/v1/webhooks/{{id}}" data-method="PATCH" class="inline" style="align-items:center"><label class="switch" style="font-weight:400"><input type="checkbox" name="enabled" {{#enabled}}checked{{/enabled}}> enabled</label><button class="btn btn-small" type="submit">Save</button><span class="form-error" role="alert"></span></form>
{{#hasDeadLetters}}<form data-api="/console/v1/webhooks/{{id}}/dead_letters/retry" data-method="POST" data-ok-text="Sending them again."><button class="btn btn-small" type="submit">Send dead letters again</button> <span class="form-ok" role="status"></span></form>{{/hasDeadLetters}}
<form data-api="/console/v1/webhooks/{{id}}/rotate_secret" data-method="POST" data-nobody="1" data-result="revealSecret" data-output="secret-{{id}}" data-confirm="Make a new signing secret? For 24 hours requests are signed with the old one too."><button class="btn btn-small" type="submit">Rotate secret</button></form>
<div id="secret-{{id}}" hidden class="banner banner-warn"><label>New secret, shown only once <input type="text" readonly aria-label="New signing secret"></label></div>
<form data-api="/console/v1/webhooks/{{id}}" data-method="DELETE" data-nobody="1" data-confirm="Delete this webhook? It stops receiving changes."><button class="btn btn-small btn-danger" type="submit">Delete</button></form>
</div>{{/isAdmin}}</td></tr>{{/webhooks}}
</tbody></table></div>{{/empty(webhooks)}}
{{^webhooks}}<div class="empty"><strong>No webhooks</strong>Add one to tell another system (chat, CI, a data warehouse) about every configuration change.</div>{{/webhooks}}
{{#isAdmin}}<section class="card"><h2>New webhook</h2>
<form data-api="/console/v1/webhooks" data-method="POST" data-result="revealSecret" data-output="new-webhook-out" class="stack" id="webhook-form">
  <div class="form-error" role="alert"></div>
  <div class="field"><label for="webhook-url">URL</label><input id="webhook-url" name="url" type="url" required placeholder="https://example.com/hooks/vane"><div class="field-error" data-error-for="url"></div></div>
  <div class="field"><label for="webhook-description">Description</label><input id="webhook-description" name="description" type="text"></div>
  <div class="field"><label for="webhook-kinds">Receives</label><input id="webhook-kinds" name="kinds" type="text" data-type="list" placeholder="every configuration change"><div class="hint">Leave empty for every change, or list kinds: {{kinds}}.</div><div class="field-error" data-error-for="kinds"></div></div>
  <div><button class="btn btn-primary" type="submit" id="create-webhook">Add webhook</button></div>
</form>
<div id="new-webhook-out" hidden class="banner banner-warn" style="margin-top:10px"><div class="field"><label for="new-webhook-secret">Copy the signing secret now: it is shown only once</label>
  <div class="inline"><input id="new-webhook-secret" type="text" readonly><button class="btn btn-small" type="button" data-copy="new-webhook-secret">Copy</button></div></div>
  <p>Reload the page to manage the new webhook.</p></div>
</section>{{/isAdmin}}
{{/tab.webhooks}}
{{#tab.audit}}
<form method="get" class="inline card" id="audit-filter">
  <input type="hidden" name="tab" value="audit">
  <div class="field"><label for="audit-kind">Kind</label><select id="audit-kind" name="kind"><option value="">any</option>{{#kindOptions}}<option {{#selected}}selected{{/selected}}>{{value}}</option>{{/kindOptions}}</select></div>
  <div class="field"><label for="audit-action">Action</label><select id="audit-action" name="action"><option value="">any</option>{{#actionOptions}}<option value="{{value}}" {{#selected}}selected{{/selected}}>{{value}}</option>{{/actionOptions}}</select></div>
  <div class="field"><label for="audit-name">Name</label><input id="audit-name" name="name" type="text" value="{{q.name}}"></div>
  <div class="field"><label for="audit-actor">Who</label><input id="audit-actor" name="actor" type="text" value="{{q.actor}}" list="audit-actors"><datalist id="audit-actors">{{#actors}}<option value="{{.}}">{{/actors}}</datalist></div>
  <div class="field"><label for="audit-since">From</label><input id="audit-since" name="since" type="date" value="{{q.since}}"></div>
  <div class="field"><label for="audit-until">To</label><input id="audit-until" name="until" type="date" value="{{q.until}}"></div>
  <button class="btn btn-primary" type="submit">Filter</button>
</form>
{{^empty(audit)}}<div class="table-wrap"><table class="data" id="audit-table"><thead><tr><th data-sort="text">When</th><th data-sort="text">Who</th><th data-sort="text">Action</th><th data-sort="text">What</th></tr></thead><tbody>
{{#audit}}<tr><td>{{time}}</td><td>{{actor}}</td><td><span class="badge">{{action}}</span></td><td>{{kind}} <strong>{{name}}</strong> <div class="muted">{{description}}</div>
{{#hasChanges}}<details class="audit-changes"><summary>Changes ({{changeCount}})</summary><table class="data"><thead><tr><th>Field</th><th>Before</th><th>After</th></tr></thead><tbody>
{{#changes}}<tr><td class="mono">{{path}}</td><td class="mono">{{before}}</td><td class="mono">{{after}}</td></tr>{{/changes}}
</tbody></table></details>{{/hasChanges}}</td></tr>{{/audit}}
</tbody></table></div>{{/empty(audit)}}
{{^audit}}<div class="empty"><strong>Nothing matches</strong>Every change to configuration is recorded here.</div>{{/audit}}
{{/tab.audit}}
{{/body}}{{/layout}}
"""#

    static let error = #"""
{{<layout}}{{$body}}
<div class="empty"><strong>{{heading}}</strong>{{message}} <a href="/console">Back to the overview</a></div>
{{/body}}{{/layout}}
"""#
}
