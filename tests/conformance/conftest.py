"""Shared fixtures for the Vane conformance suite.

The session-scoped ``vane`` fixture starts the real server binary
(``$VANE_BIN``, default ``<repo>/.build/debug/vane``) on a free loopback port
with a throw-away data directory, waits for ``GET /health`` and stops it at
the end. Failing tests get the tail of the server's log attached.

Everything here talks to 127.0.0.1 only.
"""
import gzip
import json
import os
import pathlib
import sys
import time

import pytest
import requests

# `on` compares calendar dates in the host's local timezone in the Python SDK;
# Vane works in UTC. Pin the test process (and the server it starts) to UTC.
os.environ["TZ"] = "UTC"
if hasattr(time, "tzset"):
    time.tzset()

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from vane_server import ServerProcess, StartupError, binary_path, store_mode  # noqa: E402

SERVER_SECRET = "secret-conformance-test"
CLIENT_KEY = "client-conformance-test"
CONSOLE_KEY = "console-conformance-test"
# Preset Segment inbound write key (Tracking-API endpoints /v1/batch, /v1/track, ...).
SEGMENT_WRITE_KEY = "wk_conformance_write_key"

STARTUP_TIMEOUT_S = 30.0


class ConsoleError(AssertionError):
    pass


class Vane:
    """A running Vane server plus small helpers for its HTTP APIs."""

    def __init__(self, proc, base, log_path, data_dir, *, console_base=None):
        self.proc = proc
        self.base = base
        # On a two-node cluster (VANE_TEST_NODES=2) the console is another node than the SDK's `base`:
        # each console write is followed by a wait until `base` has caught up with it.
        self.console_base = console_base or base
        self.log_path = log_path
        self.data_dir = data_dir
        self.server_secret = SERVER_SECRET
        self.client_key = CLIENT_KEY
        self.console_key = CONSOLE_KEY
        self.segment_write_key = SEGMENT_WRITE_KEY
        self.session = requests.Session()

    # ------------------------------------------------------------ diagnostics
    def log_tail(self, lines=60):
        try:
            data = pathlib.Path(self.log_path).read_bytes()
        except OSError as e:
            return "<no server log: %s>" % e
        text = data.decode("utf-8", "replace").splitlines()
        return "\n".join(text[-lines:])

    def alive(self):
        return self.proc.poll() is None

    def health(self):
        return self.session.get(self.base + "/health", timeout=10)

    # ------------------------------------------------------------ console API
    def console(self, method, path, json_body=None, *, key=None, timeout=30, **kw):
        """Raw console call; returns the requests.Response."""
        if not path.startswith("/"):
            path = "/" + path
        if not path.startswith("/console/"):
            path = "/console/v1" + path
        headers = dict(kw.pop("headers", {}) or {})
        headers.setdefault("STATSIG-API-KEY", key if key is not None else self.console_key)
        r = self.session.request(method, self.console_base + path, json=json_body, headers=headers,
                                 timeout=timeout, **kw)
        if method.upper() not in ("GET", "HEAD") and r.status_code < 300:
            self.wait_until_caught_up()
        return r

    def wait_until_caught_up(self, timeout=5.0):
        """Waits until the SDK node's caches include every change committed so far (`/ready` on each
        node: the database's change counter, and the one this node has applied). A no-op on one node."""
        if self.console_base == self.base:
            return
        target = self.session.get(self.console_base + "/ready", timeout=10).json()["changeVersion"]
        deadline = time.time() + timeout
        while True:
            applied = self.session.get(self.base + "/ready", timeout=10).json().get("appliedChangeVersion")
            if applied is not None and applied >= target:
                return
            assert time.time() < deadline, "the SDK node has applied change %s, not %s, after %.0f s" % (
                applied, target, timeout)
            time.sleep(0.01)

    def console_ok(self, method, path, json_body=None, *, ok=(200, 201, 202, 204), **kw):
        """Console call that must succeed; returns the response's ``data``."""
        r = self.console(method, path, json_body, **kw)
        if r.status_code not in ok:
            raise ConsoleError("console %s %s -> %d (want %s): %s\nrequest: %s" % (
                method, path, r.status_code, ok, r.text[:2000],
                json.dumps(json_body)[:2000] if json_body is not None else ""))
        if r.status_code == 204 or not r.content:
            return None
        body = r.json()
        return body.get("data", body) if isinstance(body, dict) else body

    # ------------------------------------------------------------ SDK API
    def sdk_post(self, path, body, *, key=None, session=None, timeout=30, headers=None):
        """POST to /v1/<path> with the server secret (or `key`) in STATSIG-API-KEY."""
        h = {"STATSIG-API-KEY": key if key is not None else self.server_secret,
             "Content-Type": "application/json"}
        h.update(headers or {})
        s = session or self.session
        return s.post(self.base + "/v1/" + path.lstrip("/"), data=json.dumps(body), headers=h,
                      timeout=timeout)

    def sdk_post_json(self, path, body, **kw):
        r = self.sdk_post(path, body, **kw)
        assert r.status_code == 200, "POST /v1/%s -> %d: %s" % (path, r.status_code, r.text[:1000])
        return r.json()

    def log_events(self, events, *, key=None, path="log_event", gz=True):
        raw = json.dumps({"events": events}).encode()
        headers = {"STATSIG-API-KEY": key or self.server_secret, "Content-Type": "application/json",
                   "STATSIG-EVENT-COUNT": str(len(events))}
        if gz:
            raw = gzip.compress(raw)
            headers["Content-Encoding"] = "gzip"
        return self.session.post(self.base + "/v1/" + path, data=raw, headers=headers, timeout=30)

    def events(self, **params):
        """All events from the explorer matching the filters, following nextCursor."""
        out = []
        params = {k: v for k, v in params.items() if v is not None}
        params.setdefault("limit", 500)
        for _ in range(200):
            r = self.console("GET", "/events", params=params)
            assert r.status_code == 200, "GET /console/v1/events -> %d: %s" % (r.status_code, r.text[:500])
            body = r.json()
            data = body.get("data")
            assert isinstance(data, list), "events data is not a list: %r" % (body,)
            out.extend(data)
            cursor = body.get("nextCursor")
            if not cursor or not data:
                break
            params = dict(params, cursor=cursor)
        return out

    def wait_for_events(self, predicate, timeout=20.0, interval=0.25, **params):
        """Poll the explorer until predicate(events) is truthy; returns the last list."""
        deadline = time.time() + timeout
        evs = []
        while True:
            evs = self.events(**params)
            if predicate(evs):
                return evs
            if time.time() > deadline:
                return evs
            time.sleep(interval)


_RUNNING = {}


def session_nodes():
    """VANE_TEST_NODES=2 (with VANE_TEST_STORE=postgres): the session's server is two nodes on one
    database, the console on the first and every SDK and ingest call on the second."""
    n = int(os.environ.get("VANE_TEST_NODES", "1"))
    assert n in (1, 2), "VANE_TEST_NODES is 1 or 2"
    assert n == 1 or store_mode() == "postgres", "VANE_TEST_NODES=2 needs VANE_TEST_STORE=postgres"
    return n


@pytest.fixture(scope="session")
def vane(tmp_path_factory):
    nodes, database_url = [], None
    for i in range(session_nodes()):
        process = ServerProcess(
            binary_path(), tmp_path_factory.mktemp("vane-data"), server_secret=SERVER_SECRET, client_key=CLIENT_KEY,
            console_key=CONSOLE_KEY, segment_write_key=SEGMENT_WRITE_KEY,
            log_path=tmp_path_factory.mktemp("vane-log") / ("server%d.log" % i if i else "server.log"),
            database_url=database_url)
        database_url = process.database_url
        try:
            process.start(timeout=STARTUP_TIMEOUT_S)
        except StartupError as e:
            pytest.fail(str(e), pytrace=False)
        nodes.append(process)
    sdk_node = nodes[-1]
    server = Vane(sdk_node.proc, sdk_node.base, sdk_node.log_path, sdk_node.data_dir, console_base=nodes[0].base)

    _RUNNING["server"] = server
    yield server
    _RUNNING.pop("server", None)

    crashed = [(p, p.proc.poll()) for p in nodes if p.proc.poll() is not None]
    for p in nodes:
        p.stop()
    if crashed:
        p, code = crashed[0]
        pytest.fail("vane (%s) exited unexpectedly during the test session (code %s).\n--- server log tail ---\n%s"
                    % (p.base, code, p.log_tail()), pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    server = _RUNNING.get("server")
    if server is not None and rep.failed:
        state = "running" if server.alive() else "EXITED with code %s" % server.proc.returncode
        rep.sections.append(("vane server log tail (%s)" % state, server.log_tail(40)))


# ---------------------------------------------------------------- shared setup

CUSTOM_ID_TYPES = ("companyID", "stableID")


@pytest.fixture(scope="session")
def custom_id_types(vane):
    """Declares the custom ID types the suites use (idempotent)."""
    for name in CUSTOM_ID_TYPES:
        r = vane.console("POST", "/custom_id_types", {"name": name})
        # stableID may be built in; an "already exists" answer is fine.
        assert r.status_code in (200, 201, 204, 409) or (r.status_code == 400 and "exist" in r.text.lower()), \
            "POST /console/v1/custom_id_types %s -> %d: %s" % (name, r.status_code, r.text[:500])
    return CUSTOM_ID_TYPES


def patch_error_boundary(base):
    """The SDK posts its own crash reports to a hard-coded public URL: point it at Vane."""
    from statsig.statsig_error_boundary import _StatsigErrorBoundary
    _StatsigErrorBoundary.endpoint = base + "/v1/sdk_exception"


SDK_INIT_INCIDENTS = []


def make_sdk(vane, *, key=None, rulesets_sync_interval=3600, idlists_sync_interval=3600, attempts=3, **extra):
    """A fresh, initialized StatsigServer instance talking to Vane, with its rules and every non-empty
    ID list loaded. An incomplete initialization is retried (and recorded in SDK_INIT_INCIDENTS, which
    test_transport.py reports) so that the other tests are not flaky because of it."""
    from statsig import StatsigOptions, StatsigServer
    patch_error_boundary(vane.base)
    if os.environ.get("VANE_SDK_DEBUG"):
        from statsig import LogLevel
        extra.setdefault("output_logger_level", LogLevel.DEBUG)
    problem = None
    for attempt in range(attempts):
        opts = StatsigOptions(api=vane.base + "/v1/", rulesets_sync_interval=rulesets_sync_interval,
                              idlists_sync_interval=idlists_sync_interval, disable_diagnostics=True,
                              timeout=20, **extra)
        sdk = StatsigServer()
        details = sdk.initialize(key or vane.server_secret, opts)
        if not (details.init_success and details.store_populated):
            problem = ("the Statsig SDK could not initialize against Vane: source=%s success=%s "
                       "store_populated=%s error=%r" % (details.source, details.init_success,
                                                        details.store_populated, details.error))
        else:
            r = vane.sdk_post("get_id_lists", {}, key=key)
            wanted = sorted(n for n, e in (r.json() if r.status_code == 200 else {}).items() if e.get("size"))
            missing = [n for n in wanted if sdk._spec_store.get_id_list(n) is None]
            if not missing:
                return sdk
            problem = "the Statsig SDK initialized without ID lists %s" % missing
        SDK_INIT_INCIDENTS.append(problem)
        sys.stderr.write("WARNING: %s (attempt %d); retrying\n" % (problem, attempt + 1))
        sdk.shutdown()
    raise AssertionError(problem)
