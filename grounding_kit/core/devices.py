"""``check_device``: a torch device from what a user types, or an error listing the valid ones.

``torch.device("gpu")`` fails with a parser message, and ``device="cuda"`` on a machine without a
GPU fails later, deep inside a model's ``.to()``. The kit decides once, at the public boundary.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from grounding_kit.core.validation import describe


#: device files of the GPUs Triton compiles kernels for (NVIDIA, AMD ROCm, Intel); with none, it has no use
TRITON_DEVICE_FILES = ("/dev/nvidiactl", "/dev/kfd", "/dev/dri")


def skip_triton_without_gpu() -> bool:
    """Mark the Triton compiler not importable in this process when the machine has no GPU for it.

    torchvision (imported by open_clip) and transformers' vision models import ``torch._dynamo``,
    which imports Triton when it is installed (CUDA builds of torch install it): about 88 MB of
    resident memory per process (its 483 MB ``libtriton.so`` and Python modules), measured on this
    project's CPU machines, for a compiler that only generates GPU kernels. Without any of
    :data:`TRITON_DEVICE_FILES` the module is marked absent (``sys.modules["triton"] = None``,
    Python's documented way: its import raises ``ImportError``, which torch reads as "Triton not
    installed"; ``torch.compile`` on the CPU does not use it). Does nothing once Triton is imported
    or where a GPU device file exists.

    Returns
    -------
    bool
        Whether Triton was marked absent by this call.
    """
    if "triton" in sys.modules or any(os.path.exists(path) for path in TRITON_DEVICE_FILES):
        return False
    sys.modules["triton"] = None  # type: ignore[assignment]
    return True


def available_devices() -> list[str]:
    """The device names this machine can use: ``"cpu"``, plus ``"cuda"``/``"cuda:N"`` and ``"mps"`` when present."""
    import torch

    names = ["cpu"]
    if torch.cuda.is_available():
        names += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return names


def check_device(device: Any, name: str = "device") -> Any:
    """``device`` as a ``torch.device``; None picks CUDA when available, else CPU.

    Raises ``TypeError`` for anything but None, a string or a ``torch.device``, and ``ValueError``
    for an unknown device name (e.g. ``"gpu"``) or one this machine lacks (``"cuda"`` without a
    GPU), naming the valid options.
    """
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name} must be None, a string such as 'cpu' or a torch.device, got {describe(device)}")
    options = available_devices()
    try:
        resolved = torch.device(device.strip() if isinstance(device, str) else device)
    except (RuntimeError, ValueError):
        raise ValueError(f"{name}={device!r} is not a device name; expected one of {options} "
                         "(or None: CUDA when available, else CPU)") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name}={device!r} asks for a GPU, but torch finds no CUDA device on this machine; "
                         f"expected one of {options} (or None: CUDA when available, else CPU)")
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise ValueError(f"{name}={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s); "
                         f"expected one of {options}")
    if resolved.type == "mps" and "mps" not in options:
        raise ValueError(f"{name}={device!r} asks for Apple's MPS, which this machine lacks; expected one of {options}")
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"{name}={device!r} is not supported by the kit; expected one of {options}")
    return resolved
