"""Drill-downs: results split by a field of each unit's first exposure (`?dimension=`).

A synthetic experiment whose effect lives in one slice: users on the `pro` plan (a custom field)
buy 60 % more in Test, the others the same. Each slice must match the Pulse oracle (gbstats 0.8.0)
on exactly that slice's units, the interaction test must match statsmodels' test of homogeneity
(Cochran's Q) on the slices' effects and flag the plan (and not the environment, which carries no
effect), and values beyond the slice limit pool as `other`."""
import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from test_pulse_stats import (ALPHA, Exact, HOUR, base_day, close, create_experiment, exposure, metric_want,
                              oracle, post_events, problems_vs, results_matching, send, uniq)

PLANS = {"free": 0.45, "pro": 0.35, "team": 0.2}
COUNTRIES = ["US", "DE", "FR", "JP", "BR", "IN", "GB", "ES", "IT", "CA", "MX", "NL"]
LIFT = {"free": 1.0, "pro": 1.6, "team": 1.0}


@pytest.fixture(scope="module")
def experiment(vane):
    rng = np.random.default_rng(20261203)
    name, rules = create_experiment(vane, "drill")
    event = uniq("drill_purchase")
    base = base_day()
    users = []
    exposures, events = [], []
    for g in ("Control", "Test"):
        for i in range(1500):
            uid = "%s-%s%d" % (name, g[0], i)
            # Enough units without a plan (about 225 a group) that their slice has an estimate too.
            plan = rng.choice(list(PLANS), p=list(PLANS.values())) if rng.random() > 0.15 else None
            country = COUNTRIES[min(int(rng.exponential(3)), len(COUNTRIES) - 1)]
            tier = "production" if rng.random() < 0.7 else "staging"
            user = {"userID": uid, "country": country, "statsigEnvironment": {"tier": tier}}
            if plan is not None:
                user["custom"] = {"plan": plan}
            t0 = int(base + rng.integers(HOUR, 20 * HOUR))
            e = exposure(name, rules[g], uid, t0)
            e["user"] = user
            exposures.append(e)
            n = int(rng.poisson(1.0 * (LIFT[plan] if g == "Test" and plan else 1.0)))
            events.extend(post_events(rng, uid, t0, n, event))
            users.append({"group": g, "plan": plan, "country": country, "tier": tier, "count": float(n)})
    send(vane, exposures)
    send(vane, events)
    return {"name": name, "event": event, "users": users}


def slice_want(users, event):
    c = np.array([u["count"] for u in users if u["group"] == "Control"])
    t = np.array([u["count"] for u in users if u["group"] == "Test"])
    return {
        "groups": [{"name": "Control", "units": len(c)}, {"name": "Test", "units": len(t)}],
        "metrics": Exact({"count:" + event: metric_want("count", event, [oracle("mean", c, t)])}),
    }, (c, t)


def by_value(drill):
    return {s["value"]: s for s in drill["slices"]}


def test_each_slice_matches_the_oracle_on_its_own_units(vane, experiment):
    e = experiment
    params = {"metrics": "count:" + e["event"], "dimension": "custom.plan"}
    slices = {p: [u for u in e["users"] if u["plan"] == p] for p in PLANS}
    slices["(none)"] = [u for u in e["users"] if u["plan"] is None]

    def check(data):
        drill = data.get("drillDown") or {}
        got = by_value(drill)
        problems = [] if set(got) == set(slices) else ["slices %s, want %s" % (sorted(got), sorted(slices))]
        for value, users in slices.items():
            want, _ = slice_want(users, e["event"])
            if value in got:
                s = dict(got[value])
                problems += ["%s: %s" % (value, p) for p in problems_vs(s, {"metrics": want["metrics"]})]
                units = {g["name"]: g["units"] for g in s["groups"]}
                if units != {g["name"]: g["units"] for g in want["groups"]}:
                    problems.append("%s: units %s, want %s" % (value, units, want["groups"]))
        return problems

    data = results_matching(vane, e["name"], params, check)
    drill = data["drillDown"]
    assert drill["dimension"] == "custom.plan" and drill["sliceLimit"] == 10
    # Largest slices first, units without the field last.
    assert [s["value"] for s in drill["slices"]][-1] == "(none)"
    assert any("by chance" in n for n in drill["notes"]) and any("(none)" in n for n in drill["notes"]), drill["notes"]
    # The whole results are unchanged by the drill-down.
    whole = results_matching(vane, e["name"], {"metrics": "count:" + e["event"]}, lambda d: [])
    assert "drillDown" not in whole
    assert [g["units"] for g in whole["groups"]] == [sum(s["groups"][i]["units"] for s in drill["slices"]) for i in (0, 1)]


def test_the_interaction_test_matches_statsmodels_and_flags_the_plan(vane, experiment):
    e = experiment
    for dimension, key, flagged in (("custom.plan", "plan", True), ("environment", "tier", False)):
        data = results_matching(vane, e["name"], {"metrics": "count:" + e["event"], "dimension": dimension}, lambda d: [])
        drill = data["drillDown"]
        values = [s["value"] for s in drill["slices"]]
        effects, variances = [], []
        for v in values:
            users = [u for u in e["users"] if (u[key] if u[key] is not None else "(none)") == v]
            _, (c, t) = slice_want(users, e["event"])
            want = oracle("mean", c, t)["absolute"]
            effects.append(want["estimate"])
            variances.append(want["standardError"] ** 2)
        homogeneity = combine_effects(np.array(effects), np.array(variances)).test_homogeneity()
        [interaction] = [i for i in drill["interactions"] if i["metric"] == "count:" + e["event"]]
        assert interaction["group"] == "Test"
        test = interaction["test"]
        assert test["slices"] == len(values) and test["degreesOfFreedom"] == int(homogeneity.df), (test, homogeneity)
        assert close(test["q"], float(homogeneity.statistic)), (test["q"], homogeneity.statistic)
        assert close(test["pValue"], float(homogeneity.pvalue)), (test["pValue"], homogeneity.pvalue)
        assert interaction["heterogeneous"] is flagged and (test["pValue"] < ALPHA) is flagged, (dimension, test)
        print("%s: Q = %.2f on %d df, p = %.3g" % (dimension, test["q"], test["degreesOfFreedom"], test["pValue"]))


def test_values_beyond_the_slice_limit_pool_as_other(vane, experiment):
    e = experiment
    data = results_matching(vane, e["name"], {"metrics": "count:" + e["event"], "dimension": "country", "sliceLimit": 4},
                            lambda d: [])
    drill = data["drillDown"]
    sizes = {}
    for u in e["users"]:
        sizes[u["country"]] = sizes.get(u["country"], 0) + 1
    top = sorted(sizes, key=lambda c: (-sizes[c], c))[:4]
    assert [s["value"] for s in drill["slices"]] == top + ["other"], [s["value"] for s in drill["slices"]]
    other = [u for u in e["users"] if u["country"] not in top]
    want, _ = slice_want(other, e["event"])
    assert not problems_vs(by_value(drill)["other"], {"metrics": want["metrics"]})
    assert any("beyond the 4 largest" in n for n in drill["notes"]), drill["notes"]


@pytest.mark.parametrize("params,message", [
    ({"dimension": "custom.\"plan"}, "dimension"),
    ({"dimension": "x" * 65}, "dimension"),
    ({"dimension": "country", "sliceLimit": "0"}, "sliceLimit"),
    ({"dimension": "country", "sliceLimit": "1e300"}, "sliceLimit"),
])
def test_bad_drill_down_parameters_are_named(vane, experiment, params, message):
    import urllib.parse
    r = vane.console("GET", "/experiments/%s/results?%s" % (experiment["name"], urllib.parse.urlencode(params)))
    assert r.status_code == 400 and message in r.json()["error"], r.text


def test_an_unrecorded_field_is_one_slice_of_none(vane, experiment):
    data = results_matching(vane, experiment["name"], {"metrics": "count:" + experiment["event"], "dimension": "custom.nothing"},
                            lambda d: [])
    assert [s["value"] for s in data["drillDown"]["slices"]] == ["(none)"]
    assert data["drillDown"]["interactions"][0]["test"] is None
    assert data["drillDown"]["interactions"][0]["heterogeneous"] is False
