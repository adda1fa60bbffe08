"""lossbook.optim: measuring rates (Chapter 8); the notebooks' shared fits, training loop and objectives."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossbook import classification, optim


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


# --------------------------------------------------------------------------- the notebooks' shared loops


def _least_squares(seed=0, n=40, d=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64)
    y = x @ torch.arange(1.0, d + 1, dtype=torch.float64) + 0.1 * torch.randn(
        n, generator=g, dtype=torch.float64
    )
    return x, y


class TestFitLinear:
    def test_least_squares_fit_is_the_normal_equations(self):
        x, y = _least_squares()
        w, b = optim.fit_linear(lambda s, t: ((s - t) ** 2).mean(), x, y, tolerance_change=1e-14)
        ones = torch.cat([x, torch.ones(len(y), 1, dtype=x.dtype)], 1)
        exact = torch.linalg.lstsq(ones, y[:, None]).solution[:, 0]
        torch.testing.assert_close(torch.cat([w, b[None]]), exact, atol=1e-8, rtol=0)
        assert not w.requires_grad and w.shape == (3,) and b.shape == ()

    def test_is_lbfgs_from_zero(self):
        x, y = _least_squares(1)
        loss = lambda s, t: torch.nn.functional.softplus(s - t).mean() + 0.1 * (s**2).mean()  # noqa: E731
        w, b = optim.fit_linear(loss, x, y, max_iter=5)
        w2 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        b2 = torch.zeros((), dtype=torch.float64, requires_grad=True)
        optim.lbfgs(lambda: loss(x @ w2 + b2, y), [w2, b2], max_iter=5)
        assert torch.equal(w, w2.detach()) and torch.equal(b, b2.detach())

    def test_rejects_one_dimensional_features(self):
        with pytest.raises(ValueError, match=r"^x must have shape \(n, d\); got \(3,\)$"):
            optim.fit_linear(lambda s, t: s.sum(), torch.zeros(3), torch.zeros(3))

    def test_outputs_fits_a_softmax_regression(self):
        """outputs=K is the (d, K) weights and (K,) biases fitted by lbfgs from zero, by hand."""
        g = torch.Generator().manual_seed(3)
        x = torch.randn(60, 2, generator=g, dtype=torch.float64)
        y = torch.randint(0, 3, (60,), generator=g)
        w, b = optim.fit_linear(classification.cross_entropy, x, y, outputs=3, max_iter=20)
        w2 = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)
        b2 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        optim.lbfgs(lambda: classification.cross_entropy(x @ w2 + b2, y), [w2, b2], max_iter=20)
        assert w.shape == (2, 3) and b.shape == (3,)
        assert torch.equal(w, w2.detach()) and torch.equal(b, b2.detach())

    @pytest.mark.parametrize("outputs", [0, 2.0, True])
    def test_rejects_bad_outputs(self, outputs):
        with pytest.raises(ValueError, match="^outputs must be a positive int"):
            optim.fit_linear(lambda s, t: s.sum(), torch.zeros(3, 1), torch.zeros(3), outputs=outputs)


class TestMinimize:
    def test_is_lbfgs_on_a_copy_of_the_start(self):
        target = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
        start = torch.zeros(3, dtype=torch.float64)
        theta = optim.minimize(lambda t: classification.cross_entropy(t, target), start, max_iter=7)
        by_hand = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        optim.lbfgs(lambda: classification.cross_entropy(by_hand, target), [by_hand], max_iter=7)
        assert torch.equal(theta, by_hand.detach()) and not theta.requires_grad
        assert torch.equal(start, torch.zeros(3, dtype=torch.float64))  # the start is not moved

    def test_finds_the_minimiser(self):
        target = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
        theta = optim.minimize(
            lambda t: classification.cross_entropy(t, target),
            torch.zeros(3, dtype=torch.float64),
            tolerance_grad=1e-13,
            tolerance_change=1e-16,
        )
        torch.testing.assert_close(torch.softmax(theta, 0), target, atol=1e-8, rtol=0)

    def test_rejects_a_non_tensor_start(self):
        with pytest.raises(TypeError, match="^start must be"):
            optim.minimize(lambda t: t.sum(), "zeros")


class TestWithIntercept:
    def test_appends_a_column_of_ones(self):
        x = torch.arange(6.0, dtype=torch.float64).reshape(3, 2)
        out = optim.with_intercept(x)
        assert out.dtype == torch.float64 and out.shape == (3, 3)
        assert torch.equal(out[:, :2], x) and torch.equal(out[:, 2], torch.ones(3, dtype=torch.float64))

    def test_rejects_one_dimensional_features(self):
        with pytest.raises(ValueError, match=r"^x must have shape \(n, d\); got \(3,\)$"):
            optim.with_intercept(torch.zeros(3))


class TestTrain:
    def test_is_the_hand_written_loop(self):
        """The same parameters and losses as zero_grad / backward / step written out, scheduler included."""
        x, y = _least_squares(2)

        def run(by_hand):
            w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
            batch = lambda k: slice(4 * (k % 10), 4 * (k % 10) + 4)  # noqa: E731
            loss_fn = lambda k: ((x[batch(k)] @ w - y[batch(k)]) ** 2).mean()  # noqa: E731
            sched = lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [20], gamma=0.1)  # noqa: E731
            if not by_hand:
                return w, optim.train(loss_fn, [w], steps=30, lr=0.3, scheduler=sched)
            opt = torch.optim.Adam([w], lr=0.3)
            s = sched(opt)
            losses = []
            for k in range(30):
                opt.zero_grad()
                loss = loss_fn(k)
                loss.backward()
                opt.step()
                s.step()
                losses.append(float(loss.detach()))
            return w, torch.tensor(losses, dtype=torch.float64)

        (w1, l1), (w2, l2) = run(False), run(True)
        assert torch.equal(w1.detach(), w2.detach()) and torch.equal(l1, l2)
        assert l1.shape == (30,) and l1[-1] < l1[0] / 10

    def test_passes_the_step_and_uses_the_optimiser_class(self):
        a = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        seen = []

        def loss_fn(k):
            seen.append(k)
            return (a - 1.0).pow(2).sum()

        losses = optim.train(loss_fn, [a], steps=4, lr=0.5, optimizer=torch.optim.SGD)
        assert seen == [0, 1, 2, 3]
        # SGD with lr 0.5 on (a - 1)^2 jumps to the minimum in one step
        assert losses.tolist() == [1.0, 0.0, 0.0, 0.0] and float(a.detach()) == 1.0

    def test_zero_steps_change_nothing(self):
        a = torch.ones(2, requires_grad=True)
        assert optim.train(lambda k: a.sum(), [a], steps=0, lr=1.0).shape == (0,)
        assert torch.equal(a.detach(), torch.ones(2))

    @pytest.mark.parametrize(
        ("kwargs", "exc", "match"),
        [
            ({"steps": -1}, ValueError, "^n_steps must be non-negative"),
            ({"steps": 1.5}, TypeError, "^n_steps must be an int"),
            ({"lr": 0.0}, ValueError, "^lr must be positive"),
            ({"params": [torch.zeros(2)]}, ValueError, "^params must be a non-empty sequence"),
        ],
    )
    def test_rejects(self, kwargs, exc, match):
        args = {"params": [torch.zeros(2, requires_grad=True)], "steps": 2, "lr": 0.1} | kwargs
        with pytest.raises(exc, match=match):
            optim.train(lambda k: args["params"][0].sum(), **args)


class TestLinearObjective:
    def test_objective_gradient_and_autograd_agree(self):
        from lossbook import regression

        x, y = _least_squares(3)
        F = optim.linear_objective(regression.huber, x, y, delta=0.5)
        grad = optim.linear_gradient(regression.huber_grad, x, y, delta=0.5)
        theta = torch.tensor([0.3, 1.1, 3.2], dtype=torch.float64)
        torch.testing.assert_close(F(theta), regression.huber(x @ theta, y, delta=0.5))
        torch.testing.assert_close(optim.autograd_gradient(F)(theta), grad(theta), atol=1e-12, rtol=0)

    def test_a_stack_of_parameters_gives_one_value_and_gradient_each(self):
        from lossbook import regression

        x, y = _least_squares(4)
        F = optim.linear_objective(regression.mse, x, y)
        thetas = torch.randn(5, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        assert F(thetas).shape == (5, 2)
        torch.testing.assert_close(F(thetas)[3, 1], F(thetas[3, 1]))
        g = optim.autograd_gradient(F)(thetas)
        torch.testing.assert_close(g[3, 1], optim.linear_gradient(regression.mse_grad, x, y)(thetas[3, 1]))

    def test_autograd_gradient_does_not_touch_its_argument(self):
        theta = torch.tensor([1.0, 2.0], requires_grad=True)
        g = optim.autograd_gradient(lambda t: (t**3).sum())(theta)
        assert torch.equal(g, torch.tensor([3.0, 12.0])) and theta.grad is None

    @pytest.mark.parametrize("build", [optim.linear_objective, optim.linear_gradient])
    def test_rejects_mismatched_shapes(self, build):
        with pytest.raises(ValueError, match=r"^x must have shape \(n, d\) and y shape \(n,\)"):
            build(lambda *a, **k: None, torch.zeros(4, 2), torch.zeros(3))
