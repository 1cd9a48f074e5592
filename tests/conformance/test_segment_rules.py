"""The testable rules of the Segment reference (§8 A: Segment-compatible ingestion endpoint; §8 B: the
destination endpoint), one test per rule that applies to Vane, plus the bad-input table, usage counters,
filters and dedupe. Rule numbers are the reference's.

Where the reference and Vane's contract differ, the contract wins: errors are
`{"error": "<reason_code>: <text>"}`, a bad write key is 401 `invalid_write_key`, an unsupported message type is
400 `invalid_type` (not 501), and event names are `segment::<event>`, `segment::page`, `segment::screen`.
Not tested (not part of Vane's contract): the `/v1/b`-style aliases (rule 3), 429 rate limiting (13), the
age/future clamp of rule 20.
"""
import gzip
import json
import time
import uuid

import pytest

from _segment_support import (DEFAULT_FILTERS, SHARED_SECRET, batch, check_gate, compact, dest, engage_identify,
                              engage_track, ensure_shared_secret, err, explorer, iso, list_entries, now_ms, ok,
                              put_inbound, put_inbound_ok, seg_events, setup_audience, track_api, uniq, usage,
                              usage_delta, wait_gate)
from _support import id_list_entry


@pytest.fixture(scope="module")
def v(vane):
    ensure_shared_secret(vane, SHARED_SECRET)
    return vane


@pytest.fixture(autouse=True)
def health_stays_200(vane):
    yield
    r = vane.health()
    assert r.status_code == 200, "/health -> %d after the test: %s" % (r.status_code, r.text[:300])


def T(event, user="rules-user", **kw):
    m = {"type": "track", "event": event, "userId": user}
    m.update(kw)
    return m


def nothing_stored(v, *, event=None, user=None):
    if event is not None:
        assert seg_events(v, event) == [], "events named %s were stored" % event
    if user is not None:
        assert explorer(v, userID=user) == [], "events of user %s were stored" % user


# ================================================================ §8 A. Segment-compatible endpoint

def test_rule01_single_message_paths_set_the_type(v):
    ev = uniq("r01")
    uid = uniq("r01u")
    before = usage(v)
    for path, body in [("track", {"userId": uid, "event": ev}),
                       ("page", {"userId": uid, "name": ev + "_page"}),
                       ("screen", {"userId": uid, "name": ev + "_screen"}),
                       ("identify", {"userId": uid, "traits": {"a": 1}}),
                       ("group", {"userId": uid, "groupId": "g"}),
                       ("alias", {"userId": uid, "previousId": "p"})]:
        b = ok(track_api(v, path, body))
        if path in ("track", "page", "screen"):
            assert b["stored"] == 1 and b["ignored"] == 0, (path, b)
        else:
            assert b["stored"] == 0 and b["ignored"] == 1, (path, b)
    evs = explorer(v, userID=uid, source="segment")
    assert sorted(e["eventName"] for e in evs) == sorted(["segment::" + ev, "segment::page", "segment::screen"])
    # The message as received has no type: the path supplied it.
    for e in evs:
        assert "type" not in e["raw"], e["raw"]
    d = usage_delta(before, usage(v))
    assert d == {"ingested": 3, "ignored.identify": 1, "ignored.group": 1, "ignored.alias": 1}, d


@pytest.mark.parametrize("path", ["batch", "import"])
def test_rule02_batch_and_import(v, path):
    ev = uniq("r02")
    b = ok(track_api(v, path, {"batch": [T(ev), {"event": ev, "userId": "x"}, T(ev, type="page", name=ev),
                                         {"type": "nope", "userId": "x"}, T(ev, user="r02-b")],
                               "sentAt": iso(now_ms())}))
    assert b["stored"] == 3, b
    assert b["skipped"] == [{"index": 1, "reason": "invalid_type"}, {"index": 3, "reason": "invalid_type"}], b
    assert len(seg_events(v, ev)) == 2
    err(track_api(v, path, {"batch": []}), 400, "empty_batch")
    err(track_api(v, path, {"batch": [], "sentAt": iso(now_ms())}, gz=True), 400, "empty_batch")
    for bad in ({"batch": {}}, {"batch": "x"}, {"batch": None}, {"sentAt": iso(now_ms())}, {"batch": 5}):
        err(track_api(v, path, bad), 400)


def test_rule02_top_level_context_and_integrations_merge_item_wins(v):
    ev = uniq("r02m")
    items = [T(ev, user="m1", context={"locale": "fr-FR", "page": {"path": "/x"}}, integrations={"Statsig": False}),
             T(ev, user="m2")]
    ok(batch(v, items, top={"context": {"ip": "192.0.2.1", "locale": "de-DE", "app": {"name": "A"}},
                            "integrations": {"All": False, "Statsig": True}, "sentAt": iso(now_ms())}))
    got = {e["userID"]: e for e in seg_events(v, ev)}
    assert got["m1"]["raw"]["context"] == {"ip": "192.0.2.1", "locale": "fr-FR", "app": {"name": "A"},
                                           "page": {"path": "/x"}}, got["m1"]["raw"]
    assert got["m1"]["raw"]["integrations"] == {"All": False, "Statsig": False}, got["m1"]["raw"]
    assert got["m2"]["raw"]["context"] == {"ip": "192.0.2.1", "locale": "de-DE", "app": {"name": "A"}}
    assert got["m2"]["raw"]["integrations"] == {"All": False, "Statsig": True}
    assert got["m1"]["user"]["ip"] == "192.0.2.1" and got["m1"]["user"]["locale"] == "fr-FR"
    assert got["m2"]["user"]["locale"] == "de-DE"


def test_rule03_content_types(v):
    ev = uniq("r03")
    body = compact({"batch": [T(ev)]})
    for ct in ("application/json", "application/json; charset=utf-8", "text/plain", "text/plain;charset=UTF-8",
               None):
        b = ok(track_api(v, "batch", raw=body, content_type=ct))
        assert b["stored"] == 1, (ct, b)
    ok(track_api(v, "track", raw=compact(T(ev)), content_type="text/plain"))
    assert len(seg_events(v, ev)) == 6
    # Bodies that are not JSON are rejected whatever the declared type.
    for ct, raw in (("application/x-www-form-urlencoded", "batch=1&sentAt=2"), ("application/xml", "<batch/>"),
                    ("multipart/form-data; boundary=x", "--x\r\n\r\n--x--"), ("text/plain", "track it")):
        err(track_api(v, "batch", raw=raw, content_type=ct), 400, "bad_request")
        err(track_api(v, "track", raw=raw, content_type=ct), 400, "bad_request")


def test_rule04_write_key_auth(v):
    ev = uniq("r04")
    good = v.segment_write_key
    accepted = {
        "Basic key:": track_api(v, "batch", {"batch": [T(ev)]}, auth="basic"),
        "Basic key (no colon)": track_api(v, "batch", {"batch": [T(ev)]}, auth="basic_nocolon"),
        "body writeKey": track_api(v, "batch", {"batch": [T(ev)]}, auth="body"),
        "Basic + body (analytics-python)": track_api(v, "batch", {"batch": [T(ev)]}, auth="both"),
        "header wins over a wrong body key": track_api(v, "batch", {"batch": [T(ev)], "writeKey": "wk_wrong"}),
        "single with Basic": track_api(v, "track", T(ev)),
        "single with body writeKey": track_api(v, "track", T(ev), auth="body"),
    }
    problems = ["%s -> %d %s" % (k, r.status_code, r.text[:200]) for k, r in accepted.items() if r.status_code != 200]
    assert not problems, "\n".join(problems)
    assert len(seg_events(v, ev)) == len(accepted)

    bad = uniq("r04bad")
    rejected = {
        "no key": track_api(v, "batch", {"batch": [T(bad)]}, auth="none"),
        "wrong Basic key": track_api(v, "batch", {"batch": [T(bad)]}, key="wk_wrong"),
        "wrong body key": track_api(v, "batch", {"batch": [T(bad)]}, auth="body", key="wk_wrong"),
        "Basic wrong, body right (header wins)": track_api(
            v, "batch", {"batch": [T(bad)], "writeKey": good}, key="wk_wrong"),
        "server secret as write key": track_api(v, "batch", {"batch": [T(bad)]}, key=v.server_secret),
        "client key as write key": track_api(v, "batch", {"batch": [T(bad)]}, key=v.client_key),
        "console key as write key": track_api(v, "batch", {"batch": [T(bad)]}, key=v.console_key),
        "server secret in STATSIG-API-KEY": track_api(v, "batch", {"batch": [T(bad)]}, auth="none",
                                                     headers={"STATSIG-API-KEY": v.server_secret}),
        "empty body key": track_api(v, "batch", {"batch": [T(bad)], "writeKey": ""}, auth="none"),
        "null body key": track_api(v, "batch", {"batch": [T(bad)], "writeKey": None}, auth="none"),
        "numeric body key": track_api(v, "batch", {"batch": [T(bad)], "writeKey": 12345}, auth="none"),
        "key with different case": track_api(v, "batch", {"batch": [T(bad)]}, key=good.upper()),
        "Bearer key": track_api(v, "batch", {"batch": [T(bad)]}, auth="none",
                                headers={"Authorization": "Bearer " + good}),
        "single, no key": track_api(v, "track", T(bad), auth="none"),
        "single, wrong key": track_api(v, "track", T(bad), key="wk_wrong"),
    }
    problems = []
    for k, r in rejected.items():
        if r.status_code != 401:
            problems.append("%s -> %d %s" % (k, r.status_code, r.text[:200]))
        elif not r.json().get("error", "").startswith("invalid_write_key:"):
            problems.append("%s: error should start with invalid_write_key: %s" % (k, r.text[:200]))
    assert not problems, "\n".join(problems)
    nothing_stored(v, event=bad)


def test_rule05_gzip_inflated_limits(v):
    ev = uniq("r05")
    b = ok(track_api(v, "batch", {"batch": [T(ev), T(ev)], "sentAt": iso(now_ms())}, gz=True))
    assert b["stored"] == 2
    assert ok(track_api(v, "track", T(ev), gz=True))["stored"] == 1
    assert len(seg_events(v, ev)) == 3
    # Limits apply after inflating: a gzip body that is small on the wire but inflates past 500 KB.
    big = uniq("r05big")
    items = [T(big, properties={"pad": "a" * 30000}) for _ in range(18)]  # ~540 KB inflated, ~2 KB gzipped
    raw = compact({"batch": items}).encode()
    assert len(raw) > 512000 and len(gzip.compress(raw)) < 32768
    e = err(track_api(v, "batch", raw=raw, gz=True), 400, "payload_too_large")
    assert "512000" in e or "500 KB" in e, e
    single = compact(T(big, properties={"pad": "b" * 40000})).encode()
    err(track_api(v, "track", raw=single, gz=True), 400, "payload_too_large")
    # A gzip bomb (20 MB of zeros) is refused without being inflated in full.
    bomb = gzip.compress(b'{"batch":[' + b" " * 20_000_000 + b"]}")
    err(track_api(v, "batch", raw=bomb, headers={"Content-Encoding": "gzip"}), 400, "payload_too_large")
    # Not gzip at all, but labelled so.
    r = track_api(v, "batch", raw=compact({"batch": [T(big)]}), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 400, r.text[:300]
    nothing_stored(v, event=big)


@pytest.mark.parametrize("path", ["batch", "track"])
def test_rule06_invalid_json_is_400_bad_request(v, path):
    ev = uniq("r06")
    cases = [b"", b"{", b'{"batch": [', b"{'batch': []}", b'{"batch": [1,]}', b"null", b"[]", b'"text"', b"42",
             b'{"batch": []} trailing', b"\xef\xbb\xbf", b'{"userId": "u", "event": "' + ev.encode() + b'",}',
             b'{"batch":[{"type":"track","userId":"u","event":"x\xff\xfe"}]}',  # invalid UTF-8
             b'{"userId":"u","event":"x\xc3"}', b"NaN", b'{"a": NaN}']
    problems = []
    for raw in cases:
        r = track_api(v, path, raw=raw)
        if r.status_code != 400:
            problems.append("%r -> %d %s" % (raw[:60], r.status_code, r.text[:200]))
        elif not r.json().get("error", "").startswith("bad_request:"):
            problems.append("%r: error should start with bad_request: %s" % (raw[:60], r.text[:200]))
    assert not problems, "\n".join(problems)
    nothing_stored(v, event=ev)


def test_rule06_destination_invalid_json_is_400(v):
    for raw in (b"", b"{", b"[{]", b"nope", b"42", b'"s"', b"[]"):
        r = dest(v, raw=raw)
        assert r.status_code == 400, (raw, r.status_code, r.text[:200])
        assert isinstance(r.json().get("error"), str), r.text


def _sized(event, size, user="size-user"):
    """A compact single message of exactly `size` bytes."""
    m = T(event, user=user, properties={"pad": ""})
    m["properties"]["pad"] = "p" * (size - len(compact(m)))
    raw = compact(m)
    assert len(raw.encode()) == size
    return raw


def _sized_batch(event, size, n=20):
    """A compact {"batch": [...]} of exactly `size` bytes: n track items padded evenly (each < 32 KB)."""
    items = [T(event, user="sb-%d" % i, properties={"pad": ""}) for i in range(n)]
    body = {"batch": items}
    missing = size - len(compact(body))
    for i, item in enumerate(items):
        item["properties"]["pad"] = "q" * (missing // n + (1 if i < missing % n else 0))
    raw = compact(body)
    assert len(raw.encode()) == size
    assert max(len(compact(i)) for i in items) <= 32768
    return raw


def test_rule07_single_message_32kb(v):
    ok_ev, big_ev = uniq("r07s_ok"), uniq("r07s_big")
    assert ok(track_api(v, "track", raw=_sized(ok_ev, 32768)))["stored"] == 1
    e = err(track_api(v, "track", raw=_sized(big_ev, 32769)), 400, "payload_too_large")
    assert "32" in e, e
    err(track_api(v, "track", raw=_sized(big_ev, 100000)), 400, "payload_too_large")
    assert len(seg_events(v, ok_ev)) == 1
    nothing_stored(v, event=big_ev)


def test_rule07_batch_512000_bytes_accepted_512001_rejected(v):
    ok_ev, big_ev = uniq("r07b_ok"), uniq("r07b_big")
    b = ok(track_api(v, "batch", raw=_sized_batch(ok_ev, 512000)))
    assert b["stored"] == 20 and b["skipped"] == [], b
    e = err(track_api(v, "batch", raw=_sized_batch(big_ev, 512001)), 400, "payload_too_large")
    assert "512000" in e or "500 KB" in e, "the error should name the limit: %r" % e
    # The same limits after gzip.
    gz_ok = uniq("r07b_gzok")
    assert ok(track_api(v, "batch", raw=_sized_batch(gz_ok, 512000), gz=True))["stored"] == 20
    err(track_api(v, "batch", raw=_sized_batch(big_ev, 512001), gz=True), 400, "payload_too_large")
    assert len(seg_events(v, ok_ev)) == 20 and len(seg_events(v, gz_ok)) == 20
    nothing_stored(v, event=big_ev)


def test_rule07_batch_2500_messages(v):
    ok_ev, big_ev = uniq("r07n_ok"), uniq("r07n_big")
    b = ok(batch(v, [T(ok_ev, user="n%d" % i) for i in range(2500)]))
    assert b["stored"] == 2500, {k: b[k] for k in ("stored", "duplicates", "filtered")}
    e = err(batch(v, [T(big_ev, user="n%d" % i) for i in range(2501)]), 400)
    assert "2500" in e or "2,500" in e, "the error should name the limit: %r" % e
    assert e.split(":")[0] in ("batch_too_large", "payload_too_large", "too_many_messages"), e
    assert len(seg_events(v, ok_ev)) == 2500
    nothing_stored(v, event=big_ev)


def test_rule07_batch_item_over_32kb_is_skipped(v):
    ev = uniq("r07i")
    before = usage(v)
    huge = T(ev, user="huge", properties={"pad": "z" * 33000})
    edge = json.loads(_sized(ev, 32768, user="edge"))
    b = ok(batch(v, [T(ev, user="a"), huge, edge, T(ev, user="b")]))
    assert b["stored"] == 3 and b["skipped"] == [{"index": 1, "reason": "message_too_large"}], b
    assert sorted(e["userID"] for e in seg_events(v, ev)) == ["a", "b", "edge"]
    d = usage_delta(before, usage(v))
    assert d.get("invalid.message_too_large") == 1 and d.get("ingested") == 3, d
    # On the destination endpoint a single oversize message is a 400, in an array it is skipped.
    err(dest(v, huge), 400, "message_too_large")
    b = ok(dest(v, [huge, T(ev, user="c")]))
    assert b["stored"] == 1 and b["skipped"] == [{"index": 0, "reason": "message_too_large"}], b


# ---------------------------------------------------------------- rule 8: the bad-input table

def _table(bad_ev, ok_ev, bu):
    """(label, item, reason): reason None = stored (track/page/screen) or ignored (identify/group/alias);
    "*" = skipped with any reason."""
    long_id = "m" * 101
    return [
        ("no ids", {"type": "track", "event": bad_ev}, "no_user_anon_id"),
        ("empty ids", T(bad_ev, user="", anonymousId=""), "no_user_anon_id"),
        ("null ids", T(bad_ev, user=None, anonymousId=None), "no_user_anon_id"),
        ("page without ids", {"type": "page", "name": bad_ev}, "no_user_anon_id"),
        ("identify without ids", {"type": "identify", "traits": {"a": 1}}, "no_user_anon_id"),
        ("group without ids", {"type": "group", "groupId": "g"}, "no_user_anon_id"),
        ("object userId", T(bad_ev, user={"id": bu}), "id_not_string"),
        ("list userId", T(bad_ev, user=[bu]), "id_not_string"),
        ("boolean anonymousId", T(bad_ev, user=None, anonymousId=True), "id_not_string"),
        ("good userId, object anonymousId", T(bad_ev, user=bu, anonymousId={"x": 1}), "id_not_string"),
        ("no event", {"type": "track", "userId": bu}, "event_not_defined"),
        ("null event", T(None, user=bu), "event_not_defined"),
        ("numeric event", T(5, user=bu), "event_not_string"),
        ("empty event", T("", user=bu), "event_not_string"),
        ("blank event", T("   ", user=bu), "event_not_string"),
        ("object event", T({"name": bad_ev}, user=bu), "event_not_string"),
        ("string properties", T(bad_ev, user=bu, properties="x"), "properties_not_object"),
        ("list properties", T(bad_ev, user=bu, properties=[1, 2]), "properties_not_object"),
        ("page list properties", {"type": "page", "userId": bu, "properties": [1]}, "properties_not_object"),
        ("string traits", {"type": "identify", "userId": bu, "traits": "vip"}, "traits_not_object"),
        ("list traits", {"type": "identify", "userId": bu, "traits": [1]}, "traits_not_object"),
        ("numeric page name", {"type": "page", "userId": bu, "name": 5}, "name_not_string"),
        ("list screen name", {"type": "screen", "userId": bu, "name": ["n"]}, "name_not_string"),
        ("object category", {"type": "page", "userId": bu, "category": {}}, "category_not_string"),
        ("numeric category", {"type": "screen", "userId": bu, "name": "n", "category": 7}, "category_not_string"),
        ("messageId of 101 chars", T(bad_ev, user=bu, messageId=long_id), "message_id_invalid"),
        ("object messageId", T(bad_ev, user=bu, messageId={"id": 1}), "message_id_invalid"),
        ("alias without previousId", {"type": "alias", "userId": bu}, "alias_missing_ids"),
        ("alias without userId", {"type": "alias", "previousId": "old"}, "alias_missing_ids"),
        ("alias with empty previousId", {"type": "alias", "userId": bu, "previousId": ""}, "alias_missing_ids"),
        ("group without groupId", {"type": "group", "userId": bu}, "group_missing_group_id"),
        ("group with empty groupId", {"type": "group", "userId": bu, "groupId": ""}, "group_missing_group_id"),
        ("delete type", {"type": "delete", "userId": bu}, "invalid_type"),
        ("no type", {"userId": bu, "event": bad_ev}, "invalid_type"),
        ("null type", T(bad_ev, user=bu, type=None), "invalid_type"),
        ("numeric type", T(bad_ev, user=bu, type=5), "invalid_type"),
        ("empty type", T(bad_ev, user=bu, type=""), "invalid_type"),
        ("string item", "track", "*"),
        ("number item", 42, "*"),
        ("null item", None, "*"),
        ("list item", [T(bad_ev, user=bu)], "*"),
        ("string context", T(bad_ev, user=bu, context="ctx"), "*"),
        # Accepted: numbers are coerced, nulls are absent, 100-char messageIds are fine.
        ("numeric userId", T(ok_ev, user=4242), None),
        ("float userId", T(ok_ev, user=12.5), None),
        ("anonymousId only", T(ok_ev, user=None, anonymousId="anon-ok"), None),
        ("null userId, anonymousId set", T(ok_ev, user=None, anonymousId="anon-ok2"), None),
        ("null name and category", {"type": "page", "userId": "page-ok-" + ok_ev, "name": None, "category": None},
         None),
        ("messageId of 100 chars", T(ok_ev, user="len100", messageId=uuid.uuid4().hex + "m" * 68), None),
        ("null properties and context", T(ok_ev, user="nulls", properties=None, context=None,
                                           integrations=None, messageId=None, timestamp=None), None),
        ("identify with null traits", {"type": "identify", "userId": "idn", "traits": None}, None),
        ("group", {"type": "group", "userId": "grp", "groupId": "g1"}, None),
        ("alias", {"type": "alias", "userId": "new", "previousId": "old"}, None),
    ]


def test_rule08_bad_items_are_skipped_with_reason_and_counted(v):
    bad_ev, ok_ev, bu = uniq("r08bad"), uniq("r08ok"), uniq("r08u")
    table = _table(bad_ev, ok_ev, bu)
    before = usage(v)
    b = ok(batch(v, [item for _, item, _ in table], top={"sentAt": iso(now_ms())}))
    got = {s["index"]: s["reason"] for s in b["skipped"]}
    problems = []
    for i, (label, item, reason) in enumerate(table):
        if reason is None and i in got:
            problems.append("%s: should be accepted, was skipped as %s" % (label, got[i]))
        elif reason == "*" and i not in got:
            problems.append("%s: should be skipped" % label)
        elif reason not in (None, "*") and got.get(i) != reason:
            problems.append("%s: want skipped as %s, got %s" % (label, reason, got.get(i, "accepted")))
    assert not problems, "\n".join(problems)
    assert len(b["skipped"]) == len(got), "an index was skipped twice: %r" % b["skipped"]
    stored_want = sum(1 for _, item, r in table if r is None and item.get("type") in ("track", "page", "screen"))
    ignored_want = sum(1 for _, item, r in table if r is None and item.get("type") in ("identify", "group", "alias"))
    assert b["stored"] == stored_want and b["ignored"] == ignored_want, b
    # Nothing of the bad rows was stored; the good rows were, with coerced IDs.
    nothing_stored(v, event=bad_ev, user=bu)
    oks = seg_events(v, ok_ev)
    assert sorted(e["userID"] or "-" for e in oks) == sorted(["4242", "12.5", "-", "-", "len100", "nulls"]), \
        [e["userID"] for e in oks]
    assert len(explorer(v, userID="page-ok-" + ok_ev)) == 1
    # Usage: one invalid count per skipped item, by reason.
    d = usage_delta(before, usage(v))
    want = {}
    for _, _, reason in table:
        if reason not in (None, "*"):
            want["invalid." + reason] = want.get("invalid." + reason, 0) + 1
    for k, n in want.items():
        if d.get(k) != n:
            problems.append("usage %s: +%s, want +%d" % (k, d.get(k), n))
    n_any = sum(1 for _, _, r in table if r == "*")
    total_invalid = sum(n for k, n in d.items() if k.startswith("invalid."))
    if total_invalid != sum(want.values()) + n_any:
        problems.append("usage invalid total +%d, want +%d" % (total_invalid, sum(want.values()) + n_any))
    if d.get("ingested") != stored_want:
        problems.append("usage ingested +%s, want +%d" % (d.get("ingested"), stored_want))
    assert not problems, "\n".join(problems) + "\nusage delta: %r" % d


def test_rule08_single_bad_message_is_400_with_reason(v):
    bad_ev, ok_ev, bu = uniq("r08sbad"), uniq("r08sok"), uniq("r08su")
    before = usage(v)
    problems = []
    for label, item, reason in _table(bad_ev, ok_ev, bu):
        if reason is None:
            continue
        routes = [] if isinstance(item, list) else [("destination", lambda: dest(v, item))]
        if isinstance(item, dict) and item.get("type") in ("track", "page", "screen", "identify", "group", "alias"):
            routes.append(("/v1/" + item["type"], lambda: track_api(v, item["type"], item)))
        for route, send in routes:
            r = send()
            if r.status_code != 400:
                problems.append("%s via %s -> %d %s" % (label, route, r.status_code, r.text[:150]))
                continue
            e = r.json().get("error", "")
            if reason != "*" and not e.startswith(reason + ":"):
                problems.append("%s via %s: error should start with %s: %r" % (label, route, reason, e))
    assert not problems, "\n".join(problems)
    nothing_stored(v, event=bad_ev, user=bu)
    d = usage_delta(before, usage(v))
    assert d.get("ingested", 0) == 0, d


def test_rule08_nulls_where_strings_expected(v):
    ev = uniq("r08n")
    b = ok(batch(v, [T(ev, user=None, anonymousId="n-anon", name=None, category=None, messageId=None,
                       timestamp=None, sentAt=None, originalTimestamp=None, receivedAt=None, context=None,
                       properties=None, integrations=None, version=None, channel=None),
                     {"type": "page", "userId": "n-page-" + ev, "name": None, "category": None,
                      "properties": None, "anonymousId": None}],
                 top={"sentAt": None, "context": None, "integrations": None}))
    assert b["stored"] == 2 and b["skipped"] == [], b
    (e,) = seg_events(v, ev)
    assert e["user"]["customIDs"] == {"segmentAnonymousId": "n-anon"} and e["metadata"] == {}, e
    assert abs(e["time"] - e["receivedAt"]) < 1000
    (p,) = explorer(v, userID="n-page-" + ev)
    assert p["eventName"] == "segment::page" and p["metadata"] == {}, p


# ---------------------------------------------------------------- rules 9 - 14

def test_rule09_message_id(v):
    ev = uniq("r09")
    m = T(ev)
    b = ok(batch(v, [m, m]))  # no messageId: the server assigns one to each, so no dedupe
    assert b["stored"] == 2 and b["duplicates"] == 0, b
    assert ok(track_api(v, "track", m))["stored"] == 1
    assert ok(track_api(v, "track", m))["stored"] == 1
    m100 = T(ev, user="m100", messageId="x" * 100)
    assert ok(track_api(v, "track", m100))["stored"] == 1
    assert ok(track_api(v, "track", m100))["duplicates"] == 1
    err(track_api(v, "track", T(ev, messageId="x" * 101)), 400, "message_id_invalid")
    assert len(seg_events(v, ev)) == 5


def test_rule10_dedupe_by_message_id(v):
    ev = uniq("r10")
    mid = "r10-" + str(uuid.uuid4())
    before = usage(v)
    b = ok(batch(v, [T(ev, messageId=mid), T(ev, messageId=mid, properties={"second": True})]))
    assert b["stored"] == 1 and b["duplicates"] == 1, b
    assert ok(track_api(v, "track", T(ev, messageId=mid)))["duplicates"] == 1
    assert ok(track_api(v, "import", {"batch": [T(ev, messageId=mid)]}))["duplicates"] == 1
    assert ok(track_api(v, "page", {"userId": "x", "name": ev, "messageId": mid}))["duplicates"] == 1
    # The scope is the project: Segment's delivery of the same message is the same message.
    assert ok(dest(v, T(ev, messageId=mid)))["duplicates"] == 1
    assert ok(dest(v, [T(ev, messageId=mid)], auth="sig"))["duplicates"] == 1
    (e,) = seg_events(v, ev)
    assert e["raw"]["messageId"] == mid and "second" not in e["metadata"], "the first copy is kept: %r" % e
    # A different messageId with identical content is a different message.
    assert ok(track_api(v, "track", T(ev, messageId=mid + "-2")))["stored"] == 1
    d = usage_delta(before, usage(v))
    assert d.get("ingested") == 2 and d.get("duplicates") == 6, d
    # The window is configurable within limits.
    for bad in (0, -1, 366, "7", 1.5):
        r = put_inbound(v, {"dedupeWindowDays": bad})
        assert r.status_code == 400, (bad, r.status_code, r.text[:200])
    put_inbound_ok(v, {"dedupeWindowDays": 30})
    try:
        assert ok(track_api(v, "track", T(ev, messageId=mid)))["duplicates"] == 1
    finally:
        put_inbound_ok(v, {"dedupeWindowDays": 7})
    settings = v.console_ok("GET", "/integrations/segment/inbound")
    assert settings["dedupeWindowDays"] == 7


def test_rule11_clock_skew_correction(v):
    ev = uniq("r11")
    H = 3600000
    t = now_ms()
    cases = {
        # device clock 1 h ahead: sentAt = T+1h, timestamp = T+1h-5s -> receivedAt - 5 s
        "ahead, batch sentAt": ("batch", T(ev, user="ahead", timestamp=iso(t + H - 5000)), {"sentAt": iso(t + H)},
                                -5000),
        "ahead, +00:00 and 6 digits": ("batch", T(ev, user="ahead6", timestamp=iso(t + H - 5000, suffix="+00:00")),
                                       {"sentAt": iso(t + H, digits=6, suffix="+00:00")}, -5000),
        "behind by 1 h": ("batch", T(ev, user="behind", timestamp=iso(t - H - 10000)), {"sentAt": iso(t - H)},
                          -10000),
        "per-message sentAt beats the batch's": ("batch", T(ev, user="permsg", timestamp=iso(t + H - 7000),
                                                            sentAt=iso(t + H)), {"sentAt": iso(t - 86400000)}, -7000),
        "single message with sentAt": ("track", T(ev, user="single", timestamp=iso(t + 2 * H - 3000),
                                                  sentAt=iso(t + 2 * H)), None, -3000),
        "unparseable sentAt: timestamp stands": ("batch", T(ev, user="badsent", timestamp=iso(t - 2 * H)),
                                                 {"sentAt": "soon"}, None),
    }
    for name, (path, m, top, _) in cases.items():
        body = {"batch": [m]} if path == "batch" else m
        if top:
            body.update(top)
        ok(track_api(v, path, body))
    got = {e["userID"]: e for e in seg_events(v, ev)}
    problems = []
    for name, (path, m, top, delta) in cases.items():
        e = got[m["userId"]]
        want = e["receivedAt"] + delta if delta is not None else t - 2 * H
        if e["time"] != want:
            problems.append("%s: time = receivedAt %+d ms, want receivedAt %+d ms" % (
                name, e["time"] - e["receivedAt"], want - e["receivedAt"]))
        if abs(e["receivedAt"] - now_ms()) > 60000:
            problems.append("%s: receivedAt is not the server clock" % name)
    assert not problems, "\n".join(problems)


def test_rule11_fallbacks_and_segment_received_at(v):
    ev = uniq("r11f")
    t = now_ms()
    ok(batch(v, [T(ev, user="no-sentAt", timestamp=iso(t - 86400000)),
                 T(ev, user="no-time"),
                 # Replay: a message that went through Segment keeps its timestamp.
                 T(ev, user="replayed", timestamp=iso(t - 3 * 86400000), receivedAt=iso(t - 3 * 86400000 + 500),
                   sentAt=iso(t - 3 * 86400000 + 400))],
                top={"sentAt": iso(t + 3600000)}))
    got = {e["userID"]: e for e in seg_events(v, ev)}
    # Without a per-message sentAt the batch's applies (1 h ahead): receivedAt - (T+1h - (T-1d)).
    assert got["no-sentAt"]["time"] == got["no-sentAt"]["receivedAt"] - (3600000 + 86400000), got["no-sentAt"]
    assert got["no-time"]["time"] == got["no-time"]["receivedAt"]
    assert got["replayed"]["time"] == t - 3 * 86400000, got["replayed"]
    ok(track_api(v, "track", T(ev, user="single-no-sentAt", timestamp=iso(t - 7200000))))
    (e,) = [x for x in seg_events(v, ev) if x["userID"] == "single-no-sentAt"]
    assert e["time"] == t - 7200000, "without sentAt the client time stands"


def test_rule12_timestamp_formats(v):
    ev = uniq("r12")
    s = (now_ms() - 7200000) // 1000 * 1000
    base = iso(s, digits=0, suffix="")
    import datetime
    plus2 = datetime.datetime.fromtimestamp(s / 1000 + 7200, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    minus530 = datetime.datetime.fromtimestamp(s / 1000 - 19800, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S")
    cases = {
        "Z, no fraction": (base + "Z", s),
        "Z, 3 digits": (base + ".123Z", s + 123),
        "Z, 6 digits": (base + ".123456Z", s + 123),
        "Z, 9 digits": (base + ".123456789Z", s + 123),
        "+00:00, 3 digits": (base + ".123+00:00", s + 123),
        "+00:00, 6 digits": (base + ".987654+00:00", s + 987),
        "+00:00, no fraction": (base + "+00:00", s),
        "+02:00": (plus2 + ".250+02:00", s + 250),
        "-05:30": (minus530 + "-05:30", s),
        "-05:30, 6 digits": (minus530 + ".000001-05:30", s),
    }
    absent = {"words": "yesterday", "bad month": base.replace(base[5:7], "13") + "Z", "empty": "",
              "epoch number": s, "date and garbage": base + "Zjunk", "object": {"t": s}, "bool": True,
              "bad day": base[:8] + "45" + base[10:] + "Z", "hour 25": base[:11] + "25" + base[13:] + "Z"}
    items = [T(ev, user="ok:" + k, timestamp=ts) for k, (ts, _) in cases.items()]
    items += [T(ev, user="absent:" + k, timestamp=ts) for k, ts in absent.items()]
    b = ok(batch(v, items))
    assert b["stored"] == len(items) and b["skipped"] == [], "an unparseable timestamp counts as absent: %r" % b
    got = {e["userID"]: e for e in seg_events(v, ev)}
    problems = []
    for k, (ts, want) in cases.items():
        e = got["ok:" + k]
        if e["time"] != want:
            problems.append("%s (%s): time %d, want %d (off by %d ms)" % (k, ts, e["time"], want, e["time"] - want))
    for k, ts in absent.items():
        e = got["absent:" + k]
        if abs(e["time"] - e["receivedAt"]) > 1000:
            problems.append("%s (%r): should count as absent (time = receivedAt), time - receivedAt = %d" % (
                k, ts, e["time"] - e["receivedAt"]))
    assert not problems, "\n".join(problems)


def test_rule13_acknowledged_means_stored_and_failures_store_nothing(v):
    ev = uniq("r13")
    b = ok(batch(v, [T(ev, user="d%d" % i) for i in range(50)]))
    assert b["stored"] == 50
    assert len(seg_events(v, ev)) == 50, "a 200 must mean the events are stored (visible at once)"
    # Rejected requests store nothing, not even their good items.
    bad = uniq("r13bad")
    u1, u2 = uniq("r13u"), uniq("r13u")
    missing_list = uniq("r13_nolist")
    rejected = {
        "single Audience Entered for an unknown list": track_api(
            v, "track", engage_track(u1, missing_list, True, now_ms())),
        "destination, unknown list": dest(v, engage_track(u2, missing_list, True, now_ms())),
        "2501 messages": batch(v, [T(bad)] * 2501),
        "512001 bytes": track_api(v, "batch", raw=_sized_batch(bad, 512001)),
        "wrong write key": batch(v, [T(bad)], key="wk_wrong"),
        "wrong signature": dest(v, [T(bad)], auth="sig", secret="whsec_wrong"),
        "truncated JSON": track_api(v, "batch", raw=compact({"batch": [T(bad)]})[:-1]),
    }
    for name, r in rejected.items():
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:200])
    nothing_stored(v, event=bad, user=u1)
    nothing_stored(v, user=u2)


def test_rule14_unknown_fields_are_kept(v):
    ev = uniq("r14")
    m = T(ev, messageId=str(uuid.uuid4()), timestamp=iso(now_ms()), version="1.1", channel="server",
          projectId="proj_1", _metadata={"bundled": ["Statsig"], "unbundled": []}, futureField={"a": [1, None]},
          context={"library": {"name": "x", "version": "1"}, "consent": {"categoryPreferences": {"ads": False}},
                   "userAgentData": {"brands": [{"brand": "X", "version": "1"}]}, "weird_key": [1, 2, 3]},
          properties={"nested": {"deep": {"deeper": [1, {"x": None}]}}, "flag": False, "n": 1.5e-7})
    ok(track_api(v, "track", m))
    ok(batch(v, [dict(m, messageId=m["messageId"] + "-b", userId="batched")]))
    got = {e["userID"]: e for e in seg_events(v, ev)}
    assert got["rules-user"]["raw"] == m, "the message must be kept as received:\n%s\n%s" % (
        json.dumps(got["rules-user"]["raw"], sort_keys=True), json.dumps(m, sort_keys=True))
    assert got["batched"]["raw"] == dict(m, messageId=m["messageId"] + "-b", userId="batched")
    assert got["rules-user"]["metadata"] == m["properties"]


# ================================================================ §8 B. Destination endpoint

def test_rule15_methods_and_array_bodies(v):
    ev = uniq("r15")
    for method in ("POST", "PUT", "PATCH"):
        assert ok(dest(v, T(ev, user=method), method=method))["stored"] == 1
        assert ok(dest(v, [T(ev, user=method + "-a"), T(ev, user=method + "-b")], method=method))["stored"] == 2
    assert len(seg_events(v, ev)) == 9
    err(dest(v, []), 400, "empty_batch")
    for raw in ("42", '"x"', "null", "true"):
        assert dest(v, raw=raw).status_code == 400


def test_rule16_auth_modes(v):
    ev = uniq("r16")
    vector = ('{"type":"track","event":"Signed Up","userId":"u1","properties":{"plan":"pro",'
              '"url":"https://x.io/a"}}')
    assert ok(dest(v, raw=vector, auth="sig", signature="b745265bf29cc08df448b230603f2dd45a144c2d"))["stored"] == 1
    for auth in ("header", "basic", "basic_nocolon", "sig"):
        assert ok(dest(v, T(ev, user=auth), auth=auth))["stored"] == 1
        assert ok(dest(v, [T(ev, user=auth + "-1"), T(ev, user=auth + "-2")], auth=auth))["stored"] == 2
    assert len(seg_events(v, ev)) == 12
    bad = uniq("r16bad")
    for r in (dest(v, T(bad), auth="none"), dest(v, T(bad), auth="header", secret="nope"),
              dest(v, T(bad), auth="sig", secret="whsec_other"), dest(v, T(bad), auth="basic", secret="nope"),
              dest(v, [T(bad), T(bad)], auth="sig", sign_bytes=compact([T(bad), T(bad)]))):
        err(r, 401)
    nothing_stored(v, event=bad)


def test_rule16_signature_with_non_ascii_and_slashes(v):
    """JSON.stringify keeps non-ASCII and `/` as they are: Vane must verify the raw bytes."""
    ev = uniq("r16u") + "_café_注文"
    m = T(ev, user="ünï", properties={"url": "https://example.com/a/b", "emoji": "🚀", "q": "\"quoted\""})
    raw = compact(m)
    assert "/" in raw and "🚀" in raw
    assert ok(dest(v, raw=raw, auth="sig"))["stored"] == 1
    parts = [compact(T(ev, user="ärr-1", properties={"path": "/x/y"})), compact(T(ev, user="ärr-2"))]
    assert ok(dest(v, raw="[" + ",".join(parts) + "]", auth="sig", sign_bytes=parts[0]))["stored"] == 2
    assert sorted(e["userID"] for e in seg_events(v, ev)) == ["ärr-1", "ärr-2", "ünï"]


def test_rule17_acknowledges_within_5s(v):
    ev = uniq("r17")
    msgs = [T(ev, user="ack-%d" % i, messageId=str(uuid.uuid4()), timestamp=iso(now_ms()),
              properties={"i": i, "text": "x" * 200}) for i in range(1000)]
    t0 = time.time()
    b = ok(dest(v, msgs, auth="sig"))
    elapsed = time.time() - t0
    assert b["stored"] == 1000
    assert elapsed < 5.0, "a 1000-message Actions batch took %.2f s to acknowledge (Segment times out at 5 s)" % elapsed


def test_rule18_status_codes(v):
    ev = uniq("r18")
    err(dest(v, T(None)), 400, "event_not_defined")
    err(dest(v, {"type": "delete", "userId": "u", "timestamp": iso(now_ms())}), 400, "invalid_type")
    # One status covers a whole array: 200 with the bad items listed.
    b = ok(dest(v, [T(ev), T(None), {"type": "delete", "userId": "u"}, T(ev, properties="x")]))
    assert b["stored"] == 1 and [s["reason"] for s in b["skipped"]] == [
        "event_not_defined", "invalid_type", "properties_not_object"], b


def test_rule19_same_message_id_changes_state_once(v):
    key, gate = setup_audience(v)
    uid = uniq("r19u")
    ev = uniq("r19")
    m = T(ev, user=uid, messageId=str(uuid.uuid4()), timestamp=iso(now_ms() - 5000), properties={"value": 1})
    for _ in range(3):
        ok(dest(v, m))
    assert len(seg_events(v, ev)) == 1
    enter = engage_identify(uid, key, True, now_ms() - 2000)
    leave = engage_identify(uid, key, False, now_ms() - 1000)
    assert [ok(dest(v, x))["audienceChanges"] for x in (enter, leave, enter, leave, enter)] == [1, 1, 0, 0, 0]
    assert check_gate(v, uid, gate) is False


def test_rule20_event_time_is_timestamp(v):
    ev = uniq("r20")
    t = now_ms()
    cases = {"1 minute": t - 60000, "3 days": t - 3 * 86400000 - 17, "6.9 days": t - int(6.9 * 86400000),
             "30 days": t - 30 * 86400000}
    for name, ts in cases.items():
        b = ok(dest(v, T(ev, user=name, timestamp=iso(ts), sentAt=iso(t + 3600000), receivedAt=iso(ts + 1000))))
        assert b["stored"] == 1, (name, b)
    got = {e["userID"]: e["time"] for e in seg_events(v, ev)}
    assert got == cases, "event time must be the message timestamp, never the arrival time"


def test_rule21_last_writer_wins(v):
    key, gate = setup_audience(v)
    uid = uniq("r21u")
    t = now_ms() - 3600000
    ok(dest(v, engage_track(uid, key, True, t)))
    assert wait_gate(v, uid, gate, True)
    assert ok(dest(v, engage_track(uid, key, False, t - 1)))["audienceChanges"] == 0
    assert check_gate(v, uid, gate) is True, "a stale Exit arriving after a newer Enter must leave the user in"
    assert list_entries(v, key) == {id_list_entry(uid)}


def test_rule22_engage_sync(v):
    key, gate = setup_audience(v)
    uid, uid2 = uniq("r22a"), uniq("r22b")
    t = now_ms() - 10000
    assert ok(dest(v, engage_identify(uid, key, True, t)))["audienceChanges"] == 1
    assert ok(dest(v, engage_track(uid2, key, True, t)))["audienceChanges"] == 1
    assert wait_gate(v, uid, gate, True) and wait_gate(v, uid2, gate, True)
    assert ok(dest(v, engage_track(uid, key, False, t + 1)))["audienceChanges"] == 1
    assert wait_gate(v, uid, gate, False) is False
    # A non-boolean value is not a membership event.
    assert ok(dest(v, engage_identify(uid2, key, "false", t + 2)))["audienceChanges"] == 0
    assert ok(dest(v, engage_identify(uid2, key, None, t + 2)))["audienceChanges"] == 0
    assert check_gate(v, uid2, gate) is True
    # An unknown list is a 400 naming it (visible, not retried).
    missing = uniq("r22_nolist")
    e = err(dest(v, engage_identify(uid, missing, True, t)), 400, "unknown_id_list")
    assert "no ID list '%s'" % missing in e, e


def test_rule23_identity(v, custom_id_types):
    ev = uniq("r23")
    ok(dest(v, [
        T(ev, user="id-u", anonymousId="id-anon"),
        T(ev, user="override", anonymousId="mapped",
          properties={"statsigCustomIDs": ["segmentAnonymousId", "explicit", "companyID", 77, "stableID"],
                      "statsigCustom": ["plan", "pro", "seats", 5, "flags", {"a": True}, "odd"]}),
        T(ev, user=None, anonymousId="anon-only"),
    ]))
    got = {(e["userID"] or e["user"]["customIDs"]["segmentAnonymousId"]): e["user"] for e in seg_events(v, ev)}
    assert got["id-u"]["userID"] == "id-u" and got["id-u"]["customIDs"] == {"segmentAnonymousId": "id-anon"}
    assert got["override"]["customIDs"] == {"segmentAnonymousId": "explicit", "companyID": "77"}, got["override"]
    assert got["override"]["custom"] == {"plan": "pro", "seats": 5, "flags": {"a": True}}, got["override"]
    assert "userID" not in got["anon-only"] or got["anon-only"]["userID"] is None
    # No statsigEnvironment: the default environment.
    assert all(e["environment"] == "production" and e["user"]["statsigEnvironment"] == {"tier": "production"}
               for e in seg_events(v, ev))


def test_rule24_naming_and_value(v):
    ev = uniq("r24")
    uid = uniq("r24u")
    ok(dest(v, [T(ev, user=uid, properties={"value": 2.5, "revenue": 10, "a": "b"}),
                T(ev, user=uid, properties={"revenue": 10}),
                T(ev, user=uid, properties={"revenue": "not-a-number-but-text"}),
                T(ev, user=uid, properties={"value": None, "revenue": None}),
                {"type": "page", "userId": uid, "name": "Docs", "properties": {"value": 1}},
                {"type": "screen", "userId": uid, "name": "Home", "category": "Main"}]))
    evs = explorer(v, userID=uid)
    names = sorted(e["eventName"] for e in evs)
    assert names == sorted(["segment::" + ev] * 4 + ["segment::page", "segment::screen"]), names
    values = sorted([repr(e["value"]) for e in evs if e["eventName"] == "segment::" + ev])
    assert values == sorted(["2.5", "10", "'not-a-number-but-text'", "None"]), values
    first = [e for e in evs if e["value"] == 2.5][0]
    assert first["metadata"] == {"value": 2.5, "revenue": 10, "a": "b"}


def test_rule25_identify_without_personas_group_alias_are_noops(v):
    uid = uniq("r25")
    for m in ({"type": "identify", "userId": uid, "traits": {"plan": "pro"}},
              {"type": "identify", "userId": uid, "traits": {"x": True},
               "context": {"personas": {"computation_class": "trait", "computation_key": "x"}}},
              {"type": "group", "userId": uid, "groupId": "g"},
              {"type": "alias", "userId": uid, "previousId": "p"}):
        b = ok(dest(v, m))
        assert b["stored"] == 0 and b["ignored"] == 1 and b["audienceChanges"] == 0, (m, b)
    assert explorer(v, userID=uid) == []


def test_rule26_tolerance(v):
    ev = uniq("R26 Mixed")
    odd = ev + " Café ☕ 注文 🚀"
    b = ok(dest(v, [
        T(ev, user=None, anonymousId="t-null-user", version=1),
        T(ev, user="t-null-anon", anonymousId=None, version="1.1", channel="browser"),
        T(ev, user="t-v2", version=2, projectId="p1", _metadata={"bundled": []}),
        {"type": "page", "userId": "t-page-" + ev, "name": None, "category": None},
        T(ev.upper(), user="t-upper"), T(ev.lower(), user="t-lower"),
        T(odd, user="ユーザー", properties={"städte": ["Zürich", "Kraków"], "emoji": "👍🏽"}),
    ], auth="sig"))
    assert b["stored"] == 7 and b["skipped"] == [], b
    assert len(seg_events(v, ev)) == 3
    assert [e["userID"] for e in seg_events(v, ev.upper())] == ["t-upper"]
    assert [e["userID"] for e in seg_events(v, ev.lower())] == ["t-lower"]
    (u,) = seg_events(v, odd)
    assert u["userID"] == "ユーザー" and u["metadata"] == {"städte": ["Zürich", "Kraków"], "emoji": "👍🏽"}, u
    # \\u escapes decode to the same text.
    esc = json.dumps(T(odd, user="ユーザー-esc"), ensure_ascii=True)
    assert "\\u" in esc
    ok(track_api(v, "track", raw=esc))
    assert sorted(e["userID"] for e in seg_events(v, odd)) == ["ユーザー", "ユーザー-esc"]


# ================================================================ filters, usage, explorer

@pytest.fixture
def restore_filters(v):
    yield
    put_inbound_ok(v, {"filters": DEFAULT_FILTERS})


def test_filters(v, restore_filters):
    p = uniq("flt")
    put_inbound_ok(v, {"filters": {"allowEvents": [p + "_ok*", p + " Exact"], "denyEvents": [p + "_ok_denied*"],
                                   "denyTypes": ["screen"]}})
    before = usage(v)
    items = [T(p + "_ok_1"), T(p + "_ok_denied_2"), T(p + " Exact"), T(p + " Exactly"), T("Other " + p),
             {"type": "page", "userId": "fp", "name": p + "_ok_page"}, {"type": "page", "userId": "fp", "name": "x"},
             {"type": "screen", "userId": "fp", "name": p + "_ok_screen"}]
    b = ok(batch(v, items))
    assert b["stored"] == 3 and b["filtered"] == 5 and b["skipped"] == [], b
    assert len(seg_events(v, p + "_ok_1")) == 1 and len(seg_events(v, p + " Exact")) == 1
    for name in (p + "_ok_denied_2", p + " Exactly", "Other " + p):
        assert seg_events(v, name) == [], name
    d = usage_delta(before, usage(v))
    assert d == {"ingested": 3, "filtered.event_denied": 1, "filtered.event_not_allowed": 3,
                 "filtered.type_denied": 1}, d
    # Single messages and the destination: a filtered message is acknowledged, not an error.
    b = ok(track_api(v, "track", T(p + " Exactly")))
    assert b["stored"] == 0 and b["filtered"] == 1, b
    assert ok(dest(v, T(p + "_ok_denied_x")))["filtered"] == 1
    # allowTypes
    put_inbound_ok(v, {"filters": {"allowTypes": ["track"]}})
    b = ok(batch(v, [T(p + "_t"), {"type": "page", "userId": "fp", "name": p}]))
    assert b["stored"] == 1 and b["filtered"] == 1, b
    # Bad filter settings are rejected.
    for bad in ({"allowTypes": ["delete"]}, {"denyTypes": ["Track"]}, {"allowEvents": "x"}):
        r = put_inbound(v, {"filters": bad})
        assert r.status_code == 400, (bad, r.status_code, r.text[:200])


def test_usage_shape_and_counters(v):
    ev = uniq("usage")
    key, _ = setup_audience(v)
    uid = uniq("usage_u")
    before = usage(v)
    mid = str(uuid.uuid4())
    b = ok(batch(v, [T(ev, messageId=mid), T(ev, messageId=mid), T(None), T(ev, properties=[]),
                     {"type": "identify", "userId": "x"}, {"type": "group", "userId": "x", "groupId": "g"},
                     engage_identify(uid, key, True, now_ms() - 1000),
                     engage_identify(uid, key, True, now_ms() - 500),
                     engage_identify(uid, key, False, now_ms() - 100000)]))
    assert b["stored"] == 1 and b["duplicates"] == 1 and b["ignored"] == 2, b
    d = usage_delta(before, usage(v))
    assert d == {"ingested": 1, "duplicates": 1, "invalid.event_not_defined": 1, "invalid.properties_not_object": 1,
                 "ignored.identify": 1, "ignored.group": 1, "audience.added": 1, "audience.unchanged": 1,
                 "audience.stale": 1}, d
    r = v.console("GET", "/integrations/segment/inbound/usage")
    day = r.json()["data"][0]
    assert day["day"] == time.strftime("%Y-%m-%d", time.gmtime()), day
    assert r.json()["data"] == sorted(r.json()["data"], key=lambda x: x["day"], reverse=True)
    assert v.console("GET", "/integrations/segment/inbound/usage", key=v.server_secret).status_code in (401, 403)


def test_explorer_query_plus_is_space(v):
    """Segment event names have spaces ("Order Completed"). URLSearchParams and form encoding (and the
    `requests` library) send a space in a query string as `+`: the explorer must decode it."""
    ev = uniq("Order Completed")
    ok(track_api(v, "track", T(ev)))
    r1 = v.session.get(v.base + "/console/v1/events?eventName=" + ("segment::" + ev).replace(" ", "%20"),
                       headers={"STATSIG-API-KEY": v.console_key}, timeout=30)
    r2 = v.session.get(v.base + "/console/v1/events?eventName=" + ("segment::" + ev).replace(" ", "+"),
                       headers={"STATSIG-API-KEY": v.console_key}, timeout=30)
    assert len(r1.json()["data"]) == 1, r1.text[:300]
    assert len(r2.json()["data"]) == 1, "eventName=segment::Order+Completed_... found %d events (want 1)" % len(
        r2.json()["data"])


def test_health_after_everything(v):
    for _ in range(3):
        assert v.health().status_code == 200
