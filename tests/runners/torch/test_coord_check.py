"""The μP coordinate check of the MLP (:mod:`losstune.runners.torch.coord_check`)."""

import time

import pytest
import torch

from losstune.runners.torch.coord_check import coordinate_changes


def bfloat16_is_emulated() -> bool:
    """Whether this CPU computes bfloat16 matrix products much slower than float32 (no
    AVX-512: measured 57x here). torch's Muon runs its Newton-Schulz steps in bfloat16, so on
    such a CPU its coordinate check (widths up to 2048) takes tens of minutes instead of one."""

    def seconds(x: torch.Tensor) -> float:
        started = time.perf_counter()
        for _ in range(3):
            x @ x
        return time.perf_counter() - started

    square = torch.randn(256, 256)
    seconds(square)
    return seconds(square.bfloat16()) > 10 * seconds(square)


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
    if optimizer == "muon" and bfloat16_is_emulated():
        pytest.skip("Muon's bfloat16 Newton-Schulz steps are emulated on this CPU (no AVX-512)")
    mup = coordinate_changes("mup", optimizer, lr)
    spread = mup.max(axis=0) / mup.min(axis=0)
    assert (spread < 1.5).all(), f"μP max/min over widths (hidden, output): {spread}"
    standard = coordinate_changes("standard", optimizer, lr)
    growth = standard[-1, 1] / standard[0, 1]
    assert growth > 5, f"standard output change, width 2048 over 64: {growth:.1f}"
