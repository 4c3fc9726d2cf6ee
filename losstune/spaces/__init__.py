"""Search spaces: parameter ranges, the tree of a search, its defaults and its overrides.

``Float``, ``Int``, ``Choice`` (with conditional children) and ``Fixed`` describe one
hyperparameter; a :class:`SearchSpace` is their tree, with dotted paths (``loss.focal.gamma``);
:func:`default_space` builds the space of a task from the registries; :func:`load_space`
narrows it from a YAML file and :func:`check_space` holds a space to the recipe's domains;
:func:`config_to_recipe` turns a sampled config into a recipe.
The Optuna adapter is imported explicitly: ``from losstune.spaces.optuna_adapter import
suggest``.

The parameter types live in the core (:mod:`losstune.params`) and are re-exported here. The
registry-backed names (``default_space``, ``config_to_recipe``, ...) are imported on first
use, so ``import losstune.spaces`` stays light (no torch, no optuna).

Example:
    >>> from losstune.spaces import default_space
    >>> space = default_space("multiclass").restrict("loss", ["cross_entropy", "focal"])
    >>> [path for path in space.paths() if path.startswith("loss")]
    ['loss', 'loss.focal.gamma']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from losstune.params import Choice, Fixed, Float, Int, Param
from losstune.spaces.space import SearchSpace, SpaceError, When

_LAZY = {
    "default_space": "losstune.spaces.default",
    "offered_models": "losstune.spaces.default",
    "config_to_recipe": "losstune.spaces.config",
    "recipe_to_config": "losstune.spaces.config",
    "recipe_in_space": "losstune.spaces.config",
    "check_space": "losstune.spaces.domains",
    "load_space": "losstune.spaces.files",
}

__all__ = [
    "Choice",
    "Fixed",
    "Float",
    "Int",
    "Param",
    "SearchSpace",
    "SpaceError",
    "When",
    "check_space",
    "config_to_recipe",
    "default_space",
    "load_space",
    "offered_models",
    "recipe_in_space",
    "recipe_to_config",
]

if TYPE_CHECKING:
    from losstune.spaces.config import config_to_recipe, recipe_in_space, recipe_to_config
    from losstune.spaces.default import default_space, offered_models
    from losstune.spaces.domains import check_space
    from losstune.spaces.files import load_space


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'losstune.spaces' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
