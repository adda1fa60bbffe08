"""The package's foundation: version, lazy chapter modules, device helper, style, data, optimisation loops."""

import inspect
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lossbook
from lossbook import data, device, optim, plotting


class TestPackage:
    def test_version_is_a_release_string(self):
        parts = lossbook.__version__.split(".")
        assert len(parts) == 3 and all(p.isdigit() for p in parts)

    def test_unknown_attribute_is_an_attribute_error(self):
        with pytest.raises(AttributeError, match="no attribute 'no_such_chapter'"):
            lossbook.no_such_chapter  # noqa: B018

    def test_private_names_are_not_imported_lazily(self):
        with pytest.raises(AttributeError):
            lossbook._hidden  # noqa: B018


class TestDevice:
    def test_cpu_fallback_without_accelerators(self, monkeypatch):
        monkeypatch.delenv("LOSSBOOK_DEVICE", raising=False)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        monkeypatch.setattr(device, "_mps_available", lambda: False)
        assert device.default_device() == torch.device("cpu")

    def test_cuda_is_preferred_to_mps(self, monkeypatch):
        monkeypatch.delenv("LOSSBOOK_DEVICE", raising=False)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        monkeypatch.setattr(device, "_mps_available", lambda: True)
        assert device.default_device() == torch.device("cuda")

    def test_mps_is_preferred_to_cpu(self, monkeypatch):
        monkeypatch.delenv("LOSSBOOK_DEVICE", raising=False)
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        monkeypatch.setattr(device, "_mps_available", lambda: True)
        assert device.default_device() == torch.device("mps")

    def test_environment_variable_forces_a_device(self, monkeypatch):
        monkeypatch.setenv("LOSSBOOK_DEVICE", "cpu")
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        assert device.default_device() == torch.device("cpu")

    def test_prefer_argument(self):
        assert device.default_device("cpu") == torch.device("cpu")

    def test_bad_device_string(self):
        with pytest.raises(ValueError) as info:
            device.default_device("gpu0")
        assert str(info.value) == "prefer must be a device string such as 'cpu' or 'cuda'; got 'gpu0'"

    def test_unavailable_cuda(self, monkeypatch):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
        with pytest.raises(
            ValueError, match="^prefer='cuda' asks for CUDA, but no CUDA device is available$"
        ):
            device.default_device("cuda")

    def test_unsupported_device_type(self):
        with pytest.raises(
            ValueError, match="^prefer must name a 'cpu', 'cuda' or 'mps' device; got 'meta'$"
        ):
            device.default_device("meta")

    def test_describe_cpu(self):
        assert device.describe_device("cpu") == "cpu"


class TestPlotting:
    @pytest.mark.parametrize("background", [plotting.LIGHT_BACKGROUND, plotting.DARK_BACKGROUND])
    def test_every_colour_has_graphics_contrast_on_light_and_dark(self, background):
        for name, colour in plotting.PALETTE.items():
            assert plotting.contrast_ratio(colour, background) >= 3.0, (name, background)

    def test_contrast_ratio_extremes(self):
        assert plotting.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
        assert plotting.contrast_ratio("#777777", "#777777") == pytest.approx(1.0)

    def test_palette_colours_are_distinct(self):
        assert len(set(plotting.PALETTE.values())) == len(plotting.PALETTE)

    def test_style_sets_the_cycle_and_white_background(self):
        plotting.use_book_style()
        cycle = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert [c.lower() for c in cycle] == [c.lower() for c in plotting.color_cycle()]
        assert matplotlib.rcParams["figure.facecolor"] == plotting.LIGHT_BACKGROUND

    def test_plot_curves_draws_one_line_per_curve(self):
        fig, ax = plt.subplots()
        plotting.plot_curves(ax, [0, 1, 2], {"a": [0, 1, 4], "b": [0, 1, 2]}, xlabel="x", ylabel="y")
        assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
        assert ax.get_xlabel() == "x" and ax.get_legend() is not None
        plt.close(fig)

    def test_loss_and_gradient_figure_has_two_panels(self):
        x = np.linspace(-2, 2, 5)
        fig, axes = plotting.plot_loss_and_gradient(x, {"square": (x**2, 2 * x)})
        assert len(axes) == 2
        np.testing.assert_allclose(axes[1].get_lines()[0].get_ydata(), 2 * x)
        plt.close(fig)

    def test_reference_slopes_are_power_laws(self):
        k = np.arange(1.0, 50.0)
        fig, ax = plt.subplots()
        plotting.plot_reference_slopes(ax, k, slopes=("1/2", "1", "2"))
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == ["slope $-1/2$", "slope $-1$", "slope $-2$"]
        for line, power in zip(lines, (0.5, 1.0, 2.0), strict=True):
            np.testing.assert_allclose(line.get_ydata(), k**-power, rtol=1e-15)
        assert [line.get_linestyle() for line in lines] == [":", "--", "-."]
        plt.close(fig)

    def test_plot_reliability_draws_the_populated_bins(self):
        conf = torch.tensor([0.05, 0.15, 0.15, 0.95, 0.91, 0.97], dtype=torch.float64)
        correct = torch.tensor([0, 1, 0, 1, 1, 0])
        fig, ax = plt.subplots()
        plotting.plot_reliability(ax, conf, correct, min_count=2, color="k", label="model")
        (line,) = ax.get_lines()
        np.testing.assert_allclose(line.get_xdata(), [0.15, (0.95 + 0.91 + 0.97) / 3])
        np.testing.assert_allclose(line.get_ydata(), [0.5, 2 / 3])
        assert line.get_label() == "model"
        plt.close(fig)


class TestData:
    def test_generator_is_reproducible(self):
        a = torch.rand(3, generator=data.generator(7))
        b = torch.rand(3, generator=data.generator(7))
        assert torch.equal(a, b)

    def test_generator_rejects_non_int_seed(self):
        with pytest.raises(TypeError, match="^seed must be an int; got float$"):
            data.generator(1.5)

    def test_linear_regression_shapes_and_noise_free_fit(self):
        x, y, w = data.linear_regression(50, 3, noise=0.0, bias=2.0, seed=1)
        assert x.shape == (50, 3) and y.shape == (50,) and w.shape == (3,)
        torch.testing.assert_close(y, x @ w + 2.0)

    def test_linear_regression_is_seeded(self):
        assert torch.equal(data.linear_regression(5, seed=3)[1], data.linear_regression(5, seed=3)[1])
        assert not torch.equal(data.linear_regression(5, seed=3)[1], data.linear_regression(5, seed=4)[1])

    def test_linear_regression_noise_level(self):
        x, y, w = data.linear_regression(20000, 2, noise=0.5, seed=0)
        residual = y - x @ w
        assert abs(float(residual.std()) - 0.5) < 0.02

    @pytest.mark.parametrize(
        ("kwargs", "exc", "message"),
        [
            ({"n": 0}, ValueError, "^n must be at least 1; got 0$"),
            ({"n": 2.5}, TypeError, "^n must be an int; got float$"),
            ({"n": 5, "d": 0}, ValueError, "^d must be at least 1; got 0$"),
            ({"n": 5, "noise": -1.0}, ValueError, "^noise must be non-negative and finite; got -1.0$"),
            ({"n": 5, "d": 2, "weight": [1.0]}, ValueError, r"^weight must have shape \(2,\); got \(1,\)$"),
        ],
    )
    def test_linear_regression_rejects(self, kwargs, exc, message):
        with pytest.raises(exc, match=message):
            data.linear_regression(**kwargs)

    def test_noisy_sine_range_and_noise_free_values(self):
        x, y = data.noisy_sine(100, noise=0.0, low=-1.0, high=2.0, seed=0)
        assert float(x.min()) >= -1.0 and float(x.max()) <= 2.0
        torch.testing.assert_close(y, torch.sin(2 * torch.pi * x))

    def test_noisy_sine_rejects_empty_interval(self):
        with pytest.raises(ValueError, match="^high must be greater than low; got low=1.0, high=1.0$"):
            data.noisy_sine(10, low=1.0, high=1.0)

    def test_two_gaussians_balance_and_separation(self):
        x, y = data.two_gaussians(20000, distance=4.0, positive_fraction=0.1, seed=0)
        assert y.dtype == torch.int64 and set(y.unique().tolist()) == {0, 1}
        assert abs(float(y.double().mean()) - 0.1) < 0.01
        assert abs(float(x[y == 1, 0].mean()) - 2.0) < 0.05
        assert abs(float(x[y == 0, 0].mean()) + 2.0) < 0.05

    # Every seeded generator with its simplest arguments: the data must not depend on torch's
    # default dtype (a notebook that sets it, or a learner who does, gets the book's data).
    SEEDED = {
        "linear_regression": (20,),
        "noisy_sine": (20,),
        "two_gaussians": (20,),
        "gaussian_classes": (20,),
        "location_sample": ((4, 5),),
        "conditioned_least_squares": (20, 3),
        "contaminated_sample": (3, 10),
        "heteroscedastic_regression": (20,),
        "clustered_data": (20,),
        "correlated_gaussians": (20,),
        "digit_strings": (4, 5),
        "ctc_batch": (12, 4, 5, 3),
        "ring_of_gaussians": (20,),
        "linear_gaussian_latent": (20,),
        "ordinal_regression": (20,),
        "outlier_regression": (20,),
    }
    KEYWORDS = {
        "conditioned_least_squares": {"condition_number": 3.0},
        "contaminated_sample": {"fraction": 0.2},
    }

    def test_every_seeded_generator_is_listed(self):
        seeded = {
            name
            for name, fn in vars(data).items()
            if inspect.isfunction(fn)
            and fn.__module__ == data.__name__
            and "seed" in inspect.signature(fn).parameters
        }
        assert seeded - {"generator"} == set(self.SEEDED)

    @pytest.mark.parametrize("name", sorted(SEEDED))
    def test_data_do_not_depend_on_the_default_dtype(self, name):
        fn = getattr(data, name)
        make = lambda: fn(*self.SEEDED[name], seed=3, **self.KEYWORDS.get(name, {}))  # noqa: E731
        as_tuple = lambda out: out if isinstance(out, tuple) else (out,)  # noqa: E731
        reference = as_tuple(make())
        before = torch.get_default_dtype()
        try:
            torch.set_default_dtype(torch.float64)
            changed = as_tuple(make())
        finally:
            torch.set_default_dtype(before)
        for a, b in zip(reference, changed, strict=True):
            assert a.dtype == b.dtype and torch.equal(a, b), name

    def test_two_gaussians_rejects_bad_fraction(self):
        with pytest.raises(ValueError, match=r"^positive_fraction must be in \[0, 1\]; got 1.5$"):
            data.two_gaussians(10, positive_fraction=1.5)


def _quadratic(a):
    a = torch.as_tensor(a, dtype=torch.float64)
    return (lambda x: a * x), a  # gradient of f(x) = sum(a x^2 / 2)


class TestOptim:
    def test_gradient_descent_on_a_quadratic_matches_the_closed_form(self):
        grad, a = _quadratic([1.0, 4.0])
        path = optim.gradient_descent(
            grad, torch.tensor([1.0, 1.0], dtype=torch.float64), step=0.1, n_steps=5
        )
        assert path.shape == (6, 2)
        k = torch.arange(6, dtype=torch.float64)[:, None]
        torch.testing.assert_close(path, (1 - 0.1 * a) ** k)

    def test_step_schedule_is_called_with_the_iteration(self):
        seen = []

        def step(k):
            seen.append(k)
            return 1.0 / (k + 1)

        optim.gradient_descent(lambda x: torch.ones_like(x), torch.zeros(1), step=step, n_steps=3)
        assert seen == [0, 0, 1, 2]  # validated once up front, then once per step

    @settings(max_examples=25, deadline=None)
    @given(st.floats(min_value=0.01, max_value=1.99))
    def test_converges_below_two_over_l_and_diverges_above(self, alpha_times_l):
        grad, _ = _quadratic([3.0])
        L = 3.0
        x0 = torch.tensor([1.0], dtype=torch.float64)
        stable = optim.gradient_descent(grad, x0, step=alpha_times_l / L, n_steps=200)
        assert abs(float(stable[-1])) < abs(1 - alpha_times_l) ** 199 + 1e-12
        unstable = optim.gradient_descent(grad, x0, step=(4.0 - alpha_times_l) / L, n_steps=50)
        assert abs(float(unstable[-1])) > 1.0

    def test_subgradient_method_on_absolute_value_with_diminishing_steps(self):
        path = optim.subgradient_method(
            torch.sign,
            torch.tensor([2.0], dtype=torch.float64),
            step=lambda k: 1.0 / math.sqrt(k + 1),
            n_steps=400,
        )
        best = path.abs().min()
        assert float(best) < 0.1

    def test_sgd_is_reproducible_and_converges_on_a_mean(self):
        values = torch.linspace(0, 1, 11, dtype=torch.float64)

        def sample_grad(theta, idx):  # gradient of (theta - v)^2 / 2 averaged over the batch
            return theta - values[idx].mean()

        run = lambda seed: optim.sgd(  # noqa: E731
            sample_grad,
            torch.zeros((), dtype=torch.float64),
            11,
            step=lambda k: 1.0 / (k + 1),
            n_steps=2000,
            batch_size=4,
            generator=data.generator(seed),
        )
        a, b = run(0), run(0)
        assert torch.equal(a, b)
        assert abs(float(a[-1]) - 0.5) < 0.02

    @pytest.mark.parametrize(
        ("kwargs", "exc", "message"),
        [
            ({"step": 0.0}, ValueError, r"^step must be positive, in \(0, inf\); got 0.0$"),
            ({"step": -1.0}, ValueError, "^step must be positive"),
            ({"n_steps": -1}, ValueError, "^n_steps must be non-negative; got -1$"),
            ({"n_steps": 2.0}, TypeError, "^n_steps must be an int; got float$"),
        ],
    )
    def test_gradient_descent_rejects(self, kwargs, exc, message):
        args = {"step": 0.1, "n_steps": 3} | kwargs
        with pytest.raises(exc, match=message):
            optim.gradient_descent(lambda x: x, torch.zeros(1), **args)

    def test_sgd_needs_a_generator(self):
        with pytest.raises(TypeError, match="^generator must be a torch.Generator; got int$"):
            optim.sgd(lambda x, i: x, torch.zeros(1), 5, step=0.1, n_steps=1, generator=0)

    def test_sgd_rejects_bad_batch_size(self):
        with pytest.raises(ValueError, match="^batch_size must be a positive int; got 0$"):
            optim.sgd(
                lambda x, i: x,
                torch.zeros(1),
                5,
                step=0.1,
                n_steps=1,
                batch_size=0,
                generator=data.generator(0),
            )


class TestLbfgs:
    def test_fits_least_squares_exactly_in_place(self):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(50, 3, generator=g, dtype=torch.float64)
        y = x @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.1 * torch.randn(
            50, generator=g, dtype=torch.float64
        )
        w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
        value = optim.lbfgs(lambda: ((x @ w - y) ** 2).mean(), [w], tolerance_change=1e-14)
        w_ls = torch.linalg.lstsq(x, y[:, None]).solution[:, 0]
        torch.testing.assert_close(w.detach(), w_ls, atol=1e-8, rtol=0)
        assert value == pytest.approx(float(((x @ w_ls - y) ** 2).mean()), rel=1e-10)

    def test_is_the_closure_loop_of_torch_lbfgs(self):
        """The same iterates as the hand-written loop with the same settings."""
        target = torch.tensor([3.0, -1.0], dtype=torch.float64)
        f = lambda t: ((t - target) ** 4).sum() + (t**2).sum()  # noqa: E731
        a = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        optim.lbfgs(lambda: f(a), [a], max_iter=7, tolerance_grad=1e-12, tolerance_change=1e-15)
        b = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.LBFGS(
            [b], max_iter=7, line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15
        )

        def closure():
            opt.zero_grad()
            loss = f(b)
            loss.backward()
            return loss

        opt.step(closure)
        assert torch.equal(a.detach(), b.detach())

    @pytest.mark.parametrize(
        "kwargs, match",
        [
            ({"params": []}, "^params must be a non-empty sequence"),
            ({"params": [torch.zeros(2)]}, "^params must be a non-empty sequence"),
            ({"max_iter": 0}, "^max_iter must be a positive int"),
            ({"tolerance_grad": 0.0}, "^tolerance_grad must be positive"),
            ({"tolerance_change": -1.0}, "^tolerance_change must be positive"),
        ],
    )
    def test_rejects_bad_arguments(self, kwargs, match):
        args = {"params": [torch.zeros(2, requires_grad=True)], **kwargs}
        with pytest.raises(ValueError, match=match):
            optim.lbfgs(lambda: args["params"][0].sum() if args["params"] else None, **args)


def test_environment_yml_carries_the_lock_files_pins():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    lock = {
        line.strip()
        for line in (root / "requirements.lock").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    env = {
        line.strip()[2:]
        for line in (root / "environment.yml").read_text().splitlines()
        if line.startswith("      - ") and "==" in line
    }
    assert lock <= env
    assert env - lock == {"torch==2.13.0+cpu"}  # the CPU build, from PyTorch's CPU wheel index
    assert 'TORCH_VERSION="2.13.0"' in (root / "scripts" / "setup.sh").read_text()
