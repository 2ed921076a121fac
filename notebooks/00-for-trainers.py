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
# # 00 — For trainers: what an odds ratio of 7.0 means (a 10-minute session)
#
# For trainers of probation officers, social workers and prison staff. Four pictures, two sentences and two
# common misreadings, all from one table. Words in **bold** are in the [glossary](../docs/glossary.md). To let
# the group change the numbers themselves, run `evidence explain --html explainer.html` and open the file (it
# works offline, from a USB stick), or use the sliders at the end of this notebook in JupyterLab.
#
# **The claim.** The review *Children of prisoners – maintaining family ties* (2008) reports that boys
# separated from a parent by imprisonment were more often convicted as adults: 65% against 21%, "a large odds
# ratio (OR = 7.0)".

# %%
from evidence import odds_ratio, published, risk_ratio, teaching
from evidence.review.findings import check_findings
from evidence.review.registry import find_result

conviction = find_result("cambridge.conviction_19_32")
a, n1, c, n2 = (int(conviction.value(k)) for k in ("events_exposed", "n_exposed", "events_unexposed",
                                                       "n_unexposed"))
groups = ("separated", "not separated")
words = {"exposed": "boys separated by a parent's imprisonment", "unexposed": "not separated",
         "happened": "were convicted", "outcome": "conviction"}

# %% [markdown]
# ## 1. The table as people (2 minutes)
#
# 23 boys were separated from a parent by imprisonment before age 10; 227 boys were not. The counts of
# convicted boys (15 and 48) are reconstructed from the printed 65% and 21% (see notebook 01). Out of every
# 100 boys:

# %%
people = teaching.icon_array(a, n1, c, n2, labels=groups, outcome="convicted")

# %% [markdown]
# In words — this is what to say to a group:

# %%
print(teaching.describe(odds_ratio(a, n1, c, n2), **words))

# %% [markdown]
# ## 2. Odds are not risks (3 minutes)
#
# The **risk** is convicted boys out of all boys (15 of 23 = 65%). The **odds** are convicted boys for each
# boy not convicted (15 to 8 = 1.88). The **odds ratio** divides the odds (1.88 / 0.27 = 7.0); the
# **risk ratio** divides the risks (65% / 21% = 3.1). Separated boys were about **three times** as likely to
# be convicted — not seven.

# %%
side_by_side = teaching.odds_vs_risk(a, n1, c, n2, labels=groups, outcome="convicted")

# %% [markdown]
# Why are they so different? Because conviction is common (21% even without separation). The more common the
# outcome, the further the odds ratio is from the risk ratio. For the same odds ratio of 7.0:

# %%
curve = teaching.risk_ratio_curve(conviction.value("estimate"), baseline_risk=c / n2)

# %% [markdown]
# ## 3. Misreading one: "65% of boys with a father in prison go on to offend" (2 minutes)
#
# Practitioner documents say this. The 65% is **15 of 23** boys in one London study, separated from a
# parent (father or mother) by imprisonment **before age 10**, and convicted **between 19 and 32**. It is
# not a figure about all boys with a father in prison. The checks of these quotations:

# %%
findings = {f.id: f for f in check_findings()}
for fid in ("policis.sixty_five_percent", "probation.sixty_five_percent"):
    print(f"{findings[fid].claim}\n  verdict: {findings[fid].verdict}\n")

# %% [markdown]
# ## 4. Misreading two: "38% less likely to reoffend" (2 minutes)
#
# A resettlement survey found that prisoners who received **no** visits had odds of reoffending 1.39 times
# those of prisoners who were visited. Turned round, visited prisoners had odds 1 / 1.39 = 0.72 times as
# high: **28% lower odds**, not "38% less likely". And since this is an odds ratio, the risk is reduced by
# *at most* 28% — less when reoffending is common. The curve never goes below 0.72:

# %%
no_visits = find_result("resettlement_surveys.reoffending_no_visits")
inverted = 1 / no_visits.value("estimate")
visits_curve = teaching.risk_ratio_curve(inverted)
visits_curve.ax.set_title(f"Visited vs not visited: odds ratio {inverted:.2f}\n"
                          "the risk is at most 28% lower", loc="left")
print(f"1 / {no_visits.value('estimate')} = {inverted:.3f}: odds {1 - inverted:.0%} lower")

# %% [markdown]
# ## 5. Why the interval is so wide (1 minute)
#
# "OR 7.0 (95% CI 2.8 to 17.5)": the **confidence interval** is wide because only 23 boys were separated.
# The same proportions in more boys would give a narrower interval:

# %%
narrowing = teaching.interval_narrowing(a, n1, c, n2)

# %% [markdown]
# ## Try it: change the table
#
# In JupyterLab the sliders below change the four numbers and redraw the picture. Offline, in a browser:
# `evidence explain --html explainer.html`.

# %%
teaching.explainer_widget(a, n1, c, n2, labels=groups, outcome="convicted", baseline_risk=c / n2)

# %% [markdown]
# ## Checks

# %%
rr = risk_ratio(a, n1, c, n2)
assert people.data["icons"].tolist() == [65, 21] and round(rr.estimate, 1) == 3.1
assert round(odds_ratio(a, n1, c, n2).estimate, 1) == conviction.value("estimate") == 7.0
assert curve.data["risk_ratio"].iloc[0] == published.or_to_rr(7.0, c / n2) and round(rr.estimate) == 3
assert all(findings[f].verdict == findings[f].expected for f in ("policis.sixty_five_percent",
                                                                "probation.sixty_five_percent",
                                                                "policis.visits_38_less_likely"))
assert round(1 - inverted, 2) == 0.28 and visits_curve.arrays["risk_ratio"].min() >= inverted
assert narrowing.data["ci_high"].is_monotonic_decreasing
