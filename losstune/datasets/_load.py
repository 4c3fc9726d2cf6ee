"""Look up, read and load the registered datasets by name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from losstune.data import Dataset, load_dataset
from losstune.datasets._spec import DATASETS, DatasetSpec
from losstune.task import Task


def names(task: str | Task | None = None, *, size: str | None = None) -> list[str]:
    """Sorted names of the registered datasets, optionally only one task's and/or size class's.

    Example:
        >>> names("regression")
        ['ames', 'concrete', 'diabetes', 'diamonds']
    """
    wanted = None if task is None else Task.parse(task)
    if size is not None and size not in ("small", "medium", "large"):
        raise ValueError(f"Unknown size {size!r}; use 'small', 'medium' or 'large'.")
    return [
        name
        for name, spec in DATASETS.items()
        if (wanted is None or spec.task is wanted) and (size is None or spec.size == size)
    ]


def info(name: str) -> DatasetSpec:
    """The record of dataset ``name`` (case ignored): task, rows, source, metric, licence, note.

    Example:
        >>> spec = info("nassCDS")
        >>> spec.task.value, spec.rows, spec.drop
        ('binary', 26217, ('injSeverity', 'caseid', 'weight'))
    """
    return DATASETS.get(str(name).lower())


def frame(name: str) -> tuple[pd.DataFrame, str]:
    """Dataset ``name`` as one raw table and the name of its target column.

    For contenders that need the source columns (LightGBM, FLAML, ...): leaking columns are
    already dropped, the target is ``log(target)`` where the record says so, and every text
    column (target included) is a pandas ``category``, which LightGBM uses natively and
    which hashes the same under pandas 2 and 3. Nothing is imputed, scaled or split.
    """
    spec = info(name)
    table = spec.reader().drop(columns=list(spec.drop))
    if spec.log_target:
        table[spec.target_name] = np.log(table.pop(spec.target))
    for column in table.columns:
        values = table[column]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            table[column] = values.astype("category")
    return table, spec.target_name


def load(name: str, *, seed: int = 0, **load_dataset_kwargs: Any) -> Dataset:
    """Dataset ``name`` read offline and passed through :func:`~losstune.data.load_dataset`.

    ``load_dataset_kwargs`` (``test_size``, ``valid_size``, ``drop``, ...) go through as given;
    the target and task come from the record.

    Example:
        >>> data = load("wine", seed=0)
        >>> data.task.value, data.n_classes
        ('multiclass', 3)
    """
    fixed = sorted({"target", "task"} & set(load_dataset_kwargs))
    if fixed:
        raise TypeError(
            f"load() takes the target and task from the dataset's record; got {fixed}. Fix: "
            "to predict another column, call load_dataset(frame(name)[0], target=..., task=...)."
        )
    spec = info(name)
    table, target = frame(name)
    return load_dataset(table, target=target, task=spec.task, seed=seed, **load_dataset_kwargs)
