"""The rule set the SDK conformance test loads into Vane.

Half of it goes through the console API (Statsig console shapes, console condition
aliases, experiments with a lifecycle); the other half is a hand-written
download_config_specs document with fixed salts, loaded with POST /console/v1/import/statsig.
Console entities reference imported ones, so the import is loaded first.
"""
from _support import ON_DAY_MS, VIP_IDS

PAST_MS = 1600000000000     # 2020-09-13
FUTURE_MS = 4102444800000   # 2100-01-01
VIP_LIST = "vip_list"


def c(type_, operator=None, target=None, field=None, idType=None, additionalValues=None):
    """A console condition."""
    d = {"type": type_}
    if operator is not None:
        d["operator"] = operator
    if target is not None:
        d["targetValue"] = target
    if field is not None:
        d["field"] = field
    if idType is not None:
        d["idType"] = idType
    if additionalValues is not None:
        d["additionalValues"] = additionalValues
    return d


PUBLIC = c("public")


def r(name, pct, conditions, environments=None, returnValue=None, **extra):
    """A console rule."""
    d = {"name": name, "passPercentage": pct, "conditions": conditions}
    if environments is not None:
        d["environments"] = environments
    if returnValue is not None:
        d["returnValue"] = returnValue
    d.update(extra)
    return d


# ---------------------------------------------------------------- console: segments

CONSOLE_SEGMENTS = [
    {"name": "seg_internal", "segmentType": "rule_based", "description": "employees",
     "rules": [r("internal emails", 100, [c("email", "str_ends_with_any", ["@vane.dev", "@internal.example"])])]},
    {"name": "seg_vip", "segmentType": "id_list", "idList": VIP_LIST},
]

# ---------------------------------------------------------------- console: gates

CONSOLE_GATES = [
    {"name": "c_public_37_5", "description": "partial rollout",
     "rules": [r("37.5% of everyone", 37.5, [PUBLIC])]},
    {"name": "c_user_ids", "rules": [
        r("listed users", 100, [c("user_id", "any", ["u1", "U2", "user-7", "ALICE", "12345"])]),
        r("case sensitive", 100, [c("user_id", "any_case_sensitive", ["bob", "Beta-1", "User-7"])]),
        r("not listed, prefix", 30, [c("user_id", "none", ["u1", "u2"]),
                                     c("user_id", "str_starts_with_any", ["user-1", "User-2"])]),
    ]},
    {"name": "c_email", "rules": [
        r("company domains", 100, [c("email", "str_ends_with_any", ["@vane.dev", "@Internal.Example"])]),
        r("gmail half", 50, [c("email", "str_ends_with_any", ["@gmail.com"])]),
    ]},
    {"name": "c_email_clean", "rules": [
        r("no test or spam", 100, [c("email", "str_contains_none", ["test", "SPAM"]),
                                   c("email", "str_contains_any", ["@"])]),
    ]},
    {"name": "c_country", "rules": [
        r("north america", 100, [c("country", "any", ["US", "ca"])]),
        r("europe", 75, [c("country", "any", ["GB", "DE", "FR"])]),
    ]},
    {"name": "c_locale", "rules": [
        r("english or french", 100, [c("locale", "str_starts_with_any", ["en", "FR"])]),
    ]},
    {"name": "c_app_version", "rules": [
        r("exactly 1.2.3", 100, [c("app_version", "version_eq", "1.2.3")]),
        r("after 3.0", 100, [c("app_version", "version_gt", "3.0")]),
        r("old half", 50, [c("app_version", "version_lte", "0.9.9")]),
        r("not 2.0.0 and below 2.5", 100, [c("app_version", "version_neq", "2.0.0"),
                                           c("app_version", "version_lt", "2.5")]),
        r("2.1 and later", 80, [c("app_version", "version_gte", "2.1.0-beta")]),
    ]},
    {"name": "c_numeric", "rules": [
        r("over 30", 100, [c("custom_field", "gt", 30, field="age")]),
        r("18 or younger", 60, [c("custom_field", "lte", 18, field="age")]),
        r("score band", 100, [c("custom_field", "gte", 50.5, field="score"),
                              c("custom_field", "lt", 90, field="score")]),
        r("low score", 100, [c("custom_field", "lt", "10", field="score")]),
    ]},
    {"name": "c_eq", "rules": [
        r("pro plan", 100, [c("custom_field", "eq", "pro", field="plan")]),
        r("level 3", 100, [c("custom_field", "eq", 3, field="level")]),
        r("beta true", 100, [c("custom_field", "eq", True, field="beta")]),
        r("level 1", 100, [c("custom_field", "eq", 1, field="level")]),
        r("not free", 25, [c("custom_field", "neq", "free", field="plan")]),
    ]},
    {"name": "c_regex", "rules": [
        r("nickname pattern", 100, [c("custom_field", "str_matches", "^[a-z]+[0-9]{2}$", field="nickname")]),
        r("webmail", 100, [c("email", "str_matches", "(gmail|yahoo)\\.com$")]),
    ]},
    {"name": "c_arrays", "rules": [
        r("any a or 7", 100, [c("custom_field", "array_contains_any", ["a", 7], field="tags")]),
        r("all x and y", 100, [c("custom_field", "array_contains_all", ["x", "y"], field="tags")]),
        r("none z or 0", 100, [c("custom_field", "array_contains_none", ["z", "0"], field="tags")]),
        r("not all 1 and 2", 100, [c("custom_field", "not_array_contains_all", [1, "2"], field="tags")]),
    ]},
    {"name": "c_case", "rules": [
        r("exact team", 100, [c("custom_field", "any_case_sensitive", ["Alpha", "beta"], field="team")]),
        r("other teams", 50, [c("custom_field", "none_case_sensitive", ["Alpha", "beta", "GAMMA"], field="team")]),
    ]},
    {"name": "c_env_tier", "rules": [
        r("pre-production", 100, [c("environment_tier", "any", ["staging", "development"])]),
    ]},
    {"name": "c_env_limited", "rules": [
        r("staging everyone", 100, [PUBLIC], environments=["staging"]),
        r("production 20%", 20, [PUBLIC], environments=["production"]),
        r("dev and staging staff", 100, [c("email", "str_ends_with_any", ["@vane.dev"])],
          environments=["development", "staging"]),
    ]},
    {"name": "c_time", "rules": [
        r("in the window", 50, [c("time", "after", PAST_MS), c("time", "before", FUTURE_MS)]),
    ]},
    {"name": "c_browser", "rules": [
        r("chrome or firefox", 100, [c("browser_name", "any", ["Chrome", "Firefox"])]),
        r("apple", 100, [c("os_name", "any", ["iOS", "Mac OS X"])]),
        r("edge", 100, [c("ua_based", "str_contains_any", ["Edg/"], field="userAgent")]),
    ]},
    {"name": "c_chain", "rules": [
        r("rollout and not email", 100, [c("passes_gate", target="c_public_37_5"),
                                         c("fails_gate", target="c_email")]),
    ]},
    {"name": "c_chain_deep", "rules": [
        r("chain", 100, [c("passes_gate", target="c_chain")]),
        r("internal", 100, [c("passes_segment", target="seg_internal")]),
        r("not vip, imported rollout", 50, [c("fails_segment", target="seg_vip"),
                                            c("passes_gate", target="i_rollout_12_5")]),
    ]},
    {"name": "c_vip", "rules": [r("vip segment", 100, [c("passes_segment", target="seg_vip")])]},
    {"name": "c_company_rollout", "idType": "companyID", "rules": [r("half of companies", 50, [PUBLIC])]},
    {"name": "c_stable_bucket", "idType": "stableID", "rules": [
        r("bucket below 300", 100, [c("user_bucket", "lt", 300, additionalValues={"salt": "sb-salt"})]),
        r("10% of the rest", 10, [PUBLIC]),
    ]},
    {"name": "c_company_ids", "rules": [
        r("named companies", 100, [c("unit_id", "any", ["acme", "globex"], idType="companyID")]),
        r("not initech", 40, [c("unit_id", "none", ["initech"], idType="companyID")]),
    ]},
    {"name": "c_multi", "rules": [
        r("country or locale", 100, [c("multi_pass_gate", target=["c_country", "c_locale"])]),
        r("fails a rollout", 50, [c("multi_fail_gate", target=["c_public_37_5", "i_rollout_12_5"])]),
    ]},
    {"name": "c_disabled", "isEnabled": False, "rules": [r("everyone", 100, [PUBLIC])]},
    {"name": "c_ip", "rules": [
        r("private ranges", 100, [c("ip_based", "str_starts_with_any", ["10.", "192.168."], field="ip")]),
        r("google dns", 100, [c("ip_based", "any", ["8.8.8.8"], field="ip")]),
    ]},
    {"name": "c_private", "rules": [
        r("secret flag", 100, [c("custom_field", "eq", True, field="secret_flag")]),
        r("enterprise", 100, [c("user_field", "any", ["enterprise"], field="plan")]),
    ]},
    {"name": "c_ua_sdk", "rules": [
        r("windows or android", 100, [c("ua_based", "any", ["Windows", "Android"], field="os_name")]),
        r("new apple os", 100, [c("ua_based", "version_gte", "17.0", field="os_version")]),
        r("older browsers", 100, [c("ua_based", "version_lt", "110", field="browser_version")]),
    ]},
    {"name": "c_dates", "rules": [
        r("signed up before", 100, [c("custom_field", "before", 1700000000000, field="signup")]),
        r("signed up after (seconds)", 100, [c("custom_field", "after", 1750000000, field="signup")]),
        r("signed up on the day", 100, [c("custom_field", "on", ON_DAY_MS, field="signup")]),
    ]},
    {"name": "c_id_list", "rules": [
        r("in vip list", 100, [c("unit_id", "in_segment_list", VIP_LIST)]),
        r("email not in list", 50, [c("email", "not_in_segment_list", VIP_LIST)]),
    ]},
    {"name": "c_floats", "rules": [
        r("ratio strings", 100, [c("custom_field", "any", ["0.1", "1e-05", "1e+16", "1.0", "3",
                                                           "0.30000000000000004", "1e+22", "100.0"],
                                   field="ratio")]),
        r("ratio prefix", 100, [c("custom_field", "str_starts_with_any", ["1234"], field="ratio")]),
        r("flag true", 100, [c("custom_field", "any", ["true"], field="flag")]),
        r("flag True exact", 100, [c("custom_field", "any_case_sensitive", ["True"], field="flag")]),
    ]},
    {"name": "c_sdk_types", "description": "SDK condition type names through the console", "rules": [
        r("sdk pass/fail gate", 100, [c("pass_gate", target="c_locale"), c("fail_gate", target="i_rollout_12_5")]),
        r("sdk environment and time", 100, [c("environment_field", "none", ["production"], field="tier"),
                                            c("current_time", "gt", PAST_MS)]),
        r("sdk user_field on email", 35, [c("user_field", "str_contains_any", ["+"], field="email")]),
    ]},
    {"name": "c_unicode", "description": "non-ASCII values and targets", "rules": [
        r("teams", 100, [c("custom_field", "any", ["ärzte", "STRASSE", "σοφια"], field="team")]),
        r("accented email", 100, [c("email", "str_contains_any", ["JOSÉ", "über"])]),
        r("unicode ids", 60, [c("user_id", "str_starts_with_any", ["用户", "josé", "ÜNÏ"])]),
        r("exact team", 100, [c("custom_field", "any_case_sensitive", ["Œuvre"], field="team")]),
    ]},
    {"name": "c_levels", "rules": [
        r("level 3 or 4.0", 100, [c("custom_field", "any", ["3", "4.0"], field="level")]),
        r("tags text", 100, [c("custom_field", "str_contains_any", ["'x'", "7"], field="tags")]),
    ]},
]

# ---------------------------------------------------------------- console: dynamic configs

CONSOLE_CONFIGS = [
    {"name": "cfg_theme", "defaultValue": {"color": "blue", "size": 1, "nested": {"a": [1, 2], "b": None}},
     "rules": [
         r("internal", 100, [c("passes_segment", target="seg_internal")],
           returnValue={"color": "green", "size": 2, "nested": {"a": [], "b": "x"}}),
         r("US half", 50, [c("country", "any", ["US"])], returnValue={"color": "red", "size": 3}),
     ]},
    {"name": "cfg_limits", "idType": "companyID", "defaultValue": {"limit": 10, "burst": 1.5},
     "rules": [
         r("rollout", 100, [c("passes_gate", target="c_company_rollout")],
           returnValue={"limit": 100, "burst": 2.5}),
         r("acme", 100, [c("unit_id", "any", ["acme"], idType="companyID")], returnValue={"limit": 50}),
     ]},
    {"name": "cfg_env", "defaultValue": {"endpoint": "prod"}, "rules": [
        r("staging", 100, [PUBLIC], environments=["staging"], returnValue={"endpoint": "staging"}),
        r("dev", 100, [PUBLIC], environments=["development"], returnValue={"endpoint": "dev"}),
    ]},
    {"name": "cfg_version", "defaultValue": {"min": "1.0"}, "rules": [
        r("new", 100, [c("app_version", "version_gte", "2.0")], returnValue={"min": "2.0", "ratio": 0.25}),
        r("pre-release", 50, [c("app_version", "str_contains_any", ["beta", "rc"])],
          returnValue={"min": "beta"}),
    ]},
    {"name": "cfg_disabled", "isEnabled": False, "defaultValue": {"x": 1},
     "rules": [r("everyone", 100, [PUBLIC], returnValue={"x": 2})]},
    {"name": "cfg_stable", "idType": "stableID", "defaultValue": {"bucket": "none"}, "rules": [
        r("low", 100, [c("user_bucket", "lt", 500, idType="stableID", additionalValues={"salt": "cfg-stable"})],
          returnValue={"bucket": "low"}),
        r("a third of the rest", 33.3, [PUBLIC], returnValue={"bucket": "rest"}),
    ]},
    {"name": "cfg_no_rules", "defaultValue": {"only": "default", "n": 0}, "rules": []},
]

# ---------------------------------------------------------------- console: layers and experiments

CONSOLE_LAYERS = [
    {"name": "c_layer_home", "defaultValue": {"hero": "default", "cta_color": "gray", "show_banner": False,
                                              "max_items": 10}},
    {"name": "c_layer_empty", "defaultValue": {"mode": "off"}},
]


def g(name, size, params):
    return {"name": name, "size": size, "parameterValues": params}


# (experiment body, lifecycle actions)
CONSOLE_EXPERIMENTS = [
    ({"name": "c_exp_hero", "layer": "c_layer_home", "allocation": 40,
      "groups": [g("Control", 50, {"hero": "classic"}), g("Test", 50, {"hero": "bold", "max_items": 20})]},
     [("start", None)]),
    ({"name": "c_exp_banner", "layer": "c_layer_home", "allocation": 30,
      "groups": [g("A", 34, {"show_banner": True, "cta_color": "red"}),
                 g("B", 33, {"show_banner": True, "cta_color": "blue"}),
                 g("C", 33, {"show_banner": False})]},
     [("start", None)]),
    ({"name": "c_exp_targeted", "targetingGate": "c_country", "allocation": 80,
      "groups": [g("Control", 50, {"price": 9.99}), g("Test", 50, {"price": 7.99})]},
     [("start", None)]),
    ({"name": "c_exp_stable", "idType": "stableID",
      "groups": [g("A", 25, {"variant": "a"}), g("B", 75, {"variant": "b"})]},
     [("start", None)]),
    ({"name": "c_exp_decided", "groups": [g("X", 50, {"v": "x"}), g("Y", 50, {"v": "y"})]},
     [("start", None), ("make_decision", {"group": "Y"})]),
    ({"name": "c_exp_setup", "groups": [g("P", 50, {"p": 1}), g("Q", 50, {"p": 2})]}, []),
    ({"name": "c_exp_abandoned", "groups": [g("M", 60, {"m": True}), g("N", 40, {"m": False})]},
     [("start", None), ("abandon", None)]),
]

# ---------------------------------------------------------------- imported DCS document


def dc(type_, operator=None, target=None, field=None, idType="userID", salt=None):
    """An SDK (download_config_specs) condition."""
    return {"type": type_, "operator": operator, "targetValue": target, "field": field,
            "additionalValues": {"salt": salt} if salt is not None else {}, "idType": idType}


def drule(rid, pct, conditions, ret=True, idType="userID", salt=None, **extra):
    d = {"name": rid, "id": rid, "salt": salt or (rid + "-salt"), "passPercentage": pct,
         "conditions": conditions, "returnValue": ret, "idType": idType}
    d.update(extra)
    return d


def dspec(name, type_, entity, salt, default, rules, idType="userID", enabled=True, **extra):
    d = {"name": name, "type": type_, "entity": entity, "salt": salt, "enabled": enabled,
         "defaultValue": default, "rules": rules, "idType": idType}
    d.update(extra)
    return d


DPUBLIC = dc("public")

IMPORTED_GATES = [
    dspec("i_rollout_12_5", "feature_gate", "feature_gate", "i-rollout-salt", False,
          [drule("i_rollout_rule", 12.5, [DPUBLIC], salt="i-rollout-rule-salt")]),
    dspec("segment:i_beta", "feature_gate", "segment", "i-beta-salt", False,
          [drule("i_beta_ids", 100, [dc("unit_id", "any", ["user-1", "user-2", "user-3", "beta-1", "BETA-2",
                                                            "u1", "user-7"])])]),
    dspec("i_uses_segment", "feature_gate", "feature_gate", "i-uses-segment-salt", False,
          [drule("i_seg_rule", 100, [dc("pass_gate", None, "segment:i_beta")]),
           drule("i_seg_rest", 5, [DPUBLIC])]),
    dspec("i_field_case", "feature_gate", "feature_gate", "i-field-case-salt", False,
          [drule("i_plan_upper", 100, [dc("user_field", "any", ["pro", "enterprise"], field="PLAN")]),
           drule("i_email_plus", 100, [dc("user_field", "str_contains_any", ["+"], field="Email")])]),
    dspec("i_env", "feature_gate", "feature_gate", "i-env-salt", False,
          [drule("i_env_prod", 100, [dc("environment_field", "any", ["production"], field="tier")]),
           drule("i_env_other", 60, [dc("environment_field", "none", ["production", "staging"],
                                        field="tier")])]),
    dspec("i_ip", "feature_gate", "feature_gate", "i-ip-salt", False,
          [drule("i_ip_not_na", 100, [dc("ip_based", "none", ["US", "CA"], field="country")]),
           drule("i_ip_private", 100, [dc("ip_based", "str_starts_with_any", ["10."], field="ip")])]),
    dspec("i_ua", "feature_gate", "feature_gate", "i-ua-salt", False,
          [drule("i_ua_modern_chrome", 100, [dc("ua_based", "version_gte", "10.0", field="os_version"),
                                             dc("ua_based", "str_contains_any", ["chrome"],
                                                field="browser_name")]),
           drule("i_ua_old_browser", 100, [dc("ua_based", "version_lt", "100", field="browser_version")])]),
    dspec("i_fail_chain", "feature_gate", "feature_gate", "i-fail-chain-salt", False,
          [drule("i_fail_chain_rule", 50, [dc("fail_gate", None, "i_rollout_12_5"),
                                           dc("pass_gate", None, "i_field_case")])]),
    dspec("i_multi_fail", "feature_gate", "feature_gate", "i-multi-fail-salt", False,
          [drule("i_multi_fail_rule", 100, [dc("multi_fail_gate", None, ["i_rollout_12_5", "segment:i_beta"])])]),
    dspec("i_stable_unit", "feature_gate", "feature_gate", "i-stable-unit-salt", False,
          [drule("i_stable_prefix", 100, [dc("unit_id", "str_starts_with_any", ["0", "1", "2", "3"],
                                             idType="stableID")], idType="stableID"),
           drule("i_stable_rest", 70, [DPUBLIC], idType="stableID")], idType="stableID"),
    dspec("i_bucket_any", "feature_gate", "feature_gate", "i-bucket-any-salt", False,
          [drule("i_bucket_even", 100, [dc("user_bucket", "any", list(range(0, 250, 2)), salt="ib-salt")]),
           drule("i_bucket_high", 100, [dc("user_bucket", "gte", 900, salt="ib-salt-2")])]),
    dspec("i_disabled", "feature_gate", "feature_gate", "i-disabled-salt", False,
          [drule("i_disabled_rule", 100, [DPUBLIC])], enabled=False),
    dspec("i_numeric", "feature_gate", "feature_gate", "i-numeric-salt", False,
          [drule("i_numeric_gt_str", 100, [dc("user_field", "gt", "50", field="score")]),
           drule("i_numeric_lte", 100, [dc("user_field", "lte", 10.5, field="score")])]),
    dspec("i_regex_email", "feature_gate", "feature_gate", "i-regex-salt", False,
          [drule("i_regex_rule", 100, [dc("user_field", "str_matches", "^[a-z]+\\.[a-z]+[0-9]*@", field="email")])]),
]

IMPORTED_CONFIGS = [
    dspec("i_cfg_pricing", "dynamic_config", "dynamic_config", "i-cfg-pricing-salt",
          {"currency": "USD", "price": 10, "tiers": []},
          [drule("i_pricing_us", 100, [dc("ip_based", "any", ["US", "us"], field="country")],
                 {"currency": "USD", "price": 9.99, "tiers": [1, 2, 3]}),
           drule("i_pricing_eu", 50, [dc("user_field", "str_starts_with_any", ["fr", "de"], field="locale")],
                 {"currency": "EUR", "price": 8.5})]),
    dspec("i_cfg_bucket", "dynamic_config", "dynamic_config", "i-cfg-bucket-salt", {"bucket": "high"},
          [drule("i_bucket_low", 100, [dc("user_bucket", "lt", 333, salt="i-cfg-bucket")], {"bucket": "low"}),
           drule("i_bucket_mid", 100, [dc("user_bucket", "lt", 666, salt="i-cfg-bucket")], {"bucket": "mid"})]),
    dspec("i_cfg_gate_chain", "dynamic_config", "dynamic_config", "i-cfg-chain-salt", {"chain": False},
          [drule("i_chain_rule", 100, [dc("pass_gate", None, "i_fail_chain")], {"chain": True})]),
    # An experiment inside a layer, with every layer parameter in each group (see the protocol notes).
    dspec("i_exp_checkout", "dynamic_config", "experiment", "i-exp-checkout-salt",
          {"button": "Purchase", "steps": 4, "layer_only": "x"},
          [drule("i_checkout_control", 100, [dc("user_bucket", "lt", 500, salt="i-exp-checkout-salt")],
                 {"button": "Buy", "steps": 3, "layer_only": "x"}, groupName="Control", isExperimentGroup=True),
           drule("i_checkout_test", 100, [dc("user_bucket", "lt", 1000, salt="i-exp-checkout-salt")],
                 {"button": "Buy now", "steps": 2, "layer_only": "x"}, groupName="Test", isExperimentGroup=True)],
          isActive=True, hasSharedParams=True, explicitParameters=["button", "steps"]),
    # A standalone experiment with a targeting rule in front.
    dspec("i_exp_search", "dynamic_config", "experiment", "i-exp-search-salt", {"algo": "v1"},
          [drule("i_search_targeting", 0, [dc("fail_gate", None, "i_field_case")], {"algo": "v1"}),
           drule("i_search_a", 100, [dc("user_bucket", "lt", 300, salt="i-exp-search-salt")], {"algo": "v2"},
                 groupName="A", isExperimentGroup=True),
           drule("i_search_b", 100, [dc("user_bucket", "lt", 600, salt="i-exp-search-salt")], {"algo": "v3"},
                 groupName="B", isExperimentGroup=True)],
          isActive=True, hasSharedParams=False),
]

IMPORTED_LAYERS = [
    dspec("i_layer_pay", "dynamic_config", "layer", "i-layer-pay-salt",
          {"button": "Purchase", "steps": 4, "layer_only": "x"},
          [drule("i_layer_alloc", 100,
                 [dc("fail_gate", None, "i_disabled"), dc("pass_gate", None, "i_rollout_12_5"),
                  dc("user_bucket", "any", list(range(0, 600)), salt="i-layer-pay-salt")],
                 {}, configDelegate="i_exp_checkout"),
           drule("i_layer_alloc_2", 100,
                 [dc("user_bucket", "any", list(range(0, 600)), salt="i-layer-pay-salt")],
                 {}, configDelegate="i_exp_checkout"),
           drule("i_layer_rest", 100, [DPUBLIC], {"button": "Purchase", "steps": 4, "layer_only": "x"})],
          explicitParameters=[]),
]

IMPORT_DOC = {
    "has_updates": True,
    "time": 1700000000000,
    "feature_gates": IMPORTED_GATES,
    "dynamic_configs": IMPORTED_CONFIGS,
    "layer_configs": IMPORTED_LAYERS,
    "layers": {"i_layer_pay": ["i_exp_checkout"]},
    "default_environment": "production",
    "diagnostics": {"initialize": 0, "dcs": 0, "idlist": 0, "logevent": 0, "api_call": 0},
}


# ---------------------------------------------------------------- names

def gate_names():
    """Gates as client SDKs see them (segments are not gates for callers)."""
    return ([s["name"] for s in IMPORTED_GATES if s["entity"] != "segment"]
            + [gte["name"] for gte in CONSOLE_GATES])


def config_names():
    return ([s["name"] for s in IMPORTED_CONFIGS if s["entity"] == "dynamic_config"]
            + [cfg["name"] for cfg in CONSOLE_CONFIGS])


def experiment_names():
    return ([s["name"] for s in IMPORTED_CONFIGS if s["entity"] == "experiment"]
            + [e[0]["name"] for e in CONSOLE_EXPERIMENTS])


def layer_names():
    return [s["name"] for s in IMPORTED_LAYERS] + [lay["name"] for lay in CONSOLE_LAYERS]


def segment_names():
    return ([s["name"] for s in IMPORTED_GATES if s["entity"] == "segment"]
            + ["segment:" + s["name"] for s in CONSOLE_SEGMENTS])


# ---------------------------------------------------------------- loading

def load(vane):
    """Loads the whole rule set into Vane. Returns the import response's data."""
    # ID list for the ID-list segment and the in_segment_list gate.
    vane.console_ok("POST", "/id_lists", {"name": VIP_LIST, "description": "VIPs"})
    vane.console_ok("POST", "/id_lists/%s/ids" % VIP_LIST, {"add": VIP_IDS, "remove": []})

    imported = vane.console_ok("POST", "/import/statsig", IMPORT_DOC)

    for seg in CONSOLE_SEGMENTS:
        vane.console_ok("POST", "/segments", seg)
    for gate in CONSOLE_GATES:
        vane.console_ok("POST", "/gates", gate)
    for cfg in CONSOLE_CONFIGS:
        vane.console_ok("POST", "/dynamic_configs", cfg)
    for layer in CONSOLE_LAYERS:
        vane.console_ok("POST", "/layers", layer)
    for exp, actions in CONSOLE_EXPERIMENTS:
        vane.console_ok("POST", "/experiments", exp)
        for action, body in actions:
            vane.console_ok("PUT", "/experiments/%s/%s" % (exp["name"], action), body if body is not None else {})
    return imported
