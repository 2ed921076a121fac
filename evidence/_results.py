"""Shared machinery for the frozen result objects.

Every result is a frozen dataclass (``@dataclass(frozen=True)``) with typed
fields.  Per-study tables and pooled rows use the fixed column names in
:data:`FRAME_COLUMNS`; the confidence level lives in the attribute ``alpha``,
never in a column name.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

#: Column names of every ``summary_frame()`` (more columns may follow these).
FRAME_COLUMNS: tuple[str, ...] = ("estimate", "se", "ci_low", "ci_high", "weight")

__all__ = ["FRAME_COLUMNS", "ResultMixin", "fmt"]


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
    """Mix-in for frozen dataclass results: ``to_dict()`` and Jupyter display."""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (arrays stay arrays)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(str(self))
