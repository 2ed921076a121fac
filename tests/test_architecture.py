"""The package's architecture, checked from the source: who may import what.

* No module of :mod:`evidence` imports a private name (``_x``) from another
  module of the package -- by ``from evidence.m import _x`` or by an attribute
  ``m._x`` of an imported evidence module -- except from ``evidence._validation``
  and the shared result base ``evidence._results``.  The fitting engine
  ``evidence._engine`` is private to the package but its names are public:
  toolkit modules call it by those names.
* The library (``evidence/*.py``) never imports the review compendium
  (``evidence.review``); the compendium builds on the library, not the other way.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "evidence"
#: Modules whose private names other modules may import.
SHARED_PRIVATE = {"evidence._validation", "evidence._results"}
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = here.split(".") if is_package else here.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_imports(path: Path, here: str | None = None) -> list[str]:
    """Every private name ``path`` (module ``here``) takes from another evidence module (outside the shared ones)."""
    here = here or _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    aliases: dict[str, str] = {}  # local name -> evidence module it refers to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("evidence"):
                    aliases[(a.asname or a.name).split(".")[0]] = a.name if a.asname else "evidence"
        elif isinstance(node, ast.ImportFrom):
            src = _resolve(node, here, path.name == "__init__.py")
            if not src.startswith("evidence"):
                continue
            for a in node.names:
                full = f"{src}.{a.name}"
                if (PACKAGE.parent / Path(*full.split("."))).with_suffix(".py").exists() or (
                    PACKAGE.parent / Path(*full.split(".")) / "__init__.py"
                ).exists():
                    aliases[a.asname or a.name] = full  # a module imported by name
                    continue
                if a.name.startswith("_") and src != here and src not in SHARED_PRIVATE:
                    found.append(f"line {node.lineno}: from {src} import {a.name}")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            src = aliases[node.value.id]
            if src != here and src not in SHARED_PRIVATE:
                found.append(f"line {node.lineno}: {node.value.id}.{node.attr} ({src})")
    return found


def review_imports(path: Path, here: str | None = None) -> list[str]:
    """Every import of ``evidence.review`` in ``path`` (module ``here``)."""
    here = here or _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names
                      if a.name.startswith("evidence.review")]
        elif isinstance(node, ast.ImportFrom):
            src = _resolve(node, here, path.name == "__init__.py")
            if src.startswith("evidence.review") or (src == "evidence" and any(a.name == "review" for a in node.names)):
                found.append(f"line {node.lineno}: from {src} import ...")
    return found


def test_the_package_has_modules_to_check() -> None:
    names = {_module_name(p) for p in MODULES}
    assert {"evidence.pooling", "evidence._engine", "evidence.metareg", "evidence.sensitivity"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: _module_name(p))
def test_no_private_name_is_imported_from_another_module(path: Path) -> None:
    assert private_imports(path) == []


@pytest.mark.parametrize("path", [p for p in MODULES if "review" not in p.relative_to(PACKAGE).parts],
                         ids=lambda p: _module_name(p))
def test_the_library_never_imports_the_review_compendium(path: Path) -> None:
    assert review_imports(path) == []


def test_the_checks_catch_what_they_forbid(tmp_path: Path) -> None:
    # the checks themselves, on a module written to break both rules
    bad = tmp_path / "probe.py"
    src = (
        "from evidence.pooling import _fit\n"
        "from evidence import tau2 as t\n"
        "from evidence._validation import _where\n"
        "from evidence.review import registry\n"
        "x = t._solve_q\n"
    )
    bad.write_text(src, encoding="utf-8")
    priv = private_imports(bad, "evidence.probe")
    rev = review_imports(bad, "evidence.probe")
    assert priv == ["line 1: from evidence.pooling import _fit", "line 5: t._solve_q (evidence.tau2)"]
    assert rev == ["line 4: from evidence.review import ..."]


def test_public_signatures_and_results_use_the_one_vocabulary() -> None:
    import dataclasses
    import importlib
    import inspect

    from evidence.options import RETIRED_NAMES, VOCABULARY

    assert "statistic" in VOCABULARY and "alpha" in VOCABULARY
    found = []
    for path in MODULES:
        name = _module_name(path)
        if name.split(".")[-1].startswith("_"):
            continue
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr)
            if inspect.isfunction(obj):
                found += [f"{name}.{attr}({p})" for p in inspect.signature(obj).parameters if p in RETIRED_NAMES]
            elif dataclasses.is_dataclass(obj):
                found += [f"{name}.{attr}.{f.name}" for f in dataclasses.fields(obj) if f.name in RETIRED_NAMES]
    assert found == []
