"""The findings ledger: every quantitative claim, rechecked from the study registry.

The ledger (``studies/claims/NN-*.yaml``) lists each claim with an exact quote
from its source document, the numbers it prints and their printed precision,
the named check that recomputes it, the registry results the check uses, and
the verdict the check is expected to reach.  :func:`check_findings` runs every
check and returns frozen :class:`Finding` results; the verdict is always
*computed* from the registry, never copied from the ledger.  Beside the
ledger: ``scopes.yaml`` (structured scopes of registry results),
``links.yaml`` (claims of different documents stating the same quantity,
compared by :func:`check_links`) and ``exclusions.yaml`` (numbers of the
documents that are not claims, each with its reason; see
:mod:`evidence.review.documents`).

Verdicts (:data:`VERDICTS`, defined in plain words in :data:`VERDICT_DEFINITIONS`)
-----------------------------------------------------------------------------------
Effect claims (what parental imprisonment does, or how two groups differ):
``"reproduced"``, ``"consistent within rounding"``, ``"misattributed"``
(the figure exists, for a different population, outcome, measure or time
span: the finding names which), ``"contradicted"`` (with the correct figure
and any condition it rests on) and ``"not reproducible from public data"``
(naming the missing inputs).  Descriptive figures (counts, shares, sample
sizes): ``"traced"`` or ``"untraced"``.

Misattribution is decided from structured scopes, never by comparing
wordings: a claim's ``scope`` and the scope of the registry result
(``studies/claims/scopes.yaml``) name a population, an exposure, exposure
ages, an outcome, outcome ages, a measure and a time span from the controlled
vocabularies :data:`POPULATIONS`, :data:`EXPOSURES`, :data:`OUTCOMES` and
:data:`MEASURES_STATED`; a field the claim leaves out is not compared.

Tolerances follow the printed precision: a number printed with ``d`` decimals
is matched within half a unit in its last place, ``0.5 * 10**-d`` (plus
:data:`ROUNDING_SLACK` for binary floating point).

References
----------
.. [1] Woolf B (1955). On estimating the relation between blood group and
   disease. Ann Hum Genet 19:251-253 (log odds ratio and its SE).
.. [2] Zhang J, Yu KF (1998). What's the relative risk? JAMA 280:1690-1691
   (risk ratio from an odds ratio and the baseline risk).
.. [3] Altman DG, Bland JM (2003). Interaction revisited: the difference
   between two estimates. BMJ 326:219 (z test of two log odds ratios).
.. [4] Brown NJL, Heathers JAJ (2017). The GRIM test. Soc Psychol Personal
   Sci 8:363-369 (is a percentage attainable with a given group size).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from scipy import stats

from evidence._validation import short_repr
from evidence.compare import compare_odds_ratios
from evidence.effect_sizes import odds_ratio
from evidence.published import counts_from_percentages, odds_from_risk, or_to_rr, se_from_ci
from evidence.review import documents
from evidence.review import registry as reg
from evidence.review.documents import source_text
from evidence.review.yamlfile import read_yaml

__all__ = [
    "VERDICTS",
    "VERDICT_DEFINITIONS",
    "QUANTITY_WORDS",
    "EFFECT_VERDICTS",
    "DESCRIPTIVE_VERDICTS",
    "DESCRIPTIVE_CHECKS",
    "REPRODUCIBLE",
    "POPULATIONS",
    "EXPOSURES",
    "OUTCOMES",
    "MEASURES_STATED",
    "Scope",
    "compare_scopes",
    "load_result_scopes",
    "CrossDocument",
    "check_links",
    "CLAIMS_DIR",
    "SOURCES_DIR",
    "ROUNDING_SLACK",
    "SIGNIFICANCE_LEVEL",
    "Claim",
    "Finding",
    "CHECKS",
    "load_claims",
    "check_findings",
    "normalise_whitespace",
    "source_text",
]

REPRODUCED = "reproduced"
CONSISTENT = "consistent within rounding"
MISATTRIBUTED = "misattributed"
CONTRADICTED = "contradicted"
NOT_REPRODUCIBLE = "not reproducible from public data"
TRACED = "traced"
UNTRACED = "untraced"
#: The verdict words, in the order the report shows them.
VERDICTS: tuple[str, ...] = (REPRODUCED, CONSISTENT, MISATTRIBUTED, CONTRADICTED, NOT_REPRODUCIBLE,
                             TRACED, UNTRACED)
#: One plain-language sentence per verdict (shown in the report and notebook 06).
VERDICT_DEFINITIONS: dict[str, str] = {
    REPRODUCED: "Recomputed from the study data the registry holds, the claim comes out as printed "
                "(for a statement of direction only, the direction comes out the same).",
    CONSISTENT: "The printed figures can be obtained from whole-number counts that round to them, but "
                "the counts were not found in the sources read, so the match is possible, not proven.",
    MISATTRIBUTED: "The figure exists in the research, but for a different population, outcome, measure "
                   "or time span than the sentence gives it; the finding names which.",
    CONTRADICTED: "The data give a different figure; the finding states the correct figure and any "
                  "condition the verdict rests on.",
    NOT_REPRODUCIBLE: "An effect claim that cannot be checked because some inputs were not found in the "
                      "sources read; the finding names them.",
    TRACED: "A descriptive figure (a count, a share, a sample size) that was found in a source read "
            "other than the document printing it.",
    UNTRACED: "A descriptive figure whose origin was not found in the sources read: it may be right, "
              "but it could not be checked here.",
}
#: Verdicts of effect claims and of descriptive figures.
EFFECT_VERDICTS: tuple[str, ...] = (REPRODUCED, CONSISTENT, MISATTRIBUTED, CONTRADICTED, NOT_REPRODUCIBLE)
DESCRIPTIVE_VERDICTS: tuple[str, ...] = (TRACED, UNTRACED)
#: Verdicts that count as "the finding holds up" (a regression away from them makes the CLI fail).
REPRODUCIBLE: tuple[str, ...] = (REPRODUCED, CONSISTENT, TRACED)
#: Checks of descriptive figures (their verdicts are traced / untraced, or contradicted by arithmetic).
DESCRIPTIVE_CHECKS: tuple[str, ...] = ("sample_sizes", "descriptive_figure", "no_registry_data")

#: The registry's quantity fields in words.
QUANTITY_WORDS: dict[str, str] = {
    "n_exposed": "size of the exposed group", "n_unexposed": "size of the comparison group",
    "events_exposed": "number with the outcome in the exposed group",
    "events_unexposed": "number with the outcome in the comparison group",
    "pct_exposed": "percentage with the outcome in the exposed group",
    "pct_unexposed": "percentage with the outcome in the comparison group",
    "estimate": "effect estimate", "ci_low": "lower confidence limit", "ci_high": "upper confidence limit",
}

#: Controlled vocabularies of a scope: code -> plain words.
POPULATIONS: dict[str, str] = {
    "boys": "boys", "children": "children", "prisoners": "prisoners", "offenders": "offenders",
}
EXPOSURES: dict[str, str] = {
    "parent_imprisoned": "a parent in prison",
    "father_imprisoned": "a father in prison",
    "mother_imprisoned": "a mother in prison",
    "separated_by_parental_imprisonment": "separated from a parent because of the parent's imprisonment",
    "parent_arrested": "a parent or parent figure ever arrested (not necessarily imprisoned)",
    "visits": "visits from family while in custody",
    "no_visits": "no visits while in custody",
}
#: Exposures that are each other's complement (a direction for one is the opposite for the other).
COMPLEMENTS: dict[str, str] = {"visits": "no_visits", "no_visits": "visits"}
OUTCOMES: dict[str, str] = {
    "offending": "offending (any offence, any age)",
    "conviction": "a criminal conviction (official records)",
    "reoffending": "reoffending",
    "economic_strain": "economic strain",
}
MEASURES_STATED: dict[str, str] = {
    "percentage": "a percentage of a group",
    "odds_ratio": "an odds ratio (odds, not risk)",
    "risk_ratio": "a risk ratio ('times as likely', '% more/less likely')",
    "direction": "a direction only ('more likely', 'less likely')",
}
#: The dimensions a misattribution is reported in, and the scope fields each groups.
SCOPE_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "population": ("population", "exposure", "exposure_ages"),
    "outcome": ("outcome", "outcome_ages"),
    "measure": ("measure",),
    "time span": ("time_span",),
}

#: Slack added to half-unit rounding tolerances for binary floating point.
ROUNDING_SLACK: float = 1e-9
#: Level at which a printed "significant" / "not significantly different" is tested.
SIGNIFICANCE_LEVEL: float = 0.05

#: Default ledger folder.
CLAIMS_DIR: Path = reg.STUDIES_DIR / "claims"
#: The project's source documents (copies kept with the study files).
SOURCES_DIR: Path = reg.STUDIES_DIR / "sources"

_CLAIM_KEYS_REQUIRED = ("id", "quote", "claim", "reported", "check", "uses", "expected")
_CLAIM_KEYS_OPTIONAL = (
    "document", "reported_values", "decimals", "tolerance", "scope", "traces_to", "traced_in", "missing",
    "note",
)
#: File of the cross-document links (claims in different documents stating the same quantity).
LINKS_FILE: Path = CLAIMS_DIR / "links.yaml"
#: File of the structured scopes of registry results (kept with the ledger).
SCOPES_FILE: Path = CLAIMS_DIR / "scopes.yaml"
_SCOPE_KEYS = ("population", "exposure", "exposure_ages", "outcome", "outcome_ages", "measure", "time_span",
               "direction")


def normalise_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return re.sub(r"\s+", " ", text).strip()


def _line_of(document: str, quote: str) -> int | None:
    """1-based line where the (whitespace-normalised) quote starts in the document."""
    span = documents.quote_span(document, quote)
    if span is None:
        return None
    return source_text(document).count("\n", 0, span[0]) + 1


# --------------------------------------------------------------------------- scopes
@dataclass(frozen=True, slots=True)
class Scope:
    """What a figure is about, in controlled terms: who (population, exposure and the ages at
    exposure), what (outcome and the ages at outcome), which measure(s), over which time span,
    and for a statement of direction, which way (``"higher"`` / ``"lower"`` for the exposed).

    A field left ``None`` is not stated and is not compared.
    """

    population: str | None = None
    exposure: str | None = None
    exposure_ages: tuple[float, float] | None = None
    outcome: str | None = None
    outcome_ages: tuple[float, float] | None = None
    measure: tuple[str, ...] = ()
    time_span: str | None = None
    direction: str | None = None

    def label(self, name: str) -> str:
        """Plain words for the scope field ``name`` (or 'not stated')."""
        v = getattr(self, name)
        if v is None or v == ():
            return "not stated"
        if name == "population":
            return POPULATIONS[v]
        if name == "exposure":
            return EXPOSURES[v]
        if name == "outcome":
            return OUTCOMES[v]
        if name == "measure":
            return " or ".join(MEASURES_STATED[m] for m in v)
        if name.endswith("_ages"):
            return f"ages {v[0]:g} to {v[1]:g}"
        return str(v)

    def describe(self, fields: tuple[str, ...]) -> str:
        """The stated fields among ``fields`` in words."""
        return "; ".join(self.label(f) for f in fields if getattr(self, f) not in (None, ()))


def _parse_scope(where: str, raw: Any) -> Scope:
    if not isinstance(raw, dict) or not set(raw) <= set(_SCOPE_KEYS):
        raise ValueError(f"{where}: field 'scope': bad value {raw!r}; a mapping with keys among "
                         + ", ".join(_SCOPE_KEYS) + ".")
    for k, vocab in (("population", POPULATIONS), ("exposure", EXPOSURES), ("outcome", OUTCOMES)):
        if raw.get(k) is not None and raw[k] not in vocab:
            raise ValueError(f"{where}: field 'scope.{k}': bad value {raw[k]!r}; allowed are "
                             + ", ".join(vocab) + ".")
    measure = raw.get("measure") or []
    measure = [measure] if isinstance(measure, str) else measure
    for m in measure:
        if m not in MEASURES_STATED:
            raise ValueError(f"{where}: field 'scope.measure': bad value {m!r}; allowed are "
                             + ", ".join(MEASURES_STATED) + ".")
    ages = {}
    for k in ("exposure_ages", "outcome_ages"):
        v = raw.get(k)
        if v is not None and not (isinstance(v, list) and len(v) == 2 and v[0] <= v[1]):
            raise ValueError(f"{where}: field 'scope.{k}': bad value {v!r}; expected [from, to].")
        ages[k] = None if v is None else (float(v[0]), float(v[1]))
    if raw.get("direction") not in (None, "higher", "lower"):
        raise ValueError(f"{where}: field 'scope.direction': bad value {raw['direction']!r}; "
                         "allowed are higher, lower.")
    return Scope(population=raw.get("population"), exposure=raw.get("exposure"), outcome=raw.get("outcome"),
                 measure=tuple(measure), time_span=raw.get("time_span"), direction=raw.get("direction"),
                 **ages)


def compare_scopes(claimed: Scope, data: Scope) -> tuple[tuple[str, str, str], ...]:
    """Where a claim's scope differs from the data's: (dimension, claimed, data) per dimension.

    Dimensions are those of :data:`SCOPE_DIMENSIONS`; a field the claim does not state is not
    compared; a stated measure must be one of the data's measures; ages must be equal.

    Examples
    --------
    >>> c = Scope(population="boys", exposure="father_imprisoned", outcome="offending")
    >>> d = Scope(population="boys", exposure="separated_by_parental_imprisonment",
    ...           exposure_ages=(0, 10), outcome="conviction", outcome_ages=(19, 32))
    >>> [dim for dim, _, _ in compare_scopes(c, d)]
    ['population', 'outcome']
    """
    out = []
    for dim, fields in SCOPE_DIMENSIONS.items():
        differs = False
        for f in fields:
            cv, dv = getattr(claimed, f), getattr(data, f)
            if cv in (None, ()):
                continue
            if f == "measure":
                differs |= not set(cv) <= set(dv)
            else:
                differs |= cv != dv
        if differs:
            out.append((dim, claimed.describe(fields), data.describe(fields)))
    return tuple(out)


@lru_cache(maxsize=8)
def _result_scopes(path: str) -> dict[str, Scope]:
    raw = read_yaml(Path(path), label="scope")
    if not isinstance(raw, dict) or not isinstance(raw.get("scopes"), dict):
        raise ValueError(f"{Path(path).name}: field 'scopes': bad value; expected a mapping result id -> scope.")
    return {rid: _parse_scope(f"{Path(path).name}: result {rid!r}", s) for rid, s in raw["scopes"].items()}


def load_result_scopes(path: str | Path | None = None) -> dict[str, Scope]:
    """Structured scopes of registry results (default :data:`SCOPES_FILE`)."""
    return dict(_result_scopes(str(Path(path) if path is not None else SCOPES_FILE)))


@dataclass(frozen=True)
class _Context:
    """What a check may consult: the registry (by folder), the result scopes and the other claims."""

    studies: str | Path | None
    scopes: dict[str, Scope]
    claims: dict[str, Claim]

    def result(self, rid: str) -> reg.Result:
        return reg.find_result(rid, self.studies)

    def study(self, sid: str) -> reg.Study:
        return reg.load_study(sid, self.studies)

    def scope(self, rid: str) -> Scope | None:
        return self.scopes.get(rid)


# --------------------------------------------------------------------------- ledger
@dataclass(frozen=True, slots=True)
class Claim:
    """One ledger entry (validated)."""

    id: str
    document: str
    quote: str
    claim: str
    reported: str
    check: str
    uses: tuple[str, ...]
    expected: str
    reported_values: tuple[tuple[str, float], ...] = ()
    decimals: int | None = None
    approximation: float | None = None
    scope: Scope | None = None
    traces_to: str | None = None
    traced_in: str | None = None
    missing: tuple[str, ...] = ()
    note: str | None = None
    file: str = ""

    def value(self, name: str) -> float:
        """A printed number of the claim (KeyError naming the claim when absent)."""
        for k, v in self.reported_values:
            if k == name:
                return v
        raise KeyError(f"claim {self.id!r} has no reported value {name!r}")

    @property
    def tolerance(self) -> float | None:
        """Allowed difference: the ledger's ``tolerance`` for verbal approximations
        ('nearly two thirds'), else half a unit in the last printed place, else None."""
        if self.approximation is not None:
            return self.approximation
        if self.decimals is None:
            return None
        return 0.5 * 10.0 ** (-self.decimals)


def _fail(file: str, cid: Any, fld: str, value: Any, allowed: str) -> ValueError:
    return ValueError(f"{file}: claim {cid!r}, field {fld!r}: bad value {short_repr(value)}; {allowed}.")


def _parse_claims_file(path: Path, result_ids: set[str], study_ids: set[str],
                       studies: str | Path | None) -> list[Claim]:
    raw = read_yaml(path, label="claim")
    if not isinstance(raw, dict) or not isinstance(raw.get("claims"), list):
        raise _fail(path.name, None, "claims", raw, "a ledger file is a mapping with a list 'claims'")
    unknown = set(raw) - {"claims", "document"}
    if unknown:
        raise _fail(path.name, None, sorted(unknown)[0], None, "allowed top-level keys are claims, document")
    default_doc = raw.get("document")
    out = []
    for i, c in enumerate(raw["claims"]):
        if not isinstance(c, dict):
            raise _fail(path.name, None, f"claims[{i}]", c, "expected a mapping")
        cid = c.get("id", f"claims[{i}]")
        for k in _CLAIM_KEYS_REQUIRED:
            if k not in c:
                raise _fail(path.name, cid, k, None, f"the required field {k!r} is missing")
        for k in c:
            if k not in _CLAIM_KEYS_REQUIRED + _CLAIM_KEYS_OPTIONAL:
                raise _fail(path.name, cid, k, c[k], "unknown key (a typo?); allowed are "
                            + ", ".join(_CLAIM_KEYS_REQUIRED + _CLAIM_KEYS_OPTIONAL))
        doc = c.get("document", default_doc)
        if not isinstance(doc, str):
            raise _fail(path.name, cid, "document", doc, "a source file name or 'registry:<result id>'")
        if c["expected"] not in VERDICTS:
            raise _fail(path.name, cid, "expected", c["expected"], "allowed verdicts are " + "; ".join(VERDICTS))
        if c["check"] not in CHECKS:
            raise _fail(path.name, cid, "check", c["check"], "known checks are " + ", ".join(sorted(CHECKS)))
        uses = c["uses"]
        if not isinstance(uses, list) or not all(isinstance(u, str) for u in uses):
            raise _fail(path.name, cid, "uses", uses, "expected a list of registry result or study ids")
        for u in uses:
            if u not in result_ids and u not in study_ids:
                raise _fail(path.name, cid, "uses", u, "not a result or study id of the registry")
        rv = c.get("reported_values") or {}
        if not isinstance(rv, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in rv.values()
        ):
            raise _fail(path.name, cid, "reported_values", rv, "expected a mapping of names to numbers")
        dec = c.get("decimals")
        if dec is not None and (not isinstance(dec, int) or isinstance(dec, bool) or dec < 0):
            raise _fail(path.name, cid, "decimals", dec, "expected a whole number >= 0")
        tol = c.get("tolerance")
        if tol is not None and (not isinstance(tol, (int, float)) or isinstance(tol, bool) or tol <= 0):
            raise _fail(path.name, cid, "tolerance", tol, "expected a positive number")
        quote = c["quote"]
        if not isinstance(quote, str) or not quote.strip():
            raise _fail(path.name, cid, "quote", quote, "expected the exact quoted text")
        if doc.startswith("registry:"):
            rid = doc.split(":", 1)[1]
            if rid not in result_ids:
                raise _fail(path.name, cid, "document", doc, "not a result id of the registry")
            rq = reg.find_result(rid, studies).quote or ""
            if normalise_whitespace(quote) not in normalise_whitespace(rq):
                raise _fail(path.name, cid, "quote", quote, f"the quote does not occur in the 'quote' of {rid}")
        else:
            if normalise_whitespace(quote) not in normalise_whitespace(source_text(doc)):
                raise _fail(path.name, cid, "quote", quote,
                            f"the quote does not occur in '{documents.document(doc).title}' ({doc}; "
                            "compared with whitespace normalised)")
        out.append(Claim(
            id=cid, document=doc, quote=quote, claim=c["claim"], reported=str(c["reported"]),
            check=c["check"], uses=tuple(uses), expected=c["expected"],
            reported_values=tuple((k, float(v)) for k, v in rv.items()), decimals=dec,
            approximation=None if tol is None else float(tol),
            scope=None if c.get("scope") is None else _parse_scope(f"{path.name}: claim {cid!r}", c["scope"]),
            traces_to=c.get("traces_to"), traced_in=c.get("traced_in"),
            missing=tuple(c.get("missing") or ()), note=c.get("note"), file=path.name,
        ))
    return out


def load_claims(path: str | Path | None = None, studies: str | Path | None = None) -> tuple[Claim, ...]:
    """All ledger entries in ``path`` (default :data:`CLAIMS_DIR`), validated.

    Raises ValueError naming the file, claim id and field for: unknown keys,
    missing fields, unknown checks or verdicts, ids absent from the registry,
    quotes that do not occur in their document, duplicate claim ids.
    """
    p = Path(path) if path is not None else CLAIMS_DIR
    files = sorted(p.glob("[0-9][0-9]-*.yaml")) if p.is_dir() else [p]
    if not files:
        raise ValueError(f"path={str(p)!r} holds no ledger files (*.yaml).")
    registry = reg.load_registry(studies)
    result_ids = {r.id for s in registry for r in s.results}
    study_ids = {s.id for s in registry}
    claims: list[Claim] = []
    for f in files:
        for c in _parse_claims_file(f, result_ids, study_ids, studies):
            if c.id in {x.id for x in claims}:
                raise _fail(f.name, c.id, "id", c.id, "duplicate claim id")
            claims.append(c)
    ids = {c.id for c in claims}
    for c in claims:
        if c.traces_to is not None and c.traces_to not in ids:
            raise _fail(c.file, c.id, "traces_to", c.traces_to, "not a claim id of the ledger")
    return tuple(claims)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of checking one claim.

    ``verdict`` is computed by the named check; ``expected`` is the ledger's.
    """

    id: str
    claim: str
    reported: str
    computed: str
    verdict: str
    expected: str
    source: str
    quote: str
    tolerance: str
    missing_inputs: tuple[str, ...] = ()
    note: str = ""
    check: str = ""
    uses: tuple[str, ...] = ()
    values: tuple[tuple[str, float], ...] = field(default=())
    condition: str = ""
    mismatches: tuple[tuple[str, str, str], ...] = ()
    kind: str = "effect"
    document: str = ""
    line: int | None = None

    @property
    def matches_expected(self) -> bool:
        """The computed verdict equals the ledger's expected verdict."""
        return self.verdict == self.expected

    @property
    def regressed(self) -> bool:
        """Recorded as holding up (reproduced, consistent, traced) but no longer does."""
        return self.expected in REPRODUCIBLE and self.verdict not in REPRODUCIBLE

    def to_json(self) -> dict[str, str]:
        """The six keys of the JSON export: id, claim, reported, computed, verdict, source."""
        return {"id": self.id, "claim": self.claim, "reported": self.reported,
                "computed": self.computed, "verdict": self.verdict, "source": self.source}

    def __repr__(self) -> str:
        return f"Finding({self.id!r}, verdict={self.verdict!r})"


@dataclass(frozen=True, slots=True)
class _Outcome:
    computed: str
    verdict: str
    missing: tuple[str, ...] = ()
    note: str = ""
    values: tuple[tuple[str, float], ...] = ()
    condition: str = ""
    mismatches: tuple[tuple[str, str, str], ...] = ()


# --------------------------------------------------------------------------- helpers
def _within(x: float, printed: float, decimals: int | None) -> bool:
    tol = 0.5 * 10.0 ** (-(decimals or 0))
    return abs(x - printed) <= tol + ROUNDING_SLACK




def _label(r: reg.Result, ctx: _Context) -> str:
    """A result in words: study name and outcome."""
    return f"{ctx.study(r.study).name.split(' (')[0]}, {r.outcome.split(' (')[0]}"


def _missing_of(r: reg.Result, names: tuple[str, ...], ctx: _Context) -> list[str]:
    """The quantities among ``names`` that ``r`` lacks, in words ('<study>, <outcome>: <quantity>')."""
    out = []
    for n in names:
        try:
            q = r.q(n)
        except KeyError:
            out.append(f"{_label(r, ctx)}: {QUANTITY_WORDS[n]}")
            continue
        if q.value is None:
            out.append(f"{_label(r, ctx)}: {QUANTITY_WORDS[n]}")
    return out


def _num(r: reg.Result, name: str) -> float:
    """The number ``name`` of ``r``, which the caller has checked is not missing."""
    v = r.value(name)
    if v is None:
        raise ValueError(f"result {r.id!r}: {name} is missing where the check needs it.")
    return float(v)


def _pct_range(p: float, decimals: int) -> tuple[float, float]:
    h = 0.5 * 10.0 ** (-decimals)
    return max(p - h, 0.0), min(p + h, 100.0)


def _or_from_pcts(p1: float, p0: float) -> float:
    """Odds ratio implied by two percentages."""
    return float(odds_from_risk(p1 / 100) / odds_from_risk(p0 / 100))


def _decimals_of(x: float) -> int:
    s = repr(float(x))
    return len(s.split(".")[1].rstrip("0")) if "." in s else 0


# --------------------------------------------------------------------------- checks
def check_sample_sizes(claim: Claim, ctx: _Context) -> _Outcome:
    """Printed sample sizes (descriptive figures) against the registry's study-level numbers.

    Each printed number is looked up under the same name in the study's
    ``sample``.  Found, equal, in a source other than the review: "traced".
    Numbers the registry knows only from the review itself cannot confirm the
    review (circular), and a printed number smaller than the registry's may be
    an analysed subset no source read describes: "untraced".  A printed number
    larger than the registry's: "contradicted".
    """
    study = ctx.study(claim.uses[0])
    sample = dict(study.sample)
    parts, missing, notes = [], [], []
    verdict = TRACED
    for name, printed in claim.reported_values:
        q = sample.get(name)
        if q is None or q.value is None or q.seen_in == "review":
            missing.append(f"{study.name}: the {name.replace('_', ' ')} from a source other than the review")
            verdict = UNTRACED if verdict != CONTRADICTED else verdict
            continue
        parts.append(f"{name.replace('_', ' ')}: {q.value:,} ({q.status}, seen in a {q.seen_in} source)")
        if not _within(float(q.value), printed, claim.decimals):
            verdict = UNTRACED if q.value > printed and verdict != CONTRADICTED else CONTRADICTED
            notes.append(
                f"{name}: printed {printed:g}, registry {q.value:g} (difference {q.value - printed:+g}); "
                + ("the printed number is smaller than the cohort and may be an analysed subset that "
                   "no source read describes" if q.value > printed else
                   "the printed number exceeds the registry's")
            )
            missing.append(f"{study.name}: the analysed sample of {name.replace('_', ' ')}")
    total_note = ""
    if "cohort" in sample and len(claim.reported_values) > 1:
        printed_sum = sum(v for _, v in claim.reported_values)
        cohort = float(study.sample_value("cohort") or 0)
        total_note = (f" Printed total {printed_sum:,.0f} vs cohort {cohort:,.0f} "
                      f"({cohort - printed_sum:+,.0f}).")
    return _Outcome(
        computed="; ".join(parts) if parts else "no independent registry value",
        verdict=verdict, missing=tuple(missing), note="; ".join(notes) + "." * bool(notes) + total_note,
    )


def check_percentages_attainable(claim: Claim, ctx: _Context) -> _Outcome:
    """Are the printed percentages attainable with the registry's group sizes? (GRIM test).

    Every whole count k with 100 k / n rounding to the printed percentage is
    listed by :func:`evidence.published.counts_from_percentages`.  Attainable
    for both groups -> "consistent within rounding" (the counts themselves are
    not printed); not attainable -> "contradicted".
    """
    r = ctx.result(claim.uses[0])
    miss = _missing_of(r, ("n_exposed", "n_unexposed"), ctx)
    if miss:
        return _Outcome("group sizes missing", NOT_REPRODUCIBLE, tuple(miss))
    n1, n0 = int(_num(r, "n_exposed")), int(_num(r, "n_unexposed"))
    p1, p0 = claim.value("pct_exposed"), claim.value("pct_unexposed")
    try:
        rec = counts_from_percentages(p1, n1, p0, n0, decimals=claim.decimals or 0)
    except ValueError as exc:
        return _Outcome(f"not attainable: {exc}", CONTRADICTED)
    c = rec.candidates
    e1 = sorted(set(int(x) for x in c.events_exposed))
    e0 = sorted(set(int(x) for x in c.events_unexposed))
    computed = (f"{'/'.join(map(str, e1))} of {n1} = "
                + ", ".join(f"{100 * k / n1:.1f}%" for k in e1)
                + f"; {'/'.join(map(str, e0))} of {n0} = "
                + ", ".join(f"{100 * k / n0:.1f}%" for k in e0))
    held = [(r.value(k), r.q(k).status) for k in ("events_exposed", "events_unexposed") if r.value(k) is not None]
    shown = " and ".join(f"{e}/{n} ({st})" for (e, st), n in zip(held, (n1, n0), strict=False))
    note = ("Counts are not printed; whole counts exist that round to the printed percentages."
            + (f" Registry counts: {shown}." if len(held) == 2 else ""))
    return _Outcome(computed, CONSISTENT, note=note,
                    values=(("candidates_exposed", float(len(e1))), ("candidates_unexposed", float(len(e0)))))


def check_odds_ratio_from_counts(claim: Claim, ctx: _Context) -> _Outcome:
    """Recompute a printed OR and its interval from the registry's 2x2 counts.

    Uses :func:`evidence.effect_sizes.odds_ratio` (sample OR, Woolf interval)
    on the registry counts, and :func:`evidence.published.counts_from_percentages`
    to show which of the count pairs attainable from the printed percentages
    reproduce the printed OR and interval.

    A match from printed counts is "reproduced".  A match from counts the
    registry marks ``reconstructed`` is only "consistent within rounding": such
    counts are back-calculated from rounded percentages (and possibly from the
    printed OR itself), so the match shows that the printed figures are
    attainable, not that published data pin them down.
    """
    r = ctx.result(claim.uses[0])
    miss = _missing_of(r, ("events_exposed", "n_exposed", "events_unexposed", "n_unexposed"), ctx)
    if miss:
        return _Outcome("counts missing", NOT_REPRODUCIBLE, tuple(miss))
    e1, n1, e0, n0 = (int(_num(r, k)) for k in ("events_exposed", "n_exposed",
                                                  "events_unexposed", "n_unexposed"))
    res = odds_ratio(e1, n1, e0, n0, ci="woolf", alpha=r.reported_alpha)
    est_p, lo_p, hi_p = (claim.value(k) for k in ("estimate", "ci_low", "ci_high"))
    d = claim.decimals
    ok = _within(res.estimate, est_p, d) and _within(res.ci_low, lo_p, d) and _within(res.ci_high, hi_p, d)
    statuses = {r.q(k).status for k in ("events_exposed", "n_exposed", "events_unexposed", "n_unexposed")}
    counts_kind = "reconstructed counts " if "reconstructed" in statuses else ""
    computed = (f"OR {res.estimate:.2f} ({res.ci_low:.2f}, {res.ci_high:.2f}) from {counts_kind}{e1}/{n1} vs "
                f"{e0}/{n0}, Woolf {100 * (1 - r.reported_alpha):g}% CI; p = {res.p_value:.1g}")
    notes = []
    pe, pc = r.value("pct_exposed"), r.value("pct_unexposed")
    if pe is not None and pc is not None:
        rec = counts_from_percentages(pe, n1, pc, n0, decimals=_decimals_of(pe),
                                      reported_or=est_p, reported_ci=(lo_p, hi_p),
                                      or_decimals=d, alpha=r.reported_alpha)
        c = rec.candidates
        rows = [f"{int(x['events_exposed'])}/{int(x['n_exposed'])} vs {int(x['events_unexposed'])}/"
                f"{int(x['n_unexposed'])} -> {x['odds_ratio']:.2f} ({x['ci_low']:.2f}, {x['ci_high']:.2f})"
                f"{' matches' if x['matches'] else ''}" for x in c.to_dict("records")]
        notes.append("Count pairs attainable from the printed percentages: " + "; ".join(rows) + ".")
    if ok and res.ci_low > 1:
        notes.append("The interval excludes 1 (statistically significant), as printed.")
    notes.append(f"Risk ratio from the same counts: {(e1 / n1) / (e0 / n0):.2f}.")
    if "reconstructed" in statuses:
        notes.append("The counts are reconstructed (see the registry's method), not printed.")
    verdict = (CONSISTENT if "reconstructed" in statuses else REPRODUCED) if ok else CONTRADICTED
    return _Outcome(computed, verdict, note=" ".join(notes),
                    values=(("estimate", res.estimate), ("ci_low", res.ci_low), ("ci_high", res.ci_high)))


def _stand_in(r: reg.Result, ctx: _Context) -> tuple[str, float] | None:
    """A visible odds ratio for the study of ``r`` when ``r``'s own estimate is missing.

    In order: the study's result chosen by its ``pool_reason`` (:func:`evidence.review.registry.one_per_study`);
    its first other odds ratio with an estimate; its first result with both
    percentages (the OR they imply).  ``None`` when the study has none of these.
    """
    if r.value("estimate") is not None and r.measure == "odds_ratio":
        return r.id, _num(r, "estimate")
    study = ctx.study(r.study)
    chosen = reg.one_per_study(ctx.studies).get(study.id, (None, ""))[0]
    ors = [x for x in study.results if x.measure == "odds_ratio" and x.value("estimate") is not None]
    ors.sort(key=lambda x: x.id != chosen)
    if ors:
        return ors[0].id, _num(ors[0], "estimate")
    for x in study.results:
        p1, p0 = x.value("pct_exposed"), x.value("pct_unexposed")
        if p1 is not None and p0 is not None:
            recon = "reconstructed" in (x.q("pct_exposed").status, x.q("pct_unexposed").status)
            return (f"{x.id} (OR implied by {p1:g}% vs {p0:g}%"
                    + (", a reconstructed rate" if recon else "") + ")", _or_from_pcts(p1, p0))
    return None


def check_average_odds_ratio(claim: Claim, ctx: _Context) -> _Outcome:
    """The average of k study ORs: what the registry holds and the algebraic constraints.

    The k ORs and the averaging method are needed.  Where they are missing,
    the constraints a printed average places on the unknown ORs are computed,
    assuming the OR of the first result in ``uses`` (the Cambridge OR; itself
    unconfirmed) is the one that entered the average: arithmetic mean -> the
    others' sum; geometric mean (mean of log ORs) -> the others' product.  For
    the other studies the odds ratios the registry does hold are listed as
    candidates (none confirmed as averaged; see :func:`_stand_in`), and the OR
    the remaining study would need under each mean is computed from them.
    """
    avg = claim.value("average")
    d = claim.decimals or 1
    lo_avg, hi_avg = avg - 0.5 * 10 ** -d, avg + 0.5 * 10 ** -d
    results = [ctx.result(u) for u in claim.uses]
    k = len(results)
    missing = [f"{_label(r, ctx)}: the odds ratio used in the average" for r in results
               if r.value("estimate") is None]
    missing.append("the averaging method (mean of ORs, mean of log ORs, or weighted)")
    missing.append("confirmation of which outcome of each study entered the average")
    first = results[0]
    c = first.value("estimate")
    if c is None:
        return _Outcome("the anchoring OR is missing", NOT_REPRODUCIBLE, tuple(missing))
    c_half = 0.5 * 10.0 ** -max(_decimals_of(c), 1)
    c_lo, c_hi = c - c_half, c + c_half
    others = k - 1
    s_lo, s_hi = k * lo_avg - c_hi, k * hi_avg - c_lo
    p_lo, p_hi = lo_avg ** k / c_hi, hi_avg ** k / c_lo
    computed = (f"arithmetic mean {avg:g}: the other {others} ORs sum to {k * avg - c:.1f} "
                f"({s_lo:.2f} to {s_hi:.2f}; mean {(k * avg - c) / others:.2f}); "
                f"geometric mean {avg:g}: their product is {avg ** k / c:.1f} ({p_lo:.1f} to {p_hi:.1f}; "
                f"geometric mean {(avg ** k / c) ** (1 / others):.2f})")
    stand_ins = [(r, _stand_in(r, ctx)) for r in results[1:]]
    cands = [x for _, x in stand_ins if x is not None]
    without = [ctx.study(r.study).name for r, x in stand_ins if x is None]
    csum = c + sum(v for _, v in cands)
    cprod = c * math.prod(v for _, v in cands)
    note = ("Visible candidate ORs (none confirmed as averaged): "
            + ", ".join(f"{n} {v:.2f}" for n, v in cands) + ".")
    if len(without) == 1:
        need_sum, need_prod = k * avg - csum, avg ** k / cprod
        note += (f" With {first.id} at {c:.{max(_decimals_of(c), 1)}f}, an arithmetic mean of {avg:g} "
                 f"would need the OR of "
                 f"{without[0]} to be {need_sum:.2f}"
                 + (" (impossible, ORs are > 0), so these candidates cannot all be the ones averaged "
                    "arithmetically" if need_sum <= 0 else "")
                 + f"; a geometric mean would need it to be {need_prod:.2f}.")
    note += " This is arithmetic on unconfirmed inputs, not a reconstruction."
    return _Outcome(computed, NOT_REPRODUCIBLE, tuple(missing), note,
                    values=(("sum_others", k * avg - c), ("product_others", avg ** k / c)))


def check_odds_read_as_risk(claim: Claim, ctx: _Context) -> _Outcome:
    """'About three times the risk' drawn from an odds ratio.

    An odds ratio equals a risk ratio only when the outcome is rare; RR =
    OR / (1 - p0 + p0 OR) (Zhang & Yu 1998) needs the baseline risk p0.  For
    the one study with counts (Cambridge) both are computed.
    """
    r = ctx.result(claim.uses[0])
    counts = ("events_exposed", "n_exposed", "events_unexposed", "n_unexposed")
    miss = _missing_of(r, counts, ctx)
    if miss:
        return _Outcome("counts missing", NOT_REPRODUCIBLE, tuple(miss))
    e1, n1, e0, n0 = (int(_num(r, k)) for k in counts)
    orr = odds_ratio(e1, n1, e0, n0).estimate
    rr = (e1 / n1) / (e0 / n0)
    avg = (claim.value("odds_ratio") if "odds_ratio" in dict(claim.reported_values)
           else ctx.claims[claim.traces_to or ""].value("average"))
    times = claim.value("risk_ratio")
    p0 = e0 / n0
    rr_avg = float(or_to_rr(avg, p0))
    name = ctx.study(r.study).name
    computed = (f"{_label(r, ctx)}: RR {rr:.2f} (risk) vs OR {orr:.2f} (odds); an OR of {avg:g} "
                f"is a RR of {rr_avg:.2f} at this baseline risk {100 * p0:.0f}%, and "
                f"approaches {avg:g} only as the baseline risk approaches 0")
    missing = ("every averaged study's OR and baseline risk (needed to turn the average OR into a risk ratio)",)
    holds = _within(rr, times, claim.decimals)
    note = (f"'About {times:g} times the risk' reads the average odds ratio {avg:g} as a risk ratio. For "
            f"{name} alone 'about {times:g} times the risk' {'holds' if holds else 'does not hold'} "
            f"(RR {rr:.1f}), "
            f"but its OR is {orr:.1f}, not {times:g}.")
    return _Outcome(computed, NOT_REPRODUCIBLE, missing, note,
                    values=(("rr_cambridge", rr), ("or_cambridge", orr), ("rr_from_average_or", rr_avg)))


def check_three_times_across_outcomes(claim: Claim, ctx: _Context) -> _Outcome:
    """'About three times the risk' for antisocial, mental-health and other outcomes.

    Risk ratios are computed for every Cambridge outcome with two percentages
    (range from the printed rounding), and set beside the pooled OR of the most
    rigorous studies.  Only Cambridge has mental-health and 'other' outcomes,
    and no average exists for them.
    """
    parts, vals = [], []
    for rid in claim.uses:
        r = ctx.result(rid)
        if r.measure == "proportions" or r.value("events_exposed") is not None:
            if r.value("events_exposed") is not None:
                rr = (_num(r, "events_exposed") / _num(r, "n_exposed")) / (
                    _num(r, "events_unexposed") / _num(r, "n_unexposed"))
                parts.append(f"{r.outcome}: RR {rr:.2f}")
            else:
                p1, p0 = _num(r, "pct_exposed"), _num(r, "pct_unexposed")
                a, b = _pct_range(p1, _decimals_of(p1)), _pct_range(p0, _decimals_of(p0))
                rr = p1 / p0
                parts.append(f"{r.outcome}: RR {rr:.2f} ({a[0] / b[1]:.2f} to {a[1] / b[0]:.2f})")
            vals.append((rid, rr))
        elif r.measure == "odds_ratio" and r.value("estimate") is not None:
            adj = {True: "adjusted", False: "unadjusted", None: "adjustment not stated"}[r.adjusted]
            parts.append(f"{ctx.study(r.study).name}: OR {r.value('estimate'):g} ({adj}; {r.outcome})")
    with_rr = sorted({ctx.study(ctx.result(rid).study).name for rid, _ in vals})
    computed = "risk ratios from " + ", ".join(with_rr) + " only. " + "; ".join(parts)
    missing = (
        "risk ratios for mental-health and other outcomes from any study besides Cambridge",
        "group sizes at age 48 for the Cambridge mental-health and life-success comparisons",
        "an average across studies for any outcome other than antisocial behaviour",
    )
    note = ("The review's own average (claim review.average_or) covers antisocial outcomes only and is "
            "an odds ratio; "
            "for mental health it says there are no other large-scale longitudinal studies. The 2012 "
            "meta-analysis found no association with mental health in the most rigorous studies.")
    return _Outcome(computed, NOT_REPRODUCIBLE, missing, note, values=tuple(vals))


def _group_sizes(r: reg.Result, ctx: _Context) -> tuple[tuple[int, int], str] | None:
    """Group sizes for ``r``: its own, else those of the first result of its study with the same
    exposure and comparison (an upper bound: the groups before attrition); with the result id used."""
    candidates = [r] + [x for x in ctx.study(r.study).results
                        if x.id != r.id and x.exposure == r.exposure and x.comparison == r.comparison]
    for x in candidates:
        n1, n0 = x.value("n_exposed"), x.value("n_unexposed")
        if n1 is not None and n0 is not None:
            return (int(n1), int(n0)), x.id
    return None


def check_implied_odds_ratio(claim: Claim, ctx: _Context) -> _Outcome:
    """Odds ratio and risk ratio implied by two printed percentages (group sizes missing).

    The range allows for the printed rounding.  Without counts neither the
    interval nor a significance test can be computed.  When the registry has
    group sizes (the result's own, or as upper bounds those of a result of the
    same study with the same exposure and comparison), the attainable exposed
    counts are listed (:func:`evidence.published.counts_from_percentages`).
    """
    r = ctx.result(claim.uses[0])
    p1, p0 = claim.value("pct_exposed"), claim.value("pct_unexposed")
    d = claim.decimals or 0
    (a_lo, a_hi), (b_lo, b_hi) = _pct_range(p1, d), _pct_range(p0, d)
    or_mid = _or_from_pcts(p1, p0)
    or_lo, or_hi = _or_from_pcts(a_lo, b_hi), _or_from_pcts(a_hi, b_lo)
    computed = (f"implied OR {or_mid:.2f} ({or_lo:.2f} to {or_hi:.2f} allowing for rounding); "
                f"RR {p1 / p0:.2f}")
    missing = tuple(_missing_of(r, ("n_exposed", "n_unexposed", "events_exposed", "events_unexposed"), ctx))
    missing += ("an interval or test statistic for the comparison",)
    note = "Implied by rounded percentages only; not a published OR."
    sizes = _group_sizes(r, ctx)
    if sizes is not None:
        (n1, n0), where = sizes
        exact = where == r.id
        rec = counts_from_percentages(p1, int(n1) if exact else (1, int(n1)),
                                      p0, int(n0) if exact else (1, int(n0)), decimals=d)
        fr = sorted({(int(x["events_exposed"]), int(x["n_exposed"])) for x in rec.candidates.to_dict("records")},
                    key=lambda t: t[1])
        note += ((f" With {n1} exposed" if exact else
                  f" At most {n1} exposed (the group size in {where}, before any attrition)")
                 + ": attainable exposed counts " + ", ".join(f"{k}/{n}" for k, n in fr) + ".")
    return _Outcome(computed, NOT_REPRODUCIBLE, missing, note,
                    values=(("implied_or", or_mid), ("implied_or_low", or_lo), ("implied_or_high", or_hi)))


def check_odds_ratio_difference(claim: Claim, ctx: _Context) -> _Outcome:
    """Are two ORs significantly different (at :data:`SIGNIFICANCE_LEVEL`)? z test of the log OR difference.

    z = (ln OR_b - ln OR_a) / sqrt(se_a^2 + se_b^2) (Altman & Bland 2003) by
    :func:`evidence.compare.compare_odds_ratios`, with the SEs recovered from
    the registry's intervals at each result's level ``1 - reported_alpha``
    (:func:`evidence.published.se_from_ci`).  Without intervals, the SE of the
    difference below which the printed ORs would differ significantly is
    computed instead.
    """
    ra, rb = (ctx.result(u) for u in claim.uses)
    a, b = claim.value("estimate_a"), claim.value("estimate_b")
    d = claim.decimals or 1
    h = 0.5 * 10 ** -d
    diff = math.log(b / a)
    dlo, dhi = max(math.log((b - h) / (a + h)), 0.0), math.log((b + h) / (a - h))
    z = stats.norm.isf(SIGNIFICANCE_LEVEL / 2)
    missing = tuple(_missing_of(ra, ("estimate", "ci_low", "ci_high"), ctx)
                    + _missing_of(rb, ("estimate", "ci_low", "ci_high"), ctx))
    if not missing:
        sa, sb = (se_from_ci(_num(x, "estimate"), _num(x, "ci_low"), _num(x, "ci_high"),
                             alpha=x.reported_alpha).se for x in (ra, rb))
        test = compare_odds_ratios(_num(rb, "estimate"), _num(ra, "estimate"), se1=sb, se2=sa,
                                   alpha=SIGNIFICANCE_LEVEL)
        computed = f"ratio of ORs {test.ratio:.3f}, z = {test.statistic:.2f}, p = {test.p_value:.2g}"
        return _Outcome(computed, REPRODUCED if test.p_value >= SIGNIFICANCE_LEVEL else CONTRADICTED,
                        values=(("z", test.statistic), ("p", test.p_value)))
    computed = (f"ratio of ORs {b / a:.3f}; log difference {diff:.3f} ({dlo:.3f} to {dhi:.3f} allowing "
                f"for rounding); significant at {100 * SIGNIFICANCE_LEVEL:g}% only if SE of the difference "
                f"< {diff / z:.3f} "
                f"({dlo / z:.3f} to {dhi / z:.3f})")
    note = ("Needed: the two CIs (or SEs, or the 2x2 counts per age band). With them the test is "
            "z = ln(OR_b / OR_a) / sqrt(se_a^2 + se_b^2)"
            + "; evidence.compare.compare_odds_ratios performs it when they are recorded. The ORs are "
            "seen in: "
            + ", ".join(f"{x.id} {x.q('estimate').seen_in}" for x in (ra, rb)) + ".")
    return _Outcome(computed, NOT_REPRODUCIBLE, missing + ("the 2x2 counts per age band",), note,
                    values=(("log_ratio", diff), ("se_threshold", diff / z)))


def _scope_note(mismatches: tuple[tuple[str, str, str], ...]) -> str:
    return "; ".join(f"{dim}: the sentence says '{c}', the data are for '{d}'" for dim, c, d in mismatches)


def check_qualitative_finding(claim: Claim, ctx: _Context) -> _Outcome:
    """A qualitative (or significance-only) finding: what the registry records and where.

    Qualitative statements cannot be recomputed.  The finding lists what the
    registry records for each result and where it was read, and names the
    numbers that would be needed.  When the claim and a result both carry a
    scope and the scopes differ (:func:`compare_scopes`), the statement is
    "misattributed" and the differing dimensions are named.
    """
    parts, missing, mism = [], [], []
    for rid in claim.uses:
        r = ctx.result(rid)
        if r.measure == "qualitative":
            parts.append(f"{_label(r, ctx)}: {r.finding} [seen in a {r.seen_in} source]")
            missing.append(f"{_label(r, ctx)}: {'adjusted ' if r.adjusted else ''}effect estimate with CI")
        else:
            est = r.value("estimate")
            parts.append(f"{_label(r, ctx)}: {r.measure.replace('_', ' ')} "
                         f"{est:g} [{r.q('estimate').status}, seen in {r.q('estimate').seen_in}]"
                         if est is not None else f"{_label(r, ctx)}: estimate missing")
            missing.extend(_missing_of(r, ("pct_exposed", "pct_unexposed", "n_exposed", "n_unexposed"), ctx))
        rs = ctx.scope(rid)
        if claim.scope is not None and rs is not None:
            mism += [(f"{dim} ({ctx.study(r.study).name})", c, d) for dim, c, d in compare_scopes(claim.scope, rs)]
    seen = {w: [_label(ctx.result(rid), ctx) for rid in claim.uses if ctx.result(rid).seen_in == w]
            for w in reg.SEEN_IN}
    note = "A qualitative statement: there is no number to recompute. " + " ".join(
        f"Recorded from {'the review itself' if w == 'review' else 'a ' + w + ' source'}: {'; '.join(ids)}."
        for w, ids in seen.items() if ids)
    if mism:
        return _Outcome(" | ".join(parts), MISATTRIBUTED, tuple(missing),
                        note + " Scope: " + _scope_note(tuple(mism)) + ".", mismatches=tuple(mism))
    return _Outcome(" | ".join(parts), NOT_REPRODUCIBLE, tuple(missing), note)


def check_direction_of_effect(claim: Claim, ctx: _Context) -> _Outcome:
    """A statement of direction only ('less likely to reoffend') against a registry odds ratio.

    The claim's scope gives its exposure and direction; a result for the
    complementary exposure (:data:`COMPLEMENTS`) has the opposite direction.
    The direction of an odds ratio is the direction of the risk, so an OR above
    1 means 'higher' for any base rate.  Scope differences other than the
    measure (a direction is implied by any ratio) make it "misattributed".
    """
    r = ctx.result(claim.uses[0])
    rs, cs = ctx.scope(r.id), claim.scope
    orr = r.value("estimate")
    if cs is None or rs is None or cs.direction is None:
        raise ValueError(f"claim {claim.id!r}: check 'direction_of_effect' needs a claim scope with exposure "
                         f"and direction and a scope for {r.id} in {SCOPES_FILE.name}.")
    if orr is None:
        return _Outcome("odds ratio missing", NOT_REPRODUCIBLE, (f"{_label(r, ctx)}: {QUANTITY_WORDS['estimate']}",))
    data_dir = "higher" if orr > 1 else "lower" if orr < 1 else "equal"
    data_exposure = EXPOSURES[rs.exposure or ""] if rs.exposure else "the exposure"
    flipped = cs.exposure is not None and COMPLEMENTS.get(cs.exposure) == rs.exposure
    if flipped:
        data_dir = {"higher": "lower", "lower": "higher"}.get(data_dir, data_dir)
        rs = Scope(rs.population, cs.exposure, rs.exposure_ages, rs.outcome, rs.outcome_ages,
                   rs.measure, rs.time_span)
    mism = tuple(m for m in compare_scopes(Scope(cs.population, cs.exposure, cs.exposure_ages, cs.outcome,
                                                 cs.outcome_ages, (), cs.time_span), rs))
    computed = (f"OR {orr:g} for {data_exposure} (seen in a {r.q('estimate').seen_in} "
                f"source): {OUTCOMES.get(rs.outcome or '', 'the outcome')} is {data_dir} "
                f"for {EXPOSURES[cs.exposure or '']}, as stated" if data_dir == cs.direction else
                f"OR {orr:g}: the data go the other way")
    if mism:
        return _Outcome(computed, MISATTRIBUTED, note="Scope: " + _scope_note(mism) + ".", mismatches=mism)
    if data_dir != cs.direction:
        return _Outcome(computed, CONTRADICTED, note=f"Correct direction: {data_dir}.")
    note = ("Direction only: the statement gives no size, so only its direction is checked. "
            + ("Whether the odds ratio is adjusted is not known." if r.adjusted is None else ""))
    return _Outcome(computed, REPRODUCED, note=note.strip())


def check_effect_without_registry_data(claim: Claim, ctx: _Context) -> _Outcome:
    """An effect claim whose study has no result in the registry: not reproducible, naming what is missing."""
    return _Outcome("no registry data for this comparison", NOT_REPRODUCIBLE,
                    claim.missing or ("the cited study's results",))


def check_no_registry_data(claim: Claim, ctx: _Context) -> _Outcome:
    """A descriptive figure whose source is not in the registry and was not read: untraced."""
    return _Outcome("no source read gives this figure", UNTRACED, claim.missing or ("the cited source's data",))


def check_descriptive_figure(claim: Claim, ctx: _Context) -> _Outcome:
    """A descriptive figure (a count, a share): traced to a source read, or untraced.

    ``traced_in`` names a source read that prints the same figure (another
    document in ``studies/sources/`` or a registry result); without it the
    figure is "untraced" and the ledger's ``missing`` names the cited source.
    The arithmetic the printed numbers allow is still done: a ratio of two
    printed counts (``later``/``earlier`` against ``ratio_at_least``; if the
    printed numbers disagree with the wording the verdict is "contradicted"),
    and, for a percentage of a printed group size (``pct`` and ``n``), the
    whole counts that round to it (GRIM test, Brown & Heathers 2017).
    """
    v = dict(claim.reported_values)
    parts = []
    verdict = TRACED if claim.traced_in else UNTRACED
    if {"later", "earlier"} <= set(v):
        ratio = v["later"] / v["earlier"]
        parts.append(f"{v['later']:,.0f} / {v['earlier']:,.0f} = {ratio:.2f}")
        if "ratio_at_least" in v:
            agree = ratio >= v["ratio_at_least"]
            parts.append("the printed numbers agree with the wording" if agree
                         else "the printed numbers disagree with the wording")
            verdict = verdict if agree else CONTRADICTED
    if {"pct", "n"} <= set(v):
        n = int(v["n"])
        ks = [k for k in range(n + 1) if abs(100 * k / n - v["pct"]) <= 0.5 * 10 ** -(claim.decimals or 0)]
        parts.append(("attainable: " + ", ".join(f"{k} of {n} = {100 * k / n:.1f}%" for k in ks)) if ks
                     else f"no whole count of {n} gives {v['pct']:g}%")
        verdict = verdict if ks else CONTRADICTED
    if claim.traced_in:
        parts.insert(0, f"also printed in {claim.traced_in}")
    computed = "; ".join(parts) if parts else "no source read gives this figure"
    missing = () if verdict == TRACED else (claim.missing or ("the cited source's data",))
    return _Outcome(computed, verdict, missing,
                    "A descriptive figure, not an effect of parental imprisonment.")


def check_subgroup_figure_generalised(claim: Claim, ctx: _Context) -> _Outcome:
    """A percentage for a group: does the registry give it, and for the population stated?

    The registry results whose exposed-group percentage matches the printed
    figure (within the printed precision or the ledger's ``tolerance`` for
    'nearly') are found.  The claim's scope is compared with the result's
    (:func:`compare_scopes`): the same scope -> "reproduced"; a different
    population, outcome, measure or time span -> "misattributed", naming each
    with both sides; no result with the figure -> "not reproducible".
    """
    printed = claim.value("pct_exposed")
    tol = (claim.tolerance or 0.5) + ROUNDING_SLACK
    used = []
    for rid in claim.uses:
        r = ctx.result(rid)
        e, n, p = r.value("events_exposed"), r.value("n_exposed"), r.value("pct_exposed")
        pct = 100 * e / n if e is not None and n else p
        if pct is not None and abs(pct - printed) <= tol:
            used.append((r, pct))
    if not used:
        return _Outcome("no registry result gives this figure", NOT_REPRODUCIBLE,
                        ("a study of " + (claim.scope.describe(("population", "exposure"))
                                          if claim.scope else "the population stated"),))
    r, pct = used[0]
    rs = ctx.scope(r.id)
    if claim.scope is None or rs is None:
        raise ValueError(f"claim {claim.id!r}: check 'subgroup_figure_generalised' needs a claim scope and "
                         f"a scope for {r.id} in {SCOPES_FILE.name}.")
    mism = compare_scopes(claim.scope, rs)
    e, n = int(_num(r, "events_exposed")), int(_num(r, "n_exposed"))
    e0, n0 = int(_num(r, "events_unexposed")), int(_num(r, "n_unexposed"))
    name = ctx.study(r.study).name
    pct0 = 100 * e0 / n0
    computed = (f"{e} of {n} = {pct:.1f}% in the {name}: {r.exposure}; {r.outcome}. Comparison: "
                f"{e0} of {n0} = {pct0:.1f}% ({r.comparison})")
    if not mism:
        return _Outcome(computed, REPRODUCED)
    note = (f"The {pct:.0f}% exists, but for a different " + " and ".join(d for d, _, _ in mism)
            + f" (see what differs). Correct statement: {pct:.0f}% ({e} of {n}) of boys "
            f"{r.exposure} were {r.outcome.split(' (')[0]}, against {pct0:.0f}% of boys with {r.comparison}.")
    return _Outcome(computed, MISATTRIBUTED, note=note, values=(("pct", pct), ("n", float(n))),
                    mismatches=mism)


def check_inverted_odds_ratio(claim: Claim, ctx: _Context) -> _Outcome:
    """'X% less likely' for the visited group, from an OR for the not-visited group.

    Inverting OR = 1.39 gives 1/1.39 = 0.72: 28% lower odds.  For any
    reoffending rate the risk ratio lies between the OR and 1, so the risk
    reduction is also at most 28%.  This holds for the comparison the OR
    describes; whether that OR is adjusted is recorded in the registry, and
    when it is not known the verdict states the condition it rests on.
    """
    r = ctx.result(claim.uses[0])
    orr = r.value("estimate")
    if orr is None:
        return _Outcome("odds ratio missing", NOT_REPRODUCIBLE, (f"{_label(r, ctx)}: {QUANTITY_WORDS['estimate']}",))
    inv = 1 / orr
    red = 100 * (1 - inv)
    printed = claim.value("reduction_pct")
    computed = (f"1 / {orr:g} = {inv:.3f}: {red:.1f}% lower odds for visited prisoners; the risk "
                f"reduction is at most {red:.1f}% for any reoffending rate")
    ok = _within(red, printed, claim.decimals)
    if ok:
        return _Outcome(computed, REPRODUCED, values=(("inverse_or", inv), ("reduction_pct", red)))
    adj = {True: "adjusted", False: "unadjusted", None: None}[r.adjusted]
    condition = (f"The odds ratio {orr:g} is recorded as {adj}." if adj else
                 f"This holds if {orr:g} is the unadjusted odds ratio of the two groups; whether it is "
                 f"adjusted is not known (the registry records it as unknown). If it is adjusted, an "
                 f"unadjusted comparison of the raw rates, which were not found, could differ.")
    note = (f"Correct figure: odds {red:.0f}% lower (OR {inv:.2f}); '{printed:g}% less likely' is not "
            f"attainable from OR {orr:g} at any base rate (the odds ratio is as reported by a "
            f"{r.q('estimate').seen_in} source).")
    return _Outcome(computed, CONTRADICTED, note=note, condition=condition,
                    values=(("inverse_or", inv), ("reduction_pct", red)))


def check_odds_ratio_as_risk_increase(claim: Claim, ctx: _Context) -> _Outcome:
    """'X% more likely' from an odds ratio: the figure is an increase in odds, read as risk.

    With the groups' rates, the risk ratio is computed and compared.  Without
    them: if the printed percentage equals the odds increase (OR - 1), the
    figure exists but for a different measure ("misattributed", measure: odds
    read as risk); the risk increase RR - 1 = (OR - 1)(1 - p) / (1 - p + OR p)
    is smaller for any reoffending rate p > 0 and needs the rates.
    """
    r = ctx.result(claim.uses[0])
    orr = r.value("estimate")
    if orr is None:
        return _Outcome("odds ratio missing", NOT_REPRODUCIBLE, (f"{_label(r, ctx)}: {QUANTITY_WORDS['estimate']}",))
    printed = claim.value("increase_pct")
    p1, p0 = r.value("pct_exposed"), r.value("pct_unexposed")
    if p1 is not None and p0 is not None:
        rr = p1 / p0
        ok = _within(100 * (rr - 1), printed, claim.decimals)
        return _Outcome(f"RR {rr:.2f}", REPRODUCED if ok else CONTRADICTED)
    same = _within(100 * (orr - 1), printed, claim.decimals)
    which = "the printed figure" if same else "not the printed"
    computed = (f"OR {orr:g}: {100 * (orr - 1):.0f}% higher odds ({which} {printed:g}%); as a risk ratio "
                f"RR = {orr:g} / (1 - p + {orr:g} p), below {orr:g} for any reoffending rate p > 0 of "
                "visited prisoners")
    study = ctx.study(r.study)
    missing = (f"{_label(r, ctx)}: {QUANTITY_WORDS['pct_exposed']}",
               f"{_label(r, ctx)}: {QUANTITY_WORDS['pct_unexposed']}",
               f"the rates by group in {study.citation(r.citation).text.strip()}")
    rs = ctx.scope(r.id)
    mism: tuple[tuple[str, str, str], ...] = ()
    if claim.scope is not None and rs is not None:
        mism = compare_scopes(claim.scope, rs)
    if same and mism:
        note = (f"The {printed:g}% exists, but as an increase in odds (as the {r.q('estimate').seen_in} source "
                "words it), not in risk: " + _scope_note(mism) + ". The risk increase is smaller and needs the "
                "reoffending rates, which were not found.")
        return _Outcome(computed, MISATTRIBUTED, missing, note, mismatches=mism,
                        values=(("odds_increase_pct", 100 * (orr - 1)),))
    note = ("The risk increase cannot be computed without the reoffending rates of the two groups.")
    return _Outcome(computed, NOT_REPRODUCIBLE, missing, note, values=(("odds_increase_pct", 100 * (orr - 1)),))


def check_pooled_estimate(claim: Claim, ctx: _Context) -> _Outcome:
    """A pooled (meta-analytic) OR: reproducible only from the per-study data."""
    r = ctx.result(claim.uses[0])
    est = r.value("estimate")
    if est is None:
        return _Outcome("pooled odds ratio missing", NOT_REPRODUCIBLE,
                        (f"{_label(r, ctx)}: {QUANTITY_WORDS['estimate']}",))
    rr = 1 + claim.value("risk_increase_pct") / 100
    p0_needed = (est / rr - 1) / (est - 1)
    computed = (f"registry: OR {est:g} [{r.q('estimate').status}, seen in {r.q('estimate').seen_in}]; "
                f"'about {100 * (rr - 1):.0f}% increased risk' read as a risk ratio of {rr:.2f} needs a "
                f"baseline risk of {100 * p0_needed:.0f}% (RR = OR / (1 - p0 + p0 OR)); the abstract "
                "does not say which measure the percentage is")
    n_studies = dict(ctx.study(r.study).sample).get("studies")
    missing = ("per-study log ORs and variances of the rigorous subset",
               f"which of the {n_studies.value if n_studies is not None else 'included'} studies form "
               "the rigorous subset", "the pooling model")
    note = (f"Context for the 'three times' claims: the most rigorous studies give OR {est:g}, far below "
            "the review's average OR 3.4 (claim review.average_or), whose five inputs were not found; of "
            "those the registry records, the Cambridge OR is unadjusted and the adjustment of the other "
            "four is not known.")
    return _Outcome(computed, NOT_REPRODUCIBLE, missing, note, values=(("estimate", est),))


#: Named checks, referenced by the ledger's ``check`` field.
CHECKS: dict[str, Callable[[Claim, _Context], _Outcome]] = {
    "sample_sizes": check_sample_sizes,
    "percentages_attainable": check_percentages_attainable,
    "odds_ratio_from_counts": check_odds_ratio_from_counts,
    "average_odds_ratio": check_average_odds_ratio,
    "odds_read_as_risk": check_odds_read_as_risk,
    "three_times_across_outcomes": check_three_times_across_outcomes,
    "implied_odds_ratio": check_implied_odds_ratio,
    "odds_ratio_difference": check_odds_ratio_difference,
    "qualitative_finding": check_qualitative_finding,
    "no_registry_data": check_no_registry_data,
    "descriptive_figure": check_descriptive_figure,
    "subgroup_figure_generalised": check_subgroup_figure_generalised,
    "inverted_odds_ratio": check_inverted_odds_ratio,
    "odds_ratio_as_risk_increase": check_odds_ratio_as_risk_increase,
    "pooled_estimate": check_pooled_estimate,
    "direction_of_effect": check_direction_of_effect,
    "effect_without_registry_data": check_effect_without_registry_data,
}


def _source_label(c: Claim, ctx: _Context) -> tuple[str, int | None]:
    """'Title, section, line N' of the claim's quote (or the registry record it is quoted from)."""
    if c.document.startswith("registry:"):
        rid = c.document.split(":", 1)[1]
        r = ctx.result(rid)
        study = ctx.study(r.study)
        q = r.q("estimate")
        cit = study.citation(q.source or r.citation)
        return f"{cit.text.strip()} (abstract, as quoted in the study registry)", None
    line = _line_of(c.document, c.quote)
    return documents.cite(c.document, line), line


def check_findings(claims: str | Path | None = None,
                   studies: str | Path | None = None) -> tuple[Finding, ...]:
    """Run every check of the ledger and return the findings, in ledger order.

    Parameters
    ----------
    claims : path, optional
        Ledger folder or file (default :data:`CLAIMS_DIR`).
    studies : path, optional
        Study registry folder (default :data:`evidence.review.registry.STUDIES_DIR`).

    Examples
    --------
    >>> f = {x.id: x for x in check_findings()}
    >>> f["review.cambridge_sample"].verdict
    'traced'
    """
    ledger = load_claims(claims, studies)
    scopes_path = (Path(claims) / SCOPES_FILE.name if claims is not None and Path(claims).is_dir()
                   else None)
    ctx = _Context(studies=studies,
                   scopes=load_result_scopes(scopes_path if scopes_path and scopes_path.is_file() else None),
                   claims={c.id: c for c in ledger})
    out = []
    for c in ledger:
        o = CHECKS[c.check](c, ctx)
        if o.verdict not in VERDICTS:  # pragma: no cover - programming error
            raise RuntimeError(f"check {c.check!r} returned an unknown verdict {o.verdict!r}")
        if c.approximation is not None:
            tol = f"±{c.approximation:g} (verbal approximation, set in the ledger)"
        elif c.tolerance is not None:
            tol = f"±{c.tolerance:g} (printed to {c.decimals} decimal place(s))"
        else:
            tol = "n/a (no printed precision)"
        source, line = _source_label(c, ctx)
        out.append(Finding(
            id=c.id, claim=c.claim, reported=c.reported, computed=o.computed, verdict=o.verdict,
            expected=c.expected, source=source, quote=normalise_whitespace(c.quote),
            tolerance=tol, missing_inputs=o.missing,
            note=" ".join(x for x in (o.note, c.note or "") if x), check=c.check, uses=c.uses,
            values=o.values, condition=o.condition, mismatches=o.mismatches,
            kind="descriptive" if c.check in DESCRIPTIVE_CHECKS else "effect",
            document=c.document, line=line,
        ))
    return tuple(out)


# --------------------------------------------------------------------------- cross-document links
@dataclass(frozen=True, slots=True)
class CrossDocument:
    """One quantity stated in several documents: the values as printed and whether they agree.

    ``entries`` holds (claim id, source as 'title, section, line', value, printed text) per claim;
    ``agree`` is True when every value lies within ``tolerance`` of every other.
    """

    id: str
    quantity: str
    entries: tuple[tuple[str, str, float, str], ...]
    tolerance: float
    agree: bool
    spread: float
    note: str = ""

    def __repr__(self) -> str:
        return f"CrossDocument({self.id!r}, agree={self.agree})"


def check_links(path: str | Path | None = None, claims: str | Path | None = None,
                studies: str | Path | None = None) -> tuple[CrossDocument, ...]:
    """Compare the claims the links file (default :data:`LINKS_FILE`) names as the same quantity.

    Raises ValueError naming the file, link and field for an unknown claim, a value name the claim
    does not report, or links within a single document only.

    Examples
    --------
    >>> {x.id: x.agree for x in check_links()}["children_cared_for_by_father"]
    False
    """
    p = Path(path) if path is not None else LINKS_FILE
    raw = read_yaml(p, label="link")
    if not isinstance(raw, dict) or not isinstance(raw.get("links"), list):
        raise ValueError(f"{p.name}: field 'links': bad value; expected a list of links.")
    ledger = {c.id: c for c in load_claims(claims, studies)}
    out = []
    for i, link in enumerate(raw["links"]):
        lid = link.get("id", f"links[{i}]")
        entries = []
        for e in link.get("claims") or []:
            c = ledger.get(e.get("claim"))
            if c is None:
                raise ValueError(f"{p.name}: link {lid!r}, field 'claims': bad value {e.get('claim')!r}; "
                                 "not a claim id of the ledger.")
            names = dict(c.reported_values)
            if e.get("value") not in names:
                raise ValueError(f"{p.name}: link {lid!r}, claim {c.id!r}, field 'value': bad value "
                                 f"{e.get('value')!r}; the claim reports {', '.join(names) or 'no values'}.")
            line = _line_of(c.document, c.quote)
            entries.append((c.id, documents.cite(c.document, line), float(names[e["value"]]), c.reported))
        if len({ledger[x[0]].document for x in entries}) < 2:
            raise ValueError(f"{p.name}: link {lid!r}, field 'claims': bad value; a link joins claims of at "
                             "least two documents.")
        tol = float(link.get("tolerance", 0.5))
        vals = [v for _, _, v, _ in entries]
        spread = max(vals) - min(vals)
        out.append(CrossDocument(id=lid, quantity=str(link["quantity"]), entries=tuple(entries), tolerance=tol,
                                 agree=spread <= tol + ROUNDING_SLACK, spread=spread,
                                 note=normalise_whitespace(str(link.get("note") or ""))))
    return tuple(out)
