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
#: Named transforms (the back-transformation of a ratio measure analysed on the log scale).
TRANSFORMS: dict[str, Callable[[Any], Any]] = {"exp": np.exp}

__all__ = ["FRAME_COLUMNS", "TRANSFORMED_COLUMNS", "TRANSFORMS", "ResultMixin", "fmt", "apply_transform"]


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
        if transform not in TRANSFORMS:
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
    result is reported on a back-transformed scale by default).  ``summary()``
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
            return apply_transform(frame, self.default_transform if transform == "default" else transform)

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
