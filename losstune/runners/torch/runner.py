"""Train one recipe with PyTorch on preprocessed tabular data, on CPU or CUDA.

All data lives on the device as tensors and mini-batches are index slices, so a small model
is not starved by a DataLoader. Randomness (initialisation, dropout, shuffling) comes from
the recipe's seed inside a forked RNG: training never touches the caller's global RNG state,
and the same recipe, data and seed give the same score.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from losstune.runners.base import RUNNERS, TrainResult, check_task
from losstune.runners.errors import TrainingDiverged
from losstune.runners.outputs import epoch_metrics, score_outputs
from losstune.runners.reporter import EpochCallback, Reporter, as_callback
from losstune.runners.torch.build import (
    TrainingData,
    build_model,
    build_objective,
    torch_training,
)
from losstune.runners.torch.fitted import FittedModel

if TYPE_CHECKING:
    from losstune.data import Dataset
    from losstune.recipe import Recipe


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; an unavailable CUDA request is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"Unknown device {device!r}; use 'auto', 'cpu' or 'cuda[:N]'.") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available; use 'auto' or 'cpu'.")
    return resolved


def train_torch(
    recipe: Recipe,
    dataset: Dataset,
    *,
    reporter: Reporter | EpochCallback | None = None,
    device: str | torch.device = "auto",
) -> TrainResult:
    """Train ``recipe`` on ``dataset``; report validation metrics after every epoch.

    Raises:
        ValueError: the recipe's task does not match the dataset's.
        TrainingDiverged: the training loss became non-finite.
    """
    check_task(recipe, dataset)
    epochs = torch_training(recipe).epochs
    report = as_callback(reporter)
    dev = resolve_device(device)
    fork_devices = [dev.index or 0] if dev.type == "cuda" else []
    started = time.perf_counter()
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(recipe.seed)
        run = _Run(recipe, dataset, dev)
        for epoch in range(1, epochs + 1):
            train_loss = run.train_epoch(epoch)
            metrics = {"train_loss": train_loss}
            valid = run.evaluate(dataset.X_valid, dataset.y_valid, run.epoch_metrics)
            metrics.update({f"valid_{k}": v for k, v in valid.items()})
            run.history.append({"epoch": float(epoch), **metrics})
            if report is not None:
                report(epoch, metrics)
        valid = run.evaluate(dataset.X_valid, dataset.y_valid)
        test = run.evaluate(dataset.X_test, dataset.y_test)
    return TrainResult(
        model=run.fitted,
        metric=recipe.metric,
        history=run.history,
        valid_metrics=valid,
        test_metrics=test,
        device=str(dev),
        seconds=time.perf_counter() - started,
    )


class TorchRunner:
    """The :class:`~losstune.runners.base.Runner` of the torch families (the MLP)."""

    def train(
        self,
        recipe: Recipe,
        dataset: Dataset,
        *,
        reporter: Reporter | EpochCallback | None = None,
        device: str = "auto",
    ) -> TrainResult:
        return train_torch(recipe, dataset, reporter=reporter, device=device)

    def check_device(self, device: str) -> str:
        """The device ``device`` means here; ValueError when this machine lacks it."""
        return str(resolve_device(device))


RUNNERS.register("torch")(TorchRunner())


class _Run:
    """The state of one training run: tensors on the device, model, objective, optimizer."""

    def __init__(self, recipe: Recipe, dataset: Dataset, device: torch.device) -> None:
        self.recipe = recipe
        training = torch_training(recipe)
        self.task = dataset.task
        self.device = device
        self.history: list[dict[str, float]] = []
        data = TrainingData.of(dataset, device)
        self.x, self.y = data.x, data.y
        self.target_mean, self.target_std = data.target_mean, data.target_std
        factory = recipe.build("model")
        self.module = build_model(recipe, dataset, data.class_counts).to(device)
        self.objective = build_objective(recipe, data.class_counts)
        optimizer_factory = recipe.build("optimizer")
        # one group in standard parametrisation; per-layer learning rates under μP
        optimizer = optimizer_factory.build(
            factory.parameter_groups(self.module, optimizer_factory)
        )
        self.optimizer_name = f"{training.optimizer.name} {dict(training.optimizer.params)}"
        self.needs_closure = training.wrapper is not None
        if training.wrapper is not None:
            optimizer = recipe.build("wrapper").wrap(optimizer)
        self.optimizer = optimizer
        self.batch_size = min(training.batch_size, len(self.x))
        self.steps_per_epoch = math.ceil(len(self.x) / self.batch_size)
        self.total_steps = self.steps_per_epoch * training.epochs
        self.scheduler = recipe.build("schedule").build(self.optimizer, self.total_steps)
        self.generator = torch.Generator(device=device).manual_seed(recipe.seed)
        self.step = 0
        self.epoch_metrics = epoch_metrics(self.task, recipe.metric)
        self.fitted = FittedModel(
            module=self.module,
            task=self.task,
            classes=list(dataset.classes) if dataset.classes is not None else None,
            target_mean=self.target_mean,
            target_std=self.target_std,
            preprocessor=getattr(dataset, "preprocessor", None),
        )

    def train_epoch(self, epoch: int) -> float:
        self.module.train()
        order = torch.randperm(len(self.x), generator=self.generator, device=self.device)
        total = torch.zeros((), device=self.device)
        for start in range(0, len(order), self.batch_size):
            index = order[start : start + self.batch_size]
            xb, yb = self.x[index], self.y[index]
            progress = self.step / self.total_steps

            def closure(xb: Tensor = xb, yb: Tensor = yb, progress: float = progress) -> Tensor:
                self.optimizer.zero_grad(set_to_none=True)
                loss = self.objective(self.module(xb).squeeze(1), yb, progress)
                loss.backward()
                return loss

            if self.needs_closure:
                loss = self.optimizer.step(closure)
            else:
                loss = closure()
                self.optimizer.step()
            self.scheduler.step()
            self.step += 1
            total += loss.detach() * len(index)
        mean_loss = float(total) / len(order)
        if not math.isfinite(mean_loss):
            raise TrainingDiverged(
                f"Training loss became {mean_loss} in epoch {epoch} with optimizer "
                f"{self.optimizer_name}; "
                "lower the learning rate or change the loss."
            )
        return mean_loss

    def evaluate(
        self, features: np.ndarray, target: np.ndarray, names: list[str] | None = None
    ) -> dict[str, float]:
        """The metrics ``names`` (default: every metric of the task) on ``features``."""
        return score_outputs(
            self.fitted.outputs(features),
            target,
            self.task,
            names,
            target_mean=self.target_mean,
            target_std=self.target_std,
        )
