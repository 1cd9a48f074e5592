"""Pulse (experiment results) statistics against an independent oracle.

Every test generates a synthetic experiment with a known effect (fixed seeds), loads it into the
real Vane through its public APIs only (console API for experiments, gates and metrics;
`/v1/log_event` for exposures and SDK events; `/v1/batch` for Segment events), reads
`GET /console/v1/{experiments|gates}/NAME/results`, and checks every number against gbstats 0.8.0
(and scipy) computed on the exact per-unit arrays the test generated, to relative 1e-6.

Conventions this suite pins (where the spec left room, the choice is noted at the test):
  * a unit's group is its first exposure; units exposed to more than one group are dropped
    (`crossovers`); only metric events at or after the unit's first exposure time count;
  * ratio-like metrics (`mean`, `ratio`) are computed over every exposed unit of the group, as
    gbstats' RatioStatistic with n = units (units without events add 0 to both sums);
  * CUPED covariate = the same metric over UTC days D-7..D-1 (D = day of first exposure); units
    without pre-period data add 0 to the covariate sums (GrowthBook's convention) and are not counted
    in `unitsWithPreData`; theta is pooled over both groups exactly as gbstats computes it.

Event times are relative to the wall clock: exposures happen 3-4 days ago (UTC), so that pre-period
events (1-6 days before exposure) and post-exposure events (up to 36 h after) are all in the past.
"""
import datetime
import math
import time
import urllib.parse
import uuid

import numpy as np
import pytest
from scipy import stats as sps

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import FrequentistConfig, SequentialConfig, SequentialTwoSidedTTest, TwoSidedTTest
from gbstats.models.statistics import (ProportionStatistic, RatioStatistic, RegressionAdjustedStatistic,
                                       SampleMeanStatistic)

from _segment_support import batch as segment_batch
from _segment_support import iso as segment_iso
from _segment_support import ok as segment_ok

ALPHA = 0.05
DAY = 86_400_000
HOUR = 3_600_000
CHUNK = 5000
POLL_SECONDS = 10.0


def close(a, b, rel=1e-6, abs=1e-9):
    """|a - b| <= max(rel * max(|a|, |b|), abs)."""
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return False
    try:
        a = float(a)
        b = float(b)
    except (TypeError, ValueError):
        return False
    if math.isnan(a) or math.isnan(b):
        return False
    return math.fabs(a - b) <= max(rel * max(math.fabs(a), math.fabs(b)), abs)


def uniq(prefix):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:10])


def now_ms():
    return int(time.time() * 1000)


def day_start(ms):
    return int(ms) - int(ms) % DAY


def day_str(ms):
    return datetime.datetime.fromtimestamp(int(ms) / 1000.0, datetime.timezone.utc).strftime("%Y-%m-%d")


def base_day():
    """UTC midnight four days ago: exposures land on this day (and the next)."""
    return day_start(now_ms()) - 4 * DAY


# ---------------------------------------------------------------- loading data into Vane

def create_experiment(vane, prefix, groups=(("Control", 50), ("Test", 50))):
    name = uniq(prefix)
    data = vane.console_ok("POST", "/experiments", {
        "name": name, "groups": [{"name": g, "size": s} for g, s in groups]})
    rules = {g["name"]: g["id"] for g in data["groups"]}
    assert set(rules) == {g for g, _ in groups}, data
    assert all(isinstance(r, str) and r for r in rules.values()), data
    return name, rules


def create_gate(vane, prefix, pass_percentage=50):
    name = uniq(prefix)
    data = vane.console_ok("POST", "/gates", {
        "name": name, "rules": [{"name": "rollout", "passPercentage": pass_percentage,
                                 "conditions": [{"type": "public"}]}]})
    rule_id = data["rules"][0]["id"]
    assert isinstance(rule_id, str) and rule_id, data
    return name, rule_id


def create_metric(vane, body):
    data = vane.console_ok("POST", "/metrics", body)
    return data


def exposure(experiment, rule_id, uid, t):
    return {"eventName": "statsig::config_exposure", "user": {"userID": uid}, "time": int(t),
            "metadata": {"config": experiment, "ruleID": rule_id}}


def gate_exposure(gate, rule_id, uid, t, passed):
    return {"eventName": "statsig::gate_exposure", "user": {"userID": uid}, "time": int(t),
            "metadata": {"gate": gate, "gateValue": "true" if passed else "false", "ruleID": rule_id}}


def ev(name, uid, t, value=None, metadata=None):
    e = {"eventName": name, "user": {"userID": uid}, "time": int(t)}
    if value is not None:
        e["value"] = value
    if metadata:
        e["metadata"] = metadata
    return e


def send(vane, events):
    for i in range(0, len(events), CHUNK):
        part = events[i:i + CHUNK]
        r = vane.log_events(part)
        assert r.status_code in (200, 201, 202), "POST /v1/log_event (%d events) -> %d: %s" % (
            len(part), r.status_code, r.text[:500])


def send_segment_tracks(vane, messages, per_batch=400):
    for i in range(0, len(messages), per_batch):
        segment_ok(segment_batch(vane, messages[i:i + per_batch]))


# ---------------------------------------------------------------- reading results

def fetch_results(vane, name, params=None, subject="experiments"):
    params = {k: ("true" if v is True else "false" if v is False else v) for k, v in (params or {}).items()}
    qs = urllib.parse.urlencode(params, safe=":,")
    path = "/%s/%s/results%s" % (subject, urllib.parse.quote(name, safe=""), ("?" + qs) if qs else "")
    r = vane.console("GET", path, timeout=120)
    assert r.status_code == 200, "GET /console/v1%s -> %d: %s" % (path, r.status_code, r.text[:2000])
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("data"), dict), "results envelope: %r" % (body,)
    return body["data"]


def results_matching(vane, name, params, check, subject="experiments", what=""):
    """Reads the results until `check(data)` reports no problems (Vane's rollups are caught up on
    each request, so the first read should already match; stale reads are retried for up to 10 s).
    Fails with every mismatch of the last read."""
    deadline = time.time() + POLL_SECONDS
    while True:
        data = fetch_results(vane, name, params, subject)
        problems = check(data)
        if not problems:
            return data
        if time.time() > deadline:
            pytest.fail("%s results %s (%s) do not match the oracle:\n  %s" % (
                subject, name, what or params, "\n  ".join(problems[:80])), pytrace=False)
        time.sleep(0.25)


# ---------------------------------------------------------------- comparing JSON with expectations

class _NonEmptyString:
    def __repr__(self):
        return "<non-empty string>"


NON_EMPTY_STRING = _NonEmptyString()


class Exact(dict):
    """Expected object whose key set must match exactly (not just the listed keys)."""


def diff_tree(got, want, path, out):
    if isinstance(want, _NonEmptyString):
        if not (isinstance(got, str) and got.strip()):
            out.append("%s: expected a non-empty string, got %r" % (path, got))
    elif isinstance(want, dict):
        if not isinstance(got, dict):
            out.append("%s: expected an object, got %r" % (path, got if not isinstance(got, (list, dict)) else type(got).__name__))
            return
        if isinstance(want, Exact) and set(got) != set(want):
            out.append("%s: keys %s, expected %s" % (path, sorted(got), sorted(want)))
        for k, w in want.items():
            diff_tree(got.get(k), w, "%s.%s" % (path, k), out)
    elif isinstance(want, (list, tuple)):
        if not isinstance(got, list) or len(got) != len(want):
            out.append("%s: expected a list of %d, got %r" % (path, len(want), got))
            return
        for i, (g, w) in enumerate(zip(got, want)):
            diff_tree(g, w, "%s[%d]" % (path, i), out)
    elif want is None:
        if got is not None:
            out.append("%s: expected absent/null, got %r" % (path, got))
    elif isinstance(want, (bool, str)):
        if got != want:
            out.append("%s: got %r, want %r" % (path, got, want))
    else:
        if not close(got, want):
            rel = ""
            if isinstance(got, (int, float)) and not isinstance(got, bool) and want != 0:
                rel = " (rel diff %.3g)" % (abs(got - want) / abs(want))
            out.append("%s: got %r, want %r%s" % (path, got, float(want), rel))


def normalize(data):
    """Results with lists keyed by name: groups by name, metrics by metric, comparisons by group."""
    d = dict(data)
    d["groups"] = {g.get("name"): g for g in data.get("groups") or []}
    d["metrics"] = {m.get("metric"): dict(m, comparisons={c.get("group"): c for c in m.get("comparisons") or []})
                    for m in data.get("metrics") or []}
    return d


def problems_vs(data, want):
    out = []
    diff_tree(normalize(data), want, "data", out)
    return out


# ---------------------------------------------------------------- the oracle (gbstats 0.8.0 + scipy)

def _f(x):
    return float(np.asarray(x, dtype=float).sum())


def mean_stat(x):
    x = np.asarray(x, dtype=float)
    return SampleMeanStatistic(n=int(len(x)), sum=_f(x), sum_squares=_f(x * x))


def prop_stat(x):
    x = np.asarray(x, dtype=float)
    return ProportionStatistic(n=int(len(x)), sum=_f(x))


def ratio_stat(num, den):
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    return RatioStatistic(n=int(len(num)), m_statistic=mean_stat(num), d_statistic=mean_stat(den),
                          m_d_sum_of_products=_f(num * den))


def ra_stat(post, pre, base):
    post = np.asarray(post, dtype=float)
    pre = np.asarray(pre, dtype=float)
    return RegressionAdjustedStatistic(n=int(len(post)), post_statistic=base(post), pre_statistic=base(pre),
                                       post_pre_sum_of_products=_f(post * pre), theta=0.0)


KIND_OF_TYPE = {"count": "mean", "sum": "mean", "conversion": "conversion", "mean": "ratio", "ratio": "ratio"}


def oracle(kind, a, b, *, pre_a=None, pre_b=None, alpha=ALPHA, k=1, sequential=False, tuning=5000.0,
           group="Test", units_with_pre=None, prior=None):
    """The expected EffectResult (+ group, isSignificant) of treatment `b` against control `a`.

    kind: "mean" | "conversion" | "ratio"; a/b: per-unit values, or (numerators, denominators) for
    ratio; pre_a/pre_b: per-unit covariates (0 for units without pre-period data) when CUPED is
    expected to be applied; k: Bonferroni comparisons."""
    adj_alpha = alpha / k

    def stats():
        if kind == "ratio":
            return ratio_stat(*a), ratio_stat(*b)
        base = prop_stat if kind == "conversion" else mean_stat
        if pre_a is not None:
            return ra_stat(a, pre_a, base), ra_stat(b, pre_b, base)
        return base(a), base(b)

    out = {"group": group, "kind": kind, "status": "ok", "alpha": alpha, "adjustedAlpha": adj_alpha,
           "comparisons": k, "method": "sequential" if sequential else "welch_t"}
    if sequential:
        out["sequentialTuningParameter"] = tuning
    test = None
    for diff in ("absolute", "relative"):
        sa, sb = stats()
        if sequential:
            test = SequentialTwoSidedTTest(sa, sb, SequentialConfig(
                alpha=adj_alpha, difference_type=diff, sequential_tuning_parameter=tuning))
        else:
            test = TwoSidedTTest(sa, sb, FrequentistConfig(alpha=adj_alpha, difference_type=diff))
        r = test.compute_result()
        assert r.error_message is None, "oracle could not compute %s: %s" % (diff, r.error_message)
        out[diff] = {"estimate": r.expected, "standardError": float(r.uplift.stddev), "lower": r.ci[0],
                     "upper": r.ci[1], "pValue": float(r.p_value), "adjustedPValue": min(1.0, k * float(r.p_value)),
                     "degreesOfFreedom": None if sequential else float(test.dof)}
    applied = isinstance(test.stat_a, RegressionAdjustedStatistic)

    def grp(st, n_pre):
        if applied:
            mean, var = st.post_statistic.mean, st.post_statistic.variance
            g = {"adjustedMean": st.mean, "adjustedVariance": st.variance}
        else:
            mean, var = st.mean, st.variance
            g = {"adjustedMean": None, "adjustedVariance": None}
        g.update({"units": st.n, "mean": mean, "variance": var, "standardDeviation": math.sqrt(var) if var > 0 else 0.0})
        if n_pre is not None:
            g["unitsWithPreData"] = n_pre
        return g

    npre = units_with_pre or (None, None)
    out["control"] = grp(test.stat_a, npre[0])
    out["treatment"] = grp(test.stat_b, npre[1])
    out["cuped"] = {"applied": applied, "theta": test.stat_a.theta if applied else None}
    out["isSignificant"] = out["absolute"]["adjustedPValue"] < alpha
    if prior is not None:  # gbstats' Bayesian engine on the same statistics, prior on the relative scale
        out["bayesian"] = {"prior": {"mean": prior.mean, "variance": prior.variance, "proper": prior.proper}}
        for diff in ("absolute", "relative"):
            sa, sb = stats()
            r = EffectBayesianABTest(sa, sb, EffectBayesianConfig(
                alpha=alpha, difference_type=diff, prior_type="relative", prior_effect=prior)).compute_result()
            assert r.error_message is None, "Bayesian oracle: %s" % r.error_message
            out["bayesian"][diff] = {
                "expected": float(r.expected), "standardDeviation": float(r.uplift.stddev), "lower": float(r.ci[0]),
                "upper": float(r.ci[1]), "chanceToWin": float(r.chance_to_win), "riskControl": float(r.risk[0]),
                "riskTreatment": float(r.risk[1])}
    return out


def scipy_welch_checks(a, b, want, label):
    """scipy's Welch t-test on the same arrays as a second opinion on the absolute p-value/dof."""
    w = sps.ttest_ind(np.asarray(b, float), np.asarray(a, float), equal_var=False)
    assert close(w.pvalue, want["absolute"]["pValue"]), (label, w.pvalue, want["absolute"]["pValue"])
    assert close(w.df, want["absolute"]["degreesOfFreedom"]), (label, w.df, want["absolute"]["degreesOfFreedom"])


def srm_want(observed, weights):
    total = sum(observed)
    expected = [w / sum(weights) * total for w in weights]
    chi = sps.chisquare(observed, expected)
    return {"observed": list(observed), "expected": expected, "chiSquare": float(chi.statistic),
            "pValue": float(chi.pvalue), "degreesOfFreedom": len(observed) - 1, "isMismatch": bool(chi.pvalue < 0.001)}


def metric_want(metric_type, event, comparisons, kind=None):
    m = {"type": metric_type, "kind": kind or KIND_OF_TYPE[metric_type],
         "comparisons": {c["group"]: c for c in comparisons}}
    if event is not None:
        m["event"] = event
    return m


def post_events(rng, uid, t0, n, name, values=None, max_offset=36 * HOUR, metadata=None):
    """n events of `name` for `uid` at or after t0 (offsets uniform in [0, max_offset))."""
    out = []
    for j, off in enumerate(rng.integers(0, max_offset, n)):
        out.append(ev(name, uid, t0 + int(off), None if values is None else values[j],
                      None if metadata is None else metadata[j]))
    return out


def vals(rng, n, scale=1.0):
    """n purchase values with cents, scaled."""
    return [round(float(v), 2) for v in rng.gamma(2.0, 10.0 * scale, n)]


# ================================================================ fixtures

@pytest.fixture(scope="module")
def basic(vane):
    """Two groups (2000 / 2030 units), Poisson purchase counts with +12 % lift, exposures over two
    UTC days, no pre-period data."""
    rng = np.random.default_rng(20261101)
    name, rules = create_experiment(vane, "pulse_basic")
    event = uniq("purchase")
    base = base_day()
    n = {"Control": 2000, "Test": 2030}
    lam = {"Control": 1.0, "Test": 1.12}
    exposures, events, counts, per_day = [], [], {}, {}
    for g in ("Control", "Test"):
        t0 = base + rng.integers(0, 2, n[g]) * DAY + rng.integers(HOUR, 20 * HOUR, n[g])
        c = rng.poisson(lam[g], n[g])
        for i in range(n[g]):
            uid = "%s-%s%d" % (name, g[0], i)
            exposures.append(exposure(name, rules[g], uid, t0[i]))
            events.extend(post_events(rng, uid, int(t0[i]), int(c[i]), event))
            per_day.setdefault(day_str(t0[i]), {}).setdefault(g, 0)
            per_day[day_str(t0[i])][g] += 1
        counts[g] = c.astype(float)
    send(vane, exposures)
    send(vane, events)
    return {"name": name, "event": event, "n": n, "counts": counts, "per_day": per_day}


# ================================================================ 1. count + conversion

def _basic_want(b, alpha=ALPHA, **kw):
    c, t = b["counts"]["Control"], b["counts"]["Test"]
    return {
        "count:" + b["event"]: metric_want("count", b["event"], [oracle("mean", c, t, alpha=alpha, **kw)]),
        "conversion:" + b["event"]: metric_want("conversion", b["event"], [
            oracle("conversion", (c > 0).astype(float), (t > 0).astype(float), alpha=alpha, **kw)]),
    }


def test_count_and_conversion_fixed_horizon(vane, basic):
    b = basic
    c, t = b["counts"]["Control"], b["counts"]["Test"]
    metrics = _basic_want(b)
    scipy_welch_checks(c, t, metrics["count:" + b["event"]]["comparisons"]["Test"], "count")
    want = {
        "experiment": b["name"], "subjectKind": "experiment", "idType": "userID", "controlGroup": "Control",
        "groups": Exact({"Control": {"units": 2000, "weight": 50}, "Test": {"units": 2030, "weight": 50}}),
        "crossovers": 0,
        "srm": srm_want([2000, 2030], [50, 50]),
        "exposuresPerDay": Exact({d: Exact(v) for d, v in b["per_day"].items()}),
        "metrics": Exact(metrics),
    }
    params = {"metrics": "count:%s,conversion:%s" % (b["event"], b["event"])}
    data = results_matching(vane, b["name"], params, lambda d: problems_vs(d, want))
    assert isinstance(data.get("computedAt"), int) and abs(data["computedAt"] - now_ms()) < 10 * 60_000, data.get("computedAt")
    # The known lift is large enough to be detected on both metrics.
    for m in metrics:
        comp = normalize(data)["metrics"][m]["comparisons"]["Test"]
        assert comp["isSignificant"] is True and comp["absolute"]["estimate"] > 0, (m, comp)
        assert comp["cuped"]["applied"] is False, comp["cuped"]


@pytest.mark.parametrize("prior_name,prior,extra", [
    ("flat", GaussianPrior(mean=0, variance=1, proper=False), {}),
    ("informative", GaussianPrior(mean=0, variance=0.09, proper=True), {"prior": "informative"}),
    ("custom", GaussianPrior(mean=0.05, variance=0.01, proper=True), {"priorMean": 0.05, "priorStddev": 0.1}),
])
def test_bayesian_engine_matches_gbstats(vane, basic, prior_name, prior, extra):
    """engine=bayesian: chance to win, risk and credible intervals per metric equal gbstats 0.8.0's
    EffectBayesianABTest on the same data (flat, GrowthBook's informative default, and a custom prior)."""
    b = basic
    c, t = b["counts"]["Control"], b["counts"]["Test"]
    want = {"options": {"engine": "bayesian"}, "metrics": Exact({
        "count:" + b["event"]: metric_want("count", b["event"], [oracle("mean", c, t, prior=prior)]),
        "conversion:" + b["event"]: metric_want("conversion", b["event"], [
            oracle("conversion", (c > 0).astype(float), (t > 0).astype(float), prior=prior)]),
    })}
    params = dict({"metrics": "count:%s,conversion:%s" % (b["event"], b["event"]), "engine": "bayesian"}, **extra)
    data = results_matching(vane, b["name"], params, lambda d: problems_vs(d, want), what="bayesian %s" % prior_name)
    comp = normalize(data)["metrics"]["count:" + b["event"]]["comparisons"]["Test"]["bayesian"]["relative"]
    assert comp["chanceToWin"] > 0.95, comp  # the +12 % lift is clear


def test_bayesian_parameters_are_checked(vane, basic):
    for params, message in (({"engine": "bayes"}, "engine must be frequentist or bayesian"),
                            ({"engine": "bayesian", "prior": "vague"}, "prior must be flat or informative"),
                            ({"engine": "bayesian", "priorStddev": 0}, "priorStddev must be above 0"),
                            ({"engine": "bayesian", "priorMean": "1e400"}, "priorMean must be a number"),
                            ({"prior": "informative"}, "apply to engine=bayesian only")):
        r = vane.console("GET", "/experiments/%s/results" % basic["name"], params=params)
        assert r.status_code == 400 and message in r.text, (params, r.status_code, r.text[:300])


def test_alpha_option(vane, basic):
    b = basic
    params = {"metrics": "count:%s,conversion:%s" % (b["event"], b["event"]), "alpha": 0.1}
    want = {"metrics": Exact(_basic_want(b, alpha=0.1))}
    results_matching(vane, b["name"], params, lambda d: problems_vs(d, want))


def test_default_metric_list_has_auto_metrics(vane, basic):
    b = basic
    want = {"metrics": _basic_want(b)}  # not Exact: by default every metric of the project is listed
    results_matching(vane, b["name"], {}, lambda d: problems_vs(d, want))


# ================================================================ 4. sequential

@pytest.mark.parametrize("tuning", [None, 5000, 2000])
def test_sequential(vane, basic, tuning):
    b = basic
    params = {"metrics": "count:%s,conversion:%s" % (b["event"], b["event"]), "sequential": True}
    if tuning is not None:
        params["sequentialTuning"] = tuning
    want = {"metrics": Exact(_basic_want(b, sequential=True, tuning=float(tuning or 5000)))}
    results_matching(vane, b["name"], params, lambda d: problems_vs(d, want))


# ================================================================ 2. sum, mean, ratio, filters

def test_sum_mean_ratio_and_filtered_metrics(vane):
    rng = np.random.default_rng(20261102)
    name, rules = create_experiment(vane, "pulse_sum_ratio")
    purchase, visit = uniq("purchase"), uniq("visit")
    sfx = uuid.uuid4().hex[:8]
    m = {k: "%s_%s" % (k, sfx) for k in ("revenue", "aov", "rpv", "checkouts", "nonhome", "rev_bg", "conv_notmusic")}
    create_metric(vane, {"name": m["revenue"], "type": "sum", "event": purchase})
    create_metric(vane, {"name": m["aov"], "type": "mean", "event": purchase})
    create_metric(vane, {"name": m["rpv"], "type": "ratio", "numerator": m["revenue"], "denominator": "count:" + visit})
    create_metric(vane, {"name": m["checkouts"], "type": "count", "event": visit,
                         "filters": [{"key": "name", "op": "eq", "values": ["Checkout"]}]})
    create_metric(vane, {"name": m["nonhome"], "type": "count", "event": visit,
                         "filters": [{"key": "name", "op": "neq", "values": ["Home"]}]})
    create_metric(vane, {"name": m["rev_bg"], "type": "sum", "event": purchase,
                         "filters": [{"key": "category", "op": "in", "values": ["books", "games"]}]})
    create_metric(vane, {"name": m["conv_notmusic"], "type": "conversion", "event": purchase,
                         "filters": [{"key": "category", "op": "not_in", "values": ["music"]}]})

    base = base_day()
    n = {"Control": 1500, "Test": 1480}
    cats = np.array(["books", "games", "music"])
    pages = np.array(["Home", "Checkout", "Search"])
    exposures, events = [], []
    per = {}
    for g, plam, vlam, scale in (("Control", 0.8, 2.5, 1.0), ("Test", 0.9, 2.6, 1.06)):
        t0 = base + rng.integers(HOUR, 20 * HOUR, n[g])
        cols = {k: np.zeros(n[g]) for k in ("pc", "rev", "vc", "checkouts", "nonhome", "rev_bg", "conv_nm")}
        for i in range(n[g]):
            uid = "%s-%s%d" % (name, g[0], i)
            exposures.append(exposure(name, rules[g], uid, t0[i]))
            k = int(rng.poisson(plam))
            v = vals(rng, k, scale)
            c = cats[rng.integers(0, 3, k)]
            events.extend(post_events(rng, uid, int(t0[i]), k, purchase, v, metadata=[{"category": x} for x in c]))
            nv = int(rng.poisson(vlam))
            pg = pages[rng.choice(3, nv, p=[0.5, 0.2, 0.3])]
            events.extend(post_events(rng, uid, int(t0[i]), nv, visit, metadata=[{"name": x} for x in pg]))
            cols["pc"][i] = k
            cols["rev"][i] = sum(v)
            cols["vc"][i] = nv
            cols["checkouts"][i] = int((pg == "Checkout").sum())
            cols["nonhome"][i] = int((pg != "Home").sum())
            cols["rev_bg"][i] = sum(x for x, y in zip(v, c) if y in ("books", "games"))
            cols["conv_nm"][i] = 1.0 if any(y != "music" for y in c) else 0.0
        per[g] = cols
    send(vane, exposures)
    send(vane, events)

    C, T = per["Control"], per["Test"]
    want_metrics = {
        m["revenue"]: metric_want("sum", purchase, [oracle("mean", C["rev"], T["rev"])]),
        m["aov"]: metric_want("mean", purchase, [oracle("ratio", (C["rev"], C["pc"]), (T["rev"], T["pc"]))]),
        m["rpv"]: metric_want("ratio", None, [oracle("ratio", (C["rev"], C["vc"]), (T["rev"], T["vc"]))]),
        m["checkouts"]: metric_want("count", visit, [oracle("mean", C["checkouts"], T["checkouts"])]),
        m["nonhome"]: metric_want("count", visit, [oracle("mean", C["nonhome"], T["nonhome"])]),
        m["rev_bg"]: metric_want("sum", purchase, [oracle("mean", C["rev_bg"], T["rev_bg"])]),
        m["conv_notmusic"]: metric_want("conversion", purchase, [oracle("conversion", C["conv_nm"], T["conv_nm"])]),
        "count:" + visit: metric_want("count", visit, [oracle("mean", C["vc"], T["vc"])]),
    }
    scipy_welch_checks(C["rev"], T["rev"], want_metrics[m["revenue"]]["comparisons"]["Test"], "revenue")
    # the ratio point estimate is Σ revenue / Σ visits, independent of the unit convention
    assert close(want_metrics[m["rpv"]]["comparisons"]["Test"]["treatment"]["mean"], T["rev"].sum() / T["vc"].sum())
    want = {"groups": Exact({"Control": {"units": n["Control"]}, "Test": {"units": n["Test"]}}),
            "metrics": Exact(want_metrics)}
    params = {"metrics": ",".join(want_metrics)}
    results_matching(vane, name, params, lambda d: problems_vs(d, want))

    # Value metrics come automatically for an event that carries values: sum:<event> is the value
    # per unit (the revenue metric above), mean:<event> the value per event (the aov metric above).
    automatic = {
        "sum:" + purchase: metric_want("sum", purchase, [oracle("mean", C["rev"], T["rev"])]),
        "mean:" + purchase: metric_want("mean", purchase, [oracle("ratio", (C["rev"], C["pc"]), (T["rev"], T["pc"]))]),
    }
    results_matching(vane, name, {"metrics": ",".join(automatic)}, lambda d: problems_vs(d, {"metrics": Exact(automatic)}),
                     what="automatic value metrics")
    default = fetch_results(vane, name)
    listed = {x["metric"] for x in default["metrics"]}
    assert {"sum:" + purchase, "mean:" + purchase} <= listed, sorted(listed)
    assert "sum:" + visit not in listed and "mean:" + visit not in listed, "visits carry no value: %s" % sorted(listed)
    catalogue = {x["name"] for x in vane.console_ok("GET", "/metrics")}
    assert "sum:" + purchase in catalogue and "sum:" + visit not in catalogue, sorted(catalogue)

    # The Bayesian engine for sum, mean and ratio metrics, against gbstats on the same statistics.
    flat = GaussianPrior(mean=0, variance=1, proper=False)
    bayes = {
        m["revenue"]: metric_want("sum", purchase, [oracle("mean", C["rev"], T["rev"], prior=flat)]),
        m["aov"]: metric_want("mean", purchase, [oracle("ratio", (C["rev"], C["pc"]), (T["rev"], T["pc"]), prior=flat)]),
        m["rpv"]: metric_want("ratio", None, [oracle("ratio", (C["rev"], C["vc"]), (T["rev"], T["vc"]), prior=flat)]),
    }
    results_matching(vane, name, {"metrics": ",".join(bayes), "engine": "bayesian"},
                     lambda d: problems_vs(d, {"metrics": Exact(bayes)}), what="Bayesian sum, mean, ratio")


# ================================================================ 3. CUPED

def test_cuped_regression_adjustment(vane):
    rng = np.random.default_rng(20261103)
    name, rules = create_experiment(vane, "pulse_cuped")
    event = uniq("purchase")
    revenue = uniq("cuped_revenue")
    create_metric(vane, {"name": revenue, "type": "sum", "event": event})
    base = base_day()
    n = {"Control": 2000, "Test": 2000}
    exposures, events, per = [], [], {}
    for g, lift in (("Control", 1.0), ("Test", 1.08)):
        t0 = base + rng.integers(HOUR, 20 * HOUR, n[g])
        propensity = rng.gamma(2.0, 0.5, n[g])
        pre_n = rng.poisson(propensity * 1.5)
        post_n = rng.poisson(propensity * lift)
        cols = {k: np.zeros(n[g]) for k in ("post_c", "pre_c", "post_r", "pre_r")}
        for i in range(n[g]):
            uid = "%s-%s%d" % (name, g[0], i)
            t = int(t0[i])
            exposures.append(exposure(name, rules[g], uid, t))
            v_post = vals(rng, int(post_n[i]))
            events.extend(post_events(rng, uid, t, int(post_n[i]), event, v_post))
            v_pre = vals(rng, int(pre_n[i]))
            for j in range(int(pre_n[i])):  # 1..6 days before, same hour +- 1 h: days D-6..D-1
                days_back = int(rng.integers(1, 7))
                events.append(ev(event, uid, t - days_back * DAY + int(rng.integers(-HOUR, HOUR)), v_pre[j]))
            if rng.random() < 0.1:  # day D before the exposure: neither pre nor post
                events.append(ev(event, uid, day_start(t) + int(rng.integers(0, t - day_start(t))), 99.0))
            if rng.random() < 0.1:  # day D-9: outside the 7-day pre-period
                events.append(ev(event, uid, t - 9 * DAY, 77.0))
            cols["post_c"][i], cols["pre_c"][i] = post_n[i], pre_n[i]
            cols["post_r"][i], cols["pre_r"][i] = sum(v_post), sum(v_pre)
        per[g] = cols
    send(vane, exposures)
    send(vane, events)

    C, T = per["Control"], per["Test"]
    npre = (int((C["pre_c"] > 0).sum()), int((T["pre_c"] > 0).sum()))
    conv = {g: ((per[g]["post_c"] > 0).astype(float), (per[g]["pre_c"] > 0).astype(float)) for g in per}
    adjusted = {
        "count:" + event: metric_want("count", event, [oracle(
            "mean", C["post_c"], T["post_c"], pre_a=C["pre_c"], pre_b=T["pre_c"], units_with_pre=npre)]),
        "conversion:" + event: metric_want("conversion", event, [oracle(
            "conversion", conv["Control"][0], conv["Test"][0], pre_a=conv["Control"][1], pre_b=conv["Test"][1],
            units_with_pre=npre)]),
        revenue: metric_want("sum", event, [oracle(
            "mean", C["post_r"], T["post_r"], pre_a=C["pre_r"], pre_b=T["pre_r"], units_with_pre=npre)]),
    }
    for mname, mw in adjusted.items():
        w = mw["comparisons"]["Test"]
        assert w["cuped"]["applied"], mname
        # independent check of the oracle: pooled theta, and scipy Welch on y - theta * x
        post_key, pre_key = ("post_r", "pre_r") if mname == revenue else ("post_c", "pre_c")
        y = {g: per[g][post_key] for g in per}
        x = {g: per[g][pre_key] for g in per}
        if mname.startswith("conversion:"):
            y = {g: conv[g][0] for g in per}
            x = {g: conv[g][1] for g in per}
        else:
            ya, xa = np.concatenate([y["Control"], y["Test"]]), np.concatenate([x["Control"], x["Test"]])
            theta = np.cov(ya, xa, ddof=1)[0, 1] / xa.var(ddof=1)
            assert close(theta, w["cuped"]["theta"]), (mname, theta, w["cuped"]["theta"])
            wt = sps.ttest_ind(y["Test"] - theta * x["Test"], y["Control"] - theta * x["Control"], equal_var=False)
            assert close(wt.pvalue, w["absolute"]["pValue"]), (mname, wt.pvalue, w["absolute"]["pValue"])
        # the covariate is informative: CUPED narrows the interval
        unadj = oracle("conversion" if mname.startswith("conversion:") else "mean",
                       y["Control"], y["Test"])
        assert w["absolute"]["standardError"] < unadj["absolute"]["standardError"], mname

    params = {"metrics": ",".join(adjusted)}
    want = {"groups": Exact({"Control": {"units": 2000}, "Test": {"units": 2000}}), "metrics": Exact(adjusted)}
    results_matching(vane, name, params, lambda d: problems_vs(d, want), what="CUPED on")

    unadjusted = {
        "count:" + event: metric_want("count", event, [oracle("mean", C["post_c"], T["post_c"])]),
        "conversion:" + event: metric_want("conversion", event, [oracle("conversion", conv["Control"][0], conv["Test"][0])]),
        revenue: metric_want("sum", event, [oracle("mean", C["post_r"], T["post_r"])]),
    }
    want = {"metrics": Exact(unadjusted)}
    results_matching(vane, name, dict(params, cuped=False), lambda d: problems_vs(d, want), what="cuped=false")

    # The Bayesian engine on the regression-adjusted statistics, as gbstats computes it.
    informative = GaussianPrior(mean=0, variance=0.09, proper=True)
    bayes = {
        "count:" + event: metric_want("count", event, [oracle(
            "mean", C["post_c"], T["post_c"], pre_a=C["pre_c"], pre_b=T["pre_c"], units_with_pre=npre, prior=informative)]),
        revenue: metric_want("sum", event, [oracle(
            "mean", C["post_r"], T["post_r"], pre_a=C["pre_r"], pre_b=T["pre_r"], units_with_pre=npre, prior=informative)]),
    }
    results_matching(vane, name, {"metrics": ",".join(bayes), "engine": "bayesian", "prior": "informative"},
                     lambda d: problems_vs(d, {"metrics": Exact(bayes)}), what="CUPED, Bayesian")


def test_cuped_without_or_with_thin_pre_period_data(vane):
    """No pre-period data at all, and pre-period data for 3 units only: CUPED is not applied, a note
    says why, and the numbers are the unadjusted ones."""
    rng = np.random.default_rng(20261104)
    name, rules = create_experiment(vane, "pulse_cuped_none")
    e_none, e_thin = uniq("nopre"), uniq("thinpre")
    base = base_day()
    n = 150
    exposures, events, per = [], [], {}
    for g, lam in (("Control", 2.0), ("Test", 2.3)):
        t0 = base + rng.integers(HOUR, 20 * HOUR, n)
        a, b = rng.poisson(lam, n), rng.poisson(lam, n)
        for i in range(n):
            uid = "%s-%s%d" % (name, g[0], i)
            exposures.append(exposure(name, rules[g], uid, t0[i]))
            events.extend(post_events(rng, uid, int(t0[i]), int(a[i]), e_none))
            events.extend(post_events(rng, uid, int(t0[i]), int(b[i]), e_thin))
            if i < (2 if g == "Control" else 1):
                events.append(ev(e_thin, uid, int(t0[i]) - 2 * DAY))
        per[g] = (a.astype(float), b.astype(float))
    send(vane, exposures)
    send(vane, events)
    note = {"cuped": {"applied": False, "theta": None, "note": NON_EMPTY_STRING}}
    w_none = oracle("mean", per["Control"][0], per["Test"][0], units_with_pre=(0, 0))
    w_thin = oracle("mean", per["Control"][1], per["Test"][1], units_with_pre=(2, 1))
    for w in (w_none, w_thin):
        w.update(note)
    want = {"metrics": Exact({"count:" + e_none: metric_want("count", e_none, [w_none]),
                              "count:" + e_thin: metric_want("count", e_thin, [w_thin])})}
    results_matching(vane, name, {"metrics": "count:%s,count:%s" % (e_none, e_thin)}, lambda d: problems_vs(d, want))


# ================================================================ 5. SRM

@pytest.mark.parametrize("sizes,units,mismatch", [
    ((50, 50), (1000, 1200), True),
    ((50, 50), (1000, 1030), False),
    ((20, 80), (205, 795), False),
    ((20, 80), (250, 750), True),
])
def test_sample_ratio_mismatch(vane, sizes, units, mismatch):
    rng = np.random.default_rng(20261105 + units[1])
    name, rules = create_experiment(vane, "pulse_srm", groups=(("Control", sizes[0]), ("Test", sizes[1])))
    event = uniq("srm_event")
    base = base_day()
    exposures, events = [], []
    for g, nu in zip(("Control", "Test"), units):
        for i in range(nu):
            uid = "%s-%s%d" % (name, g[0], i)
            t = base + int(rng.integers(HOUR, 20 * HOUR))
            exposures.append(exposure(name, rules[g], uid, t))
            events.extend(post_events(rng, uid, t, int(rng.poisson(1.0)), event))
    send(vane, exposures)
    send(vane, events)
    srm = srm_want(list(units), list(sizes))
    assert srm["isMismatch"] is mismatch, srm  # the scenario itself
    want = {"groups": Exact({"Control": {"units": units[0], "weight": sizes[0]},
                             "Test": {"units": units[1], "weight": sizes[1]}}),
            "srm": srm}
    results_matching(vane, name, {"metrics": "count:" + event}, lambda d: problems_vs(d, want))


# ================================================================ 6. crossovers, duplicates, pre-exposure events

def test_crossovers_duplicates_and_pre_exposure_events_excluded(vane):
    rng = np.random.default_rng(20261106)
    name, rules = create_experiment(vane, "pulse_crossover")
    event = uniq("purchase")
    base = base_day()
    exposures, late_first, events = [], [], []
    counts = {"Control": [], "Test": []}
    n_clean, n_dup, n_cross = 250, 40, 25
    for g in ("Control", "Test"):
        for i in range(n_clean + n_dup):
            uid = "%s-%s%d" % (name, g[0], i)
            t0 = base + int(rng.integers(2 * HOUR, 18 * HOUR))
            k = int(rng.poisson(1.5))
            evs = post_events(rng, uid, t0, k, event, vals(rng, k))
            if i % 10 == 0:  # exactly at the exposure: counts
                evs.append(ev(event, uid, t0, 1.0))
                k += 1
            for _ in range(int(rng.poisson(1.0))):  # same UTC day, before the exposure: never counts
                events.append(ev(event, uid, day_start(t0) + int(rng.integers(0, t0 - day_start(t0))), 5.0))
            events.append(ev(event, uid, t0 - 1))  # 1 ms before the exposure
            if i >= n_clean:
                # exposed twice to the same group; the later exposure is sent first, and the events
                # between the two exposures count (the first exposure is the earliest one)
                late_first.append(exposure(name, rules[g], uid, t0 + 6 * HOUR))
                evs.append(ev(event, uid, t0 + HOUR, 2.0))
                k += 1
            exposures.append(exposure(name, rules[g], uid, t0))
            events.extend(evs)
            counts[g].append(k)
    for i in range(n_cross):  # exposed to both groups: excluded
        uid = "%s-X%d" % (name, i)
        t0 = base + int(rng.integers(2 * HOUR, 18 * HOUR))
        first, second = ("Control", "Test") if i % 2 else ("Test", "Control")
        exposures.append(exposure(name, rules[first], uid, t0))
        exposures.append(exposure(name, rules[second], uid, t0 + HOUR))
        events.extend(post_events(rng, uid, t0, 5, event))
    for i in range(50):  # never exposed: ignored
        events.extend(post_events(rng, "%s-N%d" % (name, i), base + 2 * HOUR, 3, event))
    # metric events arrive before the exposures they depend on
    send(vane, events)
    send(vane, late_first)
    send(vane, exposures)

    c, t = np.array(counts["Control"], float), np.array(counts["Test"], float)
    w_count = oracle("mean", c, t, units_with_pre=(0, 0))
    w_count["cuped"] = {"applied": False}
    w_conv = oracle("conversion", (c > 0).astype(float), (t > 0).astype(float))
    want = {"groups": Exact({"Control": {"units": n_clean + n_dup}, "Test": {"units": n_clean + n_dup}}),
            "crossovers": n_cross,
            "metrics": Exact({"count:" + event: metric_want("count", event, [w_count]),
                              "conversion:" + event: metric_want("conversion", event, [w_conv])})}
    results_matching(vane, name, {"metrics": "count:%s,conversion:%s" % (event, event)},
                     lambda d: problems_vs(d, want))


# ================================================================ 7. Segment-sourced events

def test_segment_track_events_as_metrics(vane):
    rng = np.random.default_rng(20261107)
    name, rules = create_experiment(vane, "pulse_segment")
    track = uniq("checkout")
    stored = "segment::" + track
    rev = uniq("seg_revenue")
    create_metric(vane, {"name": rev, "type": "sum", "event": stored})
    base = base_day()
    n = 600
    exposures, messages, per = [], [], {}
    for g, lam in (("Control", 1.0), ("Test", 1.25)):
        t0 = base + rng.integers(HOUR, 20 * HOUR, n)
        c = rng.poisson(lam, n)
        r = np.zeros(n)
        for i in range(n):
            uid = "%s-%s%d" % (name, g[0], i)
            exposures.append(exposure(name, rules[g], uid, t0[i]))
            v = vals(rng, int(c[i]))
            for j, off in enumerate(rng.integers(60_000, 36 * HOUR, int(c[i]))):
                messages.append({"type": "track", "event": track, "userId": uid, "messageId": str(uuid.uuid4()),
                                 "timestamp": segment_iso(int(t0[i]) + int(off)), "properties": {"revenue": v[j]}})
            # one event before the exposure: ignored
            messages.append({"type": "track", "event": track, "userId": uid, "messageId": str(uuid.uuid4()),
                             "timestamp": segment_iso(int(t0[i]) - HOUR), "properties": {"revenue": 1000}})
            r[i] = sum(v)
        per[g] = (c.astype(float), r)
    send(vane, exposures)
    send_segment_tracks(vane, messages)
    C, T = per["Control"], per["Test"]
    want = {"groups": Exact({"Control": {"units": n}, "Test": {"units": n}}),
            "metrics": Exact({
                "count:" + stored: metric_want("count", stored, [oracle("mean", C[0], T[0])]),
                "conversion:" + stored: metric_want("conversion", stored, [
                    oracle("conversion", (C[0] > 0).astype(float), (T[0] > 0).astype(float))]),
                rev: metric_want("sum", stored, [oracle("mean", C[1], T[1])]),
                # Segment's revenue is the event's value: the automatic sum: metric is the same.
                "sum:" + stored: metric_want("sum", stored, [oracle("mean", C[1], T[1])]),
            })}
    params = {"metrics": "count:%s,conversion:%s,%s,sum:%s" % (stored, stored, rev, stored)}
    results_matching(vane, name, params, lambda d: problems_vs(d, want))


# ================================================================ 8. gate rollouts

def test_gate_rollout_results(vane):
    rng = np.random.default_rng(20261108)
    gate, rule_id = create_gate(vane, "pulse_gate", 50)
    event = uniq("purchase")
    base = base_day()
    n = {"fail": 700, "pass": 690}
    exposures, events, counts = [], [], {}
    for g, lam in (("fail", 1.0), ("pass", 1.2)):
        t0 = base + rng.integers(HOUR, 20 * HOUR, n[g])
        c = rng.poisson(lam, n[g])
        for i in range(n[g]):
            uid = "%s-%s%d" % (gate, g, i)
            exposures.append(gate_exposure(gate, rule_id, uid, t0[i], g == "pass"))
            exposures.append(gate_exposure(gate, rule_id, uid, t0[i] + HOUR, g == "pass"))  # re-check, same value
            events.extend(post_events(rng, uid, int(t0[i]), int(c[i]), event))
        counts[g] = c.astype(float)
    send(vane, exposures)
    send(vane, events)
    f, p = counts["fail"], counts["pass"]
    want = {"subjectKind": "gate", "controlGroup": "fail", "crossovers": 0,
            "groups": Exact({"fail": {"units": n["fail"]}, "pass": {"units": n["pass"]}}),
            "srm": srm_want([n["fail"], n["pass"]], [50, 50]),
            "metrics": Exact({
                "count:" + event: metric_want("count", event, [oracle("mean", f, p, group="pass")]),
                "conversion:" + event: metric_want("conversion", event, [
                    oracle("conversion", (f > 0).astype(float), (p > 0).astype(float), group="pass")]),
            })}
    # Users an earlier rule matched never reach the partial rule: the results say whom they compare.
    scoped = lambda d: [] if "(50 %)" in (d.get("scope") or "") else ["scope %r does not name the 50 %% rule" % d.get("scope")]
    results_matching(vane, gate, {"metrics": "count:%s,conversion:%s" % (event, event)},
                     lambda d: problems_vs(d, want) + scoped(d), subject="gates")


# ================================================================ 9. Bonferroni and Benjamini-Hochberg (3 groups)

def test_bonferroni_three_groups(vane):
    rng = np.random.default_rng(20261109)
    sizes = (("Control", 40), ("A", 30), ("B", 30))
    name, rules = create_experiment(vane, "pulse_bonf", groups=sizes)
    event = uniq("purchase")
    base = base_day()
    n = {"Control": 1600, "A": 1210, "B": 1190}
    lam = {"Control": 1.0, "A": 1.06, "B": 1.15}
    exposures, events, counts = [], [], {}
    for g, _ in sizes:
        t0 = base + rng.integers(HOUR, 20 * HOUR, n[g])
        c = rng.poisson(lam[g], n[g])
        for i in range(n[g]):
            uid = "%s-%s%d" % (name, g, i)
            exposures.append(exposure(name, rules[g], uid, t0[i]))
            events.extend(post_events(rng, uid, int(t0[i]), int(c[i]), event))
        counts[g] = c.astype(float)
    send(vane, exposures)
    send(vane, events)
    metrics = "count:%s,conversion:%s" % (event, event)
    k = 2 * 2  # metrics x treatment groups
    groups = Exact({g: {"units": n[g], "weight": w} for g, w in sizes})
    srm = srm_want([n[g] for g, _ in sizes], [w for _, w in sizes])
    for bonf, kk in ((True, k), (False, 1)):
        cnt = [oracle("mean", counts["Control"], counts[g], k=kk, group=g) for g in ("A", "B")]
        cnv = [oracle("conversion", (counts["Control"] > 0).astype(float), (counts[g] > 0).astype(float), k=kk, group=g)
               for g in ("A", "B")]
        if bonf:
            for w in cnt + cnv:
                assert w["adjustedAlpha"] == ALPHA / k
        want = {"groups": groups, "srm": srm, "controlGroup": "Control",
                "metrics": Exact({"count:" + event: metric_want("count", event, cnt),
                                  "conversion:" + event: metric_want("conversion", event, cnv)})}
        for m in want["metrics"].values():
            m["comparisons"] = Exact(m["comparisons"])
        params = {"metrics": metrics}
        if bonf:
            params["bonferroni"] = True
        results_matching(vane, name, params, lambda d: problems_vs(d, want), what="bonferroni=%s" % bonf)

    # Benjamini-Hochberg over the same 2 metrics x 2 treatments: unadjusted intervals, p-values adjusted
    # by scipy's false_discovery_control over the family (absolute and relative p-values separately).
    cnt = [oracle("mean", counts["Control"], counts[g], group=g) for g in ("A", "B")]
    cnv = [oracle("conversion", (counts["Control"] > 0).astype(float), (counts[g] > 0).astype(float), group=g)
           for g in ("A", "B")]
    for diff in ("absolute", "relative"):
        adjusted = sps.false_discovery_control([w[diff]["pValue"] for w in cnt + cnv], method="bh")
        for w, q in zip(cnt + cnv, adjusted):
            w[diff]["adjustedPValue"] = float(q)
    for w in cnt + cnv:
        w["isSignificant"] = w["absolute"]["adjustedPValue"] < ALPHA
    assert any(w["absolute"]["adjustedPValue"] != w["absolute"]["pValue"] for w in cnt + cnv)
    want = {"groups": groups, "srm": srm, "controlGroup": "Control",
            "options": {"correction": "benjamini-hochberg", "bonferroni": False},
            "metrics": Exact({"count:" + event: metric_want("count", event, cnt),
                              "conversion:" + event: metric_want("conversion", event, cnv)})}
    for m in want["metrics"].values():
        m["comparisons"] = Exact(m["comparisons"])
    for spelling in ("benjamini-hochberg", "bh", "BH"):
        results_matching(vane, name, {"metrics": metrics, "correction": spelling}, lambda d: problems_vs(d, want),
                         what="correction=%s" % spelling)
    r = vane.console("GET", "/experiments/%s/results" % name, params={"correction": "holm"})
    assert r.status_code == 400 and "benjamini-hochberg" in r.text, r.text[:300]
    r = vane.console("GET", "/experiments/%s/results" % name, params={"correction": "none", "bonferroni": "true"})
    assert r.status_code == 400 and "contradicts" in r.text, r.text[:300]


# ================================================================ 10. minimum sample

def test_minimum_sample_rule(vane):
    rng = np.random.default_rng(20261110)
    name, rules = create_experiment(vane, "pulse_tiny")
    event = uniq("purchase")
    base = base_day()
    n = 20
    exposures, events, counts = [], [], {}
    for g, lam in (("Control", 2.0), ("Test", 2.6)):
        t0 = base + rng.integers(HOUR, 20 * HOUR, n)
        c = rng.poisson(lam, n)
        for i in range(n):
            uid = "%s-%s%d" % (name, g[0], i)
            exposures.append(exposure(name, rules[g], uid, t0[i]))
            events.extend(post_events(rng, uid, int(t0[i]), int(c[i]), event))
        counts[g] = c.astype(float)
    send(vane, exposures)
    send(vane, events)
    c, t = counts["Control"], counts["Test"]

    def held_back(kind, a, b):
        full = oracle(kind, a, b)
        return {"group": "Test", "status": "insufficient_sample", "reason": NON_EMPTY_STRING,
                "absolute": None, "relative": None, "isSignificant": False,
                "control": {"units": n, "mean": full["control"]["mean"], "variance": full["control"]["variance"]},
                "treatment": {"units": n, "mean": full["treatment"]["mean"], "variance": full["treatment"]["variance"]}}

    metrics = "count:%s,conversion:%s" % (event, event)
    want = {"metrics": Exact({
        "count:" + event: metric_want("count", event, [held_back("mean", c, t)]),
        "conversion:" + event: metric_want("conversion", event, [
            held_back("conversion", (c > 0).astype(float), (t > 0).astype(float))]),
    })}
    results_matching(vane, name, {"metrics": metrics}, lambda d: problems_vs(d, want), what="defaults")
    # Unit threshold lowered: the count metric gets intervals (small-dof Welch t). The conversion
    # metric may still be held back by the non-conversion minimum, which has no query option.
    want = {"metrics": {"count:" + event: metric_want("count", event, [oracle("mean", c, t)])}}
    results_matching(vane, name, {"metrics": metrics, "minUnits": 0, "minConversions": 0},
                     lambda d: problems_vs(d, want), what="minUnits=0")
    want = {"metrics": {"count:" + event: metric_want("count", event, [
        dict(held_back("mean", c, t), reason=NON_EMPTY_STRING)])}}
    results_matching(vane, name, {"metrics": metrics, "minUnits": 21}, lambda d: problems_vs(d, want),
                     what="minUnits=21")


# ================================================================ 11. winsorization

def test_winsorization(vane):
    """winsorize=true caps per-unit values at a 99.9th percentile. Which values the percentile is
    taken over is not pinned by the spec (pooled over groups or per group; with or without units
    whose value is 0), so the result must equal gbstats on data capped under ONE of those four
    conventions, the same for every metric and group, and never the raw numbers (an outlier is
    planted). Without the option the raw numbers are reported."""
    rng = np.random.default_rng(20261111)
    name, rules = create_experiment(vane, "pulse_winsor")
    event = uniq("purchase")
    revenue = uniq("w_revenue")
    create_metric(vane, {"name": revenue, "type": "sum", "event": event})
    base = base_day()
    n = 1500
    exposures, events, per = [], [], {}
    for g, scale in (("Control", 1.0), ("Test", 1.1)):
        t0 = base + rng.integers(HOUR, 20 * HOUR, n)
        c = rng.poisson(0.7, n)
        c[:3] += 40  # heavy users
        r = np.zeros(n)
        for i in range(n):
            uid = "%s-%s%d" % (name, g[0], i)
            exposures.append(exposure(name, rules[g], uid, t0[i]))
            v = [round(float(x), 2) for x in rng.lognormal(3.0, 1.2, int(c[i])) * scale]
            if i < 3:
                v[0] = 50000.0  # outliers
            events.extend(post_events(rng, uid, int(t0[i]), int(c[i]), event, v))
            r[i] = sum(v)
        per[g] = (c.astype(float), r)
    send(vane, exposures)
    send(vane, events)
    C, T = per["Control"], per["Test"]
    metrics = "count:%s,%s" % (event, revenue)

    raw = {"count:" + event: metric_want("count", event, [oracle("mean", C[0], T[0])]),
           revenue: metric_want("sum", event, [oracle("mean", C[1], T[1])])}
    results_matching(vane, name, {"metrics": metrics, "cuped": False}, lambda d: problems_vs(d, {"metrics": Exact(raw)}),
                     what="no winsorization")

    def capped(a, b, pooled, nonzero):
        def q(x):
            x = x[x != 0] if nonzero else x
            return float(np.percentile(x, 99.9)) if len(x) else None
        if pooled:
            ca = cb = q(np.concatenate([a, b]))
        else:
            ca, cb = q(a), q(b)
        return np.minimum(a, ca), np.minimum(b, cb)

    conventions = [(p, z) for p in (True, False) for z in (True, False)]
    wants = {}
    for conv in conventions:
        ca, ta = capped(C[0], T[0], *conv)
        cr, tr = capped(C[1], T[1], *conv)
        wants[conv] = {"metrics": Exact({"count:" + event: metric_want("count", event, [oracle("mean", ca, ta)]),
                                         revenue: metric_want("sum", event, [oracle("mean", cr, tr)])})}
        assert cr.sum() + tr.sum() < C[1].sum() + T[1].sum()  # some outliers are capped under every convention

    def check(d):
        per_conv = {conv: problems_vs(d, w) for conv, w in wants.items()}
        if any(not p for p in per_conv.values()):
            return []
        best = min(per_conv.items(), key=lambda kv: len(kv[1]))
        return ["matches none of the capping conventions; closest (pooled=%s, nonzero-only=%s):" % best[0]] + best[1]

    results_matching(vane, name, {"metrics": metrics, "cuped": False, "winsorize": True}, check, what="winsorize=true")


# ================================================================ metrics catalogue and daily series

def test_metric_catalogue_and_series(vane):
    rng = np.random.default_rng(20261112)
    event = uniq("series_event")
    rev = uniq("series_revenue")
    create_metric(vane, {"name": rev, "type": "sum", "event": event})
    today = day_start(now_ms())
    events = []
    expected = {}
    users = ["%s-u%d" % (event, i) for i in range(40)]
    for back in (3, 2, 1):
        d = today - back * DAY
        key = day_str(d)
        ucount = {}
        total = 0.0
        for _ in range(int(rng.integers(30, 80))):
            uid = users[int(rng.integers(0, len(users)))]
            value = None if rng.random() < 0.1 else round(float(rng.gamma(2.0, 5.0)), 2)
            events.append(ev(event, uid, d + int(rng.integers(0, DAY - 1)), value))
            ucount[uid] = 1
            total += value or 0.0
        expected[key] = {"events": sum(1 for e in events if day_str(e["time"]) == key), "units": len(ucount), "sum": total}
    send(vane, events)

    # catalogue
    deadline = time.time() + POLL_SECONDS
    while True:
        listing = vane.console_ok("GET", "/metrics")
        items = listing if isinstance(listing, list) else (listing or {}).get("metrics", [])
        by_name = {(i.get("name") if isinstance(i, dict) else i): i for i in items}
        missing = [m for m in ("count:" + event, "conversion:" + event, rev) if m not in by_name]
        if not missing or time.time() > deadline:
            break
        time.sleep(0.25)
    assert not missing, "GET /console/v1/metrics lacks %s (has %d metrics)" % (missing, len(by_name))
    if isinstance(by_name[rev], dict):
        assert by_name[rev].get("type") == "sum" and by_name[rev].get("event") == event, by_name[rev]
    for auto, typ in (("count:" + event, "count"), ("conversion:" + event, "conversion")):
        if isinstance(by_name[auto], dict) and "type" in by_name[auto]:
            assert by_name[auto]["type"] == typ, by_name[auto]

    # series
    for metric, with_sum in (("count:" + event, False), (rev, True)):
        path = "/metrics/%s/series" % urllib.parse.quote(metric, safe=":")
        deadline = time.time() + POLL_SECONDS
        while True:
            data = vane.console_ok("GET", path)
            problems = []
            if not isinstance(data, dict) or data.get("metric") != metric or not isinstance(data.get("days"), list):
                problems.append("series envelope: %r" % (data,))
            else:
                got = {row.get("day"): row for row in data["days"]}
                for day, w in expected.items():
                    row = got.get(day)
                    if row is None:
                        problems.append("%s: day %s missing" % (metric, day))
                        continue
                    for f in ("events", "units") + (("sum",) if with_sum else ()):
                        if not close(row.get(f), w[f]):
                            problems.append("%s %s.%s: got %r, want %r" % (metric, day, f, row.get(f), w[f]))
                for day, row in got.items():
                    if day not in expected and row.get("events"):
                        problems.append("%s: unexpected events on %s: %r" % (metric, day, row))
            if not problems or time.time() > deadline:
                break
            time.sleep(0.25)
        assert not problems, "\n".join(problems)


def test_changing_a_running_split_needs_confirming_and_starts_a_new_srm_period(vane):
    """50/50 for days, then 60/40: the change must be confirmed, and the sample-ratio check then runs
    per analysis period, so units exposed at 50/50 are not judged against 60/40 (a false alarm)."""
    name, rules = create_experiment(vane, "split_change")
    vane.console_ok("POST", "/experiments/%s/start" % name)
    base = base_day()
    exposures = [exposure(name, rules["Control" if i % 2 else "Test"], "split-%d" % i, base + HOUR + i) for i in range(2000)]
    send(vane, exposures)
    groups = vane.console_ok("GET", "/experiments/" + name)["groups"]
    for g in groups:
        g["size"] = 60 if g["name"] == "Control" else 40
    refused = vane.console("PATCH", "/experiments/" + name, {"groups": groups})
    assert refused.status_code == 409, refused.text
    message = refused.json()["error"]
    assert "50 / 50 to 60 / 40" in message.replace("%", "") and "confirmSplitChange" in message, message
    assert [g["size"] for g in vane.console_ok("GET", "/experiments/" + name)["groups"]] == [50, 50], "a refused change saved"

    changed = vane.console_ok("PATCH", "/experiments/" + name, {"groups": groups, "confirmSplitChange": True})
    history = changed["splitHistory"]
    assert [h["sizes"] for h in history] == [{"Control": 50, "Test": 50}, {"Control": 60, "Test": 40}], history
    assert history[1]["since"] > history[0]["since"]
    # The history is the server's: a client cannot rewrite it.
    vane.console_ok("PATCH", "/experiments/" + name, {"splitHistory": [], "hypothesis": "h"})
    assert len(vane.console_ok("GET", "/experiments/" + name)["splitHistory"]) == 2

    def check(d):
        problems = []
        periods = d.get("srmPeriods") or []
        if len(periods) != 2:
            return ["srmPeriods %r: want two periods" % periods]
        first, current = periods
        if first["units"] != {"Control": 1000, "Test": 1000} or first["srm"] is None or first["srm"]["isMismatch"]:
            problems.append("the 50/50 period: %r" % first)
        if current["until"] is not None or current["weights"] != {"Control": 60, "Test": 40}:
            problems.append("the current period: %r" % current)
        if d["srm"] is not None and d["srm"]["isMismatch"]:
            problems.append("a false sample-ratio alarm: %r" % d["srm"])
        return problems
    results_matching(vane, name, {}, check)


# ================================================================ monitoring the rollup

def test_rollup_lag_is_exported_for_monitoring(vane):
    """/metrics reports how many events the background rollup has not read yet, per project; it
    comes back to 0 once the rollup has caught up with events just logged. On a cluster only the node
    holding the rollup's lease reports it."""
    event = "lag_probe_" + uuid.uuid4().hex[:8]
    now = int(time.time() * 1000)
    vane.log_events([{"eventName": event, "user": {"userID": "lag-%d" % i}, "time": now} for i in range(200)])
    deadline = time.time() + 30
    seen = None
    while time.time() < deadline:
        lines = []
        for base in {vane.base, vane.console_base}:
            r = vane.session.get(base + "/metrics", headers={"STATSIG-API-KEY": vane.console_key}, timeout=10)
            assert r.status_code == 200, r.text
            lines += [l for l in r.text.splitlines() if l.startswith("vane_pulse_rollup_events_behind{")]
        seen = lines
        metric = vane.console_ok("GET", "/metrics/" + urllib.parse.quote("count:" + event) + "/series") \
            if lines and float(lines[0].rsplit(" ", 1)[1]) == 0 else None
        if metric and sum(d["events"] for d in metric["days"]) == 200:
            assert 'project="default"' in lines[0]
            return
        time.sleep(0.2)
    raise AssertionError("the rollup lag gauge never showed the rollup caught up: %s" % seen)
