"""A live progress bar for a search: trials done, best so far, pruned count, time left."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class SearchProgress:
    """Rich progress over the trial budget, then over the final re-training runs.

    Used as an Optuna callback (``progress(study, trial)``) after each trial. With only a
    time budget the bar counts seconds instead of trials.
    """

    def __init__(
        self, n_trials: int | None, done: int, metric: str, console: Console | None = None
    ) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.metric = metric
        self.pruned = 0
        self.failed = 0
        self.task = self.progress.add_task("trials", total=n_trials, completed=done, status="")

    def __enter__(self) -> SearchProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def __call__(self, study: Any, trial: Any) -> None:
        self.pruned += trial.state.name == "PRUNED"
        self.failed += trial.state.name == "FAIL"
        best = _best_value(study)
        status = f"best {self.metric} {best:.4f}" if best is not None else "no trial complete yet"
        status += f" · pruned {self.pruned}"
        if self.failed:
            status += f" · failed {self.failed}"
        self.progress.update(self.task, advance=1, status=status)

    def start_phase(self, description: str, total: int) -> None:
        """Switch the bar to a new phase (e.g. the final multi-seed re-training)."""
        self.progress.update(self.task, visible=True)
        self.task = self.progress.add_task(description, total=total, status="")

    def advance(self) -> None:
        self.progress.update(self.task, advance=1)


def _best_value(study: Any) -> float | None:
    try:
        value = study.best_value
    except ValueError:
        return None
    return None if value is None or math.isnan(value) else float(value)
