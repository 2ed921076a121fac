"""Between-study variance (tau^2) kernels, batch-shaped, in pure NumPy.

Every kernel takes effect sizes ``y`` and sampling variances ``v`` of shape
``(n, k)`` together with a boolean ``mask`` of the same shape marking the
studies present in each of the ``n`` analyses.  Absent entries may hold any
value (NaN included) and never affect a result.  Each kernel returns one tau^2
per analysis row, shape ``(n,)``; the iterative ones return an
:class:`IterativeFit` with the iteration count and a per-row convergence flag,
and leave the decision of what to do on non-convergence to the caller
(:mod:`evidence.pooling` warns and falls back to DL).

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

from collections.abc import Callable

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
#: Maximum number of Fisher-scoring steps or root-bracketing steps.
DEFAULT_MAX_ITER: int = 1000
#: Fisher-scoring steps for ML/REML before a row still moving is solved by
#: bracketing the score equation (metafor's default ``maxiter`` is 100).
SCORING_STEPS: int = 100

#: metafor's ``ll0check`` tolerance (``.Machine$double.eps^0.25``): a converged
#: ML/REML tau^2 > 0 whose log-likelihood is worse than at tau^2 = 0 by more than
#: this is replaced by 0.
_LL0_TOL: float = float(np.finfo(float).eps ** 0.25)


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


def _vbar(v0: NDArray[np.float64], mf: NDArray[np.float64], k: NDArray[np.int64]) -> NDArray[np.float64]:
    """Mean sampling variance per row: the scale of the convergence tolerance."""
    return (v0 * mf).sum(axis=1) / np.maximum(k, 1)


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
# Fisher scoring: REML and ML
# ---------------------------------------------------------------------------


def _loglik(
    tau2: NDArray[np.float64],
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    reml: bool,
) -> NDArray[np.float64]:
    """(Restricted) log-likelihood of the intercept-only model (metafor ``rma.uni``)."""
    w, sw, r = _wsums(tau2, y0, v0, mf)
    rss = (w * r * r).sum(axis=1)
    logdet = (np.log(v0 + tau2[:, None]) * mf).sum(axis=1)
    if reml:
        return -0.5 * (k - 1) * np.log(2 * np.pi) - 0.5 * logdet - 0.5 * np.log(sw) - 0.5 * rss
    return -0.5 * k * np.log(2 * np.pi) - 0.5 * logdet - 0.5 * rss


def _fisher_scoring(
    y: ArrayLike,
    v: ArrayLike,
    mask: ArrayLike | None,
    reml: bool,
    tol: float,
    max_iter: int,
) -> IterativeFit:
    y0, v0, mf, k = _prepare(y, v, mask)
    n = y0.shape[0]
    name = "REML" if reml else "ML"
    # metafor: starting value max(0, HE)
    tau2 = np.maximum(0.0, np.nan_to_num(_he_raw(y0, v0, mf, k), nan=0.0))
    tau2[k <= 1] = 0.0
    scale = _vbar(v0, mf, k)
    n_iter = np.zeros(n, dtype=np.int64)
    converged = k <= 1
    # Fisher scoring either converges within metafor's default of 100 steps or
    # oscillates; rows still moving after that are solved by bracketing below.
    scoring_budget = min(max_iter, SCORING_STEPS)
    active = np.flatnonzero(~converged)
    while active.size:
        t = tau2[active]
        yy, vv, mm = y0[active], v0[active], mf[active]
        w, sw, r = _wsums(t, yy, vv, mm)
        w2 = w * w
        s2 = w2.sum(axis=1)
        ypp = (w2 * r * r).sum(axis=1)  # Y'PPY
        if reml:
            s3 = (w2 * w).sum(axis=1)
            trp = sw - s2 / sw
            trpp = s2 - 2.0 * s3 / sw + (s2 / sw) ** 2
            adj = (ypp - trp) / trpp
        else:
            adj = (ypp - sw) / s2
        adj = np.where(np.isnan(adj), 0.0, adj)
        # metafor: while (tau2 + adj < tau2.min) adj <- adj/2 -- at tau2 = 0 that
        # halves a negative step until it underflows to -0, i.e. a step of 0.
        adj = np.where((t == 0.0) & (adj < 0.0), 0.0, adj)
        bad = t + adj < 0.0
        while bad.any():
            adj[bad] = adj[bad] / 2.0
            bad = t + adj < 0.0
        new = t + adj
        n_iter[active] += 1
        tau2[active] = new
        done = np.abs(adj) <= tol * (new + scale[active])
        converged[active[done]] = True
        still = ~done & (n_iter[active] < scoring_budget)
        active = active[still]
    tau2 = np.maximum(tau2, 0.0)
    # Fisher scoring can oscillate without settling (metafor then stops with an
    # error).  Those rows are solved on the score equation itself by bracketing,
    # so the answer is still the ML/REML estimate, to the same tolerance.
    stuck_rows = np.flatnonzero(~converged & (k > 1))
    if stuck_rows.size:
        t_b, it_b, conv_b = _score_root(y0, v0, mf, k, tau2, stuck_rows, reml, tol, max_iter)
        tau2[stuck_rows] = np.where(conv_b, t_b, tau2[stuck_rows])
        n_iter[stuck_rows] += it_b
        converged[stuck_rows] = conv_b
    # metafor's ll0check: a tau2 > 0 worse than tau2 = 0 is replaced by 0.
    cand = np.flatnonzero(converged & (tau2 > 0.0) & (k > 1))
    if cand.size:
        ll = _loglik(tau2[cand], y0[cand], v0[cand], mf[cand], k[cand], reml)
        ll0 = _loglik(np.zeros(cand.size), y0[cand], v0[cand], mf[cand], k[cand], reml)
        stuck = cand[(ll0 - ll) > _LL0_TOL]
        if stuck.size:
            warnings.warn(
                f"{name} Fisher scoring may have stopped at a local maximum for analysis row(s) "
                f"{_rows(stuck)}: the likelihood is higher at tau2 = 0, so tau2 was set to 0 "
                f"(as metafor does).",
                ConvergenceWarning,
                stacklevel=3,
            )
            tau2[stuck] = 0.0
    return IterativeFit(tau2, n_iter, converged)


def _score(
    tau2: NDArray[np.float64],
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    reml: bool,
) -> NDArray[np.float64]:
    """Twice the derivative of the (restricted) log-likelihood in tau^2.

    ``Y'PPY - tr(P)`` for REML and ``Y'PPY - tr(W)`` for ML (Viechtbauer 2005,
    J Educ Behav Stat 30:261, eqs. 9 and 13); positive below the estimate.
    """
    w, sw, r = _wsums(tau2, y0, v0, mf)
    w2 = w * w
    s2 = w2.sum(axis=1)
    ypp = (w2 * r * r).sum(axis=1)
    return ypp - (sw - s2 / sw) if reml else ypp - sw


def _score_root(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    start: NDArray[np.float64],
    rows: NDArray[np.int64],
    reml: bool,
    tol: float,
    max_iter: int,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """Solve the ML/REML score equation by bracketing, for rows where Fisher scoring failed.

    A row whose score at 0 is not positive has its maximum on the boundary
    (tau2 = 0).  Otherwise the upper end of the bracket is found by widening
    from ``max(start, mean(v))`` until the score is negative, and
    :func:`_illinois` narrows ``[0, upper]``.
    """
    yy, vv, mm, kk = y0[rows], v0[rows], mf[rows], k[rows]
    m = rows.size
    scale = _vbar(vv, mm, kk)

    def fun(t: NDArray[np.float64], idx: NDArray[np.int64]) -> NDArray[np.float64]:
        return _score(t, yy[idx], vv[idx], mm[idx], reml)

    every = np.arange(m)
    lo = np.zeros(m)
    flo = fun(lo, every)
    hi = np.maximum(start[rows], scale) * 2.0
    fhi = fun(hi, every)
    widen = 0
    while (fhi > 0).any() and widen < 200:
        up = fhi > 0
        hi[up] *= 4.0
        fhi[up] = fun(hi[up], every[up])
        widen += 1
    boundary = flo <= 0.0
    root = np.zeros(m)
    n_iter = np.full(m, widen, dtype=np.int64)
    conv = boundary.copy()
    inner = np.flatnonzero(~boundary & (fhi <= 0.0))
    if inner.size:
        r, it, c = _illinois(
            lambda t, idx: fun(t, inner[idx]),
            lo[inner], hi[inner], flo[inner], fhi[inner], scale[inner], tol, max_iter,
        )
        root[inner], conv[inner] = r, c
        n_iter[inner] += it
    return root, n_iter, conv


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
    """Restricted maximum-likelihood estimator by Fisher scoring, as metafor.

    Starting from ``max(0, HE)``, iterate
    ``tau2 <- tau2 + (Y'PPY - tr(P)) / tr(PP)`` (Viechtbauer 2005 [1]_, Fisher scoring for REML),
    halving a step while it would make tau2 negative, until the change is at
    most ``tol * (tau2 + mean(v))``; finally apply metafor's ``ll0check``
    (tau2 set to 0, with a :class:`~evidence.exceptions.ConvergenceWarning`, if
    the restricted likelihood is higher at 0).  metafor ``rma.uni(method="REML")``.

    Rows on which Fisher scoring has not converged after ``min(max_iter, SCORING_STEPS)`` steps
    (it can oscillate; metafor then stops with an error and suggests
    ``stepadj``) are solved on the score equation ``Y'PPY = tr(P)`` by
    bracketing, to the same tolerance; ``n_iter`` counts both kinds of step.
    Rows where that fails too keep their last iterate and ``converged = False``.

    Examples
    --------
    >>> fit = reml([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])
    >>> bool(fit.converged[0]), round(float(fit.tau2[0]), 6)
    (True, 0.01719)
    """
    return _fisher_scoring(y, v, mask, True, tol, max_iter)


def ml(
    y: ArrayLike,
    v: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> IterativeFit:
    """Maximum-likelihood estimator by Fisher scoring, as metafor.

    As :func:`reml` with the step ``(Y'PPY - s_1) / s_2`` (Viechtbauer 2005
    [1]_); metafor ``rma.uni(method="ML")``.

    Examples
    --------
    >>> fit = ml([[0.1, 0.3, 0.5]], [[0.01, 0.02, 0.04]])
    >>> bool(fit.converged[0]), round(float(fit.tau2[0]), 6)
    (True, 0.0031)
    """
    return _fisher_scoring(y, v, mask, False, tol, max_iter)


# ---------------------------------------------------------------------------
# root finding on the generalized Q statistic: PM, EB, Q-profile CI
# ---------------------------------------------------------------------------


def _illinois(
    fun: Callable[[NDArray[np.float64], NDArray[np.int64]], NDArray[np.float64]],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    flo: NDArray[np.float64],
    fhi: NDArray[np.float64],
    scale: NDArray[np.float64],
    tol: float,
    max_iter: int,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """Find a root of a decreasing-through-zero function in ``[lo, hi]``, all rows in lock-step.

    ``fun(t, idx)`` evaluates the function at ``t`` for the rows ``idx``; the
    caller guarantees ``flo >= 0 >= fhi``.  The bracket is narrowed with the
    Illinois variant of regula falsi (Dowell & Jarratt 1971), falling back to
    bisection when the interpolant leaves the bracket, until its width is at
    most ``tol * (root + scale)``; the answer is the secant point of the final
    bracket.  (``scipy.optimize.brentq`` solves one scalar equation per call;
    this runs all rows at once.)
    """
    m = lo.size
    lo, hi, glo, ghi = lo.copy(), hi.copy(), flo.copy(), fhi.copy()
    root = np.zeros(m)
    n_iter = np.zeros(m, dtype=np.int64)
    conv = np.zeros(m, dtype=bool)
    exact = flo == 0.0
    conv[exact] = True
    root[exact] = lo[exact]
    exact_hi = (fhi == 0.0) & ~conv
    conv[exact_hi] = True
    root[exact_hi] = hi[exact_hi]
    side = np.zeros(m, dtype=np.int8)
    act = np.flatnonzero(~conv)
    while act.size:
        a, b, ga, gb = lo[act], hi[act], glo[act], ghi[act]
        with np.errstate(divide="ignore", invalid="ignore"):
            c = (a * gb - b * ga) / (gb - ga)
        outside = ~((c > a) & (c < b)) | ~np.isfinite(c)
        c = np.where(outside, 0.5 * (a + b), c)
        fc = fun(c, act)
        n_iter[act] += 1
        pos = fc > 0.0
        neg = fc < 0.0
        s = side[act]
        # root lies above c: move lo
        i = act[pos]
        lo[i] = c[pos]
        glo[i] = fc[pos]
        ghi[i] = np.where(s[pos] == 1, ghi[i] / 2.0, ghi[i])
        side[i] = 1
        # root lies below c: move hi
        j = act[neg]
        hi[j] = c[neg]
        ghi[j] = fc[neg]
        glo[j] = np.where(s[neg] == -1, glo[j] / 2.0, glo[j])
        side[j] = -1
        zero = ~pos & ~neg
        lo[act[zero]] = c[zero]
        hi[act[zero]] = c[zero]
        root[act] = c
        width = hi[act] - lo[act]
        done = zero | (width <= tol * (c + scale[act]))
        conv[act[done]] = True
        # final answer: secant point of the final bracket (the root to within tol)
        fin = act[done & ~zero]
        if fin.size:
            f_lo = fun(lo[fin], fin)
            f_hi = fun(hi[fin], fin)
            with np.errstate(divide="ignore", invalid="ignore"):
                cs = (lo[fin] * f_hi - hi[fin] * f_lo) / (f_hi - f_lo)
            ok = np.isfinite(cs) & (cs >= lo[fin]) & (cs <= hi[fin])
            root[fin] = np.where(ok, cs, 0.5 * (lo[fin] + hi[fin]))
        act = act[~done & (n_iter[act] < max_iter)]
    return root, n_iter, conv


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
    """Solve ``Q(tau2) = target`` for the given rows, all in lock-step.

    The caller guarantees ``Q(0) >= target > 0`` on these rows.  ``Q`` decreases
    in tau2 and ``Q(t) <= SS/t`` with ``SS = sum (y_i - ybar)^2`` (because
    ``w_i <= 1/t`` and the weighted mean minimises the weighted sum of
    squares), so ``[0, SS/target]`` always brackets the root, which
    :func:`_illinois` then narrows.
    """
    m = rows.size
    if m == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    yy, vv, mm, kk, tg = y0[rows], v0[rows], mf[rows], k[rows], target[rows]
    scale = _vbar(vv, mm, kk)
    ybar = yy.sum(axis=1) / kk
    ss = (((yy - ybar[:, None]) * mm) ** 2).sum(axis=1)
    lo = np.zeros(m)
    hi = ss / tg

    def fun(t: NDArray[np.float64], idx: NDArray[np.int64]) -> NDArray[np.float64]:
        return _q(t, yy[idx], vv[idx], mm[idx]) - tg[idx]

    flo = fun(lo, np.arange(m))  # >= 0
    fhi = fun(hi, np.arange(m))  # <= 0
    return _illinois(fun, lo, hi, flo, fhi, scale, tol, max_iter)


def _q_root_estimator(
    y: ArrayLike, v: ArrayLike, mask: ArrayLike | None, tol: float, max_iter: int
) -> IterativeFit:
    y0, v0, mf, k = _prepare(y, v, mask)
    n = y0.shape[0]
    target = (k - 1).astype(np.float64)
    q0 = _q(np.zeros(n), y0, v0, mf)
    tau2 = np.zeros(n)
    n_iter = np.zeros(n, dtype=np.int64)
    converged = np.ones(n, dtype=bool)
    # metafor: if Q(tau2.min) < k - p then tau2 <- tau2.min (no root above 0)
    rows = np.flatnonzero((k > 1) & (q0 >= target))
    root, it, conv = _solve_q(y0, v0, mf, k, target, rows, tol, max_iter)
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
    return _q_root_estimator(y, v, mask, tol, max_iter)


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
    return _q_root_estimator(y, v, mask, tol, max_iter)


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
    closed = {"DL": dl, "HE": he, "HS": hs, "SJ": sj}
    iterative = {"REML": reml, "ML": ml, "PM": pm, "EB": eb}
    if method == "FE":
        n = np.atleast_2d(np.asarray(y)).shape[0]
        return IterativeFit(np.zeros(n), np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool))
    if method in closed:
        t = closed[method](y, v, mask)
        return IterativeFit(t, np.zeros(t.shape[0], dtype=np.int64), np.ones(t.shape[0], dtype=bool))
    if method in iterative:
        return iterative[method](y, v, mask, tol=tol, max_iter=max_iter)
    check_choice("method", method, POOLING_METHODS)
    raise AssertionError("unreachable")  # pragma: no cover


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
    y0, v0, mf, k = _prepare(y, v, mask)
    n = y0.shape[0]
    df = (k - 1).astype(np.float64)
    ok = k > 1
    with np.errstate(invalid="ignore"):
        crit_u = np.where(ok, stats.chi2.isf(alpha / 2.0, np.maximum(df, 1.0)), np.nan)
        crit_l = np.where(ok, stats.chi2.ppf(alpha / 2.0, np.maximum(df, 1.0)), np.nan)
    q0 = _q(np.zeros(n), y0, v0, mf)
    low = np.where(ok, 0.0, np.nan)
    high = np.where(ok, 0.0, np.nan)
    conv = np.ones(n, dtype=bool)
    rows_hi = np.flatnonzero(ok & (q0 >= crit_l))
    r, _, c = _solve_q(y0, v0, mf, k, crit_l, rows_hi, tol, max_iter)
    high[rows_hi] = r
    conv[rows_hi] &= c
    rows_lo = np.flatnonzero(ok & (q0 >= crit_u))
    r, _, c = _solve_q(y0, v0, mf, k, crit_u, rows_lo, tol, max_iter)
    low[rows_lo] = r
    conv[rows_lo] &= c
    return QProfileInterval(low, high, conv)
