"""A Segment `/v1/batch` receiver for benchmarks, cheap enough not to be the bottleneck.

The conformance receiver (tests/conformance/_segment_receiver.py) parses and checks every message;
this one only does what a benchmark needs: it checks the write key and the 500 KB limit, inflates
gzip bodies, and counts messages by finding each `"messageId":"…"` in the bytes (a regular
expression over the body, no JSON parsing). It keeps every messageId, so a run can still prove that
each event arrived exactly once.

`hold()` answers 503 with Retry-After until `release()`. `ceiling()` measures the receiver's own
rate: client processes post real bodies it received (kept by `keep_bodies`) as fast as they can.
Loopback only.
"""
import base64
import gzip
import http.client
import multiprocessing
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 500 * 1024
MESSAGE_ID = re.compile(rb'"messageId"\s*:\s*"([^"\\]{1,100})"')


class BenchReceiver:
    def __init__(self, write_key, keep_bodies=4):
        self.auth = {"Basic " + base64.b64encode((write_key + ":").encode()).decode(),
                     "Basic " + base64.b64encode(write_key.encode()).decode()}
        self.lock = threading.Condition()
        self.message_ids = set()
        self.accepted_count = 0   # messages in accepted requests, duplicates included
        self.times = []           # arrival time of each accepted request
        self.refused = 0          # requests answered other than 200
        self.bodies = []          # the first accepted bodies as sent (for the ceiling)
        self.keep_bodies = keep_bodies
        self.held = False
        self.server = None

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Segment's API and Vane's client use
            # Headers and body in separate small writes meet the client's delayed ACK and cost
            # 40 ms a request with Nagle on; the answer leaves in one write with Nagle off.
            wbufsize = -1
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, text, extra = receiver._handle(self.path, self.headers, raw)
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in extra.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.base = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def hold(self):
        self.held = True

    def release(self):
        self.held = False

    def reset(self):
        with self.lock:
            self.message_ids = set()
            self.accepted_count = 0
            self.times = []
            self.refused = 0

    def wait(self, predicate, timeout):
        with self.lock:
            return self.lock.wait_for(lambda: predicate(self), timeout)

    def _handle(self, path, headers, raw):
        if path.split("?")[0] not in ("/v1/batch", "/v1/import"):
            return self._refuse(404, '{"success":false,"message":"not found"}')
        if headers.get("Authorization") not in self.auth:
            return self._refuse(401, '{"success":false,"message":"invalid write key"}')
        if self.held:
            return self._refuse(503, '{"success":false}', {"Retry-After": "0.2"})
        sent = raw
        if (headers.get("Content-Encoding") or "").lower() == "gzip":
            raw = gzip.decompress(raw)
        if len(raw) > MAX_BODY:
            return self._refuse(400, '{"success":false,"message":"body larger than 500 KB"}')
        ids = MESSAGE_ID.findall(raw)
        with self.lock:
            self.accepted_count += len(ids)
            self.message_ids.update(ids)
            self.times.append(time.time())
            if len(self.bodies) < self.keep_bodies:
                self.bodies.append((sent, headers.get("Content-Encoding"), headers.get("Authorization"), len(ids)))
            self.lock.notify_all()
        return 200, '{"success":true}', {}

    def _refuse(self, status, text, extra=None):
        with self.lock:
            self.refused += 1
        return status, text, extra or {}

    def ceiling(self, seconds=3.0, clients=2):
        """Messages per second this receiver accepts when `clients` processes post the kept bodies
        back to back over keep-alive connections. Counted by the receiver, like the export."""
        if not self.bodies:
            raise RuntimeError("no body received yet to measure the ceiling with")
        self.reset()
        ctx = multiprocessing.get_context("fork")
        stop_at = time.time() + seconds
        procs = [ctx.Process(target=_post_until, args=(self.port, self.bodies, stop_at)) for _ in range(clients)]
        t0 = time.time()
        for p in procs:
            p.start()
        for p in procs:
            p.join(seconds + 60)
        elapsed = time.time() - t0
        with self.lock:
            return self.accepted_count / elapsed, len(self.times) / elapsed


def _post_until(port, bodies, stop_at):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = 0
    while time.time() < stop_at:
        body, encoding, auth, _ = bodies[i % len(bodies)]
        headers = {"Content-Type": "application/json", "Authorization": auth}
        if encoding:
            headers["Content-Encoding"] = encoding
        conn.request("POST", "/v1/batch", body=body, headers=headers)
        conn.getresponse().read()
        i += 1
    conn.close()
