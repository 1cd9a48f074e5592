"""Helpers for the Segment-inbound conformance tests (test_segment_*.py).

Two ways in:
  * the Tracking-API endpoints (`/v1/batch`, `/v1/import`, `/v1/track`, ...), authenticated with the
    inbound write key (`vane.segment_write_key`): `track_api(...)`;
  * the destination endpoint (`/v1/webhooks/segment`), authenticated with the server secret (header or
    Basic) or with `X-Signature` over the raw body: `dest(...)`.

Everything talks to 127.0.0.1 only.
"""
import base64
import datetime
import gzip as _gzip
import hashlib
import hmac
import http.client
import json
import queue
import socket
import threading
import time
import urllib.parse
import uuid


DEST_PATH = "/v1/webhooks/segment"
DEST_ALIAS_PATH = "/v1/webhooks/segment_webhook"
SHARED_SECRET = "whsec_test"  # the reference's §3b test-vector secret

# Every reason code the contract names for skipped batch items.
REASON_CODES = (
    "invalid_type", "no_user_anon_id", "id_not_string", "event_not_defined", "event_not_string",
    "properties_not_object", "traits_not_object", "name_not_string", "category_not_string",
    "message_id_invalid", "message_too_large", "alias_missing_ids", "group_missing_group_id",
    "unknown_id_list",
)


# ---------------------------------------------------------------- names and times

def uniq(prefix):
    """A name no other test uses (the server is shared by the whole session)."""
    return "%s_%s" % (prefix, uuid.uuid4().hex[:10])


def now_ms():
    return int(time.time() * 1000)


def iso(ms, *, digits=3, suffix="Z"):
    """ISO-8601 UTC for epoch ms, with 0/3/6 fractional digits and `Z` or `+00:00`."""
    dt = datetime.datetime.fromtimestamp(ms / 1000.0, datetime.timezone.utc)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = "%03d" % (ms % 1000)
    if digits == 0:
        f = ""
    elif digits == 3:
        f = "." + frac
    else:
        f = "." + (frac + "0" * 9)[:digits]
    return base + f + suffix


def compact(obj):
    """JSON as Segment / JSON.stringify writes it: no spaces, non-ASCII kept."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ---------------------------------------------------------------- requests

def _basic(user, colon=True):
    return "Basic " + base64.b64encode((user + (":" if colon else "")).encode()).decode()


def track_api(v, path, body=None, *, raw=None, auth="basic", key=None, gz=False, headers=None,
              content_type="application/json", session=None, timeout=60):
    """POST to a Tracking-API endpoint (`batch`, `import`, `track`, ...).

    auth: "basic" (Basic key:), "basic_nocolon" (Basic key), "body" (writeKey in the body),
    "both" (Basic and body, as analytics-python does) or "none".
    """
    key = v.segment_write_key if key is None else key
    h = {}
    if content_type is not None:
        h["Content-Type"] = content_type
    if auth in ("basic", "both"):
        h["Authorization"] = _basic(key)
    elif auth == "basic_nocolon":
        h["Authorization"] = _basic(key, colon=False)
    if raw is None:
        if auth in ("body", "both"):
            body = dict(body, writeKey=key)
        raw = compact(body).encode("utf-8")
    elif isinstance(raw, str):
        raw = raw.encode("utf-8")
    if gz:
        raw = _gzip.compress(raw)
        h["Content-Encoding"] = "gzip"
    h.update(headers or {})
    s = session or v.session
    return s.post(v.base + "/v1/" + path.lstrip("/"), data=raw, headers=h, timeout=timeout)


def batch(v, messages, **kw):
    """POST /v1/batch {"batch": messages, "sentAt"?: ...} (extra top-level keys via `top`)."""
    top = kw.pop("top", None) or {}
    return track_api(v, "batch", dict({"batch": messages}, **top), **kw)


def ok(r):
    """The 200 body of an ingest call."""
    assert r.status_code == 200, "%s %s -> %d (want 200): %s" % (
        r.request.method, r.request.url, r.status_code, r.text[:1000])
    body = r.json()
    assert body.get("success") is True, body
    return body


def err(r, status, reason=None):
    """Asserts an error answer; returns its `error` text."""
    assert r.status_code == status, "%s %s -> %d (want %d): %s" % (
        r.request.method, r.request.url, r.status_code, status, r.text[:1000])
    try:
        body = r.json()
    except ValueError:
        raise AssertionError("error body is not JSON: %r" % r.text[:500])
    assert isinstance(body, dict) and isinstance(body.get("error"), str), \
        "error body should be {\"error\": \"<reason>: <text>\"}: %r" % (body,)
    if reason is not None:
        assert body["error"].startswith(reason + ":"), \
            "error should start with %r: %r" % (reason + ":", body["error"])
    return body["error"]


def hmac_sha1(secret, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha1).hexdigest()


def dest(v, body=None, *, raw=None, method="POST", auth="header", secret=None, signature=None,
         path=DEST_PATH, headers=None, sign_bytes=None, timeout=60):
    """Deliver to the destination endpoint the way Segment does.

    body: a message dict or a list of them (serialized compactly, like JSON.stringify) or raw bytes.
    auth: "header" (STATSIG-API-KEY), "basic" (Basic secret:), "basic_nocolon", "sig" (X-Signature =
    HMAC-SHA1(shared secret, raw body, or the first element's raw bytes for an array)) or "none".
    """
    if raw is None:
        if isinstance(body, list):
            parts = [compact(m) for m in body]
            raw = ("[" + ",".join(parts) + "]").encode("utf-8")
            first = parts[0].encode("utf-8") if parts else b""
        else:
            raw = compact(body).encode("utf-8")
            first = raw
    else:
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        first = raw
    h = {"Content-Type": "application/json", "User-Agent": "Segment (Actions)"}
    if auth == "header":
        h["STATSIG-API-KEY"] = v.server_secret if secret is None else secret
    elif auth == "basic":
        h["Authorization"] = _basic(v.server_secret if secret is None else secret)
    elif auth == "basic_nocolon":
        h["Authorization"] = _basic(v.server_secret if secret is None else secret, colon=False)
    elif auth == "sig":
        h["X-Signature"] = signature if signature is not None else hmac_sha1(
            secret or SHARED_SECRET, first if sign_bytes is None else sign_bytes)
    h.update(headers or {})
    return v.session.request(method, v.base + path, data=raw, headers=h, timeout=timeout)


# ---------------------------------------------------------------- settings

def put_inbound(v, patch):
    """PUT the Segment inbound settings (only the given fields change); returns the response."""
    return v.console("PUT", "/integrations/segment/inbound", patch)


def put_inbound_ok(v, patch):
    r = put_inbound(v, patch)
    assert r.status_code == 200, "PUT inbound %s -> %d: %s" % (json.dumps(patch), r.status_code, r.text[:800])
    return r.json().get("data")


DEFAULT_FILTERS = {"allowEvents": [], "denyEvents": [], "allowTypes": [], "denyTypes": []}
DEFAULT_MAPPINGS = [{"field": "anonymousId", "idType": "segmentAnonymousId"}]


def ensure_shared_secret(v, secret=SHARED_SECRET):
    put_inbound_ok(v, {"sharedSecret": secret})


# ---------------------------------------------------------------- usage

def usage(v):
    """Totals over all days of GET /console/v1/integrations/segment/inbound/usage, flattened to
    {"ingested": n, "duplicates": n, "invalid.<reason>": n, "filtered.<reason>": n, ...}."""
    r = v.console("GET", "/integrations/segment/inbound/usage")
    assert r.status_code == 200, "usage -> %d: %s" % (r.status_code, r.text[:500])
    days = r.json().get("data")
    assert isinstance(days, list), r.text[:500]
    out = {}
    for d in days:
        for k in ("day", "ingested", "duplicates", "filtered", "invalid", "ignored", "audience"):
            assert k in d, "usage day lacks %r: %r" % (k, d)
        out["ingested"] = out.get("ingested", 0) + d["ingested"]
        out["duplicates"] = out.get("duplicates", 0) + d["duplicates"]
        for cat in ("filtered", "invalid", "ignored", "audience"):
            assert isinstance(d[cat], dict), "usage %s should be {reason: n}: %r" % (cat, d)
            for reason, n in d[cat].items():
                out[cat + "." + reason] = out.get(cat + "." + reason, 0) + n
    return out


def usage_delta(before, after):
    keys = set(before) | set(after)
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)}


# ---------------------------------------------------------------- events

def explorer(v, **params):
    """All explorer events matching the filters (following nextCursor). The query string is encoded
    with %20 for spaces (encodeURIComponent style), see test_explorer_query_plus_is_space."""
    params = {k: v_ for k, v_ in params.items() if v_ is not None}
    params.setdefault("limit", 1000)
    out = []
    for _ in range(1000):
        qs = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        r = v.session.get(v.base + "/console/v1/events?" + qs, headers={"STATSIG-API-KEY": v.console_key},
                          timeout=60)
        assert r.status_code == 200, "GET /console/v1/events?%s -> %d: %s" % (qs, r.status_code, r.text[:500])
        body = r.json()
        data = body.get("data")
        assert isinstance(data, list), body
        out.extend(data)
        if not body.get("nextCursor") or not data:
            break
        params = dict(params, cursor=body["nextCursor"])
    return out


def seg_events(v, event, **params):
    """Explorer events named `segment::<event>` (event may already carry a prefix)."""
    name = event if event.startswith("segment::") else "segment::" + event
    return explorer(v, eventName=name, source="segment", **params)


def wait_seg_events(v, event, n, timeout=10.0, **params):
    deadline = time.time() + timeout
    while True:
        evs = seg_events(v, event, **params)
        if len(evs) >= n or time.time() > deadline:
            return evs
        time.sleep(0.2)


# ---------------------------------------------------------------- audiences

def setup_audience(v, list_name=None, *, id_type=None):
    """An ID list, an ID-list segment on it and a gate passing that segment; returns (list, gate)."""
    list_name = list_name or uniq("aud")
    v.console_ok("POST", "/id_lists", {"name": list_name})
    seg = {"name": "seg_" + list_name, "segmentType": "id_list", "idList": list_name}
    gate = {"name": "gate_" + list_name, "rules": [{"name": "r", "passPercentage": 100, "conditions": [
        {"type": "passes_segment", "targetValue": "seg_" + list_name}]}]}
    if id_type:
        seg["idType"] = id_type
        gate["idType"] = id_type
    v.console_ok("POST", "/segments", seg)
    v.console_ok("POST", "/gates", gate)
    return list_name, "gate_" + list_name


def check_gate(v, user, gate):
    if isinstance(user, str):
        user = {"userID": user}
    r = v.sdk_post("check_gate", {"user": user, "gateName": gate,
                                  "statsigMetadata": {"exposureLoggingDisabled": True}})
    assert r.status_code == 200, "check_gate -> %d: %s" % (r.status_code, r.text[:300])
    return r.json()["value"]


def wait_gate(v, user, gate, want, timeout=5.0):
    deadline = time.time() + timeout
    while True:
        got = check_gate(v, user, gate)
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.1)


def list_entries(v, name):
    """The set of (hashed) entries of ID list `name` as an SDK sees it (manifest + list file)."""
    r = v.sdk_post("get_id_lists", {})
    assert r.status_code == 200, r.text[:300]
    entry = r.json().get(name)
    if entry is None:
        return None
    f = v.session.get(entry["url"], timeout=30)
    assert f.status_code == 200, (f.status_code, f.text[:200])
    ids = set()
    for line in f.text.splitlines():
        if line:
            (ids.add if line[0] == "+" else ids.discard)(line[1:])
    return ids


def personas(key, cls="audience"):
    return {"computation_class": cls, "computation_id": "aud_" + key, "computation_key": key,
            "namespace": "spa_conformance", "space_id": "spa_conformance"}


def engage_identify(user_id, key, member, ts_ms, *, message_id=None, cls="audience", **extra):
    m = {"type": "identify", "userId": user_id, "traits": {key: member},
         "context": {"personas": personas(key, cls)},
         "integrations": {"All": False, "Statsig": True},
         "messageId": message_id or str(uuid.uuid4()), "timestamp": iso(ts_ms)}
    m.update(extra)
    return m


def engage_track(user_id, key, member, ts_ms, *, message_id=None, **extra):
    m = {"type": "track", "userId": user_id, "event": "Audience Entered" if member else "Audience Exited",
         "properties": {"audience_key": key, key: member},
         "context": {"personas": personas(key), "traits": {"email": "%s@example.com" % user_id}},
         "messageId": message_id or str(uuid.uuid4()), "timestamp": iso(ts_ms)}
    m.update(extra)
    return m


# ---------------------------------------------------------------- live stream

class SSEReader:
    """Reads GET /console/v1/events/stream in a thread; parsed `event: event` payloads go to `events`."""

    def __init__(self, v, **params):
        self.v = v
        self.params = params
        self.events = queue.Queue()
        self.comments = []
        self.connected = threading.Event()
        self.error = None
        self._conn = None
        self._closing = False
        self.status = None
        self.content_type = ""
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        assert self.connected.wait(10), "the live stream did not connect: %r" % (self.error,)
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._closing = True
        conn = self._conn
        if conn is not None:
            try:
                if conn.sock is not None:
                    conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()
        self._thread.join(5)

    def _run(self):
        try:
            u = urllib.parse.urlparse(self.v.base)
            qs = urllib.parse.urlencode(self.params, quote_via=urllib.parse.quote)
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            self._conn = conn
            conn.request("GET", "/console/v1/events/stream?" + qs,
                         headers={"STATSIG-API-KEY": self.v.console_key, "Accept": "text/event-stream"})
            r = conn.getresponse()
            self.status = r.status
            self.content_type = r.getheader("Content-Type", "")
            if r.status != 200:
                self.error = "HTTP %d: %s" % (r.status, r.read()[:300])
                self.connected.set()
                return
            fields = {}
            while True:
                line = r.readline()
                if not line:
                    break
                line = line.decode("utf-8").rstrip("\r\n")
                if line.startswith(":"):
                    self.comments.append(line)
                    self.connected.set()
                    continue
                if line == "":
                    if "data" in fields:
                        self.events.put((fields.get("event"), json.loads(fields["data"]), fields.get("id")))
                    fields = {}
                    continue
                k, _, val = line.partition(":")
                val = val[1:] if val.startswith(" ") else val
                fields[k] = fields[k] + "\n" + val if k in fields and k == "data" else val
        except Exception as e:  # closed by close(), or a real failure
            if self.error is None and not self._closing:
                self.error = repr(e)
        finally:
            self.connected.set()

    def collect(self, n, timeout=15.0):
        """Up to n events (event type, payload, id), waiting at most `timeout` seconds in total."""
        out = []
        deadline = time.time() + timeout
        while len(out) < n:
            left = deadline - time.time()
            if left <= 0:
                break
            try:
                out.append(self.events.get(timeout=left))
            except queue.Empty:
                break
        return out

    def drain(self, wait=0.5):
        time.sleep(wait)
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out
