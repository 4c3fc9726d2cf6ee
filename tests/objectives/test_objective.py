import pytest
import torch
import torch.nn.functional as F

from losstune.objectives import Objective, make_loss, make_weighting

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.3, -2.0], [-1.0, 4.0, 1.0]], dtype=torch.float64)
TARGET = torch.tensor([0, 2, 1])


def test_temperature_divides_the_logits() -> None:
    objective = Objective(make_loss("cross_entropy"), make_weighting("none"), temperature=2.0)
    torch.testing.assert_close(objective(LOGITS, TARGET), F.cross_entropy(LOGITS / 2, TARGET))
    x, y = torch.tensor([3.0, -1.0], dtype=torch.float64), torch.tensor([1, 1])
    expected = F.binary_cross_entropy_with_logits(x / 2, y.double())
    torch.testing.assert_close(objective(x, y), expected)


def test_regression_loss_refuses_a_temperature() -> None:
    with pytest.raises(ValueError, match="temperature 2.0.*'mse'.*set temperature to 1"):
        Objective(make_loss("mse"), make_weighting("none"), temperature=2.0)


def test_class_weights_match_torch_weighted_cross_entropy() -> None:
    counts = torch.tensor([60, 30, 10])
    objective = Objective(
        make_loss("cross_entropy"), make_weighting("inverse_frequency"), class_counts=counts
    )
    weight = 100 / (3 * counts.double())
    torch.testing.assert_close(
        objective(LOGITS, TARGET), F.cross_entropy(LOGITS, TARGET, weight=weight)
    )


def test_objective_prepares_the_loss_with_its_class_counts() -> None:
    counts = torch.tensor([60, 30, 10])
    objective = Objective(make_loss("logit_adjusted"), make_weighting("none"), class_counts=counts)
    expected = make_loss("logit_adjusted").prepare(counts)(LOGITS, TARGET).mean()
    torch.testing.assert_close(objective(LOGITS, TARGET), expected)
