"""Input validation shared by every public function.

Each check raises :class:`ValueError` (or :class:`TypeError`) with a sentence
naming the argument, the bad value, the study index where there is one, and
what is allowed.  Nothing is dropped or corrected silently.
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "REPR_LIMIT",
    "MAX_ABS_EFFECT",
    "MIN_VARIANCE",
    "MAX_VARIANCE",
    "MAX_COUNT",
    "MIN_RATIO",
    "MAX_RATIO",
    "short_repr",
    "check_bool",
    "check_seed",
    "check_ratio",
    "check_same_index",
    "check_distinct_labels",
    "check_intervals",
    "check_columns",
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

# ---------------------------------------------------------------------------
# The numeric domain (README, "Numeric domain")
# ---------------------------------------------------------------------------
#
# The pooling kernels form w * y^2 with w = 1 / v, sums of w^2, and (y - mu)^2;
# with |y| <= 1e100 and 1e-100 <= v <= 1e100 every such term is at most 1e300,
# so sums over a million studies stay below the largest double (1.8e308) with
# room to spare, and 1 / v never overflows or underflows.  Beyond these bounds
# the same formulas give inf, NaN or an I^2 above 100 without warning, so values
# outside are refused rather than computed.

#: Largest |effect size| accepted (log ratios, differences, SMDs).
MAX_ABS_EFFECT: float = 1e100
#: Smallest sampling variance accepted (SE 1e-50).
MIN_VARIANCE: float = 1e-100
#: Largest sampling variance accepted (SE 1e50).
MAX_VARIANCE: float = 1e100
#: Largest count accepted: 2**53, above which consecutive integers are no longer
#: distinct in double precision (so n - events and "events <= n" lose meaning).
MAX_COUNT: float = float(2**53)
#: Ratio-scale inputs (odds ratios, risk ratios): log ratios within +-230, so a
#: ratio of two of them (at most 1e200) is still a double.
MIN_RATIO: float = 1e-100
MAX_RATIO: float = 1e100
#: Longest repr of a value quoted in an error message.
REPR_LIMIT: int = 80

_REPR = reprlib.Repr()
_REPR.maxlevel = 2
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6
_REPR.maxstring = _REPR.maxother = REPR_LIMIT


def short_repr(value: Any, limit: int = REPR_LIMIT) -> str:
    """The repr of ``value`` shortened to about ``limit`` characters for an error message.

    Nested containers are cut at depth 2 and six items without building the
    full repr (a value with shared references expanding to millions of items
    costs nothing); anything else longer than ``limit`` keeps its start and end.

    Examples
    --------
    >>> short_repr("x" * 500)[:12], len(short_repr("x" * 500)) <= 80
    ("'xxxxxxxxxxx", True)
    >>> short_repr(list(range(100)))
    '[0, 1, 2, 3, 4, 5, ...]'
    """
    try:
        text = _REPR.repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__} object>"
    if len(text) > limit:
        keep = max(limit - 5, 10)
        text = f"{text[: keep - keep // 3]} ... {text[-(keep // 3):]}"
    return text


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is True or False (numpy bools too); otherwise raise TypeError.

    Strings such as ``"no"`` and numbers are refused: ``bool("no")`` is True.

    Examples
    --------
    >>> check_bool("intercept", False)
    False
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name}={short_repr(value)} must be True or False.")


def check_seed(name: str, value: Any) -> Any:
    """Return ``value`` if numpy's ``default_rng`` accepts it as a seed; otherwise raise TypeError.

    Allowed: None, a whole number >= 0, a sequence of them, a ``SeedSequence``
    or a ``Generator``.

    Examples
    --------
    >>> check_seed("seed", 42)
    42
    """
    if value is None or isinstance(value, (np.random.Generator, np.random.SeedSequence)):
        return value
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    whole = bool(items) and all(
        isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items
    )
    if not whole or any(v < 0 for v in items):
        raise (TypeError if not whole else ValueError)(
            f"{name}={short_repr(value)} is not a random seed; pass None, a whole number >= 0 "
            f"or a numpy Generator."
        )
    return value


def check_ratio(name: str, value: Any) -> float:
    """Return a ratio-scale value (odds or risk ratio) within [MIN_RATIO, MAX_RATIO].

    Examples
    --------
    >>> check_ratio("or1", 7.0)
    7.0
    """
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}={short_repr(value)} must be a number.")
    v = float(value)
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name}={short_repr(value)} must be a finite number > 0.")
    if not MIN_RATIO <= v <= MAX_RATIO:
        raise ValueError(
            f"{name}={short_repr(value)} is outside the numeric domain of ratios, "
            f"[{MIN_RATIO:g}, {MAX_RATIO:g}]; beyond it their logs, differences and "
            f"intervals are no longer computed reliably in double precision."
        )
    return v


def check_same_index(**values: Any) -> None:
    """Refuse pandas Series whose indexes differ (they would be paired by position).

    Arrays and lists have no index and pass.

    Examples
    --------
    >>> import pandas as pd
    >>> check_same_index(yi=pd.Series([0.1, 0.2]), vi=pd.Series([0.01, 0.02]))
    """
    import pandas as pd

    indexed = [(n, v.index) for n, v in values.items() if isinstance(v, (pd.Series, pd.DataFrame))]
    for (n0, i0), (n1, i1) in zip(indexed, indexed[1:], strict=False):
        if not i0.equals(i1):
            raise ValueError(
                f"{n0} and {n1} are pandas objects with different indexes ({short_repr(list(i0))} "
                f"and {short_repr(list(i1))}); pairing them by position could match the wrong "
                f"studies. Align them first, e.g. {n1}={n1}.reindex({n0}.index), or pass arrays."
            )


def check_distinct_labels(name: str, values: Any) -> None:
    """Refuse labels that are different values but print the same (1 and "1", 1.0 and "1.0").

    Examples
    --------
    >>> check_distinct_labels("groups", ["a", "b", "a"])
    """
    seen: dict[str, Any] = {}
    for v in list(values):
        key = str(v)
        if key in seen and not _same(seen[key], v):
            raise ValueError(
                f"{name} holds {short_repr(seen[key])} and {short_repr(v)}, different values that "
                f"print as the same label {key!r}; they would be merged. Use one type for the labels."
            )
        seen.setdefault(key, v)


def _same(x: Any, y: Any) -> bool:
    """Equal values (1 and numpy's int64 1 are; 1 and "1" are not)."""
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return False


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
            f"{name}={short_repr(value)} is not a known option; allowed are "
            f"{', '.join(repr(a) for a in allowed)}.{hint}"
        )
    return value


def check_alpha(alpha: Any, name: str = "alpha") -> float:
    """Return ``alpha`` as a float if 0 < alpha < 1; otherwise raise ValueError."""
    if not isinstance(alpha, numbers.Real) or isinstance(alpha, (bool, np.bool_)):
        raise TypeError(f"{name}={short_repr(alpha)} must be a number strictly between 0 and 1.")
    a = float(alpha)
    if not 0.0 < a < 1.0:  # also refuses NaN
        raise ValueError(
            f"{name}={short_repr(alpha)} is outside (0, 1); use e.g. {name}=0.05 for 95% intervals."
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
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number; got {short_repr(value)}.")
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(f"{name}={short_repr(value)} must be a finite number.")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name}={short_repr(value)} must be {'>' if low_open else '>='} {low:g}.")
    if high is not None and v > high:
        raise ValueError(f"{name}={short_repr(value)} must be <= {high:g}.")
    return v


def check_whole(name: str, value: Any, *, minimum: int = 0) -> int:
    """Return ``value`` as an int if it is a whole number >= ``minimum`` (bool is refused).

    Examples
    --------
    >>> check_whole("decimals", 2)
    2
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}={short_repr(value)} must be a whole number >= {minimum}.")
    if value < minimum:
        raise ValueError(f"{name}={short_repr(value)} must be a whole number >= {minimum}.")
    return int(value)


def as_float_array(name: str, value: ArrayLike, *, ndim: int | None = 1) -> NDArray[np.float64]:
    """Convert ``value`` to a float64 array, raising a clear error if impossible.

    Only real numbers are accepted: strings (even "1.5"), booleans, None and
    ragged nesting raise TypeError naming ``name`` and the first offending value.
    A missing value must be NaN, never None.
    """
    try:
        raw = np.asarray(value)
    except ValueError:  # ragged nesting
        raise TypeError(
            f"{name} must be a rectangular array of numbers; got {short_repr(value)}."
        ) from None
    # a list may hide booleans among numbers (numpy turns [True, 0.3] into floats)
    if raw.dtype.kind not in "iuf" or isinstance(value, (list, tuple)):
        # look at the values as given (a list mixing 1.9 and "0.5" became all strings)
        flat = np.asarray(value, dtype=object).ravel() if raw.dtype.kind != "b" else raw.ravel()
        bad = None
        if any(not issubclass(t, numbers.Real) or issubclass(t, (bool, np.bool_))
               for t in set(map(type, flat))):  # one pass in C; the index only when needed
            bad = next(
                i for i, x in enumerate(flat)
                if not isinstance(x, numbers.Real) or isinstance(x, (bool, np.bool_))
            )
        if bad is not None:
            x = flat[bad]
            where = f" at position {bad}" if raw.ndim else ""
            kind = "a boolean" if isinstance(x, (bool, np.bool_)) else type(x).__name__
            raise TypeError(
                f"{name} must hold numbers; got {short_repr(x.item() if hasattr(x, 'item') else x)}"
                f"{where} ({kind}; missing values must be NaN)."
            )
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numeric; got {short_repr(value)}.") from None
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


def check_finite(
    name: str,
    arr: NDArray[np.float64],
    *,
    allow_nan: bool = False,
    bound: float = MAX_ABS_EFFECT,
) -> None:
    """Raise ValueError at the first NaN (unless allowed), infinite or out-of-domain value.

    ``bound`` is the largest magnitude accepted (:data:`MAX_ABS_EFFECT` by
    default; see the README's "Numeric domain").
    """
    if not allow_nan and bool((np.abs(arr) <= bound).all()):  # the common clean case (NaN and inf fail it)
        return
    bad = ~np.isfinite(arr)
    if allow_nan:
        bad &= ~np.isnan(arr)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has the non-finite value {float(arr[idx])!r} at {_where(idx)}; "
            f"every value must be a finite number."
        )
    with np.errstate(invalid="ignore"):
        big = np.abs(arr) > bound
    if big.any():
        idx = tuple(int(i) for i in np.argwhere(big)[0])
        raise ValueError(
            f"{name} has the value {float(arr[idx])!r} at {_where(idx)}, outside the numeric "
            f"domain |{name}| <= {bound:g} where double precision holds (see the README's "
            f"'Numeric domain'); rescale the data."
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
        check_finite(name, arr, bound=MAX_COUNT)
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
    check_same_index(
        events_exposed=events_exposed, n_exposed=n_exposed,
        events_unexposed=events_unexposed, n_unexposed=n_unexposed,
    )
    a, n1 = check_counts("events_exposed", events_exposed, "n_exposed", n_exposed)
    c, n2 = check_counts("events_unexposed", events_unexposed, "n_unexposed", n_unexposed)
    check_same_length(events_exposed=a, events_unexposed=c)
    return a, n1, c, n2


def check_positive_variances(name: str, v: NDArray[np.float64], *, allow_nan: bool = False) -> None:
    """Raise ValueError at the first variance that is not strictly positive and finite."""
    if not allow_nan and bool(((v >= MIN_VARIANCE) & (v <= MAX_VARIANCE)).all()):  # the common clean case
        return
    check_finite(name, v, allow_nan=allow_nan, bound=MAX_VARIANCE)
    bad = v <= 0
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} has the value {float(v[idx])!r} at {_where(idx)}; sampling variances must be "
            f"strictly positive."
        )
    with np.errstate(invalid="ignore"):
        tiny = v < MIN_VARIANCE
    if tiny.any():
        idx = tuple(int(i) for i in np.argwhere(tiny)[0])
        raise ValueError(
            f"{name} has the value {float(v[idx])!r} at {_where(idx)}, below the smallest "
            f"sampling variance accepted, {MIN_VARIANCE:g} (its weight 1/{name} would leave the "
            f"range where double precision holds; see the README's 'Numeric domain')."
        )


def check_intervals(
    estimate: ArrayLike, ci_low: ArrayLike, ci_high: ArrayLike, *, labels: Sequence[Any] | None = None
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Validate per-row estimates and intervals (a forest plot's rows).

    Every value must be a number (inf allowed for an open limit; a limit may
    be NaN where none was reported), no estimate NaN, and ``ci_low <= ci_high``;
    errors name the row (and its label).

    Examples
    --------
    >>> [x.tolist() for x in check_intervals([7.0], [2.8], [17.5])]
    [[7.0], [2.8], [17.5]]
    """
    est = as_float_array("estimate", estimate)
    lo = as_float_array("ci_low", ci_low)
    hi = as_float_array("ci_high", ci_high)
    check_same_length(estimate=est, ci_low=lo, ci_high=hi)

    def who(i: int) -> str:
        return f"row {i}" + (f" ({short_repr(labels[i])})" if labels is not None else "")

    nan = np.isnan(est)
    if nan.any():
        i = int(np.argmax(nan))
        raise ValueError(f"estimate is NaN at {who(i)}; every row needs an estimate to draw.")
    inverted = lo > hi  # False where a limit is NaN (not reported: drawn without a line)
    if inverted.any():
        i = int(np.argmax(inverted))
        raise ValueError(
            f"ci_low={lo[i]!r} is above ci_high={hi[i]!r} at {who(i)}; an interval must have "
            f"ci_low <= ci_high."
        )
    return est, lo, hi


def check_columns(name: str, columns: Mapping[str, Any]) -> int:
    """Return the common length of the columns of a mapping; raise ValueError if ragged.

    Examples
    --------
    >>> check_columns("moderators", {"dose": [1, 2, 3], "arm": ["a", "b", "a"]})
    3
    """
    lengths = {str(k): (len(v) if hasattr(v, "__len__") and not isinstance(v, str) else 1)
               for k, v in columns.items()}
    if len(set(lengths.values())) > 1:
        desc = ", ".join(f"{k!r} has {n}" for k, n in lengths.items())
        raise ValueError(f"{name} has columns of different lengths ({short_repr(desc, 200)}); "
                         f"each column needs one value per study.")
    return next(iter(lengths.values()), 0)
