"""The LightGBM runner (registered as ``"lightgbm"``): boosted trees trained with the
searched loss, temperature and weighting (:mod:`.runner`), and the fitted model
(:mod:`.fitted`). Importing it imports lightgbm and torch (the objective's derivatives)."""

from losstune.runners.lightgbm.fitted import FittedBooster, Stage
from losstune.runners.lightgbm.runner import LightGBMRunner, train_lightgbm

__all__ = ["FittedBooster", "LightGBMRunner", "Stage", "train_lightgbm"]
