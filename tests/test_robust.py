"""Cluster-robust inference (evidence.robust) against clubSandwich 0.5.8 and robumeta 2.0.

Oracles: the pinned R output (tests/reference/clubsandwich.json, robumeta.json, made by the
scripts in tests/r/), a dense k x k implementation of the same formulas written out here
(Pustejovsky & Tipton 2018, eqs. 5, 8, 11; Tipton & Pustejovsky 2015, eq. 17), and
hand-worked cases.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import R_DIR, load_reference, run_r
from scipy import linalg

from evidence import DataWarning, meta_analysis, meta_regression
from evidence.robust import (
    ClusterRobustResult,
    cluster_robust,
    cluster_robust_arrays,
    rho_sensitivity,
    robu,
    wald_test,
)

CS = load_reference("clubsandwich.json")
RB = load_reference("robumeta.json")
#: Agreement required with R (relative).  Both sides are direct linear algebra on the same pinned
#: inputs, so they agree to ~1e-9 or better; 1e-6 is the project's standard.
RTOL = 1e-6
#: Absolute floor for p-values: robumeta computes 2 * (1 - pt(|t|, df)), which is round-off below ~1e-15.
P_ATOL = 1e-12
#: The single-level fits are refitted here; their tau^2 agrees with metafor's to ~1e-10 only.
RTOL_REFIT = 1e-6

N_CS_CASES = 12
N_RB_CASES = 32
CS_TYPES = ("CR0", "CR1", "CR1p", "CR1S", "CR2")
WALD_NAMES = {"chi-sq": "chi2", "Naive-F": "naive_F", "Naive-Fp": "naive_Fp", "HTZ": "HTZ"}


def _vec(x: Any) -> np.ndarray:
    return np.atleast_1d(np.asarray(x, dtype=float))


def _cs_inputs(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, np.ndarray]]:
    X = np.atleast_2d(np.asarray(case["X"], dtype=float))
    if X.shape[0] != len(case["y"]):
        X = X.T
    V = {b["cluster"]: np.atleast_2d(np.asarray(b["block"], dtype=float)) for b in case["V_blocks"]}
    return X, _vec(case["y"]), list(case["cluster"]), V


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['data']}-{case['model']}-{case['mods']}-{case['method']}"


def _check_coefs(res: ClusterRobustResult, r: dict[str, Any], rtol: float = RTOL) -> None:
    ct = r["coef_test"]
    p = len(res.estimate)
    np.testing.assert_allclose(res.estimate, _vec(ct["beta"]), rtol=rtol)
    np.testing.assert_allclose(res.vcov, np.asarray(r["vcov"], dtype=float).reshape(p, p), rtol=rtol, atol=1e-15)
    np.testing.assert_allclose(res.se, _vec(ct["SE"]), rtol=rtol)
    np.testing.assert_allclose(res.statistic, _vec(ct["tstat"]), rtol=rtol)
    np.testing.assert_allclose(res.df, _vec(ct["df_Satt"]), rtol=rtol)
    np.testing.assert_allclose(res.p_value, _vec(ct["p_Satt"]), rtol=rtol, atol=P_ATOL)
    np.testing.assert_allclose(res.ci_low, _vec(r["conf_int"]["CI_L"]), rtol=rtol)
    np.testing.assert_allclose(res.ci_high, _vec(r["conf_int"]["CI_U"]), rtol=rtol)


def test_grid_sizes() -> None:
    assert len(CS["cases"]) == N_CS_CASES
    assert all(list(c["results"]) == list(CS_TYPES) for c in CS["cases"])
    assert {c["data"] for c in CS["cases"]} >= {"assink2016", "konstantopoulos2011", "corrdat", "hierdat", "simulated"}
    assert sum(c["model"] == "rma.mv" for c in CS["cases"]) == 6
    assert sum(len(r["Wald_test"]) for c in CS["cases"] for r in c["results"].values()) == 4 * 5 * N_CS_CASES
    assert len(RB["cases"]) == N_RB_CASES
    assert sum(len(c.get("sensitivity", [])) for c in RB["cases"]) == 6 * N_RB_CASES // 2
    # unbalanced clusters including clusters of one effect in every data set
    for c in CS["cases"]:
        sizes = pd.Series(c["cluster"]).value_counts()
        assert sizes.min() == 1 or c["data"] == "konstantopoulos2011", c["data"]
        assert sizes.max() > sizes.min()


@pytest.mark.parametrize("case", CS["cases"], ids=_case_id)
@pytest.mark.parametrize("type", CS_TYPES)
def test_arrays_match_clubsandwich(case: dict[str, Any], type: str) -> None:
    X, y, cl, V = _cs_inputs(case)
    r = case["results"][type]
    res = cluster_robust_arrays(X, y, cl, V=V, type=type, names=list(np.atleast_1d(case["colnames"])))
    assert res.type == type and res.n_clusters == len(case["V_blocks"])
    _check_coefs(res, r)
    ct = r["coef_test"]
    for test, pcol, dfcol in (("z", "p_z", None), ("naive_t", "p_t", "df_t"), ("naive_tp", "p_tp", "df_tp")):
        other = cluster_robust_arrays(X, y, cl, V=V, type=type, test=test)
        np.testing.assert_allclose(other.p_value, _vec(ct[pcol]), rtol=RTOL, atol=P_ATOL)
        if dfcol is not None:
            np.testing.assert_allclose(other.df, _vec(ct[dfcol]))
    constraint = [int(i) - 1 for i in np.atleast_1d(case["wald_constraint"])]
    for w in r["Wald_test"]:
        wt = wald_test(res, constraint, test=WALD_NAMES[w["test"]])
        assert wt.df_num == w["df_num"]
        np.testing.assert_allclose(wt.statistic, w["Fstat"], rtol=RTOL)
        np.testing.assert_allclose(wt.delta, w["delta"], rtol=RTOL)
        if w["df_denom"] == "Inf":
            assert wt.df_denom == np.inf
        else:
            np.testing.assert_allclose(wt.df_denom, w["df_denom"], rtol=RTOL)
        np.testing.assert_allclose(wt.p_value, w["p_val"], rtol=RTOL, atol=P_ATOL)


@pytest.mark.parametrize("case", [c for c in CS["cases"] if c["model"] == "rma.uni"], ids=_case_id)
def test_single_level_results_match_clubsandwich_on_rma_uni(case: dict[str, Any]) -> None:
    X, y, cl, _ = _cs_inputs(case)
    vi = _vec(case["vi"])
    if X.shape[1] == 1:
        fit: Any = meta_analysis(y, vi, method=case["method"])
    else:
        fit = meta_regression(y, vi, X[:, 1:], method=case["method"])
    np.testing.assert_allclose(fit.tau2, case["tau2"], rtol=1e-8, atol=1e-12)
    for type in CS_TYPES:
        _check_coefs(cluster_robust(fit, cl, type=type), case["results"][type], rtol=RTOL_REFIT)


@dataclass(frozen=True)
class _Block:
    cluster: Any
    rows: np.ndarray
    V: np.ndarray
    W: np.ndarray


@dataclass(frozen=True)
class _FakeMultilevel:
    """Stands for evidence.multilevel's result: the interface documented at the top of that module."""

    X: np.ndarray
    y: np.ndarray
    cluster: np.ndarray
    coef_names: tuple[str, ...]
    blocks: tuple[_Block, ...]

    def covariance_blocks(self) -> tuple[_Block, ...]:
        return self.blocks


def _fake_multilevel(case: dict[str, Any]) -> _FakeMultilevel:
    X, y, cl, _ = _cs_inputs(case)
    blocks = []
    for b in case["V_blocks"]:
        V = np.atleast_2d(np.asarray(b["block"], dtype=float))
        blocks.append(_Block(b["cluster"], np.atleast_1d(np.asarray(b["rows"], dtype=int)), V, np.linalg.inv(V)))
    names = tuple(np.atleast_1d(case["colnames"]).tolist())
    return _FakeMultilevel(X, y, np.asarray(cl, dtype=object), names, tuple(blocks[::-1]))


@pytest.mark.parametrize("case", [c for c in CS["cases"] if c["model"] == "rma.mv"], ids=_case_id)
def test_multilevel_interface_matches_clubsandwich_on_rma_mv(case: dict[str, Any]) -> None:
    model = _fake_multilevel(case)
    for type in CS_TYPES:
        res = cluster_robust(model, type=type)
        assert res.names == model.coef_names
        _check_coefs(res, case["results"][type])


def test_multilevel_interface_with_coarser_clusters_and_split_clusters() -> None:
    case = next(c for c in CS["cases"] if c["data"] == "konstantopoulos2011" and c["model"] == "rma.mv")
    model = _fake_multilevel(case)
    X, y, cl, V = _cs_inputs(case)
    coarse = np.array([str(int(c) // 20) for c in cl], dtype=object)  # districts grouped by their tens
    res = cluster_robust(model, coarse)
    labels = sorted(set(coarse))
    blocks = [linalg.block_diag(*[V[c] for c in sorted(set(np.asarray(cl)[coarse == g]), key=cl.index)])
              for g in labels]
    direct = cluster_robust_arrays(X, y, coarse, V=blocks)
    assert res.n_clusters == len(labels) < len(V)
    np.testing.assert_allclose(res.vcov, direct.vcov, rtol=1e-12)
    np.testing.assert_allclose(res.df, direct.df, rtol=1e-10)
    split = np.arange(len(y)).astype(str)
    with pytest.raises(ValueError, match="nested within the clustering variable"):
        cluster_robust(model, split)


# ---------------------------------------------------------------------------
# independent oracles
# ---------------------------------------------------------------------------


def _dense_cr2(X, y, cl, Vfull, eig_tol=1e-12):
    """CR2 and its Satterthwaite / HTZ degrees of freedom with full k x k and J x J matrices."""
    k, p = X.shape
    W = np.linalg.inv(Vfull)
    M = np.linalg.inv(X.T @ W @ X)
    beta = M @ X.T @ W @ y
    e = y - X @ beta
    IH = np.eye(k) - X @ M @ X.T @ W
    S = IH @ Vfull @ IH.T
    labels = sorted(set(cl))
    idx = [np.flatnonzero(np.asarray(cl) == g) for g in labels]
    G = np.zeros((p, k, len(labels)))  # g_j for every coefficient: columns of the k x J matrix
    vc = np.zeros((p, p))
    for j, r in enumerate(idx):
        D = np.linalg.cholesky(Vfull[np.ix_(r, r)]).T  # upper, Theta_j = D'D
        B = D @ S[np.ix_(r, r)] @ D.T
        val, vec = np.linalg.eigh(B)
        Bm = vec @ np.diag(np.where(val > eig_tol, 1 / np.sqrt(np.clip(val, eig_tol, None)), 0)) @ vec.T
        A = D.T @ Bm @ D
        E = M @ X[r].T @ W[np.ix_(r, r)] @ A
        u = E @ e[r]
        vc += np.outer(u, u)
        G[:, :, j] = E @ IH[r, :]  # (p, k): row c is g_j' for coefficient c
    P = np.einsum("akj,kl,blm->abjm", G, Vfull, G)  # P[a, b] = G_a' Theta G_b (J x J)
    df = np.array([np.trace(P[a, a]) ** 2 / np.sum(P[a, a] ** 2) for a in range(p)])
    return beta, vc, df, P


def _dense_htz_nu(P, C):
    Pc = np.einsum("sa,abjm,tb->stjm", C, P, C)
    Om = np.einsum("stjj->st", Pc)
    val, vec = np.linalg.eigh(Om)
    Oh = vec @ np.diag(1 / np.sqrt(val)) @ vec.T
    B = np.einsum("sa,abjm,tb->stjm", Oh, Pc, Oh)
    q = C.shape[0]
    var = sum(np.sum(B[s, t] * B[t, s]) + np.sum(B[s, s] * B[t, t]) for s in range(q) for t in range(q))
    return q * (q + 1) / var


def _random_problem(seed: int, sizes: list[int], p: int = 3, rho: float = 0.5):
    rng = np.random.default_rng(seed)
    cl = np.repeat([f"s{i}" for i in range(len(sizes))], sizes)
    k = len(cl)
    X = np.column_stack([np.ones(k), rng.normal(size=(k, p - 1))])
    blocks = {}
    for g, n in zip(sorted(set(cl)), [sizes[int(g[1:])] for g in sorted(set(cl))], strict=True):
        sd = np.sqrt(rng.uniform(0.02, 0.2, n))
        Vb = rho * np.outer(sd, sd) + np.diag((1 - rho) * sd**2) + 0.03
        blocks[g] = Vb
    Vfull = np.zeros((k, k))
    for g, Vb in blocks.items():
        r = np.flatnonzero(cl == g)
        Vfull[np.ix_(r, r)] = Vb
    y = X @ np.array([0.3, -0.2, 0.1][:p]) + rng.multivariate_normal(np.zeros(k), Vfull)
    return X, y, cl, blocks, Vfull


def test_block_kernels_equal_dense_formulas() -> None:
    X, y, cl, blocks, Vfull = _random_problem(3, [1, 4, 2, 1, 6, 3, 1, 2, 5, 2])
    beta, vc, df, P = _dense_cr2(X, y, list(cl), Vfull)
    res = cluster_robust_arrays(X, y, cl, V=blocks)
    np.testing.assert_allclose(res.estimate, beta, rtol=1e-10)
    np.testing.assert_allclose(res.vcov, vc, rtol=1e-9)
    np.testing.assert_allclose(res.df, df, rtol=1e-9)
    C = np.eye(3)[1:]
    np.testing.assert_allclose(wald_test(res, [1, 2]).df_denom + 1, _dense_htz_nu(P, C), rtol=1e-9)
    C2 = np.array([[0.0, 1.0, -1.0], [1.0, 0.5, 0.0]])
    nu = _dense_htz_nu(P, C2)
    np.testing.assert_allclose(wald_test(res, C2).df_denom, nu - 1, rtol=1e-9)


def test_cr0_of_a_mean_by_hand() -> None:
    # intercept only, equal variances: beta = mean, CR0 = sum_j (sum_i e_ij)^2 / k^2
    y = np.array([1.0, 2.0, 4.0, 0.0, 3.0])
    cl = ["a", "a", "b", "c", "c"]
    res = cluster_robust_arrays(np.ones((5, 1)), y, cl, V=np.full(5, 0.3), type="CR0", test="z")
    e = y - 2.0
    expected = ((e[0] + e[1]) ** 2 + e[2] ** 2 + (e[3] + e[4]) ** 2) / 25
    assert res.estimate[0] == pytest.approx(2.0)
    assert res.vcov[0, 0] == pytest.approx(expected)
    cr1 = cluster_robust_arrays(np.ones((5, 1)), y, cl, V=np.full(5, 0.3), type="CR1", test="naive_t")
    assert cr1.vcov[0, 0] == pytest.approx(expected * 3 / 2)
    assert cr1.df[0] == 2


def test_htz_with_one_constraint_is_the_satterthwaite_t_test() -> None:
    X, y, cl, blocks, _ = _random_problem(5, [2, 1, 3, 1, 4, 2, 2, 1])
    res = cluster_robust_arrays(X, y, cl, V=blocks, names=["intercept", "a", "b"])
    wt = wald_test(res, ["b"])
    assert wt.df_num == 1 and wt.delta == pytest.approx(1.0)
    assert wt.statistic == pytest.approx(res.statistic[2] ** 2, rel=1e-10)
    assert wt.df_denom == pytest.approx(res.df[2], rel=1e-10)
    assert wt.p_value == pytest.approx(res.p_value[2], rel=1e-9)
    # default: every coefficient but the intercept
    assert wald_test(res).hypothesis == ("a = 0", "b = 0")


def test_order_of_rows_and_cluster_labels_does_not_matter() -> None:
    X, y, cl, blocks, Vfull = _random_problem(7, [3, 1, 2, 4, 1, 2])
    res = cluster_robust_arrays(X, y, cl, V=blocks)
    perm = np.random.default_rng(1).permutation(len(y))
    Vp = Vfull[np.ix_(perm, perm)]
    clp = cl[perm]
    relabel = {g: f"z{9 - i}" for i, g in enumerate(sorted(set(cl)))}
    clr = np.array([relabel[g] for g in clp])
    bl = {}
    for g in set(clr):
        r = np.flatnonzero(clr == g)
        bl[g] = Vp[np.ix_(r, r)]
    res2 = cluster_robust_arrays(X[perm], y[perm], clr, V=bl)
    np.testing.assert_allclose(res2.vcov, res.vcov, rtol=1e-10)
    np.testing.assert_allclose(res2.df, res.df, rtol=1e-10)
    np.testing.assert_allclose(res2.residuals, res.residuals[perm], atol=1e-12)


def test_weights_and_target_given_separately() -> None:
    # V given as weights only: the target is W^-1, the same as giving V
    X, y, cl, blocks, _ = _random_problem(11, [2, 3, 1, 2, 2, 4])
    a = cluster_robust_arrays(X, y, cl, V=blocks)
    b = cluster_robust_arrays(X, y, cl, W={g: np.linalg.inv(v) for g, v in blocks.items()})
    np.testing.assert_allclose(b.vcov, a.vcov, rtol=1e-10)
    # a working weight that differs from the target changes the df but keeps the estimator's form
    c = cluster_robust_arrays(X, y, cl, V=blocks, target={g: np.diag(np.diag(v)) for g, v in blocks.items()})
    assert c.target == "user" and not np.allclose(c.df, a.df)
    np.testing.assert_allclose(c.estimate, a.estimate)


# ---------------------------------------------------------------------------
# robumeta
# ---------------------------------------------------------------------------


def _rb_id(c: dict[str, Any]) -> str:
    return f"{c['data']}-{c['formula']}-{c['modelweights']}-small{c['small']}"


@pytest.mark.parametrize("case", RB["cases"], ids=_rb_id)
def test_robu_matches_robumeta(case: dict[str, Any]) -> None:
    X = np.atleast_2d(np.asarray(case["X"], dtype=float))
    if X.shape[0] != len(case["y"]):
        X = X.T
    mods = pd.DataFrame(X[:, 1:], columns=list(case["columns"])) if X.shape[1] > 1 else None
    model = "CE" if case["modelweights"] == "CORR" else "HE"
    res = robu(case["y"], case["v"], case["cluster"], mods, model=model, small=case["small"])
    np.testing.assert_allclose(res.estimate, _vec(case["b"]), rtol=RTOL)
    np.testing.assert_allclose(res.se, _vec(case["SE"]), rtol=RTOL)
    np.testing.assert_allclose(res.statistic, _vec(case["t"]), rtol=RTOL)
    np.testing.assert_allclose(res.df, _vec(case["dfs"]), rtol=RTOL)
    np.testing.assert_allclose(res.p_value, _vec(case["prob"]), rtol=RTOL, atol=P_ATOL)
    np.testing.assert_allclose(res.ci_low, _vec(case["CI_L"]), rtol=RTOL)
    np.testing.assert_allclose(res.ci_high, _vec(case["CI_U"]), rtol=RTOL)
    np.testing.assert_allclose(res.weights, _vec(case["weights"]), rtol=RTOL)
    np.testing.assert_allclose(res.tau2, case["tau_sq"], rtol=RTOL, atol=1e-14)
    if model == "HE":
        np.testing.assert_allclose(res.omega2, case["omega_sq"], rtol=RTOL, atol=1e-14)
        return
    np.testing.assert_allclose(res.i2, case["I2"], rtol=RTOL, atol=1e-12)
    sens = rho_sensitivity(res)
    assert len(sens.rho) == len(case["sensitivity"]) == 6
    for i, s in enumerate(case["sensitivity"]):
        assert sens.rho[i] == pytest.approx(s["rho"])
        np.testing.assert_allclose(sens.estimate[i], _vec(s["b"]), rtol=RTOL)
        np.testing.assert_allclose(sens.se[i], _vec(s["SE"]), rtol=RTOL)
        np.testing.assert_allclose(sens.tau2[i], s["tau_sq"], rtol=RTOL, atol=1e-14)


def test_robu_small_sample_is_cr2_with_inverse_weights_as_target() -> None:
    c = next(c for c in RB["cases"] if c["data"] == "hierdat" and c["modelweights"] == "HIER" and c["small"]
             and c["formula"] != "yi ~ 1")
    X = np.asarray(c["X"], dtype=float)
    res = robu(c["y"], c["v"], c["cluster"], X[:, 1:], model="HE")
    w = res.weights
    arr = cluster_robust_arrays(X, c["y"], c["cluster"], W=w, eigen_tol=1e-10)
    np.testing.assert_allclose(arr.se, res.se, rtol=1e-10)
    np.testing.assert_allclose(arr.df, res.df, rtol=1e-10)


# ---------------------------------------------------------------------------
# results and errors
# ---------------------------------------------------------------------------


def test_results_print_what_was_done() -> None:
    X, y, cl, blocks, _ = _random_problem(2, [2, 1, 3, 2, 2, 1, 4])
    res = cluster_robust_arrays(X, y, cl, V=blocks, names=["intercept", "a", "b"], alpha=0.1)
    frame = res.summary_frame()
    assert list(frame.columns) == ["estimate", "se", "ci_low", "ci_high", "weight", "statistic", "df", "p_value"]
    assert list(frame.index) == ["intercept", "a", "b"]
    text = res.summary()
    assert "CR2" in text and "Satterthwaite" in text and "90% CI" in text and "7 clusters" in text
    assert "CR2" in repr(res)
    wt = wald_test(res)
    assert "HTZ" in wt.summary() and list(wt.summary_frame().index) == ["HTZ"]
    rb = robu(y, [0.05] * len(y), cl, X[:, 1:], model="HE")
    assert "hierarchical effects" in rb.summary() and "omega^2" in rb.summary()
    ce = robu(y, [0.05] * len(y), cl, model="CE", rho=0.5)
    assert "rho = 0.5" in ce.summary()
    sens = rho_sensitivity(ce, rho=[0.0, 0.5, 1.0])
    assert sens.summary_frame().shape == (3, 6)
    assert "tau^2 from" in sens.summary()


def test_errors_name_the_problem() -> None:
    X, y, cl, blocks, _ = _random_problem(4, [2, 1, 3, 2])
    with pytest.raises(ValueError, match="missing at row 2"):
        cluster_robust_arrays(X, y, [cl[0], cl[1], None] + list(cl[3:]), V=blocks)
    named = pd.Series(list(cl), index=[f"es{i}" for i in range(len(cl))], name="study")
    named.iloc[5] = np.nan
    with pytest.raises(ValueError, match="missing at row 5 \\(index 'es5'\\)"):
        cluster_robust_arrays(X, y, named, V=np.full(len(y), 0.1))
    with pytest.raises(ValueError, match="cluster has 7 entries but the model has 8"):
        cluster_robust_arrays(X, y, cl[:-1], V=blocks)
    with pytest.raises(ValueError, match="single cluster"):
        cluster_robust_arrays(X, y, ["one"] * len(y), V=np.full(len(y), 0.1))
    bad = dict(blocks)
    bad["s2"] = -bad["s2"]
    with pytest.raises(ValueError, match="cluster 's2' .* not positive definite"):
        cluster_robust_arrays(X, y, cl, V=bad)
    bad = dict(blocks)
    bad["s0"] = np.eye(3)
    with pytest.raises(ValueError, match="cluster 's0' has shape \\(3, 3\\).*2 x 2"):
        cluster_robust_arrays(X, y, cl, V=bad)
    bad = {g: v for g, v in blocks.items() if g != "s3"}
    with pytest.raises(ValueError, match="no block for cluster 's3'"):
        cluster_robust_arrays(X, y, cl, V=bad)
    with pytest.raises(ValueError, match="type='CR3' is not a known option"):
        cluster_robust_arrays(X, y, cl, V=blocks, type="CR3")
    res = cluster_robust_arrays(X, y, cl, V=blocks)
    with pytest.raises(ValueError, match="'slope', which is not a coefficient"):
        wald_test(res, ["slope"])
    X3, y3, cl3, blocks3, _ = _random_problem(0, [2, 2, 2])
    with pytest.raises(ValueError, match="HTZ test .* denominator degrees of freedom -0.398"):
        wald_test(cluster_robust_arrays(X3, y3, cl3, V=blocks3), [0, 1, 2])  # 3 constraints, 3 clusters
    with pytest.raises(ValueError, match="cluster is required"):
        cluster_robust(meta_analysis(y, np.full(len(y), 0.1)))
    with pytest.raises(TypeError, match="lacks"):
        cluster_robust(object(), cl)
    with pytest.raises(ValueError, match="rho=1.5 must be between 0 and 1"):
        robu(y, [0.1] * len(y), cl, rho=1.5)
    with pytest.raises(ValueError, match="model='HE'"):
        rho_sensitivity(robu(y, [0.1] * len(y), cl, model="HE"))


# ---------------------------------------------------------------------------
# regeneration
# ---------------------------------------------------------------------------


def _numbers(obj: Any) -> list[float]:
    if isinstance(obj, dict):
        return [x for key in sorted(obj) for x in _numbers(obj[key])]
    if isinstance(obj, list):
        return [x for item in obj for x in _numbers(item)]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return []
    return [float(obj)]


@pytest.mark.r
@pytest.mark.parametrize(("script", "name"), [("robust_reference.R", "clubsandwich.json"),
                                              ("robumeta_reference.R", "robumeta.json")])
def test_reference_regenerates(requires_r: str, tmp_path, script: str, name: str) -> None:
    out = tmp_path / name
    run_r(R_DIR / script, str(out), timeout=300)
    fresh = json.loads(out.read_text(encoding="utf-8"))
    old = load_reference(name)
    assert fresh["provenance"] == old["provenance"]
    assert len(fresh["cases"]) == len(old["cases"])
    for new_case, old_case in zip(fresh["cases"], old["cases"], strict=True):
        assert new_case["call"] == old_case["call"]
        a, b = np.array(_numbers(new_case)), np.array(_numbers(old_case))
        assert a.shape == b.shape, new_case["call"]
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-12, err_msg=new_case["call"])


def test_blocks_that_are_not_covariances_and_a_perfect_fit_are_errors() -> None:
    X, y, cl, blocks, _ = _random_problem(8, [2, 3, 1, 2])
    bad = dict(blocks)
    bad["s1"] = bad["s1"].copy()
    bad["s1"][0, 2] += 0.01
    with pytest.raises(ValueError, match="cluster 's1' \\(rows \\[2, 3, 4\\]\\) is not symmetric"):
        cluster_robust_arrays(X, y, cl, V=bad)
    bad["s1"][0, 2] = np.nan
    with pytest.raises(ValueError, match="cluster 's1' .* non-finite"):
        cluster_robust_arrays(X, y, cl, V=bad)
    with pytest.raises(ValueError, match="robust standard error of coefficient 'x1' is 0.0"):
        cluster_robust_arrays(np.ones((4, 1)), [0.5] * 4, [1, 1, 2, 2], V=np.full(4, 0.1))


def test_a_coefficient_determined_within_one_cluster_is_warned_about() -> None:
    # dat.assink2016: the category 'covert' occurs in study 16 only, so CR2 leaves round-off for it
    c = next(c for c in RB["cases"] if c["data"] == "assink2016")
    groups = np.where(np.asarray(c["cluster"]) == "16", "covert", "other")
    groups[: len(groups) // 3] = "third"
    mods = pd.DataFrame({"g": pd.Categorical(groups, categories=["covert", "other", "third"])})
    with pytest.warns(DataWarning, match="'intercept' is numerically 0 .* single cluster"):
        robu(c["y"], c["v"], c["cluster"], mods)


@pytest.mark.parametrize(
    "case",
    [c for c in CS["cases"] if c["model"] == "rma.mv" and c["data"] in ("assink2016", "konstantopoulos2011")],
    ids=_case_id,
)
def test_fitted_multilevel_model_matches_clubsandwich(case: dict[str, Any]) -> None:
    """End to end: evidence.multilevel's fit, then the sandwich."""
    from evidence import multilevel
    X, y, cl, _ = _cs_inputs(case)
    levels = [s.strip() for s in case["random"].split("|")[1].split("/")]
    frame = pd.DataFrame({"yi": y, "vi": _vec(case["vi"]), levels[0]: cl, levels[1]: np.arange(len(y))})
    mods = []
    for j in range(1, X.shape[1]):
        frame[f"m{j}"] = X[:, j]
        mods.append(f"m{j}")
    fit = multilevel.meta_analysis_multilevel(frame, levels=levels, mods=mods, tol=1e-12)
    np.testing.assert_allclose(fit.sigma2, _vec(case["sigma2"]), rtol=1e-5)
    for type in CS_TYPES:
        _check_coefs(cluster_robust(fit, type=type), case["results"][type], rtol=RTOL_REFIT)
