"""The numbered notebooks (``notebooks/NN-*.py``, jupytext percent format).

Two kinds of test, one of each per notebook:

* a static check of the house rules for notebooks: thin (no ``def`` or
  ``class``), everything imported from ``evidence``, and a final code cell
  that asserts the notebook's findings;
* an execution test: the text file is read with jupytext and run top to
  bottom with nbclient in a Python kernel of the interpreter running the tests
  (the project venv under ``make test``), working directory ``notebooks/``,
  matplotlib's Agg backend.  A failing assertion in a notebook fails the test.

The kernel is described by a kernelspec written to a temporary
``JUPYTER_PATH`` whose ``argv`` is ``sys.executable``, so a ``python3``
kernelspec elsewhere on the machine (e.g. in ``~/.local/share/jupyter``)
cannot substitute another interpreter.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]-*.py"))

#: The notebooks that must exist (the check cannot quietly shrink).
EXPECTED = (
    "00-for-trainers",
    "01-odds-ratios-cambridge",
    "02-pooled-estimate-five-studies",
    "03-cambridge-outcomes",
    "04-project-metropolitan-age-sex",
    "05-england-versus-sweden",
    "06-claims-audit",
    "07-analyst-toolkit",
    "08-your-own-meta-analysis",
    "09-dependent-effects",
)
#: Seconds allowed for one cell (the notebooks themselves take seconds).
CELL_TIMEOUT = 300
KERNEL_NAME = "python3"

_DEFINITION = re.compile(r"^\s*(?:async\s+def|def|class)\s", re.MULTILINE)
_IMPORTS_EVIDENCE = re.compile(r"^\s*(?:from\s+evidence(?:\.\w+)*\s+import|import\s+evidence\b)",
                               re.MULTILINE)


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def _read(path: Path):  # noqa: ANN202 - nbformat.NotebookNode
    import jupytext

    return jupytext.read(path)


def _code_cells(nb) -> list[str]:  # noqa: ANN001
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_expected_notebooks_exist() -> None:
    assert [p.stem for p in NOTEBOOKS][: len(EXPECTED)] == list(EXPECTED), (
        f"notebooks/ should hold {', '.join(EXPECTED)} (found {', '.join(_ids(NOTEBOOKS))})"
    )
    numbers = [p.name[:2] for p in NOTEBOOKS]
    assert len(set(numbers)) == len(numbers), f"duplicate notebook numbers: {numbers}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_follows_house_rules(path: Path) -> None:
    nb = _read(path)
    assert nb.metadata.get("jupytext", {}).get("text_representation", {}).get(
        "format_name") == "percent", f"{path.name} is not a jupytext percent-format file"
    code = _code_cells(nb)
    assert code, f"{path.name} has no code cells"
    assert any(c.cell_type == "markdown" for c in nb.cells), f"{path.name} has no narrative"
    for src in code:
        ast.parse(src)  # every cell is valid Python (no IPython magics needed)
        m = _DEFINITION.search(src)
        assert m is None, (
            f"{path.name} defines a function or class ({m.group(0).strip()!r}); shared logic "
            f"belongs in the evidence package, notebooks define nothing reusable"
        )
    assert any(_IMPORTS_EVIDENCE.search(src) for src in code), (
        f"{path.name} does not import from evidence"
    )
    last = ast.parse(code[-1])
    asserts = [n for n in ast.walk(last) if isinstance(n, ast.Assert)]
    assert len(asserts) >= 3, (
        f"{path.name} must end with a code cell of assertions on its findings "
        f"(found {len(asserts)} assert statement(s) in the last cell)"
    )


@pytest.fixture(scope="session")
def kernel_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A JUPYTER_PATH holding a ``python3`` kernelspec for this interpreter."""
    try:
        import ipykernel  # noqa: F401
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.fail(f"ipykernel is not installed in {sys.prefix}; run `pip install -e .[test]`.")
    base = tmp_path_factory.mktemp("jupyter")
    spec = base / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python 3 ({sys.prefix})",
        "language": "python",
    }))
    (base / "ipython").mkdir()
    return base


@pytest.mark.notebooks
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs(path: Path, kernel_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(
        [str(kernel_path), *filter(None, [os.environ.get("JUPYTER_PATH")])]))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(kernel_path / "ipython"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = _read(path)
    client = NotebookClient(
        nb,
        kernel_name=KERNEL_NAME,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
