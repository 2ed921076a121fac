"""Tests of evidence.small_study against pinned metafor 3.8.1 output and hand-worked cases.

Reference values: tests/reference/metafor_small_study.json, written by
tests/r/small_study_reference.R (R and metafor versions and the exact calls are
recorded in the file).  metafor's spellings (``side=NULL``, ``level=c(90,95,99)``)
are translated to ours only here.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from conftest import R_DIR, load_reference, run_r

from evidence.exceptions import ConvergenceWarning, DataWarning
from evidence.small_study import (
    begg_test,
    egger_test,
    funnel_data,
    pet_peese,
    trim_and_fill,
)

#: metafor is run with threshold 1e-12; agreement is required to this relative error.
REL_TOL = 1e-6
#: absolute floor for values that are (near) zero, e.g. p-values of 1e-26.
ABS_TOL = 1e-12

REF = load_reference("metafor_small_study.json")
DATASETS = ("bcg_logrr", "bcg_logor", "hackshaw1998")
#: expected grid sizes: a shrinking reference must fail the tests
N_REGTEST = 38  # rma x {sei, vi} x {FE, DL, HE, HS, SJ, ML, REML, EB, PM} x {z, knha} + lm x {sei, vi}
N_RANKTEST = 2  # exact = TRUE, FALSE
N_TRIMFILL = 24  # {FE, DL, REML, PM} x {L0, R0} x {auto, left, right}
N_FUNNEL_POINTS = 10  # grid points pinned per funnel polygon


def close(actual, expected) -> None:
    """Assert agreement with metafor (None in the JSON is R's NA / NULL -> NaN)."""
    exp = np.asarray([np.nan if e is None else e for e in np.atleast_1d(expected)], float)
    act = np.atleast_1d(np.asarray(actual, float))
    np.testing.assert_allclose(act, exp, rtol=REL_TOL, atol=ABS_TOL, equal_nan=True)


def data(name: str) -> tuple[np.ndarray, np.ndarray]:
    d = REF["datasets"][name]
    return np.asarray(d["yi"], float), np.asarray(d["vi"], float)


def test_reference_provenance_and_grid_size() -> None:
    prov = REF["provenance"]
    assert prov["metafor_version"] == "3.8.1"
    assert prov["r_version"].startswith("R version 4.")
    assert prov["script"] == "tests/r/small_study_reference.R"
    assert prov["control"]["threshold"] == 1e-12
    assert prov["control"]["tol"] == 1e-12
    assert tuple(REF["datasets"]) == DATASETS
    for name in DATASETS:
        d = REF["datasets"][name]
        assert len(d["regtest"]) == N_REGTEST
        assert len(d["ranktest"]) == N_RANKTEST
        assert len(d["trimfill"]) == N_TRIMFILL
        assert set(d["pet_peese"]) == {"sei", "vi"}
        for kind, n_poly in (("contour", 3), ("standard", 1)):
            polys = d["funnel"][kind]["polygons"]
            assert len(polys) == n_poly
            assert all(len(p["se"]) == N_FUNNEL_POINTS for p in polys)
        assert len(d["yi"]) == {"bcg_logrr": 13, "bcg_logor": 13, "hackshaw1998": 37}[name]
    assert len(REF["ranktest_small"]) == 2


REGTEST_CASES = [(n, i) for n in DATASETS for i in range(N_REGTEST)]


@pytest.mark.parametrize("name,i", REGTEST_CASES)
def test_egger_matches_metafor_regtest(name: str, i: int) -> None:
    case = REF["datasets"][name]["regtest"][i]
    yi, vi = data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = egger_test(yi, vi, model=case["model"], predictor=case["predictor"],
                         method=case["method"], test=case["test"])
    close(res.statistic, case["zval"])
    close(res.p_value, case["pval"])
    close(res.estimate, case["est"])
    close([res.ci_low, res.ci_high], [case["ci_lb"], case["ci_ub"]])
    close(res.slope, case["slope"])
    if case["model"] == "rma":
        close(res.tau2, case["tau2"])
    if case["dfs"] is None:
        assert math.isinf(res.df)
    else:
        assert res.df == case["dfs"]


@pytest.mark.parametrize("name", DATASETS)
def test_begg_matches_metafor_ranktest(name: str) -> None:
    yi, vi = data(name)
    for case in REF["datasets"][name]["ranktest"]:
        res = begg_test(yi, vi, exact=case["exact"])
        assert res.exact is case["exact"]
        close(res.statistic, case["tau"])
        close(res.p_value, case["pval"])


def test_begg_small_cases_exact_and_ties() -> None:
    no_ties, ties = REF["ranktest_small"]
    res = begg_test(no_ties["yi"], no_ties["vi"])
    assert res.exact
    close([res.statistic, res.p_value], [no_ties["tau"], no_ties["pval"]])
    with pytest.warns(DataWarning, match="ties"):
        res = begg_test(ties["yi"], ties["vi"])
    assert not res.exact
    close([res.statistic, res.p_value], [ties["tau"], ties["pval"]])


TRIMFILL_CASES = [(n, i) for n in DATASETS for i in range(N_TRIMFILL)]


@pytest.mark.parametrize("name,i", TRIMFILL_CASES)
def test_trim_and_fill_matches_metafor(name: str, i: int) -> None:
    case = REF["datasets"][name]["trimfill"][i]
    yi, vi = data(name)
    side = None if case["side_arg"] == "auto" else case["side_arg"]
    res = trim_and_fill(yi, vi, estimator=case["estimator"], side=side, method=case["method"])
    assert res.side == case["side"]
    assert res.k0 == case["k0"]
    assert res.filled.tolist() == case["fill"]
    close(res.yi, case["yi"])
    close(res.vi, case["vi"])
    close(res.se_k0, case["se_k0"])
    close(res.p_k0, case["p_k0"])
    close([res.estimate, res.se, res.ci_low, res.ci_high], [case["beta"], case["se"],
                                                             case["ci_lb"], case["ci_ub"]])
    close(res.p_value, case["pval"])
    close(res.tau2, case["tau2"])
    frame = res.summary_frame()
    assert list(frame.columns[:5]) == ["estimate", "se", "ci_low", "ci_high", "weight"]
    assert (frame["kind"] == "filled").sum() == case["k0"]
    assert frame["weight"].iloc[:-1].sum() == pytest.approx(100.0)


def test_trim_and_fill_grid_covers_imputation() -> None:
    """The pinned grid must contain cases that impute on each side (else the fill path is untested)."""
    cases = [c for n in DATASETS for c in REF["datasets"][n]["trimfill"]]
    assert any(c["k0"] > 0 and c["side"] == "right" for c in cases)
    assert any(c["k0"] > 0 and c["side"] == "left" for c in cases)
    assert any(c["k0"] == 0 for c in cases)


@pytest.mark.parametrize("name", DATASETS)
def test_pet_peese_matches_rma_fe_and_lm(name: str) -> None:
    yi, vi = data(name)
    res = pet_peese(yi, vi)
    for key, part in (("sei", res.pet), ("vi", res.peese)):
        case = REF["datasets"][name]["pet_peese"][key]
        # estimates: rma(yi, vi, mods=~sqrt(vi) / ~vi, method="FE") == lm(weights=1/vi)
        close([part.estimate, part.slope], case["fe_beta"])
        close([part.estimate, part.slope], case["lm_coef"])
        # inference: lm's t-based standard errors
        close([part.se, part.slope_se], case["lm_se"])
        close(part.statistic, case["lm_t"][0])
        close(part.p_value, case["lm_p"][0])
        assert part.df == case["lm_df"]
        # documented equivalence: lm se = FE se * residual scale
        scale = part.se / case["fe_se"][0]
        close(part.slope_se / case["fe_se"][1], scale)


@pytest.mark.parametrize("name", DATASETS)
def test_funnel_data_matches_metafor_polygons(name: str) -> None:
    yi, vi = data(name)
    ref = REF["datasets"][name]["funnel"]
    fd = funnel_data(yi, vi)
    close(fd.pooled, ref["pooled"])
    con = ref["contour"]
    close(fd.xlim, con["xlim"])
    close(fd.ylim, con["ylim"])
    close(fd.studies["estimate"], con["x"])
    close(fd.studies["se"], con["y"])
    idx = np.asarray(con["grid_index"], int)
    assert len(fd.se_grid) == 1000
    # metafor draws the widest region (99%) first: polygons are p = 0.01, 0.05, 0.10
    for poly, p in zip(con["polygons"], (0.01, 0.05, 0.10), strict=False):
        j = fd.contour_p.index(p)
        close(fd.se_grid[idx], poly["se"])
        close(fd.contour_low[j, idx], poly["left"])
        close(fd.contour_high[j, idx], poly["right"])
    std = ref["standard"]["polygons"][0]
    close(fd.pseudo_ci_low[idx], std["left"])
    close(fd.pseudo_ci_high[idx], std["right"])


# ----------------------------------------------------------------------------- hand-worked
YI = np.array([0.10, 0.35, 0.62, 0.05, 0.90, 0.40])
VI = np.array([0.010, 0.040, 0.090, 0.005, 0.160, 0.060])


def test_egger_lm_equals_classic_snd_regression() -> None:
    """Egger et al. (1997): OLS of yi/sei on 1/sei; its intercept is our slope, its slope our limit."""
    sei = np.sqrt(VI)
    X = np.column_stack([np.ones(len(YI)), 1 / sei])
    snd = YI / sei
    coef, rss, *_ = np.linalg.lstsq(X, snd, rcond=None)
    s2 = float(rss[0]) / (len(YI) - 2)
    cov = s2 * np.linalg.inv(X.T @ X)
    t_intercept = coef[0] / math.sqrt(cov[0, 0])
    res = egger_test(YI, VI, model="lm")
    assert res.slope == pytest.approx(coef[0], rel=1e-10)
    assert res.estimate == pytest.approx(coef[1], rel=1e-10)
    assert res.statistic == pytest.approx(t_intercept, rel=1e-10)
    assert res.df == len(YI) - 2


def test_egger_fe_rma_is_lm_without_dispersion() -> None:
    lm = egger_test(YI, VI, model="lm")
    fe = egger_test(YI, VI, model="rma", method="FE")
    assert fe.slope == pytest.approx(lm.slope, rel=1e-12)
    assert math.isinf(fe.df)
    frame = fe.summary_frame()
    assert list(frame.index) == ["limit_estimate", "slope"]
    assert frame.loc["slope", "statistic"] == pytest.approx(fe.statistic)


def test_funnel_contours_by_hand() -> None:
    fd = funnel_data([0.2, -0.1, 0.4], [0.25, 1.0, 0.04], estimate=0.1, null=0.0, n_grid=12)
    # se grid from 1.1 * max(se) = 1.1 to 0 in steps of 0.1
    assert fd.se_grid[0] == pytest.approx(1.1) and fd.se_grid[-1] == 0.0
    i = int(np.argmin(np.abs(fd.se_grid - 1.0)))
    assert fd.se_grid[i] == pytest.approx(1.0)
    for p, z in ((0.10, 1.6448536269514722), (0.05, 1.959963984540054), (0.01, 2.5758293035489)):
        j = fd.contour_p.index(p)
        assert fd.contour_high[j, i] == pytest.approx(z, rel=1e-12)
        assert fd.contour_low[j, i] == pytest.approx(-z, rel=1e-12)
    assert fd.pseudo_ci_high[i] == pytest.approx(0.1 + 1.959963984540054)
    assert fd.pooled == 0.1 and fd.method == "given"
    # study 3: z = 0.4 / 0.2 = 2, p = 0.0455 -> inside the p < 0.05 region, not p < 0.01
    assert fd.studies["region"].iloc[2] == 0.05
    assert math.isnan(fd.studies["region"].iloc[1])
    assert fd.contour_frame().shape == (3 * 12, 4)


def test_trim_and_fill_by_hand_on_a_symmetric_funnel() -> None:
    """Mirror-image funnel, FE estimate 0.  |deviations| tie in pairs and are ranked in
    input order (R's ties.method="first"): signed ranks -1, +2, -3, +4, -5, +6.
    L0 = (4 * 12 - 6 * 7) / (2 * 6 - 1) = 6/11 -> k0 = 1;  R0 = 6 - 5 - 1 = 0.
    (metafor 3.8.1 gives k0 = 1, se.k0 = 1.80557063406276, beta = -0.0127659574468085.)
    """
    yi = np.array([-0.3, 0.3, -0.2, 0.2, -0.1, 0.1])
    vi = np.array([0.09, 0.09, 0.04, 0.04, 0.01, 0.01])
    res = trim_and_fill(yi, vi, method="FE", side="left")
    assert res.k0 == 1
    k, k0 = 6, 6 / 11
    var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0**3 + 27 * k0**2 + 17 * k0
              - 18 * k * k0**2 - 18 * k * k0 + 6 * k**2 * k0) / 24
    assert res.se_k0 == pytest.approx(4 * math.sqrt(var_sr) / (2 * k - 1), rel=1e-12)
    assert res.se_k0 == pytest.approx(1.8055706340627573, rel=1e-12)
    # the filled study mirrors the largest one (0.3) about the FE estimate of the other five
    keep = yi != 0.3
    trimmed = float(np.sum(yi[keep] / vi[keep]) / np.sum(1 / vi[keep]))
    assert res.yi[-1] == pytest.approx(2 * trimmed - 0.3, rel=1e-12) and res.vi[-1] == 0.09
    assert res.estimate == pytest.approx(-0.0127659574468085, rel=1e-12)
    r0 = trim_and_fill(yi, vi, method="FE", side="left", estimator="R0")
    assert r0.k0 == 0 and r0.p_k0 == 0.5
    assert r0.estimate == pytest.approx(0.0, abs=1e-12)
    assert not r0.filled.any()


def test_trim_and_fill_reflects_about_trimmed_estimate() -> None:
    yi = np.array([0.05, 0.20, 0.35, 0.50, 0.62, 0.80, 0.95])
    vi = np.array([0.004, 0.010, 0.030, 0.050, 0.080, 0.110, 0.150])
    res = trim_and_fill(yi, vi, method="FE", side="left")
    assert res.k0 > 0
    filled = res.yi[res.filled]
    # imputed studies mirror the k0 largest ones about one common centre
    mirrored = np.sort(yi)[-res.k0:]
    centres = (np.sort(filled)[::-1] + mirrored) / 2
    assert np.allclose(centres, centres[0])
    assert res.labels[-1] == f"Filled {res.k0}"
    assert res.estimate < np.average(yi, weights=1 / vi)


def test_trim_and_fill_warns_when_k0_does_not_settle(monkeypatch) -> None:
    import evidence.small_study as ss

    yi, vi = data("bcg_logrr")  # FE/L0 needs several iterations to reach k0 = 4
    monkeypatch.setattr(ss, "TRIMFILL_MAXITER", 1)
    with pytest.warns(ConvergenceWarning, match="k0 did not settle in 1 iterations"):
        res = trim_and_fill(yi, vi, method="FE")
    assert res.k0 >= 1  # the last value is used


def test_pet_peese_conditional_rule() -> None:
    two = pet_peese(YI, VI)
    greater = pet_peese(YI, VI, alternative="greater")
    less = pet_peese(YI, VI, alternative="less")
    t = two.pet.statistic
    assert t < 0  # PET intercept is negative for this funnel
    assert less.pet.p_value == pytest.approx(two.pet.p_value / 2)
    assert greater.pet.p_value == pytest.approx(1 - two.pet.p_value / 2)
    assert two.selected == ("PEESE" if two.pet.p_value < 0.05 else "PET")
    assert greater.selected == "PET"  # not significant in the expected (positive) direction
    assert greater.estimate == greater.pet.estimate
    frame = two.summary_frame()
    assert frame["selected"].sum() == 1
    assert frame.loc[two.selected, "estimate"] == two.estimate


# ----------------------------------------------------------------------------- bad input
def test_egger_needs_three_studies() -> None:
    with pytest.raises(ValueError, match="at least 3 studies"):
        egger_test([0.1, 0.2], [0.01, 0.02])


def test_pet_peese_and_begg_need_three_studies() -> None:
    with pytest.raises(ValueError, match="pet_peese needs at least 3"):
        pet_peese([0.1, 0.2], [0.01, 0.02])
    with pytest.raises(ValueError, match="begg_test needs at least 3"):
        begg_test([0.1, 0.2], [0.01, 0.02])
    with pytest.raises(ValueError, match="trim_and_fill needs at least 2"):
        trim_and_fill([0.1], [0.01])


def test_bad_variance_names_argument_and_study() -> None:
    with pytest.raises(ValueError, match=r"vi has the value .*-0.02.* at study 1"):
        egger_test([0.1, 0.2, 0.3], [0.01, -0.02, 0.03])
    with pytest.raises(ValueError, match="yi has the non-finite value"):
        trim_and_fill([0.1, np.nan, 0.3], [0.01, 0.02, 0.03])
    with pytest.raises(ValueError, match="same length"):
        begg_test([0.1, 0.2, 0.3], [0.01, 0.02])


def test_bad_options_are_named() -> None:
    with pytest.raises(ValueError, match=r"model='glm' is not a known option"):
        egger_test(YI, VI, model="glm")
    with pytest.raises(ValueError, match=r"predictor='ni'"):
        egger_test(YI, VI, predictor="ni")
    with pytest.raises(ValueError, match=r"estimator='Q0'.*'L0', 'R0'"):
        trim_and_fill(YI, VI, estimator="Q0")
    with pytest.raises(ValueError, match=r"side='Left'.*Did you mean 'left'"):
        trim_and_fill(YI, VI, side="Left")
    with pytest.raises(ValueError, match=r"method='MH'"):
        egger_test(YI, VI, method="MH")
    with pytest.raises(ValueError, match=r"alternative='one-sided'"):
        pet_peese(YI, VI, alternative="one-sided")
    with pytest.raises(ValueError, match="alpha"):
        funnel_data(YI, VI, alpha=5)


def test_equal_precision_cannot_be_regressed() -> None:
    with pytest.raises(ValueError, match="different precision"):
        egger_test([0.1, 0.2, 0.3], [0.02, 0.02, 0.02])
    with pytest.raises(ValueError, match="different precision"):
        pet_peese([0.1, 0.2, 0.3], [0.02, 0.02, 0.02])


def test_identical_studies_and_k2() -> None:
    res = trim_and_fill([0.2, 0.2, 0.2], [0.02, 0.02, 0.02], method="FE", side="left")
    assert res.k0 == 0 and res.estimate == pytest.approx(0.2)
    two = trim_and_fill([0.1, 0.5], [0.01, 0.04], method="FE")
    assert two.k0 <= 1
    fd = funnel_data([0.3], [0.05])
    assert fd.pooled == 0.3


def test_results_are_frozen() -> None:
    res = egger_test(YI, VI)
    with pytest.raises(AttributeError):
        res.p_value = 0.5  # type: ignore[misc]
    assert "EggerResult(" in repr(res) and "alpha=0.05" in repr(res)


# ----------------------------------------------------------------------------- regeneration
@pytest.mark.r
def test_reference_regenerates_identically(requires_r: str, tmp_path) -> None:
    out = tmp_path / "metafor_small_study.json"
    run_r(R_DIR / "small_study_reference.R", str(out), timeout=300)
    fresh = json.loads(out.read_text(encoding="utf-8"))
    assert fresh["provenance"]["metafor_version"] == REF["provenance"]["metafor_version"]

    def compare(a, b, path="") -> None:
        if isinstance(b, dict):
            assert set(a) == set(b), path
            for key in b:
                compare(a[key], b[key], f"{path}/{key}")
        elif isinstance(b, list):
            assert len(a) == len(b), path
            for j, (x, y) in enumerate(zip(a, b, strict=False)):
                compare(x, y, f"{path}[{j}]")
        elif isinstance(b, float) and isinstance(a, (int, float)):
            assert a == pytest.approx(b, rel=1e-10, abs=1e-14), path
        else:
            assert a == b, path

    compare(fresh["datasets"], REF["datasets"])
    compare(fresh["ranktest_small"], REF["ranktest_small"])
