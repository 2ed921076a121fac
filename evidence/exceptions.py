"""Warning classes of the project.

Errors are plain :class:`ValueError` / :class:`TypeError` raised from
:mod:`evidence._validation`; warnings are these classes, always issued with
``stacklevel=2`` or deeper so that they point at the caller's line.
"""

from __future__ import annotations


class EvidenceWarning(UserWarning):
    """Base class of every warning issued by ``evidence``."""


class ConvergenceWarning(EvidenceWarning):
    """An iterative estimator did not converge; the message says what was done instead."""


class ZeroCellWarning(EvidenceWarning):
    """A double-zero table was excluded.

    Continuity corrections are not warned about: the correction is an option in
    the signature, echoed in the result with a per-study ``corrected`` mask.
    """


class DataWarning(EvidenceWarning):
    """Something about the input data deserves the user's attention (not an error)."""


class SingleStudyWarning(DataWarning):
    """A method that needs two or more studies met a single one, and its documented fallback was used.

    For example ``test="knha"`` with ``k = 1`` uses the z test (as metafor does).
    """
