"""Exposures and custom events: what the Statsig SDK logs against Vane (and what Vane logs for its
own HTTP evaluation API) must show up in the events explorer (GET /console/v1/events) intact."""
import gzip
import json
import time
import uuid

import pytest

from _support import to_sdk_user
from conftest import make_sdk

P = "xp_"  # name prefix for this module's entities


@pytest.fixture(scope="module")
def setup(vane, custom_id_types):
    v = vane
    v.console_ok("POST", "/gates", {"name": P + "base", "rules": [
        {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}]})
    v.console_ok("POST", "/gates", {"name": P + "chained", "rules": [
        {"name": "needs base", "passPercentage": 100, "conditions": [
            {"type": "passes_gate", "targetValue": P + "base"},
            {"type": "email", "operator": "str_ends_with_any", "targetValue": ["@example.com"]}]}]})
    v.console_ok("POST", "/dynamic_configs", {"name": P + "config", "defaultValue": {"color": "blue"}, "rules": [
        {"name": "base users", "passPercentage": 100, "conditions": [{"type": "passes_gate", "targetValue": P + "base"}],
         "returnValue": {"color": "green"}}]})
    v.console_ok("POST", "/layers", {"name": P + "layer", "defaultValue": {"title": "Hello", "footer": "plain"}})
    v.console_ok("POST", "/experiments", {"name": P + "layer_exp", "layer": P + "layer", "allocation": 100,
                                          "groups": [{"name": "Control", "size": 50, "parameterValues": {"title": "Hi"}},
                                                     {"name": "Test", "size": 50, "parameterValues": {"title": "Hey"}}]})
    v.console_ok("PUT", "/experiments/%s/start" % (P + "layer_exp"), {})
    v.console_ok("POST", "/experiments", {"name": P + "experiment", "targetingGate": P + "base",
                                          "groups": [{"name": "A", "size": 50, "parameterValues": {"n": 1}},
                                                     {"name": "B", "size": 50, "parameterValues": {"n": 2}}]})
    v.console_ok("PUT", "/experiments/%s/start" % (P + "experiment"), {})
    return v


def _user(tag):
    return {"userID": "%s-%s" % (tag, uuid.uuid4().hex[:12]), "email": "someone@example.com",
            "country": "NZ", "custom": {"plan": "pro", "seats": 3},
            "privateAttributes": {"secret": "do-not-log"}, "customIDs": {"stableID": uuid.uuid4().hex},
            "statsigEnvironment": {"tier": "staging"}}


def _by_name(events):
    out = {}
    for e in events:
        out.setdefault(e.get("eventName"), []).append(e)
    return out


def _check_common(e, wire):
    problems = []
    for k in ("id", "eventName", "user", "time", "receivedAt", "source"):
        if k not in e:
            problems.append("event lacks %r: %s" % (k, json.dumps(e)[:300]))
    user = e.get("user") or {}
    if user.get("userID") != wire["userID"]:
        problems.append("user.userID %r != %r" % (user.get("userID"), wire["userID"]))
    if user.get("email") != wire["email"]:
        problems.append("user.email %r != %r" % (user.get("email"), wire["email"]))
    if user.get("custom") != wire["custom"]:
        problems.append("user.custom %r != %r" % (user.get("custom"), wire["custom"]))
    if (user.get("customIDs") or {}).get("stableID") != wire["customIDs"]["stableID"]:
        problems.append("user.customIDs %r lacks the stableID" % (user.get("customIDs"),))
    if "privateAttributes" in user or "do-not-log" in json.dumps(e):
        problems.append("privateAttributes were stored: %s" % json.dumps(user)[:300])
    if not isinstance(e.get("time"), int) or abs(e["time"] - time.time() * 1000) > 10 * 60 * 1000:
        problems.append("time %r is not epoch ms near now" % (e.get("time"),))
    return problems


def test_sdk_exposures_and_custom_event(setup):
    from statsig import StatsigEvent
    v = setup
    wire = _user("exp")
    u = to_sdk_user(wire)
    sdk = make_sdk(v)
    try:
        gate = sdk.get_feature_gate(u, P + "chained")
        assert gate.value is True, "precondition: %schained should pass for this user" % P
        cfg = sdk.get_config(u, P + "config")
        exp = sdk.get_experiment(u, P + "experiment")
        layer = sdk.get_layer(u, P + "layer")
        title = layer.get("title")       # explicit parameter (from the experiment)
        footer = layer.get("footer")     # layer default, not explicit
        assert title in ("Hi", "Hey") and footer == "plain", (title, footer)
        sdk.log_event(StatsigEvent(u, "purchase", value=9.99, metadata={"sku": "abc-123", "qty": "2"}))
        sdk.flush()
    finally:
        sdk.shutdown()

    want_names = {"statsig::gate_exposure", "statsig::config_exposure", "statsig::layer_exposure", "purchase"}

    def complete(evs):
        by = _by_name(evs)
        return (want_names <= set(by) and len(by.get("statsig::layer_exposure", [])) >= 2
                and len(by.get("statsig::config_exposure", [])) >= 2
                and len(by.get("statsig::gate_exposure", [])) >= 1)

    events = v.wait_for_events(complete, timeout=30, userID=wire["userID"])
    by = _by_name(events)
    assert complete(events), "events did not all arrive in the explorer within 30s; got %s" % (
        {k: len(x) for k, x in by.items()},)

    problems = []
    for e in events:
        problems += ["%s: %s" % (e.get("eventName"), p) for p in _check_common(e, wire)]

    # Gate exposure, with the passes_gate dependency as a secondary exposure.
    ge = [e for e in by["statsig::gate_exposure"] if (e.get("metadata") or {}).get("gate") == P + "chained"]
    if len(ge) != 1:
        problems.append("expected one gate exposure for %schained, got %d" % (P, len(ge)))
    else:
        md = ge[0]["metadata"]
        if md.get("gateValue") != "true" or md.get("ruleID") != gate.rule_id:
            problems.append("gate exposure metadata %r (SDK rule_id %r)" % (md, gate.rule_id))
        sec = ge[0].get("secondaryExposures")
        if not isinstance(sec, list) or [s.get("gate") for s in sec] != [P + "base"] \
                or sec[0].get("gateValue") != "true" or not sec[0].get("ruleID"):
            problems.append("gate exposure secondaryExposures %r" % (sec,))

    # Config and experiment exposures.
    ce = {(e.get("metadata") or {}).get("config"): e for e in by["statsig::config_exposure"]}
    for name, result in ((P + "config", cfg), (P + "experiment", exp)):
        e = ce.get(name)
        if e is None:
            problems.append("no config exposure for %s (got %s)" % (name, sorted(k for k in ce if k)))
            continue
        md = e["metadata"]
        if md.get("ruleID") != result.rule_id or md.get("rulePassed") not in ("true", "false"):
            problems.append("config exposure for %s: metadata %r (SDK rule_id %r)" % (name, md, result.rule_id))
    sec = (ce.get(P + "config") or {}).get("secondaryExposures")
    if not sec or sec[0].get("gate") != P + "base":
        problems.append("config exposure secondaryExposures %r should list %sbase" % (sec, P))

    # Layer exposures: one per parameter read.
    le = {(e.get("metadata") or {}).get("parameterName"): e for e in by["statsig::layer_exposure"]}
    t, f = le.get("title"), le.get("footer")
    if t is None or f is None:
        problems.append("layer exposures for title and footer expected, got %s" % sorted(k for k in le if k))
    else:
        if t["metadata"].get("config") != P + "layer" or t["metadata"].get("allocatedExperiment") != P + "layer_exp" \
                or t["metadata"].get("isExplicitParameter") != "true" or t["metadata"].get("ruleID") != layer.rule_id:
            problems.append("explicit-parameter layer exposure metadata %r" % (t["metadata"],))
        if f["metadata"].get("allocatedExperiment") != "" or f["metadata"].get("isExplicitParameter") != "false":
            problems.append("non-explicit-parameter layer exposure metadata %r" % (f["metadata"],))

    # The custom event.
    pe = by["purchase"]
    if len(pe) != 1:
        problems.append("expected one purchase event, got %d" % len(pe))
    else:
        if pe[0].get("value") != 9.99:
            problems.append("purchase value %r != 9.99" % (pe[0].get("value"),))
        md = pe[0].get("metadata") or {}
        if md.get("sku") != "abc-123" or md.get("qty") != "2":
            problems.append("purchase metadata %r" % (md,))
    assert not problems, "\n".join(problems)


def test_http_api_logs_exposures_unless_disabled(setup):
    v = setup
    quiet, loud = _user("quiet"), _user("loud")
    body_q = {"user": quiet, "gateName": P + "chained", "statsigMetadata": {"exposureLoggingDisabled": True}}
    r = v.sdk_post("check_gate", body_q)
    assert r.status_code == 200, r.text[:300]
    r = v.sdk_post("get_config", {"user": quiet, "configName": P + "config",
                                  "statsigMetadata": {"exposureLoggingDisabled": True}})
    assert r.status_code == 200, r.text[:300]
    r = v.sdk_post("check_gate", {"user": loud, "gateName": P + "chained"})
    assert r.status_code == 200 and r.json().get("value") is True, r.text[:300]
    rule_id = r.json()["rule_id"]
    r = v.sdk_post("get_layer", {"user": loud, "layerName": P + "layer"})
    assert r.status_code == 200, r.text[:300]
    evs = v.wait_for_events(lambda es: len(es) >= 3, timeout=20, userID=loud["userID"])
    by = _by_name(evs)
    assert len(by.get("statsig::gate_exposure", [])) == 1, "gate exposure for the HTTP API call: %s" % (
        json.dumps(evs)[:800],)
    ge = by["statsig::gate_exposure"][0]
    problems = _check_common(ge, loud)
    md = ge.get("metadata") or {}
    if md.get("gate") != P + "chained" or md.get("gateValue") != "true" or md.get("ruleID") != rule_id:
        problems.append("gate exposure metadata %r" % (md,))
    if [s.get("gate") for s in ge.get("secondaryExposures") or []] != [P + "base"]:
        problems.append("secondaryExposures %r" % (ge.get("secondaryExposures"),))
    params = sorted((e.get("metadata") or {}).get("parameterName") for e in by.get("statsig::layer_exposure", []))
    if params != ["footer", "title"]:
        problems.append("get_layer should log one layer exposure per parameter, got %r" % (params,))
    # Everything for `loud` has arrived, and `quiet`'s calls were made before it: nothing may exist for quiet.
    quiet_events = v.events(userID=quiet["userID"])
    if quiet_events:
        problems.append("exposureLoggingDisabled was ignored: %d events for the quiet user: %s" % (
            len(quiet_events), json.dumps(quiet_events)[:500]))
    assert not problems, "\n".join(problems)


def test_rgstr_with_client_key_and_explorer_filters(setup):
    v = setup
    marker = "xp_custom_" + uuid.uuid4().hex[:8]
    wire = {"userID": "rg-" + uuid.uuid4().hex[:8], "customIDs": {"stableID": "s-1"}}
    t0 = int(time.time() * 1000)
    events = [{"eventName": marker, "user": wire, "value": i, "metadata": {"i": str(i)}, "time": t0 + i}
              for i in range(7)]
    raw = gzip.compress(json.dumps({"events": events, "statsigMetadata": {"sdkType": "js-mono"}}).encode())
    r = v.session.post(v.base + "/v1/rgstr", params={"k": v.client_key, "st": "js-mono", "ec": "7"}, data=raw,
                       headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 202 and r.json() == {"success": True}, (r.status_code, r.text[:300])
    # Uncompressed, header auth, /v1/log_event.
    r = v.session.post(v.base + "/v1/log_event", json={"events": [{"eventName": marker + "_b", "user": wire}]},
                       headers={"STATSIG-API-KEY": v.client_key}, timeout=30)
    assert r.status_code == 202 and r.json() == {"success": True}, (r.status_code, r.text[:300])

    got = v.wait_for_events(lambda es: len(es) >= 7, timeout=20, eventName=marker)
    assert len(got) == 7, "expected 7 %s events, got %d" % (marker, len(got))
    assert all(e["eventName"] == marker for e in got)
    # Newest first.
    times = [e["time"] for e in got]
    assert times == sorted(times, reverse=True), "events are not newest first: %r" % times
    assert [e["value"] for e in got] == list(range(6, -1, -1)), [e["value"] for e in got]
    assert got[0]["time"] == t0 + 6, "event time should be the one sent (%d), got %r" % (t0 + 6, got[0]["time"])
    # Pagination with limit/cursor returns the same events, no duplicates.
    pages, params = [], {"eventName": marker, "limit": 3}
    for _ in range(10):
        r = v.console("GET", "/events", params=params)
        assert r.status_code == 200, r.text[:300]
        body = r.json()
        pages.append([e["id"] for e in body["data"]])
        if not body.get("nextCursor"):
            break
        params["cursor"] = body["nextCursor"]
    flat = [i for p in pages for i in p]
    assert [len(p) for p in pages] == [3, 3, 1], "pages of 3: %r" % (pages,)
    assert flat == [e["id"] for e in got], "paging changed the order or content"
    # userID filter, since/until filters.
    both = v.events(userID=wire["userID"])
    assert {e["eventName"] for e in both} == {marker, marker + "_b"}, [e["eventName"] for e in both]
    assert v.events(eventName=marker, since=t0 + 100000) == []
    assert len(v.events(eventName=marker, since=t0 + 3)) == 4
    assert len(v.events(eventName=marker, until=t0 + 3)) == 3
