"""evidence: evidence synthesis on children of prisoners.

Odds ratios and their intervals from 2x2 tables, metafor-grade meta-analysis,
a registry of published study results (``studies/``) and the review's findings
reproduced (``evidence reproduce``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from evidence import options
from evidence.exceptions import ConvergenceWarning, DataWarning, EvidenceWarning, ZeroCellWarning

# Public API, in the order of the concepts: effect sizes, published numbers,
# tau^2 kernels, pooling, comparing, meta-regression, sensitivity, small-study
# effects, plots, simulation, registry and findings.
from evidence.effect_sizes import (
    log_odds_ratios,
    log_risk_ratios,
    odds_ratio,
    risk_difference,
    risk_differences,
    risk_ratio,
)
from evidence import published
from evidence import tau2
from evidence.pooling import meta_analysis, meta_analysis_2x2, meta_analysis_many
from evidence.compare import compare_odds_ratios, subgroup_analysis
from evidence.metareg import meta_regression, permutation_test
from evidence.sensitivity import baujat, cumulative, gosh, influence, leave_one_out
from evidence.small_study import begg_test, egger_test, funnel_data, pet_peese, trim_and_fill
from evidence import plots
from evidence.simulate import coverage_grid
from evidence.registry import load_studies, load_study
from evidence.findings import check_findings

__all__ = [
    "ConvergenceWarning",
    "DataWarning",
    "EvidenceWarning",
    "ZeroCellWarning",
    "baujat",
    "begg_test",
    "check_findings",
    "compare_odds_ratios",
    "coverage_grid",
    "cumulative",
    "egger_test",
    "funnel_data",
    "gosh",
    "influence",
    "leave_one_out",
    "load_studies",
    "load_study",
    "log_odds_ratios",
    "log_risk_ratios",
    "meta_analysis",
    "meta_analysis_2x2",
    "meta_analysis_many",
    "meta_regression",
    "odds_ratio",
    "options",
    "permutation_test",
    "pet_peese",
    "plots",
    "published",
    "risk_difference",
    "risk_differences",
    "risk_ratio",
    "subgroup_analysis",
    "tau2",
    "trim_and_fill",
]
