#!/usr/bin/env python3
"""Writes the seed corpora in Fuzz/corpus/<target>/ (committed; rerun after changing a target's
input format). Seeds come from the test fixtures where there are some (the Statsig fixture
document, the conformance rule set, Segment messages as the tests send them) plus edge cases.
Files are named seed-*; crash reproducers kept as regression inputs are named crash-* and are
not touched. Usage: Fuzz/make_seeds.py"""
import gzip
import hashlib
import json
import os
import random
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "corpus")


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    elif not isinstance(data, bytes):
        data = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def clean():
    for target in os.listdir(CORPUS) if os.path.isdir(CORPUS) else []:
        for f in os.listdir(os.path.join(CORPUS, target)):
            if f.startswith("seed-"):
                os.remove(os.path.join(CORPUS, target, f))


# ------------------------------------------------------------------ json
def json_seeds():
    docs = {
        "numbers": "[0,-0,1.0,-0.0,1e400,-1e400,5e-324,9223372036854775807,9223372036854775808,-9223372036854775809,1E+2,0.1e-2]",
        "strings": '["\\u00e9\\ud83d\\ude00","\\u2028\\u2029","<script>","\\"\\\\\\/\\b\\f\\n\\r\\t","\\u0000","ß"]',
        "utf8": '{"k":"Zürich ✓ 😀"}',
        "duplicate-keys": '{"a":1,"a":2,"b":{"a":[]}}',
        "whitespace": ' \t\r\n{ "a" : [ 1 , 2 ] , "b" : null } \n',
        "literals": "[true,false,null]",
        "empty": "{}",
        "empty-array": "[]",
        "string-only": '"text"',
        "deep": "[" * 127 + "]" * 127,
        "too-deep": "[" * 129 + "]" * 129,
        "bad-surrogate": '"\\ud800"',
        "bad-escape": '"\\x"',
        "trailing": "{} x",
        "unterminated": '{"a":"b',
        "leading-zero": "01",
        "lone-minus": "-",
        "exponent": "1e",
        "batch": {"batch": [{"type": "track", "event": "Order Completed", "userId": "u1",
                             "properties": {"revenue": 9.99}, "timestamp": "2024-01-02T03:04:05.678Z"}],
                  "sentAt": "2024-01-02T03:04:06Z"},
        "log-event": {"events": [{"eventName": "purchase", "user": {"userID": "u"}, "value": 12.5,
                                  "metadata": {"plan": "pro"}, "time": 1700000000000}]},
    }
    for name, doc in docs.items():
        write("json", name, doc if isinstance(doc, str) else json.dumps(doc))
    write("json", "invalid-utf8", b'"\xff\xfe"')
    write("json", "overlong-utf8", b'"\xc0\xaf"')


# ------------------------------------------------------------------ body
ENCODINGS = [None, "gzip", "x-gzip", "deflate", "identity", "", " GZIP ", "Deflate\t", "br", "gzip, deflate", "compress"]
LIMITS = [0, 1, 7, 8, 9, 64, 1000, 4096, 65_536, 1 << 20, 10 << 20]


def body_raw(encoding, limit, body, force=False):
    return bytes([ENCODINGS.index(encoding), 1 if force else 0, LIMITS.index(limit), 0]) + body


def body_packed(encoding, limit, payload, mode=1, damage=0, extra=b"", reps=1, force=False):
    # FuzzInput.data(max: 512): a two-byte big-endian length (mod 513), then the bytes.
    out = bytes([ENCODINGS.index(encoding), 1 if force else 0, LIMITS.index(limit), mode])
    out += struct.pack(">H", len(payload)) + payload
    if mode == 2:
        out += struct.pack(">H", reps - 1)  # int(in: 1...4000)
    out += bytes([damage]) + extra
    return out


def body_seeds():
    payload = json.dumps({"events": [{"eventName": "e", "user": {"userID": "u"}}]}).encode()
    gz = gzip.compress(payload)
    zl = zlib.compress(payload)
    write("body", "gzip", body_raw("gzip", 1 << 20, gz))
    write("body", "x-gzip", body_raw("x-gzip", 4096, gz))
    write("body", "deflate", body_raw("deflate", 4096, zl))
    write("body", "raw-deflate", body_raw("deflate", 4096, zlib.compress(payload)[2:-4]))
    write("body", "force-gzip", body_raw(None, 4096, gz, force=True))
    write("body", "identity", body_raw("identity", 64, payload))
    write("body", "unsupported", body_raw("br", 4096, payload))
    write("body", "empty-gzip", body_raw("gzip", 4096, b""))
    write("body", "empty-deflate", body_raw("deflate", 4096, b""))
    write("body", "gzip-header-only", body_raw("gzip", 4096, gz[:10]))
    write("body", "gzip-no-trailer", body_raw("gzip", 4096, gz[:-8]))
    write("body", "gzip-wrong-crc", body_raw("gzip", 4096, gz[:-8] + b"\0\0\0\0" + gz[-4:]))
    write("body", "gzip-two-members", body_raw("gzip", 4096, gz + gz))
    write("body", "gzip-trailing-junk", body_raw("gzip", 4096, gz + b"junk"))
    write("body", "gzip-over-limit", body_raw("gzip", 64, gz))
    bomb = gzip.compress(b"\0" * 2_000_000)
    write("body", "gzip-bomb", body_raw("gzip", 1 << 20, bomb))
    write("body", "zlib-bomb", body_raw("deflate", 65_536, zlib.compress(b"a" * 200_000)))
    write("body", "gzip-fextra-fname", body_raw("gzip", 4096, bytes([0x1F, 0x8B, 8, 0x1C, 0, 0, 0, 0, 0, 255, 2, 0, 1, 2]) + b"name\0comment\0"
                                                 + zlib.compress(payload)[2:-4] + struct.pack("<II", zlib.crc32(payload), len(payload))))
    write("body", "packed-gzip", body_packed("gzip", 4096, payload))
    write("body", "packed-deflate-cut", body_packed("deflate", 4096, payload, damage=1, extra=bytes([0, 3])))
    write("body", "packed-flip", body_packed("gzip", 4096, payload, damage=2, extra=bytes([0, 20, 0x40])))
    write("body", "packed-repeat-over", body_packed("gzip", 1000, b"abc", mode=2, reps=900))
    write("body", "packed-second-member", body_packed("x-gzip", 4096, payload, damage=4))


# ------------------------------------------------------------------ segment
def segment_seeds():
    t = "2024-01-02T03:04:05.678Z"
    messages = {
        "track": {"type": "track", "event": "Order Completed", "userId": "u1", "anonymousId": "a1",
                  "messageId": "m-1", "properties": {"revenue": 19.99, "currency": "EUR"}, "timestamp": t},
        "track-value-string": {"type": "track", "event": "Buy", "userId": "u", "properties": {"value": "12.5"}},
        "track-huge-value": {"type": "track", "event": "Buy", "userId": "u", "properties": {"value": 1e308, "revenue": -1e308}},
        "track-inf-value": '{"type":"track","event":"Buy","userId":"u","properties":{"value":1e400}}',
        "page": {"type": "page", "name": "Home", "category": "Docs", "anonymousId": "a", "context": {"ip": "1.2.3.4", "locale": "de-CH",
                 "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15"}},
        "screen": {"type": "screen", "name": "Cart", "userId": 42},
        "identify": {"type": "identify", "userId": "u", "traits": {"email": "x@example.com", "plan": "pro"}},
        "identify-engage": {"type": "identify", "userId": "u", "traits": {"vip_users": True},
                            "context": {"personas": {"computation_key": "vip_users", "computation_class": "audience"}}},
        "track-engage": {"type": "track", "event": "Audience Entered", "userId": "u", "properties": {"vip_users": False},
                         "context": {"personas": {"computation_key": "vip_users", "computation_class": "journey_step"}}},
        "group": {"type": "group", "userId": "u", "groupId": 7, "traits": {"name": "Acme"}},
        "alias": {"type": "alias", "userId": "u", "previousId": "old"},
        "statsig-controls": {"type": "track", "event": "e", "userId": "u", "properties": {
            "statsigCustomIDs": ["companyID", "c-1", "stableID", 5, "odd"], "statsigCustom": ["age", 30],
            "statsigEnvironment": {"tier": "staging"}, "email": "p@example.com"}},
        "mapped-ids": {"type": "track", "event": "e", "anonymousId": "a", "context": {"device": {"id": "d-1"}},
                       "properties": {"a": {"b": {"c": 1.5}}}},
        "skew": {"type": "track", "event": "e", "userId": "u", "originalTimestamp": "2024-01-02T03:00:00Z",
                 "sentAt": "2024-01-02T04:00:00+01:00", "receivedAt": "2024-01-02T04:00:01Z"},
        "time-edges": {"type": "track", "event": "e", "userId": "u", "timestamp": "0000-01-01T00:00:00Z",
                       "sentAt": "9999-12-31T23:59:59.999-23:59", "originalTimestamp": "1999-12-31 23:59:60,5"},
        "time-bad": {"type": "track", "event": "e", "userId": "u", "timestamp": "2024-02-30", "sentAt": "2023-02-29T00:00Z"},
        "time-fraction": {"type": "track", "event": "e", "userId": "u", "timestamp": "2024-01-01T00:00:00.123456789123456789+0530"},
        "numeric-ids": {"type": "track", "event": "e", "userId": 1.5e300, "anonymousId": -0.0, "messageId": 9223372036854775807},
        "bad-type": {"type": "delete", "userId": "u"},
        "no-ids": {"type": "track", "event": "e"},
        "array-batch": [{"type": "track", "event": "a", "userId": "u"}, {"type": "page", "userId": "u"}, "junk"],
        "batch": {"batch": [{"type": "track", "event": "Signed Up", "userId": "u", "timestamp": t},
                            {"type": "identify", "anonymousId": "a", "traits": {"email": "e@x"}}],
                  "sentAt": "2024-01-02T03:04:06Z", "context": {"library": {"name": "analytics-python"}, "ip": "10.0.0.1"}},
        "replay": {"type": "track", "event": "e", "userId": "u", "timestamp": t, "receivedAt": "2024-01-02T03:04:05Z",
                   "sentAt": "2024-01-02T03:04:05Z"},
    }
    for name, m in messages.items():
        write("segment", name, m if isinstance(m, str) else json.dumps(m, ensure_ascii=False))


# ------------------------------------------------------------------ statsig
def statsig_seeds():
    fixture = json.load(open(os.path.join(ROOT, "Tests/VaneCoreTests/Fixtures/evaluations.json")))
    dcs = fixture["dcs"]
    users = fixture["users"]
    rng = random.Random(7)
    # One spec per document with a few of the fixture's users: small seeds covering each operator.
    specs = [("feature_gates", s) for s in dcs["feature_gates"]] + [("dynamic_configs", s) for s in dcs["dynamic_configs"]]
    for section, spec in specs[:: max(1, len(specs) // 28)][:28]:
        doc = {"feature_gates": [], "dynamic_configs": [], "layer_configs": [], "time": dcs.get("time", 0),
               section: [spec], "__users": rng.sample(users, 3), "__now": 1700000000000}
        write("statsig", "fixture-" + spec["name"], json.dumps(doc, ensure_ascii=False))
    layered = {"feature_gates": dcs["feature_gates"][:3], "dynamic_configs": dcs["dynamic_configs"][-4:],
               "layer_configs": dcs["layer_configs"][:2], "layers": dcs.get("layers", {}), "__users": users[:2]}
    write("statsig", "fixture-layers", json.dumps(layered, ensure_ascii=False))
    sys.path.insert(0, os.path.join(ROOT, "tests/conformance"))
    import _ruleset as rs
    write("statsig", "conformance-import", json.dumps(dict(rs.IMPORT_DOC, __users=users[:3]), ensure_ascii=False))
    for i in range(8):
        write("statsig", "bytes-%d" % i, bytes(rng.randrange(256) for _ in range(32 + 40 * i)))


# ------------------------------------------------------------------ rollup
def rollup_seeds():
    rng = random.Random(11)
    for i in range(12):
        write("rollup", "bytes-%d" % i, bytes(rng.randrange(256) for _ in range(16 + 24 * i)))


# ------------------------------------------------------------------ validation
def validation_seeds():
    sys.path.insert(0, os.path.join(ROOT, "tests/conformance"))
    import _ruleset as rs
    kinds = [("segment", rs.CONSOLE_SEGMENTS), ("gate", rs.CONSOLE_GATES), ("dynamic_config", rs.CONSOLE_CONFIGS),
             ("layer", rs.CONSOLE_LAYERS), ("experiment", rs.CONSOLE_EXPERIMENTS)]
    for kind, entities in kinds:
        for e in entities[:12]:
            e = e[0] if isinstance(e, tuple) else e
            write("validation", "%s-%s" % (kind, e["name"]), json.dumps(dict(e, kind=kind), ensure_ascii=False))
    edges = {
        "experiment-sizes": {"kind": "experiment", "name": "exp edge", "allocation": 100, "layer": "L1",
                             "targetingGate": "tg", "analysisWindowDays": 3650,
                             "groups": [{"name": "a", "size": 33.333333333}, {"name": "b", "size": 33.333333333},
                                        {"name": "c", "size": 33.333333334}]},
        "experiment-allocation": {"kind": "experiment", "name": "alloc", "allocation": 0.05,
                                  "groups": [{"name": "control", "size": 50, "parameterValues": {"p": 1}},
                                             {"name": "test", "size": 50, "parameterValues": {"p": 2}}]},
        "gate-envs": {"kind": "gate", "name": "envs", "rules": [{"name": "r", "passPercentage": 0.001, "environments": ["staging"],
                       "conditions": [{"type": "app_version", "operator": "version_gte", "targetValue": "99999999999999999999.1"}]}]},
        "gate-time": {"kind": "gate", "name": "time gate", "rules": [{"name": "r", "conditions": [
            {"type": "time", "operator": "after", "targetValue": 9223372036854775807},
            {"type": "user_bucket", "operator": "lt", "targetValue": 1e308, "additionalValues": {"salt": 1}}]}]},
        "segment-idlist": {"kind": "segment", "name": "vip", "type": "id_list", "idList": "vip_list"},
        "config-bad-default": {"kind": "dynamic_config", "name": "cfg", "defaultValue": [1]},
        "bad-pct": '{"kind":"gate","name":"pct","rules":[{"name":"r","passPercentage":1e400,"conditions":[]}]}',
        "bad-window": {"kind": "experiment", "name": "win", "analysisWindowDays": 9223372036854775807, "groups": [{"name": "a", "size": 100}]},
    }
    for name, e in edges.items():
        write("validation", name, e if isinstance(e, str) else json.dumps(e))


if __name__ == "__main__":
    clean()
    json_seeds()
    body_seeds()
    segment_seeds()
    statsig_seeds()
    rollup_seeds()
    validation_seeds()
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        size = sum(os.path.getsize(os.path.join(CORPUS, target, f)) for f in files)
        print(f"{target}: {len(files)} files, {size} bytes")
