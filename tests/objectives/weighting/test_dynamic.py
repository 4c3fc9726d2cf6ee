import pytest
import torch

from losstune.objectives import Objective, make_loss
from losstune.objectives.weighting.dynamic import Dynamic

LOSSES = torch.tensor([0.2, 1.5, 0.7, 3.0, 0.1, 0.9])
TARGET = torch.tensor([0, 1, 1, 0, 1, 0])


def _weights(scheme: Dynamic, losses: torch.Tensor = LOSSES, progress: float = 1.0) -> torch.Tensor:
    return scheme(losses, TARGET[: len(losses)], class_counts=None, progress=progress)


def _by_hand(losses: torch.Tensor, sign: float, temperature: float, w_max: float) -> torch.Tensor:
    z = (losses - losses.mean()) / losses.std(correction=0)
    e = torch.exp(sign * z / temperature)
    return torch.clamp(len(losses) * e / e.sum(), max=w_max)


def test_warm_up_gives_ones() -> None:
    torch.testing.assert_close(_weights(Dynamic(warmup=0.2), progress=0.1), torch.ones(6))


def test_up_hard_gives_the_hardest_row_the_largest_weight() -> None:
    weights = _weights(Dynamic(direction="up_hard", w_max=100.0))
    assert weights.argmax() == LOSSES.argmax() and weights.argmin() == LOSSES.argmin()
    assert weights.sum().item() == pytest.approx(6.0)


def test_down_hard_gives_the_hardest_row_the_smallest_weight() -> None:
    weights = _weights(Dynamic(direction="down_hard", w_max=100.0))
    assert weights.argmin() == LOSSES.argmax() and weights.argmax() == LOSSES.argmin()


def test_weights_are_capped() -> None:
    weights = _weights(Dynamic(temperature=0.1, w_max=2.0))
    assert weights.max().item() == pytest.approx(2.0)


def test_equal_losses_give_equal_weights() -> None:
    torch.testing.assert_close(_weights(Dynamic(), torch.full((6,), 0.4)), torch.ones(6))


@pytest.mark.parametrize(("direction", "sign"), [("up_hard", 1.0), ("down_hard", -1.0)])
def test_matches_the_formula(direction: str, sign: float) -> None:
    scheme = Dynamic(direction=direction, temperature=0.5, w_max=3.0)
    torch.testing.assert_close(_weights(scheme), _by_hand(LOSSES, sign, 0.5, 3.0))


def test_objective_is_the_weighted_mean_of_the_per_sample_losses() -> None:
    logits = torch.tensor([[2.0, -1.0], [0.0, 0.3], [-1.0, 4.0], [1.0, 1.0], [3.0, 0.0]])
    target = torch.tensor([0, 1, 0, 1, 1])
    objective = Objective(make_loss("cross_entropy"), Dynamic(temperature=0.7, w_max=2.5))
    losses = torch.nn.functional.cross_entropy(logits, target, reduction="none")
    w = _by_hand(losses, 1.0, 0.7, 2.5)
    expected = torch.sum(w * losses) / torch.sum(w)
    torch.testing.assert_close(objective(logits, target, progress=0.5), expected)
