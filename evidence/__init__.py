"""evidence: evidence synthesis on children of prisoners.

Odds ratios and their intervals from 2x2 tables, metafor-grade meta-analysis,
a registry of published study results (``studies/``) and the review's findings
reproduced (``evidence reproduce``).
"""

from __future__ import annotations

__version__ = "0.1.0"

from evidence import options
from evidence.exceptions import ConvergenceWarning, DataWarning, EvidenceWarning, ZeroCellWarning

# Public API: one import line per concept module (keep them in this order).
from evidence.effect_sizes import log_odds_ratios, log_risk_ratios, odds_ratio, risk_difference, risk_differences, risk_ratio
from evidence import published
from evidence import tau2
from evidence.pooling import meta_analysis, meta_analysis_2x2, meta_analysis_many
from evidence.small_study import begg_test, egger_test, funnel_data, pet_peese, trim_and_fill
from evidence.registry import load_studies, load_study
from evidence.findings import check_findings
from evidence.compare import compare_odds_ratios, subgroup_analysis
from evidence.metareg import meta_regression, permutation_test
from evidence.sensitivity import baujat, cumulative, gosh, influence, leave_one_out
from evidence import plots
from evidence.simulate import coverage_grid
