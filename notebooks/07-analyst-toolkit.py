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
# # 07 — The analyst's toolkit on the candidate effect sizes
#
# **Candidate effect sizes — not the review's inputs.** The five odds ratios behind the review's
# "average odds ratio 3.4" were not found in any source read (notebook 02). What the registry does hold are some
# odds ratios with a 95% confidence interval. This notebook runs the standard tools of a meta-analysis on
# them — random-effects pooling with the Knapp–Hartung test, a forest plot by country with the prediction
# interval, leave-one-out, influence, Baujat, GOSH, funnel plot with small-study tests and trim and fill,
# L'Abbé — to show what those tools can and cannot say with these data. Every figure and table here is
# about candidates; none of it is the review's calculation.

# %%
import numpy as np
import pandas as pd

import evidence
from evidence import plots, published
from evidence.effect_sizes import odds_ratio
from evidence.review.registry import (
    CANDIDATES_CAVEAT,
    candidate_effect_sizes,
    find_result,
    load_studies,
    one_per_study,
)

pd.set_option("display.width", 160)
pd.set_option("display.max_colwidth", 60)
print(CANDIDATES_CAVEAT)

# %% [markdown]
# ## 1. The candidates
#
# Every odds ratio in the registry that comes with a confidence interval. Each becomes a log odds ratio
# and a standard error recovered from its interval, SE = (ln high − ln low) / (2 × 1.96)
# (`published.se_from_ci`, which also checks that the OR sits at the interval's log midpoint, as a Wald
# interval should; `se_consistent`).

# %%
cand = candidate_effect_sizes()
cand[["label", "country", "estimate", "ci_low", "ci_high", "adjusted", "estimate_status", "yi", "se",
      "se_consistent"]]

# %% [markdown]
# The same numbers, computed here step by step for the first candidate, to show nothing is hidden:

# %%
first = cand.iloc[0]
step = published.se_from_ci(first["estimate"], first["ci_low"], first["ci_high"])
print(first["label"], step)

# %% [markdown]
# ## 2. They are not independent: one result per study
#
# Only **two cohorts** are here. The Cambridge Study gives one odds ratio (conviction 19–32, OR 7.0,
# 2.8–17.5). The other five all come from the **Mater-University study** (Kinner et al. 2007): the same
# children, asked about several outcomes, and two of the five are for a different exposure (paternal
# *arrest*), in boys only, and adjusted for covariates. Outcomes measured on the same children are
# correlated; pooling them as if they were separate studies counts the Mater children five times.
#
# So the pooled analysis takes **one result per study**. For the Mater cohort it takes externalising
# problems, because:

# %%
# the choice is data: the `pool_reason` field of the chosen result in the study file
for study, (result, why) in one_per_study().items():
    print(f"{study}: {result}\n  because: {why}")
cand[["label", "pooled", "choice"]]

# %% [markdown]
# That choice matters. Below: the pooled OR (REML) with each of the five Mater results in turn, with the
# Knapp–Hartung (KH) interval and the z interval; then Cambridge entered from its reconstructed 2×2 table
# (15/23 vs 48/227, OR 6.99) instead of the printed 7.0 (2.8, 17.5); and last, all six candidates pooled as
# if they were independent — which they are not.

# %%
cambridge = cand[cand["study"] == "cambridge"].iloc[0]
mater = cand[cand["study"] == "mater_university"]
choice_rows = []
for r in mater.itertuples():
    yi2, vi2 = [cambridge["yi"], r.yi], [cambridge["vi"], r.vi]
    kh = evidence.meta_analysis(yi2, vi2, method="REML", test="knha")
    zt = evidence.meta_analysis(yi2, vi2, method="REML", test="z")
    choice_rows.append({"Mater result pooled with Cambridge": r.label, "pooled OR": np.exp(kh.estimate),
                        "KH ci_low": np.exp(kh.ci_low), "KH ci_high": np.exp(kh.ci_high),
                        "z ci_low": np.exp(zt.ci_low), "z ci_high": np.exp(zt.ci_high),
                        "tau2": kh.tau2, "I2 %": kh.i2, "Q p-value": kh.q_pvalue})
camb = find_result("cambridge.conviction_19_32")
counts = [int(camb.value(c)) for c in ("events_exposed", "n_exposed", "events_comparison", "n_comparison")]
camb_or = odds_ratio(*counts)
mater_chosen = mater[mater["pooled"]].iloc[0]
from_counts = evidence.meta_analysis([camb_or.log_estimate, mater_chosen["yi"]],
                                     [camb_or.se ** 2, mater_chosen["vi"]], method="REML", test="knha")
choice_rows.append({"Mater result pooled with Cambridge": f"{mater_chosen['label']}; Cambridge from "
                    f"reconstructed counts {counts[0]}/{counts[1]} vs {counts[2]}/{counts[3]}",
                    "pooled OR": np.exp(from_counts.estimate), "KH ci_low": np.exp(from_counts.ci_low),
                    "KH ci_high": np.exp(from_counts.ci_high), "tau2": from_counts.tau2,
                    "I2 %": from_counts.i2, "Q p-value": from_counts.q_pvalue})
every = evidence.meta_analysis(cand["yi"], cand["vi"], method="REML", test="knha", labels=list(cand["label"]))
choice_rows.append({"Mater result pooled with Cambridge": "ALL SIX as if independent (they are not)",
                    "pooled OR": np.exp(every.estimate), "KH ci_low": np.exp(every.ci_low),
                    "KH ci_high": np.exp(every.ci_high), "tau2": every.tau2, "I2 %": every.i2,
                    "Q p-value": every.q_pvalue})
choices = pd.DataFrame(choice_rows)
choices.round(3)

# %% [markdown]
# * The pooled OR moves between about 3.2 and 3.7 with the Mater outcome chosen, and with the z test only
#   the externalising choice gives an interval that excludes 1: the "significance" of the pooled candidates
#   rests on which outcome is picked. With the Knapp–Hartung test no choice comes near excluding 1.
# * Cambridge from its reconstructed counts or from the printed OR and interval makes no visible difference.
# * Pooling all six as if independent gives an OR near 2 with a narrow interval and **τ² = 0**: the five
#   Mater results outvote Cambridge and the disagreement between the two cohorts disappears from view. That
#   is the error the one-per-study rule avoids.
#
# ## 3. The pooled estimate: REML with the Knapp–Hartung test
#
# With k = 2 the Knapp–Hartung interval uses a *t* distribution with **1 degree of freedom**
# (97.5% quantile 12.7), so the interval spans orders of magnitude: two studies cannot pin down a
# random-effects mean. The z interval is shown beside it for contrast — it is too narrow with so few studies.

# %%
one = cand[cand["pooled"]]
res = evidence.meta_analysis(one["yi"], one["vi"], method="REML", test="knha", labels=list(one["label"]))
res_z = evidence.meta_analysis(one["yi"], one["vi"], method="REML", test="z", labels=list(one["label"]))
print(res)
print(f"\nOR {np.exp(res.estimate):.2f}; KH 95% CI {np.exp(res.ci_low):.4f} to {np.exp(res.ci_high):,.0f}; "
      f"prediction interval {np.exp(res.pi_low):.2g} to {np.exp(res.pi_high):,.0f}")
print(f"z test: 95% CI {np.exp(res_z.ci_low):.2f} to {np.exp(res_z.ci_high):.2f}; "
      f"prediction interval {np.exp(res_z.pi_low):.2f} to {np.exp(res_z.pi_high):.2f}")

# %% [markdown]
# ### Forest plot by country, with the prediction interval
#
# The library's forest plot of the pooled analysis, with the studies grouped by country (each country has
# one study here, so each subgroup diamond is that study) and the prediction interval in red. Odds ratios
# on a log axis. The Knapp–Hartung interval and the prediction interval run far off any useful axis; the
# plot is limited to 0.2–50 and arrowheads mark what runs off (the numbers are in the right column).
# Study intervals are redrawn from the recovered SE (Mater 1.41–3.56 against the printed 1.41–3.57:
# rounding of the printed numbers).

# %%
countries = list(one["country"])
forest = plots.forest(res, subgroups=countries, ratio_scale=True, measure="OR", columns=("estimate", "weight"),
                      xlim=(0.2, 50))
forest.ax.set_title("Candidate effect sizes — NOT the review's inputs", loc="left", fontsize=10)
forest.data[["kind", "label", "estimate", "ci_low", "ci_high", "weight", "text_estimate", "clipped_low",
             "clipped_high"]]

# %% [markdown]
# The report (`evidence reproduce --html`) draws the fuller version: all six candidates grouped by country,
# marked pooled or not, with the KH, z and all-six diamonds (`evidence.review.report.toolkit_figures`).
#
# ## 4. Leave-one-out, influence, Baujat, GOSH — with two studies
#
# With k = 2 each of these has only one thing to say: leaving either study out leaves the other alone.
# (Leave-one-out warns that a one-study analysis uses the z test instead of Knapp–Hartung, as metafor does.)

# %%
loo = evidence.leave_one_out(one["yi"], one["vi"], method="REML", test="knha", labels=list(one["label"]))
loo.summary_frame().assign(OR=lambda f: np.exp(f["estimate"]))[["OR", "estimate", "se", "k"]]

# %%
infl = evidence.influence(one["yi"], one["vi"], method="REML", labels=list(one["label"]))
infl.summary_frame()

# %%
bj_one = evidence.baujat(one["yi"], one["vi"], method="REML", labels=list(one["label"]))
gosh_one = evidence.gosh(one["yi"], one["vi"], method="REML", progress=False, labels=list(one["label"]))
print(bj_one)
print(gosh_one)
gosh_one.summary_frame().assign(OR=lambda f: np.exp(f["estimate"]))

# %% [markdown]
# To see what these tools show when there is something to show, the rest of the notebook also runs them on
# **all six candidates as if they were independent**. They are not (five share the Mater children), so
# these numbers estimate nothing; they show the structure of the candidates — one Cambridge odds ratio far
# from a tight cluster of five correlated Mater results.

# %%
yi, vi, labels = cand["yi"].to_numpy(), cand["vi"].to_numpy(), list(cand["label"])
loo6 = evidence.leave_one_out(yi, vi, method="REML", test="knha", labels=labels)
bj6 = evidence.baujat(yi, vi, method="REML", labels=labels)
gosh6 = evidence.gosh(yi, vi, method="REML", progress=False, labels=labels)
loo6.summary_frame().assign(OR=lambda f: np.exp(f["estimate"]))[["OR", "ci_low", "ci_high", "tau2", "i2", "k"]]

# %%
bjp = plots.baujat(bj6, labels=[str(i + 1) for i in range(len(labels))])
bjp.ax.set_title("All six candidates as if independent — NOT the review's inputs", loc="left", fontsize=10)
bjp.data.assign(result=labels)

# %%
gp = plots.gosh(gosh6, ratio_scale=True)
with_cambridge = gosh6.membership[:, list(cand["study"]).index("cambridge")]
gp.ax.scatter(np.exp(gosh6.estimate[with_cambridge]), gosh6.i2[with_cambridge], s=8, color="firebrick",
              linewidths=0, label="subsets with Cambridge")
gp.ax.legend(loc="upper left", fontsize=8)
gp.ax.set_title(f"All {len(gosh6)} subsets of six candidates — NOT the review's inputs", loc="left", fontsize=10)
print(gosh6)
print(f"I² without Cambridge: at most {gosh6.i2[~with_cambridge].max():.1f}%; "
      f"with Cambridge: up to {gosh6.i2[with_cambridge].max():.1f}%")

# %% [markdown]
# ## 5. Small-study effects: funnel plot, Egger, Begg, trim and fill
#
# > **Warning.** Tests for funnel-plot asymmetry have almost no power with this few studies. Sterne et al.
# > (2011, *BMJ* 343:d4002) recommend them only when there are **at least 10 studies**, and not when the
# > studies are of similar size. With one result per study (k = 2) Egger's and Begg's tests cannot be run
# > at all (they need k ≥ 3); with the six candidates they run, but on dependent results, and any
# > "asymmetry" is one small cohort with a large OR (Cambridge) against one large cohort measured five
# > times. A significant Egger test here says nothing about publication bias.

# %%
egger = evidence.egger_test(yi, vi)
begg = evidence.begg_test(yi, vi)
tf = evidence.trim_and_fill(yi, vi, labels=labels)
print(egger)
print(begg)
print(tf)
tf_one = evidence.trim_and_fill(one["yi"], one["vi"], labels=list(one["label"]))
print("one per study (k = 2):", tf_one)

# %% [markdown]
# Trim and fill with two studies "imputes" a mirror image of one of them — a reminder that it is a
# sensitivity analysis built on an assumption about the funnel's shape, not a correction.
#
# The contour-enhanced funnel plot (Peters et al. 2008): white where a study would have p > 0.10 against
# OR 1, darker greys for 0.05–0.10 and 0.01–0.05, light grey for p < 0.01; the red rings are the two results
# pooled one per study.

# %%
fun = plots.funnel(tf, ratio_scale=True, xlabel="Odds ratio (log scale)")
fun.ax.scatter(np.exp(one["yi"]), one["se"], s=90, facecolors="none", edgecolors="firebrick", zorder=4,
               label="pooled (one per study)")
fun.ax.legend(loc="lower right", fontsize=8)
fun.ax.set_title("All six candidates as if independent — NOT the review's inputs", loc="left", fontsize=10)
fun.data[["label", "x", "se", "p_value", "region"]]

# %% [markdown]
# The radial (Galbraith) plot of the same six: standardized log OR against precision; the line's slope is
# the pooled log OR, and results consistent with it fall between the dashed lines.

# %%
rad = plots.radial(every, labels=labels)
rad.ax.set_title("All six candidates as if independent — NOT the review's inputs", loc="left", fontsize=10)
rad.data

# %% [markdown]
# ## 6. L'Abbé plot of the registry's 2×2 tables
#
# Only the Cambridge Study has counts for both groups in the registry, and they are **reconstructed** from
# the printed 65% and 21% with the printed OR and interval (`studies/cambridge.yaml`), not printed in any
# source read. The Danish cohort gives counts for the exposed group only (36 of 92), so it cannot be drawn.
# The red curve is where a study with the pooled candidate OR (one per study) would lie.

# %%
study_rows = load_studies()
count_cols = ["events_exposed", "n_exposed", "events_comparison", "n_comparison"]
tables = study_rows[study_rows[count_cols].notna().all(axis=1)].reset_index(drop=True)
tables["label"] = [r.result + (" (reconstructed counts)" if r.events_exposed_status == "reconstructed" else "")
                   for r in tables.itertuples()]
lab = plots.labbe(tables["events_exposed"], tables["n_exposed"], tables["events_comparison"],
                  tables["n_comparison"], pooled_or=float(np.exp(res.estimate)), labels=list(tables["label"]))
for r in lab.data.itertuples():
    lab.ax.annotate(r.label, (r.rate_unexposed, r.rate_exposed), textcoords="offset points",
                    xytext=(12, -4), fontsize=8, va="top")
lab.data

# %% [markdown]
# ## Checks

# %%
# the candidates are the registry's odds ratios with an interval, all reported, and one per study is pooled
registry_ors = study_rows[(study_rows["measure"] == "odds_ratio")
                          & study_rows[["estimate", "ci_low", "ci_high"]].notna().all(axis=1)]
assert list(cand["result"]) == list(registry_ors["result"])
assert (cand["estimate_status"] == "reported").all() and cand["se_consistent"].all()
assert one["study"].is_unique and set(one["study"]) == set(cand["study"]) and len(one) == 2
assert np.allclose(cand["yi"], np.log(cand["estimate"]))
assert np.isclose(step.se, (np.log(first["ci_high"]) - np.log(first["ci_low"])) / (2 * 1.959963984540054))
# the forest plot draws the computed numbers: squares at the study ORs, the diamond at the pooled OR
drawn_studies = forest.data[forest.data["kind"] == "study"]
squares = next(c for c in forest.ax.collections if c.get_gid() == "study_squares")
assert np.allclose(squares.get_offsets()[:, 0], np.exp(one["yi"]))
assert np.allclose(drawn_studies["estimate"], one["estimate"])
assert np.allclose(drawn_studies["weight"], res.weights)
overall = forest.data[forest.data["kind"] == "overall"].iloc[0]
assert np.allclose([overall["estimate"], overall["ci_low"], overall["ci_high"]],
                   np.exp([res.estimate, res.ci_low, res.ci_high]))
pi_row = forest.data[forest.data["kind"] == "prediction"].iloc[0]
assert np.allclose([pi_row["ci_low"], pi_row["ci_high"]], np.exp([res.pi_low, res.pi_high]))
assert forest.ax.get_xscale() == "log"
# the Cambridge OR in the forest is the printed 7.0 (2.8, 17.5); its reconstructed counts give 6.99
cambridge_row = drawn_studies[drawn_studies["label"].str.startswith("Cambridge")].iloc[0]
assert round(cambridge_row["estimate"], 1) == 7.0 and cambridge_row["text_estimate"] == "7.00 [2.80, 17.50]"
assert f"{camb_or.estimate:.2f}" == "6.99" and round(camb_or.estimate, 1) == 7.0
assert (round(camb_or.ci_low, 1), round(camb_or.ci_high, 1)) == (2.8, 17.5)
# Knapp-Hartung with k = 2 uses t with 1 df
assert np.isclose(res.ci_high - res.estimate, 12.706204736174707 * res.se)
# leave-one-out has k rows, each the other study alone; GOSH has 2^k - 1 subsets
assert len(loo.estimate) == len(one) and np.allclose(np.sort(loo.estimate), np.sort(one["yi"]))
assert len(loo6.estimate) == len(cand) and (loo6.k == len(cand) - 1).all()
assert len(gosh_one) == 2 ** len(one) - 1 and len(gosh6) == 2 ** len(cand) - 1 and gosh6.exact
assert np.isclose(gosh6.estimate[-1], every.estimate)  # the full set is the last subset
assert np.isclose(bj6.x.sum(), every.q, rtol=1e-6) or every.tau2 > 0
# Cambridge drives the heterogeneity of the six: the largest Baujat x, and every subset with I^2 > 0 has it
assert int(np.argmax(bj6.x)) == list(cand["study"]).index("cambridge")
assert (gosh6.i2[~with_cambridge] < 1e-6).all() and gosh6.i2[with_cambridge].max() > 50
# pooling the dependent results hides the between-cohort disagreement
assert every.tau2 < 1e-8 < res.tau2 and res.q_pvalue < 0.05
# the answer depends on which Mater outcome is pooled
assert choices["pooled OR"].iloc[:5].max() - choices["pooled OR"].iloc[:5].min() > 0.3
assert abs(np.exp(from_counts.estimate) - np.exp(res.estimate)) < 0.01
assert (choices["z ci_low"].iloc[:5] > 1).sum() == 1 and choices["z ci_low"].iloc[0] > 1
assert (choices["KH ci_low"].iloc[:5] < 0.01).all()
# small-study tools: the funnel draws the studies where they are; trim and fill keeps k rows + imputed
assert np.allclose(fun.data.loc[~fun.data["filled"], "x"], cand["estimate"])
assert len(tf.yi) == len(cand) + tf.k0 and egger.k == begg.k == len(cand)
# L'Abbe: the Cambridge reconstructed table, 65% vs 21% as printed
assert list(lab.data["label"]) == ["cambridge.conviction_19_32 (reconstructed counts)"]
assert round(100 * lab.data["rate_exposed"].iloc[0]) == 65 and round(100 * lab.data["rate_unexposed"].iloc[0]) == 21
