"""The μP coordinate check (the `mup` package's ``coord_check``, for losstune's MLP): how much
the first few optimizer steps change the activations, at several widths.

Under μP the change stays flat as the model widens; under the standard parametrisation the
output's change grows with width, which is why the standard model's best learning rate moves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from losstune.models.mlp import MLP
from losstune.optim import make_optimizer_factory

WIDTHS = (64, 128, 256, 512, 1024, 2048)


def coordinate_changes(
    parametrization: str,
    optimizer: str,
    lr: float,
    widths: Sequence[int] = WIDTHS,
    *,
    steps: int = 4,
    seed: int = 0,
) -> np.ndarray:
    """Per width, ``[mean |Δ last hidden layer|, mean |Δ output|]`` after ``steps`` full-batch
    steps of the registered ``optimizer`` at ``lr`` on one fixed random batch (64 rows, 16
    features, 10 classes, cross-entropy, no weight decay); shape ``(len(widths), 2)``."""
    if steps < 1:
        raise ValueError(f"steps must be >= 1; got {steps}.")
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.randn(64, 16, generator=gen), torch.randint(0, 10, (64,), generator=gen)
    changes = []
    with torch.random.fork_rng():
        for width in widths:
            factory = MLP(width=width, depth=2, dropout=0.0, parametrization=parametrization)
            torch.manual_seed(seed)
            module = factory.build(16, 10)
            opt_factory = make_optimizer_factory(optimizer, {"lr": lr, "weight_decay": 0.0})
            opt = opt_factory.build(factory.parameter_groups(module, opt_factory))
            hidden, head = module[:-1], module[-1]
            with torch.no_grad():
                h0 = hidden(x)
                out0 = head(h0)
            for _ in range(steps):
                opt.zero_grad()
                nn.functional.cross_entropy(module(x), y).backward()
                opt.step()
            with torch.no_grad():
                h = hidden(x)
                changes.append([(h - h0).abs().mean().item(), (head(h) - out0).abs().mean().item()])
    return np.array(changes)
