"""Permutation test of a meta-regression (metafor ``permutest.rma.uni``).

The rows of the model matrix are permuted relative to ``(yi, vi)`` and the
model is refitted, every permutation in lock-step by the batch kernels of
:mod:`evidence.metareg` (:func:`~evidence.metareg.tau2_mods`,
:func:`~evidence.metareg.fit_mods`).

References
----------
.. [1] Higgins JPT, Thompson SG (2004). Controlling the risk of spurious
   findings from meta-regression. *Stat Med* 23(11), 1663-1682 (permutation
   test, section 4).
.. [2] Good P (2000). *Permutation Tests* (2nd ed.). Springer.
.. [3] metafor 3.8-1 (Viechtbauer): ``permutest.rma.uni()``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from evidence._engine import read_only
from evidence._results import ResultMixin, fmt
from evidence._validation import check_bool, check_seed
from evidence.exceptions import ConvergenceWarning
from evidence.metareg import MetaRegressionResult, coef_frame, fit_mods, meta_regression, tau2_mods

__all__ = ["PermutationTestResult", "permutation_test", "COMPTOL"]

#: metafor ``permutest`` control ``comptol``: a permuted statistic counts as at
#: least as extreme when it is within this of the observed one.
COMPTOL: float = float(np.sqrt(np.finfo(float).eps))
_PERM_CHUNK: int = 8192


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
        df = coef_frame(m.names, m.estimate, m.se, m.ci_low, m.ci_high, m.statistic, self.p_value)
        df["p_value_asymptotic"] = m.p_value
        return df

    def __repr__(self) -> str:
        kind = "exact" if self.exact else "random"
        return (
            f"PermutationTestResult({kind}, n_permutations={self.n_permutations}, method={self.method!r}, "
            f"qm_pvalue={fmt(self.qm_pvalue)}, "
            f"p_value={dict(zip(self.names, (fmt(x) for x in self.p_value), strict=True))})"
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
    n_permutations: int = 1000,
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
    ``(yi, vi)`` and the model is refitted (Higgins & Thompson 2004 [1]_,
    section 4; Good 2000 [2]_).  The p-value of coefficient j is the share of
    permutations with ``|z_j| >= |z_j,obs| - COMPTOL`` and that of the
    omnibus test the share with ``QM >= QM_obs - COMPTOL``.  If ``exact`` or
    the number of distinct permutations of the rows (``k! / prod(n_g!)`` over
    groups of identical rows) is at most ``n_permutations``, all distinct
    permutations are used; otherwise ``n_permutations`` random permutations drawn
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
    n_permutations : int
        Number of random permutations requested (metafor ``iter``), at least 2.
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
    >>> res = permutation_test(yi, vi, lat, n_permutations=500, seed=1, progress=False)
    >>> res.n_permutations, bool(res.qm_pvalue < 0.05)
    (500, True)
    """
    from tqdm.auto import tqdm

    check_seed("seed", seed), check_bool("exact", exact)
    if isinstance(n_permutations, bool) or not isinstance(n_permutations, (int, np.integer)) or n_permutations < 2:
        raise ValueError(f"n_permutations={n_permutations!r} must be an integer >= 2 (metafor: iter >= 2).")
    model = meta_regression(yi, vi, moderators, method=method, test=test, alpha=alpha, intercept=intercept)
    y, v, X = model.yi, model.vi, model.X
    k, p = X.shape
    btt = list(range(1, p)) if (intercept and p > 1) else list(range(p))
    _, groups = np.unique(X, axis=0, return_inverse=True)
    groups = groups.ravel()
    n_distinct = _distinct_permutation_count(groups)
    use_exact = bool(exact) or n_distinct <= n_permutations
    if use_exact and n_distinct > 5_000_000:
        raise ValueError(
            f"exact=True needs {n_distinct} distinct permutations; use exact=False with n_permutations "
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
        total = int(n_permutations)
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
                warnings.simplefilter("ignore", ConvergenceWarning)  # counted in n_failed below
                t2, _, conv = tau2_mods(Y, V, X, method=method)
                fit = fit_mods(Y, V, X, t2, test=test, btt=btt)
            good = conv & fit.ok
            stat_perm[start:stop][good] = fit.statistic[good]
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
        p_value=read_only(np.minimum(pval, 1.0)),
        qm_pvalue=qmp,
        n_permutations=total,
        exact=use_exact,
        n_failed=n_failed,
        seed=seed if isinstance(seed, (int, np.integer)) or seed is None else None,
        method=method,
        test=test,
        alpha=model.alpha,
        statistic_perm=read_only(stat_perm),
        qm_perm=read_only(qm_perm),
    )
