"""Population-batched training: K trials of one architecture train as one program, each model
parameter stacked over members as a ``(K, *shape)`` leaf tensor and each continuous
hyperparameter a ``(K,)`` tensor."""

from losstune.runners.torch.batched.runner import (
    STRUCTURE_FIELDS,
    batch_key,
    group_recipes,
    train_batched,
    unbatchable_reason,
)

__all__ = ["STRUCTURE_FIELDS", "batch_key", "group_recipes", "train_batched", "unbatchable_reason"]
