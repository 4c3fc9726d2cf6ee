"""Train many recipes at once: recipes of one structure train as one batched program.

A small MLP leaves a GPU idle when it trains alone: every step is a handful of tiny kernels,
bound by launch latency. Here K recipes that share their structure (model architecture,
optimizer family and its discrete settings, batch size, epochs) train together: stacked
weights and batched matmuls (:class:`StackedMLP`), every continuous hyperparameter a
``(K,)`` tensor (learning rate, weight decay, momentum and betas, dropout, temperature and
each loss's and weighting's own; :class:`BatchedObjective`, :mod:`.optimizers`), and the
loss family and weighting scheme may differ inside one program.

Each member is initialised, ordered and stepped as :func:`train_torch` would train it alone
(same seed, same initial weights, same data order), so without dropout a member's curve is
the one-trial curve up to float rounding. Each member reports every epoch through its own
reporter; a reporter that raises (a pruned trial) or a diverging member leaves the program,
whose stacked tensors are compacted so its compute is freed.

Recipes that cannot be batched (an optimizer without a batched form, a wrapper such as SAM)
train one at a time with their family's runner (:func:`losstune.runners.train`);
:func:`unbatchable_reason` says why.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from losstune._hyper import structure_key
from losstune.objectives.batched import BatchedObjective
from losstune.runners.base import TrainResult, train
from losstune.runners.errors import TrainingDiverged
from losstune.runners.outputs import epoch_metrics, score_outputs
from losstune.runners.reporter import EpochCallback, Reporter, as_callback
from losstune.runners.torch.batched.metrics import member_metrics
from losstune.runners.torch.batched.model import StackedMLP
from losstune.runners.torch.batched.optimizers import batchable_optimizer, make_batched_optimizer
from losstune.runners.torch.batched.schedules import schedule_tables
from losstune.runners.torch.build import (
    TrainingData,
    build_model,
    build_objective,
    torch_training,
)
from losstune.runners.torch.fitted import FittedModel
from losstune.runners.torch.runner import resolve_device

if TYPE_CHECKING:
    from losstune.data import Dataset
    from losstune.recipe import Recipe

Outcome = TrainResult | Exception
_EVAL_ELEMENTS = 1 << 26  # activations per evaluation chunk (256 MB of float32)


STRUCTURE_FIELDS = ("model", "optimizer", "wrapper", "batch_size", "epochs")
"""The recipe fields whose structure the members of one program share."""
_COMPONENTS = ("model", "optimizer")


def batch_key(recipe: Recipe) -> tuple[Any, ...]:
    """What members of one program share: the :data:`STRUCTURE_FIELDS`, with the model and
    optimizer by their structure (names and every non-float setting)."""
    training = torch_training(recipe)
    return tuple(
        structure_key(recipe.build(name)) if name in _COMPONENTS else getattr(training, name)
        for name in STRUCTURE_FIELDS
    )


def unbatchable_reason(recipe: Recipe) -> str | None:
    """Why ``recipe`` must train alone, or None when it can join a batched program."""
    if recipe.model.name != "mlp" or recipe.torch is None:
        return f"model {recipe.model.name!r} has no stacked form"
    if recipe.torch.wrapper is not None:
        return f"optimizer wrapper {recipe.torch.wrapper.name!r} has no batched form"
    if not batchable_optimizer(recipe.torch.optimizer.name):
        return f"optimizer {recipe.torch.optimizer.name!r} has no batched form"
    return None


def group_recipes(recipes: Sequence[Recipe]) -> list[list[int]]:
    """Indices of ``recipes`` by program: batchable recipes with equal :func:`batch_key`
    share one; each unbatchable recipe is a group of its own."""
    groups: dict[Any, list[int]] = {}
    for i, recipe in enumerate(recipes):
        key = batch_key(recipe) if unbatchable_reason(recipe) is None else ("alone", i)
        groups.setdefault(key, []).append(i)
    return list(groups.values())


def train_batched(
    recipes: Sequence[Recipe],
    dataset: Dataset,
    *,
    reporters: Sequence[Reporter | EpochCallback | None] | None = None,
    device: str | torch.device = "auto",
) -> list[Outcome]:
    """Train every recipe; recipes of one structure train together (see the module doc).

    Returns one outcome per recipe, in order: its :class:`TrainResult`, or the exception that
    stopped it (a reporter's, e.g. ``optuna.TrialPruned``, or :class:`TrainingDiverged`).
    ``KeyboardInterrupt`` and other non-``Exception`` errors propagate.

    Raises:
        ValueError: a recipe's task is not the dataset's, or ``reporters`` has the wrong length.
    """
    reporters = list(reporters) if reporters is not None else [None] * len(recipes)
    if len(reporters) != len(recipes):
        raise ValueError(
            f"Got {len(recipes)} recipes but {len(reporters)} reporters; pass one each."
        )
    for recipe in recipes:
        if recipe.task is not dataset.task:
            raise ValueError(
                f"A recipe is for a {recipe.task.value} task but the dataset is "
                f"{dataset.task.value}; use recipes made for this dataset."
            )
    dev = resolve_device(device)
    outcomes: list[Outcome | None] = [None] * len(recipes)
    for group in group_recipes(recipes):
        if len(group) == 1 and unbatchable_reason(recipes[group[0]]) is not None:
            outcomes[group[0]] = _train_alone(recipes[group[0]], dataset, reporters[group[0]], dev)
            continue
        members = [recipes[i] for i in group]
        done = _Program(members, dataset, [as_callback(reporters[i]) for i in group], dev).run()
        for i, outcome in zip(group, done, strict=True):
            outcomes[i] = outcome
    return outcomes  # type: ignore[return-value]


def _train_alone(recipe: Recipe, dataset: Dataset, reporter: Any, device: torch.device) -> Outcome:
    try:  # by the runner of the recipe's model family
        return train(recipe, dataset, reporter=reporter, device=str(device))
    except Exception as err:  # the member's own failure; the other members go on
        return err


class _Program:
    """One batched program: K members of one structure, trained epoch by epoch."""

    def __init__(
        self,
        recipes: Sequence[Recipe],
        dataset: Dataset,
        reports: Sequence[EpochCallback | None],
        device: torch.device,
    ) -> None:
        first = recipes[0]
        self.recipes, self.dataset, self.reports, self.device = (
            list(recipes),
            dataset,
            reports,
            device,
        )
        self.task = dataset.task
        self.data = TrainingData.of(dataset, device)
        counts = self.data.class_counts
        modules, objectives, factories, lrs, decays = [], [], [], [], []
        for recipe in recipes:
            with torch.random.fork_rng(
                devices=[device.index or 0] if device.type == "cuda" else []
            ):
                torch.manual_seed(recipe.seed)
                module = build_model(recipe, dataset, counts).to(device)
            modules.append(module)
            objectives.append(build_objective(recipe, counts))
            factory = recipe.build("optimizer")
            factories.append(factory)
            lr, decay = _per_parameter_rates(recipe, module, factory)
            lrs.append(lr)
            decays.append(decay)
        dropout = [float(recipe.build("model").params().get("dropout", 0.0)) for recipe in recipes]
        seeds = [r.seed for r in recipes]
        dropout_seed = int(np.random.SeedSequence([*seeds, 1]).generate_state(1)[0])
        self.model = StackedMLP(
            modules, dropout, generator=torch.Generator(device=device).manual_seed(dropout_seed)
        )
        names = self.model.names
        as_tensor = lambda rows: torch.tensor(rows, dtype=torch.float64, device=device)  # noqa: E731
        self.optimizer = make_batched_optimizer(
            self.model.params,
            factories,
            [as_tensor([lr[name] for lr in lrs]) for name in names],
            [as_tensor([decay[name] for decay in decays]) for name in names],
        )
        self.objective = BatchedObjective(objectives, device)
        self.n = len(self.data.x)
        self.epochs = torch_training(first).epochs
        self.batch_size = min(torch_training(first).batch_size, self.n)
        self.total_steps = math.ceil(self.n / self.batch_size) * self.epochs
        lr_table, momentum = schedule_tables(
            [r.build("schedule") for r in recipes], factories, self.total_steps
        )
        self.lr_table = lr_table.to(device)
        self.momentum = momentum.to(device) if momentum is not None else None
        # one data order per distinct seed, drawn as a one-trial run draws it
        unique = list(dict.fromkeys(seeds))
        self.generators = [torch.Generator(device=device).manual_seed(s) for s in unique]
        self.order_of = torch.tensor([unique.index(s) for s in seeds], device=device)
        self.alive = list(range(len(recipes)))  # original index of each current member
        self.histories: list[list[dict[str, float]]] = [[] for _ in recipes]
        self.outcomes: list[Outcome | None] = [None] * len(recipes)
        self.metric_names = epoch_metrics(self.task, first.metric)
        self.step = 0

    def run(self) -> list[Outcome]:
        started = time.perf_counter()
        for epoch in range(1, self.epochs + 1):
            losses = self._train_epoch()
            self._end_epoch(epoch, losses)
            if not self.alive:
                break
        seconds = time.perf_counter() - started
        for position, member in enumerate(self.alive):
            self.outcomes[member] = self._result(position, member, seconds)
        return self.outcomes  # type: ignore[return-value]

    def _train_epoch(self) -> np.ndarray:
        orders = [torch.randperm(self.n, generator=g, device=self.device) for g in self.generators]
        shared = len(orders) == 1
        total = torch.zeros(len(self.alive), device=self.device)
        x, y = self.data.x, self.data.y
        for start in range(0, self.n, self.batch_size):
            if shared:
                index = orders[0][start : start + self.batch_size]
            else:
                index = torch.stack([o[start : start + self.batch_size] for o in orders])
                index = index[self.order_of]
            outputs = self.model.forward(x[index], train=True)
            if outputs.shape[-1] == 1:
                outputs = outputs.squeeze(-1)
            losses = self.objective(outputs, y[index], self.step / self.total_steps)
            self.optimizer.zero_grad()
            losses.sum().backward()
            momentum = self.momentum[:, self.step] if self.momentum is not None else None
            self.optimizer.step(self.lr_table[:, self.step], momentum)
            self.step += 1
            total += losses.detach() * index.shape[-1]
        return (total / self.n).cpu().numpy()

    def _end_epoch(self, epoch: int, losses: np.ndarray) -> None:
        valid = member_metrics(
            self._outputs(self.dataset.X_valid),
            self.dataset.y_valid,
            self.task,
            self.metric_names,
            target_mean=self.data.target_mean,
            target_std=self.data.target_std,
        )
        keep = []
        for position, member in enumerate(self.alive):
            try:
                metrics = self._epoch_metrics(
                    epoch, member, float(losses[position]), valid[position]
                )
                self.histories[member].append({"epoch": float(epoch), **metrics})
                report = self.reports[member]
                if report is not None:
                    report(epoch, metrics)
                keep.append(position)
            except Exception as err:  # pruned by its reporter, or diverged
                self.outcomes[member] = err
        if not keep:
            self.alive = []
        elif len(keep) < len(self.alive):
            self._select(keep)

    def _epoch_metrics(
        self, epoch: int, member: int, loss: float, valid: dict[str, float] | Exception
    ) -> dict[str, float]:
        recipe = self.recipes[member]
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"Training loss became {loss} in epoch {epoch} with optimizer "
                f"{recipe.build('optimizer').name} {recipe.build('optimizer').params()}; "
                "lower the learning rate or change the loss."
            )
        if isinstance(valid, Exception):
            raise valid
        return {"train_loss": loss, **{f"valid_{k}": v for k, v in valid.items()}}

    def _select(self, keep: list[int]) -> None:
        """Drop every member not in ``keep`` (positions): compact all stacked state."""
        index = torch.tensor(keep, dtype=torch.long, device=self.device)
        self.model.select(index)
        self.optimizer.select(index, self.model.params)
        self.objective = self.objective.select(index)
        self.lr_table = self.lr_table[index]
        if self.momentum is not None:
            self.momentum = self.momentum[index]
        self.order_of = self.order_of[index]
        self.alive = [self.alive[i] for i in keep]

    def _outputs(self, features: np.ndarray) -> Tensor:
        """Every current member's raw outputs on ``features``: ``(K, N)`` or ``(K, N, C)``,
        on the device."""
        x = torch.as_tensor(features, dtype=torch.float32, device=self.device)
        widest = max(p.shape[-1] for p in self.model.params)
        rows = max(1, _EVAL_ELEMENTS // (len(self.alive) * widest))
        with torch.no_grad():
            chunks = [
                self.model.forward(x[i : i + rows], train=False) for i in range(0, len(x), rows)
            ]
        out = torch.cat(chunks, dim=1)
        return out.squeeze(2) if out.shape[2] == 1 else out

    def _score(self, outputs: np.ndarray, target: np.ndarray, names: list[str] | None) -> dict:
        return score_outputs(
            outputs,
            target,
            self.task,
            names,
            target_mean=self.data.target_mean,
            target_std=self.data.target_std,
        )

    def _result(self, position: int, member: int, seconds: float) -> Outcome:
        """Member ``member``'s final metrics and its module with the trained weights."""
        module: nn.Module = self.model.unstack(position)
        fitted = FittedModel(
            module=module,
            task=self.task,
            classes=list(self.dataset.classes) if self.dataset.classes is not None else None,
            target_mean=self.data.target_mean,
            target_std=self.data.target_std,
            preprocessor=getattr(self.dataset, "preprocessor", None),
        )
        try:
            valid = self._score(fitted.outputs(self.dataset.X_valid), self.dataset.y_valid, None)
            test = self._score(fitted.outputs(self.dataset.X_test), self.dataset.y_test, None)
        except TrainingDiverged as err:
            return err
        return TrainResult(
            model=fitted,
            metric=self.recipes[member].metric,
            history=self.histories[member],
            valid_metrics=valid,
            test_metrics=test,
            device=str(self.device),
            seconds=seconds,
        )


def _per_parameter_rates(
    recipe: Recipe, module: nn.Module, factory: Any
) -> tuple[dict[str, float], dict[str, float]]:
    """Each parameter's learning rate and weight decay in ``module``'s optimizer groups (one
    group in standard parametrisation, per-layer rates under μP)."""
    defaults = factory.params()
    groups = list(recipe.build("model").parameter_groups(module, factory))
    if groups and not isinstance(groups[0], Mapping):
        groups = [{"params": groups}]
    by_id: dict[int, tuple[float, float]] = {}
    for group in groups:
        rates = (
            group.get("lr", defaults["lr"]),
            group.get("weight_decay", defaults["weight_decay"]),
        )
        for p in group["params"]:
            by_id[id(p)] = rates
    named = dict(module.named_parameters())
    return (
        {name: by_id[id(p)][0] for name, p in named.items()},
        {name: by_id[id(p)][1] for name, p in named.items()},
    )
