#!/usr/bin/env python3
"""Generates evaluations.json: expected evaluation results from the real Statsig Python SDK.

Run with the venv that has statsig==0.72.1 installed (the conformance oracle, see
docs/reference statsig-protocol.md section (f)):

    TZ=UTC /tmp/sv/bin/python Tests/VaneCoreTests/Fixtures/make_fixtures.py

The SDK runs in local mode with the rules given as bootstrap values: no network, no ID lists.
Everything is deterministic (fixed salts, seeded users), so re-running gives the same file.

Output (evaluations.json):
  dcs       the download_config_specs v1 document
  users     users in the JSON shape StatsigUser(json:) reads
  checks    [kind, name] pairs, kind is gate | config | layer
  expected  expected[u][c] = result of checks[c] for users[u]
  edge      single (user, check) cases for corner cases; each names what it exercises
A result omits fields at their default: value false, json_value {}, rule_id "", group_name null,
is_experiment_group false, id_type "", secondary_exposures [], undelegated_secondary_exposures
(= secondary_exposures when absent), explicit_parameters [], allocated_experiment null, reason "".
Exposures are [gate, gateValue, ruleID] triples.
"""
import copy
import json
import os
import random
import sys
import time

os.environ["TZ"] = "UTC"  # the SDK's `on` operator uses the local timezone; Vane uses UTC
time.tzset()

from statsig import StatsigOptions, StatsigServer, StatsigUser  # noqa: E402
from statsig.statsig_error_boundary import _StatsigErrorBoundary  # noqa: E402

_StatsigErrorBoundary.endpoint = "http://127.0.0.1:9/v1/sdk_exception"  # never the public host

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- DCS builders
def C(type_, op=None, target=None, field=None, id_type="userID", add=None):
    return {"type": type_, "operator": op, "targetValue": target, "field": field,
            "additionalValues": add if add is not None else {}, "idType": id_type}


def R(rid, conds, pct=100, ret=True, salt=None, id_type="userID", **extra):
    r = {"name": rid, "id": rid, "salt": salt if salt is not None else rid + "-salt", "passPercentage": pct,
         "conditions": conds, "returnValue": ret, "idType": id_type}
    r.update(extra)
    return r


def G(name, rules, salt=None, enabled=True, entity="feature_gate", **extra):
    s = {"name": name, "type": "feature_gate", "entity": entity, "salt": salt or name + "-salt",
         "enabled": enabled, "defaultValue": False, "rules": rules, "idType": "userID"}
    s.update(extra)
    return s


def DC(name, default, rules, salt=None, entity="dynamic_config", enabled=True, **extra):
    s = {"name": name, "type": "dynamic_config", "entity": entity, "salt": salt or name + "-salt",
         "enabled": enabled, "defaultValue": default, "rules": rules, "idType": "userID"}
    s.update(extra)
    return s


PUBLIC = C("public")


def op_gate(name, cond):
    """One rule with one condition at 100%: the gate's value is the condition's result."""
    return G("op_" + name, [R(name + "_rule", [cond])])


def uf(field, op, target):
    return C("user_field", op, target, field)


OPERATOR_GATES = [
    # numeric (value = float(user value), target = float(target))
    ("gt", uf("age", "gt", 18)),
    ("gte", uf("age", "gte", 18)),
    ("lt", uf("age", "lt", 18.5)),
    ("lte_str_target", uf("age", "lte", "18")),
    ("gt_bool_target", uf("age", "gt", True)),
    # versions on appVersion (a string) and on custom ver (ints, floats)
    ("version_gt", uf("appVersion", "version_gt", "1.2.3")),
    ("version_gte", uf("appVersion", "version_gte", "1.2.3")),
    ("version_lt", uf("appVersion", "version_lt", "1.2.3")),
    ("version_lte", uf("appVersion", "version_lte", "1.2.3")),
    ("version_eq", uf("appVersion", "version_eq", "1.2.3")),
    ("version_neq", uf("appVersion", "version_neq", "1.2.3")),
    ("version_eq_beta_target", uf("appVersion", "version_eq", "1.2.3-rc.1")),
    ("version_gt_short_target", uf("appVersion", "version_gt", "1.2")),
    ("version_lt_custom", uf("ver", "version_lt", "2.0.1")),
    ("version_eq_custom_int", uf("ver", "version_eq", 2)),
    # list membership, casefolded and not, with str() of ints, floats, bools and None
    ("any", uf("plan", "any", ["Pro", 2, 1.0, True, None])),
    ("none", uf("plan", "none", ["Pro", 2, 1.0, True, None])),
    ("any_case_sensitive", uf("plan", "any_case_sensitive", ["Pro", 2, 1.0, True, "1"])),
    ("none_case_sensitive", uf("plan", "none_case_sensitive", ["Pro", 2, 1.0, True, "1"])),
    ("any_not_a_list", uf("plan", "any", "pro")),
    ("none_not_a_list", uf("plan", "none", "pro")),
    # string matching
    ("str_starts_with_any", uf("name", "str_starts_with_any", ["HEL", "stra", 12])),
    ("str_ends_with_any", uf("name", "str_ends_with_any", ["World", "SSE", ".5"])),
    ("str_contains_any", uf("name", "str_contains_any", ["LO W", "true", "23"])),
    ("str_contains_none", uf("name", "str_contains_none", ["o", "1"])),
    ("str_matches", uf("company", "str_matches", r"^acme-\d+$")),
    ("str_matches_ci", uf("company", "str_matches", r"(?i)acme")),
    ("str_matches_number", uf("age", "str_matches", r"^\d+\.\d+$")),
    # equality is Python ==: "5" != 5, 1 == 1.0 == True
    ("eq_int", uf("score", "eq", 5)),
    ("eq_str", uf("score", "eq", "5")),
    ("eq_float", uf("score", "eq", 1.0)),
    ("eq_bool", uf("score", "eq", True)),
    ("eq_null", uf("score", "eq", None)),
    ("eq_list", uf("score", "eq", [1, "a"])),
    ("neq_int", uf("score", "neq", 5)),
    ("neq_str", uf("score", "neq", "5")),
    # dates: seconds, or milliseconds when str() has 11 or more characters
    ("before_s", uf("ts", "before", 1700000000)),
    ("after_s", uf("ts", "after", 1700000000)),
    ("on_s", uf("ts", "on", 1700000000)),
    ("before_ms", uf("ts", "before", 1700000000000)),
    ("after_ms_str", uf("ts", "after", "1700000000000")),
    ("on_ms", uf("ts", "on", 1700050000000)),
    # ID lists: none are loaded in local mode, so nobody is in any list
    ("in_segment_list", C("unit_id", "in_segment_list", "vip_list")),
    ("not_in_segment_list", C("unit_id", "not_in_segment_list", "vip_list")),
    # arrays: a target t matches if str(t) or int(t) is in the user's list (int 0 skipped for any/none)
    ("array_contains_any", uf("tags", "array_contains_any", ["a", 1, 0, "2", 1.5])),
    ("array_contains_none", uf("tags", "array_contains_none", ["a", 1, 0, "2", 1.5])),
    ("array_contains_all", uf("tags", "array_contains_all", ["a", "b"])),
    ("array_contains_all_ints", uf("tags", "array_contains_all", [1, "2"])),
    ("array_contains_all_null", uf("tags", "array_contains_all", [None])),
    ("not_array_contains_all", uf("tags", "not_array_contains_all", ["a", "b"])),
    # user_bucket: hash(salt.unit) % 1000
    ("user_bucket_lt", C("user_bucket", "lt", 500, add={"salt": "ub-salt"})),
    ("user_bucket_any", C("user_bucket", "any", list(range(0, 1000, 7)), add={"salt": "ub-salt-2"})),
    ("user_bucket_none", C("user_bucket", "none", list(range(0, 1000, 3)), add={"salt": "ub-salt-2"})),
    ("user_bucket_stable", C("user_bucket", "gte", 250, id_type="stableID", add={"salt": "ub-salt-3"})),
    ("user_bucket_any_str_targets", C("user_bucket", "any", [str(i) for i in range(0, 1000, 2)],
                                      add={"salt": "ub-salt"})),
    # unit_id with custom ID types: exact name, then the lower-cased name
    ("unit_id_custom", C("unit_id", "any", ["c1", "C2", "c3"], id_type="companyID")),
    ("unit_id_user", C("unit_id", "str_starts_with_any", ["u1"])),
    ("unit_id_missing_none", C("unit_id", "none", ["x"], id_type="deviceID")),
    # environment
    ("env_tier_any", C("environment_field", "any", ["staging", "development"], field="tier")),
    ("env_tier_none", C("environment_field", "none", ["production"], field="tier")),
    # user_field lookups: known fields, custom (exact, then casefolded), privateAttributes
    ("field_email_case", uf("Email", "str_ends_with_any", ["@example.com"])),
    ("field_userid_alias", uf("user_id", "any", ["u1", "u2", "u3"])),
    ("field_custom_casefold", uf("PLAN", "any", ["pro"])),
    ("field_private", uf("secret", "eq", "s3cret")),
    ("field_locale", uf("locale", "str_starts_with_any", ["en"])),
    ("field_country", uf("country", "any", ["us"])),
    ("field_ip", uf("ip_address", "str_starts_with_any", ["10."])),
    # ip_based / ua_based read user fields first
    ("ip_country", C("ip_based", "any", ["US", "DE"], field="country")),
    ("ua_os_custom", C("ua_based", "any", ["iOS", "Android"], field="os_name")),
    ("ua_browser_name", C("ua_based", "any", ["Chrome", "Mobile Safari", "Firefox"], field="browser_name")),
    ("ua_browser_version", C("ua_based", "version_gte", "120.0.6099", field="browser_version")),
    ("ua_os_version", C("ua_based", "version_lt", "14", field="os_version")),
    ("target_app_any", C("target_app", "any", ["app-1"])),
    ("target_app_none", C("target_app", "none", ["app-1"])),
]

GATES = [op_gate(n, c) for n, c in OPERATOR_GATES]

GATES += [
    # rollouts
    G("rollout_50", [R("half", [PUBLIC], pct=50)], salt="rollout-salt-50"),
    G("rollout_33_33", [R("third", [PUBLIC], pct=33.33)], salt="rollout-salt-33"),
    G("rollout_stable", [R("stable_half", [PUBLIC], pct=50, id_type="stableID")], salt="rollout-stable"),
    G("rollout_zero_full", [R("zero", [uf("plan", "any", ["pro"])], pct=0),
                            R("full", [PUBLIC], pct=100)]),
    # no fall-through: the first matching rule decides even when its rollout fails
    G("no_fall_through", [R("first_10", [PUBLIC], pct=10), R("second_all", [PUBLIC])]),
    G("two_rules", [R("pro_rule", [uf("plan", "any", ["pro"])], pct=70),
                    R("adult_rule", [uf("age", "gte", 21)], pct=100)]),
    G("all_conditions", [R("both", [uf("plan", "any", ["pro", "free"]), uf("age", "gte", 18)])]),
    G("disabled_gate", [R("never", [PUBLIC])], enabled=False),
    G("no_rules", []),
    # segments and gate dependencies
    G("segment:beta", [R("beta_ids", [C("unit_id", "any", ["u1", "u2", "u3", "u5", "u8"])])],
      entity="segment"),
    G("in_beta", [R("beta_rule", [C("pass_gate", target="segment:beta")])]),
    G("parent", [R("needs_rollout", [C("pass_gate", target="rollout_50"),
                                     C("pass_gate", target="segment:beta")]),
                 R("else_not_adult", [C("fail_gate", target="op_gte")])]),
    G("grandparent", [R("via_parent", [C("pass_gate", target="parent"),
                                       C("fail_gate", target="rollout_33_33")], pct=80)]),
    G("dupe_exposures", [R("twice", [C("pass_gate", target="rollout_50"), C("pass_gate", target="rollout_50"),
                                     C("fail_gate", target="rollout_50")]),
                         R("after", [C("pass_gate", target="op_gt")])]),
    G("multi_pass", [R("multi_rule", [C("multi_pass_gate", target=["rollout_50", "parent", "op_any"])])]),
    G("multi_fail", [R("multi_fail_rule", [C("multi_fail_gate", target=["segment:beta", "rollout_33_33"])])]),
    G("multi_empty", [R("multi_empty_rule", [C("multi_pass_gate", target=[])])]),
    G("pass_disabled", [R("pd", [C("fail_gate", target="disabled_gate")])]),
    G("case_types", [R("upper_type", [C("USER_FIELD", "any", ["pro"], field="plan")])]),
    G("unsupported_op", [R("bad", [uf("plan", "weird_operator", ["pro"])])]),
    G("unsupported_type", [R("bad_type", [C("no_such_condition", "any", ["x"])])]),
]

EXPERIMENT_DEFAULT = {"button": "default", "size": 1}

CONFIGS = [
    DC("simple_config", {"color": "blue"},
       [R("cfg_email", [uf("email", "str_ends_with_any", ["@example.com"])], ret={"color": "green"}),
        R("cfg_pro", [uf("plan", "any", ["pro"])], pct=50, ret={"color": "red", "n": 1.5})]),
    DC("config_with_gate", {"on": False},
       [R("cfg_gate", [C("pass_gate", target="parent")], ret={"on": True})]),
    DC("disabled_config", {"x": 1}, [R("dc_rule", [PUBLIC], ret={"x": 2})], enabled=False),
    DC("targeted_experiment", EXPERIMENT_DEFAULT,
       [R("targetingGate", [C("fail_gate", target="op_gte")], pct=0, ret=EXPERIMENT_DEFAULT),
        R("grp_control", [C("user_bucket", "lt", 333, add={"salt": "texp-salt"})],
          ret={"button": "control", "size": 1}, groupName="Control", isExperimentGroup=True),
        R("grp_a", [C("user_bucket", "lt", 666, add={"salt": "texp-salt"})],
          ret={"button": "a", "size": 2}, groupName="A", isExperimentGroup=True),
        R("grp_b", [C("user_bucket", "lt", 1000, add={"salt": "texp-salt"})],
          ret={"button": "b", "size": 3}, groupName="B", isExperimentGroup=True)],
       salt="texp-salt", entity="experiment", isActive=True, hasSharedParams=False,
       explicitParameters=["button"]),
    DC("exp_in_layer", {"title": "layer", "count": 0},
       [R("layerAssignment", [C("user_bucket", "none", list(range(0, 500)), add={"salt": "layer-salt"})],
          ret={"title": "layer", "count": 0}),
        R("exp1_control", [C("user_bucket", "lt", 500, add={"salt": "exp1-salt"})],
          ret={"title": "control", "count": 1}, groupName="Control", isExperimentGroup=True),
        R("exp1_test", [C("user_bucket", "lt", 1000, add={"salt": "exp1-salt"})],
          ret={"title": "test", "count": 2}, groupName="Test", isExperimentGroup=True)],
       salt="exp1-salt", entity="experiment", isActive=True, hasSharedParams=True,
       explicitParameters=["title", "count"]),
    DC("exp_in_layer_2", {"title": "layer", "count": 0},
       [R("exp2_gated", [C("pass_gate", target="rollout_33_33"),
                         C("user_bucket", "lt", 500, add={"salt": "exp2-salt"})],
          ret={"title": "gated", "count": 3}, groupName="Gated", isExperimentGroup=True),
        R("exp2_rest", [PUBLIC], pct=50, ret={"title": "rest", "count": 4}, groupName="Rest",
          isExperimentGroup=True)],
       salt="exp2-salt", entity="experiment", isActive=True, hasSharedParams=True,
       explicitParameters=["title"]),
    DC("inactive_experiment", {"k": "v"}, [R("prestart", [PUBLIC], ret={"k": "v"})],
       entity="experiment", isActive=False, explicitParameters=[]),
    DC("unsupported_config", {}, [R("bad_cfg", [uf("plan", "between", [1, 2])], ret={})]),
]

LAYERS = [
    DC("layer_one", {"title": "layer", "count": 0},
       [R("toExp1", [C("pass_gate", target="op_any"),
                     C("user_bucket", "any", list(range(0, 500)), add={"salt": "layer-salt"})],
          ret={}, configDelegate="exp_in_layer"),
        R("toExp2", [C("fail_gate", target="rollout_50"),
                     C("user_bucket", "any", list(range(500, 800)), add={"salt": "layer-salt"})],
          ret={}, configDelegate="exp_in_layer_2"),
        R("missingDelegate", [C("user_bucket", "any", list(range(800, 900)), add={"salt": "layer-salt"})],
          pct=50, ret={"title": "no delegate"}, configDelegate="no_such_experiment")],
       salt="layer-salt", entity="layer", explicitParameters=[]),
    DC("empty_layer", {"p": 1}, [], entity="layer", explicitParameters=[]),
]

DCS = {
    "has_updates": True,
    "time": 1700000000000,
    "default_environment": "production",
    "feature_gates": GATES,
    "dynamic_configs": CONFIGS,
    "layer_configs": LAYERS,
    "layers": {"layer_one": ["exp_in_layer", "exp_in_layer_2"]},
    "diagnostics": {"initialize": 0, "dcs": 0, "idlist": 0, "logevent": 0, "api_call": 0},
}

CHECKS = ([["gate", g["name"]] for g in GATES if not g["name"].startswith("segment:")]
          + [["gate", "segment:beta"], ["gate", "no_such_gate"]]
          + [["config", c["name"]] for c in CONFIGS] + [["config", "no_such_config"]]
          + [["layer", l["name"]] for l in LAYERS] + [["layer", "no_such_layer"]])

# ---------------------------------------------------------------- users
AGES = [None, 17, 18, 19, 18.0, 18.5, 21, 30.25, "18", " 21 ", "1e2", "1_000", True, False, -3, "nan", "inf"]
APP_VERSIONS = [None, "", "1.2.3", "1.2.3-beta", "1.2.3-rc.1", "1.2", "1.2.4", "1.10.0", "1.2.3.4", "1.2.3.0",
                "2", "0.9.9", "01.02.03", "1.2.x", "v1.2.3", "1..3", "1.2.3-", "-1.2", " 1.2.3 ", "1.2.3.1e0"]
VERS = [None, "2.0.1", "2.0", 2, 2.0, 1.9, "2.0.0.1", "3-alpha", True]
PLANS = [None, "pro", "PRO", "Pro", "pro ", "free", 1, 1.0, 2, True, False, "True", "true", "1", "1.0", "None",
         "none", ""]
NAMES = [None, "hello world", "HELLO", "Straße", "STRASSE", "say hello", "x_world", "", 123, 12.5, True, "ohne",
         "just words"]
COMPANIES = [None, "acme-123", "ACME-9", "acme-", "foo", 42, "xacme-1"]
SCORES = [None, 5, "5", 5.0, 1, 1.0, True, False, 0, "abc", [1, "a"], [1.0, "a"], {"a": 1}]
TSS = [None, 1700000000, 1700000001, 1699999999, 1700000000000, 1699999999999, 1700050000, 1700050000000,
       "1700000000", "1700000000000", 1700000000.5, 1700086400, 1, True, 0]
TAGS = [None, [], ["a"], ["a", "b"], ["b", "a", "c"], [1], [1.0], [True], [2], ["2"], ["1"], [0], [False],
        [None], ["1.5"], [1.5], ["x", 3], "a", "ab", {"a": 1}, [1, 2], [["a"]]]
EMAILS = [None, "", "a@example.com", "B@EXAMPLE.COM", "c@other.org", "d@example.com.au"]
LOCALES = [None, "en_US", "EN-gb", "de_DE", ""]
OS_NAMES = [None, "iOS", "ios", "Android", "Windows"]
COUNTRIES = [None, "US", "us", "DE", "FR"]
TIERS = [None, None, "production", "staging", "development"]
COMPANY_IDS = [None, {"companyID": "c1"}, {"companyID": "C1"}, {"companyid": "c2"}, {"companyID": "c4", "companyid": "c3"},
               {"CompanyID": "c1"}]


UAS = {
    "chrome_windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/120.0.6099.109 Safari/537.36",
    "safari_iphone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
                     "Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
    "firefox_mac": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
    "chrome_android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/120.0.6099.144 Mobile Safari/537.36",
    "edge_windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
}


USER_AGENTS = [None, None] + sorted(UAS.values())


def make_users(n):
    rng = random.Random(20240611)
    users = []
    for i in range(n):
        u = {}
        if i % 11 != 10:
            u["userID"] = "u%d" % i
        pick = lambda pool: pool[rng.randrange(len(pool))]  # noqa: E731
        custom = {}
        for key, pool in (("age", AGES), ("ver", VERS), ("plan", PLANS), ("name", NAMES), ("company", COMPANIES),
                          ("score", SCORES), ("ts", TSS), ("tags", TAGS), ("os_name", OS_NAMES)):
            v = pick(pool)
            if v is not None or rng.random() < 0.2:
                custom[key] = v
        if rng.random() < 0.15:
            custom["email"] = "custom@example.com"  # read only when the email field is missing or ""
        if custom:
            u["custom"] = custom
        for key, pool in (("email", EMAILS), ("appVersion", APP_VERSIONS), ("locale", LOCALES),
                          ("userAgent", USER_AGENTS)):
            v = pick(pool)
            if v is not None:
                u[key] = v
        country = pick(COUNTRIES)
        if country is not None:
            u["country"] = country
            if rng.random() < 0.5:
                u["ip"] = "10.0.%d.%d" % (rng.randrange(256), rng.randrange(256))
        ids = dict(pick(COMPANY_IDS) or {})
        if rng.random() < 0.6:
            ids["stableID"] = "stable-%d" % rng.randrange(10000)
        if "userID" not in u and not ids:
            ids["stableID"] = "stable-only-%d" % i
        if ids:
            u["customIDs"] = ids
        private = {}
        r = rng.random()
        if r < 0.2:
            private["secret"] = "s3cret"
        elif r < 0.3:
            private["secret"] = "other"
        if rng.random() < 0.1:
            private["plan"] = "pro"  # read only when custom has no plan
        if private:
            u["privateAttributes"] = private
        tier = pick(TIERS)
        if tier is not None:
            u["statsigEnvironment"] = {"tier": tier}
        users.append(u)
    return users


def to_sdk_user(u):
    return StatsigUser(
        user_id=u.get("userID"), email=u.get("email"), ip=u.get("ip"), user_agent=u.get("userAgent"),
        country=u.get("country"), locale=u.get("locale"), app_version=u.get("appVersion"),
        custom=u.get("custom"), private_attributes=u.get("privateAttributes"), custom_ids=u.get("customIDs"),
        _statsig_environment=u.get("statsigEnvironment"))


# ---------------------------------------------------------------- evaluation
def exposures(lst):
    return [[e["gate"], e["gateValue"], e["ruleID"]] for e in lst]


class Oracle:
    def __init__(self, dcs):
        self.sdk = StatsigServer()
        self.sdk.initialize("secret-x", StatsigOptions(local_mode=True, bootstrap_values=json.dumps(dcs)))
        self.normalize = self.sdk._StatsigServer__normalize_user

    def close(self):
        self.sdk.shutdown()

    def evaluate(self, u, kind, name):
        user = to_sdk_user(u)
        ev = self.sdk._evaluator
        norm = self.normalize(user)
        if kind == "gate":
            pub = self.sdk.get_feature_gate(user, name, log_exposure=False)
            r = ev.check_gate(norm, name)
            assert pub.value == r.boolean_value and pub.rule_id == r.rule_id
            reason = pub.evaluation_details.reason
        elif kind == "config":
            pub = self.sdk.get_config(user, name, log_exposure=False)
            r = ev.get_config(norm, name)
            assert pub.value == r.json_value and pub.rule_id == r.rule_id
            reason = pub.evaluation_details.reason
        else:
            pub = self.sdk.get_layer(user, name, log_exposure=False)
            r = ev.get_layer(norm, name)
            assert pub.rule_id == r.rule_id and pub.allocated_experiment == r.allocated_experiment
            reason = pub.evaluation_details.reason
        if r.rule_id == "error" or reason == "error":
            raise RuntimeError("the SDK raised for %s %s with user %r" % (kind, name, u))
        out = {}
        if r.boolean_value:
            out["value"] = True
        if kind != "gate" and r.json_value != {}:
            out["json_value"] = r.json_value
        if r.rule_id:
            out["rule_id"] = r.rule_id
        if r.group_name is not None:
            out["group_name"] = r.group_name
        if r.is_experiment_group:
            out["is_experiment_group"] = True
        if r.id_type:
            out["id_type"] = r.id_type
        sec = exposures(r.secondary_exposures)
        if sec:
            out["secondary_exposures"] = sec
        if kind == "layer":
            und = exposures(r.undelegated_secondary_exposures)
            if und != sec:
                out["undelegated_secondary_exposures"] = und
            if r.explicit_parameters:
                out["explicit_parameters"] = r.explicit_parameters
            if r.allocated_experiment is not None:
                out["allocated_experiment"] = r.allocated_experiment
        if reason in ("Unrecognized", "Unsupported"):
            out["reason"] = reason.value if hasattr(reason, "value") else reason
        return out


# ---------------------------------------------------------------- edge cases
# Single (user, spec) cases for corners of the algorithm, each with its own small rule set so the
# main document stays free of behaviour a server may choose to differ on.
EDGE = []


def edge(case_id, note, specs, user, kind, name, layers=None):
    EDGE.append({"id": case_id, "note": note, "specs": specs, "user": user, "kind": kind, "name": name,
                 "layers": layers or {}})


def gate_doc(*gates, configs=(), layer_configs=(), **extra):
    d = {"has_updates": True, "time": 1700000000000, "feature_gates": list(gates),
         "dynamic_configs": list(configs), "layer_configs": list(layer_configs),
         "diagnostics": {"initialize": 0, "dcs": 0, "idlist": 0, "logevent": 0, "api_call": 0}}
    d.update(extra)
    return d


U1 = {"userID": "u1"}
edge("nested_unknown_gate_resets_exposures",
     "pass_gate on an unknown gate resets the evaluation (exposures gathered so far are dropped)",
     gate_doc(G("half", [R("h", [PUBLIC], pct=50)]),
              G("uses_unknown", [R("r", [C("pass_gate", target="half"), C("pass_gate", target="ghost")])])),
     {"userID": "u3"}, "gate", "uses_unknown")
edge("rule_without_pass_percentage", "a rule with no passPercentage reads it as 0 (always fails)",
     gate_doc(G("no_pct", [{"name": "r", "id": "r", "salt": "r", "conditions": [PUBLIC], "returnValue": True,
                             "idType": "userID"}])),
     U1, "gate", "no_pct")
edge("spec_without_salt", "a spec with no salt hashes with the empty string as its salt",
     gate_doc({"name": "no_salt", "type": "feature_gate", "entity": "feature_gate", "enabled": True,
               "defaultValue": False, "idType": "userID", "rules": [R("r", [PUBLIC], pct=50, salt="s")]}),
     {"userID": "user-3"}, "gate", "no_salt")
edge("config_without_default", "a config with no defaultValue serves {}",
     gate_doc(configs=[{"name": "no_default", "type": "dynamic_config", "entity": "dynamic_config",
                        "salt": "x", "enabled": True, "idType": "userID", "rules": []}]),
     U1, "config", "no_default")
edge("on_negative_epoch", "`on` compares calendar dates: -1 s is 1969-12-31, 1 s is 1970-01-01 (UTC)",
     gate_doc(op_gate("on_neg", uf("ts", "on", 1))), {"userID": "u1", "custom": {"ts": -1}}, "gate", "op_on_neg")
edge("array_target_int_with_spaces", "array targets go through int(), which accepts ' 2'",
     gate_doc(op_gate("arr_sp", uf("tags", "array_contains_any", [" 2"]))),
     {"userID": "u1", "custom": {"tags": [2]}}, "gate", "op_arr_sp")
edge("custom_casefold_empty_string", "user_field falls back to custom[field.casefold()] and returns its \"\"",
     gate_doc(op_gate("empty_eq", uf("Plan", "eq", ""))), {"userID": "u1", "custom": {"plan": ""}}, "gate",
     "op_empty_eq")
edge("private_lower_empty_string", "user_field falls back to privateAttributes[field.lower()] and returns its \"\"",
     gate_doc(op_gate("priv_eq", uf("Secret", "eq", ""))), {"userID": "u1", "privateAttributes": {"secret": ""}},
     "gate", "op_priv_eq")
edge("nfd_not_equal_nfc_any", "strings compare by code points: 'cafe\\u0301' is not 'caf\\u00e9'",
     gate_doc(op_gate("nfc_any", uf("name", "any", ["caf\u00e9"]))),
     {"userID": "u1", "custom": {"name": "cafe\u0301"}}, "gate", "op_nfc_any")
edge("nfd_not_equal_nfc_eq", "eq compares by code points",
     gate_doc(op_gate("nfc_eq", uf("name", "eq", "caf\u00e9"))),
     {"userID": "u1", "custom": {"name": "cafe\u0301"}}, "gate", "op_nfc_eq")
edge("nfd_contains", "str_contains_any finds 'e' in 'cafe\\u0301' (code points, not characters)",
     gate_doc(op_gate("nfd_contains", uf("name", "str_contains_any", ["cafe"]))),
     {"userID": "u1", "custom": {"name": "cafe\u0301"}}, "gate", "op_nfd_contains")
edge("nfd_ends_with", "str_ends_with_any on code points: 'cafe\\u0301' does not end with 'caf\\u00e9'",
     gate_doc(op_gate("nfd_ends", uf("name", "str_ends_with_any", ["caf\u00e9"]))),
     {"userID": "u1", "custom": {"name": "cafe\u0301"}}, "gate", "op_nfd_ends")
edge("string_target_for_str_op", "str_contains_any with a string target iterates its characters",
     gate_doc(op_gate("str_target", uf("name", "str_contains_any", "xyz"))),
     {"userID": "u1", "custom": {"name": "box"}}, "gate", "op_str_target")
edge("uppercase_operator", "an upper-case operator passes the load check but matches no operator at evaluation",
     gate_doc(op_gate("upper_op", uf("age", "GT", 18))), {"userID": "u1", "custom": {"age": 30}}, "gate",
     "op_upper_op")
edge("env_without_tier", "a user environment without tier is kept as is (the default environment is not added)",
     gate_doc(op_gate("env_prod", C("environment_field", "any", ["production"], field="tier")),
              default_environment="production"),
     {"userID": "u1", "statsigEnvironment": {"region": "eu"}}, "gate", "op_env_prod")
edge("casefold_ligature", "casefold maps the ligature '\\ufb01' to 'fi'",
     gate_doc(op_gate("lig", uf("name", "str_starts_with_any", ["fi"]))),
     {"userID": "u1", "custom": {"name": "\ufb01le"}}, "gate", "op_lig")
edge("casefold_final_sigma", "casefold maps final sigma to sigma",
     gate_doc(op_gate("sigma", uf("name", "any", ["\u03bf\u03b4\u03bf\u03c3"]))),
     {"userID": "u1", "custom": {"name": "\u039f\u0394\u039f\u03c2"}}, "gate", "op_sigma")
edge("negative_zero", "str(-0.0) is '-0.0'",
     gate_doc(op_gate("negzero", uf("x", "any", ["-0.0"]))), {"userID": "u1", "custom": {"x": -0.0}}, "gate",
     "op_negzero")
edge("big_int", "ints beyond 64 bits keep their digits",
     gate_doc(op_gate("bigint", uf("x", "any", ["12345678901234567890"]))),
     {"userID": "u1", "custom": {"x": 12345678901234567890}}, "gate", "op_bigint")
edge("date_string_with_spaces", "int(' 1700000000 ') works; its str() has 12 characters so it is read as ms",
     gate_doc(op_gate("date_sp", uf("ts", "before", 1700000000))),
     {"userID": "u1", "custom": {"ts": " 1700000000 "}}, "gate", "op_date_sp")
edge("dict_repr_order", "str() of a dict keeps insertion order",
     gate_doc(op_gate("dict_order", uf("x", "str_starts_with_any", ["{'b': 1"]))),
     {"userID": "u1", "custom": {"x": {"b": 1, "a": 2}}}, "gate", "op_dict_order")
edge("repr_quote", "str() of a list picks double quotes for a string with a single quote",
     gate_doc(op_gate("quote", uf("x", "str_contains_any", ['"it\'s"']))),
     {"userID": "u1", "custom": {"x": ["it's"]}}, "gate", "op_quote")
edge("rule_name_without_id", "a rule with a name but no id reports rule_id ''",
     gate_doc(G("no_id", [{"name": "named", "salt": "s", "passPercentage": 100, "conditions": [PUBLIC],
                           "returnValue": True, "idType": "userID"}])),
     U1, "gate", "no_id")
edge("multi_pass_gate_string_target", "multi_pass_gate with a string target iterates its characters",
     gate_doc(G("a", [R("ra", [PUBLIC])]), G("multi_str", [R("m", [C("multi_pass_gate", target="ab")])])),
     U1, "gate", "multi_str")
edge("version_nan_part", "version parts go through int(float(part)); int(nan) is a ValueError, so the check is false",
     gate_doc(op_gate("ver_nan", uf("appVersion", "version_gt", "1.0"))),
     {"userID": "u1", "appVersion": "nan.1"}, "gate", "op_ver_nan")
edge("float_underscore", "float('1_0') is 10.0",
     gate_doc(op_gate("underscore", uf("age", "gt", 9))), {"userID": "u1", "custom": {"age": "1_0"}}, "gate",
     "op_underscore")
edge("float_nan_paren", "float('nan(1)') raises in Python; the SDK reports an error",
     gate_doc(op_gate("nanparen", uf("age", "gt", 9))), {"userID": "u1", "custom": {"age": "nan(1)"}}, "gate",
     "op_nanparen")
for ua_name, ua in UAS.items():
    for field in ("os_name", "os_version", "browser_name", "browser_version"):
        # str_matches '.' records whether a value was found; eq against the SDK's value checks it
        edge("ua_%s_%s" % (ua_name, field), "user-agent parsing (%s of %s)" % (field, ua_name),
             gate_doc(op_gate("ua", C("ua_based", "str_matches", "^$", field=field))),
             {"userID": "u1", "userAgent": ua}, "gate", "op_ua")


def ua_value(oracle_sdk, ua, field):
    """The SDK's parsed value for a user agent field (to build an eq check with it)."""
    ev = oracle_sdk._evaluator
    u = StatsigUser(user_id="u1", user_agent=ua)
    return ev._Evaluator__get_from_user_agent(u, field, ev.get_config(u, "x"))


def main():
    users = make_users(int(sys.argv[1]) if len(sys.argv) > 1 else 250)
    oracle = Oracle(DCS)
    expected = []
    for u in users:
        expected.append([oracle.evaluate(u, kind, name) for kind, name in CHECKS])
    # user-agent edge cases: compare against the SDK's parsed value with eq
    for e in EDGE:
        if e["id"].startswith("ua_"):
            field = e["specs"]["feature_gates"][0]["rules"][0]["conditions"][0]["field"]
            value = ua_value(oracle.sdk, e["user"]["userAgent"], field)
            cond = e["specs"]["feature_gates"][0]["rules"][0]["conditions"][0]
            cond["operator"] = "eq"
            cond["targetValue"] = value
            e["note"] += ": the SDK reads %r" % (value,)
    oracle.close()

    edges = []
    for e in EDGE:
        o = Oracle(e["specs"])
        try:
            result = o.evaluate(e["user"], e["kind"], e["name"])
        except RuntimeError:
            result = {"rule_id": "error"}
        finally:
            o.close()
        edges.append({"id": e["id"], "note": e["note"], "dcs": e["specs"], "user": e["user"], "kind": e["kind"],
                      "name": e["name"], "expected": result})

    out = {
        "generator": "Tests/VaneCoreTests/Fixtures/make_fixtures.py with statsig (Python) 0.72.1, TZ=UTC",
        "dcs": DCS, "users": users, "checks": CHECKS, "expected": expected, "edge": edges,
    }
    path = os.path.join(HERE, "evaluations.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"), ensure_ascii=True)
        f.write("\n")
    print("wrote %s: %d users x %d checks, %d edge cases" % (path, len(users), len(CHECKS), len(edges)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
