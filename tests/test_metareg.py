"""Meta-regression and its permutation test against pinned metafor 3.8-1 output.

Reference: tests/reference/metafor_toolkit.json, written by tests/r/toolkit_reference.R
(the R call of every case is stored beside its numbers).
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evidence.exceptions import EvidenceWarning
from evidence.metareg import design_matrix, fit_mods, meta_regression, tau2_mods
from evidence.permutation import permutation_test
from tests.conftest import R_DIR, load_reference, run_r

REF = load_reference("metafor_toolkit.json")
#: metafor is run with threshold=1e-12, tol=1e-12 and we converge to 1e-12 relative:
#: agreement is required to 1e-6 relative ...
RTOL = 1e-6
#: ... or 1e-9 absolute for values that are 0 in metafor (tau2 at the boundary, where
#: metafor's step halving stops within its threshold of 0 and we stop at exactly 0).
ATOL = 1e-9

METAREG = REF["metareg"]
PERM = REF["permutation"]


def _moderators(case: dict) -> pd.DataFrame:
    ds = REF["data"][case["data"]]
    return pd.DataFrame({c: ds[c] for c in case["columns"]})


def _close(mine, theirs, what: str) -> None:
    mine = np.atleast_1d(np.asarray(mine, dtype=float))
    theirs = np.atleast_1d(np.asarray([np.nan if t is None else t for t in np.atleast_1d(theirs)], dtype=float))
    np.testing.assert_allclose(mine, theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def test_reference_grid_is_complete() -> None:
    # 9 moderator specifications x 9 estimators x 2 tests; 3 permutation tests
    assert len(METAREG) == 9 * 9 * 2
    assert {c["method"] for c in METAREG} == {"REML", "ML", "DL", "FE", "HE", "HS", "SJ", "PM", "EB"}
    assert {c["data"] for c in METAREG} == {"bcg", "molloy", "hackshaw"}
    assert len(PERM) == 3
    assert REF["provenance"]["metafor_version"] == "3.8.1"


@pytest.mark.parametrize("case", METAREG, ids=lambda c: f"{c['data']}-{c['mods']}-{c['method']}-{c['test']}")
def test_meta_regression_matches_metafor(case: dict) -> None:
    ds = REF["data"][case["data"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)
        res = meta_regression(
            ds["yi"], ds["vi"], _moderators(case), method=case["method"], test=case["test"],
            intercept=case["intercept"],
        )
    np.testing.assert_array_equal(res.X, np.asarray(case["X"], dtype=float))
    _close(res.estimate, case["beta"], "beta")
    _close(res.se, case["se"], "se")
    _close(res.statistic, case["zval"], "zval")
    _close(res.p_value, case["pval"], "pval")
    _close(res.ci_low, case["ci_lb"], "ci.lb")
    _close(res.ci_high, case["ci_ub"], "ci.ub")
    _close(res.tau2, case["tau2"], "tau2")
    _close(res.qe, case["QE"], "QE")
    _close(res.qe_pvalue, case["QEp"], "QEp")
    _close(res.qm, case["QM"], "QM")
    _close(res.qm_pvalue, case["QMp"], "QMp")
    _close(res.i2, case["I2"], "I2")
    _close(res.h2, case["H2"], "H2")
    _close(res.r2, case["R2"], "R2")
    assert res.qm_df == case["QMdf"][0]
    assert res.qm_df2 == case["QMdf"][1]
    assert res.k == case["k"] and res.p == case["p"]


def test_summary_frame_and_repr() -> None:
    ds = REF["data"]["bcg"]
    res = meta_regression(ds["yi"], ds["vi"], pd.DataFrame({"ablat": ds["ablat"]}), alpha=0.1)
    frame = res.summary_frame()
    assert list(frame.columns[:5]) == ["estimate", "se", "ci_low", "ci_high", "weight"]
    assert list(frame.index) == ["intercept", "ablat"]
    z = stats.norm.isf(0.05)
    np.testing.assert_allclose(frame["ci_high"], res.estimate + z * res.se)
    assert res.alpha == 0.1 and "MetaRegressionResult" in repr(res)


def test_fixed_effects_hand_computation() -> None:
    """FE meta-regression is weighted least squares with weights 1/v."""
    y = np.array([0.1, 0.4, 0.35, 0.8, 0.6])
    v = np.array([0.04, 0.02, 0.05, 0.03, 0.01])
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    X = np.column_stack([np.ones(5), x])
    W = np.diag(1 / v)
    cov = np.linalg.inv(X.T @ W @ X)
    beta = cov @ X.T @ W @ y
    qe = float((y - X @ beta) @ W @ (y - X @ beta))
    res = meta_regression(y, v, x, method="FE")
    np.testing.assert_allclose(res.estimate, beta, rtol=1e-12)
    np.testing.assert_allclose(res.vcov, cov, rtol=1e-12)
    assert res.qe == pytest.approx(qe, rel=1e-12)
    assert res.qm == pytest.approx(beta[1] ** 2 / cov[1, 1], rel=1e-12)
    knha = meta_regression(y, v, x, method="FE", test="knha")
    np.testing.assert_allclose(knha.se, np.sqrt(np.diag(cov) * qe / 3), rtol=1e-12)
    assert knha.df == 3 and knha.qm_df2 == 3


def test_batch_kernel_equals_single_fits() -> None:
    ds = REF["data"]["bcg"]
    y, v = np.asarray(ds["yi"]), np.asarray(ds["vi"])
    X = np.column_stack([np.ones(13), ds["ablat"]])
    rng = np.random.default_rng(3)
    idx = np.vstack([rng.permutation(13) for _ in range(5)])
    mask = rng.random((5, 13)) > 0.2
    for method in ("REML", "ML", "PM", "DL", "SJ"):
        t_batch, _, conv = tau2_mods(y[idx], v[idx], X, mask, method=method)
        assert conv.all()
        for i in range(5):
            m = mask[i]
            t1, _, _ = tau2_mods(y[idx[i]][m][None], v[idx[i]][m][None], X[m], method=method)
            assert t_batch[i] == pytest.approx(t1[0], rel=1e-9, abs=1e-12)
    fit = fit_mods(y[None], v[None], X, [0.05])
    assert fit.beta.shape == (1, 2) and fit.ok.all()


def test_no_intercept_cell_means() -> None:
    ds = REF["data"]["bcg"]
    res = meta_regression(ds["yi"], ds["vi"], pd.DataFrame({"alloc": ds["alloc"]}), intercept=False)
    assert res.names == ("alloc[alternate]", "alloc[random]", "alloc[systematic]")
    assert np.isnan(res.r2)


def test_missing_moderator_names_moderator_and_study() -> None:
    df = pd.DataFrame({"year": [1990.0, np.nan, 2001.0, 2005.0], "dose": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match=r"moderator 'year' is missing at study 1"):
        meta_regression([0.1, 0.2, 0.3, 0.4], [0.1] * 4, df)
    with pytest.raises(ValueError, match=r"study 2 \('Smith 2001'\)"):
        meta_regression([0.1, 0.2, 0.3, 0.4], [0.1] * 4, [1.0, 2.0, None, 4.0],
                        labels=["A", "B", "Smith 2001", "D"])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"method": "reml"}, r"method='reml' is not a known option.*Did you mean 'REML'"),
        ({"test": "t"}, r"test='t' is not a known option"),
        ({"alpha": 1.5}, r"alpha=1.5 is outside"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        meta_regression([0.1, 0.2, 0.3, 0.5], [0.1] * 4, [1, 2, 3, 4], **kwargs)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="moderators has 3 rows but there are 4 studies"):
        meta_regression([0.1, 0.2, 0.3, 0.5], [0.1] * 4, [1, 2, 3])
    with pytest.raises(ValueError, match="rank deficient"):
        meta_regression([0.1, 0.2, 0.3, 0.5], [0.1] * 4, np.column_stack([[1, 2, 3, 4], [2, 4, 6, 8]]))
    with pytest.raises(ValueError, match="more studies than coefficients"):
        meta_regression([0.1, 0.2], [0.1, 0.1], [1, 2])
    with pytest.raises(ValueError, match="vi has the value -0.1 at study 1"):
        meta_regression([0.1, 0.2, 0.3], [0.1, -0.1, 0.1], [1, 2, 3])
    with pytest.raises(ValueError, match="single level"):
        meta_regression([0.1, 0.2, 0.3], [0.1] * 3, pd.DataFrame({"g": ["a", "a", "a"]}))


# ---------------------------------------------------------------------------
# permutation test
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", [c for c in PERM if c["exact"]], ids=lambda c: c["name"])
def test_exact_permutation_test_matches_metafor(case: dict) -> None:
    X = np.asarray(case["X"], dtype=float)
    res = permutation_test(case["yi"], case["vi"], X[:, 1:], method=case["method"], n_permutations=1000, progress=False)
    assert res.exact and res.n_permutations == case["iter"]
    np.testing.assert_allclose(res.p_value, case["pval"], rtol=1e-12)
    assert res.qm_pvalue == pytest.approx(case["QMp"], rel=1e-12)
    assert res.model.qm == pytest.approx(case["QM"], rel=RTOL)


def test_random_permutation_test_within_monte_carlo_error() -> None:
    case = next(c for c in PERM if not c["exact"])
    X = np.asarray(case["X"], dtype=float)
    n = 20_000
    res = permutation_test(case["yi"], case["vi"], X[:, 1:], n_permutations=n, seed=11, progress=False)
    assert not res.exact and res.n_permutations == n and res.n_failed == 0
    for mine, theirs in zip([*res.p_value, res.qm_pvalue], [*case["pval"], case["QMp"]], strict=False):
        p = max(theirs, 1 / case["iter"])
        sd = np.sqrt(p * (1 - p) * (1 / case["iter"] + 1 / n))
        assert abs(mine - theirs) <= 4.5 * sd + 1 / case["iter"]


def test_permutation_test_seeded_and_first_is_observed() -> None:
    ds = REF["data"]["bcg"]
    a = permutation_test(ds["yi"], ds["vi"], ds["ablat"], n_permutations=300, seed=5, progress=False)
    b = permutation_test(ds["yi"], ds["vi"], ds["ablat"], n_permutations=300, seed=5, progress=False)
    np.testing.assert_array_equal(a.qm_perm, b.qm_perm)
    assert a.qm_perm[0] == pytest.approx(a.model.qm)
    frame = a.summary_frame()
    assert list(frame.columns[:5]) == ["estimate", "se", "ci_low", "ci_high", "weight"]
    np.testing.assert_array_equal(frame["p_value"], a.p_value)


def test_permutation_test_bad_n_iter() -> None:
    with pytest.raises(ValueError, match="n_permutations=1 must be an integer >= 2"):
        permutation_test([0.1, 0.2, 0.3, 0.5], [0.1] * 4, [1, 2, 3, 4], n_permutations=1)


# ---------------------------------------------------------------------------
# regeneration of the pinned reference
# ---------------------------------------------------------------------------


def _numbers(obj):
    """Flatten the numeric leaves of a JSON tree in a fixed order."""
    if isinstance(obj, dict):
        return [x for key in sorted(obj) for x in _numbers(obj[key])]
    if isinstance(obj, list):
        return [x for item in obj for x in _numbers(item)]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return []
    return [float(obj)]


@pytest.mark.r
@pytest.mark.slow
def test_reference_regenerates(requires_r: str, tmp_path) -> None:
    out = tmp_path / "metafor_toolkit.json"
    run_r(R_DIR / "toolkit_reference.R", str(out), timeout=300)
    fresh = json.loads(out.read_text(encoding="utf-8"))
    assert fresh["provenance"] == REF["provenance"]
    sections = ("metareg", "permutation", "subgroup", "compare", "leave1out", "cumul", "influence", "baujat", "gosh")
    for section in sections:
        assert len(fresh[section]) == len(REF[section]), section
        a, b = np.array(_numbers(fresh[section])), np.array(_numbers(REF[section]))
        assert a.shape == b.shape, section
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=section)


def test_design_matrix_coding_as_r() -> None:
    df = pd.DataFrame(
        {
            "dose": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.5],
            "arm": pd.Categorical(["b", "a", "b", "c", "a", "c", "c"], categories=["c", "b", "a"]),
            "site": ["x", "y", "x", "y", "y", "x", "x"],
            "flag": [True, False, True, False, False, False, True],
        }
    )
    X, names, mods = design_matrix(df, 7)
    assert names == ("intercept", "dose", "arm[b]", "arm[a]", "site[y]", "flag")
    assert mods == ("dose", "arm", "site", "flag")
    np.testing.assert_array_equal(X[:, 2], [1, 0, 1, 0, 0, 0, 0])
    # without intercept the first factor gets all its levels, later ones keep a reference level
    X1, names1, _ = design_matrix({"dose": df["dose"].tolist()}, 7)
    assert names1 == ("intercept", "dose") and X1.shape == (7, 2)
    X0, names0, _ = design_matrix(df[["arm", "site"]], 7, intercept=False)
    assert names0 == ("arm[c]", "arm[b]", "arm[a]", "site[y]")
    np.testing.assert_array_equal(X0.sum(axis=1)[:4], [1, 2, 1, 2])


def test_batched_design_equals_shared_design_and_boundary() -> None:
    ds = REF["data"]["bcg"]
    y, v = np.asarray(ds["yi"]), np.asarray(ds["vi"])
    X = np.column_stack([np.ones(13), ds["ablat"]])
    rng = np.random.default_rng(8)
    idx = np.vstack([rng.permutation(13) for _ in range(50)])
    inv = np.argsort(idx, axis=1)
    # rows of X permuted (batched design) == (y, v) permuted by the inverse (shared design)
    t_a, _, _ = tau2_mods(np.tile(y, (50, 1)), np.tile(v, (50, 1)), X[idx])
    t_b, _, _ = tau2_mods(y[inv], v[inv], X)
    np.testing.assert_allclose(t_a, t_b, rtol=1e-10, atol=1e-14)
    # Q_E < k - p: every estimator is at the boundary and the REML score at 0 is negative
    yy = np.array([0.10, 0.11, 0.09, 0.12, 0.10, 0.13])
    vv = np.full(6, 0.05)
    x = np.arange(6.0)
    for method in ("REML", "ML", "DL", "PM", "EB", "HE", "HS"):
        res = meta_regression(yy, vv, x, method=method)
        assert res.tau2 == 0.0 and res.i2 == 0.0 and res.h2 == 1.0, method
        assert res.converged
