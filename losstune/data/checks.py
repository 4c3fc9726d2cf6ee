"""Checks on the values of a source, the same for every kind of source.

Each check raises :class:`DataError` naming the column(s) and the fix, before anything is
split or fitted, so a bad dataset never yields a half-built :class:`Dataset`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from losstune.data.errors import DataError, missing_column_error, quoted
from losstune.data.sources import Source
from losstune.data.task import is_numeric


def drop_columns(source: Source, drop: Iterable[str]) -> Source:
    """``source`` without the ``drop`` columns (e.g. ones that leak the target)."""
    drop = [drop] if isinstance(drop, str) else [str(c) for c in drop]
    if source.target.name in drop:
        raise DataError(
            f"drop={drop!r} includes the target {source.target.name!r}. "
            "Fix: remove it from drop; to predict another column, pass that as target=."
        )
    columns = source.features.columns
    for name in drop:
        if name not in columns:
            raise missing_column_error(name, columns, "Dropped", "remove it from drop=.")
    return Source(source.features.drop(columns=drop), source.target, source.class_names)


def drop_missing_target(source: Source) -> Source:
    """``source`` without the rows whose target is missing, with a warning saying how many."""
    missing = source.target.isna().to_numpy()
    if not missing.any():
        return source
    if missing.all():
        raise DataError(
            f"Target {source.target.name!r} has no values: all {len(missing)} rows are missing "
            "(NaN). Fix: check that target= names the right column."
        )
    warnings.warn(
        f"Dropped {missing.sum()} of {len(missing)} rows whose target "
        f"{source.target.name!r} is missing.",
        UserWarning,
        stacklevel=3,
    )
    keep = ~missing
    return Source(source.features[keep], source.target[keep], source.class_names)


def check_shape(source: Source) -> None:
    """At least one row and one feature column."""
    if len(source.features) == 0:
        raise DataError("The data has no rows. Fix: pass a dataset with rows of data.")
    if source.features.shape[1] == 0:
        raise DataError(
            f"No feature columns are left besides the target {source.target.name!r}. "
            "Fix: keep at least one feature column (check drop=)."
        )


def check_values(source: Source) -> None:
    """No infinite values and no date/time columns (neither has a meaning we can preprocess)."""
    columns = [*(source.features[c] for c in source.features.columns), source.target]
    infinite = [
        c.name
        for c in columns
        if is_numeric(c) and np.isinf(c.to_numpy(np.float64, na_value=np.nan)).any()
    ]
    if infinite:
        raise DataError(
            f"Infinite values in column(s) {quoted(infinite)}. Fix: replace them with NaN, e.g. "
            "frame.replace([np.inf, -np.inf], np.nan), so they are imputed (or dropped for the "
            "target)."
        )
    dated = [
        c.name
        for c in columns[:-1]
        if pd.api.types.is_datetime64_any_dtype(c) or pd.api.types.is_timedelta64_dtype(c)
    ]
    if dated:
        raise DataError(
            f"Date/time column(s) {quoted(dated)} cannot be used as features directly. "
            "Fix: convert them to numbers (e.g. days since a reference date) or pass drop=."
        )
