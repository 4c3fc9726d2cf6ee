"""Long-tailed class distributions for experiments: make the training data imbalanced on
purpose, then judge on a balanced test set.

Reweighting schemes and logit-adjusted losses exist for the long tail; they show their worth
only when the training classes are imbalanced by a known amount and the test set weighs
every class equally. ``with_long_tail`` builds that setting from any classification dataset,
the way CIFAR-10-LT and ImageNet-LT are built from their balanced originals (Cui et al.,
"Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import numbers

import numpy as np

from losstune.data.dataset import Dataset
from losstune.data.errors import DataError


def long_tail_counts(
    counts: np.ndarray, imbalance_ratio: float, order: np.ndarray | None = None
) -> np.ndarray:
    """Rows to keep per class for an exponential profile with head/tail ratio ``imbalance_ratio``.

    Classes are ranked by ``order`` (class codes, head first; default: by ``counts``, largest
    first, ties by class code). The class of rank ``r`` keeps
    ``round(n_head * imbalance_ratio ** (-r / (K - 1)))`` rows, where ``n_head`` is the head
    class's count: the head keeps all its rows and the tail keeps ``n_head / imbalance_ratio``.
    Every class keeps at least 1 row and never more than it has.

    Example:
        >>> long_tail_counts(np.array([100, 100, 100]), 10.0).tolist()
        [100, 32, 10]
    """
    counts = np.asarray(counts, dtype=np.int64)
    if order is None:
        order = np.argsort(-counts, kind="stable")
    exponent = np.arange(len(counts)) / max(len(counts) - 1, 1)
    profile = np.rint(counts[order[0]] * float(imbalance_ratio) ** -exponent).astype(np.int64)
    keep = np.empty(len(counts), dtype=np.int64)
    keep[order] = np.maximum(profile, 1)
    return np.minimum(keep, counts)


def with_long_tail(dataset: Dataset, imbalance_ratio: float, *, seed: int = 0) -> Dataset:
    """A copy of ``dataset`` with long-tailed training and validation splits and a balanced test.

    - Training split: subsampled to :func:`long_tail_counts` of its class counts, so the
      largest class keeps its rows and the smallest keeps ``n_max / imbalance_ratio``.
      A class never gains rows: if the data are already more imbalanced than asked, a class
      keeps what it has and the realised ratio is larger than ``imbalance_ratio``.
    - Validation split: the same profile, with the classes in the training split's order
      (so the same classes are head and tail) and its own largest class keeping its rows.
    - Test split: balanced, every class subsampled to the smallest class's test count, so
      accuracy on it weighs every class equally.

    Rows are drawn without replacement by ``seed`` and kept in their original order.
    ``class_counts`` follows the new training split and the fingerprint changes.
    ``imbalance_ratio=1`` leaves training and validation as they are on balanced data.

    Example:
        >>> from sklearn.datasets import load_digits
        >>> from losstune.data import load_dataset
        >>> lt = with_long_tail(load_dataset(load_digits(), seed=0), 10.0)
        >>> lt.class_counts.max().item(), lt.class_counts.min().item()  # 109 / 10 rounds to 11
        (109, 11)
        >>> np.bincount(lt.y_test).tolist()
        [35, 35, 35, 35, 35, 35, 35, 35, 35, 35]
    """
    if not dataset.task.is_classification:
        raise DataError(
            "A long tail needs a classification dataset; this one is regression. "
            "Fix: pass a binary or multiclass dataset."
        )
    if (
        isinstance(imbalance_ratio, bool)
        or not isinstance(imbalance_ratio, numbers.Real)
        or not math.isfinite(imbalance_ratio)
        or imbalance_ratio < 1
    ):
        raise DataError(
            f"imbalance_ratio={imbalance_ratio!r} must be a finite number >= 1 (the largest "
            "class's rows over the smallest's). Fix: pass e.g. 10 or 100 (1 keeps the profile)."
        )
    n_classes = dataset.n_classes
    rng = np.random.default_rng(seed)
    train_counts = np.bincount(dataset.y_train, minlength=n_classes)
    order = np.argsort(-train_counts, kind="stable")
    changes: dict[str, object] = {}
    for split in ("train", "valid", "test"):
        y = getattr(dataset, f"y_{split}")
        counts = np.bincount(y, minlength=n_classes)
        if split == "test":
            keep = np.full(n_classes, counts.min())
            if keep[0] == 0:
                missing = np.flatnonzero(counts == 0).tolist()
                raise DataError(
                    f"The test split has no rows of class code(s) {missing}, so it cannot be "
                    "balanced. Fix: load the dataset with a larger test_size."
                )
        else:
            keep = long_tail_counts(counts, imbalance_ratio, order)
        rows = _sample_per_class(y, keep, rng)
        changes[f"X_{split}"] = getattr(dataset, f"X_{split}")[rows]
        changes[f"y_{split}"] = y[rows]
    changes["class_counts"] = np.bincount(changes["y_train"], minlength=n_classes).astype(np.int64)
    tag = f"{dataset.fingerprint}|long-tail|{float(imbalance_ratio)}|{seed}"
    changes["fingerprint"] = hashlib.blake2b(tag.encode(), digest_size=16).hexdigest()
    return dataclasses.replace(dataset, **changes)


def _sample_per_class(y: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sorted row indices: ``keep[c]`` rows of each class ``c``, drawn without replacement."""
    chosen = [
        rng.choice(np.flatnonzero(y == c), size=int(n), replace=False) for c, n in enumerate(keep)
    ]
    return np.sort(np.concatenate(chosen))
