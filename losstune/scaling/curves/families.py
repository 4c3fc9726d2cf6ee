"""Parametric learning-curve families, registered by name in ``CURVES``.

The families of Domhan, Springenberg & Hutter (IJCAI 2015, as coded in ``lcpfn/curves.py``),
written for the normalised space of :mod:`losstune.scaling.curves.normalise`: ``t`` in units
of the last observed step, ``z`` increasing towards better. Within its bounds every family is
non-decreasing in ``t`` and has its asymptote as a parameter, bounded by ``data.cap``.

A family is a frozen, field-less dataclass: ``family(t, *theta)`` evaluates it (vectorised
over ``t``, and over ``theta`` given as arrays of equal shape), ``bounds(data)`` and
``initial_guess(data)`` come from the observed curve. The initial guess tries a small grid of
the shape parameters, solves the level and amplitude by linear least squares for each, and
keeps the best: nonlinear fits of 4-parameter families start near the answer or not at all.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from losstune._registry import Registry
from losstune.scaling.curves.normalise import CurveData

CURVES: Registry[type[CurveFamily]] = Registry("curve family")


class CurveFamily(ABC):
    """A parametric curve ``f(t, *theta)``, non-decreasing in ``t`` within its bounds.

    Subclasses give ``params`` (names of ``theta``), ``shape_grid`` (candidate values of the
    parameters that enter nonlinearly), ``f`` and its partial derivatives ``df``, ``bounds``,
    and for the initial guess ``_basis`` and ``_from_affine``.
    """

    name: ClassVar[str] = "unregistered"
    params: ClassVar[tuple[str, ...]]
    shape_grid: ClassVar[tuple[tuple[float, ...], ...]]
    has_level: ClassVar[bool] = True  # False: f = slope * g, through the origin

    def __call__(self, t: np.ndarray | float, *theta: np.ndarray | float) -> np.ndarray:
        if len(theta) != len(self.params):
            raise ValueError(
                f"{self.name} takes {len(self.params)} parameters {self.params}; got {len(theta)}."
            )
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self.f(np.asarray(t, dtype=float), *theta)

    def jacobian(self, t: np.ndarray | float, *theta: float) -> np.ndarray:
        """``d f / d theta`` at each ``t``: shape ``(len(t), len(params))``."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        out = np.empty((t.size, len(self.params)))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for i, column in enumerate(self.df(t, *theta)):
                out[:, i] = column
        return out

    @staticmethod
    @abstractmethod
    def f(t: np.ndarray, *theta: np.ndarray | float) -> np.ndarray: ...

    @staticmethod
    @abstractmethod
    def df(t: np.ndarray, *theta: float) -> tuple[np.ndarray | float, ...]:
        """The partial derivatives of ``f``, one per parameter."""

    @abstractmethod
    def bounds(self, data: CurveData) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of ``theta`` for this curve."""

    @abstractmethod
    def _basis(self, t: np.ndarray, *shape: float) -> np.ndarray:
        """``g(t)`` such that ``f = level + slope * g`` for these shape parameters."""

    @abstractmethod
    def _from_affine(self, level: float, slope: float, shape: tuple[float, ...]) -> list[float]:
        """``theta`` of the curve ``level + slope * g(t; shape)``."""

    def initial_guess(self, data: CurveData) -> np.ndarray:
        """The best, by squared error, of the grid starts (each clipped into the bounds)."""
        low, high = self.bounds(data)
        best, best_sse = None, np.inf
        for shape in itertools.product(*self.shape_grid):
            g = self._basis(data.t, *shape)
            if not np.all(np.isfinite(g)):
                continue
            level, slope = _affine_fit(g, data.z, self.has_level)
            theta = np.clip(self._from_affine(level, slope, shape), low, high)
            sse = float(np.sum((self(data.t, *theta) - data.z) ** 2))
            if sse < best_sse:
                best, best_sse = theta, sse
        if best is None:
            return (low + high) / 2
        return best


def _affine_fit(g: np.ndarray, z: np.ndarray, has_level: bool) -> tuple[float, float]:
    """Least-squares ``level`` and ``slope`` of ``z ~ level + slope * g`` (level 0 if not
    ``has_level``); a constant ``g`` gets slope 0."""
    if not has_level:
        norm = float(g @ g)
        return 0.0, float(g @ z) / norm if norm > 0 else 0.0
    centred = g - g.mean()
    norm = float(centred @ centred)
    slope = float(centred @ z) / norm if norm > 0 else 0.0
    return float(z.mean() - slope * g.mean()), slope


_RATE = (0.3, 1.0, 3.0, 10.0)
_POWER = (0.5, 1.0, 2.0)


@CURVES.register("pow3")
@dataclass(frozen=True)
class Pow3(CurveFamily):
    """``c - a * t^-alpha``: a power law rising to ``c``."""

    params = ("c", "a", "alpha")
    shape_grid = ((0.1, 0.3, 0.7, 1.5),)

    @staticmethod
    def f(t, c, a, alpha):
        return c - a * t ** (-alpha)

    @staticmethod
    def df(t, c, a, alpha):
        power = t ** (-alpha)
        return 1.0, -power, a * power * np.log(t)

    def bounds(self, data):
        return np.array([data.low, 0.0, 0.01]), np.array([data.cap, data.cap - data.floor, 3.0])

    def _basis(self, t, alpha):
        return -(t ** (-alpha))

    def _from_affine(self, level, slope, shape):
        return [level, slope, shape[0]]


@CURVES.register("pow4")
@dataclass(frozen=True)
class Pow4(CurveFamily):
    """``c - a * (t + b)^-alpha``: Domhan's ``c - (a t + b)^-alpha`` with the amplitude and
    the shift as parameters (the same curves, better-scaled for the fit)."""

    params = ("c", "a", "b", "alpha")
    shape_grid = ((0.05, 0.3, 1.0), (0.3, 0.7, 1.5))

    @staticmethod
    def f(t, c, a, b, alpha):
        return c - a * (t + b) ** (-alpha)

    @staticmethod
    def df(t, c, a, b, alpha):
        power = (t + b) ** (-alpha)
        return 1.0, -power, a * alpha * power / (t + b), a * power * np.log(t + b)

    def bounds(self, data):
        amplitude = (data.cap - data.floor) * 10.0**3
        return np.array([data.low, 0.0, 0.0, 0.01]), np.array([data.cap, amplitude, 10.0, 3.0])

    def _basis(self, t, b, alpha):
        return -((t + b) ** (-alpha))

    def _from_affine(self, level, slope, shape):
        return [level, slope, *shape]


@CURVES.register("log_power")
@dataclass(frozen=True)
class LogPower(CurveFamily):
    """``a / (1 + (t / e^b)^c)`` with ``c < 0``: rises from 0 to ``a``, half-way at
    ``t = e^b``."""

    params = ("a", "b", "c")
    shape_grid = ((-3.0, -1.0, 0.0), (-2.0, -1.0, -0.5))
    has_level = False

    @staticmethod
    def f(t, a, b, c):
        return a / (1.0 + (t / np.exp(b)) ** c)

    @staticmethod
    def df(t, a, b, c):
        log_ratio = np.log(t) - b
        r = np.exp(c * log_ratio)
        inner = 1.0 / (1.0 + r)
        return inner, a * c * r * inner**2, -a * r * log_ratio * inner**2

    def bounds(self, data):
        return np.array([max(data.low, 0.0), -10.0, -3.0]), np.array([data.cap, 10.0, -0.01])

    def _basis(self, t, b, c):
        return 1.0 / (1.0 + (t / np.exp(b)) ** c)

    def _from_affine(self, level, slope, shape):
        return [slope, *shape]


@CURVES.register("exp3")
@dataclass(frozen=True)
class Exp3(CurveFamily):
    """``c - a * exp(-b t)``: exponential decay of the gap to the asymptote ``c``."""

    params = ("c", "a", "b")
    shape_grid = (_RATE,)

    @staticmethod
    def f(t, c, a, b):
        return c - a * np.exp(-b * t)

    @staticmethod
    def df(t, c, a, b):
        decay = np.exp(-b * t)
        return 1.0, -decay, a * t * decay

    def bounds(self, data):
        return np.array([data.low, 0.0, 1e-3]), np.array(
            [data.cap, 10.0 * (data.cap - data.floor), 50.0]
        )

    def _basis(self, t, b):
        return -np.exp(-b * t)

    def _from_affine(self, level, slope, shape):
        return [level, slope, shape[0]]


class _Sigmoidal(CurveFamily):
    """Families ``upper - (upper - start) * decay(t)`` with ``decay`` falling from 1 to 0."""

    shape_grid = (_RATE, _POWER)

    def bounds(self, data):
        # start <= low <= upper keeps the curve non-decreasing
        return np.array([data.low, data.floor, 1e-3, 0.05]), np.array(
            [data.cap, data.low, 100.0, 4.0]
        )

    def _from_affine(self, level, slope, shape):
        return [level, level + slope, *shape]


@CURVES.register("janoschek")
@dataclass(frozen=True)
class Janoschek(_Sigmoidal):
    """``a - (a - beta) * exp(-k t^delta)``: from ``beta`` at ``t = 0`` to ``a``."""

    params = ("a", "beta", "k", "delta")

    @staticmethod
    def f(t, a, beta, k, delta):
        return a - (a - beta) * np.exp(-k * t**delta)

    @staticmethod
    def df(t, a, beta, k, delta):
        power = t**delta
        decay = np.exp(-k * power)
        gap = (a - beta) * decay * power
        return 1.0 - decay, decay, gap, gap * k * np.log(t)

    def _basis(self, t, k, delta):
        return np.exp(-k * t**delta)


@CURVES.register("weibull")
@dataclass(frozen=True)
class Weibull(_Sigmoidal):
    """``alpha - (alpha - beta) * exp(-(kappa t)^delta)``: from ``beta`` to ``alpha``."""

    params = ("alpha", "beta", "kappa", "delta")

    @staticmethod
    def f(t, alpha, beta, kappa, delta):
        return alpha - (alpha - beta) * np.exp(-((kappa * t) ** delta))

    @staticmethod
    def df(t, alpha, beta, kappa, delta):
        power = (kappa * t) ** delta
        decay = np.exp(-power)
        gap = (alpha - beta) * decay * power
        return 1.0 - decay, decay, gap * delta / kappa, gap * np.log(kappa * t)

    def _basis(self, t, kappa, delta):
        return np.exp(-((kappa * t) ** delta))


@CURVES.register("mmf")
@dataclass(frozen=True)
class MMF(_Sigmoidal):
    """Morgan-Mercer-Flodin ``alpha - (alpha - beta) / (1 + (kappa t)^delta)``."""

    params = ("alpha", "beta", "kappa", "delta")

    @staticmethod
    def f(t, alpha, beta, kappa, delta):
        return alpha - (alpha - beta) / (1.0 + (kappa * t) ** delta)

    @staticmethod
    def df(t, alpha, beta, kappa, delta):
        power = (kappa * t) ** delta
        inner = 1.0 / (1.0 + power)
        gap = (alpha - beta) * inner**2 * power
        return 1.0 - inner, inner, gap * delta / kappa, gap * np.log(kappa * t)

    def _basis(self, t, kappa, delta):
        return 1.0 / (1.0 + (kappa * t) ** delta)
