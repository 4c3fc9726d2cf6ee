"""Average ranks across cases, the Friedman test and the Nemenyi critical difference, with
a critical-difference diagram (Demšar, "Statistical comparisons of classifiers over multiple
data sets", JMLR 2006).

Two contenders differ significantly over ``n`` cases when their average ranks differ by at
least the critical difference ``CD = q_alpha * sqrt(k (k + 1) / (6 n))``, with ``k``
contenders and ``q_alpha`` the studentized range quantile for ``k`` groups and infinite
degrees of freedom over ``sqrt(2)``. It is computed here by hand from
:data:`scipy.stats.studentized_range` (no post-hoc package needed); ``q_0.05`` for ``k = 4``
is 2.569, as in Demšar's Table 5.

Example:
    >>> round(critical_difference(4, 10), 3)
    1.483
    >>> cliques(pd.Series({"a": 1.2, "b": 1.9, "c": 3.4, "d": 3.5}), 1.0)
    [('a', 'b'), ('c', 'd')]
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """The Nemenyi critical difference of average ranks for ``k`` contenders over ``n``
    cases at level ``alpha`` (see the module doc).

    Raises:
        ValueError: fewer than 2 contenders, no case, or ``alpha`` outside (0, 1).
    """
    if k < 2 or n < 1 or not 0.0 < alpha < 1.0:
        raise ValueError(f"Need k >= 2, n >= 1 and 0 < alpha < 1; got k={k}, n={n}, {alpha}.")
    from scipy.stats import studentized_range

    q = float(studentized_range.ppf(1.0 - alpha, k, np.inf)) / math.sqrt(2.0)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


def friedman_p(ranks: pd.DataFrame) -> float:
    """The Friedman test's p (chi-square form, no tie correction) of a cases x contenders
    rank matrix: whether the contenders' average ranks differ at all. NaN with fewer than 2
    contenders or cases."""
    n, k = ranks.shape
    if n < 2 or k < 2:
        return math.nan
    from scipy.stats import chi2

    mean = ranks.mean(axis=0).to_numpy(dtype=float)
    statistic = 12.0 * n / (k * (k + 1)) * (float(np.sum(mean**2)) - k * (k + 1) ** 2 / 4.0)
    return float(chi2.sf(statistic, k - 1))


def cliques(average: pd.Series, cd: float) -> list[tuple[str, ...]]:
    """The maximal groups of contenders, consecutive by average rank, whose ranks span less
    than ``cd``: those the Nemenyi test does not tell apart (groups of one left out)."""
    ordered = average.dropna().sort_values()
    names, values = list(ordered.index), ordered.to_numpy(dtype=float)
    groups: list[tuple[str, ...]] = []
    reach = -1
    for i in range(len(values)):
        j = i
        while j + 1 < len(values) and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and j > reach:
            groups.append(tuple(str(n) for n in names[i : j + 1]))
            reach = j
    return groups


def plot_cd(average: pd.Series, cd: float, path: Path, title: str) -> Path:
    """A critical-difference diagram: the rank axis (1 = best, on the left), each
    contender's average rank, the CD as a bar, and a thick line under each group the test
    does not tell apart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = average.dropna().sort_values()
    k = max(len(average), 2)
    groups = cliques(ordered, cd)
    half = math.ceil(len(ordered) / 2)
    top = -(0.6 + 0.3 * len(groups))  # the first label row, under the group lines
    bottom = top - 0.7 * max(half, 1)
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.45 * (2.2 - bottom)))
    ax.set_xlim(0.5, k + 0.5)
    ax.set_ylim(bottom - 0.3, 2.0)
    ax.axis("off")
    ax.hlines(0, 1, k, color="black", linewidth=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0, 0.2, color="black", linewidth=1)
        ax.text(r, 0.35, str(r), ha="center", va="bottom", fontsize=9)
    ax.hlines(1.3, 1, 1 + cd, color="black", linewidth=2)
    ax.text(1 + cd / 2, 1.45, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=9)
    for g, group in enumerate(groups):
        y = -0.35 - 0.3 * g
        ax.hlines(
            y, ordered[group[0]] - 0.03, ordered[group[-1]] + 0.03, color="black", linewidth=4
        )
    for i, (name, rank) in enumerate(ordered.items()):
        left = i < half
        y = top - 0.7 * (i if left else len(ordered) - 1 - i)
        x_text = 0.6 if left else k + 0.4
        ax.vlines(rank, y, 0, color="black", linewidth=0.8)
        ax.hlines(y, min(rank, x_text), max(rank, x_text), color="black", linewidth=0.8)
        align = "right" if left else "left"
        ax.text(x_text, y, f"{name} ({rank:.2f})", ha=align, va="center", fontsize=9)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
