"""Fault injection: SIGKILL, SIGTERM and SIGINT at three points of a search, on the sequential
and the batched executor (see ``faults.py``). After each, a resumed search completes with
exactly the asked number of finished trials, no configuration run twice, no RUNNING trial,
no RUNNING MLflow run, and (interrupted during the final selection, after the last trial)
the same recipe as an uninterrupted search.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine

import losstune
from losstune.search.interrupts import SearchInterrupted
from losstune.search.lifecycle import CONFIG, INTERRUPTED
from losstune.search.storage import counted_trials

from .faults import EXECUTORS, POINTS, SEARCH, arm

pytestmark = pytest.mark.slow

DRIVER = Path(__file__).with_name("faults.py")


@pytest.fixture(scope="module")
def wine():
    return losstune.load_dataset(load_wine())


@pytest.fixture(scope="module")
def uninterrupted(wine, tmp_path_factory):
    """The recipe of each executor's search run without a fault."""
    recipes = {}
    for executor, options in EXECUTORS.items():
        run_dir = tmp_path_factory.mktemp(f"reference-{executor}")
        recipes[executor] = losstune.search(wine, run_dir=run_dir, **SEARCH, **options).recipe
    return recipes


def _comparable(recipe) -> dict:
    data = recipe.to_dict()
    data["provenance"].pop("mlflow_run_id", None)
    return data


def _check_no_running(run_dir: Path) -> None:
    study = optuna.load_study(
        study_name=SEARCH["study_name"], storage=f"sqlite:///{run_dir}/optuna.db"
    )
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    client = MlflowClient(f"sqlite:///{run_dir}/mlflow.db")
    experiments = [e.experiment_id for e in client.search_experiments()]
    running = client.search_runs(experiments, "attributes.status = 'RUNNING'")
    assert not running, [r.info.run_name for r in running]


def _check_resumed(run_dir: Path, result, reference, point: str) -> None:
    _check_no_running(run_dir)
    study = result.study()
    assert counted_trials(study) == SEARCH["n_trials"]
    retried = set(study.user_attrs.get(INTERRUPTED, []))
    configs = [
        json.dumps(t.user_attrs[CONFIG], sort_keys=True)
        for t in study.trials
        if t.state.is_finished() and t.number not in retried
    ]
    assert len(configs) == SEARCH["n_trials"] and len(set(configs)) == len(configs)
    if point == "final":
        assert _comparable(result.recipe) == _comparable(reference)


@pytest.mark.usefixtures("default_signal_handlers")
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_search_cleans_up_and_resumes(
    sig, executor, point, wine, uninterrupted, tmp_path, monkeypatch
):
    run_dir = tmp_path / "runs"
    options = arm(point, sig, monkeypatch.setattr)
    with pytest.raises(SearchInterrupted) as stopped:
        losstune.search(wine, run_dir=run_dir, **SEARCH, **EXECUTORS[executor], **options)
    assert stopped.value.signal_name == signal.Signals(sig).name
    assert stopped.value.exit_code == 128 + sig
    _check_no_running(run_dir)  # the interrupted trial and the parent run ended KILLED
    monkeypatch.undo()
    result = losstune.search(wine, run_dir=run_dir, **SEARCH, **EXECUTORS[executor])
    _check_resumed(run_dir, result, uninterrupted[executor], point)


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("executor", EXECUTORS)
def test_killed_search_resumes(executor, point, wine, uninterrupted, tmp_path):
    run_dir = tmp_path / "runs"
    killed = subprocess.run(
        [sys.executable, str(DRIVER), executor, point, str(run_dir)],
        capture_output=True,
        cwd=Path(__file__).parents[2],
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    result = losstune.search(wine, run_dir=run_dir, **SEARCH, **EXECUTORS[executor])
    _check_resumed(run_dir, result, uninterrupted[executor], point)
