"""Working from published numbers: reconstructing counts, SEs and converting measures.

Papers often print percentages instead of counts, a ratio with its interval
instead of a standard error, or an odds ratio where a risk ratio would be
clearer.  Everything here says what it reconstructed and how (the ``method``
strings), so that the study registry can label a number *reconstructed*
rather than *reported*.

References
----------
.. [1] Altman DG, Bland JM (2011). How to obtain the confidence interval from a
   P value. BMJ 343:d2090; and Higgins JPT et al. (eds), Cochrane Handbook for
   Systematic Reviews of Interventions, version 6.3, Section 6.3.2 (obtaining
   standard errors from confidence intervals and P values: ratio measures).
.. [2] Zhang J, Yu KF (1998). What's the relative risk? A method of correcting
   the odds ratio in cohort studies of common outcomes. JAMA 280:1690-1691.
.. [3] Hasselblad V, Hedges LV (1995). Meta-analysis of screening and
   diagnostic tests. Psychol Bull 117:167-178; Chinn S (2000). A simple method
   for converting an odds ratio to effect size for use in meta-analysis. Stat
   Med 19:3127-3131 (d = ln(OR) sqrt(3) / pi, var(d) = 3 var(ln OR) / pi^2).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evidence import options
from evidence._results import ResultMixin, fmt
from evidence._validation import (
    as_float_array,
    check_alpha,
    check_choice,
    check_number,
    check_whole,
    short_repr,
)
from evidence.effect_sizes import log_odds_ratio_kernel
from evidence.exceptions import DataWarning

__all__ = [
    "CountReconstruction",
    "SEFromCI",
    "counts_from_percentages",
    "se_from_ci",
    "or_to_rr",
    "rr_to_or",
    "or_to_smd",
    "smd_to_or",
    "smd_variance_from_log_or",
    "log_or_variance_from_smd",
    "risk_from_odds",
    "odds_from_risk",
]

#: Slack (relative to the rounding half-width) allowed for binary floating point
#: when deciding whether a value rounds to a printed number.
ROUNDING_SLACK: float = 1e-9

#: Most candidate tables :func:`counts_from_percentages` builds (about 100 MB of
#: candidates); a wider range of group sizes raises ValueError saying how many
#: were asked for.
MAX_CANDIDATE_TABLES: int = 1_000_000

_SMD_FACTOR = math.sqrt(3.0) / math.pi
#: Largest |SMD| whose odds ratio exp(d pi / sqrt 3) is a double (log of the
#: largest double, 709.78, times sqrt(3) / pi).
MAX_ABS_SMD: float = math.log(np.finfo(float).max) * math.sqrt(3.0) / math.pi


def _decimals_of(x: float) -> int:
    """Decimal places of the shortest repr of ``x`` (7.0 -> 1, 17.46 -> 2, 7 -> 0)."""
    if isinstance(x, float) and repr(x).endswith(".0"):
        return 1
    exponent = Decimal(repr(float(x))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _rounds_to(value: ArrayLike, printed: float, decimals: int) -> NDArray[np.bool_]:
    """True where ``value`` could have been printed as ``printed`` at ``decimals`` places.

    Either rounding convention for ties (half up, half to even) is accepted.
    """
    half = 0.5 * 10.0 ** (-decimals)
    return np.abs(np.asarray(value, dtype=float) - printed) <= half * (1 + ROUNDING_SLACK)


def _sizes(name: str, n: int | tuple[int, int]) -> range:
    """Candidate group sizes: an int, or an inclusive (min, max) range."""
    if isinstance(n, (tuple, list)):
        if len(n) != 2:
            raise ValueError(
                f"{name}={short_repr(n)} must be an int or an inclusive (min, max) pair."
            )
        lo, hi = n
    else:
        lo = hi = n
    for v in (lo, hi):
        try:
            whole = not isinstance(v, bool) and float(v).is_integer() and v >= 1
        except (TypeError, ValueError):
            whole = False
        if not whole:
            raise ValueError(
                f"{name}={short_repr(n)} must hold whole numbers >= 1 (a group size or an inclusive "
                f"(min, max) range of group sizes)."
            )
    lo, hi = int(lo), int(hi)
    if lo > hi:
        raise ValueError(f"{name}={short_repr(n)}: the minimum {lo} exceeds the maximum {hi}.")
    return range(lo, hi + 1)


def _candidates(
    name: str, pct: float, sizes: range, decimals: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Event counts x and sizes n with 100 x / n rounding to ``pct``, without enumerating 0..n.

    For each n the admissible x form the run between n (pct -+ h) / 100 (h the
    rounding half-width); the run's ends are widened by one and then tested
    with :func:`_rounds_to` itself, so the result is exactly the set that test
    accepts.  Work and memory grow with the number of candidates, not with the
    group sizes.
    """
    if len(sizes) > MAX_CANDIDATE_TABLES:
        raise ValueError(
            f"{name}=({sizes.start}, {sizes.stop - 1}) holds {len(sizes):,} group sizes, more "
            f"than the limit of {MAX_CANDIDATE_TABLES:,}; narrow the range."
        )
    n = np.arange(sizes.start, sizes.stop, dtype=np.int64)
    h = 0.5 * 10.0 ** (-decimals) * (1 + ROUNDING_SLACK)
    lo = np.clip(np.floor(n * (pct - h) / 100.0).astype(np.int64) - 1, 0, n)
    hi = np.clip(np.ceil(n * (pct + h) / 100.0).astype(np.int64) + 1, 0, n)
    width = hi - lo + 1
    total = int(width.sum())
    if total > MAX_CANDIDATE_TABLES:
        raise ValueError(
            f"{name}=({sizes.start}, {sizes.stop - 1}) gives about {total:,} candidate event "
            f"counts for {pct:g}%, more than the limit of {MAX_CANDIDATE_TABLES:,}; narrow the "
            f"range of group sizes."
        )
    sizes_rep = np.repeat(n, width)
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(width)[:-1])), width)
    x = starts + np.arange(total)
    ok = _rounds_to(100.0 * x / sizes_rep, pct, decimals)
    return x[ok], sizes_rep[ok]


@dataclass(frozen=True, repr=False)
class CountReconstruction(ResultMixin):
    """Candidate 2x2 tables consistent with printed percentages.

    Attributes
    ----------
    candidates : pandas.DataFrame
        One row per candidate table, best first (column ``rank`` from 1):
        ``events_exposed, n_exposed, events_unexposed, n_unexposed``, the exact
        percentages, the Woolf odds ratio and interval of the table
        (``odds_ratio, ci_low, ci_high``), ``discrepancy`` (the largest absolute
        log-scale difference between those and the reported OR and limits;
        NaN when nothing was reported), ``matches_or`` / ``matches_ci`` (each
        rounds to the reported value at the printed precision) and
        ``matches``.
    method : str
        How the tables were reconstructed (for the registry's provenance).
    alpha : float
        Level of the Woolf intervals.
    reported_or, reported_ci : float or None, tuple or None
        Echoed inputs.
    decimals : int
        Decimal places of the percentages.
    or_decimals : int or None
        Decimal places at which the reported OR and limits were matched (None
        when nothing was reported).
    """

    candidates: pd.DataFrame
    method: str
    alpha: float
    reported_or: float | None
    reported_ci: tuple[float, float] | None
    decimals: int
    or_decimals: int | None

    @property
    def best(self) -> pd.Series:
        """The first-ranked candidate."""
        return self.candidates.iloc[0]

    def __repr__(self) -> str:
        n = len(self.candidates)
        head = ""
        if n:
            b = self.best
            head = (
                f", best={int(b.events_exposed)}/{int(b.n_exposed)} vs "
                f"{int(b.events_unexposed)}/{int(b.n_unexposed)}"
            )
            if "matches" in self.candidates:
                head += f", matching={int(self.candidates['matches'].sum())}"
        return f"CountReconstruction({n} candidates{head})"


def counts_from_percentages(
    pct_exposed: float,
    n_exposed: int | tuple[int, int],
    pct_unexposed: float,
    n_unexposed: int | tuple[int, int],
    *,
    decimals: int = 0,
    reported_or: float | None = None,
    reported_ci: tuple[float, float] | None = None,
    or_decimals: int | None = None,
    alpha: float = 0.05,
) -> CountReconstruction:
    """Every event count consistent with printed percentages, ranked against a reported OR.

    For each possible group size n (an int, or an inclusive ``(min, max)``
    range when the size at follow-up is not printed), every count x with
    100 x / n rounding to the printed percentage at ``decimals`` places is a
    candidate.  Each pair of candidates gives a table whose Woolf odds ratio
    and ``1 - alpha`` interval are compared with the reported ones.

    Parameters
    ----------
    pct_exposed, pct_unexposed : float
        Printed percentages (0-100).
    n_exposed, n_unexposed : int or (int, int)
        Group size, or inclusive range of possible group sizes.
    decimals : int
        Decimal places the percentages were printed to.
    reported_or : float, optional
        The paper's odds ratio.
    reported_ci : (float, float), optional
        The paper's interval for it.
    or_decimals : int, optional
        Decimal places of the reported OR and limits; by default the largest
        number of places in the values as given (int 7 -> 0, float 7.0 -> 1,
        17.46 -> 2), so pass them as printed.
    alpha : float
        1 - level of the reported interval.

    Returns
    -------
    CountReconstruction
        Ranked by ``matches`` (all reported values reproduced at the printed
        precision) first, then by the log-scale ``discrepancy``.  Tables with a
        zero cell have no Woolf interval and rank last.

    Examples
    --------
    Cambridge Study in Delinquent Development: 65% of 23 separated boys vs
    21% of the other boys (193 to 227 followed up); OR 7.0 (2.8, 17.5).

    >>> rec = counts_from_percentages(65, 23, 21, (193, 227),
    ...                               reported_or=7.0, reported_ci=(2.8, 17.5))
    >>> b = rec.best
    >>> int(b.events_exposed), int(b.events_unexposed), int(b.n_unexposed)
    (15, 48, 227)
    """
    alpha = check_alpha(alpha)
    p1 = check_number("pct_exposed", pct_exposed, low=0.0, high=100.0)
    p2 = check_number("pct_unexposed", pct_unexposed, low=0.0, high=100.0)
    decimals = check_whole("decimals", decimals)
    sizes1 = _sizes("n_exposed", n_exposed)
    sizes2 = _sizes("n_unexposed", n_unexposed)
    reported_or, reported_ci, printed = _check_reported(reported_or, reported_ci)
    x1, s1 = _candidates("n_exposed", p1, sizes1, decimals)
    x2, s2 = _candidates("n_unexposed", p2, sizes2, decimals)
    if not x1.size or not x2.size:
        which = "pct_exposed" if not x1.size else "pct_unexposed"
        raise ValueError(
            f"No whole event count is consistent with {which} printed to {decimals} "
            f"decimal place(s) for the given group sizes; check the percentage, the group "
            f"size range and `decimals`."
        )
    if x1.size * x2.size > MAX_CANDIDATE_TABLES:
        raise ValueError(
            f"n_exposed={short_repr(n_exposed)} and n_unexposed={short_repr(n_unexposed)} give "
            f"{x1.size:,} x {x2.size:,} = {x1.size * x2.size:,} candidate tables, more than "
            f"the limit of {MAX_CANDIDATE_TABLES:,}; narrow the ranges of group sizes."
        )
    frame = _candidate_tables(x1, s1, x2, s2, alpha)
    method = (
        f"reconstructed: event counts whose percentages round to {p1:g}% and {p2:g}% "
        f"({decimals} decimal place(s)) for group sizes {sizes1.start}-{sizes1.stop - 1} and "
        f"{sizes2.start}-{sizes2.stop - 1}"
    )
    dp: int | None = None
    if printed:
        # the values as given set the printed precision (an int 7 was printed to 0 places, a float 7.0 to 1)
        dp = check_whole("or_decimals", or_decimals) if or_decimals is not None else max(map(_decimals_of, printed))
        frame = _rank_against_reported(frame, reported_or, reported_ci, dp)
        method += (
            f", ranked by agreement of the Woolf odds ratio and {100 * (1 - alpha):g}% "
            f"interval with the reported values (printed to {dp} decimal place(s))"
        )
    frame = frame.reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return CountReconstruction(
        candidates=frame,
        method=method,
        alpha=alpha,
        reported_or=reported_or,
        reported_ci=reported_ci,
        decimals=decimals,
        or_decimals=dp,
    )


def _check_reported(
    reported_or: Any, reported_ci: Any
) -> tuple[float | None, tuple[float, float] | None, list[Any]]:
    """The reported OR and interval, checked, and the values as given (for their printed precision)."""
    printed = [v for v in (reported_or,) if v is not None]
    if reported_or is not None:
        reported_or = check_number("reported_or", reported_or, low=0.0, low_open=True)
    if reported_ci is None:
        return reported_or, None, printed
    if isinstance(reported_ci, (str, bytes)) or not hasattr(reported_ci, "__len__"):
        raise TypeError(
            f"reported_ci={short_repr(reported_ci)} must be a (low, high) pair, e.g. "
            f"reported_ci=(2.8, 17.5)."
        )
    if len(reported_ci) != 2:
        raise ValueError(f"reported_ci={short_repr(reported_ci)} must be a (low, high) pair.")
    lo_ci = check_number("reported_ci[0]", reported_ci[0], low=0.0, low_open=True)
    hi_ci = check_number("reported_ci[1]", reported_ci[1], low=0.0, low_open=True)
    if lo_ci > hi_ci:
        raise ValueError(f"reported_ci={short_repr(reported_ci)} has its low limit above its high one.")
    printed += list(reported_ci)
    return reported_or, (lo_ci, hi_ci), printed


def _candidate_tables(x1: NDArray[np.int64], s1: NDArray[np.int64], x2: NDArray[np.int64],
                      s2: NDArray[np.int64], alpha: float) -> pd.DataFrame:
    """Every pairing of the candidate counts, with its Woolf odds ratio and ``1 - alpha`` interval."""
    e1 = np.repeat(x1, x2.size).astype(float)
    m1 = np.repeat(s1, x2.size).astype(float)
    e2 = np.tile(x2, x1.size).astype(float)
    m2 = np.tile(s2, x1.size).astype(float)
    yi, vi = log_odds_ratio_kernel(e1, m1 - e1, e2, m2 - e2)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", over="ignore"):
        se = np.sqrt(vi)
        finite = np.isfinite(yi) & np.isfinite(se)
        est = np.where(finite, np.exp(yi), np.nan)
        lo = np.where(finite, np.exp(yi - z * se), np.nan)
        hi = np.where(finite, np.exp(yi + z * se), np.nan)
    return pd.DataFrame(
        {
            "events_exposed": e1.astype(int),
            "n_exposed": m1.astype(int),
            "events_unexposed": e2.astype(int),
            "n_unexposed": m2.astype(int),
            "pct_exposed": 100 * e1 / m1,
            "pct_unexposed": 100 * e2 / m2,
            "odds_ratio": est,
            "ci_low": lo,
            "ci_high": hi,
        }
    )


def _rank_against_reported(frame: pd.DataFrame, reported_or: float | None,
                           reported_ci: tuple[float, float] | None, dp: int) -> pd.DataFrame:
    """``frame`` with ``matches_*``, ``discrepancy`` (largest log-scale distance) and ``matches``, ranked."""
    est, lo, hi = (frame[c].to_numpy() for c in ("odds_ratio", "ci_low", "ci_high"))
    with np.errstate(divide="ignore", invalid="ignore"):
        parts = []
        match = np.ones(len(frame), dtype=bool)
        if reported_or is not None:
            parts.append(np.abs(np.log(est) - math.log(reported_or)))
            frame["matches_or"] = _rounds_to(est, reported_or, dp)
            match &= frame["matches_or"].to_numpy()
        if reported_ci is not None:
            parts.append(np.abs(np.log(lo) - math.log(reported_ci[0])))
            parts.append(np.abs(np.log(hi) - math.log(reported_ci[1])))
            frame["matches_ci"] = _rounds_to(lo, reported_ci[0], dp) & _rounds_to(hi, reported_ci[1], dp)
            match &= frame["matches_ci"].to_numpy()
    frame["discrepancy"] = np.max(np.vstack(parts), axis=0)
    frame["matches"] = match & np.isfinite(est) & np.isfinite(lo) & np.isfinite(hi)
    return frame.sort_values(["matches", "discrepancy"], ascending=[False, True], na_position="last",
                             kind="mergesort")


@dataclass(frozen=True, repr=False)
class SEFromCI(ResultMixin):
    """Standard error recovered from a reported estimate and confidence interval.

    Attributes
    ----------
    se : float
        Standard error on the analysis scale (log scale for ratios).
    estimate : float
        The reported estimate (natural scale).
    log_estimate : float
        Estimate on the analysis scale (its log for ``scale="log"``).
    midpoint : float
        Midpoint of the interval on the analysis scale.
    discrepancy : float
        |log_estimate - midpoint|.
    tolerance : float
        Largest discrepancy explainable by rounding at the printed precision.
    consistent : bool
        ``discrepancy <= tolerance``.
    decimals : int
        Printed precision used.
    alpha, scale, method : float, str, str
    """

    se: float
    estimate: float
    log_estimate: float
    midpoint: float
    discrepancy: float
    tolerance: float
    consistent: bool
    decimals: int
    alpha: float
    scale: str
    method: str

    def __repr__(self) -> str:
        return (
            f"SEFromCI(se={fmt(self.se)}, scale={self.scale!r}, consistent={self.consistent}, "
            f"discrepancy={fmt(self.discrepancy, 3)}, tolerance={fmt(self.tolerance, 3)})"
        )


def se_from_ci(
    estimate: float,
    ci_low: float,
    ci_high: float,
    *,
    alpha: float = 0.05,
    scale: str = "log",
    decimals: int | None = None,
) -> SEFromCI:
    """Standard error from a reported estimate and its confidence interval.

    For ratios (``scale="log"``): SE = (ln(ci_high) - ln(ci_low)) / (2 z),
    z = z(1 - alpha/2) (Altman & Bland 2011; Cochrane Handbook 6.3.2); for
    differences (``scale="linear"``) the same without logs.  A Wald interval
    is symmetric on that scale, so the estimate should sit at the interval's
    midpoint.  The check allows for rounding: each printed number may be off by
    half a unit in its last place, and the estimate is consistent when the
    distance of its (log) value from the (log) midpoint is no more than the
    largest distance such rounding could create.  Otherwise
    :class:`~evidence.exceptions.DataWarning` is issued: the interval may not be
    a Wald interval on this scale (exact, profile or adjusted intervals), or a
    number may be misprinted.

    Parameters
    ----------
    estimate, ci_low, ci_high : float
        Reported values (ratios on their natural scale).
    alpha : float
        1 - level of the reported interval.
    scale : {"log", "linear"}
    decimals : int, optional
        Decimal places the values were printed to; by default the largest
        number of places in the values as given (int 7 -> 0, float 7.0 -> 1).

    Examples
    --------
    >>> r = se_from_ci(7.0, 2.8, 17.5)
    >>> round(r.se, 3), r.consistent
    (0.468, True)
    """
    alpha = check_alpha(alpha)
    scale = check_choice("scale", scale, options.CI_SCALES)
    positive = scale == "log"
    est = check_number("estimate", estimate, low=0.0 if positive else None, low_open=positive)
    lo = check_number("ci_low", ci_low, low=0.0 if positive else None, low_open=positive)
    hi = check_number("ci_high", ci_high, low=0.0 if positive else None, low_open=positive)
    if not lo < hi:
        raise ValueError(f"ci_low={ci_low!r} must be below ci_high={ci_high!r}.")
    if not lo <= est <= hi:
        raise ValueError(
            f"estimate={estimate!r} lies outside its interval ({ci_low!r}, {ci_high!r}); "
            f"check the numbers."
        )
    if decimals is None:
        dp = max(_decimals_of(v) for v in (estimate, ci_low, ci_high))
    else:
        dp = check_whole("decimals", decimals)
    h = 0.5 * 10.0 ** (-dp)
    f = math.log if positive else (lambda v: v)
    z = float(stats.norm.ppf(1 - alpha / 2))
    y, a, b = f(est), f(lo), f(hi)
    se = (b - a) / (2 * z)
    mid = (a + b) / 2
    discrepancy = abs(y - mid)

    def widest(v: float) -> float:
        """Largest change of f(v) when v moves by the rounding half-width h."""
        if positive:
            lower = max(v - h, v * 1e-12)
            return max(math.log(v + h) - math.log(v), math.log(v) - math.log(lower))
        return h

    tolerance = widest(est) + (widest(lo) + widest(hi)) / 2
    consistent = discrepancy <= tolerance * (1 + ROUNDING_SLACK)
    if not consistent:
        warnings.warn(
            f"The estimate {estimate!r} is not at the {scale}-scale midpoint of its interval "
            f"({ci_low!r}, {ci_high!r}): the distance {discrepancy:.3g} exceeds the "
            f"{tolerance:.3g} that rounding to {dp} decimal place(s) could explain. The "
            f"interval may not be a Wald interval on the {scale} scale, or a value may be "
            f"misprinted; the SE {se:.4g} assumes a Wald interval.",
            DataWarning,
            stacklevel=2,
        )
    return SEFromCI(
        se=se,
        estimate=est,
        log_estimate=y,
        midpoint=mid,
        discrepancy=discrepancy,
        tolerance=tolerance,
        consistent=bool(consistent),
        decimals=dp,
        alpha=alpha,
        scale=scale,
        method=(
            f"reconstructed: SE from the reported {100 * (1 - alpha):g}% interval, "
            f"({'ln ' if positive else ''}high - {'ln ' if positive else ''}low) / (2 x {z:.4f})"
        ),
    )


def _first_bad(arr: NDArray[np.float64], bad: NDArray[np.bool_]) -> str:
    """'the value V' (scalar) or 'the value V at position i' (array) of the first bad entry."""
    if arr.ndim == 0:
        return f"the value {float(arr):g}"
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    where = idx[0] if len(idx) == 1 else idx
    return f"the value {float(arr[idx]):g} at position {where}"


def _array(name: str, x: ArrayLike) -> NDArray[np.float64]:
    """``x`` as a float array of any shape; strings, booleans and None raise TypeError naming ``name``."""
    return as_float_array(name, x, ndim=None)


def _positive(name: str, x: ArrayLike) -> NDArray[np.float64]:
    arr = _array(name, x)
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise ValueError(f"{name} has {_first_bad(arr, bad)}; it must be a finite number > 0.")
    return arr


def _risk(name: str, x: ArrayLike, *, allow_one: bool = False) -> NDArray[np.float64]:
    arr = _array(name, x)
    bad = ~np.isfinite(arr) | (arr < 0) | ((arr >= 1) if not allow_one else (arr > 1))
    if bad.any():
        upper = "<= 1" if allow_one else "< 1"
        raise ValueError(f"{name} has {_first_bad(arr, bad)}; a risk must be >= 0 and "
                         f"{upper} (a proportion, not a percentage).")
    return arr


def _paired(**arrays: NDArray[np.float64]) -> None:
    """Raise ValueError naming both arguments if their shapes do not broadcast together."""
    try:
        np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        desc = " and ".join(f"{n} has shape {a.shape}" for n, a in arrays.items())
        raise ValueError(
            f"{desc}; give one value of each per estimate (equal lengths), or a single value "
            f"for all."
        ) from None


def _out(x: NDArray[np.float64]) -> float | NDArray[np.float64]:
    return float(x) if x.ndim == 0 else x


def or_to_rr(odds_ratio: ArrayLike, baseline_risk: ArrayLike) -> float | NDArray[np.float64]:
    """Risk ratio implied by an odds ratio and the unexposed group's risk.

    RR = OR / (1 - p0 + p0 OR) (Zhang & Yu 1998).  Exact for a single 2x2
    table; applied to adjusted odds ratios or to confidence limits it is an
    approximation (it ignores the covariance with p0).

    Examples
    --------
    >>> round(or_to_rr(6.99, 48 / 227), 2)
    3.08
    """
    o = _positive("odds_ratio", odds_ratio)
    p0 = _risk("baseline_risk", baseline_risk)
    _paired(odds_ratio=o, baseline_risk=p0)
    return _out(o / (1 - p0 + p0 * o))


def rr_to_or(risk_ratio: ArrayLike, baseline_risk: ArrayLike) -> float | NDArray[np.float64]:
    """Odds ratio implied by a risk ratio and the unexposed group's risk.

    OR = RR (1 - p0) / (1 - RR p0), the inverse of :func:`or_to_rr`; requires
    RR p0 < 1 (the exposed risk must be below 1).

    Examples
    --------
    >>> round(rr_to_or(3.0842, 48 / 227), 2)
    6.99
    """
    r = _positive("risk_ratio", risk_ratio)
    p0 = _risk("baseline_risk", baseline_risk)
    _paired(risk_ratio=r, baseline_risk=p0)
    p1 = r * p0
    if np.any(p1 >= 1):
        raise ValueError(
            f"risk_ratio x baseline_risk has {_first_bad(p1, p1 >= 1)}: the exposed risk "
            f"would be >= 1, so no odds ratio corresponds."
        )
    return _out(r * (1 - p0) / (1 - p1))


def or_to_smd(odds_ratio: ArrayLike) -> float | NDArray[np.float64]:
    """Standardised mean difference d = ln(OR) sqrt(3) / pi (Hasselblad & Hedges 1995; Chinn 2000).

    Its variance is ``smd_variance_from_log_or(var_log_or)`` = 3 var(ln OR) / pi^2.

    Examples
    --------
    >>> round(or_to_smd(7.0), 3)
    1.073
    """
    return _out(np.log(_positive("odds_ratio", odds_ratio)) * _SMD_FACTOR)


def smd_to_or(smd: ArrayLike) -> float | NDArray[np.float64]:
    """Odds ratio exp(d pi / sqrt(3)), the inverse of :func:`or_to_smd`.

    Examples
    --------
    >>> round(smd_to_or(or_to_smd(7.0)), 10)
    7.0
    """
    d = _array("smd", smd)
    bad = ~np.isfinite(d)
    if bad.any():
        raise ValueError(f"smd must be finite; got {_first_bad(d, bad)}.")
    big = np.abs(d) > MAX_ABS_SMD
    if big.any():
        raise ValueError(
            f"smd has {_first_bad(d, big)}, whose odds ratio exp(smd pi / sqrt(3)) is beyond "
            f"double precision; |smd| must be <= {MAX_ABS_SMD:.1f}."
        )
    return _out(np.exp(d / _SMD_FACTOR))


def smd_variance_from_log_or(var_log_or: ArrayLike) -> float | NDArray[np.float64]:
    """Variance of d from the variance of ln(OR): 3 var / pi^2 (Chinn 2000)."""
    return _out(_positive("var_log_or", var_log_or) * _SMD_FACTOR**2)


def log_or_variance_from_smd(var_smd: ArrayLike) -> float | NDArray[np.float64]:
    """Variance of ln(OR) from the variance of d: pi^2 var / 3 (Chinn 2000)."""
    return _out(_positive("var_smd", var_smd) / _SMD_FACTOR**2)


def risk_from_odds(odds: ArrayLike) -> float | NDArray[np.float64]:
    """Risk p = odds / (1 + odds).

    Examples
    --------
    >>> risk_from_odds(1.0)
    0.5
    """
    o = _array("odds", odds)
    bad = ~np.isfinite(o) | (o < 0)
    if bad.any():
        raise ValueError(f"odds must be finite and >= 0; got {_first_bad(o, bad)}.")
    return _out(o / (1 + o))


def odds_from_risk(risk: ArrayLike) -> float | NDArray[np.float64]:
    """Odds p / (1 - p) of a risk p in [0, 1).

    Examples
    --------
    >>> round(odds_from_risk(0.65), 4)
    1.8571
    """
    p = _risk("risk", risk)
    return _out(p / (1 - p))
