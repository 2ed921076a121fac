"""Mixed-effects meta-regression (its permutation test is :mod:`evidence.permutation`).

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
(``np.linalg.inv`` on ``(n, p, p)``).  The permutation test
(:func:`evidence.permutation.permutation_test`) fits all permutations in
lock-step with these kernels.

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

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import special

from evidence import tau2 as _tau2
from evidence._engine import (
    check_effects,
    chi2_sf,
    generalized_q,
    he_start,
    heterogeneity,
    inv_stack,
    likelihood_root,
    prepare,
    r2_percent,
    read_only,
    trace_p,
    wald,
    warn_ll0,
    warn_not_converged,
    wls,
)
from evidence._results import ResultMixin, accepts_result, check_measure, fmt, natural_scale
from evidence._validation import check_alpha, check_bool, check_choice, check_columns
from evidence.exceptions import ConvergenceWarning
from evidence.options import POOLING_METHODS, TESTS

__all__ = [
    "MetaRegressionResult",
    "meta_regression",
    "coef_frame",
    "design_matrix",
    "tau2_mods",
    "fit_mods",
    "fit_model",
    "ModsFit",
    "ModelFit",
]

#: Convergence tolerance of the iterative tau^2 estimators: iteration stops when
#: the change in tau^2 (or the width of the root bracket) is at most
#: ``TOL * (tau2 + mean(v))`` (as :data:`evidence.tau2.DEFAULT_TOL`).
TOL: float = 1e-12
#: Maximum number of Fisher-scoring or root-bracketing steps.
MAX_ITER: int = 1000


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
    statistic: NDArray[np.float64]  # (n, p)
    qm: NDArray[np.float64]  # (n,)
    s2w: NDArray[np.float64]  # (n,)
    ok: NDArray[np.bool_]  # (n,) design of full rank


def _prepare(
    y: ArrayLike, v: ArrayLike, X: ArrayLike, mask: ArrayLike | None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
    """:func:`evidence._engine.prepare` (absent entries y = 0, v = 1, weight 0); X stays (k, p) or (n, k, p)."""
    y0, v0, mf, k = prepare(y, v, mask)
    return y0, v0, np.asarray(X, dtype=np.float64), mf, k


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
    maximum that iteration reaches is found by the package's one ML/REML driver,
    :func:`evidence._engine.likelihood_root` (see :func:`evidence.tau2.reml`): from ``max(0, HE)`` in the
    direction of the score
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
            w, Ainv, _, r, _ = wls(zeros, y0, v0, Xb, mf)
            q = (w * r * r).sum(axis=1)
            if method == "DL":
                t = (q - dfr) / trace_p(w, Xb, Ainv)
            else:
                t = (q - k) / w.sum(axis=1)
            return np.maximum(0.0, t), n_iter, conv
        if method == "SJ":
            ybar = y0.sum(axis=1) / k
            tau0 = (((y0 - ybar[:, None]) * mf) ** 2).sum(axis=1) / k
            t = tau0 * generalized_q(tau0, y0, v0, mf, Xb)[0] / dfr
            return np.maximum(0.0, t), n_iter, conv
        he = he_start(y0, v0, mf, k, Xb)
        if method == "HE":
            return np.maximum(0.0, he), n_iter, conv
        if method in ("PM", "EB"):  # the root of Q_E(tau2) = k - p, 0 if Q_E(0) <= k - p
            rows = np.flatnonzero(generalized_q(zeros, y0, v0, mf, Xb)[0] > dfr)
            root, it, ok = _tau2.solve_q(y0, v0, mf, k, dfr[rows], rows, tol, max_iter, X=Xb)
            tau2, n_iter[rows], conv[rows] = zeros.copy(), it, ok
            tau2[rows] = root
            return tau2, n_iter, conv
    tau2, n_iter, conv, stuck = likelihood_root(
        y0, v0, mf, k, method == "REML", tol, max_iter, X=Xb, start=he, ll0check=ll0check
    )
    warn_ll0(method, stuck, n == 1, stacklevel=2)
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
    ``len(btt)`` under ``"knha"``, an F statistic).  ``statistic = beta / se``.

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
    w, Ainv, beta, r, ok = wls(t, y0, v0, Xb, mf)
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
        # a principal block of the positive-definite vb is positive definite: it inverts wherever vb exists
        vinv = inv_stack(vbb)[0] if len(bidx) else vbb
        qm = np.einsum("ni,nij,nj->n", bb, vinv, bb)
        if test == "knha":
            qm = qm / len(bidx)
    return ModsFit(beta, vb, se, stat, qm, s2w, ok)


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


def coef_frame(
    names: Sequence[str],
    est: NDArray[np.float64],
    se: NDArray[np.float64],
    lo: NDArray[np.float64],
    hi: NDArray[np.float64],
    statistic: NDArray[np.float64],
    pval: NDArray[np.float64],
) -> pd.DataFrame:
    """Coefficient table: ``estimate, se, ci_low, ci_high, weight`` (NaN), ``statistic, p_value``, one row per name."""
    return pd.DataFrame(
        {
            "estimate": est,
            "se": se,
            "ci_low": lo,
            "ci_high": hi,
            "weight": np.full(len(names), np.nan),
            "statistic": statistic,
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
    measure: str | None = None

    def natural_transform(self) -> str | None:
        """``"exp"`` for a ratio measure (coefficients become ratios, e.g. ratios of odds ratios), else None.

        Other back-transformations (tanh, inverse logit) have no meaning for a slope, so the
        coefficients of such measures stay on the analysis scale.
        """
        transform = natural_scale(self.measure)[0]
        return transform if transform == "exp" else None

    def summary_frame(self) -> pd.DataFrame:
        """Coefficient table: ``estimate, se, ci_low, ci_high, weight`` (NaN), ``statistic, p_value``."""
        return coef_frame(self.names, self.estimate, self.se, self.ci_low, self.ci_high, self.statistic, self.p_value)

    @property
    def fitted(self) -> NDArray[np.float64]:
        """Fitted values ``X beta``."""
        return self.X @ self.estimate

    def __repr__(self) -> str:
        coefficients = dict(zip(self.names, (fmt(b) for b in self.estimate), strict=True))
        return (
            f"MetaRegressionResult(k={self.k}, method={self.method!r}, test={self.test!r}, "
            f"tau2={fmt(self.tau2)}, qm={fmt(self.qm)}, qm_pvalue={fmt(self.qm_pvalue)}, "
            f"qe={fmt(self.qe)}, r2={fmt(self.r2)}, estimate={coefficients})"
        )

    __str__ = __repr__


class ModelFit(NamedTuple):
    """One fitted (meta-)regression at its estimated tau^2 (see :func:`fit_model`)."""

    beta: NDArray[np.float64]  # (p,)
    se: NDArray[np.float64]  # (p,)
    vb: NDArray[np.float64]  # (p, p)
    tau2: float
    statistic: NDArray[np.float64]  # (p,) z, or t with df
    p_value: NDArray[np.float64]  # (p,)
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    df: float  # inf for the normal reference
    weights: NDArray[np.float64]  # percent
    qm: float
    n_iter: int
    converged: bool


def fit_model(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    X: NDArray[np.float64],
    *,
    method: str,
    test: str,
    alpha: float,
    btt: Sequence[int] | None = None,
    stacklevel: int = 2,
) -> ModelFit:
    """One fit of a (meta-)regression as metafor ``rma.uni(yi, vi, mods=X, intercept=FALSE)``.

    The single-model front door of the engine: tau^2 by :func:`tau2_mods` (0 for
    ``"FE"``), coefficients, covariance, Knapp-Hartung scaling and ``QM`` by
    :func:`fit_mods`, tests and intervals by :func:`evidence._engine.wald`
    (Viechtbauer 2010 [2]_, section 3.3).  ``method="FE", test="knha"`` is
    weighted least squares with a multiplicative dispersion (R
    ``lm(y ~ X - 1, weights = 1/v)``).  Non-convergence follows the package's
    policy (:mod:`evidence._engine`).  Inputs are not checked.

    Examples
    --------
    >>> X = np.column_stack([np.ones(4), [0.1, 0.2, 0.3, 0.4]])
    >>> fit = fit_model(np.array([0.1, 0.3, 0.2, 0.5]), np.full(4, 0.01), X, method="FE", test="z", alpha=0.05)
    >>> fit.beta.round(3).tolist(), fit.df
    ([0.0, 1.1], inf)
    """
    k, p = X.shape
    t2, it, conv = tau2_mods(y[None, :], v[None, :], X, method=method)
    warn_not_converged(f"The {method} estimator of tau2", np.flatnonzero(~conv), True, MAX_ITER, TOL,
                       stacklevel + 1)
    fit = fit_mods(y[None, :], v[None, :], X, t2, test=test, btt=btt)
    beta, se = fit.beta[0], fit.se[0]
    df = float(k - p) if test == "knha" else None
    stat, pval, ci_low, ci_high = wald(beta, se, df, alpha)
    w = 1.0 / (v + t2[0])
    return ModelFit(
        beta=beta, se=se, vb=fit.vb[0], tau2=float(t2[0]), statistic=stat, p_value=pval, ci_low=ci_low,
        ci_high=ci_high, df=np.inf if df is None else df, weights=100.0 * w / w.sum(), qm=float(fit.qm[0]),
        n_iter=int(it[0]), converged=bool(conv[0]),
    )


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
        # the intercept-only fit is only a reference for R^2; its ll0check or
        # non-convergence is not news about the meta-regression itself
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit0 = _tau2.estimate(method, y[None, :], v[None, :])
    return r2_percent(float(fit0.tau2[0]), tau2)


@accepts_result()
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
    measure: str | None = None,
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
    measure : str, optional
        The effect measure of ``yi`` (see :func:`evidence.pooling.meta_analysis`); for a ratio
        measure ``summary_frame()`` reports ``exp`` of the coefficients (e.g. ratios of odds ratios).

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
    y, v = check_effects(yi, vi, what="meta_regression")
    measure = check_measure(measure)
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
    btt = list(range(1, p)) if (intercept and p > 1) else list(range(p))
    fit = fit_model(y, v, X, method=method, test=test, alpha=a, btt=btt, stacklevel=2)
    tau2 = np.array([fit.tau2])
    y0, v0, Xb, mf, kk = _prepare(y[None, :], v[None, :], X, None)
    qe, qep, i2, h2 = heterogeneity(y0, v0, mf, kk, tau2, method == "FE", Xb)
    m = len(btt)
    df = k - p if test == "knha" else None
    qmp = float(chi2_sf(fit.qm, m) if df is None else special.fdtrc(m, df, fit.qm))
    beta, se = fit.beta, fit.se
    stat, pval, ci_low, ci_high = fit.statistic, fit.p_value, fit.ci_low, fit.ci_high
    return MetaRegressionResult(
        names=names,
        estimate=read_only(beta),
        se=read_only(se),
        statistic=read_only(stat),
        p_value=read_only(pval),
        ci_low=read_only(ci_low),
        ci_high=read_only(ci_high),
        vcov=read_only(fit.vb),
        tau2=float(tau2[0]),
        i2=float(i2[0]),
        h2=float(h2[0]),
        r2=_r2(y, v, float(qe[0]), float(tau2[0]), method, p, intercept),
        qe=float(qe[0]),
        qe_df=k - p,
        qe_pvalue=float(qep[0]),
        qm=fit.qm,
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
        converged=fit.converged,
        n_iter=fit.n_iter,
        moderators=modnames,
        yi=read_only(y),
        vi=read_only(v),
        X=read_only(X),
        measure=measure,
    )
