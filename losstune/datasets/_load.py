"""Look up, read and load the registered datasets by name."""

from __future__ import annotations

import decimal
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
    already dropped, the target is ``log(target)`` where the record says so (correctly
    rounded, see :func:`log_exact`), and every text column (target included) is a pandas
    ``category``, which LightGBM uses natively and which hashes the same under pandas 2 and 3.
    Nothing is imputed, scaled or split.
    """
    spec = info(name)
    table = spec.reader().drop(columns=list(spec.drop))
    if spec.log_target:
        target = table.pop(spec.target)
        table[spec.target_name] = pd.Series(
            log_exact(target.to_numpy(np.float64, na_value=np.nan)), index=target.index
        )
    for column in table.columns:
        values = table[column]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            table[column] = values.astype("category")
    return table, spec.target_name


def log_exact(values: np.ndarray) -> np.ndarray:
    """The natural log of ``values``, each correctly rounded to float64: the same bits on
    every machine.

    ``np.log`` is accurate to about 1 ulp and its last bit depends on the machine (numpy
    dispatches float64 log to SVML on AVX-512 CPUs and to libm elsewhere). log(9170) (a
    diamonds price) lies 0.49998 ulp above 9.12369256525051: glibc's libm (AVX2 CPUs) gives
    9.123692565250511, the machine that recorded the fingerprint gave 9.12369256525051, and
    that one bit changes the dataset fingerprint. Each distinct positive finite value is
    computed with ``decimal`` at rising precision until the interval holding the exact log
    rounds to one float64; zero, negatives, inf and NaN take ``np.log``'s special values.

    Example:
        >>> float(log_exact(np.array([9170.0]))[0])
        9.12369256525051
    """
    values = np.asarray(values, dtype=np.float64)
    result = np.log(values)
    regular = np.isfinite(values) & (values > 0)
    unique, inverse = np.unique(values[regular], return_inverse=True)
    result[regular] = np.array([_ln(v) for v in unique.tolist()], dtype=np.float64)[inverse]
    return result


def _ln(value: float) -> float:
    """log(value) correctly rounded to float64, for a positive finite ``value`` (Ziv's loop)."""
    if value == 1.0:
        return 0.0  # the one float whose log is exact; all others are transcendental
    exact = decimal.Decimal(value)  # float -> Decimal is exact
    for digits in (20, 40, 80):
        context = decimal.Context(prec=digits)
        approx = context.ln(exact)  # correctly rounded to `digits`: the log is within 1 step
        low = float(context.next_minus(approx))  # Decimal -> float rounds correctly
        if low == float(context.next_plus(approx)):
            return low  # rounding is monotone, so everything in between rounds to it too
    # Not reached for binary64: its hardest case for log needs about 118 bits (80 digits: 265).
    return float(decimal.Context(prec=160).ln(exact))


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
