"""Helpers for the Segment-outbound tests (test_segment_outbound*.py) and scripts/bench-segment-export.

* `SegmentReceiver`: a stand-in for Segment's HTTP Tracking API (`POST /v1/batch`, `/v1/import`) on
  127.0.0.1 (random port). It checks requests the way Segment does (reference §2, rules 27-29):
    - Basic auth with the expected write key (`base64(key + ":")`, or without the colon): 401 otherwise;
    - body at most 500 KB after gzip inflation, valid JSON, `batch` a list of at most 2,500: 400 otherwise;
    - per message: at most 32 KB, `type` known, `messageId` a string of at most 100 chars, a non-empty
      string `userId` or `anonymousId`, `event` a non-empty string for track, an ISO-8601 `timestamp`,
      `properties`/`context` objects. Segment answers 200 and silently drops such messages; the receiver
      does the same and records them in `invalid` (reason, message) so tests can assert there are none.
  Accepted messages go to `accepted` with the metadata of the request that carried them; every request
  (accepted or not) goes to `requests`. It can be told to fail: `script([...])` answers the next requests
  with the given responses (e.g. 500, 500, 500, (429, {"Retry-After": "1"}) then normal), `fail_for(s)`
  fails every request for s seconds, `always(401)` until `clear()`, and `delay` slows every answer.
* `VaneProcess`: a `vane serve` of our own (own data dir, own port) that can be SIGKILLed and restarted
  on the same data dir. It is a `conftest.Vane`, so the console/SDK helpers work on it.
* Outbound API helpers: `configure`, `status`, `dead_letters`, `wait_until`.

Everything listens on and talks to 127.0.0.1 only.
"""
import base64
import datetime
import gzip
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from vane_server import ServerProcess

MAX_BODY = 500 * 1024          # Segment: 500 KB per batch request
MAX_MESSAGE = 32 * 1024        # Segment: 32 KB per message
MAX_BATCH_ITEMS = 2500
MAX_MESSAGE_ID = 100
TYPES = ("track", "identify", "page", "screen", "group", "alias")
ISO_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:?\d\d)$")


def parse_iso(s):
    """Epoch ms for an ISO-8601 string (Z or +hh:mm, 0-9 fractional digits), or None."""
    if not isinstance(s, str) or not ISO_RE.match(s):
        return None
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$", s)
    base, frac, tz = m.groups()
    tz = "+00:00" if tz == "Z" else tz
    if len(tz) == 5:
        tz = tz[:3] + ":" + tz[3:]
    try:
        dt = datetime.datetime.fromisoformat(base + tz)
    except ValueError:
        return None
    ms = int(dt.timestamp()) * 1000
    if frac:
        ms += int((frac + "000")[:3])
    return ms


def iso_ms(ms):
    """The exporter's timestamp format: ISO-8601 UTC, 3 fractional digits, Z."""
    dt = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def canon(obj):
    """A canonical JSON text (sorted keys) to compare messages: Vane's key order is not stable."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def message_problem(m):
    """Why Segment would drop this batch item (a reason code), or None."""
    if not isinstance(m, dict):
        return "not_object"
    if len(compact(m).encode("utf-8")) > MAX_MESSAGE:
        return "message_too_large"
    if m.get("type") not in TYPES:
        return "invalid_type"
    mid = m.get("messageId")
    if not isinstance(mid, str) or not mid:
        return "message_id_missing"
    if len(mid) > MAX_MESSAGE_ID:
        return "message_id_invalid"
    ids = [m.get(k) for k in ("userId", "anonymousId") if m.get(k) is not None]
    if not ids:
        return "no_user_anon_id"
    if any(not isinstance(i, str) for i in ids):
        return "id_not_string"
    if not any(ids):
        return "no_user_anon_id"
    if m["type"] == "track":
        if "event" not in m or m["event"] is None:
            return "event_not_defined"
        if not isinstance(m["event"], str) or not m["event"]:
            return "event_not_string"
    if "timestamp" in m and parse_iso(m["timestamp"]) is None:
        return "timestamp_invalid"
    for k in ("properties", "context", "traits"):
        if k in m and m[k] is not None and not isinstance(m[k], dict):
            return k + "_not_object"
    return None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client killed mid-request (the crash tests) is expected; anything else is printed.
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class SegmentReceiver:
    """A Segment-compatible batch receiver. Use as a context manager or call start()/stop().

    record_messages=False keeps only counts and messageIds (for the benchmark)."""

    def __init__(self, write_key, *, record_messages=True, check_messages=True):
        self.write_key = write_key
        self.record_messages = record_messages
        self.check_messages = check_messages
        self.lock = threading.Condition()
        self.requests = []        # one dict per request, in arrival order
        self.accepted = []        # (request index, message) for accepted messages
        self.invalid = []         # (reason, message) items Segment would drop
        self.message_ids = {}     # messageId -> times accepted
        self.accepted_count = 0
        self.delay = 0.0
        self._script = []
        self._fail_until = 0.0
        self._fail_response = None
        self._always = None
        self.server = None
        self.thread = None

    # ------------------------------------------------------------ control
    def script(self, responses):
        """Answer the next requests with these responses, in order, then normally. A response is a
        status code, or (status, headers), or (status, headers, body)."""
        with self.lock:
            self._script = [self._norm(r) for r in responses]

    def fail_for(self, seconds, response=503):
        with self.lock:
            self._fail_until = time.time() + seconds
            self._fail_response = self._norm(response)

    def always(self, response):
        with self.lock:
            self._always = self._norm(response)

    def clear(self):
        with self.lock:
            self._script = []
            self._fail_until = 0.0
            self._always = None

    @staticmethod
    def _norm(r):
        if isinstance(r, int):
            r = (r,)
        status = r[0]
        headers = dict(r[1]) if len(r) > 1 and r[1] else {}
        body = r[2] if len(r) > 2 else {"code": "scripted", "message": "scripted %d" % status}
        return status, headers, body

    def _planned(self):
        with self.lock:
            if self._always is not None:
                return self._always, "always"
            if self._script:
                return self._script.pop(0), "script"
            if time.time() < self._fail_until:
                return self._fail_response, "fail_for"
        return None, None

    # ------------------------------------------------------------ lifecycle
    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without TCP_NODELAY, Nagle plus the client's
            # delayed ACK add ~40 ms to every answer.
            disable_nagle_algorithm = True

            def log_message(self, *a):
                pass

            def _answer(self, status, body, headers=None):
                raw = (body if isinstance(body, (bytes, str)) else compact(body))
                raw = raw.encode("utf-8") if isinstance(raw, str) else raw
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, str(v))
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self._answer(404, {"code": "not_found", "message": "only POST /v1/batch is served"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = receiver._handle(self.path, self.headers, raw)
                self._answer(status, body, headers)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ the API
    def _auth_ok(self, headers):
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except Exception:
            return False
        return decoded in (self.write_key + ":", self.write_key)

    def _handle(self, path, headers, raw):
        t = time.time()
        rec = {"time": t, "path": path, "bytes": len(raw), "retry_count": headers.get("X-Retry-Count"),
               "authorization": headers.get("Authorization"), "user_agent": headers.get("User-Agent"),
               "content_type": headers.get("Content-Type"), "status": None, "sent_at": None,
               "body_write_key": None, "message_ids": [], "events": [], "planned": None}
        try:
            status, body, out_headers = self._process(path, headers, raw, rec)
        except Exception as e:  # a receiver bug must not look like a Vane bug
            status, body, out_headers = 500, {"code": "receiver_error", "message": repr(e)}, {}
        if self.delay:
            time.sleep(self.delay)
        rec["status"] = status
        with self.lock:
            rec["index"] = len(self.requests)
            self.requests.append(rec)
            if status == 200 and rec.get("_messages") is not None:
                for m in rec.pop("_messages"):
                    self.accepted_count += 1
                    mid = m.get("messageId")
                    self.message_ids[mid] = self.message_ids.get(mid, 0) + 1
                    if self.record_messages:
                        self.accepted.append((rec["index"], m))
            rec.pop("_messages", None)
            self.lock.notify_all()
        return status, body, out_headers

    def _process(self, path, headers, raw, rec):
        if path.split("?")[0].rstrip("/") not in ("/v1/batch", "/v1/import"):
            return 404, {"code": "not_found", "message": "unknown path %s" % path}, {}
        if (headers.get("Content-Encoding") or "").lower() == "gzip":
            try:
                raw = gzip.decompress(raw)
            except OSError:
                return 400, {"code": "bad_request", "message": "bad gzip body"}, {}
            rec["inflated_bytes"] = len(raw)
        # Parse first so a scripted failure still records what was attempted.
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        if isinstance(body, dict):
            rec["sent_at"] = body.get("sentAt")
            rec["body_write_key"] = body.get("writeKey")
            items = body.get("batch") if isinstance(body.get("batch"), list) else []
            rec["message_ids"] = [m.get("messageId") for m in items if isinstance(m, dict)]
            rec["events"] = [m.get("event") for m in items if isinstance(m, dict)]
            rec["n"] = len(items)
        planned, why = self._planned()
        if planned is not None:
            rec["planned"] = why
            status, h, b = planned
            return status, b, h
        if not self._auth_ok(headers):
            return 401, {"code": "invalid_write_key", "message": "Invalid write key"}, {}
        if len(raw) > MAX_BODY:
            return 400, {"code": "payload_too_large", "message": "batch larger than 500 KB"}, {}
        if not isinstance(body, dict):
            return 400, {"code": "bad_request", "message": "body is not a JSON object"}, {}
        items = body.get("batch")
        if not isinstance(items, list):
            return 400, {"code": "bad_request", "message": "batch must be a list"}, {}
        if not items:
            return 400, {"code": "empty_batch", "message": "empty batch"}, {}
        if len(items) > MAX_BATCH_ITEMS:
            return 400, {"code": "batch_too_large", "message": "more than 2500 messages"}, {}
        good = []
        for m in items:
            problem = message_problem(m) if self.check_messages else None
            if problem:
                with self.lock:
                    self.invalid.append((problem, m if self.record_messages else None))
            else:
                good.append(m)
        rec["_messages"] = good
        return 200, {"success": True}, {}

    # ------------------------------------------------------------ queries
    def messages(self, pred=None):
        with self.lock:
            return [m for _, m in self.accepted if pred is None or pred(m)]

    def with_marker(self, marker):
        """Accepted messages whose JSON mentions `marker` anywhere."""
        with self.lock:
            return [m for _, m in self.accepted if marker in compact(m)]

    def distinct_ids(self):
        with self.lock:
            return len(self.message_ids)

    def wait(self, pred, timeout=30.0):
        """Waits until pred(self) is truthy; returns its last value."""
        deadline = time.time() + timeout
        with self.lock:
            while True:
                v = pred(self)
                if v or time.time() >= deadline:
                    return v
                self.lock.wait(min(0.2, max(0.01, deadline - time.time())))

    def wait_marker(self, marker, n=1, timeout=30.0):
        """Waits until at least n accepted messages mention `marker`; returns them."""
        got = []

        def done(_):
            got[:] = [m for _, m in self.accepted if marker in compact(m)]
            return len(got) >= n
        self.wait(done, timeout)
        return list(got)


# ---------------------------------------------------------------- outbound API

OUTBOUND = "/integrations/segment/outbound"
DEFAULT_SETTINGS = {
    "categories": {"gateExposures": True, "configExposures": True, "experimentExposures": True,
                   "customEvents": True, "configChanges": True},
    "allowEvents": [], "denyEvents": [], "anonymousIdFrom": "stableID", "environments": ["production"],
}


def configure(v, receiver=None, *, write_key=None, enabled=True, **overrides):
    """PUTs the whole outbound settings: defaults, the receiver's endpoint and key, then `overrides`
    (keys as in the API). Never leaves the endpoint pointing anywhere but 127.0.0.1."""
    body = json.loads(json.dumps(DEFAULT_SETTINGS))
    body["enabled"] = enabled
    if receiver is not None:
        body["endpoint"] = receiver.base
        body["writeKey"] = write_key or receiver.write_key
    elif write_key is not None:
        body["writeKey"] = write_key
    body.update(overrides)
    assert "endpoint" not in body or body["endpoint"].startswith("http://127.0.0.1:"), body["endpoint"]
    r = v.console("PUT", OUTBOUND, body)
    assert r.status_code == 200, "PUT /console/v1%s %s -> %d: %s" % (OUTBOUND, json.dumps(body), r.status_code,
                                                                     r.text[:800])
    return r.json().get("data")


def disable(v):
    r = v.console("PUT", OUTBOUND, {"enabled": False})
    assert r.status_code == 200, "disabling outbound -> %d: %s" % (r.status_code, r.text[:500])


def status(v):
    r = v.console("GET", OUTBOUND + "/status")
    assert r.status_code == 200, "GET outbound/status -> %d: %s" % (r.status_code, r.text[:500])
    return r.json()["data"]


def dead_letters(v, limit=1000):
    r = v.console("GET", OUTBOUND + "/dead_letters", params={"limit": limit})
    assert r.status_code == 200, "GET outbound/dead_letters -> %d: %s" % (r.status_code, r.text[:500])
    return r.json()["data"]


def retry_dead_letters(v, ids=None):
    r = v.console("POST", OUTBOUND + "/dead_letters/retry", None if ids is None else {"ids": ids})
    assert r.status_code == 200, "POST outbound/dead_letters/retry -> %d: %s" % (r.status_code, r.text[:500])
    return r.json().get("data")


def wait_until(fn, timeout=30.0, interval=0.2):
    """Polls fn() until it returns something truthy; returns the last value."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(interval)


def now_ms():
    return int(time.time() * 1000)


def uniq(prefix):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:10])


def log_events(v, events, *, timeout=60, session=None):
    """POST /v1/log_event (server secret, uncompressed); asserts it is accepted."""
    s = session or v.session
    r = s.post(v.base + "/v1/log_event", data=json.dumps({"events": events}),
               headers={"STATSIG-API-KEY": v.server_secret, "Content-Type": "application/json"}, timeout=timeout)
    assert r.status_code in (200, 202), "POST /v1/log_event -> %d: %s" % (r.status_code, r.text[:500])
    return r


# ---------------------------------------------------------------- own server process

class VaneProcess(ServerProcess):
    """`vane serve` on its own data dir and port, for tests that kill and restart the server.
    `client` is a conftest.Vane bound to it (console/SDK helpers)."""

    SERVER_SECRET = "secret-outbound-own"
    CLIENT_KEY = "client-outbound-own"
    CONSOLE_KEY = "console-outbound-own"

    def __init__(self, binary, data_dir, *, segment_write_key=None, log_level="info", port=None, extra_args=()):
        super().__init__(binary, data_dir, server_secret=self.SERVER_SECRET, client_key=self.CLIENT_KEY,
                         console_key=self.CONSOLE_KEY, segment_write_key=segment_write_key, log_level=log_level, port=port,
                         extra_args=extra_args)
        self.segment_write_key = segment_write_key

    def start(self, timeout=30.0):
        from conftest import Vane
        super().start(timeout)
        self.client = Vane(self.proc, self.base, self.log_path, self.data_dir)
        self.client.server_secret = self.SERVER_SECRET
        self.client.client_key = self.CLIENT_KEY
        self.client.console_key = self.CONSOLE_KEY
        self.client.segment_write_key = self.segment_write_key
        return self.client
