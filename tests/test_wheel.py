"""The package works when installed from a wheel (not editable), from a clean clone, used from another folder.

The wheel is built from a fresh ``git clone`` of this repository and installed with ``--no-deps`` into a new
virtual environment that reuses this environment's third-party packages (a ``.pth`` file), so the test runs
offline; the study files, the ledger and the sources must come from the wheel itself.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _setuptools_builds_wheels() -> bool:
    """True when this environment's setuptools can build a wheel without an isolated build environment."""
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    if (major, minor) >= (70, 1):  # bdist_wheel is part of setuptools from 70.1
        return True
    try:
        import wheel  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the new environment's python, a folder outside the repository) after installing the wheel."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout of the repository")
    tmp = tmp_path_factory.mktemp("wheel")
    clone = tmp / "clone"
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], cwd=tmp)
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp / "dist"), str(clone)]
    if _setuptools_builds_wheels():
        build[4:4] = ["--no-build-isolation", "--no-index"]
    _run(build, cwd=tmp)
    wheels = list((tmp / "dist").glob("evidence-*.whl"))
    assert len(wheels) == 1, wheels
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
    py = venv / "bin" / "python"
    purelib = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                        cwd=tmp).stdout.strip())
    # this environment's third-party packages, after the new environment's own (no editable install is seen:
    # .pth files in a folder added this way are not run)
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    (purelib / "_reuse_test_env.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--quiet", "--no-deps", "--no-index",
          str(wheels[0])], cwd=tmp)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return py, elsewhere


def test_library_imports_from_the_installed_wheel(installed: tuple[Path, Path]) -> None:
    py, elsewhere = installed
    code = (
        "import evidence, pathlib\n"
        "r = evidence.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.04, 0.02, 0.05, 0.03], method='REML')\n"
        "print(pathlib.Path(evidence.__file__).resolve())\n"
        "print(repr(round(float(r.estimate), 6)))\n"
    )
    out = _run([str(py), "-c", code], cwd=elsewhere).stdout.split()
    assert Path(out[0]).is_relative_to(py.parent.parent.resolve()), out[0]
    assert not Path(out[0]).is_relative_to(ROOT)
    import evidence

    here = evidence.meta_analysis([0.1, 0.3, 0.35, 0.6], [0.04, 0.02, 0.05, 0.03], method="REML")
    assert float(out[1]) == round(float(here.estimate), 6)


def test_compendium_data_come_from_the_wheel(installed: tuple[Path, Path]) -> None:
    py, elsewhere = installed
    code = (
        "import json\n"
        "from evidence.review import STUDIES_DIR, load_studies, check_findings\n"
        "df = load_studies()\n"
        "print(json.dumps({'dir': str(STUDIES_DIR.resolve()), 'rows': len(df),\n"
        "                  'findings': len(check_findings())}))\n"
    )
    got = json.loads(_run([str(py), "-c", code], cwd=elsewhere).stdout)
    assert Path(got["dir"]).is_relative_to(py.parent.parent.resolve()), got["dir"]
    from evidence.review import check_findings, load_studies

    assert got["rows"] == len(load_studies()) and got["findings"] == len(check_findings())


def test_evidence_reproduce_writes_the_report(installed: tuple[Path, Path]) -> None:
    py, elsewhere = installed
    cli = py.parent / "evidence"
    proc = _run([str(cli), "reproduce", "--html", "out/index.html", "--json", "out/findings.json"], cwd=elsewhere)
    assert "HTML report written to out/index.html" in proc.stdout
    page = (elsewhere / "out" / "index.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    findings = json.loads((elsewhere / "out" / "findings.json").read_text(encoding="utf-8"))
    from evidence.review import check_findings

    assert [f["id"] for f in findings] == [f.id for f in check_findings()]
    # a wrong --studies path is named, with what to pass
    bad = subprocess.run([str(cli), "reproduce", "--studies", "nowhere"], cwd=elsewhere, capture_output=True,
                         text=True, timeout=300)
    assert bad.returncode == 2
    assert "--studies 'nowhere': not a folder; pass --studies PATH" in bad.stderr
