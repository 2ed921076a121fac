"""Effect-size measures from a data frame: :func:`escalc`, the analogue of metafor's ``escalc``.

:func:`escalc` takes a :class:`pandas.DataFrame` (or arrays) and the names of the columns that hold a
study's numbers, and returns the frame with two columns added, ``yi`` (the effect size on its
analysis scale) and ``vi`` (its sampling variance), plus a ``measure`` column.  The measure, the
zero-cell options and the back-transformation to the natural scale are recorded in ``frame.attrs``.

=========  ==============================================  ===========================================
measure    inputs (arguments naming columns)               yi (analysis scale), back-transformation
=========  ==============================================  ===========================================
``OR``     ``events_exposed`` and ``n_exposed`` (or         log odds ratio, exp
           ``nonevents_exposed``), the same ``_unexposed``
``RR``     as OR                                           log risk ratio, exp
``RD``     as OR                                           risk difference, none
``PETO``   as OR                                           Peto's log odds ratio (O - E) / V, exp
``OR2DL``  as OR                                           d from the log OR, logistic: sqrt(3)/pi
``OR2DN``  as OR                                           d from the log OR, probit: 1 / 1.65
``SMD``    ``mean_*``, ``sd_*``, ``n_*`` (or ``smd``, or    Hedges' g (exact correction), none
           ``t``, with ``n_*``)
``MD``     ``mean_*``, ``sd_*``, ``n_*``                   mean difference, none
``ROM``    ``mean_*``, ``sd_*``, ``n_*``                   log ratio of means, exp
``D2ORL``  ``mean_*``, ``sd_*``, ``n_*``                   log OR from d, logistic (pi / sqrt(3)), exp
``D2ORN``  ``mean_*``, ``sd_*``, ``n_*``                   log OR from d, probit (1.65), exp
``COR``    ``r``, ``n``                                    correlation, none
``ZCOR``   ``r``, ``n``                                    Fisher's z, tanh
``PR``     ``events``, ``n``                               proportion, none
``PLO``    ``events``, ``n``                               logit of the proportion, inverse logit
``PAS``    ``events``, ``n``                               arcsine square root, sin^2
``PFT``    ``events``, ``n``                               Freeman-Tukey double arcsine, none [#]_
``IRR``    ``events_*``, ``time_*``                        log incidence-rate ratio, exp
``IRD``    ``events_*``, ``time_*``                        incidence-rate difference, none
``HR``     ``estimate`` with ``se``, CI or ``p_value``     log hazard ratio (printed as a ratio), exp
``GEN``    ``estimate`` with ``se``, CI or ``p_value``     the estimate itself, none
=========  ==============================================  ===========================================

(``*`` is ``exposed`` and ``unexposed``.)

.. [#] Its inverse needs a sample size (metafor ``transf.ipft.hm`` uses the harmonic mean of the
   ``n``), so no back-transformation is recorded: ``attrs["back_transform"]`` is ``"identity"``.

Every measure except ``PAS`` and ``PFT`` also takes the
generic inputs instead of its own: ``estimate`` as printed (a ratio for OR, RR, PETO, IRR, ROM, D2ORL,
D2ORN; a correlation for COR and ZCOR; a proportion for PR and PLO) with one of ``se`` (of ``yi``: of
the log ratio for ratio measures), ``ci_low``/``ci_high`` (a ``1 - alpha`` interval as printed,
symmetric on the analysis scale) or ``p_value`` (two-sided, Wald).

The formulas are those of metafor 3.8-1 ``escalc`` with its defaults (``vtype="LS"``), against
which ``tests/test_escalc.py`` pins every measure to 1e-10.  Zero cells are handled as in
:mod:`evidence.effect_sizes` (``correction``, ``double_zero``; metafor ``add``, ``to``, ``drop00``):
the correction applies to the count measures OR, RR, RD, PETO, OR2DL, OR2DN, PR, PLO, IRR and IRD
(``"treatment_arm"`` to the two-group count measures only); PAS and PFT are defined at 0 and 1
and are never corrected (metafor's default ``add=0`` for them).

Every malformed input raises ValueError naming the column, the row label and the value, and an input
the measure does not use is refused rather than ignored.

Studies that report different metrics are put on one scale with :func:`convert` (SMD <-> log odds
ratio, logistic or probit; r <-> SMD) and joined with :func:`stack`; :func:`frame_inputs` is the
data-frame front door of :func:`evidence.meta_analysis` (``meta_analysis(data=frame)``).

References
----------
.. [1] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
   36(3); metafor 3.8-1 ``escalc`` (its help page lists a source for every measure).
.. [2] Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related
   estimators. J Educ Stat 6:107-128 (the exact correction c(m) = Gamma(m/2) / (sqrt(m/2)
   Gamma((m-1)/2)), m = n1 + n2 - 2).
.. [3] Yusuf S, Peto R, Lewis J, Collins R, Sleight P (1985). Beta blockade during and after
   myocardial infarction. Prog Cardiovasc Dis 27:335-371 (Peto's odds ratio).
.. [4] Hedges LV, Gurevitch J, Curtis PS (1999). The meta-analysis of response ratios in
   experimental ecology. Ecology 80:1150-1156 (ROM).
.. [5] Freeman MF, Tukey JW (1950). Transformations related to the angular and the square root.
   Ann Math Stat 21:607-611 (PFT).
.. [6] Rothman KJ, Greenland S, Lash TL (2008). Modern Epidemiology, 3rd ed., Chapter 14
   (incidence-rate ratio and difference).
.. [7] Higgins JPT et al. (eds). Cochrane Handbook, version 6.3, Section 6.3.2 (SEs from
   confidence intervals and P values).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats

from evidence import options
from evidence._validation import check_alpha, check_choice
from evidence.conversions import d_to_log_or, d_to_r, log_or_to_d, r_to_d
from evidence.effect_sizes import (
    continuity_corrections,
    double_zero,
    log_odds_ratio_kernel,
    log_risk_ratio_kernel,
    risk_difference_kernel,
)
from evidence.exceptions import ZeroCellWarning

__all__ = ["MEASURES", "BACK_TRANSFORMS", "CONVERSIONS", "escalc", "back_transform", "convert", "stack", "frame_inputs",
           "frame_tables", "peto_kernel"]

FloatArray = NDArray[np.float64]

#: Every measure with its family, description and back-transformation to the natural scale.
MEASURES: dict[str, tuple[str, str, str]] = {
    "OR": ("2x2", "log odds ratio", "exp"),
    "RR": ("2x2", "log risk ratio", "exp"),
    "RD": ("2x2", "risk difference", "identity"),
    "PETO": ("2x2", "Peto log odds ratio", "exp"),
    "OR2DL": ("2x2", "standardised mean difference from the log odds ratio (logistic)", "identity"),
    "OR2DN": ("2x2", "standardised mean difference from the log odds ratio (probit)", "identity"),
    "SMD": ("means", "standardised mean difference (Hedges' g)", "identity"),
    "MD": ("means", "mean difference", "identity"),
    "ROM": ("means", "log ratio of means", "exp"),
    "D2ORL": ("means", "log odds ratio from the standardised mean difference (logistic)", "exp"),
    "D2ORN": ("means", "log odds ratio from the standardised mean difference (probit)", "exp"),
    "COR": ("correlation", "correlation", "identity"),
    "ZCOR": ("correlation", "Fisher's z of the correlation", "tanh"),
    "PR": ("proportion", "proportion", "identity"),
    "PLO": ("proportion", "log odds of the proportion", "ilogit"),
    "PAS": ("proportion", "arcsine square-root proportion", "iarcsin"),
    "PFT": ("proportion", "Freeman-Tukey double-arcsine proportion", "identity"),
    "IRR": ("rates", "log incidence-rate ratio", "exp"),
    "IRD": ("rates", "incidence-rate difference", "identity"),
    "HR": ("generic", "log hazard ratio", "exp"),
    "GEN": ("generic", "generic effect size", "identity"),
}

#: Functions from the analysis scale to the natural scale, by the names in :data:`MEASURES`.
BACK_TRANSFORMS: dict[str, Any] = {
    "identity": lambda y: y,
    "exp": np.exp,
    "tanh": np.tanh,
    "ilogit": special.expit,
    "iarcsin": lambda y: np.sin(np.clip(y, 0.0, np.pi / 2)) ** 2,
}

#: Forward transforms from a printed estimate (natural scale) to yi, for the generic inputs.
_FORWARD = {"exp": np.log, "identity": lambda x: x, "tanh": np.arctanh, "ilogit": special.logit}

_ARGUMENTS = (
    "events_exposed", "nonevents_exposed", "n_exposed", "events_unexposed", "nonevents_unexposed",
    "n_unexposed", "mean_exposed", "sd_exposed", "mean_unexposed", "sd_unexposed", "smd", "t", "r", "n",
    "events", "time_exposed", "time_unexposed", "estimate", "se", "ci_low", "ci_high", "p_value",
)


def back_transform(measure: str) -> Any:
    """The function taking ``yi`` of ``measure`` to its natural scale (e.g. ``np.exp`` for ``"OR"``).

    Examples
    --------
    >>> float(back_transform("OR")(0.0))
    1.0
    """
    check_choice("measure", measure, options.ESCALC_MEASURES)
    return BACK_TRANSFORMS[MEASURES[measure][2]]


# ---------------------------------------------------------------------------
# Reading columns, with errors that name the column, the row and the value
# ---------------------------------------------------------------------------


class _Frame:
    """The inputs: resolves arguments to float arrays and raises errors naming column and row."""

    def __init__(self, data: pd.DataFrame | None, labels: Any, given: dict[str, Any]) -> None:
        self.data = data
        self.given = {k: v for k, v in given.items() if v is not None}
        self.k = self._length()
        self.labels = self._labels(labels)

    def _length(self) -> int:
        if self.data is not None:
            return len(self.data)
        lengths = {k: len(np.atleast_1d(np.asarray(v))) for k, v in self.given.items()}
        if len(set(lengths.values())) > 1:
            desc = ", ".join(f"{k} has {n}" for k, n in lengths.items())
            raise ValueError(f"The inputs must have one entry per study: {desc}.")
        return next(iter(lengths.values()), 0)

    def _labels(self, labels: Any) -> list[str]:
        if labels is None:
            if self.data is not None:
                return [str(i) for i in self.data.index]
            return [f"Study {i + 1}" for i in range(self.k)]
        if isinstance(labels, str):
            if self.data is None:
                raise TypeError(f"labels={labels!r} names a column, but no data frame was given (data=None).")
            return [str(x) for x in self._column("labels", labels)]
        labs = [str(x) for x in labels]
        if len(labs) != self.k:
            raise ValueError(f"labels has {len(labs)} entries but there are {self.k} studies.")
        return labs

    def name(self, arg: str) -> str:
        spec = self.given[arg]
        return f"column {spec!r} ({arg}=)" if isinstance(spec, str) else f"{arg}"

    def _column(self, arg: str, spec: str) -> pd.Series:
        assert self.data is not None
        if spec not in self.data.columns:
            cols = ", ".join(repr(str(c)) for c in self.data.columns)
            raise ValueError(f"data has no column {spec!r} (given as {arg}={spec!r}); its columns are {cols}.")
        return self.data[spec]

    def has(self, arg: str) -> bool:
        return arg in self.given

    def get(self, arg: str, *, missing_ok: bool = False) -> FloatArray:
        if arg not in self.given:
            raise ValueError(f"{arg} is required here and was not given.")
        spec = self.given[arg]
        raw: Any = self._column(arg, spec) if isinstance(spec, str) and self.data is not None else spec
        if isinstance(spec, str) and self.data is None:
            raise TypeError(f"{arg}={spec!r} names a column, but no data frame was given (data=None).")
        values = np.atleast_1d(np.asarray(raw, dtype=object))
        if values.ndim != 1 or len(values) != self.k:
            raise ValueError(f"{arg} has {values.size} entries but there are {self.k} studies (rows of data).")
        out = np.empty(len(values), dtype=float)
        for i, v in enumerate(values):
            try:
                out[i] = np.nan if v is None or pd.isna(v) else float(v)
            except (TypeError, ValueError):
                raise ValueError(f"{self.name(arg)} has the value {_short(v)} at row {self.labels[i]!r}; "
                                 f"it must be a number.") from None
        if not missing_ok:
            self.require(arg, out, np.isnan(out), "a value is needed in every row")
        return out

    def require(self, arg: str, values: FloatArray, bad: NDArray[np.bool_], allowed: str) -> None:
        """Raise ValueError at the first row where ``bad`` is true."""
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{self.name(arg)} has the value {_short(values[i])} at row {self.labels[i]!r}; "
                             f"{allowed}.")


def _short(v: Any) -> str:
    text = repr(float(v)) if isinstance(v, (float, np.floating)) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _counts(f: _Frame, arg: str, *, positive: bool = False) -> FloatArray:
    x = f.get(arg)
    f.require(arg, x, ~np.isfinite(x) | (x < 0) | (x != np.round(x)), "counts must be whole numbers >= 0")
    if positive:
        f.require(arg, x, x <= 0, "a group must have at least one member")
    return x


def _arm(f: _Frame, side: str) -> tuple[FloatArray, FloatArray]:
    """Events and group size of one arm, from events plus n or events plus non-events."""
    ev = _counts(f, f"events_{side}")
    if f.has(f"n_{side}") == f.has(f"nonevents_{side}"):
        raise ValueError(f"Give exactly one of n_{side} (the group size) and nonevents_{side} "
                         f"(the fourth cell) with events_{side}.")
    if f.has(f"n_{side}"):
        n = _counts(f, f"n_{side}", positive=True)
        f.require(f"events_{side}", ev, ev > n, f"events must not exceed n_{side}")
    else:
        n = ev + _counts(f, f"nonevents_{side}")
        f.require(f"nonevents_{side}", n - ev, n <= 0, "a group must have at least one member")
    return ev, n


# ---------------------------------------------------------------------------
# The measure families
# ---------------------------------------------------------------------------


def _excluded_warning(f: _Frame, rows: NDArray[np.bool_]) -> None:
    labs = [f.labels[i] for i in np.flatnonzero(rows)]
    warnings.warn(
        f"Excluded {len(labs)} double-zero {'study' if len(labs) == 1 else 'studies'} (no events in either "
        f"group, or only events in both): {', '.join(map(repr, labs))}; yi and vi are NaN there. Pass "
        f"double_zero='keep' to keep {'it' if len(labs) == 1 else 'them'} with a continuity correction.",
        ZeroCellWarning, stacklevel=4,
    )


def _two_by_two(f: _Frame, measure: str, correction: str, dz: str) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """OR, RR, RD, PETO, OR2DL, OR2DN (metafor ``escalc`` with ``add=1/2``)."""
    a, n1 = _arm(f, "exposed")
    c, n2 = _arm(f, "unexposed")
    b, d = n1 - a, n2 - c
    excluded = double_zero(a, b, c, d) & (dz == "exclude")
    if excluded.any():
        _excluded_warning(f, excluded)
    ke, ku = continuity_corrections(a, b, c, d, correction)
    ke, ku = np.where(excluded, 0.0, ke), np.where(excluded, 0.0, ku)
    corrected = (ke > 0) | (ku > 0)
    kernel = _KERNELS_2X2.get(measure, log_odds_ratio_kernel)
    with np.errstate(divide="ignore", invalid="ignore"):
        yi, vi = kernel(a + ke, b + ke, c + ku, d + ku)
    f.require("events_exposed", a, ~excluded & ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0)),
              f"this table has a zero cell, so its {MEASURES[measure][1]} is infinite, undefined or of zero "
              f"variance with correction={correction!r} (use 'add_if_zero', 'add_all' or 'treatment_arm')")
    if measure in ("OR2DL", "OR2DN"):
        ok = ~excluded
        conv = log_or_to_d(yi[ok], vi[ok], method="logistic" if measure == "OR2DL" else "probit")
        assert conv.variance is not None
        yi[ok], vi[ok] = conv.estimate, conv.variance
    yi, vi = np.where(excluded, np.nan, yi), np.where(excluded, np.nan, vi)
    return yi, vi, {"corrected": _which(f, corrected & ~excluded), "excluded": _which(f, excluded)}


def peto_kernel(a: FloatArray, b: FloatArray, c: FloatArray, d: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Peto's log odds ratio (O - E) / V and its variance 1 / V (Yusuf et al. 1985 [3]_; metafor "PETO").

    ``O = a``, ``E = (a + c) n1 / n``, ``V = (a + c)(b + d) n1 n2 / (n^2 (n - 1))``.

    Examples
    --------
    >>> y, v = peto_kernel(np.array([4.0]), np.array([119.0]), np.array([11.0]), np.array([128.0]))  # BCG, Aronson
    >>> round(float(y[0]), 4), round(float(v[0]), 4)
    (-0.8604, 0.2828)
    """
    n1, n2 = a + b, c + d
    n = n1 + n2
    v = (a + c) * (b + d) * (n1 / n) * (n2 / n) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (a - (a + c) * n1 / n) / v, 1.0 / v


_KERNELS_2X2 = {"RR": log_risk_ratio_kernel, "RD": risk_difference_kernel, "PETO": peto_kernel}


def _which(f: _Frame, mask: NDArray[np.bool_]) -> tuple[str, ...]:
    return tuple(f.labels[i] for i in np.flatnonzero(mask))


def _means(f: _Frame, measure: str) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """SMD (Hedges' g), MD, ROM, D2ORL, D2ORN (metafor ``escalc``, ``vtype="LS"``)."""
    n1, n2 = _counts(f, "n_exposed", positive=True), _counts(f, "n_unexposed", positive=True)
    n, m = n1 + n2, n1 + n2 - 2
    if measure == "SMD" and (f.has("smd") or f.has("t")):
        if f.has("smd") == f.has("t"):
            raise ValueError("Give one of smd (Cohen's d) and t (a two-sample t statistic) for SMD, not both.")
        d = f.get("smd") if f.has("smd") else f.get("t") * np.sqrt(1 / n1 + 1 / n2)
    else:
        m1, m2 = f.get("mean_exposed"), f.get("mean_unexposed")
        s1, s2 = f.get("sd_exposed"), f.get("sd_unexposed")
        for arg, s in (("sd_exposed", s1), ("sd_unexposed", s2)):
            f.require(arg, s, ~np.isfinite(s) | (s < 0), "a standard deviation must be >= 0")
        if measure == "MD":
            return m1 - m2, s1**2 / n1 + s2**2 / n2, {}
        if measure == "ROM":
            for arg, mean in (("mean_exposed", m1), ("mean_unexposed", m2)):
                f.require(arg, mean, ~(mean > 0), "the ratio of means needs means > 0")
            return np.log(m1 / m2), s1**2 / (n1 * m1**2) + s2**2 / (n2 * m2**2), {}
        sp = np.sqrt(((n1 - 1) * s1**2 + (n2 - 1) * s2**2) / m)
        f.require("sd_exposed", s1, ~(sp > 0), "the pooled standard deviation is 0, so d is undefined")
        d = (m1 - m2) / sp
    if measure == "SMD":
        f.require("n_exposed", n1, m <= 1, "Hedges' correction needs n_exposed + n_unexposed > 3")
        cm = np.exp(special.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - special.gammaln((m - 1) / 2))
        g = cm * d
        return g, 1 / n1 + 1 / n2 + g**2 / (2 * n), {}
    conv = d_to_log_or(d, 1 / n1 + 1 / n2 + d**2 / (2 * n), method="logistic" if measure == "D2ORL" else "probit")
    assert conv.variance is not None
    return conv.estimate, conv.variance, {}


def _correlations(f: _Frame, measure: str) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """COR (vi = (1 - r^2)^2 / (n - 1)) and ZCOR (atanh r, vi = 1 / (n - 3))."""
    r, n = f.get("r"), _counts(f, "n", positive=True)
    f.require("r", r, ~(np.abs(r) < 1), "a correlation must be strictly between -1 and 1")
    if measure == "COR":
        f.require("n", n, n <= 1, "the variance of r needs n > 1")
        return r, (1 - r**2) ** 2 / (n - 1), {}
    f.require("n", n, n <= 3, "the variance of Fisher's z, 1/(n - 3), needs n > 3")
    return np.arctanh(r), 1 / (n - 3), {}


def _proportions(f: _Frame, measure: str, correction: str) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """PR, PLO, PAS, PFT (metafor ``escalc``; PAS and PFT are never corrected)."""
    x, n = _counts(f, "events"), _counts(f, "n", positive=True)
    f.require("events", x, x > n, "events must not exceed n")
    if measure == "PAS":
        return np.arcsin(np.sqrt(x / n)), 1 / (4 * n), {"correction": "none"}
    if measure == "PFT":
        yi = 0.5 * (np.arcsin(np.sqrt(x / (n + 1))) + np.arcsin(np.sqrt((x + 1) / (n + 1))))
        return yi, 1 / (4 * n + 2), {"correction": "none"}
    add = _one_group_correction(correction, (x == 0) | (x == n), "single proportions")
    xc, mc = x + add, n - x + add
    p = xc / (xc + mc)
    if measure == "PR":
        yi, vi = p, p * (1 - p) / (xc + mc)
    else:
        with np.errstate(divide="ignore"):
            yi, vi = np.log(p / (1 - p)), 1 / xc + 1 / mc
    f.require("events", x, ~(np.isfinite(yi) & (vi > 0)),
              f"the {MEASURES[measure][1]} is undefined or has no variance with correction={correction!r}")
    return yi, vi, {"corrected": _which(f, add > 0)}


def _one_group_correction(correction: str, zero: NDArray[np.bool_], what: str) -> FloatArray:
    if correction == "treatment_arm":
        raise ValueError(f"correction='treatment_arm' is for two-group counts, not {what}; use 'add_if_zero', "
                         f"'add_all' or 'none'.")
    half = options.CONTINUITY_CORRECTION
    if correction == "add_all":
        return np.full(zero.shape, half)
    return np.where(zero, half, 0.0) if correction == "add_if_zero" else np.zeros(zero.shape)


def _rates(f: _Frame, measure: str, correction: str, dz: str) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """IRR (log ratio, vi = 1/x1 + 1/x2) and IRD (vi = x1/t1^2 + x2/t2^2), metafor ``escalc``."""
    x1, x2 = _counts(f, "events_exposed"), _counts(f, "events_unexposed")
    t1, t2 = f.get("time_exposed"), f.get("time_unexposed")
    for arg, t in (("time_exposed", t1), ("time_unexposed", t2)):
        f.require(arg, t, ~(np.isfinite(t) & (t > 0)), "person-time must be > 0")
    excluded = (x1 == 0) & (x2 == 0) & (dz == "exclude")
    if excluded.any():
        _excluded_warning(f, excluded)
    add = np.where(excluded, 0.0, _one_group_correction(correction, (x1 == 0) | (x2 == 0), "incidence rates"))
    a, c = x1 + add, x2 + add
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "IRR":
            yi, vi = np.log(a / t1) - np.log(c / t2), 1 / a + 1 / c
        else:
            yi, vi = a / t1 - c / t2, a / t1**2 + c / t2**2
    f.require("events_exposed", x1, ~excluded & ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0)),
              f"the {MEASURES[measure][1]} is undefined or has no variance with correction={correction!r}")
    yi, vi = np.where(excluded, np.nan, yi), np.where(excluded, np.nan, vi)
    return yi, vi, {"corrected": _which(f, add > 0), "excluded": _which(f, excluded)}


#: Allowed range of a printed estimate (and its CI limits) on the natural scale: (low, high, closed, rule).
_NATURAL: dict[str, tuple[float, float, bool, str]] = {
    "exp": (0.0, np.inf, False, "a ratio must be > 0"),
    "tanh": (-1.0, 1.0, False, "a correlation must be strictly between -1 and 1"),
    "ilogit": (0.0, 1.0, False, "a proportion must be strictly between 0 and 1 for its logit"),
    "COR": (-1.0, 1.0, False, "a correlation must be strictly between -1 and 1"),
    "PR": (0.0, 1.0, True, "a proportion must be between 0 and 1"),
}


def _check_natural(f: _Frame, arg: str, values: FloatArray, key: str) -> None:
    if key in _NATURAL:
        low, high, closed, rule = _NATURAL[key]
        inside = (values >= low) & (values <= high) if closed else (values > low) & (values < high)
        f.require(arg, values, ~inside, rule)


def _generic(f: _Frame, measure: str, alpha: float) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """yi from a printed estimate; vi from its SE, its 1 - alpha CI (Cochrane Handbook 6.3.2 [7]_), or p."""
    given = [g for g, args in (("se", ("se",)), ("ci_low and ci_high", ("ci_low", "ci_high")),
                               ("p_value", ("p_value",))) if any(f.has(a) for a in args)]
    if not f.has("estimate"):
        if not given:
            raise ValueError(f"measure={measure!r} needs estimate= with one of se, ci_low and ci_high, or p_value.")
        arg = next(a for a in ("se", "ci_low", "ci_high", "p_value") if f.has(a))
        f.require(arg, f.get(arg, missing_ok=True), np.ones(f.k, dtype=bool),
                  "it was given with no estimate (pass estimate=)")
    if len(given) != 1:
        raise ValueError(f"With estimate=, give exactly one of se, ci_low and ci_high, or p_value; got "
                         f"{', '.join(given) or 'none'}.")
    name = MEASURES[measure][2]
    if name not in _FORWARD or measure in ("PAS", "PFT"):
        raise ValueError(f"measure={measure!r} cannot be given as an estimate; use its counts.")
    key = measure if measure in _NATURAL else name
    est = f.get("estimate")
    _check_natural(f, "estimate", est, key)
    yi = _FORWARD[name](est)
    if given == ["se"]:
        se = f.get("se")
        f.require("se", se, ~(np.isfinite(se) & (se > 0)), "a standard error must be > 0")
        return yi, se**2, {}
    if given == ["p_value"]:
        p = f.get("p_value")
        f.require("p_value", p, ~((p > 0) & (p < 1)), "a two-sided p-value must be strictly between 0 and 1")
        f.require("estimate", est, yi == 0, "a p-value gives no SE for an estimate of no effect")
        return yi, (np.abs(yi) / stats.norm.isf(p / 2)) ** 2, {}
    low, high = f.get("ci_low"), f.get("ci_high")
    _check_natural(f, "ci_low", low, key)
    _check_natural(f, "ci_high", high, key)
    f.require("ci_low", low, ~(low < high), "the lower limit must be below ci_high")
    f.require("estimate", est, (est < low) | (est > high), "the estimate must lie within ci_low and ci_high")
    z = stats.norm.isf(alpha / 2)
    return yi, ((_FORWARD[name](high) - _FORWARD[name](low)) / (2 * z)) ** 2, {}


_GENERIC_INPUTS = ("estimate", "se", "ci_low", "ci_high", "p_value")
_FAMILY_INPUTS: dict[str, tuple[str, ...]] = {
    "2x2": ("events_exposed", "nonevents_exposed", "n_exposed", "events_unexposed", "nonevents_unexposed",
            "n_unexposed"),
    "means": ("mean_exposed", "sd_exposed", "n_exposed", "mean_unexposed", "sd_unexposed", "n_unexposed"),
    "correlation": ("r", "n"),
    "proportion": ("events", "n"),
    "rates": ("events_exposed", "time_exposed", "events_unexposed", "time_unexposed"),
    "generic": (),
}


def _check_unused(measure: str, family: str, generic: bool, given: set[str]) -> None:
    """Refuse inputs the measure would not use (nothing is ignored silently)."""
    if generic:
        allowed: tuple[str, ...] = _GENERIC_INPUTS
    elif measure == "SMD" and ({"smd", "t"} & given):
        allowed = ("smd", "t", "n_exposed", "n_unexposed")
    else:
        allowed = _FAMILY_INPUTS[family]
    unused = sorted(given - set(allowed))
    if unused:
        how = " from an estimate" if generic else ""
        raise ValueError(f"measure={measure!r}{how} does not use {', '.join(unused)}; it takes "
                         f"{', '.join(allowed)} (one row per study; mixing inputs across rows is done with "
                         f"evidence.measures.stack).")


# ---------------------------------------------------------------------------
# The front door
# ---------------------------------------------------------------------------


def escalc(
    measure: str,
    data: pd.DataFrame | None = None,
    *,
    labels: str | Sequence[Any] | None = None,
    correction: str = "add_if_zero",
    double_zero: str = "exclude",
    alpha: float = 0.05,
    **columns: Any,
) -> pd.DataFrame:
    """Effect sizes ``yi`` and sampling variances ``vi`` from a data frame (metafor ``escalc``).

    Parameters
    ----------
    measure : str
        One of :data:`evidence.options.ESCALC_MEASURES`; see the module docstring for the inputs
        and scale of each.
    data : pandas.DataFrame, optional
        The studies, one row each.  Without it the inputs are arrays.
    labels : str or sequence, optional
        Column holding the study labels (or the labels themselves); default the frame's index.
        Every error names the row by its label.
    correction : {"add_if_zero", "none", "add_all", "treatment_arm"}
        Zero-cell correction of the count measures (as
        :func:`evidence.effect_sizes.continuity_corrections`; metafor's default is ``"add_if_zero"``).
    double_zero : {"exclude", "keep"}
        Two-group tables (and rate pairs) without events in either group: ``"exclude"`` sets ``yi``
        and ``vi`` to NaN and warns :class:`~evidence.exceptions.ZeroCellWarning` (metafor
        ``drop00=TRUE``); ``"keep"`` corrects them like any zero cell.
    alpha : float
        Level ``1 - alpha`` of reported confidence intervals given as ``ci_low``/``ci_high``.
    **columns : str or array_like
        The inputs by their names (``events_exposed``, ``n_exposed``, ``mean_exposed``, ``r``,
        ``estimate``, ``se``, ...): a column name of ``data``, or an array.

    Returns
    -------
    pandas.DataFrame
        ``data`` (or the arrays) with ``yi``, ``vi`` and ``measure`` appended; ``attrs`` records
        ``measure``, ``description``, ``back_transform``, ``labels``, ``correction``,
        ``double_zero``, ``alpha``, ``corrected`` and ``excluded`` (the labels of those rows).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"study": ["A", "B"], "e1": [15, 0], "n1": [23, 10], "e2": [48, 3], "n2": [227, 12]})
    >>> es = escalc("OR", df, labels="study", events_exposed="e1", n_exposed="n1",
    ...             events_unexposed="e2", n_unexposed="n2")
    >>> es[["study", "yi"]].round(4).values.tolist(), es.attrs["corrected"]
    ([['A', 1.9448], ['B', -2.046]], ('B',))
    """
    check_choice("measure", measure, options.ESCALC_MEASURES)
    check_choice("correction", correction, options.ZERO_CELL_CORRECTIONS)
    check_choice("double_zero", double_zero, options.DOUBLE_ZERO)
    alpha = check_alpha(alpha)
    unknown = sorted(set(columns) - set(_ARGUMENTS))
    if unknown:
        raise TypeError(f"escalc() got the unknown input(s) {', '.join(unknown)}; the inputs are "
                        f"{', '.join(_ARGUMENTS)}.")
    if data is not None and not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame or None; got {type(data).__name__}.")
    f = _Frame(data, labels, columns)
    if f.k == 0:
        raise ValueError("There are no studies: data has no rows (or the inputs are empty).")
    family = MEASURES[measure][0]
    generic = any(f.has(g) for g in _GENERIC_INPUTS)
    _check_unused(measure, family, generic, set(f.given))
    if generic or family == "generic":
        yi, vi, extra = _generic(f, measure, alpha)
    elif family == "2x2":
        yi, vi, extra = _two_by_two(f, measure, correction, double_zero)
    elif family == "means":
        yi, vi, extra = _means(f, measure)
    elif family == "correlation":
        yi, vi, extra = _correlations(f, measure)
    elif family == "proportion":
        yi, vi, extra = _proportions(f, measure, correction)
    else:
        yi, vi, extra = _rates(f, measure, correction, double_zero)
    return _output(f, measure, yi, vi, labels, correction, double_zero, alpha, generic, extra)


def _output(f: _Frame, measure: str, yi: FloatArray, vi: FloatArray, labels: Any, correction: str,
            double_zero: str, alpha: float, generic: bool, extra: dict[str, Any]) -> pd.DataFrame:
    if f.data is not None:
        clash = [c for c in ("yi", "vi", "measure") if c in f.data.columns]
        if clash:
            raise ValueError(f"data already has the column(s) {', '.join(clash)}; escalc adds them. Rename or "
                             f"drop them first.")
        out = f.data.copy()
    else:
        out = pd.DataFrame({k: np.atleast_1d(np.asarray(v)) for k, v in f.given.items()})
    label_column = labels if isinstance(labels, str) else None
    if labels is not None and label_column is None:
        out.insert(0, "study", f.labels)
        label_column = "study"
    out["yi"], out["vi"], out["measure"] = yi, vi, measure
    family = MEASURES[measure][0]
    counts = family in ("2x2", "proportion", "rates") and not generic
    out.attrs = {
        "measure": measure,
        "description": MEASURES[measure][1],
        "back_transform": MEASURES[measure][2],
        "labels": label_column,
        "correction": extra.get("correction", correction) if counts else None,
        "double_zero": double_zero if counts and family != "proportion" else None,
        "alpha": alpha if generic and f.has("ci_low") else None,
        "corrected": extra.get("corrected", ()),
        "excluded": extra.get("excluded", ()),
    }
    return out


# ---------------------------------------------------------------------------
# Fitting from a frame
# ---------------------------------------------------------------------------


def frame_inputs(
    data: pd.DataFrame | None, yi: Any, vi: Any, labels: Any
) -> tuple[Any, Any, Any, str | None]:
    """Resolve ``yi``, ``vi`` and ``labels`` given as column names of ``data`` (the fitting front door).

    Returns ``yi, vi, labels, measure``; arrays pass through unchanged (``measure`` None).  With a frame
    from :func:`escalc`, rows it excluded (double-zero studies, NaN ``yi``) are dropped -- they were
    announced by a :class:`~evidence.exceptions.ZeroCellWarning` when the frame was made -- and
    ``measure`` is ``data.attrs["measure"]``.  Any other missing value raises ValueError naming the
    column and the row.

    Examples
    --------
    >>> es = escalc("COR", r=[0.3, 0.1], n=[50, 80], labels=["A", "B"])
    >>> y, v, labs, m = frame_inputs(es, "yi", "vi", "study")
    >>> list(labs), m
    (['A', 'B'], 'COR')
    """
    if data is None:
        for name, value in (("yi", yi), ("vi", vi)):
            if isinstance(value, str):
                raise TypeError(f"{name}={value!r} names a column, but no data frame was given; pass data=.")
        return yi, vi, labels, None
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame; got {type(data).__name__}.")
    if "measure" in data.columns and data["measure"].nunique() > 1:
        raise ValueError(f"data mixes the measures {', '.join(map(repr, data['measure'].unique()))} in its measure "
                         f"column; pool one measure at a time (e.g. one analysis of a RevMan file), or put them on "
                         f"one scale with evidence.measures.convert.")
    f = _Frame(data, labels if labels is not None else data.attrs.get("labels"), {"yi": yi, "vi": vi})
    y, v = f.get("yi", missing_ok=True), f.get("vi", missing_ok=True)
    excluded = set(data.attrs.get("excluded", ()))
    dropped = np.array([lab in excluded for lab in f.labels]) & np.isnan(y)
    keep = ~dropped
    for arg, values in (("yi", y), ("vi", v)):
        f.require(arg, values, np.isnan(values) & keep, "a value is needed in every row that is not excluded")
    named = labels is not None or data.attrs.get("labels") is not None
    labs = [lab for lab, k in zip(f.labels, keep, strict=True) if k] if named else None
    return y[keep], v[keep], labs, data.attrs.get("measure")


def frame_tables(
    data: pd.DataFrame | None, labels: Any, **columns: Any
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, Any]:
    """Resolve the counts of 2x2 tables given as column names of ``data`` (the 2x2 fitting front door).

    ``columns`` are ``events_exposed``, ``n_exposed``, ``events_unexposed``, ``n_unexposed``; returns
    them as float arrays (and the labels) after the checks of :func:`escalc`, whose errors name the
    column and the row.  Without ``data`` the inputs pass through unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"s": ["A"], "a": [15], "n1": [23], "c": [48], "n2": [227]})
    >>> frame_tables(df, "s", events_exposed="a", n_exposed="n1", events_unexposed="c", n_unexposed="n2")[4]
    ['A']
    """
    names = ("events_exposed", "n_exposed", "events_unexposed", "n_unexposed")
    if data is None:
        for name in names:
            if isinstance(columns[name], str):
                raise TypeError(f"{name}={columns[name]!r} names a column, but no data frame was given; pass data=.")
        return (*(columns[name] for name in names), labels)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame; got {type(data).__name__}.")
    f = _Frame(data, labels if labels is not None else data.attrs.get("labels"), columns)
    a, n1 = _arm(f, "exposed")
    c, n2 = _arm(f, "unexposed")
    named = labels is not None or data.attrs.get("labels") is not None
    return a, n1, c, n2, (f.labels if named else None)


# ---------------------------------------------------------------------------
# Converting and stacking effect-size frames
# ---------------------------------------------------------------------------

#: Conversions :func:`convert` makes: (from family, to measure) -> what it does.
CONVERSIONS: dict[tuple[str, str], str] = {
    ("d", "OR"): "log odds ratio from the standardised mean difference",
    ("logor", "SMD"): "standardised mean difference from the log odds ratio",
    ("r", "SMD"): "standardised mean difference from the (point-biserial) correlation",
    ("d", "COR"): "point-biserial correlation from the standardised mean difference",
}
_SCALE_OF = {"SMD": "d", "OR2DL": "d", "OR2DN": "d", "OR": "logor", "PETO": "logor", "D2ORL": "logor",
             "D2ORN": "logor", "COR": "r"}


def convert(
    frame: pd.DataFrame,
    to: str,
    *,
    method: str = "logistic",
    n_exposed: str | None = None,
    n_unexposed: str | None = None,
) -> pd.DataFrame:
    """Put an effect-size frame on another scale, so that studies reporting different metrics can be pooled.

    ``SMD`` (and d-scaled measures) to ``OR``, and ``OR``/``PETO`` to ``SMD``, by
    :func:`evidence.conversions.d_to_log_or` / :func:`~evidence.conversions.log_or_to_d` (``method``
    ``"logistic"`` or ``"probit"``); ``COR`` to ``SMD`` and ``SMD`` to ``COR`` by
    :func:`~evidence.conversions.r_to_d` / :func:`~evidence.conversions.d_to_r`, which need the group sizes
    (columns ``n_exposed``, ``n_unexposed``).  ``yi`` and ``vi`` are replaced (delta-method variances);
    the original measure is kept in the column ``converted_from`` and in ``attrs["converted_from"]``.

    Examples
    --------
    >>> g = escalc("SMD", smd=[0.5], n_exposed=[40], n_unexposed=[40])
    >>> o = convert(g, "OR")
    >>> o["measure"].iloc[0], o["converted_from"].iloc[0], round(float(o["yi"].iloc[0]), 4)
    ('OR', 'SMD', 0.8981)
    """
    if not isinstance(frame, pd.DataFrame) or not {"yi", "vi"} <= set(frame.columns):
        raise TypeError("frame must be a DataFrame with columns yi and vi (from evidence.escalc).")
    source = frame.attrs.get("measure")
    scale = _SCALE_OF.get(str(source), "")
    if (scale, to) not in CONVERSIONS:
        known = ", ".join(f"{s} -> {t}" for s, t in CONVERSIONS)
        raise ValueError(f"Cannot convert measure {source!r} to to={to!r}; the conversions are {known} (d: SMD, "
                         f"OR2DL, OR2DN; log OR: OR, PETO, D2ORL, D2ORN; r: COR).")
    y, v = frame["yi"].to_numpy(dtype=float), frame["vi"].to_numpy(dtype=float)
    ok = ~np.isnan(y)
    out = frame.copy()
    new_y, new_v = np.full_like(y, np.nan), np.full_like(v, np.nan)
    if to in ("OR", "SMD") and scale in ("d", "logor"):
        fn = d_to_log_or if to == "OR" else log_or_to_d
        conv = fn(y[ok], v[ok], method=method)
    else:
        if n_exposed is None or n_unexposed is None:
            raise ValueError(f"Converting {source} to {to} needs the group sizes: pass n_exposed= and n_unexposed= "
                             f"(column names).")
        n1, n2 = frame[n_exposed].to_numpy(dtype=float)[ok], frame[n_unexposed].to_numpy(dtype=float)[ok]
        conv = (r_to_d if to == "SMD" else d_to_r)(y[ok], n1, n2, v[ok])
    assert conv.variance is not None
    new_y[ok], new_v[ok] = conv.estimate, conv.variance
    out["yi"], out["vi"], out["measure"], out["converted_from"] = new_y, new_v, to, source
    out.attrs = {**frame.attrs, "measure": to, "description": MEASURES[to][1], "back_transform": MEASURES[to][2],
                 "converted_from": source, "conversion": f"{CONVERSIONS[(scale, to)]} ({method})"
                 if to in ("OR", "SMD") and scale in ("d", "logor") else CONVERSIONS[(scale, to)]}
    return out


def stack(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack effect-size frames of one measure (e.g. counts and converted means) into one frame to pool.

    Every frame must have the same ``attrs["measure"]``; the labels of corrected and excluded rows are
    joined, and the other options are kept where the frames agree (None where they differ).

    Examples
    --------
    >>> a = escalc("OR", events_exposed=[15], n_exposed=[23], events_unexposed=[48], n_unexposed=[227],
    ...            labels=["Cambridge"])
    >>> b = convert(escalc("SMD", smd=[0.5], n_exposed=[40], n_unexposed=[40], labels=["Trial"]), "OR")
    >>> s = stack([a, b])
    >>> list(s["study"]), s.attrs["measure"]
    (['Cambridge', 'Trial'], 'OR')
    """
    frames = list(frames)
    if not frames or not all(isinstance(f, pd.DataFrame) for f in frames):
        raise TypeError("frames must be a non-empty sequence of DataFrames (from evidence.escalc).")
    measures = [f.attrs.get("measure") for f in frames]
    if len(set(measures)) != 1 or measures[0] is None:
        raise ValueError(f"The frames have the measures {measures}; stack frames of one measure (use convert).")
    out = pd.concat(frames, ignore_index=True)
    attrs: dict[Any, Any] = {}
    for key in frames[0].attrs:
        values = [f.attrs.get(key) for f in frames]
        if key in ("corrected", "excluded"):
            attrs[key] = tuple(lab for v in values for lab in (v or ()))
        else:
            attrs[key] = values[0] if all(v == values[0] for v in values) else None
    out.attrs = attrs
    return out
