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
