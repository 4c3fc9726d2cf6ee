"""A search killed mid-trial resumes: finished trials kept, the running one retried."""

import os
import signal
import subprocess
import sys
import textwrap

import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_wine

import losstune
from losstune.search.lock import StudyBusyError, study_lock

pytestmark = pytest.mark.slow

SEARCH = dict(metric="accuracy", n_trials=5, epochs=8, study_name="resume-me", pruner="none")

KILLED_SEARCH = textwrap.dedent(
    """
    import os, signal, sys
    from sklearn.datasets import load_wine
    import losstune

    def on_epoch(trial, epoch, metrics):
        if trial == 2 and epoch == 3:  # mid-way through the third trial
            os.kill(os.getpid(), signal.SIGKILL)

    data = losstune.load_dataset(load_wine())
    losstune.search(data, run_dir=sys.argv[1], on_epoch=on_epoch, **{search})
    """
).format(search=SEARCH)


def test_a_killed_search_resumes_and_retries_the_running_trial(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(KILLED_SEARCH)
    run_dir = tmp_path / "runs"
    killed = subprocess.run([sys.executable, str(script), str(run_dir)], capture_output=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]

    storage = f"sqlite:///{run_dir / 'optuna.db'}"
    before = optuna.load_study(study_name="resume-me", storage=storage).get_trials()
    states = [t.state.name for t in before]
    assert states == ["COMPLETE", "COMPLETE", "RUNNING"]
    assert before[0].user_attrs["default_recipe"] is True

    result = losstune.search(losstune.load_dataset(load_wine()), run_dir=run_dir, **SEARCH)

    after = optuna.load_study(study_name="resume-me", storage=storage).get_trials()
    assert [t.state.name for t in after] == ["COMPLETE", "COMPLETE", "FAIL"] + ["COMPLETE"] * 3
    assert [t.value for t in after[:2]] == [t.value for t in before[:2]]  # kept, not re-run
    retry = after[3]
    assert retry.user_attrs["retry_of"] == 2 and retry.params == before[2].params
    board = result.leaderboard()
    assert len(board) == 6 and (board["state"] == "complete").sum() == 5

    client = MlflowClient(result.tracking_uri)
    runs = client.search_runs([client.get_run(result.mlflow_run_id).info.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {int(r.data.tags["optuna.trial_number"]): r for r in runs if r not in parents}
    assert [p.info.run_id for p in parents] == [result.mlflow_run_id]
    assert sorted(children) == list(range(6))
    assert children[2].info.status == "KILLED" and children[2].data.tags["state"] == "failed"
    assert all(children[n].info.status == "FINISHED" for n in (0, 1, 3, 4, 5))
    assert client.get_run(result.mlflow_run_id).info.status == "FINISHED"


def test_a_second_search_on_a_busy_study_is_refused(tmp_path):
    with study_lock(tmp_path, "busy"):
        with pytest.raises(StudyBusyError, match="is running study 'busy'") as refused:
            losstune.search(
                losstune.load_dataset(load_wine()),
                run_dir=tmp_path,
                study_name="busy",
                n_trials=1,
                metric="accuracy",
            )
    assert f"(pid {os.getpid()})" in str(refused.value)


# -- the study lock: one process per local study; the OS releases it when the holder dies --

HOLD_LOCK = textwrap.dedent(
    """
    import os, signal, sys
    from losstune.search.lock import study_lock

    with study_lock(sys.argv[1], "busy"):
        if sys.argv[2] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        print("locked", flush=True)
        sys.stdin.readline()
    """
)


def _hold_lock(tmp_path, how):
    script = tmp_path / "hold.py"
    script.write_text(HOLD_LOCK)
    cmd = [sys.executable, str(script), str(tmp_path / "runs"), how]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_the_lock_is_refused_naming_the_process_that_holds_it(tmp_path):
    holder = _hold_lock(tmp_path, "hold")
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StudyBusyError, match=rf"\(pid {holder.pid}\) is running study 'busy'"):
            with study_lock(tmp_path / "runs", "busy"):
                pass
        with study_lock(tmp_path / "runs", "other"):  # another study is not blocked
            pass
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    with study_lock(tmp_path / "runs", "busy"):  # released when the holder finished
        pass


def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    holder = _hold_lock(tmp_path, "kill")
    holder.communicate(timeout=30)
    assert holder.returncode == -signal.SIGKILL
    locks = tmp_path / "runs" / ".locks"
    assert (locks / "busy.lock").exists()  # left behind, with the dead holder's pid
    assert (locks / "busy.pid").read_text() == str(holder.pid)
    with study_lock(tmp_path / "runs", "busy"):
        assert (locks / "busy.pid").read_text() == str(os.getpid())
    assert not (locks / "busy.pid").exists()


def test_the_lock_is_released_after_the_block_even_on_an_error(tmp_path):
    with pytest.raises(KeyError):
        with study_lock(tmp_path, "busy"):
            raise KeyError("boom")
    with study_lock(tmp_path, "busy"):
        with pytest.raises(StudyBusyError, match=rf"\(pid {os.getpid()}\)"):
            with study_lock(tmp_path, "busy"):
                pass
