"""Single-study effect sizes from 2x2 counts: odds ratio, risk ratio, risk difference.

Every function takes the four counts of a two-group comparison,

===========  ==========================  =========================
group        with the event              without the event
===========  ==========================  =========================
exposed      ``a = events_exposed``      ``b = n_exposed - a``
unexposed    ``c = events_unexposed``    ``d = n_unexposed - c``
===========  ==========================  =========================

and validates them through :mod:`evidence._validation` (negative, non-integer,
NaN, events above the group size, counts above 2**53, mismatched lengths, pandas
Series with different indexes: ValueError naming the argument, value and study
index; strings, booleans and None: TypeError).

Two layers:

* pure NumPy kernels (``zero_cell``, ``double_zero``, ``continuity_corrections``,
  ``log_odds_ratio_kernel``, ``log_risk_ratio_kernel``, ``risk_difference_kernel``),
  array in, array out, batch-shaped;
* public functions returning frozen results: :func:`odds_ratio`,
  :func:`risk_ratio`, :func:`risk_difference` for one table, and
  :func:`log_odds_ratios`, :func:`log_risk_ratios`, :func:`risk_differences`
  giving the ``yi``/``vi`` of many tables for pooling (metafor's ``escalc``).

References
----------
.. [1] Woolf B (1955). On estimating the relation between blood group and
   disease. Ann Hum Genet 19:251-253.
.. [2] Cornfield J (1956). A statistical problem arising from retrospective
   studies. Proc Third Berkeley Symp 4:135-148.  (R ``fisher.test`` limits.)
.. [3] Lancaster HO (1961). Significance tests in discrete distributions.
   JASA 56:223-234.  (mid-p.)
.. [4] Miettinen O, Nurminen M (1985). Comparative analysis of two rates.
   Stat Med 4:213-226.
.. [5] Fagerland MW, Lydersen S, Laake P (2015). Recommended confidence
   intervals for two independent binomial proportions. Stat Methods Med Res
   24:224-254; and (2017) Statistical Analysis of Contingency Tables, CRC,
   Chapter 4 ("The 2x2 table"), Sections 4.7-4.8.
.. [6] Katz D, Baptista J, Azen SP, Pike MC (1978). Obtaining confidence
   intervals for the risk ratio in cohort studies. Biometrics 34:469-474.
.. [7] Newcombe RG (1998). Interval estimation for the difference between
   independent proportions: comparison of eleven methods. Stat Med
   17:873-890 (method 10, the hybrid score interval).
.. [8] Sweeting MJ, Sutton AJ, Lambert PC (2004). What to add to nothing? Use
   and avoidance of continuity corrections in meta-analysis of sparse data.
   Stat Med 23:1351-1375 (the "treatment arm" continuity correction; as
   implemented in R meta, ``metabin(incr = "TACC")``).
.. [9] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
   package. J Stat Softw 36(3); ``metafor::escalc`` (``add``, ``to``, ``drop00``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special, stats

from evidence import options
from evidence._results import ResultMixin, fmt
from evidence._validation import check_alpha, check_choice, check_tables
from evidence.exceptions import ZeroCellWarning

__all__ = [
    "ConfidenceInterval",
    "OddsRatioResult",
    "RiskRatioResult",
    "RiskDifferenceResult",
    "EffectSizes",
    "odds_ratio",
    "risk_ratio",
    "risk_difference",
    "log_odds_ratios",
    "log_risk_ratios",
    "risk_differences",
    "zero_cell",
    "double_zero",
    "continuity_corrections",
    "log_odds_ratio_kernel",
    "log_risk_ratio_kernel",
    "risk_difference_kernel",
]

FloatArray = NDArray[np.float64]

#: Convergence tolerance (log-odds-ratio scale) of the root finders for the
#: mid-p and score limits.
ROOT_XTOL: float = 1e-12


class ConfidenceInterval(NamedTuple):
    """A confidence interval (``low``, ``high``)."""

    low: float
    high: float


# ---------------------------------------------------------------------------
# Array kernels
# ---------------------------------------------------------------------------


def _tables(
    events_exposed: ArrayLike,
    n_exposed: ArrayLike,
    events_unexposed: ArrayLike,
    n_unexposed: ArrayLike,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Validate the counts; return the cells a, b, c, d as float arrays."""
    a, n1, c, n2 = check_tables(events_exposed, n_exposed, events_unexposed, n_unexposed)
    return a, n1 - a, c, n2 - c


def zero_cell(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> NDArray[np.bool_]:
    """True for each table with at least one zero cell."""
    return (a == 0) | (b == 0) | (c == 0) | (d == 0)


def double_zero(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> NDArray[np.bool_]:
    """True for each table with no events in either group, or only events in both.

    These are the tables metafor's ``escalc(drop00=TRUE)`` drops.
    """
    return ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))


def continuity_corrections(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray, correction: str
) -> tuple[FloatArray, FloatArray]:
    """Amounts added to each cell of the exposed and the unexposed row.

    Parameters
    ----------
    a, b, c, d : ndarray
        Cells of the tables.
    correction : {"none", "add_if_zero", "add_all", "treatment_arm"}
        ``"add_if_zero"``: 0.5 to every cell of a table with a zero cell
        (metafor ``add=1/2, to="only0"``).  ``"add_all"``: 0.5 to every cell of
        every table (``to="all"``).  ``"treatment_arm"``: Sweeting, Sutton &
        Lambert (2004), "treatment arm" correction: for a table with a zero cell, the
        corrections are proportional to the reciprocal of the size of the
        *other* arm and sum to one, i.e. ``k_exposed = n_exposed / (n_exposed +
        n_unexposed)`` added to both exposed cells and ``k_unexposed =
        n_unexposed / (n_exposed + n_unexposed)`` to both unexposed cells
        (R ``meta``'s ``incr = "TACC"``); with equal arms this is 0.5 everywhere.

    Returns
    -------
    k_exposed, k_unexposed : ndarray
        Added to (a, b) and to (c, d) respectively.
    """
    check_choice("correction", correction, options.ZERO_CELL_CORRECTIONS)
    half = options.CONTINUITY_CORRECTION
    zero = zero_cell(a, b, c, d)
    if correction == "none":
        k = np.zeros_like(a)
        return k, k.copy()
    if correction == "add_if_zero":
        k = np.where(zero, half, 0.0)
        return k, k.copy()
    if correction == "add_all":
        k = np.full_like(a, half)
        return k, k.copy()
    n1, n2 = a + b, c + d
    return np.where(zero, n1 / (n1 + n2), 0.0), np.where(zero, n2 / (n1 + n2), 0.0)


def log_odds_ratio_kernel(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Log odds ratio log(ad/bc) and Woolf's variance 1/a + 1/b + 1/c + 1/d.

    Zero cells give +-inf or NaN (no correction is made here).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.log(a) + np.log(d) - np.log(b) - np.log(c)
        vi = 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d
    return yi, vi


def log_risk_ratio_kernel(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Log risk ratio and the Katz et al. (1978) variance 1/a - 1/n1 + 1/c - 1/n2."""
    n1, n2 = a + b, c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.log(a / n1) - np.log(c / n2)
        vi = 1.0 / a - 1.0 / n1 + 1.0 / c - 1.0 / n2
    return yi, vi


def risk_difference_kernel(
    a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Risk difference p1 - p2 and its Wald variance p1 q1 / n1 + p2 q2 / n2."""
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2
    return p1 - p2, p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2


_KERNELS: dict[str, tuple[Callable[..., tuple[FloatArray, FloatArray]], str]] = {
    "OR": (log_odds_ratio_kernel, "log odds ratio"),
    "RR": (log_risk_ratio_kernel, "log risk ratio"),
    "RD": (risk_difference_kernel, "risk difference"),
}


def _describe(i: int, a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> str:
    return (
        f"study {i} (events_exposed={a[i]:g}, n_exposed={a[i] + b[i]:g}, "
        f"events_unexposed={c[i]:g}, n_unexposed={c[i] + d[i]:g})"
    )


# ---------------------------------------------------------------------------
# Many tables: yi / vi for pooling
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class EffectSizes(ResultMixin):
    """Per-study effect sizes ready for pooling (metafor ``escalc`` output).

    Attributes
    ----------
    yi, vi : ndarray
        Effect sizes (log odds ratios, log risk ratios or risk differences)
        and sampling variances; NaN for excluded studies.
    included : ndarray of bool
        False for double-zero studies excluded by ``double_zero="exclude"``.
    corrected : ndarray of bool
        True where a continuity correction was added.
    table : ndarray, shape (k, 4)
        The observed cells a, b, c, d (before any correction).
    measure : {"OR", "RR", "RD"}
    correction, double_zero : str
        The options used.
    alpha : float
        Level of the per-study intervals of :meth:`summary_frame`.
    """

    yi: FloatArray
    vi: FloatArray
    included: NDArray[np.bool_]
    corrected: NDArray[np.bool_]
    table: FloatArray
    measure: str
    correction: str
    double_zero: str
    alpha: float

    @property
    def k(self) -> int:
        """Number of included studies."""
        return int(self.included.sum())

    def __repr__(self) -> str:
        return (
            f"EffectSizes(measure={self.measure!r}, k={self.k} of {len(self.yi)} included, "
            f"{int(self.corrected.sum())} corrected, correction={self.correction!r}, "
            f"double_zero={self.double_zero!r})"
        )

    def summary_frame(self) -> pd.DataFrame:
        """One row per study: estimate (yi), se, ci_low, ci_high, weight (NaN), flags.

        Intervals are Wald intervals yi +- z(1 - alpha/2) sqrt(vi) on the
        analysis scale (log scale for OR and RR).
        """
        z = stats.norm.ppf(1 - self.alpha / 2)
        se = np.sqrt(self.vi)
        frame = pd.DataFrame(
            {
                "estimate": self.yi,
                "se": se,
                "ci_low": self.yi - z * se,
                "ci_high": self.yi + z * se,
                "weight": np.full(len(self.yi), np.nan),
                "included": self.included,
                "corrected": self.corrected,
            }
        )
        frame.index.name = "study"
        frame.attrs["alpha"] = self.alpha
        return frame


def _effect_sizes(
    measure: str,
    events_exposed: ArrayLike,
    n_exposed: ArrayLike,
    events_unexposed: ArrayLike,
    n_unexposed: ArrayLike,
    correction: str,
    double_zero_: str,
    alpha: float,
) -> EffectSizes:
    check_choice("correction", correction, options.ZERO_CELL_CORRECTIONS)
    check_choice("double_zero", double_zero_, options.DOUBLE_ZERO)
    alpha = check_alpha(alpha)
    a, b, c, d = _tables(events_exposed, n_exposed, events_unexposed, n_unexposed)
    dz = double_zero(a, b, c, d)
    included = ~dz if double_zero_ == "exclude" else np.ones_like(dz)
    if (~included).any():
        idx = [int(i) for i in np.flatnonzero(~included)]
        warnings.warn(
            f"Excluded {len(idx)} double-zero {'study' if len(idx) == 1 else 'studies'} "
            f"(no events in either group, or only events in both) at index "
            f"{', '.join(map(str, idx))}; pass double_zero='keep' to keep "
            f"{'it' if len(idx) == 1 else 'them'} with a continuity correction.",
            ZeroCellWarning,
            stacklevel=3,
        )
    ke, ku = continuity_corrections(a, b, c, d, correction)
    ke = np.where(included, ke, 0.0)
    ku = np.where(included, ku, 0.0)
    corrected = included & ((ke > 0) | (ku > 0))
    kernel, name = _KERNELS[measure]
    yi, vi = kernel(a + ke, b + ke, c + ku, d + ku)
    bad = included & ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    if bad.any():
        i = int(np.argmax(bad))
        what = "infinite or undefined" if not np.isfinite(yi[i]) else "of zero variance"
        raise ValueError(
            f"{_describe(i, a, b, c, d)} has a zero cell, so its {name} is {what} with "
            f"correction={correction!r}; pass correction='add_if_zero' (or 'add_all', "
            f"'treatment_arm'), or double_zero='exclude' if it is a double-zero study."
        )
    yi = np.where(included, yi, np.nan)
    vi = np.where(included, vi, np.nan)
    return EffectSizes(
        yi=yi,
        vi=vi,
        included=included,
        corrected=corrected,
        table=np.column_stack([a, b, c, d]),
        measure=measure,
        correction=correction,
        double_zero=double_zero_,
        alpha=alpha,
    )


def log_odds_ratios(
    events_exposed: ArrayLike,
    n_exposed: ArrayLike,
    events_unexposed: ArrayLike,
    n_unexposed: ArrayLike,
    *,
    correction: str = "add_if_zero",
    double_zero: str = "exclude",
    alpha: float = 0.05,
) -> EffectSizes:
    """Log odds ratios and Woolf variances of many 2x2 tables, for pooling.

    ``yi = log(ad / bc)``, ``vi = 1/a + 1/b + 1/c + 1/d`` after the continuity
    correction (Woolf 1955); identical to ``metafor::escalc(measure="OR", add=1/2,
    to=..., drop00=...)``.

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : array_like
        Counts, one entry per study.
    correction : {"add_if_zero", "none", "add_all", "treatment_arm"}
        See :func:`continuity_corrections`.  ``"add_if_zero"`` is metafor's
        default (``add=1/2, to="only0"``).  With ``"none"`` a zero cell raises
        ValueError (its log odds ratio is infinite).
    double_zero : {"exclude", "keep"}
        ``"exclude"`` (metafor ``drop00=TRUE``; note metafor's own default is
        ``drop00=FALSE``) sets yi, vi to NaN, ``included`` to False and warns
        :class:`~evidence.exceptions.ZeroCellWarning` naming the studies.
        ``"keep"`` treats them like any table with a zero cell.
    alpha : float
        Level of the per-study intervals of ``summary_frame()``.

    Returns
    -------
    EffectSizes

    Examples
    --------
    >>> es = log_odds_ratios([15, 0], [23, 10], [48, 3], [227, 12])
    >>> es.yi.round(4), es.corrected
    (array([ 1.9448, -2.046 ]), array([False,  True]))
    """
    return _effect_sizes(
        "OR", events_exposed, n_exposed, events_unexposed, n_unexposed,
        correction, double_zero, alpha,
    )


def log_risk_ratios(
    events_exposed: ArrayLike,
    n_exposed: ArrayLike,
    events_unexposed: ArrayLike,
    n_unexposed: ArrayLike,
    *,
    correction: str = "add_if_zero",
    double_zero: str = "exclude",
    alpha: float = 0.05,
) -> EffectSizes:
    """Log risk ratios and Katz variances of many 2x2 tables (``escalc(measure="RR")``).

    ``yi = log((a/n1) / (c/n2))``, ``vi = 1/a - 1/n1 + 1/c - 1/n2`` (Katz et al.
    1978) computed on the corrected cells (so n1 = a + b after correction, as in
    metafor).  Options as in :func:`log_odds_ratios`.

    Examples
    --------
    >>> log_risk_ratios([15], [23], [48], [227]).yi.round(4)
    array([1.1263])
    """
    return _effect_sizes(
        "RR", events_exposed, n_exposed, events_unexposed, n_unexposed,
        correction, double_zero, alpha,
    )


def risk_differences(
    events_exposed: ArrayLike,
    n_exposed: ArrayLike,
    events_unexposed: ArrayLike,
    n_unexposed: ArrayLike,
    *,
    correction: str = "add_if_zero",
    double_zero: str = "exclude",
    alpha: float = 0.05,
) -> EffectSizes:
    """Risk differences and Wald variances of many 2x2 tables (``escalc(measure="RD")``).

    ``yi = a/n1 - c/n2``, ``vi = p1 q1 / n1 + p2 q2 / n2`` on the corrected cells.
    metafor applies its ``add``/``to`` correction to risk differences too, and so
    do we, to agree with it; with ``correction="none"`` only tables whose
    variance would be zero (each group's risk 0 or 1, e.g. a double-zero study
    kept, or 10/10 vs 0/12) raise.

    Examples
    --------
    >>> risk_differences([15], [23], [48], [227]).yi.round(4)
    array([0.4407])
    """
    return _effect_sizes(
        "RD", events_exposed, n_exposed, events_unexposed, n_unexposed,
        correction, double_zero, alpha,
    )


# ---------------------------------------------------------------------------
# One table
# ---------------------------------------------------------------------------


def _single(
    events_exposed: ArrayLike,
    n_exposed: ArrayLike,
    events_unexposed: ArrayLike,
    n_unexposed: ArrayLike,
    func: str,
) -> tuple[float, float, float, float]:
    a, b, c, d = _tables(events_exposed, n_exposed, events_unexposed, n_unexposed)
    if len(a) != 1:
        raise ValueError(
            f"{func}() takes the counts of one table; got {len(a)} tables. Use "
            f"log_odds_ratios / log_risk_ratios / risk_differences for several studies."
        )
    return float(a[0]), float(b[0]), float(c[0]), float(d[0])


def _corrected_cells(
    a: float, b: float, c: float, d: float, correction: str
) -> tuple[float, float, float, float, bool]:
    ke, ku = continuity_corrections(
        np.array([a]), np.array([b]), np.array([c]), np.array([d]), correction
    )
    k1, k2 = float(ke[0]), float(ku[0])
    return a + k1, b + k1, c + k2, d + k2, bool(k1 > 0 or k2 > 0)


@dataclass(frozen=True, repr=False)
class _SingleEffect(ResultMixin):
    estimate: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    ci: str
    alpha: float
    correction: str
    corrected: bool
    table: tuple[int, int, int, int]

    _label = "effect"

    def confidence_interval(self) -> ConfidenceInterval:
        """The ``1 - alpha`` confidence interval (method ``ci``)."""
        return ConfidenceInterval(self.ci_low, self.ci_high)

    def describe(self, **words: str) -> str:
        """This result in plain words for a non-statistician: :func:`evidence.teaching.describe`.

        ``words`` are that function's ``exposed``, ``unexposed``, ``happened`` and ``outcome``.

        Examples
        --------
        >>> print(odds_ratio(15, 23, 48, 227).describe(happened="were convicted", outcome="conviction"))
        ... # doctest: +ELLIPSIS
        Of 23 people in the exposed group, 15 (65%) were convicted; ... 7.0 times as high (95% CI 2.8 to 17.5)...
        """
        from evidence.teaching import describe

        return describe(self, **words)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(estimate={fmt(self.estimate)}, ci_low={fmt(self.ci_low)}, "
            f"ci_high={fmt(self.ci_high)}, ci={self.ci!r}, alpha={self.alpha:g}, "
            f"p_value={fmt(self.p_value, 3)})"
        )

    def _frame_extra(self) -> dict[str, float]:
        return {}

    def summary_frame(self) -> pd.DataFrame:
        """One row: estimate, se, ci_low, ci_high, weight (NaN), p_value, ...

        For ratios ``estimate`` and the interval are on the ratio scale and
        ``se`` is on the log scale (column ``log_estimate`` alongside).
        """
        row = {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "weight": np.nan,
            **self._frame_extra(),
            "p_value": self.p_value,
            "ci": self.ci,
            "correction": self.correction,
        }
        frame = pd.DataFrame([row], index=pd.Index([self._label], name="effect"))
        frame.attrs["alpha"] = self.alpha
        return frame


@dataclass(frozen=True, repr=False)
class OddsRatioResult(_SingleEffect):
    """Odds ratio of one 2x2 table.

    Attributes
    ----------
    estimate : float
        The sample odds ratio ad/bc (of the corrected cells if a correction was
        applied); 0 or inf with an uncorrected zero cell, NaN when a column is
        empty.
    ci_low, ci_high : float
        ``1 - alpha`` interval by method ``ci``.
    log_estimate : float
        log(estimate).
    se : float
        Woolf's log-scale standard error sqrt(1/a + 1/b + 1/c + 1/d); inf when a
        cell is zero (uncorrected).
    p_value : float
        Two-sided p-value of OR = 1 by the test matching ``ci`` (see
        :func:`odds_ratio`).
    ci, alpha, correction : str, float, str
        Options used; ``corrected`` says whether a correction was added.
    table : tuple of int
        Observed cells (a, b, c, d).
    """

    log_estimate: float = math.nan
    _label = "odds ratio"

    def _frame_extra(self) -> dict[str, float]:
        return {"log_estimate": self.log_estimate}


@dataclass(frozen=True, repr=False)
class RiskRatioResult(_SingleEffect):
    """Risk ratio (a/n1)/(c/n2) of one 2x2 table; fields as :class:`OddsRatioResult`.

    ``se`` is the Katz log-scale standard error sqrt(1/a - 1/n1 + 1/c - 1/n2).
    """

    log_estimate: float = math.nan
    _label = "risk ratio"

    def _frame_extra(self) -> dict[str, float]:
        return {"log_estimate": self.log_estimate}


@dataclass(frozen=True, repr=False)
class RiskDifferenceResult(_SingleEffect):
    """Risk difference a/n1 - c/n2 of one 2x2 table; fields as :class:`OddsRatioResult`.

    ``se`` is the Wald standard error sqrt(p1 q1 / n1 + p2 q2 / n2).
    """

    _label = "risk difference"


# --- odds-ratio interval kernels ------------------------------------------------------

#: Largest support (number of possible values of ``a`` given the margins) of the
#: conditional distribution behind ``ci="exact"`` and ``ci="midp"``: memory and time
#: are linear in it (about 0.1 s per 10^5 values); 10^6 per arm is still accepted.
MAX_CONDITIONAL_SUPPORT: int = 2_000_001

#: Largest |log odds ratio| searched for a confidence limit.  Beyond it the
#: limit is reported as 0 or inf: the statistic (a tail probability, or the
#: score statistic) has not reached its critical value at an odds ratio of
#: e^-700 or e^700, the edge of double precision.
LOG_OR_SEARCH_LIMIT: float = 700.0


def _solve_monotone(f: Callable[[float], float], start: float, increasing: bool) -> float:
    """Root of a monotone ``f`` of log(OR), bracketed outwards from ``start``.

    The sign of ``f(start)`` and the direction of monotonicity say on which
    side of ``start`` the root lies; the bracket is widened geometrically on
    that side up to |log OR| = :data:`LOG_OR_SEARCH_LIMIT`.  If ``f`` has not
    changed sign there, the statistic never reaches its critical value on that
    side and the root is -inf or +inf (an odds ratio of 0 or inf).
    """
    f0 = f(start)
    if f0 == 0:
        return start
    step = -1.0 if (f0 > 0) == increasing else 1.0
    x = start + step
    while abs(x) <= LOG_OR_SEARCH_LIMIT:
        fx = f(x)
        if np.sign(fx) != np.sign(f0):
            lo, hi = sorted((start, x))
            return float(optimize.brentq(f, lo, hi, xtol=ROOT_XTOL, rtol=4 * np.finfo(float).eps))
        start, f0 = x, fx
        step *= 2
        x = start + step
    return math.copysign(math.inf, step)


class _Conditional:
    """Fisher's noncentral hypergeometric law of ``a`` given the margins, on the log scale.

    P(X = x; theta) is proportional to C(n1, x) C(n2, m - x) theta^x over the
    support max(0, m - n2) <= x <= min(n1, m) (Cornfield 1956; the ``dnhyper``
    of R's ``fisher.test``).  The log central probabilities are computed once
    with ``scipy.stats.hypergeom.logpmf``; each odds ratio then costs one
    exponential over the support (centred at the observed ``a`` and scaled by
    the largest term, so nothing overflows), and a tail lost to underflow is
    recomputed with ``logsumexp``.  No evaluation goes through scipy's
    ``nchypergeom_fisher``, whose C++ code aborts the interpreter near odds 1
    for some tables, and the cost is linear in the support, so tables with 10^5
    per arm take milliseconds per evaluation.
    """

    def __init__(self, a: float, b: float, c: float, d: float) -> None:
        n1, m, total = int(a + b), int(a + c), int(a + b + c + d)
        self.lo, self.hi = max(0, n1 - (total - m)), min(n1, m)
        if self.hi - self.lo + 1 > MAX_CONDITIONAL_SUPPORT:
            raise ValueError(
                f"The table (a={a:g}, b={b:g}, c={c:g}, d={d:g}) has {self.hi - self.lo + 1:,} "
                f"possible values of events_exposed given its margins, more than the limit of "
                f"{MAX_CONDITIONAL_SUPPORT:,} for ci='exact' and ci='midp'; at this size use "
                f"ci='score' or ci='woolf', which agree with them to several digits."
            )
        support = np.arange(self.lo, self.hi + 1)
        self.log_central = stats.hypergeom.logpmf(support, total, n1, m)
        self.offset = (support - int(a)).astype(np.float64)
        self.i = int(a) - self.lo

    def log_parts(self, log_theta: float) -> tuple[float, float, float]:
        """log P(X < a), log P(X = a), log P(X > a) at odds ratio exp(log_theta)."""
        w = self.log_central + self.offset * log_theta
        top = float(w.max())
        e = np.exp(w - top)
        log_total = top + math.log(float(e.sum()))
        i = self.i
        parts = []
        for piece, sl in ((e[:i], slice(None, i)), (e[i + 1 :], slice(i + 1, None))):
            s = float(piece.sum())
            if piece.size == 0:
                parts.append(-math.inf)
            elif s > 1e-290:
                parts.append(top + math.log(s) - log_total)
            else:  # the tail underflowed: sum it on the log scale
                parts.append(float(special.logsumexp(w[sl])) - log_total)
        return parts[0], float(w[i]) - log_total, parts[1]

    def log_upper(self, log_theta: float, mid: bool) -> float:
        """log of P(X > a) + P(X = a) (or half of it with ``mid``)."""
        below, at, above = self.log_parts(log_theta)
        return float(np.logaddexp(above, at + (_LOG_HALF if mid else 0.0)))

    def log_lower(self, log_theta: float, mid: bool) -> float:
        """log of P(X < a) + P(X = a) (or half of it with ``mid``)."""
        below, at, above = self.log_parts(log_theta)
        return float(np.logaddexp(below, at + (_LOG_HALF if mid else 0.0)))


_LOG_HALF = math.log(0.5)


def _conditional_interval(
    dist: _Conditional, a: float, b: float, c: float, d: float, alpha: float, mid: bool
) -> tuple[float, float]:
    """Exact (Cornfield) or mid-p limits: the tail probabilities equal alpha/2.

    The lower limit solves P(X >= a) = alpha/2, the upper P(X <= a) = alpha/2
    (R ``fisher.test``); with ``mid`` the observed table counts half
    (Lancaster 1961; Fagerland et al. 2017, Section 4.7, "Cornfield mid-P").
    Solved with ``brentq`` on log(OR), on the log-probability scale.
    """
    if dist.lo == dist.hi:  # an empty row or column: no information
        return 0.0, math.inf
    target = math.log(alpha / 2)
    start = math.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    low = 0.0 if a == dist.lo else math.exp(
        _solve_monotone(lambda t: dist.log_upper(t, mid) - target, start, increasing=True)
    )
    high = math.inf if a == dist.hi else math.exp(
        _solve_monotone(lambda t: dist.log_lower(t, mid) - target, start, increasing=False)
    )
    return low, high


def _midp_p_value(dist: _Conditional) -> float:
    """Twice the smaller one-sided mid-p of OR = 1 (tails summed, not 1 - cdf)."""
    if dist.lo == dist.hi:
        return 1.0
    one_sided = min(dist.log_upper(0.0, True), dist.log_lower(0.0, True))
    return float(min(1.0, 2 * math.exp(one_sided)))


def _mn_statistic(log_theta: float, a: float, n1: float, c: float, n2: float) -> float:
    """Miettinen-Nurminen score statistic for H0: OR = theta (signed).

    Constrained MLEs (Miettinen & Nurminen 1985; Fagerland et al. 2017, eq.
    4.29-4.30): p2 solves n2 (theta - 1) p2^2 + (n1 theta + n2 - m (theta - 1)) p2
    - m = 0 with m = a + c, p1 = theta p2 / (1 + p2 (theta - 1)).  Then
    T = (a - n1 p1) sqrt{[1/(n1 p1 q1) + 1/(n2 p2 q2)] (N - 1) / N}.  Where a
    constrained risk is 0 or 1 (reachable with a zero cell at extreme theta)
    the variance is infinite and T is +-inf (0 if a = n1 p1).
    """
    theta = math.exp(log_theta)
    m, total = a + c, n1 + n2
    qa = n2 * (theta - 1.0)
    qb = n1 * theta + n2 - m * (theta - 1.0)
    if qa >= 0:  # hypot: no overflow up to theta ~ 1e304
        disc = math.hypot(qb, 2.0 * math.sqrt(qa * m))
    else:
        disc = math.sqrt(max(0.0, qb * qb + 4.0 * qa * m))
    # the root in [0, 1], in the form that avoids cancellation
    p2 = 2.0 * m / (qb + disc) if qb >= 0 else (disc - qb) / (2.0 * qa)
    q2 = 1.0 - p2
    # p1 = theta p2 / (1 + p2 (theta - 1)) and q1 = 1 - p1, without overflow
    p1 = p2 / (p2 + q2 / theta) if theta > 0 and (p2 > 0 or q2 > 0) else 0.0
    q1 = q2 / (theta * p2 + q2) if theta * p2 + q2 > 0 else 0.0
    delta = a - n1 * p1
    v1, v2 = n1 * p1 * q1, n2 * p2 * q2
    if not (v1 > 0 and v2 > 0):
        return math.copysign(math.inf, delta) if delta != 0 else 0.0
    s = 1.0 / v1 + 1.0 / v2
    return float(delta * math.sqrt(s * (total - 1.0) / total))


def _score_interval(
    a: float, b: float, c: float, d: float, alpha: float
) -> tuple[float, float, float]:
    """Miettinen-Nurminen asymptotic score interval and score-test p-value.

    Each limit is where T(theta) = +-z; where T never reaches the critical value
    on one side (a zero cell at large alpha) the limit is 0 or inf.
    """
    n1, n2 = a + b, c + d
    if a + c == 0 or b + d == 0:
        return 0.0, math.inf, 1.0
    z = float(stats.norm.ppf(1 - alpha / 2))

    def f(log_theta: float, target: float) -> float:
        return _mn_statistic(log_theta, a, n1, c, n2) - target

    finite = a > 0 and b > 0 and c > 0 and d > 0
    start = math.log(a * d / (b * c)) if finite else math.log(
        (a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5))
    )
    low = 0.0 if (a == 0 or d == 0) else math.exp(
        _solve_monotone(lambda t: f(t, z), start, increasing=False)
    )
    high = math.inf if (b == 0 or c == 0) else math.exp(
        _solve_monotone(lambda t: f(t, -z), start, increasing=False)
    )
    t0 = _mn_statistic(0.0, a, n1, c, n2)
    return low, high, float(2 * stats.norm.sf(abs(t0)))


def odds_ratio(
    events_exposed: int,
    n_exposed: int,
    events_unexposed: int,
    n_unexposed: int,
    *,
    ci: str = "woolf",
    alpha: float = 0.05,
    correction: str = "none",
) -> OddsRatioResult:
    """Odds ratio of one 2x2 table with a confidence interval.

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : int
        Counts of one table (a = events_exposed, b = n_exposed - a, ...).
    ci : {"woolf", "exact", "midp", "score"}
        * ``"woolf"``: log-Wald interval exp(log OR +- z se), se =
          sqrt(1/a + 1/b + 1/c + 1/d) (Woolf 1955); p-value from the Wald z.
          A zero cell makes it undefined: this raises ValueError unless a
          ``correction`` is chosen.
        * ``"exact"``: conditional (Cornfield 1956) exact limits, identical to
          R's ``fisher.test``: the tail probabilities of Fisher's noncentral
          hypergeometric distribution equal alpha/2, solved with ``brentq``
          on log(OR) (see ``_Conditional``; linear in the table size, about
          0.05 s with 10^5 per arm); p-value of Fisher's two-sided exact test
          as in ``fisher.test``.
        * ``"midp"``: mid-p exact limits, the tail-based (Cornfield) limits with
          half the probability of the observed table (Lancaster 1961;
          Fagerland et al. 2017, Section 4.7), solved the same way; the
          p-value is twice the smaller
          one-sided mid-p, so that 1 lies outside the interval exactly when
          p < alpha.
        * ``"score"``: the Miettinen & Nurminen (1985) asymptotic score
          interval, recommended by Fagerland, Lydersen & Laake (2015, 2017
          Section 4.8); p-value from the same score statistic at OR = 1 (the
          (N-1)/N-scaled Pearson chi-squared test).

        ``"exact"``, ``"midp"`` and ``"score"`` use the observed counts and give
        a lower limit of 0 (upper of inf) when the odds ratio is 0 (inf), and
        wherever the statistic does not reach its critical value for any
        odds ratio down to e^-700 (up to e^700).
    alpha : float
        1 - confidence level.
    correction : {"none", "add_if_zero", "add_all", "treatment_arm"}
        Continuity correction (see :func:`continuity_corrections`) for
        ``ci="woolf"`` only; the estimate, se and interval are then those of
        the corrected table.  Any other ``ci`` requires ``"none"``.

    Returns
    -------
    OddsRatioResult

    Raises
    ------
    ValueError
        Invalid counts or options (naming the argument and value); for
        ``ci="exact"`` and ``"midp"``, a table whose first cell has more than
        :data:`MAX_CONDITIONAL_SUPPORT` possible values given the margins.
    TypeError
        A count or option of the wrong kind (a string, a boolean).

    Notes
    -----
    ``ci="exact"`` reproduces the limits R's ``fisher.test`` aims at: solved to
    ~1e-12 they agree with fisher.test's own algorithm run at a tight tolerance
    to better than 1e-10 (tests/r/or_intervals.R).  fisher.test itself stops at
    ``uniroot``'s default tolerance (about 1.2e-4 on the scale of the limit or
    its reciprocal, whichever is below 1), so its printed limits can differ from
    ours in the fourth significant digit; ours are the more precise.  As in
    ``fisher.test``, the exact p-value (sum of the probabilities of tables no
    more likely than the observed one) need not agree with the tail-based
    interval at the boundary.  Fagerland et al.'s "Fisher mid-P test" (Fisher's
    p minus half the probability of the observed table) is a different mid-p
    value from the one reported here.

    Examples
    --------
    Cambridge Study in Delinquent Development: 15 of 23 boys separated from a
    parent by imprisonment vs 48 of 227 other boys had antisocial outcomes.

    >>> r = odds_ratio(15, 23, 48, 227)
    >>> print(f"{r.estimate:.2f} ({r.ci_low:.2f}, {r.ci_high:.2f})")
    6.99 (2.80, 17.46)
    >>> odds_ratio(0, 16, 15, 72, ci="midp").ci_low
    0.0
    """
    ci = check_choice("ci", ci, options.OR_CI_METHODS)
    alpha = check_alpha(alpha)
    correction = check_choice("correction", correction, options.ZERO_CELL_CORRECTIONS)
    a, b, c, d = _single(events_exposed, n_exposed, events_unexposed, n_unexposed, "odds_ratio")
    if ci != "woolf" and correction != "none":
        raise ValueError(
            f"correction={correction!r} applies to ci='woolf' only; ci={ci!r} uses the "
            f"observed counts and handles zero cells itself, so pass correction='none'."
        )
    ca, cb, cc, cd, corrected = _corrected_cells(a, b, c, d, correction)
    fa, fb, fc, fd = (np.float64(x) for x in (ca, cb, cc, cd))
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = float(fa * fd / (fb * fc))
        log_estimate = float(np.log(estimate))
        se = float(np.sqrt(1.0 / fa + 1.0 / fb + 1.0 / fc + 1.0 / fd))
    if ci == "woolf":
        if min(ca, cb, cc, cd) == 0:
            raise ValueError(
                f"The table (a={a:g}, b={b:g}, c={c:g}, d={d:g}) has a zero cell, so the "
                f"Woolf interval is undefined (the log odds ratio is infinite); pass "
                f"correction='add_if_zero' (or 'add_all', 'treatment_arm'), or use "
                f"ci='exact', 'midp' or 'score', which handle zero cells."
            )
        z = float(stats.norm.ppf(1 - alpha / 2))
        low, high = math.exp(log_estimate - z * se), math.exp(log_estimate + z * se)
        p_value = float(2 * stats.norm.sf(abs(log_estimate / se)))
    elif ci == "exact":
        low, high = _conditional_interval(_Conditional(a, b, c, d), a, b, c, d, alpha, mid=False)
        p_value = float(stats.fisher_exact([[int(a), int(b)], [int(c), int(d)]]).pvalue)
    elif ci == "midp":
        dist = _Conditional(a, b, c, d)
        low, high = _conditional_interval(dist, a, b, c, d, alpha, mid=True)
        p_value = _midp_p_value(dist)
    else:
        low, high, p_value = _score_interval(a, b, c, d, alpha)
    return OddsRatioResult(
        estimate=estimate,
        ci_low=low,
        ci_high=high,
        se=se,
        p_value=p_value,
        ci=ci,
        alpha=alpha,
        correction=correction,
        corrected=corrected,
        table=(int(a), int(b), int(c), int(d)),
        log_estimate=log_estimate,
    )


def risk_ratio(
    events_exposed: int,
    n_exposed: int,
    events_unexposed: int,
    n_unexposed: int,
    *,
    ci: str = "katz",
    alpha: float = 0.05,
    correction: str = "none",
) -> RiskRatioResult:
    """Risk ratio (a/n1) / (c/n2) of one 2x2 table with the Katz log interval.

    The interval is exp(log RR +- z se) with se = sqrt(1/a - 1/n1 + 1/c - 1/n2)
    (Katz, Baptista, Azen & Pike 1978); the p-value is from the Wald z.  No
    events in a group makes the log risk ratio infinite: ValueError unless a
    ``correction`` is chosen (then n1 = a + b of the corrected cells, as in
    metafor).

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : int
        Counts of one table.
    ci : {"katz"}
        Interval method (the only one so far; see :data:`evidence.options.RR_CI_METHODS`).
    alpha : float
        1 - confidence level.
    correction : {"none", "add_if_zero", "add_all", "treatment_arm"}
        Continuity correction, see :func:`continuity_corrections`.

    Returns
    -------
    RiskRatioResult

    Examples
    --------
    The odds ratio of 7.0 in the Cambridge table (65% vs 21%) is a risk ratio
    of about three:

    >>> r = risk_ratio(15, 23, 48, 227)
    >>> print(f"{r.estimate:.2f} ({r.ci_low:.2f}, {r.ci_high:.2f})")
    3.08 (2.09, 4.56)
    """
    ci = check_choice("ci", ci, options.RR_CI_METHODS)
    alpha = check_alpha(alpha)
    correction = check_choice("correction", correction, options.ZERO_CELL_CORRECTIONS)
    a, b, c, d = _single(events_exposed, n_exposed, events_unexposed, n_unexposed, "risk_ratio")
    ca, cb, cc, cd, corrected = _corrected_cells(a, b, c, d, correction)
    yi, vi = log_risk_ratio_kernel(*(np.array([x]) for x in (ca, cb, cc, cd)))
    log_est, var = float(yi[0]), float(vi[0])
    if not (np.isfinite(log_est) and np.isfinite(var) and var > 0):
        raise ValueError(
            f"The table (a={a:g}, b={b:g}, c={c:g}, d={d:g}) has a zero cell, so the Katz "
            f"interval is undefined (infinite log risk ratio or zero variance); pass "
            f"correction='add_if_zero' (or 'add_all', 'treatment_arm')."
        )
    se = math.sqrt(var)
    z = float(stats.norm.ppf(1 - alpha / 2))
    return RiskRatioResult(
        estimate=math.exp(log_est),
        ci_low=math.exp(log_est - z * se),
        ci_high=math.exp(log_est + z * se),
        se=se,
        p_value=float(2 * stats.norm.sf(abs(log_est / se))),
        ci=ci,
        alpha=alpha,
        correction=correction,
        corrected=corrected,
        table=(int(a), int(b), int(c), int(d)),
        log_estimate=log_est,
    )


def risk_difference(
    events_exposed: int,
    n_exposed: int,
    events_unexposed: int,
    n_unexposed: int,
    *,
    ci: str = "wald",
    alpha: float = 0.05,
    correction: str = "none",
) -> RiskDifferenceResult:
    """Risk difference a/n1 - c/n2 of one 2x2 table with a confidence interval.

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : int
        Counts of one table.
    ci : {"wald", "newcombe"}
        ``"wald"``: d +- z se, se = sqrt(p1 q1 / n1 + p2 q2 / n2); undefined
        (ValueError) when both risks are 0 or 1.  ``"newcombe"``: the hybrid
        score interval (Newcombe 1998, method 10) from the Wilson intervals
        (l1, u1), (l2, u2) of each risk: d - sqrt((p1 - l1)^2 + (u2 - p2)^2) to
        d + sqrt((u1 - p1)^2 + (p2 - l2)^2); recommended by Fagerland et al.
        (2015); works with zero cells.
    alpha : float
        1 - confidence level.
    correction : {"none", "add_if_zero", "add_all", "treatment_arm"}
        For ``ci="wald"`` only (as metafor, which corrects risk differences too).

    Returns
    -------
    RiskDifferenceResult

    Notes
    -----
    ``p_value`` is the Wald z-test of d = 0 for both methods (NaN when the
    Wald standard error is 0).

    Examples
    --------
    >>> r = risk_difference(15, 23, 48, 227, ci="newcombe")
    >>> print(f"{r.estimate:.3f} ({r.ci_low:.3f}, {r.ci_high:.3f})")
    0.441 (0.229, 0.608)
    """
    ci = check_choice("ci", ci, options.RD_CI_METHODS)
    alpha = check_alpha(alpha)
    correction = check_choice("correction", correction, options.ZERO_CELL_CORRECTIONS)
    a, b, c, d = _single(
        events_exposed, n_exposed, events_unexposed, n_unexposed, "risk_difference"
    )
    if ci != "wald" and correction != "none":
        raise ValueError(
            f"correction={correction!r} applies to ci='wald' only; ci={ci!r} uses the "
            f"observed counts, so pass correction='none'."
        )
    ca, cb, cc, cd, corrected = _corrected_cells(a, b, c, d, correction)
    yi, vi = risk_difference_kernel(*(np.array([x]) for x in (ca, cb, cc, cd)))
    est, var = float(yi[0]), float(vi[0])
    se = math.sqrt(var)
    z = float(stats.norm.ppf(1 - alpha / 2))
    p_value = float(2 * stats.norm.sf(abs(est / se))) if se > 0 else math.nan
    if ci == "wald":
        if se == 0:
            raise ValueError(
                f"The table (a={a:g}, b={b:g}, c={c:g}, d={d:g}) has risks of 0 or 1 in "
                f"both groups, so the Wald interval has zero width; use ci='newcombe' or "
                f"correction='add_if_zero'."
            )
        low, high = est - z * se, est + z * se
    else:
        n1, n2 = a + b, c + d
        p1, p2 = a / n1, c / n2
        # Wilson (1927) score intervals of each risk
        l1, u1 = stats.binomtest(int(a), int(n1)).proportion_ci(1 - alpha, method="wilson")
        l2, u2 = stats.binomtest(int(c), int(n2)).proportion_ci(1 - alpha, method="wilson")
        low = est - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = est + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return RiskDifferenceResult(
        estimate=est,
        ci_low=low,
        ci_high=high,
        se=se,
        p_value=p_value,
        ci=ci,
        alpha=alpha,
        correction=correction,
        corrected=corrected,
        table=(int(a), int(b), int(c), int(d)),
    )
