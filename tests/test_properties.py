"""Property tests (hypothesis): invariants that must hold for every input the library accepts.

* odds ratios: swapping the arms inverts the estimate and swaps the inverted limits,
  for every interval method; every interval contains its estimate; the exact
  interval contains the mid-p interval;
* pooling: the order of the studies does not matter; shifting every effect shifts
  the pooled estimate and leaves tau^2 and I^2 alone; tau^2 >= 0 and
  0 <= I^2 <= 100 over the whole numeric domain (README, "Numeric domain");
  a batch row equals the single fit; leave-one-out equals refitting without the study.

Settings keep the whole module near a minute on two cores (``max_examples`` per
test below) and never write hypothesis' example database into the tree.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from evidence import (
    meta_analysis,
    meta_analysis_many,
    odds_ratio,
    options,
    risk_difference,
    risk_ratio,
)
from evidence._validation import MAX_ABS_EFFECT, MAX_VARIANCE, MIN_VARIANCE
from evidence.exceptions import ConvergenceWarning
from evidence.sensitivity import leave_one_out

#: Examples per property; with these the module runs in about a minute.
FAST = settings(max_examples=500, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
#: Limits are solved to 1e-12 on the log scale (effect_sizes.ROOT_XTOL); two
#: independent solves agree to a few times that.
LIMIT_RTOL = 1e-9
#: Pooled numbers of two fits of the same data in another order or shifted
#: (iterative estimators stop at tol 1e-12 from a different rounding path).
FIT_RTOL = 1e-7
FIT_ATOL = 1e-9

ALPHAS = st.sampled_from([0.01, 0.05, 0.1, 0.2, 0.35, 0.5])


@st.composite
def tables(draw: st.DrawFn, max_n: int = 40) -> tuple[int, int, int, int]:
    n1 = draw(st.integers(1, max_n))
    n2 = draw(st.integers(1, max_n))
    return draw(st.integers(0, n1)), n1, draw(st.integers(0, n2)), n2


def _same_log(x: float, y: float) -> bool:
    """x and y agree on the log scale (0 and inf compare exactly)."""
    if x in (0.0, math.inf) or y in (0.0, math.inf):
        return x == y
    return math.isclose(math.log(x), math.log(y), rel_tol=LIMIT_RTOL, abs_tol=LIMIT_RTOL)


def _inv(x: float) -> float:
    return math.inf if x == 0 else 1.0 / x


# ---------------------------------------------------------------------------
# Odds ratios of one table
# ---------------------------------------------------------------------------


@FAST
@given(tables(), ALPHAS, st.sampled_from(options.OR_CI_METHODS))
@example((15, 23, 48, 227), 0.05, "exact")  # the Cambridge table
@example((0, 8, 3, 8), 0.1, "midp")  # a mid-p limit exactly at OR = 1
@example((0, 2, 1, 1), 0.5, "score")  # score limit with a zero cell at large alpha
def test_swapping_arms_inverts(table: tuple[int, int, int, int], alpha: float, ci: str) -> None:
    a, n1, c, n2 = table
    kw = dict(ci=ci, alpha=alpha, correction="add_if_zero" if ci == "woolf" else "none")
    r = odds_ratio(a, n1, c, n2, **kw)
    s = odds_ratio(c, n2, a, n1, **kw)
    if not math.isnan(r.estimate):
        assert _same_log(s.estimate, _inv(r.estimate))
    assert _same_log(s.ci_low, _inv(r.ci_high)), (r, s)
    assert _same_log(s.ci_high, _inv(r.ci_low)), (r, s)
    assert math.isclose(s.p_value, r.p_value, rel_tol=1e-9, abs_tol=1e-14)


@FAST
@given(tables(), ALPHAS, st.sampled_from(options.OR_CI_METHODS))
@example((15, 23, 48, 227), 0.05, "score")
@example((1, 1, 0, 2), 0.5, "score")
def test_interval_contains_estimate(table: tuple[int, int, int, int], alpha: float, ci: str) -> None:
    kw = dict(ci=ci, alpha=alpha, correction="add_if_zero" if ci == "woolf" else "none")
    r = odds_ratio(*table, **kw)
    assert 0 <= r.ci_low <= r.ci_high <= math.inf
    if not math.isnan(r.estimate):
        slack = 1 + LIMIT_RTOL
        assert r.ci_low <= r.estimate * slack and r.estimate <= r.ci_high * slack, r


@FAST
@given(tables(), ALPHAS, st.sampled_from(["katz", "wald", "newcombe"]))
@example((15, 23, 48, 227), 0.05, "newcombe")
def test_risk_intervals_contain_estimate_and_swap(
    table: tuple[int, int, int, int], alpha: float, ci: str
) -> None:
    a, n1, c, n2 = table
    if ci == "katz":
        r = risk_ratio(a, n1, c, n2, alpha=alpha, correction="add_if_zero")
        s = risk_ratio(c, n2, a, n1, alpha=alpha, correction="add_if_zero")
        assert _same_log(s.estimate, _inv(r.estimate))
        assert _same_log(s.ci_low, _inv(r.ci_high)) and _same_log(s.ci_high, _inv(r.ci_low))
    else:
        kw = dict(ci=ci, alpha=alpha, correction="add_all" if ci == "wald" else "none")
        r = risk_difference(a, n1, c, n2, **kw)
        s = risk_difference(c, n2, a, n1, **kw)
        assert math.isclose(s.estimate, -r.estimate, abs_tol=1e-12)
        assert math.isclose(s.ci_low, -r.ci_high, abs_tol=1e-12)
        assert math.isclose(s.ci_high, -r.ci_low, abs_tol=1e-12)
    assert r.ci_low <= r.estimate <= r.ci_high


@FAST
@given(tables(), ALPHAS)
@example((8, 9, 9, 9), 0.5)
@example((1, 3, 3, 3), 0.2)
def test_exact_contains_midp(table: tuple[int, int, int, int], alpha: float) -> None:
    exact = odds_ratio(*table, ci="exact", alpha=alpha)
    midp = odds_ratio(*table, ci="midp", alpha=alpha)
    slack = 1 + LIMIT_RTOL
    assert exact.ci_low <= midp.ci_low * slack
    assert midp.ci_high <= exact.ci_high * slack


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------

EFFECTS = st.floats(-5, 5, allow_nan=False)
VARIANCES = st.floats(1e-3, 10, allow_nan=False)
METHODS = st.sampled_from(options.POOLING_METHODS)


@st.composite
def studies(draw: st.DrawFn, effects: st.SearchStrategy[float] = EFFECTS,
            variances: st.SearchStrategy[float] = VARIANCES,
            min_k: int = 2, max_k: int = 12) -> tuple[np.ndarray, np.ndarray]:
    k = draw(st.integers(min_k, max_k))
    y = draw(st.lists(effects, min_size=k, max_size=k))
    v = draw(st.lists(variances, min_size=k, max_size=k))
    return np.array(y), np.array(v)


def _fit(y: np.ndarray, v: np.ndarray, method: str):  # noqa: ANN202
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a DL fallback is still a fit
        return meta_analysis(y, v, method=method)


def _close(x: float, y: float, scale: float = 1.0) -> bool:
    return math.isclose(x, y, rel_tol=FIT_RTOL, abs_tol=FIT_ATOL * scale)


@FAST
@given(studies(), METHODS, st.randoms(use_true_random=False))
def test_order_of_studies_does_not_matter(data, method: str, rnd) -> None:  # noqa: ANN001
    y, v = data
    perm = np.array(rnd.sample(range(len(y)), len(y)))
    a, b = _fit(y, v, method), _fit(y[perm], v[perm], method)
    assert _close(a.estimate, b.estimate)
    assert _close(a.tau2, b.tau2)
    assert _close(a.i2, b.i2, scale=100)
    assert _close(a.q, b.q)


@FAST
@given(studies(), METHODS, st.floats(-100, 100, allow_nan=False))
def test_location_shift(data, method: str, shift: float) -> None:  # noqa: ANN001
    y, v = data
    a, b = _fit(y, v, method), _fit(y + shift, v, method)
    assert math.isclose(b.estimate, a.estimate + shift, rel_tol=FIT_RTOL, abs_tol=1e-7)
    assert math.isclose(b.tau2, a.tau2, rel_tol=1e-6, abs_tol=1e-7)
    assert math.isclose(b.i2, a.i2, rel_tol=1e-6, abs_tol=1e-5)
    assert math.isclose(b.se, a.se, rel_tol=1e-6, abs_tol=1e-9)


def _log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(math.log10(low), math.log10(high)).map(lambda e: 10.0**e)


DOMAIN_EFFECTS = st.one_of(
    st.floats(-MAX_ABS_EFFECT, MAX_ABS_EFFECT),
    st.tuples(st.sampled_from([-1.0, 1.0]), _log_uniform(1e-100, MAX_ABS_EFFECT)).map(
        lambda t: t[0] * t[1]
    ),
)
DOMAIN_VARIANCES = _log_uniform(MIN_VARIANCE, MAX_VARIANCE).filter(
    lambda x: MIN_VARIANCE <= x <= MAX_VARIANCE
)


@SLOW
@given(studies(DOMAIN_EFFECTS, DOMAIN_VARIANCES, max_k=6), METHODS)
@example((np.array([1e100, -1e100, 0.0]), np.array([1.0, 1.0, 1.0])), "DL")
@example((np.array([0.1, 0.2, 0.3]), np.array([1e-49, 1.0, 1.0])), "DL")
@example((np.array([0.1, 0.2, 0.3]), np.array([1e-100, 1.0, 1e100])), "REML")
def test_heterogeneity_in_range_over_the_domain(data, method: str) -> None:  # noqa: ANN001
    y, v = data
    r = _fit(y, v, method)
    assert r.tau2 >= 0 and math.isfinite(r.tau2), r
    assert 0 <= r.i2 <= 100, r
    # H^2 = Q/(k-1) of a common-effect fit can be below 1 (as in metafor); a random-effects H^2 cannot
    assert r.h2 >= 1 or method == "FE", r
    # the Q-profile interval is never inverted; it need not contain the REML/ML estimate (nor does
    # metafor's: the two come from different criteria)
    assert 0 <= r.tau2_ci_low <= r.tau2_ci_high, r
    assert math.isfinite(r.estimate) and r.ci_low <= r.estimate <= r.ci_high, r


@SLOW
@given(st.lists(studies(min_k=1, max_k=8), min_size=1, max_size=5), METHODS)
def test_batch_row_equals_single_fit(rows, method: str) -> None:  # noqa: ANN001
    k = max(len(y) for y, _ in rows)
    Y = np.full((len(rows), k), np.nan)
    V = np.full((len(rows), k), np.nan)
    for i, (y, v) in enumerate(rows):
        Y[i, : len(y)], V[i, : len(v)] = y, v
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = meta_analysis_many(Y, V, method=method)
    for i, (y, v) in enumerate(rows):
        one = _fit(y, v, method)
        for name in ("estimate", "se", "tau2", "i2", "q", "ci_low", "ci_high"):
            got, want = float(getattr(batch, name)[i]), float(getattr(one, name))
            assert _close(got, want, scale=100) or (math.isnan(got) and math.isnan(want)), name


@SLOW
@given(studies(min_k=3, max_k=8), METHODS)
def test_leave_one_out_equals_refit(data, method: str) -> None:  # noqa: ANN001
    y, v = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        loo = leave_one_out(y, v, method=method)
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        one = _fit(y[keep], v[keep], method)
        assert _close(float(loo.estimate[i]), one.estimate)
        assert _close(float(loo.tau2[i]), one.tau2)
        assert _close(float(loo.i2[i]), one.i2, scale=100)
