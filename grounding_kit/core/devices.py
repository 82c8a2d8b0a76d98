"""``check_device``: a torch device from what a user types, or an error listing the valid ones.

``torch.device("gpu")`` fails with a parser message, and ``device="cuda"`` on a machine without a
GPU fails later, deep inside a model's ``.to()``. The kit decides once, at the public boundary.
"""

from __future__ import annotations

from typing import Any

from grounding_kit.core.validation import describe


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
