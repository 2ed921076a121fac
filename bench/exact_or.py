"""Exact and mid-p odds-ratio intervals of large tables against R's fisher.test, in one run.

    .venv/bin/python bench/exact_or.py            # 10^4, 10^5 and 10^6 per arm
    .venv/bin/python bench/exact_or.py --quick    # 10^4 and 10^5 only

For each size the table is n/2 of n vs 0.48 n of n.  evidence is timed with
``time.perf_counter`` (best of three); R's ``fisher.test`` with ``system.time``
(elapsed, best of three) inside one Rscript call per size, so R's start-up is not
counted.  The limits are compared at fisher.test's own tolerance (uniroot's
default, ~1.2e-4 on the scale of the limit or its reciprocal).  Target: exact and
mid-p under 1 s at 10^5 per arm (issue 13).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import time

from evidence import odds_ratio

R_CODE = """
n <- as.numeric(commandArgs(TRUE)[1])
m <- matrix(c(n / 2, round(0.48 * n), n / 2, n - round(0.48 * n)), 2)
best <- Inf
for (i in 1:3) { t <- system.time(f <- fisher.test(m))[["elapsed"]]; best <- min(best, t) }
cat(sprintf('{"seconds": %.6f, "low": %.12g, "high": %.12g}', best, f$conf.int[1], f$conf.int[2]))
"""


def best_of(fn, repeats: int = 3) -> tuple[float, object]:  # noqa: ANN001
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
    have_r = shutil.which("Rscript") is not None
    print(f"{'n per arm':>10} {'exact s':>9} {'mid-p s':>9} {'fisher.test s':>14} {'ratio':>7}  limits agree")
    for n in sizes:
        a, c = n // 2, round(0.48 * n)
        t_exact, r = best_of(lambda: odds_ratio(a, n, c, n, ci="exact"))  # noqa: B023
        t_midp, _ = best_of(lambda: odds_ratio(a, n, c, n, ci="midp"))  # noqa: B023
        r_s, agree = float("nan"), "-"
        if have_r:
            proc = subprocess.run(["Rscript", "--vanilla", "-e", R_CODE, str(n)], capture_output=True,
                                  text=True, check=True)
            res = json.loads(proc.stdout)
            r_s = res["seconds"]
            tol = 2 * 1.2e-4
            agree = str(abs(r.ci_low - res["low"]) <= tol and abs(1 / r.ci_high - 1 / res["high"]) <= tol)
        ratio = r_s / t_exact if have_r else float("nan")
        print(f"{n:>10,} {t_exact:>9.3f} {t_midp:>9.3f} {r_s:>14.3f} {ratio:>7.2f}  {agree}")


if __name__ == "__main__":
    main()
