import pytest
import torch
import torch.nn.functional as F

from losstune.objectives.base import class_logits
from losstune.objectives.losses.mae_probs import MAEProbs

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.3, -2.0], [-1.0, 4.0, 1.0]], dtype=torch.float64)
TARGET = torch.tensor([0, 2, 1])


@pytest.mark.parametrize(
    ("logits", "target"),
    [
        (LOGITS, TARGET),
        (torch.tensor([-2.0, 0.0, 3.0], dtype=torch.float64), torch.tensor([1, 0, 1])),
    ],
)
def test_is_half_the_l1_distance_to_the_one_hot_target(logits, target) -> None:
    probs = torch.softmax(class_logits(logits), dim=1)
    onehot = F.one_hot(target, probs.shape[1]).to(probs)
    expected = 0.5 * (probs - onehot).abs().sum(dim=1)
    torch.testing.assert_close(MAEProbs()(logits, target), expected)
