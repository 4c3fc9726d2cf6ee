import re

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
    data["epochs"] = 5
    recipe_path.write_text(yaml.safe_dump(data))

    scores = []
    for _ in range(2):
        out = runner.invoke(app, ["train", str(recipe_path), str(wine_csv), "--target", "cultivar"])
        assert out.exit_code == 0, out.output
        scores.append(re.search(r"test accuracy: ([0-9.]+)", out.output).group(1))
    assert scores[0] == scores[1] and float(scores[0]) > 0.5


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
    assert out.exit_code == 2 and "recipe.epochs must be an integer in [1, 10000]; got -3" in (
        out.output
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
    assert recipe.epochs == 4 and recipe.provenance.score.n_seeds == 3
    assert {"mlflow.db", "optuna.db"} <= {p.name for p in (tmp_path / "runs").iterdir()}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--budget", "10m", "--trials", "5"], "not both"),
        (["--budget", "ten minutes"], "Cannot read the duration"),
        (["--trials", "0"], "n_trials must be a whole number >= 1"),
        (["--sampler", "grid"], "Unknown sampler 'grid'"),
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
