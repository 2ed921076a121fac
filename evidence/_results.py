"""Shared machinery for the frozen result objects: the result base.

Every result is a frozen dataclass (``@dataclass(frozen=True)``) with typed
fields and read-only arrays, and derives from :class:`ResultMixin`, which gives
it ``to_dict()``, ``summary()`` and ``summary_frame(transform=...)``.  Tables
use the fixed column names in :data:`FRAME_COLUMNS`; the confidence level lives
in the attribute ``alpha``, never in a column name.

Transforms.  ``summary_frame(transform=f)`` applies ``f`` (a callable, or
``"exp"`` for ratio measures analysed on the log scale) to the columns in
:data:`TRANSFORMED_COLUMNS`; ``se`` has no meaning on the transformed scale and
becomes NaN (the analysis-scale SE is in ``summary_frame(transform=None)``); a
decreasing ``f`` swaps the interval limits.  The frame records what was done in
``frame.attrs["transform"]``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Column names of every ``summary_frame()`` (more columns may follow these).
FRAME_COLUMNS: tuple[str, ...] = ("estimate", "se", "ci_low", "ci_high", "weight")
#: Columns on the scale of the estimate, which ``summary_frame(transform=...)`` transforms.
TRANSFORMED_COLUMNS: tuple[str, ...] = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
#: Named transforms: the back-transformations of :data:`evidence.measures.BACK_TRANSFORMS` (``"exp"`` for
#: ratio measures on the log scale, ``"tanh"`` for Fisher's z, ``"ilogit"`` for logits, ...).
#: (Filled from there on first use: :mod:`evidence.measures` imports this module's users.)
TRANSFORMS: dict[str, Callable[[Any], Any]] = {"exp": np.exp}


def _transforms() -> dict[str, Callable[[Any], Any]]:
    if len(TRANSFORMS) == 1:
        from evidence.measures import BACK_TRANSFORMS

        TRANSFORMS.update({name: f for name, f in BACK_TRANSFORMS.items() if name != "identity"})
    return TRANSFORMS

#: The natural scale of every measure of :data:`evidence.measures.MEASURES`: its short name in a
#: summary line and its axis label.  The back-transformation itself is ``MEASURES[measure][2]``.
SCALE_NAMES: dict[str, tuple[str, str]] = {
    "OR": ("OR", "Odds ratio"), "RR": ("RR", "Risk ratio"), "RD": ("RD", "Risk difference"),
    "PETO": ("OR", "Peto odds ratio"), "OR2DL": ("SMD", "Standardised mean difference"),
    "OR2DN": ("SMD", "Standardised mean difference"), "SMD": ("SMD", "Standardised mean difference"),
    "MD": ("MD", "Mean difference"), "ROM": ("ROM", "Ratio of means"), "D2ORL": ("OR", "Odds ratio"),
    "D2ORN": ("OR", "Odds ratio"), "COR": ("r", "Correlation"), "ZCOR": ("r", "Correlation"),
    "PR": ("Proportion", "Proportion"), "PLO": ("Proportion", "Proportion"),
    "PAS": ("Proportion", "Proportion"), "PFT": ("PFT", "Freeman-Tukey double-arcsine proportion"),
    "IRR": ("IRR", "Incidence-rate ratio"), "IRD": ("IRD", "Incidence-rate difference"),
    "HR": ("HR", "Hazard ratio"), "GEN": ("Estimate", "Estimate"),
}

__all__ = ["FRAME_COLUMNS", "TRANSFORMED_COLUMNS", "TRANSFORMS", "SCALE_NAMES", "ResultMixin", "fmt",
           "apply_transform", "check_measure", "natural_scale", "accepts_result"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
#: The options a toolkit function takes over from a fitted result (when it has them and they are not given).
REUSED_OPTIONS: tuple[str, ...] = ("method", "test", "alpha", "labels", "measure")


def check_measure(measure: Any) -> str | None:
    """``measure`` checked against :data:`evidence.measures.MEASURES` (None: generic, no transform).

    Examples
    --------
    >>> check_measure("OR"), check_measure(None)
    ('OR', None)
    """
    from evidence.measures import MEASURES

    if measure is None:
        return None
    if not isinstance(measure, str) or measure not in MEASURES:
        raise ValueError(f"measure={str(measure)[:40]!r} is not a known measure; allowed are None (generic, no "
                         f"transform) or {', '.join(MEASURES)}.")
    return measure


def natural_scale(measure: str | None) -> tuple[str | None, str, str]:
    """``(transform, short name, axis label)`` of ``measure``'s natural scale.

    ``transform`` is the name in :data:`TRANSFORMS` taking the analysis scale to the natural one
    (None when they coincide, or for ``measure=None``); the axis label says "(log scale)" for
    ratio measures, drawn on a log axis.

    Examples
    --------
    >>> natural_scale("OR")
    ('exp', 'OR', 'Odds ratio (log scale)')
    >>> natural_scale("ZCOR")[:2], natural_scale(None)
    (('tanh', 'r'), (None, 'Estimate', 'Estimate'))
    """
    from evidence.measures import MEASURES

    if measure is None:
        return None, "Estimate", "Estimate"
    name = MEASURES[check_measure(measure) or ""][2]
    short, label = SCALE_NAMES[measure]
    transform = None if name == "identity" else name
    return transform, short, label + (" (log scale)" if transform == "exp" else "")


def apply_transform(frame: pd.DataFrame, transform: str | Callable[[Any], Any] | None) -> pd.DataFrame:
    """``frame`` with :data:`TRANSFORMED_COLUMNS` transformed (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> f = apply_transform(pd.DataFrame({"estimate": [0.0], "se": [0.1], "ci_low": [-0.2], "ci_high": [0.2]}), "exp")
    >>> f.round(3).values.tolist(), f.attrs["transform"]
    ([[1.0, nan, 0.819, 1.221]], 'exp')
    """
    if transform is None:
        frame.attrs["transform"] = None
        return frame
    if isinstance(transform, str):
        if transform not in _transforms():
            raise ValueError(
                f"transform={transform!r} is not a known transform; allowed are "
                f"{', '.join(repr(t) for t in TRANSFORMS)}, None or a function."
            )
        name, f = transform, TRANSFORMS[transform]
    elif callable(transform):
        name, f = getattr(transform, "__name__", repr(transform)), transform
    else:
        raise TypeError(f"transform={transform!r} must be None, a function or one of {', '.join(TRANSFORMS)}.")
    out = frame.copy()
    for col in TRANSFORMED_COLUMNS:
        if col in out.columns:
            out[col] = f(out[col].to_numpy(dtype=np.float64))
    for lo, hi in (("ci_low", "ci_high"), ("pi_low", "pi_high")):
        if lo in out.columns and hi in out.columns:
            swap = out[lo].to_numpy() > out[hi].to_numpy()
            if swap.any():  # a decreasing transform
                a, b = out[lo].to_numpy().copy(), out[hi].to_numpy().copy()
                out[lo], out[hi] = np.where(swap, b, a), np.where(swap, a, b)
    if "se" in out.columns:
        out["se"] = np.nan
    out.attrs["transform"] = name
    return out


def fmt(x: Any, digits: int = 4) -> str:
    """Format a number compactly for a repr (NaN prints as 'nan')."""
    if x is None:
        return "None"
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return repr(x)
    if np.isnan(xf):
        return "nan"
    return f"{xf:.{digits}g}"


class ResultMixin:
    """The result base: ``to_dict()``, ``summary()``, ``summary_frame(transform=...)``, Jupyter display.

    A result class writes ``summary_frame(self)`` on its analysis scale; the base
    wraps it so that every result also takes ``transform`` (see the module
    docstring), with the class attribute ``default_transform`` (None unless the
    result is reported on a back-transformed scale by default); a result whose
    ``measure`` is set defaults to that measure's natural scale (:func:`natural_scale`).  ``summary()``
    defaults to the repr followed by the table.
    """

    default_transform: ClassVar[str | Callable[[Any], Any] | None] = None
    #: True for results whose ``measure`` field sets the default transform (see :meth:`natural_transform`).
    measure_scale: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("summary_frame")
        if own is None or getattr(own, "_with_transform", False):
            return

        @functools.wraps(own)
        def summary_frame(self: Any, *args: Any, transform: Any = "default", **kw: Any) -> pd.DataFrame:
            frame = own(self, *args, **kw)
            if isinstance(transform, str) and transform == "default":
                transform = self.natural_transform()
            return apply_transform(frame, transform)

        summary_frame._with_transform = True  # type: ignore[attr-defined]
        summary_frame.__doc__ = (own.__doc__ or "").rstrip() + (
            "\n\n        ``transform``: None (the analysis scale), ``\"exp\"`` or a function applied to the "
            "estimate and its limits (``se`` then NaN); the default is the result's ``default_transform``."
        )
        cls.summary_frame = summary_frame  # type: ignore[attr-defined]

    def natural_transform(self) -> str | Callable[[Any], Any] | None:
        """The default ``transform`` of :meth:`summary_frame`: to the natural scale of ``measure``.

        :func:`natural_scale` of the result's ``measure`` when the class reports on it
        (``measure_scale``) and the measure is set, else ``default_transform``.
        """
        measure = getattr(self, "measure", None) if type(self).measure_scale else None
        return type(self).default_transform if measure is None else natural_scale(measure)[0]

    def summary(self) -> str:
        """Printable summary: the repr, then the table of :meth:`summary_frame`."""
        frame_of = getattr(self, "summary_frame", None)
        if frame_of is None:
            return repr(self)
        return f"{self!r}\n\n{frame_of().to_string()}"

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (arrays stay arrays)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(str(self))


def _is_fitted(obj: Any) -> bool:
    from evidence.results import PooledResult

    return isinstance(obj, PooledResult)


def accepts_result(*, as_frame: bool = False) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """Let a toolkit function take a fitted meta-analysis in place of ``yi, vi``.

    ``f(res, ...)`` with ``res`` a :class:`~evidence.results.MetaAnalysisResult` (or
    :class:`~evidence.results.MetaAnalysis2x2Result`) is ``f(res.yi, res.vi, ...)`` with the options of
    :data:`REUSED_OPTIONS` that ``f`` takes set from ``res`` unless given; further positional
    arguments follow ``vi`` (``subgroup_analysis(res, groups)``).  A result of a common-effect method on
    raw counts (``"MH"``, ``"Peto"``) has no tau^2 method to reuse: a function taking ``method`` then
    raises ValueError unless ``method=`` is given.  With ``as_frame``, the function takes a data frame
    first and receives the columns ``yi``, ``vi`` and ``study`` (the labels).

    Examples
    --------
    >>> from evidence.pooling import meta_analysis
    >>> @accepts_result()
    ... def f(yi, vi, *, method="REML", alpha=0.05):
    ...     return len(yi), method, alpha
    >>> f(meta_analysis([0.1, 0.3, 0.5], [0.01, 0.02, 0.04], method="DL", alpha=0.1), alpha=0.2)
    (3, 'DL', 0.2)
    """

    def decorate(fn: Callable[_P, _R]) -> Callable[_P, _R]:
        params = inspect.signature(fn).parameters

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from evidence.exceptions import EvidenceWarning

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", EvidenceWarning)  # re-issued below, at the caller's line
                out = call(*args, **kwargs)
            for w in caught:
                if issubclass(w.category, EvidenceWarning):
                    warnings.warn(w.message, w.category, stacklevel=2)
                else:  # someone else's warning, where it was raised
                    warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            return out

        def call(*args: Any, **kwargs: Any) -> Any:
            if not args or not _is_fitted(args[0]):
                return fn(*args, **kwargs)
            res, rest = args[0], args[1:]
            if "method" in params and "method" not in kwargs and res.method in ("MH", "Peto"):
                raise ValueError(
                    f"{fn.__name__} refits the model and needs a tau^2 method, but the result's method "
                    f"{res.method!r} pools the raw counts; pass method= (e.g. method='FE' or 'REML'), or "
                    f"use a meta_analysis_2x2 result fitted with such a method."
                )
            reused = {name: getattr(res, name) for name in REUSED_OPTIONS if name in params and name not in kwargs}
            if as_frame:
                import pandas as pd

                data = pd.DataFrame({"yi": res.yi, "vi": res.vi, "study": list(res.labels)})
                if "labels" in reused:
                    reused["labels"] = "study"
                return fn(data, *rest, **reused, **kwargs)  # type: ignore[arg-type]
            return fn(res.yi, res.vi, *rest, **reused, **kwargs)

        wrapper.__doc__ = (fn.__doc__ or "").replace(
            "\n    Parameters\n", "\n    A fitted :func:`~evidence.pooling.meta_analysis` result may replace the "
            "data (first argument):\n    its yi, vi, " + ", ".join(n for n in REUSED_OPTIONS if n in params)
            + " are reused, explicit arguments overriding.\n\n    Parameters\n", 1)
        return wrapper

    return decorate
