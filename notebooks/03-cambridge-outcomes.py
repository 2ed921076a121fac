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
# # 03 — The Cambridge Study outcomes: what can be reproduced?
#
# The review quotes four Cambridge Study comparisons between boys separated from a parent by imprisonment
# (birth to age 10) and other boys:
#
# | outcome | separated | comparison | published OR |
# |---|---|---|---|
# | convicted, ages 19–32 | 65% | 21% | 7.0 (2.8, 17.5) |
# | high anxiety or depression at 48 | 36% | 15% | — |
# | "poor life success" | 35% | 9% | — |
# | chronic offender in adulthood (parents imprisoned > 2 months vs < 2 months) | 35% | 7% | — |
#
# Only the first comes with an odds ratio and with group sizes. For the other three, the review prints
# rounded percentages only. This notebook shows what that allows: an *implied* odds ratio with a range
# from the rounding, and — without group sizes — no confidence interval at all. Terms are explained in the
# [glossary](../docs/glossary.md).

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evidence import plots, published
from evidence.review.findings import check_findings
from evidence.review.registry import load_study

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 90)

# %% [markdown]
# ## 1. The registry's Cambridge results
#
# For each quantitative result: the value and status of the nine numbers a 2×2 comparison needs.

# %%
cambridge = load_study("cambridge")
quantitative = [r for r in cambridge.results if r.measure != "qualitative"]
pd.DataFrame(
    {r.id.split(".", 1)[1]: {name: f"{q.value if q.value is not None else '—'} ({q.status})"
                             for name, q in r.quantities}
     for r in quantitative}
)

# %% [markdown]
# Conviction 19–32 has group sizes (reported) and counts (reconstructed, see notebook 01). The three other
# outcomes have percentages only: how many boys were still interviewed at 48, and how many boys' parents
# were imprisoned for more or less than two months, is **missing**.

# %%
for r in quantitative[1:]:
    print(f"{r.id}: {r.q('n_exposed').note} | {r.q('n_unexposed').note}")
print()
print("poor life success, outcome as recorded:", cambridge.result("cambridge.poor_life_success").outcome)

# %% [markdown]
# ## 2. The ledger's verdicts
#
# `check_findings` recomputes each claim from the registry. The conviction OR is consistent within
# rounding (its counts are reconstructed, so they show the printed OR is attainable, not that it is pinned
# down); the other three get an *implied* odds ratio from the rounded percentages, with the range the rounding allows
# (each percentage could be anything within ±0.5 of what was printed).

# %%
findings = {f.id: f for f in check_findings()}
ledger_ids = {
    "cambridge.conviction_19_32": "review.cambridge_conviction_or",
    "cambridge.anxiety_depression_48": "review.anxiety_depression",
    "cambridge.poor_life_success": "review.poor_life_success",
    "cambridge.chronic_offending": "review.chronic_offending",
}
pd.DataFrame(
    [(rid, findings[fid].reported, findings[fid].computed, findings[fid].verdict)
     for rid, fid in ledger_ids.items()],
    columns=["result", "reported", "computed", "verdict"],
)

# %% [markdown]
# ## 3. Implied odds ratios, by hand
#
# With percentages p₁ (separated) and p₀ (comparison), the implied OR is [p₁/(1−p₁)] / [p₀/(1−p₀)] and the
# implied risk ratio is p₁/p₀. `published.odds_from_risk` gives the odds of a risk.

# %%
implied = pd.DataFrame([
    {
        "result": r.id,
        "pct separated": r.value("pct_exposed"),
        "pct comparison": r.value("pct_unexposed"),
        "implied OR": published.odds_from_risk(r.value("pct_exposed") / 100)
        / published.odds_from_risk(r.value("pct_unexposed") / 100),
        "implied RR": r.value("pct_exposed") / r.value("pct_unexposed"),
        "ledger OR": dict(findings[ledger_ids[r.id]].values).get("implied_or", np.nan),
        "ledger low": dict(findings[ledger_ids[r.id]].values).get("implied_or_low", np.nan),
        "ledger high": dict(findings[ledger_ids[r.id]].values).get("implied_or_high", np.nan),
    }
    for r in quantitative[1:]
]).set_index("result")
implied.round(2)

# %% [markdown]
# Drawn: the conviction odds ratio with its 95% confidence interval (from the reconstructed counts), and the
# three implied odds ratios with the range their rounded percentages allow — **not** confidence intervals,
# which cannot be computed without the group sizes.

# %%
conviction_result = cambridge.result("cambridge.conviction_19_32")
rows = pd.DataFrame(
    [{"label": "convicted 19–32 (95% CI)", "estimate": conviction_result.value("estimate"),
      "ci_low": conviction_result.value("ci_low"), "ci_high": conviction_result.value("ci_high")}]
    + [{"label": f"{rid.split('.', 1)[1].replace('_', ' ')} (rounding range)", "estimate": r["ledger OR"],
        "ci_low": r["ledger low"], "ci_high": r["ledger high"]} for rid, r in implied.iterrows()])
outcomes_plot = plots.forest(rows, ratio_scale=True, measure="OR", columns=("estimate",),
                             xlabel="Odds ratio, separated vs other boys (log scale)")
outcomes_plot.ax.set_title("Cambridge outcomes: one interval, three rounding ranges", loc="left")
plt.show()

# %% [markdown]
# ## 4. What the missing group sizes would add
#
# Suppose, **hypothetically**, that between 10 and 23 separated boys and between 150 and 227 comparison boys
# were interviewed at the outcome age. `published.counts_from_percentages` lists every whole-number table
# whose percentages round to the printed ones. All their odds ratios sit inside the rounding range above —
# but their confidence intervals vary a lot with the group sizes, which is why the intervals cannot be
# computed without them. For anxiety/depression at 48, even whether the association is statistically
# significant at 5% (lower limit above 1) depends on the missing group sizes.

# %%
hypothetical_sizes = {"n_exposed": (10, 23), "n_unexposed": (150, 227)}
spread = []
for r in quantitative[1:]:
    tables = published.counts_from_percentages(
        r.value("pct_exposed"), hypothetical_sizes["n_exposed"],
        r.value("pct_unexposed"), hypothetical_sizes["n_unexposed"]).candidates
    spread.append({
        "result": r.id, "candidate tables": len(tables),
        "OR min": tables["odds_ratio"].min(), "OR max": tables["odds_ratio"].max(),
        "lowest CI low": tables["ci_low"].min(), "highest CI low": tables["ci_low"].max(),
        "lowest CI high": tables["ci_high"].min(), "highest CI high": tables["ci_high"].max(),
    })
spread = pd.DataFrame(spread).set_index("result")
spread.round(2)

# %% [markdown]
# ### Chronic offending: which boys?
#
# The chronic-offending comparison is between boys whose parents were imprisoned for more than two months
# and for less than two months. The review does not say which boys these are. Could both groups be among
# the 23 boys separated by parental imprisonment? Every split of at most 23 boys into two groups is tried:
# none gives 35% and 7% after rounding, so the comparison must involve other boys too (for example those
# whose parents were imprisoned at other ages) — another missing definition.

# %%
chronic = cambridge.result("cambridge.chronic_offending")
splits = published.counts_from_percentages(
    chronic.value("pct_exposed"), (1, 22), chronic.value("pct_unexposed"), (1, 22)).candidates
within_23 = splits[splits["n_exposed"] + splits["n_unexposed"] <= cambridge.sample_value(
    "separated_parental_imprisonment")]
print(f"{len(splits)} candidate tables with groups of 1-22 boys; {len(within_23)} fit within 23 boys")

# %% [markdown]
# ## Checks

# %%
assert all(findings[fid].verdict == findings[fid].expected for fid in ledger_ids.values())
assert all(cambridge.result(rid).q(k).status == "missing" for rid in list(ledger_ids)[1:]
           for k in ("n_exposed", "n_unexposed", "estimate"))
assert np.allclose(implied["implied OR"], implied["ledger OR"])  # the hand calculation is the ledger's
assert (spread["OR min"] >= implied["ledger low"] - 1e-9).all()
assert (spread["OR max"] <= implied["ledger high"] + 1e-9).all()
assert (spread["highest CI high"] / spread["lowest CI high"] > 1.3).all()  # no interval without group sizes
assert spread.loc["cambridge.anxiety_depression_48", "lowest CI low"] < 1 < spread.loc[
    "cambridge.anxiety_depression_48", "highest CI low"] and len(splits) > 0 and within_23.empty
