"""What a search is called in MLflow, so that the UI reads well.

- one experiment per dataset, ``losstune/<dataset>`` (:func:`experiment_name`), marked as a
  model-training experiment (:data:`EXPERIMENT_KIND_TAG`), so MLflow 3's UI opens it on its
  runs instead of the GenAI "Traces" page;
- the parent run is ``<dataset> <metric> <date time>`` (:func:`search_run_name`);
- trials are ``trial-0007``, ``trial-0007 (pruned)`` once a pruner stopped them
  (:func:`trial_run_name`), and carry the optimizer's learning rate and weight decay under
  common names (:func:`common_params`) so trials of different optimizers sort and plot
  together;
- the selected recipe's values are the parent's ``recipe.*`` params (:func:`recipe_params`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from losstune.data import Dataset
    from losstune.recipe import Recipe

EXPERIMENT_PREFIX = "losstune"
# MLflow 3's UI reads this experiment tag to choose the experiment's page: GenAI ("Traces")
# or machine learning (runs); the value is the UI's "Machine learning" kind
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# the parent run's tag naming the metric that holds each trial's objective
OBJECTIVE_TAG = "losstune.objective"
PRUNED_SUFFIX = " (pruned)"
# hyperparameters every optimizer has, logged on each trial under these names as well
COMMON_OPTIMIZER_PARAMS = ("lr", "weight_decay")

_UNSAFE = re.compile(r"[^\w.\- ]+")


def dataset_name(dataset: Dataset, source: Mapping[str, Any] | None = None) -> str:
    """A readable name for ``dataset``: the file's stem when it was loaded from a file
    (``source["path"]``, as :func:`losstune.search.worker.file_source` records it), else its
    target column and the first 10 characters of its fingerprint (``target-1a2b3c4d5e``)."""
    path = (source or {}).get("path")
    stem = _UNSAFE.sub("_", Path(str(path)).stem).strip(" _") if path else ""
    if stem:
        return stem[:100]
    target = _UNSAFE.sub("_", str(dataset.target)).strip(" _")[:50] or "data"
    return f"{target}-{dataset.fingerprint[:10]}"


def experiment_name(name: str) -> str:
    """The experiment of the searches on dataset ``name``: ``losstune/<name>``."""
    return f"{EXPERIMENT_PREFIX}/{name}"


def search_run_name(name: str, metric: str, when: datetime | None = None) -> str:
    """The parent run's name: dataset, metric and start time, ``wine accuracy 2026-12-07 18:30``."""
    when = when or datetime.now()
    return f"{name} {metric} {when:%Y-%m-%d %H:%M}"


def trial_run_name(number: int, state: str | None = None) -> str:
    """A trial's run name: ``trial-0007``, or ``trial-0007 (pruned)`` for a pruned trial."""
    return f"trial-{number:04d}" + (PRUNED_SUFFIX if state == "pruned" else "")


def common_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The chosen optimizer's :data:`COMMON_OPTIMIZER_PARAMS` under their bare names (``lr``
    from ``optimizer.adamw.lr`` when ``optimizer`` is ``adamw``), and a model's own learning
    rate as ``lr`` (LightGBM's ``model.lightgbm.learning_rate``); keys ``params`` already has
    are left out."""
    out = {}
    optimizer = params.get("optimizer")
    for name in COMMON_OPTIMIZER_PARAMS if isinstance(optimizer, str) else ():
        key = f"optimizer.{optimizer}.{name}"
        if key in params and name not in params:
            out[name] = params[key]
    model = params.get("model")
    key = f"model.{model}.learning_rate"
    if isinstance(model, str) and key in params and "lr" not in params and "lr" not in out:
        out["lr"] = params[key]
    return out


def recipe_params(recipe: Recipe) -> dict[str, Any]:
    """``recipe``'s values as flat params prefixed ``recipe.``: a component's name under its
    field (``recipe.loss``: ``focal``), its hyperparameters below it (``recipe.loss.gamma``),
    scalars as they are (``recipe.batch_size``); ``none`` for no wrapper. The torch block's
    fields are named as the recipe's own (``recipe.optimizer``, ``recipe.epochs``). The task,
    metric, schema version and provenance are left out (the search's own params and tags hold
    them)."""
    out: dict[str, Any] = {}
    skipped = ("schema_version", "task", "metric", "provenance")
    data = recipe.to_dict()
    block = data.pop("torch", None) or {}
    for field, value in {**data, **block}.items():
        if field in skipped:
            continue
        if isinstance(value, Mapping):
            out[f"recipe.{field}"] = value["name"]
            out |= {f"recipe.{field}.{k}": v for k, v in value.get("params", {}).items()}
        else:
            out[f"recipe.{field}"] = "none" if value is None else value
    return out
