"""``GridLookup``: a pair model that reads a precomputed logit grid.

Widgets compute ``pairwise_logits(model, feats)`` once; wrapping that grid as a pair model over
index features lets every library call (``reshuffle``, ``reshuffle_average``, ``emap_report`` with
Monte Carlo partners, ...) run on it at indexing speed, with exactly the model's values.
"""

from __future__ import annotations

from typing import Any

import torch

from grounding_kit.features import Features
from grounding_kit.validation import describe


class GridLookup:
    """``f(i, j) = grid[i, j]`` for text index ``i`` and image index ``j``.

    Parameters
    ----------
    grid : (N, N, C) logits, ``grid[i, j] = f(t_i, v_j)`` (torch tensor or numpy array).
    """

    structure = "generic"

    def __init__(self, grid: Any) -> None:
        grid = torch.as_tensor(grid)
        if grid.ndim != 3 or grid.shape[0] != grid.shape[1] or not grid.is_floating_point():
            raise ValueError(f"grid must be a floating (N, N, C) array of logits, got {describe(grid)}")
        self.grid = grid
        self.device = grid.device

    def __call__(self, text_index: torch.Tensor, image_index: torch.Tensor) -> torch.Tensor:
        return self.grid[text_index.long(), image_index.long()]

    def features(self, n: int | None = None) -> Features:
        """Index features of the first ``n`` pairs (all N by default): pair i is (i, i)."""
        index = torch.arange(len(self.grid) if n is None else n)
        return Features(text=index, image=index)
