"""Reshuffles as permutations, and reshuffles read from a precomputed logit grid (numpy only).

:func:`shuffle_permutation` draws the permutation behind every reshuffle of the kit. On a grid
``P[i, j] = f(t_i, v_j)`` a reshuffle is a look-up, so :func:`reshuffle_grid` and
:func:`reshuffle_grid_average` give exactly what ``reshuffle`` and ``reshuffle_average``
(:mod:`grounding_kit.analysis.shuffling`) give for ``GridModel(P)`` with the same seeds, without
importing torch: a lab that reads a cached grid (:mod:`grounding_kit.experiments.grid_cache`) starts without it.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from grounding_kit.core.validation import check_choice, check_fraction, check_positive_int, check_seed, describe
from grounding_kit.analysis.grids import check_grid

SIDES = ("image", "text")


def shuffle_permutation(n: int, fraction: float, seed: int | None = 0, derangement: bool = True) -> np.ndarray:
    """A permutation (n,) that moves ``round(fraction * n)`` randomly chosen items.

    With ``derangement=True`` every chosen item gets another item's partner (a uniformly random
    derangement of the chosen subset; one chosen item is raised to two, since one cannot move
    alone). With ``derangement=False`` the chosen items are permuted uniformly (fixed points
    allowed), which is what makes reshuffle averages converge to EMAP's marginals. ``seed``
    (default 0: the same permutation on every run; ``seed=None`` opts in to fresh randomness)
    seeds ``numpy.random.default_rng``.

    Raises
    ------
    TypeError
        ``n`` not an int, ``fraction`` not a number, a seed that is not an int or Generator.
    ValueError
        ``n`` < 2, ``fraction`` outside [0, 1], a negative seed.
    """
    n = check_positive_int("n", n, minimum=2)
    fraction = check_fraction("fraction", fraction)
    rng = np.random.default_rng(check_seed(seed, allow_none=True))
    m = int(round(fraction * n))
    if derangement and m == 1:
        m = 2
    chosen = rng.choice(n, size=m, replace=False)
    order = rng.permutation(m)
    while derangement and m > 1 and (order == np.arange(m)).any():  # rejection: uniform derangement
        order = rng.permutation(m)
    perm = np.arange(n)
    perm[chosen] = chosen[order]
    return perm


def full_reshuffles(n: int, rounds: int, seed: int | None = 0) -> Iterator[np.ndarray]:
    """``rounds`` uniformly random permutations (n,) (fixed points allowed), one per round.

    The rounds of ``reshuffle_average`` and :func:`reshuffle_grid_average`: round r uses
    ``shuffle_permutation(n, 1.0, s_r, derangement=False)`` with ``s_r`` the r-th draw of
    ``numpy.random.default_rng(seed).integers(2**63)``.
    """
    rounds = check_positive_int("rounds", rounds)
    rng = np.random.default_rng(check_seed(seed, allow_none=True))
    for _ in range(rounds):
        yield shuffle_permutation(n, 1.0, int(rng.integers(2**63)), derangement=False)


def pair_cells(perm: np.ndarray, shuffle: str) -> tuple[np.ndarray, np.ndarray]:
    """(text index (N,), image index (N,)) of the pairs after ``perm`` moved one modality:
    ``shuffle="image"`` pairs text i with image ``perm[i]``, ``"text"`` image j with text ``perm[j]``."""
    check_choice("shuffle", shuffle, SIDES)
    kept = np.arange(len(perm))
    return (kept, perm) if shuffle == "image" else (perm, kept)


def permuted_pairs(grid: np.ndarray, perm: np.ndarray, shuffle: str = "image") -> np.ndarray:
    """The logits (N, C) of the pairs after ``perm`` moved one modality, read from a checked grid.

    Parameters
    ----------
    grid : (N, N, C) float numpy array, ``grid[i, j] = f(t_i, v_j)``, already checked
        (``check_grid``): this look-up runs on every slider tick, so it does not scan the grid again.
    perm : (N,) integer permutation (e.g. :func:`shuffle_permutation`).
    shuffle : ``"image"``: ``out[i] = grid[i, perm[i]]``; ``"text"``: ``out[j] = grid[perm[j], j]``.
    """
    if not isinstance(grid, np.ndarray) or grid.ndim != 3 or grid.shape[0] != grid.shape[1]:
        raise ValueError(f"grid must be a checked (N, N, C) numpy array (grids.check_grid), got {describe(grid)}")
    perm = np.asarray(perm)
    if perm.shape != (len(grid),) or perm.dtype.kind not in "iu":
        raise ValueError(f"perm must be an integer permutation of shape ({len(grid)},), got {describe(perm)}")
    return grid[pair_cells(perm, shuffle)]


def reshuffle_grid(grid: Any, fraction: float, seed: int | None = 0, shuffle: str = "image",
                   derangement: bool = True) -> np.ndarray:
    """``reshuffle`` read from a grid: the predictions after a fraction of one modality is permuted.

    Parameters
    ----------
    grid : (N, N, C) or (N, N) numpy array or torch tensor of logits, ``grid[i, j] = f(t_i, v_j)``.
    fraction, seed, shuffle, derangement : as for :func:`grounding_kit.analysis.shuffling.reshuffle`.

    Returns
    -------
    (N, C) float64: ``grid[i, perm[i]]`` (``shuffle="image"``) or ``grid[perm[j], j]`` (``"text"``)
    with ``perm = shuffle_permutation(N, fraction, seed, derangement)``.

    Raises
    ------
    TypeError
        A grid that is not a float array or tensor, a bad seed type.
    ValueError
        A grid that is not (N, N, C) with N >= 2 and finite values, a bad ``fraction`` or ``shuffle``.
    """
    grid = check_grid(grid, name="grid", warn=False)
    check_choice("shuffle", shuffle, SIDES)
    return permuted_pairs(grid, shuffle_permutation(len(grid), fraction, seed, derangement), shuffle)


def reshuffle_grid_average(grid: Any, rounds: int, seed: int | None = 0,
                           shuffle: str = "image") -> Iterator[np.ndarray]:
    """``reshuffle_average`` read from a grid: the running mean (N, C) over full reshuffles.

    Yields the float64 running mean after each of ``rounds`` rounds (:func:`full_reshuffles`); it
    converges to the text marginal ``mean_j grid[i, j]`` (``shuffle="image"``) or the image
    marginal ``mean_j grid[j, i]`` (``shuffle="text"``).

    Raises
    ------
    TypeError
        A grid that is not a float array or tensor, a bad seed type.
    ValueError
        A grid that is not (N, N, C) with N >= 2 and finite values, ``rounds`` < 1, a bad ``shuffle``.
    """
    grid = check_grid(grid, name="grid", warn=False)
    check_choice("shuffle", shuffle, SIDES)
    total = np.zeros((len(grid), grid.shape[2]))
    for r, perm in enumerate(full_reshuffles(len(grid), rounds, seed), start=1):
        total += grid[pair_cells(perm, shuffle)]
        yield total / r
