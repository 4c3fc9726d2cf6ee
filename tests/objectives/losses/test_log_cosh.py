import math

import torch

from losstune.objectives.losses.log_cosh import LogCosh


def test_equals_log_cosh_at_moderate_residuals() -> None:
    r = torch.tensor([-5.0, -1.0, -0.1, -1e-3, 0.0, 1e-3, 0.3, 2.0, 20.0], dtype=torch.float64)
    got = LogCosh()(r, torch.zeros_like(r))
    torch.testing.assert_close(got, torch.log(torch.cosh(r)), rtol=1e-9, atol=1e-15)


def test_is_abs_minus_log_two_at_huge_residuals() -> None:
    r = torch.tensor([1e4, -1e4])
    got = LogCosh()(r, torch.zeros_like(r))
    torch.testing.assert_close(got, r.abs() - math.log(2.0))


def test_gradient_is_tanh_of_the_residual() -> None:
    r = torch.tensor([-1e4, -3.0, 0.0, 0.5, 1e4], dtype=torch.float64, requires_grad=True)
    LogCosh()(r, torch.zeros_like(r)).sum().backward()
    torch.testing.assert_close(r.grad, torch.tanh(r.detach()))
