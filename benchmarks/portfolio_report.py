"""The portfolio benchmark's Markdown report: provenance, cases, pool, the order and regret
curve of every regime, leave-one-dataset-out regrets, and what never entered.

Written by ``python -m benchmarks.portfolio build`` next to the runs CSV
(``docs/benchmarks/portfolio.md``); every number comes from the frames passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from benchmarks.portfolio_build import Portfolio, Regrets, curve_on
from benchmarks.portfolio_cases import KIND_REGIMES
from benchmarks.portfolio_pool import Candidate
from benchmarks.provenance import commit, machine
from losstune.spaces.portfolio import REGIMES


def write_report(
    path: Path,
    *,
    runs: pd.DataFrame,
    regrets: Regrets,
    portfolio: Portfolio,
    lodo: pd.DataFrame,
    candidates: Mapping[str, Candidate],
    built_by: str,
    out: str,
    size: int,
    recorded_by: str = "",
    alternative: tuple[str, Portfolio] | None = None,
) -> Path:
    """Write the report to ``path`` and return it; ``alternative`` is the portfolio of the
    same runs under another normalisation (its reference's name first), for comparison."""
    lines = [
        "# Warm-start portfolio",
        "",
        "`losstune.search` enqueues the default recipe, then the first members of the "
        "portfolio of the data's regime (`losstune/spaces/portfolio.yaml`). Each regime's "
        "members are chosen offline, greedily, to minimise the average normalised regret over "
        "recorded cases of that regime (zero-shot portfolios as in AutoGluon, TabRepo and "
        "FLAML). This page says where the shipped portfolio comes from and how much to trust "
        "it.",
        "",
        *_provenance(runs, built_by, out, recorded_by),
        "",
        "## Method",
        "",
        "A *case* is a dataset in a variant; a *seed* s fixes its split, its damage and the "
        "training seed. Per case and seed, each candidate's **test** score is normalised over "
        "the pool: 1 for the best, 0 for the worst (metric direction respected; a failed run "
        "counts as the worst), and its regret is 1 minus that. A case's regret is the mean "
        "over its seeds. Greedy selection adds, per regime, the candidate that most lowers "
        "the average over the regime's cases of the best regret among the members so far; "
        f"{size} members per regime. *Regret after k* is that average with the first k "
        "members; 0 would mean the portfolio holds the pool's best candidate for every case.",
        "",
        "Regimes of clean data are those the run-time diagnosis (`losstune.data.diagnose`) "
        "gives the training split: imbalanced when the largest/smallest class count is >= 5; "
        "regression_outliers when >= 1% of the targets are over 3.5 robust (MAD) sd from the "
        "median or the excess kurtosis is >= 3. Damaged variants name theirs (noise20 / "
        "pairnoise20: noisy; longtail50: imbalanced; outliers5: regression_outliers).",
        "",
        "## Cases",
        "",
        *_cases(runs, regrets),
        "",
        "## Pool",
        "",
        *_pool(runs, regrets, portfolio, candidates),
        "",
        "## Orders and regret curves",
        "",
        *_orders(regrets, portfolio, candidates),
        "",
        "## Leave-one-dataset-out",
        "",
        *_lodo(lodo, size),
        "",
        "## What never entered, and the families",
        "",
        *_observations(portfolio, candidates),
        "",
        *_sensitivity(portfolio, alternative),
        "## Timings",
        "",
        *_timings(runs),
        "",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    return path


def _provenance(runs: pd.DataFrame, built_by: str, out: str, recorded_by: str) -> list[str]:
    lines = [f"Build: `{built_by}` -> `{out}`."]
    if recorded_by:
        lines += ["", f"Record: {recorded_by}"]
    lines += [
        "",
        f"Machine: {machine()}; a 2-core CPU shared with other jobs (not idle), so seconds "
        f"are indicative only. Commit {commit()}. Written {datetime.now(UTC):%Y-%m-%d %H:%M} "
        f"UTC from {len(runs)} runs ({runs['seconds'].sum() / 60:.0f} minutes of training).",
    ]
    return lines


def _cases(runs: pd.DataFrame, regrets: Regrets) -> list[str]:
    failed = runs.assign(failed=runs["error"] != "").groupby(["dataset", "variant"])["failed"]
    n_train = runs.groupby(["dataset", "variant"])["n_train"].median()
    rows = [
        "| dataset | variant | regime | metric | seeds | training rows | failed runs |",
        "|---|---|---|---|---|---|---|",
    ]
    for (dataset, variant), case in regrets.cases.iterrows():
        seeds = ",".join(map(str, case["seeds"]))
        rows.append(
            f"| {dataset} | {variant} | {case['regime']} | {case['metric']} | {seeds} | "
            f"{int(n_train[(dataset, variant)])} | {int(failed.sum()[(dataset, variant)])} |"
        )
    counts = regrets.cases.groupby("regime").size()
    datasets = regrets.cases.reset_index().groupby("regime")["dataset"].nunique()
    per = ", ".join(
        f"{r} {int(counts.get(r, 0))} cases / {int(datasets.get(r, 0))} datasets" for r in REGIMES
    )
    rows += ["", f"Per regime: {per}."]
    thin = [r for r in REGIMES if int(datasets.get(r, 0)) < 4]
    if thin:
        rows += [
            "",
            f"**Thin data**: {', '.join(f'{r} ({int(datasets.get(r, 0))} datasets)' for r in thin)}"
            " rest on fewer than 4 datasets; their orders are weak evidence, and leaving one "
            "dataset out takes away a large share of what they were built on.",
        ]
    if regrets.dropped:
        left = ", ".join(f"{d}/{v} seed {s}" for d, v, s in regrets.dropped)
        rows += ["", f"Left out as incomplete (not every candidate recorded): {left}."]
    return rows


def _pool(
    runs: pd.DataFrame, regrets: Regrets, portfolio: Portfolio, candidates: Mapping[str, Candidate]
) -> list[str]:
    entered: dict[str, list[str]] = {}
    for regime in REGIMES:
        for rank, name in enumerate(portfolio.orders.get(regime, ()), 1):
            entered.setdefault(name, []).append(f"{regime} #{rank}")
    stats = runs.groupby("candidate").agg(
        seconds=("seconds", "mean"), failed=("error", lambda e: int((e != "").sum()))
    )
    rows = [
        "Per task kind: the default recipe's config, LightGBM's defaults, hand-picked robust "
        "configs (MLP and LightGBM for every loss that applies), and random configs of the "
        "default space (Optuna `RandomSampler(seed)`); MLPs train 30 epochs. *Mean regret* "
        "is over every case of the kind.",
        "",
        "| candidate | source | note | mean regret | failed | mean s | in the portfolio |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind in KIND_REGIMES:
        matrix = regrets.of(kind)
        for c in (c for c in candidates.values() if c.kind == kind):
            mean = f"{matrix[c.name].mean():.3f}" if c.name in matrix else "-"
            s = stats.loc[c.name] if c.name in stats.index else None
            secs = f"{s['seconds']:.1f}" if s is not None else "-"
            fails = int(s["failed"]) if s is not None else 0
            where = ", ".join(entered.get(c.name, [])) or "-"
            rows.append(
                f"| {c.name} | {c.source} | {c.note} | {mean} | {fails} | {secs} | {where} |"
            )
    return rows


def _orders(
    regrets: Regrets, portfolio: Portfolio, candidates: Mapping[str, Candidate]
) -> list[str]:
    rows = []
    for kind, regimes in KIND_REGIMES.items():
        default = "cls-mlp-default" if kind == "classification" else "reg-mlp-default"
        for regime in regimes:
            order = portfolio.orders.get(regime, ())
            curve = portfolio.regret.get(regime, ())
            fallback = portfolio.fallback.get(regime)
            matrix = regrets.of(kind, regime) if not fallback else regrets.of(kind)
            rows += [f"### {regime}", ""]
            if fallback:
                rows += [
                    f"No case of this regime: the order of every {fallback} case pooled.",
                    "",
                ]
            if not order:
                rows += ["No cases: no order.", ""]
                continue
            base = matrix[default].mean()
            after = curve_on(matrix, [default, *order])[1:]
            rows += [
                f"{portfolio.cases.get(regime, 0)} cases. The default recipe alone has regret "
                f"{base:.3f}; after {len(order)} members {curve[-1]:.3f}. The search runs the "
                "default recipe first, then the members: *default + k* is that regret.",
                "",
                "| k | member | what | regret after k | default + k |",
                "|---|---|---|---|---|",
            ]
            rows += [
                f"| {k} | {name} | {candidates[name].note} | {value:.3f} | {both:.3f} |"
                for k, (name, value, both) in enumerate(zip(order, curve, after, strict=True), 1)
            ]
            rows.append("")
    return rows


def _lodo(lodo: pd.DataFrame, size: int) -> list[str]:
    if lodo.empty:
        return ["No dataset to leave out."]
    ks = sorted({1, min(4, size), size})
    head = " | ".join(f"full+{k} | LODO+{k}" for k in ks)
    rows = [
        "For each dataset and regime of its cases: the regret on that dataset's cases of the "
        "default recipe alone, then of the default recipe followed by the first k members of "
        "the shipped order (*full*, built with the dataset: in-sample) and of the order built "
        "without it (*LODO*, `build --leave-out DATASET`: out-of-sample), which is what a "
        "search on a new dataset of that regime would start from. The gap LODO minus full is "
        "what the in-sample numbers flatter; *fallback* marks a regime left with no case once "
        "the dataset is out (its kind's pooled order is used).",
        "",
        f"| dataset | regime | cases | default | {head} | fallback |",
        "|---|---|---|---|" + "---|---|" * len(ks) + "---|",
    ]
    for _, r in lodo.iterrows():
        cells = " | ".join(f"{r[f'full+{k}']:.3f} | {r[f'lodo+{k}']:.3f}" for k in ks)
        rows.append(
            f"| {r['dataset']} | {r['regime']} | {r['cases']} | {r['default']:.3f} | {cells} | "
            f"{r['lodo_fallback'] or '-'} |"
        )
    mean = lodo.mean(numeric_only=True)
    worse = lodo[lodo[f"lodo+{size}"] > lodo[f"full+{size}"] + 1e-9]
    which = ", ".join(f"{d} {g}" for d, g in zip(worse["dataset"], worse["regime"], strict=True))
    steps = "; ".join(
        f"{k}: full {mean[f'full+{k}']:.3f}, LODO {mean[f'lodo+{k}']:.3f}" for k in ks
    )
    rows += [
        "",
        f"Mean over the {len(lodo)} rows: default alone {mean['default']:.3f}; default + "
        f"{steps}. Without the default in front, the first member alone: full "
        f"{mean['full@1']:.3f}, LODO {mean['lodo@1']:.3f}; {size} members: full "
        f"{mean[f'full@{size}']:.3f}, LODO {mean[f'lodo@{size}']:.3f}. LODO is worse than full "
        f"after default + {size} on {len(worse)} of {len(lodo)} rows"
        + (f" ({which})." if which else "."),
    ]
    return rows


def _observations(portfolio: Portfolio, candidates: Mapping[str, Candidate]) -> list[str]:
    rows = [
        "A member *lowers* the curve when adding it reduces the regime's regret; once the "
        "curve is flat (every case has a member within seed noise of its best) the rest of "
        "the order is filled by mean regret and carries little evidence.",
        "",
    ]
    for kind, regimes in KIND_REGIMES.items():
        pool = [c for c in candidates.values() if c.kind == kind]
        losses = sorted({str(c.config["loss"]) for c in pool})
        anywhere = {
            str(candidates[m].config["loss"]) for r in regimes for m in portfolio.orders.get(r, ())
        }
        lowering = {
            str(candidates[m].config["loss"]) for r in regimes for m in portfolio.lowering(r)
        }
        rows.append(
            f"- {kind}: losses in no order: {_names(x for x in losses if x not in anywhere)}; "
            f"losses that lower no curve: {_names(x for x in losses if x not in lowering)}."
        )
        for regime in regimes:
            order = portfolio.orders.get(regime, ())
            low = portfolio.lowering(regime)
            families = [candidates[m].family for m in order]
            lows = [candidates[m].family for m in low]
            rows.append(
                f"- {regime}: {families.count('mlp')} MLP and {families.count('lightgbm')} "
                f"LightGBM members; {len(low)} lower the curve ({lows.count('mlp')} MLP, "
                f"{lows.count('lightgbm')} LightGBM): {', '.join(low) or 'none'}."
            )
    return rows


def _sensitivity(
    portfolio: Portfolio, alternative: tuple[str, Portfolio] | None, shown: int = 4
) -> list[str]:
    if alternative is None:
        return []
    reference, other = alternative
    rows = [
        "## Sensitivity to the normalisation",
        "",
        "A few collapsed candidates (majority-class MLPs, diverged LightGBMs) set the worst "
        "score of many cases and squeeze the good candidates' regrets towards 0. The same "
        f"runs normalised with the pool's **{reference}** as 0 instead (everything at or "
        f"below it has regret 1) give these first {shown} members:",
        "",
        f"| regime | shipped (worst = 0) | {reference} = 0 | shared in the first {shown} |",
        "|---|---|---|---|",
    ]
    for regime in REGIMES:
        mine = portfolio.orders.get(regime, ())[:shown]
        theirs = other.orders.get(regime, ())[:shown]
        rows.append(
            f"| {regime} | {', '.join(mine)} | {', '.join(theirs)} | "
            f"{len(set(mine) & set(theirs))} |"
        )
    return [*rows, ""]


def _names(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "none"


def _first(order: Sequence[str], candidates: Mapping[str, Candidate]) -> str:
    return f"{order[0]} ({candidates[order[0]].note})" if order else "none"


def _timings(runs: pd.DataFrame) -> list[str]:
    table = (
        runs.groupby(["dataset", "family"])["seconds"].agg(["count", "mean", "sum"]).reset_index()
    )
    rows = [
        "Seconds per run (a shared 2-core machine, 2 processes at once, 1 torch thread each):",
        "",
        "| dataset | family | runs | mean s | total min |",
        "|---|---|---|---|---|",
    ]
    for _, r in table.iterrows():
        rows.append(
            f"| {r['dataset']} | {r['family']} | {int(r['count'])} | {r['mean']:.1f} | "
            f"{r['sum'] / 60:.1f} |"
        )
    return rows
