"""Recorded learning curves: what the pruning benchmark replays instead of training.

One gzipped JSON file holds every dataset's trials: per trial its configuration, the
validation metric after each epoch, how it ended (``complete`` or ``failed`` at the epoch it
stopped), its final validation and test values and its seconds per epoch. The loader checks
the whole file and names the first bad field, so a replay never runs on a damaged record.

Example:
    >>> trial = RecordedTrial({}, (0.5, 0.7), "complete", 2, 0.7, 0.68, 0.01)
    >>> data = DatasetCurves("toy", "binary", "accuracy", True, 2, (trial,))
    >>> data.best_value, data.epochs_without_pruning
    (0.7, 2)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "losstune-pruning-curves"
VERSION = 1
STATES = ("complete", "failed")


class CurveFileError(ValueError):
    """A recorded-curves file that cannot be replayed; the message names the bad field."""


@dataclass(frozen=True)
class RecordedTrial:
    """One full-length trial as it was trained, with no pruning.

    Attributes:
        config: the sampled configuration (:func:`losstune.spaces.optuna_adapter.suggest`).
        curve: the validation metric after epochs ``1..len(curve)``; NaN where it was
            undefined (a search skips such a report).
        state: ``"complete"``, or ``"failed"`` (diverged or NaN) during epoch ``stopped_epoch``.
        stopped_epoch: the epochs it consumed: the trial's epochs when complete, the epoch it
            failed in otherwise (its curve then holds the epochs before).
        valid: the final validation value (NaN when failed).
        test: the test value of the final model (NaN when failed).
        seconds_per_epoch: training wall time per epoch consumed, one thread.
        error: why it failed (empty when complete).
    """

    config: Mapping[str, Any]
    curve: tuple[float, ...]
    state: str
    stopped_epoch: int
    valid: float
    test: float
    seconds_per_epoch: float
    error: str = ""

    @property
    def complete(self) -> bool:
        return self.state == "complete"


@dataclass(frozen=True)
class DatasetCurves:
    """Every recorded trial of one dataset, in the order they were sampled."""

    dataset: str
    task: str
    metric: str
    greater_is_better: bool
    epochs: int
    trials: tuple[RecordedTrial, ...]
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def direction(self) -> str:
        """Optuna's study direction for this metric."""
        return "maximize" if self.greater_is_better else "minimize"

    @property
    def best_value(self) -> float:
        """The best final validation value of the complete trials: the no-pruning incumbent."""
        values = [t.valid for t in self.trials if t.complete]
        if not values:
            return math.nan
        return max(values) if self.greater_is_better else min(values)

    @property
    def fingerprint(self) -> str:
        """A short hash of everything recorded for this dataset (as it is saved)."""
        text = json.dumps(_dataset_payload(self), sort_keys=True, allow_nan=False, default=str)
        return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()

    @property
    def epochs_without_pruning(self) -> int:
        """Epochs all trials consume when none is pruned (failed ones stop where they fail)."""
        return sum(t.stopped_epoch for t in self.trials)


@dataclass(frozen=True)
class CurveSet:
    """The whole recording: datasets by name and how they were recorded."""

    datasets: Mapping[str, DatasetCurves]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> Path:
        """Write the set as gzipped JSON (values rounded to 6 significant digits)."""
        for name, data in self.datasets.items():
            if name != data.dataset:
                raise ValueError(f"Key {name!r} holds dataset {data.dataset!r}; key by name.")
        payload = {
            "format": FORMAT,
            "version": VERSION,
            "provenance": dict(self.provenance),
            "datasets": [_dataset_payload(d) for d in self.datasets.values()],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(payload, separators=(",", ":"), allow_nan=False, default=str)
        partial = path.with_name(path.name + ".partial")
        with gzip.open(partial, "wt", encoding="utf-8", compresslevel=9) as f:
            f.write(text)
        partial.replace(path)  # a reader never sees a half-written file
        return path


def load_curves(path: str | Path) -> CurveSet:
    """Read and check a file written by :meth:`CurveSet.save`.

    Raises:
        CurveFileError: the file is not gzipped JSON of this format, or a field is missing
            or inconsistent (the message names the dataset, trial and field).
    """
    path = Path(path)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            payload = json.load(f)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CurveFileError(
            f"{path} is not a gzipped JSON curves file ({err}); re-create it with "
            "`python benchmarks/pruning.py record`."
        ) from None
    return parse_curves(payload, source=str(path))


def parse_curves(payload: Any, source: str = "curves") -> CurveSet:
    """The :class:`CurveSet` of a decoded payload; raises :class:`CurveFileError`."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CurveFileError(f"{source}: not a {FORMAT!r} file (its 'format' field differs).")
    if payload.get("version") != VERSION:
        raise CurveFileError(
            f"{source}: version {payload.get('version')!r}, this reader knows {VERSION}; "
            "re-record the curves."
        )
    items = payload.get("datasets")
    if not isinstance(items, list) or not items:
        raise CurveFileError(f"{source}: 'datasets' must be a non-empty list.")
    datasets = {}
    for item in items:
        data = _parse_dataset(item, source)
        if data.dataset in datasets:
            raise CurveFileError(f"{source}: dataset {data.dataset!r} appears twice.")
        datasets[data.dataset] = data
    provenance = payload.get("provenance", {})
    return CurveSet(datasets, provenance if isinstance(provenance, dict) else {})


def _dataset_payload(data: DatasetCurves) -> dict[str, Any]:
    return {
        "dataset": data.dataset,
        "task": data.task,
        "metric": data.metric,
        "greater_is_better": data.greater_is_better,
        "epochs": data.epochs,
        "info": dict(data.info),
        "trials": [
            {
                "config": dict(t.config),
                "curve": [_round(v) for v in t.curve],
                "state": t.state,
                "stopped_epoch": t.stopped_epoch,
                "valid": _round(t.valid),
                "test": _round(t.test),
                "seconds_per_epoch": _round(t.seconds_per_epoch, 3),
                "error": t.error,
            }
            for t in data.trials
        ],
    }


def _round(value: float, digits: int = 6) -> float | None:
    """JSON has no NaN: undefined values are written as null."""
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(f"{value:.{digits}g}")


def _parse_dataset(item: Any, source: str) -> DatasetCurves:
    if not isinstance(item, dict):
        raise CurveFileError(f"{source}: every entry of 'datasets' must be an object.")
    name = item.get("dataset")
    where = f"{source}: dataset {name!r}"
    for key, kind in (("dataset", str), ("task", str), ("metric", str), ("epochs", int)):
        if not isinstance(item.get(key), kind):
            raise CurveFileError(f"{where}: field {key!r} must be a {kind.__name__}.")
    if not isinstance(item.get("greater_is_better"), bool):
        raise CurveFileError(f"{where}: field 'greater_is_better' must be true or false.")
    epochs = item["epochs"]
    if epochs < 1:
        raise CurveFileError(f"{where}: 'epochs' is {epochs}, must be >= 1.")
    raw = item.get("trials")
    if not isinstance(raw, list) or not raw:
        raise CurveFileError(f"{where}: 'trials' must be a non-empty list.")
    trials = tuple(_parse_trial(t, epochs, f"{where}, trial {i}") for i, t in enumerate(raw))
    if not any(t.complete for t in trials):
        raise CurveFileError(f"{where}: no trial is complete, so there is no incumbent.")
    info = item.get("info", {})
    return DatasetCurves(
        name,
        item["task"],
        item["metric"],
        item["greater_is_better"],
        epochs,
        trials,
        info if isinstance(info, dict) else {},
    )


def _parse_trial(item: Any, epochs: int, where: str) -> RecordedTrial:
    if not isinstance(item, dict):
        raise CurveFileError(f"{where}: must be an object.")
    state = item.get("state")
    if state not in STATES:
        raise CurveFileError(f"{where}: 'state' is {state!r}, must be one of {STATES}.")
    curve = item.get("curve")
    if not isinstance(curve, list):
        raise CurveFileError(f"{where}: 'curve' must be a list of numbers (null for NaN).")
    values = tuple(_number(v, f"{where}: 'curve'") for v in curve)
    stopped = item.get("stopped_epoch")
    if not isinstance(stopped, int) or not 1 <= stopped <= epochs:
        raise CurveFileError(f"{where}: 'stopped_epoch' is {stopped!r}, must be in 1..{epochs}.")
    if state == "complete" and (stopped != epochs or len(values) != epochs):
        raise CurveFileError(
            f"{where}: a complete trial must have stopped_epoch == epochs == {epochs} and "
            f"{epochs} curve values; got stopped_epoch {stopped} and {len(values)} values."
        )
    if state == "failed" and len(values) not in (stopped - 1, stopped):
        raise CurveFileError(
            f"{where}: a trial failed in epoch {stopped} must have {stopped - 1} or {stopped} "
            f"curve values; got {len(values)}."
        )
    valid = _number(item.get("valid"), f"{where}: 'valid'")
    if state == "complete" and math.isnan(valid):
        raise CurveFileError(f"{where}: a complete trial needs a finite 'valid' value.")
    config = item.get("config", {})
    if not isinstance(config, dict):
        raise CurveFileError(f"{where}: 'config' must be an object.")
    return RecordedTrial(
        config=config,
        curve=values,
        state=state,
        stopped_epoch=stopped,
        valid=valid,
        test=_number(item.get("test"), f"{where}: 'test'"),
        seconds_per_epoch=_number(item.get("seconds_per_epoch"), f"{where}: 'seconds_per_epoch'"),
        error=str(item.get("error", "")),
    )


def _number(value: Any, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CurveFileError(f"{where} must hold numbers or null; got {value!r}.")
    return float(value)
