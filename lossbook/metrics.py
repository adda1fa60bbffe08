"""Metrics the book's experiments report: ranking, precision and recall, calibration.

They are not losses (nothing here is minimised): they measure what a loss achieves. Each
takes detached predictions and labels and returns Python floats or float64 tensors, so a
notebook can print and glue them directly.
"""

from __future__ import annotations

import math

import torch

from ._validation import as_float_tensor, check_positive_int, check_unit_interval

__all__ = ["average_precision", "calibration_bins", "expected_calibration_error", "recall_precision"]


def recall_precision(prediction, target, *, positive: int = 1) -> tuple[float, float]:
    r"""Recall :math:`TP/(TP + FN)` and precision :math:`TP/(TP + FP)` of the class ``positive``.

    Args:
        prediction: predicted class labels (or a boolean "predicted positive"), shape ``(n,)``.
        target: true class labels, the same shape.
        positive: the class whose recall and precision are measured.

    Returns:
        ``(recall, precision)`` as floats. A classifier that never predicts the class has
        precision 0; a target without the class has recall NaN.

    Introduced in Chapter 3 (cross-entropy, "class imbalance").

    Examples:
        >>> import torch
        >>> from lossbook.metrics import recall_precision
        >>> recall_precision(torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 1, 0]))
        (0.5, 0.5)
    """
    pred = torch.as_tensor(prediction).detach().flatten()
    true = torch.as_tensor(target).detach().to(pred.device).flatten()
    if pred.shape != true.shape:
        raise ValueError(
            f"prediction and target must have the same shape; got {tuple(pred.shape)} and {tuple(true.shape)}"
        )
    hit_pred, hit_true = pred == positive, true == positive
    tp = int((hit_pred & hit_true).sum())
    n_true = int(hit_true.sum())
    return (tp / n_true if n_true else math.nan), tp / max(int(hit_pred.sum()), 1)


def average_precision(score, target) -> float:
    r"""Average precision: the mean of the precision at the rank of each positive.

    .. math:: \mathrm{AP} = \frac{1}{n_+} \sum_{k:\ y_{(k)} = 1} \mathrm{precision@}k,

    with the samples sorted by decreasing score (ties in the order the sort leaves them).
    It depends only on the ranking, not on a threshold, so it compares losses whose
    scores are calibrated differently.

    Args:
        score: scores, higher meaning "more likely positive", shape ``(n,)``.
        target: labels in ``{0, 1}``, the same shape, with at least one positive.

    Introduced in Chapter 3 (focal loss, "imbalance").

    Examples:
        >>> import torch
        >>> from lossbook.metrics import average_precision
        >>> average_precision(torch.tensor([0.9, 0.8, 0.1]), torch.tensor([1, 0, 1]))
        0.8333333333333333
    """
    score = as_float_tensor(score, "score").detach().flatten()
    y = torch.as_tensor(target).detach().to(score.device).flatten()
    if score.shape != y.shape:
        raise ValueError(
            f"score and target must have the same shape; got {tuple(score.shape)} and {tuple(y.shape)}"
        )
    order = torch.argsort(score, descending=True)
    hits = (y[order] == 1).to(torch.float64)
    if not bool(hits.any()):
        raise ValueError("target must hold at least one positive (label 1)")
    precision_at_k = hits.cumsum(0) / torch.arange(1, len(hits) + 1, device=hits.device)
    return float((precision_at_k * hits).sum() / hits.sum())


def calibration_bins(confidence, correct, *, n_bins: int = 10):
    r"""Equal-width reliability bins on :math:`[0, 1]`.

    Args:
        confidence: predicted probabilities of the predicted (or positive) class, shape ``(n,)``.
        correct: 1 where the prediction was right (or the label positive), shape ``(n,)``.
        n_bins: the number of bins (at least 1).

    Returns:
        ``(mean_confidence, accuracy, count)``, each a float64 tensor of shape ``(n_bins,)``;
        empty bins hold NaN in the first two and 0 in ``count``.

    Introduced in Chapter 3 (the hinge loss, "calibration").

    Examples:
        >>> import torch
        >>> from lossbook.metrics import calibration_bins
        >>> confidence, correct = torch.tensor([0.15, 0.95]), torch.tensor([0, 1])
        >>> mean_confidence, accuracy, count = calibration_bins(confidence, correct, n_bins=2)
        >>> accuracy
        tensor([0., 1.], dtype=torch.float64)
        >>> count
        tensor([1., 1.], dtype=torch.float64)
    """
    conf = as_float_tensor(confidence, "confidence").detach().double().flatten()
    corr = torch.as_tensor(correct).detach().to(conf.device).double().flatten()
    if conf.shape != corr.shape:
        raise ValueError(
            "confidence and correct must have the same shape; "
            f"got {tuple(conf.shape)} and {tuple(corr.shape)}"
        )
    check_positive_int(n_bins, "n_bins")
    check_unit_interval(conf, "confidence")
    idx = torch.clamp((conf * n_bins).long(), max=n_bins - 1)
    count = torch.zeros(n_bins, dtype=torch.float64, device=conf.device).index_add_(
        0, idx, torch.ones_like(conf)
    )
    s_conf = torch.zeros_like(count).index_add_(0, idx, conf)
    s_corr = torch.zeros_like(count).index_add_(0, idx, corr)
    nan = torch.full_like(count, math.nan)
    return (
        torch.where(count > 0, s_conf / count.clamp(min=1), nan),
        torch.where(count > 0, s_corr / count.clamp(min=1), nan),
        count,
    )


def expected_calibration_error(confidence, correct, *, n_bins: int = 10) -> float:
    r"""Expected calibration error :math:`\sum_b \frac{n_b}{n}\,\bigl|\mathrm{acc}_b - \mathrm{conf}_b\bigr|`.

    Equal-width bins (see :func:`calibration_bins`). Reference: Guo, Pleiss, Sun &
    Weinberger (2017). Introduced in Chapter 3 (the hinge loss, "calibration").

    Examples:
        >>> import torch
        >>> from lossbook.metrics import expected_calibration_error
        >>> confidence, correct = torch.tensor([0.9, 0.9, 0.6, 0.6]), torch.tensor([1, 1, 1, 0])
        >>> expected_calibration_error(confidence, correct, n_bins=2)
        0.0
    """
    conf, acc, count = calibration_bins(confidence, correct, n_bins=n_bins)
    n = count.sum()
    if n == 0:
        return 0.0
    gap = torch.where(count > 0, (acc - conf).abs(), torch.zeros_like(count))
    return float((count * gap).sum() / n)
