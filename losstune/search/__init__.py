"""The search driver: ``losstune.search(dataset, ...)`` returns a :class:`Result`.

This package is itself callable, so ``losstune.search(...)`` runs :func:`search` whether or
not a submodule such as ``losstune.search.budget`` was imported first (importing a submodule
binds the package, not the function, to ``losstune.search``).
"""

import sys
import types
from typing import Any

from losstune.search.budget import Budget, make_budget, parse_duration
from losstune.search.result import Result
from losstune.search.run import DEFAULT_RUN_DIR, search
from losstune.search.samplers import PRUNERS, SAMPLERS

__all__ = [
    "DEFAULT_RUN_DIR",
    "PRUNERS",
    "SAMPLERS",
    "Budget",
    "Result",
    "make_budget",
    "parse_duration",
    "search",
]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Result:
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
