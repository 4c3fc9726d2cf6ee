"""LightGBM objective cost: a boosting round with the derived cross-entropy objective against
LightGBM's built-in ``multiclass``.

Side by side in one run, on the same data and parameters (``num_threads`` = the CPUs torch
uses, row-wise histograms, deterministic, no bagging): each mode trains ``--rounds`` rounds
from the same start (the built-in boosts from the log class priors; the custom objective is
given the same :func:`~losstune.objectives.boosting.initial_score`), repeated ``--repeats``
times, and the median seconds per round are compared. ``grad_hess`` is also timed alone at the
start scores, so the table splits the custom round into derivation and tree building. The
goal is a custom round at most 3x the built-in one.

The data is generated (Gaussian features, labels from a noisy linear softmax model); the cost
of a round depends on rows, classes and features, not on the values.

Usage::

    python benchmarks/lightgbm_objective_cost.py                     # 100k rows x 10 classes
    python benchmarks/lightgbm_objective_cost.py --rows 20000 --precision float32
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import lightgbm as lgb
import numpy as np
import torch

from benchmarks.provenance import commit, machine
from losstune.objectives import make_loss
from losstune.objectives.boosting import BoostingObjective, initial_score
from losstune.task import Task


class Timing(NamedTuple):
    wall: float
    cpu: float


def dataset(rows: int, features: int, classes: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Features and class labels from a linear softmax model with Gumbel noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features))
    logits = x @ rng.normal(size=(features, classes)) + rng.gumbel(size=(rows, classes))
    return x, logits.argmax(axis=1)


def median_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, Timing]:
    """Median wall and process CPU seconds (all threads) of each run after one untimed run,
    the runs interleaved within every repeat so that load from other jobs drifts over all of
    them alike. CPU time is the steadier measure of work on a machine other jobs share."""
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for run in runs.values():  # warm-up (thread pools, allocator), not timed
        run()
    for _ in range(repeats):
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: Timing(statistics.median(wall[name]), statistics.median(cpu[name])) for name in runs
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", choices=("float64", "float32"), default="float64")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="LightGBM's")
    parser.add_argument("--torch-threads", type=int, default=0, help="0: torch's default")
    args = parser.parse_args(argv)
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)

    x, y = dataset(args.rows, args.features, args.classes)
    params = {
        "num_class": args.classes,
        "num_threads": args.threads,
        "deterministic": True,
        "force_row_wise": True,
        "seed": 0,
        "verbose": -1,
    }
    binning = {"verbose": -1}
    train_set = lgb.Dataset(x, y, params=binning, free_raw_data=False).construct()
    init = initial_score(Task.MULTICLASS, y, n_classes=args.classes)
    start_scores = np.tile(init, (args.rows, 1))
    custom_set = lgb.Dataset(
        x, y, init_score=start_scores, params=binning, free_raw_data=False
    ).construct()
    objectives = {
        "closed form": BoostingObjective(
            make_loss("cross_entropy"),
            Task.MULTICLASS,
            class_counts=np.bincount(y, minlength=args.classes),
            precision=args.precision,
        ),
    }
    objectives["derived"] = dataclasses.replace(objectives["closed form"], closed_forms=False)
    # the column-major view LightGBM hands a custom objective
    lightgbm_scores = np.asfortranarray(start_scores)

    def train_built_in() -> None:
        lgb.train({**params, "objective": "multiclass"}, train_set, args.rounds)

    def train_custom(objective: BoostingObjective) -> Callable[[], object]:
        def fobj(preds: np.ndarray, data: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
            return objective.grad_hess(preds, y)

        return lambda: lgb.train({**params, "objective": fobj}, custom_set, args.rounds)

    def grad_hess_alone(objective: BoostingObjective) -> Callable[[], object]:
        return lambda: objective.grad_hess(lightgbm_scores, y)

    runs: dict[str, Callable[[], object]] = {"built-in multiclass": train_built_in}
    for name, objective in objectives.items():
        runs[f"cross_entropy, {name}"] = train_custom(objective)
    rounds = {
        name: Timing(t.wall / args.rounds, t.cpu / args.rounds)
        for name, t in median_seconds(runs, args.repeats).items()
    }
    alone = median_seconds(
        {name: grad_hess_alone(objective) for name, objective in objectives.items()},
        args.repeats,
    )
    print(f"commit {commit()}; {machine()}")
    print(
        f"LightGBM threads: {args.threads}, torch threads: {torch.get_num_threads()}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}"
    )
    print(
        f"{args.rows} rows x {args.classes} classes x {args.features} features, "
        f"{args.rounds} rounds, median of {args.repeats}, precision {args.precision}"
    )
    print(f"{'mode':<34}{'wall s / round':>16}{'CPU s / round':>16}{'ratio (wall, CPU)':>22}")
    base = rounds["built-in multiclass"]
    for name, timing in rounds.items():
        ratio = f"{timing.wall / base.wall:.2f}x, {timing.cpu / base.cpu:.2f}x"
        print(f"{name:<34}{timing.wall:>16.4f}{timing.cpu:>16.4f}{ratio:>22}")
    for name, timing in alone.items():
        print(f"{'  grad_hess alone, ' + name:<34}{timing.wall:>16.4f}{timing.cpu:>16.4f}")
    print("goal: a custom round <= 3x the built-in one")


if __name__ == "__main__":
    main()
