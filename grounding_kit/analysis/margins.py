"""Label margins: one number per row of logits, the logit of the row's label above the row's mean.

Used for heatmaps and scatter plots of the labs. The margin is linear in the logits, so the
margin of an average (e.g. EMAP's marginals) is the average of the margins, and it decomposes
like the logits themselves (``decompose(label_margin_grid(P, y))``).
"""

from __future__ import annotations

import numpy as np

from grounding_kit.core.validation import check_labels_in_range


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


def margin_gap(logits: np.ndarray, reference: np.ndarray, labels: np.ndarray) -> float:
    """Mean absolute difference of the label margins of two (N, C) logit arrays (e.g. a running
    reshuffle average and the exact EMAP): 0 when they agree on every item's label margin."""
    return float(np.abs(label_margin(logits, labels) - label_margin(reference, labels)).mean())
