import pytest
import torch
import torch.nn.functional as F

from losstune.objectives.losses.huber import Huber

PRED = torch.linspace(-6.0, 6.0, 25, dtype=torch.float64)
TARGET = torch.linspace(1.0, -1.0, 25, dtype=torch.float64)


@pytest.mark.parametrize("delta", [0.1, 1.0, 5.0])
def test_equals_torch_huber_loss(delta: float) -> None:
    expected = F.huber_loss(PRED, TARGET, reduction="none", delta=delta)
    torch.testing.assert_close(Huber(delta=delta)(PRED, TARGET), expected)


def test_hand_values() -> None:
    got = Huber(delta=1.0)(torch.tensor([0.5, 3.0]), torch.tensor([0.0, 0.0]))
    torch.testing.assert_close(got, torch.tensor([0.125, 2.5]))
