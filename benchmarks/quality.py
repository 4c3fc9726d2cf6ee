"""Quality benchmark: losstune against what users do today, on real, clean and damaged data.

Every contender (``benchmarks/contenders``) runs on the same cases, a registered dataset
(:mod:`losstune.datasets`) in a variant (clean, long-tailed or label-noised training labels,
``benchmarks/quality_cases.py``), for split seeds ``0..S-1``. A *seed* ``s`` fixes the data
split (``losstune.datasets.load(name, seed=s)``), the damage (``seed=s``) and the contender's
own randomness (the default recipe's seed, the search's seed, LightGBM's ``random_state``,
the tuner's and FLAML's seeds); losstune's search re-trains its final candidates on seeds
``s+1..s+final_seeds`` and its score for seed ``s`` is their mean test score. Scores are then
summarised over the S seeds (mean and 95% interval) by ``benchmarks/quality_report.py``.

Rows are appended to the CSV as they finish, and rows already there (same case, seed,
contender and budget) are skipped: an interrupted run resumes where it stopped.

The warm-starting searches (``losstune``; ``losstune_cold`` is the same search without the
warm start) get, per case, a portfolio built without the case's dataset
(``--portfolio lodo``, the default; ``benchmarks/quality_portfolios.py``). With
``--anytime`` every search's incumbent after each trial is re-trained for its test score and
written, one row per trial, to ``<report>-anytime.csv`` (``benchmarks/quality_anytime.py``;
``benchmarks/warm_start.py`` reports it).

Usage::

    python benchmarks/quality.py --quick            # minutes: docs/benchmarks/quality-quick.md
    python benchmarks/quality.py                    # the full benchmark: docs/benchmarks/quality.md
    python benchmarks/quality.py --datasets wine,letter --variants clean,noise40 \\
        --trials 20 --seeds 3 --epochs 20
    python benchmarks/quality.py --report-only      # rebuild the report from the CSV
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import shlex
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks import quality_report as report
from benchmarks.contenders import CONTENDERS, REFERENCE, Budget
from benchmarks.provenance import commit, machine
from benchmarks.quality_anytime import TRACE_COLUMNS, RetrainScores, trace
from benchmarks.quality_cases import VARIANTS, load_clean, make_case
from benchmarks.quality_portfolios import PortfolioPlan, add_arguments, plan_of
from benchmarks.rows import ReportFiles, append_row, read_rows

REPO = Path(__file__).resolve().parents[1]
FULL_DATASETS = (
    "wine",
    "breast_cancer",
    "digits",
    "phoneme",
    "satimage",
    "credit_data",
    "magic",
    "letter",
    "nasscds",
    "diabetes",
    "concrete",
    "ames",
    "diamonds",
)
QUICK_DATASETS = ("wine", "breast_cancer", "diabetes")
FULL_VARIANTS = ("clean", "longtail100", "noise20", "noise40")
QUICK_VARIANTS = ("clean", "noise40")
BASELINE, DEFAULT = "tpe_lr_wd_bs", "default"
DEFAULT_CONTENDERS = (
    "default",
    "tpe_lr_wd_bs",
    "lightgbm_default",
    "lightgbm_tuned",
    "losstune_cold",
    REFERENCE,
    "flaml",
)
"""What this benchmark runs unless told (the family-fixed searches ``losstune_mlp`` and
``losstune_lightgbm`` are ``benchmarks/lightgbm_quality.py``'s)."""
KEY = ("dataset", "variant", "seed", "contender", "trials", "epochs", "top_k", "final_seeds")
COLUMNS = (
    *KEY,
    "task",
    "metric",
    "greater_is_better",
    "damaged",
    "valid_score",
    "test_score",
    "seconds",
    "n_trials",
    "time_budget_s",
    "n_train",
    "note",
    "error",
)
ANYTIME_COLUMNS = (*KEY, "task", "metric", "greater_is_better", "damaged", *TRACE_COLUMNS)
"""The anytime CSV: one row per trial of a search (``--anytime``)."""
LOAD_ERRORS = (ImportError, LookupError, OSError, ValueError)

logger = logging.getLogger("losstune.benchmarks")


@dataclass(frozen=True)
class Config(ReportFiles):
    """One benchmark run: what runs, on what, with which budget, written where.

    Attributes:
        portfolios: the warm-start portfolio of each case's warm-starting searches (None:
            the one shipped in the package).
        anytime: re-train every search's incumbents for its anytime curve (``anytime_csv``).
        work: the folder of cached scores (the incumbents' re-training); None: no cache.
    """

    datasets: tuple[str, ...]
    variants: tuple[str, ...]
    contenders: tuple[str, ...]
    seeds: int
    budget: Budget
    out: Path
    portfolios: PortfolioPlan | None = None
    anytime: bool = False
    work: Path | None = None

    @property
    def anytime_csv(self) -> Path:
        """The per-trial rows of the anytime curves, beside the report."""
        return self.out.with_name(self.out.stem + "-anytime.csv")

    def key_of(self, dataset: str, variant: str, seed: int, contender: str) -> tuple[str, ...]:
        """The CSV key of one run (strings, as read back from the CSV)."""
        b = self.budget
        values = (dataset, variant, seed, contender, b.n_trials, b.epochs, b.top_k, b.final_seeds)
        return tuple(str(v) for v in values)


def run_benchmark(config: Config) -> pd.DataFrame:
    """Run every missing (dataset, seed, variant, contender) of ``config``; return all rows
    of ``config``'s budget from the CSV."""
    done = {tuple(row[k] for k in KEY): row for row in read_rows(config.csv)}
    for name in config.datasets:
        for seed in range(config.seeds):
            todo = [
                (v, c)
                for v in config.variants
                for c in config.contenders
                if config.key_of(name, v, seed, c) not in done
            ]
            if not todo:
                continue
            try:
                clean = load_clean(name, seed)
            except LOAD_ERRORS as err:
                logger.error("dataset %s (seed %d) not loaded, skipped: %s", name, seed, err)
                break
            for variant_name in dict.fromkeys(v for v, _ in todo):
                variant = VARIANTS[variant_name]
                if not variant.applies_to(clean):
                    continue
                data, metric = make_case(clean, variant, seed)
                for contender in config.contenders:
                    key = config.key_of(name, variant_name, seed, contender)
                    if key in done:
                        continue
                    row, steps = run_traced(
                        config, data, metric, name, variant, seed, contender, done
                    )
                    write_rows(config, row, steps)
                    done[key] = {k: str(v) for k, v in row.items()}
    return frame(config)


def write_rows(config: Config, row: dict[str, object], steps: list[dict[str, object]]) -> None:
    """Append a run's anytime rows, then its row: a run whose row is in the CSV has its
    anytime rows too (an interruption between the two re-runs it, and readers keep the last
    of duplicated anytime rows)."""
    for step in steps:
        append_row(config.anytime_csv, step, ANYTIME_COLUMNS)
    append_row(config.csv, row, COLUMNS)


def run_one(config, data, metric, name, variant, seed, contender, done) -> dict[str, object]:
    """Run ``contender`` on ``data`` (dataset ``name`` in ``variant``, split ``seed``) and
    return its CSV row (:func:`run_traced` without the anytime rows)."""
    return run_traced(config, data, metric, name, variant, seed, contender, done)[0]


def run_traced(
    config, data, metric, name, variant, seed, contender, done
) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Run ``contender`` on ``data`` (dataset ``name`` in ``variant``, split ``seed``) and
    return its CSV row and, for a search with ``config.anytime``, its anytime rows; ``done``
    holds the rows run so far (a ``time_of`` contender reads its budget there). A
    warm-starting search gets the case's portfolio (``config.portfolios``). A failure is
    recorded in the row, never swallowed."""
    spec = CONTENDERS[contender]
    budget = config.budget
    if spec.time_of is not None:
        ref = done.get(config.key_of(name, variant.name, seed, spec.time_of))
        seconds = float(ref["seconds"]) if ref else math.nan
        budget = replace(budget, time_budget_s=seconds if seconds == seconds else None)
    from losstune.metrics import get_metric

    row: dict[str, object] = dict(
        zip(KEY, config.key_of(name, variant.name, seed, contender), strict=True)
    )
    row.update(
        task=data.task.value,
        metric=metric,
        greater_is_better=get_metric(metric, data.task).greater_is_better,
        damaged=variant.damaged,
        time_budget_s=budget.time_budget_s,
        n_train=len(data.y_train),
        error="",
    )
    logger.info("%s / %s seed %d: %s ...", name, variant.name, seed, contender)
    with tempfile.TemporaryDirectory(prefix=f"quality-{contender}-") as tmp, _quiet():
        try:
            if spec.warm_start and config.portfolios is not None:
                budget = replace(budget, portfolio=config.portfolios.path_for(name))
            result = spec.run(data, metric=metric, budget=budget, seed=seed, workdir=Path(tmp))
        except Exception as err:  # recorded in the CSV and the report's failure table
            logger.error(
                "%s failed on %s / %s seed %d:\n%s",
                contender,
                name,
                variant.name,
                seed,
                traceback.format_exc(),
            )
            row.update(
                valid_score=math.nan,
                test_score=math.nan,
                seconds=math.nan,
                n_trials=0,
                note="",
                error=f"{type(err).__name__}: {err}",
            )
            return row, []
    note = result.note
    if spec.warm_start:
        note = f"portfolio={budget.portfolio.name if budget.portfolio else 'shipped'} {note}"
    row.update(
        valid_score=result.valid_score,
        test_score=result.test_score,
        seconds=result.seconds,
        n_trials=result.n_trials,
        note=note,
    )
    logger.info(
        "  test %s = %.4f in %.1f s (%d trials)",
        metric,
        result.test_score,
        result.seconds,
        result.n_trials,
    )
    steps: list[dict[str, object]] = []
    if config.anytime and result.trials:
        start = time.perf_counter()
        folder = config.work / "scores" if config.work is not None else None
        scores = RetrainScores(data, metric, seed, budget.device, folder)
        with _quiet():
            steps = trace(result.trials, bool(row["greater_is_better"]), scores)
        head = {k: row[k] for k in ANYTIME_COLUMNS if k in row}
        steps = [{**head, **step} for step in steps]
        logger.info("  anytime: incumbents re-trained in %.1f s", time.perf_counter() - start)
    return row, steps


@contextlib.contextmanager
def _quiet():
    """Hush the libraries' user and deprecation warnings (FLAML's joblib calls raise one
    per model), which some of them re-enable on import."""
    with warnings.catch_warnings():
        for category in (UserWarning, FutureWarning, DeprecationWarning):
            warnings.simplefilter("ignore", category)
        yield


def frame(config: Config) -> pd.DataFrame:
    """The CSV rows of ``config``'s cases and budget, in ``config``'s order."""
    if not config.csv.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    rows = pd.read_csv(
        config.csv,
        keep_default_na=False,
        na_values=["nan", "NaN", ""],
        dtype={"error": str, "note": str},
    )
    b = config.budget
    mine = (
        rows["dataset"].isin(config.datasets)
        & rows["variant"].isin(config.variants)
        & rows["contender"].isin(config.contenders)
        & (rows["seed"] < config.seeds)
        & (rows["trials"] == b.n_trials)
        & (rows["epochs"] == b.epochs)
        & (rows["top_k"] == b.top_k)
        & (rows["final_seeds"] == b.final_seeds)
    )
    rows = rows[mine].copy()
    rows["error"] = rows["error"].fillna("").astype(str)
    rows["damaged"] = rows["damaged"].astype(str).str.lower() == "true"
    rows["greater_is_better"] = rows["greater_is_better"].astype(str).str.lower() == "true"
    order = {
        "dataset": {n: i for i, n in enumerate(config.datasets)},
        "variant": {n: i for i, n in enumerate(config.variants)},
        "contender": {n: i for i, n in enumerate(config.contenders)},
    }
    return rows.sort_values(
        ["dataset", "variant", "contender", "seed"],
        key=lambda col: col.map(order[col.name]) if col.name in order else col,
    )


def write_report(config: Config, rows: pd.DataFrame, argv: Sequence[str], wall_s: float) -> None:
    """The Markdown page, the plot and (already written) the CSV of ``config``."""
    summary = report.summarize(rows)
    comparison = (
        report.compare(summary, REFERENCE)
        if not summary.empty
        else pd.DataFrame(
            columns=[
                "dataset",
                "variant",
                "damaged",
                "contender",
                "outcome",
                "gain",
                "relative_gain",
            ]
        )
    )
    checks = report.verdict(comparison, REFERENCE, BASELINE, DEFAULT)
    plot_name = None
    if not comparison.empty:
        plot_name = report.plot(comparison, REFERENCE, config.png).name
    page = report.markdown(
        summary,
        comparison,
        checks,
        header=[*header(config, argv, wall_s), "", portfolio_sentence(config, rows)],
        contenders=[
            (c.name, c.description, c.budget_rule)
            for c in (CONTENDERS[n] for n in config.contenders)
        ],
        variants=[(v, VARIANTS[v].description) for v in config.variants],
        plot_name=plot_name,
        csv_name=config.csv.name,
        failures=rows[rows["error"] != ""],
        reference=REFERENCE,
    )
    config.out.parent.mkdir(parents=True, exist_ok=True)
    config.out.write_text(page)


def portfolio_sentence(config: Config, rows: pd.DataFrame) -> str:
    """Where the warm-starting contenders' portfolios came from, by the notes of their rows
    (a run records its portfolio file there; rows recorded before the warm start name none)."""
    warm = [c for c in config.contenders if CONTENDERS[c].warm_start]
    if not warm:
        return "No contender here warm-starts from a portfolio."
    where = (
        config.portfolios.describe()
        if config.portfolios is not None
        else f"{', '.join(warm)} warm-started from the portfolio shipped in the package."
    )
    ran = rows[rows["contender"].isin(warm) & (rows["error"] == "")]
    cold = int((~ran["note"].fillna("").astype(str).str.startswith("portfolio=")).sum())
    if cold == 0:
        return where
    older = (
        f"{cold} of the {len(ran)} rows of {', '.join(warm)} name no portfolio: they were "
        "recorded before the warm start existed (cold searches)."
    )
    return older if cold == len(ran) else f"{where} {older}"


def header(
    config: Config,
    argv: Sequence[str],
    wall_s: float,
    *,
    script: str = "benchmarks/quality.py",
    machine_note: str = "",
) -> list[str]:
    """The report's opening paragraphs: the command (``python script argv``), machine and
    commit (``machine_note`` is appended to the machine line), budget, seeds and metric."""
    import losstune

    b = config.budget
    final = "seed s+1" if b.final_seeds == 1 else f"seeds s+1..s+{b.final_seeds}"
    command = shlex.join(["python", script, *argv])
    return [
        f"Command: `{command}`",
        "",
        f"Machine: {machine()} ({b.threads} threads per contender), losstune "
        f"{losstune.__version__} (commit {commit()}), device {b.device}.{machine_note}",
        "",
        f"Budget: {b.n_trials} trials per search, {b.epochs} epochs per MLP, final selection "
        f"top {b.top_k} x {b.final_seeds} seeds; {config.seeds} split seeds "
        f"(0..{config.seeds - 1}). Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; this "
        f"invocation took {wall_s:.0f} s (rows resumed from the CSV are not re-run).",
        "",
        "A *seed* s fixes the data split (`losstune.datasets.load(name, seed=s)`), the damage "
        "of a variant and the contender's randomness (recipe seed, search seed, LightGBM "
        "`random_state`, tuner and FLAML seeds). For the losstune searches the score of "
        f"seed s is the mean test score of the selected recipe re-trained on {final} "
        "(what `losstune.search` reports). Intervals are Student-t 95% over the split seeds; "
        f"{t_note(config.seeds)}.",
        "",
        "Metric: balanced accuracy for long-tailed variants and for datasets whose smallest "
        "class holds under 20% of the rows, accuracy for other classification, RMSE for "
        "regression. Damage touches training and validation labels only; test labels are "
        "clean (and balanced for the long tail).",
    ]


def t_note(seeds: int) -> str:
    """How wide a 95% interval over ``seeds`` values is, in words."""
    if seeds < 2:
        return "with 1 seed an interval has zero width, so any difference is a win or a loss"
    from scipy import stats

    t = float(stats.t.ppf(0.975, seeds - 1))
    return (
        f"with {seeds} seeds the half-width is {t:.1f} x sd / sqrt({seeds}), so small "
        "differences are ties"
    )


def check_counts(counts: Mapping[str, int]) -> None:
    """Exit naming the first command-line option (``--trials``, ...) that is not >= 1."""
    for name, number in counts.items():
        if number < 1:
            raise SystemExit(f"{name} must be >= 1; got {number}.")


def command_line_budget(args: argparse.Namespace, device: str = "cpu") -> Budget:
    """The :class:`Budget` of a benchmark command line with ``--trials``, ``--epochs``,
    ``--top-k``, ``--final-seeds``, ``--seeds``, ``--jobs`` and ``--threads`` (default: the
    cores shared by the jobs), each checked >= 1."""
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    check_counts(
        {
            "--trials": args.trials,
            "--epochs": args.epochs,
            "--top-k": args.top_k,
            "--final-seeds": args.final_seeds,
            "--seeds": args.seeds,
            "--jobs": args.jobs,
            "--threads": threads,
        }
    )
    return Budget(
        n_trials=args.trials,
        time_budget_s=None,
        epochs=args.epochs,
        top_k=args.top_k,
        final_seeds=args.final_seeds,
        threads=threads,
        device=device,
    )


def parse_names(text: str, known: Sequence[str], what: str) -> tuple[str, ...]:
    """The comma-separated names of ``text``; exits naming any not in ``known``."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SystemExit(f"Unknown {what} {unknown}; choose from {', '.join(known)}.")
    return names


def parse_args(argv: Sequence[str]) -> tuple[Config, bool]:
    """The :class:`Config` of a command line (``--quick`` changes the defaults only) and
    whether to rebuild the report only."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a run of minutes: 3 small datasets, clean + noise40, 6 trials, "
        "2 seeds, 10 epochs, into docs/benchmarks/quality-quick.md",
    )
    parser.add_argument("--datasets", help="comma-separated names from losstune.datasets")
    parser.add_argument("--variants", help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument(
        "--contenders",
        default=",".join(DEFAULT_CONTENDERS),
        help=f"comma-separated, of {', '.join(CONTENDERS)} "
        f"(default: {', '.join(DEFAULT_CONTENDERS)})",
    )
    parser.add_argument("--trials", type=int, help="trials per search (full 40, quick 6)")
    parser.add_argument("--seeds", type=int, help="split seeds 0..S-1 (full 3, quick 2)")
    parser.add_argument("--epochs", type=int, help="epochs per MLP (full 30, quick 10)")
    parser.add_argument("--top-k", type=int, help="final candidates (full 3, quick 2)")
    parser.add_argument("--final-seeds", type=int, help="final re-training seeds (full 3, quick 1)")
    parser.add_argument(
        "--threads",
        type=int,
        default=os.cpu_count() or 1,
        help="CPU threads for every contender (default: all)",
    )
    parser.add_argument("--device", default="cpu", help="torch device of the MLPs")
    parser.add_argument(
        "--out",
        type=Path,
        help="the Markdown report; the CSV and PNG go "
        "beside it (default docs/benchmarks/quality[-quick].md)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rebuild the report from the CSV without running anything",
    )
    parser.add_argument(
        "--anytime",
        action="store_true",
        help="re-train every search's incumbents for its anytime curve (<report>-anytime.csv)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        help="the work folder (built portfolios, cached scores; default "
        "losstune-runs/benchmarks/<report name>)",
    )
    add_arguments(parser)
    args = parser.parse_args(list(argv))
    quick = args.quick

    def pick(value, full, fast):
        return value if value is not None else (fast if quick else full)

    from losstune.datasets import names as registered

    if args.datasets:
        datasets = parse_names(args.datasets, registered(), "datasets")
    else:
        datasets = QUICK_DATASETS if quick else FULL_DATASETS
    variants = (
        parse_names(args.variants, list(VARIANTS), "variants")
        if args.variants
        else (QUICK_VARIANTS if quick else FULL_VARIANTS)
    )
    contenders = parse_names(args.contenders, list(CONTENDERS), "contenders")
    check_counts(
        {
            "--trials": pick(args.trials, 40, 6),
            "--seeds": pick(args.seeds, 3, 2),
            "--epochs": pick(args.epochs, 30, 10),
            "--threads": args.threads,
        }
    )
    budget = Budget(
        n_trials=pick(args.trials, 40, 6),
        time_budget_s=None,
        epochs=pick(args.epochs, 30, 10),
        top_k=pick(args.top_k, 3, 2),
        final_seeds=pick(args.final_seeds, 3, 1),
        threads=args.threads,
        device=args.device,
    )
    default_out = REPO / "docs" / "benchmarks" / ("quality-quick.md" if quick else "quality.md")
    out = args.out or default_out
    work = work_folder(args.work, out)
    config = Config(
        datasets,
        variants,
        contenders,
        pick(args.seeds, 3, 2),
        budget,
        out,
        portfolios=plan_of(args, work),
        anytime=args.anytime,
        work=work,
    )
    return config, args.report_only


def work_folder(work: Path | None, out: Path) -> Path:
    """The work folder: ``work``, else ``losstune-runs/benchmarks/<report name>`` (ignored
    by git)."""
    return work if work is not None else REPO / "losstune-runs" / "benchmarks" / out.stem


def log_progress() -> None:
    """Progress lines of the benchmarks on stderr (other libraries keep their own levels);
    MLflow's telemetry off."""
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def main(argv: Sequence[str] | None = None) -> Path:
    """Run (or resume) the benchmark of the command line and write its report."""
    argv = list(sys.argv[1:] if argv is None else argv)
    config, report_only = parse_args(argv)
    log_progress()
    import torch

    torch.set_num_threads(config.budget.threads)
    start = time.perf_counter()
    rows = frame(config) if report_only else run_benchmark(config)
    write_report(config, rows, argv, time.perf_counter() - start)
    logger.info("report: %s (CSV %s)", config.out, config.csv)
    return config.out


if __name__ == "__main__":
    main()
