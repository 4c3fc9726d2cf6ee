"""The scikit-learn ``ColumnTransformer`` that turns a feature frame into a float32 matrix.

Numeric columns: median imputation, then standard scaling. Every other column (text,
category, bool) is categorical: values are read as text, a missing value becomes the
category ``"missing"``, and the result is one-hot encoded with rare categories grouped into
one ``<column>_infrequent_sklearn`` column, so a category seen once neither gets a column of
its own nor breaks ``transform`` on new rows. Text columns that hold numbers with stray values,
or dates, get steps of their own that read them in the fitted transformer (so raw rows at
prediction time are read the same way); free-text columns are dropped (see
:mod:`losstune.data.columns`). The transformer is built unfitted: the caller fits it on the
training split only, so no statistic leaks from validation or test rows.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from losstune.data.columns import ColumnKind, ColumnPlan, to_numbers
from losstune.data.dates import DateFeatures
from losstune.data.errors import DataError
from losstune.data.task import is_numeric

MISSING_CATEGORY = "missing"


def check_encoding(rare_category_fraction: float, max_categories: int | None) -> None:
    """``rare_category_fraction`` in [0, 1) and ``max_categories`` an integer >= 2 (or None)."""
    if (
        isinstance(rare_category_fraction, bool)
        or not isinstance(rare_category_fraction, numbers.Real)
        or not 0 <= rare_category_fraction < 1
    ):
        raise DataError(
            f"rare_category_fraction={rare_category_fraction!r} must be a fraction of the "
            "training rows in [0, 1). Fix: pass e.g. 0.01 (0 keeps every category)."
        )
    if max_categories is not None and (
        isinstance(max_categories, bool)
        or not isinstance(max_categories, numbers.Integral)
        or max_categories < 2
    ):
        raise DataError(
            f"max_categories={max_categories!r} must be an integer >= 2 (or None for no cap). "
            "Fix: pass e.g. max_categories=32."
        )


def column_kinds(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(numeric, categorical) column names, in frame order; bool columns are categorical."""
    numeric = [c for c in frame.columns if is_numeric(frame[c])]
    return numeric, [c for c in frame.columns if c not in set(numeric)]


def make_preprocessor(
    frame: pd.DataFrame,
    *,
    rare_category_fraction: float = 0.01,
    max_categories: int | None = 32,
    plans: Sequence[ColumnPlan] | None = None,
) -> ColumnTransformer:
    """An unfitted ``ColumnTransformer`` for ``frame``'s columns (see the module docstring).

    ``plans`` say what each column is (:func:`~losstune.data.columns.plan_columns`); without
    them, columns go by dtype alone: numeric or categorical.
    """
    check_encoding(rare_category_fraction, max_categories)
    if plans is None:
        numeric, categorical = column_kinds(frame)
        plans = [ColumnPlan(str(c), ColumnKind.CATEGORICAL) for c in categorical]
        plans += [ColumnPlan(str(c), ColumnKind.NUMERIC) for c in numeric]
    by_kind: dict[ColumnKind, list[str]] = {kind: [] for kind in ColumnKind}
    for plan in plans:
        by_kind[plan.kind].append(plan.column)
    order = {str(c): i for i, c in enumerate(frame.columns)}
    numeric, categorical, numbers, dates, text = (
        sorted(by_kind[kind], key=order.__getitem__)
        for kind in (
            ColumnKind.NUMERIC,
            ColumnKind.CATEGORICAL,
            ColumnKind.NUMBERS_IN_TEXT,
            ColumnKind.DATE,
            ColumnKind.TEXT,
        )
    )
    encoder = OneHotEncoder(
        handle_unknown="infrequent_if_exist",
        min_frequency=rare_category_fraction or None,
        max_categories=max_categories,
        sparse_output=False,
        dtype=np.float32,
    )
    steps: list[tuple[str, object, list[str]]] = [
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        (
            "categorical",
            make_pipeline(
                FunctionTransformer(as_text, feature_names_out="one-to-one"),
                SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
                encoder,
            ),
            categorical,
        ),
    ]
    # Only datasets that have them get these steps, so every other preprocessor is unchanged.
    if numbers:
        numbers_pipeline = make_pipeline(
            FunctionTransformer(to_numbers, feature_names_out="one-to-one"),
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
        )
        steps.append(("numbers_in_text", numbers_pipeline, numbers))
    if dates:
        formats = {p.column: p.date_format for p in plans if p.kind is ColumnKind.DATE}
        dates_pipeline = make_pipeline(
            DateFeatures(tuple(formats[c] for c in dates)),
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
        )
        steps.append(("dates", dates_pipeline, dates))
    if text:
        steps.append(("dropped_text", "drop", text))
    return ColumnTransformer(steps, verbose_feature_names_out=False)


def as_text(X: pd.DataFrame) -> pd.DataFrame:
    """Categorical values as strings, missing ones as NaN (mixed types break the encoder)."""
    frame = pd.DataFrame(X).astype(object)
    return frame.map(str, na_action="ignore").where(frame.notna(), np.nan)
