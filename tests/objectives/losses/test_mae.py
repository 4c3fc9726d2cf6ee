import torch

from losstune.objectives.losses.mae import MeanAbsoluteError


def test_hand_values() -> None:
    got = MeanAbsoluteError()(torch.tensor([1.0, -2.0, 0.5]), torch.tensor([3.0, -2.0, -0.5]))
    torch.testing.assert_close(got, torch.tensor([2.0, 0.0, 1.0]))
