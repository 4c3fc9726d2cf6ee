"""What the target asks for: infer the task, check a stated one, encode the target for it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from losstune.data.errors import DataError, quoted
from losstune.task import Task

#: An integer-valued numeric target with at most this many distinct values is a class label.
MAX_INTEGER_CLASSES = 20


def infer_task(y: pd.Series | np.ndarray | Sequence[Any]) -> Task:
    """The task a target asks for, by a stated rule (missing values are ignored).

    1. A non-numeric target (object, string, category or bool) is a class label.
    2. A numeric target with any non-integer value is regression.
    3. An integer-valued numeric target is a class label when it has at most
       ``MAX_INTEGER_CLASSES`` (20) distinct values, and regression otherwise.
    4. A class label with 2 distinct values is ``binary``; with more, ``multiclass``.

    Pass ``task=`` to :func:`~losstune.data.load_dataset` when the rule guesses wrong (e.g.
    ``task="regression"`` for a count with few distinct values).

    Example:
        >>> infer_task(["cat", "dog", "cat"])
        <Task.BINARY: 'binary'>
        >>> infer_task([0.5, 1.25, 3.0])
        <Task.REGRESSION: 'regression'>
    """
    y = _present(y)
    n_values = y.nunique()
    if not is_numeric(y):
        return _classification(n_values)
    values = y.to_numpy(dtype=np.float64)
    if np.all(values == np.round(values)) and n_values <= MAX_INTEGER_CLASSES:
        return _classification(n_values)
    return Task.REGRESSION


def resolve_task(y: pd.Series, task: str | Task | None) -> Task:
    """``task`` checked against the target, or the inferred task when ``task`` is None."""
    if task is None:
        return infer_task(y)
    try:
        task = Task.parse(task)
    except ValueError as err:
        raise DataError(f"{err} Fix: pass one of them, or task=None to infer it.") from None
    y = _present(y)
    name = y.name
    if task is Task.REGRESSION and not is_numeric(y):
        raise DataError(
            f"task='regression' needs a numeric target, but {name!r} holds {y.dtype} values "
            f"such as {quoted(y.unique()[:3])}. Fix: use task='binary' or 'multiclass' "
            "(or task=None to infer it), or convert the column to numbers."
        )
    n_classes = y.nunique()
    if task is Task.BINARY and n_classes != 2:
        raise DataError(
            f"task='binary' needs 2 classes, but target {name!r} has {n_classes}: "
            f"{quoted(np.sort(y.unique()) if is_numeric(y) else y.unique())}. "
            "Fix: use task='multiclass' (or task=None to infer it)."
        )
    return task


def encode_target(
    y: pd.Series, task: Task, class_names: Sequence[Any] | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The target as the task needs it, and the classes (None for regression).

    Classification: int64 codes 0..K-1 and the K original labels in sorted order (category
    order for a categorical target); ``class_names`` (a ``Bunch``'s ``target_names``) replace
    integer labels by their names. Regression: float32 values.
    """
    if task is Task.REGRESSION:
        return y.to_numpy(dtype=np.float32), None
    codes, labels = pd.factorize(y, sort=True)
    classes = np.asarray(labels)
    if class_names is not None:
        classes = np.asarray(class_names)[classes.astype(np.int64)]
    return codes.astype(np.int64), classes


def is_numeric(y: pd.Series) -> bool:
    """Numbers that are not booleans (a bool target is a class label)."""
    return pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)


def _present(y: pd.Series | np.ndarray | Sequence[Any]) -> pd.Series:
    """The non-missing values of ``y``; refuses a target with fewer than 2 distinct values."""
    y = y if isinstance(y, pd.Series) else pd.Series(y, name="target")
    present = y.dropna()
    if present.empty:
        raise DataError(
            f"Target {y.name!r} has no values: all {len(y)} rows are missing (NaN). "
            "Fix: check that target= names the right column."
        )
    if present.nunique() < 2:
        raise DataError(
            f"Target {y.name!r} is constant: every row holds {present.iloc[0]!r}, so there is "
            "nothing to learn. Fix: choose another target column, or add rows of other classes."
        )
    return present


def _classification(n_classes: int) -> Task:
    return Task.BINARY if n_classes == 2 else Task.MULTICLASS
