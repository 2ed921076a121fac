"""Teaching figures and plain-language sentences for odds, risks and their ratios.

For trainers and students: pictures that can be projected and sentences that a
non-statistician can read.  Nothing here knows about any particular study;
the numbers come in as arguments.

* :func:`icon_array` -- a 2x2 table as people "out of 100", with each group's
  risk and odds written beside it;
* :func:`risk_ratio_curve` -- the risk ratio an odds ratio implies at every
  baseline risk (Zhang & Yu 1998), with one baseline marked;
* :func:`interval_narrowing` -- the same proportions with more and more people:
  the odds ratio stays, its interval narrows;
* :func:`odds_vs_risk` -- risks and odds of the same table side by side;
* :func:`describe` -- an odds ratio, risk ratio or risk difference result as
  sentences;
* :func:`explainer_widget` -- the interactive explainer for JupyterLab
  (ipywidgets; the offline HTML version is :mod:`evidence.explainer`).

Every figure is drawn in a presentation style (:func:`presentation`: seaborn's
``"talk"`` context unless told otherwise, so text stays readable on a
projector) and returns a :class:`evidence.plots.PlotResult` holding the Axes
and a DataFrame of the numbers drawn.

References
----------
.. [1] Zhang J, Yu KF (1998). What's the relative risk? A method of correcting
   the odds ratio in cohort studies of common outcomes. JAMA 280:1690-1691.
.. [2] Galesic M, Garcia-Retamero R, Gigerenzer G (2009). Using icon arrays to
   communicate medical risks: overcoming low numeracy. Health Psychology
   28:210-216.
.. [3] Altman DG, Deeks JJ, Sackett DL (1998). Odds ratios should be avoided
   when events are common. BMJ 317:1318.
"""

from __future__ import annotations

import contextlib
import math
import types
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evidence import published
from evidence._validation import check_alpha, check_choice, check_tables
from evidence.effect_sizes import (
    OddsRatioResult,
    RiskDifferenceResult,
    RiskRatioResult,
    odds_ratio,
    risk_difference,
    risk_ratio,
)
from evidence.plots import PlotResult

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = [
    "CONTEXTS",
    "presentation",
    "icon_array",
    "risk_ratio_curve",
    "interval_narrowing",
    "odds_vs_risk",
    "describe",
    "format_ratio",
    "explainer_widget",
]

#: seaborn plotting contexts accepted by :func:`presentation` (``"talk"`` and
#: ``"poster"`` are for projecting).
CONTEXTS: tuple[str, ...] = ("paper", "notebook", "talk", "poster")
#: Colours of the two outcomes in the icon arrays (with the event, without).
EVENT_COLOURS: tuple[str, str] = ("#c0392b", "#d5d8dc")


@contextlib.contextmanager
def presentation(context: str = "talk") -> Iterator[None]:
    """Presentation style: seaborn's plotting ``context`` and a white, ticked axes style.

    Figures created inside the ``with`` block keep the larger fonts and lines.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> with presentation("poster"):
    ...     fig, ax = plt.subplots()
    >>> ax.title.get_fontsize() > 20
    True
    >>> plt.close(fig)
    """
    import seaborn as sns

    check_choice("context", context, CONTEXTS)
    with sns.plotting_context(context), sns.axes_style("white"):
        yield


def _short(x: float) -> str:
    """A number to two decimals without trailing zeros (7.0 -> "7", 0.7194 -> "0.72")."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _counts(a: Any, n1: Any, c: Any, n2: Any) -> tuple[int, int, int, int]:
    e1, m1, e2, m2 = check_tables(a, n1, c, n2)
    if len(e1) != 1:
        raise ValueError(f"the counts must describe one table; got {len(e1)} tables.")
    return int(e1[0]), int(m1[0]), int(e2[0]), int(m2[0])


def _per(events: int, n: int, per: int) -> int:
    """``events / n`` as a whole number out of ``per``, rounded half up."""
    return int(math.floor(events * per / n + 0.5))


def _odds_text(events: int, n: int) -> str:
    if events == n:
        return f"odds {events} to 0 (infinite)"
    return f"odds {events} to {n - events} = {events / (n - events):.2f}"


def _person_marker() -> Any:
    """A matplotlib marker path of a person: a round head above a body."""
    from matplotlib.path import Path

    head = Path.circle(center=(0.0, 0.55), radius=0.3)
    body = Path([(-0.6, -0.85), (-0.6, 0.0), (-0.3, 0.2), (0.3, 0.2), (0.6, 0.0), (0.6, -0.85),
                 (-0.6, -0.85)], closed=True)
    return Path.make_compound_path(head, body)


def _new_axes(ax: Axes | None, figsize: tuple[float, float], ncols: int = 1) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax, (ax[0] if isinstance(ax, Sequence) else ax).figure
    fig, axes = plt.subplots(1, ncols, figsize=figsize, layout="constrained")
    return axes, fig


def icon_array(
    events_exposed: int,
    n_exposed: int,
    events_unexposed: int,
    n_unexposed: int,
    *,
    labels: tuple[str, str] = ("exposed", "unexposed"),
    outcome: str = "with the outcome",
    per: int = 100,
    context: str = "talk",
    ax: Axes | None = None,
) -> PlotResult:
    """A 2x2 table as two grids of people "out of ``per``", with risks and odds beside them.

    Each group is shown as ``per`` people (10 per row); the number coloured is
    the group's risk scaled to ``per`` and rounded half up (e.g. 15 of 23 is 65
    out of 100).  Beside each grid: the counts, the risk and the odds.  Icon
    arrays help readers with low numeracy see a risk (Galesic et al. 2009).

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : int
        The table (as :func:`evidence.odds_ratio`).
    labels : (str, str)
        Names of the exposed and unexposed groups, e.g. ``("separated", "not separated")``.
    outcome : str
        What the coloured people had, e.g. ``"convicted"``.
    per : int
        People per grid (a multiple of 10).
    context : str
        seaborn context of the :func:`presentation` style.
    ax : Axes, optional
        Where to draw (a new figure when None).

    Returns
    -------
    PlotResult
        ``data`` has one row per group: label, events, n, risk, odds, icons
        (coloured people out of ``per``), per.

    Examples
    --------
    >>> p = icon_array(15, 23, 48, 227, labels=("separated", "not separated"), outcome="convicted")
    >>> p.data[["label", "icons", "per"]].values.tolist()
    [['separated', 65, 100], ['not separated', 21, 100]]
    """
    a, n1, c, n2 = _counts(events_exposed, n_exposed, events_unexposed, n_unexposed)
    if not isinstance(per, int) or per <= 0 or per % 10:
        raise ValueError(f"per must be a positive multiple of 10; got {per!r}.")
    rows: list[dict[str, Any]] = []
    for label, e, n in ((labels[0], a, n1), (labels[1], c, n2)):
        rows.append({"label": label, "events": e, "n": n, "risk": e / n,
                     "odds": e / (n - e) if e < n else math.inf, "icons": _per(e, n, per), "per": per})
    data = pd.DataFrame(rows)
    marker, n_rows = _person_marker(), per // 10
    with presentation(context):
        ax, fig = _new_axes(ax, (13, 1.2 + 0.62 * n_rows))
        for g, row in enumerate(rows):
            x0 = g * 24.0
            idx = np.arange(per)
            xs, ys = x0 + idx % 10, n_rows - 1 - idx // 10
            colours = np.where(idx < row["icons"], EVENT_COLOURS[0], EVENT_COLOURS[1])
            ax.scatter(xs, ys, marker=marker, s=300, c=list(colours), linewidths=0, gid=f"icons:{g}")
            ax.text(x0 + 10.2, n_rows - 0.4, str(row["label"]), fontweight="bold", va="top")
            lines = [f"{row['events']} of {row['n']} {outcome}", f"= {row['icons']} out of {per}",
                     f"risk {row['risk']:.0%}", _odds_text(row["events"], row["n"])]
            ax.text(x0 + 10.2, n_rows - 1.9, "\n".join(lines), va="top", linespacing=1.5,
                    gid=f"text:{g}")
        ax.set_xlim(-0.8, 46)
        ax.set_ylim(-0.8, n_rows - 0.2)
        ax.set_aspect("equal")
        ax.set_axis_off()
    return PlotResult(ax=ax, figure=fig, data=data, kind="icon_array")


def risk_ratio_curve(
    odds_ratio: float,
    *,
    baseline_risk: float | None = None,
    label: str | None = None,
    context: str = "talk",
    ax: Axes | None = None,
) -> PlotResult:
    """The risk ratio implied by one odds ratio, at every baseline risk.

    RR = OR / (1 - p0 + p0 OR) (Zhang & Yu 1998), via
    :func:`evidence.published.or_to_rr`: close to the OR when the outcome is
    rare, falling towards 1 as the baseline risk p0 grows.  The dashed line is
    the OR itself, the risk ratio only for a rare outcome.

    Parameters
    ----------
    odds_ratio : float
        The odds ratio (> 0).
    baseline_risk : float, optional
        A baseline risk p0 in (0, 1) to mark, with its risk ratio written beside it.
    label : str, optional
        Legend text of the marked point (default: the numbers).
    context : str
        seaborn context of the :func:`presentation` style.
    ax : Axes, optional
        Where to draw.

    Returns
    -------
    PlotResult
        ``data``: one row for the marked point (baseline_risk, risk_ratio,
        odds_ratio), empty without ``baseline_risk``; ``arrays``: ``baseline_risk``
        and ``risk_ratio`` of the curve.

    Examples
    --------
    >>> p = risk_ratio_curve(7.0, baseline_risk=0.21)
    >>> round(float(p.data["risk_ratio"].iloc[0]), 2)
    3.1
    """
    if not (isinstance(odds_ratio, int | float) and math.isfinite(odds_ratio) and odds_ratio > 0):
        raise ValueError(f"odds_ratio must be a finite number > 0; got {odds_ratio!r}.")
    if baseline_risk is not None and not (0 < baseline_risk < 1):
        raise ValueError(f"baseline_risk must be between 0 and 1 (exclusive); got {baseline_risk!r}.")
    p0 = np.linspace(0.0, 0.99, 199)
    rr = np.asarray(published.or_to_rr(odds_ratio, p0))
    marked: list[dict[str, float]] = [] if baseline_risk is None else [{
        "baseline_risk": baseline_risk, "risk_ratio": float(published.or_to_rr(odds_ratio, baseline_risk)),
        "odds_ratio": odds_ratio}]
    data = pd.DataFrame(marked, columns=["baseline_risk", "risk_ratio", "odds_ratio"])
    with presentation(context):
        ax, fig = _new_axes(ax, (10, 6.5))
        ax.plot(100 * p0, rr, color="#1f4e79", lw=3, gid="curve", label=f"risk ratio for OR {_short(odds_ratio)}")
        ax.axhline(odds_ratio, color="grey", ls="--", lw=1.5, gid="odds_ratio_line")
        ax.text(99, odds_ratio, f"odds ratio {_short(odds_ratio)}", ha="right", va="bottom", color="dimgrey")
        ax.axhline(1, color="black", lw=1, gid="null_line")
        for m in marked:
            x, y = 100 * m["baseline_risk"], m["risk_ratio"]
            ax.plot(x, y, "o", ms=14, color=EVENT_COLOURS[0], gid="marked")
            text = label or f"baseline risk {m['baseline_risk']:.0%}:\nrisk ratio {m['risk_ratio']:.1f}"
            ax.annotate(text, (x, y), xytext=(20, 20),
                        textcoords="offset points", arrowprops={"arrowstyle": "-", "color": "grey"})
        ax.set_xlim(0, 100)
        ax.set_ylim(0, odds_ratio * 1.12 if odds_ratio >= 1 else 1.12)
        ax.set_xlabel("Risk without the exposure (baseline risk, %)")
        ax.set_ylabel("Risk ratio")
        ax.set_title(f"The same odds ratio ({_short(odds_ratio)}) is a smaller risk ratio\nwhen the outcome is common",
                     loc="left")
        ax.grid(axis="y", alpha=0.4)
    return PlotResult(ax=ax, figure=fig, data=data, kind="risk_ratio_curve",
                      arrays=types.MappingProxyType({"baseline_risk": p0, "risk_ratio": rr}))


def interval_narrowing(
    events_exposed: int,
    n_exposed: int,
    events_unexposed: int,
    n_unexposed: int,
    *,
    factors: Sequence[float] = (0.25, 0.5, 1, 2, 4, 10),
    alpha: float = 0.05,
    context: str = "talk",
    ax: Axes | None = None,
) -> PlotResult:
    """How the odds ratio's interval narrows as the same proportions are seen in more people.

    Every count is multiplied by each factor and rounded to a whole number;
    each scaled table's odds ratio and Woolf interval come from
    :func:`evidence.odds_ratio` (with ``correction="add_if_zero"``, which only
    acts if rounding makes a cell zero).  Factor 1 is the table itself.

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : int
        The table.
    factors : sequence of float
        Multipliers of the counts (> 0).
    alpha : float
        1 - confidence level.
    context : str
        seaborn context of the :func:`presentation` style.
    ax : Axes, optional
        Where to draw.

    Returns
    -------
    PlotResult
        ``data``: one row per factor (top to bottom): factor, the four counts,
        total, estimate, ci_low, ci_high, y.

    Examples
    --------
    >>> p = interval_narrowing(15, 23, 48, 227, factors=(1, 4))
    >>> p.data[["total", "ci_low"]].round(2).values.tolist()
    [[250.0, 2.8], [1000.0, 4.42]]
    """
    a, n1, c, n2 = _counts(events_exposed, n_exposed, events_unexposed, n_unexposed)
    alpha = check_alpha(alpha)
    fs = [float(f) for f in factors]
    if not fs or any(not (math.isfinite(f) and f > 0) for f in fs):
        raise ValueError(f"factors must be numbers > 0; got {list(factors)!r}.")
    rows: list[dict[str, Any]] = []
    for y, f in enumerate(fs):
        sa, sn1, sc, sn2 = (int(round(x * f)) for x in (a, n1, c, n2))
        r = odds_ratio(sa, sn1, sc, sn2, alpha=alpha, correction="add_if_zero")
        rows.append({"factor": f, "events_exposed": sa, "n_exposed": sn1, "events_unexposed": sc,
                     "n_unexposed": sn2, "total": sn1 + sn2, "estimate": r.estimate, "ci_low": r.ci_low,
                     "ci_high": r.ci_high, "y": len(fs) - 1 - y})
    data = pd.DataFrame(rows)
    with presentation(context):
        ax, fig = _new_axes(ax, (11, 1.6 + 0.9 * len(fs)))
        for i, row in enumerate(rows):
            colour = EVENT_COLOURS[0] if row["factor"] == 1 else "#1f4e79"
            ax.plot([row["ci_low"], row["ci_high"]], [row["y"], row["y"]], color=colour, lw=4,
                    solid_capstyle="butt", gid=f"interval:{i}")
            ax.plot(row["estimate"], row["y"], "s", ms=12, color=colour)
            ax.text(row["ci_high"] * 1.08, row["y"], f"{row['ci_low']:.1f} to {row['ci_high']:.1f}", va="center")
        ax.axvline(1, color="black", lw=1, gid="null_line")
        ax.set_xscale("log")
        lo, hi = float(data["ci_low"].min()), float(data["ci_high"].max())
        ax.set_xlim(min(0.8, lo / 1.3), hi * 3.2)
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

        ticks = [t for t in (0.5, 1, 2, 5, 10, 20, 50, 100) if min(0.8, lo / 1.3) <= t <= hi * 3.2]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_yticks(data["y"], [f"{int(t):,} people" + (" (the study)" if f == 1 else "")
                                  for t, f in zip(data["total"], data["factor"], strict=True)])
        level = f"{1 - alpha:.0%}"
        ax.set_xlabel(f"Odds ratio and its {level} confidence interval (log scale)")
        ax.set_title("Same proportions, more people: a narrower interval", loc="left")
        _despine(ax)
    return PlotResult(ax=ax, figure=fig, data=data, kind="interval_narrowing", alpha=alpha)


def _despine(ax: Any) -> None:
    """Remove the top and right spines (seaborn's ``despine``)."""
    import seaborn as sns

    sns.despine(ax=ax)


def odds_vs_risk(
    events_exposed: int,
    n_exposed: int,
    events_unexposed: int,
    n_unexposed: int,
    *,
    labels: tuple[str, str] = ("exposed", "unexposed"),
    outcome: str = "with the outcome",
    context: str = "talk",
    ax: Sequence[Axes] | None = None,
) -> PlotResult:
    """Risks and odds of the same table side by side, each with its ratio.

    Left: each group's risk (events / group size) and the risk ratio. Right:
    each group's odds (events / non-events) and the odds ratio.  The two
    ratios agree only when the outcome is rare (Altman, Deeks & Sackett 1998).

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : int
        The table (no group may have every member with the outcome: its odds
        would be infinite).
    labels : (str, str)
        Names of the two groups.
    outcome : str
        What the events are, for the titles.
    context : str
        seaborn context of the :func:`presentation` style.
    ax : (Axes, Axes), optional
        Two axes to draw on (risk, odds).

    Returns
    -------
    PlotResult
        ``ax`` is the pair (risk axes, odds axes); ``data`` one row per group and
        scale: scale ("risk" or "odds"), label, value, ratio (risk ratio or odds
        ratio, on each row of the scale).

    Examples
    --------
    >>> p = odds_vs_risk(15, 23, 48, 227)
    >>> p.data.groupby("scale")["ratio"].first().round(2).to_dict()
    {'odds': 6.99, 'risk': 3.08}
    """
    a, n1, c, n2 = _counts(events_exposed, n_exposed, events_unexposed, n_unexposed)
    if a == n1 or c == n2 or c == 0:
        raise ValueError(f"odds_vs_risk needs events in the unexposed group and non-events in both "
                         f"groups; got events_exposed={a}, n_exposed={n1}, events_unexposed={c}, "
                         f"n_unexposed={n2}.")
    risks, odds = (a / n1, c / n2), (a / (n1 - a), c / (n2 - c))
    rr, or_ = risks[0] / risks[1], odds[0] / odds[1]
    data = pd.DataFrame(
        [{"scale": "risk", "label": labels[i], "value": risks[i], "ratio": rr} for i in range(2)]
        + [{"scale": "odds", "label": labels[i], "value": odds[i], "ratio": or_} for i in range(2)])
    with presentation(context):
        axes, fig = _new_axes(None if ax is None else ax, (13, 6.2), ncols=2)  # type: ignore[arg-type]
        colours = [EVENT_COLOURS[0], "#7f8c8d"]
        panels = (("risk", risks, rr, "risk ratio"), ("odds", odds, or_, "odds ratio"))
        for axis, (scale, values, ratio, name) in zip(axes, panels, strict=True):
            bars = axis.bar([0, 1], values, color=colours, width=0.6, gid=f"bars:{scale}")
            for bar, v in zip(bars, values, strict=True):
                text = f"{v:.0%}" if scale == "risk" else f"{v:.2f}"
                axis.text(bar.get_x() + bar.get_width() / 2, v, text, ha="center", va="bottom",
                          fontweight="bold")
            axis.set_xticks([0, 1], list(labels))
            axis.set_ylim(0, max(values) * 1.3)
            axis.set_title(f"{name}: {ratio:.1f}", loc="left", fontweight="bold")
            _despine(axis)
        axes[0].set_ylabel(f"Risk ({outcome}, share of the group)")
        axes[0].yaxis.set_major_formatter(_percent_formatter())
        axes[1].set_ylabel(f"Odds ({outcome} : not)")
    return PlotResult(ax=tuple(axes), figure=fig, data=data, kind="odds_vs_risk")


def _percent_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


# ---------------------------------------------------------------------------
# Plain language
# ---------------------------------------------------------------------------


def format_ratio(x: float) -> str:
    """A ratio as printed in the sentences: one decimal from 1 up, two below 1, none from 100.

    Examples
    --------
    >>> [format_ratio(v) for v in (6.992, 17.46, 0.719, 250.2, 0.0016)]
    ['7.0', '17.5', '0.72', '250', '0.0016']
    """
    if math.isnan(x):
        return "undefined"
    if math.isinf(x):
        return "infinite"
    if x >= 100:
        return f"{x:.0f}"
    if x < 0.1:
        return f"{x:.2g}"
    return f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def _lower(x: float) -> str:
    """", that is 28% lower" for a ratio below 1, else nothing."""
    return f", that is {1 - x:.0%} lower" if 0 < x < 1 else ""


def _level(alpha: float) -> str:
    return f"{100 * (1 - alpha):g}% CI"


def _caveats(result: Any, null: float) -> str:
    notes = []
    if result.ci_low <= null <= result.ci_high:
        notes.append(f" The interval includes {null:g} (no difference), so the data are also consistent with "
                     f"no difference.")
    if result.corrected:
        notes.append(" Because a count was zero, 0.5 was added to every cell before computing this.")
    return "".join(notes)


def describe(
    result: OddsRatioResult | RiskRatioResult | RiskDifferenceResult,
    *,
    exposed: str = "people in the exposed group",
    unexposed: str = "in the unexposed group",
    happened: str = "had the outcome",
    outcome: str = "the outcome",
) -> str:
    """Sentences describing an effect-size result for a non-statistician.

    The first sentence gives the table as counts and whole percentages; the
    second the effect with its interval in words ("times as high" for a ratio,
    "percentage points" for a difference).  An odds ratio is followed by the
    risk ratio of the same table, because odds ratios are so often read as
    risk ratios (Altman, Deeks & Sackett 1998).  If the interval includes no
    difference, or a continuity correction was added, a sentence says so.

    Parameters
    ----------
    result : OddsRatioResult, RiskRatioResult or RiskDifferenceResult
        From :func:`evidence.odds_ratio`, :func:`evidence.risk_ratio` or
        :func:`evidence.risk_difference`.
    exposed : str
        The exposed group as a plural noun phrase ("boys separated by a parent's imprisonment").
    unexposed : str
        The other group, read after "of 227 ..." ("not separated").
    happened : str
        The outcome as a verb phrase ("were convicted").
    outcome : str
        The outcome as a noun ("conviction"), read after "the odds of" / "the risk of".

    Returns
    -------
    str

    Examples
    --------
    >>> from evidence import odds_ratio
    >>> print(describe(odds_ratio(15, 23, 48, 227), exposed="boys separated by a parent's imprisonment",
    ...                unexposed="not separated", happened="were convicted", outcome="conviction"))
    ... # doctest: +NORMALIZE_WHITESPACE
    Of 23 boys separated by a parent's imprisonment, 15 (65%) were convicted; of 227 not separated, 48 (21%).
    The odds of conviction were 7.0 times as high (95% CI 2.8 to 17.5); the risk was 3.1 times as high.
    """
    if not isinstance(result, OddsRatioResult | RiskRatioResult | RiskDifferenceResult):
        raise TypeError(f"result must be an odds_ratio, risk_ratio or risk_difference result; got "
                        f"{type(result).__name__}.")
    a, b, c, d = result.table
    n1, n2 = a + b, c + d
    first = (f"Of {n1:,} {exposed}, {a:,} ({a / n1:.0%}) {happened}; "
             f"of {n2:,} {unexposed}, {c:,} ({c / n2:.0%}).")
    ci = _level(result.alpha)
    if isinstance(result, RiskDifferenceResult):
        pts = 100 * result.estimate
        word = "higher" if pts >= 0 else "lower"
        second = (f" The risk of {outcome} was {abs(pts):.0f} percentage points {word} ({ci} "
                  f"{100 * result.ci_low:+.0f} to {100 * result.ci_high:+.0f} points).")
        return first + second + _caveats(result, 0.0)
    span = f"({ci} {format_ratio(result.ci_low)} to {format_ratio(result.ci_high)})"
    if isinstance(result, RiskRatioResult):
        est = result.estimate
        return (first + f" The risk of {outcome} was {format_ratio(est)} times as high {span}{_lower(est)}."
                + _caveats(result, 1))
    est = result.estimate
    second = f" The odds of {outcome} were {format_ratio(est)} times as high {span}{_lower(est)}"
    if a > 0 and c > 0:
        rr = (a / n1) / (c / n2)
        second += f"; the risk was {format_ratio(rr)} times as high{_lower(rr)}."
    else:
        second += "."
    return first + second + _caveats(result, 1)


# ---------------------------------------------------------------------------
# Interactive explainer (JupyterLab)
# ---------------------------------------------------------------------------


def _explainer_numbers(a: int, b: int, c: int, d: int, baseline_risk: float) -> dict[str, Any]:
    """OR, RR, RD with their intervals for the cells (0.5 added to every cell of a table with a zero)."""
    n1, n2 = a + b, c + d
    if n1 == 0 or n2 == 0:
        return {}
    args = (a, n1, c, n2)
    out: dict[str, Any] = {"or": odds_ratio(*args, correction="add_if_zero"),
                           "rr": risk_ratio(*args, correction="add_if_zero"),
                           "rd": risk_difference(*args, correction="add_if_zero")}
    out["rr_at_baseline"] = float(published.or_to_rr(out["or"].estimate, baseline_risk))
    return out


def _explainer_html(numbers: dict[str, Any], baseline_risk: float) -> str:
    if not numbers:
        return "<p>Each group needs at least one person.</p>"
    rows = "".join(
        f"<tr><td>{name}</td><td><b>{r.estimate:.2f}</b></td><td>{r.ci_low:.2f} to {r.ci_high:.2f}</td></tr>"
        for name, r in (("odds ratio", numbers["or"]), ("risk ratio", numbers["rr"]),
                        ("risk difference", numbers["rd"])))
    note = " (0.5 added to every cell: a count is zero)" if numbers["or"].corrected else ""
    return (f"<table><tr><th></th><th>estimate</th><th>95% CI</th></tr>{rows}</table>"
            f"<p>{note}</p><p>At a baseline risk of {baseline_risk:.0%}, an odds ratio of "
            f"{numbers['or'].estimate:.2f} is a risk ratio of {numbers['rr_at_baseline']:.2f}.</p>")


def explainer_widget(
    events_exposed: int = 15,
    n_exposed: int = 23,
    events_unexposed: int = 48,
    n_unexposed: int = 227,
    *,
    labels: tuple[str, str] = ("exposed", "unexposed"),
    outcome: str = "with the outcome",
    baseline_risk: float = 0.2,
    max_count: int = 300,
) -> Any:
    """Sliders for the four cells and a baseline risk, updating the picture and the numbers live.

    For JupyterLab (needs ``ipywidgets``).  The numbers are those of
    :func:`evidence.odds_ratio`, :func:`evidence.risk_ratio` and
    :func:`evidence.risk_difference` with ``correction="add_if_zero"`` (0.5 added
    to every cell of a table with a zero count), and the risk ratio at the
    chosen baseline risk is :func:`evidence.published.or_to_rr`.

    Returns
    -------
    ipywidgets.VBox
        Its ``children`` are the slider box, an HTML widget with the numbers
        (``.children[1].value``) and the Output widget with the icon array.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    a, n1, c, n2 = _counts(events_exposed, n_exposed, events_unexposed, n_unexposed)
    style = {"description_width": "16em"}
    layout = widgets.Layout(width="36em")

    def slider(value: int, text: str) -> Any:
        return widgets.IntSlider(value=value, min=0, max=max(max_count, value), description=text,
                                 style=style, layout=layout)

    cells = {"a": slider(a, f"{labels[0]}, {outcome}"), "b": slider(n1 - a, f"{labels[0]}, not"),
             "c": slider(c, f"{labels[1]}, {outcome}"), "d": slider(n2 - c, f"{labels[1]}, not")}
    p0 = widgets.FloatSlider(value=baseline_risk, min=0.01, max=0.99, step=0.01, description="baseline risk",
                             readout_format=".0%", style=style, layout=layout)
    numbers_html, picture = widgets.HTML(), widgets.Output()

    def update(_: Any = None) -> None:
        ca, cb, cc, cd = (int(w.value) for w in cells.values())
        numbers = _explainer_numbers(ca, cb, cc, cd, float(p0.value))
        numbers_html.value = _explainer_html(numbers, float(p0.value))
        picture.clear_output(wait=True)
        if numbers:
            with picture:
                p = icon_array(ca, ca + cb, cc, cc + cd, labels=labels, outcome=outcome, context="notebook")
                display(p.figure)
                plt.close(p.figure)

    for w in (*cells.values(), p0):
        w.observe(update, names="value")
    update()
    return widgets.VBox([widgets.VBox([*cells.values(), p0]), numbers_html, picture])
