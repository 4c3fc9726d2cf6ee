"""Searches on Ray Tune: a local Ray with a fake GPU, scikit-learn's wine data, real MLflow."""

import os
import signal
import time

import optuna
import pytest
from mlflow.tracking import MlflowClient
from ray import tune
from sklearn.datasets import load_wine
from typer.testing import CliRunner

import losstune
from losstune.cli import app
from losstune.mlflow import dataset_name, experiment_name, local_tracking_uri
from losstune.recipe import Recipe
from losstune.runners import train
from losstune.search.executors.ray.searcher import ORIGIN_KEY, TRIAL_KEY, StudySearch
from losstune.spaces import default_space

pytestmark = pytest.mark.slow
NAN = float("nan")


@pytest.fixture(scope="module")
def wine():
    return losstune.load_dataset(load_wine(), seed=0)


def _runs(tracking_uri):
    client = MlflowClient(tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, max_results=1000)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return client, parents, children


def _number(run):
    return int(run.data.tags["optuna.trial_number"])


def test_asha_search_tracks_every_trial_and_its_recipe_retrains(local_ray, wine, tmp_path):
    result = losstune.search(
        wine, metric="accuracy", n_trials=8, epochs=6, top_k=2, n_seeds=2, seed=0,
        run_dir=tmp_path, backend="ray", max_concurrent_trials=1, models=["mlp"],
    )  # fmt: skip
    board = result.leaderboard()
    assert sorted(board["trial"]) == list(range(8))
    assert list(board.loc[board["default"], "trial"]) == [0]
    pruned, complete = board[board["state"] == "pruned"], board[board["state"] == "complete"]
    assert len(pruned) >= 1 and len(complete) >= 1 and len(pruned) + len(complete) == 8
    assert set(complete["epochs_run"]) == {6}
    assert pruned["epochs_run"].max() < 6  # stopped by ASHA at a rung before the last epoch

    client, parents, children = _runs(result.tracking_uri)
    assert [p.info.run_id for p in parents] == [result.mlflow_run_id]
    assert sorted(_number(c) for c in children) == list(range(8))
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {result.mlflow_run_id}
    by_number = board.set_index("trial")
    for child in children:
        row = by_number.loc[_number(child)]
        assert child.data.tags["state"] == row["state"]
        assert child.info.status == "FINISHED"
        # the trial's value is its objective's last point, not a metric of its own
        assert child.data.metrics["valid_accuracy"] == pytest.approx(row["value"])
        assert "value" not in child.data.metrics
        history = client.get_metric_history(child.info.run_id, "valid_accuracy")
        assert [m.step for m in history] == list(range(1, row["epochs_run"] + 1))
    parent = client.get_run(result.mlflow_run_id)
    assert parent.info.status == "FINISHED" and parent.data.params["backend"] == "ray"
    assert parent.data.params["pruner"] == "asha"
    assert parent.data.metrics["pruning.n_pruned"] == len(pruned)
    recipe_file = client.download_artifacts(result.mlflow_run_id, "recipe.yaml", str(tmp_path))
    assert Recipe.load(recipe_file) == result.recipe
    assert len(result.study().trials) == 8  # the searcher's study, exported next to the runs

    again = train(result.recipe, wine)
    final = result.final
    chosen = final[final["selected"] & (final["seed"] == result.recipe.seed)]
    assert again.test_score == pytest.approx(float(chosen["test_accuracy"].iloc[0]))


def test_quarter_gpus_run_four_trials_at_once_on_cpu(local_ray, wine, tmp_path):
    client = MlflowClient(local_tracking_uri(tmp_path))
    running = []

    def count_running_trials(number, epoch, metrics):
        # runs only in the driver, while the reporting worker waits for it: slows the trials
        # enough that all four must have started before any of them can finish
        experiment = client.get_experiment_by_name(experiment_name(dataset_name(wine)))
        runs = client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'")
        running.append(sum("mlflow.parentRunId" in r.data.tags for r in runs))
        time.sleep(0.05)

    result = losstune.search(
        wine, metric="accuracy", n_trials=4, epochs=20, pruner="none", top_k=1, n_seeds=1,
        run_dir=tmp_path, backend="ray", cpus_per_trial=1, gpus_per_trial=0.25,
        on_epoch=count_running_trials,
    )  # fmt: skip
    assert max(running) == 4
    _, _, children = _runs(result.tracking_uri)
    assert len(children) == 4
    for child in children:
        tags = child.data.tags
        assert (tags["CUDA_VISIBLE_DEVICES"], tags["ray.gpu_ids"]) == ("0", "0")
        assert tags["device"] == "cpu"  # 'auto' on a GPU torch cannot see: trained on CPU
        assert tags["state"] == "complete"
    assert len({c.data.tags["ray.worker_pid"] for c in children}) == 4


def test_interrupted_search_resumes_with_its_searcher_state(local_ray, wine, tmp_path):
    """ray-project/ray#30861: after Tuner.restore the searcher still knows its trials."""
    search = dict(
        metric="accuracy", n_trials=6, epochs=4, pruner="none", top_k=1, n_seeds=1,
        run_dir=tmp_path, study_name="resume-me", backend="ray", max_concurrent_trials=2,
    )  # fmt: skip
    interrupted = []

    def interrupt_at_trial_3(number, epoch, metrics):
        if number >= 3 and not interrupted:
            interrupted.append(number)
            os.kill(os.getpid(), signal.SIGUSR1)  # what Ray Tune takes for Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        losstune.search(wine, on_epoch=interrupt_at_trial_3, **search)
    experiment = tmp_path / "ray" / "resume-me"
    before = StudySearch.from_experiment(experiment).study.get_trials()
    done_before = {t.number: t.value for t in before if t.state.name == "COMPLETE"}
    assert 1 <= len(done_before) < len(before) < 6  # stopped mid-way, trials in flight
    client, parents, _ = _runs(local_tracking_uri(tmp_path))
    assert client.get_run(parents[0].info.run_id).info.status == "KILLED"

    result = losstune.search(wine, **search)
    assert result.mlflow_run_id == parents[0].info.run_id
    trials = StudySearch.from_experiment(experiment).study.get_trials()
    assert [t.number for t in trials] == list(range(6))
    assert {t.state.name for t in trials} == {"COMPLETE"}
    assert {t.number: t.value for t in trials if t.number in done_before} == done_before
    assert len(tune.ExperimentAnalysis(str(experiment)).trials) == 6

    _, parents, children = _runs(result.tracking_uri)
    assert len(parents) == 1
    finished = [c for c in children if c.data.tags["state"] == "complete"]
    assert sorted(_number(c) for c in finished) == list(range(6))
    killed = [c for c in children if c.info.status == "KILLED"]  # in flight, re-run since
    assert {_number(c) for c in killed} <= {t.number for t in before} - set(done_before)
    assert interrupted[0] in {_number(c) for c in killed}
    assert {c.data.tags["state"] for c in killed} == {"failed"}

    again = losstune.search(wine, **search)  # a finished search: restored, nothing re-run
    assert again.mlflow_run_id == result.mlflow_run_id
    assert len(again.leaderboard()) == 6
    assert len(tune.ExperimentAnalysis(str(experiment)).trials) == 6


def test_a_trial_whose_worker_dies_is_retried(local_ray, wine, tmp_path):
    client = MlflowClient(local_tracking_uri(tmp_path))
    killed = []

    def kill_the_worker_of_trial_1(number, epoch, metrics):
        # the worker is alive: it waits in tune.report until the driver has handled its epoch
        if number != 1 or killed:
            return
        experiment = client.get_experiment_by_name(experiment_name(dataset_name(wine)))
        (run,) = client.search_runs(
            [experiment.experiment_id],
            "tags.`optuna.trial_number` = '1' and attributes.status = 'RUNNING'",
        )
        pid = int(run.data.tags["ray.worker_pid"])
        assert pid != os.getpid()
        os.kill(pid, signal.SIGKILL)
        killed.append(run.info.run_id)

    result = losstune.search(
        wine, metric="accuracy", n_trials=2, epochs=3, pruner="none", top_k=1, n_seeds=1,
        run_dir=tmp_path, backend="ray", max_concurrent_trials=1, models=["mlp"],
        on_epoch=kill_the_worker_of_trial_1,
    )  # fmt: skip
    assert len(killed) == 1
    board = result.leaderboard().set_index("trial")
    assert list(board["state"]) == ["complete", "complete"]
    assert board.loc[1, "epochs_run"] == 3
    _, _, children = _runs(result.tracking_uri)
    attempts = {c.info.run_id: c for c in children if _number(c) == 1}
    assert len(attempts) == 2
    dead = attempts.pop(killed[0])
    assert (dead.info.status, dead.data.tags["state"]) == ("KILLED", "failed")
    (retry,) = attempts.values()
    assert (retry.info.status, retry.data.tags["state"]) == ("FINISHED", "complete")
    assert retry.data.tags["ray.worker_pid"] != dead.data.tags["ray.worker_pid"]


def _result(epoch, value, max_epochs=6, **extra):
    return {"epoch": epoch, "valid_accuracy": value, "max_epochs": max_epochs,
            "mlflow_run_id": "run", "trial_number": 0, **extra}  # fmt: skip


@pytest.mark.parametrize(
    ("last", "error", "state", "value", "curve"),
    [
        (_result(6, 0.9), False, "COMPLETE", 0.9, {1: 0.4, 6: 0.9}),  # ran all its epochs
        (_result(2, 0.5), False, "PRUNED", 0.5, {1: 0.4, 2: 0.5}),  # OptunaSearch: COMPLETE
        (_result(6, NAN), False, "FAIL", None, {1: 0.4}),
        ({"valid_accuracy": NAN, "fail_reason": "diverged"}, False, "FAIL", None, {1: 0.4}),
        (None, True, "FAIL", None, {1: 0.4}),  # its worker died max_failures + 1 times
    ],
)
def test_searcher_study_records_how_each_trial_ended(wine, last, error, state, value, curve):
    space = default_space(wine.task, epochs=6)
    searcher = StudySearch(
        space, optuna.samplers.RandomSampler(seed=0), "valid_accuracy", "max", "t"
    )
    config = searcher.suggest("ray-trial")
    losstune_config = {k: v for k, v in config.items() if k not in (TRIAL_KEY, ORIGIN_KEY)}
    assert space.contains(losstune_config) and config[TRIAL_KEY] == 0
    assert config[ORIGIN_KEY] == "sampler"  # the tag its MLflow run gets
    searcher.on_trial_result("ray-trial", _result(1, 0.4))
    searcher.on_trial_result("ray-trial", _result(1, 0.4))  # a retried trial reports again
    searcher.on_trial_complete("ray-trial", result=last, error=error)
    (trial,) = searcher.study.get_trials()
    assert trial.state.name == state
    assert trial.value == (None if value is None else pytest.approx(value))
    assert trial.intermediate_values == pytest.approx(curve)
    assert trial.user_attrs["config"] == losstune_config
    assert ("fail_reason" in trial.user_attrs) == (state == "FAIL")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"backend": "spark"}, "use one of optuna, ray"),
        ({"backend": "ray", "batch_trials": 2}, "batch_trials only apply to executor 'batched'"),
        ({"gpus_per_trial": 0.5}, "gpus_per_trial only apply to executor 'ray'"),
        ({"backend": "ray", "grace_period": 0}, "grace_period must be a whole number >= 1"),
        ({"backend": "ray", "max_failures": -1}, "max_failures must be a whole number >= 0"),
        ({"executor": "ray", "storage": "sqlite:///x.db"}, "keeps its study in the Tune"),
        ({"backend": "ray", "gpus_per_trial": 1.5}, "fraction of one GPU"),
        ({"backend": "ray", "cpus_per_trial": 0}, "cpus_per_trial must be a number > 0"),
        ({"backend": "ray", "max_concurrent_trials": 0}, "max_concurrent_trials must be"),
        ({"backend": "ray", "device": "cuda:1"}, "Ray assigns each trial its GPU"),
        ({"backend": "ray", "device": "cuda"}, "needs gpus_per_trial > 0"),
        ({"backend": "ray", "pruner": "medain"}, "Unknown Ray Tune scheduler 'medain'"),
    ],
)
def test_bad_ray_options_are_refused_before_ray_starts(wine, tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        losstune.search(wine, metric="accuracy", n_trials=2, run_dir=tmp_path, **options)


def test_cli_refuses_an_unknown_backend_and_ray_options_without_ray(tmp_path):
    frame = load_wine(as_frame=True).frame
    data = tmp_path / "wine.csv"
    frame.to_csv(data, index=False)
    base = ["search", str(data), "--target", "target", "--run-dir", str(tmp_path)]
    out = CliRunner().invoke(app, [*base, "--backend", "spark"])
    assert out.exit_code == 2 and "Unknown backend 'spark'" in out.output
    out = CliRunner().invoke(app, [*base, "--max-concurrent-trials", "2", "--trials", "2"])
    assert out.exit_code == 2 and "max_concurrent_trials only apply to executor 'ray'" in out.output


def test_a_booster_that_stops_early_on_ray_is_complete(local_ray, wine, tmp_path):
    """Early stopping ends a LightGBM trial before its most reports: complete, not pruned."""
    result = losstune.search(
        wine, metric="accuracy", n_trials=2, top_k=1, n_seeds=1, pruner="none",
        run_dir=tmp_path, backend="ray", max_concurrent_trials=1, models=["lightgbm"],
    )  # fmt: skip
    board = result.leaderboard()
    assert list(board["state"]) == ["complete", "complete"]
    assert (board["epochs_run"] < board["max_epochs"]).all()  # stopped early, by itself
    assert result.recipe.model.name == "lightgbm"
