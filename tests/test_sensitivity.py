"""Leave-one-out, cumulative, influence, Baujat and GOSH against pinned metafor 3.8-1 output.

Reference: tests/reference/metafor_toolkit.json (tests/r/toolkit_reference.R) and, for REML GOSH
over all subsets of the BCG trials, tests/reference/metafor_gosh_bcg.json (tests/r/gosh_bcg_reference.R).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evidence.exceptions import ConvergenceWarning, EvidenceWarning, SingleStudyWarning
from evidence.pooling import meta_analysis
from evidence.sensitivity import baujat, cumulative, gosh, influence, leave_one_out
from tests.conftest import load_reference

REF = load_reference("metafor_toolkit.json")
#: metafor run with threshold=1e-12: agreement to 1e-6 relative ...
RTOL = 1e-6
#: ... or 1e-8 absolute where metafor's value is (near) 0: its REML step halving stops
#: within its threshold of the boundary (tau2 ~ 1e-11, I2 ~ 1e-9) where we return 0.
ATOL = 1e-8


def _close(mine, theirs, what: str) -> None:
    theirs = np.asarray([np.nan if t is None else t for t in np.ravel(theirs)], dtype=float)
    np.testing.assert_allclose(np.ravel(np.asarray(mine, dtype=float)), theirs, rtol=RTOL, atol=ATOL, err_msg=what)


def _data(name: str) -> dict:
    return REF["data"][name]


def test_reference_grid_is_complete() -> None:
    # 2 data sets x (REML, DL) x (z, knha) + FE z
    assert len(REF["leave1out"]) == 10
    assert len(REF["cumul"]) == 10
    assert len(REF["influence"]) == 6
    assert len(REF["baujat"]) == 5
    assert len(REF["gosh"]) == 4
    assert sum(len(g["k"]) for g in REF["gosh"]) == 3 * (2**8 - 1) + (2**10 - 1)


SEQ_FIELDS = [
    ("estimate", "estimate"), ("se", "se"), ("statistic", "stat"), ("p_value", "pval"),
    ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("q", "Q"), ("q_pvalue", "Qp"),
    ("tau2", "tau2"), ("i2", "I2"), ("h2", "H2"),
]


@pytest.mark.parametrize("case", REF["leave1out"], ids=lambda c: f"{c['data']}-{c['method']}-{c['test']}")
def test_leave_one_out_matches_metafor(case: dict) -> None:
    ds = _data(case["data"])
    res = leave_one_out(ds["yi"], ds["vi"], method=case["method"], test=case["test"])
    for mine, theirs in SEQ_FIELDS:
        _close(getattr(res, mine), case[theirs], mine)
    assert (res.k == len(ds["yi"]) - 1).all()


@pytest.mark.parametrize("case", REF["cumul"], ids=lambda c: f"{c['data']}-{c['method']}-{c['test']}")
def test_cumulative_matches_metafor(case: dict) -> None:
    ds = _data(case["data"])
    df = pd.DataFrame({"yi": ds["yi"], "vi": ds["vi"], "year": ds["year"]})
    res = cumulative(df, order_by="year", method=case["method"], test=case["test"])
    for mine, theirs in SEQ_FIELDS:
        _close(getattr(res, mine), case[theirs], mine)
    np.testing.assert_array_equal(res.k, np.arange(1, len(df) + 1))
    # stable: ties in year keep the data order
    np.testing.assert_array_equal(res.order, np.argsort(np.asarray(ds["year"]), kind="stable"))


@pytest.mark.parametrize("case", REF["influence"], ids=lambda c: f"{c['data']}-{c['method']}-{c['test']}-{c['mods']}")
def test_influence_matches_metafor(case: dict) -> None:
    ds = _data(case["data"])
    mods = None if case["mods"] is None else ds[case["mods"]]
    res = influence(ds["yi"], ds["vi"], mods, method=case["method"], test=case["test"])
    for mine, theirs in [
        ("rstudent", "rstudent"), ("dffits", "dffits"), ("cook_d", "cook_d"), ("cov_r", "cov_r"),
        ("tau2_del", "tau2_del"), ("qe_del", "QE_del"), ("hat", "hat"), ("weight", "weight"),
    ]:
        _close(getattr(res, mine), case[theirs], mine)
    _close(res.dfbetas.T, case["dfbs"], "dfbetas")
    np.testing.assert_array_equal(res.influential, np.asarray(case["inf"], dtype=bool))
    frame = res.summary_frame()
    assert frame.shape[0] == len(ds["yi"]) and "dfbetas_intercept" in frame.columns


@pytest.mark.parametrize("case", REF["baujat"], ids=lambda c: f"{c['data']}-{c['method']}-{c['test']}")
def test_baujat_matches_metafor(case: dict) -> None:
    ds = _data(case["data"])
    res = baujat(ds["yi"], ds["vi"], method=case["method"], test=case["test"])
    _close(res.x, case["x"], "x")
    _close(res.y, case["y"], "y")


def test_baujat_fe_x_sums_to_cochran_q() -> None:
    ds = _data("bcg")
    res = baujat(ds["yi"], ds["vi"], method="FE")
    assert res.x.sum() == pytest.approx(meta_analysis(ds["yi"], ds["vi"], method="FE").q, rel=1e-12)


@pytest.mark.parametrize("case", REF["gosh"], ids=lambda c: f"{c['data']}{c['n']}-{c['method']}")
def test_gosh_matches_metafor(case: dict) -> None:
    res = gosh(case["yi"], case["vi"], method=case["method"], progress=False)
    assert res.exact and len(res) == 2 ** case["n"] - 1
    np.testing.assert_array_equal(res.membership.astype(int), np.asarray(case["incl"]))
    np.testing.assert_array_equal(res.k, case["k"])
    for mine, theirs in [("estimate", "estimate"), ("tau2", "tau2"), ("q", "QE"), ("i2", "I2")]:
        _close(getattr(res, mine), case[theirs], mine)
    h2 = np.asarray(case["H2"], dtype=float)
    if case["method"] == "DL":
        # Documented divergence: metafor's gosh() shortcut for DL reports H2 = Q/(k-1) also
        # where tau2 is truncated at 0, whereas rma() (and we) report H2 = 1 there.
        pos = res.tau2 > 0
        _close(res.h2[pos], h2[pos], "h2")
        np.testing.assert_array_equal(res.h2[~pos], 1.0)
    else:
        _close(res.h2, h2, "h2")


@pytest.mark.parametrize("method", ["REML", "ML", "DL", "PM", "FE"])
def test_exact_gosh_equals_refitting_each_subset(method: str) -> None:
    ds = _data("bcg")
    y, v = np.asarray(ds["yi"][:7]), np.asarray(ds["vi"][:7])
    res = gosh(y, v, method=method, progress=False, chunk_size=37)  # several chunks
    assert len(res) == 127 and len(np.unique(res.membership, axis=0)) == 127
    for s in range(len(res)):
        m = res.membership[s]
        with warnings.catch_warnings():
            # a one-study subset warns that it has no heterogeneity to estimate; REML/ML may
            # hit the boundary (ll0check), as the GOSH fits do
            warnings.simplefilter("ignore", SingleStudyWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = meta_analysis(y[m], v[m], method=method)
        assert res.k[s] == m.sum()
        assert res.estimate[s] == pytest.approx(fit.estimate, rel=1e-9, abs=1e-12)
        assert res.tau2[s] == pytest.approx(fit.tau2, rel=1e-7, abs=1e-12)
        assert res.q[s] == pytest.approx(fit.q, rel=1e-9, abs=1e-12)
        assert res.i2[s] == pytest.approx(fit.i2, rel=1e-7, abs=1e-9)
        assert res.h2[s] == pytest.approx(fit.h2, rel=1e-7)
        assert res.se[s] == pytest.approx(fit.se, rel=1e-7)


def test_gosh_random_subsets_seeded() -> None:
    ds = _data("hackshaw")
    y, v = ds["yi"], ds["vi"]
    with pytest.raises(ValueError, match=r"all 2\^37 - 1 subsets of k=37 studies, above max_exact=20.*n_subsets"):
        gosh(y, v, progress=False)
    a = gosh(y, v, n_subsets=500, seed=4, method="DL", progress=False)
    b = gosh(y, v, n_subsets=500, seed=4, method="DL", progress=False)
    assert not a.exact and len(a) == 500
    np.testing.assert_array_equal(a.membership, b.membership)
    np.testing.assert_array_equal(a.estimate, b.estimate)
    np.testing.assert_array_equal(a.k, a.membership.sum(axis=1))
    assert (np.diff(a.k) >= 0).all() and a.k.min() >= 1
    # sizes follow binom(37, 1/2): the mean is near 18.5
    assert abs(a.k.mean() - 18.5) < 1.0
    frame = a.summary_frame()
    assert list(frame.columns) == ["estimate", "se", "ci_low", "ci_high", "weight", "tau2", "i2", "h2", "q", "k"]


def test_gosh_enough_subsets_is_exact() -> None:
    res = gosh([0.1, 0.3, 0.5, 1.2], [0.01, 0.02, 0.04, 0.05], n_subsets=15, progress=False)
    assert res.exact and len(res) == 15


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_exact": 40}, r"max_exact=40 must be a whole number between 1 and 30"),
        ({"n_subsets": 1}, r"n_subsets=1 must be a whole number >= 2"),
        ({"method": "dl"}, r"method='dl' is not a known option"),
        ({"chunk_size": 0}, r"chunk_size=0 must be a whole number >= 1"),
    ],
)
def test_gosh_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        gosh([0.1, 0.3, 0.5], [0.01, 0.02, 0.04], progress=False, **kwargs)


def test_cumulative_errors_and_descending_order() -> None:
    df = pd.DataFrame({"yi": [0.5, 0.1, 0.3], "vi": [0.04, 0.01, 0.02], "year": [2001, 1990, 2001]})
    message = r"order_by='yeer' is not a column of data; the columns are 'yi', 'vi', 'year'"
    with pytest.raises(ValueError, match=message):
        cumulative(df, order_by="yeer")
    with pytest.raises(ValueError, match=r"vi='v' is not a column"):
        cumulative(df, vi="v")
    res = cumulative(df, order_by="year", ascending=False, method="FE")
    np.testing.assert_array_equal(res.order, [0, 2, 1])  # ties keep data order, as R's order()
    assert res.estimate[0] == pytest.approx(0.5)
    df.loc[1, "year"] = np.nan
    with pytest.raises(ValueError, match=r"order_by='year' is missing at study 1"):
        cumulative(df, order_by="year")
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        cumulative({"yi": [1.0]})


def test_leave_one_out_frame_and_errors() -> None:
    res = leave_one_out([0.1, 0.3, 0.5], [0.01, 0.02, 0.04], labels=["A", "B", "C"], alpha=0.1)
    frame = res.summary_frame()
    assert list(frame.index) == ["A", "B", "C"] and frame.index.name == "omitted"
    assert list(frame.columns[:5]) == ["estimate", "se", "ci_low", "ci_high", "weight"]
    assert res.alpha == 0.1
    with pytest.raises(ValueError, match="leave_one_out needs at least 2 studies; got k=1"):
        leave_one_out([0.1], [0.01])
    with pytest.raises(ValueError, match="labels has 2 entries but there are 3 studies"):
        leave_one_out([0.1, 0.3, 0.5], [0.01, 0.02, 0.04], labels=["A", "B"])


def test_influence_with_moderators_names_and_errors() -> None:
    ds = _data("bcg")
    res = influence(ds["yi"], ds["vi"], pd.DataFrame({"ablat": ds["ablat"]}))
    assert res.coefficient_names == ("intercept", "ablat") and res.dfbetas.shape == (13, 2)
    with pytest.raises(ValueError, match="influence needs at least 2 studies"):
        influence([0.1], [0.01])


# ---------------------------------------------------------------------------
# REML GOSH over all 8,191 subsets of the 13 BCG trials (log risk ratios), pinned
# from metafor's gosh() by tests/r/gosh_bcg_reference.R.  Some subsets have a
# restricted likelihood with two local maxima (one at 0); metafor reports the one
# its Fisher scoring reaches from max(0, HE), e.g. 0.5296 for trials 4, 10, 12.
# ---------------------------------------------------------------------------

GOSH_BCG = load_reference("metafor_gosh_bcg.json")
#: both sides converge to 1e-12 relative; the JSON keeps 15 significant digits
RTOL_GOSH = 1e-8
ATOL_GOSH = 1e-10


def test_gosh_bcg_reference_is_complete() -> None:
    assert len(GOSH_BCG["code"]) == len(GOSH_BCG["tau2"]) == len(GOSH_BCG["estimate"]) == 2**13 - 1
    assert sorted(GOSH_BCG["code"]) == list(range(1, 2**13))
    assert GOSH_BCG["provenance"]["metafor_version"] == "3.8.1"


def _bcg_gosh_membership() -> np.ndarray:
    codes = np.asarray(GOSH_BCG["code"], dtype=np.int64)
    return ((codes[:, None] >> np.arange(13)) & 1).astype(bool)


def test_gosh_bcg_all_subsets_match_metafor() -> None:
    yi, vi = np.asarray(GOSH_BCG["yi"]), np.asarray(GOSH_BCG["vi"])
    res = gosh(yi, vi, method="REML", progress=False)
    np.testing.assert_array_equal(res.membership, _bcg_gosh_membership())
    tau2 = np.asarray(GOSH_BCG["tau2"], dtype=float)
    np.testing.assert_allclose(res.tau2, tau2, rtol=RTOL_GOSH, atol=ATOL_GOSH)
    np.testing.assert_allclose(res.estimate, GOSH_BCG["estimate"], rtol=RTOL_GOSH, atol=ATOL_GOSH)
    assert res.converged.all()
    # the premise: some of these subsets have their REML maximum inside while 0 is a
    # local maximum too (the cases a "score at 0 < 0 means 0" shortcut gets wrong)
    from evidence import _engine as E

    m = res.membership
    y0, v0, mf, _ = E.prepare(np.where(m, yi, 0.0), np.where(m, vi, 1.0), m)
    bimodal = (tau2 > 1e-6) & (E.score_parts(np.zeros(len(m)), y0, v0, mf, None, True)[0] < 0)
    assert bimodal.sum() >= 13


def test_gosh_bcg_one_at_a_time_matches_metafor() -> None:
    # meta_analysis, one subset at a time, on the subsets where the likelihood is bimodal
    # and on a sample of the others
    yi, vi = np.asarray(GOSH_BCG["yi"]), np.asarray(GOSH_BCG["vi"])
    m = _bcg_gosh_membership()
    tau2 = np.asarray(GOSH_BCG["tau2"], dtype=float)
    rows = list(range(0, len(m), 97)) + [int(np.flatnonzero((m[:, [3, 9, 11]]).all(1) & (m.sum(1) == 3))[0])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)
        for r in rows:
            res = meta_analysis(yi[m[r]], vi[m[r]], method="REML")
            assert res.tau2 == pytest.approx(tau2[r], rel=RTOL_GOSH, abs=ATOL_GOSH), r
            assert res.estimate == pytest.approx(GOSH_BCG["estimate"][r], rel=RTOL_GOSH, abs=ATOL_GOSH), r
    assert tau2[rows[-1]] == pytest.approx(0.529584923486015, rel=1e-12)  # trials 4, 10, 12


@pytest.mark.r
@pytest.mark.slow
def test_gosh_bcg_reference_regenerates(requires_r: str, tmp_path) -> None:
    from tests.conftest import R_DIR, run_r

    out = tmp_path / "metafor_gosh_bcg.json"
    run_r(R_DIR / "gosh_bcg_reference.R", str(out), timeout=300)
    import json

    fresh = json.loads(out.read_text(encoding="utf-8"))
    assert fresh["provenance"] == GOSH_BCG["provenance"]
    assert fresh["code"] == GOSH_BCG["code"]
    for key in ("tau2", "estimate", "yi", "vi"):
        np.testing.assert_allclose(fresh[key], GOSH_BCG[key], rtol=1e-12, atol=1e-15, err_msg=key)


# metafor 3.8.1, k = 2 with Knapp-Hartung: each deletion fit has one study and no
# residual df, so metafor fits it with the z test:
#   r <- rma(c(1.945, 0.81), c(0.218, 0.055), test="knha"); influence(r); baujat(r)
K2_METAFOR_INFLUENCE = {
    "rstudent": [2.1723, -2.1723], "dffits": [1.6065, -3.6322], "cov_r": [0.1736, 0.6879],
    "dfbetas_intercept": [2.3653, -3.0506], "cook_d": [0.7754, 1.2897],
}
K2_METAFOR_BAUJAT_Y = [4.467498, 1.874827]


def test_influence_and_baujat_with_knha_at_k2_use_z_for_the_deletion_fits() -> None:
    from evidence.exceptions import DataWarning

    with pytest.warns(DataWarning, match="uses the z test instead of 'knha'"):
        inf = influence([1.945, 0.81], [0.218, 0.055], test="knha")
    frame = inf.summary_frame()
    for column, expected in K2_METAFOR_INFLUENCE.items():
        np.testing.assert_allclose(frame[column].to_numpy(), expected, atol=5e-5)  # printed to 4 decimals
    with pytest.warns(DataWarning):
        bj = baujat([1.945, 0.81], [0.218, 0.055], test="knha")
    np.testing.assert_allclose(bj.summary_frame()["y"].to_numpy(), K2_METAFOR_BAUJAT_Y, atol=5e-7)


def test_cumulative_knha_first_fit_uses_z_without_warning() -> None:
    """The one-study fit falls back to z (as metafor cumul); the expected warning is not shown."""
    yi, vi = [0.5, 0.1, 0.3, 0.8], [0.04, 0.01, 0.02, 0.05]
    df = pd.DataFrame({"yi": yi, "vi": vi})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = cumulative(df, method="DL", test="knha")
    z = yi[0] / np.sqrt(vi[0])
    assert res.statistic[0] == pytest.approx(z, rel=1e-12)
    assert res.ci_high[0] == pytest.approx(yi[0] + stats.norm.isf(0.025) * np.sqrt(vi[0]), rel=1e-12)


def test_case_deletion_needs_more_studies_than_coefficients() -> None:
    with pytest.raises(ValueError, match=r"case deletion needs more studies than coefficients: k=2 studies, p=2"):
        influence([0.1, 0.4], [0.01, 0.02], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"gosh needs at least 1 study; got yi with 0 values"):
        gosh([], [], progress=False)
