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
import copy
import dataclasses
import functools
import hashlib
import logging
import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

from losstune.data import Dataset
from losstune.metrics import get_metric
from losstune.optim import OPTIMIZERS
from losstune.recipe import Component, Recipe, RecipeError, TransferRecord
from losstune.runners.models import MODELS, n_outputs
from losstune.runners.torch_runner import TrainingDiverged
from losstune.scaling.steplaw import Prediction, StepLawFit, StepLawPoint, fit_step_law
from losstune.search.budget import make_budget
from losstune.search.lock import study_lock
from losstune.search.objective import EpochCallback, TrialContext, run_trial
from losstune.search.progress import SearchProgress
from losstune.search.result import Result
from losstune.search.samplers import make_pruner, make_sampler
from losstune.spaces import Choice, Fixed, Float, SearchSpace, default_space, recipe_to_config
from losstune.spaces.space import SpaceError

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
class _Stage:
    """One study of a transfer search: a model width on a data subset."""

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


def search_transfer(
    dataset: Dataset,
    space: SearchSpace | None = None,
    metric: str | None = None,
    budget: int | str | None = None,
    n_trials: int | None = None,
    timeout: float | str | None = None,
    sampler: str | optuna.samplers.BaseSampler = "tpe",
    pruner: str | optuna.pruners.BasePruner | None = "median",
    storage: str | None = None,
    study_name: str | None = None,
    seed: int = 0,
    tracking_uri: str | None = None,
    *,
    run_dir: str | Path | None = None,
    epochs: int = 30,
    top_k: int = 3,
    n_seeds: int = 3,
    device: str = "auto",
    show_progress: bool = False,
    on_epoch: EpochCallback | None = None,
    plan: TransferPlan | None = None,
) -> Result:
    """A transfer search (module docstring); arguments as :func:`losstune.search`, plus
    ``plan`` (default :class:`TransferPlan`). Only a trial budget can be split: a timeout is
    refused."""
    from losstune.mlflow import SearchTracker, artifact_uri, local_tracking_uri
    from losstune.search import run

    plan = plan or TransferPlan()
    metric = metric or run._announce_default_metric(dataset)
    scorer = get_metric(metric, dataset.task)
    space = space or default_space(dataset.task, epochs=epochs)
    trials = make_budget(budget, n_trials, timeout)
    if trials.timeout is not None or trials.n_trials is None:
        raise ValueError(
            "strategy='transfer' splits a number of trials between proxies and the full-size "
            f"confirmation; pass n_trials (or a trial-count budget), not a timeout "
            f"(got timeout={trials.timeout!r})."
        )
    if top_k < 1 or n_seeds < 1:
        raise ValueError(f"top_k and n_seeds must be >= 1; got top_k={top_k}, n_seeds={n_seeds}.")
    fixed_epochs = space.paths().get("epochs")
    if isinstance(fixed_epochs, Fixed):
        epochs = int(fixed_epochs.value)
    mup_space, full = _mup_space(space)
    stages, confirm = _stages(dataset, plan, trials.n_trials, full, epochs, seed)
    run_path = Path(run_dir or run.DEFAULT_RUN_DIR).resolve()
    run_path.mkdir(parents=True, exist_ok=True)
    storage = storage or f"sqlite:///{run_path / 'optuna.db'}"
    if study_name is None:
        plan_digest = hashlib.blake2b(repr(plan).encode(), digest_size=3).hexdigest()
        study_name = (
            f"{run._default_study_name(dataset, metric, space, seed)}-transfer-{plan_digest}"
        )
    default = Recipe.default(dataset.task, metric).replace(epochs=epochs, seed=seed)
    local = storage.startswith("sqlite")

    with (
        study_lock(run_path, study_name) if local else contextlib.nullcontext(),
        run._quiet_optuna(show_progress),
    ):
        remote = (tracking_uri or "").startswith(("http://", "https://", "databricks"))
        tracker = SearchTracker(
            tracking_uri or local_tracking_uri(run_path),
            artifact_location=None if remote else artifact_uri(run_path),
        )
        studies = _Studies(storage, study_name, sampler, pruner, seed, scorer.direction)
        anchor = studies.create(confirm.name)  # holds the parent run id, created first
        run._check_same_search(anchor, dataset, metric)
        parent = anchor.user_attrs.get("mlflow_parent_run_id")
        if parent is None:
            parent = tracker.start_search(
                run_name=study_name,
                params={
                    "strategy": "transfer",
                    "metric": metric,
                    "sampler": run._name(sampler),
                    "pruner": run._name(pruner),
                    "seed": seed,
                    "n_trials": trials.n_trials,
                    "top_k": top_k,
                    "n_seeds": n_seeds,
                    "task": dataset.task.value,
                    "full_width": full["width"],
                    "proxies": ", ".join(f"{s.name} ({s.n_trials} trials)" for s in stages),
                    "confirm_trials": confirm.n_trials,
                },
                tags={"dataset_fingerprint": dataset.fingerprint, "optuna.study_name": study_name},
            )
            for key, value in (
                ("mlflow_parent_run_id", parent),
                ("dataset_fingerprint", dataset.fingerprint),
                ("metric", metric),
                ("interrupted_trials", []),
            ):
                anchor.set_user_attr(key, value)
        else:
            tracker.resume_search(parent)
            if local:
                tracker.kill_stale_trials()

        progress = SearchProgress(trials.n_trials, 0, metric) if show_progress else None
        runner = _StageRunner(studies, tracker, metric, seed, device, on_epoch, progress, local)
        try:
            with progress or contextlib.nullcontext():
                outcome = _transfer(runner, mup_space, stages, confirm, default, plan)
                result = _finish(runner, outcome, default, scorer, top_k, n_seeds)
        except BaseException as err:
            tracker.finish_search("KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
            raise
        result.storage, result.run_dir = storage, run_path
        return result


@dataclass
class _Outcome:
    """What the stages found: the last study and its context, the record, the stages table."""

    study: optuna.Study
    context: TrialContext
    record: TransferRecord
    stages: pd.DataFrame


def _transfer(runner, space, stages, confirm, default, plan) -> _Outcome:
    """Explore, size, fit and confirm (module docstring); log the fit to the parent run."""
    from losstune.mlflow.steplaw_plots import step_law_batch, step_law_lr

    explorer, *others = stages
    explore_space = space.set(_WIDTH, Fixed(explorer.width))
    start = _default_in_mup(default, explore_space, explorer.width)
    studies = {explorer.name: runner.run(explorer, explore_space, [start] if start else [])[0]}
    best = _best_config(studies[explorer.name])
    lr_path = f"optimizer.{best['optimizer']}.lr"
    lr_param, lr = space[lr_path], best[lr_path]
    near = _lr_range(lr_param, lr, lr / _EXPLORE_LR_FACTOR, lr * _EXPLORE_LR_FACTOR)
    for stage in others:
        sizes_space = _around(space, best, stage.width, {lr_path: near})
        studies[stage.name] = runner.run(stage, sizes_space, [{**best, _WIDTH: stage.width}])[0]

    points = [_point(s, studies[s.name], lr_path) for s in stages]
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

    tracker = runner.tracker
    tracker.log_figure(step_law_lr(fit, confirm.n_params, confirm.samples), "plots/steplaw_lr.png")
    tracker.log_figure(step_law_batch(fit, confirm.samples), "plots/steplaw_batch.png")
    tracker.log_metrics(_fit_metrics(record, lr_low, lr_high))
    tracker.log_text(fit.summary() + "\n", "steplaw.txt")

    study, context = runner.run(confirm, confirm_space, [start])
    studies[confirm.name] = study
    table = _stages_frame([*stages, confirm], studies, lr_path)
    tracker.log_dataframe(table, "transfer_stages.csv")
    tracker.log_metrics({"compute": float(table["compute"].sum())})
    return _Outcome(study, context, record, table)


def _finish(runner, outcome: _Outcome, default, scorer, top_k, n_seeds) -> Result:
    """The search's own final selection over the confirmation trials, then the recipe with
    the transfer record in its provenance (replacing the recipe.yaml logged without it)."""
    from losstune.search import run

    result = run._finish(
        outcome.study, outcome.context, default, scorer, top_k, n_seeds, runner.progress
    )
    provenance = dataclasses.replace(result.recipe.provenance, transfer=outcome.record)
    result.recipe = result.recipe.replace(provenance=provenance)
    with tempfile.TemporaryDirectory() as tmp:
        runner.tracker.log_artifact(result.recipe.save(Path(tmp) / "recipe.yaml"))
    result.stages = outcome.stages
    return result


class _Studies:
    """Creates (or reopens) the Optuna study of each stage, all in one storage."""

    def __init__(self, storage, study_name, sampler, pruner, seed, direction) -> None:
        self.storage, self.study_name = storage, study_name
        self.sampler, self.pruner, self.seed, self.direction = sampler, pruner, seed, direction
        self.made = 0

    def create(self, stage: str) -> optuna.Study:
        self.made += 1
        # a sampler instance caches per-study state, so each study gets its own copy
        sampler = self.sampler if isinstance(self.sampler, str) else copy.deepcopy(self.sampler)
        return optuna.create_study(
            study_name=f"{self.study_name}-{stage}",
            storage=self.storage,
            sampler=make_sampler(sampler, self.seed + self.made),
            pruner=make_pruner(self.pruner),
            direction=self.direction,
            load_if_exists=True,
        )


class _StageRunner:
    """Runs a stage's study to its trial count with the search's trial machinery
    (:func:`~losstune.search.objective.run_trial`), resuming what an earlier run left."""

    def __init__(self, studies, tracker, metric, seed, device, on_epoch, progress, local) -> None:
        self.studies, self.tracker, self.metric = studies, tracker, metric
        self.seed, self.device, self.on_epoch = seed, device, on_epoch
        self.progress, self.local = progress, local
        self.offset = 0

    def run(
        self, stage: _Stage, space: SearchSpace, enqueue: Sequence[Mapping[str, Any]]
    ) -> tuple[optuna.Study, TrialContext]:
        from losstune.search import run

        study = self.studies.create(stage.name)
        if not study.trials:
            for config in enqueue:
                study.enqueue_trial(dict(config))
        elif self.local:
            run._retry_interrupted(study)
        tracker = _StageTracker(self.tracker, stage.name, self.offset)
        on_epoch = self.on_epoch
        if on_epoch is not None:  # numbered like the MLflow trial runs: one sequence
            on_epoch = functools.partial(_shifted, on_epoch, self.offset)
        context = TrialContext(
            stage.data, space, self.metric, self.seed, self.device, tracker, on_epoch
        )
        done = run._counted(study)
        for _ in range(done if self.progress is not None else 0):
            self.progress.advance()
        if done < stage.n_trials:
            study.optimize(
                lambda trial: run_trial(trial, context),
                n_trials=stage.n_trials - done,
                catch=(TrainingDiverged, RecipeError),
                callbacks=[self.progress] if self.progress else None,
            )
        self.offset += max(stage.n_trials, len(study.trials))
        return study, context


def _shifted(
    on_epoch: EpochCallback, offset: int, number: int, epoch: int, metrics: Mapping[str, float]
) -> None:
    on_epoch(offset + number, epoch, metrics)


class _StageTracker:
    """The search's tracker for one stage: MLflow numbers the trials of all stages in one
    sequence (``trial-0000`` is the explorer's first) and each trial run records its stage."""

    def __init__(self, tracker: Any, stage: str, offset: int) -> None:
        self._tracker, self._stage, self._offset = tracker, stage, offset

    def start_trial(self, number: int, params: Mapping[str, Any]) -> Any:
        return self._tracker.start_trial(self._offset + number, {**params, "stage": self._stage})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracker, name)


# -- spaces --------------------------------------------------------------------------------


def _mup_space(space: SearchSpace) -> tuple[SearchSpace, dict[str, int]]:
    """``space`` with the model fixed to a μP MLP (width left to the stages), and the full
    model's ``width``, ``depth`` and ``base_width``."""
    paths = space.paths()
    model = paths.get("model")
    offered = model.options if isinstance(model, Choice) else (getattr(model, "value", None),)
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
    defaults = MODELS.get(MODEL)()
    full = {
        "width": _fixed_int(paths, _WIDTH, defaults.width),
        "depth": _fixed_int(paths, _DEPTH, defaults.depth),
        "base_width": _fixed_int(paths, _BASE_WIDTH, defaults.base_width),
    }
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
    for path, key in ((_DEPTH, "depth"), (_BASE_WIDTH, "base_width")):
        params[key] = space[path].value
    try:
        return recipe_to_config(default.replace(model=Component(MODEL, params)), space)
    except (SpaceError, RecipeError):
        return None


# -- stages and points -----------------------------------------------------------------------


def _stages(
    dataset: Dataset,
    plan: TransferPlan,
    n_trials: int,
    full: Mapping[str, int],
    epochs: int,
    seed: int,
) -> tuple[list[_Stage], _Stage]:
    """The proxies (the explorer first: widest on most data) and the confirmation stage."""
    widths = [w for w in plan.widths if w < full["width"]] or [full["width"]]
    sizes = sorted(((w, f) for w in widths for f in plan.fractions), key=lambda s: (-s[0], -s[1]))
    confirm_trials, per_proxy = plan.split(n_trials, len(sizes))
    outputs = n_outputs(dataset.task, dataset.n_classes)

    def stage(name: str, width: int, fraction: float, data: Dataset, trials: int) -> _Stage:
        n_params = _n_params(width, full, dataset.n_features, outputs)
        return _Stage(name, width, fraction, data, trials, n_params, epochs)

    proxies = [
        stage(f"proxy-w{w}-f{f:g}", w, f, training_subset(dataset, f, seed=seed), n)
        for (w, f), n in zip(sizes, per_proxy, strict=True)
    ]
    return proxies, stage("full", full["width"], 1.0, dataset, confirm_trials)


def _n_params(width: int, full: Mapping[str, int], n_features: int, outputs: int) -> int:
    """Parameters of the MLP at ``width`` (built on the meta device: no memory, no RNG)."""
    factory = MODELS.get(MODEL)(width=width, depth=full["depth"])
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
        changes["class_counts"] = np.bincount(y, minlength=dataset.n_classes).astype(np.int64)
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


def _point(stage: _Stage, study: optuna.Study, lr_path: str) -> StepLawPoint | None:
    """The stage's best trial as a step-law point (None, with a warning, if none completed)."""
    try:
        config = _best_config(study)
    except RuntimeError as err:
        logger.warning("%s: left out of the step-law fit", err)
        return None
    batch = min(int(config["batch_size"]), stage.rows)  # what the runner really used
    return StepLawPoint(stage.n_params, stage.samples, float(config[lr_path]), batch)


def _stages_frame(
    stages: Sequence[_Stage], studies: Mapping[str, optuna.Study], lr_path: str
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
