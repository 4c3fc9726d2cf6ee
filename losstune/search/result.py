"""What a search returns: the recipe, its evidence, and where everything is stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from losstune.recipe import Recipe, Score


@dataclass
class Result:
    """The outcome of :func:`losstune.search`.

    Attributes:
        recipe: the selected recipe, with its provenance (scores, study, MLflow run).
        score: test score of ``recipe`` over the evaluation seeds (mean, 95% interval).
        default_score: the default recipe's test score on the same seeds.
        margin: how much better ``recipe`` is than the default on the test metric (positive
            is better, whatever the metric's direction).
        importances: Optuna's parameter importances (fANOVA) over the completed trials.
        final: the re-evaluated candidates (one row per configuration and seed).
        study_name, storage: the Optuna study, to load with ``optuna.load_study``.
        tracking_uri, mlflow_run_id: the MLflow store and the search's parent run.
        run_dir: the local run folder (Optuna and MLflow stores) when one was used.
        model: the selected recipe trained on its first evaluation seed (a FittedModel).
        model_uri: that model in MLflow (``models:/<id>``), logged with ``mlflow.pytorch``.
        stages: for ``strategy="transfer"``, one row per stage (the proxies, then the
            full-size confirmation): width, data share, parameters, trials, epochs trained,
            compute (parameters x rows x epochs trained), seconds and the stage's best;
            empty otherwise.
    """

    recipe: Recipe
    score: Score
    default_score: Score
    margin: float
    importances: dict[str, float]
    final: pd.DataFrame
    study_name: str
    storage: str
    tracking_uri: str
    mlflow_run_id: str
    run_dir: Path | None = None
    model: Any = field(default=None, repr=False)
    model_uri: str = ""
    stages: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    _leaderboard: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best first (see :func:`losstune.search.leaderboard.leaderboard`)."""
        return self._leaderboard.copy()

    def study(self) -> Any:
        """The Optuna study (loaded from its storage)."""
        import optuna

        return optuna.load_study(study_name=self.study_name, storage=self.storage)
