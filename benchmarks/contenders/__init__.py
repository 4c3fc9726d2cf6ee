"""The contenders of the quality benchmarks, one module each, registered here in run order.

Every contender implements :class:`~benchmarks.contenders.base.RunFn`. The order matters
once: ``flaml`` runs after ``losstune`` because its time budget is losstune's wall-clock.
``losstune`` searches the default space, which offers both model families (MLP and
LightGBM), warm-started from the portfolio; ``losstune_cold`` is the same search without the
warm start; ``losstune_mlp`` and ``losstune_lightgbm`` run the warm-started search with the
family fixed (``benchmarks/lightgbm_quality.py`` compares the three). A contender with
``warm_start`` gets, per case, a portfolio built without the case's dataset
(``benchmarks/quality_portfolios.py``).

Example:
    >>> from benchmarks.contenders import CONTENDERS
    >>> list(CONTENDERS)[:2]
    ['default', 'tpe_lr_wd_bs']
"""

from __future__ import annotations

from benchmarks.contenders import (
    default,
    flaml_automl,
    lightgbm_default,
    lightgbm_tuned,
    losstune_cold,
    losstune_lightgbm,
    losstune_mlp,
    losstune_search,
    tpe_lr_wd_bs,
)
from benchmarks.contenders.base import Budget, Contender, ContenderResult, RunFn, TrialRecord

REFERENCE = "losstune"
"""The contender every other one is compared against."""

CONTENDERS: dict[str, Contender] = {
    c.name: c
    for c in (
        Contender(
            "default",
            default.run,
            "the default recipe (Recipe.default), trained once",
            "1 training run of the same epochs",
        ),
        Contender(
            "tpe_lr_wd_bs",
            tpe_lr_wd_bs.run,
            "losstune.search, TPE over AdamW lr, weight decay and batch size only, no warm start",
            "same n_trials, pruner, top_k and final seeds as losstune (same search code)",
        ),
        Contender(
            "lightgbm_default",
            lightgbm_default.run,
            "LightGBM defaults, early stopping on the validation split",
            "1 fit (up to 1000 rounds, patience 50)",
        ),
        Contender(
            "lightgbm_tuned",
            lightgbm_tuned.run,
            "optuna-integration LightGBMTuner (stepwise)",
            "n_trials trials: the tuner's 68-trial stepwise schedule scaled to n_trials",
        ),
        Contender(
            "losstune_cold",
            losstune_cold.run,
            "losstune.search over the default space (MLP and LightGBM families), median "
            "pruner, warm start off (default recipe, then TPE)",
            "n_trials trials, then top_k x final seeds re-training",
        ),
        Contender(
            "losstune",
            losstune_search.run,
            "losstune.search over the default space (MLP and LightGBM families), median "
            "pruner, warm start on (default recipe, portfolio members for the data's regime, "
            "then TPE)",
            "n_trials trials, then top_k x final seeds re-training",
            warm_start=True,
        ),
        Contender(
            "flaml",
            flaml_automl.run,
            "FLAML AutoML, holdout on the validation split, same metric",
            "time budget = losstune's wall-clock on the same case (at least 5 s)",
            time_of=REFERENCE,
        ),
        Contender(
            "losstune_mlp",
            losstune_mlp.run,
            "losstune.search over the default space with the family fixed to the MLP, "
            "warm start on",
            "as losstune: n_trials trials, then top_k x final seeds re-training",
            warm_start=True,
        ),
        Contender(
            "losstune_lightgbm",
            losstune_lightgbm.run,
            "losstune.search of loss, temperature, weighting and LightGBM's hyperparameters "
            "(family fixed to LightGBM, custom objective), warm start on",
            "as losstune: n_trials trials, then top_k x final seeds re-training",
            warm_start=True,
        ),
    )
}

__all__ = [
    "CONTENDERS",
    "REFERENCE",
    "Budget",
    "Contender",
    "ContenderResult",
    "RunFn",
    "TrialRecord",
]
