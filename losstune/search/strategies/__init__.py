"""What stages a search runs: :data:`STRATEGIES` by name (see :mod:`.base`)."""

from losstune.search.strategies import direct, transfer
from losstune.search.strategies.base import STRATEGIES, Strategy
from losstune.search.strategies.transfer import TransferPlan, training_subset

__all__ = ["STRATEGIES", "Strategy", "TransferPlan", "direct", "training_subset", "transfer"]
