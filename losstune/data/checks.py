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
    """No nested values, no infinite values, no durations (none has a meaning we can use)."""
    check_nested(source.features)
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
    durations = [c.name for c in columns[:-1] if pd.api.types.is_timedelta64_dtype(c)]
    if durations:
        raise DataError(
            f"Duration (timedelta) column(s) {quoted(durations)} cannot be used as features "
            "directly. Fix: convert them to numbers, e.g. frame[col].dt.total_seconds(), or "
            "pass drop=."
        )


def check_nested(features: pd.DataFrame) -> None:
    """No column of lists, arrays, dicts or sets (Parquet list/struct/map columns).

    A one-hot encoder would read each list as one opaque category, so they are refused rather
    than guessed at: only the user knows whether a list means its length, its items or more.
    """
    nested = {}
    for name in features.columns:
        column = features[name]
        if isinstance(column.dtype, pd.ArrowDtype) and pa_nested(column.dtype):
            nested[name] = str(column.dtype.pyarrow_dtype)
        elif column.dtype == object:
            cell = next((v for v in column if isinstance(v, NESTED_TYPES)), None)
            if cell is not None:
                nested[name] = "structs" if isinstance(cell, dict) else "lists"
    if nested:
        names = [str(n) for n in nested]
        flags = " ".join(f"--drop {n}" for n in names)
        raise DataError(
            "Column(s) "
            + ", ".join(f"{n!r} ({kind})" for n, kind in nested.items())
            + " hold nested values (lists, arrays, structs or maps), not one value per cell. "
            f"Fix: leave them out with drop={names!r} (CLI: {flags}), or flatten them into "
            "plain columns first, e.g. frame[col].str.len() for a list's length or "
            "pd.json_normalize(frame[col].tolist()) for a struct's fields, and pass the DataFrame."
        )


#: Cell types that make a column nested (pandas reads Parquet lists as arrays, structs as dicts).
NESTED_TYPES = (list, tuple, dict, set, frozenset, np.ndarray)


def pa_nested(dtype: pd.ArrowDtype) -> bool:
    """Whether a pyarrow-backed column holds lists, structs or maps."""
    import pyarrow as pa

    return bool(pa.types.is_nested(dtype.pyarrow_dtype))


#: The largest float32; features and regression targets are trained on in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_float32(columns: Iterable[pd.Series]) -> None:
    """No finite value beyond the float32 range, where training would see an infinity.

    The caller passes the numeric feature columns (numbers read from text included) and a
    regression target; class labels are never cast, so they may be any size.
    """
    beyond = {}
    for column in columns:
        values = np.abs(column.to_numpy(np.float64, na_value=np.nan))
        values = values[np.isfinite(values)]
        if len(values) and values.max() > FLOAT32_MAX:
            beyond[column.name] = float(values.max())
    if beyond:
        largest = ", ".join(f"{n!r} (up to {v:.3g})" for n, v in beyond.items())
        names = [str(n) for n in beyond]
        raise DataError(
            f"Column(s) {largest} hold values beyond the float32 range (±{FLOAT32_MAX:.3g}); "
            "losstune trains in float32, where they would become infinite. Fix: rescale them "
            "(e.g. np.log10 of the magnitude, or divide by a power of ten), replace the "
            f"outliers with NaN, or leave the column(s) out with drop={names!r} (CLI: "
            + " ".join(f"--drop {n}" for n in names)
            + ")."
        )
