"""Systematically mutated study files: each loads, or raises ValueError naming file, study and field -- never another
exception, a multi-megabyte message, or a hang.

Every study file of the registry is the seed.  Structural mutations (every field deleted; every value replaced by
a value of another type, a huge integer, a non-finite number, a long text, a deep list) are written back as YAML;
text mutations (a line duplicated, an anchor and alias, YAML 1.1 forms, bytes that are not UTF-8, truncation,
"billion laughs") are applied to the file's text.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence.review.registry import STUDIES_DIR, parse_study_file

SEEDS = sorted(STUDIES_DIR.glob("*.yaml"))
#: Seeds of the value replacements: every file but the two largest, whose fields are of the same kinds
#: (their fields are still deleted and their text mutated).
SMALL_SEEDS = [p for p in SEEDS if p.stem not in ("cambridge", "mater_university")]
#: The longest error message accepted (values in messages are shortened).
MAX_MESSAGE = 700

#: Replacements for any value: another type, out-of-range numbers, a long text, deep nesting.
REPLACEMENTS: dict[str, Any] = {
    "mapping": {"unexpected": 1},
    "list": [1, "two"],
    "text": "some text",
    "null": None,
    "negative": -1,
    "huge_int": int("9" * 400),
    "inf": float("inf"),
    "long_text": "x" * 5_000,
    "deep_list": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
}
#: Replacements that are never a valid value of any field.
ALWAYS_INVALID = {"mapping", "huge_int", "inf", "deep_list"}


class _NoAliases(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _dump(doc: Any) -> bytes:
    return yaml.dump(doc, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=10_000).encode("utf-8")


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every key path in a loaded YAML document (mapping keys and list indexes)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield (*path, k)
        yield from _paths(v, (*path, k))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return out


def _delete(doc: Any, path: tuple[Any, ...]) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for k in path[:-1]:
        node = node[k]
    del node[path[-1]]
    return out


def _outcome(tmp_path: Path, name: str, data: bytes) -> str | None:
    """None when the file loads; else the ValueError's message, checked for form and length."""
    p = tmp_path / name
    p.write_bytes(data)
    try:
        parse_study_file(p)
    except ValueError as exc:
        msg = str(exc)
        assert msg.startswith(f"{name}: study "), msg[:300]
        assert ", field '" in msg, msg[:300]
        assert len(msg) <= MAX_MESSAGE, (len(msg), msg[:300])
        return msg
    return None


def _seed(seed: Path) -> tuple[Any, str]:
    text = seed.read_text(encoding="utf-8")
    return yaml.safe_load(text), text


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_every_field_deleted(seed: Path, tmp_path: Path) -> None:
    doc, _ = _seed(seed)
    paths = list(_paths(doc))
    assert len(paths) > 20
    failed = 0
    for path in paths:
        msg = _outcome(tmp_path, seed.name, _dump(_delete(doc, path)))
        if msg is not None:
            failed += 1
            key = path[-1]
            if isinstance(key, str) and key in ("id", "value", "status", "measure", "citations", "results"):
                assert "is missing" in msg or "bad value" in msg, msg
        elif isinstance(path[-1], str):
            assert path[-1] in {"note", "notes", "quote", "finding", "reported_alpha", "doi", "url", "table", "page",
                                "section", "file", "method", "source", "seen_in", "seen_at", "sample",
                                "pool_reason"} or path[0] in ("sample", "citations"), path
    assert failed > len(paths) // 3


@pytest.mark.parametrize("replacement", sorted(REPLACEMENTS))
@pytest.mark.parametrize("seed", SMALL_SEEDS, ids=lambda p: p.stem)
def test_every_value_replaced(seed: Path, replacement: str, tmp_path: Path) -> None:
    doc, _ = _seed(seed)
    value = REPLACEMENTS[replacement]
    for path in _paths(doc):
        msg = _outcome(tmp_path, seed.name, _dump(_set(doc, path, value)))
        if replacement in ALWAYS_INVALID:
            assert msg is not None, (path, replacement)
        if msg is not None:
            assert "x" * 100 not in msg  # a long value is shortened


def _line_mutations(text: str) -> Iterator[tuple[str, str]]:
    lines = text.splitlines(keepends=True)
    block_indent: int | None = None  # indentation of the key that opened a block scalar (>- or |)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if block_indent is not None and indent > block_indent:
            continue  # text of a block scalar, not a key
        block_indent = indent if re.search(r":\s*[>|][-+]?\s*$", line) else None
        m = re.match(r"^(\s*)(?:- )?([a-z_]+):", line)
        if m and not stripped.startswith("- "):
            # the same key twice in one mapping
            yield f"duplicate line {i + 1}", "".join(lines[: i + 1] + [line] + lines[i + 1:])
        if m:
            head = line[: m.end()]
            yield f"anchor on line {i + 1}", "".join(lines[:i] + [f"{head} &a{line[m.end():]}"] + lines[i + 1:])
        for old, new in ((r": (\d+)([,}\n])", r": 0\1\2"), (r": false\b", ": no"), (r": true\b", ": yes")):
            if re.search(old, line):
                yield f"{new!r} on line {i + 1}", "".join(lines[:i] + [re.sub(old, new, line, count=1)] + lines[i + 1:])


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_text_mutations_are_rejected(seed: Path, tmp_path: Path) -> None:
    """Duplicate keys, anchors and YAML 1.1 forms never load silently."""
    _, text = _seed(seed)
    cases = list(_line_mutations(text))
    assert len(cases) > 20
    for what, mutated in cases:
        msg = _outcome(tmp_path, seed.name, mutated.encode("utf-8"))
        assert msg is not None, what


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_bytes_and_truncation(seed: Path, tmp_path: Path) -> None:
    data = seed.read_bytes()
    step = max(1, len(data) // 40)
    for at in range(0, len(data), step):
        for bad in (b"\xff", b"\xc3", b"\x00"):
            assert _outcome(tmp_path, seed.name, data[:at] + bad + data[at:]) is not None, (at, bad)
        _outcome(tmp_path, seed.name, data[:at])  # truncated: loads (a prefix may be valid) or a clear error


def test_billion_laughs_and_deep_nesting(tmp_path: Path) -> None:
    laughs = "id: laughs\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))
    msg = _outcome(tmp_path, "laughs.yaml", laughs.encode())
    assert msg is not None and "anchors and aliases" in msg
    for depth in (40, 2_000, 200_000):
        msg = _outcome(tmp_path, "deep.yaml", b"id: deep\nname: " + b"[" * depth + b"]" * depth + b"\n")
        assert msg is not None and "nesting" in msg
    msg = _outcome(tmp_path, "deepmap.yaml", ("id: deep\n" + "".join(" " * i + "a:\n" for i in range(100))
                                              + " " * 100 + "a: 1\n").encode())
    assert msg is not None and "nesting" in msg


def test_oversized_file(tmp_path: Path) -> None:
    msg = _outcome(tmp_path, "big.yaml", b"id: big\nname: " + b"x" * (2 << 20) + b"\n")
    assert msg is not None and "larger than" in msg
