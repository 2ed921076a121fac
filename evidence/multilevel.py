"""Multilevel random-effects meta-analysis: effects nested in samples nested in studies.

The model (metafor ``rma.mv(yi, V, mods, random = ~ 1 | study/sample/effect)``;
Konstantopoulos 2011 [1]_; Van den Noortgate et al. 2013 [2]_) is

    y = X beta + sum_l Z_l u_l + e,   u_l ~ N(0, sigma2_l I),   e ~ N(0, S),

with ``S`` the known sampling covariance (diagonal ``v_i``, blocks given by the
user, or built from an assumed correlation ``rho`` as metafor's ``vcalc``).
Every level nests in the outermost one (the *cluster*), so the marginal
covariance ``M = S + sum_l sigma2_l Z_l Z_l'`` is block diagonal over clusters
and no ``k x k`` matrix is ever formed: blocks are batched by cluster size and
factorised with NumPy's stacked Cholesky; a cluster of more than 64 effects with diagonal
sampling variances is never formed as a matrix either -- its inverse is applied through the
Woodbury identity, with the levels whose groups are single effects folded into the diagonal.

Interface for cluster-robust inference (``evidence.robust``)
-----------------------------------------------------------
A fitted :class:`MultilevelResult` ``res`` (from :func:`meta_analysis_multilevel`) exposes, rows always in the order of
the input data frame (after nothing is dropped: missing values are errors):

``res.X``
    ``(k, p)`` float array, the design matrix (intercept column first when
    ``intercept=True``); ``res.coef_names`` its column names.
``res.y``
    ``(k,)`` float array, the outcomes.
``res.cluster``
    ``(k,)`` object array, the outermost-level id of each row (the cluster
    of the sandwich).
``res.beta``, ``res.vcov``
    ``(p,)`` estimates and ``(p, p)`` model-based covariance
    ``(X' M^-1 X)^-1``.
``res.covariance_blocks()``
    tuple of :class:`ClusterBlock` ``(cluster, rows, V, W)``, one per cluster
    in order of first appearance: ``rows`` the ``(n_j,)`` int row indices into
    ``X``/``y``; ``V`` the ``(n_j, n_j)`` marginal covariance
    ``S_j + sum_l sigma2_l Z_lj Z_lj'`` at the estimates; ``W = V^-1`` the
    model's weight block (so ``beta = (sum X_j' W_j X_j)^-1 sum X_j' W_j y_j``).
``res.sampling_blocks()``
    the same with ``V = S_j`` (sampling covariance only) and ``W = S_j^-1``.

References
----------
.. [1] Konstantopoulos S (2011). Fixed effects and variance components
   estimation in three-level meta-analysis. *Res Synth Methods* 2(1), 61-76.
.. [2] Van den Noortgate W, Lopez-Lopez JA, Marin-Martinez F, Sanchez-Meca J
   (2013). Three-level meta-analysis of dependent effect sizes. *Behav Res
   Methods* 45(2), 576-594.
.. [3] metafor 3.8-1 (Viechtbauer): ``rma.mv()``, ``confint.rma.mv()``,
   ``fitstats()``, ``anova.rma()``, ``vcalc()``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize, stats

from evidence._results import ResultMixin, check_measure, fmt, natural_scale
from evidence._validation import (
    MAX_ABS_EFFECT,
    MAX_VARIANCE,
    MIN_VARIANCE,
    check_alpha,
    check_bool,
    check_choice,
)
from evidence.exceptions import ConvergenceWarning

__all__ = [
    "ClusterBlock",
    "LikelihoodRatioTest",
    "MultilevelResult",
    "constant_correlation_blocks",
    "likelihood_ratio_test",
    "meta_analysis_multilevel",
]

#: Estimators of the variance components.
MULTILEVEL_METHODS: tuple[str, ...] = ("REML", "ML")
#: Reference distributions of the coefficient tests (metafor ``test="z"`` / ``test="t"``).
MULTILEVEL_TESTS: tuple[str, ...] = ("z", "t")
#: Variance components below this are reported as 0 (metafor sets sigma2 <= 10 * eps to 0).
_ZERO_VC = 10 * np.finfo(float).eps

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ClusterBlock:
    """One cluster's rows and covariance block (see the module docstring)."""

    cluster: Any
    rows: NDArray[np.intp]
    V: FloatArray
    W: FloatArray


# ----------------------------------------------------------------------------------------------
# the design: blocks batched by cluster size
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _SizeGroup:
    """All clusters of one size ``n``: stacked arrays of shape (m, n, ...)."""

    rows: NDArray[np.intp]  # (m, n) row indices
    S: FloatArray  # (m, n, n) sampling covariance
    D: FloatArray  # (L, m, n, n) 0/1: rows sharing a group at level l
    X: FloatArray  # (m, n, p): rows of the orthonormal factor Q of X = Q R
    y: FloatArray  # (m, n)


#: Clusters with more rows than this and diagonal sampling variances are not stacked as dense
#: blocks: their inverse is applied by the Woodbury identity (``_Woodbury``), at a cost that grows
#: with the rows times the squared number of groups above the row level, not with rows cubed.
_DENSE_MAX = 64


@dataclass(frozen=True)
class _LargeCluster:
    """One large cluster with diagonal sampling variances: ``M = diag(s) + sum_l sigma2_l Z_l Z_l'``."""

    index: int  # into _Design.clusters
    rows: NDArray[np.intp]
    s: FloatArray  # (n,) sampling variances
    Z: tuple[FloatArray | None, ...]  # per level (n, g_l) 0/1 indicators; None where each group is one row
    X: FloatArray  # (n, p) rows of Q
    y: FloatArray  # (n,)


@dataclass(frozen=True)
class _Design:
    groups: tuple[_SizeGroup, ...]
    large: tuple[_LargeCluster, ...]
    clusters: tuple[Any, ...]  # cluster ids in order of first appearance
    cluster_of_group: tuple[NDArray[np.intp], ...]  # per size group, index into clusters
    k: int
    p: int
    n_levels: int
    R: FloatArray  # X = Q R: the likelihood is computed with Q (invariant), coefficients mapped back
    X: FloatArray  # (k, p) the design as given


def _level_codes(frame: pd.DataFrame, levels: Sequence[str]) -> list[NDArray[np.intp]]:
    """Integer group codes per level, each level's ids combined with its parents' (metafor's ``/``)."""
    codes: list[NDArray[np.intp]] = []
    for name in levels:
        own = pd.factorize(frame[name])[0].astype(np.int64)
        if codes:
            own = codes[-1].astype(np.int64) * (int(own.max()) + 1) + own
        codes.append(pd.factorize(own)[0].astype(np.intp))
    return codes


def _build_design(y: FloatArray, X: FloatArray, codes: list[NDArray[np.intp]],
                  S_blocks: list[FloatArray], rows_of: list[NDArray[np.intp]],
                  clusters: tuple[Any, ...]) -> _Design:
    """Stack the clusters' blocks by size (the only place arrays of blocks are built)."""
    sizes = np.array([len(r) for r in rows_of])
    Q, R = np.linalg.qr(X)  # an orthonormal basis keeps tr(P D) free of cancellation (uncentred moderators)
    large = []
    for j in np.flatnonzero(sizes > _DENSE_MAX):
        S, r = S_blocks[j], rows_of[j]
        if np.count_nonzero(S - np.diag(np.diag(S))):
            continue  # a full sampling covariance block stays dense
        Z = []
        for c in codes:
            local = pd.factorize(c[r])[0]
            g = int(local.max()) + 1
            Z.append(None if g == len(r) else (local[:, None] == np.arange(g)[None, :]).astype(float))
        large.append(_LargeCluster(index=int(j), rows=r.astype(np.intp), s=np.diag(S).copy(), Z=tuple(Z),
                                   X=Q[r], y=y[r]))
        sizes[j] = 0  # not stacked
    groups, cog = [], []
    for n in np.unique(sizes[sizes > 0]):
        idx = np.flatnonzero(sizes == n)
        rows = np.stack([rows_of[i] for i in idx]).astype(np.intp)
        S = np.stack([S_blocks[i] for i in idx])
        D = np.stack([(c[rows][:, :, None] == c[rows][:, None, :]).astype(float) for c in codes])
        groups.append(_SizeGroup(rows=rows, S=S, D=D, X=Q[rows], y=y[rows]))
        cog.append(idx.astype(np.intp))
    return _Design(groups=tuple(groups), large=tuple(large), clusters=clusters, cluster_of_group=tuple(cog),
                   k=len(y), p=X.shape[1], n_levels=len(codes), R=R, X=X)


class _Woodbury:
    """``M^-1`` of a large cluster by the Woodbury identity, never forming an ``n x n`` matrix.

    Levels whose groups are single rows fold into the diagonal, ``s' = s + sum sigma2_l``; the others
    stack into ``Z G^1/2`` (``n x q``), and with ``U = S'^-1 Z G^1/2`` and
    ``C = (I + G^1/2 Z'S'^-1 Z G^1/2)^-1``: ``M^-1 = S'^-1 - U C U'`` and
    ``log|M| = sum log s' + log|C^-1|`` (Harville 1977, section 3; Searle, Casella & McCulloch 1992,
    appendix M.5).
    """

    def __init__(self, c: _LargeCluster, sigma2: FloatArray) -> None:
        self.sp = c.s + sum(float(sigma2[i]) for i, z in enumerate(c.Z) if z is None)
        cols = [z * math.sqrt(sigma2[i]) for i, z in enumerate(c.Z) if z is not None]
        ZG = np.hstack(cols) if cols else np.zeros((len(c.s), 0))
        self.U = ZG / self.sp[:, None]
        Kc = np.linalg.cholesky(np.eye(ZG.shape[1]) + ZG.T @ self.U)
        self.logdet = float(np.sum(np.log(self.sp)) + 2 * np.sum(np.log(np.diag(Kc))))
        self.C = np.linalg.inv(Kc @ Kc.T)

    def apply(self, v: FloatArray) -> FloatArray:
        """``M^-1 v`` for ``v`` of shape (n, j)."""
        return v / self.sp[:, None] - self.U @ (self.C @ (self.U.T @ v))

    def trace(self) -> float:
        return float(np.sum(1 / self.sp) - np.sum((self.U @ self.C) * self.U))

    def frobenius2(self) -> float:
        """``||M^-1||_F^2``."""
        UtSU = self.U.T @ (self.U / self.sp[:, None])
        CUU = self.C @ (self.U.T @ self.U)
        return float(np.sum(self.sp ** -2.0) - 2 * np.trace(self.C @ UtSU) + np.trace(CUU @ CUU))

    def dense(self) -> FloatArray:
        return np.diag(1 / self.sp) - self.U @ self.C @ self.U.T


def _large_derivatives(c: _LargeCluster, wb: _Woodbury, WX: FloatArray, Wr: FloatArray, score: FloatArray,
                       trWD: FloatArray, tWDWD: FloatArray, Q: FloatArray, T: FloatArray) -> None:
    """Add one large cluster's terms of the score and information (same quantities as the dense path)."""
    L = len(c.Z)
    none = np.empty((0, 0))
    WZ = [none if z is None else wb.apply(z) for z in c.Z]  # M^-1 Z_l (unused for folded levels)
    E = []  # D_l M^-1 X
    for i, z in enumerate(c.Z):
        ZtWr = Wr if z is None else z.T @ Wr
        ZtWX = WX if z is None else z.T @ WX
        score[i] += 0.5 * float(ZtWr @ ZtWr)
        Q[i] += ZtWX.T @ ZtWX
        E.append(WX if z is None else z @ ZtWX)
        trWD[i] += wb.trace() if z is None else float(np.sum(z * WZ[i]))
    for i in range(L):
        for j in range(L):
            zi, zj = c.Z[i], c.Z[j]
            if zi is not None and zj is not None:
                tWDWD[i, j] += float(np.sum((zi.T @ WZ[j]) ** 2))
            elif zi is None and zj is None:
                tWDWD[i, j] += wb.frobenius2()
            else:
                tWDWD[i, j] += float(np.sum(WZ[j if zi is None else i] ** 2))
            T[i, j] += E[i].T @ wb.apply(E[j])


# ----------------------------------------------------------------------------------------------
# the kernel: likelihood, score and Fisher information from per-cluster blocks
# ----------------------------------------------------------------------------------------------
def _cross(A: FloatArray, B: FloatArray) -> FloatArray:
    """``sum_m A_m' B_m`` for stacks ``(m, n, p)`` and ``(m, n, q)``: one BLAS product."""
    return A.reshape(-1, A.shape[-1]).T @ B.reshape(-1, B.shape[-1])


@dataclass
class _Eval:
    ll: float
    beta: FloatArray
    vcov: FloatArray
    score: FloatArray
    info: FloatArray
    ll_ml: float
    ll_reml: float


def _evaluate(design: _Design, sigma2: FloatArray, reml: bool, derivatives: bool = True) -> _Eval:
    """Log-likelihood (ML and REML), GLS fit, score and expected information at ``sigma2``.

    metafor's ``.ll.rma.mv``: ``ll_ML = -k/2 log 2pi - 1/2 log|M| - 1/2 r'M^-1 r`` and
    ``ll_REML = -(k-p)/2 log 2pi + 1/2 log|X'X| - 1/2 log|M| - 1/2 log|X'M^-1 X| - 1/2 r'M^-1 r``.
    Score and information follow Harville (1977), with ``P = M^-1 - M^-1 X A^-1 X' M^-1``:
    ``dl/ds_l = -1/2 tr(P D_l) + 1/2 r'M^-1 D_l M^-1 r`` and ``I_lm = 1/2 tr(P D_l P D_m)`` (REML;
    ``M^-1`` in place of ``P`` for ML).
    """
    L, p = design.n_levels, design.p
    A = np.zeros((p, p))
    b = np.zeros(p)
    logdet = 0.0
    cache = []
    for g in design.groups:
        M = g.S + np.tensordot(sigma2, g.D, axes=1)
        logdet += 2.0 * float(np.sum(np.log(np.diagonal(np.linalg.cholesky(M), axis1=1, axis2=2))))
        W = np.linalg.inv(M)
        WX = W @ g.X
        A += _cross(g.X, WX)
        b += _cross(WX, g.y[:, :, None])[:, 0]
        cache.append((W, WX))
    wbs = []
    for c in design.large:
        wb = _Woodbury(c, sigma2)
        WXc = wb.apply(c.X)
        logdet += wb.logdet
        A += c.X.T @ WXc
        b += WXc.T @ c.y
        wbs.append((wb, WXc))
    vcov = np.linalg.inv(A)
    vcov = (vcov + vcov.T) / 2
    beta = vcov @ b  # of Q; mapped to X's coefficients at the end
    rss = 0.0
    score = np.zeros(L)
    info = np.zeros((L, L))
    trWD = np.zeros(L)
    Q = np.zeros((L, p, p))  # X'W D_l W X
    T = np.zeros((L, L, p, p))  # X'W D_l W D_m W X
    tWDWD = np.zeros((L, L))
    for g, (W, WX) in zip(design.groups, cache, strict=True):
        r = g.y - (g.X @ beta[:, None])[:, :, 0]
        Wr = (W @ r[:, :, None])[:, :, 0]
        rss += float(np.sum(r * Wr))
        if not derivatives:
            continue
        DWr = (g.D @ Wr[None, :, :, None])[..., 0]  # (L, m, n)
        score += 0.5 * np.sum(DWr * Wr[None], axis=(1, 2))
        B = W[None] @ g.D  # W D_l, (L, m, n, n)
        trWD += np.trace(B, axis1=2, axis2=3).sum(axis=1)
        Bt = np.swapaxes(B, 2, 3)
        for li in range(L):
            tWDWD[li] += np.sum(B[li][None] * Bt, axis=(1, 2, 3))
        DWX = g.D @ WX[None]  # (L, m, n, p)
        WDWX = W[None] @ DWX
        for li in range(L):
            Q[li] += _cross(WX, DWX[li])
            for lj in range(L):
                T[li, lj] += _cross(DWX[li], WDWX[lj])
    for c, (wb, WXc) in zip(design.large, wbs, strict=True):
        rc = c.y - c.X @ beta
        Wr = wb.apply(rc[:, None])[:, 0]
        rss += float(rc @ Wr)
        if derivatives:
            _large_derivatives(c, wb, WXc, Wr, score, trWD, tWDWD, Q, T)
    ll_ml = -0.5 * design.k * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * rss
    # with Q'Q = I: 1/2 log|X'X| - 1/2 log|X'M^-1 X| = -1/2 log|Q'M^-1 Q|
    ll_reml = (-0.5 * (design.k - p) * math.log(2 * math.pi) - 0.5 * logdet
               + 0.5 * np.linalg.slogdet(vcov)[1] - 0.5 * rss)
    if derivatives:
        if reml:
            trPD = trWD - np.einsum("ij,lji->l", vcov, Q)
            score -= 0.5 * trPD
            for a in range(L):
                for e in range(L):
                    info[a, e] = 0.5 * (tWDWD[a, e] - 2 * np.trace(vcov @ T[a, e])
                                        + np.trace(vcov @ Q[a] @ vcov @ Q[e]))
        else:
            score -= 0.5 * trWD
            info = 0.5 * tWDWD
    Rinv = np.linalg.inv(design.R)
    beta, vcov = Rinv @ beta, Rinv @ vcov @ Rinv.T
    return _Eval(ll=ll_reml if reml else ll_ml, beta=beta, vcov=(vcov + vcov.T) / 2, score=score, info=info,
                 ll_ml=ll_ml, ll_reml=float(ll_reml))


# ----------------------------------------------------------------------------------------------
# the optimiser: Fisher scoring on the variance components, L-BFGS-B on their logs as fallback
# ----------------------------------------------------------------------------------------------
def _scoring(design: _Design, reml: bool, start: FloatArray, free: NDArray[np.bool_],
             tol: float, maxiter: int) -> tuple[FloatArray, _Eval, bool, int]:
    """Fisher scoring with step halving; a component at 0 whose score is <= 0 stays at 0."""
    s2 = start.copy()
    ev = _evaluate(design, s2, reml)
    for it in range(1, maxiter + 1):
        act = free & ~((s2 <= 0) & (ev.score <= 0))
        if not act.any():
            return s2, ev, True, it
        step = np.linalg.lstsq(ev.info[np.ix_(act, act)], ev.score[act], rcond=None)[0]
        t = 1.0
        while True:
            new = s2.copy()
            new[act] = np.maximum(s2[act] + t * step, 0.0)
            ev_new = _evaluate(design, new, reml)
            if ev_new.ll >= ev.ll - 1e-13 * abs(ev.ll) or t < 1e-10:
                break
            t /= 2
        change = float(np.max(np.abs(new - s2)))
        s2, ev = new, ev_new
        if change <= tol * max(1.0, float(np.max(s2))):
            return s2, ev, True, it
    return s2, ev, False, maxiter


def _lbfgs(design: _Design, reml: bool, start: FloatArray, free: NDArray[np.bool_],
           tol: float, maxiter: int) -> tuple[FloatArray, _Eval, bool, int]:
    """L-BFGS-B on ``log sigma2`` of the free components with the analytic score."""
    s2 = start.copy()

    def f(theta: FloatArray) -> tuple[float, FloatArray]:
        s2[free] = np.exp(theta)
        ev = _evaluate(design, s2, reml)
        return -ev.ll, -ev.score[free] * s2[free]

    x0 = np.log(np.maximum(start[free], 1e-4))
    res = optimize.minimize(f, x0, jac=True, method="L-BFGS-B",
                            bounds=[(-40.0, 20.0)] * int(free.sum()),
                            options={"ftol": 1e-15, "gtol": tol, "maxiter": maxiter})
    s2[free] = np.exp(res.x)
    s2[s2 <= _ZERO_VC] = 0.0
    return s2, _evaluate(design, s2, reml), bool(res.success), int(res.nit)


def _fit(design: _Design, reml: bool, fixed: Mapping[int, float] | None = None,
         start: FloatArray | None = None, tol: float = 1e-10,
         maxiter: int = 500) -> tuple[FloatArray, _Eval, bool, int]:
    """Maximise the (restricted) likelihood over the variance components not in ``fixed``."""
    L = design.n_levels
    s2 = _start_values(design) if start is None else np.asarray(start, float).copy()
    free = np.ones(L, dtype=bool)
    for idx, val in (fixed or {}).items():
        s2[idx] = val
        free[idx] = False
    if not free.any():
        return s2, _evaluate(design, s2, reml), True, 0
    out = _scoring(design, reml, s2, free, tol, maxiter)
    if not out[2]:
        out = _lbfgs(design, reml, out[0], free, tol, maxiter)
    return out


def _start_values(design: _Design) -> FloatArray:
    """Equal shares of the residual variance of an ordinary least-squares fit beyond the mean v_i."""
    X = np.concatenate([g.X.reshape(-1, design.p) for g in design.groups] + [c.X for c in design.large])
    y = np.concatenate([g.y.ravel() for g in design.groups] + [c.y for c in design.large])
    v = np.concatenate([np.einsum("maa->ma", g.S).ravel() for g in design.groups] + [c.s for c in design.large])
    resid = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    total = max(float(np.var(resid)) - float(np.mean(v)), 0.01 * float(np.var(y)) + 1e-8)
    return np.full(design.n_levels, total / design.n_levels)


# ----------------------------------------------------------------------------------------------
# input: columns by name, errors naming the column and the row
# ----------------------------------------------------------------------------------------------
def _column(data: pd.DataFrame, arg: str, name: Any) -> pd.Series:
    if not isinstance(name, str) or name not in data.columns:
        raise ValueError(f"{arg}={name!r} is not a column of data; the columns are "
                         f"{', '.join(map(str, data.columns))}.")
    return data[name]


def _numeric(data: pd.DataFrame, arg: str, name: str) -> FloatArray:
    col = _column(data, arg, name)
    if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
        raise TypeError(f"{arg}: column {name!r} has dtype {col.dtype}; a numeric column is needed "
                        "(code a categorical moderator as 0/1 columns).")
    arr = col.to_numpy(dtype=float)
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{arg}: column {name!r} is {arr[i]} at row {data.index[i]!r} "
                         f"({int(bad.sum())} row(s) not finite); every value must be a finite number.")
    return arr


def _ids(data: pd.DataFrame, name: str) -> pd.Series:
    col = _column(data, "levels", name)
    miss = col.isna().to_numpy()
    if miss.any():
        rows = list(data.index[miss][:5])
        raise ValueError(f"levels: column {name!r} has no id at row(s) {rows}"
                         f"{' ...' if miss.sum() > 5 else ''}; every row needs an id at every level.")
    return col


def _design_matrix(data: pd.DataFrame, mods: Sequence[str], intercept: bool) -> tuple[FloatArray, tuple[str, ...]]:
    if isinstance(mods, str):
        mods = [mods]
    cols = [_numeric(data, "mods", m) for m in mods]
    names = (("intrcpt",) if intercept else ()) + tuple(mods)
    if intercept:
        cols.insert(0, np.ones(len(data)))
    if not cols:
        raise ValueError("mods=() with intercept=False leaves no fixed effect; add a moderator or the intercept.")
    X = np.column_stack(cols)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ValueError(f"mods={list(mods)!r}: the design matrix ({', '.join(names)}) is not of full column rank "
                         "(a moderator is constant or a combination of others).")
    return X, names


def _check_block(block: Any, cluster: Any, rows: NDArray[np.intp], index: pd.Index) -> FloatArray:
    B = np.asarray(block, dtype=float)
    n = len(rows)
    where = f"cluster {cluster!r} (rows {list(index[rows][:6])}{' ...' if n > 6 else ''})"
    if B.shape != (n, n):
        raise ValueError(f"V: the block of {where} has shape {B.shape}; it must be ({n}, {n}).")
    if not np.all(np.isfinite(B)) or not np.allclose(B, B.T, rtol=1e-10, atol=0):
        raise ValueError(f"V: the block of {where} is not a finite symmetric matrix.")
    try:
        np.linalg.cholesky(B)
    except np.linalg.LinAlgError:
        eig = float(np.linalg.eigvalsh(B)[0])
        raise ValueError(f"V: the sampling covariance block of {where} is not positive definite "
                         f"(smallest eigenvalue {eig:.3g}); check rho and the variances.") from None
    return B


def _sampling_blocks(data: pd.DataFrame, vi: str, V: Any, clusters: tuple[Any, ...],
                     rows_of: list[NDArray[np.intp]], cluster_col: str) -> list[FloatArray]:
    if V is None:
        v = _numeric(data, "vi", vi)
        bad = (v < MIN_VARIANCE) | (v > MAX_VARIANCE)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"vi: column {vi!r} is {v[i]} at row {data.index[i]!r}; sampling variances "
                             f"must lie in [{MIN_VARIANCE:g}, {MAX_VARIANCE:g}] (so > 0).")
        return [np.diag(v[r]) for r in rows_of]
    if isinstance(V, Mapping):
        unknown = [c for c in V if c not in set(clusters)]
        if unknown:
            raise ValueError(f"V: key(s) {unknown[:5]} are not ids of the outermost level {cluster_col!r}.")
        missing = [c for c in clusters if c not in V]
        if missing:
            raise ValueError(f"V: no block for cluster(s) {missing[:5]} of {cluster_col!r}; give one per cluster.")
        return [_check_block(V[c], c, r, data.index) for c, r in zip(clusters, rows_of, strict=True)]
    full = np.asarray(V, dtype=float)
    k = len(data)
    if full.shape != (k, k):
        raise ValueError(f"V has shape {full.shape}; give a ({k}, {k}) matrix or a mapping cluster -> block.")
    label = np.empty(k, dtype=np.intp)
    for j, r in enumerate(rows_of):
        label[r] = j
    a, b = np.nonzero((full != 0) & (label[:, None] != label[None, :]))
    if len(a):
        raise ValueError(f"V: rows {data.index[a[0]]!r} and {data.index[b[0]]!r} have covariance "
                         f"{full[a[0], b[0]]:.3g} but lie in different clusters {clusters[label[a[0]]]!r} and "
                         f"{clusters[label[b[0]]]!r} of {cluster_col!r}: the sampling covariance does not nest "
                         "in the outermost level.")
    return [_check_block(full[np.ix_(r, r)], c, r, data.index) for c, r in zip(clusters, rows_of, strict=True)]


def constant_correlation_blocks(data: pd.DataFrame, *, vi: str = "vi", cluster: str = "study",
                                rho: float = 0.6) -> dict[Any, FloatArray]:
    """Sampling covariance blocks with a common correlation ``rho`` within each cluster.

    ``V_ij = rho * sqrt(v_i v_j)`` for two effects of one cluster, ``v_i`` on the diagonal:
    metafor's ``vcalc(vi, cluster, obs, rho)`` in its common case (Pustejovsky & Tipton
    2021, the "constant correlation" working model).  Rows of a block follow the data order.

    Parameters
    ----------
    data : DataFrame
    vi, cluster : str
        Columns of the sampling variances and of the cluster ids.
    rho : float
        Correlation, in (-1, 1).

    Returns
    -------
    dict
        Cluster id -> ``(n_j, n_j)`` block, in order of first appearance; pass as ``V=``.

    Examples
    --------
    >>> df = pd.DataFrame({"study": [1, 1, 2], "vi": [0.04, 0.09, 0.01]})
    >>> constant_correlation_blocks(df, rho=0.5)[1].round(3).tolist()
    [[0.04, 0.03], [0.03, 0.09]]
    """
    if not isinstance(rho, (int, float)) or not -1.0 < float(rho) < 1.0:
        raise ValueError(f"rho={rho!r} must be a number strictly between -1 and 1.")
    v = _numeric(data, "vi", vi)
    ids = _ids(data, cluster).to_numpy()
    codes, uniq = pd.factorize(ids)
    out: dict[Any, FloatArray] = {}
    for j, c in enumerate(uniq):
        sd = np.sqrt(v[codes == j])
        block = float(rho) * np.outer(sd, sd)
        np.fill_diagonal(block, sd**2)
        out[c] = block
    return out


# ----------------------------------------------------------------------------------------------
# the result
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class MultilevelResult(ResultMixin):
    """A fitted multilevel model (see :func:`meta_analysis_multilevel`); every number is an attribute."""

    coef_names: tuple[str, ...]
    beta: FloatArray
    se: FloatArray
    statistic: FloatArray
    p_value: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    vcov: FloatArray
    levels: tuple[str, ...]
    n_groups: tuple[int, ...]
    sigma2: FloatArray
    sigma2_ci_low: FloatArray | None
    sigma2_ci_high: FloatArray | None
    i2: FloatArray
    i2_total: float
    typical_variance: float
    qm: float
    qm_df: int
    qm_pvalue: float
    qe: float
    qe_df: int
    qe_pvalue: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    n_params: int
    k: int
    method: str
    test: str
    df: float
    alpha: float
    converged: bool
    iterations: int
    measure: str | None
    X: FloatArray
    y: FloatArray
    cluster: NDArray[Any]
    row_labels: tuple[Any, ...]
    _design: _Design = field(compare=False)

    # -- interface for the sandwich (module docstring) --------------------------------------
    def covariance_blocks(self) -> tuple[ClusterBlock, ...]:
        """Per-cluster rows, marginal covariance ``V_j = S_j + sum_l sigma2_l Z Z'`` and ``W_j = V_j^-1``."""
        return self._blocks(self.sigma2)

    def sampling_blocks(self) -> tuple[ClusterBlock, ...]:
        """Per-cluster rows, sampling covariance ``S_j`` and its inverse."""
        return self._blocks(np.zeros_like(self.sigma2))

    def _blocks(self, sigma2: FloatArray) -> tuple[ClusterBlock, ...]:
        d = self._design
        out: list[ClusterBlock | None] = [None] * len(d.clusters)
        for g, cidx in zip(d.groups, d.cluster_of_group, strict=True):
            M = g.S + np.einsum("l,lmab->mab", sigma2, g.D)
            W = np.linalg.inv(M)
            for i, c in enumerate(cidx):
                out[c] = ClusterBlock(cluster=d.clusters[c], rows=g.rows[i].copy(), V=M[i], W=W[i])
        for lc in d.large:  # dense n x n here: the sandwich needs the blocks themselves
            M1 = np.diag(lc.s) + sum(sigma2[i] * (np.eye(len(lc.s)) if z is None else z @ z.T)
                                     for i, z in enumerate(lc.Z))
            out[lc.index] = ClusterBlock(cluster=d.clusters[lc.index], rows=lc.rows.copy(), V=M1,
                                         W=_Woodbury(lc, sigma2).dense())
        return tuple(b for b in out if b is not None)

    # -- presentation ------------------------------------------------------------------------
    @property
    def ratio_scale(self) -> bool:
        """Whether the measure is a log ratio (estimates are then also shown as ratios)."""
        return natural_scale(self.measure)[0] == "exp"

    def natural_transform(self) -> str | None:
        """``"exp"`` for a ratio measure (coefficients become ratios), else None, as for meta-regression."""
        return "exp" if self.ratio_scale else None

    def summary_frame(self) -> pd.DataFrame:
        """Coefficients: estimate, se, ci_low, ci_high, weight (NaN: a coefficient has no weight),
        statistic, p_value; on the ratio scale by default for a ratio measure (``transform=None``: log)."""
        return pd.DataFrame({"estimate": self.beta, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
                             "weight": np.nan, "statistic": self.statistic, "p_value": self.p_value},
                            index=pd.Index(self.coef_names, name="coefficient"))

    def variance_components(self) -> pd.DataFrame:
        """sigma2 per level with its profile-likelihood interval, the number of groups and I^2.

        The interval columns are NaN only when the fit was made with ``profile=False`` (or did not
        converge); ``sigma2_ci_low`` is then None.
        """
        lo = self.sigma2_ci_low if self.sigma2_ci_low is not None else np.full(len(self.levels), np.nan)
        hi = self.sigma2_ci_high if self.sigma2_ci_high is not None else np.full(len(self.levels), np.nan)
        return pd.DataFrame({"sigma2": self.sigma2, "ci_low": lo, "ci_high": hi,
                             "n_groups": self.n_groups, "i2": self.i2},
                            index=pd.Index(self.levels, name="level"))

    def fit_statistics(self) -> pd.Series:
        """metafor's ``fitstats``: log-likelihood, deviance, AIC, BIC, AICc (of this fit's method)."""
        return pd.Series({"loglik": self.loglik, "deviance": self.deviance, "aic": self.aic,
                          "bic": self.bic, "aicc": self.aicc}, name=self.method)

    def __str__(self) -> str:
        lv = ", ".join(f"{n}={fmt(s)}" for n, s in zip(self.levels, self.sigma2, strict=True))
        return (f"MultilevelResult(method={self.method!r}, k={self.k}, levels={'/'.join(self.levels)}, "
                f"sigma2: {lv}, {self.coef_names[0]}={fmt(self.beta[0])} [{fmt(self.ci_low[0])}, "
                f"{fmt(self.ci_high[0])}], converged={self.converged})")

    __repr__ = __str__

    def summary(self) -> str:
        """The fit in words."""
        pct = f"{100 * (1 - self.alpha):g}%"
        scale = f" ({self.measure}, log scale)" if self.ratio_scale else (f" ({self.measure})" if self.measure else "")
        lines = [f"Multilevel random-effects model ({self.method}), {self.k} effects in "
                 f"{self.n_groups[0]} clusters of {self.levels[0]!r}; levels {' / '.join(self.levels)}."
                 + ("" if self.converged else " WARNING: the optimiser did not converge; do not use these numbers.")]
        for i, name in enumerate(self.coef_names):
            line = (f"  {name}: {self.beta[i]:.4f}{scale}, SE {self.se[i]:.4f}, {pct} CI "
                    f"{self.ci_low[i]:.4f} to {self.ci_high[i]:.4f}, {self.test} = {self.statistic[i]:.3f}, "
                    f"p = {self.p_value[i]:.3g}")
            if self.ratio_scale:
                line += (f"; as a ratio {math.exp(self.beta[i]):.3f} ({math.exp(self.ci_low[i]):.3f} to "
                         f"{math.exp(self.ci_high[i]):.3f})")
            lines.append(line)
        for i, name in enumerate(self.levels):
            ci = ""
            if self.sigma2_ci_low is not None and self.sigma2_ci_high is not None:
                ci = f" ({pct} profile CI {self.sigma2_ci_low[i]:.4f} to {self.sigma2_ci_high[i]:.4f})"
            lines.append(f"  variance at level {name!r} ({self.n_groups[i]} groups): {self.sigma2[i]:.4f}{ci}, "
                         f"I^2 {100 * self.i2[i]:.1f}%")
        lines.append(f"  Total I^2 {100 * self.i2_total:.1f}% (typical sampling variance {self.typical_variance:.4g}); "
                     f"residual heterogeneity QE({self.qe_df}) = {self.qe:.2f}, p = {self.qe_pvalue:.3g}.")
        if self.coef_names != ("intrcpt",):
            lines.append(f"  Moderators together: QM({self.qm_df}) = {self.qm:.3f}, p = {self.qm_pvalue:.3g}.")
        lines.append(f"  logLik {self.loglik:.4f}, AIC {self.aic:.4f}, BIC {self.bic:.4f}, AICc {self.aicc:.4f}.")
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# the front door
# ----------------------------------------------------------------------------------------------
def meta_analysis_multilevel(data: pd.DataFrame, *, levels: Sequence[str], yi: str = "yi", vi: str = "vi",
               mods: Sequence[str] = (), intercept: bool = True, V: Any = None,
               sigma2: Sequence[float | None] | None = None, method: str = "REML", test: str = "z",
               alpha: float = 0.05, profile: bool = True,
               tol: float = 1e-10, maxiter: int = 500) -> MultilevelResult:
    """Fit a multilevel random-effects model (metafor ``rma.mv`` with nested random intercepts).

    ``levels=["study", "sample", "effect"]`` is metafor's ``random = ~ 1 | study/sample/effect``:
    a variance component per level, each level's ids taken within its parent's (so sample "1"
    of study A and sample "1" of study B are different samples).  The variance components
    maximise the restricted (``"REML"``) or full (``"ML"``) likelihood by Fisher scoring
    (Harville 1977), with L-BFGS-B on their logarithms as fallback; ``beta`` is the GLS estimate
    ``(X'M^-1X)^-1 X'M^-1 y``.  The marginal covariance ``M`` is block diagonal over the first
    level; blocks are batched by size, so memory and time grow with the sum of squared cluster
    sizes, never with ``k^2``.

    Parameters
    ----------
    data : DataFrame
        One row per effect size.  ``data.attrs["measure"]``, if present, is recorded.
    levels : sequence of str
        Id columns, outermost first.  The first is the cluster of the block-diagonal structure
        (and of cluster-robust inference).
    yi, vi : str
        Columns of the effect sizes and their sampling variances (``vi`` is unused when ``V``
        is given).
    mods : sequence of str
        Numeric moderator columns.
    intercept : bool
        Add an intercept column (named ``"intrcpt"`` as in metafor).
    V : mapping or array, optional
        Known sampling covariance: a mapping from first-level id to its ``(n_j, n_j)`` block
        (rows in data order; :func:`constant_correlation_blocks` builds one from ``rho``), or a
        ``(k, k)`` matrix that must be zero between clusters.  Default ``diag(vi)``.
    sigma2 : sequence of float or None, optional
        One entry per level: a number fixes that variance component (metafor's ``sigma2=``
        argument), ``None`` estimates it.  Fixed components are not parameters of the fit.
    method : {"REML", "ML"}
    test : {"z", "t"}
        Normal reference, or t with ``k - p`` degrees of freedom (``qm`` then an F test), as
        metafor's ``test="t"``.
    alpha : float
        1 - confidence level.
    profile : bool
        Compute profile-likelihood intervals of the variance components (``confint.rma.mv``);
        each bound is a root search over refits, so large models may skip them.
    tol, maxiter : float, int
        Convergence: relative change of the variance components below ``tol``.

    Returns
    -------
    MultilevelResult

    Notes
    -----
    Log-likelihoods, AIC, BIC and AICc are metafor's ``fitstats`` (REML: ``k - p`` observations,
    ``1/2 log|X'X|`` included).  I^2 per level is ``sigma2_l / (sum sigma2 + s^2)`` with the
    typical sampling variance ``s^2 = (k - p) / tr(P)``, ``P = W - W X (X'W X)^-1 X'W`` and
    ``W = S^-1`` (Nakagawa & Santos 2012, *Evol Ecol* 26, 1253-1274), the first method of metafor's
    FAQ page "I^2 for multilevel and multivariate models" (W. Viechtbauer,
    metafor-project.org/doku.php/tips:i2_multilevel_multivariate); the page's alternative after
    Jackson, White & Riley (2012), from the ratio of the variances of the pooled estimate, is not
    computed here.  With diagonal ``S`` and an intercept-only model this is Cheung's (2014) split
    of the variance (dmetar's ``mlm.variance.distribution``).  ``qe`` is the test of residual
    heterogeneity ``(y - X b)'S^-1(y - X b)`` with ``b`` the common-effect GLS estimate.

    Examples
    --------
    >>> df = pd.DataFrame({"district": [1, 1, 1, 2, 2, 3, 3, 3, 4, 4],
    ...                    "school": [1, 2, 3, 1, 2, 1, 2, 3, 1, 2],
    ...                    "yi": [0.1, 0.3, 0.2, -0.1, 0.0, 0.5, 0.6, 0.4, 0.2, 0.1],
    ...                    "vi": [0.02, 0.03, 0.02, 0.04, 0.02, 0.03, 0.02, 0.05, 0.02, 0.03]})
    >>> res = meta_analysis_multilevel(df, levels=["district", "school"], profile=False)
    >>> res.converged, res.k, res.n_groups
    (True, 10, (4, 10))
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
    method = check_choice("method", method, MULTILEVEL_METHODS)
    test = check_choice("test", test, MULTILEVEL_TESTS)
    alpha = check_alpha(alpha)
    if isinstance(levels, str) or not levels:
        raise ValueError(f"levels={levels!r} must be a non-empty list of id columns, outermost first.")
    levels = tuple(levels)
    y = _numeric(data, "yi", yi)
    big = np.abs(y) > MAX_ABS_EFFECT
    if big.any():
        i = int(np.flatnonzero(big)[0])
        raise ValueError(f"yi: column {yi!r} is {y[i]:.3g} at row {data.index[i]!r}; effect sizes must lie within "
                         f"+-{MAX_ABS_EFFECT:g}.")
    X, names = _design_matrix(data, mods, check_bool("intercept", intercept))
    id_frame = pd.DataFrame({c: _ids(data, c) for c in levels})
    codes = _level_codes(id_frame, levels)
    outer = id_frame[levels[0]].to_numpy()
    clusters = tuple(pd.unique(outer))
    order = np.argsort(codes[0], kind="stable")
    rows_of = np.split(order, np.cumsum(np.bincount(codes[0]))[:-1])
    S_blocks = _sampling_blocks(data, vi, V, clusters, rows_of, levels[0])
    design = _build_design(y, X, codes, S_blocks, rows_of, clusters)
    reml = method == "REML"
    fixed = _fixed_components(sigma2, levels)
    est, ev, converged, it = _fit(design, reml, fixed=fixed, tol=tol, maxiter=maxiter)
    est = np.where(est <= _ZERO_VC, 0.0, est)
    ev = _evaluate(design, est, reml, derivatives=False)
    if not (converged and np.isfinite(ev.ll)):
        converged = False
        warnings.warn(f"The variance components did not converge in {maxiter} iterations of Fisher scoring "
                      f"and L-BFGS-B (last values {np.round(est, 6).tolist()}); the result has converged=False "
                      "and no profile intervals: try another tol or check the data.", ConvergenceWarning,
                      stacklevel=2)
    lo = hi = None
    if profile and converged:
        lo, hi = _profile_intervals(design, reml, est, ev.ll, alpha, tol, fixed)
    return _assemble(design, ev, est, lo, hi, names, levels, codes, method, test, alpha,
                     converged, it, data, outer, len(levels) - len(fixed))


def _fixed_components(sigma2: Sequence[float | None] | None, levels: tuple[str, ...]) -> dict[int, float]:
    if sigma2 is None:
        return {}
    if isinstance(sigma2, str) or len(sigma2) != len(levels):
        raise ValueError(f"sigma2={sigma2!r} must hold one entry (a number >= 0 or None) per level "
                         f"{list(levels)}.")
    fixed = {}
    for i, val in enumerate(sigma2):
        if val is None:
            continue
        if not isinstance(val, (int, float)) or not math.isfinite(val) or val < 0:
            raise ValueError(f"sigma2[{i}]={val!r} (level {levels[i]!r}) must be a finite number >= 0 or None.")
        fixed[i] = float(val)
    return fixed


def _assemble(design: _Design, ev: _Eval, sigma2: FloatArray, lo: FloatArray | None,
              hi: FloatArray | None, names: tuple[str, ...], levels: tuple[str, ...],
              codes: list[NDArray[np.intp]], method: str, test: str, alpha: float,
              converged: bool, it: int, data: pd.DataFrame, outer: NDArray[Any],
              n_free: int) -> MultilevelResult:
    k, p = design.k, design.p
    se = np.sqrt(np.diag(ev.vcov))
    stat = ev.beta / se
    df = float(k - p) if test == "t" else math.inf
    if test == "t":
        pval = 2 * stats.t.sf(np.abs(stat), df)
        crit = stats.t.ppf(1 - alpha / 2, df)
    else:
        pval = 2 * stats.norm.sf(np.abs(stat))
        crit = stats.norm.ppf(1 - alpha / 2)
    # metafor's default btt: every coefficient but the intercept, or the intercept alone
    sel = np.arange(1 if names[0] == "intrcpt" and p > 1 else 0, p)
    b = ev.beta[sel]
    qm = float(b @ np.linalg.solve(ev.vcov[np.ix_(sel, sel)], b))
    if test == "t":
        qm /= len(sel)
        qm_p = float(stats.f.sf(qm, len(sel), k - p))
    else:
        qm_p = float(stats.chi2.sf(qm, len(sel)))
    qe, trP = _sampling_only(design)
    s2_typ = (k - p) / trP
    i2 = sigma2 / (sigma2.sum() + s2_typ)
    reml = method == "REML"
    ll = ev.ll_reml if reml else ev.ll_ml
    n = k - p if reml else k
    npar = p + n_free
    aicc_n = max(n, npar + 2)
    measure = check_measure(data.attrs.get("measure"))  # a frame from evidence.escalc records it
    return MultilevelResult(
        coef_names=names, beta=ev.beta, se=se, statistic=stat, p_value=pval,
        ci_low=ev.beta - crit * se, ci_high=ev.beta + crit * se, vcov=ev.vcov, levels=levels,
        n_groups=tuple(int(c.max()) + 1 for c in codes), sigma2=sigma2, sigma2_ci_low=lo,
        sigma2_ci_high=hi, i2=i2, i2_total=float(i2.sum()), typical_variance=float(s2_typ),
        qm=qm, qm_df=len(sel), qm_pvalue=qm_p, qe=qe, qe_df=k - p,
        qe_pvalue=float(stats.chi2.sf(qe, k - p)) if k > p else math.nan,
        loglik=float(ll), deviance=float(-2 * ll), aic=float(-2 * ll + 2 * npar),
        bic=float(-2 * ll + npar * math.log(n)),
        aicc=float(-2 * ll + 2 * npar * aicc_n / (aicc_n - npar - 1)), n_params=npar, k=k,
        method=method, test=test, df=df, alpha=alpha, converged=converged, iterations=it,
        measure=measure, X=_design_X(design), y=_design_y(design),
        cluster=np.asarray(outer, dtype=object), row_labels=tuple(data.index), _design=design)


def _design_X(design: _Design) -> FloatArray:
    return design.X


def _design_y(design: _Design) -> FloatArray:
    y = np.empty(design.k)
    for g in design.groups:
        y[g.rows] = g.y
    for c in design.large:
        y[c.rows] = c.y
    return y


def _sampling_only(design: _Design) -> tuple[float, float]:
    """``qe`` and ``tr(P)`` with ``W = S^-1`` (the common-effect GLS fit)."""
    p = design.p
    A = np.zeros((p, p))
    b = np.zeros(p)
    XW2X = np.zeros((p, p))
    trW = 0.0
    ws = []
    for g in design.groups:
        W = np.linalg.inv(g.S)
        WX = W @ g.X
        A += np.einsum("mai,maj->ij", g.X, WX)
        b += np.einsum("mai,ma->i", WX, g.y)
        XW2X += np.einsum("mai,maj->ij", WX, WX)
        trW += float(np.einsum("maa->", W))
        ws.append(W)
    for c in design.large:
        WXc = c.X / c.s[:, None]
        A += c.X.T @ WXc
        b += WXc.T @ c.y
        XW2X += WXc.T @ WXc
        trW += float(np.sum(1 / c.s))
    Ainv = np.linalg.inv(A)
    beta = Ainv @ b
    qe = 0.0
    for g, W in zip(design.groups, ws, strict=True):
        r = g.y - g.X @ beta
        qe += float(np.einsum("ma,mab,mb->", r, W, r))
    for c in design.large:
        qe += float(np.sum((c.y - c.X @ beta) ** 2 / c.s))
    return qe, trW - float(np.trace(Ainv @ XW2X))


def _profile_intervals(design: _Design, reml: bool, sigma2: FloatArray, ll_hat: float,
                       alpha: float, tol: float, fixed: Mapping[int, float]) -> tuple[FloatArray, FloatArray]:
    """Profile-likelihood interval of each variance component, as metafor's ``confint.rma.mv``.

    A bound is where ``-2 (ll(s) - ll_hat)``, with the other components re-estimated at
    ``sigma2_l = s``, equals ``chi2_{1, 1-alpha}``; searched in ``[0, sigma2_l]`` and in
    ``[sigma2_l, max(10, 100 sigma2_l)]`` (metafor's ``vc.min``/``vc.max``).  A bound at the
    end of its search range (0 below) means the likelihood does not drop enough there.
    """
    crit = float(stats.chi2.ppf(1 - alpha, 1))
    L = len(sigma2)
    lo, hi = sigma2.copy(), sigma2.copy()  # a fixed component is its own interval

    for lvl in (i for i in range(L) if i not in fixed):
        def g(val: float, lvl: int = lvl) -> float:
            ll = _fit(design, reml, fixed={**fixed, lvl: val}, start=sigma2, tol=tol)[1].ll
            return -2 * (ll - ll_hat) - crit

        vc = float(sigma2[lvl])
        vmax = 10.0 if vc <= np.sqrt(np.finfo(float).eps) else max(10.0, 100 * vc)
        xtol = 1e-10 * max(vc, 1e-4)
        lo[lvl] = 0.0 if vc == 0 or g(0.0) < 0 else optimize.brentq(g, 0.0, vc, xtol=xtol, rtol=1e-12)
        hi[lvl] = vmax if g(vmax) < 0 else optimize.brentq(g, vc, vmax, xtol=xtol, rtol=1e-12)
    return lo, hi


@dataclass(frozen=True, repr=False)
class LikelihoodRatioTest(ResultMixin):
    """Likelihood-ratio test between two nested multilevel fits (metafor ``anova(full, reduced)``)."""

    statistic: float
    df: int
    p_value: float
    loglik_full: float
    loglik_reduced: float
    aic_full: float
    aic_reduced: float
    bic_full: float
    bic_reduced: float
    aicc_full: float
    aicc_reduced: float
    method: str

    def __str__(self) -> str:
        return (f"LikelihoodRatioTest({self.method}: LRT={fmt(self.statistic)}, df={self.df}, "
                f"p={fmt(self.p_value)}; AIC full {fmt(self.aic_full, 6)} vs reduced {fmt(self.aic_reduced, 6)})")

    __repr__ = __str__

    def summary(self) -> str:
        """The test in words."""
        better = "full" if self.aic_full < self.aic_reduced else "reduced"
        return (f"Likelihood-ratio test ({self.method}): LRT = {self.statistic:.4f} on {self.df} df, "
                f"p = {self.p_value:.4g}. Log-likelihoods {self.loglik_full:.4f} (full) and "
                f"{self.loglik_reduced:.4f} (reduced); AIC prefers the {better} model.")


def likelihood_ratio_test(full: MultilevelResult, reduced: MultilevelResult) -> LikelihoodRatioTest:
    """Compare nested fits: ``LRT = 2 (ll_full - ll_reduced)`` on ``n_params`` difference df.

    As metafor's ``anova.rma(full, reduced)``.  Both fits must use the same method and data;
    REML likelihoods are comparable only between models with the same fixed effects (compare
    moderators with ``method="ML"``).

    Examples
    --------
    >>> df = pd.DataFrame({"study": [1, 1, 2, 2, 3, 3, 4, 5], "es": range(8),
    ...                    "yi": [0.1, 0.3, 0.2, -0.1, 0.5, 0.6, 0.4, 0.2], "vi": [0.02] * 8})
    >>> full = meta_analysis_multilevel(df, levels=["study", "es"], profile=False)
    >>> reduced = meta_analysis_multilevel(df, levels=["study"], profile=False)
    >>> likelihood_ratio_test(full, reduced).df
    1
    """
    for name, res in (("full", full), ("reduced", reduced)):
        if not isinstance(res, MultilevelResult):
            raise TypeError(f"{name} must be a MultilevelResult, got {type(res).__name__}.")
    if full.method != reduced.method:
        raise ValueError(f"full.method={full.method!r} and reduced.method={reduced.method!r} differ; "
                         "fit both with the same method.")
    if full.k != reduced.k or not np.array_equal(full.y, reduced.y):
        raise ValueError("full and reduced were fitted to different effect sizes; a likelihood-ratio "
                         "test needs the same data.")
    if full.method == "REML" and not (full.X.shape == reduced.X.shape and np.allclose(full.X, reduced.X)):
        raise ValueError("REML fits with different moderators have incomparable likelihoods; refit both "
                         "with method='ML' to test moderators.")
    df = full.n_params - reduced.n_params
    if df <= 0:
        raise ValueError(f"full has {full.n_params} parameters and reduced {reduced.n_params}; the full "
                         "model must have more (swap the arguments?).")
    lrt = max(2 * (full.loglik - reduced.loglik), 0.0)
    return LikelihoodRatioTest(statistic=lrt, df=df, p_value=float(stats.chi2.sf(lrt, df)),
                               loglik_full=full.loglik, loglik_reduced=reduced.loglik,
                               aic_full=full.aic, aic_reduced=reduced.aic, bic_full=full.bic,
                               bic_reduced=reduced.bic, aicc_full=full.aicc, aicc_reduced=reduced.aicc,
                               method=full.method)
