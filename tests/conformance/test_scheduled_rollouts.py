"""Scheduled rollouts against a real `vane serve`: a gate rule's pass percentage follows its schedule,
SDK answers follow it, each step is audited once as the `vane` system actor and goes to Segment as a
`statsig::config_change`, and a step that falls due while the server is down (SIGKILLed) is applied
once after the restart."""
import time

import pytest

from _segment_receiver import SegmentReceiver, VaneProcess, configure, wait_until
from vane_server import binary_path

GATE = "scheduled_ramp"


@pytest.fixture
def own(tmp_path):
    vp = VaneProcess(binary_path(), tmp_path / "data", extra_args=("--schedule-interval", "0.2"))
    yield vp
    vp.stop()


def rule(v):
    return v.console_ok("GET", "/gates/" + GATE)["rules"][0]


def passing_share(v, n=400):
    passed = 0
    for i in range(n):
        r = v.sdk_post("check_gate", {"user": {"userID": "ramp-user-%d" % i}, "gateName": GATE})
        assert r.status_code == 200, r.text[:300]
        passed += r.json()["value"] is True
    return passed / n


def test_a_ramp_follows_its_schedule_across_a_sigkill(own):
    v = own.start()
    with SegmentReceiver("wk_schedule") as rc:
        configure(v, rc)
        t0 = int(time.time() * 1000)
        # Steps far enough apart for a loaded machine (a two-node PostgreSQL pass once took over 4 s
        # for 200 checks).
        first_at, second_at = t0 + 8000, t0 + 25000
        v.console_ok("POST", "/gates", {"name": GATE, "rules": [{
            "name": "ramp", "passPercentage": 0, "conditions": [{"type": "public"}],
            "schedule": [{"time": first_at, "passPercentage": 30}, {"time": second_at, "passPercentage": 70}]}]})
        before = passing_share(v, 100)
        if time.time() * 1000 < first_at:  # the sample was taken before the first step fell due
            assert before == 0, "the gate passed %.0f%% of users before its first step" % (before * 100)

        first = wait_until(lambda: rule(v)["passPercentage"] == 30 or None, 10)
        assert first, "the first step (30%%) was not applied: %s" % rule(v)
        assert 0.2 < passing_share(v) < 0.4, "SDK answers do not follow the 30%% step"

        assert int(time.time() * 1000) < second_at, "too slow: the second step fell due before the kill"
        own.kill()
        time.sleep(max(0.0, (second_at + 500) / 1000 - time.time()))  # the second step falls due while down
        v = own.start()
        second = wait_until(lambda: rule(v)["passPercentage"] == 70 or None, 10)
        assert second, "the step that fell due during the outage was not applied after the restart: %s" % rule(v)
        assert 0.6 < passing_share(v) < 0.8
        time.sleep(1.0)  # several more runs of the job: nothing is applied again

        entries = [e for e in v.console_ok("GET", "/audit_logs", params={"limit": 1000})
                   if e.get("name") == GATE and e.get("action") == "scheduled_rollout"]
        assert len(entries) == 2, entries
        assert all(e["actor"] == "vane" for e in entries), entries
        assert sorted(e["description"] for e in entries) == [
            "Gate %s: scheduled rollout, rule 'ramp' 0%% → 30%%" % GATE,
            "Gate %s: scheduled rollout, rule 'ramp' 30%% → 70%%" % GATE], entries
        steps = rule(v)["schedule"]
        assert all(s.get("appliedAt") for s in steps), steps

        changes = rc.wait(lambda r: len([m for m in r.messages() if m["event"] == "statsig::config_change"
                                         and m["properties"].get("configName") == GATE
                                         and m["properties"].get("author") == "vane"]) >= 2, 20)
        assert changes, "the scheduled changes did not reach Segment as statsig::config_change: %s" % [
            (m["event"], m.get("properties", {}).get("author")) for m in rc.messages()][-10:]
