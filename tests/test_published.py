"""Tests of evidence.published: reconstructing counts and SEs, converting measures."""

from __future__ import annotations

import dataclasses
import doctest
import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

import evidence.published
from evidence.effect_sizes import odds_ratio, risk_ratio
from evidence.exceptions import DataWarning
from evidence.published import (
    counts_from_percentages,
    log_or_variance_from_smd,
    odds_from_risk,
    or_to_rr,
    or_to_smd,
    risk_from_odds,
    rr_to_or,
    se_from_ci,
    smd_to_or,
    smd_variance_from_log_or,
)

Z975 = 1.959963984540054


# ---------------------------------------------------------------------------
# counts_from_percentages
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cambridge():
    # Cambridge Study in Delinquent Development: 65% of 23 boys separated by
    # parental imprisonment vs 21% of the other boys (193 to 227 followed up);
    # reported OR 7.0 (95% CI 2.8 to 17.5).
    return counts_from_percentages(
        65, 23, 21, (193, 227), reported_or=7.0, reported_ci=(2.8, 17.5)
    )


def _brute_force(pct: int, sizes: range) -> set[tuple[int, int]]:
    """Counts whose exact percentage is within half a unit of ``pct`` (exact arithmetic)."""
    return {
        (x, n)
        for n in sizes
        for x in range(n + 1)
        if abs(Fraction(100 * x, n) - pct) <= Fraction(1, 2)
    }


def test_cambridge_ranks_15_23_vs_48_227_first(cambridge) -> None:
    best = cambridge.best
    assert (best.events_exposed, best.n_exposed, best.events_unexposed, best.n_unexposed) == (
        15, 23, 48, 227,
    )
    assert bool(best.matches)
    assert set(cambridge.candidates["events_exposed"]) == {15}
    assert cambridge.method.startswith("reconstructed")
    assert cambridge.candidates["rank"].tolist() == list(range(1, len(cambridge.candidates) + 1))


def test_cambridge_candidates_complete(cambridge) -> None:
    expected_exposed = _brute_force(65, range(23, 24))
    expected_unexposed = _brute_force(21, range(193, 228))
    assert expected_exposed == {(15, 23)}
    got = set(
        zip(cambridge.candidates.events_unexposed, cambridge.candidates.n_unexposed, strict=True)
    )
    assert got == expected_unexposed
    assert len(cambridge.candidates) == len(expected_unexposed)


def test_cambridge_candidate_statistics(cambridge) -> None:
    row = cambridge.candidates.iloc[0]
    r = odds_ratio(15, 23, 48, 227)
    assert row.odds_ratio == pytest.approx(r.estimate, rel=1e-14)
    assert row.ci_low == pytest.approx(r.ci_low, rel=1e-12)
    assert row.ci_high == pytest.approx(r.ci_high, rel=1e-12)
    expected = max(
        abs(math.log(r.estimate / 7.0)),
        abs(math.log(r.ci_low / 2.8)),
        abs(math.log(r.ci_high / 17.5)),
    )
    assert row.discrepancy == pytest.approx(expected, rel=1e-12)
    # ranked: matching tables first, then by increasing discrepancy
    c = cambridge.candidates
    n_match = int(c["matches"].sum())
    assert c["matches"].iloc[:n_match].all() and not c["matches"].iloc[n_match:].any()
    assert c["discrepancy"].iloc[:n_match].is_monotonic_increasing
    # a table that does not round to 7.0 (2.8, 17.5)
    other = c[(c.events_unexposed == 47) & (c.n_unexposed == 224)].iloc[0]
    assert round(other.odds_ratio, 1) != 7.0 and not other.matches


def test_without_reported_values() -> None:
    rec = counts_from_percentages(50, 4, 25, 8)
    assert rec.candidates[["events_exposed", "events_unexposed"]].values.tolist() == [[2, 2]]
    assert "discrepancy" not in rec.candidates
    assert rec.reported_or is None and "ranked" not in rec.method
    assert rec.decimals == 0 and rec.or_decimals is None


def test_printed_precision_follows_the_values_as_given() -> None:
    # 15/23 vs 48/227 gives 6.99 (2.80, 17.46): printed as whole numbers that is
    # 7 (3, 17); ints mean 0 decimal places, floats such as 7.0 one.
    whole = counts_from_percentages(65, 23, 21, (193, 227), reported_or=7, reported_ci=(3, 17))
    assert "printed to 0 decimal place(s)" in whole.method and whole.or_decimals == 0
    table = whole.candidates[
        (whole.candidates.events_unexposed == 48) & (whole.candidates.n_unexposed == 227)
    ].iloc[0]
    assert table.matches_or and table.matches_ci and table.matches
    one_place = counts_from_percentages(
        65, 23, 21, (193, 227), reported_or=7.0, reported_ci=(3.0, 17.0)
    )
    assert "printed to 1 decimal place(s)" in one_place.method and one_place.or_decimals == 1
    assert not one_place.candidates["matches_ci"].any()  # 2.80 is not 3.0
    forced = counts_from_percentages(
        65, 23, 21, (193, 227), reported_or=7.0, reported_ci=(3.0, 17.0), or_decimals=0
    )
    assert forced.candidates["matches"].sum() == whole.candidates["matches"].sum()
    with pytest.raises(ValueError, match=r"or_decimals=-1 must be a whole number >= 0"):
        counts_from_percentages(65, 23, 21, 227, reported_or=7, or_decimals=-1)


def test_decimals_and_zero_cells() -> None:
    # 0.0% of 40 is a zero cell: no Woolf interval, ranked last, never "matches"
    rec = counts_from_percentages(
        12.5, 40, 0.0, (10, 11), decimals=1, reported_or=2.0, reported_ci=(0.5, 8.0)
    )
    assert set(rec.candidates.events_exposed) == {5}
    assert set(rec.candidates.events_unexposed) == {0}
    assert not rec.candidates["matches"].any()
    assert rec.candidates["odds_ratio"].isna().all()


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(pct_exposed=101), r"pct_exposed=101 must be <= 100"),
        (dict(pct_unexposed=-1), r"pct_unexposed=-1 must be >= 0"),
        (dict(n_exposed=(30, 20)), r"the minimum 30 exceeds the maximum 20"),
        (dict(n_exposed=0), r"n_exposed=0 must hold whole numbers >= 1"),
        (dict(n_unexposed=(10.5, 12)), r"n_unexposed=\(10.5, 12\) must hold whole numbers"),
        (dict(n_unexposed=(1, 2, 3)), r"must be an int or an inclusive \(min, max\) pair"),
        (dict(n_exposed="23"), r"n_exposed='23' must hold whole numbers >= 1"),
        (dict(pct_exposed=50, n_exposed=3), r"No whole event count is consistent with pct_exposed"),
        (dict(decimals=-1), r"decimals=-1 must be a whole number >= 0"),
        (dict(reported_or=0), r"reported_or=0 must be > 0"),
        (dict(reported_ci=(3.0, 2.0)), r"low limit above its high one"),
        (dict(reported_ci=(1.0,)), r"must be a \(low, high\) pair"),
        (dict(alpha=2), r"alpha=2 is outside"),
    ],
)
def test_counts_bad_input(kwargs: dict, pattern: str) -> None:
    args = dict(pct_exposed=65, n_exposed=23, pct_unexposed=21, n_unexposed=(193, 227))
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        counts_from_percentages(**args)


# ---------------------------------------------------------------------------
# se_from_ci
# ---------------------------------------------------------------------------


def test_se_from_ci_hand_worked() -> None:
    r = se_from_ci(7.0, 2.8, 17.5)
    assert r.se == pytest.approx((math.log(17.5) - math.log(2.8)) / (2 * Z975), rel=1e-12)
    assert r.log_estimate == pytest.approx(math.log(7.0), rel=1e-14)
    assert r.midpoint == pytest.approx((math.log(2.8) + math.log(17.5)) / 2, rel=1e-14)
    assert r.consistent and r.decimals == 1 and r.scale == "log"
    assert r.method.startswith("reconstructed")
    # the SE recovered from the printed interval is close to the table's Woolf SE
    assert r.se == pytest.approx(odds_ratio(15, 23, 48, 227).se, rel=0.01)


def test_se_from_ci_alpha() -> None:
    r = se_from_ci(7.0, 3.2, 15.3, alpha=0.1)
    assert r.se == pytest.approx(math.log(15.3 / 3.2) / (2 * stats.norm.ppf(0.95)), rel=1e-12)


def test_se_from_ci_consistency_uses_printed_precision() -> None:
    # 7.0 (2.8, 17.5): the log-midpoint of (2.8, 17.5) is 7.000, fine.  The same
    # numbers printed to two places (7.00, 2.80, 17.46 from the table) are fine too.
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert se_from_ci(6.99, 2.80, 17.46).consistent
        assert se_from_ci(7.0, 2.8, 17.5, decimals=1).consistent
    # an exact interval (fisher.test: 2.58 to 20.04) is not symmetric on the log scale
    with pytest.warns(DataWarning, match="not at the log-scale midpoint"):
        r = se_from_ci(6.99, 2.58, 20.04)
    assert not r.consistent and r.discrepancy > r.tolerance


def test_se_from_ci_linear_scale() -> None:
    r = se_from_ci(0.17, 0.014, 0.326, scale="linear")
    assert r.se == pytest.approx(0.312 / (2 * Z975), rel=1e-12)
    assert r.consistent
    with pytest.warns(DataWarning):
        se_from_ci(0.10, 0.014, 0.326, scale="linear")


@pytest.mark.parametrize(
    "args, kwargs, pattern",
    [
        ((7.0, 17.5, 2.8), {}, r"ci_low=17.5 must be below ci_high=2.8"),
        ((20.0, 2.8, 17.5), {}, r"estimate=20.0 lies outside its interval"),
        ((7.0, 0.0, 17.5), {}, r"ci_low=0.0 must be > 0"),
        ((7.0, 2.8, float("inf")), {}, r"ci_high=inf must be a finite number"),
        ((7.0, 2.8, 17.5), {"scale": "ln"}, r"scale='ln' is not a known option"),
        ((7.0, 2.8, 17.5), {"decimals": -2}, r"decimals=-2 must be a whole number"),
        ((7.0, 2.8, 17.5), {"alpha": 95}, r"alpha=95 is outside"),
    ],
)
def test_se_from_ci_bad_input(args: tuple, kwargs: dict, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        se_from_ci(*args, **kwargs)


def test_se_from_ci_type_error() -> None:
    with pytest.raises(TypeError, match="estimate must be a number"):
        se_from_ci("seven", 2.8, 17.5)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------


def test_or_to_rr_is_exact_for_a_table() -> None:
    # Zhang & Yu (1998): for one 2x2 table, RR = OR / (1 - p0 + p0 OR) exactly.
    o = odds_ratio(15, 23, 48, 227).estimate
    rr = risk_ratio(15, 23, 48, 227).estimate
    assert or_to_rr(o, 48 / 227) == pytest.approx(rr, rel=1e-13)
    assert rr_to_or(rr, 48 / 227) == pytest.approx(o, rel=1e-13)
    np.testing.assert_allclose(or_to_rr([1.0, 2.0], [0.3, 0.0]), [1.0, 2.0])
    assert isinstance(or_to_rr(2.0, 0.1), float)


def test_or_to_smd_hand_worked() -> None:
    assert or_to_smd(math.exp(math.pi / math.sqrt(3))) == pytest.approx(1.0, rel=1e-14)
    assert or_to_smd(1.0) == 0.0
    assert smd_to_or(or_to_smd(7.0)) == pytest.approx(7.0, rel=1e-14)
    assert smd_variance_from_log_or(0.2) == pytest.approx(0.2 * 3 / math.pi**2, rel=1e-14)
    assert log_or_variance_from_smd(smd_variance_from_log_or(0.2)) == pytest.approx(0.2)
    np.testing.assert_allclose(or_to_smd([0.5, 2.0]), [-or_to_smd(2.0), or_to_smd(2.0)])


def test_risk_odds() -> None:
    assert risk_from_odds(odds_from_risk(0.65)) == pytest.approx(0.65, rel=1e-14)
    assert odds_from_risk(0.0) == 0.0


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: or_to_rr(0.0, 0.2), r"odds_ratio has the value 0; it must be a finite number > 0"),
        (lambda: or_to_rr(2.0, 21), r"baseline_risk has the value 21; .*not a percentage"),
        (lambda: or_to_rr(2.0, 1.0), r"baseline_risk has the value 1;"),
        (lambda: or_to_rr([2.0, -1.0], 0.2), r"odds_ratio has the value -1 at position 1;"),
        (lambda: rr_to_or(3.0, 0.5), r"has the value 1.5: the exposed risk would be >= 1"),
        (lambda: or_to_smd(-2.0), r"odds_ratio has the value -2;"),
        (lambda: smd_to_or(float("nan")), r"smd must be finite"),
        (lambda: smd_variance_from_log_or(0.0), r"var_log_or has the value 0;"),
        (lambda: risk_from_odds(-1.0), r"odds must be finite and >= 0"),
        (lambda: odds_from_risk(1.0), r"risk has the value 1;"),
    ],
)
def test_conversion_bad_input(call, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        call()


def test_results_frozen(cambridge) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        cambridge.method = "x"  # type: ignore[misc]
    assert "15/23 vs 48/227" in repr(cambridge)
    r = se_from_ci(7.0, 2.8, 17.5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.se = 1.0  # type: ignore[misc]
    assert repr(r).startswith("SEFromCI(se=")


def test_docstring_examples_run() -> None:
    result = doctest.testmod(evidence.published, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0


def test_candidates_equal_brute_force_enumeration() -> None:
    # The closed-form candidate runs are exactly the counts 0..n that round to the
    # printed percentage, for random percentages, precisions and size ranges.
    from evidence.published import _candidates, _rounds_to

    rng = np.random.default_rng(2008)
    for trial in range(150):
        dec = int(rng.integers(0, 3))
        pct = round(float(rng.uniform(0, 100)), dec) if trial % 5 else float(
            rng.choice([0.0, 100.0, 50.0, 33.3, 66.7])
        )
        lo = int(rng.integers(1, 250))
        sizes = range(lo, lo + int(rng.integers(1, 150)))
        want = []
        for n in sizes:
            x = np.arange(n + 1)
            want += [(int(e), n) for e in x[_rounds_to(100.0 * x / n, pct, dec)]]
        x, n = _candidates("n_exposed", pct, sizes, dec)
        assert list(zip(x.tolist(), n.tolist(), strict=True)) == want, (pct, dec, sizes)


def test_candidate_guard_says_what_was_asked() -> None:
    with pytest.raises(ValueError, match=r"n_exposed=\(1, 20000\) gives about 2,0\d\d,\d{3} candidate"):
        counts_from_percentages(65, (1, 20_000), 21, (1, 20_000))
    with pytest.raises(ValueError, match=r"give \d\d,\d{3} x \d\d,\d{3} = .* candidate tables, more than"):
        counts_from_percentages(50, (1, 2000), 50, (1, 2000), decimals=0)
