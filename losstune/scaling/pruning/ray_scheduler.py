"""``CurveStoppingScheduler``: the curve-extrapolation stopping rule as a Ray Tune scheduler.

Importing this module imports Ray; ``losstune.scaling`` imports it only when the name is used.
"""

from __future__ import annotations

import math
import zlib
from typing import TYPE_CHECKING, Any

from ray.tune.result import DEFAULT_METRIC
from ray.tune.schedulers.trial_scheduler import FIFOScheduler, TrialScheduler

from losstune.scaling.curves.forecast import MIN_POINTS
from losstune.scaling.pruning.decision import PruneDecision, decide

if TYPE_CHECKING:
    from ray.tune.execution.tune_controller import TuneController
    from ray.tune.experiment import Trial


class CurveStoppingScheduler(FIFOScheduler):
    """Stop a trial when P(its value at ``max_t`` beats the incumbent) < ``delta``.

    Trials run in submission order (FIFO); on each result the trial's curve of ``metric``
    against ``time_attr`` is extrapolated to ``max_t`` by :func:`losstune.scaling.decide`,
    the rule the Optuna :class:`~losstune.scaling.CurvePruner` uses. The incumbent is the best
    final ``metric`` among trials that completed without being stopped by this scheduler.
    The latest decision per trial id is kept in ``decisions`` (with its forecast).

    Example::

        from ray import tune
        from losstune.scaling import CurveStoppingScheduler

        scheduler = CurveStoppingScheduler(max_t=30)  # metric and mode from TuneConfig
        tuner = tune.Tuner(
            train_fn,
            param_space={"lr": tune.loguniform(1e-4, 1e-1)},
            tune_config=tune.TuneConfig(
                metric="valid_accuracy", mode="max", scheduler=scheduler, num_samples=50
            ),
        )

    Args:
        metric: the result key to judge (default: from ``TuneConfig``).
        mode: ``"max"`` or ``"min"`` (default: from ``TuneConfig``).
        delta: stop when the probability of beating the incumbent falls below this.
        min_points: results a trial must have reported before it can be stopped (>= 5).
        max_t: the value of ``time_attr`` a trial runs to, the horizon of the forecast.
        time_attr: the result key that measures progress (must increase).
        seed: seeds each decision's sampling (with the trial id and time).
    """

    def __init__(
        self,
        metric: str | None = None,
        mode: str | None = None,
        *,
        delta: float = 0.05,
        min_points: int = MIN_POINTS,
        max_t: float = 100,
        time_attr: str = "training_iteration",
        seed: int = 0,
    ) -> None:
        super().__init__()
        if mode not in (None, "min", "max"):
            raise ValueError(f"mode must be 'min' or 'max'; got {mode!r}.")
        if not 0 < delta < 1:
            raise ValueError(f"delta must be in (0, 1); got {delta!r}.")
        if min_points < MIN_POINTS:
            raise ValueError(
                f"min_points must be >= {MIN_POINTS} (the fewest points a forecast is made "
                f"from); got {min_points!r}."
            )
        if not max_t > 0:
            raise ValueError(f"max_t must be > 0; got {max_t!r}.")
        if seed < 0:
            raise ValueError(f"seed must be >= 0; got {seed!r}.")
        self._metric = metric
        self._mode = mode
        self.delta = float(delta)
        self.min_points = min_points
        self.max_t = max_t
        self.time_attr = time_attr
        self.seed = seed
        self.decisions: dict[str, PruneDecision] = {}
        self._curves: dict[str, tuple[list[float], list[float]]] = {}
        self._stopped: set[str] = set()
        self._finals: dict[str, float] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        if (self._metric and metric) or (self._mode and mode):
            return False
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        if self._metric is None and self._mode:
            self._metric = DEFAULT_METRIC
        return True

    @property
    def incumbent(self) -> float | None:
        """The best final value among trials completed without being stopped here."""
        if not self._finals:
            return None
        best = max if self._mode == "max" else min
        return best(self._finals.values())

    def on_trial_add(self, tune_controller: TuneController, trial: Trial) -> None:
        if not self._metric or self._mode not in ("min", "max"):
            raise ValueError(
                f"{type(self).__name__} needs `metric` ({self._metric!r}) and `mode` "
                f"({self._mode!r}): pass them to it or to tune.TuneConfig()."
            )

    def on_trial_result(self, tune_controller: TuneController, trial: Trial, result: dict) -> str:
        if self._metric not in result or self.time_attr not in result:
            return TrialScheduler.CONTINUE
        steps, values = self._curves.setdefault(trial.trial_id, ([], []))
        step = float(result[self.time_attr])
        steps.append(step)
        values.append(float(result[self._metric]))
        decision = decide(
            steps,
            values,
            horizon=self.max_t,
            incumbent=self.incumbent,
            greater_is_better=self._mode == "max",
            delta=self.delta,
            min_points=self.min_points,
            seed=(self.seed, zlib.crc32(trial.trial_id.encode()), max(int(step), 0)),
        )
        self.decisions[trial.trial_id] = decision
        if decision.stop:
            self._stopped.add(trial.trial_id)
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller: TuneController, trial: Trial, result: dict):
        if trial.trial_id in self._stopped:
            return
        value = (result or {}).get(self._metric)
        if value is None:
            values = self._curves.get(trial.trial_id, ([], []))[1]
            value = values[-1] if values else None
        if value is not None and math.isfinite(value):
            self._finals[trial.trial_id] = float(value)

    def on_trial_error(self, tune_controller: TuneController, trial: Trial) -> None:
        self._curves.pop(trial.trial_id, None)

    def on_trial_remove(self, tune_controller: TuneController, trial: Trial) -> None:
        self._curves.pop(trial.trial_id, None)

    def debug_string(self) -> str:
        return (
            f"Using CurveStoppingScheduler (delta={self.delta:g}): "
            f"{len(self._stopped)} stopped, incumbent {self.incumbent}."
        )
