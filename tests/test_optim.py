"""Chapter 8: measuring convergence rates (`fit_rate`) and averaging iterates (`running_average`)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbook import optim


class TestFitRate:
    @given(rho=st.floats(0.05, 0.999), c=st.floats(1e-3, 1e3))
    @settings(max_examples=50, deadline=None)
    def test_recovers_a_geometric_sequence(self, rho, c):
        gap = c * rho ** np.arange(200.0)
        assert math.isclose(optim.fit_rate(gap, kind="linear"), rho, rel_tol=1e-9)

    @given(p=st.floats(-3.0, 0.5), c=st.floats(1e-3, 1e3))
    @settings(max_examples=50, deadline=None)
    def test_recovers_a_power_law(self, p, c):
        k = np.arange(1, 5001.0)
        gap = np.r_[np.nan, c * k**p]  # g_0 is not used by the power fit
        assert math.isclose(optim.fit_rate(gap, kind="power"), p, rel_tol=1e-9, abs_tol=1e-9)

    def test_equals_a_least_squares_line_through_the_logs(self):
        rng = np.random.default_rng(0)
        gap = np.exp(-0.3 * np.arange(50.0) + 0.2 * rng.standard_normal(50))
        expected = np.exp(
            np.linalg.lstsq(np.c_[np.ones(40), np.arange(5, 45.0)], np.log(gap[5:45]), rcond=None)[0][1]
        )
        assert math.isclose(optim.fit_rate(gap, kind="linear", start=5, stop=45), expected, rel_tol=1e-12)

    def test_power_fit_weighs_each_decade_alike(self):
        # 1/k for k < 100, then 1/k^2: a log-spaced fit sees both regimes, roughly equally.
        k = np.arange(1, 10001.0)
        gap = np.where(k < 100, 1 / k, 100 / k**2)
        slope = optim.fit_rate(np.r_[1.0, gap], kind="power")
        assert -1.7 < slope < -1.3

    def test_window_restricts_the_fit(self):
        k = np.arange(0, 400.0)
        gap = np.where(k < 200, 0.5**k, 0.5**200 * 0.9 ** (k - 200))
        assert math.isclose(optim.fit_rate(gap, kind="linear", stop=200), 0.5, rel_tol=1e-9)
        assert math.isclose(optim.fit_rate(gap, kind="linear", start=200), 0.9, rel_tol=1e-9)

    def test_zeros_and_non_finite_gaps_are_left_out(self):
        gap = 0.8 ** np.arange(30.0)
        gap[[3, 7]] = 0.0
        gap[11] = np.inf
        assert math.isclose(optim.fit_rate(gap, kind="linear"), 0.8, rel_tol=1e-9)

    def test_accepts_tensors_and_lists(self):
        gap = [2.0**-k for k in range(10)]
        assert math.isclose(optim.fit_rate(torch.tensor(gap), kind="linear"), 0.5, rel_tol=1e-12)
        assert math.isclose(optim.fit_rate(gap, kind="linear"), 0.5, rel_tol=1e-12)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"kind": "geometric"},
            {"kind": "power", "start": 0},
            {"kind": "linear", "start": 5, "stop": 5},
            {"kind": "linear", "start": 20},
            {"kind": "linear", "start": -1},
        ],
    )
    def test_rejects_bad_arguments(self, kwargs):
        with pytest.raises(ValueError, match="kind|start|stop"):
            optim.fit_rate(np.ones(10), **kwargs)

    @pytest.mark.parametrize("kwargs", [{"start": 1.0}, {"stop": True}])
    def test_rejects_non_integer_windows(self, kwargs):
        with pytest.raises(TypeError, match="start|stop"):
            optim.fit_rate(np.ones(10), kind="linear", **kwargs)

    def test_gaps_at_some_iterations_only(self):
        k = np.unique(np.round(np.geomspace(1, 10**5, 40)).astype(int))
        assert math.isclose(optim.fit_rate(3.0 / k, kind="power", iterations=k), -1.0, rel_tol=1e-9)
        assert math.isclose(optim.fit_rate(0.9**k, kind="linear", iterations=k, stop=100), 0.9, rel_tol=1e-9)
        # the window is in iterations, not in positions
        gap = np.where(k < 1000, 1.0 / k, 1e3 / k**2)
        assert math.isclose(optim.fit_rate(gap, kind="power", iterations=k, start=1000), -2.0, rel_tol=1e-9)

    @pytest.mark.parametrize(
        "iterations", [np.arange(9), np.arange(10.0), np.r_[0, 2, 1, 3, 4, 5, 6, 7, 8, 9]]
    )
    def test_rejects_bad_iterations(self, iterations):
        with pytest.raises(ValueError, match="iterations"):
            optim.fit_rate(np.ones(10), kind="linear", iterations=iterations)

    def test_rejects_gaps_without_two_usable_values(self):
        with pytest.raises(ValueError, match="at least two positive"):
            optim.fit_rate([0.0, 0.0, 1.0, 0.0], kind="linear")

    def test_rejects_non_float_and_multidimensional_gaps(self):
        with pytest.raises(TypeError, match="gap"):
            optim.fit_rate(torch.arange(5), kind="linear")
        with pytest.raises(ValueError, match="one-dimensional"):
            optim.fit_rate(np.ones((3, 3)), kind="linear")


class TestRunningAverage:
    def test_equals_the_mean_of_the_iterates_so_far(self):
        path = torch.randn(20, 3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        avg = optim.running_average(path)
        for k in range(20):
            torch.testing.assert_close(avg[k], path[: k + 1].mean(0), rtol=1e-14, atol=1e-14)
        assert avg.dtype == path.dtype and avg.shape == path.shape

    def test_burn_in_is_skipped(self):
        path = torch.arange(10.0, dtype=torch.float64)
        avg = optim.running_average(path, start=4)
        torch.testing.assert_close(avg[:4], path[:4])
        torch.testing.assert_close(avg[4:], torch.tensor([4.0, 4.5, 5.0, 5.5, 6.0, 6.5], dtype=torch.float64))

    def test_averaging_removes_the_noise_floor_of_constant_step_sgd(self):
        # Constant-step SGD on a 1-D quadratic hovers at a noise floor; its average converges
        # (Polyak & Juditsky 1992): the averaged error is several times below the last iterate's.
        y = torch.randn(200, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        path = optim.sgd(
            lambda t, i: t - y[i].mean(),
            torch.tensor(3.0, dtype=torch.float64),
            200,
            step=0.2,
            n_steps=4000,
            generator=torch.Generator().manual_seed(2),
        )
        last = float((path[-1000:] - y.mean()).abs().mean())
        averaged = float((optim.running_average(path, start=100)[-1] - y.mean()).abs())
        assert averaged < 0.2 * last  # 0.033 against 0.29 with these seeds

    @pytest.mark.parametrize("start", [-1, 5])
    def test_rejects_a_start_outside_the_path(self, start):
        with pytest.raises(ValueError, match="start"):
            optim.running_average(torch.zeros(5), start=start)

    def test_rejects_bad_paths_and_starts(self):
        with pytest.raises(TypeError, match="path"):
            optim.running_average(torch.zeros(5, dtype=torch.long))
        with pytest.raises(ValueError, match="path"):
            optim.running_average(torch.zeros(0))
        with pytest.raises(TypeError, match="start"):
            optim.running_average(torch.zeros(5), start=1.0)
