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
# # 07 — The analyst's toolkit: 13 vaccine trials, then the review's two candidates
#
# The standard tools of a meta-analysis — random-effects pooling, forest plot with a prediction interval,
# meta-regression, leave-one-out, influence, Baujat, GOSH, funnel plot with small-study tests and trim and
# fill, radial plot — need enough studies to show anything. So this notebook first runs them on
# a classic teaching data set with 13 studies: the BCG vaccine trials against tuberculosis (Colditz et al.
# 1994; metafor's `dat.bcg`, shipped as `evidence.datasets.load_dataset("bcg_vaccine")`). Then it turns to
# the review: the registry holds odds ratios with intervals from only **two** cohorts, and section 5 shows
# what the same tools can (and cannot) say with two. Terms are explained in the
# [glossary](../docs/glossary.md).

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import evidence
from evidence import plots
from evidence.datasets import load_dataset
from evidence.review.registry import CANDIDATES_CAVEAT, candidate_effect_sizes
from evidence.review.report import toolkit_figures

bcg = load_dataset("bcg_vaccine")
print(bcg.attrs["info"].citation)
bcg

# %% [markdown]
# ## 1. Pooling: a random-effects meta-analysis
#
# Each trial gives a 2×2 table (vaccinated or not, tuberculosis or not); `log_odds_ratios` turns each into a
# log odds ratio and its variance, and `meta_analysis` pools them (REML estimate of τ², the between-trial
# variance, with the Knapp–Hartung test, which is better when studies are few). The forest plot shows each
# trial (square size = weight), the pooled odds ratio (diamond) and the **prediction interval** (where the
# effect of a new trial like these would lie).

# %%
labels = [f"{a} {y}" for a, y in zip(bcg["author"], bcg["year"], strict=True)]
counts = pd.DataFrame({"events_exposed": bcg["tpos"], "n_exposed": bcg["tpos"] + bcg["tneg"],
                       "events_unexposed": bcg["cpos"], "n_unexposed": bcg["cpos"] + bcg["cneg"]})
es = evidence.log_odds_ratios(*(counts[c] for c in counts))
res = evidence.meta_analysis(es.yi, es.vi, method="REML", test="knha", labels=labels)
forest = plots.forest(res, ratio_scale=True, measure="OR", counts=counts)
forest.ax.set_title("BCG vaccine and tuberculosis: 13 trials", loc="left")
print(f"pooled OR {np.exp(res.estimate):.2f} (95% CI {np.exp(res.ci_low):.2f} to {np.exp(res.ci_high):.2f}); "
      f"prediction interval {np.exp(res.pi_low):.2f} to {np.exp(res.pi_high):.2f}; "
      f"τ² = {res.tau2:.2f}, I² = {res.i2:.0f}%")

# %% [markdown]
# The vaccine roughly halves the odds of tuberculosis on average, but the trials disagree far more than
# chance allows (I² above 90%): the prediction interval runs from a large benefit to possible harm.
#
# ## 2. Explaining the disagreement: meta-regression on latitude
#
# Trials further from the equator found larger benefits. A meta-regression of the log odds ratio on absolute
# latitude (bubble size = weight in the random-effects model):

# %%
reg = evidence.meta_regression(es.yi, es.vi, bcg[["ablat"]], method="REML", labels=labels)
fig, ax = plt.subplots(figsize=(8, 5))
ax.scatter(bcg["ablat"], np.exp(es.yi), s=3000 * res.weights / res.weights.sum(), alpha=0.6,
           edgecolors="black")
lat = np.linspace(bcg["ablat"].min(), bcg["ablat"].max(), 50)
ax.plot(lat, np.exp(reg.estimate[0] + reg.estimate[1] * lat), color="firebrick")
ax.axhline(1, color="black", lw=0.8)
ax.set_yscale("log")
ax.set_yticks([0.2, 0.5, 1, 2], ["0.2", "0.5", "1", "2"])
ax.minorticks_off()
ax.set_xlabel("Absolute latitude of the trial (degrees)")
ax.set_ylabel("Odds ratio (log scale)")
ax.set_title("Further from the equator, a stronger effect", loc="left")
plt.show()
pd.DataFrame({"estimate": reg.estimate, "ci_low": reg.ci_low, "ci_high": reg.ci_high},
             index=reg.names).round(3)

# %% [markdown]
# Latitude accounts for most of the between-trial variance (R², the share of τ² explained):

# %%
print(f"τ² without moderator {evidence.meta_analysis(es.yi, es.vi, method='REML').tau2:.3f}; "
      f"with latitude {reg.tau2:.3f}; R² = {reg.r2:.0f}%")

# %% [markdown]
# ## 3. Is one trial driving the result? Leave-one-out, influence, Baujat, GOSH
#
# Leaving each trial out in turn and pooling the other 12:

# %%
loo = evidence.leave_one_out(es.yi, es.vi, method="REML", test="knha", labels=labels)
loo_rows = pd.DataFrame({"label": [f"without {x}" for x in labels], "estimate": np.exp(loo.estimate),
                         "ci_low": np.exp(loo.ci_low), "ci_high": np.exp(loo.ci_high)})
loo_plot = plots.forest(loo_rows, ratio_scale=True, measure="OR", columns=("estimate",))
loo_plot.ax.axvline(np.exp(res.estimate), color="firebrick", ls=":")
loo_plot.ax.set_title("Pooled OR leaving out one trial (dotted: all 13)", loc="left")
plt.show()

# %% [markdown]
# No single trial moves the pooled odds ratio much. Influence diagnostics (Viechtbauer & Cheung 2010) flag
# trials that change the fit; the Baujat plot puts each trial's contribution to the heterogeneity (x) against
# its influence on the pooled result (y); the numbers are the trials' rows in the table above, plus one:

# %%
infl = evidence.influence(es.yi, es.vi, method="REML", labels=labels)
bj = evidence.baujat(es.yi, es.vi, method="REML", labels=labels)
bj_plot = plots.baujat(bj, labels=[str(i + 1) for i in range(len(labels))])
bj_plot.ax.set_title("Baujat plot", loc="left")
plt.show()
infl.summary_frame()[["rstudent", "cook_d", "hat", "influential"]].round(2).sort_values("cook_d").tail(4)

# %% [markdown]
# GOSH (Olkin et al. 2012): the pooled odds ratio and I² of every one of the 8,191 subsets of the 13 trials.
# Clusters would suggest groups of trials that disagree with the rest.

# %%
gosh = evidence.gosh(es.yi, es.vi, method="REML", progress=False, labels=labels)
gosh_plot = plots.gosh(gosh, ratio_scale=True)
gosh_plot.ax.set_title(f"GOSH: all {len(gosh):,} subsets", loc="left")
plt.show()

# %% [markdown]
# ## 4. Small-study effects: funnel plot, Egger, Begg, trim and fill
#
# If small trials with disappointing results went unpublished, the funnel would be lopsided. Sterne et al.
# (2011, *BMJ* 343:d4002) recommend these tests only with at least 10 studies; 13 is just enough. The
# contour-enhanced funnel (Peters et al. 2008) shades where a trial would be significant.

# %%
egger = evidence.egger_test(es.yi, es.vi)
begg = evidence.begg_test(es.yi, es.vi)
tf = evidence.trim_and_fill(es.yi, es.vi, labels=labels)
fun = plots.funnel(tf, ratio_scale=True, xlabel="Odds ratio (log scale)")
fun.ax.set_title(f"Funnel plot: trim and fill adds {tf.k0} trial(s)", loc="left")
plt.show()
pd.DataFrame({"test": ["Egger (regression on SE)", "Begg (rank correlation)"],
              "p-value": [egger.p_value, begg.p_value]}).round(3)

# %% [markdown]
# Neither test finds asymmetry. The radial (Galbraith) plot shows the same trials as standardized effect
# against precision; the slope of the line is the pooled log odds ratio, and trials consistent with it fall
# between the dashed lines:

# %%
rad = plots.radial(res, labels=[str(i + 1) for i in range(len(labels))])
rad.ax.set_title("Radial plot", loc="left")
plt.show()

# %% [markdown]
# ## 5. The review's candidates: two cohorts
#
# The five odds ratios behind the review's "average odds ratio 3.4" were not found in any source read (notebook 02). The
# registry holds odds ratios with a 95% interval from two cohorts: the Cambridge Study (conviction 19–32,
# OR 7.0) and five outcomes of the Mater-University study (the same children, so not independent). The
# pooled analysis takes one result per study.

# %%
print(CANDIDATES_CAVEAT)
cand = candidate_effect_sizes()
cand["label"] = cand["label"].str.replace(r"(\d+) (\d+)", r"\1–\2", regex=True)
cand[["label", "country", "estimate", "ci_low", "ci_high", "pooled"]]

# %% [markdown]
# The report draws the same figures (`evidence.review.report.toolkit_figures`); here is its forest plot:
# every candidate by country, marked pooled or not, with the Knapp–Hartung and z diamonds on one result per
# study and, last, all candidates pooled as if they were independent (they are not).

# %%
report_figures = {f.id: f for f in toolkit_figures()}
candidates_forest = report_figures["toolkit-forest"]
candidates_forest.figure

# %%
one = cand[cand["pooled"]]
pair, pair_z = candidates_forest.numbers["knha"], candidates_forest.numbers["z"]
pd.DataFrame({"test": ["Knapp–Hartung", "z"], "pooled OR": np.exp([pair.estimate, pair_z.estimate]),
              "ci_low": np.exp([pair.ci_low, pair_z.ci_low]),
              "ci_high": np.exp([pair.ci_high, pair_z.ci_high])}).round(2)

# %% [markdown]
# With two studies the Knapp–Hartung interval uses a *t* distribution with one degree of freedom (97.5%
# quantile 12.7), so it spans orders of magnitude; the z interval is far too narrow. Leave-one-out leaves a
# single study, Baujat has two points, GOSH three subsets, and Egger's and Begg's tests cannot run (they need
# at least three studies): with two cohorts the toolkit has nothing to show. The 13 trials above show what it
# shows when there is something to see.
#
# ## Checks

# %%
assert len(bcg) == res.k == 13 and np.isclose(np.exp(res.estimate), 0.47, atol=0.01)  # metafor: -0.7452
assert res.i2 > 90 and res.pi_high > 0 > res.ci_high and reg.estimate[1] < 0 < reg.ci_low[1] + 0.05
assert len(gosh) == 2 ** 13 - 1 and np.isclose(gosh.estimate[-1], evidence.meta_analysis(es.yi, es.vi).estimate)
squares = next(c for c in forest.ax.collections if c.get_gid() == "study_squares")
assert (loo.k == 12).all() and np.allclose(squares.get_offsets()[:, 0], np.exp(es.yi))
assert egger.p_value > 0.1 and begg.p_value > 0.1 and tf.k0 == 0
assert len(one) == 2 and one["study"].is_unique and round(float(cand.iloc[0]["estimate"]), 1) == 7.0
assert np.isclose(pair.ci_high - pair.estimate, 12.706204736174707 * pair.se)
