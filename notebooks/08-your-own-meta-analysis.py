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
# # 08 — Your own meta-analysis: cognitive-behavioural programmes for offenders, from a CSV
#
# A researcher's workflow from start to finish, on a published criminology meta-analysis: Landenberger &
# Lipsey (2005) pooled 58 experimental and quasi-experimental studies of cognitive-behavioural therapy
# (CBT) for adult and juvenile offenders, with recidivism as the outcome. The study table ships with the
# library (`evidence/datasets/landenberger2005.csv`, taken unchanged from the R package metadat, licence
# GPL ≥ 2). We read it as we would read our own spreadsheet, compute one effect size per study, pool them,
# look for small-study effects and for studies that move the answer, try a moderator, and write a file
# that R's metafor reads.
#
# The numbers below are this library's; `tests/test_readme_example.py` checks the same analysis against
# metafor 3.8-1. The paper's own printed results were not among the sources read for this project, so they
# are not compared here.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import evidence
from evidence import plots
from evidence.datasets import load_dataset
from evidence.io import read_table, write_metafor_csv

pd.set_option("display.width", 160)
studies = load_dataset("landenberger2005")
info = studies.attrs["info"]
print(info.citation, "\n\nSource:", info.source, "\nLicence:", info.licence)

# %% [markdown]
# ## 1. The table, as a spreadsheet would hold it
#
# One row per study: the four cells of each 2×2 table (recidivists and non-recidivists in the CBT and the
# control group) and the study's features. We save it as a CSV in a scratch folder and read it back with
# `read_table`, naming the columns that hold each cell: this is the call for your own file.

# %%
folder = Path(tempfile.mkdtemp())
studies.to_csv(folder / "my_studies.csv", index=False)
cells = {"events_exposed": "n.cbt.non", "nonevents_exposed": "n.cbt.rec",
         "events_unexposed": "n.ctrl.non", "nonevents_unexposed": "n.ctrl.rec"}
es = read_table(folder / "my_studies.csv", "OR", labels="study", **cells)
es[["study", "setting", "sessions", *cells.values(), "yi", "vi"]].head(8)

# %% [markdown]
# `yi` is the log odds ratio of **not** reoffending, CBT against control (above 0: fewer CBT participants
# reoffend), `vi` its sampling variance, 1/a + 1/b + 1/c + 1/d. The frame records what was done:

# %%
{key: es.attrs[key] for key in ("measure", "description", "back_transform", "correction", "double_zero",
                                 "corrected", "excluded")}

# %% [markdown]
# ## 2. The forest plot, on the odds-ratio scale
#
# Random effects with REML and the Knapp–Hartung adjustment (a t reference with k − 1 degrees of freedom,
# wider than the normal when studies disagree). The diamond is the pooled odds ratio; the dashed line under
# it the prediction interval, where a new study's true effect would fall.

# %%
res = evidence.meta_analysis(data=es, method="REML", test="knha")
fig, ax = plt.subplots(figsize=(9, 17))
forest = plots.forest(res, columns=("estimate", "weight"), ax=ax)  # the result knows it is an odds ratio
plt.show()

# %%
# the result carries its measure: the summary reads like a paper, on the odds-ratio scale
odds = np.exp([res.estimate, res.ci_low, res.ci_high])
pred = np.exp([res.pi_low, res.pi_high])
print(res.headline(), f"; prediction interval {pred[0]:.2f} to {pred[1]:.2f}")

# %% [markdown]
# On average the odds of *not* reoffending are about one and a half times as high after CBT. The studies
# disagree far more than chance allows (I² ≈ 71%), and the prediction interval runs from a small harm to a
# tripling of the odds: the average hides programmes that work much better than others.
#
# ## 3. Small-study effects: funnel plot and Egger's test

# %%
fig, ax = plt.subplots(figsize=(7, 5))
plots.funnel(res, ax=ax)
plt.show()
egger = evidence.egger_test(res)  # the fitted model's data, method (REML) and test (Knapp–Hartung)
egger

# %% [markdown]
# Small studies report larger effects than large ones (Egger's regression slope on the standard error is
# positive, p ≈ 0.006). That is what publication bias would produce, but also what happens when small
# studies run more intensive or better-implemented programmes; the funnel plot cannot tell the two apart.
# The test's limit estimate (the effect of a study of infinite size) is shown in its `estimate` field.
#
# ## 4. Does any one study carry the result? Leave-one-out

# %%
loo = evidence.leave_one_out(res)  # the same model, refitted without each study in turn
loo_frame = pd.DataFrame({"omitted": loo.labels, "or": np.exp(loo.estimate), "low": np.exp(loo.ci_low),
                          "high": np.exp(loo.ci_high)}).sort_values("or")
fig, ax = plt.subplots(figsize=(7, 4))
ax.errorbar(np.arange(len(loo_frame)), loo_frame["or"], yerr=[loo_frame["or"] - loo_frame["low"],
            loo_frame["high"] - loo_frame["or"]], fmt="o", ms=3, lw=0.8)
ax.axhline(odds[0], color="k", lw=0.8, label="all 58 studies")
ax.axhline(1, color="grey", ls=":")
ax.set(xlabel="study omitted (sorted by the result)", ylabel="pooled OR without it", xticks=[])
ax.legend()
plt.show()
loo_frame.iloc[[0, -1]]

# %% [markdown]
# Most omissions barely move the pooled odds ratio. The exception is the first row above: without
# Anderson (2002), a large study with a strong effect, the OR falls from 1.53 to about 1.41. Even then
# every interval stays above 1: no single study carries the conclusion that CBT helps, but one study
# carries a good part of its size.
#
# ## 5. A moderator: sessions per week
#
# Landenberger & Lipsey looked for the features of effective programmes. One candidate is intensity: the
# number of CBT sessions a week. A mixed-effects meta-regression (REML, Knapp–Hartung) asks whether the
# log odds ratio rises with it; the bubble plot shows each study with its area proportional to its weight.

# %%
mod = evidence.meta_regression(res, es[["sessions"]])
weights = 1 / (es["vi"] + mod.tau2)
grid = np.linspace(es["sessions"].min(), es["sessions"].max(), 50)
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.scatter(es["sessions"], np.exp(es["yi"]), s=400 * weights / weights.max(), alpha=0.5)
ax.plot(grid, np.exp(mod.estimate[0] + mod.estimate[1] * grid), color="k")
ax.set(yscale="log", xlabel="CBT sessions per week", ylabel="OR (not reoffending), log scale")
ax.axhline(1, color="grey", ls=":")
plt.show()
mod.summary_frame()

# %% [markdown]
# Each extra weekly session goes with a higher odds ratio (the slope is on the log scale; exp(slope) ≈ 1.07
# per session), and the moderator explains about a quarter of the between-study variance (R² in `mod`). This
# is an association across studies, not the effect of adding sessions to a programme.
#
# ## 6. Handing the analysis to a colleague who uses R
#
# `write_metafor_csv` writes every column at full precision; `read.csv` then `rma(yi, vi, data = dat)`
# in R starts from exactly these numbers (`tests/test_io.py` runs R on such a file).

# %%
exported = write_metafor_csv(es, folder / "landenberger2005_es.csv")
back = pd.read_csv(exported)
back[["study", "yi", "vi", "measure"]].head(3)

# %% [markdown]
# ## Checks
#
# These fail if the data, the effect sizes or the analysis change.

# %%
assert len(es) == res.k == 58 and es.attrs["measure"] == "OR"
assert es.attrs["corrected"] == () and es.attrs["excluded"] == ()  # no zero cells in these tables
assert res.headline() == "OR 1.53 (95% CI 1.35 to 1.72), τ² = 0.105, I² = 71%, 58 studies"
overall = forest.data[forest.data["kind"] == "overall"].iloc[0]
assert np.isclose(overall["estimate"], odds[0], rtol=1e-12)  # the diamond is drawn on the OR scale
assert egger.p_value < 0.01 and egger.statistic > 0  # funnel asymmetry: small studies report more benefit
assert (np.exp(loo.ci_low) > 1).all()  # no single study carries the result
assert loo_frame["omitted"].iloc[0] == "Anderson (2002)" and 1.35 < loo_frame["or"].iloc[0] < 1.45
assert loo_frame["or"].iloc[-1] < 1.60  # no omission raises the OR much
assert mod.estimate[1] > 0 and mod.p_value[1] < 0.05 and 0.2 < mod.r2 / 100 < 0.35
assert np.array_equal(back["yi"].to_numpy(), es["yi"].to_numpy())  # exported at full precision
