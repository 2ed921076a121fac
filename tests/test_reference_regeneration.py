"""Regenerate tests/reference/metafor_core.json with R and compare it with the committed copy.

This is how CI reruns metafor: ``tests/r/make_reference.R`` writes a fresh file
into a temporary directory, and any difference from the committed file (a key,
a case, a call, a warning, or a number beyond round-off) fails the test.  To
accept a deliberate change, rerun

    Rscript --vanilla tests/r/make_reference.R tests/reference

and commit the new file together with the change to the script.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from conftest import R_DIR, REFERENCE_DIR, run_r

SCRIPT = R_DIR / "make_reference.R"
REFERENCE_NAME = "metafor_core.json"
#: Numbers may differ across platforms by round-off in the BLAS and libm only.
REGEN_RTOL = 1e-10
#: Floor for values near 0: iterative and root-found values (tau^2, its Q-profile
#: bounds) are only determined to the absolute tolerance 1e-12 passed to metafor,
#: and values that are 0 in exact arithmetic come out as round-off (a REML tau^2
#: of ~1e-13 where Fisher scoring stops at the boundary).
REGEN_ATOL = 1e-11


def _differences(new: Any, old: Any, path: str = "$") -> list[str]:
    """Every difference between two parsed JSON documents, numbers compared with tolerance."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [f"{path}: expected an object, got {type(new).__name__}"]
        out = []
        if list(new) != list(old):
            out.append(f"{path}: keys differ: {sorted(set(new) ^ set(old)) or 'order'}")
        for key in old:
            if key in new:
                out += _differences(new[key], old[key], f"{path}.{key}")
        return out
    if isinstance(old, list):
        if not isinstance(new, list):
            return [f"{path}: expected an array, got {type(new).__name__}"]
        if len(new) != len(old):
            return [f"{path}: {len(new)} elements regenerated, {len(old)} committed"]
        out = []
        for i, (n, o) in enumerate(zip(new, old, strict=True)):
            out += _differences(n, o, f"{path}[{i}]")
        return out
    if isinstance(old, bool) or isinstance(new, bool) or old is None or new is None or isinstance(old, str):
        return [] if new == old else [f"{path}: regenerated {new!r}, committed {old!r}"]
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        if math.isclose(new, old, rel_tol=REGEN_RTOL, abs_tol=REGEN_ATOL):
            return []
        return [f"{path}: regenerated {new!r}, committed {old!r}"]
    return [] if new == old else [f"{path}: regenerated {new!r}, committed {old!r}"]


def test_differences_sees_a_changed_number_and_a_lost_case() -> None:
    old = {"a": [1.0, {"b": 0.5, "c": "x"}], "n": None}
    assert _differences(old, old) == []
    assert _differences({"a": [1.0 + 1e-13, {"b": 0.5, "c": "x"}], "n": None}, old) == []
    assert _differences({"a": [1.0, {"b": 0.5000001, "c": "x"}], "n": None}, old)
    assert _differences({"a": [1.0], "n": None}, old)
    assert _differences({"a": [1.0, {"b": 0.5, "c": "y"}], "n": None}, old)
    assert _differences({"a": [1.0, {"b": 0.5}], "n": None}, old)


@pytest.mark.r
def test_regenerated_reference_equals_committed(requires_r: str, tmp_path: Path) -> None:
    run_r(SCRIPT, str(tmp_path), timeout=300)
    with open(tmp_path / REFERENCE_NAME, encoding="utf-8") as fh:
        new = json.load(fh)
    with open(REFERENCE_DIR / REFERENCE_NAME, encoding="utf-8") as fh:
        old = json.load(fh)
    assert len(new["yivi_cases"]) == len(old["yivi_cases"])
    assert len(new["cases_2x2"]) == len(old["cases_2x2"])
    diffs = _differences(new, old)
    assert not diffs, (
        f"{len(diffs)} difference(s) between a fresh run of {SCRIPT.name} and the committed "
        f"{REFERENCE_NAME}; first ones:\n" + "\n".join(diffs[:25])
    )
