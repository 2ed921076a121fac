"""Frozen result objects of the pooling functions.

* :class:`MetaAnalysisResult` -- one inverse-variance meta-analysis
  (:func:`evidence.pooling.meta_analysis`);
* :class:`MetaAnalysisBatch` -- many analyses at once, every attribute an array
  over the analyses (:func:`evidence.pooling.meta_analysis_many`);
* :class:`MetaAnalysis2x2Result` -- a meta-analysis of 2x2 tables reported on
  the odds-ratio scale (:func:`evidence.pooling.meta_analysis_2x2`).

Per-study tables use the fixed columns of :data:`evidence._results.FRAME_COLUMNS`
(``estimate, se, ci_low, ci_high, weight``) followed by ``kind``; the
confidence level is the attribute ``alpha``, never part of a column name.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, overload

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from evidence._results import FRAME_COLUMNS, ResultMixin, apply_transform, fmt, natural_scale
from evidence.measures import MEASURES

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["PooledResult", "MetaAnalysisResult", "MetaAnalysisBatch", "MetaAnalysis2x2Result", "StudyLabels"]

_KIND = "kind"



class StudyLabels(Sequence[str]):
    """The default study labels ``"Study 1", ..., "Study k"``, made only when read.

    Behaves as the tuple of those strings (indexing, slicing, iteration,
    ``len``, ``==`` with a tuple or list) but stores only ``k``, so that a fit of
    a million studies does not build a million strings.

    Examples
    --------
    >>> labs = StudyLabels(3)
    >>> labs[0], labs[-1], len(labs), labs == ("Study 1", "Study 2", "Study 3")
    ('Study 1', 'Study 3', 3, True)
    """

    __slots__ = ("_k",)

    def __init__(self, k: int) -> None:
        self._k = int(k)

    def __len__(self) -> int:
        return self._k

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[str, ...]: ...

    def __getitem__(self, i: int | slice) -> str | tuple[str, ...]:
        if isinstance(i, slice):
            return tuple(f"Study {j + 1}" for j in range(*i.indices(self._k)))
        j = operator.index(i)
        if j < 0:
            j += self._k
        if not 0 <= j < self._k:
            raise IndexError(f"study index {i} is out of range for {self._k} studies")
        return f"Study {j + 1}"

    def __iter__(self) -> Iterator[str]:
        return (f"Study {j + 1}" for j in range(self._k))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StudyLabels):
            return self._k == other._k
        if isinstance(other, (tuple, list)):
            return len(other) == self._k and all(a == b for a, b in zip(self, other, strict=False))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        if self._k <= 3:
            return repr(tuple(self))
        return f"('Study 1', 'Study 2', ..., 'Study {self._k}')"


def _study_rows(
    yi: NDArray[np.float64],
    vi: NDArray[np.float64],
    weights: NDArray[np.float64],
    alpha: float,
) -> dict[str, list[object]]:
    z = float(stats.norm.isf(alpha / 2.0))
    se = np.sqrt(vi)
    return {
        "estimate": list(yi),
        "se": list(se),
        "ci_low": list(yi - z * se),
        "ci_high": list(yi + z * se),
        "weight": list(weights),
        _KIND: ["study"] * len(yi),
    }


def _frame(
    labels: Sequence[str],
    yi: NDArray[np.float64],
    vi: NDArray[np.float64],
    weights: NDArray[np.float64],
    alpha: float,
    pooled: tuple[float, float, float, float],
    prediction: tuple[float, float, float, float],
) -> pd.DataFrame:
    import pandas as pd

    rows = _study_rows(yi, vi, weights, alpha)
    est, se, lo, hi = pooled
    pest, pse, plo, phi = prediction
    for col, a, b in (
        ("estimate", est, pest),
        ("se", se, pse),
        ("ci_low", lo, plo),
        ("ci_high", hi, phi),
        ("weight", 100.0, np.nan),
    ):
        rows[col] += [a, b]
    rows[_KIND] += ["pooled", "prediction"]
    index = pd.Index(list(labels) + ["pooled", "prediction"], name="study")
    return pd.DataFrame(rows, index=index, columns=list(FRAME_COLUMNS) + [_KIND])


@dataclass(frozen=True, repr=False)
class PooledResult(ResultMixin):
    """The pooled statistics of one meta-analysis, declared once.

    The base of :class:`MetaAnalysisResult` and :class:`MetaAnalysis2x2Result`;
    :class:`MetaAnalysisBatch` carries the same names as arrays over the
    analyses (:data:`POOLED_FIELDS`).  See :class:`MetaAnalysisResult` for
    their meaning.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    tau2: float
    tau2_ci_low: float
    tau2_ci_high: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    pi_low: float
    pi_high: float
    k: int
    converged: bool
    n_iter: int


#: The pooled statistics every result of this module carries under the same names
#: (floats in :class:`MetaAnalysisResult` and :class:`MetaAnalysis2x2Result`, arrays
#: over the analyses in :class:`MetaAnalysisBatch`): the fields of :class:`PooledResult`.
POOLED_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PooledResult))


@dataclass(frozen=True, repr=False)
class MetaAnalysisResult(PooledResult):
    """One meta-analysis of effect sizes ``yi`` with sampling variances ``vi``.

    Attributes
    ----------
    estimate, se : float
        Pooled effect and its standard error (the Knapp-Hartung adjusted SE
        under ``test="knha"``).
    ci_low, ci_high : float
        ``1 - alpha`` confidence interval of the pooled effect.
    statistic : float
        Test statistic ``estimate / se`` (a t statistic with ``q_df`` degrees of
        freedom under ``test="knha"``).
    p_value : float
        Two-sided p-value of ``statistic``.
    tau2, tau2_ci_low, tau2_ci_high : float
        Between-study variance and its Q-profile interval (the interval is NaN
        when ``k = 1``: with no degrees of freedom it is undefined, and metafor
        stops there too).
    i2 : float
        I^2 in percent; h2 : H^2.
    q, q_df, q_pvalue : float, int, float
        Cochran's Q, its degrees of freedom ``k - 1`` and p-value.
    pi_low, pi_high : float
        Prediction interval, as metafor's ``predict()``.
    k : int
        Number of studies.
    yi, vi : ndarray
        The studies' effect sizes and sampling variances.
    weights : ndarray
        Study weights in percent.
    labels : sequence of str
        Study labels (a :class:`StudyLabels` when none were given).
    method, test : str
        tau^2 estimator (or ``"FE"``) and the test (``"z"`` or ``"knha"``).
    alpha : float
        ``1 - alpha`` is the level of every interval.
    converged : bool
        False when the iterative estimator did not converge (tau2 is then its
        last iterate, with a ConvergenceWarning; no fallback to another estimator).
    n_iter : int
        Iterations used by the estimator (0 for closed forms).
    measure : str or None
        The effect measure of ``yi`` (a key of :data:`evidence.measures.MEASURES`, e.g. ``"OR"``
        for log odds ratios), or None: a generic effect with no back-transformation.  The
        estimate and intervals stay on the analysis scale (``yi``'s); ``summary()``,
        ``summary_frame()`` and the plots report them on the measure's natural scale
        (:func:`evidence._results.natural_scale`; ``summary_frame(transform=None)`` for the
        analysis scale).
    """

    yi: NDArray[np.float64]
    vi: NDArray[np.float64]
    weights: NDArray[np.float64]
    labels: Sequence[str]
    method: str
    test: str
    alpha: float
    measure: str | None = None
    #: ``summary_frame()`` reports on the natural scale of ``measure`` by default.
    measure_scale = True

    def __repr__(self) -> str:
        return (
            f"MetaAnalysisResult(method={self.method!r}, test={self.test!r}, k={self.k}, "
            f"estimate={fmt(self.estimate)}, ci_low={fmt(self.ci_low)}, ci_high={fmt(self.ci_high)}, "
            f"p_value={fmt(self.p_value)}, tau2={fmt(self.tau2)}, i2={fmt(self.i2)}, "
            f"alpha={self.alpha:g})"
        )

    def confidence_interval(self) -> tuple[float, float]:
        """The ``1 - alpha`` confidence interval of the pooled effect."""
        return (self.ci_low, self.ci_high)

    def summary_frame(self) -> pd.DataFrame:
        """One row per study, then a ``pooled`` row and a ``prediction`` row.

        Columns ``estimate, se, ci_low, ci_high, weight, kind``.  Study rows hold
        ``yi``, ``sqrt(vi)``, the normal-theory (Wald) interval
        ``yi -/+ z_{1-alpha/2} sqrt(vi)`` and the weight in percent.  The
        ``pooled`` row holds the pooled estimate, its SE and CI (weight 100).
        The ``prediction`` row holds the pooled estimate, the predictive SD
        ``sqrt(se^2 + tau2)`` and the prediction interval in ``ci_low``/``ci_high``
        (weight NaN).
        """
        return _frame(
            self.labels,
            self.yi,
            self.vi,
            self.weights,
            self.alpha,
            (self.estimate, self.se, self.ci_low, self.ci_high),
            (self.estimate, float(np.sqrt(self.se**2 + self.tau2)), self.pi_low, self.pi_high),
        )

    def summary(self) -> str:
        """Printable multi-line summary (in the spirit of metafor's ``print.rma.uni``).

        The first line reads as in a paper, on the natural scale of ``measure`` (see :meth:`headline`).
        """
        scale = "estimate" if self.measure is None else MEASURES[self.measure][1]
        return self.headline() + "\n\n" + _summary_text(self, scale_name=scale)

    def headline(self) -> str:
        """One line as a paper reports it, on the natural scale of ``measure``.

        Examples
        --------
        >>> from evidence.pooling import meta_analysis
        >>> meta_analysis([0.3, 0.5, 0.7], [0.01, 0.02, 0.04], method="DL", measure="OR").headline()
        'OR 1.57 (95% CI 1.26 to 1.95), τ² = 0.0171, I² = 46%, 3 studies'
        """
        return _headline(self)

    def __str__(self) -> str:
        return self.summary()


def _headline(r: MetaAnalysisResult | MetaAnalysis2x2Result) -> str:
    import pandas as pd

    measure = r.measure
    transform, short, _ = natural_scale(measure)
    row = pd.DataFrame({"estimate": [r.estimate], "ci_low": [r.ci_low], "ci_high": [r.ci_high]})
    if not isinstance(r, MetaAnalysis2x2Result):  # the 2x2 result holds odds ratios already
        row = apply_transform(row, transform)
    est, lo, hi = (float(row[c].iloc[0]) for c in ("estimate", "ci_low", "ci_high"))
    level = f"{100 * (1 - r.alpha):g}%"
    text = f"{short} {est:.2f} ({level} CI {lo:.2f} to {hi:.2f})"
    if r.method not in ("FE", "MH", "Peto"):
        text += f", τ² = {r.tau2:.3g}"
    return text + f", I² = {r.i2:.0f}%, {r.k} {'study' if r.k == 1 else 'studies'}"


def _summary_text(r: MetaAnalysisResult | MetaAnalysis2x2Result, scale_name: str) -> str:
    level = f"{100 * (1 - r.alpha):g}%"
    model = "Common-effect" if r.method in ("FE", "MH", "Peto") else "Random-effects"
    stat = "t" if r.test == "knha" else "z"
    lines = [
        f"{model} meta-analysis (k = {r.k}; method = {r.method}; test = {r.test})",
        "",
    ]
    if r.method not in ("FE", "MH", "Peto"):
        tau2_ci = (
            f"{level} CI {fmt(r.tau2_ci_low)} to {fmt(r.tau2_ci_high)}" if r.k > 1 else "no interval with k = 1"
        )
        lines.append(f"tau^2 = {fmt(r.tau2)} ({tau2_ci}), tau = {fmt(np.sqrt(r.tau2))}")
    lines += [
        f"I^2 = {r.i2:.2f}%, H^2 = {fmt(r.h2)}",
        f"Test for heterogeneity: Q({r.q_df}) = {fmt(r.q)}, p = {fmt(r.q_pvalue)}",
        "",
    ]
    if isinstance(r, MetaAnalysis2x2Result):
        lines += [
            f"Pooled odds ratio = {fmt(r.estimate)} ({level} CI {fmt(r.ci_low)} to {fmt(r.ci_high)})",
            f"log OR = {fmt(r.log_estimate)}, se = {fmt(r.se)}, {stat} = {fmt(r.statistic)}, "
            f"p = {fmt(r.p_value)}",
        ]
        if r.method not in ("MH", "Peto", "FE"):
            lines.append(f"Prediction interval (OR): {fmt(r.pi_low)} to {fmt(r.pi_high)}")
        lines.append(
            f"Zero cells: correction = {r.correction!r}, double_zero = {r.double_zero!r}; "
            f"excluded studies: {list(r.excluded) if r.excluded else 'none'}"
        )
    else:
        lines += [
            f"Pooled {scale_name} = {fmt(r.estimate)}, se = {fmt(r.se)}, {stat} = {fmt(r.statistic)}, "
            f"p = {fmt(r.p_value)}",
            f"{level} CI {fmt(r.ci_low)} to {fmt(r.ci_high)}; "
            f"prediction interval {fmt(r.pi_low)} to {fmt(r.pi_high)}",
        ]
    if not r.converged:
        lines.append(f"WARNING: the {r.method} estimator did not converge; tau^2 is the DL estimate.")
    return "\n".join(lines)


@dataclass(frozen=True, repr=False)
class MetaAnalysisBatch(ResultMixin):
    """Many meta-analyses at once; every numeric attribute has shape ``(n_analyses,)``.

    The attributes are named exactly as in :class:`MetaAnalysisResult`
    (:data:`POOLED_FIELDS`: ``estimate, se, ci_low, ci_high, statistic, p_value, tau2,
    tau2_ci_low, tau2_ci_high, i2, h2, q, q_df, q_pvalue, pi_low, pi_high, k``,
    the per-row ``converged`` mask and ``n_iter``); ``method``, ``test`` and
    ``alpha`` are shared by all rows (``test`` is the one requested: rows with
    a single study always use the z test, with a warning naming them).  Where
    ``converged`` is False the iterative estimator did not converge and that
    row's ``tau2`` is the DL estimate (with a warning naming the rows).
    """

    estimate: NDArray[np.float64]
    se: NDArray[np.float64]
    ci_low: NDArray[np.float64]
    ci_high: NDArray[np.float64]
    statistic: NDArray[np.float64]
    p_value: NDArray[np.float64]
    tau2: NDArray[np.float64]
    tau2_ci_low: NDArray[np.float64]
    tau2_ci_high: NDArray[np.float64]
    i2: NDArray[np.float64]
    h2: NDArray[np.float64]
    q: NDArray[np.float64]
    q_df: NDArray[np.int64]
    q_pvalue: NDArray[np.float64]
    pi_low: NDArray[np.float64]
    pi_high: NDArray[np.float64]
    k: NDArray[np.int64]
    converged: NDArray[np.bool_]
    n_iter: NDArray[np.int64]
    method: str
    test: str
    alpha: float

    def __len__(self) -> int:
        return int(self.estimate.shape[0])

    def __repr__(self) -> str:
        n = len(self)
        return (
            f"MetaAnalysisBatch(n_analyses={n}, method={self.method!r}, test={self.test!r}, "
            f"alpha={self.alpha:g}, not_converged={int((~self.converged).sum())})"
        )

    def summary_frame(self) -> pd.DataFrame:
        """One row per analysis: ``estimate, se, ci_low, ci_high, weight`` then the other fields.

        ``weight`` is NaN (there is no weight of a whole analysis); the other
        columns are the array attributes under their own names.
        """
        import pandas as pd

        data: dict[str, object] = {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "weight": np.full(len(self), np.nan),
        }
        for name in POOLED_FIELDS:
            if name not in data:
                data[name] = getattr(self, name)
        return pd.DataFrame(data, index=pd.RangeIndex(len(self), name="analysis"))


@dataclass(frozen=True, repr=False)
class MetaAnalysis2x2Result(PooledResult):
    """Meta-analysis of 2x2 tables on the odds-ratio scale.

    Attributes
    ----------
    estimate, ci_low, ci_high : float
        Pooled odds ratio and its ``1 - alpha`` confidence interval.
    log_estimate, se : float
        Pooled log odds ratio and its standard error (Robins-Breslow-Greenland
        for ``"MH"``, ``1/sqrt(sum V_i)`` for ``"Peto"``).
    statistic, p_value : float
        Test statistic (t under ``"knha"``) and two-sided p-value.
    tau2, tau2_ci_low, tau2_ci_high, i2, h2, q, q_df, q_pvalue : float
        Heterogeneity, as in :class:`MetaAnalysisResult`.  ``MH`` and ``Peto``
        are common-effect methods that estimate no tau^2 (as metafor
        ``rma.mh``/``rma.peto``): ``tau2 = 0`` and its interval is NaN.
    pi_low, pi_high : float
        Prediction interval on the OR scale (equal to the CI for common-effect methods).
    k : int
        Studies used (after excluding double-zero tables when ``double_zero="exclude"``).
    yi, vi : ndarray
        Per-study log odds ratios and their variances of the studies used, after
        the zero-cell correction (for ``"Peto"``, Peto's one-step log odds ratios
        ``(O_i - E_i)/V_i`` and ``1/V_i`` of the corrected tables, as metafor
        ``rma.peto``).  Q is computed from them for ``"MH"`` and every
        inverse-variance method; Peto's Q uses the raw counts.
    weights : ndarray
        Weights in percent (MH: ``b_i c_i / N_i``; Peto: ``V_i``; otherwise ``1/(v_i + tau2)``).
    labels : tuple of str
        Labels of the studies used.
    included : ndarray of bool
        Over the input studies: True where the study was used.
    excluded : tuple of int
        Indices (into the input) of studies left out.
    corrected : ndarray of bool
        Over the input studies: True where a continuity correction was applied to yi/vi.
    method, test, alpha, correction, double_zero : str, str, float, str, str
        The options, echoed.
    converged : bool; n_iter : int
        As in :class:`MetaAnalysisResult`.
    """

    log_estimate: float
    yi: NDArray[np.float64]
    vi: NDArray[np.float64]
    weights: NDArray[np.float64]
    labels: tuple[str, ...]
    included: NDArray[np.bool_]
    excluded: tuple[int, ...]
    corrected: NDArray[np.bool_]
    method: str
    test: str
    alpha: float
    correction: str
    double_zero: str
    measure: str | None = "OR"

    #: Reported on the odds-ratio scale by default (see :meth:`summary_frame`).
    default_transform = "exp"

    def __repr__(self) -> str:
        return (
            f"MetaAnalysis2x2Result(method={self.method!r}, k={self.k}, "
            f"estimate={fmt(self.estimate)} (odds ratio), ci_low={fmt(self.ci_low)}, ci_high={fmt(self.ci_high)}, "
            f"p_value={fmt(self.p_value)}, i2={fmt(self.i2)}, alpha={self.alpha:g})"
        )

    def confidence_interval(self) -> tuple[float, float]:
        """The ``1 - alpha`` confidence interval of the pooled odds ratio."""
        return (self.ci_low, self.ci_high)

    def summary_frame(self) -> pd.DataFrame:
        """Rows as :meth:`MetaAnalysisResult.summary_frame`, by default on the odds-ratio scale.

        By default (``transform="exp"``) ``estimate``, ``ci_low`` and ``ci_high``
        are odds ratios and ``se`` is NaN (a standard error belongs to the log
        scale); ``summary_frame(transform=None)`` gives the log odds ratios with
        their standard errors.
        """
        return _frame(
            self.labels,
            self.yi,
            self.vi,
            self.weights,
            self.alpha,
            (self.log_estimate, self.se, np.log(self.ci_low), np.log(self.ci_high)),
            (
                self.log_estimate,
                float(np.sqrt(self.se**2 + self.tau2)),
                np.log(self.pi_low),
                np.log(self.pi_high),
            ),
        )

    def summary(self) -> str:
        """Printable multi-line summary; the first line reads as in a paper (:meth:`headline`)."""
        return self.headline() + "\n\n" + _summary_text(self, scale_name="odds ratio")

    def headline(self) -> str:
        """One line as a paper reports it: ``"OR 2.15 (95% CI ...), I² = ...%, 3 studies"``."""
        return _headline(self)

    def __str__(self) -> str:
        return self.summary()
