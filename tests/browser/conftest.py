"""Fixtures for Vane's browser tests (the server-rendered web console under /console).

Run from the repository root:   .venv/bin/python -m pytest tests/browser
Needs: `vane` ($VANE_BIN, default .build/debug/vane), Debian's chromium + chromium-driver
(.ci/install-browser.sh) and tests/browser/requirements.txt in the venv.

* `vane` (session): a real `vane serve` on a free 127.0.0.1 port with a throw-away data dir, keys
  from the constants below, healthy (`GET /health` = 200) before the first test; `.base` is its URL.
  Small console/SDK API helpers for setting up data. Failing tests get the server log tail attached.
* `driver` (function): a fresh headless Chromium (own profile, so no cookies leak between tests),
  implicit wait 0: use the waits in _browser.py. A failing test also saves a full-page screenshot
  `FAILED-<test>.png` and gets the browser's console errors attached.
* `screenshot(driver, name)` (from _browser): full-page PNG into $VANE_SCREENSHOTS (default
  tests/browser/screenshots-out/); the folder is printed in the terminal summary.
* `console` (session): `vane`, but skips while the binary has no /console; `signed_in` (function):
  `driver` signed in as ADMIN_EMAIL (the first sign-in runs first-run setup).
* `receiver` (function): a Segment `/v1/batch` stand-in on 127.0.0.1 (tests/conformance/_segment_receiver.py).

Everything here listens on and talks to 127.0.0.1 only. Starting the server (tests/vane_server.py)
and the Segment receiver are shared with tests/conformance.
"""
import gzip
import json
import os
import pathlib
import sys
import time

import pytest
import requests

os.environ["TZ"] = "UTC"
if hasattr(time, "tzset"):
    time.tzset()

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "conformance"))

import _browser  # noqa: E402
from _browser import ADMIN_EMAIL, ADMIN_PASSWORD  # noqa: E402
from _segment_receiver import SegmentReceiver  # noqa: E402  (tests/conformance's Segment API stand-in)
from vane_server import ServerProcess, StartupError, binary_path  # noqa: E402

SERVER_SECRET = "secret-browser-test"
CLIENT_KEY = "client-browser-test"
CONSOLE_KEY = "console-browser-test"
SEGMENT_WRITE_KEY = "wk_browser_write_key"

STARTUP_TIMEOUT_S = 30.0


class ConsoleError(AssertionError):
    pass


class Vane:
    """A running Vane server: `.base` URL, keys, and helpers to set up data through its HTTP APIs."""

    def __init__(self, proc, base, log_path, data_dir):
        self.proc = proc
        self.base = base
        self.log_path = log_path
        self.data_dir = data_dir
        self.server_secret = SERVER_SECRET
        self.client_key = CLIENT_KEY
        self.console_key = CONSOLE_KEY
        self.segment_write_key = SEGMENT_WRITE_KEY
        self.session = requests.Session()

    def url(self, path=""):
        """base + path; a path without a leading /console is taken relative to /console."""
        if path.startswith("http"):
            return path
        if not path.startswith("/"):
            path = "/console/" + path if path else "/console"
        return self.base + path

    def log_tail(self, lines=60):
        try:
            data = pathlib.Path(self.log_path).read_bytes()
        except OSError as e:
            return "<no server log: %s>" % e
        return "\n".join(data.decode("utf-8", "replace").splitlines()[-lines:])

    def alive(self):
        return self.proc.poll() is None

    def health(self):
        return self.session.get(self.base + "/health", timeout=10)

    # ------------------------------------------------------------ console JSON API
    def console(self, method, path, json_body=None, *, key=None, timeout=30, **kw):
        """Raw console API call (STATSIG-API-KEY = console key); returns the requests.Response."""
        if not path.startswith("/"):
            path = "/" + path
        if not path.startswith("/console/"):
            path = "/console/v1" + path
        headers = dict(kw.pop("headers", {}) or {})
        headers.setdefault("STATSIG-API-KEY", key if key is not None else self.console_key)
        return self.session.request(method, self.base + path, json=json_body, headers=headers,
                                    timeout=timeout, **kw)

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
    def sdk_post(self, path, body, *, key=None, timeout=30, headers=None):
        """POST /v1/<path> with the server secret (or `key`) in STATSIG-API-KEY."""
        h = {"STATSIG-API-KEY": key if key is not None else self.server_secret,
             "Content-Type": "application/json"}
        h.update(headers or {})
        return self.session.post(self.base + "/v1/" + path.lstrip("/"), data=json.dumps(body), headers=h,
                                 timeout=timeout)

    def log_events(self, events, *, key=None, gz=True):
        """POST /v1/log_event; asserts it was accepted."""
        raw = json.dumps({"events": events}).encode()
        headers = {"STATSIG-API-KEY": key or self.server_secret, "Content-Type": "application/json",
                   "STATSIG-EVENT-COUNT": str(len(events))}
        if gz:
            raw = gzip.compress(raw)
            headers["Content-Encoding"] = "gzip"
        r = self.session.post(self.base + "/v1/log_event", data=raw, headers=headers, timeout=30)
        assert r.status_code in (200, 202), "POST /v1/log_event -> %d: %s" % (r.status_code, r.text[:500])
        return r


_RUNNING = {}


@pytest.fixture(scope="session")
def vane(tmp_path_factory):
    process = start_server(tmp_path_factory.mktemp("vane-data"), tmp_path_factory.mktemp("vane-log") / "server.log")
    server = Vane(process.proc, process.base, process.log_path, process.data_dir)

    _RUNNING["server"] = server
    yield server
    _RUNNING.pop("server", None)

    crashed = process.proc.poll()
    process.stop()
    if crashed is not None:
        pytest.fail("vane exited unexpectedly during the test session (code %s).\n--- server log tail ---\n%s"
                    % (crashed, server.log_tail()), pytrace=False)


def start_server(data_dir, log_path):
    """A healthy `vane serve` with this suite's keys on an empty data dir (fails the test otherwise)."""
    process = ServerProcess(binary_path(), data_dir, server_secret=SERVER_SECRET, client_key=CLIENT_KEY,
                            console_key=CONSOLE_KEY, segment_write_key=SEGMENT_WRITE_KEY, log_path=log_path)
    try:
        return process.start(timeout=STARTUP_TIMEOUT_S)
    except StartupError as e:
        pytest.fail(str(e), pytrace=False)


# ---------------------------------------------------------------- browser

@pytest.fixture
def driver(request, tmp_path):
    """A fresh headless Chromium for this test (quit afterwards). Set VANE_CHROMEDRIVER_LOG=1 to keep
    chromedriver's log in the test's tmp dir."""
    try:
        _browser.chromium_paths()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    log_path = tmp_path / "chromedriver.log" if os.environ.get("VANE_CHROMEDRIVER_LOG") else None
    d = _browser.new_driver(log_path=log_path)
    yield d
    try:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            try:
                path = _browser.screenshot(d, "FAILED-" + request.node.nodeid)
                rep.sections.append(("browser", "url: %s\nscreenshot: %s" % (d.current_url, path)))
            except Exception as e:  # a dead browser must not hide the real failure
                rep.sections.append(("browser", "no failure screenshot: %r" % (e,)))
            errors = _browser.browser_errors(d)
            if errors:
                rep.sections.append(("browser console errors",
                                     "\n".join(e.get("message", "") for e in errors)[:4000]))
    finally:
        d.quit()


@pytest.fixture(scope="session")
def console(vane):
    """The `vane` server, but skips the test while the binary has no web console (GET /console/login
    is 404): lets console tests land before the pages do."""
    r = requests.get(vane.base + "/console/login", timeout=10, allow_redirects=False)
    if r.status_code == 404:
        pytest.skip("this vane binary has no web console (GET /console/login -> 404)")
    return vane


@pytest.fixture
def signed_in(console, driver):
    """`driver`, signed in to the console as the administrator (ADMIN_EMAIL); skips without a console."""
    _browser.sign_in(driver, console.base, ADMIN_EMAIL, ADMIN_PASSWORD)
    return driver


# ---------------------------------------------------------------- Segment receiver

@pytest.fixture
def receiver():
    """A Segment Tracking API stand-in on 127.0.0.1 that accepts batches sent with its write key."""
    with SegmentReceiver("wk_browser_outbound") as r:
        yield r


# ---------------------------------------------------------------- reporting

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)  # lets fixtures see whether the test failed
    server = _RUNNING.get("server")
    if server is not None and rep.failed:
        state = "running" if server.alive() else "EXITED with code %s" % server.proc.returncode
        rep.sections.append(("vane server log tail (%s)" % state, server.log_tail(40)))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    shots = _browser.saved_screenshots()
    if shots:
        terminalreporter.write_line("screenshots saved in %s (%d this run)" % (_browser.screenshots_dir(), len(shots)))
