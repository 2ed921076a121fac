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
