"""The candidate pool of the portfolio: configurations a portfolio may pick its members from.

A candidate is a flat config of the default search space (``{'model': 'mlp',
'model.mlp.width': 256, ..., 'loss': 'gce', 'loss.gce.q': 0.7, ...}``, the form a search
trial and ``study.enqueue_trial`` use), so any member can be enqueued as it is. The pool of a
task kind (classification or regression) holds, in this order:

- the default recipe (:func:`losstune.search.session.default_recipe`, the MLP with
  cross-entropy or MSE) and LightGBM's defaults;
- hand-picked robust ones, each for the MLP and for LightGBM where the loss applies: the
  noise-robust losses (GCE, symmetric CE, MAE on probabilities, label smoothing, Poly-1,
  focal), class-balanced weighting and logit adjustment for imbalance, Huber / log-cosh /
  MAE and hard-example down-weighting for target outliers, and a few regularised models;
- random configs of the default space from Optuna's seeded ``RandomSampler`` (floats kept to
  3 significant digits), so the pool is not only our prior.

Every candidate must fit the default space and turn into a valid recipe for every task of
its kind (:func:`losstune.spaces.config_to_recipe`); those that do not are dropped and
reported (:attr:`Pool.dropped`). Each config's paths follow the space's walk order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

KINDS = ("classification", "regression")
KIND_TASKS = {"classification": ("binary", "multiclass"), "regression": ("regression",)}
KIND_METRIC = {"classification": "accuracy", "regression": "rmse"}
PREFIX = {"classification": "cls", "regression": "reg"}
EPOCHS = 30
"""Epochs of every MLP candidate: ``losstune search``'s default (``--epochs``)."""


@dataclass(frozen=True)
class Candidate:
    """One configuration of the pool.

    Attributes:
        name: its key in the runs CSV and the portfolio (``cls-mlp-gce``).
        kind: ``"classification"`` or ``"regression"``.
        config: the flat config of the default space (Optuna param name -> value).
        note: what it is, in a few words (the portfolio YAML keeps it).
        source: ``"default"``, ``"hand"`` or ``"random"``.
    """

    name: str
    kind: str
    config: Mapping[str, Any]
    note: str
    source: str

    @property
    def config_id(self) -> str:
        """A short hash of the config: a recorded row counts for this candidate only when the
        config it trained is this one."""
        text = json.dumps(dict(self.config), sort_keys=True, default=str)
        return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()

    @property
    def family(self) -> str:
        """The model family the config trains (``mlp`` or ``lightgbm``)."""
        return str(self.config["model"])


@dataclass(frozen=True)
class Pool:
    """The candidates of one task kind, and the ones dropped with the reason."""

    kind: str
    candidates: tuple[Candidate, ...]
    dropped: tuple[tuple[str, str], ...] = field(default=())

    def by_name(self) -> dict[str, Candidate]:
        """The candidates by name."""
        return {c.name: c for c in self.candidates}


def build_pool(kind: str, *, epochs: int = EPOCHS, n_random: int = 16, seed: int = 0) -> Pool:
    """The pool of ``kind`` (see the module doc): default, hand-picked, then ``n_random``
    random configs drawn with ``RandomSampler(seed)``; invalid ones dropped.

    Raises:
        ValueError: ``kind`` is not a task kind, or ``epochs`` / ``n_random`` is negative.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown task kind {kind!r}; use one of {', '.join(KINDS)}.")
    if epochs < 1 or n_random < 0:
        raise ValueError(f"epochs must be >= 1 and n_random >= 0; got {epochs}, {n_random}.")
    proposed = [*_hand_picked(kind, epochs), *_random(kind, epochs, n_random, seed)]
    space = space_of(kind, epochs)
    kept, dropped = [], []
    for candidate in proposed:
        reason = invalid_reason(candidate, epochs)
        if reason is None:
            order = space.active_paths(candidate.config)
            kept.append(replace(candidate, config={p: candidate.config[p] for p in order}))
        else:
            dropped.append((candidate.name, reason))
    return Pool(kind, tuple(kept), tuple(dropped))


def space_of(kind: str, epochs: int = EPOCHS):
    """The default search space (both model families) of ``kind``'s first task."""
    from losstune.spaces import default_space

    return default_space(KIND_TASKS[kind][-1], epochs=epochs)


def invalid_reason(candidate: Candidate, epochs: int = EPOCHS) -> str | None:
    """Why ``candidate`` cannot be a member (outside the default space, or no valid recipe
    for a task of its kind), or None when it can."""
    from losstune.recipe import RecipeError
    from losstune.spaces import SpaceError, config_to_recipe

    try:
        space_of(candidate.kind, epochs).validate(candidate.config)
        for task in KIND_TASKS[candidate.kind]:
            config_to_recipe(candidate.config, task=task, metric=KIND_METRIC[candidate.kind])
    except (SpaceError, RecipeError, ValueError, TypeError) as err:
        return f"{type(err).__name__}: {err}"
    return None


def with_choice(config: Mapping[str, Any], field: str, name: str, **params: Any) -> dict:
    """``config`` with component ``field`` set to ``name`` and its hyperparameters to
    ``params`` (the old choice's hyperparameters removed)."""
    kept = {k: v for k, v in config.items() if not k.startswith(f"{field}.")}
    kept[field] = name
    kept.update({f"{field}.{name}.{hp}": value for hp, value in params.items()})
    return kept


def with_values(config: Mapping[str, Any], **values: Any) -> dict:
    """``config`` with paths given as keywords (``model__mlp__width`` is ``model.mlp.width``)."""
    return {**config, **{k.replace("__", "."): v for k, v in values.items()}}


def base_configs(kind: str, epochs: int = EPOCHS) -> tuple[dict, dict]:
    """The configs of the default recipe (MLP) and of LightGBM's defaults for ``kind``."""
    from losstune.recipe import Recipe
    from losstune.search.session import default_recipe
    from losstune.spaces import recipe_to_config

    task, metric, space = KIND_TASKS[kind][-1], KIND_METRIC[kind], space_of(kind, epochs)
    mlp = recipe_to_config(default_recipe(_task(task), metric, space, epochs, 0), space)
    lgb = recipe_to_config(Recipe.default(task, metric, model="lightgbm"), space)
    return mlp, lgb


def _task(name: str):
    from losstune.task import Task

    return Task.parse(name)


CLASSIFICATION_LOSSES: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("gce", "gce", {"q": 0.7}, "GCE q=0.7 (noise-robust)"),
    ("sce", "symmetric_ce", {"alpha": 0.1, "beta": 1.0}, "symmetric CE a=0.1 b=1 (noise)"),
    ("maep", "mae_probs", {}, "MAE on probabilities (noise-robust)"),
    ("ls", "label_smoothing", {"eps": 0.1}, "label smoothing 0.1"),
    ("poly1", "poly1", {"eps": 1.0}, "Poly-1 eps=1"),
    ("focal", "focal", {"gamma": 2.0}, "focal gamma=2"),
    ("la", "logit_adjusted", {"tau": 1.0}, "logit-adjusted tau=1 (imbalance)"),
)
CLASSIFICATION_WEIGHTINGS: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("invfreq", "inverse_frequency", {"rho": 1.0}, "CE + inverse-frequency weights"),
    ("effnum", "effective_number", {"beta": 0.999}, "CE + effective-number weights b=0.999"),
)
REGRESSION_LOSSES: tuple[tuple[str, str, dict[str, Any], str], ...] = (
    ("huber", "huber", {"delta": 1.0}, "Huber delta=1 (outlier-robust)"),
    ("huber03", "huber", {"delta": 0.3}, "Huber delta=0.3 (outlier-robust)"),
    ("logcosh", "log_cosh", {}, "log-cosh (outlier-robust)"),
    ("mae", "mae", {}, "MAE (outlier-robust)"),
)
DOWN_HARD = {"direction": "down_hard", "temperature": 1.0, "w_max": 5.0, "warmup": 0.1}
"""Dynamic weighting that down-weights the hardest rows (likely outliers or noise)."""
LGB_CONSERVATIVE = {
    "model.lightgbm.learning_rate": 0.05,
    "model.lightgbm.num_leaves": 15,
    "model.lightgbm.min_child_samples": 20,
    "model.lightgbm.feature_fraction": 0.8,
    "model.lightgbm.bagging_fraction": 0.8,
    "model.lightgbm.bagging_freq": 1,
    "model.lightgbm.lambda_l2": 1.0,
}
"""Smaller, slower, bagged trees: LightGBM's usual first step away from its defaults."""
MLP_REGULARISED = {
    "model.mlp.width": 512,
    "model.mlp.depth": 3,
    "model.mlp.dropout": 0.3,
    "optimizer.adamw.weight_decay": 0.05,
}


def _hand_picked(kind: str, epochs: int) -> list[Candidate]:
    """The default configs and the hand-picked robust ones of ``kind`` (module doc), each
    ``{p}-{family}-{what}``."""
    p = PREFIX[kind]
    mlp, lgb = base_configs(kind, epochs)
    out = [
        Candidate(f"{p}-mlp-default", kind, mlp, "default recipe (MLP)", "default"),
        Candidate(f"{p}-lgb-default", kind, lgb, "LightGBM defaults", "default"),
    ]

    def both(short: str, make, note: str) -> None:
        for family, base in (("mlp", mlp), ("lgb", lgb)):
            label = "MLP" if family == "mlp" else "LightGBM"
            out.append(
                Candidate(f"{p}-{family}-{short}", kind, make(base), f"{label}, {note}", "hand")
            )

    if kind == "classification":
        for short, loss, params, note in CLASSIFICATION_LOSSES:
            both(short, lambda c, n=loss, q=params: with_choice(c, "loss", n, **q), note)
        for short, scheme, params, note in CLASSIFICATION_WEIGHTINGS:
            both(short, lambda c, n=scheme, q=params: with_choice(c, "weighting", n, **q), note)
        drw = {"start": 0.8, "beta": 0.9999}
        out.append(
            Candidate(
                f"{p}-mlp-drw",
                kind,
                with_choice(mlp, "weighting", "deferred", **drw),
                "MLP, CE + deferred re-weighting from 80% of training (imbalance)",
                "hand",
            )
        )
        out.append(
            Candidate(
                f"{p}-mlp-gce-reg",
                kind,
                with_choice(with_values(mlp, **_kw(MLP_REGULARISED)), "loss", "gce", q=0.7),
                "MLP 3x512, dropout 0.3, wd 0.05, GCE q=0.7 (noise)",
                "hand",
            )
        )
    else:
        for short, loss, params, note in REGRESSION_LOSSES:
            both(short, lambda c, n=loss, q=params: with_choice(c, "loss", n, **q), note)
        both(
            "downhard",
            lambda c: with_choice(c, "weighting", "dynamic", **DOWN_HARD),
            "MSE + dynamic weights down-weighting hard rows (outliers)",
        )
        out.append(
            Candidate(
                f"{p}-lgb-huber-cons",
                kind,
                with_choice(with_values(lgb, **_kw(LGB_CONSERVATIVE)), "loss", "huber", delta=1.0),
                "LightGBM lr 0.05, 15 leaves, bagged, Huber delta=1",
                "hand",
            )
        )
    out.append(
        Candidate(
            f"{p}-mlp-reg",
            kind,
            with_values(mlp, **_kw(MLP_REGULARISED)),
            "MLP 3x512, dropout 0.3, weight decay 0.05",
            "hand",
        )
    )
    out.append(
        Candidate(
            f"{p}-mlp-sam",
            kind,
            with_choice(mlp, "wrapper", "sam", rho=0.05),
            "MLP with SAM rho=0.05",
            "hand",
        )
    )
    out.append(
        Candidate(
            f"{p}-lgb-cons",
            kind,
            with_values(lgb, **_kw(LGB_CONSERVATIVE)),
            "LightGBM lr 0.05, 15 leaves, bagged, L2 1",
            "hand",
        )
    )
    return out


def _kw(paths: Mapping[str, Any]) -> dict[str, Any]:
    return {k.replace(".", "__"): v for k, v in paths.items()}


def _random(kind: str, epochs: int, n: int, seed: int) -> list[Candidate]:
    """``n`` configs of the default space from ``RandomSampler(seed)``, named ``*-rand-NN``."""
    if n == 0:
        return []
    import optuna

    from losstune.params import Float
    from losstune.spaces.optuna_adapter import suggest

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = space_of(kind, epochs)
    params = space.paths()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for i in range(n):
        config = {
            path: _short(value) if isinstance(params[path], Float) else value
            for path, value in suggest(study.ask(), space).items()
        }
        out.append(
            Candidate(f"{PREFIX[kind]}-rand-{i + 1:02d}", kind, config, _describe(config), "random")
        )
    return out


def _short(value: float) -> float:
    """A sampled float to 3 significant digits (a readable YAML; the candidate is validated
    after)."""
    return float(f"{value:.3g}")


def _describe(config: Mapping[str, Any]) -> str:
    """``random: lightgbm, focal, effective_number`` (family, loss, weighting; the
    optimizer too for the MLP)."""
    parts = [str(config["model"]), str(config["loss"]), str(config["weighting"])]
    if "optimizer" in config:
        parts.append(str(config["optimizer"]))
    return "random: " + ", ".join(parts)
