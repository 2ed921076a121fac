"""The source documents: their catalogue, where a quote sits, and every number they print.

The five documents kept in ``studies/sources/`` have hashed file names; the
catalogue (``studies/sources/catalog.yaml``) gives each its title, author or
organisation, year and sections, so that a finding cites "title, section,
line" (:func:`cite`).

:func:`numbers_in` finds every number a document prints, as digits (``411``,
``17,700``, ``2.8``) or as words (``two thirds``, ``nine per cent``, ``three
times``, ``more than doubled``, ``half``).  :func:`uncovered_numbers` lists
those that neither a ledger claim quotes nor the exclusions file
(``studies/claims/exclusions.yaml``) sets aside with a reason.  "one" on its
own and ordinals (``first``, ``second``) are not scanned: in these documents
they are pronouns and sequence words ("one of which", "the first question");
"one in N", "one-fifth" and the like are scanned.

Exclusions are of three kinds, each with a ``reason``: ``quote`` (every number
inside that text of the document), ``lines`` (a range ``[first, last]``, e.g.
the directory of addresses and telephone numbers) and ``pattern`` (a regular
expression, e.g. numbered references ``(25, 31)``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from evidence.review import registry as reg
from evidence.review.yamlfile import read_yaml

__all__ = [
    "SOURCES_DIR",
    "CATALOG_FILE",
    "EXCLUSIONS_FILE",
    "Document",
    "NumberMention",
    "Exclusion",
    "load_catalog",
    "document",
    "source_text",
    "cite",
    "quote_span",
    "quote_spans",
    "line_of",
    "numbers_in",
    "load_exclusions",
    "uncovered_numbers",
    "parse_number_words",
]

#: The project's source documents.
SOURCES_DIR: Path = reg.STUDIES_DIR / "sources"
#: The catalogue of the source documents.
CATALOG_FILE: Path = SOURCES_DIR / "catalog.yaml"
#: Numbers of the source documents set aside from the ledger, each with its reason.
EXCLUSIONS_FILE: Path = reg.STUDIES_DIR / "claims" / "exclusions.yaml"

_SMALL = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALE = {"hundred": 100, "hundreds": 100, "thousand": 1000, "thousands": 1000, "million": 1e6,
          "millions": 1e6, "dozen": 12, "dozens": 12}
_FRACTION = {"half": 0.5, "halved": 0.5, "third": 1 / 3, "thirds": 1 / 3, "quarter": 0.25,
             "quarters": 0.25}
_MULTIPLE = {"twice": 2, "double": 2, "doubled": 2, "treble": 3, "trebled": 3, "triple": 3, "tripled": 3}
_WORDS = sorted({*_SMALL, *_SCALE, *_FRACTION, *_MULTIPLE}, key=len, reverse=True)
_NUMBER_RE = re.compile(
    r"(?<![\w.])\d+(?:[.,]\d+)*(?!\w)|\b(?:" + "|".join(_WORDS) + r")\b|\bone(?=[\s-]+(?:in|fifth|"
    r"third|quarter|tenth)\b)",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------- catalogue
@dataclass(frozen=True, slots=True)
class Document:
    """A source document: file, short name, title, author or organisation, year, sections."""

    file: str
    short: str
    title: str
    author: str
    year: str
    sections: tuple[tuple[int, str], ...]

    def section(self, line: int) -> str:
        """Title of the section holding ``line`` ("" before the first section)."""
        out = ""
        for start, title in self.sections:
            if start <= line:
                out = title
        return out


def _fail(file: str, where: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{file}: {where}: bad value {value!r}; {allowed}.")


@lru_cache(maxsize=4)
def _catalog(path: str) -> tuple[Document, ...]:
    p = Path(path)
    raw = read_yaml(p, label="document")
    if not isinstance(raw, dict) or not isinstance(raw.get("documents"), list):
        raise _fail(p.name, "documents", raw, "expected a mapping with a list 'documents'")
    out = []
    for i, d in enumerate(raw["documents"]):
        keys = ("file", "short", "title", "author", "year", "sections")
        if not isinstance(d, dict) or set(d) != set(keys):
            raise _fail(p.name, f"documents[{i}]", d, "each document has exactly the keys " + ", ".join(keys))
        secs = tuple((int(s["line"]), str(s["title"])) for s in d["sections"])
        if [s for s, _ in secs] != sorted(s for s, _ in secs):
            raise _fail(p.name, f"documents[{i}].sections", secs, "sections must be in line order")
        out.append(Document(file=d["file"], short=d["short"], title=d["title"], author=d["author"],
                            year=str(d["year"]), sections=secs))
    return tuple(out)


def load_catalog(path: str | Path | None = None) -> tuple[Document, ...]:
    """The catalogue of source documents (default :data:`CATALOG_FILE`)."""
    return _catalog(str(Path(path) if path is not None else CATALOG_FILE))


def document(file: str) -> Document:
    """The catalogue entry of the source file ``file`` (ValueError naming the known files)."""
    for d in load_catalog():
        if d.file == file:
            return d
    raise ValueError(f"document={file!r} is not in {CATALOG_FILE.name}; known: "
                     + ", ".join(d.file for d in load_catalog()) + ".")


def cite(file: str, line: int | None) -> str:
    """'Title, section, line N' for a line of a source document."""
    d = document(file)
    if line is None:
        return d.title
    sec = d.section(line)
    return f"{d.title}, {'section ' + repr(sec) + ', ' if sec else ''}line {line}"


# --------------------------------------------------------------------------- text and quotes
def source_text(file: str) -> str:
    """Text of the source document ``file`` kept in ``studies/sources/``."""
    p = SOURCES_DIR / file
    if not p.is_file():
        known = sorted(q.name for q in SOURCES_DIR.glob("*.txt"))
        raise ValueError(
            f"document={file!r} is not one of the source documents in studies/sources/ ({', '.join(known)})."
        )
    return p.read_text(encoding="utf-8")


@lru_cache(maxsize=16)
def _normalised(file: str) -> tuple[str, str, tuple[int, ...]]:
    """(text, whitespace-normalised text, original offset of each normalised character)."""
    text = source_text(file)
    out: list[str] = []
    pos: list[int] = []
    prev_space = True
    for i, ch in enumerate(text):
        if ch.isspace():
            if not prev_space:
                out.append(" ")
                pos.append(i)
            prev_space = True
        else:
            out.append(ch)
            pos.append(i)
            prev_space = False
    return text, "".join(out), tuple(pos)


def quote_span(file: str, quote: str) -> tuple[int, int] | None:
    """Character span (start, end) of the first occurrence of ``quote`` (whitespace-normalised)."""
    _, norm, pos = _normalised(file)
    q = re.sub(r"\s+", " ", quote).strip()
    k = norm.find(q)
    if k < 0 or not q:
        return None
    return pos[k], pos[k + len(q) - 1] + 1


def quote_spans(file: str, quote: str) -> tuple[tuple[int, int], ...]:
    """Character spans of every occurrence of ``quote`` (whitespace-normalised)."""
    _, norm, pos = _normalised(file)
    q = re.sub(r"\s+", " ", quote).strip()
    out = []
    k = norm.find(q) if q else -1
    while k >= 0:
        out.append((pos[k], pos[k + len(q) - 1] + 1))
        k = norm.find(q, k + 1)
    return tuple(out)


@lru_cache(maxsize=256)
def _pattern_spans(file: str, pattern: str) -> tuple[tuple[int, int], ...]:
    return tuple((x.start(), x.end()) for x in re.finditer(pattern, source_text(file)))


def line_of(file: str, offset: int) -> int:
    """1-based line of a character offset."""
    return source_text(file).count("\n", 0, offset) + 1


# --------------------------------------------------------------------------- numbers
@dataclass(frozen=True, slots=True)
class NumberMention:
    """A number printed in a document: the text, its position and line."""

    file: str
    text: str
    start: int
    end: int
    line: int

    def __repr__(self) -> str:
        return f"NumberMention({self.text!r}, line {self.line})"


def numbers_in(file: str) -> tuple[NumberMention, ...]:
    """Every number printed in the document ``file`` (digits and number words), in order."""
    text = source_text(file)
    return tuple(NumberMention(file, m.group(0), m.start(), m.end(), text.count("\n", 0, m.start()) + 1)
                 for m in _NUMBER_RE.finditer(text))


def parse_number_words(text: str) -> tuple[float, ...]:
    """The values a phrase prints: digits as numbers, number words as numbers, fractions as
    both the fraction and its percentage ('two thirds' -> 0.667 and 66.7), multiples as factors.

    >>> parse_number_words("nearly two thirds of boys")
    (2.0, 0.6666666666666666, 66.66666666666666)
    """
    out: list[float] = []
    words = [m.group(0).lower() for m in _NUMBER_RE.finditer(text)]
    for i, w in enumerate(words):
        if w[0].isdigit():
            out.append(float(w.replace(",", "")))
        elif w in _SMALL:
            out.append(float(_SMALL[w]))
        elif w in _FRACTION:
            k = _SMALL.get(words[i - 1], 1) if i and words[i - 1] in _SMALL else 1
            out += [k * _FRACTION[w], 100 * k * _FRACTION[w]]
        elif w in _MULTIPLE:
            out.append(float(_MULTIPLE[w]))
        elif w in _SCALE and i and words[i - 1][0].isdigit():
            out.append(float(words[i - 1].replace(",", "")) * _SCALE[w])
        elif w in _SCALE:
            out.append(float(_SCALE[w]))
    return tuple(out)


# --------------------------------------------------------------------------- exclusions
@dataclass(frozen=True, slots=True)
class Exclusion:
    """Numbers of a document set aside from the ledger, with the reason."""

    file: str
    reason: str
    quote: str | None = None
    lines: tuple[int, int] | None = None
    pattern: str | None = None

    def covers(self, m: NumberMention) -> bool:
        """Does this exclusion cover the number ``m``?"""
        if m.file != self.file:
            return False
        if self.lines is not None:
            return self.lines[0] <= m.line <= self.lines[1]
        if self.quote is not None:
            return any(a <= m.start and m.end <= b for a, b in quote_spans(self.file, self.quote))
        assert self.pattern is not None
        return any(a <= m.start and m.end <= b for a, b in _pattern_spans(self.file, self.pattern))


def load_exclusions(path: str | Path | None = None) -> tuple[Exclusion, ...]:
    """The exclusions file (default :data:`EXCLUSIONS_FILE`), validated.

    Raises ValueError naming the file, the entry and the field: unknown keys, a
    missing reason, a quote that does not occur in its document, an entry with
    not exactly one of quote / lines / pattern.
    """
    p = Path(path) if path is not None else EXCLUSIONS_FILE
    raw = read_yaml(p, label="document")
    if not isinstance(raw, dict) or not isinstance(raw.get("exclusions"), list):
        raise _fail(p.name, "exclusions", raw, "expected a mapping with a list 'exclusions'")
    out = []
    for i, e in enumerate(raw["exclusions"]):
        where = f"exclusions[{i}]"
        if not isinstance(e, dict) or not set(e) <= {"document", "reason", "quote", "lines", "pattern"}:
            raise _fail(p.name, where, e, "keys are document, reason and one of quote, lines, pattern")
        document(e.get("document", ""))
        if not isinstance(e.get("reason"), str) or len(e["reason"].strip()) < 8:
            raise _fail(p.name, f"{where}.reason", e.get("reason"), "every exclusion needs a reason")
        kinds = [k for k in ("quote", "lines", "pattern") if k in e]
        if len(kinds) != 1:
            raise _fail(p.name, where, kinds, "give exactly one of quote, lines, pattern")
        if "quote" in e and quote_span(e["document"], e["quote"]) is None:
            raise _fail(p.name, f"{where}.quote", e["quote"], f"the quote does not occur in {e['document']}")
        lines = None
        if "lines" in e:
            lo_hi = e["lines"]
            if not (isinstance(lo_hi, list) and len(lo_hi) == 2 and all(isinstance(x, int) for x in lo_hi)
                    and lo_hi[0] <= lo_hi[1]):
                raise _fail(p.name, f"{where}.lines", lo_hi, "expected [first line, last line]")
            lines = (lo_hi[0], lo_hi[1])
        if "pattern" in e:
            re.compile(e["pattern"])
        out.append(Exclusion(file=e["document"], reason=e["reason"].strip(), quote=e.get("quote"),
                             lines=lines, pattern=e.get("pattern")))
    return tuple(out)


def uncovered_numbers(quotes: dict[str, list[str]],
                      exclusions: tuple[Exclusion, ...] | None = None) -> tuple[NumberMention, ...]:
    """Numbers of the catalogued documents that no quote (``{file: [quotes]}``) and no exclusion covers."""
    excl = load_exclusions() if exclusions is None else exclusions
    missing = []
    for d in load_catalog():
        spans = [s for q in quotes.get(d.file, []) for s in quote_spans(d.file, q)]
        mine = [e for e in excl if e.file == d.file]
        for m in numbers_in(d.file):
            if any(a <= m.start and m.end <= b for a, b in spans):
                continue
            if any(e.covers(m) for e in mine):
                continue
            missing.append(m)
    return tuple(missing)
