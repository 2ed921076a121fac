"""Every number printed in the five source documents is claimed in the ledger or excluded with a reason.

The documents are scanned for digits and number words (:func:`evidence.review.documents.numbers_in`);
a number is covered when it lies inside the quote of a ledger claim or inside an exclusion of
``studies/claims/exclusions.yaml`` (a quote, a line range or a pattern, each with its reason).
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from evidence.review import documents
from evidence.review.findings import load_claims

#: Numbers the scan must find in each document (the scan cannot quietly shrink).
MIN_NUMBERS = {"000_c20decbd4ccc6994.txt": 7, "001_300f056caac0c4bc.txt": 60, "002_c017329bb45fdfaf.txt": 600,
               "003_dbf5bc141ce292c1.txt": 50, "004_0916b3af819e2ac0.txt": 13}


def _quotes() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for c in load_claims():
        if not c.document.startswith("registry:"):
            out[c.document].append(c.quote)
    return out


def test_the_scan_finds_numbers_in_every_catalogued_document() -> None:
    cat = {d.file for d in documents.load_catalog()}
    assert cat == set(MIN_NUMBERS)
    for f, n in MIN_NUMBERS.items():
        assert len(documents.numbers_in(f)) >= n, f


def test_scan_reads_digits_and_number_words() -> None:
    found = [m.text for m in documents.numbers_in("001_300f056caac0c4bc.txt")[:6]]
    assert found[:3] == ["54", "18", "two"]
    assert documents.parse_number_words("more than doubled") == (2.0,)
    assert documents.parse_number_words("almost half (47%)") == (0.5, 50.0, 47.0)


def test_every_number_is_claimed_or_excluded() -> None:
    missing = documents.uncovered_numbers(_quotes())
    lines = [f"{documents.cite(m.file, m.line)}: {m.text!r}" for m in missing]
    assert not missing, f"{len(missing)} number(s) neither claimed nor excluded:\n" + "\n".join(lines[:60])


def test_every_exclusion_is_used_and_has_a_reason() -> None:
    quotes = _quotes()
    spans = {f: [s for q in qs for s in documents.quote_spans(f, q)] for f, qs in quotes.items()}
    for e in documents.load_exclusions():
        hits = [m for m in documents.numbers_in(e.file) if e.covers(m)
                and not any(a <= m.start and m.end <= b for a, b in spans.get(e.file, []))]
        assert hits, f"exclusion covers no unclaimed number: {e}"
        assert len(e.reason) >= 8


def test_an_unclaimed_number_is_reported_by_title_section_and_line(tmp_path) -> None:  # noqa: ANN001
    quotes = _quotes()
    target = "Offenders who maintain family relationships and receive visits while in custody are 38% less likely"
    quotes["001_300f056caac0c4bc.txt"] = [q for q in quotes["001_300f056caac0c4bc.txt"] if not q.startswith(target)]
    missing = documents.uncovered_numbers(quotes)
    assert [m.text for m in missing] == ["38", "38"]
    assert documents.cite(missing[0].file, missing[0].line) == (
        "Parenting and relationship support programmes for offenders and their families: executive summary, "
        "section 'Key findings', line 25")


@pytest.mark.parametrize("bad, field", [
    ({"document": "001_300f056caac0c4bc.txt", "quote": "not in the text 12", "reason": "a reason here"}, "quote"),
    ({"document": "001_300f056caac0c4bc.txt", "lines": [3, 1], "reason": "a reason here"}, "lines"),
    ({"document": "001_300f056caac0c4bc.txt", "lines": [1, 3]}, "reason"),
])
def test_bad_exclusions_are_refused(tmp_path, bad: dict, field: str) -> None:  # noqa: ANN001
    import yaml

    p = tmp_path / "exclusions.yaml"
    p.write_text(yaml.safe_dump({"exclusions": [bad]}), encoding="utf-8")
    with pytest.raises(ValueError, match=field):
        documents.load_exclusions(p)


def test_catalogue_names_every_source_document() -> None:
    files = {p.name for p in documents.SOURCES_DIR.glob("*.txt")}
    cat = documents.load_catalog()
    assert {d.file for d in cat} == files
    for d in cat:
        n_lines = (documents.SOURCES_DIR / d.file).read_text(encoding="utf-8").count("\n") + 1
        assert d.title and d.author and d.year and d.short, d.file
        assert not any(ch in d.title for ch in "_") and d.file not in d.title
        assert all(1 <= line <= n_lines for line, _ in d.sections), d.file
    with pytest.raises(ValueError, match="not in catalog.yaml"):
        documents.document("999_unknown.txt")
