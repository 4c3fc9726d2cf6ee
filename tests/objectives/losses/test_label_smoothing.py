import pytest
import torch
import torch.nn.functional as F

from losstune.objectives.losses.label_smoothing import LabelSmoothing

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.3, -2.0], [-1.0, 4.0, 1.0]], dtype=torch.float64)
TARGET = torch.tensor([0, 2, 1])


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3, 0.9])
def test_equals_torch_label_smoothing(eps: float) -> None:
    expected = F.cross_entropy(LOGITS, TARGET, reduction="none", label_smoothing=eps)
    torch.testing.assert_close(LabelSmoothing(eps=eps)(LOGITS, TARGET), expected)


def test_binary_hand_value() -> None:
    z, eps = 1.5, 0.2
    log_p1 = torch.nn.functional.logsigmoid(torch.tensor(z, dtype=torch.float64))
    log_p0 = torch.nn.functional.logsigmoid(torch.tensor(-z, dtype=torch.float64))
    expected = -(1 - eps / 2) * log_p1 - (eps / 2) * log_p0
    got = LabelSmoothing(eps=eps)(torch.tensor([z], dtype=torch.float64), torch.tensor([1]))
    torch.testing.assert_close(got, expected.reshape(1))
