"""Hostile numbers against a real `vane serve` (issue 10, items 1 and 2).

Extreme times, values, versions and query parameters sent over HTTP must get a 4xx that names the
field (a Segment batch item is skipped with its reason), the process must stay up, and after a
restart on the same data dir the server must come up and answer results, metrics and series with
200 — including when the data dir holds events an older version stored with such numbers (written
here straight into vane.sqlite while the server is stopped).

Each test module runs its own servers on 127.0.0.1.
"""
import base64
import json
import sqlite3
import time
import uuid

import pytest
import requests

from _segment_receiver import SegmentReceiver, VaneProcess, configure, dead_letters, log_events, status, wait_until
from vane_server import ServerProcess, StartupError, binary_path

SERVER_SECRET = "secret-hostile-test"
CLIENT_KEY = "client-hostile-test"
CONSOLE_KEY = "console-hostile-test"
WRITE_KEY = "wk_hostile_test"

DAY = 86_400_000
EARLIEST = 946_684_800_000  # 2000-01-01T00:00:00Z
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".%03dZ" % (ms % 1000)


class Server:
    """A running server plus raw-body helpers (the hostile literals are not valid Python JSON)."""

    def __init__(self, proc):
        self.proc = proc
        self.base = proc.base
        self.http = requests.Session()

    def post_raw(self, path, text, key=SERVER_SECRET, headers=None):
        h = {"Content-Type": "application/json"}
        if key:
            h["STATSIG-API-KEY"] = key
        h.update(headers or {})
        return self.http.post(self.base + path, data=text.encode(), headers=h, timeout=30)

    def console(self, method, path, body=None, params=None):
        return self.http.request(method, self.base + "/console/v1/" + path.lstrip("/"), json=body, params=params,
                                 headers={"STATSIG-API-KEY": CONSOLE_KEY}, timeout=60)

    def segment(self, path, text):
        auth = "Basic " + base64.b64encode((WRITE_KEY + ":").encode()).decode()
        return self.post_raw(path, text, key=None, headers={"Authorization": auth})

    def assert_alive(self, what):
        assert self.proc.alive(), "vane exited after %s:\n%s" % (what, self.proc.log_tail())
        r = self.http.get(self.base + "/health", timeout=10)
        assert r.status_code == 200, "/health after %s: %d" % (what, r.status_code)


def make_process(data_dir, log_path):
    return ServerProcess(binary_path(), data_dir, server_secret=SERVER_SECRET, client_key=CLIENT_KEY,
                         console_key=CONSOLE_KEY, segment_write_key=WRITE_KEY, log_path=log_path)


def start(proc):
    try:
        proc.start(timeout=30)
    except StartupError as e:
        pytest.fail(str(e), pytrace=False)
    return Server(proc)


@pytest.fixture(scope="module")
def vane(tmp_path_factory):
    proc = make_process(tmp_path_factory.mktemp("hostile-data"), tmp_path_factory.mktemp("hostile-log") / "server.log")
    server = start(proc)
    yield server
    crashed = proc.proc.poll()
    proc.stop()
    if crashed is not None:
        pytest.fail("vane exited during the hostile-numbers tests (code %s)\n%s" % (crashed, proc.log_tail()), pytrace=False)


@pytest.fixture(scope="module")
def subjects(vane):
    """An experiment with an analysis window and a gate with a partial rollout."""
    r = vane.console("POST", "experiments", {"name": "hostile_exp", "analysisWindowDays": 3650,
                                             "groups": [{"name": "Control", "size": 50}, {"name": "Test", "size": 50}]})
    assert r.status_code == 201, r.text
    groups = r.json()["data"]["groups"]
    r = vane.console("POST", "gates", {"name": "hostile_gate", "rules": [
        {"name": "half", "passPercentage": 50, "conditions": [{"type": "public"}]}]})
    assert r.status_code == 201, r.text
    r = vane.console("POST", "gates", {"name": "new_app", "rules": [{"name": "v", "conditions": [
        {"type": "user_field", "field": "appVersion", "operator": "version_gt", "targetValue": "1.2.3"}]}]})
    assert r.status_code == 201, r.text
    return {"control": groups[0]["id"], "test": groups[1]["id"]}


# ---------------------------------------------------------------- event times

BAD_TIMES = [
    "9223372036854775807", "-9223372036854775808", "9223372036854775806", "-1", "0", "1", "1e19", "-1e19",
    "9.3e18", "1e400", "-1e400", "18446744073709551616", "99999999999", "946684799999", "253402300800000",
    '"9223372036854775807"', '"-9223372036854775808"', '"-1"', '"99999999999999999999"',
    '"0000-01-01T00:00:00Z"', '"10000-01-01T00:00:00Z"', '"1999-12-31T23:59:59.999Z"', '"9999-12-31T23:59:59.999Z"',
]


@pytest.mark.parametrize("path,key", [("/v1/log_event", SERVER_SECRET), ("/v1/rgstr", CLIENT_KEY)])
def test_out_of_range_times_are_a_400_naming_the_event(vane, path, key):
    problems = []
    for t in BAD_TIMES + [str(now_ms() + 2 * DAY)]:
        body = '{"events": [{"eventName": "fine", "user": {"userID": "u"}}, ' \
               '{"eventName": "hostile_time", "user": {"userID": "u"}, "time": %s}]}' % t
        r = vane.post_raw(path, body, key=key)
        if r.status_code != 400 or "events[1].time" not in r.text:
            problems.append("time %s -> %d %s" % (t, r.status_code, r.text[:200]))
        vane.assert_alive("%s with time %s" % (path, t))
    assert not problems, "\n".join(problems)
    r = vane.console("GET", "events", params={"eventName": "fine"})
    assert r.status_code == 200 and r.json()["data"] == [], "a refused request stored events: %s" % r.text[:300]


def test_times_at_the_edges_are_accepted(vane):
    now = now_ms()
    for t in [EARLIEST, '"2000-01-01T00:00:00Z"', now, now + DAY - 60_000, 1_790_000_000, '"%d"' % now]:
        body = '{"events": [{"eventName": "edge_time", "user": {"userID": "u"}, "time": %s}]}' % t
        r = vane.post_raw("/v1/log_event", body)
        assert r.status_code == 202, "time %s -> %d %s" % (t, r.status_code, r.text[:200])


# ---------------------------------------------------------------- event values

@pytest.mark.parametrize("value", ["1e400", "-1e400", "1E999", "-2e308"])
def test_non_finite_values_are_a_400_naming_the_value(vane, value):
    for path, key in [("/v1/log_event", SERVER_SECRET), ("/v1/rgstr", CLIENT_KEY)]:
        body = '{"events": [{"eventName": "hostile_value", "user": {"userID": "u"}, "value": %s}]}' % value
        r = vane.post_raw(path, body, key=key)
        assert r.status_code == 400 and "events[0].value" in r.text, "%s value %s -> %d %s" % (
            path, value, r.status_code, r.text[:200])
    vane.assert_alive("value %s" % value)


def test_huge_finite_values_are_acknowledged_and_set_aside_by_the_rollup(vane, subjects):
    t = now_ms() - 3_600_000
    events = []
    for i in range(6):
        uid = "hv%d" % i
        events.append({"eventName": "statsig::config_exposure", "user": {"userID": uid}, "time": t,
                       "metadata": {"config": "hostile_exp", "ruleID": subjects["control" if i % 2 else "test"]}})
        events.append({"eventName": "hv_buy", "user": {"userID": uid}, "time": t + 1000, "value": 3})
    text = json.dumps({"events": events})[:-2]
    text += ', {"eventName": "hv_buy", "user": {"userID": "hv0"}, "value": 1e308}' \
            ', {"eventName": "hv_buy", "user": {"userID": "hv0"}, "value": 1e308}' \
            ', {"eventName": "hv_buy", "user": {"userID": "hv1"}, "value": -1e308}]}'
    r = vane.post_raw("/v1/log_event", text)
    assert r.status_code == 202, r.text[:300]
    r = vane.console("GET", "experiments/hostile_exp/results")
    assert r.status_code == 200, r.text[:500]
    rollup = r.json()["data"]["rollup"]
    assert rollup["setAsideReasons"].get("value_out_of_range", 0) >= 3, rollup
    r = vane.console("GET", "metrics/count:hv_buy/series")
    assert r.status_code == 200, r.text[:300]
    assert all(d["sum"] == 18 for d in r.json()["data"]["days"] if d["events"]), r.text[:300]
    r = vane.console("GET", "pulse/skipped")
    assert r.status_code == 200 and r.json()["data"]["reasons"].get("value_out_of_range", 0) >= 3, r.text[:300]


# ---------------------------------------------------------------- Segment

def _segment_item(extra):
    item = {"type": "track", "event": "Hostile Buy", "userId": "seg-u", "messageId": str(uuid.uuid4())}
    return json.dumps(item)[:-1] + extra + "}"


def test_segment_batch_skips_items_with_their_reason(vane):
    now = now_ms()
    items = [
        _segment_item(""),
        _segment_item(', "timestamp": "0000-01-01T00:00:00Z"'),
        _segment_item(', "timestamp": "%s"' % iso(now + 3 * DAY)),
        _segment_item(', "originalTimestamp": "9999-12-31T23:59:59.999Z", "sentAt": "2000-01-01T00:00:00Z"'),
        _segment_item(', "originalTimestamp": "0001-01-01T00:00:00Z"'),
        _segment_item(', "properties": {"value": 1e400}'),
        _segment_item(', "properties": {"revenue": -1e400}'),
        _segment_item(', "properties": {"value": 1e308}'),
    ]
    batch = '{"batch": [%s], "sentAt": "%s"}' % (", ".join(items), iso(now))
    r = vane.segment("/v1/batch", batch)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["stored"] == 2, body
    assert {(s["index"], s["reason"]) for s in body["skipped"]} == {
        (1, "time_out_of_range"), (2, "time_out_of_range"), (3, "time_out_of_range"), (4, "time_out_of_range"),
        (5, "value_not_finite"), (6, "value_not_finite")}, body
    for extra, reason, field in [(', "timestamp": "0000-01-01T00:00:00Z"', "time_out_of_range", "timestamp"),
                                 (', "properties": {"value": 1e400}', "value_not_finite", "properties.value")]:
        r = vane.segment("/v1/track", _segment_item(extra))
        assert r.status_code == 400 and reason in r.text and field in r.text, r.text[:300]
    vane.assert_alive("Segment batch")


# ---------------------------------------------------------------- versions

@pytest.mark.parametrize("version,expected", [
    ("99999999999999999999.1", True), ("1.99999999999999999999", True), ("9" * 300, True),
    ("9223372036854775807.9223372036854775808", True), ("0.99999999999999999999", False), ("1e400", False),
])
def test_initialize_with_long_numeric_app_versions(vane, subjects, version, expected):
    body = json.dumps({"user": {"userID": "u1", "appVersion": version}, "hash": "none"})
    r = vane.post_raw("/v1/initialize", body, key=CLIENT_KEY)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["feature_gates"]["new_app"]["value"] is expected
    vane.assert_alive("appVersion %s" % version)


# ---------------------------------------------------------------- results parameters

BAD_NUMBERS = ["1e300", "-1e300", "-1", "NaN", "nan", "inf", "-inf", "Infinity", "1e400", "abc", "",
               "9223372036854775808", "0x7fffffffffffffff"]


@pytest.mark.parametrize("param", ["alpha", "sequentialTuning", "minUnits", "minConversions",
                                   "sequential", "cuped", "bonferroni", "winsorize"])
def test_results_parameters_refuse_hostile_values(vane, subjects, param):
    problems = []
    for path in ["experiments/hostile_exp/results", "gates/hostile_gate/results"]:
        for value in BAD_NUMBERS:
            r = vane.console("GET", path, params={param: value})
            if r.status_code != 400 or param not in r.text:
                problems.append("%s?%s=%r -> %d %s" % (path, param, value, r.status_code, r.text[:200]))
    vane.assert_alive("results ?%s=" % param)
    assert not problems, "\n".join(problems)


def test_list_parameters_refuse_hostile_values(vane):
    for path in ["events", "audit_logs", "pulse/skipped"]:
        for value in ["-1", "0", "1001", "1e400", "9223372036854775808"]:
            r = vane.console("GET", path, params={"limit": value})
            assert r.status_code == 400 and "limit" in r.text, "%s?limit=%s -> %d %s" % (path, value, r.status_code, r.text)
    for value in [str(INT64_MAX), str(INT64_MIN)]:
        assert vane.console("GET", "events", params={"since": value, "until": value}).status_code == 200
        assert vane.console("GET", "audit_logs", params={"before": value}).status_code == 200
        r = vane.http.get(vane.base + "/v1/download_config_specs/%s.json" % SERVER_SECRET, params={"sinceTime": value})
        assert r.status_code == 200
    vane.assert_alive("list parameters")


# ---------------------------------------------------------------- window arithmetic, then a restart

def test_largest_accepted_times_with_a_window_then_restart(vane, subjects):
    """Exposures and events at both ends of the accepted range, in an experiment with a 3650-day window;
    then the server is restarted on the same data dir and every reader answers 200."""
    now = now_ms()
    latest = now + DAY - 60_000
    events = [
        {"eventName": "statsig::config_exposure", "user": {"userID": "edge-early"}, "time": EARLIEST,
         "metadata": {"config": "hostile_exp", "ruleID": subjects["control"]}},
        {"eventName": "edge_buy", "user": {"userID": "edge-early"}, "time": EARLIEST + 1, "value": 1},
        {"eventName": "statsig::config_exposure", "user": {"userID": "edge-late"}, "time": latest,
         "metadata": {"config": "hostile_exp", "ruleID": subjects["test"]}},
        {"eventName": "edge_buy", "user": {"userID": "edge-late"}, "time": latest, "value": 2},
    ]
    r = vane.post_raw("/v1/log_event", json.dumps({"events": events}))
    assert r.status_code == 202, r.text[:300]
    _readers_answer(vane)
    vane.proc.stop()
    vane.proc.start(timeout=30)
    vane.assert_alive("restart")
    _readers_answer(vane)


def _readers_answer(v):
    for path in ["experiments/hostile_exp/results", "experiments/hostile_exp/results?winsorize=true&sequential=true",
                 "gates/hostile_gate/results", "metrics", "metrics/count:edge_buy/series", "pulse/skipped"]:
        r = v.console("GET", path)
        assert r.status_code == 200, "%s -> %d %s" % (path, r.status_code, r.text[:300])


# ---------------------------------------------------------------- data stored by an older version

def test_poisoned_data_from_an_older_version_does_not_stop_startup_or_readers(tmp_path):
    """Events with the numbers the boundary now refuses, written straight into vane.sqlite (as an older
    version acknowledged them): the server starts, the rollup sets them aside with reasons, results,
    metrics and series answer 200, and so they do again after another restart."""
    proc = make_process(tmp_path / "data", tmp_path / "server.log")
    v = start(proc)
    try:
        r = v.console("POST", "experiments", {"name": "legacy_exp", "analysisWindowDays": 30,
                                              "groups": [{"name": "Control", "size": 50}, {"name": "Test", "size": 50}]})
        assert r.status_code == 201, r.text
        rule = r.json()["data"]["groups"][0]["id"]
        t = now_ms() - 3_600_000
        r = v.post_raw("/v1/log_event", json.dumps({"events": [
            {"eventName": "statsig::config_exposure", "user": {"userID": "ok"}, "time": t,
             "metadata": {"config": "legacy_exp", "ruleID": rule}},
            {"eventName": "legacy_buy", "user": {"userID": "ok"}, "time": t + 1000, "value": 4}]}))
        assert r.status_code == 202, r.text
        proc.stop()

        exposure_md = json.dumps({"config": "legacy_exp", "ruleID": rule})
        rows = [
            ("statsig::config_exposure", "late", None, exposure_md, INT64_MAX),
            ("statsig::config_exposure", "early", None, exposure_md, INT64_MIN),
            ("legacy_buy", "ok", float("inf"), None, t + 2000),
            ("legacy_buy", "ok", float("-inf"), None, t + 3000),
            ("legacy_buy", "ok", 1e308, None, t + 4000),
            ("legacy_buy", "ok", 1e308, None, t + 5000),
            ("legacy_buy", "late", 1.0, None, INT64_MAX),
            ("legacy_buy", "ok", 1.0, None, -1),
        ]
        db = sqlite3.connect(str(tmp_path / "data" / "vane.sqlite"))
        with db:
            for name, uid, value, md, when in rows:
                db.execute(
                    "INSERT INTO events (project_id, event_name, user_id, user_json, value_num, metadata, time, received_at, "
                    "source) VALUES ('default', ?, ?, ?, ?, ?, ?, ?, 'sdk')",
                    (name, uid, json.dumps({"userID": uid}), value, md, when, t))
        db.close()

        for attempt in range(2):
            proc.start(timeout=30)
            v.assert_alive("start %d on poisoned data" % (attempt + 1))
            for path in ["experiments/legacy_exp/results", "metrics", "metrics/count:legacy_buy/series",
                         "metrics/conversion:legacy_buy/series", "pulse/skipped", "events"]:
                r = v.console("GET", path)
                assert r.status_code == 200, "start %d: %s -> %d %s" % (attempt + 1, path, r.status_code, r.text[:300])
            skipped = v.console("GET", "pulse/skipped").json()["data"]
            assert skipped["reasons"] == {"time_out_of_range": 4, "value_out_of_range": 4}, skipped
            results = v.console("GET", "experiments/legacy_exp/results").json()["data"]
            assert results["rollup"]["eventsSetAside"] == 8, results["rollup"]
            assert [g["units"] for g in results["groups"]] == [1, 0], results["groups"]
            series = v.console("GET", "metrics/count:legacy_buy/series").json()["data"]["days"]
            assert sum(d["sum"] for d in series) == 4, series
            proc.stop()
    finally:
        proc.kill()


def _insert_events(data_dir, rows, received_at):
    """(event_name, user_id, value_num, metadata_json, time) rows, straight into vane.sqlite."""
    db = sqlite3.connect(str(data_dir / "vane.sqlite"))
    with db:
        for name, uid, value, md, when in rows:
            db.execute(
                "INSERT INTO events (project_id, event_name, user_id, user_json, environment, value_num, metadata, time, "
                "received_at, source) VALUES ('default', ?, ?, ?, 'production', ?, ?, ?, ?, 'sdk')",
                (name, uid, json.dumps({"userID": uid}), value, md, when, received_at))
    db.close()


def test_segment_export_dead_letters_out_of_range_records_and_carries_on(tmp_path):
    """Events an older version stored with times outside 2000…9999 reach the Segment exporter after a
    restart: each becomes a dead letter with its reason, and the events after them are delivered."""
    own = VaneProcess(binary_path(), tmp_path / "data", log_level="notice")
    try:
        v = own.start()
        with SegmentReceiver("wk_hostile_export") as rc:
            configure(v, rc)
            log_events(v, [{"eventName": "export_before", "user": {"userID": "u1"}}])
            assert wait_until(lambda: any(m.get("event") == "export_before" for m in rc.messages()), 30), \
                "the first event was not exported: %s" % status(v)
            own.stop()
            t = now_ms()
            _insert_events(tmp_path / "data", [
                ("export_poison_min", "u1", 1.0, None, INT64_MIN),
                ("export_poison_max", "u1", 1.0, None, INT64_MAX),
                ("export_poison_negative", "u1", None, None, -1),
                ("export_infinite_value", "u1", float("inf"), None, t),
                ("export_after", "u1", 2.0, None, t + 1),
            ], received_at=t)
            v = own.start()
            got = wait_until(lambda: any(m.get("event") == "export_after" for m in rc.messages()), 60)
            assert got, "the event after the poisoned ones was not exported: %s\n%s" % (status(v), own.log_tail())
            letters = wait_until(lambda: [d for d in dead_letters(v) if "out of range" in d["reason"]], 30)
            names = sorted(d["message"]["event"] for d in letters)
            assert names == ["export_poison_max", "export_poison_min", "export_poison_negative"], letters
            st = status(v)
            assert sum(n for reason, n in st["deadLetterReasons"].items() if "out of range" in reason) == 3, st
            infinite = [m for m in rc.messages() if m.get("event") == "export_infinite_value"]
            assert infinite and infinite[0]["properties"]["value"] is None, infinite
            assert own.alive()
    finally:
        own.stop()
