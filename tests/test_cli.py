"""`evidence reproduce`: table, JSON, self-contained HTML and exit codes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evidence.review.cli import main
from evidence.review.findings import load_claims

ROOT = Path(__file__).resolve().parents[1]
JSON_KEYS = ["id", "claim", "reported", "computed", "verdict", "source"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, Path]:
    d = tmp_path_factory.mktemp("report")
    html, js = d / "report" / "index.html", d / "report" / "findings.json"
    rc = main(["reproduce", "--html", str(html), "--json", str(js)])
    return rc, html, js


def test_exit_zero_when_everything_reproduces(outputs: tuple[int, Path, Path]) -> None:
    assert outputs[0] == 0


def test_json_has_exactly_the_keys(outputs: tuple[int, Path, Path]) -> None:
    data = json.loads(outputs[2].read_text(encoding="utf-8"))
    assert isinstance(data, list)
    assert [d["id"] for d in data] == [c.id for c in load_claims()]
    for d in data:
        assert list(d) == JSON_KEYS
        assert all(isinstance(v, str) and v for v in d.values())


def test_html_is_written_and_self_contained(outputs: tuple[int, Path, Path]) -> None:
    text = outputs[1].read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert "<style>" in text
    assert len(re.findall(r"src='data:image/png;base64,", text)) >= 2
    # nothing is loaded from elsewhere
    assert not re.search(r"<link\b|<script\b|@import|src=['\"](?!data:)", text)
    for c in load_claims():
        assert c.id in text


def test_table_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:5] == ["id", "claim", "reported", "computed", "verdict"]
    assert "review.cambridge_conviction_or" in out and "reproduced" in out


def _ledger_copy(tmp_path: Path) -> Path:
    d = tmp_path / "claims"
    shutil.copytree(ROOT / "studies" / "claims", d)
    return d


def test_broken_ledger_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A reproducible finding that stops reproducing gives exit status 1."""
    d = _ledger_copy(tmp_path)
    p = d / "01-review.yaml"
    text = p.read_text(encoding="utf-8")
    assert "reported_values: {estimate: 7.0, ci_low: 2.8, ci_high: 17.5}" in text
    p.write_text(text.replace("reported_values: {estimate: 7.0, ci_low: 2.8, ci_high: 17.5}",
                              "reported_values: {estimate: 7.5, ci_low: 2.8, ci_high: 17.5}"), encoding="utf-8")
    assert main(["reproduce", "--claims", str(d)]) == 1
    err = capsys.readouterr().err
    assert "review.cambridge_conviction_or" in err


def test_invalid_ledger_exit_two(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _ledger_copy(tmp_path)
    p = d / "02-practitioner.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("check: inverted_odds_ratio", "check: inverted"),
                 encoding="utf-8")
    assert main(["reproduce", "--claims", str(d)]) == 2
    assert "02-practitioner.yaml: claim 'policis.visits_38_less_likely', field 'check'" in capsys.readouterr().err


@pytest.mark.slow
def test_command_line_entry_point(tmp_path: Path) -> None:
    js = tmp_path / "f.json"
    proc = subprocess.run([sys.executable, "-m", "evidence.review.cli", "reproduce", "--json", str(js)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(js.read_text(encoding="utf-8"))) == len(load_claims())


def test_subcommand_is_required() -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
