"""ID lists: console management, the SDK's list protocol (/v1/get_id_lists + Range-aware list files),
ID-list segments, and membership changes reaching both Vane's own evaluation and a running SDK."""
import json
import time

import pytest

from _support import id_list_entry, to_sdk_user
from conftest import make_sdk

LIST = "idl_beta"
COMPANY_LIST = "idl_companies"
MEMBERS = ["beta-a", "beta-b", "beta-c", "4711"]
OUTSIDERS = ["beta-x", "gamma", "BETA-A", "beta-a ", "4712"]
COMPANY_MEMBERS = ["acme-idl", "globex-idl"]


@pytest.fixture(scope="module")
def lists(vane, custom_id_types):
    v = vane
    created = v.console_ok("POST", "/id_lists", {"name": LIST})
    assert isinstance(created, dict) and created.get("name") == LIST, created
    v.console_ok("POST", "/id_lists/%s/ids" % LIST, {"add": MEMBERS})
    v.console_ok("POST", "/id_lists", {"name": COMPANY_LIST})
    v.console_ok("POST", "/id_lists/%s/ids" % COMPANY_LIST, {"add": COMPANY_MEMBERS})
    v.console_ok("POST", "/segments", {"name": "seg_idl_beta", "segmentType": "id_list", "idList": LIST})
    v.console_ok("POST", "/segments", {"name": "seg_idl_companies", "segmentType": "id_list",
                                       "idList": COMPANY_LIST, "idType": "companyID"})
    rule = lambda name, conds: {"name": name, "passPercentage": 100, "conditions": conds}  # noqa: E731
    v.console_ok("POST", "/gates", {"name": "idl_gate", "rules": [
        rule("beta segment", [{"type": "passes_segment", "targetValue": "seg_idl_beta"}])]})
    v.console_ok("POST", "/gates", {"name": "idl_not_gate", "rules": [
        rule("not beta", [{"type": "fails_segment", "targetValue": "seg_idl_beta"}])]})
    v.console_ok("POST", "/gates", {"name": "idl_direct", "rules": [
        rule("in list", [{"type": "unit_id", "operator": "in_segment_list", "targetValue": LIST}])]})
    v.console_ok("POST", "/gates", {"name": "idl_direct_not", "rules": [
        rule("not in list", [{"type": "unit_id", "operator": "not_in_segment_list", "targetValue": LIST}])]})
    v.console_ok("POST", "/gates", {"name": "idl_company_gate", "idType": "companyID", "rules": [
        rule("company segment", [{"type": "passes_segment", "targetValue": "seg_idl_companies"}])]})
    return v


GATES = ["idl_gate", "idl_not_gate", "idl_direct", "idl_direct_not"]


def _manifest(v):
    r = v.sdk_post("get_id_lists", {"statsigMetadata": {"sdkType": "py-server"}})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    return r.json()


def _fetch(v, url, start=None):
    headers = {}
    if start is not None:
        headers["Range"] = "bytes=%d-" % start
    r = v.session.get(url, headers=headers, timeout=30)
    return r


def _replay(text):
    """The set an SDK builds from a list file: +id adds, -id removes."""
    ids = set()
    for line in text.splitlines():
        if not line:
            continue
        assert line[0] in "+-" and len(line) == 9, "bad list line %r" % line
        (ids.add if line[0] == "+" else ids.discard)(line[1:])
    return ids


def _vane_gates(v, user_id, names=GATES):
    r = v.sdk_post("check_gate", {"user": {"userID": user_id}, "gateNames": names,
                                  "statsigMetadata": {"exposureLoggingDisabled": True}})
    assert r.status_code == 200, r.text[:300]
    return {n: r.json()[n]["value"] for n in names}


def _sdk_gates(sdk, user_id, names=GATES):
    u = to_sdk_user({"userID": user_id})
    return {n: sdk.get_feature_gate(u, n, log_exposure=False).value for n in names}


def _expected(member):
    return {"idl_gate": member, "idl_not_gate": not member, "idl_direct": member, "idl_direct_not": not member}


def test_manifest_and_list_file(lists):
    v = lists
    m = _manifest(v)
    assert LIST in m and COMPANY_LIST in m, "manifest lacks the lists: %s" % sorted(m)
    entry = m[LIST]
    for k in ("name", "size", "url", "creationTime", "fileID"):
        assert k in entry, "manifest entry lacks %r: %r" % (k, entry)
    assert entry["name"] == LIST
    assert entry["url"].startswith(v.base + "/"), "list URL should point at this server: %r" % entry["url"]
    r = _fetch(v, entry["url"])
    assert r.status_code == 200, (r.status_code, r.text[:200])
    assert r.headers.get("Content-Length") == str(len(r.content)), \
        "the SDK needs a correct Content-Length (got %r for %d bytes)" % (r.headers.get("Content-Length"), len(r.content))
    assert len(r.content) == entry["size"], "manifest size %d != file length %d" % (entry["size"], len(r.content))
    assert _replay(r.text) == {id_list_entry(i) for i in MEMBERS}
    assert r.text.startswith("+")

    # Range: the SDK asks for what it has not read yet.
    full = r.content
    for start in (0, 9, 10, 18, len(full) - 1):
        rr = _fetch(v, entry["url"], start)
        assert rr.status_code in (200, 206), (start, rr.status_code, rr.text[:200])
        if start > 0:
            assert rr.status_code == 206, "Range bytes=%d- should give 206, got %d" % (start, rr.status_code)
            cr = rr.headers.get("Content-Range", "")
            assert cr.startswith("bytes %d-%d/" % (start, len(full) - 1)), "Content-Range %r" % cr
        assert rr.content == full[start:], "Range bytes=%d- returned %r, want %r" % (start, rr.content, full[start:])
        assert rr.headers.get("Content-Length") == str(len(rr.content))
    # At the end: nothing more to read (any non-error answer with an empty body is fine).
    rr = _fetch(v, entry["url"], len(full))
    assert rr.status_code in (200, 206, 416) and (rr.status_code == 416 or rr.content == b""), \
        (rr.status_code, rr.content[:100])
    # Unknown file.
    rr = v.session.get(entry["url"].rsplit("/", 1)[0] + "/nonexistentfile", timeout=30)
    assert rr.status_code == 404, rr.status_code

    # Console view.
    info = v.console_ok("GET", "/id_lists/" + LIST)
    assert info.get("name") == LIST and info.get("count") == len(MEMBERS), info
    assert v.console("GET", "/id_lists/no_such_list").status_code == 404


def test_membership_sdk_and_vane(lists):
    v = lists
    sdk = make_sdk(v)
    try:
        assert sdk._spec_store.get_id_list(LIST) is not None, \
            "SDK did not load %s; manifest: %s; SDK lists: %s" % (
                LIST, json.dumps(_manifest(v))[:1500], sorted(getattr(sdk._spec_store, "_id_lists", {}) or {}))
        problems = []
        for uid, member in [(m, True) for m in MEMBERS] + [(o, False) for o in OUTSIDERS]:
            want = _expected(member)
            got_sdk, got_vane = _sdk_gates(sdk, uid), _vane_gates(v, uid)
            if got_sdk != want:
                problems.append("SDK %s: %r, want %r" % (uid, got_sdk, want))
            if got_vane != want:
                problems.append("Vane %s: %r, want %r" % (uid, got_vane, want))
        # Custom ID type list.
        for cid, member in [("acme-idl", True), ("globex-idl", True), ("acme", False)]:
            wire = {"userID": "someone", "customIDs": {"companyID": cid}}
            s = sdk.get_feature_gate(to_sdk_user(wire), "idl_company_gate", log_exposure=False).value
            r = v.sdk_post("check_gate", {"user": wire, "gateName": "idl_company_gate",
                                          "statsigMetadata": {"exposureLoggingDisabled": True}})
            vv = r.json().get("value")
            if s != member or vv != member:
                problems.append("companyID %s: SDK %r Vane %r want %r" % (cid, s, vv, member))
        assert not problems, "\n".join(problems)
    finally:
        sdk.shutdown()


def _wait(pred, timeout=20.0, interval=0.25):
    deadline = time.time() + timeout
    while True:
        last = pred()
        if last:
            return True
        if time.time() > deadline:
            return False
        time.sleep(interval)


def test_changes_reach_vane_and_running_sdk(lists):
    v = lists
    before = _manifest(v)[LIST]
    running = make_sdk(v, idlists_sync_interval=1)
    try:
        assert _sdk_gates(running, "beta-a")["idl_gate"] is True
        # Round 1: remove beta-a, add beta-d.
        data = v.console_ok("POST", "/id_lists/%s/ids" % LIST, {"add": ["beta-d"], "remove": ["beta-a"]})
        assert isinstance(data, dict), data
        after = _manifest(v)[LIST]
        assert after["size"] > before["size"] or after["fileID"] != before["fileID"], \
            "the manifest must show the change (bigger size or a new fileID): %r -> %r" % (before, after)
        text = _fetch(v, after["url"]).text
        want_ids = {id_list_entry(i) for i in ["beta-b", "beta-c", "4711", "beta-d"]}
        assert _replay(text) == want_ids, "replaying the list file gives the wrong set"
        if after["fileID"] == before["fileID"]:
            # Appended: the tail from the old size on is exactly the change.
            tail = _fetch(v, after["url"], before["size"]).text
            assert _replay_ops(tail) == [("-", id_list_entry("beta-a")), ("+", id_list_entry("beta-d"))] or \
                sorted(_replay_ops(tail)) == sorted([("-", id_list_entry("beta-a")), ("+", id_list_entry("beta-d"))]), tail

        problems = []
        for uid, member in [("beta-a", False), ("beta-d", True), ("beta-b", True)]:
            if not _wait(lambda: _vane_gates(v, uid) == _expected(member), timeout=5):
                problems.append("Vane did not pick up the change for %s: %r" % (uid, _vane_gates(v, uid)))
            if not _wait(lambda: _sdk_gates(running, uid) == _expected(member), timeout=20):
                problems.append("running SDK (idlists_sync_interval=1) still has the old membership for %s: %r"
                                % (uid, _sdk_gates(running, uid)))
        # Round 2: put beta-a back (the file now says +a ... -a ... +a).
        v.console_ok("POST", "/id_lists/%s/ids" % LIST, {"add": ["beta-a"]})
        if not _wait(lambda: _sdk_gates(running, "beta-a") == _expected(True), timeout=20):
            problems.append("running SDK did not see beta-a re-added: %r" % (_sdk_gates(running, "beta-a"),))
        if _vane_gates(v, "beta-a") != _expected(True):
            problems.append("Vane did not see beta-a re-added")
        # No-op changes (adding a member twice, removing a non-member) keep everything consistent.
        v.console_ok("POST", "/id_lists/%s/ids" % LIST, {"add": ["beta-b"], "remove": ["never-there"]})
        info = v.console_ok("GET", "/id_lists/" + LIST)
        if info.get("count") != 5:
            problems.append("count after changes should be 5 (beta-a,b,c,d,4711), got %r" % (info.get("count"),))
        fresh = make_sdk(v)
        try:
            for uid, member in [("beta-a", True), ("beta-b", True), ("beta-d", True), ("beta-x", False)]:
                if _sdk_gates(fresh, uid) != _expected(member):
                    problems.append("fresh SDK: %s -> %r" % (uid, _sdk_gates(fresh, uid)))
        finally:
            fresh.shutdown()
        assert not problems, "\n".join(problems)
    finally:
        running.shutdown()


def _replay_ops(text):
    return [(line[0], line[1:]) for line in text.splitlines() if line]


def test_delete_list(lists):
    v = lists
    v.console_ok("POST", "/id_lists", {"name": "idl_temp"})
    v.console_ok("POST", "/id_lists/idl_temp/ids", {"add": ["t1"]})
    v.console_ok("POST", "/gates", {"name": "idl_temp_gate", "rules": [
        {"name": "in temp", "passPercentage": 100,
         "conditions": [{"type": "unit_id", "operator": "in_segment_list", "targetValue": "idl_temp"}]}]})
    assert _vane_gates(v, "t1", ["idl_temp_gate"]) == {"idl_temp_gate": True}
    r = v.console("DELETE", "/id_lists/idl_temp")
    assert r.status_code in (200, 204), (r.status_code, r.text[:300])
    assert "idl_temp" not in _manifest(v)
    assert _vane_gates(v, "t1", ["idl_temp_gate"]) == {"idl_temp_gate": False}
    assert v.console("POST", "/id_lists/idl_temp/ids", {"add": ["x"]}).status_code == 404
