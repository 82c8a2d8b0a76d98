"""Label margins: one number per row of logits, the logit of the row's label above the row's mean.

Used for heatmaps and scatter plots of the labs. The margin is linear in the logits, so the
margin of an average (e.g. EMAP's marginals) is the average of the margins, and it decomposes
like the logits themselves (``decompose(label_margin_grid(y, P))``). Labels come first, as in
every metric of the kit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grounding_kit.core.validation import check_labels, check_labels_in_range, describe


def _class_labels(labels: Any, call: str) -> np.ndarray:
    """(N,) integer class indices for a margin function; a 2-D first argument is the old order."""
    if getattr(labels, "ndim", None) == 2 or (hasattr(labels, "dtype") and getattr(labels.dtype, "kind", "") == "f"
                                               and not np.array_equal(labels, np.round(labels))):
        raise TypeError(f"labels must be (N,) class indices, got {describe(labels)} (logits?); the argument "
                        f"order is {call}: labels first")
    values = check_labels(labels, call=call)
    if values.ndim != 1:
        raise TypeError(f"labels must be (N,) class indices, got {describe(values)}; the argument order is {call}")
    return values.astype(np.int64)


def label_margin(labels: Any, logits: Any) -> np.ndarray:
    """Logit of each row's label minus the row's mean logit: (N,), (N, C) -> (N,).

    Linear in the logits, so the margin of an average is the average of the margins.

    Raises
    ------
    TypeError
        The old order ``label_margin(logits, labels)`` (named in the message), or labels that are
        not class indices.
    ValueError
        Labels outside ``0 .. C - 1``, or lengths that differ.
    """
    labels = _class_labels(labels, "label_margin(labels, logits)")
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or len(logits) != len(labels):
        raise ValueError(f"logits must be (N, C) with N={len(labels)} (one row per label), got {describe(logits)}")
    check_labels_in_range(labels, logits.shape[1])
    return logits[np.arange(len(labels)), labels] - logits.mean(axis=1)


def label_margin_grid(labels: Any, grid: Any) -> np.ndarray:
    """:func:`label_margin` of every cell, with the label of the cell's text (its row).

    labels: (N,); grid: (N, N, C) logits ``grid[i, j] = f(t_i, v_j)`` -> (N, N) float64 with
    ``out[i, j] = grid[i, j, labels[i]] - mean_c grid[i, j, c]``.

    Raises
    ------
    TypeError
        The old order ``label_margin_grid(grid, labels)`` (named in the message).
    ValueError
        A grid that is not (N, N, C) for N labels, or labels outside ``0 .. C - 1``.
    """
    labels = _class_labels(labels, "label_margin_grid(labels, grid)")
    grid = np.asarray(grid)
    if grid.ndim != 3 or grid.shape[0] != grid.shape[1] or labels.shape != grid.shape[:1]:
        raise ValueError(f"grid must be (N, N, C) and labels (N,), got {grid.shape} and {labels.shape}")
    check_labels_in_range(labels, grid.shape[2])
    out = np.empty(grid.shape[:2], dtype=np.float64)
    for c in np.unique(labels):
        rows = labels == c
        out[rows] = grid[rows, :, c]
    out -= grid.mean(axis=2)
    return out


def margin_gap(labels: Any, logits: Any, reference: Any) -> float:
    """Mean absolute difference of the label margins of two (N, C) logit arrays (e.g. a running
    reshuffle average and the exact EMAP): 0 when they agree on every item's label margin.

    Raises
    ------
    TypeError
        The old order ``margin_gap(logits, reference, labels)`` (named in the message).
    ValueError
        As :func:`label_margin`.
    """
    labels = _class_labels(labels, "margin_gap(labels, logits, reference)")
    return float(np.abs(label_margin(labels, logits) - label_margin(labels, reference)).mean())
