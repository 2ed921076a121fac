"""Comparing estimates: two independent odds ratios, and subgroups of a meta-analysis.

* :func:`compare_odds_ratios` -- the test of interaction between two
  independent odds ratios (Altman & Bland 2003 [1]_): the ratio of the odds
  ratios, its confidence interval, z and p;
* :func:`subgroup_analysis` -- pooled estimates per subgroup and the test for
  subgroup differences, with a separate tau^2 per subgroup (Borenstein et al.
  2009 [2]_, ch. 19) or a common tau^2 (the mixed-effects model with the
  subgroup factor, metafor ``rma(mods = ~ factor(g))``).

References
----------
.. [1] Altman DG, Bland JM (2003). Interaction revisited: the difference
   between two estimates. *BMJ* 326(7382), 219.
.. [2] Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009).
   *Introduction to Meta-Analysis*. Wiley, ch. 19 (subgroup analyses,
   "separate estimates of tau^2" and "pooled estimate of tau^2").
.. [3] Viechtbauer W (2010). Conducting meta-analyses in R with the metafor
   package. *J Stat Softw* 36(3), 1-48 (section 3.3, mixed-effects models);
   metafor 3.8-1 ``rma.uni``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from evidence._engine import check_effects
from evidence._results import ResultMixin, accepts_result, check_measure, fmt
from evidence._validation import check_alpha, check_choice, check_distinct_labels, check_ratio, short_repr
from evidence.exceptions import ConvergenceWarning
from evidence.metareg import meta_regression
from evidence.options import POOLING_METHODS, SUBGROUP_TAU2, TESTS
from evidence.pooling import meta_analysis
from evidence.published import se_from_ci
from evidence.tau2 import q_statistic

__all__ = ["OddsRatioComparison", "SubgroupResult", "compare_odds_ratios", "subgroup_analysis"]


# ---------------------------------------------------------------------------
# two odds ratios
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class OddsRatioComparison(ResultMixin):
    """Result of :func:`compare_odds_ratios`.

    Attributes
    ----------
    ratio : float
        Ratio of the odds ratios ``or1 / or2``.
    log_ratio, se : float
        Its log and the standard error ``sqrt(se1^2 + se2^2)`` of the log.
    ci_low, ci_high : float
        Confidence interval of the ratio (level ``1 - alpha``).
    statistic, p_value : float
        The z statistic ``log_ratio / se`` and its two-sided normal p-value.
    or1, or2, se1, se2 : float
        The inputs (odds ratios; standard errors of their logs).
    """

    ratio: float
    log_ratio: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    or1: float
    or2: float
    se1: float
    se2: float
    labels: tuple[str, str]
    alpha: float
    se_source: tuple[str, str] = field(default=("se", "se"))

    def confidence_interval(self) -> tuple[float, float]:
        """Confidence interval of the ratio of odds ratios."""
        return (self.ci_low, self.ci_high)

    def summary_frame(self) -> pd.DataFrame:
        """Rows for the two odds ratios and their ratio.

        Columns ``estimate, se, ci_low, ci_high, weight`` (NaN), ``statistic, p_value``;
        estimates and limits on the odds-ratio scale, ``se`` on the log scale.
        """
        z = stats.norm.isf(self.alpha / 2)
        rows = []
        for o, s in ((self.or1, self.se1), (self.or2, self.se2)):
            lo, hi = math.exp(math.log(o) - z * s), math.exp(math.log(o) + z * s)
            st = math.log(o) / s
            rows.append([o, s, lo, hi, np.nan, st, 2 * stats.norm.sf(abs(st))])
        rows.append([self.ratio, self.se, self.ci_low, self.ci_high, np.nan, self.statistic, self.p_value])
        return pd.DataFrame(
            rows,
            columns=["estimate", "se", "ci_low", "ci_high", "weight", "statistic", "p_value"],
            index=pd.Index([*self.labels, "ratio"], name="estimate_of"),
        )

    def __repr__(self) -> str:
        return (
            f"OddsRatioComparison(ratio={fmt(self.ratio)}, ci_low={fmt(self.ci_low)}, ci_high={fmt(self.ci_high)}, "
            f"statistic={fmt(self.statistic)}, p_value={fmt(self.p_value)}, alpha={self.alpha:g})"
        )

    __str__ = __repr__


def _positive(name: str, x: Any) -> float:
    if isinstance(x, (str, bytes, bool, np.bool_)):  # float("0.47") and float(True) would pass
        raise TypeError(f"{name}={short_repr(x)} must be a number.")
    try:
        val = float(x)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={x!r} must be a number.") from None
    if not (val > 0) or not math.isfinite(val):
        raise ValueError(f"{name}={x!r} must be a finite number > 0.")
    return val


def _se_of(name: str, or_: float, se: Any, ci: Any, reported_alpha: float) -> tuple[float, str]:
    if (se is None) == (ci is None):
        raise ValueError(
            f"Give exactly one of se{name} (standard error of the log odds ratio) or ci{name} "
            f"(its confidence interval as (low, high)); got se{name}={se!r}, ci{name}={ci!r}."
        )
    if se is not None:
        return _positive(f"se{name}", se), "se"
    try:
        lo, hi = ci
    except (TypeError, ValueError):
        raise ValueError(f"ci{name}={ci!r} must be a pair (low, high) on the odds-ratio scale.") from None
    lo = _positive(f"ci{name}[0]", lo)
    hi = _positive(f"ci{name}[1]", hi)
    return float(se_from_ci(or_, lo, hi, alpha=reported_alpha, scale="log").se), "ci"


def compare_odds_ratios(
    or1: float,
    or2: float,
    *,
    se1: float | None = None,
    se2: float | None = None,
    ci1: tuple[float, float] | None = None,
    ci2: tuple[float, float] | None = None,
    reported_alpha: float = 0.05,
    alpha: float = 0.05,
    labels: tuple[str, str] = ("or1", "or2"),
) -> OddsRatioComparison:
    """Test the difference between two independent odds ratios (Altman & Bland 2003 [1]_).

    On the log scale ``d = log(or1) - log(or2)`` with
    ``SE(d) = sqrt(SE1^2 + SE2^2)``; ``z = d / SE(d)`` with a two-sided normal
    p-value, and the ratio of odds ratios ``exp(d)`` with the interval
    ``exp(d -/+ z_{1-alpha/2} SE(d))``.  Identical to the Wald test of the
    group coefficient in metafor ``rma(log(c(or1, or2)), sei = c(se1, se2),
    mods = ~ c(0, 1), method = "FE")``.

    Parameters
    ----------
    or1, or2 : float
        The two odds ratios (> 0), from independent groups.
    se1, se2 : float, optional
        Standard errors of ``log(or1)``, ``log(or2)``.
    ci1, ci2 : (float, float), optional
        Instead of a standard error, the reported confidence interval of the
        odds ratio; the SE is recovered with
        :func:`evidence.published.se_from_ci` (which warns when the odds ratio
        is not at the log-scale midpoint of its interval).
    reported_alpha : float
        1 - level of the reported intervals ``ci1``, ``ci2``.
    alpha : float
        1 - level of the interval of the ratio.
    labels : (str, str)
        Names of the two estimates in ``summary_frame()``.

    Returns
    -------
    OddsRatioComparison

    Examples
    --------
    >>> res = compare_odds_ratios(2.0, 1.0, se1=0.2, se2=0.15)
    >>> round(res.ratio, 3), round(res.se, 3), round(res.statistic, 3), round(res.p_value, 4)
    (2.0, 0.25, 2.773, 0.0056)
    """
    a = check_alpha(alpha)
    ca = check_alpha(reported_alpha, "reported_alpha")
    check_ratio("or1", or1), check_ratio("or2", or2)
    if isinstance(labels, str) or len(labels) != 2:
        raise ValueError(f"labels={labels!r} must name the two odds ratios, e.g. ('boys', 'girls').")
    o1 = _positive("or1", or1)
    o2 = _positive("or2", or2)
    s1, src1 = _se_of("1", o1, se1, ci1, ca)
    s2, src2 = _se_of("2", o2, se2, ci2, ca)
    d = math.log(o1) - math.log(o2)
    se = math.sqrt(s1 * s1 + s2 * s2)
    zval = d / se
    crit = float(stats.norm.isf(a / 2))
    with np.errstate(over="ignore"):  # a limit beyond the largest double is inf, not an error
        lims = np.exp([d - crit * se, d + crit * se])
    return OddsRatioComparison(
        ratio=math.exp(d),
        log_ratio=d,
        se=se,
        ci_low=float(lims[0]),
        ci_high=float(lims[1]),
        statistic=zval,
        p_value=float(2 * stats.norm.sf(abs(zval))),
        or1=o1,
        or2=o2,
        se1=s1,
        se2=s2,
        labels=(str(labels[0]), str(labels[1])),
        alpha=a,
        se_source=(src1, src2),
    )


# ---------------------------------------------------------------------------
# subgroups
# ---------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class SubgroupResult(ResultMixin):
    """Result of :func:`subgroup_analysis`.

    Attributes
    ----------
    levels : tuple of str
        The subgroups (sorted, or the category order of a categorical).
    estimate, se, ci_low, ci_high, statistic, p_value : ndarray (G,)
        Pooled estimate per subgroup.
    tau2 : ndarray (G,)
        tau^2 per subgroup (the same common value repeated for ``tau2="common"``).
    k : ndarray of int (G,)
        Studies per subgroup.
    q_between, q_between_df, q_between_pvalue : float, int, float
        Test for subgroup differences: for ``"separate"`` the fixed-effect Q of
        the subgroup estimates (chi-square, G - 1 df); for ``"common"`` the
        omnibus moderator test QM of the mixed-effects model (chi-square, or F
        with ``q_between_df2`` denominator df under ``test="knha"``).
    """

    levels: tuple[str, ...]
    estimate: NDArray[np.float64]
    se: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    statistic: NDArray[np.float64]
    p_value: NDArray[np.float64]
    tau2: NDArray[np.float64]
    k: NDArray[np.int64]
    q_between: float
    q_between_df: int
    q_between_df2: int | None
    q_between_pvalue: float
    tau2_model: str
    method: str
    test: str
    alpha: float
    measure: str | None = None
    #: ``summary_frame()`` reports on the natural scale of ``measure`` by default.
    measure_scale = True

    def summary_frame(self) -> pd.DataFrame:
        """One row per subgroup: ``estimate, se, ci_low, ci_high, weight`` (NaN), ``statistic, p_value, tau2, k``."""
        return pd.DataFrame(
            {
                "estimate": self.estimate,
                "se": self.se,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "weight": np.full(len(self.levels), np.nan),
                "statistic": self.statistic,
                "p_value": self.p_value,
                "tau2": self.tau2,
                "k": self.k,
            },
            index=pd.Index(list(self.levels), name="subgroup"),
        )

    def __repr__(self) -> str:
        return (
            f"SubgroupResult(tau2_model={self.tau2_model!r}, method={self.method!r}, test={self.test!r}, "
            f"q_between={fmt(self.q_between)}, q_between_df={self.q_between_df}, "
            f"q_between_pvalue={fmt(self.q_between_pvalue)}, "
            f"estimate={dict(zip(self.levels, (fmt(e) for e in self.estimate), strict=True))})"
        )

    __str__ = __repr__


def _subgroups(groups: Any, k: int, labels: Sequence[str] | None) -> tuple[pd.Series, list[str], pd.Series]:
    """The subgroup of each study as text, the levels in order, and the studies per level.

    Categorical groups keep their category order (levels without studies dropped);
    others are sorted.  Errors name the study of a missing subgroup or of a
    subgroup with a single study.
    """
    g = pd.Series(groups) if not isinstance(groups, pd.Series) else groups.reset_index(drop=True)
    if len(g) != k:
        raise ValueError(f"groups has {len(g)} entries but there are {k} studies; they must agree.")
    miss = pd.isna(g).to_numpy()
    if miss.any():
        i = int(np.argmax(miss))
        who = f"study {i}" + (f" ({labels[i]!r})" if labels is not None else "")
        raise ValueError(f"groups is missing at {who}; every study needs a subgroup.")
    if isinstance(g.dtype, pd.CategoricalDtype):
        levels = [str(c) for c in g.cat.categories if (g == c).any()]
        gs = g.astype(str)
    else:
        gs = g.astype(str)
        levels = sorted(pd.unique(gs))
    if len(levels) < 2:
        raise ValueError(
            f"groups has the single subgroup {levels[0]!r}; a subgroup analysis needs at least two."
        )
    counts = gs.value_counts()
    for lv in levels:
        if counts[lv] < 2:
            i = int(np.flatnonzero((gs == lv).to_numpy())[0])
            who = f"study {i}" + (f" ({labels[i]!r})" if labels is not None else "")
            raise ValueError(
                f"Subgroup {lv!r} has a single study ({who}); its pooled estimate would be that "
                f"study alone and its heterogeneity is not estimable. Merge it with another "
                f"subgroup or exclude it explicitly."
            )
    return gs, levels, counts


@accepts_result()
def subgroup_analysis(
    yi: ArrayLike,
    vi: ArrayLike,
    groups: ArrayLike,
    *,
    method: str = "REML",
    tau2: str = "separate",
    test: str = "z",
    alpha: float = 0.05,
    labels: Sequence[Any] | None = None,
    measure: str | None = None,
) -> SubgroupResult:
    """Subgroup analysis: pooled estimate per subgroup and the test for subgroup differences.

    ``tau2="separate"`` (default): each subgroup is pooled on its own with
    :func:`evidence.pooling.meta_analysis` (its own tau^2), and the subgroup
    estimates ``b_g`` with standard errors ``s_g`` are compared by the
    fixed-effect heterogeneity statistic
    ``Q_between = sum (b_g - b_w)^2 / s_g^2`` (``b_w`` their inverse-variance
    mean), chi-square with G - 1 df (Borenstein et al. 2009 [2]_, ch. 19;
    metafor ``rma(b, sei = s, method = "FE")$QE``).

    ``tau2="common"``: the mixed-effects model with the subgroup factor
    (metafor ``rma(yi, vi, mods = ~ factor(g))``, one tau^2 estimated from the
    residual heterogeneity): the subgroup estimates are its cell means and the
    test is its omnibus moderator test QM (chi-square with G - 1 df, or F under
    ``test="knha"``); see :func:`evidence.metareg.meta_regression`.

    Parameters
    ----------
    yi, vi : array_like, shape (k,)
        Effect sizes and sampling variances.
    groups : array_like, shape (k,)
        Subgroup of each study (any labels; a pandas Categorical keeps its order).
    method : str
        tau^2 estimator (``"FE"`` for common-effect pooling within subgroups).
    tau2 : {"separate", "common"}
        One tau^2 per subgroup, or one shared tau^2.
    test : {"z", "knha"}
        Test and intervals of the subgroup estimates.
    alpha : float
        Intervals have level ``1 - alpha``.
    labels : sequence, optional
        Study labels for error messages.
    measure : str, optional
        The effect measure of ``yi`` (see :func:`evidence.pooling.meta_analysis`); ``summary_frame()``
        then reports the subgroup estimates on its natural scale.

    Returns
    -------
    SubgroupResult

    Raises
    ------
    ValueError
        A subgroup has a single study (its tau^2 and heterogeneity are not
        estimable; the message names the subgroup and the study -- merge it
        with another subgroup or leave it out explicitly), there are fewer
        than two subgroups, or a group label is missing.

    Examples
    --------
    >>> res = subgroup_analysis([0.1, 0.3, 0.5, 1.2, 0.9, 1.1], [0.01, 0.02, 0.04, 0.05, 0.02, 0.03],
    ...                         ["a", "a", "a", "b", "b", "b"], method="DL")
    >>> res.levels, round(res.q_between, 3)
    (('a', 'b'), 26.984)
    """
    y, v = check_effects(yi, vi, what="subgroup_analysis")
    check_distinct_labels("groups", groups)
    check_choice("method", method, POOLING_METHODS)
    check_choice("tau2", tau2, SUBGROUP_TAU2)
    measure = check_measure(measure)
    check_choice("test", test, TESTS)
    a = check_alpha(alpha)
    k = len(y)
    gs, levels, counts = _subgroups(groups, k, labels)
    kk = np.array([int(counts[lv]) for lv in levels], dtype=np.int64)
    G = len(levels)
    if tau2 == "separate":
        fits = [meta_analysis(y[(gs == lv).to_numpy()], v[(gs == lv).to_numpy()], method=method, test=test, alpha=a)
                for lv in levels]
        est = np.array([f.estimate for f in fits])
        se = np.array([f.se for f in fits])
        qb = float(q_statistic(est[None, :], (se**2)[None, :])[0])
        return SubgroupResult(
            levels=tuple(levels),
            estimate=est,
            se=se,
            ci_low=np.array([f.ci_low for f in fits]),
            ci_high=np.array([f.ci_high for f in fits]),
            statistic=np.array([f.statistic for f in fits]),
            p_value=np.array([f.p_value for f in fits]),
            tau2=np.array([f.tau2 for f in fits]),
            k=kk,
            q_between=qb,
            q_between_df=G - 1,
            q_between_df2=None,
            q_between_pvalue=float(stats.chi2.sf(qb, G - 1)),
            tau2_model=tau2,
        measure=measure,
            method=method,
            test=test,
            alpha=a,
        )
    factor = pd.DataFrame({"group": pd.Categorical(gs, categories=levels)})
    full = meta_regression(y, v, factor, method=method, test=test, alpha=a, intercept=True)
    with warnings.catch_warnings():
        # the cell-means parametrisation spans the same columns: the same tau^2, and any
        # ConvergenceWarning of its fit has just been given by the fit above
        warnings.simplefilter("ignore", ConvergenceWarning)
        cells = meta_regression(y, v, factor, method=method, test=test, alpha=a, intercept=False)
    return SubgroupResult(
        levels=tuple(levels),
        estimate=cells.estimate,
        se=cells.se,
        ci_low=cells.ci_low,
        ci_high=cells.ci_high,
        statistic=cells.statistic,
        p_value=cells.p_value,
        tau2=np.full(G, full.tau2),
        k=kk,
        q_between=full.qm,
        q_between_df=full.qm_df,
        q_between_df2=full.qm_df2,
        q_between_pvalue=full.qm_pvalue,
        tau2_model=tau2,
        measure=measure,
        method=method,
        test=test,
        alpha=a,
    )
