"""The recipe: everything needed to re-train a model, as a small versioned YAML file.

A recipe names a registered model family, loss and weighting scheme with their
hyperparameters, plus the temperature, the seed and the provenance of the search that found
it. A family trained by the torch runner (the MLP) also has a :class:`TorchTraining` block:
optimizer, optional optimizer wrapper (SAM), schedule, batch size and epochs; a family that
trains otherwise (LightGBM: its learning rate and rounds are model hyperparameters) has none
(schema version 2; version 1 files, whose torch fields sat at the top, are still read).
Loading validates every field against the registries: unknown keys, unknown names and
out-of-range values are refused with a message naming the field. Every number has a
bounded domain (the components' in their ``hyperparameter`` fields, the recipe's own in
:data:`FIELD_DOMAINS`), and whatever is wrong with a recipe file, :meth:`Recipe.load`
raises :class:`RecipeError` (or ``FileNotFoundError`` when there is no file).

Example:
    >>> recipe = Recipe.default("multiclass", metric="accuracy")
    >>> recipe.loss, recipe.torch.batch_size
    (Component(name='cross_entropy', params={}), 128)
    >>> Recipe.from_dict(recipe.to_dict()) == recipe
    True
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from losstune._hyper import Domain
from losstune.metrics import default_metric, get_metric
from losstune.models import MODELS, make_model_factory
from losstune.objectives import LOSSES, WEIGHTINGS, make_loss, make_weighting
from losstune.objectives.temperature import TEMPERATURE_DOMAIN, check_temperature
from losstune.optim import make_optimizer_factory, make_schedule, make_wrapper
from losstune.scaling.steplaw import Prediction, StepLawFit
from losstune.task import Task

if TYPE_CHECKING:
    from losstune.data.diagnosis import DataDiagnosis

SCHEMA_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Schema versions :meth:`Recipe.from_dict` reads; it writes :data:`SCHEMA_VERSION`."""

MAX_FILE_BYTES = 1 << 20
"""A recipe file is a few hundred bytes (a few KiB with a transfer record); anything larger
is another file given by mistake (a dataset), refused before it is read."""

FIELD_DOMAINS: dict[str, Domain] = {
    "temperature": TEMPERATURE_DOMAIN,
    "batch_size": Domain(int, low=1, high=2**20),
    "epochs": Domain(int, low=1, high=10_000),
    "seed": Domain(int, low=0, high=2**32 - 1),
}
"""Valid values of the recipe's own numbers (the components' are on their fields).

``batch_size`` <= 2**20: the default space tops out at 512 and large-batch tabular training
at ~65k (16x headroom); a bigger batch is a full batch of a >1M-row table, whose activations
alone take gigabytes per layer. ``epochs`` <= 10,000: a search uses 30 by default; 10,000
passes is hours per trial even on a small table, so more is a typo that would run until
killed. ``seed`` < 2**32: what NumPy's ``RandomState`` (Optuna's samplers) accepts; torch
would take 2**64.
"""


SIGNIFICANT_DIGITS = 4
"""A recipe's real numbers keep this many significant digits (``0.0005018``, not
``0.000501819043124292``): a sampler's 17th digit is noise, and what is trained is exactly
what is written, since the rounding happens when a recipe is built."""


def sensible(value: Any) -> Any:
    """A float rounded to :data:`SIGNIFICANT_DIGITS` significant digits; anything else as is."""
    if isinstance(value, float) and math.isfinite(value) and value != 0.0:
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    return value


class RecipeError(ValueError):
    """A recipe (file, mapping or fields) that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Component:
    """A registered component by ``name`` with its hyperparameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": dict(self.params)}


@dataclass(frozen=True)
class Score:
    """A test score over several seeds: mean and a 95% interval."""

    metric: str
    mean: float
    low: float
    high: float
    n_seeds: int

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str):
            raise TypeError(f"Score.metric must be a metric name; got {self.metric!r}.")
        for name in ("mean", "low", "high"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"Score.{name} must be a number; got {value!r}.")
            try:
                object.__setattr__(self, name, float(value))
            except OverflowError:
                raise ValueError(f"Score.{name} is too large for a float.") from None
        n_seeds = self.n_seeds
        if isinstance(n_seeds, bool) or not isinstance(n_seeds, numbers.Integral) or n_seeds < 1:
            raise ValueError(f"Score.n_seeds must be a whole number >= 1; got {n_seeds!r}.")
        object.__setattr__(self, "n_seeds", int(n_seeds))


@dataclass(frozen=True)
class TransferRecord:
    """How a transfer search (``search(..., strategy="transfer")``) sized the recipe: the
    step law fitted on its proxies, and what it predicted for the full model (``n_params``
    parameters) seeing ``samples`` training samples (rows x epochs)."""

    fit: StepLawFit
    n_params: float
    samples: float
    lr: Prediction
    batch_size: Prediction

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransferRecord:
        _reject_unknown(
            "recipe.provenance.transfer", data, {f.name for f in dataclasses.fields(cls)}
        )
        try:
            return cls(
                fit=StepLawFit.from_dict(data["fit"]),
                n_params=float(data["n_params"]),
                samples=float(data["samples"]),
                lr=Prediction(**data["lr"]),
                batch_size=Prediction(**data["batch_size"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise RecipeError(f"recipe.provenance.transfer: {err}") from None


@dataclass(frozen=True)
class Provenance:
    """Where a recipe came from: the data (its fingerprint and its diagnosis: size, class
    imbalance, label noise, target tails), the search, the MLflow run and its evidence."""

    dataset_fingerprint: str | None = None
    search_id: str | None = None
    mlflow_run_id: str | None = None
    score: Score | None = None
    default_score: Score | None = None
    transfer: TransferRecord | None = None
    data: DataDiagnosis | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["data"] = None if self.data is None else self.data.to_dict()
        return out


Builder = Callable[[str, Mapping[str, Any]], Any]


def _component_builders() -> dict[str, Builder]:
    return {"model": make_model_factory, "loss": make_loss, "weighting": make_weighting}


def _torch_builders() -> dict[str, Builder]:
    return {
        "optimizer": make_optimizer_factory,
        "wrapper": make_wrapper,
        "schedule": make_schedule,
    }


TORCH_FIELDS = ("optimizer", "wrapper", "schedule", "batch_size", "epochs")
"""The fields of :class:`TorchTraining`: what only a torch-trained family has."""


def _checked_component(where: str, build: Builder, component: Any, nullable: bool) -> Any:
    """``component`` validated by ``build`` with its params rounded (:func:`sensible`)."""
    if component is None and nullable:
        return None
    if component is None:
        raise RecipeError(f"{where} cannot be null; name one.")
    if not isinstance(component, Component):
        raise RecipeError(f"{where} must be a Component; got {component!r}.")
    try:
        built = build(component.name, component.params)
    except (ValueError, TypeError) as err:
        raise RecipeError(f"{where}: {err}") from None
    params = built.params()
    rounded = {k: sensible(v) for k, v in params.items()}
    if rounded != params:
        try:  # a rounded value may touch an open bound (0.99996 -> 1.0): keep it then
            params = build(component.name, rounded).params()
        except (ValueError, TypeError):
            pass
    return Component(component.name, params)


def _checked_int(where: str, name: str, value: Any) -> int:
    domain = FIELD_DOMAINS[name]
    if not domain.contains(value):
        raise RecipeError(f"{where} must be {domain.describe()}; got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class TorchTraining:
    """How a torch-trained family is optimised: the optimizer (its learning rate among its
    hyperparameters), an optional wrapper such as SAM, the learning-rate schedule, the batch
    size and the number of epochs. Validated on construction like the recipe itself."""

    optimizer: Component = Component("adamw", {"lr": 1e-3})
    wrapper: Component | None = None
    schedule: Component = Component("cosine")
    batch_size: int = 128
    epochs: int = 30

    def __post_init__(self) -> None:
        for name, build in _torch_builders().items():
            checked = _checked_component(
                f"recipe.torch.{name}", build, getattr(self, name), nullable=name == "wrapper"
            )
            object.__setattr__(self, name, checked)
        for name in ("batch_size", "epochs"):
            object.__setattr__(
                self, name, _checked_int(f"recipe.torch.{name}", name, getattr(self, name))
            )

    def build(self, part: str) -> Any:
        """The validated component object of ``part`` (``"optimizer"``, ``"wrapper"``,
        ``"schedule"``); None for no wrapper."""
        component = getattr(self, part)
        if component is None:
            return None
        return _torch_builders()[part](component.name, component.params)

    def to_dict(self) -> dict[str, Any]:
        return {
            name: value.to_dict() if isinstance(value, Component) else value
            for name, value in ((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))
        }


@dataclass(frozen=True)
class Recipe:
    """A complete, validated training recipe (see the module docstring).

    ``torch`` is the optimisation of a torch-trained family: left out, such a family gets
    :class:`TorchTraining`'s defaults; a family that does not train with torch (LightGBM)
    refuses one.
    """

    task: Task
    metric: str
    loss: Component
    model: Component = Component("mlp")
    temperature: float = 1.0
    weighting: Component = Component("none")
    torch: TorchTraining | None = None
    seed: int = 0
    provenance: Provenance = Provenance()

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "task", Task.parse(self.task))
            if not isinstance(self.metric, str):
                raise ValueError(f"recipe.metric must be a metric name; got {self.metric!r}.")
            get_metric(self.metric, self.task)
            temperature = check_temperature(self.temperature)
            if TEMPERATURE_DOMAIN.contains(sensible(temperature)):
                temperature = sensible(temperature)
            object.__setattr__(self, "temperature", temperature)
        except (ValueError, TypeError) as err:
            raise RecipeError(str(err)) from None
        for name, build in _component_builders().items():
            checked = _checked_component(f"recipe.{name}", build, getattr(self, name), False)
            object.__setattr__(self, name, checked)
        object.__setattr__(self, "torch", self._checked_torch())
        object.__setattr__(self, "seed", _checked_int("recipe.seed", "seed", self.seed))
        if not isinstance(self.provenance, Provenance):
            raise RecipeError(f"recipe.provenance must be a Provenance; got {self.provenance!r}.")
        self._check_task_fit()

    def _checked_torch(self) -> TorchTraining | None:
        torch_family = MODELS.get(self.model.name).runner == "torch"
        if self.torch is None:
            return TorchTraining() if torch_family else None
        if not isinstance(self.torch, TorchTraining):
            raise RecipeError(f"recipe.torch must be a TorchTraining; got {self.torch!r}.")
        if not torch_family:
            raise RecipeError(
                f"recipe.torch: the {self.model.name!r} model does not train with torch, so it "
                f"takes no optimizer, schedule, batch size or epochs; its own hyperparameters "
                f"(recipe.model.params) say how it trains. Remove the torch block (in Python: "
                "recipe.replace(model=..., torch=None))."
            )
        return self.torch

    def _check_task_fit(self) -> None:
        for kind, registry, component in (
            ("loss", LOSSES, self.loss),
            ("weighting", WEIGHTINGS, self.weighting),
        ):
            tasks = registry.get(component.name).tasks
            if self.task not in tasks:
                usable = [n for n, member in registry.items() if self.task in member.tasks]
                raise RecipeError(
                    f"recipe.{kind}: {component.name!r} does not apply to {self.task.value} "
                    f"tasks; use one of {usable}."
                )
        if self.temperature != 1.0 and not LOSSES.get(self.loss.name).softmax_based:
            raise RecipeError(
                f"recipe.temperature: {self.temperature} has no meaning for the "
                f"{self.loss.name!r} loss (not softmax-based); set it to 1.0."
            )
        if self.task is Task.REGRESSION and self.model.params.get("bias_init") == "log_prior":
            raise RecipeError(
                "recipe.model: bias_init 'log_prior' needs classes; use 'zero' for regression."
            )

    @classmethod
    def default(
        cls,
        task: Task | str,
        metric: str | None = None,
        class_counts: Any = None,
        *,
        model: str = "mlp",
    ) -> Recipe:
        """What users do today: cross-entropy (MSE for regression) and no reweighting, with
        ``model``'s default hyperparameters (a 2x256 MLP trained by AdamW 1e-3 with a cosine
        schedule; LightGBM's own defaults)."""
        task = Task.parse(task)
        metric = metric or default_metric(task, class_counts)[0]
        loss = "mse" if task is Task.REGRESSION else "cross_entropy"
        return cls(task=task, metric=metric, loss=Component(loss), model=Component(model))

    @property
    def max_epochs(self) -> int:
        """How many times training this recipe reports at most: the torch block's epochs, or
        the model's own count (LightGBM: its rounds over its reporting interval)."""
        if self.torch is not None:
            return self.torch.epochs
        return int(self.build("model").max_reports())

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed (validated again). The torch block's fields
        (``epochs``, ``optimizer``, ...) may be given directly: they change the torch block,
        which a family without one refuses."""
        moved = {k: changes.pop(k) for k in TORCH_FIELDS if k in changes}
        if moved:
            block = changes.get("torch", self.torch)
            if block is None:
                family = changes.get("model", self.model)
                raise RecipeError(
                    f"recipe.torch: {sorted(moved)} belong to a torch-trained model, and the "
                    f"{getattr(family, 'name', family)!r} model has no torch block."
                )
            changes["torch"] = dataclasses.replace(block, **moved)
        return dataclasses.replace(self, **changes)

    # -- building the parts ---------------------------------------------------------------

    def build(self, part: str) -> Any:
        """The validated component object of ``part`` (``"loss"``, ``"model"``,
        ``"optimizer"``, ...); the torch block's parts for a torch-trained recipe."""
        if part in _torch_builders():
            if self.torch is None:
                raise RecipeError(
                    f"recipe.torch: the {self.model.name!r} model has no {part}; only a "
                    "torch-trained model has one."
                )
            return self.torch.build(part)
        component = getattr(self, part)
        return _component_builders()[part](component.name, component.params)

    # -- YAML -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Component | TorchTraining):
                value = value.to_dict()
            elif isinstance(value, Provenance):
                value = value.to_dict()
            elif isinstance(value, Task):
                value = value.value
            elif value is None and f.name == "torch":
                continue
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        """Parse a mapping (as read from YAML), refusing unknown keys and unknown schemas;
        a version 1 mapping (torch fields at the top) is read into a torch block."""
        if not isinstance(data, Mapping):
            raise RecipeError(f"A recipe must be a mapping of fields; got {type(data).__name__}.")
        data = dict(data)
        version = data.pop("schema_version", None)
        if type(version) is not int or version not in READABLE_VERSIONS:
            raise RecipeError(
                f"recipe.schema_version is {version!r}; this losstune reads versions "
                f"{', '.join(map(str, READABLE_VERSIONS))}. Re-export the recipe with a "
                "matching losstune."
            )
        fields = {f.name for f in dataclasses.fields(cls)}
        if version == 1:
            fields = (fields - {"torch"}) | set(TORCH_FIELDS)
        _reject_unknown("recipe", data, fields)
        for required in ("task", "metric", "loss"):
            if required not in data:
                raise RecipeError(f"recipe.{required} is missing; it is required.")
        if version == 1:
            block = {k: data.pop(k) for k in TORCH_FIELDS if k in data}
            data["torch"] = block
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key in _component_builders():
                kwargs[key] = None if value is None else _parse_component(f"recipe.{key}", value)
            elif key == "torch":
                kwargs[key] = _parse_torch(value)
            elif key == "provenance":
                kwargs[key] = _parse_provenance(value)
            else:
                kwargs[key] = value
        return cls(**kwargs)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> Recipe:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise RecipeError(f"The recipe is not valid YAML: {err}") from None
        except RecursionError:
            raise RecipeError(
                "The recipe nests too deeply to read; a recipe is a flat YAML mapping."
            ) from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the recipe as YAML, atomically (a crash never leaves half a file).

        The file gets the mode any new file of the user's would (``0o666`` less the umask),
        or keeps the mode of the file it replaces: not the ``0o600`` of a temporary file.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            mode = 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(self.to_yaml())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recipe:
        """Read a recipe file: ``FileNotFoundError`` when there is none, else a
        :class:`RecipeError` for anything wrong with it (unreadable, too large, not UTF-8
        text, not YAML, or a field out of its domain)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"No recipe file at {str(path)!r}; check the path.")
        where = f"The recipe file {str(path)!r}"
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise RecipeError(
                    f"{where} is {path.stat().st_size:,} bytes; a recipe is a small YAML file "
                    f"(at most {MAX_FILE_BYTES:,} bytes). Check that the arguments are in order."
                )
            raw = path.read_bytes()
        except OSError as err:
            raise RecipeError(f"{where} cannot be read: {err.strerror or err}.") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RecipeError(
                f"{where} is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset "
                f"{err.start}); a recipe is the YAML file that 'losstune search' or "
                "'losstune recipe' writes."
            ) from None
        return cls.from_yaml(text)


def _reject_unknown(where: str, data: Mapping[str, Any], accepted: set[str]) -> None:
    unknown = sorted(set(data) - accepted)
    if unknown:
        raise RecipeError(f"{where}: unknown key(s) {unknown}; accepted: {sorted(accepted)}.")


def _parse_component(where: str, value: Any) -> Component:
    if isinstance(value, str):
        return Component(value)
    if not isinstance(value, Mapping):
        raise RecipeError(f"{where} must be a name or a mapping with 'name' and 'params'.")
    _reject_unknown(where, value, {"name", "params"})
    if "name" not in value:
        raise RecipeError(f"{where}.name is missing.")
    if not isinstance(value["name"], str):
        raise RecipeError(f"{where}.name must be a name (text); got {value['name']!r}.")
    params = value.get("params") or {}
    if not isinstance(params, Mapping):
        raise RecipeError(f"{where}.params must be a mapping; got {params!r}.")
    return Component(value["name"], dict(params))


def _parse_torch(value: Any) -> TorchTraining | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RecipeError(
            "recipe.torch must be a mapping of optimizer, wrapper, schedule, batch_size and "
            f"epochs; got {value!r}."
        )
    _reject_unknown("recipe.torch", value, set(TORCH_FIELDS))
    kwargs: dict[str, Any] = {
        key: (
            None
            if item is None
            else _parse_component(f"recipe.torch.{key}", item)
            if key in _torch_builders()
            else item
        )
        for key, item in value.items()
    }
    if "optimizer" in kwargs and kwargs["optimizer"] is None:
        raise RecipeError("recipe.torch.optimizer cannot be null; name one.")
    if "schedule" in kwargs and kwargs["schedule"] is None:
        raise RecipeError("recipe.torch.schedule cannot be null; name one.")
    return TorchTraining(**kwargs)


def _parse_provenance(value: Any) -> Provenance:
    if value is None:
        return Provenance()
    if not isinstance(value, Mapping):
        raise RecipeError("recipe.provenance must be a mapping.")
    _reject_unknown("recipe.provenance", value, {f.name for f in dataclasses.fields(Provenance)})
    kwargs = dict(value)
    for key in ("dataset_fingerprint", "search_id", "mlflow_run_id"):
        if kwargs.get(key) is not None and not isinstance(kwargs[key], str):
            raise RecipeError(f"recipe.provenance.{key} must be text; got {kwargs[key]!r}.")
    for key in ("score", "default_score"):
        if kwargs.get(key) is not None:
            score = kwargs[key]
            if not isinstance(score, Mapping):
                raise RecipeError(f"recipe.provenance.{key} must be a mapping.")
            _reject_unknown(
                f"recipe.provenance.{key}", score, {f.name for f in dataclasses.fields(Score)}
            )
            try:
                kwargs[key] = Score(**score)
            except (TypeError, ValueError) as err:
                raise RecipeError(f"recipe.provenance.{key}: {err}") from None
    if kwargs.get("transfer") is not None:
        if not isinstance(kwargs["transfer"], Mapping):
            raise RecipeError("recipe.provenance.transfer must be a mapping.")
        kwargs["transfer"] = TransferRecord.from_dict(kwargs["transfer"])
    if kwargs.get("data") is not None:
        if not isinstance(kwargs["data"], Mapping):
            raise RecipeError("recipe.provenance.data must be a mapping (the data diagnosis).")
        from losstune.data.diagnosis import DataDiagnosis

        try:
            kwargs["data"] = DataDiagnosis.from_dict(kwargs["data"])
        except (TypeError, ValueError) as err:
            raise RecipeError(f"recipe.provenance.data: {err}") from None
    return Provenance(**kwargs)


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """This process's umask. Reading it means setting it: briefly to the strict ``0o077``, so
    a file another thread creates meanwhile is never more open than intended, and under a
    lock, so two saves never read each other's temporary value."""
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask
