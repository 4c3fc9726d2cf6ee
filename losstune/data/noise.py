"""Label noise for experiments: flip a fraction of the labels a model learns from.

Real labels are often wrong; a loss robust to noise only shows its worth on noisy labels and
a clean test set. ``with_label_noise`` damages the training and validation labels (what a
user would hold) and keeps the test labels clean (the truth the recipe is judged on).

Two kinds of noise, the two standard benchmarks of the noisy-label literature:

- ``"symmetric"``: a flipped label becomes any other class, uniformly (noise that carries no
  information about the class).
- ``"class_dependent"`` (pair flip, also called asymmetric noise): class ``c`` is flipped to
  class ``(c + 1) mod K`` with probability ``rate``, so every class is confused with one
  fixed neighbour, as annotators confuse similar classes. With ``rate`` >= 0.5 the noisy
  label is more often ``c + 1`` than ``c`` and the classes become unidentifiable, so keep
  ``rate`` < 0.5 for this kind.
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


def pair_flip_labels(
    labels: np.ndarray, n_classes: int, rate: float, rng: np.random.Generator
) -> np.ndarray:
    """Class-dependent (pair-flip) noise: each label ``c``, with probability ``rate``,
    becomes ``(c + 1) mod n_classes``."""
    labels = np.asarray(labels)
    flip = rng.random(len(labels)) < rate
    return np.where(flip, (labels + 1) % n_classes, labels).astype(labels.dtype)


#: Noise kinds and the function that flips labels for each.
NOISE_KINDS = {"symmetric": flip_labels, "class_dependent": pair_flip_labels}


def with_label_noise(
    dataset: Dataset,
    rate: float,
    *,
    seed: int = 0,
    splits: tuple[str, ...] = ("train", "valid"),
    kind: str = "symmetric",
) -> Dataset:
    """A copy of ``dataset`` whose ``splits`` labels are flipped with probability ``rate``.

    ``kind`` is ``"symmetric"`` (a flipped label becomes any other class, uniformly) or
    ``"class_dependent"`` (class ``c`` becomes ``(c + 1) mod K``); see the module docstring.
    The class counts follow the noisy training labels (they are what a user would see) and
    the fingerprint changes, with the kind too, so results on the damaged data never pass
    for the clean data's.

    Example:
        >>> from sklearn.datasets import load_wine
        >>> from losstune.data import load_dataset
        >>> clean = load_dataset(load_wine(), seed=0)
        >>> noisy = with_label_noise(clean, 0.2, kind="class_dependent")
        >>> bool(((noisy.y_train - clean.y_train) % 3 <= 1).all())
        True
    """
    n_classes = dataset.n_classes  # None exactly when the task is regression
    if not dataset.task.is_classification or n_classes is None:
        raise DataError("Label noise needs a classification dataset; this one is regression.")
    if not 0.0 <= rate < 1.0:
        raise DataError(f"rate must be in [0, 1); got {rate!r}.")
    if kind not in NOISE_KINDS:
        raise DataError(
            f"Unknown noise kind {kind!r}; use one of {', '.join(map(repr, NOISE_KINDS))}."
        )
    unknown = sorted(set(splits) - {"train", "valid", "test"})
    if unknown:
        raise DataError(f"Unknown split(s) {unknown}; use 'train', 'valid' and/or 'test'.")
    rng = np.random.default_rng(seed)
    labels = {"train": dataset.y_train, "valid": dataset.y_valid, "test": dataset.y_test}
    for split in ("train", "valid", "test"):
        if split in splits:
            labels[split] = NOISE_KINDS[kind](labels[split], n_classes, rate, rng)
    tag = f"{dataset.fingerprint}|{kind}-noise|{rate}|{seed}|{sorted(splits)}"
    return dataclasses.replace(
        dataset,
        y_train=labels["train"],
        y_valid=labels["valid"],
        y_test=labels["test"],
        class_counts=np.bincount(labels["train"], minlength=n_classes).astype(np.int64),
        fingerprint=hashlib.blake2b(tag.encode(), digest_size=16).hexdigest(),
    )
