"""The offline explainer (evidence.explainer, ``evidence explain --html``).

The page computes odds ratios, risk ratios and risk differences in JavaScript; the browser tests
(marked ``browser``: Debian's chromium driven by Playwright, required under CI=true) set the sliders
to more than 50 tables, zero cells included, and compare what the page shows with
:func:`evidence.odds_ratio`, :func:`evidence.risk_ratio` and :func:`evidence.risk_difference`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from evidence import odds_ratio, published, risk_difference, risk_ratio
from evidence.explainer import explainer_html, write_explainer
from evidence.review.cli import main

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
#: Relative agreement required between the page's numbers and the library's (JS and NumPy use the
#: same IEEE operations in the same order; the last bit of exp/log may differ).
RTOL = 1e-12


def _config(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="config">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1))


def test_page_is_one_self_contained_file() -> None:
    page = explainer_html(15, 23, 48, 227, labels=("separated", "not separated"), outcome="convicted")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # nothing is fetched: no external scripts, styles, images or fonts
    assert not re.search(r"<script[^>]+src=|<link\b|<img\b|@import|url\(", page)
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page)
    cfg = _config(page)
    assert cfg["cells"] == [15, 8, 48, 179] and cfg["labels"] == ["separated", "not separated"]
    assert cfg["z"] == stats.norm.ppf(0.975) and cfg["correction"] == 0.5
    assert cfg["presets"][0]["cells"] == [15, 8, 48, 179]


def test_page_escapes_text_and_checks_arguments() -> None:
    page = explainer_html(outcome="</script><b>x", title="<odds>")
    assert "</script><b>x" not in page and "<title>&lt;odds&gt;</title>" in page
    assert _config(page)["outcome"] == "</script><b>x"
    cfg = _config(explainer_html(alpha=0.1))
    assert cfg["z"] == pytest.approx(1.6448536269514722) and cfg["alpha"] == 0.1
    with pytest.raises(ValueError, match="baseline_risk must be between 0 and 1"):
        explainer_html(baseline_risk=0)
    with pytest.raises(ValueError, match="events_exposed"):
        explainer_html(30, 23, 48, 227)


def test_cli_writes_the_explainer_from_the_cambridge_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "usb" / "explainer.html"
    assert main(["explain", "--html", str(out)]) == 0
    cfg = _config(out.read_text(encoding="utf-8"))
    assert cfg["cells"] == [15, 8, 48, 179]
    assert cfg["labels"][0] == "boys separated by a parent's imprisonment"
    assert "Explainer written to" in capsys.readouterr().out
    assert main(["explain", "--html", str(out), "--table", "3", "10", "4", "12"]) == 0
    assert _config(out.read_text(encoding="utf-8"))["cells"] == [3, 7, 4, 8]
    assert main(["explain", "--html", str(out), "--table", "11", "10", "4", "12"]) == 2
    assert "events_exposed=11 exceeds n_exposed=10" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# In a browser
# ---------------------------------------------------------------------------


def _tables() -> list[tuple[int, int, int, int]]:
    """Cells (a, b, c, d): zero cells of every kind, the Cambridge table and 50 random tables."""
    zeros = [(0, 10, 5, 5), (3, 0, 4, 9), (2, 7, 0, 8), (4, 6, 9, 0), (0, 5, 0, 7), (5, 0, 7, 0),
             (0, 12, 6, 0), (7, 0, 0, 3), (0, 1, 1, 0), (1, 0, 0, 1)]
    rng = np.random.default_rng(20261129)
    random = [tuple(int(x) for x in rng.integers(1, 250, size=4)) for _ in range(40)]
    small = [tuple(int(x) for x in rng.integers(0, 6, size=4)) for _ in range(20)]
    small = [t for t in small if t[0] + t[1] > 0 and t[2] + t[3] > 0]
    return [(15, 8, 48, 179), *zeros, *random, *small]


def _library(a: int, b: int, c: int, d: int) -> dict[str, float]:
    args = (a, a + b, c, c + d)
    o = odds_ratio(*args, correction="add_if_zero")
    r = risk_ratio(*args, correction="add_if_zero")
    rd = risk_difference(*args, correction="add_if_zero")
    return {"or": o.estimate, "or-low": o.ci_low, "or-high": o.ci_high, "rr": r.estimate, "rr-low": r.ci_low,
            "rr-high": r.ci_high, "rd": rd.estimate, "rd-low": rd.ci_low, "rd-high": rd.ci_high}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium under Playwright; skipped when absent, except under CI=true."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or shutil.which(CHROMIUM) is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the browser tests need playwright (test extra) and /usr/bin/chromium (.ci/run) under CI")
        pytest.skip("needs the playwright package and Debian's chromium (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def explainer(browser: Any, tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    path = write_explainer(tmp_path / "explainer.html", 15, 23, 48, 227,
                           labels=("boys separated by a parent's imprisonment", "boys not separated"),
                           outcome="convicted")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning")
            else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"request: {r.url}") if not r.url.startswith("file:") else None)
    page.goto(path.as_uri())
    yield page, problems
    page.close()


def _shown(page: Any) -> dict[str, float]:
    return page.evaluate("""() => Object.fromEntries(["or", "or-low", "or-high", "rr", "rr-low", "rr-high", "rd",
        "rd-low", "rd-high"].map(k => [k, Number(document.getElementById(k).dataset.value)]))""")


@pytest.mark.browser
def test_sliders_show_the_library_numbers_on_many_tables(explainer: tuple[Any, list[str]]) -> None:
    page, problems = explainer
    tables = _tables()
    assert len(tables) >= 50 and sum(0 in t for t in tables) >= 10
    set_sliders = """cells => ["a", "b", "c", "d"].forEach((k, i) => {
        const s = document.getElementById(k); s.value = cells[i];
        s.dispatchEvent(new Event("input", {bubbles: true})); })"""
    for t in tables:
        page.evaluate(set_sliders, list(t))
        shown, expected = _shown(page), _library(*t)
        for key, value in expected.items():
            assert shown[key] == pytest.approx(value, rel=RTOL, abs=1e-15), (t, key, shown[key], value)
        assert page.locator("#or").text_content() == f"{expected['or']:.2f}", t
        corrected = page.locator("#correction").text_content()
        assert ("0.5 was added" in corrected) == (0 in t), t
    assert problems == []


@pytest.mark.browser
def test_moving_a_slider_by_keyboard_and_typing_a_number(explainer: tuple[Any, list[str]]) -> None:
    page, problems = explainer
    assert page.locator("#or").text_content() == "6.99"
    assert "The odds were 7.0 times as high (95% CI 2.8 to 17.5); the risk was 3.1 times as high." in \
        page.locator("#sentence").text_content()
    page.locator("#a").focus()
    page.keyboard.press("ArrowRight")  # a: 15 -> 16
    assert page.locator("#a-num").input_value() == "16"
    assert _shown(page)["or"] == pytest.approx(odds_ratio(16, 24, 48, 227).estimate, rel=RTOL)
    assert page.locator("#g1").get_attribute("data-coloured") == str(round(100 * 16 / 24))
    page.locator("#c-num").fill("0")  # a zero cell typed in
    assert _shown(page)["or"] == pytest.approx(
        odds_ratio(16, 24, 0, 179, correction="add_if_zero").estimate, rel=RTOL)
    page.locator("#p0").fill("50")
    assert "If 50% of people without the exposure" in page.locator("#p0-sentence").text_content()
    shown_or = _shown(page)["or"]
    assert float(page.locator("#p0-rr").get_attribute("data-value")) == pytest.approx(
        published.or_to_rr(shown_or, 0.5), rel=RTOL)
    page.get_by_role("button", name="The starting table").click()
    assert page.locator("#or").text_content() == "6.99"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "explainer.png"), full_page=True)
    assert problems == []
