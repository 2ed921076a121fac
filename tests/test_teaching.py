"""Teaching figures and plain-language sentences (evidence.teaching): what is drawn and said."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from evidence import odds_ratio, risk_difference, risk_ratio, teaching  # noqa: E402

CAMBRIDGE = (15, 23, 48, 227)
WORDS = {"exposed": "boys separated by a parent's imprisonment", "unexposed": "not separated",
         "happened": "were convicted", "outcome": "conviction"}


@pytest.fixture(autouse=True)
def _close() -> None:
    yield
    plt.close("all")


def _texts(ax) -> str:  # noqa: ANN001
    return "\n".join(t.get_text() for t in ax.texts)


def test_icon_array_colours_the_risk_out_of_100_and_writes_risks_and_odds() -> None:
    p = teaching.icon_array(*CAMBRIDGE, labels=("separated", "not separated"), outcome="convicted")
    assert p.data["icons"].tolist() == [65, 21] and p.data["per"].tolist() == [100, 100]
    assert np.allclose(p.data["odds"], [15 / 8, 48 / 179])
    for g, icons in enumerate((65, 21)):
        grid = next(c for c in p.ax.collections if c.get_gid() == f"icons:{g}")
        colours = grid.get_facecolors()
        assert len(colours) == 100
        red = matplotlib.colors.to_rgba(teaching.EVENT_COLOURS[0])
        assert sum(np.allclose(c, red) for c in colours) == icons
    text = _texts(p.ax)
    for expected in ("15 of 23 convicted", "= 65 out of 100", "risk 65%", "odds 15 to 8 = 1.88",
                     "48 of 227 convicted", "risk 21%", "odds 48 to 179 = 0.27", "separated"):
        assert expected in text


def test_icon_array_rounds_half_up_and_checks_per() -> None:
    assert teaching.icon_array(1, 8, 1, 3, per=10).data["icons"].tolist() == [1, 3]  # 1.25 -> 1, 3.33 -> 3
    assert teaching.icon_array(1, 200, 0, 5).data["icons"].tolist() == [1, 0]  # 0.5 -> 1
    with pytest.raises(ValueError, match="per must be a positive multiple of 10; got 15"):
        teaching.icon_array(*CAMBRIDGE, per=15)
    with pytest.raises(ValueError, match="events_exposed"):
        teaching.icon_array(24, 23, 48, 227)


def test_risk_ratio_curve_marks_the_baseline_on_zhang_yu() -> None:
    p = teaching.risk_ratio_curve(7.0, baseline_risk=0.21)
    row = p.data.iloc[0]
    assert row["baseline_risk"] == 0.21 and row["odds_ratio"] == 7.0
    assert row["risk_ratio"] == pytest.approx(7.0 / (1 - 0.21 + 0.21 * 7.0))
    curve = next(line for line in p.ax.lines if line.get_gid() == "curve")
    x, y = curve.get_data()
    assert y[0] == pytest.approx(7.0) and y[-1] == pytest.approx(7 / (0.01 + 0.99 * 7))
    assert np.all(np.diff(y) < 0)  # the risk ratio falls as the outcome becomes common
    marked = next(line for line in p.ax.lines if line.get_gid() == "marked")
    assert marked.get_xdata()[0] == pytest.approx(21) and marked.get_ydata()[0] == pytest.approx(row["risk_ratio"])
    assert "risk ratio 3.1" in _texts(p.ax) and "odds ratio 7" in _texts(p.ax)
    assert p.ax.get_xlabel().startswith("Risk without the exposure")
    with pytest.raises(ValueError, match="baseline_risk must be between 0 and 1"):
        teaching.risk_ratio_curve(7.0, baseline_risk=1.2)
    with pytest.raises(ValueError, match="odds_ratio must be a finite number > 0; got -1"):
        teaching.risk_ratio_curve(-1)


def test_interval_narrowing_draws_the_library_intervals() -> None:
    p = teaching.interval_narrowing(*CAMBRIDGE, factors=(0.5, 1, 4))
    assert p.data["total"].tolist() == [126, 250, 1000]
    study = p.data[p.data["factor"] == 1].iloc[0]
    ref = odds_ratio(*CAMBRIDGE)
    assert (study["ci_low"], study["ci_high"]) == pytest.approx((ref.ci_low, ref.ci_high))
    widths = np.log(p.data["ci_high"]) - np.log(p.data["ci_low"])
    assert np.all(np.diff(widths) < 0)
    for i, r in p.data.iterrows():
        line = next(line for line in p.ax.lines if line.get_gid() == f"interval:{i}")
        assert np.allclose(line.get_xdata(), [r["ci_low"], r["ci_high"]])
    labels = [t.get_text() for t in p.ax.get_yticklabels()]
    assert "250 people (the study)" in labels and "1,000 people" in labels
    assert "2.8 to 17.5" in _texts(p.ax)
    assert p.ax.get_xscale() == "log"
    with pytest.raises(ValueError, match="factors must be numbers > 0"):
        teaching.interval_narrowing(*CAMBRIDGE, factors=(0, 1))


def test_odds_vs_risk_shows_both_ratios() -> None:
    p = teaching.odds_vs_risk(*CAMBRIDGE, labels=("separated", "not separated"), outcome="convicted")
    risk_ax, odds_ax = p.ax
    heights = [b.get_height() for b in risk_ax.patches]
    assert heights == pytest.approx([15 / 23, 48 / 227])
    assert [b.get_height() for b in odds_ax.patches] == pytest.approx([15 / 8, 48 / 179])
    assert risk_ax.get_title(loc="left") == "risk ratio: 3.1"
    assert odds_ax.get_title(loc="left") == "odds ratio: 7.0"
    assert "65%" in _texts(risk_ax) and "1.88" in _texts(odds_ax)
    with pytest.raises(ValueError, match="needs events in the unexposed group"):
        teaching.odds_vs_risk(3, 10, 0, 10)


def test_presentation_style_enlarges_text() -> None:
    with teaching.presentation("paper"):
        _, small = plt.subplots()
    with teaching.presentation("poster"):
        _, large = plt.subplots()
    assert large.xaxis.label.get_fontsize() > 1.5 * small.xaxis.label.get_fontsize()
    with pytest.raises(ValueError, match="context"):
        with teaching.presentation("huge"):
            pass


def test_describe_odds_ratio_as_in_the_issue() -> None:
    text = teaching.describe(odds_ratio(*CAMBRIDGE), **WORDS)
    assert text == ("Of 23 boys separated by a parent's imprisonment, 15 (65%) were convicted; of 227 not "
                    "separated, 48 (21%). The odds of conviction were 7.0 times as high (95% CI 2.8 to 17.5); "
                    "the risk was 3.1 times as high.")


def test_describe_risk_ratio_difference_and_caveats() -> None:
    rr = teaching.describe(risk_ratio(*CAMBRIDGE, alpha=0.1), **WORDS)
    assert rr.endswith("The risk of conviction was 3.1 times as high (90% CI 2.2 to 4.3).")
    rd = teaching.describe(risk_difference(*CAMBRIDGE), **WORDS)
    assert "The risk of conviction was 44 percentage points higher (95% CI +24 to +64 points)." in rd
    low = teaching.describe(odds_ratio(3, 20, 8, 25))
    assert "0.38 times as high (95% CI 0.085 to 1.7), that is 62% lower" in low
    assert "The interval includes 1 (no difference)" in low
    zero = teaching.describe(odds_ratio(0, 20, 8, 25, correction="add_if_zero"))
    assert "0.5 was added to every cell" in zero and "the risk was" not in zero
    with pytest.raises(TypeError, match="result must be an odds_ratio"):
        teaching.describe(0.5)  # type: ignore[arg-type]


def test_explainer_widget_updates_to_the_library_numbers() -> None:
    pytest.importorskip("ipywidgets")
    w = teaching.explainer_widget(*CAMBRIDGE)
    sliders, numbers = w.children[0].children, w.children[1]
    assert "<b>6.99</b>" in numbers.value and "2.80 to 17.46" in numbers.value
    sliders[0].value = 0  # a = 0: a zero cell, 0.5 added
    ref = odds_ratio(0, 8, 48, 227, correction="add_if_zero")
    assert f"<b>{ref.estimate:.2f}</b>" in numbers.value and "0.5 added" in numbers.value
    sliders[4].value = 0.5
    assert "At a baseline risk of 50%" in numbers.value


def test_glossary_defines_every_term_and_verdict() -> None:
    from pathlib import Path

    from evidence.review.findings import VERDICTS

    text = (Path(__file__).resolve().parents[1] / "docs" / "glossary.md").read_text(encoding="utf-8")
    headings = {line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")}
    for term in ("Odds", "Risk", "Odds ratio", "Risk ratio", "Confidence interval", "Heterogeneity",
                 "τ² (tau-squared)", "I²"):
        assert term in headings, term
    for verdict in VERDICTS:
        assert verdict in headings, f"docs/glossary.md does not define the verdict {verdict!r}"


def test_every_effect_size_result_describes_itself_as_the_teaching_function_does() -> None:
    from evidence import odds_ratio, risk_difference, risk_ratio
    from evidence.teaching import describe

    words = {"exposed": "boys separated by a parent's imprisonment", "unexposed": "not separated",
             "happened": "were convicted", "outcome": "conviction"}
    for res in (odds_ratio(15, 23, 48, 227), risk_ratio(15, 23, 48, 227), risk_difference(15, 23, 48, 227)):
        assert res.describe(**words) == describe(res, **words)
    assert "7.0 times as high (95% CI 2.8 to 17.5)" in odds_ratio(15, 23, 48, 227).describe(**words)
