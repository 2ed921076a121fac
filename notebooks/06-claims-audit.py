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
# # 06 — Claims audit: every number, rechecked
#
# The review *Children of prisoners – maintaining family ties* (SCIE Guide 22, 2008) and four practitioner
# documents that quote it print a few hundred numbers. Every one of them is either a **claim** in the ledger
# (`studies/claims/`), with its exact quote, or **set aside** with a reason (a year, a page number, a
# telephone number…). For each claim, `check_findings` recomputes what the study data say and gives a
# **verdict**. The verdict is computed, never copied: the ledger only records which verdict is expected, so a
# change in the data that alters a verdict shows up here.
#
# This notebook explains the seven verdicts, each with one real example.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from evidence import published
from evidence.review import documents
from evidence.review.findings import (
    DESCRIPTIVE_VERDICTS,
    EFFECT_VERDICTS,
    VERDICT_DEFINITIONS,
    VERDICTS,
    check_findings,
    check_links,
    load_claims,
)
from evidence.review.registry import find_result

pd.set_option("display.max_colwidth", None)
findings = check_findings()
by_id = {f.id: f for f in findings}

# %% [markdown]
# ## 1. Two kinds of number, seven verdicts
#
# An **effect claim** says what parental imprisonment does, or how two groups differ ("65% of boys with a
# father in prison go on to offend"). A **descriptive figure** counts or describes ("17,700 children a
# year"). They get different verdicts, so that "not reproducible" never lumps a head-count together with a
# claim about harm.

# %%
pd.DataFrame({"verdict": list(VERDICT_DEFINITIONS), "what it means": list(VERDICT_DEFINITIONS.values())},
             ).set_index("verdict")

# %%
counts = pd.DataFrame({
    "effect claims": [sum(f.verdict == v and f.kind == "effect" for f in findings) for v in VERDICTS],
    "descriptive figures": [sum(f.verdict == v and f.kind == "descriptive" for f in findings) for v in VERDICTS],
}, index=list(VERDICTS))
fig, ax = plt.subplots(figsize=(8, 3.6))
counts[::-1].plot.barh(stacked=True, ax=ax, color=["#c51b7d", "#2166ac"])
ax.set_xlabel("number of claims")
ax.set_title(f"{len(findings)} claims in the ledger, by verdict")
fig.tight_layout()

# %%
counts

# %% [markdown]
# ## 2. Each verdict, with an example
#
# For each example: the sentence as printed, where it is printed, what the data give, and the verdict.

# %% [markdown]
# ### Reproduced — the data give what the sentence says
#
# "Prisoners who receive family visits are less likely to reoffend" gives no size, only a direction. The
# study behind it (May, Sharma & Stewart 2008, as quoted in a ministerial answer) gives an odds ratio of
# 1.39 for reoffending among prisoners *without* visits: the direction is the same.

# %%
f = by_id["moj.visits_direction"]
pd.Series({"printed": f.quote, "where": f.source, "what the data give": f.computed, "verdict": f.verdict})

# %% [markdown]
# ### Consistent within rounding — possible, not proven
#
# The Cambridge odds ratio 7.0 (2.8 to 17.5) is what 15 of 23 against 48 of 227 give. But those counts are
# worked back from the printed 65% and 21%; no source read prints them. So the match shows the numbers *can*
# be right, not that they *are*.

# %%
f = by_id["review.cambridge_conviction_or"]
pd.Series({"printed": f.quote, "where": f.source, "what the data give": f.computed, "verdict": f.verdict})

# %% [markdown]
# ### Misattributed — the figure exists, but for someone else
#
# "65% of boys who have had a father in prison go on to offend" uses a real figure: 15 of the 23 Cambridge
# boys who were *separated from a parent by imprisonment before age 10* were *convicted between 19 and 32*.
# The sentence moves it to all boys with a father in prison, and to offending at any age. The check compares
# structured fields (population, exposure, outcome, ages, measure), not wordings, and names what differs:

# %%
f = by_id["policis.sixty_five_percent"]
pd.DataFrame(f.mismatches, columns=["what differs", "the sentence says", "the data are for"]).set_index("what differs")

# %%
print(f.note)

# %% [markdown]
# ### Contradicted — the data give a different figure (and the condition it rests on)
#
# "Offenders who … receive visits … are 38% less likely to reoffend." The odds ratio 1.39 is for prisoners
# *without* visits. Turned round, 1 / 1.39 = 0.72: visited prisoners had 28% lower *odds*, and the drop in
# *risk* is smaller still, whatever the reoffending rate. 38% cannot come out of 1.39. The verdict rests on
# one condition, which the finding states:

# %%
f = by_id["policis.visits_38_less_likely"]
pd.Series({"printed": f.quote, "what the data give": f.computed, "correct figure": f.note,
           "condition": f.condition, "verdict": f.verdict})

# %% [markdown]
# Why the risk changes less than the odds: for a range of reoffending rates among visited prisoners
# (hypothetical, since the real rates were not found), the odds ratio 1.39 becomes these risk changes.

# %%
visits = find_result("resettlement_surveys.reoffending_no_visits")
odds_ratio = visits.value("estimate")
reoffending_with_visits = np.array([0.1, 0.3, 0.5, 0.7])
risk_ratio_no_visits = published.or_to_rr(odds_ratio, reoffending_with_visits)
risk_ratio_visited = published.or_to_rr(1 / odds_ratio, risk_ratio_no_visits * reoffending_with_visits)
pd.DataFrame({
    "reoffending with visits": [f"{p:.0%}" for p in reoffending_with_visits],
    "risk higher without visits by": [f"{x - 1:.0%}" for x in risk_ratio_no_visits],
    "risk lower with visits by": [f"{1 - x:.0%}" for x in risk_ratio_visited],
}).set_index("reoffending with visits")

# %% [markdown]
# ### Not reproducible from public data — the inputs were not found
#
# "The average odds ratio was 3.4" for five studies. The five odds ratios and the way they were averaged
# were not found in any source read, so the 3.4 cannot be checked. This does not mean it is wrong. The
# finding names what is missing:

# %%
f = by_id["review.average_or"]
pd.Series(list(f.missing_inputs), name="missing", dtype=str)

# %% [markdown]
# ### Traced and untraced — descriptive figures
#
# "The Cambridge Study … of 411 boys" is **traced**: the authors' own slides give 411. "66 per cent of women
# prisoners are mothers" is **untraced**: the Home Office research it cites was not found, so the figure
# could not be checked here.

# %%
pd.DataFrame([{"printed": by_id[i].reported, "what the data give": by_id[i].computed, "verdict": by_id[i].verdict}
              for i in ("review.cambridge_sample", "review.women_prisoners_mothers")],
             index=["Cambridge sample", "mothers in prison"])

# %% [markdown]
# ## 3. Where the documents disagree with each other
#
# The same quantity is sometimes printed differently in different documents. The ledger links such claims.

# %%
links = check_links()
pd.DataFrame([{"quantity": x.quantity, "values printed": ", ".join(f"{v:,.6g}" for _, _, v, _ in x.entries),
               "agree?": "yes" if x.agree else "no"} for x in links]).set_index("quantity")

# %% [markdown]
# ## 4. Is every number accounted for?
#
# The five documents are scanned for numbers, as digits and as words ("two thirds", "nine per cent"). Each
# must sit inside a claim's quote or inside an exclusion with a reason.

# %%
quotes: dict[str, list[str]] = {}
for c in load_claims():
    quotes.setdefault(c.document, []).append(c.quote)
uncovered = documents.uncovered_numbers(quotes)
coverage = pd.DataFrame([{
    "document": d.short,
    "numbers printed": len(documents.numbers_in(d.file)),
    "claims": len(quotes.get(d.file, [])),
    "not accounted for": sum(m.file == d.file for m in uncovered),
} for d in documents.load_catalog()]).set_index("document")
coverage

# %% [markdown]
# ## Checks

# %%
assert len(findings) == len(load_claims()) > 0
assert all(f.verdict == f.expected for f in findings), [f.id for f in findings if f.verdict != f.expected]
assert set(EFFECT_VERDICTS) | set(DESCRIPTIVE_VERDICTS) == set(VERDICTS) == set(counts.index)
assert all(f.verdict in (DESCRIPTIVE_VERDICTS if f.kind == "descriptive" else EFFECT_VERDICTS)
           or f.verdict == "contradicted" for f in findings)
# every verdict class has at least one example in the ledger
assert (counts.sum(axis=1) > 0).all()
# the 65% is misattributed in population and outcome, not contradicted
assert by_id["policis.sixty_five_percent"].verdict == "misattributed"
assert [d for d, _, _ in by_id["policis.sixty_five_percent"].mismatches] == ["population", "outcome"]
# '38% less likely' cannot come from OR 1.39, on a stated condition
assert by_id["policis.visits_38_less_likely"].verdict == "contradicted"
assert "unadjusted" in by_id["policis.visits_38_less_likely"].condition
assert (1 - 1 / odds_ratio) < 0.38 and (1 - risk_ratio_visited < 1 - 1 / odds_ratio).all()
# the direction-only statement agrees with the odds ratio
assert by_id["moj.visits_direction"].verdict == "reproduced" and odds_ratio > 1
# the three disagreements between documents are shown
assert {x.id for x in links if not x.agree} >= {"women_prisoners_mothers", "children_separated_from_mother",
                                                 "children_cared_for_by_father"}
# every number of the five documents is claimed or excluded
assert coverage["not accounted for"].sum() == 0 and coverage["numbers printed"].min() > 0
