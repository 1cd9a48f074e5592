#!/usr/bin/env python3
"""Generates ../OperatorCases.swift: single-operator cases whose expected results come from the
real Statsig Python SDK (0.72.1), not from reasoning alone.

    TZ=UTC /tmp/sv/bin/python Tests/VaneCoreTests/Fixtures/make_operator_cases.py

Each case is one gate with one rule (100%) holding `user_field "x" <op> <target>`, evaluated for
StatsigUser("u1", custom={"x": value}) (or no custom at all when the value is MISSING). The note
says why the SDK answers as it does; the script fails if a case's SDK result is not the one the
note expects, so the notes cannot drift from the SDK. Cases where the SDK raises (rule_id
"error") go to a separate list: Vane deliberately answers false there.
"""
import json
import math
import os
import sys
import time

os.environ["TZ"] = "UTC"
time.tzset()

from statsig import StatsigOptions, StatsigServer, StatsigUser  # noqa: E402
from statsig.statsig_error_boundary import _StatsigErrorBoundary  # noqa: E402

_StatsigErrorBoundary.endpoint = "http://127.0.0.1:9/v1/sdk_exception"

HERE = os.path.dirname(os.path.abspath(__file__))
MISSING = object()
RAISES = "raises"

# (operator, target, user value, expected per the note, note)
CASES = [
    # ---- gt gte lt lte: float(value) against float(target)
    ("gt", 18, 19, True, "19 > 18"),
    ("gt", 18, 18, False, "18 > 18 is false"),
    ("gt", 18, 18.5, True, "floats compare as floats"),
    ("gt", 18, "19", True, "numeric strings go through float()"),
    ("gt", 18, " 19 ", True, "float() strips whitespace"),
    ("gt", 18, "1e2", True, "float('1e2') is 100"),
    ("gt", 18, "1_9", True, "float('1_9') is 19"),
    ("gt", 0, True, True, "float(True) is 1.0"),
    ("gt", 18, MISSING, False, "a missing value is None: false"),
    ("gt", 18, None, False, "null is None: false"),
    ("gt", 1e308, "inf", True, "float('inf')"),
    ("gt", 1, "nan", False, "nan compares false"),
    ("gte", 18, 18, True, "18 >= 18"),
    ("gte", 18, 18.0, True, "18.0 >= 18"),
    ("gte", 18, "18", True, "'18' >= 18"),
    ("gte", 18, 17.999, False, "17.999 < 18"),
    ("lt", "18.5", 18, True, "a string target goes through float() too"),
    ("lt", "18.5", 19, False, "19 > 18.5"),
    ("lt", 0, "-inf", True, "float('-inf')"),
    ("lte", True, 1, True, "target True is 1.0"),
    ("lte", True, 0, True, "0 <= 1"),
    ("lte", True, 2, False, "2 > 1"),
    ("gt", 18, "abc", RAISES, "float('abc') raises"),
    ("gt", 18, [19], RAISES, "float([19]) raises"),
    ("gt", "abc", 19, RAISES, "float of a non-numeric target raises"),
    # ---- versions: cut at the first '-' (index > 0), split on '.', int(float(part)), missing parts are 0
    ("version_gt", "1.2.3", "1.2.4", True, "1.2.4 > 1.2.3"),
    ("version_gt", "1.2.3", "1.10.0", True, "parts compare as numbers, not text"),
    ("version_gt", "1.2.3", "1.2.3", False, "equal"),
    ("version_gt", "1.2.3", "1.2.3.1", True, "the missing fourth part of the target is 0"),
    ("version_gt", "1.2.3", "1.2", False, "1.2 is 1.2.0"),
    ("version_gt", "1.2.3", "2", True, "2 is 2.0.0"),
    ("version_gt", "1.2.3", "1.2.3-beta", False, "'-beta' is cut: equal"),
    ("version_gt", "1.2.3", "1.2.x", False, "a non-numeric part makes the check false"),
    ("version_gt", "1.2.3", "v1.2.3", False, "'v1' is not a number"),
    ("version_gt", "1.2.3", "2.x", True, "2 > 1 decides before the non-numeric part is read"),
    ("version_gt", "1.2.3", MISSING, False, "None: false"),
    ("version_gte", "1.2.3", "1.2.3-beta", True, "'-beta' is cut: equal"),
    ("version_gte", "1.2.3", "1.2.3.0", True, "a trailing .0 is equal"),
    ("version_gte", "1.2.3", "1.2", False, "1.2.0 < 1.2.3"),
    ("version_lt", "1.2.3", "1.2", True, "1.2.0 < 1.2.3"),
    ("version_lt", "1.2.3", "1.2.3-beta", False, "equal after the cut"),
    ("version_lt", "1.2.3", "0.9", True, "0 < 1"),
    ("version_lt", "1.2.3", "-1.2", True, "a leading '-' is not cut (index 0): -1 < 1"),
    ("version_lt", "1.2.3", "1.x", False, "1 == 1, then 'x' is not a number"),
    ("version_lte", "1.2.3", "1.2.3", True, "equal"),
    ("version_lte", "1.2.3", "1.2.3.0", True, "equal"),
    ("version_lte", "1.2.3", "1.2.4", False, "greater"),
    ("version_eq", "1.2.3", "1.2.3-beta", True, "cut at '-'"),
    ("version_eq", "1.2.3", "1.2.3-", True, "cut at the trailing '-'"),
    ("version_eq", "1.2.3", "01.02.03", True, "int(float('01')) is 1"),
    ("version_eq", "1.2.3", "1.2.3.0", True, "missing parts are 0"),
    ("version_eq", "1.2.3", "1.2", False, "1.2.0"),
    ("version_eq", "1.2.3", " 1.2.3 ", True, "float() strips the spaces of each part"),
    ("version_eq", "1.2.3-rc.1", "1.2.3", True, "the target is cut too"),
    ("version_eq", "2", 2, True, "str(2) is '2'"),
    ("version_eq", "2.0", 2.0, True, "str(2.0) is '2.0'"),
    ("version_eq", "1.2.3", 1.2, False, "str(1.2) is '1.2', i.e. 1.2.0"),
    ("version_eq", "1.0", "1.5", False, "the second parts differ: 5 > 0"),
    ("version_eq", "1.2.3", "1.2.3.1e0", False, "float('1e0') is 1: 1.2.3.1 != 1.2.3"),
    ("version_neq", "1.2.3", "1.2.4", True, "different"),
    ("version_neq", "1.2.3", "1.2.3-rc.1", False, "equal after the cut"),
    ("version_neq", "1.2.3", "1.2.x", False, "non-numeric makes every version check false, neq too"),
    ("version_neq", "1.2.3", MISSING, False, "None: false, neq too"),
    ("version_gt", "1.0", True, False, "str(True) is 'True', not a number"),
    # ---- any / none: str(value).casefold() in {str(t).casefold()}
    ("any", ["Pro", 2, 1.0, True, None], "pro", True, "casefolded"),
    ("any", ["Pro", 2, 1.0, True, None], "PRO", True, "casefolded"),
    ("any", ["Pro", 2, 1.0, True, None], "pro ", False, "no trimming"),
    ("any", ["Pro", 2, 1.0, True, None], 2, True, "str(2) is '2'"),
    ("any", ["Pro", 2, 1.0, True, None], "2", True, "'2' is str(2)"),
    ("any", ["Pro", 2, 1.0, True, None], 2.0, False, "str(2.0) is '2.0'"),
    ("any", ["Pro", 2, 1.0, True, None], 1.0, True, "str(1.0) is '1.0'"),
    ("any", ["Pro", 2, 1.0, True, None], "1.0", True, "'1.0' is str(1.0)"),
    ("any", ["Pro", 2, 1.0, True, None], 1, False, "str(1) is '1', not '1.0'"),
    ("any", ["Pro", 2, 1.0, True, None], True, True, "str(True) is 'True', casefolded 'true'"),
    ("any", ["Pro", 2, 1.0, True, None], "TRUE", True, "casefolded 'true'"),
    ("any", ["Pro", 2, 1.0, True, None], "none", True, "str(None) target is 'None'"),
    ("any", ["Pro", 2, 1.0, True, None], MISSING, False, "a None value is never in the list"),
    ("any", ["Pro", 2, 1.0, True, None], None, False, "a None value is never in the list"),
    ("any", ["strasse"], "Stra\u00dfe", True, "casefold('Stra\u00dfe') is 'strasse'"),
    ("any", ["a", "b"], ["a"], False, "str(['a']) is \"['a']\""),
    ("any", ["['a']"], ["a"], True, "str(['a']) is \"['a']\""),
    ("any", "pro", "pro", False, "a target that is not a list matches nothing"),
    ("none", ["Pro", 2, 1.0, True, None], "pro", False, "in the list"),
    ("none", ["Pro", 2, 1.0, True, None], "free", True, "not in the list"),
    ("none", ["Pro", 2, 1.0, True, None], MISSING, True, "a None value is in no list"),
    ("none", "pro", "pro", True, "a target that is not a list matches nothing"),
    ("any_case_sensitive", ["Pro", 2, 1.0, True], "Pro", True, "exact"),
    ("any_case_sensitive", ["Pro", 2, 1.0, True], "pro", False, "case differs"),
    ("any_case_sensitive", ["Pro", 2, 1.0, True], "True", True, "str(True) target is 'True'"),
    ("any_case_sensitive", ["Pro", 2, 1.0, True], True, True, "str(True) is 'True'"),
    ("any_case_sensitive", ["Pro", 2, 1.0, True], "true", False, "case differs"),
    ("any_case_sensitive", ["Pro", 2, 1.0, True], 1.0, True, "'1.0'"),
    ("any_case_sensitive", ["Pro", 2, 1.0, True], MISSING, False, "None"),
    ("none_case_sensitive", ["Pro", 2, 1.0, True], "pro", True, "case differs"),
    ("none_case_sensitive", ["Pro", 2, 1.0, True], "Pro", False, "exact"),
    ("none_case_sensitive", ["Pro", 2, 1.0, True], MISSING, True, "None is in no list"),
    # ---- string operators: casefolded str() tests against str() of each target (None targets skipped)
    ("str_starts_with_any", ["HEL", "stra", 12], "hello", True, "casefolded prefix"),
    ("str_starts_with_any", ["HEL", "stra", 12], "Stra\u00dfe", True, "'strasse' starts with 'stra'"),
    ("str_starts_with_any", ["HEL", "stra", 12], "say hello", False, "not a prefix"),
    ("str_starts_with_any", ["HEL", "stra", 12], 123, True, "str(123) starts with str(12)"),
    ("str_starts_with_any", ["HEL", "stra", 12], MISSING, False, "None"),
    ("str_starts_with_any", ["tr"], True, True, "str(True) casefolded is 'true'"),
    ("str_starts_with_any", [None, "a"], "abc", True, "a None target is skipped"),
    ("str_ends_with_any", ["World", "SSE", ".5"], "hello world", True, "casefolded suffix"),
    ("str_ends_with_any", ["World", "SSE", ".5"], "Stra\u00dfe", True, "'strasse' ends with 'sse'"),
    ("str_ends_with_any", ["World", "SSE", ".5"], 12.5, True, "str(12.5) ends with '.5'"),
    ("str_ends_with_any", ["World", "SSE", ".5"], "worlds", False, "not a suffix"),
    ("str_contains_any", ["LO W", "true", "23"], "hello world", True, "casefolded substring"),
    ("str_contains_any", ["LO W", "true", "23"], True, True, "str(True) is 'True'"),
    ("str_contains_any", ["LO W", "true", "23"], 1234, True, "'23' in '1234'"),
    ("str_contains_any", ["LO W", "true", "23"], "low", False, "no target inside"),
    ("str_contains_any", ["LO W"], MISSING, False, "None"),
    ("str_contains_none", ["o", "1"], "hello", False, "contains 'o'"),
    ("str_contains_none", ["o", "1"], "yes", True, "contains neither"),
    ("str_contains_none", ["o", "1"], MISSING, True, "None contains nothing, so none is true"),
    ("str_matches", r"^acme-\d+$", "acme-123", True, "re.search"),
    ("str_matches", r"^acme-\d+$", "ACME-1", False, "case-sensitive"),
    ("str_matches", r"^acme-\d+$", "acme-", False, "needs a digit"),
    ("str_matches", r"acme", "xx acme yy", True, "search, not match: anywhere in the string"),
    ("str_matches", r"(?i)^acme", "ACME corp", True, "inline flags"),
    ("str_matches", r"^\d+\.\d+$", 1.5, True, "str(1.5) is '1.5'"),
    ("str_matches", r"^\d+\.\d+$", 2, False, "str(2) is '2'"),
    ("str_matches", r"^True$", True, True, "str(True) is 'True'"),
    ("str_matches", r".*", MISSING, False, "None: false even for '.*'"),
    # ---- eq / neq: Python ==, type-sensitive between strings and numbers
    ("eq", 5, 5, True, "5 == 5"),
    ("eq", 5, "5", False, "'5' != 5"),
    ("eq", 5, 5.0, True, "5.0 == 5"),
    ("eq", 5, True, False, "True is 1"),
    ("eq", 5, MISSING, False, "None != 5"),
    ("eq", 1, True, True, "True == 1"),
    ("eq", 1, 1.0, True, "1.0 == 1"),
    ("eq", "5", "5", True, "same string"),
    ("eq", "5", 5, False, "5 != '5'"),
    ("eq", "abc", "ABC", False, "case-sensitive"),
    ("eq", True, 1, True, "1 == True"),
    ("eq", True, 1.0, True, "1.0 == True"),
    ("eq", True, "True", False, "'True' != True"),
    ("eq", None, MISSING, True, "None == None"),
    ("eq", None, None, True, "None == None"),
    ("eq", None, "", False, "'' != None"),
    ("eq", None, 0, False, "0 != None"),
    ("eq", "", "", True, "'' == ''"),
    ("eq", [1, "a"], [1, "a"], True, "lists compare element-wise"),
    ("eq", [1, "a"], [1.0, "a"], True, "1.0 == 1 inside lists too"),
    ("eq", [1, "a"], ["1", "a"], False, "'1' != 1"),
    ("eq", [1, "a"], [1, "a", 2], False, "lengths differ"),
    ("eq", {"a": 1}, {"a": 1.0}, True, "dicts compare by key and value"),
    ("eq", {"a": 1}, {"a": 1, "b": 2}, False, "extra key"),
    ("neq", 5, "5", True, "'5' != 5"),
    ("neq", 5, 5, False, "equal"),
    ("neq", 5, MISSING, True, "None != 5"),
    ("neq", None, MISSING, False, "None == None"),
    # ---- before / after / on: int(x), and int(x) // 1000 when len(str(x)) >= 11 (ms)
    ("before", 1700000000, 1699999999, True, "seconds"),
    ("before", 1700000000, 1700000000, False, "equal"),
    ("before", 1700000000, 1699999999999, True, "13 characters: milliseconds"),
    ("before", 1700000000, 1700000000999, False, "1700000000999 ms // 1000 == 1700000000 s"),
    ("before", 1700000000, "1699999999", True, "int('1699999999')"),
    ("before", 1700000000, 1699999999.9, True, "str() has 12 characters: int(x) // 1000 = 1699999 s"),
    ("before", 1700000000, True, True, "int(True) is 1 s"),
    ("before", 1700000000, 9999999999, False, "10 characters: still seconds (year 2286)"),
    ("before", 1700000000, MISSING, False, "None: false"),
    ("before", "2023-11-14", 1, RAISES, "int('2023-11-14') raises"),
    ("before", 1700000000, "2023-11-14", RAISES, "int('2023-11-14') raises"),
    ("before", 1700000000, "1.5", RAISES, "int('1.5') raises"),
    ("after", 1700000000000, 1700000001, True, "target in ms, value in s"),
    ("after", 1700000000000, 1700000000999, False, "same second"),
    ("after", 1700000000000, "1700000001000", True, "a numeric string in ms"),
    ("after", 1700000000, 0, False, "the epoch"),
    ("on", 1700000000, 1699920000, True, "2023-11-14 00:00:00 UTC"),
    ("on", 1700000000, 1700006399, True, "2023-11-14 23:59:59 UTC"),
    ("on", 1700000000, 1700006400, False, "2023-11-15 00:00:00 UTC"),
    ("on", 1700000000, 1699919999, False, "2023-11-13 23:59:59 UTC"),
    ("on", 1700000000, 1700000000000, True, "the same instant in ms"),
    ("on", None, MISSING, False, "both None: false"),
    # ---- ID lists: local mode loads none; an unknown list contains nobody
    ("in_segment_list", "vip_list", "u1", False, "no such list"),
    ("not_in_segment_list", "vip_list", "u1", True, "no such list"),
    # ---- arrays: value must be a list; t matches if str(t) or int(str(t)) is in it
    ("array_contains_any", ["a", 1, 0, "2", 1.5], ["a"], True, "'a'"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], [1], True, "int('1') in [1]"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], [1.0], True, "1 in [1.0]"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], [True], True, "1 in [True]"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], [0], False, "int 0 is falsy and skipped; '0' is not in [0]"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], ["0"], True, "str(0) is '0'"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], [False], False, "0 skipped"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], ["2"], True, "'2'"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], [2], True, "int('2') in [2]"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], ["1.5"], True, "str(1.5) is '1.5'"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], [1.5], False, "int('1.5') raises and is skipped; '1.5' != 1.5"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], ["A"], False, "case-sensitive"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], [], False, "empty"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], "a", False, "not a list"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], MISSING, False, "not a list"),
    ("array_contains_any", ["a", 1, 0, "2", 1.5], [["a"]], False, "nested lists are not searched"),
    ("array_contains_none", ["a", 1, 0, "2", 1.5], ["b"], True, "none of them"),
    ("array_contains_none", ["a", 1, 0, "2", 1.5], [1.0], False, "1 in [1.0]"),
    ("array_contains_none", ["a", 1, 0, "2", 1.5], [0], True, "0 skipped"),
    ("array_contains_none", ["a", 1, 0, "2", 1.5], [], True, "empty"),
    ("array_contains_none", ["a", 1, 0, "2", 1.5], "b", False, "not a list: false, none too"),
    ("array_contains_none", ["a", 1, 0, "2", 1.5], MISSING, False, "not a list: false, none too"),
    ("array_contains_all", ["a", "b"], ["b", "a", "c"], True, "both present"),
    ("array_contains_all", ["a", "b"], ["a"], False, "'b' missing"),
    ("array_contains_all", ["a", "b"], [], False, "empty"),
    ("array_contains_all", [1, "2"], [1, 2], True, "ints"),
    ("array_contains_all", [1, "2"], [True, "2"], True, "1 in [True]"),
    ("array_contains_all", [1, "2"], [1], False, "2 missing"),
    ("array_contains_all", [None], [None], True, "int('None') is None, and None in [None]"),
    ("array_contains_all", [None], ["None"], True, "str(None) is 'None'"),
    ("array_contains_all", [None], [], False, "empty"),
    ("array_contains_all", [0], [False], True, "0 is not skipped here: 0 in [False]"),
    ("array_contains_all", [0], [0], True, "0 in [0]"),
    ("array_contains_all", [], ["x"], True, "no targets: vacuously true"),
    ("array_contains_all", ["a"], MISSING, False, "not a list"),
    ("not_array_contains_all", ["a", "b"], ["a"], True, "'b' missing"),
    ("not_array_contains_all", ["a", "b"], ["a", "b"], False, "both present"),
    ("not_array_contains_all", ["a", "b"], "ab", False, "not a list: false, negated ops too"),
    ("not_array_contains_all", ["a", "b"], MISSING, False, "not a list"),
]


def dcs_for(op, target):
    cond = {"type": "user_field", "operator": op, "targetValue": target, "field": "x", "additionalValues": {},
            "idType": "userID"}
    gate = {"name": "g", "type": "feature_gate", "entity": "feature_gate", "salt": "g-salt", "enabled": True,
            "defaultValue": False, "idType": "userID",
            "rules": [{"name": "r", "id": "r", "salt": "r", "passPercentage": 100, "conditions": [cond],
                       "returnValue": True, "idType": "userID"}]}
    return {"has_updates": True, "time": 1700000000000, "feature_gates": [gate], "dynamic_configs": [],
            "layer_configs": [], "diagnostics": {"initialize": 0, "dcs": 0, "idlist": 0, "logevent": 0,
                                                 "api_call": 0}}


def sdk_result(op, target, value):
    sdk = StatsigServer()
    sdk.initialize("secret-x", StatsigOptions(local_mode=True, bootstrap_values=json.dumps(dcs_for(op, target))))
    try:
        user = StatsigUser("u1", custom=None if value is MISSING else {"x": value})
        r = sdk.get_feature_gate(user, "g", log_exposure=False)
        if r.rule_id == "error":
            return RAISES
        assert r.rule_id == ("r" if r.value else "default"), r.rule_id
        return r.value
    finally:
        sdk.shutdown()


def swift(v):
    if v is None:
        return ".null"
    if isinstance(v, bool):
        return ".bool(%s)" % ("true" if v else "false")
    if isinstance(v, int):
        return ".int(%d)" % v
    if isinstance(v, float):
        if math.isinf(v) or math.isnan(v):
            raise ValueError(v)
        return ".double(%r)" % v
    if isinstance(v, str):
        return ".string(%s)" % swift_string(v)
    if isinstance(v, list):
        return ".array([%s])" % ", ".join(swift(x) for x in v)
    return ".object([%s])" % (", ".join("%s: %s" % (swift_string(k), swift(x)) for k, x in v.items()) or ":")


def swift_string(s):
    out = '"'
    for ch in s:
        if ch in '"\\':
            out += "\\" + ch
        elif 0x20 <= ord(ch) < 0x7F:
            out += ch
        else:
            out += "\\u{%x}" % ord(ch)
    return out + '"'


def main():
    ok, raising = [], []
    bad = 0
    for op, target, value, expected, note in CASES:
        got = sdk_result(op, target, value)
        if got != expected:
            print("NOTE DISAGREES WITH THE SDK: %s %r %r: note says %r, SDK says %r" % (op, target, value, expected,
                                                                                       got), file=sys.stderr)
            bad += 1
            continue
        line = "        OperatorCase(%s, %s, %s, %s, %s)," % (
            swift_string(op), swift(target), "nil" if value is MISSING else swift(value),
            "false" if got == RAISES else ("true" if got else "false"), swift_string(note))
        (raising if got == RAISES else ok).append(line)
    if bad:
        return 1
    path = os.path.join(HERE, "..", "OperatorCases.swift")
    with open(path, "w") as f:
        f.write("// Generated by Fixtures/make_operator_cases.py from the Statsig Python SDK 0.72.1 (TZ=UTC).\n")
        f.write("// Do not edit by hand: change the script and run it again.\n")
        f.write("@testable import VaneCore\n\n")
        f.write("extension OperatorCase {\n")
        f.write("    /// `user_field \"x\" <op> <target>` for a user whose custom x is `value` (nil: no x at all),\n")
        f.write("    /// with the result the Python SDK gives.\n")
        f.write("    static let sdkCases: [OperatorCase] = [\n")
        f.write("\n".join(ok) + "\n    ]\n\n")
        f.write("    /// Cases where the Python SDK raises (its result is rule_id \"error\"): Vane answers false.\n")
        f.write("    static let sdkRaisingCases: [OperatorCase] = [\n")
        f.write("\n".join(raising) + "\n    ]\n}\n")
    print("wrote %s: %d cases, %d where the SDK raises" % (os.path.normpath(path), len(ok), len(raising)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
