"""Self-contained HTML report of the findings ledger and the study registry.

One HTML file: inline CSS, figures embedded as base64 PNG (matplotlib figures
rendered on the Agg canvas; importing this module leaves matplotlib's backend
alone), no scripts and no external resources.  Sections: a table of
contents; the verdicts defined with a headline count per verdict; effect
claims and descriptive figures in separate tables (claim, exact quote and
its document title, section and line, printed vs what the data give, in
words, verdict, what differs, conditions, missing inputs); where the
documents disagree with each other; a forest plot of the odds ratios the
registry holds, the Cambridge 2x2 table behind OR 7.0, the analyst's toolkit
(forest, funnel, radial, Baujat, GOSH, L'Abbe) on the candidate effect sizes;
the registry's results with where every number was read; and the numbers set
aside, with their reasons.

The candidate effect sizes (:func:`evidence.review.registry.candidate_effect_sizes`)
are the registry's odds ratios that come with a confidence interval.  They are
*not* the review's inputs: the five odds ratios behind the review's "average
odds ratio 3.4" were not found in any source read.  Several candidates come from one cohort
(the Mater-University study) and are not independent, so pooling takes one per
study (the result whose ``pool_reason`` says why: :func:`evidence.review.registry.one_per_study`).
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from evidence.effect_sizes import odds_ratio
from evidence.review import documents
from evidence.review import registry as reg
from evidence.review.findings import (
    CHECKS,
    CONTRADICTED,
    DESCRIPTIVE_VERDICTS,
    EFFECT_VERDICTS,
    QUANTITY_WORDS,
    VERDICT_DEFINITIONS,
    VERDICTS,
    Finding,
    check_findings,
    check_links,
    load_claims,
)
from evidence.review.output import write_text_atomic
from evidence.review.registry import CANDIDATES_CAVEAT, candidate_effect_sizes

__all__ = ["render_html", "write_report", "forest_figure", "cambridge_table_figure",
           "ReportFigure", "toolkit_figures"]

_VERDICT_COLOURS = {
    "reproduced": "#1b7837",
    "consistent within rounding": "#5aae61",
    "misattributed": "#e08214",
    "contradicted": "#c51b7d",
    "not reproducible from public data": "#8c8c8c",
    "traced": "#2166ac",
    "untraced": "#6b6b9a",
}

_CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1,h2{font-family:Helvetica,Arial,sans-serif}
table{border-collapse:collapse;width:100%;font-size:0.85em;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#f0f0f0}
.verdict{color:#fff;padding:1px 5px;border-radius:3px;white-space:nowrap;font-family:Helvetica,Arial,sans-serif}
blockquote{margin:0.2em 0;padding-left:0.6em;border-left:3px solid #ccc;color:#444;font-style:italic}
.small{font-size:0.85em;color:#555}
figure{margin:1em 0}
img{max-width:100%;height:auto}
figcaption{font-size:0.85em;color:#444}
"""


def _agg(fig: Figure) -> Figure:
    """``fig`` taken out of pyplot's figure manager and put on an Agg canvas.

    The library's plots draw on a new pyplot figure; the report keeps none of
    them open in pyplot (so a notebook does not show them twice or leak them)
    and renders them with Agg whatever the session's backend.  Nothing here
    calls ``matplotlib.use``.
    """
    import matplotlib.pyplot as plt

    plt.close(fig)  # a no-op for a figure pyplot does not manage
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    _agg(fig).savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _forest_rows(studies: str | Path | None) -> pd.DataFrame:
    df = reg.load_studies(studies)
    # odds ratios only: a risk ratio (e.g. the Danish cohort's) is not drawn on an OR axis
    rows = df[(df["measure"] == "odds_ratio") & df["estimate"].notna()].copy()
    rows["label"] = rows["result"] + "  [" + rows["estimate_seen_in"].fillna("?") + "]"
    return rows.reset_index(drop=True)


def forest_figure(studies: str | Path | None = None) -> tuple[Figure, str]:
    """Forest plot of every odds ratio in the registry (point estimates; CIs where reported).

    Drawn with :func:`evidence.plots.forest`; nothing is pooled.  The source
    type (primary / review / secondary) is in the label.  Returns the figure
    and a note for the caption.
    """
    from evidence.plots import forest

    rows = _forest_rows(studies)
    frame = rows[["estimate", "ci_low", "ci_high"]].copy()
    frame["label"] = rows["label"]
    drawn = forest(frame, ratio_scale=True, measure="OR", columns=("estimate",))
    return _agg(drawn.figure), "Drawn with evidence.plots.forest; 'NA' marks an interval that no source reports."


def cambridge_table_figure(studies: str | Path | None = None) -> tuple[Figure, str]:
    """The Cambridge 2x2 table behind the printed OR (``cambridge.conviction_19_32``) as a bar chart.

    Returns the figure and a note saying which counts are reconstructed and from what.
    """
    r = reg.find_result("cambridge.conviction_19_32", studies)
    cells = ("events_exposed", "n_exposed", "events_unexposed", "n_unexposed")
    counts = [r.value(k) for k in cells]
    if any(c is None for c in counts):
        raise ValueError(f"result {r.id!r}: the counts {', '.join(cells)} are needed for the 2x2 figure; "
                         f"got {counts}.")
    e1, n1, e0, n0 = (int(c) for c in counts if c is not None)
    res = odds_ratio(e1, n1, e0, n0)
    fig = Figure(figsize=(6.5, 3.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    groups = ["no imprisonment\nor separation", "separated by parental\nimprisonment (0-10)"]
    conv, ns = [e0, e1], [n0, n1]
    pct = [100 * c / n for c, n in zip(conv, ns, strict=True)]
    ax.barh(groups, pct, color="#c51b7d", label="convicted 19-32")
    ax.barh(groups, [100 - p for p in pct], left=pct, color="#d9d9d9", label="not convicted")
    for i, (c, n, p) in enumerate(zip(conv, ns, pct, strict=True)):
        ax.text(p + 1, i, f"{c}/{n} = {p:.1f}%", va="center", color="black", fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_xlabel("per cent of group")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"OR = ({e1}x{n0 - e0})/({n1 - e1}x{e0}) = {res.estimate:.2f} "
                 f"({res.ci_low:.2f}, {res.ci_high:.2f}); RR = {(e1 / n1) / (e0 / n0):.2f}", fontsize=9)
    fig.tight_layout()
    recon = [k for k in cells if r.q(k).status == "reconstructed"]
    pcts = [r.value(k) for k in ("pct_exposed", "pct_unexposed")]
    note = (f"Counts {e1}/{n1} and {e0}/{n0}: "
            + (f"{', '.join(recon)} reconstructed" + (f" from the printed {pcts[0]:g}% and {pcts[1]:g}%"
                                                       if None not in pcts else "")
               + f" (see studies/{reg.load_study(r.study, studies).file}); not printed in any source read."
               if recon else "as printed."))
    return fig, note


# --------------------------------------------------------------------------- analyst's toolkit
@dataclass(frozen=True, eq=False)
class ReportFigure:
    """A figure of the report: its HTML id, the matplotlib figure, alt text, caption, and the numbers drawn.

    ``numbers`` holds the results the figure was drawn from (e.g. ``"plot"``, the
    :class:`evidence.plots.PlotResult`, and the fitted analyses) so that tests
    can check the figure against them.
    """

    id: str
    figure: Figure
    alt: str
    caption: str
    numbers: dict[str, Any]

    def __repr__(self) -> str:
        return f"ReportFigure(id={self.id!r})"


def _toolkit_analyses(cand: pd.DataFrame) -> dict:
    from evidence import meta_analysis

    one = cand[cand["pooled"]]
    return {
        "one": one,
        "knha": meta_analysis(one["yi"], one["vi"], method="REML", test="knha", labels=list(one["label"])),
        "z": meta_analysis(one["yi"], one["vi"], method="REML", test="z", labels=list(one["label"])),
        "every": meta_analysis(cand["yi"], cand["vi"], method="REML", test="knha",
                               labels=list(cand["label"])),
    }


def _ratio(x: float) -> str:
    if not np.isfinite(x):
        return "NA"
    return f"{x:.2g}" if x < 0.01 else f"{x:.2f}" if x < 100 else f"{x:,.0f}"


@dataclass(frozen=True, eq=False)
class _Toolkit:
    """What every toolkit figure draws from: the candidates, the fits, and the most influential result."""

    cand: pd.DataFrame
    fits: dict[str, Any]
    yi: np.ndarray
    vi: np.ndarray
    labels: list[str]
    bj: Any
    top: int

    @property
    def k1(self) -> int:
        return len(self.fits["one"])

    @property
    def kall(self) -> int:
        return len(self.cand)


def _toolkit_inputs(cand: pd.DataFrame) -> _Toolkit:
    from evidence import baujat

    yi, vi, labels = cand["yi"].to_numpy(), cand["vi"].to_numpy(), list(cand["label"])
    bj = baujat(yi, vi, method="REML", labels=labels)
    return _Toolkit(cand=cand, fits=_toolkit_analyses(cand), yi=yi, vi=vi, labels=labels, bj=bj,
                    top=int(np.argsort(-bj.x)[0]))


def _toolkit_forest_rows(t: _Toolkit) -> pd.DataFrame:
    """Rows of the toolkit forest: every candidate by country, then the pooled diamonds and prediction intervals."""
    exp, cand, k1, kall = np.exp, t.cand, t.k1, t.kall
    knha, zres, every = t.fits["knha"], t.fits["z"], t.fits["every"]
    weights = dict(zip(t.fits["one"]["result"], knha.weights, strict=True))
    frame = pd.DataFrame({
        "label": [f"{r.label} [{'pooled' if r.pooled else 'not pooled'}]" for r in cand.itertuples()],
        "estimate": cand["estimate"], "ci_low": cand["ci_low"], "ci_high": cand["ci_high"],
        "weight": [weights.get(r, np.nan) for r in cand["result"]],
        "subgroup": [f"{country} ({str(study).replace('_', ' ').title()})"
                     for country, study in zip(cand["country"], cand["study"], strict=True)],
        "kind": "study",
    })
    pooled_rows = pd.DataFrame([
        {"label": f"One per study: REML, Knapp-Hartung (k = {k1})", "kind": "pooled",
         "estimate": exp(knha.estimate), "ci_low": exp(knha.ci_low), "ci_high": exp(knha.ci_high)},
        {"label": f"  prediction interval (t, {k1 - 1} df)", "kind": "prediction",
         "estimate": exp(knha.estimate), "ci_low": exp(knha.pi_low), "ci_high": exp(knha.pi_high)},
        {"label": f"One per study: REML, z test (k = {k1})", "kind": "pooled",
         "estimate": exp(zres.estimate), "ci_low": exp(zres.ci_low), "ci_high": exp(zres.ci_high)},
        {"label": "  prediction interval (z)", "kind": "prediction",
         "estimate": exp(zres.estimate), "ci_low": exp(zres.pi_low), "ci_high": exp(zres.pi_high)},
        {"label": f"All {kall} as if independent (they are not)", "kind": "pooled",
         "estimate": exp(every.estimate), "ci_low": exp(every.ci_low), "ci_high": exp(every.ci_high)},
    ]).assign(weight=np.nan, subgroup=None)
    return pd.concat([frame, pooled_rows], ignore_index=True)


def _toolkit_forest(t: _Toolkit) -> ReportFigure:
    """Every candidate grouped by country, pooled or not; diamonds for KH, z and all candidates."""
    from evidence import plots

    exp, k1, kall = np.exp, t.k1, t.kall
    knha, zres, every = t.fits["knha"], t.fits["z"], t.fits["every"]
    rows = _toolkit_forest_rows(t)
    studies_only = rows[rows["kind"] == "study"]
    lo = float(min(studies_only["ci_low"].min(), exp(zres.pi_low), 1.0)) / 1.5
    hi = float(max(studies_only["ci_high"].max(), exp(zres.pi_high))) * 1.5
    drawn = plots.forest(rows, ratio_scale=True, measure="OR", columns=("estimate", "weight"), xlim=(lo, hi))
    n_clipped = int(drawn.data["clipped_low"].sum() + drawn.data["clipped_high"].sum())
    drawn.ax.set_title("Candidate effect sizes - NOT the review's inputs", loc="left", fontsize=10)
    return ReportFigure(
        id="toolkit-forest", figure=_agg(drawn.figure), alt="forest plot of the candidate effect sizes by country",
        caption=(
            f"{CANDIDATES_CAVEAT} Squares: reported odds ratios with their 95% CIs, grouped by country "
            f"(cohort); the {kall - k1} results marked 'not pooled' come from the same cohort as a pooled "
            f"one and share its children. Black diamonds: pooled odds ratios (REML). With one result per "
            f"study (k = {k1}) the Knapp-Hartung interval uses a t distribution with {k1 - 1} df and runs "
            f"from {_ratio(exp(knha.ci_low))} to {_ratio(exp(knha.ci_high))}; red lines are prediction "
            f"intervals; arrowheads mark intervals that run off the axis (their numbers are in the right "
            f"column). The last diamond pools all {kall} candidates as if they were independent studies: "
            f"it hides the disagreement between the cohorts (tau^2 = {max(every.tau2, 0.0):.2f} against "
            f"{knha.tau2:.2f} with one result per study; Q = {knha.q:.2f}, p = {knha.q_pvalue:.3f})."
        ),
        numbers={"plot": drawn, "n_clipped": n_clipped, **t.fits})


def _toolkit_funnel(t: _Toolkit) -> ReportFigure:
    """Contour-enhanced funnel with trim and fill, on all candidates as if independent."""
    from evidence import begg_test, egger_test, plots, trim_and_fill

    exp, cand, yi, vi, labels, k1, kall = np.exp, t.cand, t.yi, t.vi, t.labels, t.k1, t.kall
    tf = trim_and_fill(yi, vi, method="REML", labels=labels)
    egger, begg = egger_test(yi, vi), begg_test(yi, vi)
    fun = plots.funnel(tf, ratio_scale=True, xlabel="Odds ratio (log scale)")
    fun.ax.set_title(f"All {kall} candidates as if independent - NOT the review's inputs", loc="left",
                     fontsize=10)
    chosen = cand["pooled"].to_numpy()
    fun.ax.scatter(exp(yi[chosen]), np.sqrt(vi[chosen]), s=90, facecolors="none", edgecolors="firebrick",
                   zorder=4, gid="pooled_studies", label="pooled (one per study)")
    fun.ax.legend(loc="lower right", fontsize=8)
    x0, x1 = fun.ax.get_xlim()
    fun.ax.set_xlim(x0, max(x1, 1.3 * float(exp(yi.max()))))
    return ReportFigure(
        id="toolkit-funnel", figure=_agg(fun.figure), alt="contour-enhanced funnel plot of the candidates",
        caption=(
            f"{CANDIDATES_CAVEAT} Contour-enhanced funnel plot (Peters et al. 2008) of all {kall} candidates "
            f"treated as independent, which they are not; red rings mark the {k1} pooled one per study. "
            f"White: p > 0.10 against OR 1; darker greys: 0.05-0.10 and 0.01-0.05; light grey: p < 0.01. "
            f"Dashed: pseudo 95% region around the pooled estimate. Egger's test z = {egger.statistic:.2f} "
            f"(p = {egger.p_value:.3f}), Begg's Kendall tau = {begg.statistic:.2f} (p = {begg.p_value:.3f}), trim "
            f"and fill imputes {tf.k0} studies. With k = {kall} (and k = {k1} for one per study, where "
            f"Egger's and Begg's tests cannot be run at all) these tests have almost no power: Sterne et "
            f"al. (2011, BMJ 343:d4002) recommend them only with at least 10 studies. Any asymmetry here "
            f"is {labels[t.top]} against the other {kall - 1} results; "
            f"{int((cand['study'] == cand['study'].mode()[0]).sum())} of the {kall} candidates come "
            f"from one cohort ({cand['study'].mode()[0]})."
        ),
        numbers={"plot": fun, "trimfill": tf, "egger": egger, "begg": begg})


def _toolkit_radial(t: _Toolkit) -> ReportFigure:
    """Radial (Galbraith) plot of all candidates as if independent; results outside the band labelled."""
    from evidence import plots

    every, kall = t.fits["every"], t.kall
    rad = plots.radial(every, labels=t.labels)
    outside = np.abs(rad.data["y"] - rad.arrays["slope"][0] * rad.data["x"]) > (
        rad.arrays["band_high"][0] - rad.arrays["line_y"][0])
    for r in rad.data[outside].itertuples():
        rad.ax.annotate(r.label, (r.x, r.y), textcoords="offset points", xytext=(6, -3), fontsize=8)
    rad.ax.set_title(f"All {kall} candidates as if independent - NOT the review's inputs", loc="left",
                     fontsize=10)
    return ReportFigure(
        id="toolkit-radial", figure=_agg(rad.figure), alt="radial (Galbraith) plot of the candidates",
        caption=(
            f"{CANDIDATES_CAVEAT} Radial (Galbraith) plot of all {kall} candidates as if independent: "
            f"standardized log OR against precision; the slope of the solid line is the pooled log OR "
            f"(OR {np.exp(every.estimate):.2f}), and studies consistent with it lie between the dashed lines "
            f"(+/- 1.96). Outside the band (labelled): "
            f"{'; '.join(rad.data.loc[outside, 'label']) or 'none'}."
        ),
        numbers={"plot": rad})


def _toolkit_baujat(t: _Toolkit) -> ReportFigure:
    """Baujat plot: each candidate's contribution to Q against its influence on the pooled estimate."""
    from evidence import plots

    bj, labels, k1, kall = t.bj, t.labels, t.k1, t.kall
    short = [f"{i + 1}" for i in range(kall)]
    bjp = plots.baujat(bj, labels=short)
    bjp.ax.set_title(f"All {kall} candidates as if independent - NOT the review's inputs", loc="left",
                     fontsize=10)
    key = "; ".join(f"{s} = {lab}" for s, lab in zip(short, labels, strict=True))
    return ReportFigure(
        id="toolkit-baujat", figure=_agg(bjp.figure), alt="Baujat plot of the candidates",
        caption=(
            f"{CANDIDATES_CAVEAT} Baujat plot of all {kall} candidates as if independent: each result's "
            f"contribution to the heterogeneity statistic (x) against its influence on the pooled "
            f"estimate (y). Points: {key}. {labels[t.top]} contributes {bj.x[t.top]:.1f} of "
            f"Q = {t.fits['every'].q:.1f}."
            + (f" With one result per study (k = {k1}) both studies contribute to Q and leaving either "
               f"out leaves the other alone." if k1 == 2 else "")
        ),
        numbers={"plot": bjp, "baujat": bj})


def _toolkit_gosh(t: _Toolkit) -> ReportFigure:
    """GOSH plot of every subset of the candidates; subsets with the most influential result in red."""
    from evidence import gosh, leave_one_out, plots

    exp, one, knha, labels, top, k1, kall = np.exp, t.fits["one"], t.fits["knha"], t.labels, t.top, t.k1, t.kall
    gs = gosh(t.yi, t.vi, method="REML", progress=False, labels=labels)
    gp = plots.gosh(gs, ratio_scale=True)
    with_top = gs.membership[:, top]
    gp.ax.scatter(exp(gs.estimate[with_top]), gs.i2[with_top], s=8, color="firebrick", linewidths=0,
                  gid="subsets_with_top", label=f"subsets with {labels[top]}")
    gp.ax.legend(loc="upper left", fontsize=8)
    gp.ax.set_title(f"All {2 ** kall - 1} subsets of {kall} candidates - NOT the review's inputs", loc="left",
                    fontsize=10)
    gone = gosh(one["yi"], one["vi"], method="REML", progress=False)
    loo = leave_one_out(one["yi"], one["vi"], method="REML", labels=list(one["label"]))
    return ReportFigure(
        id="toolkit-gosh", figure=_agg(gp.figure), alt="GOSH plot of the candidates",
        caption=(
            f"{CANDIDATES_CAVEAT} GOSH plot (Olkin et al. 2012): the pooled OR (REML) and I^2 of every one "
            f"of the {len(gs)} non-empty subsets of the {kall} candidates treated as independent. Red: "
            f"subsets containing {labels[top]} (the largest contribution to Q): I^2 up to "
            f"{gs.i2[with_top].max():.0f}%, against at most {gs.i2[~with_top].max():.0f}% without it. "
            f"With one result per study there are {len(gone)} subsets"
            + (f": the two studies alone (leave-one-out ORs "
               f"{', '.join(_ratio(x) for x in exp(loo.estimate))}) and both together "
               if k1 == 2 else f"; leave-one-out ORs {', '.join(_ratio(x) for x in exp(loo.estimate))}; all "
               f"{k1} together ")
            + f"(OR {exp(knha.estimate):.2f}, I^2 = {knha.i2:.0f}%)."
        ),
        numbers={"plot": gp, "gosh": gs, "gosh_one": gone, "leave_one_out": loo})


def _toolkit_labbe(t: _Toolkit, studies: str | Path | None) -> ReportFigure | None:
    """L'Abbe plot of the registry's 2x2 tables (reconstructed counts labelled); None when there are none."""
    from evidence import plots

    exp, knha = np.exp, t.fits["knha"]
    df = reg.load_studies(studies)
    cnt = ["events_exposed", "n_exposed", "events_unexposed", "n_unexposed"]
    tables = df[df[cnt].notna().all(axis=1)].reset_index(drop=True)
    if not len(tables):
        return None
    recon = (tables[[c + "_status" for c in cnt]] == "reconstructed").any(axis=1)
    lab = [f"{r.result}" + (" (reconstructed counts)" if rc else "")
           for r, rc in zip(tables.itertuples(), recon, strict=True)]
    lb = plots.labbe(tables["events_exposed"], tables["n_exposed"], tables["events_unexposed"],
                     tables["n_unexposed"], pooled_or=float(exp(knha.estimate)), labels=lab)
    for r in lb.data.itertuples():
        lb.ax.annotate(f"{r.label}\n{r.rate_exposed:.0%} vs {r.rate_unexposed:.0%}",
                       (r.rate_unexposed, r.rate_exposed), textcoords="offset points",
                       xytext=(12, -4), fontsize=8, va="top")
    lb.ax.set_title("2x2 tables in the registry", loc="left", fontsize=10)
    lb.ax.legend(lb.ax.lines[:2], ["no effect (OR 1)",
                                   f"pooled candidate OR {exp(knha.estimate):.2f} (one per study)"],
                 loc="lower right", fontsize=8)
    partial = df[df[cnt].notna().any(axis=1) & ~df[cnt].notna().all(axis=1)]
    return ReportFigure(
        id="toolkit-labbe", figure=_agg(lb.figure), alt="L'Abbe plot of the registry's 2x2 tables",
        caption=(
            f"L'Abbe plot of the {len(tables)} 2x2 table(s) the registry holds: the rate among children "
            f"of imprisoned parents against the rate among the comparison children. "
            f"{int(recon.sum())} of them use counts reconstructed from printed percentages (labelled). "
            f"The red curve is where a study with the pooled candidate OR {exp(knha.estimate):.2f} would "
            f"lie ({CANDIDATES_CAVEAT[:-1].lower()}). No other result in the registry has counts for "
            f"both groups" + (f"; {', '.join(partial['result'])} has counts for one group only"
                              if len(partial) else "") + "."
        ),
        numbers={"plot": lb, "tables": tables})


def toolkit_figures(studies: str | Path | None = None) -> tuple[ReportFigure, ...]:
    """The analyst's toolkit drawn on the candidate effect sizes (:func:`candidate_effect_sizes`).

    * ``toolkit-forest``: every candidate, grouped by country, marked pooled or
      not; diamonds for REML with the Knapp-Hartung test and with the z test on
      one result per study, with the prediction interval, and for all
      candidates pooled as if independent (which they are not);
    * ``toolkit-funnel`` (contour-enhanced, with trim and fill), ``toolkit-radial``,
      ``toolkit-baujat`` and ``toolkit-gosh``: on all candidates as if
      independent -- with one result per study there are too few studies for
      these to show anything (the captions give the one-per-study numbers);
    * ``toolkit-labbe``: the registry's 2x2 tables (reconstructed counts are labelled).

    Returns an empty tuple when fewer than two studies have a candidate.
    Captions say that the inputs are candidates, not the review's inputs.
    Each figure is a :class:`matplotlib.figure.Figure` drawn on the Agg canvas
    and not registered with pyplot (a notebook's backend and open figures are
    left alone).
    """
    cand = candidate_effect_sizes(studies)
    if cand["pooled"].sum() < 2 or len(cand) < 3:
        return ()
    t = _toolkit_inputs(cand)
    figs = [_toolkit_forest(t), _toolkit_funnel(t), _toolkit_radial(t), _toolkit_baujat(t), _toolkit_gosh(t)]
    labbe = _toolkit_labbe(t, studies)
    return tuple(figs + ([labbe] if labbe is not None else []))


def _toolkit_html(studies: str | Path | None) -> list[str]:
    """The section "Analyst's toolkit on the candidate effect sizes"."""
    e = html.escape
    cand = candidate_effect_sizes(studies)
    out = ["<h2 id='toolkit'>Analyst's toolkit on the candidate effect sizes</h2>",
           f"<p><b>{e(CANDIDATES_CAVEAT)}</b> The figures below show what the standard tools of a "
           f"meta-analysis say about the odds ratios the registry holds with a confidence interval. "
           f"Several come from the same cohort and are not independent: pooling takes one result per "
           f"study (the table says which and why). Nothing here estimates the review's 3.4.</p>",
           "<table><tr><th>candidate</th><th>country</th><th>OR (95% CI)</th><th>log OR (SE)</th>"
           "<th>pooled?</th></tr>"]
    for r in cand.itertuples():
        out.append(f"<tr><td>{e(str(r.label))}<br><span class='small'>{e(str(r.exposure))} / "
                   f"{e(str(r.outcome))}</span></td><td>{e(str(r.country))}</td>"
                   f"<td>{r.estimate:g} ({r.ci_low:g}, {r.ci_high:g})</td>"
                   f"<td>{r.yi:.3f} ({r.se:.3f})</td>"
                   f"<td>{'yes' if r.pooled else 'no'}: <span class='small'>{e(str(r.choice))}</span></td></tr>")
    out.append("</table><p class='small'>SE from the reported interval: (ln high - ln low) / (2 x 1.96) "
               "(evidence.published.se_from_ci).</p>")
    figs = toolkit_figures(studies)
    if not figs:
        out.append("<p>Fewer than two studies have an odds ratio with an interval: nothing to pool.</p>")
    for f in figs:
        out.append(f"<figure id='{f.id}'><img alt='{e(f.alt)}' src='data:image/png;base64,"
                   f"{_png(f.figure)}'><figcaption>{e(f.caption)}</figcaption></figure>")
    return out


def _verdict(v: str) -> str:
    return f'<span class="verdict" style="background:{_VERDICT_COLOURS[v]}">{html.escape(v)}</span>'


_FIELD_WORDS = QUANTITY_WORDS
_ID_RE = re.compile(r"\b(claim )?([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)(?:\.(" + "|".join(_FIELD_WORDS) + r"))?\b")


def _id_words(studies: str | Path | None) -> Callable[[str], str]:
    """A function rewriting internal ids (results, claims, fields) in a text into words."""
    labels: dict[str, str] = {}
    for s in reg.load_registry(studies):
        name = s.name.split(" (")[0]
        for r in s.results:
            labels[r.id] = f"{name}, {r.outcome.split(' (')[0]}"
    claims = {c.id: c for c in load_claims(studies=studies)}

    def words(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            cid, field = m.group(2), m.group(3)
            if cid in claims:
                c = claims[cid]
                where = "registry" if c.document.startswith("registry:") else documents.document(c.document).short
                return f"the finding '{c.reported}' ({where})"
            if cid in labels:
                return labels[cid] + (f": {_FIELD_WORDS[field]}" if field else "")
            return m.group(0)

        return _ID_RE.sub(one, text)

    return words


def _how_checked(check: str) -> str:
    """The first paragraph of the check's docstring, without reStructuredText markup."""
    doc = (CHECKS[check].__doc__ or "").strip().split("\n\n")[0]
    doc = re.sub(r":\w+:`~?([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], doc)
    return " ".join(doc.replace("``", "'").split())


def _finding_rows(findings: Sequence[Finding], words: Callable[[str], str]) -> list[str]:
    e = html.escape
    out = ["<table><tr><th>claim, as printed, and where</th><th>printed</th><th>what the data give</th>"
           "<th>verdict</th></tr>"]
    for f in findings:
        extra = []
        if f.mismatches:
            extra.append("<b>What differs:</b> " + "; ".join(
                e(f"{d}: the sentence says '{c}', the data are for '{x}'") for d, c, x in f.mismatches))
        if f.condition:
            extra.append("<b>Condition:</b> " + e(f.condition))
        if f.missing_inputs:
            extra.append("<b>Missing:</b> " + e(words("; ".join(f.missing_inputs))))
        if f.note:
            extra.append("<b>Note:</b> " + e(words(f.note)))
        extra.append(f"<b>How it was checked:</b> {e(words(_how_checked(f.check)))} <b>Tolerance:</b> "
                     f"{e(f.tolerance)}")
        out.append(
            f"<tr id='finding-{e(f.id)}'><td>{e(f.claim)}<blockquote>{e(f.quote)}</blockquote>"
            f"<span class='small'>{e(f.source)}</span></td><td>{e(f.reported)}</td>"
            f"<td>{e(words(f.computed))}<p class='small'>{'<br>'.join(extra)}</p></td>"
            f"<td>{_verdict(f.verdict)}</td></tr>")
    out.append("</table>")
    return out


#: The finding shown as each verdict's example when it has that verdict.
_EXAMPLES = {
    "reproduced": "moj.visits_direction", "consistent within rounding": "review.cambridge_conviction_or",
    "misattributed": "policis.sixty_five_percent", "contradicted": "policis.visits_38_less_likely",
    "not reproducible from public data": "review.average_or", "traced": "review.cambridge_sample",
    "untraced": "review.women_prisoners_mothers",
}


def _summary_html(findings: Sequence[Finding]) -> list[str]:
    """Verdict definitions with the counts per verdict, effect claims and descriptive figures apart."""
    e = html.escape
    eff = Counter(f.verdict for f in findings if f.kind == "effect")
    des = Counter(f.verdict for f in findings if f.kind == "descriptive")
    n_eff, n_des = sum(eff.values()), sum(des.values())
    out = ["<h2 id='verdicts'>1. What the verdicts mean, and how many of each</h2>",
           f"<p><b>Headline.</b> Of {n_eff} effect claims (what parental imprisonment does, or how two groups "
           "differ), " + ", ".join(f"{eff.get(v, 0)} {v}" for v in EFFECT_VERDICTS) + f". Of {n_des} "
           "descriptive figures (counts, shares, sample sizes), "
           + ", ".join(f"{des.get(v, 0)} {v}" for v in DESCRIPTIVE_VERDICTS)
           + (f" and {des[CONTRADICTED]} contradicted by their own arithmetic" if des.get(CONTRADICTED) else "")
           + ". 'Not reproducible' is used for effect claims only: it means the public data cannot check the "
           "claim, not that the claim is wrong; 'untraced' means the same for a descriptive figure.</p>",
           "<table><tr><th>verdict</th><th>what it means</th><th>effect claims</th><th>descriptive figures</th>"
           "<th>example</th></tr>"]
    for v in VERDICTS:
        ex = next((f for f in findings if f.verdict == v and f.id == _EXAMPLES.get(v)),
                  next((f for f in findings if f.verdict == v), None))
        example = (f"<a href='#finding-{e(ex.id)}'>{e(ex.claim)}</a>" if ex is not None else "")
        out.append(f"<tr><td>{_verdict(v)}</td><td>{e(VERDICT_DEFINITIONS[v])}</td><td>{eff.get(v, 0)}</td>"
                   f"<td>{des.get(v, 0)}</td><td class='small'>{example}</td></tr>")
    out.append("</table>")
    changed = [f for f in findings if not f.matches_expected]
    if changed:
        out.append("<p><b>Verdicts that differ from the ledger:</b> "
                   + ", ".join(e(f"{f.claim} ({f.expected} -> {f.verdict})") for f in changed) + "</p>")
    return out


def _links_html(words: Callable[[str], str]) -> list[str]:
    e = html.escape
    out = ["<h2 id='disagreements'>4. Where the documents disagree with each other</h2>",
           "<p>Claims in different documents that state the same quantity are linked in the ledger "
           "(<code>studies/claims/links.yaml</code>). Values further apart than the tolerance disagree.</p>"]
    for x in check_links():
        state = ("<b>disagree</b>" if not x.agree else "agree")
        out.append(f"<h3 id='link-{e(x.id)}'>{e(x.quantity[0].upper() + x.quantity[1:])}: {state}</h3>"
                   "<table><tr><th>document, section, line</th><th>printed</th><th>value</th></tr>")
        for cid, src, v, printed in x.entries:
            out.append(f"<tr><td><a href='#finding-{e(cid)}'>{e(src)}</a></td><td>{e(printed)}</td>"
                       f"<td>{v:,.6g}</td></tr>")
        out.append(f"</table><p class='small'>Tolerance {x.tolerance:g}; values differ by at most "
                   f"{x.spread:,.6g}. {e(words(x.note))}</p>")
    return out


def _exclusions_html(words: Callable[[str], str]) -> list[str]:
    e = html.escape
    excl = documents.load_exclusions()
    by_doc = Counter(documents.document(x.file).title for x in excl)
    quotes: dict[str, list[str]] = {}
    for c in load_claims():
        quotes.setdefault(c.document, []).append(c.quote)
    uncovered = documents.uncovered_numbers(quotes, excl)
    out = ["<h2 id='not-checked'>7. What was not checked, and why</h2>",
           "<p>Every number printed in the five documents is either a claim above or set aside in "
           "<code>studies/claims/exclusions.yaml</code> with its reason (a test scans the documents and fails "
           "on a number that is neither). Set aside: " + "; ".join(f"{n} rule(s) in {e(t)}"
                                                                  for t, n in by_doc.items()) + ".</p>",
           "<table><tr><th>document</th><th>numbers printed (digits and number words)</th><th>claims</th>"
           "<th>numbers neither claimed nor excluded</th></tr>"]
    for d in documents.load_catalog():
        out.append(f"<tr><td>{e(d.title)} ({e(d.author)}, {e(d.year)})</td>"
                   f"<td>{len(documents.numbers_in(d.file))}</td><td>{len(quotes.get(d.file, []))}</td>"
                   f"<td>{sum(m.file == d.file for m in uncovered)}</td></tr>")
    out.append("</table><ul>")
    for x in excl:
        where = (f"lines {x.lines[0]}-{x.lines[1]}" if x.lines else f"'{x.quote}'" if x.quote else "a pattern")
        out.append(f"<li class='small'>{e(documents.document(x.file).short)}, {e(where)}: {e(words(x.reason))}</li>")
    out.append("</ul>")
    return out


def _figure(fid: str, png: str, alt: str, caption: str) -> str:
    e = html.escape
    return (f"<figure id='{fid}'><img alt='{e(alt)}' src='data:image/png;base64,{png}'>"
            f"<figcaption>{caption}</figcaption></figure>")


def render_html(findings: Sequence[Finding], studies: str | Path | None = None) -> str:
    """The report as one self-contained HTML string.

    Sections: a table of contents; the verdicts defined, with a headline count per verdict; effect
    claims; descriptive figures; where the documents disagree; figures; the registry; what was not
    checked.  Sources are named by document title, section and line; internal ids are put in words.
    """
    e = html.escape
    words = _id_words(studies)
    forest, forest_note = forest_figure(studies)
    camb, camb_note = cambridge_table_figure(studies)
    effect = [f for f in findings if f.kind == "effect"]
    descriptive = [f for f in findings if f.kind == "descriptive"]
    toolkit_ids = ("toolkit-forest", "toolkit-funnel", "toolkit-radial", "toolkit-baujat", "toolkit-gosh",
                   "toolkit-labbe")
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>evidence: findings reproduced</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Children of prisoners: the review's findings, rechecked</h1>",
        "<p>Every number printed in SCIE Guide 22 <i>Children of prisoners - maintaining family ties</i> "
        "(2008) and in four practitioner documents that quote it is either checked here against the study "
        "registry (<code>studies/*.yaml</code>, where each number carries its source and a status: reported, "
        "reconstructed, or missing) or set aside with a reason (section 7).</p>",
        "<nav><h2>Contents</h2><ol>"
        "<li><a href='#verdicts'>What the verdicts mean, and how many of each</a></li>"
        "<li><a href='#effects'>Effect claims</a></li>"
        "<li><a href='#descriptive'>Descriptive figures</a></li>"
        "<li><a href='#disagreements'>Where the documents disagree with each other</a></li>"
        "<li><a href='#figures'>Figures</a><ul>"
        "<li><a href='#fig-registry-forest'>Odds ratios in the registry</a></li>"
        "<li><a href='#fig-cambridge'>The Cambridge table behind '65%' and OR 7.0</a></li>"
        + "".join(f"<li><a href='#{t}'>Analyst's toolkit: {t.split('-', 1)[1]}</a></li>" for t in toolkit_ids)
        + "</ul></li><li><a href='#registry'>The registry's results</a></li>"
        "<li><a href='#not-checked'>What was not checked, and why</a></li></ol></nav>",
    ]
    out += _summary_html(findings)
    out.append("<h2 id='effects'>2. Effect claims</h2><p>Claims about what parental imprisonment does to "
               "children, or how visits relate to reoffending, recomputed from the registry.</p>")
    out += _finding_rows(effect, words)
    out.append("<h2 id='descriptive'>3. Descriptive figures</h2><p>Counts, shares and sample sizes. They "
               "are not effects of parental imprisonment; the question is whether they could be traced to a "
               "source that was read.</p>")
    out += _finding_rows(descriptive, words)
    out += _links_html(words)
    out.append("<h2 id='figures'>5. Figures</h2>")
    out.append(_figure("fig-registry-forest", _png(forest), "forest plot of registry odds ratios",
                       "Odds ratios in the registry with the source they were seen in. These are different "
                       f"exposures and outcomes and are not pooled. {e(forest_note)}"))
    out.append(_figure("fig-cambridge", _png(camb), "Cambridge 2x2 table",
                       f"Cambridge Study, conviction between 19 and 32. {e(camb_note)}"))
    out.extend(_toolkit_html(studies))
    out += _registry_html(studies)
    out += _exclusions_html(words)
    out.append("</body></html>")
    return "\n".join(out)


def _registry_html(studies: str | Path | None) -> list[str]:
    e = html.escape
    df = reg.load_studies(studies)
    quant = df[df["measure"] != "qualitative"]
    names = {s.id: s.name.split(" (")[0] for s in reg.load_registry(studies)}
    out = ["<h2 id='registry'>6. The registry's results</h2><table><tr><th>study: outcome</th>"
           "<th>exposure</th><th>n (exp / comp)</th><th>% (exp / comp)</th><th>estimate (CI)</th>"
           "<th>where the numbers were read</th></tr>"]

    def val(row: pd.Series, k: str) -> str:
        v = row[k]
        return "-" if pd.isna(v) else f"{v:g}"

    for _, row in quant.iterrows():
        st = ", ".join(f"{_FIELD_WORDS[k]}: {row[k + '_status']}"
                       + (f" ({row[k + '_seen_in']} source)" if row[k + '_seen_in'] else "")
                       for k in ("n_exposed", "events_exposed", "pct_exposed", "estimate")
                       if row[k + "_status"] != "missing")
        out.append(
            f"<tr><td>{e(names[row['study']])}: {e(row['outcome'])}</td><td>{e(row['exposure'])}</td>"
            f"<td>{val(row, 'n_exposed')} / {val(row, 'n_unexposed')}</td>"
            f"<td>{val(row, 'pct_exposed')} / {val(row, 'pct_unexposed')}</td>"
            f"<td>{val(row, 'estimate')} ({val(row, 'ci_low')}, {val(row, 'ci_high')})</td>"
            f"<td class='small'>{e(st) or 'all missing'}</td></tr>")
    out.append("</table><p class='small'>A 'review source' means the number was read only in the review, "
               "not in the primary paper. Missing numbers are never filled in.</p>")
    return out


def write_report(path: str | Path, findings: Sequence[Finding] | None = None,
                 studies: str | Path | None = None) -> Path:
    """Write the HTML report to ``path`` (parent folders created) atomically and return the path.

    The page is rendered first and then written to a temporary file in the
    same folder that replaces ``path`` in one step
    (:func:`evidence.review.output.write_text_atomic`): a reader or a
    concurrent writer never sees a truncated or mixed file.  OSError names the
    path when it cannot be written.
    """
    fs = findings if findings is not None else check_findings(studies=studies)
    return write_text_atomic(path, render_html(fs, studies))
