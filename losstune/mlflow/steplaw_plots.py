"""Figures of a step-law fit (:mod:`losstune.scaling.steplaw`) for a transfer search's parent run.

Like :mod:`losstune.mlflow.plots`, each function returns a :class:`matplotlib.figure.Figure`
built without ``pyplot``. Axes are log-log: the laws are straight lines there.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from losstune.scaling.steplaw import Prediction, StepLawFit

_PROXY, _LAW, _TARGET = "tab:blue", "tab:gray", "tab:red"


def step_law_lr(fit: StepLawFit, n_params: float, samples: float) -> Figure:
    """The best learning rate against model size N (left) and data size D (right).

    Dots are the proxies' best learning rates; lines are the fitted law at each proxy's
    other size (grey) and at the full model's (red); the red marker is the prediction for
    the full model (``n_params``, ``samples``) with its 95% prediction interval.
    """
    prediction = fit.predict_lr(n_params, samples)
    figure = Figure(figsize=(10, 4), layout="constrained")
    by_n, by_d = figure.subplots(1, 2, sharey=True)
    n = np.array([p.n_params for p in fit.points])
    d = np.array([p.samples for p in fit.points])
    lr = np.array([p.lr for p in fit.points])
    for axes, x, other, target_x, target_other, name, other_name in (
        (by_n, n, d, n_params, samples, "N (parameters)", "D"),
        (by_d, d, n, samples, n_params, "D (samples seen)", "N"),
    ):
        grid = np.geomspace(min(x.min(), target_x) / 1.5, max(x.max(), target_x) * 1.5, 50)
        for i, value in enumerate(np.unique(other)):
            axes.plot(
                grid,
                _lr_line(fit, axes is by_n, grid, value),
                color=_LAW,
                linewidth=1,
                label=f"law at the proxies' {other_name}" if i == 0 else None,
            )
        axes.plot(
            grid,
            _lr_line(fit, axes is by_n, grid, target_other),
            color=_TARGET,
            linewidth=1.5,
            label=f"law at full {other_name}",
        )
        axes.scatter(x, lr, color=_PROXY, zorder=3, label="proxies' best")
        _prediction(axes, target_x, prediction)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel(name)
    by_n.set_ylim(*_limits([*lr, prediction.value], prediction))
    by_n.set_ylabel("learning rate")
    by_n.legend(loc="best", fontsize="small")
    figure.suptitle(
        f"lr = {fit.a:.3g}·N^{fit.alpha:.3g}·D^{fit.beta:.3g}"
        + (f"  ({'; '.join(_held(fit.lr.fixed))})" if fit.lr.fixed else "")
    )
    return figure


def step_law_batch(fit: StepLawFit, samples: float) -> Figure:
    """The best batch size against data size D: the proxies' best (dots), the fitted law
    with its 95% prediction band, and the prediction for ``samples`` (red)."""
    prediction = fit.predict_batch(samples)
    figure = Figure(figsize=(6, 4), layout="constrained")
    axes = figure.add_subplot()
    d = np.array([p.samples for p in fit.points])
    grid = np.geomspace(min(d.min(), samples) / 1.5, max(d.max(), samples) * 1.5, 50)
    band = [fit.predict_batch(float(value)) for value in grid]
    axes.fill_between(
        grid, [b.low for b in band], [b.high for b in band], color=_LAW, alpha=0.2, label="95%"
    )
    axes.plot(grid, [b.value for b in band], color=_LAW, label="law")
    axes.scatter(d, [p.batch_size for p in fit.points], color=_PROXY, zorder=3, label="proxies")
    _prediction(axes, samples, prediction)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_ylim(*_limits([*(p.batch_size for p in fit.points), prediction.value], prediction))
    axes.set_xlabel("D (samples seen)")
    axes.set_ylabel("batch size")
    axes.legend(loc="best", fontsize="small")
    axes.set_title(
        f"batch = {fit.c:.3g}·D^{fit.gamma:.3g}"
        + (f"  ({'; '.join(_held(fit.batch.fixed))})" if fit.batch.fixed else "")
    )
    return figure


def _lr_line(fit: StepLawFit, over_n: bool, grid: np.ndarray, other: float) -> np.ndarray:
    if over_n:
        return np.array([fit.predict_lr(float(x), float(other)).value for x in grid])
    return np.array([fit.predict_lr(float(other), float(x)).value for x in grid])


def _prediction(axes: Axes, x: float, prediction: Prediction) -> None:
    below, above = prediction.value - prediction.low, prediction.high - prediction.value
    axes.errorbar(
        [x],
        [prediction.value],
        yerr=[[below], [above]],
        color=_TARGET,
        marker="*",
        markersize=12,
        capsize=4,
        zorder=4,
        label=(
            f"prediction {prediction.value:.3g} ({prediction.level:.0%}: "
            f"{prediction.low:.2g} to {prediction.high:.2g})"
        ),
    )


def _limits(values: list[float], prediction: Prediction) -> tuple[float, float]:
    """Y limits around the points and the prediction that show its interval, unless the
    interval reaches more than 100x beyond them (a fit on few noisy points): then it is cut."""
    low, high = min(values), max(values)
    return (
        min(low / 3, max(prediction.low, low / 100)),
        max(high * 3, min(prediction.high, high * 100)),
    )


def _held(names: tuple[str, ...]) -> list[str]:
    return [f"{name} held" for name in names]
