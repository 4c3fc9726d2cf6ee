"""Temperature: logits are divided by tau before any softmax-based loss.

A searched dimension of its own rather than a knob hidden inside one loss: tau < 1 sharpens
the softmax (larger gradients on confident rows), tau > 1 flattens it.
"""

from __future__ import annotations

from torch import Tensor

from losstune._hyper import Domain
from losstune.params import Float

TEMPERATURE_DOMAIN = Domain(float, low=0.01, high=100.0)
"""Valid values of tau. CLIP clamps its learned temperature at 1/100, the sharpest any
softmax model is trained at; at tau = 100 logits of O(10) move the softmax by under 10%, so
beyond either bound the loss is an argmax or a constant (and a typo such as 1e30)."""


def temperature_space() -> Float:
    """Search range of tau (log scale around 1)."""
    return Float(0.25, 4.0, log=True)


def check_temperature(tau: float) -> float:
    """``tau`` as a float, or a ``ValueError`` naming it when it lies outside
    :data:`TEMPERATURE_DOMAIN`."""
    if not TEMPERATURE_DOMAIN.contains(tau):
        raise ValueError(f"temperature must be {TEMPERATURE_DOMAIN.describe()}; got {tau!r}.")
    return float(tau)


def apply_temperature(logits: Tensor, tau: float | Tensor) -> Tensor:
    """``logits / tau``; ``tau`` may be a (vmapped) tensor, and dividing by 1 is exact."""
    return logits / tau
