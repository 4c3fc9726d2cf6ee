"""BoostingObjective: LightGBM's gradient and hessian derived from the torch losses.

The contract tests are parametrized over ``LOSSES``, so a new loss is checked for boosting the
moment it registers: its derived gradient against autograd, its derived curvature against
finite differences, the safe hessian against the floor, and ``per_sample`` against the loss.
Training equality then checks that cross-entropy, mse and huber, derived, grow the same trees
as LightGBM's built-in ``binary``, ``multiclass``, ``regression`` and ``huber``.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest
import torch

from losstune.objectives import LOSSES, make_loss
from losstune.objectives import boosting as boosting_module
from losstune.objectives.boosting import BoostingObjective, initial_score
from losstune.params import Float
from losstune.task import Task

N, K = 24, 4
COUNTS = {Task.BINARY: [30, 10], Task.MULTICLASS: [40, 25, 5, 10], Task.REGRESSION: None}


def _settings(cls) -> list[dict[str, float]]:
    """The defaults, then each searched float hyperparameter at each end of its range."""
    ends = [
        {name: value}
        for name, param in cls.space().items()
        if isinstance(param, Float)
        for value in (param.low, param.high)
    ]
    return [{}, *ends]


def _cases() -> list[object]:
    """Every loss and task it supports: each setting at tau = 1, the defaults at tau = 0.5, 2."""
    return [
        pytest.param(name, task, tau, params, id=f"{name}-{task.value}-tau{tau}-{i}")
        for name, cls in LOSSES.items()
        for task in sorted(cls.tasks)
        for tau, settings in [
            (1.0, _settings(cls)),
            *(((0.5, [{}]), (2.0, [{}])) if cls.softmax_based else ()),
        ]
        for i, params in enumerate(settings)
    ]


def _point(task: Task, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if task is Task.REGRESSION:
        return 3 * rng.normal(size=N), 3 * rng.normal(size=N)
    shape = (N, K) if task is Task.MULTICLASS else (N,)
    classes = K if task is Task.MULTICLASS else 2
    return 3 * rng.normal(size=shape), np.arange(N) % classes


def _objective(name: str, task: Task, tau: float, params: dict) -> BoostingObjective:
    """The derivation itself, also for losses with a closed form (tested on their own)."""
    loss = LOSSES.get(name)(**params)
    return BoostingObjective(loss, task, tau, class_counts=COUNTS[task], closed_forms=False)


def _torch_target(task: Task, target: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(target)
    return t.double() if task is Task.REGRESSION else t.long()


@pytest.mark.parametrize(("name", "task", "tau", "params"), _cases())
def test_derived_gradient_equals_autograd_of_the_summed_loss(name, task, tau, params) -> None:
    objective = _objective(name, task, tau, params)
    scores, target = _point(task)
    x = torch.from_numpy(scores).requires_grad_()
    outputs = x / tau if objective.loss.softmax_based else x
    (expected,) = torch.autograd.grad(objective.loss(outputs, _torch_target(task, target)).sum(), x)
    grad, _ = objective.grad_hess(scores, target)
    np.testing.assert_allclose(grad, expected.numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(("name", "task", "tau", "params"), _cases())
def test_derived_curvature_equals_finite_differences_and_hess_respects_the_floor(
    name, task, tau, params
) -> None:
    objective = _objective(name, task, tau, params)
    scores, target = _point(task)
    derived = objective.derivatives(scores, target)
    eps = 1e-5
    columns = scores.reshape(N, -1)
    central = np.empty_like(columns)
    for k in range(columns.shape[1]):
        step = np.zeros_like(columns)
        step[:, k] = eps
        up = objective.grad_hess((columns + step).reshape(scores.shape), target)[0]
        down = objective.grad_hess((columns - step).reshape(scores.shape), target)[0]
        central[:, k] = (up - down).reshape(N, -1)[:, k] / (2 * eps)
    np.testing.assert_allclose(
        derived.curvature, central.reshape(scores.shape), rtol=1e-5, atol=1e-7
    )

    constant = objective.loss.boosting_hessian
    if constant is not None:
        np.testing.assert_array_equal(derived.hess, constant)
        assert derived.floored == 0
        return
    factor = K / (K - 1) if task is Task.MULTICLASS else 1.0
    floor = factor * objective.floor * _canonical_curvature(task, scores, tau, objective)
    assert (derived.hess >= floor * (1 - 1e-12)).all()
    np.testing.assert_allclose(derived.hess, np.maximum(factor * derived.curvature, floor))
    assert derived.floored == int((factor * derived.curvature < floor).sum())


def _canonical_curvature(task, scores, tau, objective) -> np.ndarray:
    """Independent reference: cross-entropy's p (1 - p) / tau^2, or 1 for regression."""
    if task is Task.REGRESSION:
        return np.ones_like(scores)
    tau = tau if objective.loss.softmax_based else 1.0
    z = scores / tau
    if task is Task.BINARY:
        p = 1 / (1 + np.exp(-z))
    else:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
    return p * (1 - p) / tau**2


@pytest.mark.parametrize(("name", "task", "tau", "params"), _cases())
def test_per_sample_equals_the_loss(name, task, tau, params) -> None:
    objective = _objective(name, task, tau, params)
    scores, target = _point(task)
    outputs = torch.from_numpy(scores)
    outputs = outputs / tau if objective.loss.softmax_based else outputs
    expected = objective.loss(outputs, _torch_target(task, target)).numpy()
    np.testing.assert_allclose(objective.per_sample(scores, target), expected, rtol=1e-14)


@pytest.mark.parametrize(("name", "task", "tau", "params"), _cases()[::3])
def test_derivatives_do_not_depend_on_chunking(name, task, tau, params, monkeypatch) -> None:
    """Rows are derived together (the loss contract: each row's loss sees only its row), so
    a chunk of 5 rows gives what one chunk of all rows gives."""
    objective = _objective(name, task, tau, params)
    scores, target = _point(task, seed=1)
    whole = objective.derivatives(scores, target)
    monkeypatch.setattr(boosting_module, "CHUNK_ROWS", 5)
    chunked = objective.derivatives(scores, target)
    for a, b in ((whole.grad, chunked.grad), (whole.curvature, chunked.curvature)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


# --- the documented departures from the exact diagonal --------------------------------------


@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS])
@pytest.mark.parametrize("tau", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("scale", [3.0, 40.0])
def test_the_cross_entropy_closed_form_equals_the_derivation(task, tau, scale) -> None:
    scores, target = _point(task)
    scores = scale * scores / 3  # 40: saturated softmax, p within 1e-16 of 0 or 1
    loss = make_loss("cross_entropy")
    closed = BoostingObjective(loss, task, tau).derivatives(scores, target)
    derived = BoostingObjective(loss, task, tau, closed_forms=False).derivatives(scores, target)
    for a, b in ((closed.grad, derived.grad), (closed.curvature, derived.curvature)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(closed.hess, derived.hess, rtol=1e-12, atol=1e-16)


def test_multiclass_cross_entropy_is_lightgbm_multiclass() -> None:
    """Gradient ``p - onehot``, hessian ``K / (K - 1) * p (1 - p)``: LightGBM's formulas."""
    scores, target = _point(Task.MULTICLASS)
    objective = BoostingObjective(make_loss("cross_entropy"), Task.MULTICLASS)
    derived = objective.derivatives(scores, target)
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(derived.grad, p - np.eye(K)[target], atol=1e-15)
    np.testing.assert_allclose(derived.hess, K / (K - 1) * p * (1 - p), rtol=1e-13)
    assert derived.floored == 0


def test_multiclass_results_are_column_major_like_lightgbm_scores() -> None:
    scores, target = _point(Task.MULTICLASS)
    objective = BoostingObjective(make_loss("cross_entropy"), Task.MULTICLASS)
    grad, hess = objective.grad_hess(np.asfortranarray(scores), target)
    assert grad.shape == hess.shape == (N, K)
    assert grad.flags.f_contiguous and hess.flags.f_contiguous
    np.testing.assert_array_equal(grad, objective.grad_hess(scores, target)[0])


def test_read_only_inputs_are_accepted() -> None:
    scores, target = _point(Task.MULTICLASS)
    scores.flags.writeable = target.flags.writeable = False
    objective = BoostingObjective(make_loss("focal"), Task.MULTICLASS)
    assert objective.grad_hess(scores, target)[0].shape == (N, K)


def test_a_flat_loss_is_floored_to_a_tenth_of_the_cross_entropy_curvature() -> None:
    # probability-MAE at p = 1/2 has zero curvature: every entry is raised to 0.1 * 1/4
    objective = BoostingObjective(make_loss("mae_probs"), Task.BINARY)
    derived = objective.derivatives(np.zeros(N), np.arange(N) % 2)
    np.testing.assert_allclose(derived.curvature, 0.0, atol=1e-16)
    np.testing.assert_allclose(derived.hess, 0.025)
    assert derived.floored == N and derived.floored_fraction == 1.0


def test_huber_uses_lightgbm_unit_hessian_outside_its_quadratic_zone() -> None:
    objective = BoostingObjective(make_loss("huber", {"delta": 1.0}), Task.REGRESSION)
    derived = objective.derivatives(np.array([-0.25, 0.5, 4.0, -4.0]), np.zeros(4))
    np.testing.assert_allclose(derived.grad, [-0.25, 0.5, 1.0, -1.0])
    np.testing.assert_allclose(derived.curvature, [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_array_equal(derived.hess, 1.0)


def test_temperature_enters_through_the_chain_rule() -> None:
    scores, target = _point(Task.BINARY)
    hot = BoostingObjective(make_loss("cross_entropy"), Task.BINARY, temperature=2.0)
    cold = BoostingObjective(make_loss("cross_entropy"), Task.BINARY)
    grad, hess = hot.grad_hess(scores, target)
    cold_grad, cold_hess = cold.grad_hess(scores / 2, target)
    np.testing.assert_allclose(grad, cold_grad / 2, rtol=1e-14)
    np.testing.assert_allclose(hess, cold_hess / 4, rtol=1e-14)


def test_logit_adjusted_is_prepared_with_the_class_counts() -> None:
    scores, target = _point(Task.MULTICLASS)
    counts = COUNTS[Task.MULTICLASS]
    objective = BoostingObjective(make_loss("logit_adjusted"), Task.MULTICLASS, 1.0, counts)
    expected = BoostingObjective(make_loss("cross_entropy"), Task.MULTICLASS)
    log_prior = np.log(np.asarray(counts) / sum(counts))
    np.testing.assert_allclose(
        objective.grad_hess(scores, target)[0],
        expected.grad_hess(scores + log_prior, target)[0],
        atol=1e-15,
    )


def test_float32_precision_agrees_with_float64_to_float32_rounding() -> None:
    scores, target = _point(Task.MULTICLASS)
    exact = BoostingObjective(make_loss("focal"), Task.MULTICLASS)
    single = BoostingObjective(make_loss("focal"), Task.MULTICLASS, precision="float32")
    for a, b in zip(single.grad_hess(scores, target), exact.grad_hess(scores, target), strict=True):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# --- initial scores -----------------------------------------------------------------------


def test_initial_score_is_lightgbm_boost_from_average() -> None:
    y = np.array([0, 1, 1, 1, 2, 2])
    w = np.array([1.0, 1.0, 1.0, 1.0, 2.0, 2.0])
    np.testing.assert_allclose(initial_score(Task.BINARY, y > 0), [np.log(5)])
    np.testing.assert_allclose(initial_score("binary", y == 2, w), [0.0])
    np.testing.assert_allclose(initial_score(Task.MULTICLASS, y), np.log([1 / 6, 1 / 2, 1 / 3]))
    np.testing.assert_allclose(
        initial_score(Task.MULTICLASS, y, n_classes=4), np.log([1 / 6, 1 / 2, 1 / 3, 1e-15])
    )
    np.testing.assert_allclose(initial_score(Task.REGRESSION, y, w), [11 / 8])
    np.testing.assert_allclose(initial_score(Task.BINARY, np.zeros(3)), [np.log(1e-15)])


# --- training equality with LightGBM's built-in objectives ----------------------------------

PARAMS = {
    "deterministic": True,
    "num_threads": 1,
    "force_row_wise": True,
    "seed": 0,
    "bagging_fraction": 1.0,
    "feature_fraction": 1.0,
    "num_leaves": 15,
    "learning_rate": 0.1,
    "verbose": -1,
}
ROUNDS = 25
RTOL = 1e-7  # raw scores, relative to their largest magnitude; measured ~1e-15


def _training_data(task: Task) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(600, 5))
    w = rng.normal(size=(5, 3))
    if task is Task.BINARY:
        return x, (x @ w[:, 0] + 0.5 * rng.normal(size=600) > 0.4).astype(np.float64)
    if task is Task.MULTICLASS:
        return x, (x @ w + rng.gumbel(size=(600, 3))).argmax(axis=1).astype(np.float64)
    y = x @ w[:, 0] + rng.standard_t(2, size=600)  # heavy tails: Huber's linear zone is used
    return x, y.astype(np.float32).astype(np.float64)  # LightGBM stores labels in float32


@pytest.mark.parametrize(
    ("task", "builtin", "loss", "extra", "weighted"),
    [
        (Task.BINARY, "binary", make_loss("cross_entropy"), {}, False),
        (Task.BINARY, "binary", make_loss("cross_entropy"), {}, True),
        (Task.MULTICLASS, "multiclass", make_loss("cross_entropy"), {"num_class": 3}, False),
        (Task.REGRESSION, "regression", make_loss("mse"), {}, False),
        (Task.REGRESSION, "huber", make_loss("huber", {"delta": 1.5}), {"alpha": 1.5}, False),
    ],
    ids=["binary", "binary-weighted", "multiclass", "regression", "huber"],
)
@pytest.mark.parametrize("closed_forms", [True, False], ids=["closed-forms", "derived"])
def test_derived_objective_trains_the_same_model_as_lightgbm_builtin(
    task, builtin, loss, extra, weighted, closed_forms
) -> None:
    x, y = _training_data(task)
    # weights that are float32 numbers, as LightGBM stores them
    weights = np.random.default_rng(3).choice([0.5, 1.0, 2.0], size=len(y)) if weighted else None
    params = {**PARAMS, **extra}
    reference = lgb.train(
        {**params, "objective": builtin}, lgb.Dataset(x, y, weight=weights), ROUNDS
    )

    counts = np.bincount(y.astype(int)) if task.is_classification else None
    objective = BoostingObjective(loss, task, class_counts=counts, closed_forms=closed_forms)
    start = initial_score(task, y, weights)
    floored = []

    def custom(preds: np.ndarray, data: lgb.Dataset) -> tuple[np.ndarray, np.ndarray]:
        derived = objective.derivatives(preds, data.get_label())
        floored.append(derived.floored)
        if weights is None:
            return derived.grad, derived.hess
        return derived.grad * weights, derived.hess * weights  # unweighted: the runner weighs

    init = np.tile(start, (len(y), 1)) if task is Task.MULTICLASS else np.full(len(y), start[0])
    data = lgb.Dataset(x, y, weight=weights, init_score=init)
    model = lgb.train({**params, "objective": custom}, data, ROUNDS)
    expected = reference.predict(x, raw_score=True)
    got = model.predict(x, raw_score=True) + (start if task is Task.MULTICLASS else start[0])
    assert reference.num_trees() == model.num_trees()
    np.testing.assert_allclose(got, expected, rtol=0, atol=RTOL * np.abs(expected).max())
    assert sum(floored) == 0


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "scores", "target", "match"),
    [
        (Task.BINARY, np.zeros((4, 2)), np.zeros(4), r"binary scores must have shape \(N,\)"),
        (Task.REGRESSION, np.zeros((4, 1)), np.zeros(4), r"shape \(N,\)"),
        (Task.MULTICLASS, np.zeros(12), np.zeros(12), r"shape \(N, 4\).*LightGBM 4"),
        (Task.MULTICLASS, np.zeros((4, 3)), np.zeros(4), r"shape \(N, 4\)"),
        (Task.BINARY, np.zeros(4), np.zeros(5), r"target must have shape \(4,\)"),
        (Task.BINARY, np.zeros(4), np.array([0, 1, 2, 1]), r"indices in \[0, 1\]"),
        (Task.MULTICLASS, np.zeros((2, 4)), np.array([0, -1]), r"indices in \[0, 3\]"),
        (Task.BINARY, np.zeros(2), np.array([0.0, 0.5]), "whole class indices"),
        (Task.BINARY, np.array([0.0, np.nan]), np.array([0, 1]), "NaN or infinity"),
        (Task.REGRESSION, np.zeros(2), np.array([0.0, np.inf]), "finite"),
        (Task.BINARY, np.array(["a", "b"]), np.array([0, 1]), "real numbers"),
    ],
)
def test_bad_inputs_raise_value_errors_that_say_what_is_wrong(task, scores, target, match):
    loss = make_loss("mse" if task is Task.REGRESSION else "cross_entropy")
    objective = BoostingObjective(loss, task, class_counts=COUNTS[task])
    with pytest.raises(ValueError, match=match):
        objective.grad_hess(scores, target)
    with pytest.raises(ValueError, match=match):
        objective.per_sample(scores, target)


def test_bad_construction_raises_value_errors() -> None:
    with pytest.raises(ValueError, match="'mse' loss does not support the binary task"):
        BoostingObjective(make_loss("mse"), Task.BINARY)
    with pytest.raises(ValueError, match="temperature 2.0.*'huber'.*set temperature to 1"):
        BoostingObjective(make_loss("huber"), Task.REGRESSION, temperature=2.0)
    with pytest.raises(ValueError, match="temperature must be"):
        BoostingObjective(make_loss("cross_entropy"), Task.BINARY, temperature=0.0)
    with pytest.raises(ValueError, match="floor must lie in"):
        BoostingObjective(make_loss("cross_entropy"), Task.BINARY, floor=2.0)
    with pytest.raises(ValueError, match="precision"):
        BoostingObjective(make_loss("cross_entropy"), Task.BINARY, precision="float16")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs the training class counts"):
        BoostingObjective(make_loss("logit_adjusted"), Task.MULTICLASS)


def test_initial_score_refuses_bad_inputs() -> None:
    with pytest.raises(ValueError, match="weights must be finite, non-negative"):
        initial_score(Task.BINARY, np.array([0, 1]), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="weights must have shape"):
        initial_score(Task.BINARY, np.array([0, 1]), np.ones(3))
    with pytest.raises(ValueError, match="non-empty 1-D"):
        initial_score(Task.REGRESSION, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="n_classes"):
        initial_score(Task.MULTICLASS, np.array([0, 3]), n_classes=2)
