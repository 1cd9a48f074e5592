"""`vane store copy --from DIR --to URL`: moving an embedded (SQLite) installation into PostgreSQL with
the real binary. A node on SQLite gets a gate, an ID list, a client key, events and audit history;
the copy carries all of it over (twice in a row inserts nothing the second time), a node on the
PostgreSQL database serves it with the same keys, and events logged after the move get fresh ids.
A database that a node already bootstrapped is refused.
"""
import os
import subprocess
import time

import pytest
import requests

from vane_server import ServerProcess, binary_path, fresh_database_url

SECRET = "secret-store-copy-test"
CLIENT = "client-store-copy-test"
CONSOLE = "console-store-copy-test"

GATE = "copy_gate"
LIST = "copy_list"
LIST_IDS = ["alice", "bob", "carol", "dave"]
EVENTS = 7
OUTBOUND = "/integrations/segment/outbound"
SEALED_KEY = "wk_sealed_before_the_move"

# Tables whose row counts must not change when the copy runs a second time.
COUNTED = ["projects", "environments", "api_keys", "entities", "audit_log", "id_lists", "id_list_members",
           "id_list_log", "events", "settings"]


@pytest.fixture(autouse=True)
def _sqlite_only(monkeypatch):
    # The source node must run on SQLite whatever store the suite was started with.
    monkeypatch.delenv("VANE_TEST_STORE", raising=False)
    monkeypatch.delenv("VANE_DATABASE_URL", raising=False)
    monkeypatch.delenv("VANE_SECRETS_KEY", raising=False)


class Node(ServerProcess):
    def __init__(self, data_dir, database_url=None):
        super().__init__(binary_path(), data_dir, server_secret=SECRET, client_key=CLIENT, console_key=CONSOLE,
                         database_url=database_url)

    def start(self, timeout=60.0):
        from conftest import Vane
        super().start(timeout)
        self.client = Vane(self.proc, self.base, self.log_path, self.data_dir)
        self.client.server_secret, self.client.client_key, self.client.console_key = SECRET, CLIENT, CONSOLE
        return self.client


def psql(url, sql):
    out = subprocess.run(["psql", url, "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True, capture_output=True,
                         text=True, timeout=60)
    return [line.split("|") for line in out.stdout.splitlines() if line]


def counts(url):
    return {t: int(psql(url, "SELECT count(*) FROM %s" % t)[0][0]) for t in COUNTED}


def store_copy(data_dir, url, env=None):
    e = dict(os.environ)
    e.pop("VANE_DATABASE_URL", None)
    e.update(env or {})
    return subprocess.run([str(binary_path()), "store", "copy", "--from", str(data_dir), "--to", url],
                          capture_output=True, text=True, timeout=300, env=e)


def last_line(proc):
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    return lines[-1] if lines else ""


def gate_names(v, key=SECRET):
    r = v.sdk_post("download_config_specs", {"sinceTime": 0}, key=key)
    assert r.status_code == 200, r.text[:300]
    return {g["name"] for g in r.json().get("feature_gates", [])}


def id_list_state(v):
    """The list's manifest entry and the set of (hashed) IDs an SDK would build from its file."""
    r = v.sdk_post("get_id_lists", {"statsigMetadata": {"sdkType": "py-server"}})
    assert r.status_code == 200, r.text[:300]
    entry = r.json().get(LIST)
    assert entry, "ID list %s missing from get_id_lists: %s" % (LIST, r.text[:500])
    f = v.session.get(entry["url"], timeout=30)
    assert f.status_code == 200, (entry["url"], f.status_code, f.text[:300])
    ids = set()
    for line in f.text.splitlines():
        if line:
            (ids.add if line[0] == "+" else ids.discard)(line[1:])
    return ids


def audit(v):
    entries = v.console_ok("GET", "/audit_logs", params={"limit": 1000})
    assert isinstance(entries, list), entries
    return entries


def event_count(v, name):
    return len(v.events(eventName=name))


def log(v, name, n, key=SECRET):
    evs = [{"eventName": name, "user": {"userID": "u%d" % i}, "value": i, "time": int(time.time() * 1000)}
           for i in range(n)]
    r = v.log_events(evs, key=key)
    assert 200 <= r.status_code < 300, (r.status_code, r.text[:300])


def test_an_installation_moves_from_sqlite_to_postgres(tmp_path, monkeypatch):
    src_dir = tmp_path / "sqlite-node"
    src = Node(src_dir)
    v = src.start()
    try:
        v.console_ok("POST", "/gates", {"name": GATE, "rules": [
            {"name": "all", "passPercentage": 100, "conditions": [{"type": "public"}]}]})
        v.console_ok("POST", "/metrics", {"name": "moved_revenue", "type": "sum", "event": "purchase"})
        v.console_ok("POST", "/id_lists", {"name": LIST})
        v.console_ok("POST", "/id_lists/%s/ids" % LIST, {"add": LIST_IDS, "remove": []})
        made = v.console_ok("POST", "/keys", {"kind": "client", "description": "made before the move"})
        new_client = made["key"]
        assert v.sdk_post("initialize", {"user": {"userID": "u"}}, key=new_client).status_code == 200
        # A sealed secret (the Segment outbound write key, export left off): it must still open after the move.
        r = v.console("PUT", OUTBOUND, {"enabled": False, "endpoint": "http://127.0.0.1:9", "writeKey": SEALED_KEY})
        assert r.status_code == 200, r.text[:500]
        outbound_before = v.console_ok("GET", OUTBOUND)
        assert outbound_before.get("writeKeySet") is True and outbound_before.get("endpoint"), outbound_before
        log(v, "before_move", EVENTS)
        before = v.wait_for_events(lambda e: len(e) >= EVENTS, eventName="before_move")
        assert len(before) == EVENTS, before
        assert GATE in gate_names(v)
        ids_before = id_list_state(v)
        assert len(ids_before) == len(LIST_IDS)
        audit_before = audit(v)
        assert audit_before, "no audit entries after creating a gate, a list and a key"
    finally:
        src.stop()

    url = fresh_database_url()
    first = store_copy(src_dir, url)
    assert first.returncode == 0, "first copy failed (%d):\n%s\n%s" % (first.returncode, first.stdout, first.stderr)
    assert "inserted" in last_line(first), first.stdout
    after_first = counts(url)
    assert after_first["events"] >= EVENTS and after_first["id_list_members"] >= len(LIST_IDS), after_first
    max_event_id = int(psql(url, "SELECT max(id) FROM events")[0][0])

    second = store_copy(src_dir, url)
    assert second.returncode == 0, "second copy failed (%d):\n%s\n%s" % (second.returncode, second.stdout, second.stderr)
    assert ", 0 inserted" in last_line(second), "the second copy inserted rows: %r" % last_line(second)
    assert counts(url) == after_first, "the second copy changed row counts"

    # As `vane store copy --help` says: the new nodes seal secrets with the old installation's key.
    monkeypatch.setenv("VANE_SECRETS_KEY", (src_dir / "secrets.key").read_text().strip())
    dst = Node(tmp_path / "pg-node", database_url=url)
    w = dst.start()
    try:
        # The same keys (preset and created) work.
        assert GATE in gate_names(w), "the gate did not move"
        for key in (CLIENT, new_client):
            r = w.sdk_post("initialize", {"user": {"userID": "u"}}, key=key)
            assert r.status_code == 200, (key, r.status_code, r.text[:300])
            gates = r.json().get("feature_gates", {})
            assert any(g.get("value") is True for g in gates.values()), "gate not on for client key %s" % key
        assert w.console("GET", "/gates").status_code == 200

        info = w.console_ok("GET", "/id_lists/" + LIST)
        assert info, info
        assert id_list_state(w) == ids_before, "ID list members differ after the move"

        after = w.events(eventName="before_move")
        assert sorted(e.get("id") or repr(sorted(e.items())) for e in after) == \
            sorted(e.get("id") or repr(sorted(e.items())) for e in before), "events differ after the move"
        assert audit(w) == audit_before, "audit log differs after the move"
        assert w.console_ok("GET", OUTBOUND) == outbound_before, "sealed integration settings did not survive the move"
        moved = [m for m in w.console_ok("GET", "/metrics") if m["name"] == "moved_revenue"]
        assert moved and moved[0]["type"] == "sum" and moved[0]["event"] == "purchase", "the metric did not move: %s" % moved

        # Events logged after the move get fresh ids (no collision with the copied ones).
        log(w, "after_move", 3)
        deadline = time.time() + 20
        while time.time() < deadline and int(psql(url, "SELECT count(*) FROM events")[0][0]) < after_first["events"] + 3:
            time.sleep(0.2)
        assert int(psql(url, "SELECT count(*) FROM events")[0][0]) == after_first["events"] + 3
        assert int(psql(url, "SELECT min(id) FROM events WHERE event_name = 'after_move'")[0][0]) > max_event_id
        assert len(w.wait_for_events(lambda e: len(e) >= 3, eventName="after_move")) == 3
    finally:
        dst.stop()


def test_a_copy_into_a_database_a_node_already_used_is_refused(tmp_path):
    src_dir = tmp_path / "sqlite-node"
    src = Node(src_dir)
    v = src.start()
    try:
        v.console_ok("POST", "/gates", {"name": GATE, "rules": [
            {"name": "all", "passPercentage": 100, "conditions": [{"type": "public"}]}]})
    finally:
        src.stop()

    url = fresh_database_url()
    used = Node(tmp_path / "pg-node", database_url=url)
    used.start()
    used.stop()
    before = counts(url)
    assert before["projects"] == 1

    out = store_copy(src_dir, url)
    assert out.returncode != 0, "copy into a used database succeeded:\n%s" % out.stdout
    text = out.stdout + out.stderr
    assert "already holds a Vane project" in text, text
    assert counts(url) == before, "the refused copy changed the target"
