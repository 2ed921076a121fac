"""Simulation studies of meta-analysis methods at scale.

:func:`coverage_grid` simulates meta-analyses from the normal-normal
random-effects model over a grid of numbers of studies ``k`` and
between-study variances ``tau2``, fits every simulated analysis with
:func:`evidence.pooling.meta_analysis_many` (one batch call per method and
test), and returns a tidy :class:`pandas.DataFrame` of coverage, interval
width, Monte Carlo standard error, mean estimates and non-convergence counts.

Randomness.  Every grid cell ``(k, tau2)`` draws from its own
:class:`numpy.random.Generator` seeded by a child of
``numpy.random.SeedSequence(seed).spawn(n_cells)`` taken in grid order, so the
numbers do not depend on where or in which order the cells run: in-process and
on any Dask cluster the result is bit-identical.  Within a cell all methods and
tests are fitted to the same simulated analyses (common random numbers), which
makes comparisons between methods sharper.

Execution.  ``scheduler="auto"`` (the default) runs the cells on a local Dask
cluster when ``dask[distributed]`` is installed, and in-process otherwise;
``"local"`` insists on the local cluster, ``"none"`` runs in-process, and any
other string is the address of a running Dask scheduler (``Client(address)``).
A :class:`distributed.Client` may also be passed (e.g. one of worker
processes, or of a multi-machine cluster).  The local cluster
(:class:`dask.distributed.LocalCluster`) has one worker thread per core (at
most one per cell) inside this process: NumPy releases the GIL in the array
arithmetic, so the cells run in parallel, the cluster starts in well under a
second, and a script needs no ``if __name__ == "__main__":`` guard (worker
processes, which Dask starts by spawning, would re-run an unguarded script).
Dask is an optional extra (``pip install evidence[dask]``) and is imported
only when used.

References
----------
.. [1] Brockwell SE, Gordon IR (2001). A comparison of statistical methods for
   meta-analysis. Statistics in Medicine 20:825-840 (section 3: within-study
   variances drawn as chi-square(1)/4 restricted to [0.009, 0.6]).
.. [2] Sidik K, Jonkman JN (2007). A comparison of heterogeneity variance
   estimators in combining results of studies. Statistics in Medicine
   26:1964-1981 (same within-study variance design).
.. [3] Morris TP, White IR, Crowther MJ (2019). Using simulation studies to
   evaluate statistical methods. Statistics in Medicine 38:2074-2102
   (Table 6: Monte Carlo standard error of coverage).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from evidence._validation import check_alpha, check_choice, check_seed
from evidence.exceptions import ConvergenceWarning, EvidenceWarning
from evidence.options import POOLING_METHODS, SCHEDULERS, TESTS, V_SAMPLERS

__all__ = ["coverage_grid", "sample_variances"]

#: Columns of the DataFrame returned by :func:`coverage_grid`, in order.
COVERAGE_COLUMNS: tuple[str, ...] = (
    "k",
    "tau2",
    "method",
    "test",
    "n_sim",
    "n_valid",
    "coverage",
    "coverage_mcse",
    "mean_ci_width",
    "mean_estimate",
    "mean_tau2",
    "non_converged",
)

#: Bounds of the Brockwell & Gordon (2001) within-study variance design.
BROCKWELL_GORDON_BOUNDS: tuple[float, float] = (0.009, 0.6)

# Largest number of simulated values (analyses x studies) held at once in a cell.
_BLOCK_VALUES = 1 << 20

VSampler = Union[str, Callable[[np.random.Generator, tuple[int, int]], NDArray[np.float64]]]


def sample_variances(
    rng: np.random.Generator, size: tuple[int, int], design: str = "brockwell_gordon"
) -> NDArray[np.float64]:
    """Draw within-study sampling variances for simulated meta-analyses.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness.
    size : tuple of int
        Shape ``(n_analyses, k)`` of the array returned.
    design : {"brockwell_gordon", "uniform"}
        ``"brockwell_gordon"``: chi-square(1)/4 truncated to [0.009, 0.6]
        (Brockwell & Gordon 2001, section 3; Sidik & Jonkman 2007), drawn
        exactly by inversion of the truncated distribution function.
        ``"uniform"``: uniform on the same interval [0.009, 0.6].

    Returns
    -------
    numpy.ndarray
        Strictly positive variances of shape ``size``.

    Examples
    --------
    >>> v = sample_variances(np.random.default_rng(1), (2, 3))
    >>> v.shape, bool(((v >= 0.009) & (v <= 0.6)).all())
    ((2, 3), True)
    """
    check_choice("design", design, V_SAMPLERS)
    lo, hi = BROCKWELL_GORDON_BOUNDS
    u = rng.random(size)
    if design == "uniform":
        return lo + (hi - lo) * u
    dist = stats.chi2(df=1, scale=0.25)
    p_lo, p_hi = dist.cdf(lo), dist.cdf(hi)
    v = dist.ppf(p_lo + (p_hi - p_lo) * u)
    return np.clip(v, lo, hi)


def _draw_variances(
    v_sampler: VSampler, rng: np.random.Generator, size: tuple[int, int]
) -> NDArray[np.float64]:
    if isinstance(v_sampler, str):
        return sample_variances(rng, size, v_sampler)
    v = np.asarray(v_sampler(rng, size), dtype=np.float64)
    if v.shape != size:
        raise ValueError(
            f"v_sampler returned an array of shape {v.shape}; it must return the requested "
            f"shape {size}."
        )
    if not (np.isfinite(v).all() and (v > 0).all()):
        raise ValueError("v_sampler returned a variance that is not finite and strictly positive.")
    return v


def _simulate_cell(
    k: int,
    tau2: float,
    methods: tuple[str, ...],
    tests: tuple[str, ...],
    n_sim: int,
    true_effect: float,
    v_sampler: VSampler,
    alpha: float,
    seed: np.random.SeedSequence,
) -> list[dict[str, Any]]:
    """Simulate and fit one grid cell; return one row per (method, test)."""
    from evidence.pooling import meta_analysis_many

    rng = np.random.default_rng(seed)
    block = max(1, min(n_sim, _BLOCK_VALUES // k))
    keys = [(m, t) for m in methods for t in tests]
    acc = {
        key: {"n_valid": 0, "covered": 0, "width": 0.0, "est": 0.0, "tau2": 0.0, "nc": 0}
        for key in keys
    }
    done = 0
    while done < n_sim:
        n = min(block, n_sim - done)
        done += n
        v = _draw_variances(v_sampler, rng, (n, k))
        # Normal-normal model: theta_i ~ N(mu, tau2), y_i | theta_i ~ N(theta_i, v_i),
        # i.e. y_i ~ N(mu, v_i + tau2).
        y = true_effect + rng.standard_normal((n, k)) * np.sqrt(v + tau2)
        for m in methods:
            for t in tests:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    fit = meta_analysis_many(y, v, method=m, test=t, alpha=alpha)
                lo = np.asarray(fit.ci_low, dtype=np.float64)
                hi = np.asarray(fit.ci_high, dtype=np.float64)
                ok = np.isfinite(lo) & np.isfinite(hi)
                a = acc[(m, t)]
                a["n_valid"] += int(ok.sum())
                a["covered"] += int(((lo[ok] <= true_effect) & (true_effect <= hi[ok])).sum())
                a["width"] += float((hi[ok] - lo[ok]).sum())
                a["est"] += float(np.asarray(fit.estimate, dtype=np.float64)[ok].sum())
                a["tau2"] += float(np.asarray(fit.tau2, dtype=np.float64)[ok].sum())
                a["nc"] += int((~np.asarray(fit.converged, dtype=bool)).sum())
    rows = []
    for (m, t), a in acc.items():
        nv = a["n_valid"]
        cov = a["covered"] / nv if nv else math.nan
        rows.append(
            {
                "k": k,
                "tau2": tau2,
                "method": m,
                "test": t,
                "n_sim": n_sim,
                "n_valid": nv,
                "coverage": cov,
                "coverage_mcse": math.sqrt(cov * (1.0 - cov) / nv) if nv else math.nan,
                "mean_ci_width": a["width"] / nv if nv else math.nan,
                "mean_estimate": a["est"] / nv if nv else math.nan,
                "mean_tau2": a["tau2"] / nv if nv else math.nan,
                "non_converged": a["nc"],
            }
        )
    return rows


def _dask_client(scheduler: Any, n_cells: int) -> tuple[Any, Callable[[], None]]:
    """Return (client, close) for a scheduler option; import Dask lazily."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise ImportError(
            f"scheduler={scheduler!r} needs Dask: install the optional extra with "
            f"`pip install 'evidence[dask]'` (dask[distributed]), or pass scheduler='none' "
            f"to run in-process."
        ) from exc
    if isinstance(scheduler, Client):
        return scheduler, lambda: None
    if scheduler in ("auto", "local"):
        n_workers = max(1, min(os.cpu_count() or 1, n_cells))
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
            silence_logs=40,
        )
        client = Client(cluster)

        def close() -> None:
            client.close()
            cluster.close()

        return client, close
    client = Client(scheduler)
    return client, client.close


def _dask_available() -> bool:
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return False
    return True


def coverage_grid(
    k_values: Sequence[int],
    tau2_values: Sequence[float],
    methods: Sequence[str] = ("REML",),
    tests: Sequence[str] = ("z",),
    *,
    n_sim: int = 1000,
    true_effect: float = 0.0,
    alpha: float = 0.05,
    v_sampler: VSampler = "brockwell_gordon",
    seed: int | np.random.SeedSequence | None = None,
    progress: bool = True,
    scheduler: Any = "auto",
) -> pd.DataFrame:
    """Coverage and precision of meta-analysis methods over a simulation grid.

    For every cell ``(k, tau2)`` of the grid, ``n_sim`` meta-analyses of ``k``
    studies are drawn from the normal-normal random-effects model
    ``y_i ~ N(true_effect, v_i + tau2)`` with within-study variances ``v_i``
    drawn by ``v_sampler``; each is fitted with every method and test by
    :func:`evidence.pooling.meta_analysis_many`.

    Parameters
    ----------
    k_values : sequence of int
        Numbers of studies per meta-analysis (each >= 2).
    tau2_values : sequence of float
        True between-study variances (each >= 0).
    methods : str or sequence of str
        Pooling methods, from :data:`evidence.options.POOLING_METHODS`.
    tests : str or sequence of str
        Tests / interval types, from :data:`evidence.options.TESTS`.
    n_sim : int
        Simulated meta-analyses per cell.
    true_effect : float
        The true overall effect ``mu`` that the intervals should cover.
    alpha : float
        Intervals are ``100 * (1 - alpha)`` percent; nominal coverage ``1 - alpha``.
    v_sampler : {"brockwell_gordon", "uniform"} or callable
        Design of the within-study variances (see :func:`sample_variances`):
        the default is chi-square(1)/4 truncated to [0.009, 0.6] (Brockwell &
        Gordon 2001; Sidik & Jonkman 2007).  A callable
        ``v_sampler(rng, (n, k)) -> array`` may be given instead; it must use
        only ``rng`` for randomness for results to be reproducible.
    seed : int, numpy.random.SeedSequence or None
        Root seed; cell ``i`` (in the order ``k`` outer, ``tau2`` inner) uses
        ``SeedSequence(seed).spawn(n_cells)[i]``.  ``None`` draws fresh entropy,
        recorded in ``result.attrs["seed"]`` so the run can be repeated.
    progress : bool
        Show a tqdm progress bar over the grid cells.
    scheduler : {"auto", "local", "none"}, str or distributed.Client
        Where the cells run (see the module docstring): ``"auto"`` uses a local
        Dask cluster of worker threads if Dask is installed and runs in-process
        otherwise; a string with a colon is a scheduler address.  Results are
        identical whatever the scheduler.

    Returns
    -------
    pandas.DataFrame
        One row per ``(k, tau2, method, test)`` with the columns
        :data:`COVERAGE_COLUMNS`: ``n_valid`` analyses with a finite interval,
        ``coverage`` (share of those intervals containing ``true_effect``),
        ``coverage_mcse`` (``sqrt(c (1 - c) / n_valid)``, Morris et al. 2019,
        Table 6), ``mean_ci_width``, ``mean_estimate``, ``mean_tau2`` and
        ``non_converged`` (fits whose estimator did not converge; they are
        still counted with the values the batch fit returned).  A row whose
        fits gave no finite interval (``n_valid == 0``) has NaN in the
        columns computed from intervals, and a warning says so.  ``attrs``
        echoes ``alpha``, ``n_sim``, ``true_effect``, ``v_sampler`` and
        ``seed``.

    Warns
    -----
    ConvergenceWarning
        Once, when any fit did not converge (see column ``non_converged``).
    EvidenceWarning
        Once, when some ``(k, tau2, method, test)`` had no finite interval at all.

    Examples
    --------
    >>> df = coverage_grid([5], [0.0], ["DL"], ["z", "knha"], n_sim=200, seed=1,
    ...                    progress=False, scheduler="none")
    >>> list(df["test"])
    ['z', 'knha']
    """
    ks = [int(k) for k in k_values]
    if not ks:
        raise ValueError("k_values is empty; give at least one number of studies, e.g. [5, 10].")
    for i, (k_raw, k) in enumerate(zip(k_values, ks)):
        if k != k_raw or k < 2:
            raise ValueError(
                f"k_values has {k_raw!r} at position {i}; every number of studies must be a "
                f"whole number >= 2."
            )
    taus = [float(t) for t in tau2_values]
    if not taus:
        raise ValueError(
            "tau2_values is empty; give at least one between-study variance, e.g. [0.0]."
        )
    for i, t in enumerate(taus):
        if not (np.isfinite(t) and t >= 0):
            raise ValueError(
                f"tau2_values has {t!r} at position {i}; every between-study variance must be a "
                f"finite number >= 0."
            )
    if isinstance(methods, str):
        methods = (methods,)
    if isinstance(tests, str):
        tests = (tests,)
    methods_t = tuple(check_choice("methods", m, POOLING_METHODS) for m in methods)
    tests_t = tuple(check_choice("tests", t, TESTS) for t in tests)
    if not methods_t or not tests_t:
        raise ValueError("methods and tests must each name at least one option.")
    if isinstance(n_sim, bool) or int(n_sim) != n_sim or n_sim < 1:
        raise ValueError(f"n_sim={n_sim!r} must be a whole number >= 1.")
    n_sim = int(n_sim)
    alpha = check_alpha(alpha)
    check_seed("seed", seed)
    true_effect = float(true_effect)
    if not np.isfinite(true_effect):
        raise ValueError(f"true_effect={true_effect!r} must be a finite number.")
    if isinstance(v_sampler, str):
        check_choice("v_sampler", v_sampler, V_SAMPLERS)
    elif not callable(v_sampler):
        raise TypeError(
            f"v_sampler={v_sampler!r} must be one of {V_SAMPLERS} or a callable "
            f"(rng, (n, k)) -> variances."
        )
    if isinstance(scheduler, str) and scheduler not in SCHEDULERS and ":" not in scheduler:
        raise ValueError(
            f"scheduler={scheduler!r} is neither an option ({', '.join(map(repr, SCHEDULERS))}) "
            f"nor a Dask scheduler address such as 'tcp://127.0.0.1:8786'."
        )

    root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    cells = [(k, t) for k in ks for t in taus]
    seeds = root.spawn(len(cells))
    tasks = [
        (k, t, methods_t, tests_t, n_sim, true_effect, v_sampler, alpha, s)
        for (k, t), s in zip(cells, seeds)
    ]

    from tqdm.auto import tqdm

    use_dask = scheduler != "none" and not (scheduler == "auto" and not _dask_available())
    bar = tqdm(total=len(tasks), desc="coverage_grid", unit="cell", disable=not progress)
    try:
        if not use_dask:
            results = []
            for task in tasks:
                results.append(_simulate_cell(*task))
                bar.update(1)
        else:
            client, close = _dask_client(scheduler, len(tasks))
            try:
                from dask.distributed import as_completed

                futures = [client.submit(_simulate_cell, *task, pure=False) for task in tasks]
                for _ in as_completed(futures):
                    bar.update(1)
                results = client.gather(futures)
            finally:
                close()
    finally:
        bar.close()

    df = pd.DataFrame([row for rows in results for row in rows], columns=list(COVERAGE_COLUMNS))
    df["k"] = df["k"].astype(np.int64)
    df["n_sim"] = df["n_sim"].astype(np.int64)
    df["n_valid"] = df["n_valid"].astype(np.int64)
    df["non_converged"] = df["non_converged"].astype(np.int64)
    df.attrs.update(
        {
            "alpha": alpha,
            "n_sim": n_sim,
            "true_effect": true_effect,
            "v_sampler": v_sampler if isinstance(v_sampler, str) else repr(v_sampler),
            "seed": root.entropy,
        }
    )
    empty = df[df["n_valid"] == 0]
    if len(empty):
        first = empty.iloc[0]
        warnings.warn(
            EvidenceWarning(
                f"{len(empty)} grid row(s) had no simulated fit with a finite interval (first: "
                f"k={first['k']}, tau2={first['tau2']}, method={first['method']!r}, "
                f"test={first['test']!r}); their coverage, width and means are NaN."
            ),
            stacklevel=2,
        )
    n_nc = int(df["non_converged"].sum())
    if n_nc:
        warnings.warn(
            ConvergenceWarning(
                f"{n_nc} of {len(df) * n_sim} simulated fits did not converge; they are counted "
                f"with the values the batch fit returned (see the column 'non_converged')."
            ),
            stacklevel=2,
        )
    return df
