"""The search: ``losstune.search(dataset, ...)`` returns a :class:`Result`.

- :mod:`.api` — :func:`search`, its keywords sorted into the configs of :mod:`.config`;
- :mod:`.session` — one search's setup and teardown (study, MLflow parent run, lock);
- :mod:`.interrupts` — Ctrl-C and SIGTERM: stop cleanly, keep everything, say how to resume;
- :mod:`.strategies` — what stages run (``direct``, ``transfer``);
- :mod:`.executors` — where a stage's trials run (``sequential``, ``batched``, ``ray``);
- :mod:`.lifecycle` — a trial's end state and the attributes every executor writes;
- :mod:`.finish` — the final multi-seed selection and the :class:`Result`;
- :mod:`.worker` — more processes joining a search on a shared storage.

This package is itself callable, so ``losstune.search(...)`` runs :func:`search` whether or
not a submodule such as ``losstune.search.budget`` was imported first (importing a submodule
binds the package, not the function, to ``losstune.search``).
"""

import sys
import types
from typing import Any

from losstune.search.api import BACKENDS, search
from losstune.search.budget import Budget, make_budget, parse_duration
from losstune.search.config import (
    DEFAULT_RUN_DIR,
    BatchConfig,
    RayConfig,
    RunConfig,
    SearchConfig,
)
from losstune.search.executors import EXECUTORS
from losstune.search.interrupts import SearchInterrupted
from losstune.search.result import Result
from losstune.search.samplers import PRUNERS, SAMPLERS
from losstune.search.session import StoreError
from losstune.search.strategies import STRATEGIES, TransferPlan

__all__ = [
    "BACKENDS",
    "DEFAULT_RUN_DIR",
    "EXECUTORS",
    "PRUNERS",
    "SAMPLERS",
    "STRATEGIES",
    "BatchConfig",
    "Budget",
    "RayConfig",
    "Result",
    "RunConfig",
    "SearchConfig",
    "SearchInterrupted",
    "StoreError",
    "TransferPlan",
    "make_budget",
    "parse_duration",
    "search",
]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Result:
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
