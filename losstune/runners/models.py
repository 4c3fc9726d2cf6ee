# TEMPORARY shim for losstune/search until it is ported; delete afterwards.
"""Old path of :mod:`losstune.models`, still imported by losstune/search."""

from losstune.models import MODELS, n_outputs

__all__ = ["MODELS", "n_outputs"]
