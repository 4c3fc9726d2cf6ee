"""The cases of the portfolio benchmark and the data regime of each.

A case is a registered dataset in a variant of the quality benchmark
(``benchmarks/quality_cases.py``) or in ``outliers5``, the one variant added here: 5% of the
training and validation *targets* of a regression dataset replaced by large values, the test
targets left clean (what a user with a few corrupt measurements would hold).

The regime of a case picks which portfolio order a search starts from. A damaged variant
says it (``noise*`` -> noisy, ``longtail*`` -> imbalanced, ``outliers*`` ->
regression_outliers); clean data gets the regime the run-time diagnosis
(:func:`losstune.data.diagnose`) gives its training split, as a search on it would.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from benchmarks.quality_cases import VARIANTS as QUALITY_VARIANTS
from benchmarks.quality_cases import Variant
from losstune.data import Dataset

KIND_REGIMES = {
    "classification": ("clean", "noisy", "imbalanced"),
    "regression": ("regression", "regression_outliers"),
}
"""The regimes of each task kind."""


class RegressionVariant(Variant):
    """A variant that damages regression targets, so it applies to regression data only."""

    def applies_to(self, dataset: Dataset) -> bool:
        """Whether ``dataset`` is a regression dataset."""
        return not dataset.task.is_classification


def with_target_outliers(
    dataset: Dataset, share: float, *, seed: int = 0, scale: tuple[float, float] = (6.0, 12.0)
) -> Dataset:
    """A copy of regression ``dataset`` whose training and validation targets are outliers
    in a ``share`` of rows: ``median +- u * sd`` with ``u`` uniform in ``scale`` and ``sd``
    the clean training targets' standard deviation. The test targets stay clean.

    Raises:
        ValueError: ``dataset`` is classification, or ``share`` is not in ``[0, 1)``.
    """
    if dataset.task.is_classification:
        raise ValueError("Target outliers need a regression dataset; this one has classes.")
    if not 0.0 <= share < 1.0:
        raise ValueError(f"share must be in [0, 1); got {share!r}.")
    rng = np.random.default_rng(seed)
    clean = np.asarray(dataset.y_train, dtype=np.float64)
    centre, sd = float(np.median(clean)), float(np.std(clean)) or 1.0
    targets = {}
    for split in ("train", "valid"):
        y = np.array(getattr(dataset, f"y_{split}"), copy=True)
        rows = rng.choice(len(y), size=round(share * len(y)), replace=False)
        signs = rng.choice([-1.0, 1.0], size=len(rows))
        y[rows] = centre + signs * rng.uniform(*scale, size=len(rows)) * sd
        targets[f"y_{split}"] = y.astype(dataset.y_train.dtype)
    tag = f"{dataset.fingerprint}|target-outliers|{share}|{scale}|{seed}"
    return dataclasses.replace(
        dataset, **targets, fingerprint=hashlib.blake2b(tag.encode(), digest_size=16).hexdigest()
    )


def _outliers(share: float) -> Callable[[Dataset, int], Dataset]:
    def damage(dataset: Dataset, seed: int) -> Dataset:
        return with_target_outliers(dataset, share, seed=seed)

    return damage


VARIANTS: dict[str, Variant] = {
    **QUALITY_VARIANTS,
    "outliers5": RegressionVariant(
        "outliers5",
        "5% of training/validation targets replaced by median +- 6..12 sd; test clean",
        _outliers(0.05),
        classification_only=False,
    ),
}
"""The quality benchmark's variants and ``outliers5``."""


@dataclass(frozen=True)
class CaseSpec:
    """A dataset and the variants it is recorded in."""

    dataset: str
    variants: tuple[str, ...]


CASES: tuple[CaseSpec, ...] = (
    CaseSpec("digits", ("clean", "noise20", "pairnoise20", "longtail50")),
    CaseSpec("wine", ("clean", "noise20", "pairnoise20", "longtail50")),
    CaseSpec("breast_cancer", ("clean", "noise20", "pairnoise20")),
    CaseSpec("phoneme", ("clean", "noise20", "pairnoise20")),
    CaseSpec("page-blocks0", ("clean", "noise20", "pairnoise20")),
    CaseSpec("credit_data", ("clean", "noise20", "pairnoise20")),
    CaseSpec("abalone19", ("clean",)),
    CaseSpec("caravan", ("clean",)),
    CaseSpec("diabetes", ("clean", "outliers5")),
    CaseSpec("concrete", ("clean", "outliers5")),
    CaseSpec("ames", ("clean",)),
)
"""The default cases: datasets of at most ~5,800 rows; page-blocks0, abalone19 and caravan
are imbalanced as they are, ames has heavy-tailed prices (regression_outliers as it is)."""


def task_kind(dataset: Dataset) -> str:
    """``"classification"`` or ``"regression"``: which pool a dataset's cases run."""
    return "classification" if dataset.task.is_classification else "regression"


def data_regime(dataset: Dataset) -> str:
    """The regime the run-time diagnosis gives ``dataset``'s training split
    (:func:`losstune.data.diagnose`): what a search on this data would start from."""
    from losstune.data import diagnose

    return diagnose(dataset).regime


def case_regime(variant: str, dataset: Dataset) -> str:
    """The regime of a case: named by a damaged variant, else diagnosed from ``dataset``."""
    if variant.startswith(("noise", "pairnoise")):
        return "noisy"
    if variant.startswith("longtail"):
        return "imbalanced"
    if variant.startswith("outliers"):
        return "regression_outliers"
    return data_regime(dataset)
