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
# # 01 — Odds ratios from a 2×2 table: the Cambridge Study
#
# The literature review *Children of prisoners – maintaining family ties* (SCIE Guide 22, 2008) says:
#
# > of boys separated because of parental imprisonment, 65 per cent were convicted themselves between ages
# > 19 and 32, compared with 21 per cent of boys with no history of parental imprisonment or separation.
# > This translates into a large odds ratio (OR = 7.0) that is statistically significant (95% Confidence
# > Interval (CI) = 2.8, 17.5).
#
# This notebook is for trainers and students. It shows
#
# 1. where the numbers sit in the study registry, and which of them were *published* and which we
#    *reconstructed*;
# 2. how the counts behind "65% vs 21%" are recovered;
# 3. how the odds ratio and its Woolf interval come out of the 2×2 table, step by step;
# 4. how other interval methods (exact, mid-p, score) compare;
# 5. why an odds ratio of 7 does **not** mean "seven times as likely".
#
# Terms are explained in the [glossary](../docs/glossary.md). Notebook 00 is the short version for trainers.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import norm

import evidence
from evidence import options, plots, published, teaching
from evidence.review.registry import load_study

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 80)

# %% [markdown]
# ## 1. What the registry holds
#
# Every number in `studies/cambridge.yaml` carries a status: **reported** (read in a source, with where),
# **reconstructed** (back-calculated, with the method) or **missing**. The group sizes (23 boys separated
# by parental imprisonment, 227 boys with no separation) come from the study authors' slides; the
# percentages and the OR come from secondary sources and the review.

# %%
cambridge = load_study("cambridge")
conviction = cambridge.result("cambridge.conviction_19_32")
print(conviction.exposure, "\n  vs", conviction.comparison, "\n  outcome:", conviction.outcome)
pd.DataFrame(
    [(name, "—" if q.value is None else f"{q.value:g}", q.status, q.seen_in or "—")
     for name, q in conviction.quantities],
    columns=["quantity", "value", "status", "seen in"],
).set_index("quantity")

# %% [markdown]
# ## 2. Recovering the counts from the percentages
#
# The review prints percentages, not counts. Which whole numbers of convicted boys give 65% of 23 and 21%
# of 227 when rounded to whole percentages? `evidence.published.counts_from_percentages` lists every
# candidate table and ranks them by how well their odds ratio and 95% interval reproduce the published
# 7.0 (2.8, 17.5) at the precision they were printed.

# %%
reconstruction = published.counts_from_percentages(
    conviction.value("pct_exposed"), conviction.value("n_exposed"),
    conviction.value("pct_unexposed"), conviction.value("n_unexposed"),
    reported_or=conviction.value("estimate"),
    reported_ci=(conviction.value("ci_low"), conviction.value("ci_high")),
)
reconstruction.candidates[["events_exposed", "n_exposed", "events_unexposed", "n_unexposed",
                           "odds_ratio", "ci_low", "ci_high", "matches"]].round(2)

# %% [markdown]
# Only 15 of 23 rounds to 65%. For the comparison group both 47 and 48 of 227 round to 21%, but only 48
# reproduces the published interval. **15/23 versus 48/227 is therefore a reconstruction, not a published
# table** — and it assumes all 227 comparison boys were followed up to age 32. Attrition is not reported.
# If, *hypothetically*, up to a fifth of the comparison boys had been lost (180 to 227 followed up), other
# tables would fit the published figures just as well:

# %%
with_attrition = published.counts_from_percentages(
    conviction.value("pct_exposed"), conviction.value("n_exposed"),
    conviction.value("pct_unexposed"), (180, conviction.value("n_unexposed")),
    reported_or=conviction.value("estimate"),
    reported_ci=(conviction.value("ci_low"), conviction.value("ci_high")),
)
matching = with_attrition.candidates[with_attrition.candidates["matches"]]
print(f"{len(matching)} tables with 180 to 227 comparison boys reproduce 65%, 21% and 7.0 (2.8, 17.5), e.g.:")
matching[["events_exposed", "n_exposed", "events_unexposed", "n_unexposed", "odds_ratio", "ci_low",
          "ci_high"]].head(5).round(2)

# %% [markdown]
# ## 3. The odds ratio and its Woolf interval, step by step
#
# First the table as people: out of every 100 boys in each group, how many were convicted.

# %%
best = reconstruction.best
a, n1, c, n2 = (int(best[k]) for k in ("events_exposed", "n_exposed", "events_unexposed", "n_unexposed"))
people = teaching.icon_array(a, n1, c, n2, labels=("separated", "not separated"), outcome="convicted")

# %% [markdown]
# Lay the counts out as a 2×2 table:
#
# |                       | convicted | not convicted |
# |-----------------------|-----------|---------------|
# | separated by prison   | a         | b             |
# | no separation         | c         | d             |
#
# * odds of conviction among the exposed: a / b; among the comparison boys: c / d;
# * **odds ratio** OR = (a / b) / (c / d) = ad / bc;
# * on the log scale the OR is roughly normal with standard error
#   SE = √(1/a + 1/b + 1/c + 1/d) (Woolf 1955);
# * the 95% interval is exp(log OR ± 1.96 × SE).

# %%
woolf = evidence.odds_ratio(a, n1, c, n2, ci="woolf")
a, b, c, d = woolf.table
print(f"a = {a}, b = {b}, c = {c}, d = {d}")

odds_exposed, odds_unexposed = a / b, c / d
log_or = np.log(odds_exposed / odds_unexposed)
se = np.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
z = norm.ppf(1 - woolf.alpha / 2)
print(f"odds exposed {odds_exposed:.3f}, odds unexposed {odds_unexposed:.3f}")
print(f"log OR = {log_or:.4f}, SE = {se:.4f}, z = {z:.4f}")
print(f"OR = exp({log_or:.4f}) = {np.exp(log_or):.2f}")
print(f"95% CI = exp({log_or:.4f} ± {z:.2f} × {se:.4f}) = "
      f"({np.exp(log_or - z * se):.2f}, {np.exp(log_or + z * se):.2f})")
print()
print(teaching.describe(woolf, exposed="boys separated by a parent's imprisonment", unexposed="not separated",
                        happened="were convicted", outcome="conviction"))

# %% [markdown]
# The hand calculation and `evidence.odds_ratio` agree, and both round to the published 7.0 (2.8, 17.5).
#
# ## 4. Other intervals for the same table
#
# The Woolf interval relies on a normal approximation that is rough for small cells (b = 8 here).
# `evidence.odds_ratio` also gives the conditional **exact** interval (as R's `fisher.test`), the **mid-p**
# interval and the Miettinen–Nurminen **score** interval. They differ in the upper limit, but all exclude 1
# (the vertical line: no difference).

# %%
intervals = pd.concat(
    [evidence.odds_ratio(a, a + b, c, c + d, ci=method).summary_frame()
     for method in options.OR_CI_METHODS]
).set_index("ci")[["estimate", "ci_low", "ci_high", "p_value"]]
methods_plot = plots.forest(intervals.assign(label=list(intervals.index)), ratio_scale=True, measure="OR",
                            columns=("estimate",))
methods_plot.ax.set_title("Four intervals for the same table", loc="left")
plt.show()
intervals.assign(p_value=intervals["p_value"].map(lambda p: f"{p:.1e}")).round(2)

# %% [markdown]
# ## 5. Odds are not risks
#
# 65% against 21% is a **risk ratio** of about 3: separated boys had about three times the risk of a
# conviction. The odds ratio is 7 because the outcome is common (21% in the comparison group): odds
# exaggerate risk ratios when risks are high. `published.or_to_rr` converts an odds ratio to a risk ratio
# given the comparison group's risk (Zhang & Yu 1998). Reading "OR = 7.0" as "seven times as likely" is a
# common misquotation.

# %%
rr = evidence.risk_ratio(a, a + b, c, c + d)
baseline_risk = c / (c + d)
rr_from_or = published.or_to_rr(woolf.estimate, baseline_risk)
side_by_side = teaching.odds_vs_risk(a, n1, c, n2, labels=("separated", "not separated"), outcome="convicted")
print(f"risk ratio {rr.estimate:.2f} ({rr.ci_low:.2f}, {rr.ci_high:.2f}); from the OR via or_to_rr: "
      f"{rr_from_or:.2f}; odds ratio {woolf.estimate:.2f}")

# %% [markdown]
# The same odds ratio is a risk ratio close to 7 only when the outcome is rare; at the comparison boys'
# 21% it is about 3:

# %%
curve = teaching.risk_ratio_curve(woolf.estimate, baseline_risk=baseline_risk)

# %% [markdown]
# ## Checks
#
# These fail if the library or the registry changes what this notebook says.

# %%
assert (round(woolf.estimate, 1), round(woolf.ci_low, 1), round(woolf.ci_high, 1)) == tuple(
    conviction.value(k) for k in ("estimate", "ci_low", "ci_high"))  # the printed 7.0 (2.8, 17.5)
assert conviction.q("events_exposed").status == conviction.q("events_unexposed").status == "reconstructed"
assert reconstruction.candidates["matches"].sum() == 1 and len(matching) > 1  # attrition: not identified
assert np.allclose([np.exp(log_or), se, np.exp(log_or - z * se)], [woolf.estimate, woolf.se, woolf.ci_low])
assert (intervals["ci_low"] > 1).all() and people.data["icons"].tolist() == [65, 21]
assert round(rr.estimate) == 3 and np.isclose(rr_from_or, rr.estimate) and round(woolf.estimate) == 7
