"""A tiny stand-in for Segment's HTTP Tracking API, for the outbound Segment integration tests.

`BatchReceiver` listens on 127.0.0.1 (random port, own thread), accepts `POST /v1/batch` (and
`/v1/import`, which Segment treats the same), gunzips `Content-Encoding: gzip` bodies, records every
request and answers 200 `{"success": true}`. Other paths get 404. It does not validate messages (the
conformance suite's tests/conformance/_segment_receiver.py does that in depth); it only records:

    requests[i] = {"path", "headers" (dict), "write_key" (from Basic auth, or None), "body" (parsed
                   JSON or None), "raw" (bytes after gunzip), "time"}

`messages()` flattens the `batch` arrays; `wait(pred)` / `wait_messages(n)` block until enough arrived.
`status` (default 200) can be set to make it answer with an error instead.
"""
import base64
import gzip
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class BatchReceiver:
    """Use as a context manager or call start()/stop(). `base` is its URL (Vane's outbound endpoint)."""

    PATHS = ("/v1/batch", "/v1/import")

    def __init__(self, write_key="wk_browser_outbound"):
        self.write_key = write_key
        self.status = 200
        self.cond = threading.Condition()
        self.requests = []
        self.server = None
        self.thread = None
        self.base = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: avoid ~40 ms stalls

            def log_message(self, *a):
                pass

            def _answer(self, status, body):
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self):
                self._answer(404, {"code": "not_found", "message": "only POST /v1/batch is served"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0].rstrip("/")
                if path not in receiver.PATHS:
                    self._answer(404, {"code": "not_found", "message": "unknown path %s" % self.path})
                    return
                if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                    try:
                        raw = gzip.decompress(raw)
                    except OSError:
                        self._answer(400, {"code": "bad_request", "message": "bad gzip body"})
                        return
                receiver._record(path, self.headers, raw)
                status = receiver.status
                self._answer(status, {"success": True} if status == 200 else
                             {"code": "scripted", "message": "scripted %d" % status})

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
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

    # ------------------------------------------------------------ recording
    @staticmethod
    def _basic_user(headers):
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            return None
        try:
            decoded = base64.b64decode(auth[6:].strip()).decode("utf-8")
        except Exception:
            return None
        return decoded[:-1] if decoded.endswith(":") else decoded

    def _record(self, path, headers, raw):
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        rec = {"path": path, "headers": dict(headers.items()), "write_key": self._basic_user(headers),
               "body": body, "raw": raw, "time": time.time()}
        with self.cond:
            self.requests.append(rec)
            self.cond.notify_all()

    # ------------------------------------------------------------ queries
    def messages(self, pred=None):
        """Every message of every recorded batch, in arrival order (optionally filtered)."""
        with self.cond:
            out = []
            for r in self.requests:
                items = r["body"].get("batch") if isinstance(r["body"], dict) else None
                for m in items if isinstance(items, list) else []:
                    if pred is None or pred(m):
                        out.append(m)
            return out

    def wait(self, pred, timeout=20.0):
        """Blocks until pred(self) is truthy (re-checked on every request); returns its last value."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                v = pred(self)
                if v or time.time() >= deadline:
                    return v
                self.cond.wait(min(0.2, max(0.01, deadline - time.time())))

    def wait_messages(self, n=1, pred=None, timeout=20.0):
        """Waits until at least n messages (matching pred) arrived; returns them (maybe fewer)."""
        got = []

        def enough(r):
            got[:] = r.messages(pred)
            return len(got) >= n
        self.wait(enough, timeout)
        return list(got)
