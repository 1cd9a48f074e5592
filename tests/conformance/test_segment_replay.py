"""Segment Replay at volume: 100,000 historical messages (timestamps over the past 7 days, each with
Segment's `receivedAt`), 5% of them repeats of earlier messageIds, sent through `/v1/batch` in batches of
at most 2,500 messages and 512,000 bytes by a few threads. Checks the stored / duplicate counts (responses
and usage), that event times are the original timestamps, and that replaying again stores nothing.
"""
import concurrent.futures
import random
import threading
import time
import uuid

import requests

from _segment_support import compact, explorer, iso, now_ms, ok, track_api, uniq, usage, usage_delta

TOTAL = 100_000
DUP_SHARE = 0.05
MAX_ITEMS = 2500
MAX_BYTES = 512_000
THREADS = 4
N_EVENTS = 20
DAY = 86_400_000


def _messages(prefix, now):
    rng = random.Random(20261123)
    unique = int(TOTAL * (1 - DUP_SHARE))
    msgs = []
    for i in range(unique):
        ts = now - rng.randrange(60_000, 7 * DAY - 3_600_000)
        msgs.append({
            "type": "track" if i % 10 else "page",
            "event": "%s_%02d" % (prefix, i % N_EVENTS),
            "name": "%s_page" % prefix,
            "userId": "rp-%d" % (i % 3000),
            "anonymousId": "anon-%d" % (i % 5000),
            "messageId": "%s-%d-%s" % (prefix, i, uuid.UUID(int=rng.getrandbits(128))),
            "timestamp": iso(ts, digits=3),
            "originalTimestamp": iso(ts - rng.randrange(0, 5000), digits=3),
            "sentAt": iso(ts + 900, digits=3),
            "receivedAt": iso(ts + 1000, digits=3),
            "properties": {"i": i, "plan": rng.choice(["free", "pro", "team"]), "value": i % 7},
            "context": {"library": {"name": "analytics.js", "version": "5.2.0"}, "ip": "198.51.100.%d" % (i % 250)},
            "integrations": {"All": False, "Statsig": True},
            "channel": "server", "version": 2,
        })
    # 5% repeats of earlier messages (Replay re-sends exact copies), interleaved after their originals.
    out = list(msgs)
    for _ in range(TOTAL - unique):
        j = rng.randrange(0, unique)
        pos = rng.randrange(j + 1, len(out) + 1)
        out.insert(pos, msgs[j])
    return msgs, out


def _batches(msgs):
    """Greedy batches of ≤ 2,500 items and ≤ 512,000 bytes of body."""
    out, cur, size = [], [], len('{"batch":[],"sentAt":"2026-01-01T00:00:00.000Z"}')
    for m in msgs:
        s = len(compact(m).encode()) + 1
        if cur and (len(cur) >= MAX_ITEMS or size + s > MAX_BYTES):
            out.append(cur)
            cur, size = [], len('{"batch":[],"sentAt":"2026-01-01T00:00:00.000Z"}')
        cur.append(m)
        size += s
    if cur:
        out.append(cur)
    return out


def test_replay_100k(vane):
    v = vane
    prefix = uniq("replay")
    now = now_ms()
    unique, stream = _messages(prefix, now)
    batches = _batches(stream)
    assert sum(len(b) for b in batches) == TOTAL
    assert all(len(b) <= MAX_ITEMS for b in batches)

    before = usage(v)
    local = threading.local()
    started = time.time()

    def send(items):
        s = getattr(local, "s", None)
        if s is None:
            s = local.s = requests.Session()
        body = {"batch": items, "sentAt": iso(now_ms())}
        raw = compact(body).encode()
        assert len(raw) <= MAX_BYTES, len(raw)
        r = track_api(v, "batch", raw=raw, session=s, timeout=120)
        return ok(r)

    # Order matters only for which copy of a repeat is "the duplicate": send in a few parallel lanes.
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(send, batches))
    elapsed = time.time() - started

    stored = sum(r["stored"] for r in results)
    dups = sum(r["duplicates"] for r in results)
    skipped = [s for r in results for s in r["skipped"]]
    assert skipped == [], skipped[:10]
    assert stored == len(unique) and dups == TOTAL - len(unique), \
        "stored %d (want %d), duplicates %d (want %d)" % (stored, len(unique), dups, TOTAL - len(unique))
    d = usage_delta(before, usage(v))
    assert d.get("ingested") == len(unique) and d.get("duplicates") == TOTAL - len(unique), d
    # A guard against pathological slowness, not a benchmark (scripts/bench-segment-ingest is): a
    # debug build on a shared 2-core machine takes 35 s alone and more under other load.
    assert elapsed < 180, "replaying %d messages took %.1f s" % (TOTAL, elapsed)

    # Event times: every stored event of one event name (1/20 of the tracks) has its original timestamp
    # (Segment's receivedAt present: no clock-skew correction) and appears once.
    name = "%s_%02d" % (prefix, 3)
    want = {m["messageId"]: m["timestamp"] for m in unique if m["type"] == "track" and m["event"] == name}
    evs = explorer(v, eventName="segment::" + name, source="segment", since=now - 8 * DAY)
    got = {}
    for e in evs:
        mid = e["raw"]["messageId"]
        assert mid not in got, "messageId %s stored twice" % mid
        got[mid] = e["time"]
    assert set(got) == set(want), "missing %d, extra %d" % (len(set(want) - set(got)), len(set(got) - set(want)))
    wrong = [(mid, iso(got[mid]), ts) for mid, ts in want.items() if iso(got[mid]) != ts]
    assert not wrong, "event times differ from the timestamps (first 5): %r" % wrong[:5]
    times = [e["time"] for e in evs]
    assert times == sorted(times, reverse=True), "the explorer lists newest first"
    assert min(times) >= now - 7 * DAY and max(times) <= now

    # The page events (every 10th message) are there too, with their own times.
    pages = explorer(v, eventName="segment::page", source="segment", since=now - 8 * DAY, userID="rp-0")
    want_pages = {m["messageId"]: m["timestamp"] for m in unique if m["type"] == "page" and m["userId"] == "rp-0"}
    got_pages = {e["raw"]["messageId"]: iso(e["time"]) for e in pages if e["raw"]["messageId"] in want_pages}
    assert got_pages == want_pages

    # Replaying a slice again stores nothing.
    again = ok(track_api(v, "batch", {"batch": batches[len(batches) // 2], "sentAt": iso(now_ms())}))
    assert again["stored"] == 0 and again["duplicates"] == len(batches[len(batches) // 2]), \
        {k: again[k] for k in ("stored", "duplicates")}
