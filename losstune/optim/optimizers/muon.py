"""Muon for weight matrices, AdamW for the rest (Jordan et al. 2024, "Muon: An optimizer for
hidden layers in neural networks", kellerjordan.github.io/posts/muon; learning-rate matching
from Liu et al. 2025, "Muon is Scalable for LLM Training", arXiv:2502.16982).

Muon orthogonalises each 2-D weight matrix's momentum with a Newton-Schulz iteration and is
defined for matrices only, so biases and other non-matrix parameters go to AdamW.
``adjust_lr_fn="match_rms_adamw"`` scales Muon's step to AdamW's update RMS, so one ``lr`` and
one ``weight_decay`` serve both halves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, overload

import torch
from torch import Tensor
from torch.optim.optimizer import ParamsT

from losstune._hyper import hyperparameter
from losstune.optim.base import OPTIMIZERS, OptimizerFactory, adam_eps, learning_rate, weight_decay
from losstune.params import Float, Param

_INNER = {"muon": torch.optim.Muon, "adamw": torch.optim.AdamW}


class MuonWithAdamW(torch.optim.Optimizer):
    """2-D parameters stepped by ``torch.optim.Muon``, every other parameter by AdamW.

    ``param_groups`` are the inner optimizers' own group dicts and ``state`` is one dict both
    inner optimizers write to (their parameters are disjoint), so learning-rate schedulers,
    ``zero_grad`` and ``state_dict``/``load_state_dict`` see one ordinary optimizer.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        self._settings: dict[str, dict[str, Any]] = {
            "muon": {
                "lr": lr,
                "weight_decay": weight_decay,
                "momentum": momentum,
                "nesterov": nesterov,
                "adjust_lr_fn": "match_rms_adamw",
            },
            "adamw": {"lr": lr, "weight_decay": weight_decay, "betas": betas, "eps": eps},
        }
        self._inner: dict[str, torch.optim.Optimizer] = {}
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})

    @property
    def inner(self) -> dict[str, torch.optim.Optimizer]:
        """The inner optimizers by kind (``"muon"``, ``"adamw"``); a kind without parameters is
        absent."""
        return dict(self._inner)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Split the group: its matrices join Muon, the other parameters AdamW."""
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        options = {key: value for key, value in param_group.items() if key != "params"}
        split = {
            "muon": [p for p in params if p.ndim == 2],
            "adamw": [p for p in params if p.ndim != 2],
        }
        for kind, members in split.items():
            if not members:
                continue
            group = {**options, "params": members}
            if kind in self._inner:
                self._inner[kind].add_param_group(group)
            else:
                self._inner[kind] = _INNER[kind]([group], **self._settings[kind])
        self._share()

    # torch's Optimizer.step types the closure as returning a float; ours return the loss tensor.
    @overload
    def step(self, closure: None = None) -> None: ...
    @overload
    def step(self, closure: Callable[[], float]) -> float: ...
    @overload
    def step(self, closure: Callable[[], Tensor]) -> Tensor: ...
    def step(
        self, closure: Callable[[], float] | Callable[[], Tensor] | None = None
    ) -> float | Tensor | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for optimizer in self._inner.values():
            optimizer.step()
        return loss

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        groups = iter(self.param_groups)  # torch rebuilt the group dicts: hand them back
        for optimizer in self._inner.values():
            optimizer.param_groups = [next(groups) for _ in optimizer.param_groups]
        self._share()

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_inner": self._inner, "_settings": self._settings}

    def _share(self) -> None:
        self.param_groups = [g for opt in self._inner.values() for g in opt.param_groups]
        for optimizer in self._inner.values():
            optimizer.state = self.state


@OPTIMIZERS.register("muon")
@dataclass(frozen=True)
class MuonFactory(OptimizerFactory):
    """:class:`MuonWithAdamW`; ``momentum``/``nesterov`` are Muon's, ``beta1``/``beta2``/``eps``
    AdamW's. Defaults follow torch's Muon (lr 1e-3, weight decay 0.1, momentum 0.95).

    Under μP it follows ``losstune.scaling.mup.muon_rule`` (matrices take orthogonalised steps
    of a set spectral norm; the AdamW half is left alone, as ``mup.MuAdam`` leaves vectors)."""

    update_rule: ClassVar[str] = "muon"

    lr: float = learning_rate(1e-3)
    weight_decay: float = weight_decay(0.1)
    momentum: float = hyperparameter(0.95, low=0.0, high=1.0, high_open=True)
    nesterov: bool = hyperparameter(True, kind=bool)
    beta1: float = hyperparameter(0.9, low=0.0, high=1.0, high_open=True)
    beta2: float = hyperparameter(0.999, low=0.0, high=1.0, high_open=True)
    eps: float = adam_eps(1e-8)

    @classmethod
    def space(cls) -> dict[str, Param]:
        return {"lr": Float(1e-4, 3e-2, log=True), "weight_decay": Float(1e-4, 0.3, log=True)}

    def build(self, params: ParamsT) -> torch.optim.Optimizer:
        return MuonWithAdamW(
            params,
            lr=self.lr,
            weight_decay=self.weight_decay,
            momentum=self.momentum,
            nesterov=self.nesterov,
            betas=(self.beta1, self.beta2),
            eps=self.eps,
        )
