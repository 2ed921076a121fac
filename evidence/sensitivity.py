"""Sensitivity and influence analyses of a meta-analysis.

* :func:`leave_one_out` -- the analysis refitted without each study in turn
  (metafor ``leave1out``);
* :func:`cumulative` -- the analysis of the first 1, 2, ..., k studies in a
  given order (metafor ``cumul``);
* :func:`influence` -- case-deletion diagnostics (metafor
  ``influence.rma.uni``; Viechtbauer & Cheung 2010 [1]_);
* :func:`baujat` -- the coordinates of the Baujat plot (metafor ``baujat``;
  Baujat et al. 2002 [2]_);
* :func:`gosh` -- the analysis of every subset of the studies, or of random
  subsets (metafor ``gosh``; Olkin, Dahabreh & Trikalinos 2012 [3]_).

Leave-one-out and cumulative analyses are single batch calls of
:func:`evidence.pooling.meta_analysis_many` (NaN marks the studies left out).
Influence diagnostics and Baujat coordinates refit all case deletions in
lock-step with the meta-regression kernels of :mod:`evidence.metareg`, so
they also work for models with moderators.  GOSH enumerates subsets by their
bit patterns and fits them in chunks (see :func:`gosh`).

References
----------
.. [1] Viechtbauer W, Cheung MW-L (2010). Outlier and influence diagnostics
   for meta-analysis. *Res Synth Methods* 1(2), 112-125.
.. [2] Baujat B, Mahe C, Pignon J-P, Hill C (2002). A graphical method for
   exploring heterogeneity in meta-analyses: application to a meta-analysis
   of 65 trials. *Stat Med* 21(18), 2641-2652.
.. [3] Olkin I, Dahabreh IJ, Trikalinos TA (2012). GOSH - a graphical display
   of study heterogeneity. *Res Synth Methods* 3(3), 214-223.
.. [4] Lau J, Schmid CH, Chalmers TC (1995). Cumulative meta-analysis of
   clinical trials builds evidence for exemplary medical care. *J Clin
   Epidemiol* 48(1), 45-57.
.. [5] metafor 3.8-1 (Viechtbauer): ``leave1out.rma.uni``, ``cumul.rma.uni``,
   ``influence.rma.uni``, ``baujat.rma``, ``gosh.rma``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evidence import metareg as _mr
from evidence import tau2 as _tau2
from evidence._engine import (
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    check_effects,
    heterogeneity,
    inv_stack,
    likelihood_root,
    prepare,
    read_only,
    study_labels,
    wls,
    xtdx,
)
from evidence._results import ResultMixin, accepts_result, fmt
from evidence._validation import check_alpha, check_bool, check_choice, check_seed
from evidence.exceptions import ConvergenceWarning, DataWarning, SingleStudyWarning
from evidence.options import POOLING_METHODS, TESTS
from evidence.pooling import meta_analysis_many

__all__ = [
    "LeaveOneOutResult",
    "CumulativeResult",
    "InfluenceResult",
    "BaujatResult",
    "GoshResult",
    "leave_one_out",
    "cumulative",
    "influence",
    "baujat",
    "gosh",
]

#: Largest number of studies for which :func:`gosh` enumerates all subsets by default
#: (2^20 - 1 = 1,048,575 fits; metafor's own cap is 10^6 models).
GOSH_MAX_EXACT: int = 20
#: Hard limit of the exact enumeration (subset codes are 64-bit integers; 2^30 fits is
#: already beyond any practical use).
_GOSH_HARD_LIMIT: int = 30
#: Rows of a GOSH chunk (memory per chunk ~ 10 arrays of chunk_size x k float64).
GOSH_CHUNK: int = 65536


def _need_two(k: int, what: str) -> None:
    if k < 2:
        raise ValueError(f"{what} needs at least 2 studies; got k={k} (metafor: 'Stopped because k = 1').")


# ---------------------------------------------------------------------------
# leave-one-out and cumulative analyses
# ---------------------------------------------------------------------------

_SEQ_COLUMNS: tuple[str, ...] = (
    "estimate", "se", "ci_low", "ci_high", "weight", "statistic", "p_value",
    "q", "q_pvalue", "tau2", "i2", "h2", "k",
)


@dataclass(frozen=True, repr=False)
class _SequenceResult(ResultMixin):
    labels: tuple[str, ...]
    estimate: NDArray[np.float64]
    se: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    statistic: NDArray[np.float64]
    p_value: NDArray[np.float64]
    q: NDArray[np.float64]
    q_pvalue: NDArray[np.float64]
    tau2: NDArray[np.float64]
    i2: NDArray[np.float64]
    h2: NDArray[np.float64]
    k: NDArray[np.int64]
    converged: NDArray[np.bool_]
    method: str
    test: str
    alpha: float

    _index_name = "study"

    def summary_frame(self) -> pd.DataFrame:
        """One row per fit: ``estimate, se, ci_low, ci_high, weight`` (NaN) then
        ``statistic, p_value, q, q_pvalue, tau2, i2, h2, k``."""
        data = {c: getattr(self, c) if c != "weight" else np.full(len(self.labels), np.nan) for c in _SEQ_COLUMNS}
        return pd.DataFrame(data, index=pd.Index(list(self.labels), name=self._index_name))

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        lo, hi = np.nanmin(self.estimate), np.nanmax(self.estimate)
        return (
            f"{type(self).__name__}(n={len(self)}, method={self.method!r}, test={self.test!r}, "
            f"estimate range [{fmt(lo)}, {fmt(hi)}], alpha={self.alpha:g})"
        )

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class LeaveOneOutResult(_SequenceResult):
    """Result of :func:`leave_one_out`: row i is the analysis without study i (``labels[i]``).

    Attributes are arrays of shape (k,) named as in
    :class:`evidence.results.MetaAnalysisResult` (``statistic`` is z, or t under
    ``"knha"``); metafor ``leave1out`` columns ``estimate, se, zval/tval, pval,
    ci.lb, ci.ub, Q, Qp, tau2, I2, H2``.
    """

    _index_name = "omitted"


@dataclass(frozen=True, repr=False)
class CumulativeResult(_SequenceResult):
    """Result of :func:`cumulative`: row i is the analysis of the first i+1 studies in ``order``.

    ``labels[i]`` is the study added at step i; ``order`` holds the positions of
    the studies in the input data, in the order they were added.
    """

    order: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    order_by: str | None = None
    ascending: bool = True

    _index_name = "added"


def _from_batch(cls: type, batch: Any, labels: tuple[str, ...], **extra: Any) -> Any:
    return cls(
        labels=labels,
        estimate=batch.estimate,
        se=batch.se,
        ci_low=batch.ci_low,
        ci_high=batch.ci_high,
        statistic=batch.statistic,
        p_value=batch.p_value,
        q=batch.q,
        q_pvalue=batch.q_pvalue,
        tau2=batch.tau2,
        i2=batch.i2,
        h2=batch.h2,
        k=batch.k,
        converged=batch.converged,
        method=batch.method,
        test=batch.test,
        alpha=batch.alpha,
        **extra,
    )


@accepts_result()
def leave_one_out(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    alpha: float = 0.05,
    labels: Sequence[Any] | None = None,
) -> LeaveOneOutResult:
    """Leave-one-out analysis (metafor ``leave1out.rma.uni``).

    The meta-analysis is refitted k times, each time without one study; all
    k fits are one call of :func:`evidence.pooling.meta_analysis_many` with the
    omitted study set to NaN, so every number is exactly what
    :func:`evidence.pooling.meta_analysis` gives for that subset.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances, k >= 2.
    method, test, alpha
        As :func:`evidence.pooling.meta_analysis`.
    labels : sequence, optional
        Study labels (default ``"Study 1"``, ...), the index of ``summary_frame()``.

    Returns
    -------
    LeaveOneOutResult

    Examples
    --------
    >>> res = leave_one_out([0.1, 0.3, 0.5, 1.2], [0.01, 0.02, 0.04, 0.05], method="DL")
    >>> res.estimate.round(3).tolist()
    [0.646, 0.577, 0.498, 0.252]
    """
    y, v = check_effects(yi, vi, what="leave_one_out")
    k = len(y)
    _need_two(k, "leave_one_out")
    labs = tuple(study_labels(labels, k))
    Y = np.tile(y, (k, 1))
    V = np.tile(v, (k, 1))
    np.fill_diagonal(Y, np.nan)
    np.fill_diagonal(V, np.nan)
    batch = meta_analysis_many(Y, V, method=method, test=test, alpha=alpha)
    return _from_batch(LeaveOneOutResult, batch, labs)


@accepts_result(as_frame=True)
def cumulative(
    data: pd.DataFrame,
    *,
    yi: str = "yi",
    vi: str = "vi",
    order_by: str | None = None,
    ascending: bool = True,
    method: str = "REML",
    test: str = "z",
    alpha: float = 0.05,
    labels: str | None = None,
) -> CumulativeResult:
    """Cumulative meta-analysis (metafor ``cumul.rma.uni``; Lau et al. 1995 [4]_).

    The studies are sorted by the column ``order_by`` (stable: ties keep the
    order of ``data``, as R's ``order``); fit i pools the first i studies.  All
    k fits are one call of :func:`evidence.pooling.meta_analysis_many`.  For the
    first fit (one study) ``test="knha"`` falls back to the z test, as metafor.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per study.
    yi, vi : str
        Columns holding the effect sizes and sampling variances.
    order_by : str, optional
        Column to sort by (e.g. ``"year"``); ``None`` keeps the order of ``data``.
    ascending : bool
        Sort order (metafor ``decreasing = not ascending``).
    method, test, alpha
        As :func:`evidence.pooling.meta_analysis`.
    labels : str, optional
        Column with study labels (default: the index of ``data``).

    Returns
    -------
    CumulativeResult

    Raises
    ------
    ValueError
        A named column does not exist (the message lists the columns), or the
        ordering column has missing values.

    Examples
    --------
    >>> df = pd.DataFrame({"yi": [0.5, 0.1, 0.3], "vi": [0.04, 0.01, 0.02], "year": [2001, 1990, 1995]})
    >>> res = cumulative(df, order_by="year", method="FE")
    >>> res.estimate.round(4).tolist()
    [0.1, 0.1667, 0.2143]
    """
    ascending = check_bool("ascending", ascending)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame with one row per study; got {type(data).__name__}.")
    cols = [str(c) for c in data.columns]
    for arg, col in (("yi", yi), ("vi", vi), ("order_by", order_by), ("labels", labels)):
        if col is not None and col not in data.columns:
            raise ValueError(
                f"{arg}={col!r} is not a column of data; the columns are {', '.join(repr(c) for c in cols)}."
            )
    y, v = check_effects(
        data[yi].to_numpy(), data[vi].to_numpy(), what="cumulative"
    )
    k = len(y)
    if order_by is None:
        order = np.arange(k)
    else:
        key = data[order_by]
        miss = pd.isna(key).to_numpy()
        if miss.any():
            i = int(np.argmax(miss))
            raise ValueError(
                f"order_by={order_by!r} is missing at study {i} ({data.index[i]!r}); every study "
                f"needs a value to be placed in the cumulative order."
            )
        # stable in both directions (ties keep the order of data), as R's order()
        ranks = pd.Series(key.to_numpy()).rank(method="dense").to_numpy()
        order = np.argsort(ranks if ascending else -ranks, kind="stable")
    labs_all = data[labels].astype(str).tolist() if labels is not None else [str(x) for x in data.index]
    labs = tuple(labs_all[i] for i in order)
    ys, vs = y[order], v[order]
    tri = np.tril(np.ones((k, k), dtype=bool))
    Y = np.where(tri, ys[None, :], np.nan)
    V = np.where(tri, vs[None, :], np.nan)
    with warnings.catch_warnings():
        # the one-study fit of test="knha" falls back to z (as metafor) -- expected here
        warnings.simplefilter("ignore", SingleStudyWarning)
        batch = meta_analysis_many(Y, V, method=method, test=test, alpha=alpha)
    return _from_batch(
        CumulativeResult, batch, labs, order=np.asarray(order, dtype=np.int64), order_by=order_by, ascending=ascending
    )


# ---------------------------------------------------------------------------
# case-deletion diagnostics: influence and Baujat
# ---------------------------------------------------------------------------


class _Deletion:
    """Full fit and all k case-deletion fits of a (meta-)regression, in lock-step."""

    def __init__(
        self,
        y: NDArray[np.float64],
        v: NDArray[np.float64],
        X: NDArray[np.float64],
        method: str,
        test: str,
    ) -> None:
        k, p = X.shape
        if k <= p:
            raise ValueError(
                f"case deletion needs more studies than coefficients: k={k} studies, p={p} "
                f"coefficients (each deletion fit has k - 1 studies for p coefficients)."
            )
        # influence.rma.uni: btt defaults to all coefficients (int.incl = FALSE there)
        btt = list(range(p))
        self.btt = btt
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t_full, _, c_full = _mr.tau2_mods(y[None, :], v[None, :], X, method=method)
        self.tau2 = float(t_full[0])
        full = _mr.fit_mods(y[None, :], v[None, :], X, t_full, test=test, btt=btt)
        self.beta = full.beta[0]
        self.vb = full.vb[0]
        mask = ~np.eye(k, dtype=bool)
        Y = np.tile(y, (k, 1))
        V = np.tile(v, (k, 1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t_del, _, c_del = _mr.tau2_mods(Y, V, X, mask, method=method)
        # A deletion fit with no residual degrees of freedom cannot use the
        # Knapp-Hartung test; metafor (rma.uni) then uses the z test, with a warning.
        test_del = "z" if test == "knha" and k - 1 - p < 1 else test
        if test_del != test:
            warnings.warn(
                f"With k={k} studies, each case-deletion fit has {k - 1} study(ies) and no residual "
                f"degrees of freedom, so it uses the z test instead of 'knha' (as metafor does).",
                DataWarning,
                stacklevel=3,
            )
        dele = _mr.fit_mods(Y, V, X, t_del, mask, test=test_del, btt=btt)
        ok = c_del & dele.ok
        if not (c_full[0] and ok.all()):
            bad = np.flatnonzero(~ok)
            warnings.warn(
                f"The {method} fit did not converge or was singular "
                + ("for the full data" if not c_full[0] else f"without study(ies) {bad.tolist()}")
                + "; the affected diagnostics are NaN (metafor skips such fits too).",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.ok = ok
        self.tau2_del = np.where(ok, t_del, np.nan)
        self.beta_del = np.where(ok[:, None], dele.beta, np.nan)
        self.vb_del = np.where(ok[:, None, None], dele.vb, np.nan)
        self.s2w_del = np.where(ok, dele.s2w, np.nan)
        # QE without study i
        y0, v0, mf, kk = prepare(Y, V, mask)
        qe, _, _, _ = heterogeneity(y0, v0, mf, kk, t_del, method == "FE", X)
        self.qe_del = np.where(ok, qe, np.nan)
        self.pred_full = X @ self.beta
        self.delpred = np.einsum("ij,ij->i", X, self.beta_del)
        self.vdelpred = np.einsum("ij,ijk,ik->i", X, self.vb_del, X)


@dataclass(frozen=True, repr=False)
class InfluenceResult(ResultMixin):
    """Result of :func:`influence` (metafor ``influence.rma.uni``), one entry per study.

    Attributes
    ----------
    rstudent : ndarray (k,)
        Externally standardized (deleted) residuals.
    dffits, cook_d, cov_r : ndarray (k,)
        DFFITS, Cook's distance, covariance ratio.
    tau2_del, qe_del : ndarray (k,)
        tau^2 and the residual heterogeneity statistic without the study.
    hat, weight : ndarray (k,)
        Leverage (diagonal of the hat matrix) and weight (percent) in the full fit.
    dfbetas : ndarray (k, p)
        DFBETAS of each coefficient.
    influential : ndarray of bool (k,)
        metafor's flag ``*``: ``|dffits| > 3 sqrt(p/(k-p))``, or
        ``pchisq(cook_d, p) > 0.5``, or ``hat > 3p/k``, or any ``|dfbetas| > 1``.
    """

    labels: tuple[str, ...]
    rstudent: NDArray[np.float64]
    dffits: NDArray[np.float64]
    cook_d: NDArray[np.float64]
    cov_r: NDArray[np.float64]
    tau2_del: NDArray[np.float64]
    qe_del: NDArray[np.float64]
    hat: NDArray[np.float64]
    weight: NDArray[np.float64]
    dfbetas: NDArray[np.float64]
    influential: NDArray[np.bool_]
    coefficient_names: tuple[str, ...]
    tau2: float
    method: str
    test: str

    def summary_frame(self) -> pd.DataFrame:
        """One row per study: ``rstudent, dffits, cook_d, cov_r, tau2_del, qe_del, hat, weight, influential``
        followed by ``dfbetas_<coefficient>`` columns."""
        df = pd.DataFrame(
            {
                "rstudent": self.rstudent,
                "dffits": self.dffits,
                "cook_d": self.cook_d,
                "cov_r": self.cov_r,
                "tau2_del": self.tau2_del,
                "qe_del": self.qe_del,
                "hat": self.hat,
                "weight": self.weight,
                "influential": self.influential,
            },
            index=pd.Index(list(self.labels), name="study"),
        )
        for j, name in enumerate(self.coefficient_names):
            df[f"dfbetas_{name}"] = self.dfbetas[:, j]
        return df

    def __repr__(self) -> str:
        flagged = [lab for lab, f in zip(self.labels, self.influential, strict=True) if f]
        return f"InfluenceResult(k={len(self.labels)}, method={self.method!r}, influential={flagged})"

    __str__ = __repr__


def _model_inputs(
    yi: ArrayLike,
    vi: ArrayLike,
    moderators: Any,
    intercept: bool,
    labels: Sequence[Any] | None,
    method: str,
    test: str,
    what: str,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], tuple[str, ...], tuple[str, ...]]:
    y, v = check_effects(yi, vi, what=what)
    check_bool("intercept", intercept)
    check_choice("method", method, POOLING_METHODS)
    check_choice("test", test, TESTS)
    k = len(y)
    labs = tuple(study_labels(labels, k))
    if moderators is None:
        X = np.ones((k, 1))
        names: tuple[str, ...] = ("intercept",)
    else:
        X, names, _ = _mr.design_matrix(moderators, k, intercept=intercept, labels=labs)
    return y, v, X, names, labs


@accepts_result()
def influence(
    yi: ArrayLike,
    vi: ArrayLike,
    moderators: Any = None,
    *,
    method: str = "REML",
    test: str = "z",
    intercept: bool = True,
    labels: Sequence[Any] | None = None,
) -> InfluenceResult:
    """Case-deletion influence diagnostics (metafor ``influence.rma.uni``).

    Viechtbauer & Cheung (2010) [1]_, section 3: for each study i the model
    (with ``moderators`` if given, see :func:`evidence.metareg.meta_regression`)
    is refitted without it (all k fits in lock-step), and

    * ``rstudent = (y_i - x_i b_(-i)) / sqrt(s2w_(-i) (v_i + tau2_(-i)) + x_i V_(-i) x_i')``;
    * ``dffits = (x_i b - x_i b_(-i)) / sqrt(s2w_(-i) h_i (tau2_(-i) + v_i))``;
    * ``cook_d = (b - b_(-i))' V^-1 (b - b_(-i))`` over all coefficients
      (metafor's default ``btt``);
    * ``cov_r = det V_(-i) / det V``;
    * ``dfbetas_j = (b_j - b_(-i)j) / sqrt(s2w_(-i) [(X'W_(-i)X)^-1]_jj)`` with
      ``W_(-i)`` from ``tau2_(-i)`` over all k studies;
    * ``hat`` the diagonal of ``X (X'WX)^-1 X'W`` and ``weight`` the percent weights.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
    moderators : optional
        As :func:`evidence.metareg.meta_regression`; ``None`` for the
        intercept-only model.
    method, test : str
        tau^2 estimator and test (as metafor ``rma.uni``).
    intercept : bool
        Include an intercept with the moderators.
    labels : sequence, optional
        Study labels.

    Returns
    -------
    InfluenceResult

    Examples
    --------
    >>> res = influence([0.1, 0.3, 0.5, 1.2, 0.2], [0.01, 0.02, 0.04, 0.05, 0.02], method="DL")
    >>> int(np.argmax(res.cook_d))
    3
    """
    y, v, X, names, labs = _model_inputs(yi, vi, moderators, intercept, labels, method, test, "influence")
    k, p = X.shape
    _need_two(k, "influence")
    d = _Deletion(y, v, X, method, test)
    w = 1.0 / (v + d.tau2)
    A_inv = np.linalg.inv(X.T @ (w[:, None] * X))
    H = X @ A_inv @ (X.T * w)
    hat = np.diag(H).copy()
    hat[hat > 1 - 10 * np.finfo(float).eps] = 1.0
    weight = 100.0 * w / w.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        resid = y - d.delpred
        resid[np.abs(resid) < 100 * np.finfo(float).eps] = 0.0
        seresid = np.sqrt(v * d.s2w_del + d.vdelpred + d.tau2_del * d.s2w_del)
        rstudent = resid / seresid
        dffits = (d.pred_full - d.delpred) / np.sqrt(d.s2w_del * hat * (d.tau2_del + v))
        # dfbetas: (X'W_del X)^-1 with W_del = 1/(v + tau2_(-i)) over all k studies
        wd = 1.0 / (v[None, :] + d.tau2_del[:, None])
        vb_del_all, _ = inv_stack(xtdx(np.nan_to_num(wd, nan=1.0), X))
        dfb = d.beta[None, :] - d.beta_del
        dfbetas = dfb / np.sqrt(d.s2w_del[:, None] * np.einsum("nii->ni", vb_del_all))
        dfbetas[~d.ok] = np.nan
        btt = d.btt
        svb = np.linalg.inv(d.vb[np.ix_(btt, btt)])
        db = dfb[:, btt]
        cook = np.einsum("ni,ij,nj->n", db, svb, db)
        det_full = np.linalg.det(d.vb[np.ix_(btt, btt)])
        cov_r = np.linalg.det(d.vb_del[:, btt][:, :, btt]) / det_full
    m = len(btt)
    infl = (
        (np.abs(dffits) > 3 * np.sqrt(p / (k - p)))
        | (stats.chi2.cdf(cook, m) > 0.5)
        | (hat > 3 * p / k)
        | np.any(np.abs(dfbetas) > 1, axis=1)
    )
    infl &= ~np.isnan(dffits)
    return InfluenceResult(
        labels=labs,
        rstudent=rstudent,
        dffits=dffits,
        cook_d=cook,
        cov_r=cov_r,
        tau2_del=d.tau2_del,
        qe_del=d.qe_del,
        hat=hat,
        weight=weight,
        dfbetas=dfbetas,
        influential=np.asarray(infl, dtype=bool),
        coefficient_names=names,
        tau2=d.tau2,
        method=method,
        test=test,
    )


@dataclass(frozen=True, repr=False)
class BaujatResult(ResultMixin):
    """Coordinates of the Baujat plot (metafor ``baujat``), one point per study.

    Attributes
    ----------
    x : ndarray (k,)
        Contribution to the heterogeneity statistic: ``(y_i - x_i b)^2 / (v_i + tau2)``.
    y : ndarray (k,)
        Influence on the overall result: ``(x_i b - x_i b_(-i))^2 / Var(x_i b_(-i))``.
    """

    labels: tuple[str, ...]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    method: str
    test: str

    def summary_frame(self) -> pd.DataFrame:
        """One row per study with columns ``x`` and ``y``."""
        return pd.DataFrame({"x": self.x, "y": self.y}, index=pd.Index(list(self.labels), name="study"))

    def __repr__(self) -> str:
        return (f"BaujatResult(k={len(self.labels)}, method={self.method!r}, x_max={fmt(np.nanmax(self.x))}, "
                f"y_max={fmt(np.nanmax(self.y))})")

    __str__ = __repr__


@accepts_result()
def baujat(
    yi: ArrayLike,
    vi: ArrayLike,
    moderators: Any = None,
    *,
    method: str = "REML",
    test: str = "z",
    intercept: bool = True,
    labels: Sequence[Any] | None = None,
) -> BaujatResult:
    """Baujat plot coordinates (Baujat et al. 2002 [2]_; metafor ``baujat.rma``).

    ``x_i = (y_i - x_i b)^2 / (v_i + tau2)`` (the study's contribution to the
    heterogeneity statistic; with ``method="FE"`` exactly its share of Cochran's
    Q) and ``y_i = (x_i b - x_i b_(-i))^2 / (x_i V_(-i) x_i')``, the squared
    standardized shift of the fitted value when the study is left out.  The
    case deletions are refitted in lock-step (see :func:`influence`).

    Examples
    --------
    >>> res = baujat([0.1, 0.3, 0.5, 1.2, 0.2], [0.01, 0.02, 0.04, 0.05, 0.02], method="FE")
    >>> round(float(res.x.sum()), 4)  # Cochran's Q
    21.6837
    """
    y, v, X, _, labs = _model_inputs(yi, vi, moderators, intercept, labels, method, test, "baujat")
    _need_two(len(y), "baujat")
    d = _Deletion(y, v, X, method, test)
    with np.errstate(divide="ignore", invalid="ignore"):
        yhat = (d.delpred - d.pred_full) ** 2 / d.vdelpred
    xhat = (y - d.pred_full) ** 2 / (d.tau2 + v)
    return BaujatResult(labels=labs, x=xhat, y=yhat, method=method, test=test)


# ---------------------------------------------------------------------------
# GOSH
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class GoshResult(ResultMixin):
    """Result of :func:`gosh` (metafor ``gosh.rma``): one fit per subset of studies.

    Attributes
    ----------
    membership : ndarray of bool, shape (n_subsets, k)
        ``membership[s, i]`` is True when study i is in subset s.
    estimate, se, ci_low, ci_high, tau2, i2, h2, q : ndarray, shape (n_subsets,)
        The fit of each subset (``q`` is Cochran's Q; ``i2`` percent).
    k : ndarray of int, shape (n_subsets,)
        Subset sizes; subsets are sorted by size (stable), as metafor.
    exact : bool
        True when every non-empty subset was fitted.
    """

    membership: NDArray[np.bool_] = field(repr=False)
    estimate: NDArray[np.float64] = field(repr=False)
    se: NDArray[np.float64] = field(repr=False)
    ci_low: NDArray[np.float64] = field(repr=False)
    ci_high: NDArray[np.float64] = field(repr=False)
    tau2: NDArray[np.float64] = field(repr=False)
    i2: NDArray[np.float64] = field(repr=False)
    h2: NDArray[np.float64] = field(repr=False)
    q: NDArray[np.float64] = field(repr=False)
    k: NDArray[np.int64] = field(repr=False)
    converged: NDArray[np.bool_] = field(repr=False)
    labels: tuple[str, ...]
    exact: bool
    seed: int | None
    method: str
    alpha: float

    def __len__(self) -> int:
        return int(self.k.shape[0])

    def summary_frame(self) -> pd.DataFrame:
        """One row per subset: ``estimate, se, ci_low, ci_high, weight`` (NaN), ``tau2, i2, h2, q, k``."""
        n = len(self)
        return pd.DataFrame(
            {
                "estimate": self.estimate,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "weight": np.full(n, np.nan),
                "tau2": self.tau2,
                "i2": self.i2,
                "h2": self.h2,
                "q": self.q,
                "k": self.k,
            },
            index=pd.RangeIndex(n, name="subset"),
        )

    def membership_frame(self) -> pd.DataFrame:
        """The membership matrix as a DataFrame with the study labels as columns."""
        return pd.DataFrame(self.membership, columns=list(self.labels))

    def __repr__(self) -> str:
        kind = "all subsets" if self.exact else "random subsets"
        return (
            f"GoshResult({len(self)} fits, {kind} of k={len(self.labels)} studies, method={self.method!r}, "
            f"estimate range [{fmt(np.nanmin(self.estimate))}, {fmt(np.nanmax(self.estimate))}])"
        )

    __str__ = __repr__


def _gosh_chunk(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    member: NDArray[np.bool_],
    method: str,
    z: float,
) -> dict[str, NDArray[Any]]:
    mf = member.astype(np.float64)
    k = member.sum(axis=1).astype(np.int64)
    y0 = mf * y[None, :]
    v0 = np.where(member, v[None, :], 1.0)
    if method in ("REML", "ML"):
        # the intercept-only ML/REML kernel of evidence.tau2 (metafor's optimum and its
        # ll0check); like metafor's gosh(), no warning for subsets set to 0 by the ll0check
        tau2, _, conv, _ = likelihood_root(y0, v0, mf, k, method == "REML", DEFAULT_TOL, DEFAULT_MAX_ITER)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = _tau2.estimate(method, y0, v0, member)
        tau2, conv = fit.tau2, fit.converged
    # pooled estimate and heterogeneity (QE, I2, H2; i2def = "1") by the engine's
    # weighted least squares and heterogeneity routine, intercept-only model
    ones = np.ones((y.shape[0], 1))
    _, Ainv, beta, _, _ = wls(tau2, y0, v0, ones, mf)
    est = beta[:, 0]
    se = np.sqrt(Ainv[:, 0, 0])
    q, _, i2, h2 = heterogeneity(y0, v0, mf, k, tau2, method == "FE")
    return {
        "estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se,
        "tau2": tau2, "i2": i2, "h2": h2, "q": q, "k": k, "converged": conv,
    }


def _popcount(codes: NDArray[np.int64]) -> NDArray[np.int64]:
    c = codes.astype(np.uint64)
    c = c - ((c >> np.uint64(1)) & np.uint64(0x5555555555555555))
    c = (c & np.uint64(0x3333333333333333)) + ((c >> np.uint64(2)) & np.uint64(0x3333333333333333))
    c = (c + (c >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return ((c * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.int64)


def _gosh_plan_checks(k: int, max_exact: Any, n_subsets: Any, chunk_size: Any) -> tuple[bool, int | None]:
    """Check the subset options of :func:`gosh`; return whether all subsets are fitted, and their number."""
    whole = isinstance(max_exact, (int, np.integer)) and not isinstance(max_exact, bool)
    if not whole or not 1 <= max_exact <= _GOSH_HARD_LIMIT:
        raise ValueError(f"max_exact={max_exact!r} must be a whole number between 1 and {_GOSH_HARD_LIMIT}.")
    if n_subsets is not None and (
        isinstance(n_subsets, bool) or not isinstance(n_subsets, (int, np.integer)) or n_subsets < 2
    ):
        raise ValueError(f"n_subsets={n_subsets!r} must be a whole number >= 2 (metafor: subsets >= 2).")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be a whole number >= 1.")
    n_all = (1 << k) - 1 if k <= 62 else None
    exact = k <= max_exact and (n_subsets is None or (n_all is not None and n_subsets >= n_all))
    if not exact and n_subsets is None:
        raise ValueError(
            f"gosh would fit all 2^{k} - 1 subsets of k={k} studies, above max_exact={max_exact}; "
            f"pass n_subsets (e.g. n_subsets=1_000_000) to fit random subsets, or raise max_exact "
            f"(at most {_GOSH_HARD_LIMIT})."
        )
    return bool(exact), n_all


def _gosh_subsets(
    k: int, exact: bool, n_all: int | None, n_subsets: int | None, rng: np.random.Generator
) -> tuple[int, NDArray[np.int64] | None, NDArray[np.int64] | None]:
    """Which subsets :func:`gosh` fits: every subset as a bit code ordered by size, or random sizes.

    Random subsets (metafor ``gosh(subsets=)``): sizes drawn with binomial(k, 1/2)
    probabilities given a size of at least 1, sorted; the members are drawn chunk by chunk.
    """
    if exact:
        assert n_all is not None
        codes = np.arange(1, n_all + 1, dtype=np.int64)
        codes = codes[np.argsort(_popcount(codes), kind="stable")]
        total = n_all
        sizes = None
    else:
        assert n_subsets is not None
        total = int(n_subsets)
        m = np.arange(1, k + 1)
        prob = stats.binom.pmf(m, k, 0.5)
        sizes = np.sort(rng.choice(m, size=total, p=prob / prob.sum()))
        codes = None
    return total, codes, sizes


@accepts_result()
def gosh(
    yi: ArrayLike,
    vi: ArrayLike,
    *,
    method: str = "REML",
    alpha: float = 0.05,
    max_exact: int = GOSH_MAX_EXACT,
    n_subsets: int | None = None,
    seed: int | np.random.Generator | None = None,
    progress: bool = True,
    chunk_size: int = GOSH_CHUNK,
    labels: Sequence[Any] | None = None,
) -> GoshResult:
    """GOSH: the meta-analysis of every subset of the studies (metafor ``gosh.rma``).

    Olkin, Dahabreh & Trikalinos (2012) [3]_.  Subset s is the bit pattern of
    an integer code (study i is in the subset when bit i is set), exactly the
    row order of metafor's ``expand.grid`` enumeration; subsets are then sorted
    by size (stable), as metafor.  Fits run in chunks of ``chunk_size`` rows,
    all rows of a chunk in lock-step, with a tqdm progress bar.

    * ``k <= max_exact`` and ``n_subsets`` is None or at least ``2^k - 1``: all
      ``2^k - 1`` non-empty subsets (``exact=True``);
    * otherwise, with ``n_subsets`` given: ``n_subsets`` random subsets drawn
      as metafor does -- a size m in 1..k with probability proportional to
      ``binom(k, m)/2^k``, then m studies at random -- from
      ``numpy.random.default_rng(seed)`` (duplicates possible);
    * ``k > max_exact`` without ``n_subsets``: ValueError.

    Each subset's tau^2 uses ``method`` and the kernels of :mod:`evidence.tau2`
    (REML and ML: the local maximum metafor's Fisher scoring reaches, with its
    ``ll0check``; see :func:`evidence.tau2.reml`), exactly as
    :func:`evidence.pooling.meta_analysis_many` fits that subset; a subset whose
    estimator does not converge keeps its last iterate (marked by ``converged``,
    with one ConvergenceWarning), the package's one policy.  A one-study subset has
    ``tau2 = 0``, ``q = 0``, ``i2 = 0``, ``h2 = 1`` (as metafor).

    Divergence from metafor: for ``method="DL"`` metafor's ``gosh()`` takes a
    shortcut that reports ``H^2 = Q/(k-1)`` also for subsets where tau^2 is
    truncated at 0, where ``rma()`` reports ``H^2 = 1``; here every subset gets
    what :func:`evidence.pooling.meta_analysis` reports for it (``H^2 = 1``).

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
    method : str
        ``"FE"`` or a tau^2 estimator.
    alpha : float
        Level of the per-subset confidence intervals (z based).
    max_exact : int
        Largest k for which all subsets are enumerated (at most 30).
    n_subsets : int, optional
        Number of random subsets when k exceeds ``max_exact``.
    seed : int or numpy Generator, optional
        Seed of the random subsets.
    progress : bool
        Show a tqdm progress bar.
    chunk_size : int
        Subsets per chunk.
    labels : sequence, optional
        Study labels (columns of :meth:`GoshResult.membership_frame`).

    Returns
    -------
    GoshResult

    Examples
    --------
    >>> res = gosh([0.1, 0.3, 0.5, 1.2], [0.01, 0.02, 0.04, 0.05], method="DL", progress=False)
    >>> len(res), res.k[:5].tolist(), res.membership[4].tolist()
    (15, [1, 1, 1, 1, 2], [True, True, False, False])
    """
    from tqdm.auto import tqdm

    y, v = check_effects(yi, vi, what="gosh")
    check_choice("method", method, POOLING_METHODS)
    a = check_alpha(alpha)
    k = len(y)
    _need_two(k, "gosh")
    labs = tuple(study_labels(labels, k))
    exact, n_all = _gosh_plan_checks(k, max_exact, n_subsets, chunk_size)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(check_seed("seed", seed))
    z = float(stats.norm.isf(a / 2))
    total, codes, sizes = _gosh_subsets(k, exact, n_all, n_subsets, rng)
    bits = np.arange(k, dtype=np.int64)
    out: dict[str, NDArray[Any]] = {}
    member_all = np.empty((total, k), dtype=bool)
    bar = tqdm(total=total, desc="gosh", disable=not progress, unit="fit")
    try:
        for start in range(0, total, chunk_size):
            stop = min(total, start + chunk_size)
            if codes is not None:
                member = ((codes[start:stop, None] >> bits) & 1).astype(bool)
            else:
                assert sizes is not None
                keys = rng.random((stop - start, k))
                ranks = np.argsort(np.argsort(keys, axis=1), axis=1)
                member = ranks < sizes[start:stop, None]
            member_all[start:stop] = member
            res = _gosh_chunk(y, v, member, method, z)
            for key, val in res.items():
                if key not in out:
                    out[key] = np.empty(total, dtype=val.dtype)
                out[key][start:stop] = val
            bar.update(stop - start)
    finally:
        bar.close()
    n_bad = int((~out["converged"]).sum())
    if n_bad:
        warnings.warn(
            f"The {method} estimator did not converge for {n_bad} of {total} subsets; their last "
            f"iterate is kept and converged=False marks them.",
            ConvergenceWarning,
            stacklevel=2,
        )
    ro = {key: read_only(val) for key, val in out.items()}
    return GoshResult(
        membership=read_only(member_all),
        estimate=ro["estimate"],
        se=ro["se"],
        ci_low=ro["ci_low"],
        ci_high=ro["ci_high"],
        tau2=ro["tau2"],
        i2=ro["i2"],
        h2=ro["h2"],
        q=ro["q"],
        k=ro["k"],
        converged=ro["converged"],
        labels=labs,
        exact=exact,
        seed=seed if isinstance(seed, (int, np.integer)) or seed is None else None,
        method=method,
        alpha=a,
    )
