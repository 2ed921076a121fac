"""Results know their scale: the measure, its back-transformation, the natural-scale summary and plots."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from conftest import load_reference

import evidence
from evidence import plots
from evidence._results import natural_scale
from evidence.datasets import load_dataset

matplotlib.use("Agg")

REF = load_reference("metafor_escalc.json")["landenberger"]


@pytest.fixture(scope="module")
def es():
    studies = load_dataset("landenberger2005")
    return evidence.escalc("OR", studies, labels="study", events_exposed="n.cbt.non", nonevents_exposed="n.cbt.rec",
                           events_unexposed="n.ctrl.non", nonevents_unexposed="n.ctrl.rec")


@pytest.fixture(scope="module")
def res(es):
    return evidence.meta_analysis(data=es, method="REML", test="knha")


def test_result_takes_the_measure_of_the_frame(res) -> None:
    assert res.measure == "OR"
    assert res.estimate == pytest.approx(REF["estimate"], rel=1e-6)  # fields stay on the analysis scale


def test_summary_reads_like_a_paper(res) -> None:
    assert res.summary().splitlines()[0] == "OR 1.53 (95% CI 1.35 to 1.72), τ² = 0.105, I² = 71%, 58 studies"


def test_summary_frame_natural_scale_by_default(res) -> None:
    nat = res.summary_frame()
    log = res.summary_frame(transform=None)
    assert nat.attrs["transform"] == "exp" and log.attrs["transform"] is None
    assert nat.loc["pooled", "estimate"] == pytest.approx(np.exp(REF["estimate"]), rel=1e-6)
    assert nat.loc["pooled", "ci_low"] == pytest.approx(np.exp(REF["ci_low"]), rel=1e-6)
    assert np.isnan(nat.loc["pooled", "se"])
    assert log.loc["pooled", "estimate"] == pytest.approx(REF["estimate"], rel=1e-6)
    assert log.loc["pooled", "se"] == pytest.approx(REF["se"], rel=1e-6)


def test_no_measure_means_no_transform() -> None:
    r = evidence.meta_analysis([0.1, 0.3, 0.5], [0.01, 0.02, 0.04], method="DL")
    assert r.measure is None
    assert r.summary_frame().loc["pooled", "estimate"] == pytest.approx(r.estimate)
    assert r.summary().startswith("Estimate 0.25 (95% CI")
    p = plots.forest(r)
    assert p.ax.get_xscale() == "linear" and p.ax.get_xlabel() == "Estimate"


def test_explicit_measure_overrides_the_frame(es) -> None:
    r = evidence.meta_analysis(data=es, method="DL", measure="GEN")
    assert r.measure == "GEN" and r.summary_frame().attrs["transform"] is None
    with pytest.raises(ValueError, match="measure='ODDS'.*OR"):
        evidence.meta_analysis(data=es, measure="ODDS")


@pytest.mark.parametrize(("measure", "transform", "value"), [
    ("ZCOR", "tanh", np.tanh(0.3)), ("PLO", "ilogit", 1 / (1 + np.exp(-0.3))), ("RR", "exp", np.exp(0.3)),
    ("MD", None, 0.3), ("SMD", None, 0.3)])
def test_each_measure_back_transforms(measure: str, transform: str | None, value: float) -> None:
    assert natural_scale(measure)[0] == transform
    r = evidence.meta_analysis([0.3, 0.3], [0.01, 0.02], method="FE", measure=measure)
    assert r.summary_frame().loc["pooled", "estimate"] == pytest.approx(value, rel=1e-12)


def test_forest_and_funnel_default_to_the_natural_scale(res) -> None:
    import matplotlib.pyplot as plt

    f = plots.forest(res)
    assert f.ax.get_xscale() == "log" and f.ax.get_xlabel() == "Odds ratio (log scale)"
    overall = f.data[f.data["kind"] == "overall"].iloc[0]
    assert overall["estimate"] == pytest.approx(np.exp(REF["estimate"]), rel=1e-6)
    g = plots.forest(res, ratio_scale=False)
    assert g.ax.get_xscale() == "linear"
    assert g.data[g.data["kind"] == "overall"].iloc[0]["estimate"] == pytest.approx(REF["estimate"], rel=1e-6)
    fu = plots.funnel(res)
    assert fu.ax.get_xlabel() == "Odds ratio (log scale)"
    assert np.allclose(fu.data["x"], np.exp(res.yi))
    plt.close("all")


def test_2x2_result_headline() -> None:
    r = evidence.meta_analysis_2x2([12, 8, 20], [100, 60, 150], [6, 5, 9], [100, 70, 140])
    assert r.measure == "OR"
    assert r.headline() == (f"OR {r.estimate:.2f} (95% CI {r.ci_low:.2f} to {r.ci_high:.2f}), "
                            f"I² = {r.i2:.0f}%, 3 studies")


# ---------------------------------------------------------------------------
# Toolkit functions take a fitted result
# ---------------------------------------------------------------------------

Y = np.array([0.1, 0.3, 0.5, 1.2, -0.2, 0.4])
V = np.array([0.01, 0.02, 0.04, 0.05, 0.03, 0.02])
LABS = ["A", "B", "C", "D", "E", "F"]


@pytest.fixture(scope="module")
def fit():
    return evidence.meta_analysis(Y, V, method="DL", test="knha", alpha=0.1, labels=LABS)


@pytest.mark.parametrize("name", ["leave_one_out", "influence", "baujat", "trim_and_fill", "egger_test", "funnel_data"])
def test_toolkit_reuses_the_model(fit, name: str) -> None:
    fn = getattr(evidence, name) if hasattr(evidence, name) else getattr(evidence.small_study, name)
    import inspect

    from evidence._results import REUSED_OPTIONS

    params = inspect.signature(fn).parameters
    opts = {n: getattr(fit, n) for n in REUSED_OPTIONS if n in params}
    assert opts.get("method") == "DL"
    ours, theirs = fn(fit), fn(Y, V, **opts)
    a, b = ours.summary_frame(), theirs.summary_frame()
    assert list(a.index) == list(b.index)
    np.testing.assert_array_equal(a.select_dtypes("number").to_numpy(), b.select_dtypes("number").to_numpy())


def test_explicit_arguments_override(fit) -> None:
    loo = evidence.leave_one_out(fit, method="REML", test="z")
    ref = evidence.leave_one_out(Y, V, method="REML", test="z", alpha=0.1, labels=LABS)
    np.testing.assert_array_equal(loo.estimate, ref.estimate)
    np.testing.assert_array_equal(loo.ci_low, ref.ci_low)
    assert not np.array_equal(loo.estimate, evidence.leave_one_out(fit).estimate)


def test_egger_leave_one_out_on_the_landenberger_result(res) -> None:
    egger = evidence.egger_test(res)
    assert egger.statistic == pytest.approx(REF["egger_statistic"], rel=1e-6)
    loo = evidence.leave_one_out(res)
    np.testing.assert_allclose(loo.estimate, REF["loo_estimate"], rtol=1e-6)
    assert list(loo.summary_frame().index)[0] == res.labels[0]


def test_positional_arguments_after_the_result(fit) -> None:
    groups = ["x", "x", "x", "y", "y", "y"]
    sub = evidence.subgroup_analysis(fit, groups)
    ref = evidence.subgroup_analysis(Y, V, groups, method="DL", test="knha", alpha=0.1, labels=LABS)
    np.testing.assert_array_equal(sub.summary_frame()["estimate"], ref.summary_frame()["estimate"])
    mods = np.array([[1.0], [2.0], [3.0], [4.0], [5.0], [7.0]])
    reg = evidence.meta_regression(fit, mods)
    np.testing.assert_array_equal(reg.estimate, evidence.meta_regression(Y, V, mods, method="DL", test="knha",
                                                                           alpha=0.1).estimate)


def test_cumulative_begg_pet_peese_gosh_take_a_result(fit) -> None:
    import pandas as pd

    cum = evidence.cumulative(fit)
    ref = evidence.cumulative(pd.DataFrame({"yi": Y, "vi": V, "s": LABS}), labels="s", method="DL", test="knha",
                              alpha=0.1)
    np.testing.assert_array_equal(cum.estimate, ref.estimate)
    from evidence.exceptions import DataWarning

    with pytest.warns(DataWarning, match="ties") as rec:  # Y has tied standardized estimates
        assert evidence.begg_test(fit).p_value == evidence.begg_test(Y, V).p_value
    assert all(w.filename == __file__ for w in rec)  # the warning points at the caller's line
    assert evidence.pet_peese(fit).summary_frame().equals(evidence.pet_peese(Y, V, alpha=0.1).summary_frame())
    g = evidence.gosh(fit, progress=False)
    np.testing.assert_array_equal(g.estimate, evidence.gosh(Y, V, method="DL", alpha=0.1, progress=False).estimate)


def test_2x2_mantel_haenszel_result_is_refused_where_a_tau2_method_is_needed() -> None:
    r = evidence.meta_analysis_2x2([12, 8, 20, 5], [100, 60, 150, 50], [6, 5, 9, 4], [100, 70, 140, 50])
    with pytest.raises(ValueError, match=r"leave_one_out.*'MH'.*method="):
        evidence.leave_one_out(r)
    loo = evidence.leave_one_out(r, method="FE")
    np.testing.assert_array_equal(loo.estimate, evidence.leave_one_out(r.yi, r.vi, method="FE", test="z",
                                                                        labels=list(r.labels)).estimate)
    assert evidence.begg_test(r).p_value == evidence.begg_test(r.yi, r.vi).p_value  # needs no tau^2 method


def test_meta_regression_and_subgroups_carry_the_measure(res, es) -> None:
    mod = evidence.meta_regression(res, es[["sessions"]])
    assert mod.measure == "OR"
    frame = mod.summary_frame()
    np.testing.assert_allclose(frame["estimate"], np.exp(REF["moderator_estimate"]), rtol=1e-6)
    np.testing.assert_allclose(mod.summary_frame(transform=None)["se"], REF["moderator_se"], rtol=1e-6)
    z = evidence.meta_regression([0.1, 0.3, 0.5, 0.2], [0.01, 0.02, 0.04, 0.02], [[1.0], [2.0], [3.0], [5.0]],
                                 measure="ZCOR")
    assert z.summary_frame().attrs["transform"] is None  # tanh of a slope has no meaning
    sub = evidence.subgroup_analysis(res, np.where(es["sessions"] > 2, "many", "few"))
    assert sub.measure == "OR"
    np.testing.assert_allclose(sub.summary_frame()["estimate"], np.exp(sub.estimate), rtol=1e-14)


def test_measure_explicit_overrides_the_result(fit) -> None:
    assert evidence.subgroup_analysis(fit, ["x"] * 3 + ["y"] * 3, measure="RR").measure == "RR"
