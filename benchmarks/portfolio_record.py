"""Record the pool: train every candidate on every case and split seed, one CSV row each.

A *seed* ``s`` fixes the data split (``losstune.datasets.load(name, seed=s)``), the damage of
the variant (``seed=s``) and the recipe's training seed, as in the quality benchmark. Each
candidate trains the way a search trial does (its flat config through
:func:`losstune.spaces.config_to_recipe`, then :func:`losstune.runners.train`), with no
pruning. A failure (a diverged loss, a refused recipe) is a row with its reason.

Rows are appended as they finish (under a file lock, so several processes may share the CSV)
and rows already there (same case, seed, candidate and config) are skipped: an interrupted
or stopped record resumes where it stopped. The pool's configs are written beside the runs
(``portfolio-pool.csv``) so the build reads the exact configs that were trained.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import fcntl
import json
import logging
import math
import multiprocessing
import os
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.portfolio_cases import VARIANTS, case_regime, task_kind
from benchmarks.portfolio_pool import Candidate
from benchmarks.quality_cases import load_clean, make_case
from benchmarks.rows import read_rows

KEY = ("dataset", "variant", "seed", "candidate", "config_id")
COLUMNS = (
    *KEY,
    "regime",
    "kind",
    "task",
    "family",
    "metric",
    "greater_is_better",
    "valid_score",
    "test_score",
    "seconds",
    "n_train",
    "load1",
    "error",
)
POOL_COLUMNS = ("candidate", "kind", "source", "family", "config_id", "note", "config")
LOAD_ERRORS = (ImportError, LookupError, OSError, ValueError)

logger = logging.getLogger("losstune.benchmarks")


@dataclass(frozen=True)
class Job:
    """One case and split seed, with the candidates still to run on it."""

    dataset: str
    variant: str
    seed: int
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class RecordPlan:
    """What to record and where.

    Attributes:
        cases: ``(dataset, variant)`` pairs, in order.
        seeds: split seeds.
        pools: the candidates of each task kind (``"classification"``, ``"regression"``).
        csv: the runs CSV.
        jobs: processes at once (each trains one case at a time).
        threads: torch threads per process.
        device: torch device of the MLPs.
        stop_file: when this file appears, every process stops before its next candidate.
    """

    cases: tuple[tuple[str, str], ...]
    seeds: tuple[int, ...]
    pools: Mapping[str, tuple[Candidate, ...]]
    csv: Path
    jobs: int = 1
    threads: int = 1
    device: str = "cpu"
    stop_file: Path | None = None

    def __post_init__(self) -> None:
        if self.jobs < 1 or self.threads < 1:
            raise ValueError(f"jobs and threads must be >= 1; got {self.jobs}, {self.threads}.")
        if not self.cases or not self.seeds:
            raise ValueError("Nothing to record: no cases or no seeds.")

    def stopped(self) -> bool:
        """Whether the stop file exists."""
        return self.stop_file is not None and self.stop_file.exists()


def plan_jobs(plan: RecordPlan, done: set[tuple[str, ...]], kinds: Mapping[str, str]) -> list[Job]:
    """The jobs with something left to run, seed by seed (every case of seed 0 first, so a
    stopped record holds whole seeds); ``kinds`` maps a dataset to its task kind."""
    jobs = []
    for seed in plan.seeds:
        for dataset, variant in plan.cases:
            pool = plan.pools.get(kinds[dataset], ())
            todo = tuple(
                c for c in pool if (dataset, variant, str(seed), c.name, c.config_id) not in done
            )
            if todo:
                jobs.append(Job(dataset, variant, seed, todo))
    return jobs


def record(plan: RecordPlan) -> int:
    """Run every job of ``plan`` not yet in its CSV, ``plan.jobs`` at a time; the number of
    rows written."""
    from losstune.datasets import info

    done = {tuple(row[k] for k in KEY) for row in read_rows(plan.csv)}
    kinds = {
        d: "classification" if info(d).task != "regression" else "regression" for d, _ in plan.cases
    }
    todo = plan_jobs(plan, done, kinds)
    runs = sum(len(j.candidates) for j in todo)
    logger.info("%d runs in %d jobs to do (%d rows in %s)", runs, len(todo), len(done), plan.csv)
    if plan.jobs == 1:
        _start_worker(plan.threads)
        return sum(run_job(plan, job) for job in todo)
    context = multiprocessing.get_context("spawn")  # no torch thread pools forked mid-use
    written = 0
    with concurrent.futures.ProcessPoolExecutor(
        plan.jobs, mp_context=context, initializer=_start_worker, initargs=(plan.threads,)
    ) as pool:
        futures = [pool.submit(run_job, plan, job) for job in todo]
        try:
            for future in concurrent.futures.as_completed(futures):
                written += future.result()
                if plan.stopped():
                    pool.shutdown(wait=True, cancel_futures=True)
                    break
        except BaseException:  # Ctrl-C, a failed worker: keep the rows written, stop the rest
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return written


def _start_worker(threads: int) -> None:
    """Set up a (worker) process: torch threads, progress lines, quiet Optuna."""
    import torch

    from benchmarks.quality import log_progress

    torch.set_num_threads(threads)
    log_progress()


def run_job(plan: RecordPlan, job: Job) -> int:
    """Train ``job``'s candidates on its case, appending each row; the rows written. Stops
    before the next candidate when the stop file appears."""
    if plan.stopped():
        return 0
    try:
        clean = load_clean(job.dataset, job.seed)
    except LOAD_ERRORS as err:
        logger.error("dataset %s (seed %d) not loaded, skipped: %s", job.dataset, job.seed, err)
        return 0
    variant = VARIANTS[job.variant]
    if not variant.applies_to(clean):
        logger.warning("variant %s does not apply to %s; skipped", job.variant, job.dataset)
        return 0
    data, metric = make_case(clean, variant, job.seed)
    regime = case_regime(job.variant, data)
    started = time.perf_counter()
    written = 0
    for candidate in job.candidates:
        if plan.stopped():
            logger.info("stop file %s: stopping", plan.stop_file)
            break
        row = run_candidate(candidate, data, metric, job.seed, plan.device)
        row.update(dataset=job.dataset, variant=job.variant, seed=job.seed, regime=regime)
        append_locked(plan.csv, row, COLUMNS)
        written += 1
    logger.info(
        "%s / %s seed %d (%s): %d runs in %.0f s",
        job.dataset,
        job.variant,
        job.seed,
        regime,
        written,
        time.perf_counter() - started,
    )
    return written


def run_candidate(candidate: Candidate, data, metric: str, seed: int, device: str) -> dict:
    """Train ``candidate`` on ``data``; its row (without the case columns). A failure is
    recorded in the row's ``error``, never swallowed silently."""
    from losstune.metrics import get_metric
    from losstune.runners import train
    from losstune.spaces import config_to_recipe

    row: dict[str, object] = dict(
        candidate=candidate.name,
        config_id=candidate.config_id,
        kind=task_kind(data),
        task=data.task.value,
        family=candidate.family,
        metric=metric,
        greater_is_better=get_metric(metric, data.task).greater_is_better,
        n_train=len(data.y_train),
        load1=round(os.getloadavg()[0], 2),
        error="",
    )
    start = time.perf_counter()
    try:
        recipe = config_to_recipe(candidate.config, task=data.task, metric=metric, seed=seed)
        with _quiet():
            result = train(recipe, data, device=device)
        valid, test = float(result.valid_score), float(result.test_score)
    except Exception as err:  # recorded in the CSV; the build counts it as the worst score
        logger.warning("%s failed: %s", candidate.name, traceback.format_exc(limit=2))
        valid = test = math.nan
        row["error"] = f"{type(err).__name__}: {err}"[:300]
    row.update(valid_score=valid, test_score=test, seconds=round(time.perf_counter() - start, 2))
    return row


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hush the libraries' user and deprecation warnings while training."""
    with warnings.catch_warnings():
        for category in (UserWarning, FutureWarning, DeprecationWarning, RuntimeWarning):
            warnings.simplefilter("ignore", category)
        yield


def append_locked(path: Path, row: Mapping[str, object], columns: Sequence[str]) -> None:
    """Append ``row`` to the CSV at ``path`` under an exclusive lock (the header first when
    the file is empty), so processes sharing the file never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            writer = csv.DictWriter(handle, fieldnames=list(columns))
            if handle.tell() == 0:
                writer.writeheader()
            writer.writerow({key: row.get(key, "") for key in columns})
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_pool(path: Path, candidates: Sequence[Candidate]) -> None:
    """Write ``candidates`` (name, kind, source, family, config id, note, config JSON) to
    ``path``, replacing what was there: the build reads the members' configs from it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(POOL_COLUMNS))
        writer.writeheader()
        for c in candidates:
            writer.writerow(
                {
                    "candidate": c.name,
                    "kind": c.kind,
                    "source": c.source,
                    "family": c.family,
                    "config_id": c.config_id,
                    "note": c.note,
                    "config": json.dumps(dict(c.config)),
                }
            )


def read_pool(path: Path) -> tuple[Candidate, ...]:
    """The candidates of a pool CSV, in its order.

    Raises:
        FileNotFoundError: no pool CSV at ``path`` (run ``record`` first).
        ValueError: a row's config does not hash to its recorded config id.
    """
    if not path.is_file():
        raise FileNotFoundError(f"No pool file {path}; run `record` first, it writes one.")
    out = []
    for row in read_rows(path):
        config = json.loads(row["config"])
        candidate = Candidate(row["candidate"], row["kind"], config, row["note"], row["source"])
        if candidate.config_id != row["config_id"]:
            raise ValueError(
                f"{path}: the config of {candidate.name} hashes to {candidate.config_id}, not "
                f"its recorded {row['config_id']}; the file was edited by hand."
            )
        out.append(candidate)
    return tuple(out)
