"""Contract tests every registered curve family must pass (parametrized over ``CURVES``, so a
new family is covered the moment it registers), plus one known value per family."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize._numdiff import approx_derivative

from losstune.scaling.curves import CURVES
from losstune.scaling.curves.fit import fit_family
from losstune.scaling.curves.normalise import CurveData

FAMILIES = [pytest.param(cls(), id=name) for name, cls in CURVES.items()]
STEPS = np.arange(1, 21, dtype=float)
# an accuracy-like curve in the normalised space: t = step / last step, z = accuracy
DATA = CurveData.of(STEPS / STEPS[-1], 0.9 - 0.5 * STEPS**-0.6, best=1.0)


def _thetas(family, rng: np.random.Generator, n: int = 200) -> np.ndarray:
    """The corners of the bounds, their middle and random points inside."""
    low, high = family.bounds(DATA)
    corners = np.array([low, high, (low + high) / 2])
    return np.vstack([corners, rng.uniform(low, high, size=(n, len(low)))])


def test_the_domhan_families_are_registered():
    required = {"pow3", "pow4", "log_power", "exp3", "janoschek", "weibull", "mmf"}
    assert required <= set(CURVES.names())


@pytest.mark.parametrize("family", FAMILIES)
def test_bounds_and_initial_guess_are_consistent(family):
    low, high = family.bounds(DATA)
    assert low.shape == high.shape == (len(family.params),)
    assert np.all(low < high)
    guess = family.initial_guess(DATA)
    assert guess.shape == low.shape and np.all((low <= guess) & (guess <= high))
    # the grid start already follows the curve: better than a flat line at its mean
    flat = np.sum((DATA.z - DATA.z.mean()) ** 2)
    assert np.sum((family(DATA.t, *guess) - DATA.z) ** 2) < flat


@pytest.mark.parametrize("family", FAMILIES)
def test_vectorised_over_t_and_theta(family):
    theta = family.initial_guess(DATA)
    grid = np.linspace(0.05, 3.0, 12).reshape(3, 4)
    assert family(grid, *theta).shape == (3, 4)
    assert family(np.float64(0.5), *theta).shape == ()
    many = _thetas(family, np.random.default_rng(0), n=5)
    columns = family(0.5, *many.T)
    expected = [family(0.5, *row) for row in many]
    np.testing.assert_allclose(columns, expected)
    with pytest.raises(ValueError, match="parameters"):
        family(grid, *theta[:-1])


@pytest.mark.parametrize("family", FAMILIES)
def test_finite_at_extreme_times_everywhere_in_the_bounds(family):
    t = np.array([1e-4, 1e-2, 1.0, 1e2, 1e4])
    values = np.array([family(t, *theta) for theta in _thetas(family, np.random.default_rng(1))])
    assert np.all(np.isfinite(values))


@pytest.mark.parametrize("family", FAMILIES)
def test_non_decreasing_in_t_and_bounded_by_the_asymptote(family):
    t = np.geomspace(1e-3, 1e3, 200)
    for theta in _thetas(family, np.random.default_rng(2)):
        values = family(t, *theta)
        assert np.all(np.diff(values) >= -1e-12 * (1 + np.abs(values[1:])))
        assert values[-1] <= DATA.cap + 1e-9


@pytest.mark.parametrize("family", FAMILIES)
def test_jacobian_matches_finite_differences(family):
    rng = np.random.default_rng(3)
    for theta in _thetas(family, rng, n=20)[2:]:
        analytic = family.jacobian(DATA.t, *theta)
        numeric = approx_derivative(lambda th: family(DATA.t, *th), theta, method="3-point")
        assert analytic.shape == (len(DATA.t), len(family.params))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-6 * np.abs(numeric).max())


# a point of each family in its bounds, generating the noiseless curves of the fit test
TRUTH = {
    "pow3": (0.92, 0.3, 0.5),
    "pow4": (0.9, 0.2, 0.3, 0.8),
    "log_power": (0.9, -2.5, -1.2),
    "exp3": (0.88, 0.6, 4.0),
    "janoschek": (0.9, 0.2, 3.0, 0.8),
    "weibull": (0.9, 0.2, 3.0, 0.8),
    "mmf": (0.9, 0.2, 5.0, 1.2),
}

# closed-form values each family must take: (theta, t, value)
KNOWN = {
    "pow3": ((0.9, 0.4, 0.7), 1.0, 0.5),  # c - a at t = 1
    "pow4": ((0.9, 0.4, 0.0, 0.7), 1.0, 0.5),  # b = 0 is pow3
    "log_power": ((0.8, np.log(2.0), -1.5), 2.0, 0.4),  # half of a at t = e^b
    "exp3": ((0.9, 0.4, 2.0), 0.0, 0.5),  # c - a at t = 0
    "janoschek": ((0.9, 0.1, 2.0, 1.0), 0.0, 0.1),  # beta at t = 0
    "weibull": ((0.9, 0.1, 4.0, 2.0), 0.25, 0.9 - 0.8 / np.e),  # 1/e of the gap at t = 1/kappa
    "mmf": ((0.9, 0.1, 4.0, 2.0), 0.25, 0.5),  # half-way at t = 1/kappa
}


def test_every_family_has_a_known_value_and_a_fit_case():
    assert set(KNOWN) == set(TRUTH) == set(CURVES.names())


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_value(name):
    theta, t, value = KNOWN[name]
    assert CURVES.get(name)()(t, *theta) == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_fit_recovers_a_noiseless_curve_well_enough_to_extrapolate(name):
    family = CURVES.get(name)()
    t = STEPS / STEPS[-1]
    data = CurveData.of(t, family(t, *TRUTH[name]), best=1.0)
    fit = fit_family(family, data)
    assert fit is not None
    assert fit.rss < 1e-6
    horizon = 3.0  # step 60 of a curve seen up to step 20
    assert fit.predict(horizon) == pytest.approx(family(horizon, *TRUTH[name]), abs=0.01)
