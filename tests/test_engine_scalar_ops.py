"""The single-fit (SCALAR) operations give what the batch (BATCH) operations give."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evidence import _engine

CASES = [(1.0, 0.0), (-1.0, 0.0), (1.0, -0.0), (0.0, 0.0), (math.nan, 0.0), (math.inf, 0.0), (3.0, 2.0),
         (1.0, math.inf), (math.inf, math.inf), (1e308, 1e-308)]


@pytest.mark.parametrize(("a", "b"), CASES)
def test_scalar_division_matches_numpy(a: float, b: float) -> None:
    got = _engine.SCALAR.div(a, b)
    with np.errstate(all="ignore"):
        want = float(np.divide(np.float64(a), np.float64(b)))
    assert isinstance(got, float)
    assert got == want or (math.isnan(got) and math.isnan(want))
    if not math.isnan(got):
        assert math.copysign(1.0, got) == math.copysign(1.0, want)


def test_scalar_step_matches_batch_step() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        t, S, dS, info = rng.uniform(0, 1), rng.normal(), rng.normal(), rng.uniform(0.1, 2)
        if rng.uniform() < 0.2:
            dS = 0.0
        lo, hi = (-1.0, math.inf) if rng.uniform() < 0.5 else (t / 2, 2 * t + 0.1)
        args = (1e-12, 0.01, 1e-10)
        one = _engine._safeguarded_step(t, S, dS, info, lo, hi, *args, _engine.SCALAR)
        with np.errstate(all="ignore"):
            a = [np.array([x]) for x in (t, S, dS, info, lo, hi)]
            rows = _engine._safeguarded_step(a[0], a[1], a[2], a[3], a[4], a[5], *args)
        assert [float(x) for x in one] == [float(x[0]) for x in rows]
