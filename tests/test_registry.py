"""Study registry: every file validates, the tidy frame is complete, bad files fail clearly."""

from __future__ import annotations

import dataclasses
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from evidence.review import registry as reg
from evidence.review.registry import (
    QUANTITY_FIELDS,
    RESULT_COLUMNS,
    STATUSES,
    load_registry,
    load_studies,
    load_study,
    parse_study_file,
    provenance_frame,
)

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad_studies"

EXPECTED_STUDIES = {
    "cambridge", "project_metropolitan", "nlsy79", "mater_university", "danish_cohort",
    "stanton_1980", "great_smoky_mountains", "resettlement_surveys", "campbell_2009",
    "psych_bulletin_2012",
}

# file -> (field fragment, bad-value fragment, allowed fragment); the study id is the file stem.
BAD_CASES = {
    "missing_field": ("results[0].outcome", "None", "the required field 'outcome' is missing"),
    "count_above_n": ("events_exposed.value", "30", "cannot exceed the group size n_exposed=23"),
    "negative_count": ("n_unexposed.value", "-5", "must be >= 0"),
    "pct_above_100": ("pct_exposed.value", "120", "between 0 and 100"),
    "pct_below_0": ("pct_exposed.value", "-3", "between 0 and 100"),
    "ci_excludes_estimate": ("estimate.value", "7.0", "inside its interval [8.0, 17.5]"),
    "ci_reversed": ("ci_low.value", "20.0", "exceeds the upper limit 17.5"),
    "unknown_status": ("estimate.status", "'seen'", "reported, reconstructed, missing"),
    "wrong_type_count": ("n_exposed.value", "'23'", "whole number"),
    "float_count": ("events_exposed.value", "15.5", "whole number"),
    "wrong_type_adjusted": ("adjusted", "'yes'", "true, false, or null"),
    "reconstructed_without_method": ("events_unexposed.method", "None", "needs a method"),
    "reported_without_source": ("pct_unexposed.source", "None", "needs a source"),
    "unknown_key": ("results[0].outcom", "'convicted'", "unknown key 'outcom'"),
    "or_nonpositive": ("estimate.value", "0.0", "must be > 0"),
    "missing_with_value": ("events_unexposed.value", "48", "must have value null"),
    "missing_quantity_field": ("ci_high", "None", "the required field 'ci_high' is missing"),
    "unknown_source_key": ("pct_unexposed.source", "'somewhere'", "citation key of this study: paper"),
    "unknown_seen_in": ("pct_unexposed.seen_in", "'website'", "primary, review, secondary"),
    "duplicate_result_id": ("results[1].id", "'duplicate_result_id.outcome'", "duplicate result id"),
    "octal_count": ("results[0].n_exposed.value", "'023'", "leading zeros as octal"),
    "yes_boolean": ("results[0].adjusted", "'no'", "write true/false"),
    "duplicate_key": ("results[0].measure", "'measure'", "duplicate key"),
    "anchor_alias": ("results[0].covariates", "'&none'", "anchors and aliases"),
    "huge_int": ("results[0].n_unexposed.value", "'99999", "more than 15 digits"),
}


def test_every_bad_file_has_a_case() -> None:
    files = {p.stem for p in BAD.glob("*.yaml")}
    assert files == set(BAD_CASES) | {"bad_yaml"}
    assert len(files) >= 15


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_study_file_names_file_study_field_value(name: str) -> None:
    field, value, allowed = BAD_CASES[name]
    with pytest.raises(ValueError) as info:
        parse_study_file(BAD / f"{name}.yaml")
    msg = str(info.value)
    assert msg.startswith(f"{name}.yaml: study '{name}'")
    assert field in msg
    assert f"bad value {value}" in msg
    assert allowed in msg


def test_bad_yaml_syntax_names_file_and_line() -> None:
    with pytest.raises(ValueError, match=r"^bad_yaml\.yaml: .*bad YAML syntax at line \d+"):
        parse_study_file(BAD / "bad_yaml.yaml")


def test_duplicate_study_id_across_files() -> None:
    with pytest.raises(ValueError) as info:
        load_registry(BAD / "duplicate_across")
    msg = str(info.value)
    assert "second.yaml: study 'twin', field 'id'" in msg
    assert "already used in first.yaml" in msg


def test_empty_or_absent_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="holds no study files"):
        load_studies(tmp_path)
    with pytest.raises(ValueError, match="is not a folder; pass the folder that holds the study files"):
        load_studies(tmp_path / "absent")


def test_a_fixed_bad_file_loads(tmp_path: Path) -> None:
    """The fixtures differ from a valid file only in their stated defect."""
    text = (BAD / "pct_above_100.yaml").read_text().replace("value: 120", "value: 65")
    p = tmp_path / "fixed.yaml"
    p.write_text(text)
    s = parse_study_file(p)
    assert s.result("pct_above_100.outcome").value("pct_exposed") == 65


def test_all_study_files_load() -> None:
    studies = load_registry()
    assert {s.id for s in studies} == EXPECTED_STUDIES
    assert {s.kind for s in studies if s.id in {"campbell_2009", "psych_bulletin_2012"}} == {"summary"}


def test_tidy_frame_columns_and_rows() -> None:
    df = load_studies()
    assert tuple(df.columns) == RESULT_COLUMNS
    n_results = sum(len(s.results) for s in load_registry())
    assert len(df) == n_results
    assert df["result"].is_unique
    quant = df[df["measure"] != "qualitative"]
    for q in QUANTITY_FIELDS:
        assert set(quant[f"{q}_status"]) <= set(STATUSES)
        # a value is present exactly when the status is not 'missing'
        assert (quant[q].isna() == (quant[f"{q}_status"] == "missing")).all(), q


def test_every_number_has_provenance() -> None:
    prov = provenance_frame()
    assert len(prov) > 50
    rep = prov[prov.status == "reported"]
    assert rep["source"].notna().all() and (rep["seen_at"] != "").all()
    assert set(rep["seen_in"]) <= set(reg.SEEN_IN)
    rec = prov[prov.status == "reconstructed"]
    assert rec["method"].notna().all()
    mis = prov[prov.status == "missing"]
    assert mis["value"].isna().all() and mis["note"].notna().all()


def test_review_only_numbers_stay_visible() -> None:
    df = load_studies().set_index("result")
    assert df.loc["cambridge.conviction_19_32", "estimate_seen_in"] == "review"
    assert df.loc["project_metropolitan.offending_age_7_19", "estimate_seen_in"] == "review"
    assert df.loc["cambridge.anxiety_depression_48", "pct_exposed_seen_in"] == "review"
    assert df.loc["mater_university.kinner_externalising", "estimate_seen_in"] == "primary"
    # gaps are recorded as missing, never filled
    assert math.isnan(df.loc["nlsy79.conviction_adult", "estimate"])
    assert df.loc["nlsy79.conviction_adult", "estimate_status"] == "missing"


def test_cambridge_reconstruction_matches_published_percentages() -> None:
    r = load_study("cambridge").result("cambridge.conviction_19_32")
    assert r.q("events_exposed").status == "reconstructed"
    assert round(100 * r.value("events_exposed") / r.value("n_exposed")) == r.value("pct_exposed")
    assert round(100 * r.value("events_unexposed") / r.value("n_unexposed")) == r.value("pct_unexposed")


def test_load_study_is_frozen_and_typed() -> None:
    s = load_study("cambridge")
    assert isinstance(s, reg.Study)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "x"  # type: ignore[misc]
    r = s.result("cambridge.conviction_19_32")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.q("estimate").value = 3.0  # type: ignore[misc]
    assert isinstance(r.value("n_exposed"), int)
    assert "cambridge" in repr(s)


def test_unknown_study_id() -> None:
    with pytest.raises(ValueError, match="study_id='nope' is not in the registry; known are"):
        load_study("nope")


def _copy_studies(tmp_path: Path) -> Path:
    d = tmp_path / "studies"
    shutil.copytree(ROOT / "studies", d, ignore=shutil.ignore_patterns("claims", "sources"))
    return d


def test_edit_is_picked_up(tmp_path: Path) -> None:
    """The registry cache follows file changes (human edits)."""
    d = _copy_studies(tmp_path)
    assert load_study("stanton_1980", d).sample_value("mothers") == 75
    p = d / "stanton_1980.yaml"
    p.write_text(p.read_text().replace("value: 75", "value: -75"))
    import os
    os.utime(p, (p.stat().st_atime, p.stat().st_mtime + 5))
    with pytest.raises(ValueError, match="stanton_1980.yaml: study 'stanton_1980', field 'sample.mothers.value'"):
        load_study("stanton_1980", d)


def test_cache_is_keyed_on_content_not_mtime(tmp_path: Path) -> None:
    """An edit that keeps the file's modification time (and size) is still seen."""
    import os

    d = _copy_studies(tmp_path)
    p = d / "stanton_1980.yaml"
    assert load_study("stanton_1980", d).sample_value("mothers") == 75
    st = p.stat()
    p.write_text(p.read_text().replace("value: 75", "value: 76"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert p.stat().st_mtime_ns == st.st_mtime_ns and p.stat().st_size == st.st_size
    assert load_study("stanton_1980", d).sample_value("mothers") == 76
    # unchanged content: the cached records are returned
    assert load_registry(d) is load_registry(d)


def test_candidates_are_registry_odds_ratios_with_an_interval() -> None:
    cand = reg.candidate_effect_sizes()
    df = load_studies()
    with_ci = df[(df["measure"] == "odds_ratio") & df[["estimate", "ci_low", "ci_high"]].notna().all(axis=1)]
    assert list(cand["result"]) == list(with_ci["result"])
    assert np.allclose(cand["yi"], np.log(cand["estimate"]))
    z = stats.norm.isf(0.025)
    assert np.allclose(cand["se"], (np.log(cand["ci_high"]) - np.log(cand["ci_low"])) / (2 * z))
    assert np.allclose(cand["vi"], cand["se"] ** 2)
    pooled = cand[cand["pooled"]]
    assert pooled["study"].is_unique and set(pooled["study"]) == set(cand["study"])
    chosen = reg.one_per_study()
    assert set(chosen) == {"mater_university"}
    for study, (rid, why) in chosen.items():
        assert pooled.set_index("study").loc[study, "result"] == rid
        assert pooled.set_index("study").loc[study, "choice"] == why
    assert cand.loc[~cand["pooled"], "choice"].str.contains("not pooled").all()


def _with_pool_reason(tmp_path: Path, result_id: str) -> Path:
    """A copy of the registry with a pool_reason added to ``result_id`` (just after its citation)."""
    d = _copy_studies(tmp_path)
    p = d / "mater_university.yaml"
    lines = p.read_text().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- id: {result_id}")
    at = next(i for i in range(start, len(lines)) if lines[i].strip().startswith("citation:"))
    lines.insert(at + 1, "    pool_reason: another choice\n")
    p.write_text("".join(lines))
    return d


def test_pool_reason_on_two_results_of_a_study_is_an_error(tmp_path: Path) -> None:
    d = _with_pool_reason(tmp_path, "mater_university.kinner_alcohol")
    with pytest.raises(ValueError) as info:
        load_registry(d)
    msg = str(info.value)
    assert msg.startswith("mater_university.yaml: study 'mater_university', field 'results[")
    assert "(mater_university.kinner_alcohol).pool_reason': bad value 'another choice'" in msg
    assert "already has a pool_reason" in msg


def test_pool_reason_on_a_non_candidate_is_an_error(tmp_path: Path) -> None:
    # the adjusted Kinner result has no interval: it cannot be pooled
    d = _with_pool_reason(tmp_path, "mater_university.kinner_adjusted")
    with pytest.raises(ValueError, match=r"kinner_adjusted\)\.pool_reason'.*only an odds ratio with an estimate"):
        load_registry(d)


def test_without_a_pool_reason_the_first_unadjusted_candidate_is_pooled(tmp_path: Path) -> None:
    d = _copy_studies(tmp_path)
    p = d / "mater_university.yaml"
    text = p.read_text()
    start = text.index("    pool_reason: >-")
    end = text.index("    n_exposed:", start)
    p.write_text(text[:start] + text[end:])
    assert reg.one_per_study(d) == {}
    cand = reg.candidate_effect_sizes(d).set_index("result")
    assert cand.loc["mater_university.kinner_externalising", "pooled"]
    assert "no result of the study has a pool_reason" in cand.loc["mater_university.kinner_externalising",
                                                                   "choice"]


def test_findings_of_two_registries_checked_at_once_do_not_mix(tmp_path: Path) -> None:
    """check_findings keeps no module state: threads with different registries each get their own results."""
    from concurrent.futures import ThreadPoolExecutor

    from evidence.review.findings import check_findings

    other = _copy_studies(tmp_path)
    p = other / "cambridge.yaml"
    text = p.read_text(encoding="utf-8")
    assert "    events_unexposed:\n      value: 48\n" in text
    p.write_text(text.replace("    events_unexposed:\n      value: 48\n", "    events_unexposed:\n      value: 47\n"),
                 encoding="utf-8")
    want = {None: check_findings(), other: check_findings(studies=other)}
    key = "review.cambridge_conviction_or"
    assert {f.id: f.computed for f in want[None]}[key] != {f.id: f.computed for f in want[other]}[key]
    jobs = [None, other] * 4
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda s: check_findings(studies=s), jobs))
    for studies, result in zip(jobs, got, strict=True):
        assert [(f.id, f.computed, f.verdict) for f in result] == [(f.id, f.computed, f.verdict)
                                                                   for f in want[studies]]
