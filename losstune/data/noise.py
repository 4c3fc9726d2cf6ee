"""Label noise for experiments: flip a fraction of the labels a model learns from.

Real labels are often wrong; a loss robust to noise only shows its worth on noisy labels and
a clean test set. ``with_label_noise`` damages the training and validation labels (what a
user would hold) and keeps the test labels clean (the truth the recipe is judged on).
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from losstune.data.dataset import Dataset
from losstune.data.errors import DataError


def flip_labels(
    labels: np.ndarray, n_classes: int, rate: float, rng: np.random.Generator
) -> np.ndarray:
    """Symmetric noise: each label, with probability ``rate``, becomes another class chosen
    uniformly among the ``n_classes - 1`` others."""
    labels = np.asarray(labels)
    flip = rng.random(len(labels)) < rate
    offsets = rng.integers(1, n_classes, size=len(labels))
    return np.where(flip, (labels + offsets) % n_classes, labels).astype(labels.dtype)


def with_label_noise(
    dataset: Dataset, rate: float, *, seed: int = 0, splits: tuple[str, ...] = ("train", "valid")
) -> Dataset:
    """A copy of ``dataset`` whose ``splits`` labels are flipped with probability ``rate``.

    The class counts follow the noisy training labels (they are what a user would see) and
    the fingerprint changes, so results on the damaged data never pass for the clean data's.
    """
    if not dataset.task.is_classification:
        raise DataError("Label noise needs a classification dataset; this one is regression.")
    if not 0.0 <= rate < 1.0:
        raise DataError(f"rate must be in [0, 1); got {rate!r}.")
    unknown = sorted(set(splits) - {"train", "valid", "test"})
    if unknown:
        raise DataError(f"Unknown split(s) {unknown}; use 'train', 'valid' and/or 'test'.")
    rng = np.random.default_rng(seed)
    changes: dict[str, object] = {}
    for split in ("train", "valid", "test"):
        if split in splits:
            y = getattr(dataset, f"y_{split}")
            changes[f"y_{split}"] = flip_labels(y, dataset.n_classes, rate, rng)
    y_train = changes.get("y_train", dataset.y_train)
    changes["class_counts"] = np.bincount(y_train, minlength=dataset.n_classes).astype(np.int64)
    tag = f"{dataset.fingerprint}|symmetric-noise|{rate}|{seed}|{sorted(splits)}"
    changes["fingerprint"] = hashlib.blake2b(tag.encode(), digest_size=16).hexdigest()
    return dataclasses.replace(dataset, **changes)
