"""(c) Segment outbound across a crash: `vane serve` is SIGKILLed in the middle of a large export and
restarted on the same data dir. Every committed event must reach Segment afterwards, each under one
messageId (a resend repeats the same messageId, so Segment deduplicates it).

Each test runs its own server (own data dir) and a slowed-down Segment-compatible receiver on 127.0.0.1.
"""
import json
import threading
import time

import pytest

from _segment_receiver import SegmentReceiver, VaneProcess, canon, configure, log_events, status, wait_until
from vane_server import binary_path

N_EVENTS = 20_000


@pytest.fixture
def own(tmp_path):
    vp = VaneProcess(binary_path(), tmp_path / "data", log_level="notice")
    yield vp
    vp.stop()


def _events(name, start, n):
    return [{"eventName": name, "user": {"userID": "u%d" % (i % 997), "customIDs": {"stableID": "s%d" % i}},
             "value": i, "metadata": {"seq": str(i)}} for i in range(start, start + n)]


def _delivery_report(rc, name):
    """{seq: set(messageIds)}, {messageId: [copies]} for the accepted messages named `name`."""
    by_seq, by_id = {}, {}
    for m in rc.messages(lambda m: m.get("event") == name):
        by_seq.setdefault(m["properties"]["metadata"]["seq"], set()).add(m["messageId"])
        by_id.setdefault(m["messageId"], []).append(m)
    return by_seq, by_id


def _check(by_seq, by_id, committed, problems):
    missing = committed - set(by_seq)
    if missing:
        problems.append("%d committed events were never delivered (e.g. seq %s)" % (
            len(missing), sorted(missing, key=int)[:10]))
    extra = set(by_seq) - committed
    if extra:
        problems.append("%d delivered events are not committed (e.g. seq %s)" % (len(extra), sorted(extra, key=int)[:10]))
    multi = {s: ids for s, ids in by_seq.items() if len(ids) > 1}
    if multi:
        problems.append("%d events were delivered under more than one messageId, e.g. %s" % (
            len(multi), list(multi.items())[:3]))
    changed = [mid for mid, copies in by_id.items() if len({canon(c) for c in copies}) > 1]
    if changed:
        problems.append("%d messageIds were resent with different contents, e.g. %s" % (len(changed), changed[:3]))
    if len(by_id) != len(committed):
        problems.append("distinct messageIds %d != committed events %d" % (len(by_id), len(committed)))
    return sum(len(c) - 1 for c in by_id.values())


def test_sigkill_mid_export_then_restart(own):
    """20,000 events are logged (all acknowledged); the receiver is slow; the server is SIGKILLed once a
    few thousand have been delivered and restarted on the same data dir: all 20,000 arrive, each under one
    messageId; the only duplicates are resends of the batch in flight at the kill (same messageIds)."""
    v = own.start()
    with SegmentReceiver("wk_crash") as rc:
        configure(v, rc)
        assert rc.wait(lambda r: r.requests, 20), "the enabling change was not exported"
        # Requests carry up to 2,500 messages: a slow answer keeps the export going when the kill comes.
        rc.delay = 0.5
        for start in range(0, N_EVENTS, 1000):
            log_events(v, _events("crash_evt", start, 1000))
        got = rc.wait(lambda r: r.accepted_count >= 3000, 120)
        assert got, "export did not get going: %d delivered; status %s" % (rc.accepted_count, status(v))
        own.kill()
        at_kill = rc.accepted_count
        time.sleep(0.5)
        with rc.lock:
            n_requests = len(rc.requests)
        time.sleep(0.5)
        assert len(rc.requests) == n_requests, "requests kept coming after SIGKILL"
        assert at_kill < N_EVENTS, "the export finished before the kill; slow the receiver down"

        rc.delay = 0
        v = own.start()
        done = rc.wait(lambda r: len({m["messageId"] for m in r.messages(lambda m: m.get("event") == "crash_evt")})
                       >= N_EVENTS, 240)
        by_seq, by_id = _delivery_report(rc, "crash_evt")
        problems = []
        if not done:
            problems.append("after the restart only %d of %d events arrived; status %s" % (
                len(by_id), N_EVENTS, json.dumps(status(v))))
        dupes = _check(by_seq, by_id, {str(i) for i in range(N_EVENTS)}, problems)
        with rc.lock:
            largest = max((r.get("n", 0) for r in rc.requests), default=0)
            too_big = [r["n"] for r in rc.requests if r.get("n", 0) > 2500]
        if dupes > largest:
            problems.append("%d duplicate deliveries: more than the one batch (<= %d messages) in flight at the kill"
                            % (dupes, largest))
        if too_big:
            problems.append("batches over Segment's 2,500 messages: %s" % too_big[:5])
        if rc.invalid:
            problems.append("Segment would drop %d messages: %s" % (len(rc.invalid), rc.invalid[0][0]))
        st = wait_until(lambda: (lambda s: s if s["queued"] == 0 and s["inFlight"] == 0 else None)(status(v)), 10)
        if not st or st["delivered"] != rc.distinct_ids():
            problems.append("status after the restart %s: delivered should count each message once (%d distinct at "
                            "the receiver)" % (st or status(v), rc.distinct_ids()))
        print("delivered before the kill: %d; duplicates after the restart: %d" % (at_kill, dupes))
        assert not problems, "\n".join(problems) + "\n--- server log ---\n" + own.log_tail(20)


def test_sigkill_during_ingest_and_export(own):
    """Events are being logged and exported at the same time when the server is SIGKILLed. After the
    restart, exactly the committed events (all acknowledged ones, plus any the kill left committed but
    unacknowledged) are delivered, each under one messageId."""
    v = own.start()
    acked = set()
    errors = []
    stop = threading.Event()
    with SegmentReceiver("wk_crash2") as rc:
        configure(v, rc)
        assert rc.wait(lambda r: r.requests, 20), "the enabling change was not exported"
        rc.delay = 0.02

        def ingest():
            import requests
            s = requests.Session()
            for start in range(0, N_EVENTS, 250):
                if stop.is_set():
                    return
                try:
                    log_events(v, _events("live_evt", start, 250), session=s, timeout=10)
                    acked.update(str(i) for i in range(start, start + 250))
                except Exception as e:  # the kill
                    errors.append(repr(e))
                    return
                time.sleep(0.03)

        t = threading.Thread(target=ingest, daemon=True)
        t.start()
        ok = wait_until(lambda: len(acked) >= 8000 and rc.accepted_count >= 1000, 120, 0.02)
        own.kill()
        stop.set()
        t.join(30)
        assert ok, "precondition: ingest (%d acked) and export (%d) were both under way" % (len(acked), rc.accepted_count)
        assert len(acked) < N_EVENTS, "ingest finished before the kill"

        rc.delay = 0
        v = own.start()
        committed = {str(e["value"]) for e in v.events(eventName="live_evt", limit=1000)}
        lost = acked - committed
        assert not lost, "%d acknowledged events are not in the store after the restart (e.g. %s)" % (
            len(lost), sorted(lost, key=int)[:5])
        done = rc.wait(lambda r: len({m["messageId"] for m in r.messages(lambda m: m.get("event") == "live_evt")})
                       >= len(committed), 240)
        time.sleep(1.0)
        by_seq, by_id = _delivery_report(rc, "live_evt")
        problems = []
        if not done:
            problems.append("after the restart %d of %d committed events arrived; status %s" % (
                len(by_id), len(committed), json.dumps(status(v))))
        dupes = _check(by_seq, by_id, committed, problems)
        with rc.lock:
            largest = max((r.get("n", 0) for r in rc.requests), default=0)
        # The exporter sends one request at a time by default: a resend repeats at most that one batch.
        if dupes > largest:
            problems.append("%d duplicate deliveries: more than the one batch (<= %d messages) in flight at the kill"
                            % (dupes, largest))
        print("acked %d, committed %d, delivered %d distinct, %d duplicates" % (len(acked), len(committed),
                                                                            len(by_id), dupes))
        assert not problems, "\n".join(problems) + "\n--- server log ---\n" + own.log_tail(20)
