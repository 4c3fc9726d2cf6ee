"""Read a finished search back from its run folder, without training anything.

A local run folder holds the Optuna studies (``optuna.db``) and the MLflow store
(``mlflow.db``, ``artifacts/``). Each search has one MLflow parent run, which every study of
the search records (a transfer search has one study per stage); the parent run holds what
the search concluded: the ``recipe.yaml``, ``leaderboard.csv`` and ``final_evaluation.csv``
artifacts, the ``margin`` and ``importance.*`` metrics and the ``best_model_uri`` tag.
:func:`load_search` rebuilds the search's :class:`~losstune.search.result.Result` from
those (no model in memory: load it from ``model_uri``), so ``losstune show`` prints what the
search printed and ``losstune predict`` finds the model of a run folder.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from losstune.recipe import Recipe
from losstune.search.lifecycle import PARENT_RUN_ID
from losstune.search.result import Result

OPTUNA_DB = "optuna.db"
MODEL_TAG = "best_model_uri"


class ShowError(ValueError):
    """A run folder, or a search in it, that cannot be shown; the message says why and
    what to pass instead."""


@dataclass(frozen=True)
class StoredSearch:
    """One search of a run folder: its name (the study that records it; a transfer search's
    stage studies are named after it), its MLflow parent run, and all its studies."""

    name: str
    parent_run_id: str
    studies: tuple[str, ...]


def searches_in(run_dir: Path | str) -> list[StoredSearch]:
    """The searches whose studies are in ``run_dir``'s ``optuna.db``, by name.

    Raises:
        ShowError: ``run_dir`` is no run folder (it has no ``optuna.db``).
    """
    import optuna

    storage = optuna_storage(run_dir)
    studies: dict[str, list[str]] = {}
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        parent = summary.user_attrs.get(PARENT_RUN_ID)
        if parent is not None:
            studies.setdefault(str(parent), []).append(summary.study_name)
    found = [
        StoredSearch(min(names, key=len), parent, tuple(sorted(names)))
        for parent, names in studies.items()
    ]
    return sorted(found, key=lambda s: s.name)


def optuna_storage(run_dir: Path | str) -> str:
    """The SQLite URL of ``run_dir``'s Optuna studies (refused when there is none: opening a
    missing file would create an empty store)."""
    path = Path(run_dir)
    if not (path / OPTUNA_DB).is_file():
        raise ShowError(
            f"{path} is not a losstune run folder: it has no {OPTUNA_DB}. Pass the folder a "
            "search ran in (--run-dir, default losstune-runs)."
        )
    return f"sqlite:///{(path / OPTUNA_DB).resolve()}"


def pick_search(run_dir: Path | str, study: str | None = None) -> StoredSearch:
    """The search named ``study`` (its name or one of its stage studies' names), or the only
    search in ``run_dir``.

    Raises:
        ShowError: no search, ``study`` not found, or several searches and no ``study``.
    """
    found = searches_in(run_dir)
    if not found:
        raise ShowError(f"{run_dir} holds no search yet; run `losstune search` there first.")
    names = ", ".join(s.name for s in found)
    if study is None:
        if len(found) > 1:
            raise ShowError(
                f"{run_dir} holds {len(found)} searches: {names}. Pass --study NAME to pick one."
            )
        return found[0]
    for search in found:
        if study == search.name or study in search.studies:
            return search
    raise ShowError(f"{run_dir} holds no search named {study!r}; it holds {names}.")


def load_search(run_dir: Path | str, study: str | None = None) -> Result:
    """The finished search ``study`` of ``run_dir`` (see :func:`pick_search`) as a
    :class:`Result` read from its stores: recipe, scores, margin, importances, leaderboard,
    final evaluation, the model's URI (``model`` is None: load ``model_uri``).

    Raises:
        ShowError: no such search, or it did not finish (interrupted, failed or running).
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from losstune.mlflow import local_tracking_uri

    search = pick_search(run_dir, study)
    tracking_uri = local_tracking_uri(run_dir)
    client = MlflowClient(tracking_uri)
    try:
        run = client.get_run(search.parent_run_id)
    except MlflowException:
        raise ShowError(
            f"Search {search.name!r} has no MLflow run in {run_dir} (was it tracked on a "
            "server with --tracking-uri?); open it there with `losstune ui`."
        ) from None
    status = run.info.status
    if status != "FINISHED" or MODEL_TAG not in run.data.tags:
        raise ShowError(
            f"Search {search.name!r} did not finish (its MLflow run is {status}); run the same "
            "search again to resume it, then show it."
        )
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            name: Path(client.download_artifacts(run.info.run_id, name, tmp))
            for name in ("recipe.yaml", "leaderboard.csv", "final_evaluation.csv")
        }
        recipe = Recipe.load(files["recipe.yaml"])
        board = _read_csv(files["leaderboard.csv"])
        final = _read_csv(files["final_evaluation.csv"])
    return _result(search, recipe, run, board, final, run_dir, tracking_uri)


def _result(
    search: StoredSearch,
    recipe: Recipe,
    run: Any,
    board: pd.DataFrame,
    final: pd.DataFrame,
    run_dir: Path | str,
    tracking_uri: str,
) -> Result:
    """The :class:`Result` a finished search's parent run and artifacts describe."""
    provenance = recipe.provenance
    if provenance is None or provenance.score is None or provenance.default_score is None:
        raise ShowError(
            f"The recipe of search {search.name!r} records no scores; it was not written by "
            "a finished search. Run the search again."
        )
    metrics = run.data.metrics
    margin = float(metrics.get("margin", math.nan))
    failure = None
    if math.isnan(provenance.default_score.mean):
        failure = "its re-training on the evaluation seeds failed, so no margin is reported"
    return Result(
        recipe=recipe,
        score=provenance.score,
        default_score=provenance.default_score,
        margin=margin,
        importances={
            k.removeprefix("importance."): float(v)
            for k, v in metrics.items()
            if k.startswith("importance.")
        },
        final=final,
        study_name=search.name,
        storage=optuna_storage(run_dir),
        tracking_uri=tracking_uri,
        mlflow_run_id=run.info.run_id,
        run_dir=Path(run_dir),
        model_uri=str(run.data.tags[MODEL_TAG]),
        default_failure=failure,
        _leaderboard=board,
    )


def _read_csv(path: Path) -> pd.DataFrame:
    """A logged frame (an empty file: an empty frame)."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def latest_model_uri(run_dir: Path | str) -> str:
    """The model of the search in ``run_dir`` that finished last (its ``best_model_uri``).

    Raises:
        ShowError: no search in ``run_dir`` finished.
    """
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from losstune.mlflow import local_tracking_uri

    found = searches_in(run_dir)
    client = MlflowClient(local_tracking_uri(run_dir))
    finished = []
    for search in found:
        try:
            run = client.get_run(search.parent_run_id)
        except MlflowException:
            continue
        if run.info.status == "FINISHED" and MODEL_TAG in run.data.tags:
            finished.append((run.info.end_time or 0, str(run.data.tags[MODEL_TAG])))
    if not finished:
        raise ShowError(
            f"No search in {run_dir} finished, so it holds no model; finish one (run it again "
            "to resume), or pass a model URI."
        )
    return max(finished)[1]
