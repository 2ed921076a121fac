"""The batch engine (meta_analysis_many) against the one-at-a-time engine (meta_analysis).

Every analysis row of a batch must give what :func:`evidence.pooling.meta_analysis`
gives for the studies present in that row, to within ``TOL`` (absolute, or relative
for large values), for every method and test; absent studies are NaN.
"""

from __future__ import annotations

import tracemalloc
import warnings
from typing import Any

import numpy as np
import pytest

from evidence import options
from evidence import tau2 as tau2_kernels
from evidence.exceptions import ConvergenceWarning, EvidenceWarning
from evidence.pooling import meta_analysis, meta_analysis_many

#: Batch and single fits share one kernel; the tolerance only allows for a different
#: summation order and an iterate that stops one step apart.
TOL = 1e-8

#: Every array attribute a batch has in common with a single fit.
FIELDS: tuple[str, ...] = (
    "estimate", "se", "ci_low", "ci_high", "statistic", "p_value", "tau2", "tau2_ci_low",
    "tau2_ci_high", "i2", "h2", "q", "q_df", "q_pvalue", "pi_low", "pi_high", "k",
    "converged",
)

METHODS = options.POOLING_METHODS
TESTS = options.TESTS


def _random_batch(seed: int, n: int = 30, k: int = 9) -> tuple[np.ndarray, np.ndarray]:
    """Random analyses with absent studies, one-study and two-study rows, and tau2 = 0 rows."""
    rng = np.random.default_rng(seed)
    V = rng.uniform(0.005, 0.6, (n, k))
    tau2 = rng.choice([0.0, 0.02, 0.3], size=n)
    Y = rng.normal(0.3, np.sqrt(V + tau2[:, None]))
    absent = rng.random((n, k)) < 0.25
    absent[0] = False  # one complete row
    absent[1] = True
    absent[1, 4] = False  # k = 1
    absent[2] = True
    absent[2, [0, 8]] = False  # k = 2
    absent[3:, 0] = False  # every row keeps a study
    Y[absent] = np.nan
    V[absent] = np.nan
    # tau2 at the boundary: identical studies, and a row with Q far below k - 1
    Y[4] = 0.25
    V[4] = 0.1
    Y[5] = 0.25 + rng.normal(0, 0.01, k)
    V[5] = 0.5
    return Y, V


def _single(y: np.ndarray, v: np.ndarray, **kw: Any) -> Any:
    keep = ~np.isnan(y)
    return meta_analysis(y[keep], v[keep], **kw)


def _assert_row_matches(batch: Any, i: int, single: Any, context: str) -> None:
    for name in FIELDS:
        b = np.asarray(getattr(batch, name))[i]
        s = getattr(single, name)
        if isinstance(s, (bool, np.bool_)) or name in ("k", "q_df"):
            assert b == s, f"{context}: {name} batch={b!r} single={s!r}"
            continue
        b, s = float(b), float(s)
        if b == s:  # includes equal infinities (knha with identical studies: se = 0)
            continue
        if np.isnan(s) or np.isnan(b):
            assert np.isnan(s) and np.isnan(b), f"{context}: {name} batch={b!r} single={s!r}"
            continue
        assert abs(b - s) <= TOL * max(1.0, abs(s)), f"{context}: {name} batch={b!r} single={s!r}"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("test", TESTS)
def test_batch_equals_single_fits(method: str, test: str) -> None:
    Y, V = _random_batch(seed=100 + 10 * METHODS.index(method) + TESTS.index(test))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)  # knha with k = 1, FE with knha: same warnings in both
        batch = meta_analysis_many(Y, V, method=method, test=test, alpha=0.1)
        for i in range(Y.shape[0]):
            single = _single(Y[i], V[i], method=method, test=test, alpha=0.1)
            _assert_row_matches(batch, i, single, f"{method}/{test} row {i}")
    assert batch.method == method and batch.test == test and batch.alpha == 0.1
    assert len(batch) == Y.shape[0]


def test_grid_of_cases_is_complete() -> None:
    """The parametrisation above must not shrink: 9 methods x 2 tests."""
    assert len(METHODS) * len(TESTS) == 18
    assert set(METHODS) == {"FE", "DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB"}


def test_the_random_batch_has_the_edge_cases() -> None:
    Y, V = _random_batch(seed=1)
    k = (~np.isnan(Y)).sum(axis=1)
    assert k[0] == Y.shape[1] and k[1] == 1 and k[2] == 2
    assert np.isnan(Y).any() and (k >= 1).all()
    fit = meta_analysis_many(Y, V, method="REML")
    assert fit.tau2[4] == 0.0 and fit.q[4] == 0.0  # identical studies
    assert fit.tau2[5] == 0.0  # Q < k - 1: at the boundary
    assert (fit.tau2 > 0).sum() >= 5  # and plenty of interior estimates


@pytest.mark.filterwarnings("ignore:test='knha' needs at least 2 studies")
def test_absent_studies_do_not_matter_where_they_sit() -> None:
    """Moving the NaN columns around (and adding all-NaN columns) changes nothing."""
    Y, V = _random_batch(seed=3)
    rng = np.random.default_rng(0)
    a = meta_analysis_many(Y, V, method="REML", test="knha")
    perm = rng.permutation(Y.shape[1])
    pad = np.full((Y.shape[0], 3), np.nan)
    Y2 = np.hstack([pad, Y[:, perm]])
    V2 = np.hstack([pad, V[:, perm]])
    b = meta_analysis_many(Y2, V2, method="REML", test="knha")
    for name in FIELDS:
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=TOL, atol=TOL)


def test_rows_are_independent() -> None:
    """A row's result does not depend on the other rows of the batch."""
    Y, V = _random_batch(seed=4)
    whole = meta_analysis_many(Y, V, method="PM")
    part = meta_analysis_many(Y[7:12], V[7:12], method="PM")
    for name in FIELDS:
        np.testing.assert_allclose(np.asarray(getattr(whole, name))[7:12], getattr(part, name),
                                   rtol=TOL, atol=TOL)


@pytest.mark.parametrize("method", ["REML", "ML", "PM", "EB"])
def test_non_convergence_agrees_and_warns_naming_rows(method: str) -> None:
    Y, V = _random_batch(seed=6)
    with pytest.warns(ConvergenceWarning, match=r"analysis row\(s\)") as rec:
        batch = meta_analysis_many(Y, V, method=method, max_iter=1)
    not_conv = np.flatnonzero(~batch.converged)
    assert not_conv.size > 0
    assert any(str(int(not_conv[0])) in str(w.message) for w in rec)
    assert (np.asarray(batch.n_iter)[not_conv] >= 1).all()
    for i in range(Y.shape[0]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            single = _single(Y[i], V[i], method=method, max_iter=1)
        _assert_row_matches(batch, i, single, f"{method} max_iter=1 row {i}")
    # what was done instead: the last iterate of the estimator, as the warning says (no fallback)
    assert any("last iterate" in str(w.message) for w in rec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        last = tau2_kernels.estimate(method, Y, V, ~np.isnan(Y), max_iter=1)
    np.testing.assert_allclose(np.asarray(batch.tau2)[not_conv], last.tau2[not_conv], rtol=1e-14, atol=1e-15)


def test_single_fit_warns_on_non_convergence_too() -> None:
    Y, V = _random_batch(seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        batch = meta_analysis_many(Y, V, method="REML", max_iter=1)
    i = int(np.flatnonzero(~batch.converged)[0])
    with pytest.warns(ConvergenceWarning, match="REML"):
        res = _single(Y[i], V[i], method="REML", max_iter=1)
    assert res.converged is False


# --------------------------------------------------------------------------- bad input


def test_shapes_that_differ() -> None:
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(2, 4\)"):
        meta_analysis_many(np.zeros((2, 3)), np.ones((2, 4)))


def test_one_dimensional_input_is_refused() -> None:
    with pytest.raises(ValueError, match="2-dimensional"):
        meta_analysis_many(np.zeros(3), np.ones(3))


def test_all_nan_row_names_the_row() -> None:
    Y, V = _random_batch(seed=7)
    Y[6] = np.nan
    V[6] = np.nan
    with pytest.raises(ValueError, match=r"row\(s\) 6 .*no study"):
        meta_analysis_many(Y, V)


def test_negative_variance_names_the_row_and_study() -> None:
    Y, V = _random_batch(seed=8)
    V[3, 0] = -0.1
    with pytest.raises(ValueError, match=r"analysis row 3, study 0.*strictly positive"):
        meta_analysis_many(Y, V)


def test_zero_variance_is_refused() -> None:
    Y, V = _random_batch(seed=8)
    V[9, 0] = 0.0
    with pytest.raises(ValueError, match=r"analysis row 9, study 0"):
        meta_analysis_many(Y, V)


@pytest.mark.parametrize("which", ["Y", "V"])
def test_nan_pattern_mismatch_names_the_row(which: str) -> None:
    Y, V = _random_batch(seed=9)
    (Y if which == "Y" else V)[8, 0] = np.nan
    with pytest.raises(ValueError, match=rf"{which} is NaN at analysis row 8, study 0"):
        meta_analysis_many(Y, V)


def test_infinite_effect_names_the_row() -> None:
    Y, V = _random_batch(seed=10)
    Y[11, 0] = np.inf
    with pytest.raises(ValueError, match=r"analysis row 11, study 0"):
        meta_analysis_many(Y, V)


@pytest.mark.parametrize("kw", [{"method": "reml"}, {"test": "t"}, {"alpha": 0.0}, {"max_iter": 0}])
def test_bad_options(kw: dict[str, object]) -> None:
    Y, V = _random_batch(seed=11)
    with pytest.raises(ValueError, match=next(iter(kw))):
        meta_analysis_many(Y, V, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- scale


@pytest.mark.slow
def test_a_million_studies_fit_in_well_under_a_gigabyte() -> None:
    """k = 1,000,000 (metafor would need k x k matrices): completes, with a bounded peak.

    Memory, not time, is asserted here; time is measured by bench/run.py.
    """
    k = 1_000_000
    rng = np.random.default_rng(12)
    v = rng.uniform(0.01, 0.5, k)
    y = rng.normal(0.2, np.sqrt(v + 0.1))
    tracemalloc.start()
    try:
        batch = meta_analysis_many(y[None, :], v[None, :], method="REML")
        _, peak_batch = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        single = meta_analysis(y, v, method="REML")
        _, peak_single = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_batch < 2**30, f"batch fit peaked at {peak_batch / 2**20:.0f} MiB"
    assert peak_single < 2**30, f"single fit peaked at {peak_single / 2**20:.0f} MiB"
    assert bool(batch.converged[0]) and single.converged
    assert single.tau2 == pytest.approx(0.1, abs=0.005)  # the simulated heterogeneity
    _assert_row_matches(batch, 0, single, "k=1e6")


# --------------------------------------------------------------------------- GOSH


# The 13 BCG vaccine trials (Colditz et al. 1994; metafor's dat.bcg): tpos, tneg, cpos, cneg.
_BCG = np.array([
    [4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
    [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619], [505, 87886, 499, 87892],
    [29, 7470, 45, 7232], [17, 1699, 65, 1600], [186, 50448, 141, 27197], [5, 2493, 3, 2338],
    [27, 16886, 29, 17825],
], dtype=float)


def test_gosh_subsets_equal_the_batch_engine() -> None:
    """Every GOSH subset of the BCG trials (log risk ratios) refitted by meta_analysis_many."""
    from evidence.sensitivity import gosh

    a, b, c, d = _BCG.T
    yi = np.log((a / (a + b)) / (c / (c + d)))
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        g = gosh(yi, vi, method="REML", progress=False)
        m = np.asarray(g.membership, dtype=bool)
        assert m.shape == (2**13 - 1, 13)
        batch = meta_analysis_many(np.where(m, yi, np.nan), np.where(m, vi, np.nan), method="REML")
    diff = np.maximum(np.abs(batch.tau2 - g.tau2), np.abs(batch.estimate - g.estimate))
    bad = np.flatnonzero(diff > TOL)
    assert bad.size == 0, (
        f"{bad.size} subsets differ, e.g. studies {np.flatnonzero(m[bad[0]]).tolist()}: "
        f"gosh tau2 {g.tau2[bad[0]]!r}, meta_analysis_many tau2 {batch.tau2[bad[0]]!r}"
    )
