"""Findings ledger: quotes exist in the sources, verdicts are computed and match the ledger."""

from __future__ import annotations

import dataclasses
import math
import re
import shutil
from pathlib import Path

import pytest

from evidence.effect_sizes import odds_ratio
from evidence.published import counts_from_percentages
from evidence.review import findings as fnd
from evidence.review.findings import VERDICTS, check_findings, load_claims
from evidence.review.registry import find_result

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "studies" / "sources"
#: The source documents and the SHA-256 of the copies kept in studies/sources (they are never edited).
SEED_SHA256 = {
    "000_c20decbd4ccc6994.txt": "74ff231b2796d5a64a1b50c633d4d82a72b06f8ff55b355c0377884466d91113",
    "001_300f056caac0c4bc.txt": "e412d968d598bd49817da463214a409c3181f4a5591f7ca2a7f6321d285c3ae1",
    "002_c017329bb45fdfaf.txt": "ed195c5d677afb06e76421ba7bf250f1ff0dddd7add86977043fb8519847161a",
    "003_dbf5bc141ce292c1.txt": "037db19023ad48c350e58a5d1d5e103ce5bae8c7cc12457ed9f7b6a4544dc3fa",
    "004_0916b3af819e2ac0.txt": "e5c68825b38d1109ce39f619689cdd20540fce3e8cd40b4f2b96c5c1d3c23fe8",
}
SEED_FILES = tuple(SEED_SHA256)

# Findings the ledger must always hold (a check that the ledger cannot quietly shrink).
REQUIRED = {
    "review.cambridge_conviction_pct", "review.cambridge_conviction_or", "review.average_or",
    "review.three_times_antisocial", "review.anxiety_depression", "review.poor_life_success",
    "review.chronic_offending", "review.metropolitan_age_bands", "review.sweden_adjusted",
    "review.three_times_summary", "policis.sixty_five_percent", "probation.sixty_five_percent",
    "policis.visits_38_less_likely", "probation.visits_39_more_likely", "meta2012.pooled_or",
}
N_CLAIMS = 94


def _norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


@pytest.fixture(scope="module")
def findings() -> dict[str, fnd.Finding]:
    return {f.id: f for f in check_findings()}


def test_source_copies_are_complete() -> None:
    import hashlib

    for name, digest in SEED_SHA256.items():
        assert (SOURCES / name).is_file(), name
        assert hashlib.sha256((SOURCES / name).read_bytes()).hexdigest() == digest, name


def test_ledger_size_and_required_claims() -> None:
    claims = load_claims()
    ids = {c.id for c in claims}
    assert len(claims) == N_CLAIMS
    assert REQUIRED <= ids
    # every source document is covered
    assert {c.document for c in claims if not c.document.startswith("registry:")} == set(SEED_FILES)


@pytest.mark.parametrize("claim", load_claims(), ids=lambda c: c.id)
def test_quote_occurs_in_its_source(claim: fnd.Claim) -> None:
    if claim.document.startswith("registry:"):
        text = find_result(claim.document.split(":", 1)[1]).quote or ""
        assert _norm(claim.quote) in _norm(text)
        return
    text = (SOURCES / claim.document).read_text(encoding="utf-8")
    assert _norm(claim.quote) in _norm(text), f"{claim.id}: quote not in {SOURCES / claim.document}"


@pytest.mark.parametrize("claim", load_claims(), ids=lambda c: c.id)
def test_computed_verdict_matches_ledger(claim: fnd.Claim, findings: dict[str, fnd.Finding]) -> None:
    f = findings[claim.id]
    assert f.verdict in VERDICTS
    assert f.verdict == claim.expected, f"{f.id}: computed {f.verdict!r}: {f.computed}"
    if f.verdict == fnd.NOT_REPRODUCIBLE:
        assert f.missing_inputs, f"{f.id} must name its missing inputs"
    if f.verdict == fnd.CONTRADICTED:
        assert f.note, f"{f.id} must give the correct figure"
    if f.verdict == fnd.MISATTRIBUTED:
        assert f.mismatches, f"{f.id} must name the dimension(s) that differ"
    if f.verdict == fnd.UNTRACED:
        assert f.missing_inputs, f"{f.id} must name the source that was not found"
    if f.kind == "descriptive":
        assert f.verdict in fnd.DESCRIPTIVE_VERDICTS + (fnd.CONTRADICTED,), f.id
    else:
        assert f.verdict in fnd.EFFECT_VERDICTS, f.id


def test_cambridge_or_reproduced_from_reconstructed_counts(findings: dict[str, fnd.Finding]) -> None:
    rec = counts_from_percentages(65, 23, 21, 227, reported_or=7.0, reported_ci=(2.8, 17.5))
    matching = rec.candidates[rec.candidates["matches"]]
    assert len(matching) == 1
    best = matching.iloc[0]
    r = find_result("cambridge.conviction_19_32")
    assert (best.events_exposed, best.events_unexposed) == (r.value("events_exposed"), r.value("events_unexposed"))
    res = odds_ratio(15, 23, 48, 227)
    assert abs(res.estimate - 7.0) <= 0.05 and abs(res.ci_low - 2.8) <= 0.05 and abs(res.ci_high - 17.5) <= 0.05
    f = findings["review.cambridge_conviction_or"]
    assert dict(f.values)["estimate"] == pytest.approx(res.estimate, rel=1e-12)
    assert "±0.05" in f.tolerance


def test_average_or_constraints(findings: dict[str, fnd.Finding]) -> None:
    v = dict(findings["review.average_or"].values)
    assert v["sum_others"] == pytest.approx(5 * 3.4 - 7.0)
    assert v["product_others"] == pytest.approx(3.4 ** 5 / 7.0)
    assert "averaging method" in " ".join(findings["review.average_or"].missing_inputs)


def test_implied_odds_ratios_from_percentages(findings: dict[str, fnd.Finding]) -> None:
    for fid, (p1, p0) in {"review.anxiety_depression": (36, 15), "review.poor_life_success": (35, 9),
                          "review.chronic_offending": (35, 7)}.items():
        implied = (p1 / (100 - p1)) / (p0 / (100 - p0))
        v = dict(findings[fid].values)
        assert v["implied_or"] == pytest.approx(implied)
        assert v["implied_or_low"] < implied < v["implied_or_high"]


def test_risk_versus_odds(findings: dict[str, fnd.Finding]) -> None:
    v = dict(findings["review.three_times_antisocial"].values)
    assert v["rr_cambridge"] == pytest.approx((15 / 23) / (48 / 227))
    assert round(v["rr_cambridge"], 1) == 3.1
    assert v["or_cambridge"] > 2 * v["rr_cambridge"]


def test_visits_inversion(findings: dict[str, fnd.Finding]) -> None:
    f = findings["policis.visits_38_less_likely"]
    assert dict(f.values)["reduction_pct"] == pytest.approx(100 * (1 - 1 / 1.39))
    assert "28%" in f.note


def test_sixty_five_percent_is_the_cambridge_subgroup(findings: dict[str, fnd.Finding]) -> None:
    for fid in ("policis.sixty_five_percent", "probation.sixty_five_percent", "toolkit.two_thirds_of_boys"):
        f = findings[fid]
        assert f.verdict == fnd.MISATTRIBUTED
        assert "15 of 23" in f.note and "19 and 32" in f.note
        # the verdict names population and outcome, with both sides of each
        assert [d for d, _, _ in f.mismatches] == ["population", "outcome"]
        claimed, data = f.mismatches[0][1], f.mismatches[0][2]
        assert "prison" in claimed and "separated" in data and "ages 0 to 10" in data
        assert f.mismatches[1][1].startswith("offending") and "ages 19 to 32" in f.mismatches[1][2]


def test_misattribution_comes_from_structured_fields(tmp_path: Path) -> None:
    """Giving the claim the data's scope (not its wording) turns 'misattributed' into 'reproduced'."""
    d = tmp_path / "claims"
    shutil.copytree(ROOT / "studies" / "claims", d)
    p = d / "02-practitioner.yaml"
    text = p.read_text(encoding="utf-8")
    old = "    scope: {population: boys, exposure: father_imprisoned, outcome: offending, measure: percentage}"
    assert old in text
    p.write_text(text.replace(old, "    scope: {population: boys, exposure: separated_by_parental_imprisonment, "
                              "exposure_ages: [0, 10], outcome: conviction, outcome_ages: [19, 32]}"),
                 encoding="utf-8")
    f = {x.id: x for x in check_findings(d)}
    assert f["policis.sixty_five_percent"].verdict == fnd.REPRODUCED
    assert f["policis.sixty_five_percent"].claim.startswith("65% of boys who have had a father")


def test_scope_comparison_names_each_dimension() -> None:
    claimed = fnd.Scope(population="prisoners", exposure="no_visits", outcome="reoffending", measure=("risk_ratio",))
    data = fnd.load_result_scopes()["resettlement_surveys.reoffending_no_visits"]
    assert [d for d, _, _ in fnd.compare_scopes(claimed, data)] == ["measure"]
    assert fnd.compare_scopes(fnd.Scope(outcome="reoffending"), data) == ()



def test_a_scope_outside_the_vocabulary_is_refused(tmp_path: Path) -> None:
    p = _write_ledger(tmp_path, _GOOD + "    scope: {exposure: fathers in prison}\n")
    with pytest.raises(ValueError, match="claim 't.or': field 'scope.exposure': bad value 'fathers in prison'"):
        load_claims(p)


def test_direction_only_statement_agrees_with_the_odds_ratio(findings: dict[str, fnd.Finding]) -> None:
    f = findings["moj.visits_direction"]
    assert f.verdict == fnd.REPRODUCED and "1.39" in f.computed and "lower" in f.computed


def test_thirty_eight_percent_states_its_condition(findings: dict[str, fnd.Finding]) -> None:
    f = findings["policis.visits_38_less_likely"]
    assert f.verdict == fnd.CONTRADICTED
    assert find_result("resettlement_surveys.reoffending_no_visits").adjusted is None
    assert "unadjusted" in f.condition and "not known" in f.condition


def test_thirty_nine_percent_is_odds_read_as_risk(findings: dict[str, fnd.Finding]) -> None:
    f = findings["probation.visits_39_more_likely"]
    assert f.verdict == fnd.MISATTRIBUTED and [d for d, _, _ in f.mismatches] == ["measure"]


def test_every_verdict_is_defined_once() -> None:
    assert set(fnd.VERDICT_DEFINITIONS) == set(VERDICTS)
    assert set(fnd.EFFECT_VERDICTS) | set(fnd.DESCRIPTIVE_VERDICTS) == set(VERDICTS)
    for v, text in fnd.VERDICT_DEFINITIONS.items():
        assert text.endswith(".") and text.count(". ") <= 1, v


def test_reported_values_are_printed_in_the_quote() -> None:
    """Every number a claim lists as printed occurs in its quote (digits or number words)."""
    from evidence.review.documents import parse_number_words

    derived = {"ratio_at_least"}  # the wording's threshold ('more than doubled' -> 2), also printed
    for c in load_claims():
        printed = parse_number_words(c.quote)
        for name, v in c.reported_values:
            tol = max(c.tolerance or 0.5, 0.05) + 1e-9
            assert any(abs(v - x) <= tol for x in printed) or name in derived and 2.0 in printed, (
                f"{c.id}: reported value {name}={v:g} is not printed in its quote")


def test_qualitative_note_claims_no_agreement_it_cannot_show(findings: dict[str, fnd.Finding]) -> None:
    for f in findings.values():
        assert "states the same" not in f.note, f.id
    assert "unadjusted associations" not in findings["meta2012.pooled_or"].note
    f = findings["review.economic_strain"]
    assert f.verdict == fnd.MISATTRIBUTED and "arrested" in f.mismatches[0][2]


def test_age_band_test_needs_intervals(findings: dict[str, fnd.Finding]) -> None:
    f = findings["review.metropolitan_age_bands"]
    assert any(m.startswith("Project Metropolitan") and "lower confidence limit" in m for m in f.missing_inputs)
    assert dict(f.values)["se_threshold"] == pytest.approx(math.log(2.6 / 2.4) / 1.959963984540054)


def test_age_band_test_runs_when_intervals_exist(tmp_path: Path) -> None:
    """With CIs in the registry the same check computes the z test instead."""
    d = tmp_path / "studies"
    shutil.copytree(ROOT / "studies", d)
    p = d / "project_metropolitan.yaml"
    text = p.read_text()
    seen = 'status: reported, source: scie_guide22, seen_in: review, seen_at: {file: x.txt}'
    for lo, hi in (("2.0", "2.9"), ("2.2", "3.1")):
        for name, v in (("ci_low", lo), ("ci_high", hi)):
            text = text.replace(f'{name}: {{value: null, status: missing, note: "No CI or SE',
                                f'{name}: {{value: {v}, {seen}}}  #', 1)
    p.write_text(text)
    f = {x.id: x for x in check_findings(d / "claims", d)}["review.metropolitan_age_bands"]
    assert f.verdict == fnd.REPRODUCED  # the printed 'not significantly different' holds
    assert "z =" in f.computed


def test_regression_is_detected(tmp_path: Path) -> None:
    """Changing the registry's counts makes the Cambridge OR stop reproducing."""
    d = tmp_path / "studies"
    shutil.copytree(ROOT / "studies", d)
    p = d / "cambridge.yaml"
    text = p.read_text()
    p.write_text(text.replace("    events_unexposed:\n      value: 48", "    events_unexposed:\n      value: 47", 1))
    f = {x.id: x for x in check_findings(d / "claims", d)}["review.cambridge_conviction_or"]
    assert f.verdict == fnd.CONTRADICTED
    assert f.regressed and not f.matches_expected


def test_finding_is_frozen_and_exports_six_keys(findings: dict[str, fnd.Finding]) -> None:
    f = findings["review.cambridge_conviction_or"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.verdict = "x"  # type: ignore[misc]
    assert list(f.to_json()) == ["id", "claim", "reported", "computed", "verdict", "source"]
    assert f.source.startswith("Children of prisoners - maintaining family ties (SCIE Guide 22), section "
                               "'Parental imprisonment as a risk factor for adverse child outcomes', line ")
    assert "_" not in f.source.split(",")[0]


def test_source_line_points_at_the_quote(findings: dict[str, fnd.Finding]) -> None:
    f = findings["review.cambridge_conviction_or"]
    line = int(f.source.rsplit(" ", 1)[1])
    assert line == f.line
    lines = (SOURCES / "002_c017329bb45fdfaf.txt").read_text(encoding="utf-8").splitlines()
    first_words = " ".join(f.quote.split()[:4])
    assert first_words in _norm(lines[line - 1])
    assert first_words not in _norm(" ".join(lines[: line - 1]))


def _write_ledger(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "claims.yaml"
    p.write_text("document: 002_c017329bb45fdfaf.txt\nclaims:\n" + body)
    return p


_GOOD = """  - id: t.or
    quote: "The average odds ratio was 3.4,"
    claim: c
    reported: r
    reported_values: {average: 3.4}
    decimals: 1
    check: average_odds_ratio
    uses: [cambridge.conviction_19_32, nlsy79.conviction_adult]
    expected: not reproducible from public data
"""


@pytest.mark.parametrize(
    "edit, field, allowed",
    [
        (("The average odds ratio was 3.4,", "The average odds ratio was 3.9,"), "quote", "does not occur"),
        (("check: average_odds_ratio", "check: averge"), "check", "known checks are"),
        (("expected: not reproducible from public data", "expected: fine"), "expected", "allowed verdicts"),
        (("claim: c", "claim: c\n    claimm: d"), "claimm", "unknown key"),
        (("nlsy79.conviction_adult", "nlsy79.nothing"), "uses", "not a result or study id"),
        (("decimals: 1", "decimals: -1"), "decimals", "whole number >= 0"),
    ],
)
def test_bad_ledger_entries(tmp_path: Path, edit: tuple[str, str], field: str, allowed: str) -> None:
    assert load_claims(_write_ledger(tmp_path, _GOOD))  # the unedited entry is valid
    p = _write_ledger(tmp_path, _GOOD.replace(*edit))
    with pytest.raises(ValueError) as info:
        load_claims(p)
    msg = str(info.value)
    assert msg.startswith("claims.yaml: claim 't.or'") and f"field {field!r}" in msg and allowed in msg


def test_reconstructed_counts_make_a_match_consistent_not_reproduced(tmp_path: Path,
                                                                     findings: dict[str, fnd.Finding]) -> None:
    """The same counts, printed instead of reconstructed, reproduce the OR; reconstructed, they are consistent."""
    import yaml

    assert findings["review.cambridge_conviction_or"].verdict == fnd.CONSISTENT
    d = tmp_path / "studies"
    shutil.copytree(ROOT / "studies", d)
    p = d / "cambridge.yaml"
    raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    res = next(r for r in raw["results"] if r["id"] == "cambridge.conviction_19_32")
    for k in ("events_exposed", "events_unexposed"):
        assert res[k]["status"] == "reconstructed"
        res[k] = {"value": res[k]["value"], "status": "reported", "source": res["n_exposed"]["source"],
                  "seen_in": "primary", "seen_at": {"file": "printed.txt"}}
    p.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    f = {x.id: x for x in check_findings(d / "claims", d)}["review.cambridge_conviction_or"]
    assert f.verdict == fnd.REPRODUCED
    before = dict(findings["review.cambridge_conviction_or"].values)
    assert dict(f.values)["estimate"] == pytest.approx(before["estimate"])


def test_provenance_slips_stay_fixed() -> None:
    """Slips found by the number-by-number audit of the registry."""
    from evidence.review.registry import load_registry, load_study

    # Cambridge 65% / 21%: the secondary page copies the review word for word, so they are review-only
    camb = find_result("cambridge.conviction_19_32")
    for k in ("pct_exposed", "pct_unexposed"):
        assert camb.q(k).seen_in == "review" and camb.q(k).source == "scie_guide22", k
    # Project Metropolitan: the girls used sum with the boys to the cohort
    pm = load_study("project_metropolitan")
    assert pm.sample_value("boys") + pm.sample_value("girls") == pm.sample_value("cohort")
    # the adjusted Cambridge result lists only covariates its primary abstract names
    adj = find_result("cambridge.antisocial_adjusted")
    assert adj.seen_in == "primary" and "low child IQ" not in adj.covariates
    for s in load_registry():
        for c in s.citations:
            # no record says "authors not shown" (the Danish cohort's page names E Kandel)
            assert "authors not shown" not in c.text, (s.id, c.key)
            # a key naming an NCJ number names the one its text gives
            m = re.fullmatch(r"ncjrs_(\d+)", c.key)
            if m:
                assert f"NCJ {m.group(1)}" in c.text, (s.id, c.key)


def test_cross_document_disagreements_are_linked() -> None:
    links = {x.id: x for x in fnd.check_links()}
    # the three disagreements the audit found: 66% vs two thirds, 17,700 vs 17,000, 25% vs 9%
    for lid, values in {"women_prisoners_mothers": {66.0, 66.7}, "children_separated_from_mother": {17700.0, 17000.0},
                        "children_cared_for_by_father": {25.0, 9.0}}.items():
        x = links[lid]
        assert not x.agree and {v for _, _, v, _ in x.entries} == values, lid
        assert all(", line " in src and "_" not in src.split(",")[0] for _, src, _, _ in x.entries)
    assert links["boys_who_offend"].agree


@pytest.mark.parametrize("edit, message", [
    (("claim: moj.other_parent_9, value: pct}", "claim: moj.other_parent_9, value: pctt}"), "the claim reports pct"),
    (("claim: moj.other_parent_9,", "claim: moj.nothing,"), "not a claim id"),
])
def test_bad_links_are_refused(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    text = (ROOT / "studies" / "claims" / "links.yaml").read_text(encoding="utf-8")
    assert edit[0] in text
    p = tmp_path / "links.yaml"
    p.write_text(text.replace(*edit), encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        fnd.check_links(p)


def test_reproduce_prints_the_verdicts_meaning_and_the_disagreements(capsys: pytest.CaptureFixture[str]) -> None:
    from evidence.review.cli import main

    assert main(["reproduce"]) == 0
    out = capsys.readouterr().out
    for v, text in fnd.VERDICT_DEFINITIONS.items():
        assert f"  {v}: {text}" in out
    assert "Documents disagree on children separated from their mother by imprisonment each year: 17,700" in out


def test_a_descriptive_figure_is_traced_only_when_a_source_read_prints_it(tmp_path: Path) -> None:
    body = """  - id: t.children
    quote: "Indeed, the majority of the estimated 162,000 children will remain unknown"
    claim: c
    reported: r
    reported_values: {n: 162000}
    check: descriptive_figure
    uses: []
    missing: [the cited source]
    expected: untraced
"""
    assert [f.verdict for f in check_findings(_write_ledger(tmp_path, body))] == [fnd.UNTRACED]
    traced = body.replace("    missing: [the cited source]\n", "    traced_in: a source read (for the test)\n")
    f = check_findings(_write_ledger(tmp_path, traced.replace("expected: untraced", "expected: traced")))[0]
    assert f.verdict == fnd.TRACED and not f.missing_inputs and "a source read" in f.computed
