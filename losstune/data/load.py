"""``load_dataset``: any supported source in; a checked, split, preprocessed ``Dataset`` out."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from losstune.data.checks import (
    check_float32,
    check_shape,
    check_values,
    drop_columns,
    drop_missing_target,
)
from losstune.data.columns import ColumnKind, plan_columns, to_numbers, warn_losses
from losstune.data.dataset import Dataset, fingerprint
from losstune.data.preprocess import check_encoding, make_preprocessor
from losstune.data.profile import describe
from losstune.data.sources import read_source
from losstune.data.split import check_fractions, check_seed, split_rows
from losstune.data.task import encode_target, resolve_task
from losstune.task import Task

#: Raw validation rows a Dataset keeps as the logged model's input example.
RAW_EXAMPLE_ROWS = 8


def load_dataset(
    source: object,
    target: object = None,
    *,
    task: str | Task | None = None,
    test_size: float = 0.2,
    valid_size: float = 0.2,
    seed: int = 0,
    drop: Iterable[str] = (),
    rare_category_fraction: float = 0.01,
    max_categories: int | None = 32,
) -> Dataset:
    """Read, check, split and preprocess a tabular dataset.

    Args:
        source: a CSV (``.csv``, ``.csv.gz``, ``.tsv``, ``.tsv.gz``) or Parquet (``.parquet``,
            ``.pq``) path; a pandas DataFrame; a 2-D NumPy array X; or a scikit-learn
            ``Bunch`` such as ``load_digits()``.
        target: the target column's name (files, DataFrames; optional for a ``Bunch``,
            which defaults to ``bunch.target``), or the target values ``y`` (NumPy X).
        task: "binary", "multiclass" or "regression"; None infers it by the rule in
            :func:`~losstune.data.infer_task`.
        test_size: fraction of all rows held out for testing (cut first).
        valid_size: fraction of all rows for validation (cut from the rest).
        seed: seeds the splits; the same seed gives the same splits in any process.
        drop: feature columns to remove, e.g. ones that leak the target.
        rare_category_fraction: categories rarer than this fraction of the training rows
            are grouped into one "infrequent" column (0 keeps them all).
        max_categories: at most this many one-hot columns per categorical column.

    Rows whose target is missing are dropped with a warning. Text columns that hold dates are
    parsed into date features, ones with numbers and a few stray strings are read as numbers
    (the strays as missing, with a ``DataWarning``) and free-text columns are dropped (with a
    ``DataWarning``); ``Dataset.profile`` says what was done to each column (the rule is in
    :mod:`losstune.data.columns`). Splits are stratified by class for classification. The
    preprocessor, these steps included, is fitted on the training split only.

    Raises:
        DataError: the data cannot be used as given (not UTF-8, nested columns, values beyond
            float32, ...); the message names the fix. A missing file raises
            ``DataFileNotFoundError``, both a ``DataError`` and a ``FileNotFoundError``.

    Example:
        >>> from sklearn.datasets import load_wine
        >>> ds = load_dataset(load_wine(as_frame=True), seed=0)
        >>> ds.task.value, ds.n_classes, ds.X_train.shape
        ('multiclass', 3, (106, 13))
    """
    check_fractions(test_size, valid_size)
    check_seed(seed)
    check_encoding(rare_category_fraction, max_categories)
    source_ = drop_columns(read_source(source, target), drop)
    source_ = drop_missing_target(source_)
    check_shape(source_)
    check_values(source_)
    features, y = source_.features, source_.target
    task = resolve_task(y, task)
    plans = plan_columns(features)
    numbers = [p.column for p in plans if p.kind is ColumnKind.NUMBERS_IN_TEXT]
    check_float32(
        [
            *(features[p.column] for p in plans if p.kind is ColumnKind.NUMERIC),
            *(to_numbers(features[numbers])[c] for c in numbers),
            *([y] if task is Task.REGRESSION else []),
        ]
    )
    warn_losses(plans, stacklevel=2)
    y_values, classes = encode_target(y, task, source_.class_names)
    strata = None if classes is None else pd.Categorical.from_codes(y_values, classes)
    splits = split_rows(
        len(y_values), test_size=test_size, valid_size=valid_size, seed=seed, strata=strata
    )
    preprocessor = make_preprocessor(
        features,
        rare_category_fraction=rare_category_fraction,
        max_categories=max_categories,
        plans=plans,
    )
    X_train = preprocessor.fit_transform(features.iloc[splits.train]).astype(np.float32)

    def transform(rows: np.ndarray) -> np.ndarray:
        return preprocessor.transform(features.iloc[rows]).astype(np.float32)

    settings = {
        "test_size": test_size,
        "valid_size": valid_size,
        "seed": seed,
        "rare_category_fraction": rare_category_fraction,
        "max_categories": max_categories,
    }
    return Dataset(
        task=task,
        target=str(y.name),
        X_train=X_train,
        y_train=y_values[splits.train],
        X_valid=transform(splits.valid),
        y_valid=y_values[splits.valid],
        X_test=transform(splits.test),
        y_test=y_values[splits.test],
        feature_names=tuple(preprocessor.get_feature_names_out()),
        source_columns=tuple(features.columns),
        classes=classes,
        class_counts=None
        if classes is None
        else np.bincount(y_values[splits.train], minlength=len(classes)).astype(np.int64),
        preprocessor=preprocessor,
        fingerprint=fingerprint(features, y, task, settings),
        test_size=test_size,
        valid_size=valid_size,
        seed=seed,
        rare_category_fraction=rare_category_fraction,
        max_categories=max_categories,
        profile=describe(plans, preprocessor),
        raw_example=features.iloc[splits.valid[:RAW_EXAMPLE_ROWS]].reset_index(drop=True),
    )
