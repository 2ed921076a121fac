"""Build the static site: every notebook executed and rendered, the report, the glossary, the explainer.

Usage: ``python tools/build_site.py [--out site]`` (``make site``).

* every ``notebooks/NN-*.py`` (jupytext percent format) is executed top to bottom with nbclient in a
  kernel of this interpreter (working directory ``notebooks/``, tqdm's bar off, figures inline) and
  rendered with nbconvert's ``lab`` template minus everything it would fetch from a network
  (``tools/site_template``); a cell that fails stops the build;
* live widget outputs (they need a running kernel) are replaced by a pointer to the offline explainer;
* the report is ``evidence reproduce --html``, the glossary ``docs/glossary.md``, the explainer
  ``evidence explain --html``; every page gets the same navigation bar;
* ``index.html`` lists them.  Nothing in the site needs Python or a network to be read.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import io
import json
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
TEMPLATE_DIR = Path(__file__).resolve().parent / "site_template"
CELL_TIMEOUT = 600
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

SITE_CSS = """
nav.site { font-family: "DejaVu Sans", Arial, sans-serif; background: #1f4e79; padding: 0.55em 1.2em;
           margin: 0 0 1em; display: flex; flex-wrap: wrap; gap: 0.4em 1.3em; font-size: 15px; }
nav.site a { color: #fff; text-decoration: none; }
nav.site a:hover, nav.site a[aria-current] { text-decoration: underline; }
body.site { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 18px; line-height: 1.5; color: #1b1f23;
            max-width: 980px; margin: 0 auto; padding: 0 1.2em 3em; }
body.site h1 { font-size: 1.7em; } body.site h2 { color: #1f4e79; margin-top: 1.5em; }
body.site li { margin: 0.35em 0; }
a.anchor-link { display: none; }
.jp-Notebook { font-size: 15px; }
.jp-RenderedImage img { max-width: 100%; height: auto; }
"""


def _nav(pages: list[tuple[str, str]], current: str) -> str:
    mark = ' aria-current="page"'
    links = "".join(f'<a href="{href}"{mark if href == current else ""}>{html.escape(t)}</a>' for href, t in pages)
    return f'<nav class="site" aria-label="site">{links}</nav>'


def _title(nb, fallback: str) -> str:  # noqa: ANN001 - nbformat.NotebookNode
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
            if m:
                return m.group(1).strip()
    return fallback


def _kernel_dir(base: Path) -> Path:
    """A JUPYTER_PATH with a ``python3`` kernelspec for this interpreter (as tests/test_notebooks.py)."""
    spec = base / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3", "language": "python"}))
    return base


def _execute(path: Path, jupyter_path: Path):  # noqa: ANN202 - nbformat.NotebookNode
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    env = {"JUPYTER_PATH": str(jupyter_path), "TQDM_DISABLE": "1",
           "JUPYTER_PLATFORM_DIRS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT,
                       resources={"metadata": {"path": str(NOTEBOOK_DIR)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if WIDGET_MIME in data:
                out["data"] = {"text/html": '<p class="widget-note">(A live explainer with sliders appears '
                                            'here in JupyterLab; on this site, open '
                                            '<a href="explainer.html">the explainer page</a>.)</p>'}
    return nb


def _page(title: str, body: str, nav: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{SITE_CSS}</style></head>"
            f'<body class="site">{nav}<main>{body}</main></body></html>\n')


def _with_nav(page: str, nav: str) -> str:
    """Insert the navigation bar (and its CSS) into a page written by someone else."""
    page = page.replace("</head>", f"<style>{SITE_CSS.split('body.site')[0]}</style></head>", 1)
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav, page, count=1)


def build(out: Path, only: str = "") -> list[Path]:
    """Build the site into ``out`` (emptied first); returns the pages written.

    ``only``: execute just the notebooks whose name starts with it (for a quick look while writing one).
    """
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from evidence.review.cli import main as evidence_main

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    notebooks = sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]-*.py") if p.name.startswith(only))
    pages = [("index.html", "Home")] + [(f"{p.stem}.html", p.stem[:2]) for p in notebooks] + [
        ("report.html", "Report"), ("glossary.html", "Glossary"), ("explainer.html", "Explainer")]
    written, titles = [], {}
    exporter = HTMLExporter(template_name="evidence_site", extra_template_basedirs=[str(TEMPLATE_DIR)],
                            exclude_input_prompt=True, exclude_output_prompt=True)
    with tempfile.TemporaryDirectory() as tmp:
        jupyter_path = _kernel_dir(Path(tmp))
        for path in notebooks:
            print(f"executing {path.name}", flush=True)
            nb = _execute(path, jupyter_path)
            titles[path.stem] = _title(nb, path.stem)
            body, _ = exporter.from_notebook_node(nb, resources={
                "site_css": SITE_CSS, "site_nav": _nav(pages, f"{path.stem}.html"),
                "metadata": {"name": titles[path.stem]}})
            body = body.replace('href="../docs/glossary.md', 'href="glossary.html')
            written.append(out / f"{path.stem}.html")
            written[-1].write_text(body, encoding="utf-8")
    with contextlib.redirect_stdout(io.StringIO()):
        evidence_main(["reproduce", "--html", str(out / "report.html"), "--json", str(out / "findings.json")])
        evidence_main(["explain", "--html", str(out / "explainer.html")])
    for name in ("report.html", "explainer.html"):
        p = out / name
        p.write_text(_with_nav(p.read_text(encoding="utf-8"), _nav(pages, name)), encoding="utf-8")
        written.append(p)
    glossary = markdown2html_mistune((ROOT / "docs" / "glossary.md").read_text(encoding="utf-8"))
    written.append(out / "glossary.html")
    written[-1].write_text(_page("Glossary", glossary, _nav(pages, "glossary.html")), encoding="utf-8")
    items = "".join(f'<li><a href="{p.stem}.html">{html.escape(titles[p.stem])}</a></li>' for p in notebooks)
    index = (
        "<h1>evidence: notebooks, report and explainer</h1>"
        "<p>Odds ratios, risk and meta-analysis, worked through on the 2008 review <i>Children of prisoners – "
        "maintaining family ties</i>. Everything here was computed when the site was built; nothing needs "
        "Python or the internet to be read.</p>"
        f"<h2>Notebooks</h2><ol start='0' style='list-style: none; padding-left: 0'>{items}</ol>"
        "<h2>More</h2><ul>"
        '<li><a href="report.html">The report</a>: every claim checked, with its verdict</li>'
        '<li><a href="glossary.html">Glossary</a>: odds, risk, confidence interval, heterogeneity, the verdicts</li>'
        '<li><a href="explainer.html">The odds-and-risk explainer</a>: change a 2×2 table and watch the numbers '
        "(one file; works offline)</li></ul>")
    written.append(out / "index.html")
    written[-1].write_text(_page("evidence", index, _nav(pages, "index.html")), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "site"), help="output folder (emptied first)")
    parser.add_argument("--only", default="", help="only the notebooks whose name starts with this")
    args = parser.parse_args(argv)
    pages = build(Path(args.out), args.only)
    print(f"site written to {args.out}: {len(pages)} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
