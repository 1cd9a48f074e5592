#!/usr/bin/env python3
"""Writes stats_cases.json: synthetic experiments and the numbers gbstats 0.8.0 and scipy give for them.

The Swift tests (Tests/VaneStatsTests) feed the same per-group sufficient statistics (and, where
present, the raw per-unit values) to VaneStats and compare every number to relative 1e-6
(absolute 1e-9 near zero); the distribution tables to relative 1e-10.

Set up (Python 3.11):
    python3 -m venv /tmp/statsvenv
    /tmp/statsvenv/bin/pip install gbstats==0.8.0 scipy numpy pandas
    /tmp/statsvenv/bin/python Tests/VaneStatsTests/Fixtures/make_fixtures.py

Resolved when this file was written: gbstats 0.8.0, scipy 1.17.1, numpy 1.26.4, pandas 1.5.3.
The output is deterministic (fixed seeds).

Oracles:
- gbstats.frequentist.tests.TwoSidedTTest / SequentialTwoSidedTTest with SampleMeanStatistic,
  ProportionStatistic, RatioStatistic and RegressionAdjustedStatistic (difference_type
  "absolute" and "relative"): estimates, intervals, p-values, variances, degrees of freedom, theta.
- scipy.stats.ttest_ind(equal_var=False) on the raw values (absolute difference of mean metrics,
  and of y - theta*x for CUPED): estimate, interval, p-value, degrees of freedom.
- gbstats.utils.check_srm and scipy.stats.chisquare for SRM.
- numpy.quantile (method "linear") for the winsorization cap.
- scipy.stats.t / norm / chi2, scipy.special for the distribution tables.
"""
import json
import math
import os
import sys

import numpy as np
import scipy
import scipy.special as sps
import scipy.stats as st

import gbstats
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)
from gbstats.utils import check_srm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "stats_cases.json")


# ---------------------------------------------------------------------------
# per-group sufficient statistics (the same fields as VaneStats.GroupSummary)
# ---------------------------------------------------------------------------
def compact(values):
    """Integral values as JSON integers (smaller file; the Swift side decodes them as Double)."""
    return [v if v is None or not float(v).is_integer() or abs(v) > 2 ** 52 else int(v) for v in values]


def summarize(values, denominators=None, pre=None):
    """pre: list with None for units without pre-exposure data."""
    x = np.asarray(values, dtype=float)
    s = {
        "count": int(len(x)),
        "sum": float(x.sum()),
        "sum_squares": float((x * x).sum()),
        "denominator_sum": 0.0,
        "denominator_sum_squares": 0.0,
        "main_denominator_sum_product": 0.0,
        "covariate_count": 0,
        "covariate_sum": 0.0,
        "covariate_sum_squares": 0.0,
        "main_covariate_sum_product": 0.0,
    }
    if denominators is not None:
        d = np.asarray(denominators, dtype=float)
        s["denominator_sum"] = float(d.sum())
        s["denominator_sum_squares"] = float((d * d).sum())
        s["main_denominator_sum_product"] = float((x * d).sum())
    if pre is not None:
        has = np.array([p is not None for p in pre])
        p = np.array([0.0 if v is None else float(v) for v in pre])
        s["covariate_count"] = int(has.sum())
        s["covariate_sum"] = float(p.sum())
        s["covariate_sum_squares"] = float((p * p).sum())
        s["main_covariate_sum_product"] = float((x * p).sum())
    return s


def base_stat(s, kind, prefix=""):
    n = s["count"]
    if prefix == "denominator":
        return SampleMeanStatistic(n=n, sum=s["denominator_sum"], sum_squares=s["denominator_sum_squares"])
    if prefix == "covariate":
        if kind == "conversion":
            return ProportionStatistic(n=n, sum=s["covariate_sum"])
        return SampleMeanStatistic(n=n, sum=s["covariate_sum"], sum_squares=s["covariate_sum_squares"])
    if kind == "conversion":
        return ProportionStatistic(n=n, sum=s["sum"])
    return SampleMeanStatistic(n=n, sum=s["sum"], sum_squares=s["sum_squares"])


def gb_stat(s, kind, cuped):
    """A fresh gbstats statistic (fresh because the tests write theta into them)."""
    if kind == "ratio":
        return RatioStatistic(
            n=s["count"], m_statistic=base_stat(s, kind), d_statistic=base_stat(s, kind, "denominator"),
            m_d_sum_of_products=s["main_denominator_sum_product"])
    if cuped:
        return RegressionAdjustedStatistic(
            n=s["count"], post_statistic=base_stat(s, kind), pre_statistic=base_stat(s, kind, "covariate"),
            post_pre_sum_of_products=s["main_covariate_sum_product"], theta=0)
    return base_stat(s, kind)


def gb_run(sa, sb, kind, cuped, relative, alpha, sequential, tuning):
    a, b = gb_stat(sa, kind, cuped), gb_stat(sb, kind, cuped)
    dt = "relative" if relative else "absolute"
    if sequential:
        test = SequentialTwoSidedTTest(a, b, SequentialConfig(alpha=alpha, difference_type=dt,
                                                              sequential_tuning_parameter=tuning))
    else:
        test = TwoSidedTTest(a, b, FrequentistConfig(alpha=alpha, difference_type=dt))
    res = test.compute_result()
    return test, res


def group_expected(stat):
    adjusted = isinstance(stat, RegressionAdjustedStatistic)
    out = {
        "mean": float(stat.unadjusted_mean),
        "variance": float(stat.post_statistic.variance if adjusted else stat.variance),
    }
    if adjusted:
        out["adjusted_mean"] = float(stat.mean)
        out["adjusted_variance"] = float(stat.variance)
    return out


def estimate_expected(test, res, comparisons, sequential):
    p = float(res.p_value)
    return {
        "estimate": float(res.expected),
        "lower": float(res.ci[0]),
        "upper": float(res.ci[1]),
        "p_value": p,
        "adjusted_p_value": min(1.0, p * comparisons),
        "standard_error": float(math.sqrt(test.variance)),
        "dof": None if sequential else float(test.dof),
    }


def scipy_welch(b, a, alpha):
    r = st.ttest_ind(b, a, equal_var=False)
    ci = r.confidence_interval(confidence_level=1 - alpha)
    return {"estimate": float(np.mean(b) - np.mean(a)), "lower": float(ci.low), "upper": float(ci.high),
            "p_value": float(r.pvalue), "dof": float(r.df)}


# ---------------------------------------------------------------------------
# synthetic data
# ---------------------------------------------------------------------------
def counts_with_pre(rng, n, lam, lift, pre_share=1.0):
    """Per-unit event counts after exposure and in the 7 days before (correlated through a
    per-unit propensity); pre is None for units without pre-exposure data."""
    g = rng.gamma(2.0, lam / 2.0, n)
    post = rng.poisson(g * lift).astype(float)
    pre = rng.poisson(g).astype(float)
    has = rng.random(n) < pre_share
    return post.tolist(), [float(v) if h else None for v, h in zip(pre, has)]


def conversions_with_pre(rng, n, p, lift):
    z = rng.normal(size=n)
    base = 1 / (1 + np.exp(-(np.log(p / (1 - p)) + 1.2 * z)))
    post = (rng.random(n) < np.clip(base * lift, 0, 1)).astype(float)
    pre = (rng.random(n) < base).astype(float)
    return post.tolist(), pre.tolist()


def revenue(rng, n, buy, mu, sigma):
    bought = rng.random(n) < buy
    v = np.where(bought, np.round(rng.lognormal(mu, sigma, n), 2), 0.0)
    return v.tolist()


def ratio_data(rng, n, rate):
    sessions = 1 + rng.poisson(2.0, n)
    events = rng.poisson(sessions * rate)
    return events.astype(float).tolist(), sessions.astype(float).tolist()


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------
def options(alpha=0.05, sequential=False, tuning=5000.0, comparisons=1, cuped_enabled=True, minimum="standard"):
    return {"alpha": alpha, "sequential": sequential, "tuning": tuning, "comparisons": comparisons,
            "cuped_enabled": cuped_enabled, "minimum": minimum}


CASES = []


def add_case(cid, note, kind, control, treatment, opts, expect_cuped=False, oracle_cuped=None,
             include_raw=True, status="ok", reason_contains=(), notes_contain=(), scipy_on=None,
             expected_override=None, winsorize=None):
    """control/treatment: dicts with values (+ denominators, pre)."""
    sa = summarize(control["values"], control.get("denominators"), control.get("pre"))
    sb = summarize(treatment["values"], treatment.get("denominators"), treatment.get("pre"))
    raw = {}
    if winsorize is not None:
        # The summaries are of the capped values; the raw values stay uncapped so the Swift test
        # can winsorize them itself.
        pooled = np.array([v for v in control["values"] + treatment["values"] if v != 0], dtype=float)
        cap = float(np.quantile(pooled, winsorize, method="linear"))
        ca = [min(v, cap) for v in control["values"]]
        cb = [min(v, cap) for v in treatment["values"]]
        sa, sb = summarize(ca), summarize(cb)
        raw["winsorize"] = {"quantile": winsorize, "cap": cap}
    alpha, k = opts["alpha"], opts["comparisons"]
    adj_alpha = alpha / k
    seq, tuning = opts["sequential"], opts["tuning"]
    cuped = expect_cuped if oracle_cuped is None else oracle_cuped

    exp = {"status": status, "reason_contains": list(reason_contains), "notes_contain": list(notes_contain),
           "cuped_applied": bool(expect_cuped)}
    test_rel, res_rel = gb_run(sa, sb, kind, cuped, True, adj_alpha, seq, tuning)
    test_abs, res_abs = gb_run(sa, sb, kind, cuped, False, adj_alpha, seq, tuning)
    exp["control"] = group_expected(test_rel.stat_a)
    exp["treatment"] = group_expected(test_rel.stat_b)
    if isinstance(test_rel.stat_a, RegressionAdjustedStatistic):
        exp["theta"] = float(test_rel.stat_a.theta)
        assert test_rel.stat_a.theta == test_abs.stat_a.theta
    assert bool(expect_cuped) == isinstance(test_rel.stat_a, RegressionAdjustedStatistic), cid
    if status == "absolute_only":
        assert res_rel.error_message == "ZERO_NEGATIVE_BASELINE_VARIATION", cid
    if status == "ok":
        assert res_rel.error_message is None and res_abs.error_message is None, (cid, res_rel.error_message)
        exp["relative"] = estimate_expected(test_rel, res_rel, k, seq)
        exp["absolute"] = estimate_expected(test_abs, res_abs, k, seq)
    if scipy_on is not None:
        a_vals, b_vals = scipy_on
        exp["scipy_welch"] = scipy_welch(np.asarray(b_vals, float), np.asarray(a_vals, float), adj_alpha)
        if status == "ok" and "absolute" in exp and not seq:
            # gbstats' absolute Welch test is scipy's Welch test.
            for key in ("estimate", "lower", "upper", "p_value", "dof"):
                x, y = exp["absolute"][key], exp["scipy_welch"][key]
                assert abs(x - y) <= 1e-8 * max(1, abs(y)), (cid, key, x, y)
    if status == "absolute_only":
        # gbstats returns its default output when the control mean is 0; VaneStats still reports
        # the absolute difference, which is scipy's Welch test.
        exp["status"] = "ok"
        w = dict(exp["scipy_welch"])
        va, vb = np.var(scipy_on[0], ddof=1), np.var(scipy_on[1], ddof=1)
        w["standard_error"] = float(math.sqrt(va / len(scipy_on[0]) + vb / len(scipy_on[1])))
        w["adjusted_p_value"] = min(1.0, w["p_value"] * k)
        exp["absolute"] = w
    if expected_override:
        exp.update(expected_override)

    case = {"id": cid, "note": note, "kind": kind, "options": opts,
            "control": {"summary": sa}, "treatment": {"summary": sb}, "expected": exp}
    case.update(raw)
    if include_raw:
        for side, src in (("control", control), ("treatment", treatment)):
            case[side]["values"] = compact(src["values"])
            if "denominators" in src:
                case[side]["denominators"] = compact(src["denominators"])
            if "pre" in src:
                case[side]["pre"] = compact(src["pre"])
    CASES.append(case)


def build_cases():
    rng = np.random.default_rng(20240601)

    # --- mean metrics ------------------------------------------------------
    a, _ = counts_with_pre(rng, 1000, 2.0, 1.0)
    b, _ = counts_with_pre(rng, 1000, 2.0, 1.1)
    add_case("mean_count_basic", "events per user, Poisson-gamma, +10 %", "mean",
             {"values": a}, {"values": b}, options(), scipy_on=(a, b))

    a = np.round(rng.normal(50, 10, 800), 2).tolist()
    b = np.round(rng.normal(48.8, 25, 1600), 2).tolist()
    add_case("mean_unbalanced_welch", "800 vs 1600 units, sd 10 vs 25, negative effect", "mean",
             {"values": a}, {"values": b}, options(), scipy_on=(a, b))

    a = revenue(rng, 1500, 0.3, 3.0, 1.2)
    b = revenue(rng, 1400, 0.3, 3.05, 1.2)
    add_case("mean_revenue_heavy_tail", "revenue per user: 70 % zeros, lognormal spend", "mean",
             {"values": a}, {"values": b}, options(), scipy_on=(a, b))
    cap_q = 0.999
    pooled = np.array([v for v in a + b if v != 0])
    cap = float(np.quantile(pooled, cap_q, method="linear"))
    add_case("mean_revenue_winsorized", "same revenue, capped at the 99.9th percentile of pooled non-zero values",
             "mean", {"values": a}, {"values": b}, options(), winsorize=cap_q,
             scipy_on=([min(v, cap) for v in a], [min(v, cap) for v in b]))

    a = np.round(rng.normal(10, 3, 1200), 1).tolist()
    b = np.round(rng.normal(10, 3, 1200), 1).tolist()
    add_case("alpha_10", "no true effect, alpha 0.10", "mean", {"values": a}, {"values": b},
             options(alpha=0.10), scipy_on=(a, b))
    add_case("bonferroni_5", "same data, Bonferroni over 5 metrics", "mean", {"values": a}, {"values": b},
             options(comparisons=5), scipy_on=(a, b), include_raw=False)

    a = np.round(rng.normal(-2.0, 4, 900), 2).tolist()
    b = np.round(rng.normal(-1.5, 4, 950), 2).tolist()
    add_case("negative_baseline", "profit per user with a negative control mean (relative uses the signed mean)",
             "mean", {"values": a}, {"values": b}, options(), scipy_on=(a, b))

    a = np.round(rng.normal(20, 5, 9), 1).tolist()
    b = np.round(rng.normal(26, 8, 12), 1).tolist()
    add_case("tiny_no_minimum", "9 vs 12 units with the minimum rule off: small Welch dof", "mean",
             {"values": a}, {"values": b}, options(minimum="none"), scipy_on=(a, b))

    # --- conversion --------------------------------------------------------
    a, _ = conversions_with_pre(rng, 1000, 0.10, 1.0)
    b, _ = conversions_with_pre(rng, 1000, 0.10, 1.2)
    add_case("conversion_basic", "conversion ~10 % vs ~12 %", "conversion", {"values": a}, {"values": b}, options())
    add_case("conversion_as_mean", "the same 0/1 values analysed as a mean metric (N-1 variance) = scipy Welch",
             "mean", {"values": a}, {"values": b}, options(), scipy_on=(a, b), include_raw=False)

    # --- ratio ---------------------------------------------------------------
    ea, sa_ = ratio_data(rng, 1200, 1.5)
    eb, sb_ = ratio_data(rng, 1250, 1.6)
    add_case("ratio_basic", "events per session (delta method)", "ratio",
             {"values": ea, "denominators": sa_}, {"values": eb, "denominators": sb_}, options())
    _, pre_a = counts_with_pre(rng, 1200, 3.0, 1.0)
    _, pre_b = counts_with_pre(rng, 1250, 3.0, 1.0)
    add_case("ratio_with_pre", "ratio metric with pre-exposure data: CUPED is not applied to ratios", "ratio",
             {"values": ea, "denominators": sa_, "pre": pre_a}, {"values": eb, "denominators": sb_, "pre": pre_b},
             options(), notes_contain=["ratio metrics"])

    # --- CUPED ---------------------------------------------------------------
    a, pa = counts_with_pre(rng, 1500, 3.0, 1.0)
    b, pb = counts_with_pre(rng, 1500, 3.0, 1.07)
    add_case("mean_cuped", "count metric with every unit's 7-day pre-exposure count", "mean",
             {"values": a, "pre": pa}, {"values": b, "pre": pb}, options(), expect_cuped=True)
    # scipy on y - theta*x with gbstats' theta
    case = CASES[-1]
    th = case["expected"]["theta"]
    adj_a = [y - th * x for y, x in zip(a, pa)]
    adj_b = [y - th * x for y, x in zip(b, pb)]
    case["expected"]["scipy_welch"] = scipy_welch(np.asarray(adj_b), np.asarray(adj_a), 0.05)
    case["expected"]["scipy_welch"]["note"] = "Welch on y - theta*x equals the CUPED absolute test"

    add_case("mean_cuped_disabled", "same data, CUPED switched off", "mean",
             {"values": a, "pre": pa}, {"values": b, "pre": pb}, options(cuped_enabled=False), scipy_on=(a, b),
             include_raw=False)
    add_case("sequential_cuped", "same data, CUPED + sequential", "mean",
             {"values": a, "pre": pa}, {"values": b, "pre": pb}, options(sequential=True), expect_cuped=True,
             include_raw=False)

    a, pa = counts_with_pre(rng, 2000, 2.0, 1.0, pre_share=0.6)
    b, pb = counts_with_pre(rng, 2000, 2.0, 1.05, pre_share=0.6)
    add_case("mean_cuped_partial_pre", "60 % of units have pre-exposure data (others count as 0)", "mean",
             {"values": a, "pre": pa}, {"values": b, "pre": pb}, options(), expect_cuped=True)

    a, pa = counts_with_pre(rng, 1500, 2.0, 1.0, pre_share=0.03)
    b, pb = counts_with_pre(rng, 1500, 2.0, 1.05, pre_share=0.03)
    add_case("cuped_thin", "3 % of units have pre-exposure data: CUPED skipped with a note", "mean",
             {"values": a, "pre": pa}, {"values": b, "pre": pb}, options(), expect_cuped=False,
             notes_contain=["CUPED skipped", "pre-exposure data"], scipy_on=(a, b))

    a, _ = counts_with_pre(rng, 800, 2.0, 1.0)
    b, _ = counts_with_pre(rng, 800, 2.0, 1.1)
    ones_a, ones_b = [1.0] * 800, [1.0] * 800
    add_case("cuped_theta_zero", "every unit's pre value is 1: theta = 0, gbstats falls back to unadjusted", "mean",
             {"values": a, "pre": ones_a}, {"values": b, "pre": ones_b}, options(), expect_cuped=False,
             oracle_cuped=True, notes_contain=["CUPED skipped"], scipy_on=(a, b))

    a, pa = conversions_with_pre(rng, 3000, 0.2, 1.0)
    b, pb = conversions_with_pre(rng, 3000, 0.2, 1.1)
    add_case("conversion_cuped", "conversion with pre-exposure conversion (p(1-p) variances, N-1 covariance)",
             "conversion", {"values": a, "pre": pa}, {"values": b, "pre": pb}, options(), expect_cuped=True)

    # --- sequential ----------------------------------------------------------
    a, _ = counts_with_pre(rng, 3000, 2.0, 1.0)
    b, _ = counts_with_pre(rng, 3000, 2.0, 1.08)
    add_case("sequential_mean", "sequential (N* = 5000)", "mean", {"values": a}, {"values": b},
             options(sequential=True))
    add_case("bonferroni_sequential_3", "sequential with Bonferroni over 3 metrics", "mean",
             {"values": a}, {"values": b}, options(sequential=True, comparisons=3), include_raw=False)
    ea, sa_ = ratio_data(rng, 2500, 1.5)
    eb, sb_ = ratio_data(rng, 2500, 1.6)
    add_case("sequential_ratio", "sequential ratio metric", "ratio",
             {"values": ea, "denominators": sa_}, {"values": eb, "denominators": sb_}, options(sequential=True))
    a, _ = conversions_with_pre(rng, 4000, 0.3, 1.0)
    b, _ = conversions_with_pre(rng, 4000, 0.3, 1.15)
    add_case("sequential_conversion_alpha10", "sequential conversion, alpha 0.10, N* = 1000", "conversion",
             {"values": a}, {"values": b}, options(sequential=True, alpha=0.10, tuning=1000.0))

    # --- minimum-sample rule and degenerate data ------------------------------
    a, _ = counts_with_pre(rng, 60, 2.0, 1.0)
    b, _ = counts_with_pre(rng, 70, 2.0, 1.0)
    add_case("small_mean", "60 and 70 units: below the 100-unit minimum", "mean", {"values": a}, {"values": b},
             options(), status="insufficient_sample",
             reason_contains=["control has 60 units", "treatment has 70 units", "at least 100"])
    a = [1.0] * 9 + [0.0] * 491
    b = [1.0] * 14 + [0.0] * 486
    add_case("small_conversions", "500 units but 9 and 14 conversions", "conversion", {"values": a},
             {"values": b}, options(), status="insufficient_sample",
             reason_contains=["control has 9 conversions", "treatment has 14 conversions", "at least 30"])
    a = [1.0] * 480 + [0.0] * 20
    b = [1.0] * 470 + [0.0] * 30
    add_case("high_conversion", "480 of 500 convert: too few non-conversions in control", "conversion",
             {"values": a}, {"values": b}, options(), status="insufficient_sample",
             reason_contains=["control has 20 units without a conversion"])
    a = [0.0] * 300
    b = revenue(rng, 300, 0.2, 2.0, 1.0)
    add_case("zero_variance_control", "every control unit has 0", "mean", {"values": a}, {"values": b},
             options(), status="not_computable", reason_contains=["variance is 0 in control"])
    a = ([-1.0, 1.0] * 300)
    b = np.round(rng.normal(0.2, 1.0, 600), 2).tolist()
    add_case("zero_control_mean", "control mean exactly 0: absolute only (gbstats gives no result; scipy does)",
             "mean", {"values": a}, {"values": b}, options(), status="absolute_only",
             notes_contain=["control mean is 0"], scipy_on=(a, b))
    ea, sa_ = [0.0] * 200, [0.0] * 200
    eb, sb_ = ratio_data(rng, 200, 1.0)
    add_case("ratio_zero_denominator", "no sessions in control", "ratio",
             {"values": ea, "denominators": sa_}, {"values": eb, "denominators": sb_}, options(),
             status="not_computable", reason_contains=["denominator sum is 0 in control"])

    # --- large samples (summaries only) ---------------------------------------
    n = 2_000_000
    ca, cb = int(rng.binomial(n, 0.05)), int(rng.binomial(n, 0.0505))
    sa = {"count": n, "sum": float(ca), "sum_squares": float(ca)}
    sb = {"count": n, "sum": float(cb), "sum_squares": float(cb)}
    add_summary_case("large_conversion", "2 million units per group, summaries only (dof ~ 4e6)", "conversion",
                     sa, sb, options())
    add_summary_case("large_conversion_sequential", "the same, sequential", "conversion", sa, sb,
                     options(sequential=True))
    n_a, n_b = 5_000_000, 4_990_000
    xa = rng.gamma(2.0, 5.0, n_a)
    xb = rng.gamma(2.0, 5.02, n_b)
    sa = {"count": n_a, "sum": float(xa.sum()), "sum_squares": float((xa * xa).sum())}
    sb = {"count": n_b, "sum": float(xb.sum()), "sum_squares": float((xb * xb).sum())}
    add_summary_case("large_mean", "5 million units per group, summaries only", "mean", sa, sb, options())


def full_summary(s):
    out = {"count": 0, "sum": 0.0, "sum_squares": 0.0, "denominator_sum": 0.0, "denominator_sum_squares": 0.0,
           "main_denominator_sum_product": 0.0, "covariate_count": 0, "covariate_sum": 0.0,
           "covariate_sum_squares": 0.0, "main_covariate_sum_product": 0.0}
    out.update(s)
    return out


def add_summary_case(cid, note, kind, sa, sb, opts):
    sa, sb = full_summary(sa), full_summary(sb)
    alpha, k = opts["alpha"], opts["comparisons"]
    seq, tuning = opts["sequential"], opts["tuning"]
    test_rel, res_rel = gb_run(sa, sb, kind, False, True, alpha / k, seq, tuning)
    test_abs, res_abs = gb_run(sa, sb, kind, False, False, alpha / k, seq, tuning)
    exp = {"status": "ok", "reason_contains": [], "notes_contain": [], "cuped_applied": False,
           "control": group_expected(test_rel.stat_a), "treatment": group_expected(test_rel.stat_b),
           "relative": estimate_expected(test_rel, res_rel, k, seq),
           "absolute": estimate_expected(test_abs, res_abs, k, seq)}
    CASES.append({"id": cid, "note": note, "kind": kind, "options": opts,
                  "control": {"summary": sa}, "treatment": {"summary": sb}, "expected": exp})


# ---------------------------------------------------------------------------
# SRM, winsorization, distributions
# ---------------------------------------------------------------------------
def srm_cases():
    out = []
    for counts, weights in [
        ([1000, 1000], [0.5, 0.5]),
        ([1000, 1100], [0.5, 0.5]),
        ([5000, 5280], [0.5, 0.5]),
        ([10000, 10500], [0.5, 0.5]),
        ([2450, 2550, 5000], [0.25, 0.25, 0.5]),
        ([3300, 3400, 3050], [1, 1, 1]),
        ([900, 100], [0.9, 0.1]),
        ([880, 120], [0.9, 0.1]),
        ([400000, 401500], [50, 50]),
        ([12, 30], [0.5, 0.5]),
        ([0, 0], [0.5, 0.5]),
    ]:
        p = float(check_srm(counts, weights))
        total, tw = sum(counts), sum(weights)
        expected = [w / tw * total for w in weights]
        x = sum((o - e) ** 2 / e for o, e in zip(counts, expected)) if total else 0.0
        if total:
            sp = float(st.chisquare(counts, expected).pvalue)
            assert abs(sp - p) <= 1e-12 * max(1e-300, p) or abs(sp - p) < 1e-300, (counts, sp, p)
        out.append({"observed": counts, "weights": [float(w) for w in weights], "p_value": p, "chi_square": float(x),
                    "expected": expected, "mismatch": p < 0.001})
    return out


def winsorization_cases():
    rng = np.random.default_rng(7)
    out = []
    v = np.round(rng.lognormal(2, 1.5, 3000), 2)
    v[rng.random(3000) < 0.4] = 0
    vals = v.tolist()
    checks = []
    for q, ignore in [(0.999, True), (0.999, False), (0.99, True), (0.5, True), (1.0, True), (0.0, True)]:
        pool = [x for x in vals if (x != 0 or not ignore)]
        cap = float(np.quantile(np.array(pool), q, method="linear"))
        checks.append({"quantile": q, "ignoring_zeros": ignore, "cap": cap,
                       "capped_sum": float(np.minimum(v, cap).sum())})
    out.append({"values": compact(vals), "checks": checks})
    small = [3.0, 1.0, 2.0, 10.0]
    cap = float(np.quantile(small, 0.9))
    out.append({"values": compact(small), "checks": [{"quantile": 0.9, "ignoring_zeros": True, "cap": cap,
                                                        "capped_sum": float(np.minimum(small, cap).sum())}]})
    return out


def distribution_tables():
    t_rows = []
    dofs = [1, 1.5, 2, 2.5, 3, 5, 9.7, 30, 99, 250, 1000, 12345.6, 1e5, 1e6, 4e6, 1e8]
    ts = [0.0, 0.001, 0.5, 1.0, 1.96, 2.5, 4.0, 8.0, 20.0]
    for nu in dofs:
        for t in ts:
            for sgn in ((1,) if t == 0 else (1, -1)):
                x = sgn * t
                if nu == 1 and 0 < t < 0.01:
                    continue  # scipy's df=1 branch loses digits near 0 (mpmath agrees with VaneStats)
                sf, cdf = float(st.t.sf(x, nu)), float(st.t.cdf(x, nu))
                if min(sf, cdf) < 1e-300:
                    continue
                t_rows.append([nu, x, sf, cdf, float(st.t.pdf(x, nu))])
    tq_rows = []
    for nu in dofs:
        for q in [0.4, 0.25, 0.1, 0.05, 0.025, 0.005, 5e-4, 1e-6, 1e-10]:
            tq_rows.append([nu, q, float(st.t.isf(q, nu)), float(st.t.ppf(q, nu))])
    n_rows = []
    for z in np.concatenate([np.linspace(-37, 37, 149), [1e-9, -1e-9, 1.959963984540054]]):
        n_rows.append([float(z), float(st.norm.sf(z)), float(st.norm.cdf(z)), float(st.norm.pdf(z))])
    nq_rows = []
    for p in np.concatenate([np.logspace(-300, -1, 61), [0.025, 0.05, 0.1, 0.25, 0.4, 0.5, 0.6, 0.9, 0.975, 0.995,
                                                          0.9995, 1 - 1e-10]]):
        nq_rows.append([float(p), float(st.norm.ppf(p))])
    c_rows = []
    for k in [1, 2, 3, 4, 5, 10, 30]:
        for x in [1e-6, 0.01, 0.5, 1, 2, 3.84, 7, 10.8, 20, 50, 100, 500, 1200]:
            sf = float(st.chi2.sf(x, k))
            if sf < 1e-300:
                continue
            c_rows.append([float(k), float(x), sf, float(st.chi2.cdf(x, k))])
    e_rows = [[float(x), float(sps.erf(x)), float(sps.erfc(x))] for x in np.linspace(-6, 6, 49)]
    lg_rows = [[float(x), float(sps.gammaln(x))] for x in
               [1e-8, 0.1, 0.5, 1, 1.5, 2, 2.5, 3.7, 9.99, 10, 10.5, 33.3, 100, 1e3, 1e5, 1e8]]
    b_rows = []
    for a, b, x in [(0.5, 0.5, 0.3), (2, 3, 0.4), (10, 0.5, 0.9), (50, 0.5, 0.97), (5e5, 0.5, 0.99999),
                    (3, 40, 0.05), (100, 100, 0.52), (1, 1, 0.25)]:
        b_rows.append([a, b, x, float(sps.betainc(a, b, x)), float(sps.betaincc(a, b, x))])
    return {"t": t_rows, "t_quantile": tq_rows, "normal": n_rows, "normal_quantile": nq_rows,
            "chi2": c_rows, "erf": e_rows, "lgamma": lg_rows, "beta": b_rows}


def main():
    build_cases()
    doc = {
        "generator": "Tests/VaneStatsTests/Fixtures/make_fixtures.py",
        "versions": {"gbstats": gbstats.__version__ if hasattr(gbstats, "__version__") else "0.8.0",
                     "scipy": scipy.__version__, "numpy": np.__version__, "python": sys.version.split()[0]},
        "tolerance": {"relative": 1e-6, "absolute": 1e-9, "distributions_relative": 1e-10},
        "cases": CASES,
        "srm": srm_cases(),
        "winsorization": winsorization_cases(),
        "distributions": distribution_tables(),
    }
    with open(OUT, "w") as f:
        json.dump(doc, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(CASES)} cases, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
