"""Benchmark evidence against statsmodels and R's metafor on the same workloads, in one run.

Usage::

    python bench/run.py                      # full run (metafor side takes several minutes)
    python bench/run.py --quick              # small sizes, a smoke test in well under a minute
    python bench/run.py --only gosh_13       # one workload (repeatable: --only a --only b)
    python bench/run.py --json out.json      # also write every figure as JSON
    python bench/run.py --no-metafor         # skip R even when it is installed

Workloads (full sizes):

``latency_10``      per-call latency of one REML fit of k=10 including the Q-profile tau^2
                    interval (``meta_analysis`` called 2,000 times on 2,000 analyses; metafor: a
                    loop of ``rma()``; pimeta, a pure-Python port of metafor, when installed:
                    a loop of ``pimeta.rma()``; statsmodels: a loop of ``combine_effects``)
``fits_10k``        10,000 REML meta-analyses of k=10 (one ``meta_analysis_many`` call;
                    metafor: a loop of ``rma()``; statsmodels: a loop of ``combine_effects``)
``single_2k``       one REML fit of k=2,000
``single_1m``       one REML fit of k=1,000,000 (plus the peak memory of that fit)
``gosh_13``         REML GOSH over all 8,191 subsets of the 13 BCG trials (metafor ``gosh()``)
``gosh_20``         REML GOSH over all 1,048,575 subsets of k=20 simulated studies
``permutation_13``  10,000-iteration permutation test of a REML meta-regression on the
                    13 BCG trials with absolute latitude as moderator (metafor ``permutest()``)

Timing.  evidence and statsmodels are timed with ``time.perf_counter`` (best of up to three
repeats when one run takes under two seconds); metafor is timed inside R with
``system.time()`` around the fitting only, so R start-up and data reading are not counted
(the wall time of the whole ``Rscript`` call is reported too).  The timed R fits use
metafor's default control (``threshold=1e-5, maxiter=100``), as users run them; the
agreement checks use separate, untimed fits with ``threshold=1e-12, maxiter=10000``.
statsmodels has no REML: its column is
``combine_effects(method_re="iterated")``, the Paule-Mandel estimator with its default
``atol=1e-5`` on the estimating equation (a tighter ``atol`` makes its iteration overshoot
and return 0 on some analyses), the closest iterative estimator it has; its agreement is
checked against evidence's ``method="PM"``.  Ratios are peer seconds / evidence seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from evidence.exceptions import EvidenceWarning  # noqa: E402
from evidence.simulate import sample_variances  # noqa: E402

R_SCRIPT = HERE / "metafor.R"

# The BCG vaccine trials (Colditz et al. 1994; metafor's dat.bcg): tpos, tneg, cpos, cneg, ablat.
BCG = np.array(
    [
        [4, 119, 11, 128, 44],
        [6, 300, 29, 274, 55],
        [3, 228, 11, 209, 42],
        [62, 13536, 248, 12619, 52],
        [33, 5036, 47, 5761, 13],
        [180, 1361, 372, 1079, 44],
        [8, 2537, 10, 619, 19],
        [505, 87886, 499, 87892, 13],
        [29, 7470, 45, 7232, 27],
        [17, 1699, 65, 1600, 42],
        [186, 50448, 141, 27197, 18],
        [5, 2493, 3, 2338, 33],
        [27, 16886, 29, 17825, 33],
    ],
    dtype=float,
)

FULL = {
    "latency_10": {"n": 2_000, "k": 10},
    "fits_10k": {"n": 10_000, "k": 10},
    "single_2k": {"k": 2_000},
    "single_1m": {"k": 1_000_000},
    "gosh_13": {"k": 13},
    "gosh_20": {"k": 20},
    "permutation_13": {"k": 13, "n_iter": 10_000},
}
QUICK = {
    "latency_10": {"n": 200, "k": 10},
    "fits_10k": {"n": 200, "k": 10},
    "single_2k": {"k": 200},
    "single_1m": {"k": 20_000},
    "gosh_13": {"k": 8},
    "gosh_20": {"k": 10},
    "permutation_13": {"k": 13, "n_iter": 200},
}
# Targets: ("ratio", peer, minimum speed-up) or ("seconds", maximum evidence seconds).
TARGETS: dict[str, list[tuple[Any, ...]]] = {
    # 0.15 ms per call; pimeta took about 0.4 ms on the machine the target was set on
    "latency_10": [("seconds", 0.15e-3), ("ratio", "pimeta", 2.5)],
    "fits_10k": [("ratio", "metafor", 500)],
    "single_2k": [],
    "single_1m": [("seconds", 2.0), ("memory_mb", 1024.0)],
    "gosh_13": [("ratio", "metafor", 1000)],
    "gosh_20": [("seconds", 10.0)],
    "permutation_13": [("ratio", "metafor", 200)],
}
METAFOR_TIMEOUT_S = 1800
# metafor at k=1e6 would need k x k double matrices (8e12 bytes = 7.3 TiB each); the attempt
# runs under an address-space limit so that it fails fast instead of exhausting the machine.
METAFOR_1M_ADDRESS_LIMIT = 4 << 30
SEED = 20260101


# --------------------------------------------------------------------------- data


def bcg_log_rr() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log risk ratios, variances and absolute latitude of the BCG trials (escalc "RR")."""
    a, b, c, d, ablat = BCG.T
    yi = np.log((a / (a + b)) / (c / (c + d)))
    vi = 1 / a - 1 / (a + b) + 1 / c - 1 / (c + d)
    return yi, vi, ablat


def simulated(n: int, k: int, seed: int, tau2: Any = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Normal-normal meta-analyses with Brockwell-Gordon within-study variances."""
    rng = np.random.default_rng(seed)
    v = sample_variances(rng, (n, k))
    t2 = np.broadcast_to(np.asarray(tau2, dtype=float), (n,))[:, None]
    y = 0.2 + rng.standard_normal((n, k)) * np.sqrt(v + t2)
    return y, v


def write_csv(path: Path, **cols: np.ndarray) -> None:
    names = list(cols)
    arr = np.column_stack([np.asarray(cols[c], dtype=float).ravel() for c in names])
    np.savetxt(path, arr, delimiter=",", header=",".join(names), comments="", fmt="%.17g")


def read_csv(path: Path) -> dict[str, np.ndarray]:
    import pandas as pd

    df = pd.read_csv(path)
    return {c: df[c].to_numpy() for c in df.columns}


# --------------------------------------------------------------------------- timing helpers


def best_of(fn: Callable[[], Any], *, repeats: int = 3, budget_s: float = 2.0) -> tuple[float, Any]:
    """Best wall time of ``fn`` over up to ``repeats`` runs (only one if a run exceeds budget)."""
    best, out = float("inf"), None
    for _i in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        if dt > budget_s:
            break
    return best, out


def metafor_available() -> tuple[bool, str]:
    if shutil.which("Rscript") is None:
        return False, "Rscript not on PATH"
    proc = subprocess.run(
        ["Rscript", "--vanilla", "-e",
         'suppressMessages(library(metafor)); cat(R.version$major, ".", R.version$minor, " ",'
         ' as.character(packageVersion("metafor")), sep="")'],
        capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        return False, "R package metafor not installed"
    r_version, mf_version = proc.stdout.strip().split()
    return True, f"R {r_version}, metafor {mf_version}"


def run_metafor(workload: str, datadir: Path, *extra: str, address_limit: int | None = None,
                timeout: float = METAFOR_TIMEOUT_S) -> dict[str, Any]:
    """Run bench/metafor.R for one workload; return seconds (inside R), wall seconds, output."""

    def limit() -> None:  # runs in the child before exec
        if address_limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_limit, address_limit))

    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            ["Rscript", "--vanilla", str(R_SCRIPT), workload, str(datadir), str(datadir), *extra],
            capture_output=True, text=True, timeout=timeout, check=False, preexec_fn=limit,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "error": f"timed out after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {"seconds": None, "wall_seconds": wall}
    for line in proc.stdout.splitlines():
        if line.startswith("elapsed="):
            out["seconds"] = float(line.split("=", 1)[1])
        elif line.startswith("error="):
            out["error"] = line.split("=", 1)[1].strip()
    if proc.returncode != 0 and "error" not in out:
        tail = proc.stderr.strip().splitlines()[-3:]
        out["error"] = " ".join(tail) or f"Rscript exited with {proc.returncode}"
    result = datadir / f"{workload}.csv"
    if out["seconds"] is not None and result.exists():
        out["values"] = read_csv(result)
    return out


def maxabs(a: Any, b: Any) -> float:
    """Largest absolute difference, ignoring pairs where either value is NaN (a failed fit)."""
    d = np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    d = d[~np.isnan(d)]
    return float(d.max()) if d.size else float("nan")


# --------------------------------------------------------------------------- workloads


def w_fits(size: dict[str, int], ctx: dict[str, Any]) -> dict[str, Any]:
    from statsmodels.stats.meta_analysis import combine_effects

    from evidence.pooling import meta_analysis_many

    n, k = size["n"], size["k"]
    tau2 = np.resize([0.0, 0.05, 0.2], n)
    Y, V = simulated(n, k, SEED, tau2)
    res: dict[str, Any] = {"size": f"{n:,} fits of k={k}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)  # non-convergence is counted below
        res["evidence_s"], fit = best_of(lambda: meta_analysis_many(Y, V, method="REML"))
        pm = meta_analysis_many(Y, V, method="PM")
    res["converged"] = int(np.sum(fit.converged))
    res["agreement"] = one_at_a_time(Y, V, fit)

    def sm_loop() -> np.ndarray:
        out = np.empty((n, 2))
        for j in range(n):
            r = combine_effects(Y[j], V[j], method_re="iterated")
            out[j] = r.mean_effect_re, r.tau2
        return out

    res["statsmodels_s"], sm = best_of(sm_loop, repeats=1)
    res["agreement"].update({
        "statsmodels PM vs evidence PM: max |estimate diff|": maxabs(sm[:, 0], pm.estimate),
        "statsmodels PM vs evidence PM: max |tau2 diff|": maxabs(sm[:, 1], pm.tau2),
    })
    if ctx["metafor"]:
        d = ctx["tmp"]
        write_csv(d / "fits_10k.csv", analysis=np.repeat(np.arange(n), k), yi=Y.ravel(),
                  vi=V.ravel())
        mf = run_metafor("fits_10k", d)
        res.update(metafor_s=mf["seconds"], metafor_wall_s=mf.get("wall_seconds"),
                   metafor_note=mf.get("error"))
        if "values" in mf:
            v = mf["values"]
            conv = np.asarray(fit.converged)
            failed = np.isnan(v["estimate"])
            res["metafor_failed"] = int(failed.sum())
            tight = ~np.isnan(v["estimate_tight"]) & conv
            both = ~failed & conv
            res["agreement"].update({
                "analyses where metafor (default control) stopped with an error": int(failed.sum()),
                "analyses where metafor stopped and evidence converged": int((failed & conv).sum()),
                f"metafor (threshold 1e-12) vs evidence REML on {int(tight.sum())} analyses: "
                f"max |estimate diff|": maxabs(v["estimate_tight"][tight], fit.estimate[tight]),
                "metafor (threshold 1e-12) vs evidence REML: max |se diff|":
                    maxabs(v["se_tight"][tight], fit.se[tight]),
                "metafor (threshold 1e-12) vs evidence REML: max |tau2 diff|":
                    maxabs(v["tau2_tight"][tight], fit.tau2[tight]),
                f"metafor (default threshold 1e-5) vs evidence REML on {int(both.sum())} analyses: "
                f"max |estimate diff|": maxabs(v["estimate"][both], fit.estimate[both]),
                "metafor (default threshold 1e-5) vs evidence REML: max |tau2 diff|":
                    maxabs(v["tau2"][both], fit.tau2[both]),
            })
    return res


def w_latency(size: dict[str, int], ctx: dict[str, Any]) -> dict[str, Any]:
    """Per-call latency of a single fit: every ``*_s`` figure is seconds per fit."""
    from statsmodels.stats.meta_analysis import combine_effects

    from evidence.pooling import meta_analysis

    n, k = size["n"], size["k"]
    tau2 = np.resize([0.0, 0.05, 0.2], n)
    Y, V = simulated(n, k, SEED + 1, tau2)
    res: dict[str, Any] = {"size": f"1 fit of k={k} (mean of {n:,} calls)"}

    def loop(fit: Callable[[np.ndarray, np.ndarray], Any]) -> Callable[[], list[Any]]:
        return lambda: [fit(Y[j], V[j]) for j in range(n)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)  # the fits' own notes (boundary, non-convergence)
        t, ours = best_of(loop(lambda y, v: meta_analysis(y, v, method="REML")), repeats=5)
        res["evidence_s"] = t / n
        t, _ = best_of(loop(lambda y, v: combine_effects(y, v, method_re="iterated")), repeats=3)
        res["statsmodels_s"] = t / n
    res["includes"] = "evidence: estimate, tests, heterogeneity, prediction and Q-profile tau2 intervals"
    try:
        import pimeta
    except ImportError:
        res["pimeta_note"] = "pimeta not installed (pip install pimeta); column skipped"
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # pimeta's numerical warnings, if any
            t, theirs = best_of(loop(lambda y, v: pimeta.rma(y, v, method="REML")), repeats=3)
        res["pimeta_s"] = t / n
        res["pimeta_version"] = getattr(pimeta, "__version__", "unknown")
        res["agreement"] = {
            "pimeta vs evidence REML: max |estimate diff|":
                maxabs([float(np.ravel(r.b)[0]) for r in theirs], [f.estimate for f in ours]),
            "pimeta vs evidence REML: max |tau2 diff|":
                maxabs([float(r.tau2) for r in theirs], [f.tau2 for f in ours]),
        }
    if ctx["metafor"]:
        d = ctx["tmp"]
        write_csv(d / "latency_10.csv", analysis=np.repeat(np.arange(n), k), yi=Y.ravel(), vi=V.ravel())
        mf = run_metafor("latency_10", d)
        res.update(metafor_s=None if mf["seconds"] is None else mf["seconds"] / n,
                   metafor_wall_s=mf.get("wall_seconds"), metafor_note=mf.get("error"))
        if "values" in mf:
            v = mf["values"]
            res.setdefault("agreement", {}).update({
                "metafor (default threshold 1e-5) vs evidence REML: max |estimate diff|":
                    maxabs(v["estimate"], [f.estimate for f in ours]),
                "metafor (default threshold 1e-5) vs evidence REML: max |tau2 diff|":
                    maxabs(v["tau2"], [f.tau2 for f in ours]),
            })
    return res


def one_at_a_time(Y: np.ndarray, V: np.ndarray, fit: Any, n_check: int = 500) -> dict[str, Any]:
    """Refit the first analyses one at a time with meta_analysis and compare with the batch."""
    from evidence.pooling import meta_analysis

    n = min(n_check, Y.shape[0])
    worst = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)  # the fits' own notes (boundary, non-convergence)
        for j in range(n):
            f = meta_analysis(Y[j], V[j], method="REML")
            worst = max(worst, *(abs(getattr(f, a) - float(getattr(fit, a)[j]))
                                 for a in ("estimate", "se", "tau2", "ci_low", "ci_high")))
    return {f"meta_analysis() one at a time vs the batch on {n} analyses: max |diff| "
            f"(estimate, se, tau2, CI)": worst}


def _single(size: dict[str, int], ctx: dict[str, Any], name: str) -> dict[str, Any]:
    from statsmodels.stats.meta_analysis import combine_effects

    from evidence.pooling import meta_analysis

    k = size["k"]
    Y, V = simulated(1, k, SEED + k)
    y, v = Y[0], V[0]
    res: dict[str, Any] = {"size": f"one fit of k={k:,}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)  # the fits' own notes (boundary, non-convergence)
        res["evidence_s"], fit = best_of(lambda: meta_analysis(y, v, method="REML"))
        res["statsmodels_s"], sm = best_of(
            lambda: combine_effects(y, v, method_re="iterated"))
        pm = meta_analysis(y, v, method="PM")
    res["agreement"] = {
        "statsmodels PM vs evidence PM: |estimate diff|": abs(sm.mean_effect_re - pm.estimate),
        "statsmodels PM vs evidence PM: |tau2 diff|": abs(sm.tau2 - pm.tau2),
    }
    if name == "single_1m":
        res["memory"] = peak_memory(k)
    if ctx["metafor"]:
        d = ctx["tmp"]
        if name == "single_1m" and ctx["quick"]:
            res["metafor_note"] = "skipped with --quick (metafor's memory grows as k^2)"
            return res
        write_csv(d / f"{name}.csv", yi=y, vi=v)
        if name == "single_1m":
            mf = run_metafor(name, d, address_limit=METAFOR_1M_ADDRESS_LIMIT, timeout=600)
            reason = mf.get("error") or "unexpectedly succeeded"
            res["metafor_s"] = None
            res["metafor_note"] = (
                f"cannot: rma() builds k x k matrices (8e12 bytes each at k=1e6); "
                f"attempt under a {METAFOR_1M_ADDRESS_LIMIT >> 30} GiB address-space limit "
                f"failed with: {reason}"
            )
            return res
        mf = run_metafor(name, d)
        res.update(metafor_s=mf["seconds"], metafor_wall_s=mf.get("wall_seconds"),
                   metafor_note=mf.get("error"))
        if "values" in mf:
            vals = mf["values"]
            res["agreement"].update({
                "metafor (default threshold 1e-5) vs evidence REML: |estimate diff|":
                    maxabs(vals["estimate"], fit.estimate),
                "metafor (default threshold 1e-5) vs evidence REML: |se diff|":
                    maxabs(vals["se"], fit.se),
                "metafor (default threshold 1e-5) vs evidence REML: |tau2 diff|":
                    maxabs(vals["tau2"], fit.tau2),
            })
    return res


def peak_memory(k: int) -> dict[str, float]:
    """Peak memory of one REML fit of k studies, measured in a fresh interpreter.

    ``tracemalloc`` counts the Python/NumPy allocations made during the fit; the process
    high-water mark (``VmHWM`` of /proc/self/status, which starts afresh at exec unlike
    ``ru_maxrss``, which Linux carries over from the forking parent) covers the interpreter,
    the imports and the inputs as well.
    """
    code = f"""
import json, resource, sys, tracemalloc
import numpy as np
sys.path.insert(0, {str(ROOT)!r})
from evidence.pooling import meta_analysis

def hwm_mb():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

rng = np.random.default_rng(1)
v = rng.uniform(0.01, 0.5, {k}); y = rng.normal(0.2, np.sqrt(v + 0.1))
before = hwm_mb()
tracemalloc.start()
fit = meta_analysis(y, v, method="REML")
cur, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({{"tracemalloc_peak_mb": peak / 2**20, "maxrss_mb": hwm_mb(),
                  "maxrss_before_fit_mb": before, "inputs_mb": (y.nbytes + v.nbytes) / 2**20}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def w_single_2k(size: dict[str, int], ctx: dict[str, Any]) -> dict[str, Any]:
    return _single(size, ctx, "single_2k")


def w_single_1m(size: dict[str, int], ctx: dict[str, Any]) -> dict[str, Any]:
    return _single(size, ctx, "single_1m")


def _gosh_data(k: int) -> tuple[np.ndarray, np.ndarray]:
    if k <= 13:
        yi, vi, _ = bcg_log_rr()
        return yi[:k], vi[:k]
    Y, V = simulated(1, k, SEED + 20)
    return Y[0], V[0]


def _gosh(size: dict[str, int], ctx: dict[str, Any], name: str) -> dict[str, Any]:
    from evidence.sensitivity import gosh

    k = size["k"]
    yi, vi = _gosh_data(k)
    res: dict[str, Any] = {"size": f"all {2**k - 1:,} subsets of k={k}"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)  # the fits' own notes (boundary, non-convergence)
        res["evidence_s"], g = best_of(
            lambda: gosh(yi, vi, method="REML", max_exact=k, progress=False), budget_s=2.0)
    est, tau2, incl = gosh_arrays(g)
    res["n_subsets"] = int(len(est))
    res["statsmodels_note"] = "n/a (no GOSH)"
    res["agreement"] = gosh_vs_batch(yi, vi, est, tau2, incl)
    if not ctx["metafor"]:
        return res
    if name == "gosh_20" and not ctx["quick"]:
        rate = ctx.get("metafor_gosh_rate")
        res["metafor_s"] = None
        res["metafor_note"] = "not run (1,048,575 REML fits)" + (
            f"; estimated {rate * (2**k - 1):,.0f} s at the gosh_13 rate" if rate else "")
        return res
    d = ctx["tmp"]
    write_csv(d / f"{name}.csv", yi=yi, vi=vi)
    mf = run_metafor(name, d)
    res.update(metafor_s=mf["seconds"], metafor_wall_s=mf.get("wall_seconds"),
               metafor_note=mf.get("error"))
    if mf["seconds"]:
        ctx["metafor_gosh_rate"] = mf["seconds"] / (2**k - 1)
    if "values" in mf:
        vals = mf["values"]
        ours = {"".join("1" if b else "0" for b in row): j for j, row in enumerate(incl)}
        idx = np.array([ours[str(s)[1:]] for s in vals["incl"]])
        d = np.maximum(np.abs(vals["estimate_tight"] - est[idx]),
                       np.abs(vals["tau2_tight"] - tau2[idx]))
        res["agreement"] |= {
            "metafor vs evidence: subsets": f"{len(idx)} vs {len(est)}",
            "metafor (threshold 1e-12) vs evidence: max |estimate diff|":
                maxabs(vals["estimate_tight"], est[idx]),
            "metafor (threshold 1e-12) vs evidence: max |tau2 diff|":
                maxabs(vals["tau2_tight"], tau2[idx]),
            "metafor (threshold 1e-12) vs evidence: subsets differing by more than 1e-8":
                int((d > 1e-8).sum()),
            "metafor (default threshold 1e-5) vs evidence: max |estimate diff|":
                maxabs(vals["estimate"], est[idx]),
            "metafor (default threshold 1e-5): subsets it left NA (not converged)":
                int(np.isnan(vals["estimate"]).sum()),
        }
    return res


def gosh_arrays(g: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(estimate, tau2, membership mask) per subset from a GOSH result."""
    return (np.asarray(g.estimate, dtype=float), np.asarray(g.tau2, dtype=float),
            np.asarray(g.membership, dtype=bool))


def gosh_vs_batch(yi: np.ndarray, vi: np.ndarray, est: np.ndarray, tau2: np.ndarray,
                  incl: np.ndarray, max_rows: int = 20_000) -> dict[str, Any]:
    """Refit the GOSH subsets with meta_analysis_many (the one-at-a-time engine run as a batch).

    Every subset when there are at most ``max_rows``, otherwise a seeded random sample.
    """
    from evidence.pooling import meta_analysis_many

    n = len(est)
    rows = np.arange(n) if n <= max_rows else np.sort(
        np.random.default_rng(SEED).choice(n, size=max_rows, replace=False))
    m = incl[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)  # the fits' own notes (boundary, non-convergence)
        f = meta_analysis_many(np.where(m, yi, np.nan), np.where(m, vi, np.nan), method="REML")
    d_est = np.abs(f.estimate - est[rows])
    d_tau2 = np.abs(f.tau2 - tau2[rows])
    label = "all" if n <= max_rows else "a random sample of"
    out: dict[str, Any] = {
        f"meta_analysis_many on {label} {len(rows):,} subsets vs GOSH: max |estimate diff|":
            float(d_est.max()),
        "meta_analysis_many vs GOSH: max |tau2 diff|": float(d_tau2.max()),
        "meta_analysis_many vs GOSH: subsets differing by more than 1e-8":
            int(((d_est > 1e-8) | (d_tau2 > 1e-8)).sum()),
    }
    bad = np.flatnonzero((d_est > 1e-8) | (d_tau2 > 1e-8))[:3]
    for b in bad:
        members = "".join("1" if x else "0" for x in m[b])
        out[f"meta_analysis_many vs GOSH: e.g. subset {members}"] = (
            f"GOSH estimate {est[rows][b]:.6g}, tau2 {tau2[rows][b]:.6g}; "
            f"meta_analysis estimate {f.estimate[b]:.6g}, tau2 {f.tau2[b]:.6g}")
    return out


def w_gosh_13(size: dict[str, int], ctx: dict[str, Any]) -> dict[str, Any]:
    return _gosh(size, ctx, "gosh_13")


def w_gosh_20(size: dict[str, int], ctx: dict[str, Any]) -> dict[str, Any]:
    return _gosh(size, ctx, "gosh_20")


def w_permutation(size: dict[str, int], ctx: dict[str, Any]) -> dict[str, Any]:
    from evidence.permutation import permutation_test

    n_iter = size["n_iter"]
    yi, vi, ablat = bcg_log_rr()
    res: dict[str, Any] = {"size": f"{n_iter:,} permutations, k=13, 1 moderator"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvidenceWarning)  # the fits' own notes (boundary, non-convergence)
        res["evidence_s"], p = best_of(
            lambda: permutation_test(yi, vi, ablat, n_permutations=n_iter, seed=SEED, method="REML",
                                     progress=False))
    res["statsmodels_note"] = "n/a (no meta-regression permutation test)"
    ours = permutation_summary(p)
    res["evidence_values"] = ours
    if ctx["metafor"]:
        d = ctx["tmp"]
        write_csv(d / "permutation_13.csv", yi=yi, vi=vi, x=ablat)
        mf = run_metafor("permutation_13", d, str(n_iter))
        res.update(metafor_s=mf["seconds"], metafor_wall_s=mf.get("wall_seconds"),
                   metafor_note=mf.get("error"))
        if "values" in mf:
            vals = mf["values"]
            agree: dict[str, Any] = {}
            pm, pe = float(vals["perm_pval"][1]), ours["perm_pval"]
            # two independent Monte Carlo estimates of the same p-value
            se = np.sqrt(2 * max(pm * (1 - pm), 1 / n_iter) / n_iter)
            agree["metafor vs evidence: moderator permutation p"] = (
                f"{pm:.4f} vs {pe:.4f} (|diff| = {abs(pm - pe):.4f} = "
                f"{abs(pm - pe) / se:.1f} Monte Carlo SE of the difference)")
            agree["metafor vs evidence: |observed z diff|"] = abs(float(vals["zval"][1]) -
                                                                  ours["zval"])
            agree["metafor vs evidence: |observed QM diff|"] = abs(float(vals["QM"][0]) -
                                                                   ours["QM"])
            res["agreement"] = agree
    return res


def permutation_summary(p: Any) -> dict[str, Any]:
    """Observed moderator z, its permutation p-value and the omnibus QM permutation p-value."""
    return {
        "zval": float(np.ravel(p.model.statistic)[-1]),
        "perm_pval": float(np.ravel(p.p_value)[-1]),
        "QM": float(p.model.qm),
        "perm_QMp": float(p.qm_pvalue),
        "n_failed": int(p.n_failed),
    }


WORKLOADS: dict[str, Callable[[dict[str, int], dict[str, Any]], dict[str, Any]]] = {
    "latency_10": w_latency,
    "fits_10k": w_fits,
    "single_2k": w_single_2k,
    "single_1m": w_single_1m,
    "gosh_13": w_gosh_13,
    "gosh_20": w_gosh_20,
    "permutation_13": w_permutation,
}


# --------------------------------------------------------------------------- report


def machine_info(metafor_version: str) -> dict[str, Any]:
    import numpy
    import pandas
    import scipy
    import statsmodels

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    info: dict[str, Any] = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": mem_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pandas.__version__,
        "statsmodels": statsmodels.__version__,
        "metafor": metafor_version,
        "evidence_commit": _git_describe(),
        "load_average_start": os.getloadavg(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = [
            {k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
            for d in threadpool_info()
        ]
    except ImportError:
        try:
            cfg = numpy.show_config(mode="dicts")
            blas = cfg.get("Build Dependencies", {}).get("blas", {})
            info["blas"] = f"{blas.get('name')} {blas.get('version')} (threadpoolctl not installed)"
        except Exception:  # noqa: BLE001 - informational only
            info["blas"] = "unknown (threadpoolctl not installed)"
    return info


def _git_describe() -> str:
    """Commit of the working tree measured, with a note when files differ from it."""
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %cI"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "evidence"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" + uncommitted changes under evidence/" if dirty else "")


def evaluate(name: str, r: dict[str, Any], quick: bool) -> tuple[str, str]:
    """(target text, verdict) for one workload; targets are judged at full sizes only."""
    parts: list[str] = []
    checks: list[bool | None] = []
    for t in TARGETS[name]:
        if t[0] == "ratio":
            parts.append(f">= {t[2]:,}x vs {t[1]}")
            ratio = r.get(f"ratio_{t[1]}")
            checks.append(None if ratio is None else bool(ratio >= t[2]))
        elif t[0] == "seconds":
            parts.append(f"< {t[1]:g} s")
            checks.append(bool(r["evidence_s"] < t[1]))
        elif t[0] == "memory_mb":
            parts.append(f"< {t[1] / 1024:g} GB")
            rss = r.get("memory", {}).get("maxrss_mb")
            checks.append(None if rss is None else bool(rss < t[1]))
    if not parts:
        return "-", "-"
    if quick:
        return ", ".join(parts), "(quick)"
    if False in checks:
        return ", ".join(parts), "FAIL"
    return ", ".join(parts), "n/a" if None in checks else "PASS"


def fmt_s(x: Any) -> str:
    if x is None:
        return "-"
    if x < 1e-3:
        return f"{x * 1e6:.0f} us"
    return f"{x:.4f}" if x < 1 else f"{x:.2f}"


def fmt_ratio(x: Any) -> str:
    return "-" if x is None else f"{x:,.0f}x" if x >= 10 else f"{x:.1f}x"


def print_report(results: dict[str, dict[str, Any]], info: dict[str, Any], quick: bool) -> None:
    print()
    print(f"evidence benchmark ({'QUICK sizes' if quick else 'full sizes'})")
    for key in ("evidence_commit", "cpu", "cores", "memory_gib", "python", "numpy", "scipy",
                "statsmodels", "metafor",
                "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "threadpools", "blas",
                "load_average_start", "load_average_end"):
        if key in info:
            print(f"  {key}: {info[key]}")
    header = ["workload", "size", "evidence s", "statsmodels s", "vs sm", "metafor s", "vs metafor",
              "target", "pass"]
    rows = []
    for name, r in results.items():
        if "error" in r:
            rows.append([name, "", "ERROR", "", "", "", "", "", r["error"][:60]])
            continue
        target, verdict = evaluate(name, r, quick)
        rows.append([
            name, r.get("size", ""), fmt_s(r.get("evidence_s")), fmt_s(r.get("statsmodels_s")),
            fmt_ratio(r.get("ratio_statsmodels")), fmt_s(r.get("metafor_s")),
            fmt_ratio(r.get("ratio_metafor")), target, verdict,
        ])
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=False))
    print()
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=False)))
    print()
    print("statsmodels column: combine_effects(method_re='iterated') = Paule-Mandel (no REML in "
          "statsmodels); ratios are peer seconds / evidence seconds.")
    print("metafor seconds are system.time() inside R around the fitting only.")
    print()
    for name, r in results.items():
        notes = [f"{k}: {r[k]}" for k in ("statsmodels_note", "metafor_note", "pimeta_note", "includes")
                 if r.get(k)]
        if r.get("pimeta_s"):
            notes.append(f"pimeta {r.get('pimeta_version')}: {r['pimeta_s'] * 1e6:.0f} us per fit, "
                         f"{fmt_ratio(r.get('ratio_pimeta'))} evidence's time")
        if name == "latency_10" and r.get("evidence_s"):
            notes.append("per fit: " + ", ".join(
                f"{who} {r[f'{who}_s'] * 1e6:.0f} us" for who in ("evidence", "pimeta", "metafor", "statsmodels")
                if r.get(f"{who}_s")))
        if r.get("metafor_wall_s"):
            notes.append(f"metafor Rscript wall time incl. start-up: {r['metafor_wall_s']:.2f} s")
        if "memory" in r:
            m = r["memory"]
            notes.append(
                f"peak memory of the fit: tracemalloc {m['tracemalloc_peak_mb']:.0f} MB, "
                f"process max RSS {m['maxrss_mb']:.0f} MB (inputs {m['inputs_mb']:.0f} MB, "
                f"RSS before the fit {m['maxrss_before_fit_mb']:.0f} MB)")
        if "converged" in r:
            notes.append(f"converged: {r['converged']:,}")
        for k, v in (r.get("agreement") or {}).items():
            notes.append(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}")
        if notes:
            print(f"{name}:")
            for n in notes:
                print(f"  {n}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--only", action="append", choices=list(WORKLOADS), metavar="NAME",
                    help=f"run only this workload (repeatable): {', '.join(WORKLOADS)}")
    ap.add_argument("--json", type=Path, metavar="PATH", help="write all figures as JSON")
    ap.add_argument("--no-metafor", action="store_true", help="skip R/metafor even if installed")
    args = ap.parse_args(argv)

    sizes = QUICK if args.quick else FULL
    if args.no_metafor:
        have_r, r_version = False, "skipped (--no-metafor)"
    else:
        have_r, r_version = metafor_available()
    if not have_r:
        print(f"metafor: {r_version}; the metafor column is skipped.", file=sys.stderr)
    info = machine_info(r_version)
    names = args.only or list(WORKLOADS)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        ctx = {"metafor": have_r, "tmp": Path(tmp), "quick": args.quick}
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            try:
                r = WORKLOADS[name](sizes[name], ctx)
            except Exception as exc:  # noqa: BLE001 - report and go on with the others
                r = {"error": f"{type(exc).__name__}: {exc}"}
            for peer in ("statsmodels", "metafor", "pimeta"):
                if r.get(f"{peer}_s") and r.get("evidence_s"):
                    r[f"ratio_{peer}"] = r[f"{peer}_s"] / r["evidence_s"]
            if "error" not in r:
                r["target"], r["verdict"] = evaluate(name, r, args.quick)
            results[name] = r
            print(f"  done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    info["load_average_end"] = os.getloadavg()
    print_report(results, info, args.quick)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"quick": args.quick, "machine": info, "sizes": {n: sizes[n] for n in names},
                   "results": results}
        args.json.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n")
    failed = [n for n, r in results.items() if "error" in r]
    return 1 if failed else 0


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    return str(x)


if __name__ == "__main__":
    sys.exit(main())
