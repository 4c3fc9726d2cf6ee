"""Gradient boosting on the registered losses: LightGBM's gradient and hessian, derived.

One loss definition serves every model family. A custom LightGBM objective returns, per row
and per raw score, the gradient and the *diagonal* of the hessian of the row's loss; here they
are derived from the torch loss with :mod:`torch.func`, so a loss works with boosting the day
it registers: ``grad`` of the summed loss is every row's gradient (each row's loss sees only
its own row, the loss contract), and one vector-Jacobian product of that gradient per class,
``vmap``-ped over the classes, gives every row's hessian diagonal. The temperature divides the
scores inside the differentiated function, so the chain rule carries it. A closed form
replaces the derivation only where measurably faster and tested equal to it: cross-entropy
(``grad_hess`` 12 ms instead of 106 ms at 100k rows x 10 classes on 2 cores; the derivation
makes a boosting round 3x LightGBM's own, the closed form 1.2x; see
``benchmarks/lightgbm_objective_cost.py``).

Scores are what LightGBM 4.x hands a custom objective: ``(N,)`` raw scores for binary and
regression, an ``(N, K)`` array for multiclass (a column-major view of LightGBM's class-major
buffer; ``grad``/``hess`` are returned in the same ``(N, K)`` layout, column-major, so LightGBM's
``ravel(order="F")`` copies nothing). The results are **unweighted**: with a custom objective
LightGBM does not apply the dataset's weights, so a runner multiplies both by its weights.

The hessian LightGBM receives departs from the exact diagonal in three documented ways:

- **multiclass factor** ``K / (K - 1)``: LightGBM's own ``multiclass`` objective scales the
  softmax diagonal ``p (1 - p)`` by it (``factor_`` in ``multiclass_objective.hpp``; Friedman
  2001, "Greedy Function Approximation", Algorithm 6, whose leaf step carries ``(K - 1) / K``).
  The K scores of a softmax are redundant by one (adding a constant to every class changes
  nothing), and a diagonal Newton step that moves each class's tree on its own overshoots by
  about ``K / (K - 1)``. Every multiclass loss here is a function of softmax logits, so the
  factor applies to every multiclass hessian; cross-entropy then *is* LightGBM's
  ``multiclass``.
- **safe floor**: a Newton step divides the summed gradient by the summed hessian, so a
  non-positive hessian (GCE, probability-MAE and symmetric CE on badly classified rows, poly-1
  with ``eps > 1``, focal at large scores) would step uphill or without bound. Each entry is
  raised to ``floor`` (0.1) times the *canonical curvature* of its task at the same scores:
  cross-entropy's hessian ``p (1 - p) / tau^2`` (the softmax's Fisher information) for
  classification; ``1`` (the hessian of ``r^2 / 2``) for regression. A floored row takes a
  natural-gradient step of size ``1 / floor``: at most 10x as far as cross-entropy would move
  it for the same gradient, and in proportion to its gradient, so a robust loss's small
  gradients on suspect rows stay small steps (a floor relative to ``|grad|`` would make them
  full steps). An absolute constant would not scale with the temperature nor with the loss's
  own scale. Cross-entropy and label smoothing, whose hessian is that curvature, are never
  floored, so they stay exactly LightGBM's objectives; logit adjustment is floored only where
  its shifted probabilities are far from the model's (class priors beyond about 1:30). Focal's
  curvature on well-classified rows falls below a tenth of cross-entropy's (its
  ``(1 - p_t)^gamma`` factor), so the floor raises it there too: those rows then move in
  proportion to their down-weighted gradient, as focal intends and as first-order training of
  the torch family moves them, where exact Newton steps would undo the down-weighting.
  :class:`Derivatives` reports how many entries were raised.
- **constant hessian**: a loss may declare :attr:`~losstune.objectives.base.Loss.boosting_hessian`,
  a constant used for every entry instead of the derived one (Huber and log-cosh: ``1``, an
  upper bound of their curvature, so each step minimises a quadratic that lies above the loss,
  which is exactly LightGBM's own ``huber`` objective; MAE: ``1``, LightGBM's ``l1`` choice).

Custom objectives start from zero scores, while LightGBM's built-in objectives "boost from
average"; :func:`initial_score` gives the same start for a runner to pass as ``init_score``
(and to add to the booster's raw predictions).

Example:
    >>> import numpy as np
    >>> from losstune.objectives import make_loss
    >>> from losstune.task import Task
    >>> objective = BoostingObjective(make_loss("cross_entropy"), Task.BINARY)
    >>> grad, hess = objective.grad_hess(np.array([0.0, 2.0]), np.array([1, 0]))
    >>> grad.round(4).tolist(), hess.round(4).tolist()
    ([-0.5, 0.8808], [0.25, 0.105])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor
from torch.func import grad, vjp, vmap

from losstune.objectives.base import Loss
from losstune.objectives.losses.cross_entropy import CrossEntropy
from losstune.objectives.temperature import check_temperature
from losstune.task import Task

DEFAULT_FLOOR = 0.1
"""Default :attr:`BoostingObjective.floor`: a floored row steps at most 10x as far as
cross-entropy would for the same gradient (LightGBM's ``learning_rate`` of 0.1 makes that one
raw-score unit per round for probability-MAE at its start, where its exact hessian is 0)."""

LIGHTGBM_EPSILON = 1e-15
"""LightGBM's ``kEpsilon``: class frequencies are clipped to ``[eps, 1 - eps]`` before the log
in its ``binary`` and ``multiclass`` starting scores."""

CHUNK_ROWS = 4096
"""Rows derived per vectorised call: the derivation holds ``O(K^2)`` numbers per row (3 MB at
K = 10 in float64, cache-sized); 4096 measured fastest (8k-32k rows cost 10-40% more)."""

Precision = Literal["float32", "float64"]
_DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class Derivatives:
    """What one call derives, per row and score (shapes of the scores, layout of LightGBM).

    Attributes:
        grad: gradient of each row's loss with respect to its raw scores.
        hess: the hessian LightGBM receives: the derived diagonal times the multiclass factor,
            raised to the floor (or the loss's constant :attr:`Loss.boosting_hessian`).
        curvature: the exact derived diagonal hessian (no factor, floor or constant).
        floored: how many entries of ``hess`` were raised to the floor (NaN counts as floored).
    """

    grad: np.ndarray
    hess: np.ndarray
    curvature: np.ndarray
    floored: int

    @property
    def floored_fraction(self) -> float:
        """``floored`` as a fraction of all entries (0 when there are none)."""
        return self.floored / self.hess.size if self.hess.size else 0.0


@dataclass(frozen=True)
class BoostingObjective:
    """A loss with its temperature as a custom gradient-boosting objective for ``task``.

    ``class_counts`` (training-set counts per class) prepare the loss as
    :class:`~losstune.objectives.objective.Objective` does (``logit_adjusted`` binds its
    priors) and fix K for multiclass. ``floor`` is the safe hessian floor, relative to the
    task's canonical curvature (see the module docstring). ``precision`` is the dtype of the
    derivation: float64, the default, reproduces LightGBM's built-in objectives to 1e-15
    after any number of rounds; float32 rounds ``p - 1`` on well-fitted rows to noise (400
    rounds on near-separable data ended up to 2.0 raw-score units away from LightGBM's
    ``multiclass``) and saves only ~10% of the time. ``closed_forms=False`` derives every loss,
    cross-entropy included.
    """

    loss: Loss
    task: Task
    temperature: float = 1.0
    class_counts: Tensor | np.ndarray | Sequence[int] | None = None
    floor: float = DEFAULT_FLOOR
    precision: Precision = "float64"
    closed_forms: bool = True

    def __post_init__(self) -> None:
        task = Task.parse(self.task)
        object.__setattr__(self, "task", task)
        if task not in self.loss.tasks:
            supported = ", ".join(sorted(t.value for t in self.loss.tasks))
            raise ValueError(
                f"The {self.loss.name!r} loss does not support the {task.value} task "
                f"(it supports: {supported})."
            )
        check_temperature(self.temperature)
        if self.temperature != 1.0 and not self.loss.softmax_based:
            raise ValueError(
                f"temperature {self.temperature} has no meaning for the {self.loss.name!r} loss "
                "(it is not softmax-based); set temperature to 1."
            )
        if not (0.0 <= self.floor <= 1.0):
            raise ValueError(
                f"floor must lie in [0, 1] (a fraction of the canonical curvature); "
                f"got {self.floor!r}."
            )
        if self.precision not in _DTYPES:
            raise ValueError(f"precision must be one of {list(_DTYPES)}; got {self.precision!r}.")
        counts = None
        if self.class_counts is not None:
            counts = torch.as_tensor(np.asarray(self.class_counts))
            object.__setattr__(self, "class_counts", counts)
        object.__setattr__(self, "loss", self.loss.prepare(counts))

    @property
    def n_classes(self) -> int | None:
        """K for classification (2 for binary; for multiclass from ``class_counts``, or
        ``None`` when unknown until scores arrive); ``None`` for regression."""
        if self.task is Task.BINARY:
            return 2
        if self.task is Task.MULTICLASS and self.class_counts is not None:
            return len(self.class_counts)
        return None

    def grad_hess(self, scores: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-row gradient and safe diagonal hessian (unweighted), as a custom LightGBM
        objective returns them; :meth:`derivatives` also says how many entries were floored."""
        columns, grad_cols, curvature = self._derive_all(scores, target)
        hess, _ = self._safe_hessian(columns, curvature, in_place=True)
        return _rows(grad_cols, scores), _rows(hess, scores)

    def derivatives(self, scores: np.ndarray, target: np.ndarray) -> Derivatives:
        """Gradient, safe hessian, exact curvature and the floored count (see
        :class:`Derivatives`)."""
        columns, grad_cols, curvature = self._derive_all(scores, target)
        hess, floored = self._safe_hessian(columns, curvature, in_place=False)
        return Derivatives(
            _rows(grad_cols, scores), _rows(hess, scores), _rows(curvature, scores), floored
        )

    def per_sample(self, scores: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Per-row loss values ``(N,)`` at the (temperature-scaled) scores: what loss-based
        weighting schemes read between boosting rounds."""
        s, y = self._inputs(scores, target)
        dtype = _DTYPES[self.precision]
        with torch.no_grad():
            outputs = torch.from_numpy(s).to(dtype)
            if self.loss.softmax_based:
                outputs = outputs / self.temperature
            return self.loss(outputs, self._target_tensor(y)).numpy()

    # --- internals ----------------------------------------------------------------------

    def _derive_all(self, scores: np.ndarray, target: np.ndarray) -> tuple[Tensor, Tensor, Tensor]:
        """Checked scores, gradient and exact diagonal hessian, all class-major ``(m, N)``,
        derived in chunks of :data:`CHUNK_ROWS` rows.

        Class-major is how LightGBM holds scores: the ``(N, K)`` arrays it hands a custom
        objective are column-major views of that buffer, so reading the scores and returning
        the results transposed copies nothing.
        """
        s, y = self._inputs(scores, target)
        n, width = s.shape[0], (s.shape[1] if s.ndim == 2 else 1)
        dtype = _DTYPES[self.precision]
        columns = torch.from_numpy(s).reshape(n, width).T.to(dtype)
        labels = self._target_tensor(y)
        closed_form = _CLOSED_FORMS.get(type(self.loss)) if self.closed_forms else None
        if closed_form is not None:
            tau = self.temperature if self.loss.softmax_based else 1.0
            return (columns, *closed_form(columns, labels, tau))
        grad_cols = torch.empty((width, n), dtype=dtype)
        curvature = torch.empty((width, n), dtype=dtype)
        with torch.no_grad():
            for start in range(0, n, CHUNK_ROWS):
                stop = min(start + CHUNK_ROWS, n)
                g, h = self._derive(columns[:, start:stop].T.contiguous(), labels[start:stop])
                grad_cols[:, start:stop] = g.T
                curvature[:, start:stop] = h.T
        if not math.isfinite(grad_cols.sum()):  # one pass; any NaN or infinity survives a sum
            raise FloatingPointError(
                f"The {self.loss.name!r} loss has a non-finite gradient at some scores; "
                "the boosting scores may have diverged."
            )
        return columns, grad_cols, curvature

    def _safe_hessian(
        self, columns: Tensor, curvature: Tensor, *, in_place: bool
    ) -> tuple[Tensor, int]:
        """The hessian LightGBM receives, from the exact ``curvature`` at ``columns`` (both
        ``(m, N)``), and how many entries were raised to the floor (module docstring)."""
        constant = self.loss.boosting_hessian
        if constant is not None:
            return torch.full_like(curvature, constant), 0
        m = columns.shape[0]
        factor = _hessian_factor(m) if self.task is Task.MULTICLASS else 1.0
        hess = curvature.mul_(factor) if in_place else curvature * factor
        floor = self._canonical_curvature(columns).mul_(factor * self.floor)
        floored = int((~(hess >= floor)).sum())  # NaN counts as floored
        return torch.fmax(hess, floor, out=hess), floored

    def _derive(self, scores: Tensor, target: Tensor) -> tuple[Tensor, Tensor]:
        """Gradient and exact diagonal hessian of each row's loss at ``scores`` ``(n, m)`` (m is
        K for multiclass, 1 otherwise), both ``(n, m)``.

        The loss contract makes row i's loss depend on row i's scores only, so the gradient of
        the *summed* loss is every row's gradient, and one vector-Jacobian product of that
        gradient per class (the class's unit vector in every row) gives every row's hessian
        column for that class at once: m products, vmapped, instead of a Jacobian per row.
        """
        loss, multiclass = self.loss, self.task is Task.MULTICLASS
        tau = self.temperature if loss.softmax_based else 1.0

        def total(x: Tensor) -> Tensor:
            outputs = x if multiclass else x[:, 0]
            if tau != 1.0:
                outputs = outputs / tau
            return loss(outputs, target).sum()

        g, pull = vjp(grad(total), scores)[:2]  # (no auxiliary output)
        width = scores.shape[1]
        basis = torch.eye(width, dtype=scores.dtype).unsqueeze(1).expand(width, *scores.shape)
        (columns,) = vmap(pull)(basis)  # (m, n, m): columns[k, i] = d grad_ik / d scores_i
        return g, columns.diagonal(dim1=0, dim2=2)

    def _canonical_curvature(self, columns: Tensor) -> Tensor:
        """The hessian of the task's canonical loss at class-major scores ``(m, N)``:
        cross-entropy's ``p (1 - p) / tau^2`` for classification, 1 (of ``r^2 / 2``) for
        regression. A new tensor."""
        if self.task is Task.REGRESSION:
            return torch.ones_like(columns)
        tau = self.temperature if self.loss.softmax_based else 1.0
        z = columns / tau
        p = torch.sigmoid(z) if self.task is Task.BINARY else torch.softmax(z, dim=0)
        return p.mul_(1.0 - p).div_(tau * tau)

    def _target_tensor(self, target: np.ndarray) -> Tensor:
        t = torch.from_numpy(target if target.flags.writeable else target.copy())
        return t if self.task.is_classification else t.to(_DTYPES[self.precision])

    def _inputs(self, scores: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Checked float64 scores and target (int64 classes, or float64 for regression)."""
        s = np.asarray(scores)
        if not np.issubdtype(s.dtype, np.number) or np.issubdtype(s.dtype, np.complexfloating):
            raise ValueError(f"scores must be real numbers; got dtype {s.dtype}.")
        s = s.astype(np.float64, copy=not s.flags.writeable)  # torch wants writeable memory
        if self.task is Task.MULTICLASS:
            k = self.n_classes
            if s.ndim != 2 or s.shape[1] < 2 or (k is not None and s.shape[1] != k):
                want = f"(N, {k})" if k is not None else "(N, K) with K >= 2"
                raise ValueError(
                    f"multiclass scores must have shape {want} (LightGBM 4.x passes a 2-D "
                    f"array to a custom objective); got shape {s.shape}."
                )
        elif s.ndim != 1:
            raise ValueError(
                f"{self.task.value} scores must have shape (N,), one raw score per row; "
                f"got shape {s.shape}."
            )
        if not math.isfinite(s.sum()):  # one pass, no temporary; NaN and infinity survive a sum
            raise ValueError(
                "scores contain NaN or infinity; the boosting scores may have diverged."
            )
        y = np.asarray(target)
        if y.shape != (s.shape[0],):
            raise ValueError(
                f"target must have shape ({s.shape[0]},), one value per row of scores; "
                f"got shape {y.shape}."
            )
        if self.task is Task.REGRESSION:
            if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y).all():
                raise ValueError("regression target must be finite numbers.")
            return s, y.astype(np.float64, copy=False)
        return s, _class_indices(y, s.shape[1] if s.ndim == 2 else 2)


def _cross_entropy(columns: Tensor, target: Tensor, tau: float) -> tuple[Tensor, Tensor]:
    """Cross-entropy's gradient ``(p - onehot(y)) / tau`` and diagonal hessian
    ``p (1 - p) / tau^2`` at class-major scores ``(m, N)``: LightGBM's ``binary`` and
    ``multiclass`` formulas. Measured 10-20x faster than the derivation at 100k x 10 (the
    derivation costs about a built-in boosting round more); tests hold it equal to the
    derivation for every task and temperature."""
    z = columns / tau
    if z.shape[0] == 1:  # binary: one logit, p = sigmoid
        p = torch.sigmoid(z)
        g = p - target.to(p.dtype).unsqueeze(0)
    else:
        p = torch.softmax(z, dim=0)
        g = p.scatter_add(0, target.unsqueeze(0), torch.full_like(p[:1], -1.0))
    return g.div_(tau), p.mul_(1.0 - p).div_(tau * tau)


_CLOSED_FORMS: dict[type[Loss], Callable[[Tensor, Tensor, float], tuple[Tensor, Tensor]]] = {
    CrossEntropy: _cross_entropy,
}
"""Closed forms that replace the derivation (``BoostingObjective.closed_forms``), keyed by the
exact loss class. Only where measurably faster; each is tested equal to the derivation."""


def _rows(columns: Tensor, like: np.ndarray) -> np.ndarray:
    """Class-major ``(m, N)`` results in the layout of the scores ``like``: ``(N, K)``
    (column-major, what LightGBM reads without a copy) or ``(N,)``."""
    array = columns.numpy()
    return array.T if np.ndim(like) == 2 else array.reshape(-1)


def _class_indices(target: np.ndarray, n_classes: int) -> np.ndarray:
    """``target`` as int64 class indices in ``[0, n_classes)`` (whole-number floats, as
    LightGBM's ``get_label()`` returns them, are accepted)."""
    if target.dtype == np.bool_:
        target = target.astype(np.int64)
    if not np.issubdtype(target.dtype, np.number):
        raise ValueError(f"classification target must hold class indices; got {target.dtype}.")
    as_int = target.astype(np.int64, copy=False)
    if np.issubdtype(target.dtype, np.floating) and not np.array_equal(as_int, target):
        raise ValueError("classification target must hold whole class indices; got fractions.")
    if as_int.size and (as_int.min() < 0 or as_int.max() >= n_classes):
        raise ValueError(
            f"classification target must hold class indices in [0, {n_classes - 1}]; got "
            f"values in [{as_int.min()}, {as_int.max()}]."
        )
    return as_int


def _hessian_factor(n_classes: int) -> float:
    """LightGBM's multiclass hessian factor ``K / (K - 1)`` (see the module docstring)."""
    return n_classes / (n_classes - 1.0)


def initial_score(
    task: Task | str,
    target: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    n_classes: int | None = None,
) -> np.ndarray:
    """LightGBM's "boost from average" start, shape ``(n_outputs,)``: what its built-in
    objectives add to the scores before the first tree, and a custom objective must be given.

    - binary: the log-odds ``log(p / (1 - p))`` of the (weighted) positive rate, as
      ``binary`` (``p`` clipped to ``[1e-15, 1 - 1e-15]``);
    - multiclass: the log class priors ``log(max(pi_k, 1e-15))``, as ``multiclass``;
    - regression: the (weighted) target mean, as ``regression`` and ``huber``.

    They minimise the task's canonical loss (cross-entropy, squared error) over constants;
    for other losses they are the same start the torch models get from ``log_prior_bias``.
    Pass ``np.tile(score, (N, 1))`` (multiclass) or ``np.full(N, score[0])`` as the Dataset's
    ``init_score``, and add ``score`` to ``booster.predict(X, raw_score=True)``: LightGBM
    leaves an ``init_score`` out of the model. ``n_classes`` defaults to ``max(target) + 1``.
    (LightGBM stores labels and weights in float32; it matches to float64 rounding when
    they are float32 numbers.)
    """
    task = Task.parse(task)
    y = np.asarray(target)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"target must be a non-empty 1-D array; got shape {y.shape}.")
    w = np.ones(y.shape, dtype=np.float64) if weights is None else np.asarray(weights, float)
    if w.shape != y.shape:
        raise ValueError(f"weights must have shape {y.shape}, like target; got {w.shape}.")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError("weights must be finite, non-negative and not all zero.")
    total = w.sum()
    if task is Task.REGRESSION:
        if not np.issubdtype(y.dtype, np.number) or not np.isfinite(y).all():
            raise ValueError("regression target must be finite numbers.")
        return np.array([np.dot(w, y.astype(np.float64)) / total])
    if task is Task.BINARY:
        positive = np.dot(w, (_class_indices(y, 2) > 0).astype(np.float64)) / total
        p = min(max(positive, LIGHTGBM_EPSILON), 1.0 - LIGHTGBM_EPSILON)
        return np.array([np.log(p / (1.0 - p))])
    classes = _class_indices(y, np.iinfo(np.int64).max)
    k = int(classes.max()) + 1 if n_classes is None else n_classes
    if k < 2 or classes.max() >= k:
        raise ValueError(f"n_classes ({k}) must be >= 2 and exceed every class index.")
    prior = np.bincount(classes, weights=w, minlength=k) / total
    return np.log(np.maximum(prior, LIGHTGBM_EPSILON))
