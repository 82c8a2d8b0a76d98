"""A precomputed pair-logit grid is a pair model like any other.

``GridModel(P)`` answers ``f(i, j) = P[i, j]`` for text index ``i`` and image index ``j``: it is
a pair model over *index features* (``Features(text=arange(N), image=arange(N))``). Compute a
model's grid once (``GridModel.from_model(model, feats)``) and every library call
(``emap_report``, ``reshuffle``, ``reshuffle_average``, ``perceptual_score``, ``emap_model``, ...)
then runs on it at indexing speed, with exactly the model's values. The EMAP engine recognizes a
``GridModel`` and reads its row, column and grand means straight from the grid
(:func:`grounding_kit.analysis.projection.row_col_grand`) instead of evaluating pairs.

A numpy array or torch tensor passed where a model is expected (with ``feats=None``) is read as
such a grid: :func:`as_pair_model` is that one rule.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from grounding_kit.models.features import Features
from grounding_kit.models.contract import ModelOrGrid, PairModel
from grounding_kit.core.validation import check_positive_int, describe
from grounding_kit.analysis.grids import check_grid, is_array
from grounding_kit.analysis.pairs import pairwise_logits
from grounding_kit.analysis.projection import row_col_grand


class GridModel:
    """``f(i, j) = grid[i, j]``: a precomputed (N, N, C) logit grid as a generic pair model.

    Parameters
    ----------
    grid : (N, N, C) or (N, N) floating numpy array or torch tensor of logits,
        ``grid[i, j] = f(t_i, v_j)`` (rows are texts, columns are images, N >= 2).

    Attributes
    ----------
    grid : (N, N, C) torch tensor (the input's dtype; a class axis of 1 is added to (N, N)).
    device : the grid's torch device.

    Raises
    ------
    TypeError
        ``grid`` is already a ``GridModel``, or not a floating numpy array / torch tensor.
    ValueError
        ``grid`` is not (N, N) or (N, N, C) with N >= 2, or holds NaN/inf or values whose means overflow.

    Examples
    --------
    >>> import torch
    >>> model = GridModel(torch.tensor([[[1.0], [2.0]], [[3.0], [4.0]]]))
    >>> model(torch.tensor([0, 1]), torch.tensor([1, 1]))[:, 0].tolist()
    [2.0, 4.0]
    """

    structure = "generic"

    def __init__(self, grid: Any) -> None:
        if isinstance(grid, GridModel):
            raise TypeError("grid is already a GridModel; pass it directly where a model is expected")
        self._grid64 = check_grid(grid, name="grid")
        grid = torch.as_tensor(grid)
        self.grid = grid[:, :, None] if grid.ndim == 2 else grid
        self.device = self.grid.device

    @classmethod
    def from_model(cls, model: PairModel, feats: Features, **options: Any) -> "GridModel":
        """The grid of ``model`` on all N x N pairs of ``feats`` (``pairwise_logits(model, feats, **options)``)."""
        return cls(pairwise_logits(model, feats, **options))

    def __repr__(self) -> str:
        n, _, c = self.grid.shape
        return f"GridModel(N={n}, C={c}, dtype={self.grid.dtype})"

    def __len__(self) -> int:
        return int(self.grid.shape[0])

    def __call__(self, text_index: torch.Tensor, image_index: torch.Tensor) -> torch.Tensor:
        """Logits (B, C) of the pairs ``(text_index[b], image_index[b])``."""
        return self.grid[self._index(text_index, "text_index"), self._index(image_index, "image_index")]

    def features(self, n: int | None = None) -> Features:
        """Index features of the first ``n`` pairs (all N by default): pair i is (i, i)."""
        if n is not None:
            n = check_positive_int("n", n)
            if n > len(self):
                raise ValueError(f"n must be between 1 and N={len(self)}, got {n}")
        index = torch.arange(len(self) if n is None else n)
        return Features(text=index, image=index)

    def _index(self, index: Any, name: str) -> torch.Tensor:
        if not isinstance(index, torch.Tensor) or index.is_floating_point() or index.dtype == torch.bool:
            raise TypeError(f"{name} must be an integer torch tensor of grid indices (a GridModel's features "
                            f"are indices, see GridModel.features()), got {describe(index)}")
        index = index.long().to(self.device)
        if len(index) and (int(index.min()) < 0 or int(index.max()) >= len(self)):
            raise ValueError(f"{name} holds indices outside [0, {len(self)}) of the (N, N, C) = "
                             f"{tuple(self.grid.shape)} grid")
        return index

    def subgrid(self, feats: Features | None = None) -> np.ndarray:
        """The float64 (n, n, C) grid of the pairs of ``feats`` (index features; all N if None).

        ``out[a, b] = grid[feats.text[a], feats.image[b]]``, read from the grid (no model is called).
        """
        if feats is None:
            return self._grid64
        text, image = self._index(feats.text, "feats.text"), self._index(feats.image, "feats.image")
        whole = torch.arange(len(self), device=self.device)
        if len(text) == len(self) and torch.equal(text, whole) and torch.equal(image, whole):
            return self._grid64
        return self._grid64[text.cpu().numpy()[:, None], image.cpu().numpy()[None, :]]

    def marginals(self, feats: Features | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Row means (n, C), column means (n, C), grand mean (C,) and diagonal (n, C) of :meth:`subgrid`.

        These are EMAP's text marginal ``mean_j f(t_i, v_j)``, image marginal ``mean_j f(t_j, v_i)``,
        grand mean and the model's own predictions ``f(t_i, v_i)``, all float64.
        """
        grid = self.subgrid(feats)
        rows, cols, grand = row_col_grand(grid)
        diagonal = grid[np.arange(len(grid)), np.arange(len(grid))]
        return rows, cols, grand, diagonal


def as_pair_model(model: ModelOrGrid, feats: Features | None, name: str = "model") -> tuple[PairModel, Features]:
    """``(model, feats)`` with a grid given in place of a model wrapped as a :class:`GridModel`.

    Parameters
    ----------
    model : a pair model, a :class:`GridModel`, or an (N, N, C) / (N, N) array of logits
    feats : Features of the N pairs; None for a grid or a ``GridModel`` (then all its pairs)

    Returns
    -------
    (model, feats): the pair model to evaluate and the features to evaluate it on.

    Raises
    ------
    ValueError
        An array comes with features (ambiguous: wrap it in ``GridModel`` and pass index features).
    TypeError
        A model comes without features.
    """
    if is_array(model):
        if feats is not None:
            raise ValueError(f"{name} is an array {describe(model)} and feats were given too; pass a precomputed "
                             "grid alone (feats=None), or GridModel(grid) with index features")
        model = GridModel(model)
    if feats is None:
        if not isinstance(model, GridModel):
            raise TypeError(f"feats is required for a pair model ({describe(model)}); only a precomputed grid "
                            "(an (N, N, C) array or a GridModel) can be passed without features")
        feats = model.features()
    return model, feats
