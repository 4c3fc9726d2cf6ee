import logging
import math
import warnings
from contextlib import contextmanager

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from losstune.recipe import Recipe
from losstune.spaces import Fixed, default_space, recipe_to_config
from losstune.spaces.optuna_adapter import distributions, suggest
from losstune.task import Task

optuna.logging.set_verbosity(optuna.logging.WARNING)


def searched(config, space):
    """The part of a config Optuna records: every path that is not Fixed."""
    paths = space.paths()
    return {path: value for path, value in config.items() if not isinstance(paths[path], Fixed)}


def toy_score(config):
    """A cheap stand-in for a validation loss: depends on the branch taken and its values."""
    if config["model"] == "lightgbm":  # no optimizer, no batches: its own learning rate
        lr, batch_size = config["model.lightgbm.learning_rate"] / 100, 128
    else:
        lr, batch_size = config[f"optimizer.{config['optimizer']}.lr"], config["batch_size"]
    score = abs(math.log10(lr) + 3.0) + math.log2(batch_size) / 10
    score += 0.0 if config["loss"] == "focal" else 0.5
    return score + config.get("loss.focal.gamma", 0.0) / 10


def tpe_study(seed=0, **options):
    """The sampler the search uses (``group`` is experimental in Optuna: its warning is
    expected here, at construction, and nowhere else)."""
    options = {"multivariate": True, "group": True, "seed": seed, "n_startup_trials": 10, **options}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", FutureWarning)
        sampler = optuna.samplers.TPESampler(**options)
    return optuna.create_study(sampler=sampler)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextmanager
def optuna_complaints():
    """Every Python warning and every Optuna log warning (the dynamic-space fallback of
    multivariate TPE is logged, not warned) raised inside the block."""
    handler, logger = _Collect(), logging.getLogger("optuna")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield handler.messages
    finally:
        logger.removeHandler(handler)
    handler.messages.extend(str(w.message) for w in caught)


def run(study, space, n_trials):
    configs = []
    for _ in range(n_trials):
        trial = study.ask()
        config = suggest(trial, space)
        study.tell(trial, toy_score(config))
        configs.append(config)
    return configs


@pytest.mark.parametrize("task", [Task.MULTICLASS, Task.REGRESSION])
def test_grouped_multivariate_tpe_runs_clean_over_the_default_space(task):
    space, study = default_space(task), tpe_study()
    with optuna_complaints() as complaints:
        configs = run(study, space, 30)
    assert complaints == []
    for trial, config in zip(study.trials, configs, strict=True):
        assert space.contains(config)
        assert trial.params == searched(config, space)
        assert "epochs" not in trial.params
        assert config.get("epochs") == (30 if config["model"] == "mlp" else None)
        assert ("optimizer" in config) == (config["model"] == "mlp")
    assert len({c["loss"] for c in configs}) > 1
    assert {c["model"] for c in configs} == {"mlp", "lightgbm"}


def test_the_complaint_check_would_see_an_ungrouped_sampler():
    with optuna_complaints() as complaints:
        run(tpe_study(group=False, warn_independent_sampling=True), default_space("binary"), 15)
    assert any("does not support dynamic search space" in c for c in complaints)


def test_the_same_seed_gives_the_same_configs():
    space = default_space("binary")
    first, second = (run(tpe_study(seed=7), space, 10) for _ in range(2))
    assert first == second
    assert first != run(tpe_study(seed=8), space, 10)


def test_an_enqueued_default_recipe_is_trial_zero():
    space, default = default_space("binary"), Recipe.default("binary", "accuracy")
    study = tpe_study()
    study.enqueue_trial(recipe_to_config(default, space))
    with optuna_complaints() as complaints:
        configs = run(study, space, 3)
    assert complaints == []
    assert configs[0] == recipe_to_config(default, space)
    assert study.trials[0].params == searched(configs[0], space)
    assert study.trials[0].params["optimizer.adamw.lr"] == 1e-3


def test_distributions_cover_every_searched_path():
    space = default_space("binary")
    found = distributions(space)
    assert set(found) == {p for p, param in space.paths().items() if not isinstance(param, Fixed)}
    assert found["optimizer.adamw.lr"] == FloatDistribution(1e-4, 1e-2, log=True)
    assert found["model.mlp.width"] == IntDistribution(32, 512, log=True)
    assert found["loss"] == CategoricalDistribution(space["loss"].options)
    trial = optuna.create_study().ask(fixed_distributions=found)
    assert set(trial.params) == set(found)
