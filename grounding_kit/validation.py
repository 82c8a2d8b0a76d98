"""Input checks at the public boundary, in the style of scikit-learn's ``check_array``.

Each check raises ``ValueError`` or ``TypeError`` whose message names the argument, what it got
(type, shape) and what was expected. Never ``assert``: asserts vanish under ``python -O``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np


class NotFittedError(ValueError, AttributeError):
    """A model was used before it was fitted (as in scikit-learn)."""


def describe(value: Any) -> str:
    """A short description of a value for error messages: its type and shape."""
    shape = getattr(value, "shape", None)
    if shape is not None:
        dtype = getattr(value, "dtype", None)
        return f"{type(value).__name__} of shape {tuple(shape)} and dtype {dtype}"
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def check_consistent_length(**named: Sequence[Any]) -> int:
    """Check that every named argument has the same length; return it.

    >>> check_consistent_length(labels=[0, 1], texts=["a", "b"])
    2
    """
    lengths = {name: len(value) for name, value in named.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name}={n}" for name, n in lengths.items())
        raise ValueError(f"inconsistent numbers of samples: {listed}")
    return next(iter(lengths.values()), 0)


def check_finite(name: str, array: Any) -> None:
    """Raise ``ValueError`` if a numpy array or torch tensor holds NaN or infinity."""
    values = array.detach().cpu().numpy() if hasattr(array, "detach") else np.asarray(array)
    bad = ~np.isfinite(values)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite, but it holds {int(bad.sum())} NaN/inf values "
                         f"(first at index {where}); {describe(array)}")


def check_choice(name: str, value: Any, options: Sequence[Any]) -> None:
    """Raise ``ValueError`` if ``value`` is not one of ``options``, listing the valid ones."""
    if value not in options:
        raise ValueError(f"{name}={value!r} is not valid; expected one of {list(options)}")


def check_fraction(name: str, value: float, *, low: float = 0.0, high: float = 1.0) -> float:
    """Check that ``value`` is a real number in [low, high]; return it as float."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a number in [{low}, {high}], got {describe(value)}")
    if not low <= float(value) <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return float(value)


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    """Check that ``value`` is an integer >= ``minimum``; return it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)
