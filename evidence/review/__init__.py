"""The review compendium: the 2008 review *Children of prisoners -- maintaining family ties*, rechecked.

Built on the general library (:mod:`evidence`), never the other way round:

* :mod:`evidence.review.registry` -- the study files (``studies/*.yaml``), loaded and validated;
* :mod:`evidence.review.yamlfile` -- strict reading of those files (no anchors, duplicate keys or
  YAML 1.1 forms; size and depth capped);
* :mod:`evidence.review.findings` -- the claims ledger (``studies/claims/``) and the check of each claim;
* :mod:`evidence.review.report` -- the HTML report;
* :mod:`evidence.review.output` -- atomic writing of the report and the JSON;
* :mod:`evidence.review.cli` -- the ``evidence`` command (``evidence reproduce``).

The study files ship inside the package (``evidence/review/studies``, the repository's ``studies/``
folder), so everything here works from an installed wheel; every function also takes an explicit path
(``--studies PATH`` on the command line).
"""

from __future__ import annotations

from evidence.review.findings import check_findings, load_claims
from evidence.review.registry import STUDIES_DIR, load_studies, load_study

__all__ = ["STUDIES_DIR", "check_findings", "load_claims", "load_studies", "load_study"]
