"""What every contender takes and returns, and how its predictions are scored.

A contender is one function ``run(dataset, *, metric, budget, seed, workdir)`` that fits on
``dataset``'s training split (selecting on its validation split), and reports the metric on
the validation and test splits with the wall-clock it took. Every contender sees the same
:class:`~losstune.data.Dataset` object, so splits and preprocessing are identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from losstune.data import Dataset
from losstune.metrics import get_metric


@dataclass(frozen=True)
class Budget:
    """The compute one contender may spend on one dataset, passed whole.

    Attributes:
        n_trials: configurations a tuner may try (losstune, TPE and the LightGBM tuner).
        time_budget_s: seconds for a time-budgeted tuner (FLAML); None when not matched.
        epochs: training epochs of every MLP (default recipe and every trial).
        top_k, final_seeds: losstune's final selection (re-train the ``top_k`` best trials on
            ``final_seeds`` fresh seeds), used by both losstune searches alike.
        threads: CPU threads for every contender (torch, LightGBM, FLAML).
        device: torch device of the MLP contenders (``"cpu"`` keeps timings comparable).
        portfolio: the warm-start portfolio file of the warm-starting searches (None: the
            one shipped in the package). The benchmark sets it per case to a portfolio built
            without the case's dataset, so a search is never warm-started from its own data.
    """

    n_trials: int
    time_budget_s: float | None
    epochs: int
    top_k: int = 3
    final_seeds: int = 3
    threads: int = 1
    device: str = "cpu"
    portfolio: Path | None = None


@dataclass(frozen=True)
class TrialRecord:
    """One trial of a search, in the order it ran: what the anytime curves are made of.

    Attributes:
        number: the Optuna trial number (trials run one after another, in this order).
        state: ``complete``, ``pruned`` or ``failed`` (:func:`losstune.search.leaderboard`).
        value: the validation score of a complete trial; NaN otherwise.
        origin: where its configuration came from (default, portfolio, transfer, sampler).
        config: its configuration as sorted-key JSON (to re-train it).
    """

    number: int
    state: str
    value: float
    origin: str
    config: str


@dataclass(frozen=True)
class ContenderResult:
    """One contender on one dataset and seed: scores, wall-clock and configurations tried."""

    valid_score: float
    test_score: float
    seconds: float
    n_trials: int
    note: str = ""
    trials: tuple[TrialRecord, ...] = ()
    """The search's trials in the order they ran (searches only; empty for the others)."""


class RunFn(Protocol):
    """The signature every contender implements."""

    def __call__(
        self, dataset: Dataset, *, metric: str, budget: Budget, seed: int, workdir: Path
    ) -> ContenderResult: ...


@dataclass(frozen=True)
class Contender:
    """A registered contender.

    Attributes:
        name: its key in the CSV and the report.
        run: the function that runs it (see :class:`RunFn`).
        description: one line for the report.
        budget_rule: how its budget is matched to losstune's, for the report.
        time_of: the contender whose wall-clock on the same case is this one's time budget
            (FLAML gets exactly the seconds losstune used), or None.
        warm_start: a search that starts from the warm-start portfolio: the benchmark hands
            it (``Budget.portfolio``) the portfolio built without the case's dataset.
    """

    name: str
    run: RunFn
    description: str
    budget_rule: str
    time_of: str | None = None
    warm_start: bool = False


def score(dataset: Dataset, metric: str, split: str, predict: Callable) -> float:
    """``metric`` of ``predict(X_split)`` against ``y_split``.

    ``predict`` returns class probabilities of shape ``(N, K)`` for classification (columns
    in class-code order) and values of shape ``(N,)`` for regression.
    """
    scorer = get_metric(metric, dataset.task)
    X, y = getattr(dataset, f"X_{split}"), getattr(dataset, f"y_{split}")
    return scorer(y, np.asarray(predict(X)))


def class_count(dataset: Dataset) -> int:
    """The number of classes of a classification dataset (a ValueError for regression)."""
    if dataset.n_classes is None:
        raise ValueError("Class probabilities need a classification dataset.")
    return dataset.n_classes


def full_proba(proba: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities with one column per class code ``0..n_classes-1``.

    A model fitted on training labels that miss a class (a long-tailed split can lose its
    rarest class) has fewer columns; the missing classes get probability 0.
    """
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    out = np.zeros((len(proba), n_classes))
    out[:, np.asarray(classes, dtype=int)] = proba
    return out


def sklearn_predict(model, dataset: Dataset) -> Callable:
    """``predict`` for :func:`score` from a scikit-learn style model: class probabilities
    with one column per class code, or the predicted values."""
    if dataset.task.is_classification:
        return lambda X: full_proba(model.predict_proba(X), model.classes_, class_count(dataset))
    return model.predict


def scored(
    dataset: Dataset, metric: str, predict: Callable, *, seconds: float, n_trials: int, note: str
) -> ContenderResult:
    """A :class:`ContenderResult` with ``predict`` scored on the validation and test splits."""
    return ContenderResult(
        valid_score=score(dataset, metric, "valid", predict),
        test_score=score(dataset, metric, "test", predict),
        seconds=seconds,
        n_trials=n_trials,
        note=note,
    )
