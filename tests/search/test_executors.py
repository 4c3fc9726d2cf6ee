"""The contract every registered executor keeps (a new one is covered by registering it):
the documented trial attributes, one MLflow parent with one nested run per trial, a diverging
trial failed and not retried, and a search interrupted by Ctrl-C that resumes to its budget
with nothing left running."""

import os
import signal

import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine

import losstune
from losstune.search import EXECUTORS
from losstune.search.lifecycle import (
    CONFIG,
    DEFAULT_RECIPE,
    FAIL_REASON,
    MAX_EPOCHS,
    MLFLOW_RUN_ID,
    TRIAL_ATTRS,
)
from losstune.search.storage import counted_trials
from losstune.spaces import default_space

pytestmark = pytest.mark.slow

N_TRIALS = 6
# what each executor may add to the documented attributes, and nothing else
EXTRA_ATTRS = {
    "sequential": {"worker_id", "sampler_seed"},
    "batched": {"worker_id", "sampler_seed"},
    "ray": {"ray_trial_id"},
    "workers": {"worker_id", "sampler_seed"},
}
OPTIONS = {
    "sequential": {},
    "batched": {"batch_trials": 2},
    "ray": {"max_concurrent_trials": 1},
    "workers": {"n_workers": 2},
}
# what each executor needs from the environment (a fixture)
NEEDS = {"ray": "local_ray", "workers": "pg_url"}


@pytest.fixture(scope="module")
def wine():
    return losstune.load_dataset(load_wine(), seed=0)


def test_every_executor_is_covered():
    assert set(EXECUTORS.names()) == set(OPTIONS) == set(EXTRA_ATTRS)


class _InterruptOnce:
    """An on_epoch hook that presses Ctrl-C (SIGINT) at the first epoch that a trial after
    the default reports."""

    def __init__(self) -> None:
        self.fired = False

    def __call__(self, trial: int, epoch: int, metrics) -> None:
        if trial >= 1 and not self.fired:
            self.fired = True
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.usefixtures("default_signal_handlers")
@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_executor_contract(name, wine, tmp_path, request):
    needed = request.getfixturevalue(NEEDS[name]) if name in NEEDS else None
    storage = {"storage": needed} if name == "workers" else {}
    # a zero-initialised readout is for muP only, so a standard MLP recipe refuses it: those
    # trials must fail, once each, for their own reason, and the search go on
    space = default_space(wine.task, epochs=2).apply(
        {
            "model": ["mlp"],
            "optimizer": ["adamw", "sgd"],
            "wrapper": ["none"],
            "model.mlp.readout_zero_init": [False, True],
        }
    )
    search = dict(
        space=space, metric="accuracy", n_trials=N_TRIALS, sampler="random", pruner="none",
        top_k=1, n_seeds=1, seed=1, run_dir=tmp_path, executor=name, study_name="contract",
        # the seeded sampler alone picks the trials, and seed 1 draws refused ones on every
        # executor (the retried trials go first, so the draws differ by executor)
        warm_start=False,
        **OPTIONS[name], **storage,
    )  # fmt: skip
    hook = _InterruptOnce()
    with pytest.raises(KeyboardInterrupt):
        losstune.search(wine, on_epoch=hook, **search)
    assert hook.fired
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    (parent,) = _runs(client, parents=True)
    assert parent.info.status == "KILLED"

    result = losstune.search(wine, **search)

    study = result.study()
    trials = study.get_trials(deepcopy=False)
    # processes sharing a study stop at its budget, each finishing its running trial
    assert N_TRIALS <= counted_trials(study) <= N_TRIALS + OPTIONS[name].get("n_workers", 1) - 1
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    finished = [t for t in trials if t.state.is_finished()]
    for trial in finished:
        refused = "readout_zero_init" in trial.user_attrs.get(FAIL_REASON, "")  # no recipe
        needed = {CONFIG, MLFLOW_RUN_ID} | (set() if refused else {MAX_EPOCHS})
        assert needed <= set(trial.user_attrs), trial.number
        assert set(trial.user_attrs) <= set(TRIAL_ATTRS) | EXTRA_ATTRS[name]
    assert finished[0].user_attrs.get(DEFAULT_RECIPE) is True
    diverged = [t for t in finished if "readout_zero_init" in t.user_attrs.get(FAIL_REASON, "")]
    assert diverged, "the space should make some trials fail"
    assert all(t.user_attrs[CONFIG]["model.mlp.readout_zero_init"] for t in diverged)

    (parent,) = _runs(client, parents=True)
    assert parent.info.run_id == result.mlflow_run_id and parent.info.status == "FINISHED"
    children = _runs(client, parents=False)
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert not [c for c in children if c.info.status == "RUNNING"]
    by_run = {c.info.run_id: c for c in children}
    for trial in finished:  # every trial has its own run, in the same end state
        child = by_run[trial.user_attrs[MLFLOW_RUN_ID]]
        state = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}[trial.state.name]
        if child.info.status != "KILLED":  # the run the interruption cut short
            assert child.data.tags["state"] == state, trial.number
    for trial in diverged:  # failed for a reason of its own: not retried
        retries = [t for t in trials if t.user_attrs.get("retry_of") == trial.number]
        assert not retries and by_run[trial.user_attrs[MLFLOW_RUN_ID]].info.status == "FAILED"


def _runs(client: MlflowClient, parents: bool) -> list:
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, max_results=1000)
    return [r for r in runs if ("mlflow.parentRunId" not in r.data.tags) == parents]
