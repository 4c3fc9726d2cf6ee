"""Every member's per-epoch validation metrics in one pass on the device.

Each epoch a batched program scores all its members on the validation rows. One
scikit-learn call per member and metric costs milliseconds on tens of thousands of rows, which
at K = 256 members would rival the training itself. The cheap per-epoch metrics (accuracy, log
loss, RMSE, MAE) are computed here for all members at once, in float64, the way
:func:`losstune.runners.torch.build.score_outputs` computes them through scikit-learn: the same
probabilities (float64 softmax, or sigmoid as two columns), log loss clipped at float64's
epsilon, ties in the arg-max going to the first class. Other metrics go through scikit-learn,
member by member.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from losstune.runners.errors import TrainingDiverged
from losstune.runners.outputs import score_outputs
from losstune.task import Task

DEVICE_METRICS = frozenset({"accuracy", "log_loss", "rmse", "mae"})
_EPS = float(np.finfo(np.float64).eps)
_NOT_FINITE = "The model outputs NaN or infinite values; lower the learning rate."


def member_metrics(
    outputs: Tensor,
    target: np.ndarray,
    task: Task,
    names: Sequence[str],
    *,
    target_mean: float = 0.0,
    target_std: float = 1.0,
) -> list[dict[str, float] | TrainingDiverged]:
    """The metrics ``names`` of each member's raw ``outputs`` (``(K, N)`` or ``(K, N, C)``),
    or the :class:`TrainingDiverged` of a member whose outputs are not all finite."""
    finite = torch.isfinite(outputs.reshape(len(outputs), -1)).all(dim=1).tolist()
    y = torch.as_tensor(np.asarray(target), device=outputs.device)
    on_device = [n for n in names if n in DEVICE_METRICS]
    rest = [n for n in names if n not in DEVICE_METRICS]
    columns = {name: _metric(name, outputs, y, task, target_mean, target_std) for name in on_device}
    values = {name: column.tolist() for name, column in columns.items()}
    results: list[dict[str, float] | TrainingDiverged] = []
    for k, ok in enumerate(finite):
        if not ok:
            results.append(TrainingDiverged(_NOT_FINITE))
            continue
        metrics = {name: float(values[name][k]) for name in on_device}
        if rest:
            member = outputs[k].cpu().numpy()
            metrics.update(
                score_outputs(
                    member, target, task, rest, target_mean=target_mean, target_std=target_std
                )
            )
        results.append({name: metrics[name] for name in names})
    return results


def _metric(
    name: str, outputs: Tensor, y: Tensor, task: Task, target_mean: float, target_std: float
) -> Tensor:
    """One metric for every member, shape ``(K,)``."""
    if task is Task.REGRESSION:
        # float32 predictions, as numpy computes them from float32 outputs
        error = (outputs * target_std + target_mean).double() - y.double()
        if name == "rmse":
            return error.square().mean(dim=1).sqrt()
        return error.abs().mean(dim=1)
    probabilities = _probabilities(outputs, task)
    if name == "accuracy":
        return (probabilities.argmax(dim=2) == y).double().mean(dim=1)
    index = y.long().view(1, -1, 1).expand(len(outputs), -1, 1)
    true_class = probabilities.gather(2, index).squeeze(2)
    return -true_class.clamp(_EPS, 1 - _EPS).log().mean(dim=1)


def _probabilities(outputs: Tensor, task: Task) -> Tensor:
    """``(K, N, C)`` float64 class probabilities, as ``losstune.runners.torch.fitted.probabilities``
    computes them for one member."""
    logits = outputs.double()
    if task is Task.BINARY:
        p1 = torch.sigmoid(logits)
        return torch.stack([1 - p1, p1], dim=2)
    return torch.softmax(logits, dim=2)
