"""Pure helpers behind the widgets' displays (numpy only, unit-tested in tests/test_widgets_helpers.py).

Display bookkeeping, not analysis: how a row of logits becomes one number on a scatter plot,
a ranking for a gallery.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..validation import check_labels_in_range


def to_numpy(values: Any) -> np.ndarray:
    """A float64 numpy copy of a numpy array or torch tensor."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64)


def label_margin(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Logit of each row's label minus the row's mean logit: (N, C), (N,) -> (N,).

    Linear in the logits, so the margin of an average is the average of the margins.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    check_labels_in_range(labels, logits.shape[1])
    return logits[np.arange(len(labels)), labels] - logits.mean(axis=1)


def label_margin_grid(grid: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """:func:`label_margin` of every cell, with the label of the cell's text (its row).

    grid: (N, N, C) logits ``grid[i, j] = f(t_i, v_j)``; labels: (N,) -> (N, N) float64 with
    ``out[i, j] = grid[i, j, labels[i]] - mean_c grid[i, j, c]``.
    """
    grid, labels = np.asarray(grid), np.asarray(labels)
    if grid.ndim != 3 or grid.shape[0] != grid.shape[1] or labels.shape != grid.shape[:1]:
        raise ValueError(f"grid must be (N, N, C) and labels (N,), got {grid.shape} and {labels.shape}")
    check_labels_in_range(labels, grid.shape[2])
    out = np.empty(grid.shape[:2], dtype=np.float64)
    for c in np.unique(labels):
        rows = labels == c
        out[rows] = grid[rows, :, c]
    out -= grid.mean(axis=2)
    return out


def ranking(scores: np.ndarray, top_k: int) -> np.ndarray:
    """Indices of the ``top_k`` highest scores, best first (ties keep the lower index first)."""
    scores = np.asarray(scores)
    order = np.argsort(-scores, kind="stable")
    return order[: max(0, min(top_k, len(order)))]
