"""Tests of evidence.plots: what is drawn, number by number (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from conftest import load_reference  # noqa: E402
from scipy import stats  # noqa: E402

from evidence import meta_analysis, meta_analysis_2x2, plots  # noqa: E402
from evidence.small_study import funnel_data, trim_and_fill  # noqa: E402

Z = stats.norm.isf(0.025)
REF = load_reference("metafor_small_study.json")["datasets"]
BCG_YI = np.asarray(REF["bcg_logor"]["yi"], float)
BCG_VI = np.asarray(REF["bcg_logor"]["vi"], float)
YI = np.array([0.2, 0.5, -0.1, 0.4, 0.9])
VI = np.array([0.04, 0.09, 0.05, 0.02, 0.2])
LABELS = ["A", "B", "C", "D", "E"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def by_gid(ax, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def one(ax, gid: str):
    found = by_gid(ax, gid)
    assert len(found) == 1, f"expected one artist with gid {gid!r}, found {len(found)}"
    return found[0]


def texts(ax, gid: str) -> list[str]:
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


# ----------------------------------------------------------------------------- forest
def test_forest_result_linear_scale() -> None:
    res = meta_analysis(YI, VI, labels=LABELS)
    p = plots.forest(res)
    ax = p.ax
    squares = one(ax, "study_squares").get_offsets()
    assert squares.shape == (5, 2)
    np.testing.assert_allclose(squares[:, 0], YI, rtol=1e-12)
    ys = squares[:, 1]
    assert np.all(np.diff(ys) < 0)  # first study on top
    # whiskers: the Wald CI of every study
    segs = np.array(one(ax, "study_ci").get_segments())
    np.testing.assert_allclose(segs[:, 0, 0], YI - Z * np.sqrt(VI), rtol=1e-12)
    np.testing.assert_allclose(segs[:, 1, 0], YI + Z * np.sqrt(VI), rtol=1e-12)
    np.testing.assert_allclose(segs[:, 0, 1], ys)
    # diamond: left/right vertices = pooled CI, top/bottom at the estimate
    xy = one(ax, "diamond:overall").get_xy()
    np.testing.assert_allclose(xy[:4, 0], [res.ci_low, res.estimate, res.ci_high, res.estimate],
                               rtol=1e-12)
    assert xy[0, 1] == xy[2, 1] and xy[1, 1] > xy[0, 1] > xy[3, 1]
    # prediction interval drawn below the diamond
    pi = np.array(one(ax, "prediction_interval").get_segments())[0]
    np.testing.assert_allclose(pi[:, 0], [res.pi_low, res.pi_high], rtol=1e-12)
    assert pi[0, 1] < xy[0, 1]
    # null line at 0 on a linear axis
    assert list(one(ax, "null_line").get_xdata()) == [0.0, 0.0]
    assert ax.get_xscale() == "linear"
    assert ax.get_xlabel() == "Estimate"
    # square area grows with the weight: (size - 20) proportional to the weight
    sizes = one(ax, "study_squares").get_sizes()
    np.testing.assert_allclose((sizes - 20) / (sizes - 20).max(), res.weights / res.weights.max())
    # text columns
    assert texts(ax, "label:study") == LABELS
    est_txt = texts(ax, "text:estimate")
    assert len(est_txt) == 5 + 2  # studies, overall, prediction
    assert est_txt[0] == f"{YI[0]:.2f} [{YI[0] - Z * np.sqrt(VI[0]):.2f}, {YI[0] + Z * np.sqrt(VI[0]):.2f}]"
    assert texts(ax, "text:weight")[:5] == [f"{w:.1f}%" for w in res.weights]
    assert texts(ax, "header:estimate") == ["Estimate [95% CI]"]
    assert texts(ax, "header:counts") == []  # no counts given
    # the data frame holds what was drawn
    d = p.data
    assert list(d["kind"]) == ["study"] * 5 + ["overall", "prediction"]
    np.testing.assert_allclose(d.loc[d["kind"] == "study", "y"], ys)
    assert p.kind == "forest" and p.alpha == 0.05


def test_forest_ratio_scale_log_axis_and_ticks() -> None:
    res = meta_analysis(BCG_YI, BCG_VI)
    p = plots.forest(res, ratio_scale=True, measure="OR")
    ax = p.ax
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(one(ax, "study_squares").get_offsets()[:, 0], np.exp(BCG_YI),
                               rtol=1e-12)
    xy = one(ax, "diamond:overall").get_xy()
    np.testing.assert_allclose(xy[[0, 1, 2], 0],
                               np.exp([res.ci_low, res.estimate, res.ci_high]), rtol=1e-12)
    assert list(one(ax, "null_line").get_xdata()) == [1.0, 1.0]
    p.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "1" in ticks
    assert all("10^" not in t and "$" not in t for t in ticks)
    assert set(ticks) <= {f"{t:g}" for t in plots.RATIO_TICKS}
    assert ax.get_xlabel() == "OR (log scale)"
    assert texts(ax, "header:estimate") == ["OR [95% CI]"]
    d = p.data
    np.testing.assert_allclose(d.loc[d["kind"] == "study", "estimate"], np.exp(BCG_YI))


def test_forest_2x2_result_on_odds_ratio_scale() -> None:
    a, n1, c, n2 = [12, 5, 30], [100, 80, 200], [6, 4, 18], [110, 75, 190]
    res = meta_analysis_2x2(a, n1, c, n2, method="MH")
    p = plots.forest(res, ratio_scale=True, counts=np.column_stack([a, n1, c, n2]))
    xy = one(p.ax, "diamond:overall").get_xy()
    np.testing.assert_allclose(xy[[0, 1, 2], 0], [res.ci_low, res.estimate, res.ci_high],
                               rtol=1e-10)
    np.testing.assert_allclose(one(p.ax, "study_squares").get_offsets()[:, 0], np.exp(res.yi))
    assert texts(p.ax, "text:counts") == ["12/100 | 6/110", "5/80 | 4/75", "30/200 | 18/190"]
    assert texts(p.ax, "header:counts") == ["Exposed | Unexposed"]
    assert by_gid(p.ax, "prediction_interval") == []  # MH: no tau2, no prediction interval


def test_forest_subgroups_pool_each_group() -> None:
    groups = ["x", "x", "y", "y", "y"]
    res = meta_analysis(YI, VI, labels=LABELS, method="DL")
    p = plots.forest(res, subgroups=groups)
    ax = p.ax
    for g, idx in (("x", [0, 1]), ("y", [2, 3, 4])):
        sub = meta_analysis(YI[idx], VI[idx], method="DL")
        xy = one(ax, f"diamond:subgroup:{g}").get_xy()
        np.testing.assert_allclose(xy[[0, 1, 2], 0], [sub.ci_low, sub.estimate, sub.ci_high],
                                   rtol=1e-12)
    assert len([a for a in ax.patches if str(a.get_gid()).startswith("diamond:")]) == 3
    assert texts(ax, "label:header") == ["x", "y"]
    d = p.data
    assert list(d["kind"]) == ["header", "study", "study", "subgroup", "header", "study", "study",
                               "study", "subgroup", "overall", "prediction"]
    # subgroup headers sit above their studies
    assert d["y"].is_monotonic_decreasing


def test_forest_dataframe_of_reported_odds_ratios() -> None:
    frame = pd.DataFrame({
        "label": ["Murray 2005", "Wildeman 2010", "Pooled"],
        "kind": ["study", "study", "pooled"],
        "estimate": [1.8, 2.4, 2.0], "ci_low": [1.2, 1.5, 1.5], "ci_high": [2.7, 3.8, 2.7],
        "weight": [55.0, 45.0, 100.0],
        "events_exposed": [20, 30, np.nan], "n_exposed": [100, 120, np.nan],
        "events_unexposed": [50, 70, np.nan], "n_unexposed": [400, 500, np.nan],
    })
    p = plots.forest(frame, ratio_scale=True, measure="OR")
    ax = p.ax
    np.testing.assert_allclose(one(ax, "study_squares").get_offsets()[:, 0], [1.8, 2.4])
    segs = np.array(one(ax, "study_ci").get_segments())
    np.testing.assert_allclose(segs[:, :, 0], [[1.2, 2.7], [1.5, 3.8]])
    np.testing.assert_allclose(one(ax, "diamond:overall").get_xy()[[0, 1, 2], 0], [1.5, 2.0, 2.7])
    assert texts(ax, "text:counts") == ["20/100 | 50/400", "30/120 | 70/500"]
    assert texts(ax, "label:study") == ["Murray 2005", "Wildeman 2010"]
    assert texts(ax, "header:estimate") == ["OR [CI]"]  # level unknown for a frame
    assert ax.get_xscale() == "log"


def test_forest_dataframe_with_subgroup_rows() -> None:
    frame = pd.DataFrame({
        "label": ["a1", "a2", "Pooled A", "b1", "Pooled B", "Overall"],
        "kind": ["study", "study", "pooled", "study", "pooled", "pooled"],
        "subgroup": ["A", "A", "A", "B", "B", None],
        "estimate": [1.5, 2.0, 1.7, 0.9, 0.9, 1.3],
        "ci_low": [1.0, 1.2, 1.2, 0.5, 0.5, 1.0],
        "ci_high": [2.2, 3.0, 2.4, 1.6, 1.6, 1.8],
    })
    p = plots.forest(frame, ratio_scale=True)
    assert list(p.data["kind"]) == ["header", "study", "study", "subgroup", "header", "study",
                                    "subgroup", "overall"]
    np.testing.assert_allclose(one(p.ax, "diamond:subgroup:A").get_xy()[[0, 1, 2], 0],
                               [1.2, 1.7, 2.4])
    np.testing.assert_allclose(one(p.ax, "diamond:overall").get_xy()[[0, 1, 2], 0],
                               [1.0, 1.3, 1.8])
    assert texts(p.ax, "label:header") == ["A", "B"]


def test_forest_dataframe_without_pooled_rows_draws_no_diamond() -> None:
    frame = pd.DataFrame({"estimate": [0.1, 0.3], "ci_low": [-0.2, 0.0], "ci_high": [0.4, 0.6]},
                         index=pd.Index(["S1", "S2"], name="study"))
    p = plots.forest(frame)
    assert [a for a in p.ax.patches if str(a.get_gid()).startswith("diamond")] == []
    assert texts(p.ax, "label:study") == ["S1", "S2"]
    assert texts(p.ax, "header:weight") == []  # no weights known


def test_forest_bad_input() -> None:
    frame = pd.DataFrame({"estimate": [-0.5, 0.3], "ci_low": [-0.9, 0.0], "ci_high": [0.1, 0.6]})
    with pytest.raises(ValueError, match=r"estimate=-0.5 at row 0.*not a positive ratio"):
        plots.forest(frame, ratio_scale=True)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['ci_high'\]"):
        plots.forest(frame.drop(columns="ci_high"))
    with pytest.raises(ValueError, match=r"columns='ci'"):
        plots.forest(frame, columns=("ci",))
    res = meta_analysis(YI, VI)
    with pytest.raises(ValueError, match="labels has 2 entries but there are 5 studies"):
        plots.forest(res, labels=["a", "b"])
    with pytest.raises(ValueError, match="subgroups has 1 entries"):
        plots.forest(res, subgroups=["a"])
    with pytest.raises(TypeError, match="meta-analysis result or a DataFrame"):
        plots.forest([1, 2, 3])


def test_forest_draws_on_given_axes() -> None:
    fig, ax = plt.subplots()
    p = plots.forest(meta_analysis(YI, VI), ax=ax)
    assert p.ax is ax and p.figure is fig
    with pytest.raises(AttributeError):
        p.ax = None  # type: ignore[misc]  # frozen


# ----------------------------------------------------------------------------- funnel
def test_funnel_contour_enhanced() -> None:
    res = meta_analysis(BCG_YI, BCG_VI)
    p = plots.funnel(res)
    ax = p.ax
    pts = one(ax, "studies").get_offsets()
    np.testing.assert_allclose(pts[:, 0], BCG_YI)
    np.testing.assert_allclose(pts[:, 1], np.sqrt(BCG_VI))
    fd = funnel_data(BCG_YI, BCG_VI, estimate=res.estimate)
    for j, pval in enumerate(fd.contour_p):
        poly = one(ax, f"contour:{pval:g}").get_xy()
        n = len(fd.se_grid)
        np.testing.assert_allclose(poly[:n, 0], fd.contour_low[j], rtol=1e-12)
        np.testing.assert_allclose(poly[n:2 * n, 0], fd.contour_high[j][::-1], rtol=1e-12)
        np.testing.assert_allclose(poly[:n, 1], fd.se_grid)
    np.testing.assert_allclose(one(ax, "pseudo_ci_low").get_xdata(), fd.pseudo_ci_low)
    np.testing.assert_allclose(one(ax, "pooled_line").get_xdata(), [res.estimate] * 2)
    assert ax.yaxis_inverted()
    assert ax.get_ylim() == (fd.se_grid[0], 0.0)
    assert ax.get_ylabel() == "Standard error"
    assert ax.get_xlabel() == "Estimate"
    assert len(p.data) == len(BCG_YI) and not p.data["filled"].any()
    assert p.arrays["contour_low"].shape == (3, 1000)


def test_funnel_ratio_scale_and_trim_and_fill() -> None:
    yi = np.asarray(REF["bcg_logrr"]["yi"], float)
    vi = np.asarray(REF["bcg_logrr"]["vi"], float)
    tf = trim_and_fill(yi, vi, method="FE")
    assert tf.k0 == 4  # pinned metafor case (FE, L0, side chosen: right)
    p = plots.funnel(tf, ratio_scale=True)
    ax = p.ax
    assert ax.get_xscale() == "log"
    observed = one(ax, "studies").get_offsets()
    filled = one(ax, "filled").get_offsets()
    assert len(observed) == 13 and len(filled) == 4
    np.testing.assert_allclose(filled[:, 0], np.exp(tf.yi[tf.filled]))
    np.testing.assert_allclose(one(ax, "pooled_line").get_xdata(), [np.exp(tf.estimate)] * 2)
    assert p.data["filled"].sum() == 4


def test_funnel_from_arrays_without_contours() -> None:
    p = plots.funnel(YI, VI, contours=False, method="FE")
    assert [a for a in p.ax.get_children() if str(a.get_gid()).startswith("contour:")] == []
    fe = float(np.sum(YI / VI) / np.sum(1 / VI))
    np.testing.assert_allclose(one(p.ax, "pooled_line").get_xdata(), [fe, fe])
    with pytest.raises(TypeError, match="needs vi"):
        plots.funnel(YI)


# ----------------------------------------------------------------------------- L'Abbe
def test_labbe_points_and_curves() -> None:
    a, n1, c, n2 = [10, 5, 30], [50, 40, 100], [4, 6, 20], [52, 45, 100]
    p = plots.labbe(a, n1, c, n2, pooled_or=2.0, labels=["s1", "s2", "s3"])
    ax = p.ax
    pts = one(ax, "studies").get_offsets()
    np.testing.assert_allclose(pts[:, 0], np.array(c) / n2)
    np.testing.assert_allclose(pts[:, 1], np.array(a) / n1)
    np.testing.assert_allclose(one(ax, "equality_line").get_xydata(), [[0, 0], [1, 1]])
    cx, cy = one(ax, "pooled_or_curve").get_data()
    i = int(np.argmin(np.abs(cx - 0.2)))
    assert cy[i] == pytest.approx(2 * 0.2 / (1 - 0.2 + 2 * 0.2))  # odds doubled
    assert ax.get_xlim() == (0.0, 1.0) and ax.get_ylim() == (0.0, 1.0)
    assert ax.get_xlabel() == "Event rate, unexposed"
    assert ax.get_ylabel() == "Event rate, exposed"
    sizes = one(ax, "studies").get_sizes()
    assert sizes.argmax() == 2  # largest study, largest circle
    frame = pd.DataFrame({"events_exposed": a, "n_exposed": n1, "events_unexposed": c,
                          "n_unexposed": n2})
    p2 = plots.labbe(frame)
    np.testing.assert_allclose(p2.data["rate_exposed"], p.data["rate_exposed"])


def test_labbe_bad_counts() -> None:
    with pytest.raises(ValueError, match="events_exposed=12 exceeds n_exposed=10 at study 0"):
        plots.labbe([12], [10], [1], [10])
    with pytest.raises(ValueError, match="pooled_or"):
        plots.labbe([1], [10], [1], [10], pooled_or=-1)


# ----------------------------------------------------------------------------- radial
def test_radial_uses_model_tau2() -> None:
    res = meta_analysis(BCG_YI, BCG_VI, method="REML")
    p = plots.radial(res)
    s = np.sqrt(BCG_VI + res.tau2)
    pts = one(p.ax, "studies").get_offsets()
    np.testing.assert_allclose(pts[:, 0], 1 / s)
    np.testing.assert_allclose(pts[:, 1], BCG_YI / s)
    x, y = one(p.ax, "pooled_line").get_data()
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(res.estimate)
    _, lo = one(p.ax, "band_low").get_data()
    np.testing.assert_allclose(lo, res.estimate * x - Z)
    assert p.ax.get_xlabel().startswith("Precision")


def test_radial_from_arrays_is_common_effect() -> None:
    p = plots.radial(YI, VI)
    np.testing.assert_allclose(p.data["x"], 1 / np.sqrt(VI))
    fe = float(np.sum(YI / VI) / np.sum(1 / VI))
    assert p.arrays["slope"][0] == pytest.approx(fe)


# ----------------------------------------------------------------------------- Baujat, GOSH
def test_baujat_from_sensitivity_result() -> None:
    from evidence.sensitivity import baujat

    b = baujat(BCG_YI, BCG_VI, labels=[f"T{i}" for i in range(13)])
    p = plots.baujat(b)
    pts = one(p.ax, "studies").get_offsets()
    np.testing.assert_allclose(pts[:, 0], b.x)
    np.testing.assert_allclose(pts[:, 1], b.y)
    assert [a.get_text() for a in by_gid(p.ax, "study_label")] == [f"T{i}" for i in range(13)]
    assert p.ax.get_xlabel() == "Contribution to overall heterogeneity"
    assert p.ax.get_ylabel() == "Influence on overall result"


def test_baujat_from_tuple_and_bad_input() -> None:
    p = plots.baujat(([0.5, 3.2], [0.2, 1.5]), annotate=False)
    assert by_gid(p.ax, "study_label") == []
    assert list(p.data["label"]) == ["1", "2"]
    with pytest.raises(ValueError, match="same length"):
        plots.baujat(([0.5, 3.2], [0.2]))


def test_gosh_scatter_and_hexbin() -> None:
    from evidence.sensitivity import gosh

    g = gosh(YI, VI, method="DL", progress=False)
    n = len(g.estimate)
    assert n == 2 ** 5 - 1
    p = plots.gosh(g)
    pts = one(p.ax, "subsets").get_offsets()
    assert len(pts) == n
    np.testing.assert_allclose(pts[:, 0], g.estimate)
    np.testing.assert_allclose(pts[:, 1], g.i2)
    assert p.ax.get_ylabel() == "I² (%)"
    h = plots.gosh((g.estimate, g.i2), kind="hexbin", gridsize=10)
    counts = one(h.ax, "subsets").get_array()
    assert counts.sum() == n  # every subset lands in one hexagon
    with pytest.raises(ValueError, match=r"kind='kde'"):
        plots.gosh(g, kind="kde")


def test_forest_xlim_marks_intervals_that_run_off_the_axis() -> None:
    frame = pd.DataFrame({
        "label": ["wide", "inside", "tiny"],
        "estimate": [7.0, 2.0, 0.5],
        "ci_low": [2.8, 1.5, 0.002],
        "ci_high": [175.0, 2.7, 0.9],
    })
    p = plots.forest(frame, ratio_scale=True, measure="OR", xlim=(0.1, 50))
    assert p.ax.get_xlim() == pytest.approx((0.1, 50))
    assert p.ax.get_xscale() == "log"
    studies = p.data[p.data["kind"] == "study"].set_index("label")
    assert studies.loc["wide", "clipped_high"] and not studies.loc["wide", "clipped_low"]
    assert studies.loc["tiny", "clipped_low"] and not studies.loc["tiny", "clipped_high"]
    assert not studies.loc["inside", ["clipped_low", "clipped_high"]].any()
    # one arrowhead at each limit, on the row of the interval that runs off
    (right,) = [c for c in p.ax.collections if c.get_gid() == "arrow:clipped_high"]
    (left,) = [c for c in p.ax.collections if c.get_gid() == "arrow:clipped_low"]
    np.testing.assert_allclose(np.asarray(right.get_offsets()), [[50.0, studies.loc["wide", "y"]]])
    np.testing.assert_allclose(np.asarray(left.get_offsets()), [[0.1, studies.loc["tiny", "y"]]])
    # the text column still prints the full values, in significant digits where decimals fail
    assert studies.loc["wide", "text_estimate"] == "7.00 [2.80, 175]"
    assert studies.loc["tiny", "text_estimate"] == "0.50 [0.002, 0.90]"
    plt.close("all")


@pytest.mark.parametrize("xlim", [(5, 1), (0, 10), (np.nan, 2), ("a", "b")])
def test_forest_bad_xlim(xlim: tuple) -> None:
    frame = pd.DataFrame({"label": ["a"], "estimate": [2.0], "ci_low": [1.0], "ci_high": [4.0]})
    with pytest.raises((ValueError, TypeError), match="xlim"):
        plots.forest(frame, ratio_scale=True, xlim=xlim)
    plt.close("all")


def test_radial_band_level_follows_alpha_given_with_a_result() -> None:
    res = meta_analysis(BCG_YI, BCG_VI, method="REML")  # alpha 0.05
    p = plots.radial(res, alpha=0.2)
    x, lo = one(p.ax, "band_low").get_data()
    np.testing.assert_allclose(lo, res.estimate * x - stats.norm.isf(0.1))
    assert p.alpha == 0.2
    assert plots.radial(res).alpha == res.alpha


def test_labbe_bad_weight_names_study() -> None:
    with pytest.raises(ValueError, match=r"weights has the value -1.0 at study 1 \('B'\)"):
        plots.labbe([10, 5], [50, 40], [4, 6], [52, 45], weights=[3.0, -1.0], labels=["A", "B"])
