"""Self-contained HTML report of the findings ledger and the study registry.

One HTML file: inline CSS, figures embedded as base64 PNG (matplotlib, Agg
backend), no scripts and no external resources.  Sections: verdict summary,
every finding (claim, exact quote and where it is, reported vs computed,
verdict, tolerance, missing inputs), a forest plot of the odds ratios the
registry holds, the Cambridge 2x2 table behind OR 7.0, and the registry's
results with the status of every number.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from evidence import registry as reg  # noqa: E402
from evidence.effect_sizes import odds_ratio  # noqa: E402
from evidence.findings import VERDICTS, Finding, check_findings  # noqa: E402

__all__ = ["render_html", "write_report", "forest_figure", "cambridge_table_figure"]

_VERDICT_COLOURS = {
    "reproduced": "#1b7837",
    "consistent within rounding": "#5aae61",
    "not reproducible from public data": "#8c8c8c",
    "contradicted": "#c51b7d",
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
figcaption{font-size:0.85em;color:#444}
"""


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _forest_rows(studies: str | Path | None) -> pd.DataFrame:
    df = reg.load_studies(studies)
    rows = df[df["measure"].isin(["odds_ratio"]) & df["estimate"].notna()].copy()
    # the Danish cohort has a risk ratio; its OR is only implied -> not plotted as an OR
    rows["label"] = rows["result"] + "  [" + rows["estimate_seen_in"].fillna("?") + "]"
    return rows.reset_index(drop=True)


def forest_figure(studies: str | Path | None = None) -> tuple[plt.Figure, str]:
    """Forest plot of every odds ratio in the registry (point estimates; CIs where reported).

    Uses :func:`evidence.plots.forest` (nothing is pooled from the frame); a
    minimal matplotlib fallback is kept for when that module is absent.  Returns the figure and a note
    saying which was used.  Estimates without a reported interval are drawn as
    hollow markers; the source type (primary / review / secondary) is in the label.
    """
    rows = _forest_rows(studies)
    try:
        from evidence.plots import forest
    except ImportError:  # pragma: no cover - plots is part of the package
        forest = None
    if forest is not None:
        frame = rows[["estimate", "ci_low", "ci_high"]].copy()
        frame["label"] = rows["label"]
        drawn = forest(frame, ratio_scale=True, measure="OR", columns=("estimate",))
        return drawn.figure, ("Drawn with evidence.plots.forest; 'NA' marks an interval that no "
                              "source reports.")
    note = "Drawn with a minimal matplotlib forest plot in evidence/report.py (evidence.plots absent)."
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
    y = list(range(len(rows)))[::-1]
    for yi, r in zip(y, rows.itertuples()):
        has_ci = not (math.isnan(r.ci_low) or math.isnan(r.ci_high))
        if has_ci:
            ax.plot([r.ci_low, r.ci_high], [yi, yi], color="#333", lw=1.2)
        ax.plot([r.estimate], [yi], marker="s", ms=6, color="#333",
                markerfacecolor="#333" if has_ci else "white")
    ax.axvline(1.0, color="#999", lw=0.8, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(rows["label"], fontsize=8)
    ax.set_xlabel("odds ratio (log scale); hollow = no interval reported")
    ax.set_title("Odds ratios held in the study registry (not pooled)", fontsize=10)
    fig.tight_layout()
    return fig, note


def cambridge_table_figure(studies: str | Path | None = None) -> tuple[plt.Figure, str]:
    """The Cambridge 2x2 table behind OR 7.0 (reconstructed counts) as a bar chart with its table."""
    r = reg.find_result("cambridge.conviction_19_32", studies)
    e1, n1, e0, n0 = (int(r.value(k)) for k in ("events_exposed", "n_exposed",
                                                 "events_comparison", "n_comparison"))
    res = odds_ratio(e1, n1, e0, n0)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    groups = ["no imprisonment\nor separation", "separated by parental\nimprisonment (0-10)"]
    conv, ns = [e0, e1], [n0, n1]
    pct = [100 * c / n for c, n in zip(conv, ns)]
    ax.barh(groups, pct, color="#c51b7d", label="convicted 19-32")
    ax.barh(groups, [100 - p for p in pct], left=pct, color="#d9d9d9", label="not convicted")
    for i, (c, n, p) in enumerate(zip(conv, ns, pct)):
        ax.text(p + 1, i, f"{c}/{n} = {p:.1f}%", va="center", color="black", fontsize=9)
    ax.set_xlim(0, 100)
    ax.set_xlabel("per cent of group")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(f"OR = ({e1}x{n0 - e0})/({n1 - e1}x{e0}) = {res.estimate:.2f} "
                 f"({res.ci_low:.2f}, {res.ci_high:.2f}); RR = {(e1 / n1) / (e0 / n0):.2f}", fontsize=9)
    fig.tight_layout()
    note = ("Counts 15/23 and 48/227 are reconstructed from the printed 65% and 21% with the printed "
            "OR and interval (see studies/cambridge.yaml); they are not printed in any source read.")
    return fig, note


def _verdict(v: str) -> str:
    return f'<span class="verdict" style="background:{_VERDICT_COLOURS[v]}">{html.escape(v)}</span>'


def render_html(findings: Sequence[Finding], studies: str | Path | None = None) -> str:
    """The report as one self-contained HTML string."""
    e = html.escape
    counts = Counter(f.verdict for f in findings)
    forest, forest_note = forest_figure(studies)
    camb, camb_note = cambridge_table_figure(studies)
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>evidence: findings reproduced</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Children of prisoners: the review's findings, rechecked</h1>",
        "<p>Every quantitative finding in the research section of SCIE Guide 22 <i>Children of "
        "prisoners - maintaining family ties</i> (2008) and every numeric effect claim in four "
        "practitioner documents, recomputed from the study registry (<code>studies/*.yaml</code>), "
        "where each number carries its source and a status: reported, reconstructed, or missing.</p>",
        "<h2>Summary</h2><table><tr><th>verdict</th><th>findings</th></tr>",
    ]
    for v in VERDICTS:
        out.append(f"<tr><td>{_verdict(v)}</td><td>{counts.get(v, 0)}</td></tr>")
    out.append("</table>")
    changed = [f for f in findings if not f.matches_expected]
    if changed:
        out.append("<p><b>Verdicts that differ from the ledger:</b> "
                   + ", ".join(e(f"{f.id} ({f.expected} -> {f.verdict})") for f in changed) + "</p>")
    out.append("<h2>Findings</h2><table><tr><th>id</th><th>claim and source</th><th>reported</th>"
               "<th>computed</th><th>verdict</th></tr>")
    for f in findings:
        extra = []
        if f.missing_inputs:
            extra.append("<b>Missing:</b> " + e("; ".join(f.missing_inputs)))
        if f.note:
            extra.append("<b>Note:</b> " + e(f.note))
        extra.append(f"<b>Tolerance:</b> {e(f.tolerance)}; <b>check:</b> <code>{e(f.check)}</code>")
        out.append(
            f"<tr><td><code>{e(f.id)}</code></td><td>{e(f.claim)}<blockquote>{e(f.quote)}</blockquote>"
            f"<span class='small'>{e(f.source)}</span></td><td>{e(f.reported)}</td>"
            f"<td>{e(f.computed)}<p class='small'>{'<br>'.join(extra)}</p></td>"
            f"<td>{_verdict(f.verdict)}</td></tr>"
        )
    out.append("</table>")
    out.append("<h2>Figures</h2>")
    out.append(f"<figure><img alt='forest plot of registry odds ratios' src='data:image/png;base64,{_png(forest)}'>"
               f"<figcaption>Odds ratios in the registry with the source they were seen in. These are "
               f"different exposures and outcomes and are not pooled. {e(forest_note)}</figcaption></figure>")
    out.append(f"<figure><img alt='Cambridge 2x2 table' src='data:image/png;base64,{_png(camb)}'>"
               f"<figcaption>Cambridge Study, conviction between 19 and 32. {e(camb_note)}</figcaption></figure>")
    df = reg.load_studies(studies)
    quant = df[df["measure"] != "qualitative"]
    out.append("<h2>Registry: quantitative results</h2><table><tr><th>result</th><th>exposure / outcome</th>"
               "<th>n (exp / comp)</th><th>% (exp / comp)</th><th>estimate (CI)</th><th>status</th></tr>")

    def val(row: pd.Series, k: str) -> str:
        v = row[k]
        return "-" if pd.isna(v) else f"{v:g}"

    for _, row in quant.iterrows():
        st = ", ".join(f"{k}: {row[k + '_status']}" + (f"/{row[k + '_seen_in']}" if row[k + '_seen_in'] else "")
                       for k in ("n_exposed", "events_exposed", "pct_exposed", "estimate")
                       if row[k + "_status"] != "missing")
        out.append(
            f"<tr><td><code>{e(row['result'])}</code></td><td>{e(row['exposure'])} / {e(row['outcome'])}</td>"
            f"<td>{val(row, 'n_exposed')} / {val(row, 'n_comparison')}</td>"
            f"<td>{val(row, 'pct_exposed')} / {val(row, 'pct_comparison')}</td>"
            f"<td>{val(row, 'estimate')} ({val(row, 'ci_low')}, {val(row, 'ci_high')})</td>"
            f"<td class='small'>{e(st) or 'all missing'}</td></tr>"
        )
    out.append("</table><p class='small'>Status 'reported/review' means the number was read only in the "
               "review, not in the primary paper. Missing numbers are never filled in.</p>")
    out.append("<h2>Not checked</h2><p class='small'>In the practitioner documents, descriptive figures "
               "that are not effect claims are outside the ledger: numbers of children with a parent in "
               "prison (160,000; 200,000; 300,000; 17,000 a year), shares of prisoners who are parents or "
               "were in care, reconviction rates by age and sentence length, and the share of children "
               "cared for by the other parent. The review's own descriptive figures are in the ledger as "
               "not reproducible.</p>")
    out.append("</body></html>")
    return "\n".join(out)


def write_report(path: str | Path, findings: Sequence[Finding] | None = None,
                 studies: str | Path | None = None) -> Path:
    """Write the HTML report to ``path`` (parent folders created) and return the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fs = findings if findings is not None else check_findings(studies=studies)
    p.write_text(render_html(fs, studies), encoding="utf-8")
    return p
