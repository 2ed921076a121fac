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
# # 09 — Several effect sizes per study: multilevel and robust pooling
#
# Most meta-analyses in criminology take more than one effect size from a study: several outcomes
# (general, violent, property reoffending), several samples, several follow-ups. Those effect sizes share
# the study's participants, measures and authors, so they are **not independent**. Pooling them as if they
# were gives an interval that is too narrow.
#
# The data: **Assink & Wibbelink (2016)**, 100 standardized mean differences from 17 studies of
# delinquent juveniles, comparing recidivism between juveniles with and without a mental-health disorder
# (positive = more recidivism with a disorder); a subset of Assink et al. (2015), *Risk factors for
# persistent delinquent behavior among juveniles*, Clinical Psychology Review 42, 47–61. Shipped as
# `evidence/datasets/assink2016.csv`, exported from the R package metadat (GPL ≥ 2); the citation and licence
# are printed below.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evidence import meta_analysis
from evidence.datasets import dataset_info, load_dataset
from evidence.multilevel import likelihood_ratio_test, meta_analysis_multilevel
from evidence.plots_multilevel import forest_multilevel
from evidence.robust import cluster_robust

df = load_dataset("assink2016")
df.attrs["measure"] = "SMD"
info = dataset_info("assink2016")
print(info.citation)
print("Licence:", info.licence)
print(f"{len(df)} effect sizes in {df['study'].nunique()} studies; effect sizes per study:",
      df.groupby("study").size().tolist())

# %% [markdown]
# ## 1. The picture: effect sizes grouped by study
#
# Each row is one effect size with its 95% interval; the rows of one study sit together (alternate studies
# shaded). Look at study 11 (22 effect sizes, almost all large) and study 16 (some positive, some negative):
# effect sizes of one study resemble each other more than effect sizes of different studies. That
# resemblance is the dependence.

# %%
ml = meta_analysis_multilevel(df, levels=["study", "esid"])
forest_multilevel(ml, xlabel="Standardized mean difference (recidivism)")
plt.show()

# %% [markdown]
# ## 2. Three ways to pool, side by side
#
# * **Naive**: the usual random-effects model with all 100 effect sizes treated as independent studies.
# * **Multilevel (three-level)**: effect sizes within studies; one variance between studies, one between
#   effect sizes of the same study, plus each effect size's own sampling variance (metafor's
#   `rma.mv(yi, vi, random = ~ 1 | study/esid)`).
# * **Cluster-robust (CR2)**: the multilevel estimate with a standard error computed from the spread of the
#   study-level residuals, with a small-sample correction and Satterthwaite degrees of freedom
#   (clubSandwich's `coef_test(..., vcov = "CR2")`); it stays valid even if the multilevel model's picture
#   of the dependence is wrong.

# %%
naive = meta_analysis(df["yi"], df["vi"], method="REML")
rows = {"naive (100 independent)": (naive.estimate, naive.se, naive.ci_low, naive.ci_high),
        "multilevel (study / effect)": (ml.beta[0], ml.se[0], ml.ci_low[0], ml.ci_high[0])}
robust = cluster_robust(ml, type="CR2")  # clusters: the model's outermost level, the study
rows["multilevel + CR2 robust SE"] = (robust.estimate[0], robust.se[0], robust.ci_low[0], robust.ci_high[0])

table = pd.DataFrame(rows, index=["estimate", "se", "ci_low", "ci_high"]).T
table["ci_width"] = table["ci_high"] - table["ci_low"]

fig, ax = plt.subplots(figsize=(7, 1.0 + 0.6 * len(table)))
ypos = np.arange(len(table))[::-1]
ax.errorbar(table["estimate"], ypos, xerr=[table["estimate"] - table["ci_low"], table["ci_high"] - table["estimate"]],
            fmt="s", color="black", capsize=4)
ax.set_yticks(ypos, table.index)
ax.axvline(0, color="0.5", lw=0.8)
ax.set_xlabel("Pooled standardized mean difference, 95% CI")
ax.set_title("Same data, three answers about precision")
plt.show()
table.round(4)

# %% [markdown]
# Study 11's share of the estimate. In the naive model each effect size has weight 1/(v + τ²). In the
# multilevel model the pooled estimate is Σ 1'W_j y_j / Σ 1'W_j 1, with W_j the inverse of study j's
# covariance block, so a study's weight is the sum of the entries of W_j (`covariance_blocks()`): effect
# sizes that share a study deviation add little once the study is represented.

# %%
naive_w = 1 / (df["vi"] + naive.tau2)
study_w = pd.Series({b.cluster: b.W.sum() for b in ml.covariance_blocks()})
weight_11 = pd.Series({"naive": 100 * naive_w[df["study"] == 11].sum() / naive_w.sum(),
                       "multilevel": 100 * study_w[11] / study_w.sum()})
weight_11.round(1).rename("study 11, % of the weight")

# %% [markdown]
# **What changes and why.** Both the estimate and its precision change. The naive model counts 100
# independent pieces of evidence, so study 11, with 22 large effect sizes, gets 22 votes and pulls the naive
# estimate up. The multilevel model knows there are 17 studies: effect sizes from one study share that
# study's deviation from the overall mean, so 22 effect sizes from study 11 carry much less than 22 studies'
# worth of information (see the weights below), and its standard error is almost twice the naive one.
# The robust standard error asks the data directly how much the 17 study means scatter, and its t
# reference with few degrees of freedom widens the interval again; with only 17 studies that is the honest
# price of not knowing the dependence exactly. On these data the CR2 standard error is almost the multilevel
# one (0.119 against 0.118): the three-level model describes the dependence well, and the wider robust
# interval comes from the t reference with about 15 Satterthwaite degrees of freedom instead of the normal.
#
# ## 3. Where does the variation sit?
#
# The multilevel model splits the variance of the effect sizes into three parts. I² per level
# (Nakagawa & Santos 2012; the formula of metafor's FAQ for multilevel models) is each variance component's
# share of the total, with the typical sampling variance as the third part.

# %%
vc = ml.variance_components()
share = pd.Series({"between studies": ml.i2[0], "within studies (between effect sizes)": ml.i2[1],
                   "sampling error": 1 - ml.i2_total})
fig, ax = plt.subplots(figsize=(7, 1.2))
left = 0.0
for (name, value), colour in zip(share.items(), ["#1b6ca8", "#7fb3d5", "0.8"], strict=True):
    ax.barh(0, value, left=left, color=colour, label=f"{name}: {100 * value:.0f}%")
    left += value
ax.set_xlim(0, 1)
ax.set_yticks([])
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
ax.set_title("Share of the variance of the effect sizes")
plt.show()
vc.round(4)

# %% [markdown]
# Both variance components have profile-likelihood intervals that stay well away from 0. Is the middle
# level needed at all? A likelihood-ratio test against the two-level model (effect sizes treated as
# independent draws around their study's mean, no within-study variance) answers it.

# %%
two_level = meta_analysis_multilevel(df, levels=["study"])
lrt_within = likelihood_ratio_test(ml, two_level)
print(lrt_within.summary())
print(ml.summary())

# %% [markdown]
# ## What to take away
#
# * Several effect sizes per study are the norm; pooling them as independent overstates precision.
# * A multilevel model says *where* the heterogeneity sits (here: mostly between studies, a good part within
#   studies) and gives an honest standard error if its picture of the dependence is right.
# * Cluster-robust (CR2) standard errors with small-sample t tests protect against a wrong picture;
#   with few studies, expect wider intervals.
#
# ## Checks

# %%
assert ml.converged and ml.k == 100 and ml.n_groups == (17, 100)
# ignoring the dependence overstates precision: the naive SE is less than two thirds of the multilevel SE
assert naive.se < 0.67 * ml.se[0], (naive.se, ml.se[0])
# the naive estimate is pulled up by study 11's 22 effect sizes, which weigh far less in the multilevel model
assert naive.estimate - ml.beta[0] > 0.1
assert weight_11["naive"] > 1.5 * weight_11["multilevel"]
assert table.loc["naive (100 independent)", "ci_width"] < table.loc["multilevel (study / effect)", "ci_width"]
# both variance components are clearly above 0 (profile intervals exclude 0) and the three shares sum to 1
assert (vc["ci_low"] > 0).all() and np.isclose(share.sum(), 1.0)
assert share["between studies"] > share["within studies (between effect sizes)"] > 0.2
# the within-study level is needed: the LRT rejects the two-level model
assert lrt_within.df == 1 and lrt_within.p_value < 0.001
# the CR2 robust SE is the multilevel one within 5%, its interval the widest of the three (t with ~15 df)
assert abs(robust.estimate[0] - ml.beta[0]) < 1e-12
assert abs(robust.se[0] - ml.se[0]) < 0.05 * ml.se[0] and 14 < robust.df[0] < 17
assert table["ci_width"].idxmax() == "multilevel + CR2 robust SE"
