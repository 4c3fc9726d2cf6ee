"""Seeded train/valid/test splits, stratified by class for classification.

The test split is cut first, then the validation split from the rest; both sizes are
fractions of *all* rows (``test_size=0.2, valid_size=0.2`` leaves 60% for training). Whether
a stratified split can work is checked up front, so the error names the class or the split
that is too small instead of surfacing a scikit-learn message from deep inside.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from losstune.data.errors import DataError

#: Rows a class needs so that it can appear in the train, valid and test splits.
MIN_ROWS_PER_CLASS = 3


@dataclass(frozen=True)
class Splits:
    """Row positions (into the source, after rows with a missing target are dropped)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray


def check_fractions(test_size: float, valid_size: float) -> None:
    """Each fraction in (0, 1), and together < 1 so that rows are left for training."""
    for name, value in (("test_size", test_size), ("valid_size", valid_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
            raise DataError(
                f"{name}={value!r} must be a fraction of all rows in (0, 1). "
                f"Fix: pass e.g. {name}=0.2."
            )
    if test_size + valid_size >= 1:
        raise DataError(
            f"test_size={test_size} + valid_size={valid_size} leaves no rows for training "
            "(both are fractions of all rows). Fix: make their sum less than 1, e.g. 0.2 each."
        )


def check_seed(seed: int) -> None:
    """A non-negative integer: a seed of None would give different splits on every call."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise DataError(
            f"seed={seed!r} must be an integer in [0, 2**32) so the splits are reproducible. "
            "Fix: pass e.g. seed=0."
        )


def split_sizes(n_rows: int, test_size: float, valid_size: float) -> tuple[int, int, int]:
    """Rows in (train, valid, test); test and valid round up, as scikit-learn does."""
    n_test = math.ceil(round(test_size * n_rows, 9))
    n_valid = math.ceil(round(valid_size * n_rows, 9))
    return n_rows - n_test - n_valid, n_valid, n_test


def split_rows(
    n_rows: int,
    *,
    test_size: float,
    valid_size: float,
    seed: int,
    strata: pd.Categorical | None = None,
) -> Splits:
    """Seeded train/valid/test row positions; stratified by ``strata`` (class per row) if given.

    The same ``seed`` gives the same splits in every process; no global RNG is touched.
    """
    check_fractions(test_size, valid_size)
    check_seed(seed)
    n_train, n_valid, n_test = split_sizes(n_rows, test_size, valid_size)
    if strata is not None:
        _check_stratifiable(strata)
    needed = 1 if strata is None else len(strata.categories)
    for name, size, fraction in (
        ("test", n_test, test_size),
        ("valid", n_valid, valid_size),
        ("train", n_train, 1 - test_size - valid_size),
    ):
        if size < needed:
            raise DataError(_too_small(name, size, fraction, n_rows, needed, strata is not None))
    codes = None if strata is None else np.asarray(strata.codes)
    try:
        rest, test = train_test_split(
            np.arange(n_rows), test_size=n_test, random_state=seed, stratify=codes
        )
        train, valid = train_test_split(
            rest,
            test_size=n_valid,
            random_state=seed,
            stratify=None if codes is None else codes[rest],
        )
    except ValueError as err:  # a rare class that the test cut left with a single row
        raise DataError(
            f"Cannot stratify the splits: {err} Fix: use smaller test_size/valid_size, or "
            "drop or merge the rarest classes."
        ) from None
    return Splits(train=train, valid=valid, test=test)


def _check_stratifiable(strata: pd.Categorical) -> None:
    counts = pd.Series(strata).value_counts(sort=False)
    small = counts[counts < MIN_ROWS_PER_CLASS]
    if small.empty:
        return
    listed = ", ".join(
        f"{label!r} ({count} row{'s' * (count != 1)})" for label, count in small.head(10).items()
    )
    listed += f", … ({len(small) - 10} more)" if len(small) > 10 else ""
    numeric = pd.api.types.is_numeric_dtype(strata.categories.dtype)
    raise DataError(
        f"Class(es) {listed} have too few rows to stratify: each class needs at least "
        f"{MIN_ROWS_PER_CLASS} rows so it can appear in the train, valid and test splits. "
        "Fix: drop these rows or merge these classes into others"
        + (", or pass task='regression' if the target is a quantity." if numeric else ".")
    )


def _too_small(
    name: str, size: int, fraction: float, n_rows: int, needed: int, stratified: bool
) -> str:
    what = f"one row of each of the {needed} classes" if stratified else "a row"
    fix_fraction = min(needed / n_rows, 0.99)
    return (
        f"The {name} split would hold {size} row(s) ({fraction:.3g} of {n_rows} rows), too few "
        f"for {what}. Fix: add rows, or give the {name} split at least {fix_fraction:.3g} of "
        "the rows (test_size / valid_size)."
    )
