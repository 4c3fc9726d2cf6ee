"""``CurvePruner``: an Optuna pruner that stops a trial when its extrapolated learning curve
gives it little chance of beating the best finished trial."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from losstune.scaling.curves.forecast import MIN_POINTS
from losstune.scaling.pruning.decision import decide

FORECAST_ATTR = "losstune:curve_forecast"
"""The trial system attribute holding the latest decision's forecast (see :func:`recorded`)."""

MAX_EPOCHS_ATTR = "max_epochs"


class CurvePruner(BasePruner):
    """Prune a trial when P(its final value beats the incumbent) < ``delta``.

    At every report the trial's intermediate values are fitted by an ensemble of parametric
    learning-curve families (:func:`losstune.scaling.forecast_final`) and extrapolated to the
    last step, ``max_resource``; the incumbent is the best value among COMPLETE trials, in the
    study's direction. The rule is :func:`losstune.scaling.decide`, shared with the Ray Tune
    :class:`~losstune.scaling.CurveStoppingScheduler`. Each decision's forecast (mean, 5% and
    95% quantiles, probability, family weights) is written to the trial's system attribute
    ``"losstune:curve_forecast"``, so the objective can log it (read it with :func:`recorded`).

    Example:
        >>> import optuna
        >>> from losstune.scaling import CurvePruner
        >>> def objective(trial):
        ...     rate = trial.suggest_float("rate", 0.01, 1.0, log=True)
        ...     for epoch in range(1, 31):
        ...         accuracy = 0.5 + 0.45 * rate * (1 - epoch**-0.5)
        ...         trial.report(accuracy, epoch)
        ...         if trial.should_prune():
        ...             raise optuna.TrialPruned()
        ...     return accuracy
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> sampler = optuna.samplers.RandomSampler(seed=0)
        >>> study = optuna.create_study(direction="maximize", sampler=sampler, pruner=CurvePruner())
        >>> study.optimize(objective, n_trials=20)
        >>> pruned = study.get_trials(states=[optuna.trial.TrialState.PRUNED])
        >>> len(pruned) > 0
        True

    Args:
        delta: prune when the probability of beating the incumbent falls below this
            (Domhan et al. 2015 use 0.05). Smaller prunes less and later.
        min_points: reports a trial must have made before it can be pruned (at least 5,
            the fewest a forecast is made from).
        n_startup_trials: COMPLETE trials needed before any trial is pruned.
        max_resource: the step to extrapolate to, the trial's last one. ``"auto"`` uses the
            trial's ``"max_epochs"`` user attribute when set (its own number of epochs), else
            the largest last step among COMPLETE trials, like the ``"auto"`` resource of
            Optuna's ``SuccessiveHalvingPruner``. An int is used as is, over both.
        seed: seeds each decision's sampling (with the trial number and step, so a decision
            is reproducible whatever order trials report in).

    .. note::
        The forecast assumes the value the objective returns is the last reported one (as in
        losstune's runners). Without ``"max_epochs"`` and before a trial completes, ``"auto"``
        has no horizon and nothing is pruned.
    """

    def __init__(
        self,
        delta: float = 0.05,
        *,
        min_points: int = MIN_POINTS,
        n_startup_trials: int = 3,
        max_resource: int | Literal["auto"] = "auto",
        seed: int = 0,
    ) -> None:
        if isinstance(delta, bool) or not isinstance(delta, int | float) or not 0 < delta < 1:
            raise ValueError(f"The value of `delta` is {delta!r}, but must be in (0, 1).")
        if isinstance(min_points, bool) or not isinstance(min_points, int):
            raise ValueError(f"The value of `min_points` is {min_points!r}, but must be an int.")
        if min_points < MIN_POINTS:
            raise ValueError(
                f"The value of `min_points` is {min_points}, but must be >= {MIN_POINTS} "
                "(the fewest points a forecast is made from)."
            )
        if not isinstance(n_startup_trials, int) or n_startup_trials < 0:
            raise ValueError(
                f"The value of `n_startup_trials` is {n_startup_trials!r}, but must be >= 0."
            )
        if max_resource != "auto" and (
            isinstance(max_resource, bool) or not isinstance(max_resource, int) or max_resource < 1
        ):
            raise ValueError(
                f"The value of `max_resource` is {max_resource!r}, but must be an int >= 1 "
                "or 'auto'."
            )
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"The value of `seed` is {seed!r}, but must be an int >= 0.")
        self.delta = float(delta)
        self.min_points = min_points
        self.n_startup_trials = n_startup_trials
        self.max_resource = max_resource
        self.seed = seed

    def __repr__(self) -> str:
        return (
            f"CurvePruner(delta={self.delta}, min_points={self.min_points}, "
            f"n_startup_trials={self.n_startup_trials}, max_resource={self.max_resource!r}, "
            f"seed={self.seed})"
        )

    def prune(self, study: optuna.study.Study, trial: FrozenTrial) -> bool:
        step = trial.last_step
        if step is None or len(trial.intermediate_values) < self.min_points:
            return False
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        horizon = self._horizon(trial, complete)
        if horizon is None:
            return False
        greater_is_better = study.direction == StudyDirection.MAXIMIZE
        incumbent = None
        if len(complete) >= max(self.n_startup_trials, 1):
            incumbent = _best([t.value for t in complete], greater_is_better)
        steps, values = zip(*sorted(trial.intermediate_values.items()), strict=True)
        decision = decide(
            steps,
            values,
            horizon=horizon,
            incumbent=incumbent,
            greater_is_better=greater_is_better,
            delta=self.delta,
            min_points=self.min_points,
            seed=(self.seed, trial.number, int(step)),
        )
        if decision.forecast is not None:
            record = {
                **decision.forecast.to_dict(),
                "step": int(step),
                "incumbent": incumbent,
                "probability": decision.probability,
                "stop": decision.stop,
            }
            study._storage.set_trial_system_attr(trial._trial_id, FORECAST_ATTR, record)
        return decision.stop

    def _horizon(self, trial: FrozenTrial, complete: Sequence[FrozenTrial]) -> int | None:
        if self.max_resource != "auto":
            return int(self.max_resource)
        own = trial.user_attrs.get(MAX_EPOCHS_ATTR)
        if own is not None:
            return int(own)
        last_steps = [t.last_step for t in complete if t.last_step is not None]
        return max(last_steps) if last_steps else None


def recorded(trial: FrozenTrial | optuna.Trial) -> dict[str, Any] | None:
    """The last forecast a :class:`CurvePruner` recorded on ``trial`` (``None`` if none)."""
    if isinstance(trial, optuna.Trial):
        return trial.study._storage.get_trial_system_attrs(trial._trial_id).get(FORECAST_ATTR)
    return trial.system_attrs.get(FORECAST_ATTR)


def _best(values: Sequence[float | None], greater_is_better: bool) -> float | None:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if greater_is_better else min(finite)
