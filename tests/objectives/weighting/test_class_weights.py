import pytest
import torch

from losstune.objectives.weighting.class_weights import (
    check_class_counts,
    normalise,
    row_weights,
)


def test_counts_are_checked_with_a_fix_in_the_message() -> None:
    with pytest.raises(ValueError, match=r"class_counts=None.*bincount"):
        check_class_counts(None, "scheme")
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        check_class_counts(torch.ones(2, 2), "scheme")
    with pytest.raises(ValueError, match=r"class\(es\) \[0, 2\] have \[0.0, -1.0\]"):
        check_class_counts(torch.tensor([0, 4, -1]), "scheme")
    counts = check_class_counts([3, 5], "scheme")
    assert counts.dtype == torch.float64 and counts.tolist() == [3.0, 5.0]


def test_normalise_keeps_the_total_weight_of_the_training_set() -> None:
    counts = torch.tensor([60.0, 30.0, 10.0], dtype=torch.float64)
    weights = normalise(torch.tensor([1.0, 4.0, 2.0], dtype=torch.float64), counts)
    assert torch.sum(counts * weights).item() == pytest.approx(100.0)
    torch.testing.assert_close(
        weights / weights[0], torch.tensor([1.0, 4.0, 2.0], dtype=torch.float64)
    )


def test_row_weights_look_up_each_rows_class() -> None:
    per_class = torch.tensor([0.5, 2.0], dtype=torch.float64)
    like = torch.zeros(3, dtype=torch.float32)
    got = row_weights(per_class, torch.tensor([1, 0, 1]), like)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, torch.tensor([2.0, 0.5, 2.0]))
