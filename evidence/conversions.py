"""Converting between effect-size metrics and from test statistics.

Meta-analysts meet a mix of metrics: one study prints a standardised mean difference ``d``, another a
correlation ``r``, a third an odds ratio, a fourth only a ``t``, ``F(1, df)`` or ``chi^2(1)``
statistic.  These functions put them on one scale.  Each returns a :class:`Converted` pair (the
converted value and, when a variance was given, its variance by the delta method) and follows the
metafor 3.8-1 ``escalc`` measure named in its docstring, against which the tests pin it.

The logistic conversion between ``d`` and the log odds ratio reuses
:func:`evidence.published.smd_to_or` and :func:`evidence.published.or_to_smd`.

References
----------
.. [1] Hasselblad V, Hedges LV (1995). Meta-analysis of screening and diagnostic tests. Psychol Bull
   117:167-178; Chinn S (2000). A simple method for converting an odds ratio to effect size for use in
   meta-analysis. Stat Med 19:3127-3131 (logistic: ln OR = d pi / sqrt(3)).
.. [2] Cox DR (1970). Analysis of Binary Data. Methuen; Sanchez-Meca J, Marin-Martinez F,
   Chacon-Moscoso S (2003). Effect-size indices for dichotomized outcomes in meta-analysis.
   Psychol Methods 8:448-467 (the probit/normal form: ln OR = 1.65 d).
.. [3] Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis.
   Wiley, Chapter 7 (d to r with a = (n1 + n2)^2 / (n1 n2), equations 7.5-7.8); metafor's ``RPB``
   uses a = m/n1 + m/n2 with m = n1 + n2 - 2 (Jacobs & Viechtbauer 2017, Res Synth Methods 8:161-180).
.. [4] Rosenthal R (1994). Parametric measures of effect size. In Cooper H, Hedges LV (eds), The
   Handbook of Research Synthesis, Chapter 16 (r = t / sqrt(t^2 + df); r = sqrt(chi^2(1) / N);
   d = t sqrt(1/n1 + 1/n2)).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evidence import options
from evidence._validation import check_choice
from evidence.published import log_or_variance_from_smd, or_to_smd, smd_to_or, smd_variance_from_log_or

__all__ = [
    "Converted",
    "PROBIT_FACTOR",
    "d_to_log_or",
    "log_or_to_d",
    "d_to_r",
    "r_to_d",
    "d_from_t",
    "t_from_f",
    "r_from_t",
    "r_from_chi2",
]

#: Factor of the probit (normal) conversion ln OR = 1.65 d (Cox 1970; metafor ``D2ORN``/``OR2DN``).
PROBIT_FACTOR: float = 1.65

FloatArray = NDArray[np.float64]


class Converted(NamedTuple):
    """A converted effect size and its variance (``None`` when no variance was given)."""

    estimate: FloatArray
    variance: FloatArray | None


def _finite(name: str, x: ArrayLike) -> FloatArray:
    arr = np.atleast_1d(np.asarray(x, dtype=float))
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} has the value {arr[i]!r} at position {i}; it must be a finite number.")
    return arr


def _var(name: str, v: ArrayLike | None) -> FloatArray | None:
    if v is None:
        return None
    arr = _finite(name, v)
    bad = arr <= 0
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} has the value {arr[i]!r} at position {i}; a variance must be > 0.")
    return arr


def _sizes(n_exposed: ArrayLike, n_unexposed: ArrayLike) -> tuple[FloatArray, FloatArray]:
    n1, n2 = _finite("n_exposed", n_exposed), _finite("n_unexposed", n_unexposed)
    for name, n in (("n_exposed", n1), ("n_unexposed", n2)):
        bad = n < 1
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(f"{name} has the value {n[i]:g} at position {i}; a group has at least 1 member.")
    if (n1 + n2 < 3).any():
        raise ValueError("n_exposed + n_unexposed must be at least 3 (m = n1 + n2 - 2 > 0).")
    return n1, n2


def d_to_log_or(d: ArrayLike, variance: ArrayLike | None = None, *, method: str = "logistic") -> Converted:
    """Log odds ratio from a standardised mean difference.

    ``"logistic"``: ln OR = d pi / sqrt(3), var = pi^2 var(d) / 3 (Hasselblad & Hedges 1995 [1]_;
    computed with :func:`evidence.published.smd_to_or`); ``"probit"``: ln OR = 1.65 d,
    var = 1.65^2 var(d) (Cox 1970 [2]_).  metafor ``escalc(measure="D2ORL")`` / ``"D2ORN"``.

    Examples
    --------
    >>> round(float(d_to_log_or(0.5).estimate[0]), 4), round(float(d_to_log_or(0.5, method="probit").estimate[0]), 3)
    (0.9069, 0.825)
    """
    method = check_choice("method", method, options.CONVERSION_METHODS)
    dd, v = _finite("d", d), _var("variance", variance)
    if method == "logistic":
        est = np.log(np.asarray(smd_to_or(dd), dtype=float))
        var = None if v is None else np.asarray(log_or_variance_from_smd(v), dtype=float)
    else:
        est = PROBIT_FACTOR * dd
        var = None if v is None else PROBIT_FACTOR**2 * v
    return Converted(np.atleast_1d(est), None if var is None else np.atleast_1d(var))


def log_or_to_d(log_or: ArrayLike, variance: ArrayLike | None = None, *, method: str = "logistic") -> Converted:
    """Standardised mean difference from a log odds ratio, the inverse of :func:`d_to_log_or`.

    ``"logistic"``: d = ln OR sqrt(3) / pi (via :func:`evidence.published.or_to_smd`); ``"probit"``:
    d = ln OR / 1.65.  metafor ``escalc(measure="OR2DL")`` / ``"OR2DN"``.

    Examples
    --------
    >>> round(float(log_or_to_d(np.log(7.0)).estimate[0]), 3)
    1.073
    """
    method = check_choice("method", method, options.CONVERSION_METHODS)
    y, v = _finite("log_or", log_or), _var("variance", variance)
    if method == "logistic":
        est = np.asarray(or_to_smd(np.exp(y)), dtype=float)
        var = None if v is None else np.asarray(smd_variance_from_log_or(v), dtype=float)
    else:
        est = y / PROBIT_FACTOR
        var = None if v is None else v / PROBIT_FACTOR**2
    return Converted(np.atleast_1d(est), None if var is None else np.atleast_1d(var))


def d_to_r(d: ArrayLike, n_exposed: ArrayLike, n_unexposed: ArrayLike, variance: ArrayLike | None = None) -> Converted:
    """Point-biserial correlation from a standardised mean difference.

    r = d / sqrt(d^2 + a) with a = m/n1 + m/n2, m = n1 + n2 - 2, and var(r) = a^2 var(d) / (d^2 + a)^3
    (delta method) -- metafor ``escalc(measure="RPB")`` [3]_, whose ``vi`` is this with
    var(d) = 1/n1 + 1/n2 + d^2 / (2 (n1 + n2)).

    Examples
    --------
    >>> round(float(d_to_r(0.5, 50, 50).estimate[0]), 4)
    0.2449
    """
    dd, v = _finite("d", d), _var("variance", variance)
    n1, n2 = _sizes(n_exposed, n_unexposed)
    m = n1 + n2 - 2
    a = m / n1 + m / n2
    est = dd / np.sqrt(dd**2 + a)
    return Converted(est, None if v is None else a**2 / (dd**2 + a) ** 3 * v)


def r_to_d(r: ArrayLike, n_exposed: ArrayLike, n_unexposed: ArrayLike, variance: ArrayLike | None = None) -> Converted:
    """Standardised mean difference from a point-biserial correlation, the inverse of :func:`d_to_r`.

    d = r sqrt(a) / sqrt(1 - r^2), var(d) = a var(r) / (1 - r^2)^3, with a as in :func:`d_to_r`.

    Examples
    --------
    >>> round(float(r_to_d(d_to_r(0.5, 50, 50).estimate, 50, 50).estimate[0]), 12)
    0.5
    """
    rr, v = _finite("r", r), _var("variance", variance)
    bad = np.abs(rr) >= 1
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"r has the value {rr[i]:g} at position {i}; a correlation must be in (-1, 1).")
    n1, n2 = _sizes(n_exposed, n_unexposed)
    m = n1 + n2 - 2
    a = m / n1 + m / n2
    est = rr * np.sqrt(a) / np.sqrt(1 - rr**2)
    return Converted(est, None if v is None else a / (1 - rr**2) ** 3 * v)


def d_from_t(t: ArrayLike, n_exposed: ArrayLike, n_unexposed: ArrayLike) -> Converted:
    """Standardised mean difference (uncorrected, Cohen's d) from a two-sample t statistic.

    d = t sqrt(1/n1 + 1/n2) (Rosenthal 1994 [4]_); metafor ``escalc(measure="SMD", ti=)`` uses it
    before the small-sample correction.  Its variance depends on the correction, so it is not given.

    Examples
    --------
    >>> round(float(d_from_t(2.0, 50, 50).estimate[0]), 4)
    0.4
    """
    tt = _finite("t", t)
    n1, n2 = _sizes(n_exposed, n_unexposed)
    return Converted(tt * np.sqrt(1 / n1 + 1 / n2), None)


def t_from_f(f: ArrayLike, sign: ArrayLike = 1.0) -> Converted:
    """t statistic from an F statistic with one numerator degree of freedom: t = sign sqrt(F).

    F(1, df) = t(df)^2, so the direction is lost: ``sign`` (+1 or -1, per study) gives it back.

    Examples
    --------
    >>> t_from_f([4.0, 9.0], sign=[1, -1]).estimate
    array([ 2., -3.])
    """
    ff = _finite("f", f)
    bad = ff < 0
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"f has the value {ff[i]:g} at position {i}; an F statistic is >= 0.")
    return Converted(_sign(sign, len(ff)) * np.sqrt(ff), None)


def _sign(sign: ArrayLike, k: int) -> FloatArray:
    s = np.broadcast_to(_finite("sign", sign), (k,)).astype(float)
    bad = ~np.isin(s, (-1.0, 1.0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"sign has the value {s[i]:g} at position {i}; it must be +1 or -1.")
    return s


def r_from_t(t: ArrayLike, df: ArrayLike) -> Converted:
    """Correlation from a t statistic with ``df`` degrees of freedom: r = t / sqrt(t^2 + df).

    For a Pearson correlation from n pairs, df = n - 2 (Rosenthal 1994 [4]_).

    Examples
    --------
    >>> round(float(r_from_t(2.0, 98).estimate[0]), 4)
    0.198
    """
    tt, dd = _finite("t", t), _finite("df", df)
    bad = dd <= 0
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"df has the value {dd[i]:g} at position {i}; degrees of freedom are > 0.")
    return Converted(tt / np.sqrt(tt**2 + dd), None)


def r_from_chi2(chi2: ArrayLike, n: ArrayLike, sign: ArrayLike = 1.0) -> Converted:
    """Phi coefficient from a chi^2 statistic with one degree of freedom: r = sign sqrt(chi^2 / n).

    Equals metafor ``escalc(measure="PHI")`` for the uncorrected Pearson chi^2 of a 2x2 table
    (``chisq.test(correct=FALSE)``) with ``n`` its total [4]_.

    Examples
    --------
    >>> round(float(r_from_chi2(3.84, 100).estimate[0]), 4)
    0.196
    """
    cc, nn = _finite("chi2", chi2), _finite("n", n)
    bad = (cc < 0) | (cc > nn)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"chi2 has the value {cc[i]:g} at position {i}; it must be between 0 and n.")
    return Converted(_sign(sign, len(cc)) * np.sqrt(cc / nn), None)
