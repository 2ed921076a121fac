# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 — Project Metropolitan: age at parental imprisonment, sex, and cohort size
#
# The review says of the Stockholm cohort born in 1953 (Murray, Janson & Farrington 2007):
#
# > Comparing the effects of parental imprisonment on 7,277 girls and 7,595 boys in Project Metropolitan, …
# > the effects were slightly stronger for females. … The effects of parental imprisonment during both age
# > periods were very similar (odds ratios for child offending in adulthood were 2.4 for the younger
# > children and 2.6 for the older children, and were not significantly different).
#
# Two questions for students:
#
# 1. What does it take to test whether 2.4 and 2.6 differ? (Answer: their standard errors or intervals —
#    which were not published in anything we could read.)
# 2. Do the cohort sizes add up?
#
# Terms are explained in the [glossary](../docs/glossary.md).

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evidence.compare import compare_odds_ratios
from evidence.review.findings import check_findings
from evidence.review.registry import candidate_effect_sizes, load_studies, load_study

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 100)

# %% [markdown]
# ## 1. What the registry holds

# %%
metropolitan = load_study("project_metropolitan")
results = load_studies()
results[results["study"] == metropolitan.id][["result", "measure", "estimate", "ci_low", "ci_low_status"]]

# %% [markdown]
# ## 2. Testing the difference between two odds ratios
#
# For two independent odds ratios the test works on the log scale (Altman & Bland 2003):
#
# z = (ln OR₂ − ln OR₁) / √(SE₁² + SE₂²)
#
# `evidence.compare.compare_odds_ratios` computes it — but it needs SE₁ and SE₂ (or the two confidence
# intervals). For Project Metropolitan neither was found. The ledger's check says how small the standard
# error of the difference would have to be for 2.4 vs 2.6 to be significant at 5%:

# %%
findings = {f.id: f for f in check_findings()}
age_bands = findings["review.metropolitan_age_bands"]
print(age_bands.verdict)
print(age_bands.computed)
print("missing:", *age_bands.missing_inputs, sep="\n  ")

# %% [markdown]
# ### A sensitivity sketch over **hypothetical** standard errors
#
# Everything in this section is hypothetical: the standard errors are *assumed*, equal in both age bands,
# over a range. For scale, the registry's published intervals imply log-OR standard errors of about 0.47
# for the Cambridge OR (23 exposed boys) and about 0.24 for the Mater ORs (2,399 children); Project
# Metropolitan has some 15,000 children, but the number with an imprisoned parent in each age band is not
# known.

# %%
reference_ses = (candidate_effect_sizes().query("pooled").set_index("result")["se"]
                 .rename("SE of log OR (from the published CI)"))
reference_ses

# %%
younger = metropolitan.result("project_metropolitan.offending_age_0_6").value("estimate")
older = metropolitan.result("project_metropolitan.offending_age_7_19").value("estimate")
hypothetical_se = np.array([0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5])
sketch = pd.DataFrame([
    {
        "hypothetical SE per OR": s,
        "ratio": c.ratio, "ci_low": c.ci_low, "ci_high": c.ci_high, "p_value": c.p_value,
        "significant at 5%": c.p_value < 0.05,
    }
    for s in hypothetical_se
    for c in [compare_odds_ratios(older, younger, se1=s, se2=s, labels=("age 7-19", "age 0-6"))]
])
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.plot(sketch["hypothetical SE per OR"], sketch["p_value"], marker="o")
ax.axhline(0.05, color="firebrick", linestyle="--")
ax.text(0.5, 0.07, "p = 0.05", color="firebrick", ha="right")
ax.set_xscale("log")
ax.set_xticks([0.01, 0.02, 0.05, 0.1, 0.2, 0.5], ["0.01", "0.02", "0.05", "0.1", "0.2", "0.5"])
ax.minorticks_off()
ax.set_xlabel("Hypothetical standard error of each log odds ratio")
ax.set_ylabel("p-value of 2.4 vs 2.6")
ax.set_title("Only very precise odds ratios would make 2.4 and 2.6 differ", loc="left")
plt.show()
sketch[["hypothetical SE per OR", "ratio", "ci_low", "ci_high", "p_value"]].round(3)

# %% [markdown]
# Only implausibly precise estimates (SE per OR below about 0.03, i.e. each OR known to within about ±6%)
# would make 2.4 and 2.6 significantly different. The rounding of the printed ORs matters as well: 2.4 may
# be anything from 2.35 to 2.45 and 2.6 from 2.55 to 2.65, so the ratio could be between about 1.04 and
# 1.13. "Not significantly different" is therefore very plausible — but it cannot be *checked* without the
# standard errors, so the ledger records it as not reproducible.
#
# ## 3. Sex: "slightly stronger for females"
#
# No sex-specific odds ratios or intervals were found, so there is nothing to test:

# %%
sex = metropolitan.result("project_metropolitan.sex_difference")
print(sex.finding, "| seen in:", sex.seen_in, "| note:", sex.note)
print(findings["review.metropolitan_sex"].verdict)

# %% [markdown]
# ## 4. Do the cohort sizes add up?
#
# The review's 7,595 boys and 7,277 girls sum to fewer children than the 15,117 in the cohort as the paper's
# abstract gives it; the abstract database gives 7,719 boys and 7,393 girls (its text is cut after the girls'
# figure), and another paper on the same cohort gives 7,719 men and 7,398 women. The registry keeps every
# figure with its source; the reason for the differences (exclusions? a different analysis sample?) was not
# found.

# %%
sample = pd.DataFrame(
    [(name, q.value, q.status, q.seen_in, q.note) for name, q in metropolitan.sample],
    columns=["quantity", "value", "status", "seen_in", "note"],
).set_index("quantity")
sample

# %%
n = sample["value"]
sums = pd.Series({
    "boys + girls (review)": n["boys_in_review"] + n["girls_in_review"],
    "boys + girls (abstract database)": n["boys"] + n["girls_ncjrs_abstract"],
    "boys + girls (Besemer et al. 2016)": n["boys"] + n["girls"],
    "cohort (paper's abstract)": n["cohort"],
})
sums

# %%
print(findings["review.metropolitan_sample"].verdict, "|", findings["review.metropolitan_sample"].computed)

# %% [markdown]
# ## Checks

# %%
for fid in ("review.metropolitan_age_bands", "review.metropolitan_sex"):
    assert findings[fid].verdict == "not reproducible from public data" == findings[fid].expected, fid
assert findings["review.metropolitan_sample"].verdict == "untraced" == findings["review.metropolitan_sample"].expected
# the intervals that a test needs are recorded as missing
for rid in ("project_metropolitan.offending_age_0_6", "project_metropolitan.offending_age_7_19"):
    r = metropolitan.result(rid)
    assert r.q("ci_low").status == r.q("ci_high").status == "missing", rid
# the comparison's log ratio is the ledger's
values = dict(age_bands.values)
per_or_threshold = values["se_threshold"] / np.sqrt(2)
assert np.isclose(compare_odds_ratios(older, younger, se1=per_or_threshold, se2=per_or_threshold).p_value, 0.05)
assert (sketch["significant at 5%"] == (sketch["hypothetical SE per OR"] < per_or_threshold)).all()
# at SEs like those of the other cohorts' published ORs the difference is far from significant
assert compare_odds_ratios(older, younger, se1=reference_ses.min(), se2=reference_ses.min()).p_value > 0.5
# the review's boys and girls do not add up to the cohort, nor do the abstract database's
assert sums["boys + girls (review)"] < sums["cohort (paper's abstract)"]
assert sums["boys + girls (abstract database)"] != sums["cohort (paper's abstract)"]
assert sums["boys + girls (Besemer et al. 2016)"] == sums["cohort (paper's abstract)"]
assert n["boys_in_review"] < n["boys"] and n["girls_in_review"] < n["girls"]
