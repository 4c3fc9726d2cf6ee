"""Where the trials of a search run: :data:`EXECUTORS` by name (see :mod:`.base`).

- ``sequential``: one at a time in this process;
- ``batched``: K at a time as one batched program (stacked weights);
- ``ray``: on Ray Tune, locally or on a cluster (imports Ray only when it runs);
- ``workers``: this process and worker processes on this machine, sharing a PostgreSQL study.

On a shared storage ``losstune worker`` processes on other machines run trials of a
sequential, batched or workers search meanwhile (:mod:`losstune.search.worker`).
"""

from losstune.search.executors import batched, ray, sequential, workers
from losstune.search.executors.base import EXECUTORS, TrialExecutor
from losstune.search.session import Stage, StageRun

__all__ = [
    "EXECUTORS",
    "Stage",
    "StageRun",
    "TrialExecutor",
    "batched",
    "ray",
    "sequential",
    "workers",
]
