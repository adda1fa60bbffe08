"""lossbook: the loss functions of *Loss Functions: An Executable Guide*.

One module per chapter of the book (``lossbook.regression``,
``lossbook.classification``, ...); each loss follows the calling convention of
:mod:`torch.nn.functional` (``loss(input, target, *, <hyper-parameters>,
reduction="mean")``), runs on any device and is tested against an independent
reference. Chapter modules are imported on first use, so ``import lossbook``
stays fast: ``lossbook.regression.huber`` works without a separate import.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from . import data, device, optim, plotting
from .device import default_device

__version__ = "0.1.0"

__all__ = ["__version__", "data", "default_device", "device", "optim", "plotting"]


def __getattr__(name: str) -> ModuleType:
    if name.startswith("_"):
        raise AttributeError(f"module 'lossbook' has no attribute {name!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"{__name__}.{name}":
            raise AttributeError(f"module 'lossbook' has no attribute {name!r}") from None
        raise
