"""Train one recipe of the LightGBM family: boosted trees fitted to the recipe's loss,
temperature and weighting through a custom objective.

The gradient and hessian come from the loss's torch definition
(:class:`~losstune.objectives.boosting.BoostingObjective`), so every registered loss trains
both families. The weighting scheme weights each row's gradient and hessian, recomputed every
round from the rows' current losses (a loss-based scheme changes them, a class scheme does
not). LightGBM applies no dataset weights to a custom objective; this runner does.

A scheme that switches on part-way (deferred re-weighting at ``start``, the dynamic scheme
after ``warmup``) cannot switch at a fraction of a length early stopping has not decided
yet, so it is fitted in two phases: uniform weights until early stopping ends the first
phase at its best round ``R``, then, from round ``round(switch * R)`` of it, boosting goes on
with the scheme's weights until early stopping ends it again. The reports of the first
phase's kept rounds are sent when it ends, so the search sees one curve.

The validation metric is the search metric, computed every round (early stopping) and
reported every :data:`~losstune.models.lightgbm.REPORT_EVERY` rounds. Runs are deterministic
(``deterministic=True``, the recipe's seed), on at most as many threads as torch uses (what
the search and Ray set per trial), fewer on small tables (:func:`threads`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import torch

from losstune.metrics import get_metric
from losstune.models.lightgbm import REPORT_EVERY, LightGBM
from losstune.objectives.boosting import BoostingObjective, initial_score
from losstune.runners.base import RUNNERS, TrainResult, check_task
from losstune.runners.errors import TrainingDiverged
from losstune.runners.lightgbm.fitted import FittedBooster, Stage
from losstune.runners.outputs import epoch_metrics, score_outputs
from losstune.runners.reporter import EpochCallback, Reporter, as_callback
from losstune.task import Task

if TYPE_CHECKING:
    from losstune.data import Dataset
    from losstune.objectives import Weighting
    from losstune.recipe import Recipe


def train_lightgbm(
    recipe: Recipe,
    dataset: Dataset,
    *,
    reporter: Reporter | EpochCallback | None = None,
    device: str = "auto",
) -> TrainResult:
    """Train ``recipe`` (a LightGBM-family recipe) on ``dataset``; report validation metrics
    every :data:`REPORT_EVERY` rounds. The same recipe, data and seed give the same model.

    Raises:
        ValueError: the recipe is not of the LightGBM family, its task does not match the
            dataset's, or ``device`` names no device (any device boosts on CPU threads).
        TrainingDiverged: the gradients or the predictions became non-finite.
    """
    check_device(device)
    check_task(recipe, dataset)
    model = recipe.build("model")
    if not isinstance(model, LightGBM):
        raise ValueError(
            f"The LightGBM runner trains the 'lightgbm' model; the recipe's is "
            f"{recipe.model.name!r} (losstune.train picks its runner)."
        )
    started = time.perf_counter()
    run = _Boosting(recipe, model, dataset, as_callback(reporter))
    stages = run.fit()
    fitted = FittedBooster(
        stages=stages,
        init=run.init,
        task=dataset.task,
        classes=list(dataset.classes) if dataset.classes is not None else None,
        target_mean=run.target_mean,
        target_std=run.target_std,
        preprocessor=getattr(dataset, "preprocessor", None),
    )
    valid, test = (
        score_outputs(
            fitted.outputs(x),
            y,
            dataset.task,
            target_mean=run.target_mean,
            target_std=run.target_std,
        )
        for x, y in ((dataset.X_valid, dataset.y_valid), (dataset.X_test, dataset.y_test))
    )
    return TrainResult(
        model=fitted,
        metric=recipe.metric,
        history=run.history,
        valid_metrics=valid,
        test_metrics=test,
        device="cpu",
        seconds=time.perf_counter() - started,
    )


def check_device(device: str) -> str:
    """``"cpu"`` for any device a search names (``auto``, ``cpu``, ``cuda[:N]``, read as
    torch reads them): LightGBM boosts on CPU threads (the wheel has no CUDA build), while
    the torch trials of the same search use the GPU. A ValueError for a string that names no
    device."""
    if str(device) != "auto":
        try:
            torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"Unknown device {device!r}; use 'auto', 'cpu' or 'cuda[:N]'."
            ) from None
    return "cpu"


class LightGBMRunner:
    """The :class:`~losstune.runners.base.Runner` of the LightGBM family."""

    def train(
        self,
        recipe: Recipe,
        dataset: Dataset,
        *,
        reporter: Reporter | EpochCallback | None = None,
        device: str = "auto",
    ) -> TrainResult:
        return train_lightgbm(recipe, dataset, reporter=reporter, device=device)

    def check_device(self, device: str) -> str:
        """The device ``device`` means for this family: always the CPU."""
        return check_device(device)


RUNNERS.register("lightgbm")(LightGBMRunner())


@dataclass
class _Phase:
    """One ``lgb.train`` call: where it starts (the rows' scores so far), its weights' switch
    state, and the per-round validation metrics it recorded."""

    offset: int
    switched: bool
    record: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    train_losses: dict[int, float] = field(default_factory=dict)
    floored: int = 0
    entries: int = 0


class _Boosting:
    """The state of one run: data, objective, weighting, the history it reports."""

    def __init__(
        self,
        recipe: Recipe,
        model: LightGBM,
        dataset: Dataset,
        report: EpochCallback | None,
    ) -> None:
        self.recipe, self.model, self.task, self.report = recipe, model, dataset.task, report
        self.x_train = np.asarray(dataset.X_train, dtype=np.float64)
        self.x_valid = np.asarray(dataset.X_valid, dtype=np.float64)
        self.y_train, self.y_valid = _targets(dataset)
        self.target_mean, self.target_std = 0.0, 1.0
        if self.task is Task.REGRESSION:  # as the torch runner: one loss scale for every target
            raw = np.asarray(dataset.y_train, dtype=np.float64)
            self.target_mean, self.target_std = float(raw.mean()), float(raw.std()) or 1.0
            self.y_train = (raw - self.target_mean) / self.target_std
        counts = None
        if self.task.is_classification:
            counts = torch.as_tensor(dataset.class_counts, dtype=torch.float64)
        self.class_counts = counts
        self.objective = BoostingObjective(
            recipe.build("loss"), self.task, temperature=recipe.temperature, class_counts=counts
        )
        self.weighting: Weighting = recipe.build("weighting")
        self.n_classes = int(dataset.n_classes or 0) if self.task is Task.MULTICLASS else 1
        self.init = (
            initial_score(self.task, self.y_train, n_classes=dataset.n_classes)
            if model.init_score == "average"
            else np.zeros(self.n_classes)
        )
        self.metric_names = epoch_metrics(self.task, recipe.metric)
        self.greater = {m: get_metric(m, self.task).greater_is_better for m in self.metric_names}
        self.history: list[dict[str, float]] = []
        self.reported = 0

    # -- the two phases ----------------------------------------------------------------------

    def fit(self) -> list[Stage]:
        """The stages of the fitted model (one, or two for a switching scheme)."""
        switch = self.weighting.switch
        at = float(getattr(self.weighting, switch)) if switch is not None else 0.0
        if at <= 0.0:
            booster, phase = self._train(_Phase(offset=0, switched=True), self.init_scores())
            return [self._finish(booster, phase)]
        booster, first = self._train(_Phase(offset=0, switched=False), self.init_scores())
        best = booster.best_iteration or booster.current_iteration()
        kept = max(1, round(at * best))
        self._send(first, until=kept)
        rows = (self.x_train, self.x_valid)
        start = [
            s + self._raw(booster, x, kept) for s, x in zip(self.init_scores(), rows, strict=True)
        ]
        later, second = self._train(_Phase(offset=kept, switched=True), start)
        return [Stage(booster, kept), self._finish(later, second)]

    def init_scores(self) -> list[np.ndarray]:
        """The starting raw scores of the training and validation rows."""
        return [
            np.broadcast_to(self.init, self._shape(len(x))).copy()
            for x in (self.x_train, self.x_valid)
        ]

    def _finish(self, booster: lgb.Booster, phase: _Phase) -> Stage:
        best = booster.best_iteration or booster.current_iteration()
        self._send(phase, until=phase.offset + best)
        return Stage(booster, best)

    def _train(self, phase: _Phase, start: list[np.ndarray]) -> tuple[lgb.Booster, _Phase]:
        train_scores, valid_scores = start
        train = lgb.Dataset(
            self.x_train, label=self.y_train, init_score=train_scores, free_raw_data=False
        )
        valid = lgb.Dataset(
            self.x_valid, label=self.y_valid, init_score=valid_scores, reference=train
        )
        rounds = self.model.max_rounds - phase.offset
        callbacks: list[Callable[..., None]] = [
            lgb.early_stopping(
                self.model.early_stopping_rounds, first_metric_only=True, verbose=False
            ),
            lgb.record_evaluation(phase.record),
            self._reporting(phase),
        ]
        booster = lgb.train(
            self._params(phase),
            train,
            num_boost_round=max(rounds, 1),
            valid_sets=[valid],
            valid_names=["valid"],
            feval=self._feval,
            callbacks=callbacks,
        )
        return booster, phase

    def _params(self, phase: _Phase) -> dict[str, Any]:
        params: dict[str, Any] = {
            **self.model.lightgbm_params(),
            "objective": self._fobj(phase),
            "metric": "None",
            "seed": self.recipe.seed,
            "deterministic": True,
            "force_row_wise": True,
            "num_threads": threads(len(self.x_train)),
            "verbosity": -1,
            "boost_from_average": False,
            # keep every feature: a large min_child_samples on a small table would otherwise
            # filter out all of them, and LightGBM refuses a dataset with none
            "feature_pre_filter": False,
        }
        if self.task is Task.MULTICLASS:
            params["num_class"] = self.n_classes
        return params

    # -- objective, metrics, reports ---------------------------------------------------------

    def _fobj(self, phase: _Phase) -> Callable[[np.ndarray, lgb.Dataset], tuple[Any, Any]]:
        progress = 1.0 if phase.switched else 0.0
        needs_losses = self.weighting.name != "none"
        state = {"round": phase.offset}

        def objective(scores: np.ndarray, _: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
            state["round"] += 1
            derived = self.objective.derivatives(scores, self.y_train)
            grad, hess = derived.grad, derived.hess
            phase.floored += derived.floored
            phase.entries += derived.hess.size
            reporting = state["round"] % REPORT_EVERY == 0
            if needs_losses or reporting:
                losses = self.objective.per_sample(scores, self.y_train)
                weights = self._weights(losses, progress)
                if reporting:
                    phase.train_losses[state["round"]] = float(
                        np.sum(weights * losses) / max(np.sum(weights), 1e-12)
                    )
                if needs_losses:
                    w = weights[:, None] if grad.ndim == 2 else weights
                    grad, hess = grad * w, hess * w
            if not (np.all(np.isfinite(grad)) and np.all(np.isfinite(hess))):
                raise TrainingDiverged(
                    f"The {self.recipe.loss.name!r} loss's gradient became non-finite at "
                    f"round {state['round']}; lower the learning rate or change the loss."
                )
            return grad, hess

        return objective

    def _weights(self, losses: np.ndarray, progress: float) -> np.ndarray:
        """The scheme's row weights, scaled to mean 1 (boosting's regularisers and
        ``min_sum_hessian`` see the same scale as unweighted training)."""
        target = torch.as_tensor(self.y_train)
        weights = self.weighting(
            torch.as_tensor(losses), target, class_counts=self.class_counts, progress=progress
        )
        w = np.asarray(weights.detach().to(torch.float64).numpy())
        return w * (len(w) / max(float(w.sum()), 1e-12))

    def _feval(self, scores: np.ndarray, _: lgb.Dataset) -> list[tuple[str, float, bool]]:
        values = score_outputs(
            scores,  # (N,), or (N, K) for multiclass as LightGBM 4 hands them over
            self.y_valid,
            self.task,
            self.metric_names,
            target_mean=self.target_mean,
            target_std=self.target_std,
        )
        # the recipe's metric first: early stopping follows the first one
        return [(name, values[name], self.greater[name]) for name in self.metric_names]

    def _reporting(self, phase: _Phase) -> _Reports:
        return _Reports(self, phase)

    def _send(self, phase: _Phase, until: int, live: bool = False) -> None:
        """Report every :data:`REPORT_EVERY`-th round of ``phase`` up to round ``until``
        not reported yet (``live``: only while the phase runs, as rounds end)."""
        valid = phase.record.get("valid", {})
        for step in range(self.reported + 1, until // REPORT_EVERY + 1):
            index = step * REPORT_EVERY - phase.offset - 1
            if index < 0 or index >= len(valid.get(self.recipe.metric, [])):
                if live:
                    return
                continue
            metrics = {
                "train_loss": phase.train_losses.get(step * REPORT_EVERY, math.nan),
                "hessian_floored": phase.floored / max(phase.entries, 1),
            }
            metrics |= {f"valid_{name}": valid[name][index] for name in self.metric_names}
            self.history.append({"epoch": float(step), **metrics})
            self.reported = step
            if self.report is not None:
                self.report(step, metrics)

    # -- shapes --------------------------------------------------------------------------------

    def _shape(self, n: int) -> tuple[int, ...]:
        return (n, self.n_classes) if self.task is Task.MULTICLASS else (n,)

    def _raw(self, booster: lgb.Booster, x: np.ndarray, rounds: int) -> np.ndarray:
        return np.asarray(booster.predict(x, num_iteration=rounds, raw_score=True))


class _Reports:
    """A LightGBM callback that reports the rounds of a phase as they end (after
    ``record_evaluation``, whose ``order`` is 20, has recorded them)."""

    order = 30

    def __init__(self, run: _Boosting, phase: _Phase) -> None:
        self.run, self.phase = run, phase

    def __call__(self, env: Any) -> None:
        if self.phase.switched:
            self.run._send(self.phase, until=self.phase.offset + env.iteration + 1, live=True)


ROWS_PER_THREAD = 10_000
"""Training rows per boosting thread. Below it a thread's share of a histogram costs less
than OpenMP's synchronisation: a 1,100-row table boosted 13x faster on one thread than on
two on a busy 2-core machine (spinning threads stall when the cores are oversubscribed)."""


def threads(n_rows: int) -> int:
    """Boosting threads for ``n_rows`` training rows: one per :data:`ROWS_PER_THREAD`, at
    most as many as torch uses (what the search, and Ray per trial, set)."""
    return max(1, min(torch.get_num_threads(), n_rows // ROWS_PER_THREAD))


def _targets(dataset: Dataset) -> tuple[np.ndarray, np.ndarray]:
    if dataset.task is Task.REGRESSION:
        return (
            np.asarray(dataset.y_train, dtype=np.float64),
            np.asarray(dataset.y_valid, dtype=np.float64),
        )
    return np.asarray(dataset.y_train, dtype=np.int64), np.asarray(dataset.y_valid, dtype=np.int64)
