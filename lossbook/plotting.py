"""The book's figure style: one palette, one set of sizes and fonts.

The palette is derived from Okabe & Ito's colour-blind-safe set, with the two
light colours darkened so that *every* colour has a contrast ratio of at least
3:1 (the WCAG threshold for graphics) against both a white page and a dark page
(``#121212``); :func:`contrast_ratio` computes it and the tests check it.
Figures keep a white background so their black text reads in the website's dark
mode too. Introduced in the preface (:doc:`/book/intro`); used by every chapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "green": "#009E73",
    "purple": "#CC79A7",
    "ochre": "#A6761D",
    "grey": "#7F7F7F",
}
"""Named colours, in the order the colour cycle uses them."""

LIGHT_BACKGROUND = "#FFFFFF"
DARK_BACKGROUND = "#121212"

FIGSIZE: dict[str, tuple[float, float]] = {
    "single": (6.0, 3.6),
    "wide": (9.0, 3.4),
    "square": (4.6, 4.2),
    "tall": (9.0, 6.0),
}
"""Standard figure sizes in inches (one panel, a row of panels, a square, a 2-row grid)."""


def color_cycle() -> list[str]:
    """The palette as a list, in cycle order.

    Examples:
        >>> from lossbook.plotting import color_cycle
        >>> len(color_cycle())
        6
    """
    return list(PALETTE.values())


def use_book_style() -> None:
    """Set matplotlib's defaults to the book's style (call once per notebook).

    Examples:
        >>> import matplotlib as mpl
        >>> from lossbook.plotting import color_cycle, use_book_style
        >>> use_book_style()
        >>> mpl.rcParams["axes.prop_cycle"].by_key()["color"] == color_cycle()
        True
    """
    mpl.rcParams.update(
        {
            "figure.figsize": FIGSIZE["single"],
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "figure.facecolor": LIGHT_BACKGROUND,
            "savefig.facecolor": LIGHT_BACKGROUND,
            "axes.facecolor": LIGHT_BACKGROUND,
            "axes.prop_cycle": mpl.cycler(color=color_cycle()),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "legend.fontsize": 9,
            "legend.frameon": False,
            "font.size": 10,
            "lines.linewidth": 2.0,
            "figure.constrained_layout.use": True,
            # Deterministic output: no timestamps or random ids in saved files.
            "svg.hashsalt": "lossbook",
        }
    )


def relative_luminance(color: str) -> float:
    """WCAG 2 relative luminance of a matplotlib colour (0 = black, 1 = white).

    Examples:
        >>> from lossbook.plotting import relative_luminance
        >>> relative_luminance("white"), relative_luminance("black")
        (1.0, 0.0)
    """
    rgb = np.asarray(mpl.colors.to_rgb(color), dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio between two colours, from 1 (none) to 21 (black on white).

    Examples:
        >>> from lossbook.plotting import contrast_ratio
        >>> contrast_ratio("black", "white")
        21.0
    """
    hi, lo = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def plot_curves(
    ax: plt.Axes,
    x: Sequence[float] | np.ndarray,
    curves: Mapping[str, Sequence[float] | np.ndarray],
    *,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    styles: Sequence[str] | None = None,
    legend: bool = True,
) -> plt.Axes:
    """Draw several labelled curves over the same ``x`` on ``ax``, in palette order.

    ``curves`` maps a legend label to the y-values; ``styles`` optionally gives a
    line style per curve (``"-"``, ``"--"``, ...), so curves stay distinguishable
    in greyscale print.

    Examples:
        >>> from lossbook.plotting import plot_curves
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> ax = plot_curves(ax, [0, 1, 2], {"square": [0, 1, 4], "identity": [0, 1, 2]})
        >>> [line.get_label() for line in ax.get_lines()]
        ['square', 'identity']
        >>> plt.close(fig)
    """
    x = np.asarray(x)
    for i, (label, y) in enumerate(curves.items()):
        style = styles[i % len(styles)] if styles else "-"
        ax.plot(x, np.asarray(y), style, label=label)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if legend and curves:
        ax.legend()
    return ax


def plot_loss_and_gradient(
    x: np.ndarray,
    losses: Mapping[str, Callable[[np.ndarray], np.ndarray] | tuple[np.ndarray, np.ndarray]],
    *,
    xlabel: str = "residual $r = \\hat y - y$",
    loss_ylabel: str = "loss",
    grad_ylabel: str = "derivative",
    styles: Sequence[str] | None = None,
) -> tuple[plt.Figure, np.ndarray]:
    """The book's two-panel figure: each loss on the left, its derivative on the right.

    ``losses`` maps a label to a ``(loss_values, derivative_values)`` pair evaluated
    at ``x``. Returns ``(figure, axes)``.

    Examples:
        >>> from lossbook.plotting import plot_loss_and_gradient
        >>> import numpy as np
        >>> import matplotlib.pyplot as plt
        >>> r = np.linspace(-2.0, 2.0, 5)
        >>> fig, axes = plot_loss_and_gradient(r, {"squared": (r**2, 2 * r)})
        >>> [line.get_label() for line in axes[0].get_lines()]
        ['squared']
        >>> plt.close(fig)
    """
    fig, axes = plt.subplots(1, 2, figsize=FIGSIZE["wide"])
    values = {k: np.asarray(v[0]) for k, v in losses.items()}
    grads = {k: np.asarray(v[1]) for k, v in losses.items()}
    plot_curves(axes[0], x, values, xlabel=xlabel, ylabel=loss_ylabel, styles=styles)
    plot_curves(axes[1], x, grads, xlabel=xlabel, ylabel=grad_ylabel, styles=styles, legend=False)
    return fig, axes


def plot_reference_slopes(ax, k, slopes: Sequence[str] = ("1/2", "1")) -> None:
    r"""Grey guide lines :math:`k^{-s}` on a log-log ``ax``, one per slope ``s``, labelled.

    The rate figures compare a measured gap with the rates the theory names: a sublinear
    rate :math:`O(k^{-s})` is a straight line of slope :math:`-s` on a log-log plot, and
    the guides show the slopes to compare against. ``slopes`` are given as strings
    (``"1/2"``, ``"1"``, ``"2"``) so the label reads as written; the first is dotted, the
    next dashed, then dash-dotted.

    Introduced in Chapter 8 (convergence properties, "rates and how to measure them").

    Examples:
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> from lossbook.plotting import plot_reference_slopes
        >>> fig, ax = plt.subplots()
        >>> plot_reference_slopes(ax, np.arange(1, 100))
        >>> [line.get_label() for line in ax.get_lines()]
        ['slope $-1/2$', 'slope $-1$']
        >>> plt.close(fig)
    """
    k = np.asarray(k, dtype=float)
    for s, style in zip(slopes, (":", "--", "-."), strict=False):
        num, _, den = s.partition("/")
        power = float(num) / float(den or 1)
        ax.loglog(k, 1 / k**power, color=PALETTE["grey"], lw=1, ls=style, label=f"slope $-{s}$")


def plot_reliability(ax, confidence, correct, *, n_bins: int = 10, min_count: int = 1, **style):
    """A reliability curve on ``ax``: each bin's mean confidence against its observed frequency.

    Uses :func:`lossbook.metrics.calibration_bins` (``n_bins`` equal-width bins) and draws
    only the bins holding at least ``min_count`` samples; ``style`` goes to ``ax.plot``
    (``color``, ``marker``, ``label``). Add the diagonal of perfect calibration yourself.
    Returns ``ax``. Introduced in Chapter 3 (the hinge loss, "calibration").

    Examples:
        >>> import torch
        >>> from lossbook.plotting import plot_reliability
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots()
        >>> plot_reliability(ax, torch.tensor([0.2, 0.8]), torch.tensor([0, 1]), n_bins=2)
        <Axes: >
        >>> plt.close(fig)
    """
    from .metrics import calibration_bins

    conf, freq, count = calibration_bins(confidence, correct, n_bins=n_bins)
    keep = count >= min_count
    ax.plot(conf[keep].numpy(), freq[keep].numpy(), **style)
    return ax
