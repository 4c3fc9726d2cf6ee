import math

import pytest
import torch
import torch.nn.functional as F

from losstune.objectives import make_loss
from losstune.objectives.losses.focal import Focal

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.3, -2.0], [-1.0, 4.0, 1.0]], dtype=torch.float64)
TARGET = torch.tensor([0, 2, 1])
BINARY_X = torch.tensor([-3.0, -0.5, 0.0, 0.7, 2.5, 6.0], dtype=torch.float64)
BINARY_Y = torch.tensor([0, 1, 1, 0, 1, 1])


def sigmoid_focal_reference(x: torch.Tensor, t: torch.Tensor, gamma: float, alpha: float | None):
    """torchvision.ops.sigmoid_focal_loss(reduction="none"), written out."""
    t = t.to(x.dtype)
    p = torch.sigmoid(x)
    p_t = p * t + (1 - p) * (1 - t)
    loss = -((1 - p_t) ** gamma) * torch.log(p_t)
    if alpha is not None:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


def test_gamma_zero_is_cross_entropy() -> None:
    focal = Focal(gamma=0.0)
    torch.testing.assert_close(
        focal(LOGITS, TARGET), F.cross_entropy(LOGITS, TARGET, reduction="none")
    )
    torch.testing.assert_close(
        focal(BINARY_X, BINARY_Y),
        F.binary_cross_entropy_with_logits(BINARY_X, BINARY_Y.double(), reduction="none"),
    )


@pytest.mark.parametrize("alpha", [None, 0.25, 0.5, 0.9])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_binary_focal_equals_sigmoid_focal_loss(gamma: float, alpha: float | None) -> None:
    torch.testing.assert_close(
        Focal(gamma=gamma, alpha=alpha)(BINARY_X, BINARY_Y),
        sigmoid_focal_reference(BINARY_X, BINARY_Y, gamma, alpha),
    )


def test_hand_value_at_zero_logit() -> None:
    x, y = torch.tensor([0.0]), torch.tensor([1])
    assert Focal(gamma=2.0)(x, y).item() == pytest.approx(0.25 * math.log(2))
    assert Focal(gamma=2.0, alpha=0.25)(x, y).item() == pytest.approx(0.0625 * math.log(2))
    assert Focal(gamma=2.0, alpha=0.25)(x, 1 - y).item() == pytest.approx(0.1875 * math.log(2))


def test_multiclass_focal_matches_its_definition() -> None:
    p_t = torch.softmax(LOGITS, dim=1)[torch.arange(3), TARGET]
    expected = -((1 - p_t) ** 1.5) * torch.log(p_t)
    torch.testing.assert_close(Focal(gamma=1.5)(LOGITS, TARGET), expected)


def test_alpha_is_binary_only() -> None:
    with pytest.raises(ValueError, match="binary-only"):
        Focal(alpha=0.25)(LOGITS, TARGET)


def test_alpha_is_optional_and_validated() -> None:
    assert make_loss("focal").params() == {"gamma": 2.0, "alpha": None}
    with pytest.raises(ValueError, match="'alpha'"):
        Focal(alpha=1.5)
