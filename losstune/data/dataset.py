"""The :class:`Dataset`: preprocessed, seeded splits and what it takes to reproduce them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer

from losstune.data.errors import DataError, quoted
from losstune.data.profile import ColumnReport, summary_line
from losstune.task import Task


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A dataset ready to train on: float32 features, encoded targets, three splits.

    Built by :func:`~losstune.data.load_dataset`. Features are the output of ``preprocessor``
    (fitted on the training split only); ``transform`` applies it to new rows.

    Attributes:
        task: binary, multiclass or regression.
        target: the name of the target column.
        X_train, X_valid, X_test: float32 feature matrices, one row per example.
        y_train, y_valid, y_test: int64 class codes 0..K-1 (classification) or float32
            values (regression).
        feature_names: one name per feature-matrix column (after one-hot encoding).
        source_columns: the source's feature columns, in source order, that ``transform``
            needs.
        classes: the original class labels, code ``i`` is ``classes[i]``; None for regression.
        class_counts: rows per class in the training split (int64); None for regression.
        preprocessor: the fitted scikit-learn ``ColumnTransformer``.
        fingerprint: a hex hash of the data, target, task and the settings below; the same
            inputs give the same fingerprint in any process.
        test_size, valid_size: the split fractions, each of all rows.
        seed: the seed of the splits.
        rare_category_fraction, max_categories: the one-hot encoder's grouping settings.
        profile: one :class:`~losstune.data.profile.ColumnReport` per source column: its kind
            (numeric, categorical, date, numbers in text, free text dropped), the features
            made from it and what was done to it; ``profile_lines`` renders it.
        raw_example: the first few validation rows as read (``source_columns``, their
            source dtypes), before preprocessing: the input example and signature of the
            logged model, which predicts on raw rows. None when not kept. Not part of the
            fingerprint (it is derived from the hashed data and seed).
    """

    task: Task
    target: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_valid: np.ndarray
    y_valid: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    feature_names: tuple[str, ...]
    source_columns: tuple[str, ...]
    classes: np.ndarray | None
    class_counts: np.ndarray | None
    preprocessor: ColumnTransformer
    fingerprint: str
    test_size: float
    valid_size: float
    seed: int
    rare_category_fraction: float
    max_categories: int | None
    profile: tuple[ColumnReport, ...] = ()
    raw_example: pd.DataFrame | None = None

    @property
    def n_features(self) -> int:
        """Columns of the feature matrices."""
        return self.X_train.shape[1]

    @property
    def n_classes(self) -> int | None:
        """Number of classes; None for regression (there are no classes)."""
        return None if self.classes is None else len(self.classes)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """New rows (a DataFrame with ``source_columns``; others are ignored) as float32."""
        missing = [c for c in self.source_columns if c not in frame.columns]
        if missing:
            raise DataError(
                f"The frame lacks column(s) {quoted(missing)} that the dataset was built from. "
                f"Fix: pass a frame with the columns {quoted(self.source_columns, limit=30)}."
            )
        return self.preprocessor.transform(frame).astype(np.float32, copy=False)

    def profile_lines(self, all_columns: bool = False) -> list[str]:
        """The data profile as lines: one summary line, then one line per column that was
        treated specially (a date parsed, stray values read as missing, text dropped), or per
        column with ``all_columns``."""
        rows = len(self.y_train) + len(self.y_valid) + len(self.y_test)
        classes = "" if self.classes is None else f" ({len(self.classes)} classes)"
        columns = (
            summary_line(self.profile)
            if self.profile
            else f"{len(self.source_columns)} source columns -> {self.n_features} features"
        )
        lines = [f"{rows} rows, {columns}; {self.task.value} target {self.target!r}{classes}"]
        lines += [f"  {r.line()}" for r in self.profile if all_columns or r.special]
        return lines

    def summary(self) -> str:
        """A few lines: task, rows per split, features, classes and fingerprint."""
        lines = [
            f"task: {self.task.value} (target {self.target!r})",
            f"rows: {len(self.y_train)} train / {len(self.y_valid)} valid / "
            f"{len(self.y_test)} test (seed {self.seed})",
            f"features: {self.n_features} from {len(self.source_columns)} source columns",
        ]
        # Classification sets both classes and class_counts; regression neither.
        if self.classes is not None and self.class_counts is not None:
            n_classes = len(self.classes)
            counts = ", ".join(
                f"{c!r}: {n}"
                for c, n in zip(
                    self.classes[:10].tolist(), self.class_counts[:10].tolist(), strict=True
                )
            )
            more = f", … ({n_classes - 10} more)" if n_classes > 10 else ""
            lines.append(f"classes: {n_classes} (train rows {counts}{more})")
        lines.append(f"fingerprint: {self.fingerprint}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        classes = "" if self.classes is None else f", classes={self.n_classes}"
        return (
            f"Dataset(task={self.task.value}, target={self.target!r}, "
            f"rows={len(self.y_train)}/{len(self.y_valid)}/{len(self.y_test)}, "
            f"features={self.n_features}{classes}, fingerprint={self.fingerprint[:12]})"
        )


def fingerprint(
    features: pd.DataFrame, target: pd.Series, task: Task, settings: Mapping[str, object]
) -> str:
    """A stable hex hash of the data (cells, column names and order, dtypes), target and task.

    ``settings`` (split fractions, seed, ...) are hashed too, so anything that changes the
    splits or the features changes the fingerprint. ``pandas.util.hash_pandas_object`` uses
    a fixed key, so the hash is the same in every process.
    """
    digest = hashlib.blake2b(digest_size=16)
    for part in (features, target.to_frame()):
        digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())
        digest.update(json.dumps([[str(c), str(t)] for c, t in part.dtypes.items()]).encode())
    digest.update(
        json.dumps({"task": task.value, **settings}, sort_keys=True, default=str).encode()
    )
    return digest.hexdigest()
