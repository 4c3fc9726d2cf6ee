import pytest
import torch
import torch.nn.functional as F

from losstune.objectives.losses.gce import GeneralizedCrossEntropy
from losstune.objectives.losses.mae_probs import MAEProbs

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.3, -2.0], [-1.0, 4.0, 1.0]], dtype=torch.float64)
TARGET = torch.tensor([0, 2, 1])


def test_small_q_tends_to_cross_entropy() -> None:
    expected = F.cross_entropy(LOGITS, TARGET, reduction="none")
    got = GeneralizedCrossEntropy(q=1e-6)(LOGITS, TARGET)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=0)


def test_q_one_is_mae_on_probabilities() -> None:
    torch.testing.assert_close(
        GeneralizedCrossEntropy(q=1.0)(LOGITS, TARGET), MAEProbs()(LOGITS, TARGET)
    )


@pytest.mark.parametrize("q", [0.1, 0.5, 0.7])
def test_matches_its_definition(q: float) -> None:
    p_y = torch.softmax(LOGITS, dim=1)[torch.arange(3), TARGET]
    torch.testing.assert_close(GeneralizedCrossEntropy(q=q)(LOGITS, TARGET), (1 - p_y**q) / q)


def test_binary_hand_value() -> None:
    got = GeneralizedCrossEntropy(q=0.5)(torch.tensor([0.0]), torch.tensor([0]))
    assert got.item() == pytest.approx((1 - 0.5**0.5) / 0.5)
