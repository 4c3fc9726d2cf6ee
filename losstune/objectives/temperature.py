"""Temperature: logits are divided by tau before any softmax-based loss.

A searched dimension of its own rather than a knob hidden inside one loss: tau < 1 sharpens
the softmax (larger gradients on confident rows), tau > 1 flattens it.
"""

from __future__ import annotations

from torch import Tensor

from losstune.params import Float


def temperature_space() -> Float:
    """Search range of tau (log scale around 1)."""
    return Float(0.25, 4.0, log=True)


def check_temperature(tau: float) -> float:
    """``tau`` as a float, or a ``ValueError`` naming it when it is not a positive number."""
    if isinstance(tau, bool) or not isinstance(tau, int | float) or not tau > 0:
        raise ValueError(f"temperature must be a positive number; got {tau!r}.")
    return float(tau)


def apply_temperature(logits: Tensor, tau: float | Tensor) -> Tensor:
    """``logits / tau``; ``tau`` may be a (vmapped) tensor, and dividing by 1 is exact."""
    return logits / tau
