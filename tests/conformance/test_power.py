"""The experiment setup page's power calculator (`GET /console/v1/experiments/{name}/power`) against
statsmodels' NormalIndPower: the smallest detectable change for each duration and the units a
chosen change needs, from a baseline that Vane reads off another experiment's control group and
traffic from that experiment's exposures, or from figures the caller enters."""
import math

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower

from test_pulse_stats import HOUR, base_day, create_experiment, ev, exposure, send, uniq

POWER = NormalIndPower()


def expected_mde(mean, sd, units, shares, alpha, power):
    """Relative MDE with `units` in all: control against the smallest treatment."""
    control, worst = shares[0], min(shares[1:])
    d = POWER.solve_power(effect_size=None, nobs1=units * control, alpha=alpha, power=power,
                          ratio=worst / control, alternative="two-sided")
    return d * sd / abs(mean)


def expected_units(mean, sd, mde, shares, alpha, power):
    control, worst = shares[0], min(shares[1:])
    n1 = POWER.solve_power(effect_size=mde * abs(mean) / sd, nobs1=None, alpha=alpha, power=power,
                           ratio=worst / control, alternative="two-sided")
    return n1 / control


def rel_close(a, b, rel=1e-4):
    return abs(a - b) <= rel * max(abs(a), abs(b))


def test_power_from_another_experiments_control_group_matches_statsmodels(vane):
    rng = np.random.default_rng(20261204)
    purchase = uniq("purchase")
    source, rules = create_experiment(vane, "power_source")
    vane.console_ok("POST", "/experiments/%s/start" % source)
    exposures, events = [], []
    base = base_day()
    for arm in ("Control", "Test"):
        for i in range(800):
            uid = "%s-%s-%d" % (source, arm, i)
            t = base + int(rng.integers(HOUR, 20 * HOUR))
            exposures.append(exposure(source, rules[arm], uid, t))
            for k in range(int(rng.poisson(1.5))):
                events.append(ev(purchase, uid, t + (k + 1) * 60_000, value=10))
    send(vane, exposures)
    send(vane, events)

    planned, _ = create_experiment(vane, "power_planned", groups=(("Control", 50), ("A", 25), ("B", 25)))
    metric = "count:" + purchase
    r = vane.console_ok("GET", "/experiments/%s/power" % planned, params={"metric": metric, "mde": "0.05"})

    results = vane.console_ok("GET", "/experiments/%s/results" % source, params={"metrics": metric})
    control = results["metrics"][0]["comparisons"][0]["control"]
    b = r["baseline"]
    assert b["units"] == control["units"] == 800, (b, control)
    assert rel_close(b["mean"], control["mean"], 1e-12) and rel_close(b["standardDeviation"], control["standardDeviation"], 1e-12)
    assert source in b["source"] and "Control" in b["source"], b
    # Every exposure was on one day (four days ago): 1,600 units a day.
    assert r["unitsPerDay"] == 1600 and source in r["unitsPerDaySource"], r
    assert r["groups"] == ["Control", "A", "B"] and r["weights"] == [50, 25, 25]

    shares = [0.5, 0.25, 0.25]
    assert [row["days"] for row in r["durations"]] == [7, 14, 21, 28, 42, 56]
    for row in r["durations"]:
        units = 1600 * row["days"]
        assert row["units"] == units
        want = expected_mde(b["mean"], b["standardDeviation"], units, shares, 0.05, 0.8)
        assert rel_close(row["minimumDetectableEffect"], want), (row, want)
    want_units = expected_units(b["mean"], b["standardDeviation"], 0.05, shares, 0.05, 0.8)
    assert rel_close(r["target"]["units"], want_units), (r["target"], want_units)
    assert rel_close(r["target"]["days"], want_units / 1600)


def test_entered_figures_are_used_as_given(vane):
    planned, _ = create_experiment(vane, "power_entered", groups=(("Control", 60), ("Test", 40)))
    r = vane.console_ok("GET", "/experiments/%s/power" % planned, params={
        "metric": "count:" + uniq("never_logged"), "mean": "10", "sd": "4", "unitsPerDay": "250",
        "mde": "0.02", "alpha": "0.1", "power": "0.9"})
    assert r["baseline"] == {"mean": 10, "standardDeviation": 4, "source": "entered"}, r["baseline"]
    assert r["unitsPerDaySource"] == "entered" and r["alpha"] == 0.1 and r["power"] == 0.9
    shares = [0.6, 0.4]
    for row in r["durations"]:
        assert rel_close(row["minimumDetectableEffect"], expected_mde(10, 4, 250 * row["days"], shares, 0.1, 0.9)), row
    units = expected_units(10, 4, 0.02, shares, 0.1, 0.9)
    assert rel_close(r["target"]["units"], units) and rel_close(r["target"]["days"], units / 250)


def test_a_baseline_near_zero_gives_null_figures_not_a_broken_answer(vane):
    planned, _ = create_experiment(vane, "power_tiny")
    r = vane.console_ok("GET", "/experiments/%s/power" % planned, params={
        "metric": "count:x", "mean": "1e-310", "sd": "1", "unitsPerDay": "100", "mde": "0.05"})
    assert r["baseline"]["mean"] == 1e-310 and r["target"]["units"] is None and r["target"]["days"] is None, r
    assert all(row["minimumDetectableEffect"] is None for row in r["durations"]), r["durations"]


@pytest.mark.parametrize("params,needle", [
    ({}, "metric:"),
    ({"metric": "count:x", "mde": "abc"}, "mde must be a number"),
    ({"metric": "count:x", "mde": "0"}, "mde must be a number between 0"),
    ({"metric": "count:x", "alpha": "1"}, "alpha must be a number between 0 and 1"),
    ({"metric": "count:x", "power": "1e400"}, "power must be a number"),
    ({"metric": "count:x", "mean": "3"}, "mean and sd: give both or neither"),
    ({"metric": "count:x", "mean": "0", "sd": "1"}, "mean: the baseline mean must be"),
    ({"metric": "count:x", "mean": "1", "sd": "-1"}, "sd must be a number between 0"),
    ({"metric": "count:x", "mean": "1", "sd": "1", "unitsPerDay": "-5"}, "unitsPerDay must be a number"),
    ({"metric": "count:never_logged_anywhere"}, "no experiment or rollout has measured count:never_logged_anywhere"),
])
def test_bad_power_inputs_are_refused_with_a_reason(vane, params, needle):
    planned, _ = create_experiment(vane, "power_bad")
    r = vane.console("GET", "/experiments/%s/power" % planned, params=params)
    assert r.status_code == 400, (r.status_code, r.text)
    assert needle in r.json()["error"], r.json()
    r = vane.console("GET", "/experiments/%s/power" % uniq("missing"), params={"metric": "count:x", "mean": "1", "sd": "1"})
    assert r.status_code == 404, r.text
