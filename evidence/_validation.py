"""Input validation shared by every public function.

Each check raises :class:`ValueError` (or :class:`TypeError`) with a sentence
naming the argument, the bad value, the study index where there is one, and
what is allowed.  Nothing is dropped or corrected silently.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "check_choice",
    "check_alpha",
    "check_number",
    "check_whole",
    "as_float_array",
    "check_same_length",
    "check_counts",
    "check_tables",
    "check_positive_variances",
    "check_finite",
]


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise ValueError.

    Examples
    --------
    >>> check_choice("method", "REML", ("DL", "REML"))
    'REML'
    """
    if not isinstance(value, str) or value not in allowed:
        hint = ""
        if isinstance(value, str):
            close = [a for a in allowed if a.lower() == value.lower()]
            if close:
                hint = f" Did you mean {close[0]!r}?"
        raise ValueError(
            f"{name}={value!r} is not a known option; allowed are "
            f"{', '.join(repr(a) for a in allowed)}.{hint}"
        )
    return value


def check_alpha(alpha: Any, name: str = "alpha") -> float:
    """Return ``alpha`` as a float if 0 < alpha < 1; otherwise raise ValueError."""
    try:
        a = float(alpha)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={alpha!r} must be a number strictly between 0 and 1.") from None
    if not 0.0 < a < 1.0:  # also refuses NaN
        raise ValueError(
            f"{name}={alpha!r} is outside (0, 1); use e.g. {name}=0.05 for 95% intervals."
        )
    return a


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """Return the scalar ``value`` as a finite float within ``[low, high]``.

    ``low_open=True`` excludes ``low`` itself (e.g. ``low=0, low_open=True`` for
    a ratio).  A non-number raises TypeError; anything else out of range raises
    ValueError.

    Examples
    --------
    >>> check_number("reported_or", 7, low=0.0, low_open=True)
    7.0
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number; got {value!r}.") from None
    if not np.isfinite(v):
        raise ValueError(f"{name}={value!r} must be a finite number.")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name}={value!r} must be {'>' if low_open else '>='} {low:g}.")
    if high is not None and v > high:
        raise ValueError(f"{name}={value!r} must be <= {high:g}.")
    return v


def check_whole(name: str, value: Any, *, minimum: int = 0) -> int:
    """Return ``value`` as an int if it is a whole number >= ``minimum`` (bool is refused).

    Examples
    --------
    >>> check_whole("decimals", 2)
    2
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} must be a whole number >= {minimum}.")
    return int(value)


def as_float_array(name: str, value: ArrayLike, *, ndim: int | None = 1) -> NDArray[np.float64]:
    """Convert ``value`` to a float64 array, raising a clear error if impossible."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric; got {value!r}.") from None
    if ndim is not None:
        if ndim == 1 and arr.ndim == 0:
            arr = arr.reshape(1)
        if arr.ndim != ndim:
            raise ValueError(
                f"{name} must be {ndim}-dimensional; got an array of shape {arr.shape}."
            )
    return arr


def _where(idx: tuple[int, ...] | int) -> str:
    if isinstance(idx, tuple):
        if len(idx) == 1:
            return f"study {idx[0]}"
        if len(idx) == 2:
            return f"analysis row {idx[0]}, study {idx[1]}"
        return f"position {idx}"
    return f"study {idx}"


def check_same_length(**arrays: NDArray[Any]) -> int:
    """Raise ValueError unless every array has the same length; return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{n} has {k}" for n, k in lengths.items())
        raise ValueError(f"The arrays must have the same length: {desc}.")
    return next(iter(lengths.values())) if lengths else 0


def check_finite(name: str, arr: NDArray[np.float64], *, allow_nan: bool = False) -> None:
    """Raise ValueError at the first NaN (unless allowed) or infinite value."""
    bad = ~np.isfinite(arr)
    if allow_nan:
        bad &= ~np.isnan(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has the non-finite value {float(arr[idx])!r} at {_where(idx)}; "
            f"every value must be a finite number."
        )


def check_counts(
    events_name: str,
    events: ArrayLike,
    n_name: str,
    n: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Validate event counts against group sizes.

    Both must be finite non-negative whole numbers with ``events <= n`` and
    ``n > 0``.  Returns both as float arrays of equal length.
    """
    e = as_float_array(events_name, events)
    m = as_float_array(n_name, n)
    check_same_length(**{events_name: e, n_name: m})
    for name, arr in ((events_name, e), (n_name, m)):
        check_finite(name, arr)
        neg = arr < 0
        if neg.any():
            i = int(np.argmax(neg))
            raise ValueError(
                f"{name} has the negative count {arr[i]:g} at study {i}; counts must be "
                f"whole numbers >= 0."
            )
        frac = arr != np.round(arr)
        if frac.any():
            i = int(np.argmax(frac))
            raise ValueError(
                f"{name} has the non-integer count {arr[i]:g} at study {i}; counts must be "
                f"whole numbers >= 0 (reconstruct counts from percentages with "
                f"evidence.published.counts_from_percentages)."
            )
    zero_n = m == 0
    if zero_n.any():
        i = int(np.argmax(zero_n))
        raise ValueError(f"{n_name} is 0 at study {i}; a group must have at least one member.")
    over = e > m
    if over.any():
        i = int(np.argmax(over))
        raise ValueError(
            f"{events_name}={e[i]:g} exceeds {n_name}={m[i]:g} at study {i}; events must be "
            f"between 0 and the group size."
        )
    return e, m


def check_tables(
    events_exposed: ArrayLike,
    n_exposed: ArrayLike,
    events_unexposed: ArrayLike,
    n_unexposed: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Validate the counts of 2x2 tables (:func:`check_counts` for each group, equal lengths).

    Returns ``events_exposed, n_exposed, events_unexposed, n_unexposed`` as float arrays.

    Examples
    --------
    >>> [x.tolist() for x in check_tables([15], [23], [48], [227])]
    [[15.0], [23.0], [48.0], [227.0]]
    """
    a, n1 = check_counts("events_exposed", events_exposed, "n_exposed", n_exposed)
    c, n2 = check_counts("events_unexposed", events_unexposed, "n_unexposed", n_unexposed)
    check_same_length(events_exposed=a, events_unexposed=c)
    return a, n1, c, n2


def check_positive_variances(name: str, v: NDArray[np.float64], *, allow_nan: bool = False) -> None:
    """Raise ValueError at the first variance that is not strictly positive and finite."""
    check_finite(name, v, allow_nan=allow_nan)
    bad = v <= 0
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has the value {float(v[idx])!r} at {_where(idx)}; sampling variances must be "
            f"strictly positive."
        )
