"""Bad input across the public library API: each case asserts the exception type and
that the message names the argument and the offending value.

The fixtures are the review's own numbers: the Cambridge Study table (15 of 23 boys
separated by parental imprisonment vs 48 of 227, printed as 65% and 21%, OR 7.0 with
95% CI 2.8 to 17.5) and the odds ratio of 1.39 quoted as "38% less likely".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import pytest

import evidence as ev
from evidence import plots, published
from evidence._validation import REPR_LIMIT, short_repr

matplotlib.use("Agg")

CAMBRIDGE = (15, 23, 48, 227)
#: Log odds ratios and variances of four tables built around the Cambridge one.
YI = [1.9448, 0.3293, 0.8, -0.1]
VI = [0.2185, 0.1, 0.05, 0.3]
FRAME = pd.DataFrame({"label": ["Cambridge", "Metropolitan"], "estimate": [7.0, 1.39],
                      "ci_low": [2.8, 1.1], "ci_high": [17.5, 1.8]})


def _frame(**changes: Any) -> pd.DataFrame:
    f = FRAME.copy()
    for col, (row, value) in changes.items():
        f[col] = f[col].astype(object) if isinstance(value, str) else f[col]
        f.loc[row, col] = value
    return f


#: (id, call, exception type, argument named, value quoted)
CASES: list[tuple[str, Callable[[], Any], type[Exception], str, str]] = [
    # effect sizes
    ("or numeric string", lambda: ev.odds_ratio("15", 23, 48, 227), TypeError, "events_exposed", "'15'"),
    ("or boolean count", lambda: ev.odds_ratio(True, 23, 48, 227), TypeError, "events_exposed", "True"),
    ("or beyond 2**53", lambda: ev.odds_ratio(1e300, 2e300, 1e300, 2e300), ValueError,
     "events_exposed", "1e+300"),
    ("or events above n", lambda: ev.odds_ratio(24, 23, 48, 227), ValueError, "events_exposed", "24"),
    ("or unknown ci", lambda: ev.odds_ratio(*CAMBRIDGE, ci="fisher"), ValueError, "ci", "'fisher'"),
    ("or alpha string", lambda: ev.odds_ratio(*CAMBRIDGE, alpha="0.05"), TypeError, "alpha", "'0.05'"),
    ("or alpha boolean", lambda: ev.odds_ratio(*CAMBRIDGE, alpha=True), TypeError, "alpha", "True"),
    ("rr negative", lambda: ev.risk_ratio(15, 23, -48, 227), ValueError, "events_unexposed", "-48"),
    ("rd unknown ci", lambda: ev.risk_difference(*CAMBRIDGE, ci="exact"), ValueError, "ci", "'exact'"),
    ("log ors series by index",
     lambda: ev.log_odds_ratios(pd.Series([15, 3], index=["a", "b"]), [23, 10],
                                pd.Series([48, 2], index=["b", "a"]), [227, 12]),
     ValueError, "events_unexposed", "'b', 'a'"),
    ("log ors None", lambda: ev.log_odds_ratios([15, None], [23, 10], [48, 2], [227, 12]), TypeError,
     "events_exposed", "None"),
    # published numbers
    ("pct string", lambda: published.counts_from_percentages("65", 23, 21, 227), TypeError,
     "pct_exposed", "'65'"),
    ("pct above 100", lambda: published.counts_from_percentages(165, 23, 21, 227), ValueError,
     "pct_exposed", "165"),
    ("reported_ci scalar",
     lambda: published.counts_from_percentages(65, 23, 21, (193, 227), reported_ci=2.8),
     TypeError, "reported_ci", "2.8"),
    ("decimals boolean", lambda: published.counts_from_percentages(65, 23, 21, 227, decimals=True),
     TypeError, "decimals", "True"),
    ("counts size guard",
     lambda: published.counts_from_percentages(65, (1, 20_000), 21, (1, 20_000)),
     ValueError, "n_exposed", "20000"),
    ("se_from_ci inverted", lambda: published.se_from_ci(7.0, 17.5, 2.8), ValueError, "ci_low", "17.5"),
    ("se_from_ci scale", lambda: published.se_from_ci(7.0, 2.8, 17.5, scale="ln"), ValueError,
     "scale", "'ln'"),
    ("or_to_smd text", lambda: published.or_to_smd("abc"), TypeError, "odds_ratio", "'abc'"),
    ("or_to_rr lengths", lambda: published.or_to_rr([1, 2, 3], [0.1, 0.2]), ValueError,
     "baseline_risk", "(2,)"),
    ("rr_to_or percentage", lambda: published.rr_to_or(3.08, 21), ValueError, "baseline_risk", "21"),
    ("smd_to_or overflow", lambda: published.smd_to_or(1000), ValueError, "smd", "1000"),
    ("odds_from_risk bool", lambda: published.odds_from_risk(True), TypeError, "risk", "True"),
    ("risk_from_odds negative", lambda: published.risk_from_odds(-1.39), ValueError, "odds", "-1.39"),
    # pooling
    ("yi numeric string", lambda: ev.meta_analysis([1.9448, "0.5"], [0.2185, 0.1]), TypeError,
     "yi", "'0.5'"),
    ("yi boolean", lambda: ev.meta_analysis([True, False], [0.2185, 0.1]), TypeError, "yi", "True"),
    ("yi beyond domain", lambda: ev.meta_analysis([1.9448, 1e200], [0.2185, 0.1]), ValueError,
     "yi", "1e+200"),
    ("vi below domain", lambda: ev.meta_analysis([1.9448, 0.5], [0.2185, 1e-300]), ValueError,
     "vi", "1e-300"),
    ("vi beyond domain", lambda: ev.meta_analysis([1.9448, 0.5], [0.2185, 1e300]), ValueError,
     "vi", "1e+300"),
    ("vi negative", lambda: ev.meta_analysis([1.9448, 0.5], [0.2185, -0.1]), ValueError, "vi", "-0.1"),
    ("series by index",
     lambda: ev.meta_analysis(pd.Series(YI[:2], index=["Cambridge", "Metropolitan"]),
                              pd.Series(VI[:2], index=["Metropolitan", "Cambridge"])),
     ValueError, "vi", "'Metropolitan', 'Cambridge'"),
    ("method spelling", lambda: ev.meta_analysis(YI, VI, method="reml"), ValueError, "method", "'reml'"),
    ("alpha percent", lambda: ev.meta_analysis(YI, VI, alpha=5), ValueError, "alpha", "5"),
    ("many boolean", lambda: ev.meta_analysis_many([[True, False]], [[0.1, 0.2]]), TypeError, "Y", "True"),
    ("2x2 string counts", lambda: ev.meta_analysis_2x2(["15", 3], [23, 10], [48, 2], [227, 12]),
     TypeError, "events_exposed", "'15'"),
    ("2x2 series by index",
     lambda: ev.meta_analysis_2x2(pd.Series([15, 3], index=["a", "b"]), [23, 10],
                                  pd.Series([48, 2], index=["b", "a"]), [227, 12]),
     ValueError, "events_unexposed", "'b', 'a'"),
    # compare
    ("compare overflow", lambda: ev.compare_odds_ratios(1e300, 1e-300, se1=0.47, se2=0.1), ValueError,
     "or1", "1e+300"),
    ("compare ci scalar", lambda: ev.compare_odds_ratios(7.0, 1.39, ci1=(2.8, 17.5), ci2=2), ValueError,
     "ci2", "2"),
    ("compare se string", lambda: ev.compare_odds_ratios(7.0, 1.39, se1="0.47", se2=0.1), TypeError,
     "se1", "'0.47'"),
    ("subgroups print alike", lambda: ev.subgroup_analysis(YI, VI, [1, "1", 2, 2]), ValueError,
     "groups", "'1'"),
    # meta-regression
    ("intercept 'no'", lambda: ev.meta_regression(YI, VI, [1.0, 2.0, 3.0, 5.0], intercept="no"),
     TypeError, "intercept", "'no'"),
    ("ragged moderators", lambda: ev.meta_regression(YI, VI, {"year": [1, 2, 3, 4], "boys": [1, 2]}),
     ValueError, "moderators", "'boys' has 2"),
    ("moderator strings of numbers",
     lambda: ev.meta_regression(YI, VI, np.array([1.0, 2.0, 3.0, 5.0]), intercept=1),
     TypeError, "intercept", "1"),
    ("permutation seed", lambda: ev.permutation_test(YI, VI, [1.0, 2.0, 3.0, 5.0], n_iter=10, seed="x",
                                                     progress=False),
     TypeError, "seed", "'x'"),
    ("permutation exact 'no'",
     lambda: ev.permutation_test(YI, VI, [1.0, 2.0, 3.0, 5.0], n_iter=10, exact="no", progress=False),
     TypeError, "exact", "'no'"),
    ("influence intercept 'no'", lambda: ev.influence(YI, VI, intercept="no"), TypeError,
     "intercept", "'no'"),
    # sensitivity
    ("cumulative ascending 'no'",
     lambda: ev.cumulative(pd.DataFrame({"yi": YI, "vi": VI, "year": [1982, 1990, 1995, 2001]}),
                           order_by="year", ascending="no"),
     TypeError, "ascending", "'no'"),
    ("cumulative string effects",
     lambda: ev.cumulative(pd.DataFrame({"yi": ["1.9", "0.3"], "vi": [0.2, 0.1]})),
     TypeError, "yi", "'1.9'"),
    ("gosh seed", lambda: ev.gosh(YI, VI, seed="x"), TypeError, "seed", "'x'"),
    # small-study tests
    ("begg exact 'no'", lambda: ev.begg_test(YI, VI, exact="no"), TypeError, "exact", "'no'"),
    ("egger model", lambda: ev.egger_test(YI, VI, model="glm"), ValueError, "model", "'glm'"),
    # plots
    ("forest NaN estimate", lambda: plots.forest(_frame(estimate=(1, math.nan)), ratio_scale=True),
     ValueError, "estimate", "'Metropolitan'"),
    ("forest inverted interval", lambda: plots.forest(_frame(ci_low=(0, 20.0)), ratio_scale=True),
     ValueError, "ci_low", "20.0"),
    ("forest digits text", lambda: plots.forest(FRAME, ratio_scale=True, digits="two"), TypeError,
     "digits", "'two'"),
    ("forest subgroups print alike",
     lambda: plots.forest(FRAME, ratio_scale=True, subgroups=[1, "1"]), ValueError, "subgroups", "'1'"),
    ("labbe string counts", lambda: plots.labbe(["15", 3], [23, 10], [48, 2], [227, 12]), TypeError,
     "events_exposed", "'15'"),
    ("funnel boolean effects", lambda: plots.funnel(ev.meta_analysis([True, 0.3], [0.2, 0.1])),
     TypeError, "yi", "True"),
    # simulation
    ("coverage seed", lambda: ev.coverage_grid([5], [0.0], ["DL"], ["z"], n_sim=10, seed="x"),
     TypeError, "seed", "'x'"),
]


@pytest.mark.parametrize("call, exc, argument, value", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_names_argument_and_value(
    call: Callable[[], Any], exc: type[Exception], argument: str, value: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow on the way to the error
        with pytest.raises(exc) as info:
            call()
    message = str(info.value)
    assert type(info.value) is exc, message
    assert argument in message, message
    assert value in message, message
    assert len(message) < 600, message


def test_every_public_function_has_a_case() -> None:
    covered = " ".join(c[0] for c in CASES)
    assert len(CASES) >= 50
    for area in ("or ", "pct", "yi", "vi", "compare", "intercept", "cumulative", "begg", "forest",
                 "seed", "smd", "subgroups"):
        assert area in covered, area


def test_long_values_are_shortened() -> None:
    huge = ["x" * 10_000] * 3
    with pytest.raises(TypeError) as info:
        ev.meta_analysis(huge, [0.1, 0.2, 0.3])
    assert len(str(info.value)) < 3 * REPR_LIMIT
    with pytest.raises(ValueError) as info:
        ev.odds_ratio(*CAMBRIDGE, ci="w" * 10_000)
    assert "ci=" in str(info.value) and len(str(info.value)) < 3 * REPR_LIMIT
    nested: list[Any] = []
    for _ in range(30):  # a value whose full repr would have 2**30 items
        nested = [nested, nested]
    assert len(short_repr(nested)) <= REPR_LIMIT + 5


def test_begg_exact_only_for_small_k() -> None:
    # R's cor.test: exact for k < 50 by default; the result records what was used.
    rng = np.random.default_rng(13)
    v = rng.uniform(0.01, 0.5, 60)
    y = rng.normal(0, np.sqrt(v))
    assert not ev.begg_test(y, v).exact
    assert ev.begg_test(y[:49], v[:49]).exact
    assert ev.begg_test(y, v, exact=True).exact
    assert ev.begg_test(y, v).p_value == pytest.approx(
        ev.begg_test(y, v, exact=True).p_value, abs=0.02
    )


def test_counts_from_percentages_wide_ranges_stay_cheap() -> None:
    # 65% and 21% with follow-up sizes anywhere from 20 to 400 and 193 to 227:
    # the Cambridge table is still found first, without enumerating 0..n for each n.
    rec = published.counts_from_percentages(65, (20, 400), 21, (193, 227), reported_or=7.0,
                                            reported_ci=(2.8, 17.5))
    best = rec.best
    assert (int(best.events_exposed), int(best.n_exposed)) == (15, 23)
    assert (int(best.events_unexposed), int(best.n_unexposed)) == (48, 227)
    assert len(rec.candidates) < published.MAX_CANDIDATE_TABLES


def test_compare_wide_interval_is_inf_not_overflow() -> None:
    # A log-scale SE of 1000 puts the limits beyond the largest double: 0 and inf.
    res = ev.compare_odds_ratios(7.0, 1.39, se1=1000.0, se2=0.1)
    assert res.ratio == pytest.approx(7.0 / 1.39, rel=1e-12)
    assert res.ci_low == 0.0 and res.ci_high == math.inf
