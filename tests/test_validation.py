"""The error contract and the reductions shared by every loss (lossbook._validation)."""

import math

import numpy as np
import pytest
import torch

from lossbook import _validation as v


class TestReduction:
    def test_accepts_each_reduction(self):
        for r in ("none", "mean", "sum"):
            assert v.check_reduction(r) == r

    @pytest.mark.parametrize("bad", ["avg", "Mean", "", None, 1, "batchmean"])
    def test_rejects_unknown_reduction_with_exact_message(self, bad):
        with pytest.raises(ValueError) as info:
            v.check_reduction(bad)
        assert str(info.value) == f"reduction must be one of 'none', 'mean', 'sum'; got {bad!r}"

    def test_extra_reduction_when_allowed(self):
        assert v.check_reduction("batchmean", ("none", "sum", "mean", "batchmean")) == "batchmean"

    def test_reduce_values(self):
        loss = torch.tensor([1.0, 2.0, 6.0])
        assert v.reduce(loss, "none") is loss
        assert v.reduce(loss, "sum").item() == 9.0
        assert v.reduce(loss, "mean").item() == 3.0

    def test_weighted_mean_is_normalised_by_total_weight(self):
        loss = torch.tensor([1.0, 2.0, 6.0])
        w = torch.tensor([1.0, 0.0, 3.0])
        assert v.reduce(loss * w, "mean", weight=w).item() == pytest.approx((1 + 18) / 4)

    def test_empty_mean_is_zero_and_backpropagates(self):
        x = torch.zeros(0, requires_grad=True)
        out = v.reduce(x * 2, "mean")
        assert out.item() == 0.0 and not torch.isnan(out)
        out.backward()
        assert x.grad is not None and x.grad.shape == (0,)

    def test_zero_total_weight_gives_zero_not_nan(self):
        loss = torch.tensor([1.0, 2.0], requires_grad=True)
        w = torch.zeros(2)
        out = v.reduce(loss * w, "mean", weight=w)
        assert out.item() == 0.0
        out.backward()
        assert torch.isfinite(loss.grad).all()


class TestTensorConversion:
    def test_float_tensor_passes_through(self):
        x = torch.randn(3, dtype=torch.float64)
        assert v.as_float_tensor(x, "input") is x

    def test_list_becomes_default_float(self):
        t = v.as_float_tensor([1, 2, 3], "target")
        assert t.dtype == torch.get_default_dtype()

    def test_array_like_takes_dtype_and_device_of_like(self):
        like = torch.zeros(2, dtype=torch.float64)
        t = v.as_float_tensor(np.array([1.0, 2.0], dtype=np.float32), "target", like=like)
        assert t.dtype == torch.float64 and t.device == like.device

    def test_integer_tensor_is_a_type_error_naming_the_argument(self):
        with pytest.raises(TypeError) as info:
            v.as_float_tensor(torch.tensor([1, 2]), "input")
        assert str(info.value) == (
            "input must be a floating-point tensor; got a tensor of dtype torch.int64 "
            "(convert it with input.float() if that is what you meant)"
        )

    @pytest.mark.parametrize("bad", ["abc", True, torch.tensor([True, False]), [1 + 2j]])
    def test_non_real_inputs_are_rejected(self, bad):
        with pytest.raises(TypeError, match="^input must be a floating-point"):
            v.as_float_tensor(bad, "input")

    def test_index_tensor_accepts_integers(self):
        t = v.as_index_tensor([0, 2, 1], "target")
        assert t.dtype == torch.int64 and t.tolist() == [0, 2, 1]

    def test_float_labels_are_a_type_error(self):
        with pytest.raises(TypeError) as info:
            v.as_index_tensor(torch.tensor([0.0, 1.0]), "target")
        assert str(info.value) == "target must hold integer class indices; got values of dtype torch.float32"


class TestShapeAndDevice:
    def test_same_shape_passes(self):
        v.check_same_shape(torch.zeros(2, 3), torch.zeros(2, 3))

    def test_no_broadcasting(self):
        with pytest.raises(ValueError) as info:
            v.check_same_shape(torch.zeros(4, 1), torch.zeros(4))
        assert str(info.value) == (
            "input and target must have the same shape; got input (4, 1) and target (4,) "
            "(no broadcasting is done)"
        )

    def test_custom_names_in_message(self):
        with pytest.raises(ValueError, match="^anchor and positive must have the same shape"):
            v.check_same_shape(torch.zeros(2), torch.zeros(3), ("anchor", "positive"))

    def test_same_device_passes(self):
        v.check_same_device(("input", torch.zeros(1)), ("target", torch.zeros(1)))

    def test_device_mismatch_message(self):
        meta = torch.zeros(1, device="meta")
        with pytest.raises(ValueError) as info:
            v.check_same_device(("input", torch.zeros(1)), ("target", meta))
        assert str(info.value) == "target is on device meta but input is on cpu; move them to the same device"


class TestScalars:
    def test_positive(self):
        assert v.check_positive(0.5, "delta") == 0.5
        assert v.check_positive(torch.tensor(2.0), "delta") == 2.0

    @pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf])
    def test_positive_rejects(self, bad):
        with pytest.raises(ValueError) as info:
            v.check_positive(bad, "delta")
        assert str(info.value) == f"delta must be positive, in (0, inf); got {float(bad)}"

    def test_positive_allows_inf_when_asked(self):
        assert v.check_positive(math.inf, "delta", allow_inf=True) == math.inf

    def test_nonnegative(self):
        assert v.check_nonnegative(0, "gamma") == 0.0
        with pytest.raises(ValueError) as info:
            v.check_nonnegative(-0.5, "gamma")
        assert str(info.value) == "gamma must be non-negative and finite; got -0.5"

    def test_in_range_closed(self):
        assert v.check_in_range(1.0, "epsilon", 0, 1) == 1.0
        with pytest.raises(ValueError) as info:
            v.check_in_range(1.5, "epsilon", 0, 1)
        assert str(info.value) == "epsilon must be in [0, 1]; got 1.5"

    def test_in_range_open(self):
        with pytest.raises(ValueError) as info:
            v.check_in_range(0.0, "tau", 0, 1, low_inclusive=False, high_inclusive=False)
        assert str(info.value) == "tau must be in (0, 1); got 0.0"

    @pytest.mark.parametrize("bad", ["1", None, True, [1.0]])
    def test_non_numbers_are_type_errors(self, bad):
        with pytest.raises(TypeError, match="^delta must be a real number; got"):
            v.check_positive(bad, "delta")

    def test_tensor_with_several_elements(self):
        with pytest.raises(ValueError, match=r"^delta must be a scalar; got a tensor of shape \(2,\)"):
            v.check_positive(torch.ones(2), "delta")

    def test_finite_scalar(self):
        assert v.check_finite_scalar(-3, "margin") == -3.0
        with pytest.raises(ValueError, match="^margin must be finite; got inf"):
            v.check_finite_scalar(math.inf, "margin")


class TestClassIndices:
    def test_in_range(self):
        v.check_class_indices(torch.tensor([0, 1, 2]), 3)

    def test_too_large(self):
        with pytest.raises(IndexError) as info:
            v.check_class_indices(torch.tensor([0, 3]), 3)
        assert str(info.value) == "target holds class index 3, outside [0, 3) for 3 classes"

    def test_negative(self):
        with pytest.raises(IndexError, match="^target holds class index -1"):
            v.check_class_indices(torch.tensor([-1, 0]), 3)

    def test_ignore_index_is_exempt(self):
        v.check_class_indices(torch.tensor([-100, 2]), 3, ignore_index=-100)
        v.check_class_indices(torch.tensor([-100, -100]), 3, ignore_index=-100)


class TestPreambleAndRepeatedChecks:
    def test_check_pair_converts_and_checks(self):
        x = torch.zeros(3, dtype=torch.float32)
        a, b = v.check_pair(x, [1.0, 2.0, 3.0])
        assert a is x and b.dtype == torch.float32
        with pytest.raises(ValueError, match=r"^p and q must have the same shape; got p \(3,\) and q \(2,\)"):
            v.check_pair(x, torch.zeros(2), ("p", "q"))
        with pytest.raises(ValueError, match="^target is on device meta but input is on cpu"):
            v.check_pair(x, torch.zeros(3, device="meta"))
        with pytest.raises(TypeError, match="^target must be a floating-point tensor"):
            v.check_pair(x, torch.zeros(3, dtype=torch.long))

    def test_check_unit_interval(self):
        v.check_unit_interval(torch.tensor([0.0, 0.5, 1.0]), "target")
        v.check_unit_interval(torch.zeros(0), "target")
        for bad in (-0.1, 1.1, math.nan):
            with pytest.raises(ValueError, match=r"^input must hold probabilities in \[0, 1\]$"):
                v.check_unit_interval(torch.tensor([0.5, bad]), "input", "probabilities")

    @pytest.mark.parametrize("bad", [0, -2, 1.0, True, "3", None])
    def test_check_positive_int(self, bad):
        assert v.check_positive_int(3, "n_bins") == 3
        with pytest.raises(ValueError, match=f"^n_bins must be a positive int; got {bad!r}$"):
            v.check_positive_int(bad, "n_bins")
