"""Pooling: inverse-variance meta-analysis (single and batched) and 2x2-table methods.

* :func:`meta_analysis` -- one analysis of effect sizes ``yi`` with sampling
  variances ``vi`` (metafor ``rma.uni``, intercept only);
* :func:`meta_analysis_many` -- the same for many analyses at once, as arrays of
  shape ``(n_analyses, k)`` with NaN marking absent studies; the single-fit
  function is this one with ``n = 1``;
* :func:`meta_analysis_2x2` -- 2x2 tables pooled on the odds-ratio scale by
  Mantel-Haenszel (metafor ``rma.mh``), Peto (``rma.peto``) or any
  inverse-variance method on log odds ratios.

Conventions, all following metafor 3.8-1 ``rma.uni`` / ``predict.rma``:

* weights ``w_i = 1/(v_i + tau2)``; ``estimate = sum w_i y_i / sum w_i``,
  ``se = 1/sqrt(sum w_i)`` (Hedges & Vevea 1998 [7]_; metafor ``rma.uni``);
* ``test="knha"``: ``se`` multiplied by ``sqrt(s2w)`` with
  ``s2w = sum w_i (y_i - estimate)^2 / (k - 1)`` (set to 0 when that sum is
  ``<= machine eps``, as metafor; no truncation at 1), t reference with
  ``k - 1`` degrees of freedom (Hartung & Knapp 2001 [3]_; Sidik & Jonkman
  2002 [8]_);
* Cochran's ``Q`` always uses the fixed-effect weights ``1/v_i``,
  ``q_pvalue`` its chi^2_{k-1} upper tail;
* ``I^2 = 100 tau2 / (vt + tau2)`` and ``H^2 = tau2/vt + 1`` with the
  "typical" within-study variance ``vt = (k - 1) / (s_1 - s_2/s_1)``,
  ``s_r = sum v_i^-r`` (Higgins & Thompson 2002 [2]_; metafor ``rma.uni``
  with its default ``i2def = "1"``); for ``method="FE"``,
  ``I^2 = max(0, 100 (Q - (k-1))/Q)`` and ``H^2 = Q/(k-1)`` (Higgins &
  Thompson 2002 [2]_, as metafor);
* prediction interval ``estimate -/+ crit sqrt(se^2 + tau2)`` with ``crit`` the
  normal (``"z"``) or ``t_{k-1}`` (``"knha"``) quantile (metafor ``predict.rma``,
  default ``pi.type``; Riley et al. 2011 use ``t_{k-2}`` instead);
* the Q-profile interval for tau2 (:func:`evidence.tau2.q_profile_ci`) is
  reported for every method, ``"FE"`` included (it depends only on the data;
  metafor's ``confint()`` declines for FE models).

Edge cases (as metafor unless said otherwise):

* ``k = 1``: ``tau2 = 0``, ``q = 0``, ``q_df = 0``, ``q_pvalue = 1``, ``i2 = 0``,
  ``h2 = 1``, the tau2 interval is NaN (undefined), and ``test="knha"`` is
  replaced by ``"z"`` with a :class:`~evidence.exceptions.SingleStudyWarning`;
* ``Q < k - 1``: the moment estimators are truncated at 0; REML/ML may reach the
  boundary 0 (see :func:`evidence.tau2.reml`);
* identical studies: ``q = 0``, ``tau2 = 0``; with ``test="knha"`` the adjusted
  SE is 0 (metafor's ``s2w = 0``), so the CI collapses to the point estimate
  and ``statistic`` is infinite (NaN if the estimate is exactly 0), as in metafor;
* non-convergence of REML/ML/PM/EB (possible only with a very small ``max_iter``:
  the search is bracketed): the package's one policy (:mod:`evidence._engine`):
  a :class:`~evidence.exceptions.ConvergenceWarning` naming the estimator and the
  row(s), the last iterate kept, ``converged = False``; no fallback to another
  estimator (metafor stops with an error);
* variances below 1e-100 or above 1e100: the fit runs on the rescaled problem
  ``y/c``, ``v/c^2`` (every quantity is scale-equivariant) so that no weight
  overflows; I^2 is always in [0, 100], H^2 >= 1 and the tau2 interval is never
  inverted;
* non-convergence of the Q-profile root search (possible only with a very small
  ``max_iter``: the root is always bracketed): a
  :class:`~evidence.exceptions.ConvergenceWarning`; the bounds are the last
  iterates.

References
----------
.. [1] Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor
   package. *J Stat Softw* 36(3), 1-48; metafor 3.8-1 ``rma.uni``,
   ``predict.rma``, ``confint.rma.uni``, ``rma.mh``, ``rma.peto``.
.. [2] Higgins, J. P. T., & Thompson, S. G. (2002). Quantifying heterogeneity
   in a meta-analysis. *Stat Med* 21(11), 1539-1558.
.. [3] Hartung, J., & Knapp, G. (2001). On tests of the overall treatment
   effect in meta-analysis with normally distributed responses. *Stat Med*
   20(12), 1771-1782.
.. [4] Robins, J., Breslow, N., & Greenland, S. (1986). Estimators of the
   Mantel-Haenszel variance consistent in both sparse data and large-strata
   limiting models. *Biometrics* 42(2), 311-323.
.. [5] Mantel, N., & Haenszel, W. (1959). Statistical aspects of the analysis
   of data from retrospective studies of disease. *J Natl Cancer Inst* 22(4),
   719-748.
.. [6] Yusuf, S., Peto, R., Lewis, J., Collins, R., & Sleight, P. (1985). Beta
   blockade during and after myocardial infarction. *Prog Cardiovasc Dis*
   27(5), 335-371.
.. [7] Hedges, L. V., & Vevea, J. L. (1998). Fixed- and random-effects models
   in meta-analysis. *Psychol Methods* 3(4), 486-504.
.. [8] Sidik, K., & Jonkman, J. N. (2002). A simple confidence interval for
   meta-analysis. *Stat Med* 21(21), 3153-3159.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from evidence import tau2 as _tau2
from evidence._engine import (
    BATCH,
    SCALAR,
    Ops,
    check_effects,
    chi2_sf,
    critical,
    heterogeneity,
    i2_h2,
    prepare,
    read_only,
    rows_text,
    study_labels,
    wald,
    warn_not_converged,
)
from evidence._results import check_measure
from evidence._validation import (
    as_float_array,
    check_alpha,
    check_choice,
    check_counts,
    check_finite,
    check_positive_variances,
    check_same_index,
    check_same_length,
)
from evidence.exceptions import EvidenceWarning, SingleStudyWarning
from evidence.measures import frame_inputs, frame_tables
from evidence.options import (
    DOUBLE_ZERO,
    POOLING_METHODS,
    POOLING_METHODS_2X2,
    TESTS,
    ZERO_CELL_CORRECTIONS,
)
from evidence.results import (
    POOLED_FIELDS,
    MetaAnalysis2x2Result,
    MetaAnalysisBatch,
    MetaAnalysisResult,
)

__all__ = ["meta_analysis", "meta_analysis_many", "meta_analysis_2x2"]

_EPS = float(np.finfo(float).eps)


def _check_iteration(tol: Any, max_iter: Any) -> tuple[float, int]:
    try:
        t = float(tol)
    except (TypeError, ValueError):
        raise TypeError(f"tol={tol!r} must be a positive number, e.g. tol=1e-12.") from None
    if not (t > 0.0) or not np.isfinite(t):
        raise ValueError(f"tol={tol!r} must be a positive finite number, e.g. tol=1e-12.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter={max_iter!r} must be a whole number >= 1, e.g. max_iter=1000.")
    return t, int(max_iter)


#: Sampling variances outside [_V_SAFE_LOW, _V_SAFE_HIGH] make the fit run on a rescaled problem.
_V_SAFE_LOW: float = 1e-100
_V_SAFE_HIGH: float = 1e100
#: A fit whose largest variance exceeds this multiple of its smallest is centred at its most
#: precise study (see :func:`_fit`); below it the rounding error of the pooled mean times the
#: largest weight is below ``1e16 * eps^2`` of a residual and cannot matter.
_DOMINANCE: float = 1e16


def _rescale(
    y0: NDArray[np.float64], v0: NDArray[np.float64], mf: NDArray[np.float64], vmin: NDArray[np.float64],
    vmax: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    """Divide ``y`` by ``c`` and ``v`` by ``c^2`` where the variances leave the safe range.

    Every estimator and interval is scale-equivariant (``y -> y/c``, ``v -> v/c^2``
    gives ``tau2/c^2``, ``estimate/c``, the same Q, I^2, H^2 and weights), so a row
    whose variances reach below 1e-100 or above 1e100 is fitted with ``c^2`` the
    geometric midpoint of its smallest and largest variance, where the weights
    ``1/v``, their squares and cubes stay inside the double range (with
    ``v = 1e-300`` they would overflow and give H^2 = -inf and an inverted tau^2
    interval).  ``vmin``, ``vmax``: the smallest and largest variance per row.
    Returns the scaled arrays and ``c`` per row (None when no row needed it).
    """
    extreme = (vmin < _V_SAFE_LOW) | (vmax > _V_SAFE_HIGH)
    if not extreme.any():
        return y0, v0, None
    c = np.where(extreme, np.sqrt(np.sqrt(vmin) * np.sqrt(vmax)), 1.0)
    return y0 / c[:, None], np.where(mf > 0, v0 / (c * c)[:, None], 1.0), c


def _fit(
    y0: NDArray[np.float64],
    v0: NDArray[np.float64],
    mf: NDArray[np.float64],
    k: NDArray[np.int64],
    method: str,
    test: str,
    alpha: float,
    tol: float,
    max_iter: int,
    single: bool,
    stacklevel: int,
) -> dict[str, NDArray[Any]]:
    """The shared kernel of every inverse-variance fit: prepared arrays in, dict of arrays out.

    ``y0``, ``v0``, ``mf``, ``k`` as :func:`evidence._engine.prepare` returns them.
    """
    # Where one weight dwarfs the others (v_max / v_min above _DOMINANCE, e.g. v = [1e-49, 1, 1]),
    # centre the row at its most precise study (every estimator is location-equivariant): the
    # dominant term of every weighted sum is then exactly 0, so Q keeps its small residuals
    # instead of the rounding error of mu times the huge weight.  Other rows are left as they are.
    vmin = np.where(mf > 0, v0, np.inf).min(axis=1)
    vmax = np.where(mf > 0, v0, 0.0).max(axis=1)
    dominant = vmax > _DOMINANCE * vmin
    centre = np.zeros(y0.shape[0])
    if dominant.any():
        rows = np.flatnonzero(dominant)
        centre[rows] = y0[rows, np.argmin(np.where(mf[rows] > 0, v0[rows], np.inf), axis=1)]
        y0 = (y0 - centre[:, None]) * mf
    y0, v0, c = _rescale(y0, v0, mf, vmin, vmax)
    fit = _tau2.estimate_arrays(method, y0, v0, mf, k, tol, max_iter, stacklevel + 1, single)
    tau2 = fit.tau2
    warn_not_converged(f"The {method} estimator of tau2", np.flatnonzero(~fit.converged), single,
                       max_iter, tol, stacklevel)

    out = _pool(y0, v0, mf, k, tau2, centre if c is None else centre / c, method, test, alpha, single,
                stacklevel + 1, BATCH)
    ci = _tau2.q_profile_arrays(y0, v0, mf, k, alpha, tol, max_iter)
    warn_not_converged("The Q-profile interval for tau2", np.flatnonzero(~ci.converged), single,
                       max_iter, tol, stacklevel)
    out.update(tau2_ci_low=ci.low, tau2_ci_high=np.maximum(ci.high, ci.low),  # never inverted
               converged=fit.converged, n_iter=fit.n_iter)
    if c is not None:  # back to the scale of the data
        for name in ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high"):
            out[name] = out[name] * c
        for name in ("tau2", "tau2_ci_low", "tau2_ci_high"):
            out[name] = out[name] * (c * c)
    return out


def _pool(
    y0: Any, v0: Any, mf: Any, k: Any, tau2: Any, centre: Any, method: str, test: str, alpha: float,
    single: bool, stacklevel: int, ops: Ops,
) -> dict[str, Any]:
    """Pooled estimate, its test and intervals, the prediction interval and heterogeneity at ``tau2``.

    ``y0`` are the effects minus ``centre`` (see :func:`_fit`); the estimate is
    returned with ``centre`` added back.  Rows of a batch (``ops=BATCH``) or one
    fit with every study present (``ops=SCALAR``); the formulas are in the module
    docstring.
    """
    W, dot = ops.where, ops.dot
    w = mf / (v0 + ops.col(tau2))
    sw = ops.total(w)
    est_c = dot(w, y0) / sw
    est = est_c + centre
    se = np.sqrt(1.0 / sw)
    df = k - 1
    tdf = None
    if test == "knha":
        _warn_knha(method, np.atleast_1d(k), single, stacklevel + 1)
        r = y0 - ops.col(est_c)
        rss = dot(w * r, r)
        use_t = k > 1
        with np.errstate(divide="ignore", invalid="ignore"):
            s2w = W(rss <= _EPS, 0.0, rss / ops.maximum(df, 1))
        se = W(use_t, se * np.sqrt(s2w), se)
        tdf = W(use_t, ops.maximum(df, 1), np.inf)
    zval, pval, ci_low, ci_high = wald(est, se, tdf, alpha)
    crit = critical(tdf, alpha)
    pse = np.sqrt(se * se + tau2)
    q, q_p, i2, h2 = heterogeneity(y0, v0, mf, k, tau2, method == "FE", None, ops)
    return {
        "estimate": est, "se": se, "ci_low": ci_low, "ci_high": ci_high, "statistic": zval, "p_value": pval,
        "tau2": tau2, "i2": i2, "h2": h2, "q": q, "q_df": df, "q_pvalue": q_p,
        "pi_low": est - crit * pse, "pi_high": est + crit * pse, "k": k,
        "weights": w / ops.col(sw) * 100.0,
    }


_NUMPY_VALUES = (np.generic, np.ndarray)  # what _fit_single turns into Python numbers


def _fit_single(
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    method: str,
    test: str,
    alpha: float,
    tol: float,
    max_iter: int,
    stacklevel: int,
) -> dict[str, Any]:
    """:func:`_fit` for one analysis with every study present, without the batch machinery.

    The same kernels one fit at a time (:func:`evidence.tau2.estimate_single`,
    :func:`_pool` with the :data:`evidence._engine.SCALAR` operations,
    :func:`evidence.tau2.q_profile_single`); a fit whose variances need
    rescaling (:func:`_rescale`) takes the batch path.
    """
    k = y.size
    imin = v.argmin()
    vmin, vmax = v[imin], v.max()
    if vmin < _V_SAFE_LOW or vmax > _V_SAFE_HIGH:
        batch = _fit(y[None, :], v[None, :], np.ones((1, k)), np.array([k]), method, test, alpha, tol, max_iter,
                     True, stacklevel + 1)
        return {name: (a[0] if name == "weights" else a[0].item()) for name, a in batch.items()}
    centre = 0.0
    if vmax > _DOMINANCE * vmin:  # as in _fit
        centre = y[imin]
        y = y - centre
    tau2, n_iter, conv = _tau2.estimate_single(method, y, v, tol, max_iter, stacklevel + 1)
    if not conv:
        warn_not_converged(f"The {method} estimator of tau2", np.zeros(1, dtype=np.int64), True, max_iter, tol,
                           stacklevel)
    out = _pool(y, v, 1.0, k, tau2, centre, method, test, alpha, True, stacklevel + 1, SCALAR)
    low, high, qp_conv = _tau2.q_profile_single(y, v, out["q"], alpha, tol, max_iter)
    if not qp_conv:
        warn_not_converged("The Q-profile interval for tau2", np.zeros(1, dtype=np.int64), True, max_iter, tol,
                           stacklevel)
    out.update(tau2_ci_low=low, tau2_ci_high=max(high, low), converged=conv, n_iter=n_iter)
    for name, value in out.items():
        if name != "weights" and isinstance(value, _NUMPY_VALUES):
            out[name] = value.item()
    return out


def _warn_knha(method: str, k: NDArray[np.int64], single: bool, stacklevel: int) -> None:
    """The warnings of metafor's Knapp-Hartung method: with FE, and with one study (z used)."""
    if method == "FE":
        warnings.warn(
            "The Knapp-Hartung method (test='knha') is not meant to be used with "
            "method='FE' (as metafor warns); it was applied as requested.",
            EvidenceWarning,
            stacklevel=stacklevel + 1,
        )
    one = np.flatnonzero(k == 1)
    if one.size:
        where = "" if single else f" for analysis row(s) {rows_text(one)}"
        warnings.warn(
            f"test='knha' needs at least 2 studies{where}; with k = 1 "
            f"the z test was used instead (as metafor does).",
            SingleStudyWarning,
            stacklevel=stacklevel + 1,
        )


def meta_analysis_many(
    Y: ArrayLike,
    V: ArrayLike,
    *,
    method: str = "REML",
    test: str = "z",
    alpha: float = 0.05,
    tol: float = _tau2.DEFAULT_TOL,
    max_iter: int = _tau2.DEFAULT_MAX_ITER,
) -> MetaAnalysisBatch:
    """Fit many random-effects (or common-effect) meta-analyses at once.

    Row ``i`` of ``Y`` and ``V`` is one analysis; NaN marks an absent study (the
    NaN pattern of ``Y`` and ``V`` must agree).  Every row is fitted exactly as
    :func:`meta_analysis` would fit its present studies; iterative estimators run
    in lock-step over the rows with per-row convergence.  Memory is O(n k).

    Parameters
    ----------
    Y, V : array_like, shape (n_analyses, k)
        Effect sizes and sampling variances (variances strictly positive).
    method : str, default "REML"
        ``"FE"`` or a tau^2 estimator of :data:`evidence.options.TAU2_METHODS`.
    test : str, default "z"
        ``"z"`` or ``"knha"`` (Hartung-Knapp-Sidik-Jonkman).
    alpha : float, default 0.05
        Intervals have level ``1 - alpha``.
    tol, max_iter : float, int
        Convergence tolerance and iteration cap of the iterative estimators
        (see :data:`evidence.tau2.DEFAULT_TOL`).

    Returns
    -------
    MetaAnalysisBatch
        Arrays of shape ``(n_analyses,)`` named as the attributes of
        :class:`~evidence.results.MetaAnalysisResult`, plus ``converged`` and
        ``n_iter``.

    Raises
    ------
    ValueError
        On a shape mismatch, disagreeing NaN patterns, an analysis row with no
        study, or a variance that is not strictly positive (naming the row).

    Examples
    --------
    >>> import numpy as np
    >>> Y = np.array([[0.1, 0.3, 0.5], [0.2, -0.1, np.nan]])
    >>> V = np.array([[0.01, 0.02, 0.04], [0.02, 0.03, np.nan]])
    >>> res = meta_analysis_many(Y, V, method="DL")
    >>> res.k.tolist(), np.round(res.tau2, 6).tolist()
    ([3, 2], [0.017143, 0.02])
    """
    method = check_choice("method", method, POOLING_METHODS)
    test = check_choice("test", test, TESTS)
    alpha = check_alpha(alpha)
    tol, max_iter = _check_iteration(tol, max_iter)
    y = as_float_array("Y", Y, ndim=2)
    v = as_float_array("V", V, ndim=2)
    if y.shape != v.shape:
        raise ValueError(f"Y has shape {y.shape} but V has shape {v.shape}; they must be equal.")
    if y.shape[1] == 0 or y.shape[0] == 0:
        raise ValueError(f"Y has shape {y.shape}; at least one analysis with one study is needed.")
    ny, nv = np.isnan(y), np.isnan(v)
    if (ny != nv).any():
        i, j = (int(t) for t in np.argwhere(ny != nv)[0])
        which = "Y" if ny[i, j] else "V"
        raise ValueError(
            f"{which} is NaN at analysis row {i}, study {j} but the other array is not; NaN marks "
            f"an absent study and must appear in both Y and V."
        )
    check_finite("Y", y, allow_nan=True)
    check_positive_variances("V", v, allow_nan=True)
    mask = ~ny
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise ValueError(
            f"Analysis row(s) {rows_text(empty)} have no study "
            f"(all values NaN); every row needs at least one study."
        )
    out = _fit(*prepare(y, v, mask), method, test, alpha, tol, max_iter, single=False, stacklevel=3)
    return MetaAnalysisBatch(
        **{name: read_only(out[name]) for name in POOLED_FIELDS}, method=method, test=test, alpha=alpha
    )


def meta_analysis(
    yi: ArrayLike | str = "yi",
    vi: ArrayLike | str = "vi",
    *,
    data: Any = None,
    method: str = "REML",
    test: str = "z",
    alpha: float = 0.05,
    labels: Sequence[str] | str | None = None,
    tol: float = _tau2.DEFAULT_TOL,
    max_iter: int = _tau2.DEFAULT_MAX_ITER,
    measure: str | None = None,
) -> MetaAnalysisResult:
    """Random-effects (or common-effect) meta-analysis of effect sizes, as metafor ``rma.uni``.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes (e.g. log odds ratios) and their sampling variances
        (finite, variances strictly positive).
    method : str, default "REML"
        ``"FE"`` (common effect) or a tau^2 estimator: ``"DL"``, ``"REML"``,
        ``"ML"``, ``"PM"``, ``"HS"``, ``"SJ"``, ``"HE"``, ``"EB"``
        (see :mod:`evidence.tau2`).
    test : str, default "z"
        ``"z"`` (normal reference) or ``"knha"`` (Knapp-Hartung adjusted SE, t
        with ``k - 1`` df, as metafor ``test="knha"``).
    alpha : float, default 0.05
        Every interval has level ``1 - alpha``.
    data : pandas.DataFrame, optional
        A frame (e.g. from :func:`evidence.escalc`): ``yi``, ``vi`` and ``labels`` are then
        column names (``yi="yi"``, ``vi="vi"`` by default; labels default to the frame's label
        column).  Rows the frame excluded (double-zero studies) are left out; see
        :func:`evidence.measures.frame_inputs`.
    labels : sequence of str, or a column name with ``data``, optional
        Study labels (default ``"Study 1"``, ``"Study 2"``, ..., as a
        :class:`~evidence.results.StudyLabels` that makes them only when read).
    tol, max_iter : float, int
        Convergence tolerance and iteration cap of REML/ML/PM/EB.
    measure : str, optional
        The effect measure of ``yi`` (a key of :data:`evidence.measures.MEASURES`, e.g. ``"OR"``);
        by default ``data.attrs["measure"]`` (set by :func:`evidence.escalc`), else None (a generic
        effect, reported as computed).  The result then reports on the measure's natural scale.

    Returns
    -------
    MetaAnalysisResult
        See the module docstring for the formulas and edge cases.

    Examples
    --------
    >>> res = meta_analysis([0.1, 0.3, 0.5], [0.01, 0.02, 0.04], method="DL")
    >>> round(res.estimate, 4), round(res.tau2, 6), round(res.i2, 2)
    (0.2524, 0.017143, 46.15)
    """
    yi, vi, labels, frame_measure = frame_inputs(data, yi, vi, labels)  # the data-frame front door
    measure = check_measure(frame_measure if measure is None else measure)
    method = check_choice("method", method, POOLING_METHODS)
    test = check_choice("test", test, TESTS)
    alpha = check_alpha(alpha)
    tol, max_iter = _check_iteration(tol, max_iter)
    y, v = check_effects(yi, vi, what="meta_analysis")
    k = y.size
    labs = study_labels(labels, k)
    out = _fit_single(y, v, method, test, alpha, tol, max_iter, stacklevel=3)
    used_test = "z" if (test == "knha" and k == 1) else test
    res = _single(out, y, v, labs, method, used_test, alpha)
    return res if measure is None else dataclasses.replace(res, measure=measure)


def _single(
    out: dict[str, Any],
    y: NDArray[np.float64],
    v: NDArray[np.float64],
    labs: Sequence[str],
    method: str,
    test: str,
    alpha: float,
) -> MetaAnalysisResult:
    return MetaAnalysisResult(
        **{name: out[name] for name in POOLED_FIELDS},
        yi=read_only(y),
        vi=read_only(v),
        weights=read_only(out["weights"]),
        labels=labs,
        method=method,
        test=test,
        alpha=alpha,
    )


# ---------------------------------------------------------------------------
# 2x2 tables
# ---------------------------------------------------------------------------


def _heterogeneity_from_q(q: float, k: int) -> tuple[float, float, float, float]:
    """Q, its p-value, I^2 and H^2 of a common-effect model (metafor ``rma.mh``/``rma.peto``).

    I^2 and H^2 by the engine's :func:`evidence._engine.i2_h2`; with ``k = 1``
    there is no heterogeneity to measure: ``Q = 0``, ``p = 1``, ``I^2 = 0``, ``H^2 = 1``.
    """
    if k > 1:
        qa, dfa = np.array([q]), np.array([k - 1.0])
        i2, h2 = i2_h2(np.zeros(1), np.ones(1), qa, dfa, True)
        return q, float(chi2_sf(q, k - 1)), float(i2[0]), float(h2[0])
    return 0.0, 1.0, 0.0, 1.0


def meta_analysis_2x2(
    events_exposed: ArrayLike | str,
    n_exposed: ArrayLike | str,
    events_unexposed: ArrayLike | str,
    n_unexposed: ArrayLike | str,
    *,
    data: Any = None,
    method: str = "MH",
    test: str = "z",
    alpha: float = 0.05,
    correction: str = "add_if_zero",
    double_zero: str = "exclude",
    labels: Sequence[str] | str | None = None,
    tol: float = _tau2.DEFAULT_TOL,
    max_iter: int = _tau2.DEFAULT_MAX_ITER,
) -> MetaAnalysis2x2Result:
    """Meta-analysis of 2x2 tables, reported on the odds-ratio scale.

    Parameters
    ----------
    events_exposed, n_exposed, events_unexposed, n_unexposed : array_like of int
        Per study: events and group size among the exposed (e.g. children of
        prisoners) and the unexposed.
    method : str, default "MH"
        ``"MH"``: Mantel-Haenszel odds ratio (Mantel & Haenszel 1959 [5]_) with
        the Robins-Breslow-Greenland variance of its log (Robins et al. 1986
        [4]_), from the raw counts, as metafor ``rma.mh(measure="OR")``.
        ``"Peto"``: Peto's one-step odds ratio ``exp(sum(O_i - E_i)/sum V_i)``,
        ``se = 1/sqrt(sum V_i)`` (Yusuf et al. 1985 [6]_), from the raw counts, as
        metafor ``rma.peto``.  Otherwise any method of :func:`meta_analysis`
        applied to the log odds ratios of
        :func:`evidence.effect_sizes.log_odds_ratios`.
    test : str, default "z"
        ``"z"`` or ``"knha"`` (not defined for ``"MH"``/``"Peto"``).
    alpha : float, default 0.05
        Level ``1 - alpha`` of every interval.
    correction : str, default "add_if_zero"
        Zero-cell correction of the per-study log odds ratios (see
        :data:`evidence.options.ZERO_CELL_CORRECTIONS`).  MH and Peto pool the
        raw counts and use the corrected log odds ratios only for Q, as metafor.
        With ``"none"`` a table with a zero cell raises ValueError for every
        method (its log odds ratio, needed for Q, is infinite; metafor would
        report Q as NaN).
    double_zero : str, default "exclude"
        ``"exclude"`` tables without events (or with only events) in both arms
        (metafor ``drop00=TRUE``, with a ZeroCellWarning) or ``"keep"`` them.
    data : pandas.DataFrame, optional
        A frame whose columns the four count arguments (and ``labels``) name; errors then name the
        column and the row (see :func:`evidence.measures.frame_tables`).
    labels : sequence of str, or a column name with ``data``, optional
        Study labels (default ``"Study 1"``, ...).
    tol, max_iter : float, int
        As in :func:`meta_analysis`.

    Returns
    -------
    MetaAnalysis2x2Result
        ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high`` are odds
        ratios; ``log_estimate`` and ``se`` are on the log scale.  ``yi``, ``vi``
        are the per-study log odds ratios and variances after the zero-cell
        correction (for Peto, Peto's one-step ``(O_i - E_i)/V_i`` and ``1/V_i``
        of the corrected tables, as metafor ``rma.peto``).  For MH,
        ``q = sum (y_i - log OR_MH)^2 / v_i`` over the corrected log odds ratios
        (metafor ``rma.mh``); for Peto, ``q = sum (O_i - E_i)^2/V_i - (sum (O_i -
        E_i))^2 / sum V_i`` over tables with ``V_i > 0`` (metafor ``rma.peto``);
        both with ``k - 1`` df, ``tau2 = 0`` and a NaN tau2 interval.

    Raises
    ------
    ValueError
        For invalid counts (naming argument and study), an unknown option,
        ``test="knha"`` with MH/Peto, or when the MH/Peto odds ratio is
        undefined (no informative table).

    Examples
    --------
    >>> res = meta_analysis_2x2([12, 8, 20], [100, 60, 150], [6, 5, 9], [100, 70, 140])
    >>> round(res.estimate, 4), res.method, res.k
    (2.1528, 'MH', 3)
    """
    from evidence.effect_sizes import log_odds_ratios

    events_exposed, n_exposed, events_unexposed, n_unexposed, labels = frame_tables(  # data-frame front door
        data, labels, events_exposed=events_exposed, n_exposed=n_exposed, events_unexposed=events_unexposed,
        n_unexposed=n_unexposed)
    method = check_choice("method", method, POOLING_METHODS_2X2)
    test = check_choice("test", test, TESTS)
    alpha = check_alpha(alpha)
    correction = check_choice("correction", correction, ZERO_CELL_CORRECTIONS)
    double_zero = check_choice("double_zero", double_zero, DOUBLE_ZERO)
    tol, max_iter = _check_iteration(tol, max_iter)
    if method in ("MH", "Peto") and test != "z":
        raise ValueError(
            f"test={test!r} is not defined for method={method!r} (a common-effect method on the "
            f"raw counts); use test='z', or an inverse-variance method such as method='REML' "
            f"with test='knha'."
        )
    check_same_index(events_exposed=events_exposed, n_exposed=n_exposed,
                     events_unexposed=events_unexposed, n_unexposed=n_unexposed)
    a, n1 = check_counts("events_exposed", events_exposed, "n_exposed", n_exposed)
    c, n2 = check_counts("events_unexposed", events_unexposed, "n_unexposed", n_unexposed)
    check_same_length(events_exposed=a, events_unexposed=c)
    labs_all = study_labels(labels, a.size)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EvidenceWarning)  # the ZeroCellWarnings, re-issued below
        es = log_odds_ratios(a, n1, c, n2, correction=correction, double_zero=double_zero)
    for w in caught:  # re-issue so that the warning points at the caller's line
        warnings.warn(w.message, w.category, stacklevel=2)
    included = np.asarray(es.included, dtype=bool)
    corrected = np.asarray(es.corrected, dtype=bool)
    idx = np.flatnonzero(included)
    if idx.size == 0:
        raise ValueError(
            "No study is left to pool: every table was excluded as a double-zero table "
            "(double_zero='exclude'); the odds ratio is not estimable from these data."
        )
    yi = np.asarray(es.yi, dtype=np.float64)[idx]
    vi = np.asarray(es.vi, dtype=np.float64)[idx]
    labs = tuple(labs_all[int(i)] for i in idx)
    excluded = tuple(int(i) for i in np.flatnonzero(~included))
    common: dict[str, Any] = dict(
        labels=labs, included=read_only(included), excluded=excluded, corrected=read_only(corrected),
        method=method, alpha=alpha, correction=correction, double_zero=double_zero,
    )

    if method not in ("MH", "Peto"):
        return _pool_log_odds_ratios(yi, vi, idx, test, tol, max_iter, common)
    return _pool_counts(a[idx], n1[idx], c[idx], n2[idx], yi, vi, common)


def _pool_log_odds_ratios(
    yi: NDArray[np.float64], vi: NDArray[np.float64], idx: NDArray[np.intp], test: str, tol: float,
    max_iter: int, common: dict[str, Any],
) -> MetaAnalysis2x2Result:
    """:func:`meta_analysis_2x2` by an inverse-variance method on the (corrected) log odds ratios."""
    method, alpha, correction = common["method"], common["alpha"], common["correction"]
    bad = ~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0))
    if bad.any():
        j = int(idx[np.argmax(bad)])
        raise ValueError(
            f"Study {j} has a zero cell, so its log odds ratio is not finite with "
            f"correction={correction!r}; use correction='add_if_zero' (or another "
            f"correction) for method={method!r}, or method='MH'/'Peto'."
        )
    out = _fit_single(yi, vi, method, test, alpha, tol, max_iter, stacklevel=4)
    used_test = "z" if (test == "knha" and yi.size == 1) else test
    g = {name: out[name] for name in POOLED_FIELDS}
    log_estimate = g["estimate"]
    for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high"):  # to the OR scale
        g[name] = float(np.exp(g[name]))
    return MetaAnalysis2x2Result(
        **g, log_estimate=log_estimate, yi=read_only(yi), vi=read_only(vi), weights=read_only(out["weights"]),
        test=used_test, **common,
    )


def _pool_counts(
    aa: NDArray[np.float64], n1: NDArray[np.float64], cc: NDArray[np.float64], n2: NDArray[np.float64],
    yi: NDArray[np.float64], vi: NDArray[np.float64], common: dict[str, Any],
) -> MetaAnalysis2x2Result:
    """:func:`meta_analysis_2x2` by Mantel-Haenszel or Peto on the raw counts of the tables used."""
    method, alpha, correction = common["method"], common["alpha"], common["correction"]
    bb, dd = n1 - aa, n2 - cc
    k = int(aa.size)
    if method == "MH":
        beta, se, weights = _mantel_haenszel(aa, bb, cc, dd)
        # yi, vi are finite: log_odds_ratios raises on a zero cell left uncorrected
        q, q_p, i2, h2 = _heterogeneity_from_q(float(max(0.0, np.sum((yi - beta) ** 2 / vi))), k)
    else:
        beta, se, weights, (q, q_p, i2, h2), yi, vi = _peto(aa, bb, cc, dd, correction)
    zval, p, lo, hi = (float(x) for x in wald(beta, se, None, alpha))
    return MetaAnalysis2x2Result(
        estimate=float(np.exp(beta)),
        ci_low=float(np.exp(lo)),
        ci_high=float(np.exp(hi)),
        log_estimate=beta,
        se=se,
        statistic=zval,
        p_value=p,
        tau2=0.0,
        tau2_ci_low=float("nan"),
        tau2_ci_high=float("nan"),
        i2=float(i2),
        h2=float(h2),
        q=float(q),
        q_df=k - 1,
        q_pvalue=float(q_p),
        pi_low=float(np.exp(lo)),
        pi_high=float(np.exp(hi)),
        k=k,
        yi=read_only(yi),
        vi=read_only(vi),
        weights=read_only(weights),
        test="z",
        converged=True,
        n_iter=0,
        **common,
    )


def _mantel_haenszel(
    aa: NDArray[np.float64], bb: NDArray[np.float64], cc: NDArray[np.float64], dd: NDArray[np.float64]
) -> tuple[float, float, NDArray[np.float64]]:
    """Log Mantel-Haenszel odds ratio, its Robins-Breslow-Greenland SE and the weights (percent).

    Mantel & Haenszel (1959) [5]_, Robins et al. (1986) [4]_; metafor ``rma.mh(measure="OR")``.
    """
    N = aa + bb + cc + dd
    R_i = aa * dd / N
    S_i = bb * cc / N
    P_i = (aa + dd) / N
    Q_i = (bb + cc) / N
    R, S = R_i.sum(), S_i.sum()
    if R == 0 or S == 0:
        raise ValueError(
            "The Mantel-Haenszel odds ratio is undefined for these tables ("
            + ("no table has events among the exposed with non-events among the unexposed"
               if R == 0 else "no table has non-events among the exposed with events among the unexposed")
            + "); use an inverse-variance method with a zero-cell correction, e.g. method='REML'."
        )
    beta = float(np.log(R / S))
    se = float(np.sqrt(0.5 * ((P_i * R_i).sum() / R**2
                              + (P_i * S_i + Q_i * R_i).sum() / (R * S)
                              + (Q_i * S_i).sum() / S**2)))
    return beta, se, S_i / S * 100.0


def _peto(
    aa: NDArray[np.float64], bb: NDArray[np.float64], cc: NDArray[np.float64], dd: NDArray[np.float64],
    correction: str,
) -> tuple[float, float, NDArray[np.float64], tuple[float, float, float, float], NDArray[np.float64],
           NDArray[np.float64]]:
    """Peto's one-step log odds ratio, SE, weights, heterogeneity and per-study ``yi``, ``vi``.

    ``exp(sum(O_i - E_i)/sum V_i)``, ``se = 1/sqrt(sum V_i)`` (Yusuf et al. 1985 [6]_);
    ``Q = sum (O_i - E_i)^2/V_i - (sum (O_i - E_i))^2 / sum V_i`` over tables with
    ``V_i > 0``; per-study ``(O_i - E_i)/V_i`` and ``1/V_i`` of the tables after
    the zero-cell correction (metafor ``rma.peto``, ``escalc(measure="PETO")``).
    """
    from evidence.effect_sizes import continuity_corrections

    m1, m2 = aa + bb, cc + dd
    N = m1 + m2
    E_i = (aa + cc) * m1 / N
    V_i = (aa + cc) * (bb + dd) * (m1 / N) * (m2 / N) / (N - 1)
    sV = V_i.sum()
    if sV == 0:
        raise ValueError(
            "Peto's odds ratio is undefined: one of the two outcomes never occurred in any "
            "table (sum of the hypergeometric variances is 0)."
        )
    beta = float((aa - E_i).sum() / sV)
    se = float(1.0 / np.sqrt(sV))
    pos = V_i > 0
    q = float(max(0.0, np.sum((aa[pos] - E_i[pos]) ** 2 / V_i[pos]) - (aa - E_i).sum() ** 2 / sV))
    het = _heterogeneity_from_q(q, aa.size) if int(pos.sum()) > 1 else (q, 1.0, 0.0, 1.0)
    ke, ku = continuity_corrections(aa, bb, cc, dd, correction)
    a2, b2, c2, d2 = aa + ke, bb + ke, cc + ku, dd + ku
    n1c, n2c = a2 + b2, c2 + d2
    Nc = n1c + n2c
    Vc = (a2 + c2) * (b2 + d2) * n1c * n2c / (Nc**2 * (Nc - 1))
    return beta, se, V_i / sV * 100.0, het, (a2 - (a2 + c2) * n1c / Nc) / Vc, 1.0 / Vc
