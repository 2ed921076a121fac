"""Between-study variance (tau^2) kernels, batch-shaped, in pure NumPy.

Every kernel takes effect sizes ``y`` and sampling variances ``v`` of shape
``(n, k)`` together with a boolean ``mask`` of the same shape marking the
studies present in each of the ``n`` analyses.  Absent entries may hold any
value (NaN included) and never affect a result.  Each kernel returns one tau^2
per analysis row, shape ``(n,)``; the iterative ones return an
:class:`IterativeFit` with the iteration count and a per-row convergence flag,
and leave the warning on non-convergence to the caller (the package's one
policy, :mod:`evidence._engine`: last iterate kept, ``converged = False``, a
ConvergenceWarning, no fallback).  ML/REML use the package's one driver,
:func:`evidence._engine.likelihood_root`, shared with meta-regression.

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

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from evidence import _engine
from evidence._validation import check_choice
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
    "estimate_arrays",
    "estimate_single",
    "q_profile_ci",
    "q_profile_arrays",
    "q_profile_single",
    "solve_q",
]

#: Convergence tolerance of the iterative estimators (see :data:`evidence._engine.DEFAULT_TOL`).
DEFAULT_TOL: float = _engine.DEFAULT_TOL
#: Maximum number of steps of an iterative estimator (ML/REML iteration, root search).
DEFAULT_MAX_ITER: int = _engine.DEFAULT_MAX_ITER


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


_prepare = _engine.prepare


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
    trp = _engine.trace_p(w, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau2 = (q - (k - 1)) / trp
    return _finish(tau2, k)


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
    return _finish(_engine.he_start(y0, v0, mf, k), k)


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


def _likelihood_fit(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    reml: bool,
    tol: float,
    max_iter: int,
    stacklevel: int,
    single: bool = False,
) -> IterativeFit:
    """:func:`evidence._engine.likelihood_root` on prepared arrays, warning where the ``ll0check`` set tau2 to 0."""
    tau2, n_iter, converged, stuck = _engine.likelihood_root(y0, v0, mf, k, reml, tol, max_iter)
    _engine.warn_ll0("REML" if reml else "ML", stuck, single, stacklevel + 1)
    return IterativeFit(tau2, n_iter, converged)


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
    (:func:`evidence._engine.likelihood_root`: steps in the direction of the score until a root
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


def _q_step(
    t: Any, prev: Any, lo: Any, hi: Any, Y: NDArray[np.float64], V: NDArray[np.float64], M: Any, tg: Any,
    sc: Any, tol: float, ops: _engine.Ops, X: NDArray[np.float64] | None = None,
) -> tuple[Any, Any, Any, Any, Any]:
    """One step of the root search of ``Q(t) = tg`` (see :func:`solve_q`); rows or one fit by ``ops``.

    ``X`` (rows only): the model matrix of a meta-regression, whose residual
    ``Q_E(t) = sum w r^2`` has the derivative ``-Y'PPY = -sum (w r)^2`` too.
    Returns the next iterate, the size of this step, the updated bracket and
    whether the search has converged.  Called under ``np.errstate(all="ignore")``.
    """
    W, dot = ops.where, ops.dot
    if X is None:
        w = M / (V + ops.col(t))
        r = Y - ops.col(dot(w, Y) / ops.total(w))
    else:
        w, _, _, r, _ = _engine.wls(t, Y, V, X, M)
    wr = w * r
    d = ops.real(dot(wr, wr))  # -dQ/dt
    q = ops.real(dot(wr, r))
    f = q - tg
    lo = W(f > 0.0, t, lo)
    hi = W(f < 0.0, t, hi)
    newton = t + ops.div(q * f, tg * d)
    inside = (newton > lo) & (newton < hi)
    new = W(inside, newton, 0.5 * (lo + hi))
    new = W(f == 0.0, t, new)
    thr = tol * new + sc
    step = ops.abs(new - t)
    done = (step <= thr) | (hi - lo <= thr) | (inside & _engine.quadratic_done(step, prev, thr, ops))
    return new, step, lo, hi, done


def _solve_q_single(
    y: NDArray[np.float64], v: NDArray[np.float64], target: float, tol: float, max_iter: int
) -> tuple[float, int, bool]:
    """:func:`solve_q` for one analysis with every study present (the :data:`evidence._engine.SCALAR` steps).

    Called under ``np.errstate(all="ignore")``.
    """
    k = y.size
    sc = float(np.add.reduce(v)) / k * tol  # Python floats, as in evidence._engine.likelihood_root_single
    d = y - np.add.reduce(y) / k
    target = float(target)
    lo, hi, t, prev = 0.0, float(np.dot(d, d)) / target, 0.0, np.inf
    it = 0
    while it < max_iter:
        it += 1
        t, prev, lo, hi, done = _q_step(t, prev, lo, hi, y, v, 1.0, target, sc, tol, _engine.SCALAR)
        if done:
            return float(t), it, True
    return float(t), it, False


def q_profile_single(
    y: NDArray[np.float64], v: NDArray[np.float64], q0: float, alpha: float, tol: float, max_iter: int
) -> tuple[float, float, bool]:
    """:func:`q_profile_arrays` for one analysis with every study present; ``q0`` is Cochran's Q.

    Returns ``low``, ``high`` and whether both searches converged.
    """
    k = y.size
    if k <= 1:
        return float("nan"), float("nan"), True
    crit_u = special.chdtri(k - 1.0, alpha / 2.0)
    crit_l = special.chdtri(k - 1.0, 1.0 - alpha / 2.0)
    low = high = 0.0
    conv = True
    with np.errstate(all="ignore"):  # entered once for both searches
        if q0 >= crit_l:
            high, _, c = _solve_q_single(y, v, crit_l, tol, max_iter)
            conv &= c
        if q0 >= crit_u:
            low, _, c = _solve_q_single(y, v, crit_u, tol, max_iter)
            conv &= c
    return low, high, conv


def solve_q(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    target: NDArray[np.float64],
    rows: NDArray[np.int64],
    tol: float,
    max_iter: int,
    X: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """Solve ``Q(tau2) = target[j]`` for analysis row ``rows[j]``, all in lock-step.

    The one root search of the package on the generalized Q statistic: PM/EB
    and the Q-profile bounds here, PM/EB of a meta-regression
    (:func:`evidence.metareg.tau2_mods`, ``X`` its model matrix, shared or one per
    row: ``Q_E(t) <= RSS_ols / t`` brackets the root the same way).

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
    Y, V, M, tg, XX = y0[rows], v0[rows], mf[rows], np.asarray(target, dtype=np.float64), _engine.take(X, rows)
    kk = k[rows]
    sc = (V * M).sum(axis=1) / kk * tol
    if XX is None:
        ybar = Y.sum(axis=1) / kk
        ss = es("ij,ij->i", (Y - ybar[:, None]) * M, (Y - ybar[:, None]) * M)
    else:
        ss = _engine.ols_rss(Y, M, XX)[0]
    lo = np.zeros(m)
    hi = ss / tg
    t = np.zeros(m)
    prev = np.full(m, np.inf)
    act = np.arange(m)
    it = 0
    with np.errstate(all="ignore"):
        while act.size and it < max_iter:
            it += 1
            t, prev, lo, hi, done = _q_step(t, prev, lo, hi, Y, V, M, tg, sc, tol, _engine.BATCH, XX)
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
                XX = _engine.take(XX, keep)
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
    root, it, conv = solve_q(y0, v0, mf, k, target[rows], rows, tol, max_iter)
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
    return estimate_arrays(method, *_prepare(y, v, mask), tol, max_iter, stacklevel=3)


def estimate_arrays(
    method: str,
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    tol: float,
    max_iter: int,
    stacklevel: int,
    single: bool = False,
) -> IterativeFit:
    """:func:`estimate` on arrays already passed through :func:`evidence._engine.prepare` (``method`` already checked).

    ``single`` says the batch is one analysis (a warning then names no row).
    """
    if method in ("REML", "ML"):
        return _likelihood_fit(y0, v0, mf, k, method == "REML", tol, max_iter, stacklevel + 1, single)
    if method in ("PM", "EB"):
        return _q_root_fit(y0, v0, mf, k, tol, max_iter)
    n = y0.shape[0]
    if method == "FE":
        t = np.zeros(n)
    else:
        t = {"DL": dl, "HE": he, "HS": hs, "SJ": sj}[method](y0, v0, mf.astype(bool))
    return IterativeFit(t, np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))


def estimate_single(
    method: str, y: NDArray[np.float64], v: NDArray[np.float64], tol: float, max_iter: int, stacklevel: int
) -> tuple[float, int, bool]:
    """:func:`estimate_arrays` for one analysis with every study present: ``tau2, n_iter, converged``.

    ML/REML by :func:`evidence._engine.likelihood_root_single`, PM/EB by the same
    root search as :func:`pm` one fit at a time; the closed forms by their batch
    kernels (one row).  The same answers as the batch path, without its overhead.
    """
    if method in ("REML", "ML"):
        t, it, conv, ll0 = _engine.likelihood_root_single(y, v, method == "REML", tol, max_iter)
        if ll0:
            _engine.warn_ll0(method, np.zeros(1, dtype=np.int64), True, stacklevel + 1)
        return t, it, conv
    k = y.size
    if method in ("PM", "EB"):
        w = 1.0 / v
        r = y - np.dot(w, y) / np.add.reduce(w)
        if k <= 1 or np.dot(w * r, r) < k - 1:  # metafor: no root above 0
            return 0.0, 0, True
        with np.errstate(all="ignore"):
            return _solve_q_single(y, v, k - 1.0, tol, max_iter)
    if method == "FE":
        return 0.0, 0, True
    return float({"DL": dl, "HE": he, "HS": hs, "SJ": sj}[method](y[None, :], v[None, :])[0]), 0, True


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
    return q_profile_arrays(*_prepare(y, v, mask), alpha, tol, max_iter)


def q_profile_arrays(
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
    if n == 1:
        udf, inv = np.maximum(df, 1.0), np.zeros(1, dtype=np.intp)
    else:
        udf, inv = np.unique(np.maximum(df, 1.0), return_inverse=True)
    crit_u = np.where(ok, special.chdtri(udf, alpha / 2.0)[inv], np.nan)
    crit_l = np.where(ok, special.chdtri(udf, 1.0 - alpha / 2.0)[inv], np.nan)
    q0 = _q(np.zeros(n), y0, v0, mf)
    low = np.where(ok, 0.0, np.nan)
    high = np.where(ok, 0.0, np.nan)
    conv = np.ones(n, dtype=bool)
    rows_hi = np.flatnonzero(ok & (q0 >= crit_l))
    rows_lo = np.flatnonzero(ok & (q0 >= crit_u))
    # both bounds in one lock-step search
    r, _, c = solve_q(
        y0, v0, mf, k, np.concatenate([crit_l[rows_hi], crit_u[rows_lo]]),
        np.concatenate([rows_hi, rows_lo]), tol, max_iter,
    )
    high[rows_hi] = r[: rows_hi.size]
    low[rows_lo] = r[rows_hi.size :]
    conv[rows_hi] &= c[: rows_hi.size]
    conv[rows_lo] &= c[rows_hi.size :]
    return QProfileInterval(low, high, conv)
