"""Results over time against gbstats: an experiment's results as they stood at the end of an earlier
UTC day (`to`), for the units first exposed from a day on (`from`), and the cumulative relative
effect day by day (`cumulative=true`). Units are exposed over three days and log events for up to
30 hours after, so most days hold both new units and more events of earlier ones. The oracle is
gbstats on per-unit counts the test computes from the events it generated, cut at each day's end."""
import numpy as np
import pytest

from test_pulse_stats import (ALPHA, DAY, HOUR, base_day, close, create_experiment, day_str, exposure, fetch_results,
                              oracle, post_events, send, uniq)


@pytest.fixture(scope="module")
def staggered(vane):
    rng = np.random.default_rng(20261204)
    name, rules = create_experiment(vane, "pulse_over_time")
    event = uniq("purchase")
    base = base_day()
    units = []  # (group, exposure time, [event times])
    exposures, events = [], []
    for g, lam in (("Control", 1.0), ("Test", 1.3)):
        for i in range(900):
            uid = "%s-%s%d" % (name, g[0], i)
            t0 = base + int(rng.integers(0, 3)) * DAY + int(rng.integers(HOUR, 12 * HOUR))
            mine = post_events(rng, uid, t0, int(rng.poisson(lam)), event, max_offset=30 * HOUR)
            exposures.append(exposure(name, rules[g], uid, t0))
            events.extend(mine)
            units.append((g, t0, [e["time"] for e in mine]))
    send(vane, exposures)
    send(vane, events)
    return {"name": name, "event": event, "base": base, "units": units}


def arrays(s, day_end, exposed_from=None):
    """Per-group counts of each unit exposed before `day_end` (and at or after `exposed_from`),
    counting its events before `day_end`."""
    out = {"Control": [], "Test": []}
    for g, t0, times in s["units"]:
        if t0 >= day_end or (exposed_from is not None and t0 < exposed_from):
            continue
        out[g].append(float(sum(1 for t in times if t < day_end)))
    return np.asarray(out["Control"]), np.asarray(out["Test"])


def check_relative(got, want, label):
    for k in ("estimate", "lower", "upper", "pValue"):
        assert close(got[k], want["relative"][k]), (label, k, got[k], want["relative"][k])


def test_results_at_the_end_of_earlier_days_match_gbstats(vane, staggered):
    s = staggered
    metric = "count:" + s["event"]
    for d in (0, 1, 3):
        end = s["base"] + (d + 1) * DAY
        c, t = arrays(s, end)
        data = fetch_results(vane, s["name"], {"to": day_str(s["base"] + d * DAY), "cuped": False, "metrics": metric})
        assert data["range"] == {"to": day_str(s["base"] + d * DAY)}, data["range"]
        assert {g["name"]: g["units"] for g in data["groups"]} == {"Control": len(c), "Test": len(t)}, (d, data["groups"])
        comparison = data["metrics"][0]["comparisons"][0]
        want = oracle("mean", c, t, alpha=ALPHA)
        assert close(comparison["control"]["mean"], want["control"]["mean"]) and close(comparison["treatment"]["mean"], want["treatment"]["mean"])
        check_relative(comparison["relative"], want, "to day %d" % d)
    # The units exposed from the second day on, with their data through the fourth.
    c, t = arrays(s, s["base"] + 4 * DAY, exposed_from=s["base"] + DAY)
    data = fetch_results(vane, s["name"], {"from": day_str(s["base"] + DAY), "to": day_str(s["base"] + 3 * DAY),
                                           "cuped": False, "metrics": metric})
    assert {g["name"]: g["units"] for g in data["groups"]} == {"Control": len(c), "Test": len(t)}
    assert set(data["exposuresPerDay"]) == {day_str(s["base"] + DAY), day_str(s["base"] + 2 * DAY)}, data["exposuresPerDay"]
    check_relative(data["metrics"][0]["comparisons"][0]["relative"], oracle("mean", c, t, alpha=ALPHA), "from day 1")


def test_the_cumulative_effect_day_by_day_matches_gbstats(vane, staggered):
    s = staggered
    metric = "count:" + s["event"]
    data = fetch_results(vane, s["name"], {"cumulative": True, "cuped": False, "metrics": metric})
    series = data["cumulative"]
    assert [(x["metric"], x["group"]) for x in series] == [(metric, "Test")], series
    points = series[0]["points"]
    days = [p["day"] for p in points]
    assert days[0] == day_str(s["base"]) and days == sorted(days) and len(days) >= 4, days
    for p in points:
        day_start = next(s["base"] + k * DAY for k in range(10) if day_str(s["base"] + k * DAY) == p["day"])
        c, t = arrays(s, day_start + DAY)
        assert p["units"] == [len(c), len(t)], (p["day"], p["units"], len(c), len(t))
        check_relative(p["relative"], oracle("mean", c, t, alpha=ALPHA), p["day"])
    # The last day is today: the same as the results without a range.
    now = fetch_results(vane, s["name"], {"cuped": False, "metrics": metric})
    assert close(points[-1]["relative"]["estimate"], now["metrics"][0]["comparisons"][0]["relative"]["estimate"])


@pytest.mark.parametrize("params,needle", [
    ({"to": "yesterday"}, "to must be a date such as 2026-12-01"),
    ({"from": "2026-02-30"}, "from must be a date"),
    ({"from": "2026-12-05", "to": "2026-12-01"}, "from (2026-12-05) must not be after to (2026-12-01)"),
    ({"cumulative": "maybe"}, "cumulative must be true or false"),
])
def test_bad_ranges_are_refused_with_a_reason(vane, staggered, params, needle):
    r = vane.console("GET", "/experiments/%s/results" % staggered["name"], params=params)
    assert r.status_code == 400 and needle in r.json()["error"], (r.status_code, r.text)
