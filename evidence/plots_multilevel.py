"""Forest plot of a multilevel model, effect sizes grouped by cluster (study).

Like metafor's ``forest.rma`` on an ``rma.mv`` fit sorted by study: one row per effect size
with its ``1 - alpha`` Wald interval from the sampling variance, the rows of one study kept
together under the study's label with alternate studies shaded, marker area proportional to
the model's weight (metafor ``weights.rma.mv``: the diagonal of ``M^-1``, in percent), and the
pooled estimate of an intercept-only model as a diamond.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from evidence._validation import check_alpha
from evidence.multilevel import MultilevelResult
from evidence.plots import PlotResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["forest_multilevel"]


def forest_multilevel(res: MultilevelResult, *, alpha: float | None = None, ax: Axes | None = None,
                      xlabel: str | None = None) -> PlotResult:
    """Forest plot of the effect sizes of a multilevel fit, grouped by the outermost level.

    Parameters
    ----------
    res : MultilevelResult
        From :func:`evidence.multilevel.meta_analysis_multilevel`.
    alpha : float, optional
        ``1 - alpha`` intervals; default the fit's ``alpha``.
    ax : matplotlib Axes, optional
    xlabel : str, optional
        Default: the fit's measure, or "Effect size".

    Returns
    -------
    PlotResult
        ``data`` has one row per effect (``cluster``, ``row``, ``estimate``, ``ci_low``, ``ci_high``,
        ``weight`` in percent, ``y``) and, for an intercept-only model, a last row ``"pooled"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from evidence.multilevel import meta_analysis_multilevel
    >>> df = pd.DataFrame({"study": [1, 1, 2, 3, 3], "es": range(5),
    ...                    "yi": [0.1, 0.3, 0.2, 0.5, 0.4], "vi": [0.02, 0.03, 0.02, 0.04, 0.03]})
    >>> p = forest_multilevel(meta_analysis_multilevel(df, levels=["study", "es"], profile=False))
    >>> p.data["cluster"].tolist()
    [1, 1, 2, 3, 3, 'pooled']
    """
    import matplotlib.pyplot as plt

    if not isinstance(res, MultilevelResult):
        raise TypeError(f"res must be a MultilevelResult, got {type(res).__name__}.")
    a = res.alpha if alpha is None else check_alpha(alpha)
    z = float(stats.norm.ppf(1 - a / 2))
    rows: list[dict[str, Any]] = []
    w_total = sum(float(np.trace(b.W)) for b in res.covariance_blocks())
    for blk, sblk in zip(res.covariance_blocks(), res.sampling_blocks(), strict=True):
        for i, r in enumerate(blk.rows):
            se = float(np.sqrt(sblk.V[i, i]))
            rows.append({"cluster": blk.cluster, "row": res.row_labels[r], "estimate": res.y[r],
                         "ci_low": res.y[r] - z * se, "ci_high": res.y[r] + z * se,
                         "weight": 100 * blk.W[i, i] / w_total})
    frame = pd.DataFrame(rows)
    ids = frame["cluster"].to_numpy()
    new = np.r_[True, ids[1:] != ids[:-1]]  # first row of each cluster
    frame["y"] = -(np.arange(len(frame)) + 0.6 * (np.cumsum(new) - 1))
    if ax is None:
        _, ax = plt.subplots(figsize=(7.0, 1.2 + 0.16 * len(frame)))
    fig = ax.figure
    starts = np.flatnonzero(new)
    for j, s in enumerate(starts):
        end = starts[j + 1] if j + 1 < len(starts) else len(frame)
        ys = frame["y"].to_numpy()[s:end]
        if j % 2:
            ax.axhspan(ys.min() - 0.5, ys.max() + 0.5, color="0.93", zorder=0, gid="cluster_band")
        ax.text(-0.02, ys.mean(), str(frame["cluster"].iloc[s]), transform=ax.get_yaxis_transform(),
                ha="right", va="center", fontsize=8)
    ax.hlines(frame["y"], frame["ci_low"], frame["ci_high"], color="0.3", lw=0.8, gid="effect_ci")
    ax.scatter(frame["estimate"], frame["y"], s=8 + 12 * frame["weight"], marker="s", color="0.2",
               zorder=3, gid="effect_squares")
    arrays: dict[str, Any] = {}
    if res.coef_names == ("intrcpt",):
        y0 = float(frame["y"].min()) - 1.5
        b, lo, hi = float(res.beta[0]), float(res.ci_low[0]), float(res.ci_high[0])
        ax.fill([lo, b, hi, b], [y0, y0 + 0.4, y0, y0 - 0.4], color="black", gid="diamond:pooled")
        ax.axvline(b, color="0.5", ls=":", lw=0.8)
        frame = pd.concat([frame, pd.DataFrame([{"cluster": "pooled", "row": None, "estimate": b,
                                                 "ci_low": lo, "ci_high": hi, "weight": 100.0, "y": y0}])],
                          ignore_index=True)
        arrays["diamond"] = np.array([lo, b, hi])
    ax.axvline(0.0, color="black", lw=0.8, gid="null_line")
    ax.set_yticks([])
    ax.set_xlabel(xlabel or res.measure or "Effect size")
    ax.set_title(f"{len(starts)} {res.levels[0]} clusters, {res.k} effect sizes "
                 f"({100 * (1 - a):g}% intervals)", fontsize=9)
    return PlotResult(ax=ax, figure=fig, data=frame, arrays=arrays, kind="forest_multilevel", alpha=a)
