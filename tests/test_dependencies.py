"""pyproject.toml and environment.yml must declare the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]

# conda-forge spellings of the PyPI names, where they differ.
CONDA_NAME = {"dask[distributed]": "dask"}
# Packages that exist only in one of the two worlds.
PIP_ONLY: set[str] = set()
CONDA_ONLY = {"python", "pip"}


def _name(req: str) -> str:
    return re.split(r"[<>=!~ ;]", req.strip(), maxsplit=1)[0].lower()


def _constraints(req: str) -> list[str]:
    """Version constraints of a requirement, e.g. ['>=1.24', '<3']."""
    return sorted(re.findall(r"(?:[<>]=?|[=!~]=)\s*[\w.*]+", req.replace(" ", "")))


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pyproject_packages() -> dict[str, str]:
    data = _pyproject()
    reqs = list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        reqs.extend(extra)
    out: dict[str, str] = {}
    for r in reqs:
        name = CONDA_NAME.get(_name(r), _name(r))
        # a package listed in two extras must be constrained the same way in both
        assert name not in out or _constraints(out[name]) == _constraints(r), (out[name], r)
        out[name] = r
    return out


def _conda_packages() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            out[_name(dep)] = dep
    return out


def test_same_package_names() -> None:
    py = set(_pyproject_packages()) - PIP_ONLY
    conda = set(_conda_packages()) - CONDA_ONLY
    assert py == conda, f"only in pyproject: {sorted(py - conda)}; only in environment.yml: {sorted(conda - py)}"


def test_same_lower_bounds() -> None:
    py = _pyproject_packages()
    conda = _conda_packages()
    for name, req in py.items():
        if name in conda:
            lo_py = re.findall(r">=\s*([\w.]+)", req)
            lo_conda = re.findall(r">=\s*([\w.]+)", conda[name])
            assert lo_py == lo_conda, f"{name}: pyproject says {req!r}, environment.yml says {conda[name]!r}"
            # upper bounds and pins too
            assert _constraints(req) == _constraints(conda[name]), (req, conda[name])


def test_same_python() -> None:
    requires = _pyproject()["project"]["requires-python"]
    conda = _conda_packages()["python"]
    assert _constraints(requires) == _constraints(conda), (requires, conda)
