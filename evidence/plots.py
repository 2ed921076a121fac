"""Plots of meta-analyses: forest, (contour-enhanced) funnel, L'Abbe, radial, Baujat, GOSH.

Every function draws on ``ax`` (a new figure when ``ax=None``) and returns a
frozen :class:`PlotResult` holding the axes, the figure, a DataFrame of the
numbers drawn (on the scale of the axis) and named arrays of the lines drawn,
so a figure can be checked number by number.  Artists carry a ``gid``
(e.g. ``"study_squares"``, ``"diamond:overall"``, ``"null_line"``) to find them
again.

Layouts follow metafor 3.8-1 (``forest.rma``, ``funnel.rma``, ``labbe.rma``,
``radial.rma``, ``baujat.rma``, ``plot.gosh.rma``); the contour-enhanced funnel
follows Peters et al. (2008).

References
----------
.. [1] Lewis S, Clarke M (2001). Forest plots: trying to see the wood and the
   trees. BMJ 322:1479-1480.
.. [2] Peters JL, Sutton AJ, Jones DR, Abrams KR, Rushton L (2008).
   Contour-enhanced meta-analysis funnel plots help distinguish publication
   bias from other causes of asymmetry. J Clin Epidemiol 61:991-996.
.. [3] L'Abbe KA, Detsky AS, O'Rourke K (1987). Meta-analysis in clinical
   research. Ann Intern Med 107:224-233.
.. [4] Galbraith RF (1988). A note on graphical presentation of estimated odds
   ratios from several clinical trials. Stat Med 7:889-894.
.. [5] Baujat B, Mahe C, Pignon JP, Hill C (2002). A graphical method for
   exploring heterogeneity in meta-analyses. Stat Med 21:2641-2652.
.. [6] Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display
   of study heterogeneity. Research Synthesis Methods 3:214-223.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evidence._results import natural_scale
from evidence._validation import (
    as_float_array,
    check_alpha,
    check_bool,
    check_choice,
    check_counts,
    check_distinct_labels,
    check_intervals,
    check_same_length,
    check_whole,
)
from evidence.options import FOREST_COLUMNS, GOSH_KINDS, POOLING_METHODS
from evidence.small_study import FunnelData, TrimFillResult, funnel_data

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["PlotResult", "forest", "funnel", "labbe", "radial",
           "baujat", "gosh"]

#: Count columns read from a DataFrame by :func:`forest` and :func:`labbe`.
COUNT_COLUMNS: tuple[str, ...] = ("events_exposed", "n_exposed", "events_unexposed", "n_unexposed")
#: Candidate ticks of a ratio axis (log scale), labelled as plain numbers.
RATIO_TICKS: tuple[float, ...] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 10.0,
                                   20.0, 50.0, 100.0)


@dataclass(frozen=True, eq=False)
class PlotResult:
    """What a plotting function drew.

    Attributes
    ----------
    ax : matplotlib.axes.Axes
    figure : matplotlib.figure.Figure
    data : pandas.DataFrame
        One row per drawn element (study, pooled row, point), values on the
        scale of the axis (ratios when the axis is a ratio axis).
    arrays : Mapping[str, ndarray]
        Lines and grids drawn (read-only mapping).
    kind : str
        Which plot ("forest", "funnel", ...).
    alpha : float
        ``1 - alpha`` is the level of the intervals drawn (NaN when none are).
    """

    ax: Any
    figure: Any
    data: pd.DataFrame
    arrays: Mapping[str, NDArray[np.float64]] = field(
        default_factory=lambda: types.MappingProxyType({}))
    kind: str = ""
    alpha: float = float("nan")

    def __repr__(self) -> str:
        return f"PlotResult(kind={self.kind!r}, rows={len(self.data)}, arrays={sorted(self.arrays)})"

    def savefig(self, path: str, **kwargs: Any) -> None:
        """Save the figure (``bbox_inches="tight"`` by default so side columns are kept)."""
        kwargs.setdefault("bbox_inches", "tight")
        self.figure.savefig(path, **kwargs)


def _frozen(d: Mapping[str, Any]) -> Mapping[str, NDArray[np.float64]]:
    return types.MappingProxyType({k: np.asarray(v) for k, v in d.items()})


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Axes, Figure]:
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
        return ax, fig
    root = ax.get_figure(root=True)
    if root is None:
        raise ValueError("ax must belong to a figure.")
    return ax, root


def _ratio_axis(ax: Axes, lo: float, hi: float) -> None:
    """Log-scaled x axis between lo and hi (ratios) with plain-number tick labels."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ticks = [t for t in RATIO_TICKS if lo <= t <= hi]
    if len(ticks) > 7:  # thin out, always keeping 1
        keep = set(ticks[:: int(np.ceil(len(ticks) / 7))]) | ({1.0} & set(ticks))
        ticks = sorted(keep)
    if len(ticks) < 2:
        ticks = sorted({float(f"{lo:.2g}"), 1.0, float(f"{hi:.2g}")})
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))


def _fmt_num(x: float, digits: int, ratio: bool = False) -> str:
    """Fixed decimals, or 3 significant digits for a ratio too small or large for them."""
    if not np.isfinite(x):
        return "NA"
    if ratio and x != 0 and (abs(x) < 10.0**-digits or abs(x) >= 100):
        return f"{x:.3g}"
    return f"{x:.{digits}f}"


# --------------------------------------------------------------------------- #
# forest
# --------------------------------------------------------------------------- #
def _rows_from_result(res: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Study rows and pooled summaries of a meta-analysis result, on the analysis scale.

    Read from the result's ``summary_frame(transform=None)`` (study, pooled and
    prediction rows on the analysis scale, log odds ratios for a 2x2 result).
    """
    frame = res.summary_frame(transform=None)
    vals = frame[["estimate", "ci_low", "ci_high"]].to_numpy(dtype=float)
    kind = frame["kind"].to_numpy()
    st = kind == "study"
    studies = pd.DataFrame({
        "label": list(res.labels), "estimate": vals[st, 0], "ci_low": vals[st, 1],
        "ci_high": vals[st, 2], "weight": frame["weight"].to_numpy(dtype=float)[st],
    })
    pooled = tuple(float(x) for x in vals[kind == "pooled"][0])
    pi = tuple(float(x) for x in vals[kind == "prediction"][0, 1:])
    info = {"pooled": pooled, "pi": pi, "alpha": float(res.alpha), "method": res.method,
            "test": res.test, "yi": np.asarray(res.yi, float), "vi": np.asarray(res.vi, float),
            "tau2": float(res.tau2)}
    return studies, info


def _rows_from_frame(frame: pd.DataFrame, ratio_scale: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Study rows and given pooled/prediction rows of a DataFrame, on the analysis scale."""
    missing = [c for c in ("estimate", "ci_low", "ci_high") if c not in frame.columns]
    if missing:
        raise ValueError(
            f"The forest DataFrame lacks the column(s) {missing}; it needs estimate, ci_low, "
            f"ci_high (and optionally weight, label, kind, subgroup and the count columns "
            f"{', '.join(COUNT_COLUMNS)})."
        )
    f = frame.copy()
    if "label" not in f.columns:
        if isinstance(f.index, pd.RangeIndex):
            f["label"] = [f"Study {i + 1}" for i in range(len(f))]
        else:
            f["label"] = [str(i) for i in f.index]
    f = f.reset_index(drop=True)
    if "kind" not in f.columns:
        f["kind"] = "study"
    if "weight" not in f.columns:
        f["weight"] = np.nan
    st = f["kind"].astype(str) == "study"
    check_intervals(f.loc[st, "estimate"], f.loc[st, "ci_low"], f.loc[st, "ci_high"], labels=list(f.loc[st, "label"]))
    vals = f[["estimate", "ci_low", "ci_high"]].to_numpy(dtype=float)
    if ratio_scale:
        bad = ~(vals > 0) & ~np.isnan(vals)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            col = ("estimate", "ci_low", "ci_high")[j]
            raise ValueError(
                f"{col}={float(vals[i, j])!r} at row {i} ({f['label'].iloc[i]!r}) is not a positive ratio; "
                f"with ratio_scale=True the DataFrame holds ratios (e.g. odds ratios), not logs "
                f"(use numpy.exp on log-scale columns)."
            )
        with np.errstate(divide="ignore"):
            vals = np.log(vals)
    f[["estimate", "ci_low", "ci_high"]] = vals
    kinds = f["kind"].astype(str)
    unknown = sorted(set(kinds) - {"study", "pooled", "prediction"})
    if unknown:
        raise ValueError(f"kind has the value(s) {unknown}; allowed are 'study', 'pooled', 'prediction'.")
    return f[kinds == "study"].reset_index(drop=True), f[kinds != "study"].reset_index(drop=True)


def forest(
    result_or_frame: Any,
    *,
    subgroups: Sequence[Any] | None = None,
    ratio_scale: bool | None = None,
    show_prediction: bool = True,
    columns: Sequence[str] = ("counts", "estimate", "weight"),
    labels: Sequence[str] | None = None,
    counts: pd.DataFrame | ArrayLike | None = None,
    measure: str | None = None,
    xlabel: str | None = None,
    digits: int = 2,
    xlim: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> PlotResult:
    """Forest plot: one row per study, pooled diamond(s), prediction interval, text columns.

    Each study is a square centred on its estimate with area proportional to
    its weight and a horizontal line for its confidence interval; each pooled
    estimate is a diamond whose left and right vertices are its CI (Lewis &
    Clarke 2001; metafor ``forest.rma``).  With ``subgroups`` the studies are
    grouped under headers with a diamond per subgroup (pooled with the
    result's method and test by :func:`evidence.meta_analysis`) and the
    overall diamond at the bottom.  A vertical line marks no effect (1 on a
    ratio axis, 0 otherwise).

    Parameters
    ----------
    result_or_frame : MetaAnalysisResult, MetaAnalysis2x2Result or pandas.DataFrame
        A result of :func:`evidence.meta_analysis` / :func:`evidence.meta_analysis_2x2`,
        or a DataFrame with columns ``estimate, ci_low, ci_high`` and optionally
        ``weight`` (percent), ``label`` (else the index), ``kind`` ("study",
        "pooled", "prediction"), ``subgroup`` and the count columns
        ``events_exposed, n_exposed, events_unexposed, n_unexposed``.  A
        DataFrame is read on the scale of the axis: with ``ratio_scale=True``
        it holds ratios (e.g. reported odds ratios and their CI).  Its pooled
        rows are drawn as given; nothing is pooled from a DataFrame.
    subgroups : sequence, optional
        Subgroup of each study (same order as the studies).  For a DataFrame the
        ``subgroup`` column is used when this is None.
    ratio_scale : bool, optional
        Results are on the log scale; True draws ``exp`` of them on a log axis
        labelled in ratios.  Default: True for a result whose ``measure`` is a ratio (OR, RR,
        IRR, ...; the axis then reads e.g. "Odds ratio (log scale)"), else False.
    show_prediction : bool, default True
        Draw the prediction interval of the overall result (for a result when
        its tau^2 > 0; for a DataFrame a row of kind "prediction").
    columns : sequence of {"counts", "estimate", "weight"}
        Text columns; "counts" is drawn only when counts are available.
    labels : sequence of str, optional
        Study labels (default: the result's labels or the frame's).
    counts : DataFrame or array of shape (k, 4), optional
        ``events_exposed, n_exposed, events_unexposed, n_unexposed`` per study.
    measure : str, optional
        Name of the effect measure ("OR", "log OR", ...) for the headers and x label.
    xlabel : str, optional
    digits : int, default 2
        Decimals of the text columns; a value too small or too large for them
        (below ``10**-digits`` or at least 100 on a ratio axis) is printed in
        three significant digits instead.
    xlim : (low, high), optional
        Limits of the x axis on the drawn scale (ratios when ``ratio_scale``),
        like metafor ``forest(alim=...)``.  Intervals that run off the axis end
        in an arrowhead at the limit; the text columns still print their full
        values.  Default: the range of everything drawn.
    ax : matplotlib Axes, optional

    Returns
    -------
    PlotResult
        ``data`` has one row per drawn row: ``y, kind`` ("study", "header",
        "subgroup", "overall", "prediction"), ``label, subgroup, estimate,
        ci_low, ci_high, weight, marker_size, text_counts, text_estimate,
        text_weight, clipped_low, clipped_high`` with estimates on the axis
        scale (``clipped_*`` tell whether an interval runs off ``xlim``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from evidence import meta_analysis, plots
    >>> res = meta_analysis([0.2, 0.5, -0.1, 0.4], [0.04, 0.09, 0.05, 0.02],
    ...                     labels=["A", "B", "C", "D"])
    >>> p = plots.forest(res, ratio_scale=True, measure="OR")
    >>> p.ax.get_xscale(), int((p.data["kind"] == "study").sum())
    ('log', 4)
    """
    for c in columns:
        check_choice("columns", c, FOREST_COLUMNS)
    digits = check_whole("digits", digits)
    ratio_scale, measure, natural = _scale_of(result_or_frame, ratio_scale, measure)
    limits = _check_xlim(xlim, ratio_scale)
    inp = _forest_input(result_or_frame, ratio_scale, subgroups, counts, labels)
    table = _forest_table(inp, show_prediction)
    for col in ("estimate", "ci_low", "ci_high"):
        v = table[col].to_numpy(dtype=float)
        table[col] = np.exp(v) if ratio_scale else v
    _forest_text(table, digits, ratio_scale)
    layout = _ForestLayout.of(table, columns, measure, inp.alpha, inp.counts is not None)
    ax, fig = _forest_axes(ax, layout, len(table))
    null_x = 1.0 if ratio_scale else 0.0
    _draw_forest_marks(ax, table, null_x)
    _forest_xaxis(ax, table, limits, null_x, ratio_scale)
    if xlabel is None:
        xlabel = natural or (f"{measure or 'Ratio'} (log scale)" if ratio_scale else (measure or "Estimate"))
    ax.set_xlabel(xlabel)
    _draw_forest_columns(ax, fig, table, layout)
    data = table[["y", "kind", "label", "subgroup", "estimate", "ci_low", "ci_high", "weight",
                  "marker_size", "text_counts", "text_estimate", "text_weight", "clipped_low",
                  "clipped_high"]]
    return PlotResult(ax=ax, figure=fig, data=data.reset_index(drop=True),
                      arrays=_frozen({"null": np.array([null_x])}), kind="forest", alpha=inp.alpha)


def _scale_of(obj: Any, ratio_scale: bool | None, measure: str | None) -> tuple[bool, str | None, str | None]:
    """``ratio_scale``, the column header and the axis label, from a result's ``measure`` by default.

    A result whose measure is a ratio (back-transformed by ``exp``: OR, RR, IRR, ...) is drawn on the
    ratio scale unless ``ratio_scale=False``; its axis label names the measure ("Odds ratio (log
    scale)").  Other back-transformations (tanh, inverse logit) are not drawn: the plot stays on the
    analysis scale, labelled with the measure's code.
    """
    m = getattr(obj, "measure", None) if not isinstance(obj, pd.DataFrame) else None
    if ratio_scale is not None:
        check_bool("ratio_scale", ratio_scale)
    if m is None:
        return bool(ratio_scale), measure, None
    transform, short, label = natural_scale(m)
    on_ratio = transform == "exp" if ratio_scale is None else bool(ratio_scale)
    if on_ratio and transform == "exp":
        return True, measure or short, (None if measure else label)  # an explicit measure= names the axis
    if on_ratio:
        return True, measure, None
    name = short if transform is None else m
    return False, measure or name, (None if measure else label if transform is None else f"{m} (analysis scale)")


def _check_xlim(xlim: tuple[float, float] | None, ratio_scale: bool) -> tuple[float, float] | None:
    """The axis range ``xlim`` as two floats, or an error saying what a valid range is."""
    if xlim is None:
        return None
    try:
        x_lo, x_hi = (float(x) for x in xlim)
    except (TypeError, ValueError):
        raise TypeError(f"xlim={xlim!r} must be a pair of numbers (low, high).") from None
    if not (np.isfinite(x_lo) and np.isfinite(x_hi) and x_lo < x_hi) or (ratio_scale and x_lo <= 0):
        allowed = "0 < low < high (a ratio axis)" if ratio_scale else "finite low < high"
        raise ValueError(f"xlim={xlim!r} is not a valid axis range; it must satisfy {allowed}.")
    return x_lo, x_hi


@dataclass
class _ForestInput:
    """What :func:`forest` draws, read from a result or a DataFrame, on the analysis scale."""

    studies: pd.DataFrame
    given_pooled: pd.DataFrame
    info: dict[str, Any] | None
    alpha: float
    counts: NDArray[np.float64] | None
    grouped: bool


def _forest_input(obj: Any, ratio_scale: bool, subgroups: Sequence[Any] | None,
                  counts: pd.DataFrame | ArrayLike | None,
                  labels: Sequence[str] | None) -> _ForestInput:
    """Study rows, pooled rows and counts of a result or a DataFrame, checked against each other."""
    given_pooled = pd.DataFrame()
    info: dict[str, Any] | None = None
    if isinstance(obj, pd.DataFrame):
        studies, given_pooled = _rows_from_frame(obj, ratio_scale)
        alpha = float("nan")
        if subgroups is None and "subgroup" in studies.columns and studies["subgroup"].notna().any():
            subgroups = list(studies["subgroup"])
        if counts is None and all(c in studies.columns for c in COUNT_COLUMNS):
            counts = studies[list(COUNT_COLUMNS)]
    elif hasattr(obj, "yi") and hasattr(obj, "weights"):
        studies, info = _rows_from_result(obj)
        alpha = info["alpha"]
    else:
        raise TypeError(f"forest() takes a meta-analysis result or a DataFrame; got {type(obj).__name__}.")
    k = len(studies)
    if k == 0:
        raise ValueError("forest() needs at least one study row.")
    if labels is not None:
        if len(labels) != k:
            raise ValueError(f"labels has {len(labels)} entries but there are {k} studies.")
        studies["label"] = [str(x) for x in labels]
    if subgroups is not None:
        if len(subgroups) != k:
            raise ValueError(f"subgroups has {len(subgroups)} entries but there are {k} studies.")
        check_distinct_labels("subgroups", subgroups)
        studies["subgroup"] = [str(s) for s in subgroups]
    carr = None
    if counts is not None:
        carr = np.asarray(counts.to_numpy() if isinstance(counts, pd.DataFrame) else counts, float)
        if carr.shape != (k, 4):
            raise ValueError(
                f"counts must have one row per study and 4 columns ({', '.join(COUNT_COLUMNS)}); "
                f"got shape {carr.shape} for {k} studies."
            )
    return _ForestInput(studies, given_pooled, info, alpha, carr, grouped=subgroups is not None)


def _row(kind: str, label: str, sub: Any, est: float, lo: float, hi: float, weight: float = np.nan,
         counts: str = "") -> dict[str, Any]:
    return {"kind": kind, "label": label, "subgroup": sub, "estimate": est, "ci_low": lo,
            "ci_high": hi, "weight": weight, "text_counts": counts}


def _forest_table(inp: _ForestInput, show_prediction: bool) -> pd.DataFrame:
    """The rows of a forest plot top to bottom (headers, studies, subgroup and overall diamonds)."""
    studies = inp.studies
    count_text = ([f"{a:g}/{b:g} | {c:g}/{d:g}" for a, b, c, d in inp.counts] if inp.counts is not None
                  else [""] * len(studies))

    def study_row(i: int) -> dict[str, Any]:
        r = studies.iloc[i]
        return _row("study", r["label"], r.get("subgroup", None), r["estimate"], r["ci_low"],
                    r["ci_high"], r["weight"], count_text[i])

    rows: list[dict[str, Any]] = []
    if inp.grouped:
        for g in dict.fromkeys(studies["subgroup"]):
            idx = np.flatnonzero(studies["subgroup"].to_numpy() == g)
            rows.append(_row("header", str(g), g, np.nan, np.nan, np.nan))
            rows.extend(study_row(int(i)) for i in idx)
            rows.extend(_subgroup_rows(inp, g, idx))
    else:
        rows.extend(study_row(i) for i in range(len(studies)))
    rows.extend(_overall_rows(inp, show_prediction))
    table = pd.DataFrame(rows)
    table["y"] = np.arange(len(table), 0, -1, dtype=float)
    return table


def _subgroup_rows(inp: _ForestInput, g: Any, idx: NDArray[np.intp]) -> list[dict[str, Any]]:
    """The diamond of subgroup ``g``: pooled from the result, or the DataFrame's given row(s)."""
    info = inp.info
    if info is not None:
        from evidence.pooling import meta_analysis

        if info["method"] not in POOLING_METHODS:
            raise ValueError(
                f"subgroup diamonds are pooled from yi/vi and cannot use method="
                f"{info['method']!r}; pool each subgroup with meta_analysis_2x2 and pass a "
                f"DataFrame with kind='pooled' rows instead."
            )
        sub = meta_analysis(info["yi"][idx], info["vi"][idx], method=info["method"],
                            test=info["test"] if len(idx) > 1 else "z", alpha=info["alpha"])
        weight = float(np.sum(inp.studies["weight"].to_numpy()[idx]))
        return [_row("subgroup", f"Subgroup {g} (k = {len(idx)})", g, sub.estimate, sub.ci_low,
                     sub.ci_high, weight)]
    gp = inp.given_pooled
    if "subgroup" not in gp.columns:
        return []
    gp = gp[(gp["kind"] == "pooled") & (gp["subgroup"].astype(str) == str(g))]
    return [_row("subgroup", str(r["label"]), g, r["estimate"], r["ci_low"], r["ci_high"], r["weight"])
            for _, r in gp.iterrows()]


def _overall_rows(inp: _ForestInput, show_prediction: bool) -> list[dict[str, Any]]:
    """The overall diamond and prediction interval: the result's, or the DataFrame's given rows."""
    info = inp.info
    if info is not None:
        est, lo, hi = info["pooled"]
        lab = "Overall" + (f" ({info['method']})" if info["method"] else "")
        rows = [_row("overall", lab, None, est, lo, hi, 100.0)]
        if show_prediction and info["tau2"] > 0 and np.all(np.isfinite(info["pi"])):
            rows.append(_row("prediction", "Prediction interval", None, est, *info["pi"]))
        return rows
    overall = inp.given_pooled
    if len(overall) and "subgroup" in overall.columns:
        overall = overall[overall["subgroup"].isna()]
    rows = []
    for _, r in overall.iterrows():
        if r["kind"] == "pooled":
            rows.append(_row("overall", str(r["label"]), None, r["estimate"], r["ci_low"], r["ci_high"],
                             r["weight"]))
        elif show_prediction:
            rows.append(_row("prediction", str(r["label"]), None, r["estimate"], r["ci_low"], r["ci_high"]))
    return rows


def _forest_text(table: pd.DataFrame, digits: int, ratio_scale: bool) -> None:
    """Add the printed estimate ``[CI]`` and weight of each row (on the drawn scale)."""
    text_est, text_w = [], []
    for _, r in table.iterrows():
        if r["kind"] == "header":
            text_est.append("")
            text_w.append("")
            continue
        if np.isfinite(r["ci_low"]) or np.isfinite(r["ci_high"]):
            interval = (f"[{_fmt_num(r['ci_low'], digits, ratio_scale)}, "
                        f"{_fmt_num(r['ci_high'], digits, ratio_scale)}]")
        else:
            interval = "[no CI]"
        text_est.append(f"{_fmt_num(r['estimate'], digits, ratio_scale)} {interval}")
        text_w.append("" if not np.isfinite(r["weight"]) else f"{r['weight']:.1f}%")
    table["text_estimate"] = text_est
    table["text_weight"] = text_w


#: Gap between the text columns of a forest plot, in inches.
_GAP_IN = 0.12
#: Width of the plotting area of a forest plot, in inches.
_PLOT_IN = 4.0


@dataclass(frozen=True)
class _ForestLayout:
    """Headers and widths (inches) of a forest plot's text columns."""

    heads: dict[str, str]
    draw_counts: bool
    draw_est: bool
    draw_w: bool
    left_in: float
    right_in: float

    @classmethod
    def of(cls, table: pd.DataFrame, columns: Sequence[str], measure: str | None, alpha: float,
           have_counts: bool) -> _ForestLayout:
        import matplotlib as mpl

        level = "" if not np.isfinite(alpha) else f"{100 * (1 - alpha):g}% "
        heads = {"label": "Study", "counts": "Exposed | Unexposed",
                 "estimate": f"{measure or 'Estimate'} [{level}CI]", "weight": "Weight"}
        draw_counts = "counts" in columns and have_counts
        draw_est = "estimate" in columns
        draw_w = "weight" in columns and bool(np.isfinite(table["weight"].to_numpy(dtype=float)).any())
        cw = 0.62 * float(mpl.rcParams["font.size"]) / 72.0  # about 0.62 em per character

        def width(strings: Sequence[str]) -> float:
            return cw * max((len(str(t)) for t in strings), default=0)

        w_label = width([heads["label"], *table["label"].astype(str)])
        w_counts = width([heads["counts"], *table["text_counts"]]) if draw_counts else 0.0
        w_est = width([heads["estimate"], *table["text_estimate"]]) if draw_est else 0.0
        w_weight = width([heads["weight"], *table["text_weight"]]) if draw_w else 0.0
        left_in = _GAP_IN + w_label + (2 * _GAP_IN + w_counts if draw_counts else 0.0)
        right_in = (_GAP_IN + w_est if draw_est else 0.0) + (2 * _GAP_IN + w_weight if draw_w else 0.0)
        return cls(heads, draw_counts, draw_est, draw_w, left_in, right_in)


def _forest_axes(ax: Axes | None, layout: _ForestLayout, n_rows: int) -> tuple[Axes, Figure]:
    """The given axes, or a new figure sized to hold the text columns and ``n_rows`` rows."""
    created = ax is None
    width = layout.left_in + _PLOT_IN + layout.right_in + 0.3
    ax, fig = _axes(ax, (width, 1.2 + 0.3 * (n_rows + 1)))
    if created:
        fig.subplots_adjust(left=(layout.left_in + 0.1) / width, right=1 - (layout.right_in + 0.2) / width)
    return ax, fig


def _draw_forest_marks(ax: Axes, table: pd.DataFrame, null_x: float) -> None:
    """Squares and intervals of the studies, diamonds, the prediction interval and reference lines."""
    from matplotlib.patches import Polygon

    is_study = (table["kind"] == "study").to_numpy()
    ws = np.where(is_study, table["weight"].to_numpy(dtype=float), np.nan)
    max_w = np.nanmax(ws) if np.isfinite(ws).any() else np.nan
    size = np.where(np.isfinite(ws) & (max_w > 0), 20 + 180 * ws / max_w, 60.0)
    table["marker_size"] = np.where(is_study, size, np.nan)
    st = table[is_study]
    ax.hlines(st["y"], st["ci_low"], st["ci_high"], color="black", linewidth=1.0, gid="study_ci")
    ax.scatter(st["estimate"], st["y"], s=st["marker_size"], marker="s", color="0.25",
               zorder=3, gid="study_squares")
    h = 0.35
    for _, r in table[table["kind"].isin(["subgroup", "overall"])].iterrows():
        name = "overall" if r["kind"] == "overall" else f"subgroup:{r['subgroup']}"
        verts = [(r["ci_low"], r["y"]), (r["estimate"], r["y"] + h), (r["ci_high"], r["y"]),
                 (r["estimate"], r["y"] - h)]
        ax.add_patch(Polygon(verts, closed=True, facecolor="black" if r["kind"] == "overall"
                             else "0.5", edgecolor="black", zorder=3, gid=f"diamond:{name}"))
    for _, r in table[table["kind"] == "prediction"].iterrows():
        ax.hlines([r["y"]], [r["ci_low"]], [r["ci_high"]], color="firebrick", linewidth=2.0,
                  gid="prediction_interval")
        ax.vlines([r["ci_low"], r["ci_high"]], r["y"] - 0.15, r["y"] + 0.15, color="firebrick",
                  gid="prediction_interval_caps")
    ax.axvline(null_x, color="0.3", linestyle="-", linewidth=0.8, gid="null_line")
    over = table[table["kind"] == "overall"]
    if len(over):
        ax.axvline(float(over["estimate"].iloc[0]), color="0.5", linestyle=":", linewidth=0.8,
                   gid="pooled_line")


def _forest_xaxis(ax: Axes, table: pd.DataFrame, limits: tuple[float, float] | None, null_x: float,
                  ratio_scale: bool) -> None:
    """Set the x range (given, or everything drawn plus 5%); arrowheads where an interval runs off."""
    if limits is not None:
        lo, hi = limits
    else:
        finite = table[["ci_low", "ci_high", "estimate"]].to_numpy(dtype=float)
        finite = finite[np.isfinite(finite)]
        lo, hi = float(np.min(np.r_[finite, null_x])), float(np.max(np.r_[finite, null_x]))
        if ratio_scale:
            span = np.log(hi) - np.log(lo) or 1.0
            lo, hi = float(np.exp(np.log(lo) - 0.05 * span)), float(np.exp(np.log(hi) + 0.05 * span))
        else:
            span = (hi - lo) or 1.0
            lo, hi = lo - 0.05 * span, hi + 0.05 * span
    ax.set_xlim(lo, hi)
    if ratio_scale:
        _ratio_axis(ax, lo, hi)
    ci_lo = table["ci_low"].to_numpy(dtype=float)
    ci_hi = table["ci_high"].to_numpy(dtype=float)
    table["clipped_low"] = np.isfinite(ci_lo) & (ci_lo < lo)
    table["clipped_high"] = np.isfinite(ci_hi) & (ci_hi > hi)
    for flag, x_edge, marker in (("clipped_low", lo, "<"), ("clipped_high", hi, ">")):
        off = table[table[flag].to_numpy(dtype=bool)]
        if len(off):
            colours = ["firebrick" if kd == "prediction" else "black" for kd in off["kind"]]
            ax.scatter(np.full(len(off), x_edge), off["y"], marker=marker, c=colours, s=30,
                       clip_on=False, zorder=4, gid=f"arrow:{flag}")
    ax.set_ylim(0.4, len(table) + 1.6)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)


def _draw_forest_columns(ax: Axes, fig: Figure, table: pd.DataFrame, layout: _ForestLayout) -> None:
    """The text columns (study, counts, estimate [CI], weight), placed in inches from the axes' edges."""
    from matplotlib import transforms
    from matplotlib.transforms import ScaledTranslation

    blend = transforms.blended_transform_factory(ax.transAxes, ax.transData)
    columns_drawn: list[tuple[str, float, float, str]] = [("label", 0.0, -layout.left_in, "left")]
    if layout.draw_counts:
        columns_drawn.append(("counts", 0.0, -_GAP_IN, "right"))
    if layout.draw_est:
        columns_drawn.append(("estimate", 1.0, _GAP_IN, "left"))
    if layout.draw_w:
        columns_drawn.append(("weight", 1.0, layout.right_in, "right"))
    source = {"label": "label", "counts": "text_counts", "estimate": "text_estimate",
              "weight": "text_weight"}
    top = len(table) + 1.0
    for name, xa, dx, ha in columns_drawn:
        trans = blend + ScaledTranslation(dx, 0.0, fig.dpi_scale_trans)
        ax.text(xa, top, layout.heads[name], transform=trans, ha=ha, va="center", fontweight="bold",
                gid=f"header:{name}")
        for _, r in table.iterrows():
            txt = str(r[source[name]])
            if not txt:
                continue
            bold = name == "label" and r["kind"] in ("header", "overall")
            italic = name == "label" and r["kind"] == "header"
            ax.text(xa, r["y"], txt, transform=trans, ha=ha, va="center",
                    fontweight="bold" if bold else "normal",
                    fontstyle="italic" if italic else "normal",
                    gid=f"{name}:{r['kind']}" if name == "label" else f"text:{name}")


# --------------------------------------------------------------------------- #
# funnel
# --------------------------------------------------------------------------- #
def funnel(
    data: Any,
    vi: ArrayLike | None = None,
    *,
    contours: bool = True,
    contour_p: Sequence[float] = (0.10, 0.05, 0.01),
    pseudo_ci: bool = True,
    ratio_scale: bool | None = None,
    method: str = "REML",
    alpha: float | None = None,
    null: float = 0.0,
    xlabel: str | None = None,
    ax: Axes | None = None,
) -> PlotResult:
    """Funnel plot of estimate against standard error, optionally contour-enhanced.

    Shaded regions mark where a study would be significant against ``null``
    at two-sided levels ``contour_p`` (Peters et al. 2008): white for p > 0.10,
    then darker greys for 0.05 < p < 0.10 and 0.01 < p < 0.05, and the light
    grey background for p < 0.01 (metafor ``funnel(level=c(90, 95, 99),
    shade=c("white", "gray55", "gray75"), refline=0)``).  Dashed lines are the
    pseudo-confidence region around the pooled estimate; the dotted vertical
    line is the pooled estimate.  Trim-and-fill results show imputed studies
    as hollow circles.

    Parameters
    ----------
    data : FunnelData, MetaAnalysisResult, TrimFillResult or array_like
        Coordinates from :func:`evidence.funnel_data`, a result with ``yi``,
        ``vi`` and ``estimate``, or the estimates ``yi`` (then give ``vi``).
    vi : array_like, optional
        Sampling variances when ``data`` is ``yi``.
    contours, pseudo_ci : bool
        Draw the significance contours / the pseudo-confidence lines.
    contour_p : sequence of float, default (0.10, 0.05, 0.01)
    ratio_scale : bool, optional
        Draw ``exp`` of the (log-scale) values on a log axis.  Default: True for a result whose
        ``measure`` is a ratio (the axis then reads e.g. "Odds ratio (log scale)"), else False.
    method : str, default "REML"
        tau^2 estimator of the pooled line when ``data`` is ``yi``.
    alpha : float, optional
        Level of the pseudo-confidence region (default: the result's alpha or 0.05).
    null : float, default 0.0
        Centre of the contours on the analysis (log) scale.
    xlabel : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    PlotResult
        ``data``: ``label, estimate, se, p_value, region, x, filled`` per point
        (``x`` on the axis scale); ``arrays``: ``se_grid``, ``contour_low``,
        ``contour_high``, ``pseudo_ci_low``, ``pseudo_ci_high`` (axis scale).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from evidence import plots
    >>> p = plots.funnel([0.1, 0.4, 0.6, 0.2], [0.01, 0.05, 0.12, 0.03])
    >>> bool(p.ax.yaxis_inverted()), len(p.data)
    (True, 4)
    """
    filled = None
    if isinstance(data, FunnelData):
        fd = data
    elif isinstance(data, TrimFillResult):
        fd = funnel_data(data.yi, data.vi, estimate=data.estimate, contour_p=contour_p,
                         null=null, labels=data.labels,
                         alpha=data.alpha if alpha is None else alpha)
        filled = np.asarray(data.filled, bool)
    elif hasattr(data, "yi") and hasattr(data, "vi") and hasattr(data, "estimate"):
        est = float(data.log_estimate) if hasattr(data, "log_estimate") else float(data.estimate)
        fd = funnel_data(data.yi, data.vi, estimate=est, contour_p=contour_p, null=null,
                         labels=getattr(data, "labels", None),
                         alpha=float(getattr(data, "alpha", 0.05)) if alpha is None else alpha)
    else:
        if vi is None:
            raise TypeError("funnel() needs vi when data is an array of estimates.")
        fd = funnel_data(data, vi, method=method, contour_p=contour_p, null=null,
                         alpha=0.05 if alpha is None else alpha)
    k = len(fd.studies)
    if filled is None:
        filled = np.zeros(k, bool)
    ratio_scale, _, natural = _scale_of(data, ratio_scale, None)
    tx = np.exp if ratio_scale else (lambda a: np.asarray(a, float))

    ax, fig = _axes(ax, (6.5, 5.0))
    grid = fd.se_grid
    shades = ["white", "0.55", "0.75", "0.85", "0.9"]
    if contours:
        ax.set_facecolor("0.83")
        order = np.argsort(fd.contour_p)  # widest (smallest p) first, as metafor
        for rank, j in enumerate(order):
            colour = shades[len(order) - 1 - rank] if len(order) - 1 - rank < len(shades) else "white"
            xs = np.r_[tx(fd.contour_low[j]), tx(fd.contour_high[j])[::-1]]
            ys = np.r_[grid, grid[::-1]]
            ax.fill(xs, ys, color=colour, linewidth=0, zorder=0,
                    gid=f"contour:{fd.contour_p[j]:g}")
    if pseudo_ci:
        ax.plot(tx(fd.pseudo_ci_low), grid, linestyle="--", color="0.2", linewidth=0.9,
                gid="pseudo_ci_low")
        ax.plot(tx(fd.pseudo_ci_high), grid, linestyle="--", color="0.2", linewidth=0.9,
                gid="pseudo_ci_high")
    ax.plot([tx(fd.pooled)] * 2, [grid[0], 0.0], linestyle=":", color="black", gid="pooled_line")
    if contours and fd.null != fd.pooled:
        ax.plot([tx(fd.null)] * 2, [grid[0], 0.0], linestyle="-", color="0.4", linewidth=0.6,
                gid="null_line")
    x = tx(fd.studies["estimate"].to_numpy())
    y = fd.studies["se"].to_numpy()
    ax.scatter(x[~filled], y[~filled], color="black", s=25, zorder=3, gid="studies")
    if filled.any():
        ax.scatter(x[filled], y[filled], facecolors="white", edgecolors="black", s=25, zorder=3,
                   gid="filled")
    ax.set_ylim(grid[0], 0.0)
    lo = min(fd.xlim[0], float(np.min(fd.pseudo_ci_low))) if pseudo_ci else fd.xlim[0]
    hi = max(fd.xlim[1], float(np.max(fd.pseudo_ci_high))) if pseudo_ci else fd.xlim[1]
    ax.set_xlim(float(tx(lo)), float(tx(hi)))
    if ratio_scale:
        _ratio_axis(ax, float(tx(lo)), float(tx(hi)))
    ax.set_ylabel("Standard error")
    ax.set_xlabel(xlabel or natural or ("Ratio (log scale)" if ratio_scale else "Estimate"))
    frame = fd.studies.copy()
    frame["x"] = x
    frame["filled"] = filled
    arrays = {"se_grid": grid, "contour_low": tx(fd.contour_low), "contour_high": tx(fd.contour_high),
              "pseudo_ci_low": tx(fd.pseudo_ci_low), "pseudo_ci_high": tx(fd.pseudo_ci_high),
              "contour_p": np.asarray(fd.contour_p), "pooled": np.array([tx(fd.pooled)])}
    return PlotResult(ax=ax, figure=fig, data=frame, arrays=_frozen(arrays), kind="funnel",
                      alpha=fd.alpha)


# --------------------------------------------------------------------------- #
# L'Abbe
# --------------------------------------------------------------------------- #
def labbe(
    events_exposed: ArrayLike | pd.DataFrame,
    n_exposed: ArrayLike | None = None,
    events_unexposed: ArrayLike | None = None,
    n_unexposed: ArrayLike | None = None,
    *,
    weights: ArrayLike | None = None,
    pooled_or: float | None = None,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> PlotResult:
    """L'Abbe plot: event rate among the exposed against the rate among the unexposed.

    Each study is a circle at ``(c/n_unexposed, a/n_exposed)`` with area
    proportional to its weight (default: total sample size).  The diagonal is
    no effect; with ``pooled_or`` the curve ``p1 = OR p0 / (1 - p0 + OR p0)``
    shows where studies with the pooled odds ratio would lie (L'Abbe et al.
    1987; metafor ``labbe`` on the raw-proportion scale).

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : array_like
        Counts; or pass a DataFrame with those four columns as the first argument.
    weights : array_like, optional
        Circle areas are proportional to these (default ``n_exposed + n_unexposed``).
    pooled_or : float, optional
        Pooled odds ratio to draw as a curve.
    labels : sequence of str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    PlotResult
        ``data``: ``label, rate_unexposed, rate_exposed, weight, marker_size``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from evidence import plots
    >>> p = plots.labbe([10, 5], [50, 40], [4, 6], [52, 45], pooled_or=1.8)
    >>> p.data["rate_exposed"].round(3).tolist()
    [0.2, 0.125]
    """
    if isinstance(events_exposed, pd.DataFrame):
        df = events_exposed
        missing = [c for c in COUNT_COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"The labbe DataFrame lacks the column(s) {missing}.")
        cells: tuple[Any, ...] = tuple(df[col].to_numpy() for col in COUNT_COLUMNS)
        if labels is None and "label" in df.columns:
            labels = list(df["label"])
    else:
        if n_exposed is None or events_unexposed is None or n_unexposed is None:
            raise TypeError("labbe() needs events_exposed, n_exposed, events_unexposed, n_unexposed.")
        cells = (events_exposed, n_exposed, events_unexposed, n_unexposed)
    a, n1, c, n2 = cells
    a, n1 = check_counts("events_exposed", a, "n_exposed", n1)
    c, n2 = check_counts("events_unexposed", c, "n_unexposed", n2)
    k = check_same_length(events_exposed=a, events_unexposed=c)
    lab = [f"Study {i + 1}" for i in range(k)] if labels is None else [str(x) for x in labels]
    if len(lab) != k:
        raise ValueError(f"labels has {len(lab)} entries but there are {k} studies.")
    w = n1 + n2 if weights is None else as_float_array("weights", weights)
    if len(w) != k:
        raise ValueError(f"weights has {len(w)} entries but there are {k} studies; give one per study.")
    bad = ~(w > 0) | ~np.isfinite(w)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"weights has the value {float(w[i])!r} at study {i} ({lab[i]!r}); weights must be "
            f"finite and > 0."
        )
    p1, p0 = a / n1, c / n2
    size = 30 + 400 * w / w.max()
    ax, fig = _axes(ax, (5.5, 5.5))
    ax.plot([0, 1], [0, 1], color="0.4", linestyle="--", linewidth=0.9, gid="equality_line")
    arrays: dict[str, Any] = {}
    if pooled_or is not None:
        orv = float(pooled_or)
        if not orv > 0:
            raise ValueError(f"pooled_or={pooled_or!r} must be a positive odds ratio.")
        x = np.linspace(0, 1, 201)
        ycurve = orv * x / (1 - x + orv * x)
        ax.plot(x, ycurve, color="firebrick", linewidth=1.2, gid="pooled_or_curve")
        arrays = {"curve_x": x, "curve_y": ycurve}
    ax.scatter(p0, p1, s=size, facecolors="none", edgecolors="black", gid="studies")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("Event rate, unexposed")
    ax.set_ylabel("Event rate, exposed")
    frame = pd.DataFrame({"label": lab, "rate_unexposed": p0, "rate_exposed": p1, "weight": w,
                          "marker_size": size})
    return PlotResult(ax=ax, figure=fig, data=frame, arrays=_frozen(arrays), kind="labbe")


# --------------------------------------------------------------------------- #
# radial (Galbraith)
# --------------------------------------------------------------------------- #
def radial(
    result_or_yi: Any,
    vi: ArrayLike | None = None,
    *,
    method: str = "FE",
    alpha: float | None = None,
    labels: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> PlotResult:
    """Radial (Galbraith) plot: ``yi / s_i`` against ``1 / s_i`` with ``s_i = sqrt(vi + tau2)``.

    The line through the origin has slope equal to the pooled estimate; the
    band ``slope * x -/+ z_{1-alpha/2}`` holds about ``1 - alpha`` of the
    studies under the model (Galbraith 1988; metafor ``radial.rma``, which uses
    the model's tau^2).

    Parameters
    ----------
    result_or_yi : MetaAnalysisResult or array_like
        A result (its ``tau2`` and ``estimate`` are used) or ``yi``.
    vi : array_like, optional
        Sampling variances when ``yi`` is given.
    method : str, default "FE"
        tau^2 estimator when ``yi`` is given (metafor's radial plots are
        usually of a common-effect model).
    alpha : float, optional
        ``1 - alpha`` is the level of the band (default: the result's alpha, or
        0.05 when ``yi`` is given).
    labels : sequence of str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    PlotResult
        ``data``: ``label, x, y`` per study; ``arrays``: ``line_x``, ``line_y``,
        ``band_low``, ``band_high``, ``slope``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from evidence import plots
    >>> p = plots.radial([0.1, 0.4, 0.6, 0.2], [0.01, 0.05, 0.12, 0.03])
    >>> p.data[["x", "y"]].round(2).iloc[0].tolist()
    [10.0, 1.0]
    """
    if hasattr(result_or_yi, "yi") and hasattr(result_or_yi, "tau2"):
        res = result_or_yi
        yi = np.asarray(res.yi, float)
        v = np.asarray(res.vi, float)
        tau2 = float(res.tau2)
        slope = float(res.log_estimate) if hasattr(res, "log_estimate") else float(res.estimate)
        alpha = float(res.alpha) if alpha is None else alpha
        lab = list(getattr(res, "labels", [f"Study {i + 1}" for i in range(len(yi))]))
    else:
        from evidence.pooling import meta_analysis

        if vi is None:
            raise TypeError("radial() needs vi when given an array of estimates.")
        alpha = 0.05 if alpha is None else alpha
        res = meta_analysis(result_or_yi, vi, method=method, alpha=alpha)
        yi, v, tau2, slope = np.asarray(res.yi), np.asarray(res.vi), res.tau2, res.estimate
        lab = [f"Study {i + 1}" for i in range(len(yi))]
    alpha = check_alpha(alpha)
    if labels is not None:
        lab = [str(x) for x in labels]
    s = np.sqrt(v + tau2)
    x, y = 1 / s, yi / s
    z = stats.norm.isf(alpha / 2)
    line_x = np.array([0.0, 1.1 * x.max()])
    ax, fig = _axes(ax, (6.0, 5.0))
    ax.plot(line_x, slope * line_x, color="black", gid="pooled_line")
    ax.plot(line_x, slope * line_x - z, color="0.4", linestyle="--", gid="band_low")
    ax.plot(line_x, slope * line_x + z, color="0.4", linestyle="--", gid="band_high")
    ax.axhline(0.0, color="0.7", linewidth=0.6, gid="zero_line")
    ax.scatter(x, y, color="black", s=25, zorder=3, gid="studies")
    ax.set_xlim(0, line_x[1])
    ax.set_xlabel("Precision, 1 / sqrt(vi + tau2)")
    ax.set_ylabel("Standardized estimate, yi / sqrt(vi + tau2)")
    frame = pd.DataFrame({"label": lab, "x": x, "y": y})
    arrays = {"line_x": line_x, "line_y": slope * line_x, "band_low": slope * line_x - z,
              "band_high": slope * line_x + z, "slope": np.array([slope])}
    return PlotResult(ax=ax, figure=fig, data=frame, arrays=_frozen(arrays), kind="radial",
                      alpha=alpha)


# --------------------------------------------------------------------------- #
# Baujat
# --------------------------------------------------------------------------- #
def _pick(obj: Any, name: str) -> NDArray[np.float64]:
    """Column ``name`` of a DataFrame, or attribute ``name`` of a result object."""
    if isinstance(obj, pd.DataFrame):
        if name in obj.columns:
            return obj[name].to_numpy(dtype=float)
    elif hasattr(obj, name):
        return np.asarray(getattr(obj, name), dtype=float)
    raise ValueError(
        f"{type(obj).__name__} has no {'column' if isinstance(obj, pd.DataFrame) else 'attribute'} "
        f"{name!r}; pass the result of the matching evidence.sensitivity function, a DataFrame "
        f"with that column, or a tuple of two arrays."
    )


def baujat(
    result: Any,
    *,
    labels: Sequence[str] | None = None,
    annotate: bool = True,
    ax: Axes | None = None,
) -> PlotResult:
    """Baujat plot: each study's contribution to Cochran's Q against its influence on the pooled estimate.

    Parameters
    ----------
    result : object or DataFrame or tuple
        The result of :func:`evidence.sensitivity.baujat` (or any object or
        DataFrame with ``x``/``y`` coordinates), or a tuple ``(x, y)``.
    labels : sequence of str, optional
        Point labels (default: the result's labels, else 1..k).
    annotate : bool, default True
        Write the labels next to the points.
    ax : matplotlib Axes, optional

    Returns
    -------
    PlotResult
        ``data``: ``label, x, y``.

    References
    ----------
    Baujat et al. (2002), Stat Med 21:2641-2652, Figure 1; metafor ``baujat.rma``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from evidence import plots
    >>> p = plots.baujat(([0.5, 3.2, 0.1], [0.2, 1.5, 0.05]), labels=["A", "B", "C"])
    >>> p.data["x"].tolist()
    [0.5, 3.2, 0.1]
    """
    if isinstance(result, tuple) and len(result) == 2:
        x, y = as_float_array("x", result[0]), as_float_array("y", result[1])
        lab0 = None
    else:
        x = _pick(result, "x")
        y = _pick(result, "y")
        lab0 = getattr(result, "labels", None)
        if lab0 is None and isinstance(result, pd.DataFrame) and "label" in result.columns:
            lab0 = list(result["label"])
    check_same_length(x=x, y=y)
    k = len(x)
    lab = [str(s) for s in (labels if labels is not None else lab0 if lab0 is not None
                           else range(1, k + 1))]
    if len(lab) != k:
        raise ValueError(f"labels has {len(lab)} entries but there are {k} studies.")
    ax, fig = _axes(ax, (6.0, 5.0))
    ax.scatter(x, y, color="black", s=25, gid="studies")
    if annotate:
        for xi, yi_, li in zip(x, y, lab, strict=True):
            ax.annotate(li, (xi, yi_), textcoords="offset points", xytext=(4, 4), fontsize=8,
                        gid="study_label")
    ax.set_xlabel("Contribution to overall heterogeneity")
    ax.set_ylabel("Influence on overall result")
    frame = pd.DataFrame({"label": lab, "x": x, "y": y})
    return PlotResult(ax=ax, figure=fig, data=frame, arrays=_frozen({}), kind="baujat")


# --------------------------------------------------------------------------- #
# GOSH
# --------------------------------------------------------------------------- #
def gosh(
    result: Any,
    *,
    kind: str = "scatter",
    gridsize: int = 30,
    ratio_scale: bool = False,
    ax: Axes | None = None,
) -> PlotResult:
    """GOSH plot: pooled estimate against I^2 for subsets of the studies.

    Parameters
    ----------
    result : object, DataFrame or tuple
        The result of :func:`evidence.sensitivity.gosh` (or any object or
        DataFrame with ``estimate`` and ``i2`` arrays), or a tuple ``(estimate, i2)``.
    kind : {"scatter", "hexbin"}, default "scatter"
        Points (for up to some thousands of subsets) or hexagonal bins.
    gridsize : int, default 30
        Hexagons across the x axis (``kind="hexbin"``).
    ratio_scale : bool, optional
        Draw ``exp(estimate)`` on a log axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    PlotResult
        ``data``: ``estimate`` (axis scale) and ``i2`` per subset.

    References
    ----------
    Olkin, Dahabreh & Trikalinos (2012), Res Synth Methods 3:214-223; metafor
    ``plot.gosh.rma``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from evidence import plots
    >>> p = plots.gosh(([0.1, 0.2, 0.15], [10.0, 40.0, 0.0]))
    >>> len(p.data)
    3
    """
    check_choice("kind", kind, GOSH_KINDS)
    if isinstance(result, tuple) and len(result) == 2:
        est, i2 = as_float_array("estimate", result[0]), as_float_array("i2", result[1])
    else:
        est = _pick(result, "estimate")
        i2 = _pick(result, "i2")
    check_same_length(estimate=est, i2=i2)
    x = np.exp(est) if ratio_scale else est
    ax, fig = _axes(ax, (6.0, 5.0))
    if kind == "scatter":
        ax.scatter(x, i2, s=6, alpha=0.4 if len(x) > 200 else 0.8, color="black",
                   linewidths=0, gid="subsets")
    else:
        ax.hexbin(x, i2, gridsize=int(gridsize), cmap="Greys", mincnt=1,
                  xscale="log" if ratio_scale else "linear", gid="subsets")
    if ratio_scale:
        _ratio_axis(ax, float(np.min(x)), float(np.max(x)))
    ax.set_xlabel("Pooled estimate" + (" (ratio, log scale)" if ratio_scale else ""))
    ax.set_ylabel("I² (%)")
    frame = pd.DataFrame({"estimate": x, "i2": i2})
    return PlotResult(ax=ax, figure=fig, data=frame, arrays=_frozen({}), kind="gosh")
