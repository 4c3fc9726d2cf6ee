"""``search(..., strategy="transfer")``: tune on cheap proxies, carry the recipe to full size.

A proxy is a narrow μP MLP trained on a seeded, stratified subset of the training rows. μP
(:mod:`losstune.scaling.mup`) keeps the best learning rate where it is as the model widens;
what changes with model and data size is fitted as a step law
(:mod:`losstune.scaling.steplaw`) and used to size the full-size search. The stages, each an
Optuna study ``<study>-<stage>`` and all tracked under one MLflow parent run:

1. **explore** — the widest proxy on the largest subset searches the whole space, restricted
   to the MLP in μP (width, depth and base width fixed). Its first trial is the default
   recipe in μP at the proxy's width.
2. **sizes** — every other proxy keeps the explorer's best choices (loss, temperature,
   weighting, optimizer and its other hyperparameters, schedule, dropout, ...) and searches
   only the learning rate (within ×/÷4 of the explorer's best) and the batch size, starting
   from the explorer's best. Holding the rest makes the learning rates comparable: a step
   law relates the best learning rate of *one* recipe across sizes.
3. **fit** — the step law on each proxy's best trial: ``N`` = the MLP's parameters, ``D`` =
   training rows x epochs, its learning rate and its effective batch size (the runner caps
   a batch at the training rows). The exponent of ``N`` is held at 0 by default, μP's claim
   (:attr:`TransferPlan.alpha`): the widths then act as replicates for the data exponent.
4. **confirm** — the full-size μP MLP on all training rows keeps the explorer's choices and
   searches the learning rate within the 95% prediction interval or ×/÷2 of the predicted
   one, whichever is narrower (inside the optimizer's own range), and the batch sizes of the
   space that bracket the predicted one. Its first trial is the prediction itself.
5. **final** — the search's usual final selection over the confirmation trials (top ``k``
   re-trained on fresh seeds, against the default recipe).

Budget: ``n_trials`` is split as ``confirm = max(2, ceil(confirm_share · n_trials))`` at full
size; of the rest the explorer gets ``ceil(rest / 2)`` and the other proxies share
``floor(rest / 2)`` (at least one each), e.g. 20 trials: 2 confirm, 9 explore, 3 + 3 + 3 sizes;
40 trials: 4 confirm, 18 explore, 6 + 6 + 6 sizes.
The full model is the space's fixed ``model.mlp.width`` (or the MLP's default width) at its
fixed depth (or the default depth).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import optuna
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from losstune.data import Dataset
from losstune.models import n_outputs
from losstune.models.mlp import MLP
from losstune.optim import OPTIMIZERS
from losstune.recipe import Component, Recipe, RecipeError, TransferRecord
from losstune.scaling.steplaw import Prediction, StepLawFit, StepLawPoint, fit_step_law
from losstune.search.executors.base import TrialExecutor
from losstune.search.finish import finish, log_recipe
from losstune.search.result import Result
from losstune.search.session import SearchSession, Stage, StageRun
from losstune.search.strategies.base import STRATEGIES, search_params
from losstune.spaces import (
    Choice,
    Fixed,
    Float,
    SearchSpace,
    SpaceError,
    offered_models,
    recipe_to_config,
)

logger = logging.getLogger("losstune")

MODEL = "mlp"
_WIDTH, _DEPTH = f"model.{MODEL}.width", f"model.{MODEL}.depth"
_PARAMETRIZATION, _BASE_WIDTH = f"model.{MODEL}.parametrization", f"model.{MODEL}.base_width"
_EXPLORE_LR_FACTOR = 4.0


@dataclass(frozen=True)
class TransferPlan:
    """The proxies of a transfer search and how it splits its trials (module docstring).

    Args:
        widths: proxy MLP widths; those not below the full model's width are dropped.
        fractions: proxy shares of the training rows, each in (0, 1).
        confirm_share: the share of ``n_trials`` run at full size (at least 2 trials): its
            space is small (a learning rate within ×/÷2, one or two batch sizes), and its
            trials cost the most.
        max_lr_factor: the confirmation searches the learning rate at most this factor
            either side of the prediction (narrower when the prediction interval is).
        alpha: the exponent of N in the learning-rate law, held at this value; ``None``
            fits it. The default 0 is μP's claim (the best learning rate does not move with
            width); fitted from two proxy widths and extrapolated ~10x in N, it is mostly
            noise (docs/benchmarks/transfer.md).
    """

    widths: tuple[int, ...] = (32, 64)
    fractions: tuple[float, ...] = (0.25, 0.5)
    confirm_share: float = 0.1
    max_lr_factor: float = 2.0
    alpha: float | None = 0.0

    def __post_init__(self) -> None:
        widths, fractions = tuple(self.widths), tuple(self.fractions)
        if not widths or any(
            isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths
        ):
            raise ValueError(f"widths must be whole numbers >= 1, e.g. (32, 64); got {widths!r}.")
        if not fractions or any(not 0 < f < 1 for f in fractions):
            raise ValueError(
                f"fractions must be shares of the training rows in (0, 1), e.g. (0.25, 0.5); "
                f"got {fractions!r}."
            )
        if not 0 < self.confirm_share < 1:
            raise ValueError(
                f"confirm_share must be in (0, 1), e.g. 0.1; got {self.confirm_share!r}."
            )
        if self.alpha is not None and not (
            isinstance(self.alpha, int | float) and math.isfinite(self.alpha)
        ):
            raise ValueError(f"alpha must be a finite number or None; got {self.alpha!r}.")
        if not self.max_lr_factor >= 1:
            raise ValueError(f"max_lr_factor must be >= 1, e.g. 2; got {self.max_lr_factor!r}.")
        object.__setattr__(self, "widths", tuple(sorted(set(widths))))
        object.__setattr__(self, "fractions", tuple(sorted(set(fractions))))

    def split(self, n_trials: int, n_proxies: int) -> tuple[int, list[int]]:
        """``(confirmation trials, trials per proxy)``, the explorer first; raises when
        ``n_trials`` cannot give the explorer 2 trials and every other proxy 1."""
        shares = self._split(n_trials, n_proxies)
        if shares is None:
            least = next(n for n in range(n_trials + 1, 10_000) if self._split(n, n_proxies))
            raise ValueError(
                f"A transfer search over {n_proxies} proxies needs n_trials >= {least}; got "
                f"{n_trials}. Pass more trials, or fewer proxies (TransferPlan widths, "
                "fractions)."
            )
        return shares

    def _split(self, n_trials: int, n_proxies: int) -> tuple[int, list[int]] | None:
        confirm = max(2, math.ceil(self.confirm_share * n_trials))
        rest, others = n_trials - confirm, n_proxies - 1
        explore = math.ceil(rest / 2) if others else rest
        left = rest - explore
        if explore < 2 or left < others:
            return None
        return confirm, [explore, *(left // others + (i < left % others) for i in range(others))]


@dataclass(frozen=True)
class Proxy:
    """One size a transfer search trains at: an MLP width on a share of the training rows
    (the full-size confirmation is the last, at share 1)."""

    name: str
    width: int
    fraction: float
    data: Dataset
    n_trials: int
    n_params: int
    epochs: int

    @property
    def rows(self) -> int:
        return len(self.data.y_train)

    @property
    def samples(self) -> float:
        return float(self.rows * self.epochs)


@STRATEGIES.register("transfer")
class TransferStrategy:
    """A transfer search (module docstring) with a :class:`TransferPlan`. Only a trial
    budget can be split: a timeout is refused."""

    options: ClassVar[tuple[str, ...]] = ("transfer_plan",)

    def __init__(self, plan: TransferPlan | None = None) -> None:
        if plan is not None and not isinstance(plan, TransferPlan):
            raise TypeError(f"transfer_plan must be a TransferPlan; got {plan!r}.")
        self.plan = plan or TransferPlan()

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> TransferStrategy:
        return cls(options.get("transfer_plan"))

    def study_suffix(self) -> str:
        """Transfer studies are named apart from direct ones, and per plan."""
        return f"-transfer-{hashlib.blake2b(repr(self.plan).encode(), digest_size=3).hexdigest()}"

    def run(self, session: SearchSession, executor: TrialExecutor) -> Result:
        budget = session.config.budget
        if budget.timeout is not None or budget.n_trials is None:
            raise ValueError(
                "strategy='transfer' splits a number of trials between proxies and the "
                "full-size confirmation; pass n_trials (or a trial-count budget), not a timeout "
                f"(got timeout={budget.timeout!r})."
            )
        mup_space, full = _mup_space(session.space)
        proxies, confirm = _proxies(session, self.plan, budget.n_trials, full)
        explorer = proxies[0]
        explore_space = mup_space.set(_WIDTH, Fixed(explorer.width))
        start = _default_in_mup(session.default, explore_space, explorer.width)
        params = {
            "strategy": "transfer",
            **search_params(session, executor),
            "full_width": full["width"],
            "proxies": ", ".join(f"{p.name} ({p.n_trials} trials)" for p in proxies),
            "confirm_trials": confirm.n_trials,
        }
        with session.open(params, {}):
            progress = session.start_progress(budget.n_trials, 0)
            with progress or contextlib.nullcontext():
                stages = _Stages(session, executor)
                stages.run(explorer, explore_space, [start] if start else [])
                outcome = _transfer(stages, mup_space, proxies, confirm, self.plan)
                return _finish(session, executor, outcome)


@dataclass
class _Outcome:
    """What the stages found: the confirmation's study, the record, the stages table."""

    ran: StageRun
    record: TransferRecord
    stages: pd.DataFrame


class _Stages:
    """Runs the proxies' and the confirmation's stages on the executor, numbering their
    trials in one sequence (``trial-0000`` is the explorer's first), seeding each stage's
    sampler apart, and keeps their studies."""

    def __init__(self, session: SearchSession, executor: TrialExecutor) -> None:
        self.session, self.executor = session, executor
        self.studies: dict[str, optuna.Study] = {}
        self.offset = 0

    def run(
        self, proxy: Proxy, space: SearchSpace, enqueue: Sequence[Mapping[str, Any]]
    ) -> StageRun:
        stage = Stage(
            proxy.name,
            proxy.data,
            space,
            proxy.n_trials,
            enqueue=tuple(enqueue),
            seed_offset=len(self.studies) + 2,  # explorer seed+2, then +3, ...: as losstune 0.1
            trial_offset=self.offset,
        )
        ran = self.executor.run(self.session, stage)
        self.studies[proxy.name] = ran.study
        self.offset += max(proxy.n_trials, len(ran.study.trials))
        return ran


def _transfer(
    stages: _Stages,
    space: SearchSpace,
    proxies: Sequence[Proxy],
    confirm: Proxy,
    plan: TransferPlan,
) -> _Outcome:
    """Size, fit and confirm after the explorer ran (module docstring); log the fit."""
    explorer, *others = proxies
    best = _best_config(stages.studies[explorer.name])
    lr_path = f"optimizer.{best['optimizer']}.lr"
    lr_param, lr = space[lr_path], best[lr_path]
    near = _lr_range(lr_param, lr, lr / _EXPLORE_LR_FACTOR, lr * _EXPLORE_LR_FACTOR)
    for proxy in others:
        sizes_space = _around(space, best, proxy.width, {lr_path: near})
        stages.run(proxy, sizes_space, [{**best, _WIDTH: proxy.width}])

    points = [_point(p, stages.studies[p.name], lr_path) for p in proxies]
    fit = fit_step_law([p for p in points if p is not None], alpha=plan.alpha)
    if plan.alpha is not None:
        fit = dataclasses.replace(fit, notes=(*fit.notes, _held_alpha(plan.alpha)))
    record = TransferRecord(
        fit=fit,
        n_params=float(confirm.n_params),
        samples=confirm.samples,
        lr=fit.predict_lr(confirm.n_params, confirm.samples),
        batch_size=fit.predict_batch(confirm.samples),
    )
    logger.info("step law on %d proxies:\n%s", fit.n_points, fit.summary())
    lr_center, lr_low, lr_high = _confirm_lr(record.lr, lr_param, plan.max_lr_factor)
    batches = _bracket(space["batch_size"], record.batch_size.value)
    confirm_space = _around(
        space,
        best,
        confirm.width,
        {lr_path: _lr_range(lr_param, lr_center, lr_low, lr_high), "batch_size": batches},
    )
    start = {**best, _WIDTH: confirm.width, lr_path: lr_center}
    start["batch_size"] = _nearest(batches, record.batch_size.value)
    _log_fit(stages.session, record, confirm, lr_low, lr_high)
    ran = stages.run(confirm, confirm_space, [start])
    table = _stages_frame([*proxies, confirm], stages.studies, lr_path)
    tracker = stages.session.tracker
    if tracker is not None:
        tracker.log_dataframe(table, "transfer_stages.csv")
        tracker.log_metrics({"compute": float(table["compute"].sum())})
    return _Outcome(ran, record, table)


def _log_fit(
    session: SearchSession, record: TransferRecord, confirm: Proxy, lr_low: float, lr_high: float
) -> None:
    from losstune.mlflow.steplaw_plots import step_law_batch, step_law_lr

    tracker, fit = session.tracker, record.fit
    if tracker is None:
        raise RuntimeError("The session is not open.")
    tracker.log_figure(step_law_lr(fit, confirm.n_params, confirm.samples), "plots/steplaw_lr.png")
    tracker.log_figure(step_law_batch(fit, confirm.samples), "plots/steplaw_batch.png")
    tracker.log_metrics(_fit_metrics(record, lr_low, lr_high))
    tracker.log_text(fit.summary() + "\n", "steplaw.txt")


def _finish(session: SearchSession, executor: TrialExecutor, outcome: _Outcome) -> Result:
    """The search's own final selection over the confirmation trials, then the recipe with
    the transfer record in its provenance (replacing the recipe.yaml logged without it)."""
    result = finish(session, outcome.ran, executor.final_device(session.config.device))
    provenance = dataclasses.replace(result.recipe.provenance, transfer=outcome.record)
    result.recipe = result.recipe.replace(provenance=provenance)
    log_recipe(session.tracker, result)
    result.stages = outcome.stages
    return result


# -- spaces --------------------------------------------------------------------------------


def _mup_space(space: SearchSpace) -> tuple[SearchSpace, dict[str, int]]:
    """``space`` with the model fixed to a μP MLP (width left to the stages), and the full
    model's ``width``, ``depth`` and ``base_width``."""
    paths = space.paths()
    model = paths.get("model")
    offered = offered_models(space)
    if MODEL not in offered:
        raise ValueError(
            f"strategy='transfer' carries a learning rate across widths with μP, which only the "
            f"{MODEL!r} model has; the space's model is {offered}. Offer 'mlp', or use "
            "strategy='direct'."
        )
    parametrization = paths.get(_PARAMETRIZATION)
    if parametrization is not None and not parametrization.contains("mup"):
        raise ValueError(
            f"strategy='transfer' needs {_PARAMETRIZATION} = 'mup' (μP is what makes a narrow "
            f"proxy's learning rate carry over); the space has {parametrization}."
        )
    defaults = MLP()
    full = {
        "width": _fixed_int(paths, _WIDTH, defaults.width),
        "depth": _fixed_int(paths, _DEPTH, defaults.depth),
        "base_width": _fixed_int(paths, _BASE_WIDTH, defaults.base_width),
    }
    left_out = [o for o in offered if o != MODEL]
    if left_out:
        warnings.warn(
            f"strategy='transfer' carries recipes across MLP widths with μP, so it searches "
            f"the {MODEL!r} model only and leaves out {', '.join(map(repr, left_out))}; use "
            "strategy='direct' to search every family.",
            stacklevel=5,
        )
    out = space.fix("model", MODEL) if isinstance(model, Choice) else space
    for path, value in (
        (_DEPTH, full["depth"]),
        (_PARAMETRIZATION, "mup"),
        (_BASE_WIDTH, full["base_width"]),
        (_WIDTH, full["width"]),
    ):
        out = out.set(path, Fixed(value))
    optimizers = out["optimizer"]
    if isinstance(optimizers, Choice):
        usable = [o for o in optimizers.options if OPTIMIZERS.get(o).update_rule is not None]
        if not usable:
            raise ValueError(
                f"No optimizer of the space {list(optimizers.options)} has a μP learning-rate "
                "rule; strategy='transfer' needs one (e.g. adamw)."
            )
        out = out.restrict("optimizer", usable)
    return out, full


def _fixed_int(paths: Mapping[str, Any], path: str, default: int) -> int:
    param = paths.get(path)
    return int(param.value) if isinstance(param, Fixed) else int(default)


def _around(
    space: SearchSpace, config: Mapping[str, Any], width: int, searched: Mapping[str, Any]
) -> SearchSpace:
    """``space`` at ``width`` with every path of ``config`` fixed to its value, except the
    paths in ``searched`` (learning rate, batch size), set to the parameters given there."""
    out = space
    for path, value in config.items():
        if path in searched:
            continue
        out = out.set(path, Fixed(value)) if isinstance(out[path], Fixed) else out.fix(path, value)
    out = out.set(_WIDTH, Fixed(width))
    for path, param in searched.items():
        out = out.set(path, param)
    return out


def _lr_range(param: Any, center: float, low: float, high: float) -> Any:
    """A log-scale range ``[low, high]`` inside the optimizer's own range ``param``."""
    if not isinstance(param, Float):
        return param  # a fixed learning rate stays fixed
    low, high = max(low, param.low), min(high, param.high)
    if low > high:
        low = high = min(max(center, param.low), param.high)
    return Float(low, high, log=True)


def _confirm_lr(prediction: Prediction, param: Any, factor: float) -> tuple[float, float, float]:
    """The confirmation's learning rate: the prediction (inside the optimizer's range) and the
    narrower of its prediction interval and ×/÷``factor``."""
    center = prediction.value
    if isinstance(param, Float) and not param.low <= center <= param.high:
        clipped = min(max(center, param.low), param.high)
        logger.warning(
            "the step law predicts lr %.3g, outside the optimizer's range [%g, %g]; using %.3g",
            center,
            param.low,
            param.high,
            clipped,
        )
        center = clipped
    low, high = max(prediction.low, center / factor), min(prediction.high, center * factor)
    if low > high:  # the whole interval lies beyond the optimizer's range: search next to it
        low, high = center / factor, center * factor
    return center, low, high


def _bracket(param: Any, predicted: float) -> Any:
    """The allowed batch sizes next to ``predicted``: the one below and the one above."""
    if not isinstance(param, Choice):
        return param
    options = sorted(param.options)
    exact = [b for b in options if math.isclose(b, predicted, rel_tol=1e-6)]
    if exact:  # a law through equal batch sizes predicts that size up to rounding
        return Choice(tuple(exact))
    below = [b for b in options if b <= predicted]
    above = [b for b in options if b >= predicted]
    picked = sorted({*(below[-1:] or options[:1]), *(above[:1] or options[-1:])})
    return Choice(tuple(picked))


def _nearest(param: Any, predicted: float) -> Any:
    if not isinstance(param, Choice):
        return param.value
    return min(param.options, key=lambda b: abs(math.log(b / predicted)))


def _default_in_mup(default: Recipe, space: SearchSpace, width: int) -> dict[str, Any] | None:
    """The default recipe as a config of the explorer's space (μP at the proxy width), or
    None when the space does not offer it."""
    params = {**default.model.params, "width": width, "parametrization": "mup"}
    paths = space.paths()
    for path, key in ((_DEPTH, "depth"), (_BASE_WIDTH, "base_width")):
        params[key] = _fixed_int(paths, path, 0)
    try:
        return recipe_to_config(default.replace(model=Component(MODEL, params)), space)
    except (SpaceError, RecipeError):
        return None


# -- stages and points -----------------------------------------------------------------------


def _proxies(
    session: SearchSession, plan: TransferPlan, n_trials: int, full: Mapping[str, int]
) -> tuple[list[Proxy], Proxy]:
    """The proxies (the explorer first: widest on most data) and the confirmation."""
    dataset, epochs, seed = session.dataset, session.epochs, session.config.seed
    widths = [w for w in plan.widths if w < full["width"]] or [full["width"]]
    sizes = sorted(((w, f) for w in widths for f in plan.fractions), key=lambda s: (-s[0], -s[1]))
    confirm_trials, per_proxy = plan.split(n_trials, len(sizes))
    outputs = n_outputs(dataset.task, dataset.n_classes)

    def proxy(name: str, width: int, fraction: float, data: Dataset, trials: int) -> Proxy:
        n_params = _n_params(width, full, dataset.n_features, outputs)
        return Proxy(name, width, fraction, data, trials, n_params, epochs)

    proxies = [
        proxy(f"proxy-w{w}-f{f:g}", w, f, training_subset(dataset, f, seed=seed), n)
        for (w, f), n in zip(sizes, per_proxy, strict=True)
    ]
    return proxies, proxy("full", full["width"], 1.0, dataset, confirm_trials)


def _n_params(width: int, full: Mapping[str, int], n_features: int, outputs: int) -> int:
    """Parameters of the MLP at ``width`` (built on the meta device: no memory, no RNG)."""
    factory = MLP(width=width, depth=full["depth"])
    with torch.device("meta"):
        module = factory.build(n_features, outputs)
    return int(sum(p.numel() for p in module.parameters()))


def training_subset(dataset: Dataset, fraction: float, *, seed: int = 0) -> Dataset:
    """``dataset`` with a seeded share ``fraction`` of its training rows (stratified by
    class for classification); validation and test are unchanged, the fingerprint changes."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction!r}.")
    if fraction == 1:
        return dataset
    rows = np.arange(len(dataset.y_train))
    strata = dataset.y_train if dataset.task.is_classification else None
    try:
        keep, _ = train_test_split(rows, train_size=fraction, random_state=seed, stratify=strata)
    except ValueError as err:
        raise ValueError(
            f"Cannot take a stratified {fraction:g} of the {len(rows)} training rows: {err} "
            "Use larger TransferPlan fractions, or strategy='direct' on data this small."
        ) from None
    keep = np.sort(keep)
    y = dataset.y_train[keep]
    changes: dict[str, Any] = {"X_train": dataset.X_train[keep], "y_train": y}
    if dataset.class_counts is not None:
        changes["class_counts"] = np.bincount(y, minlength=dataset.n_classes or 0).astype(np.int64)
    tag = f"{dataset.fingerprint}|training-subset|{float(fraction)}|{seed}"
    changes["fingerprint"] = hashlib.blake2b(tag.encode(), digest_size=16).hexdigest()
    return dataclasses.replace(dataset, **changes)


def _best_config(study: optuna.Study) -> dict[str, Any]:
    try:
        trial = study.best_trial
    except ValueError:
        raise RuntimeError(
            f"No trial of study {study.study_name!r} completed, so its best learning rate is "
            "unknown; see the failures in the MLflow parent run, lower the learning rates or "
            "give the search more trials."
        ) from None
    return dict(trial.user_attrs["config"])


def _point(stage: Proxy, study: optuna.Study, lr_path: str) -> StepLawPoint | None:
    """The stage's best trial as a step-law point (None, with a warning, if none completed)."""
    try:
        config = _best_config(study)
    except RuntimeError as err:
        logger.warning("%s: left out of the step-law fit", err)
        return None
    batch = min(int(config["batch_size"]), stage.rows)  # what the runner really used
    return StepLawPoint(stage.n_params, stage.samples, float(config[lr_path]), batch)


def _stages_frame(
    stages: Sequence[Proxy], studies: Mapping[str, optuna.Study], lr_path: str
) -> pd.DataFrame:
    """One row per stage: its size, trials, epochs trained, compute (parameters x rows x
    epochs trained), trial seconds, and its best trial's value, learning rate and batch size."""
    rows = []
    for stage in stages:
        study = studies[stage.name]
        trials = study.get_trials(deepcopy=False)
        epochs = sum(len(t.intermediate_values) for t in trials)
        complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
        best = _best_config(study) if complete else {}
        rows.append(
            {
                "stage": stage.name,
                "width": stage.width,
                "fraction": stage.fraction,
                "rows": stage.rows,
                "n_params": stage.n_params,
                "samples": stage.samples,
                "trials": len(trials),
                "epochs_trained": epochs,
                "compute": float(stage.n_params) * stage.rows * epochs,
                "seconds": sum(t.duration.total_seconds() for t in trials if t.duration),
                "best_value": study.best_value if complete else float("nan"),
                "lr": best.get(lr_path, float("nan")),
                "batch_size": best.get("batch_size", float("nan")),
            }
        )
    return pd.DataFrame(rows)


def _held_alpha(alpha: float) -> str:
    why = (
        "μP keeps the best learning rate fixed as the model widens"
        if alpha == 0
        else "as TransferPlan.alpha asks"
    )
    return f"alpha held at {alpha:g}, not fitted: {why}."


def _fit_metrics(record: TransferRecord, lr_low: float, lr_high: float) -> dict[str, float]:
    fit: StepLawFit = record.fit
    return {
        "steplaw.a": fit.a,
        "steplaw.alpha": fit.alpha,
        "steplaw.alpha_se": fit.lr.standard_error("alpha"),
        "steplaw.beta": fit.beta,
        "steplaw.beta_se": fit.lr.standard_error("beta"),
        "steplaw.lr_residual_sd": fit.lr.residual_sd,
        "steplaw.c": fit.c,
        "steplaw.gamma": fit.gamma,
        "steplaw.gamma_se": fit.batch.standard_error("gamma"),
        "predicted_lr": record.lr.value,
        "predicted_lr_low": record.lr.low,
        "predicted_lr_high": record.lr.high,
        "predicted_batch_size": record.batch_size.value,
        "predicted_batch_size_low": record.batch_size.low,
        "predicted_batch_size_high": record.batch_size.high,
        "confirm_lr_low": lr_low,
        "confirm_lr_high": lr_high,
    }
