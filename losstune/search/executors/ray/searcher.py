"""The Ray executor's searcher: Ray Tune's OptunaSearch over a losstune space, whose Optuna
study records each trial as the in-process executors do."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
from ray.tune.search.optuna import OptunaSearch

from losstune.search.lifecycle import (
    CONFIG,
    MAX_EPOCHS,
    MLFLOW_RUN_ID,
    ORIGIN,
    TrialEnd,
    trial_origin,
)
from losstune.spaces import SearchSpace
from losstune.spaces.optuna_adapter import suggest

TRIAL_KEY = "losstune.trial"  # the Optuna trial number, carried in each Ray trial's config
ORIGIN_KEY = "losstune.origin"  # where its configuration came from (its MLflow run's tag)
RAY_TRIAL_ID = "ray_trial_id"  # the trial user attribute naming its Ray trial


class StudySearch(OptunaSearch):
    """:class:`~ray.tune.search.optuna.OptunaSearch` over a losstune space whose Optuna study
    records each trial as the Optuna backend does.

    OptunaSearch tells a trial stopped by the scheduler as COMPLETE with its last (early)
    value; here it is PRUNED, reported at its epochs (not Tune's iterations), and a trial that
    diverged is FAIL. Each trial carries the user attributes the leaderboard reads: ``config``,
    ``mlflow_run_id``, ``max_epochs``, ``fail_reason``, ``default_recipe`` (the stage's
    ``enqueue`` pairs of params and user attributes come first) and ``ray_trial_id``. Built
    without a space it is blank, ready for :meth:`restore_from_dir`.
    """

    def __init__(
        self,
        space: SearchSpace | None = None,
        sampler: optuna.samplers.BaseSampler | None = None,
        metric: str | None = None,
        mode: str | None = None,
        study_name: str | None = None,
        enqueue: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...] = (),
    ) -> None:
        self._epochs_seen: dict[str, set[int]] = {}
        if space is None:
            super().__init__()
            return
        super().__init__(
            space=_Suggest(space), metric=metric, mode=mode, sampler=sampler, study_name=study_name
        )
        for params, attrs in enqueue:
            self.study.enqueue_trial(dict(params), user_attrs=dict(attrs))

    @classmethod
    def from_experiment(cls, path: str | Path) -> StudySearch:
        """The searcher as Ray Tune last saved it in the experiment folder ``path``."""
        searcher = cls()
        searcher.restore_from_dir(str(path))
        return searcher

    @property
    def study(self) -> optuna.Study:
        """The searcher's Optuna study (set up by OptunaSearch once it has a space)."""
        study = self._ot_study
        if study is None:
            raise RuntimeError("The searcher has no study yet: give it a space or restore it.")
        return study

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if trial_id in self._ot_trials and trial_id not in self._completed_trials:
            self._record(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        if trial_id not in self._ot_trials or trial_id in self._completed_trials:
            return
        trial = self._ot_trials[trial_id]
        if result:
            self._record(trial_id, result)  # Tune withholds the result it stopped a trial on
        end = TrialEnd("failed", None, "its worker failed") if error else None
        end = end or TrialEnd.of_report(result, self.metric)
        end.record(trial)
        value = end.value if end.state == "complete" else None
        self.study.tell(trial, value, end.optuna_state)
        self._completed_trials.add(trial_id)

    def _record(self, trial_id: str, result: Mapping[str, Any]) -> None:
        """The trial's attributes from a report (a failed trial reports once, without an
        epoch), and its epoch's value."""
        trial = self._ot_trials[trial_id]
        attrs = trial.user_attrs
        known = {
            MLFLOW_RUN_ID: result.get(MLFLOW_RUN_ID),
            MAX_EPOCHS: int(result[MAX_EPOCHS]) if MAX_EPOCHS in result else None,
            RAY_TRIAL_ID: trial_id if MLFLOW_RUN_ID in result else None,
        }
        for name, value in known.items():
            if value is not None and attrs.get(name) != value:
                trial.set_user_attr(name, value)
        if "epoch" not in result:
            return
        epoch, value = int(result["epoch"]), float(result.get(self.metric, math.nan))
        seen = self._epochs_seen.setdefault(trial_id, set())
        if epoch not in seen and not math.isnan(value):  # a retried trial reports again
            trial.report(value, step=epoch)
            seen.add(epoch)


class _Suggest:
    """The define-by-run space: a losstune config, plus the trial number that names the
    trial's MLflow run. A class, not a closure, because Tune pickles the searcher."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def __call__(self, trial: optuna.Trial) -> dict[str, Any]:
        config = suggest(trial, self.space)
        trial.set_user_attr(CONFIG, config)
        origin = trial_origin(trial.user_attrs)
        if ORIGIN not in trial.user_attrs:
            trial.set_user_attr(ORIGIN, origin)
        return {**config, TRIAL_KEY: trial.number, ORIGIN_KEY: origin}
