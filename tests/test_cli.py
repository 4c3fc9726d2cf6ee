import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_wine
from typer.testing import CliRunner

from losstune.cli import app
from losstune.recipe import Recipe

runner = CliRunner()


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory):
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    path = tmp_path_factory.mktemp("data") / "wine.csv"
    frame.to_csv(path, index=False)
    return path


def test_recipe_then_train_prints_the_same_test_score_twice(wine_csv, tmp_path):
    recipe_path = tmp_path / "recipe.yaml"
    made = runner.invoke(
        app, ["recipe", str(wine_csv), "--target", "cultivar", "--out", str(recipe_path)]
    )
    assert made.exit_code == 0, made.output
    assert "metric: accuracy" in made.output
    data = yaml.safe_load(recipe_path.read_text())
    data["torch"]["epochs"] = 5
    recipe_path.write_text(yaml.safe_dump(data))

    scores = []
    for _ in range(2):
        out = runner.invoke(app, ["train", str(recipe_path), str(wine_csv), "--target", "cultivar"])
        assert out.exit_code == 0, out.output
        scores.append(re.search(r"test accuracy: ([0-9.]+)", out.output).group(1))
    assert scores[0] == scores[1] and float(scores[0]) > 0.5


def test_a_lightgbm_recipe_trains_from_the_command_line(wine_csv, tmp_path):
    recipe_path = tmp_path / "gbm.yaml"
    made = runner.invoke(
        app,
        [
            "recipe",
            str(wine_csv),
            "-t",
            "cultivar",
            "--model",
            "lightgbm",
            "--out",
            str(recipe_path),
        ],
    )
    assert made.exit_code == 0, made.output
    recipe = Recipe.load(recipe_path)
    assert recipe.model.name == "lightgbm" and recipe.torch is None
    args = ["train", str(recipe_path), str(wine_csv), "-t", "cultivar", "--seeds", "2"]
    out = runner.invoke(app, args)
    assert out.exit_code == 0, out.output
    score = re.search(r"test accuracy over 2 seeds \(95% interval\): ([0-9.]+)", out.output)
    assert score and float(score.group(1)) > 0.9, out.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "missing.yaml", "{csv}", "--target", "cultivar"], "No recipe file"),
        (["recipe", "missing.csv", "--target", "cultivar"], "missing.csv"),
        (["recipe", "{csv}", "--target", "cultvar"], "cultivar"),
        (["recipe", "{csv}", "--target", "cultivar", "--task", "ranking"], "ranking"),
        (["recipe", "{csv}", "--target", "cultivar", "--metric", "rmse"], "does not apply"),
        (["recipe", "{csv}"], "--target"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(wine_csv, args, message):
    args = [a.replace("{csv}", str(wine_csv)) for a in args]
    out = runner.invoke(app, args)
    assert out.exit_code == 2
    assert message in out.output


def test_bad_recipe_file_exits_2(wine_csv, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "schema_version: 1\ntask: multiclass\nmetric: accuracy\nloss: focal\nepochs: -3\n"
    )
    out = runner.invoke(app, ["train", str(bad), str(wine_csv), "--target", "cultivar"])
    assert (
        out.exit_code == 2
        and "recipe.torch.epochs must be an integer in [1, 10000]; got -3" in (out.output)
    )


@pytest.mark.slow
def test_search_prints_a_leaderboard_and_writes_the_recipe(wine_csv, tmp_path):
    out = tmp_path / "best.yaml"
    args = [
        "search",
        str(wine_csv),
        "--target",
        "cultivar",
        "--trials",
        "4",
        "--epochs",
        "4",
        "--run-dir",
        str(tmp_path / "runs"),
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "leaderboard" in result.output and "margin" in result.output
    assert "losstune ui --run-dir" in result.output
    recipe = Recipe.load(out)
    assert recipe.provenance.score.n_seeds == 3
    assert recipe.torch.epochs == 4 if recipe.torch else recipe.model.name == "lightgbm"
    assert {"mlflow.db", "optuna.db"} <= {p.name for p in (tmp_path / "runs").iterdir()}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--budget", "10m", "--trials", "5"], "not both"),
        (["--budget", "ten minutes"], "Cannot read the duration"),
        (["--trials", "0"], "--trials must be a whole number >= 1"),
        (["--budget", "10"], "--budget 10 has no unit"),
        (["--pruner", "asha"], "is a Ray Tune scheduler"),
        (["--device", "gpu"], "Unknown device 'gpu'"),
        (["--quiet", "--verbose"], "not both"),
        (["--sampler", "grid"], "Unknown sampler 'grid'"),
        (["--models", "mlp,lightgmb"], "Unknown model family 'lightgmb' for --models"),
        (["--models", "mlp,mlp"], "--models names a family twice"),
        (["--models", ","], "--models needs one or more of mlp, lightgbm"),
        (["--pruner", "medain"], "Did you mean 'median'"),
        (["--strategy", "proxy"], "Unknown strategy 'proxy'"),
        (["--strategy", "transfer", "--trials", "3"], "needs n_trials >= "),
        (["--space", "{tmp}/missing.yaml"], "missing.yaml"),
        (["--space", "{tmp}/bad.yaml"], "Did you mean 'focal'"),
        (["--metric", "rmse"], "does not apply"),
        (["--executor", "spark"], "Unknown executor 'spark'"),
        (["--executor", "ray", "--grace-period", "0"], "grace_period must be a whole number"),
        (["--executor", "ray", "--max-failures", "-1"], "max_failures must be a whole number"),
        (["--executor", "workers"], "executor 'workers' shares the study"),
        (["--n-workers", "2"], "n_workers only apply to executor 'workers'"),
        (["--proxy-widths", "a,b", "--strategy", "transfer"], "comma-separated numbers"),
        (["--proxy-fractions", "0.5,1.5", "--strategy", "transfer"], "fractions must be"),
        (["--confirm-share", "0.2"], "apply to --strategy transfer"),
    ],
)
def test_bad_search_arguments_exit_2(wine_csv, tmp_path, extra, message):
    (tmp_path / "bad.yaml").write_text("loss: [cross_entropy, focl]\n")
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    args = ["search", str(wine_csv), "--target", "cultivar", "--run-dir", str(tmp_path), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_search_passes_every_option_on(wine_csv, tmp_path, monkeypatch):
    import losstune.search
    from losstune.search import TransferPlan

    seen = {}

    def fake_search(dataset, **options):
        seen.update(options)
        raise ValueError("stopped before training")

    monkeypatch.setattr(losstune.search, "search", fake_search)
    options = [
        "--executor", "ray", "--ray-address", "auto", "--cpus-per-trial", "2",
        "--gpus-per-trial", "0.5", "--max-concurrent-trials", "3", "--grace-period", "4",
        "--max-failures", "1", "--strategy", "transfer", "--proxy-widths", "16,32",
        "--proxy-fractions", "0.3", "--confirm-share", "0.2", "--max-lr-factor", "3",
        "--lr-width-exponent", "fit", "--trials", "12",
    ]  # fmt: skip
    args = ["search", str(wine_csv), "--target", "cultivar", "--run-dir", str(tmp_path)]
    result = runner.invoke(app, [*args, *options])
    assert result.exit_code == 2 and "stopped before training" in result.output
    assert {k: seen[k] for k in ("executor", "ray_address", "cpus_per_trial")} == {
        "executor": "ray",
        "ray_address": "auto",
        "cpus_per_trial": 2.0,
    }
    assert (seen["gpus_per_trial"], seen["max_concurrent_trials"]) == (0.5, 3)
    assert (seen["grace_period"], seen["max_failures"], seen["n_trials"]) == (4, 1, 12)
    assert seen["transfer_plan"] == TransferPlan(
        widths=(16, 32), fractions=(0.3,), confirm_share=0.2, max_lr_factor=3.0, alpha=None
    )
    assert seen["strategy"] == "transfer"


def test_ui_refuses_a_folder_without_a_store(tmp_path):
    result = runner.invoke(app, ["ui", "--run-dir", str(tmp_path / "nothing")])
    assert result.exit_code == 2 and "losstune search" in result.output


def test_worker_passes_the_tracking_uri_and_heartbeats_on(monkeypatch):
    import losstune.search.worker as worker
    from losstune.search.storage import Heartbeats

    seen = {}

    def fake_join(study, storage, data, **options):
        seen.update(options, study=study, storage=storage)
        return worker.WorkerRun(options["worker_id"], 7, 0)

    monkeypatch.setattr(worker, "join_search", fake_join)
    tracking = "postgresql://me:s3cret@db/mlflow"
    args = ["worker", "--study", "s", "--storage", "postgresql://me@db/optuna", "--worker-id"]
    args += ["2", "--tracking-uri", tracking, "--heartbeat-interval", "5", "--grace-period", "60"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen["tracking_uri"] == tracking
    assert seen["heartbeats"] == Heartbeats(interval=5, grace_period=60)
    assert "worker 2: ran 0 trial(s) of study s" in result.output

    bad = runner.invoke(app, [*args[:7], "--heartbeat-interval", "0"])
    assert bad.exit_code == 2 and "heartbeat_interval must be a whole number" in bad.output


# -- issue 14: the command line ------------------------------------------------------------------


def test_the_light_choices_are_the_registries_names():
    """cli_choices lists names without importing the registries; it must not drift."""
    from losstune import cli_choices as choices
    from losstune.metrics import METRICS
    from losstune.models import MODELS
    from losstune.search import BACKENDS, EXECUTORS, PRUNERS, SAMPLERS, STRATEGIES
    from losstune.search.executors.ray.schedulers import RAY_SCHEDULERS
    from losstune.task import Task

    assert sorted(choices.SAMPLERS.names) == SAMPLERS.names()
    assert sorted(choices.OPTUNA_PRUNERS) == PRUNERS.names()
    assert sorted(choices.RAY_SCHEDULERS) == RAY_SCHEDULERS.names()
    assert set(choices.PRUNERS.names) == {"auto", *PRUNERS.names(), *RAY_SCHEDULERS.names()}
    assert sorted(choices.STRATEGIES.names) == STRATEGIES.names()
    assert sorted(choices.EXECUTORS.names) == EXECUTORS.names()
    assert choices.BACKENDS.names == tuple(BACKENDS)
    assert sorted(choices.METRICS.names) == METRICS.names()
    assert set(choices.TASKS.names) == {t.value for t in Task}
    assert sorted(choices.MODELS.names) == MODELS.names()


def test_help_lists_the_choices_in_panels():
    out = runner.invoke(app, ["search", "--help"], env={"COLUMNS": "200"})
    assert out.exit_code == 0
    for listed in ("[tpe|random]", "[auto|median|curve|none|asha]", "[direct|transfer]"):
        assert listed in out.output
    assert "[sequential|batched|ray|workers]" in out.output and "[optuna|ray]" in out.output
    assert "[auto|cpu|cuda|cuda:N]" in out.output and "[binary|multiclass|regression]" in (
        out.output
    )
    assert "Ray options" in out.output and "Transfer options" in out.output
    assert "A bare number is refused" in out.output
    assert "--install-completion" in runner.invoke(app, ["--help"]).output


def test_version():
    from losstune import __version__

    out = runner.invoke(app, ["--version"])
    assert out.exit_code == 0 and out.output.strip() == f"losstune {__version__}"


_IMPORTS = """
import json, sys
from typer.testing import CliRunner
from losstune.cli import app
out = CliRunner().invoke(app, sys.argv[1:])
heavy = ("torch", "sklearn", "optuna", "mlflow", "ray", "pandas", "numpy")
print(json.dumps({"code": out.exit_code, "stderr": out.stderr,
                  "heavy": [m for m in heavy if m in sys.modules]}))
"""


@pytest.mark.parametrize(
    "extra",
    [
        ["--sampler", "nope"],
        ["--models", "xgboost"],
        ["--pruner", "medain"],
        ["--metric", "acc"],
        ["--executor", "spark"],
        ["--budget", "10"],
        ["--device", "gpu"],
        ["--task", "ranking"],
        ["--out", "{existing}"],
    ],
)
def test_a_bad_flag_answers_before_any_heavy_import(tmp_path, extra):
    existing = tmp_path / "recipe.yaml"
    existing.write_text("x")
    args = ["search", "x.csv", "-t", "y", *(e.replace("{existing}", str(existing)) for e in extra)]
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTS, *args], capture_output=True, text=True, timeout=60
    )
    report = json.loads(done.stdout)
    assert report["code"] == 2 and report["stderr"].startswith("Error: "), report
    assert report["heavy"] == [], report


def test_budget_takes_a_duration_with_its_unit_and_nothing_else():
    from losstune.cli_choices import ChoiceError, budget_seconds
    from losstune.search.budget import parse_duration

    for text in ("90s", "10m", "1.5h", " 2 min ", "3hr", "45sec", "10M"):
        assert budget_seconds(text) == parse_duration(text)
    for text, message in [
        ("10", "--trials 10"),
        ("1.5", "no unit"),
        ("ten", "Cannot read"),
        ("0m", "positive"),
        ("-3m", "Cannot read"),
    ]:
        with pytest.raises(ChoiceError, match=message):
            budget_seconds(text)


def _fake_result(tmp_path, *, default_failed=False):
    """A finished search's Result, without a search: a 14-trial leaderboard whose default
    trial (13) is not among the best 10, test scores near 1 and paths with passwords."""
    from losstune.recipe import Recipe, Score
    from losstune.search import Result

    recipe = Recipe.default("multiclass", "accuracy")
    rows = []
    for number in range(14):
        rows.append(
            {
                "trial": number,
                "state": "complete",
                "value": 0.99 - number * 0.01234567,
                "loss": "symmetric_ce" if number % 2 else "cross_entropy",
                "temperature": 1.23456,
                "weighting": "inverse_frequency",
                "optimizer": "adamw",
                "lr": 0.000123456,
                "wrapper": None,
                "schedule": "warmup_stable_decay",
                "batch_size": 128.0,
                "epochs": 30,
                "default": number == 13,
            }
        )
    return Result(
        recipe=recipe,
        score=Score("accuracy", 0.987654321, 0.95, 1.0, 3),
        default_score=Score("accuracy", 0.9, 0.85, 0.95, 3),
        margin=float("nan") if default_failed else 0.087654321,
        importances={},
        final=pd.DataFrame(),
        study_name="wine-study",
        storage=f"sqlite:///{tmp_path}/optuna.db",
        tracking_uri="postgresql://me:s3cret@db/mlflow",
        mlflow_run_id="abc123",
        run_dir=tmp_path,
        model_uri="models:/m-42",
        default_failure="it diverged" if default_failed else None,
        _leaderboard=pd.DataFrame(rows),
    )


@pytest.fixture
def fake_search(monkeypatch, tmp_path):
    """``losstune.search.search`` replaced by one that records its options and returns
    :func:`_fake_result`."""
    import losstune.search

    seen: dict = {}

    def search(dataset, **options):
        seen.update(options)
        return _fake_result(tmp_path)

    monkeypatch.setattr(losstune.search, "search", search)
    return seen


def test_search_output_outside_a_terminal_is_whole_and_ends_with_the_verdict(
    wine_csv, tmp_path, fake_search
):
    out = tmp_path / "recipe.yaml"
    args = ["search", str(wine_csv), "-t", "cultivar", "--out", str(out), "--budget", "10m"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (fake_search["timeout"], fake_search["n_trials"]) == (600.0, None)
    assert fake_search["show_progress"] is True
    lines = [line.rstrip() for line in result.stdout.splitlines() if line.strip()]
    assert lines[-1].startswith("accuracy on the test split (3 seeds, 95% interval): recipe ")
    assert lines[-1].endswith("margin +0.0877") and "[0.9500, 1.0000]" in lines[-1]
    assert "schema_version" not in result.output  # the recipe is in its file
    assert Path(out).read_text() == _fake_result(tmp_path).recipe.to_yaml()
    header = next(line for line in lines if "trial" in line and "schedule" in line)
    assert "batch_size" in header  # the whole header on one line, not cut at 80 columns
    rows = [line for line in lines if "warmup_stable_decay" in line]
    assert len(rows) == 11 and max(map(len, rows)) > 80
    assert re.search(r"\b13\*", rows[-1]), rows[-1]  # the default, shown below the best 10
    assert "0.99" in rows[0] and "0.000123" in rows[0] and " 128 " in rows[0]
    assert "0.0001234" not in result.output and "128.0" not in result.output
    assert "s3cret" not in result.output and "me:***@db" in result.output


def test_search_json_prints_one_object_and_nothing_else_on_stdout(wine_csv, tmp_path, fake_search):
    out = tmp_path / "r.yaml"
    args = ["search", str(wine_csv), "-t", "cultivar", "--out", str(out), "--json", "--quiet"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == {
        "recipe": str(out),
        "metric": "accuracy",
        "score": {"mean": 0.987654321, "low": 0.95, "high": 1.0, "n_seeds": 3},
        "default_score": {"mean": 0.9, "low": 0.85, "high": 0.95, "n_seeds": 3},
        "margin": 0.087654321,
        "default_failure": None,
        "study": "wine-study",
        "storage": f"sqlite:///{tmp_path}/optuna.db",
        "run_id": "abc123",
        "tracking_uri": "postgresql://me:***@db/mlflow",
        "model_uri": "models:/m-42",
    }
    assert "margin" in result.stderr and "data: 178 rows" in result.stderr
    assert fake_search["show_progress"] is False  # --quiet


def test_a_failed_default_gives_no_margin_in_json_and_in_the_verdict(wine_csv, tmp_path):
    from losstune.cli import _json_summary
    from losstune.search.summary import verdict

    result = _fake_result(tmp_path, default_failed=True)
    assert _json_summary(result, Path("r.yaml"))["margin"] is None
    assert "no margin" in verdict(result)


@pytest.mark.parametrize("command", ["search", "recipe"])
def test_an_existing_out_is_kept_unless_force(wine_csv, tmp_path, command, fake_search):
    out = tmp_path / "recipe.yaml"
    out.write_text("mine")
    args = [command, str(wine_csv), "-t", "cultivar", "--out", str(out)]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2 and "exists; pass --force" in refused.stderr
    assert out.read_text() == "mine" and not fake_search
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "schema_version: 2" in out.read_text()


def test_verbose_logs_info_and_quiet_hides_warnings(wine_csv, tmp_path, monkeypatch):
    import logging

    import losstune.search

    def search(dataset, **options):
        logging.getLogger("losstune").info("an info line")
        logging.getLogger("losstune").warning("a warning line")
        raise ValueError("stopped")

    monkeypatch.setattr(losstune.search, "search", search)
    args = ["search", str(wine_csv), "-t", "cultivar", "--out", str(tmp_path / "r.yaml")]
    verbose = runner.invoke(app, [*args, "--verbose"])
    assert "info: an info line" in verbose.stderr and "a warning line" in verbose.stderr
    quiet = runner.invoke(app, [*args, "--quiet"])
    assert "an info line" not in quiet.stderr and "a warning line" not in quiet.stderr
    assert quiet.stderr.strip() == "Error: stopped"
    assert logging.getLogger("losstune").level == logging.NOTSET  # restored
    assert not logging.getLogger("losstune").handlers


@pytest.mark.parametrize(
    ("metric", "values", "low", "high"),
    [
        ("accuracy", [1.0, 0.92, 1.0], None, 1.0),
        ("roc_auc", [0.01, 0.2, 0.0], 0.0, None),
        ("log_loss", [0.01, 0.5, 0.02], 0.0, None),
        ("r2", [1.0, 0.7, 0.99], None, 1.0),
    ],
)
def test_the_interval_stays_in_the_metric_range(metric, values, low, high):
    from losstune.search.evaluation import mean_interval, score_over_seeds

    mean, raw_low, raw_high = mean_interval(values)
    score = score_over_seeds(metric, values)
    assert score.mean == pytest.approx(mean) and score.n_seeds == 3
    if high is not None:
        assert raw_high > high and score.high == high and score.low == pytest.approx(raw_low)
    if low is not None:
        assert raw_low < low and score.low == low and score.high == pytest.approx(raw_high)


def test_rmse_is_clipped_at_zero_and_nan_stays_nan():
    import math

    from losstune.metrics import METRICS

    assert METRICS.get("rmse").clip(-0.5) == 0.0 and METRICS.get("rmse").clip(1e9) == 1e9
    assert math.isnan(METRICS.get("accuracy").clip(float("nan")))


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_recipe_file_gets_the_users_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = Recipe.default("binary", "accuracy").save(tmp_path / "r.yaml")
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == mode


def test_a_replaced_recipe_file_keeps_its_mode(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("old")
    path.chmod(0o640)
    Recipe.default("binary", "accuracy").save(path)
    assert path.stat().st_mode & 0o777 == 0o640 and "schema_version" in path.read_text()


@pytest.fixture(scope="module")
def wine_split(tmp_path_factory):
    """Wine as a data file (140 rows) and a test file (the other 38), and a 3-epoch recipe."""
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    frame = frame.sample(frac=1.0, random_state=0)
    folder = tmp_path_factory.mktemp("split")
    frame.iloc[:140].to_csv(folder / "wine_train.csv", index=False)
    frame.iloc[140:].to_csv(folder / "wine_test.csv", index=False)
    Recipe.default("multiclass", "accuracy").replace(epochs=3).save(folder / "recipe.yaml")
    return folder


def test_train_scores_on_a_test_file_over_several_seeds(wine_split):
    folder = wine_split
    args = ["train", str(folder / "recipe.yaml"), str(folder / "wine_train.csv"), "-t"]
    args += ["cultivar", "--test", str(folder / "wine_test.csv"), "--device", "cpu"]
    out = runner.invoke(app, [*args, "--seeds", "3"])
    assert out.exit_code == 0, out.output
    assert "test: wine_test.csv (38 rows)" in out.output
    last = out.stdout.strip().splitlines()[-1]
    found = re.fullmatch(
        r"test accuracy over 3 seeds \(95% interval\): ([0-9.]+) \[([0-9.]+), ([0-9.]+)\]",
        last,
    )
    assert found, last
    mean, low, high = map(float, found.groups())
    assert 0 <= low <= mean <= high <= 1
    per_seed = [
        float(line.split()[-2].strip("│┃|"))
        for line in out.stdout.splitlines()
        if re.match(r"^\W*[012] ", line)
    ]
    assert len(per_seed) == 3 and mean == pytest.approx(sum(per_seed) / 3, abs=1e-4)

    one = runner.invoke(app, args)
    assert one.exit_code == 0, one.output
    # seed 0 scored on the same 38 rows: the first seed's score of the three
    assert re.search(r"test accuracy: ([0-9.]+)", one.output).group(1) in out.output


def test_train_refuses_a_test_file_with_an_unseen_class(wine_split, tmp_path):
    frame = pd.read_csv(wine_split / "wine_test.csv")
    frame.loc[0, "cultivar"] = 7
    frame.to_csv(tmp_path / "odd.csv", index=False)
    args = ["train", str(wine_split / "recipe.yaml"), str(wine_split / "wine_train.csv"), "-t"]
    out = runner.invoke(app, [*args, "cultivar", "--test", str(tmp_path / "odd.csv")])
    assert out.exit_code == 2 and "holds class(es) 7 of 'cultivar'" in out.stderr
