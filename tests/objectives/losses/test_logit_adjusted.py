import math

import pytest
import torch
import torch.nn.functional as F

from losstune.objectives.losses.logit_adjusted import LogitAdjusted

LOGITS = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.3, -2.0], [-1.0, 4.0, 1.0]], dtype=torch.float64)
TARGET = torch.tensor([0, 2, 1])
COUNTS = torch.tensor([60, 30, 10])


def _ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, target, reduction="none")


def test_tau_zero_is_cross_entropy() -> None:
    got = LogitAdjusted(tau=0.0).prepare(COUNTS)(LOGITS, TARGET)
    torch.testing.assert_close(got, _ce(LOGITS, TARGET))


def test_uniform_priors_are_cross_entropy() -> None:
    got = LogitAdjusted(tau=1.5).prepare(torch.tensor([7, 7, 7]))(LOGITS, TARGET)
    torch.testing.assert_close(got, _ce(LOGITS, TARGET))


def test_adds_tau_log_prior_to_the_logits() -> None:
    log_prior = torch.log(torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64))
    got = LogitAdjusted(tau=0.5).prepare(COUNTS)(LOGITS, TARGET)
    torch.testing.assert_close(got, _ce(LOGITS + 0.5 * log_prior, TARGET))


def test_binary_hand_value() -> None:
    # priors (0.75, 0.25), tau = 1, z = 0: logits [log .75, log .25], so p_1 = 0.25.
    loss = LogitAdjusted(tau=1.0).prepare(torch.tensor([3, 1]))
    assert loss(torch.tensor([0.0]), torch.tensor([1])).item() == pytest.approx(math.log(4))


def test_priors_are_not_hyperparameters() -> None:
    prepared = LogitAdjusted(tau=1.0).prepare(COUNTS)
    assert prepared.params() == {"tau": 1.0}
    assert prepared == LogitAdjusted(tau=1.0)
    assert "log_prior" not in repr(prepared)


def test_unprepared_loss_raises() -> None:
    with pytest.raises(RuntimeError, match=r"prepare\(class_counts\)"):
        LogitAdjusted()(LOGITS, TARGET)


def test_prepare_needs_counts_for_every_class() -> None:
    with pytest.raises(ValueError, match="class_counts"):
        LogitAdjusted().prepare(None)
    with pytest.raises(ValueError, match=r"class\(es\) \[1\]"):
        LogitAdjusted().prepare(torch.tensor([5, 0, 2]))
    with pytest.raises(ValueError, match="prepared for 2 classes"):
        LogitAdjusted().prepare(torch.tensor([3, 1]))(LOGITS, TARGET)
