"""The command line's choices and durations, checked before anything heavy is imported.

The ``losstune`` command answers a mistyped flag in well under a second: the names it offers
are listed here, in a module that imports only the standard library, instead of being read
from the registries (which import scikit-learn, PyTorch and Optuna). ``tests/test_cli.py``
holds these lists equal to the registries (``SAMPLERS``, ``PRUNERS``, ``RAY_SCHEDULERS``,
``STRATEGIES``, ``EXECUTORS``, ``METRICS``, ``BACKENDS``, ``Task``), so they cannot drift: a
new registry member fails that test until it is named here too.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


class ChoiceError(ValueError):
    """A command-line value outside its choices; the message names them and the fix."""


@dataclass(frozen=True)
class Choices:
    """The names one option takes (``kind`` appears in messages, as a registry's does)."""

    kind: str
    option: str
    names: tuple[str, ...]

    @property
    def metavar(self) -> str:
        """``[a|b|c]``, as ``--help`` shows the option's value."""
        return f"[{'|'.join(self.names)}]"

    def check(self, value: str) -> str:
        """``value`` when it is one of the names; else a :class:`ChoiceError` worded like a
        registry's (the close matches, then every name)."""
        if value in self.names:
            return value
        close = difflib.get_close_matches(str(value), self.names, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ChoiceError(
            f"Unknown {self.kind} {value!r} for {self.option}.{hint} "
            f"Known {self.kind} names: {', '.join(self.names)}."
        )

    def complete(self, incomplete: str) -> list[str]:
        """The names starting with ``incomplete`` (shell completion)."""
        return [name for name in self.names if name.startswith(incomplete)]


SAMPLERS = Choices("sampler", "--sampler", ("tpe", "random"))
#: Optuna's pruners (the ``PRUNERS`` registry).
OPTUNA_PRUNERS = ("median", "curve", "none")
#: Ray Tune's schedulers (the ``RAY_SCHEDULERS`` registry), what ``--pruner`` names on Ray.
RAY_SCHEDULERS = ("asha", "median", "curve", "none")
PRUNERS = Choices(
    "pruner",
    "--pruner",
    ("auto", *OPTUNA_PRUNERS, *(n for n in RAY_SCHEDULERS if n not in OPTUNA_PRUNERS)),
)
STRATEGIES = Choices("strategy", "--strategy", ("direct", "transfer"))
EXECUTORS = Choices("executor", "--executor", ("sequential", "batched", "ray", "workers"))
BACKENDS = Choices("backend", "--backend", ("optuna", "ray"))
METRICS = Choices(
    "metric",
    "--metric",
    ("accuracy", "balanced_accuracy", "macro_f1", "roc_auc", "log_loss", "rmse", "mae", "r2"),
)
TASKS = Choices("task", "--task", ("binary", "multiclass", "regression"))
MODELS = Choices("model family", "--models", ("mlp", "lightgbm"))


def check_models(value: str) -> tuple[str, ...]:
    """``--models mlp,lightgbm``: the model families named, each a known one, each once."""
    names = tuple(name.strip() for name in str(value).split(",") if name.strip())
    if not names:
        raise ChoiceError(f"--models needs one or more of {', '.join(MODELS.names)}.")
    for name in names:
        MODELS.check(name)
    if len(set(names)) != len(names):
        raise ChoiceError(f"--models names a family twice: {value!r}; list each once.")
    return names


_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
DEVICE_METAVAR = "[auto|cpu|cuda|cuda:N]"


def check_device(value: str) -> str:
    """``value`` when it names a device as a runner reads it: ``auto``, ``cpu``, ``cuda`` or
    ``cuda:N`` (whether this machine has it is checked later, by the runner)."""
    if _DEVICE.match(value):
        return value
    raise ChoiceError(
        f"Unknown device {value!r} for --device; use auto, cpu, cuda or cuda:N (e.g. cuda:0)."
    )


def device_completions(incomplete: str) -> list[str]:
    """Device names starting with ``incomplete`` (shell completion)."""
    return [name for name in ("auto", "cpu", "cuda", "cuda:0") if name.startswith(incomplete)]


#: A duration with its unit; the units are those of ``losstune.search.budget.parse_duration``.
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}


def budget_seconds(text: str) -> float:
    """Seconds in ``--budget``'s duration: ``90s``, ``10m``, ``1.5h``. A bare number is
    refused: ``10`` could mean 10 seconds, 10 minutes or 10 trials (which ``search()``'s
    ``budget=10`` means), so the command line asks for the unit or for ``--trials``."""
    text = str(text)
    bare = text.strip()
    if bare.replace(".", "", 1).isdigit():
        trials = f", or give a number of trials as --trials {bare}" if bare.isdigit() else ""
        raise ChoiceError(
            f"--budget {bare} has no unit; write a duration such as {bare}m, {bare}s or "
            f"{bare}h{trials}."
        )
    match = _DURATION.match(text)
    if not match:
        raise ChoiceError(
            f"Cannot read the duration {text!r} for --budget; write e.g. '90s', '10m' or '2h'."
        )
    seconds = float(match.group(1)) * _SECONDS[match.group(2).lower()]
    if seconds <= 0:
        raise ChoiceError(f"--budget must be a positive duration; got {text!r}.")
    return seconds
