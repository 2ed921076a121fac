"""Every registry number read outside ``studies/sources/`` keeps the sentence it was read in.

A reported number seen in a primary or secondary source (a web page, an abstract, slides) carries a
``quote`` holding that sentence as read, so that it can be checked without the web; where the sentence
could not be captured, the number's note says so ("Quote not captured: ...").  The quote must print the
number.
"""

from __future__ import annotations

import re

from evidence.review.registry import load_registry


def _outside_sources():  # noqa: ANN202 - generator of (study, result, field, quantity)
    for s in load_registry():
        items = [(s.id, "", k, q) for k, q in s.sample]
        items += [(s.id, r.id, k, q) for r in s.results for k, q in r.quantities]
        for sid, rid, k, q in items:
            if q.status == "reported" and q.seen_in in ("primary", "secondary"):
                yield sid, rid, k, q


def _printed(value: float, quote: str, field: str) -> bool:
    digits = {re.sub(r"[,\s]", "", x) for x in re.findall(r"\d[\d,]*(?:\.\d+)?", quote)}
    forms = {f"{value:g}"}
    if field == "estimate" and "% higher" in quote:  # an odds ratio quoted as 'x% higher odds'
        forms.add(f"{100 * (value - 1):.0f}")
    return bool(forms & digits)


def test_numbers_read_outside_the_sources_keep_their_sentence() -> None:
    seen = list(_outside_sources())
    assert len(seen) >= 40
    for sid, rid, k, q in seen:
        assert q.quote or "Quote not captured" in (q.note or ""), (sid, rid, k)
        if q.quote:
            # the copy of Kinner et al. reads '1.4 1' for 1.41 (an OCR break, kept in the quote)
            assert _printed(float(q.value), q.quote.replace("1.4 1", "1.41"), k), (sid, rid, k, q.value)


def test_quotes_are_sentences_not_summaries() -> None:
    for sid, rid, k, q in _outside_sources():
        if q.quote:
            assert len(q.quote) >= 40 and q.quote.strip() == q.quote, (sid, rid, k)
