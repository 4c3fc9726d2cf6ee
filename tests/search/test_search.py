"""End-to-end searches on real bundled data (scikit-learn's digits and wine)."""

import re

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_digits, load_wine

import losstune
from losstune.data.noise import with_label_noise
from losstune.mlflow.naming import dataset_name, recipe_params
from losstune.recipe import Recipe
from losstune.runners import train

pytestmark = pytest.mark.slow

N_TRIALS = 16  # the default recipe, the warm start's 5 members for noisy data, 10 sampled


@pytest.fixture(scope="module")
def noisy_digits():
    return with_label_noise(losstune.load_dataset(load_digits(), seed=0), 0.4, seed=0)


@pytest.fixture(scope="module")
def digits_search(noisy_digits, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs")
    result = losstune.search(
        noisy_digits, metric="accuracy", n_trials=N_TRIALS, run_dir=run_dir, seed=0
    )
    return result, run_dir


def test_search_beats_the_default_recipe_on_noisy_digits(digits_search, noisy_digits):
    result, _ = digits_search
    margin = result.score.mean - result.default_score.mean
    print(
        f"\nnoisy digits, {N_TRIALS} trials: recipe {result.score.mean:.4f} "
        f"[{result.score.low:.4f}, {result.score.high:.4f}] vs default "
        f"{result.default_score.mean:.4f}: margin {margin:+.4f} "
        f"({result.recipe.model.name}, {result.recipe.loss.name})"
    )
    assert result.margin == pytest.approx(margin)
    assert margin > 0
    # the diagnosis saw the noise, and the warm start tried the noisy data's portfolio
    assert result.recipe.provenance.data.regime == "noisy"
    origins = result.leaderboard().sort_values("trial")["origin"].tolist()
    assert origins[: 1 + N_TRIALS // 3] == ["default", *["portfolio"] * (N_TRIALS // 3)]
    assert result.score.n_seeds == result.default_score.n_seeds == 3
    assert result.score.low <= result.score.mean <= result.score.high
    # the recipe re-trains to the score it reports for its seed
    again = train(result.recipe, noisy_digits)
    chosen = result.final[result.final["selected"] & (result.final["seed"] == result.recipe.seed)]
    assert again.test_score == pytest.approx(float(chosen["test_accuracy"].iloc[0]))
    assert result.recipe.provenance.dataset_fingerprint == noisy_digits.fingerprint


def test_leaderboard_has_every_trial_and_the_default_first_trial(digits_search):
    result, _ = digits_search
    board = result.leaderboard()
    assert len(board) == N_TRIALS and sorted(board["trial"]) == list(range(N_TRIALS))
    default_row = board[board["default"]]
    assert list(default_row["trial"]) == [0]
    assert default_row.iloc[0]["loss"] == "cross_entropy"
    assert default_row.iloc[0]["optimizer"] == "adamw" and default_row.iloc[0]["lr"] == 1e-3
    complete = board[board["state"] == "complete"]["value"].to_numpy()
    assert np.all(np.diff(complete) <= 0)  # best first
    assert (board["state"] == "pruned").sum() >= 1  # the median pruner stopped weak trials
    assert result.importances and abs(sum(result.importances.values()) - 1) < 1e-6


def test_mlflow_holds_one_parent_and_one_nested_run_per_trial(digits_search):
    result, run_dir = digits_search
    client = MlflowClient(result.tracking_uri)
    experiment = client.get_run(result.mlflow_run_id).info.experiment_id
    runs = client.search_runs([experiment], max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert [p.info.run_id for p in parents] == [result.mlflow_run_id]
    assert len(children) == N_TRIALS
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {result.mlflow_run_id}
    numbers = sorted(int(c.data.tags["optuna.trial_number"]) for c in children)
    assert numbers == list(range(N_TRIALS))
    board = result.leaderboard().set_index("trial")
    for child in children:
        number = int(child.data.tags["optuna.trial_number"])
        assert child.data.tags["state"] == board.loc[number, "state"]
        assert child.data.params["loss"] == board.loc[number, "loss"]
        history = client.get_metric_history(child.info.run_id, "valid_accuracy")
        # one point per epoch; a booster's objective (its best round's score) also sits at
        # its last step when early stopping went on past it
        steps = list(range(1, board.loc[number, "epochs_run"] + 1))
        assert sorted({m.step for m in history}) == steps and len(history) <= len(steps) + 1
        assert "duration_s" in child.data.metrics
    parent = client.get_run(result.mlflow_run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["margin"] == pytest.approx(result.margin)
    artifacts = {a.path for a in client.list_artifacts(result.mlflow_run_id)}
    assert {"recipe.yaml", "leaderboard.csv", "final_evaluation.csv", "plots"} <= artifacts
    plots = {a.path for a in client.list_artifacts(result.mlflow_run_id, "plots")}
    assert plots == {"plots/history.png", "plots/importances.png", "plots/learning_curves.png"}
    recipe_file = client.download_artifacts(result.mlflow_run_id, "recipe.yaml", str(run_dir))
    assert Recipe.load(recipe_file) == result.recipe


def test_mlflow_reads_well_in_the_ui(digits_search, noisy_digits):
    result, _ = digits_search
    client = MlflowClient(result.tracking_uri)
    parent = client.get_run(result.mlflow_run_id)
    # one experiment per dataset, opening on its runs (not MLflow 3's GenAI traces)
    experiment = client.get_experiment(parent.info.experiment_id)
    name = dataset_name(noisy_digits)
    assert experiment.name == f"losstune/{name}"
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    started = r"\d{4}-\d\d-\d\d \d\d:\d\d"
    assert re.fullmatch(rf"{re.escape(name)} accuracy {started}", parent.info.run_name)
    assert parent.data.tags["optuna.study_name"] == result.study_name
    # the chosen recipe as params, the dataset as the run's input
    recipe = result.recipe
    assert parent.data.params["recipe.loss"] == recipe.loss.name
    logged = {key: str(value) for key, value in recipe_params(recipe).items()}
    assert {key: parent.data.params.get(key) for key in logged} == logged
    (data,) = parent.inputs.dataset_inputs
    assert (data.dataset.name, data.dataset.digest) == (name, noisy_digits.fingerprint)
    # trials: lr under one name, pruned ones named so, the value as the metric's last point
    board = result.leaderboard().set_index("trial")
    runs = client.search_runs([experiment.experiment_id], "tags.`mlflow.parentRunId` != ''")
    for child in runs:
        number = int(child.data.tags["optuna.trial_number"])
        row = board.loc[number]
        assert float(child.data.params["lr"]) == row["lr"]
        pruned = " (pruned)" if row["state"] == "pruned" else ""
        assert child.info.run_name == f"trial-{number:04d}{pruned}"
        assert "value" not in child.data.metrics
        if row["state"] in ("complete", "pruned"):
            assert child.data.metrics["valid_accuracy"] == pytest.approx(row["value"])


def test_best_model_is_logged_as_a_pyfunc_on_raw_rows_and_predicts_the_same(
    digits_search, noisy_digits
):
    import mlflow.pyfunc

    result, _ = digits_search
    client = MlflowClient(result.tracking_uri)
    experiment = client.get_run(result.mlflow_run_id).info.experiment_id
    models = client.search_logged_models(
        [experiment], filter_string=f"source_run_id = '{result.mlflow_run_id}'"
    )
    pyfunc = [m for m in models if m.name == "model"]  # a booster also logs model-booster
    assert [m.artifact_location.removeprefix("file://") for m in pyfunc] == [result.model_uri]
    assert {m.name for m in models} <= {"model", "model-booster"}
    loaded = mlflow.pyfunc.load_model(result.model_uri)
    rows = noisy_digits.raw_example
    np.testing.assert_array_equal(loaded.predict(rows), result.model.predict(rows))


def test_rerunning_a_finished_search_adds_no_trials(digits_search, noisy_digits):
    result, run_dir = digits_search
    again = losstune.search(
        noisy_digits, metric="accuracy", n_trials=N_TRIALS, run_dir=run_dir, seed=0
    )
    assert again.study_name == result.study_name
    assert len(again.leaderboard()) == N_TRIALS
    assert again.mlflow_run_id == result.mlflow_run_id


def test_search_refuses_a_study_of_another_dataset(digits_search):
    result, run_dir = digits_search
    wine = losstune.load_dataset(load_wine())
    with pytest.raises(ValueError, match="was run on another dataset"):
        losstune.search(
            wine, metric="accuracy", n_trials=2, run_dir=run_dir, study_name=result.study_name
        )
