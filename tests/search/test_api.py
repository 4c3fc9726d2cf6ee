"""search()'s keywords sorted into config objects, executor and strategy, before any work."""

import pytest

from losstune.search import RayConfig, TransferPlan
from losstune.search.api import SearchPlan


@pytest.mark.parametrize(
    ("options", "executor", "executor_options"),
    [
        ({}, "sequential", {}),
        ({"batch_trials": 1}, "sequential", {}),  # the CLI's default
        ({"batch_trials": 4}, "batched", {"batch_trials": 4}),
        ({"executor": "batched", "batch_trials": 1}, "batched", {"batch_trials": 1}),
        ({"backend": "ray", "batch_trials": 1}, "ray", {}),
        ({"backend": "ray", "grace_period": 3}, "ray", {"grace_period": 3}),
        ({"executor": "workers", "n_workers": 3}, "workers", {"n_workers": 3}),
    ],
)
def test_keywords_choose_the_executor(options, executor, executor_options):
    plan = SearchPlan(dict(options))
    assert (plan.executor, plan.executor_options) == (executor, executor_options)


def test_keywords_fill_the_configs():
    plan = SearchPlan(
        {"metric": "accuracy", "budget": "2m", "n_trials": 5, "seed": 3, "top_k": 2,
         "run_dir": "runs", "study_name": "s", "strategy": "transfer",
         "transfer_plan": TransferPlan(widths=(16,))}
    )  # fmt: skip
    assert (plan.config.metric, plan.config.seed, plan.config.top_k) == ("accuracy", 3, 2)
    assert (plan.config.budget.n_trials, plan.config.budget.timeout) == (5, 120.0)
    assert plan.run.run_dir.name == "runs" and plan.run.run_dir.is_absolute()
    assert plan.run.study_name == "s"
    assert plan.strategy_options == {"transfer_plan": TransferPlan(widths=(16,))}


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"n_trails": 5}, TypeError, "unknown keyword.*n_trails"),
        ({"backend": "spark"}, ValueError, "Unknown backend 'spark'"),
        ({"executor": "spark"}, ValueError, "Unknown executor 'spark'"),
        ({"backend": "ray", "executor": "batched"}, ValueError, "runs on executor 'ray'"),
        ({"batch_trials": 2, "backend": "ray"}, ValueError, "only apply to executor 'batched'"),
        ({"transfer_plan": TransferPlan()}, ValueError, "only apply to strategy 'transfer'"),
        ({"top_k": 0}, ValueError, "top_k and n_seeds must be >= 1"),
        ({"epochs": 0}, ValueError, "epochs must be a whole number >= 1"),
    ],
)
def test_bad_keywords_are_refused(options, error, message):
    with pytest.raises(error, match=message):
        SearchPlan(dict(options))


@pytest.mark.parametrize(
    ("uri", "server", "here"),
    [
        (None, False, True),
        ("sqlite:///x/mlflow.db", False, True),
        ("file:///x/mlruns", False, True),
        ("postgresql://u@db:5432/mlflow", False, False),
        ("http://mlflow:5000", True, False),
        ("databricks", True, False),
    ],
)
def test_one_rule_for_where_mlflow_tracks(uri, server, here):
    from losstune.search import RunConfig

    run = RunConfig(tracking_uri=uri)
    assert (run.tracking_server, run.tracking_on_this_machine) == (server, here)


def test_executor_configs_check_their_values():
    from losstune.search import EXECUTORS

    assert RayConfig(gpus_per_trial=0.25).gpus_per_trial == 0.25
    with pytest.raises(ValueError, match="fraction of one GPU"):
        RayConfig(gpus_per_trial=1.5)
    with pytest.raises(ValueError, match="batch_trials must be a whole number"):
        EXECUTORS.get("batched").from_options({"batch_trials": "many"})
    with pytest.raises(ValueError, match="n_workers must be a whole number"):
        EXECUTORS.get("workers").from_options({"n_workers": 0})
