"""Fit one curve family to one normalised curve and draw from its posterior predictive.

The fit is least squares within the family's bounds: ``scipy.optimize.least_squares`` with
Levenberg-Marquardt (MINPACK) on logistic-transformed parameters, ``theta = lower + (upper -
lower) * expit(u)``, with the analytic Jacobian, from the family's grid start and at most
``MAX_EVALUATIONS`` evaluations. The bounded trust-region method gives the same fits at 3-4x
the time (its iterations run in Python); this has to be cheap enough to run at every report.

The posterior is approximated by importance sampling: proposals from a Student-t (4 degrees of
freedom) centred on the fit, with twice the Laplace covariance (``J^T J / sigma^2`` plus a weak
Gaussian prior, a quarter of each bound's width wide, so a parameter the data do not pin down
spreads over its bounds); weights are the posterior under a flat prior inside the bounds with
the noise variance integrated out (``rss(theta)^(-n/2)``) over the proposal density. Unlike a
plain Laplace approximation this follows posteriors cut off by a bound (an asymptote at the
best possible score) and with heavy tails (short curves): on 5-point noisy power laws it
raised the 90% interval's coverage of the true final value from about 0.68 to 0.8. The noise
of each draw comes from its own residuals (a scaled inverse chi-square with ``n`` degrees of
freedom), so the prediction is of the value the metric will *show* at the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.special import expit, logit

from losstune.scaling.curves.families import CurveFamily
from losstune.scaling.curves.normalise import CurveData

MAX_EVALUATIONS = 40
NOISE_FLOOR = 1e-3
"""The residual standard deviation is taken to be at least this fraction of the curve's span:
a family that interpolates the points does not get an infinitely confident fit."""

_TOLERANCE = 1e-6
_PROPOSAL_DOF = 4.0
_PROPOSAL_INFLATION = 2.0
_PROPOSALS_PER_DRAW = 4


@dataclass(frozen=True)
class FamilyFit:
    """``family`` fitted to ``data``: parameters ``theta`` within ``lower``/``upper``, residual
    sum of squares ``rss``, residual variance ``sigma2`` (at least ``sigma2_min``) and a
    square root ``scale`` of the Laplace covariance of ``theta`` (``scale @ scale.T``)."""

    family: CurveFamily
    data: CurveData
    theta: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    rss: float
    sigma2: float
    sigma2_min: float
    scale: np.ndarray

    @property
    def n(self) -> int:
        return len(self.data.t)

    def predict(self, t: np.ndarray | float) -> np.ndarray:
        return self.family(t, *self.theta)

    def sample(self, t: float, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` draws of the value the curve will show at time ``t``."""
        if size == 0:
            return np.empty(0)
        theta, log_q = self._proposals(size * _PROPOSALS_PER_DRAW, rng)
        rss = np.sum((self.family(self.data.t[:, None], *theta.T) - self.data.z[:, None]) ** 2, 0)
        rss = np.maximum(rss, self.n * self.sigma2_min)
        log_w = -0.5 * self.n * np.log(rss) - log_q
        keep = np.isfinite(log_w)
        if not keep.any():  # no proposal inside the bounds with a finite likelihood
            return np.full(size, np.nan)
        theta, rss, log_w = theta[keep], rss[keep], log_w[keep]
        weights = np.exp(log_w - log_w.max())
        chosen = rng.choice(len(weights), size=size, p=weights / weights.sum())
        sigma2 = rss[chosen] / rng.chisquare(self.n, size)
        value = self.family(t, *theta[chosen].T)
        return value + np.sqrt(sigma2) * rng.standard_normal(size)

    def _proposals(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Student-t draws around ``theta`` inside the bounds (``theta`` itself first) and
        their log densities up to a constant."""
        k = len(self.theta)
        normal = rng.standard_normal((size, k))
        mixing = rng.chisquare(_PROPOSAL_DOF, size) / _PROPOSAL_DOF
        step = _PROPOSAL_INFLATION * (normal @ self.scale.T) / np.sqrt(mixing)[:, None]
        theta = np.vstack([self.theta, self.theta + step])
        distance = np.append(0.0, np.sum(normal**2, axis=1) / mixing)
        log_q = -0.5 * (_PROPOSAL_DOF + k) * np.log1p(distance / _PROPOSAL_DOF)
        inside = np.all((theta >= self.lower) & (theta <= self.upper), axis=1)
        return theta[inside], log_q[inside]


def fit_family(
    family: CurveFamily, data: CurveData, max_evaluations: int = MAX_EVALUATIONS
) -> FamilyFit | None:
    """Fit ``family`` to ``data``; ``None`` when there are too few points (fewer than the
    parameters plus two, so the residual variance keeps two degrees of freedom) or the fit is
    not finite."""
    n, k = len(data.t), len(family.params)
    if n < k + 2:
        return None
    lower, upper = family.bounds(data)
    start = np.clip(family.initial_guess(data), lower, upper)
    width = upper - lower

    def theta_of(u: np.ndarray) -> np.ndarray:
        return lower + width * expit(u)

    def residuals(u: np.ndarray) -> np.ndarray:
        return family(data.t, *theta_of(u)) - data.z

    def jacobian(u: np.ndarray) -> np.ndarray:
        s = expit(u)
        jac = family.jacobian(data.t, *(lower + width * s)) * (width * s * (1 - s))
        jac[~np.isfinite(jac)] = 0.0
        return jac

    u0 = logit(np.clip((start - lower) / width, 1e-6, 1 - 1e-6))
    with np.errstate(all="ignore"):
        try:
            found = least_squares(
                residuals,
                u0,
                jac=jacobian,
                method="lm",
                ftol=_TOLERANCE,
                xtol=_TOLERANCE,
                gtol=_TOLERANCE,
                max_nfev=max_evaluations,
            )
        except ValueError:  # residuals not finite at the start
            return None
    theta = theta_of(found.x)
    if not (np.all(np.isfinite(theta)) and np.all(np.isfinite(found.fun))):
        return None
    rss = float(found.fun @ found.fun)
    sigma2_min = (NOISE_FLOOR * data.span) ** 2
    sigma2 = max(rss / (n - k), sigma2_min)
    prior = (4.0 / (upper - lower)) ** 2
    jac = np.nan_to_num(family.jacobian(data.t, *theta), posinf=0.0, neginf=0.0)
    precision = jac.T @ jac / sigma2 + np.diag(prior)
    return FamilyFit(
        family, data, theta, lower, upper, rss, sigma2, sigma2_min, _inverse_sqrt(precision)
    )


def _inverse_sqrt(precision: np.ndarray) -> np.ndarray:
    """``S`` with ``S @ S.T == inv(precision)`` for a symmetric positive-definite precision
    (eigenvalues floored, so round-off cannot make one negative)."""
    values, vectors = np.linalg.eigh(precision)
    values = np.maximum(values, values.max() * 1e-12)
    return vectors / np.sqrt(values)
