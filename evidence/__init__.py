"""evidence: evidence synthesis and meta-analysis.

The general library: effect sizes and their intervals, metafor-grade
meta-analysis, meta-regression, sensitivity and small-study analyses, plots and
simulation.  The review compendium -- the registry of published study results,
the claims ledger and the report (``evidence reproduce``) -- is the subpackage
:mod:`evidence.review`, built on this library.
"""

from __future__ import annotations

__version__ = "0.1.0"

# evidence.io is reachable as an attribute but kept out of __all__: a star import would shadow the standard io.
from evidence import conversions, io, options, plots, published, tau2  # noqa: F401
from evidence.compare import compare_odds_ratios, subgroup_analysis

# Public API, in the order of the concepts: effect sizes, published numbers,
# tau^2 kernels, pooling, comparing, meta-regression, sensitivity, small-study
# effects, plots, simulation.
from evidence.effect_sizes import (
    log_odds_ratios,
    log_risk_ratios,
    odds_ratio,
    risk_difference,
    risk_differences,
    risk_ratio,
)
from evidence.exceptions import ConvergenceWarning, DataWarning, EvidenceWarning, ZeroCellWarning
from evidence.measures import escalc
from evidence.metareg import meta_regression
from evidence.multilevel import likelihood_ratio_test, meta_analysis_multilevel
from evidence.permutation import permutation_test
from evidence.pooling import meta_analysis, meta_analysis_2x2, meta_analysis_many
from evidence.robust import cluster_robust, rho_sensitivity, robu, wald_test
from evidence.sensitivity import baujat, cumulative, gosh, influence, leave_one_out
from evidence.simulate import coverage_grid
from evidence.small_study import begg_test, egger_test, funnel_data, pet_peese, trim_and_fill

__all__ = [
    "ConvergenceWarning",
    "DataWarning",
    "EvidenceWarning",
    "ZeroCellWarning",
    "baujat",
    "begg_test",
    "cluster_robust",
    "compare_odds_ratios",
    "conversions",
    "coverage_grid",
    "cumulative",
    "egger_test",
    "escalc",
    "funnel_data",
    "gosh",
    "influence",
    "leave_one_out",
    "log_odds_ratios",
    "log_risk_ratios",
    "meta_analysis",
    "meta_analysis_2x2",
    "meta_analysis_many",
    "meta_analysis_multilevel",
    "likelihood_ratio_test",
    "meta_regression",
    "odds_ratio",
    "options",
    "permutation_test",
    "pet_peese",
    "plots",
    "published",
    "rho_sensitivity",
    "risk_difference",
    "risk_differences",
    "risk_ratio",
    "robu",
    "subgroup_analysis",
    "tau2",
    "trim_and_fill",
    "wald_test",
]
