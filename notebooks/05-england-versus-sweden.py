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
# # 05 — England versus Sweden: does the effect survive controls?
#
# The review contrasts two cohorts born in 1953 in capital cities:
#
# > in Project Metropolitan (Sweden), Murray, Janson, and Farrington found that parental imprisonment did not
# > predict offspring criminal behaviour after controlling for levels of parental criminality.
#
# > The results showed that parental imprisonment was a strong predictor and a possible cause of adult
# > offending behaviour in England, but not in Sweden.
#
# This is a *qualitative* finding: no adjusted odds ratio or interval for either country was found in any
# source we could read. This notebook shows what the registry holds, what the ledger concludes, and what
# numbers would be needed to test the contrast. Terms are explained in the [glossary](../docs/glossary.md).

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import evidence
from evidence import plots, published
from evidence.review.findings import check_findings
from evidence.review.registry import load_studies, load_study

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 110)

# %% [markdown]
# ## 1. The two cohorts

# %%
england, sweden = load_study("cambridge"), load_study("project_metropolitan")
pd.DataFrame({s.country: {"study": s.name, "design": s.design} for s in (england, sweden)})

# %% [markdown]
# ## 2. What each study reports after controls
#
# The registry records the adjusted results as `qualitative`: a sentence with its source, the covariates,
# and a note of what was looked for and not found.

# %%
results = load_studies()
adjusted = results[results["study"].isin([england.id, sweden.id]) & results["adjusted"].eq(True)]
adjusted[["result", "measure", "finding"]]

# %%
for r in (england.result("cambridge.antisocial_adjusted"),
          sweden.result("project_metropolitan.adjusted_parental_convictions")):
    print(f"{r.id} [{r.seen_in}]\n  {r.finding}\n  note: {r.note}\n")

# %% [markdown]
# ## 3. The ledger's verdicts
#
# Without adjusted estimates the claims cannot be recomputed: the verdict is "not reproducible from public
# data", which says nothing against the claims — only that they rest on numbers nobody outside can check.

# %%
findings = {f.id: f for f in check_findings()}
contrast = ["review.cambridge_adjusted", "review.sweden_adjusted", "review.causal_tally"]
pd.DataFrame([(i, findings[i].claim, findings[i].verdict) for i in contrast],
             columns=["id", "claim", "verdict"])

# %% [markdown]
# ## 4. What is known on each side — and why it is not enough
#
# *Unadjusted*, the registry holds the Cambridge conviction OR 7.0 (2.8, 17.5), from which a standard error
# can be recovered (`published.se_from_ci`), and the Swedish ORs 2.4 and 2.6 by age at parental
# imprisonment, without intervals. They are not comparable:
#
# * the cross-national comparison in the paper matched the samples (boys, working class, imprisonment from
#   birth to 19, outcomes at 19–30); the registry's Cambridge OR is for separation before age 10 and
#   convictions at 19–32, and the Swedish ORs are for the whole cohort;
# * the contrast is about the *adjusted* estimates, which are missing for both.

# %%
cambridge_or = england.result("cambridge.conviction_19_32")
se_cambridge = published.se_from_ci(cambridge_or.value("estimate"), cambridge_or.value("ci_low"),
                                    cambridge_or.value("ci_high"))
print(f"Cambridge: SE of the log OR recovered from the printed interval: {se_cambridge.se:.3f}")
swedish = results[results["study"] == sweden.id].dropna(subset=["estimate"])
known = pd.DataFrame(
    [{"label": "England (Cambridge), unadjusted", "estimate": cambridge_or.value("estimate"),
      "ci_low": cambridge_or.value("ci_low"), "ci_high": cambridge_or.value("ci_high")}]
    + [{"label": f"Sweden, unadjusted, {r.result.rsplit('_', 2)[-2]}–{r.result.rsplit('_', 2)[-1]} "
        "(no interval published)", "estimate": r.estimate, "ci_low": np.nan, "ci_high": np.nan}
       for r in swedish.itertuples()])
known_plot = plots.forest(known, ratio_scale=True, measure="OR", columns=("estimate",), xlim=(0.5, 20),
                          xlabel="Odds ratio for parental imprisonment (log scale)")
known_plot.ax.set_title("What is published: unadjusted only; adjusted ORs missing in both", loc="left")
plt.show()

# %% [markdown]
# ## 5. What would be needed
#
# To test "a possible cause in England, but not in Sweden" one needs, for the matched samples of both
# cohorts:
#
# 1. the adjusted odds ratio of adult offending for parental imprisonment, controlling for parental
#    convictions, with its 95% CI (or SE) — in both countries;
# 2. the same model in both (same covariates, outcome window and age at exposure);
# 3. then a test of the difference between the two log odds ratios,
#    z = (ln OR_England − ln OR_Sweden) / √(SE²_England + SE²_Sweden) (Altman & Bland 2003), which
#    `evidence.compare.compare_odds_ratios` computes (see notebook 04 for its use).
#
# "Significant in one country and not in the other" is not by itself evidence that the effects differ.

# %%
adjusted_results = [r for s in (england, sweden) for r in s.results if r.adjusted]
for r in adjusted_results:
    print(f"{r.id}: measure={r.measure}, numbers recorded: {len(r.quantities)}; note: {r.note}")

# %% [markdown]
# ## Checks

# %%
assert all(findings[f].verdict == findings[f].expected for f in contrast)
assert all(r.adjusted and r.measure == "qualitative" and not r.quantities and "parental convictions" in r.covariates
           for r in adjusted_results) and len(adjusted) == len(adjusted_results) >= 2
assert (results.loc[results["study"] == sweden.id, "ci_low_status"].dropna() == "missing").all()
woolf = evidence.odds_ratio(*(int(cambridge_or.value(k)) for k in
                              ("events_exposed", "n_exposed", "events_unexposed", "n_unexposed")))
assert se_cambridge.consistent and abs(se_cambridge.se - woolf.se) < 0.01
assert len(known) == 3 and "1953" in england.design and "1953" in sweden.design
