"""Vane as a Segment source (Statsig's "Configuring Outbound Events to Segment"; reference rules 27-31).

Vane's exporter posts `track` messages to `{endpoint}/v1/batch` of a Segment-compatible receiver
(`_segment_receiver.SegmentReceiver`, 127.0.0.1) that checks requests the way Segment's HTTP API does.

* Schema, mapping and filters run on the shared session server (unique names per test); the outbound
  settings are project-wide, so every test PUTs the whole settings it needs.
* Retries, dead letters, status counters, size limits and crash recovery run on servers of their own
  (`VaneProcess`, own data dir), so counters are exact and a failing receiver disturbs nothing else.

Everything talks to 127.0.0.1 only.
"""
import base64
import json
import re
import time
import uuid

import pytest

from _segment_receiver import (OUTBOUND, SegmentReceiver, VaneProcess, canon, compact, configure, dead_letters, disable, iso_ms,
                               log_events, now_ms, parse_iso, retry_dead_letters, status, uniq, wait_until)
from _support import to_sdk_user
from conftest import make_sdk
from vane_server import binary_path

P = "so_%s_" % uuid.uuid4().hex[:6]   # this module's entity names on the shared server
UUID5_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LIBRARY = {"name": "statsig", "version": "1.0"}
INTEGRATION = {"name": "vane", "version": "1.0.0"}
WAIT = 20.0


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def receiver():
    with SegmentReceiver("wk_outbound_" + uuid.uuid4().hex[:12]) as r:
        yield r


@pytest.fixture(scope="module")
def outbound(vane, custom_id_types, receiver):
    """The session server exporting to `receiver`, with a gate, a config, an experiment and a layer."""
    v = vane
    public = [{"type": "public"}]
    v.console_ok("POST", "/gates", {"name": P + "gate", "rules": [
        {"name": "everyone", "passPercentage": 100, "conditions": public}]})
    v.console_ok("POST", "/dynamic_configs", {"name": P + "config", "defaultValue": {"color": "blue"}, "rules": [
        {"name": "everyone", "passPercentage": 100, "conditions": public, "returnValue": {"color": "green"}}]})
    v.console_ok("POST", "/experiments", {"name": P + "exp", "allocation": 100, "groups": [
        {"name": "Control", "size": 50, "parameterValues": {"n": 1}},
        {"name": "Test", "size": 50, "parameterValues": {"n": 2}}]})
    v.console_ok("PUT", "/experiments/%s/start" % (P + "exp"), {})
    v.console_ok("POST", "/layers", {"name": P + "layer", "defaultValue": {"title": "Hello", "footer": "plain"}})
    v.console_ok("POST", "/experiments", {"name": P + "layer_exp", "layer": P + "layer", "allocation": 100, "groups": [
        {"name": "Control", "size": 50, "parameterValues": {"title": "Hi"}},
        {"name": "Test", "size": 50, "parameterValues": {"title": "Hey"}}]})
    v.console_ok("PUT", "/experiments/%s/start" % (P + "layer_exp"), {})
    configure(v, receiver)
    yield v
    disable(v)


@pytest.fixture
def own(tmp_path):
    """A `vane serve` of the test's own (function scope); .start() it, it is stopped afterwards."""
    vp = VaneProcess(binary_path(), tmp_path / "data", segment_write_key="wk_inbound_own")
    yield vp
    vp.stop()


# ---------------------------------------------------------------- helpers

def sentinel(v, receiver, *, name=None, user=None, timeout=WAIT):
    """Logs one event after everything else and waits for it at the receiver: the exporter works in
    event order, so anything logged before it that was going to be sent has been sent."""
    marker = uniq("sentinel")
    ev = {"eventName": name or P + "sentinel", "user": user or {"userID": marker},
          "metadata": {"sentinel": marker}}
    log_events(v, [ev])
    got = receiver.wait_marker(marker, 1, timeout)
    assert got, "the sentinel event %s (%s) did not reach the receiver within %ds; status %s" % (
        ev["eventName"], marker, timeout, json.dumps(status(v)))
    return got[0]


def check_common(m, problems, where=""):
    """Fields every exported message has (rules 27-28, the Statsig source schema)."""
    w = where or m.get("event")
    if m.get("type") != "track":
        problems.append("%s: type %r, want 'track'" % (w, m.get("type")))
    if not isinstance(m.get("event"), str) or not m.get("event"):
        problems.append("%s: event %r" % (w, m.get("event")))
    if not isinstance(m.get("messageId"), str) or not UUID5_RE.match(m["messageId"]):
        problems.append("%s: messageId %r is not a UUIDv5" % (w, m.get("messageId")))
    if not isinstance(m.get("timestamp"), str) or not TS_RE.match(m["timestamp"]):
        problems.append("%s: timestamp %r is not ISO-8601 UTC with ms and Z" % (w, m.get("timestamp")))
    ctx = m.get("context") or {}
    if ctx.get("library") != LIBRARY:
        problems.append("%s: context.library %r, want %r" % (w, ctx.get("library"), LIBRARY))
    if ctx.get("integration") != INTEGRATION:
        problems.append("%s: context.integration %r, want %r" % (w, ctx.get("integration"), INTEGRATION))
    if not (isinstance(m.get("userId"), str) and m["userId"]) and \
            not (isinstance(m.get("anonymousId"), str) and m["anonymousId"]):
        problems.append("%s: neither userId nor anonymousId" % w)


def check_event_message(m, stored, problems, *, event=None, anonymous=None):
    """An exported Vane event against the stored one (explorer shape), field by field."""
    w = "%s (event id %s)" % (event or stored["eventName"], stored.get("id"))
    check_common(m, problems, w)
    if m.get("event") != (event or stored["eventName"]):
        problems.append("%s: event %r" % (w, m.get("event")))
    user = stored.get("user") or {}
    if stored.get("userID"):
        if m.get("userId") != stored["userID"]:
            problems.append("%s: userId %r, want %r" % (w, m.get("userId"), stored["userID"]))
    stable = (user.get("customIDs") or {}).get("stableID")
    want_anon = stable if anonymous is None else anonymous
    if want_anon is not None and m.get("anonymousId") != want_anon:
        problems.append("%s: anonymousId %r, want %r" % (w, m.get("anonymousId"), want_anon))
    if user.get("email") is not None and m.get("email") != user["email"]:
        problems.append("%s: email %r, want %r" % (w, m.get("email"), user["email"]))
    if m.get("timestamp") != iso_ms(stored["time"]):
        problems.append("%s: timestamp %r, want %r (event time %d)" % (w, m.get("timestamp"), iso_ms(stored["time"]),
                                                                       stored["time"]))
    props = m.get("properties")
    if not isinstance(props, dict) or "value" not in props or "metadata" not in props:
        problems.append("%s: properties should be {value, metadata}: %r" % (w, props))
        props = {}
    if props.get("value") != stored.get("value"):
        problems.append("%s: properties.value %r, want %r" % (w, props.get("value"), stored.get("value")))
    ctx = m.get("context") or {}
    for k in ("user", "value", "metadata", "stableID"):
        if k not in ctx:
            problems.append("%s: context lacks %r" % (w, k))
    if ctx.get("user") != user:
        problems.append("%s: context.user %s, want the event's user %s" % (w, compact(ctx.get("user"))[:300],
                                                                         compact(user)[:300]))
    if ctx.get("value") != props.get("value") or ctx.get("metadata") != props.get("metadata"):
        problems.append("%s: context.value/metadata differ from properties" % w)
    if ctx.get("stableID") != stable:
        problems.append("%s: context.stableID %r, want %r" % (w, ctx.get("stableID"), stable))
    if "privateAttributes" in compact(m) or "do-not-export" in compact(m):
        problems.append("%s: private attributes were exported" % w)


def explorer_by_id(v, **params):
    return {e["id"]: e for e in v.events(**params)}


def match_stored(m, stored_events):
    """The stored event an exported message came from (same time and metadata, compatible name)."""
    for e in stored_events:
        md = dict((m.get("properties") or {}).get("metadata") or {})
        # Vane names the group of experiment exposures (and of layer exposures allocated to an experiment).
        if "experimentGroupName" not in (e.get("metadata") or {}):
            md.pop("experimentGroupName", None)
        if m.get("event") == "statsig::experiment_exposure" and e["eventName"] == "statsig::config_exposure":
            pass
        elif m.get("event") != e["eventName"]:
            continue
        if md == (e.get("metadata") or {}) and m.get("timestamp") == iso_ms(e["time"]):
            return e
    return None


def synthetic(what, user, **md):
    """A log_event event of each category (what the SDKs log)."""
    names = {"gate": "statsig::gate_exposure", "config": "statsig::config_exposure",
             "layer": "statsig::layer_exposure"}
    return {"eventName": names.get(what, what), "user": user, "metadata": md, "time": now_ms()}


def requests_with(receiver, message_id):
    with receiver.lock:
        return [r for r in receiver.requests if message_id in r["message_ids"]]


def check_request_shape(receiver, problems, only=None):
    """Rule 27/29 for every request the receiver got (or those `only(request)` selects)."""
    key = receiver.write_key
    want_auth = "Basic " + base64.b64encode((key + ":").encode()).decode()
    with receiver.lock:
        reqs = [r for r in receiver.requests if only is None or only(r)]
    for r in reqs:
        w = "request #%d" % r["index"]
        if r["path"] != "/v1/batch":
            problems.append("%s: path %r" % (w, r["path"]))
        if r["authorization"] != want_auth:
            problems.append("%s: Authorization %r, want %r" % (w, r["authorization"], want_auth))
        if r["body_write_key"] != key:
            problems.append("%s: body writeKey %r" % (w, r["body_write_key"]))
        if "json" not in (r["content_type"] or ""):
            problems.append("%s: Content-Type %r" % (w, r["content_type"]))
        if not isinstance(r["sent_at"], str) or parse_iso(r["sent_at"]) is None:
            problems.append("%s: sentAt %r" % (w, r["sent_at"]))
        elif abs(parse_iso(r["sent_at"]) - r["time"] * 1000) > 10000:
            problems.append("%s: sentAt %s is not the send time" % (w, r["sent_at"]))
        if r.get("n", 0) > 2500:
            problems.append("%s: %d messages in one batch (Segment's max 2,500)" % (w, r["n"]))
        if r.get("inflated_bytes", r["bytes"]) > 500_000:
            problems.append("%s: %d bytes (Segment's max 500 KB)" % (w, r.get("inflated_bytes", r["bytes"])))


# ================================================================ (a) schema, via the Statsig SDK

def test_sdk_exposures_and_custom_event_arrive_as_segment_tracks(outbound, receiver):
    """(a)+(e) The Statsig SDK evaluates against Vane; its gate, config, experiment and layer exposures
    and a custom event arrive as Segment tracks, field by field against the Statsig source schema."""
    from statsig import StatsigEvent
    v = outbound
    uid = uniq("sdkuser")
    wire = {"userID": uid, "email": uid + "@example.com", "country": "NZ", "custom": {"plan": "pro", "seats": 3},
            "privateAttributes": {"secret": "do-not-export"},
            "customIDs": {"stableID": "stable-" + uid, "companyID": "co-" + uid}}
    u = to_sdk_user(wire)
    sdk = make_sdk(v)
    try:
        gate = sdk.get_feature_gate(u, P + "gate")
        cfg = sdk.get_config(u, P + "config")
        exp = sdk.get_experiment(u, P + "exp")
        layer = sdk.get_layer(u, P + "layer")
        assert layer.get("title", None) in ("Hi", "Hey") and layer.get("footer", None) == "plain"
        sdk.log_event(StatsigEvent(u, P + "purchase", value=9.99, metadata={"sku": "abc-123", "qty": "2"}))
        sdk.flush()
    finally:
        sdk.shutdown()
    assert gate.value is True and cfg.get("color") == "green", "precondition: rules evaluate as set up"
    assert exp.group_name in ("Control", "Test"), "precondition: the SDK reports the group (%r)" % exp.group_name

    msgs = receiver.wait(lambda r: (lambda ms: ms if len(ms) >= 6 else None)(
        r.messages(lambda m: m.get("userId") == uid)), WAIT) or receiver.messages(lambda m: m.get("userId") == uid)
    by = {}
    for m in msgs:
        by.setdefault(m.get("event"), []).append(m)
    want = {"statsig::gate_exposure": 1, "statsig::config_exposure": 1, "statsig::experiment_exposure": 1,
            "statsig::layer_exposure": 2, P + "purchase": 1}
    got = {k: len(x) for k, x in by.items()}
    assert got == want, "exported messages for the SDK user: got %s, want %s\n%s" % (
        got, want, json.dumps(msgs, indent=1)[:3000])

    stored = v.events(userID=uid)
    problems = []
    for m in msgs:
        e = match_stored(m, stored)
        if e is None:
            problems.append("%s: no stored event with the same name, metadata and time: %s" % (
                m.get("event"), compact(m)[:600]))
            continue
        check_event_message(m, e, problems, event=m["event"])
        md = m["properties"]["metadata"]
        if m["event"] != "statsig::experiment_exposure" and md != e.get("metadata"):
            problems.append("%s: properties.metadata %r, want the event's %r" % (m["event"], md, e.get("metadata")))
    if len({m["messageId"] for m in msgs}) != len(msgs):
        problems.append("messageIds are not distinct per event")

    g = by["statsig::gate_exposure"][0]["properties"]["metadata"]
    if g.get("gate") != P + "gate" or g.get("gateValue") != "true" or g.get("ruleID") != gate.rule_id:
        problems.append("gate exposure metadata %r (gate %s, gateValue 'true', ruleID %r)" % (g, P + "gate", gate.rule_id))
    c = by["statsig::config_exposure"][0]["properties"]["metadata"]
    if c.get("config") != P + "config" or c.get("ruleID") != cfg.rule_id:
        problems.append("config exposure metadata %r (config %s, ruleID %r)" % (c, P + "config", cfg.rule_id))
    x = by["statsig::experiment_exposure"][0]["properties"]["metadata"]
    if x.get("config") != P + "exp" or x.get("ruleID") != exp.rule_id:
        problems.append("experiment exposure metadata %r (config %s, ruleID %r)" % (x, P + "exp", exp.rule_id))
    if x.get("experimentGroupName") != exp.group_name:
        problems.append("experiment exposure of %s: properties.metadata.experimentGroupName %r, want the group the "
                        "SDK was given, %r (Statsig source: metadata{config, ruleID, reason, time, "
                        "experimentGroupName}); metadata sent: %r" % (P + "exp", x.get("experimentGroupName"),
                                                                     exp.group_name, x))
    layers = {m["properties"]["metadata"].get("parameterName"): m["properties"]["metadata"]
              for m in by["statsig::layer_exposure"]}
    t = layers.get("title") or {}
    if t.get("config") != P + "layer" or t.get("allocatedExperiment") != P + "layer_exp" \
            or t.get("isExplicitParameter") != "true":
        problems.append("layer exposure (explicit parameter) metadata %r" % (t,))
    f = layers.get("footer") or {}
    if f.get("config") != P + "layer" or f.get("allocatedExperiment") != "":
        problems.append("layer exposure (layer default) metadata %r" % (f,))
    pm = by[P + "purchase"][0]
    if pm["properties"] != {"value": 9.99, "metadata": {"sku": "abc-123", "qty": "2"}}:
        problems.append("custom event properties %r" % (pm["properties"],))
    for m in msgs:
        if m.get("email") != wire["email"]:
            problems.append("%s: email %r" % (m["event"], m.get("email")))
        if m.get("anonymousId") != wire["customIDs"]["stableID"]:
            problems.append("%s: anonymousId %r, want the stableID" % (m["event"], m.get("anonymousId")))
    assert not receiver.invalid, "Segment would drop: %s" % [(r, compact(x)[:300]) for r, x in receiver.invalid]
    check_request_shape(receiver, problems)
    assert not problems, "\n".join(problems)


def test_log_event_fields_timestamp_value_and_ids(outbound, receiver):
    """(a) A custom event from /v1/log_event: event name kept, exact timestamp (ms, Z) from the event's
    time, value/metadata in properties and context, email, userId/anonymousId."""
    v = outbound
    marker = uniq("fields")
    t = now_ms() - 3_600_000 + 7     # an hour ago, odd milliseconds
    events = [
        {"eventName": P + "checkout", "user": {"userID": marker + "-a", "email": "a@example.com",
                                                "customIDs": {"stableID": marker + "-sa"}},
         "value": "gold", "metadata": {"marker": marker, "nested": {"k": [1, 2]}, "n": "3"}, "time": t},
        {"eventName": P + "checkout", "user": {"customIDs": {"stableID": marker + "-sb"}},
         "value": 12, "metadata": {"marker": marker}, "time": t + 1},
        {"eventName": P + "checkout", "user": {"userID": marker + "-c"}, "metadata": {"marker": marker}, "time": t + 2},
    ]
    log_events(v, events)
    msgs = receiver.wait_marker(marker, 3, WAIT)
    assert len(msgs) == 3, "got %d of 3 messages for %s" % (len(msgs), marker)
    stored = v.events(eventName=P + "checkout")
    problems = []
    for m in msgs:
        e = match_stored(m, stored)
        if e is None:
            problems.append("no stored event matches %s" % compact(m)[:500])
            continue
        check_event_message(m, e, problems)
    a = [m for m in msgs if m.get("userId") == marker + "-a"]
    b = [m for m in msgs if m.get("anonymousId") == marker + "-sb"]
    c = [m for m in msgs if m.get("userId") == marker + "-c"]
    if len(a) != 1 or a[0]["timestamp"] != iso_ms(t) \
            or a[0]["properties"] != {"value": "gold", "metadata": events[0]["metadata"]}:
        problems.append("event a: %s" % compact(a)[:600])
    elif a[0].get("email") != "a@example.com" or a[0].get("anonymousId") != marker + "-sa":
        problems.append("event a: email/anonymousId %r/%r" % (a[0].get("email"), a[0].get("anonymousId")))
    if len(b) != 1 or b[0].get("userId") is not None or b[0]["properties"].get("value") != 12 \
            or b[0]["timestamp"] != iso_ms(t + 1):
        problems.append("event b (no userID, stableID only): %s" % compact(b)[:600])
    if len(c) != 1 or c[0].get("anonymousId") is not None or c[0]["properties"].get("value") is not None:
        problems.append("event c (userID only, no value): %s" % compact(c)[:600])
    assert not problems, "\n".join(problems)


def test_config_change_message(outbound, receiver):
    """(a) Console changes go out as `statsig::config_change` with userId = author and
    properties {author, configName, description, environment}."""
    v = outbound
    name = uniq(P + "cc_gate")
    v.console_ok("POST", "/gates", {"name": name, "description": "made by the outbound test", "rules": [
        {"name": "half", "passPercentage": 50, "conditions": [{"type": "public"}]}]})
    msgs = receiver.wait(lambda r: r.messages(lambda m: m.get("event") == "statsig::config_change"
                                                and (m.get("properties") or {}).get("configName") == name), WAIT)
    assert msgs, "no statsig::config_change for gate %s within %ds" % (name, WAIT)
    audits = v.console_ok("GET", "/audit_logs", params={"name": name})
    assert audits, "precondition: the audit log has entries for %s" % name
    problems = []
    for m in msgs:
        check_common(m, problems, "config_change " + name)
        props = m.get("properties") or {}
        a = [x for x in audits if iso_ms(x["time"]) == m.get("timestamp") and x["description"] == props.get("description")]
        if not a:
            problems.append("config_change %s matches no audit entry: %s (audit %s)" % (
                name, compact(m)[:500], compact(audits)[:800]))
            continue
        a = a[0]
        if m.get("userId") != a["actor"] or props.get("author") != a["actor"]:
            problems.append("config_change: userId %r / author %r, want the audit actor %r" % (
                m.get("userId"), props.get("author"), a["actor"]))
        if set(props) != {"author", "configName", "description", "environment"}:
            problems.append("config_change properties keys %s" % sorted(props))
        if not isinstance(props.get("environment"), str) or \
                (a.get("environment") is not None and props["environment"] != a["environment"]):
            problems.append("config_change environment %r (audit %r)" % (props.get("environment"), a.get("environment")))
    assert not problems, "\n".join(problems)


# ================================================================ (a) mapping and filters

def test_anonymous_id_mapping(outbound, receiver):
    """anonymousId comes from the configured ID: stableID by default, or a custom ID type."""
    v = outbound
    marker = uniq("anon")
    configure(v, receiver, anonymousIdFrom="companyID")
    try:
        log_events(v, [
            {"eventName": P + "anon", "user": {"userID": marker + "-1", "customIDs": {
                "stableID": "st-1", "companyID": "co-1"}}, "metadata": {"m": marker, "i": "1"}},
            {"eventName": P + "anon", "user": {"userID": marker + "-2", "customIDs": {"stableID": "st-2"}},
             "metadata": {"m": marker, "i": "2"}},
            {"eventName": P + "anon", "user": {"customIDs": {"stableID": "st-3"}}, "metadata": {"m": marker, "i": "3"}},
        ])
        got = {m["properties"]["metadata"]["i"]: m for m in receiver.wait_marker(marker, 3, WAIT)}
    finally:
        configure(v, receiver)
    log_events(v, [{"eventName": P + "anon", "user": {"userID": marker + "-4", "customIDs": {
        "stableID": "st-4", "companyID": "co-4"}}, "metadata": {"m": marker, "i": "4"}}])
    for m in receiver.wait_marker(marker, 4, WAIT):
        got[m["properties"]["metadata"]["i"]] = m
    assert sorted(got) == ["1", "2", "3", "4"], "messages %s" % sorted(got)
    problems = []
    if got["1"].get("anonymousId") != "co-1" or got["1"].get("userId") != marker + "-1":
        problems.append("anonymousIdFrom companyID: anonymousId %r, want 'co-1'" % got["1"].get("anonymousId"))
    if got["1"]["context"].get("stableID") != "st-1":
        problems.append("context.stableID should stay the stableID: %r" % got["1"]["context"].get("stableID"))
    if got["2"].get("anonymousId") is not None:
        problems.append("user without a companyID under anonymousIdFrom companyID: anonymousId %r, want none "
                        "(userId %r)" % (got["2"].get("anonymousId"), got["2"].get("userId")))
    if not got["3"].get("anonymousId") and not got["3"].get("userId"):
        problems.append("a user with only a stableID must still carry an ID: %s" % compact(got["3"])[:300])
    if got["4"].get("anonymousId") != "st-4":
        problems.append("default mapping: anonymousId %r, want the stableID 'st-4'" % got["4"].get("anonymousId"))
    assert not problems, "\n".join(problems)


def test_environment_filter(outbound, receiver):
    """Only events of the configured environments (default ["production"]) are exported; an event
    without a tier is production."""
    v = outbound
    marker = uniq("env")

    def batch(phase):
        return [{"eventName": P + "env", "user": dict({"userID": "%s-%s-%s" % (marker, phase, tier or "none")},
                                                       **({"statsigEnvironment": {"tier": tier}} if tier else {})),
                 "metadata": {"m": marker, "phase": phase, "tier": tier or "none"}}
                for tier in ("production", "staging", "development", None)]

    def tiers(phase):
        return sorted(m["properties"]["metadata"]["tier"] for m in receiver.with_marker(marker)
                      if m["properties"]["metadata"]["phase"] == phase)

    log_events(v, batch("default"))
    sentinel(v, receiver)
    try:
        configure(v, receiver, environments=["staging", "development"])
        log_events(v, batch("pre"))
        sentinel(v, receiver, user={"userID": "s", "statsigEnvironment": {"tier": "staging"}})
    finally:
        configure(v, receiver)
    assert tiers("default") == ["none", "production"], "default environments: exported tiers %s" % tiers("default")
    assert tiers("pre") == ["development", "staging"], "environments [staging, development]: exported %s" % tiers("pre")


CATEGORY_CASES = [
    # (category turned off, the kinds that must not be exported)
    ("gateExposures", {"gate"}),
    ("configExposures", {"config", "layer_default"}),
    ("experimentExposures", {"experiment", "layer_explicit"}),
    ("customEvents", {"custom"}),
    ("configChanges", {"config_change"}),
]


@pytest.mark.parametrize("off,hidden", CATEGORY_CASES, ids=[c[0] for c in CATEGORY_CASES])
def test_category_filter(outbound, receiver, off, hidden):
    """Each category can be turned off alone: a config exposure of an experiment and a layer exposure
    with an allocated experiment are experiment exposures; other config/layer exposures are config
    exposures."""
    v = outbound
    marker = uniq("cat")
    user = {"userID": marker}
    cats = {k: True for k in ("gateExposures", "configExposures", "experimentExposures", "customEvents",
                              "configChanges")}
    cats[off] = False
    configure(v, receiver, categories=cats)
    try:
        log_events(v, [
            synthetic("gate", user, gate=P + "gate", gateValue="true", ruleID="r", m=marker, kind="gate"),
            synthetic("config", user, config=P + "config", ruleID="r", m=marker, kind="config"),
            synthetic("config", user, config=P + "exp", ruleID="r", m=marker, kind="experiment"),
            synthetic("layer", user, config=P + "layer", ruleID="r", allocatedExperiment=P + "layer_exp",
                      parameterName="title", isExplicitParameter="true", m=marker, kind="layer_explicit"),
            synthetic("layer", user, config=P + "layer", ruleID="r", allocatedExperiment="",
                      parameterName="footer", isExplicitParameter="false", m=marker, kind="layer_default"),
            synthetic(P + "custom", user, m=marker, kind="custom"),
        ])
        gate_name = uniq(P + "catgate")
        v.console_ok("POST", "/gates", {"name": gate_name, "rules": []})
        sentinel(v, receiver, name="statsig::gate_exposure" if off == "customEvents" else None)
        time.sleep(0.5)
    finally:
        configure(v, receiver)
    got = {m["properties"]["metadata"]["kind"]: m for m in receiver.with_marker(marker)
           if m.get("event") != "statsig::config_change"}
    if any(m.get("event") == "statsig::config_change" and (m.get("properties") or {}).get("configName") == gate_name
           for m in receiver.messages()):
        got["config_change"] = True
    everything = {"gate", "config", "experiment", "layer_explicit", "layer_default", "custom", "config_change"}
    assert set(got) == everything - hidden, "with %s off: exported %s, want %s" % (
        off, sorted(got), sorted(everything - hidden))
    if "experiment" in got:
        assert got["experiment"]["event"] == "statsig::experiment_exposure", got["experiment"]["event"]
    if "config" in got:
        assert got["config"]["event"] == "statsig::config_exposure", got["config"]["event"]


def test_event_name_filters(outbound, receiver):
    """denyEvents and allowEvents take exact names and `prefix*`, on the exported or the logged name."""
    v = outbound
    marker = uniq("names")
    user = {"userID": marker}

    def log(phase):
        log_events(v, [
            synthetic(P + "deny_exact", user, m=marker, phase=phase, k="deny_exact"),
            synthetic(P + "denyp_one", user, m=marker, phase=phase, k="denyp_one"),
            synthetic(P + "allow_one", user, m=marker, phase=phase, k="allow_one"),
            synthetic(P + "keep", user, m=marker, phase=phase, k="keep"),
            synthetic("config", user, config=P + "exp", ruleID="r", m=marker, phase=phase, k="experiment"),
            synthetic("config", user, config=P + "config", ruleID="r", m=marker, phase=phase, k="config"),
            synthetic("gate", user, gate=P + "gate", gateValue="false", ruleID="r", m=marker, phase=phase, k="gate"),
        ])

    def kinds(phase):
        return sorted(m["properties"]["metadata"]["k"] for m in receiver.with_marker(marker)
                      if m["properties"]["metadata"].get("phase") == phase)

    try:
        configure(v, receiver, denyEvents=[P + "deny_exact", P + "denyp_*", "statsig::experiment_exposure"])
        log("deny")
        sentinel(v, receiver)
        configure(v, receiver, allowEvents=[P + "allow_*", "statsig::gate_exposure", P + "sentinel"])
        log("allow")
        sentinel(v, receiver)
    finally:
        configure(v, receiver)
    assert kinds("deny") == ["allow_one", "config", "gate", "keep"], "denyEvents: exported %s" % kinds("deny")
    assert kinds("allow") == ["allow_one", "gate"], "allowEvents: exported %s" % kinds("allow")


# ================================================================ (e) Segment events are not echoed

def test_segment_sourced_events_are_not_exported(outbound, receiver):
    """(e) An event Vane received from Segment (Tracking API /v1/batch, inbound write key) is stored but
    never sent back out to Segment."""
    v = outbound
    marker = uniq("inbound")
    inbound = v.console("GET", "/integrations/segment/inbound")
    if inbound.status_code == 200 and (inbound.json().get("data") or {}).get("enabled") is False:
        v.console_ok("PUT", "/integrations/segment/inbound", {"enabled": True})
    auth = "Basic " + base64.b64encode((v.segment_write_key + ":").encode()).decode()
    body = {"batch": [
        {"type": "track", "event": "Order Completed " + marker, "userId": marker, "anonymousId": "anon-" + marker,
         "properties": {"revenue": 5, "marker": marker}, "messageId": "mid-" + marker,
         "timestamp": iso_ms(now_ms())},
        {"type": "page", "name": "Pricing " + marker, "userId": marker, "properties": {"marker": marker},
         "messageId": "mid2-" + marker, "timestamp": iso_ms(now_ms())},
    ], "sentAt": iso_ms(now_ms())}
    r = v.session.post(v.base + "/v1/batch", data=compact(body), timeout=30,
                       headers={"Authorization": auth, "Content-Type": "application/json"})
    assert r.status_code == 200, "POST /v1/batch (inbound) -> %d: %s" % (r.status_code, r.text[:500])
    stored = v.wait_for_events(lambda es: len(es) >= 2, timeout=WAIT, userID=marker)
    assert len(stored) >= 1 and all(e.get("source") == "segment" for e in stored), \
        "precondition: the Segment events are stored with source 'segment': %s (ingest answer %s)" % (
            compact(stored)[:600], r.text[:300])
    sentinel(v, receiver)
    time.sleep(0.5)
    echoed = receiver.with_marker(marker)
    assert not echoed, "Segment-sourced events were exported back to Segment: %s" % compact(echoed)[:800]


# ================================================================ settings API

def test_settings_api_masks_key_and_validates(outbound, receiver):
    v = outbound
    r = v.console("GET", "/integrations/segment/outbound")
    assert r.status_code == 200, r.text[:300]
    data = r.json()["data"]
    assert receiver.write_key not in r.text, "GET returns the write key in full: %s" % r.text[:500]
    assert data.get("enabled") is True and data.get("endpoint") == receiver.base, data
    for k in ("categories", "allowEvents", "denyEvents", "anonymousIdFrom", "environments"):
        assert k in data, "settings lack %r: %s" % (k, data)
    bad = [({"endpoint": "ftp://127.0.0.1:1"}, "endpoint"), ({"environments": ["no_such_env"]}, "environments"),
           ({"environments": []}, "environments"), ({"anonymousIdFrom": "noSuchIdType"}, "anonymousIdFrom"),
           ({"enabled": True, "writeKey": ""}, "writeKey")]
    problems = []
    for patch, field in bad:
        r = v.console("PUT", "/integrations/segment/outbound", patch)
        if r.status_code != 400 or field not in r.text:
            problems.append("PUT %s -> %d %s (want 400 naming %s)" % (compact(patch), r.status_code, r.text[:200], field))
    for key in ("wrong-key", v.server_secret, v.client_key):
        r = v.console("PUT", "/integrations/segment/outbound", {"enabled": False}, key=key)
        if r.status_code not in (401, 403):
            problems.append("PUT with key %r -> %d (want 401/403)" % (key, r.status_code))
        r = v.console("GET", "/integrations/segment/outbound/status", key=key)
        if r.status_code not in (401, 403):
            problems.append("GET status with key %r -> %d (want 401/403)" % (key, r.status_code))
    after = v.console_ok("GET", "/integrations/segment/outbound")
    if after.get("enabled") is not True or after.get("endpoint") != receiver.base:
        problems.append("rejected PUTs changed the settings: %s" % after)
    configure(v, receiver)
    assert not problems, "\n".join(problems)


def test_enabling_starts_from_now(own):
    """Enabling exports from "now": events logged before (including while the integration was turned
    off) are not sent."""
    v = own.start()
    with SegmentReceiver("wk_now") as rc:
        log_events(v, [{"eventName": "before_first_enable", "user": {"userID": "u-before"}}])
        configure(v, rc)
        log_events(v, [{"eventName": "after_enable", "user": {"userID": "u-after"}}])
        assert rc.wait_marker("after_enable", 1, WAIT), "the first event after enabling did not arrive"
        disable(v)
        log_events(v, [{"eventName": "while_disabled", "user": {"userID": "u-off"}}])
        time.sleep(0.6)
        configure(v, rc)
        log_events(v, [{"eventName": "after_reenable", "user": {"userID": "u-again"}}])
        assert rc.wait_marker("after_reenable", 1, WAIT), "the first event after re-enabling did not arrive"
        names = [m["event"] for m in rc.messages() if m["event"] != "statsig::config_change"]
        assert "before_first_enable" not in names, "an event from before enabling was exported: %s" % names
        assert "while_disabled" not in names, (
            "PUT {enabled:false}, POST /v1/log_event 'while_disabled', PUT {enabled:true}: the event logged while "
            "the integration was off was exported on re-enabling (want: enabling starts from now); exported %s" % names)


# ================================================================ (b) retries

def _seq_events(name, n, start=0, **extra):
    return [{"eventName": name, "user": {"userID": "u%d" % (i % 50), "customIDs": {"stableID": "s%d" % i}},
             "value": i, "metadata": dict({"seq": str(i)}, **extra)} for i in range(start, start + n)]


def _check_exactly_once_ids(msgs, want_seqs, problems):
    """Every seq arrived; each under exactly one messageId; duplicates only as identical messages."""
    by_seq, by_id = {}, {}
    for m in msgs:
        seq = m["properties"]["metadata"]["seq"]
        by_seq.setdefault(seq, set()).add(m["messageId"])
        by_id.setdefault(m["messageId"], []).append(m)
    missing = sorted(set(want_seqs) - set(by_seq), key=int)
    if missing:
        problems.append("%d events never arrived (e.g. seq %s)" % (len(missing), missing[:10]))
    extra = sorted(set(by_seq) - set(want_seqs), key=int)
    if extra:
        problems.append("unexpected events arrived: seq %s" % extra[:10])
    multi = {s: ids for s, ids in by_seq.items() if len(ids) > 1}
    if multi:
        problems.append("%d events arrived under more than one messageId, e.g. %s" % (len(multi), list(multi.items())[:3]))
    for mid, copies in by_id.items():
        if len({canon(c) for c in copies}) > 1:
            problems.append("messageId %s was sent with different contents: %s" % (mid, [compact(c)[:300] for c in copies]))
            break
        if len({c["properties"]["metadata"]["seq"] for c in copies}) > 1:
            problems.append("messageId %s is shared by different events" % mid)
            break
    return sum(len(c) - 1 for c in by_id.values())


def test_retries_500_and_429_then_recovers(own):
    """(b) 500 three times, then 429 with Retry-After: 1, then OK: the batch is retried with exponential
    backoff, honouring Retry-After, with X-Retry-Count and a fresh sentAt on each attempt, the same
    messages and messageIds; nothing is lost and nothing arrives under two messageIds."""
    v = own.start()
    with SegmentReceiver("wk_retry") as rc:
        configure(v, rc)
        assert rc.wait(lambda r: r.requests, WAIT), "the enabling change was not exported"
        rc.script([500, 500, 500, (429, {"Retry-After": "1"})])
        log_events(v, _seq_events("retry_evt", 250))
        ok = rc.wait(lambda r: len([1 for m in r.messages() if m["event"] == "retry_evt"]) >= 250, 60)
        msgs = [m for m in rc.messages() if m["event"] == "retry_evt"]
        problems = []
        if not ok:
            problems.append("only %d of 250 events arrived; status %s" % (len({m["messageId"] for m in msgs}),
                                                                         json.dumps(status(v))))
        dupes = _check_exactly_once_ids(msgs, [str(i) for i in range(250)], problems)
        first = msgs[0]["messageId"] if msgs else None
        attempts = requests_with(rc, first) if first else []
        codes = [a["status"] for a in attempts]
        if codes != [500, 500, 500, 429, 200]:
            problems.append("attempts of the first batch answered %s, want [500, 500, 500, 429, 200]" % codes)
        else:
            counts = [a["retry_count"] for a in attempts]
            if counts[0] not in (None, "0") or any(c is None for c in counts[1:]) \
                    or [int(c) for c in counts[1:]] != sorted(int(c) for c in counts[1:]) \
                    or len(set(counts[1:])) != 4:
                problems.append("X-Retry-Count per attempt %s: want none on the first, then increasing" % counts)
            sent = [a["sent_at"] for a in attempts]
            if len(set(sent)) != 5 or [parse_iso(s) for s in sent] != sorted(parse_iso(s) for s in sent):
                problems.append("sentAt per attempt %s: want a fresh one each time" % sent)
            if len({tuple(a["message_ids"]) for a in attempts}) != 1:
                problems.append("the retried batch changed its messages/messageIds between attempts")
            gaps = [b["time"] - a["time"] for a, b in zip(attempts, attempts[1:])]
            if not (0.2 <= gaps[0] <= 2.0 and gaps[2] > gaps[0] and gaps[2] >= 0.9):
                problems.append("backoff between 500 retries %s s: want about 0.5 s doubling, with jitter" %
                                ["%.2f" % g for g in gaps[:3]])
            if not 0.9 <= gaps[3] <= 1.9:
                problems.append("the retry after 429 with Retry-After: 1 came %.2f s later (want about 1 s)" % gaps[3])
        if dupes:
            problems.append("%d duplicate deliveries without any lost response" % dupes)
        assert not rc.invalid, rc.invalid[:3]
        check_request_shape(rc, problems)
        st = wait_until(lambda: (lambda s: s if s["queued"] == 0 and s["inFlight"] == 0 else None)(status(v)), 10)
        if not st or st["lastSuccess"] is None or st["delivered"] != rc.distinct_ids():
            problems.append("status after recovery %s: want delivered == %d messages at the receiver, lastSuccess set"
                            % (st, rc.distinct_ids()))
        elif st.get("lastError") is None or st.get("lastErrorTime") is None or st.get("failing") is not False:
            problems.append("status after recovery %s: want the last error kept with its time, and failing false" % st)
        assert not problems, "\n".join(problems) + "\n--- server log ---\n" + own.log_tail(15)


def test_outage_for_seconds_then_recovery(own):
    """(b) The receiver answers 503 for 4 s while events keep coming: status shows the error and the
    next attempt; afterwards every event arrives, each under one messageId."""
    v = own.start()
    with SegmentReceiver("wk_outage") as rc:
        configure(v, rc)
        assert rc.wait(lambda r: r.requests, WAIT), "the enabling change was not exported"
        rc.fail_for(4.0, 503)
        t_end = time.time() + 4.0
        log_events(v, _seq_events("outage_evt", 150))
        seen_error = wait_until(lambda: (lambda s: s if s["lastError"] and s["nextAttempt"] else None)(status(v)), 3.5,
                                0.05)
        log_events(v, _seq_events("outage_evt", 200, start=150))
        ok = rc.wait(lambda r: len({m["messageId"] for m in r.messages() if m["event"] == "outage_evt"}) >= 350, 60)
        msgs = [m for m in rc.messages() if m["event"] == "outage_evt"]
        problems = []
        if not seen_error:
            problems.append("during the outage status never showed lastError and nextAttempt: %s" % status(v))
        elif not (seen_error["nextAttempt"] > seen_error["lastErrorTime"] and seen_error["queued"] > 0
                  and seen_error["enabled"] is True):
            problems.append("status during the outage: %s" % seen_error)
        if not ok:
            problems.append("not all events arrived after the outage; status %s" % status(v))
        _check_exactly_once_ids(msgs, [str(i) for i in range(350)], problems)
        with rc.lock:
            failed = [r for r in rc.requests if r["status"] == 503]
            later = [r for r in rc.requests if r["status"] == 200 and r["time"] >= t_end]
        if len(failed) < 3:
            problems.append("only %d attempts in a 4 s outage" % len(failed))
        if len(failed) > 25:
            problems.append("%d attempts in a 4 s outage: no backoff" % len(failed))
        if any(r["retry_count"] is None for r in failed[1:]):
            problems.append("retries without X-Retry-Count: %s" % [r["retry_count"] for r in failed])
        if not later or later[0]["retry_count"] is None:
            problems.append("the first successful attempt after the outage should carry X-Retry-Count")
        # The receiver has a batch before the exporter commits its delivery: status follows within moments.
        after = lambda s: s["lastSuccess"] is not None and s["lastSuccess"] >= int(t_end * 1000) - 50
        st = wait_until(lambda: (lambda s: s if after(s) else None)(status(v)), 10, 0.05) or status(v)
        if not after(st):
            problems.append("lastSuccess %s is not after the outage" % st["lastSuccess"])
        check_request_shape(rc, problems)
        assert not problems, "\n".join(problems) + "\n--- server log ---\n" + own.log_tail(15)


RETRIED = [408, 429, 500, 502, 503, 504]
DEAD = [400, 401, 403, 404, 413, 422, 501, 505]


def test_status_codes_retry_or_dead_letter(own):
    """(b)/(d) 408, 429 and 5xx except 501/505 are retried; 400, 401, 403, 404, 413, 422, 501 and 505 are
    not: the batch is dead-lettered with reason "HTTP <code>: <body>". A new batch after either starts
    again without X-Retry-Count."""
    v = own.start()
    problems = []
    with SegmentReceiver("wk_codes") as rc:
        configure(v, rc)
        assert rc.wait(lambda r: r.requests, WAIT), "the enabling change was not exported"
        for code in RETRIED + DEAD:
            body = {"code": "c%d" % code, "message": "scripted %d" % code}
            rc.script([(code, {}, body)])
            name = "code_%d" % code
            log_events(v, [{"eventName": name, "user": {"userID": "u-%d" % code}}])
            if code in RETRIED:
                got = rc.wait_marker(name, 1, 15)
                if not got:
                    problems.append("%d: the batch was not retried (status %s)" % (code, status(v)))
                    continue
                attempts = requests_with(rc, got[0]["messageId"])
                if [a["status"] for a in attempts] != [code, 200]:
                    problems.append("%d: attempts answered %s" % (code, [a["status"] for a in attempts]))
                elif attempts[0]["retry_count"] not in (None, "0") or attempts[1]["retry_count"] is None:
                    problems.append("%d: X-Retry-Count %s (want none, then a count)" % (
                        code, [a["retry_count"] for a in attempts]))
            else:
                letters = wait_until(lambda: [d for d in dead_letters(v) if d["message"].get("event") == name], 15)
                if not letters:
                    problems.append("%d: no dead letter (status %s)" % (code, status(v)))
                    continue
                time.sleep(1.0)
                mid = letters[0]["message"]["messageId"]
                attempts = requests_with(rc, mid)
                want = "HTTP %d: %s" % (code, compact(body))
                if letters[0]["reason"] != want:
                    problems.append("%d: dead-letter reason %r, want %r" % (code, letters[0]["reason"], want))
                if [a["status"] for a in attempts] != [code]:
                    problems.append("%d: a refused batch was sent %d times (%s)" % (
                        code, len(attempts), [a["status"] for a in attempts]))
                if rc.wait_marker(name, 1, 0.1):
                    problems.append("%d: the dead-lettered message arrived anyway" % code)
        # A batch retried once and then refused; the next batch is a first attempt again.
        rc.script([500, (404, {}, {"code": "c404", "message": "scripted 404"})])
        log_events(v, [{"eventName": "code_mixed", "user": {"userID": "u-mixed"}}])
        if not wait_until(lambda: [d for d in dead_letters(v) if d["message"].get("event") == "code_mixed"], 15):
            problems.append("500 then 404: no dead letter")
        log_events(v, [{"eventName": "code_after", "user": {"userID": "u-after"}}])
        got = rc.wait_marker("code_after", 1, 15)
        if not got:
            problems.append("events after the dead letters are not exported")
        else:
            a = requests_with(rc, got[0]["messageId"])
            if a[0]["retry_count"] not in (None, "0"):
                problems.append("batch 'code_mixed' answered 500 (retried with X-Retry-Count: 1) then 404 (dead-lettered); "
                                "the next, new batch ('code_after') went out with X-Retry-Count: %r on its first "
                                "attempt (want no header: the retry count is not reset after a dead letter)"
                                % a[0]["retry_count"])
        st = status(v)
        for code in DEAD:
            key = "HTTP %d: %s" % (code, compact({"code": "c%d" % code, "message": "scripted %d" % code}))
            if st["deadLetterReasons"].get(key, 0) < 1:
                problems.append("status deadLetterReasons lacks %r: %s" % (key, st["deadLetterReasons"]))
        if st["deadLettered"] != sum(st["deadLetterReasons"].values()) or st["deadLettered"] < len(DEAD):
            problems.append("status deadLettered %s vs reasons %s" % (st["deadLettered"], st["deadLetterReasons"]))
    assert not problems, "\n".join(problems) + "\n--- server log ---\n" + own.log_tail(15)


def test_status_in_flight_and_counters(own):
    """status: inFlight while a batch is at Segment; afterwards delivered and requests match what the
    receiver accepted, queued is 0, lastSuccess is set."""
    v = own.start()
    with SegmentReceiver("wk_status") as rc:
        configure(v, rc)
        assert rc.wait(lambda r: r.requests, WAIT), "the enabling change was not exported"
        rc.delay = 1.5
        log_events(v, _seq_events("status_evt", 30))
        during = wait_until(lambda: (lambda s: s if s["inFlight"] > 0 else None)(status(v)), 5, 0.05)
        rc.wait(lambda r: len([m for m in r.messages() if m["event"] == "status_evt"]) >= 30, 20)
        rc.delay = 0
        after = wait_until(lambda: (lambda s: s if s["queued"] == 0 and s["inFlight"] == 0
                                    and s["delivered"] >= rc.distinct_ids() else None)(status(v)), 10)
        problems = []
        if not during or during["inFlight"] != 30:
            problems.append("while the receiver held a 30-message batch, status inFlight was %s" % (
                during and during["inFlight"]))
        if not after:
            problems.append("status did not settle: %s" % status(v))
        else:
            with rc.lock:
                ok_requests = len([r for r in rc.requests if r["status"] == 200])
            if after["delivered"] != rc.distinct_ids() or after["requests"] != ok_requests:
                problems.append("status delivered/requests %d/%d, receiver accepted %d messages in %d requests" % (
                    after["delivered"], after["requests"], rc.distinct_ids(), ok_requests))
            if not after["lastSuccess"] or abs(after["lastSuccess"] - now_ms()) > 60000 or after["lastError"] \
                    or after["deadLettered"] != 0 or after["nextAttempt"] is not None or after["enabled"] is not True:
                problems.append("status after a clean delivery: %s" % after)
        assert not problems, "\n".join(problems)


# ================================================================ (d) 401: dead letters, fix, retry

def test_401_dead_letters_then_fixed_key_and_retry(own):
    """(d) A wrong write key: Segment answers 401, the batch is dead-lettered (not retried) with the reason
    visible in status and dead_letters. After PUT of the right key, new events flow, and POST retry
    (chosen ids, then everything) delivers the dead letters under their original messageIds."""
    v = own.start()
    with SegmentReceiver("wk_right_key_123") as rc:
        configure(v, rc, write_key="wk_wrong_key_456")
        log_events(v, _seq_events("dl_evt", 5))
        letters = wait_until(lambda: (lambda d: d if len([x for x in d if x["message"].get("event") == "dl_evt"]) >= 5
                                      else None)(dead_letters(v)), WAIT)
        assert letters, "no dead letters after 401s; status %s\n%s" % (status(v), own.log_tail(15))
        time.sleep(1.0)
        letters = dead_letters(v)
        mine = [d for d in letters if d["message"].get("event") == "dl_evt"]
        problems = []
        st = status(v)
        reasons = {k: n for k, n in st["deadLetterReasons"].items() if k.startswith("HTTP 401")}
        if sum(reasons.values()) < 5 or not (st["lastError"] or "").startswith("HTTP 401"):
            problems.append("status after 401: deadLetterReasons %s, lastError %r" % (st["deadLetterReasons"],
                                                                                     st["lastError"]))
        if st["deadLettered"] != len(letters) or not st["lastErrorTime"]:
            problems.append("status deadLettered %s / lastErrorTime %s, dead_letters lists %d" % (
                st["deadLettered"], st["lastErrorTime"], len(letters)))
        for d in mine:
            if set(d) < {"id", "reason", "createdTime", "retryRequested", "message"}:
                problems.append("dead letter fields %s" % sorted(d))
                break
            if not d["reason"].startswith("HTTP 401: ") or "invalid_write_key" not in d["reason"]:
                problems.append("dead letter reason %r: want 'HTTP 401: <Segment's body>'" % d["reason"])
                break
            if d["retryRequested"] is not False or abs(d["createdTime"] - now_ms()) > 60000:
                problems.append("dead letter %s" % compact(d)[:300])
                break
        sends = [[r["status"] for r in requests_with(rc, d["message"]["messageId"])] for d in mine]
        if any(s != [401] for s in sends):
            problems.append("answers per dead-lettered message %s: a 401 batch must be sent once, never retried" % sends)
        got = v.console("GET", "/integrations/segment/outbound")
        if "wk_wrong_key_456" in got.text:
            problems.append("GET settings shows the write key in full")
        assert not problems, "\n".join(problems)

        # Fix the key (a partial PUT), new events flow.
        r = v.console("PUT", "/integrations/segment/outbound", {"writeKey": "wk_right_key_123"})
        assert r.status_code == 200, r.text[:300]
        log_events(v, [{"eventName": "dl_after_fix", "user": {"userID": "u-fix"}}])
        assert rc.wait_marker("dl_after_fix", 1, WAIT), "events after fixing the key do not arrive"
        assert not rc.messages(lambda m: m["event"] == "dl_evt"), "dead letters were sent without a retry request"

        # Retry two of them by id.
        pick = [mine[0]["id"], mine[1]["id"]]
        data = retry_dead_letters(v, pick)
        assert data.get("retrying") == 2, "retry of 2 ids answered %s" % data
        arrived = rc.wait(lambda r: (lambda ms: ms if len(ms) >= 2 else None)(
            r.messages(lambda m: m["event"] == "dl_evt")), WAIT) or []
        want = {canon(mine[0]["message"]), canon(mine[1]["message"])}
        problems = []
        if {canon(m) for m in arrived} != want:
            problems.append("retry by ids delivered %s, want exactly the two dead letters %s" % (
                [m["messageId"] for m in arrived], [mine[0]["message"]["messageId"], mine[1]["message"]["messageId"]]))
        rest = wait_until(lambda: (lambda d: d if len([x for x in d if x["message"].get("event") == "dl_evt"]) == 3
                                   else None)(dead_letters(v)), 10)
        if not rest or any(x["retryRequested"] for x in rest if x["message"].get("event") == "dl_evt"):
            problems.append("after retrying 2 of 5, dead_letters shows %s" % compact(dead_letters(v))[:600])

        # Retry everything (empty body).
        r = v.console("POST", "/integrations/segment/outbound/dead_letters/retry")
        if r.status_code != 200:
            problems.append("POST retry with no body -> %d %s" % (r.status_code, r.text[:200]))
        wait_until(lambda: not dead_letters(v), WAIT)
        rc.wait(lambda r: len(r.messages(lambda m: m["event"] == "dl_evt")) >= 5, 5)
        got = {m["messageId"]: m for m in rc.messages(lambda m: m["event"] == "dl_evt")}
        if sorted(got) != sorted(d["message"]["messageId"] for d in mine):
            problems.append("after retrying all: delivered %s, want the 5 dead letters' messageIds" % sorted(got))
        for d in mine:
            if d["message"]["messageId"] in got and got[d["message"]["messageId"]] != d["message"]:
                problems.append("a retried dead letter changed on the way: %s" % d["message"]["messageId"])
        left = dead_letters(v)
        st = status(v)
        if left or st["deadLettered"] != 0 or st["deadLetterReasons"]:
            problems.append("after retrying all: dead_letters %s, status %s" % (compact(left)[:300], st))
        assert not rc.invalid, rc.invalid[:3]
        assert not problems, "\n".join(problems)


# ================================================================ (f) size limits

def test_oversize_message_is_dead_lettered_and_never_sent(own):
    """(f) A message over 32 KB (huge metadata) is dead-lettered, never sent, also when asked to retry it;
    one just under the limit and its neighbours go out."""
    v = own.start()
    with SegmentReceiver("wk_big") as rc:
        configure(v, rc)
        log_events(v, [
            {"eventName": "size_small_a", "user": {"userID": "u1"}},
            {"eventName": "size_huge", "user": {"userID": "u2"}, "metadata": {"blob": "x" * 40000}},
            # metadata goes out twice (properties and context): 2 x 15,000 chars is a ~30 KB message
            {"eventName": "size_near_limit", "user": {"userID": "u3"}, "metadata": {"blob": "y" * 15000}},
            {"eventName": "size_small_b", "user": {"userID": "u4"}},
        ])
        ok = rc.wait(lambda r: {"size_small_a", "size_near_limit", "size_small_b"} <= {m["event"] for m in r.messages()},
                     WAIT)
        problems = []
        if not ok:
            problems.append("the small and near-limit events did not all arrive: %s" % sorted(
                {m["event"] for m in rc.messages()}))
        letters = wait_until(lambda: [d for d in dead_letters(v) if d["message"].get("event") == "size_huge"], 5)
        if len(letters) != 1:
            problems.append("want one dead letter for the 40 KB message, got %s" % compact(dead_letters(v))[:500])
        elif "32 KB" not in letters[0]["reason"]:
            problems.append("dead-letter reason %r should say the 32 KB limit" % letters[0]["reason"])
        st = status(v)
        if not any("32 KB" in k for k in st["deadLetterReasons"]):
            problems.append("status deadLetterReasons %s" % st["deadLetterReasons"])
        sent_huge = [r["index"] for r in rc.requests if "size_huge" in r["events"]]
        if sent_huge or rc.invalid:
            problems.append("the 40 KB message was sent (requests %s, Segment drops %s)" % (
                sent_huge, [x[0] for x in rc.invalid]))
        assert not problems, "\n".join(problems)

        # Asking to retry it must not send it either.
        retry_dead_letters(v, [letters[0]["id"]])
        time.sleep(2.0)
        log_events(v, [{"eventName": "size_after_retry", "user": {"userID": "u5"}}])
        rc.wait_marker("size_after_retry", 1, WAIT)
        sent_huge = [(r["index"], r["status"]) for r in rc.requests if "size_huge" in r["events"]]
        assert not sent_huge and not rc.invalid, (
            "POST /console/v1/integrations/segment/outbound/dead_letters/retry {\"ids\":[%d]} on the over-32 KB dead "
            "letter sent it to Segment anyway (requests %s; Segment drops it as %s, so it is silently lost and "
            "removed from dead_letters: %s)" % (letters[0]["id"], sent_huge, [x[0] for x in rc.invalid],
                                               compact(dead_letters(v))[:300]))


def test_batches_respect_size_and_count_limits(own):
    """Requests are filled to Segment's limits, not to a fixed count: 20 messages of ~30 KB (600 KB) are
    split over requests of at most 500 KB, and 250 small ones go out in one request."""
    v = own.start()
    with SegmentReceiver("wk_split") as rc:
        configure(v, rc)
        log_events(v, [{"eventName": "split_big", "user": {"userID": "u%d" % i},
                        "metadata": {"seq": str(i), "blob": "z" * 15000}} for i in range(20)])
        log_events(v, _seq_events("split_small", 250))
        ok = rc.wait(lambda r: len({m["messageId"] for m in r.messages() if m["event"] in ("split_big", "split_small")})
                     >= 270, 60)
        problems = []
        if not ok:
            problems.append("not all 270 messages arrived; status %s" % status(v))
        check_request_shape(rc, problems)
        with rc.lock:
            big = [r for r in rc.requests if "split_big" in r["events"]]
        if len(big) < 2:
            problems.append("20 x 30 KB went out in %d request(s)" % len(big))
        with rc.lock:
            small = [r["n"] for r in rc.requests if r["status"] == 200 and "split_small" in r["events"]]
        if max(small, default=0) <= 100:
            problems.append("the 250 small messages went out %s per request: batches are still capped at 100" % small)
        assert not rc.invalid, [x[0] for x in rc.invalid]
        assert not problems, "\n".join(problems)


def test_dead_letter_retry_respects_batch_limits(own):
    """Dead letters sent again on request go out in requests of at most 500 KB, like
    any other batch: 20 dead-lettered messages of ~30 KB (600 KB together) all arrive."""
    v = own.start()
    with SegmentReceiver("wk_dl_split_right") as rc:
        configure(v, rc, write_key="wk_dl_split_wrong")
        log_events(v, [{"eventName": "dl_big", "user": {"userID": "u%d" % i},
                        "metadata": {"seq": str(i), "blob": "q" * 15000}} for i in range(20)])
        letters = wait_until(lambda: (lambda d: d if len([x for x in d if x["message"].get("event") == "dl_big"]) == 20
                                      else None)(dead_letters(v)), WAIT)
        assert letters, "precondition: 20 dead letters after 401s; got %d" % len(dead_letters(v))
        configure(v, rc)
        retry_dead_letters(v)
        ok = rc.wait(lambda r: len({m["messageId"] for m in r.messages() if m["event"] == "dl_big"}) >= 20, WAIT)
        problems = []
        with rc.lock:
            sizes = [(r["status"], r["n"], r["bytes"]) for r in rc.requests if "dl_big" in r["events"]]
        if not ok:
            problems.append("after POST dead_letters/retry (all), %d of 20 dead letters arrived; requests carrying them "
                            "(status, messages, bytes): %s; dead letters now: %s" % (
                                len({m["messageId"] for m in rc.messages() if m["event"] == "dl_big"}), sizes,
                                sorted({d["reason"][:60] for d in dead_letters(v)})))
        check_request_shape(rc, problems, only=lambda r: r["status"] != 401)
        assert not problems, "\n".join(problems)


def test_message_ids_differ_between_installations(tmp_path):
    """messageId is Segment's dedupe key (kept for months, possibly across sources): two different events
    must never share one. Two fresh Vane installations (or one whose data dir was reset) exporting to the
    same Segment source log different events; none of them may be dropped as a duplicate."""
    servers = [VaneProcess(binary_path(), tmp_path / ("data%d" % i)) for i in range(2)]
    try:
        with SegmentReceiver("wk_two_installs") as rc:
            for i, vp in enumerate(servers):
                v = vp.start()
                configure(v, rc)
                log_events(v, [{"eventName": "install_%d" % i, "user": {"userID": "user-of-install-%d" % i}}])
            ok = rc.wait(lambda r: {"install_0", "install_1"} <= {m["event"] for m in r.messages()}, WAIT)
            assert ok, "events did not arrive: %s" % [m["event"] for m in rc.messages()]
            by_id = {}
            for m in rc.messages():
                by_id.setdefault(m["messageId"], set()).add((m["event"], m.get("userId"), m["timestamp"],
                                                             canon(m.get("properties"))))
            shared = {k: sorted(x[0] for x in s) for k, s in by_id.items() if len(s) > 1}
            assert not shared, (
                "different events from two installations share messageIds (Segment would keep only the first "
                "of each): %s" % shared)
    finally:
        for vp in servers:
            vp.stop()


def test_anonymous_id_from_user_id(outbound, receiver):
    """anonymousIdFrom accepts the ID types the settings API lists; if it accepts "userID", the userID is
    what goes into anonymousId."""
    v = outbound
    r = v.console("PUT", "/integrations/segment/outbound", {"anonymousIdFrom": "userID"})
    if r.status_code == 400:
        return
    assert r.status_code == 200, r.text[:300]
    marker = uniq("anonuid")
    try:
        log_events(v, [{"eventName": P + "anonuid", "user": {"userID": marker, "customIDs": {"stableID": "st"}}}])
        got = receiver.wait_marker(marker, 1, WAIT)
    finally:
        configure(v, receiver)
    assert got, "event did not arrive"
    assert got[0].get("anonymousId") == marker, (
        "PUT {anonymousIdFrom:\"userID\"} was accepted (200), but the exported anonymousId is %r, want the userID %r"
        % (got[0].get("anonymousId"), marker))


def test_requests_per_second_hold_whatever_the_concurrency(own):
    """maxRequestsPerSecond (Segment asks for at most 50 per write key) holds with 8 batches in flight:
    160 messages of ~30 KB need about 10 requests of 500 KB; at 4 per second no one-second window sees
    more than 4 of them start, and all arrive."""
    v = own.start()
    with SegmentReceiver("wk_paced") as rc:
        configure(v, rc, maxConcurrentRequests=8, maxRequestsPerSecond=4)
        r = v.console("PUT", OUTBOUND, {"maxRequestsPerSecond": 0})
        assert r.status_code == 400 and "maxRequestsPerSecond" in r.text, r.text[:300]
        log_events(v, [{"eventName": "paced", "user": {"userID": "u%d" % i},
                        "metadata": {"seq": str(i), "blob": "p" * 15000}} for i in range(160)])
        ok = rc.wait(lambda r: len({m["messageId"] for m in r.messages() if m["event"] == "paced"}) >= 160, 60)
        with rc.lock:
            times = sorted(r["time"] for r in rc.requests if "paced" in r["events"])
        assert ok, "only %d of 160 arrived; status %s" % (
            len({m["messageId"] for m in rc.messages() if m["event"] == "paced"}), status(v))
        assert len(times) >= 9, "160 x 30 KB in %d requests" % len(times)
        # Arrival times carry a little jitter from the receiver's threads: allow 5 in a window of 0.9 s.
        crowded = [(times[i], times[i + 4]) for i in range(len(times) - 4) if times[i + 4] - times[i] < 0.9]
        assert not crowded, "5 requests within 0.9 s at maxRequestsPerSecond=4: %s" % crowded[:3]
        problems = []
        check_request_shape(rc, problems)
        assert not problems, "\n".join(problems)


def test_gzip_bodies(own):
    """With gzip on, bodies go out with Content-Encoding: gzip, smaller than they inflate to, and arrive whole."""
    v = own.start()
    with SegmentReceiver("wk_gzip") as rc:
        data = configure(v, rc, gzip=True)
        assert data.get("gzip") is True, data
        log_events(v, _seq_events("gzipped", 300))
        ok = rc.wait(lambda r: len({m["messageId"] for m in r.messages() if m["event"] == "gzipped"}) >= 300, 60)
        assert ok, "not all 300 gzipped messages arrived; status %s" % status(v)
        with rc.lock:
            carrying = [r for r in rc.requests if "gzipped" in r["events"]]
        assert carrying and all("inflated_bytes" in r and r["bytes"] < r["inflated_bytes"] / 3 for r in carrying), [
            (r["bytes"], r.get("inflated_bytes")) for r in carrying]
        problems = []
        check_request_shape(rc, problems)
        assert not problems and not rc.invalid, "\n".join(problems) + str(rc.invalid[:1])
