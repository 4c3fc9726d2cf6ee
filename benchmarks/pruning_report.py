"""The pruning benchmark's report: summaries over orders, the goal's verdict, a plot, a page.

Every replay row (``benchmarks/pruning_replay.py``) is one dataset x rule x trial order.
Per dataset, a rule's numbers are means over the orders with their standard deviation.
*Pooled* numbers weigh the datasets equally: per order, the mean over datasets (regret
normalised per dataset, since metric units differ), then mean and deviation over orders.

The goal (issue 5): at regret no worse than the best rank rule, spend at most half of its
epochs. The *best rank rule* is the rank rule (median, successive halving, Hyperband, ASHA)
with the lowest pooled normalised regret (fewer epochs breaks a tie); a curve rule meets the
goal when its pooled normalised regret is no larger and its epochs fraction at most half.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.pruning_curves import DatasetCurves

DEFAULT_RULE = "median"
TOLERANCE = 1e-12
"""Regrets closer than this are equal (means summed in another order differ in the last bit)."""


def per_dataset(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, rule): means and deviations over the orders."""
    grouped = rows.groupby(["dataset", "rule"], sort=False)
    summary = grouped.agg(
        family=("family", "first"),
        metric=("metric", "first"),
        orders=("order", "count"),
        epochs_fraction=("epochs_fraction", "mean"),
        epochs_sd=("epochs_fraction", "std"),
        seconds_fraction=("seconds_fraction", "mean"),
        regret=("regret", "mean"),
        regret_sd=("regret", "std"),
        normalised_regret=("normalised_regret", "mean"),
        normalised_sd=("normalised_regret", "std"),
        test_gap=("test_gap", "mean"),
        best_pruned=("best_pruned", "mean"),
        n_pruned=("n_pruned", "mean"),
        n_complete=("n_complete", "mean"),
        no_incumbent=("regret", lambda r: int(r.isna().sum())),
    )
    summary["decision_ms"] = grouped.apply(_decision_ms, include_groups=False)
    return summary.reset_index()


def pooled(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per rule: datasets weighed equally (see the module doc)."""
    per_order = rows.groupby(["rule", "order"], sort=False).agg(
        family=("family", "first"),
        epochs_fraction=("epochs_fraction", "mean"),
        seconds_fraction=("seconds_fraction", "mean"),
        normalised_regret=("normalised_regret", "mean"),
        best_pruned=("best_pruned", "mean"),
    )
    grouped = per_order.groupby("rule", sort=False)
    summary = grouped.agg(
        family=("family", "first"),
        orders=("epochs_fraction", "count"),
        epochs_fraction=("epochs_fraction", "mean"),
        epochs_sd=("epochs_fraction", "std"),
        seconds_fraction=("seconds_fraction", "mean"),
        normalised_regret=("normalised_regret", "mean"),
        normalised_sd=("normalised_regret", "std"),
        best_pruned=("best_pruned", "mean"),
    )
    summary["decision_ms"] = rows.groupby("rule", sort=False).apply(
        _decision_ms, include_groups=False
    )
    return summary.reset_index()


def _decision_ms(group: pd.DataFrame) -> float:
    """Mean milliseconds per ``should_prune`` call, weighted by calls, over the replays that
    ran without memoised curve fits."""
    if "cached" in group:
        group = group[~group["cached"].astype(bool)]
    calls = group["decisions"].sum()
    if not calls:
        return math.nan
    return float((group["decision_ms"] * group["decisions"]).sum() / calls)


@dataclass(frozen=True)
class Check:
    """One curve rule against the goal."""

    rule: str
    met: bool
    regret: float
    epochs: float
    regret_difference: tuple[float, float, float]  # mean and 95% interval, paired by order
    datasets_met: int
    datasets: int


@dataclass(frozen=True)
class Verdict:
    """The best rank rule, each curve rule's check and the rule the numbers favour."""

    best_rank: str
    best_rank_regret: float
    best_rank_epochs: float
    checks: tuple[Check, ...]
    suggested_default: str
    default_reason: str


def verdict(rows: pd.DataFrame) -> Verdict | None:
    """The goal decided from ``rows`` (None when no rank rule was replayed)."""
    pool = pooled(rows).set_index("rule")
    ranks = pool[pool["family"] == "rank"]
    if ranks.empty:
        return None
    best = ranks.sort_values(["normalised_regret", "epochs_fraction"]).index[0]
    target = pool.loc[best]
    by_dataset = per_dataset(rows).set_index(["dataset", "rule"])
    datasets = list(dict.fromkeys(rows["dataset"]))
    checks = []
    for rule in pool.index[pool["family"] == "curve"]:
        mine = pool.loc[rule]
        met_on = 0
        for d in datasets:
            rank_d = by_dataset.loc[(d, best)]
            curve_d = by_dataset.loc[(d, rule)]
            met_on += bool(
                curve_d["regret"] <= rank_d["regret"] + TOLERANCE
                and curve_d["epochs_fraction"] <= 0.5 * rank_d["epochs_fraction"]
            )
        checks.append(
            Check(
                rule=rule,
                met=bool(
                    mine["normalised_regret"] <= target["normalised_regret"] + TOLERANCE
                    and mine["epochs_fraction"] <= 0.5 * target["epochs_fraction"]
                ),
                regret=float(mine["normalised_regret"]),
                epochs=float(mine["epochs_fraction"]),
                regret_difference=_paired(rows, rule, best),
                datasets_met=met_on,
                datasets=len(datasets),
            )
        )
    suggested, reason = _suggest_default(pool)
    return Verdict(
        best,
        float(target["normalised_regret"]),
        float(target["epochs_fraction"]),
        tuple(checks),
        suggested,
        reason,
    )


def _paired(rows: pd.DataFrame, rule: str, other: str) -> tuple[float, float, float]:
    """Mean and 95% Student-t interval over orders of the pooled normalised regret of
    ``rule`` minus ``other`` (same orders, so paired)."""
    per_order = rows.groupby(["rule", "order"])["normalised_regret"].mean().unstack("rule")
    diff = (per_order[rule] - per_order[other]).dropna().to_numpy()
    if len(diff) < 2:
        mean = float(diff.mean()) if len(diff) else math.nan
        return mean, mean, mean
    mean, half = float(diff.mean()), float(stats.sem(diff) * stats.t.ppf(0.975, len(diff) - 1))
    return mean, mean - half, mean + half


def _suggest_default(pool: pd.DataFrame) -> tuple[str, str]:
    """The pruning rule with the fewest epochs among those whose pooled normalised regret
    is no larger than the current default's (median); the current default otherwise."""
    candidates = pool[pool["family"] != "baseline"]
    if DEFAULT_RULE not in pool.index:
        best = candidates.sort_values(["normalised_regret", "epochs_fraction"]).index[0]
        return best, "lowest pooled normalised regret (median was not replayed)"
    limit = pool.loc[DEFAULT_RULE, "normalised_regret"]
    fine = candidates[candidates["normalised_regret"] <= limit + TOLERANCE]
    pick = fine.sort_values("epochs_fraction").index[0]
    return pick, (
        f"fewest epochs ({pool.loc[pick, 'epochs_fraction']:.3f} of no pruning) among the rules "
        f"whose pooled normalised regret is no larger than the current default's "
        f"({DEFAULT_RULE}: {limit:.4f})"
    )


def plot(rows: pd.DataFrame, path: Path) -> Path:
    """Epochs fraction against regret per rule: one panel per dataset (metric units) and
    one pooled (normalised, with the goal's corner shaded); points are means over orders,
    bars one standard error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(rows["dataset"]))
    rules = list(dict.fromkeys(rows["rule"]))
    panels = len(datasets) + 1
    cols = min(panels, 4)
    lines = math.ceil(panels / cols)
    fig, axes = plt.subplots(lines, cols, figsize=(4.2 * cols, 3.6 * lines), squeeze=False)
    colours = plt.get_cmap("tab10")
    markers = "osD^vP*Xh"
    summaries = [(d, per_dataset(rows[rows["dataset"] == d]), "regret") for d in datasets]
    summaries.append(("pooled (regret / (best - median))", pooled(rows), "normalised_regret"))
    for ax, (title, summary, column) in zip(axes.flat, summaries, strict=False):
        for i, rule in enumerate(rules):
            row = summary[summary["rule"] == rule]
            if row.empty:
                continue
            row = row.iloc[0]
            n = max(int(row["orders"]), 1)
            sd_column = "regret_sd" if column == "regret" else "normalised_sd"
            ax.errorbar(
                row["epochs_fraction"],
                row[column],
                xerr=(row["epochs_sd"] or 0.0) / math.sqrt(n),
                yerr=(row[sd_column] if row[sd_column] == row[sd_column] else 0.0) / math.sqrt(n),
                marker=markers[i % len(markers)],
                color=colours(i % 10),
                linestyle="none",
                label=rule,
            )
        metric = "" if column != "regret" else f" ({summary['metric'].iloc[0]})"
        ax.set_title(f"{title}{metric}", fontsize="medium")
        ax.set_xlabel("epochs, fraction of no pruning")
        ax.set_ylabel("regret (0 is best)")
        ax.set_xlim(0, 1.05)
        ax.grid(alpha=0.3)
    goal = verdict(rows)
    if goal is not None:  # the goal's corner on the pooled panel
        ax = axes.flat[len(summaries) - 1]
        ax.fill_between(
            [0, 0.5 * goal.best_rank_epochs],
            0,
            goal.best_rank_regret,
            color="green",
            alpha=0.15,
            label=f"goal (vs {goal.best_rank})",
        )
    for ax in list(axes.flat)[len(summaries) :]:
        ax.axis("off")
    handles, labels = axes.flat[len(summaries) - 1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 9), fontsize="small")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _f(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _pm(mean: float, sd: float, digits: int = 3) -> str:
    if math.isnan(sd):
        return _f(mean, digits)
    return f"{_f(mean, digits)} ± {_f(sd, digits)}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _regret_digits(datasets: Sequence[DatasetCurves], name: str) -> int:
    """Enough digits for a dataset's regret: 4 for scores in [0, 1], 2 for RMSE in tens."""
    data = next(d for d in datasets if d.dataset == name)
    scale = abs(data.best_value) or 1.0
    return max(2, 4 - max(0, int(math.floor(math.log10(scale)))))


def markdown(
    rows: pd.DataFrame,
    datasets: Sequence[DatasetCurves],
    header: Sequence[str],
    rule_descriptions: Sequence[tuple[str, str, str]],
    plot_name: str,
    csv_name: str,
    missing_rules: Sequence[str] = (),
) -> str:
    """The report page (see the module doc for how numbers are pooled and judged)."""
    pool = pooled(rows)
    checks = verdict(rows)
    orders = int(rows["order"].nunique())
    lines = ["# Pruning benchmark", "", *header, ""]
    lines += ["## Verdict", ""]
    if checks is None:
        lines.append("- NOT EVALUATED: no rank rule was replayed.")
    else:
        lines.append(
            f"- Best rank rule: **{checks.best_rank}** (pooled normalised regret "
            f"{checks.best_rank_regret:.4f}, {checks.best_rank_epochs:.3f} of the no-pruning "
            f"epochs). Goal: regret no worse than that at most "
            f"{0.5 * checks.best_rank_epochs:.3f} of the epochs."
        )
        for c in checks.checks:
            mean, low, high = c.regret_difference
            lines.append(
                f"- **{'MET' if c.met else 'NOT MET'}**: {c.rule}: normalised regret "
                f"{c.regret:.4f}, epochs {c.epochs:.3f} ({c.epochs / checks.best_rank_epochs:.2f}"
                f" x {checks.best_rank}'s); regret minus {checks.best_rank}'s {mean:+.4f} "
                f"[{low:+.4f}, {high:+.4f}] (95%, paired over {orders} orders); the goal holds "
                f"on {c.datasets_met} of {c.datasets} datasets on their own."
            )
        for rule in missing_rules:
            lines.append(f"- **NOT EVALUATED**: {rule} could not be built here (not importable).")
        cheapest = pool[pool["family"] != "baseline"].sort_values("epochs_fraction").iloc[0]
        lines.append(
            f"- The cheapest rule, {cheapest['rule']}, spends {cheapest['epochs_fraction']:.3f} "
            f"of the epochs at normalised regret {cheapest['normalised_regret']:.4f} (the true "
            f"best pruned in {100 * cheapest['best_pruned']:.0f}% of replays)."
        )
        lines.append(
            f"- The numbers favour **{checks.suggested_default}** as the default pruner: "
            f"{checks.default_reason}. (The lead decides.)"
        )
    lines += ["", f"![epochs fraction vs regret per rule]({plot_name})", ""]
    lines += ["## Pooled over datasets", ""]
    lines.append(
        f"Means ± standard deviation over {orders} trial orders; every dataset weighs the same. "
        "Regret is normalised per dataset: (no-pruning best - final incumbent) / (no-pruning "
        "best - median final value of the complete trials), signed so 0 is best and 1 means "
        "ending with a median trial. *Best pruned*: share of replays in which every trial "
        "holding the no-pruning best value was pruned. *Compute*: epochs weighted by each "
        "trial's recorded seconds per epoch. *ms/decision*: wall time of one `should_prune` "
        "call in the replay; for the curve rules it is timed on order 0 only, the other orders "
        "reuse memoised curve fits (`benchmarks/pruning_fitcache.py`: the same decisions, bit "
        "for bit, in less time)."
    )
    lines.append("")
    lines += _table(
        [
            "rule",
            "family",
            "epochs (fraction)",
            "compute (fraction)",
            "normalised regret",
            "best pruned",
            "ms/decision",
        ],
        [
            [
                r.rule,
                r.family,
                _pm(r.epochs_fraction, r.epochs_sd),
                _f(r.seconds_fraction),
                _pm(r.normalised_regret, r.normalised_sd, 4),
                f"{100 * r.best_pruned:.0f}%",
                _f(r.decision_ms, 3),
            ]
            for r in pool.itertuples(index=False)
        ],
    )
    lines += ["", "## Per dataset", ""]
    lines.append(
        "Regret in the metric's units (0 is best); *test gap*: test value of the no-pruning "
        "incumbent minus that of the rule's incumbent, signed so > 0 means the rule's pick "
        "tests worse (tied validation values can pick different trials). *pruned / complete*: "
        "trials per replay (mean)."
    )
    summary = per_dataset(rows)
    for data in datasets:
        part = summary[summary["dataset"] == data.dataset]
        if part.empty:
            continue
        digits = _regret_digits(datasets, data.dataset)
        direction = "higher" if data.greater_is_better else "lower"
        lines += [
            "",
            f"### {data.dataset} ({data.task}, {data.metric}, {direction} is better)",
            "",
        ]
        lines += _table(
            [
                "rule",
                "epochs (fraction)",
                "regret",
                "normalised",
                "test gap",
                "best pruned",
                "pruned / complete",
                "ms/decision",
            ],
            [
                [
                    r.rule,
                    _pm(r.epochs_fraction, r.epochs_sd),
                    _pm(r.regret, r.regret_sd, digits),
                    _f(r.normalised_regret, 4),
                    _f(r.test_gap, digits),
                    f"{100 * r.best_pruned:.0f}%",
                    f"{r.n_pruned:.1f} / {r.n_complete:.1f}",
                    _f(r.decision_ms, 3),
                ]
                for r in part.itertuples(index=False)
            ],
        )
    lines += ["", "## Recorded curves", ""]
    lines += _table(
        [
            "dataset",
            "task",
            "metric",
            "trials",
            "failed",
            "epochs",
            "best valid",
            "median valid",
            "training s",
        ],
        [_dataset_row(d) for d in datasets],
    )
    lines += ["", "## Rules", ""]
    lines += _table(["rule", "family", "settings"], rule_descriptions)
    lines += [
        "",
        "Every replay drives a real in-memory Optuna study "
        "(`optuna.create_study(direction, pruner=rule, sampler=RandomSampler())`): per recorded "
        "trial `study.ask()`, `trial.report(value, epoch)` and `trial.should_prune()` after "
        "every epoch (the last one included, as a losstune search does), then "
        "`study.tell(trial, state=PRUNED)`, `study.tell(trial, final value)` or, for a "
        "diverged trial, `study.tell(trial, state=FAIL)` at the epoch it failed in. Order 0 "
        "is the recorded (sampled) order, the others seeded permutations; every rule sees the "
        "same orders.",
        "",
        f"Raw results, one row per dataset x rule x order: `{csv_name}`.",
    ]
    return "\n".join(lines) + "\n"


def _dataset_row(data: DatasetCurves) -> list[object]:
    complete = [t.valid for t in data.trials if t.complete]
    seconds = sum(t.stopped_epoch * t.seconds_per_epoch for t in data.trials)
    return [
        data.dataset,
        data.task,
        data.metric,
        len(data.trials),
        sum(not t.complete for t in data.trials),
        data.epochs,
        f"{data.best_value:.4g}",
        f"{float(np.median(complete)):.4g}",
        f"{seconds:.0f}",
    ]


def write(
    rows: pd.DataFrame,
    datasets: Sequence[DatasetCurves],
    out: Path,
    header: Sequence[str],
    missing_rules: Sequence[str] = (),
) -> Path:
    """The Markdown page ``out`` and its PNG (the CSV of ``rows`` is written beside it by
    the replay, row by row)."""
    from benchmarks.pruning_rules import RULES

    out.parent.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out.with_suffix(".csv"), out.with_suffix(".png")
    plot(rows, png_path)
    descriptions = [
        (name, RULES.get(name).family, RULES.get(name).description)
        for name in dict.fromkeys(rows["rule"])
    ]
    out.write_text(
        markdown(rows, datasets, header, descriptions, png_path.name, csv_path.name, missing_rules)
    )
    return out
