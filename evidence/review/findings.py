"""The findings ledger: every quantitative claim, rechecked from the study registry.

The ledger (``studies/claims/*.yaml``) lists each claim with an exact quote from
its source document, the numbers it prints and their printed precision, the
named check that recomputes it, the registry results the check uses, and the
verdict the check is expected to reach.  :func:`check_findings` runs every
check and returns frozen :class:`Finding` results; the verdict is always
*computed* from the registry, never copied from the ledger.

Verdicts (:data:`VERDICTS`)
---------------------------
``"reproduced"``
    The printed figure is recomputed from registry data to its printed precision.
``"consistent within rounding"``
    The printed figures are attainable (e.g. whole-number counts exist that
    round to them) but are not pinned down by the data.
``"not reproducible from public data"``
    Inputs are missing; the finding names them (``missing_inputs``).
``"contradicted"``
    The registry data give a different figure; the finding states it.

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

from evidence.compare import compare_odds_ratios
from evidence.effect_sizes import odds_ratio
from evidence.published import counts_from_percentages, odds_from_risk, or_to_rr, se_from_ci
from evidence.review import registry as reg
from evidence.review.yamlfile import read_yaml, short

__all__ = [
    "VERDICTS",
    "REPRODUCIBLE",
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
NOT_REPRODUCIBLE = "not reproducible from public data"
CONTRADICTED = "contradicted"
#: The four verdict words.
VERDICTS: tuple[str, ...] = (REPRODUCED, CONSISTENT, NOT_REPRODUCIBLE, CONTRADICTED)
#: Verdicts that count as "the finding reproduces" (a regression makes the CLI fail).
REPRODUCIBLE: tuple[str, ...] = (REPRODUCED, CONSISTENT)

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
    "document", "reported_values", "decimals", "tolerance", "claimed_population", "missing", "note",
)


def normalise_whitespace(text: str) -> str:
    """Collapse every run of whitespace to one space and strip the ends."""
    return re.sub(r"\s+", " ", text).strip()


def source_text(document: str) -> str:
    """Text of a source document kept in ``studies/sources/``."""
    p = SOURCES_DIR / document
    if p.is_file():
        return p.read_text(encoding="utf-8")
    known = sorted(q.name for q in SOURCES_DIR.glob("*.txt"))
    raise ValueError(
        f"document={document!r} is not one of the source documents in studies/sources/ ({', '.join(known)})."
    )


@lru_cache(maxsize=16)
def _normalised_with_offsets(document: str) -> tuple[str, str, tuple[int, ...]]:
    """(original text, normalised text, original offset of each normalised character)."""
    text = source_text(document)
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


def _line_of(document: str, quote: str) -> int | None:
    """1-based line where the (whitespace-normalised) quote starts in the document."""
    text, norm, pos = _normalised_with_offsets(document)
    k = norm.find(normalise_whitespace(quote))
    if k < 0:
        return None
    return text.count("\n", 0, pos[k]) + 1


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
    claimed_population: str | None = None
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
    return ValueError(f"{file}: claim {cid!r}, field {fld!r}: bad value {short(value)}; {allowed}.")


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
                raise _fail(path.name, cid, "quote", quote, f"the quote does not occur in {doc} (whitespace-normalised)")
        out.append(Claim(
            id=cid, document=doc, quote=quote, claim=c["claim"], reported=str(c["reported"]),
            check=c["check"], uses=tuple(uses), expected=c["expected"],
            reported_values=tuple((k, float(v)) for k, v in rv.items()), decimals=dec,
            approximation=None if tol is None else float(tol),
            claimed_population=c.get("claimed_population"),
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
    files = sorted(p.glob("*.yaml")) if p.is_dir() else [p]
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

    @property
    def matches_expected(self) -> bool:
        """The computed verdict equals the ledger's expected verdict."""
        return self.verdict == self.expected

    @property
    def regressed(self) -> bool:
        """Recorded as reproducible but no longer reproduces."""
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


# --------------------------------------------------------------------------- helpers
def _within(x: float, printed: float, decimals: int | None) -> bool:
    tol = 0.5 * 10.0 ** (-(decimals or 0))
    return abs(x - printed) <= tol + ROUNDING_SLACK


def _result(rid: str, studies: str | Path | None) -> reg.Result:
    return reg.find_result(rid, studies)


def _missing_of(r: reg.Result, names: tuple[str, ...]) -> list[str]:
    out = []
    for n in names:
        try:
            q = r.q(n)
        except KeyError:
            out.append(f"{r.id}.{n}")
            continue
        if q.value is None:
            out.append(f"{r.id}.{n}")
    return out


def _pct_range(p: float, decimals: int) -> tuple[float, float]:
    h = 0.5 * 10.0 ** (-decimals)
    return max(p - h, 0.0), min(p + h, 100.0)


def _or_from_pcts(p1: float, p0: float) -> float:
    """Odds ratio implied by two percentages."""
    return odds_from_risk(p1 / 100) / odds_from_risk(p0 / 100)


def _decimals_of(x: float) -> int:
    s = repr(float(x))
    return len(s.split(".")[1].rstrip("0")) if "." in s else 0


# --------------------------------------------------------------------------- checks
def check_sample_sizes(claim: Claim, studies: str | Path | None) -> _Outcome:
    """Printed sample sizes against the registry's study-level numbers.

    Each printed number is looked up under the same name in the study's
    ``sample``.  Numbers the registry knows only from the review itself cannot
    confirm the review (circular) and make the finding not reproducible; where
    the registry's other sources give different sizes the difference is shown.
    """
    study = reg.load_study(claim.uses[0], studies)
    sample = dict(study.sample)
    parts, missing, notes = [], [], []
    verdict = REPRODUCED
    for name, printed in claim.reported_values:
        q = sample.get(name)
        if q is None or q.value is None or q.seen_in == "review":
            missing.append(f"{study.id}: '{name}' from a source other than the review")
            verdict = NOT_REPRODUCIBLE
            continue
        parts.append(f"{name}: {q.value:g} ({q.status}, seen in {q.seen_in})")
        if not _within(float(q.value), printed, claim.decimals):
            verdict = NOT_REPRODUCIBLE if q.value > printed else CONTRADICTED
            notes.append(
                f"{name}: printed {printed:g}, registry {q.value:g} (difference {q.value - printed:+g}); "
                + ("the printed number is smaller than the cohort and may be an analysed subset that "
                   "no source read describes" if q.value > printed else
                   "the printed number exceeds the registry's")
            )
            missing.append(f"{study.id}: the analysed sample for '{name}'")
    total_note = ""
    if "cohort" in sample and len(claim.reported_values) > 1:
        printed_sum = sum(v for _, v in claim.reported_values)
        total_note = (f" Printed total {printed_sum:,.0f} vs cohort {study.sample_value('cohort'):,} "
                      f"({study.sample_value('cohort') - printed_sum:+,.0f}).")
    return _Outcome(
        computed="; ".join(parts) if parts else "no independent registry value",
        verdict=verdict, missing=tuple(missing), note="; ".join(notes) + "." * bool(notes) + total_note,
    )


def check_percentages_attainable(claim: Claim, studies: str | Path | None) -> _Outcome:
    """Are the printed percentages attainable with the registry's group sizes? (GRIM test).

    Every whole count k with 100 k / n rounding to the printed percentage is
    listed by :func:`evidence.published.counts_from_percentages`.  Attainable
    for both groups -> "consistent within rounding" (the counts themselves are
    not printed); not attainable -> "contradicted".
    """
    r = _result(claim.uses[0], studies)
    n1, n0 = r.value("n_exposed"), r.value("n_comparison")
    miss = _missing_of(r, ("n_exposed", "n_comparison"))
    if miss:
        return _Outcome("group sizes missing", NOT_REPRODUCIBLE, tuple(miss))
    p1, p0 = claim.value("pct_exposed"), claim.value("pct_comparison")
    try:
        rec = counts_from_percentages(p1, int(n1), p0, int(n0), decimals=claim.decimals or 0)
    except ValueError as exc:
        return _Outcome(f"not attainable: {exc}", CONTRADICTED)
    c = rec.candidates
    e1 = sorted(set(int(x) for x in c.events_exposed))
    e0 = sorted(set(int(x) for x in c.events_unexposed))
    computed = (f"{'/'.join(map(str, e1))} of {n1} = "
                + ", ".join(f"{100 * k / n1:.1f}%" for k in e1)
                + f"; {'/'.join(map(str, e0))} of {n0} = "
                + ", ".join(f"{100 * k / n0:.1f}%" for k in e0))
    held = [(r.value(k), r.q(k).status) for k in ("events_exposed", "events_comparison") if r.value(k) is not None]
    note = ("Counts are not printed; whole counts exist that round to the printed percentages."
            + (" Registry counts: " + " and ".join(f"{e}/{n} ({st})" for (e, st), n in zip(held, (n1, n0))) + "."
               if len(held) == 2 else ""))
    return _Outcome(computed, CONSISTENT, note=note,
                    values=(("candidates_exposed", float(len(e1))), ("candidates_comparison", float(len(e0)))))


def check_odds_ratio_from_counts(claim: Claim, studies: str | Path | None) -> _Outcome:
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
    r = _result(claim.uses[0], studies)
    miss = _missing_of(r, ("events_exposed", "n_exposed", "events_comparison", "n_comparison"))
    if miss:
        return _Outcome("counts missing", NOT_REPRODUCIBLE, tuple(miss))
    e1, n1, e0, n0 = (int(r.value(k)) for k in ("events_exposed", "n_exposed",
                                                  "events_comparison", "n_comparison"))
    res = odds_ratio(e1, n1, e0, n0, ci="woolf", alpha=1 - r.ci_level)
    est_p, lo_p, hi_p = (claim.value(k) for k in ("estimate", "ci_low", "ci_high"))
    d = claim.decimals
    ok = _within(res.estimate, est_p, d) and _within(res.ci_low, lo_p, d) and _within(res.ci_high, hi_p, d)
    statuses = {r.q(k).status for k in ("events_exposed", "n_exposed", "events_comparison", "n_comparison")}
    counts_kind = "reconstructed counts " if "reconstructed" in statuses else ""
    computed = (f"OR {res.estimate:.2f} ({res.ci_low:.2f}, {res.ci_high:.2f}) from {counts_kind}{e1}/{n1} vs "
                f"{e0}/{n0}, Woolf {100 * r.ci_level:g}% CI; p = {res.p_value:.1g}")
    notes = []
    pe, pc = r.value("pct_exposed"), r.value("pct_comparison")
    if pe is not None and pc is not None:
        rec = counts_from_percentages(pe, n1, pc, n0, decimals=_decimals_of(pe),
                                      reported_or=est_p, reported_ci=(lo_p, hi_p),
                                      or_decimals=d, alpha=1 - r.ci_level)
        c = rec.candidates
        rows = [f"{int(x.events_exposed)}/{int(x.n_exposed)} vs {int(x.events_unexposed)}/"
                f"{int(x.n_unexposed)} -> {x.odds_ratio:.2f} ({x.ci_low:.2f}, {x.ci_high:.2f})"
                f"{' matches' if x.matches else ''}" for x in c.itertuples()]
        notes.append("Count pairs attainable from the printed percentages: " + "; ".join(rows) + ".")
    if ok and res.ci_low > 1:
        notes.append("The interval excludes 1 (statistically significant), as printed.")
    notes.append(f"Risk ratio from the same counts: {(e1 / n1) / (e0 / n0):.2f}.")
    if "reconstructed" in statuses:
        notes.append("The counts are reconstructed (see the registry's method), not printed.")
    verdict = (CONSISTENT if "reconstructed" in statuses else REPRODUCED) if ok else CONTRADICTED
    return _Outcome(computed, verdict, note=" ".join(notes),
                    values=(("estimate", res.estimate), ("ci_low", res.ci_low), ("ci_high", res.ci_high)))


def _stand_in(r: reg.Result, studies: str | Path | None) -> tuple[str, float] | None:
    """A visible odds ratio for the study of ``r`` when ``r``'s own estimate is missing.

    In order: the study's result chosen by its ``pool_reason`` (:func:`evidence.review.registry.one_per_study`);
    its first other odds ratio with an estimate; its first result with both
    percentages (the OR they imply).  ``None`` when the study has none of these.
    """
    if r.value("estimate") is not None and r.measure == "odds_ratio":
        return r.id, float(r.value("estimate"))
    study = reg.load_study(r.study, studies)
    chosen = reg.one_per_study(studies).get(study.id, (None, ""))[0]
    ors = [x for x in study.results if x.measure == "odds_ratio" and x.value("estimate") is not None]
    ors.sort(key=lambda x: x.id != chosen)
    if ors:
        return ors[0].id, float(ors[0].value("estimate"))
    for x in study.results:
        p1, p0 = x.value("pct_exposed"), x.value("pct_comparison")
        if p1 is not None and p0 is not None:
            recon = "reconstructed" in (x.q("pct_exposed").status, x.q("pct_comparison").status)
            return (f"{x.id} (OR implied by {p1:g}% vs {p0:g}%"
                    + (", a reconstructed rate" if recon else "") + ")", _or_from_pcts(p1, p0))
    return None


def check_average_odds_ratio(claim: Claim, studies: str | Path | None) -> _Outcome:
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
    results = [_result(u, studies) for u in claim.uses]
    k = len(results)
    missing = [f"{r.id}.estimate (the OR used in the average)" for r in results
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
    stand_ins = [(r, _stand_in(r, studies)) for r in results[1:]]
    cands = [x for _, x in stand_ins if x is not None]
    without = [reg.load_study(r.study, studies).name for r, x in stand_ins if x is None]
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


def check_odds_read_as_risk(claim: Claim, studies: str | Path | None) -> _Outcome:
    """'About three times the risk' drawn from an odds ratio.

    An odds ratio equals a risk ratio only when the outcome is rare; RR =
    OR / (1 - p0 + p0 OR) (Zhang & Yu 1998) needs the baseline risk p0.  For
    the one study with counts (Cambridge) both are computed.
    """
    r = _result(claim.uses[0], studies)
    counts = ("events_exposed", "n_exposed", "events_comparison", "n_comparison")
    miss = _missing_of(r, counts)
    if miss:
        return _Outcome("counts missing", NOT_REPRODUCIBLE, tuple(miss))
    e1, n1, e0, n0 = (int(r.value(k)) for k in counts)
    orr = odds_ratio(e1, n1, e0, n0).estimate
    rr = (e1 / n1) / (e0 / n0)
    avg = claim.value("odds_ratio")
    times = claim.value("risk_ratio")
    p0 = e0 / n0
    rr_avg = or_to_rr(avg, p0)
    name = reg.load_study(r.study, studies).name
    computed = (f"{r.id}: RR {rr:.2f} (risk) vs OR {orr:.2f} (odds); an OR of {avg:g} "
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


def check_three_times_across_outcomes(claim: Claim, studies: str | Path | None) -> _Outcome:
    """'About three times the risk' for antisocial, mental-health and other outcomes.

    Risk ratios are computed for every Cambridge outcome with two percentages
    (range from the printed rounding), and set beside the pooled OR of the most
    rigorous studies.  Only Cambridge has mental-health and 'other' outcomes,
    and no average exists for them.
    """
    parts, vals = [], []
    for rid in claim.uses:
        r = _result(rid, studies)
        if r.measure == "proportions" or r.value("events_exposed") is not None:
            if r.value("events_exposed") is not None:
                rr = (r.value("events_exposed") / r.value("n_exposed")) / (
                    r.value("events_comparison") / r.value("n_comparison"))
                parts.append(f"{rid.split('.', 1)[1]} RR {rr:.2f}")
            else:
                p1, p0 = r.value("pct_exposed"), r.value("pct_comparison")
                a, b = _pct_range(p1, _decimals_of(p1)), _pct_range(p0, _decimals_of(p0))
                rr = p1 / p0
                parts.append(f"{rid.split('.', 1)[1]} RR {rr:.2f} ({a[0] / b[1]:.2f}-{a[1] / b[0]:.2f})")
            vals.append((rid, rr))
        elif r.measure == "odds_ratio" and r.value("estimate") is not None:
            adj = {True: "adjusted", False: "unadjusted", None: "adjustment not stated"}[r.adjusted]
            parts.append(f"{r.study} OR {r.value('estimate'):g} ({adj}; {r.outcome})")
    with_rr = sorted({rid.split(".", 1)[0] for rid, _ in vals})
    computed = ", ".join(with_rr) + " only: " + "; ".join(parts)
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


def _group_sizes(r: reg.Result, studies: str | Path | None) -> tuple[tuple[int, int], str] | None:
    """Group sizes for ``r``: its own, else those of the first result of its study with the same
    exposure and comparison (an upper bound: the groups before attrition); with the result id used."""
    candidates = [r] + [x for x in reg.load_study(r.study, studies).results
                        if x.id != r.id and x.exposure == r.exposure and x.comparison == r.comparison]
    for x in candidates:
        n1, n0 = x.value("n_exposed"), x.value("n_comparison")
        if n1 is not None and n0 is not None:
            return (int(n1), int(n0)), x.id
    return None


def check_implied_odds_ratio(claim: Claim, studies: str | Path | None) -> _Outcome:
    """Odds ratio and risk ratio implied by two printed percentages (group sizes missing).

    The range allows for the printed rounding.  Without counts neither the
    interval nor a significance test can be computed.  When the registry has
    group sizes (the result's own, or as upper bounds those of a result of the
    same study with the same exposure and comparison), the attainable exposed
    counts are listed (:func:`evidence.published.counts_from_percentages`).
    """
    r = _result(claim.uses[0], studies)
    p1, p0 = claim.value("pct_exposed"), claim.value("pct_comparison")
    d = claim.decimals or 0
    (a_lo, a_hi), (b_lo, b_hi) = _pct_range(p1, d), _pct_range(p0, d)
    or_mid = _or_from_pcts(p1, p0)
    or_lo, or_hi = _or_from_pcts(a_lo, b_hi), _or_from_pcts(a_hi, b_lo)
    computed = (f"implied OR {or_mid:.2f} ({or_lo:.2f} to {or_hi:.2f} allowing for rounding); "
                f"RR {p1 / p0:.2f}")
    missing = tuple(_missing_of(r, ("n_exposed", "n_comparison", "events_exposed", "events_comparison")))
    missing += ("an interval or test statistic for the comparison",)
    note = "Implied by rounded percentages only; not a published OR."
    sizes = _group_sizes(r, studies)
    if sizes is not None:
        (n1, n0), where = sizes
        exact = where == r.id
        rec = counts_from_percentages(p1, int(n1) if exact else (1, int(n1)),
                                      p0, int(n0) if exact else (1, int(n0)), decimals=d)
        fr = sorted({(int(x.events_exposed), int(x.n_exposed)) for x in rec.candidates.itertuples()},
                    key=lambda t: t[1])
        note += ((f" With {n1} exposed" if exact else
                  f" At most {n1} exposed (the group size in {where}, before any attrition)")
                 + ": attainable exposed counts " + ", ".join(f"{k}/{n}" for k, n in fr) + ".")
    return _Outcome(computed, NOT_REPRODUCIBLE, missing, note,
                    values=(("implied_or", or_mid), ("implied_or_low", or_lo), ("implied_or_high", or_hi)))


def check_odds_ratio_difference(claim: Claim, studies: str | Path | None) -> _Outcome:
    """Are two ORs significantly different (at :data:`SIGNIFICANCE_LEVEL`)? z test of the log OR difference.

    z = (ln OR_b - ln OR_a) / sqrt(se_a^2 + se_b^2) (Altman & Bland 2003) by
    :func:`evidence.compare.compare_odds_ratios`, with the SEs recovered from
    the registry's intervals at each result's ``ci_level``
    (:func:`evidence.published.se_from_ci`).  Without intervals, the SE of the
    difference below which the printed ORs would differ significantly is
    computed instead.
    """
    ra, rb = (_result(u, studies) for u in claim.uses)
    a, b = claim.value("estimate_a"), claim.value("estimate_b")
    d = claim.decimals or 1
    h = 0.5 * 10 ** -d
    diff = math.log(b / a)
    dlo, dhi = max(math.log((b - h) / (a + h)), 0.0), math.log((b + h) / (a - h))
    z = stats.norm.isf(SIGNIFICANCE_LEVEL / 2)
    missing = tuple(_missing_of(ra, ("estimate", "ci_low", "ci_high"))
                    + _missing_of(rb, ("estimate", "ci_low", "ci_high")))
    if not missing:
        sa, sb = (se_from_ci(x.value("estimate"), x.value("ci_low"), x.value("ci_high"),
                             alpha=1 - x.ci_level).se for x in (ra, rb))
        test = compare_odds_ratios(rb.value("estimate"), ra.value("estimate"), se1=sb, se2=sa,
                                   alpha=SIGNIFICANCE_LEVEL)
        computed = f"ratio of ORs {test.ratio:.3f}, z = {test.z:.2f}, p = {test.p_value:.2g}"
        return _Outcome(computed, REPRODUCED if test.p_value >= SIGNIFICANCE_LEVEL else CONTRADICTED,
                        values=(("z", test.z), ("p", test.p_value)))
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


def check_qualitative_finding(claim: Claim, studies: str | Path | None) -> _Outcome:
    """A qualitative (or significance-only) finding: what the registry records and where.

    Qualitative statements cannot be recomputed; the finding lists the
    registry's wording and provenance and names the numbers that would be needed.
    """
    parts, missing = [], []
    for rid in claim.uses:
        r = _result(rid, studies)
        if r.measure == "qualitative":
            parts.append(f"{rid}: {r.finding} [seen in {r.seen_in}]")
            missing.append(f"{rid}: {'adjusted ' if r.adjusted else ''}effect estimate with CI")
        else:
            est = r.value("estimate")
            parts.append(f"{rid}: {r.measure.replace('_', ' ')} "
                         f"{est:g} [{r.q('estimate').status}, seen in {r.q('estimate').seen_in}]"
                         if est is not None else f"{rid}: estimate missing")
            missing.extend(_missing_of(r, ("pct_exposed", "pct_comparison", "n_exposed", "n_comparison")))
    review_only = [rid for rid in claim.uses if _result(rid, studies).seen_in == "review"]
    note = ("Reported, not reproducible: a qualitative statement. "
            + (f"Known only from the review: {', '.join(review_only)}." if review_only else
               "The registry's primary/secondary source states the same."))
    return _Outcome(" | ".join(parts), NOT_REPRODUCIBLE, tuple(missing), note)


def check_no_registry_data(claim: Claim, studies: str | Path | None) -> _Outcome:
    """A figure with no data in the registry: not reproducible; the ledger names what is missing."""
    return _Outcome("no registry data", NOT_REPRODUCIBLE, claim.missing or ("the cited source's data",))


def check_descriptive_figure(claim: Claim, studies: str | Path | None) -> _Outcome:
    """A descriptive figure whose source is not in the registry: not reproducible.

    The arithmetic the printed numbers allow is still done: a ratio of two
    printed counts (``later``/``earlier`` against ``ratio_at_least``), and,
    for a percentage of a printed group size (``pct`` and ``n``), the whole
    counts that round to it (GRIM test, Brown & Heathers 2017).
    """
    v = dict(claim.reported_values)
    parts = []
    if {"later", "earlier"} <= set(v):
        ratio = v["later"] / v["earlier"]
        parts.append(f"{v['later']:,.0f} / {v['earlier']:,.0f} = {ratio:.2f}")
        if "ratio_at_least" in v:
            parts.append("printed numbers agree with the wording" if ratio >= v["ratio_at_least"]
                         else "printed numbers disagree with the wording")
    if {"pct", "n"} <= set(v):
        n = int(v["n"])
        ks = [k for k in range(n + 1) if abs(100 * k / n - v["pct"]) <= 0.5 * 10 ** -(claim.decimals or 0)]
        parts.append(("attainable: " + ", ".join(f"{k}/{n} = {100 * k / n:.1f}%" for k in ks)) if ks
                     else f"no whole count of {n} gives {v['pct']:g}%")
    computed = "; ".join(parts) if parts else "no registry data (descriptive figure)"
    return _Outcome(computed, NOT_REPRODUCIBLE, claim.missing or ("the cited source's data",),
                    "Descriptive figure, not an effect of parental imprisonment; its source is not in the registry.")


def check_subgroup_figure_generalised(claim: Claim, studies: str | Path | None) -> _Outcome:
    """A subgroup's percentage restated as a rate for a whole population.

    The registry results whose exposed-group percentage matches the printed
    figure are found; if none of them has the claimed population as its
    exposure, the claim misattributes the figure: "contradicted", with the
    correct statement.
    """
    printed = claim.value("pct_exposed")
    tol = (claim.tolerance or 0.5) + ROUNDING_SLACK
    used = []
    for rid in claim.uses:
        r = _result(rid, studies)
        e, n, p = r.value("events_exposed"), r.value("n_exposed"), r.value("pct_exposed")
        pct = 100 * e / n if e is not None and n else p
        if pct is not None and abs(pct - printed) <= tol:
            used.append((r, pct))
    if not used:
        return _Outcome("no registry result gives this figure", NOT_REPRODUCIBLE,
                        (f"a study of {claim.claimed_population}",))
    r, pct = used[0]
    same_population = normalise_whitespace((claim.claimed_population or "").lower()) == \
        normalise_whitespace(r.exposure.lower())
    e, n = r.value("events_exposed"), r.value("n_exposed")
    e0, n0 = r.value("events_comparison"), r.value("n_comparison")
    name = reg.load_study(r.study, studies).name
    pct0 = 100 * e0 / n0
    computed = (f"{e}/{n} = {pct:.1f}% in {name}: {r.exposure}; {r.outcome}. Comparison "
                f"{e0}/{n0} = {pct0:.1f}% ({r.comparison})")
    if same_population:
        return _Outcome(computed, REPRODUCED)
    note = (f"The figure is a subgroup of {n} in {name}, not '{claim.claimed_population}'; no result in "
            f"the registry has that population. Correct statement: {pct:.0f}% ({e} of {n}) of boys "
            f"{r.exposure} were {r.outcome.split(' (')[0]}, against {pct0:.0f}% of boys with "
            f"{r.comparison}.")
    return _Outcome(computed, CONTRADICTED, note=note, values=(("pct", pct), ("n", float(n))))


def check_inverted_odds_ratio(claim: Claim, studies: str | Path | None) -> _Outcome:
    """'X% less likely' for the visited group, from an OR for the not-visited group.

    Inverting OR = 1.39 gives 1/1.39 = 0.72: 28% lower odds.  For any
    reoffending rate the risk ratio lies between the OR and 1, so the risk
    reduction is also at most 28%.
    """
    r = _result(claim.uses[0], studies)
    orr = r.value("estimate")
    if orr is None:
        return _Outcome("odds ratio missing", NOT_REPRODUCIBLE, (f"{r.id}.estimate",))
    inv = 1 / orr
    red = 100 * (1 - inv)
    printed = claim.value("reduction_pct")
    computed = (f"1 / {orr:g} = {inv:.3f}: {red:.1f}% lower odds for visited prisoners; the risk "
                f"reduction is at most {red:.1f}% for any reoffending rate")
    ok = _within(red, printed, claim.decimals)
    note = ("" if ok else
            f"Correct figure: odds {red:.0f}% lower (OR {inv:.2f}); '{printed:g}% less likely' is not "
            f"attainable from OR {orr:g} at any base rate (the odds ratio is as reported by a "
            f"{r.q('estimate').seen_in} source).")
    return _Outcome(computed, REPRODUCED if ok else CONTRADICTED, note=note,
                    values=(("inverse_or", inv), ("reduction_pct", red)))


def check_odds_ratio_as_risk_increase(claim: Claim, studies: str | Path | None) -> _Outcome:
    """'X% more likely' from an odds ratio: needs the reoffending rates to become a risk ratio."""
    r = _result(claim.uses[0], studies)
    orr = r.value("estimate")
    if orr is None:
        return _Outcome("odds ratio missing", NOT_REPRODUCIBLE, (f"{r.id}.estimate",))
    printed = claim.value("increase_pct")
    p1, p0 = r.value("pct_exposed"), r.value("pct_comparison")
    if p1 is not None and p0 is not None:
        rr = p1 / p0
        ok = _within(100 * (rr - 1), printed, claim.decimals)
        return _Outcome(f"RR {rr:.2f}", REPRODUCED if ok else CONTRADICTED)
    same = _within(100 * (orr - 1), printed, claim.decimals)
    computed = (f"OR {orr:g} = {100 * (orr - 1):.0f}% higher odds ({'matches' if same else 'differs from'} "
                f"the printed {printed:g}%); as a risk "
                f"ratio RR = {orr:g} / (1 - p + {orr:g} p) < {orr:g} for any reoffending rate p > 0 "
                "of visited prisoners")
    study = reg.load_study(r.study, studies)
    missing = (f"{r.id}.pct_exposed", f"{r.id}.pct_comparison",
               f"the rates by group in {study.citation(r.citation).text.strip()}")
    note = (f"The {printed:g}% is an increase in odds (as the {r.q('estimate').seen_in} source words it), "
            "read here as 'more likely'; the risk increase is smaller and cannot be computed without "
            "the rates.")
    return _Outcome(computed, NOT_REPRODUCIBLE, missing, note, values=(("odds_increase_pct", 100 * (orr - 1)),))


def check_pooled_estimate(claim: Claim, studies: str | Path | None) -> _Outcome:
    """A pooled (meta-analytic) OR: reproducible only from the per-study data."""
    r = _result(claim.uses[0], studies)
    est = r.value("estimate")
    if est is None:
        return _Outcome("pooled odds ratio missing", NOT_REPRODUCIBLE, (f"{r.id}.estimate",))
    rr = 1 + claim.value("risk_increase_pct") / 100
    p0_needed = (est / rr - 1) / (est - 1)
    computed = (f"registry: OR {est:g} [{r.q('estimate').status}, seen in {r.q('estimate').seen_in}]; "
                f"'about {100 * (rr - 1):.0f}% increased risk' read as a risk ratio of {rr:.2f} needs a "
                f"baseline risk of {100 * p0_needed:.0f}% (RR = OR / (1 - p0 + p0 OR)); the abstract "
                "does not say which measure the percentage is")
    n_studies = dict(reg.load_study(r.study, studies).sample).get("studies")
    missing = ("per-study log ORs and variances of the rigorous subset",
               f"which of the {n_studies.value if n_studies is not None else 'included'} studies form "
               "the rigorous subset", "the pooling model")
    note = (f"Context for the 'three times' claims: the most rigorous studies give OR {est:g}, far below "
            "the review's average of unadjusted associations (claim review.average_or).")
    return _Outcome(computed, NOT_REPRODUCIBLE, missing, note, values=(("estimate", est),))


#: Named checks, referenced by the ledger's ``check`` field.
CHECKS: dict[str, Callable[[Claim, str | Path | None], _Outcome]] = {
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
}


def _source_label(c: Claim, studies: str | Path | None) -> str:
    if c.document.startswith("registry:"):
        rid = c.document.split(":", 1)[1]
        r = _result(rid, studies)
        study = reg.load_study(r.study, studies)
        q = r.q("estimate")
        return f"{study.citation(q.source or r.citation).url} (registry {rid})"
    line = _line_of(c.document, c.quote)
    return f"{c.document}, line {line}" if line else c.document


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
    'reproduced'
    """
    studies = studies
    out = []
    for c in load_claims(claims, studies):
        o = CHECKS[c.check](c, studies)
        if o.verdict not in VERDICTS:  # pragma: no cover - programming error
            raise RuntimeError(f"check {c.check!r} returned an unknown verdict {o.verdict!r}")
        if c.approximation is not None:
            tol = f"±{c.approximation:g} (verbal approximation, set in the ledger)"
        elif c.tolerance is not None:
            tol = f"±{c.tolerance:g} (printed to {c.decimals} decimal place(s))"
        else:
            tol = "n/a (no printed precision)"
        out.append(Finding(
            id=c.id, claim=c.claim, reported=c.reported, computed=o.computed, verdict=o.verdict,
            expected=c.expected, source=_source_label(c, studies), quote=normalise_whitespace(c.quote),
            tolerance=tol, missing_inputs=o.missing,
            note=" ".join(x for x in (o.note, c.note or "") if x), check=c.check, uses=c.uses,
            values=o.values,
        ))
    return tuple(out)
