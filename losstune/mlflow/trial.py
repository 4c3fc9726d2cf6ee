"""One trial as a nested MLflow run: per-epoch metrics, then its end state.

Per-epoch metrics are buffered and written with ``log_batch``: a search reports thousands of
them and each write to a SQLite store costs milliseconds, so they are flushed when the
trial ends and otherwise at most every ``flush_every_s`` seconds (checked on each report; no
background thread). Non-finite values are logged as NaN, so a diverged epoch still shows at
its step (the SQL store would clamp inf to +-1.8e308 and flatten every chart).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from losstune.mlflow._batch import log_metrics, metric_value, metrics_at, now_ms, set_tags
from losstune.mlflow.naming import OBJECTIVE_TAG, PRUNED_SUFFIX

STATES = ("complete", "pruned", "failed", "interrupted")
_STATUS = {
    "complete": "FINISHED",
    "pruned": "FINISHED",
    "failed": "FAILED",
    "interrupted": "KILLED",
}


class TrialRun:
    """The nested run of one trial; created by :meth:`SearchTracker.start_trial`.

    It is also a reporter (``report(epoch, metrics)``), so a runner can log to it directly.
    Used as a context manager, a trial that raises is ended as ``failed`` (tag ``error``).

    A trial stopped by a pruner should call ``end("pruned", ...)`` before re-raising::

        with tracker.start_trial(3, params) as run:
            try:
                value = train(config, data, reporter=run)
            except optuna.TrialPruned:
                run.end("pruned", run.last("valid_accuracy"))
                raise
            run.end("complete", value)

    ``name`` is the run's name (a pruned trial's gets `` (pruned)`` appended, which the runs
    table shows); ``objective`` the metric its value is logged under (``valid_accuracy``:
    the value is the final point of that curve, logged only when it differs from the last
    reported one). Left None, both are read from the store when the trial ends, the
    objective from the search's run (tag ``losstune.objective``, else ``value``): a run
    reopened by id, e.g. by the Ray driver, ends like the one that logged its epochs.
    """

    def __init__(
        self,
        client: MlflowClient,
        run_id: str,
        number: int,
        flush_every_s: float = 5.0,
        on_end: Callable[[str], None] | None = None,
        *,
        name: str | None = None,
        objective: str | None = None,
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.number = number
        self.flush_every_s = flush_every_s
        self.name = name
        self.objective = objective
        self.state: str | None = None
        self._on_end = on_end
        self._buffer: list[Metric] = []
        self._latest: dict[str, float] = {}
        self._last_step: dict[str, int] = {}
        self._started = time.monotonic()
        self._flushed = self._started

    def log_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        """Buffer ``metrics`` at ``step=epoch``; flush if ``flush_every_s`` has passed."""
        if self.state is not None:
            raise RuntimeError(f"Trial {self.number} already ended as {self.state!r}.")
        self._buffer.extend(metrics_at(metrics, int(epoch), now_ms()))
        self._latest.update({key: metric_value(value) for key, value in metrics.items()})
        self._last_step.update(dict.fromkeys(metrics, int(epoch)))
        if time.monotonic() - self._flushed >= self.flush_every_s:
            self.flush()

    report = log_epoch

    def last(self, metric: str) -> float | None:
        """The last reported value of ``metric`` (``None`` if never reported)."""
        return self._latest.get(metric)

    def flush(self) -> None:
        """Write the buffered metrics now."""
        buffer, self._buffer = self._buffer, []
        log_metrics(self.client, self.run_id, buffer)
        self._flushed = time.monotonic()

    def end(
        self,
        state: str,
        value: float | None = None,
        duration_s: float | None = None,
        tags: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        """Flush, then log ``value`` (under the objective's name, see the class doc),
        ``duration_s`` (default: time since the trial started) and any other whole-trial
        ``metrics`` (e.g. a predicted final value), tag ``state``, name a pruned run
        ``<name> (pruned)`` and terminate the run: FINISHED when complete or pruned, KILLED
        when interrupted (it is retried when the search resumes), else FAILED."""
        if state not in STATES:
            raise ValueError(f"Trial state {state!r} is not one of {', '.join(STATES)}.")
        if self.state is not None:
            raise RuntimeError(f"Trial {self.number} already ended as {self.state!r}.")
        if duration_s is None:
            duration_s = time.monotonic() - self._started
        final = {**(metrics or {}), "duration_s": duration_s}
        if self.objective is None or (state == "pruned" and self.name is None):
            self._read_store()
        if value is not None:
            self._log_objective(value)
        self._buffer.extend(metrics_at(final, 0, now_ms()))
        self.flush()
        set_tags(self.client, self.run_id, {**(tags or {}), "state": state})
        if state == "pruned" and self.name and not self.name.endswith(PRUNED_SUFFIX):
            self.client.update_run(self.run_id, name=self.name + PRUNED_SUFFIX)
        self.client.set_terminated(self.run_id, _STATUS[state])
        self.state = state
        if self._on_end is not None:
            self._on_end(self.run_id)

    def _log_objective(self, value: float) -> None:
        """``value`` under the objective at the curve's last step, unless it is that point."""
        key = self.objective or "value"
        value = metric_value(value)
        last = self._latest.get(key)
        if last is not None and (last == value or (math.isnan(last) and math.isnan(value))):
            return
        self._buffer.extend(metrics_at({key: value}, self._last_step.get(key, 0), now_ms()))

    def _read_store(self) -> None:
        """The run's name, the objective recorded on its search and the latest value of
        that metric, for a run this object did not start (two reads)."""
        run = self.client.get_run(self.run_id)
        self.name = self.name or run.info.run_name
        if self.objective is None:
            parent = run.data.tags.get(MLFLOW_PARENT_RUN_ID)
            tags = self.client.get_run(parent).data.tags if parent else {}
            self.objective = tags.get(OBJECTIVE_TAG) or "value"
        key = self.objective
        if key not in self._latest and key in run.data.metrics:
            history = self.client.get_metric_history(self.run_id, key)
            if history:
                last = max(history, key=lambda m: (m.step, m.timestamp))
                self._latest[key] = metric_value(last.value)
                self._last_step[key] = last.step

    def __enter__(self) -> TrialRun:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.state is not None:
            return
        reason = "the trial block exited without TrialRun.end()"
        if error is not None:
            reason = f"{type(error).__name__}: {error}"
        self.end("failed", tags={"error": reason})
