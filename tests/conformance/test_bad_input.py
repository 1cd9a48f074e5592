"""Bad input: every malformed, unauthorized or oversized request gets a 4xx with a JSON
{"error": "..."} body, the server stays healthy, and acknowledged events survive a burst of junk."""
import gzip
import json
import socket
import uuid
from urllib.parse import urlparse

import pytest

SERVER, CLIENT, CONSOLE = "server", "client", "console"
MB = 1024 * 1024
USER = {"userID": "bad-input-user"}


class Case:
    def __init__(self, id, method, path, status, body=None, key=SERVER, headers=None, raw=None,
                 mention=(), chunked=False):
        self.id = id
        self.method = method
        self.path = path
        self.status = status          # an int, or a tuple of acceptable ints
        self.body = body              # JSON-able body
        self.raw = raw                # bytes body (wins over body)
        self.key = key                # SERVER / CLIENT / CONSOLE / None / literal string
        self.headers = headers or {}
        self.mention = mention        # substrings (any case) the error message must contain, all of them
        self.chunked = chunked


def _big_event_body(size):
    pad = "x" * size
    return json.dumps({"events": [{"eventName": "too_big", "user": USER, "metadata": {"pad": pad}}]}).encode()


def _cases():
    c = []
    # ---- malformed JSON and wrong shapes (SDK API)
    c.append(Case("malformed_json_check_gate", "POST", "/v1/check_gate", 400,
                  raw=b'{"user": {"userID": "a"}, "gateName": '))
    c.append(Case("malformed_json_log_event", "POST", "/v1/log_event", 400, raw=b'{"events": [ {"eventName": "x"'))
    c.append(Case("malformed_json_initialize", "POST", "/v1/initialize", 400, raw=b"{user: 1}", key=CLIENT))
    c.append(Case("body_is_array", "POST", "/v1/check_gate", 400, raw=b'[{"user": {}}]'))
    c.append(Case("body_is_string", "POST", "/v1/get_config", 400, raw=b'"hello"'))
    c.append(Case("empty_body_check_gate", "POST", "/v1/check_gate", 400, raw=b""))
    c.append(Case("user_not_object", "POST", "/v1/check_gate", 400, {"user": "bob", "gateName": "c_email"},
                  mention=("user",)))
    c.append(Case("user_is_list", "POST", "/v1/get_config", 400, {"user": ["bob"], "configName": "cfg_theme"},
                  mention=("user",)))
    c.append(Case("user_missing", "POST", "/v1/check_gate", 400, {"gateName": "c_email"}, mention=("user",)))
    c.append(Case("custom_not_object", "POST", "/v1/check_gate", 400,
                  {"user": {"userID": "a", "custom": [1, 2]}, "gateName": "c_email"}, mention=("custom",)))
    c.append(Case("custom_ids_not_object", "POST", "/v1/check_gate", 400,
                  {"user": {"userID": "a", "customIDs": "x"}, "gateName": "c_email"}, mention=("customIDs",)))
    c.append(Case("gatename_number", "POST", "/v1/check_gate", 400, {"user": USER, "gateName": 5},
                  mention=("gateName",)))
    c.append(Case("gatenames_not_list", "POST", "/v1/check_gate", 400, {"user": USER, "gateNames": "c_email"},
                  mention=("gateNames",)))
    c.append(Case("gatenames_with_number", "POST", "/v1/check_gate", 400, {"user": USER, "gateNames": ["a", 1]},
                  mention=("gateNames",)))
    c.append(Case("gatenames_over_100", "POST", "/v1/check_gate", 400,
                  {"user": USER, "gateNames": ["g%d" % i for i in range(101)]}, mention=("100",)))
    c.append(Case("gatename_missing", "POST", "/v1/check_gate", 400, {"user": USER}, mention=("gateName",)))
    c.append(Case("configname_number", "POST", "/v1/get_config", 400, {"user": USER, "configName": {"a": 1}},
                  mention=("configName",)))
    c.append(Case("layername_number", "POST", "/v1/get_layer", 400, {"user": USER, "layerName": 3},
                  mention=("layerName",)))
    c.append(Case("unknown_layer", "POST", "/v1/get_layer", 404, {"user": USER, "layerName": "no_such_layer"}))
    c.append(Case("initialize_bad_hash", "POST", "/v1/initialize", 400, {"user": USER, "hash": "md5"},
                  key=CLIENT, mention=("hash",)))
    c.append(Case("initialize_user_not_object", "POST", "/v1/initialize", 400, {"user": 7}, key=CLIENT,
                  mention=("user",)))
    c.append(Case("events_missing", "POST", "/v1/log_event", 400, {"event": []}, mention=("events",)))
    c.append(Case("events_not_list", "POST", "/v1/log_event", 400, {"events": {"eventName": "x"}},
                  mention=("events",)))
    c.append(Case("event_not_object", "POST", "/v1/log_event", 400, {"events": ["x"]}))
    c.append(Case("event_name_missing", "POST", "/v1/rgstr", 400, {"events": [{"user": USER}]},
                  mention=("eventName",)))
    c.append(Case("event_name_number", "POST", "/v1/log_event", 400, {"events": [{"eventName": 12}]},
                  mention=("eventName",)))
    c.append(Case("event_metadata_list", "POST", "/v1/log_event", 400,
                  {"events": [{"eventName": "e", "metadata": [1]}]}, mention=("metadata",)))
    c.append(Case("event_time_garbage", "POST", "/v1/log_event", 400,
                  {"events": [{"eventName": "e", "time": "yesterday-ish"}]}, mention=("time",)))
    # ---- compression and size
    c.append(Case("invalid_gzip", "POST", "/v1/log_event", 400, raw=b"this is not gzip at all \x00\x01\x02",
                  headers={"Content-Encoding": "gzip"}))
    c.append(Case("truncated_gzip", "POST", "/v1/check_gate", 400,
                  raw=gzip.compress(json.dumps({"user": USER, "gateName": "c_email"}).encode())[:-12],
                  headers={"Content-Encoding": "gzip"}))
    c.append(Case("gzip_of_malformed_json", "POST", "/v1/log_event", 400, raw=gzip.compress(b'{"events": ['),
                  headers={"Content-Encoding": "gzip"}))
    c.append(Case("unknown_content_encoding", "POST", "/v1/log_event", (400, 415), raw=b'{"events": []}',
                  headers={"Content-Encoding": "snappy"}))
    c.append(Case("oversize_body_11mb", "POST", "/v1/log_event", 413, raw=_big_event_body(11 * MB)))
    c.append(Case("oversize_body_chunked", "POST", "/v1/log_event", 413, raw=_big_event_body(11 * MB),
                  chunked=True))
    c.append(Case("gzip_bomb", "POST", "/v1/log_event", 413, raw=gzip.compress(_big_event_body(24 * MB)),
                  headers={"Content-Encoding": "gzip"}))
    c.append(Case("oversize_console_body", "POST", "/console/v1/gates", 413, key=CONSOLE,
                  raw=json.dumps({"name": "huge_gate", "description": "d" * (11 * MB)}).encode()))
    # ---- authentication
    gate_body = {"user": USER, "gateName": "c_email"}
    c.append(Case("missing_key", "POST", "/v1/check_gate", 401, gate_body, key=None))
    c.append(Case("wrong_key", "POST", "/v1/check_gate", 401, gate_body, key="secret-wrong"))
    c.append(Case("empty_key", "POST", "/v1/get_config", 401, {"user": USER, "configName": "x"}, key=""))
    c.append(Case("client_key_check_gate", "POST", "/v1/check_gate", 401, gate_body, key=CLIENT))
    c.append(Case("client_key_get_config", "POST", "/v1/get_config", 401, {"user": USER, "configName": "x"},
                  key=CLIENT))
    c.append(Case("client_key_get_id_lists", "POST", "/v1/get_id_lists", 401, {}, key=CLIENT))
    c.append(Case("client_key_dcs_get", "GET", "/v1/download_config_specs/{client}.json", 401, key=CLIENT))
    c.append(Case("client_key_dcs_post", "POST", "/v1/download_config_specs", 401, {}, key=CLIENT))
    c.append(Case("wrong_key_dcs_path", "GET", "/v1/download_config_specs/secret-nope.json", 401, key=None))
    c.append(Case("console_key_on_sdk_api", "POST", "/v1/check_gate", 401, gate_body, key=CONSOLE))
    c.append(Case("console_key_on_initialize", "POST", "/v1/initialize", 401, {"user": USER}, key=CONSOLE))
    c.append(Case("missing_key_log_event", "POST", "/v1/log_event", 401, {"events": [{"eventName": "e"}]},
                  key=None))
    c.append(Case("missing_key_initialize", "POST", "/v1/initialize", 401, {"user": USER}, key=None))
    c.append(Case("console_missing_key", "GET", "/console/v1/gates", 401, key=None))
    c.append(Case("console_wrong_key", "GET", "/console/v1/gates", 401, key="console-wrong"))
    c.append(Case("console_with_server_key", "POST", "/console/v1/gates", 401,
                  {"name": "sneaky_gate", "rules": []}, key=SERVER))
    c.append(Case("console_with_client_key", "GET", "/console/v1/events", 401, key=CLIENT))
    # ---- console: unknown names
    for kind in ("gates", "dynamic_configs", "experiments", "layers", "segments"):
        c.append(Case("get_unknown_" + kind, "GET", "/console/v1/%s/no_such_thing" % kind, 404, key=CONSOLE))
    c.append(Case("patch_unknown_gate", "PATCH", "/console/v1/gates/no_such_gate", 404, {"description": "x"},
                  key=CONSOLE))
    c.append(Case("delete_unknown_gate", "DELETE", "/console/v1/gates/no_such_gate", 404, key=CONSOLE))
    c.append(Case("delete_unknown_config", "DELETE", "/console/v1/dynamic_configs/no_such_config", 404, key=CONSOLE))
    c.append(Case("start_unknown_experiment", "PUT", "/console/v1/experiments/no_such_exp/start", 404, {},
                  key=CONSOLE))
    c.append(Case("decide_unknown_experiment", "PUT", "/console/v1/experiments/no_such_exp/make_decision", 404,
                  {"group": "A"}, key=CONSOLE))
    c.append(Case("get_unknown_id_list", "GET", "/console/v1/id_lists/no_such_list", 404, key=CONSOLE))
    c.append(Case("ids_unknown_id_list", "POST", "/console/v1/id_lists/no_such_list/ids", 404, {"add": ["a"]},
                  key=CONSOLE))
    # ---- console: invalid entities
    rule = lambda pct=100, conds=None: {"name": "r", "passPercentage": pct,  # noqa: E731
                                        "conditions": conds if conds is not None else [{"type": "public"}]}
    for label, name in [("slash", "bad/name"), ("one_char", "a"), ("too_long", "x" * 101), ("unicode", "名前"),
                        ("semicolon", "drop;table"), ("empty", ""), ("newline", "two\nlines")]:
        c.append(Case("invalid_gate_name_" + label, "POST", "/console/v1/gates", 400,
                      {"name": name, "rules": [rule()]}, key=CONSOLE, mention=("name",)))
    c.append(Case("invalid_config_name", "POST", "/console/v1/dynamic_configs", 400,
                  {"name": "cfg?x", "defaultValue": {}}, key=CONSOLE, mention=("name",)))
    c.append(Case("invalid_experiment_name", "POST", "/console/v1/experiments", 400,
                  {"name": "exp#1", "groups": [{"name": "A", "size": 100, "parameterValues": {}}]}, key=CONSOLE,
                  mention=("name",)))
    c.append(Case("invalid_segment_name", "POST", "/console/v1/segments", 400,
                  {"name": "seg:x", "segmentType": "rule_based", "rules": []}, key=CONSOLE, mention=("name",)))
    c.append(Case("invalid_id_list_name", "POST", "/console/v1/id_lists", 400, {"name": "list/1"}, key=CONSOLE,
                  mention=("name",)))
    c.append(Case("name_not_string", "POST", "/console/v1/gates", 400, {"name": 42, "rules": []}, key=CONSOLE,
                  mention=("name",)))
    c.append(Case("pass_percentage_150", "POST", "/console/v1/gates", 400,
                  {"name": "pct_gate_150", "rules": [rule(150)]}, key=CONSOLE, mention=("passPercentage",)))
    c.append(Case("pass_percentage_negative", "POST", "/console/v1/gates", 400,
                  {"name": "pct_gate_neg", "rules": [rule(-1)]}, key=CONSOLE, mention=("passPercentage",)))
    c.append(Case("pass_percentage_string", "POST", "/console/v1/gates", 400,
                  {"name": "pct_gate_str", "rules": [{"name": "r", "passPercentage": "lots",
                                                      "conditions": []}]}, key=CONSOLE,
                  mention=("passPercentage",)))
    c.append(Case("unknown_condition_type", "POST", "/console/v1/gates", 400,
                  {"name": "cond_type_gate", "rules": [rule(conds=[{"type": "moon_phase", "operator": "any",
                                                                    "targetValue": ["full"]}])]},
                  key=CONSOLE, mention=("moon_phase",)))
    c.append(Case("unknown_operator", "POST", "/console/v1/gates", 400,
                  {"name": "cond_op_gate", "rules": [rule(conds=[{"type": "email", "operator": "sounds_like",
                                                                  "targetValue": ["x"]}])]},
                  key=CONSOLE, mention=("sounds_like",)))
    c.append(Case("operator_missing", "POST", "/console/v1/gates", 400,
                  {"name": "cond_noop_gate", "rules": [rule(conds=[{"type": "email", "targetValue": ["x"]}])]},
                  key=CONSOLE, mention=("operator",)))
    c.append(Case("list_operator_scalar_target", "POST", "/console/v1/gates", 400,
                  {"name": "cond_scalar_gate", "rules": [rule(conds=[{"type": "email", "operator": "any",
                                                                      "targetValue": "x@y.z"}])]},
                  key=CONSOLE, mention=("targetValue",)))
    c.append(Case("custom_field_without_field", "POST", "/console/v1/gates", 400,
                  {"name": "cond_nofield_gate", "rules": [rule(conds=[{"type": "custom_field", "operator": "eq",
                                                                       "targetValue": 1}])]},
                  key=CONSOLE, mention=("field",)))
    c.append(Case("rules_not_list", "POST", "/console/v1/gates", 400, {"name": "rules_obj_gate", "rules": {}},
                  key=CONSOLE, mention=("rules",)))
    c.append(Case("unknown_environment", "POST", "/console/v1/gates", 400,
                  {"name": "env_gate", "rules": [dict(rule(), environments=["moon"])]}, key=CONSOLE,
                  mention=("moon",)))
    c.append(Case("config_default_not_object", "POST", "/console/v1/dynamic_configs", 400,
                  {"name": "cfg_bad_default", "defaultValue": [1, 2]}, key=CONSOLE, mention=("defaultValue",)))
    c.append(Case("group_sizes_sum_90", "POST", "/console/v1/experiments", 400,
                  {"name": "exp_sizes", "groups": [{"name": "A", "size": 45, "parameterValues": {}},
                                                   {"name": "B", "size": 45, "parameterValues": {}}]},
                  key=CONSOLE, mention=("100",)))
    c.append(Case("allocation_120", "POST", "/console/v1/experiments", 400,
                  {"name": "exp_alloc", "allocation": 120,
                   "groups": [{"name": "A", "size": 100, "parameterValues": {}}]}, key=CONSOLE,
                  mention=("allocation",)))
    c.append(Case("segment_type_unknown", "POST", "/console/v1/segments", 400,
                  {"name": "seg_weird", "segmentType": "vibes"}, key=CONSOLE, mention=("segmentType",)))
    c.append(Case("decision_unknown_group", "PUT", "/console/v1/experiments/bad_input_exp/make_decision", (400, 404),
                  {"group": "Nope"}, key=CONSOLE))
    c.append(Case("import_not_dcs", "POST", "/console/v1/import/statsig", 400, {"hello": "world"}, key=CONSOLE))
    c.append(Case("import_gates_not_list", "POST", "/console/v1/import/statsig", 400, {"feature_gates": {}},
                  key=CONSOLE))
    c.append(Case("events_bad_limit", "GET", "/console/v1/events?limit=-5", 400, key=CONSOLE, mention=("limit",)))
    c.append(Case("events_bad_cursor", "GET", "/console/v1/events?cursor=%%%%garbage", 400, key=CONSOLE,
                  mention=("cursor",)))
    c.append(Case("events_bad_since", "GET", "/console/v1/events?since=last-tuesday", 400, key=CONSOLE,
                  mention=("since",)))
    c.append(Case("custom_id_type_invalid", "POST", "/console/v1/custom_id_types", 400, {"name": "bad id/type"},
                  key=CONSOLE, mention=("name",)))
    c.append(Case("ids_not_list", "POST", "/console/v1/id_lists/bad_input_list/ids", 400, {"add": "a,b"},
                  key=CONSOLE, mention=("add",)))
    return c


CASES = _cases()

# Mentions the name rule (letters/digits/...; 2 to 100 characters).
NAME_RULE_WORDS = ("letters", "digits", "characters", "allowed")


def _key(vane, key):
    return {SERVER: vane.server_secret, CLIENT: vane.client_key, CONSOLE: vane.console_key}.get(key, key)


def raw_http(base, method, path, headers, body, chunked=False, timeout=60):
    """A plain HTTP/1.1 exchange over a socket, so a server that answers early (413) and closes
    can still be heard. Returns (status, headers, body bytes); status None if nothing came back."""
    u = urlparse(base)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    lines = ["%s %s HTTP/1.1" % (method, path), "Host: %s:%d" % (u.hostname, u.port), "Connection: close"]
    for k, v in headers.items():
        lines.append("%s: %s" % (k, v))
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append("Content-Length: %d" % len(body))
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    received = b""
    try:
        s.sendall(head)
        step = 256 * 1024
        for i in range(0, len(body), step):
            piece = body[i:i + step]
            if chunked:
                piece = b"%x\r\n" % len(piece) + piece + b"\r\n"
            s.sendall(piece)
        if chunked:
            s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            received += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    finally:
        s.close()
    if not received:
        return None, {}, b""
    head, _, rest = received.partition(b"\r\n\r\n")
    head_lines = head.decode("latin-1").split("\r\n")
    status = int(head_lines[0].split()[1])
    hdrs = {}
    for line in head_lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    if hdrs.get("transfer-encoding", "").lower() == "chunked":
        out, data = b"", rest
        while data:
            size_line, _, data = data.partition(b"\r\n")
            size = int(size_line.split(b";")[0] or b"0", 16)
            if size == 0:
                break
            out += data[:size]
            data = data[size + 2:]
        rest = out
    return status, hdrs, rest


def send(vane, case):
    headers = dict(case.headers)
    k = _key(vane, case.key)
    if k is not None:
        headers["STATSIG-API-KEY"] = k
    path = case.path.replace("{client}", vane.client_key)
    body = case.raw if case.raw is not None else (json.dumps(case.body).encode() if case.body is not None else b"")
    if case.body is not None or case.raw is not None:
        headers.setdefault("Content-Type", "application/json")
    return raw_http(vane.base, case.method, path, headers, body, chunked=case.chunked)


@pytest.fixture(scope="module")
def prepared(vane):
    # An experiment and an ID list for the cases that need an existing entity.
    vane.console_ok("POST", "/experiments", {"name": "bad_input_exp",
                                             "groups": [{"name": "A", "size": 50, "parameterValues": {}},
                                                        {"name": "B", "size": 50, "parameterValues": {}}]})
    vane.console_ok("PUT", "/experiments/bad_input_exp/start", {})
    vane.console_ok("POST", "/id_lists", {"name": "bad_input_list"})
    return vane


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_request(prepared, case):
    vane = prepared
    status, headers, body = send(vane, case)
    assert status is not None, "%s %s: no HTTP response at all (connection dropped)" % (case.method, case.path)
    want = case.status if isinstance(case.status, tuple) else (case.status,)
    problems = []
    if status not in want:
        problems.append("status %s, want %s" % (status, " or ".join(map(str, want))))
    try:
        payload = json.loads(body.decode("utf-8"))
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), str) or not payload["error"].strip():
        problems.append("body is not JSON {\"error\": \"<message>\"}: %r" % body[:300])
    else:
        msg = payload["error"].lower()
        for word in case.mention:
            if word.lower() not in msg:
                problems.append("error message %r does not mention %r" % (payload["error"], word))
        if case.id.startswith("invalid_") and "name" in case.mention and case.id != "invalid_id_list_name" \
                and not any(w in msg for w in NAME_RULE_WORDS):
            problems.append("error message %r does not state the name rule" % payload["error"])
    if "json" not in headers.get("content-type", ""):
        problems.append("Content-Type %r is not JSON" % headers.get("content-type"))
    h = vane.health()
    if h.status_code != 200:
        problems.append("GET /health -> %d afterwards" % h.status_code)
    assert not problems, "%s %s (%s):\n  %s\n  response: %s %r" % (
        case.method, case.path, case.id, "\n  ".join(problems), status, body[:300])


def test_invalid_entities_were_not_created(prepared):
    """Nothing a 4xx answered may have been stored."""
    vane = prepared
    names = {g["name"] for g in vane.console_ok("GET", "/gates")}
    leaked = names & {"pct_gate_150", "pct_gate_neg", "pct_gate_str", "cond_type_gate", "cond_op_gate",
                      "cond_noop_gate", "cond_scalar_gate", "cond_nofield_gate", "rules_obj_gate", "env_gate",
                      "sneaky_gate", "huge_gate", "bad/name", "a"}
    assert not leaked, "rejected gates were stored anyway: %s" % sorted(leaked)
    exps = {e["name"] for e in vane.console_ok("GET", "/experiments")}
    assert not exps & {"exp_sizes", "exp_alloc"}, exps


def test_acknowledged_events_survive_a_burst_of_bad_requests(prepared):
    vane = prepared
    marker = "durable_" + uuid.uuid4().hex[:10]
    sent = []
    for batch in range(5):
        events = []
        for i in range(10):
            n = batch * 10 + i
            events.append({"eventName": marker, "user": {"userID": "durable-%d" % n}, "value": n,
                           "metadata": {"n": str(n)}})
        r = vane.log_events(events, gz=(batch % 2 == 0))
        assert r.status_code == 202 and r.json() == {"success": True}, (r.status_code, r.text[:300])
        sent.extend(events)
    # A burst of junk right after the acknowledgements, including the expensive kinds.
    burst = [c for c in CASES if c.id in (
        "malformed_json_log_event", "invalid_gzip", "truncated_gzip", "gzip_of_malformed_json", "event_name_missing",
        "events_not_list", "missing_key_log_event", "oversize_body_11mb", "gzip_bomb", "wrong_key",
        "user_not_object", "console_wrong_key", "event_time_garbage")]
    for _ in range(3):
        for case in burst:
            status, _h, _b = send(vane, case)
            assert status is not None and 400 <= status < 500, (case.id, status)
    assert vane.health().status_code == 200
    got = vane.wait_for_events(lambda es: len(es) >= len(sent), timeout=20, eventName=marker)
    values = sorted(e.get("value") for e in got)
    assert values == list(range(50)), "acknowledged events missing after the burst: have %d of 50 (%s)" % (
        len(got), values[:60])
    # Rejected batches stored nothing.
    for name in ("too_big", "e"):
        leaked = [e for e in vane.events(eventName=name)]
        assert not leaked, "events from rejected requests were stored: %s" % json.dumps(leaked)[:500]
