"""Pure helpers behind the widgets' displays (numpy only, unit-tested in tests/test_widgets_helpers.py).

These are display bookkeeping, not analysis: which pairs a slider position breaks, how a row of
logits becomes one number on a scatter plot, a ranking for a gallery.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grounding_kit.validation import check_fraction


def to_numpy(values: Any) -> np.ndarray:
    """A float64 numpy copy of a numpy array or torch tensor."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Share of rows whose arg-max class is the label. logits: (N, C), labels: (N,)."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"logits must be (N, C) and labels (N,), got {logits.shape} and {labels.shape}")
    return float((logits.argmax(axis=1) == labels).mean())


def partial_permutation(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A permutation of ``range(n)`` that moves ``round(fraction * n)`` items and fixes the rest.

    The chosen items are rotated by one place in a random order, so every chosen item moves
    (when at least two are chosen).

    Returns
    -------
    perm : (n,) int array, item ``i`` is paired with ``perm[i]``.
    moved : (n,) bool array, True where ``perm[i] != i``.
    """
    fraction = check_fraction("fraction", fraction)
    perm = np.arange(n)
    k = int(round(fraction * n))
    if k >= 2:
        chosen = rng.choice(n, size=k, replace=False)
        perm[chosen] = np.roll(chosen, 1)
    return perm, perm != np.arange(n)


def label_margin(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Logit of each row's label minus the row's mean logit: (N, C), (N,) -> (N,).

    Linear in the logits, so the margin of an average is the average of the margins.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    return logits[np.arange(len(labels)), labels] - logits.mean(axis=1)


def ranking(scores: np.ndarray, top_k: int) -> np.ndarray:
    """Indices of the ``top_k`` highest scores, best first (ties keep the lower index first)."""
    scores = np.asarray(scores)
    order = np.argsort(-scores, kind="stable")
    return order[: max(0, min(top_k, len(order)))]
