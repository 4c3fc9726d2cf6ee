"""What each feature column is: numbers, categories, dates, or free text.

The dtype decides for numeric, bool and ``category`` columns (an explicit ``category`` dtype
is taken at its word). A text column is looked at, because the one-hot encoder would
otherwise lose data silently: a numeric column with a few stray strings (``"?"``, ``"n/a"``),
dates, or free text would each end up as one "infrequent" category. So a text column is

1. **numbers with stray values** when at least 95% of its values are numbers and either some
   are not (the stray values become missing, then imputed) or it has too many distinct values
   to be a category (numbers stored as text with few distinct values stay categories: codes);
2. **dates** when at least 95% of its values parse with one date format that holds a year, a
   month and a day (a ``datetime64`` column is a date column too);
3. **free text** when most values are distinct (more than half, and more than 50): an
   identifier or a comment, which is dropped;
4. otherwise **categorical**, as before.

Every column is decided on all rows (like pandas' dtype inference), before the split, so a
column has one kind in every split; the statistics that matter (medians, categories) are
still fitted on the training split only.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
import pandas as pd
from pandas.tseries.api import guess_datetime_format

from losstune.data.errors import DataWarning, quoted
from losstune.data.task import is_numeric

#: A text column is numeric when at least this fraction of its values are numbers.
NUMBER_FRACTION = 0.95
#: A text column holds dates when at least this fraction of its values parse as dates.
DATE_FRACTION = 0.95
#: A text column is free text when more than this fraction of its values are distinct ...
TEXT_DISTINCT_FRACTION = 0.5
#: ... and it has more than this many distinct values.
TEXT_MIN_DISTINCT = 50
#: Distinct values tried as samples to guess a date format from.
_FORMAT_SAMPLES = 20


class ColumnKind(Enum):
    """How a source column becomes features."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    NUMBERS_IN_TEXT = "numbers in text"
    DATE = "date"
    TEXT = "text"

    @property
    def special(self) -> bool:
        """Whether the column is not used as its dtype says (worth a line in a profile)."""
        return self not in (ColumnKind.NUMERIC, ColumnKind.CATEGORICAL)


@dataclass(frozen=True)
class ColumnPlan:
    """What one source column is, and what was found in it.

    ``date_format``: the format dates are parsed with (None for a ``datetime64`` column).
    ``unusable``: distinct values read as missing (stray strings, unparsed dates), a few of
    them; ``unusable_rows``: how many rows held them. ``distinct``: distinct values, for text.
    """

    column: str
    kind: ColumnKind
    date_format: str | None = None
    unusable: tuple[object, ...] = ()
    unusable_rows: int = 0
    distinct: int = 0


def plan_columns(frame: pd.DataFrame) -> tuple[ColumnPlan, ...]:
    """One plan per column of ``frame``, in order (see the module docstring for the rule)."""
    return tuple(plan_column(str(name), frame[name]) for name in frame.columns)


def warn_losses(plans: Sequence[ColumnPlan], stacklevel: int = 2) -> None:
    """A :class:`DataWarning` per column whose data is not all used: stray values read as
    missing, dates that do not parse, free text dropped. ``stacklevel`` as for
    ``warnings.warn``, counted from the caller."""
    for plan in plans:
        message = loss_message(plan)
        if message:
            warnings.warn(message, DataWarning, stacklevel=stacklevel + 1)


def plan_column(name: str, column: pd.Series) -> ColumnPlan:
    """The plan for one column (see the module docstring for the rule)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return ColumnPlan(name, ColumnKind.DATE)
    if (
        is_numeric(column)
        or pd.api.types.is_bool_dtype(column)
        or isinstance(column.dtype, pd.CategoricalDtype)
    ):
        kind = ColumnKind.NUMERIC if is_numeric(column) else ColumnKind.CATEGORICAL
        return ColumnPlan(name, kind)
    present = column.dropna()
    if present.empty:
        return ColumnPlan(name, ColumnKind.CATEGORICAL)
    counts = present.value_counts(dropna=False)
    many = len(counts) > TEXT_MIN_DISTINCT and len(counts) > TEXT_DISTINCT_FRACTION * len(present)
    numbers = to_numbers(pd.DataFrame({name: counts.index.to_numpy()})).iloc[:, 0].to_numpy()
    stray = counts[np.isnan(numbers)]
    if stray.sum() <= (1 - NUMBER_FRACTION) * len(present) and (len(stray) or many):
        unusable, rows = _few(stray)
        return ColumnPlan(name, ColumnKind.NUMBERS_IN_TEXT, None, unusable, rows, len(counts))
    date_format = guess_date_format(counts.index)
    if date_format is not None:
        parsed = parse_dates(counts.index.to_series(), date_format).to_numpy()
        unparsed = counts[pd.isna(parsed)]
        if unparsed.sum() <= (1 - DATE_FRACTION) * len(present):
            unusable, rows = _few(unparsed)
            return ColumnPlan(name, ColumnKind.DATE, date_format, unusable, rows, len(counts))
    kind = ColumnKind.TEXT if many else ColumnKind.CATEGORICAL
    return ColumnPlan(name, kind, distinct=len(counts))


def loss_message(plan: ColumnPlan) -> str | None:
    """The warning for a column whose data is not all used, or None."""
    name = plan.column
    if plan.kind is ColumnKind.TEXT:
        return (
            f"Dropped column {name!r}: it holds free text or identifiers ({plan.distinct} "
            "distinct values, most rows unique), which one-hot encoding cannot use. Fix: "
            "derive numeric or categorical columns from it (e.g. its length, a keyword flag), "
            "or pass drop= to silence this."
        )
    if plan.unusable_rows == 0:
        return None
    rows = f"{plan.unusable_rows} row(s) hold {quoted(plan.unusable, limit=5)}"
    if plan.kind is ColumnKind.NUMBERS_IN_TEXT:
        return (
            f"Column {name!r} holds numbers, but {rows}; read them as missing (imputed with the "
            "median). Fix: clean the column, e.g. pd.to_numeric(frame[col], errors='coerce'), "
            "or make it a category, frame[col].astype(str).astype('category'), to keep every "
            "value as a category."
        )
    return (
        f"Column {name!r} holds dates in format {plan.date_format!r}, but {rows}, which do not "
        "parse; read them as missing (imputed). Fix: clean those values, or parse the column "
        "yourself with pd.to_datetime and pass the DataFrame."
    )


def to_numbers(X: pd.DataFrame) -> pd.DataFrame:
    """Every cell as a float64 number; anything else (stray text, infinity) as NaN."""
    frame = pd.DataFrame(X).apply(lambda c: pd.to_numeric(c, errors="coerce"))
    values = frame.to_numpy(np.float64, na_value=np.nan, copy=True)
    values[~np.isfinite(values)] = np.nan
    return pd.DataFrame(values, columns=frame.columns, index=frame.index)


def guess_date_format(values: pd.Index) -> str | None:
    """The date format (with year, month and day) that parses the most of a sample of
    ``values``, or None when no sample value looks like a date."""
    texts = [v for v in values if isinstance(v, str)]
    if len(texts) < len(values):
        return None
    sample = pd.Series(texts[:1000], dtype=object)
    candidates = {
        f
        for text in texts[:_FORMAT_SAMPLES]
        for dayfirst in (False, True)
        if (f := _guess(text, dayfirst)) is not None and _is_full_date(f)
    }
    if not candidates:
        return None
    # Most parsed values first; ties (e.g. %m/%d vs %d/%m on days <= 12) go to the first in
    # sorted order, so the choice does not depend on set order.
    return max(sorted(candidates), key=lambda f: parse_dates(sample, f).notna().sum())


def parse_dates(column: pd.Series, date_format: str | None) -> pd.Series:
    """``column`` as timestamps in UTC, what does not parse as NaT.

    A naive time is taken as UTC; a ``datetime64`` column with a time zone keeps its wall
    time (midnight in Paris stays midnight, on the same day); text with a UTC offset is
    converted to UTC.
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        column = column.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(column) or date_format is None:
        return pd.to_datetime(column, errors="coerce", utc=True)
    texts = column.astype(object).where(column.map(lambda v: isinstance(v, str)), None)
    return pd.to_datetime(texts, format=date_format, errors="coerce", utc=True)


def _guess(text: str, dayfirst: bool) -> str | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return guess_datetime_format(text.strip(), dayfirst=dayfirst)


def _is_full_date(date_format: str) -> bool:
    """Whether ``date_format`` holds a year, a month and a day (not "%b %Y" or "%H:%M")."""
    groups = (("%Y", "%y"), ("%m", "%b", "%B"), ("%d",))
    return all(any(code in date_format for code in group) for group in groups)


def _few(counts: pd.Series) -> tuple[tuple[object, ...], int]:
    """The most frequent few values of ``counts`` (value -> rows) and the rows they cover."""
    top: Sequence[object] = counts.sort_values(ascending=False, kind="stable").index[:10].tolist()
    return tuple(top), int(counts.sum())
