"""Gradient-boosted trees (LightGBM), trained with the searched loss, temperature and
weighting through a custom objective (:mod:`losstune.runners.lightgbm`).

The family's hyperparameters are LightGBM's own (its names, so its documentation applies);
the rounds stop early on the validation split with the search metric. This module does not
import lightgbm: the runner does, when it trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from losstune._hyper import hyperparameter
from losstune.models.base import MODELS, ModelFactory
from losstune.params import Choice, Float, Int, Param

REPORT_EVERY = 10
"""Boosting rounds between two reports to the search (its pruner sees one "epoch" per
report): one round is a step too small for a learning curve (a curve pruner fits its early
points, a median pruner compares trials at equal steps), and 10 rounds make 100 reports of a
1,000-round run, as many as a long MLP run has epochs."""


@MODELS.register("lightgbm")
@dataclass(frozen=True)
class LightGBM(ModelFactory):
    """A LightGBM booster: ``max_rounds`` rounds at most of trees with ``num_leaves`` leaves,
    each round shrunk by ``learning_rate``; training stops when the search metric on the
    validation split has not improved for ``early_stopping_rounds`` rounds, and keeps the
    best round.

    ``init_score = "average"`` starts from the training prior (log-odds, log class prior; the
    target mean for regression), as LightGBM's own objectives do (``boost_from_average``);
    ``"zero"`` starts from 0. The L1/L2 penalties default to ``1e-8``, LightGBM's ``0`` to
    any precision a tree sees, and the low end of their log-scale search range, so the
    default recipe is a point of the default space (a search's first trial). Bounds are
    LightGBM's own (``num_leaves`` <= 131,072) or guard against typos (``max_rounds`` <=
    100,000: hours of boosting on a small table).
    """

    runner: ClassVar[str] = "lightgbm"

    learning_rate: float = hyperparameter(0.1, low=0.0, high=1.0, low_open=True)
    num_leaves: int = hyperparameter(31, kind=int, low=2, high=131_072)
    min_child_samples: int = hyperparameter(20, kind=int, low=1, high=1_000_000)
    feature_fraction: float = hyperparameter(1.0, low=0.0, high=1.0, low_open=True)
    bagging_fraction: float = hyperparameter(1.0, low=0.0, high=1.0, low_open=True)
    bagging_freq: int = hyperparameter(0, kind=int, low=0, high=1_000)
    lambda_l1: float = hyperparameter(1e-8, low=0.0, high=1e4)
    lambda_l2: float = hyperparameter(1e-8, low=0.0, high=1e4)
    max_rounds: int = hyperparameter(1_000, kind=int, low=1, high=100_000)
    early_stopping_rounds: int = hyperparameter(50, kind=int, low=1, high=100_000)
    init_score: str = hyperparameter("average", kind=str, choices=("average", "zero"))

    @classmethod
    def space(cls) -> dict[str, Param]:
        """The ranges LightGBMTuner and FLAML search around LightGBM's defaults."""
        return {
            "learning_rate": Float(0.01, 0.3, log=True),
            "num_leaves": Int(8, 256, log=True),
            "min_child_samples": Int(5, 100, log=True),
            "feature_fraction": Float(0.4, 1.0),
            "bagging_fraction": Float(0.4, 1.0),
            "bagging_freq": Choice((0, 1, 5)),
            "lambda_l1": Float(1e-8, 10.0, log=True),
            "lambda_l2": Float(1e-8, 10.0, log=True),
        }

    def max_reports(self) -> int:
        """Reports of a run that boosts all ``max_rounds`` rounds (see :data:`REPORT_EVERY`)."""
        return math.ceil(self.max_rounds / REPORT_EVERY)

    def lightgbm_params(self) -> dict[str, Any]:
        """The booster parameters in LightGBM's names (the rounds are ``lgb.train``'s)."""
        return {
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": self.bagging_freq,
            "lambda_l1": self.lambda_l1,
            "lambda_l2": self.lambda_l2,
        }
