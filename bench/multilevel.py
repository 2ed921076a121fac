"""Benchmark the multilevel fit against R's metafor ``rma.mv`` in one run, and the 100,000-effect fit.

Usage::

    python bench/multilevel.py                 # the comparison at K_METAFOR effects + the 100k fit
    python bench/multilevel.py --search        # also find the largest k metafor fits within a minute
    python bench/multilevel.py --json out.json

Workload: a three-level REML model, ``random = ~ 1 | study/es`` with two moderators (one normal,
one 0/1), on simulated data with one study per ten effects and unbalanced studies (1 to ~40
effects; fixed seeds).  metafor is timed inside R with ``system.time()`` around ``rma.mv`` only
(default control, as a user runs it), evidence with ``time.perf_counter`` around
``meta_analysis_multilevel(..., profile=False)`` (best of three below 2 s); the ratio is metafor
seconds / evidence seconds on the same data in the same run.  The 100,000-effect fit (10,000
studies) runs in a child process whose peak resident memory (``ru_maxrss``, interpreter and
libraries included) is reported with its time.  Last, a model with two very large studies (2,000 and
900 effect sizes in up to 30 samples, plus 500 small studies; three levels) is timed in-process.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from evidence.multilevel import meta_analysis_multilevel  # noqa: E402

R_SCRIPT = HERE / "multilevel.R"
#: Largest k (effects; k/10 studies) that metafor's rma.mv fitted within a minute here
#: (``--search`` on this machine: see bench/README.md).
K_METAFOR = 750
K_LARGE = 100_000
TARGET_SECONDS = 5.0
TARGET_MB = 2048.0


def simulate(k: int, seed: int | None = None) -> pd.DataFrame:
    """k effects in k/10 studies of unequal size, two moderators, three-level normal model."""
    rng = np.random.default_rng(k if seed is None else seed)
    n_st = max(k // 10, 1)
    w = rng.integers(1, 20, n_st).astype(float)
    sizes = 1 + rng.multinomial(k - n_st, w / w.sum())
    study = np.repeat(np.arange(n_st), sizes)
    x1 = rng.normal(size=k)
    x2 = rng.binomial(1, 0.4, k).astype(float)
    vi = rng.uniform(0.01, 0.2, k)
    yi = (0.3 + 0.2 * x1 - 0.1 * x2 + rng.normal(0, 0.3, n_st)[study] + rng.normal(0, 0.2, k)
          + rng.normal(0, np.sqrt(vi)))
    return pd.DataFrame({"study": study, "es": np.arange(k), "x1": x1, "x2": x2, "yi": yi, "vi": vi})


def simulate_big_studies(seed: int = 7) -> pd.DataFrame:
    """Two very large studies (2,000 and 900 effects, up to 30 samples each) among 500 small ones."""
    rng = np.random.default_rng(seed)
    sizes = np.r_[2000, 900, rng.integers(1, 10, 500)]
    study = np.repeat(np.arange(len(sizes)), sizes)
    k = len(study)
    return pd.DataFrame({"study": study, "sample": rng.integers(0, 30, k), "es": np.arange(k),
                         "yi": rng.normal(0.3, 0.4, k) + rng.normal(0, 0.3, len(sizes))[study],
                         "vi": rng.uniform(0.01, 0.1, k)})


def fit(df: pd.DataFrame) -> Any:
    return meta_analysis_multilevel(df, levels=["study", "es"], mods=["x1", "x2"], profile=False)


def time_evidence(df: pd.DataFrame) -> tuple[float, Any]:
    best, res = np.inf, None
    for _ in range(3):
        t0 = time.perf_counter()
        res = fit(df)
        best = min(best, time.perf_counter() - t0)
        if best > 2.0:
            break
    return best, res


def time_metafor(df: pd.DataFrame, timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.csv"
        df.to_csv(path, index=False)
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(["Rscript", "--vanilla", str(R_SCRIPT), str(path)], capture_output=True,
                                  text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"error": f"no answer within {timeout:.0f} s"}
        wall = time.perf_counter() - t0
    out: dict[str, Any] = {"wall": wall}
    for line in proc.stdout.splitlines():
        key, _, val = line.partition("=")
        if key == "elapsed":
            out["seconds"] = float(val)
        elif key in ("beta", "sigma2"):
            out[key] = [float(v) for v in val.split(",")]
        elif key == "error":
            out["error"] = val
    if "seconds" not in out and "error" not in out:
        out["error"] = proc.stderr.strip()[-300:]
    return out


def compare(k: int, timeout: float) -> dict[str, Any]:
    df = simulate(k)
    ev_s, res = time_evidence(df)
    mf = time_metafor(df, timeout)
    row: dict[str, Any] = {"k": k, "studies": int(df["study"].nunique()), "evidence_seconds": ev_s,
                           "converged": res.converged, "metafor": mf}
    if "seconds" in mf:
        row["ratio"] = mf["seconds"] / ev_s
        row["max_rel_diff_beta"] = float(np.max(np.abs(res.beta - mf["beta"]) / np.abs(mf["beta"])))
        row["max_rel_diff_sigma2"] = float(np.max(np.abs(res.sigma2 - mf["sigma2"]) / np.abs(mf["sigma2"])))
    return row


_CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
from multilevel import fit, simulate
df = simulate({k})
t0 = time.perf_counter(); res = fit(df); s = time.perf_counter() - t0
print(json.dumps({{"seconds": s, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "converged": res.converged, "sigma2": res.sigma2.tolist(), "beta": res.beta.tolist(),
                  "iterations": res.iterations}}))
"""


def large(k: int) -> dict[str, Any]:
    code = _CHILD.format(root=str(ROOT), here=str(HERE), k=k)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {"k": k, **json.loads(proc.stdout.strip().splitlines()[-1])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--search", action="store_true", help="double k until metafor takes over a minute")
    ap.add_argument("--k", type=int, default=K_METAFOR, help="effects in the metafor comparison")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    report: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": len(
        __import__("os").sched_getaffinity(0)), "numpy": np.__version__}, "comparisons": []}
    if shutil.which("Rscript") is None:
        print("Rscript not found: metafor comparison skipped")
    else:
        ks = [args.k]
        if args.search:
            ks = [125, 250, 500, 1000, 2000]
        for k in ks:
            row = compare(k, timeout=180)
            report["comparisons"].append(row)
            mf = row["metafor"]
            if "seconds" in mf:
                print(f"k={k:>6} ({row['studies']} studies): evidence {row['evidence_seconds']:.3f} s, "
                      f"metafor rma.mv {mf['seconds']:.2f} s, ratio {row['ratio']:.0f}x; max rel. diff beta "
                      f"{row['max_rel_diff_beta']:.1e}, sigma2 {row['max_rel_diff_sigma2']:.1e}")
            else:
                print(f"k={k:>6}: evidence {row['evidence_seconds']:.3f} s, metafor: {mf['error']}")
            if args.search and mf.get("seconds", np.inf) > 60:
                break
    big = large(K_LARGE)
    report["large"] = big
    ok = big["seconds"] < TARGET_SECONDS and big["peak_mb"] < TARGET_MB and big["converged"]
    print(f"k={K_LARGE} in {K_LARGE // 10} studies, two moderators, REML: {big['seconds']:.2f} s, peak memory "
          f"{big['peak_mb']:.0f} MB (target < {TARGET_SECONDS:g} s and < {TARGET_MB:.0f} MB: "
          f"{'met' if ok else 'NOT met'}), converged={big['converged']} in {big['iterations']} iterations")
    df = simulate_big_studies()
    t0 = time.perf_counter()
    res = meta_analysis_multilevel(df, levels=["study", "sample", "es"], profile=False)
    secs = time.perf_counter() - t0
    report["big_studies"] = {"k": len(df), "largest_study": 2000, "seconds": secs, "converged": res.converged}
    print(f"k={len(df)} with studies of 2,000 and 900 effects, three levels, REML: {secs:.2f} s "
          f"(Woodbury path for studies over 64 effects), converged={res.converged}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
