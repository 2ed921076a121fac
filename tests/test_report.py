"""The HTML report's analyst's toolkit section on the candidate effect sizes."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import evidence
from evidence.review import report
from evidence.review.findings import check_findings
from evidence.review.registry import candidate_effect_sizes

#: Figure ids of the toolkit section (the check cannot quietly shrink).
TOOLKIT_IDS = ("toolkit-forest", "toolkit-funnel", "toolkit-radial", "toolkit-baujat", "toolkit-gosh",
               "toolkit-labbe")
#: Figures of the report before the toolkit section (registry forest, Cambridge table).
OTHER_FIGURES = 2


@pytest.fixture(scope="module")
def page() -> str:
    return report.render_html(check_findings())


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, report.ReportFigure]]:
    import matplotlib.pyplot as plt

    figs = report.toolkit_figures()
    yield {f.id: f for f in figs}
    for f in figs:
        plt.close(f.figure)


def test_report_has_every_toolkit_figure_once(page: str) -> None:
    ids = re.findall(r"<figure id='(toolkit-[a-z]+)'><img ", page)
    assert tuple(ids) == TOOLKIT_IDS
    assert len(re.findall(r"<img\b", page)) == OTHER_FIGURES + len(TOOLKIT_IDS)
    assert len(re.findall(r"src='data:image/png;base64,[A-Za-z0-9+/=]+'", page)) == OTHER_FIGURES + len(TOOLKIT_IDS)
    assert "<h2 id='toolkit'>Analyst's toolkit on the candidate effect sizes</h2>" in page


def test_toolkit_captions_say_candidates_not_inputs(page: str) -> None:
    caveat = html.escape("not the review's inputs")
    for fid in TOOLKIT_IDS:
        block = re.search(rf"<figure id='{fid}'>.*?</figure>", page, re.S)
        assert block is not None, fid
        caption = re.search(r"<figcaption>(.*?)</figcaption>", block.group(0), re.S)
        assert caption is not None and caveat in caption.group(1).lower(), fid


def test_report_is_still_self_contained(page: str) -> None:
    assert not re.search(r"<link\b|<script\b|@import|url\(|src=['\"](?!data:)", page)
    assert not re.search(r"https?://[^\s'\"<]*\.(?:png|js|css|svg)\b", page)


def test_toolkit_forest_draws_the_computed_numbers(figures: dict[str, report.ReportFigure]) -> None:
    cand = candidate_effect_sizes()
    one = cand[cand["pooled"]]
    knha = evidence.meta_analysis(one["yi"], one["vi"], method="REML", test="knha")
    plot = figures["toolkit-forest"].numbers["plot"]
    squares = next(c for c in plot.ax.collections if c.get_gid() == "study_squares")
    assert np.allclose(squares.get_offsets()[:, 0], cand["estimate"])
    overall = plot.data[plot.data["kind"] == "overall"]
    assert np.allclose(overall[["estimate", "ci_low", "ci_high"]].iloc[0],
                       np.exp([knha.estimate, knha.ci_low, knha.ci_high]))
    pi = plot.data[plot.data["kind"] == "prediction"].iloc[0]
    assert np.allclose([pi["ci_low"], pi["ci_high"]], np.exp([knha.pi_low, knha.pi_high]))
    assert plot.ax.get_xscale() == "log"
    # subgroups are the countries; the printed Cambridge OR 7.0 (2.8, 17.5) is drawn as printed
    headers = list(plot.data.loc[plot.data["kind"] == "header", "label"])
    assert len(headers) == cand["country"].nunique() and any(h.startswith("England") for h in headers)
    camb = plot.data[plot.data["label"].str.startswith("Cambridge")].iloc[0]
    assert camb["text_estimate"] == "7.00 [2.80, 17.50]"
    # a ratio interval is never printed as 0.00 (the Knapp-Hartung bound with 1 df is far below 0.01)
    drawn_text = [t.get_text() for t in plot.ax.texts if t.get_gid() == "text:estimate"]
    assert len(drawn_text) == len(plot.data) - (plot.data["kind"] == "header").sum()
    assert not any("[0.00," in t for t in drawn_text) and np.exp(knha.ci_low) < 0.01
    # the interval that runs off the limited axis is marked
    lo, hi = plot.ax.get_xlim()
    assert figures["toolkit-forest"].numbers["n_clipped"] >= 2 and lo < 1 < hi


def test_toolkit_gosh_baujat_funnel_labbe(figures: dict[str, report.ReportFigure]) -> None:
    cand = candidate_effect_sizes()
    k = len(cand)
    g = figures["toolkit-gosh"].numbers
    assert len(g["gosh"]) == 2 ** k - 1 and len(g["plot"].data) == 2 ** k - 1
    assert len(g["gosh_one"]) == 2 ** int(cand["pooled"].sum()) - 1
    assert len(g["leave_one_out"].estimate) == int(cand["pooled"].sum())
    bj = figures["toolkit-baujat"].numbers["baujat"]
    assert np.allclose(figures["toolkit-baujat"].numbers["plot"].data["x"], bj.x)
    fun = figures["toolkit-funnel"].numbers["plot"]
    assert np.allclose(fun.data.loc[~fun.data["filled"], "x"], cand["estimate"])
    assert "at least 10 studies" in figures["toolkit-funnel"].caption
    lab = figures["toolkit-labbe"].numbers["plot"].data
    assert list(lab["label"]) == ["cambridge.conviction_19_32 (reconstructed counts)"]
    # 15/23 and 48/227: 65% and 21% as printed
    assert (round(100 * lab["rate_exposed"].iloc[0]), round(100 * lab["rate_unexposed"].iloc[0])) == (65, 21)


def test_report_leaves_the_backend_and_pyplot_alone() -> None:
    """Importing the report and drawing its figures neither switches the backend nor leaves pyplot figures open."""
    import subprocess
    import sys

    code = (
        "import matplotlib; matplotlib.use('svg')\n"
        "import matplotlib.pyplot as plt\n"
        "from evidence.review import report\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
        "figs = report.toolkit_figures()\n"
        "fig, _ = report.cambridge_table_figure()\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
        "assert plt.get_fignums() == [], plt.get_fignums()\n"
        "from matplotlib.backends.backend_agg import FigureCanvasAgg\n"
        "assert all(isinstance(f.figure.canvas, FigureCanvasAgg) for f in figs)\n"
        "assert isinstance(fig.canvas, FigureCanvasAgg)\n"
        "print('ok', len(figs))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok", str(len(TOOLKIT_IDS))]


def test_write_report_is_atomic_and_names_the_path(tmp_path: Path) -> None:
    findings = check_findings()
    target = tmp_path / "r.html"
    target.write_text("old report", encoding="utf-8")
    parent_is_file = tmp_path / "a_file"
    parent_is_file.write_text("x", encoding="utf-8")
    with pytest.raises(OSError) as info:
        report.write_report(parent_is_file / "r.html", findings)
    assert str(parent_is_file) in str(info.value)
    # a failure leaves the old file as it was, and no temporary file behind
    with pytest.raises(OSError):
        report.write_report(tmp_path, findings)
    assert target.read_text(encoding="utf-8") == "old report"
    report.write_report(target, findings)
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "r.html"]
def test_report_defines_verdicts_before_the_findings(page: str) -> None:
    from evidence.review.findings import VERDICT_DEFINITIONS

    top = page.index("<h2 id='verdicts'>")
    assert top < page.index("<h2 id='effects'>") < page.index("<h2 id='descriptive'>")
    for v, text in VERDICT_DEFINITIONS.items():
        assert 0 < page.index(html.escape(text)) < page.index("<h2 id='effects'>"), v
    assert "Headline." in page[top: page.index("<h2 id='effects'>")]


def test_effect_claims_and_descriptive_figures_are_apart(page: str) -> None:
    findings = check_findings()
    effects = page[page.index("<h2 id='effects'>"): page.index("<h2 id='descriptive'>")]
    descriptive = page[page.index("<h2 id='descriptive'>"): page.index("<h2 id='disagreements'>")]
    for f in findings:
        row = f"<tr id='finding-{f.id}'>"
        assert row in (effects if f.kind == "effect" else descriptive), f.id
    assert "not reproducible from public data</span>" not in descriptive


def test_table_of_contents_reaches_every_section_and_figure(page: str) -> None:
    nav = page[page.index("<nav>"): page.index("</nav>")]
    targets = re.findall(r"href='#([a-z0-9-]+)'", nav)
    for t in targets:
        assert f"id='{t}'" in page, t
    figure_ids = re.findall(r"<figure id='([a-z0-9-]+)'>", page)
    assert set(figure_ids) <= set(targets) and len(figure_ids) == OTHER_FIGURES + len(TOOLKIT_IDS)


def test_sources_are_named_by_title_and_ids_are_in_words(page: str) -> None:
    assert not re.search(r"\d{3}_[0-9a-f]{16}\.txt", page)
    assert "Children of prisoners - maintaining family ties (SCIE Guide 22), section" in page
    findings_part = page[page.index("<h2 id='effects'>"): page.index("<h2 id='figures'>")]
    text = re.sub(r"<[^>]+>", " ", findings_part)
    ids = re.findall(r"\b[a-z]+_[a-z0-9_]+\.[a-z0-9_]+\b", text)
    assert not ids, ids[:5]
    assert "cambridge.conviction_19_32" not in text and "review.average_or" not in text


def test_report_shows_the_disagreements(page: str) -> None:
    part = page[page.index("<h2 id='disagreements'>"): page.index("<h2 id='figures'>")]
    for quantity in ("Share of women prisoners who are mothers", "Children separated from their mother",
                     "Children of imprisoned mothers cared for by their father"):
        assert quantity in part and part.count("<b>disagree</b>") >= 3
    assert "17,700" in part and "17,000" in part and "25%" in part and "9%" in part


def test_report_wording_is_not_stronger_than_the_evidence(page: str) -> None:
    assert "never published" not in page and "never printed" not in page
