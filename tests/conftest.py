"""Shared test fixtures.

Tests that need R with metafor use the ``requires_r`` fixture: they are skipped
when ``Rscript`` is not on PATH, except under CI (``CI=true``), where R is
installed by ``.ci/run`` and its absence is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = ROOT / "tests" / "reference"
R_DIR = ROOT / "tests" / "r"


@pytest.fixture
def requires_r() -> str:
    """Path to Rscript; skip (or fail under CI=true) when it is missing."""
    path = shutil.which("Rscript")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Rscript is not on PATH under CI; .ci/run must install R with metafor.")
        pytest.skip("Rscript is not on PATH (install r-base-core r-cran-metafor r-cran-metadat)")
    return path


def run_r(script: Path | str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run an R script with Rscript; raise with R's stderr when it fails."""
    proc = subprocess.run(
        ["Rscript", "--vanilla", str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"Rscript {script} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def load_reference(name: str) -> Any:
    """Load a pinned reference JSON file from tests/reference/."""
    with open(REFERENCE_DIR / name, encoding="utf-8") as fh:
        return json.load(fh)
