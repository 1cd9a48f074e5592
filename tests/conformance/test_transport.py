"""HTTP transport behaviour the Statsig SDKs depend on.

The Python SDK sends `Connection: close` on every request but keeps its connections in a
requests.Session pool. If the server closes the connection without saying so in the response
(`Connection: close`), the client may reuse the dead socket and the next request fails with
"Remote end closed connection without response" -- which, during initialize, silently leaves the SDK
without its ID lists or rules."""
import json
import socket
from urllib.parse import urlparse

import requests

import conftest
from conftest import patch_error_boundary


def _exchange(base, request_bytes, timeout=3.0):
    """Sends one raw request; returns (status line, headers dict, closed_by_server)."""
    u = urlparse(base)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    s.sendall(request_bytes)
    data, closed = b"", False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except socket.timeout:
        closed = False
    finally:
        s.close()
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    headers = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return head[0], headers, closed


def _requests(vane):
    body = json.dumps({"user": {"userID": "t"}}).encode()
    dcs = "/v1/download_config_specs/%s.json" % vane.server_secret
    return [
        ("GET /health", b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        ("GET " + dcs, ("GET %s HTTP/1.1\r\nHost: x\r\nSTATSIG-API-KEY: %s\r\nConnection: close\r\n\r\n"
                        % (dcs, vane.server_secret)).encode()),
        ("POST /v1/get_id_lists", ("POST /v1/get_id_lists HTTP/1.1\r\nHost: x\r\nSTATSIG-API-KEY: %s\r\n"
                                   "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
                                   % vane.server_secret).encode()),
        ("POST /v1/initialize", ("POST /v1/initialize HTTP/1.1\r\nHost: x\r\nSTATSIG-API-KEY: %s\r\n"
                                 "Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                                 % (vane.client_key, len(body))).encode() + body),
    ]


def test_connection_close_is_announced(vane):
    problems = []
    for label, raw in _requests(vane):
        status, headers, closed = _exchange(vane.base, raw)
        if not status.startswith("HTTP/1.1 2"):
            problems.append("%s: %s" % (label, status))
        if closed and "close" not in headers.get("connection", "").lower():
            problems.append("%s: the server closed the connection (as the request asked) but its response has no "
                            "'Connection: close' header (headers: %s)" % (label, sorted(headers)))
        if not closed:
            problems.append("%s: the request said 'Connection: close' but the server kept the connection open"
                            % label)
    assert not problems, "\n".join(problems)


def test_pooled_client_with_connection_close_never_fails(vane):
    """What the Python SDK does: a requests.Session, `Connection: close` on each request."""
    s = requests.Session()
    failures = []
    for i in range(1000):
        try:
            r = s.post(vane.base + "/v1/get_id_lists", json={}, timeout=10,
                       headers={"STATSIG-API-KEY": vane.server_secret, "Connection": "close"})
            if r.status_code != 200:
                failures.append("HTTP %d" % r.status_code)
        except requests.RequestException as e:
            failures.append(repr(e)[:200])
    assert not failures, "%d of 1000 requests failed, e.g. %s" % (len(failures), failures[:3])


def test_sdk_initializes_completely_every_time(vane):
    """Twenty fresh SDK instances: each must load the rules and every non-empty ID list."""
    from statsig import StatsigOptions, StatsigServer
    vane.console_ok("POST", "/id_lists", {"name": "transport_list"})
    vane.console_ok("POST", "/id_lists/transport_list/ids", {"add": ["t1", "t2", "t3"]})
    patch_error_boundary(vane.base)
    incomplete = []
    for i in range(20):
        sdk = StatsigServer()
        d = sdk.initialize(vane.server_secret, StatsigOptions(
            api=vane.base + "/v1/", rulesets_sync_interval=3600, idlists_sync_interval=3600,
            disable_diagnostics=True, timeout=20))
        try:
            if not d.store_populated or sdk._spec_store.get_id_list("transport_list") is None:
                incomplete.append("init #%d: store_populated=%s, id list loaded=%s" % (
                    i, d.store_populated, sdk._spec_store.get_id_list("transport_list") is not None))
        finally:
            sdk.shutdown()
    assert not incomplete, "%d of 20 SDK initializations were incomplete:\n%s" % (
        len(incomplete), "\n".join(incomplete))


def test_no_incomplete_sdk_initializations_during_the_session():
    """make_sdk() retries incomplete initializations so other tests stay meaningful; this reports them."""
    assert not conftest.SDK_INIT_INCIDENTS, "incomplete SDK initializations seen earlier in this session:\n%s" % (
        "\n".join(conftest.SDK_INIT_INCIDENTS))
