"""evidence.escalc and evidence.conversions: pinned to metafor's escalc, hand-worked cases, errors.

The reference file tests/reference/metafor_escalc.json is written by tests/r/escalc_reference.R
(every case keeps its input columns, the R call and the Python arguments that must agree).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import R_DIR, REFERENCE_DIR, load_reference, run_r
from test_reference_regeneration import _differences

import evidence
from evidence import conversions
from evidence.exceptions import ZeroCellWarning
from evidence.measures import back_transform, convert, escalc, stack

REFERENCE = load_reference("metafor_escalc.json")
#: Closed-form formulas on both sides: agreement to round-off.
RTOL = 1e-10
ATOL = 1e-12
#: The grid's size; it may grow but must not shrink quietly.
N_CASES = 36
N_CONVERSIONS = 10
MEASURES_PINNED = {"OR", "RR", "RD", "PETO", "OR2DL", "OR2DN", "SMD", "MD", "ROM", "D2ORL", "D2ORN",
                   "COR", "ZCOR", "PR", "PLO", "PAS", "PFT", "IRR", "IRD", "GEN"}


def test_grid_size_and_provenance() -> None:
    assert len(REFERENCE["cases"]) == N_CASES
    assert len(REFERENCE["conversions"]) == N_CONVERSIONS
    assert {c["python"]["measure"] for c in REFERENCE["cases"]} == MEASURES_PINNED
    assert REFERENCE["metafor_version"] == "3.8.1"
    assert all("escalc(" in c["call"] for c in REFERENCE["cases"])


def _run_case(case: dict[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(case["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning other than a double-zero exclusion is a failure
        warnings.filterwarnings("ignore", category=ZeroCellWarning)
        return escalc(data=df, **case["python"])


@pytest.mark.parametrize("case", REFERENCE["cases"], ids=[c["name"] for c in REFERENCE["cases"]])
def test_escalc_equals_metafor(case: dict[str, Any]) -> None:
    out = _run_case(case)
    ref_y = np.array([np.nan if v is None else v for v in case["yi"]], dtype=float)
    ref_v = np.array([np.nan if v is None else v for v in case["vi"]], dtype=float)
    np.testing.assert_allclose(out["yi"].to_numpy(), ref_y, rtol=RTOL, atol=ATOL, equal_nan=True)
    np.testing.assert_allclose(out["vi"].to_numpy(), ref_v, rtol=RTOL, atol=ATOL, equal_nan=True)
    assert (out["measure"] == case["python"]["measure"]).all()
    assert out.attrs["measure"] == case["python"]["measure"]
    assert list(out.columns[: len(case["data"])]) == list(case["data"])  # the inputs are kept, in order


def test_double_zero_exclusion_is_announced_with_labels() -> None:
    case = next(c for c in REFERENCE["cases"] if c["name"] == "hahn_OR_drop00")
    with pytest.warns(ZeroCellWarning, match="'Banhladesh 1996a', 'India 1984a', 'Panama 1982'"):
        out = escalc(data=pd.DataFrame(case["data"]), **case["python"])
    assert out.attrs["excluded"] == ("Banhladesh 1996a", "India 1984a", "Panama 1982")
    assert "USA 1982" in out.attrs["corrected"] and "CHOICE 2001" not in out.attrs["corrected"]
    assert out.attrs["correction"] == "add_if_zero" and out.attrs["double_zero"] == "exclude"


CONVERTERS = {name: getattr(conversions, name) for name in
              ("d_to_r", "r_to_d", "d_to_log_or", "log_or_to_d", "d_from_t", "t_from_f", "r_from_t", "r_from_chi2")}


@pytest.mark.parametrize("conv", REFERENCE["conversions"], ids=[c["name"] for c in REFERENCE["conversions"]])
def test_conversions_equal_metafor(conv: dict[str, Any]) -> None:
    inputs = dict(conv["inputs"])
    method = inputs.pop("method", None)
    kwargs = {"method": method} if method else {}
    got = CONVERTERS[conv["fun"]](**inputs, **kwargs)
    np.testing.assert_allclose(got.estimate, conv["expected"]["estimate"], rtol=RTOL, atol=ATOL)
    if "variance" in conv["expected"]:
        np.testing.assert_allclose(got.variance, conv["expected"]["variance"], rtol=RTOL, atol=ATOL)
    else:
        assert got.variance is None


def test_every_conversion_function_is_pinned() -> None:
    assert {c["fun"] for c in REFERENCE["conversions"]} == set(CONVERTERS)


# --------------------------------------------------------------------------- hand-worked cases


def test_four_cells_and_totals_give_the_same_frame() -> None:
    cells = escalc("OR", events_exposed=[15], nonevents_exposed=[8], events_unexposed=[48], nonevents_unexposed=[179])
    totals = escalc("OR", events_exposed=[15], n_exposed=[23], events_unexposed=[48], n_unexposed=[227])
    assert cells["yi"].iloc[0] == pytest.approx(math.log(15 * 179 / (8 * 48)), rel=1e-14)
    assert cells["vi"].iloc[0] == pytest.approx(1 / 15 + 1 / 8 + 1 / 48 + 1 / 179, rel=1e-14)
    assert cells["yi"].iloc[0] == totals["yi"].iloc[0]


def test_hedges_g_small_sample_by_hand() -> None:
    # n1 = n2 = 5, means 1 and 0, SDs 1: d = 1, m = 8, J = Gamma(4) / (sqrt(4) Gamma(3.5)) = 0.9027...
    out = escalc("SMD", mean_exposed=[1.0], sd_exposed=[1.0], n_exposed=[5], mean_unexposed=[0.0],
                 sd_unexposed=[1.0], n_unexposed=[5])
    j = math.gamma(4) / (2 * math.gamma(3.5))
    assert out["yi"].iloc[0] == pytest.approx(j, rel=1e-13)
    assert out["vi"].iloc[0] == pytest.approx(0.4 + j**2 / 20, rel=1e-13)


def test_generic_ci_at_any_level_recovers_the_se() -> None:
    se = 0.3
    lo, hi = math.exp(0.5 - 2.5758293035489 * se), math.exp(0.5 + 2.5758293035489 * se)
    out = escalc("OR", estimate=[math.exp(0.5)], ci_low=[lo], ci_high=[hi], alpha=0.01)
    assert out["yi"].iloc[0] == pytest.approx(0.5, rel=1e-13)
    assert out["vi"].iloc[0] == pytest.approx(se**2, rel=1e-9)
    assert out.attrs["alpha"] == 0.01 and out.attrs["back_transform"] == "exp"


def test_back_transforms() -> None:
    assert back_transform("ZCOR")(np.arctanh(0.3)) == pytest.approx(0.3)
    assert back_transform("PLO")(0.0) == 0.5
    assert back_transform("PAS")(np.arcsin(np.sqrt(0.2))) == pytest.approx(0.2)
    assert back_transform("SMD")(0.4) == 0.4


def test_labels_from_a_sequence_and_arrays_without_a_frame() -> None:
    out = escalc("COR", r=[0.1, 0.2], n=[50, 60], labels=["a", "b"])
    assert list(out["study"]) == ["a", "b"] and out.attrs["labels"] == "study"
    assert list(out.columns) == ["study", "r", "n", "yi", "vi", "measure"]


def test_single_proportion_correction_is_echoed() -> None:
    out = escalc("PLO", events=[0, 5], n=[10, 10], labels=["zero", "half"])
    assert out.attrs["corrected"] == ("zero",)
    assert out["yi"].iloc[0] == pytest.approx(math.log(0.5 / 10.5))
    with pytest.raises(ValueError, match=r"column 'events' \(events=\)|events has the value 0.0 at row 'zero'"):
        escalc("PLO", events=[0, 5], n=[10, 10], labels=["zero", "half"], correction="none")


# --------------------------------------------------------------------------------- errors


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"study": ["Farrington 1990", "Murray 2005"], "m1": [10.0, 12.0], "sd1": [2.0, 3.0],
                         "n1": [20, 30], "m2": [9.0, 11.0], "sd2": [2.5, 3.5], "n2": [22, 31]})


MEANS = {"mean_exposed": "m1", "sd_exposed": "sd1", "n_exposed": "n1", "mean_unexposed": "m2",
         "sd_unexposed": "sd2", "n_unexposed": "n2", "labels": "study"}


def test_missing_column_is_named() -> None:
    with pytest.raises(ValueError, match=r"data has no column 'sd_1' \(given as sd_exposed='sd_1'\); its columns"):
        escalc("SMD", _frame(), **{**MEANS, "sd_exposed": "sd_1"})


def test_negative_sd_names_column_row_and_value() -> None:
    df = _frame()
    df.loc[1, "sd2"] = -3.5
    with pytest.raises(ValueError, match=r"column 'sd2' \(sd_unexposed=\) has the value -3.5 at row 'Murray 2005'"):
        escalc("SMD", df, **MEANS)


def test_proportion_outside_0_1_names_column_row_and_value() -> None:
    df = pd.DataFrame({"site": ["Leeds", "York"], "x": [3, 12], "n": [10, 10]})
    with pytest.raises(ValueError, match=r"column 'x' \(events=\) has the value 12.0 at row 'York'; events must"):
        escalc("PR", df, events="x", n="n", labels="site")
    with pytest.raises(ValueError, match=r"column 'p' \(estimate=\) has the value 1.2 at row 'York'"):
        escalc("PLO", pd.DataFrame({"site": ["Leeds", "York"], "p": [0.3, 1.2], "se": [0.1, 0.1]}),
               estimate="p", se="se", labels="site")


def test_correlation_outside_minus1_1_names_column_row_and_value() -> None:
    df = pd.DataFrame({"study": ["A", "B"], "r": [0.2, -1.0], "n": [40, 50]})
    with pytest.raises(ValueError, match=r"column 'r' \(r=\) has the value -1.0 at row 'B'; a correlation"):
        escalc("ZCOR", df, r="r", n="n", labels="study")


def test_se_with_no_estimate() -> None:
    df = pd.DataFrame({"study": ["A", "B"], "se": [0.2, 0.3]})
    with pytest.raises(ValueError, match=r"column 'se' \(se=\) has the value 0.2 at row 'A'; it was given with no "
                                         r"estimate"):
        escalc("OR", df, se="se", labels="study")
    df["or"] = [1.5, np.nan]
    with pytest.raises(ValueError, match=r"column 'or' \(estimate=\) has the value nan at row 'B'"):
        escalc("OR", df, estimate="or", se="se", labels="study")


def test_non_numeric_cell_and_bad_counts() -> None:
    df = pd.DataFrame({"e1": [3, "n/a"], "n1": [10, 10], "e2": [2, 2], "n2": [10, 10]}, index=["A", "B"])
    args = {"events_exposed": "e1", "n_exposed": "n1", "events_unexposed": "e2", "n_unexposed": "n2"}
    with pytest.raises(ValueError, match=r"column 'e1' \(events_exposed=\) has the value 'n/a' at row 'B'"):
        escalc("OR", df, **args)
    df["e1"] = [3, 11]
    with pytest.raises(ValueError, match=r"has the value 11.0 at row 'B'; events must not exceed n_exposed"):
        escalc("OR", df, **args)
    df["e1"] = [3, 2.5]
    with pytest.raises(ValueError, match=r"has the value 2.5 at row 'B'; counts must be whole"):
        escalc("OR", df, **args)


def test_zero_cell_without_correction_names_the_row() -> None:
    with pytest.raises(ValueError, match=r"at row 'Study 2'; this table has a zero cell"):
        escalc("OR", events_exposed=[3, 0], n_exposed=[10, 10], events_unexposed=[2, 2], n_unexposed=[10, 10],
               correction="none")


def test_option_and_input_errors() -> None:
    with pytest.raises(ValueError, match="measure='or' is not a known option.*Did you mean 'OR'"):
        escalc("or", r=[0.1], n=[10])
    with pytest.raises(TypeError, match="unknown input"):
        escalc("COR", r=[0.1], n=[10], ni=[10])
    with pytest.raises(ValueError, match="data already has the column"):
        escalc("COR", pd.DataFrame({"r": [0.1], "n": [10], "yi": [0.0]}), r="r", n="n")
    with pytest.raises(ValueError, match="exactly one of se, ci_low and ci_high, or p_value; got se, p_value"):
        escalc("GEN", estimate=[0.1], se=[0.1], p_value=[0.2])
    with pytest.raises(ValueError, match="Give exactly one of n_exposed"):
        escalc("RR", events_exposed=[1], events_unexposed=[1], n_unexposed=[3])


def test_conversion_errors() -> None:
    with pytest.raises(ValueError, match="r has the value 1 at position 0"):
        conversions.r_to_d(1.0, 10, 10)
    with pytest.raises(ValueError, match="sign has the value 0"):
        conversions.t_from_f(4.0, sign=0)
    with pytest.raises(ValueError, match="method='probitt' is not a known option"):
        conversions.d_to_log_or(0.3, method="probitt")


@pytest.mark.r
def test_regenerated_reference_equals_committed(requires_r: str, tmp_path: Path) -> None:
    out = tmp_path / "metafor_escalc.json"
    run_r(R_DIR / "escalc_reference.R", str(out), timeout=300)
    new = json.loads(out.read_text(encoding="utf-8"))
    old = json.loads((REFERENCE_DIR / "metafor_escalc.json").read_text(encoding="utf-8"))
    assert len(new["cases"]) == N_CASES
    diffs = _differences(new, old)
    assert not diffs, "\n".join(diffs[:25])


# ------------------------------------------------------------------- fitting from a frame


def test_meta_analysis_from_a_frame_equals_arrays() -> None:
    case = next(c for c in REFERENCE["cases"] if c["name"] == "bcg_OR")
    es = escalc(data=pd.DataFrame(case["data"]), **case["python"])
    from_frame = evidence.meta_analysis(data=es, method="REML", test="knha")
    from_arrays = evidence.meta_analysis(es["yi"].to_numpy(), es["vi"].to_numpy(), method="REML", test="knha")
    assert from_frame.estimate == from_arrays.estimate and from_frame.se == from_arrays.se
    assert list(from_frame.labels) == list(es["author"])  # the frame's label column, by default
    renamed = es.rename(columns={"yi": "logor", "vi": "v"})
    assert evidence.meta_analysis("logor", "v", data=renamed, labels="year").labels[0] == "1948"


def test_meta_analysis_from_a_frame_leaves_out_excluded_rows_only() -> None:
    case = next(c for c in REFERENCE["cases"] if c["name"] == "hahn_OR_drop00")
    with pytest.warns(ZeroCellWarning):
        es = escalc(data=pd.DataFrame(case["data"]), **case["python"])
    res = evidence.meta_analysis(data=es)
    assert len(res.yi) == 9 and "India 1984a" not in res.labels
    broken = es.copy()
    broken.loc[0, "vi"] = np.nan
    with pytest.raises(ValueError, match=r"column 'vi' \(vi=\) has the value nan at row 'Banhladesh 1995a'"):
        evidence.meta_analysis(data=broken)
    with pytest.raises(ValueError, match="data has no column 'y'"):
        evidence.meta_analysis("y", data=es)
    with pytest.raises(TypeError, match="names a column, but no data frame was given"):
        evidence.meta_analysis("yi", "vi")
    plain = pd.DataFrame({"yi": [0.1, 0.3], "vi": [0.01, 0.02]})
    assert list(evidence.meta_analysis(data=plain).labels) == ["Study 1", "Study 2"]


def test_generic_estimates_are_checked_on_their_natural_scale() -> None:
    with pytest.raises(ValueError, match=r"column 'p' \(estimate=\) has the value 1.3 at row 'B'; a proportion must"):
        escalc("PR", pd.DataFrame({"p": [0.2, 1.3], "se": [0.1, 0.1]}, index=["A", "B"]), estimate="p", se="se")
    with pytest.raises(ValueError, match=r"ci_low has the value -0.2 at row 'Study 1'; a ratio must be > 0"):
        escalc("RR", estimate=[0.8], ci_low=[-0.2], ci_high=[1.5])
    with pytest.raises(ValueError, match=r"estimate has the value 0.9 at row 'Study 1'; the estimate must lie"):
        escalc("GEN", estimate=[0.9], ci_low=[0.1], ci_high=[0.5])
    with pytest.raises(ValueError, match="needs estimate= with one of se"):
        escalc("GEN", pd.DataFrame({"study": ["A"]}), labels="study")
    z = escalc("ZCOR", estimate=[0.3], se=[0.1])
    assert z["yi"].iloc[0] == pytest.approx(np.arctanh(0.3)) and z["vi"].iloc[0] == pytest.approx(0.01)


@pytest.mark.parametrize("correction", ["none", "add_if_zero", "add_all", "treatment_arm"])
def test_two_by_two_follows_effect_sizes_zero_cell_options(correction: str) -> None:
    # the zero-cell handling is evidence.effect_sizes' own: same numbers for every correction
    a, n1, c, n2 = [2, 1, 5, 0], [20, 30, 25, 12], [4, 0, 5, 3], [22, 28, 25, 10]
    if correction == "none":
        a, c = [2, 1, 5, 1], [4, 2, 5, 3]
    ours = escalc("OR", events_exposed=a, n_exposed=n1, events_unexposed=c, n_unexposed=n2, correction=correction)
    theirs = evidence.log_odds_ratios(a, n1, c, n2, correction=correction)
    np.testing.assert_array_equal(ours["yi"], theirs.yi)
    np.testing.assert_array_equal(ours["vi"], theirs.vi)
    assert ours.attrs["corrected"] == tuple(f"Study {i + 1}" for i in np.flatnonzero(theirs.corrected))


# ------------------------------------------------------------- converting and stacking frames


@pytest.mark.parametrize(("measure", "method"), [("OR2DL", "logistic"), ("OR2DN", "probit")])
def test_convert_or_frame_to_smd_equals_metafor(measure: str, method: str) -> None:
    ors = _run_case(next(c for c in REFERENCE["cases"] if c["name"] == "bcg_OR"))
    ref = next(c for c in REFERENCE["cases"] if c["name"] == f"bcg_{measure}")
    d = convert(ors, "SMD", method=method)
    np.testing.assert_allclose(d["yi"], ref["yi"], rtol=RTOL)
    np.testing.assert_allclose(d["vi"], ref["vi"], rtol=RTOL)
    assert d.attrs["measure"] == "SMD" and d.attrs["converted_from"] == "OR" and (d["converted_from"] == "OR").all()
    back = convert(d, "OR", method=method)
    np.testing.assert_allclose(back["yi"], ors["yi"], rtol=1e-12)
    np.testing.assert_allclose(back["vi"], ors["vi"], rtol=1e-12)


def test_convert_correlations_needs_group_sizes_and_round_trips() -> None:
    df = pd.DataFrame({"study": ["A", "B"], "r": [0.2, -0.1], "n": [60, 80], "n1": [30, 50], "n2": [30, 30]})
    cor = escalc("COR", df, r="r", n="n", labels="study")
    with pytest.raises(ValueError, match="needs the group sizes"):
        convert(cor, "SMD")
    d = convert(cor, "SMD", n_exposed="n1", n_unexposed="n2")
    back = convert(d, "COR", n_exposed="n1", n_unexposed="n2")
    np.testing.assert_allclose(back["yi"], cor["yi"], rtol=1e-12)
    np.testing.assert_allclose(back["vi"], cor["vi"], rtol=1e-12)
    with pytest.raises(ValueError, match="Cannot convert measure 'COR' to to='OR'"):
        convert(cor, "OR")


def test_stack_mixes_counts_and_converted_means_for_pooling() -> None:
    counts = escalc("OR", events_exposed=[15, 0], n_exposed=[23, 10], events_unexposed=[48, 3], n_unexposed=[227, 12],
                    labels=["Cambridge", "Small"])
    means = convert(escalc("SMD", smd=[0.5, 0.3], n_exposed=[40, 60], n_unexposed=[40, 55], labels=["T1", "T2"]), "OR")
    both = stack([counts, means])
    assert list(both["study"]) == ["Cambridge", "Small", "T1", "T2"]
    assert both.attrs["measure"] == "OR" and both.attrs["corrected"] == ("Small",)
    assert both.attrs["correction"] is None  # the frames differ: counts were corrected, converted means not
    res = evidence.meta_analysis(data=both)
    assert res.labels == ("Cambridge", "Small", "T1", "T2")
    with pytest.raises(ValueError, match="stack frames of one measure"):
        stack([counts, escalc("SMD", smd=[0.5], n_exposed=[40], n_unexposed=[40])])


def test_incidence_rates_double_zero_and_correction() -> None:
    with pytest.warns(ZeroCellWarning, match="'B'"):
        out = escalc("IRR", events_exposed=[3, 0, 0], time_exposed=[100.0, 80.0, 50.0], events_unexposed=[6, 0, 2],
                     time_unexposed=[120.0, 90.0, 40.0], labels=["A", "B", "C"])
    assert np.isnan(out["yi"].iloc[1]) and out.attrs["excluded"] == ("B",) and out.attrs["corrected"] == ("C",)
    assert out["yi"].iloc[2] == pytest.approx(np.log(0.5 / 50) - np.log(2.5 / 40))
    assert out["vi"].iloc[2] == pytest.approx(1 / 0.5 + 1 / 2.5)
    with pytest.raises(ValueError, match=r"time_exposed has the value 0.0 at row 'A'; person-time must be > 0"):
        escalc("IRD", events_exposed=[1], time_exposed=[0.0], events_unexposed=[1], time_unexposed=[10.0],
               labels=["A"])


def test_hazard_ratio_from_a_printed_interval() -> None:
    # time to reconviction: HR 0.80 (95% CI 0.64 to 1.00) -> log HR and its SE from the interval's log width
    out = escalc("HR", estimate=[0.80], ci_low=[0.64], ci_high=[1.00], labels=["Trial"])
    assert out["yi"].iloc[0] == pytest.approx(np.log(0.8), rel=1e-14)
    assert out["vi"].iloc[0] == pytest.approx((np.log(1.0 / 0.64) / (2 * 1.959963984540054)) ** 2, rel=1e-12)
    assert out.attrs["back_transform"] == "exp" and out.attrs["alpha"] == 0.05
    with pytest.raises(ValueError, match="needs estimate= with one of se"):
        escalc("HR", pd.DataFrame({"study": ["A"]}), labels="study")


def test_inputs_the_measure_does_not_use_are_refused() -> None:
    with pytest.raises(ValueError, match=r"measure='HR' from an estimate does not use events_exposed, n_exposed, "
                                         r"n_unexposed"):
        escalc("HR", events_exposed=[3], n_exposed=[10], n_unexposed=[10], estimate=[0.8], se=[0.1])
    with pytest.raises(ValueError, match=r"measure='OR' does not use sd_exposed"):
        escalc("OR", events_exposed=[3], n_exposed=[10], events_unexposed=[2], n_unexposed=[10], sd_exposed=[1.0])
    with pytest.raises(ValueError, match=r"measure='SMD' does not use mean_exposed"):
        escalc("SMD", smd=[0.4], mean_exposed=[1.0], n_exposed=[10], n_unexposed=[10])
    with pytest.raises(ValueError, match=r"measure='MD' does not use smd"):
        escalc("MD", smd=[0.4], n_exposed=[10], n_unexposed=[10])


def test_shapes_and_missing_values() -> None:
    df = pd.DataFrame({"r": [0.1, 0.2, 0.3], "n": pd.array([20, None, 40], dtype="Int64")}, index=["A", "B", "C"])
    with pytest.raises(ValueError, match=r"column 'n' \(n=\) has the value nan at row 'B'; a value is needed"):
        escalc("COR", df, r="r", n="n")
    with pytest.raises(ValueError, match="n has 2 entries but there are 3 studies"):
        escalc("COR", df, r="r", n=[10, 20])
    with pytest.raises(ValueError, match="There are no studies"):
        escalc("COR", df.iloc[:0], r="r", n="n")


def test_meta_analysis_2x2_from_a_frame() -> None:
    case = next(c for c in REFERENCE["cases"] if c["name"] == "nielweise_OR")
    df = pd.DataFrame(case["data"])
    cols = {"events_exposed": "ai", "n_exposed": "n1i", "events_unexposed": "ci", "n_unexposed": "n2i"}
    with pytest.warns(ZeroCellWarning):
        from_frame = evidence.meta_analysis_2x2(data=df, labels="author", method="MH", **cols)
    with pytest.warns(ZeroCellWarning):
        from_arrays = evidence.meta_analysis_2x2(df["ai"], df["n1i"], df["ci"], df["n2i"], method="MH")
    assert from_frame.estimate == from_arrays.estimate and from_frame.ci_low == from_arrays.ci_low
    bad = df.assign(ai=df["ai"].where(df.index != 2, 999))
    with pytest.raises(ValueError, match=r"column 'ai' \(events_exposed=\) has the value 999.0 at row 'Maki'"):
        evidence.meta_analysis_2x2(data=bad, labels="author", **cols)
    with pytest.raises(TypeError, match="names a column, but no data frame was given"):
        evidence.meta_analysis_2x2("ai", "n1i", "ci", "n2i")
