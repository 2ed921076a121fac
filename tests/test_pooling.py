"""Tests of evidence.pooling: meta_analysis, meta_analysis_many, meta_analysis_2x2.

Oracles: a hand-worked 3-study DerSimonian-Laird analysis, statsmodels
(``combine_effects`` and ``StratifiedTable``) where it computes the same
quantity, batch-versus-single identity, and the documented edge cases.  The
metafor grid itself is pinned in test_metafor_core.py.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from scipy import stats

from evidence import ConvergenceWarning, DataWarning, EvidenceWarning, ZeroCellWarning
from evidence import tau2 as T
from evidence._results import FRAME_COLUMNS
from evidence.options import POOLING_METHODS, TESTS
from evidence.pooling import meta_analysis, meta_analysis_2x2, meta_analysis_many

#: Hand-worked values are exact rational arithmetic up to floating-point rounding.
RTOL_EXACT = 1e-12
#: The same estimator computed by two code paths (batch vs single, iterative
#: estimators converged to 1e-12): agreement to well below metafor's 1e-6.
RTOL_SAME = 1e-9
#: statsmodels computes these closed forms identically (no iteration involved).
RTOL_STATSMODELS = 1e-10

Y3 = [0.1, 0.3, 0.5]
V3 = [0.01, 0.02, 0.04]
Y4 = np.array([0.1, 0.3, 0.5, -0.2])
V4 = np.array([0.01, 0.02, 0.04, 0.01])

SCALARS = (
    "estimate", "se", "ci_low", "ci_high", "statistic", "p_value", "tau2", "tau2_ci_low",
    "tau2_ci_high", "i2", "h2", "q", "q_df", "q_pvalue", "pi_low", "pi_high", "k",
)


# ---------------------------------------------------------------------------
# hand-worked DerSimonian-Laird, 3 studies
# ---------------------------------------------------------------------------


def test_dl_three_studies_by_hand() -> None:
    res = meta_analysis(Y3, V3, method="DL")
    tau2 = 12 / 700  # (Q - 2)/tr(P) with Q = 26/7, tr(P) = 100 (see test_tau2)
    w = 1 / (np.array(V3) + tau2)
    est = (w * Y3).sum() / w.sum()
    se = 1 / np.sqrt(w.sum())
    z = stats.norm.isf(0.025)
    assert res.tau2 == pytest.approx(tau2, rel=RTOL_EXACT)
    assert res.estimate == pytest.approx(est, rel=RTOL_EXACT)
    assert res.se == pytest.approx(se, rel=RTOL_EXACT)
    assert (res.ci_low, res.ci_high) == pytest.approx((est - z * se, est + z * se), rel=RTOL_EXACT)
    assert res.statistic == pytest.approx(est / se, rel=RTOL_EXACT)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(est / se), rel=RTOL_EXACT)
    assert res.q == pytest.approx(26 / 7, rel=RTOL_EXACT)
    assert res.q_df == 2
    assert res.q_pvalue == pytest.approx(np.exp(-13 / 7), rel=RTOL_EXACT)  # chi2_2 tail = exp(-q/2)
    # vt = (k-1)/tr(P) = 2/100; I2 = 100 tau2/(vt + tau2); for DL this equals (Q - df)/Q
    assert res.i2 == pytest.approx(100 * (26 / 7 - 2) / (26 / 7), rel=RTOL_EXACT)
    assert res.h2 == pytest.approx(tau2 / 0.02 + 1, rel=RTOL_EXACT)
    pse = np.sqrt(se**2 + tau2)
    assert (res.pi_low, res.pi_high) == pytest.approx((est - z * pse, est + z * pse), rel=RTOL_EXACT)
    np.testing.assert_allclose(res.weights, 100 * w / w.sum(), rtol=RTOL_EXACT)
    assert res.k == 3 and res.converged and res.n_iter == 0


def test_fe_is_inverse_variance_with_i2_from_q() -> None:
    res = meta_analysis(Y3, V3, method="FE")
    assert res.estimate == pytest.approx(3 / 14, rel=RTOL_EXACT)
    assert res.se == pytest.approx(1 / np.sqrt(175), rel=RTOL_EXACT)
    assert res.tau2 == 0.0
    assert res.i2 == pytest.approx(100 * (26 / 7 - 2) / (26 / 7), rel=RTOL_EXACT)
    assert res.h2 == pytest.approx((26 / 7) / 2, rel=RTOL_EXACT)
    assert (res.pi_low, res.pi_high) == (res.ci_low, res.ci_high)


def test_knha_by_hand() -> None:
    res = meta_analysis(Y4, V4, method="DL", test="knha")
    tau2 = T.dl(Y4[None], V4[None])[0]
    w = 1 / (V4 + tau2)
    est = (w * Y4).sum() / w.sum()
    s2w = (w * (Y4 - est) ** 2).sum() / 3
    se = np.sqrt(s2w / w.sum())
    crit = stats.t.isf(0.025, 3)
    assert res.se == pytest.approx(se, rel=RTOL_EXACT)
    assert (res.ci_low, res.ci_high) == pytest.approx((est - crit * se, est + crit * se), rel=RTOL_EXACT)
    assert res.p_value == pytest.approx(2 * stats.t.sf(abs(est / se), 3), rel=RTOL_EXACT)
    pse = np.sqrt(se**2 + tau2)
    assert res.pi_high == pytest.approx(est + crit * pse, rel=RTOL_EXACT)


def test_knha_is_not_truncated_at_one() -> None:
    # homogeneous data: s2w < 1, so the knha SE is smaller than the z SE (metafor test="knha")
    y = [0.10, 0.12, 0.11, 0.09]
    v = [0.05, 0.04, 0.06, 0.05]
    assert meta_analysis(y, v, method="REML", test="knha").se < meta_analysis(y, v, method="REML").se


# ---------------------------------------------------------------------------
# statsmodels
# ---------------------------------------------------------------------------


def test_matches_statsmodels_combine_effects_dl() -> None:
    from statsmodels.stats.meta_analysis import combine_effects

    sm = combine_effects(Y4, V4, method_re="dl", use_t=False)
    re = meta_analysis(Y4, V4, method="DL")
    fe = meta_analysis(Y4, V4, method="FE")
    kn = meta_analysis(Y4, V4, method="DL", test="knha")
    assert re.estimate == pytest.approx(sm.mean_effect_re, rel=RTOL_STATSMODELS)
    assert re.se == pytest.approx(sm.sd_eff_w_re, rel=RTOL_STATSMODELS)
    assert kn.se == pytest.approx(sm.sd_eff_w_re_hksj, rel=RTOL_STATSMODELS)
    assert fe.estimate == pytest.approx(sm.mean_effect_fe, rel=RTOL_STATSMODELS)
    assert fe.se == pytest.approx(sm.sd_eff_w_fe, rel=RTOL_STATSMODELS)
    assert re.q == pytest.approx(sm.q, rel=RTOL_STATSMODELS)
    # statsmodels' i2/h2 are the Q-based (FE) definitions; for a positive DL tau2 they coincide
    assert re.i2 == pytest.approx(100 * sm.i2, rel=RTOL_STATSMODELS)
    assert fe.h2 == pytest.approx(sm.h2, rel=RTOL_STATSMODELS)
    np.testing.assert_allclose(re.weights, 100 * sm.weights_rel_re, rtol=RTOL_STATSMODELS)


# ---------------------------------------------------------------------------
# batch == single
# ---------------------------------------------------------------------------


def _batch_inputs(seed: int = 2, n: int = 25, k: int = 6):
    rng = np.random.default_rng(seed)
    V = rng.uniform(0.01, 0.3, (n, k))
    Y = rng.normal(0.3, np.sqrt(V + rng.choice([0.0, 0.05, 0.3], size=(n, 1))))
    absent = rng.random((n, k)) < 0.3
    absent[:, 0] = False
    absent[0, 1:] = True  # a single-study row
    Y[absent] = np.nan
    V[absent] = np.nan
    return Y, V


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("method", POOLING_METHODS)
def test_batch_equals_single(method: str, test: str) -> None:
    Y, V = _batch_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)
        batch = meta_analysis_many(Y, V, method=method, test=test)
        assert len(batch) == Y.shape[0]
        for i in range(Y.shape[0]):
            m = ~np.isnan(Y[i])
            one = meta_analysis(Y[i, m], V[i, m], method=method, test=test)
            for name in SCALARS:
                a, b = getattr(batch, name)[i], getattr(one, name)
                if np.isnan(b):
                    assert np.isnan(a), (name, i)
                else:
                    assert a == pytest.approx(b, rel=RTOL_SAME, abs=1e-13), (name, i)
            assert batch.converged[i] == one.converged


def test_batch_frame_has_fixed_columns_first() -> None:
    Y, V = _batch_inputs()
    frame = meta_analysis_many(Y, V, method="DL").summary_frame()
    assert tuple(frame.columns[:5]) == FRAME_COLUMNS
    assert len(frame) == Y.shape[0]
    assert {"tau2", "i2", "q", "k", "converged"} <= set(frame.columns)


# ---------------------------------------------------------------------------
# edge cases
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", POOLING_METHODS)
def test_single_study(method: str) -> None:
    res = meta_analysis([0.4], [0.04], method=method)
    assert res.estimate == 0.4
    assert res.se == pytest.approx(0.2, rel=RTOL_EXACT)
    assert res.tau2 == 0.0 and res.q == 0.0 and res.q_df == 0
    assert res.q_pvalue == 1.0 and res.i2 == 0.0 and res.h2 == 1.0
    assert np.isnan(res.tau2_ci_low) and np.isnan(res.tau2_ci_high)
    assert (res.pi_low, res.pi_high) == (res.ci_low, res.ci_high)
    if method != "FE":
        assert "no interval with k = 1" in res.summary() and "nan" not in res.summary()


def test_single_study_knha_falls_back_to_z_with_warning() -> None:
    with pytest.warns(DataWarning, match="knha.*z test"):
        res = meta_analysis([0.4], [0.04], method="REML", test="knha")
    assert res.test == "z"
    assert res.ci_high == pytest.approx(0.4 + stats.norm.isf(0.025) * 0.2, rel=RTOL_EXACT)


def test_two_studies() -> None:
    res = meta_analysis([0.5, -0.3], [0.02, 0.03], method="REML", test="knha")
    assert res.k == 2 and res.q_df == 1
    assert res.tau2 > 0 and res.converged
    # t with 1 df: very wide interval
    assert res.ci_high - res.ci_low > 2 * stats.t.isf(0.025, 1) * res.se * 0.999


def test_q_below_df_truncates_and_reports_zero_i2() -> None:
    res = meta_analysis([0.10, 0.12, 0.11, 0.09], [0.05, 0.04, 0.06, 0.05], method="DL")
    assert res.q < res.q_df
    assert res.tau2 == 0.0 and res.i2 == 0.0 and res.h2 == 1.0
    assert res.tau2_ci_low == 0.0


@pytest.mark.parametrize("method", ["REML", "ML"])
def test_likelihood_estimators_at_the_boundary(method: str) -> None:
    res = meta_analysis([0.10, 0.12, 0.11, 0.09], [0.05, 0.04, 0.06, 0.05], method=method)
    assert res.converged
    assert res.tau2 == pytest.approx(0.0, abs=1e-12)
    fe = meta_analysis([0.10, 0.12, 0.11, 0.09], [0.05, 0.04, 0.06, 0.05], method="FE")
    assert res.estimate == pytest.approx(fe.estimate, rel=1e-9)


def test_identical_studies() -> None:
    y, v = [0.2, 0.2, 0.2], [0.1, 0.2, 0.3]
    res = meta_analysis(y, v, method="REML")
    assert res.q == pytest.approx(0.0, abs=1e-25) and res.tau2 == 0.0 and res.i2 == 0.0
    assert res.estimate == pytest.approx(0.2, rel=RTOL_EXACT)
    assert res.tau2_ci_low == 0.0 and res.tau2_ci_high == 0.0  # metafor's empty (null) interval
    fe = meta_analysis(y, v, method="FE")
    assert fe.i2 == 0.0
    kn = meta_analysis(y, v, method="REML", test="knha")
    assert kn.se == 0.0  # metafor: s2w = 0 when the weighted RSS <= eps
    assert kn.ci_low == kn.ci_high == pytest.approx(0.2, rel=RTOL_EXACT)


def test_nonconvergence_warns_and_keeps_the_last_iterate() -> None:
    # the package's one policy: last iterate, converged=False, a warning; no fallback to DL
    with pytest.warns(ConvergenceWarning, match=r"REML.*did not converge.*max_iter=1.*last iterate"):
        res = meta_analysis(Y4, V4, method="REML", max_iter=1)
    assert not res.converged
    last = T.reml(Y4[None], V4[None], max_iter=1)
    assert not last.converged[0]
    assert res.tau2 == pytest.approx(last.tau2[0], rel=RTOL_EXACT)
    assert res.tau2 != pytest.approx(T.dl(Y4[None], V4[None])[0], rel=1e-6)
    assert np.isfinite(res.estimate)
    assert "did not converge" in res.summary()


def test_q_profile_nonconvergence_warns() -> None:
    # DL itself does not iterate: the warning is about the tau2 interval alone
    with pytest.warns(ConvergenceWarning, match=r"Q-profile interval for tau2 did not converge.*max_iter=1"):
        res = meta_analysis(Y4, V4, method="DL", max_iter=1)
    assert res.converged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        meta_analysis(Y4, V4, method="DL")


def test_nonconvergence_in_batch_names_rows() -> None:
    Y = np.array([[0.1, 0.3, 0.5, -0.2], [0.1, 0.12, 0.11, 0.09]])
    V = np.array([[0.01, 0.02, 0.04, 0.01], [0.05, 0.04, 0.06, 0.05]])
    with pytest.warns(ConvergenceWarning, match=r"PM.*analysis row\(s\) 0;"):
        res = meta_analysis_many(Y, V, method="PM", max_iter=1)
    assert res.converged.tolist() == [False, True]


def test_fe_with_knha_warns_like_metafor() -> None:
    with pytest.warns(EvidenceWarning, match="not meant to be used"):
        meta_analysis(Y4, V4, method="FE", test="knha")


def test_alpha_changes_interval_levels() -> None:
    a = meta_analysis(Y4, V4, method="REML", alpha=0.05)
    b = meta_analysis(Y4, V4, method="REML", alpha=0.2)
    assert b.alpha == 0.2
    assert b.ci_high - b.ci_low < a.ci_high - a.ci_low
    assert b.tau2_ci_high < a.tau2_ci_high
    ratio = (b.ci_high - b.ci_low) / (a.ci_high - a.ci_low)
    assert ratio == pytest.approx(stats.norm.isf(0.1) / stats.norm.isf(0.025), rel=RTOL_EXACT)


def test_large_k_smoke() -> None:
    rng = np.random.default_rng(4)
    k = 100_000
    v = rng.uniform(0.01, 0.1, k)
    y = rng.normal(0.3, np.sqrt(v + 0.02))
    res = meta_analysis(y, v, method="REML")
    assert res.converged and res.k == k
    assert res.estimate == pytest.approx(0.3, abs=0.01)
    assert res.tau2_ci_low < res.tau2 < res.tau2_ci_high


# ---------------------------------------------------------------------------
# result objects
# ---------------------------------------------------------------------------


def test_pooled_fields_are_shared_by_every_result() -> None:
    from evidence.results import POOLED_FIELDS, MetaAnalysis2x2Result, MetaAnalysisBatch, MetaAnalysisResult

    assert POOLED_FIELDS == SCALARS + ("converged", "n_iter")
    for cls in (MetaAnalysisResult, MetaAnalysisBatch, MetaAnalysis2x2Result):
        assert set(POOLED_FIELDS) <= {f.name for f in dataclasses.fields(cls)}, cls.__name__


def test_result_is_frozen_and_prints() -> None:
    res = meta_analysis(Y4, V4, labels=["A", "B", "C", "D"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 1.0  # type: ignore[misc]
    r = repr(res)
    assert r.startswith("MetaAnalysisResult(") and "\n" not in r and len(r) < 200
    text = res.summary()
    assert "REML" in text and "I^2" in text and "95%" in text
    assert str(res) == text


def test_summary_frame_layout() -> None:
    res = meta_analysis(Y4, V4, method="DL", labels=["A", "B", "C", "D"], alpha=0.1)
    frame = res.summary_frame()
    assert tuple(frame.columns[:5]) == FRAME_COLUMNS
    assert list(frame.index) == ["A", "B", "C", "D", "pooled", "prediction"]
    assert not any("0.1" in c or "90" in c for c in frame.columns)
    z = stats.norm.isf(0.05)
    half = z * np.sqrt(0.02)
    np.testing.assert_allclose(frame.loc["B", ["ci_low", "ci_high"]], [0.3 - half, 0.3 + half])
    assert frame.loc["pooled", "estimate"] == res.estimate
    assert frame.loc["pooled", "weight"] == 100.0
    assert frame.loc["prediction", "ci_low"] == res.pi_low
    assert frame.loc["prediction", "se"] == pytest.approx(np.sqrt(res.se**2 + res.tau2))
    assert frame["weight"].iloc[:4].sum() == pytest.approx(100.0)


# ---------------------------------------------------------------------------
# bad input: every path
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "reml"}, r"method='reml'.*Did you mean 'REML'"),
        ({"method": "MH"}, r"method='MH'"),
        ({"test": "t"}, r"test='t'.*'z', 'knha'"),
        ({"alpha": 1.5}, r"alpha=1.5"),
        ({"max_iter": 0}, r"max_iter=0"),
        ({"tol": -1.0}, r"tol=-1.0"),
        ({"labels": ["a", "b"]}, r"labels has 2 entries.*4 studies"),
    ],
)
def test_meta_analysis_bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        meta_analysis(Y4, V4, **kwargs)


@pytest.mark.parametrize(
    ("yi", "vi", "match"),
    [
        ([0.1, 0.2], [0.1], r"same length: yi has 2, vi has 1"),
        ([0.1, np.nan], [0.1, 0.2], r"yi has the non-finite value nan at study 1"),
        ([0.1, 0.2], [0.1, -0.2], r"vi has the value -0.2 at study 1.*strictly positive"),
        ([0.1, 0.2], [0.0, 0.2], r"vi has the value 0.0 at study 0"),
        ([0.1, 0.2], [0.1, np.inf], r"vi has the non-finite value inf at study 1"),
        ([], [], r"empty"),
    ],
)
def test_meta_analysis_bad_data(yi, vi, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        meta_analysis(yi, vi)


def test_meta_analysis_labels_must_not_be_a_string() -> None:
    with pytest.raises(TypeError, match="labels"):
        meta_analysis(Y3, V3, labels="abc")


@pytest.mark.parametrize(
    ("Y", "V", "match"),
    [
        (np.ones((2, 3)), np.ones((2, 4)), r"Y has shape \(2, 3\) but V has shape \(2, 4\)"),
        (np.ones(3), np.ones(3), r"Y must be 2-dimensional"),
        ([[0.1, np.nan], [0.2, 0.3]], [[0.1, 0.1], [0.2, 0.3]], r"Y is NaN at analysis row 0, study 1"),
        ([[0.1, 0.2], [0.2, 0.3]], [[0.1, 0.1], [np.nan, 0.3]], r"V is NaN at analysis row 1, study 0"),
        ([[0.1, 0.2], [np.nan, np.nan]], [[0.1, 0.1], [np.nan, np.nan]], r"Analysis row\(s\) 1 have no study"),
        ([[0.1, 0.2], [0.2, 0.3]], [[0.1, 0.1], [0.2, -0.3]], r"analysis row 1, study 1.*strictly positive"),
        ([[0.1, 0.2], [0.2, 0.3]], [[0.1, 0.0], [0.2, 0.3]], r"analysis row 0, study 1"),
        ([[0.1, np.inf]], [[0.1, 0.1]], r"Y has the non-finite value inf at analysis row 0, study 1"),
    ],
)
def test_meta_analysis_many_bad_data(Y, V, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        meta_analysis_many(Y, V)


def test_meta_analysis_many_bad_options() -> None:
    with pytest.raises(ValueError, match="method='Peto'"):
        meta_analysis_many([[0.1]], [[0.1]], method="Peto")
    with pytest.raises(ValueError, match="test='KNHA'.*Did you mean 'knha'"):
        meta_analysis_many([[0.1]], [[0.1]], test="KNHA")


# ---------------------------------------------------------------------------
# 2x2 tables
# ---------------------------------------------------------------------------

A = np.array([12, 8, 20, 3])
N1 = np.array([100, 60, 150, 40])
C = np.array([6, 5, 9, 4])
N2 = np.array([100, 70, 140, 45])


def test_mh_matches_statsmodels_stratified_table() -> None:
    from statsmodels.stats.contingency_tables import StratifiedTable

    tables = [np.array([[a, n1 - a], [c, n2 - c]]) for a, n1, c, n2 in zip(A, N1, C, N2, strict=False)]
    st = StratifiedTable(tables)
    res = meta_analysis_2x2(A, N1, C, N2, method="MH")
    assert res.estimate == pytest.approx(st.oddsratio_pooled, rel=RTOL_STATSMODELS)
    assert res.se == pytest.approx(st.logodds_pooled_se, rel=RTOL_STATSMODELS)  # Robins-Breslow-Greenland
    lo, hi = st.oddsratio_pooled_confint(alpha=0.05)
    assert (res.ci_low, res.ci_high) == pytest.approx((lo, hi), rel=RTOL_STATSMODELS)


def test_mh_by_hand_and_q_from_log_odds_ratios() -> None:
    b, d = N1 - A, N2 - C
    N = N1 + N2
    R, S = (A * d / N).sum(), (b * C / N).sum()
    res = meta_analysis_2x2(A, N1, C, N2, method="MH")
    assert res.log_estimate == pytest.approx(np.log(R / S), rel=RTOL_EXACT)
    yi = np.log(A * d / (b * C))
    vi = 1 / A + 1 / b + 1 / C + 1 / d
    q = ((yi - np.log(R / S)) ** 2 / vi).sum()
    assert res.q == pytest.approx(q, rel=RTOL_EXACT) and res.q_df == 3
    assert res.q_pvalue == pytest.approx(stats.chi2.sf(q, 3), rel=RTOL_EXACT)
    assert res.i2 == pytest.approx(max(0.0, 100 * (q - 3) / q), abs=1e-12)
    np.testing.assert_allclose(res.weights, 100 * (b * C / N) / S, rtol=RTOL_EXACT)
    assert res.tau2 == 0.0 and np.isnan(res.tau2_ci_low)
    assert res.test == "z" and res.correction == "add_if_zero" and res.double_zero == "exclude"


def test_peto_by_hand() -> None:
    b, d = N1 - A, N2 - C
    N = N1 + N2
    xt = A + C
    E = xt * N1 / N
    Vh = xt * (b + d) * N1 * N2 / (N**2 * (N - 1))
    beta = (A - E).sum() / Vh.sum()
    res = meta_analysis_2x2(A, N1, C, N2, method="Peto")
    assert res.log_estimate == pytest.approx(beta, rel=RTOL_EXACT)
    assert res.se == pytest.approx(1 / np.sqrt(Vh.sum()), rel=RTOL_EXACT)
    q = ((A - E) ** 2 / Vh).sum() - (A - E).sum() ** 2 / Vh.sum()
    assert res.q == pytest.approx(q, rel=RTOL_EXACT)
    assert res.estimate == pytest.approx(np.exp(beta), rel=RTOL_EXACT)


#: metafor 3.8.1 (R 4.2), the study-level yi/vi of a Peto fit (escalc measure="PETO"):
#:   d <- data.frame(ai=c(12,8,20,0,0), n1i=c(100,60,150,30,20), ci=c(6,5,9,3,0), n2i=c(100,70,140,40,25))
#:   r <- rma.peto(ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=d, add=1/2, to="only0", drop00=FALSE)
#:   sprintf("%.17g", r$yi); sprintf("%.17g", r$vi)
#: (drop00=TRUE gives the first four and NA for the double-zero table.)
PETO_TABLES = ([12, 8, 20, 0, 0], [100, 60, 150, 30, 20], [6, 5, 9, 3, 0], [100, 70, 140, 40, 25])
METAFOR_PETO_YI = [0.72893772893772901, 0.68253968253968256, 0.76455026455026442, -1.3012449669088724,
                   0.21520146520146527]
METAFOR_PETO_VI = [0.242979242979243, 0.34126984126984128, 0.15291005291005288, 1.0646549729254409,
                   4.0457875457875456]


def test_peto_study_effects_are_petos_one_step_log_odds_ratios_like_metafor() -> None:
    kept = meta_analysis_2x2(*PETO_TABLES, method="Peto", double_zero="keep")
    np.testing.assert_allclose(kept.yi, METAFOR_PETO_YI, rtol=1e-12)
    np.testing.assert_allclose(kept.vi, METAFOR_PETO_VI, rtol=1e-12)
    with pytest.warns(ZeroCellWarning):
        dropped = meta_analysis_2x2(*PETO_TABLES, method="Peto")
    np.testing.assert_allclose(dropped.yi, METAFOR_PETO_YI[:4], rtol=1e-12)
    # by hand, table 4 after adding 0.5 to every cell: (a - E) / V
    a, b, c, d = 0.5, 30.5, 3.5, 37.5
    n1, n2, N = a + b, c + d, a + b + c + d
    V = (a + c) * (b + d) * n1 * n2 / (N**2 * (N - 1))
    assert dropped.yi[3] == pytest.approx((a - (a + c) * n1 / N) / V, rel=RTOL_EXACT)
    assert dropped.vi[3] == pytest.approx(1 / V, rel=RTOL_EXACT)


def test_inverse_variance_2x2_equals_meta_analysis_on_log_odds_ratios() -> None:
    from evidence.effect_sizes import log_odds_ratios

    es = log_odds_ratios(A, N1, C, N2)
    ref = meta_analysis(es.yi, es.vi, method="REML", test="knha")
    res = meta_analysis_2x2(A, N1, C, N2, method="REML", test="knha")
    assert res.log_estimate == pytest.approx(ref.estimate, rel=RTOL_EXACT)
    assert res.estimate == pytest.approx(np.exp(ref.estimate), rel=RTOL_EXACT)
    assert (res.ci_low, res.ci_high) == pytest.approx((np.exp(ref.ci_low), np.exp(ref.ci_high)), rel=RTOL_EXACT)
    assert res.pi_high == pytest.approx(np.exp(ref.pi_high), rel=RTOL_EXACT)
    assert res.tau2 == pytest.approx(ref.tau2, rel=RTOL_EXACT)
    assert res.tau2_ci_high == pytest.approx(ref.tau2_ci_high, rel=RTOL_EXACT)


def test_double_zero_exclusion_is_echoed() -> None:
    a, n1, c, n2 = [12, 0, 20], [100, 50, 150], [6, 0, 9], [100, 50, 140]
    with pytest.warns(ZeroCellWarning):
        res = meta_analysis_2x2(a, n1, c, n2, method="MH")
    assert res.k == 2 and res.excluded == (1,) and res.included.tolist() == [True, False, True]
    assert res.labels == ("Study 1", "Study 3")
    kept = meta_analysis_2x2(a, n1, c, n2, method="MH", double_zero="keep")
    assert kept.k == 3 and kept.excluded == () and kept.corrected.tolist() == [False, True, False]
    # a double-zero table adds nothing to the MH estimate, only to Q's df
    assert kept.estimate == pytest.approx(res.estimate, rel=RTOL_EXACT)
    assert kept.q_df == 2 and res.q_df == 1


def test_2x2_frame_on_or_scale() -> None:
    res = meta_analysis_2x2(A, N1, C, N2, method="DL")
    frame = res.summary_frame()
    assert tuple(frame.columns[:5]) == FRAME_COLUMNS
    assert frame.loc["pooled", "estimate"] == pytest.approx(res.estimate)
    assert np.isnan(frame.loc["pooled", "se"])  # no standard error on the odds-ratio scale
    assert frame.attrs["transform"] == "exp"
    logs = res.summary_frame(transform=None)
    assert logs.loc["pooled", "estimate"] == pytest.approx(res.log_estimate)
    assert logs.loc["pooled", "se"] == pytest.approx(res.se)
    assert logs.loc["pooled", "ci_low"] == pytest.approx(np.log(res.ci_low))
    assert frame.loc["Study 1", "estimate"] == pytest.approx((12 * 94) / (88 * 6))
    assert "odds ratio" in res.summary() and repr(res).startswith("MetaAnalysis2x2Result(")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"method": "MH", "test": "knha"}, r"test='knha' is not defined for method='MH'"),
        ({"method": "Peto", "test": "knha"}, r"test='knha' is not defined for method='Peto'"),
        ({"method": "mh"}, r"method='mh'.*Did you mean 'MH'"),
        ({"correction": "add"}, r"correction='add'"),
        ({"double_zero": "drop"}, r"double_zero='drop'"),
        ({"alpha": 0}, r"alpha=0"),
    ],
)
def test_2x2_bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        meta_analysis_2x2(A, N1, C, N2, **kwargs)


def test_2x2_bad_counts() -> None:
    with pytest.raises(ValueError, match=r"events_exposed=120 exceeds n_exposed=100 at study 0"):
        meta_analysis_2x2([120, 8], [100, 60], [6, 5], [100, 70])
    with pytest.raises(ValueError, match=r"negative count"):
        meta_analysis_2x2([12, -1], [100, 60], [6, 5], [100, 70])
    with pytest.raises(ValueError, match=r"same length"):
        meta_analysis_2x2([12, 8], [100, 60], [6], [100])


def test_2x2_undefined_pooled_or_raises() -> None:
    # no events at all among the exposed: MH R = 0
    with pytest.raises(ValueError, match="Mantel-Haenszel odds ratio is undefined"):
        meta_analysis_2x2([0, 0], [10, 12], [3, 2], [10, 12], method="MH")
    with pytest.warns(ZeroCellWarning), pytest.raises(ValueError, match="No study is left"):
        meta_analysis_2x2([0, 0], [10, 12], [0, 0], [10, 12], method="Peto")


def test_result_arrays_are_read_only() -> None:
    res = meta_analysis(Y4, V4)
    with pytest.raises(ValueError, match="read-only"):
        res.yi[0] = 9.0
    batch = meta_analysis_many(Y4[None], V4[None])
    with pytest.raises(ValueError, match="read-only"):
        batch.tau2[0] = 9.0


def test_default_labels_are_made_on_demand_and_behave_like_a_tuple() -> None:
    from evidence.results import StudyLabels

    res = meta_analysis([0.1, 0.3, 0.5], [0.01, 0.02, 0.04])
    assert isinstance(res.labels, StudyLabels)
    assert res.labels == ("Study 1", "Study 2", "Study 3") == tuple(res.labels)
    assert res.labels[-1] == "Study 3" and res.labels[1:] == ("Study 2", "Study 3")
    assert list(res.summary_frame().index[:3]) == ["Study 1", "Study 2", "Study 3"]
    with pytest.raises(IndexError):
        res.labels[3]
    huge = StudyLabels(10**9)  # stores k only
    assert len(huge) == 10**9 and huge[-1] == "Study 1000000000"
    assert meta_analysis([0.1, 0.3], [0.01, 0.02], labels=["a", "b"]).labels == ("a", "b")


# --------------------------------------------------------------------------- extremes of the double range


def _in_range_or_rejected(yi: list[float], vi: list[float], method: str) -> None:
    """Either a clear ValueError naming an argument, or numbers that are possible."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = meta_analysis(yi, vi, method=method)
    except ValueError as e:  # an input-domain check may refuse values where doubles do not hold
        assert "yi" in str(e) or "vi" in str(e)
        return
    assert 0.0 <= res.i2 <= 100.0
    assert res.h2 >= (0.0 if method == "FE" else 1.0)  # FE: H^2 = Q/(k-1), below 1 when Q < k-1 (metafor)
    assert res.tau2 >= 0.0 and not np.isnan(res.tau2)
    assert not (res.tau2_ci_low > res.tau2_ci_high)


@pytest.mark.parametrize("method", ["DL", "REML", "PM", "FE"])
@pytest.mark.parametrize(
    "yi, vi",
    [
        ([1e154, -1e154, 0.0], [1.0, 1.0, 1.0]),
        ([1e200, -1e200, 0.0], [1.0, 1.0, 1.0]),
        ([1e128, -1e128, 0.0], [1.0, 1.0, 1.0]),
        ([0.1, 0.3, 0.5], [1e-300, 1e-300, 1e-300]),
        ([0.1, 0.3, 0.5], [1e-300, 1.0, 1e300]),
        ([0.1, 0.3, 0.5], [1e-49, 1.0, 1.0]),
    ],
)
def test_extreme_inputs_give_no_impossible_number(yi: list[float], vi: list[float], method: str) -> None:
    _in_range_or_rejected(yi, vi, method)


def test_one_dominant_weight_keeps_q_exact() -> None:
    # v = [1e-49, 1, 1]: the pooled estimate is y_1 to 1e-49, so Q = 0.2^2 + 0.4^2 = 0.2 < k - 1
    # and DL is 0; the textbook sum s_1 - s_2/s_1 (and y_1 - mu rounded) gave tau2 = inf or 1e15
    for method in ("DL", "REML", "PM"):
        res = meta_analysis([0.1, 0.3, 0.5], [1e-49, 1.0, 1.0], method=method)
        assert res.q == pytest.approx(0.2, rel=1e-12)
        assert res.tau2 == pytest.approx(0.0, abs=1e-30)
        assert res.estimate == pytest.approx(0.1, rel=1e-15)
        assert res.i2 == pytest.approx(0.0, abs=1e-25) and res.h2 == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["DL", "REML", "ML", "PM", "SJ"])
def test_small_variances_are_scale_equivariant(method: str) -> None:
    # scale equivariance: (y c, v c^2) gives (estimate c, tau2 c^2), the same Q, I^2, H^2; at the
    # lower edge of the accepted variances (1e-100) the weights' cubes reach 1e276
    c = 1e-45
    ref = meta_analysis(Y4, V4, method=method)
    res = meta_analysis(Y4 * c, V4 * c * c, method=method)
    many = meta_analysis_many((Y4 * c)[None], (V4 * c * c)[None], method=method)
    for r in (res, many):
        assert float(np.asarray(r.estimate).ravel()[0]) == pytest.approx(ref.estimate * c, rel=1e-9)
        assert float(np.asarray(r.tau2).ravel()[0]) == pytest.approx(ref.tau2 * c * c, rel=1e-9, abs=1e-320)
        assert float(np.asarray(r.tau2_ci_high).ravel()[0]) == pytest.approx(ref.tau2_ci_high * c * c, rel=1e-9)
        for name in ("q", "i2", "h2"):
            assert float(np.asarray(getattr(r, name)).ravel()[0]) == pytest.approx(getattr(ref, name), rel=1e-9)
