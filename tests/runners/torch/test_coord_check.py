"""The μP coordinate check of the MLP (:mod:`losstune.runners.torch.coord_check`)."""

import pytest

from losstune.runners.torch.coord_check import coordinate_changes

COORD_OPTIMIZERS = [
    pytest.param("adamw", 1e-2, id="adamw"),
    pytest.param("sgd", 0.1, id="sgd"),
    pytest.param("adafactor", 1e-2, id="adafactor"),
    pytest.param("muon", 1e-2, id="muon", marks=pytest.mark.slow),
]


@pytest.mark.parametrize(("optimizer", "lr"), COORD_OPTIMIZERS)
def test_coordinate_check(optimizer, lr):
    """Under μP the change the first steps make to the last hidden layer and to the output
    stays flat from width 64 to 2048 (measured max/min <= 1.3); in standard parametrisation
    the output's change grows with width (measured 10-30x)."""
    mup = coordinate_changes("mup", optimizer, lr)
    spread = mup.max(axis=0) / mup.min(axis=0)
    assert (spread < 1.5).all(), f"μP max/min over widths (hidden, output): {spread}"
    standard = coordinate_changes("standard", optimizer, lr)
    growth = standard[-1, 1] / standard[0, 1]
    assert growth > 5, f"standard output change, width 2048 over 64: {growth:.1f}"
