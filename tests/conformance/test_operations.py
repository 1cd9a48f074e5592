"""Operations on a real `vane serve`: `vane backup` while the server ingests, `vane restore` into a new
data dir and a server on it, `vane restore` refused while a server runs, `vane check` on a healthy store
and on a damaged copy, and `vane prune` next to a running server.

Each test runs its own server on its own data dir (127.0.0.1 only)."""
import json
import os
import shutil
import subprocess
import threading
import time

import pytest
import requests

from vane_server import ServerProcess, binary_path

SECRET = "secret-operations-test"
CLIENT_KEY = "client-operations-test"
CONSOLE_KEY = "console-operations-test"
DAY_MS = 86_400_000


def vane_cli(*args, cwd, timeout=120):
    return subprocess.run([str(binary_path()), *args], cwd=str(cwd), capture_output=True, text=True, timeout=timeout)


def server(data_dir):
    return ServerProcess(binary_path(), data_dir, server_secret=SECRET, client_key=CLIENT_KEY, console_key=CONSOLE_KEY,
                         log_level="notice")


@pytest.fixture
def servers():
    started = []
    yield lambda data_dir: started.append(server(data_dir)) or started[-1]
    for s in started:
        s.stop()


def log_events(base, events, session=None):
    return (session or requests).post(base + "/v1/log_event", data=json.dumps({"events": events}),
                                      headers={"STATSIG-API-KEY": SECRET, "Content-Type": "application/json"}, timeout=30)


def stored_seqs(base, name):
    """The `seq` metadata of every stored event named `name`, through the console's event explorer."""
    seqs, params = [], {"eventName": name, "limit": 1000}
    with requests.Session() as s:
        for _ in range(1000):
            r = s.get(base + "/console/v1/events", params=params, headers={"STATSIG-API-KEY": CONSOLE_KEY}, timeout=30)
            assert r.status_code == 200, "GET /console/v1/events -> %d: %s" % (r.status_code, r.text[:300])
            body = r.json()
            seqs.extend(int(e["metadata"]["seq"]) for e in body["data"])
            if not body.get("nextCursor") or not body["data"]:
                break
            params = dict(params, cursor=body["nextCursor"])
    return seqs


class Ingest(threading.Thread):
    """Logs batches of 50 events (each with its sequence number) until stopped; remembers which were acknowledged."""

    def __init__(self, base, name):
        super().__init__(daemon=True)
        self.base, self.name = base, name
        self.acked, self.failures = set(), []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self):
        seq = 0
        with requests.Session() as s:
            while not self.stopping.is_set():
                batch = [{"eventName": self.name, "user": {"userID": "u%d" % (i % 101)}, "value": i,
                          "metadata": {"seq": str(i)}} for i in range(seq, seq + 50)]
                try:
                    r = log_events(self.base, batch, s)
                    if r.status_code in (200, 202):
                        with self.lock:
                            self.acked.update(range(seq, seq + 50))
                    else:
                        self.failures.append("HTTP %d: %s" % (r.status_code, r.text[:200]))
                except requests.RequestException as e:
                    self.failures.append(repr(e))
                seq += 50

    def snapshot(self):
        with self.lock:
            return set(self.acked)

    def stop(self):
        self.stopping.set()
        self.join(30)


def test_backup_under_ingest_then_restore_into_a_new_data_dir(tmp_path, servers):
    """Events acknowledged before `vane backup` started are all in the backup, which restores into a fresh
    data dir that a new server then serves; the backup holds nothing that was never acknowledged."""
    live = servers(tmp_path / "live").start()
    ingest = Ingest(live.base, "ops_backup")
    ingest.start()
    try:
        deadline = time.time() + 30
        while len(ingest.snapshot()) < 2000 and time.time() < deadline:
            time.sleep(0.05)
        acked_before = ingest.snapshot()
        assert len(acked_before) >= 2000, "ingest did not get going: %s" % ingest.failures[:3]
        backup = tmp_path / "vane-backup.sqlite"
        r = vane_cli("backup", "--data-dir", str(live.data_dir), "--to", str(backup), cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "events" in r.stdout and str(backup) in r.stdout and "bytes" in r.stdout, r.stdout
        time.sleep(0.3)
        acked_during = ingest.snapshot()
        assert len(acked_during) > len(acked_before), "ingest stalled during the backup"

        # A second backup to the same file is refused; the first stays as it was.
        size = backup.stat().st_size
        again = vane_cli("backup", "--data-dir", str(live.data_dir), "--to", str(backup), cwd=tmp_path)
        assert again.returncode != 0 and "--force" in again.stderr, again.stdout + again.stderr
        assert backup.stat().st_size == size

        # Restore into the live server's data dir is refused while it runs.
        busy = vane_cli("restore", "--data-dir", str(live.data_dir), "--from", str(backup), cwd=tmp_path)
        assert busy.returncode != 0 and "in use" in busy.stderr, busy.stdout + busy.stderr
        assert live.alive()
    finally:
        ingest.stop()
    acked_total = ingest.snapshot()
    assert not ingest.failures, ingest.failures[:3]
    live.stop()

    restored_dir = tmp_path / "restored"
    r = vane_cli("restore", "--data-dir", str(restored_dir), "--from", str(backup), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "restored" in r.stdout, r.stdout
    check = vane_cli("check", "--data-dir", str(restored_dir), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr

    restored = servers(restored_dir).start()
    seqs = stored_seqs(restored.base, "ops_backup")
    assert len(seqs) == len(set(seqs)), "events duplicated in the backup"
    present = set(seqs)
    missing = acked_before - present
    assert not missing, "%d events acknowledged before the backup are missing, e.g. %s" % (len(missing), sorted(missing)[:10])
    assert present <= acked_total, "the backup holds events that were never acknowledged: %s" % sorted(present - acked_total)[:10]
    assert len(present) % 50 == 0, "a batch (one transaction) was cut in half: %d events" % len(present)
    # The restored server takes new events after the restored ones.
    assert log_events(restored.base, [{"eventName": "ops_backup", "user": {"userID": "new"},
                                       "metadata": {"seq": "-1"}}]).status_code in (200, 202)
    assert -1 in stored_seqs(restored.base, "ops_backup")


def test_restore_keeps_the_replaced_database_aside(tmp_path, servers):
    """Restoring over an existing store renames it instead of deleting it."""
    a = servers(tmp_path / "a").start()
    assert log_events(a.base, [{"eventName": "ops_a", "user": {"userID": "x"}, "metadata": {"seq": "1"}}]).status_code in (200, 202)
    a.stop()
    backup = tmp_path / "a.sqlite"
    assert vane_cli("backup", "--data-dir", str(a.data_dir), "--to", str(backup), cwd=tmp_path).returncode == 0

    b = servers(tmp_path / "b").start()
    assert log_events(b.base, [{"eventName": "ops_b", "user": {"userID": "y"}, "metadata": {"seq": "2"}}]).status_code in (200, 202)
    b.stop()
    r = vane_cli("restore", "--data-dir", str(b.data_dir), "--from", str(backup), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    aside = [p for p in os.listdir(b.data_dir) if p.startswith("vane-before-restore-") and p.endswith(".sqlite")]
    assert len(aside) == 1 and aside[0] in r.stdout, (os.listdir(b.data_dir), r.stdout)
    b.start()
    assert stored_seqs(b.base, "ops_a") == [1] and stored_seqs(b.base, "ops_b") == []


def test_check_healthy_store_and_damaged_copy(tmp_path, servers):
    v = servers(tmp_path / "data").start()
    for start in range(0, 3000, 500):
        batch = [{"eventName": "ops_check", "user": {"userID": "u%d" % i}, "value": i, "metadata": {"seq": str(i)}}
                 for i in range(start, start + 500)]
        assert log_events(v.base, batch).status_code in (200, 202)
    # While serving, too.
    r = vane_cli("check", "--data-dir", str(v.data_dir), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    v.stop()
    r = vane_cli("check", "--data-dir", str(v.data_dir), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    for check in ("integrity", "foreign keys", "schema", "cursors", "finite numbers"):
        assert "ok   " + check in r.stdout, r.stdout
    assert "healthy" in r.stdout and "3000 events" in r.stdout, r.stdout

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    shutil.copy(v.data_dir / "vane.sqlite", damaged / "vane.sqlite")
    with open(damaged / "vane.sqlite", "r+b") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        page = 4096
        # Garbage over the middle of every other page (the header on page 1 stays, so SQLite opens it).
        for offset in range(page, size, 2 * page):
            f.seek(offset + 100)
            f.write(bytes((i * 37) % 256 for i in range(1500)))
    r = vane_cli("check", "--data-dir", str(damaged), cwd=tmp_path)
    assert r.returncode == 1, "exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr)
    # Where the garbage lands decides which check sees it first: the pages' integrity, or (when it
    # hits the schema's pages, whose size grows with every migration) the schema itself.
    assert ("FAIL integrity" in r.stdout or "FAIL schema" in r.stdout) and "UNHEALTHY" in r.stdout, r.stdout
    assert "Fatal error" not in r.stderr


def test_prune_next_to_a_running_server(tmp_path, servers):
    """`vane prune` deletes events older than N days once the Pulse rollup has passed them, and none newer."""
    v = servers(tmp_path / "data").start()
    now = int(time.time() * 1000)
    old = [{"eventName": "ops_prune", "user": {"userID": "u%d" % i}, "time": now - 10 * DAY_MS + i,
            "metadata": {"seq": str(i)}} for i in range(100)]
    recent = [{"eventName": "ops_prune", "user": {"userID": "u%d" % i}, "time": now - 1000 + i,
               "metadata": {"seq": str(i)}} for i in range(100, 120)]
    assert log_events(v.base, old + recent).status_code in (200, 202)
    assert len(stored_seqs(v.base, "ops_prune")) == 120

    pruned = 0
    deadline = time.time() + 30
    while pruned < 100 and time.time() < deadline:
        r = vane_cli("prune", "--data-dir", str(v.data_dir), "--retain-events-days", "5", cwd=tmp_path)
        assert r.returncode == 0, r.stdout + r.stderr
        pruned += int(r.stdout.split()[1])
        time.sleep(0.5)
    assert pruned == 100, "pruned %d of the 100 old events" % pruned
    assert sorted(stored_seqs(v.base, "ops_prune")) == list(range(100, 120))
    bad = vane_cli("prune", "--data-dir", str(v.data_dir), "--retain-events-days", "0", cwd=tmp_path)
    assert bad.returncode != 0 and "retain-events-days" in bad.stderr
