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
# # 02 — The "average odds ratio 3.4" across five studies
#
# The review (SCIE Guide 22) says:
#
# > Four other large-scale surveys of children investigated the association between parental imprisonment
# > and child antisocial–delinquent behaviour (Huebner, Bor, Kandel, Murray). To summarise these results,
# > Murray and Farrington calculated an average odds ratio for these four studies and the Cambridge Study.
# > The average odds ratio was 3.4.
#
# Can we recompute 3.4? This notebook
#
# 1. lists what the study registry holds for each of the five studies;
# 2. shows what is missing, and what the ledger of findings concludes;
# 3. works out the algebraic constraints the 3.4 puts on the unknown numbers;
# 4. explores, **with candidate effect sizes that are not the review's inputs**, how much an "average OR"
#    depends on the averaging method and on which outcome is taken from each study.
#
# Nothing in section 4 is the review's calculation. It is a sensitivity exploration. Terms (odds ratio,
# τ², I², the verdicts) are explained in the [glossary](../docs/glossary.md).

# %%
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import evidence
from evidence import plots, published
from evidence.review.findings import check_findings, load_claims
from evidence.review.registry import candidate_effect_sizes, find_result, load_studies

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 70)

# %% [markdown]
# ## 1. What the registry holds
#
# The five studies named by the review: the Cambridge Study (England), Project Metropolitan (Sweden,
# Murray, Janson & Farrington), the NLSY79 mother–child sample (USA, Huebner & Gustafson), the Mater
# University Study of Pregnancy (Australia, Bor et al.; related paper Kinner et al. 2007) and a Danish birth
# cohort (Kandel et al.). Every effect estimate in the registry for these studies, with its status:

# %%
FIVE = ["cambridge", "project_metropolitan", "nlsy79", "mater_university", "danish_cohort"]
studies = load_studies()
held = studies[studies["study"].isin(FIVE) & studies["measure"].isin(["odds_ratio", "risk_ratio"])]
held[["result", "measure", "estimate", "estimate_status", "ci_low", "ci_high"]]

# %% [markdown]
# ## 2. What is missing
#
# The ledger of findings (`studies/claims/`) checks the sentence above. Its verdict is computed from the
# registry by `evidence.review.findings.check_findings`:

# %%
findings = {f.id: f for f in check_findings()}
average = findings["review.average_or"]
printed_average = {c.id: c for c in load_claims()}["review.average_or"].value("average")
print("claim:   ", average.claim)
print("verdict: ", average.verdict)
print("computed:", average.computed)
print("missing inputs:")
for item in average.missing_inputs:
    print("  -", item)

# %% [markdown]
# Three of the five odds ratios (NLSY79, Bor et al., Kandel et al.) were not found in any source we could
# read, nor was the averaging method (mean of the ORs, mean of the log ORs, or a weighted mean), nor which
# outcome of each study was used. **The 3.4 is not reproducible from public data.**
#
# ## 3. What the 3.4 does tell us: constraints
#
# If the Cambridge OR in the average is the published 7.0 (itself an assumption):
#
# * an **arithmetic mean** of 3.4 means the five ORs sum to 5 × 3.4 = 17, so the other four sum to 10.0;
# * a **geometric mean** (mean of log ORs) of 3.4 means the five ORs multiply to 3.4⁵, so the other four
#   multiply to 3.4⁵ / 7.0.
#
# The ledger's check computes these (with the ranges allowed by the rounding of 3.4 and 7.0):

# %%
constraints = dict(average.values)
print(f"arithmetic mean: the other four ORs sum to {constraints['sum_others']:.2f} "
      f"(mean {constraints['sum_others'] / 4:.2f})")
print(f"geometric mean:  the other four ORs multiply to {constraints['product_others']:.1f} "
      f"(geometric mean {constraints['product_others'] ** 0.25:.2f})")

# %% [markdown]
# ## 4. An exploration with candidate effect sizes (not the review's inputs)
#
# Some per-study numbers *are* visible, though none is confirmed as the one Murray and Farrington averaged:
#
# * Cambridge: conviction 19–32, OR 7.0 (2.8, 17.5);
# * Project Metropolitan: OR 2.4 (parental imprisonment at birth–6) and 2.6 (at 7–19), no intervals;
# * Mater cohort: Kinner et al. (2007), a later paper on the same cohort, paternal imprisonment →
#   externalising 2.24, internalising 1.82, alcohol use 1.68, each with a 95% CI (Bor et al.'s own OR was
#   not found);
# * Danish cohort: a **risk ratio** of 5.6 (39.1% vs about 7%, against sons of *non-offending* fathers);
#   the odds ratio implied by those percentages is computed below — it is not a published figure;
# * NLSY79: no effect size at all.

# %%
candidate_ids = {
    "Cambridge: conviction 19–32": "cambridge.conviction_19_32",
    "Project Metropolitan: imprisonment at 0-6": "project_metropolitan.offending_age_0_6",
    "Project Metropolitan: imprisonment at 7-19": "project_metropolitan.offending_age_7_19",
    "Mater (Kinner 2007): externalising": "mater_university.kinner_externalising",
    "Mater (Kinner 2007): internalising": "mater_university.kinner_internalising",
    "Mater (Kinner 2007): alcohol use": "mater_university.kinner_alcohol",
}
candidates = (
    studies.set_index("result")
    .loc[list(candidate_ids.values()), ["study", "estimate", "ci_low", "ci_high", "estimate_status"]]
    .assign(label=list(candidate_ids))
    .reset_index()
)

danish = find_result("danish_cohort.son_prison_sentence")
danish_implied_or = (published.odds_from_risk(danish.value("pct_exposed") / 100)
                     / published.odds_from_risk(danish.value("pct_unexposed") / 100))
candidates = pd.concat([candidates, pd.DataFrame([{
    "result": danish.id, "study": "danish_cohort", "estimate": danish_implied_or,
    "ci_low": np.nan, "ci_high": np.nan,
    "estimate_status": "computed here from percentages (not found in any source read)",
    "label": "Danish cohort: OR implied by 39.1% vs 6.98%",
}])], ignore_index=True)
candidates[["label", "estimate", "ci_low", "ci_high", "estimate_status"]]

# %% [markdown]
# ### Averaging methods
#
# Only two studies have an odds ratio with a confidence interval from which a standard error can be
# recovered (`published.se_from_ci`): Cambridge and the Mater cohort. The registry's candidate effect sizes
# (`candidate_effect_sizes`, one per study: the Mater externalising OR) give their log ORs and variances.
# An inverse-variance pooled estimate (common effect, and random effects) can therefore use only those two.
# The arithmetic and geometric means can use one candidate per study for the four studies that have one.

# %%
with_se = candidate_effect_sizes().query("pooled")
common = evidence.meta_analysis(with_se["yi"], with_se["vi"], method="FE", labels=list(with_se["label"]))
random_effects = evidence.meta_analysis(with_se["yi"], with_se["vi"], method="REML",
                                        labels=list(with_se["label"]))

first_choice = candidates.set_index("label").loc[[
    "Cambridge: conviction 19–32", "Project Metropolitan: imprisonment at 0-6",
    "Mater (Kinner 2007): externalising", "Danish cohort: OR implied by 39.1% vs 6.98%"], "estimate"]
methods = pd.DataFrame({
    "method": ["arithmetic mean of ORs (4 candidates)", "geometric mean of ORs (4 candidates)",
               "inverse-variance, common effect (2 candidates with SEs)",
               "inverse-variance, random effects REML (2 candidates with SEs)"],
    "average OR": [first_choice.mean(), np.exp(np.log(first_choice).mean()),
                   np.exp(common.estimate), np.exp(random_effects.estimate)],
    "ci_low": [np.nan, np.nan, np.exp(common.ci_low), np.exp(random_effects.ci_low)],
    "ci_high": [np.nan, np.nan, np.exp(common.ci_high), np.exp(random_effects.ci_high)],
})
methods.round(2)

# %% [markdown]
# The same candidates give "average ORs" more than 1.5 apart depending on the method alone. With only
# two studies the random-effects τ² is very uncertain (Q has one degree of freedom):

# %%
print(f"Q = {random_effects.q:.2f} on {random_effects.q_df} df, I² = {random_effects.i2:.0f}%, "
      f"τ² = {random_effects.tau2:.3f} (on the log odds ratio scale)")

# %% [markdown]
# ### Which outcome from each study?
#
# Taking a different (equally visible) outcome from Project Metropolitan and the Mater cohort, and either the
# Danish risk ratio as printed or its implied OR, changes the averages again. The last two columns say what
# the unknown NLSY79 OR would have to be for the five-study average to be 3.4 — a constraint, not an estimate.

# %%
options_per_study = {
    "Project Metropolitan": candidates[candidates["study"] == "project_metropolitan"],
    "Mater": candidates[candidates["study"] == "mater_university"],
    "Danish": pd.DataFrame([
        {"label": "Danish: implied OR", "estimate": danish_implied_or},
        {"label": "Danish: RR 5.6 read as an OR", "estimate": danish.value("estimate")},
    ]),
}
cambridge_or = find_result("cambridge.conviction_19_32").value("estimate")
grid = pd.DataFrame([
    {
        "Project Metropolitan": pm.label, "Mater": mater.label, "Danish": dk.label,
        "arithmetic mean (4)": np.mean([cambridge_or, pm.estimate, mater.estimate, dk.estimate]),
        "geometric mean (4)": np.exp(np.mean(np.log([cambridge_or, pm.estimate, mater.estimate,
                                                      dk.estimate]))),
        "NLSY79 OR needed (arithmetic)": constraints["sum_others"]
        - (pm.estimate + mater.estimate + dk.estimate),
        "NLSY79 OR needed (geometric)": constraints["product_others"]
        / (pm.estimate * mater.estimate * dk.estimate),
    }
    for pm, mater, dk in itertools.product(*(o.itertuples() for o in options_per_study.values()))
])
grid.round(2)

# %% [markdown]
# Where the arithmetic mean would need a negative NLSY79 OR, that combination of candidates cannot have been
# the one averaged arithmetically. Nothing here identifies the review's inputs.
#
# ### Forest plot of the candidates
#
# Squares are candidate effect sizes; lines their published 95% CIs where one exists. The bottom rows are
# the averages above, computed from candidates: diamonds for the inverse-variance estimates with their CIs,
# open diamonds for the means, which have no interval, and for the review's printed 3.4 (its inputs are
# unknown), also marked by the dotted vertical line.

# %%
forest_rows = pd.concat([
    candidates[["label", "estimate", "ci_low", "ci_high"]].assign(kind="study"),
    pd.DataFrame([{"label": "review: 'average odds ratio 3.4' (inputs unknown)",
                   "estimate": printed_average,
                   "ci_low": np.nan, "ci_high": np.nan, "kind": "pooled"}]),
    methods.rename(columns={"method": "label", "average OR": "estimate"}).assign(kind="pooled"),
], ignore_index=True)
plot = plots.forest(forest_rows, ratio_scale=True, measure="OR")
plot.ax.set_title("Candidate effect sizes — NOT the review's inputs", loc="left")
no_interval = plot.data[(plot.data["kind"] == "overall") & plot.data["ci_low"].isna()]
plot.ax.plot(no_interval["estimate"], no_interval["y"], marker="D", markerfacecolor="white",
             color="black", linestyle="none")
plot.ax.axvline(printed_average, color="grey", linestyle=":")
plt.show()

# %% [markdown]
# ## Checks

# %%
assert average.verdict == average.expected and len(average.missing_inputs) > 0
assert all(find_result(r).q("estimate").status == "missing" for r in (
    "nlsy79.conviction_adult", "mater_university.bor_delinquency_14", "danish_cohort.kandel_odds_ratio"))
assert np.allclose([constraints["sum_others"], constraints["product_others"]],
                   [5 * printed_average - cambridge_or, printed_average ** 5 / cambridge_or])
assert f"{danish_implied_or:.2f}" in average.note and len(grid) == 2 * 3 * 2
assert methods["average OR"].max() - methods["average OR"].min() > 1.5  # the method matters more than 3.4's rounding
assert with_se["estimate"].min() < np.exp(common.estimate) < with_se["estimate"].max()
