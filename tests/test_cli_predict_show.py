"""``losstune predict`` and ``losstune show`` on one tiny real search of wine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from typer.testing import CliRunner

import losstune
from losstune.cli import app
from losstune.mlflow import SearchTracker
from losstune.recipe import Recipe
from losstune.search.lifecycle import PARENT_RUN_ID
from losstune.search.show import load_search

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wine() -> pd.DataFrame:
    return load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})


@pytest.fixture(scope="module")
def searched(tmp_path_factory, wine) -> tuple[Path, losstune.Result, Path]:
    """A finished two-trial search in its run folder, and a CSV of raw rows (target kept)."""
    tmp = tmp_path_factory.mktemp("search")
    data = losstune.load_dataset(wine, target="cultivar")
    result = losstune.search(data, n_trials=2, epochs=2, top_k=1, n_seeds=1, run_dir=tmp / "runs")
    rows = tmp / "rows.csv"
    wine.head(20).to_csv(rows, index=False)
    return tmp / "runs", result, rows


def _invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_show_prints_the_finished_search_without_training(searched):
    run_dir, result, _ = searched
    out = _invoke("show", run_dir)
    assert out.exit_code == 0, out.output
    text = out.stdout
    assert f"margin {result.margin:+.4f}" in text
    assert f"study: {result.study_name}" in text
    assert "leaderboard (best 2 of 2 trials)" in text
    assert f"model: {result.model_uri}" in text
    assert text.strip().splitlines()[-1].startswith("accuracy on the test split")
    shown = load_search(run_dir)
    assert shown.recipe == result.recipe
    assert shown.score == result.score and shown.default_score == result.default_score
    assert list(shown.leaderboard()["trial"]) == list(result.leaderboard()["trial"])


def test_predict_with_the_run_folder_matches_the_fitted_model(searched, wine, tmp_path):
    run_dir, result, rows = searched
    out_file = tmp_path / "p.csv"
    out = _invoke("predict", run_dir, rows, "--out", out_file, "--proba")
    assert out.exit_code == 0, out.output
    written = pd.read_csv(out_file)
    expected = result.model.predict(wine.head(20))
    np.testing.assert_array_equal(written["prediction"], expected)
    proba = written[[f"proba_{c}" for c in (0, 1, 2)]].to_numpy()
    np.testing.assert_allclose(proba, result.model.predict_proba(wine.head(20)), atol=1e-5)
    again = _invoke("predict", run_dir, rows, "--out", out_file)
    assert again.exit_code == 2 and "pass --force" in again.stderr


def test_predict_with_the_model_uri(searched, tmp_path):
    _, result, rows = searched
    out = _invoke("predict", result.model_uri, rows, "--out", tmp_path / "p.csv")
    assert out.exit_code == 0, out.output
    assert list(pd.read_csv(tmp_path / "p.csv").columns) == ["prediction"]


def test_predict_refuses_rows_without_the_models_columns(searched, tmp_path):
    run_dir, _, _ = searched
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"x": [1.0, 2.0]}).to_csv(bad, index=False)
    out = _invoke("predict", run_dir, bad, "--out", tmp_path / "p.csv")
    assert out.exit_code == 2
    assert out.stderr.startswith("Error: The model cannot predict the rows of")
    assert not (tmp_path / "p.csv").exists()


def _unfinished(run_dir: Path, name: str) -> None:
    """A search that stopped before finishing: its study and a parent run still RUNNING."""
    tracker = SearchTracker.local(run_dir)
    parent = tracker.start_search(name)
    study = optuna.create_study(study_name=name, storage=f"sqlite:///{run_dir / 'optuna.db'}")
    study.set_user_attr(PARENT_RUN_ID, parent)


def test_show_says_in_one_line_that_a_search_did_not_finish(tmp_path):
    _unfinished(tmp_path, "halfway")
    out = _invoke("show", tmp_path)
    assert out.exit_code == 2
    assert out.stderr.strip() == (
        "Error: Search 'halfway' did not finish (its MLflow run is RUNNING); run the same "
        "search again to resume it, then show it."
    )


def test_show_asks_for_study_when_a_folder_holds_several(searched, tmp_path):
    run_dir, result, _ = searched
    _unfinished(run_dir, "another")
    out = _invoke("show", run_dir)
    assert out.exit_code == 2
    assert "holds 2 searches" in out.stderr and "Pass --study NAME" in out.stderr
    picked = _invoke("show", run_dir, "--study", result.study_name)
    assert picked.exit_code == 0, picked.output
    unknown = _invoke("show", run_dir, "--study", "nope")
    assert unknown.exit_code == 2 and "no search named 'nope'" in unknown.stderr
    # predict takes the last finished search's model when given the folder
    assert _invoke("predict", run_dir, searched[2], "--out", tmp_path / "p.csv").exit_code == 0


def test_a_recipe_file_is_not_a_model(searched, tmp_path):
    _, result, rows = searched
    recipe = result.recipe.save(tmp_path / "recipe.yaml")
    assert Recipe.load(recipe) == result.recipe
    out = _invoke("predict", recipe, rows, "--out", tmp_path / "p.csv")
    assert out.exit_code == 2
    assert "is neither a run folder" in out.stderr
