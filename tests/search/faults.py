"""Fault injection for a search: a signal sent to the search's own process at one point.

Shared by the in-process tests (SIGINT, SIGTERM) and the subprocess driver (SIGKILL) of
``test_faults.py``. Points: ``mid-trial`` (epoch 2 of trial 2), ``between-trials`` (after
trial 3 is told: between two batches of the batched executor) and ``final`` (before the
third re-training of the final selection).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

POINTS = ("mid-trial", "between-trials", "final")
SEARCH: dict[str, Any] = dict(
    metric="accuracy",
    n_trials=6,
    epochs=3,
    study_name="faults",
    pruner="none",
    top_k=2,
    n_seeds=2,
    seed=0,
)
EXECUTORS: dict[str, dict[str, Any]] = {
    "sequential": {"executor": "sequential"},
    "batched": {"executor": "batched", "batch_trials": 2},
}

Patch = Callable[[Any, str, Any], None]


def arm(point: str, sig: int, patch: Patch) -> dict[str, Any]:
    """Install the fault (``patch(owner, name, value)`` replaces an attribute) and return the
    search options it needs."""
    from losstune.search import evaluation
    from losstune.search.executors import batched, sequential

    def fire() -> None:
        os.kill(os.getpid(), sig)

    if point == "mid-trial":
        return {
            "on_epoch": lambda trial, epoch, metrics: fire() if (trial, epoch) == (2, 2) else None
        }
    if point == "between-trials":
        original = sequential.callbacks

        def with_fault(session: Any, study: Any, budget: bool = True) -> list[Any]:
            def after(study: Any, trial: Any) -> None:
                if trial.number == 3:
                    fire()

            return [*original(session, study, budget), after]

        patch(sequential, "callbacks", with_fault)
        patch(batched, "callbacks", with_fault)
        return {}
    if point == "final":
        train, calls = evaluation.train, []

        def train_with_fault(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            if len(calls) == 3:
                fire()
            return train(*args, **kwargs)

        patch(evaluation, "train", train_with_fault)
        return {}
    raise ValueError(f"unknown point {point!r}")


def main() -> None:
    """``python faults.py EXECUTOR POINT RUN_DIR``: a search SIGKILLed at POINT."""
    from sklearn.datasets import load_wine

    import losstune

    executor, point, run_dir = sys.argv[1:4]
    options = arm(point, signal.SIGKILL, setattr)
    data = losstune.load_dataset(load_wine())
    losstune.search(data, run_dir=run_dir, **SEARCH, **EXECUTORS[executor], **options)


if __name__ == "__main__":
    main()
