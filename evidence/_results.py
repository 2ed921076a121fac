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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

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
           "apply_transform", "check_measure", "natural_scale"]


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("summary_frame")
        if own is None or getattr(own, "_with_transform", False):
            return

        @functools.wraps(own)
        def summary_frame(self: Any, *args: Any, transform: Any = "default", **kw: Any) -> pd.DataFrame:
            frame = own(self, *args, **kw)
            if isinstance(transform, str) and transform == "default":
                transform = self.default_transform
                if getattr(self, "measure", None) is not None:  # a result that knows its scale
                    transform = natural_scale(self.measure)[0]
            return apply_transform(frame, transform)

        summary_frame._with_transform = True  # type: ignore[attr-defined]
        summary_frame.__doc__ = (own.__doc__ or "").rstrip() + (
            "\n\n        ``transform``: None (the analysis scale), ``\"exp\"`` or a function applied to the "
            "estimate and its limits (``se`` then NaN); the default is the result's ``default_transform``."
        )
        cls.summary_frame = summary_frame  # type: ignore[attr-defined]

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
