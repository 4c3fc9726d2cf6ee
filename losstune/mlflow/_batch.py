"""Turn Python values into MLflow entities and write them with as few ``log_batch`` calls as
MLflow allows (100 params or tags, 1000 metrics per call).

One call to a SQLite store costs about as much as one ``log_metric`` call (~3 ms), so a
batch of 1000 metrics is ~50x cheaper per metric than logging them one by one.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

MAX_PARAMS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000

_NAME = re.compile(r"^[/\w.\- :]+$")
_T = TypeVar("_T")


def now_ms() -> int:
    return int(time.time() * 1000)


def _chunks(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_name(kind: str, name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"{kind} name {name!r} is not accepted by MLflow: use letters, digits, '_', '-', "
            "'.', ':', ' ' and '/' only."
        )
    return name


def param_value(key: str, value: Any) -> str:
    text = str(value)
    if len(text) > MAX_PARAM_LENGTH:
        raise ValueError(
            f"Parameter {key!r} is {len(text)} characters long but MLflow keeps at most "
            f"{MAX_PARAM_LENGTH}; log the full value as an artifact with log_text() instead."
        )
    return text


def tag_values(tags: Mapping[str, Any]) -> dict[str, str]:
    """Tags are strings of at most 8000 characters: longer ones (error messages) are cut."""
    return {str(key): str(value)[:MAX_TAG_LENGTH] for key, value in tags.items()}


def metric_value(value: float) -> float:
    """NaN for NaN and +-inf: the SQL store clamps inf to +-1.8e308, which flattens charts."""
    value = float(value)
    return value if math.isfinite(value) else math.nan


def metrics_at(metrics: Mapping[str, float], step: int, timestamp: int) -> list[Metric]:
    return [
        Metric(check_name("Metric", key), metric_value(value), timestamp, step)
        for key, value in metrics.items()
    ]


def log_params(client: MlflowClient, run_id: str, params: Mapping[str, Any]) -> None:
    entities = [Param(check_name("Parameter", k), param_value(k, v)) for k, v in params.items()]
    for chunk in _chunks(entities, MAX_PARAMS_PER_BATCH):
        client.log_batch(run_id, params=list(chunk))


def log_metrics(client: MlflowClient, run_id: str, metrics: Sequence[Metric]) -> None:
    for chunk in _chunks(metrics, MAX_METRICS_PER_BATCH):
        client.log_batch(run_id, metrics=list(chunk))


def set_tags(client: MlflowClient, run_id: str, tags: Mapping[str, Any]) -> None:
    entities = [RunTag(key, value) for key, value in tag_values(tags).items()]
    for chunk in _chunks(entities, MAX_PARAMS_PER_BATCH):
        client.log_batch(run_id, tags=list(chunk))
