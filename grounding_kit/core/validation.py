"""Input checks at the public boundary, in the style of scikit-learn's ``check_array``.

Each check raises ``ValueError`` or ``TypeError`` whose message names the argument, what it got
(type, shape) and what was expected. Never ``assert``: asserts vanish under ``python -O``.
"""

from __future__ import annotations

import math
import os
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


def check_argument_order(function: str, order: str, swapped: bool) -> None:
    """Refuse a call in a retired argument order, naming the order the function takes.

    The kit's one order: labels first, then the model, then the data (``emap_report(labels, model,
    feats)``, ``embed(clip, ds)``); fitting takes ``(X, y)`` as scikit-learn's ``fit`` does.

    Parameters
    ----------
    function : the public name, e.g. ``"embed"``.
    order : its parameters as they must be given, e.g. ``"clip, ds"``.
    swapped : whether the arguments received look like the old order (decided by the caller from
        their types).

    Raises
    ------
    TypeError
        ``swapped`` is true.
    """
    if swapped:
        raise TypeError(f"{function} takes ({order}), in that order; the arguments given look swapped "
                        f"(an older order): call {function}({order})")


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


#: seeds are stored as int64 by torch and datasets; larger ones are refused rather than wrapped
MAX_SEED = 2**63 - 1


def check_seed(seed: Any, name: str = "seed", *, allow_none: bool = False) -> int | np.random.Generator | None:
    """Check a seed: an integer in [0, 2**63 - 1] or a ``numpy.random.Generator`` (or None if allowed).

    Returns the seed as a Python int (or the Generator / None unchanged). Floats are refused,
    never truncated (``1.7`` is not ``1``), and so are bools and strings.

    >>> check_seed(3)
    3
    """
    if seed is None and allow_none:
        return None
    if isinstance(seed, np.random.Generator):
        return seed
    expected = f"an integer in [0, {MAX_SEED}] or a numpy.random.Generator" + (" or None" if allow_none else "")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be {expected}, got {seed!r} ({type(seed).__name__})")
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be {expected}, got {seed}")
    return int(seed)


def seed_int(seed: Any, name: str = "seed") -> int:
    """A checked seed as an int: the int itself, or a seed drawn from a ``numpy.random.Generator``.

    For code that needs an int (cache keys, ``torch.manual_seed``). A Generator advances by one draw.
    """
    seed = check_seed(seed, name)
    return int(seed.integers(MAX_SEED)) if isinstance(seed, np.random.Generator) else seed


# ---------------------------------------------------------------- budgets: refuse what cannot work

#: environment variable raising (or lowering) the memory budget, in bytes or with a unit ("8GiB")
MEMORY_BUDGET_ENV = "GROUNDING_KIT_MAX_MEMORY"
#: environment variable of the time budget in seconds for long computations (e.g. emap_model)
TIME_BUDGET_ENV = "GROUNDING_KIT_MAX_SECONDS"
#: share of this machine's physical memory allowed by default
MEMORY_SHARE = 0.5
#: default time budget in seconds
DEFAULT_MAX_SECONDS = 600.0
_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


class BudgetError(ValueError):
    """A computation would need more memory or time than its budget; nothing was started."""


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def format_seconds(s: float) -> str:
    """``5400`` -> ``'1.5 h'``."""
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


def _parse_bytes(text: str) -> int:
    number = text.strip().lower().replace(" ", "")
    unit = number.lstrip("0123456789.e+")
    try:
        value = float(number[:len(number) - len(unit)]) * _UNITS[unit]
    except (KeyError, ValueError):
        raise ValueError(f"{MEMORY_BUDGET_ENV}={text!r} is not a size; expected bytes or e.g. '8GiB'") from None
    return int(value)


def memory_budget() -> int:
    """Bytes a single kit computation may allocate: ``GROUNDING_KIT_MAX_MEMORY``, else half the RAM."""
    override = os.environ.get(MEMORY_BUDGET_ENV)
    if override:
        return _parse_bytes(override)
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on every platform
        total = 8 * 2**30
    return int(MEMORY_SHARE * total)


def time_budget() -> float:
    """Seconds a single kit computation may take: ``GROUNDING_KIT_MAX_SECONDS``, else 600."""
    override = os.environ.get(TIME_BUDGET_ENV)
    if not override:
        return DEFAULT_MAX_SECONDS
    try:
        return float(override)
    except ValueError:
        raise ValueError(f"{TIME_BUDGET_ENV}={override!r} is not a number of seconds") from None


def check_memory(what: str, needed: float, *, budget: float | None = None, budget_name: str = "max_bytes",
                 hint: str = "") -> None:
    """Raise ``BudgetError`` if ``what`` would need more than ``budget`` bytes (default: ``memory_budget()``).

    The message names the estimate, the budget (``budget_name=...`` when the caller passed one),
    how to raise it and ``hint`` (a cheaper way).
    """
    limit = memory_budget() if budget is None else budget
    if needed > limit:
        source = f"raise it with {MEMORY_BUDGET_ENV}=..." if budget is None else f"{budget_name}={budget}"
        raise BudgetError(f"{what} would need about {format_bytes(needed)} of memory, above the budget of "
                          f"{format_bytes(limit)} ({source}); nothing was started." + (f" {hint}" if hint else ""))


def check_time(what: str, seconds: float, *, budget: float | None = None, hint: str = "") -> None:
    """Raise ``BudgetError`` if ``what`` is estimated to take more than ``budget`` seconds
    (default: ``time_budget()``)."""
    limit = time_budget() if budget is None else budget
    if seconds > limit:
        source = f"{TIME_BUDGET_ENV}" if budget is None else "the max_seconds passed in"
        raise BudgetError(f"{what} would take about {format_seconds(seconds)}, above the budget of "
                          f"{format_seconds(limit)} (raise it with {source}); nothing was started."
                          + (f" {hint}" if hint else ""))


def check_labels_in_range(labels: np.ndarray, n_classes: int, name: str = "labels") -> None:
    """Raise ``ValueError`` if (N,) class indices fall outside ``0 .. n_classes - 1``."""
    bad = (labels < 0) | (labels >= n_classes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be class indices in 0..{n_classes - 1} (the model has {n_classes} "
                         f"classes), but {int(bad.sum())} are outside (first: {name}[{i}] = {labels[i]}); "
                         f"values found: {sorted(set(np.unique(labels).tolist()))[:10]}")


def check_sum_fits(name: str, values: np.ndarray, terms: int, *, power: int = 1) -> None:
    """Raise ``ValueError`` if summing ``terms`` values of ``values`` (raised to ``power``) can overflow float64.

    A finite input whose sums overflow would otherwise come back as inf or NaN with only numpy's
    RuntimeWarning.
    """
    largest = max(float(values.max()), -float(values.min())) if values.size else 0.0  # no |values| copy
    limit = np.finfo(np.float64).max / 4
    if largest > 0 and (power * math.log(largest) + math.log(max(terms, 1))) > math.log(limit):
        raise ValueError(f"{name} holds values as large as {largest:.3g}: summing {terms:,} of them"
                         f"{' squared' if power == 2 else ''} overflows float64 (max {np.finfo(np.float64).max:.3g}), "
                         "so the result would be inf or NaN. Logits are normally far smaller: rescale "
                         f"{name} (e.g. divide it by {10 ** math.ceil(math.log10(largest) - 3):.0e}).")


def _where_labels_go(value: Any) -> str | None:
    """What ``value`` is, when it is something other than labels that a call in an old argument
    order would put first: features, a model or a pair-logit grid; else None."""
    if hasattr(value, "text") and hasattr(value, "image"):
        return f"features ({type(value).__name__})"
    if callable(value):
        return f"a model or function ({type(value).__name__})"
    if getattr(value, "ndim", None) == 3:
        return f"a pair-logit grid ({describe(value)})"
    return None


def check_labels(labels: Any, name: str = "labels", *, call: str | None = None) -> np.ndarray:
    """The kit's one input contract for labels; every function that takes labels calls it.

    Labels are (N,) class indices or real targets, or (N, C) label rows (one-hot, soft, multi-hot,
    or VQA answer counts), as a numpy array, torch tensor or list of numbers, finite, N >= 1.
    Boolean labels are accepted everywhere as 0/1: (N,) booleans become int64 class indices,
    (N, C) booleans float64 multi-hot rows.

    Parameters
    ----------
    labels : the labels to check.
    name : the argument's name, for messages.
    call : the calling function's signature with labels first (e.g. ``"emap_report(labels, model,
        feats)"``): a call in an old argument order, which puts features, a model or a grid where
        the labels go, is refused with a message that names it.

    Returns
    -------
    numpy array (N,) or (N, C) of ints or floats.

    Raises
    ------
    TypeError
        ``labels`` are features, a model or a grid (a call in an old argument order), or not numbers.
    ValueError
        ``labels`` are empty, not 1- or 2-dimensional, or hold NaN/inf.
    """
    misplaced = _where_labels_go(labels)
    if misplaced is not None:
        order = f" The argument order is {call}: labels first, as in scikit-learn's metric(y_true, ...)." if call else ""
        raise TypeError(f"{name} must be (N,) class indices / targets or (N, C) label rows, got {misplaced}.{order}")
    values = labels.detach().cpu().numpy() if hasattr(labels, "detach") else np.asarray(labels)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be (N,) class indices / targets or (N, C) label rows of numbers, "
                        f"got {describe(values)}")
    if values.ndim not in (1, 2) or len(values) == 0:
        raise ValueError(f"{name} must be (N,) class indices / targets or (N, C) label rows with N >= 1, "
                         f"got {describe(values)}")
    if values.dtype.kind == "b":
        values = values.astype(np.int64 if values.ndim == 1 else np.float64)
    check_finite(name, values)
    return values
