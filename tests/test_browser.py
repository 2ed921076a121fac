"""The static site (``make site``, tools/build_site.py) in a real browser.

Debian's chromium driven by Playwright (marked ``browser``; skipped without them, required under
CI=true).  The site is served from a local http.server on 127.0.0.1; every page is opened with
every request to anything else blocked and recorded.  Each page: no console error or warning, no
page error, every image loads, the navigation reaches the glossary; each notebook page: at least one
figure, and no output holding a traceback, a warning, stderr, an absolute path of the machine or an
internal coordinate table.  A screenshot of each page is written to ``screenshots/`` for review.
JupyterLab, with the settings ``make lab`` installs, opens a notebook's ``.py`` file as a notebook.

``make test`` builds ``site/`` first; without it the tests build the site into a temporary folder.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
SCREENSHOTS = ROOT / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.py"))
PAGES = ["index", *NOTEBOOKS, "report", "glossary", "explainer"]
#: Text that must not appear in any notebook output.
FORBIDDEN = re.compile(r"Traceback|Warning|warn\(|/work/|/home/|/tmp/|/usr/|site-packages|\.venv|"
                       r"text_estimate|clipped_low|clipped_high|IProgress|<matplotlib\.|^Text\(|\bText\(0")


def _require_browser() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or shutil.which(CHROMIUM) is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the browser tests need playwright (test extra) and /usr/bin/chromium (.ci/run) under CI")
        pytest.skip("needs the playwright package and Debian's chromium (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``site/`` as built by ``make site``, or a fresh build when it is missing or incomplete."""
    _require_browser()
    if all((SITE / f"{name}.html").exists() for name in PAGES):
        return SITE
    out = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), "--out", str(out)], check=True,
                   capture_output=True, timeout=1800)
    return out


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = _require_browser()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser: Any, url: str, base: str) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}"))

    def only_local(route: Any) -> None:
        url = route.request.url
        if url.startswith(base) or url.startswith("data:"):
            route.continue_()
        else:
            problems.append(f"request outside the site: {url}")
            route.abort()

    page.route("**/*", only_local)
    page.goto(url, wait_until="load")
    return page, problems


@pytest.mark.browser
def test_every_page_expected() -> None:
    assert {"01-odds-ratios-cambridge", "07-analyst-toolkit"} <= set(NOTEBOOKS)
    assert any(n.startswith("00-") for n in NOTEBOOKS), "the trainer's notebook (00-...) is missing"


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_page_in_browser(name: str, browser: Any, server: str) -> None:
    page, problems = _open(browser, f"{server}/{name}.html", server)
    try:
        images = page.evaluate("""() => Array.from(document.images).map(i => ({
            src: i.src.slice(0, 60), ok: i.complete && i.naturalWidth > 0}))""")
        assert all(i["ok"] for i in images), [i["src"] for i in images if not i["ok"]]
        nav = page.locator("nav.site a").all_text_contents()
        assert "Glossary" in nav and "Home" in nav and "Explainer" in nav, nav
        if name in NOTEBOOKS:
            stderr = page.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count()
            assert stderr == 0, f"{name} shows {stderr} stderr output(s)"
            for text in page.locator(".jp-OutputArea-output").all_inner_texts():
                m = FORBIDDEN.search(text)
                assert m is None, f"{name}: an output shows {m.group(0)!r}: {text[:300]!r}"
        if name == "glossary":
            assert page.locator("h3").count() >= 4  # the verdicts
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        assert problems == [], problems
        if name in NOTEBOOKS and not images:
            pytest.fail(f"{name} has no figure")
    finally:
        page.close()


@pytest.mark.browser
def test_index_links_every_page(browser: Any, server: str) -> None:
    page, problems = _open(browser, f"{server}/index.html", server)
    try:
        hrefs = set(page.locator("main a").evaluate_all("els => els.map(e => e.getAttribute('href'))"))
        assert {f"{name}.html" for name in PAGES if name != "index"} <= hrefs
        page.locator("main a", has_text="explainer").first.click()
        page.wait_for_load_state("load")
        assert page.locator("#or").text_content() == "6.99"
        assert problems == [], problems
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.slow
def test_jupyterlab_opens_a_notebook_py_file_as_a_notebook(browser: Any, tmp_path: Path) -> None:
    """With the settings ``make lab`` installs, a double-click on a ``.py`` notebook opens it as a notebook."""
    import socket

    pytest.importorskip("jupyterlab")
    settings = tmp_path / "settings"
    settings.mkdir()
    shutil.copy(ROOT / "tools" / "jupyterlab-overrides.json", settings / "overrides.json")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "ws"), "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "user")}
    lab = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
         f"--LabServerApp.app_settings_dir={settings}"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        for _ in range(60):
            try:
                page.goto(f"http://127.0.0.1:{port}/lab", timeout=5000)
                break
            except Exception:  # noqa: BLE001 - the server is still starting
                page.wait_for_timeout(500)
        name = NOTEBOOKS[0] + ".py"
        page.get_by_text(name, exact=True).first.dblclick(timeout=60000)
        # cells of a notebook (markdown and code), not a text editor
        page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-MarkdownCell').length > 2 && "
                               "document.querySelectorAll('.jp-Notebook .jp-CodeCell').length > 2", timeout=60000)
        assert page.locator(".jp-FileEditor").count() == 0
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "jupyterlab.png"))
    finally:
        page.close()
        lab.terminate()
        try:
            lab.wait(timeout=10)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait(timeout=10)
