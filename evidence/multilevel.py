"""Multilevel random-effects meta-analysis: effects nested in samples nested in studies.

The model (metafor ``rma.mv(yi, V, mods, random = ~ 1 | study/sample/effect)``;
Konstantopoulos 2011 [1]_; Van den Noortgate et al. 2013 [2]_) is

    y = X beta + sum_l Z_l u_l + e,   u_l ~ N(0, sigma2_l I),   e ~ N(0, S),

with ``S`` the known sampling covariance (diagonal ``v_i``, blocks given by the
user, or built from an assumed correlation ``rho`` as metafor's ``vcalc``).
Every level nests in the outermost one (the *cluster*), so the marginal
covariance ``M = S + sum_l sigma2_l Z_l Z_l'`` is block diagonal over clusters
and no ``k x k`` matrix is ever formed: blocks are batched by cluster size and
factorised with NumPy's stacked Cholesky.

Interface for cluster-robust inference (``evidence.robust``)
-----------------------------------------------------------
A fitted :class:`MultilevelResult` ``res`` exposes, rows always in the order of
the input data frame (after nothing is dropped: missing values are errors):

``res.X``
    ``(k, p)`` float array, the design matrix (intercept column first when
    ``intercept=True``); ``res.coef_names`` its column names.
``res.y``
    ``(k,)`` float array, the outcomes.
``res.cluster``
    ``(k,)`` object array, the outermost-level id of each row (the cluster
    of the sandwich).
``res.beta``, ``res.vcov``
    ``(p,)`` estimates and ``(p, p)`` model-based covariance
    ``(X' M^-1 X)^-1``.
``res.covariance_blocks()``
    tuple of :class:`ClusterBlock` ``(cluster, rows, V, W)``, one per cluster
    in order of first appearance: ``rows`` the ``(n_j,)`` int row indices into
    ``X``/``y``; ``V`` the ``(n_j, n_j)`` marginal covariance
    ``S_j + sum_l sigma2_l Z_lj Z_lj'`` at the estimates; ``W = V^-1`` the
    model's weight block (so ``beta = (sum X_j' W_j X_j)^-1 sum X_j' W_j y_j``).
``res.sampling_blocks()``
    the same with ``V = S_j`` (sampling covariance only) and ``W = S_j^-1``.

References
----------
.. [1] Konstantopoulos S (2011). Fixed effects and variance components
   estimation in three-level meta-analysis. *Res Synth Methods* 2(1), 61-76.
.. [2] Van den Noortgate W, Lopez-Lopez JA, Marin-Martinez F, Sanchez-Meca J
   (2013). Three-level meta-analysis of dependent effect sizes. *Behav Res
   Methods* 45(2), 576-594.
.. [3] metafor 3.8-1 (Viechtbauer): ``rma.mv()``, ``confint.rma.mv()``,
   ``fitstats()``, ``anova.rma()``, ``vcalc()``.
"""
