"""evidence.io: CSV/Excel and RevMan 5 import into the effect-size frame; a CSV that metafor reads.

tests/data/revman_test.rm5 was made for these tests (RM5 XML layout; numbers from metadat's
dat.nielweise2007 -- with zero cells --, dat.normand1999 and dat.bcg); revman_test_dichotomous.csv and
revman_test_continuous.csv hold the same studies as a spreadsheet would.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, load_reference

import evidence
from evidence.io import read_revman, read_table, write_metafor_csv

DATA = ROOT / "tests" / "data"
RM5 = DATA / "revman_test.rm5"
REF = {c["name"]: c for c in load_reference("metafor_escalc.json")["cases"]}
DICH = {"events_exposed": "events_tx", "n_exposed": "n_tx", "events_unexposed": "events_ctrl",
        "n_unexposed": "n_ctrl"}
CONT = {"mean_exposed": "m1i", "sd_exposed": "sd1i", "n_exposed": "n1i", "mean_unexposed": "m2i",
        "sd_unexposed": "sd2i", "n_unexposed": "n2i"}


def test_revman_dichotomous_equals_the_csv_and_metafor() -> None:
    rm = read_revman(RM5, "1.1")
    csv = read_table(DATA / "revman_test_dichotomous.csv", "OR", labels="study", **DICH)
    assert list(rm["study"]) == list(csv["study"])
    assert list(rm["subgroup"]) == list(csv["subgroup"])
    np.testing.assert_array_equal(rm["yi"], csv["yi"])
    np.testing.assert_array_equal(rm["vi"], csv["vi"])
    for key in ("measure", "correction", "double_zero", "corrected", "back_transform"):
        assert rm.attrs[key] == csv.attrs[key]
    assert rm.attrs["corrected"] == ("Bach 1996", "Raad 1997")  # the zero cells
    np.testing.assert_allclose(rm["yi"], REF["nielweise_OR"]["yi"][:6], rtol=1e-10)
    np.testing.assert_allclose(rm["vi"], REF["nielweise_OR"]["vi"][:6], rtol=1e-10)
    assert rm["comparison"].iloc[0] == "Impregnated versus standard catheters"
    assert rm["outcome"].iloc[0] == "Catheter-related bloodstream infection"


def test_revman_continuous_equals_the_csv_and_metafor() -> None:
    rm = read_revman(RM5, "Length of hospital stay")
    csv = read_table(DATA / "revman_test_continuous.csv", "SMD", labels="study", **CONT)
    np.testing.assert_array_equal(rm["yi"], csv["yi"])
    np.testing.assert_array_equal(rm["vi"], csv["vi"])
    np.testing.assert_allclose(rm["yi"], REF["normand_SMD"]["yi"][:5], rtol=1e-10)
    assert (rm["subgroup"] == "").all() and rm.attrs["measure"] == "SMD"


def test_revman_generic_inverse_variance() -> None:
    rm = read_revman(RM5, "3.1")
    np.testing.assert_allclose(rm["yi"], REF["bcg_OR"]["yi"][:4], rtol=1e-12)
    np.testing.assert_allclose(rm["vi"], REF["bcg_OR"]["vi"][:4], rtol=1e-12)
    assert list(rm["study"])[1] == "Ferguson & Simes 1949"


def test_revman_all_analyses_stacked() -> None:
    rm = read_revman(RM5)
    assert list(rm.groupby("analysis", sort=True)["measure"].first()) == ["OR", "SMD", "OR"]
    assert len(rm) == 15 and rm.attrs["measure"] is None


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = RM5.read_text(encoding="utf-8")
    assert old in text
    p = tmp_path / "broken.rm5"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    return p


def test_revman_errors_name_file_analysis_study_and_field(tmp_path: Path) -> None:
    p = _broken(tmp_path, 'TOTAL_1="44"', "")
    with pytest.raises(ValueError, match=r"broken.rm5, analysis 1.1 'Catheter-related bloodstream infection', "
                                         r"study 'George 1997': the field TOTAL_1 is missing"):
        read_revman(p)
    p = _broken(tmp_path, 'SD_2="4"', 'SD_2="-4"')
    with pytest.raises(ValueError, match=r"analysis 2.1 'Length of hospital stay': field SD_2 \(sd_unexposed\) has "
                                         r"the value -4.0 at row 'Orpington-Mild'; a standard deviation must be >= 0"):
        read_revman(p)
    p = _broken(tmp_path, 'EVENTS_1="2"', 'EVENTS_1="two"')
    with pytest.raises(ValueError, match=r"study 'Maki 1997': the field EVENTS_1 has the value 'two'"):
        read_revman(p)
    p = _broken(tmp_path, 'EFFECT_MEASURE="SMD"', 'EFFECT_MEASURE="XYZ"')
    with pytest.raises(ValueError, match=r"EFFECT_MEASURE='XYZ' is not one this reader knows"):
        read_revman(p)
    with pytest.raises(ValueError, match=r"has no an analysis '9.9'|has no an analysis"):
        read_revman(RM5, "9.9")
    bad = tmp_path / "not.rm5"
    bad.write_text("this is not XML", encoding="utf-8")
    with pytest.raises(ValueError, match="could not be read as RevMan 5 XML"):
        read_revman(bad)


def test_read_table_errors_name_file_column_and_row(tmp_path: Path) -> None:
    p = tmp_path / "props.csv"
    pd.DataFrame({"site": ["Leeds", "York"], "x": [3, 12], "n": [10, 10]}).to_csv(p, index=False)
    with pytest.raises(ValueError, match=r"props.csv: column 'x' \(events=\) has the value 12.0 at row 'York'"):
        read_table(p, "PR", labels="site", events="x", n="n")
    with pytest.raises(ValueError, match="props.csv: data has no column 'events'"):
        read_table(p, "PR", labels="site", events="events", n="n")
    with pytest.raises(ValueError, match="without measure="):
        read_table(p, events="x")
    with pytest.raises(ValueError, match="has the suffix '.sav'"):
        (tmp_path / "a.sav").write_text("x")
        read_table(tmp_path / "a.sav")
    raw = read_table(p)
    assert list(raw.columns) == ["site", "x", "n"] and raw.attrs["source"] == str(p)


def test_excel_reads_like_the_csv(tmp_path: Path) -> None:
    csv_path = DATA / "revman_test_continuous.csv"
    xlsx = tmp_path / "continuous.xlsx"
    pd.read_csv(csv_path).to_excel(xlsx, sheet_name="studies", index=False)
    a = read_table(xlsx, "SMD", sheet="studies", labels="study", **CONT)
    b = read_table(csv_path, "SMD", labels="study", **CONT)
    np.testing.assert_array_equal(a["yi"], b["yi"])
    np.testing.assert_array_equal(a["vi"], b["vi"])


def test_written_csv_round_trips(tmp_path: Path) -> None:
    es = read_revman(RM5, "1.1")
    p = write_metafor_csv(es, tmp_path / "es.csv")
    back = pd.read_csv(p)
    assert list(back.columns) == list(es.columns)
    np.testing.assert_array_equal(back["yi"], es["yi"])  # full precision
    with pytest.raises(ValueError, match="has no column"):
        write_metafor_csv(es.drop(columns="vi"), tmp_path / "x.csv")


R_CHECK = """
suppressPackageStartupMessages(library(metafor)); library(jsonlite)
args <- commandArgs(trailingOnly = TRUE)
dat <- read.csv(args[1])
res <- rma(yi, vi, data = dat, method = "REML", test = "knha", control = list(threshold = 1e-12))
es <- escalc(measure = "OR", ai = events_exposed, n1i = n_exposed, ci = events_unexposed, n2i = n_unexposed,
             data = dat, var.names = c("yi2", "vi2"))
cat(toJSON(list(b = as.numeric(res$b), se = res$se, tau2 = res$tau2, yi2 = as.numeric(es$yi2)), digits = NA,
           auto_unbox = TRUE))
"""


@pytest.mark.r
def test_metafor_reads_the_written_csv_unchanged(requires_r: str, tmp_path: Path) -> None:
    es = read_revman(RM5, "1.1")
    p = write_metafor_csv(es, tmp_path / "es.csv")
    script = tmp_path / "check.R"
    script.write_text(R_CHECK, encoding="utf-8")
    out = subprocess.run([requires_r, "--vanilla", str(script), str(p)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    res = evidence.meta_analysis(es["yi"], es["vi"], method="REML", test="knha")
    assert res.estimate == pytest.approx(r["b"], rel=1e-6)
    assert res.se == pytest.approx(r["se"], rel=1e-6)
    np.testing.assert_allclose(es["yi"], r["yi2"], rtol=1e-12)


def test_revman_generic_row_without_its_estimate(tmp_path: Path) -> None:
    p = _broken(tmp_path, 'EFFECT_SIZE="0.3911', 'X="0.3911')
    with pytest.raises(ValueError, match=r"analysis 3.1 'Tuberculosis', study 'Aronson 1948': the field EFFECT_SIZE "
                                         r"is missing"):
        read_revman(p)


def test_a_stacked_revman_file_is_not_pooled_across_measures() -> None:
    with pytest.raises(ValueError, match=r"data mixes the measures 'OR', 'SMD' in its measure column"):
        evidence.meta_analysis(data=read_revman(RM5))
    one = read_revman(RM5)
    res = evidence.meta_analysis(data=one[one["analysis"] == "2.1"], labels="study")
    assert res.labels[0] == "Edinburgh" and len(res.yi) == 5
