"""The default search space of a task, built from the registries.

Every registered model, loss, weighting scheme, optimizer, wrapper and schedule that applies
to the task is an option, with the ranges its own ``space()`` declares as children: registering
a new member adds it to the default search with no edit here. The default recipe's choices
(:meth:`Recipe.default`) come first in each option list, so a sampler's first guess, a UI's
first row and an enqueued baseline agree.

Example:
    >>> space = default_space("binary")
    >>> list(space.params)
    ['model', 'loss', 'temperature', 'weighting', 'optimizer', 'wrapper', 'schedule', \
'batch_size', 'epochs']
    >>> space["loss"].options[0], space["loss.focal.gamma"]
    ('cross_entropy', Float(low=0.0, high=5.0, log=False))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from losstune._registry import Registry
from losstune.models import MODELS
from losstune.objectives import LOSSES, WEIGHTINGS
from losstune.objectives.temperature import temperature_space
from losstune.optim import OPTIMIZERS, SCHEDULES, WRAPPERS
from losstune.params import Choice, Fixed, Param
from losstune.recipe import Recipe
from losstune.spaces.space import SearchSpace
from losstune.task import Task

NO_WRAPPER = "none"
BATCH_SIZES = (32, 64, 128, 256, 512)


def default_space(task: Task | str, *, epochs: int = 30) -> SearchSpace:
    """Everything worth searching for ``task``, with ``epochs`` fixed (see the module doc).

    The temperature is searched for classification only: it divides the logits of the
    softmax-based losses, and regression losses have no logits to divide.
    """
    task = Task.parse(task)
    default = Recipe.default(task)
    losses = [name for name, loss in LOSSES.items() if task in loss.tasks]
    weightings = [name for name, scheme in WEIGHTINGS.items() if task in scheme.tasks]
    params: dict[str, Param] = {
        "model": _models(task, default.model.name),
        "loss": _choice(LOSSES, _first(losses, default.loss.name)),
    }
    if task.is_classification and any(LOSSES.get(name).softmax_based for name in losses):
        params["temperature"] = temperature_space()
    params["weighting"] = _choice(WEIGHTINGS, _first(weightings, default.weighting.name))
    params["optimizer"] = _choice(OPTIMIZERS, _first(OPTIMIZERS.names(), default.optimizer.name))
    params["wrapper"] = _choice(WRAPPERS, [NO_WRAPPER, *WRAPPERS.names()])
    params["schedule"] = _choice(SCHEDULES, _first(SCHEDULES.names(), default.schedule.name))
    params["batch_size"] = Choice(BATCH_SIZES)
    params["epochs"] = Fixed(epochs)
    return SearchSpace(params)


def _choice(registry: Registry[Any], names: list[str]) -> Choice:
    return Choice(
        tuple(names), children={n: registry.get(n).space() for n in names if n in registry}
    )


def _first(names: Iterable[str], default: str) -> list[str]:
    names = list(names)
    return [default, *(n for n in names if n != default)] if default in names else names


def _models(task: Task, default: str) -> Choice:
    names = _first(MODELS.names(), default)
    return Choice(tuple(names), children={n: MODELS.get(n).space_for(task) for n in names})
