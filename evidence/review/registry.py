"""Registry of published study results (the human-editable files in ``studies/``).

One YAML file per study.  Every number carries its provenance: the citation it
comes from, where it was seen (URL, page, table, or the review's text file),
and a status word:

``reported``
    read in a source; ``seen_in`` says where: ``primary`` (a report by the
    study's own authors: paper, abstract, the authors' slides), ``review``
    (only in SCIE Guide 22 or its web pages, not seen in the primary paper), or
    ``secondary`` (an abstract database, a research directory, a ministerial
    answer).  ``source`` (the citation key of the document the number was read
    in) and ``seen_at`` (url or file, plus page/table/section) are required.
``reconstructed``
    back-calculated from reported numbers; ``method`` is required and says how.
``missing``
    not given by any source that could be read; ``value`` is null and ``note``
    says what was looked for.  A gap is never filled with a guess.

Every file is validated on load by plain Python (no schema library).  A broken
file raises :class:`ValueError` naming the file, the study, the field, the bad
value and what is allowed.

Layout of a study file (see ``studies/cambridge.yaml`` for a full example)::

    id: cambridge                    # unique across files (by convention the file name)
    name: ...
    kind: primary                    # or: summary (a review / meta-analysis)
    country: ...
    design: ...
    citations:                       # keys used by `source` and `citation`
      - {key: ..., text: ..., doi: ..., url: ...}
    sample:                          # named study-level numbers (quantities)
      total: {value: 411, status: reported, ...}
    results:
      - id: cambridge.conviction_19_32
        exposure: ...
        outcome: ...
        comparison: ...
        measure: odds_ratio          # odds_ratio | risk_ratio | proportions | qualitative
        adjusted: false                # true / false / null (not known; a note is then required)
        covariates: []                 # required when adjusted is true
        citation: <citation key>       # the paper the result belongs to
        n_exposed: {value: 23, status: reported, source: ..., seen_in: primary, seen_at: {url: ...}}
        ...                          # all nine quantity fields for quantitative results
        pool_reason: ...             # optional, on at most one odds ratio with an interval per study:
                                     # the result pooled for this study, and why

The claims checked by ``evidence reproduce`` live apart, in ``studies/claims/``;
the project's source documents are copied into ``studies/sources/``.

:func:`candidate_effect_sizes` turns the registry's odds ratios that have a
confidence interval into log odds ratios and variances, one marked for pooling
per study (the result whose ``pool_reason`` says why: :func:`one_per_study`).  They are candidates, not the review's
inputs (:data:`CANDIDATES_CAVEAT`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from evidence._validation import short_repr
from evidence.published import se_from_ci
from evidence.review.yamlfile import clip, read_bytes, read_yaml

__all__ = [
    "STATUSES",
    "SEEN_IN",
    "MEASURES",
    "KINDS",
    "QUANTITY_FIELDS",
    "RESULT_COLUMNS",
    "STUDIES_DIR",
    "Quantity",
    "Citation",
    "Result",
    "Study",
    "one_per_study",
    "CANDIDATES_CAVEAT",
    "CANDIDATE_COLUMNS",
    "candidate_effect_sizes",
    "find_result",
    "load_studies",
    "load_study",
    "load_registry",
    "parse_study_file",
    "provenance_frame",
]

#: Status words of a number.
STATUSES: tuple[str, ...] = ("reported", "reconstructed", "missing")
#: Where a reported number was read.
SEEN_IN: tuple[str, ...] = ("primary", "review", "secondary")
#: Kinds of result.
MEASURES: tuple[str, ...] = ("odds_ratio", "risk_ratio", "proportions", "qualitative")
#: Kinds of study record.
KINDS: tuple[str, ...] = ("primary", "summary")

_COUNT_FIELDS = ("n_exposed", "n_unexposed", "events_exposed", "events_unexposed")
_PCT_FIELDS = ("pct_exposed", "pct_unexposed")
_EFFECT_FIELDS = ("estimate", "ci_low", "ci_high")
#: The nine numbers of every quantitative result (explicitly ``missing`` when not given).
QUANTITY_FIELDS: tuple[str, ...] = _COUNT_FIELDS + _PCT_FIELDS + _EFFECT_FIELDS

_STUDY_KEYS_REQUIRED = ("id", "name", "kind", "country", "design", "citations", "results")
_STUDY_KEYS_OPTIONAL = ("sample", "notes")
_CITATION_KEYS_REQUIRED = ("key", "text")
_CITATION_KEYS_OPTIONAL = ("doi", "url", "note")
_RESULT_KEYS_REQUIRED = (
    "id", "exposure", "outcome", "comparison", "measure", "adjusted", "covariates", "citation",
)
_RESULT_KEYS_OPTIONAL = (
    "finding", "quote", "source", "seen_in", "seen_at", "reported_alpha", "note", "pool_reason",
) + QUANTITY_FIELDS
_QUANTITY_KEYS = ("value", "status", "source", "seen_in", "seen_at", "method", "note", "quote")
_SEEN_AT_KEYS = ("url", "file", "page", "table", "section")

#: Columns of :func:`load_studies`, in order (one row per result).
RESULT_COLUMNS: tuple[str, ...] = (
    "study", "result", "kind", "measure", "exposure", "outcome", "comparison",
    "adjusted", "covariates", "citation", "reported_alpha",
    *[c for q in QUANTITY_FIELDS for c in (q, f"{q}_status", f"{q}_seen_in")],
    "finding", "file",
)

#: Default location of the study files: the package data ``evidence/review/studies``
#: (the repository's ``studies/`` folder, shipped inside the wheel).
STUDIES_DIR: Path = Path(str(files("evidence.review") / "studies"))

_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RESULT_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}\.[a-z0-9_.]{1,64}$")


# --------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class Quantity:
    """One number with its provenance.

    ``value`` is ``None`` exactly when ``status == "missing"``.
    """

    value: float | int | None
    status: str
    source: str | None = None
    seen_in: str | None = None
    seen_at: tuple[tuple[str, str], ...] = ()
    method: str | None = None
    note: str | None = None
    quote: str | None = None

    @property
    def where(self) -> str:
        """``seen_at`` as one line (``url=..., table=...``)."""
        return ", ".join(f"{k}={v}" for k, v in self.seen_at)

    def __repr__(self) -> str:
        extra = f", seen_in={self.seen_in}" if self.seen_in else ""
        return f"Quantity({self.value!r}, {self.status}{extra})"


@dataclass(frozen=True, slots=True)
class Citation:
    """A cited work: ``key`` is what results and quantities refer to."""

    key: str
    text: str
    doi: str | None = None
    url: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    """One result of a study: exposure, outcome, comparison and its numbers."""

    id: str
    study: str
    exposure: str
    outcome: str
    comparison: str
    measure: str
    adjusted: bool | None
    covariates: tuple[str, ...]
    citation: str
    quantities: tuple[tuple[str, Quantity], ...]
    reported_alpha: float = 0.05
    finding: str | None = None
    quote: str | None = None
    note: str | None = None
    source: str | None = None
    seen_in: str | None = None
    seen_at: tuple[tuple[str, str], ...] = ()
    pool_reason: str | None = None

    def q(self, name: str) -> Quantity:
        """The quantity ``name`` (one of :data:`QUANTITY_FIELDS`); KeyError if absent."""
        for k, v in self.quantities:
            if k == name:
                return v
        raise KeyError(f"result {self.id!r} has no quantity {name!r}")

    def value(self, name: str) -> float | int | None:
        """The value of quantity ``name`` or ``None`` when missing/absent."""
        try:
            return self.q(name).value
        except KeyError:
            return None

    def __repr__(self) -> str:
        return f"Result({self.id!r}, measure={self.measure}, adjusted={self.adjusted})"


@dataclass(frozen=True, slots=True)
class Study:
    """A study file, validated and frozen."""

    id: str
    name: str
    kind: str
    country: str
    design: str
    citations: tuple[Citation, ...]
    sample: tuple[tuple[str, Quantity], ...]
    results: tuple[Result, ...]
    file: str
    notes: str | None = None

    def result(self, result_id: str) -> Result:
        """The result with id ``result_id`` (KeyError naming the known ids)."""
        for r in self.results:
            if r.id == result_id:
                return r
        raise KeyError(
            f"study {self.id!r} has no result {result_id!r}; known: "
            f"{', '.join(r.id for r in self.results)}"
        )

    def citation(self, key: str) -> Citation:
        """The citation with ``key``."""
        for c in self.citations:
            if c.key == key:
                return c
        raise KeyError(f"study {self.id!r} has no citation {key!r}")

    def sample_value(self, name: str) -> float | int | None:
        """Value of the study-level quantity ``name`` (``None`` if missing; KeyError if absent)."""
        for k, v in self.sample:
            if k == name:
                return v.value
        raise KeyError(f"study {self.id!r} has no sample quantity {name!r}")

    def __repr__(self) -> str:
        return f"Study({self.id!r}, kind={self.kind}, results={len(self.results)})"


# --------------------------------------------------------------------------- validation
class _Ctx:
    """Names the place of an error: file, study, field."""

    def __init__(self, file: Path, study: str | None = None) -> None:
        self.file = file
        self.study = study

    def fail(self, field: str, value: Any, allowed: str) -> ValueError:
        study = f"study {short_repr(self.study, 80)}" if self.study else "study (unknown id)"
        return ValueError(
            f"{clip(self.file.name, 120)}: {study}, field {clip(field)!r}: bad value {short_repr(value)}; "
            f"{clip(allowed, 400)}."
        )


def _keys(ctx: _Ctx, field: str, mapping: Any, required: tuple[str, ...],
          optional: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        raise ctx.fail(field, mapping, "expected a mapping (key: value pairs)")
    for k in required:
        if k not in mapping:
            raise ctx.fail(
                f"{field}.{k}" if field else k, None,
                f"the required field {k!r} is missing (required: {', '.join(required)})",
            )
    allowed = required + optional
    for k in mapping:
        if k not in allowed:
            raise ctx.fail(
                f"{field}.{k}" if field else str(k), mapping[k],
                f"unknown key {k!r} (a typo?); allowed keys are {', '.join(allowed)}",
            )
    return mapping


def _text(ctx: _Ctx, field: str, value: Any, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(field, value, "expected non-empty text")
    return value


def _is_number(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    return isinstance(x, int) or isinstance(x, float) and math.isfinite(x)


def _quantity(ctx: _Ctx, field: str, raw: Any, citation_keys: set[str], *,
              kind: str) -> Quantity:
    m = _keys(ctx, field, raw, ("value", "status"), tuple(k for k in _QUANTITY_KEYS
                                                          if k not in ("value", "status")))
    status = m["status"]
    if status not in STATUSES:
        raise ctx.fail(f"{field}.status", status, f"allowed status words are {', '.join(STATUSES)}")
    value = m["value"]
    note = _text(ctx, f"{field}.note", m.get("note"), optional=True)
    method = _text(ctx, f"{field}.method", m.get("method"), optional=True)
    source = m.get("source")
    seen_in = m.get("seen_in")
    if status == "missing":
        if value is not None:
            raise ctx.fail(f"{field}.value", value,
                           "a 'missing' number must have value null (never a guess)")
        if note is None:
            raise ctx.fail(f"{field}.note", None,
                           "a 'missing' number needs a note saying what was looked for")
    else:
        if value is None:
            raise ctx.fail(f"{field}.value", value,
                           f"a {status!r} number needs a value; use status 'missing' for a gap")
        if kind == "count":
            if not isinstance(value, int) or isinstance(value, bool):
                raise ctx.fail(f"{field}.value", value, "a count must be a whole number")
            if value < 0:
                raise ctx.fail(f"{field}.value", value, "a count must be >= 0")
        else:
            if not _is_number(value):
                raise ctx.fail(f"{field}.value", value, "expected a finite number")
            if kind == "sample" and value < 0:
                raise ctx.fail(f"{field}.value", value, "a sample number must be >= 0")
            if kind == "pct" and not 0 <= value <= 100:
                raise ctx.fail(f"{field}.value", value, "a percentage must be between 0 and 100")
    if status == "reconstructed" and method is None:
        raise ctx.fail(f"{field}.method", None,
                       "a 'reconstructed' number needs a method saying how it was derived")
    if status == "reported":
        if source is None:
            raise ctx.fail(f"{field}.source", None,
                           "a 'reported' number needs a source (a citation key of this study)")
        if seen_in is None:
            raise ctx.fail(f"{field}.seen_in", None,
                           f"a 'reported' number needs seen_in, one of {', '.join(SEEN_IN)}")
        if m.get("seen_at") is None:
            raise ctx.fail(f"{field}.seen_at", None,
                           "a 'reported' number needs seen_at with a url or file")
    if source is not None and (not isinstance(source, str) or source not in citation_keys):
        raise ctx.fail(f"{field}.source", source,
                       f"source must be a citation key of this study: {', '.join(sorted(citation_keys))}")
    if seen_in is not None and seen_in not in SEEN_IN:
        raise ctx.fail(f"{field}.seen_in", seen_in, f"allowed are {', '.join(SEEN_IN)}")
    seen_at: tuple[tuple[str, str], ...] = ()
    if m.get("seen_at") is not None:
        sa = _keys(ctx, f"{field}.seen_at", m["seen_at"], (), _SEEN_AT_KEYS)
        if "url" not in sa and "file" not in sa:
            raise ctx.fail(f"{field}.seen_at", sa, "seen_at needs a url or a file")
        for k, v in sa.items():
            if not isinstance(v, (str, int)) or isinstance(v, bool):
                raise ctx.fail(f"{field}.seen_at.{k}", v, "expected text or a page number")
        seen_at = tuple((k, str(v)) for k, v in sa.items())
    return Quantity(value=value, status=status, source=source, seen_in=seen_in,
                    seen_at=seen_at, method=method, note=note,
                    quote=_text(ctx, f"{field}.quote", m.get("quote"), optional=True))


def _kind_of(field: str) -> str:
    if field in _COUNT_FIELDS:
        return "count"
    if field in _PCT_FIELDS:
        return "pct"
    return "number"


def _result_id(ctx: _Ctx, field: str, rid: Any, study_id: str) -> str:
    if not isinstance(rid, str) or not _RESULT_ID_RE.match(rid) or not rid.startswith(study_id + "."):
        raise ctx.fail(f"{field}.id", rid,
                       f"a result id is '<study id>.<name>' in lower case, e.g. '{study_id}.outcome'")
    return rid


def _result_header(ctx: _Ctx, field: str, m: dict[str, Any], citation_keys: set[str]) -> float:
    """Check the descriptive fields of a result (texts, measure, adjustment, citation); return its CI level."""
    for k in ("exposure", "outcome", "comparison"):
        _text(ctx, f"{field}.{k}", m[k])
    if m["measure"] not in MEASURES:
        raise ctx.fail(f"{field}.measure", m["measure"], f"allowed are {', '.join(MEASURES)}")
    if m["adjusted"] is not None and not isinstance(m["adjusted"], bool):
        raise ctx.fail(f"{field}.adjusted", m["adjusted"],
                       "expected true, false, or null (not known; then a note is required)")
    if m["adjusted"] is None and m.get("note") is None:
        raise ctx.fail(f"{field}.note", None,
                       "adjusted is null (not known): a note must say what is known")
    cov = m["covariates"]
    if not isinstance(cov, list) or not all(isinstance(c, str) and c.strip() for c in cov):
        raise ctx.fail(f"{field}.covariates", cov, "expected a list of covariate names (may be [])")
    if m["adjusted"] and not cov:
        raise ctx.fail(f"{field}.covariates", cov, "an adjusted result must list its covariates")
    if not isinstance(m["citation"], str) or m["citation"] not in citation_keys:
        raise ctx.fail(f"{field}.citation", m["citation"],
                       f"must be a citation key of this study: {', '.join(sorted(citation_keys))}")
    reported_alpha = m.get("reported_alpha", 0.05)
    if not _is_number(reported_alpha) or not 0 < reported_alpha < 1:
        raise ctx.fail(f"{field}.reported_alpha", reported_alpha,
                       "expected 1 - the level of the reported intervals, strictly between 0 and 1, e.g. 0.05 "
                       "for a 95% interval")
    return float(reported_alpha)


def _result_quantities(ctx: _Ctx, field: str, m: dict[str, Any], citation_keys: set[str],
                       finding: str | None) -> dict[str, Quantity]:
    """The result's numbers: all nine for a quantitative result; the finding's provenance for a qualitative one."""
    if m["measure"] == "qualitative":
        if finding is None:
            raise ctx.fail(f"{field}.finding", None, "a qualitative result needs a 'finding' text")
        # the finding itself is a reported statement: it needs its provenance
        _quantity(ctx, field, {"value": 0, "status": "reported",
                               **{k: m[k] for k in ("source", "seen_in", "seen_at") if k in m}},
                  citation_keys, kind="number")
    else:
        for q in QUANTITY_FIELDS:
            if q not in m:
                raise ctx.fail(
                    f"{field}.{q}", None,
                    f"the required field {q!r} is missing; a quantitative result records all of "
                    f"{', '.join(QUANTITY_FIELDS)} (status 'missing' with a note when not given)",
                )
    return {q: _quantity(ctx, f"{field}.{q}", m[q], citation_keys, kind=_kind_of(q))
            for q in QUANTITY_FIELDS if q in m}


def _value(quantities: dict[str, Quantity], name: str) -> Any:
    q = quantities.get(name)
    return q.value if q is not None else None


def _check_counts(ctx: _Ctx, field: str, quantities: dict[str, Quantity]) -> None:
    for ev, n in (("events_exposed", "n_exposed"), ("events_unexposed", "n_unexposed")):
        e_v, n_v = _value(quantities, ev), _value(quantities, n)
        if n_v is not None and n_v == 0:
            raise ctx.fail(f"{field}.{n}.value", n_v, "a group must have at least one member")
        if e_v is not None and n_v is not None and e_v > n_v:
            raise ctx.fail(f"{field}.{ev}.value", e_v,
                           f"events cannot exceed the group size {n}={n_v}")


def _check_effect(ctx: _Ctx, field: str, measure: str, quantities: dict[str, Quantity]) -> None:
    est_v, lo_v, hi_v = (_value(quantities, k) for k in _EFFECT_FIELDS)
    for name, v in zip(_EFFECT_FIELDS, (est_v, lo_v, hi_v), strict=True):
        if v is None:
            continue
        if measure in ("odds_ratio", "risk_ratio") and v <= 0:
            raise ctx.fail(f"{field}.{name}.value", v, f"an {measure.replace('_', ' ')} must be > 0")
        if measure == "proportions":
            raise ctx.fail(f"{field}.{name}.value", v,
                           "a 'proportions' result has no effect estimate; record it as missing "
                           "or use measure odds_ratio/risk_ratio")
    if lo_v is not None and hi_v is not None and lo_v > hi_v:
        raise ctx.fail(f"{field}.ci_low.value", lo_v, f"the lower limit exceeds the upper limit {hi_v}")
    if est_v is not None and lo_v is not None and hi_v is not None and not lo_v <= est_v <= hi_v:
        raise ctx.fail(f"{field}.estimate.value", est_v,
                       f"the estimate must lie inside its interval [{lo_v}, {hi_v}]")


def _pool_reason(ctx: _Ctx, field: str, m: dict[str, Any], quantities: dict[str, Quantity]) -> str | None:
    """``pool_reason``: this result is the study's one pooled candidate effect size, and why."""
    reason = _text(ctx, f"{field}.pool_reason", m.get("pool_reason"), optional=True)
    if reason is not None and (m["measure"] != "odds_ratio"
                               or any(_value(quantities, k) is None for k in _EFFECT_FIELDS)):
        raise ctx.fail(f"{field}.pool_reason", reason,
                       "only an odds ratio with an estimate and both interval limits is a candidate "
                       "effect size that can be pooled")
    return reason


def _result(ctx: _Ctx, field: str, raw: Any, study_id: str,
            citation_keys: set[str]) -> Result:
    m = _keys(ctx, field, raw, _RESULT_KEYS_REQUIRED, _RESULT_KEYS_OPTIONAL)
    rid = _result_id(ctx, field, m["id"], study_id)
    field = f"{field} ({rid})"
    reported_alpha = _result_header(ctx, field, m, citation_keys)
    finding = _text(ctx, f"{field}.finding", m.get("finding"), optional=True)
    quote = _text(ctx, f"{field}.quote", m.get("quote"), optional=True)
    note = _text(ctx, f"{field}.note", m.get("note"), optional=True)
    quantities = _result_quantities(ctx, field, m, citation_keys, finding)
    _check_counts(ctx, field, quantities)
    _check_effect(ctx, field, m["measure"], quantities)
    return Result(
        id=rid, study=study_id, exposure=m["exposure"], outcome=m["outcome"],
        comparison=m["comparison"], measure=m["measure"], adjusted=m["adjusted"],
        covariates=tuple(m["covariates"]), citation=m["citation"],
        quantities=tuple((q, quantities[q]) for q in QUANTITY_FIELDS if q in quantities),
        reported_alpha=reported_alpha, finding=finding, quote=quote, note=note,
        source=m.get("source"), seen_in=m.get("seen_in"),
        seen_at=tuple((k, str(v)) for k, v in (m.get("seen_at") or {}).items()),
        pool_reason=_pool_reason(ctx, field, m, quantities),
    )


def parse_study_file(path: str | Path) -> Study:
    """Read and validate one study file; raise ValueError naming file, study and field.

    Examples
    --------
    >>> s = parse_study_file(STUDIES_DIR / "cambridge.yaml")
    >>> s.id
    'cambridge'
    """
    return _parse_study(Path(path), None)


def _parse_study(path: Path, data: bytes | None) -> Study:
    raw = read_yaml(path, label="study", data=data)
    ctx = _Ctx(path)
    if not isinstance(raw, dict):
        raise ctx.fail("(file)", raw, "a study file must be a mapping with keys "
                       + ", ".join(_STUDY_KEYS_REQUIRED))
    sid = raw.get("id")
    if isinstance(sid, str):
        ctx.study = sid
    _keys(ctx, "", raw, _STUDY_KEYS_REQUIRED, _STUDY_KEYS_OPTIONAL)
    if not isinstance(sid, str) or not _ID_RE.match(sid):
        raise ctx.fail("id", sid, "a study id is lower-case letters, digits and '_', at most 64 characters")
    for k in ("name", "country", "design"):
        _text(ctx, k, raw[k])
    if raw["kind"] not in KINDS:
        raise ctx.fail("kind", raw["kind"], f"allowed are {', '.join(KINDS)}")
    notes = _text(ctx, "notes", raw.get("notes"), optional=True)
    citations = _citations(ctx, raw["citations"])
    keys = {c.key for c in citations}
    return Study(id=sid, name=raw["name"], kind=raw["kind"], country=raw["country"],
                 design=raw["design"], citations=citations, sample=_sample(ctx, raw.get("sample"), keys),
                 results=_results(ctx, raw["results"], sid, keys), file=path.name, notes=notes)


def _citations(ctx: _Ctx, cits_raw: Any) -> tuple[Citation, ...]:
    if not isinstance(cits_raw, list) or not cits_raw:
        raise ctx.fail("citations", cits_raw, "expected a non-empty list of citations")
    citations: list[Citation] = []
    for i, c in enumerate(cits_raw):
        cm = _keys(ctx, f"citations[{i}]", c, _CITATION_KEYS_REQUIRED, _CITATION_KEYS_OPTIONAL)
        if not isinstance(cm["key"], str) or not _ID_RE.match(cm["key"]):
            raise ctx.fail(f"citations[{i}].key", cm["key"],
                           "a citation key is lower-case letters, digits and '_', at most 64 characters")
        if cm["key"] in {x.key for x in citations}:
            raise ctx.fail(f"citations[{i}].key", cm["key"], "duplicate citation key; keys must be unique")
        _text(ctx, f"citations[{i}].text", cm["text"])
        for k in _CITATION_KEYS_OPTIONAL:
            _text(ctx, f"citations[{i}].{k}", cm.get(k), optional=True)
        citations.append(Citation(**cm))
    return tuple(citations)


def _sample(ctx: _Ctx, sample_raw: Any, keys: set[str]) -> tuple[tuple[str, Quantity], ...]:
    sample_raw = sample_raw or {}
    if not isinstance(sample_raw, dict):
        raise ctx.fail("sample", sample_raw, "expected a mapping of named quantities")
    sample = []
    for name, q in sample_raw.items():
        if not isinstance(name, str) or not _ID_RE.match(name):
            raise ctx.fail(f"sample.{name}", name,
                           "names are lower-case letters, digits and '_', at most 64 characters")
        sample.append((name, _quantity(ctx, f"sample.{name}", q, keys, kind="sample")))
    return tuple(sample)


def _results(ctx: _Ctx, res_raw: Any, sid: str, keys: set[str]) -> tuple[Result, ...]:
    if not isinstance(res_raw, list) or not res_raw:
        raise ctx.fail("results", res_raw, "expected a non-empty list of results")
    results: list[Result] = []
    for i, r in enumerate(res_raw):
        res = _result(ctx, f"results[{i}]", r, sid, keys)
        if res.id in {x.id for x in results}:
            raise ctx.fail(f"results[{i}].id", res.id, "duplicate result id; ids must be unique")
        pooled = [x.id for x in results if x.pool_reason is not None]
        if res.pool_reason is not None and pooled:
            raise ctx.fail(f"results[{i}] ({res.id}).pool_reason", res.pool_reason,
                           f"only one result per study is pooled, and {pooled[0]} already has a pool_reason")
        results.append(res)
    return tuple(results)


def _study_files(path: Path) -> list[Path]:
    if not path.is_dir():
        raise ValueError(f"studies={str(path)!r} is not a folder; pass the folder that holds the study "
                         f"files (*.yaml), or nothing for the study files shipped with the package.")
    found = sorted(path.glob("*.yaml"))
    if not found:
        raise ValueError(f"studies={str(path)!r} holds no study files (*.yaml); pass the folder that "
                         f"holds them, or nothing for the study files shipped with the package.")
    return found


def _registry(contents: tuple[tuple[Path, bytes], ...]) -> tuple[Study, ...]:
    studies: list[Study] = []
    seen_results: dict[str, str] = {}
    seen_ids: dict[str, str] = {}
    for f, data in contents:
        s = _parse_study(f, data)
        if s.id in seen_ids:
            raise ValueError(f"{f.name}: study {s.id!r}, field 'id': bad value {s.id!r}; "
                             f"duplicate study id, already used in {seen_ids[s.id]}.")
        seen_ids[s.id] = f.name
        for r in s.results:
            if r.id in seen_results:
                raise ValueError(f"{f.name}: study {s.id!r}, field 'results.id': bad value {r.id!r}; "
                                 f"duplicate result id, already used in {seen_results[r.id]}.")
            seen_results[r.id] = f.name
        studies.append(s)
    return tuple(studies)


@lru_cache(maxsize=8)
def _cached_registry(contents: tuple[tuple[str, bytes], ...]) -> tuple[Study, ...]:
    # keyed on the files' names and content (not their mtime): any edit is seen
    return _registry(tuple((Path(name), data) for name, data in contents))


def load_registry(path: str | Path | None = None) -> tuple[Study, ...]:
    """All studies in ``path`` (default :data:`STUDIES_DIR`), validated, as frozen records.

    The files are read on every call; the parsed registry is cached on the files'
    names and content, so any edit is seen whatever the files' modification times.
    Duplicate study or result ids across files raise ValueError naming both files.
    """
    p = Path(path) if path is not None else STUDIES_DIR
    contents = tuple((f.name, read_bytes(f, label="study")) for f in _study_files(p))
    return _cached_registry(contents)


def load_study(study_id: str, path: str | Path | None = None) -> Study:
    """The study ``study_id`` as a frozen :class:`Study` record.

    Examples
    --------
    >>> s = load_study("cambridge")
    >>> s.result("cambridge.conviction_19_32").value("n_exposed")
    23
    """
    studies = load_registry(path)
    for s in studies:
        if s.id == study_id:
            return s
    raise ValueError(f"study_id={study_id!r} is not in the registry; known are "
                     f"{', '.join(s.id for s in studies)}.")


def find_result(result_id: str, path: str | Path | None = None) -> Result:
    """The result ``result_id`` (``'<study>.<name>'``) from the registry."""
    study = load_study(result_id.split(".", 1)[0], path)
    return study.result(result_id)


def load_studies(path: str | Path | None = None) -> pd.DataFrame:
    """All results as a tidy DataFrame: one row per result, columns :data:`RESULT_COLUMNS`.

    Each of the nine numbers has three columns: the value (NaN when missing or
    not applicable), ``<name>_status`` and ``<name>_seen_in``.

    Examples
    --------
    >>> df = load_studies()
    >>> float(df.set_index("result").loc["cambridge.conviction_19_32", "estimate"])
    7.0
    """
    rows = []
    for s in load_registry(path):
        for r in s.results:
            row: dict[str, Any] = {
                "study": s.id, "result": r.id, "kind": s.kind, "measure": r.measure,
                "exposure": r.exposure, "outcome": r.outcome, "comparison": r.comparison,
                "adjusted": r.adjusted, "covariates": "; ".join(r.covariates),
                "citation": s.citation(r.citation).text, "reported_alpha": r.reported_alpha,
            }
            qs = dict(r.quantities)
            for q in QUANTITY_FIELDS:
                qv = qs.get(q)
                row[q] = float(qv.value) if qv is not None and qv.value is not None else math.nan
                row[f"{q}_status"] = qv.status if qv is not None else None
                row[f"{q}_seen_in"] = qv.seen_in if qv is not None else None
            row["finding"] = r.finding
            row["file"] = s.file
            rows.append(row)
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


def provenance_frame(path: str | Path | None = None) -> pd.DataFrame:
    """Every number of the registry with its provenance: one row per number.

    Columns: study, result (empty for study-level sample numbers), field, value,
    status, seen_in, source, seen_at, method, note.
    """
    rows = []
    for s in load_registry(path):
        items = [("", name, q) for name, q in s.sample]
        items += [(r.id, name, q) for r in s.results for name, q in r.quantities]
        for rid, name, q in items:
            rows.append({
                "study": s.id, "result": rid, "field": name, "value": q.value,
                "status": q.status, "seen_in": q.seen_in,
                "source": s.citation(q.source).text if q.source else None,
                "seen_at": q.where, "method": q.method, "note": q.note,
            })
    return pd.DataFrame(rows, columns=["study", "result", "field", "value", "status", "seen_in",
                                       "source", "seen_at", "method", "note"])


# --------------------------------------------------------------------------- candidate effect sizes
def one_per_study(studies: str | Path | None = None) -> dict[str, tuple[str, str]]:
    """The result pooled for each study that records a choice, and why: ``{study: (result, reason)}``.

    The choice is data: the ``pool_reason`` field of the chosen result in the
    study file (at most one per study, on an odds ratio with its interval).  A
    study with a single candidate needs none; a study with several and none
    contributes its first unadjusted candidate (and the report says so).

    Examples
    --------
    >>> one_per_study()["mater_university"][0]
    'mater_university.kinner_externalising'
    """
    return {r.study: (r.id, r.pool_reason) for s in load_registry(studies) for r in s.results
            if r.pool_reason is not None}


#: What every toolkit figure and table says about its inputs.
CANDIDATES_CAVEAT = ("Candidate effect sizes - not the review's inputs: the odds ratios behind the "
                     "review's 'average odds ratio 3.4' were not found in any source read.")

#: Columns of :func:`candidate_effect_sizes`.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    "result", "study", "country", "label", "estimate", "ci_low", "ci_high", "adjusted",
    "exposure", "outcome", "estimate_status", "estimate_seen_in", "yi", "vi", "se",
    "se_consistent", "pooled", "choice",
)


def _short_label(result_id: str, adjusted: object) -> str:
    study, rest = result_id.split(".", 1)
    text = f"{study.replace('_', ' ').title()}: {rest.replace('_', ' ')}"
    return text + (" (adjusted)" if adjusted is True else "")


def candidate_effect_sizes(studies: str | Path | None = None) -> pd.DataFrame:
    """The registry's odds ratios that have a confidence interval, on the log scale, one pooled per study.

    Each reported OR and interval becomes ``yi = ln(OR)`` and ``vi = se**2``
    with ``se`` from :func:`evidence.published.se_from_ci` (Wald interval on the
    log scale at the result's level ``1 - reported_alpha``; a
    :class:`~evidence.exceptions.DataWarning` is issued when the OR is not at
    the interval's log midpoint, and ``se_consistent`` is False).  ``pooled``
    marks one result per study: the one with a ``pool_reason`` (:func:`one_per_study`), else
    the study's only candidate, else its first candidate not recorded as
    adjusted (``adjusted`` false or null), else its first candidate; ``choice``
    says which rule applied.  These are candidate effect sizes, not the
    review's inputs (:data:`CANDIDATES_CAVEAT`).

    Parameters
    ----------
    studies : path, optional
        Study registry folder (default :data:`STUDIES_DIR`).

    Returns
    -------
    pandas.DataFrame
        One row per candidate, columns :data:`CANDIDATE_COLUMNS`, in registry order.

    Examples
    --------
    >>> c = candidate_effect_sizes()
    >>> c.loc[c["pooled"], "study"].is_unique
    True
    """
    df = load_studies(studies)
    has_ci = df[["estimate", "ci_low", "ci_high"]].notna().all(axis=1)
    rows = df[(df["measure"] == "odds_ratio") & has_ci].reset_index(drop=True)
    country = {s.id: s.country for s in load_registry(studies)}
    records: list[dict[Any, Any]] = rows.to_dict("records")
    fits = [se_from_ci(float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"]),
                       alpha=float(r["reported_alpha"])) for r in records]
    out = rows.assign(
        country=rows["study"].map(country),
        label=[_short_label(str(r["result"]), r["adjusted"]) for r in records],
        yi=[f.log_estimate for f in fits],
        se=[f.se for f in fits],
        se_consistent=[f.consistent for f in fits],
    )
    out["vi"] = out["se"] ** 2
    pooled, choice = _pooled_choice(out, one_per_study(studies))
    out["pooled"] = pooled
    out["choice"] = choice
    return out[list(CANDIDATE_COLUMNS)]


def _pooled_choice(out: pd.DataFrame, recorded: dict[str, tuple[str, str]]) -> tuple[list[bool], list[str]]:
    """Per candidate: pooled or not, and why (the study's pool_reason, its only candidate, or its first)."""
    pooled, choice = [], []
    for rid, study in zip(out["result"], out["study"], strict=True):
        same = out[out["study"] == study]
        if study in recorded:
            chosen, why = recorded[study]
        elif len(same) == 1:
            chosen, why = rid, "the study's only odds ratio with an interval"
        else:
            unadj = same[same["adjusted"] != True]  # noqa: E712 - None means 'not stated'
            chosen = (unadj if len(unadj) else same)["result"].iloc[0]
            why = (f"first {'unadjusted ' if len(unadj) else ''}candidate in the study file "
                   f"(no result of the study has a pool_reason)")
        pooled.append(rid == chosen)
        choice.append(why if rid == chosen else f"same study as {chosen}: not pooled")
    return pooled, choice
