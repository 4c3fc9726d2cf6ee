"""What a search returns: the recipe, its evidence, and where everything is stored."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from losstune.recipe import Recipe, Score
from losstune.urls import mask_password


@dataclass
class Result:
    """The outcome of :func:`losstune.search`.

    Attributes:
        recipe: the selected recipe, with its provenance (scores, study, MLflow run).
        score: test score of ``recipe`` over the evaluation seeds (mean, 95% interval).
        default_score: the default recipe's test score on the same seeds.
        margin: how much better ``recipe`` is than the default on the test metric (positive
            is better, whatever the metric's direction); NaN when the default failed.
        importances: Optuna's parameter importances (fANOVA) over the completed trials.
        final: the re-evaluated candidates (one row per configuration and seed).
        study_name, storage: the Optuna study, to load with ``optuna.load_study``.
        tracking_uri, mlflow_run_id: the MLflow store and the search's parent run.
            ``storage`` and ``tracking_uri`` keep their passwords (they open the stores);
            the repr hides them.
        run_dir: the local run folder (Optuna and MLflow stores) when one was used.
        model: the selected recipe trained on its first evaluation seed (a FittedModel).
        model_uri: that model in MLflow as a pyfunc on raw rows: the path of its artifacts
            with a local run folder (``mlflow.pyfunc.load_model(model_uri)`` from anywhere),
            ``models:/<id>`` with a tracking server.
        stages: for ``strategy="transfer"``, one row per stage (the proxies, then the
            full-size confirmation): width, data share, parameters, trials, epochs trained,
            compute (parameters x rows x epochs trained), seconds and the stage's best;
            empty otherwise.
        default_failure: why the default recipe failed (its trial or its re-training), or
            None; a search whose default failed reports no margin.
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
    default_failure: str | None = None
    _leaderboard: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def __repr__(self) -> str:
        """The dataclass repr, with the passwords of ``storage`` and ``tracking_uri`` hidden
        (a repr ends up in notebooks, logs and bug reports)."""
        shown = []
        for f in fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            if f.name in ("storage", "tracking_uri") and isinstance(value, str):
                value = mask_password(value)
            shown.append(f"{f.name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial, best first (see :func:`losstune.search.leaderboard.leaderboard`)."""
        return self._leaderboard.copy()

    def study(self) -> Any:
        """The Optuna study (loaded from its storage)."""
        import optuna

        return optuna.load_study(study_name=self.study_name, storage=self.storage)
