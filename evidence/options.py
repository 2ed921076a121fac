"""The project's one vocabulary of options, each listed once.

Every public function that takes one of these options validates it against the
tuple below (see :func:`evidence._validation.check_choice`).  Translation to
metafor's spellings happens only in the tests.  The names of arguments and
result fields that recur across the package are listed in :data:`VOCABULARY`
(``tests/test_architecture.py`` checks that no public signature or result
uses a retired alias).

Attributes
----------
OR_CI_METHODS
    Confidence-interval methods for a single odds ratio:
    ``"woolf"`` (log-Wald, Woolf 1955), ``"exact"`` (conditional maximum
    likelihood / Cornfield 1956, as R's ``fisher.test``), ``"midp"``
    (mid-p exact, Lancaster 1961), ``"score"`` (Miettinen & Nurminen 1985).
ZERO_CELL_CORRECTIONS
    ``"none"``; ``"add_if_zero"`` (0.5 added to every cell of a table that has
    a zero cell, metafor's ``add=1/2, to="only0"`` default); ``"add_all"``
    (0.5 added to every cell of every table); ``"treatment_arm"`` (Sweeting,
    Sutton & Lambert 2004 treatment-arm continuity correction).
DOUBLE_ZERO
    What to do with a table with no events in either arm (or all events in
    both): ``"exclude"`` (metafor's ``drop00=TRUE``) or ``"keep"``.
TAU2_METHODS
    Random-effects between-study variance estimators: ``"DL"``, ``"REML"``,
    ``"ML"``, ``"PM"``, ``"HS"``, ``"SJ"``, ``"HE"``, ``"EB"``.
POOLING_METHODS
    ``"FE"`` (common effect, inverse variance) plus :data:`TAU2_METHODS`.
POOLING_METHODS_2X2
    ``"MH"`` (Mantel–Haenszel), ``"Peto"`` plus :data:`POOLING_METHODS`.
TESTS
    ``"z"`` (normal reference) or ``"knha"`` (Hartung–Knapp–Sidik–Jonkman
    t-reference with adjusted standard error).
"""

from __future__ import annotations

#: The one spelling of each recurring argument or result field, with its meaning.
VOCABULARY: dict[str, str] = {
    "method": "the estimator (tau^2 estimator or pooling method); never 'estimator', 'model' or 'kind' for it",
    "ci": "the confidence-interval method of a single effect size (OR_CI_METHODS, RR_CI_METHODS, RD_CI_METHODS)",
    "test": "the reference distribution of a pooled test: 'z' or 'knha' (TESTS)",
    "alpha": "every confidence level: intervals have level 1 - alpha (never ci_alpha or ci_level)",
    "reported_alpha": "the level 1 - reported_alpha of a confidence interval read from a paper",
    "statistic": "every test statistic on a result (z, t, Kendall's tau, ...); never 'z', 'stat' or 'tau'",
    "p_value": "the p-value of that statistic",
    "n_permutations": "permutations requested (permutation_test)",
    "n_iter": "iterations done by an iterative fit, on a result",
    "converged": "whether an iterative fit met its tolerance (the one non-convergence policy: last iterate "
                 "kept, converged=False, a ConvergenceWarning, no fallback)",
    "events_exposed, n_exposed, events_unexposed, n_unexposed": "the cells of a 2x2 table",
    "transform": "summary_frame(transform=...): None (analysis scale), 'exp' or a function",
}
#: Argument and result-field names retired in favour of :data:`VOCABULARY`.
RETIRED_NAMES: tuple[str, ...] = ("ci_alpha", "ci_level", "z", "stat", "tau", "level",
                                  "events_comparison", "n_comparison", "pct_comparison", "pvalue")

OR_CI_METHODS: tuple[str, ...] = ("woolf", "exact", "midp", "score")
ZERO_CELL_CORRECTIONS: tuple[str, ...] = ("none", "add_if_zero", "add_all", "treatment_arm")
DOUBLE_ZERO: tuple[str, ...] = ("exclude", "keep")
TAU2_METHODS: tuple[str, ...] = ("DL", "REML", "ML", "PM", "HS", "SJ", "HE", "EB")
POOLING_METHODS: tuple[str, ...] = ("FE",) + TAU2_METHODS
POOLING_METHODS_2X2: tuple[str, ...] = ("MH", "Peto") + POOLING_METHODS
TESTS: tuple[str, ...] = ("z", "knha")

#: Default continuity correction added by the zero-cell options.
CONTINUITY_CORRECTION: float = 0.5

#: Within-study variance designs of :func:`evidence.simulate.coverage_grid` (see ``sample_variances``).
V_SAMPLERS: tuple[str, ...] = ("brockwell_gordon", "uniform")
#: Where :func:`evidence.simulate.coverage_grid` runs: local Dask if installed, local Dask, in-process.
SCHEDULERS: tuple[str, ...] = ("auto", "local", "none")

#: Confidence-interval methods for a single risk ratio: ``"katz"`` (log-Wald, Katz et al. 1978).
RR_CI_METHODS: tuple[str, ...] = ("katz",)
#: Confidence-interval methods for a single risk difference: ``"wald"``; ``"newcombe"`` (hybrid score,
#: Newcombe 1998 method 10).
RD_CI_METHODS: tuple[str, ...] = ("wald", "newcombe")
#: Scale on which a reported confidence interval is symmetric: ``"log"`` (ratios) or ``"linear"`` (differences, SMDs).
CI_SCALES: tuple[str, ...] = ("log", "linear")
#: Regression test for funnel asymmetry (metafor ``regtest`` ``model=``): ``"rma"`` (mixed-effects
#: meta-regression) or ``"lm"`` (weighted least squares, Egger et al. 1997).
EGGER_MODELS: tuple[str, ...] = ("rma", "lm")
#: Moderator of the funnel-asymmetry regression: ``"sei"`` (standard error, Egger) or ``"vi"`` (variance, PEESE-type).
EGGER_PREDICTORS: tuple[str, ...] = ("sei", "vi")
#: Estimators of the number of suppressed studies in trim and fill (Duval & Tweedie 2000a): ``"L0"``, ``"R0"``.
TRIMFILL_ESTIMATORS: tuple[str, ...] = ("L0", "R0")
#: Side of the funnel on which studies are imputed by trim and fill (``None`` lets the Egger-type slope decide).
TRIMFILL_SIDES: tuple[str, ...] = ("left", "right")
#: Alternative hypothesis of a one-parameter test (scipy's spelling).
ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")
#: Between-study variance in a subgroup analysis: ``"separate"`` (one tau^2 per subgroup, subgroup
#: estimates compared by a fixed-effect Q test) or ``"common"`` (one tau^2, mixed-effects model with the
#: subgroup factor, metafor ``rma(mods = ~ factor(g))``).
SUBGROUP_TAU2: tuple[str, ...] = ("separate", "common")
#: Text columns :func:`evidence.plots.forest` can draw beside the plot.
FOREST_COLUMNS: tuple[str, ...] = ("counts", "estimate", "weight")
#: Ways :func:`evidence.plots.gosh` draws the subsets: ``"scatter"`` or ``"hexbin"``.
GOSH_KINDS: tuple[str, ...] = ("scatter", "hexbin")
#: :func:`evidence.small_study.begg_test` uses the exact Kendall distribution by default below this many
#: studies (R ``cor.test``'s rule); above it the normal approximation.
EXACT_KENDALL_MAX_K: int = 50
#: Cluster-robust (sandwich) variance estimators (clubSandwich ``vcovCR`` ``type=``): ``"CR0"``
#: (no adjustment), ``"CR1"`` (J/(J-1)), ``"CR1p"`` (J/(J-p)), ``"CR1S"`` (J(N-1)/((J-1)(N-p))),
#: ``"CR2"`` (Bell-McCaffrey bias-reduced linearisation).
CR_TYPES: tuple[str, ...] = ("CR0", "CR1", "CR1p", "CR1S", "CR2")
#: Reference distribution of a cluster-robust coefficient test (clubSandwich ``coef_test`` ``test=``):
#: ``"satterthwaite"``, ``"z"``, ``"naive_t"`` (J - 1 df), ``"naive_tp"`` (J - p df).
CR_TESTS: tuple[str, ...] = ("satterthwaite", "z", "naive_t", "naive_tp")
#: Cluster-robust test of several coefficients (clubSandwich ``Wald_test`` ``test=``): ``"HTZ"``
#: (Hotelling T^2 approximation), ``"chi2"``, ``"naive_F"``, ``"naive_Fp"``.
WALD_TESTS: tuple[str, ...] = ("HTZ", "chi2", "naive_F", "naive_Fp")
#: Working models of robust variance estimation (robumeta ``robu`` ``modelweights=``): ``"CE"``
#: correlated effects (robumeta ``"CORR"``), ``"HE"`` hierarchical effects (``"HIER"``).
ROBU_MODELS: tuple[str, ...] = ("CE", "HE")
#: Conversions between a standardised mean difference and a log odds ratio (:mod:`evidence.conversions`):
#: ``"logistic"`` (ln OR = d pi / sqrt(3)) or ``"probit"`` (ln OR = 1.65 d).
CONVERSION_METHODS: tuple[str, ...] = ("logistic", "probit")
#: Effect-size measures of :func:`evidence.measures.escalc` (metafor's ``escalc`` spellings); see that module.
ESCALC_MEASURES: tuple[str, ...] = (
    "OR", "RR", "RD", "PETO", "OR2DL", "OR2DN",
    "SMD", "MD", "ROM", "D2ORL", "D2ORN",
    "COR", "ZCOR",
    "PR", "PLO", "PAS", "PFT",
    "IRR", "IRD",
    "HR", "GEN",
)
