"""search(batch_trials=K): Optuna ask/tell around batched training, on real bundled data."""

import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine

import losstune
from losstune.recipe import Recipe
from losstune.runners.torch.batched import STRUCTURE_FIELDS, unbatchable_reason
from losstune.search.executors.batched import (
    AUTO_CPU,
    resolve_batch_trials,
    structure_params,
)
from losstune.spaces import config_to_recipe, default_space
from losstune.spaces.overrides import apply_overrides

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wine():
    return losstune.load_dataset(load_wine(), seed=0)


@pytest.fixture(scope="module")
def batched_search(wine, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs")
    pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    result = losstune.search(
        wine,
        metric="accuracy",
        n_trials=12,
        batch_trials=4,
        epochs=4,
        pruner=pruner,
        run_dir=run_dir,
        top_k=1,
        n_seeds=1,
        device="cpu",
        models=["mlp"],  # what batches; the families mixed: see the test below
        warm_start=False,  # batches of sampled structures; with a warm start: test_warm_start
    )
    study = optuna.load_study(study_name=result.study_name, storage=result.storage)
    return result, study


def test_every_asked_trial_is_told_and_tracked(batched_search):
    result, study = batched_search
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 12
    states = {t.state for t in trials}
    assert states <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
                      optuna.trial.TrialState.FAIL}  # fmt: skip
    assert any(t.state == optuna.trial.TrialState.PRUNED for t in trials)
    assert trials[0].user_attrs.get("default_recipe") is True
    client = MlflowClient(result.tracking_uri)
    parent = client.get_run(result.mlflow_run_id)
    assert parent.data.params["batch_trials"] == "4"
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{result.mlflow_run_id}'",
        max_results=100,
    )
    assert sorted(int(c.data.tags["optuna.trial_number"]) for c in children) == list(range(12))
    board = result.leaderboard().set_index("trial")
    for child in children:
        number = int(child.data.tags["optuna.trial_number"])
        assert child.data.tags["state"] == board.loc[number, "state"]
        history = client.get_metric_history(child.info.run_id, "valid_accuracy")
        assert [m.step for m in history] == list(range(1, board.loc[number, "epochs_run"] + 1))
        # each trial reported its own curve to Optuna too
        trial = study.trials[number]
        assert sorted(trial.intermediate_values) == [m.step for m in history]


def test_trials_of_a_batch_share_the_first_batchable_structure(batched_search, wine):
    _, study = batched_search
    trials = study.get_trials(deepcopy=False)
    for start in range(0, 12, 4):
        batch = trials[start : start + 4]
        recipes = [
            config_to_recipe(t.user_attrs["config"], task=wine.task, metric="accuracy")
            for t in batch
        ]
        first = next(i for i, r in enumerate(recipes) if unbatchable_reason(r) is None)
        shared = structure_params(batch[first].user_attrs["config"], batch[first].params)
        assert shared and {p.split(".")[0] for p in shared} <= set(STRUCTURE_FIELDS)
        for trial in batch[first + 1 :]:
            assert {k: trial.params[k] for k in shared} == shared
        lrs = {t.params[k] for t in batch[first:] for k in t.params if k.endswith(".lr")}
        assert len(lrs) == 4 - first  # continuous values are sampled per trial


def test_the_recipe_retrains_to_its_reported_score(batched_search, wine):
    result, _ = batched_search
    again = losstune.train(result.recipe, wine)
    chosen = result.final[result.final["selected"]]
    assert again.test_score == pytest.approx(float(chosen["test_accuracy"].iloc[0]))


def test_batch_trials_is_checked_and_auto_is_fixed_on_cpu(wine):
    space = default_space(wine.task)
    assert resolve_batch_trials("auto", wine, space, "cpu") == AUTO_CPU
    assert resolve_batch_trials(3, wine, space, "cpu") == 3
    for bad in (0, -1, 2.5, "many", True):
        with pytest.raises(ValueError, match="batch_trials must be a whole number"):
            resolve_batch_trials(bad, wine, space, "cpu")


def test_structure_params_keep_discrete_choices_only():
    config = {
        "model": "mlp",
        "model.mlp.width": 64,
        "model.mlp.dropout": 0.2,
        "optimizer": "sgd",
        "optimizer.sgd.lr": 0.01,
        "optimizer.sgd.nesterov": True,
        "loss": "focal",
        "batch_size": 128,
        "epochs": 30,
    }
    searched = {k: v for k, v in config.items() if k != "epochs"}
    assert structure_params(config, searched) == {
        "model": "mlp",
        "model.mlp.width": 64,
        "optimizer": "sgd",
        "optimizer.sgd.nesterov": True,
        "batch_size": 128,
    }


def test_a_space_with_an_unbatchable_optimizer_still_runs(wine, tmp_path):
    space = apply_overrides(default_space(wine.task, epochs=2),
                            {"optimizer": ["radam", "adamw"], "wrapper": ["none"]})  # fmt: skip
    result = losstune.search(
        wine, space=space, metric="accuracy", n_trials=4, batch_trials=2, pruner="none",
        run_dir=tmp_path, top_k=1, n_seeds=1, device="cpu", seed=1,
    )  # fmt: skip
    study = optuna.load_study(study_name=result.study_name, storage=result.storage)
    assert [t.state for t in study.trials].count(optuna.trial.TrialState.COMPLETE) == 4
    assert isinstance(result.recipe, Recipe)


def test_auto_sizes_k_from_free_gpu_memory(wine, monkeypatch):
    import torch

    from losstune.search.executors import batched

    monkeypatch.setattr(batched, "resolve_device", lambda device: torch.device("cuda"))
    space = default_space(wine.task)  # widest 512, depth up to 4, batch up to 512
    free = {"bytes": 8 << 30}
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (free["bytes"], 80 << 30))
    params = 13 * 512 + 3 * 512 * 512 + 512 * 3
    floats = 4 * params + 4 * 512 * 512 * 4 + len(wine.X_valid) * 3
    assert batched.auto_batch_trials(wine, space, "auto") == min(
        256, (8 << 30) // 2 // (4 * floats)
    )
    free["bytes"] = 1 << 20  # almost nothing free: still one member
    assert batched.auto_batch_trials(wine, space, "auto") == 1
    free["bytes"] = 80 << 30  # plenty: capped
    assert batched.auto_batch_trials(wine, space, "auto") == batched.MAX_AUTO_GPU


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used")
def test_batches_on_a_shared_storage_send_heartbeats_and_fail_stale_trials(wine, tmp_path):
    import time

    import sqlalchemy

    from losstune.search.storage import open_storage

    storage = open_storage(
        f"sqlite:///{tmp_path / 'shared.db'}", workers_expected=1, heartbeat_interval=1,
        grace_period=2,
    )  # fmt: skip
    study = optuna.create_study(study_name="hb", storage=storage, direction="maximize")
    dead = study.ask()  # a trial whose worker died: one heartbeat, then silence
    storage.record_heartbeat(dead._trial_id)
    time.sleep(2.5)

    beating = set()

    def on_epoch(number, epoch, metrics):
        with storage.engine.connect() as connection:
            rows = connection.execute(sqlalchemy.text("SELECT trial_id FROM trial_heartbeats"))
            beating.update(row[0] for row in rows)

    losstune.search(
        wine, metric="accuracy", n_trials=2, batch_trials=2, epochs=2, pruner="none",
        storage=storage, study_name="hb", run_dir=tmp_path, top_k=1, n_seeds=1, device="cpu",
        on_epoch=on_epoch,
    )  # fmt: skip
    trials = study.get_trials(deepcopy=False)
    assert trials[0].state == optuna.trial.TrialState.FAIL  # failed as stale, not left RUNNING
    batch = [t for t in trials[1:] if t.user_attrs.get("mlflow_run_id")]
    assert len(batch) == 2 and {t._trial_id for t in batch} <= beating


def test_lightgbm_trials_of_a_batched_search_train_one_at_a_time(wine, tmp_path):
    with pytest.warns(UserWarning, match=r"stacks MLP trials only: the 'lightgbm' trials"):
        result = losstune.search(
            wine, metric="accuracy", n_trials=6, batch_trials=3, epochs=2, pruner="none",
            run_dir=tmp_path, top_k=1, n_seeds=1, device="cpu", seed=3,
        )  # fmt: skip
    board = result.leaderboard()
    assert set(board["model"]) == {"mlp", "lightgbm"}
    assert set(board["state"]) == {"complete"}
