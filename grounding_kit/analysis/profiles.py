"""Interaction profiles: a grid of scores averaged over groups of texts and groups of images.

Plotting one line per text group across the image groups gives the classic interaction plot of
two-way ANOVA: an additive grid ``P[i, j] = a_i + b_j`` gives parallel lines (every text group's
line is the same curve shifted), an interactive one gives lines that cross or diverge.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from grounding_kit.core.arrays import to_numpy
from grounding_kit.core.validation import check_consistent_length


def interaction_profile(grid: Any, text_groups: Sequence[Any], image_groups: Sequence[Any],
                        cls: int | None = None) -> pd.DataFrame:
    """Mean of ``grid[i, j]`` over the texts of each text group and the images of each image group.

    Parameters
    ----------
    grid : (N, N) scores or (N, N, C) logits with ``grid[i, j] = f(t_i, v_j)`` (rows texts)
    text_groups : (N,) a group label per text (row)
    image_groups : (N,) a group label per image (column)
    cls : the class to profile when ``grid`` is (N, N, C); must be None for an (N, N) grid

    Returns
    -------
    DataFrame (text groups x image groups, each sorted) of cell means; a group pair with no cell
    is NaN. ``profile_interaction_share(profile)`` says how far its lines are from parallel.

    Raises
    ------
    ValueError
        A grid that is not (N, N) or (N, N, C), a missing or bad ``cls``, groups of other lengths.
    """
    values = to_numpy(grid)
    if values.ndim == 3:
        if cls is None:
            raise ValueError(f"grid has shape {values.shape}; pass cls=<class index in [0, {values.shape[2]})>")
        if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)) or not 0 <= cls < values.shape[2]:
            raise ValueError(f"cls must be a class index in [0, {values.shape[2]}), got {cls!r}")
        values = values[:, :, cls]
    elif cls is not None:
        raise ValueError(f"cls={cls!r} given, but grid has shape {values.shape} (no class axis)")
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise ValueError(f"grid must be (N, N) or (N, N, C), got shape {values.shape}")
    rows, cols = np.asarray(text_groups), np.asarray(image_groups)
    check_consistent_length(grid=values, text_groups=rows, image_groups=cols)
    row_keys, col_keys = sorted(set(rows.tolist())), sorted(set(cols.tolist()))
    table = np.full((len(row_keys), len(col_keys)), np.nan)
    for a, row_key in enumerate(row_keys):
        block = values[rows == row_key]
        for b, col_key in enumerate(col_keys):
            table[a, b] = block[:, cols == col_key].mean()
    return pd.DataFrame(table, index=pd.Index(row_keys, name="text group"),
                        columns=pd.Index(col_keys, name="image group"))


def profile_interaction_share(profile: pd.DataFrame) -> float:
    """Share of the profile's variation that is interaction: 0 for parallel lines, up to 1.

    The unweighted two-way decomposition of the (text groups x image groups) table of means, as
    ``decompose`` does for a square grid: the table minus its row means and column means plus its
    grand mean, squared and summed, over the squared deviations from the grand mean (0 for a
    constant table). NaN cells are refused.

    Raises
    ------
    ValueError
        A profile with empty group pairs (NaN).
    """
    table = profile.to_numpy(dtype=np.float64)
    if np.isnan(table).any():
        raise ValueError("profile has empty group pairs (NaN); merge small groups first")
    grand = table.mean()
    residual = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True) + grand
    total = float(((table - grand) ** 2).sum())
    return float((residual ** 2).sum() / total) if total > 0 else 0.0
