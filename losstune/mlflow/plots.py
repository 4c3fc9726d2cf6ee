"""Figures of a search that a person would rather look at than read.

Each function returns a :class:`matplotlib.figure.Figure` built without ``pyplot``: no
global figure registry is touched, the figure is freed like any object, and saving it
renders with Agg. Empty input gives an empty figure with a note rather than an error, so a
search that has not finished a trial can still log its plots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeGuard

from matplotlib.axes import Axes
from matplotlib.figure import Figure

_DIRECTIONS = ("maximize", "minimize")
_STATES = ("complete", "pruned", "failed")


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    figure = Figure(figsize=(width, height), layout="constrained")
    return figure, figure.add_subplot()


def _note(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", color="gray", transform=axes.transAxes)
    axes.set_xticks([])
    axes.set_yticks([])


def _finite(value: float | None) -> TypeGuard[float]:
    return value is not None and math.isfinite(value)


def optimization_history(
    values: Sequence[float | None],
    states: Sequence[str],
    direction: str,
    metric: str,
) -> Figure:
    """Each trial's objective value by trial number, with the best-so-far line.

    Complete trials are dots, pruned ones grey crosses (at their last reported value),
    failed ones are only counted. Trial 0 is the default recipe: a star, and a dotted line
    at its value so the gain of the search reads at a glance.
    """
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction is {direction!r}; use 'maximize' or 'minimize'.")
    if len(values) != len(states):
        raise ValueError(f"Got {len(values)} values but {len(states)} states; pass one per trial.")
    if bad := sorted(set(states) - set(_STATES)):
        raise ValueError(f"Unknown trial states {bad}; use {', '.join(_STATES)}.")
    figure, axes = _figure(7, 4)
    shown = [
        (n, v, s)
        for n, (v, s) in enumerate(zip(values, states, strict=True))
        if s != "failed" and _finite(v)
    ]
    if not shown:
        _note(axes, "No finished trials yet")
        return figure
    for state, color, marker, label in (
        ("complete", "tab:blue", "o", "complete"),
        ("pruned", "tab:gray", "x", "pruned (last value)"),
    ):
        points = [(n, v) for n, v, s in shown if s == state]
        if points:
            numbers, points_values = zip(*points, strict=True)
            axes.scatter(
                numbers, points_values, s=28, zorder=2, color=color, marker=marker, label=label
            )
    better = max if direction == "maximize" else min
    best: list[tuple[int, float]] = []
    for n, v, s in shown:
        if s == "complete":
            best.append((n, v if not best else better(best[-1][1], v)))
    if best:
        best.append((len(values) - 1, best[-1][1]))
        axes.step(*zip(*best, strict=True), where="post", color="tab:red", label="best so far")
    if shown[0][0] == 0:
        default = shown[0][1]
        axes.axhline(default, color="black", linestyle=":", linewidth=1)
        axes.scatter(
            [0],
            [default],
            marker="*",
            s=220,
            color="gold",
            edgecolor="black",
            zorder=3,
            label="default recipe (trial 0)",
        )
    if failed := sum(state == "failed" for state in states):
        axes.text(
            0.99,
            0.02,
            f"{failed} failed (not shown)",
            ha="right",
            va="bottom",
            color="gray",
            transform=axes.transAxes,
        )
    axes.set_xlabel("trial")
    axes.set_ylabel(metric)
    axes.set_title(f"Optimization history ({direction} {metric})")
    axes.legend(loc="best", fontsize="small")
    return figure


def param_importances(importances: Mapping[str, float]) -> Figure:
    """Horizontal bars of each hyperparameter's importance, the largest on top."""
    if bad := [name for name, value in importances.items() if not _finite(value)]:
        raise ValueError(f"Importances of {bad} are not finite numbers.")
    ranked = sorted(importances.items(), key=lambda item: item[1])
    figure, axes = _figure(6, max(2.5, 0.4 * len(ranked) + 1.2))
    if not ranked:
        _note(axes, "No importances (too few finished trials)")
        return figure
    names, scores = zip(*ranked, strict=True)
    bars = axes.barh(names, scores, color="tab:blue")
    axes.bar_label(bars, fmt="%.3f", padding=3, fontsize="small")
    axes.set_xlabel("importance")
    axes.set_title("Hyperparameter importance")
    axes.margins(x=0.15)
    return figure


def learning_curves(
    curves: Mapping[str, Sequence[float]],
    metric: str,
    default: str | None = None,
) -> Figure:
    """The validation ``metric`` per epoch (1-based) of each labelled trial; the curve named
    ``default`` (the default recipe) is drawn dashed black for reference."""
    if default is not None and default not in curves:
        raise ValueError(f"default={default!r} is not one of the curves {sorted(curves)}.")
    figure, axes = _figure(7, 4)
    drawn = {label: list(values) for label, values in curves.items() if len(values)}
    if not drawn:
        _note(axes, "No learning curves yet")
        return figure
    others = [label for label in drawn if label != default]
    colors = _colors(len(others))
    for label, color in zip(others, colors, strict=True):
        values = drawn[label]
        axes.plot(range(1, len(values) + 1), values, color=color, label=label)
    if default in drawn:
        values = drawn[default]
        axes.plot(
            range(1, len(values) + 1),
            values,
            color="black",
            linestyle="--",
            linewidth=2,
            label=f"{default} (default recipe)",
        )
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    axes.set_title(f"Learning curves ({metric})")
    axes.legend(loc="best", fontsize="small")
    return figure


def _colors(count: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(0.85 * i / max(count - 1, 1)) for i in range(count)]
