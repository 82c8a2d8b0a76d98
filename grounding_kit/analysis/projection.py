"""EMAP on a materialized grid, and the two-way decomposition behind it.

For a pair model ``f`` evaluated on all N x N text/image combinations of a dataset,
``P[i, j] = f(t_i, v_j)``, the empirical multimodally-additive projection (Hessel & Lee, 2020) is

    f_hat(t_i, v_i) = mean_j P[i, j] + mean_j P[j, i] - mean_{j,k} P[j, k]

i.e. the text's partial-dependence function plus the image's, minus the grand mean. It is the
least-squares additive function ``g(t) + h(v)`` on the empirical product distribution, so the
model's cross-modal interactions are exactly what it removes.

The row mean ``mean_j P[i, j]`` is the expected prediction for text i when its image is replaced
by a uniformly random image of the dataset (a reshuffle); the column mean likewise for image i
with a random text (see ``grounding_kit.analysis.shuffling``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grounding_kit.core.validation import check_memory
from grounding_kit.analysis.grids import apply_like, check_grid, like


def row_col_grand(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row means (N, C), column means (N, C) and grand mean (C,) of a float64 (N, N, C) grid."""
    rows = grid.mean(axis=1)
    cols = grid.mean(axis=0)
    return rows, cols, rows.mean(axis=0)


def _project(grid: np.ndarray) -> np.ndarray:
    rows, cols, grand = row_col_grand(grid)
    return rows + cols - grand


def emap(P: Any, modalities: int = 2) -> Any:
    """Empirical multimodally-additive projection of a pair-logit grid (or of an M-modality grid).

    Parameters
    ----------
    P : (N, N) or (N, N, C) numpy array or torch tensor of logits, ``P[i, j] = f(t_i, v_j)``
        (rows are texts, columns are images, N >= 2); for ``modalities=M``, ``(N,)*M`` or
        ``(N,)*M + (C,)`` with ``P[i, j, k] = f(x1_i, x2_j, x3_k)`` (axis m for modality m).
    modalities : M >= 2; 2 (the default) is the pair case above. For M >= 3 the projection is
        ``sum_m mean_{-m} P - (M - 1) * grand_mean`` (:mod:`grounding_kit.analysis.multimodal`).

    Returns
    -------
    (N,) or (N, C), the same kind as ``P`` (float64): ``f_hat(t_i, v_i)``, the additive
    model's prediction for pair i. Sums are accumulated in float64.

    Examples
    --------
    >>> import numpy as np
    >>> P = np.array([[1.0, 2.0], [3.0, 4.0]])   # additive: row + column effects
    >>> emap(P)
    array([1., 4.])

    Raises
    ------
    TypeError
        For non-float input, or ``modalities`` that is not an int.
    ValueError
        For a grid of the wrong shape for ``modalities``, N < 2, or NaN/inf values.
    """
    if modalities != 2 or isinstance(modalities, bool):
        from grounding_kit.analysis.multimodal import emap_grid

        return emap_grid(P, modalities)
    return apply_like(P, _project)


@dataclass(frozen=True)
class Decomposition:
    """Two-way (text x image) decomposition of a pair-logit grid.

    ``P[i, j] = grand_mean + text_effect[i] + image_effect[j] + interaction[i, j]``, where the
    effects have zero mean and ``interaction`` has zero-mean rows and columns.

    The fields are numpy or torch like the input, float64; the class axis is dropped for an
    (N, N) input.

    Attributes
    ----------
    grand_mean : (C,)
    text_effect : (N, C), row mean minus grand mean
    image_effect : (N, C), column mean minus grand mean
    interaction : (N, N, C), the residual EMAP removes
    interaction_share : (C,), sum(interaction^2) / sum((P - grand_mean)^2), 0 for a constant P
    """

    grand_mean: Any
    text_effect: Any
    image_effect: Any
    interaction: Any
    interaction_share: Any

    def projection(self) -> Any:
        """EMAP's diagonal ``grand_mean + text_effect[i] + image_effect[i]``, shape (N, C)."""
        return self.grand_mean + self.text_effect + self.image_effect

    def additive(self) -> Any:
        """The additive part of every cell, ``grand_mean + text_effect[i] + image_effect[j]``, shaped
        like ``interaction`` ((N, N, C), or (N, N) for an (N, N) grid): the grid minus its interaction."""
        return self.grand_mean + self.text_effect[:, None] + self.image_effect[None, :]


def _scaled_sum_of_squares(x: np.ndarray, scale: float) -> np.ndarray:
    """``sum((x / scale) ** 2)`` over the first two axes, (C,), a block of rows at a time (no full-size temporary)."""
    out = np.zeros(x.shape[2])
    step = max(1, 2**19 // max(1, x.shape[1] * x.shape[2]))  # blocks of about 4 MiB
    for start in range(0, x.shape[0], step):
        block = x[start:start + step] / scale
        out += np.einsum("ijc,ijc->c", block, block)
    return out


def decompose(P: Any, *, modalities: int = 2, order: int = 2, names: Any = None,
              max_bytes: int | None = None) -> Any:
    """Split a pair-logit grid into grand mean, text effect, image effect and interaction.

    With ``modalities=M`` >= 3 the grid is ``(N,)*M`` or ``(N,)*M + (C,)`` and the result is a
    :class:`~grounding_kit.analysis.multimodal.MultiDecomposition`: grand mean, M main effects,
    every interaction of 2..``order`` modalities (``order=2``: the M(M-1)/2 pairs) and the
    remainder of higher order, with each term's share of the variance
    (:func:`~grounding_kit.analysis.multimodal.decompose_modalities`; ``names`` name the modalities).
    For two modalities (the default) it is the :class:`Decomposition` below, whatever ``order``.

    The row means ``mean_j f(t_i, v_j)`` and column means ``mean_i f(t_i, v_j)`` are the
    empirical partial-dependence functions of the text and of the image (Friedman, 2001), and
    ``interaction_share`` is the functional-ANOVA variance share of the interaction (Hooker, 2004)
    over the whole N x N grid: the fraction of the grid's variance that no additive function
    ``g(t) + h(v)`` can explain. (Friedman and Popescu's H^2 statistic, 2008, is close to it but
    evaluates the partial dependences at the observed pairs only.) An additive model has share 0; a pure-interaction model (e.g. "does the caption
    match the image?") approaches 1.

    Parameters
    ----------
    P : (N, N) or (N, N, C) numpy array or torch tensor of logits, ``P[i, j] = f(t_i, v_j)``.
    max_bytes : refuse (``BudgetError``, before any work) when the new arrays would need more
        memory than this; None: ``grounding_kit.core.validation.memory_budget()``.

    Returns
    -------
    Decomposition (two modalities) or MultiDecomposition (M >= 3), fields in the same kind as ``P``.

    Raises
    ------
    TypeError, ValueError
        For a grid that is not float, of the wrong shape, with N < 2 or NaN/inf values.
    BudgetError
        When the new arrays would need more memory than ``max_bytes``.

    Memory: one new (N, N, C) float64 array, ``interaction`` (plus a float64 copy of ``P`` when
    it is not float64 numpy); ``interaction_share`` uses the orthogonality of the parts,
    ``sum (P - grand)^2 = sum interaction^2 + N sum text_effect^2 + N sum image_effect^2``,
    summed in rescaled blocks so that squares never overflow.
    """
    if modalities != 2 or isinstance(modalities, bool):
        from grounding_kit.analysis.multimodal import decompose_modalities

        return decompose_modalities(P, modalities, order, names, max_bytes=max_bytes)
    shape = tuple(getattr(P, "shape", ()))
    if len(shape) in (2, 3):
        cells = shape[0] * shape[1] * (shape[2] if len(shape) == 3 else 1)
        copies = 1 if isinstance(P, np.ndarray) and P.dtype == np.float64 else 2
        check_memory(f"decompose of a grid of shape {shape}", 8 * cells * copies, budget=max_bytes,
                     hint="grounding_kit.emap_model(model, feats) streams EMAP and its marginals without a grid.")
    grid = check_grid(P)
    n = grid.shape[0]
    rows, cols, grand = row_col_grand(grid)
    text_effect = rows - grand
    image_effect = cols - grand
    interaction = np.subtract(grid, rows[:, None, :])  # the one new (N, N, C) array, updated in place
    interaction -= cols[None, :, :]
    interaction += grand
    scale = max(float(interaction.max()), -float(interaction.min()), float(np.abs(text_effect).max()),
                float(np.abs(image_effect).max()))
    if scale > 0:
        residual = _scaled_sum_of_squares(interaction, scale)
        total = residual + n * ((text_effect / scale) ** 2).sum(0) + n * ((image_effect / scale) ** 2).sum(0)
    else:
        residual = total = np.zeros(grid.shape[2])
    share = np.divide(residual, total, out=np.zeros_like(total), where=total > 0)
    return Decomposition(*(like(P, value, P.ndim == 2) for value in (grand, text_effect, image_effect,
                                                               interaction, share)))
