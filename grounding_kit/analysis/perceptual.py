"""The perceptual score as Gat et al. (2021) compute it, by permuting one modality, repeated with an interval.

``grounding_kit.analysis.shuffling.perceptual_score`` gives the exact expectation over random
derangements from the N x N grid; a single run of Gat et al.'s procedure draws one permutation,
so its result moves with the permutation drawn and with the pairs sampled. This module repeats
the procedure, reports the mean with an interval for it, and says how far a single run moves: a
describe-the-MODEL measure (how much the model's score depends on each modality), not a property
of the data.
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
    """A perceptual score from repeated random permutations, with two intervals.

    Attributes
    ----------
    side : the permuted modality, "image" or "text"
    score : the perceptual score averaged over the ``rounds`` permutations, on all N pairs
    ci_low, ci_high : percentile bootstrap interval of ``score`` at ``level`` (pairs and permutations
        resampled): where the reported value would fall on another sample of pairs
    single_run_low, single_run_high : percentile interval of the per-round scores at ``level``: where
        ONE run of Gat et al.'s procedure (one permutation, one sample of pairs) falls; wider than
        ``ci_low``, ``ci_high``, as one run averages nothing
    level : confidence level of both intervals
    rounds : number of permutations
    scores : (rounds,) the per-round scores, each one permutation applied to a bootstrap resample of the pairs
    """

    side: str
    score: float
    ci_low: float
    ci_high: float
    single_run_low: float
    single_run_high: float
    level: float
    rounds: int
    scores: np.ndarray


def _relative_drop(base: np.ndarray, permuted: np.ndarray, normalize: bool) -> np.ndarray:
    """``(base - permuted) / base`` elementwise (the drop itself where ``base`` is 0), or ``base - permuted``."""
    drop = base - permuted
    if not normalize:
        return drop
    return np.divide(drop, base, out=np.array(drop, dtype=float), where=base != 0)


def perceptual_score_interval(labels: Any, model: ModelOrGrid, feats: Features | None = None, *, shuffle: str = "image",
                              rounds: int = 100, seed: int | None = 0, level: float = 0.95, metric: str = "accuracy",
                              normalize: bool = True, n_boot: int = 1000, batch_size: int | None = None,
                              device: Any = None) -> PerceptualScoreInterval:
    """The perceptual score (Gat et al. 2021) of one modality as they compute it, by permuting it,
    repeated ``rounds`` times, with an interval for the reported value and the spread of single runs.

    Round r draws a random derangement of ``shuffle`` (``reshuffle(..., fraction=1, seed=seed + r)``),
    giving each pair's metric with its ``shuffle`` input taken from another pair, ``m_r[i]``; ``own[i]``
    is the metric on the pair's own inputs.

    - ``score`` (the reported value): ``(mean(own) - mean_r mean(m_r)) / mean(own)`` on all N pairs
      (no division when ``normalize`` is False). It tends to the exact expectation over derangements,
      :func:`~grounding_kit.analysis.shuffling.perceptual_score`, as ``rounds`` grows.
    - ``ci_low``, ``ci_high``: percentile bootstrap interval of ``score`` over ``n_boot`` resamples,
      each drawing N pairs and ``rounds`` permutations with replacement and recomputing ``score``:
      an interval for the reported value, covering both the pairs sampled and the permutations drawn.
    - ``single_run_low``, ``single_run_high``: the percentile interval of the per-round scores
      ``scores[r]``, each one permutation on its own bootstrap resample B_r of the pairs,
      ``(mean_B(own) - mean_B(m_r)) / mean_B(own)``: the spread of a single run of Gat et al.'s
      procedure, which reports one permutation on one sample.

    Parameters
    ----------
    labels : (N,) class indices or (N, C) label rows.
    model : pair model, a ``GridModel`` or an (N, N, C) grid.
    feats : Features of the N pairs (None for a grid).
    shuffle : the modality permuted, "image" or "text" (see :func:`reshuffle`).
    rounds : number of permutations (>= 2).
    seed : seed of the permutations and resamples (an int or a Generator; None: fresh randomness).
    level : confidence level of both intervals.
    metric : a per-item metric: "accuracy" or "vqa_soft_accuracy".
    normalize : divide each drop by the model's own score (Gat et al.'s normalisation).
    n_boot : bootstrap resamples for the interval of ``score`` (>= 2).

    Returns
    -------
    PerceptualScoreInterval.

    Raises
    ------
    ValueError
        an unknown ``shuffle``, ``rounds`` or ``n_boot`` < 2, a ``level`` outside (0, 1), a metric that
        is not a mean over items, or labels that do not match the pairs.
    """
    check_choice("shuffle", shuffle, SIDES)
    rounds = check_positive_int("rounds", rounds, minimum=2)
    n_boot = check_positive_int("n_boot", n_boot, minimum=2)
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
    permuted = np.stack([per_item(y, reshuffle(model, feats, fraction=1.0, seed=seed + r, shuffle=shuffle,
                                                 batch_size=batch_size, device=device).double().numpy())
                         for r in range(rounds)])  # (rounds, N)
    rng = np.random.default_rng(seed)
    # single runs: round r on its own resample of the pairs
    samples = rng.integers(0, n, size=(rounds, n))
    scores = _relative_drop(own[samples].mean(1), np.take_along_axis(permuted, samples, 1).mean(1), normalize)
    # the reported value and its bootstrap: resample the pairs and the rounds
    score = float(_relative_drop(own.mean(), permuted.mean(), normalize))
    pairs = rng.integers(0, n, size=(n_boot, n))
    weights = rng.multinomial(rounds, np.full(rounds, 1.0 / rounds), size=n_boot) / rounds  # (n_boot, rounds)
    permuted_mean = np.take_along_axis(weights @ permuted, pairs, 1).mean(1)  # each resample's rounds, then pairs
    boot = _relative_drop(own[pairs].mean(1), permuted_mean, normalize)
    tail = 100 * (1 - level) / 2
    return PerceptualScoreInterval(side=shuffle, score=score, ci_low=float(np.percentile(boot, tail)),
                                   ci_high=float(np.percentile(boot, 100 - tail)),
                                   single_run_low=float(np.percentile(scores, tail)),
                                   single_run_high=float(np.percentile(scores, 100 - tail)), level=level,
                                   rounds=rounds, scores=scores)
