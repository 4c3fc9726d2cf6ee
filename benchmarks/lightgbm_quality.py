"""LightGBM family benchmark: losstune's loss/temperature/weighting search with the model
family fixed to LightGBM, against LightGBM's defaults and LightGBMTuner, and the two-family
search against each one-family search; with the derived objective's cost per boosting round.

Five contenders (``benchmarks/contenders``) run on cases of the quality benchmark (a
registered classification dataset in a clean, long-tailed or label-noised variant,
``benchmarks/quality_cases.py``) for split seeds ``0..S-1``, with the same splits, damage,
seeds and trial budget, through the quality benchmark's machinery
(:func:`benchmarks.quality.run_one`, its CSV key and per-case summaries):

- ``lightgbm_default``: LightGBM's defaults, early stopping on the validation split;
- ``lightgbm_tuned``: optuna-integration's LightGBMTuner with ``--trials`` trials;
- ``losstune_lightgbm``: ``losstune.search(models=["lightgbm"])``;
- ``losstune_mlp``: ``losstune.search(models=["mlp"])``;
- ``losstune``: ``losstune.search`` over the default space, both families.

The report (``docs/benchmarks/lightgbm.md``) gives each contender's mean and 95% interval per
case and, across cases, paired differences (mean, bootstrap interval, win rate, Wilcoxon
signed-rank p) and average ranks, and checks the goals: the LightGBM-family search beats
LightGBMTuner on the damaged cases in aggregate; the two-family search is never beaten by both
LightGBMTuner and the MLP-only search on one case; a round of the derived objective costs at
most 3x a round of LightGBM's built-in one (``benchmarks/lightgbm_objective_cost.py``, run by
``--objective-cost`` once the cases are done, its output kept beside the report).

Differences are added across cases, so every case must be classification (accuracy or
balanced accuracy, both in [0, 1]). Runs go to ``--jobs`` processes (each with ``--threads``
threads); rows are appended to the CSV as they finish and rows already there (same case,
seed, contender and budget) are skipped, so an interrupted run resumes where it stopped.
Each row records the 1-minute load average when its run started.

This script is not named ``lightgbm.py``: a script's own folder comes first on ``sys.path``,
so ``benchmarks/lightgbm.py`` would shadow the ``lightgbm`` package for every script here.

Usage::

    python benchmarks/lightgbm_quality.py --jobs 2 --objective-cost   # the full benchmark
    python benchmarks/lightgbm_quality.py --datasets wine --variants clean,noise40 \\
        --seeds 2 --trials 4 --epochs 5 --out /tmp/lgb.md             # a smoke run
    python benchmarks/lightgbm_quality.py --report-only               # rebuild the report
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import math
import multiprocessing
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks import quality
from benchmarks import quality_report as report
from benchmarks.contenders import CONTENDERS, REFERENCE
from benchmarks.quality_cases import VARIANTS, load_clean, make_case
from benchmarks.rows import append_row, read_rows

REPO = Path(__file__).resolve().parents[1]
SCRIPT = "benchmarks/lightgbm_quality.py"
COST_SCRIPT = "benchmarks/lightgbm_objective_cost.py"
DATASETS = ("breast_cancer", "digits", "phoneme")
CASE_VARIANTS = ("clean", "longtail100", "noise40")
LGB_DEFAULT, TUNER, FAMILY, MLP, BOTH = (
    "lightgbm_default",
    "lightgbm_tuned",
    "losstune_lightgbm",
    "losstune_mlp",
    REFERENCE,
)
RUN_ORDER = (LGB_DEFAULT, TUNER, FAMILY, MLP, BOTH)
LABELS = {
    LGB_DEFAULT: "LightGBM default",
    TUNER: "LightGBMTuner",
    FAMILY: "losstune (lightgbm)",
    MLP: "losstune (mlp)",
    BOTH: "losstune (mlp+lightgbm)",
}
"""The names the report shows (the CSV keeps the contender keys)."""
MIN_CASES, MIN_DAMAGED, MIN_SEEDS = 6, 3, 5
COST_GOAL = 3.0
COLUMNS = (*quality.COLUMNS, "load1")

logger = logging.getLogger("losstune.benchmarks")


@dataclass(frozen=True)
class Case:
    """One dataset in one variant."""

    dataset: str
    variant: str
    damaged: bool


@dataclass(frozen=True)
class Job:
    """One contender on one case and split seed: one CSV row."""

    dataset: str
    variant: str
    seed: int
    contender: str


def select_cases(datasets: Sequence[str], variants: Sequence[str]) -> list[Case]:
    """Every (dataset, variant) pair whose variant applies to the dataset, in the given
    order; refuses a dataset that is not classification (differences are added across
    cases, so they must all be scores in [0, 1])."""
    cases = []
    for name in datasets:
        clean = load_clean(name, 0)
        if not clean.task.is_classification:
            raise SystemExit(
                f"{name} is a {clean.task.value} dataset; this benchmark adds score "
                "differences across cases, so it takes classification datasets only."
            )
        for variant in variants:
            if VARIANTS[variant].applies_to(clean):
                cases.append(Case(name, variant, VARIANTS[variant].damaged))
    return cases


def coverage(cases: Sequence[Case], seeds: int) -> report.Check:
    """Whether ``cases`` and ``seeds`` are what the issue asks for: at least
    :data:`MIN_CASES` cases, :data:`MIN_DAMAGED` of them damaged, :data:`MIN_SEEDS` seeds.

    Example:
        >>> coverage([Case("a", "clean", False), Case("a", "noise40", True)], 5).status
        'NOT MET'
    """
    damaged = sum(c.damaged for c in cases)
    return report.Check(
        f"at least {MIN_CASES} cases of which {MIN_DAMAGED} damaged, at least {MIN_SEEDS} seeds",
        len(cases) >= MIN_CASES and damaged >= MIN_DAMAGED and seeds >= MIN_SEEDS,
        f"{len(cases)} cases, {damaged} damaged, {seeds} seeds",
    )


def plan(config: quality.Config, cases: Sequence[Case], done: set[tuple[str, ...]]) -> list[Job]:
    """The runs of ``config`` not in ``done`` (CSV keys), seed by seed: an interrupted run
    leaves whole seeds of every case rather than every seed of a few cases."""
    return [
        Job(case.dataset, case.variant, seed, contender)
        for seed in range(config.seeds)
        for case in cases
        for contender in config.contenders
        if config.key_of(case.dataset, case.variant, seed, contender) not in done
    ]


def run_job(config: quality.Config, job: Job) -> dict[str, object]:
    """Run one job (:func:`benchmarks.quality.run_one`); its row, with the load average."""
    load1 = os.getloadavg()[0]
    clean = load_clean(job.dataset, job.seed)
    variant = VARIANTS[job.variant]
    data, metric = make_case(clean, variant, job.seed)
    row = quality.run_one(config, data, metric, job.dataset, variant, job.seed, job.contender, {})
    row["load1"] = round(load1, 2)
    return row


def _start_worker(threads: int) -> None:
    """Set up a worker process: its torch threads and progress lines."""
    import torch

    torch.set_num_threads(threads)
    quality.log_progress()


def run_benchmark(config: quality.Config, cases: Sequence[Case], jobs: int) -> None:
    """Run every job of ``config`` not yet in its CSV, ``jobs`` at a time, appending each
    row as it finishes."""
    done = {tuple(row[k] for k in quality.KEY) for row in read_rows(config.csv)}
    todo = plan(config, cases, done)
    logger.info("%d runs to do (%d already in %s)", len(todo), len(done), config.csv)
    if jobs == 1:
        for job in todo:
            append_row(config.csv, run_job(config, job), COLUMNS)
        return
    context = multiprocessing.get_context("spawn")  # no torch thread pools forked mid-use
    with concurrent.futures.ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_start_worker, initargs=(config.budget.threads,)
    ) as pool:
        futures = [pool.submit(run_job, config, job) for job in todo]
        try:
            for future in concurrent.futures.as_completed(futures):
                append_row(config.csv, future.result(), COLUMNS)
        except BaseException:  # Ctrl-C, a failed worker: keep the rows written, stop the rest
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def objective_cost(path: Path) -> str:
    """Run :data:`COST_SCRIPT` (100k rows x 10 classes) alone; keep its output at ``path``."""
    logger.info("objective cost: python %s ...", COST_SCRIPT)
    done = subprocess.run(
        [sys.executable, COST_SCRIPT], cwd=REPO, capture_output=True, text=True, check=True
    )
    text = f"$ python {COST_SCRIPT}\n{done.stdout}"
    path.write_text(text)
    return text


def cost_ratios(text: str) -> dict[str, tuple[float, float]]:
    """The ratios :data:`COST_SCRIPT` prints, seconds per round of each custom objective over
    the built-in one's, as ``{mode: (wall ratio, CPU ratio)}``.

    Example:
        >>> cost_ratios("cross_entropy, derived    0.1650    0.3278    2.93x, 2.90x")
        {'cross_entropy, derived': (2.93, 2.9)}
    """
    found = re.findall(r"^(\S.*?)\s+[0-9.]+\s+[0-9.]+\s+([0-9.]+)x, ([0-9.]+)x\s*$", text, re.M)
    return {mode: (float(wall), float(cpu)) for mode, wall, cpu in found if "built-in" not in mode}


def labelled(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the report's contender names (:data:`LABELS`)."""
    return rows.assign(contender=rows["contender"].map(lambda c: LABELS.get(c, c)))


def family_beats_tuner(summary: pd.DataFrame, rows: pd.DataFrame) -> report.Check:
    """Goal (a): over the damaged cases, the mean paired difference of the LightGBM-family
    search minus LightGBMTuner is positive with its 95% bootstrap interval above 0."""
    cases = report.case_differences(summary, LABELS[FAMILY], LABELS[TUNER], damaged=True)
    p = report.Paired.of(cases["gain"].tolist())
    seeds = report.Paired.of(
        report.seed_differences(rows, LABELS[FAMILY], LABELS[TUNER], damaged=True).tolist()
    )
    return report.Check(
        f"{LABELS[FAMILY]} beats {LABELS[TUNER]} on the damaged cases in aggregate, i.e. "
        "the 95% bootstrap interval of the mean paired difference lies above 0",
        None if p.n == 0 else p.low > 0,
        f"mean difference {_signed(p.mean)} [{_signed(p.low)}, {_signed(p.high)}] over "
        f"{p.n} damaged cases, win rate {_pct(p.win_rate)} ({p.wins}/{p.ties}/{p.losses} "
        f"W/T/L by mean), Wilcoxon p = {_p(p.p_value)}; over the {seeds.n} case x seed "
        f"pairs: mean {_signed(seeds.mean)} [{_signed(seeds.low)}, {_signed(seeds.high)}], "
        f"Wilcoxon p = {_p(seeds.p_value)}",
    )


def beaten_by_both(summary: pd.DataFrame) -> pd.DataFrame:
    """Per case: the two-family search's outcome (interval rule) and difference of means
    against LightGBMTuner and against the MLP-only search, and whether both beat it."""
    parts = []
    for name, suffix in ((TUNER, "_tuner"), (MLP, "_mlp")):
        part = report.case_differences(summary, LABELS[BOTH], LABELS[name])
        part = part.set_index(["dataset", "variant"])[["outcome", "gain"]]
        parts.append(part.add_suffix(suffix))
    out = parts[0].join(parts[1], how="inner")
    out["beaten_by_both"] = (out["outcome_tuner"] == "loss") & (out["outcome_mlp"] == "loss")
    out["below_both"] = (out["gain_tuner"] < 0) & (out["gain_mlp"] < 0)
    return out.reset_index()


def never_beaten_by_both(table: pd.DataFrame) -> report.Check:
    """Goal (b): no case where LightGBMTuner and the MLP-only search both beat the
    two-family search (each interval entirely better)."""
    beaten = table[table["beaten_by_both"]]
    below = table[table["below_both"]]
    listed = ", ".join(f"{r.dataset} / {r.variant}" for r in beaten.itertuples()) or "none"
    means = ", ".join(f"{r.dataset} / {r.variant}" for r in below.itertuples()) or "none"
    return report.Check(
        f"{LABELS[BOTH]} is never beaten by both {LABELS[TUNER]} and {LABELS[MLP]} on the "
        "same case, beaten meaning the other's 95% interval lies entirely on the better side",
        None if table.empty else beaten.empty,
        f"beaten by both on {len(beaten)} of {len(table)} cases: {listed}; below both by "
        f"mean alone (within the noise) on {len(below)}: {means}",
    )


def cost_check(text: str | None) -> report.Check:
    """Goal (c): a round of the slowest custom objective (the generic derivation when the
    output has it) at most :data:`COST_GOAL` x a round of the built-in one, wall-clock."""
    ratios = cost_ratios(text) if text else {}
    worst = max(ratios, key=lambda mode: ratios[mode][0], default=None)
    listed = "; ".join(f"{m}: {w:.2f}x wall, {c:.2f}x CPU" for m, (w, c) in ratios.items())
    return report.Check(
        f"a boosting round with the derived objective costs at most {COST_GOAL:g}x a round "
        "with the built-in objective at 100k rows x 10 classes (the slowest custom mode, "
        "wall-clock)",
        None if worst is None else ratios[worst][0] <= COST_GOAL,
        "not measured (run with --objective-cost)" if worst is None else listed,
    )


PAIRS = (
    (FAMILY, TUNER, True),
    (FAMILY, TUNER, False),
    (FAMILY, TUNER, None),
    (FAMILY, LGB_DEFAULT, True),
    (FAMILY, LGB_DEFAULT, None),
    (BOTH, TUNER, None),
    (BOTH, MLP, None),
    (BOTH, FAMILY, None),
    (MLP, TUNER, True),
    (MLP, TUNER, None),
)
"""The aggregate comparisons of the report: (first, second, damaged cases only / clean
only / all)."""


def aggregate_table(summary: pd.DataFrame, rows: pd.DataFrame) -> list[str]:
    """Markdown: the paired comparisons of :data:`PAIRS`, over cases and case x seed pairs."""
    records = []
    for first, second, damaged in PAIRS:
        a, b = LABELS[first], LABELS[second]
        cases = report.case_differences(summary, a, b, damaged)
        if cases.empty:
            continue
        p = report.Paired.of(cases["gain"].tolist())
        counts = cases["outcome"].value_counts()
        seeds = report.Paired.of(report.seed_differences(rows, a, b, damaged).tolist())
        records.append(
            [
                f"{a} vs {b}",
                {True: "damaged", False: "clean", None: "all"}[damaged],
                p.n,
                f"{_signed(p.mean)} [{_signed(p.low)}, {_signed(p.high)}]",
                f"{_pct(p.win_rate)} ({p.wins}/{p.ties}/{p.losses})",
                "/".join(str(int(counts.get(o, 0))) for o in report.OUTCOMES),
                _p(p.p_value),
                f"{_signed(seeds.mean)} ({seeds.n}), p = {_p(seeds.p_value)}",
            ]
        )
    return report.table(
        [
            "comparison",
            "cases",
            "n",
            "mean difference [95% bootstrap]",
            "win rate (W/T/L by mean)",
            "W/T/L by interval",
            "Wilcoxon p",
            "per case x seed: mean (n), Wilcoxon p",
        ],
        records,
    )


def rank_table(summary: pd.DataFrame, contenders: Sequence[str]) -> list[str]:
    """Markdown: each contender's average rank on the damaged, clean and all cases."""
    names = [LABELS[c] for c in contenders]
    columns = {
        label: report.average_ranks(summary, names, damaged)
        for label, damaged in (("damaged", True), ("clean", False), ("all", None))
        if damaged is None or (summary["damaged"] == damaged).any()
    }
    return report.table(
        ["contender", *(f"{label} cases" for label in columns)],
        [[name, *(f"{col[name]:.2f}" for col in columns.values())] for name in names],
    )


def both_table(table: pd.DataFrame) -> list[str]:
    """Markdown: goal (b) case by case."""
    return report.table(
        [
            "case",
            f"vs {LABELS[TUNER]}: outcome, difference",
            f"vs {LABELS[MLP]}: outcome, difference",
            "beaten by both",
        ],
        [
            [
                f"{r.dataset} / {r.variant}",
                f"{r.outcome_tuner}, {_signed(r.gain_tuner)}",
                f"{r.outcome_mlp}, {_signed(r.gain_mlp)}",
                "**yes**" if r.beaten_by_both else "no",
            ]
            for r in table.itertuples()
        ],
    )


def _signed(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.4f}"


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{100 * value:.0f}%"


def _p(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3g}"


def _loads(rows: pd.DataFrame, jobs: int) -> str:
    """The header's sentence on how busy the machine was while the rows ran."""
    if "load1" not in rows or rows["load1"].isna().all():
        return ""
    load = pd.to_numeric(rows["load1"], errors="coerce").dropna()
    return (
        f" Runs went to {jobs} parallel process(es). The 1-minute load average when each run "
        f"started: median {load.median():.2f}, max {load.max():.2f} (this benchmark alone "
        f"keeps it near {jobs})."
    )


def write_report(
    config: quality.Config,
    cases: Sequence[Case],
    rows: pd.DataFrame,
    argv: Sequence[str],
    wall_s: float,
    jobs: int,
    note: str,
) -> None:
    """The Markdown page, the plot and (already written) the CSV of ``config``."""
    named = labelled(rows)
    summary = report.summarize(named)
    cost_path = cost_file(config)
    cost_text = cost_path.read_text() if cost_path.is_file() else None
    checks = [coverage(cases, config.seeds), cost_check(cost_text)]
    both = pd.DataFrame()
    if not summary.empty:
        both = beaten_by_both(summary)
        checks[1:1] = [family_beats_tuner(summary, named), never_beaten_by_both(both)]
    extra = _loads(rows, jobs) + (f" {note}" if note else "")
    lines = ["# LightGBM family benchmark", ""]
    lines += quality.header(config, argv, wall_s, script=SCRIPT, machine_note=extra)
    lines += [
        "",
        "Cases: " + ", ".join(f"{c.dataset} / {c.variant}" for c in cases) + ".",
        "",
        "## Verdict",
        "",
    ]
    lines += [f"- **{c.status}**: {c.claim} ({c.evidence})." for c in checks]
    lines += [
        "",
        "## Aggregate comparisons",
        "",
        "Per case, the difference of the two contenders' mean test scores over the seeds "
        "(positive: the first is better; score points of accuracy or balanced accuracy). "
        "Over the cases: their mean with a 95% percentile bootstrap interval (10,000 "
        "resamples of the cases), the win rate (a case with equal means counts half), "
        "wins/ties/losses by the quality benchmark's interval rule (a tie is two overlapping "
        "95% intervals), and the two-sided Wilcoxon signed-rank p over the cases (zero "
        "differences left out). The last column pairs single runs on the same split seed.",
        "",
    ]
    if not summary.empty:
        lines += aggregate_table(summary, named)
        lines += ["", "## Average rank", "", "1 = best mean on a case; ties share ranks.", ""]
        lines += rank_table(summary, config.contenders)
        lines += [
            "",
            f"## {LABELS[BOTH]} against {LABELS[TUNER]} and {LABELS[MLP]}, per case",
            "",
        ]
        lines += both_table(both)
        comparison = report.compare(summary, LABELS[BOTH])
        plot = report.plot(comparison, LABELS[BOTH], config.png)
        lines += ["", f"![{LABELS[BOTH]} minus each contender]({plot.name})"]
    lines += ["", "## Objective cost per boosting round", ""]
    if cost_text is None:
        lines.append(f"Not measured: run with `--objective-cost` (`python {COST_SCRIPT}`).")
    else:
        lines += [
            f"`python {COST_SCRIPT}` (defaults: 100k rows x 10 classes x 20 features), run by "
            "this script after the cases, alone on the machine; its output:",
            "",
            "```",
            cost_text.rstrip(),
            "```",
        ]
    lines += ["", "## Contenders and budgets", ""]
    lines += report.table(
        ["contender", "key", "what", "budget"],
        [
            (LABELS[n], n, CONTENDERS[n].description, CONTENDERS[n].budget_rule)
            for n in config.contenders
        ],
    )
    variants = [(v, VARIANTS[v].description) for v in config.variants]
    lines += report.closing_sections(variants, summary, named[named["error"] != ""])
    lines += [
        "",
        "Raw results, one row per dataset x variant x seed x contender: "
        f"`{config.csv.name}`; the objective cost output: `{cost_path.name}`.",
    ]
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text("\n".join(lines) + "\n")


def cost_file(config: quality.Config) -> Path:
    """Where the objective cost output is kept: beside the report."""
    return config.out.with_name(config.out.stem + "-objective-cost.txt")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument(
        "--datasets",
        default=",".join(DATASETS),
        help="comma-separated classification datasets of losstune.datasets",
    )
    parser.add_argument(
        "--variants",
        default=",".join(CASE_VARIANTS),
        help=f"comma-separated, of {', '.join(VARIANTS)}",
    )
    parser.add_argument(
        "--contenders", default=",".join(RUN_ORDER), help="comma-separated, of the five"
    )
    parser.add_argument("--trials", type=int, default=16, help="trials per search and tuner")
    parser.add_argument("--seeds", type=int, default=MIN_SEEDS, help="split seeds 0..S-1")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per MLP")
    parser.add_argument("--top-k", type=int, default=2, help="final candidates of a search")
    parser.add_argument("--final-seeds", type=int, default=1, help="final re-training seeds")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (processes)")
    parser.add_argument(
        "--threads",
        type=int,
        help="CPU threads per run (default: the CPUs over --jobs, at least 1)",
    )
    parser.add_argument(
        "--objective-cost",
        action="store_true",
        help=f"after the cases, run {COST_SCRIPT} and keep its output beside the report",
    )
    parser.add_argument("--note", default="", help="a sentence for the report's machine line")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "docs" / "benchmarks" / "lightgbm.md",
        help="the Markdown report; the CSV, PNG and cost output go beside it",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild the report from the CSV without running anything",
    )
    return parser.parse_args(list(argv))


def make_config(args: argparse.Namespace) -> quality.Config:
    """The :class:`benchmarks.quality.Config` of parsed arguments."""
    from losstune.datasets import names as registered

    datasets = quality.parse_names(args.datasets, registered(), "datasets")
    variants = quality.parse_names(args.variants, list(VARIANTS), "variants")
    contenders = quality.parse_names(args.contenders, RUN_ORDER, "contenders")
    budget = quality.command_line_budget(args)
    return quality.Config(datasets, variants, contenders, args.seeds, budget, args.out)


def main(argv: Sequence[str] | None = None) -> Path:
    """Run (or resume) the benchmark of the command line and write its report."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    config = make_config(args)
    quality.log_progress()
    import torch

    torch.set_num_threads(config.budget.threads)
    cases = select_cases(config.datasets, config.variants)
    start = time.perf_counter()
    if not args.report_only:
        run_benchmark(config, cases, args.jobs)
        if args.objective_cost:
            objective_cost(cost_file(config))
    rows = quality.frame(config)
    write_report(config, cases, rows, argv, time.perf_counter() - start, args.jobs, args.note)
    logger.info("report: %s (CSV %s)", config.out, config.csv)
    return config.out


if __name__ == "__main__":
    main()
