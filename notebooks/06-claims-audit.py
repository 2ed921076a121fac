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
# # 06 — Claims audit: every finding, rechecked
#
# The findings ledger (`studies/claims/`) lists each quantitative claim of the review and of the
# practitioner documents that quote it: the exact quote, the numbers printed and their precision, the check
# that recomputes it and the registry results it uses. `evidence.review.findings.check_findings` runs every check
# and computes a verdict from the registry — the ledger only records which verdict is *expected*, so a change
# in the data or the library that alters a verdict shows up here (and makes `evidence reproduce` fail).
#
# Verdicts:
#
# * **reproduced** — recomputed from registry data to the printed precision;
# * **consistent within rounding** — attainable, but not pinned down by the data;
# * **not reproducible from public data** — inputs are missing (the finding names them);
# * **contradicted** — the registry data give a different figure.

# %%
import numpy as np
import pandas as pd

from evidence import published
from evidence.review.findings import VERDICTS, check_findings, load_claims
from evidence.review.registry import find_result

pd.set_option("display.width", 180)
pd.set_option("display.max_colwidth", 70)
pd.set_option("display.max_rows", 100)

# %% [markdown]
# ## 1. The table of verdicts

# %%
findings = check_findings()
table = pd.DataFrame([{**f.to_json(), "expected": f.expected} for f in findings]).set_index("id")
table[["claim", "reported", "computed", "verdict"]]

# %%
table["verdict"].value_counts().reindex(list(VERDICTS), fill_value=0)

# %% [markdown]
# ## 2. Practitioner misquotations
#
# ### "65% of boys who have had a father in prison go on to offend"
#
# The 65% is 15 of the 23 Cambridge boys who were *separated from a parent by imprisonment before age 10*,
# convicted *between 19 and 32*. It is not a rate for "boys with a father in prison", and 15 of 23 is a small
# group from one London cohort born in 1953.

# %%
by_id = {f.id: f for f in findings}
sixty_five = [f for f in findings if f.check == "subgroup_figure_generalised"]
for f in sixty_five:
    print(f"{f.id} ({f.source})\n  quote:    {f.quote}\n  computed: {f.computed}\n  verdict:  {f.verdict}\n")

# %% [markdown]
# ### "39% more likely" and "38% less likely" to reoffend
#
# The source figure (May, Sharma & Stewart 2008, as quoted in a ministerial answer) is an **odds ratio of
# 1.39** for reoffending among prisoners *without* visits compared with those *with* visits. Two slips are
# common:
#
# 1. reading 39% higher *odds* as 39% more *likely* (a risk): the risk ratio is always closer to 1 than the
#    odds ratio, by an amount that depends on the reoffending rate, which was not published;
# 2. turning it round as "39%" or "38% less likely" for visited prisoners: the inverse of 1.39 is 0.72,
#    i.e. 28% lower odds, and the risk reduction is smaller still.

# %%
visits = find_result("resettlement_surveys.reoffending_no_visits")
odds_ratio = visits.value("estimate")
reoffending_with_visits = np.linspace(0.05, 0.75, 15)  # hypothetical reoffending rates of visited prisoners
risk_ratio_no_visits = published.or_to_rr(odds_ratio, reoffending_with_visits)
reoffending_no_visits = risk_ratio_no_visits * reoffending_with_visits
risk_ratio_visited = published.or_to_rr(1 / odds_ratio, reoffending_no_visits)
pd.DataFrame({
    "reoffending with visits (hypothetical)": reoffending_with_visits,
    "risk increase without visits": risk_ratio_no_visits - 1,
    "risk reduction with visits": 1 - risk_ratio_visited,
}).round(3)

# %%
for fid in ("probation.visits_39_more_likely", "policis.visits_38_less_likely", "moj.visits_direction"):
    f = by_id[fid]
    print(f"{fid}: {f.verdict}\n  quote:    {f.quote}\n  computed: {f.computed}\n  note:     {f.note}\n")

# %% [markdown]
# ### "Three times more likely"
#
# "Three times" goes back to the review's average odds ratio of 3.4 (notebook 02), an odds ratio for
# antisocial outcomes, read as a risk ratio and extended to mental health. The most rigorous studies in the
# 2012 meta-analysis give a pooled OR of 1.4.

# %%
table.loc[[f.id for f in findings if "three_times" in f.id], ["reported", "computed", "verdict"]]

# %% [markdown]
# ## Checks
#
# Every verdict must equal the ledger's expected verdict, and the misquotations must stay flagged.

# %%
assert len(findings) == len(load_claims()) > 0
mismatches = table[table["verdict"] != table["expected"]]
assert mismatches.empty, mismatches[["verdict", "expected"]]
assert set(table["verdict"]) <= set(VERDICTS)
# the "65%" misquotations
assert len(sixty_five) >= 3
assert all(f.verdict == "contradicted" for f in sixty_five)
assert by_id["policis.sixty_five_percent"].verdict == "contradicted"
assert by_id["review.cambridge_conviction_or"].verdict == "consistent within rounding"
# "38% less likely": contradicted; "39% more likely": an odds increase, the rates are missing
assert by_id["policis.visits_38_less_likely"].verdict == "contradicted"
assert by_id["probation.visits_39_more_likely"].verdict == "not reproducible from public data"
# odds are not risks: at any reoffending rate the risk changes are smaller than the odds changes
assert (risk_ratio_no_visits - 1 < odds_ratio - 1).all()
assert (1 - risk_ratio_visited < 1 - 1 / odds_ratio).all()
claims = {c.id: c for c in load_claims()}
claimed_reduction = claims["policis.visits_38_less_likely"].value("reduction_pct") / 100
assert (1 - 1 / odds_ratio) < claimed_reduction  # not even the odds fall by 38%
assert np.isclose(100 * (odds_ratio - 1), claims["probation.visits_39_more_likely"].value("increase_pct"))
# the average OR behind "three times" is not reproducible
assert by_id["review.average_or"].verdict == "not reproducible from public data"
