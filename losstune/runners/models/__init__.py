"""Model factories, registered by name (the MLP for tabular data)."""

from losstune.runners.models import mlp  # noqa: F401  (registers "mlp")
from losstune.runners.models.base import (
    MODELS,
    ModelFactory,
    log_prior_bias,
    make_model_factory,
    n_outputs,
)

__all__ = ["MODELS", "ModelFactory", "log_prior_bias", "make_model_factory", "n_outputs"]
