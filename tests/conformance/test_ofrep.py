"""OpenFeature Remote Evaluation Protocol (OFREP) with the real OpenFeature Python SDK
(`openfeature-sdk`) and OFREP provider (`openfeature-provider-ofrep`) against a real `vane serve`.

Boolean, string, integer, float and object flags, each reason, each OFREP error code as the
provider reports it, the bulk endpoint with ETag/If-None-Match (the Python provider is a server
provider and never calls bulk, so that part uses raw HTTP), and exposures.

Every connection this module opens must go to a loopback address: a guard refuses any other.
"""
import ipaddress
import json
import socket
import uuid
from urllib.parse import urlparse

import pytest
import requests
from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

P = "of_"  # name prefix for this module's entities


# ---------------------------------------------------------------- loopback guard

def _loopback(address):
    host = address[0] if isinstance(address, tuple) else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="module", autouse=True)
def loopback_only():
    """Refuses any TCP/UDP connection that is not to a loopback address while this module runs."""
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
            raise ConnectionRefusedError("test_ofrep: refusing a non-loopback connection to %r" % (address,))

    def connect(sock, address):
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        check(sock, address)
        return real_connect_ex(sock, address)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        yield


# ---------------------------------------------------------------- setup

@pytest.fixture(scope="module")
def flags(vane, custom_id_types):
    v = vane
    assert _loopback((urlparse(v.base).hostname,)), v.base
    v.console_ok("POST", "/gates", {"name": P + "staff", "rules": [
        {"name": "Employees", "conditions": [{"type": "email", "operator": "str_ends_with_any",
                                              "targetValue": ["@example.com"]}]}]})
    v.console_ok("POST", "/gates", {"name": P + "off", "isEnabled": False, "rules": [
        {"name": "everyone", "conditions": [{"type": "public"}]}]})
    v.console_ok("POST", "/gates", {"name": P + "company", "idType": "companyID", "rules": [
        {"name": "Acme", "conditions": [{"type": "unit_id", "operator": "any", "targetValue": ["acme"]}]}]})
    v.console_ok("POST", "/dynamic_configs", {
        "name": P + "pricing", "defaultValue": {"currency": "EUR", "seats": 1, "ratio": 0.5, "banner": False},
        "rules": [{"name": "Pro plan", "conditions": [{"type": "custom_field", "field": "plan", "operator": "any",
                                                       "targetValue": ["pro"]}],
                   "returnValue": {"currency": "USD", "seats": 10, "ratio": 2.5, "banner": True,
                                   "limits": {"api": 1000}}}]})
    v.console_ok("POST", "/experiments", {"name": P + "exp", "groups": [
        {"name": "Control", "size": 50, "parameterValues": {"color": "blue"}},
        {"name": "Test", "size": 50, "parameterValues": {"color": "green"}}]})
    v.console_ok("PUT", "/experiments/%s/start" % (P + "exp"), {})
    v.console_ok("POST", "/layers", {"name": P + "layer", "defaultValue": {"title": "Hello", "hero": "plain"}})
    v.console_ok("POST", "/experiments", {"name": P + "layer_exp", "layer": P + "layer", "allocation": 100, "groups": [
        {"name": "Old", "size": 50, "parameterValues": {"hero": "plain"}},
        {"name": "New", "size": 50, "parameterValues": {"hero": "video"}}]})
    v.console_ok("PUT", "/experiments/%s/start" % (P + "layer_exp"), {})
    return v


def _provider(vane, key, header="Authorization"):
    value = "Bearer " + key if header == "Authorization" else key
    provider = OFREPProvider(vane.base, headers_factory=lambda: {header: value}, timeout=20)
    provider.session.trust_env = False  # no proxy from the environment: straight to loopback
    return provider


@pytest.fixture(scope="module")
def client(flags):
    domain = "vane-ofrep-%s" % uuid.uuid4().hex[:8]
    api.set_provider(_provider(flags, flags.client_key), domain=domain)
    yield api.get_client(domain)
    api.clear_providers()


def _ctx(key=None, **attributes):
    return EvaluationContext(targeting_key=key or "ofrep-%s" % uuid.uuid4().hex[:10], attributes=attributes)


def _post(vane, path, body, key=None, headers=None, raw=None):
    h = {"Authorization": "Bearer " + (key or vane.client_key), "Content-Type": "application/json"}
    h.update(headers or {})
    s = requests.Session()
    s.trust_env = False
    return s.post(vane.base + "/ofrep/v1/evaluate/flags" + path, data=raw if raw is not None else json.dumps(body),
                  headers=h, timeout=20)


# ---------------------------------------------------------------- flag types and reasons

def test_boolean_flags_are_gates(client):
    hit = client.get_boolean_details(P + "staff", False, _ctx(email="someone@example.com"))
    assert (hit.value, hit.reason, hit.variant, hit.error_code) == (True, Reason.TARGETING_MATCH, "Employees", None)
    assert hit.flag_metadata["flagType"] == "feature_gate"
    assert hit.flag_metadata["ruleID"]

    miss = client.get_boolean_details(P + "staff", True, _ctx(email="someone@else.org"))
    assert (miss.value, miss.reason, miss.variant) == (False, Reason.DEFAULT, "default")

    off = client.get_boolean_details(P + "off", True, _ctx())
    assert (off.value, off.reason, off.variant) == (False, Reason.DISABLED, "disabled")


def test_string_number_and_object_flags_are_config_values(client):
    pro = _ctx(plan="pro")
    assert client.get_string_value(P + "pricing.currency", "?", pro) == "USD"
    seats = client.get_integer_details(P + "pricing.seats", 0, pro)
    assert (seats.value, seats.reason, seats.variant) == (10, Reason.TARGETING_MATCH, "Pro plan")
    assert client.get_float_value(P + "pricing.ratio", 0.0, pro) == 2.5
    assert client.get_boolean_value(P + "pricing.banner", False, pro) is True
    assert client.get_object_value(P + "pricing.limits", {}, pro) == {"api": 1000}
    whole = client.get_object_details(P + "pricing", {}, pro)
    assert whole.value == {"currency": "USD", "seats": 10, "ratio": 2.5, "banner": True, "limits": {"api": 1000}}
    assert whole.flag_metadata["flagType"] == "dynamic_config"

    free = client.get_string_details(P + "pricing.currency", "?", _ctx(plan="free"))
    assert (free.value, free.reason, free.variant) == ("EUR", Reason.DEFAULT, "default")
    # A parameter other values have but this user's lacks: the code default, without an error.
    absent = client.get_object_details(P + "pricing.limits", {"api": 1}, _ctx(plan="free"))
    assert (absent.value, absent.reason, absent.error_code) == ({"api": 1}, Reason.DEFAULT, None)


def test_experiments_split_users_into_groups(client):
    seen = {}
    for i in range(30):
        d = client.get_string_details(P + "exp.color", "none", _ctx("exp-user-%d" % i))
        assert d.reason == Reason.SPLIT and d.error_code is None, d
        assert d.flag_metadata["groupName"] == d.variant
        seen[d.variant] = d.value
    assert seen == {"Control": "blue", "Test": "green"}
    obj = client.get_object_details(P + "exp", {}, _ctx("exp-user-1"))
    assert obj.reason == Reason.SPLIT and obj.value["color"] in ("blue", "green")


def test_layer_parameters(client):
    hero = client.get_string_details(P + "layer.hero", "none", _ctx("layer-user"))
    assert hero.reason == Reason.SPLIT and hero.variant in ("Old", "New") and hero.value in ("plain", "video")
    assert hero.flag_metadata["allocatedExperiment"] == P + "layer_exp"
    assert client.get_string_value(P + "layer.title", "none", _ctx("layer-user")) == "Hello"


def test_context_custom_ids_and_x_api_key(flags):
    domain = "vane-ofrep-server-%s" % uuid.uuid4().hex[:8]
    api.set_provider(_provider(flags, flags.server_secret, header="X-API-Key"), domain=domain)
    c = api.get_client(domain)
    assert c.get_boolean_value(P + "company", False, _ctx(companyID="acme")) is True
    assert c.get_boolean_value(P + "company", False, _ctx(customIDs={"companyID": "acme"})) is True
    assert c.get_boolean_value(P + "company", True, _ctx(companyID="globex")) is False


# ---------------------------------------------------------------- errors, as the provider reports them

def test_unknown_flag_is_flag_not_found(client):
    d = client.get_boolean_details(P + "does_not_exist", True, _ctx())
    assert (d.value, d.reason, d.error_code) == (True, Reason.ERROR, ErrorCode.FLAG_NOT_FOUND)
    d = client.get_string_details(P + "pricing.no_such_param", "x", _ctx())
    assert (d.value, d.error_code) == ("x", ErrorCode.FLAG_NOT_FOUND)


def test_type_mismatch(client):
    # A gate has no parameters: Vane says TYPE_MISMATCH.
    d = client.get_string_details(P + "staff.value", "x", _ctx())
    assert (d.value, d.reason, d.error_code) == ("x", Reason.ERROR, ErrorCode.TYPE_MISMATCH)
    # The wrong type asked for: the provider checks the value it got.
    d = client.get_boolean_details(P + "pricing", False, _ctx())
    assert (d.value, d.error_code) == (False, ErrorCode.TYPE_MISMATCH)


def test_invalid_context(client):
    d = client.get_boolean_details(P + "staff", True, _ctx(email={"not": "a string"}))
    assert (d.value, d.reason, d.error_code) == (True, Reason.ERROR, ErrorCode.INVALID_CONTEXT)
    assert "email" in (d.error_message or "")


def test_parse_error(flags):
    r = _post(flags, "/" + P + "staff", None, raw=b'{"context": {"targetingKey": ')
    assert r.status_code == 400
    assert r.json()["errorCode"] == "PARSE_ERROR" and r.json()["key"] == P + "staff"


def test_unknown_key_is_general(flags):
    domain = "vane-ofrep-bad-%s" % uuid.uuid4().hex[:8]
    api.set_provider(_provider(flags, "client-not-a-real-key"), domain=domain)
    d = api.get_client(domain).get_boolean_details(P + "staff", True, _ctx())
    assert (d.value, d.reason, d.error_code) == (True, Reason.ERROR, ErrorCode.GENERAL)
    r = _post(flags, "/" + P + "staff", {"context": {}}, key="client-not-a-real-key")
    assert r.status_code == 401
    assert r.json()["errorCode"] == "GENERAL" and r.json()["key"] == P + "staff"


# ---------------------------------------------------------------- bulk and ETag

def test_bulk_lists_every_flag_with_etag_and_304(flags):
    context = {"targetingKey": "bulk-user", "email": "bulk@example.com", "plan": "pro"}
    r = _post(flags, "", {"context": context})
    assert r.status_code == 200, r.text
    etag = r.headers["ETag"]
    by_key = {f["key"]: f for f in r.json()["flags"]}
    for key in (P + "staff", P + "off", P + "pricing", P + "pricing.currency", P + "exp", P + "exp.color",
                P + "layer", P + "layer.hero"):
        assert key in by_key, key
        assert "variant" in by_key[key] and "reason" in by_key[key], by_key[key]
    assert by_key[P + "staff"]["value"] is True
    assert by_key[P + "off"]["reason"] == "DISABLED"
    assert by_key[P + "pricing.currency"]["value"] == "USD"
    assert by_key[P + "exp"]["reason"] == "SPLIT"

    same = _post(flags, "", {"context": context}, headers={"If-None-Match": etag})
    assert same.status_code == 304 and not same.content
    assert _post(flags, "", {"context": context}, key=flags.server_secret,
                 headers={"If-None-Match": etag}).status_code == 304

    other = _post(flags, "", {"context": dict(context, plan="free")}, headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag
    assert {f["key"]: f for f in other.json()["flags"]}[P + "pricing.currency"]["value"] == "EUR"

    flags.console_ok("PATCH", "/gates/" + P + "staff", {"description": "touched"})
    changed = _post(flags, "", {"context": context}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_bulk_errors(flags):
    bad = _post(flags, "", None, raw=b"{")
    assert bad.status_code == 400 and bad.json()["errorCode"] == "PARSE_ERROR"
    ctx = _post(flags, "", {"context": "user-1"})
    assert ctx.status_code == 400 and ctx.json()["errorCode"] == "INVALID_CONTEXT"
    assert _post(flags, "", {"context": {}}, key="secret-nope").status_code == 401


# ---------------------------------------------------------------- exposures

def test_single_evaluations_log_exposures_and_bulk_does_not(client, flags):
    user = "exposed-%s" % uuid.uuid4().hex[:10]
    assert client.get_boolean_value(P + "staff", False, _ctx(user, email="x@example.com")) is True
    client.get_string_value(P + "layer.hero", "none", _ctx(user))
    gate = flags.wait_for_events(lambda evs: any(e.get("userID") == user for e in evs),
                                 eventName="statsig::gate_exposure")
    mine = [e for e in gate if e.get("userID") == user]
    assert len(mine) == 1
    assert mine[0]["metadata"]["gate"] == P + "staff" and mine[0]["metadata"]["gateValue"] == "true"
    assert mine[0]["sdkType"] == "ofrep" and mine[0]["user"]["email"] == "x@example.com"
    layer = flags.wait_for_events(lambda evs: any(e.get("userID") == user for e in evs),
                                  eventName="statsig::layer_exposure")
    mine = [e for e in layer if e.get("userID") == user]
    assert [e["metadata"]["parameterName"] for e in mine] == ["hero"]

    bulk_user = "bulk-only-%s" % uuid.uuid4().hex[:10]
    assert _post(flags, "", {"context": {"targetingKey": bulk_user}}).status_code == 200
    # Make sure something after the bulk call has been committed before looking.
    marker = "marker-%s" % uuid.uuid4().hex[:10]
    client.get_boolean_value(P + "staff", False, _ctx(marker))
    flags.wait_for_events(lambda evs: any(e.get("userID") == marker for e in evs), eventName="statsig::gate_exposure")
    for name in ("statsig::gate_exposure", "statsig::config_exposure", "statsig::layer_exposure"):
        assert not [e for e in flags.events(eventName=name) if e.get("userID") == bulk_user], name


def test_the_guard_refuses_non_loopback_connections():
    # 192.0.2.1 is TEST-NET-1; the guard refuses before any packet is sent.
    with pytest.raises(ConnectionRefusedError, match="non-loopback"):
        socket.create_connection(("192.0.2.1", 9), timeout=1)
