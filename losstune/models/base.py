"""The model contract: registered model families for tabular features, each with its
hyperparameters and the runner that trains it; :class:`TorchModelFactory` is the kind that
builds a ``torch.nn.Module`` (the MLP)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import Tensor, nn
from torch.optim.optimizer import ParamsT

from losstune._hyper import Hyperparameters
from losstune._registry import Registry
from losstune.params import Param
from losstune.task import Task

if TYPE_CHECKING:
    from losstune.optim.base import OptimizerFactory

MODELS: Registry[type[ModelFactory]] = Registry("model")


class ModelFactory(Hyperparameters, ABC):
    """A model family: its hyperparameters, their search ranges, and its runner.

    ``runner`` names the registered runner that trains the family (``losstune.runners.RUNNERS``);
    a family of the ``"torch"`` runner is a :class:`TorchModelFactory` and its recipes carry
    a torch block (optimizer, schedule, batch size, epochs).
    """

    runner: ClassVar[str]

    @classmethod
    def space_for(cls, task: Task) -> dict[str, Param]:
        """Search ranges for ``task`` (by default :meth:`space`, whatever the task)."""
        return cls.space()

    def max_reports(self) -> int:
        """How many times a run reports at most, for a family that sets it itself (a torch
        family's recipe says it: its epochs)."""
        raise TypeError(
            f"The {self.name!r} model reports once per epoch of its recipe's torch block."
        )


class TorchModelFactory(ModelFactory):
    """Builds a module mapping ``(N, n_features)`` to ``(N, n_outputs)`` outputs."""

    runner: ClassVar[str] = "torch"

    @abstractmethod
    def build(
        self, n_features: int, n_outputs: int, *, output_bias: Tensor | None = None
    ) -> nn.Module:
        """The module; ``output_bias`` (shape ``(n_outputs,)``) initialises the last bias."""

    def parameter_groups(self, module: nn.Module, optimizer: OptimizerFactory) -> ParamsT:
        """What ``optimizer`` is built over for ``module`` (built by this factory): all
        parameters in one group, at the optimizer's own learning rate. A model in μP returns
        per-layer groups with their own learning rates instead."""
        return module.parameters()


def make_model_factory(name: str, params: Mapping[str, Any] | None = None) -> ModelFactory:
    return MODELS.get(name).from_params(params)


def n_outputs(task: Task, n_classes: int | None) -> int:
    """One output for binary (a single logit) and regression, ``K`` logits for multiclass."""
    if task is not Task.MULTICLASS:
        return 1
    if n_classes is None:
        raise ValueError("A multiclass task needs n_classes; got None.")
    return int(n_classes)


def log_prior_bias(task: Task, class_counts: Tensor) -> Tensor:
    """Output bias that makes the untrained model predict the training class prior.

    Binary: ``log(pi_1 / pi_0)`` for the single logit; multiclass: ``log(pi_c)``. A free fix
    for imbalance ("Is Heuristic Sampling Necessary in Training Deep Object Detectors?").
    """
    if task is Task.REGRESSION:
        raise ValueError("bias_init='log_prior' needs class counts; use 'zero' for regression.")
    counts = torch.as_tensor(class_counts, dtype=torch.float64).clamp_min(1.0)
    log_prior = torch.log(counts / counts.sum())
    if task is Task.BINARY:
        return (log_prior[1] - log_prior[0]).reshape(1).float()
    return log_prior.float()
