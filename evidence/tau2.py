"""Between-study variance (tau^2) kernels, batch-shaped, in pure NumPy.

Every kernel takes effect sizes ``y`` and sampling variances ``v`` of shape
``(n, k)`` together with a boolean ``mask`` of the same shape marking the
studies present in each of the ``n`` analyses.  Absent entries may hold any
value (NaN included) and never affect a result.  Each kernel returns one tau^2
per analysis row, shape ``(n,)``; the iterative ones return an
:class:`IterativeFit` with the iteration count and a per-row convergence flag,
and leave the decision of what to do on non-convergence to the caller
(:mod:`evidence.pooling` warns and falls back to DL).  The ML/REML kernel
(:func:`_likelihood_root`) is the one every intercept-only fit of the package
uses, :func:`evidence.sensitivity.gosh` included.

Only the intercept-only random-effects model ``y_i ~ N(mu, v_i + tau^2)`` is
covered, so every matrix expression of metafor's ``rma.uni`` (which works with
``k x k`` matrices ``W`` and ``P = W - W X (X'WX)^-1 X'W``) reduces to sums
over the studies: with weights ``w_i = 1/(v_i + tau^2)``, ``s_r = sum w_i^r``
and the weighted mean ``mu_w``,

* ``Y'PY = sum w_i (y_i - mu_w)^2``  (the generalized Q statistic),
* ``tr(P) = s_1 - s_2/s_1``,
* ``Y'PPY = sum w_i^2 (y_i - mu_w)^2``,
* ``tr(PP) = s_2 - 2 s_3/s_1 + s_2^2/s_1^2``.

Memory is O(k) per row: no ``k x k`` matrix is ever formed.

Every estimator returns 0 for a row with a single study (metafor sets
``tau2 = 0`` when ``k = 1``) and truncates negative estimates at 0 (metafor's
``tau2 <- max(tau2.min, tau2)`` with ``tau2.min = 0``).

References
----------
.. [1] Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance
   estimators in the random-effects model. *J Educ Behav Stat* 30(3), 261-293.
.. [2] DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
   *Control Clin Trials* 7(3), 177-188.
.. [3] Paule, R. C., & Mandel, J. (1982). Consensus values and weighting
   factors. *J Res Natl Bur Stand* 87(5), 377-385.
.. [4] Viechtbauer, W., Lopez-Lopez, J. A., Sanchez-Meca, J., & Marin-Martinez,
   F. (2015). A comparison of procedures to test for moderators in
   mixed-effects meta-regression models. *Psychol Methods* 20(3), 360-374.
.. [5] Sidik, K., & Jonkman, J. N. (2005). Simple heterogeneity variance
   estimation for meta-analysis. *J R Stat Soc C* 54(2), 367-384.
.. [6] Hunter, J. E., & Schmidt, F. L. (2004). *Methods of meta-analysis*
   (2nd ed.). Sage.
.. [7] Hedges, L. V. (1983). A random effects model for effect sizes.
   *Psychol Bull* 93(2), 388-395.
.. [8] Morris, C. N. (1983). Parametric empirical Bayes inference: theory and
   applications. *J Am Stat Assoc* 78(381), 47-55.
.. [9] Viechtbauer, W. (2007). Confidence intervals for the amount of
   heterogeneity in meta-analysis. *Stat Med* 26(1), 37-52.
.. [10] metafor 3.8-1, ``rma.uni()`` (tau^2 estimation block) and
   ``confint.rma.uni()`` (``type="QP"``), W. Viechtbauer.
"""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evidence._validation import check_choice
from evidence.exceptions import ConvergenceWarning
from evidence.options import POOLING_METHODS

__all__ = [
    "IterativeFit",
    "QProfileInterval",
    "DEFAULT_TOL",
    "DEFAULT_MAX_ITER",
    "q_statistic",
    "dl",
    "he",
    "hs",
    "sj",
    "reml",
    "ml",
    "pm",
    "eb",
    "estimate",
    "q_profile_ci",
]

#: Convergence tolerance of the iterative estimators: iteration stops when the
#: change in tau^2 (or the width of the root bracket) is at most
#: ``DEFAULT_TOL * (tau2 + mean(v))``, i.e. 1e-12 relative to the scale of the
#: marginal variance.  (metafor's default ``threshold`` is an absolute 1e-5.)
DEFAULT_TOL: float = 1e-12
#: Maximum number of steps of an iterative estimator (ML/REML iteration, root search).
DEFAULT_MAX_ITER: int = 1000

#: metafor's ``ll0check`` tolerance (``.Machine$double.eps^0.25``): a converged
#: ML/REML tau^2 > 0 whose log-likelihood is worse than at tau^2 = 0 by more than
#: this is replaced by 0.
_LL0_TOL: float = float(np.finfo(float).eps ** 0.25)
#: ML/REML: outside a bracket of the score's root, a step down shrinks tau^2 by at most
#: this factor, so that no interior maximum is stepped over on the way to 0 (metafor's
#: step halving at the boundary shrinks it by at least 2 per step).
_MAX_SHRINK: float = 8.0
#: ML/REML: a tau^2 below this multiple of mean(v) still heading down goes to 0 (where the
#: score is evaluated next, so an interior maximum closer to 0 is still found).
_ZERO_SNAP: float = 1e-10
#: ML/REML: heading down with a score that is negative and increasing in tau^2, an iterate
#: below this multiple of min(v) goes to 0 (the score is nearly linear on [0, tau^2] there).
_NEAR_ZERO: float = 0.1


class IterativeFit(NamedTuple):
    """Result of an iterative tau^2 estimator over a batch.

    Attributes
    ----------
    tau2 : ndarray, shape (n,)
        The estimate (the last iterate where a row did not converge).
    n_iter : ndarray of int, shape (n,)
        Iterations used per row (0 for rows settled without iterating).
    converged : ndarray of bool, shape (n,)
        Whether the row met the tolerance within ``max_iter`` iterations.
    """

    tau2: NDArray[np.float64]
    n_iter: NDArray[np.int64]
    converged: NDArray[np.bool_]


class QProfileInterval(NamedTuple):
    """Q-profile confidence interval for tau^2 over a batch (see :func:`q_profile_ci`)."""

    low: NDArray[np.float64]
    high: NDArray[np.float64]
    converged: NDArray[np.bool_]


# ---------------------------------------------------------------------------
# array plumbing
# ---------------------------------------------------------------------------


def _prepare(
    y: ArrayLike, v: ArrayLike, mask: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """Return y and v with absent entries neutralised, a float mask, and k per row.

    Absent entries get y = 0 and v = 1 so that no NaN or infinity can leak into
    a sum; the float mask (0/1) then removes them from every weighted sum.
    """
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    v = np.atleast_2d(np.asarray(v, dtype=np.float64))
    if y.shape != v.shape:
        raise ValueError(f"y has shape {y.shape} but v has shape {v.shape}; they must agree.")
    if mask is None:
        m = np.ones(y.shape, dtype=bool)
    else:
        m = np.atleast_2d(np.asarray(mask, dtype=bool))
        if m.shape != y.shape:
            raise ValueError(f"mask has shape {m.shape} but y has shape {y.shape}; they must agree.")
    y0 = np.where(m, y, 0.0)
    v0 = np.where(m, v, 1.0)
    k = m.sum(axis=1).astype(np.int64)
    return y0, v0, m.astype(np.float64), k


def _wsums(
    tau2: NDArray[np.float64], y0: NDArray[np.float64], v0: NDArray[np.float64], mf: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Weights ``w = 1/(v + tau2)`` (0 where absent), their sum and the weighted residuals."""
    w = mf / (v0 + tau2[:, None])
    sw = w.sum(axis=1)
    mu = (w * y0).sum(axis=1) / sw
    r = (y0 - mu[:, None]) * mf
    return w, sw, r


def _q(
    tau2: NDArray[np.float64], y0: NDArray[np.float64], v0: NDArray[np.float64], mf: NDArray[np.float64]
) -> NDArray[np.float64]:
    w, _, r = _wsums(tau2, y0, v0, mf)
    return (w * r * r).sum(axis=1)


def q_statistic(
    y: ArrayLike, v: ArrayLike, mask: ArrayLike | None = None, tau2: ArrayLike = 0.0
) -> NDArray[np.float64]:
    """Generalized Q statistic ``Q(tau2) = sum w_i (y_i - mu_w)^2``, ``w_i = 1/(v_i + tau2)``.

    With ``tau2 = 0`` this is Cochran's Q (metafor's ``QE``); as a function of
    tau2 it is the quantity profiled by the Paule-Mandel estimator [3]_ and the
    Q-profile interval [9]_ (metafor's internal ``.QE.func``).

    Parameters
    ----------
    y, v : array_like, shape (n, k)
        Effect sizes and sampling variances.
    mask : array_like of bool, shape (n, k), optional
        Present studies (default: all).
    tau2 : float or array_like, shape (n,)
        Value(s) of tau^2 at which to evaluate Q.

    Returns
    -------
    ndarray, shape (n,)

    Examples
    --------
    >>> float(q_statistic([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])[0])  # doctest: +ELLIPSIS
    3.714285714...
    """
    y0, v0, mf, _ = _prepare(y, v, mask)
    t = np.broadcast_to(np.asarray(tau2, dtype=np.float64), (y0.shape[0],)).astype(np.float64)
    return _q(t, y0, v0, mf)


# ---------------------------------------------------------------------------
# closed-form estimators
# ---------------------------------------------------------------------------


def _finish(tau2: NDArray[np.float64], k: NDArray[np.int64]) -> NDArray[np.float64]:
    """Truncate at 0 and set single-study rows to 0 (metafor: ``method <- "k1"``)."""
    with np.errstate(invalid="ignore"):
        out = np.where(k <= 1, 0.0, np.maximum(tau2, 0.0))
    return out


def dl(y: ArrayLike, v: ArrayLike, mask: ArrayLike | None = None) -> NDArray[np.float64]:
    """DerSimonian-Laird estimator, truncated at 0.

    ``tau2 = max(0, (Q - (k - 1)) / (s_1 - s_2/s_1))`` with ``w_i = 1/v_i``;
    DerSimonian & Laird (1986) [2]_; metafor ``rma.uni(method="DL")``
    (``(RSS - (k-p)) / tr(P)``).

    Examples
    --------
    >>> round(float(dl([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])[0]), 6)
    0.017143
    """
    y0, v0, mf, k = _prepare(y, v, mask)
    zero = np.zeros(y0.shape[0])
    w, sw, r = _wsums(zero, y0, v0, mf)
    q = (w * r * r).sum(axis=1)
    trp = sw - (w * w).sum(axis=1) / sw
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = (q - (k - 1)) / trp
    return _finish(tau2, k)


def _he_raw(
    y0: NDArray[np.float64], v0: NDArray[np.float64], mf: NDArray[np.float64], k: NDArray[np.int64]
) -> NDArray[np.float64]:
    kk = np.maximum(k, 1)
    ybar = y0.sum(axis=1) / kk
    rss = (((y0 - ybar[:, None]) * mf) ** 2).sum(axis=1)
    trpv = (v0 * mf).sum(axis=1) * (k - 1) / kk
    with np.errstate(divide="ignore", invalid="ignore"):
        return (rss - trpv) / (k - 1)


def he(y: ArrayLike, v: ArrayLike, mask: ArrayLike | None = None) -> NDArray[np.float64]:
    """Hedges (unweighted method-of-moments / Cochran ANOVA) estimator, truncated at 0.

    ``tau2 = max(0, (sum (y_i - ybar)^2 - (k-1)/k sum v_i) / (k - 1))``;
    Hedges (1983) [7]_; Viechtbauer (2005) [1]_; metafor
    ``rma.uni(method="HE")`` (``(RSS - tr(PV)) / (k-p)`` with ``P = I - X(X'X)^-1 X'``).

    Examples
    --------
    >>> round(float(he([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])[0]), 6)
    0.016667
    """
    y0, v0, mf, k = _prepare(y, v, mask)
    return _finish(_he_raw(y0, v0, mf, k), k)


def hs(y: ArrayLike, v: ArrayLike, mask: ArrayLike | None = None) -> NDArray[np.float64]:
    """Hunter-Schmidt estimator, truncated at 0.

    ``tau2 = max(0, (Q - k) / s_1)`` with ``w_i = 1/v_i``; Hunter & Schmidt
    (2004) [6]_; Viechtbauer (2005) [1]_; metafor ``rma.uni(method="HS")``.

    Examples
    --------
    >>> round(float(hs([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])[0]), 6)
    0.004082
    """
    y0, v0, mf, k = _prepare(y, v, mask)
    zero = np.zeros(y0.shape[0])
    w, sw, r = _wsums(zero, y0, v0, mf)
    q = (w * r * r).sum(axis=1)
    return _finish((q - k) / sw, k)


def sj(y: ArrayLike, v: ArrayLike, mask: ArrayLike | None = None) -> NDArray[np.float64]:
    """Sidik-Jonkman estimator with metafor's starting value.

    ``tau2_0 = sum (y_i - ybar)^2 / k`` (the variance of ``y`` with divisor k,
    metafor's ``var(yi) * (k-1)/k``), then
    ``tau2 = tau2_0 * Q(tau2_0) / (k - 1)`` where ``Q(tau2_0)`` uses weights
    ``1/(v_i + tau2_0)``; Sidik & Jonkman (2005) [5]_; metafor
    ``rma.uni(method="SJ")``.  Never negative.

    Examples
    --------
    >>> round(float(sj([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])[0]), 6)
    0.021284
    """
    y0, v0, mf, k = _prepare(y, v, mask)
    kk = np.maximum(k, 1)
    ybar = y0.sum(axis=1) / kk
    tau0 = (((y0 - ybar[:, None]) * mf) ** 2).sum(axis=1) / kk
    q = _q(tau0, y0, v0, mf)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = tau0 * q / (k - 1)
    return _finish(tau2, k)


# ---------------------------------------------------------------------------
# REML and ML: the local maximum metafor's Fisher scoring reaches
# ---------------------------------------------------------------------------


def _score_parts(
    t: NDArray[np.float64], Y: NDArray[np.float64], V: NDArray[np.float64], M: NDArray[np.float64], reml: bool
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Score ``S``, its derivative ``S'`` and the Fisher information ``I`` at ``t`` (one per row).

    With ``w = 1/(v + t)``, ``r = y - mu_w`` and ``P y = w r``:
    ``S = Y'PPY - T`` where ``Y'PPY = sum w^2 r^2`` and ``T = tr(P) = s_1 - s_2/s_1``
    (REML) or ``T = s_1`` (ML); ``I = tr(PP) = s_2 - 2 s_3/s_1 + (s_2/s_1)^2`` (REML)
    or ``s_2`` (ML), metafor's scoring denominator; and, since ``dP/dt = -PP``,
    ``S' = -2 Y'PPPY + I`` with ``Y'PPPY = sum w^3 r^2 - (sum w^2 r)^2 / s_1``.
    """
    es = np.einsum
    w = M / (V + t[:, None])
    s1 = w.sum(axis=1)
    mu = es("ij,ij->i", w, Y) / s1
    wr = w * (Y - mu[:, None])  # P y (0 where absent)
    ypp = es("ij,ij->i", wr, wr)
    a = es("ij,ij->i", w, wr)
    yppp = es("ij,ij,ij->i", w, wr, wr) - a * a / s1
    s2 = es("ij,ij->i", w, w)
    if reml:
        s3 = es("ij,ij,ij->i", w, w, w)
        q = s2 / s1
        T = s1 - q
        info = s2 - 2.0 * s3 / s1 + q * q
    else:
        T = s1
        info = s2
    return ypp - T, info - 2.0 * yppp, info


def _safeguarded_step(
    t: NDArray[np.float64],
    S: NDArray[np.float64],
    dS: NDArray[np.float64],
    info: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    sc: NDArray[np.float64],
    vmin: NDArray[np.float64],
    tol: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """One step of the ML/REML iteration of :func:`_likelihood_root`, for any model.

    ``S``, ``dS`` and ``info`` are the score, its derivative and the Fisher
    information at the iterates ``t``; ``lo`` (``-1``: none yet) and ``hi``
    (``inf``: none yet) are the nearest iterates so far with ``S > 0`` and
    ``S < 0``; ``sc = tol * mean(v)`` and ``vmin = min(v)`` per row.  Returns the next iterates, the updated
    ``lo`` and ``hi``, and which rows have converged (a change, or a bracket, of
    at most ``tol * t + sc``).  Shared by :func:`evidence.metareg.tau2_mods`.
    """
    pos = S > 0.0
    neg = S < 0.0
    lo = np.where(pos, t, lo)
    hi = np.where(neg, t, hi)
    inside = (lo >= 0.0) & (hi < np.inf)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        step = t + np.where(dS < 0.0, -S / dS, S / info)  # Newton where S is decreasing
        # Outside a bracket, move in the direction of the score.  Where S' >= 0 a
        # scoring step downwards can creep (S is further below 0 lower down): go down
        # by at least half, as metafor's step halving does near 0.  A step down shrinks
        # tau2 by at most _MAX_SHRINK, so an interior maximum below is not stepped over,
        # and once below _ZERO_SNAP * mean(v) the iterate goes to 0 (where the score is
        # evaluated next: a positive score there brackets a maximum close to 0).
        free = np.where(neg & ~(dS < 0.0), np.minimum(step, 0.5 * t), step)
        # likewise upwards (S > 0 growing with t): at least double t plus a tenth of
        # mean(v); a step past the maximum only brackets it
        free = np.where(pos & ~(dS < 0.0), np.maximum(step, 2.0 * t + 0.1 * sc / tol), free)
        free = np.where(neg, np.maximum(free, t / _MAX_SHRINK), free)
        free = np.where(neg & (free <= _ZERO_SNAP / tol * sc), 0.0, free)
        # S < 0 and growing at t, with t small against every v_i (S nearly linear on
        # [0, t]): the score stays negative down to 0, where it is evaluated next
        free = np.where(neg & ~(dS < 0.0) & (t <= _NEAR_ZERO * vmin), 0.0, free)
        # inside the bracket: the step if it stays inside, else bisection
        bisect = ~((step > lo) & (step < hi))
        new = np.where(inside, np.where(bisect, 0.5 * (lo + hi), step), free)
    new = np.where(np.isfinite(new) & ~(S == 0.0), new, t)
    new = np.maximum(new, 0.0)
    thr = tol * new + sc
    done = (np.abs(new - t) <= thr) | (inside & (hi - lo <= thr))
    return new, lo, hi, done


#: A Newton iterate counts as converged when its predicted next step is below this
#: fraction of the tolerance (see :func:`_quadratic_done`).
_QUADRATIC_MARGIN: float = 0.01


def _quadratic_done(
    step: NDArray[np.float64], prev: NDArray[np.float64], thr: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Whether a Newton step makes the next one negligible, saving the confirming step.

    Near a simple root Newton's steps shrink quadratically, ``s_{n+1} ~ C s_n^2``;
    estimating ``C`` from the last two steps (``s_n / s_{n-1}^2``) predicts
    ``s_{n+1} ~ s_n^3 / s_{n-1}^2``.  The iterate is accepted when the steps are
    shrinking and that prediction is below ``_QUADRATIC_MARGIN * thr``.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pred = step * (step / prev) ** 2
    return np.isfinite(prev) & (step < 0.5 * prev) & (pred <= _QUADRATIC_MARGIN * thr)


def _likelihood_root(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    reml: bool,
    tol: float,
    max_iter: int,
    start: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]]:
    """The ML/REML tau^2 that metafor's Fisher scoring reaches, by a safeguarded Newton iteration.

    The one kernel for the intercept-only model, used by :func:`reml`, :func:`ml`,
    :func:`evidence.pooling.meta_analysis_many` (hence :func:`~evidence.pooling.meta_analysis`,
    :func:`~evidence.sensitivity.leave_one_out`, ...) and :func:`evidence.sensitivity.gosh`.

    The restricted (or full) likelihood can have two local maxima, one at 0 and
    one inside.  metafor's answer is the one its Fisher scoring ``t <- t + S/I``
    reaches from ``max(0, HE)``, followed by its ``ll0check``; this kernel
    returns that same local maximum:

    1. From ``start`` (default metafor's ``max(0, HE)``), iterates move in the
       direction of the score ``S`` -- Newton steps on ``G = S (t + c)^2`` with
       ``c = mean(v)``, i.e. ``-S / (S' + 2 S/(t + c))``, where that denominator is
       negative (``G`` is linear in t when all ``v_i`` are equal, so these steps
       are nearly exact), Fisher-scoring steps ``S/I`` otherwise -- until one iterate with ``S > 0``
       and one with ``S < 0`` bracket a root of S.  Going down, a step shrinks tau2
       by at least half where scoring would creep (``S' >= 0``) and by at most a
       factor :data:`_MAX_SHRINK`, so an interior maximum below is met, not
       stepped over; the boundary 0 is reached only when the score stays negative
       all the way down (the iterate goes to 0 below :data:`_ZERO_SNAP` ``* mean(v)``,
       or below :data:`_NEAR_ZERO` ``* min(v)`` with S increasing, where S is
       nearly linear on ``[0, t]``; the score at 0 is then evaluated, and a
       positive value brackets a maximum near 0).  Going up where scoring would
       creep, t at least doubles (plus ``mean(v)/10``).
    2. Inside the bracket ``[lo, hi]`` (``S(lo) > 0 > S(hi)``): the same Newton
       steps, bisection whenever a step would leave the bracket, which shrinks
       with every iterate.  Convergence is quadratic, including where metafor's scoring
       oscillates without converging (its remedy ``stepadj < 1`` converges to the
       same root).
    3. metafor's ``ll0check``: a ``tau2 > 0`` whose (restricted) log-likelihood is
       below that at 0 by more than ``eps^0.25`` is replaced by 0.

    A row stops when the change of tau2, or the bracket, is at most
    ``tol * (tau2 + mean(v))``, or when a Newton step makes the next one
    negligible (:func:`_quadratic_done`); rows with ``k <= 1`` are 0 without
    iterating.
    Finished rows leave the lock-step working set (once half of it has finished).

    Returns
    -------
    tau2, n_iter, converged
        Per row; ``tau2`` is the last iterate where a row did not converge.
    ll0_rows
        Rows that the ``ll0check`` set to 0 (the caller decides whether to warn).
    """
    n = y0.shape[0]
    if start is None:  # metafor's starting value
        start = _he_raw(y0, v0, mf, k)
    tau2 = np.maximum(0.0, np.nan_to_num(np.asarray(start, dtype=np.float64), nan=0.0))
    tau2[k <= 1] = 0.0
    n_iter = np.zeros(n, dtype=np.int64)
    converged = k <= 1
    idx = np.flatnonzero(~converged)
    Y, V, M = y0[idx], v0[idx], mf[idx]
    t = tau2[idx]
    cv = (V * M).sum(axis=1) / k[idx]
    sc = cv * tol
    vmin = np.where(M > 0, V, np.inf).min(axis=1)
    lo = np.full(idx.size, -1.0)  # largest iterate with S > 0 (-1: none yet)
    hi = np.full(idx.size, np.inf)  # smallest iterate with S < 0
    live = np.ones(idx.size, dtype=bool)  # rows of the working set still iterating
    prev = np.full(idx.size, np.inf)  # size of the previous step
    it = 0
    while idx.size and it < max_iter:
        it += 1
        S, dS, info = _score_parts(t, Y, V, M, reml)
        dS = dS + 2.0 * S / (t + cv)  # derivative of S (t + cv)^2 over (t + cv)^2: see below
        new, lo, hi, done = _safeguarded_step(t, S, dS, info, lo, hi, sc, vmin, tol)
        step = np.abs(new - t)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = (dS < 0.0) & (new == t - S / dS)  # a plain Newton step was taken
        done |= newton & _quadratic_done(step, prev, tol * new + sc)
        prev = step
        t = np.where(live, new, t)
        done &= live
        if done.any():
            fin = idx[done]
            tau2[fin] = t[done]
            n_iter[fin] = it
            converged[fin] = True
            live &= ~done
            # drop finished rows from the working set once half of it has finished
            # (copying the arrays every step would cost more than the idle rows)
            if live.sum() <= 0.7 * live.size:
                idx, Y, V, M, t, sc, cv, vmin, lo, hi, prev = (
                    idx[live], Y[live], V[live], M[live], t[live], sc[live], cv[live], vmin[live], lo[live],
                    hi[live], prev[live],
                )
                live = np.ones(idx.size, dtype=bool)
    tau2[idx[live]] = t[live]
    n_iter[idx[live]] = it
    # metafor's ll0check: a tau2 > 0 whose likelihood is below that at 0 is replaced by 0.
    cand_rows = np.flatnonzero(converged & (tau2 > 0.0))
    ll0_rows = cand_rows[:0]
    if cand_rows.size:
        gain = _ll0_gain(tau2[cand_rows], y0[cand_rows], v0[cand_rows], mf[cand_rows], reml)
        ll0_rows = cand_rows[gain > _LL0_TOL]
        tau2[ll0_rows] = 0.0
    return tau2, n_iter, converged, ll0_rows


def _ll0_gain(
    tau2: NDArray[np.float64], y0: NDArray[np.float64], v0: NDArray[np.float64], mf: NDArray[np.float64], reml: bool
) -> NDArray[np.float64]:
    """``ll(0) - ll(tau2)`` of the (restricted) log-likelihood of metafor ``rma.uni``, per row.

    ``= (sum log((v_i + tau2)/v_i) + [log s_1(tau2) - log s_1(0)] + Q(tau2) - Q(0)) / 2``
    (the bracket for REML only), with one logarithm per row: the product of the
    ratios ``1 + tau2/v_i`` (rows where it overflows fall back to a sum of logarithms).
    """
    zero = np.zeros(tau2.shape[0])
    w0, s0, r0 = _wsums(zero, y0, v0, mf)
    w1, s1, r1 = _wsums(tau2, y0, v0, mf)
    dq = (w1 * r1 * r1).sum(axis=1) - (w0 * r0 * r0).sum(axis=1)
    with np.errstate(divide="ignore", over="ignore"):  # an overflow is caught just below
        ratio = np.prod(1.0 + tau2[:, None] * w0, axis=1)
        if reml:
            ratio = ratio * (s1 / s0)
        logs = np.log(ratio)
    bad = ~np.isfinite(logs)
    if bad.any():
        logs[bad] = (np.log1p(tau2[bad, None] * w0[bad]).sum(axis=1)
                     + (np.log(s1[bad] / s0[bad]) if reml else 0.0))
    return 0.5 * (logs + dq)


def _likelihood_fit(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    reml: bool,
    tol: float,
    max_iter: int,
    stacklevel: int,
) -> IterativeFit:
    """:func:`_likelihood_root` on prepared arrays, warning where the ``ll0check`` set tau2 to 0."""
    tau2, n_iter, converged, stuck = _likelihood_root(y0, v0, mf, k, reml, tol, max_iter)
    if stuck.size:
        warnings.warn(
            f"{'REML' if reml else 'ML'}: for analysis row(s) {_rows(stuck)} the local maximum reached "
            f"from metafor's starting value has a lower likelihood than tau2 = 0, so tau2 was set to 0 "
            f"(metafor's ll0check does the same).",
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return IterativeFit(tau2, n_iter, converged)


def _rows(idx: NDArray[np.int64], limit: int = 10) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:limit])
    return shown + (f" and {idx.size - limit} more" if idx.size > limit else "")


def reml(
    y: ArrayLike,
    v: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> IterativeFit:
    """Restricted maximum-likelihood estimator: the maximum metafor's Fisher scoring reaches.

    metafor ``rma.uni(method="REML")`` iterates Fisher scoring
    ``tau2 <- tau2 + (Y'PPY - tr(P)) / tr(PP)`` from ``max(0, HE)`` (Viechtbauer
    2005 [1]_), halving a step while it would make tau2 negative, then applies
    its ``ll0check`` (tau2 set to 0, with a
    :class:`~evidence.exceptions.ConvergenceWarning`, if the restricted
    likelihood is higher at 0).  Where the likelihood has two local maxima (one
    at 0), the one reported is the one that iteration reaches.  This kernel
    reaches the same local maximum by a safeguarded Newton iteration
    (:func:`_likelihood_root`: steps in the direction of the score until a root
    is bracketed, then Newton steps kept inside the bracket), which converges
    quadratically rather than linearly, also where metafor's scoring oscillates
    and stops with "did not converge" (there metafor's ``stepadj = 0.5`` gives
    the same answer).  Convergence: change of tau2 at most
    ``tol * (tau2 + mean(v))``; rows still moving after ``max_iter`` steps keep
    their last iterate with ``converged = False``.

    Examples
    --------
    >>> fit = reml([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])
    >>> bool(fit.converged[0]), round(float(fit.tau2[0]), 6)
    (True, 0.01719)
    """
    return _likelihood_fit(*_prepare(y, v, mask), True, tol, max_iter, stacklevel=3)


def ml(
    y: ArrayLike,
    v: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> IterativeFit:
    """Maximum-likelihood estimator: the maximum metafor's Fisher scoring reaches.

    As :func:`reml` with metafor's scoring step ``(Y'PPY - s_1) / s_2``
    (Viechtbauer 2005 [1]_); metafor ``rma.uni(method="ML")``.

    Examples
    --------
    >>> fit = ml([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])
    >>> bool(fit.converged[0]), round(float(fit.tau2[0]), 6)
    (True, 0.0031)
    """
    return _likelihood_fit(*_prepare(y, v, mask), False, tol, max_iter, stacklevel=3)


# ---------------------------------------------------------------------------
# root finding on the generalized Q statistic: PM, EB, Q-profile CI
# ---------------------------------------------------------------------------


def _solve_q(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    target: NDArray[np.float64],
    rows: NDArray[np.int64],
    tol: float,
    max_iter: int,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """Solve ``Q(tau2) = target[j]`` for analysis row ``rows[j]``, all in lock-step.

    The caller guarantees ``Q(0) >= target > 0``; a row may appear more than once
    (e.g. once per bound of an interval).  ``Q`` decreases in tau2 and
    ``Q(t) <= SS/t`` with ``SS = sum (y_i - ybar)^2`` (because ``w_i <= 1/t`` and the
    weighted mean minimises the weighted sum of squares), so ``[0, SS/target]``
    brackets the root.  From 0, Newton steps are taken on ``1/Q(t) - 1/target``
    (nearly linear in t: ``1/Q`` is exactly linear when all ``v_i`` are equal), with
    ``dQ/dt = -sum w_i^2 (y_i - mu_w)^2`` (metafor's ``Y'PPY``), and a bisection of
    the bracket of the root whenever a step would leave it.  A row stops when the
    step, or the bracket, is at most ``tol * (root + mean(v))``.
    """
    m = rows.size
    root = np.zeros(m)
    n_iter = np.zeros(m, dtype=np.int64)
    conv = np.zeros(m, dtype=bool)
    if m == 0:
        return root, n_iter, conv
    es = np.einsum
    Y, V, M, tg = y0[rows], v0[rows], mf[rows], np.asarray(target, dtype=np.float64)
    kk = k[rows]
    sc = (V * M).sum(axis=1) / kk * tol
    ybar = Y.sum(axis=1) / kk
    ss = es("ij,ij->i", (Y - ybar[:, None]) * M, (Y - ybar[:, None]) * M)
    lo = np.zeros(m)
    hi = ss / tg
    t = np.zeros(m)
    prev = np.full(m, np.inf)
    act = np.arange(m)
    it = 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        while act.size and it < max_iter:
            it += 1
            w = M / (V + t[:, None])
            mu = es("ij,ij->i", w, Y) / w.sum(axis=1)
            r = Y - mu[:, None]
            wr = w * r
            d = es("ij,ij->i", wr, wr)  # -dQ/dt
            q = es("ij,ij->i", wr, r)
            f = q - tg
            lo = np.where(f > 0.0, t, lo)
            hi = np.where(f < 0.0, t, hi)
            newton = t + q * f / (tg * d)
            inside = (newton > lo) & (newton < hi)
            new = np.where(inside, newton, 0.5 * (lo + hi))
            new = np.where(f == 0.0, t, new)
            thr = tol * new + sc
            step = np.abs(new - t)
            done = (step <= thr) | (hi - lo <= thr) | (inside & _quadratic_done(step, prev, thr))
            prev = step
            t = new
            if done.any():
                fin = act[done]
                root[fin] = t[done]
                n_iter[fin] = it
                conv[fin] = True
                keep = ~done
                act, Y, V, M, tg, sc, lo, hi, t, prev = (
                    act[keep], Y[keep], V[keep], M[keep], tg[keep], sc[keep], lo[keep], hi[keep], t[keep],
                    prev[keep],
                )
    root[act] = t
    n_iter[act] = it
    return root, n_iter, conv


def _q_root_fit(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    tol: float,
    max_iter: int,
) -> IterativeFit:
    n = y0.shape[0]
    target = (k - 1).astype(np.float64)
    q0 = _q(np.zeros(n), y0, v0, mf)
    tau2 = np.zeros(n)
    n_iter = np.zeros(n, dtype=np.int64)
    converged = np.ones(n, dtype=bool)
    # metafor: if Q(tau2.min) < k - p then tau2 <- tau2.min (no root above 0)
    rows = np.flatnonzero((k > 1) & (q0 >= target))
    root, it, conv = _solve_q(y0, v0, mf, k, target[rows], rows, tol, max_iter)
    tau2[rows] = root
    n_iter[rows] = it
    converged[rows] = conv
    return IterativeFit(tau2, n_iter, converged)


def pm(
    y: ArrayLike,
    v: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> IterativeFit:
    """Paule-Mandel estimator: the root of ``Q(tau2) = k - 1``, or 0 if ``Q(0) < k - 1``.

    Paule & Mandel (1982) [3]_; Viechtbauer et al. (2015) [4]_;
    metafor ``rma.uni(method="PM")``, which solves the same equation with
    ``uniroot`` on ``[0, tau2.max]``.  Here the bracket ``[0, SS/(k-1)]`` always
    contains the root, so there is no ``tau2.max`` to exceed (metafor stops with
    "Value of 'tau2.max' too low" when ``Q(tau2.max) > k - 1``); the root is found
    to ``tol`` relative rather than metafor's default ``tol = eps^0.25``.

    Examples
    --------
    >>> fit = pm([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])
    >>> round(float(fit.tau2[0]), 6)
    0.016943
    """
    return _q_root_fit(*_prepare(y, v, mask), tol, max_iter)


def eb(
    y: ArrayLike,
    v: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> IterativeFit:
    """Empirical Bayes estimator (Morris 1983 [8]_), solved as the root of ``Q(tau2) = k - 1``.

    metafor ``rma.uni(method="EB")`` iterates
    ``tau2 <- tau2 + (Y'PY * k/(k-1) - k) / s_1`` from ``max(0, HE)`` (with step
    halving at 0).  Its fixed point solves ``Y'PY = Q(tau2) = k - 1``, the
    Paule-Mandel equation, and the iteration tends to 0 when ``Q(0) < k - 1``:
    the EB and PM estimators are identical (metafor's ``rma.uni`` help page;
    Viechtbauer et al. 2015 [4]_).  This kernel therefore solves that equation
    with the same bracketing root-finder as :func:`pm`, returning exactly 0 where
    metafor's iteration stops within its ``threshold`` of 0.

    Examples
    --------
    >>> fit = eb([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])
    >>> round(float(fit.tau2[0]), 6)
    0.016943
    """
    return _q_root_fit(*_prepare(y, v, mask), tol, max_iter)


def estimate(
    method: str,
    y: ArrayLike,
    v: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> IterativeFit:
    """Dispatch to the estimator named ``method`` (one of :data:`evidence.options.TAU2_METHODS`, or ``"FE"`` for 0).

    Closed-form estimators are wrapped in an :class:`IterativeFit` with
    ``n_iter = 0`` and ``converged = True``.

    Examples
    --------
    >>> fit = estimate("DL", [[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])
    >>> round(float(fit.tau2[0]), 6), int(fit.n_iter[0]), bool(fit.converged[0])
    (0.017143, 0, True)
    """
    check_choice("method", method, POOLING_METHODS)
    return _estimate_prepared(method, *_prepare(y, v, mask), tol, max_iter, stacklevel=3)


def _estimate_prepared(
    method: str,
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    tol: float,
    max_iter: int,
    stacklevel: int,
) -> IterativeFit:
    """:func:`estimate` on arrays already passed through :func:`_prepare` (``method`` already checked)."""
    if method in ("REML", "ML"):
        return _likelihood_fit(y0, v0, mf, k, method == "REML", tol, max_iter, stacklevel + 1)
    if method in ("PM", "EB"):
        return _q_root_fit(y0, v0, mf, k, tol, max_iter)
    n = y0.shape[0]
    if method == "FE":
        t = np.zeros(n)
    else:
        t = {"DL": dl, "HE": he, "HS": hs, "SJ": sj}[method](y0, v0, mf.astype(bool))
    return IterativeFit(t, np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))


def q_profile_ci(
    y: ArrayLike,
    v: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    alpha: float = 0.05,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> QProfileInterval:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007 [9]_).

    The bounds solve ``Q(tau2_low) = chi2_{k-1; 1-alpha/2}`` and
    ``Q(tau2_high) = chi2_{k-1; alpha/2}``.  As in metafor
    ``confint.rma.uni(type="QP")`` with ``tau2.min = 0``:

    * if ``Q(0) < chi2_{k-1; 1-alpha/2}`` the lower bound is 0;
    * if ``Q(0) < chi2_{k-1; alpha/2}`` both bounds are 0 (the interval is
      "empty": metafor prints it as ``<0`` and sets ``ci.null``).

    Divergences from metafor: metafor caps the search at
    ``tau2.max = max(100, 10 tau2)`` and reports that cap (``>``) when the
    upper bound lies beyond it; here the bracket ``[0, SS/crit]`` always
    contains the bound, so the exact bound is returned.  Rows with ``k = 1``
    (metafor: "Stopped because k = 1") get NaN for both bounds.

    Returns
    -------
    QProfileInterval
        ``low``, ``high`` (shape (n,)) and ``converged`` (both roots met ``tol``).

    Examples
    --------
    >>> ci = q_profile_ci([[0.1, 0.3, 0.5, -0.2]], [[0.01, 0.02, 0.04, 0.01]])
    >>> round(float(ci.low[0]), 5), round(float(ci.high[0]), 4)
    (0.00908, 1.2172)
    """
    return _q_profile(*_prepare(y, v, mask), alpha, tol, max_iter)


def _q_profile(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    alpha: float,
    tol: float,
    max_iter: int,
) -> QProfileInterval:
    """:func:`q_profile_ci` on arrays already passed through :func:`_prepare`."""
    n = y0.shape[0]
    df = (k - 1).astype(np.float64)
    ok = k > 1
    # chi^2 quantiles once per distinct df (a batch has few)
    udf, inv = np.unique(np.maximum(df, 1.0), return_inverse=True)
    crit_u = np.where(ok, stats.chi2.isf(alpha / 2.0, udf)[inv], np.nan)
    crit_l = np.where(ok, stats.chi2.ppf(alpha / 2.0, udf)[inv], np.nan)
    q0 = _q(np.zeros(n), y0, v0, mf)
    low = np.where(ok, 0.0, np.nan)
    high = np.where(ok, 0.0, np.nan)
    conv = np.ones(n, dtype=bool)
    rows_hi = np.flatnonzero(ok & (q0 >= crit_l))
    rows_lo = np.flatnonzero(ok & (q0 >= crit_u))
    # both bounds in one lock-step search
    r, _, c = _solve_q(
        y0, v0, mf, k, np.concatenate([crit_l[rows_hi], crit_u[rows_lo]]),
        np.concatenate([rows_hi, rows_lo]), tol, max_iter,
    )
    high[rows_hi] = r[: rows_hi.size]
    low[rows_lo] = r[rows_hi.size :]
    conv[rows_hi] &= c[: rows_hi.size]
    conv[rows_lo] &= c[rows_hi.size :]
    return QProfileInterval(low, high, conv)
