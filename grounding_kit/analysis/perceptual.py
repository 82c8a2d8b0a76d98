"""The perceptual score as Gat et al. (2021) compute it, by permuting one modality, repeated with an interval.

``grounding_kit.analysis.shuffling.perceptual_score`` gives the exact expectation over random
derangements from the N x N grid; a single run of Gat et al.'s procedure draws one permutation,
so its result moves with the permutation drawn and with the pairs sampled. This module repeats
the procedure and reports how far it moves: a describe-the-MODEL measure (how much the model's
score depends on each modality), not a property of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grounding_kit.core.validation import check_choice, check_consistent_length, check_fraction, check_labels, check_positive_int, seed_int
from grounding_kit.analysis.grid_model import as_pair_model
from grounding_kit.analysis.metrics import get_metric
from grounding_kit.analysis.pairs import check_features
from grounding_kit.analysis.permutations import SIDES
from grounding_kit.analysis.shuffling import reshuffle
from grounding_kit.models.contract import ModelOrGrid
from grounding_kit.models.features import Features

__all__ = ["PerceptualScoreInterval", "perceptual_score_interval"]


@dataclass(frozen=True)
class PerceptualScoreInterval:
    """A perceptual score from repeated random permutations, with its interval.

    Attributes
    ----------
    side : the permuted modality, "image" or "text"
    score : mean of the per-round scores
    ci_low, ci_high : percentile interval of the per-round scores at ``level``
    level : confidence level
    rounds : number of permutations, each applied to a bootstrap resample of the pairs
    scores : (rounds,) the per-round scores
    """

    side: str
    score: float
    ci_low: float
    ci_high: float
    level: float
    rounds: int
    scores: np.ndarray


def perceptual_score_interval(labels: Any, model: ModelOrGrid, feats: Features | None = None, *, shuffle: str = "image",
                              rounds: int = 100, seed: int | None = 0, level: float = 0.95, metric: str = "accuracy",
                              normalize: bool = True, batch_size: int | None = None,
                              device: Any = None) -> PerceptualScoreInterval:
    """The perceptual score (Gat et al. 2021) of one modality as they compute it, by permuting it,
    repeated ``rounds`` times, with an interval.

    Round r draws a random derangement of ``shuffle`` (``reshuffle(..., fraction=1, seed=seed + r)``)
    and a bootstrap resample B of the pairs, and scores
    ``(metric(own pairs on B) - metric(permuted pairs on B)) / metric(own pairs on B)`` (no division
    when ``normalize`` is False). The percentile interval of these scores covers both sources of
    error in a single run of Gat et al.'s procedure: which permutation was drawn and which pairs
    were sampled. Its mean tends to the exact expectation over derangements,
    :func:`perceptual_score`, as ``rounds`` grows.

    Parameters
    ----------
    labels : (N,) class indices or (N, C) label rows.
    model : pair model, a ``GridModel`` or an (N, N, C) grid.
    feats : Features of the N pairs (None for a grid).
    shuffle : the modality permuted, "image" or "text" (see :func:`reshuffle`).
    rounds : number of permutations (>= 2).
    seed : seed of the permutations and resamples (an int or a Generator; None: fresh randomness).
    level : confidence level of the interval.
    metric : a per-item metric: "accuracy" or "vqa_soft_accuracy".
    normalize : divide each drop by the model's own score on the resample (Gat et al.'s normalisation).

    Returns
    -------
    PerceptualScoreInterval.

    Raises
    ------
    ValueError
        an unknown ``shuffle``, ``rounds`` < 2, a ``level`` outside (0, 1), a metric that is not a mean
        over items, or labels that do not match the pairs.
    """
    check_choice("shuffle", shuffle, SIDES)
    rounds = check_positive_int("rounds", rounds, minimum=2)
    level = check_fraction("level", level)
    seed = seed_int(np.random.default_rng() if seed is None else seed)  # None: fresh randomness
    per_item = get_metric(metric).per_item
    if per_item is None:
        raise ValueError(f"metric={metric!r} is not a mean over items; use 'accuracy' or 'vqa_soft_accuracy'")
    y = check_labels(labels, call="perceptual_score_interval(labels, model, feats, ...)")
    model, feats = as_pair_model(model, feats)
    n = len(check_features(feats))
    check_consistent_length(labels=y, pairs=range(n))
    own = per_item(y, reshuffle(model, feats, fraction=0.0, seed=seed, shuffle=shuffle, batch_size=batch_size,
                                device=device).double().numpy())
    rng = np.random.default_rng(seed)
    scores = np.empty(rounds)
    for r in range(rounds):
        permuted = per_item(y, reshuffle(model, feats, fraction=1.0, seed=seed + r, shuffle=shuffle,
                                         batch_size=batch_size, device=device).double().numpy())
        sample = rng.integers(0, n, size=n)
        base = own[sample].mean()
        drop = base - permuted[sample].mean()
        scores[r] = drop / base if normalize and base != 0 else drop
    tail = 100 * (1 - level) / 2
    return PerceptualScoreInterval(side=shuffle, score=float(scores.mean()), ci_low=float(np.percentile(scores, tail)),
                                   ci_high=float(np.percentile(scores, 100 - tail)), level=level, rounds=rounds,
                                   scores=scores)
