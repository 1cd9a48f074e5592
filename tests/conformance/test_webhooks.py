"""Webhooks against a real `vane serve`: configuration changes arrive at a receiver on 127.0.0.1 as
signed POSTs (HMAC-SHA256 over "<timestamp>.<body>", checked here with Python's hmac, not Vane's code),
in audit-log order, filtered by kind, retried with the same id and body, dead-lettered after
`maxAttempts`, sent again on request, signed with both secrets after a rotation, and neither lost nor
sent twice across a SIGKILL of the server."""
import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest

from _segment_receiver import VaneProcess, wait_until
from vane_server import binary_path


class WebhookReceiver:
    """An HTTP receiver on 127.0.0.1 that records every request. `script` lists statuses to answer
    the next requests with (then `status`, 200 by default); `delay` slows each answer down."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.script = []
        self.status = 200
        self.delay = 0.0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else receiver.status
                    receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                              "json": json.loads(body), "status": status, "at": time.time()})
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hooks/vane" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def accepted(self, pred=lambda r: True):
        with self.lock:
            return [r for r in self.requests if 200 <= r["status"] < 300 and pred(r)]

    def all(self, pred=lambda r: True):
        with self.lock:
            return [r for r in self.requests if pred(r)]


def signature_ok(secret, request, tolerance_s=300):
    """Verifies Vane-Signature as a receiver would: t=<unix seconds>, one v1=<hex> per secret in force."""
    parts = request["headers"]["vane-signature"].split(",")
    assert parts[0].startswith("t="), parts
    t = int(parts[0][2:])
    expected = hmac.new(secret.encode(), b"%d." % t + request["body"], hashlib.sha256).hexdigest()
    return abs(time.time() - t) < tolerance_s and any(
        hmac.compare_digest(expected, p[3:]) for p in parts[1:] if p.startswith("v1="))


@pytest.fixture
def receiver():
    r = WebhookReceiver()
    yield r
    r.close()


@pytest.fixture
def hooks(vane):
    """Creates webhooks on the session's server and deletes them after the test."""
    made = []

    def create(url, **fields):
        assert url.startswith("http://127.0.0.1:"), url
        data = vane.console_ok("POST", "/webhooks", dict(url=url, **fields))
        made.append(data["id"])
        return data
    yield create
    for hook_id in made:
        vane.console("DELETE", "/webhooks/" + hook_id)


def named(name):
    return lambda r: r["json"].get("data", {}).get("name") == name


def test_changes_arrive_signed_in_order_and_administration_does_not(vane, receiver, hooks):
    hook = hooks(receiver.url, description="audit mirror")
    assert hook["secret"].startswith("whsec_")
    gate = "wh_gate_order"
    vane.console_ok("POST", "/gates", {"name": gate, "rules": [{"name": "all", "passPercentage": 100, "conditions": [{"type": "public"}]}]})
    vane.console_ok("PATCH", "/gates/" + gate, {"description": "now described"})
    vane.console_ok("DELETE", "/gates/" + gate)
    vane.console_ok("POST", "/keys", {"kind": "server", "description": "not a configuration change"})

    got = wait_until(lambda: len(receiver.accepted(named(gate))) >= 3 or None, 20)
    assert got, "3 changes of %s expected, got %s" % (gate, [r["json"]["type"] for r in receiver.all()])
    time.sleep(1.0)
    reqs = receiver.accepted(named(gate))
    assert [r["json"]["type"] for r in reqs] == ["gate.created", "gate.updated", "gate.deleted"]
    for r in reqs:
        assert signature_ok(hook["secret"], r), r["headers"]
        assert not signature_ok("whsec_wrong", r)
        assert r["headers"]["vane-webhook-id"] == hook["id"]
        assert r["headers"]["vane-event-id"] == r["json"]["id"]
        assert r["headers"]["content-type"] == "application/json"
        assert r["json"]["project"] == "default"
    ids = [int(r["json"]["id"].split("_")[1]) for r in reqs]
    assert ids == sorted(ids) and len(set(ids)) == 3
    created, updated = reqs[0]["json"]["data"], reqs[1]["json"]["data"]
    assert created["before"] is None and created["after"]["name"] == gate
    assert updated["after"].get("description") == "now described" and updated["before"].get("description") != "now described"
    kinds = {r["json"]["data"]["kind"] for r in receiver.all()}
    assert not kinds & {"key", "user", "secrets", "webhook"}, kinds

    listed = [h for h in vane.console_ok("GET", "/webhooks") if h["id"] == hook["id"]][0]
    assert "secret" not in listed and hook["secret"] not in json.dumps(vane.console_ok("GET", "/webhooks"))
    assert listed["status"]["delivered"] >= 3 and listed["status"]["queued"] == 0 and not listed["status"]["failing"]
    audit = vane.console_ok("GET", "/audit_logs", params={"limit": 200})
    assert hook["secret"] not in json.dumps(audit)


def test_kinds_choose_what_a_webhook_receives(vane, receiver, hooks):
    hooks(receiver.url, kinds=["dynamic_config"])
    vane.console_ok("POST", "/gates", {"name": "wh_kind_gate"})
    vane.console_ok("POST", "/dynamic_configs", {"name": "wh_kind_config", "defaultValue": {"a": 1}})
    assert wait_until(lambda: receiver.accepted(named("wh_kind_config")), 20), [r["json"]["type"] for r in receiver.all()]
    time.sleep(1.0)
    assert [r["json"]["type"] for r in receiver.all()] == ["dynamic_config.created"]
    for name, kind in (("wh_kind_gate", "gates"), ("wh_kind_config", "dynamic_configs")):
        vane.console_ok("DELETE", "/%s/%s" % (kind, name))


def test_retries_keep_id_and_body_then_dead_letter_and_redrive(vane, receiver, hooks):
    hook = hooks(receiver.url, maxAttempts=3)
    receiver.script = [500, 503]  # the first change succeeds at the third attempt
    vane.console_ok("POST", "/gates", {"name": "wh_retry_one"})
    assert wait_until(lambda: receiver.accepted(named("wh_retry_one")), 20), receiver.all()
    attempts = receiver.all(named("wh_retry_one"))
    assert [r["status"] for r in attempts] == [500, 503, 200]
    assert [r["headers"]["vane-delivery-attempt"] for r in attempts] == ["1", "2", "3"]
    assert len({r["json"]["id"] for r in attempts}) == 1 and len({r["body"] for r in attempts}) == 1
    assert all(signature_ok(hook["secret"], r) for r in attempts)

    receiver.script = [500, 500, 500]  # the second change fails three times: a dead letter
    vane.console_ok("POST", "/gates", {"name": "wh_retry_two"})
    assert wait_until(lambda: len(receiver.all(named("wh_retry_two"))) >= 3, 20), receiver.all(named("wh_retry_two"))
    vane.console_ok("POST", "/gates", {"name": "wh_retry_three"})  # delivery moves on
    assert wait_until(lambda: receiver.accepted(named("wh_retry_three")), 20)
    assert not receiver.accepted(named("wh_retry_two"))
    letters = vane.console_ok("GET", "/webhooks/%s/dead_letters" % hook["id"])
    assert len(letters) == 1 and letters[0]["payload"]["data"]["name"] == "wh_retry_two", letters
    assert letters[0]["reason"].startswith("HTTP 500") and "after 3 attempts" in letters[0]["reason"], letters
    status = vane.console_ok("GET", "/webhooks/" + hook["id"])["status"]
    assert status["deadLettered"] == 1 and status["queued"] == 0, status

    assert vane.console_ok("POST", "/webhooks/%s/dead_letters/retry" % hook["id"], {})["retrying"] == 1
    assert wait_until(lambda: receiver.accepted(named("wh_retry_two")), 20), "the dead letter was not sent again"
    again = receiver.accepted(named("wh_retry_two"))[0]
    assert again["body"] == receiver.all(named("wh_retry_two"))[0]["body"], "a resend must carry the same body"
    assert signature_ok(hook["secret"], again)
    assert wait_until(lambda: vane.console_ok("GET", "/webhooks/%s/dead_letters" % hook["id"]) == [], 10)
    for name in ("wh_retry_one", "wh_retry_two", "wh_retry_three"):
        vane.console_ok("DELETE", "/gates/" + name)


def test_a_rotated_secret_signs_beside_the_previous_one(vane, receiver, hooks):
    hook = hooks(receiver.url)
    rotated = vane.console_ok("POST", "/webhooks/%s/rotate_secret" % hook["id"])
    assert rotated["secret"] != hook["secret"] and rotated["previousSecretExpires"] > time.time() * 1000 + 23 * 3600 * 1000
    vane.console_ok("POST", "/gates", {"name": "wh_rotated"})
    assert wait_until(lambda: receiver.accepted(named("wh_rotated")), 20)
    r = receiver.accepted(named("wh_rotated"))[0]
    assert r["headers"]["vane-signature"].count("v1=") == 2
    assert signature_ok(rotated["secret"], r) and signature_ok(hook["secret"], r)
    vane.console_ok("DELETE", "/gates/wh_rotated")


def test_ping_reports_how_the_receiver_answered(vane, receiver, hooks):
    hook = hooks(receiver.url)
    pong = vane.console_ok("POST", "/webhooks/%s/test" % hook["id"])
    assert pong["delivered"] is True and pong["status"] == 200
    ping = receiver.all(lambda r: r["json"]["type"] == "ping")
    assert len(ping) == 1 and signature_ok(hook["secret"], ping[0]) and ping[0]["json"]["data"]["webhook"] == hook["id"]
    receiver.status = 410
    refused = vane.console_ok("POST", "/webhooks/%s/test" % hook["id"])
    assert refused["delivered"] is False and refused["error"].startswith("HTTP 410"), refused
    assert vane.console_ok("GET", "/webhooks/" + hook["id"])["status"]["delivered"] == 0


@pytest.mark.parametrize("body,needle", [
    ({}, "url is required"),
    ({"url": "ftp://127.0.0.1/x"}, "http or https"),
    ({"url": "not a url"}, "http or https"),
    ({"url": "http://user:pw@127.0.0.1:9/x"}, "user name or password"),
    ({"url": "http://127.0.0.1:9/x", "kinds": ["key"]}, "'key' is not a configuration kind"),
    ({"url": "http://127.0.0.1:9/x", "kinds": "gate"}, "kinds must be a list"),
    ({"url": "http://127.0.0.1:9/x", "maxAttempts": 0}, "maxAttempts must be a whole number from 1 to 30"),
    ({"url": "http://127.0.0.1:9/x", "maxAttempts": 31}, "maxAttempts must be a whole number from 1 to 30"),
    ({"url": "http://127.0.0.1:9/x", "maxAttempts": 1e300}, "maxAttempts must be a whole number from 1 to 30"),
    ({"url": "http://127.0.0.1:9/x", "enabled": "yes"}, "enabled must be true or false"),
    ({"url": "http://127.0.0.1:9/x", "description": "x" * 501}, "description must be text of at most 500"),
    ({"url": "http://127.0.0.1:9/x", "secret": "mine"}, "unknown field 'secret'"),
])
def test_bad_webhook_bodies_are_refused_with_a_reason(vane, body, needle):
    r = vane.console("POST", "/webhooks", body)
    assert r.status_code == 400, (r.status_code, r.text)
    assert needle in r.json()["error"], r.json()
    assert vane.health().status_code == 200


def test_unknown_webhooks_are_404(vane):
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/rotate_secret"), ("POST", "/test"),
                         ("GET", "/dead_letters")):
        r = vane.console(method, "/webhooks/wh_nope" + path, {} if method in ("PATCH", "POST") else None)
        assert r.status_code == 404 and "wh_nope" in r.json()["error"], (method, path, r.status_code, r.text)


@pytest.fixture
def own(tmp_path):
    vp = VaneProcess(binary_path(), tmp_path / "data", log_level="notice")
    yield vp
    vp.stop()


def test_nothing_is_lost_or_sent_twice_across_a_sigkill(own, receiver):
    """30 changes; the receiver is slow, and the server is SIGKILLed after a few were accepted. After
    the restart every change arrives, in order, and at most the one in flight at the kill twice."""
    v = own.start()
    hook = v.console_ok("POST", "/webhooks", {"url": receiver.url})
    receiver.delay = 0.2
    for i in range(30):
        v.console_ok("POST", "/gates", {"name": "wh_kill_%02d" % i})
    assert wait_until(lambda: len(receiver.accepted()) >= 5, 30), receiver.all()
    own.kill()
    before = len(receiver.accepted())
    assert before < 30, "delivery finished before the kill; slow the receiver down"
    receiver.delay = 0
    v = own.start()
    wanted = {"wh_kill_%02d" % i for i in range(30)}
    done = wait_until(lambda: wanted <= {r["json"]["data"]["name"] for r in receiver.accepted()} or None, 60)
    time.sleep(1.0)
    accepted = receiver.accepted()
    names = [r["json"]["data"]["name"] for r in accepted]
    assert done, "after the restart %d of 30 changes arrived" % len(set(names) & wanted)
    ids = [r["json"]["id"] for r in accepted]
    duplicates = len(ids) - len(set(ids))
    assert duplicates <= 1, "%d changes were delivered twice (only the one in flight at the kill may be)" % duplicates
    assert sorted(set(names)) == [n for n in dict.fromkeys(names)], "changes arrived out of order: %s" % names
    assert all(signature_ok(hook["secret"], r) for r in accepted)
    print("accepted before the kill: %d; duplicates after the restart: %d" % (before, duplicates))
