"""Model families, registered by name, with their hyperparameters: the MLP (torch) and
LightGBM's boosted trees, both trained with the searched losses.

Each family names the runner that trains it (``MLP.runner == "torch"``,
``LightGBM.runner == "lightgbm"``, see :mod:`losstune.runners`).
"""

from losstune.models import lightgbm, mlp  # noqa: F401  (registers "lightgbm", "mlp")
from losstune.models.base import (
    MODELS,
    ModelFactory,
    TorchModelFactory,
    log_prior_bias,
    make_model_factory,
    n_outputs,
)

__all__ = [
    "MODELS",
    "ModelFactory",
    "TorchModelFactory",
    "log_prior_bias",
    "make_model_factory",
    "n_outputs",
]
