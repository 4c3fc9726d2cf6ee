"""Sharpness-Aware Minimization (Foret et al. 2021, "Sharpness-Aware Minimization for
Efficiently Improving Generalization", arXiv:2010.01412).

SAM steps with the gradient taken at the worst nearby point: with ``g`` the gradient at ``w``,
``e = rho * g / ||g||_2`` (one norm over all parameters), the base optimizer steps from ``w``
with the gradient at ``w + e``. It costs two forward/backward passes per step, so ``step``
needs a closure that recomputes the loss and calls ``backward``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, overload

import torch
from torch import Tensor

from losstune._hyper import hyperparameter
from losstune.optim.base import WRAPPERS, OptimizerWrapper
from losstune.params import Float, Param

_TINY = 1e-12  # keeps e finite when the gradient is exactly zero (then e = 0)


class SAMOptimizer(torch.optim.Optimizer):
    """``base`` stepped with SAM's perturbed gradient.

    It shares ``base``'s ``param_groups`` and ``state``, so a learning-rate scheduler built on
    this optimizer drives the base one, and ``state_dict`` is the base optimizer's.

    Example:
        >>> w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
        >>> sam = SAMOptimizer(torch.optim.SGD([w], lr=0.1), rho=0.5)
        >>> def closure():
        ...     sam.zero_grad()
        ...     loss = 0.5 * (w**2).sum()
        ...     loss.backward()
        ...     return loss
        >>> loss = sam.step(closure)  # the gradient is taken at w + 0.5 * w / ||w|| = 1.1 * w
        >>> loss.item(), [round(v, 4) for v in w.tolist()]
        (12.5, [2.67, 3.56])
    """

    def __init__(self, base: torch.optim.Optimizer, rho: float) -> None:
        self.base = base
        self.rho = rho
        super().__init__([dict(g) for g in base.param_groups], base.defaults)
        self._share()

    # Without a closure SAM raises. torch's Optimizer.step types the closure as returning a
    # float; SAM's returns the loss tensor.
    @overload
    def step(self, closure: None = None) -> NoReturn: ...
    @overload
    def step(self, closure: Callable[[], float]) -> float: ...
    @overload
    def step(self, closure: Callable[[], Tensor]) -> Tensor: ...
    @torch.no_grad()
    def step(
        self, closure: Callable[[], float] | Callable[[], Tensor] | None = None
    ) -> float | Tensor:
        """Closure at ``w`` (loss returned) and at ``w + e``, then ``base.step()`` back at ``w``."""
        if closure is None:
            raise RuntimeError(
                "SAM needs a closure: call optimizer.step(closure) where closure() zeroes the "
                "gradients, computes the loss, calls loss.backward() and returns the loss."
            )
        with torch.enable_grad():
            loss = closure()
        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        if params:
            norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
            scale = self.rho / (norm + _TINY)
            perturbations = [p.grad * scale for p in params]
            for p, e in zip(params, perturbations, strict=True):
                p.add_(e)
            self.zero_grad(set_to_none=True)
            with torch.enable_grad():
                closure()
            for p, e in zip(params, perturbations, strict=True):
                p.sub_(e)
        self.base.step()
        return loss

    def state_dict(self) -> dict[str, Any]:
        return self.base.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.base.load_state_dict(state_dict)
        self._share()

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "base": self.base, "rho": self.rho}

    def _share(self) -> None:
        self.param_groups = self.base.param_groups
        self.state = self.base.state


@WRAPPERS.register("sam")
@dataclass(frozen=True)
class SAM(OptimizerWrapper):
    """Wraps an optimizer in :class:`SAMOptimizer` with neighbourhood radius ``rho``.

    ``rho`` lies in ``[1e-4, 5]``: below 1e-4 the ascent step changes nothing measurable and
    SAM only doubles the cost (drop the wrapper instead); published grids stop at 0.5 (2 for
    ASAM's scale-adapted radius), and a radius of 5 already moves the weights of a
    default-width MLP by a sizeable share of their own norm.
    """

    rho: float = hyperparameter(0.05, low=1e-4, high=5.0)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"rho": Float(0.01, 0.5, log=True)}

    def wrap(self, optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
        return SAMOptimizer(optimizer, self.rho)
