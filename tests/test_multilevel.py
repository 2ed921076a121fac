"""evidence.multilevel against metafor's rma.mv (tests/reference/metafor_multilevel.json), plus
hand-checkable cases, the covariance-block interface and the errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import R_DIR, REFERENCE_DIR, load_reference, run_r

from evidence.multilevel import (
    constant_correlation_blocks,
    likelihood_ratio_test,
    meta_analysis_multilevel,
)

REF = load_reference("metafor_multilevel.json")
CASES = {c["id"]: c for c in REF["cases"]}
#: Estimates, SEs, variance components, log-likelihoods and tests (metafor run at nlminb rel.tol
#: 1e-10 to 1e-12, then polished with nlm; we stop Fisher scoring at a change of 1e-10).
RTOL = 1e-6
#: Absolute floor for the variance components: metafor's optimisers work with numerical derivatives
#: of a likelihood that is flat near its maximum, and place it within ~1e-7 (absolute) of the
#: optimum; at metafor's values our log-likelihood is within 1e-10 of metafor's and of our
#: maximum (``test_likelihood_at_metafor_estimates``), so the difference is the optimiser's.
VC_ATOL = 1e-7
#: Profile-likelihood bounds: metafor refits at rel.tol 1e-8 for each uniroot step.
CI_RTOL = 1e-4
N_CASES = 14
N_LRTS = 4


def _frame(name: str) -> pd.DataFrame:
    return pd.DataFrame(REF["data"][name]["columns"])


def _V(case: dict[str, Any], df: pd.DataFrame) -> Any:
    spec = case["V"]
    if spec == "diag":
        return None
    if spec == "berkey_blocks":
        return {t: g[["v1i", "v2i"]].to_numpy() for t, g in df.groupby("trial", sort=False)}
    rho, cluster = spec.removeprefix("rho=").split(" within ")
    return constant_correlation_blocks(df, vi="vi", cluster=cluster, rho=float(rho))


_FITS: dict[str, Any] = {}


def _fit(case_id: str) -> Any:
    if case_id not in _FITS:
        c = CASES[case_id]
        df = _frame(c["data"])
        _FITS[case_id] = meta_analysis_multilevel(df, levels=list(c["levels"]), mods=list(c["mods"]), V=_V(c, df),
                                    method=c["method"], test=c["test"])
    return _FITS[case_id]


def test_grid_size() -> None:
    assert len(REF["cases"]) == N_CASES
    assert len(REF["lrts"]) == N_LRTS
    assert {c["data"] for c in REF["cases"]} == {"konstantopoulos2011", "assink2016", "berkey1998", "simulated"}


def _close(got: Any, want: Any, rtol: float, what: str, atol: float = 1e-10) -> None:
    np.testing.assert_allclose(np.asarray(got, float), np.asarray(want, float), rtol=rtol, atol=atol,
                               err_msg=what)


@pytest.mark.parametrize("case_id", list(CASES))
def test_matches_rma_mv(case_id: str) -> None:
    c, res = CASES[case_id], _fit(case_id)
    assert res.converged
    assert res.k == c["k"]
    assert res.n_groups == tuple(int(n) for n in np.atleast_1d(c["n_groups"]))
    # our field names, then metafor's (as the R script writes them)
    for attr, key in (("beta", "beta"), ("se", "se"), ("statistic", "statistic"), ("p_value", "pvalue"),
                      ("ci_low", "ci_low"), ("ci_high", "ci_high"), ("loglik", "loglik"), ("aic", "aic"),
                      ("bic", "bic"), ("aicc", "aicc"), ("qe", "QE"), ("qe_pvalue", "QE_pvalue"),
                      ("typical_variance", "typical_variance")):
        _close(getattr(res, attr), c[key], RTOL, f"{case_id}: {attr}")
    _close(res.sigma2, c["sigma2"], RTOL, f"{case_id}: sigma2", atol=VC_ATOL)
    # I^2 = sigma2_l / (sum sigma2 + s^2) inherits the variance components' absolute 1e-7 over sums ~0.1
    _close(res.i2, c["i2"], RTOL, f"{case_id}: i2", atol=10 * VC_ATOL)
    assert res.qe_df == c["QE_df"]
    _close(res.qm, c["QM"], RTOL, f"{case_id}: qm")
    _close(res.qm_pvalue, c["QM_pvalue"], RTOL, f"{case_id}: qm_pvalue")


@pytest.mark.parametrize("case_id", list(CASES))
def test_likelihood_at_metafor_estimates(case_id: str) -> None:
    # the same likelihood: evaluated at metafor's variance components it is metafor's value, and
    # no higher than at ours (ours is at least as good a maximum)
    c, res = CASES[case_id], _fit(case_id)
    df = _frame(c["data"])
    at_r = meta_analysis_multilevel(df, levels=list(c["levels"]), mods=list(c["mods"]), V=_V(c, df),
                      sigma2=[float(s) for s in np.atleast_1d(c["sigma2"])], method=c["method"],
                      test=c["test"], profile=False)
    assert at_r.loglik == pytest.approx(c["loglik"], abs=1e-9)
    assert at_r.loglik <= res.loglik + 1e-12
    _close(at_r.beta, c["beta"], 1e-7, f"{case_id}: beta at metafor's sigma2")
    _close(at_r.se, c["se"], 1e-7, f"{case_id}: se at metafor's sigma2")
    _close(at_r.i2, c["i2"], 1e-9, f"{case_id}: i2 at metafor's sigma2")


@pytest.mark.parametrize("case_id", list(CASES))
def test_profile_intervals_match_confint(case_id: str) -> None:
    c, res = CASES[case_id], _fit(case_id)
    _close(res.sigma2_ci_low, c["sigma2_ci_low"], CI_RTOL, f"{case_id}: sigma2 ci_low", atol=1e-8)
    _close(res.sigma2_ci_high, c["sigma2_ci_high"], CI_RTOL, f"{case_id}: sigma2 ci_high", atol=1e-8)


@pytest.mark.parametrize("lrt", REF["lrts"], ids=[f"{x['full']}-{x['reduced']}" for x in REF["lrts"]])
def test_likelihood_ratio_test_matches_anova(lrt: dict[str, Any]) -> None:
    out = likelihood_ratio_test(_fit(lrt["full"]), _fit(lrt["reduced"]))
    assert out.df == lrt["df"]
    _close(out.statistic, lrt["statistic"], RTOL, "LRT", atol=1e-8)
    _close(out.p_value, lrt["pvalue"], RTOL, "LRT p")


def _differences(new: Any, old: Any, path: str = "$") -> list[str]:
    """Differences between two parsed JSON documents; numbers equal to 1e-9 relative (1e-10 absolute)."""
    if isinstance(old, dict) and isinstance(new, dict):
        if list(new) != list(old):
            return [f"{path}: keys differ: {sorted(set(new) ^ set(old)) or 'order'}"]
        return [d for key in old for d in _differences(new[key], old[key], f"{path}.{key}")]
    if isinstance(old, list) and isinstance(new, list):
        if len(new) != len(old):
            return [f"{path}: {len(new)} elements regenerated, {len(old)} committed"]
        return [d for i, (n, o) in enumerate(zip(new, old, strict=True)) for d in _differences(n, o, f"{path}[{i}]")]
    numbers = (int, float)
    if isinstance(old, numbers) and isinstance(new, numbers) and not isinstance(old, bool):
        return [] if abs(new - old) <= 1e-10 + 1e-9 * abs(old) else [f"{path}: regenerated {new!r}, committed {old!r}"]
    return [] if new == old else [f"{path}: regenerated {new!r}, committed {old!r}"]


def test_differences_sees_changes() -> None:
    old = {"a": [1.0, {"b": 0.5, "c": "x"}]}
    assert _differences({"a": [1.0 + 1e-13, {"b": 0.5, "c": "x"}]}, old) == []
    assert _differences({"a": [1.0, {"b": 0.5001, "c": "x"}]}, old)
    assert _differences({"a": [1.0]}, old)
    assert _differences({"a": [1.0, {"b": 0.5, "c": "y"}]}, old)


@pytest.mark.r
def test_regenerated_reference_equals_committed(requires_r: str, tmp_path: Path) -> None:
    out = tmp_path / "metafor_multilevel.json"
    run_r(R_DIR / "multilevel_reference.R", str(out), timeout=900)
    new = json.loads(out.read_text(encoding="utf-8"))
    old = json.loads((REFERENCE_DIR / "metafor_multilevel.json").read_text(encoding="utf-8"))
    assert len(new["cases"]) == len(old["cases"]) == N_CASES
    diffs = [d for d in _differences(new, old) if "R_version" not in d]
    assert not diffs, "\n".join(diffs[:25])


# -------------------------------------------------------------------------- hand-checkable cases
def _toy(**extra: Any) -> pd.DataFrame:
    return pd.DataFrame({"study": ["a", "a", "a", "b", "b", "c", "d", "d", "e", "e", "e", "f"],
                         "yi": [0.1, 0.4, 0.3, -0.2, 0.0, 0.5, 0.6, 0.2, 0.1, 0.3, -0.1, 0.4],
                         "vi": [0.02, 0.03, 0.02, 0.04, 0.02, 0.03, 0.02, 0.05, 0.02, 0.03, 0.04, 0.05],
                         "x": [0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0], **extra})


def test_one_level_is_rma_uni_reml() -> None:
    # one effect per cluster: the model is the random-effects model of evidence.meta_analysis
    from evidence.pooling import meta_analysis

    df = _toy().drop_duplicates("study")
    res = meta_analysis_multilevel(df, levels=["study"], profile=False)
    ref = meta_analysis(df["yi"].to_numpy(), df["vi"].to_numpy(), method="REML")
    np.testing.assert_allclose(res.sigma2[0], ref.tau2, rtol=1e-7)
    np.testing.assert_allclose(res.beta[0], ref.estimate, rtol=1e-7)
    np.testing.assert_allclose(res.se[0], ref.se, rtol=1e-7)


def test_rows_of_one_cluster_may_come_in_any_order() -> None:
    df = _toy(es=range(12))
    a = meta_analysis_multilevel(df, levels=["study", "es"], mods=["x"], profile=False)
    shuffled = df.sample(frac=1.0, random_state=3)
    b = meta_analysis_multilevel(shuffled, levels=["study", "es"], mods=["x"], profile=False)
    np.testing.assert_allclose(a.beta, b.beta, rtol=1e-9)
    np.testing.assert_allclose(a.sigma2, b.sigma2, rtol=1e-8)
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=1e-12)


def test_covariance_blocks_reproduce_the_gls_fit() -> None:
    df = _toy(es=range(12))
    res = meta_analysis_multilevel(df, levels=["study", "es"], mods=["x"], V=constant_correlation_blocks(df, rho=0.4),
                     profile=False)
    blocks = res.covariance_blocks()
    assert [b.cluster for b in blocks] == ["a", "b", "c", "d", "e", "f"]
    assert sorted(np.concatenate([b.rows for b in blocks]).tolist()) == list(range(12))
    A = sum(res.X[b.rows].T @ b.W @ res.X[b.rows] for b in blocks)
    rhs = sum(res.X[b.rows].T @ b.W @ res.y[b.rows] for b in blocks)
    np.testing.assert_allclose(np.linalg.solve(A, rhs), res.beta, rtol=1e-10)
    np.testing.assert_allclose(np.linalg.inv(A), res.vcov, rtol=1e-10)
    a = blocks[0]
    # 0.4 sqrt(v1 v2) + sigma2_study between two effects of one study; v + both sigma2 on the diagonal
    assert a.V[0, 1] == pytest.approx(0.4 * np.sqrt(0.02 * 0.03) + res.sigma2[0], rel=1e-12)
    assert a.V[0, 0] == pytest.approx(0.02 + res.sigma2.sum(), rel=1e-12)
    s = res.sampling_blocks()[0]
    assert s.V[0, 1] == pytest.approx(0.4 * np.sqrt(0.02 * 0.03), rel=1e-12)


def test_summary_words_and_frame() -> None:
    df = _toy(es=range(12))
    df.attrs["measure"] = "OR"
    res = meta_analysis_multilevel(df, levels=["study", "es"])
    text = res.summary()
    assert "REML" in text and "level 'study' (6 groups)" in text and "as a ratio" in text
    frame = res.summary_frame()
    assert list(frame.columns[:5]) == ["estimate", "se", "ci_low", "ci_high", "weight"]
    # an odds-ratio fit reports its coefficients as ratios by default, logs with transform=None
    assert frame["estimate"].iloc[0] == pytest.approx(np.exp(res.beta[0]))
    assert res.summary_frame(transform=None)["estimate"].iloc[0] == res.beta[0]
    assert frame["ci_low"].iloc[0] == pytest.approx(np.exp(res.ci_low[0]))
    vc = res.variance_components()
    assert (vc["ci_low"] <= vc["sigma2"]).all() and (vc["sigma2"] <= vc["ci_high"]).all()
    assert res.measure == "OR"


# -------------------------------------------------------------------------- errors
def test_missing_cluster_id_names_column_and_row() -> None:
    df = _toy()
    df.loc[4, "study"] = None
    with pytest.raises(ValueError, match=r"'study' has no id at row\(s\) \[4\]"):
        meta_analysis_multilevel(df, levels=["study"])


def test_non_positive_definite_block_names_the_cluster() -> None:
    df = _toy()
    V = constant_correlation_blocks(df, rho=0.5)
    V["e"] = V["e"].copy()
    V["e"][0, 1] = V["e"][1, 0] = 0.2  # larger than sqrt(0.02 * 0.03)
    with pytest.raises(ValueError, match=r"cluster 'e' \(rows \[8, 9, 10\]\) is not positive definite"):
        meta_analysis_multilevel(df, levels=["study"], V=V)


def test_covariance_across_clusters_does_not_nest() -> None:
    df = _toy()
    full = np.diag(df["vi"].to_numpy())
    full[2, 3] = full[3, 2] = 0.01
    with pytest.raises(ValueError, match="rows 2 and 3 .* different clusters 'a' and 'b'.* does not nest"):
        meta_analysis_multilevel(df, levels=["study"], V=full)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"levels": ["school"]}, "levels='school' is not a column"),
    ({"levels": "study"}, "non-empty list"),
    ({"levels": ["study"], "yi": "effect"}, "yi='effect' is not a column"),
    ({"levels": ["study"], "method": "DL"}, "method='DL' is not a known option"),
    ({"levels": ["study"], "mods": ["study"]}, "column 'study' has dtype (object|str)"),
])
def test_argument_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        meta_analysis_multilevel(_toy(), **kwargs)


def test_bad_variance_names_row() -> None:
    df = _toy()
    df.loc[7, "vi"] = 0.0
    with pytest.raises(ValueError, match="column 'vi' is 0.0 at row 7"):
        meta_analysis_multilevel(df, levels=["study"])
    df.loc[7, "vi"] = 0.05
    df.loc[9, "yi"] = np.nan
    with pytest.raises(ValueError, match="column 'yi' is nan at row 9"):
        meta_analysis_multilevel(df, levels=["study"])


def test_reml_lrt_with_other_moderators_is_refused() -> None:
    df = _toy(es=range(12))
    full = meta_analysis_multilevel(df, levels=["study", "es"], mods=["x"], profile=False)
    reduced = meta_analysis_multilevel(df, levels=["study", "es"], profile=False)
    with pytest.raises(ValueError, match="method='ML'"):
        likelihood_ratio_test(full, reduced)


# -------------------------------------------------------------------------- forest plot, data set
def test_forest_groups_rows_by_cluster() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from evidence.plots_multilevel import forest_multilevel

    df = _toy(es=range(12)).sample(frac=1.0, random_state=1)
    res = meta_analysis_multilevel(df, levels=["study", "es"], profile=False)
    p = forest_multilevel(res)
    effects = p.data.iloc[:-1]
    # rows of a cluster are contiguous, clusters in order of first appearance in the data
    assert effects["cluster"].tolist() == sorted(effects["cluster"], key=list(pd.unique(df["study"])).index)
    assert effects["weight"].sum() == pytest.approx(100.0)
    assert p.data.iloc[-1]["estimate"] == pytest.approx(res.beta[0])
    z = 1.959963984540054
    row = effects.iloc[0]
    assert row["ci_high"] - row["estimate"] == pytest.approx(z * np.sqrt(df.loc[row["row"], "vi"]))
    assert (np.diff(effects["y"]) < 0).all()


def test_assink2016_three_level_model() -> None:
    from evidence.datasets import load_dataset

    df = load_dataset("assink2016")
    assert df.shape == (100, 8)
    res = meta_analysis_multilevel(df, levels=["study", "esid"], profile=False)
    ref = CASES["assink_reml"]
    _close(res.beta, ref["beta"], RTOL, "assink2016 shipped CSV: beta")
    assert res.n_groups == (17, 100)


def test_non_convergence_is_reported() -> None:
    from evidence.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = meta_analysis_multilevel(_toy(es=range(12)), levels=["study", "es"], maxiter=1, tol=1e-300)
    assert res.converged is False and res.sigma2_ci_low is None
    assert "did not converge" in res.summary()
    assert np.isfinite(res.beta).all()


@pytest.mark.parametrize("case_id", ["konst_reml", "assink_mods_ml", "sim_reml", "sim_ml", "assink_rho_reml"])
def test_woodbury_path_equals_dense_path(case_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # every cluster above one row goes through the Woodbury path (blocks with a full sampling
    # covariance stay dense): the fit must not change
    import evidence.multilevel as ml

    dense = _fit(case_id)
    monkeypatch.setattr(ml, "_DENSE_MAX", 1)
    c = CASES[case_id]
    df = _frame(c["data"])
    res = meta_analysis_multilevel(df, levels=list(c["levels"]), mods=list(c["mods"]), V=_V(c, df),
                                   method=c["method"], test=c["test"], profile=False)
    for attr in ("beta", "se", "sigma2", "loglik", "qe", "typical_variance"):
        _close(getattr(res, attr), getattr(dense, attr), 1e-8, f"{case_id}: {attr}", atol=1e-12)
    assert res.iterations == dense.iterations
    for a, b in zip(res.covariance_blocks(), dense.covariance_blocks(), strict=True):
        np.testing.assert_allclose(a.W, b.W, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(a.rows, b.rows)


def test_i2_split_as_published_for_konstantopoulos2011() -> None:
    # dmetar's reference page for mlm.variance.distribution prints, for
    # rma.mv(yi, vi, random = ~ 1 | district/school, data = dat.konstantopoulos2011):
    # level 3 (district) 63.32%, level 2 (school) 31.86%, total I^2 95.19%
    res = _fit("konst_reml")
    assert np.round(100 * res.i2, 2).tolist() == [63.32, 31.86]
    assert round(100 * res.i2_total, 2) == 95.19


def test_scale_and_shift_equivariance() -> None:
    # y -> 2y + 1 with v -> 4v: intercept 2b + 1, slopes 2b, variance components 4 sigma2, same z
    df = _toy(es=range(12))
    a = meta_analysis_multilevel(df, levels=["study", "es"], mods=["x"], profile=False)
    df2 = df.assign(yi=2 * df["yi"] + 1, vi=4 * df["vi"])
    b = meta_analysis_multilevel(df2, levels=["study", "es"], mods=["x"], profile=False)
    np.testing.assert_allclose(b.beta, [2 * a.beta[0] + 1, 2 * a.beta[1]], rtol=1e-8)
    np.testing.assert_allclose(b.sigma2, 4 * a.sigma2, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(b.statistic[1], a.statistic[1], rtol=1e-7)
    np.testing.assert_allclose(b.i2, a.i2, rtol=1e-7, atol=1e-12)


def test_numeric_domain_and_switches_are_checked() -> None:
    df = _toy()
    df.loc[2, "yi"] = 1e120
    with pytest.raises(ValueError, match=r"column 'yi' is 1e\+120 at row 2"):
        meta_analysis_multilevel(df, levels=["study"])
    df = _toy()
    df.loc[3, "vi"] = 1e-120
    with pytest.raises(ValueError, match="column 'vi' is 1e-120 at row 3"):
        meta_analysis_multilevel(df, levels=["study"])
    with pytest.raises(TypeError, match="intercept='no' must be True or False"):
        meta_analysis_multilevel(_toy(), levels=["study"], intercept="no")
