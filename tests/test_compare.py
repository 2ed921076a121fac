"""Comparison of two odds ratios and subgroup analyses against pinned metafor 3.8-1 output.

Reference: tests/reference/metafor_toolkit.json (tests/r/toolkit_reference.R).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evidence.compare import compare_odds_ratios, subgroup_analysis
from evidence.exceptions import DataWarning, EvidenceWarning
from evidence.metareg import meta_regression
from tests.conftest import load_reference

REF = load_reference("metafor_toolkit.json")
#: metafor run with threshold=1e-12: agreement to 1e-6 relative (1e-10 absolute for exact zeros).
RTOL = 1e-6
ATOL = 1e-10


def test_reference_grid_is_complete() -> None:
    assert len(REF["compare"]) == 2
    # 3 data sets x (REML, DL) x (z, knha)
    assert len(REF["subgroup"]) == 12


@pytest.mark.parametrize("case", REF["compare"], ids=lambda c: f"{c['or1']}-vs-{c['or2']}")
def test_compare_odds_ratios_matches_metafor(case: dict) -> None:
    res = compare_odds_ratios(case["or1"], case["or2"], ci1=(case["lb1"], case["ub1"]), ci2=(case["lb2"], case["ub2"]))
    for mine, theirs in [("log_ratio", "log_ratio"), ("se", "se"), ("statistic", "z"), ("p_value", "pval"),
                         ("ci_low", "ci_lb"), ("ci_high", "ci_ub")]:
        assert getattr(res, mine) == pytest.approx(case[theirs], rel=RTOL, abs=ATOL), mine
    assert res.ratio == pytest.approx(case["or1"] / case["or2"], rel=1e-12)
    assert res.se_source == ("ci", "ci")


def test_compare_odds_ratios_hand_computation() -> None:
    """Altman & Bland (2003): d = log OR1 - log OR2, SE = sqrt(SE1^2 + SE2^2)."""
    res = compare_odds_ratios(1.5, 3.0, se1=0.3, se2=0.4, alpha=0.1)
    se = math.sqrt(0.09 + 0.16)
    d = math.log(0.5)
    assert res.se == pytest.approx(se, rel=1e-15)
    assert res.statistic == pytest.approx(d / se, rel=1e-15)
    assert res.p_value == pytest.approx(2 * stats.norm.sf(abs(d / se)), rel=1e-12)
    assert res.ci_low == pytest.approx(math.exp(d - stats.norm.isf(0.05) * se), rel=1e-12)
    assert res.confidence_interval() == (res.ci_low, res.ci_high)
    frame = res.summary_frame()
    assert list(frame.columns[:5]) == ["estimate", "se", "ci_low", "ci_high", "weight"]
    assert list(frame.index) == ["or1", "or2", "ratio"]
    assert frame.loc["ratio", "estimate"] == pytest.approx(0.5)


def test_compare_odds_ratios_mixed_inputs_and_warning() -> None:
    a = compare_odds_ratios(2.0, 1.2, se1=0.25, ci2=(0.95, 1.52))
    assert a.se_source == ("se", "ci")
    # an interval whose log-midpoint is far from the estimate is flagged by se_from_ci
    with pytest.warns(DataWarning):
        compare_odds_ratios(2.0, 1.2, se1=0.25, ci2=(0.5, 1.3))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"or1": 2.0, "or2": 1.0, "se2": 0.1}, ValueError, r"Give exactly one of se1 .* or ci1"),
        ({"or1": 2.0, "or2": 1.0, "se1": 0.1, "ci1": (1, 3), "se2": 0.1}, ValueError, r"Give exactly one of se1"),
        ({"or1": -2.0, "or2": 1.0, "se1": 0.1, "se2": 0.1}, ValueError, r"or1=-2.0 must be a finite number > 0"),
        ({"or1": 2.0, "or2": 1.0, "se1": 0.0, "se2": 0.1}, ValueError, r"se1=0.0 must be a finite number > 0"),
        ({"or1": 2.0, "or2": 1.0, "se1": 0.1, "ci2": 3.0}, ValueError, r"ci2=3.0 must be a pair"),
        ({"or1": "a", "or2": 1.0, "se1": 0.1, "se2": 0.1}, TypeError, r"or1='a' must be a number"),
    ],
)
def test_compare_odds_ratios_bad_input(kwargs: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        compare_odds_ratios(**kwargs)


@pytest.mark.parametrize("mode", ["separate", "common"])
@pytest.mark.parametrize("case", REF["subgroup"], ids=lambda c: f"{c['data']}-{c['method']}-{c['test']}")
def test_subgroup_analysis_matches_metafor(case: dict, mode: str) -> None:
    ds = REF["data"][case["data"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)
        res = subgroup_analysis(ds["yi"], ds["vi"], ds[case["group"]], method=case["method"], test=case["test"],
                                tau2=mode)
    assert list(res.levels) == case["levels"]
    p = "sep_" if mode == "separate" else "com_"
    pairs = [("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_lb"), ("ci_high", "ci_ub"), ("tau2", "tau2")]
    for mine, theirs in pairs:
        np.testing.assert_allclose(getattr(res, mine), case[p + theirs], rtol=RTOL, atol=ATOL, err_msg=mine)
    if mode == "separate":
        np.testing.assert_array_equal(res.k, case["sep_k"])
        assert res.q_between == pytest.approx(case["sep_Qb"], rel=RTOL)
        assert res.q_between_pvalue == pytest.approx(case["sep_Qbp"], rel=RTOL)
        assert res.q_between_df == len(case["levels"]) - 1 and res.q_between_df2 is None
    else:
        assert res.q_between == pytest.approx(case["com_QM"], rel=RTOL)
        assert res.q_between_pvalue == pytest.approx(case["com_QMp"], rel=RTOL)
        assert res.q_between_df == case["com_QMdf"][0]
        assert res.q_between_df2 == case["com_QMdf"][1]


def test_subgroup_common_equals_meta_regression_with_factor() -> None:
    ds = REF["data"]["bcg"]
    res = subgroup_analysis(ds["yi"], ds["vi"], ds["alloc"], tau2="common")
    mr = meta_regression(ds["yi"], ds["vi"], pd.DataFrame({"alloc": ds["alloc"]}))
    assert res.q_between == pytest.approx(mr.qm, rel=1e-12)
    assert res.tau2[0] == pytest.approx(mr.tau2, rel=1e-12)
    frame = res.summary_frame()
    assert list(frame.columns[:5]) == ["estimate", "se", "ci_low", "ci_high", "weight"]
    assert list(frame.index) == ["alternate", "random", "systematic"]


def test_subgroup_of_one_study_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"Subgroup 'b' has a single study \(study 2 \('Lee 2010'\)\).*Merge it"):
        subgroup_analysis([0.1, 0.2, 0.3, 0.4], [0.1] * 4, ["a", "a", "b", "c"],
                          labels=["A", "B", "Lee 2010", "D"])
    with pytest.raises(ValueError, match=r"Subgroup 'c' has a single study"):
        subgroup_analysis([0.1, 0.2, 0.3, 0.4, 0.5], [0.1] * 5, ["a", "a", "b", "b", "c"], tau2="common")


def test_subgroup_bad_input() -> None:
    with pytest.raises(ValueError, match=r"groups has the single subgroup 'a'"):
        subgroup_analysis([0.1, 0.2, 0.3], [0.1] * 3, ["a", "a", "a"])
    with pytest.raises(ValueError, match=r"groups is missing at study 1"):
        subgroup_analysis([0.1, 0.2, 0.3], [0.1] * 3, ["a", None, "b"])
    with pytest.raises(ValueError, match=r"tau2='shared' is not a known option; allowed are 'separate', 'common'"):
        subgroup_analysis([0.1, 0.2, 0.3, 0.4], [0.1] * 4, ["a", "a", "b", "b"], tau2="shared")
    with pytest.raises(ValueError, match=r"groups has 3 entries but there are 4 studies"):
        subgroup_analysis([0.1, 0.2, 0.3, 0.4], [0.1] * 4, ["a", "a", "b"])


def test_compare_odds_ratios_labels_must_be_a_pair() -> None:
    with pytest.raises(ValueError, match=r"labels='ab' must name the two odds ratios"):
        compare_odds_ratios(2.0, 1.0, se1=0.2, se2=0.15, labels="ab")


def test_subgroup_q_between_is_cochrans_q_of_the_subgroup_estimates() -> None:
    """Borenstein et al. (2009) ch. 19: Q_between = sum (b_g - b_w)^2 / s_g^2, by hand."""
    res = subgroup_analysis([0.1, 0.3, 0.5, 1.2, 0.9, 1.1], [0.01, 0.02, 0.04, 0.05, 0.02, 0.03],
                            ["a", "a", "a", "b", "b", "b"], method="DL")
    w = 1 / res.se**2
    bw = (w * res.estimate).sum() / w.sum()
    assert res.q_between == pytest.approx(float((w * (res.estimate - bw) ** 2).sum()), rel=1e-12)
    assert res.q_between_pvalue == pytest.approx(stats.chi2.sf(res.q_between, 1), rel=1e-12)
