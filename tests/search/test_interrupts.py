"""Ctrl-C and SIGTERM from the command line, the device checked before the first trial, a
failed default reported loudly, a duration budget that covers the final re-training, and a
resumed sampler that does not replay its draws."""

from __future__ import annotations

import contextlib
import datetime
import math
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from sklearn.datasets import load_wine

import losstune
from losstune.search.executors.base import FinalReserve
from losstune.search.finish import default_failure
from losstune.search.interrupts import (
    SearchInterrupted,
    Terminated,
    requested_signal,
    stop_at_stop_points,
    stop_point,
)
from losstune.search.session import resumed_seed


@pytest.fixture(scope="module")
def wine():
    return losstune.load_dataset(load_wine())


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_command_line_stops_in_one_line_and_resumes(sig, tmp_path):
    frame = load_wine(as_frame=True).frame
    frame.to_csv(tmp_path / "wine.csv", index=False)
    command = [
        str(Path(sys.executable).with_name("losstune")), "search", "wine.csv", "-t", "target",
        "--trials", "40", "--epochs", "200", "--pruner", "none", "--study-name", "stopped",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    db = tmp_path / "losstune-runs" / "optuna.db"
    while time.monotonic() < deadline and not _running_trial(db):
        time.sleep(0.5)
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + sig, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and "metric:" not in line]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Interrupted:") and "resume study 'stopped'" in lines[0]
    assert signal.Signals(sig).name in lines[0]
    study = optuna.load_study(study_name="stopped", storage=f"sqlite:///{db}")
    stopped = [t for t in study.trials if t.user_attrs.get("interrupted")]
    assert [t.state for t in stopped] == [optuna.trial.TrialState.FAIL]
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))


def _running_trial(db: Path) -> bool:
    """Whether a trial has reported an epoch, read without touching the search's database:
    opening it with Optuna would race the search creating its tables, and even a read-only
    connection takes locks that can make the search's commit fail ("database is locked");
    ``immutable=1`` takes none (a torn read is just another poll)."""
    if not db.exists():
        return False
    try:
        uri = f"file:{db}?mode=ro&immutable=1"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as con:
            return con.execute("SELECT count(*) FROM trial_intermediate_values").fetchone()[0] > 0
    except sqlite3.Error:
        return False


@pytest.mark.usefixtures("default_signal_handlers")
@pytest.mark.parametrize(
    ("sig", "raised"), [(signal.SIGTERM, Terminated), (signal.SIGINT, KeyboardInterrupt)]
)
def test_a_signal_is_raised_at_the_next_stop_point_only(sig, raised):
    stop_point()  # nothing asked: nothing raised
    with stop_at_stop_points():
        signal.raise_signal(sig)  # recorded, not raised: it could land inside a DB commit
        assert requested_signal() == signal.Signals(sig).name
        with pytest.raises(raised) as stopped:
            stop_point()
        assert type(stopped.value) is raised
        with pytest.raises(raised):
            signal.raise_signal(sig)  # a second signal: at once
    assert requested_signal() is None
    stop_point()  # the request ended with the block
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.usefixtures("default_signal_handlers")
def test_handlers_installed_by_others_are_left_alone_and_get_sigterm_as_ctrl_c():
    received = []

    def theirs(signum, frame):
        received.append(signum)

    signal.signal(signal.SIGTERM, theirs)
    with stop_at_stop_points():
        assert signal.getsignal(signal.SIGTERM) is theirs
        signal.signal(signal.SIGINT, theirs)  # a library's Ctrl-C handling (Ray Tune)
        signal.raise_signal(signal.SIGINT)
        assert received == [signal.SIGINT]
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with stop_at_stop_points():
        signal.signal(signal.SIGINT, theirs)
        signal.raise_signal(signal.SIGTERM)  # passed on as Ctrl-C, named SIGTERM
        assert received == [signal.SIGINT, signal.SIGINT]
        assert requested_signal() == "SIGTERM"


def test_search_interrupted_names_the_study_and_the_exit_code():
    err = SearchInterrupted("s1", "SIGTERM")
    assert isinstance(err, KeyboardInterrupt)
    assert err.exit_code == 143 and "resume study 's1'" in str(err)


def test_a_device_this_machine_lacks_is_refused_before_any_trial(wine, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match="CUDA is not available"):
        losstune.search(wine, n_trials=1, epochs=1, device="cuda", run_dir=tmp_path)
    assert not (tmp_path / "optuna.db").exists()


def _trial(number, state, **attrs):
    return SimpleNamespace(number=number, state=optuna.trial.TrialState[state], user_attrs=attrs)


def test_a_failed_default_is_named():
    ok = [_trial(0, "COMPLETE", default_recipe=True), _trial(1, "FAIL", fail_reason="x")]
    assert default_failure(ok, 0.9) is None
    failed = [
        _trial(0, "FAIL", default_recipe=True, fail_reason="CUDA error"),
        _trial(1, "COMPLETE"),
    ]
    assert "trial 0 failed (CUDA error)" in default_failure(failed, 0.9)
    retried = [
        _trial(0, "FAIL", default_recipe=True, interrupted=True),
        _trial(1, "COMPLETE", default_recipe=True),
    ]
    assert default_failure(retried, 0.9) is None
    assert "no margin" in default_failure(ok, math.nan)


def test_the_final_reserve_stops_the_trials_in_time():
    second = datetime.timedelta(seconds=2)
    trials = [SimpleNamespace(duration=second), SimpleNamespace(duration=second)]
    study = SimpleNamespace(get_trials=lambda **_: trials, stopped=False)
    study.stop = lambda: setattr(study, "stopped", True)
    FinalReserve(time.monotonic() + 100, runs=12)(study, None)  # 24 s needed, 100 s left
    assert not study.stopped
    FinalReserve(time.monotonic() + 20, runs=12)(study, None)
    assert study.stopped
    empty = SimpleNamespace(get_trials=lambda **_: [])
    assert not FinalReserve(time.monotonic(), runs=12).reached(empty)


@pytest.mark.slow
def test_a_duration_budget_covers_the_final_re_training(wine, tmp_path):
    started = time.monotonic()
    result = losstune.search(
        wine, budget="20s", epochs=5, top_k=2, n_seeds=2, pruner="none", run_dir=tmp_path
    )
    elapsed = time.monotonic() - started
    assert len(result.leaderboard()) >= 2 and elapsed < 20 + 6, (elapsed, result.leaderboard())


def test_a_resumed_sampler_gets_a_seed_of_its_own():
    assert resumed_seed(0, 5) == resumed_seed(0, 5)
    assert len({resumed_seed(0, n) for n in range(50)} | {resumed_seed(1, 5)}) == 51


def test_train_takes_a_recipe_file_and_refuses_a_frame(wine, tmp_path):
    path = (
        losstune.Recipe.default(wine.task, "accuracy").replace(epochs=1).save(tmp_path / "r.yaml")
    )
    assert 0 <= losstune.train(path, wine).test_score <= 1
    with pytest.raises(TypeError, match="load_dataset"):
        losstune.train(path, load_wine(as_frame=True).frame)
    with pytest.raises(TypeError, match="Recipe or a recipe file"):
        losstune.train({"loss": "ce"}, wine)
