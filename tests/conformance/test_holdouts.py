"""Holdouts against the real Statsig SDKs: a holdout (20 % of userIDs) is served as a gate with
`entity: "holdout"`, and the gates and experiments attached to it get a `pass_gate` rule on it ahead
of their own. The legacy Python SDK and server-core evaluate the downloaded rules locally; both
must agree with Vane's own evaluation (/v1/check_gate, /v1/get_config) user by user, held-out
users must get the defaults, and the others what the gate or experiment says."""
import os
import time

import pytest

from conftest import make_sdk
from test_pulse_stats import uniq
from test_core_sdk import core_user, loopback_only, start_core  # noqa: F401  (the loopback guard)

N = int(os.environ.get("VANE_HOLDOUT_USERS", "2000"))


@pytest.fixture(scope="module")
def setup(vane):
    holdout, gate, exp = uniq("hold_q"), uniq("held_gate"), uniq("held_exp")
    vane.console_ok("POST", "/holdouts", {"name": holdout, "rules": [
        {"name": "holdout", "passPercentage": 20, "conditions": [{"type": "public"}]}]})
    vane.console_ok("POST", "/gates", {"name": gate, "holdouts": [holdout], "rules": [
        {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}]})
    vane.console_ok("POST", "/experiments", {"name": exp, "holdouts": [holdout], "groups": [
        {"name": "Control", "size": 50, "parameterValues": {"color": "blue"}},
        {"name": "Test", "size": 50, "parameterValues": {"color": "green"}}]})
    vane.console_ok("POST", "/experiments/%s/start" % exp)
    return holdout, gate, exp


def vane_says(vane, user, gate, exp):
    g = vane.sdk_post("check_gate", {"user": user, "gateName": gate}).json()
    c = vane.sdk_post("get_config", {"user": user, "configName": exp}).json()
    return g["value"], c["value"], c.get("rule_id") or c.get("ruleID")


def test_legacy_and_core_sdks_hold_out_exactly_the_users_vane_does(vane, setup):
    from statsig import StatsigUser
    holdout, gate, exp = setup
    legacy = make_sdk(vane)
    core, details = start_core(vane.base)
    assert details.is_config_spec_ready
    try:
        held = 0
        mismatches = []
        for i in range(N):
            wire = {"userID": "holdout-user-%d" % i}
            v_gate, v_value, v_rule = vane_says(vane, wire, gate, exp)
            in_holdout = legacy.check_gate(StatsigUser(user_id=wire["userID"]), holdout)
            held += in_holdout
            l_gate = legacy.check_gate(StatsigUser(user_id=wire["userID"]), gate)
            l_value = legacy.get_experiment(StatsigUser(user_id=wire["userID"]), exp).get_value()
            c_gate = core.check_gate(core_user(wire), gate)
            c_value = dict(core.get_experiment(core_user(wire), exp).value)
            if not (v_gate == l_gate == c_gate == (not in_holdout) and v_value == l_value == c_value):
                mismatches.append((wire["userID"], in_holdout, v_gate, l_gate, c_gate, v_value, l_value, c_value))
            if in_holdout:
                if v_value != {} or v_rule != "holdout:" + holdout:
                    mismatches.append(("held out but in the experiment", wire["userID"], v_value, v_rule))
            elif v_value.get("color") not in ("blue", "green"):
                mismatches.append(("not held out but no group", wire["userID"], v_value, v_rule))
        assert not mismatches, "%d mismatches, e.g. %s" % (len(mismatches), mismatches[:5])
        assert 0.17 * N < held < 0.23 * N, "holdout share %d of %d; want about 20 %%" % (held, N)
        print("held out %d of %d users; legacy SDK, server-core and Vane agree on every one" % (held, N))
    finally:
        core.shutdown().wait()
        legacy.shutdown()


def test_a_holdout_is_not_a_flag_for_clients(vane, setup):
    holdout, gate, _ = setup
    init = vane.sdk_post("initialize", {"user": {"userID": "u1"}, "hash": "none"}, key=vane.client_key).json()
    assert gate in init["feature_gates"] and holdout not in init["feature_gates"]
    r = vane.session.post(vane.base + "/ofrep/v1/evaluate/flags", json={"context": {"targetingKey": "u1"}},
                          headers={"Authorization": "Bearer " + vane.server_secret})
    keys = {f["key"] for f in r.json()["flags"]}
    assert gate in keys and holdout not in keys, sorted(keys)[:20]
    dcs = vane.sdk_post("download_config_specs", {}).json()
    spec = [g for g in dcs["feature_gates"] if g["name"] == holdout]
    assert len(spec) == 1 and spec[0]["entity"] == "holdout", spec


def test_holdout_references_are_checked(vane, setup):
    holdout, gate, _ = setup
    r = vane.console("POST", "/gates", {"name": uniq("g"), "holdouts": ["no_such_holdout"]})
    assert r.status_code == 400 and "'no_such_holdout' is not a holdout" in r.json()["error"], r.text
    r = vane.console("POST", "/dynamic_configs", {"name": uniq("c"), "defaultValue": {}, "holdouts": [holdout]})
    assert r.status_code == 400 and "only gates and experiments" in r.json()["error"], r.text
    r = vane.console("DELETE", "/holdouts/" + holdout)
    assert r.status_code == 409 and gate in r.json()["error"], r.text
    r = vane.console("POST", "/holdouts", {"name": gate})
    assert r.status_code == 409 and "gates and holdouts need different names" in r.json()["error"], r.text


def test_holdouts_import_from_a_statsig_document(vane):
    name, gate = uniq("imported_holdout"), uniq("imported_held_gate")
    doc = {"feature_gates": [
        {"name": name, "type": "feature_gate", "entity": "holdout", "salt": "s1", "enabled": True, "defaultValue": False,
         "idType": "userID", "rules": [{"name": "h", "id": "h1", "salt": "h1", "passPercentage": 10, "conditions": [
             {"type": "public", "targetValue": None, "operator": None, "field": None, "additionalValues": {}, "idType": "userID"}],
             "returnValue": True, "idType": "userID"}]},
        {"name": gate, "type": "feature_gate", "entity": "feature_gate", "salt": "s2", "enabled": True, "defaultValue": False,
         "idType": "userID", "rules": [
             {"name": "held", "id": "r0", "salt": "r0", "passPercentage": 0, "conditions": [
                 {"type": "pass_gate", "targetValue": name, "operator": None, "field": None, "additionalValues": {}, "idType": "userID"}],
              "returnValue": False, "idType": "userID"},
             {"name": "all", "id": "r1", "salt": "r1", "passPercentage": 100, "conditions": [
                 {"type": "public", "targetValue": None, "operator": None, "field": None, "additionalValues": {}, "idType": "userID"}],
              "returnValue": True, "idType": "userID"}]}],
        "dynamic_configs": [], "layer_configs": []}
    vane.console_ok("POST", "/import/statsig", doc)
    assert [h["name"] for h in vane.console_ok("GET", "/holdouts") if h["name"] == name] == [name]
    values = [vane.sdk_post("check_gate", {"user": {"userID": "imp-%d" % i}, "gateName": gate}).json()["value"] for i in range(400)]
    assert 0.05 * 400 < values.count(False) < 0.16 * 400, values.count(False)


def test_holdout_results_compare_held_out_units_with_the_exposed(vane):
    """Exposures logged by the real SDK (the holdout is a secondary exposure of the attached
    experiment); held-out units convert at 30 %, the others at 40 % (so that about 90 held-out units
convert, well above the 30 that results need): the holdout's results compare
    them exactly as the Pulse oracle (gbstats + scipy) does."""
    import numpy as np
    from statsig import StatsigUser
    from test_pulse_stats import Exact, metric_want, oracle, problems_vs, results_matching, send, srm_want
    # Its own holdout and experiment: the other tests' SDK calls logged exposures of theirs.
    holdout, exp = uniq("results_hold"), uniq("results_exp")
    vane.console_ok("POST", "/holdouts", {"name": holdout, "rules": [
        {"name": "holdout", "passPercentage": 20, "conditions": [{"type": "public"}]}]})
    vane.console_ok("POST", "/experiments", {"name": exp, "holdouts": [holdout], "groups": [
        {"name": "Control", "size": 50}, {"name": "Test", "size": 50}]})
    vane.console_ok("POST", "/experiments/%s/start" % exp)
    rng = np.random.default_rng(2026)
    event = uniq("holdout_purchase")
    legacy = make_sdk(vane)
    held, exposed, events = [], [], []
    t = int(time.time() * 1000) + 60_000
    try:
        for i in range(1500):
            uid = "holdout-results-%d" % i
            legacy.get_experiment(StatsigUser(user_id=uid), exp)  # logs the exposure, the holdout as a secondary one
            is_held = legacy.check_gate(StatsigUser(user_id=uid), holdout)
            converted = rng.random() < (0.3 if is_held else 0.4)
            (held if is_held else exposed).append(1.0 if converted else 0.0)
            if converted:
                events.append({"eventName": event, "user": {"userID": uid}, "time": t})
    finally:
        legacy.shutdown()  # flushes the exposures
    send(vane, events)
    want = {"subjectKind": "holdout", "controlGroup": "held out",
            "groups": Exact({"held out": {"units": len(held)}, "exposed": {"units": len(exposed)}}),
            "srm": srm_want([len(held), len(exposed)], [20, 80]),
            "metrics": Exact({"conversion:" + event: metric_want("conversion", event, [
                oracle("conversion", np.array(held), np.array(exposed), group="exposed")])})}
    results_matching(vane, holdout, {"metrics": "conversion:" + event}, lambda d: problems_vs(d, want), subject="holdouts")
