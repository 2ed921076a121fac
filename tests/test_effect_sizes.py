"""Tests of evidence.effect_sizes: hand-worked cases, R pins, printed values, bad input."""

from __future__ import annotations

import dataclasses
import doctest
import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import R_DIR, load_reference, run_r
from scipy import stats

import evidence.effect_sizes
from evidence import options
from evidence._results import FRAME_COLUMNS
from evidence.effect_sizes import (
    EffectSizes,
    continuity_corrections,
    log_odds_ratios,
    log_risk_ratios,
    odds_ratio,
    risk_difference,
    risk_differences,
    risk_ratio,
)
from evidence.exceptions import ZeroCellWarning

#: Agreement with R beyond printing precision (brief: <= 1e-6 relative).
R_RTOL = 1e-6
#: Conditional (exact, mid-p) limits and p-values against R's fisher.test algorithm
#: solved to tol 1e-13: both sides converge to ~1e-12, and odds_ratio's docstring
#: promises agreement to better than 1e-10.
TIGHT_RTOL = 1e-10
#: Regenerated JSON must equal the committed file to this relative tolerance.
REGEN_RTOL = 1e-10
#: stats::fisher.test solves for its limits with uniroot's default tolerance
#: .Machine$double.eps^0.25 on the scale of t (limit < 1) or 1/t (limit > 1); its
#: printed limits are compared on that scale with twice that tolerance.
FISHER_UNIROOT_TOL = 2 * np.finfo(float).eps ** 0.25

# Expected sizes of the pinned grid: the test fails if the grid shrinks.
N_FISHER_CASES = 13
N_ESCALC_RUNS = 18  # 3 measures x 3 `to` x 2 `drop00`
N_ESCALC_STUDIES = 26  # 18 dat.nielweise2007 + 8 synthetic
N_TACC_RUNS = 3

CAMBRIDGE = (15, 23, 48, 227)

TO_CORRECTION = {"only0": "add_if_zero", "all": "add_all", "none": "none"}
MEASURE_FUNCTION = {"OR": log_odds_ratios, "RR": log_risk_ratios, "RD": risk_differences}


def _num(v: float | str) -> float:
    return float(v) if not isinstance(v, str) else float(v.replace("Inf", "inf"))


def _counts(case: dict) -> tuple[int, int, int, int]:
    return case["a"], case["a"] + case["b"], case["c"], case["c"] + case["d"]


@pytest.fixture(scope="module")
def ref() -> dict:
    return load_reference("or_intervals.json")


# ---------------------------------------------------------------------------
# Hand-worked and printed values
# ---------------------------------------------------------------------------


def test_cambridge_woolf_printed_values() -> None:
    # Cambridge Study in Delinquent Development table: 15 of 23 boys separated
    # by parental imprisonment vs 48 of 227; target printed to 2 decimals:
    # OR 6.99 (95% CI 2.80 to 17.46).
    r = odds_ratio(*CAMBRIDGE)
    assert (round(r.estimate, 2), round(r.ci_low, 2), round(r.ci_high, 2)) == (6.99, 2.80, 17.46)


def test_cambridge_woolf_hand_worked() -> None:
    a, b, c, d = 15, 8, 48, 179
    est = a * d / (b * c)  # 2685 / 384
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = 1.959963984540054
    r = odds_ratio(*CAMBRIDGE)
    assert r.estimate == pytest.approx(2685 / 384, rel=1e-14)
    assert r.log_estimate == pytest.approx(math.log(est), rel=1e-14)
    assert r.se == pytest.approx(se, rel=1e-14)
    assert r.ci_low == pytest.approx(math.exp(math.log(est) - z * se), rel=1e-12)
    assert r.ci_high == pytest.approx(math.exp(math.log(est) + z * se), rel=1e-12)
    assert r.p_value == pytest.approx(2 * stats.norm.sf(math.log(est) / se), rel=1e-12)
    assert r.table == (15, 8, 48, 179)
    assert r.ci == "woolf" and r.alpha == 0.05 and r.correction == "none" and not r.corrected


def test_cambridge_risk_ratio_about_three() -> None:
    # 65% vs 21%: an odds ratio of 7.0 is "about three times the risk".
    rr = risk_ratio(*CAMBRIDGE)
    assert rr.estimate == pytest.approx((15 / 23) / (48 / 227), rel=1e-14)
    assert round(rr.estimate, 1) == 3.1
    se = math.sqrt(1 / 15 - 1 / 23 + 1 / 48 - 1 / 227)
    assert rr.se == pytest.approx(se, rel=1e-14)
    assert rr.ci_low == pytest.approx(rr.estimate * math.exp(-stats.norm.ppf(0.975) * se))
    rd = risk_difference(*CAMBRIDGE)
    assert rd.estimate == pytest.approx(15 / 23 - 48 / 227, rel=1e-14)


# Printed values of the worked examples of Fagerland, Lydersen & Laake (2017),
# Statistical Analysis of Contingency Tables, Chapter 4, as printed (4 decimals)
# by the authors' companion R package contingencytables (tests/testthat/test-ch4.R):
#   MiettinenNurminen_asymptotic_score_CI_OR_2x2(9,4 / 4,10): 5.6250 (1.0934 to 28.9419)
#   Cornfield_midP_CI_2x2(3,1 / 1,3):                        9.0000 (0.3101 to 308.5568)
#   Katz_log_CI_2x2(7,27 / 1,33):                            7.0000 (0.9096 to 53.8695)
#   Wald_CI_2x2(7,27 / 1,33):                                0.1765 (0.0292 to 0.3238)
#   Newcombe_hybrid_score_CI_2x2(7,27 / 1,33):               0.1765 (0.0189 to 0.3404)
#   Fisher_exact_test_2x2(0,16 / 15,57):                     P = 0.06287
# Tables: Lampasona et al. (2013) GADA / IPEX; "lady tasting tea"; Perondi et al.
# (2004) epinephrine RCT; Ritland et al. (2007) CHRNA4 / XFS.
PRINTED_4DP = [
    (lambda: odds_ratio(9, 13, 4, 14, ci="score"), 5.6250, 1.0934, 28.9419),
    (lambda: odds_ratio(3, 4, 1, 4, ci="midp"), 9.0000, 0.3101, 308.5568),
    (lambda: risk_ratio(7, 34, 1, 34), 7.0000, 0.9096, 53.8695),
    (lambda: risk_difference(7, 34, 1, 34), 0.1765, 0.0292, 0.3238),
    (lambda: risk_difference(7, 34, 1, 34, ci="newcombe"), 0.1765, 0.0189, 0.3404),
]


@pytest.mark.parametrize("make, est, low, high", PRINTED_4DP)
def test_fagerland_printed_intervals(make, est: float, low: float, high: float) -> None:
    r = make()
    assert (round(r.estimate, 4), round(r.ci_low, 4), round(r.ci_high, 4)) == (est, low, high)


def test_fagerland_printed_fisher_p() -> None:
    assert round(odds_ratio(0, 16, 15, 72, ci="exact").p_value, 5) == 0.06287


def test_score_p_value_is_scaled_pearson_chi2() -> None:
    # The Miettinen-Nurminen statistic at OR = 1 is Pearson's chi-squared x (N-1)/N.
    for t in [(9, 4, 4, 10), (15, 8, 48, 179), (2, 3, 8, 1)]:
        a, b, c, d = t
        n = a + b + c + d
        chi2 = stats.chi2_contingency([[a, b], [c, d]], correction=False)[0] * (n - 1) / n
        r = odds_ratio(a, a + b, c, c + d, ci="score")
        assert r.p_value == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-10)


@pytest.mark.parametrize("table", [(9, 4, 4, 10), (7, 27, 1, 33), (15, 8, 48, 179), (3, 1, 1, 3)])
@pytest.mark.parametrize("ci", ["midp", "score", "woolf"])
def test_p_value_agrees_with_interval(table: tuple[int, ...], ci: str) -> None:
    # For methods whose p-value inverts the interval, 1 is outside iff p < alpha.
    a, b, c, d = table
    for alpha in (0.01, 0.05, 0.1, 0.3):
        r = odds_ratio(a, a + b, c, c + d, ci=ci, alpha=alpha)
        assert (r.p_value < alpha) == (not r.ci_low <= 1 <= r.ci_high)


def test_intervals_nest_with_alpha() -> None:
    for ci in options.OR_CI_METHODS:
        wide = odds_ratio(*CAMBRIDGE, ci=ci, alpha=0.01)
        narrow = odds_ratio(*CAMBRIDGE, ci=ci, alpha=0.10)
        assert wide.ci_low < narrow.ci_low < narrow.estimate < narrow.ci_high < wide.ci_high


def test_newcombe_hand_worked_at_alpha_010() -> None:
    # Newcombe (1998) method 10 from the closed-form Wilson (1927) limits.
    def wilson(x: int, n: int, z: float) -> tuple[float, float]:
        p = x / n
        centre, denom = p + z * z / (2 * n), 1 + z * z / n
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        return (centre - half) / denom, (centre + half) / denom

    z = stats.norm.ppf(0.95)
    for x1, n1, x2, n2 in [(15, 23, 48, 227), (0, 10, 3, 12), (7, 7, 0, 9)]:
        p1, p2 = x1 / n1, x2 / n2
        (l1, u1), (l2, u2) = wilson(x1, n1, z), wilson(x2, n2, z)
        r = risk_difference(x1, n1, x2, n2, ci="newcombe", alpha=0.1)
        assert r.ci_low == pytest.approx(p1 - p2 - math.hypot(p1 - l1, u2 - p2), rel=1e-12)
        assert r.ci_high == pytest.approx(p1 - p2 + math.hypot(u1 - p1, p2 - l2), rel=1e-12)


# ---------------------------------------------------------------------------
# Zero cells
# ---------------------------------------------------------------------------


def test_woolf_zero_cell_raises_with_advice() -> None:
    with pytest.raises(ValueError, match=r"zero cell.*correction='add_if_zero'.*ci='exact'"):
        odds_ratio(0, 16, 15, 72)


def test_woolf_zero_cell_with_correction() -> None:
    r = odds_ratio(0, 16, 15, 72, correction="add_if_zero")
    a, b, c, d = 0.5, 16.5, 15.5, 57.5
    assert r.estimate == pytest.approx(a * d / (b * c), rel=1e-14)
    assert r.se == pytest.approx(math.sqrt(1 / a + 1 / b + 1 / c + 1 / d), rel=1e-14)
    assert r.corrected and r.table == (0, 16, 15, 57)
    # no zero cell: add_if_zero changes nothing
    unchanged = odds_ratio(*CAMBRIDGE, correction="add_if_zero")
    assert unchanged.estimate == odds_ratio(*CAMBRIDGE).estimate and not unchanged.corrected


def test_treatment_arm_correction_hand_worked() -> None:
    # 0/10 vs 3/30: k_exposed = 10/40, k_unexposed = 30/40 (Sweeting et al. 2004).
    r = odds_ratio(0, 10, 3, 30, correction="treatment_arm")
    a, b, c, d = 0.25, 10.25, 3.75, 27.75
    assert r.estimate == pytest.approx(a * d / (b * c), rel=1e-14)
    cells = (np.array([x], float) for x in (0, 10, 3, 27))
    ke, ku = continuity_corrections(*cells, "treatment_arm")
    assert (ke[0], ku[0]) == (0.25, 0.75)
    assert ke[0] + ku[0] == 1.0


@pytest.mark.parametrize("ci", ["exact", "midp", "score"])
def test_zero_cells_handled_by_exact_midp_score(ci: str) -> None:
    r = odds_ratio(0, 16, 15, 72, ci=ci)
    assert r.estimate == 0 and r.ci_low == 0 and 0 < r.ci_high < math.inf
    assert r.log_estimate == -math.inf and r.se == math.inf
    r = odds_ratio(5, 5, 2, 10, ci=ci)  # b = 0
    assert r.estimate == math.inf and r.ci_high == math.inf and 1 < r.ci_low < math.inf
    r = odds_ratio(0, 10, 0, 12, ci=ci)  # no events at all
    assert math.isnan(r.estimate) and (r.ci_low, r.ci_high) == (0, math.inf) and r.p_value == 1


@pytest.mark.parametrize("ci", ["exact", "midp", "score"])
def test_correction_only_for_woolf(ci: str) -> None:
    with pytest.raises(ValueError, match="applies to ci='woolf' only"):
        odds_ratio(*CAMBRIDGE, ci=ci, correction="add_if_zero")


def test_risk_ratio_and_difference_zero_cells() -> None:
    with pytest.raises(ValueError, match="zero cell"):
        risk_ratio(0, 16, 15, 72)
    with pytest.raises(ValueError, match="zero cell"):
        risk_ratio(10, 10, 7, 7)  # everyone had the event: zero variance
    r = risk_ratio(0, 16, 15, 72, correction="add_if_zero")
    assert r.estimate == pytest.approx((0.5 / 17) / (15.5 / 73), rel=1e-14)
    with pytest.raises(ValueError, match="ci='newcombe'"):
        risk_difference(0, 10, 0, 12)
    r = risk_difference(0, 10, 0, 12, ci="newcombe")
    assert r.estimate == 0 and r.ci_low < 0 < r.ci_high and math.isnan(r.p_value)
    with pytest.raises(ValueError, match="applies to ci='wald' only"):
        risk_difference(*CAMBRIDGE, ci="newcombe", correction="add_all")


# ---------------------------------------------------------------------------
# R pins: fisher.test
# ---------------------------------------------------------------------------


def test_fisher_grid_complete(ref: dict) -> None:
    assert len(ref["fisher"]) == N_FISHER_CASES
    assert {"r_version", "metafor_version", "metadat_version"} <= set(ref["provenance"])
    assert all(case["call"].startswith("fisher.test(") for case in ref["fisher"])


def _close(x: float, y: float, rtol: float) -> bool:
    return x == y or (math.isfinite(y) and abs(x - y) <= rtol * abs(y))


def test_exact_matches_fisher_test(ref: dict) -> None:
    for case in ref["fisher"]:
        r = odds_ratio(*_counts(case), ci="exact", alpha=case["alpha"])
        label = case["label"]
        # fisher.test's own algorithm solved to tol 1e-13
        tight = [_num(v) for v in case["exact_tight"]]
        assert _close(r.ci_low, tight[0], TIGHT_RTOL), label
        assert _close(r.ci_high, tight[1], TIGHT_RTOL), label
        assert _close(r.p_value, _num(case["p_value"]), TIGHT_RTOL), label
        # fisher.test's printed conf.int, at its uniroot tolerance on its search scale
        for ours, theirs in ((r.ci_low, _num(case["ci_low"])), (r.ci_high, _num(case["ci_high"]))):
            if theirs in (0.0, math.inf):
                assert ours == theirs, label
            else:
                scale = (lambda t: t) if theirs <= 1 else (lambda t: 1 / t)
                assert abs(scale(ours) - scale(theirs)) <= FISHER_UNIROOT_TOL, label


def test_midp_matches_r(ref: dict) -> None:
    for case in ref["fisher"]:
        r = odds_ratio(*_counts(case), ci="midp", alpha=case["alpha"])
        tight = [_num(v) for v in case["midp_tight"]]
        assert _close(r.ci_low, tight[0], TIGHT_RTOL), case["label"]
        assert _close(r.ci_high, tight[1], TIGHT_RTOL), case["label"]
        assert _close(r.p_value, _num(case["midp_p_value"]), TIGHT_RTOL), case["label"]


@pytest.mark.parametrize(
    "table, alpha",
    [((0, 8, 3, 8), 0.1), ((1, 3, 3, 3), 0.2), ((1, 4, 2, 2), 0.2), ((8, 9, 9, 9), 0.5)],
)
def test_midp_limit_at_odds_one(table: tuple[int, ...], alpha: float) -> None:
    # These tables put a mid-p limit exactly at OR = 1, where scipy's noncentral
    # hypergeometric aborted the interpreter: the tail at OR = 1 is alpha/2.
    r = odds_ratio(*table, ci="midp", alpha=alpha)
    assert r.ci_high == pytest.approx(1.0, rel=1e-9)
    assert r.p_value == pytest.approx(alpha, rel=1e-9)
    e = odds_ratio(*table, ci="exact", alpha=alpha)
    assert e.ci_low <= r.ci_low and r.ci_high <= e.ci_high


def test_conditional_limits_large_table_solve_their_equations() -> None:
    # 10^4 per arm: the limits are where the tails of the noncentral
    # hypergeometric equal alpha/2 (checked with scipy's own distribution,
    # away from odds 1), and the Woolf interval is nearly the same at this size.
    a, n1, c, n2 = 5_000, 10_000, 4_800, 10_000
    r = odds_ratio(a, n1, c, n2, ci="exact")
    m, total = a + c, n1 + n2
    low = stats.nchypergeom_fisher(total, n1, m, r.ci_low)
    high = stats.nchypergeom_fisher(total, n1, m, r.ci_high)
    assert low.sf(a - 1) == pytest.approx(0.025, rel=1e-6)
    assert high.cdf(a) == pytest.approx(0.025, rel=1e-6)
    w = odds_ratio(a, n1, c, n2)
    assert r.ci_low == pytest.approx(w.ci_low, rel=1e-2)
    assert r.ci_high == pytest.approx(w.ci_high, rel=1e-2)
    mid = odds_ratio(a, n1, c, n2, ci="midp")
    assert r.ci_low < mid.ci_low < mid.estimate < mid.ci_high < r.ci_high


def test_score_zero_cell_large_alpha() -> None:
    # (0/2 vs 1/1) at alpha = 0.5 divided by zero; (1/1 vs 0/2) found no sign change.
    r = odds_ratio(0, 2, 1, 1, ci="score", alpha=0.5)
    z = stats.norm.ppf(0.75)
    assert r.ci_low == 0 and 0 < r.ci_high < 1
    assert evidence.effect_sizes._mn_statistic(math.log(r.ci_high), 0, 2, 1, 1) == (
        pytest.approx(-z, rel=1e-9)
    )
    r = odds_ratio(1, 1, 0, 2, ci="score", alpha=0.5)
    assert r.ci_high == math.inf and 1 < r.ci_low < math.inf
    # the statistic's limit at extreme odds ratios does not overflow
    assert evidence.effect_sizes._mn_statistic(700.0, 15, 23, 48, 227) < -1e100


def test_score_statistic_never_reaching_critical_value_gives_boundary() -> None:
    # A monotone statistic bounded above by 1 never reaches z = 1.96.
    solve = evidence.effect_sizes._solve_monotone
    assert solve(lambda t: math.tanh(t) - 1.96, 0.0, increasing=True) == math.inf
    assert solve(lambda t: -math.tanh(t) - 1.96, 0.0, increasing=False) == -math.inf
    assert solve(lambda t: t - 3.0, 0.0, increasing=True) == pytest.approx(3.0, abs=1e-11)


# ---------------------------------------------------------------------------
# R pins: metafor::escalc
# ---------------------------------------------------------------------------


def test_escalc_grid_complete(ref: dict) -> None:
    assert len(ref["escalc"]) == N_ESCALC_RUNS
    assert len(ref["tacc"]) == N_TACC_RUNS
    assert len(ref["escalc_tables"]["ai"]) == N_ESCALC_STUDIES
    combos = {(r["measure"], r["to"], r["drop00"]) for r in ref["escalc"]}
    assert len(combos) == N_ESCALC_RUNS
    assert all(len(r["yi"]) == N_ESCALC_STUDIES for r in ref["escalc"] + ref["tacc"])


def _escalc_args(ref: dict) -> tuple[list, list, list, list]:
    t = ref["escalc_tables"]
    return t["ai"], t["n1i"], t["ci"], t["n2i"]


@pytest.mark.parametrize("run_index", range(N_ESCALC_RUNS))
def test_escalc(ref: dict, run_index: int) -> None:
    run = ref["escalc"][run_index]
    fun = MEASURE_FUNCTION[run["measure"]]
    yi = np.array([_num(v) for v in run["yi"]])
    vi = np.array([_num(v) for v in run["vi"]])
    kwargs = dict(
        correction=TO_CORRECTION[run["to"]],
        double_zero="exclude" if run["drop00"] else "keep",
    )
    defined = np.isfinite(yi) & np.isfinite(vi) & (vi > 0)
    args = _escalc_args(ref)
    ai, n1i, ci, n2i = (np.asarray(x) for x in args)
    double_zero = ((ai == 0) & (ci == 0)) | ((ai == n1i) & (ci == n2i))
    assert double_zero.sum() == 3  # Yucel 2004 and two synthetic tables
    dropped = double_zero if run["drop00"] else np.zeros(len(yi), bool)
    assert np.isnan(yi[dropped]).all()
    if not (defined | dropped).all():
        # metafor returns inf / NaN / zero variance: we must raise, naming the first study.
        first = int(np.argmax(~(defined | dropped)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ZeroCellWarning)
            with pytest.raises(ValueError, match=rf"^study {first} \("):
                fun(*args, **kwargs)
        # ... and agree on every study R could compute
        keep = defined
        args = tuple(np.asarray(x)[keep] for x in args)
        yi, vi, dropped = yi[keep], vi[keep], dropped[keep]
    if dropped.any():
        with pytest.warns(ZeroCellWarning, match="double-zero"):
            es = fun(*args, **kwargs)
    else:
        es = fun(*args, **kwargs)
    np.testing.assert_array_equal(es.included, ~dropped)
    np.testing.assert_allclose(es.yi[~dropped], yi[~dropped], rtol=R_RTOL, atol=1e-14)
    np.testing.assert_allclose(es.vi[~dropped], vi[~dropped], rtol=R_RTOL)
    assert np.isnan(es.yi[dropped]).all() and np.isnan(es.vi[dropped]).all()


@pytest.mark.parametrize("run_index", range(N_TACC_RUNS))
def test_treatment_arm_matches_hand_corrected_escalc(ref: dict, run_index: int) -> None:
    run = ref["tacc"][run_index]
    es = MEASURE_FUNCTION[run["measure"]](
        *_escalc_args(ref), correction="treatment_arm", double_zero="keep"
    )
    np.testing.assert_allclose(es.yi, [_num(v) for v in run["yi"]], rtol=R_RTOL, atol=1e-14)
    np.testing.assert_allclose(es.vi, [_num(v) for v in run["vi"]], rtol=R_RTOL)


@pytest.mark.r
def test_r_reference_regenerates(requires_r: str, tmp_path: Path) -> None:
    out = tmp_path / "or_intervals.json"
    run_r(R_DIR / "or_intervals.R", str(out))
    new = json.loads(out.read_text())
    old = load_reference("or_intervals.json")

    def compare(a: object, b: object, where: str) -> None:
        if isinstance(a, dict):
            assert isinstance(b, dict) and a.keys() == b.keys(), where
            for k in a:
                compare(a[k], b[k], f"{where}.{k}")
        elif isinstance(a, list):
            assert isinstance(b, list) and len(a) == len(b), where
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                compare(x, y, f"{where}[{i}]")
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            assert isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=REGEN_RTOL), where
        else:
            assert a == b, where

    compare(old, new, "or_intervals")


# ---------------------------------------------------------------------------
# Batch behaviour
# ---------------------------------------------------------------------------


def test_log_odds_ratios_masks_and_warning() -> None:
    # study 1 has a zero cell; 2 (no events) and 3 (only events) are double-zero
    with pytest.warns(ZeroCellWarning, match=r"2 double-zero studies .* at index 2, 3;"):
        es = log_odds_ratios([15, 0, 0, 10], [23, 10, 30, 10], [48, 3, 0, 7], [227, 12, 20, 7])
    assert es.included.tolist() == [True, True, False, False]
    assert es.corrected.tolist() == [False, True, False, False]
    assert np.isnan(es.yi[2:]).all() and np.isnan(es.vi[2:]).all()
    assert es.yi[1] == pytest.approx(math.log(0.5 * 9.5 / (10.5 * 3.5)), rel=1e-14)
    assert es.k == 2 and es.measure == "OR"
    assert es.correction == "add_if_zero" and es.double_zero == "exclude"
    assert "k=2 of 4" in repr(es)


def test_log_odds_ratios_none_names_study() -> None:
    with pytest.raises(ValueError, match=r"study 1 \(events_exposed=0, n_exposed=10.*infinite"):
        log_odds_ratios([15, 0], [23, 10], [48, 3], [227, 12], correction="none")


def test_double_zero_keep_corrects() -> None:
    es = log_odds_ratios([0, 15], [10, 23], [0, 48], [12, 227], double_zero="keep")
    assert es.included.all() and es.corrected.tolist() == [True, False]
    assert es.yi[0] == pytest.approx(math.log(0.5 * 12.5 / (10.5 * 0.5)), rel=1e-14)


def test_summary_frames() -> None:
    es = log_odds_ratios(*([x] for x in CAMBRIDGE), alpha=0.1)
    f = es.summary_frame()
    assert tuple(f.columns[:5]) == FRAME_COLUMNS
    assert f.attrs["alpha"] == 0.1
    assert f["ci_low"].iloc[0] == pytest.approx(
        es.yi[0] - stats.norm.ppf(0.95) * math.sqrt(es.vi[0]), rel=1e-14
    )
    for r in (odds_ratio(*CAMBRIDGE), risk_ratio(*CAMBRIDGE), risk_difference(*CAMBRIDGE)):
        f = r.summary_frame()
        assert tuple(f.columns[:5]) == FRAME_COLUMNS and len(f) == 1
        assert not any("95" in c or "0.05" in c for c in f.columns)
        assert f["estimate"].iloc[0] == r.estimate
        assert r.confidence_interval() == (r.ci_low, r.ci_high)
        assert len(repr(r)) < 160 and type(r).__name__ in repr(r)
        with pytest.raises(dataclasses.FrozenInstanceError):
            r.estimate = 1.0  # type: ignore[misc]
    assert isinstance(es, EffectSizes)
    d = odds_ratio(*CAMBRIDGE).to_dict()
    assert d["table"] == (15, 8, 48, 179) and d["ci"] == "woolf" and d["alpha"] == 0.05
    assert set(d) == {f.name for f in dataclasses.fields(odds_ratio(*CAMBRIDGE))}
    with pytest.raises(dataclasses.FrozenInstanceError):
        es.yi = np.zeros(1)  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, pattern",
    [
        ((-1, 23, 48, 227), r"events_exposed has the negative count -1 at study 0"),
        ((15, 23, 48.5, 227), r"events_unexposed has the non-integer count 48.5 at study 0"),
        ((24, 23, 48, 227), r"events_exposed=24 exceeds n_exposed=23 at study 0"),
        ((15, 23, float("nan"), 227), r"events_unexposed has the non-finite .*nan.* at study 0"),
        ((15, 0, 48, 227), r"n_exposed is 0 at study 0"),
        (([15, 1], 23, 48, 227), r"same length"),
        (([15, 1], [23, 5], [48, 2], [227, 9]), r"takes the counts of one table; got 2"),
    ],
)
def test_bad_counts_single(args: tuple, pattern: str) -> None:
    for fun in (odds_ratio, risk_ratio, risk_difference):
        with pytest.raises(ValueError, match=pattern):
            fun(*args)


def test_bad_counts_batch_names_study() -> None:
    with pytest.raises(ValueError, match=r"events_exposed=9 exceeds n_exposed=8 at study 2"):
        log_odds_ratios([1, 2, 9], [5, 5, 8], [1, 1, 1], [5, 5, 5])
    with pytest.raises(ValueError, match=r"n_unexposed has the negative count -5 at study 1"):
        risk_differences([1, 2], [5, 5], [1, 1], [5, -5])
    pattern = r"same length: events_exposed has 2, events_unexposed has 3"
    with pytest.raises(ValueError, match=pattern):
        log_risk_ratios([1, 2], [5, 5], [1, 1, 1], [5, 5, 5])


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(ci="Woolf"), r"ci='Woolf' is not a known option.*Did you mean 'woolf'"),
        (dict(ci="wald"), r"ci='wald' is not a known option"),
        (dict(correction="add"), r"correction='add' is not a known option"),
        (dict(alpha=1.5), r"alpha=1.5 is outside \(0, 1\)"),
        (dict(alpha=0), r"alpha=0 is outside \(0, 1\)"),
    ],
)
def test_bad_options(kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        odds_ratio(*CAMBRIDGE, **kwargs)


def test_bad_options_other_functions() -> None:
    with pytest.raises(ValueError, match=r"ci='woolf' is not a known option; allowed are 'katz'"):
        risk_ratio(*CAMBRIDGE, ci="woolf")
    with pytest.raises(ValueError, match=r"ci='exact' is not a known option"):
        risk_difference(*CAMBRIDGE, ci="exact")
    with pytest.raises(ValueError, match=r"double_zero='drop' is not a known option"):
        log_odds_ratios(*([x] for x in CAMBRIDGE), double_zero="drop")
    with pytest.raises(ValueError, match=r"correction='only0' is not a known option"):
        log_odds_ratios(*([x] for x in CAMBRIDGE), correction="only0")
    with pytest.raises(TypeError, match=r"alpha='x'"):
        log_odds_ratios(*([x] for x in CAMBRIDGE), alpha="x")


def test_docstring_examples_run() -> None:
    result = doctest.testmod(evidence.effect_sizes, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 8 and result.failed == 0


@pytest.mark.parametrize("ci", ["exact", "midp"])
def test_conditional_support_guard(ci: str) -> None:
    # 2**40 per arm: the conditional distribution would have 2**40 + 1 points.
    n = 2**40
    with pytest.raises(ValueError, match=r"1,099,511,627,777 possible values .* limit of 2,000,001"):
        odds_ratio(n // 2, n, n // 2, n, ci=ci)
    r = odds_ratio(n // 2, n, n // 2 - 10**6, n, ci="score")  # the advice given works
    assert r.ci_low < r.estimate < r.ci_high


def test_counts_beyond_double_precision_refused() -> None:
    # The fuzz audit's odds_ratio(1e300, 2e300, 1e300, 2e300) returned NaN.
    with pytest.raises(ValueError, match=r"events_exposed has the value 1e\+300 at study 0, outside"):
        odds_ratio(1e300, 2e300, 1e300, 2e300)
    r = odds_ratio(2**52, 2**53, 2**51, 2**53)  # the largest accepted counts still compute
    assert r.estimate == pytest.approx(3.0, rel=1e-12)
