"""The ``ray`` executor: a stage's trials on Ray Tune, locally or on a cluster.

- *What to try*: :class:`~ray.tune.search.optuna.OptunaSearch` over losstune's define-by-run
  space with the search's seeded sampler (:mod:`.searcher`); its Optuna study records each
  trial as the in-process executors do (a trial the scheduler stopped is PRUNED).
- *When to stop*: a Ray Tune scheduler from :data:`~.schedulers.RAY_SCHEDULERS` (ASHA by
  default).
- *Where*: each trial reserves ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs (a fraction
  packs several trials on one GPU); a trial whose worker dies is retried (``max_failures``).
- *Tracking*: each trial, in its Ray worker, opens its nested MLflow run under the search's
  parent and writes every epoch before reporting it; the driver ends the runs Ray stops
  (:mod:`.trials`).
- *Resume*: the Tune experiment lives in ``<run_dir>/ray/<study>``; running the same search
  again restores it, searcher state included (ray-project/ray#30861).

Importing this package does not import Ray: :meth:`RayExecutor.run` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from losstune.search.config import RayConfig
from losstune.search.executors.base import EXECUTORS
from losstune.search.session import SearchSession, Stage, StageRun

_DEVICES = ("auto", "cpu", "cuda")
_OPTIONS = {
    "ray_address": "address",
    "cpus_per_trial": "cpus_per_trial",
    "gpus_per_trial": "gpus_per_trial",
    "max_concurrent_trials": "max_concurrent_trials",
    "grace_period": "grace_period",
    "max_failures": "max_failures",
}


@EXECUTORS.register("ray")
class RayExecutor:
    """Trials on Ray Tune (see the module doc), with a :class:`RayConfig`."""

    default_pruner: ClassVar[str] = "asha"
    optuna_pruning: ClassVar[bool] = False
    shares_storage: ClassVar[bool] = False
    options: ClassVar[tuple[str, ...]] = tuple(_OPTIONS)

    def __init__(self, config: RayConfig | None = None) -> None:
        self.config = config or RayConfig()
        self.max_concurrent_trials = self.config.max_concurrent_trials

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> RayExecutor:
        return cls(RayConfig(**{_OPTIONS[k]: v for k, v in options.items()}))

    def params(self) -> dict[str, Any]:
        return {
            "backend": "ray",
            "cpus_per_trial": self.config.cpus_per_trial,
            "gpus_per_trial": self.config.gpus_per_trial,
            "max_concurrent_trials": self.max_concurrent_trials,
            "max_failures": self.config.max_failures,
        }

    def check(self, session: SearchSession) -> None:
        """Refuse, before Ray starts, a storage, a device Ray cannot honour and a pruner
        that is no Ray Tune scheduler."""
        from losstune.extras import require_extra
        from losstune.search.executors.ray.schedulers import check_scheduler

        require_extra("ray", "executor 'ray'")
        if session.run.storage is not None:
            raise ValueError(
                "executor 'ray' keeps its study in the Tune experiment under the run folder; "
                "storage only works with executors 'sequential' and 'batched'."
            )
        device = session.config.device
        if device not in _DEVICES:
            raise ValueError(
                f"device={device!r} on backend='ray': Ray assigns each trial its GPU, so use "
                "'auto', 'cpu' or 'cuda' (the assigned GPU)."
            )
        if device == "cuda" and self.config.gpus_per_trial == 0:
            raise ValueError("device='cuda' needs gpus_per_trial > 0 on backend='ray'.")
        check_scheduler(session.pruner)

    def final_device(self, device: str) -> str:
        """The final re-training runs on the driver: its own GPU if it has one."""
        return "cpu" if device == "cpu" else "auto"

    def run(self, session: SearchSession, stage: Stage) -> StageRun:
        from losstune.search.executors.ray.tune import run_stage

        return run_stage(self, session, stage)
