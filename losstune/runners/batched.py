# TEMPORARY shim for losstune/search until it is ported; delete afterwards.
"""Old path of :mod:`losstune.runners.torch.batched`, still imported by losstune/search."""

from losstune.runners.torch.batched import (
    STRUCTURE_FIELDS,
    group_recipes,
    train_batched,
    unbatchable_reason,
)

__all__ = ["STRUCTURE_FIELDS", "group_recipes", "train_batched", "unbatchable_reason"]
