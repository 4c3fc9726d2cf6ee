"""Model families, registered by name, with their hyperparameters (the MLP for tabular data).

Each family names the runner that trains it (``MLP.runner == "torch"``, see
:mod:`losstune.runners`).
"""

from losstune.models import mlp  # noqa: F401  (registers "mlp")
from losstune.models.base import (
    MODELS,
    ModelFactory,
    log_prior_bias,
    make_model_factory,
    n_outputs,
)

__all__ = ["MODELS", "ModelFactory", "log_prior_bias", "make_model_factory", "n_outputs"]
