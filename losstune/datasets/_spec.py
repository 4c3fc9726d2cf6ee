"""``DatasetSpec``: one named dataset as data (where it is read from, its target, its leaks),
and ``DATASETS``, the registry of them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from losstune._registry import Registry
from losstune.task import Task

#: Size classes by row count: small below 2,000 rows, large above 10,000, medium between.
SMALL_ROWS, LARGE_ROWS = 2_000, 10_000


@dataclass(frozen=True)
class DatasetSpec:
    """What it takes to read one real dataset offline, and what to expect of it.

    Attributes:
        name: the registry name (lower case; lookups ignore case, so "nassCDS" works too).
        reader: a callable returning the raw table, target included (see ``_readers``);
            ``str(reader)`` is the ``source``.
        target: the target column of the raw table.
        task: binary, multiclass or regression (passed to ``load_dataset``, never inferred).
        rows: rows of the raw table, all of which have a target.
        metric: a suggested metric name from ``losstune.METRICS``.
        drop: columns removed before anything else because they leak the target (or are
            row ids that would let a model memorise rows).
        log_target: regress ``log(target)`` instead of the target (the column is then
            named ``log_<target>``); for prices and other positive, right-skewed targets.
        licence: the data's licence or terms, as far as the package states them.
        note: why the dataset is in the set and anything to know before using it.
    """

    name: str
    reader: Callable[[], pd.DataFrame]
    target: str
    task: Task
    rows: int
    metric: str
    drop: tuple[str, ...] = ()
    log_target: bool = False
    licence: str = ""
    note: str = ""

    @property
    def source(self) -> str:
        """The package and call the data is read with."""
        return str(self.reader)

    @property
    def size(self) -> str:
        """The size class: "small" (< 2,000 rows), "medium" or "large" (> 10,000 rows)."""
        if self.rows < SMALL_ROWS:
            return "small"
        return "large" if self.rows > LARGE_ROWS else "medium"

    @property
    def target_name(self) -> str:
        """The target column of :func:`~losstune.datasets.frame`'s table."""
        return f"log_{self.target}" if self.log_target else self.target


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec`` to ``DATASETS`` under its name."""
    return DATASETS.register(spec.name)(spec)
