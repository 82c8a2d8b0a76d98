"""Checks and conversions for pair-logit grids ``P[i, j] = f(t_i, v_j)`` (numpy or torch)."""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from grounding_kit.core.validation import check_finite, check_sum_fits, describe


class ProbabilityInputWarning(UserWarning):
    """EMAP was given values that look like probabilities; it is defined on logits."""


def is_torch(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (checked without importing torch)."""
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def is_array(value: Any) -> bool:
    """Whether ``value`` is a numpy array or a torch tensor (data, not a model)."""
    return isinstance(value, np.ndarray) or is_torch(value)


def to_float64(name: str, value: Any) -> np.ndarray:
    """``value`` (numpy array or torch tensor of floats) as a float64 numpy array.

    An object that defines ``__array__`` (an ``EmapEstimate``: its projection) is read through it.
    Raises ``TypeError`` for anything else (lists, ints, bools, objects, strings), so that a
    label array passed by mistake never gets silently averaged.
    """
    if not isinstance(value, np.ndarray) and not is_torch(value) and hasattr(type(value), "__array__"):
        value = np.asarray(value)
    if is_torch(value):
        if not (value.is_floating_point()):
            raise TypeError(f"{name} must hold floating-point logits, got {describe(value)}")
        return value.detach().to("cpu").double().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array or a torch tensor of float logits, got {describe(value)}")
    if value.dtype.kind != "f":
        raise TypeError(f"{name} must hold floating-point logits, got {describe(value)}")
    return value.astype(np.float64, copy=False)


def check_grid(P: Any, name: str = "P", warn: bool = True) -> np.ndarray:
    """Validate a pair-logit grid and return it as float64 numpy of shape (N, N, C).

    Parameters
    ----------
    P : (N, N) or (N, N, C) numpy array or torch tensor, ``P[i, j] = f(t_i, v_j)``.

    Raises ``TypeError`` for non-float input, ``ValueError`` for a wrong number of axes, a
    non-square grid, N < 2, an empty class axis, NaN/inf, or values so large that a mean over
    N partners would overflow float64 (inf/NaN results). Warns with
    ``ProbabilityInputWarning`` when the class axis looks like probabilities (if ``warn``).
    """
    grid = to_float64(name, P)
    if grid.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (N, N) or (N, N, C) with {name}[i, j] = f(t_i, v_j); "
                         f"got {describe(P)}")
    if grid.shape[0] != grid.shape[1]:
        raise ValueError(f"{name} must be square in its first two axes (rows = texts, columns = images, "
                         f"one of each per pair); got {describe(P)}")
    if grid.shape[0] < 2:
        raise ValueError(f"{name} needs N >= 2 pairs to average over partners; got {describe(P)}")
    if grid.ndim == 3 and grid.shape[2] == 0:
        raise ValueError(f"{name} has an empty class axis; expected (N, N, C) with C >= 1, got {describe(P)}")
    check_finite(name, grid)
    check_sum_fits(name, grid, grid.shape[0])
    if grid.ndim == 2:
        grid = grid[:, :, None]
    if warn:
        warn_if_probabilities(name, grid)
    return grid


def warn_if_probabilities(name: str, grid: np.ndarray) -> None:
    """Warn when the last axis (C >= 2) holds values in [0, 1] that sum to 1."""
    if grid.shape[-1] < 2 or grid.min() < 0.0 or grid.max() > 1.0:
        return
    if np.allclose(grid.sum(axis=-1), 1.0, atol=1e-4):
        warnings.warn(f"{name} looks like probabilities (values in [0, 1], last axis sums to 1). EMAP is "
                      "defined on logits: averaging probabilities is not the additive projection of "
                      "the model. Pass the pre-softmax logits instead.", ProbabilityInputWarning, stacklevel=3)


def like(template: Any, values: np.ndarray, squeeze_class: bool) -> Any:
    """``values`` (float64 numpy) in the same kind as ``template`` (numpy or torch, same device)."""
    if squeeze_class:
        values = values[..., 0]
    if is_torch(template):
        import torch

        return torch.from_numpy(np.ascontiguousarray(values)).to(template.device)
    return values


def apply_like(P: Any, compute: Callable[[np.ndarray], np.ndarray]) -> Any:
    """Validate ``P``, apply ``compute`` to its (N, N, C) float64 form, convert back."""
    grid = check_grid(P)
    return like(P, compute(grid), squeeze_class=P.ndim == 2)
