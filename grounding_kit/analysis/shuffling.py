"""Reshuffling pairs, the experiment behind EMAP and behind the perceptual score.

Give every text a random image from the dataset and average the model's prediction over many
such reshuffles: the average converges to ``mean_j f(t_i, v_j)``, the text's row mean, which is
exactly EMAP's text term. (With uniformly random permutations each image is the partner with
probability 1/N; derangements exclude the true image and converge to the off-diagonal mean.)
The perceptual score of Gat et al. (2021) is the drop in a metric when one modality is
permuted; its expectation over derangements is an average over the grid's off-diagonal cells,
so it is computed exactly here rather than sampled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch

from grounding_kit.models.features import Features
from grounding_kit.models.contract import ModelOrGrid, PairModel
from grounding_kit.core.validation import check_choice, check_consistent_length, check_labels, check_positive_int, check_seed
from grounding_kit.analysis.grid_model import GridModel, as_pair_model
from grounding_kit.analysis.metrics import class_indices, get_metric, n_classes_of
from grounding_kit.analysis.pairs import PairEvaluator, check_features, evaluating, resolve_device
from grounding_kit.analysis.permutations import SIDES, full_reshuffles, pair_cells, shuffle_permutation
from grounding_kit.analysis.streaming import check_duration

__all__ = ["PerceptualScore", "perceptual_score", "reshuffle", "reshuffle_average", "shuffle_permutation"]


def _pair_index(perm: np.ndarray, shuffle: str) -> tuple[torch.Tensor, torch.Tensor]:
    text, image = pair_cells(perm, shuffle)
    return torch.from_numpy(text), torch.from_numpy(image)


def reshuffle(model: PairModel, feats: Features, fraction: float, seed: int | None = 0, shuffle: str = "image",
              derangement: bool = True, batch_size: int | None = None, device: Any = None) -> torch.Tensor:
    """Predictions after a fraction of one modality is permuted among the pairs.

    Parameters
    ----------
    model : pair model ``f(text_batch, image_batch) -> (B, C) logits``
    feats : Features of N pairs
    fraction : share of pairs whose partner is replaced (0: the model's own predictions)
    seed : seed of the permutation (default 0: the same permutation on every run); ``seed=None`` opts in to fresh randomness
    shuffle : "image" -> ``out[i] = f(t_i, v_perm[i])`` (each text keeps its label, its image is
        swapped); "text" -> ``out[j] = f(t_perm[j], v_j)`` (each image keeps its label)
    derangement : moved items never keep their own partner (see ``shuffle_permutation``)

    Returns
    -------
    (N, C) CPU tensor of logits. Averaged over many seeds with ``derangement=False`` and
    ``fraction=1`` it tends to ``mean_j f(t_i, v_j)`` (``shuffle="image"``), EMAP's text term;
    see ``reshuffle_average``.

    Raises
    ------
    TypeError
        ``feats`` not a ``Features``, a non-int seed, or a model returning non-float logits.
    ValueError
        N < 2, ``fraction`` outside [0, 1], an unknown ``shuffle``, a negative seed.
    """
    feats = check_features(feats)
    check_choice("shuffle", shuffle, SIDES)
    seed = check_seed(seed, allow_none=True)
    perm = shuffle_permutation(len(feats), fraction, seed, derangement)
    device = resolve_device(model, device)
    with evaluating(model, device):
        ev = PairEvaluator(model, feats, device, batch_size)
        return ev.pairs_batched(*_pair_index(perm, shuffle)).cpu()


def reshuffle_average(model: PairModel, feats: Features, rounds: int, seed: int | None = 0, shuffle: str = "image",
                      batch_size: int | None = None, device: Any = None) -> Iterator[torch.Tensor]:
    """Running mean (N, C) of predictions over ``rounds`` uniformly random full reshuffles.

    Yields the float64 running mean after each round. It converges to the text marginal
    ``mean_j f(t_i, v_j)`` (``shuffle="image"``) or the image marginal ``mean_j f(t_j, v_i)``
    (``shuffle="text"``): EMAP's row mean is the expected prediction under reshuffled images.
    ``seed`` seeds the rounds' permutations (default 0; ``seed=None`` opts in to fresh randomness).

    Raises
    ------
    TypeError
        ``feats`` not a ``Features`` or a non-int seed.
    ValueError
        N < 2, ``rounds`` < 1, an unknown ``shuffle``, a negative seed.
    """
    feats = check_features(feats)
    rounds = check_positive_int("rounds", rounds)
    check_choice("shuffle", shuffle, SIDES)
    device = resolve_device(model, device)
    total = None
    for r, perm in enumerate(full_reshuffles(len(feats), rounds, seed), start=1):
        with evaluating(model, device):
            out = PairEvaluator(model, feats, device, batch_size).pairs_batched(*_pair_index(perm, shuffle))
        total = out.cpu().double() if total is None else total + out.cpu().double()
        yield total / r


@dataclass(frozen=True)
class PerceptualScore:
    """Perceptual scores (Gat et al. 2021) of the two modalities, from exact expectations.

    Attributes
    ----------
    image, text : score drop when that modality is permuted (divided by ``model_score`` when
        normalized, as Gat et al. do)
    model_score : metric of the model on the true pairs
    image_shuffled_score, text_shuffled_score : expected metric under a random derangement of
        the images (resp. texts): the mean over the grid's off-diagonal cells
    """

    image: float
    text: float
    model_score: float
    image_shuffled_score: float
    text_shuffled_score: float


def _tiles_of(model: Any, feats: Any, batch_size: int | None, device: Any) -> Iterator[tuple[slice, slice, Any]]:
    """(rows, cols, logits (b, c, C)) over the grid of ``model`` on ``feats``, read or streamed."""
    if isinstance(model, GridModel):
        grid = model.subgrid(feats)
        step = max(1, 2**22 // (grid.shape[0] * grid.shape[2]))
        for r in range(0, grid.shape[0], step):
            rows = slice(r, min(r + step, grid.shape[0]))
            yield rows, slice(0, grid.shape[0]), grid[rows]
        return
    device = resolve_device(model, device)
    with evaluating(model, device):
        ev = PairEvaluator(model, feats, device, batch_size)
        check_duration(ev, None, None, task="the exact perceptual score",
                       advice="Average reshuffle() over a few seeds instead (N pair evaluations each), or raise "
                              "the budget.")
        for rows, cols in ev.tiles():
            yield rows, cols, ev.tile(rows, cols).cpu().double().numpy()


def perceptual_score(labels: Any, model: ModelOrGrid, feats: Features | None = None, metric: str = "accuracy", normalize: bool = True,
                     batch_size: int | None = None, device: Any = None) -> PerceptualScore:
    """Exact perceptual score of each modality (Gat et al. 2021) from the N x N grid.

    Permuting the images by a random derangement pairs text i with some image j != i, keeping
    text i's label; averaged over all derangements, the metric becomes the mean over the
    off-diagonal cells of row i (labels of the rows); permuting the texts likewise averages the
    off-diagonal cells of each column (labels of the columns). No sampling is needed.

    Parameters
    ----------
    labels : (N,) class indices or (N, C) label rows (see ``grounding_kit.analysis.metrics``)
    model : pair model, a ``GridModel``, or a precomputed grid (N, N, C) with
        ``grid[i, j] = f(t_i, v_j)`` (see ``grounding_kit.analysis.grid_model.as_pair_model``)
    feats : Features of N pairs (None for a grid: all its pairs)
    metric : a per-item metric: "accuracy" or "vqa_soft_accuracy"
    normalize : divide each drop by the model's own score

    Raises
    ------
    TypeError
        Arguments in an old order (labels not first; named in the message), non-numeric labels.
    ValueError
        A metric that is not per item, inconsistent lengths, labels outside the classes.
    BudgetError
        Streaming a model's N x N grid would take longer than the time budget.
    """
    per_item = get_metric(metric).per_item
    if per_item is None:
        raise ValueError(f"metric={metric!r} is not a mean over items, so its expectation under permutation "
                         "has no exact form; use 'accuracy' or 'vqa_soft_accuracy', or average "
                         "reshuffle() over several seeds")
    y = check_labels(labels, call="perceptual_score(labels, model, feats, ...)")
    model, feats = as_pair_model(model, feats)
    n = len(check_features(feats))
    check_consistent_length(labels=y, pairs=range(n))
    sums = {"diag": 0.0, "image": 0.0, "text": 0.0}
    for rows, cols, logits in _tiles_of(model, feats, batch_size, device):
        b, c, k = logits.shape
        flat = logits.reshape(b * c, k)
        if rows.start == 0 and cols.start == 0 and y.ndim == 1:  # name the row before it is repeated
            class_indices(y, n_classes_of(flat))
        row_labels = np.repeat(y[rows], c, axis=0)
        col_labels = np.tile(y[cols], (b,) + (1,) * (y.ndim - 1))
        by_text = per_item(row_labels, flat).reshape(b, c)
        by_image = per_item(col_labels, flat).reshape(b, c)
        diag = np.arange(b)[:, None] + rows.start == np.arange(c)[None, :] + cols.start
        sums["diag"] += by_text[diag].sum()
        sums["image"] += by_text[~diag].sum()
        sums["text"] += by_image[~diag].sum()
    model_score = float(sums["diag"] / n)
    shuffled = {side: float(sums[side] / (n * (n - 1))) for side in SIDES}
    scale = model_score if normalize and model_score != 0 else 1.0
    return PerceptualScore(image=(model_score - shuffled["image"]) / scale,
                           text=(model_score - shuffled["text"]) / scale, model_score=model_score,
                           image_shuffled_score=shuffled["image"], text_shuffled_score=shuffled["text"])
