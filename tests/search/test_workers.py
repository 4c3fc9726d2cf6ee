"""Several processes run trials of one study: `losstune worker` and join_search().

The PostgreSQL tests run only with CI=true and a server at 127.0.0.1:5432 (user postgres,
trust authentication, a database `test`); each creates and drops its own database.
"""

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from rich.console import Console
from sklearn.datasets import load_wine
from typer.testing import CliRunner

import losstune
from losstune.cli import app
from losstune.search.storage import counted_trials, open_storage, storage_url
from losstune.search.summary import print_summary
from losstune.search.worker import (
    SPEC_ATTR,
    file_source,
    join_search,
    register_worker,
    space_from_data,
    worker_seed,
)
from losstune.spaces import default_space

from .conftest import fresh_database

pytestmark = pytest.mark.slow

COMPLETE, RUNNING, FAIL = (optuna.trial.TrialState[s] for s in ("COMPLETE", "RUNNING", "FAIL"))
# a search budgeted by duration: it runs its first trial, then workers add theirs
# (no warm start: its queue would outlast a 1 s budget; see tests/search/test_warm_start.py)
SEARCH = dict(
    metric="accuracy", budget="1s", epochs=4, pruner="none", top_k=1, n_seeds=1, warm_start=False
)
runner = CliRunner()


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory):
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    path = tmp_path_factory.mktemp("data") / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def losstune_command() -> list[str]:
    script = Path(sys.executable).with_name("losstune")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from losstune.cli import main; main()"]


# -- always run (CPU, SQLite) ---------------------------------------------------------------


def test_worker_seeds_are_fixed_per_search_seed_and_worker_id():
    # worker 0 (the search process) keeps the search seed; the others are SeedSequence words
    assert [worker_seed(0, i) for i in range(4)] == [0, 673228719, 3241444873, 3685993406]
    assert [worker_seed(7, 1), worker_seed(7, 2)] == [3618983171, 3831650445]
    with pytest.raises(ValueError, match="worker_id must be a whole number >= 0"):
        worker_seed(0, -1)


def test_sqlite_is_refused_for_more_than_one_worker(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    for workers in (None, 2):
        with pytest.raises(ValueError, match=r"PostgreSQL.*") as err:
            open_storage(url, workers_expected=workers)
        assert "optuna/optuna#820" in str(err.value)
    alone = open_storage(url, workers_expected=1, heartbeat_interval=2, grace_period=5)
    assert (alone.heartbeat_interval, alone.grace_period) == (2, 5)
    with pytest.raises(ValueError, match="grace_period .* must exceed heartbeat_interval"):
        open_storage(url, workers_expected=1, heartbeat_interval=5, grace_period=5)

    out = runner.invoke(
        app, ["worker", "--study", "s", "--storage", url, "--worker-id", "1", "--trials", "1"]
    )
    assert out.exit_code == 2
    assert "cannot be shared" in out.output and "postgresql://" in out.output


def test_the_study_records_the_search_and_a_lone_worker_adds_trials(tmp_path):
    dataset = losstune.load_dataset(load_wine())
    result = losstune.search(dataset, run_dir=tmp_path, study_name="api", **SEARCH)
    study = result.study()
    spec = study.user_attrs[SPEC_ATTR]
    assert space_from_data(spec["space"]) == default_space(dataset.task, epochs=4)
    assert {k: spec[k] for k in ("metric", "seed", "epochs", "sampler", "pruner")} == {
        "metric": "accuracy",
        "seed": 0,
        "epochs": 4,
        "sampler": "tpe",
        "pruner": "none",
    }
    assert (spec["n_trials"], spec["timeout"], spec["data"]) == (None, 1.0, None)
    assert spec["tracking_uri"] == result.tracking_uri
    searched = study.get_trials()
    assert {(t.user_attrs["worker_id"], t.user_attrs["sampler_seed"]) for t in searched} == {(0, 0)}

    with pytest.raises(ValueError, match="PostgreSQL"):
        join_search("api", result.storage, dataset, worker_id=1)
    alone = open_storage(result.storage, workers_expected=1)
    with pytest.raises(ValueError, match="worker_id must be a whole number >= 1"):
        join_search("api", alone, dataset, worker_id=0)
    with pytest.raises(ValueError, match="in-memory dataset"):
        join_search("api", alone, worker_id=1)
    other_split = losstune.load_dataset(load_wine(), seed=1)
    with pytest.raises(ValueError, match="another dataset"):
        join_search("api", alone, other_split, worker_id=1)
    with pytest.raises(ValueError, match="No study 'nope'.*Studies there: api"):
        join_search("nope", alone, dataset, worker_id=1)

    assert join_search("api", alone, dataset, worker_id=1, n_trials=2).trials == 2
    added = study.get_trials()[len(searched) :]
    assert [t.state for t in added] == [COMPLETE, COMPLETE]
    seed = worker_seed(0, 1)
    assert all(
        t.user_attrs["worker_id"] == 1 and t.user_attrs["sampler_seed"] == seed for t in added
    )
    client = MlflowClient(result.tracking_uri)
    for trial in added:
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert run.data.tags["mlflow.parentRunId"] == result.mlflow_run_id
        assert run.data.tags["losstune.worker_id"] == "1"
        assert run.data.tags["losstune.sampler_seed"] == str(seed)
    parent = client.get_run(result.mlflow_run_id)
    assert study.user_attrs["worker_ids"] == [1]
    assert parent.data.tags["losstune.worker.0.sampler_seed"] == "0"
    assert parent.data.tags["losstune.worker.1.sampler_seed"] == str(seed)
    assert parent.info.status == "FINISHED"  # a worker does not reopen the search's run


def test_the_cli_records_how_to_reload_the_data_and_workers_respect_the_budget(wine_csv, tmp_path):
    args = ["search", str(wine_csv), "--target", "cultivar", "--trials", "1", "--epochs", "2"]
    out = runner.invoke(
        app,
        [*args, "--pruner", "none", "--run-dir", str(tmp_path), "--study-name", "cli"]
        + ["--out", str(tmp_path / "recipe.yaml")],
    )
    assert out.exit_code == 0, out.output
    storage = open_storage(f"sqlite:///{tmp_path / 'optuna.db'}", workers_expected=1)
    spec = optuna.load_study(study_name="cli", storage=storage).user_attrs[SPEC_ATTR]
    assert spec["data"] == file_source(wine_csv, "cultivar", None, (), 0)
    assert spec["data"]["path"] == str(wine_csv.resolve()) and spec["n_trials"] == 1
    # the worker reloads the CSV itself; the study already has its one trial
    assert join_search("cli", storage, worker_id=3, n_trials=5).trials == 0
    # without an id, a worker takes the next one no worker of the study took
    auto = join_search("cli", storage, n_trials=1)
    assert (auto.worker_id, auto.sampler_seed, auto.trials) == (4, worker_seed(0, 4), 0)
    assert join_search("cli", storage, n_trials=1).worker_id == 5


# -- PostgreSQL (CI=true) -------------------------------------------------------------------


def test_workers_starting_together_get_distinct_ids(pg_url):
    from concurrent.futures import ThreadPoolExecutor

    optuna.create_study(study_name="ids", storage=open_storage(pg_url))
    storages = [open_storage(pg_url) for _ in range(8)]
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda s: register_worker(s, "ids", None), storages))
    assert sorted(ids) == list(range(1, 9))
    study = optuna.load_study(study_name="ids", storage=storage_url(pg_url))
    assert study.user_attrs["worker_ids"] == list(range(1, 9))


KILLED_WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from losstune.search.worker import join_search

    url, marker = sys.argv[1], Path(sys.argv[2])
    trials = []

    def on_epoch(trial, epoch, metrics):
        if trial not in trials:
            trials.append(trial)
        if len(trials) >= 2 and epoch == 2:  # mid-way through a trial after its first
            marker.write_text(str(trial))
            time.sleep(600)  # until the test kills it

    join_search("wine", url, worker_id=1, n_trials=5, on_epoch=on_epoch)
    """
)


def _wait_for(path: Path, process: subprocess.Popen, log: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"worker A never reached its second trial:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def test_a_killed_worker_s_trial_is_failed_and_retried_by_another(pg_url, wine_csv, tmp_path):
    interval, grace = 1, 3
    result = losstune.search(
        losstune.load_dataset(wine_csv, target="cultivar"),
        storage=open_storage(pg_url, heartbeat_interval=interval, grace_period=grace),
        study_name="wine",
        run_dir=tmp_path / "runs",
        data_source=file_source(wine_csv, "cultivar"),
        **SEARCH,
    )
    assert result.storage.startswith("postgresql+psycopg2://")  # psycopg2, not psycopg 3

    marker, log = tmp_path / "a-is-mid-trial", tmp_path / "a.log"
    with open(log, "w") as stderr:
        worker_a = subprocess.Popen(
            [sys.executable, "-c", KILLED_WORKER, pg_url, str(marker)], stderr=stderr
        )
    _wait_for(marker, worker_a, log, seconds=60)
    killed = int(marker.read_text())
    study = optuna.load_study(study_name="wine", storage=storage_url(pg_url))
    mid = study.get_trials()[killed]
    assert mid.state == RUNNING and mid.user_attrs["worker_id"] == 1
    worker_a.send_signal(signal.SIGKILL)
    assert worker_a.wait(timeout=10) == -signal.SIGKILL
    complete_before = [t.number for t in study.get_trials(states=(COMPLETE,))]
    assert any(study.get_trials()[n].user_attrs["worker_id"] == 1 for n in complete_before)

    time.sleep(grace + interval)  # A's last heartbeat is now older than the grace period
    worker_b = subprocess.run(
        [*losstune_command(), "worker", "--study", "wine", "--storage", pg_url]
        + ["--worker-id", "2", "--trials", "2", "--device", "cpu"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker_b.returncode == 0, worker_b.stderr[-3000:]
    assert "worker 2: ran 2 trial(s) of study wine" in worker_b.stdout

    trials = study.get_trials()
    assert trials[killed].state == FAIL  # not a zombie RUNNING trial
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == killed]
    assert len(retries) == 1
    retry = retries[0]
    assert retry.state == COMPLETE and retry.params == mid.params
    assert retry.user_attrs["worker_id"] == 2
    assert not [t for t in trials if t.state not in (COMPLETE, FAIL)]
    complete = [t.number for t in trials if t.state == COMPLETE]
    assert set(complete_before) < set(complete) and len(complete) == len(complete_before) + 2
    assert counted_trials(study) == len(complete)  # the killed trial does not count

    client = MlflowClient(result.tracking_uri)
    killed_run = client.get_run(mid.user_attrs["mlflow_run_id"])
    assert killed_run.info.status == "KILLED" and killed_run.data.tags["state"] == "failed"
    retry_run = client.get_run(retry.user_attrs["mlflow_run_id"])
    assert retry_run.info.status == "FINISHED"
    assert retry_run.data.tags["mlflow.parentRunId"] == result.mlflow_run_id
    assert retry_run.data.tags["losstune.sampler_seed"] == str(worker_seed(0, 2))
    parent = client.get_run(result.mlflow_run_id).data.tags
    assert parent["losstune.worker.1.sampler_seed"] == str(worker_seed(0, 1))
    assert parent["losstune.worker.2.sampler_seed"] == str(worker_seed(0, 2))


@pytest.fixture
def pg_tracking_url(pg_url):
    """A second fresh database, for an MLflow store beside the Optuna study (both keep an
    ``alembic_version`` table, so they cannot share one)."""

    with fresh_database(f"{pg_url.rsplit('/', 1)[1]}_mlflow") as url:
        yield url


def _with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{password}@{host}"


def test_the_tracking_password_is_never_stored_in_the_study(
    pg_url, pg_tracking_url, tmp_path, monkeypatch, caplog
):
    # trust authentication accepts any password: the point is where it ends up
    secret = "s3cret-Pa55"
    tracking = _with_password(pg_tracking_url, secret)
    dataset = losstune.load_dataset(load_wine())
    with caplog.at_level("WARNING", logger="losstune"):
        result = losstune.search(
            dataset,
            storage=_with_password(pg_url, secret),
            tracking_uri=tracking,
            study_name="secret",
            run_dir=tmp_path,
            **SEARCH,
        )
    assert secret in result.tracking_uri  # this process keeps using the whole URI
    assert secret not in repr(result) and "***" in repr(result)
    console = Console(record=True, width=400)
    print_summary(result, console)
    summary = console.export_text()
    assert secret not in summary and "***@127.0.0.1" in summary
    assert secret not in caplog.text

    def stored(study: optuna.Study) -> str:
        """Every study and trial attribute, user and system, as one text."""
        reader = open_storage(pg_url)
        study_id = reader.get_study_id_from_name(study.study_name)
        attrs = [reader.get_study_user_attrs(study_id), reader.get_study_system_attrs(study_id)]
        reader.engine.dispose()
        trials = [[t.user_attrs, t.system_attrs] for t in study.get_trials()]
        return json.dumps([attrs, trials], default=str)

    study = optuna.load_study(study_name="secret", storage=storage_url(pg_url))
    recorded = study.user_attrs[SPEC_ATTR]["tracking_uri"]
    assert recorded == "postgresql+psycopg2://postgres@" + pg_tracking_url.split("@", 1)[1]
    assert study.user_attrs["mlflow_tracking_uri"] == recorded
    assert secret not in stored(study)

    # a worker takes the password from its environment (libpq reads PGPASSWORD) ...
    monkeypatch.setenv("PGPASSWORD", secret)
    assert join_search("secret", pg_url, dataset, worker_id=1, n_trials=1).trials == 1
    monkeypatch.delenv("PGPASSWORD")
    # ... or is given the whole URI, which replaces the recorded one
    assert join_search("secret", pg_url, dataset, n_trials=1, tracking_uri=tracking).trials == 1
    assert secret not in stored(study)

    client = MlflowClient(result.tracking_uri)
    runs = client.search_runs([client.get_run(result.mlflow_run_id).info.experiment_id])
    assert len(runs) == len(study.get_trials()) + 1  # the parent and one run per trial
    for run in runs:
        assert secret not in json.dumps([run.data.params, run.data.tags])
