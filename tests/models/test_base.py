"""The model-family contract, over every registered family."""

import numpy as np
import pytest
import torch

from losstune.models import (
    MODELS,
    TorchModelFactory,
    log_prior_bias,
    make_model_factory,
    n_outputs,
)
from losstune.runners import RUNNERS, get_runner
from losstune.task import Task


@pytest.mark.parametrize("name", MODELS.names())
def test_every_family_names_a_registered_runner_and_builds_for_every_task(name):
    family = MODELS.get(name)
    assert get_runner(family.runner) is RUNNERS.get(family.runner)
    factory = make_model_factory(name)
    for task in Task:
        assert set(family.space_for(task)) <= set(factory.params())
        if isinstance(factory, TorchModelFactory):  # a torch family builds its module
            assert family.runner == "torch"
            module = factory.build(5, n_outputs(task, 3))
            assert module(torch.zeros(2, 5)).shape == (2, n_outputs(task, 3))
        else:  # another family says how often it reports (its recipes have no epochs)
            assert family.runner != "torch" and factory.max_reports() >= 1


def test_n_outputs_is_one_logit_for_binary_and_regression():
    assert n_outputs(Task.BINARY, 2) == n_outputs(Task.REGRESSION, None) == 1
    assert n_outputs(Task.MULTICLASS, 4) == 4


def test_log_prior_bias_value_before_training():
    counts = torch.tensor([30.0, 70.0])
    assert log_prior_bias(Task.BINARY, counts).item() == pytest.approx(np.log(0.7 / 0.3))
    assert torch.allclose(
        log_prior_bias(Task.MULTICLASS, torch.tensor([1.0, 3.0])),
        torch.log(torch.tensor([0.25, 0.75])),
    )
    with pytest.raises(ValueError, match="use 'zero' for regression"):
        log_prior_bias(Task.REGRESSION, counts)
