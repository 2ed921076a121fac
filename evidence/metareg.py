"""Mixed-effects meta-regression and its permutation test.

The model is ``y_i = x_i' beta + u_i + e_i`` with ``u_i ~ N(0, tau^2)`` and
``e_i ~ N(0, v_i)`` (Raudenbush 2009 [1]_; Viechtbauer 2010 [2]_, section 3.3;
metafor ``rma.uni(yi, vi, mods=...)``).  tau^2 is estimated from the residual
heterogeneity, then ``beta`` by weighted least squares with weights
``1/(v_i + tau^2)``.

The kernels below are batch-shaped, in pure NumPy: effect sizes and variances
of shape ``(n, k)``, a design of shape ``(k, p)`` (shared) or ``(n, k, p)``, and
a boolean mask of present studies.  No ``k x k`` matrix is formed: with
``W = diag(w)``, ``A = X'WX`` and residuals ``r = y - X beta_w``, metafor's
``P = W - W X A^-1 X' W`` enters only through

* ``Y'PY = sum w r^2`` and ``Y'PPY = sum (w r)^2``,
* ``tr(P) = sum w - tr(A^-1 X'W^2X)``,
* ``tr(PP) = sum w^2 - 2 tr(A^-1 X'W^3X) + tr((A^-1 X'W^2X)^2)``,

which are small ``p x p`` computations stacked over the batch
(``np.linalg.inv`` on ``(n, p, p)``).  The permutation test fits all
permutations in lock-step with these kernels.

References
----------
.. [1] Raudenbush SW (2009). Analyzing effect sizes: random-effects models.
   In Cooper H, Hedges LV, Valentine JC (eds), *The Handbook of Research
   Synthesis and Meta-Analysis* (2nd ed.), ch. 16, 295-315.
.. [2] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
   package. *J Stat Softw* 36(3), 1-48.
.. [3] Viechtbauer W (2005). Bias and efficiency of meta-analytic variance
   estimators in the random-effects model. *J Educ Behav Stat* 30(3), 261-293
   (eqs. 14 and 16: ML and REML Fisher scoring).
.. [4] Knapp G, Hartung J (2003). Improved tests for a random effects
   meta-regression with a single covariate. *Stat Med* 22(17), 2693-2710.
.. [5] Higgins JPT, Thompson SG (2004). Controlling the risk of spurious
   findings from meta-regression. *Stat Med* 23(11), 1663-1682 (permutation
   test, section 4).
.. [6] Good P (2000). *Permutation Tests* (2nd ed.). Springer.
.. [7] Raudenbush SW, Bryk AS (2002). *Hierarchical Linear Models* (2nd ed.),
   Sage (pseudo-R^2: proportional reduction of tau^2).
.. [8] metafor 3.8-1 (Viechtbauer): ``rma.uni()``, ``permutest.rma.uni()``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evidence import tau2 as _tau2
from evidence._results import ResultMixin, fmt
from evidence._validation import (
    as_float_array,
    check_alpha,
    check_bool,
    check_choice,
    check_columns,
    check_finite,
    check_positive_variances,
    check_same_index,
    check_same_length,
    check_seed,
)
from evidence.exceptions import ConvergenceWarning
from evidence.options import POOLING_METHODS, TESTS

__all__ = [
    "MetaRegressionResult",
    "PermutationTestResult",
    "meta_regression",
    "permutation_test",
    "design_matrix",
    "tau2_mods",
    "fit_mods",
    "ModsFit",
]

#: Convergence tolerance of the iterative tau^2 estimators: iteration stops when
#: the change in tau^2 (or the width of the root bracket) is at most
#: ``TOL * (tau2 + mean(v))`` (as :data:`evidence.tau2.DEFAULT_TOL`).
TOL: float = 1e-12
#: Maximum number of Fisher-scoring or root-bracketing steps.
MAX_ITER: int = 1000
#: metafor ``permutest`` control ``comptol``: a permuted statistic counts as at
#: least as extreme when it is within this of the observed one.
COMPTOL: float = float(np.sqrt(np.finfo(float).eps))
_LL0_TOL: float = _tau2._LL0_TOL
_PERM_CHUNK: int = 8192


# ---------------------------------------------------------------------------
# design matrix
# ---------------------------------------------------------------------------


def design_matrix(
    moderators: Any, k: int, *, intercept: bool = True, labels: Sequence[Any] | None = None
) -> tuple[NDArray[np.float64], tuple[str, ...], tuple[str, ...]]:
    """Build the model matrix of a meta-regression, as R's ``model.matrix``.

    Parameters
    ----------
    moderators : array_like (k,) or (k, p), pandas Series or DataFrame, or a mapping of columns
        Numeric columns enter as they are; boolean columns as 0/1; text or
        categorical columns as treatment (dummy) contrasts against their first
        level (sorted, or the category order of a ``pd.Categorical``), named
        ``"column[level]"``.  Unnamed array columns are ``"x1"``, ``"x2"``, ...
    k : int
        Number of studies.
    intercept : bool
        Prepend a column of ones named ``"intercept"``.
    labels : sequence, optional
        Study labels used in error messages.

    Returns
    -------
    X : ndarray, shape (k, p)
    names : tuple of str
        Column names of ``X``.
    moderator_names : tuple of str
        Names of the moderators as given.

    Raises
    ------
    ValueError
        A moderator has a missing value (naming the moderator and the study),
        the wrong length, or the columns are linearly dependent.

    Examples
    --------
    >>> X, names, _ = design_matrix(pd.DataFrame({"dose": [1.0, 2, 3], "arm": ["a", "b", "a"]}), 3)
    >>> names
    ('intercept', 'dose', 'arm[b]')
    """
    intercept = check_bool("intercept", intercept)
    if isinstance(moderators, Mapping):
        check_columns("moderators", moderators)
        moderators = pd.DataFrame(dict(moderators))
    if isinstance(moderators, pd.Series):
        moderators = moderators.to_frame(name=moderators.name if moderators.name is not None else "x1")
    if not isinstance(moderators, pd.DataFrame):
        try:
            arr = np.asarray(moderators, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.asarray(moderators, dtype=object)
        if arr.ndim == 1:
            arr = arr.reshape(-1, 1)
        if arr.ndim != 2:
            raise ValueError(
                f"moderators must be an array of shape (k,) or (k, p) or a DataFrame; got shape {arr.shape}."
            )
        moderators = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])])
    df = moderators
    if len(df) != k:
        raise ValueError(f"moderators has {len(df)} rows but there are {k} studies; they must agree.")
    if df.shape[1] == 0:
        raise ValueError("moderators has no columns; give at least one moderator.")
    cols: list[NDArray[np.float64]] = []
    names: list[str] = []
    full_coded = False  # without intercept R codes the first factor by all its levels
    if intercept:
        cols.append(np.ones(k))
        names.append("intercept")
    for name in df.columns:
        s = df[name]
        miss = pd.isna(s).to_numpy()
        if miss.any():
            i = int(np.argmax(miss))
            label = labels[i] if labels is not None else (
                None if isinstance(df.index, pd.RangeIndex) else df.index[i])
            who = f"study {i}" + (f" ({label!r})" if label is not None else "")
            raise ValueError(
                f"moderator {str(name)!r} is missing at {who}; meta-regression does not drop "
                f"studies silently: remove the study or supply the value."
            )
        if pd.api.types.is_bool_dtype(s):
            cols.append(s.to_numpy(dtype=np.float64))
            names.append(str(name))
        elif pd.api.types.is_numeric_dtype(s) and not isinstance(s.dtype, pd.CategoricalDtype):
            x = s.to_numpy(dtype=np.float64)
            bad = ~np.isfinite(x)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"moderator {str(name)!r} has the non-finite value {x[i]!r} at study {i}.")
            cols.append(x)
            names.append(str(name))
        else:
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [lv for lv in s.cat.categories if (s == lv).any()]
            else:
                levels = sorted(pd.unique(s.astype(str)))
                s = s.astype(str)
            if len(levels) < 2:
                raise ValueError(
                    f"moderator {str(name)!r} has a single level {levels[0]!r}; a categorical "
                    f"moderator needs at least two levels."
                )
            start = 1 if (intercept or full_coded) else 0
            full_coded = True
            for lv in levels[start:]:
                cols.append((s == lv).to_numpy(dtype=np.float64))
                names.append(f"{name}[{lv}]")
    X = np.column_stack(cols)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(
            f"The model matrix with columns {names} is rank deficient (a moderator is constant "
            f"or a linear combination of others); remove the redundant moderator."
        )
    return X, tuple(names), tuple(str(c) for c in df.columns)


# ---------------------------------------------------------------------------
# batch kernels
# ---------------------------------------------------------------------------


class ModsFit(NamedTuple):
    """Weighted least-squares fit of a batch at given tau^2 (see :func:`fit_mods`)."""

    beta: NDArray[np.float64]  # (n, p)
    vb: NDArray[np.float64]  # (n, p, p), scaled by s2w under "knha"
    se: NDArray[np.float64]  # (n, p)
    stat: NDArray[np.float64]  # (n, p)
    qm: NDArray[np.float64]  # (n,)
    s2w: NDArray[np.float64]  # (n,)
    ok: NDArray[np.bool_]  # (n,) design of full rank


def _prepare(
    y: ArrayLike, v: ArrayLike, X: ArrayLike, mask: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """:func:`evidence.tau2._prepare` (absent entries y = 0, v = 1, weight 0); X stays (k, p) or (n, k, p)."""
    y0, v0, mf, k = _tau2._prepare(y, v, mask)
    return y0, v0, np.asarray(X, dtype=np.float64), mf, k


def _take(X: NDArray[np.float64], idx: Any) -> NDArray[np.float64]:
    """Rows ``idx`` of a batched design; a shared design is returned as is."""
    return X if X.ndim == 2 else X[idx]


def _xtdx(d: NDArray[np.float64], X: NDArray[np.float64]) -> NDArray[np.float64]:
    """``X' diag(d_n) X`` for each row n, shape (n, p, p) (a GEMM when X is shared)."""
    p = X.shape[-1]
    if X.ndim == 2:
        XX = (X[:, :, None] * X[:, None, :]).reshape(X.shape[0], p * p)
        return (d @ XX).reshape(d.shape[0], p, p)
    return np.matmul(np.swapaxes(d[:, :, None] * X, 1, 2), X)


def _xtd(d: NDArray[np.float64], X: NDArray[np.float64]) -> NDArray[np.float64]:
    """``X' d_n`` for each row n, shape (n, p)."""
    return d @ X if X.ndim == 2 else np.einsum("nkp,nk->np", X, d)


def _xb(beta: NDArray[np.float64], X: NDArray[np.float64]) -> NDArray[np.float64]:
    """``X beta_n`` for each row n, shape (n, k)."""
    return beta @ X.T if X.ndim == 2 else np.einsum("nkp,np->nk", X, beta)


def _inv(A: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Stacked inverse of ``(n, p, p)`` matrices; singular rows get NaN and ``ok = False``."""
    p = A.shape[-1]
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


def _wls(
    tau2: NDArray[np.float64],
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    X: NDArray[np.float64],
    mf: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Weights, ``(X'WX)^-1``, ``beta`` and masked residuals at ``tau2``."""
    w = mf / (v0 + tau2[:, None])
    Ainv, ok = _inv(_xtdx(w, X))
    beta = np.einsum("nij,nj->ni", Ainv, _xtd(w * y0, X))
    r = (y0 - _xb(beta, X)) * mf
    return w, Ainv, beta, r, ok


def _tr(M: NDArray[np.float64], N: NDArray[np.float64]) -> NDArray[np.float64]:
    """``tr(M N)`` for stacked square matrices."""
    return np.einsum("nij,nji->n", M, N)


def _trace_p(w: NDArray[np.float64], X: NDArray[np.float64], Ainv: NDArray[np.float64]) -> NDArray[np.float64]:
    """``tr(P) = sum w - tr(A^-1 X'W^2X)``."""
    return w.sum(axis=1) - _tr(Ainv, _xtdx(w * w, X))


def _loglik(
    tau2: NDArray[np.float64],
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    X: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    reml: bool,
) -> NDArray[np.float64]:
    """(Restricted) log-likelihood as metafor ``rma.uni`` (``REMLf = TRUE`` term omitted)."""
    w, _, _, r, _ = _wls(tau2, y0, v0, X, mf)
    p = X.shape[-1]
    rss = (w * r * r).sum(axis=1)
    logdet = (np.log(v0 + tau2[:, None]) * mf).sum(axis=1)
    if reml:
        _, ld = np.linalg.slogdet(_xtdx(w, X))
        return -0.5 * (k - p) * np.log(2 * np.pi) - 0.5 * logdet - 0.5 * ld - 0.5 * rss
    return -0.5 * k * np.log(2 * np.pi) - 0.5 * logdet - 0.5 * rss


def _rss_at(
    tau2: NDArray[np.float64], y0: NDArray[np.float64], v0: NDArray[np.float64], X: NDArray[np.float64], mf: NDArray[np.float64]
) -> NDArray[np.float64]:
    w, _, _, r, _ = _wls(tau2, y0, v0, X, mf)
    return (w * r * r).sum(axis=1)


def _ols_parts(
    y0: NDArray[np.float64], v0: NDArray[np.float64], X: NDArray[np.float64], mf: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``RSS`` and ``tr(PV)`` of the unweighted fit (``P = I - X(X'X)^-1X'``)."""
    Ainv, _ = _inv(_xtdx(mf, X))
    beta = np.einsum("nij,nj->ni", Ainv, _xtd(mf * y0, X))
    r = (y0 - _xb(beta, X)) * mf
    rss = (r * r).sum(axis=1)
    trpv = (v0 * mf).sum(axis=1) - _tr(Ainv, _xtdx(mf * v0, X))
    return rss, trpv


def _pm_root(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    X: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    tol: float,
    max_iter: int,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """Root of ``Y'P(tau2)Y = k - p`` (0 if the left side is below k - p at 0).

    ``Y'P(t)Y = min_b sum (y - Xb)^2/(v + t) <= RSS_ols / t``, so
    ``[0, RSS_ols/(k-p)]`` brackets the root; bisection narrows it to
    ``tol * (tau2 + mean(v))`` and a final secant step polishes it.
    """
    n, p = y0.shape[0], X.shape[-1]
    target = (k - p).astype(np.float64)
    tau2 = np.zeros(n)
    n_iter = np.zeros(n, dtype=np.int64)
    conv = np.ones(n, dtype=bool)
    q0 = _rss_at(np.zeros(n), y0, v0, X, mf)
    rows = np.flatnonzero(q0 > target)
    if rows.size == 0:
        return tau2, n_iter, conv
    yy, vv, XX, mm, tg = y0[rows], v0[rows], _take(X, rows), mf[rows], target[rows]
    scale = (vv * mm).sum(axis=1) / k[rows]
    rss_ols, _ = _ols_parts(yy, vv, XX, mm)
    lo = np.zeros(rows.size)
    hi = rss_ols / tg * (1 + 1e-12) + 1e-300
    flo = q0[rows] - tg
    fhi = _rss_at(hi, yy, vv, XX, mm) - tg
    it = np.zeros(rows.size, dtype=np.int64)
    act = np.arange(rows.size)
    while act.size:
        c = 0.5 * (lo[act] + hi[act])
        fc = _rss_at(c, yy[act], vv[act], _take(XX, act), mm[act]) - tg[act]
        it[act] += 1
        up = fc > 0
        lo[act[up]] = c[up]
        flo[act[up]] = fc[up]
        hi[act[~up]] = c[~up]
        fhi[act[~up]] = fc[~up]
        done = (hi[act] - lo[act]) <= tol * (c + scale[act])
        act = act[~done & (it[act] < max_iter)]
    with np.errstate(divide="ignore", invalid="ignore"):
        sec = (lo * fhi - hi * flo) / (fhi - flo)
    good = np.isfinite(sec) & (sec >= lo) & (sec <= hi)
    root = np.where(good, sec, 0.5 * (lo + hi))
    tau2[rows] = root
    n_iter[rows] = it
    conv[rows] = (hi - lo) <= tol * (root + scale) * 1.000001
    return tau2, n_iter, conv


def tau2_mods(
    y: ArrayLike,
    v: ArrayLike,
    X: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    method: str = "REML",
    tol: float = TOL,
    max_iter: int = MAX_ITER,
    ll0check: bool = True,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.bool_]]:
    """Residual heterogeneity tau^2 of a batch of meta-regressions.

    Parameters
    ----------
    y, v : array_like, shape (n, k)
        Effect sizes and sampling variances (absent entries are ignored).
    X : array_like, shape (k, p) or (n, k, p)
        Model matrix (shared by all rows, or one per row).
    mask : array_like of bool, shape (n, k), optional
        Present studies.
    method : str
        One of :data:`evidence.options.POOLING_METHODS`; the formulas are
        metafor ``rma.uni`` with ``mods`` [8]_: ``"DL"`` ``(Q_E - (k-p))/tr(P)``;
        ``"HE"`` ``(RSS_ols - tr(P_ols V))/(k-p)``; ``"HS"`` ``(Q_E - k)/sum w``;
        ``"SJ"`` ``tau0 Y'P(tau0)Y/(k-p)`` with ``tau0 = var(y)(k-1)/k``;
        ``"ML"``/``"REML"`` the local maximum metafor's Fisher scoring
        reaches from its start ``max(0, HE)`` [3]_ (see the Notes), with
        metafor's ``ll0check``; ``"PM"`` and ``"EB"`` the root
        of ``Y'PY = k - p`` (their common fixed point).  All truncated at 0.
    tol, max_iter : float, int
        Convergence control (change at most ``tol * (tau2 + mean(v))``).
    ll0check : bool
        Replace an ML/REML tau^2 whose likelihood is below that at 0 by 0.

    Notes
    -----
    ML/REML: metafor iterates Fisher scoring ``tau2 += S / I`` (with ``S = Y'PPY - tr(P)``
    and ``I = tr(PP)`` for REML, ``S = Y'PPY - sum w``, ``I = sum w^2`` for ML;
    Viechtbauer 2005 [3]_, eqs. 14, 16), which converges linearly.  Here the local
    maximum that iteration reaches is found by the safeguarded Newton iteration of
    the intercept-only kernel (:func:`evidence.tau2._safeguarded_step`, see
    :func:`evidence.tau2.reml`): from ``max(0, HE)`` in the direction of the score
    until an iterate brackets a root of S, then Newton steps (on ``S (t + mean(v))^2``)
    with ``S' = -2 Y'PPPY + I`` inside that bracket (bisection when a step leaves it);
    ``Y'PPPY = sum w u^2 - u'WX A^-1 X'Wu`` with ``u = Py``.  0 is reached only
    when the score stays negative on the way down.

    Returns
    -------
    tau2 : ndarray (n,)
    n_iter : ndarray of int (n,)
    converged : ndarray of bool (n,)

    Examples
    --------
    >>> X = np.column_stack([np.ones(5), [1.0, 2, 3, 4, 5]])
    >>> Y = np.array([[0.1, 0.5, 0.2, 0.9, 0.7], [0.3, 0.1, 0.6, 0.2, 0.8]])
    >>> tau2, n_iter, converged = tau2_mods(Y, np.full((2, 5), 0.02), X, method="REML")
    >>> tau2.round(5).tolist(), converged.tolist()
    ([0.044, 0.053], [True, True])
    """
    check_choice("method", method, POOLING_METHODS)
    y0, v0, Xb, mf, k = _prepare(y, v, X, mask)
    n, p = y0.shape[0], Xb.shape[-1]
    zeros = np.zeros(n)
    n_iter = np.zeros(n, dtype=np.int64)
    conv = np.ones(n, dtype=bool)
    dfr = (k - p).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "FE":
            return zeros, n_iter, conv
        if method in ("DL", "HS"):
            w, Ainv, _, r, _ = _wls(zeros, y0, v0, Xb, mf)
            q = (w * r * r).sum(axis=1)
            if method == "DL":
                t = (q - dfr) / _trace_p(w, Xb, Ainv)
            else:
                t = (q - k) / w.sum(axis=1)
            return np.maximum(0.0, t), n_iter, conv
        if method == "SJ":
            ybar = y0.sum(axis=1) / k
            tau0 = (((y0 - ybar[:, None]) * mf) ** 2).sum(axis=1) / k
            t = tau0 * _rss_at(tau0, y0, v0, Xb, mf) / dfr
            return np.maximum(0.0, t), n_iter, conv
        rss_ols, trpv = _ols_parts(y0, v0, Xb, mf)
        he = (rss_ols - trpv) / dfr
        if method == "HE":
            return np.maximum(0.0, he), n_iter, conv
        if method in ("PM", "EB"):
            return _pm_root(y0, v0, Xb, mf, k, tol, max_iter)
    reml = method == "REML"
    tau2 = np.maximum(0.0, np.nan_to_num(he, nan=0.0))
    scale = (v0 * mf).sum(axis=1) / k
    conv = np.zeros(n, dtype=bool)
    # Safeguarded Newton iteration on the score S (root bracketed by [lo, hi]); see the
    # Notes.  Working copies of the unconverged rows are re-compacted when half converged.
    vmin = np.where(mf > 0, v0, np.inf).min(axis=1)
    lo = np.full(n, -1.0)  # nearest iterate with S > 0 (-1: none yet)
    hi = np.full(n, np.inf)  # nearest iterate with S < 0
    active = np.arange(n)
    ya, va, Xa, ma = y0, v0, Xb, mf
    sel = np.arange(n)  # rows of the working copies that are still active
    while active.size:
        if sel.size <= 0.5 * ya.shape[0]:
            ya, va, Xa, ma = y0[active], v0[active], _take(Xb, active), mf[active]
            sel = np.arange(active.size)
        t = tau2[active]
        if sel.size == ya.shape[0]:
            Xs = Xa
            w, Ainv, _, r, _ = _wls(t, ya, va, Xs, ma)
        else:
            Xs = _take(Xa, sel)
            w, Ainv, _, r, _ = _wls(t, ya[sel], va[sel], Xs, ma[sel])
        u = w * r  # P y
        ypp = (u * u).sum(axis=1)
        xu = _xtd(w * u, Xs)  # X'W P y
        yppp = (w * u * u).sum(axis=1) - np.einsum("ni,nij,nj->n", xu, Ainv, xu)
        w2 = w * w
        if reml:
            B2 = _xtdx(w2, Xs)
            B3 = _xtdx(w2 * w, Xs)
            C = np.matmul(Ainv, B2)
            T = w.sum(axis=1) - np.einsum("nii->n", C)
            Tp = w2.sum(axis=1) - 2.0 * _tr(Ainv, B3) + _tr(C, C)
        else:
            T = w.sum(axis=1)
            Tp = w2.sum(axis=1)
        S = ypp - T
        dS = -2.0 * yppp + Tp
        dS = dS + 2.0 * S / (t + scale[active])  # as evidence.tau2._likelihood_root
        new, lo_a, hi_a, done = _tau2._safeguarded_step(
            t, S, dS, Tp, lo[active], hi[active], tol * scale[active], vmin[active], tol
        )
        lo[active], hi[active] = lo_a, hi_a
        tau2[active] = new
        n_iter[active] += 1
        conv[active[done]] = True
        keep = ~done & (n_iter[active] < max_iter)
        active = active[keep]
        sel = sel[keep]
    tau2 = np.maximum(tau2, 0.0)
    if ll0check:
        cand = np.flatnonzero(conv & (tau2 > 0.0))
        if cand.size:
            ll = _loglik(tau2[cand], y0[cand], v0[cand], _take(Xb, cand), mf[cand], k[cand], reml)
            ll0 = _loglik(np.zeros(cand.size), y0[cand], v0[cand], _take(Xb, cand), mf[cand], k[cand], reml)
            stuck = cand[(ll0 - ll) > _LL0_TOL]
            if stuck.size:
                warnings.warn(
                    f"{method}: for {stuck.size} analysis row(s) the local maximum reached from "
                    f"metafor's starting value has a lower likelihood than tau2 = 0, so tau2 was set "
                    f"to 0 (metafor's ll0check does the same).",
                    ConvergenceWarning,
                    stacklevel=2,
                )
                tau2[stuck] = 0.0
    return tau2, n_iter, conv


def fit_mods(
    y: ArrayLike,
    v: ArrayLike,
    X: ArrayLike,
    tau2: ArrayLike,
    mask: ArrayLike | None = None,
    *,
    test: str = "z",
    btt: Sequence[int] | None = None,
) -> ModsFit:
    """Coefficients, their covariance and the omnibus statistic at given tau^2.

    ``beta = (X'WX)^-1 X'Wy`` and ``vb = (X'WX)^-1`` with ``W = diag(1/(v + tau2))``;
    under ``test="knha"`` ``vb`` is multiplied by
    ``s2w = sum w (y - X beta)^2 / (k - p)`` (Knapp & Hartung 2003 [4]_; metafor
    sets ``s2w = 0`` when the residual sum of squares is below machine epsilon).
    ``qm = beta_B' vb_BB^-1 beta_B`` over the coefficients ``btt`` (divided by
    ``len(btt)`` under ``"knha"``, an F statistic).  ``stat = beta / se``.

    Returns
    -------
    ModsFit

    Examples
    --------
    >>> X = np.column_stack([np.ones(5), [1.0, 2, 3, 4, 5]])
    >>> Y = np.array([[0.1, 0.5, 0.2, 0.9, 0.7], [0.3, 0.1, 0.6, 0.2, 0.8]])
    >>> fit = fit_mods(Y, np.full((2, 5), 0.02), X, [0.044, 0.053], btt=[1])
    >>> fit.beta.round(2).tolist()
    [[0.0, 0.16], [0.07, 0.11]]
    """
    check_choice("test", test, TESTS)
    y0, v0, Xb, mf, k = _prepare(y, v, X, mask)
    n, p = y0.shape[0], Xb.shape[-1]
    t = np.broadcast_to(np.asarray(tau2, dtype=np.float64), (n,))
    w, Ainv, beta, r, ok = _wls(t, y0, v0, Xb, mf)
    if test == "knha":
        rss = (w * r * r).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = np.where(rss <= np.finfo(float).eps, 0.0, rss / (k - p))
    else:
        s2w = np.ones(n)
    vb = Ainv * s2w[:, None, None]
    se = np.sqrt(np.einsum("nii->ni", vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
        bidx = np.arange(p) if btt is None else np.asarray(btt, dtype=int)
        vbb = vb[:, bidx[:, None], bidx[None, :]]
        bb = beta[:, bidx]
        vinv, okb = _inv(vbb) if len(bidx) else (vbb, ok)
        qm = np.einsum("ni,nij,nj->n", bb, vinv, bb)
        if test == "knha":
            qm = qm / len(bidx)
    return ModsFit(beta, vb, se, stat, qm, s2w, ok)


def _heterogeneity(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    Xb: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    tau2: NDArray[np.float64],
    fe: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """``QE``, its p-value, ``I^2`` and ``H^2`` as metafor ``rma.uni`` (``i2def = "1"``)."""
    n, p = y0.shape[0], Xb.shape[-1]
    w, Ainv, _, r, _ = _wls(np.zeros(n), y0, v0, Xb, mf)
    df = (k - p).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        qe = np.maximum(0.0, (w * r * r).sum(axis=1))
        qep = stats.chi2.sf(qe, np.maximum(df, 1.0))
        vt = df / _trace_p(w, Xb, Ainv)
        if fe:
            i2 = np.maximum(0.0, 100.0 * (qe - df) / qe)
            h2 = qe / df
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    none = df <= 0
    qe[none], qep[none], i2[none], h2[none] = 0.0, 1.0, 0.0, 1.0
    return qe, qep, i2, h2


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


def _coef_frame(
    names: Sequence[str],
    est: NDArray[np.float64],
    se: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    stat: NDArray[np.float64],
    pval: NDArray[np.float64],
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "estimate": est,
            "se": se,
            "ci_low": lo,
            "ci_high": hi,
            "weight": np.full(len(names), np.nan),
            "statistic": stat,
            "p_value": pval,
        },
        index=pd.Index(list(names), name="coefficient"),
    )


@dataclass(frozen=True, repr=False)
class MetaRegressionResult(ResultMixin):
    """Result of :func:`meta_regression` (metafor ``rma.uni`` with ``mods``).

    Attributes
    ----------
    names : tuple of str
        Coefficient names (``"intercept"`` first when included).
    estimate, se, statistic, p_value, ci_low, ci_high : ndarray, shape (p,)
        Coefficient table; ``statistic`` is z, or t with ``df`` degrees of
        freedom under ``test="knha"``.
    vcov : ndarray, shape (p, p)
        Covariance matrix of the coefficients.
    tau2 : float
        Residual between-study variance.
    i2, h2 : float
        Residual heterogeneity ``I^2`` (percent) and ``H^2`` (metafor ``i2def="1"``).
    r2 : float
        Pseudo-R^2, percent of tau^2 accounted for: ``max(0, 100 (tau2_RE - tau2)/tau2_RE)``
        with ``tau2_RE`` from the intercept-only model with the same estimator
        (Raudenbush 2009 [1]_; metafor ``R2``); for ``method="FE"`` metafor's
        adjusted weighted-least-squares R^2; NaN without intercept or moderators.
    qe, qe_df, qe_pvalue : float, int, float
        Test for residual heterogeneity.
    qm, qm_df, qm_df2, qm_pvalue : float, int, int or None, float
        Omnibus test of the moderators (all coefficients but the intercept):
        chi-square with ``qm_df`` df, or F(``qm_df``, ``qm_df2``) under ``"knha"``.
    """

    names: tuple[str, ...]
    estimate: NDArray[np.float64]
    se: NDArray[np.float64]
    statistic: NDArray[np.float64]
    p_value: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    vcov: NDArray[np.float64]
    tau2: float
    i2: float
    h2: float
    r2: float
    qe: float
    qe_df: int
    qe_pvalue: float
    qm: float
    qm_df: int
    qm_df2: int | None
    qm_pvalue: float
    k: int
    p: int
    df: int | None
    method: str
    test: str
    alpha: float
    intercept: bool
    converged: bool
    n_iter: int
    moderators: tuple[str, ...]
    yi: NDArray[np.float64] = field(repr=False)
    vi: NDArray[np.float64] = field(repr=False)
    X: NDArray[np.float64] = field(repr=False)

    def summary_frame(self) -> pd.DataFrame:
        """Coefficient table: ``estimate, se, ci_low, ci_high, weight`` (NaN), ``statistic, p_value``."""
        return _coef_frame(self.names, self.estimate, self.se, self.ci_low, self.ci_high, self.statistic, self.p_value)

    @property
    def fitted(self) -> NDArray[np.float64]:
        """Fitted values ``X beta``."""
        return self.X @ self.estimate

    def __repr__(self) -> str:
        stat = "F" if self.test == "knha" else "QM"
        return (
            f"MetaRegressionResult(k={self.k}, method={self.method!r}, test={self.test!r}, "
            f"tau2={fmt(self.tau2)}, {stat}={fmt(self.qm)} (p={fmt(self.qm_pvalue)}), "
            f"QE={fmt(self.qe)}, R2={fmt(self.r2)}%, coefficients={dict(zip(self.names, (fmt(b) for b in self.estimate)))})"
        )

    __str__ = __repr__


def _check_inputs(
    yi: ArrayLike, vi: ArrayLike, *, min_k: int = 1, what: str = "meta_regression"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``yi`` and ``vi`` as float arrays: equal length, finite, variances > 0, at least ``min_k`` studies.

    The one check of effect sizes and variances used by :mod:`evidence.metareg`,
    :mod:`evidence.compare`, :mod:`evidence.sensitivity` and :mod:`evidence.small_study`.
    """
    check_same_index(yi=yi, vi=vi)
    y = as_float_array("yi", yi)
    v = as_float_array("vi", vi)
    k = check_same_length(yi=y, vi=v)
    check_finite("yi", y)
    check_positive_variances("vi", v)
    if k < min_k:
        raise ValueError(
            f"{what} needs at least {min_k} stud{'y' if min_k == 1 else 'ies'}; got yi with "
            f"{k} value{'s' if k != 1 else ''}."
        )
    return y, v


def _wald(
    beta: NDArray[np.float64], se: NDArray[np.float64], df: float | None, alpha: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Statistic ``beta/se``, two-sided p-value and ``1 - alpha`` Wald interval.

    Normal reference when ``df`` is None, else t with ``df`` degrees of freedom
    (metafor ``rma.uni``, ``test="z"`` / ``test="knha"``).
    """
    dist = stats.norm if df is None else stats.t(df)
    crit = dist.isf(alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    return stat, 2 * dist.sf(np.abs(stat)), beta - crit * se, beta + crit * se


def _r2(
    y: NDArray[np.float64], v: NDArray[np.float64], qe: float, tau2: float, method: str, p: int, intercept: bool
) -> float:
    """Pseudo-R^2 in percent, as metafor ``rma.uni`` (see :class:`MetaRegressionResult`)."""
    k = len(y)
    if not intercept or p < 2:
        return float("nan")
    if method == "FE":
        # metafor: summary(lm(yi ~ X, weights = 1/vi))$adj.r.squared, truncated at 0, where
        # RSS is QE and TSS is Cochran's Q of the intercept-only model
        tss = float(_tau2.q_statistic(y[None, :], v[None, :])[0])
        if tss == 0.0:
            return 0.0
        adj = 1.0 - (qe / tss) * (k - 1) / (k - p)
        return max(0.0, 100.0 * adj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit0 = _tau2.estimate(method, y[None, :], v[None, :])
    t0 = float(fit0.tau2[0])
    if t0 == 0.0:
        return 0.0
    return max(0.0, 100.0 * (t0 - tau2) / t0)


def meta_regression(
    yi: ArrayLike,
    vi: ArrayLike,
    moderators: Any,
    *,
    method: str = "REML",
    test: str = "z",
    alpha: float = 0.05,
    intercept: bool = True,
    labels: Sequence[Any] | None = None,
) -> MetaRegressionResult:
    """Mixed-effects meta-regression (metafor ``rma.uni(yi, vi, mods=...)``).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes (e.g. log odds ratios) and their sampling variances.
    moderators : array_like (k,) or (k, p), pandas Series or DataFrame
        Study-level covariates; see :func:`design_matrix` for the coding of
        categorical columns.  A missing value is an error naming the moderator
        and the study.
    method : str
        tau^2 estimator, one of :data:`evidence.options.POOLING_METHODS`
        (``"FE"`` fits the fixed-effects meta-regression); see :func:`tau2_mods`.
    test : str
        ``"z"`` (normal / chi-square) or ``"knha"`` (Knapp & Hartung 2003 [4]_:
        t with ``k - p`` df, omnibus F).
    alpha : float
        Confidence intervals have level ``1 - alpha``.
    intercept : bool
        Include an intercept.  Divergence from metafor 3.8-1: without an
        intercept metafor estimates tau^2 (and ``QE``) from the *centred*
        effect sizes, which equals the likelihood-based value only when the
        column space of the moderators contains the constant (e.g. all levels
        of a factor, ``~ factor(g) - 1``); here tau^2 always maximises the
        stated likelihood.
    labels : sequence, optional
        Study labels for error messages.

    Returns
    -------
    MetaRegressionResult

    Notes
    -----
    The R^2 and the tests follow metafor ``rma.uni`` exactly (Viechtbauer 2010
    [2]_); the coefficient test of the moderators (QM) excludes the intercept.

    Examples
    --------
    Log odds ratios of the BCG vaccine trials (rounded) against absolute latitude:

    >>> yi = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02]
    >>> vi = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53, 0.07]
    >>> lat = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
    >>> res = meta_regression(yi, vi, pd.DataFrame({"ablat": lat}))
    >>> res.names, res.estimate.round(3).tolist(), round(res.r2, 1)
    (('intercept', 'ablat'), [0.249, -0.029], 75.6)
    """
    y, v = _check_inputs(yi, vi)
    check_choice("method", method, POOLING_METHODS)
    check_choice("test", test, TESTS)
    a = check_alpha(alpha)
    k = len(y)
    X, names, modnames = design_matrix(moderators, k, intercept=intercept, labels=labels)
    p = X.shape[1]
    if k <= p:
        raise ValueError(
            f"meta_regression needs more studies than coefficients: k={k} studies, p={p} "
            f"coefficients ({', '.join(names)})."
        )
    tau2, n_iter, conv = tau2_mods(y[None, :], v[None, :], X, method=method)
    if not conv[0]:
        warnings.warn(
            f"The {method} estimator of tau2 did not converge in {MAX_ITER} iterations; the last "
            f"iterate tau2={tau2[0]:.6g} is used (converged=False).",
            ConvergenceWarning,
            stacklevel=2,
        )
    btt = list(range(1, p)) if (intercept and p > 1) else list(range(p))
    fit = fit_mods(y[None, :], v[None, :], X, tau2, test=test, btt=btt)
    y0, v0, Xb, mf, kk = _prepare(y[None, :], v[None, :], X, None)
    qe, qep, i2, h2 = _heterogeneity(y0, v0, Xb, mf, kk, tau2, method == "FE")
    m = len(btt)
    df = k - p if test == "knha" else None
    qmp = float(stats.chi2.sf(fit.qm[0], m) if df is None else stats.f.sf(fit.qm[0], m, df))
    beta, se = fit.beta[0], fit.se[0]
    stat, pval, ci_low, ci_high = _wald(beta, se, df, a)
    return MetaRegressionResult(
        names=names,
        estimate=beta,
        se=se,
        statistic=stat,
        p_value=pval,
        ci_low=ci_low,
        ci_high=ci_high,
        vcov=fit.vb[0],
        tau2=float(tau2[0]),
        i2=float(i2[0]),
        h2=float(h2[0]),
        r2=_r2(y, v, float(qe[0]), float(tau2[0]), method, p, intercept),
        qe=float(qe[0]),
        qe_df=k - p,
        qe_pvalue=float(qep[0]),
        qm=float(fit.qm[0]),
        qm_df=m,
        qm_df2=df,
        qm_pvalue=qmp,
        k=k,
        p=p,
        df=df,
        method=method,
        test=test,
        alpha=a,
        intercept=intercept,
        converged=bool(conv[0]),
        n_iter=int(n_iter[0]),
        moderators=modnames,
        yi=y,
        vi=v,
        X=X,
    )


# ---------------------------------------------------------------------------
# permutation test
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class PermutationTestResult(ResultMixin):
    """Result of :func:`permutation_test` (metafor ``permutest.rma.uni``).

    Attributes
    ----------
    model : MetaRegressionResult
        The fitted model (observed data).
    p_value : ndarray, shape (p,)
        Permutation p-value of each coefficient: the share of permutations with
        ``|z_perm| >= |z_obs| - COMPTOL`` (t under ``"knha"``).
    qm_pvalue : float
        Permutation p-value of the omnibus test: share with ``QM_perm >= QM_obs - COMPTOL``.
    n_permutations : int
        Permutations used (including the observed one); ``exact`` tells whether
        they are all distinct permutations of the model-matrix rows.
    n_failed : int
        Permutations whose fit failed (excluded, as metafor does).
    statistic_perm : ndarray, shape (n_permutations, p)
        Permutation distribution of the coefficient statistics.
    qm_perm : ndarray, shape (n_permutations,)
        Permutation distribution of QM.
    """

    model: MetaRegressionResult
    p_value: NDArray[np.float64]
    qm_pvalue: float
    n_permutations: int
    exact: bool
    n_failed: int
    seed: int | None
    method: str
    test: str
    alpha: float
    statistic_perm: NDArray[np.float64] = field(repr=False)
    qm_perm: NDArray[np.float64] = field(repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        """Coefficient names."""
        return self.model.names

    def summary_frame(self) -> pd.DataFrame:
        """Coefficient table of the model with the permutation p-values in ``p_value``.

        The model's asymptotic p-values are kept in ``p_value_asymptotic``.
        """
        m = self.model
        df = _coef_frame(m.names, m.estimate, m.se, m.ci_low, m.ci_high, m.statistic, self.p_value)
        df["p_value_asymptotic"] = m.p_value
        return df

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "random"
        return (
            f"PermutationTestResult({kind}, n_permutations={self.n_permutations}, method={self.method!r}, "
            f"QM={fmt(self.model.qm)} (perm p={fmt(self.qm_pvalue)}), "
            f"p={dict(zip(self.names, (fmt(x) for x in self.p_value)))})"
        )

    __str__ = __repr__


def _distinct_permutation_count(groups: NDArray[np.int64]) -> int:
    _, counts = np.unique(groups, return_counts=True)
    total = math.factorial(len(groups))
    for c in counts:
        total //= math.factorial(int(c))
    return total


def _multiset_permutations(groups: NDArray[np.int64]) -> NDArray[np.int64]:
    """All distinct orderings of the multiset ``groups`` (lexicographic)."""
    a = sorted(int(g) for g in groups)
    out = [tuple(a)]
    n = len(a)
    while True:
        i = n - 2
        while i >= 0 and a[i] >= a[i + 1]:
            i -= 1
        if i < 0:
            break
        j = n - 1
        while a[j] <= a[i]:
            j -= 1
        a[i], a[j] = a[j], a[i]
        a[i + 1 :] = reversed(a[i + 1 :])
        out.append(tuple(a))
    return np.asarray(out, dtype=np.int64)


def permutation_test(
    yi: ArrayLike,
    vi: ArrayLike,
    moderators: Any,
    *,
    n_iter: int = 1000,
    seed: int | np.random.Generator | None = None,
    method: str = "REML",
    test: str = "z",
    alpha: float = 0.05,
    intercept: bool = True,
    exact: bool = False,
    progress: bool = True,
) -> PermutationTestResult:
    """Permutation test of a meta-regression (metafor ``permutest.rma.uni``).

    As metafor, the rows of the model matrix are permuted relative to
    ``(yi, vi)`` and the model is refitted (Higgins & Thompson 2004 [5]_,
    section 4; Good 2000 [6]_).  The p-value of coefficient j is the share of
    permutations with ``|z_j| >= |z_j,obs| - COMPTOL`` and that of the
    omnibus test the share with ``QM >= QM_obs - COMPTOL``.  If ``exact`` or
    the number of distinct permutations of the rows (``k! / prod(n_g!)`` over
    groups of identical rows) is at most ``n_iter``, all distinct
    permutations are used; otherwise ``n_iter`` random permutations drawn
    with ``numpy.random.default_rng(seed)``, the first replaced by the
    observed order (as metafor).  Fits that fail (non-convergence) are
    excluded and counted in ``n_failed``.

    All permutations are fitted in lock-step by the batch kernels
    (:func:`tau2_mods`, :func:`fit_mods`), in chunks of 8192, with a tqdm
    progress bar.

    Parameters
    ----------
    yi, vi, moderators, method, test, alpha, intercept
        As :func:`meta_regression`.
    n_iter : int
        Number of random permutations (metafor ``iter``), at least 2.
    seed : int or numpy Generator, optional
        Seed of the random permutations.
    exact : bool
        Force the exact test (all distinct permutations).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    PermutationTestResult

    Examples
    --------
    >>> yi = [-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02]
    >>> vi = [0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53, 0.07]
    >>> lat = [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33]
    >>> res = permutation_test(yi, vi, lat, n_iter=500, seed=1, progress=False)
    >>> res.n_permutations, bool(res.qm_pvalue < 0.05)
    (500, True)
    """
    from tqdm.auto import tqdm

    check_seed("seed", seed), check_bool("exact", exact)
    if isinstance(n_iter, bool) or not isinstance(n_iter, (int, np.integer)) or n_iter < 2:
        raise ValueError(f"n_iter={n_iter!r} must be an integer >= 2 (metafor: iter >= 2).")
    model = meta_regression(yi, vi, moderators, method=method, test=test, alpha=alpha, intercept=intercept)
    y, v, X = model.yi, model.vi, model.X
    k, p = X.shape
    btt = list(range(1, p)) if (intercept and p > 1) else list(range(p))
    _, groups = np.unique(X, axis=0, return_inverse=True)
    groups = groups.ravel()
    n_distinct = _distinct_permutation_count(groups)
    use_exact = bool(exact) or n_distinct <= n_iter
    if use_exact and n_distinct > 5_000_000:
        raise ValueError(
            f"exact=True needs {n_distinct} distinct permutations; use exact=False with n_iter "
            f"random permutations instead."
        )
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if use_exact:
        # each distinct label sequence L (group of the row placed at position i) becomes a
        # permutation idx of the rows with groups[idx] == L
        labels_seq = _multiset_permutations(groups)
        order = np.argsort(labels_seq, axis=1, kind="stable")
        perms = np.empty_like(labels_seq)
        np.put_along_axis(perms, order, np.argsort(groups, kind="stable")[None, :], axis=1)
        total = perms.shape[0]
    else:
        total = int(n_iter)
        perms = None
    stat_perm = np.full((total, p), np.nan)
    qm_perm = np.full(total, np.nan)
    bar = tqdm(total=total, desc="permutation test", disable=not progress, unit="fit")
    try:
        for start in range(0, total, _PERM_CHUNK):
            stop = min(total, start + _PERM_CHUNK)
            if perms is not None:
                idx = perms[start:stop]
            else:
                idx = rng.permuted(np.broadcast_to(np.arange(k), (stop - start, k)), axis=1)
                if start == 0:
                    idx[0] = np.arange(k)
            # Row i of the permuted model matrix is X[idx[i]]; refitting (y, v, X[idx]) is the
            # same as refitting (y[inv], v[inv], X) with inv = idx^-1, which keeps X shared
            # so that every cross-product is one matrix product over the batch.
            inv = np.argsort(idx, axis=1)
            Y, V = y[inv], v[inv]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t2, _, conv = tau2_mods(Y, V, X, method=method)
                fit = fit_mods(Y, V, X, t2, test=test, btt=btt)
            good = conv & fit.ok
            stat_perm[start:stop][good] = fit.stat[good]
            qm_perm[start:stop][good] = fit.qm[good]
            bar.update(stop - start)
    finally:
        bar.close()
    valid = ~np.isnan(qm_perm)
    n_failed = int((~valid).sum())
    if n_failed:
        warnings.warn(
            f"{n_failed} of {total} permutation fits failed ({method} did not converge or the "
            f"permuted model matrix was singular); they are excluded from the p-values, as metafor does.",
            ConvergenceWarning,
            stacklevel=2,
        )
    sp = stat_perm[valid]
    pval = np.mean(np.abs(sp) >= np.abs(model.statistic) - COMPTOL, axis=0)
    qmp = float(np.mean(qm_perm[valid] >= model.qm - COMPTOL))
    return PermutationTestResult(
        model=model,
        p_value=np.minimum(pval, 1.0),
        qm_pvalue=qmp,
        n_permutations=total,
        exact=use_exact,
        n_failed=n_failed,
        seed=seed if isinstance(seed, (int, np.integer)) or seed is None else None,
        method=method,
        test=test,
        alpha=model.alpha,
        statistic_perm=stat_perm,
        qm_perm=qm_perm,
    )
