"""The real Segment Python library (segment-analytics-python) sending to Vane's Tracking-API endpoints.

The library always posts `/v1/batch` with Basic `writeKey:` plus a body `writeKey`, its own `sentAt`
per batch and `timestamp`s with `+00:00`. Some tests put a small recording proxy (127.0.0.1) between the
library and Vane to see each upload and to simulate a lost response (Vane stored the batch, the client
saw a 503) so that the library retries.
"""
import contextlib
import datetime
import gzip
import http.client
import json
import signal
import subprocess
import threading
import time
import types
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from _segment_support import (SSEReader, check_gate, explorer, list_entries, now_ms, personas, seg_events, setup_audience,
                              uniq, usage, usage_delta, wait_gate)
from _support import id_list_entry
from conftest import make_sdk
from vane_server import ServerProcess, binary_path

Client = pytest.importorskip("segment.analytics").Client


# ---------------------------------------------------------------- recording proxy

class Proxy:
    """Forwards every request to Vane and records it. `plan` is a list of actions for the next
    requests: "forward" (default), ("forward_then", status) = forward, then answer `status` to the
    client anyway (a lost response), or ("reply", status, body) = answer without forwarding."""

    def __init__(self, upstream):
        self.upstream = urllib.parse.urlparse(upstream)
        self.requests = []
        self.plan = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
                with proxy.lock:
                    action = proxy.plan.pop(0) if proxy.plan else "forward"
                rec = {"path": self.path, "headers": dict(self.headers.items()), "raw_len": len(raw),
                       "json": json.loads(body), "action": action}
                if action == "forward" or action[0] == "forward_then":
                    conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                    fwd = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                    conn.request("POST", self.path, body=raw, headers=fwd)
                    up = conn.getresponse()
                    status, out = up.status, up.read()
                    conn.close()
                    rec["upstream_status"] = status
                    rec["upstream_body"] = out.decode("utf-8", "replace")
                    if action != "forward":
                        status = action[1]
                        out = json.dumps({"code": "unavailable", "message": "simulated lost response"}).encode()
                else:
                    status, out = action[1], json.dumps(action[2]).encode()
                with proxy.lock:
                    proxy.requests.append(rec)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(vane):
    p = Proxy(vane.base)
    yield p
    p.close()


def make_client(host, key, **kw):
    errors = []
    kw.setdefault("on_error", lambda e, batch: errors.append((e, list(batch))))
    kw.setdefault("upload_interval", 0.2)
    c = Client(key, host=host, sync_mode=False, **kw)
    c.errors = errors
    return c


def finish(c):
    c.flush()
    c.join()


def by_message_id(events):
    out = {}
    for e in events:
        mid = (e.get("raw") or {}).get("messageId")
        assert mid not in out, "messageId %s stored twice: %r" % (mid, [out[mid], e])
        out[mid] = e
    return out


# ---------------------------------------------------------------- tests

def test_track_page_screen_identify_mapped(vane):
    v = vane
    ev = uniq("Client Checkout")
    uid = uniq("cu")
    anon = uniq("anon")
    before = usage(v)
    c = make_client(v.base, v.segment_write_key)
    ts = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=2)
    mids = {k: str(uuid.uuid4()) for k in ("track", "track2", "page", "screen", "identify", "group", "alias")}
    c.track(user_id=uid, event=ev, timestamp=ts, message_id=mids["track"],
            properties={"revenue": 9.5, "plan": "pro", "nested": {"a": [1, 2]},
                        "statsigCustomIDs": ["companyID", "acme", "segmentAnonymousId", "override-anon"],
                        "statsigCustom": ["tier_level", "gold", "age", 42, "dangling"],
                        "statsigEnvironment": {"tier": "staging"}},
            context={"ip": "203.0.113.7", "userAgent": "Mozilla/5.0 conformance", "locale": "de-DE",
                     "traits": {"email": "buyer@example.com"}},
            anonymous_id=anon)
    c.track(user_id=uid, event=ev, properties={"value": 3, "revenue": 100}, message_id=mids["track2"])
    c.page(anonymous_id=anon, category="Docs", name=ev + " Pricing", message_id=mids["page"],
           properties={"url": "https://example.com/pricing", "title": "Pricing"})
    c.screen(user_id=uid, name=ev + " Home", category="App", message_id=mids["screen"], properties={"x": 1})
    c.identify(user_id=uid, traits={"email": "buyer@example.com", "plan": "pro"}, message_id=mids["identify"])
    c.group(user_id=uid, group_id="grp-1", traits={"name": "Acme"}, message_id=mids["group"])
    c.alias(previous_id=anon, user_id=uid, message_id=mids["alias"])
    finish(c)
    assert c.errors == [], "on_error was called: %r" % c.errors

    tracks = by_message_id(seg_events(v, ev))
    assert set(tracks) == {mids["track"], mids["track2"]}, "track events: %r" % list(tracks.values())
    t = tracks[mids["track"]]
    assert t["eventName"] == "segment::" + ev and t["source"] == "segment"
    assert t["value"] == 9.5, "revenue should become the value: %r" % t["value"]
    assert t["metadata"] == {"revenue": 9.5, "plan": "pro", "nested": {"a": [1, 2]}}, \
        "properties minus statsig* control keys should be the metadata: %r" % t["metadata"]
    u = t["user"]
    assert u.get("userID") == uid and t["userID"] == uid
    assert u.get("customIDs") == {"companyID": "acme", "segmentAnonymousId": "override-anon"}, \
        "statsigCustomIDs should override the mapped anonymousId: %r" % u
    assert u.get("custom") == {"tier_level": "gold", "age": 42}, "statsigCustom pairs (odd tail dropped): %r" % u
    assert (u.get("statsigEnvironment") or {}).get("tier") == "staging" and t["environment"] == "staging", u
    assert u.get("ip") == "203.0.113.7" and u.get("userAgent") == "Mozilla/5.0 conformance", u
    assert u.get("locale") == "de-DE" and u.get("email") == "buyer@example.com", u
    # The library's clock is Vane's clock: the corrected time is the given timestamp (within a few s).
    want = int(ts.timestamp() * 1000)
    assert abs(t["time"] - want) < 3000, "event time %d, want ~%d (timestamp)" % (t["time"], want)
    assert abs(t["receivedAt"] - now_ms()) < 60000
    raw = t["raw"]
    assert raw["messageId"] == mids["track"] and raw["context"]["library"]["name"] == "analytics-python", raw
    assert tracks[mids["track2"]]["value"] == 3, "properties.value wins over revenue"

    pages = [e for e in explorer(v, eventName="segment::page", source="segment", since=now_ms() - 120000)
             if (e.get("raw") or {}).get("messageId") == mids["page"]]
    assert len(pages) == 1, pages
    p = pages[0]
    assert p["metadata"] == {"url": "https://example.com/pricing", "title": "Pricing", "name": ev + " Pricing",
                             "category": "Docs"}, p["metadata"]
    assert p["user"].get("customIDs") == {"segmentAnonymousId": anon} and p["userID"] is None, p["user"]
    screens = [e for e in explorer(v, eventName="segment::screen", source="segment", userID=uid)
               if (e.get("raw") or {}).get("messageId") == mids["screen"]]
    assert len(screens) == 1 and screens[0]["metadata"] == {"x": 1, "name": ev + " Home", "category": "App"}, screens

    # identify without personas, group and alias: accepted and ignored, nothing stored for them.
    d = usage_delta(before, usage(v))
    assert d.get("ingested") == 4, d
    assert d.get("ignored.identify") == 1 and d.get("ignored.group") == 1 and d.get("ignored.alias") == 1, d
    for e in explorer(v, userID=uid, source="segment"):
        assert (e.get("raw") or {}).get("type") in ("track", "page", "screen"), e


def test_engage_identify_changes_gate_and_id_list(vane):
    v = vane
    key, gate = setup_audience(v)
    uid, other = uniq("eu"), uniq("eu_other")
    assert check_gate(v, uid, gate) is False
    c = make_client(v.base, v.segment_write_key)
    c.identify(user_id=uid, traits={key: True, "email": "e@example.com"},
               context={"personas": personas(key)}, integrations={"All": False, "Statsig": True})
    finish(c)
    assert c.errors == [], c.errors
    assert wait_gate(v, uid, gate, True) is True, "the Engage audience identify should add the user to list %s" % key
    assert check_gate(v, other, gate) is False
    assert list_entries(v, key) == {id_list_entry(uid)}
    info = v.console_ok("GET", "/id_lists/" + key)
    assert info.get("count") == 1, info

    # A Statsig server SDK sees the membership through the ID-list sync.
    from _support import to_sdk_user
    sdk = make_sdk(v)
    try:
        assert sdk.check_gate(to_sdk_user({"userID": uid}), gate) is True
        assert sdk.check_gate(to_sdk_user({"userID": other}), gate) is False
    finally:
        sdk.shutdown()

    # Exit through the library as well (identify with false).
    c = make_client(v.base, v.segment_write_key)
    c.identify(user_id=uid, traits={key: False}, context={"personas": personas(key)})
    finish(c)
    assert c.errors == [], c.errors
    assert wait_gate(v, uid, gate, False) is False, "identify with false should remove the user"
    assert list_entries(v, key) == set()


def test_batching_upload_size(vane, proxy):
    v = vane
    ev = uniq("Client Batched")
    c = make_client(proxy.base, v.segment_write_key, upload_size=10, upload_interval=1.0)
    mids = [str(uuid.uuid4()) for _ in range(35)]
    for i, m in enumerate(mids):
        c.track(user_id="bu-%d" % (i % 4), event=ev, properties={"i": i}, message_id=m)
    finish(c)
    assert c.errors == [], c.errors
    reqs = proxy.requests
    assert reqs, "the library sent nothing"
    sizes = [len(r["json"]["batch"]) for r in reqs]
    assert sum(sizes) == 35 and max(sizes) <= 10 and len(reqs) >= 4, "batch sizes %r" % sizes
    for r in reqs:
        assert r["path"] == "/v1/batch" and r["upstream_status"] == 200, (r["path"], r["upstream_body"])
        assert r["headers"].get("Authorization", "").startswith("Basic ")
        assert "X-Retry-Count" not in r["headers"], "no retry expected: %r" % r["headers"]
        assert json.loads(r["upstream_body"])["stored"] == len(r["json"]["batch"]), r["upstream_body"]
    stored = by_message_id(seg_events(v, ev))
    assert set(stored) == set(mids)
    assert sorted(e["metadata"]["i"] for e in stored.values()) == list(range(35))


def test_gzip_uploads(vane, proxy):
    v = vane
    ev = uniq("Client Gzip")
    c = make_client(proxy.base, v.segment_write_key, gzip=True)
    for i in range(20):
        c.track(user_id="gz-user", event=ev, properties={"i": i, "text": "compress me " * 20})
    c.page(user_id="gz-user", name=ev + " page")
    finish(c)
    assert c.errors == [], c.errors
    assert proxy.requests and all(r["headers"].get("Content-Encoding") == "gzip" for r in proxy.requests)
    assert all(r["upstream_status"] == 200 for r in proxy.requests), [r["upstream_body"] for r in proxy.requests]
    assert proxy.requests[0]["raw_len"] < len(json.dumps(proxy.requests[0]["json"])), "body was not compressed"
    assert len(seg_events(v, ev)) == 20


def test_sent_once_when_vane_answers(vane, proxy):
    v = vane
    ev = uniq("Client Once")
    c = make_client(proxy.base, v.segment_write_key, max_retries=3)
    c.track(user_id="once", event=ev)
    c.identify(user_id="once", traits={"a": 1})
    finish(c)
    assert c.errors == []
    assert len(proxy.requests) == 1, "one upload expected, got %d" % len(proxy.requests)
    r = proxy.requests[0]
    assert "X-Retry-Count" not in r["headers"]
    assert json.loads(r["upstream_body"]) == {"success": True, "stored": 1, "duplicates": 0, "filtered": 0,
                                             "ignored": 1, "audienceChanges": 0, "skipped": []}, r["upstream_body"]
    assert len(seg_events(v, ev)) == 1


def test_retry_after_lost_response_is_deduplicated(vane, proxy):
    """Vane stores the batch but the client sees a 503: the library retries the same messageIds with a
    new sentAt and X-Retry-Count, and Vane acknowledges the retry as duplicates."""
    v = vane
    ev = uniq("Client Retry")
    proxy.plan = [("forward_then", 503)]
    before = usage(v)
    c = make_client(proxy.base, v.segment_write_key, max_retries=3, upload_interval=0.5)
    for i in range(5):
        c.track(user_id="retry-user", event=ev, properties={"i": i})
    finish(c)
    assert c.errors == [], "the retry should have succeeded: %r" % c.errors
    assert len(proxy.requests) == 2, "one retry expected: %r" % [r["headers"] for r in proxy.requests]
    first, retry = proxy.requests
    assert retry["headers"].get("X-Retry-Count") == "1"
    assert [m["messageId"] for m in first["json"]["batch"]] == [m["messageId"] for m in retry["json"]["batch"]]
    assert json.loads(first["upstream_body"])["stored"] == 5
    body = json.loads(retry["upstream_body"])
    assert retry["upstream_status"] == 200 and body["stored"] == 0 and body["duplicates"] == 5, body
    evs = seg_events(v, ev)
    assert len(evs) == 5, "each message stored once: %d events" % len(evs)
    d = usage_delta(before, usage(v))
    assert d.get("ingested") == 5 and d.get("duplicates") == 5, d


def test_retry_after_server_error_then_success(vane, proxy):
    v = vane
    ev = uniq("Client Retry500")
    proxy.plan = [("reply", 500, {"code": "oops", "message": "simulated"})] * 2
    c = make_client(proxy.base, v.segment_write_key, max_retries=4)
    c.track(user_id="r500", event=ev)
    finish(c)
    assert c.errors == [], c.errors
    assert [r["headers"].get("X-Retry-Count") for r in proxy.requests] == [None, "1", "2"]
    assert proxy.requests[-1]["upstream_status"] == 200
    assert len(seg_events(v, ev)) == 1


def test_bad_write_key_not_retried(vane, proxy):
    v = vane
    ev = uniq("Client BadKey")
    c = make_client(proxy.base, "wk_not_the_key", max_retries=3)
    c.track(user_id="bk", event=ev)
    c.track(user_id="bk", event=ev)
    finish(c)
    assert len(proxy.requests) == 1, "a 4xx must not be retried; %d uploads" % len(proxy.requests)
    r = proxy.requests[0]
    assert r["upstream_status"] == 401, (r["upstream_status"], r["upstream_body"])
    assert json.loads(r["upstream_body"])["error"].startswith("invalid_write_key:"), r["upstream_body"]
    assert len(c.errors) == 1, "on_error should be called once: %r" % c.errors
    e, b = c.errors[0]
    assert getattr(e, "status", None) == 401 and len(b) == 2, (e, b)
    assert seg_events(v, ev) == []


def test_live_stream_while_sending(vane):
    v = vane
    ev = uniq("Client Live")
    with SSEReader(v, eventName="segment::" + ev, source="segment") as sse:
        assert sse.status == 200 and sse.content_type.startswith("text/event-stream"), sse.content_type
        c = make_client(v.base, v.segment_write_key, upload_size=3)
        mids = [str(uuid.uuid4()) for _ in range(7)]
        for i, m in enumerate(mids):
            c.track(user_id="live-%d" % i, event=ev, properties={"i": i}, message_id=m)
        c.track(user_id="live-x", event=uniq("Client Unrelated"))  # other prefix: not streamed
        finish(c)
        # The same name logged by a Statsig SDK is not a segment event.
        r = v.log_events([{"eventName": "segment::" + ev + "_sdk", "user": {"userID": "live-sdk"},
                           "time": now_ms()}])
        assert r.status_code in (200, 202), r.text[:300]
        got = sse.collect(7, timeout=15)
        extra = sse.drain(1.0)
    assert len(got) == 7, "streamed %d of 7 events (error %r)" % (len(got), sse.error)
    assert extra == [], "unexpected streamed events: %r" % extra
    seen = {}
    for kind, data, eid in got:
        assert kind == "event" and eid, (kind, eid)
        assert data["eventName"] == "segment::" + ev and data["source"] == "segment", data
        assert data["raw"]["type"] == "track" and data["user"]["userID"].startswith("live-"), data
        seen[data["raw"]["messageId"]] = data["metadata"]["i"]
    assert seen == {m: i for i, m in enumerate(mids)}
    # The explorer's source filter separates them the same way.
    deadline = time.time() + 10
    while not explorer(v, eventName="segment::" + ev + "_sdk") and time.time() < deadline:
        time.sleep(0.2)
    assert len(explorer(v, eventName="segment::" + ev + "_sdk")) == 1
    assert explorer(v, eventName="segment::" + ev + "_sdk", source="segment") == []



@contextlib.contextmanager
def own_server(tmp_path):
    """A second, private `vane serve` (for tests that stop the server)."""
    from conftest import CONSOLE_KEY, SERVER_SECRET
    server = ServerProcess(binary_path(), tmp_path / "data", server_secret=SERVER_SECRET, console_key=CONSOLE_KEY,
                           client_key="client-shutdown-test").start()
    try:
        yield types.SimpleNamespace(proc=server.proc, base=server.base, console_key=CONSOLE_KEY)
    finally:
        server.kill()


def _sigterm_exits_within(proc, seconds):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_open_live_stream_does_not_block_shutdown(tmp_path):
    """A console user watching the live stream must not keep `vane serve` from stopping on SIGTERM
    (docker stop, systemd stop)."""
    with own_server(tmp_path) as srv:
        sse = SSEReader(srv, source="segment").__enter__()
        try:
            exited = _sigterm_exits_within(srv.proc, 10)
        finally:
            sse.close()
        assert exited, "vane did not exit within 10 s of SIGTERM while a live-stream (SSE) client was connected"


def test_closed_live_stream_does_not_block_shutdown(tmp_path):
    with own_server(tmp_path) as srv:
        with SSEReader(srv, source="segment"):
            pass  # connect, then hang up
        time.sleep(0.5)
        assert _sigterm_exits_within(srv.proc, 10), \
            "vane did not exit within 10 s of SIGTERM after a live-stream (SSE) client had disconnected"
