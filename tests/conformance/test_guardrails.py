"""Guardrails that act, against a real `vane serve` (its guardrail job every 0.5 s): a gate rollout
whose guardrail metric is harmed is rolled back (partial rule to 0 %, pending scheduled steps
dropped), an experiment is stopped on its control, both audited as the `vane` system actor and sent
to Segment as `statsig::config_change`; a rollout without harm is left alone. False-alarm and
time-to-rollback rates are simulated in Swift (GuardrailSimulationTests): here it is the job."""
import time

import numpy as np
import pytest

from _segment_receiver import SegmentReceiver, VaneProcess, configure, wait_until
from test_pulse_stats import HOUR, base_day, exposure, gate_exposure, post_events, send, uniq
from vane_server import binary_path


@pytest.fixture
def own(tmp_path):
    vp = VaneProcess(binary_path(), tmp_path / "data", extra_args=("--guardrail-interval", "0.5"))
    yield vp
    vp.stop()


def harm_data(rng, make_exposure, arms, n, event):
    """n units per arm exposed 4 days ago; each converts (one `event`) with its arm's probability."""
    exposures, events = [], []
    base = base_day()
    for arm, (key, p) in arms.items():
        t0 = base + rng.integers(HOUR, 20 * HOUR, n)
        for i in range(n):
            uid = "%s-%d" % (arm, i)
            exposures.append(make_exposure(key, uid, int(t0[i])))
            if rng.random() < p:
                events.extend(post_events(rng, uid, int(t0[i]), 1, event))
    return exposures, events


def vane_changes(rc, name):
    return [m for m in rc.messages() if m["event"] == "statsig::config_change"
            and m["properties"].get("configName") == name and m["properties"].get("author") == "vane"]


def test_a_harmful_rollout_is_rolled_back_and_a_harmless_one_is_not(own):
    v = own.start()
    rng = np.random.default_rng(20261203)
    with SegmentReceiver("wk_guardrails") as rc:
        configure(v, rc)
        event = uniq("purchase")
        gates, logged = {}, {}
        for label in ("harmful", "harmless"):
            name = uniq("guarded_" + label)
            later = int(time.time() * 1000) + 3600_000
            data = v.console_ok("POST", "/gates", {"name": name, "rules": [{
                "name": "rollout", "passPercentage": 50, "conditions": [{"type": "public"}],
                "schedule": [{"time": later, "passPercentage": 100}]}],
                "guardrails": [{"metric": "conversion:" + event, "harmfulDirection": "decrease", "tolerance": 0.02}]})
            gates[label] = (name, data["rules"][0]["id"])
        for label, (name, rule_id) in gates.items():
            p_pass = 0.10 if label == "harmful" else 0.25
            exposures, events = harm_data(
                rng, lambda passed, uid, t: gate_exposure(name, rule_id, uid + name, t, passed),
                {"fail": (False, 0.25), "pass": (True, p_pass)}, 1500, event)
            # user ids are per gate: the arms' uids are suffixed with the gate's name
            for e in events:
                e["user"]["userID"] += name
            send(v, exposures)
            send(v, events)
            logged[label] = time.time()

        harmful, harmless = gates["harmful"][0], gates["harmless"][0]
        rule = lambda n: v.console_ok("GET", "/gates/" + n)["rules"][0]
        rolled = wait_until(lambda: rule(harmful)["passPercentage"] == 0 or None, 60, 0.5)
        assert rolled, "the harmed rollout was not rolled back: %s; log:\n%s" % (rule(harmful), own.log_tail(20))
        print("rolled back %.1f s after the data was logged (3,000 units, conversion 25 %% → 10 %%)" % (time.time() - logged["harmful"]))
        assert rule(harmful)["schedule"] == [], "the pending ramp step must be dropped: %s" % rule(harmful)
        assert all(v.sdk_post("check_gate", {"user": {"userID": "u%d" % i}, "gateName": harmful}).json()["value"] is False
                   for i in range(50)), "SDK answers must follow the rollback"

        entries = [e for e in v.console_ok("GET", "/audit_logs", params={"limit": 1000})
                   if e.get("name") == harmful and e.get("action") == "guardrail_rollback"]
        assert len(entries) == 1 and entries[0]["actor"] == "vane", entries
        d = entries[0]["description"]
        assert "conversion:%s harmed in pass" % event in d and "rule 'rollout' 50% → 0%" in d and "pending scheduled steps dropped" in d, d
        assert wait_until(lambda: vane_changes(rc, harmful), 20), "the rollback did not reach Segment as a config change by vane"

        time.sleep(3)  # several more runs of the job
        assert rule(harmless)["passPercentage"] == 50, "a rollout without harm was rolled back: %s" % rule(harmless)
        assert not [e for e in v.console_ok("GET", "/audit_logs", params={"limit": 1000})
                    if e.get("name") == harmless and e.get("action") == "guardrail_rollback"]
        assert len([e for e in v.console_ok("GET", "/audit_logs", params={"limit": 1000})
                    if e.get("name") == harmful and e.get("action") == "guardrail_rollback"]) == 1, "acted twice"
        # Results list the guardrail first and say it is one.
        metrics = v.console_ok("GET", "/gates/%s/results" % harmless)["metrics"]
        assert metrics[0]["metric"] == "conversion:" + event and metrics[0]["guardrail"] == {
            "metric": "conversion:" + event, "harmfulDirection": "decrease", "tolerance": 0.02}, metrics[0]
        assert all("guardrail" not in m for m in metrics[1:]), [m["metric"] for m in metrics]


def test_a_harmful_experiment_is_stopped_on_its_control(own):
    v = own.start()
    rng = np.random.default_rng(7)
    errors = uniq("checkout_error")
    name = uniq("guarded_exp")
    data = v.console_ok("POST", "/experiments", {
        "name": name, "groups": [{"name": "Control", "size": 50}, {"name": "Test", "size": 50}],
        "guardrails": [{"metric": "conversion:" + errors, "harmfulDirection": "increase", "tolerance": 0.05}]})
    rules = {g["name"]: g["id"] for g in data["groups"]}
    v.console_ok("POST", "/experiments/%s/start" % name)
    exposures, events = harm_data(
        rng, lambda rid, uid, t: exposure(name, rid, uid, t),
        {"Control": (rules["Control"], 0.05), "Test": (rules["Test"], 0.15)}, 1200, errors)
    send(v, exposures)
    send(v, events)
    exp = lambda: v.console_ok("GET", "/experiments/" + name)
    stopped = wait_until(lambda: exp()["status"] == "decision_made" or None, 60, 0.5)
    assert stopped, "the harmful experiment was not stopped: %s; log:\n%s" % (exp()["status"], own.log_tail(20))
    assert exp()["launchedGroup"] == "Control"
    entries = [e for e in v.console_ok("GET", "/audit_logs", params={"limit": 1000})
               if e.get("name") == name and e.get("action") == "guardrail_rollback"]
    assert len(entries) == 1 and entries[0]["actor"] == "vane" and "Control shipped" in entries[0]["description"], entries


@pytest.mark.parametrize("body,needle", [
    ({"kind": "dynamic_configs", "guardrails": [{"metric": "count:x", "harmfulDirection": "decrease"}]},
     "only gates and experiments can have guardrails"),
    ({"guardrails": [{"metric": "count:x", "harmfulDirection": "decrease", "tolerance": 1}]}, "tolerance must be"),
    ({"guardrails": [{"metric": "count:x", "harmfulDirection": "decrease", "tolerance": -0.1}]}, "tolerance must be"),
    ({"guardrails": [{"metric": "count:x,count:y", "harmfulDirection": "decrease"}]}, "no commas"),
    ({"guardrails": [{"metric": "count:x", "harmfulDirection": "decrease"}, {"metric": "count:x", "harmfulDirection": "increase"}]},
     "listed twice"),
    ({"guardrails": [{"metric": "count:x", "harmfulDirection": "sideways"}]}, "harmfulDirection"),
    ({"guardrails": [{"metric": "count:x"}]}, "harmfulDirection"),
])
def test_bad_guardrails_are_refused_with_a_reason(vane, body, needle):
    kind = body.pop("kind", "gates")
    body = dict(body, name=uniq("bad_guardrail"))
    if kind == "dynamic_configs":
        body["defaultValue"] = {}
    r = vane.console("POST", "/" + kind, body)
    assert r.status_code == 400, (r.status_code, r.text)
    assert needle in r.json()["error"], r.json()
