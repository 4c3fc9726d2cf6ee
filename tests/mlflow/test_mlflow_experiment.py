"""Which MLflow experiment a search goes to: one per dataset, overridable, and a resumed
search stays where it started (also one started before experiments were per dataset)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine
from typer.testing import CliRunner

import losstune
from losstune.cli import app
from losstune.mlflow import SearchTracker, dataset_name, local_tracking_uri

TINY = dict(metric="accuracy", n_trials=2, epochs=1, top_k=1, n_seeds=1, seed=0, device="cpu")


@pytest.fixture(scope="module")
def wine():
    return losstune.load_dataset(load_wine(), seed=0)


def _experiment_of(result) -> str:
    client = MlflowClient(result.tracking_uri)
    return client.get_experiment(client.get_run(result.mlflow_run_id).info.experiment_id).name


def test_a_named_experiment_holds_the_search_and_its_resume(wine, tmp_path: Path):
    first = losstune.search(wine, run_dir=tmp_path, experiment_name="team/wine", **TINY)
    assert _experiment_of(first) == "team/wine"
    more = {**TINY, "n_trials": 3}
    again = losstune.search(wine, run_dir=tmp_path, experiment_name="team/wine", **more)
    assert again.mlflow_run_id == first.mlflow_run_id  # the same parent, one more trial
    client = MlflowClient(again.tracking_uri)
    experiment = client.get_experiment_by_name("team/wine")
    runs = client.search_runs([experiment.experiment_id], "tags.`mlflow.parentRunId` != ''")
    assert len(runs) == 3
    assert sorted(e.name for e in client.search_experiments()) == ["Default", "team/wine"]


def test_a_search_started_in_the_old_shared_experiment_resumes_there(wine, tmp_path: Path):
    losstune.search(wine, run_dir=tmp_path, **TINY)
    client = MlflowClient(local_tracking_uri(tmp_path))
    derived = f"losstune/{dataset_name(wine)}"
    client.rename_experiment(client.get_experiment_by_name(derived).experiment_id, "losstune")
    again = losstune.search(wine, run_dir=tmp_path, **{**TINY, "n_trials": 3})
    assert _experiment_of(again) == "losstune"
    assert client.get_experiment_by_name(derived) is None  # no empty experiment left behind


def test_a_tracker_made_before_experiment_kinds_gets_one(tmp_path: Path):
    client = MlflowClient(local_tracking_uri(tmp_path))
    SearchTracker.local(tmp_path, "old")
    experiment = client.get_experiment_by_name("old")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"


def test_the_cli_passes_experiment_through(tmp_path: Path, monkeypatch):
    import losstune.search

    seen: dict = {}

    def search(dataset, **options):
        seen.update(options)
        raise ValueError("stop here")

    monkeypatch.setattr(losstune.search, "search", search)
    data = tmp_path / "wine.csv"
    frame = load_wine(as_frame=True).frame
    pd.concat([frame.iloc[:, :3], frame["target"]], axis=1).to_csv(data, index=False)
    args = ["search", str(data), "-t", "target", "--out", str(tmp_path / "r.yaml")]
    result = CliRunner().invoke(app, [*args, "--experiment", "team/wine", "--quiet"])
    assert result.exit_code == 2 and "stop here" in result.output
    assert seen["experiment_name"] == "team/wine"
    assert seen["data_source"]["path"].endswith("wine.csv")  # names the default experiment
