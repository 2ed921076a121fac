"""Tests of evidence.simulate: the coverage grid, its seeding and its Dask execution."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evidence import options
from evidence.exceptions import ConvergenceWarning, EvidenceWarning
from evidence.pooling import meta_analysis_many
from evidence.simulate import COVERAGE_COLUMNS, coverage_grid, sample_variances


def _grid(**kw: object) -> pd.DataFrame:
    args: dict[str, object] = dict(
        k_values=[3, 8],
        tau2_values=[0.0, 0.2],
        methods=["DL", "REML"],
        tests=["z", "knha"],
        n_sim=60,
        seed=11,
        progress=False,
        scheduler="none",
    )
    args.update(kw)
    return coverage_grid(**args)  # type: ignore[arg-type]


def test_grid_shape_columns_and_order() -> None:
    df = _grid()
    assert list(df.columns) == list(COVERAGE_COLUMNS)
    assert len(df) == 2 * 2 * 2 * 2
    assert list(df["k"].unique()) == [3, 8]
    first = df.iloc[:4]
    assert list(zip(first["method"], first["test"], strict=False)) == [
        ("DL", "z"), ("DL", "knha"), ("REML", "z"), ("REML", "knha")
    ]
    assert (df["n_sim"] == 60).all()
    assert (df["n_valid"] <= df["n_sim"]).all()
    assert df["coverage"].between(0, 1).all()
    assert (df["mean_ci_width"] > 0).all()
    assert (df["mean_tau2"] >= 0).all()
    assert df.attrs["seed"] == 11 and df.attrs["alpha"] == 0.05
    assert df.attrs["v_sampler"] == "brockwell_gordon"


def test_grid_matches_direct_fits_of_the_same_draws() -> None:
    """One cell recomputed by hand from its documented seed and model."""
    n_sim, k, tau2 = 50, 6, 0.1
    df = coverage_grid([k], [tau2], ["REML"], ["z"], n_sim=n_sim, seed=5, true_effect=0.3,
                       progress=False, scheduler="none")
    cell_seed = np.random.SeedSequence(5).spawn(1)[0]
    rng = np.random.default_rng(cell_seed)
    v = sample_variances(rng, (n_sim, k))
    y = 0.3 + rng.standard_normal((n_sim, k)) * np.sqrt(v + tau2)
    fit = meta_analysis_many(y, v, method="REML", test="z")
    covered = (np.asarray(fit.ci_low) <= 0.3) & (0.3 <= np.asarray(fit.ci_high))
    row = df.iloc[0]
    assert row["coverage"] == pytest.approx(covered.mean(), abs=1e-15)
    assert row["mean_ci_width"] == pytest.approx(np.mean(np.asarray(fit.ci_high) - fit.ci_low),
                                                 rel=1e-12)
    assert row["mean_tau2"] == pytest.approx(np.mean(fit.tau2), rel=1e-12)
    assert row["mean_estimate"] == pytest.approx(np.mean(fit.estimate), rel=1e-12, abs=1e-15)
    c = covered.mean()
    assert row["coverage_mcse"] == pytest.approx(math.sqrt(c * (1 - c) / n_sim), rel=1e-12)


def test_seeded_results_repeat_and_cells_do_not_depend_on_grid() -> None:
    a = _grid()
    b = _grid()
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = _grid(seed=12)
    assert not np.array_equal(a["mean_tau2"].to_numpy(), c["mean_tau2"].to_numpy())
    # the same cell position gets the same seed whatever the methods and tests asked for
    d = _grid(methods=["REML"], tests=["z"])
    sub = a[(a["method"] == "REML") & (a["test"] == "z")].reset_index(drop=True)
    pd.testing.assert_frame_equal(d, sub, check_exact=True)


def test_fresh_entropy_is_recorded_and_reproduces() -> None:
    a = _grid(seed=None, k_values=[4], tau2_values=[0.1])
    b = _grid(seed=a.attrs["seed"], k_values=[4], tau2_values=[0.1])
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_sample_variances_designs() -> None:
    rng = np.random.default_rng(3)
    v = sample_variances(rng, (400, 50))
    assert v.shape == (400, 50)
    assert v.min() >= 0.009 and v.max() <= 0.6
    # chi2(1)/4 truncated to [0.009, 0.6]: compare with the truncated distribution function
    d = stats.chi2(df=1, scale=0.25)
    lo, hi = d.cdf(0.009), d.cdf(0.6)
    ks = stats.kstest(v.ravel()[:5000], lambda x: (d.cdf(x) - lo) / (hi - lo))
    assert ks.pvalue > 1e-3
    u = sample_variances(np.random.default_rng(3), (100, 10), "uniform")
    assert u.min() >= 0.009 and u.max() <= 0.6
    assert abs(u.mean() - (0.009 + 0.6) / 2) < 0.03


def test_single_option_strings_are_accepted() -> None:
    a = _grid(methods="DL", tests="z", k_values=[4], tau2_values=[0.0])
    b = _grid(methods=["DL"], tests=["z"], k_values=[4], tau2_values=[0.0])
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_callable_sampler() -> None:
    df = _grid(v_sampler=lambda rng, size: np.full(size, 0.05), k_values=[5], tau2_values=[0.0],
               methods=["FE"], tests=["z"], n_sim=200)
    # with equal variances the common-effect interval width is 2 z sqrt(v / k)
    expected = 2 * stats.norm.isf(0.025) * math.sqrt(0.05 / 5)
    assert df["mean_ci_width"].iloc[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"k_values": [1]}, "k_values"),
        ({"k_values": [2.5]}, "k_values"),
        ({"k_values": []}, "k_values"),
        ({"tau2_values": [-0.1]}, "tau2_values"),
        ({"methods": ["reml"]}, "methods"),
        ({"tests": ["t"]}, "tests"),
        ({"n_sim": 0}, "n_sim"),
        ({"alpha": 1.5}, "alpha"),
        ({"v_sampler": "chi2"}, "v_sampler"),
        ({"scheduler": "locl"}, "scheduler"),
        ({"v_sampler": lambda rng, size: np.zeros(size)}, "v_sampler"),
        ({"v_sampler": lambda rng, size: np.ones(3)}, "v_sampler"),
    ],
)
def test_bad_arguments(kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _grid(**kw)


def test_sample_variances_bad_design_names_the_argument() -> None:
    with pytest.raises(ValueError, match=r"design='chi2' is not a known option"):
        sample_variances(np.random.default_rng(0), (2, 3), "chi2")


def test_cells_without_a_finite_interval_are_nan_and_warned(monkeypatch: pytest.MonkeyPatch) -> None:
    import evidence.pooling as pooling

    real = pooling.meta_analysis_many

    def no_interval(Y, V, **kw):  # type: ignore[no-untyped-def]
        fit = real(Y, V, **kw)
        return _Fake(fit, np.asarray(fit.converged), ci_low=np.full(len(Y), np.nan))

    monkeypatch.setattr(pooling, "meta_analysis_many", no_interval)
    with pytest.warns(EvidenceWarning, match="no simulated fit with a finite interval"):
        df = _grid(k_values=[4], tau2_values=[0.1], methods=["REML"], tests=["z"], n_sim=10)
    assert df["n_valid"].iloc[0] == 0 and math.isnan(df["coverage"].iloc[0])


def test_non_convergence_is_counted_and_warned(monkeypatch: pytest.MonkeyPatch) -> None:
    import evidence.pooling as pooling

    real = pooling.meta_analysis_many

    def capped(Y, V, **kw):  # type: ignore[no-untyped-def]
        fit = real(Y, V, **kw)
        converged = np.asarray(fit.converged).copy()
        converged[::2] = False
        return _Fake(fit, converged)

    monkeypatch.setattr(pooling, "meta_analysis_many", capped)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        df = _grid(k_values=[4], tau2_values=[0.1], methods=["REML"], tests=["z"], n_sim=10)
    assert df["non_converged"].iloc[0] == 5


class _Fake:
    def __init__(self, fit: object, converged: np.ndarray, **override: object) -> None:
        self._fit = fit
        self.converged = converged
        self.__dict__.update(override)

    def __getattr__(self, name: str) -> object:
        return getattr(self._fit, name)


def test_z_interval_coverage_is_nominal_for_large_k_without_heterogeneity() -> None:
    """Common-effect z intervals are exact under the model: coverage within binomial error."""
    n_sim = 4000
    df = coverage_grid([40], [0.0], ["FE", "DL"], ["z"], n_sim=n_sim, seed=2024, true_effect=0.5,
                       progress=False, scheduler="none")
    fe = df[df["method"] == "FE"].iloc[0]
    # 0.1% two-sided binomial band around the nominal 95%
    lo, hi = stats.binom.interval(0.999, n_sim, 0.95)
    assert lo / n_sim <= fe["coverage"] <= hi / n_sim
    assert fe["coverage_mcse"] == pytest.approx(math.sqrt(0.95 * 0.05 / n_sim), rel=0.2)
    # DL truncates tau2 at 0, so its z interval is never narrower: coverage at least as high
    dl = df[df["method"] == "DL"].iloc[0]
    assert dl["coverage"] >= fe["coverage"]
    assert dl["coverage"] <= 1.0


def test_knha_is_closer_to_nominal_than_z_with_few_heterogeneous_studies() -> None:
    """The known result (IntHout et al. 2014): z-based DL intervals undercover at small k."""
    df = coverage_grid([5], [0.3], ["DL"], ["z", "knha"], n_sim=3000, seed=7, progress=False,
                       scheduler="none")
    z = df[df["test"] == "z"].iloc[0]
    kn = df[df["test"] == "knha"].iloc[0]
    assert z["coverage"] < 0.95 - 3 * z["coverage_mcse"]
    assert abs(kn["coverage"] - 0.95) < abs(z["coverage"] - 0.95)


def test_progress_bar_writes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    _grid(k_values=[3], tau2_values=[0.0], progress=True, n_sim=5)
    err = capsys.readouterr().err
    assert "coverage_grid" in err


def test_scheduler_options_are_in_the_vocabulary() -> None:
    assert options.SCHEDULERS == ("auto", "local", "none")
    assert "brockwell_gordon" in options.V_SAMPLERS


@pytest.mark.parametrize("where", ["local", "worker processes"])
def test_dask_gives_bit_identical_results(where: str) -> None:
    """In-process and on Dask (the default local cluster, or 2 worker processes) agree exactly."""
    pytest.importorskip("dask.distributed")
    kw = dict(k_values=[3, 6], tau2_values=[0.0, 0.3], methods=["REML", "PM"], tests=["z", "knha"],
              n_sim=40, seed=99, progress=False)
    in_process = coverage_grid(**kw, scheduler="none")  # type: ignore[arg-type]
    if where == "local":
        on_dask = coverage_grid(**kw, scheduler="local")  # type: ignore[arg-type]
    else:
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            on_dask = coverage_grid(**kw, scheduler=client)  # type: ignore[arg-type]
            assert len(client.scheduler_info()["workers"]) == 2
            # the client passed in is left open for its owner
            assert client.status == "running"
    pd.testing.assert_frame_equal(in_process, on_dask, check_exact=True)


def test_auto_runs_in_process_without_dask(monkeypatch: pytest.MonkeyPatch) -> None:
    import evidence.simulate as simulate

    monkeypatch.setattr(simulate, "_dask_available", lambda: False)
    monkeypatch.setattr(simulate, "_dask_client", _no_dask)
    a = _grid(scheduler="auto", k_values=[4], tau2_values=[0.1])
    b = _grid(scheduler="none", k_values=[4], tau2_values=[0.1])
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def _no_dask(*args: object) -> None:
    raise AssertionError("Dask must not be used")


def test_missing_dask_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(ImportError, match=r"evidence\[dask\].*scheduler='none'"):
        _grid(scheduler="local", k_values=[4], tau2_values=[0.1])
