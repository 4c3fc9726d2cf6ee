import pytest
import torch

from losstune.objectives.weighting.effective_number import EffectiveNumber

COUNTS = torch.tensor([100, 10])
TARGET = torch.tensor([0, 1])


def _weights(beta: float, counts: torch.Tensor = COUNTS) -> torch.Tensor:
    target = torch.arange(len(counts))
    losses = torch.ones(len(counts), dtype=torch.float64)
    return EffectiveNumber(beta=beta)(losses, target, class_counts=counts, progress=0.0)


def test_beta_zero_gives_equal_weights() -> None:
    torch.testing.assert_close(_weights(0.0), torch.ones(2, dtype=torch.float64))


def test_hand_values_at_beta_0_99() -> None:
    raw = [(1 - 0.99) / (1 - 0.99**n) for n in (100, 10)]  # 0.0157737, 0.1045827
    scale = 110 / (100 * raw[0] + 10 * raw[1])
    expected = torch.tensor([scale * raw[0], scale * raw[1]], dtype=torch.float64)
    torch.testing.assert_close(_weights(0.99), expected)
    assert _weights(0.99).tolist() == pytest.approx([0.661447, 4.385535], abs=1e-6)


def test_beta_near_one_tends_to_inverse_frequency() -> None:
    counts = torch.tensor([60, 30, 10])
    inverse = 100 / (3 * counts.double())
    torch.testing.assert_close(_weights(1 - 1e-9, counts), inverse, rtol=1e-6, atol=0)
