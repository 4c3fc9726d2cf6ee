"""The warm start: the default recipe, then the portfolio's members for the data's regime,
then the sampler; each trial's origin in Optuna, MLflow and the leaderboard; the data's
diagnosis on the parent run and in the recipe."""

from __future__ import annotations

import pytest
import yaml
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine

import losstune
from losstune.recipe import Component, Recipe
from losstune.search.lifecycle import ORIGIN, ORIGINS, PORTFOLIO_MEMBER
from losstune.spaces import default_space, recipe_to_config
from losstune.spaces.portfolio import REGIMES

SEARCH = dict(n_trials=6, epochs=2, top_k=1, n_seeds=1, pruner="none", sampler="random")


@pytest.fixture(scope="module")
def wine():
    return losstune.load_dataset(load_wine())


@pytest.fixture(scope="module")
def portfolio_file(wine, tmp_path_factory):
    space = default_space(wine.task, epochs=30)
    smoothed = Recipe.default(wine.task, "accuracy").replace(
        loss=Component("label_smoothing", {"eps": 0.1})
    )
    booster = Recipe.default(wine.task, "accuracy", model="lightgbm")
    doc = {
        "version": 1,
        "members": {
            "smooth": {"config": recipe_to_config(smoothed, space)},
            "booster": {"config": recipe_to_config(booster, space)},
        },
        "orders": {regime: ["smooth", "booster"] for regime in REGIMES[:3]},
    }
    path = tmp_path_factory.mktemp("portfolio") / "portfolio.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _runs(run_dir):
    client = MlflowClient(f"sqlite:///{run_dir / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    parent = [r for r in runs if not r.info.run_name.startswith("trial-")]
    trials = sorted(
        (r for r in runs if r.info.run_name.startswith("trial-")), key=lambda r: r.info.run_name
    )
    return parent, trials


def test_the_default_then_the_portfolio_then_the_sampler(wine, portfolio_file, tmp_path):
    result = losstune.search(wine, run_dir=tmp_path, portfolio=portfolio_file, **SEARCH)
    trials = result.study().get_trials(deepcopy=False)
    # a third of 6 trials: two members, after the default
    assert [t.user_attrs[ORIGIN] for t in trials] == [
        "default",
        *["portfolio"] * 2,
        *["sampler"] * 3,
    ]
    assert [t.user_attrs.get(PORTFOLIO_MEMBER) for t in trials[1:3]] == ["smooth", "booster"]
    assert trials[1].params["loss"] == "label_smoothing" and trials[2].params["model"] == "lightgbm"
    board = result.leaderboard().sort_values("trial")
    assert board["origin"].tolist() == [t.user_attrs[ORIGIN] for t in trials]
    assert set(board["origin"]) <= set(ORIGINS)
    (parent,), runs = _runs(tmp_path)
    assert [r.data.tags["origin"] for r in runs] == board["origin"].tolist()
    params = parent.data.params
    assert params["warm_start"] == "True" and params["data.regime"] == "clean"
    assert int(params["data.rows"]) == len(wine.y_train)
    # the diagnosis travels with the recipe, through its file
    diagnosis = result.recipe.provenance.data
    assert diagnosis is not None and diagnosis.regime == "clean"
    result.recipe.save(tmp_path / "recipe.yaml")
    again = Recipe.load(tmp_path / "recipe.yaml").provenance.data
    assert again is not None and again.to_dict() == diagnosis.to_dict()


def test_a_batched_search_runs_the_queue_first_and_leaves_nothing_waiting(
    wine, portfolio_file, tmp_path
):
    result = losstune.search(
        wine, run_dir=tmp_path, portfolio=portfolio_file, batch_trials=2, **SEARCH
    )
    trials = result.study().trials
    # a batch's shared structure is enqueued only once the queue is empty, so it never
    # outlives the search as a WAITING trial
    assert [t.user_attrs.get(ORIGIN) for t in trials] == [
        "default", "portfolio", "portfolio", "sampler", "sampler", "sampler"
    ]  # fmt: skip
    assert all(t.state.is_finished() for t in trials)


def test_no_warm_start_leaves_the_trials_to_the_sampler(wine, portfolio_file, tmp_path):
    result = losstune.search(
        wine, run_dir=tmp_path, portfolio=portfolio_file, warm_start=False, **SEARCH
    )
    origins = [t.user_attrs[ORIGIN] for t in result.study().trials]
    assert origins == ["default", *["sampler"] * 5]
    (parent,), _ = _runs(tmp_path)
    assert parent.data.params["warm_start"] == "False"


def test_a_portfolio_that_is_no_file_is_refused(wine, tmp_path):
    with pytest.raises(ValueError, match="portfolio must be a portfolio YAML file"):
        losstune.search(wine, run_dir=tmp_path, portfolio=tmp_path / "none.yaml", **SEARCH)
    with pytest.raises(TypeError, match="warm_start must be True or False"):
        losstune.search(wine, run_dir=tmp_path, warm_start="yes", **SEARCH)


def test_a_failed_diagnosis_warns_and_the_search_goes_on_cold(
    wine, portfolio_file, tmp_path, monkeypatch, caplog
):
    from losstune.data import diagnosis
    from losstune.search import session

    def broken(*args, **kwargs):
        raise RuntimeError("no memory for the folds")

    monkeypatch.setattr(diagnosis, "diagnose", broken)
    monkeypatch.setattr(session, "_DIAGNOSES", {})
    result = losstune.search(wine, run_dir=tmp_path, portfolio=portfolio_file, **SEARCH)
    assert "the data diagnosis failed" in caplog.text and "no memory for the folds" in caplog.text
    assert [t.user_attrs[ORIGIN] for t in result.study().trials][:2] == ["default", "sampler"]
    assert result.recipe.provenance.data is None
