"""Configs to recipes and back: the bridge between a sampled point and a trainable recipe.

A component field of the recipe (``model``, ``loss``, ``weighting``, and the torch block's
``optimizer``, ``wrapper``, ``schedule``) takes its name from ``config[field]`` and its
hyperparameters from ``config["<field>.<name>.<hp>"]``; ``wrapper: "none"`` means no wrapper.
The scalar fields ``temperature``, ``batch_size`` and ``epochs`` are read as they are. The
torch block's fields fill the recipe's :class:`~losstune.recipe.TorchTraining` when the chosen
model trains with torch; another family (LightGBM) has none, and its configs have none of those
paths (the default space makes them conditional on the model). What the config does not
say comes from a base recipe (by default :meth:`Recipe.default`). The inverse,
:func:`recipe_to_config`, lets a search enqueue a known recipe (the default) as its first trial.

Example:
    >>> from losstune.spaces import default_space
    >>> recipe = Recipe.default("binary", metric="accuracy")
    >>> config = recipe_to_config(recipe, default_space("binary"))
    >>> config["loss"], config["optimizer.adamw.lr"]
    ('cross_entropy', 0.001)
    >>> config_to_recipe(config, task="binary", metric="accuracy") == recipe
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from losstune.models import MODELS
from losstune.objectives import LOSSES
from losstune.params import Param
from losstune.recipe import TORCH_FIELDS, Component, Recipe, TorchTraining
from losstune.spaces.default import NO_WRAPPER
from losstune.spaces.space import SearchSpace, SpaceError
from losstune.task import Task

COMPONENT_FIELDS = ("model", "loss", "weighting", "optimizer", "wrapper", "schedule")
SCALAR_FIELDS = ("temperature", "batch_size", "epochs")


def config_to_recipe(
    config: Mapping[str, Any],
    *,
    task: Task | str,
    metric: str,
    seed: int = 0,
    base: Recipe | None = None,
) -> Recipe:
    """The recipe a config describes (validated by :class:`Recipe`).

    Hyperparameters the config does not search keep the base recipe's values when the base
    uses the same component, else the component's defaults. The temperature is 1.0 for a
    loss that is not softmax-based (it would have no effect, and the recipe refuses it).
    Raises :class:`SpaceError` for a config path that has no place in a recipe.
    """
    base = base or Recipe.default(task, metric)
    unused = set(config)
    fields: dict[str, Any] = {}
    for field in COMPONENT_FIELDS:
        if field not in config:
            continue
        name = config[field]
        unused.discard(field)
        prefix = f"{field}.{name}."
        searched = {
            path[len(prefix) :]: value
            for path, value in config.items()
            if path.startswith(prefix) and "." not in path[len(prefix) :]
        }
        unused -= {prefix + hp for hp in searched}
        old = _fields_of(base).get(field)
        params = {**old.params, **searched} if old is not None and old.name == name else searched
        fields[field] = (
            None if field == "wrapper" and name == NO_WRAPPER else Component(name, params)
        )
    for field in SCALAR_FIELDS:
        if field in config:
            fields[field] = config[field]
            unused.discard(field)
    if unused:
        raise SpaceError(
            f"The config path(s) {sorted(unused)} have no place in a recipe: use "
            f"'<field>.<name>.<hyperparameter>' for the chosen component, or one of "
            f"{', '.join(COMPONENT_FIELDS + SCALAR_FIELDS)}."
        )
    loss = fields.get("loss", base.loss).name
    if loss in LOSSES and not LOSSES.get(loss).softmax_based:
        fields["temperature"] = 1.0
    fields = {**_fields_of(base), **fields}
    block = {name: fields.pop(name) for name in TORCH_FIELDS if name in fields}
    model = fields.get("model", base.model)
    if MODELS.get(model.name).runner == "torch":
        fields["torch"] = TorchTraining(**block)
    else:
        given = sorted(k for k in block if k in config)
        if given:
            raise SpaceError(
                f"The config sets {given}, which only a torch-trained model has; the "
                f"{model.name!r} model trains with its own hyperparameters."
            )
    return Recipe(task=Task.parse(task), metric=metric, seed=seed, **fields)


def recipe_to_config(recipe: Recipe, space: SearchSpace) -> dict[str, Any]:
    """The config of ``space`` that describes ``recipe``: its paths active for the recipe.

    Raises :class:`SpaceError` naming the path when the recipe lies outside the space (an
    option the space does not offer, a value outside a range, a path with no recipe field).
    """

    def pick(path: str, param: Param) -> Any:
        field, *rest = path.split(".")
        if field not in COMPONENT_FIELDS + SCALAR_FIELDS or len(rest) not in (0, 2):
            raise SpaceError(f"The space path {path!r} has no recipe field to read it from.")
        if field in TORCH_FIELDS and recipe.torch is None:
            raise SpaceError(
                f"The space path {path!r} has no value in a recipe of the {recipe.model.name!r} "
                "model, which does not train with torch."
            )
        component = _fields_of(recipe)[field]
        if field in SCALAR_FIELDS:
            return component
        if not rest:
            return NO_WRAPPER if component is None else component.name
        hp = rest[1]
        if hp not in component.params:
            raise SpaceError(
                f"The space path {path!r} names no hyperparameter of {field} {component.name!r}; "
                f"its hyperparameters are {sorted(component.params)}."
            )
        return component.params[hp]

    config = space.sample(pick)
    space.validate(config)
    return config


def recipe_in_space(recipe: Recipe, space: SearchSpace) -> bool:
    """Whether ``space`` offers ``recipe``'s values on every path it searches or fixes.

    Values the space does not mention (an unsearched hyperparameter, the seed) are not checked.
    """
    try:
        recipe_to_config(recipe, space)
    except SpaceError:
        return False
    return True


def _fields_of(recipe: Recipe) -> dict[str, Any]:
    """The recipe's component and scalar fields by name, the torch block's (if any) flat."""
    block = vars(recipe.torch) if recipe.torch is not None else {}
    return {
        field: block[field] if field in TORCH_FIELDS else getattr(recipe, field)
        for field in COMPONENT_FIELDS + SCALAR_FIELDS
        if field in block or field not in TORCH_FIELDS
    }
