"""Cluster-robust (sandwich) inference for meta-analytic models with dependent effects.

For a model fitted by weighted least squares, ``beta = M X'W y`` with
``M = (X'WX)^-1`` and working weights ``W`` that are block-diagonal by cluster
(study), the cluster-robust variance is

    V_R = M (sum_j X_j' W_j A_j e_j e_j' A_j' W_j X_j) M,

where ``e_j`` are the residuals of cluster j and ``A_j`` an adjustment matrix
(Pustejovsky & Tipton 2018 [1]_, eq. 5):

* ``"CR0"``: ``A_j = I`` (Liang & Zeger 1986);
* ``"CR1"``: ``A_j = sqrt(J/(J-1)) I``; ``"CR1p"``: ``sqrt(J/(J-p)) I``;
  ``"CR1S"``: ``sqrt(J(N-1)/((J-1)(N-p))) I`` (Stata's small-sample factor);
* ``"CR2"``: ``A_j = D_j' B_j^(-1/2) D_j`` with ``Theta_j = D_j'D_j`` the
  *target* (working) covariance of cluster j and
  ``B_j = D_j (I - H)_j Theta (I - H)_j' D_j'`` (Bell & McCaffrey 2002 [2]_;
  Pustejovsky & Tipton 2018 [1]_, eq. 8).  ``B_j^(-1/2)`` is the symmetric
  inverse square root from the eigen-decomposition, with eigenvalues below a
  tolerance treated as 0 (clubSandwich's ``matrix_power``: 1e-12).  When
  ``W = Theta^-1`` this is ``(I - H_jj)^(-1/2)`` in the metric of ``Theta``.

Single coefficients (or contrasts ``c'beta``) are tested with t statistics and
Satterthwaite degrees of freedom ``2 E^2 / V`` of the sandwich estimator under
the working model (Pustejovsky & Tipton 2018 [1]_, section 3; Bell & McCaffrey
2002 [2]_; Tipton 2015 [4]_); several coefficients with the Hotelling ``T^2``
approximation ``HTZ`` (Tipton & Pustejovsky 2015 [3]_; Pustejovsky & Tipton
2018 [1]_, eq. 13).  All follow clubSandwich 0.5.8 (``vcovCR``, ``coef_test``,
``conf_int``, ``Wald_test``).

**Block-wise computation.**  Nothing of size ``k x k`` (effects) or ``J x J``
(clusters) is formed.  Clusters are grouped by size and every per-cluster
product (``H_jj``, ``B_j``, ``A_j``, ...) is a batched NumPy operation on
arrays of shape ``(n_clusters_of_that_size, size, size)``.  clubSandwich's
degrees of freedom need traces of products of ``J x J`` matrices
``P = Z'KZ + diag(d)`` (``get_P_array``); they are computed from the
``3p x 3p`` Gram matrices ``Z Z'`` and the diagonals, using
``tr(Z_a'KZ_b Z_c'KZ_d) = tr(K (Z_b Z_c') K (Z_d Z_a'))``.

The correlated-effects (CE) and hierarchical-effects (HE) working models of
robumeta's ``robu()`` (Hedges, Tipton & Johnson 2010 [5]_; Tipton 2015 [4]_)
are :func:`robu` and :func:`rho_sensitivity`.

References
----------
.. [1] Pustejovsky JE, Tipton E (2018). Small-sample methods for cluster-robust
   variance estimation and hypothesis testing in fixed effects models.
   *J Bus Econ Stat* 36(4), 672-683.
.. [2] Bell RM, McCaffrey DF (2002). Bias reduction in standard errors for
   linear regression with multi-stage samples. *Survey Methodology* 28(2), 169-181.
.. [3] Tipton E, Pustejovsky JE (2015). Small-sample adjustments for tests of
   moderators and model fit using robust variance estimation in meta-regression.
   *J Educ Behav Stat* 40(6), 604-634.
.. [4] Tipton E (2015). Small sample adjustments for robust variance estimation
   with meta-regression. *Psychol Methods* 20(3), 375-393.
.. [5] Hedges LV, Tipton E, Johnson MC (2010). Robust variance estimation in
   meta-regression with dependent effect size estimates. *Res Synth Methods*
   1(1), 39-65.
.. [6] Pustejovsky JE (2023). clubSandwich: Cluster-robust (sandwich) variance
   estimators with small-sample corrections, R package 0.5.8.
.. [7] Fisher Z, Tipton E (2015). robumeta: an R-package for robust variance
   estimation in meta-analysis, R package 2.0.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evidence._results import ResultMixin, fmt
from evidence._validation import as_float_array, check_alpha, check_choice, check_finite, check_positive_variances
from evidence.exceptions import DataWarning
from evidence.options import CR_TESTS, CR_TYPES, ROBU_MODELS, WALD_TESTS

__all__ = [
    "ClusterRobustResult",
    "WaldTestResult",
    "RobuResult",
    "RobuSensitivityResult",
    "cluster_robust",
    "cluster_robust_arrays",
    "wald_test",
    "robu",
    "rho_sensitivity",
    "EIGEN_TOL",
    "ROBU_EIGEN_TOL",
]

#: Eigenvalues of ``B_j`` at or below this are treated as 0 in ``B_j^(-1/2)``
#: (clubSandwich ``matrix_power(x, -1/2)``: ``values > 10^-12``).
EIGEN_TOL: float = 1e-12
#: The same tolerance in robumeta's ``robu(small = TRUE)`` (``eigenval < 10^-10``).
ROBU_EIGEN_TOL: float = 1e-10
#: Relative tolerance of the symmetry check of covariance and weight blocks.
SYMMETRY_RTOL: float = 1e-8

F64 = NDArray[np.float64]


# ---------------------------------------------------------------------------
# clusters and blocks
# ---------------------------------------------------------------------------


class _Clusters(NamedTuple):
    """Rows of each cluster, grouped by cluster size."""

    labels: tuple[Any, ...]  # cluster labels, sorted (codes 0..J-1)
    codes: NDArray[np.int64]  # (k,) code of every row
    sizes: NDArray[np.int64]  # (J,)
    groups: tuple[tuple[NDArray[np.int64], NDArray[np.int64]], ...]  # (cluster codes (n,), rows (n, s))


def _clusters(cluster: ArrayLike, k: int, *, name: str = "cluster") -> _Clusters:
    """Validate cluster ids (length k, none missing, at least two clusters) and index their rows."""
    s = pd.Series(np.asarray(cluster, dtype=object) if not isinstance(cluster, pd.Series) else cluster.to_numpy())
    if s.ndim != 1 or len(s) != k:
        raise ValueError(
            f"{name} has {len(s)} entries but the model has {k} effects (rows); give one cluster id per row."
        )
    miss = pd.isna(s).to_numpy()
    if miss.any():
        i = int(np.argmax(miss))
        label = ""
        if isinstance(cluster, pd.Series) and not isinstance(cluster.index, pd.RangeIndex):
            label = f" (index {cluster.index[i]!r})"
        raise ValueError(
            f"{name} is missing at row {i}{label}; every effect needs a cluster id (nothing is dropped)."
        )
    try:
        codes, uniq = pd.factorize(s, sort=True)
    except TypeError:
        codes, uniq = pd.factorize(s.astype(str), sort=True)
    labels = tuple(uniq.tolist())
    if len(labels) < 2:
        raise ValueError(
            f"{name} has a single cluster ({labels[0]!r}); cluster-robust variance needs at least two "
            f"clusters (clubSandwich stops here too)."
        )
    codes = codes.astype(np.int64)
    sizes = np.bincount(codes, minlength=len(labels)).astype(np.int64)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    groups = []
    for size in np.unique(sizes):
        cl = np.flatnonzero(sizes == size)
        rows = order[starts[cl][:, None] + np.arange(size)[None, :]]
        groups.append((cl, rows))
    return _Clusters(labels, codes, sizes, tuple(groups))


def _blocks(name: str, value: Any, cl: _Clusters, k: int) -> list[F64]:
    """Per-cluster square blocks, stacked by size group, from a vector, a mapping or a sequence."""
    if isinstance(value, Mapping):
        missing = [lab for lab in cl.labels if lab not in value and str(lab) not in value]
        if missing:
            raise ValueError(f"{name} has no block for cluster {missing[0]!r}; give one block per cluster.")
        blocks = [value[lab] if lab in value else value[str(lab)] for lab in cl.labels]
    else:
        arr = None
        if not (isinstance(value, Sequence) and len(value) and np.ndim(value[0]) == 2):
            arr = as_float_array(name, value)
        if arr is not None:
            if len(arr) != k:
                raise ValueError(
                    f"{name} has {len(arr)} entries but the model has {k} effects; give a vector of length {k} "
                    f"(a diagonal), a sequence of {len(cl.labels)} blocks (clusters in sorted order) or a "
                    f"mapping from cluster id to block."
                )
            check_finite(name, arr)
            out = []
            for _, rows in cl.groups:
                d = arr[rows]
                out.append(d[:, :, None] * np.eye(rows.shape[1])[None, :, :])
            return out
        if len(value) != len(cl.labels):
            raise ValueError(
                f"{name} has {len(value)} blocks but there are {len(cl.labels)} clusters; give one block per "
                f"cluster in sorted order of the cluster ids (or a mapping from cluster id to block)."
            )
        blocks = list(value)
    out = []
    for cids, rows in cl.groups:
        size = rows.shape[1]
        stack = np.empty((len(cids), size, size))
        for i, c in enumerate(cids):
            b = np.asarray(blocks[c], dtype=np.float64)
            if b.shape != (size, size):
                raise ValueError(
                    f"{name}: the block of cluster {cl.labels[c]!r} has shape {b.shape}, but the cluster has "
                    f"{size} rows ({rows[i].tolist()[:6]}); it must be {size} x {size}."
                )
            stack[i] = b
        out.append(stack)
    return out


def _check_pd(name: str, stacks: list[F64], cl: _Clusters) -> None:
    """Raise naming the cluster whose block is not finite, symmetric and positive definite."""
    for (cids, rows), B in zip(cl.groups, stacks, strict=True):
        finite = np.isfinite(B).all(axis=(1, 2))
        scale = np.abs(np.where(np.isfinite(B), B, 0.0)).max(axis=(1, 2))
        sym = (np.abs(B - np.swapaxes(B, 1, 2)) <= SYMMETRY_RTOL * scale[:, None, None]).all(axis=(1, 2))
        for ok, what in ((finite, "has a non-finite entry"), (sym, "is not symmetric")):
            if not ok.all():
                i = int(np.argmin(ok))
                raise ValueError(
                    f"{name}: the block of cluster {cl.labels[cids[i]]!r} (rows {rows[i].tolist()[:6]}) {what}."
                )
        try:
            np.linalg.cholesky(B)
        except np.linalg.LinAlgError:
            for i in range(len(cids)):
                try:
                    np.linalg.cholesky(B[i])
                except np.linalg.LinAlgError:
                    ev = float(np.linalg.eigvalsh(B[i]).min())
                    raise ValueError(
                        f"{name}: the block of cluster {cl.labels[cids[i]]!r} (rows {rows[i].tolist()[:6]}) is "
                        f"not positive definite (smallest eigenvalue {ev:.3g}); a covariance or weight block must "
                        f"be positive definite."
                    ) from None


def _inv_sqrt(G: F64, tol: float) -> F64:
    """Symmetric ``G^(-1/2)`` of stacked matrices, eigenvalues ``<= tol`` set to 0 (clubSandwich ``matrix_power``)."""
    vals, vecs = np.linalg.eigh(0.5 * (G + np.swapaxes(G, 1, 2)))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(vals > tol, 1.0 / np.sqrt(np.where(vals > tol, vals, 1.0)), 0.0)
    return np.matmul(vecs * f[:, None, :], np.swapaxes(vecs, 1, 2))


def _inv_blocks(stacks: list[F64]) -> list[F64]:
    """Inverse of every block (stacked by size)."""
    return [np.asarray(np.linalg.inv(b), dtype=np.float64) for b in stacks]


def _sym_inv_sqrt(A: F64, tol: float) -> F64:
    """``A^(-1/2)`` of one symmetric matrix (eigenvalues ``<= tol`` set to 0)."""
    return _inv_sqrt(A[None], tol)[0]


# ---------------------------------------------------------------------------
# kernel
# ---------------------------------------------------------------------------


class _Fit(NamedTuple):
    beta: F64  # (p,)
    vcov: F64  # (p, p)
    Z: F64  # (J, p, 3p): rows [H3 | H1 | H2] of clubSandwich's get_GH, per cluster
    g: F64  # (J, p, p): G_j G_j' (clubSandwich get_GH's G), per cluster
    residuals: F64  # (k,)
    bread: F64  # (p, p): M = (X'WX)^-1, the model-based covariance under the working model


def _small_factor(type: str, J: int, N: int, p: int) -> float:
    """Scalar adjustment of CR1, CR1p, CR1S (clubSandwich ``CR1``, ``CR1p``, ``CR1S``); 1 for CR0."""
    if type == "CR1":
        return float(np.sqrt(J / (J - 1)))
    if type == "CR1p":
        if J <= p:
            raise ValueError(f"type='CR1p' needs more clusters than coefficients: J={J} clusters, p={p}.")
        return float(np.sqrt(J / (J - p)))
    if type == "CR1S":
        if N <= p:
            raise ValueError(f"type='CR1S' needs more effects than coefficients: N={N}, p={p}.")
        return float(np.sqrt(J * (N - 1) / ((J - 1) * (N - p))))
    return 1.0


def _cr_fit(
    X: F64, y: F64, cl: _Clusters, W: list[F64], T: list[F64], type: str, eigen_tol: float
) -> _Fit:
    """Weighted fit, the sandwich variance and the per-cluster pieces of the df computations.

    ``W`` and ``T`` are the weight and target blocks stacked by cluster size (as ``cl.groups``).
    Follows clubSandwich ``vcov_CR``, ``CR2`` and ``get_GH`` (without augmented fixed effects).
    """
    k, p = X.shape
    J = len(cl.labels)
    Xg = [X[rows] for _, rows in cl.groups]
    yg = [y[rows] for _, rows in cl.groups]
    XtW = [np.einsum("nsp,nst->npt", x, w) for x, w in zip(Xg, W, strict=True)]
    M = np.linalg.inv(sum(np.einsum("npt,ntq->pq", a, x) for a, x in zip(XtW, Xg, strict=True)))
    M = 0.5 * (M + M.T)
    beta = M @ sum(np.einsum("npt,nt->p", a, yy) for a, yy in zip(XtW, yg, strict=True))
    res = [yy - x @ beta for x, yy in zip(Xg, yg, strict=True)]
    XtWT = [np.matmul(a, t) for a, t in zip(XtW, T, strict=True)]
    Om = M @ sum(np.einsum("npt,nqt->pq", a, b) for a, b in zip(XtWT, XtW, strict=True)) @ M
    Om = 0.5 * (Om + Om.T)
    Lm, Lo = np.linalg.cholesky(M), np.linalg.cholesky(Om)
    Z = np.empty((J, p, 3 * p))
    g = np.empty((J, p, p))
    vcov = np.zeros((p, p))
    resid = np.empty(k)
    c = _small_factor(type, J, k, p)
    for (cids, rows), x, w, t, a, e in zip(cl.groups, Xg, W, T, XtW, res, strict=True):
        resid[rows] = e
        if type == "CR2":
            L = np.linalg.cholesky(t)
            H = np.matmul(x @ M, a)  # H_jj = X_j M X_j' W_j
            HT = np.matmul(H, t)
            mid = t - HT - np.swapaxes(HT, 1, 2) + np.matmul(x @ Om, np.swapaxes(x, 1, 2))
            G = np.matmul(np.matmul(np.swapaxes(L, 1, 2), mid), L)
            A = np.matmul(np.matmul(L, _inv_sqrt(G, eigen_tol)), np.swapaxes(L, 1, 2))
            ME = np.einsum("pq,nqt->npt", M, np.matmul(a, A))
        else:
            ME = c * np.einsum("pq,nqt->npt", M, a)
        u = np.einsum("npt,nt->np", ME, e)
        vcov += u.T @ u
        MEx = np.matmul(ME, x)
        Z[cids, :, :p] = MEx @ Lo
        Z[cids, :, p : 2 * p] = MEx @ Lm
        Z[cids, :, 2 * p :] = np.matmul(np.matmul(ME, t), np.matmul(w, x)) @ Lm
        g[cids] = np.matmul(np.matmul(ME, t), np.swapaxes(ME, 1, 2))
    return _Fit(beta, 0.5 * (vcov + vcov.T), Z, g, resid, M)


def _kz(z: F64) -> F64:
    """``K z`` for stacked 3p-vectors ``z = [h3, h1, h2]`` with ``K = [[I,0,0],[0,0,-I],[0,-I,0]]``."""
    p = z.shape[-1] // 3
    return np.concatenate([z[..., :p], -z[..., 2 * p :], -z[..., p : 2 * p]], axis=-1)


def _p_traces(Z: F64, g: F64) -> tuple[F64, F64, F64, F64]:
    """Pieces of ``tr(P_st)`` and ``tr(P_st P_uv)`` for ``P_st = Z_s'KZ_t + diag(g[:, s, t])``.

    ``Z`` has shape (J, q, 3p), ``g`` (J, q, q).  Returns ``C[s,t,j] = z_sj'K z_tj``,
    ``D[s,t,j] = g_j[s,t]``, ``S[t,u] = sum_j z_tj z_uj'`` and ``KSK[t,u] = K S[t,u] K``.
    """
    KZ = _kz(Z)
    C = np.einsum("jsm,jtm->stj", Z, KZ)
    D = np.transpose(g, (1, 2, 0))
    S = np.einsum("jtm,jun->tumn", Z, Z)
    KSK = np.swapaxes(_kz(np.swapaxes(_kz(S), -1, -2)), -1, -2)  # K S_tu K (K is symmetric)
    return C, D, S, KSK


def _tr_pp(C: F64, D: F64, S: F64, KSK: F64, s: int, t: int, u: int, v: int) -> float:
    """``tr(P_st P_uv)`` (see :func:`_p_traces`)."""
    lowrank = float(np.sum(KSK[t, u] * S[v, s].T))
    return lowrank + float(C[s, t] @ D[u, v] + D[s, t] @ C[u, v] + D[s, t] @ D[u, v])


def _satterthwaite(fit: _Fit) -> F64:
    """Satterthwaite df of each coefficient: ``E^2 / tr(P^2)`` (clubSandwich ``Satterthwaite``)."""
    p = fit.beta.shape[0]
    df = np.empty(p)
    for i in range(p):
        C, D, S, KSK = _p_traces(fit.Z[:, i : i + 1, :], fit.g[:, i : i + 1, i : i + 1])
        E = float(C[0, 0].sum() + D[0, 0].sum())
        df[i] = E * E / _tr_pp(C, D, S, KSK, 0, 0, 0, 0)
    return df


def _htz_nu(fit: _Fit, Cmat: F64) -> float:
    """Degrees of freedom ``nu`` of the HTZ test of ``C beta = 0`` (clubSandwich ``Wald_testing``)."""
    q = Cmat.shape[0]
    Zc = np.einsum("ap,jpm->jam", Cmat, fit.Z)
    gc = np.einsum("ap,jpr,br->jab", Cmat, fit.g, Cmat)
    C, D, _, _ = _p_traces(Zc, gc)
    Omega = C.sum(axis=2) + D.sum(axis=2)
    Oh = _sym_inv_sqrt(0.5 * (Omega + Omega.T), EIGEN_TOL)
    Zt = np.einsum("sa,jam->jsm", Oh, Zc)
    gt = np.einsum("sa,jab,tb->jst", Oh, gc, Oh)
    C, D, S, KSK = _p_traces(Zt, gt)
    total = 0.0
    for s in range(q):
        for t in range(q):
            total += _tr_pp(C, D, S, KSK, s, t, s, t) + _tr_pp(C, D, S, KSK, s, s, t, t)
    return q * (q + 1) / total


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


def _coef_frame(res: Any) -> pd.DataFrame:
    """The coefficient table of a robust result (``names`` and the per-coefficient arrays)."""
    data = {c: getattr(res, c) for c in ("estimate", "se", "ci_low", "ci_high")}
    data["weight"] = np.full(len(res.names), np.nan)
    for c in ("statistic", "df", "p_value"):
        data[c] = getattr(res, c)
    return pd.DataFrame(data, index=pd.Index(list(res.names), name="coefficient"))


_TEST_WORDS = {
    "satterthwaite": "t tests with Satterthwaite degrees of freedom",
    "z": "z tests (normal reference)",
    "naive_t": "t tests with J - 1 degrees of freedom",
    "naive_tp": "t tests with J - p degrees of freedom",
}


@dataclass(frozen=True, repr=False)
class ClusterRobustResult(ResultMixin):
    """Cluster-robust coefficient table (clubSandwich ``vcovCR`` + ``coef_test`` + ``conf_int``).

    Attributes
    ----------
    names : tuple of str
        Coefficient names.
    estimate, se, statistic, df, p_value, ci_low, ci_high : ndarray, shape (p,)
        Estimates, cluster-robust standard errors, t (or z) statistics, their
        degrees of freedom (``inf`` for ``test="z"``), two-sided p-values and
        the ``1 - alpha`` confidence interval from the same reference distribution.
    vcov : ndarray, shape (p, p)
        The cluster-robust covariance matrix.
    type, test, alpha : str, str, float
        The estimator (``"CR2"``, ...), the coefficient test and the level, echoed.
    target : str
        ``"model"`` (the model's working covariance, clubSandwich's default) or ``"user"``.
    n_clusters, k : int
        Number of clusters and effects.
    cluster_labels : tuple
        Cluster ids in sorted order.
    residuals : ndarray, shape (k,)
        ``y - X beta``.
    """

    names: tuple[str, ...]
    estimate: F64
    se: F64
    statistic: F64
    df: F64
    p_value: F64
    ci_low: F64
    ci_high: F64
    vcov: F64
    type: str
    test: str
    alpha: float
    target: str
    n_clusters: int
    k: int
    cluster_labels: tuple[Any, ...] = field(repr=False)
    residuals: F64 = field(repr=False)
    _fit: _Fit = field(repr=False)

    def summary_frame(self) -> pd.DataFrame:
        """Coefficient table: ``estimate, se, ci_low, ci_high, weight`` (NaN), ``statistic, df, p_value``."""
        return _coef_frame(self)

    def summary(self) -> str:
        """The coefficient table in words."""
        level = f"{100 * (1 - self.alpha):g}%"
        lines = [
            f"Cluster-robust inference ({self.type}, target = {self.target} working covariance): "
            f"{self.k} effects in {self.n_clusters} clusters; {_TEST_WORDS[self.test]}.",
        ]
        for i, n in enumerate(self.names):
            lines.append(
                f"  {n}: {fmt(self.estimate[i])} (robust se {fmt(self.se[i])}), {level} CI "
                f"{fmt(self.ci_low[i])} to {fmt(self.ci_high[i])}; t = {fmt(self.statistic[i])} on "
                f"{fmt(self.df[i])} df, p = {fmt(self.p_value[i])}"
            )
        small = [n for n, d in zip(self.names, self.df, strict=True) if d < 4]
        if small and self.test == "satterthwaite":
            lines.append(
                f"  Fewer than 4 degrees of freedom for {', '.join(small)}: the test and interval are "
                f"unreliable there (Tipton 2015)."
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"ClusterRobustResult(type={self.type!r}, test={self.test!r}, k={self.k}, "
            f"n_clusters={self.n_clusters}, "
            f"estimate={dict(zip(self.names, (fmt(b) for b in self.estimate), strict=True))}, "
            f"se={dict(zip(self.names, (fmt(b) for b in self.se), strict=True))}, alpha={self.alpha:g})"
        )

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class WaldTestResult(ResultMixin):
    """Test of ``C beta = 0`` from a cluster-robust fit (clubSandwich ``Wald_test``).

    Attributes
    ----------
    statistic : float
        The F statistic (``delta Q / q`` for HTZ, ``Q / q`` otherwise).
    wald : float
        The Wald statistic ``Q = (C b)' (C V_R C')^-1 (C b)``.
    delta : float
        HTZ's multiplier ``max(0, (nu - q + 1)/nu)`` (1 for the other tests).
    df_num, df_denom : float
        Numerator ``q`` and denominator degrees of freedom (``inf`` for ``"chi2"``).
    p_value : float
    constraints : ndarray, shape (q, p)
        The contrast matrix ``C``.
    hypothesis : tuple of str
        The constrained combinations, in words.
    test, type : str
        The test and the robust estimator, echoed.
    """

    statistic: float
    wald: float
    delta: float
    df_num: float
    df_denom: float
    p_value: float
    constraints: F64
    hypothesis: tuple[str, ...]
    test: str
    type: str

    def summary_frame(self) -> pd.DataFrame:
        """One row: ``statistic, wald, delta, df_num, df_denom, p_value``, indexed by the test."""
        return pd.DataFrame(
            {"statistic": [self.statistic], "wald": [self.wald], "delta": [self.delta],
             "df_num": [self.df_num], "df_denom": [self.df_denom], "p_value": [self.p_value]},
            index=pd.Index([self.test], name="test"),
        )

    def summary(self) -> str:
        """The test in words."""
        return (
            f"Wald test ({self.test}, {self.type}) of {' and '.join(self.hypothesis)}: "
            f"F = {fmt(self.statistic)} on {fmt(self.df_num)} and {fmt(self.df_denom)} df, "
            f"p = {fmt(self.p_value)}."
        )

    def __repr__(self) -> str:
        return (
            f"WaldTestResult(test={self.test!r}, type={self.type!r}, F={fmt(self.statistic)}, "
            f"df=({fmt(self.df_num)}, {fmt(self.df_denom)}), p_value={fmt(self.p_value)})"
        )

    __str__ = __repr__


# ---------------------------------------------------------------------------
# public front doors
# ---------------------------------------------------------------------------


#: A robust variance below this share of the model-based variance is round-off (see :func:`_warn_degenerate`).
DEGENERATE_RATIO: float = 1e-10


def _warn_degenerate(fit: _Fit, names: Sequence[str]) -> None:
    """Warn when a robust variance is numerically 0 relative to the model-based one.

    This happens when a coefficient is determined within a single cluster (e.g. a category that
    occurs in one study only): CR2 removes that cluster's information and what remains is
    round-off, which clubSandwich and robumeta report as numbers.
    """
    ratio = np.diag(fit.vcov) / np.diag(fit.bread)
    bad = [n for n, r in zip(names, ratio, strict=True) if 0 < r < DEGENERATE_RATIO]
    if bad:
        warnings.warn(
            f"The robust variance of {', '.join(repr(b) for b in bad)} is numerically 0 (below "
            f"{DEGENERATE_RATIO:g} of the model-based variance): the coefficient is determined within a single "
            f"cluster, so its robust standard error, test and interval are round-off, not information.",
            DataWarning,
            stacklevel=3,
        )


def _coef_tests(
    beta: F64, se: F64, df_satt: F64 | None, test: str, J: int, p: int, alpha: float, names: Sequence[str]
) -> tuple[F64, F64, F64, F64, F64]:
    if test == "satterthwaite":
        assert df_satt is not None
        df = df_satt
    elif test == "z":
        df = np.full(p, np.inf)
    elif test == "naive_t":
        df = np.full(p, float(J - 1))
    else:
        df = np.full(p, float(J - p))
    zero = ~(se > 0)
    if zero.any():
        i = int(np.argmax(zero))
        raise ValueError(
            f"The robust standard error of coefficient {names[i]!r} is {float(se[i])!r}: the residuals give no "
            f"information on it across clusters (e.g. a perfect fit); no test or interval is reported."
        )
    bad = ~(np.isfinite(df) | np.isposinf(df)) | (df <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"The {test} degrees of freedom of coefficient {names[i]!r} are {float(df[i])!r}: the coefficient is "
            f"not estimable across clusters (too few clusters, or a moderator that varies in one cluster "
            f"only); no test or interval is reported for it."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    crit = stats.t.isf(alpha / 2, df)
    pval = 2.0 * stats.t.sf(np.abs(stat), df)
    return stat, df, pval, beta - crit * se, beta + crit * se


def cluster_robust_arrays(
    X: ArrayLike,
    y: ArrayLike,
    cluster: ArrayLike,
    *,
    V: Any = None,
    W: Any = None,
    target: Any = None,
    type: str = "CR2",
    test: str = "satterthwaite",
    alpha: float = 0.05,
    names: Sequence[str] | None = None,
    eigen_tol: float = EIGEN_TOL,
) -> ClusterRobustResult:
    """Cluster-robust coefficient table of a weighted least-squares fit, from arrays.

    Parameters
    ----------
    X : array_like, shape (k, p)
        Model matrix.
    y : array_like, shape (k,)
        Effect sizes.
    cluster : array_like, shape (k,)
        Cluster (study) id of every row; none may be missing.
    V : array_like (k,), sequence of blocks or mapping cluster -> block, optional
        The model's marginal covariance: a vector is a diagonal (e.g. ``vi + tau2``); blocks are
        ``n_j x n_j`` in the order the rows of cluster j appear, given in sorted order of the cluster
        ids or as a mapping.  Default weights ``W = V^-1`` and default target ``V``.
    W : same forms as ``V``, optional
        Working weights, if not ``V^-1`` (e.g. robumeta's weights).  With ``V`` absent the target is
        ``W^-1`` (clubSandwich's ``inverse_var``).
    target : same forms as ``V``, optional
        Working covariance ``Theta`` of the CR2 adjustment and the degrees of freedom
        (clubSandwich ``target``).
    type : str
        One of :data:`evidence.options.CR_TYPES`.
    test : str
        One of :data:`evidence.options.CR_TESTS`: ``"satterthwaite"`` (clubSandwich
        ``test="Satterthwaite"``), ``"z"``, ``"naive_t"`` (J - 1 df), ``"naive_tp"`` (J - p df).
    alpha : float
        Intervals have level ``1 - alpha``.
    names : sequence of str, optional
        Coefficient names (default ``x1, x2, ...``).
    eigen_tol : float
        Eigenvalues of the CR2 matrices ``B_j`` at or below this count as 0.

    Returns
    -------
    ClusterRobustResult

    Raises
    ------
    ValueError
        A missing cluster id (naming the row), a single cluster, blocks of the wrong size or not
        positive definite (naming the cluster), degrees of freedom that are not positive (naming
        the coefficient).

    Examples
    --------
    >>> X = np.ones((6, 1))
    >>> res = cluster_robust_arrays(X, [0.1, 0.3, 0.2, 0.5, 0.4, 0.0], ["a", "a", "b", "b", "c", "d"],
    ...                             V=np.full(6, 0.04))
    >>> round(float(res.estimate[0]), 4), round(float(res.se[0]), 4), round(float(res.df[0]), 2)
    (0.25, 0.0701, 2.63)
    """
    check_choice("type", type, CR_TYPES)
    check_choice("test", test, CR_TESTS)
    a = check_alpha(alpha)
    Xa = as_float_array("X", X, ndim=2)
    ya = as_float_array("y", y)
    k, p = Xa.shape
    if len(ya) != k:
        raise ValueError(f"y has {len(ya)} values but X has {k} rows; they must agree.")
    check_finite("X", Xa)
    check_finite("y", ya)
    if np.linalg.matrix_rank(Xa) < p:
        raise ValueError(f"X ({k} x {p}) is rank deficient; remove the redundant column.")
    cl = _clusters(cluster, k)
    if V is None and W is None:
        raise ValueError("Give V (the model's covariance, blocks or a diagonal) or W (working weights).")
    Vb = _blocks("V", V, cl, k) if V is not None else None
    if Vb is not None:
        _check_pd("V", Vb, cl)
    if W is not None:
        Wb = _blocks("W", W, cl, k)
        _check_pd("W", Wb, cl)
    else:
        assert Vb is not None
        Wb = _inv_blocks(Vb)
    if target is not None:
        Tb = _blocks("target", target, cl, k)
        _check_pd("target", Tb, cl)
    else:
        Tb = Vb if Vb is not None else _inv_blocks(Wb)
    fit = _cr_fit(Xa, ya, cl, Wb, Tb, type, eigen_tol)
    nm = tuple(names) if names is not None else tuple(f"x{j + 1}" for j in range(p))
    if len(nm) != p:
        raise ValueError(f"names has {len(nm)} entries but X has {p} columns.")
    se = np.sqrt(np.diag(fit.vcov))
    _warn_degenerate(fit, nm)
    J = len(cl.labels)
    df_s = _satterthwaite(fit) if test == "satterthwaite" else None
    stat, df, pval, lo, hi = _coef_tests(fit.beta, se, df_s, test, J, p, a, nm)
    return ClusterRobustResult(
        names=nm, estimate=fit.beta, se=se, statistic=stat, df=df, p_value=pval, ci_low=lo, ci_high=hi,
        vcov=fit.vcov, type=type, test=test, alpha=a, target="user" if target is not None else "model",
        n_clusters=J, k=k, cluster_labels=cl.labels, residuals=fit.residuals, _fit=fit,
    )


def _within_positions(cl: _Clusters) -> NDArray[np.int64]:
    """Position of every row within its cluster (rows in ascending order)."""
    order = np.argsort(cl.codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(cl.sizes)[:-1]])
    pos = np.empty(len(cl.codes), dtype=np.int64)
    pos[order] = np.arange(len(order)) - starts[cl.codes[order]]
    return pos


def _multilevel_blocks(model: Any, cluster: ArrayLike, k: int) -> list[F64]:
    """The model's marginal covariance blocks, assembled per robust cluster (sorted cluster ids).

    Each block of the model (``covariance_blocks()``, see :mod:`evidence.multilevel`) must lie in
    one robust cluster: the random effects nest within the clustering variable (as clubSandwich's
    ``vcovCR.rma.mv`` requires).  Robust clusters coarser than the model's get block-diagonal blocks.
    """
    cl = _clusters(cluster, k)
    pos = _within_positions(cl)
    out = [np.zeros((int(n), int(n))) for n in cl.sizes]
    filled = np.zeros(k, dtype=bool)
    for b in model.covariance_blocks():
        rows = np.asarray(b.rows, dtype=np.int64)
        codes = cl.codes[rows]
        if (codes != codes[0]).any():
            other = sorted({cl.labels[c] for c in codes.tolist()}, key=str)
            raise ValueError(
                f"cluster splits the model's cluster {b.cluster!r} (rows {rows.tolist()[:6]}) across the "
                f"clusters {other[:4]}; the random effects must be nested within the clustering variable."
            )
        V = np.asarray(b.V, dtype=np.float64)
        if V.shape != (len(rows), len(rows)):
            raise ValueError(f"The model's block of cluster {b.cluster!r} has shape {V.shape}, not {len(rows)} square.")
        p = pos[rows]
        out[codes[0]][np.ix_(p, p)] = V
        filled[rows] = True
    if not filled.all():
        raise ValueError(f"The model's covariance blocks leave row {int(np.argmin(filled))} uncovered.")
    return out


def _model_pieces(model: Any, cluster: ArrayLike | None) -> tuple[F64, F64, Any, tuple[str, ...], ArrayLike]:
    """``X, y, V`` (diagonal or blocks), coefficient names and clusters of a fitted result."""
    from evidence.metareg import MetaRegressionResult
    from evidence.results import MetaAnalysisResult

    if isinstance(model, (MetaRegressionResult, MetaAnalysisResult)):
        if cluster is None:
            raise ValueError("cluster is required: give the cluster (study) id of every effect.")
        if isinstance(model, MetaRegressionResult):
            return model.X, model.yi, model.vi + model.tau2, model.names, cluster
        return np.ones((model.k, 1)), model.yi, model.vi + model.tau2, ("intercept",), cluster
    missing = [a for a in ("X", "y", "cluster", "coef_names", "covariance_blocks") if not hasattr(model, a)]
    if missing:
        raise TypeError(
            f"model must be a result of meta_analysis, meta_regression or a multilevel fit (evidence.multilevel); "
            f"got {type(model).__name__}, which lacks {missing}."
        )
    X = np.asarray(model.X, dtype=np.float64)
    y = np.asarray(model.y, dtype=np.float64)
    cl = model.cluster if cluster is None else cluster
    return X, y, _multilevel_blocks(model, cl, len(y)), tuple(model.coef_names), cl


def cluster_robust(
    model: Any,
    cluster: ArrayLike | None = None,
    *,
    type: str = "CR2",
    test: str = "satterthwaite",
    alpha: float = 0.05,
    target: Any = None,
) -> ClusterRobustResult:
    """Cluster-robust inference for a fitted model (clubSandwich ``vcovCR`` + ``coef_test`` + ``conf_int``).

    Parameters
    ----------
    model : MetaAnalysisResult, MetaRegressionResult or a multilevel fit
        The working model: its weights are ``1/(vi + tau2)`` (clubSandwich on ``rma.uni``) or the
        inverse of its per-cluster marginal covariance blocks (clubSandwich on ``rma.mv``).  A
        multilevel fit is read through the interface documented in :mod:`evidence.multilevel`
        (``X``, ``y``, ``cluster``, ``coef_names``, ``covariance_blocks()``).
    cluster : array_like, shape (k,)
        Cluster (study) id of every effect, in the order of the model's effects.  A multilevel fit
        uses its outermost level when this is omitted; a coarser clustering may be given (its
        random effects must nest within it).
    type, test, alpha, target
        As :func:`cluster_robust_arrays`; the default target is the model's working covariance.

    Returns
    -------
    ClusterRobustResult

    Examples
    --------
    >>> from evidence import meta_analysis
    >>> fit = meta_analysis([0.1, 0.3, 0.2, 0.5, 0.4, 0.0], [0.04] * 6, method="DL")
    >>> res = cluster_robust(fit, ["a", "a", "b", "b", "c", "d"])
    >>> round(float(res.se[0]), 4), res.type
    (0.0701, 'CR2')
    """
    X, y, V, names, cluster = _model_pieces(model, cluster)
    return cluster_robust_arrays(X, y, cluster, V=V, target=target, type=type, test=test, alpha=alpha, names=names)


def _constraint_matrix(res: ClusterRobustResult, constraints: Any) -> tuple[F64, tuple[str, ...]]:
    p = len(res.names)
    if constraints is None:
        idx = [i for i, n in enumerate(res.names) if n != "intercept"] or list(range(p))
        constraints = idx
    arr = np.asarray(constraints)
    if arr.ndim == 2:
        Cm = as_float_array("constraints", arr, ndim=2)
        if Cm.shape[1] != p:
            raise ValueError(f"constraints must have {p} columns (one per coefficient); got shape {Cm.shape}.")
        hyp = tuple(
            " + ".join(f"{fmt(c)}*{n}" for c, n in zip(row, res.names, strict=True) if c != 0) + " = 0" for row in Cm
        )
        return Cm, hyp
    idx = []
    for c in np.atleast_1d(arr).tolist():
        if isinstance(c, str):
            if c not in res.names:
                raise ValueError(f"constraints names {c!r}, which is not a coefficient; allowed are {res.names}.")
            idx.append(res.names.index(c))
        elif isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c < p:
            idx.append(int(c))
        else:
            raise ValueError(f"constraints has {c!r}; give coefficient names, indices 0..{p - 1} or a q x {p} matrix.")
    if len(set(idx)) != len(idx):
        raise ValueError(f"constraints repeats a coefficient: {list(constraints)!r}.")
    return np.eye(p)[idx], tuple(f"{res.names[i]} = 0" for i in idx)


def wald_test(result: ClusterRobustResult, constraints: Any = None, *, test: str = "HTZ") -> WaldTestResult:
    """Robust Wald test of ``C beta = 0`` (clubSandwich ``Wald_test``).

    Parameters
    ----------
    result : ClusterRobustResult
        From :func:`cluster_robust` or :func:`cluster_robust_arrays`.
    constraints : sequence of coefficient names or indices, or array (q, p), optional
        Coefficients tested to be jointly 0 (clubSandwich ``constrain_zero``) or a contrast matrix.
        Default: every coefficient but the intercept.
    test : str
        One of :data:`evidence.options.WALD_TESTS`: ``"HTZ"`` (Hotelling's ``T^2`` with the
        degrees of freedom ``nu = q(q+1)/sum Var`` of Tipton & Pustejovsky 2015 [3]_, eq. 17;
        ``F = (nu - q + 1)/(nu q) Q`` on ``q`` and ``nu - q + 1`` df), ``"chi2"``, ``"naive_F"``
        (``F = Q/q`` on ``q`` and ``J - 1`` df), ``"naive_Fp"`` (``J - p`` df).

    Returns
    -------
    WaldTestResult

    Examples
    --------
    >>> X = np.column_stack([np.ones(8), [0, 1, 0, 1, 1, 0, 1, 0.0]])
    >>> res = cluster_robust_arrays(X, [0.1, 0.3, 0.2, 0.5, 0.4, 0.0, 0.6, 0.1], [1, 1, 2, 2, 3, 3, 4, 5],
    ...                             V=np.full(8, 0.04), names=["intercept", "x"])
    >>> wt = wald_test(res, ["x"])
    >>> wt.df_num, round(wt.df_denom, 3) == round(float(res.df[1]), 3)
    (1.0, True)
    """
    check_choice("test", test, WALD_TESTS)
    Cm, hyp = _constraint_matrix(result, constraints)
    q = Cm.shape[0]
    cb = Cm @ result.estimate
    cvc = Cm @ result.vcov @ Cm.T
    try:
        Q = float(cb @ np.linalg.solve(cvc, cb))
    except np.linalg.LinAlgError:
        raise ValueError(f"The robust covariance of the constrained combinations {hyp} is singular.") from None
    J, p = result.n_clusters, len(result.names)
    delta = 1.0
    if test == "chi2":
        df2 = np.inf
    elif test == "naive_F":
        df2 = float(J - 1)
    elif test == "naive_Fp":
        df2 = float(J - p)
    else:
        nu = _htz_nu(result._fit, Cm)
        delta = max((nu - q + 1) / nu, 0.0)
        df2 = nu - q + 1
    if not df2 > 0:
        raise ValueError(
            f"The {test} test of {hyp} has denominator degrees of freedom {df2:.4g} <= 0 (too few clusters "
            f"for {q} constraints); no p-value can be given."
        )
    F = delta * Q / q
    pval = float(stats.chi2.sf(Q, q)) if test == "chi2" else float(stats.f.sf(F, q, df2))
    return WaldTestResult(
        statistic=float(F), wald=Q, delta=float(delta), df_num=float(q), df_denom=float(df2), p_value=pval,
        constraints=Cm, hypothesis=hyp, test=test, type=result.type,
    )


# ---------------------------------------------------------------------------
# robumeta: correlated- and hierarchical-effects working models
# ---------------------------------------------------------------------------


class _RobuData(NamedTuple):
    X: F64
    y: F64
    v: F64
    cl: _Clusters
    names: tuple[str, ...]


def _csum(x: F64, codes: NDArray[np.int64], J: int) -> F64:
    """Sum of the rows of ``x`` (shape (k,) or (k, p)) within each cluster."""
    out = np.zeros((J,) + x.shape[1:])
    np.add.at(out, codes, x)
    return out


def _ce_moments(d: _RobuData) -> tuple[float, float, F64, F64]:
    """``term1``, ``term2`` of the CE tau^2 (robumeta ``robu``, ``modelweights = "CORR"``).

    Hedges, Tipton & Johnson 2010 [5]_, eq. 12 with the weights ``1/(k_j mean(v_j))``:
    ``tau2 = term1 + rho term2``.  Also returns the cluster sizes and mean variances per row.
    """
    codes, J = d.cl.codes, len(d.cl.labels)
    kj = d.cl.sizes.astype(np.float64)[codes]
    vbar = (_csum(d.v, codes, J) / d.cl.sizes)[codes]
    w = 1.0 / (kj * vbar)
    XtW = d.X.T * w
    Vi = np.linalg.inv(XtW @ d.X)
    e = d.y - d.X @ (Vi @ (XtW @ d.y))
    qe = float(np.sum(w * e * e))
    a = _csum(d.X * w[:, None], codes, J)  # X_j' W_j 1
    s = _csum(d.X, codes, J)  # X_j' 1
    wk = (w / kj)[np.unique(codes, return_index=True)[1]]
    xx = np.einsum("kp,kq->kpq", d.X, d.X)
    xtx = _csum(xx.reshape(len(d.y), -1), codes, J).reshape(J, *xx.shape[1:])
    denom = float(w.sum() - np.trace(Vi @ (a.T @ a)))
    term_a = float(np.trace(Vi @ ((d.X.T * (w / kj)) @ d.X)))
    term_b = float(np.trace(Vi @ np.einsum("j,jpq->pq", wk, np.einsum("jp,jq->jpq", s, s) - xtx)))
    N = J
    return (qe - N + term_a) / denom, term_b / denom, np.array([qe, term_a, term_b]), vbar


def _he_moments(d: _RobuData) -> tuple[float, float]:
    """``tau2`` and ``omega2`` of the HE model (robumeta ``robu``, ``modelweights = "HIER"``).

    Method-of-moments estimates from the weighted (``1/v``) and the cluster-sum residual
    quadratic forms (Hedges, Tipton & Johnson 2010 [5]_, section 3.3; robumeta's ``Qe``, ``Qa``,
    ``A1, B1, C1, A2, B2, C2``), each truncated at 0.
    """
    codes, J = d.cl.codes, len(d.cl.labels)
    X, v = d.X, d.v
    w = 1.0 / v
    kj = d.cl.sizes.astype(np.float64)
    Vi = np.linalg.inv((X.T * w) @ X)
    e = d.y - X @ (Vi @ ((X.T * w) @ d.y))
    qe = float(np.sum(w * e * e))
    qa = float(np.sum(_csum(e, codes, J) ** 2))
    a = _csum(X * w[:, None], codes, J)
    s = _csum(X, codes, J)
    sxjx = s.T @ s
    sxwjwx = a.T @ a
    sxwwx = (X.T * w * w) @ X
    tr = np.trace
    A1 = float(np.sum(kj**2) - 2 * tr(Vi @ ((s * kj[:, None]).T @ a)) + tr(Vi @ sxjx @ Vi @ sxwjwx))
    B1 = float(len(d.y) - 2 * tr(Vi @ (a.T @ s)) + tr(Vi @ sxjx @ Vi @ sxwwx))
    C1 = float(v.sum() - tr(Vi @ sxjx))
    A2 = float(w.sum() - tr(Vi @ sxwjwx))
    B2 = float(w.sum() - tr(Vi @ sxwwx))
    C2 = float(len(d.y) - X.shape[1])
    omega2 = max(0.0, ((qa - C1) * A2 - (qe - C2) * A1) / (B1 * A2 - B2 * A1))
    tau2 = max(0.0, (qe - C2) / A2 - omega2 * B2 / A2)
    return tau2, omega2


def _robu_inference(
    d: _RobuData, weights: F64, small: bool, alpha: float
) -> tuple[_Fit, F64, F64, F64, F64, F64, F64, F64]:
    """Robust fit with the final weights: CR2 + Satterthwaite (``small``) or CR1p with J - p df."""
    Wb = _blocks("weights", weights, d.cl, len(d.y))
    Tb = _blocks("weights", 1.0 / weights, d.cl, len(d.y))
    J, p = len(d.cl.labels), d.X.shape[1]
    if J <= p:
        raise ValueError(f"robu needs more clusters than coefficients: {J} clusters, {p} coefficients {d.names}.")
    fit = _cr_fit(d.X, d.y, d.cl, Wb, Tb, "CR2" if small else "CR1p", ROBU_EIGEN_TOL)
    se = np.sqrt(np.diag(fit.vcov))
    _warn_degenerate(fit, d.names)
    if small:
        stat, df, pval, lo, hi = _coef_tests(fit.beta, se, _satterthwaite(fit), "satterthwaite", J, p, alpha, d.names)
    else:
        stat, df, pval, lo, hi = _coef_tests(fit.beta, se, None, "naive_tp", J, p, alpha, d.names)
    return fit, se, stat, df, pval, lo, hi, weights


@dataclass(frozen=True, repr=False)
class RobuResult(ResultMixin):
    """Robust variance estimation with a CE or HE working model (robumeta ``robu``).

    Attributes
    ----------
    names : tuple of str
        Coefficient names.
    estimate, se, statistic, df, p_value, ci_low, ci_high : ndarray, shape (p,)
        Coefficient table.  With ``small=True``: CR2 standard errors and t tests with
        Satterthwaite df (Tipton 2015 [4]_); with ``small=False``: the sandwich times
        ``J/(J-p)`` and ``J - p`` df (robumeta's ``small = FALSE``).
    vcov : ndarray, shape (p, p)
        The robust covariance matrix.
    tau2 : float
        Between-cluster variance of the working model.
    omega2 : float or None
        Within-cluster variance (HE model); None for CE.
    i2 : float or None
        robumeta's I^2 (percent) of the CE model; None for HE.
    rho : float or None
        The assumed within-cluster correlation of the CE model.
    weights : ndarray, shape (k,)
        Final weights, in the order of the input rows: CE ``1/(k_j (mean v_j + tau2))``,
        HE ``1/(v_i + tau2 + omega2)``.
    model, small, alpha : str, bool, float
        Options, echoed.
    n_clusters, k : int
    """

    names: tuple[str, ...]
    estimate: F64
    se: F64
    statistic: F64
    df: F64
    p_value: F64
    ci_low: F64
    ci_high: F64
    vcov: F64
    tau2: float
    omega2: float | None
    i2: float | None
    rho: float | None
    weights: F64
    model: str
    small: bool
    alpha: float
    n_clusters: int
    k: int
    _data: _RobuData = field(repr=False)

    def summary_frame(self) -> pd.DataFrame:
        """Coefficient table: ``estimate, se, ci_low, ci_high, weight`` (NaN), ``statistic, df, p_value``."""
        return _coef_frame(self)

    def summary(self) -> str:
        """The fit in words."""
        level = f"{100 * (1 - self.alpha):g}%"
        kind = "correlated effects" if self.model == "CE" else "hierarchical effects"
        corr = "with" if self.small else "without"
        corr += " small-sample corrections (CR2, Satterthwaite df)" if self.small else " small-sample corrections"
        sizes = self._data.cl.sizes
        lines = [
            f"Robust variance estimation, {kind} working model, {corr}: {self.k} effects in "
            f"{self.n_clusters} clusters (min {sizes.min()}, median {np.median(sizes):g}, max {sizes.max()} "
            f"per cluster).",
        ]
        if self.model == "CE":
            lines.append(f"  rho = {self.rho:g} (assumed), tau^2 = {fmt(self.tau2)}, I^2 = {fmt(self.i2)}%")
        else:
            lines.append(f"  tau^2 (between clusters) = {fmt(self.tau2)}, omega^2 (within) = {fmt(self.omega2)}")
        for i, n in enumerate(self.names):
            lines.append(
                f"  {n}: {fmt(self.estimate[i])} (robust se {fmt(self.se[i])}), {level} CI {fmt(self.ci_low[i])} "
                f"to {fmt(self.ci_high[i])}; t = {fmt(self.statistic[i])} on {fmt(self.df[i])} df, "
                f"p = {fmt(self.p_value[i])}"
            )
        low = [n for n, d in zip(self.names, self.df, strict=True) if d < 4]
        if low and self.small:
            lines.append(f"  Fewer than 4 df for {', '.join(low)}: do not trust those tests (Tipton 2015).")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"RobuResult(model={self.model!r}, small={self.small}, k={self.k}, n_clusters={self.n_clusters}, "
            f"tau2={fmt(self.tau2)}, estimate={dict(zip(self.names, (fmt(b) for b in self.estimate), strict=True))}, "
            f"alpha={self.alpha:g})"
        )

    __str__ = __repr__


def _robu_data(yi: ArrayLike, vi: ArrayLike, cluster: ArrayLike, moderators: Any, intercept: bool) -> _RobuData:
    from evidence.metareg import design_matrix

    y = as_float_array("yi", yi)
    v = as_float_array("vi", vi)
    names: tuple[str, ...]
    if len(v) != len(y):
        raise ValueError(f"yi has {len(y)} values and vi {len(v)}; they must agree.")
    check_finite("yi", y)
    check_positive_variances("vi", v)
    k = len(y)
    if moderators is None:
        if not intercept:
            raise ValueError("robu without moderators needs intercept=True.")
        X, names = np.ones((k, 1)), ("intercept",)
    else:
        X, names, _ = design_matrix(moderators, k, intercept=intercept)
    return _RobuData(X, y, v, _clusters(cluster, k), names)


def robu(
    yi: ArrayLike,
    vi: ArrayLike,
    cluster: ArrayLike,
    moderators: Any = None,
    *,
    model: str = "CE",
    rho: float = 0.8,
    small: bool = True,
    alpha: float = 0.05,
    intercept: bool = True,
) -> RobuResult:
    """Robust variance estimation meta-regression (robumeta ``robu``).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances.
    cluster : array_like, shape (k,)
        Study (cluster) id of each effect.
    moderators : DataFrame, array or mapping, optional
        Moderators, coded as :func:`evidence.metareg.design_matrix`.
    model : str
        ``"CE"`` correlated effects (robumeta ``modelweights = "CORR"``): several outcomes measured on
        the same participants, within-cluster correlation ``rho``; ``"HE"`` hierarchical effects
        (``"HIER"``): independent samples nested in studies (Hedges, Tipton & Johnson 2010 [5]_).
    rho : float
        Assumed correlation between effects of a cluster (CE only), in [0, 1].
    small : bool
        Small-sample corrections of Tipton 2015 [4]_: CR2 adjustment (eigenvalues below 1e-10
        treated as 0, as robumeta) and Satterthwaite df; otherwise the sandwich times ``J/(J-p)``
        with ``J - p`` df.
    alpha : float
        Intervals have level ``1 - alpha`` (robumeta always prints 95%).
    intercept : bool
        Include an intercept.

    Returns
    -------
    RobuResult

    Notes
    -----
    CE: initial weights ``1/(k_j mean(v_j))``, ``tau2 = max(0, term1 + rho term2)`` with robumeta's
    ``term1 = (Q_E - J + tr(M sum X_j'W_j X_j/k_j))/(sum w - tr(M sum X_j'W_j J_j W_j X_j))`` and
    ``term2 = tr(M sum (w_j/k_j)(X_j'J_jX_j - X_j'X_j))/(same)``; final weights
    ``1/(k_j (mean(v_j) + tau2))``.  HE: initial weights ``1/v_i``; moment estimates of ``omega2``
    and ``tau2``; final weights ``1/(v_i + tau2 + omega2)``.  The robust variance and its df are
    those of :func:`cluster_robust_arrays` with these weights and the target ``W^-1``.

    Examples
    --------
    >>> yi = [0.2, 0.3, 0.1, 0.5, 0.4, 0.6, 0.0, 0.3]
    >>> vi = [0.02, 0.02, 0.03, 0.05, 0.05, 0.04, 0.02, 0.03]
    >>> res = robu(yi, vi, [1, 1, 2, 2, 2, 3, 4, 4])
    >>> res.model, res.names, round(float(res.estimate[0]), 4)
    ('CE', ('intercept',), 0.3114)
    """
    check_choice("model", model, ROBU_MODELS)
    a = check_alpha(alpha)
    d = _robu_data(yi, vi, cluster, moderators, intercept)
    omega2: float | None = None
    i2: float | None = None
    r: float | None = None
    if model == "CE":
        if not 0.0 <= float(rho) <= 1.0:
            raise ValueError(f"rho={rho!r} must be between 0 and 1 (robumeta's range).")
        r = float(rho)
        term1, term2, (qe, term_a, term_b), vbar = _ce_moments(d)
        tau2 = max(0.0, term1 + r * term2)
        dfi = len(d.cl.labels) - term_a - r * term_b
        i2 = max(0.0, (qe - dfi) / qe * 100.0)
        weights = 1.0 / (d.cl.sizes[d.cl.codes] * (vbar + tau2))
    else:
        tau2, omega2 = _he_moments(d)
        weights = 1.0 / (d.v + tau2 + omega2)
    fit, se, stat, df, pval, lo, hi, _ = _robu_inference(d, weights, bool(small), a)
    return RobuResult(
        names=d.names, estimate=fit.beta, se=se, statistic=stat, df=df, p_value=pval, ci_low=lo, ci_high=hi,
        vcov=fit.vcov, tau2=float(tau2), omega2=omega2, i2=i2, rho=r, weights=weights, model=model,
        small=bool(small), alpha=a, n_clusters=len(d.cl.labels), k=len(d.y), _data=d,
    )


@dataclass(frozen=True, repr=False)
class RobuSensitivityResult(ResultMixin):
    """Sensitivity of a CE fit to the assumed correlation (robumeta ``sensitivity``).

    Attributes
    ----------
    rho : ndarray, shape (m,)
        The correlations tried.
    tau2 : ndarray, shape (m,)
        tau^2 at each rho.
    estimate, se : ndarray, shape (m, p)
        Coefficients and robust standard errors at each rho.
    names : tuple of str
    small, alpha : bool, float
    """

    rho: F64
    tau2: F64
    estimate: F64
    se: F64
    names: tuple[str, ...]
    small: bool
    alpha: float

    def summary_frame(self) -> pd.DataFrame:
        """One row per (rho, coefficient): ``estimate, se, ci_low, ci_high`` (NaN), ``weight`` (NaN), ``tau2``."""
        m, p = self.estimate.shape
        idx = pd.MultiIndex.from_product([self.rho.tolist(), list(self.names)], names=["rho", "coefficient"])
        nan = np.full(m * p, np.nan)
        return pd.DataFrame(
            {"estimate": self.estimate.ravel(), "se": self.se.ravel(), "ci_low": nan, "ci_high": nan,
             "weight": nan, "tau2": np.repeat(self.tau2, p)},
            index=idx,
        )

    def summary(self) -> str:
        """How much the estimates and tau^2 move over rho, in words."""
        lines = [f"Sensitivity to rho (correlated effects, rho from {self.rho.min():g} to {self.rho.max():g}):"]
        lines.append(f"  tau^2 from {fmt(self.tau2.min())} to {fmt(self.tau2.max())}")
        for i, n in enumerate(self.names):
            lines.append(
                f"  {n}: estimate {fmt(self.estimate[:, i].min())} to {fmt(self.estimate[:, i].max())}, "
                f"robust se {fmt(self.se[:, i].min())} to {fmt(self.se[:, i].max())}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"RobuSensitivityResult(rho={self.rho.tolist()}, tau2={[fmt(t) for t in self.tau2]})"

    __str__ = __repr__


def rho_sensitivity(result: RobuResult, rho: ArrayLike = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)) -> RobuSensitivityResult:
    """Refit a CE model over a grid of assumed correlations (robumeta ``sensitivity``).

    tau^2 is ``max(0, term1 + rho term2)`` with ``term1``, ``term2`` from the initial fit, so only
    the final weights change with rho.

    Parameters
    ----------
    result : RobuResult
        A fit with ``model="CE"``.
    rho : array_like
        Correlations in [0, 1] (robumeta: 0, 0.2, ..., 1).

    Returns
    -------
    RobuSensitivityResult

    Examples
    --------
    >>> res = robu([0.2, 0.3, 0.1, 0.5, 0.4, 0.6, 0.0, 0.3], [0.02, 0.02, 0.03, 0.05, 0.05, 0.04, 0.02, 0.03],
    ...            [1, 1, 2, 2, 2, 3, 4, 4])
    >>> sens = rho_sensitivity(res)
    >>> sens.estimate.shape, bool(np.all(np.diff(sens.tau2) >= 0) or np.all(np.diff(sens.tau2) <= 0))
    ((6, 1), True)
    """
    if result.model != "CE":
        raise ValueError(f"rho_sensitivity needs a correlated-effects fit (model='CE'); got model={result.model!r}.")
    r = as_float_array("rho", rho)
    bad = (r < 0) | (r > 1) | ~np.isfinite(r)
    if bad.any():
        raise ValueError(f"rho has {r[np.argmax(bad)]!r}; every rho must be between 0 and 1.")
    d = result._data
    term1, term2, _, vbar = _ce_moments(d)
    tau2 = np.maximum(0.0, term1 + r * term2)
    est = np.empty((len(r), len(d.names)))
    se = np.empty_like(est)
    for i, t in enumerate(tau2):
        w = 1.0 / (d.cl.sizes[d.cl.codes] * (vbar + t))
        fit, s, *_ = _robu_inference(d, w, result.small, result.alpha)
        est[i], se[i] = fit.beta, s
    return RobuSensitivityResult(rho=r, tau2=tau2, estimate=est, se=se, names=d.names, small=result.small,
                                 alpha=result.alpha)
