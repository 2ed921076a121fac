"""The one fitting engine of the package: weighted least squares, the ML/REML driver,
heterogeneity and Wald tests, for intercept-only and moderator models alike.

Every fit of :mod:`evidence` -- pooling, meta-regression, case deletion, GOSH,
the small-study regressions, subgroup comparisons -- goes through the names
below.  They are public within the package (no leading underscore) and private
to it (the module is ``evidence._engine``): users call the front doors in
:mod:`evidence.pooling`, :mod:`evidence.metareg` and the toolkit modules.

Arrays are batch-shaped as in :mod:`evidence.tau2`: effect sizes ``y0`` and
variances ``v0`` of shape ``(n, k)`` with absent entries neutralised
(``y = 0``, ``v = 1``) and a float mask ``mf`` (1 present, 0 absent); a model
matrix ``X`` is ``(k, p)`` (shared) or ``(n, k, p)``, and ``X = None`` means
the intercept-only model, for which every matrix expression of metafor's
``rma.uni`` reduces to sums over the studies (no ``p x p`` algebra).

Non-convergence policy (the same for every iterative fit of the package): the
ML/REML driver and the root searches keep a bracket of the solution, so they
stop within ``tol`` in a few steps; a row still moving after ``max_iter`` steps
keeps its last iterate (inside the bracket found so far), is flagged
``converged = False`` and triggers one :class:`~evidence.exceptions.ConvergenceWarning`
naming the estimator, ``max_iter`` and ``tol`` (see :func:`warn_not_converged`).
There is no fallback to another estimator.

References
----------
.. [1] Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance
   estimators in the random-effects model. *J Educ Behav Stat* 30(3), 261-293
   (eqs. 14 and 16: ML and REML scoring).
.. [2] Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity
   in a meta-analysis. *Stat Med* 21(11), 1539-1558 (I^2, H^2).
.. [3] Raudenbush, S. W. (2009). Analyzing effect sizes: random-effects models.
   In *The Handbook of Research Synthesis and Meta-Analysis* (2nd ed.), ch. 16
   (pseudo-R^2).
.. [4] metafor 3.8-1 ``rma.uni()`` (W. Viechtbauer): model fitting, ``ll0check``,
   ``QE``, ``I2``/``H2`` with ``i2def = "1"``, ``R2``, Wald and Knapp-Hartung tests.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special

from evidence._validation import (
    as_float_array,
    check_finite,
    check_positive_variances,
    check_same_index,
    check_same_length,
)
from evidence.exceptions import ConvergenceWarning
from evidence.results import StudyLabels

__all__ = [
    "DEFAULT_TOL",
    "DEFAULT_MAX_ITER",
    "LL0_TOL",
    "prepare",
    "check_effects",
    "study_labels",
    "read_only",
    "rows_text",
    "take",
    "xtdx",
    "xtd",
    "xb",
    "inv_stack",
    "wls",
    "trace_p",
    "he_start",
    "ols_rss",
    "generalized_q",
    "likelihood_root",
    "likelihood_root_single",
    "Ops",
    "BATCH",
    "SCALAR",
    "score_parts",
    "ll0_gain",
    "quadratic_done",
    "warn_ll0",
    "warn_not_converged",
    "heterogeneity",
    "i2_h2",
    "r2_percent",
    "wald",
    "critical",
    "norm_isf",
    "chi2_sf",
]

#: Convergence tolerance of every iterative estimator: iteration stops when the
#: change in tau^2 (or the width of the root bracket) is at most
#: ``DEFAULT_TOL * (tau2 + mean(v))``, i.e. 1e-12 relative to the scale of the
#: marginal variance.  (metafor's default ``threshold`` is an absolute 1e-5.)
DEFAULT_TOL: float = 1e-12
#: Maximum number of steps of an iterative estimator (ML/REML iteration, root search).
DEFAULT_MAX_ITER: int = 1000
#: metafor's ``ll0check`` tolerance (``.Machine$double.eps^0.25``): a converged
#: ML/REML tau^2 > 0 whose log-likelihood is worse than at tau^2 = 0 by more than
#: this is replaced by 0.
LL0_TOL: float = float(np.finfo(float).eps ** 0.25)
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
#: A Newton iterate counts as converged when its predicted next step is below this
#: fraction of the tolerance (see :func:`quadratic_done`).
_QUADRATIC_MARGIN: float = 0.01
_EPS: float = float(np.finfo(float).eps)

F = NDArray[np.float64]


class Ops(NamedTuple):
    """The elementwise and per-row operations an iteration step is written in.

    One step function serves a batch of rows (:data:`BATCH`: NumPy ufuncs over
    arrays of shape ``(n,)`` and per-row sums over ``(n, k)``) and a single fit
    (:data:`SCALAR`: Python's ``max``/``min``/``abs`` and a conditional on
    scalars, dot products of 1-D arrays), so the safeguarded steps are
    written once while a single fit pays no per-call overhead of array
    machinery on one-element arrays.  The single-fit drivers turn the sums
    into Python floats (``real``), whose arithmetic costs a fraction of NumPy
    scalars'; ``div`` then gives NumPy's inf/NaN for a division by zero instead
    of raising, so both paths take the same steps.
    """

    where: Callable[..., Any]
    maximum: Callable[..., Any]
    minimum: Callable[..., Any]
    isfinite: Callable[..., Any]
    abs: Callable[..., Any]
    not_: Callable[..., Any]
    dot: Callable[..., Any]  # per-row sum of a * b
    total: Callable[..., Any]  # per-row sum
    col: Callable[..., Any]  # a per-row value as a column that broadcasts over the studies
    div: Callable[..., Any]  # a / b, inf or NaN where b = 0 (as NumPy under np.errstate)
    real: Callable[..., Any]  # a per-row sum as the type of the steps (Python float for one fit)


def _pick(cond: Any, a: Any, b: Any) -> Any:
    return a if cond else b


def _rowdot(a: F, b: F) -> F:
    return np.einsum("ij,ij->i", a, b)


def _rowsum(a: F) -> F:
    return a.sum(axis=1)


def _column(a: F) -> F:
    return a[:, None]


def _same(a: Any) -> Any:
    return a


def _divide(a: float, b: float) -> float:
    """``a / b`` of Python floats, giving what NumPy gives under ``np.errstate`` where ``b = 0``."""
    if b != 0.0:
        return a / b
    if a != a or a == 0.0:
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


#: Operations over a batch of rows.
BATCH = Ops(
    np.where, np.maximum, np.minimum, np.isfinite, np.abs, np.logical_not, _rowdot, _rowsum, _column, np.divide, _same
)
#: Operations of a single fit (NumPy float scalars and 1-D arrays of the studies).
SCALAR = Ops(_pick, max, min, math.isfinite, abs, operator.not_, np.dot, np.add.reduce, _same, _divide, float)


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------


def prepare(y: ArrayLike, v: ArrayLike, mask: ArrayLike | None) -> tuple[F, F, F, NDArray[np.int64]]:
    """Return y and v with absent entries neutralised, a float mask, and k per row.

    Absent entries get y = 0 and v = 1 so that no NaN or infinity can leak into
    a sum; the float mask (0/1) then removes them from every weighted sum.

    Examples
    --------
    >>> y0, v0, mf, k = prepare([[0.1, float("nan")]], [[0.01, float("nan")]], [[True, False]])
    >>> y0.tolist(), v0.tolist(), k.tolist()
    ([[0.1, 0.0]], [[0.01, 1.0]], [1])
    """
    ya = np.atleast_2d(np.asarray(y, dtype=np.float64))
    va = np.atleast_2d(np.asarray(v, dtype=np.float64))
    if ya.shape != va.shape:
        raise ValueError(f"y has shape {ya.shape} but v has shape {va.shape}; they must agree.")
    if mask is None:
        return ya, va, np.ones(ya.shape), np.full(ya.shape[0], ya.shape[1], dtype=np.int64)
    m = np.atleast_2d(np.asarray(mask, dtype=bool))
    if m.shape != ya.shape:
        raise ValueError(f"mask has shape {m.shape} but y has shape {ya.shape}; they must agree.")
    y0 = np.where(m, ya, 0.0)
    v0 = np.where(m, va, 1.0)
    k = m.sum(axis=1).astype(np.int64)
    return y0, v0, m.astype(np.float64), k


def check_effects(yi: ArrayLike, vi: ArrayLike, *, min_k: int = 1, what: str = "meta_analysis") -> tuple[F, F]:
    """``yi`` and ``vi`` as float arrays: equal length, finite, variances > 0, at least ``min_k`` studies.

    The one check of effect sizes and variances of every single-analysis
    function (pooling, meta-regression, comparing, sensitivity, small-study).

    Examples
    --------
    >>> check_effects([0.1, 0.2], [0.01, 0.02])[1].tolist()
    [0.01, 0.02]
    """
    check_same_index(yi=yi, vi=vi)
    y = as_float_array("yi", yi)
    v = as_float_array("vi", vi)
    k = check_same_length(yi=y, vi=v)
    if k < max(min_k, 1):
        raise ValueError(
            f"{what} needs at least {max(min_k, 1)} stud{'y' if max(min_k, 1) == 1 else 'ies'}; got yi with "
            f"{k} value{'s' if k != 1 else ''}" + (" (yi and vi are empty)." if k == 0 else ".")
        )
    check_finite("yi", y)
    check_positive_variances("vi", v)
    if k < min_k:
        raise ValueError(
            f"{what} needs at least {min_k} stud{'y' if min_k == 1 else 'ies'}; got yi with "
            f"{k} value{'s' if k != 1 else ''}."
        )
    return y, v


def study_labels(labels: Sequence[str] | None, k: int) -> Sequence[str]:
    """One label per study: ``labels`` as a tuple of str, or ``"Study 1"``, ... when None.

    Examples
    --------
    >>> study_labels(None, 2)[1], study_labels(["a", "b"], 2)
    ('Study 2', ('a', 'b'))
    """
    if labels is None:
        return StudyLabels(k)
    if isinstance(labels, str):
        raise TypeError(f"labels must be a sequence of {k} strings, not the single string {labels!r}.")
    labs = tuple(str(x) for x in labels)
    if len(labs) != k:
        raise ValueError(f"labels has {len(labs)} entries but there are {k} studies; give one label per study.")
    return labs


def read_only(a: ArrayLike) -> NDArray[Any]:
    """A read-only copy, so that a frozen result cannot be changed through its arrays.

    Examples
    --------
    >>> read_only([1.0, 2.0]).flags.writeable
    False
    """
    out = np.array(a, copy=True)
    out.setflags(write=False)
    return out


def rows_text(idx: NDArray[np.int64], limit: int = 10) -> str:
    """``"0, 3 and 2 more"``: analysis rows named in a message, at most ``limit`` of them."""
    shown = ", ".join(str(int(i)) for i in idx[:limit])
    return shown + (f" and {idx.size - limit} more" if idx.size > limit else "")


# ---------------------------------------------------------------------------
# weighted least squares, batch-shaped
# ---------------------------------------------------------------------------


@overload
def take(X: None, idx: Any) -> None: ...


@overload
def take(X: F, idx: Any) -> F: ...


def take(X: F | None, idx: Any) -> F | None:
    """Rows ``idx`` of a batched design; a shared design (or None) is returned as is."""
    return X if X is None or X.ndim == 2 else X[idx]


def xtdx(d: F, X: F) -> F:
    """``X' diag(d_n) X`` for each row n, shape (n, p, p) (a GEMM when X is shared)."""
    p = X.shape[-1]
    if X.ndim == 2:
        XX = (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], p * p)
        return (d @ XX).reshape(d.shape[0], p, p)
    return np.matmul(np.swapaxes(d[:, :, None] * X, 1, 2), X)


def xtd(d: F, X: F) -> F:
    """``X' d_n`` for each row n, shape (n, p)."""
    return d @ X if X.ndim == 2 else np.einsum("nkp,nk->np", X, d)


def xb(beta: F, X: F) -> F:
    """``X beta_n`` for each row n, shape (n, k)."""
    return beta @ X.T if X.ndim == 2 else np.einsum("nkp,np->nk", X, beta)


def inv_stack(A: F) -> tuple[F, NDArray[np.bool_]]:
    """Stacked inverse of ``(n, p, p)`` matrices; singular rows get NaN and ``ok = False``."""
    p = A.shape[-1]
    inv: Any
    if p == 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / A
        ok = np.isfinite(inv[:, 0, 0]) & (A[:, 0, 0] != 0)
    else:
        try:
            inv = np.linalg.inv(A)
            ok = np.isfinite(inv).all(axis=(1, 2))
        except np.linalg.LinAlgError:
            with np.errstate(divide="ignore", invalid="ignore"):
                cond = np.linalg.cond(A)
            ok = np.isfinite(cond) & (cond < 1e14)
            inv = np.linalg.inv(np.where(ok[:, None, None], A, np.eye(p)))
    inv = np.where(ok[:, None, None], inv, np.nan)
    return inv, ok


def wls(tau2: F, y0: F, v0: F, X: F, mf: F) -> tuple[F, F, F, F, NDArray[np.bool_]]:
    """Weighted least squares at ``tau2``: weights, ``(X'WX)^-1``, ``beta``, masked residuals, ``ok``.

    ``w = 1/(v + tau2)``, ``beta = (X'WX)^-1 X'Wy`` (metafor ``rma.uni``; the
    generalized least-squares estimator of Raudenbush 2009 [3]_).
    """
    w = mf / (v0 + tau2[:, None])
    Ainv, ok = inv_stack(xtdx(w, X))
    beta = np.einsum("nij,nj->ni", Ainv, xtd(w * y0, X))
    r = (y0 - xb(beta, X)) * mf
    return w, Ainv, beta, r, ok


def _tr(M: F, N: F) -> F:
    """``tr(M N)`` for stacked square matrices."""
    return np.einsum("nij,nji->n", M, N)


def trace_p(w: F, X: F | None, Ainv: F | None = None) -> F:
    """``tr(P) = sum w - tr(A^-1 X'W^2X)`` (``s_1 - s_2/s_1`` for the intercept-only model).

    Rows of ``(n, k)`` weights, or one fit's ``(k,)`` weights when ``X`` is None.
    """
    if X is None:
        s1 = w.sum(axis=-1)
        trp = s1 - (w * w).sum(axis=-1) / s1
        lost = trp <= 1e-6 * s1  # one weight dwarfs the others: s_1 - s_2/s_1 cancels
        if lost.any():
            # s_1 - s_2/s_1 = sum_i w_i (s_1 - w_i) / s_1, with s_1 - w_i summed over the
            # other studies (prefix minus own plus suffix sums), which does not cancel
            # (e.g. v = [1e-49, 1, 1], where the textbook form rounds to 0)
            before = np.cumsum(w, axis=-1) - w
            after = np.cumsum(w[..., ::-1], axis=-1)[..., ::-1] - w
            trp = np.where(lost, (w * (before + after)).sum(axis=-1) / s1, trp)
        return trp
    assert Ainv is not None
    return w.sum(axis=1) - _tr(Ainv, xtdx(w * w, X))


def generalized_q(tau2: Any, y0: F, v0: F, mf: Any, X: F | None, ops: Ops = BATCH) -> tuple[Any, Any]:
    """Generalized residual sum of squares ``Y'P(tau2)Y`` and ``tr(P)`` per row (or of one fit).

    ``Q(tau2)`` of the intercept-only model (``X = None``) or the residual ``Q_E(tau2)``
    of a meta-regression, as metafor's ``.QE.func``.
    """
    if X is None:
        w = mf / (v0 + ops.col(tau2))
        s1 = ops.total(w)
        r = y0 - ops.col(ops.dot(w, y0) / s1)
        return ops.dot(w * r, r), trace_p(w, None)
    w, Ainv, _, r, _ = wls(tau2, y0, v0, X, mf)
    return (w * r * r).sum(axis=1), trace_p(w, X, Ainv)


def ols_rss(y0: F, mf: F, X: F) -> tuple[F, F]:
    """Residual sum of squares of the unweighted fit of ``y`` on ``X`` per row, and ``(X'X)^-1``."""
    Ainv, _ = inv_stack(xtdx(mf, X))
    beta = np.einsum("nij,nj->ni", Ainv, xtd(mf * y0, X))
    r = (y0 - xb(beta, X)) * mf
    return (r * r).sum(axis=1), Ainv


def he_start(y0: F, v0: F, mf: F, k: NDArray[np.int64], X: F | None = None) -> F:
    """Hedges' estimator before truncation, ``(RSS_ols - tr(P_ols V)) / (k - p)`` (metafor's ML/REML start)."""
    if X is None:
        kk = np.maximum(k, 1)
        ybar = y0.sum(axis=1) / kk
        rss = (((y0 - ybar[:, None]) * mf) ** 2).sum(axis=1)
        trpv = (v0 * mf).sum(axis=1) * (k - 1) / kk
        p = 1
    else:
        rss, Ainv = ols_rss(y0, mf, X)
        trpv = (v0 * mf).sum(axis=1) - _tr(Ainv, xtdx(mf * v0, X))
        p = X.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return (rss - trpv) / (k - p)


# ---------------------------------------------------------------------------
# the ML/REML driver
# ---------------------------------------------------------------------------


def score_parts(t: Any, Y: F, V: F, M: Any, X: F | None, reml: bool, ops: Ops = BATCH) -> tuple[Any, Any, Any]:
    """Score ``S``, its derivative ``S'`` and the Fisher information ``I`` at ``t`` (one per row).

    With ``P = W - W X A^-1 X'W`` (``A = X'WX``) and ``u = P y``:
    ``S = Y'PPY - T`` with ``T = tr(P)`` (REML) or ``sum w`` (ML);
    ``I = tr(PP)`` (REML) or ``sum w^2`` (ML), metafor's scoring denominator
    (Viechtbauer 2005 [1]_, eqs. 14, 16); since ``dP/dt = -PP``,
    ``S' = -2 Y'PPPY + I`` with ``Y'PPPY = sum w u^2 - u'WX A^-1 X'Wu``.  For the
    intercept-only model (``X = None``) these are sums:
    ``tr(P) = s_1 - s_2/s_1``, ``tr(PP) = s_2 - 2 s_3/s_1 + (s_2/s_1)^2``.
    """
    es = np.einsum
    w = M / (V + ops.col(t))
    if X is None:
        dot = ops.dot
        s1 = ops.total(w)
        mu = dot(w, Y) / s1
        u = w * (Y - ops.col(mu))
        wu = w * u
        a = ops.total(wu)
        yppp = dot(wu, u) - a * a / s1
        ww = w * w
        s2 = ops.total(ww)
        if reml:
            q = s2 / s1
            T = s1 - q
            info = s2 - 2.0 * dot(ww, w) / s1 + q * q
        else:
            T, info = s1, s2
        ypp = dot(u, u)
    else:
        _, Ainv, _, r, _ = wls(t, Y, V, X, M)
        u = w * r
        xu = xtd(w * u, X)
        yppp = (w * u * u).sum(axis=1) - es("ni,nij,nj->n", xu, Ainv, xu)
        w2 = w * w
        if reml:
            C = np.matmul(Ainv, xtdx(w2, X))
            T = w.sum(axis=1) - es("nii->n", C)
            info = w2.sum(axis=1) - 2.0 * _tr(Ainv, xtdx(w2 * w, X)) + _tr(C, C)
        else:
            T, info = w.sum(axis=1), w2.sum(axis=1)
        ypp = es("ij,ij->i", u, u)
    return ypp - T, info - 2.0 * yppp, info


def _safeguarded_step(
    t: Any, S: Any, dS: Any, info: Any, lo: Any, hi: Any, sc: Any, vmin: Any, tol: float, ops: Ops = BATCH
) -> tuple[Any, Any, Any, Any]:
    """One step of the ML/REML iteration (:func:`likelihood_root`, :func:`likelihood_root_single`).

    ``S``, ``dS`` and ``info`` are the score, its derivative and the Fisher
    information at the iterates ``t``; ``lo`` (``-1``: none yet) and ``hi``
    (``inf``: none yet) are the nearest iterates so far with ``S > 0`` and
    ``S < 0``; ``sc = tol * mean(v)`` and ``vmin = min(v)`` per row.  Returns
    the next iterates, the updated ``lo`` and ``hi``, and which rows have
    converged (a change, or a bracket, of at most ``tol * t + sc``).  Called
    under ``np.errstate(all="ignore")`` (a division by a zero derivative gives
    an infinite step, which is then not taken).
    """
    W, nt = ops.where, ops.not_
    pos = S > 0.0
    neg = S < 0.0
    lo = W(pos, t, lo)
    hi = W(neg, t, hi)
    inside = (lo >= 0.0) & (hi < np.inf)
    falling = dS < 0.0
    step = t + W(falling, ops.div(-S, dS), ops.div(S, info))  # Newton where S is decreasing
    # Outside a bracket, move in the direction of the score.  Where S' >= 0 a
    # scoring step downwards can creep (S is further below 0 lower down): go down
    # by at least half, as metafor's step halving does near 0.  A step down shrinks
    # tau2 by at most _MAX_SHRINK, so an interior maximum below is not stepped over,
    # and once below _ZERO_SNAP * mean(v) the iterate goes to 0 (where the score is
    # evaluated next: a positive score there brackets a maximum close to 0).
    free = W(neg & nt(falling), ops.minimum(step, 0.5 * t), step)
    # likewise upwards (S > 0 growing with t): at least double t plus a tenth of
    # mean(v); a step past the maximum only brackets it
    free = W(pos & nt(falling), ops.maximum(step, 2.0 * t + 0.1 * sc / tol), free)
    free = W(neg, ops.maximum(free, t / _MAX_SHRINK), free)
    free = W(neg & (free <= _ZERO_SNAP / tol * sc), 0.0, free)
    # S < 0 and growing at t, with t small against every v_i (S nearly linear on
    # [0, t]): the score stays negative down to 0, where it is evaluated next
    free = W(neg & nt(falling) & (t <= _NEAR_ZERO * vmin), 0.0, free)
    # inside the bracket: the step if it stays inside, else bisection
    bisect = nt((step > lo) & (step < hi))
    new = W(inside, W(bisect, 0.5 * (lo + hi), step), free)
    new = W(ops.isfinite(new) & nt(S == 0.0), new, t)
    new = ops.maximum(new, 0.0)
    thr = tol * new + sc
    done = (ops.abs(new - t) <= thr) | (inside & (hi - lo <= thr))
    return new, lo, hi, done


def quadratic_done(step: Any, prev: Any, thr: Any, ops: Ops = BATCH) -> Any:
    """Whether a Newton step makes the next one negligible, saving the confirming step.

    Near a simple root Newton's steps shrink quadratically, ``s_{n+1} ~ C s_n^2``;
    estimating ``C`` from the last two steps (``s_n / s_{n-1}^2``) predicts
    ``s_{n+1} ~ s_n^3 / s_{n-1}^2``.  The iterate is accepted when the steps are
    shrinking and that prediction is below ``_QUADRATIC_MARGIN * thr``.
    """
    ratio = ops.div(step, prev)  # under np.errstate(all="ignore") (prev may be 0 or inf)
    pred = step * ratio * ratio
    return ops.isfinite(prev) & (step < 0.5 * prev) & (pred <= _QUADRATIC_MARGIN * thr)


def likelihood_root(
    y0: F,
    v0: F,
    mf: F,
    k: NDArray[np.int64],
    reml: bool,
    tol: float,
    max_iter: int,
    X: F | None = None,
    start: F | None = None,
    ll0check: bool = True,
) -> tuple[F, NDArray[np.int64], NDArray[np.bool_], NDArray[np.int64]]:
    """The ML/REML tau^2 that metafor's Fisher scoring reaches, by a safeguarded Newton iteration.

    The one ML/REML driver of the package, for the intercept-only model
    (``X = None``) and for meta-regression (``X`` of shape ``(k, p)`` or
    ``(n, k, p)``).  The restricted (or full) likelihood can have two local
    maxima, one at 0 and one inside.  metafor's answer is the one its Fisher
    scoring ``t <- t + S/I`` reaches from ``max(0, HE)``, followed by its
    ``ll0check``; this driver returns that same local maximum:

    1. From ``start`` (default metafor's ``max(0, HE)``), iterates move in the
       direction of the score ``S`` -- Newton steps on ``G = S (t + c)^2`` with
       ``c = mean(v)``, i.e. ``-S / (S' + 2 S/(t + c))``, where that denominator is
       negative (``G`` is linear in t when all ``v_i`` are equal, so these steps
       are nearly exact), Fisher-scoring steps ``S/I`` otherwise -- until one
       iterate with ``S > 0`` and one with ``S < 0`` bracket a root of S.  Going
       down, a step shrinks tau2 by at least half where scoring would creep
       (``S' >= 0``) and by at most a factor :data:`_MAX_SHRINK`, so an interior
       maximum below is met, not stepped over; the boundary 0 is reached only
       when the score stays negative all the way down.  Going up where scoring
       would creep, t at least doubles (plus ``mean(v)/10``).
    2. Inside the bracket ``[lo, hi]`` (``S(lo) > 0 > S(hi)``): the same Newton
       steps, bisection whenever a step would leave the bracket.  Convergence is
       quadratic, including where metafor's scoring oscillates without converging
       (its remedy ``stepadj < 1`` converges to the same root).
    3. metafor's ``ll0check``: a ``tau2 > 0`` whose (restricted) log-likelihood is
       below that at 0 by more than ``eps^0.25`` is replaced by 0.

    A row stops when the change of tau2, or the bracket, is at most
    ``tol * (tau2 + mean(v))``, or when a Newton step makes the next one
    negligible (:func:`quadratic_done`); rows with ``k <= p`` are 0 without
    iterating.  Finished rows leave the lock-step working set once a third of it
    has finished.

    Returns
    -------
    tau2, n_iter, converged
        Per row; ``tau2`` is the last iterate where a row did not converge.
    ll0_rows
        Rows that the ``ll0check`` set to 0 (the caller decides whether to warn).
    """
    n = y0.shape[0]
    p = 1 if X is None else X.shape[-1]
    if start is None:  # metafor's starting value
        start = he_start(y0, v0, mf, k, X)
    tau2 = np.maximum(0.0, np.nan_to_num(np.asarray(start, dtype=np.float64), nan=0.0))
    settled = k <= p
    tau2[settled] = 0.0
    n_iter = np.zeros(n, dtype=np.int64)
    converged = settled.copy()
    idx = np.flatnonzero(~settled)
    Y, V, M, XX = y0[idx], v0[idx], mf[idx], take(X, idx)
    t = tau2[idx]
    cv = (V * M).sum(axis=1) / k[idx]
    sc = cv * tol
    vmin = np.where(M > 0, V, np.inf).min(axis=1)
    lo = np.full(idx.size, -1.0)  # largest iterate with S > 0 (-1: none yet)
    hi = np.full(idx.size, np.inf)  # smallest iterate with S < 0
    live = np.ones(idx.size, dtype=bool)  # rows of the working set still iterating
    prev = np.full(idx.size, np.inf)  # size of the previous step
    it = 0
    with np.errstate(all="ignore"):  # a zero derivative gives an infinite step, not taken
        while idx.size and it < max_iter:
            it += 1
            S, dS, info = score_parts(t, Y, V, M, XX, reml)
            dS = dS + 2.0 * S / (t + cv)  # derivative of S (t + cv)^2 over (t + cv)^2
            new, lo, hi, done = _safeguarded_step(t, S, dS, info, lo, hi, sc, vmin, tol)
            step = np.abs(new - t)
            newton = (dS < 0.0) & (new == t - S / dS)  # a plain Newton step was taken
            done |= newton & quadratic_done(step, prev, tol * new + sc)
            prev = step
            t = np.where(live, new, t)
            done &= live
            if done.any():
                fin = idx[done]
                tau2[fin] = t[done]
                n_iter[fin] = it
                converged[fin] = True
                live &= ~done
                # drop finished rows from the working set once a third of it has finished
                # (copying the arrays every step would cost more than the idle rows)
                if live.sum() <= 0.7 * live.size:
                    idx, Y, V, M, XX, t, sc, cv, vmin, lo, hi, prev = (
                        idx[live], Y[live], V[live], M[live], take(XX, live), t[live], sc[live], cv[live],
                        vmin[live], lo[live], hi[live], prev[live],
                    )
                    live = np.ones(idx.size, dtype=bool)
    tau2[idx[live]] = t[live]
    n_iter[idx[live]] = it
    # metafor's ll0check: a tau2 > 0 whose likelihood is below that at 0 is replaced by 0.
    cand = np.flatnonzero(converged & (tau2 > 0.0))
    ll0_rows = cand[:0]
    if cand.size and ll0check:
        gain = ll0_gain(tau2[cand], y0[cand], v0[cand], mf[cand], take(X, cand), reml)
        ll0_rows = cand[gain > LL0_TOL]
        tau2[ll0_rows] = 0.0
    return tau2, n_iter, converged, ll0_rows


def likelihood_root_single(
    y: F, v: F, reml: bool, tol: float, max_iter: int, start: float | None = None
) -> tuple[float, int, bool, bool]:
    """:func:`likelihood_root` for one analysis with every study present, without batch overhead.

    The same steps (:func:`_safeguarded_step`, :func:`quadratic_done` and
    :func:`ll0_gain` with the :data:`SCALAR` operations), so the same iterates
    and the same answer; returns ``tau2``, ``n_iter``, ``converged`` and whether
    the ``ll0check`` set tau2 to 0.
    """
    k = y.size
    if k <= 1:
        return 0.0, 0, True, False
    if start is None:
        ybar = np.add.reduce(y) / k
        d = y - ybar
        start = (np.dot(d, d) - np.add.reduce(v) * (k - 1) / k) / (k - 1)  # metafor's HE start
    # Python floats: the scalar steps cost a fraction of NumPy scalar arithmetic (ops.div keeps
    # NumPy's inf/NaN for a division by zero)
    t = float(start) if start > 0.0 else 0.0  # NaN too
    cv = float(np.add.reduce(v)) / k
    sc = cv * tol
    vmin = float(v.min())
    lo, hi, prev = -1.0, np.inf, np.inf
    ops = SCALAR
    converged = False
    it = 0
    with np.errstate(all="ignore"):
        while it < max_iter:
            it += 1
            S, dS, info = map(float, score_parts(t, y, v, 1.0, None, reml, ops))
            dS = dS + 2.0 * S / (t + cv)
            new, lo, hi, done = _safeguarded_step(t, S, dS, info, lo, hi, sc, vmin, tol, ops)
            step = abs(new - t)
            if not done and dS < 0.0 and new == t - S / dS:
                done = quadratic_done(step, prev, tol * new + sc, ops)
            prev, t = step, new
            if done:
                converged = True
                break
        ll0 = False
        if converged and t > 0.0 and ll0_gain(t, y, v, 1.0, None, reml, ops) > LL0_TOL:
            t, ll0 = 0.0, True
    return float(t), it, converged, ll0


def ll0_gain(tau2: Any, y0: F, v0: F, mf: Any, X: F | None, reml: bool, ops: Ops = BATCH) -> Any:
    """``ll(0) - ll(tau2)`` of the (restricted) log-likelihood of metafor ``rma.uni``, per row.

    ``= (sum log((v_i + tau2)/v_i) + [log det A(tau2) - log det A(0)] + Q(tau2) - Q(0)) / 2``
    with ``A = X'WX`` (the bracket for REML only; ``det A = s_1`` for the
    intercept-only model).  The first sum is one logarithm of a product of the
    ratios ``1 + tau2/v_i`` (rows where it overflows fall back to a sum of logarithms).
    """
    w0 = mf / v0
    if X is None:
        dot, tot = ops.dot, ops.total
        w1 = mf / (v0 + ops.col(tau2))
        s0, s1 = tot(w0), tot(w1)
        r0 = y0 - ops.col(dot(w0, y0) / s0)
        r1 = y0 - ops.col(dot(w1, y0) / s1)
        dq = dot(w1 * r1, r1) - dot(w0 * r0, r0)
        logdet = np.log(s1 / s0) if reml else 0.0
    else:
        q1, _ = generalized_q(tau2, y0, v0, mf, X)
        q0, _ = generalized_q(np.zeros(tau2.shape[0]), y0, v0, mf, X)
        dq = q1 - q0
        w1 = mf / (v0 + tau2[:, None])
        logdet = np.linalg.slogdet(xtdx(w1, X))[1] - np.linalg.slogdet(xtdx(w0, X))[1] if reml else 0.0
    with np.errstate(divide="ignore", over="ignore"):  # an overflow is caught just below
        logs = np.log(np.multiply.reduce(1.0 + ops.col(tau2) * w0, axis=-1))
    bad = np.logical_not(np.isfinite(logs))
    if bad is not np.False_ and np.any(bad):
        logs = np.where(bad, np.log1p(ops.col(tau2) * w0).sum(axis=-1), logs)
    return 0.5 * (logs + logdet + dq)


def warn_ll0(method: str, rows: NDArray[np.int64], single: bool, stacklevel: int) -> None:
    """The one warning of metafor's ``ll0check`` having set tau^2 to 0."""
    if rows.size:
        where = "" if single else f" for analysis row(s) {rows_text(rows)}"
        warnings.warn(
            f"{method}: the local maximum reached from metafor's starting value{where} has a lower "
            f"likelihood than tau2 = 0, so tau2 was set to 0 (metafor's ll0check does the same).",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )


def warn_not_converged(
    what: str, rows: NDArray[np.int64], single: bool, max_iter: int, tol: float, stacklevel: int
) -> None:
    """The one non-convergence warning: last iterate kept, ``converged=False``, no fallback."""
    if rows.size:
        where = "" if single else f" for analysis row(s) {rows_text(rows)}"
        warnings.warn(
            f"{what} did not converge within max_iter={max_iter} iterations (tol={tol:g}){where}; "
            f"the last iterate is used there and converged=False.",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )


# ---------------------------------------------------------------------------
# heterogeneity
# ---------------------------------------------------------------------------


def i2_h2(tau2: Any, vt: Any, q: Any, df: Any, fe: bool, ops: Ops = BATCH) -> tuple[Any, Any]:
    """``I^2`` (percent, in [0, 100]) and ``H^2`` as metafor ``rma.uni`` (``i2def = "1"``).

    Random effects: ``I^2 = 100 tau2/(vt + tau2)``, ``H^2 = tau2/vt + 1`` with the
    typical within-study variance ``vt = (k - p)/tr(P_0)``; common effect:
    ``I^2 = max(0, 100 (Q - df)/Q)``, ``H^2 = Q/df`` (Higgins & Thompson 2002 [2]_).
    Written as ``r/(1 + r)`` with ``r = tau2/vt`` and clipped so that rounding
    (or an overflow of ``vt`` or ``tau2`` at the edge of the double range) can
    never give an impossible value: I^2 outside [0, 100], a random-effects H^2
    below 1, a negative common-effect H^2 (which, as in metafor, is below 1
    whenever ``Q < df``).  NaN (``0/0``) gives I^2 = 0 and H^2 = 1.
    Called under ``np.errstate(all="ignore")``.
    """
    W = ops.where
    if fe:
        i2 = 100.0 * (1.0 - df / q)
        h2 = q / df
    else:
        ratio = tau2 / vt
        i2 = W(ratio == np.inf, 100.0, 100.0 * ratio / (1.0 + ratio))
        h2 = ratio + 1.0
    i2 = ops.minimum(ops.maximum(W(i2 == i2, i2, 0.0), 0.0), 100.0)
    h2 = ops.maximum(W(h2 == h2, h2, 1.0), 0.0 if fe else 1.0)
    return i2, h2


def heterogeneity(
    y0: F, v0: F, mf: Any, k: Any, tau2: Any, fe: bool, X: F | None = None, ops: Ops = BATCH
) -> tuple[Any, Any, Any, Any]:
    """Cochran's (residual) ``Q``, its chi^2 p-value, ``I^2`` and ``H^2`` per row, as metafor ``rma.uni``.

    ``Q = Y'P_0Y`` with the fixed-effect weights ``1/v_i`` (``QE`` of a
    meta-regression), ``k - p`` degrees of freedom; I^2 and H^2 by
    :func:`i2_h2`.  Rows with ``k <= p`` get ``Q = 0``, ``p = 1``, ``I^2 = 0``,
    ``H^2 = 1``.  Rows of a batch (:data:`BATCH`), or one fit with every study
    present (:data:`SCALAR`: ``y0``, ``v0`` of shape ``(k,)``, ``mf = 1``).
    """
    W = ops.where
    p = 1 if X is None else X.shape[-1]
    df = k - p + 0.0
    with np.errstate(all="ignore"):
        q, trp = generalized_q(0.0 * tau2, y0, v0, mf, X, ops)
        q = ops.maximum(W(q == q, q, 0.0), 0.0)
        vt = df / trp
        i2, h2 = i2_h2(tau2, vt, q, df, fe, ops)
    none = df <= 0
    q = W(none, 0.0, q)
    qp = W(none, 1.0, chi2_sf(q, ops.maximum(df, 1.0)))
    return q, qp, W(none, 0.0, i2), W(none, 1.0, h2)


def r2_percent(tau2_re: float, tau2: float) -> float:
    """Pseudo-R^2 in percent, ``max(0, 100 (tau2_RE - tau2)/tau2_RE)`` (Raudenbush 2009 [3]_; metafor ``R2``).

    0 when the intercept-only tau^2 is 0.

    Examples
    --------
    >>> r2_percent(0.1, 0.025)
    75.0
    """
    if tau2_re <= 0.0:
        return 0.0
    return float(min(100.0, max(0.0, 100.0 * (tau2_re - tau2) / tau2_re)))


# ---------------------------------------------------------------------------
# tests and intervals (scipy.special, no distribution objects)
# ---------------------------------------------------------------------------


def norm_isf(q: Any) -> Any:
    """Upper quantile of the standard normal, ``Phi^-1(1 - q)`` (``scipy.special.ndtri``)."""
    return -special.ndtri(q)


def chi2_sf(x: Any, df: Any) -> Any:
    """Upper tail of chi^2 with ``df`` degrees of freedom (``scipy.special.chdtrc``)."""
    return special.chdtrc(df, x)


def wald(beta: Any, se: Any, df: Any, alpha: float) -> tuple[Any, Any, Any, Any]:
    """Statistic ``beta/se``, two-sided p-value and ``1 - alpha`` Wald interval.

    Normal reference when ``df`` is None, else t with ``df`` degrees of freedom
    (scalar or per element; metafor ``rma.uni``, ``test="z"`` / ``test="knha"``).

    Examples
    --------
    >>> stat, p, lo, hi = wald(1.96, 1.0, None, 0.05)
    >>> round(float(p), 4), round(float(lo), 4)
    (0.05, 0.0)
    """
    b: Any
    s: Any
    if isinstance(beta, float) and isinstance(se, float):  # one fit (float or NumPy float scalar)
        b, s = beta, se
        stat = b / s if s != 0.0 else (np.inf if b > 0.0 else -np.inf if b < 0.0 else np.nan)
    else:
        b = np.asarray(beta, dtype=np.float64)
        s = np.asarray(se, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = b / s
    crit = critical(df, alpha)
    if df is None:
        pval = 2.0 * special.ndtr(-abs(stat))
    else:
        pval = 2.0 * special.stdtr(df, -abs(stat))
    return stat, pval, b - crit * s, b + crit * s


def critical(df: Any, alpha: float) -> Any:
    """Two-sided critical value: ``z_{1-alpha/2}`` when ``df`` is None, else ``t_{df; 1-alpha/2}`` (inf df: z)."""
    if df is None:
        return -special.ndtri(alpha / 2.0)
    return special.stdtrit(df, 1.0 - alpha / 2.0)
