"""The quality benchmark's report: summaries over seeds, wins/ties/losses, a verdict computed
from them, a plot, and the Markdown page.

Scores of one contender on one case (dataset x variant) are summarised over the split seeds
as a mean and Student-t 95% interval (:func:`losstune.search.evaluation.mean_interval`).
losstune *wins* against a contender on a case when its interval lies entirely on the better
side of the contender's, *loses* when it lies entirely on the worse side, and *ties* when the
two intervals overlap. With one seed the intervals have zero width, so any difference counts.

Example:
    >>> outcome(Interval(0.9, 0.88, 0.92), Interval(0.8, 0.78, 0.82), greater_is_better=True)
    'win'
    >>> outcome(Interval(0.9, 0.85, 0.95), Interval(0.88, 0.8, 0.9), greater_is_better=True)
    'tie'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from losstune.search.evaluation import mean_interval

OUTCOMES = ("win", "tie", "loss")


@dataclass(frozen=True)
class Interval:
    """A mean score over seeds and its 95% interval."""

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Interval:
        """The mean and 95% interval of ``values`` (NaN, a failed run, is left out)."""
        finite = [float(v) for v in values if not math.isnan(float(v))]
        if not finite:
            return cls(math.nan, math.nan, math.nan)
        return cls(*mean_interval(finite))

    def overlaps(self, other: Interval) -> bool:
        """Whether the two intervals share at least one point."""
        return self.low <= other.high and other.low <= self.high


def outcome(ref: Interval, other: Interval, greater_is_better: bool) -> str:
    """``"win"``, ``"tie"`` or ``"loss"`` of ``ref`` against ``other`` (see the module doc).

    A contender with no score (every run failed) loses to one with a score; two without
    scores tie.
    """
    if math.isnan(ref.mean) or math.isnan(other.mean):
        if math.isnan(ref.mean) and math.isnan(other.mean):
            return "tie"
        return "loss" if math.isnan(ref.mean) else "win"
    if ref.overlaps(other):
        return "tie"
    ref_better = ref.mean > other.mean if greater_is_better else ref.mean < other.mean
    return "win" if ref_better else "loss"


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, variant, contender): test mean/low/high over seeds, mean
    seconds and trials, seeds run and seeds failed."""
    records = []
    keys = ["dataset", "variant", "contender"]
    for (dataset, variant, contender), group in rows.groupby(keys, sort=False):
        interval = Interval.of(group["test_score"].tolist())
        records.append(
            {
                "dataset": dataset,
                "variant": variant,
                "contender": contender,
                "damaged": bool(group["damaged"].iloc[0]),
                "task": group["task"].iloc[0],
                "metric": group["metric"].iloc[0],
                "greater_is_better": bool(group["greater_is_better"].iloc[0]),
                "mean": interval.mean,
                "low": interval.low,
                "high": interval.high,
                "valid_mean": group["valid_score"].mean(),
                "seconds": group["seconds"].mean(),
                "n_trials": group["n_trials"].mean(),
                "n_seeds": int(group["test_score"].notna().sum()),
                "n_failed": int(group["error"].fillna("").astype(bool).sum()),
            }
        )
    return pd.DataFrame(records)


def compare(summary: pd.DataFrame, reference: str) -> pd.DataFrame:
    """One row per (case, other contender): the outcome of ``reference`` against it and the
    difference of means, signed so that positive means ``reference`` is better."""
    records = []
    for (dataset, variant), case in summary.groupby(["dataset", "variant"], sort=False):
        by_name = {row.contender: row for row in case.itertuples(index=False)}
        ref = by_name.get(reference)
        if ref is None:
            continue
        ref_interval = Interval(ref.mean, ref.low, ref.high)
        for name, row in by_name.items():
            if name == reference:
                continue
            other = Interval(row.mean, row.low, row.high)
            sign = 1.0 if ref.greater_is_better else -1.0
            gain = sign * (ref.mean - row.mean)
            records.append(
                {
                    "dataset": dataset,
                    "variant": variant,
                    "damaged": ref.damaged,
                    "contender": name,
                    "outcome": outcome(ref_interval, other, ref.greater_is_better),
                    "gain": gain,
                    "relative_gain": gain / abs(row.mean) if row.mean else math.nan,
                }
            )
    return pd.DataFrame(
        records,
        columns=["dataset", "variant", "damaged", "contender", "outcome", "gain", "relative_gain"],
    )


def wins_ties_losses(comparison: pd.DataFrame) -> pd.DataFrame:
    """Per contender: W/T/L counts on clean cases, damaged cases and all cases."""
    records = []
    for name, group in comparison.groupby("contender", sort=False):
        record: dict[str, object] = {"contender": name}
        for label, part in (
            ("clean", group[~group["damaged"]]),
            ("damaged", group[group["damaged"]]),
            ("all", group),
        ):
            counts = part["outcome"].value_counts()
            record[label] = "/".join(str(int(counts.get(o, 0))) for o in OUTCOMES)
        records.append(record)
    return pd.DataFrame(records, columns=["contender", "clean", "damaged", "all"])


@dataclass(frozen=True)
class Check:
    """One claim of the goal, checked against the data."""

    claim: str
    met: bool | None
    evidence: str

    @property
    def status(self) -> str:
        return {True: "MET", False: "NOT MET", None: "NOT EVALUATED"}[self.met]


def verdict(comparison: pd.DataFrame, reference: str, baseline: str, default: str) -> list[Check]:
    """The goal's three claims, each decided from ``comparison``:

    1. ``reference`` beats ``baseline`` (TPE over lr/wd/batch size) on most damaged cases;
    2. it ties or beats ``baseline`` on every clean case;
    3. it is never worse than ``default`` beyond noise (no loss on any case).
    """

    def part(name: str, damaged: bool | None) -> pd.DataFrame:
        rows = comparison[comparison["contender"] == name]
        return rows if damaged is None else rows[rows["damaged"] == damaged]

    def counts(rows: pd.DataFrame) -> str:
        c = rows["outcome"].value_counts()
        return f"{c.get('win', 0)} wins, {c.get('tie', 0)} ties, {c.get('loss', 0)} losses"

    checks = []
    damaged = part(baseline, True)
    wins = int((damaged["outcome"] == "win").sum())
    checks.append(
        Check(
            f"{reference} beats {baseline} on most damaged cases",
            None if damaged.empty else wins > len(damaged) / 2,
            f"{counts(damaged)} over {len(damaged)} damaged cases"
            + (f" (needs > {len(damaged) / 2:g} wins)" if len(damaged) else ""),
        )
    )
    clean = part(baseline, False)
    checks.append(
        Check(
            f"{reference} ties or beats {baseline} on clean data",
            None if clean.empty else not (clean["outcome"] == "loss").any(),
            f"{counts(clean)} over {len(clean)} clean cases",
        )
    )
    every = part(default, None)
    checks.append(
        Check(
            f"{reference} is never worse than {default} beyond noise",
            None if every.empty else not (every["outcome"] == "loss").any(),
            f"{counts(every)} over {len(every)} cases",
        )
    )
    return checks


def losses(comparison: pd.DataFrame) -> pd.DataFrame:
    """The cases where the reference loses, with the contender it loses to."""
    return comparison[comparison["outcome"] == "loss"]


@dataclass(frozen=True)
class Paired:
    """Paired differences of one contender against another over units (cases, or case x
    seed pairs), signed so that positive means the first contender is better.

    Attributes:
        n: units with a score for both.
        mean: the mean difference; ``low``/``high`` its 95% bootstrap percentile interval
            (units resampled with replacement).
        wins, ties, losses: units where the difference is > 0, 0 or < 0.
        p_value: the two-sided Wilcoxon signed-rank p (zero differences left out; NaN with
            no non-zero difference).
    """

    n: int
    mean: float
    low: float
    high: float
    wins: int
    ties: int
    losses: int
    p_value: float

    @property
    def win_rate(self) -> float:
        """The share of units won, a tie counting half (NaN without units)."""
        return (self.wins + 0.5 * self.ties) / self.n if self.n else math.nan

    @classmethod
    def of(cls, differences: Sequence[float], *, resamples: int = 10_000, seed: int = 0) -> Paired:
        """The summary of ``differences`` (NaN, a failed run, is left out).

        Example:
            >>> p = Paired.of([0.02, 0.01, 0.03, -0.01, 0.0])
            >>> (p.n, round(p.mean, 3), p.wins, p.ties, p.losses, p.win_rate)
            (5, 0.01, 3, 1, 1, 0.7)
        """
        d = np.array([float(x) for x in differences if not math.isnan(float(x))])
        if len(d) == 0:
            return cls(0, math.nan, math.nan, math.nan, 0, 0, 0, math.nan)
        rng = np.random.default_rng(seed)
        means = d[rng.integers(0, len(d), size=(resamples, len(d)))].mean(axis=1)
        low, high = np.percentile(means, [2.5, 97.5])
        return cls(
            n=len(d),
            mean=float(d.mean()),
            low=float(low),
            high=float(high),
            wins=int((d > 0).sum()),
            ties=int((d == 0).sum()),
            losses=int((d < 0).sum()),
            p_value=wilcoxon_p(d),
        )


def wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p of ``differences`` (zeros left out); NaN when none
    is non-zero."""
    from scipy import stats

    nonzero = differences[differences != 0]
    if len(nonzero) == 0:
        return math.nan
    with warnings.catch_warnings():  # scipy warns that small samples are approximate
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(nonzero, alternative="two-sided").pvalue)


def case_differences(
    summary: pd.DataFrame, first: str, second: str, damaged: bool | None = None
) -> pd.DataFrame:
    """Per case: ``first``'s outcome against ``second`` (the interval rule of
    :func:`outcome`) and the difference of their means as ``gain`` (positive: ``first`` is
    better); only damaged (or clean) cases when ``damaged`` is given."""
    rows = compare(summary, first)
    rows = rows[rows["contender"] == second]
    return rows if damaged is None else rows[rows["damaged"] == damaged]


def seed_differences(
    rows: pd.DataFrame,
    first: str,
    second: str,
    damaged: bool | None = None,
    relative_to: str | None = None,
) -> pd.Series:
    """Per (dataset, variant, seed) run by both: ``first``'s test score minus ``second``'s,
    signed so that positive means ``first`` is better (the same split and damage); divided
    by the absolute test score of ``relative_to`` on the same seed when given (a difference
    in units of, say, the default recipe's score, comparable across metrics)."""
    if damaged is not None:
        rows = rows[rows["damaged"] == damaged]
    keys = ["dataset", "variant", "seed"]
    scores = rows.pivot_table(index=keys, columns="contender", values="test_score", sort=False)
    if first not in scores or second not in scores:
        return pd.Series(dtype=float)
    greater = rows.groupby(keys, sort=False)["greater_is_better"].first()
    sign = np.where(greater.reindex(scores.index).to_numpy(dtype=bool), 1.0, -1.0)
    difference = (scores[first] - scores[second]) * sign
    if relative_to is not None:
        if relative_to not in scores:
            return pd.Series(dtype=float)
        scale = scores[relative_to].abs()
        difference = difference / scale.where(scale > 0)
    return difference.dropna()


def case_means(differences: pd.Series) -> pd.Series:
    """Per (dataset, variant): the mean over the seeds of per-seed ``differences``
    (:func:`seed_differences`), a paired difference per case."""
    if differences.empty:
        return pd.Series(dtype=float)
    return differences.groupby(level=["dataset", "variant"], sort=False).mean()


def case_ranks(
    summary: pd.DataFrame, contenders: Sequence[str], damaged: bool | None = None
) -> pd.DataFrame:
    """Each contender's rank on each case (rows: dataset, variant; 1 = best mean; ties share
    the average rank; a contender without a score on a case ranks last there)."""
    if damaged is not None:
        summary = summary[summary["damaged"] == damaged]
    ranks: dict[tuple[str, str], pd.Series] = {}
    for case, group in summary.groupby(["dataset", "variant"], sort=False):
        means = group.set_index("contender")["mean"].reindex(list(contenders))
        greater = bool(group["greater_is_better"].iloc[0])
        ranks[case] = means.rank(ascending=not greater, method="average", na_option="bottom")
    if not ranks:
        return pd.DataFrame(columns=list(contenders))
    index = pd.MultiIndex.from_tuples(list(ranks), names=["dataset", "variant"])
    return pd.DataFrame(list(ranks.values()), index=index, columns=list(contenders))


def average_ranks(
    summary: pd.DataFrame, contenders: Sequence[str], damaged: bool | None = None
) -> pd.Series:
    """Each contender's mean rank over the cases (:func:`case_ranks`); NaN without cases."""
    ranks = case_ranks(summary, contenders, damaged)
    if ranks.empty:
        return pd.Series(math.nan, index=list(contenders))
    return ranks.mean(axis=0)


def plot(comparison: pd.DataFrame, reference: str, path: Path) -> Path:
    """A dot chart of the reference's relative gain (%) over each contender per case."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cases = list(dict.fromkeys(zip(comparison["dataset"], comparison["variant"], strict=True)))
    labels = [f"{d} / {v}" for d, v in cases]
    position = {case: i for i, case in enumerate(cases)}
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.35 * max(len(cases), 1)))
    markers = "osD^vP*X"
    for k, (name, group) in enumerate(comparison.groupby("contender", sort=False)):
        y = [position[(d, v)] for d, v in zip(group["dataset"], group["variant"], strict=True)]
        ax.scatter(100 * group["relative_gain"], y, label=name, marker=markers[k % len(markers)])
    ax.axvline(0.0, color="grey", linewidth=1)
    ax.set_yticks(range(len(cases)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"{reference} minus contender, % of the contender's score (> 0: better)")
    ax.legend(fontsize="small", loc="best")
    ax.set_title(f"Test-score gain of {reference}\nper dataset / variant (mean over seeds)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def fmt(value: float) -> str:
    """A score for a table: 4 decimals (4 significant digits from 10 up), ``n/a`` for NaN."""
    if math.isnan(value):
        return "n/a"
    return f"{value:.4g}" if abs(value) >= 10 else f"{value:.4f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table, one line per row."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def markdown(
    summary: pd.DataFrame,
    comparison: pd.DataFrame,
    checks: Sequence[Check],
    *,
    header: Sequence[str],
    contenders: Sequence[tuple[str, str, str]],
    variants: Sequence[tuple[str, str]],
    plot_name: str | None,
    csv_name: str,
    failures: pd.DataFrame,
    reference: str,
) -> str:
    """The report page (see the module docstring for the rules it applies)."""
    lines = ["# Quality benchmark", "", *header, ""]
    lines += ["## Verdict", ""]
    lines += [f"- **{c.status}**: {c.claim} ({c.evidence})." for c in checks]
    lost = losses(comparison)
    if lost.empty:
        lines.append(f"- {reference} loses to no contender on any case.")
    else:
        lines.append(f"- Where {reference} loses (interval entirely worse):")
        for name, group in lost.groupby("contender", sort=False):
            cases = ", ".join(
                f"{d} / {v}" for d, v in zip(group["dataset"], group["variant"], strict=True)
            )
            lines.append(f"  - against {name}: {cases}")
    lines += ["", "## Wins / ties / losses of " + reference, ""]
    lines.append(
        f"Counted per case (dataset x variant) as `wins/ties/losses` of {reference} against "
        "each contender; a tie is two overlapping 95% intervals over the seeds."
    )
    lines.append("")
    counts = wins_ties_losses(comparison)
    lines += table(
        ["contender", "clean", "damaged", "all"],
        [list(row) for row in counts.itertuples(index=False)],
    )
    if plot_name:
        lines += ["", f"![{reference} minus each contender]({plot_name})"]
    lines += ["", "## Contenders and budgets", ""]
    lines += table(["contender", "what", "budget"], contenders)
    lines += closing_sections(variants, summary, failures)
    lines += ["", f"Raw results, one row per dataset x variant x seed x contender: `{csv_name}`."]
    return "\n".join(lines) + "\n"


def closing_sections(
    variants: Sequence[Sequence[object]], summary: pd.DataFrame, failures: pd.DataFrame
) -> list[str]:
    """Markdown every quality report ends with: the variants, the per-case tables, the
    compute table and the failures (when any)."""
    lines = ["", "## Variants", ""]
    lines += table(["variant", "what"], variants)
    lines += ["", "## Results per dataset and variant", ""]
    lines += case_tables(summary)
    lines += ["", "## Compute", ""]
    lines += compute_table(summary)
    if not failures.empty:
        lines += ["", "## Failures", ""]
        lines += failure_table(failures)
    return lines


def case_tables(summary: pd.DataFrame) -> list[str]:
    """Markdown: one table per case (dataset x variant) of every contender's test mean and
    95% interval, validation mean, seconds, trials and seeds, the best mean in bold."""
    lines = [
        "Test metric: mean [95% interval] over the split seeds; seconds and trials are means "
        "per seed. Bold: best mean."
    ]
    for (dataset, variant), case in summary.groupby(["dataset", "variant"], sort=False):
        first = case.iloc[0]
        greater = bool(first["greater_is_better"])
        best = case["mean"].max() if greater else case["mean"].min()
        lines += [
            "",
            f"### {dataset} / {variant} ({first['task']}, {first['metric']}, "
            f"{'higher' if greater else 'lower'} is better)",
            "",
        ]
        rows = []
        for row in case.itertuples(index=False):
            score = f"{fmt(row.mean)} [{fmt(row.low)}, {fmt(row.high)}]"
            if row.mean == best:
                score = f"**{score}**"
            failed = f" ({row.n_failed} failed)" if row.n_failed else ""
            rows.append(
                [
                    row.contender,
                    score,
                    fmt(row.valid_mean),
                    f"{row.seconds:.1f}",
                    f"{row.n_trials:.0f}",
                    f"{row.n_seeds}{failed}",
                ]
            )
        lines += table(["contender", "test", "valid (mean)", "seconds", "trials", "seeds"], rows)
    return lines


def compute_table(summary: pd.DataFrame) -> list[str]:
    """Markdown: per contender, mean seconds and trials per run and total seconds."""
    compute = summary.groupby("contender", sort=False).agg(
        seconds=("seconds", "mean"), trials=("n_trials", "mean")
    )
    total = (
        summary.assign(total=summary["seconds"] * summary["n_seeds"])
        .groupby("contender", sort=False)["total"]
        .sum()
    )
    return table(
        ["contender", "mean seconds per run", "mean trials per run", "total seconds"],
        [
            [name, f"{r.seconds:.1f}", f"{r.trials:.1f}", f"{total[name]:.0f}"]
            for name, r in compute.iterrows()
        ],
    )


def failure_table(failures: pd.DataFrame) -> list[str]:
    """Markdown: the failed runs (CSV rows with an error) and their errors, cut short."""
    return table(
        ["dataset", "variant", "seed", "contender", "error"],
        [
            [r.dataset, r.variant, r.seed, r.contender, str(r.error)[:160]]
            for r in failures.itertuples(index=False)
        ],
    )
