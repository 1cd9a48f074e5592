"""The destination endpoint Segment delivers to (`/v1/webhooks/segment`, alias `/segment_webhook`):
Webhooks (Classic) single objects, Webhooks (Actions) arrays, every auth mode, event time from
`timestamp`, Engage audience membership (identify and Audience Entered/Exited), last writer wins,
replays applied once, and bad types.
"""
import json
import uuid

import pytest

from _segment_support import (DEST_ALIAS_PATH, DEST_PATH, SHARED_SECRET, check_gate, compact, dest,
                              engage_identify, engage_track, ensure_shared_secret, err, explorer, hmac_sha1, iso,
                              list_entries, now_ms, ok, seg_events, setup_audience, uniq, usage, usage_delta,
                              wait_gate)
from _support import id_list_entry

VECTOR_BODY = ('{"type":"track","event":"Signed Up","userId":"u1","properties":{"plan":"pro",'
               '"url":"https://x.io/a"}}')
VECTOR_SIG = "b745265bf29cc08df448b230603f2dd45a144c2d"


@pytest.fixture(scope="module")
def v(vane):
    ensure_shared_secret(vane, SHARED_SECRET)
    return vane


def msg(event, user="dest-user", **kw):
    m = {"type": "track", "event": event, "userId": user, "messageId": str(uuid.uuid4()),
         "timestamp": iso(now_ms()), "properties": {"k": 1}}
    m.update(kw)
    return m


# ---------------------------------------------------------------- auth

def test_shared_secret_is_write_only(v):
    data = v.console_ok("GET", "/integrations/segment/inbound")
    assert data.get("sharedSecretSet") is True, data
    assert SHARED_SECRET not in json.dumps(data), "the shared secret must not be shown: %r" % data
    assert v.console("GET", "/integrations/segment/inbound", key=v.server_secret).status_code in (401, 403)


def test_signature_test_vector(v):
    assert hmac_sha1(SHARED_SECRET, VECTOR_BODY) == VECTOR_SIG  # the helper itself
    before = len(explorer(v, eventName="segment::Signed Up", userID="u1", source="segment"))
    body = ok(dest(v, raw=VECTOR_BODY, auth="sig", signature=VECTOR_SIG))
    assert body["stored"] == 1, body
    # An Actions batch starting with that object carries the same signature.
    second = compact(msg(uniq("vector_second"), user="u1"))
    body = ok(dest(v, raw="[" + VECTOR_BODY + "," + second + "]", auth="sig", signature=VECTOR_SIG))
    assert body["stored"] == 2, body
    after = explorer(v, eventName="segment::Signed Up", userID="u1", source="segment")
    assert len(after) == before + 2
    assert after[0]["metadata"] == {"plan": "pro", "url": "https://x.io/a"}


@pytest.mark.parametrize("auth", ["header", "basic", "basic_nocolon", "sig"])
def test_auth_modes_single_object(v, auth):
    ev = uniq("dest_auth_" + auth)
    body = ok(dest(v, msg(ev), auth=auth))
    assert body["stored"] == 1 and body["skipped"] == [], body
    assert len(seg_events(v, ev)) == 1


@pytest.mark.parametrize("auth", ["header", "basic", "sig"])
def test_auth_modes_array(v, auth):
    ev = uniq("dest_arr_" + auth)
    body = ok(dest(v, [msg(ev, user="a1"), msg(ev, user="a2"), msg(ev, user="a3")], auth=auth))
    assert body["stored"] == 3, body
    assert sorted(e["userID"] for e in seg_events(v, ev)) == ["a1", "a2", "a3"]


def test_signature_header_name_is_case_insensitive(v):
    ev = uniq("dest_sig_case")
    m = msg(ev)
    raw = compact(m)
    r = dest(v, raw=raw, auth="none", headers={"x-signature": hmac_sha1(SHARED_SECRET, raw)})
    assert ok(r)["stored"] == 1


def test_bad_credentials_are_401_and_store_nothing(v):
    ev = uniq("dest_badauth")
    m = msg(ev)
    raw = compact(m)
    arr_parts = [compact(msg(ev, user="x1")), compact(msg(ev, user="x2"))]
    arr = "[" + ",".join(arr_parts) + "]"
    cases = {
        "no credentials": dest(v, raw=raw, auth="none"),
        "wrong secret in header": dest(v, raw=raw, auth="header", secret="secret-wrong"),
        "client key in header": dest(v, raw=raw, auth="header", secret=v.client_key),
        "console key in header": dest(v, raw=raw, auth="header", secret=v.console_key),
        "write key in header": dest(v, raw=raw, auth="header", secret=v.segment_write_key),
        "wrong secret as Basic": dest(v, raw=raw, auth="basic", secret="secret-wrong"),
        "client key as Basic": dest(v, raw=raw, auth="basic", secret=v.client_key),
        "signature with another secret": dest(v, raw=raw, auth="sig", secret="whsec_other"),
        "signature of other bytes": dest(v, raw=raw, auth="sig", sign_bytes=raw + " "),
        "garbage signature": dest(v, raw=raw, auth="sig", signature="zz" * 20),
        "empty signature": dest(v, raw=raw, auth="sig", signature=""),
        "truncated signature": dest(v, raw=raw, auth="sig", signature=hmac_sha1(SHARED_SECRET, raw)[:-2]),
        "array signed over the whole body": dest(v, raw=arr, auth="sig", sign_bytes=arr),
        "array signed over the second element": dest(v, raw=arr, auth="sig", sign_bytes=arr_parts[1]),
    }
    problems = ["%s -> %d %s" % (name, r.status_code, r.text[:200]) for name, r in cases.items()
                if r.status_code != 401]
    assert not problems, "expected 401:\n" + "\n".join(problems)
    for name, r in cases.items():
        assert isinstance(r.json().get("error"), str), (name, r.text)
    assert seg_events(v, ev) == []


def test_signature_of_first_element_with_whitespace_and_nesting(v):
    """Actions signs JSON.stringify(first element); our array may have whitespace around it and the
    element may contain brackets, commas and escaped quotes inside strings."""
    ev = uniq("dest_sig_nested")
    first = msg(ev, user="n1", properties={"list": [1, [2, 3], {"a": "x,]}"}], "q": "say \"hi\", [ok]"})
    first_raw = compact(first)
    raw = "[ \n" + first_raw + " ,\n" + compact(msg(ev, user="n2")) + "]"
    body = ok(dest(v, raw=raw, auth="sig", sign_bytes=first_raw))
    assert body["stored"] == 2, body


# ---------------------------------------------------------------- methods and paths

@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize("path", [DEST_PATH, DEST_ALIAS_PATH])
def test_methods_and_alias_path(v, method, path):
    ev = uniq("dest_method_%s" % method)
    assert ok(dest(v, msg(ev), method=method, path=path))["stored"] == 1
    assert ok(dest(v, [msg(ev), msg(ev)], method=method, path=path, auth="sig"))["stored"] == 2
    assert len(seg_events(v, ev)) == 3


def test_get_is_not_an_ingest_method(v):
    r = v.session.get(v.base + DEST_PATH, headers={"STATSIG-API-KEY": v.server_secret}, timeout=30)
    assert r.status_code in (404, 405), r.status_code


# ---------------------------------------------------------------- event time

def test_event_time_is_timestamp(v):
    ev = uniq("dest_time")
    now = now_ms()
    cases = {
        # Segment delivers the corrected timestamp, its receivedAt and the client's sentAt/originalTimestamp.
        "full": dict(timestamp=iso(now - 3 * 86400000 + 123), receivedAt=iso(now - 3 * 86400000 + 900),
                     sentAt=iso(now - 5000), originalTimestamp=iso(now - 7 * 3600000)),
        "timestamp only": dict(timestamp=iso(now - 86400000 - 456, suffix="+00:00")),
        "sentAt far in the future": dict(timestamp=iso(now - 3600000), sentAt=iso(now + 7200000)),
        "old": dict(timestamp=iso(now - 6 * 86400000)),
    }
    want = {"full": now - 3 * 86400000 + 123, "timestamp only": now - 86400000 - 456,
            "sentAt far in the future": now - 3600000, "old": now - 6 * 86400000}
    for name, fields in cases.items():
        ok(dest(v, msg(ev, user=name.replace(" ", "_"), **fields)))
    got = {e["userID"].replace("_", " "): e for e in seg_events(v, ev)}
    assert set(got) == set(cases)
    problems = []
    for name, e in got.items():
        if e["time"] != want[name]:
            problems.append("%s: time %d, want %d (timestamp), off by %d ms" % (name, e["time"], want[name],
                                                                               e["time"] - want[name]))
        if abs(e["receivedAt"] - now) > 60000:
            problems.append("%s: receivedAt %d is not the arrival time ~%d" % (name, e["receivedAt"], now))
    assert not problems, "\n".join(problems)


def test_no_timestamp_uses_arrival(v):
    ev = uniq("dest_notime")
    m = msg(ev)
    del m["timestamp"]
    ok(dest(v, m))
    (e,) = seg_events(v, ev)
    assert abs(e["time"] - e["receivedAt"]) < 1000 and abs(e["time"] - now_ms()) < 60000, e


# ---------------------------------------------------------------- Engage

def test_engage_identify_add_remove(v):
    key, gate = setup_audience(v)
    uid = uniq("eng_id")
    t = now_ms() - 60000
    b = ok(dest(v, engage_identify(uid, key, True, t)))
    assert b["audienceChanges"] == 1 and b["stored"] == 0 and b["skipped"] == [], b
    assert wait_gate(v, uid, gate, True) is True
    assert list_entries(v, key) == {id_list_entry(uid)}
    b = ok(dest(v, engage_identify(uid, key, False, t + 1000)))
    assert b["audienceChanges"] == 1, b
    assert wait_gate(v, uid, gate, False) is False
    assert list_entries(v, key) == set()


def test_engage_journey_step_and_track_add_remove(v):
    key, gate = setup_audience(v)
    uid, uid2 = uniq("eng_tr"), uniq("eng_j")
    t = now_ms() - 60000
    b = ok(dest(v, [engage_track(uid, key, True, t), engage_identify(uid2, key, True, t, cls="journey_step")],
                auth="sig"))
    assert b["audienceChanges"] == 2 and b["skipped"] == [], b
    assert wait_gate(v, uid, gate, True) and wait_gate(v, uid2, gate, True)
    assert list_entries(v, key) == {id_list_entry(uid), id_list_entry(uid2)}
    b = ok(dest(v, engage_track(uid, key, False, t + 1000)))
    assert b["audienceChanges"] == 1, b
    assert wait_gate(v, uid, gate, False) is False and check_gate(v, uid2, gate) is True
    assert list_entries(v, key) == {id_list_entry(uid2)}


def test_engage_not_membership_events(v):
    """Non-boolean flags, other computation classes, other track events and a missing key change nothing."""
    key, gate = setup_audience(v)
    uid = uniq("eng_not")
    t = now_ms() - 60000
    m_str = engage_identify(uid, key, "true", t)
    m_num = engage_identify(uid, key, 1, t)
    m_trait = engage_identify(uid, key, True, t, cls="trait")
    m_other_event = engage_track(uid, key, True, t)
    m_other_event["event"] = "Trait Computed"
    m_no_key = engage_identify(uid, key, True, t)
    m_no_key["context"]["personas"]["computation_key"] = ""
    m_wrong_key = engage_identify(uid, key, True, t)
    m_wrong_key["traits"] = {key + "_x": True}
    for m in (m_str, m_num, m_trait, m_other_event, m_no_key, m_wrong_key):
        b = ok(dest(v, m))
        assert b["audienceChanges"] == 0 and b["skipped"] == [], (m, b)
    assert check_gate(v, uid, gate) is False
    assert list_entries(v, key) == set()


def test_engage_unit_is_the_segments_id_type(v, custom_id_types):
    """A list whose ID-list segment targets a custom ID type gets that ID, not the userID."""
    key, gate = setup_audience(v, id_type="segmentAnonymousId")
    anon = uniq("eng_anon")
    m = engage_identify(None, key, True, now_ms() - 1000, anonymousId=anon)
    del m["userId"]
    b = ok(dest(v, m))
    assert b["audienceChanges"] == 1, b
    assert list_entries(v, key) == {id_list_entry(anon)}
    assert wait_gate(v, {"customIDs": {"segmentAnonymousId": anon}}, gate, True) is True
    assert check_gate(v, {"customIDs": {"segmentAnonymousId": "someone-else"}}, gate) is False


def test_last_writer_wins(v):
    key, gate = setup_audience(v)
    uid = uniq("eng_lww")
    t = now_ms() - 3600000
    before = usage(v)
    assert ok(dest(v, engage_identify(uid, key, True, t)))["audienceChanges"] == 1
    # A stale Exit (older timestamp) arriving after the newer Enter leaves the user in.
    b = ok(dest(v, engage_track(uid, key, False, t - 60000)))
    assert b["audienceChanges"] == 0, b
    assert check_gate(v, uid, gate) is True, "a stale exit removed the user"
    assert list_entries(v, key) == {id_list_entry(uid)}
    # A newer Exit removes; an Enter older than it afterwards does not re-add.
    assert ok(dest(v, engage_identify(uid, key, False, t + 60000)))["audienceChanges"] == 1
    assert wait_gate(v, uid, gate, False) is False
    b = ok(dest(v, engage_track(uid, key, True, t + 30000)))
    assert b["audienceChanges"] == 0, b
    assert check_gate(v, uid, gate) is False, "a stale enter re-added the user"
    # Order inside one array does not matter either: newest wins.
    uid2 = uniq("eng_lww_arr")
    b = ok(dest(v, [engage_identify(uid2, key, True, t + 5000), engage_identify(uid2, key, False, t)]))
    assert check_gate(v, uid2, gate) is True, b
    d = usage_delta(before, usage(v))
    assert d.get("audience.added") == 2 and d.get("audience.removed") == 1 and d.get("audience.stale") == 3, d


def test_unknown_list(v):
    missing = uniq("no_such_list")
    uid = uniq("eng_unknown")
    before = usage(v)
    e = err(dest(v, engage_identify(uid, missing, True, now_ms())), 400, "unknown_id_list")
    assert "'%s'" % missing in e, "the error should name the list: %r" % e
    e = err(dest(v, engage_track(uid, missing, True, now_ms())), 400, "unknown_id_list")
    assert missing in e
    # In an array the item is skipped and the rest stored.
    ev = uniq("dest_unknown_rest")
    b = ok(dest(v, [msg(ev), engage_identify(uid, missing, False, now_ms()), msg(ev)]))
    assert b["stored"] == 2 and b["skipped"] == [{"index": 1, "reason": "unknown_id_list"}], b
    d = usage_delta(before, usage(v))
    assert d.get("invalid.unknown_id_list") == 1 and d.get("ingested") == 2, d
    assert v.console("GET", "/id_lists/" + missing).status_code == 404, "an unknown list must not be created"


def test_unknown_list_track_in_array_is_not_stored(v):
    """A skipped item is not stored: an Audience Entered track for an unknown list, skipped as
    unknown_id_list, must not also appear as an event."""
    missing = uniq("no_such_list")
    uid = uniq("eng_unknown_tr")
    ev = uniq("dest_unknown_track_rest")
    b = ok(dest(v, [msg(ev, user=uid), engage_track(uid, missing, True, now_ms())]))
    assert b["skipped"] == [{"index": 1, "reason": "unknown_id_list"}], b
    assert b["stored"] == 1, "the skipped Audience Entered track was counted as stored: %r" % b
    entered = [e for e in explorer(v, eventName="segment::Audience Entered", userID=uid, source="segment")]
    assert entered == [], "the skipped item was stored: %r" % entered


# ---------------------------------------------------------------- replays

def test_replaying_same_message_id_applies_once(v):
    ev = uniq("dest_replay")
    m = msg(ev, properties={"value": 5})
    before = usage(v)
    assert ok(dest(v, m))["stored"] == 1
    for auth in ("header", "sig", "basic"):
        b = ok(dest(v, m, auth=auth))
        assert b["stored"] == 0 and b["duplicates"] == 1, b
    # Same messageId inside an Actions batch (Segment may regroup retried batches).
    b = ok(dest(v, [msg(ev, user="other"), m], method="PUT"))
    assert b["stored"] == 1 and b["duplicates"] == 1, b
    evs = seg_events(v, ev)
    assert len(evs) == 2 and sorted(e["userID"] for e in evs) == ["dest-user", "other"]
    d = usage_delta(before, usage(v))
    assert d.get("ingested") == 2 and d.get("duplicates") == 4, d


def test_replayed_audience_events_apply_once(v):
    key, gate = setup_audience(v)
    uid = uniq("eng_replay")
    t = now_ms() - 600000
    enter = engage_identify(uid, key, True, t)
    exit_ = engage_identify(uid, key, False, t + 1000)
    assert ok(dest(v, enter))["audienceChanges"] == 1
    assert ok(dest(v, exit_))["audienceChanges"] == 1
    # Segment retries/replays the Enter: the later Exit still stands.
    assert ok(dest(v, enter))["audienceChanges"] == 0
    assert check_gate(v, uid, gate) is False
    assert ok(dest(v, [exit_, enter]))["audienceChanges"] == 0
    assert check_gate(v, uid, gate) is False


# ---------------------------------------------------------------- types

def test_unknown_type(v):
    ev = uniq("dest_type")
    before = usage(v)
    for t in ("delete", "Track Event", "", None, 7):
        m = msg(ev)
        if t is None:
            del m["type"]
        else:
            m["type"] = t
        err(dest(v, m), 400, "invalid_type")
    deletion = {"type": "delete", "userId": "u-del", "timestamp": iso(now_ms()), "messageId": str(uuid.uuid4())}
    b = ok(dest(v, [deletion, msg(ev), {"type": "merge", "userId": "x"}]))
    assert b["stored"] == 1 and b["skipped"] == [{"index": 0, "reason": "invalid_type"},
                                                 {"index": 2, "reason": "invalid_type"}], b
    assert len(seg_events(v, ev)) == 1
    d = usage_delta(before, usage(v))
    assert d.get("invalid.invalid_type") == 2, "single-message 400s are not batch skips; array skips count: %r" % d


def test_identify_group_alias_are_noops(v):
    uid = uniq("dest_noop")
    before = usage(v)
    b = ok(dest(v, [{"type": "identify", "userId": uid, "traits": {"email": "x@example.com"}},
                    {"type": "group", "userId": uid, "groupId": "g1", "traits": {"name": "G"}},
                    {"type": "alias", "userId": uid, "previousId": "old-" + uid}]))
    assert b["stored"] == 0 and b["ignored"] == 3 and b["audienceChanges"] == 0 and b["skipped"] == [], b
    assert ok(dest(v, {"type": "identify", "userId": uid, "traits": {"plan": "pro"}}))["ignored"] == 1
    assert explorer(v, userID=uid) == []
    d = usage_delta(before, usage(v))
    assert d == {"ignored.identify": 2, "ignored.group": 1, "ignored.alias": 1}, d


def test_mapping_of_a_delivered_message(v, custom_id_types):
    ev = uniq("dest_map")
    m = {"type": "track", "event": ev, "userId": "map-u", "anonymousId": "map-anon",
         "messageId": str(uuid.uuid4()), "timestamp": iso(now_ms() - 1000), "channel": "server", "version": 2,
         "properties": {"revenue": "12.50", "currency": "EUR", "sku": "A-1",
                        "statsigCustomIDs": ["companyID", "globex"], "statsigEnvironment": {"tier": "development"}},
         "context": {"ip": "198.51.100.4", "locale": "fr-FR", "userAgent": "UA/1",
                     "traits": {"email": "map@example.com"}, "library": {"name": "analytics.js", "version": "x"}},
         "integrations": {"All": False, "Statsig": True}, "_metadata": {"bundled": ["Statsig"]}}
    ok(dest(v, m))
    (e,) = seg_events(v, ev)
    assert e["value"] == "12.50", e["value"]
    assert e["metadata"] == {"revenue": "12.50", "currency": "EUR", "sku": "A-1"}, e["metadata"]
    u = e["user"]
    assert u["userID"] == "map-u" and u["customIDs"] == {"segmentAnonymousId": "map-anon", "companyID": "globex"}, u
    assert u["email"] == "map@example.com" and u["ip"] == "198.51.100.4" and u["locale"] == "fr-FR", u
    assert e["environment"] == "development"
    assert e["raw"] == m, "raw should be the message as received"
    # page / screen
    ev2 = uniq("dest_map_page")
    ok(dest(v, [{"type": "page", "anonymousId": ev2, "name": "Pricing", "category": "Docs",
                 "properties": {"path": "/pricing"}},
                {"type": "screen", "anonymousId": ev2, "name": "Home", "properties": {}}]))
    pages = [e for e in explorer(v, eventName="segment::page", source="segment", since=now_ms() - 120000)
             if e["user"].get("customIDs", {}).get("segmentAnonymousId") == ev2]
    screens = [e for e in explorer(v, eventName="segment::screen", source="segment", since=now_ms() - 120000)
               if e["user"].get("customIDs", {}).get("segmentAnonymousId") == ev2]
    assert [p["metadata"] for p in pages] == [{"path": "/pricing", "name": "Pricing", "category": "Docs"}], pages
    assert [s["metadata"] for s in screens] == [{"name": "Home"}], screens


def test_configurable_identifier_mappings(v):
    id_type = uniq("deviceID")
    r = v.console("POST", "/custom_id_types", {"name": id_type})
    assert r.status_code in (200, 201), r.text[:300]
    from _segment_support import DEFAULT_MAPPINGS, put_inbound, put_inbound_ok
    bad = put_inbound(v, {"identifierMappings": [{"field": "anonymousId", "idType": uniq("notatype")}]})
    assert bad.status_code == 400, bad.text[:300]
    try:
        put_inbound_ok(v, {"identifierMappings": [{"field": "context.device.id", "idType": id_type},
                                                  {"field": "anonymousId", "idType": "segmentAnonymousId"}]})
        ev = uniq("dest_idmap")
        ok(dest(v, msg(ev, anonymousId="an-1", context={"device": {"id": "dev-42"}})))
        ok(dest(v, msg(ev, user="no-device", context={"device": {}})))
        evs = {e["userID"]: e for e in seg_events(v, ev)}
        assert evs["dest-user"]["user"]["customIDs"] == {id_type: "dev-42", "segmentAnonymousId": "an-1"}, evs
        assert evs["no-device"]["user"].get("customIDs") in (None, {}), evs["no-device"]["user"]
    finally:
        put_inbound_ok(v, {"identifierMappings": DEFAULT_MAPPINGS})


def test_disabled_is_403(v):
    from _segment_support import put_inbound_ok, track_api
    ev = uniq("dest_disabled")
    put_inbound_ok(v, {"enabled": False})
    try:
        err(dest(v, msg(ev)), 403)
        err(dest(v, [msg(ev)], auth="sig"), 403)
        err(track_api(v, "track", msg(ev)), 403)
        err(track_api(v, "batch", {"batch": [msg(ev)]}), 403)
    finally:
        put_inbound_ok(v, {"enabled": True})
    assert seg_events(v, ev) == []
    assert ok(dest(v, msg(ev)))["stored"] == 1
