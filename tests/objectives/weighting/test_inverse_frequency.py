import pytest
import torch

from losstune.objectives.weighting.inverse_frequency import InverseFrequency

COUNTS = torch.tensor([60, 30, 10])
TARGET = torch.tensor([0, 1, 2, 2])


def _weights(rho: float) -> torch.Tensor:
    scheme = InverseFrequency(rho=rho)
    return scheme(
        torch.ones(3, dtype=torch.float64),
        torch.tensor([0, 1, 2]),
        class_counts=COUNTS,
        progress=0.0,
    )


def test_rho_one_is_inverse_frequency_with_total_weight_n() -> None:
    weights = _weights(1.0)
    torch.testing.assert_close(
        weights, torch.tensor([100 / 180, 100 / 90, 100 / 30], dtype=torch.float64)
    )
    assert torch.sum(COUNTS * weights).item() == pytest.approx(100.0)


def test_rho_half_is_inverse_square_root() -> None:
    weights = _weights(0.5)
    raw = COUNTS.double() ** -0.5
    torch.testing.assert_close(weights, raw * 100 / torch.sum(COUNTS * raw))


def test_rho_zero_is_no_weighting() -> None:
    torch.testing.assert_close(_weights(0.0), torch.ones(3, dtype=torch.float64))


def test_rows_get_their_class_weight() -> None:
    weights = InverseFrequency()(torch.ones(4), TARGET, class_counts=COUNTS, progress=1.0)
    assert weights.dtype == torch.float32
    torch.testing.assert_close(weights, torch.tensor([100 / 180, 100 / 90, 100 / 30, 100 / 30]))
