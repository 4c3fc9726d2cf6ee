import torch

from losstune.objectives.losses.mse import MeanSquaredError


def test_hand_values() -> None:
    got = MeanSquaredError()(torch.tensor([1.0, -2.0, 0.5]), torch.tensor([3.0, -2.0, -0.5]))
    torch.testing.assert_close(got, torch.tensor([4.0, 0.0, 1.0]))
