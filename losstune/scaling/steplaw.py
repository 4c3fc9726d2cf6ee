"""Step-law fits: the best learning rate and batch size as power laws of model and data size.

The Step Law (Li et al. 2025, "Predictable Scale: Part I", arXiv:2503.04715) models the
optimal learning rate and batch size of a run as ``lr_opt(N, D) = a·N^α·D^β`` and
``batch_opt(D) = c·D^γ``, with ``N`` the model's parameters and ``D`` the training samples it
sees (here rows × epochs). Fitted on the best configurations of cheap proxies (narrow models,
data subsets), the laws predict where to look at full size.

Both laws are fitted by ordinary least squares of ``log y`` on ``log N`` and ``log D``, and
carry their uncertainty in log space:

- coefficient covariance ``s²·(XᵀX)⁻¹`` with ``s² = RSS / (n − p)`` (``p`` free coefficients);
- a prediction interval for the best value of a *new* run at ``x₀``:
  ``exp(x₀ᵀb ± t(n − p, (1 + level)/2) · s · sqrt(1 + x₀ᵀ(XᵀX)⁻¹x₀))``; it covers where that
  run's best value falls, not only the law's mean, so it is what a confirmation search
  should span.

An exponent whose variable does not vary over the points (every proxy has the same ``N``),
or cannot be told apart from another (``N`` and ``D`` grow together), is not identifiable.
It is then held at a stated value instead of being fitted, and :attr:`StepLawFit.notes`
says so: ``α = 0`` (μP width transfer keeps the best learning rate where it is as the model
widens), ``β = γ = 0`` (no evidence of a change with data size).

Example:
    >>> points = [
    ...     StepLawPoint(n, d, lr=0.01 * n**-0.5 * d**0.3, batch_size=0.5 * d**0.5)
    ...     for n in (1e3, 1e4) for d in (1e4, 1e5)
    ... ]
    >>> fit = fit_step_law(points)
    >>> round(fit.alpha, 3), round(fit.beta, 3), round(fit.gamma, 3)
    (-0.5, 0.3, 0.5)
    >>> round(fit.predict_lr(1e5, 1e6).value, 6)
    0.001995
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

#: Exponents held at these values when the points cannot identify them (see module doc).
UNIDENTIFIED_EXPONENTS: dict[str, float] = {"alpha": 0.0, "beta": 0.0, "gamma": 0.0}
_WHY = {
    "alpha": "μP width transfer keeps the best learning rate fixed as the model widens",
    "beta": "no evidence of how the best learning rate changes with data size",
    "gamma": "no evidence of how the best batch size changes with data size",
}
_LEVEL = 0.95


@dataclass(frozen=True)
class StepLawPoint:
    """The best configuration found at one size: model parameters ``n_params``, training
    samples seen ``samples`` (rows × epochs), its learning rate and batch size."""

    n_params: float
    samples: float
    lr: float
    batch_size: float

    def __post_init__(self) -> None:
        for name in ("n_params", "samples", "lr", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"StepLawPoint.{name} must be a number; got {value!r}.")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(
                    f"StepLawPoint.{name} must be a finite number > 0 (the laws are fitted in "
                    f"log space); got {value!r}. Drop the point or fix its {name}."
                )
            object.__setattr__(self, name, float(value))


@dataclass(frozen=True)
class Prediction:
    """A predicted value with its prediction interval (``low``, ``high``) at ``level``."""

    value: float
    low: float
    high: float
    level: float = _LEVEL

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True)
class PowerLaw:
    """``y = exp(log_scale) · Π x_k ** exponents[k]``, fitted by OLS of ``log y`` on ``log x``.

    Attributes:
        variables: the names of the ``x_k`` (``("N", "D")`` or ``("D",)``).
        exponent_names: the exponents' names, one per variable (``("alpha", "beta")``).
        log_scale, exponents: the coefficients.
        covariance: of ``(log_scale, *exponents)``; rows and columns of a fixed exponent
            are zero.
        fixed: the names of exponents held at a value rather than fitted.
        residual_sd: ``s``, the residual standard deviation in log space.
        n_points: the points it was fitted on.
    """

    variables: tuple[str, ...]
    exponent_names: tuple[str, ...]
    log_scale: float
    exponents: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    fixed: tuple[str, ...]
    residual_sd: float
    n_points: int

    @property
    def scale(self) -> float:
        return math.exp(self.log_scale)

    @property
    def dof(self) -> int:
        """Residual degrees of freedom: points minus free coefficients."""
        return self.n_points - (1 + len(self.exponents) - len(self.fixed))

    @property
    def standard_errors(self) -> tuple[float, ...]:
        """Of ``(log_scale, *exponents)``; zero for a fixed exponent."""
        return tuple(
            math.sqrt(max(self.covariance[i][i], 0.0)) for i in range(len(self.covariance))
        )

    def exponent(self, name: str) -> float:
        return self.exponents[self.exponent_names.index(name)]

    def standard_error(self, name: str) -> float:
        return self.standard_errors[1 + self.exponent_names.index(name)]

    def predict(self, *x: float, level: float = _LEVEL) -> Prediction:
        """The law's value at ``x`` with a ``level`` prediction interval (module doc)."""
        if len(x) != len(self.variables):
            raise ValueError(
                f"predict needs one value per variable {self.variables}; got {len(x)}."
            )
        _check_positive(dict(zip(self.variables, x, strict=True)))
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), e.g. 0.95; got {level!r}.")
        row = np.array([1.0, *np.log(x)])
        center = float(row @ np.array([self.log_scale, *self.exponents]))
        cov = np.array(self.covariance)
        spread = math.sqrt(self.residual_sd**2 + float(row @ cov @ row))
        half = float(stats.t.ppf(0.5 + level / 2, self.dof)) * spread
        return Prediction(math.exp(center), math.exp(center - half), math.exp(center + half), level)

    def to_dict(self) -> dict[str, Any]:
        return {
            "variables": list(self.variables),
            "exponent_names": list(self.exponent_names),
            "log_scale": self.log_scale,
            "exponents": list(self.exponents),
            "covariance": [list(row) for row in self.covariance],
            "fixed": list(self.fixed),
            "residual_sd": self.residual_sd,
            "n_points": self.n_points,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PowerLaw:
        _check_keys("PowerLaw", data, {f for f in cls.__dataclass_fields__})
        return cls(
            variables=tuple(data["variables"]),
            exponent_names=tuple(data["exponent_names"]),
            log_scale=float(data["log_scale"]),
            exponents=tuple(float(v) for v in data["exponents"]),
            covariance=tuple(tuple(float(v) for v in row) for row in data["covariance"]),
            fixed=tuple(data["fixed"]),
            residual_sd=float(data["residual_sd"]),
            n_points=int(data["n_points"]),
        )


@dataclass(frozen=True)
class StepLawFit:
    """``lr_opt(N, D) = a·N^α·D^β`` and ``batch_opt(D) = c·D^γ`` fitted on proxy points.

    Attributes:
        lr: the learning-rate law (variables N, D; exponents alpha, beta).
        batch: the batch-size law (variable D; exponent gamma).
        points: what it was fitted on.
        notes: one sentence per exponent that was held rather than fitted, and why.
    """

    lr: PowerLaw
    batch: PowerLaw
    points: tuple[StepLawPoint, ...]
    notes: tuple[str, ...] = ()

    @property
    def a(self) -> float:
        return self.lr.scale

    @property
    def alpha(self) -> float:
        return self.lr.exponent("alpha")

    @property
    def beta(self) -> float:
        return self.lr.exponent("beta")

    @property
    def c(self) -> float:
        return self.batch.scale

    @property
    def gamma(self) -> float:
        return self.batch.exponent("gamma")

    @property
    def n_points(self) -> int:
        return len(self.points)

    def predict_lr(self, n_params: float, samples: float, level: float = _LEVEL) -> Prediction:
        """The best learning rate for a model of ``n_params`` seeing ``samples`` samples."""
        return self.lr.predict(n_params, samples, level=level)

    def predict_batch(self, samples: float, level: float = _LEVEL) -> Prediction:
        """The best batch size for a run that sees ``samples`` samples (not rounded)."""
        return self.batch.predict(samples, level=level)

    def summary(self) -> str:
        """One line per law: coefficients ± standard errors, residual sd, points."""
        lr, batch = self.lr, self.batch
        return "\n".join(
            [
                f"lr = {self.a:.3g}·N^{_term(lr, 'alpha')}·D^{_term(lr, 'beta')} "
                f"(residual sd {lr.residual_sd:.3g} in log, {lr.n_points} points)",
                f"batch = {self.c:.3g}·D^{_term(batch, 'gamma')} "
                f"(residual sd {batch.residual_sd:.3g} in log, {batch.n_points} points)",
                *self.notes,
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data (numbers, lists, strings) for a recipe's YAML."""
        return {
            "lr": self.lr.to_dict(),
            "batch": self.batch.to_dict(),
            "points": [
                {
                    "n_params": p.n_params,
                    "samples": p.samples,
                    "lr": p.lr,
                    "batch_size": p.batch_size,
                }
                for p in self.points
            ],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StepLawFit:
        """The inverse of :meth:`to_dict`; unknown or missing keys raise ``ValueError``."""
        _check_keys("StepLawFit", data, {"lr", "batch", "points", "notes"})
        return cls(
            lr=PowerLaw.from_dict(data["lr"]),
            batch=PowerLaw.from_dict(data["batch"]),
            points=tuple(StepLawPoint(**point) for point in data["points"]),
            notes=tuple(data["notes"]),
        )


def fit_step_law(
    points: Sequence[StepLawPoint],
    *,
    alpha: float | None = None,
    beta: float | None = None,
    gamma: float | None = None,
) -> StepLawFit:
    """Fit both laws on ``points`` (see the module docstring for the formulas).

    Args:
        points: the best configuration at each proxy size.
        alpha, beta, gamma: hold that exponent at the given value instead of fitting it.
            An exponent the points cannot identify is held at
            :data:`UNIDENTIFIED_EXPONENTS` and the fit's ``notes`` say so.

    Raises:
        ValueError: fewer points than free coefficients + 1 (the noise needs at least one
            residual degree of freedom), or a non-positive value.
    """
    points = tuple(points)
    for point in points:
        if not isinstance(point, StepLawPoint):
            raise TypeError(f"fit_step_law needs StepLawPoint values; got {point!r}.")
    n_params = np.array([p.n_params for p in points])
    samples = np.array([p.samples for p in points])
    notes: list[str] = []
    lr = _fit_power_law(
        np.array([p.lr for p in points]),
        {"N": n_params, "D": samples},
        ("alpha", "beta"),
        {"alpha": alpha, "beta": beta},
        "learning rate",
        notes,
    )
    batch = _fit_power_law(
        np.array([p.batch_size for p in points]),
        {"D": samples},
        ("gamma",),
        {"gamma": gamma},
        "batch size",
        notes,
    )
    return StepLawFit(lr=lr, batch=batch, points=points, notes=tuple(notes))


def _fit_power_law(
    y: np.ndarray,
    x: Mapping[str, np.ndarray],
    names: tuple[str, ...],
    given: Mapping[str, float | None],
    what: str,
    notes: list[str],
) -> PowerLaw:
    logs = {name: np.log(values) for name, values in zip(names, x.values(), strict=True)}
    held = {name: float(value) for name, value in given.items() if value is not None}
    for name, variable in zip(names, x, strict=True):
        if name not in held and len(y) > 1 and np.ptp(logs[name]) <= 1e-12:
            held[name] = UNIDENTIFIED_EXPONENTS[name]
            notes.append(
                f"{name} held at {held[name]:g}, not fitted: every point has the same {variable} "
                f"({_WHY[name]})."
            )
    variables = dict(zip(names, x, strict=True))
    free = [n for n in names if n not in held]
    while free and len(y) > len(free) + 1 and _rank_deficient(y, logs, free):
        name = free.pop(0)  # N and D that grow together: hold alpha first, then beta
        held[name] = UNIDENTIFIED_EXPONENTS[name]
        notes.append(
            f"{name} held at {held[name]:g}, not fitted: {variables[name]} does not vary "
            f"independently of the other size across the points ({_WHY[name]})."
        )
    n_free = 1 + len(free)
    if len(y) <= n_free:
        coefficients = ", ".join(["log scale", *free])
        raise ValueError(
            f"Fitting the {what} law needs more points than its {n_free} free coefficients "
            f"({coefficients}) to estimate its noise; got {len(y)} point(s). Add proxies of "
            f"other sizes, or hold an exponent (e.g. alpha=0.0 under μP)."
        )
    target = np.log(y) - sum(held[n] * logs[n] for n in held)
    design = np.column_stack([np.ones(len(y)), *(logs[n] for n in free)])
    solution, _, _, _ = np.linalg.lstsq(design, target, rcond=None)
    residuals = target - design @ solution
    dof = len(y) - n_free
    residual_sd = math.sqrt(float(residuals @ residuals) / dof)
    free_cov = residual_sd**2 * np.linalg.inv(design.T @ design)
    index = {name: i for i, name in enumerate(["log_scale", *free])}
    order = ["log_scale", *names]
    covariance = tuple(
        tuple(
            float(free_cov[index[r], index[c]]) if r in index and c in index else 0.0 for c in order
        )
        for r in order
    )
    fitted = dict(zip(free, solution[1:], strict=True))
    return PowerLaw(
        variables=tuple(x),
        exponent_names=names,
        log_scale=float(solution[0]),
        exponents=tuple(float(fitted.get(n, held.get(n, 0.0))) for n in names),
        covariance=covariance,
        fixed=tuple(n for n in names if n in held),
        residual_sd=residual_sd,
        n_points=len(y),
    )


def _rank_deficient(y: np.ndarray, logs: Mapping[str, np.ndarray], free: list[str]) -> bool:
    design = np.column_stack([np.ones(len(y)), *(logs[n] for n in free)])
    return int(np.linalg.matrix_rank(design)) < design.shape[1]


def _check_positive(values: Mapping[str, float]) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.floating):
            raise TypeError(f"{name} must be a number; got {value!r}.")
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a finite number > 0; got {value!r}.")


def _check_keys(where: str, data: Any, expected: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}.from_dict needs a mapping; got {type(data).__name__}.")
    if set(data) != expected:
        raise ValueError(
            f"{where}.from_dict: keys {sorted(data)} do not match the expected {sorted(expected)}; "
            "pass what to_dict() wrote."
        )


def _term(law: PowerLaw, name: str) -> str:
    value = law.exponent(name)
    if name in law.fixed:
        return f"{value:.3g} (held)"
    return f"({value:.3g} ± {law.standard_error(name):.2g})"
