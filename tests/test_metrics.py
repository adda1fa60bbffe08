"""Metrics (lossbook.metrics): ranking, precision and recall, calibration."""

import math

import pytest
import torch

from lossbook import metrics as M

F64 = torch.float64


class TestRecallPrecision:
    def test_counts(self):
        pred = torch.tensor([1, 1, 0, 0, 1, 0])
        y = torch.tensor([1, 0, 1, 0, 1, 1])
        # TP = 2 (positions 0, 4), positives 4, predicted positives 3
        assert M.recall_precision(pred, y) == (0.5, 2 / 3)
        # class 0: TP = 1 (position 3), zeros in y 2, predicted zeros 3
        assert M.recall_precision(pred, y, positive=0) == (0.5, 1 / 3)

    def test_boolean_prediction_and_edge_cases(self):
        y = torch.tensor([1, 0, 1])
        assert M.recall_precision(torch.tensor([True, False, False]), y) == (0.5, 1.0)
        assert M.recall_precision(torch.zeros(3, dtype=torch.long), y) == (0.0, 0.0)  # never predicts 1
        recall, precision = M.recall_precision(
            torch.ones(2, dtype=torch.long), torch.zeros(2, dtype=torch.long)
        )
        assert math.isnan(recall) and precision == 0.0

    def test_shape_mismatch(self):
        with pytest.raises(ValueError, match="^prediction and target must have the same shape"):
            M.recall_precision(torch.zeros(3), torch.zeros(2))


class TestAveragePrecision:
    def test_against_the_definition(self):
        score = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.5], dtype=F64)
        y = torch.tensor([1, 0, 1, 0, 1])
        # positives at ranks 1, 3, 5: precisions 1, 2/3, 3/5
        assert M.average_precision(score, y) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3, rel=1e-15)

    def test_against_sklearn_style_brute_force(self):
        g = torch.Generator().manual_seed(3)
        score = torch.randn(300, generator=g, dtype=F64)
        y = (torch.rand(300, generator=g, dtype=F64) < torch.sigmoid(2 * score)).long()
        order = sorted(range(300), key=lambda i: -float(score[i]))
        hits, total = 0, 0.0
        for k, i in enumerate(order, start=1):
            if y[i] == 1:
                hits += 1
                total += hits / k
        assert M.average_precision(score, y) == pytest.approx(total / hits, rel=1e-12)

    def test_perfect_ranking_and_errors(self):
        assert M.average_precision(torch.tensor([3.0, 2.0, 1.0]), torch.tensor([1, 1, 0])) == 1.0
        with pytest.raises(ValueError, match="^target must hold at least one positive"):
            M.average_precision(torch.tensor([1.0, 2.0]), torch.tensor([0, 0]))
        with pytest.raises(ValueError, match="^score and target must have the same shape"):
            M.average_precision(torch.tensor([1.0, 2.0]), torch.tensor([0, 1, 1]))
        with pytest.raises(TypeError, match="^score must be a floating-point"):
            M.average_precision(torch.tensor([1, 2]), torch.tensor([0, 1]))


class TestCalibrationErrors:
    def test_calibration_arguments(self):
        with pytest.raises(ValueError, match="^n_bins must be a positive int"):
            M.expected_calibration_error(torch.tensor([0.5]), torch.tensor([1]), n_bins=0)
        with pytest.raises(ValueError, match="^confidence must hold values in \\[0, 1\\]"):
            M.expected_calibration_error(torch.tensor([1.5]), torch.tensor([1]))
        with pytest.raises(ValueError, match="^confidence and correct must have the same shape"):
            M.expected_calibration_error(torch.tensor([0.5, 0.2]), torch.tensor([1]))


class TestCalibration:
    def test_ece_against_loop(self):
        g = torch.Generator().manual_seed(0)
        conf = torch.rand(200, generator=g, dtype=F64)
        correct = (torch.rand(200, generator=g, dtype=F64) < conf**2).double()
        total = 0.0
        for b in range(10):
            lo, hi = b / 10, (b + 1) / 10
            idx = [i for i, c in enumerate(conf.tolist()) if lo <= c < hi or (b == 9 and c == 1.0)]
            if idx:
                total += (
                    len(idx)
                    / 200
                    * abs(
                        sum(correct[i].item() for i in idx) / len(idx)
                        - sum(conf[i].item() for i in idx) / len(idx)
                    )
                )
        assert M.expected_calibration_error(conf, correct) == pytest.approx(total, rel=1e-12)

    def test_calibrated_forecaster_has_small_ece(self):
        g = torch.Generator().manual_seed(1)
        conf = torch.rand(200_000, generator=g, dtype=F64)
        correct = (torch.rand(200_000, generator=g, dtype=F64) < conf).double()
        assert M.expected_calibration_error(conf, correct) < 0.01
