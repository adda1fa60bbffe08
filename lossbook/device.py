"""Pick the device the book's GPU-ready experiments run on.

Every chapter's heaviest experiment calls :func:`default_device` once and moves
its tensors there, so the same notebook uses a GPU when one is present and the
CPU otherwise (which is how the book is tested). Introduced in the preface
(:doc:`/book/intro`).
"""

from __future__ import annotations

import os

import torch

__all__ = ["default_device", "describe_device"]

_ENV = "LOSSBOOK_DEVICE"


def default_device(prefer: str | None = None) -> torch.device:
    """The best available device: CUDA, then Apple's MPS, then the CPU.

    Args:
        prefer: a device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) to
            use instead of the automatic choice. Without it, the environment variable
            ``LOSSBOOK_DEVICE`` is honoured, which lets a reader force the CPU.

    Raises:
        ValueError: if the requested device is not a valid device string or is not
            available on this machine.

    Examples:
        >>> from lossbook.device import default_device
        >>> default_device("cpu")
        device(type='cpu')
    """
    choice = prefer if prefer is not None else os.environ.get(_ENV) or None
    if choice is not None:
        try:
            dev = torch.device(choice)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"prefer must be a device string such as 'cpu' or 'cuda'; got {choice!r}"
            ) from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"prefer={choice!r} asks for CUDA, but no CUDA device is available")
        if dev.type == "mps" and not _mps_available():
            raise ValueError(f"prefer={choice!r} asks for MPS, but MPS is not available")
        if dev.type not in ("cpu", "cuda", "mps"):
            raise ValueError(f"prefer must name a 'cpu', 'cuda' or 'mps' device; got {choice!r}")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def describe_device(device: torch.device | str | None = None) -> str:
    """A one-line human description of ``device`` (for the one cell that prints it).

    Examples:
        >>> from lossbook.device import describe_device
        >>> describe_device("cpu")
        'cpu'
    """
    dev = torch.device(device) if device is not None else default_device()
    if dev.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(dev)})"
    return dev.type
