"""Tests of the tau^2 kernels in evidence.tau2.

Oracles: hand-worked closed forms on a 3-study example, the defining equations
of the iterative estimators (score equations, Q(tau2) = k - 1, the Q-profile
quantiles), statsmodels where it computes the same quantity, and batch/mask
invariances.  Agreement with metafor itself is pinned in test_metafor_core.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evidence import _engine as E
from evidence import tau2 as T
from evidence.exceptions import EvidenceWarning
from evidence.options import TAU2_METHODS

#: Closed-form results reproduced by hand: only floating-point rounding separates them.
RTOL_EXACT = 1e-12
#: Iterative estimators stop at DEFAULT_TOL = 1e-12 relative; the defining
#: equation then holds to about that times its scale; 1e-9 leaves headroom.
RTOL_ITER = 1e-9
#: statsmodels' iterated (Paule-Mandel) estimator stops at a looser tolerance
#: (its default atol 1e-5 on the update), agreeing to ~1e-6 relative.
RTOL_STATSMODELS_PM = 1e-5

Y3 = np.array([[0.1, 0.3, 0.5]])
V3 = np.array([[0.01, 0.02, 0.04]])


def _random_batch(rng: np.random.Generator, n: int, k: int, p_absent: float = 0.25):
    v = rng.uniform(0.005, 0.3, (n, k))
    y = rng.normal(0.2, np.sqrt(v + rng.choice([0.0, 0.02, 0.2], size=(n, 1))))
    mask = rng.random((n, k)) >= p_absent
    mask[:, 0] = True  # every row keeps at least one study
    return y, v, mask


# ---------------------------------------------------------------------------
# hand-worked closed forms on y = (0.1, 0.3, 0.5), v = (0.01, 0.02, 0.04)
# weights 1/v = (100, 50, 25), sum 175, weighted mean 37.5/175 = 3/14
# ---------------------------------------------------------------------------


def test_q_statistic_by_hand() -> None:
    mu = 37.5 / 175
    q = 100 * (0.1 - mu) ** 2 + 50 * (0.3 - mu) ** 2 + 25 * (0.5 - mu) ** 2
    assert q == pytest.approx(26 / 7, rel=RTOL_EXACT)
    assert T.q_statistic(Y3, V3)[0] == pytest.approx(26 / 7, rel=RTOL_EXACT)


def test_dl_by_hand() -> None:
    # tr(P) = 175 - (100^2 + 50^2 + 25^2)/175 = 100; (Q - 2)/100 = (12/7)/100
    assert T.dl(Y3, V3)[0] == pytest.approx(12 / 700, rel=RTOL_EXACT)


def test_he_by_hand() -> None:
    # sum (y - 0.3)^2 = 0.08; (k-1)/k sum v = 2/3 * 0.07; divided by k - 1 = 2
    assert T.he(Y3, V3)[0] == pytest.approx((0.08 - 0.07 * 2 / 3) / 2, rel=RTOL_EXACT)


def test_hs_by_hand() -> None:
    # (Q - k) / sum w = (26/7 - 3)/175
    assert T.hs(Y3, V3)[0] == pytest.approx((26 / 7 - 3) / 175, rel=RTOL_EXACT)


def test_sj_by_hand() -> None:
    tau0 = 0.08 / 3  # var(y) * (k-1)/k
    w = 1 / (V3[0] + tau0)
    mu = (w * Y3[0]).sum() / w.sum()
    q = (w * (Y3[0] - mu) ** 2).sum()
    assert T.sj(Y3, V3)[0] == pytest.approx(tau0 * q / 2, rel=RTOL_EXACT)


# ---------------------------------------------------------------------------
# defining equations of the iterative estimators
# ---------------------------------------------------------------------------


def _score_terms(y: np.ndarray, v: np.ndarray, t: float) -> tuple[float, float, float, float]:
    w = 1 / (v + t)
    mu = (w * y).sum() / w.sum()
    r = y - mu
    ypp = (w**2 * r**2).sum()
    trp = w.sum() - (w**2).sum() / w.sum()
    return ypp, trp, w.sum(), (w**2).sum()


def test_reml_solves_its_score_equation() -> None:
    y = np.array([0.1, 0.3, 0.5, -0.2, 0.6])
    v = np.array([0.01, 0.02, 0.04, 0.01, 0.03])
    fit = T.reml(y[None], v[None])
    assert fit.converged[0] and fit.tau2[0] > 0
    ypp, trp, _, _ = _score_terms(y, v, fit.tau2[0])
    assert ypp == pytest.approx(trp, rel=RTOL_ITER)


def test_ml_solves_its_score_equation() -> None:
    y = np.array([0.1, 0.3, 0.5, -0.2, 0.6])
    v = np.array([0.01, 0.02, 0.04, 0.01, 0.03])
    fit = T.ml(y[None], v[None])
    assert fit.converged[0] and fit.tau2[0] > 0
    ypp, _, sw, _ = _score_terms(y, v, fit.tau2[0])
    assert ypp == pytest.approx(sw, rel=RTOL_ITER)


@pytest.mark.parametrize("kernel", [T.pm, T.eb])
def test_pm_and_eb_solve_q_equals_k_minus_1(kernel) -> None:
    y = np.array([0.1, 0.3, 0.5, -0.2, 0.6])
    v = np.array([0.01, 0.02, 0.04, 0.01, 0.03])
    fit = kernel(y[None], v[None])
    assert fit.converged[0] and fit.tau2[0] > 0
    assert T.q_statistic(y[None], v[None], tau2=fit.tau2)[0] == pytest.approx(4.0, rel=RTOL_ITER)


def test_eb_equals_pm() -> None:
    y, v, mask = _random_batch(np.random.default_rng(3), 200, 8)
    np.testing.assert_array_equal(T.eb(y, v, mask).tau2, T.pm(y, v, mask).tau2)


def test_pm_matches_statsmodels_iterated() -> None:
    from statsmodels.stats.meta_analysis import combine_effects

    y = np.array([0.1, 0.3, 0.5, -0.2])
    v = np.array([0.01, 0.02, 0.04, 0.01])
    sm = combine_effects(y, v, method_re="iterated")
    assert T.pm(y[None], v[None]).tau2[0] == pytest.approx(sm.tau2, rel=RTOL_STATSMODELS_PM)


def test_dl_matches_statsmodels_when_positive() -> None:
    # statsmodels does not truncate DL at 0; with Q > k - 1 the two agree.
    from statsmodels.stats.meta_analysis import combine_effects

    y = np.array([0.1, 0.3, 0.5, -0.2])
    v = np.array([0.01, 0.02, 0.04, 0.01])
    sm = combine_effects(y, v, method_re="dl")
    assert sm.tau2 > 0
    assert T.dl(y[None], v[None])[0] == pytest.approx(sm.tau2, rel=RTOL_EXACT)


# ---------------------------------------------------------------------------
# truncation, boundary, k = 1, identical studies
# ---------------------------------------------------------------------------

HOMOGENEOUS_Y = np.array([[0.10, 0.12, 0.11, 0.09]])
HOMOGENEOUS_V = np.array([[0.05, 0.04, 0.06, 0.05]])


@pytest.mark.parametrize("method", [m for m in TAU2_METHODS if m != "SJ"])
def test_q_below_df_gives_zero(method: str) -> None:
    assert T.q_statistic(HOMOGENEOUS_Y, HOMOGENEOUS_V)[0] < 3  # Q < k - 1
    fit = T.estimate(method, HOMOGENEOUS_Y, HOMOGENEOUS_V)
    assert fit.converged[0]
    assert fit.tau2[0] == pytest.approx(0.0, abs=1e-12)
    assert fit.tau2[0] >= 0.0


def test_sj_is_positive_even_when_q_below_df() -> None:
    # Sidik-Jonkman is tau2_0 * Q(tau2_0)/(k-1) > 0: it never needs truncation
    fit = T.estimate("SJ", HOMOGENEOUS_Y, HOMOGENEOUS_V)
    assert 0 < fit.tau2[0] < 1e-5


@pytest.mark.parametrize("method", TAU2_METHODS)
def test_single_study_gives_zero(method: str) -> None:
    fit = T.estimate(method, [[0.4]], [[0.02]])
    assert fit.tau2[0] == 0.0 and fit.converged[0] and fit.n_iter[0] == 0


@pytest.mark.parametrize("method", TAU2_METHODS)
def test_identical_studies_give_zero(method: str) -> None:
    fit = T.estimate(method, [[0.2, 0.2, 0.2]], [[0.1, 0.2, 0.3]])
    # SJ starts from var(y), which is 0 up to rounding of the mean
    assert fit.tau2[0] == pytest.approx(0.0, abs=1e-30) and fit.converged[0]


# ---------------------------------------------------------------------------
# batch semantics
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", TAU2_METHODS)
def test_batch_equals_rowwise_and_absent_entries_are_ignored(method: str) -> None:
    rng = np.random.default_rng(11)
    y, v, mask = _random_batch(rng, 40, 7)
    garbage_y = np.where(mask, y, np.nan)
    garbage_v = np.where(mask, v, -np.inf)  # nonsense where absent
    batch = T.estimate(method, garbage_y, garbage_v, mask)
    for i in range(y.shape[0]):
        m = mask[i]
        one = T.estimate(method, y[i, m][None], v[i, m][None])
        assert batch.tau2[i] == pytest.approx(one.tau2[0], rel=RTOL_ITER, abs=1e-15)
        assert batch.converged[i] == one.converged[0]


@pytest.mark.parametrize("method", TAU2_METHODS)
def test_scale_equivariance(method: str) -> None:
    # tau2(c y, c^2 v) = c^2 tau2(y, v): no hidden absolute constants
    y, v, mask = _random_batch(np.random.default_rng(5), 20, 6, p_absent=0.0)
    c = 7.0
    a = T.estimate(method, y, v, mask).tau2
    b = T.estimate(method, c * y, c * c * v, mask).tau2
    np.testing.assert_allclose(b, c * c * a, rtol=1e-8, atol=1e-14)


def test_nonconvergence_is_reported_not_hidden() -> None:
    y = np.array([[0.1, 0.3, 0.5, -0.2, 0.6]])
    v = np.array([[0.01, 0.02, 0.04, 0.01, 0.03]])
    for kernel in (T.reml, T.ml, T.pm, T.eb):
        fit = kernel(y, v, max_iter=1)
        assert not fit.converged[0]
        assert np.isfinite(fit.tau2[0])
        # one step of the iteration (REML/ML: Newton/scoring; PM/EB: root search)
        assert fit.n_iter[0] == 1


# Fisher scoring oscillates on this dataset (drawn with numpy's default_rng(1));
# metafor 3.8.1 stops with "Fisher scoring algorithm did not converge", and its
# documented remedy gives the REML estimate:
#   rma(y, v, method="REML", control=list(threshold=1e-12, maxiter=10000, stepadj=0.5))$tau2
#   [1] 0.0965545495829681
STEPADJ_Y = np.array([
    0.397947026697203, 1.0099397496183231, 0.08433724776411285, -0.28124234472822063,
    -0.21034450488729953, -0.3782969991439253, 0.9376249209381151, 0.01689838954558841,
    -0.00875566177781455, 0.3617364615683359, 1.6995851296502755, 0.00327849819858287,
    0.7624829391571782, 1.0935951636667771, 0.38225257711705884,
])
STEPADJ_V = np.array([
    0.923438757971865, 0.28580952384061764, 0.8467531796910723, 0.6146964032478108,
    0.08401853044966631, 0.5526881496301147, 0.15946187289664293, 0.8180032376959891,
    0.664788266973197, 0.7012028757183837, 0.9064317424414726, 0.9316953968085796,
    0.7600863077107858, 0.9177770064180674, 0.9630495217508204,
])
METAFOR_STEPADJ_REML = 0.0965545495829681


def _plain_fisher_scoring(y, v, reml: bool, max_iter: int, threshold: float = 1e-12, stepadj: float = 1.0):
    """metafor's Fisher scoring (rma.uni, intercept only), verbatim: (tau2, converged)."""
    y, v = np.asarray(y, float), np.asarray(v, float)
    k = y.size
    ybar = y.mean()
    t = max(0.0, (np.sum((y - ybar) ** 2) - v.sum() * (k - 1) / k) / (k - 1))
    for _ in range(max_iter):
        w = 1.0 / (v + t)
        P = np.diag(w) - np.outer(w, w) / w.sum()
        PP = P @ P
        if reml:
            adj = (y @ PP @ y - np.trace(P)) / np.trace(PP)
        else:
            adj = (y @ PP @ y - w.sum()) / np.sum(w * w)
        adj *= stepadj
        while t + adj < 0:
            adj /= 2
        old, t = t, t + adj
        if abs(old - t) < threshold:
            return t, True
    return t, False


def test_oscillating_fisher_scoring_is_rescued_by_bracketing() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = T.reml(STEPADJ_Y[None], STEPADJ_V[None])
    assert fit.converged[0]
    assert not _plain_fisher_scoring(STEPADJ_Y, STEPADJ_V, True, 100)[1]  # metafor's scoring fails
    assert fit.tau2[0] == pytest.approx(METAFOR_STEPADJ_REML, rel=1e-9)
    # The answer maximises the restricted likelihood (checked independently by scipy).
    from scipy.optimize import minimize_scalar

    def neg_reml(t: float) -> float:
        w = 1.0 / (STEPADJ_V + t)
        mu = np.sum(w * STEPADJ_Y) / np.sum(w)
        return 0.5 * (np.sum(np.log(STEPADJ_V + t)) + np.log(np.sum(w)) + np.sum(w * (STEPADJ_Y - mu) ** 2))

    opt = minimize_scalar(neg_reml, bounds=(0.0, 5.0), method="bounded", options={"xatol": 1e-12})
    assert fit.tau2[0] == pytest.approx(opt.x, rel=1e-5)


def test_random_batch_converges_everywhere() -> None:
    rng = np.random.default_rng(1)
    v = rng.uniform(0.01, 1.0, (5000, 15))
    y = rng.normal(0.0, np.sqrt(v + 0.1))
    for kernel in (T.reml, T.ml):
        fit = kernel(y, v)
        assert fit.converged.all()


def test_large_k_smoke() -> None:
    rng = np.random.default_rng(0)
    k = 100_000
    v = rng.uniform(0.01, 0.1, k)
    y = rng.normal(0.0, np.sqrt(v + 0.04))
    for method in ("REML", "PM", "DL"):
        fit = T.estimate(method, y[None], v[None])
        assert fit.converged[0]
        assert fit.tau2[0] == pytest.approx(0.04, rel=0.05)


# ---------------------------------------------------------------------------
# Q-profile confidence interval
# ---------------------------------------------------------------------------


def test_q_profile_bounds_hit_the_chi2_quantiles() -> None:
    y = np.array([[0.1, 0.3, 0.5, -0.2, 0.6]])
    v = np.array([[0.01, 0.02, 0.04, 0.01, 0.03]])
    ci = T.q_profile_ci(y, v, alpha=0.05)
    assert ci.converged[0] and 0 < ci.low[0] < ci.high[0]
    assert T.q_statistic(y, v, tau2=ci.low)[0] == pytest.approx(stats.chi2.isf(0.025, 4), rel=RTOL_ITER)
    assert T.q_statistic(y, v, tau2=ci.high)[0] == pytest.approx(stats.chi2.ppf(0.025, 4), rel=RTOL_ITER)
    wider = T.q_profile_ci(y, v, alpha=0.01)
    assert wider.low[0] < ci.low[0] and wider.high[0] > ci.high[0]


def test_q_profile_lower_bound_zero_when_q_small() -> None:
    y = np.array([[0.1, 0.3, 0.5]])
    v = np.array([[0.01, 0.02, 0.04]])
    q0 = T.q_statistic(y, v)[0]
    assert stats.chi2.ppf(0.025, 2) < q0 < stats.chi2.isf(0.025, 2)
    ci = T.q_profile_ci(y, v)
    assert ci.low[0] == 0.0 and ci.high[0] > 0


def test_q_profile_empty_interval_is_zero_zero() -> None:
    # Q(0) below the lower chi-square quantile: metafor's "null set", [0, 0]
    y = np.array([[0.2, 0.2001, 0.1999]])
    v = np.array([[0.1, 0.1, 0.1]])
    assert T.q_statistic(y, v)[0] < stats.chi2.ppf(0.025, 2)
    ci = T.q_profile_ci(y, v)
    assert ci.low[0] == 0.0 and ci.high[0] == 0.0


def test_q_profile_nonconvergence_is_flagged() -> None:
    y = np.array([[0.1, 0.3, 0.5, -0.2, 0.6]])
    v = np.array([[0.01, 0.02, 0.04, 0.01, 0.03]])
    ci = T.q_profile_ci(y, v, max_iter=1)
    assert not ci.converged[0]
    assert T.q_profile_ci(y, v).converged[0]


def test_q_profile_k1_is_nan() -> None:
    ci = T.q_profile_ci([[0.3]], [[0.1]])
    assert np.isnan(ci.low[0]) and np.isnan(ci.high[0])


def test_q_profile_batch_equals_rowwise() -> None:
    y, v, mask = _random_batch(np.random.default_rng(8), 30, 6)
    ci = T.q_profile_ci(np.where(mask, y, np.nan), v, mask)
    for i in range(30):
        m = mask[i]
        one = T.q_profile_ci(y[i, m][None], v[i, m][None])
        np.testing.assert_allclose([ci.low[i], ci.high[i]], [one.low[0], one.high[0]], rtol=RTOL_ITER)


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="shape"):
        T.dl([[0.1, 0.2]], [[0.1, 0.2, 0.3]])
    with pytest.raises(ValueError, match="mask"):
        T.dl([[0.1, 0.2]], [[0.1, 0.2]], [[True]])


def test_estimate_rejects_unknown_method() -> None:
    with pytest.raises(ValueError, match="method='reml'.*Did you mean 'REML'"):
        T.estimate("reml", Y3, V3)


# ---------------------------------------------------------------------------
# two data sets (from a simulation) where metafor's Fisher scoring misbehaves;
# metafor 3.8-1 with control=list(threshold=1e-12, maxiter=10000) gives the
# behaviour asserted here (checked with Rscript when the test was written).
# ---------------------------------------------------------------------------

#: ML: Fisher scoring creeps to an interior local maximum whose likelihood is
#: below that at tau2 = 0; metafor warns "may have gotten stuck at a local
#: maximum" and sets tau2 = 0.
LOCAL_MAX_Y = [0.91005668755373881, 1.0571106032147242, 0.17636519127803094, 0.29041907524717148,
               -0.38615829688684539, 0.012970345966341418, 0.29855611646613789, 0.46563430529572064,
               0.1646524975805051, -0.23841501862710263, 0.53180752546921772, 0.14275268342809508,
               0.74664826734178402, 0.0079890712574651745, -0.078789516817449778]
LOCAL_MAX_V = [0.16605237347998106, 0.078359243630676284, 0.01674742064878499, 0.015641327383218846,
               0.096604797433822179, 0.15914949068161474, 0.029419135617439293, 0.18739219743031532,
               0.17942512765948818, 0.092868184824363861, 0.14703712662085155, 0.038830691849390711,
               0.12207293508687682, 0.089207083291255998, 0.092862014132574638]
#: REML: Fisher scoring oscillates and never converges; metafor stops with
#: "Fisher scoring algorithm did not converge".
OSCILLATING_Y = [0.11659971614357649, 0.45788865182605326, 0.4207456568126654, 0.2981335144999091,
                 0.080550282135599685, 0.52846330441191447, -0.10068361503158219, 0.9056660115658941,
                 -0.10002474329400585, 0.49356375505098726, 0.35058977064193708, 0.47332825484384494,
                 0.34151854996830699, 0.32407282455814063, 0.16215370586413069, 0.2217506450546915,
                 -0.081743045263041325]
OSCILLATING_V = [0.10206090486286924, 0.013777570553875807, 0.18540020392504156, 0.038485587763641797,
                 0.084519224395331549, 0.12496096072213143, 0.16257465327134546, 0.17907602897977906,
                 0.041590532610062542, 0.16246317779115196, 0.1039731918496104, 0.18692160502350016,
                 0.13603068988537032, 0.11955228191502192, 0.038385831427498608, 0.039931258104564681,
                 0.15626024156865068]


def _loglik(tau2: np.ndarray, y: np.ndarray, v: np.ndarray, reml: bool) -> np.ndarray:
    """(Restricted) log-likelihood of the intercept-only model at each tau2, one study vector.

    As metafor ``rma.uni`` computes it (without the constant ``log det(X'X)`` that its
    ``REMLf = TRUE`` adds), with the ``k x k`` matrices written out: an oracle
    independent of the kernel's sums.
    """
    out = []
    for t in np.atleast_1d(tau2):
        W = np.diag(1.0 / (v + t))
        X = np.ones((y.size, 1))
        xwx = X.T @ W @ X
        P = W - W @ X @ np.linalg.inv(xwx) @ X.T @ W
        ll = -0.5 * np.sum(np.log(v + t)) - 0.5 * y @ P @ y
        if reml:
            ll += -0.5 * (y.size - 1) * np.log(2 * np.pi) - 0.5 * np.log(np.linalg.det(xwx))
        else:
            ll += -0.5 * y.size * np.log(2 * np.pi)
        out.append(ll)
    return np.array(out)


def test_ll0_gain_is_the_likelihood_difference() -> None:
    # the ll0check of the kernel compares ll(0) with ll(tau2) through _ll0_gain
    y, v = np.asarray(LOCAL_MAX_Y), np.asarray(LOCAL_MAX_V)
    grid = np.array([1e-8, 1e-3, 0.05, 0.3, 4.0, 1e6, 1e30])  # 1e30: the product of ratios overflows
    y0, v0, mf, _ = E.prepare(np.repeat(y[None], grid.size, 0), np.repeat(v[None], grid.size, 0), None)
    for reml in (True, False):
        expected = _loglik(np.zeros(1), y, v, reml)[0] - _loglik(grid, y, v, reml)
        np.testing.assert_allclose(E.ll0_gain(grid, y0, v0, mf, None, reml), expected, rtol=1e-9, atol=1e-12)


def test_ml_slow_scoring_ends_on_the_boundary() -> None:
    # Fisher scoring creeps towards a local maximum at tau2 > 0 whose likelihood
    # is below that at 0 (the score at 0 is negative), so metafor's ll0check puts
    # the estimate on the boundary.
    fit = T.ml([LOCAL_MAX_Y], [LOCAL_MAX_V])
    assert fit.converged[0] and fit.tau2[0] == 0.0
    assert E.score_parts(np.zeros(1), *E.prepare([LOCAL_MAX_Y], [LOCAL_MAX_V], None)[:3], None, False)[0][0] < 0


def test_ml_local_maximum_check_sets_zero_like_metafor() -> None:
    # Rows of this seeded batch where Fisher scoring converges to a local
    # maximum whose likelihood is below that at tau2 = 0 (metafor's ll0check).
    from evidence.exceptions import ConvergenceWarning

    rng = np.random.default_rng(1)
    v = rng.uniform(0.01, 1.0, (5000, 15))
    y = rng.normal(0.0, np.sqrt(v + 0.1))
    rows = [1700, 2020, 3452, 4244]
    with pytest.warns(ConvergenceWarning, match="local maximum.*set to 0"):
        fit = T.ml(y[rows], v[rows])
    assert fit.converged.all() and (fit.tau2 == 0.0).all()
    grid = np.logspace(-6, 1, 2000)
    for r in rows:
        y0, v0, mf, k = E.prepare(np.repeat(y[r][None], grid.size, 0), np.repeat(v[r][None], grid.size, 0), None)
        ll = _loglik(grid, y[r], v[r], reml=False)
        score = E.score_parts(grid, y0, v0, mf, None, False)[0]
        # a local maximum above 0 exists (the score turns from + to -) ...
        assert ((score[:-1] > 0) & (score[1:] < 0)).any()
        # ... but the likelihood is highest at tau2 = 0
        assert _loglik(np.zeros(1), y[r], v[r], reml=False)[0] > ll.max()


def test_reml_oscillation_is_solved_on_the_score_equation() -> None:
    # metafor's Fisher scoring oscillates (it has not converged after 1,000 steps);
    # the kernel returns the root of the REML score equation inside the bracket.
    assert not _plain_fisher_scoring(OSCILLATING_Y, OSCILLATING_V, True, 1000)[1]
    scoring_only = T.reml([OSCILLATING_Y], [OSCILLATING_V], max_iter=T.DEFAULT_MAX_ITER)
    assert scoring_only.converged[0]
    score = E.score_parts(scoring_only.tau2, *E.prepare([OSCILLATING_Y], [OSCILLATING_V], None)[:3], None, True)[0]
    assert abs(score[0]) < 1e-8


# ---------------------------------------------------------------------------
# restricted likelihoods with two local maxima (one at tau2 = 0, one inside):
# subsets of the BCG trials, log risk ratios.  metafor 3.8.1 (R 4.2.2):
#   dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
#   ctl <- list(threshold=1e-12, maxiter=10000)
#   rma(yi, vi, data=dat[c(2,7,10,12),], method="REML", control=ctl)$tau2  # 0.188139057143085
#   rma(yi, vi, data=dat[c(1,3,5,13),],  method="REML", control=ctl)$tau2  # 0.0244502105708308
#   rma(yi, vi, data=dat[c(4,10,12),],   method="REML", control=ctl)$tau2  # 0.529584923486015
#   (method="ML" on the same subsets: 2.1e-13, 6.0e-14, 5.7e-13, i.e. the boundary 0)
# All subsets of the 13 trials are pinned in tests/reference/metafor_gosh_bcg.json.
# ---------------------------------------------------------------------------

_BCG_COUNTS = np.array([
    [4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
    [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619], [505, 87886, 499, 87892],
    [29, 7470, 45, 7232], [17, 1699, 65, 1600], [186, 50448, 141, 27197], [5, 2493, 3, 2338],
    [27, 16886, 29, 17825],
], dtype=float)
_A, _B, _C, _D = _BCG_COUNTS.T
BCG_YI = np.log((_A / (_A + _B)) / (_C / (_C + _D)))
BCG_VI = 1 / _A - 1 / (_A + _B) + 1 / _C - 1 / (_C + _D)
#: (1-based trials, metafor REML tau2)
BIMODAL_BCG = [
    ((2, 7, 10, 12), 0.188139057143085),
    ((1, 3, 5, 13), 0.0244502105708308),
    ((4, 10, 12), 0.529584923486015),
]


@pytest.mark.parametrize("trials, expected", BIMODAL_BCG, ids=lambda x: str(x))
def test_reml_reaches_the_interior_maximum_like_metafor(trials, expected) -> None:
    sel = np.asarray(trials) - 1
    y, v = BCG_YI[sel][None], BCG_VI[sel][None]
    fit = T.reml(y, v)
    assert fit.converged[0]
    assert fit.tau2[0] == pytest.approx(expected, rel=1e-9)
    y0, v0, mf, k = E.prepare(y, v, None)
    # the premise: 0 is a local maximum too (score < 0 there), but a lower one
    assert E.score_parts(np.zeros(1), y0, v0, mf, None, True)[0][0] < 0
    assert _loglik(fit.tau2, y[0], v[0], reml=True)[0] > _loglik(np.zeros(1), y[0], v[0], reml=True)[0]
    # ML on the same subsets: metafor ends on the boundary
    assert T.ml(y, v).tau2[0] == pytest.approx(0.0, abs=1e-10)


def test_bimodal_rows_in_a_batch_and_with_a_moderator_free_design() -> None:
    # one batch holding the three subsets (NaN-free rows of different k) and the
    # general-X kernel of evidence.metareg with X = 1 give the same answers
    from evidence.metareg import tau2_mods

    Y = np.zeros((3, 4))
    V = np.ones((3, 4))
    M = np.zeros((3, 4), dtype=bool)
    for i, (trials, _) in enumerate(BIMODAL_BCG):
        sel = np.asarray(trials) - 1
        Y[i, : sel.size], V[i, : sel.size], M[i, : sel.size] = BCG_YI[sel], BCG_VI[sel], True
    expected = [e for _, e in BIMODAL_BCG]
    np.testing.assert_allclose(T.reml(Y, V, M).tau2, expected, rtol=1e-9)
    t_mods, _, conv = tau2_mods(Y, V, np.ones((4, 1)), M, method="REML")
    assert conv.all()
    np.testing.assert_allclose(t_mods, expected, rtol=1e-9)


def test_likelihood_kernels_agree_on_random_batches_with_metareg() -> None:
    import warnings

    from evidence.metareg import tau2_mods

    y, v, mask = _random_batch(np.random.default_rng(11), 400, 6)
    for method, kernel in (("REML", T.reml), ("ML", T.ml)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", EvidenceWarning)  # ll0check rows warn in both kernels
            a = kernel(y, v, mask).tau2
            b = tau2_mods(y, v, np.ones((6, 1)), mask, method=method)[0]
        np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("factor", [1.5, 4.0, 50.0])
def test_a_descent_does_not_jump_to_zero_on_a_negative_score_at_zero(factor: float) -> None:
    # Started above the interior maximum (score < 0 there) the iteration must stop at
    # that maximum, although the score at 0 is negative as well.
    sel = np.array([4, 10, 12]) - 1
    y0, v0, mf, k = E.prepare(BCG_YI[sel][None], BCG_VI[sel][None], None)
    root = 0.529584923486015
    start = np.array([factor * root])
    assert E.score_parts(start, y0, v0, mf, None, True)[0][0] < 0  # above the maximum the score is negative ...
    assert E.score_parts(np.zeros(1), y0, v0, mf, None, True)[0][0] < 0  # ... and at 0 too
    tau2, _, conv, ll0 = E.likelihood_root(y0, v0, mf, k, True, T.DEFAULT_TOL, T.DEFAULT_MAX_ITER, start=start)
    assert conv[0] and ll0.size == 0 and tau2[0] == pytest.approx(root, rel=1e-9)


def test_a_descent_reaches_zero_when_the_score_stays_negative() -> None:
    # Below the local minimum of the restricted likelihood the score is negative all the
    # way down to 0: the iteration ends on the boundary.
    sel = np.array([4, 10, 12]) - 1
    y0, v0, mf, k = E.prepare(BCG_YI[sel][None], BCG_VI[sel][None], None)
    grid = np.linspace(0.0, 0.5296, 2000)
    n = grid.size
    S = E.score_parts(grid, np.repeat(y0, n, 0), np.repeat(v0, n, 0), np.repeat(mf, n, 0), None, True)[0]
    first_up = grid[np.argmax(S > 0)]  # the score turns positive above the local minimum
    start = np.array([0.5 * first_up])
    assert (S[grid <= start[0]] < 0).all()
    tau2, _, conv, _ = E.likelihood_root(y0, v0, mf, k, True, T.DEFAULT_TOL, T.DEFAULT_MAX_ITER, start=start)
    assert conv[0] and tau2[0] == 0.0
