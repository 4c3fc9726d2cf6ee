"""``DateFeatures``: date columns (text or ``datetime64``) as numbers, inside the preprocessor.

Each date becomes its days since 1970-01-01 (fractional: the trend and the order of events),
its month and weekday (the seasons and weekly cycles a single day count cannot express to a
network) and its day of month (month-start and pay-day effects); the hour of day is added
when the training dates carry a time. Four or five numbers per date keep the feature matrix
narrow, where one-hot months and weekdays would add 19 columns. Text is parsed with the
format found at load time, stored in the transformer, so a deployed model parses raw rows
exactly as training did; a value that does not parse becomes NaN (imputed next).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from losstune.data.columns import parse_dates

_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")
#: The features of every date column, in output order; "hour" only with times of day.
PARTS = ("days_since_1970", "month", "day", "weekday")


class DateFeatures(TransformerMixin, BaseEstimator):
    """Date columns as float64 features (see the module docstring).

    Args:
        formats: one ``strftime`` format per input column, in order, for text dates; None for
            a column that is already ``datetime64``.
    """

    def __init__(self, formats: tuple[str | None, ...] = ()) -> None:
        self.formats = formats

    def fit(self, X: Any, y: object = None) -> DateFeatures:
        """Record the columns and which of them carry a time of day."""
        frame = self._frame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.with_time_ = tuple(
            bool((_hours(self._parse(frame, i)).fillna(0) != 0).any())
            for i in range(frame.shape[1])
        )
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The date features of ``X``'s rows, float64, NaN where a date is missing."""
        check_is_fitted(self, "with_time_")
        frame = self._frame(X)
        parts = []
        for i in range(frame.shape[1]):
            stamps = self._parse(frame, i)
            parts += [
                (stamps - _EPOCH) / pd.Timedelta(days=1),
                stamps.dt.month,
                stamps.dt.day,
                stamps.dt.day_of_week,
            ]
            if self.with_time_[i]:
                parts.append(_hours(stamps))
        if not parts:
            return np.empty((len(frame), 0))
        return np.column_stack([p.to_numpy(np.float64, na_value=np.nan) for p in parts])

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """``<column>_days_since_1970``, ``_month``, ``_day``, ``_weekday`` (and ``_hour``)."""
        check_is_fitted(self, "with_time_")
        names = []
        for column, with_time in zip(self.feature_names_in_, self.with_time_, strict=True):
            names += [f"{column}_{part}" for part in PARTS]
            names += [f"{column}_hour"] if with_time else []
        return np.asarray(names, dtype=object)

    def _frame(self, X: Any) -> pd.DataFrame:
        frame = pd.DataFrame(X)
        if frame.shape[1] != len(self.formats):
            raise ValueError(
                f"DateFeatures has {len(self.formats)} format(s) but got {frame.shape[1]} "
                "column(s). Fix: pass one format per date column."
            )
        return frame

    def _parse(self, frame: pd.DataFrame, i: int) -> pd.Series:
        return parse_dates(frame.iloc[:, i], self.formats[i])


def _hours(stamps: pd.Series) -> pd.Series:
    """The time of day in hours (fractional), NaN where the date is missing."""
    return stamps.dt.hour + stamps.dt.minute / 60 + stamps.dt.second / 3600
