"""Warm-start benchmark: whether losstune's warm start works, on the quality benchmark's
cases, with the budget of ``losstune search``'s defaults.

Contenders (``benchmarks/contenders``), run through the quality benchmark's machinery
(:func:`benchmarks.quality.run_traced`: same cases, splits, damage, seeds and CSV key):

- ``default``: the default recipe, trained once (the floor, and what scores are normalised by);
- ``tpe_lr_wd_bs``: Optuna TPE over AdamW's learning rate, weight decay and batch size;
- ``losstune_cold``: losstune's search with the warm start off;
- ``losstune``: losstune's search as a user gets it, warm start on, each case's portfolio
  built without its dataset (leave-one-dataset-out, ``benchmarks/quality_portfolios.py``);
- ``lightgbm_tuned`` (LightGBMTuner) and ``flaml`` (FLAML AutoML with losstune's
  wall-clock), when their packages import; otherwise the report says "not measured".

Budget: the CLI's default search (``losstune search``: 40 trials, 30 epochs, median pruner,
TPE, final top 3 x 3 seeds), 5 split seeds. The default cases are every dataset under 5,000
rows of the quality benchmark in each variant that applies (classification: clean,
longtail100, noise20, noise40; regression: clean): 19 cases, 12 damaged.

Every search's incumbent after each trial is re-trained for its test score
(``benchmarks/quality_anytime.py``), one row per trial in ``<report>-anytime.csv``; the
report (``benchmarks/warm_start_report.py``) draws the anytime curves, counts the trials
losstune needs to reach TPE's 40-trial score, gives paired differences, ranks and a
critical-difference diagram, and checks the goals.

Runs go to ``--jobs`` processes (each with ``--threads`` threads), seed by seed, so an
interrupted run leaves whole seeds of every case; ``flaml`` waits for ``losstune``'s row of
the same case and seed (its time budget). Rows already in the CSV are skipped, so a run
resumes where it stopped; ``--deadline-min`` starts no run after that many minutes, and
``--datasets``, ``--contenders`` and ``--seeds`` pick a part (``--seeds 2`` now, ``--seeds 5``
later runs seeds 2..4 only).

Time plan (a 2-core CPU machine, ``--jobs 2 --threads 1``; rough, +-50%). Basis: the
recorded two-family losstune searches of ``docs/benchmarks/lightgbm.csv`` (16 trials x 20
epochs, final 2 x 1, on an idle machine: ~10 s on breast_cancer, ~20 s on digits) scaled by
3.3 to 40 trials x 30 epochs and final 3 x 3 (+ the default on 3 seeds); other datasets by
their ratio in ``docs/benchmarks/quality.csv``, at least ~30 s a search; the incumbents'
re-training ~0.7 s each. Timed 3- and 6-trial searches (1-2 epochs) on wine, digits and
credit_data on this shared machine (load ~2.6 on 2 cores) ran about 2x slower than that
basis, a LightGBM trial taking 2-5 s even on wine. One seed of the 19 default cases is about
4,400 s of one core on an idle machine (losstune and flaml ~1,000 s each, losstune_cold
~1,000 s, tpe_lr_wd_bs ~800 s, re-training ~400 s, the rest ~150 s): 5 seeds are about 6
core-hours, **about 3 hours on 2 idle cores, about 6 hours on a shared machine**. The full
benchmark does not fit in 2 hours; it runs in parts, each a separate invocation (the report
covers what is done):

- A (fits in 2 hours: ~1 h idle, ~2 h shared): ``--datasets wine,breast_cancer,diabetes,concrete``,
  10 cases (6 damaged), 5 seeds;
- B (~1 h idle, ~2 h shared): ``--datasets digits,ames``, 5 cases (3 damaged);
- C (~1 h idle, ~2 h shared): ``--datasets credit_data``, 4 cases (3 damaged).

``--deadline-min`` cuts any part to a time slot (runs in flight still finish); the
report's compute table gives the measured seconds to plan the next part.

Usage::

    python benchmarks/warm_start.py --jobs 2                       # everything (3-6 h)
    python benchmarks/warm_start.py --jobs 2 --datasets wine,breast_cancer,diabetes,concrete \\
        --deadline-min 110                                         # part A
    python benchmarks/warm_start.py --jobs 2 --datasets digits,ames --deadline-min 110
    python benchmarks/warm_start.py --jobs 2 --datasets credit_data --deadline-min 110
    python benchmarks/warm_start.py --report-only                  # the report of every part
    python benchmarks/warm_start.py --datasets wine --variants clean --seeds 1 \\
        --trials 3 --epochs 1 --top-k 1 --final-seeds 1 --out /tmp/ws.md   # a smoke run
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib
import logging
import multiprocessing
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import quality
from benchmarks.contenders import CONTENDERS
from benchmarks.quality_cases import VARIANTS, load_clean, make_case
from benchmarks.quality_portfolios import add_arguments, plan_of
from benchmarks.rows import read_rows
from benchmarks.warm_start_report import MIN_SEEDS, cli_budget, write_report

REPO = Path(__file__).resolve().parents[1]
SCRIPT = "benchmarks/warm_start.py"
DATASETS = ("wine", "breast_cancer", "diabetes", "concrete", "digits", "credit_data", "ames")
"""The quality benchmark's datasets under 5,000 rows, cheapest first."""
CASE_VARIANTS = ("clean", "longtail100", "noise20", "noise40")
RUN_ORDER = (
    "default",
    "tpe_lr_wd_bs",
    "losstune_cold",
    "losstune",
    "lightgbm_tuned",
    "flaml",
)
NEEDS = {"lightgbm_tuned": ("optuna_integration", "lightgbm"), "flaml": ("flaml",)}
"""The packages a contender needs beyond losstune's own."""

logger = logging.getLogger("losstune.benchmarks")


@dataclass(frozen=True)
class Case:
    """One dataset in one variant, with its size."""

    dataset: str
    variant: str
    damaged: bool
    rows: int


@dataclass(frozen=True)
class Job:
    """One contender on one case and split seed: one CSV row."""

    dataset: str
    variant: str
    seed: int
    contender: str


def available(name: str) -> bool:
    """Whether contender ``name``'s packages import (:data:`NEEDS`)."""
    for module in NEEDS.get(name, ()):
        try:  # find_spec would trip over a module a test left in sys.modules without a spec
            importlib.import_module(module)
        except ImportError:
            return False
    return True


def select_cases(datasets: Sequence[str], variants: Sequence[str]) -> list[Case]:
    """Every (dataset, variant) pair whose variant applies to the dataset, in order."""
    cases = []
    for name in datasets:
        clean = load_clean(name, 0)
        rows = len(clean.y_train) + len(clean.y_valid) + len(clean.y_test)
        for variant in variants:
            if VARIANTS[variant].applies_to(clean):
                cases.append(Case(name, variant, VARIANTS[variant].damaged, rows))
    return cases


def plan(config: quality.Config, cases: Sequence[Case], done: Mapping[tuple, Any]) -> list[Job]:
    """The runs of ``config`` not in ``done`` (CSV keys), seed by seed, in run order."""
    return [
        Job(case.dataset, case.variant, seed, contender)
        for seed in range(config.seeds)
        for case in cases
        for contender in config.contenders
        if config.key_of(case.dataset, case.variant, seed, contender) not in done
    ]


def ready(job: Job, config: quality.Config, done: Mapping[tuple, Any]) -> bool:
    """Whether ``job`` can start: a contender timed by another (``flaml``) waits for that
    one's row of the same case and seed, unless that one is not run at all."""
    ref = CONTENDERS[job.contender].time_of
    if ref is None or ref not in config.contenders:
        return True
    return config.key_of(job.dataset, job.variant, job.seed, ref) in done


def run_job(
    config: quality.Config, job: Job, done: Mapping[tuple, Any]
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Run one job (:func:`benchmarks.quality.run_traced`): its row and anytime rows."""
    clean = load_clean(job.dataset, job.seed)
    variant = VARIANTS[job.variant]
    data, metric = make_case(clean, variant, job.seed)
    return quality.run_traced(
        config, data, metric, job.dataset, variant, job.seed, job.contender, dict(done)
    )


def _start_worker(threads: int) -> None:
    """Set up a worker process: its torch threads and progress lines."""
    import torch

    torch.set_num_threads(threads)
    quality.log_progress()


class _Inline(concurrent.futures.Executor):
    """Runs each submitted call at once in this process (``--jobs 1``)."""

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:  # handed to the caller through the future
            future.set_exception(err)
        return future


def run_benchmark(
    config: quality.Config, cases: Sequence[Case], jobs: int, deadline_s: float | None
) -> int:
    """Run the jobs of ``config`` not yet in its CSV, ``jobs`` at a time, appending each
    run's rows as it finishes; start none after ``deadline_s`` seconds. Returns the jobs
    left undone."""
    done = {tuple(row[k] for k in quality.KEY): row for row in read_rows(config.csv)}
    pending = plan(config, cases, done)
    logger.info("%d runs to do (%d rows already in %s)", len(pending), len(done), config.csv)
    start = time.perf_counter()
    if jobs == 1:
        pool: concurrent.futures.Executor = _Inline()
    else:
        pool = concurrent.futures.ProcessPoolExecutor(
            jobs,
            mp_context=multiprocessing.get_context("spawn"),  # no torch pools forked mid-use
            initializer=_start_worker,
            initargs=(config.budget.threads,),
        )
    running: dict[concurrent.futures.Future, Job] = {}
    try:
        while pending or running:
            late = deadline_s is not None and time.perf_counter() - start > deadline_s
            while not late and len(running) < jobs:
                job = next((j for j in pending if ready(j, config, done)), None)
                if job is None:
                    break
                pending.remove(job)
                ref = CONTENDERS[job.contender].time_of
                known = {}
                if ref is not None:
                    key = config.key_of(job.dataset, job.variant, job.seed, ref)
                    known = {key: done[key]} if key in done else {}
                running[pool.submit(run_job, config, job, known)] = job
            if not running:
                break
            finished, _ = concurrent.futures.wait(
                running, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                job = running.pop(future)
                row, steps = future.result()
                quality.write_rows(config, row, steps)
                key = config.key_of(job.dataset, job.variant, job.seed, job.contender)
                done[key] = {k: str(v) for k, v in row.items()}
    except BaseException:  # Ctrl-C, a failed worker: keep the rows written, stop the rest
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    if pending:
        logger.warning("%d runs left for a later invocation (deadline reached)", len(pending))
    return len(pending)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line (see the module doc)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated")
    parser.add_argument("--variants", default=",".join(CASE_VARIANTS), help="comma-separated")
    parser.add_argument(
        "--contenders",
        help=f"comma-separated, of {', '.join(RUN_ORDER)} (default: those whose packages import)",
    )
    trials, epochs, top_k, final_seeds = cli_budget()
    parser.add_argument("--trials", type=int, default=trials, help=f"per search ({trials})")
    parser.add_argument("--epochs", type=int, default=epochs, help=f"per MLP ({epochs})")
    parser.add_argument("--top-k", type=int, default=top_k, help=f"final candidates ({top_k})")
    parser.add_argument(
        "--final-seeds", type=int, default=final_seeds, help=f"final seeds ({final_seeds})"
    )
    parser.add_argument(
        "--seeds", type=int, default=MIN_SEEDS, help=f"split seeds 0..S-1 ({MIN_SEEDS})"
    )
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (processes)")
    parser.add_argument("--threads", type=int, help="threads per run (default CPUs / jobs)")
    parser.add_argument("--device", default="cpu", help="torch device of the MLPs")
    parser.add_argument("--deadline-min", type=float, help="start no run after these minutes")
    parser.add_argument("--note", default="", help="a sentence for the report's machine line")
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "docs" / "benchmarks" / "warm-start.md",
        help="the Markdown report; the CSVs and PNGs go beside it",
    )
    parser.add_argument("--work", type=Path, help="work folder (default losstune-runs/...)")
    parser.add_argument("--report-only", action="store_true", help="rebuild the report only")
    add_arguments(parser)
    return parser.parse_args(list(argv))


def make_config(args: argparse.Namespace) -> quality.Config:
    """The :class:`benchmarks.quality.Config` of parsed arguments."""
    from losstune.datasets import names as registered

    datasets = quality.parse_names(args.datasets, registered(), "datasets")
    variants = quality.parse_names(args.variants, list(VARIANTS), "variants")
    if args.contenders:
        contenders = quality.parse_names(args.contenders, RUN_ORDER, "contenders")
    else:
        contenders = tuple(c for c in RUN_ORDER if available(c))
    budget = quality.command_line_budget(args, args.device)
    work = quality.work_folder(args.work, args.out)
    return quality.Config(
        datasets,
        variants,
        contenders,
        args.seeds,
        budget,
        args.out,
        portfolios=plan_of(args, work),
        anytime=True,
        work=work,
    )


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
        deadline = None if args.deadline_min is None else 60.0 * args.deadline_min
        run_benchmark(config, cases, args.jobs, deadline)
    write_report(config, cases, argv, time.perf_counter() - start, args.jobs, args.note)
    logger.info("report: %s (CSV %s)", config.out, config.csv)
    return config.out


if __name__ == "__main__":
    main()
