"""The warm-start benchmark's report: anytime curves, paired comparisons across cases,
ranks with a critical-difference diagram, per-case tables, and the goals checked.

Scores are compared across datasets and metrics by normalising each run by the default
recipe's test score on the same case and seed (``sign * (score - default) / |default|``,
positive when better whatever the metric's direction; :func:`benchmarks.quality_anytime.relative`).
A *paired difference* of two contenders on a case is the mean over the seeds both ran of
their normalised per-seed difference; across cases, its mean has a 95% percentile bootstrap
interval, a win rate and a two-sided Wilcoxon signed-rank p
(:class:`benchmarks.quality_report.Paired`).

Goals (issue 16):

- (a) over the damaged cases losstune beats tpe_lr_wd_bs in aggregate: the mean paired
  difference is above 0, with its 95% interval above 0, and Wilcoxon p < 0.05;
- (b) losstune reaches TPE's score after the whole budget (40 trials) within 10 trials on the
  median case (anytime curves, :func:`benchmarks.quality_anytime.reach`);
- (c) losstune is never worse than the default recipe beyond noise on any case (the quality
  benchmark's rule: its 95% interval over the seeds entirely below the default's);
- (d) with LightGBM in its space, losstune ties or beats LightGBMTuner and FLAML in
  aggregate: the 95% interval of the mean paired difference over all cases reaches 0 or
  lies above it ("not measured" when their packages do not import).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from benchmarks import quality
from benchmarks import quality_anytime as anytime
from benchmarks import quality_ranks as ranks
from benchmarks import quality_report as report
from benchmarks.contenders import CONTENDERS
from benchmarks.quality_cases import VARIANTS
from benchmarks.quality_portfolios import provenance

if TYPE_CHECKING:
    from benchmarks.warm_start import Case

SCRIPT = "benchmarks/warm_start.py"
REFERENCE, COLD, TPE, DEFAULT = "losstune", "losstune_cold", "tpe_lr_wd_bs", "default"
TUNER, FLAML = "lightgbm_tuned", "flaml"
CURVES = (REFERENCE, COLD, TPE)
REACH_GOAL = 10
ALPHA = 0.05
MIN_SEEDS, SMALL_ROWS = 5, 5_000
"""At least this many seeds of every case under this many rows."""
PAIRS = (
    (REFERENCE, TPE, True),
    (REFERENCE, TPE, False),
    (REFERENCE, TPE, None),
    (REFERENCE, COLD, True),
    (REFERENCE, COLD, None),
    (COLD, TPE, True),
    (REFERENCE, DEFAULT, None),
    (REFERENCE, TUNER, None),
    (REFERENCE, FLAML, None),
)
"""The aggregate comparisons: (first, second, damaged cases only / clean only / all)."""
SUBSETS = {True: "damaged", False: "clean", None: "all"}
STEPS = (1, 2, 5, 10, 20, 40)
"""The trial counts the anytime table shows (those within the budget)."""


def cli_budget() -> tuple[int, int, int, int]:
    """``losstune search``'s default budget, read from the library: trials (with no budget
    given, :func:`losstune.search.budget.make_budget`), epochs, final top k and final seeds
    (:class:`losstune.search.config.SearchConfig`'s defaults, which the CLI's match)."""
    import dataclasses

    from losstune.search.budget import make_budget
    from losstune.search.config import SearchConfig

    defaults: dict[str, Any] = {f.name: f.default for f in dataclasses.fields(SearchConfig)}
    trials = make_budget().n_trials or 0
    return trials, int(defaults["epochs"]), int(defaults["top_k"]), int(defaults["n_seeds"])


def paired(rows: pd.DataFrame, first: str, second: str, damaged: bool | None) -> report.Paired:
    """The paired difference of ``first`` minus ``second`` per case (normalised by the
    default recipe, mean over the seeds), summarised across cases."""
    seeds = report.seed_differences(rows, first, second, damaged, relative_to=DEFAULT)
    return report.Paired.of(report.case_means(seeds).tolist())


def paired_seeds(rows: pd.DataFrame, first: str, second: str, damaged: bool | None):
    """The same over every case x seed pair (no mean over seeds)."""
    seeds = report.seed_differences(rows, first, second, damaged, relative_to=DEFAULT)
    return report.Paired.of(seeds.tolist())


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:+.2f}%"


def _p(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3g}"


def _interval(p: report.Paired) -> str:
    return f"{_pct(p.mean)} [{_pct(p.low)}, {_pct(p.high)}]"


def goal_a(rows: pd.DataFrame) -> report.Check:
    """Goal (a): losstune beats tpe_lr_wd_bs over the damaged cases in aggregate."""
    p = paired(rows, REFERENCE, TPE, damaged=True)
    met = None if p.n == 0 else p.mean > 0 and p.low > 0 and p.p_value < ALPHA
    return report.Check(
        f"(a) over the damaged cases {REFERENCE} beats {TPE} in aggregate: mean paired "
        f"difference > 0 with its 95% interval above 0, and Wilcoxon p < {ALPHA}",
        met,
        f"mean {_interval(p)} of the default's score over {p.n} damaged cases, win rate "
        f"{_win(p)}, Wilcoxon p = {_p(p.p_value)}",
    )


def _win(p: report.Paired, counts: str = " W/T/L") -> str:
    if p.n == 0:
        return "n/a"
    return f"{100 * p.win_rate:.0f}% ({p.wins}/{p.ties}/{p.losses}{counts})"


def goal_b(reach: anytime.Reach, n_trials: int) -> report.Check:
    """Goal (b): losstune reaches TPE's full-budget score within 10 trials on the median
    case."""
    cases = len(reach.per_case)
    never = sum(v is None for v in reach.per_case.values())
    median = reach.median
    return report.Check(
        f"(b) {REFERENCE} reaches {TPE}'s score after {n_trials} trials within {REACH_GOAL} "
        "trials on the median case (anytime curves)",
        None if cases == 0 else median is not None and median <= REACH_GOAL,
        f"median case: {_trials(median, n_trials)} over {cases} cases ({never} never within "
        f"{n_trials}); on the mean curve over the cases: {_trials(reach.on_mean, n_trials)}",
    )


def _trials(value: int | None, n_trials: int) -> str:
    if value is None:
        return f"not within {n_trials} trials"
    return f"{value} trial" + ("" if value == 1 else "s")


def goal_c(summary: pd.DataFrame, rows: pd.DataFrame) -> report.Check:
    """Goal (c): no case where losstune's interval lies entirely below the default's."""
    rows_ = report.case_differences(summary, REFERENCE, DEFAULT)
    lost = rows_[rows_["outcome"] == "loss"]
    listed = ", ".join(f"{r.dataset} / {r.variant}" for r in lost.itertuples()) or "none"
    counts = rows_["outcome"].value_counts()
    below = paired_below(rows, REFERENCE, DEFAULT)
    return report.Check(
        f"(c) {REFERENCE} is never worse than {DEFAULT} beyond noise on any case (worse "
        "beyond noise: its 95% interval over the seeds entirely below the default's)",
        None if rows_.empty else lost.empty,
        f"{counts.get('win', 0)} wins, {counts.get('tie', 0)} ties, {counts.get('loss', 0)} "
        f"losses over {len(rows_)} cases; losses: {listed}; by the stricter paired rule (the "
        f"t-interval of the per-seed differences below 0): {', '.join(below) or 'none'}",
    )


def paired_below(rows: pd.DataFrame, first: str, second: str) -> list[str]:
    """The cases where the 95% t-interval of ``first`` minus ``second`` over the seeds lies
    entirely below 0 (a loss beyond noise, paired by seed)."""
    seeds = report.seed_differences(rows, first, second)
    out = []
    for (dataset, variant), values in seeds.groupby(level=["dataset", "variant"], sort=False):
        interval = report.Interval.of(values.tolist())
        if len(values) > 1 and interval.high < 0:
            out.append(f"{dataset} / {variant}")
    return out


def goal_d(rows: pd.DataFrame, contenders: Sequence[str], other: str) -> report.Check:
    """Goal (d), against ``other``: the 95% interval of losstune's mean paired difference
    over all cases reaches 0 or lies above it; not measured when ``other`` did not run."""
    claim = (
        f"(d) with LightGBM in its space, {REFERENCE} ties or beats {other} in aggregate "
        "(the 95% interval of the mean paired difference over all cases is not below 0)"
    )
    p = paired(rows, REFERENCE, other, damaged=None)
    if other not in contenders or p.n == 0:
        return report.Check(claim, None, f"not measured ({other} did not run)")
    return report.Check(
        claim,
        p.high >= 0,
        f"mean {_interval(p)} over {p.n} cases, win rate {_win(p)}, Wilcoxon p = {_p(p.p_value)}",
    )


def coverage(config: quality.Config, cases: Sequence[Case], rows: pd.DataFrame) -> report.Check:
    """The benchmark ran as the issue asks: the CLI's default budget and at least
    :data:`MIN_SEEDS` seeds of every case under :data:`SMALL_ROWS` rows."""
    b = config.budget
    budget = (b.n_trials, b.epochs, b.top_k, b.final_seeds)
    cli = cli_budget()
    ran = rows[rows["contender"] == REFERENCE].dropna(subset=["test_score"])
    seeds = ran.groupby(["dataset", "variant"])["seed"].nunique()
    small = [c for c in cases if c.rows < SMALL_ROWS]
    short = [
        f"{c.dataset} / {c.variant} ({int(seeds.get((c.dataset, c.variant), 0))})"
        for c in small
        if seeds.get((c.dataset, c.variant), 0) < MIN_SEEDS
    ]
    return report.Check(
        f"the CLI's default budget ({cli[0]} trials, {cli[1]} epochs, final top {cli[2]} x "
        f"{cli[3]} seeds) and at least {MIN_SEEDS} seeds of every case under "
        f"{SMALL_ROWS:,} rows",
        budget == cli and not short,
        f"budget {budget[0]} trials, {budget[1]} epochs, top {budget[2]} x {budget[3]}; "
        f"{len(small) - len(short)} of {len(small)} small cases have {MIN_SEEDS}+ seeds"
        + (f"; short: {', '.join(short[:8])}{' ...' if len(short) > 8 else ''}" if short else ""),
    )


def read_trace(config: quality.Config) -> pd.DataFrame:
    """The anytime CSV's rows of ``config``'s cases and budget (the last of duplicates)."""
    if not config.anytime_csv.is_file():
        return pd.DataFrame(columns=list(quality.ANYTIME_COLUMNS))
    rows = pd.read_csv(config.anytime_csv, keep_default_na=False, na_values=["nan", "NaN", ""])
    b = config.budget
    mine = (
        rows["dataset"].isin(config.datasets)
        & rows["variant"].isin(config.variants)
        & (rows["seed"] < config.seeds)
        & (rows["trials"] == b.n_trials)
        & (rows["epochs"] == b.epochs)
        & (rows["top_k"] == b.top_k)
        & (rows["final_seeds"] == b.final_seeds)
    )
    keys = [*quality.KEY, "k"]
    return rows[mine].drop_duplicates(keys, keep="last")


def anytime_section(
    config: quality.Config, rows: pd.DataFrame, trace: pd.DataFrame
) -> tuple[list[str], anytime.Reach]:
    """Markdown of the anytime curves (and their plot) and the reach of losstune to TPE's
    full-budget score."""
    n = config.budget.n_trials
    names = [c for c in CURVES if c in config.contenders]
    curves = anytime.normalised_curves(trace, rows, n) if not trace.empty else pd.DataFrame()
    empty = anytime.Reach({}, None, None)
    if curves.empty or len(names) < 2:
        return ["No anytime curves yet (run the searches)."], empty
    damaged_cases = {(r.dataset, r.variant) for r in rows.itertuples() if r.damaged}
    all_cases = anytime.case_curves(curves, names)
    damaged = all_cases[all_cases.index.droplevel("contender").isin(list(damaged_cases))]
    panels = {"all cases": all_cases, "damaged cases": damaged}
    reaches = {title: anytime.reach(c, REFERENCE, TPE, n) for title, c in panels.items()}
    marks = {title: r.median for title, r in reaches.items()}
    png = config.out.with_name(config.out.stem + "-anytime.png")
    drawn = {title: frame for title, frame in panels.items() if not frame.empty}
    path = anytime.plot(drawn, png, target=TPE, marks=marks)
    lines = [
        f"The incumbent (best validation score so far) after k trials, re-trained on the "
        "search's seed for its test score, relative to the default recipe on the same case "
        f"and seed; mean over the seeds where {', '.join(names)} all ran, then over the "
        "cases. The dotted line is TPE's score after the whole budget; the dashed one, the "
        "trials losstune needs to reach it on the median case.",
        "",
        f"![anytime curves]({path.name})",
        "",
    ]
    steps = [k for k in STEPS if k <= n] + ([n] if n not in STEPS else [])
    records = []
    for title, frame in panels.items():
        means = anytime.mean_curves(frame) if not frame.empty else pd.DataFrame()
        for name in names:
            if name in means.index:
                values = [_pct(float(means.loc[name, k])) for k in steps]
                records.append([title, name, *values])
    lines += report.table(["cases", "contender", *(f"k = {k}" for k in steps)], records)
    lines += ["", f"Trials {REFERENCE} needs to reach {TPE}'s score after {n} trials:", ""]
    reach_rows = []
    for title, r in reaches.items():
        reach_rows.append([title, len(r.per_case), _trials(r.median, n), _trials(r.on_mean, n)])
    lines += report.table(["cases", "n", "median case", "on the mean curve"], reach_rows)
    per_case = reaches["all cases"].per_case
    lines += [
        "",
        "Per case: "
        + "; ".join(f"{d} / {v}: {'never' if t is None else t}" for (d, v), t in per_case.items())
        + ".",
    ]
    lines += ["", reproduced(trace)]
    return lines, reaches["all cases"]


def reproduced(trace: pd.DataFrame) -> str:
    """A sentence on whether re-training an incumbent reproduced its trial's validation
    score (it should: same recipe, seed and data)."""
    both = trace.dropna(subset=["incumbent_valid", "rerun_valid"])
    both = both.drop_duplicates([*quality.KEY[:4], "incumbent"])
    if both.empty:
        return "No incumbent was re-trained yet."
    off = (both["incumbent_valid"] - both["rerun_valid"]).abs() > 1e-6
    return (
        f"Re-training reproduced the trial's validation score for {int((~off).sum())} of "
        f"{len(both)} incumbents (to 1e-6); the test scores above are of the re-trained "
        "models."
    )


def aggregate_table(rows: pd.DataFrame, contenders: Sequence[str]) -> list[str]:
    """Markdown: the paired comparisons of :data:`PAIRS` whose contenders ran."""
    records = []
    for first, second, damaged in PAIRS:
        if first not in contenders or second not in contenders:
            continue
        p = paired(rows, first, second, damaged)
        if p.n == 0:
            continue
        s = paired_seeds(rows, first, second, damaged)
        records.append(
            [
                f"{first} vs {second}",
                SUBSETS[damaged],
                p.n,
                _interval(p),
                _win(p, ""),
                _p(p.p_value),
                f"{_pct(s.mean)} ({s.n}), p = {_p(s.p_value)}",
            ]
        )
    return report.table(
        [
            "comparison",
            "cases",
            "n",
            "mean paired difference [95% bootstrap]",
            "win rate (W/T/L)",
            "Wilcoxon p",
            "per case x seed: mean (n), Wilcoxon p",
        ],
        records,
    )


def rank_section(config: quality.Config, summary: pd.DataFrame) -> list[str]:
    """Markdown: average ranks, Friedman p and the Nemenyi critical difference on the
    damaged and all cases, with a CD diagram of all cases."""
    names = [c for c in config.contenders if c in set(summary["contender"])]
    if len(names) < 2:
        return ["Too few contenders to rank."]
    columns, notes, figures = {}, [], []
    for damaged in (True, None):
        matrix = report.case_ranks(summary, names, damaged)
        if matrix.empty:
            continue
        label = SUBSETS[damaged]
        columns[label] = matrix.mean(axis=0)
        cd = ranks.critical_difference(len(names), len(matrix), ALPHA)
        groups = ranks.cliques(columns[label], cd)
        notes.append(
            f"{label} cases (n = {len(matrix)}): Friedman p = {_p(ranks.friedman_p(matrix))}, "
            f"Nemenyi CD = {cd:.2f}; not told apart: "
            + ("; ".join(", ".join(g) for g in groups) or "none (every pair differs)")
        )
        if damaged is None:
            path = config.out.with_name(config.out.stem + "-cd.png")
            title = f"Average rank over {len(matrix)} cases (Nemenyi CD at alpha {ALPHA})"
            ranks.plot_cd(columns[label], cd, path, title)
            figures.append(f"![critical difference]({path.name})")
    lines = [
        "1 = best mean on a case; ties share ranks. Two contenders differ (Nemenyi, alpha "
        f"{ALPHA}) when their average ranks differ by at least the critical difference.",
        "",
    ]
    lines += report.table(
        ["contender", *(f"{label} cases" for label in columns)],
        [[n, *(f"{col[n]:.2f}" for col in columns.values())] for n in names],
    )
    return [*lines, "", *(f"- {n}" for n in notes), "", *figures]


def case_table(rows: pd.DataFrame, contenders: Sequence[str]) -> list[str]:
    """Markdown, one row per case: each contender's normalised score (mean over the seeds,
    relative to the default recipe) and losstune's paired difference to each contender in
    the metric's units (mean over the seeds, 95% t-interval)."""
    others = [c for c in contenders if c != REFERENCE]
    scored = [c for c in contenders if c != DEFAULT]
    seeds = {c: report.seed_differences(rows, c, DEFAULT, relative_to=DEFAULT) for c in scored}
    raw = {c: report.seed_differences(rows, REFERENCE, c) for c in others}
    cases = list(dict.fromkeys(zip(rows["dataset"], rows["variant"], strict=True)))
    records = []
    for case in cases:
        cells = [f"{case[0]} / {case[1]}"]
        for c in scored:
            values = _of_case(seeds[c], case)
            cells.append(_pct(float(values.mean())) if len(values) else "n/a")
        for c in others:
            values = _of_case(raw[c], case)
            interval = report.Interval.of(values.tolist())
            cells.append(
                "n/a"
                if not len(values)
                else f"{interval.mean:+.4f} [{interval.low:+.4f}, {interval.high:+.4f}]"
            )
        records.append(cells)
    return report.table(
        ["case", *(f"{c} vs default" for c in scored), *(f"{REFERENCE} - {c}" for c in others)],
        records,
    )


def _of_case(values: pd.Series, case: tuple[str, str]) -> pd.Series:
    if values.empty:
        return values
    mask = (values.index.get_level_values("dataset") == case[0]) & (
        values.index.get_level_values("variant") == case[1]
    )
    return values[mask]


def portfolio_lines(config: quality.Config, rows: pd.DataFrame) -> list[str]:
    """Markdown: where the warm start's portfolios came from, and per dataset the file its
    runs used with what it was built from."""
    plan = config.portfolios
    lines = [plan.describe() if plan is not None else "The shipped portfolio was used."]
    warm = [c for c in config.contenders if CONTENDERS[c].warm_start]
    used = rows[rows["contender"].isin(warm) & (rows["error"] == "")]
    files = used["note"].fillna("").str.extract(r"portfolio=(\S+)")[0]
    records = []
    for dataset, names in files.groupby(used["dataset"], sort=False):
        for name in dict.fromkeys(names.dropna()):
            built: dict = {}
            if plan is not None and name != "shipped":
                path = plan.folder / name
                built = dict(provenance(path)) if path.is_file() else {}
            records.append(
                [
                    dataset,
                    f"`{name}`",
                    str(built.get("left_out") or "none (not in the runs)"),
                    str(built.get("cases", "?")),
                    str(built.get("commit", "?")),
                ]
            )
    if records:
        lines += [""] + report.table(
            ["dataset", "portfolio", "left out", "cases built from", "runs at commit"], records
        )
    return lines


def _absent(name: str) -> str:
    """Why contender ``name`` did not run: its packages do not import, or not asked for."""
    from benchmarks.warm_start import available

    return "not asked for" if available(name) else "its packages do not import"


def write_report(
    config: quality.Config,
    cases: Sequence[Case],
    argv: Sequence[str],
    wall_s: float,
    jobs: int,
    note: str,
) -> Path:
    """The Markdown page and its plots, from the CSVs of ``config``."""
    rows = quality.frame(config)
    rows["note"] = rows["note"].fillna("").astype(str) if "note" in rows else ""
    summary = report.summarize(rows)
    trace = read_trace(config)
    anytime_lines, reach = anytime_section(config, rows, trace)
    checks = [coverage(config, cases, rows)]
    if not summary.empty:
        checks += [
            goal_a(rows),
            goal_b(reach, config.budget.n_trials),
            goal_c(summary, rows),
            goal_d(rows, config.contenders, TUNER),
            goal_d(rows, config.contenders, FLAML),
        ]
    extra = f" Runs went to {jobs} parallel process(es)." + (f" {note}" if note else "")
    lines = ["# Warm-start benchmark", ""]
    lines += quality.header(config, argv, wall_s, script=SCRIPT, machine_note=extra)
    lines += ["", *portfolio_lines(config, rows), ""]
    lines += ["Cases: " + ", ".join(f"{c.dataset} / {c.variant}" for c in cases) + ".", ""]
    missing = [c for c in (TUNER, FLAML) if c not in config.contenders]
    if missing:
        why = ", ".join(f"{c} ({_absent(c)})" for c in missing)
        lines += [f"Not measured: {why}.", ""]
    lines += ["## Verdict", ""]
    lines += [f"- **{c.status}**: {c.claim} ({c.evidence})." for c in checks]
    lines += ["", "## Anytime performance", "", *anytime_lines]
    if not summary.empty:
        lines += [
            "",
            "## Aggregate comparisons",
            "",
            "Per case, the mean over the seeds of the per-seed difference of the two "
            "contenders' test scores divided by the default recipe's (positive: the first is "
            "better; % of the default's score). Across cases: the mean with a 95% percentile "
            "bootstrap interval (10,000 resamples of the cases), the win rate (a tie counts "
            "half) and the two-sided Wilcoxon signed-rank p (zero differences left out). The "
            "last column pairs single runs on the same case and seed.",
            "",
        ]
        lines += aggregate_table(rows, config.contenders)
        lines += ["", "## Average rank", "", *rank_section(config, summary)]
        lines += ["", "## Per case: normalised scores and paired differences", ""]
        lines += [
            "Normalised score: the test score relative to the default recipe's on the same "
            f"seed, mean over the seeds. `{REFERENCE} - X`: the per-seed difference in the "
            "metric's units (positive: losstune better), mean [95% t-interval] over the seeds.",
            "",
        ]
        lines += case_table(rows, [c for c in config.contenders if c in set(rows["contender"])])
        comparison = report.compare(summary, REFERENCE)
        if not comparison.empty:
            plot = report.plot(comparison, REFERENCE, config.png)
            lines += ["", f"![{REFERENCE} minus each contender]({plot.name})"]
    lines += ["", "## Contenders and budgets", ""]
    lines += report.table(
        ["contender", "what", "budget"],
        [(n, CONTENDERS[n].description, CONTENDERS[n].budget_rule) for n in config.contenders],
    )
    variants = [(v, VARIANTS[v].description) for v in config.variants]
    lines += report.closing_sections(variants, summary, rows[rows["error"] != ""])
    lines += [
        "",
        f"Raw results: `{config.csv.name}` (one row per dataset x variant x seed x "
        f"contender) and `{config.anytime_csv.name}` (one row per trial of every search).",
    ]
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text("\n".join(lines) + "\n")
    return config.out
