"""The default search space of a task, built from the registries.

Every registered model family, loss, weighting scheme, optimizer, wrapper and schedule that
applies to the task is an option, with the ranges its own ``space()`` declares as children:
registering a new member adds it to the default search with no edit here. The default
recipe's choices (:meth:`Recipe.default`) come first in each option list, so a sampler's
first guess, a UI's first row and an enqueued baseline agree.

The model families share the loss, temperature and weighting; the torch block's parameters
(optimizer, wrapper, schedule, batch size, epochs) are active only when a torch-trained model
(the MLP) is chosen (:class:`~losstune.spaces.space.When`). Every loss and weighting scheme
applies to every family (LightGBM trains with each through its derived gradient and hessian),
so no option depends on the family.

Example:
    >>> space = default_space("binary")
    >>> list(space.params)
    ['model', 'loss', 'temperature', 'weighting', 'optimizer', 'wrapper', 'schedule', \
'batch_size', 'epochs']
    >>> space["model"].options, space.when["optimizer"]
    (('mlp', 'lightgbm'), When(path='model', options=('mlp',)))
    >>> list(default_space("binary", models=["lightgbm"]).params)
    ['model', 'loss', 'temperature', 'weighting']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from losstune._registry import Registry
from losstune.models import MODELS
from losstune.objectives import LOSSES, WEIGHTINGS
from losstune.objectives.temperature import temperature_space
from losstune.optim import OPTIMIZERS, SCHEDULES, WRAPPERS
from losstune.params import Choice, Fixed, Param
from losstune.recipe import Recipe, TorchTraining
from losstune.spaces.space import SearchSpace, SpaceError, When
from losstune.task import Task

NO_WRAPPER = "none"
BATCH_SIZES = (32, 64, 128, 256, 512)


TORCH_ONLY = ("optimizer", "wrapper", "schedule", "batch_size", "epochs")
"""The space's parameters that only a torch-trained model has (the recipe's torch block)."""


def default_space(
    task: Task | str, *, epochs: int = 30, models: Sequence[str] | None = None
) -> SearchSpace:
    """Everything worth searching for ``task``, with ``epochs`` fixed (see the module doc).

    ``models`` narrows the model families (default: every registered one, the default
    recipe's first); an unknown name is refused with the registered ones. The temperature is
    searched for classification only: it divides the logits of the softmax-based losses, and
    regression losses have no logits to divide.
    """
    task = Task.parse(task)
    default = Recipe.default(task)
    training = TorchTraining()
    losses = [name for name, loss in LOSSES.items() if task in loss.tasks]
    weightings = [name for name, scheme in WEIGHTINGS.items() if task in scheme.tasks]
    families = (
        _first(MODELS.names(), default.model.name) if models is None else list(check_models(models))
    )
    params: dict[str, Param] = {
        "model": _models(task, families),
        "loss": _choice(LOSSES, _first(losses, default.loss.name)),
    }
    if task.is_classification and any(LOSSES.get(name).softmax_based for name in losses):
        params["temperature"] = temperature_space()
    params["weighting"] = _choice(WEIGHTINGS, _first(weightings, default.weighting.name))
    params["optimizer"] = _choice(OPTIMIZERS, _first(OPTIMIZERS.names(), training.optimizer.name))
    params["wrapper"] = _choice(WRAPPERS, [NO_WRAPPER, *WRAPPERS.names()])
    params["schedule"] = _choice(SCHEDULES, _first(SCHEDULES.names(), training.schedule.name))
    params["batch_size"] = Choice(BATCH_SIZES)
    params["epochs"] = Fixed(epochs)
    torch_families = tuple(n for n in families if MODELS.get(n).runner == "torch")
    return SearchSpace(params, when={name: When("model", torch_families) for name in TORCH_ONLY})


def offered_models(space: SearchSpace) -> tuple[str, ...]:
    """The model families ``space`` offers: its ``model`` choice's options, or its fixed
    model (the MLP when it names none)."""
    model = space.paths().get("model")
    if isinstance(model, Choice):
        return tuple(map(str, model.options))
    return (str(model.value),) if isinstance(model, Fixed) else ("mlp",)


def check_models(models: Any) -> tuple[str, ...]:
    """``models`` as a tuple of registered model families, each once: a SpaceError for an
    empty list, a repeat or a non-name, the registry's did-you-mean error for an unknown
    family (what ``default_space``, ``search(models=...)`` and the estimators accept)."""
    if isinstance(models, str) or not isinstance(models, Sequence) or not models:
        raise SpaceError(
            f"models must be a non-empty list of model families ({', '.join(MODELS.names())}); "
            f"got {models!r}."
        )
    for name in models:
        if not isinstance(name, str):
            raise SpaceError(f"models must name model families; got {name!r}.")
        MODELS.get(name)  # a did-you-mean error for an unknown family
    if len(set(models)) != len(models):
        raise SpaceError(f"The models repeat: {list(models)}; list each family once.")
    return tuple(models)


def _choice(registry: Registry[Any], names: list[str]) -> Choice:
    return Choice(
        tuple(names), children={n: registry.get(n).space() for n in names if n in registry}
    )


def _first(names: Iterable[str], default: str) -> list[str]:
    names = list(names)
    return [default, *(n for n in names if n != default)] if default in names else names


def _models(task: Task, names: list[str]) -> Choice:
    return Choice(tuple(names), children={n: MODELS.get(n).space_for(task) for n in names})
