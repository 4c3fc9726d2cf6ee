"""A search with the curve pruner: forecasts on the trial runs, savings on the search run."""

import json

import optuna
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine

import losstune
from losstune.scaling import CurvePruner
from losstune.search import PRUNERS
from losstune.search.finish import pruning_summary


def test_curve_is_a_registered_pruner():
    pruner = PRUNERS.get("curve")()
    assert isinstance(pruner, CurvePruner) and isinstance(pruner, optuna.pruners.BasePruner)


def test_pruning_summary_counts_a_pruned_trial_at_its_full_epochs():
    board = pd.DataFrame(
        {
            "state": ["complete", "pruned", "failed", "pruned", "running"],
            "epochs_run": [10, 5, 3, 6, 2],
            "epochs": [10, 10, 10, None, 10],
        }
    )
    assert pruning_summary(board, epochs=8) == {
        "epochs_spent": 24,
        "epochs_without_pruning": 10 + 10 + 3 + 8,  # a failed trial costs the same either way
        "n_trials": 4,
        "n_pruned": 2,
    }


@pytest.mark.slow
def test_a_search_logs_forecasts_on_trials_and_the_pruning_summary(tmp_path):
    data = losstune.load_dataset(load_wine(), seed=0)
    result = losstune.search(
        data,
        metric="accuracy",
        n_trials=6,
        epochs=8,
        sampler="random",
        pruner=CurvePruner(n_startup_trials=1),
        run_dir=tmp_path,
        top_k=1,
        n_seeds=1,
        device="cpu",
        models=["mlp"],  # a horizon of 8 epochs for every trial
    )
    board = result.leaderboard().set_index("trial")
    assert (board["state"] == "pruned").sum() >= 1 and (board["state"] == "complete").sum() >= 2

    client = MlflowClient(result.tracking_uri)
    experiment = client.get_run(result.mlflow_run_id).info.experiment_id
    runs = client.search_runs([experiment], "tags.`mlflow.parentRunId` != ''")
    assert len(runs) == 6
    for run in runs:
        number = int(run.data.tags["optuna.trial_number"])
        metrics, tags = run.data.metrics, run.data.tags
        if board.loc[number, "state"] == "pruned":
            # the forecast that stopped it: beaten with probability < delta
            assert metrics["curve_beat_probability"] < 0.05
            record = json.loads(tags["curve_forecast"])
            assert record["stop"] is True and record["step"] == board.loc[number, "epochs_run"]
            assert record["horizon"] == 8
        if number == 0:  # the default recipe: forecast, but no incumbent yet
            assert "curve_beat_probability" not in metrics
        low, high = metrics["predicted_final_accuracy_q05"], metrics["predicted_final_accuracy_q95"]
        assert 0.0 <= low <= metrics["predicted_final_accuracy"] <= high <= 1.0
        assert tags["curve_family"] in json.loads(tags["curve_forecast"])["weights"]

    summary = client.get_run(result.mlflow_run_id).data.metrics
    pruned = board["state"] == "pruned"
    assert summary["pruning.n_trials"] == 6
    assert summary["pruning.n_pruned"] == pruned.sum()
    assert summary["pruning.epochs_spent"] == board["epochs_run"].sum()
    assert summary["pruning.epochs_without_pruning"] == 6 * 8
    assert summary["pruning.fraction_saved"] == pytest.approx(1 - board["epochs_run"].sum() / 48)
