import pytest
import torch

from losstune.objectives.weighting.deferred import Deferred
from losstune.objectives.weighting.effective_number import EffectiveNumber

COUNTS = torch.tensor([80, 15, 5])
TARGET = torch.tensor([0, 1, 2, 0, 2])
LOSSES = torch.rand(5)


@pytest.mark.parametrize("progress", [0.0, 0.3, 0.69])
def test_all_ones_before_start(progress: float) -> None:
    weights = Deferred(start=0.7)(LOSSES, TARGET, class_counts=COUNTS, progress=progress)
    torch.testing.assert_close(weights, torch.ones(5))


@pytest.mark.parametrize("progress", [0.7, 0.9, 1.0])
def test_effective_number_weights_from_start(progress: float) -> None:
    weights = Deferred(start=0.7, beta=0.999)(
        LOSSES, TARGET, class_counts=COUNTS, progress=progress
    )
    expected = EffectiveNumber(beta=0.999)(LOSSES, TARGET, class_counts=COUNTS, progress=progress)
    torch.testing.assert_close(weights, expected)
    assert not torch.allclose(weights, torch.ones(5))
