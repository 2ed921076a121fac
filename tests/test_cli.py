"""`evidence reproduce`: table, JSON, self-contained HTML and exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from evidence.review.cli import EXIT_CODES, main
from evidence.review.findings import load_claims
from evidence.review.output import write_text_atomic

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


# --------------------------------------------------------------------------- exit codes and bad paths
def _studies_copy(tmp_path: Path) -> Path:
    d = tmp_path / "studies"
    shutil.copytree(ROOT / "studies", d, ignore=shutil.ignore_patterns("claims", "sources"))
    return d


def _edit(name: str, old: str, new: str) -> Callable[[Path], str]:
    def make(d: Path) -> str:
        p = d / name
        text = p.read_text(encoding="utf-8")
        assert old in text
        p.write_text(text.replace(old, new, 1), encoding="utf-8")
        return name
    return make


def _add(name: str, content: bytes) -> Callable[[Path], str]:
    def make(d: Path) -> str:
        (d / name).write_bytes(content)
        return name
    return make


def _folder(d: Path) -> str:
    (d / "x.yaml").mkdir()
    return "x.yaml"


def _dangling(d: Path) -> str:
    (d / "dangling.yaml").symlink_to(d / "nowhere.yaml")
    return "dangling.yaml"


def _dev_zero(d: Path) -> str:
    (d / "zero.yaml").symlink_to("/dev/zero")
    return "zero.yaml"


def _bad_bytes(d: Path) -> str:
    p = d / "stanton_1980.yaml"
    p.write_bytes(p.read_bytes().replace(b"value: 75", b"value: 7\xff5", 1))
    return "stanton_1980.yaml"


#: case -> (how to break a copy of the registry, a fragment the message must hold besides the file name)
BAD_REGISTRIES: dict[str, tuple[Callable[[Path], str], str]] = {
    "huge_int": (_edit("stanton_1980.yaml", "value: 75", "value: " + "9" * 400), "more than 15 digits"),
    "deep_nesting": (_add("deep.yaml", b"id: deep\nname: " + b"[" * 5000 + b"]" * 5000 + b"\n"), "nesting"),
    "folder_named_yaml": (_folder, "is a folder"),
    "dangling_symlink": (_dangling, "does not exist"),
    "symlink_to_dev_zero": (_dev_zero, "not a regular file"),
    "bad_encoding": (_bad_bytes, "UTF-8"),
    "octal": (_edit("stanton_1980.yaml", "value: 75", "value: 075"), "YAML 1.1"),
    "yes_as_boolean": (_edit("cambridge.yaml", "adjusted: false", "adjusted: no"), "YAML 1.1"),
    "duplicate_key": (_edit("stanton_1980.yaml", "\nname:", "\nname: twice\nname:"), "duplicate key"),
    "billion_laughs": (_add("laughs.yaml", b"id: laughs\na: &a [x, x, x, x, x, x, x, x, x]\n"
                            b"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                            b"c: [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"), "anchors and aliases"),
}


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("evidence reproduce: ")
    return lines[0]


@pytest.mark.parametrize("case", sorted(BAD_REGISTRIES))
def test_bad_study_file_exit_two_with_one_line(case: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    d = _studies_copy(tmp_path)
    make, fragment = BAD_REGISTRIES[case]
    name = make(d)
    capsys.readouterr()
    assert main(["reproduce", "--studies", str(d)]) == 2
    line = _one_line_error(capsys)
    assert name in line and fragment in line
    assert len(line) < 600


def test_studies_option_names_what_to_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (tmp_path / "absent", tmp_path / "a_file.yaml"):
        if bad.name.endswith(".yaml"):
            bad.write_text("id: x\n", encoding="utf-8")
        assert main(["reproduce", "--studies", str(bad)]) == 2
        line = _one_line_error(capsys)
        assert f"--studies {str(bad)!r}" in line and "pass --studies PATH" in line
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["reproduce", "--studies", str(empty)]) == 2
    assert "holds no study files" in _one_line_error(capsys)
    assert main(["reproduce", "--claims", str(tmp_path / "nope")]) == 2
    assert "--claims" in _one_line_error(capsys)


def _unwritable_folder(tmp_path: Path) -> Path:
    d = tmp_path / "read_only"
    d.mkdir()
    d.chmod(0o500)
    if os.access(d, os.W_OK):  # root ignores permissions: sysfs takes no new files even from root
        return Path("/sys")
    return d


def test_unwritable_outputs_exit_two_naming_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    folder = tmp_path / "folder.json"
    folder.mkdir()
    for target in (a_file / "f.json", folder, _unwritable_folder(tmp_path) / "f.json"):
        assert main(["reproduce", "--json", str(target)]) == 2
        line = _one_line_error(capsys)
        assert f"cannot write the JSON to {str(target)!r}" in line
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "read_only") == ["a_file", "folder.json"]
    assert list(folder.iterdir()) == []


def test_json_is_written_when_the_html_cannot_be(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    js = tmp_path / "out" / "f.json"
    assert main(["reproduce", "--html", str(a_file / "r.html"), "--json", str(js)]) == 2
    line = _one_line_error(capsys)
    assert f"cannot write the HTML report to {str(a_file / 'r.html')!r}" in line
    assert len(json.loads(js.read_text(encoding="utf-8"))) == len(load_claims())


def test_a_write_failure_outranks_a_regression(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = _ledger_copy(tmp_path)
    p = d / "01-review.yaml"
    p.write_text(p.read_text(encoding="utf-8").replace("reported_values: {estimate: 7.0, ci_low: 2.8",
                                                       "reported_values: {estimate: 7.5, ci_low: 2.8"),
                 encoding="utf-8")
    assert main(["reproduce", "--claims", str(d), "--json", str(tmp_path)]) == 2
    assert "cannot write the JSON" in capsys.readouterr().err


def test_exit_codes_are_documented() -> None:
    import evidence.review.cli as cli

    assert set(EXIT_CODES) == {0, 1, 2, 3}
    assert cli.__doc__ is not None
    for code in EXIT_CODES:
        assert f"* {code} -- " in cli.__doc__
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in readme


def test_internal_error_is_exit_three(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import evidence.review.cli as cli

    def broken(*args: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(cli, "check_findings", broken)
    assert main(["reproduce"]) == 3
    err = capsys.readouterr().err
    assert "ZeroDivisionError: a bug" in err and "internal error" in err


# --------------------------------------------------------------------------- atomic, concurrent writes
def test_atomic_writer_never_shows_a_partial_or_mixed_file(tmp_path: Path) -> None:
    """Writers race on one path while a reader polls it: every read is one writer's full text."""
    target = tmp_path / "out.json"
    texts = [json.dumps({"writer": i, "data": [i] * 200_000}) for i in range(4)]
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            if target.exists():
                seen.append(target.read_text(encoding="utf-8"))

    def write(i: int) -> None:
        for _ in range(5):
            write_text_atomic(target, texts[i])

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(i,)) for i in range(len(texts))]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    done.set()
    reader.join()
    assert seen and all(s in texts for s in seen)
    assert target.read_text(encoding="utf-8") in texts
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


@pytest.mark.slow
def test_concurrent_runs_into_one_folder(tmp_path: Path) -> None:
    """Several `evidence reproduce` runs write into one folder: every output parses and equals one full run."""
    ref = tmp_path / "ref"
    assert main(["reproduce", "--html", str(ref / "r.html"), "--json", str(ref / "f.json")]) == 0
    out = tmp_path / "shared_out"
    html, js = out / "r.html", out / "f.json"
    reads: list[tuple[str, str]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            for p in (html, js):
                if p.exists():
                    reads.append((p.name, p.read_text(encoding="utf-8")))
            time.sleep(0.01)

    reader = threading.Thread(target=read)
    reader.start()
    cmd = [sys.executable, "-m", "evidence.review.cli", "reproduce", "--html", str(html), "--json", str(js)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        errs = [p.communicate(timeout=600)[1] for p in procs]
    finally:
        done.set()
        reader.join()
    assert [p.returncode for p in procs] == [0, 0, 0], errs
    want = {"r.html": (ref / "r.html").read_text(encoding="utf-8"),
            "f.json": (ref / "f.json").read_text(encoding="utf-8")}
    assert html.read_text(encoding="utf-8") == want["r.html"]
    assert js.read_text(encoding="utf-8") == want["f.json"]
    assert reads, "the reader saw no output"
    for name, text in reads:
        assert text == want[name], f"{name}: a reader saw a partial or mixed file ({len(text)} characters)"
    json.loads(want["f.json"])
    assert sorted(p.name for p in out.iterdir()) == ["f.json", "r.html"]
