"""The cases of the quality benchmark: a named dataset, a variant (clean or damaged) and a
split seed, and the metric each case is judged on.

A damaged variant changes the training and validation labels only (what a user would hold);
the test split stays clean, and balanced for the long tail, so it measures the truth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from losstune.data import Dataset
from losstune.metrics import default_metric


@dataclass(frozen=True)
class Variant:
    """One way to present a dataset to the contenders.

    Attributes:
        name: its key in the CSV and the report.
        description: one line for the report.
        damage: ``damage(dataset, seed)`` returns the damaged copy; None for clean data.
        metric: the metric to judge it on; None keeps the clean dataset's default metric.
        classification_only: damage that needs classes (label noise, long tail).
    """

    name: str
    description: str
    damage: Callable[[Dataset, int], Dataset] | None = None
    metric: str | None = None
    classification_only: bool = True

    @property
    def damaged(self) -> bool:
        """Whether the training labels differ from the clean dataset's."""
        return self.damage is not None

    def applies_to(self, dataset: Dataset) -> bool:
        """Whether this variant makes sense for ``dataset`` (damage needs classes)."""
        return not (self.classification_only and self.damaged) or dataset.task.is_classification


def _long_tail(ratio: float) -> Callable[[Dataset, int], Dataset]:
    def damage(dataset: Dataset, seed: int) -> Dataset:
        from losstune.data.longtail import with_long_tail

        return with_long_tail(dataset, ratio, seed=seed)

    return damage


def _noise(rate: float, kind: str) -> Callable[[Dataset, int], Dataset]:
    def damage(dataset: Dataset, seed: int) -> Dataset:
        from losstune.data.noise import with_label_noise

        return with_label_noise(dataset, rate, seed=seed, kind=kind)

    return damage


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in (
        Variant("clean", "the dataset as it is", classification_only=False),
        Variant(
            "longtail50",
            "training/validation classes long-tailed, imbalance ratio 50; test balanced",
            _long_tail(50.0),
            metric="balanced_accuracy",
        ),
        Variant(
            "longtail100",
            "training/validation classes long-tailed, imbalance ratio 100; test balanced",
            _long_tail(100.0),
            metric="balanced_accuracy",
        ),
        Variant(
            "noise20",
            "20% symmetric label noise in training/validation labels",
            _noise(0.2, "symmetric"),
        ),
        Variant(
            "noise40",
            "40% symmetric label noise in training/validation labels",
            _noise(0.4, "symmetric"),
        ),
        Variant(
            "pairnoise20",
            "20% class-dependent (pair-flip c -> c+1) label noise",
            _noise(0.2, "class_dependent"),
        ),
        Variant(
            "pairnoise40",
            "40% class-dependent (pair-flip c -> c+1) label noise",
            _noise(0.4, "class_dependent"),
        ),
    )
}


def load_clean(name: str, seed: int) -> Dataset:
    """Registered dataset ``name`` split by ``seed`` (:func:`losstune.datasets.load`)."""
    import losstune.datasets

    return losstune.datasets.load(name, seed=seed)


def case_metric(clean: Dataset, variant: Variant) -> str:
    """The metric a case is judged on: the variant's, else the clean data's default (balanced
    accuracy when the smallest class holds under 20% of the rows, accuracy otherwise, RMSE for
    regression). Label noise keeps the clean data's metric, decided before the damage."""
    return variant.metric or default_metric(clean.task, clean.class_counts)[0]


def make_case(clean: Dataset, variant: Variant, seed: int) -> tuple[Dataset, str]:
    """The dataset the contenders see for ``variant`` and the metric it is judged on."""
    metric = case_metric(clean, variant)
    data = variant.damage(clean, seed) if variant.damage is not None else clean
    return data, metric
