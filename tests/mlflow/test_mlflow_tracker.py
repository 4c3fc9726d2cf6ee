"""SearchTracker end to end: a small search is logged once, then everything is read back
through a fresh MlflowClient, as the MLflow UI would see it."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
from mlflow.tracking import MlflowClient
from mlflow.tracking._tracking_service import utils as tracking_utils

from losstune.mlflow import (
    SearchTracker,
    TrialRun,
    artifact_uri,
    learning_curves,
    local_tracking_uri,
    optimization_history,
    param_importances,
)

PARENT = "mlflow.parentRunId"
PNG = b"\x89PNG\r\n\x1a\n"
CURVES = {
    0: [0.50, 0.70, 0.80],  # the default recipe, complete
    1: [0.30, 0.40],  # pruned after 2 epochs
    3: [0.60, 0.85, 0.90, 0.88],  # complete, the best
}


@dataclass
class Search:
    tracker: SearchTracker
    parent: str
    trials: dict[int, str]
    cwd: Path
    leaderboard: pd.DataFrame
    module: torch.nn.Module
    example: torch.Tensor
    model_uri: str
    global_state: tuple
    long_params: dict[str, str] = field(default_factory=dict)


def _global_state() -> tuple:
    return tracking_utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI"), mlflow.active_run()


@pytest.fixture(scope="module")
def search(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Search:
    """Trials 0 and 3 complete, 1 pruned, 2 raises inside the block, 4 has 150 params."""
    cwd = tmp_path_factory.mktemp("cwd")
    before = _global_state()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        tracker = SearchTracker.local(run_dir, experiment="search")
        parent = tracker.start_search(
            "wine", {"metric": "accuracy", "budget": "10m"}, {"ds": "w"}, "valid_accuracy"
        )
        trials: dict[int, str] = {}
        for number, curve in CURVES.items():
            run = tracker.start_trial(number, {"loss": "focal", "lr": 1e-3 * (number + 1)})
            trials[number] = run.run_id
            for epoch, value in enumerate(curve, start=1):
                run.log_epoch(epoch, {"valid_accuracy": value, "train_loss": 1.0 - value})
            state = "pruned" if number == 1 else "complete"
            run.end(state, curve[-1], duration_s=1.5 + number, tags={"sampler": "tpe"})
        with pytest.raises(RuntimeError), tracker.start_trial(2, {"loss": "gce"}) as run:
            trials[2] = run.run_id
            run.log_epoch(1, {"valid_accuracy": math.nan, "train_loss": math.inf})
            raise RuntimeError("loss diverged")
        long_params = {f"p{i:03d}": str(i) for i in range(150)} | {"note": "x" * 6000}
        trials[4] = tracker.start_trial(4, long_params).run_id  # left RUNNING

        leaderboard = pd.DataFrame(
            {"trial": [3, 0, 1, 2], "value": [0.88, 0.80, 0.40, None], "loss": ["focal"] * 4}
        )
        tracker.log_dataframe(leaderboard, "leaderboard.csv")
        tracker.log_metrics({"test_accuracy_mean": 0.87, "margin": 0.05})
        tracker.log_figure(
            optimization_history(
                [0.8, 0.4, None, 0.88],
                ["complete", "pruned", "failed", "complete"],
                "maximize",
                "accuracy",
            ),
            "plots/history.png",
        )
        tracker.log_figure(param_importances({"lr": 0.7, "loss": 0.3}), "plots/importances.png")
        curves = {f"trial {n}": c for n, c in CURVES.items()}
        tracker.log_figure(learning_curves(curves, "valid_accuracy", "trial 0"), "plots/curves.png")
        torch.manual_seed(0)
        module = torch.nn.Sequential(
            torch.nn.Linear(5, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(), torch.nn.Linear(8, 3)
        )
        example = torch.randn(16, 5)
        model_uri = tracker.log_model(module, example)
        tracker.finish_search()
    return Search(
        tracker, parent, trials, cwd, leaderboard, module, example, model_uri, before, long_params
    )


@pytest.fixture(scope="module")
def client(run_dir: Path) -> MlflowClient:
    return MlflowClient(local_tracking_uri(run_dir))


def _runs(client: MlflowClient, experiment_id: str) -> list:
    return client.search_runs([experiment_id], max_results=1000)


def test_one_parent_and_one_nested_run_per_trial(search: Search, client: MlflowClient):
    runs = _runs(client, search.tracker.experiment_id)
    parents = [r for r in runs if PARENT not in r.data.tags]
    children = [r for r in runs if PARENT in r.data.tags]
    assert [r.info.run_id for r in parents] == [search.parent]
    assert parents[0].info.run_name == "wine"
    assert sorted(r.info.run_id for r in children) == sorted(search.trials.values())
    for run in children:
        number = int(run.data.tags["optuna.trial_number"])
        assert run.data.tags[PARENT] == search.parent
        pruned = " (pruned)" if number == 1 else ""  # the runs table shows which were stopped
        assert run.info.run_name == f"trial-{number:04d}{pruned}"
        assert search.trials[number] == run.info.run_id


def test_params_of_search_and_trials(search: Search, client: MlflowClient):
    parent = client.get_run(search.parent)
    assert parent.data.params == {"metric": "accuracy", "budget": "10m"}
    assert parent.data.tags["ds"] == "w"
    assert parent.data.tags["losstune.objective"] == "valid_accuracy"
    assert client.get_run(search.trials[3]).data.params == {"loss": "focal", "lr": "0.004"}
    assert client.get_run(search.trials[4]).data.params == search.long_params


def test_per_epoch_metric_history(search: Search, client: MlflowClient):
    for number, curve in CURVES.items():
        history = client.get_metric_history(search.trials[number], "valid_accuracy")
        assert [(m.step, m.value) for m in history] == list(enumerate(curve, start=1))
        losses = client.get_metric_history(search.trials[number], "train_loss")
        assert [m.value for m in losses] == pytest.approx([1.0 - v for v in curve])


def test_non_finite_values_are_logged_as_nan(search: Search, client: MlflowClient):
    metrics = client.get_run(search.trials[2]).data.metrics
    assert math.isnan(metrics["valid_accuracy"]) and math.isnan(metrics["train_loss"])


def test_end_states_statuses_value_and_duration(search: Search, client: MlflowClient):
    expected = {0: ("complete", "FINISHED"), 1: ("pruned", "FINISHED"), 3: ("complete", "FINISHED")}
    for number, (state, status) in expected.items():
        run = client.get_run(search.trials[number])
        assert (run.data.tags["state"], run.info.status) == (state, status)
        assert run.data.tags["sampler"] == "tpe"
        # the value is the objective's last point, not a metric of its own
        assert run.data.metrics["valid_accuracy"] == CURVES[number][-1]
        assert "value" not in run.data.metrics
        assert run.data.metrics["duration_s"] == 1.5 + number
        assert run.info.end_time is not None


def test_exception_in_trial_block_ends_it_failed(search: Search, client: MlflowClient):
    run = client.get_run(search.trials[2])
    assert (run.data.tags["state"], run.info.status) == ("failed", "FAILED")
    assert run.data.tags["error"] == "RuntimeError: loss diverged"
    assert "value" not in run.data.metrics
    assert run.data.metrics["duration_s"] >= 0


def test_search_run_is_finished_with_metrics(search: Search, client: MlflowClient):
    parent = client.get_run(search.parent)
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics == {"test_accuracy_mean": 0.87, "margin": 0.05}


def test_leaderboard_reads_back_equal(search: Search, client: MlflowClient, tmp_path: Path):
    path = client.download_artifacts(search.parent, "leaderboard.csv", str(tmp_path))
    pd.testing.assert_frame_equal(pd.read_csv(path), search.leaderboard)


def test_plots_are_png_files(search: Search, client: MlflowClient, tmp_path: Path):
    names = sorted(a.path for a in client.list_artifacts(search.parent, "plots"))
    assert names == ["plots/curves.png", "plots/history.png", "plots/importances.png"]
    for name in names:
        path = Path(client.download_artifacts(search.parent, name, str(tmp_path)))
        assert path.read_bytes()[:8] == PNG
        assert path.stat().st_size > 5000


def test_model_round_trips_through_mlflow_pytorch(
    search: Search, client: MlflowClient, run_dir: Path
):
    assert search.module.training  # log_model exported an eval-mode copy, not the module
    # a local store hands back the model's artifacts as a path: it loads with no tracking URI
    (logged,) = client.search_logged_models([search.tracker.experiment_id])
    model_id = logged.model_id
    assert Path(search.model_uri) == Path(logged.artifact_location.removeprefix("file://"))
    assert Path(search.model_uri).is_absolute() and model_id in search.model_uri
    assert logged.source_run_id == search.parent
    assert logged.experiment_id == search.tracker.experiment_id
    assert logged.artifact_location.startswith(artifact_uri(run_dir))
    outputs = client.get_run(search.parent).outputs.model_outputs
    assert [o.model_id for o in outputs] == [model_id]
    loaded = mlflow.pytorch.load_model(logged.artifact_location)
    search.module.eval()
    x = torch.randn(7, 5)  # another batch size than the example: the batch dim is dynamic
    torch.testing.assert_close(loaded(x), search.module(x))


def test_nothing_is_written_outside_the_run_folder(
    search: Search, client: MlflowClient, run_dir: Path, store_cwd: Path
):
    experiment = client.get_experiment(search.tracker.experiment_id)
    assert experiment.artifact_location == artifact_uri(run_dir)
    assert (run_dir / "artifacts").is_dir()
    assert list(search.cwd.iterdir()) == []  # no ./mlruns, nothing else in the CWD
    assert list(store_cwd.iterdir()) == []
    assert client.search_runs(["0"]) == [] and client.search_logged_models(["0"]) == []


def test_global_mlflow_state_is_untouched(search: Search):
    assert _global_state() == search.global_state
    assert mlflow.active_run() is None


def test_kill_stale_trials_and_resume_keep_one_parent(tracker: SearchTracker):
    parent = tracker.start_search("crashed", {"seed": 0})
    stale = tracker.start_trial(0, {"lr": 0.1}).run_id
    done = tracker.start_trial(1, {"lr": 0.2})
    done.end("complete", 0.5)
    tracker.finish_search("FAILED")

    name = tracker.client.get_experiment(tracker.experiment_id).name
    resumed = SearchTracker(tracker.tracking_uri, name)  # another process, after the crash
    resumed.resume_search(parent)
    live = resumed.start_trial(2, {"lr": 0.3})
    assert resumed.kill_stale_trials() == [stale]
    client = tracker.client
    run = client.get_run(stale)
    assert (run.info.status, run.data.tags["state"]) == ("KILLED", "failed")
    assert client.get_run(live.run_id).info.status == "RUNNING"
    assert client.get_run(done.run_id).info.status == "FINISHED"
    assert client.get_run(parent).info.status == "RUNNING"
    runs = _runs(client, tracker.experiment_id)
    assert [r.info.run_id for r in runs if PARENT not in r.data.tags] == [parent]
    assert {r.data.tags[PARENT] for r in runs if PARENT in r.data.tags} == {parent}
    assert resumed.kill_stale_trials() == []


def test_resume_rejects_unknown_runs_and_trials(tracker: SearchTracker):
    tracker.start_search("s")
    trial = tracker.start_trial(0, {})
    with pytest.raises(ValueError, match="not a search"):
        tracker.resume_search(trial.run_id)
    with pytest.raises(ValueError, match="No MLflow run 'nope'"):
        tracker.resume_search("nope")


def test_metrics_are_buffered_until_the_interval_or_the_end(tracker: SearchTracker):
    tracker.start_search("s")
    tracker.flush_every_s = 3600.0
    buffered = tracker.start_trial(0, {})
    buffered.log_epoch(1, {"valid_accuracy": 0.5})
    assert tracker.client.get_metric_history(buffered.run_id, "valid_accuracy") == []
    buffered.end("complete", 0.5)
    assert len(tracker.client.get_metric_history(buffered.run_id, "valid_accuracy")) == 1

    tracker.flush_every_s = 0.0
    live = tracker.start_trial(1, {})
    live.report(1, {"valid_accuracy": 0.6})  # TrialRun is also a runner's Reporter
    assert len(tracker.client.get_metric_history(live.run_id, "valid_accuracy")) == 1
    assert live.last("valid_accuracy") == 0.6 and live.last("missing") is None


def test_a_flush_writes_more_than_one_batch(tracker: SearchTracker):
    tracker.start_search("s")
    run = tracker.start_trial(0, {})
    for epoch in range(1, 1201):
        run.log_epoch(epoch, {"valid_accuracy": epoch / 1200})
    run.end("complete", 1.0)
    history = tracker.client.get_metric_history(run.run_id, "valid_accuracy")
    assert [m.step for m in history] == list(range(1, 1201))


def test_misuse_raises_with_the_fix(tracker: SearchTracker, tmp_path: Path):
    with pytest.raises(RuntimeError, match="start_search"):
        tracker.start_trial(0, {})
    tracker.start_search("s")
    with pytest.raises(ValueError, match="'note' is 6001 characters.*log_text"):
        tracker.start_trial(0, {"note": "x" * 6001})
    run = tracker.start_trial(1, {})
    with pytest.raises(ValueError, match="'valid acc%'"):
        run.log_epoch(1, {"valid acc%": 0.1})
    with pytest.raises(ValueError, match="'done' is not one of complete, pruned, failed"):
        run.end("done", 0.1)
    run.end("complete", 0.1)
    with pytest.raises(RuntimeError, match="already ended as 'complete'"):
        run.end("failed")
    with pytest.raises(RuntimeError, match="already ended"):
        run.log_epoch(2, {"valid_accuracy": 0.2})
    with pytest.raises(ValueError, match="board.json"):
        tracker.log_dataframe(pd.DataFrame({"a": [1]}), "board.json")
    with pytest.raises(FileNotFoundError, match="no such file"):
        tracker.log_artifact(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="'DONE' is not one of FINISHED"):
        tracker.finish_search("DONE")


def test_trial_block_without_end_is_failed(tracker: SearchTracker):
    tracker.start_search("s")
    with tracker.start_trial(0, {}) as run:
        assert isinstance(run, TrialRun)
    status = tracker.client.get_run(run.run_id)
    assert (status.info.status, status.data.tags["state"]) == ("FAILED", "failed")
    assert "without TrialRun.end()" in status.data.tags["error"]


def test_search_block_that_raises_ends_failed(tracker: SearchTracker):
    with pytest.raises(KeyError), tracker:
        parent = tracker.start_search("s")
        raise KeyError("boom")
    assert tracker.client.get_run(parent).info.status == "FAILED"


def test_pickled_model_without_example_round_trips(tracker: SearchTracker):
    tracker.start_search("s")
    module = torch.nn.Linear(4, 2)
    uri = tracker.log_model(module, pip_requirements=["torch"])
    x = torch.randn(3, 4)
    torch.testing.assert_close(mlflow.pytorch.load_model(uri)(x), module(x))
    with pytest.raises(TypeError, match=r"shape \(N, \.\.\.\)"):
        tracker.log_model(module, torch.randn(4))


def test_a_fitted_model_logs_itself_as_a_pyfunc_model_on_raw_rows(tracker: SearchTracker):
    from sklearn.datasets import load_wine

    from losstune.data import load_dataset
    from losstune.recipe import Recipe
    from losstune.runners import train

    data = load_dataset(load_wine(), seed=0)
    fitted = train(Recipe.default(data.task, metric="accuracy").replace(epochs=1), data).model
    tracker.start_search("s")
    uri = fitted.log_to(tracker, data.raw_example)
    (logged,) = tracker.client.search_logged_models([tracker.experiment_id])
    assert logged.source_run_id == tracker.parent_run_id
    assert uri == logged.artifact_location.removeprefix("file://")

    loaded = mlflow.pyfunc.load_model(uri)
    raw = data.raw_example
    labels = loaded.predict(raw)
    assert labels.dtype.kind == "U"  # the class names, as the user knows them
    assert labels.tolist() == fitted.predict(data.X_valid[:8]).tolist()
    proba = loaded.predict(raw, params={"predict_method": "predict_proba"})
    assert proba.columns.tolist() == ["class_0", "class_1", "class_2"]
    assert proba.to_numpy() == pytest.approx(fitted.predict_proba(data.X_valid[:8]))

    # the signature names the raw columns; the example is raw rows; the pins include torch
    meta = loaded.metadata
    assert meta.get_input_schema().input_names() == list(data.source_columns)
    assert meta.get_params_schema().to_dict() == [
        {"name": "predict_method", "type": "string", "default": "predict", "shape": None}
    ]
    example = pd.DataFrame(meta.load_input_example(uri))
    pd.testing.assert_frame_equal(example, raw, check_dtype=False)
    requirements = (Path(uri) / "requirements.txt").read_text().split()
    assert {r.split("==")[0] for r in requirements} >= {"losstune", "mlflow", "torch"}
    assert (Path(uri) / "artifacts" / "fitted.pkl").is_file()
    with pytest.raises(TypeError, match="raw rows as its input example"):
        fitted.log_to(tracker, data.X_valid[:8])


def test_a_pyfunc_model_reads_raw_rows_of_every_column_kind(tracker: SearchTracker):
    """Numbers with gaps, text categories with None, booleans, dates: the untyped signature
    lets each through as it comes (ints where training saw floats, text where it saw dates)."""
    import numpy as np

    from losstune.data import load_dataset
    from losstune.recipe import Recipe
    from losstune.runners import train

    rng = np.random.default_rng(3)
    n = 240
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 12, n).round(1),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n).astype(object),
            "member": rng.random(n) < 0.4,
            "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "label": rng.choice([10, 20], n),
        }
    )
    frame.loc[[1, 9], "age"] = np.nan
    frame.loc[[2, 5], "city"] = None
    data = load_dataset(frame, target="label", seed=0)
    fitted = train(Recipe.default(data.task, metric="accuracy").replace(epochs=1), data).model
    tracker.start_search("s")
    loaded = mlflow.pyfunc.load_model(fitted.log_to(tracker, data.raw_example))
    rows = frame.drop(columns="label").head(20)
    expected = fitted.predict(rows)
    assert expected.dtype == np.int64
    assert loaded.predict(rows).tolist() == expected.tolist()
    other_types = rows.assign(
        age=rows["age"].fillna(0).astype(int), joined=rows["joined"].astype(str)
    )
    assert loaded.predict(other_types).shape == (20,)
    with pytest.raises(mlflow.exceptions.MlflowException, match="missing inputs.*city"):
        loaded.predict(rows.drop(columns="city"))


def test_an_existing_experiment_elsewhere_is_reused_with_a_warning(tracker: SearchTracker):
    name = tracker.client.get_experiment(tracker.experiment_id).name
    with pytest.warns(UserWarning, match="keeps its artifacts in .*was the run folder moved"):
        moved = SearchTracker(tracker.tracking_uri, name, artifact_location="file:///elsewhere")
    assert moved.experiment_id == tracker.experiment_id


def test_new_experiments_open_on_runs_and_old_ones_get_the_kind(tracker: SearchTracker):
    kind = "mlflow.experimentKind"
    experiment = tracker.client.get_experiment(tracker.experiment_id)
    assert experiment.tags[kind] == "custom_model_development"  # MLflow 3: not the Traces page
    tracker.client.delete_experiment_tag(tracker.experiment_id, kind)
    SearchTracker(tracker.tracking_uri, experiment.name)  # an experiment made before the tag
    assert tracker.client.get_experiment(tracker.experiment_id).tags[kind] == (
        "custom_model_development"
    )
    tracker.client.set_experiment_tag(tracker.experiment_id, kind, "genai_development")
    SearchTracker(tracker.tracking_uri, experiment.name)  # a user's own choice stays
    assert tracker.client.get_experiment(tracker.experiment_id).tags[kind] == "genai_development"


def test_a_tracker_without_experiment_joins_the_searchs(tracker: SearchTracker):
    parent = tracker.start_search("s", {"metric": "accuracy"}, objective="valid_accuracy")
    joined = SearchTracker(tracker.tracking_uri)  # a worker or a Ray trial: no experiment named
    assert joined.experiment_id is None
    with pytest.raises(RuntimeError, match="no experiment.*attach_search"):
        joined.start_search("elsewhere")
    joined.attach_search(parent)
    assert (joined.experiment_id, joined.objective) == (tracker.experiment_id, "valid_accuracy")
    run = joined.start_trial(7, {})
    assert tracker.client.get_run(run.run_id).info.experiment_id == tracker.experiment_id
    other = SearchTracker(tracker.tracking_uri, "another experiment")
    with pytest.raises(ValueError, match="not a search of experiment"):
        other.attach_search(parent)


def test_trials_carry_the_optimizers_lr_and_weight_decay_under_common_names(
    tracker: SearchTracker,
):
    tracker.start_search("s")
    params = {
        "optimizer": "sgd",
        "optimizer.sgd.lr": 0.1,
        "optimizer.sgd.weight_decay": 1e-4,
        "optimizer.sgd.momentum": 0.9,
        "optimizer.adamw.lr": 0.001,  # another branch: not the chosen optimizer's
    }
    run = tracker.start_trial(0, params)
    logged = tracker.client.get_run(run.run_id).data.params
    assert logged["lr"] == "0.1" and logged["weight_decay"] == "0.0001"
    assert "momentum" not in logged  # only what every optimizer has
    no_optimizer = tracker.start_trial(1, {"loss": "focal"}).run_id
    assert "lr" not in tracker.client.get_run(no_optimizer).data.params


def test_the_objective_is_logged_under_its_metric_only_when_it_adds_a_point(
    tracker: SearchTracker,
):
    tracker.start_search("s", objective="valid_accuracy")
    same = tracker.start_trial(0, {})
    same.log_epoch(1, {"valid_accuracy": 0.5})
    same.log_epoch(2, {"valid_accuracy": 0.7})
    same.end("complete", 0.7)
    history = tracker.client.get_metric_history(same.run_id, "valid_accuracy")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.7)]
    differs = tracker.start_trial(1, {})
    differs.log_epoch(1, {"valid_accuracy": 0.5})
    differs.log_epoch(2, {"valid_accuracy": 0.6})
    differs.end("complete", 0.65)  # e.g. a final evaluation: the latest value of the curve
    run = tracker.client.get_run(differs.run_id)
    assert run.data.metrics["valid_accuracy"] == 0.65 and "value" not in run.data.metrics
    steps = [m.step for m in tracker.client.get_metric_history(differs.run_id, "valid_accuracy")]
    assert steps == [1, 2, 2]


def test_without_an_objective_the_value_is_its_own_metric(tracker: SearchTracker):
    tracker.start_search("s")
    run = tracker.start_trial(0, {})
    run.end("complete", 0.9)
    assert tracker.client.get_run(run.run_id).data.metrics["value"] == 0.9


def test_a_run_reopened_by_id_ends_like_the_one_that_logged_it(tracker: SearchTracker):
    tracker.start_search("s", objective="valid_accuracy")
    worker = tracker.start_trial(3, {})
    worker.log_epoch(1, {"valid_accuracy": 0.4})
    worker.log_epoch(2, {"valid_accuracy": 0.45})
    worker.flush()
    driver = TrialRun(tracker.client, worker.run_id, 3)  # as the Ray driver ends it
    driver.end("pruned", 0.45)
    run = tracker.client.get_run(worker.run_id)
    assert run.info.run_name == "trial-0003 (pruned)" and run.data.tags["state"] == "pruned"
    assert "value" not in run.data.metrics
    history = tracker.client.get_metric_history(worker.run_id, "valid_accuracy")
    assert [m.step for m in history] == [1, 2]


def test_the_dataset_is_an_input_of_the_search_with_its_schema(tracker: SearchTracker):
    parent = tracker.start_search("s")
    rows = pd.DataFrame({"age": [31, 40], "city": ["Oslo", "Rome"], "income": [1.5, 2.0]})
    started = time.perf_counter()
    tracker.log_dataset(rows, "churn", "0123456789abcdef0123456789abcdef")
    assert time.perf_counter() - started < 0.5
    (logged,) = tracker.client.get_run(parent).inputs.dataset_inputs
    assert (logged.dataset.name, logged.dataset.digest) == (
        "churn",
        "0123456789abcdef0123456789abcdef",
    )
    schema = json.loads(logged.dataset.schema)["mlflow_colspec"]
    assert [(c["name"], c["type"]) for c in schema] == [
        ("age", "long"),
        ("city", "string"),
        ("income", "double"),
    ]
    assert {t.key: t.value for t in logged.tags} == {"mlflow.data.context": "training"}


def test_new_params_are_logged_and_changed_ones_kept_and_named(tracker: SearchTracker):
    parent = tracker.start_search("s", {"recipe.loss": "focal"})
    kept = tracker.log_new_params({"recipe.loss": "gce", "recipe.lr": 0.01})
    assert kept == ["recipe.loss"]
    params = tracker.client.get_run(parent).data.params
    assert params == {"recipe.loss": "focal", "recipe.lr": "0.01"}
    assert tracker.log_new_params({"recipe.loss": "focal", "recipe.lr": 0.01}) == []


def test_a_lightgbm_model_logs_a_pyfunc_on_raw_rows_and_its_booster(tracker: SearchTracker):
    import mlflow.lightgbm
    from sklearn.datasets import load_wine

    from losstune.data import load_dataset
    from losstune.recipe import Component, Recipe
    from losstune.runners import train

    data = load_dataset(load_wine(), seed=0)
    recipe = Recipe.default(data.task, "accuracy", model="lightgbm")
    recipe = recipe.replace(model=Component("lightgbm", {"max_rounds": 30}))
    fitted = train(recipe, data).model
    tracker.start_search("s")
    uri = fitted.log_to(tracker, data.raw_example)
    loaded = mlflow.pyfunc.load_model(uri)
    assert loaded.predict(data.raw_example).tolist() == fitted.predict(data.X_valid[:8]).tolist()
    proba = loaded.predict(data.raw_example, params={"predict_method": "predict_proba"})
    assert proba.to_numpy() == pytest.approx(fitted.predict_proba(data.X_valid[:8]))
    requirements = (Path(uri) / "requirements.txt").read_text().split()
    assert {r.split("==")[0] for r in requirements} >= {"losstune", "mlflow", "lightgbm"}
    # the trees alone, with LightGBM's own flavour, next to it
    models = tracker.client.search_logged_models([tracker.experiment_id])
    assert sorted(m.name for m in models) == ["model", "model-booster"]
    booster_uri = next(m for m in models if m.name == "model-booster").artifact_location
    booster = mlflow.lightgbm.load_model(booster_uri)
    stage = fitted.stages[-1]
    raw = booster.predict(data.X_valid[:8], num_iteration=stage.rounds, raw_score=True)
    assert fitted.outputs(data.X_valid[:8]) == pytest.approx(raw + fitted.init)
