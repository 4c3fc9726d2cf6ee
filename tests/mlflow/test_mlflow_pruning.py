"""What a search run records about pruning: per-trial forecasts and the search's savings."""

from __future__ import annotations

import pytest
from mlflow.tracking import MlflowClient

from losstune.mlflow import SearchTracker


def test_trial_end_logs_whole_trial_metrics_with_its_value(tracker: SearchTracker):
    tracker.start_search("forecasts")
    run = tracker.start_trial(0, {"loss": "cross_entropy"})
    run.log_epoch(1, {"valid_accuracy": 0.5})
    run.end("pruned", 0.5, 1.0, {"curve_family": "pow3"}, {"predicted_final_accuracy": 0.61})
    logged = MlflowClient(tracker.tracking_uri).get_run(run.run_id).data
    assert logged.metrics == {
        "valid_accuracy": 0.5,
        "value": 0.5,
        "duration_s": 1.0,
        "predicted_final_accuracy": 0.61,
    }
    assert logged.tags["curve_family"] == "pow3" and logged.tags["state"] == "pruned"


def test_pruning_summary_on_the_search_run(tracker: SearchTracker):
    parent = tracker.start_search("pruned-search")
    tracker.log_pruning_summary(
        epochs_spent=70, epochs_without_pruning=100, n_trials=10, n_pruned=6
    )
    metrics = MlflowClient(tracker.tracking_uri).get_run(parent).data.metrics
    assert metrics == {
        "pruning.epochs_spent": 70,
        "pruning.epochs_without_pruning": 100,
        "pruning.fraction_saved": pytest.approx(0.3),
        "pruning.n_trials": 10,
        "pruning.n_pruned": 6,
    }


def test_pruning_summary_of_an_empty_search_saves_nothing(tracker: SearchTracker):
    parent = tracker.start_search("empty")
    tracker.log_pruning_summary(epochs_spent=0, epochs_without_pruning=0, n_trials=0, n_pruned=0)
    metrics = MlflowClient(tracker.tracking_uri).get_run(parent).data.metrics
    assert metrics["pruning.fraction_saved"] == 0.0


@pytest.mark.parametrize(
    "counts, match",
    [
        (dict(epochs_spent=120, epochs_without_pruning=100, n_trials=4, n_pruned=1), "epochs"),
        (dict(epochs_spent=-1, epochs_without_pruning=100, n_trials=4, n_pruned=1), "epochs"),
        (dict(epochs_spent=10, epochs_without_pruning=100, n_trials=4, n_pruned=5), "n_pruned"),
    ],
)
def test_pruning_summary_rejects_impossible_counts(tracker: SearchTracker, counts, match):
    tracker.start_search("bad")
    with pytest.raises(ValueError, match=match):
        tracker.log_pruning_summary(**counts)
