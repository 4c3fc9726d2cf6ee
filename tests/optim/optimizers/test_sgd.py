"""SGD: Nesterov needs momentum; the factory's values reach torch."""

from __future__ import annotations

import pytest
import torch

from losstune.optim import make_optimizer_factory


def test_nesterov_without_momentum_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"nesterov=True needs momentum > 0.*nesterov=False"):
        make_optimizer_factory("sgd", {"nesterov": True, "momentum": 0.0})


def test_factory_passes_its_hyperparameters():
    params = {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 1e-4}
    optimizer = make_optimizer_factory("sgd", params).build([torch.nn.Parameter(torch.zeros(2))])
    group = optimizer.param_groups[0]
    assert {key: group[key] for key in params} == params
