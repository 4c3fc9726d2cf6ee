import math

import pytest
import torch
import torch.nn.functional as F

from losstune.objectives.losses.symmetric_ce import SymmetricCrossEntropy

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.3, -2.0], [-1.0, 4.0, 1.0]], dtype=torch.float64)
TARGET = torch.tensor([0, 2, 1])


def test_alpha_one_beta_zero_is_cross_entropy() -> None:
    expected = F.cross_entropy(LOGITS, TARGET, reduction="none")
    torch.testing.assert_close(SymmetricCrossEntropy(alpha=1.0, beta=0.0)(LOGITS, TARGET), expected)


def test_reverse_term_is_the_papers_rce_with_log_zero_minus_four() -> None:
    probs = torch.softmax(LOGITS, dim=1)
    log_label = torch.where(F.one_hot(TARGET, 3).bool(), 0.0, -4.0).to(probs)
    rce = -(probs * log_label).sum(dim=1)
    torch.testing.assert_close(SymmetricCrossEntropy(alpha=0.0, beta=1.0)(LOGITS, TARGET), rce)


def test_hand_value() -> None:
    p = math.e / (math.e + 1)  # softmax([1, 0])[0]
    loss = SymmetricCrossEntropy(alpha=0.1, beta=1.0)
    got = loss(torch.tensor([[1.0, 0.0]], dtype=torch.float64), torch.tensor([0]))
    assert got.item() == pytest.approx(0.1 * -math.log(p) + 4.0 * (1 - p))


def test_alpha_and_beta_cannot_both_be_zero() -> None:
    with pytest.raises(ValueError, match="'alpha' and 'beta'"):
        SymmetricCrossEntropy(alpha=0.0, beta=0.0)
