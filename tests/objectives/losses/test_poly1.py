import math

import pytest
import torch
import torch.nn.functional as F

from losstune.objectives.losses.poly1 import Poly1

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.3, -2.0], [-1.0, 4.0, 1.0]], dtype=torch.float64)
TARGET = torch.tensor([0, 2, 1])


def test_eps_zero_is_cross_entropy() -> None:
    expected = F.cross_entropy(LOGITS, TARGET, reduction="none")
    torch.testing.assert_close(Poly1(eps=0.0)(LOGITS, TARGET), expected)


def test_hand_value() -> None:
    p = math.e / (math.e + 1)  # softmax([1, 0])[0]
    got = Poly1(eps=2.0)(torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.tensor([0]))
    assert got.item() == pytest.approx(-math.log(p) + 2.0 * (1 - p))


def test_binary_uses_sigmoid_probability() -> None:
    x = torch.tensor([0.0], dtype=torch.float64)
    assert Poly1(eps=-1.0)(x, torch.tensor([1])).item() == pytest.approx(math.log(2) - 0.5)
