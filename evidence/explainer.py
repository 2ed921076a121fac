"""The odds-and-risk explainer as one self-contained HTML file (works offline, no server).

:func:`write_explainer` writes a single page with the four cells of a 2x2
table as number boxes and sliders, a baseline-risk slider, the table drawn as
people out of 100, the odds ratio, risk ratio and risk difference with their
intervals, a sentence in plain words and the risk ratio an odds ratio implies
at every baseline risk.  All CSS and JavaScript are inline; nothing is fetched.

The page computes the numbers in JavaScript with the formulas of
:func:`evidence.odds_ratio` (Woolf interval), :func:`evidence.risk_ratio`
(Katz) and :func:`evidence.risk_difference` (Wald), each with
``correction="add_if_zero"`` (0.5 added to every cell of a table with a zero
count); the normal quantile is computed here by scipy and written into the
page.  ``tests/test_explainer.py`` checks in a real browser that the page shows
the library's values on more than 50 tables, zero cells included.

The JupyterLab version is :func:`evidence.teaching.explainer_widget`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from scipy import stats

from evidence import options
from evidence._validation import check_alpha, check_tables

__all__ = ["DEFAULT_PRESETS", "explainer_html", "write_explainer"]

#: Example tables offered as buttons: (name, (a, b, c, d)) with the cells of :func:`evidence.odds_ratio`.
DEFAULT_PRESETS: tuple[tuple[str, tuple[int, int, int, int]], ...] = (
    ("Rare outcome (2 in 100 vs 1 in 100)", (2, 98, 1, 99)),
    ("Common outcome (60 in 100 vs 30 in 100)", (60, 40, 30, 70)),
    ("A zero count", (0, 20, 8, 17)),
    ("Ten times as many people", (150, 80, 480, 1790)),
)


def explainer_html(
    events_exposed: int = 15,
    n_exposed: int = 23,
    events_unexposed: int = 48,
    n_unexposed: int = 227,
    *,
    labels: tuple[str, str] = ("exposed", "unexposed"),
    outcome: str = "with the outcome",
    baseline_risk: float = 0.2,
    alpha: float = 0.05,
    presets: Sequence[tuple[str, tuple[int, int, int, int]]] = DEFAULT_PRESETS,
    title: str = "Odds and risk: an explainer",
    max_count: int = 300,
) -> str:
    """The explainer page as a string, starting from the given table.

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : int
        The first table shown (as :func:`evidence.odds_ratio`); it is also the first preset.
    labels : (str, str)
        Names of the two groups (plural noun phrases).
    outcome : str
        The outcome, as said of people ("convicted").
    baseline_risk : float
        Starting value of the baseline-risk slider, in (0, 1).
    alpha : float
        1 - confidence level of the intervals.
    presets : sequence of (name, (a, b, c, d))
        More tables offered as buttons.
    title : str
        Page title.
    max_count : int
        Largest value of each cell's slider (typing a larger number extends it).

    Returns
    -------
    str

    Examples
    --------
    >>> page = explainer_html(15, 23, 48, 227)
    >>> page.startswith("<!DOCTYPE html>") and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    True
    """
    e1, m1, e2, m2 = (int(x[0]) for x in check_tables([events_exposed], [n_exposed], [events_unexposed],
                                                       [n_unexposed]))
    alpha = check_alpha(alpha)
    if not 0 < baseline_risk < 1:
        raise ValueError(f"baseline_risk must be between 0 and 1 (exclusive); got {baseline_risk!r}.")
    cells = (e1, m1 - e1, e2, m2 - e2)
    config = {
        "z": float(stats.norm.ppf(1 - alpha / 2)),
        "alpha": alpha,
        "correction": options.CONTINUITY_CORRECTION,
        "cells": cells,
        "labels": list(labels),
        "outcome": outcome,
        "baseline": baseline_risk,
        "max": max(max_count, *cells),
        "presets": [{"name": "The starting table", "cells": cells}]
        + [{"name": name, "cells": list(t)} for name, t in presets],
    }
    # "</" cannot end the JSON script element early once escaped
    payload = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    template = (files("evidence") / "templates" / "explainer.html").read_text(encoding="utf-8")
    return template.replace("__TITLE__", html.escape(title)).replace("__CONFIG__", payload)


def write_explainer(path: str | Path, *args: int, **kwargs: object) -> Path:
    """Write :func:`explainer_html` (same arguments) to ``path``; returns the path written."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(explainer_html(*args, **kwargs), encoding="utf-8")  # type: ignore[arg-type]
    return p
