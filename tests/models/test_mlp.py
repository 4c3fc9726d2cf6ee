"""The MLP family's hyperparameters (its μP behaviour is tested in tests/scaling/test_mup.py)."""

import pytest

from losstune.models.mlp import MLP
from losstune.task import Task


def test_mlp_is_trained_by_the_torch_runner():
    assert MLP.runner == "torch" and "runner" not in MLP().params()


def test_mlp_does_not_search_the_parametrisation_and_checks_its_fields():
    for space in (MLP.space(), *(MLP.space_for(task) for task in Task)):
        assert not {"parametrization", "base_width", "readout_zero_init"} & set(space)
    assert MLP().params()["parametrization"] == "standard" and MLP().base_width == 64
    with pytest.raises(ValueError, match="'parametrization' must be one of"):
        MLP(parametrization="ntk")
    with pytest.raises(ValueError, match="'base_width' must be >= 1"):
        MLP(base_width=0)
    with pytest.raises(ValueError, match="readout_zero_init=True applies to parametrization"):
        MLP(readout_zero_init=True)


def test_mlp_parameter_groups_need_an_lr():
    class NoLr:
        name = "nolr"
        update_rule = "adam"

        def params(self):
            return {"momentum": 0.9}

    factory = MLP(width=128, parametrization="mup")
    with pytest.raises(ValueError, match="optimizer 'nolr' has no 'lr'"):
        factory.parameter_groups(factory.build(4, 2), NoLr())  # type: ignore[arg-type]
