"""The objectives of a population of K members evaluated in one vectorised call.

Population-batched training runs K trials as one program with stacked parameters. Their
objectives differ in hyperparameter *values* (``gamma``, ``beta``, temperature, ...) and
possibly in *structure* (which loss, which weighting, string options such as ``direction``).
Members of one structure, a *kind*, run the same code: :class:`BatchedObjective` evaluates
each kind with one :func:`torch.func.vmap` over the members' float hyperparameters, stacked as
``(K_kind,)`` tensors. Every loss and weighting scheme is written to accept such tensors in
place of its float fields (``torch.where`` instead of ``if`` on a value).

Example:
    >>> import torch
    >>> from losstune.objectives import Objective, make_loss, make_weighting
    >>> members = [
    ...     Objective(make_loss("focal", {"gamma": g}), make_weighting("none")) for g in (0, 2)
    ... ]
    >>> batched = BatchedObjective(members)
    >>> logits, target = torch.zeros(2, 4, 3), torch.tensor([0, 1, 2, 0])
    >>> [round(v, 4) for v in batched(logits, target).tolist()]
    [1.0986, 0.4883]
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Hashable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

import torch
from torch import Tensor
from torch.func import vmap

from losstune._hyper import Hyperparameters, member_hyperparameters, structure_key
from losstune.objectives.objective import Objective

T = TypeVar("T")

# float64 keeps each member's values exactly as built (float32 moves beta = 0.9999 enough to
# change effective-number weights by ~1e-4); float32 outputs still compute in float32, because
# 0-dim tensors do not promote, under vmap too.
_HYPER_DTYPE = torch.float64


def with_tensors(component: T, values: Mapping[str, Tensor]) -> T:
    """A copy of ``component`` whose fields ``values`` hold tensors (no validation: the members
    were validated when built). Uses copy.copy + object.__setattr__ on the frozen dataclass."""
    return _copy_with(component, values)


def _copy_with(obj: T, values: Mapping[str, Any]) -> T:
    clone = copy.copy(obj)
    for name, value in values.items():
        object.__setattr__(clone, name, value)
    return clone


@dataclasses.dataclass(frozen=True)
class _Kind:
    """Members sharing one structure: a template objective and their stacked hyperparameters."""

    template: Objective
    hypers: dict[str, dict[str, Tensor]]  # {"loss": {...}, "weighting": {...}, "objective": {...}}
    index: Tensor  # positions of the members in the population, on the device


def _member(
    template: Objective,
    progress: float,
    outputs: Tensor,
    target: Tensor,
    hypers: Mapping[str, Mapping[str, Tensor]],
) -> Tensor:
    """One member's objective; under vmap, ``hypers`` holds 0-dim batched tensors."""
    loss = with_tensors(template.loss, hypers["loss"])
    weighting = with_tensors(template.weighting, hypers["weighting"])
    objective = _copy_with(template, {"loss": loss, "weighting": weighting, **hypers["objective"]})
    return objective(outputs, target, progress)


def _same_counts(a: Tensor | None, b: Tensor | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = torch.as_tensor(a).detach().cpu(), torch.as_tensor(b).detach().cpu()
    return a.shape == b.shape and torch.equal(a.double(), b.double())


class BatchedObjective:
    """The objectives of K members evaluated in one call.

    Members are partitioned by kind (loss structure_key, weighting structure_key); each kind is one
    torch.func.vmap call over its members with their float hyperparameters (loss fields, weighting
    fields, temperature) as float64 (K_kind,) tensors on ``device``; a kind of one member calls
    its Objective directly (vmap costs more than it saves there). All members share
    class_counts (one dataset).

    ``BatchedObjective(objs)(outputs, target, p)[k]`` equals ``objs[k](outputs[k], target_k, p)``,
    values and gradients w.r.t. ``outputs``.
    """

    def __init__(self, objectives: Sequence[Objective], device: torch.device | str = "cpu") -> None:
        objectives = tuple(objectives)
        if not objectives:
            raise ValueError("BatchedObjective needs at least one member objective; got none.")
        for k, objective in enumerate(objectives):
            if not isinstance(objective, Objective):
                raise TypeError(f"member {k} must be an Objective; got {objective!r}.")
            if not _same_counts(objective.class_counts, objectives[0].class_counts):
                raise ValueError(
                    f"All members must share one dataset's class_counts; member 0 has "
                    f"class_counts={_counts_repr(objectives[0].class_counts)} but member {k} has "
                    f"class_counts={_counts_repr(objective.class_counts)}. Batch members of one "
                    "dataset only."
                )
        self._objectives = objectives
        groups: dict[tuple[Hashable, ...], list[int]] = {}
        for k, objective in enumerate(objectives):
            key = (structure_key(objective.loss), structure_key(objective.weighting))
            groups.setdefault(key, []).append(k)
        self.device = torch.empty(0, device=device).device  # canonical: "cuda" -> "cuda:0"
        self._kinds = tuple(self._kind([objectives[k] for k in ks], ks) for ks in groups.values())
        order = torch.tensor([k for ks in groups.values() for k in ks], device=self.device)
        # the concatenated per-kind values, put back in member order
        self._inverse = torch.argsort(order) if len(self._kinds) > 1 else None

    def _kind(self, members: list[Objective], positions: list[int]) -> _Kind:
        template = members[0]

        def stack(values: list[float]) -> Tensor:
            return torch.tensor(values, dtype=_HYPER_DTYPE, device=self.device)

        def stacked(components: list[Hyperparameters]) -> dict[str, Tensor]:
            names = member_hyperparameters(components[0])
            return {n: stack([getattr(c, n) for c in components]) for n in names}

        hypers = {
            "loss": stacked([m.loss for m in members]),
            "weighting": stacked([m.weighting for m in members]),
            "objective": (
                {"temperature": stack([m.temperature for m in members])}
                if template.loss.softmax_based
                else {}
            ),
        }
        index = torch.tensor(positions, device=self.device)
        return _Kind(template, hypers, index)

    @property
    def objectives(self) -> tuple[Objective, ...]:
        """The member objectives, in population order."""
        return self._objectives

    def __len__(self) -> int:
        return len(self._objectives)

    def __repr__(self) -> str:
        return f"BatchedObjective({len(self)} members, {len(self._kinds)} kinds, {self.device})"

    def __call__(self, outputs: Tensor, target: Tensor, progress: float = 0.0) -> Tensor:
        """Per-member objective values, shape (K,). ``outputs``: (K, B) binary/regression or
        (K, B, C) multiclass; ``target``: (K, B), or (B,) shared by every member."""
        size = len(self)
        if outputs.ndim < 2 or outputs.shape[0] != size:
            raise ValueError(
                f"outputs must have one row per member, shape ({size}, B) or ({size}, B, C); "
                f"got {tuple(outputs.shape)}."
            )
        if outputs.device != self.device:
            raise ValueError(
                f"outputs are on {outputs.device} but the members' hyperparameters on "
                f"{self.device}; build the BatchedObjective with device={str(outputs.device)!r}."
            )
        shared = target.ndim == 1
        if not shared and (target.ndim != 2 or target.shape[0] != size):
            raise ValueError(
                f"target must be (B,), shared by every member, or ({size}, B); "
                f"got {tuple(target.shape)}."
            )
        if self._inverse is None:
            return self._evaluate(self._kinds[0], outputs, target, shared, progress)
        values = [
            self._evaluate(
                kind,
                outputs.index_select(0, kind.index),
                target if shared else target.index_select(0, kind.index),
                shared,
                progress,
            )
            for kind in self._kinds
        ]
        return torch.cat(values).index_select(0, self._inverse)

    @staticmethod
    def _evaluate(
        kind: _Kind, outputs: Tensor, target: Tensor, shared: bool, progress: float
    ) -> Tensor:
        if len(kind.index) == 1:  # a lone member runs faster without vmap, and exactly as built
            return kind.template(outputs[0], target if shared else target[0], progress)[None]
        member = partial(_member, kind.template, progress)
        return vmap(member, in_dims=(0, None if shared else 0, 0))(outputs, target, kind.hypers)

    def select(self, keep: Sequence[int] | Tensor) -> BatchedObjective:
        """The objective of members ``keep`` (indices into the current K), in that order."""
        indices = keep.tolist() if isinstance(keep, Tensor) else list(keep)
        bad = [i for i in indices if isinstance(i, bool) or not 0 <= i < len(self)]
        if bad:
            raise ValueError(
                f"select: indices {bad} are not members of this population of {len(self)}; "
                f"use indices in 0..{len(self) - 1}."
            )
        return BatchedObjective([self._objectives[i] for i in indices], self.device)


def _counts_repr(counts: Tensor | None) -> str:
    return "None" if counts is None else str(torch.as_tensor(counts).tolist())
