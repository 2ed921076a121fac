"""The README's "Your own meta-analysis" example runs and gives metafor's numbers.

The code block is taken from README.md as it stands, executed, and its results compared with
metafor 3.8-1 (tests/reference/metafor_escalc.json, key "landenberger", from tests/r/escalc_reference.R).
"""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest
from conftest import ROOT, load_reference

matplotlib.use("Agg")

SECTION = "## Your own meta-analysis"
MAX_LINES = 12
REF = load_reference("metafor_escalc.json")["landenberger"]


def _example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    block = re.search(r"```python\n(.*?)```", text[text.index(SECTION):], re.DOTALL)
    assert block is not None
    return block.group(1)


def test_example_is_at_most_12_lines() -> None:
    code = [ln for ln in _example().splitlines() if ln.strip() and not ln.strip().startswith("#")]
    assert len(code) <= MAX_LINES, "\n".join(code)


def test_example_runs_and_equals_metafor() -> None:
    import matplotlib.pyplot as plt

    ns: dict[str, object] = {}
    exec(compile(_example(), "README.md", "exec"), ns)  # noqa: S102 - the README's own code
    es, res, egger, loo, mod, forest = (ns[n] for n in ("es", "res", "egger", "loo", "mod", "forest"))
    np.testing.assert_allclose(es["yi"], REF["yi"], rtol=1e-10)
    np.testing.assert_allclose(es["vi"], REF["vi"], rtol=1e-10)
    assert res.k == REF["k"] == 58
    for ours, theirs in (("estimate", "estimate"), ("se", "se"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
                         ("tau2", "tau2"), ("i2", "i2")):
        assert getattr(res, ours) == pytest.approx(REF[theirs], rel=1e-6), ours
    assert egger.statistic == pytest.approx(REF["egger_statistic"], rel=1e-6)
    assert egger.p_value == pytest.approx(REF["egger_p_value"], rel=1e-6)
    np.testing.assert_allclose(loo.estimate, REF["loo_estimate"], rtol=1e-6)
    np.testing.assert_allclose(mod.estimate, REF["moderator_estimate"], rtol=1e-6)
    np.testing.assert_allclose(mod.se, REF["moderator_se"], rtol=1e-6)
    assert mod.tau2 == pytest.approx(REF["moderator_tau2"], rel=1e-6)
    # the forest plot is on the odds-ratio scale: the pooled diamond is drawn at exp(estimate)
    overall = forest.data[forest.data["kind"] == "overall"].iloc[0]
    assert overall["estimate"] == pytest.approx(np.exp(REF["estimate"]), rel=1e-6)
    assert overall["text_estimate"] == "1.53 [1.35, 1.72]"
    assert forest.ax.get_xscale() == "log" and forest.ax.get_xlabel() == "Odds ratio (log scale)"
    plt.close("all")
